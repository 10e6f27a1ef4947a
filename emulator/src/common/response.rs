//! Response builders shared by the IMDS and admin handlers, and the "drop the connection"
//! outcome every handler can have.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Response, StatusCode};

/// Every response body is small and fully buffered.
pub(crate) type Body = Full<Bytes>;

/// The exact content type real IMDS sends.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// A response with a JSON body given as text (callers that care about key order build the text).
pub(crate) fn json_text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    response
}

pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    json_text(status, value.to_string())
}

/// The `{"error":…,"error_description":…}` shape used by IMDS and Entra ID.
pub(crate) fn error(status: StatusCode, code: &str, description: &str) -> Response<Body> {
    json(
        status,
        &serde_json::json!({ "error": code, "error_description": description }),
    )
}

pub(crate) fn not_found() -> Response<Body> {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "The requested path does not exist on this emulator",
    )
}

pub(crate) fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("Only {allow} is allowed on this path"),
    );
    response
        .headers_mut()
        .insert(hyper::header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The error a service returns to make hyper close the connection without answering.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault script")
    }
}

impl std::error::Error for DropConnection {}

/// Adds `Retry-After` when a scripted status fault gives one.
pub(crate) fn with_retry_after<B>(
    mut response: Response<B>,
    retry_after: Option<u64>,
) -> Response<B> {
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}
