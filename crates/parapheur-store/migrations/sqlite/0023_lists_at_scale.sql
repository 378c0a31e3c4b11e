-- Lists at scale (issue 22): a user's lists start from the user's own rows.
-- "My deposits" and the deposits part of the visibility rule.
CREATE INDEX documents_depositor ON documents (depositor_id);
-- Tasks and the task bannettes: the memberships not acted on yet (current and future steps of
-- documents in progress), a small part of all memberships once documents are finished.
CREATE INDEX document_step_members_unacted ON document_step_members (user_id, document_id)
    WHERE acted_at IS NULL;
-- A user's memberships with their documents in the index itself (the visibility rule's first
-- set): no table lookup per membership.
DROP INDEX document_step_members_user;
CREATE INDEX document_step_members_user ON document_step_members (user_id, document_id);
