//! `GET /metadata/identity/oauth2/token`: the checks of `docs/emulator.md`, in the documented
//! order (which is the real service's order, so clients see the same error for the same mistake).

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Value};

use super::request::{api_version_refusal, has_metadata_header};
use crate::common::config::ResponseStyle;
use crate::common::faults::Fault;
use crate::common::jwt::{self, TokenRequest};
use crate::common::managed_identity::IdentityConfig;
use crate::common::response::{self, with_retry_after, Body};
use crate::common::state::{Settings, Shared};
use crate::common::util::{ordered_object, random_guid};
use crate::identity::issue::{self, Selector};

pub(crate) const TOKEN_PATH: &str = "/metadata/identity/oauth2/token";

/// Query names that select a user-assigned identity; at most one may be given.
const IDENTITY_SELECTORS: [&str; 4] = ["client_id", "object_id", "msi_res_id", "mi_res_id"];

/// What the connection should do with a token request.
pub(crate) enum Outcome {
    Respond(Response<Body>),
    /// Close the connection without writing anything (the `drop` fault).
    Drop,
}

pub(crate) async fn handle(shared: &Shared, parts: &Parts) -> Outcome {
    // Rule 0: IMDS refuses a request without `Metadata: true` before doing anything else, at
    // once and without minting a token, so clients send one to learn whether IMDS is there
    // (azmi's first call, the Azure SDKs' probe). Such a request is counted apart and takes no
    // fault: a scripted slow or failed token request stays for the token request itself.
    if !has_metadata_header(parts) && !parts.headers.contains_key("x-forwarded-for") {
        shared.count_probe();
        return Outcome::Respond(response::error(
            StatusCode::BAD_REQUEST,
            "bad_request_102",
            "Required metadata header not specified",
        ));
    }
    // Rule 1: count and record every request, then apply the queued fault, if any.
    match shared.begin_token_request(issue::record_as_sent(parts)) {
        None => {}
        Some(Fault::Status {
            status,
            retry_after,
            ..
        }) => return Outcome::Respond(status_fault(status, retry_after)),
        // IMDS requests have no body, so a drop "after N body bytes" is a plain drop.
        Some(Fault::Drop { .. } | Fault::DropAfterBytes { .. }) => return Outcome::Drop,
        Some(Fault::Malformed { .. }) => return Outcome::Respond(malformed()),
        // A token endpoint has no claims challenge: a plain 401.
        Some(Fault::ClaimsChallenge { .. }) => return Outcome::Respond(status_fault(401, None)),
        Some(Fault::Delay { ms, .. }) => {
            // Stopping the emulator must not wait out a long scripted delay.
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
                _ = shared.stop_requested() => return Outcome::Drop,
            }
        }
    }
    Outcome::Respond(answer(shared, parts))
}

/// Rules 2 to 10, after faults.
fn answer(shared: &Shared, parts: &Parts) -> Response<Body> {
    if parts.method != Method::GET {
        return response::method_not_allowed("GET");
    }

    // Rule 2: IMDS refuses anything that went through a proxy.
    if parts.headers.contains_key("x-forwarded-for") {
        return invalid_request("X-Forwarded-For header is not allowed");
    }

    // Rule 3: the Metadata header guards against SSRF; only `true` counts.
    if !has_metadata_header(parts) {
        return response::error(
            StatusCode::BAD_REQUEST,
            "bad_request_102",
            "Required metadata header not specified",
        );
    }

    let raw_query = parts.uri.query().unwrap_or("");
    let query: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let first = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    // Rule 4.
    if let Some(refusal) = api_version_refusal(first("api-version")) {
        return refusal;
    }

    // Rule 5: repeated names are ambiguous, and IMDS refuses to guess.
    let mut seen = HashSet::new();
    if let Some((name, _)) = query.iter().find(|(k, _)| !seen.insert(k.as_str())) {
        return invalid_request(&format!(
            "Query parameter '{name}' was specified more than once"
        ));
    }

    // Rule 6.
    let selectors: Vec<(&str, &str)> = IDENTITY_SELECTORS
        .iter()
        .filter_map(|name| first(name).map(|v| (*name, v)))
        .collect();
    if selectors.len() > 1 {
        return invalid_request(
            "Only one of client_id, object_id or msi_res_id (mi_res_id) may be specified",
        );
    }

    // Rule 7.
    let resource = match first("resource") {
        Some(r) if !r.is_empty() => r,
        _ => return invalid_request("Required query variable 'resource' is missing"),
    };

    // Rule 8.
    let Some(identity) = select_identity(shared, selectors.first().copied()) else {
        return invalid_request("Identity not found");
    };

    // Rule 9: Entra ID matches the resource string exactly (trailing slash included).
    if !shared.resources.iter().any(|known| known == resource) {
        return response::error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            &aadsts50001(resource, &shared.tenant_id),
        );
    }

    // Rule 10.
    let response = token_response(shared, &shared.settings(), identity, resource);
    shared.token_issued();
    response
}

/// The identity a selector names (`issue::select_identity`'s rules).
fn select_identity<'a>(
    shared: &'a Shared,
    selector: Option<(&str, &str)>,
) -> Option<&'a IdentityConfig> {
    let selector = selector.map(|(name, value)| match name {
        "client_id" => Selector::Client(value),
        "object_id" => Selector::Object(value),
        _ => Selector::Resource(value),
    });
    issue::select_identity(shared, selector)
}

fn token_response(
    shared: &Shared,
    settings: &Settings,
    identity: &IdentityConfig,
    resource: &str,
) -> Response<Body> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let lifetime = settings.token_lifetime_secs;
    let expires_on = now.saturating_add(lifetime);
    let access_token = jwt::issue(&TokenRequest {
        identity,
        resource,
        tenant_id: &shared.tenant_id,
        issued_at: now,
        expires_on,
        // IMDS takes no client capabilities.
        capabilities: &[],
    });

    let style = settings.response_style;
    // Real IMDS writes every value as a string; the `numbers` style writes integers.
    let int = |n: u64| match style {
        ResponseStyle::Numbers => json!(n),
        _ => json!(n.to_string()),
    };
    let mut fields: Vec<(&str, Value)> = vec![
        ("access_token", json!(access_token)),
        ("client_id", json!(identity.client_id)),
        ("expires_in", int(lifetime)),
    ];
    match style {
        ResponseStyle::ExpiresInOnly => {}
        ResponseStyle::Date => fields.push(("expires_on", json!(date_style(expires_on)))),
        ResponseStyle::Imds | ResponseStyle::Numbers => {
            fields.push(("expires_on", int(expires_on)))
        }
    }
    fields.extend([
        ("ext_expires_in", int(lifetime)),
        ("not_before", int(now)),
        ("resource", json!(resource)),
        ("token_type", json!("Bearer")),
        ("refresh_token", json!("")),
    ]);
    if let Some(refresh_in) = settings.refresh_in_secs {
        fields.push(("refresh_in", int(refresh_in)));
    }
    response::json_text(StatusCode::OK, ordered_object(&fields))
}

/// App Service 2017's `expires_on`: `M/d/yyyy h:mm:ss AM +00:00`, in UTC.
pub(crate) fn date_style(epoch: u64) -> String {
    i64::try_from(epoch)
        .ok()
        .and_then(|secs| DateTime::<Utc>::from_timestamp(secs, 0))
        .map(|t| t.format("%-m/%-d/%Y %-I:%M:%S %p +00:00").to_string())
        .unwrap_or_else(|| "12/31/9999 11:59:59 PM +00:00".to_string())
}

fn invalid_request(description: &str) -> Response<Body> {
    response::error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// Entra ID's answer for an unknown resource, as IMDS relays it.
fn aadsts50001(resource: &str, tenant: &str) -> String {
    let timestamp = Utc::now().format("%Y-%m-%d %H:%M:%SZ");
    format!(
        "AADSTS50001: The application named {resource} was not found in the tenant named {tenant}. \
         This can happen if the application has not been installed by the administrator of the \
         tenant or consented to by any user in the tenant. You might have sent your authentication \
         request to the wrong tenant.\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {timestamp}",
        random_guid(),
        random_guid(),
    )
}

/// A status fault: the status IMDS would send, with the error body it would carry.
fn status_fault(status: u16, retry_after: Option<u64>) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (code, description) = match status.as_u16() {
        400 => ("invalid_request", "Bad request"),
        404 => (
            "not_found",
            "IMDS is being updated; the endpoint is temporarily unavailable",
        ),
        408 => ("request_timeout", "The request timed out"),
        410 => (
            "gone",
            "IMDS is being upgraded; retry within 70 seconds",
        ),
        429 => (
            "too_many_requests",
            "Too many requests; the identity category allows 20 requests per second and 5 concurrent requests",
        ),
        500 => (
            "unknown",
            "Failed to retrieve token from the Active directory. For details see logs in the VM's identity extension",
        ),
        502 => ("bad_gateway", "Bad gateway"),
        503 => ("service_unavailable", "The service is temporarily unavailable"),
        504 => ("gateway_timeout", "Timed out waiting for Entra ID"),
        _ => ("unknown", status.canonical_reason().unwrap_or("Error")),
    };
    with_retry_after(response::error(status, code, description), retry_after)
}

/// A 200 that is not a token: JSON cut off mid-value, labelled as JSON like a real answer.
fn malformed() -> Response<Body> {
    response::json_text(
        StatusCode::OK,
        r#"{"access_token":"eyJ0eXAiOiJKV1Qi"#.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_style_matches_app_service() {
        // 2020-01-10T08:01:28Z
        assert_eq!(date_style(1_578_643_288), "1/10/2020 8:01:28 AM +00:00");
        // 2021-12-31T23:05:09Z
        assert_eq!(date_style(1_640_991_909), "12/31/2021 11:05:09 PM +00:00");
        // Midnight is 12 AM.
        assert_eq!(date_style(0), "1/1/1970 12:00:00 AM +00:00");
    }
}
