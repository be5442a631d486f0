-- Blocking keys clustered by (key, record id): a key's records are read together, and a new
-- record's keys go into one B-tree instead of a rowid table and its primary-key index.
CREATE TABLE blocking_keys_clustered (
    key TEXT NOT NULL,
    record_id INTEGER NOT NULL REFERENCES records (id),
    PRIMARY KEY (key, record_id)
) WITHOUT ROWID;
INSERT INTO blocking_keys_clustered (key, record_id) SELECT key, record_id FROM blocking_keys;
DROP TABLE blocking_keys;
ALTER TABLE blocking_keys_clustered RENAME TO blocking_keys;
CREATE INDEX blocking_keys_record ON blocking_keys (record_id);
