//! The fiche de circulation: a PDF naming the document (and its annexes, with their size and
//! SHA-256), its circuit and every history entry.

use crate::error::ApiError;
use crate::pdfgen::{Line, wrap};
use crate::service::human_date;
use crate::state::AppState;
use parapheur_domain::DocumentStatus;
use parapheur_store::documents::DocumentRow;

pub async fn build(state: &AppState, doc: &DocumentRow) -> Result<Vec<u8>, ApiError> {
    let db = &state.db;
    let subscriber = db.subscriber_name(&doc.siren).await?.unwrap_or_default();
    let steps = db.document_steps(doc.id).await?;
    let members = db.document_step_members(doc.id).await?;
    let history = db.history(doc.id).await?;
    let annexes = crate::service::annexes::of_document(state, doc.id).await?;
    let code = crate::service::verifier::code_of(state, doc.id).await?;
    let verify_url = format!(
        "{}/verifier/{code}",
        state.cfg.public_url.trim_end_matches('/')
    );
    let depositor = db
        .user_by_id(doc.depositor_id)
        .await?
        .map(|u| u.full_name())
        .unwrap_or_default();

    let mut l = vec![
        Line::new("Fiche de circulation", 20.0, true),
        Line::new(format!("{subscriber} (SIREN {})", doc.siren), 11.0, false),
        Line::new("", 8.0, false),
        Line::new("Document", 14.0, true),
    ];
    let mut kv = |k: &str, v: &str| {
        for (i, part) in wrap(v, 70).into_iter().enumerate() {
            l.push(Line::new(
                if i == 0 {
                    format!("{k} : {part}")
                } else {
                    format!("    {part}")
                },
                10.0,
                false,
            ));
        }
    };
    kv("Identifiant", &doc.id.to_string());
    kv("Nom du fichier", &doc.filename);
    kv("Empreinte SHA-256", &doc.sha256);
    kv("Code de vérification", &code);
    kv("Vérifier en ligne", &verify_url);
    kv(
        "Circuit",
        doc.circuit_id.as_deref().unwrap_or("(circuit à la volée)"),
    );
    kv("Type de circuit", doc.circuit_type.as_str());
    if !doc.label.is_empty() {
        kv("Dossier", &doc.label);
    }
    kv("Déposé par", &depositor);
    kv("Déposé le", &human_date(doc.created_at));
    if !doc.comment.is_empty() {
        kv("Commentaire", &doc.comment);
    }
    for a in &annexes {
        kv("Annexe", &format!("{} ({} octets)", a.name, a.size));
        kv("    SHA-256", &a.sha256);
    }
    l.push(Line::new("", 8.0, false));
    l.push(Line::new("Circuit", 14.0, true));
    for (i, s) in steps.iter().enumerate() {
        let label = s.label_fr();
        let who: Vec<String> = members
            .iter()
            .filter(|m| m.idx == i as i64)
            .map(|m| format!("{} <{}>", m.name, m.email))
            .collect();
        let current = doc.status == DocumentStatus::InProgress && doc.current_step == i as i64;
        let text = format!(
            "{}. {label}{}{}",
            i + 1,
            if who.is_empty() {
                String::new()
            } else {
                format!(" : {}", who.join(", "))
            },
            if current { "  (étape en cours)" } else { "" }
        );
        for (j, part) in wrap(&text, 90).into_iter().enumerate() {
            l.push(Line::new(
                if j == 0 { part } else { format!("    {part}") },
                10.0,
                false,
            ));
        }
    }
    l.push(Line::new("", 8.0, false));
    l.push(Line::new("Historique", 14.0, true));
    for h in &history {
        let who = if h.user_fullname.is_empty() {
            "parapheur (action automatique)"
        } else {
            &h.user_fullname
        };
        l.push(Line::new(
            format!("{} — {} — {}", human_date(h.at_ms), h.state_name, who),
            10.0,
            false,
        ));
        if let Some(c) = h.comment.as_deref().filter(|c| !c.is_empty()) {
            for part in wrap(&format!("Commentaire : {c}"), 85) {
                l.push(Line::new(format!("    {part}"), 9.0, false));
            }
        }
    }
    crate::pdfgen::render_with_qr(
        &format!("Fiche de circulation du document {}", doc.id),
        &l,
        Some(&verify_url),
    )
    .map_err(|e| ApiError::Internal(e.into()))
}
