//! JWT-shaped access tokens carrying Entra ID v1 claims, signed with HMAC-SHA256.
//!
//! Clients must treat access tokens as opaque, but tools (and azmi's diagnostics) decode the
//! payload, so it carries the claims a real managed-identity token has.

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

/// `uti` is 16 random bytes in base64url (22 characters), like Entra ID's.
fn unique_token_id() -> String {
    let mut bytes = [0u8; 16];
    bytes.iter_mut().for_each(|b| *b = fastrand::u8(..));
    URL_SAFE_NO_PAD.encode(bytes)
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
        let tampered = format!("{}x", token);
        assert!(!verify_signature(&tampered));
    }
}
