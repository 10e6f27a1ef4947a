//! What Azure's front ends (Key Vault, Resource Manager) put around every JSON answer: the
//! no-cache headers first, the service's own headers, then the closing ones.

use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::{HeaderMap, Response, StatusCode};

use crate::common::body::{self, SvcBody};

const JSON: &str = "application/json; charset=utf-8";

/// A JSON answer that must not be cached; the caller adds its service's headers, then
/// [`close`].
pub(crate) fn uncached_json(status: StatusCode, body: String) -> Response<SvcBody> {
    let mut response = Response::new(body::full(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    h.insert("expires", HeaderValue::from_static("-1"));
    response
}

/// The closing headers: the client's `x-ms-client-request-id` echoed, HSTS (`hsts` as the
/// service spells it) and `nosniff`.
pub(crate) fn close(h: &mut HeaderMap, parts: &Parts, hsts: &'static str) {
    if let Some(client) = parts.headers.get("x-ms-client-request-id") {
        h.insert("x-ms-client-request-id", client.clone());
    }
    h.insert("strict-transport-security", HeaderValue::from_static(hsts));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
}
