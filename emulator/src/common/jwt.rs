//! JWT-shaped access tokens carrying Entra ID v1 claims, signed with HMAC-SHA256.
//!
//! Clients must treat access tokens as opaque, but tools (and azmi's diagnostics) decode the
//! payload, so it carries the claims a real managed-identity token has.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::common::managed_identity::IdentityConfig;

/// Written literally so the header's key order is the conventional one.
const HEADER: &str = r#"{"typ":"JWT","alg":"HS256","kid":"azmi-emulator"}"#;

/// v1 access-token claims, in the order Entra ID writes them.
#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: String,
    iat: u64,
    nbf: u64,
    exp: u64,
    appid: &'a str,
    oid: &'a str,
    sub: &'a str,
    tid: &'a str,
    uti: String,
    ver: &'static str,
    /// Client capabilities the token was asked with (`cp1`): a CAE token, which resources may
    /// revoke with a claims challenge.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    xms_cc: &'a [String],
    xms_mirid: &'a str,
}

/// What a token is issued for.
pub(crate) struct TokenRequest<'a> {
    pub identity: &'a IdentityConfig,
    pub resource: &'a str,
    pub tenant_id: &'a str,
    /// Issue time, epoch seconds (also `nbf`).
    pub issued_at: u64,
    /// Expiry, epoch seconds.
    pub expires_on: u64,
    /// The client capabilities asked with (`xms_cc`); empty for none.
    pub capabilities: &'a [String],
}

/// A minted access token and its times (epoch seconds).
#[derive(Clone, Debug)]
pub(crate) struct Minted {
    pub access_token: String,
    pub issued_at: u64,
    pub expires_on: u64,
    pub lifetime: u64,
}

/// Signing key, one per process. The tokens are fakes, so a non-cryptographic RNG is enough; the
/// signature only lets tests notice a token that was altered or not issued by this process.
fn signing_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = [0u8; 32];
        key.iter_mut().for_each(|b| *b = fastrand::u8(..));
        key
    })
}

/// Builds `header.payload.signature`, each part base64url without padding.
pub(crate) fn issue(req: &TokenRequest<'_>) -> String {
    let claims = Claims {
        aud: req.resource,
        iss: format!("https://sts.windows.net/{}/", req.tenant_id),
        iat: req.issued_at,
        nbf: req.issued_at,
        exp: req.expires_on,
        appid: &req.identity.client_id,
        oid: &req.identity.object_id,
        // Managed-identity tokens carry the service principal's object id as subject.
        sub: &req.identity.object_id,
        tid: req.tenant_id,
        uti: unique_token_id(),
        ver: "1.0",
        xms_cc: req.capabilities,
        xms_mirid: &req.identity.resource_id,
    };
    // Serialising a struct of strings and integers cannot fail.
    let payload = serde_json::to_vec(&claims).unwrap_or_default();
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Signs arbitrary claims with this process's key (the federated tokens the emulator writes for
/// workload identity: an OIDC issuer's token, not an access token).
pub(crate) fn sign_claims(claims: &serde_json::Value) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The payload of a JWT, unverified; `None` when it is not `header.payload.signature` with a
/// base64url JSON object in the middle.
pub(crate) fn unverified_payload(token: &str) -> Option<serde_json::Value> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .filter(serde_json::Value::is_object)
}

/// Checks a token's signature against this process's key (for tests and diagnostics).
pub fn verify_signature(token: &str) -> bool {
    let Some((signing_input, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let mut mac = new_mac();
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&signature).is_ok()
}

fn sign(data: &[u8]) -> Vec<u8> {
    let mut mac = new_mac();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn new_mac() -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this never fails.
    <Hmac<Sha256> as Mac>::new_from_slice(signing_key()).expect("HMAC takes any key length")
}

/// Tokens minted so far by this process: the serial of the next one.
static SERIAL: AtomicU64 = AtomicU64::new(1);

/// The serial the next token gets: every token minted before this call has a smaller one. A
/// revocation records it, so that "issued before now" needs no clock (tokens minted within the
/// same second as the revocation are told apart).
pub(crate) fn next_serial() -> u64 {
    SERIAL.load(Ordering::SeqCst)
}

/// `uti` is 16 bytes in base64url (22 characters), like Entra ID's: here the token's serial
/// (8 bytes, big-endian) and 8 random bytes.
fn unique_token_id() -> String {
    let serial = SERIAL.fetch_add(1, Ordering::SeqCst);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&serial.to_be_bytes());
    bytes[8..].iter_mut().for_each(|b| *b = fastrand::u8(..));
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The serial in a `uti` this process wrote; `None` for any other.
pub(crate) fn serial_of(uti: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(uti).ok()?;
    let serial: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    (bytes.len() == 16).then(|| u64::from_be_bytes(serial))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_has_three_parts_and_verifies() {
        let identity = IdentityConfig::default_system_assigned();
        let token = issue(&TokenRequest {
            identity: &identity,
            resource: "https://vault.azure.net",
            tenant_id: "t",
            issued_at: 100,
            expires_on: 200,
            capabilities: &[],
        });
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = URL_SAFE_NO_PAD.decode(parts[0]).unwrap();
        assert_eq!(header, HEADER.as_bytes());
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://vault.azure.net");
        assert_eq!(claims["exp"], 200);
        assert_eq!(claims["iss"], "https://sts.windows.net/t/");
        assert!(verify_signature(&token));
        assert!(claims.get("xms_cc").is_none(), "no capabilities, no xms_cc");
        let tampered = format!("{}x", token);
        assert!(!verify_signature(&tampered));
    }

    #[test]
    fn capabilities_become_xms_cc_and_serials_grow() {
        let identity = IdentityConfig::default_system_assigned();
        let before = next_serial();
        let token = issue(&TokenRequest {
            identity: &identity,
            resource: "r",
            tenant_id: "t",
            issued_at: 100,
            expires_on: 200,
            capabilities: &["cp1".to_string()],
        });
        let claims = unverified_payload(&token).unwrap();
        assert_eq!(claims["xms_cc"], serde_json::json!(["cp1"]));
        let uti = claims["uti"].as_str().unwrap();
        assert_eq!(uti.len(), 22);
        let serial = serial_of(uti).unwrap();
        assert!(serial >= before && serial < next_serial());
        assert_eq!(serial_of("short"), None);
    }
}
