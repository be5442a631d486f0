DROP TABLE link_history;
DROP TABLE review_queue;
DROP TABLE decisions;
DROP TABLE blocking_keys;
DROP TABLE links;
DROP TABLE records;
DROP TABLE persons;
