//! `bare-axum ADDR [--body FILE]`: one GET route (`/history`, and any other path) answering a
//! JSON body — FILE's bytes (what the server's route answered, captured by bench/run.sh), or a
//! static array about the size of a FAST history response. The reference for reads.

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;

/// Two history entries, as `GET documents/v2/{id}/history` renders a fresh deposit (188 bytes).
const BODY: &str = r#"[{"userFullname":"Denis Dépôt","date":"2026-11-27T08:06:03.355+00:00","stateName":"Préparé"},{"userFullname":"","date":"2026-11-27T08:06:03.355+00:00","stateName":"Envoyé pour visa"}]"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:18081".into());
    let body = match args.iter().position(|a| a == "--body") {
        Some(i) => {
            let path = args
                .get(i + 1)
                .ok_or_else(|| anyhow::anyhow!("--body needs a file"))?;
            Bytes::from(std::fs::read(path)?)
        }
        None => Bytes::from_static(BODY.as_bytes()),
    };
    let handler = move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body) }
    };
    let app = Router::new()
        .route("/history", get(handler.clone()))
        .fallback(get(handler));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
