//! Reminders around deadlines and the daily digest (CONTRACT §11). A loop on every instance
//! looks for what is due every `[reminders] check_interval_s`; each reminder and each digest is
//! claimed in the database with its e-mail job, so it goes once whichever instance finds it
//! first.

use crate::error::ApiError;
use crate::service::access::today;
use crate::service::notify::{self, Composed, Link, mail_job};
use crate::state::AppState;
use chrono::{Days, NaiveDate, Timelike};
use parapheur_store::jobs::Effects;

/// Documents looked at per run.
const BATCH: i64 = 5000;

pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let every = std::time::Duration::from_secs(state.cfg.reminders.check_interval_s.max(1));
        loop {
            match run_due(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(messages = n, "reminders and digests queued"),
                Err(e) => tracing::error!(error = %e, "reminders failed"),
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// Which reminder of a document is due today: `(kind, offset, smaller offsets also due)`.
/// Only the largest due offset of each kind is sent (a document first seen late gets one
/// reminder, not one per offset it missed).
pub fn due(
    deadline: NaiveDate,
    today: NaiveDate,
    before: &[u32],
    after: &[u32],
) -> Vec<(&'static str, i64, Vec<i64>)> {
    let mut out = Vec::new();
    let pick = |kind: &'static str, offsets: Vec<i64>| {
        let max = offsets.iter().copied().max()?;
        Some((
            kind,
            max,
            offsets.into_iter().filter(|o| *o != max).collect(),
        ))
    };
    if today <= deadline {
        let left = (deadline - today).num_days();
        // "2 days before": due from two days before the deadline on.
        let d: Vec<i64> = before
            .iter()
            .map(|b| i64::from(*b))
            .filter(|b| left <= *b)
            .collect();
        // The smallest offset reached is the one to tell ("in 1 day" rather than "in 2").
        if let Some(min) = d.iter().copied().min() {
            out.push(("before", min, d.into_iter().filter(|o| *o != min).collect()));
        }
    } else {
        let late = (today - deadline).num_days();
        let d: Vec<i64> = after
            .iter()
            .map(|a| i64::from(*a))
            .filter(|a| late >= *a)
            .collect();
        out.extend(pick("after", d));
    }
    out
}

/// Queues the reminders and digests due now; how many e-mails were queued.
pub async fn run_due(state: &AppState) -> Result<usize, ApiError> {
    let cfg = &state.cfg.reminders;
    let today_s = today();
    let Ok(today) = NaiveDate::parse_from_str(&today_s, "%Y-%m-%d") else {
        return Ok(0);
    };
    let horizon = cfg.before_days.iter().copied().max().unwrap_or(0);
    let until = today
        .checked_add_days(Days::new(u64::from(horizon)))
        .unwrap_or(today)
        .format("%Y-%m-%d")
        .to_string();
    let mut queued = 0;
    for row in state.db.documents_with_deadline(&until, BATCH).await? {
        let Ok(deadline) = NaiveDate::parse_from_str(&row.deadline, "%Y-%m-%d") else {
            continue;
        };
        for (kind, offset, also) in due(deadline, today, &cfg.before_days, &cfg.after_days) {
            let Some(doc) = state.db.document(row.id).await? else {
                continue;
            };
            let effects = reminder(state, &doc, kind, offset, &row.deadline).await?;
            if state
                .db
                .claim_reminder(doc.id, row.current_step, kind, offset, &also, &effects)
                .await?
                && !effects.is_empty()
            {
                queued += 1;
            }
        }
    }
    if crate::clock::now().hour() >= cfg.digest_hour {
        queued += digests(state, &today_s).await?;
    }
    if queued > 0 {
        state.wake_jobs();
    }
    Ok(queued)
}

/// The reminder e-mail of a document: to the members of its current step who have not acted
/// (and their delegates); after the deadline, to the depositor too.
async fn reminder(
    state: &AppState,
    doc: &parapheur_store::documents::DocumentRow,
    kind: &str,
    offset: i64,
    deadline: &str,
) -> Result<Effects, ApiError> {
    let mut to: Vec<String> = state
        .db
        .document_step_members(doc.id)
        .await?
        .into_iter()
        .filter(|m| m.idx == doc.current_step && !m.acted)
        .map(|m| m.email)
        .collect();
    notify::add_delegates(state, &mut to).await?;
    if kind == "after"
        && let Some(d) = state.db.user_by_id(doc.depositor_id).await?
        && !to.contains(&d.email)
    {
        to.push(d.email);
    }
    if to.is_empty() {
        return Ok(Effects::default());
    }
    let steps = state.db.document_steps(doc.id).await?;
    let d = notify::mail_doc(state, doc, &steps).await?;
    let day = NaiveDate::parse_from_str(deadline, "%Y-%m-%d")
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_else(|_| deadline.to_owned());
    let (subject, text) = if kind == "before" {
        (
            format!(
                "Rappel : {} attend votre action avant le {day}",
                doc.filename
            ),
            format!(
                "Le document {} doit être traité au plus tard le {day} ({} jour(s)).",
                notify::doc_name(&d),
                offset
            ),
        )
    } else {
        (
            format!("Document en retard : {}", doc.filename),
            format!(
                "Le document {} devait être traité au plus tard le {day} ; il attend toujours à l'étape en cours.",
                notify::doc_name(&d)
            ),
        )
    };
    let base = state.cfg.public_url.trim_end_matches('/');
    let m = Composed {
        subject,
        paragraphs: vec![text],
        link: Some(Link {
            label: "Ouvrir le document".into(),
            url: format!("{base}/parapheur/showDoc.action?documentid={}", doc.id),
        }),
        signature: notify::signature(&d.org),
    };
    Ok(Effects {
        jobs: vec![mail_job(&m, to, Vec::new())?],
        ..Default::default()
    })
}

/// The digests of `day` not sent yet: one e-mail per user listing what waits for them.
async fn digests(state: &AppState, day: &str) -> Result<usize, ApiError> {
    let mut sent = 0;
    let base = state.cfg.public_url.trim_end_matches('/');
    for (user_id, email, name) in state.db.digest_users_due(day).await? {
        let tasks = state.db.tasks(user_id, day).await?;
        let effects = if tasks.is_empty() {
            Effects::default()
        } else {
            let mut paragraphs = vec![format!(
                "Bonjour {name}, {} document(s) attendent votre action :",
                tasks.len()
            )];
            paragraphs.extend(tasks.iter().take(200).map(|t| {
                let what = if t.kind.as_str() == "visa" {
                    "à viser"
                } else {
                    "à signer"
                };
                let late = match &t.deadline {
                    Some(d) if d.as_str() < day => format!(" — en retard (échéance {d})"),
                    Some(d) => format!(" — échéance {d}"),
                    None => String::new(),
                };
                format!("- {} ({what}, n° {}){late}", t.filename, t.id)
            }));
            let m = Composed {
                subject: format!(
                    "Récapitulatif du {day} : {} document(s) en attente",
                    tasks.len()
                ),
                paragraphs,
                link: Some(Link {
                    label: "Ouvrir le parapheur".into(),
                    url: format!("{base}/parapheur/"),
                }),
                signature: "Le parapheur électronique".into(),
            };
            Effects {
                jobs: vec![mail_job(&m, vec![email], Vec::new())?],
                ..Default::default()
            }
        };
        if state.db.claim_digest(user_id, day, &effects).await? && !effects.is_empty() {
            sent += 1;
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn the_largest_missed_offset_goes_alone() {
        let (before, after) = ([2, 5], [1, 3, 7]);
        assert!(due(d("2026-12-20"), d("2026-12-10"), &before, &after).is_empty());
        assert_eq!(
            due(d("2026-12-20"), d("2026-12-15"), &before, &after),
            [("before", 5, vec![])]
        );
        assert_eq!(
            due(d("2026-12-20"), d("2026-12-19"), &before, &after),
            [("before", 2, vec![5])]
        );
        assert_eq!(
            due(d("2026-12-20"), d("2026-12-20"), &before, &after),
            [("before", 2, vec![5])]
        );
        assert!(due(d("2026-12-20"), d("2026-12-21"), &before, &[3]).is_empty());
        assert_eq!(
            due(d("2026-12-20"), d("2026-12-24"), &before, &after),
            [("after", 3, vec![1])]
        );
        assert_eq!(
            due(d("2026-12-20"), d("2027-01-20"), &before, &after),
            [("after", 7, vec![1, 3])]
        );
    }
}
