//! The HTTP clients azmi uses: one for managed identity endpoints (never a proxy), one for
//! service requests (the proxy `crate::proxy` chooses), both trusting the operating system's
//! roots and `AZMI_CA_FILE`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::error::{Error, Result};
use crate::proxy::ProxyRules;
use crate::trust::SystemRoots;

/// A PEM file of extra CA certificates to trust besides the system's roots (azmi-emulator
/// prints it; also for private clouds, and TLS-inspecting proxies' roots not in the system's
/// store).
pub const ENV_CA_FILE: &str = "AZMI_CA_FILE";

/// Reads the certificates of a PEM file.
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path).map_err(|e| {
        Error::InvalidArgument(format!(
            "the CA file {} could not be read: {e}",
            path.display()
        ))
    })?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            Error::InvalidArgument(format!(
                "the CA file {} is not valid PEM: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "the CA file {} holds no certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// The CA file named by `AZMI_CA_FILE`, if any.
pub(crate) fn ca_file_from_env() -> Option<std::path::PathBuf> {
    std::env::var_os(ENV_CA_FILE)
        .filter(|v| !v.is_empty())
        .map(Into::into)
}

/// The TLS settings of every client but Service Fabric's pinned ones: the system's roots and
/// the certificates of `extra_ca` (see `crate::trust`).
pub(crate) fn tls_config(extra_ca: Option<&Path>) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra = match extra_ca {
        Some(path) => read_ca_file(path)?,
        None => Vec::new(),
    };
    let verifier = SystemRoots::new(extra, Arc::clone(&provider)).map_err(|(n, e)| {
        let path = extra_ca.map_or_else(String::new, |p| p.display().to_string());
        Error::InvalidArgument(format!("certificate {n} in {path} cannot be trusted: {e}"))
    })?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS set-up failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// azmi's HTTP clients and the proxy rules they follow, replaced whole when the trusted CAs or
/// the proxy change (requests in flight keep the ones they started with).
pub(crate) struct Network {
    /// For managed identity endpoints: never through a proxy, whatever is set (IMDS refuses
    /// proxied requests; the others are local to the host).
    pub identity: reqwest::Client,
    /// For service requests (and workload identity's exchange at Entra ID): through the proxy
    /// `proxy` chooses.
    pub service: reqwest::Client,
    pub proxy: Arc<ProxyRules>,
    tls: rustls::ClientConfig,
}

impl Network {
    pub(crate) fn new(extra_ca: Option<&Path>, proxy: Arc<ProxyRules>) -> Result<Network> {
        Self::with_tls(tls_config(extra_ca)?, proxy)
    }

    /// The same trusted CAs with other proxy rules.
    pub(crate) fn with_proxy(&self, proxy: Arc<ProxyRules>) -> Result<Network> {
        Self::with_tls(self.tls.clone(), proxy)
    }

    /// Other trusted CAs with the same proxy rules.
    pub(crate) fn with_extra_ca(&self, extra_ca: Option<&Path>) -> Result<Network> {
        Self::new(extra_ca, Arc::clone(&self.proxy))
    }

    fn with_tls(tls: rustls::ClientConfig, proxy: Arc<ProxyRules>) -> Result<Network> {
        Ok(Network {
            identity: build_client_with_tls(tls.clone())?,
            service: build(tls.clone(), proxy.reqwest_proxy())?,
            proxy,
            tls,
        })
    }
}

/// A client with azmi's settings over the given TLS configuration and no proxy (managed
/// identity endpoints; Service Fabric pins its endpoint's certificate this way).
pub(crate) fn build_client_with_tls(tls: rustls::ClientConfig) -> Result<reqwest::Client> {
    build(tls, None)
}

/// azmi's settings: no automatic redirects (each caller decides whether a token may follow
/// one), no proxy but `proxy` (never the environment's through reqwest: azmi reads it itself,
/// see `crate::proxy`).
fn build(tls: rustls::ClientConfig, proxy: Option<reqwest::Proxy>) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy();
    if let Some(proxy) = proxy {
        builder = builder.proxy(proxy);
    }
    builder
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("azmi/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| Error::Internal(format!("HTTP client set-up failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn unreadable_or_empty_ca_files_are_invalid_arguments() {
        let e = tls_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");

        let dir = std::env::temp_dir().join(format!("azmi-ca-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let e = tls_config(Some(&empty)).unwrap_err();
        assert!(e.to_string().contains("holds no certificate"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();

        assert!(tls_config(None).is_ok());
    }
}
