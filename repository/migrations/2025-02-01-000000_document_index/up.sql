-- XDS Document Repository index: which stored content holds which document (ITI-41, ITI-43).
-- `state` is 'pending' from the first byte stored until the registry accepts the submission,
-- then 'registered'; only registered documents are served.
CREATE TABLE documents (
    storage_key TEXT PRIMARY KEY NOT NULL,
    repository_unique_id TEXT NOT NULL,
    document_unique_id TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    hash TEXT,
    size BIGINT,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX documents_by_unique_id ON documents (repository_unique_id, document_unique_id, state);
CREATE INDEX documents_by_state ON documents (state, created_at);
