//! Service Fabric: `GET IDENTITY_ENDPOINT` (HTTPS) with api-version 2019-07-01-preview and the
//! `Secret` header. The endpoint's certificate is usually self-issued by the cluster, so it is
//! accepted only if its SHA-1 thumbprint is the one `IDENTITY_SERVER_THUMBPRINT` names: pinning,
//! not CA trust. A certificate with another thumbprint ends the TLS handshake, so the request
//! (and its secret) is never sent to that server.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use secrecy::SecretString;

use super::exchange::{self, Attempt, Ctx, SendError};
use super::secret_header;
use crate::error::{Error, Result};

pub(crate) const API_VERSION: &str = "2019-07-01-preview";

/// A certificate's SHA-1 thumbprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Thumbprint([u8; 20]);

impl Thumbprint {
    /// 40 hex digits, any case (spaces and colons, as certificate tools show them, ignored).
    pub(crate) fn parse(text: &str) -> Result<Thumbprint> {
        let digits: Vec<u8> = text.bytes().filter(|b| !matches!(b, b' ' | b':')).collect();
        let nibble = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        let mut out = [0u8; 20];
        let ok = digits.len() == 40
            && digits.chunks(2).zip(out.iter_mut()).all(|(pair, byte)| {
                match (nibble(pair[0]), nibble(pair[1])) {
                    (Some(h), Some(l)) => {
                        *byte = h << 4 | l;
                        true
                    }
                    _ => false,
                }
            });
        if ok {
            Ok(Thumbprint(out))
        } else {
            Err(Error::InvalidArgument(format!(
                "IDENTITY_SERVER_THUMBPRINT '{}' is not a certificate thumbprint (40 hex digits, the SHA-1 of the certificate)",
                crate::identity::printable(text)
            )))
        }
    }

    /// The thumbprint of a DER certificate.
    pub(crate) fn of(der: &[u8]) -> Thumbprint {
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
        let mut out = [0u8; 20];
        out.copy_from_slice(digest.as_ref());
        Thumbprint(out)
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The error the verifier gives for a certificate with another thumbprint; found again in the
/// transport error's causes to say what happened.
#[derive(Debug)]
struct ThumbprintMismatch {
    presented: Thumbprint,
}

impl fmt::Display for ThumbprintMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server certificate's thumbprint {} is not the pinned one",
            self.presented
        )
    }
}

impl std::error::Error for ThumbprintMismatch {}

/// Accepts exactly the certificate with the pinned thumbprint (whatever its issuer, names or
/// dates: the cluster issues it to itself), and checks the handshake signatures with the
/// provider's algorithms as any TLS client does.
#[derive(Debug)]
struct PinnedVerifier {
    pinned: Thumbprint,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let presented = Thumbprint::of(end_entity.as_ref());
        if presented == self.pinned {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(ThumbprintMismatch { presented })),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// One HTTP client per pinned thumbprint, made when first needed (a client's TLS settings
/// cannot change, and connections to a pinned server must never be shared with others).
#[derive(Default)]
pub(crate) struct PinnedClients {
    clients: parking_lot::Mutex<HashMap<Thumbprint, reqwest::Client>>,
}

impl PinnedClients {
    pub(crate) fn client(&self, pinned: &Thumbprint) -> Result<reqwest::Client> {
        let mut clients = self.clients.lock();
        if let Some(c) = clients.get(pinned) {
            return Ok(c.clone());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = PinnedVerifier {
            pinned: *pinned,
            algorithms: provider.signature_verification_algorithms,
        };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Internal(format!("TLS set-up failed: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        let client = crate::http::build_client_with_tls(tls)?;
        clients.insert(*pinned, client.clone());
        Ok(client)
    }
}

pub(super) async fn attempt(
    ctx: &Ctx<'_>,
    http: &reqwest::Client,
    endpoint: &url::Url,
    secret: &SecretString,
    pinned: &Thumbprint,
    revocation: &[(&str, std::borrow::Cow<'_, str>)],
) -> Attempt {
    let mut url = endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("api-version", API_VERSION)
            .append_pair("resource", ctx.resource);
        for (name, value) in revocation {
            q.append_pair(name, value);
        }
    }
    let request = http
        .get(url)
        .header("Secret", secret_header(secret))
        .timeout(ctx.timeout);
    let sent_at = chrono::Utc::now().timestamp();
    match exchange::send(request).await {
        Ok(answer) => exchange::finish(ctx, &answer, sent_at),
        Err(SendError::TooLong) => Attempt::Fatal(exchange::too_long(ctx)),
        Err(SendError::Transport(e)) => match mismatch_in(&e) {
            Some(presented) => Attempt::Fatal(Error::Insecure(format!(
                "the Service Fabric endpoint {} presented a certificate with thumbprint {presented}, not {pinned} as IDENTITY_SERVER_THUMBPRINT says; the connection was closed before anything was sent",
                ctx.endpoint
            ))),
            None => exchange::transport_failure(ctx, &e),
        },
    }
}

/// The thumbprint the verifier refused, found among the causes of a transport error (an
/// `io::Error` hides its inner error from `source()`, so it is opened too).
fn mismatch_in(e: &reqwest::Error) -> Option<Thumbprint> {
    fn look(e: &(dyn std::error::Error + 'static)) -> Option<Thumbprint> {
        if let Some(m) = e.downcast_ref::<ThumbprintMismatch>() {
            return Some(m.presented);
        }
        if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(other))) =
            e.downcast_ref::<rustls::Error>()
        {
            if let Some(m) = other.0.downcast_ref::<ThumbprintMismatch>() {
                return Some(m.presented);
            }
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(found) = look(inner) {
                return Some(found);
            }
        }
        e.source().and_then(look)
    }
    look(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_parse_in_any_case_and_print_upper() {
        let t = Thumbprint::parse("0123456789abcdefABCDEF0123456789abcdef01").unwrap();
        assert_eq!(t.to_string(), "0123456789ABCDEFABCDEF0123456789ABCDEF01");
        assert_eq!(
            Thumbprint::parse("01:23:45:67:89:AB:CD:EF:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01")
                .unwrap(),
            t
        );
        for bad in [
            "",
            "xyz",
            "0123456789abcdefABCDEF0123456789abcdef0",
            "g123456789abcdefABCDEF0123456789abcdef01",
        ] {
            let e = Thumbprint::parse(bad).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn thumbprint_is_the_sha1_of_the_der() {
        // SHA-1("abc"), the FIPS 180 test vector.
        assert_eq!(
            Thumbprint::of(b"abc").to_string(),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
    }
}
