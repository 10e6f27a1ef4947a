//! Which server certificates azmi trusts: the operating system's roots (the Windows certificate
//! store, the macOS keychain; on Linux the files of `SSL_CERT_FILE`/`SSL_CERT_DIR` or the
//! distribution's, through rustls-platform-verifier), where a TLS-inspecting proxy's root is
//! installed, plus the certificates of `AZMI_CA_FILE`; Mozilla's roots only where the system has
//! none (a minimal Linux image without ca-certificates).
//!
//! The system's roots are loaded at the first TLS handshake, not when azmi starts: reading and
//! parsing them takes milliseconds, which a first token from IMDS (plain HTTP) never needs.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The verifier of every client but Service Fabric's pinned ones.
#[derive(Debug)]
pub(crate) struct SystemRoots {
    extra: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
    loaded: OnceLock<Arc<dyn ServerCertVerifier>>,
}

impl SystemRoots {
    /// Trusts the system's roots and `extra`. An `extra` certificate that cannot be a trust
    /// anchor is refused here, with its number (1-based) in the file.
    pub(crate) fn new(
        extra: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
    ) -> Result<SystemRoots, (usize, rustls::Error)> {
        for (i, cert) in extra.iter().enumerate() {
            rustls::RootCertStore::empty()
                .add(cert.clone())
                .map_err(|e| (i + 1, e))?;
        }
        Ok(SystemRoots {
            extra,
            provider,
            loaded: OnceLock::new(),
        })
    }

    fn verifier(&self) -> &Arc<dyn ServerCertVerifier> {
        self.loaded.get_or_init(|| {
            match rustls_platform_verifier::Verifier::new_with_extra_roots(
                self.extra.iter().cloned(),
                Arc::clone(&self.provider),
            ) {
                Ok(system) => Arc::new(system),
                Err(e) => {
                    log::debug!(
                        "the system's trusted roots cannot be used ({e}); trusting Mozilla's"
                    );
                    let mut roots = rustls::RootCertStore {
                        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                    };
                    // Each was checked in `new`.
                    roots.add_parsable_certificates(self.extra.iter().cloned());
                    rustls::client::WebPkiServerVerifier::builder_with_provider(
                        Arc::new(roots),
                        Arc::clone(&self.provider),
                    )
                    .build()
                    .expect("Mozilla's roots are not empty")
                }
            }
        })
    }
}

impl ServerCertVerifier for SystemRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier().verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier().verify_tls13_signature(message, cert, dss)
    }

    /// Asked for every ClientHello, before any certificate: the provider's schemes (the ones
    /// both verifiers use), so that a connection does not load the roots before it needs them.
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
