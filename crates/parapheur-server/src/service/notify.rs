//! Which messages and jobs a state change sends, as effects written in the change's own
//! transaction (mails rendered in French, text and HTML):
//! - the transmission to Helios when a signed PES reaches its transmission step;
//! - the members of a visa or signature step when a document reaches it;
//! - the depositor when a document is refused or its visa disapproved;
//! - the recipients (`emailDestinataire`, `email_destinataire`, `email_CC`) when a signed
//!   document is classified, with an expiring link that downloads it without an account.

use crate::config::Config;
use crate::connectors::new_message_id;
use crate::error::ApiError;
use crate::jobs::{Job, MailJob};
use crate::service::{human_date, links};
use crate::state::AppState;
use askama::Template;
use parapheur_domain::{DocumentStatus, HistoryState, StepKind, Transition};
use parapheur_store::documents::DocumentRow;
use parapheur_store::jobs::{Effects, NewJob, NewLink};
use parapheur_store::now_ms;

/// A link shown as a button.
#[derive(Debug, Clone)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// A message before rendering.
#[derive(Debug, Clone)]
pub struct Composed {
    pub subject: String,
    pub paragraphs: Vec<String>,
    pub link: Option<Link>,
    pub signature: String,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct TextMail<'a> {
    m: &'a Composed,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct HtmlMail<'a> {
    m: &'a Composed,
}

/// Renders a message as a mail job for `to` (and `cc`).
pub fn mail_job(m: &Composed, to: Vec<String>, cc: Vec<String>) -> Result<NewJob, ApiError> {
    let render = |e: askama::Error| ApiError::Internal(anyhow::anyhow!("mail template: {e}"));
    let job = MailJob {
        to,
        cc,
        subject: m.subject.clone(),
        text: TextMail { m }.render().map_err(render)?,
        html: HtmlMail { m }.render().map_err(render)?,
        message_id: new_message_id(),
    };
    Ok(Job::Mail(job).to_new(0).map_err(anyhow::Error::from)?)
}

/// The document as messages describe it.
#[derive(Debug, Clone)]
pub struct MailDoc {
    /// 0 for a deposit being written (see `NEW_DOCUMENT_ID`).
    pub id: i64,
    pub siren: String,
    pub org: String,
    pub filename: String,
    pub label: String,
    pub depositor: Option<String>,
    pub email_to: Vec<String>,
    pub email_cc: Vec<String>,
    /// The circuit signs (signature, OTP or seal step): the recipients get the signed file.
    pub signs: bool,
}

fn split_list(s: &str) -> Vec<String> {
    s.split([';', ','])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether the circuit has a step that signs.
pub fn signs(steps: &[StepKind]) -> bool {
    steps.iter().any(|k| {
        matches!(
            k,
            StepKind::Signature | StepKind::OtpSignature | StepKind::ServerSignature
        )
    })
}

/// The step whose members must be told, if the transition enters a visa or signature step.
pub fn step_to_announce(t: &Transition) -> Option<usize> {
    let entered = t.entries.iter().any(|e| {
        matches!(
            e.state,
            HistoryState::SentForVisa | HistoryState::SentForSignature
        )
    });
    (t.status == DocumentStatus::InProgress && entered).then_some(t.current_step)
}

/// Whether a transition enters the transmission step (then a send job goes with it).
pub fn enters_transmission(steps: &[StepKind], t: &Transition) -> bool {
    steps.get(t.current_step) == Some(&StepKind::Transmission)
        && t.entries.iter().any(|e| e.state == HistoryState::Sending)
}

/// Whether a transition enters an automatic step (then its durable run goes with it).
fn enters_automatic_step(steps: &[StepKind], t: &Transition) -> bool {
    t.status == DocumentStatus::InProgress
        && steps
            .get(t.current_step)
            .copied()
            .is_some_and(StepKind::is_automatic)
}

/// The document id in a link; the placeholder of a deposit not yet written.
fn doc_ref(d: &MailDoc) -> String {
    if d.id == 0 {
        parapheur_store::jobs::NEW_DOCUMENT_ID.to_owned()
    } else {
        d.id.to_string()
    }
}

pub(crate) fn signature(org: &str) -> String {
    if org.is_empty() {
        "Le parapheur électronique".into()
    } else {
        format!("Le parapheur électronique — {org}")
    }
}

pub(crate) fn doc_name(d: &MailDoc) -> String {
    if d.label.is_empty() {
        format!("« {} »", d.filename)
    } else {
        format!("« {} » (dossier {})", d.filename, d.label)
    }
}

/// The e-mail telling `members` that the document waits for them at a step of `kind`.
fn waiting_mail(
    cfg: &Config,
    d: &MailDoc,
    kind: Option<StepKind>,
    members: &[String],
) -> Result<parapheur_store::jobs::NewJob, ApiError> {
    let base = cfg.public_url.trim_end_matches('/');
    let (what, verb) = match kind {
        Some(StepKind::Visa) => ("viser", "votre visa"),
        // Only visa and signature steps are announced.
        Some(
            StepKind::Signature
            | StepKind::OtpSignature
            | StepKind::ServerSignature
            | StepKind::Verification
            | StepKind::Archive
            | StepKind::Deliver
            | StepKind::Transmission,
        )
        | None => ("signer", "votre signature"),
    };
    let m = Composed {
        subject: format!("Document à {what} : {}", d.filename),
        // `id` is 0 in a deposit: the store puts the new id in place of the placeholder.
        paragraphs: vec![format!(
            "Le document {} attend {verb} dans le parapheur{}.",
            doc_name(d),
            if d.org.is_empty() {
                String::new()
            } else {
                format!(" de {}", d.org)
            }
        )],
        link: Some(Link {
            label: "Ouvrir le document".into(),
            url: format!("{base}/parapheur/showDoc.action?documentid={}", doc_ref(d)),
        }),
        signature: signature(&d.org),
    };
    mail_job(&m, members.to_vec(), Vec::new())
}

/// The messages of a transition. `members` are the e-mails of the step `step_to_announce`
/// names (empty otherwise).
pub fn effects(
    cfg: &Config,
    d: &MailDoc,
    steps: &[StepKind],
    t: &Transition,
    members: &[String],
) -> Result<Effects, ApiError> {
    let base = cfg.public_url.trim_end_matches('/');
    let mut out = Effects::default();
    if enters_transmission(steps, t) {
        out.jobs.push(
            Job::helios_send(&doc_ref(d))
                .to_new(0)
                .map_err(anyhow::Error::from)?,
        );
    }
    if enters_automatic_step(steps, t) {
        // The durable run of the step: due a little later (`[jobs] automatic_retry_ms`), it
        // finds the work done when the immediate run after the commit succeeded, and does it
        // when that run failed (then it is retried with the queue's backoff) or the process
        // died first.
        let delay = i64::try_from(cfg.jobs.automatic_retry_ms).unwrap_or(30_000);
        out.jobs.push(
            Job::automatic(&doc_ref(d))
                .to_new(delay)
                .map_err(anyhow::Error::from)?,
        );
    }
    if let Some(idx) = step_to_announce(t)
        && !members.is_empty()
    {
        out.jobs
            .push(waiting_mail(cfg, d, steps.get(idx).copied(), members)?);
    }
    let refusal = t.entries.iter().find(|e| {
        matches!(
            e.state,
            HistoryState::Refused | HistoryState::RefusedAtOtp | HistoryState::VisaDisapproved
        )
    });
    if let (Some(e), Some(depositor)) = (refusal, &d.depositor) {
        let what = if e.state == HistoryState::Refused {
            "a été refusé"
        } else if e.state == HistoryState::RefusedAtOtp {
            "a été refusé par son signataire (signature par code à usage unique)"
        } else {
            "n'a pas reçu le visa demandé (visa désapprouvé)"
        };
        let mut paragraphs = vec![format!("Le document {} {what}.", doc_name(d))];
        if let Some(c) = &e.comment {
            paragraphs.push(format!("Motif : {c}"));
        }
        let m = Composed {
            subject: format!("Document refusé : {}", d.filename),
            paragraphs,
            link: Some(Link {
                label: "Voir le document".into(),
                url: format!("{base}/parapheur/showDoc.action?documentid={}", d.id),
            }),
            signature: signature(&d.org),
        };
        out.jobs
            .push(mail_job(&m, vec![depositor.clone()], Vec::new())?);
    }
    // Recipients get the signed document when it is classified, unless a deliver step of
    // the circuit already handed it to them.
    if t.status == DocumentStatus::Classified
        && d.signs
        && !steps.contains(&StepKind::Deliver)
        && (!d.email_to.is_empty() || !d.email_cc.is_empty())
    {
        out.extend(signed_document_mail(cfg, d)?.0);
    }
    Ok(out)
}

/// The e-mail that gives the recipients (`email_to`, `email_cc`) an expiring link to download
/// the signed document without an account, with the link it creates; and the link's URL.
pub fn signed_document_mail(cfg: &Config, d: &MailDoc) -> Result<(Effects, String), ApiError> {
    let base = cfg.public_url.trim_end_matches('/');
    let mut out = Effects::default();
    let (token, hash) = links::new_token();
    let days = cfg.mail.link_ttl_days.max(1);
    let expires_at = now_ms() + i64::try_from(days * 86_400_000).unwrap_or(i64::MAX / 2);
    out.links.push(NewLink {
        token_hash: hash,
        purpose: links::DOWNLOAD.into(),
        siren: d.siren.clone(),
        document_ids: vec![d.id],
        referer: None,
        expires_at,
    });
    let url = format!("{base}/public/download/{token}");
    let m = Composed {
        subject: format!("Document signé : {}", d.filename),
        paragraphs: vec![
            format!("Le document {} a été signé.", doc_name(d)),
            format!(
                "Vous pouvez le télécharger sans compte jusqu'au {}.",
                human_date(expires_at)
            ),
        ],
        link: Some(Link {
            label: "Télécharger le document signé".into(),
            url: url.clone(),
        }),
        signature: signature(&d.org),
    };
    let (to, cc) = if d.email_to.is_empty() {
        (d.email_cc.clone(), Vec::new())
    } else {
        (d.email_to.clone(), d.email_cc.clone())
    };
    if !to.is_empty() {
        out.jobs.push(mail_job(&m, to, cc)?);
    }
    Ok((out, url))
}

/// The document as messages describe it, from its stored row.
pub async fn mail_doc(
    state: &AppState,
    doc: &DocumentRow,
    steps: &[StepKind],
) -> Result<MailDoc, ApiError> {
    Ok(MailDoc {
        id: doc.id,
        siren: doc.siren.clone(),
        org: state
            .db
            .subscriber_name(&doc.siren)
            .await?
            .unwrap_or_default(),
        filename: doc.filename.clone(),
        label: doc.label.clone(),
        depositor: None,
        email_to: split_list(&doc.email_to),
        email_cc: split_list(&doc.email_cc),
        signs: signs(steps),
    })
}

/// Adds to the step members to tell the delegates of those absent today (CONTRACT §10: the
/// absent user's e-mails go to the delegate too).
pub async fn add_delegates(state: &AppState, members: &mut Vec<String>) -> Result<(), ApiError> {
    let today = crate::service::access::today();
    for (_, delegate) in state.db.active_delegates(members, &today).await? {
        if !members.contains(&delegate) {
            members.push(delegate);
        }
    }
    Ok(())
}

/// `add_delegates` then `without_digest_users`, from what a deposit read of its people (see
/// `DepositReads::deposit_people`): no further read.
pub fn announce_to(people: &[parapheur_store::accounts::DepositPerson], members: &mut Vec<String>) {
    for i in 0..members.len() {
        let delegate = people
            .iter()
            .find(|p| p.email == members[i])
            .and_then(|p| p.delegate.as_ref());
        if let Some((d, _)) = delegate
            && !members.contains(d)
        {
            members.push(d.clone());
        }
    }
    let digest = |e: &str| {
        people.iter().any(|p| {
            (p.email == e && p.digest) || p.delegate.as_ref().is_some_and(|(d, dg)| d == e && *dg)
        })
    };
    members.retain(|m| !digest(m));
}

/// Removes the users who chose the daily digest (CONTRACT §11): their documents come in it.
pub async fn without_digest_users(
    state: &AppState,
    members: &mut Vec<String>,
) -> Result<(), ApiError> {
    let digest = state.db.digest_users_among(members).await?;
    members.retain(|m| !digest.contains(m));
    Ok(())
}

/// The messages of a transition of a stored document (looks up the depositor, the step
/// members and the subscriber's name).
pub async fn effects_for(
    state: &AppState,
    doc: &DocumentRow,
    steps: &[StepKind],
    t: &Transition,
) -> Result<Effects, ApiError> {
    let mut members: Vec<String> = match step_to_announce(t) {
        Some(idx) => state
            .db
            .document_step_members(doc.id)
            .await?
            .into_iter()
            .filter(|m| usize::try_from(m.idx).ok() == Some(idx))
            .map(|m| m.email)
            .collect(),
        None => Vec::new(),
    };
    add_delegates(state, &mut members).await?;
    without_digest_users(state, &mut members).await?;
    let refused = t.entries.iter().any(|e| {
        matches!(
            e.state,
            HistoryState::Refused | HistoryState::RefusedAtOtp | HistoryState::VisaDisapproved
        )
    });
    let depositor = if refused {
        state
            .db
            .user_by_id(doc.depositor_id)
            .await?
            .map(|u| u.email)
    } else {
        None
    };
    let d = MailDoc {
        depositor,
        ..mail_doc(state, doc, steps).await?
    };
    effects(&state.cfg, &d, steps, t, &members)
}

/// The e-mail to the members the current step was reassigned to (and to the delegates of
/// those absent).
pub async fn reassigned(
    state: &AppState,
    doc: &DocumentRow,
    steps: &[StepKind],
    mut members: Vec<String>,
) -> Result<Effects, ApiError> {
    add_delegates(state, &mut members).await?;
    let d = mail_doc(state, doc, steps).await?;
    let kind = usize::try_from(doc.current_step)
        .ok()
        .and_then(|i| steps.get(i).copied());
    Ok(Effects {
        jobs: vec![waiting_mail(&state.cfg, &d, kind, &members)?],
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::announce_to;
    use parapheur_store::accounts::DepositPerson;

    fn person(email: &str, digest: bool, delegate: Option<(&str, bool)>) -> DepositPerson {
        DepositPerson {
            email: email.into(),
            member_id: Some(1),
            digest,
            delegate: delegate.map(|(d, g)| (d.into(), g)),
        }
    }

    #[test]
    fn a_deposit_announces_to_delegates_and_leaves_out_the_digest_readers() {
        let people = [
            person("absent@a.fr", false, Some(("delegate@a.fr", false))),
            person("digest@a.fr", true, None),
            person("away@a.fr", false, Some(("digest-delegate@a.fr", true))),
            person("shared@a.fr", false, Some(("plain@a.fr", false))),
            person("plain@a.fr", false, None),
            // Not among the step's members: its delegate is nobody's business here.
            person("other@a.fr", false, Some(("nobody@a.fr", false))),
        ];
        let mut members: Vec<String> = [
            "absent@a.fr",
            "digest@a.fr",
            "away@a.fr",
            "shared@a.fr",
            "plain@a.fr",
            "outsider@b.fr",
        ]
        .map(String::from)
        .to_vec();
        announce_to(&people, &mut members);
        assert_eq!(
            members,
            [
                "absent@a.fr",
                "away@a.fr",
                "shared@a.fr",
                "plain@a.fr",
                "outsider@b.fr",
                "delegate@a.fr",
            ]
        );
    }
}
