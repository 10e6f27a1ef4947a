//! The HTTP client azmi uses for every request.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

/// Builds the client: rustls with the ring provider and Mozilla's roots, no proxy (IMDS must
/// never go through one, and a token must not be handed to a proxy azmi was not told about),
/// and no automatic redirects (each caller decides whether a token may follow one).
pub(crate) fn build_client() -> Result<reqwest::Client> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS set-up failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("azmi/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| Error::Internal(format!("HTTP client set-up failed: {e}")))
}
