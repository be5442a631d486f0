-- A new record's NoLink decisions are stored as one row: the closest NoLink candidate, with the
-- number of the other NoLink candidates compared (all scoring no higher). AutoLink and Review
-- decisions are still stored one row each, with 0 here.
ALTER TABLE decisions ADD COLUMN other_no_links BIGINT NOT NULL DEFAULT 0;
