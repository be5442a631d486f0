-- PIX Manager / MPI storage (ITI-8 feed, ITI-9 and ITI-21 queries, link history, review queue).

-- A person of the affinity domain: one stable affinity-domain id; a merged person points at
-- the person it was merged into and is no longer active.
CREATE TABLE persons (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    affinity_id TEXT NOT NULL UNIQUE,
    merged_into INTEGER REFERENCES persons (id),
    created_at BIGINT NOT NULL
);

-- A patient record of one identifier domain (the assigning authority OID) and its demographics
-- (JSON of matching::Demographics). A record merged away (ITI-8 A40) points at its survivor.
CREATE TABLE records (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    domain TEXT NOT NULL,
    local_id TEXT NOT NULL,
    demographics TEXT NOT NULL,
    merged_into INTEGER REFERENCES records (id),
    updated_at BIGINT NOT NULL,
    UNIQUE (domain, local_id)
);

-- Which person each record belongs to (one link per record).
CREATE TABLE links (
    record_id INTEGER PRIMARY KEY NOT NULL REFERENCES records (id),
    person_id INTEGER NOT NULL REFERENCES persons (id)
);
CREATE INDEX links_person ON links (person_id);

-- Blocking keys: records sharing a key are compared.
CREATE TABLE blocking_keys (
    key TEXT NOT NULL,
    record_id INTEGER NOT NULL REFERENCES records (id),
    PRIMARY KEY (key, record_id)
);
CREATE INDEX blocking_keys_record ON blocking_keys (record_id);

-- Every comparison made when a record arrived: score, zone and per-field weights (JSON).
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    record_id INTEGER NOT NULL REFERENCES records (id),
    candidate_id INTEGER NOT NULL REFERENCES records (id),
    score DOUBLE NOT NULL,
    zone TEXT NOT NULL,
    fields TEXT NOT NULL,
    guard TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX decisions_record ON decisions (record_id);

-- Pairs the matcher could not decide: pending until a person accepts or rejects them.
CREATE TABLE review_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    record_id INTEGER NOT NULL REFERENCES records (id),
    candidate_id INTEGER NOT NULL REFERENCES records (id),
    status TEXT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX review_queue_status ON review_queue (status);

-- Every change of a record's person: linked, unlinked, merged (with the person before/after).
CREATE TABLE link_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    record_id INTEGER NOT NULL REFERENCES records (id),
    action TEXT NOT NULL,
    from_person INTEGER REFERENCES persons (id),
    to_person INTEGER REFERENCES persons (id),
    reason TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX link_history_record ON link_history (record_id);
