//! The headers every Resource Manager answer carries, and a successful answer (200, or an
//! operation's 202 with the URL to poll).

use hyper::header::{HeaderValue, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};

use crate::common::azure_response;
use crate::common::body::SvcBody;
use crate::common::util::random_guid;

pub(super) fn base_response(status: StatusCode, body: String, parts: &Parts) -> Response<SvcBody> {
    let mut response = azure_response::uncached_json(status, body);
    let h = response.headers_mut();
    let request_id = random_guid();
    for name in [
        "x-ms-request-id",
        "x-ms-correlation-request-id",
        "x-ms-routing-request-id",
    ] {
        let value = if name == "x-ms-routing-request-id" {
            format!(
                "EASTUS:{}:{request_id}",
                chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
            )
        } else {
            request_id.clone()
        };
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    let limit = if parts.method == Method::GET {
        "x-ms-ratelimit-remaining-subscription-reads"
    } else {
        "x-ms-ratelimit-remaining-subscription-writes"
    };
    h.insert(limit, HeaderValue::from_static("11999"));
    azure_response::close(h, parts, "max-age=31536000; includeSubDomains");
    response
}

/// A successful answer: 200 with JSON, or an operation's 202 (or empty 200) with the headers
/// clients follow it by.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    body: String,
    /// `Location` and `Retry-After` of a 202.
    monitor: Option<(String, u64)>,
}

impl Answer {
    pub(super) fn ok(body: String) -> Answer {
        Answer {
            status: StatusCode::OK,
            body,
            monitor: None,
        }
    }

    /// 202 with no body: poll `location`, after `retry_after` seconds.
    pub(super) fn accepted(location: String, retry_after: u64) -> Answer {
        Answer {
            status: StatusCode::ACCEPTED,
            body: String::new(),
            monitor: Some((location, retry_after)),
        }
    }

    /// 204 with no body (a resource group that exists, to `HEAD`).
    pub(super) fn no_content() -> Answer {
        Answer {
            status: StatusCode::NO_CONTENT,
            body: String::new(),
            monitor: None,
        }
    }

    /// 200 with no body (a finished deletion).
    pub(super) fn done() -> Answer {
        Answer::ok(String::new())
    }

    pub(super) fn into_response(self, parts: &Parts) -> Response<SvcBody> {
        let empty = self.body.is_empty();
        let mut response = base_response(self.status, self.body, parts);
        let h = response.headers_mut();
        if empty {
            // As the service: an empty answer has no content type.
            h.remove(CONTENT_TYPE);
        }
        if let Some((location, retry_after)) = self.monitor {
            if let Ok(v) = HeaderValue::from_str(&location) {
                h.insert(LOCATION, v);
            }
            h.insert(RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}
