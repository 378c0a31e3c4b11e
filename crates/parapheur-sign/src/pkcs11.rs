//! Keys held in a PKCS#11 token (an HSM, a smart card, SoftHSM2 in the tests), through the
//! `cryptoki` crate: the key never leaves the token; we send it the data to sign.

use crate::SignError;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use openssl::x509::X509;
use sha2::{Digest, Sha256};
use std::sync::Mutex;

/// Where a key is: the module (shared library), the token label, the user PIN and the key's
/// label (CKA_LABEL of the private key object).
#[derive(Clone)]
pub struct HsmKeyRef {
    pub module: String,
    pub token: String,
    pub pin: String,
    pub key_label: String,
}

impl std::fmt::Debug for HsmKeyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HsmKeyRef")
            .field("module", &self.module)
            .field("token", &self.token)
            .field("key_label", &self.key_label)
            .finish_non_exhaustive()
    }
}

/// Loads `module`, initialises it, and finds the token labelled `token` (the first token
/// present when `None`): the context, the slot and the token's label.
fn find_token(module: &str, token: Option<&str>) -> Result<(Pkcs11, Slot, String), SignError> {
    let ctx =
        Pkcs11::new(module).map_err(|e| err(&format!("loading the PKCS#11 module {module}"), e))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(err("initialising the PKCS#11 module", e)),
    }
    for slot in ctx
        .get_slots_with_token()
        .map_err(|e| err("listing the tokens", e))?
    {
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| err("reading a token", e))?;
        let label = info.label().trim().to_owned();
        if token.is_none_or(|t| t.trim() == label) {
            return Ok((ctx, slot, label));
        }
    }
    Err(match token {
        Some(t) => SignError::Hsm(format!("no token labelled {t:?}")),
        None => SignError::Hsm("no token present".into()),
    })
}

/// A session on `slot` (read-write when `rw`), logged in as the user with `pin`.
fn logged_in(ctx: &Pkcs11, slot: Slot, pin: &str, rw: bool) -> Result<Session, SignError> {
    let session = if rw {
        ctx.open_rw_session(slot)
    } else {
        ctx.open_ro_session(slot)
    }
    .map_err(|e| err("opening a session", e))?;
    let pin = AuthPin::new(pin.to_owned().into());
    match session.login(UserType::User, Some(&pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(e) => Err(err("logging in to the token (PIN?)", e)),
    }
}

/// The signing keys of a token that have a certificate beside them (same label): what a
/// signer's card holds. `token`: the token's label, or the first token present.
pub fn signing_keys(
    module: &str,
    token: Option<&str>,
    pin: &str,
) -> Result<(String, Vec<(String, X509)>), SignError> {
    let (ctx, slot, label) = find_token(module, token)?;
    let session = logged_in(&ctx, slot, pin, false)?;
    let label_of = |h: ObjectHandle| -> Result<Option<Vec<u8>>, SignError> {
        let attrs = session
            .get_attributes(h, &[AttributeType::Label])
            .map_err(|e| err("reading a label", e))?;
        Ok(attrs.into_iter().find_map(|a| match a {
            Attribute::Label(l) => Some(l),
            _ => None,
        }))
    };
    let mut out = Vec::new();
    let keys = session
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
        .map_err(|e| err("listing the keys", e))?;
    for key in keys {
        let Some(key_label) = label_of(key)? else {
            continue;
        };
        let certs = session
            .find_objects(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::Label(key_label.clone()),
            ])
            .map_err(|e| err("looking for a certificate", e))?;
        let Some(cert) = certs.first() else { continue };
        let value = session
            .get_attributes(*cert, &[AttributeType::Value])
            .map_err(|e| err("reading a certificate", e))?;
        if let Some(der) = value.into_iter().find_map(|a| match a {
            Attribute::Value(v) => Some(v),
            _ => None,
        }) {
            out.push((
                String::from_utf8_lossy(&key_label).into_owned(),
                X509::from_der(&der)?,
            ));
        }
    }
    Ok((label, out))
}

/// Every certificate on the token (a card carries its holder's, and often its issuers').
pub fn token_certificates(
    module: &str,
    token: Option<&str>,
    pin: &str,
) -> Result<Vec<X509>, SignError> {
    let (ctx, slot, _) = find_token(module, token)?;
    let session = logged_in(&ctx, slot, pin, false)?;
    let handles = session
        .find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)])
        .map_err(|e| err("listing the certificates", e))?;
    let mut out = Vec::new();
    for h in handles.into_iter().take(64) {
        let value = session
            .get_attributes(h, &[AttributeType::Value])
            .map_err(|e| err("reading a certificate", e))?;
        if let Some(cert) = value
            .into_iter()
            .find_map(|a| match a {
                Attribute::Value(v) => Some(v),
                _ => None,
            })
            .and_then(|der| X509::from_der(&der).ok())
        {
            out.push(cert);
        }
    }
    Ok(out)
}

/// The chain of `leaf` from the certificates `others` (a card's): each next one is the issuer
/// of the previous, until a self-signed one or none (eight at most).
pub fn chain_of(leaf: X509, others: &[X509]) -> Vec<X509> {
    let mut chain = vec![leaf];
    while chain.len() < 8 {
        let Some(last) = chain.last() else { break };
        let self_signed = last
            .issuer_name()
            .try_cmp(last.subject_name())
            .is_ok_and(|o| o.is_eq());
        if self_signed {
            break;
        }
        let issuer = others.iter().find(|c| {
            c.subject_name()
                .try_cmp(last.issuer_name())
                .is_ok_and(|o| o.is_eq())
                && c.public_key()
                    .and_then(|k| last.verify(&k))
                    .unwrap_or(false)
        });
        match issuer {
            Some(c) => chain.push(c.clone()),
            None => break,
        }
    }
    chain
}

/// Stores the DER certificate `der` on the token as a token object labelled `label` (the
/// label of the key it belongs to, with the key's CKA_ID when the key has one; or the label of
/// an issuer's certificate, which has no key on the token).
pub fn store_certificate(
    module: &str,
    token: Option<&str>,
    pin: &str,
    label: &str,
    der: &[u8],
) -> Result<(), SignError> {
    let cert = X509::from_der(der)?;
    let (ctx, slot, _) = find_token(module, token)?;
    let session = logged_in(&ctx, slot, pin, true)?;
    let keys = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(|e| err("looking for the key", e))?;
    // Without a key of that label, the certificate is an authority's, stored beside (as cards
    // carry their holder's issuers).
    let id = match keys.first() {
        Some(key) => session
            .get_attributes(*key, &[AttributeType::Id])
            .map_err(|e| err("reading the key's id", e))?
            .into_iter()
            .find_map(|a| match a {
                Attribute::Id(id) => Some(id),
                _ => None,
            })
            .unwrap_or_default(),
        None => Vec::new(),
    };
    session
        .create_object(&[
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::CertificateType(cryptoki::object::CertificateType::X_509),
            Attribute::Token(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id),
            Attribute::Subject(cert.subject_name().to_der()?),
            Attribute::Value(der.to_vec()),
        ])
        .map_err(|e| err("storing the certificate", e))?;
    Ok(())
}

/// A private key on a token, ready to sign.
pub struct HsmKey {
    reference: HsmKeyRef,
    ctx: Pkcs11,
    slot: Slot,
    key_type: KeyType,
    /// One session at a time: PKCS#11 sessions are not meant to be shared between threads.
    session: Mutex<Option<Session>>,
}

impl std::fmt::Debug for HsmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HsmKey")
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> SignError {
    SignError::Hsm(format!("{what}: {e}"))
}

impl HsmKey {
    /// Loads the module, finds the token and the key, and logs in.
    pub fn open(reference: &HsmKeyRef) -> Result<Self, SignError> {
        let (ctx, slot, _) = find_token(&reference.module, Some(&reference.token))?;
        let key = Self {
            reference: reference.clone(),
            ctx,
            slot,
            key_type: KeyType::RSA,
            session: Mutex::new(None),
        };
        let key_type = key.with_session(|s, handle| {
            let attrs = s
                .get_attributes(handle, &[AttributeType::KeyType])
                .map_err(|e| err("reading the key type", e))?;
            attrs
                .into_iter()
                .find_map(|a| match a {
                    Attribute::KeyType(t) => Some(t),
                    _ => None,
                })
                .ok_or_else(|| SignError::Hsm("the key has no type".into()))
        })?;
        if key_type != KeyType::RSA && key_type != KeyType::EC {
            return Err(SignError::UnsupportedKey(format!(
                "PKCS#11 key type {key_type}"
            )));
        }
        Ok(Self { key_type, ..key })
    }

    /// The certificate stored on the token beside the key (same label), if any.
    pub fn certificate(&self) -> Result<Option<X509>, SignError> {
        self.with_session(|s, _| {
            let certs = s
                .find_objects(&[
                    Attribute::Class(ObjectClass::CERTIFICATE),
                    Attribute::Label(self.reference.key_label.as_bytes().to_vec()),
                ])
                .map_err(|e| err("looking for the certificate", e))?;
            let Some(handle) = certs.first() else {
                return Ok(None);
            };
            let value = s
                .get_attributes(*handle, &[AttributeType::Value])
                .map_err(|e| err("reading the certificate", e))?;
            for a in value {
                if let Attribute::Value(der) = a {
                    return Ok(Some(X509::from_der(&der)?));
                }
            }
            Ok(None)
        })
    }

    /// Runs `f` with a logged-in session and the private key's handle (re-opening the session
    /// if the token dropped it).
    fn with_session<T>(
        &self,
        f: impl Fn(&Session, ObjectHandle) -> Result<T, SignError>,
    ) -> Result<T, SignError> {
        let mut guard = self
            .session
            .lock()
            .map_err(|_| SignError::Hsm("the session lock is poisoned".into()))?;
        for attempt in 0..2 {
            if guard.is_none() {
                let s = logged_in(&self.ctx, self.slot, &self.reference.pin, false)?;
                *guard = Some(s);
            }
            let Some(s) = guard.as_ref() else {
                continue;
            };
            let handle = match s.find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(self.reference.key_label.as_bytes().to_vec()),
            ]) {
                Ok(h) => h.first().copied().ok_or_else(|| {
                    SignError::Hsm(format!(
                        "no private key labelled {:?} on the token",
                        self.reference.key_label
                    ))
                })?,
                Err(e) if attempt == 0 => {
                    tracing::warn!(error = %e, "PKCS#11 session lost; opening another");
                    *guard = None;
                    continue;
                }
                Err(e) => return Err(err("looking for the key", e)),
            };
            return f(s, handle);
        }
        Err(SignError::Hsm("no usable session".into()))
    }

    /// Whether this is an EC key (ECDSA) rather than RSA.
    pub fn is_ec(&self) -> bool {
        self.key_type == KeyType::EC
    }

    /// Signs `data`: SHA-256 with RSA PKCS#1 v1.5 (done by the token), or ECDSA over the
    /// SHA-256 digest (returned DER-encoded, as CMS and XML-DSig want after conversion).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        if self.is_ec() {
            let digest = Sha256::digest(data);
            let raw = self.with_session(|s, key| {
                s.sign(&Mechanism::Ecdsa, key, &digest)
                    .map_err(|e| err("signing on the token", e))
            })?;
            if raw.len() % 2 != 0 || raw.is_empty() {
                return Err(SignError::Hsm("unexpected ECDSA signature length".into()));
            }
            let (r, s) = raw.split_at(raw.len() / 2);
            let sig = openssl::ecdsa::EcdsaSig::from_private_components(
                openssl::bn::BigNum::from_slice(r)?,
                openssl::bn::BigNum::from_slice(s)?,
            )?;
            Ok(sig.to_der()?)
        } else {
            self.with_session(|s, key| {
                s.sign(&Mechanism::Sha256RsaPkcs, key, data)
                    .map_err(|e| err("signing on the token", e))
            })
        }
    }
}
