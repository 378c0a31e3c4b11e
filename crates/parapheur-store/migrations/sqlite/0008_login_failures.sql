-- Failed portal logins per e-mail, shared by every instance (the login throttle).
CREATE TABLE login_failures (
    email TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    first_at INTEGER NOT NULL
);
