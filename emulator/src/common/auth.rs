//! Bearer-token validation and ACL rules for the service endpoints.
//!
//! The services accept only tokens this emulator issued (HS256 under the per-process key), and
//! check them the way Azure's front ends do: lifetime, issuer and audience. The caller is the
//! token's `oid`, which ACL rules match.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hyper::header::AUTHORIZATION;
use hyper::HeaderMap;
use serde::Deserialize;

use crate::common::jwt;

/// Allows or denies one identity access below a path.
///
/// `path_prefix` is compared with the decoded request path: Gen1 `/webhdfs/v1/<path>`, Gen2
/// `/<filesystem>/<path>`. It matches whole segments (`/fs/a` covers `/fs/a` and `/fs/a/b`, not
/// `/fs/ab`), and the longest matching rule for the identity wins. Without a matching rule
/// every identity may read and write.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AclRule {
    /// The identity's object id (the token's `oid`), compared case-insensitively.
    pub object_id: String,
    pub path_prefix: String,
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub write: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// Whether `object_id` may access `path` according to `rules`.
pub(crate) fn permits(rules: &[AclRule], object_id: &str, path: &str, access: Access) -> bool {
    let best = rules
        .iter()
        .filter(|rule| rule.object_id.eq_ignore_ascii_case(object_id))
        .filter(|rule| prefix_matches(&rule.path_prefix, path))
        .max_by_key(|rule| rule.path_prefix.trim_end_matches('/').len());
    match best {
        None => true,
        Some(rule) => match access {
            Access::Read => rule.read,
            Access::Write => rule.write,
        },
    }
}

fn prefix_matches(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// The authenticated caller.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub object_id: String,
    /// The token's `appid` (the identity's client id); empty when absent.
    pub client_id: String,
    /// The token's `iss`.
    pub issuer: String,
    /// The token's serial (from its `uti`): which revocations it predates.
    pub serial: Option<u64>,
}

/// Why a request was not authenticated; each API turns it into its own 401 body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// A scheme other than `Bearer` (e.g. `SharedKey`).
    NotBearer,
    /// Not a JWT, or claims missing.
    Malformed,
    /// Not signed by this emulator (altered, or issued elsewhere).
    Signature,
    Expired,
    NotYetValid,
    Issuer,
    Audience,
    /// Minted before its identity's tokens were revoked at `at` (epoch seconds): answered
    /// with a claims challenge (`common::cae`).
    Revoked {
        at: u64,
    },
}

impl AuthFailure {
    /// The detail Entra-protected services report, in the wording of Microsoft's token
    /// validation library.
    pub(crate) fn detail(self) -> &'static str {
        match self {
            AuthFailure::Missing => "Bearer token is missing",
            AuthFailure::NotBearer => "Authentication scheme is not supported",
            AuthFailure::Malformed => "The access token is malformed",
            AuthFailure::Signature => "Signature validation failed",
            AuthFailure::Expired => "Lifetime validation failed. The token is expired.",
            AuthFailure::NotYetValid => "Lifetime validation failed. The token is not yet valid.",
            AuthFailure::Issuer => "Issuer validation failed. Issuer did not match.",
            AuthFailure::Audience => "Audience validation failed. Audience did not match.",
            AuthFailure::Revoked { .. } => {
                "The access token was revoked (continuous access evaluation); a new token with the claims of the challenge is required."
            }
        }
    }
}

/// Checks the `Authorization` header: a bearer token issued by this emulator for one of
/// `audiences`, by tenant `tenant`, valid at `now` (epoch seconds). No clock skew is allowed:
/// the emulator and its clients share a clock, and tests rely on an expired token failing.
pub(crate) fn authenticate(
    headers: &HeaderMap,
    tenant: &str,
    audiences: &[&str],
    now: u64,
) -> Result<Caller, AuthFailure> {
    let value = headers.get(AUTHORIZATION).ok_or(AuthFailure::Missing)?;
    let value = value.to_str().map_err(|_| AuthFailure::Malformed)?.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::NotBearer);
    }
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthFailure::Malformed);
    };
    if !jwt::verify_signature(token) {
        return Err(AuthFailure::Signature);
    }
    let claims: serde_json::Value = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(AuthFailure::Malformed)?;
    let number = |name: &str| claims.get(name).and_then(serde_json::Value::as_u64);
    let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);

    let (Some(exp), Some(nbf)) = (number("exp"), number("nbf")) else {
        return Err(AuthFailure::Malformed);
    };
    if exp <= now {
        return Err(AuthFailure::Expired);
    }
    if nbf > now {
        return Err(AuthFailure::NotYetValid);
    }
    if text("iss") != Some(format!("https://sts.windows.net/{tenant}/").as_str()) {
        return Err(AuthFailure::Issuer);
    }
    // Exact string comparison, as the services do: `https://datalake.azure.net` (no slash) is
    // not Gen1's audience.
    match text("aud") {
        Some(aud) if audiences.contains(&aud) => {}
        _ => return Err(AuthFailure::Audience),
    }
    let object_id = text("oid").ok_or(AuthFailure::Malformed)?.to_string();
    Ok(Caller {
        object_id,
        client_id: text("appid").unwrap_or_default().to_string(),
        issuer: text("iss").unwrap_or_default().to_string(),
        serial: text("uti").and_then(jwt::serial_of),
    })
}

/// The bearer token's claims, decoded without any check: for error messages that quote the
/// audience, issuer or expiry of a token that was refused.
pub(crate) fn unverified_claims(headers: &HeaderMap) -> Option<serde_json::Value> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (_, token) = value.split_once(' ')?;
    let payload = token.trim().split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::jwt::TokenRequest;
    use crate::common::managed_identity::IdentityConfig;

    fn rule(oid: &str, prefix: &str, read: bool, write: bool) -> AclRule {
        AclRule {
            object_id: oid.into(),
            path_prefix: prefix.into(),
            read,
            write,
        }
    }

    #[test]
    fn acl_longest_prefix_wins_on_segment_boundaries() {
        let rules = vec![
            rule("A", "/fs/secret", false, false),
            rule("a", "/fs/secret/open", true, false),
        ];
        assert!(permits(&rules, "a", "/fs/public", Access::Write));
        assert!(permits(&rules, "a", "/fs/secretive", Access::Write));
        assert!(!permits(&rules, "a", "/fs/secret", Access::Read));
        assert!(!permits(&rules, "a", "/fs/secret/x", Access::Read));
        assert!(permits(&rules, "a", "/fs/secret/open/x", Access::Read));
        assert!(!permits(&rules, "a", "/fs/secret/open/x", Access::Write));
        assert!(permits(&rules, "b", "/fs/secret", Access::Write));
        assert!(!permits(
            &[rule("a", "/", false, false)],
            "a",
            "/anything",
            Access::Read
        ));
    }

    fn token(resource: &str, tenant: &str, iat: u64, exp: u64) -> String {
        jwt::issue(&TokenRequest {
            identity: &IdentityConfig::default_system_assigned(),
            resource,
            tenant_id: tenant,
            issued_at: iat,
            expires_on: exp,
            capabilities: &[],
        })
    }

    fn check(header: &str, now: u64) -> Result<Caller, AuthFailure> {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, header.parse().unwrap());
        authenticate(&headers, "t", &["https://storage.azure.com/"], now)
    }

    #[test]
    fn tokens_are_checked() {
        let good = token("https://storage.azure.com/", "t", 100, 200);
        assert_eq!(
            check(&format!("Bearer {good}"), 150).unwrap().object_id,
            IdentityConfig::default_system_assigned().object_id
        );
        assert_eq!(check(&format!("bearer  {good}"), 150).map(|_| ()), Ok(()));
        assert_eq!(
            check(&format!("Bearer {good}"), 200).unwrap_err(),
            AuthFailure::Expired
        );
        assert_eq!(
            check(&format!("Bearer {good}"), 99).unwrap_err(),
            AuthFailure::NotYetValid
        );
        let wrong_aud = token("https://storage.azure.com/x", "t", 100, 200);
        assert_eq!(
            check(&format!("Bearer {wrong_aud}"), 150).unwrap_err(),
            AuthFailure::Audience
        );
        let wrong_tenant = token("https://storage.azure.com/", "u", 100, 200);
        assert_eq!(
            check(&format!("Bearer {wrong_tenant}"), 150).unwrap_err(),
            AuthFailure::Issuer
        );
        assert_eq!(
            check(&format!("Bearer {good}x"), 150).unwrap_err(),
            AuthFailure::Signature
        );
        assert_eq!(
            check("SharedKey acct:sig", 150).unwrap_err(),
            AuthFailure::NotBearer
        );
        assert_eq!(
            check("Bearer abc", 150).unwrap_err(),
            AuthFailure::Malformed
        );
        assert_eq!(
            authenticate(&HeaderMap::new(), "t", &[], 1).unwrap_err(),
            AuthFailure::Missing
        );
    }
}
