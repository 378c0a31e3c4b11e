-- Documents waiting at automatic steps are found from the (few) steps of those kinds rather than
-- by scanning every document (the start-up recovery ran one full scan per kind).
CREATE INDEX document_steps_kind ON document_steps (kind, document_id, idx);
