//! What every managed identity source shares: one request with a bounded answer, the retry loop
//! within the identity's budget, and the mapping of error answers to azmi's errors.

use std::error::Error as _;
use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::Value;
use zeroize::Zeroizing;

use super::Source;
use crate::error::{shorten, Error, ErrorCode, Result, ServiceFailure};
use crate::identity::IdentityId;
use crate::proxy::{diagnose, ProxyServer};
use crate::retry::{parse_retry_after, RetryPolicy};
use crate::token::{parse_token_response, AccessToken};

/// The most azmi reads of a token endpoint's answer, whatever the source. A token answer is a
/// few KiB (a JWT with every group claim stays far below this); anything longer is not a token
/// answer, and is not read into memory.
pub const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// What one attempt came to.
pub(crate) enum Attempt {
    Done(AccessToken),
    Fatal(Error),
    Transient {
        error: Error,
        retry_after: Option<Duration>,
        /// A 410 (IMDS restarting): the budget becomes at least 70 s.
        gone: bool,
    },
}

/// Runs `attempt` (given its 0-based number) until it succeeds, fails for good, or the retry
/// budget is spent, sleeping the backoff or the Retry-After in between. Dropping the future
/// stops at once (that is how cancellation works).
pub(crate) async fn with_retries<F, Fut>(
    policy: &RetryPolicy,
    mut attempt: F,
) -> Result<AccessToken>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt>,
{
    let start = Instant::now();
    let mut seen_gone = false;
    let mut number = 0u32;
    loop {
        let (error, retry_after, gone) = match attempt(number).await {
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
            None => policy.backoff(number).min(left),
        };
        if left.is_zero() {
            return Err(error);
        }
        log::debug!("retrying in {delay:?} after: {error}");
        tokio::time::sleep(delay).await;
        number += 1;
    }
}

/// What a token request is about, for messages and classification.
pub(crate) struct Ctx<'a> {
    pub source: Source,
    /// Shown in messages: the token URL without its query.
    pub endpoint: &'a str,
    pub identity: &'a IdentityId,
    pub resource: &'a str,
    pub timeout: Duration,
}

impl Ctx<'_> {
    /// "the token request for 'r' (the system-assigned identity) to URL failed", naming the
    /// source unless it is IMDS (whose messages have always read this way).
    pub(crate) fn failed(&self) -> String {
        let source = match self.source {
            Source::Imds => String::new(),
            other => format!("{} ", other.name()),
        };
        format!(
            "the {source}token request for '{}' ({}) to {} failed",
            self.resource, self.identity, self.endpoint
        )
    }
}

/// An endpoint's answer, read into memory that is wiped when dropped (it holds the token).
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub headers: reqwest::header::HeaderMap,
    pub body: Zeroizing<Vec<u8>>,
}

pub(crate) enum SendError {
    Transport(reqwest::Error),
    /// Longer than [`MAX_TOKEN_ANSWER`]; nothing more was read.
    TooLong,
}

/// Sends the request and reads its answer, at most [`MAX_TOKEN_ANSWER`] bytes.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
) -> std::result::Result<Answer, SendError> {
    let response = request.send().await.map_err(SendError::Transport)?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let headers = response.headers().clone();
    match read_bounded(response, MAX_TOKEN_ANSWER).await {
        Ok(Some(body)) => Ok(Answer {
            status,
            retry_after,
            headers,
            body,
        }),
        Ok(None) => Err(SendError::TooLong),
        Err(e) => Err(SendError::Transport(e)),
    }
}

/// Reads a body of at most `limit` bytes into memory that is wiped when dropped (it holds the
/// token). `None` when the answer is longer, said by its `Content-Length` (then nothing is read)
/// or found while reading (then reading stops there).
pub(crate) async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> std::result::Result<Option<Zeroizing<Vec<u8>>>, reqwest::Error> {
    let declared = response.content_length();
    if declared.is_some_and(|len| len > limit as u64) {
        return Ok(None);
    }
    // Reserve what was declared (or a typical answer) so that no growth leaves a copy behind.
    let capacity = declared.map_or(8 * 1024, |len| len as usize);
    let mut body = Zeroizing::new(Vec::with_capacity(capacity));
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        if body.capacity() < body.len() + chunk.len() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(
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

/// The error for an answer longer than [`MAX_TOKEN_ANSWER`]. Not retried: an endpoint that
/// answers this way will do it again.
pub(crate) fn too_long(ctx: &Ctx<'_>) -> Error {
    let what = match ctx.source {
        Source::Imds => "a managed identity endpoint",
        other => other.name(),
    };
    Error::Protocol(format!(
        "the token answer from {} is longer than {MAX_TOKEN_ANSWER} bytes, the most azmi reads for a token; nothing more was read (is the endpoint {what}?)",
        ctx.endpoint
    ))
}

/// Turns a complete answer into the attempt's outcome: a token on 200, else the classified
/// error.
pub(crate) fn finish(ctx: &Ctx<'_>, answer: &Answer, sent_at: i64) -> Attempt {
    if answer.status == 200 {
        return match parse_token_response(&answer.body, ctx.resource, sent_at) {
            Ok(token) => Attempt::Done(token.with_source(ctx.source)),
            Err(e) => Attempt::Fatal(e),
        };
    }
    let failure = service_failure(answer.status, &answer.body);
    classify(ctx, failure, answer.retry_after)
}

/// Sends one request and finishes it: what the sources without a protocol of their own do.
pub(crate) async fn attempt(ctx: &Ctx<'_>, request: reqwest::RequestBuilder) -> Attempt {
    attempt_via(ctx, request, None).await
}

/// As [`attempt`], for a request to `url` through the proxy `via` (workload identity's
/// exchange at Entra ID): a failed connection is explained by the proxy, and what it refuses
/// is not retried.
pub(crate) async fn attempt_via(
    ctx: &Ctx<'_>,
    request: reqwest::RequestBuilder,
    via: Option<(&ProxyServer, &url::Url)>,
) -> Attempt {
    let sent_at = chrono::Utc::now().timestamp();
    match send(request.timeout(ctx.timeout)).await {
        Ok(answer) => finish(ctx, &answer, sent_at),
        Err(SendError::TooLong) => Attempt::Fatal(too_long(ctx)),
        Err(SendError::Transport(e)) => {
            if let (Some((server, url)), true) = (via, e.is_connect()) {
                let (host, port) = (url.host_str().unwrap_or(""), url.port_or_known_default());
                let explained =
                    diagnose::explain(server, host, port.unwrap_or(443), &ctx.failed()).await;
                if let Some(failure) = explained {
                    return if failure.retry {
                        Attempt::Transient {
                            error: failure.error,
                            retry_after: None,
                            gone: false,
                        }
                    } else {
                        Attempt::Fatal(failure.error)
                    };
                }
            }
            transport_failure(ctx, &e)
        }
    }
}

/// Whether a status is worth another try. IMDS: Microsoft's list (404 while it updates, 410
/// while it restarts). The other sources are configured by their host: 404 there means a wrong
/// endpoint, not a busy one; App Service answers 500s while it starts.
pub(crate) fn is_transient(source: Source, status: u16) -> bool {
    match source {
        Source::Imds => matches!(status, 404 | 408 | 410 | 429) || status >= 500,
        _ => matches!(status, 408 | 429) || status >= 500,
    }
}

/// Maps an error status to the library's errors and decides whether to retry.
pub(crate) fn classify(
    ctx: &Ctx<'_>,
    failure: ServiceFailure,
    retry_after: Option<Duration>,
) -> Attempt {
    let status = failure.status;
    if is_transient(ctx.source, status) {
        let code = if status == 429 {
            ErrorCode::Throttled
        } else {
            ErrorCode::ServiceError
        };
        return Attempt::Transient {
            error: Error::Service {
                code,
                context: ctx.failed(),
                failure,
            },
            retry_after,
            gone: status == 410 && ctx.source == Source::Imds,
        };
    }
    let description = failure.description.to_ascii_lowercase();
    let says = |text: &str| description.contains(text);
    let service_code = failure.code.as_deref().unwrap_or("");
    if status == 400
        && (says("identity not found") || says("no managed identity found") || says("no msi found"))
    {
        return Attempt::Fatal(Error::IdentityNotFound {
            identity: ctx.identity.to_string(),
            failure,
        });
    }
    if status == 400
        && (matches!(service_code, "invalid_resource" | "invalid_scope")
            || says("aadsts50001")
            || says("aadsts500011"))
    {
        return Attempt::Fatal(Error::InvalidResource {
            resource: ctx.resource.to_owned(),
            failure,
        });
    }
    let code = match status {
        401 => ErrorCode::AuthenticationFailed,
        // Entra ID refusing the client or its assertion (e.g. AADSTS700024, an expired
        // federated token) is an authentication failure, not a generic service error.
        400 if matches!(
            service_code,
            "invalid_client" | "unauthorized_client" | "invalid_grant"
        ) =>
        {
            ErrorCode::AuthenticationFailed
        }
        403 => ErrorCode::PermissionDenied,
        _ => ErrorCode::ServiceError,
    };
    Attempt::Fatal(Error::Service {
        code,
        context: ctx.failed(),
        failure,
    })
}

/// Reads the error bodies the sources send: `{"error":"…","error_description":"…"}` (IMDS,
/// Entra ID, Arc), `{"error":{"code":"…","message":"…"}}` (Service Fabric) and
/// `{"statusCode":…,"message":"…"}` (App Service). IMDS sometimes puts a sentence in `error`
/// (no api-version); then it is the description, not a code.
pub(crate) fn service_failure(status: u16, body: &[u8]) -> ServiceFailure {
    let text = String::from_utf8_lossy(body);
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let get = |v: Option<&Value>, k: &str| {
        v.and_then(|j| j.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let nested = json
        .as_ref()
        .and_then(|j| j.get("error"))
        .filter(|e| e.is_object());
    let (error, description) = match nested {
        Some(inner) => (get(Some(inner), "code"), get(Some(inner), "message")),
        None => (
            get(json.as_ref(), "error"),
            get(json.as_ref(), "error_description").or_else(|| get(json.as_ref(), "message")),
        ),
    };
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

/// A failed connection or a timeout: retried within the budget.
pub(crate) fn transport_failure(ctx: &Ctx<'_>, e: &reqwest::Error) -> Attempt {
    let detail = if e.is_timeout() {
        format!("no answer within {} ms", ctx.timeout.as_millis())
    } else {
        describe_transport_error(e)
    };
    let message = format!("{}: {detail}", ctx.failed());
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
        // reqwest names the URL: without its query, which may hold `token_sha256_to_refresh`.
        None => match e.url() {
            Some(url) => e.to_string().replace(url.as_str(), &shown(url)),
            None => e.to_string(),
        },
    }
}

/// The token URL without its query, for messages.
pub(crate) fn shown(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_every_source_give_code_and_description() {
        let f = service_failure(
            400,
            br#"{"error":"invalid_request","error_description":"Identity not found"}"#,
        );
        assert_eq!(f.code.as_deref(), Some("invalid_request"));
        assert_eq!(f.description, "Identity not found");
        let f = service_failure(
            401,
            br#"{"error":{"correlationId":"c","code":"SecretHeaderNotFound","message":"Secret is not found in the request headers."}}"#,
        );
        assert_eq!(f.code.as_deref(), Some("SecretHeaderNotFound"));
        assert_eq!(f.description, "Secret is not found in the request headers.");
        let f = service_failure(
            400,
            br#"{"statusCode":400,"message":"No Managed Identity found for specified ClientId/ResourceId/PrincipalId."}"#,
        );
        assert_eq!(f.code, None);
        assert!(f.description.starts_with("No Managed Identity found"));
    }

    fn ctx(source: Source) -> Ctx<'static> {
        Ctx {
            source,
            endpoint: "http://127.0.0.1:1/token",
            identity: &IdentityId::SystemAssigned,
            resource: "https://r/",
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn only_imds_retries_404_and_410() {
        for source in Source::ALL {
            for s in [408, 429, 500, 503] {
                assert!(is_transient(source, s), "{source:?} {s}");
            }
            for s in [400, 401, 403] {
                assert!(!is_transient(source, s), "{source:?} {s}");
            }
            assert_eq!(is_transient(source, 404), source == Source::Imds);
            assert_eq!(is_transient(source, 410), source == Source::Imds);
        }
    }

    #[test]
    fn entra_refusals_keep_their_aadsts_code_and_text() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range.","error_codes":[700024]}"#;
        match classify(
            &ctx(Source::WorkloadIdentity),
            service_failure(400, body),
            None,
        ) {
            Attempt::Fatal(e) => {
                assert_eq!(e.code(), ErrorCode::AuthenticationFailed);
                assert_eq!(e.service_code(), Some("invalid_client"));
                let m = e.to_string();
                assert!(
                    m.contains("AADSTS700024: Client assertion is not within"),
                    "{m}"
                );
                assert!(m.contains("AKS workload identity token request"), "{m}");
            }
            _ => panic!("not fatal"),
        }
        let body = br#"{"error":"invalid_resource","error_description":"AADSTS500011: The resource principal named https://nope was not found"}"#;
        match classify(
            &ctx(Source::WorkloadIdentity),
            service_failure(400, body),
            None,
        ) {
            Attempt::Fatal(e) => assert_eq!(e.code(), ErrorCode::InvalidResource),
            _ => panic!("not fatal"),
        }
    }
}
