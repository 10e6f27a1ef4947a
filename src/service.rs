//! The authorized-request layer every Azure service module uses: it adds the managed identity's
//! bearer token (or, for Storage, a shared access signature in the query), refuses to send it
//! anywhere unsafe, retries what may be retried, and turns error answers into typed errors.
//!
//! - A token goes only over HTTPS; plain HTTP only to a loopback address (test endpoints).
//!   Anything else is [`ErrorCode::InsecureRequest`] and nothing is sent.
//! - Redirects are never followed here (the client does not follow any); a caller that expects
//!   one (WebHDFS) decides itself whether the token may go there.
//! - 429, 503 (and, for idempotent requests, 500, 502, 504 and failures after the request may
//!   have been sent) are retried with exponential backoff and jitter, honouring `Retry-After`,
//!   within the [`RetryPolicy`] budget; connection failures are always retried. A request whose
//!   body is a one-shot stream is never retried; a body read anew for each attempt
//!   ([`Replay`], a file's data) is, unless reading it failed here.
//! - A 401 with a claims challenge (continuous access evaluation: the token was revoked, or a
//!   policy wants more) is retried once with a new token carrying the claims; a second one is
//!   [`ErrorCode::ClaimsChallenge`], carrying the claims. Any other 401 is retried once with a
//!   token fetched anew (the cached one may have been revoked); a SAS request is not (a new
//!   attempt would carry the same signature). A 401 proves the service did nothing, so only a
//!   body that can be sent once stops the retry. azmi's calls declare the capability `cp1`.
//! - Error statuses become [`Error::Service`] with the service's code and description, read from
//!   JSON (`{"error":{"code","message"}}`, WebHDFS `{"RemoteException":{…}}`, OAuth
//!   `{"error","error_description"}`), XML (`<Error><Code>…`) or the `x-ms-error-code` header.
//!
//! Tokens never appear in messages or logs: the header is marked sensitive, URLs are shown
//! without their query.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH};
use reqwest::{Method, Response};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use crate::challenge::claims_challenge;
use crate::claims::{Claims, CP1};
use crate::client::Azmi;
use crate::error::{shorten, Error, ErrorCode, Result, ServiceFailure};
use crate::identity::{normalize_resource, ManagedIdentity};
use crate::proxy::{diagnose, ProxyRules};
use crate::retry::{parse_retry_after, RetryPolicy};
use crate::source::exchange::describe_transport_error;

/// The longest error body read from a failed response.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// How long an error body may take to arrive.
const ERROR_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a JSON answer may stall between two pieces.
const JSON_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A streamed body that can be produced again for each attempt (an upload's data read from a
/// local file), of a length known beforehand.
pub(crate) trait Replay: Send + Sync {
    /// The body for one attempt, from its first byte.
    fn body(&self) -> reqwest::Body;
    /// Why the last body could not be produced whole (the local file could not be read): the
    /// request then fails with this error and is not retried.
    fn failure(&self) -> Option<Error>;
}

/// A request body.
pub(crate) enum Body {
    Empty,
    /// Replayable: the request may be retried.
    Bytes(Bytes),
    /// Streamed and produced anew for each attempt, `len` bytes: the request may be retried.
    Replay {
        source: Arc<dyn Replay>,
        len: u64,
    },
    /// One-shot: the request is sent once and never retried.
    #[allow(dead_code)] // for services that stream uploads
    Stream(Option<reqwest::Body>),
}

impl Body {
    fn replayable(&self) -> bool {
        !matches!(self, Body::Stream(_))
    }

    fn len(&self) -> Option<u64> {
        match self {
            Body::Empty => Some(0),
            Body::Bytes(b) => Some(b.len() as u64),
            Body::Replay { len, .. } => Some(*len),
            Body::Stream(_) => None,
        }
    }

    /// The body for the next attempt; `None` when there is none to send.
    fn next(&mut self) -> Option<reqwest::Body> {
        match self {
            Body::Empty => None,
            Body::Bytes(b) => Some(reqwest::Body::from(b.clone())),
            Body::Replay { source, .. } => Some(source.body()),
            Body::Stream(s) => s.take(),
        }
    }

    /// A failure to produce the body here, which no retry can mend.
    fn local_failure(&self) -> Option<Error> {
        match self {
            Body::Replay { source, .. } => source.failure(),
            _ => None,
        }
    }
}

/// One request to a service, with what it is for (used in messages).
pub(crate) struct Request {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Body,
    timeout: Option<Duration>,
    idempotent: bool,
    redirect_expected: bool,
    expected: Option<&'static [u16]>,
    what: String,
}

impl Request {
    /// `what` says what the request does, for messages: "listing '/x' in account y". It is
    /// followed by "failed: <reason>" when the request fails.
    pub(crate) fn new(method: Method, url: Url, what: impl Into<String>) -> Request {
        Request {
            method,
            url,
            headers: HeaderMap::new(),
            body: Body::Empty,
            timeout: None,
            idempotent: true,
            redirect_expected: false,
            expected: None,
            what: what.into(),
        }
    }

    pub(crate) fn header(mut self, name: HeaderName, value: &str) -> Result<Request> {
        let value = HeaderValue::from_str(value).map_err(|_| {
            Error::InvalidArgument(format!(
                "{}: the value of header {name} cannot be sent",
                self.what
            ))
        })?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// A replayable body.
    pub(crate) fn body(mut self, body: Bytes) -> Request {
        self.body = Body::Bytes(body);
        self
    }

    /// A streamed body of `len` bytes, produced by `source` anew for each attempt.
    pub(crate) fn replay(mut self, source: Arc<dyn Replay>, len: u64) -> Request {
        self.body = Body::Replay { source, len };
        self
    }

    /// A body that can be sent only once: the request is never retried.
    #[allow(dead_code)] // for services that stream uploads
    pub(crate) fn stream(mut self, body: reqwest::Body) -> Request {
        self.body = Body::Stream(Some(body));
        self
    }

    /// The longest wait for the response's status and headers (request body upload included),
    /// per attempt. Reading the response body is the caller's business.
    pub(crate) fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = Some(timeout);
        self
    }

    /// The request must not be repeated once the service may have acted on it: only failures
    /// that prove it was not (connection refused, 429, 503) are retried.
    pub(crate) fn not_idempotent(mut self) -> Request {
        self.idempotent = false;
        self
    }

    /// A redirect (3xx) is an answer the caller handles itself (WebHDFS sends the data of a
    /// write where the first request is redirected). Without this, a redirect is an error:
    /// azmi never follows one with a token or a SAS, and nothing was done.
    pub(crate) fn redirect_expected(mut self) -> Request {
        self.redirect_expected = true;
        self
    }

    /// The success statuses this request may get (e.g. `[201]` for Put Blob); any other
    /// status below 400 is an error. Without this, any 2xx is a success.
    pub(crate) fn expect(mut self, statuses: &'static [u16]) -> Request {
        self.expected = Some(statuses);
        self
    }

    pub(crate) fn what(&self) -> &str {
        &self.what
    }
}

/// The error for a status below 400 that the request does not expect: a redirect (never
/// followed with a credential) or a success status the operation does not give.
fn unexpected_status(response: &Response, url: &Url, what: &str) -> Error {
    let status = response.status().as_u16();
    let description = if response.status().is_redirection() {
        let target = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| url.join(l).ok())
            .map_or_else(|| "elsewhere".to_owned(), |u| display_url(&u));
        format!(
            "the service redirected the request to {target}; azmi does not follow redirects with a token or SAS, so nothing was done (check the account or vault name and the endpoint)"
        )
    } else {
        format!("the service answered HTTP {status}, which this operation never gives; nothing is taken as done")
    };
    Error::Service {
        code: ErrorCode::ProtocolError,
        context: format!("{what} failed"),
        failure: ServiceFailure {
            status,
            code: None,
            description,
        },
    }
}

/// How a [`Service`] proves who it is.
#[derive(Clone)]
enum Credential {
    /// The identity's bearer token for `resource`.
    Token {
        mi: Arc<ManagedIdentity>,
        resource: Arc<str>,
    },
    /// A shared access signature (query string, no leading `?`), added to every URL; no
    /// `Authorization` header is sent.
    Sas(Arc<SecretString>),
}

/// Sends requests to one service with one identity's tokens for one resource, or with a SAS.
#[derive(Clone)]
pub(crate) struct Service {
    azmi: Azmi,
    credential: Credential,
    retry: RetryPolicy,
}

impl Service {
    /// `resource` is the token resource (a `/.default` scope is accepted); `retry` the policy
    /// for the service's transient failures.
    pub(crate) fn new(
        azmi: &Azmi,
        mi: Arc<ManagedIdentity>,
        resource: &str,
        retry: RetryPolicy,
    ) -> Result<Service> {
        let resource = normalize_resource(resource)?.into();
        // azmi answers the claims challenges of its own calls, so their tokens may be ones the
        // service can revoke at once (continuous access evaluation).
        let mi = Arc::new(mi.declaring(CP1));
        Ok(Service {
            azmi: azmi.clone(),
            credential: Credential::Token { mi, resource },
            retry,
        })
    }

    /// Requests authorized by the shared access signature `sas` (a query string such as
    /// `sv=…&sig=…`, with or without a leading `?`) instead of a token. The SAS goes only where
    /// a token would (HTTPS, or plain HTTP to loopback) and is never shown.
    pub(crate) fn with_sas(azmi: &Azmi, sas: &str, retry: RetryPolicy) -> Result<Service> {
        let sas = check_sas(sas)?;
        Ok(Service {
            azmi: azmi.clone(),
            credential: Credential::Sas(Arc::new(SecretString::from(sas.to_owned()))),
            retry,
        })
    }

    /// The token resource; "" for a SAS service.
    pub(crate) fn resource(&self) -> &str {
        match &self.credential {
            Credential::Token { resource, .. } => resource,
            Credential::Sas(_) => "",
        }
    }

    /// Whether requests carry a SAS rather than a token.
    pub(crate) fn uses_sas(&self) -> bool {
        matches!(self.credential, Credential::Sas(_))
    }

    pub(crate) fn with_resource(mut self, resource: &str) -> Result<Service> {
        match &mut self.credential {
            Credential::Token { resource: r, .. } => *r = normalize_resource(resource)?.into(),
            Credential::Sas(_) => {
                return Err(Error::InvalidArgument(
                    "a client authorized by a SAS takes no token resource".into(),
                ))
            }
        }
        Ok(self)
    }

    pub(crate) fn with_retry(mut self, retry: RetryPolicy) -> Service {
        self.retry = retry;
        self
    }

    /// Sends `req` with a bearer token (or the SAS) and returns the response when its status is
    /// one the request expects (any 2xx unless [`Request::expect`] says which; a 3xx only with
    /// [`Request::redirect_expected`], and never followed). Error statuses become
    /// [`Error::Service`]; an unexpected success or redirect status is an
    /// [`ErrorCode::ProtocolError`] carrying the status.
    pub(crate) async fn send(&self, req: Request) -> Result<Response> {
        self.send_as(req, true).await
    }

    /// Sends `req` without a token, as the Azure SDKs' challenge policies do to learn which
    /// resource a service wants a token for, and returns the `WWW-Authenticate` header of its
    /// 401 answer (`None` when it answered with success, i.e. asked for no token). Retried and
    /// mapped like [`Service::send`]; redirects and other error statuses are errors.
    pub(crate) async fn challenge(&self, req: Request) -> Result<Option<String>> {
        let response = self.send_as(req, false).await?;
        if response.status().as_u16() != 401 {
            return Ok(None);
        }
        let header = response
            .headers()
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.trim_start().to_ascii_lowercase().starts_with("bearer"))
            .map(str::to_owned);
        Ok(Some(header.unwrap_or_default()))
    }

    /// [`Service::send`] with a token (`authorized`), or without one, when a 401 answer is
    /// returned as it is.
    async fn send_as(&self, req: Request, authorized: bool) -> Result<Response> {
        let Request {
            method,
            mut url,
            mut headers,
            mut body,
            timeout,
            idempotent,
            redirect_expected,
            expected,
            what,
        } = req;
        ensure_secure(&url, &what)?;
        let token = match (&self.credential, authorized) {
            (Credential::Token { mi, resource }, true) => Some((mi, resource)),
            (Credential::Sas(sas), true) => {
                let query = match url.query() {
                    Some(q) if !q.is_empty() => format!("{q}&{}", sas.expose_secret()),
                    _ => sas.expose_secret().to_owned(),
                };
                url.set_query(Some(&query));
                None
            }
            (_, false) => None,
        };
        if matches!(body, Body::Empty)
            && matches!(method, Method::PUT | Method::POST | Method::PATCH)
        {
            // Azure answers 411 to a write without a length.
            headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        if let Body::Replay { len, .. } = &body {
            // Azure takes no chunked uploads: the length goes first.
            headers.insert(CONTENT_LENGTH, HeaderValue::from(*len));
        }
        let replayable = body.replayable();
        let net = self.azmi.network();
        net.proxy.check(&url, &what)?;
        let http = &net.service;
        let start = Instant::now();
        let mut attempt = 0u32;
        let mut refreshed = false;
        let mut answered_claims = false;
        let mut renew = Renew::No;
        loop {
            let mut builder = http
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if let Some((mi, resource)) = token {
                let grant = match std::mem::replace(&mut renew, Renew::No) {
                    Renew::No => self.azmi.get_token(mi, resource, false).await?,
                    Renew::Anew => self.azmi.get_token(mi, resource, true).await?,
                    Renew::WithClaims(claims) => {
                        self.azmi
                            .get_token_with_claims(mi, resource, &claims)
                            .await?
                    }
                };
                let mut auth = HeaderValue::try_from(format!("Bearer {}", grant.token.secret()))
                    .map_err(|_| {
                        Error::Protocol(format!(
                            "the token for {resource} cannot be sent in a header"
                        ))
                    })?;
                auth.set_sensitive(true);
                builder = builder.header(AUTHORIZATION, auth);
            }
            if let Some(b) = body.next() {
                builder = builder.body(b);
            }
            log::debug!(
                "{method} {} ({what}){}, attempt {}, {} body bytes, {}",
                display_url(&url),
                match (authorized, &token) {
                    (false, _) => " without a token",
                    (true, None) => " with a SAS",
                    (true, Some(_)) => "",
                },
                attempt + 1,
                body.len()
                    .map_or_else(|| "streamed".into(), |n| n.to_string()),
                net.proxy.route(&url)
            );
            let sent = match timeout {
                Some(t) => match tokio::time::timeout(t, builder.send()).await {
                    Ok(r) => r.map_err(Failure::Transport),
                    Err(_) => Err(Failure::TimedOut(t)),
                },
                None => builder.send().await.map_err(Failure::Transport),
            };
            let (error, retry, retry_after) = match sent {
                Ok(response) if response.status().as_u16() < 400 => {
                    let status = response.status();
                    let fine = match expected {
                        Some(list) => list.contains(&status.as_u16()),
                        None => status.is_success(),
                    } || (redirect_expected && status.is_redirection());
                    return if fine {
                        Ok(response)
                    } else {
                        Err(unexpected_status(&response, &url, &what))
                    };
                }
                Ok(response) if !authorized && response.status().as_u16() == 401 => {
                    return Ok(response)
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    let challenge = if status == 401 && token.is_some() {
                        claims_challenge(response.headers())
                    } else {
                        None
                    };
                    let failure = read_failure(response).await;
                    if let Some(claims) = challenge {
                        // Continuous access evaluation: the token was revoked, or a policy
                        // wants more of it. Answered once, with a token carrying the claims;
                        // a 401 proves the service did nothing, so the request may go again
                        // if its body can.
                        if !answered_claims && replayable {
                            log::debug!(
                                "claims challenge from {}: retrying once with a new token carrying the claims {claims}",
                                display_url(&url)
                            );
                            answered_claims = true;
                            renew = Renew::WithClaims(claims);
                            continue;
                        }
                        return Err(unanswered_challenge(
                            &what,
                            failure,
                            claims,
                            answered_claims,
                        ));
                    }
                    if status == 401 && !refreshed && replayable && token.is_some() {
                        // The cached token may have been revoked or may be for another tenant:
                        // try once more with a new one.
                        log::debug!("401 from {}: retrying with a new token", display_url(&url));
                        refreshed = true;
                        renew = Renew::Anew;
                        continue;
                    }
                    let code = classify(&failure);
                    let retry = match status {
                        429 | 503 => true,
                        500 | 502 | 504 => idempotent,
                        _ => code == ErrorCode::Throttled,
                    };
                    let error = Error::Service {
                        code,
                        context: format!("{what} failed"),
                        failure,
                    };
                    (error, retry, retry_after)
                }
                Err(Failure::TimedOut(t)) => (
                    Error::Timeout(format!(
                        "{what} failed: no answer from {} within {} s",
                        display_host(&url),
                        t.as_secs()
                    )),
                    idempotent,
                    None,
                ),
                Err(Failure::Transport(e)) => {
                    if let Some(local) = body.local_failure() {
                        // The body could not be read here (the local file): no retry mends that.
                        return Err(local);
                    }
                    // The URL may carry a SAS: keep it out of every message.
                    let e = e.without_url();
                    if let Some(error) = untrusted_certificate(&e, &url, &what, &net.proxy) {
                        // Retrying cannot help, and the hint is what the user needs.
                        return Err(error);
                    }
                    match proxy_failure(&e, &url, &what, &net.proxy).await {
                        // What the proxy answered (407, a refusal) will not change on a retry.
                        Some(failure) => (failure.error, failure.retry, None),
                        None => {
                            let detail = describe_transport_error(&e);
                            let error = if e.is_timeout() {
                                Error::Timeout(format!("{what} failed: {detail}"))
                            } else {
                                Error::Network(format!(
                                    "{what} failed: the connection to {} failed: {detail}",
                                    display_host(&url)
                                ))
                            };
                            (error, idempotent || e.is_connect(), None)
                        }
                    }
                }
            };
            if !retry || !replayable {
                return Err(error);
            }
            let left = self.retry.budget.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(error);
            }
            let delay = match retry_after {
                Some(d) if d > left => return Err(error),
                Some(d) => d,
                None => self.retry.backoff(attempt).min(left),
            };
            log::debug!("retrying in {delay:?} after: {error}");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

enum Failure {
    Transport(reqwest::Error),
    TimedOut(Duration),
}

/// The error for a server certificate azmi does not trust: nothing was sent, and the message
/// names the host, the reason, the proxy in the way (if any) and where trust comes from.
fn untrusted_certificate(
    e: &reqwest::Error,
    url: &Url,
    what: &str,
    proxy: &ProxyRules,
) -> Option<Error> {
    let tls = certificate_failure(e)?;
    let through = proxy.route(url).proxy().map_or_else(String::new, |p| {
        format!(
            " (through the proxy {}: a proxy that inspects TLS presents its own certificate, whose root must be trusted)",
            p.described()
        )
    });
    Some(Error::Insecure(format!(
        "{what} failed: the TLS certificate of {} is not trusted ({tls}){through}; azmi did not send the token. azmi trusts the operating system's certificate store and AZMI_CA_FILE: add the issuing CA to either (for azmi-emulator, set AZMI_CA_FILE to its CA file; C: azmi_set_ca_file)",
        display_host(url)
    )))
}

/// What the proxy says about a connection through it that failed (`None`: not through a
/// proxy, or the proxy opens the tunnel now and the failure is the service's).
async fn proxy_failure(
    e: &reqwest::Error,
    url: &Url,
    what: &str,
    proxy: &ProxyRules,
) -> Option<diagnose::ProxyFailure> {
    let route = proxy.route(url);
    let server = route.proxy().filter(|_| e.is_connect())?;
    let port = url.port_or_known_default().unwrap_or(443);
    diagnose::explain(server, url.host_str().unwrap_or(""), port, what).await
}

/// Which token the next attempt of a request takes.
enum Renew {
    /// The cached one (or a new one when there is none).
    No,
    /// A new one: the last was refused with a plain 401.
    Anew,
    /// A new one carrying the claims of the service's claims challenge.
    WithClaims(Claims),
}

/// The error for a claims challenge azmi does not answer: a second one within the request
/// (after one answer: no loop), or one for a request whose body can be sent only once.
fn unanswered_challenge(
    what: &str,
    failure: ServiceFailure,
    claims: Claims,
    answered: bool,
) -> Error {
    let context = if answered {
        format!(
            "{what} failed: the service answered a second claims challenge after azmi retried with a new token carrying the claims of the first (continuous access evaluation: the identity's access may have been revoked, or a policy now refuses it)"
        )
    } else {
        format!(
            "{what} failed: the service answered a claims challenge (continuous access evaluation), and the request was not repeated because its body can be sent only once; nothing was written"
        )
    };
    Error::ClaimsChallenge {
        context,
        failure,
        claims,
    }
}

/// The TLS certificate problem behind a transport error, if that is what it is. The rustls
/// error sits inside nested `io::Error`s, whose `source()` skips the wrapped error itself, so
/// those are opened with `get_ref()`.
fn certificate_failure(e: &reqwest::Error) -> Option<String> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(
            tls @ (rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::UnsupportedNameType),
        ) = err.downcast_ref::<rustls::Error>()
        {
            return Some(tls.to_string());
        }
        next = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

/// A shared access signature without its leading `?`, refused when it is not a query string.
/// The SAS itself is never quoted.
pub(crate) fn check_sas(sas: &str) -> Result<&str> {
    let sas = sas.trim();
    let sas = sas.strip_prefix('?').unwrap_or(sas);
    if sas.is_empty() || !sas.contains('=') {
        return Err(Error::InvalidArgument(
            "the SAS is empty or not a query string; give it as sv=…&sig=… (with or without a leading ?)".into(),
        ));
    }
    if sas
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '#')
    {
        return Err(Error::InvalidArgument(
            "the SAS contains white space, control characters or '#'; give the query string as the service issued it".into(),
        ));
    }
    Ok(sas)
}

/// Refuses to send a token anywhere but HTTPS, or plain HTTP to a loopback address.
pub(crate) fn ensure_secure(url: &Url, what: &str) -> Result<()> {
    let ok = match url.scheme() {
        "https" => true,
        "http" => is_loopback(url),
        _ => false,
    };
    if ok && url.username().is_empty() && url.password().is_none() {
        return Ok(());
    }
    Err(Error::Insecure(format!(
        "{what}: refusing to send a token to {}: tokens go only over HTTPS (plain HTTP only to a loopback test endpoint), to URLs without credentials",
        display_url(url)
    )))
}

/// Whether the URL's host is a loopback address (`127.0.0.0/8`, `::1`) or `localhost`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The URL without its query and fragment (a query may hold a SAS token).
pub(crate) fn display_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// `host[:port]` of the URL.
pub(crate) fn display_host(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => display_url(url),
    }
}

/// The error for an answer longer than the caller reads into memory: a protocol error (not
/// retried) naming the endpoint and the limit.
pub(crate) fn answer_too_long(what: &str, url: &Url, limit: usize) -> Error {
    Error::Protocol(format!(
        "{what}: the answer from {} is longer than {limit} bytes, the most azmi reads into memory for it; nothing more was read",
        display_host(url)
    ))
}

/// Refuses an answer whose declared length is over `limit` before any of it is read.
pub(crate) fn check_declared_length(response: &Response, limit: usize, what: &str) -> Result<()> {
    match response.content_length() {
        Some(len) if len > limit as u64 => Err(answer_too_long(what, response.url(), limit)),
        _ => Ok(()),
    }
}

/// Reads a JSON answer of at most `limit` bytes (enforced while reading). The body is kept in
/// memory that is wiped afterwards (answers may hold secrets or SAS tokens), and never quoted
/// in errors.
pub(crate) async fn read_json(mut response: Response, limit: usize, what: &str) -> Result<Value> {
    check_declared_length(&response, limit, what)?;
    let url = response.url().clone();
    let mut body = zeroize::Zeroizing::new(Vec::new());
    loop {
        let chunk = match tokio::time::timeout(JSON_IDLE_TIMEOUT, response.chunk()).await {
            Err(_) => {
                return Err(Error::Timeout(format!(
                    "{what} failed: the answer stalled for {} s",
                    JSON_IDLE_TIMEOUT.as_secs()
                )))
            }
            Ok(Err(e)) => {
                return Err(Error::Network(format!(
                    "{what} failed while reading the answer: {}",
                    describe_transport_error(&e)
                )))
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(c))) => c,
        };
        if body.len() + chunk.len() > limit {
            return Err(answer_too_long(what, &url, limit));
        }
        if body.capacity() < body.len() + chunk.len() {
            // Grow by hand so that no unwiped copy is left behind by a reallocation.
            let mut bigger = zeroize::Zeroizing::new(Vec::with_capacity(
                (body.len() + chunk.len()).max(body.capacity() * 2),
            ));
            bigger.extend_from_slice(&body);
            body = bigger;
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&body).map_err(|e| {
        Error::Protocol(format!(
            "{what}: the answer is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// Reads the error answer of a failed response (at most [`MAX_ERROR_BODY`] bytes).
async fn read_failure(mut response: Response) -> ServiceFailure {
    let status = response.status().as_u16();
    let header_code = response
        .headers()
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = response.chunk().await {
            let room = MAX_ERROR_BODY - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_ERROR_BODY {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(ERROR_BODY_TIMEOUT, read).await;
    parse_failure(status, header_code, &body)
}

/// The service's error code and description from an error body (JSON or XML) and the
/// `x-ms-error-code` header.
pub(crate) fn parse_failure(
    status: u16,
    header_code: Option<String>,
    body: &[u8],
) -> ServiceFailure {
    let (code, description) = match serde_json::from_slice::<Value>(body) {
        Ok(json) => json_failure(&json),
        Err(_) => xml_failure(&String::from_utf8_lossy(body)),
    };
    let code = code.or(header_code).filter(|c| !c.trim().is_empty());
    let description = description
        .map(|d| d.replace(['\r', '\n'], " "))
        .filter(|d| !d.trim().is_empty())
        .or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            (!text.is_empty() && !text.starts_with('{') && !text.starts_with('<'))
                .then(|| text.replace(['\r', '\n'], " "))
        });
    ServiceFailure {
        status,
        description: match (description, code.as_deref()) {
            (Some(d), _) => shorten(&d),
            // HEAD answers have no body; the error code header says more than the status.
            (None, Some("PathNotFound")) => "The specified path does not exist.".to_owned(),
            (None, Some("FilesystemNotFound")) => {
                "The specified filesystem does not exist.".to_owned()
            }
            (None, Some(c)) => c.to_owned(),
            (None, None) => reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .map_or_else(
                    || format!("HTTP {status} with no description"),
                    str::to_owned,
                ),
        },
        code,
    }
}

fn json_failure(json: &Value) -> (Option<String>, Option<String>) {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    if let Some(remote) = get_ci(json, "RemoteException") {
        return (
            text(get_ci(remote, "exception")),
            text(get_ci(remote, "message")),
        );
    }
    match json.get("error") {
        Some(Value::Object(_)) => {
            let e = &json["error"];
            (text(get_ci(e, "code")), text(get_ci(e, "message")))
        }
        Some(Value::String(e)) => match text(json.get("error_description")) {
            Some(d) => (Some(e.clone()), Some(d)),
            None if e.contains(' ') => (None, Some(e.clone())),
            None => (Some(e.clone()), None),
        },
        _ => (text(get_ci(json, "code")), text(get_ci(json, "message"))),
    }
}

fn xml_failure(text: &str) -> (Option<String>, Option<String>) {
    let element = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].trim().to_owned())
    };
    if text.contains("<Error") {
        (element("Code"), element("Message"))
    } else {
        (None, None)
    }
}

/// A JSON object member by name, ignoring case (Microsoft's WebHDFS spec and service differ in
/// case).
pub(crate) fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The library's code for a service's error answer: the service's own code where it says more
/// than the status (WebHDFS answers 403 for an existing file), else the status.
pub(crate) fn classify(failure: &ServiceFailure) -> ErrorCode {
    let status = failure.status;
    if status == 401 {
        return ErrorCode::AuthenticationFailed;
    }
    let code = failure.code.as_deref().unwrap_or("").to_ascii_lowercase();
    if code == "authenticationfailed" || code == "invalidauthenticationinfo" {
        return ErrorCode::AuthenticationFailed;
    }
    if code.contains("throttl") || code == "serverbusy" || status == 429 {
        return ErrorCode::Throttled;
    }
    if code.contains("notfound") {
        return ErrorCode::NotFound;
    }
    if code.contains("alreadyexists")
        || code.contains("parentnotdirectory")
        || code == "resourcetypemismatch"
        || code.contains("notempty")
        || code.contains("isnotemptydirectory")
        || (code == "ioexception"
            && failure
                .description
                .to_ascii_lowercase()
                .contains("not empty"))
    {
        return ErrorCode::Conflict;
    }
    if code.contains("accesscontrol")
        || code.contains("securityexception")
        || code.contains("authorization")
    {
        return ErrorCode::PermissionDenied;
    }
    match status {
        403 => ErrorCode::PermissionDenied,
        404 => ErrorCode::NotFound,
        409 | 412 => ErrorCode::Conflict,
        503 => ErrorCode::Throttled,
        _ => ErrorCode::ServiceError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn tokens_go_only_over_https_or_to_loopback() {
        assert!(ensure_secure(&url("https://x.azuredatalakestore.net/a"), "w").is_ok());
        assert!(ensure_secure(&url("http://127.0.0.1:8080/a"), "w").is_ok());
        assert!(ensure_secure(&url("http://127.5.0.1/a"), "w").is_ok());
        assert!(ensure_secure(&url("http://[::1]:1/a"), "w").is_ok());
        assert!(ensure_secure(&url("http://localhost:1/a"), "w").is_ok());
        for bad in [
            "http://x.azuredatalakestore.net/a",
            "http://10.0.0.1/a",
            "ftp://127.0.0.1/a",
            "https://user:pw@x.example/a",
        ] {
            let e = ensure_secure(&url(bad), "listing '/' in x").unwrap_err();
            assert_eq!(e.code(), ErrorCode::InsecureRequest, "{bad}");
            assert!(
                e.to_string().starts_with("listing '/' in x: refusing"),
                "{e}"
            );
            assert!(!e.to_string().contains("pw"), "{e}");
        }
    }

    #[test]
    fn urls_are_shown_without_query() {
        assert_eq!(
            display_url(&url("https://a.blob.core.windows.net/c/b?sig=secret&sv=1")),
            "https://a.blob.core.windows.net/c/b"
        );
        assert_eq!(display_host(&url("https://127.0.0.1:443/x")), "127.0.0.1");
        assert_eq!(
            display_host(&url("https://127.0.0.1:8443/x")),
            "127.0.0.1:8443"
        );
    }

    #[test]
    fn error_bodies_of_every_service_shape() {
        let f = parse_failure(
            404,
            Some("PathNotFound".into()),
            br#"{"error":{"code":"PathNotFound","message":"The specified path does not exist.\nRequestId:1\nTime:2"}}"#,
        );
        assert_eq!(f.code.as_deref(), Some("PathNotFound"));
        assert_eq!(
            f.description,
            "The specified path does not exist. RequestId:1 Time:2"
        );
        let f = parse_failure(
            404,
            None,
            br#"{"RemoteException":{"exception":"FileNotFoundException","javaClassName":"java.io.FileNotFoundException","message":"File/Folder does not exist: /x"}}"#,
        );
        assert_eq!(f.code.as_deref(), Some("FileNotFoundException"));
        assert_eq!(f.description, "File/Folder does not exist: /x");
        let f = parse_failure(
            403,
            None,
            br#"{"remoteException":{"exception":"AccessControlException","message":"no"}}"#,
        );
        assert_eq!(f.code.as_deref(), Some("AccessControlException"));
        let f = parse_failure(
            409,
            None,
            b"\xEF\xBB\xBF<?xml version=\"1.0\"?><Error><Code>ContainerAlreadyExists</Code><Message>exists\nRequestId:x</Message></Error>",
        );
        assert_eq!(f.code.as_deref(), Some("ContainerAlreadyExists"));
        assert_eq!(f.description, "exists RequestId:x");
        let f = parse_failure(
            400,
            None,
            br#"{"error":"invalid_request","error_description":"bad"}"#,
        );
        assert_eq!(f.code.as_deref(), Some("invalid_request"));
        assert_eq!(f.description, "bad");
        let f = parse_failure(412, Some("ConditionNotMet".into()), b"");
        assert_eq!(f.code.as_deref(), Some("ConditionNotMet"));
        assert_eq!(f.description, "ConditionNotMet");
        let f = parse_failure(404, Some("PathNotFound".into()), b"");
        assert_eq!(f.description, "The specified path does not exist.");
        assert_eq!(parse_failure(404, None, b"").description, "Not Found");
        assert_eq!(
            parse_failure(599, None, b"").description,
            "HTTP 599 with no description"
        );
        let f = parse_failure(502, None, b"Bad gateway\n");
        assert_eq!(f.code, None);
        assert_eq!(f.description, "Bad gateway");
        let long = format!(
            r#"{{"error":{{"code":"X","message":"{}"}}}}"#,
            "a".repeat(5000)
        );
        assert!(parse_failure(500, None, long.as_bytes()).description.len() < 700);
    }

    fn code_of(status: u16, code: Option<&str>, description: &str) -> ErrorCode {
        classify(&ServiceFailure {
            status,
            code: code.map(str::to_owned),
            description: description.into(),
        })
    }

    #[test]
    fn statuses_and_service_codes_map_to_library_codes() {
        use ErrorCode::*;
        assert_eq!(
            code_of(401, Some("SecurityException"), ""),
            AuthenticationFailed
        );
        assert_eq!(code_of(401, None, ""), AuthenticationFailed);
        assert_eq!(
            code_of(403, Some("AuthenticationFailed"), ""),
            AuthenticationFailed
        );
        assert_eq!(
            code_of(403, Some("AuthorizationFailure"), ""),
            PermissionDenied
        );
        assert_eq!(code_of(404, Some("BlobNotFound"), ""), NotFound);
        assert_eq!(code_of(404, Some("ContainerNotFound"), ""), NotFound);
        assert_eq!(code_of(409, Some("BlobAlreadyExists"), ""), Conflict);
        assert_eq!(code_of(412, Some("ConditionNotMet"), ""), Conflict);
        assert_eq!(code_of(403, None, ""), PermissionDenied);
        assert_eq!(
            code_of(403, Some("AccessControlException"), ""),
            PermissionDenied
        );
        assert_eq!(
            code_of(403, Some("SecurityException"), ""),
            PermissionDenied
        );
        assert_eq!(
            code_of(403, Some("AuthorizationPermissionMismatch"), ""),
            PermissionDenied
        );
        assert_eq!(
            code_of(403, Some("FileAlreadyExistsException"), ""),
            Conflict
        );
        assert_eq!(code_of(409, Some("PathAlreadyExists"), ""), Conflict);
        assert_eq!(code_of(409, Some("DirectoryNotEmpty"), ""), Conflict);
        assert_eq!(
            code_of(403, Some("IOException"), "Directory is not empty"),
            Conflict
        );
        assert_eq!(code_of(412, None, ""), Conflict);
        assert_eq!(code_of(404, Some("FileNotFoundException"), ""), NotFound);
        assert_eq!(code_of(404, Some("PathNotFound"), ""), NotFound);
        assert_eq!(code_of(400, Some("SourcePathNotFound"), ""), NotFound);
        assert_eq!(code_of(404, None, ""), NotFound);
        assert_eq!(code_of(429, None, ""), Throttled);
        assert_eq!(code_of(503, None, ""), Throttled);
        assert_eq!(code_of(500, Some("ThrottledException"), ""), Throttled);
        assert_eq!(code_of(500, None, ""), ServiceError);
        assert_eq!(code_of(400, Some("BadOffsetException"), ""), ServiceError);
    }
}
