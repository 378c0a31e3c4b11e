#![doc = include_str!("../README.md")]

pub mod ca;
pub mod cms;
mod cmsverify;
pub mod error;
pub mod etsi;
mod failure;
#[doc(hidden)]
pub mod fuzzing;
pub mod keys;
pub mod ocsp;
pub mod pades;
pub mod pdf_text;
pub mod pdfcheck;
mod pdfdiff;
mod pdfread;
pub mod pkcs11;
pub mod policy;
pub mod trusted_list;
pub mod tsa;
pub mod tsa_authority;
pub mod verify;

pub use error::SignError;
pub use keys::Credential;
pub mod pes;
pub mod xades;
pub mod xmlcore;
pub mod xmlverify;
