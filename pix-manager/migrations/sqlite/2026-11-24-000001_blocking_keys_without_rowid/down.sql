CREATE TABLE blocking_keys_rowid (
    key TEXT NOT NULL,
    record_id INTEGER NOT NULL REFERENCES records (id),
    PRIMARY KEY (key, record_id)
);
INSERT INTO blocking_keys_rowid (key, record_id) SELECT key, record_id FROM blocking_keys;
DROP TABLE blocking_keys;
ALTER TABLE blocking_keys_rowid RENAME TO blocking_keys;
CREATE INDEX blocking_keys_record ON blocking_keys (record_id);
