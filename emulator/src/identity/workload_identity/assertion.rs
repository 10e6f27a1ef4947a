//! The client assertion checks of a federated credential: the token must come from the
//! credential's issuer, be about its subject, be for Entra ID's token exchange, and be within
//! its valid time range (Entra ID allows five minutes of clock skew).

use serde_json::Value;

use super::errors::EntraError;
use crate::common::jwt::unverified_payload;
use crate::common::managed_identity::{FederationConfig, FEDERATION_AUDIENCE};
use crate::common::util::now_secs;

const CLOCK_SKEW_SECS: u64 = 300;

pub(super) fn check(
    assertion: &str,
    federation: &FederationConfig,
    client_id: &str,
) -> Result<(), EntraError> {
    let claims = unverified_payload(assertion).ok_or(EntraError::MalformedAssertion)?;
    let text = |name: &str| claims[name].as_str().unwrap_or("").to_string();
    let (iss, sub) = (text("iss"), text("sub"));
    // `aud` may be a string or an array of strings.
    let audiences: Vec<String> = match &claims["aud"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(list) => list
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };

    let now = now_secs();
    let exp = claims["exp"]
        .as_u64()
        .ok_or(EntraError::MalformedAssertion)?;
    let nbf = claims["nbf"].as_u64().unwrap_or(0);
    if now >= exp.saturating_add(CLOCK_SKEW_SECS) || nbf > now + CLOCK_SKEW_SECS {
        return Err(EntraError::OutsideValidTime { now, nbf, exp });
    }
    if iss != federation.issuer {
        return Err(EntraError::UnknownIssuer(iss));
    }
    if !audiences.iter().any(|a| a == FEDERATION_AUDIENCE) {
        return Err(EntraError::UnknownAudience(audiences.join(",")));
    }
    if sub != federation.subject || !client_id.eq_ignore_ascii_case(&federation.client_id) {
        return Err(EntraError::NoMatchingRecord {
            iss,
            sub,
            aud: audiences.join(","),
        });
    }
    Ok(())
}
