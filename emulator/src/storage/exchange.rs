//! The facts of one Data Lake request that its answer repeats, whichever protocol (Gen1 or
//! Gen2) it speaks. Each protocol writes its own headers and errors from them
//! (`webhdfs::Gen1Response`, `dfs::response::Gen2Response`).

use hyper::header::HeaderValue;
use hyper::http::request::Parts;
use hyper::Method;

use crate::common::util::random_guid;

/// Per-request facts every response carries.
pub(crate) struct Exchange {
    /// `x-ms-request-id` of the answer; errors quote it in their message.
    pub request_id: String,
    /// `x-ms-version` as sent (Gen2 echoes it).
    pub version: Option<HeaderValue>,
    /// `x-ms-client-request-id` as sent (Gen2 echoes it).
    pub client_request_id: Option<HeaderValue>,
    /// A HEAD answer carries no body, not even an error's.
    pub head: bool,
    /// The tenant a 401's challenge names.
    pub tenant: String,
}

impl Exchange {
    pub(crate) fn new(parts: &Parts, tenant: &str) -> Exchange {
        Exchange {
            request_id: random_guid(),
            version: parts.headers.get("x-ms-version").cloned(),
            client_request_id: parts.headers.get("x-ms-client-request-id").cloned(),
            head: parts.method == Method::HEAD,
            tenant: tenant.to_string(),
        }
    }
}
