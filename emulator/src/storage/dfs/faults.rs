//! The answers to scripted faults: a status with the Storage error the service sends for it,
//! and a 200 whose JSON is cut off.

use hyper::header::{HeaderValue, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};

use super::blob;
use super::errors::{
    AUTH_FAILED_401, CONDITION_NOT_MET, INTERNAL_ERROR, PATH_CONFLICT, PATH_NOT_FOUND,
    PERMISSION_MISMATCH,
};
use super::response::{Gen2Response, JSON};
use crate::common::body::{self, SvcBody};
use crate::common::cae;
use crate::storage::exchange::Exchange;

/// A status fault: that status with the Storage error the service sends for it (in XML when
/// the request is one of the Blob calls).
pub(crate) fn fault_response(status: u16, exchange: &Exchange, parts: &Parts) -> Response<SvcBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (code, message) = match status.as_u16() {
        400 => ("InvalidInput", "One of the request inputs is not valid."),
        401 => ("InvalidAuthenticationInfo", AUTH_FAILED_401),
        403 => (PERMISSION_MISMATCH.code, PERMISSION_MISMATCH.message),
        404 => (PATH_NOT_FOUND.code, PATH_NOT_FOUND.message),
        409 => (PATH_CONFLICT.code, PATH_CONFLICT.message),
        412 => (CONDITION_NOT_MET.code, CONDITION_NOT_MET.message),
        429 => (
            "ServerBusy",
            "Operations per second is over the account limit.",
        ),
        503 => (
            "ServerBusy",
            "The server is currently unable to receive requests. Please retry your request.",
        ),
        500 => (INTERNAL_ERROR.code, INTERNAL_ERROR.message),
        504 | 408 => (
            "OperationTimedOut",
            "Operation could not be completed within the specified time.",
        ),
        _ => (
            "InternalError",
            status.canonical_reason().unwrap_or("Error"),
        ),
    };
    if blob::is_blob(parts) {
        blob::error_text(exchange, status, code, message)
    } else {
        exchange.error_text(status, code, message)
    }
}

/// A claims challenge (a revoked token, or the scripted fault): 401
/// `InvalidAuthenticationInfo` with Entra ID's `insufficient_claims` challenge (in XML when
/// the request is one of the Blob calls).
pub(crate) fn claims_challenge(at: u64, exchange: &Exchange, parts: &Parts) -> Response<SvcBody> {
    let status = StatusCode::UNAUTHORIZED;
    let mut response = if blob::is_blob(parts) {
        blob::error_text(
            exchange,
            status,
            "InvalidAuthenticationInfo",
            AUTH_FAILED_401,
        )
    } else {
        exchange.error_text(status, "InvalidAuthenticationInfo", AUTH_FAILED_401)
    };
    if let Ok(value) = HeaderValue::from_str(&cae::insufficient_claims(at)) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// The `malformed` fault: a 200 whose JSON (or, for the Blob calls, XML) is cut off.
pub(crate) fn malformed(exchange: &Exchange, parts: &Parts) -> Response<SvcBody> {
    if blob::is_blob(parts) {
        return blob::malformed(exchange);
    }
    let mut response = exchange.response(StatusCode::OK, body::full(r#"{"paths":[{"name":"#));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}
