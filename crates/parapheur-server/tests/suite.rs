//! The server's integration tests in one binary: libtest spreads all of them over the cores at
//! once (one binary per file ran its files one after another, each ending on its slowest test)
//! and there is one executable to link. Each module is one file of this directory; run one with
//! `cargo test -p parapheur-server --test suite <module>::`. Two files stay binaries of their own:
//! `chromium` (a browser driven by clicks is not run beside other tests on two cores) and
//! `fuzz_regressions` (`scripts/fuzz-seeds.sh` runs it alone).

#[path = "annexes.rs"]
mod annexes;
#[path = "cli.rs"]
mod cli;
#[path = "crash.rs"]
mod crash;
#[path = "deadlines.rs"]
mod deadlines;
#[path = "delegation.rs"]
mod delegation;
#[path = "directory.rs"]
mod directory;
#[path = "fast_clients.rs"]
mod fast_clients;
#[path = "fast_documents.rs"]
mod fast_documents;
#[path = "fast_upload.rs"]
mod fast_upload;
#[path = "helios.rs"]
mod helios;
#[path = "hsm.rs"]
mod hsm;
#[path = "identity.rs"]
mod identity;
#[path = "lifecycle.rs"]
mod lifecycle;
#[path = "messages.rs"]
mod messages;
#[path = "observability.rs"]
mod observability;
#[path = "openapi.rs"]
mod openapi;
#[path = "otp.rs"]
mod otp;
#[path = "pki.rs"]
mod pki;
#[path = "portal.rs"]
mod portal;
#[path = "portal_work.rs"]
mod portal_work;
#[path = "scale.rs"]
mod scale;
#[path = "security.rs"]
mod security;
#[path = "snapshots.rs"]
mod snapshots;
#[path = "soap.rs"]
mod soap;
#[path = "sso.rs"]
mod sso;
#[path = "telemetry.rs"]
mod telemetry;
#[path = "visibility.rs"]
mod visibility;
#[path = "webhooks.rs"]
mod webhooks;
#[path = "workflow.rs"]
mod workflow;
