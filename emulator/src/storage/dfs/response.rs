//! The headers every Gen2 answer carries (and how a node or filesystem is described in them).

use std::time::SystemTime;

use hyper::header::{
    HeaderName, HeaderValue, ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_TYPE, ETAG, LAST_MODIFIED,
    SERVER, WWW_AUTHENTICATE,
};
use hyper::{HeaderMap, Response, StatusCode};
use serde_json::{json, Value};

use super::errors::StorageError;
use crate::common::body::{self, SvcBody};
use crate::common::util::{http_date, storage_timestamp};
use crate::storage::exchange::Exchange;
use crate::storage::store::{etag_text, Filesystem, Node};

pub(super) const JSON: &str = "application/json;charset=utf-8";

const SERVER_NAME: &str = "Windows-Azure-HDFS/1.0 Microsoft-HTTPAPI/2.0";

/// How Gen2 answers: its headers, JSON and Storage errors (only the headers for HEAD).
pub(super) trait Gen2Response {
    fn response(&self, status: StatusCode, body: SvcBody) -> Response<SvcBody>;
    fn empty(&self, status: StatusCode) -> Response<SvcBody>;
    fn json(&self, status: StatusCode, value: &Value) -> Response<SvcBody>;
    fn error_text(&self, status: StatusCode, code: &str, message: &str) -> Response<SvcBody>;
    fn error(&self, e: StorageError) -> Response<SvcBody>;
}

impl Gen2Response for Exchange {
    fn response(&self, status: StatusCode, body: SvcBody) -> Response<SvcBody> {
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let h = response.headers_mut();
        h.insert(SERVER, HeaderValue::from_static(SERVER_NAME));
        if let Ok(id) = HeaderValue::from_str(&self.request_id) {
            h.insert("x-ms-request-id", id);
        }
        if let Some(v) = &self.version {
            h.insert("x-ms-version", v.clone());
        }
        if let Some(v) = &self.client_request_id {
            h.insert("x-ms-client-request-id", v.clone());
        }
        response
    }

    fn empty(&self, status: StatusCode) -> Response<SvcBody> {
        self.response(status, body::empty())
    }

    fn json(&self, status: StatusCode, value: &Value) -> Response<SvcBody> {
        let mut response = self.response(status, body::full(value.to_string()));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
        response
    }

    /// The Storage error body, or only its headers for HEAD (which has no body).
    fn error_text(&self, status: StatusCode, code: &str, message: &str) -> Response<SvcBody> {
        let mut response = if self.head {
            self.empty(status)
        } else {
            let full = full_message(self, message);
            self.json(
                status,
                &json!({ "error": { "code": code, "message": full } }),
            )
        };
        error_headers(response.headers_mut(), self, status, code);
        response
    }

    fn error(&self, e: StorageError) -> Response<SvcBody> {
        self.error_text(e.status, e.code, e.message)
    }
}

/// A Storage error's message as the service writes it: with the request id and the time.
pub(super) fn full_message(exchange: &Exchange, message: &str) -> String {
    format!(
        "{message}\nRequestId:{}\nTime:{}",
        exchange.request_id,
        storage_timestamp(SystemTime::now())
    )
}

/// The headers of every Storage error, whichever API: `x-ms-error-code`, and on a 401 the
/// bearer challenge naming the tenant and Storage's resource.
pub(super) fn error_headers(
    h: &mut HeaderMap,
    exchange: &Exchange,
    status: StatusCode,
    code: &str,
) {
    if let Ok(code) = HeaderValue::from_str(code) {
        h.insert("x-ms-error-code", code);
    }
    if status == StatusCode::UNAUTHORIZED {
        let challenge = format!(
            "Bearer authorization_uri=https://login.microsoftonline.com/{}/oauth2/authorize resource_id=https://storage.azure.com",
            exchange.tenant
        );
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            h.insert(WWW_AUTHENTICATE, v);
        }
    }
}

pub(super) fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

pub(super) fn quoted(etag: u64) -> String {
    format!("\"{}\"", etag_text(etag))
}

/// Adds the headers of a changed item: `ETag` and `Last-Modified`.
pub(super) fn with_version(mut response: Response<SvcBody>, node: &Node) -> Response<SvcBody> {
    let h = response.headers_mut();
    insert(h, ETAG, &quoted(node.etag));
    insert(h, LAST_MODIFIED, &http_date(node.modified));
    response
}

/// The system headers of an item, shared by read and properties.
pub(super) fn describe(response: &mut Response<SvcBody>, node: &Node, len: u64) {
    let h = response.headers_mut();
    insert(h, ETAG, &quoted(node.etag));
    insert(h, LAST_MODIFIED, &http_date(node.modified));
    insert(h, CONTENT_LENGTH, &len.to_string());
    let content_type = node
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    insert(h, CONTENT_TYPE, content_type);
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        "x-ms-resource-type",
        HeaderValue::from_static(if node.is_dir() { "directory" } else { "file" }),
    );
    insert(
        h,
        HeaderName::from_static("x-ms-creation-time"),
        &http_date(node.created),
    );
    h.insert("x-ms-lease-state", HeaderValue::from_static("available"));
    h.insert("x-ms-lease-status", HeaderValue::from_static("unlocked"));
    h.insert("x-ms-server-encrypted", HeaderValue::from_static("true"));
}

pub(super) fn filesystem_headers(
    mut response: Response<SvcBody>,
    fs: &Filesystem,
) -> Response<SvcBody> {
    let h = response.headers_mut();
    insert(h, ETAG, &quoted(fs.etag));
    insert(h, LAST_MODIFIED, &http_date(fs.modified));
    h.insert("x-ms-namespace-enabled", HeaderValue::from_static("true"));
    response
}
