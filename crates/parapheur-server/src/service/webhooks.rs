//! Webhook deliveries (CONTRACT §11), signed as the Standard Webhooks specification says:
//! `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 of
//! HMAC-SHA256("<id>.<timestamp>.<body>")>` with the endpoint's `whsec_` secret. One job per
//! delivery; a delivery waits while an earlier one to the same endpoint about the same document
//! is pending, so each endpoint sees a document's events in order.

use crate::connectors::SendError;
use crate::jobs::Outcome;
use crate::state::AppState;
use base64::Engine;
use hmac::{Hmac, Mac};
use parapheur_store::webhooks::DeliveryRow;
use sha2::Sha256;

/// How long a delivery waits for an earlier one before looking again.
const WAIT_FOR_EARLIER_MS: u64 = 500;

/// The `webhook-signature` value of `body` sent as message `msg_id` at `timestamp`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| "the endpoint's secret is not whsec_<base64>".to_owned())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{msg_id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The body of a delivery: built from its history entry the first time, then kept.
async fn body(state: &AppState, d: &DeliveryRow) -> Result<Option<String>, SendError> {
    if let Some(b) = &d.body {
        return Ok(Some(b.clone()));
    }
    let transient = |e: &dyn std::fmt::Display| SendError::transient(e.to_string());
    let Some(h) = d.history_id else {
        return Ok(None);
    };
    let Some(src) = state.db.event_source(h).await.map_err(|e| transient(&e))? else {
        // The document was deleted: nothing left to tell.
        return Ok(None);
    };
    let date = crate::service::iso_date(src.at_ms);
    let b = serde_json::json!({
        "type": d.event,
        "timestamp": date,
        "data": {
            "id": src.document_id,
            "siren": src.siren,
            "circuit": src.circuit_id,
            "stateName": src.state_name,
            "userFullname": src.user_fullname,
            "date": date,
        }
    })
    .to_string();
    Ok(Some(
        state
            .db
            .set_delivery_body(d.id, &b)
            .await
            .map_err(|e| transient(&e))?,
    ))
}

/// Runs the job of delivery `id`.
pub async fn run(state: &AppState, id: i64) -> Result<Outcome, SendError> {
    let transient = |e: &dyn std::fmt::Display| SendError::transient(e.to_string());
    let Some(d) = state.db.delivery(id).await.map_err(|e| transient(&e))? else {
        return Ok(Outcome::Done);
    };
    if d.status != "pending" {
        return Ok(Outcome::Done);
    }
    if state
        .db
        .earlier_pending(&d)
        .await
        .map_err(|e| transient(&e))?
    {
        return Ok(Outcome::Later(WAIT_FOR_EARLIER_MS));
    }
    let Some(body) = body(state, &d).await? else {
        state
            .db
            .record_delivery_attempt(d.id, Err("the document no longer exists"), 0)
            .await
            .map_err(|e| transient(&e))?;
        return Ok(Outcome::Done);
    };
    let timestamp = chrono::Utc::now().timestamp();
    let max = i64::from(state.cfg.webhooks.max_attempts.max(1));
    let signature = match sign(&d.secret, &d.msg_id, timestamp, &body) {
        Ok(s) => s,
        Err(e) => {
            // A configuration error: no attempt can succeed.
            state
                .db
                .record_delivery_attempt(d.id, Err(&e), 0)
                .await
                .map_err(|e| transient(&e))?;
            return Ok(Outcome::Done);
        }
    };
    let sent = state
        .http
        .post(&d.url)
        .timeout(std::time::Duration::from_millis(
            state.cfg.webhooks.timeout_ms,
        ))
        .header("content-type", "application/json")
        .header("webhook-id", &d.msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let outcome = match sent {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("the endpoint answered {}", r.status())),
        Err(e) => Err(format!("the endpoint could not be reached: {e}")),
    };
    state
        .db
        .record_delivery_attempt(
            d.id,
            outcome.as_ref().map(|_| ()).map_err(String::as_str),
            max,
        )
        .await
        .map_err(|e| transient(&e))?;
    match outcome {
        Ok(()) => {
            tracing::info!(
                delivery.id = d.id,
                webhook.id = d.webhook_id,
                "webhook delivered"
            );
            Ok(Outcome::Done)
        }
        Err(e) if d.attempts + 1 >= max => {
            state
                .metrics
                .delivery_failed(crate::metrics::Channel::Webhook);
            tracing::warn!(delivery.id = d.id, error = %e, attempts = d.attempts + 1, "webhook delivery failed for good");
            state
                .metrics
                .job_failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(Outcome::Done)
        }
        Err(e) => {
            state
                .metrics
                .delivery_failed(crate::metrics::Channel::Webhook);
            Err(SendError::transient(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_like_the_reference_implementation() {
        let s = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            s.as_deref(),
            Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert!(sign("whsec_!!!", "m", 1, "b").is_err());
    }
}
