//! How the Blob calls answer: the Blob endpoint's `Server`, XML bodies, Storage errors in XML
//! under the Blob API's codes, and the headers a blob's reads carry.

use hyper::header::{HeaderValue, CONTENT_TYPE, SERVER};
use hyper::{Response, StatusCode};

use super::super::errors::{
    err, StorageError, FILESYSTEM_ALREADY_EXISTS, FILESYSTEM_NOT_FOUND, PATH_ALREADY_EXISTS,
    PATH_NOT_FOUND,
};
use super::super::response::{error_headers, full_message, Gen2Response};
use crate::common::body::{self, SvcBody};
use crate::storage::exchange::Exchange;
use crate::storage::store::Node;

const SERVER_NAME: &str = "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0";
const XML: &str = "application/xml";
pub(super) const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

const CONTAINER_NOT_FOUND: StorageError = err(
    StatusCode::NOT_FOUND,
    "ContainerNotFound",
    "The specified container does not exist.",
);
const CONTAINER_ALREADY_EXISTS: StorageError = err(
    StatusCode::CONFLICT,
    "ContainerAlreadyExists",
    "The specified container already exists.",
);
const BLOB_NOT_FOUND: StorageError = err(
    StatusCode::NOT_FOUND,
    "BlobNotFound",
    "The specified blob does not exist.",
);
const BLOB_ALREADY_EXISTS: StorageError = err(
    StatusCode::CONFLICT,
    "BlobAlreadyExists",
    "The specified blob already exists.",
);
pub(super) const BEARER_NEEDS_VERSION: StorageError = err(
    StatusCode::FORBIDDEN,
    "AuthenticationFailed",
    "Server failed to authenticate the request. Authentication scheme Bearer is not supported in this version.",
);

/// The Blob API's name for what the shared handlers report in DFS's words.
fn in_blob_terms(e: StorageError) -> StorageError {
    match e.code {
        c if c == FILESYSTEM_NOT_FOUND.code => CONTAINER_NOT_FOUND,
        c if c == FILESYSTEM_ALREADY_EXISTS.code => CONTAINER_ALREADY_EXISTS,
        c if c == PATH_NOT_FOUND.code => BLOB_NOT_FOUND,
        c if c == PATH_ALREADY_EXISTS.code => BLOB_ALREADY_EXISTS,
        _ => e,
    }
}

/// Any Blob answer: the Gen2 exchange's headers, with the Blob endpoint's `Server`.
pub(super) fn blob_response(
    exchange: &Exchange,
    status: StatusCode,
    body: SvcBody,
) -> Response<SvcBody> {
    as_blob(exchange.response(status, body))
}

pub(super) fn as_blob(mut response: Response<SvcBody>) -> Response<SvcBody> {
    response
        .headers_mut()
        .insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    response
}

pub(super) fn xml(exchange: &Exchange, status: StatusCode, text: String) -> Response<SvcBody> {
    let mut response = blob_response(exchange, status, body::full(text));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(XML));
    response
}

/// A Storage error as the Blob endpoint writes it: `<Error><Code>…</Code><Message>…</Message>`
/// with `x-ms-error-code` (only the headers for HEAD).
pub(crate) fn error_text(
    exchange: &Exchange,
    status: StatusCode,
    code: &str,
    message: &str,
) -> Response<SvcBody> {
    let mut response = if exchange.head {
        blob_response(exchange, status, body::empty())
    } else {
        xml(
            exchange,
            status,
            format!(
                "{XML_DECLARATION}<Error><Code>{}</Code><Message>{}</Message></Error>",
                escape(code),
                escape(&full_message(exchange, message))
            ),
        )
    };
    error_headers(response.headers_mut(), exchange, status, code);
    response
}

pub(crate) fn error(exchange: &Exchange, e: StorageError) -> Response<SvcBody> {
    let e = in_blob_terms(e);
    error_text(exchange, e.status, e.code, e.message)
}

/// The `malformed` fault: a 200 whose XML is cut off.
pub(crate) fn malformed(exchange: &Exchange) -> Response<SvcBody> {
    xml(
        exchange,
        StatusCode::OK,
        format!("{XML_DECLARATION}<EnumerationResults><Containers><Container><Name>"),
    )
}

/// The headers a blob's reads carry beyond DFS's: its type and tier, and for a directory the
/// metadata that marks it as one (`hdi_isfolder`, as hierarchical-namespace accounts show
/// directories to the Blob API).
pub(super) fn with_blob_headers(mut response: Response<SvcBody>, node: &Node) -> Response<SvcBody> {
    let h = response.headers_mut();
    h.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
    h.insert("x-ms-access-tier", HeaderValue::from_static("Hot"));
    h.insert(
        "x-ms-access-tier-inferred",
        HeaderValue::from_static("true"),
    );
    if node.is_dir() {
        h.insert("x-ms-meta-hdi_isfolder", HeaderValue::from_static("true"));
    }
    as_blob(response)
}

/// Text escaped for XML element content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c&apos;");
    }

    #[test]
    fn dfs_codes_become_blob_codes() {
        assert_eq!(
            in_blob_terms(FILESYSTEM_NOT_FOUND).code,
            "ContainerNotFound"
        );
        assert_eq!(in_blob_terms(PATH_NOT_FOUND).code, "BlobNotFound");
        assert_eq!(in_blob_terms(PATH_ALREADY_EXISTS).code, "BlobAlreadyExists");
        assert_eq!(
            in_blob_terms(BEARER_NEEDS_VERSION).code,
            "AuthenticationFailed"
        );
    }
}
