//! The HTTP client azmi uses for every request.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::error::{Error, Result};

/// A PEM file of extra CA certificates to trust besides the public roots (azmi-emulator prints
/// it; also for private clouds and TLS-inspecting proxies' roots).
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

/// Builds the client: rustls with the ring provider and Mozilla's roots, no proxy (IMDS must
/// never go through one, and a token must not be handed to a proxy azmi was not told about),
/// and no automatic redirects (each caller decides whether a token may follow one).
/// `extra_ca` adds the certificates of a PEM file to the trusted roots.
pub(crate) fn build_client(extra_ca: Option<&Path>) -> Result<reqwest::Client> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca {
        for cert in read_ca_file(path)? {
            roots.add(cert).map_err(|e| {
                Error::InvalidArgument(format!(
                    "a certificate in {} cannot be trusted: {e}",
                    path.display()
                ))
            })?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS set-up failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    build_client_with_tls(tls)
}

/// The client with azmi's settings over the given TLS configuration (Service Fabric pins its
/// endpoint's certificate this way).
pub(crate) fn build_client_with_tls(tls: rustls::ClientConfig) -> Result<reqwest::Client> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn unreadable_or_empty_ca_files_are_invalid_arguments() {
        let e = build_client(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");

        let dir = std::env::temp_dir().join(format!("azmi-ca-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let e = build_client(Some(&empty)).unwrap_err();
        assert!(e.to_string().contains("holds no certificate"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();

        assert!(build_client(None).is_ok());
    }
}
