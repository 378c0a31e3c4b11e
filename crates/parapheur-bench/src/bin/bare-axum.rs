//! `bare-axum ADDR`: one GET route (`/history`, and any other path) answering a static JSON
//! array about the size of a FAST history response. The reference for history reads.

use axum::Router;
use axum::http::header;
use axum::routing::get;

/// Two history entries, as `GET documents/v2/{id}/history` renders a fresh deposit (188 bytes).
const BODY: &str = r#"[{"userFullname":"Denis Dépôt","date":"2026-11-27T08:06:03.355+00:00","stateName":"Préparé"},{"userFullname":"","date":"2026-11-27T08:06:03.355+00:00","stateName":"Envoyé pour visa"}]"#;

async fn handler() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "application/json")], BODY)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18081".into());
    let app = Router::new()
        .route("/history", get(handler))
        .fallback(get(handler));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
