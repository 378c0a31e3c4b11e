//! The one-time code: sending it within the limits, checking it, and the signature or refusal
//! it authorises.

use super::*;

pub(super) fn code_hash(link_hash: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{link_hash}:{code}").as_bytes()))
}

/// Sends a new code for the link (SMS to the phone, else e-mail), within the hourly limit.
pub async fn send_code(state: &AppState, token: &str) -> Result<(), PageError> {
    let failed = |e: ApiError| PageError::Failed(e.to_string());
    let l = load_link(state, token).await?;
    let (_, _, signer) = l.pending.first().ok_or(PageError::NothingToSign)?;
    let ids: Vec<i64> = l.pending.iter().map(|(d, _, _)| d.id).collect();
    let sent = state
        .db
        .otp_sends_since(&ids, now_ms() - 3_600_000)
        .await
        .map_err(|e| failed(e.into()))?;
    if sent >= MAX_CODES_PER_HOUR {
        return Err(PageError::TooManyCodes);
    }
    let code = {
        use rand::Rng;
        format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
    };
    let org = l.page.org.clone();
    let from = if org.is_empty() {
        String::new()
    } else {
        format!(" ({org})")
    };
    let (channel, job) = if !signer.phone.is_empty() {
        let sms = SmsJob {
            to: signer.phone.clone(),
            text: format!(
                "Votre code de signature{from} : {code} . Valable 10 minutes. Ne le communiquez a personne."
            ),
        };
        (
            "sms",
            Job::Sms(sms)
                .to_new(0)
                .map_err(|e| failed(anyhow::Error::from(e).into()))?,
        )
    } else if !signer.email.is_empty() {
        let m = Composed {
            subject: "Votre code de signature".into(),
            paragraphs: vec![
                format!("Votre code de signature{from} est : {code}"),
                "Il est valable 10 minutes. Ne le communiquez à personne.".into(),
            ],
            link: None,
            signature: "Le parapheur électronique".into(),
        };
        (
            "email",
            notify::mail_job(&m, vec![signer.email.clone()], Vec::new()).map_err(failed)?,
        )
    } else {
        return Err(PageError::NoContact);
    };
    let sent = state
        .db
        .new_otp_code(
            &l.link_hash,
            &code_hash(&l.link_hash, &code),
            channel,
            now_ms() + CODE_VALIDITY_MS,
            &ids,
            (MAX_CODES_PER_HOUR, now_ms() - 3_600_000),
            &Effects {
                jobs: vec![job],
                ..Effects::default()
            },
        )
        .await
        .map_err(|e| failed(e.into()))?;
    if !sent {
        return Err(PageError::TooManyCodes);
    }
    state.wake_jobs();
    tracing::info!(documents = ?ids, channel, "OTP code sent");
    Ok(())
}

/// Checks the code and, when right, signs every pending document of the link. Returns the
/// `referer` to go back to.
pub async fn submit_code(
    state: &AppState,
    token: &str,
    code: &str,
    ip: &str,
) -> Result<Option<String>, PageError> {
    let l = load_link(state, token).await?;
    if l.pending.is_empty() {
        return Err(PageError::NothingToSign);
    }
    let failed = |e: parapheur_store::StoreError| PageError::Failed(e.to_string());
    let c = state
        .db
        .latest_otp_code(&l.link_hash)
        .await
        .map_err(failed)?
        .ok_or(PageError::Code(CodeProblem::NoCode))?;
    code_status(c.used != 0, c.failures, c.expires_at, now_ms()).map_err(PageError::Code)?;
    let given: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let ok = {
        use subtle::ConstantTimeEq;
        let a = code_hash(&l.link_hash, &given);
        bool::from(a.as_bytes().ct_eq(c.code_hash.as_bytes()))
    };
    if !ok {
        let failures = state.db.otp_code_failed(c.id).await.map_err(failed)?;
        tracing::warn!(code.id = c.id, failures, "wrong OTP code");
        return Err(if failures >= MAX_FAILURES {
            PageError::Code(CodeProblem::Locked)
        } else {
            PageError::WrongCode {
                remaining: MAX_FAILURES - failures,
            }
        });
    }
    if !state
        .db
        .use_otp_code(c.id, MAX_FAILURES)
        .await
        .map_err(failed)?
    {
        return Err(PageError::Code(CodeProblem::NoCode));
    }
    let sent_at = human_date(c.created_at);
    let now = human_date(now_ms());
    let mut errors = Vec::new();
    for (doc, w, signer) in &l.pending {
        let via = if c.channel == "sms" {
            format!("SMS au {}", mask_phone(&signer.phone))
        } else {
            format!("e-mail à {}", mask_email(&signer.email))
        };
        let name = info(signer).full_name();
        let evidence = format!(
            "Signature par code à usage unique (OTP) de {name} ; code envoyé par {via} le {sent_at}, validé le {now} depuis l'adresse IP {ip}"
        );
        if let Err(e) = sign_one(state, doc, w, &name, &evidence).await {
            tracing::error!(document.id = doc.id, error = %e, "OTP signature failed");
            errors.push(format!("{} : {}", doc.filename, e.user_message()));
        }
    }
    if !errors.is_empty() {
        return Err(PageError::Failed(errors.join(" ; ")));
    }
    Ok(l.page.referer)
}

/// The OTP signer refuses to sign every pending document of the link, with a reason:
/// "Refusé à l'étape OTP", the circuit stops and the depositor is told. No code is needed: the
/// link, sent to the signer alone, is the proof of who refuses.
pub async fn refuse(
    state: &AppState,
    token: &str,
    reason: &str,
) -> Result<Option<String>, PageError> {
    let l = load_link(state, token).await?;
    if l.pending.is_empty() {
        return Err(PageError::NothingToSign);
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(PageError::ReasonRequired);
    }
    let reason: String = reason.chars().take(4000).collect();
    let mut errors = Vec::new();
    for (doc, w, signer) in &l.pending {
        let name = info(signer).full_name();
        let done = async {
            let t = w.otp_refused(Some(reason.clone()))?;
            let change = Change::by(By::Named(name.clone())).human();
            transition::apply(state, doc, &w.steps, &t, change).await
        };
        match done.await {
            Ok(()) => tracing::info!(document.id = doc.id, "refused at the OTP step"),
            Err(e) => {
                tracing::error!(document.id = doc.id, error = %e, "OTP refusal failed");
                errors.push(format!("{} : {}", doc.filename, e.user_message()));
            }
        }
    }
    if !errors.is_empty() {
        return Err(PageError::Failed(errors.join(" ; ")));
    }
    Ok(l.page.referer)
}

pub(super) async fn sign_one(
    state: &AppState,
    doc: &DocumentRow,
    w: &Workflow,
    name: &str,
    evidence: &str,
) -> Result<(), ApiError> {
    let t = w.otp_signed(evidence.to_owned())?;
    let signer = SignAs {
        key: Key::Seal,
        name: name.to_owned(),
        reason: evidence.to_owned(),
    };
    let signed = signing::sign_document(state, &signer, doc).await?;
    let change = Change::by(By::Named(name.to_owned()))
        .with(Payload::Signed(signed))
        .human();
    transition::apply(state, doc, &w.steps, &t, change).await?;
    tracing::info!(document.id = doc.id, "OTP signature applied");
    Ok(())
}
