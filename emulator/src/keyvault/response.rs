//! The headers every Key Vault answer carries.

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};

use crate::common::azure_response;
use crate::common::body::SvcBody;
use crate::common::util::random_guid;

pub(super) fn base_response(status: StatusCode, body: String, parts: &Parts) -> Response<SvcBody> {
    let mut response = azure_response::uncached_json(status, body);
    let h = response.headers_mut();
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
    azure_response::close(h, parts, "max-age=31536000;includeSubDomains");
    response
}

/// A 204 without a body (a purge), with the headers every answer carries.
pub(super) fn no_content(parts: &Parts) -> Response<SvcBody> {
    let mut response = base_response(StatusCode::NO_CONTENT, String::new(), parts);
    response.headers_mut().remove(CONTENT_TYPE);
    response
}
