//! What every IMDS category checks before answering: the `Metadata: true` header and a known
//! `api-version`, with IMDS's own error bodies.

use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use serde_json::json;

use crate::common::response::{self, Body};

/// Versions IMDS lists as newest when a request has none or an unknown one.
const NEWEST_VERSIONS: [&str; 3] = ["2023-07-01", "2021-12-13", "2021-11-15"];

/// Generally available IMDS api-versions. The identity category accepts the same set; SDKs use
/// 2018-02-01.
const SUPPORTED_VERSIONS: &[&str] = &[
    "2017-03-01",
    "2017-04-02",
    "2017-08-01",
    "2017-10-01",
    "2017-12-01",
    "2018-02-01",
    "2018-04-02",
    "2018-10-01",
    "2019-02-01",
    "2019-03-11",
    "2019-04-30",
    "2019-06-01",
    "2019-06-04",
    "2019-08-01",
    "2019-08-15",
    "2019-11-01",
    "2020-06-01",
    "2020-07-15",
    "2020-09-01",
    "2020-10-01",
    "2020-12-01",
    "2021-01-01",
    "2021-02-01",
    "2021-03-01",
    "2021-05-01",
    "2021-08-01",
    "2021-10-01",
    "2021-11-01",
    "2021-11-15",
    "2021-12-13",
    "2023-07-01",
];

/// Whether the request carries `Metadata: true`, which every IMDS category requires (it guards
/// against SSRF; only `true` counts).
pub(crate) fn has_metadata_header(parts: &Parts) -> bool {
    parts.headers.get_all("metadata").iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"))
    })
}

/// The `api-version` check of every IMDS category: a missing or unknown version is refused
/// with a 400 listing the newest versions; `None` lets the request through.
pub(crate) fn api_version_refusal(api_version: Option<&str>) -> Option<Response<Body>> {
    match api_version {
        None => Some(api_version_error(
            "Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds",
        )),
        Some(v) if !SUPPORTED_VERSIONS.contains(&v) => {
            Some(api_version_error("Bad request. api-version is invalid."))
        }
        Some(_) => None,
    }
}

fn api_version_error(message: &str) -> Response<Body> {
    response::json(
        StatusCode::BAD_REQUEST,
        &json!({ "error": message, "newest-versions": NEWEST_VERSIONS }),
    )
}
