//! The headers every Key Vault answer carries.

use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};

use crate::common::body::{self, SvcBody};
use crate::common::util::random_guid;

const JSON: &str = "application/json; charset=utf-8";

pub(super) fn base_response(status: StatusCode, body: String, parts: &Parts) -> Response<SvcBody> {
    let mut response = Response::new(body::full(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    h.insert("expires", HeaderValue::from_static("-1"));
    h.insert("x-ms-keyvault-region", HeaderValue::from_static("eastus"));
    h.insert(
        "x-ms-keyvault-service-version",
        HeaderValue::from_static("1.9.2164.1"),
    );
    h.insert(
        "x-ms-keyvault-network-info",
        HeaderValue::from_static("conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;"),
    );
    if let Ok(id) = HeaderValue::from_str(&random_guid()) {
        h.insert("x-ms-request-id", id);
    }
    if let Some(client) = parts.headers.get("x-ms-client-request-id") {
        h.insert("x-ms-client-request-id", client.clone());
    }
    h.insert(
        "strict-transport-security",
        HeaderValue::from_static("max-age=31536000;includeSubDomains"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}
