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

/// Accepts connections (TLS when `tls` is set) and serves `app` on each until `shutdown`
/// completes, then lets the open requests finish (up to 30 s). Every connection has a header
/// timeout (also the idle time allowed between keep-alive requests), the body of every request
/// a timeout between reads (`[limits] body_timeout_s`, see [`ConnectionService`]), and at most
/// `[limits] max_connections` are open at once: further clients wait in the listen backlog.
pub async fn serve<A>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: A,
    limits: &crate::config::LimitsConfig,
    shutdown: impl std::future::Future<Output = ()>,
) where
    A: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let header_timeout = std::time::Duration::from_secs(limits.header_timeout_s);
    let body_timeout = std::time::Duration::from_secs(limits.body_timeout_s);
    let mut builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(Some(header_timeout))
        .keep_alive_timeout(header_timeout);
    let builder = Arc::new(builder);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let serve_connection =
        |stream: tokio::net::TcpStream,
         peer: SocketAddr,
         permit: Option<tokio::sync::OwnedSemaphorePermit>| {
            let (acceptor, app, builder) = (acceptor.clone(), app.clone(), builder.clone());
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let _permit = permit;
                let Some(acceptor) = acceptor else {
                    let service = connection_service(app, peer, None, body_timeout);
                    let conn = builder.serve_connection_with_upgrades(
                        hyper_util::rt::TokioIo::new(stream),
                        service,
                    );
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    return;
                };
                let tls = match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await
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
                let service = connection_service(app, peer, cert, body_timeout);
                let conn = builder
                    .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(tls), service);
                if let Err(e) = watcher.watch(conn.into_owned()).await {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        };
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        serve_connection(stream, peer, Some(permit));
    }
    // Connections the kernel already accepted (the listen backlog) are served rather than
    // reset when the socket closes: they are taken until none waits, for 200 ms at most
    // (clients that keep connecting would otherwise hold the door open).
    let drain_until = tokio::time::Instant::now() + std::time::Duration::from_millis(200);
    while let Ok(Ok((stream, peer))) = tokio::time::timeout_at(drain_until, listener.accept()).await
    {
        serve_connection(stream, peer, None);
    }
    drop(listener);
    let grace = std::time::Duration::from_secs(limits.shutdown_grace_s);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_s = limits.shutdown_grace_s, "connections still open after the grace period: closing them");
        }
    }
}

/// The service of one connection: the router, with the peer address and the verified client
/// certificate as request extensions.
fn connection_service<A>(
    app: A,
    peer: SocketAddr,
    cert: Option<ClientCertificate>,
    body_timeout: std::time::Duration,
) -> ConnectionService<A> {
    ConnectionService {
        app,
        peer,
        cert,
        body_timeout,
    }
}

/// Hands each request of a connection to the application, with the peer address and the
/// client certificate as extensions, and its body under the read timeout (no frame for
/// `body_timeout` ends the read with an error). A request without a body (a GET as clients
/// send it, a `Content-Length: 0`) gets the empty body, which costs no allocation: the polled
/// reads pay neither the timer's wrapper nor a boxed body.
#[derive(Clone)]
struct ConnectionService<A> {
    app: A,
    peer: SocketAddr,
    cert: Option<ClientCertificate>,
    body_timeout: std::time::Duration,
}

impl<A> hyper::service::Service<hyper::Request<hyper::body::Incoming>> for ConnectionService<A>
where
    A: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone,
{
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = tower::util::Oneshot<A, axum::extract::Request>;

    fn call(&self, mut req: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        if let Some(c) = &self.cert {
            req.extensions_mut().insert(c.clone());
        }
        let body_timeout = self.body_timeout;
        let req = req.map(|body| {
            if axum::body::HttpBody::is_end_stream(&body) {
                axum::body::Body::empty()
            } else {
                axum::body::Body::new(tower_http::timeout::TimeoutBody::new(body_timeout, body))
            }
        });
        self.app.clone().oneshot(req)
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

/// Whether `peer` is one of the trusted proxies (an address or in a network listed).
pub fn trusted(proxies: &[ipnet::IpNet], peer: SocketAddr) -> bool {
    let ip = match peer.ip() {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    };
    proxies.iter().any(|net| net.contains(&ip))
}
