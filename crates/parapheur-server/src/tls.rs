//! HTTPS with rustls: the server certificate of `[tls] cert`/`key`, and, when `[tls] client_ca`
//! is set, client certificates requested (not required) and verified against that CA (chain,
//! validity dates, and the CRLs of `[tls] crl`). A presented certificate that does not verify
//! fails the handshake; a verified one is handed to the routes as a `ClientCertificate`
//! request extension, where authentication maps it to a CERTIFICAT user.

use anyhow::Context;
use axum::extract::ConnectInfo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::config::TlsConfig;

/// The DER of the verified client certificate of the connection.
#[derive(Debug, Clone)]
pub struct ClientCertificate(pub Arc<Vec<u8>>);

/// The rustls server configuration of `[tls]`, or `None` when TLS is off.
pub fn server_config(cfg: &TlsConfig) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
    if cfg.cert.is_empty() {
        return Ok(None);
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cfg.cert)
        .with_context(|| format!("key `tls.cert`: reading {}", cfg.cert))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("key `tls.cert`: {}", cfg.cert))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "key `tls.cert`: no certificate in {}",
        cfg.cert
    );
    let key = PrivateKeyDer::from_pem_file(&cfg.key)
        .with_context(|| format!("key `tls.key`: no private key in {:?}", cfg.key))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = if cfg.client_ca.is_empty() {
        builder.with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&cfg.client_ca)
            .with_context(|| format!("key `tls.client_ca`: reading {}", cfg.client_ca))?
        {
            roots
                .add(c.with_context(|| format!("key `tls.client_ca`: {}", cfg.client_ca))?)
                .context("key `tls.client_ca`")?;
        }
        let crls: Vec<CertificateRevocationListDer<'static>> = if cfg.crl.is_empty() {
            Vec::new()
        } else {
            CertificateRevocationListDer::pem_file_iter(&cfg.crl)
                .with_context(|| format!("key `tls.crl`: reading {}", cfg.crl))?
                .collect::<Result<_, _>>()
                .with_context(|| format!("key `tls.crl`: {}", cfg.crl))?
        };
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .with_crls(crls)
            .allow_unauthenticated()
            .build()
            .context("key `tls.client_ca`")?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .context("key `tls.cert`/`tls.key`")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// Accepts TLS connections and serves `app` on each until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(
                std::time::Duration::from_secs(10),
                acceptor.accept(stream),
            )
            .await
            {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => {
                    tracing::info!(%peer, error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => return,
            };
            let cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| ClientCertificate(Arc::new(c.to_vec())));
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    if let Some(c) = &cert {
                        req.extensions_mut().insert(c.clone());
                    }
                    app.clone().oneshot(req.map(axum::body::Body::new))
                },
            );
            let io = hyper_util::rt::TokioIo::new(tls);
            if let Err(e) =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(io, service)
                    .await
            {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

/// The e-mail of a certificate: a SAN rfc822Name, else the DN emailAddress.
pub fn certificate_email(der: &[u8]) -> Option<String> {
    let x = openssl::x509::X509::from_der(der).ok()?;
    if let Some(names) = x.subject_alt_names() {
        for n in &names {
            if let Some(e) = n.email() {
                return Some(e.trim().to_lowercase());
            }
        }
    }
    x.subject_name()
        .entries_by_nid(openssl::nid::Nid::PKCS9_EMAILADDRESS)
        .next()
        .and_then(|e| e.data().to_string().ok())
        .map(|s| s.trim().to_lowercase())
}

/// Accepts socket addresses listed as trusted proxies (IP only).
pub fn trusted(proxies: &[String], peer: SocketAddr) -> bool {
    proxies.iter().any(|p| {
        p.parse::<std::net::IpAddr>()
            .map(|ip| ip == peer.ip())
            .unwrap_or(false)
    })
}
