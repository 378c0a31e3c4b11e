-- Batch signing from the portal: one row per selected document, signed in order by a
-- `batch_sign` job; `outcome` is NULL until the document's turn has come.
CREATE TABLE batch_items (
    batch_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    document_id BIGINT NOT NULL,
    filename TEXT NOT NULL,
    outcome TEXT,
    signed BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (batch_id, position)
);
