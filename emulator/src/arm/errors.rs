//! The error catalogue: ARM's error body, its 401 codes and messages, and the answers to scripted
//! faults.

use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use super::response::base_response;
use crate::common::auth::{self, AuthFailure};
use crate::common::body::SvcBody;
use crate::common::cae;
use crate::common::util::{now_secs, ordered_object};

/// `{"error":{"code","message"}}`.
pub(super) struct ArmError {
    pub(super) status: StatusCode,
    pub(super) code: &'static str,
    pub(super) message: String,
    /// For a revoked token: when, for the claims challenge of the 401.
    pub(super) revoked_at: Option<u64>,
}

pub(super) fn arm_error(
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
) -> ArmError {
    ArmError {
        status,
        code,
        message: message.into(),
        revoked_at: None,
    }
}

/// The `WWW-Authenticate` of a 401: ARM's `invalid_token` challenge, with the claims of a
/// revocation when the token was revoked.
pub(super) fn challenge(e: &ArmError) -> String {
    if let Some(at) = e.revoked_at {
        return cae::revoked_session(at);
    }
    let description = if e.code == "AuthenticationFailed" && e.message.contains("missing") {
        "The authentication failed because of missing 'Authorization' header."
    } else {
        "The access token is invalid or has expired."
    };
    format!(
        "Bearer authorization_uri=\"https://login.windows.net/\", error=\"invalid_token\", error_description=\"{description}\""
    )
}

/// A claims challenge: 401 `InvalidAuthenticationToken` with the revocation's claims.
pub(super) fn revoked(at: u64) -> ArmError {
    ArmError {
        revoked_at: Some(at),
        ..arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            cae::revoked_message(at),
        )
    }
}

/// The response of an error, with its challenge when it is a 401.
pub(super) fn full_response(e: &ArmError, parts: &Parts) -> Response<SvcBody> {
    let mut response = error_response(e, parts);
    if e.status == StatusCode::UNAUTHORIZED {
        if let Ok(v) = HeaderValue::from_str(&challenge(e)) {
            response.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
    }
    response
}

pub(super) fn error_response(e: &ArmError, parts: &Parts) -> Response<SvcBody> {
    let error = ordered_object(&[("code", json!(e.code)), ("message", json!(e.message))]);
    base_response(e.status, format!("{{\"error\":{error}}}"), parts)
}

/// `M/d/yyyy h:mm:ss AM` (the .NET invariant format ARM writes into messages).
pub(super) fn dotnet_time(secs: u64) -> String {
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp(i64::try_from(secs).unwrap_or(0), 0)
        .unwrap_or_default();
    t.format("%-m/%-d/%Y %-I:%M:%S %p").to_string()
}

/// The 401 for each reason, with ARM's codes and messages.
pub(super) fn auth_error(failure: AuthFailure, parts: &Parts, tenant: &str) -> ArmError {
    let claims = auth::unverified_claims(&parts.headers).unwrap_or(Value::Null);
    let claim = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or("");
    let status = StatusCode::UNAUTHORIZED;
    match failure {
        AuthFailure::Missing => arm_error(
            status,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ),
        AuthFailure::NotBearer => arm_error(
            status,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        ),
        AuthFailure::Malformed | AuthFailure::Signature | AuthFailure::NotYetValid => {
            arm_error(status, "InvalidAuthenticationToken", "The access token is invalid.")
        }
        AuthFailure::Expired => {
            let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
            arm_error(
                status,
                "ExpiredAuthenticationToken",
                format!(
                    "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                    dotnet_time(exp),
                    dotnet_time(now_secs())
                ),
            )
        }
        AuthFailure::Audience => arm_error(
            status,
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
                claim("aud")
            ),
        ),
        AuthFailure::Revoked { at } => revoked(at),
        AuthFailure::Issuer => arm_error(
            status,
            "InvalidAuthenticationTokenTenant",
            format!(
                "The access token is from the wrong issuer '{}'. It must match the tenant 'https://sts.windows.net/{tenant}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{tenant}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.",
                claim("iss")
            ),
        ),
    }
}

/// A scripted status fault, with ARM's error body (429 `SubscriptionRequestsThrottled`).
pub(super) fn fault_response(
    status: u16,
    retry_after: Option<u64>,
    parts: &Parts,
    subscription: &str,
) -> Response<SvcBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (code, message) = match status.as_u16() {
        400 => ("BadRequest", "The request is invalid.".to_string()),
        401 => (
            "InvalidAuthenticationToken",
            "The access token is invalid.".to_string(),
        ),
        403 => ("AuthorizationFailed", "The client does not have authorization to perform this action.".to_string()),
        404 => ("NotFound", "The resource was not found.".to_string()),
        409 => ("Conflict", "The request conflicts with the current state.".to_string()),
        429 => (
            "SubscriptionRequestsThrottled",
            format!(
                "Number of requests for subscription '{subscription}' exceeded the limit. Please try again after '{}' seconds.",
                retry_after.unwrap_or(1)
            ),
        ),
        503 => ("ServiceUnavailable", "The service is temporarily unavailable.".to_string()),
        504 => ("GatewayTimeout", "The gateway did not receive a response within the specified time period.".to_string()),
        _ => ("InternalServerError", "Encountered internal server error.".to_string()),
    };
    error_response(&arm_error(status, code, message), parts)
}

/// A 200 whose JSON is cut off.
pub(super) fn malformed(parts: &Parts) -> Response<SvcBody> {
    base_response(
        StatusCode::OK,
        "{\"value\":[{\"id\":\"/subscr".into(),
        parts,
    )
}
