-- The bannettes of a member's documents at scale (issue 22): "en cours", "terminés" and
-- "refusés" are read newest deposit first, a page at a time. A document's deposit date never
-- changes once it is deposited, so it is copied into each of its step memberships: a member's
-- documents can then be walked in date order from the member's own index rows, stopping at the
-- page, instead of reading every document the member ever took part in and sorting them.
-- The document's status is copied too, kept in step by the one statement that changes a
-- status (a transition): the finished bannettes then walk only the member's documents in their
-- statuses ("refusés" is a few of a long history).
ALTER TABLE document_step_members ADD COLUMN doc_created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE document_step_members ADD COLUMN doc_status TEXT NOT NULL DEFAULT '';
UPDATE document_step_members SET
    doc_created_at = COALESCE(
        (SELECT d.created_at FROM documents d WHERE d.id = document_step_members.document_id), 0),
    doc_status = COALESCE(
        (SELECT d.status FROM documents d WHERE d.id = document_step_members.document_id), '');
CREATE INDEX document_step_members_by_date
    ON document_step_members (user_id, doc_status, doc_created_at, document_id);
-- The same walk for a user's deposits and for the documents of a subscriber in one status (the
-- administrators' part of the rule).
DROP INDEX documents_depositor;
CREATE INDEX documents_depositor ON documents (depositor_id, created_at, id);
DROP INDEX documents_siren_status;
CREATE INDEX documents_siren_status ON documents (siren, status, created_at, id);
