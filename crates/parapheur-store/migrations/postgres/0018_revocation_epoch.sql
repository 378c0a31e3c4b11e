-- A revocation moves the credentials epoch too: every instance drops the signing keys it holds
-- in memory and reloads them, so none signs with a revoked (replaced) key after its next poll.
CREATE TRIGGER pki_revocations_auth_epoch AFTER INSERT ON pki_revocations FOR EACH ROW
EXECUTE FUNCTION bump_auth_epoch();
