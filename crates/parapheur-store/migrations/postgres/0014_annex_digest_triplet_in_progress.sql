-- Annexes keep the SHA-256 of their bytes (rows written before this migration have none: the
-- server computes it from the file when it lists them, and records it).
ALTER TABLE annexes ADD COLUMN sha256 TEXT;

-- The FAST triplet (circuit, label, file name) is unique among the documents still in progress
-- only: once the earlier document is finished (classified, refused, disapproved, rejected by
-- the verification) or deleted, the same triplet may be deposited again. `triplet_circuit` is
-- the circuit the rule names: the provisioned circuit's id, or the `circuit_id` an on-demand
-- deposit gave (NULL when it gave none: such a deposit names no circuit and is not subject to
-- the rule). Keep the status list in step with `DocumentStatus::holds_triplet`.
ALTER TABLE documents ADD COLUMN triplet_circuit TEXT;
UPDATE documents SET triplet_circuit = circuit_id;
DROP INDEX documents_triplet;
CREATE UNIQUE INDEX documents_triplet ON documents (siren, triplet_circuit, label, filename)
    WHERE triplet_circuit IS NOT NULL AND status IN ('awaiting_metadata', 'in_progress');
