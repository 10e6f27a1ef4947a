//! Token requests to the IMDS endpoint (and endpoints that speak its protocol), with the
//! retries Microsoft recommends and a fast failure when no endpoint is there at all.

use std::collections::HashSet;
use std::error::Error as _;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use serde_json::Value;

use crate::error::{shorten, Error, ErrorCode, Result, ServiceFailure};
use crate::identity::ManagedIdentity;
use crate::retry::parse_retry_after;
use crate::token::{parse_token_response, AccessToken};

/// The API version every IMDS deployment serves for tokens.
pub const API_VERSION: &str = "2018-02-01";
/// The most azmi reads of a token endpoint's answer. A token answer is a few KiB (a JWT with
/// every group claim stays far below this); anything longer is not a token answer, and is not
/// read into memory.
pub const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// Endpoints that have answered at least once. Until one has, its first request gets the short
/// probe timeout and no retries. Failures are not recorded, so a later call probes again.
#[derive(Default)]
pub(crate) struct EndpointProbes {
    answered: RwLock<HashSet<String>>,
}

impl EndpointProbes {
    fn has_answered(&self, endpoint: &str) -> bool {
        self.answered.read().contains(endpoint)
    }
    fn mark_answered(&self, endpoint: &str) {
        if !self.has_answered(endpoint) {
            self.answered.write().insert(endpoint.to_owned());
        }
    }
}

/// What one attempt came to.
enum Attempt {
    Done(AccessToken),
    Fatal(Error),
    Transient {
        error: Error,
        retry_after: Option<Duration>,
        gone: bool,
    },
}

/// Gets a token from the identity's endpoint, retrying transient failures within the budget.
/// Dropping the future stops at once (that is how cancellation works).
pub(crate) async fn request_token(
    http: &reqwest::Client,
    probes: &EndpointProbes,
    mi: &ManagedIdentity,
    resource: &str,
) -> Result<AccessToken> {
    let url = token_url(mi, resource);
    let policy = &mi.options.retry;
    let start = Instant::now();
    let mut seen_gone = false;
    let mut attempt = 0u32;
    loop {
        // Until the endpoint has answered once, its first answer is checked to come from a
        // managed identity endpoint (not a proxy that answers for the address).
        let probing = !probes.has_answered(mi.endpoint());
        if probing && attempt == 0 {
            // The short window decides only whether an endpoint is there: a machine without a
            // managed identity fails within it, but a present IMDS that takes seconds to
            // fetch the first token of a VM is waited for like any other request.
            if let Err(detail) = probe_connection(mi).await {
                return Err(Error::ManagedIdentityUnavailable {
                    endpoint: mi.endpoint().to_owned(),
                    detail,
                });
            }
        }
        let timeout = mi.options.request_timeout;
        log::debug!(
            "token request #{} for {resource} ({}) to {}",
            attempt + 1,
            mi.identity,
            mi.endpoint()
        );
        let (error, retry_after, gone) =
            match attempt_once(http, probes, mi, &url, resource, timeout, probing).await {
                Attempt::Done(token) => return Ok(token),
                Attempt::Fatal(e) => return Err(e),
                Attempt::Transient {
                    error,
                    retry_after,
                    gone,
                } => (error, retry_after, gone),
            };
        seen_gone |= gone;
        let budget = if seen_gone {
            policy.budget_after_gone()
        } else {
            policy.budget
        };
        let left = budget.saturating_sub(start.elapsed());
        let delay = match retry_after {
            // The service said when to come back; if that is past the budget, stop now rather
            // than sleep for nothing.
            Some(d) if d > left => return Err(error),
            Some(d) => d,
            // Backoff is cut to what is left so that the last try happens at the deadline
            // (410 must keep trying for the whole 70 s).
            None => policy.backoff(attempt).min(left),
        };
        if left.is_zero() {
            return Err(error);
        }
        log::debug!("retrying in {delay:?} after: {error}");
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// Opens (and closes) a TCP connection to the endpoint within the probe timeout: whether
/// anything is there at all. Failing here is "no managed identity", at once or after the
/// timeout where nothing answers the connection.
async fn probe_connection(mi: &ManagedIdentity) -> std::result::Result<(), String> {
    let url = &mi.endpoint;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| "the endpoint URL has no port".to_owned())?;
    let window = mi.options.probe_timeout;
    let connect = async {
        match url.host() {
            Some(url::Host::Ipv4(a)) => tokio::net::TcpStream::connect((a, port)).await,
            Some(url::Host::Ipv6(a)) => tokio::net::TcpStream::connect((a, port)).await,
            Some(url::Host::Domain(d)) => tokio::net::TcpStream::connect((d, port)).await,
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the endpoint URL has no host",
            )),
        }
    };
    match tokio::time::timeout(window, connect).await {
        Ok(Ok(_stream)) => Ok(()),
        Ok(Err(e)) => Err(format!("the connection failed: {e}")),
        Err(_) => Err(format!(
            "nothing accepted a connection within {} ms",
            window.as_millis()
        )),
    }
}

fn token_url(mi: &ManagedIdentity, resource: &str) -> url::Url {
    let mut url = mi.endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("api-version", API_VERSION);
        q.append_pair("resource", resource);
        if let Some((name, value)) = mi.identity.query_pair() {
            q.append_pair(name, value);
        }
    }
    url
}

async fn attempt_once(
    http: &reqwest::Client,
    probes: &EndpointProbes,
    mi: &ManagedIdentity,
    url: &url::Url,
    resource: &str,
    timeout: Duration,
    probing: bool,
) -> Attempt {
    let sent_at = chrono::Utc::now().timestamp();
    let response = http
        .get(url.clone())
        .header("Metadata", "true")
        .timeout(timeout)
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return transport_failure(mi, &e, timeout, probing),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let body = match read_bounded(response, MAX_TOKEN_ANSWER).await {
        Ok(Some(b)) => b,
        Ok(None) => {
            // Not retried: an endpoint that answers this way will do it again.
            return Attempt::Fatal(Error::Protocol(format!(
                "the token answer from {} is longer than {MAX_TOKEN_ANSWER} bytes, the most azmi reads for a token; nothing more was read (is the endpoint a managed identity endpoint?)",
                mi.endpoint()
            )));
        }
        Err(e) => return transport_failure(mi, &e, timeout, probing),
    };
    if probing && !answers_like_imds(status, &body) {
        // Off Azure, a proxy or firewall may answer for 169.254.169.254 (403, 407, …): that is
        // no managed identity, not a service error to report as such.
        return Attempt::Fatal(Error::ManagedIdentityUnavailable {
            endpoint: mi.endpoint().to_owned(),
            detail: format!(
                "something answered HTTP {status}, but not as a managed identity endpoint (a proxy or firewall in the way?)"
            ),
        });
    }
    probes.mark_answered(mi.endpoint());
    if status == 200 {
        return match parse_token_response(&body, resource, sent_at) {
            Ok(token) => Attempt::Done(token),
            Err(e) => Attempt::Fatal(e),
        };
    }
    let failure = service_failure(status, &body);
    classify_failure(mi, resource, failure, retry_after)
}

/// Reads a body of at most `limit` bytes into memory that is wiped when dropped (it holds the
/// token). `None` when the answer is longer, said by its `Content-Length` (then nothing is read)
/// or found while reading (then reading stops there).
async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> std::result::Result<Option<zeroize::Zeroizing<Vec<u8>>>, reqwest::Error> {
    let declared = response.content_length();
    if declared.is_some_and(|len| len > limit as u64) {
        return Ok(None);
    }
    // Reserve what was declared (or a typical answer) so that no growth leaves a copy behind.
    let capacity = declared.map_or(8 * 1024, |len| len as usize);
    let mut body = zeroize::Zeroizing::new(Vec::with_capacity(capacity));
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        if body.capacity() < body.len() + chunk.len() {
            let mut bigger = zeroize::Zeroizing::new(Vec::with_capacity(
                (body.len() + chunk.len())
                    .max(body.capacity() * 2)
                    .min(limit),
            ));
            bigger.extend_from_slice(&body);
            body = bigger;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// Whether a response comes from a managed identity endpoint: a 200, a status IMDS uses while
/// it is busy or restarting, or an error in its JSON form.
fn answers_like_imds(status: u16, body: &[u8]) -> bool {
    if status == 200 || matches!(status, 404 | 408 | 410 | 429) || status >= 500 {
        return true;
    }
    serde_json::from_slice::<Value>(body)
        .ok()
        .is_some_and(|v| v.get("error").is_some())
}

/// Maps an error status to the library's errors and decides whether to retry.
fn classify_failure(
    mi: &ManagedIdentity,
    resource: &str,
    failure: ServiceFailure,
    retry_after: Option<Duration>,
) -> Attempt {
    let status = failure.status;
    let context = format!(
        "the token request for '{resource}' ({}) to {} failed",
        mi.identity,
        mi.endpoint()
    );
    if matches!(status, 404 | 408 | 410 | 429) || status >= 500 {
        let code = if status == 429 {
            ErrorCode::Throttled
        } else {
            ErrorCode::ServiceError
        };
        return Attempt::Transient {
            error: Error::Service {
                code,
                context,
                failure,
            },
            retry_after,
            gone: status == 410,
        };
    }
    let says = |text: &str| failure.description.to_ascii_lowercase().contains(text);
    if status == 400 && says("identity not found") {
        return Attempt::Fatal(Error::IdentityNotFound {
            identity: mi.identity.to_string(),
            failure,
        });
    }
    if status == 400 && (failure.code.as_deref() == Some("invalid_resource") || says("aadsts50001"))
    {
        return Attempt::Fatal(Error::InvalidResource {
            resource: resource.to_owned(),
            failure,
        });
    }
    let code = match status {
        401 => ErrorCode::AuthenticationFailed,
        403 => ErrorCode::PermissionDenied,
        _ => ErrorCode::ServiceError,
    };
    Attempt::Fatal(Error::Service {
        code,
        context,
        failure,
    })
}

/// Reads `{"error":"…","error_description":"…"}`. IMDS sometimes puts a sentence in `error`
/// (no api-version); then it is the description, not a code.
fn service_failure(status: u16, body: &[u8]) -> ServiceFailure {
    let text = String::from_utf8_lossy(body);
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let get = |k: &str| {
        json.as_ref()
            .and_then(|j| j.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let error = get("error");
    let description = get("error_description");
    let (code, description) = match (error, description) {
        (Some(e), Some(d)) => (Some(e), d),
        (Some(e), None) if e.contains(' ') => (None, e),
        (Some(e), None) => (Some(e), String::new()),
        (None, Some(d)) => (None, d),
        (None, None) => (None, text.into_owned()),
    };
    let description = if description.trim().is_empty() {
        format!("HTTP {status} with no description")
    } else {
        shorten(&description)
    };
    ServiceFailure {
        status,
        code,
        description,
    }
}

fn transport_failure(
    mi: &ManagedIdentity,
    e: &reqwest::Error,
    timeout: Duration,
    probing: bool,
) -> Attempt {
    let detail = if e.is_timeout() {
        format!("no answer within {} ms", timeout.as_millis())
    } else {
        describe_transport_error(e)
    };
    if probing && e.is_connect() {
        // The endpoint took a connection a moment ago and now refuses one: it is not there
        // (the next call probes again).
        return Attempt::Fatal(Error::ManagedIdentityUnavailable {
            endpoint: mi.endpoint().to_owned(),
            detail,
        });
    }
    let message = format!("the token request to {} failed: {detail}", mi.endpoint());
    Attempt::Transient {
        error: if e.is_timeout() {
            Error::Timeout(message)
        } else {
            Error::Network(message)
        },
        retry_after: None,
        gone: false,
    }
}

/// The innermost causes of a transport error, without the URL (it is named separately).
pub(crate) fn describe_transport_error(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    match parts.last() {
        Some(last) => last.clone(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityId;

    fn mi(id: IdentityId) -> ManagedIdentity {
        ManagedIdentity::with_endpoint(id, "http://127.0.0.1:1/metadata/identity/oauth2/token")
            .unwrap()
    }

    #[test]
    fn url_has_api_version_resource_and_identity() {
        let u = token_url(
            &mi(IdentityId::ClientId(
                "00001111-aaaa-2222-bbbb-3333cccc4444".into(),
            )),
            "https://management.azure.com/",
        );
        assert_eq!(
            u.query(),
            Some("api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F&client_id=00001111-aaaa-2222-bbbb-3333cccc4444")
        );
        let u = token_url(&mi(IdentityId::ResourceId("/subscriptions/x".into())), "r");
        assert!(u
            .query()
            .unwrap()
            .ends_with("&msi_res_id=%2Fsubscriptions%2Fx"));
        let u = token_url(&mi(IdentityId::SystemAssigned), "https://vault.azure.net");
        assert_eq!(
            u.query(),
            Some("api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net")
        );
    }

    #[test]
    fn only_imds_shaped_answers_count_as_an_endpoint() {
        assert!(answers_like_imds(200, b""));
        assert!(answers_like_imds(410, b""));
        assert!(answers_like_imds(503, b"<html>"));
        assert!(answers_like_imds(
            400,
            br#"{"error":"invalid_request","error_description":"Identity not found"}"#
        ));
        assert!(!answers_like_imds(403, b"resolve_deny"));
        assert!(!answers_like_imds(407, b"<html>proxy</html>"));
        assert!(!answers_like_imds(403, br#"{"message":"nope"}"#));
    }

    #[test]
    fn error_bodies_give_code_and_description() {
        let f = service_failure(
            400,
            br#"{"error":"invalid_request","error_description":"Identity not found"}"#,
        );
        assert_eq!(f.code.as_deref(), Some("invalid_request"));
        assert_eq!(f.description, "Identity not found");
        let f = service_failure(
            400,
            br#"{"error":"Bad request. api-version was not specified in the request.","newest-versions":["2023-07-01"]}"#,
        );
        assert_eq!(f.code, None);
        assert!(f.description.starts_with("Bad request."));
        let f = service_failure(502, b"");
        assert_eq!(f.description, "HTTP 502 with no description");
        let f = service_failure(500, b"<html>oops</html>");
        assert_eq!(f.description, "<html>oops</html>");
    }

    fn classify(status: u16, body: &str) -> Attempt {
        classify_failure(
            &mi(IdentityId::ClientId(
                "00001111-aaaa-2222-bbbb-3333cccc4444".into(),
            )),
            "https://r/",
            service_failure(status, body.as_bytes()),
            None,
        )
    }

    #[test]
    fn identity_not_found_names_the_identity() {
        match classify(
            400,
            r#"{"error":"invalid_request","error_description":"Identity not found"}"#,
        ) {
            Attempt::Fatal(e) => {
                assert_eq!(e.code(), ErrorCode::IdentityNotFound);
                let m = e.to_string();
                assert!(
                    m.contains("client id 00001111-aaaa-2222-bbbb-3333cccc4444"),
                    "{m}"
                );
                assert!(m.contains("not assigned to this machine"), "{m}");
                assert_eq!(e.http_status(), Some(400));
                assert_eq!(e.service_code(), Some("invalid_request"));
            }
            _ => panic!("not fatal"),
        }
    }

    #[test]
    fn invalid_resource_is_its_own_code() {
        match classify(
            400,
            r#"{"error":"invalid_resource","error_description":"AADSTS50001: The application named https://r/ was not found"}"#,
        ) {
            Attempt::Fatal(e) => assert_eq!(e.code(), ErrorCode::InvalidResource),
            _ => panic!("not fatal"),
        }
    }

    #[test]
    fn transient_statuses_are_retried_and_others_are_not() {
        for s in [404, 408, 410, 429, 500, 503] {
            assert!(
                matches!(classify(s, "{}"), Attempt::Transient { .. }),
                "{s}"
            );
        }
        for s in [400, 401, 403, 405, 409] {
            assert!(matches!(classify(s, "{}"), Attempt::Fatal(_)), "{s}");
        }
        match classify(429, "{}") {
            Attempt::Transient { error, .. } => assert_eq!(error.code(), ErrorCode::Throttled),
            _ => unreachable!(),
        }
        assert!(matches!(
            classify(410, "{}"),
            Attempt::Transient { gone: true, .. }
        ));
    }
}
