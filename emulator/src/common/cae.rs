//! Continuous access evaluation as the services answer it (`../shared/azure-protocols.md` §12):
//! a token minted before its identity's revocation (`POST /admin/revoke`), or any token while a
//! `claims_challenge` fault is scripted, gets 401 with a claims challenge in
//! `WWW-Authenticate`. The claims ask for a token issued at or after the revocation; the
//! client gets one with them and retries.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hyper::HeaderMap;

use crate::common::auth::{self, AuthFailure, Caller};
use crate::common::state::Shared;
use crate::common::util::now_secs;

/// [`auth::authenticate`] at the current time, then continuous access evaluation: a token
/// minted before its identity's revocation is [`AuthFailure::Revoked`], which every service
/// answers with a claims challenge (counted here, as a challenge served).
pub(crate) fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    tenant: &str,
    audiences: &[&str],
) -> Result<Caller, AuthFailure> {
    let caller = auth::authenticate(headers, tenant, audiences, now_secs())?;
    if let Some(revocation) = shared.revocation_of(&caller.object_id, caller.serial) {
        shared.claims_challenge_served();
        return Err(AuthFailure::Revoked { at: revocation.at });
    }
    Ok(caller)
}

/// Where the challenges send clients (Entra ID's documented form).
const AUTHORIZATION_URI: &str = "https://login.microsoftonline.com/common/oauth2/authorize";

/// The claims of a revocation at `at` (epoch seconds): a token not before then.
pub(crate) fn revocation_claims(at: u64) -> String {
    format!(r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{at}"}}}}}}"#)
}

/// Key Vault's and Storage's challenge: Entra ID's documented `insufficient_claims` form, the
/// claims in standard base64 with padding (what the .NET Key Vault client decodes).
pub(crate) fn insufficient_claims(at: u64) -> String {
    format!(
        r#"Bearer realm="", authorization_uri="{AUTHORIZATION_URI}", error="insufficient_claims", claims="{}""#,
        STANDARD.encode(revocation_claims(at))
    )
}

/// Resource Manager's challenge for a revoked session: `invalid_token` with the claims.
pub(crate) fn revoked_session(at: u64) -> String {
    format!(
        r#"Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="User session has been revoked", claims="{}""#,
        STANDARD.encode(revocation_claims(at))
    )
}

/// The message the services give with the challenge.
pub(crate) fn revoked_message(at: u64) -> String {
    format!(
        "Continuous access evaluation: the access token was revoked; present a token issued at or after {at} (the claims of the WWW-Authenticate challenge)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_carry_base64_claims_asking_for_a_later_token() {
        let header = insufficient_claims(1_767_225_600);
        assert!(header.starts_with("Bearer realm=\"\""), "{header}");
        assert!(header.contains("error=\"insufficient_claims\""));
        let b64 = header
            .split("claims=\"")
            .nth(1)
            .unwrap()
            .trim_end_matches('"');
        let json: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(b64).unwrap()).unwrap();
        assert_eq!(json["access_token"]["nbf"]["value"], "1767225600");
        assert_eq!(json["access_token"]["nbf"]["essential"], true);
        assert!(revoked_session(1).contains("error=\"invalid_token\""));
    }
}
