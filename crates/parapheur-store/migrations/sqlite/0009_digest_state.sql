-- The resumable SHA-256 state of the document's current file (blob::FileDigest): a signature
-- appended to the file is hashed alone. NULL for files stored before it existed (hashed whole).
ALTER TABLE documents ADD COLUMN digest_state BLOB;
