-- Failed portal logins per e-mail, shared by every instance (the login throttle).
CREATE TABLE login_failures (
    email TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    first_at BIGINT NOT NULL
);
