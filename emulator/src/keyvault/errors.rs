//! The error catalogue: Key Vault's error body and codes, its 401 challenge and messages, and
//! the answers to scripted faults.

use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use super::response::base_response;
use crate::common::auth::{self, AuthFailure};
use crate::common::body::SvcBody;
use crate::common::cae;
use crate::common::cloud::Cloud;
use crate::common::util::ordered_object;

const NOT_FOUND_HELP: &str = "If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182";

/// A Key Vault error: `{"error":{"code","message"[,"innererror":{"code"}]}}`.
pub(super) struct KvError {
    pub(super) status: StatusCode,
    pub(super) code: &'static str,
    pub(super) message: String,
    pub(super) inner: Option<&'static str>,
}

pub(super) fn kv_error(
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
) -> KvError {
    KvError {
        status,
        code,
        message: message.into(),
        inner: None,
    }
}

pub(super) fn bad_parameter(message: impl Into<String>) -> KvError {
    kv_error(StatusCode::BAD_REQUEST, "BadParameter", message)
}

pub(super) fn error_response(e: KvError, parts: &Parts) -> Response<SvcBody> {
    let mut error = vec![("code", json!(e.code)), ("message", json!(e.message))];
    if let Some(inner) = e.inner {
        error.push(("innererror", json!({ "code": inner })));
    }
    let body = format!("{{\"error\":{}}}", ordered_object(&error));
    base_response(e.status, body, parts)
}

/// The challenge every 401 carries; SDKs take the tenant and resource from it.
pub(super) fn challenge(tenant: &str) -> String {
    format!(
        "Bearer authorization=\"https://login.windows.net/{tenant}\", resource=\"https://vault.azure.net\""
    )
}

pub(super) fn unauthorized(cloud: &Cloud, message: String, parts: &Parts) -> Response<SvcBody> {
    let mut response = error_response(
        kv_error(StatusCode::UNAUTHORIZED, "Unauthorized", message),
        parts,
    );
    if let Ok(value) = HeaderValue::from_str(&challenge(&cloud.tenant_id)) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// A claims challenge (a revoked token, or the scripted fault): 401 `Unauthorized` with Entra
/// ID's `insufficient_claims` challenge instead of the discovery one.
pub(super) fn revoked(at: u64, parts: &Parts) -> Response<SvcBody> {
    let mut response = error_response(
        kv_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            cae::revoked_message(at),
        ),
        parts,
    );
    if let Ok(value) = HeaderValue::from_str(&cae::insufficient_claims(at)) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// The 401 message Key Vault gives for each reason.
pub(super) fn auth_message(failure: AuthFailure, parts: &Parts, tenant: &str) -> String {
    let claims = auth::unverified_claims(&parts.headers).unwrap_or(Value::Null);
    let claim = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or("");
    match failure {
        AuthFailure::Missing | AuthFailure::NotBearer => {
            "AKV10000: Request is missing a Bearer or PoP token.".into()
        }
        AuthFailure::Audience => format!(
            "AKV10022: Invalid audience. Expected https://vault.azure.net, found: {}.",
            claim("aud")
        ),
        AuthFailure::Issuer => format!(
            "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{tenant}/, https://login.microsoftonline.com/{tenant}/v2.0, found {}.",
            claim("iss")
        ),
        AuthFailure::Expired => "AKV10013: Token is expired.".into(),
        AuthFailure::NotYetValid => "AKV10013: Token is not yet valid.".into(),
        AuthFailure::Malformed | AuthFailure::Signature => {
            "AKV10003: Token validation failed: the token could not be validated.".into()
        }
        AuthFailure::Revoked { at } => cae::revoked_message(at),
    }
}

pub(super) enum Refusal {
    Auth(String),
    /// A token minted before its identity's revocation at this time: a claims challenge.
    Revoked(u64),
    Error(KvError),
}

impl From<KvError> for Refusal {
    fn from(e: KvError) -> Self {
        Refusal::Error(e)
    }
}

pub(super) fn not_found(what: &str) -> KvError {
    kv_error(
        StatusCode::NOT_FOUND,
        "SecretNotFound",
        format!("A secret with (name/id) {what} was not found in this key vault. {NOT_FOUND_HELP}"),
    )
}

/// A scripted status fault, with Key Vault's error body.
pub(super) fn fault_response(status: u16, parts: &Parts) -> Response<SvcBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (code, message) = match status.as_u16() {
        400 => ("BadParameter", "The request is invalid."),
        401 => ("Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."),
        403 => ("Forbidden", "Caller is not authorized to perform action on resource."),
        404 => ("NotFound", "The requested resource was not found."),
        429 => (
            "Throttled",
            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
        ),
        503 => ("ServiceUnavailable", "The service is temporarily unavailable."),
        _ => ("InternalServerError", "An internal server error occurred."),
    };
    error_response(kv_error(status, code, message), parts)
}

/// A 200 whose JSON is cut off.
pub(super) fn malformed(parts: &Parts) -> Response<SvcBody> {
    base_response(StatusCode::OK, "{\"value\":\"trunc".into(), parts)
}
