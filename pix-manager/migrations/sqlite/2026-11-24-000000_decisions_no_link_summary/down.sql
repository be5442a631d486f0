ALTER TABLE decisions DROP COLUMN other_no_links;
