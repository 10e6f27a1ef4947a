//! What every managed-identity token source shares, whatever its protocol: counting and
//! recording the request, the scripted faults, choosing the identity, and minting the token
//! (the same identities, resources, claims, faults and counters as IMDS, so a test counts token
//! requests the same way whichever source the client detected).

use std::time::Duration;

use hyper::http::request::Parts;
use hyper::{Response, StatusCode};

use crate::common::faults::Fault;
use crate::common::jwt::{self, Minted, TokenRequest};
use crate::common::managed_identity::IdentityConfig;
use crate::common::response::{self, with_retry_after, Body, DropConnection};
use crate::common::state::{RecordedRequest, Shared};
use crate::common::util::now_secs;

/// Headers that carry a source's shared secret: recorded as `<redacted>`, never verbatim.
const SECRET_HEADERS: [&str; 3] = ["x-identity-header", "secret", "authorization"];

/// Counts and records a token request, then applies the queued fault, if any: `Ok(())` lets the
/// request through to the source's own checks.
pub(crate) async fn begin(shared: &Shared, parts: &Parts) -> Result<(), Outcome> {
    match shared.begin_token_request(record(parts)) {
        None => Ok(()),
        Some(Fault::ClaimsChallenge { .. }) => Err(Outcome::Respond(response::error(
            StatusCode::UNAUTHORIZED,
            "fault",
            "Unauthorized",
        ))),
        Some(Fault::Status {
            status,
            retry_after,
            ..
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reason = status.canonical_reason().unwrap_or("Error");
            Err(Outcome::Respond(with_retry_after(
                response::error(status, "fault", reason),
                retry_after,
            )))
        }
        Some(Fault::Drop { .. } | Fault::DropAfterBytes { .. }) => Err(Outcome::Drop),
        Some(Fault::Malformed { .. }) => Err(Outcome::Respond(response::json_text(
            StatusCode::OK,
            r#"{"access_token":"eyJ0eXAiOiJKV1Qi"#.to_string(),
        ))),
        Some(Fault::Delay { ms, .. }) => {
            // Stopping the emulator must not wait out a long scripted delay.
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(ms)) => Ok(()),
                _ = shared.stop_requested() => Err(Outcome::Drop),
            }
        }
    }
}

/// What the connection does with a token request.
pub(crate) enum Outcome {
    Respond(Response<Body>),
    /// Close the connection without writing anything (the `drop` fault).
    Drop,
}

impl Outcome {
    pub(crate) fn into_result(self) -> Result<Response<Body>, DropConnection> {
        match self {
            Outcome::Respond(response) => Ok(response),
            Outcome::Drop => Err(DropConnection),
        }
    }
}

/// The request as the log keeps it, the source's shared secret redacted.
pub(crate) fn record(parts: &Parts) -> RecordedRequest {
    record_redacting(parts, |name| SECRET_HEADERS.contains(&name))
}

/// The request with every header as sent (IMDS takes no secret to hide).
pub(crate) fn record_as_sent(parts: &Parts) -> RecordedRequest {
    record_redacting(parts, |_| false)
}

fn record_redacting(parts: &Parts, secret: impl Fn(&str) -> bool) -> RecordedRequest {
    RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = if secret(name.as_str()) {
                    "<redacted>".to_string()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                (name.as_str().to_string(), value)
            })
            .collect(),
    }
}

/// The query's pairs, decoded, in order.
pub(crate) fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of `name` in decoded pairs.
pub(crate) fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Which id a user-assigned identity is selected by.
#[derive(Clone, Copy)]
pub(crate) enum Selector<'a> {
    Client(&'a str),
    Object(&'a str),
    Resource(&'a str),
}

/// No selector: the system-assigned identity, or else the only user-assigned one. With a
/// selector: the identity whose id matches (GUIDs and ARM ids compare case-insensitively).
pub(crate) fn select_identity<'a>(
    shared: &'a Shared,
    selector: Option<Selector<'_>>,
) -> Option<&'a IdentityConfig> {
    match selector {
        None => match (&shared.system_assigned, shared.user_assigned.as_slice()) {
            (Some(system), _) => Some(system),
            (None, [only]) => Some(only),
            (None, _) => None,
        },
        Some(selector) => shared
            .system_assigned
            .iter()
            .chain(&shared.user_assigned)
            .find(|identity| {
                let (id, value) = match selector {
                    Selector::Client(v) => (&identity.client_id, v),
                    Selector::Object(v) => (&identity.object_id, v),
                    Selector::Resource(v) => (&identity.resource_id, v),
                };
                id.eq_ignore_ascii_case(value)
            }),
    }
}

/// Whether tokens may be issued for `resource` (exact match, as Entra ID matches it).
pub(crate) fn knows_resource(shared: &Shared, resource: &str) -> bool {
    shared.resources.iter().any(|known| known == resource)
}

/// Mints a token for `identity` and `resource` with the current lifetime setting, and counts it.
/// `capabilities` (`xms_cc`) go into the token as its `xms_cc` claim.
pub(crate) fn mint(
    shared: &Shared,
    identity: &IdentityConfig,
    resource: &str,
    capabilities: &[String],
) -> Minted {
    let issued_at = now_secs();
    let lifetime = shared.settings().token_lifetime_secs;
    let expires_on = issued_at.saturating_add(lifetime);
    let access_token = jwt::issue(&TokenRequest {
        identity,
        resource,
        tenant_id: &shared.tenant_id,
        issued_at,
        expires_on,
        capabilities,
    });
    shared.token_issued();
    Minted {
        access_token,
        issued_at,
        expires_on,
        lifetime,
    }
}

/// What App Service and Service Fabric take for continuous access evaluation (MSAL's "MSI v1
/// token revocation"): `xms_cc` (the client capabilities, comma-separated) and
/// `token_sha256_to_refresh` (the lowercase hex SHA-256 of a token the client was refused).
pub(crate) struct Revocable<'q> {
    pub capabilities: Vec<String>,
    pub refresh_sha256: Option<&'q str>,
}

impl<'q> Revocable<'q> {
    pub(crate) fn from_query(query: &'q [(String, String)]) -> Revocable<'q> {
        Revocable {
            capabilities: first(query, "xms_cc")
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            refresh_sha256: first(query, "token_sha256_to_refresh").filter(|h| !h.is_empty()),
        }
    }
}

/// A cached token is served until this long before it expires, then a new one is minted.
const CACHE_MARGIN_SECS: u64 = 300;

/// What App Service's and Service Fabric's token services do: serve the token they issued last
/// for this identity, resource and capabilities while it has more than 5 minutes left, and mint
/// a new one otherwise — or when `token_sha256_to_refresh` names the cached one (a resource
/// refused it with a claims challenge). A hash of another token changes nothing: the cached one
/// is already newer.
pub(crate) fn cached_or_minted(
    shared: &Shared,
    identity: &IdentityConfig,
    resource: &str,
    request: &Revocable<'_>,
) -> Minted {
    let lifetime = shared.settings().token_lifetime_secs;
    let key = format!(
        "{}\n{resource}\n{}\n{lifetime}",
        identity.object_id.to_ascii_lowercase(),
        request.capabilities.join(",")
    );
    let now = now_secs();
    let cached = shared.mutable().endpoint_tokens.get(&key).cloned();
    if let Some(token) = cached {
        let refused = request
            .refresh_sha256
            .is_some_and(|hash| hash.eq_ignore_ascii_case(&sha256_hex(&token.access_token)));
        if !refused && token.expires_on > now + CACHE_MARGIN_SECS {
            shared.token_issued();
            return token;
        }
    }
    let minted = mint(shared, identity, resource, &request.capabilities);
    shared.mutable().endpoint_tokens.insert(key, minted.clone());
    minted
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
