-- OpenID Connect sign-ins in progress (issue 21): what the callback needs (the PKCE verifier,
-- the nonce, where to go next), keyed by the SHA-256 of the `state` sent to the provider, so
-- that any instance can finish a sign-in another began. Rows live ten minutes.
CREATE TABLE oidc_logins (
  state_hash TEXT PRIMARY KEY,
  verifier TEXT NOT NULL,
  nonce TEXT NOT NULL,
  next TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
