-- The orphan sweep at scale (issue 22): it checks the stored files a chunk at a time against
-- every table that refers to a file, so each of them is looked up by blob key.
CREATE INDEX documents_blob_key ON documents (blob_key);
CREATE INDEX annexes_blob_key ON annexes (blob_key);
CREATE INDEX document_signatures_blob_key ON document_signatures (blob_key);
CREATE INDEX document_versions_blob_key ON document_versions (blob_key);
CREATE INDEX return_flows_blob_key ON return_flows (blob_key);
