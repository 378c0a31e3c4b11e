#![doc = include_str!("../README.md")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness fails loudly by design

pub mod browser;
pub mod client;
pub mod fakes;
pub mod fixtures;
pub mod pdf;
pub mod tools;
pub mod tsa;
pub mod wait;

#[cfg(feature = "server")]
pub mod app;
#[cfg(feature = "server")]
pub mod inproc;
#[cfg(feature = "server")]
mod template;

#[cfg(feature = "server")]
pub use app::{Instance, TestApp};
pub use client::{Client, Part, Resp};
pub use fakes::S3Server;
pub use fixtures::{HELIOS_CIRCUIT, PROVISIONING, SIREN_A, SIREN_B, make_zip, pes_aller, unzip};
pub use tools::{pyhanko_valid, qpdf_check, run_tool};
