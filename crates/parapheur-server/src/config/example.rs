//! The commented example configuration printed by `parapheur gen-config`.

/// The commented example printed by `parapheur gen-config`.
pub const EXAMPLE: &str = r#"# parapheur configuration. Every key is optional; each may be overridden by an environment
# variable PARAPHEUR_<KEY> (`__` for nesting, e.g. PARAPHEUR_FAST__ERROR_STATUS=400).
# Relative paths are relative to the working directory.
# Secrets (database_url, mail.smtp_url, mail.smtp_password, sms.webhook_url, sms.ovh_* keys,
# helios.s2low_password, the pin of HSM keys) may instead be read from a file: set `<key>_file`
# (e.g. `smtp_password_file = "/run/secrets/smtp"`, or PARAPHEUR_MAIL__SMTP_PASSWORD_FILE); the
# file's content, trimmed, is the secret. Setting both `<key>` and `<key>_file` is an error.

listen       = "127.0.0.1:8080"
public_url   = "http://127.0.0.1:8080"        # base of links sent to people
data_dir     = "data"
database_url = "sqlite://data/parapheur.db"   # or postgres://user@host/db
blob_url     = "file://data/blobs"            # document bytes (fsynced before acknowledging), or
                                              # s3://bucket/prefix with the standard AWS_* variables
provision    = ""                             # a provisioning file applied at start-up
max_upload_bytes = 104857600                  # largest accepted upload body (100 MiB)
log          = "info"                         # tracing filter (RUST_LOG overrides it)
time_zone    = "Europe/Paris"                 # dates shown (portal, e-mails, PDFs, history) in
                                              # this zone, whatever the host's TZ
log_format   = "text"                         # or "json": one object a line; every request
                                              # also logs an access line (target parapheur::access)
trusted_proxies = []                          # reverse proxies whose X-Forwarded-For/Forwarded
                                              # gives the client's address (logs, throttling, OTP
                                              # evidence), e.g. ["127.0.0.1/32", "10.0.0.0/8"]

[fast]
error_status = 200        # HTTP status of business errors on FAST routes (clients expect 200)
history_cache_ms = 1000   # histories served from memory this long (0 = off); local writes invalidate

[mail]
transport  = "outbox"     # "outbox" (one .eml file per message) | "smtp"
outbox_dir = "data/outbox/mail"
smtp_url   = "smtp://127.0.0.1:25"   # smtps:// for TLS, ?tls=required for STARTTLS
smtp_user  = ""           # with smtp_password (or smtp_password_file): SMTP authentication
smtp_password = ""
from       = "parapheur@localhost"
link_ttl_days = 30        # validity of the download links sent with signed documents

[sms]
provider    = "outbox"    # "outbox" (JSON lines) | "webhook" (POST {"to","text"}) | "ovh"
outbox_file = "data/outbox/sms.jsonl"
webhook_url = ""          # provider = "webhook" (may carry a token: a secret, see above)
# OVHcloud SMS API (provider = "ovh"): keys from https://eu.api.ovh.com/createToken/
ovh_endpoint = "https://eu.api.ovh.com/1.0"
ovh_application_key = ""
ovh_application_secret = ""
ovh_consumer_key = ""
ovh_service_name = ""     # the SMS account, e.g. sms-ab12345-1
ovh_sender = ""           # a registered sender name; empty = short number

[jobs]                    # the durable queue that delivers every e-mail and SMS
poll_ms = 1000
retry_base_ms = 2000      # first retry delay, doubled at each failure...
retry_max_ms = 900000     # ...up to this; deliveries are retried until they succeed
keep_done_days = 7        # delivered jobs and finished portal batches are deleted after (0: kept)
automatic_retry_ms = 30000 # an automatic step whose immediate run failed is run again by a job
lease_ms = 300000         # a claimed job is taken over by another instance after this (a crash)

[otp]
link_ttl_hours = 720      # how long an OTP signing link works

[reminders]               # e-mails around a document's deadline (date_limite, deadline_days)
before_days = [2]         # days before the deadline: the members of the current step
after_days = [1, 3, 7]    # days after it: the members and the depositor (the largest missed only)
check_interval_s = 3600   # how often every instance looks for reminders and digests due
digest_hour = 7           # from this hour the daily digest of users who chose it is sent

[webhooks]                # endpoints are declared per subscriber in the provisioning file
max_attempts = 12         # attempts of one delivery (with the queue's backoff), then "failed"
timeout_ms = 10000

[limits]                  # request governance (counts shared by every instance)
auth_failures_per_account = 5  # failed authentications of an account per window, then HTTP 429
auth_failures_per_ip = 50      # failed authentications from one client address per window
auth_window_s = 900
verifications_per_ip = 30      # public /verifier requests from one client address per minute
sign_ons_per_ip = 20           # single sign-on starts from one client address per minute
password_hash_concurrency = 0  # argon2 verifications at once (0 = number of CPUs)
max_connections = 1024         # open connections at once (plain and TLS)
header_timeout_s = 30          # headers, and an idle keep-alive connection's next request
body_timeout_s = 300           # a whole request body
shutdown_grace_s = 30          # after SIGTERM: requests in progress and the job worker finish

[telemetry]               # OpenTelemetry traces over OTLP/HTTP (protobuf); off while the endpoint is empty
otlp_endpoint = ""        # e.g. "http://otel-collector:4318/v1/traces"
service_name = "parapheur"
sample_ratio = 1.0        # share of traces kept when no `traceparent` decided

[deliver]                 # `deliver` steps: hand the signed document to its recipients
connector  = "outbox"     # a directory per delivery (plus an e-mail with a download link)
outbox_dir = "data/outbox/deliveries"

[helios]
transmitter = "simulator"     # "simulator" | "s2low" (S²LOW API, client certificate)
simulator_ack_delay_ms = 1000 # the simulator acknowledges this long after a send
simulator_fail_percent = 0    # share of simulated sends that fail (retried)
poll_ms = 5000                # how often a transmission's status is asked for
pes_retour_poll_s = 600       # how often S²LOW is asked for PES Retour files (0: never)
s2low_url = ""                # e.g. https://s2low.example.fr
s2low_cert = ""               # client certificate (PEM) ...
s2low_key = ""                # ... and its key (PEM)
s2low_ca = ""                 # CA of the S²LOW server if not a public one (PEM)
s2low_login = ""              # when the certificate maps to several accounts
s2low_password = ""

[archive]
vault_url = "file://data/vault"   # or s3://bucket/prefix (standard AWS_* variables)
format    = "manifest"    # "manifest" | "seda"

[retention]
purge_after_days = 0      # 0 = keep content forever; N = purge classified documents' content after N days
check_interval_s = 3600   # how often the purge looks for documents
orphan_blob_age_s = 86400 # files no row refers to are deleted once this old (0 = never)
orphan_sweep_interval_s = 86400 # how often the orphan sweep lists the stored files

[signing]
trust_anchors = ""        # PEM bundle trusted by verification steps, beside the internal CA
trusted_list = ""         # EU trusted list (ETSI TS 119 612 XML file): its granted CAs and TSAs are trusted too
online_revocation = true  # verification fetches the CRL of a trusted signer when the file carries no revocation data
tsa_url = ""              # RFC 3161 timestamp authority (URL), or "internal" (built-in, for demos and tests)
level = ""                # PAdES level: "B-B", "B-T", "B-LT", "B-LTA" (all but B-B need tsa_url); unset: B-T when tsa_url is set
# pki_passphrase_file = "/run/secrets/pki"  # encrypts the internal CA's private keys on disk (or pki_passphrase)
# A subscriber's seal on a PKCS#11 token (HSM), instead of a key file of the internal CA:
# [[signing.hsm_seals]]
# siren = "123456789"
# module = "/usr/lib/softhsm/libsofthsm2.so"
# token = "parapheur"     # the token's label
# pin = "1234"            # the user PIN (or pin_file = "/run/secrets/hsm-pin")
# key_label = "seal"      # CKA_LABEL of the private key
# certificate = ""        # PEM chain of the key; empty: the certificate object of that label
# A user's signing key on a PKCS#11 token: the same fields with the user's e-mail:
# [[signing.hsm_users]]
# email = "maire@mairie.fr"
# module = "/usr/lib/softhsm/libsofthsm2.so"
# token = "parapheur"
# pin = "1234"
# key_label = "maire"
# certificate = ""

[tls]                     # set cert+key to serve HTTPS (rustls)
cert = ""
key  = ""
client_ca = ""            # PEM bundle: client certificates are requested and verified (mTLS)
crl = ""                  # PEM CRLs checked for client certificates
proxy_cert_header = ""    # e.g. "X-SSL-Client-Cert": a trusted proxy forwards the certificate
trusted_proxies = []      # also believed for proxy_cert_header (same as the top-level key)

# [oidc]                  # single sign-on for the portal (OpenID Connect, code flow with PKCE)
# issuer = "https://auth.example.fr/realms/collectivite"   # discovered at each sign-in
# client_id = "parapheur"
# client_secret = ""      # or client_secret_file
# redirect_url = ""       # empty: <public_url>/parapheur/oidc/callback
# [[ldap]]                # a directory (LDAP, Active Directory) synchronised into a subscriber,
# url = "ldaps://annuaire.example.fr"     # through the job queue, one instance at a time
# bind_dn = "cn=parapheur,ou=services,dc=example,dc=fr"
# bind_password = ""      # or bind_password_file
# base_dn = "ou=agents,dc=example,dc=fr"
# user_filter = "(objectClass=inetOrgPerson)"   # users need a mail attribute
# siren = "123456789"
# interval_s = 3600
"#;
