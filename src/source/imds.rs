//! Token requests to the IMDS endpoint (and endpoints that speak its protocol), with the
//! retries Microsoft recommends and a fast failure when no IMDS is there at all. The request
//! and retry loop are shared with the other sources (`crate::source::exchange`); what is IMDS's
//! own is the probe of an endpoint that has never answered: a token request without the
//! `Metadata` header, which IMDS refuses at once with an error of its own and without minting
//! a token (`../shared/azure-protocols.md` §14). It tells a slow IMDS (seconds for a VM's first
//! token: waited for) from a host that takes connections and never answers, or answers as
//! something else (a transparent proxy or firewall: no managed identity, within the window).

use std::collections::HashSet;
#[cfg(test)]
use std::time::Duration;
use std::time::Instant;

use parking_lot::RwLock;
use serde_json::Value;

use crate::error::{Error, Result};
#[cfg(test)]
use crate::error::{ErrorCode, ServiceFailure};
use crate::identity::ManagedIdentity;
#[cfg(test)]
use crate::source::exchange::service_failure;
use crate::source::exchange::{self, describe_transport_error, Attempt, Ctx, SendError};
use crate::source::Source;
use crate::token::AccessToken;

/// The API version every IMDS deployment serves for tokens.
pub const API_VERSION: &str = "2018-02-01";

/// Endpoints found to be IMDS. Until one is, its first request is preceded by the probe.
/// Failures are not recorded, so a later call probes again.
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

/// Gets a token from the identity's endpoint, retrying transient failures within the budget.
/// Dropping the future stops at once (that is how cancellation works).
pub(crate) async fn request_token(
    http: &reqwest::Client,
    probes: &EndpointProbes,
    mi: &ManagedIdentity,
    resource: &str,
) -> Result<AccessToken> {
    let url = token_url(mi, resource);
    let ctx = imds_ctx(mi, resource);
    exchange::with_retries(&mi.options.retry, |attempt| {
        let (ctx, url) = (&ctx, &url);
        async move {
            if attempt == 0 && !probes.has_answered(mi.endpoint()) {
                // The short window decides only whether IMDS is there: a machine without a
                // managed identity fails within it, but a present IMDS that takes seconds to
                // fetch a VM's first token is then waited for like any other request.
                if let Err(detail) = probe(http, mi, url).await {
                    return Attempt::Fatal(Error::ManagedIdentityUnavailable {
                        endpoint: mi.endpoint().to_owned(),
                        detail,
                    });
                }
                probes.mark_answered(mi.endpoint());
            }
            log::debug!(
                "token request #{} for {resource} ({}) to {}",
                attempt + 1,
                mi.identity,
                mi.endpoint()
            );
            attempt_once(http, ctx, url).await
        }
    })
    .await
}

/// Whether IMDS is at the endpoint, decided within the probe window: first whether anything
/// takes a TCP connection, then the token request without the `Metadata` header, which IMDS
/// answers at once (400 `bad_request_102`). `Err` says what was seen instead.
async fn probe(
    http: &reqwest::Client,
    mi: &ManagedIdentity,
    url: &url::Url,
) -> std::result::Result<(), String> {
    let window = mi.options.probe_timeout;
    let deadline = Instant::now() + window;
    connect(mi).await?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(std::time::Duration::from_millis(1));
    // Deliberately without `Metadata: true`: IMDS refuses it before doing anything else.
    match exchange::send(http.get(url.clone()).timeout(left)).await {
        Ok(answer) if answers_like_imds(answer.status, &answer.body) => Ok(()),
        Ok(answer) => Err(format!(
            "something answered HTTP {}, but not as a managed identity endpoint does (a proxy or firewall in the way?)",
            answer.status
        )),
        Err(SendError::TooLong) => Err(format!(
            "something answered with more than {} bytes, not as a managed identity endpoint does (a proxy or firewall in the way?)",
            exchange::MAX_TOKEN_ANSWER
        )),
        Err(SendError::Transport(e)) if e.is_timeout() => Err(format!(
            "something accepted the connection but sent no answer within {} ms, as a transparent proxy or firewall that takes every connection does",
            window.as_millis()
        )),
        Err(SendError::Transport(e)) => Err(format!(
            "the connection failed: {}",
            describe_transport_error(&e)
        )),
    }
}

/// Opens (and closes) a TCP connection to the endpoint within the probe timeout: whether
/// anything is there at all.
async fn connect(mi: &ManagedIdentity) -> std::result::Result<(), String> {
    let url = mi.config.endpoint();
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

/// What the shared exchange needs to know of an IMDS request.
fn imds_ctx<'a>(mi: &'a ManagedIdentity, resource: &'a str) -> Ctx<'a> {
    Ctx {
        source: Source::Imds,
        endpoint: mi.endpoint(),
        identity: &mi.identity,
        resource,
        timeout: mi.options.request_timeout,
    }
}

fn token_url(mi: &ManagedIdentity, resource: &str) -> url::Url {
    let mut url = mi.config.endpoint().clone();
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

async fn attempt_once(http: &reqwest::Client, ctx: &Ctx<'_>, url: &url::Url) -> Attempt {
    let sent_at = chrono::Utc::now().timestamp();
    let request = http
        .get(url.clone())
        .header("Metadata", "true")
        .timeout(ctx.timeout);
    match exchange::send(request).await {
        Ok(answer) => exchange::finish(ctx, &answer, sent_at),
        Err(SendError::TooLong) => Attempt::Fatal(exchange::too_long(ctx)),
        Err(SendError::Transport(e)) => exchange::transport_failure(ctx, &e),
    }
}

/// Whether an answer to the probe comes from IMDS: its JSON error (`{"error":…}`, whatever
/// the status: 400 without the header, 429 or 5xx when busy), or a JSON 200 from an endpoint
/// speaking its protocol that does not ask for the header. A proxy's or firewall's page is
/// not.
fn answers_like_imds(status: u16, body: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => status == 200 || o.contains_key("error"),
        _ => false,
    }
}

/// Maps an error status to the library's errors and decides whether to retry.
#[cfg(test)]
fn classify_failure(
    mi: &ManagedIdentity,
    resource: &str,
    failure: ServiceFailure,
    retry_after: Option<Duration>,
) -> Attempt {
    let ctx = imds_ctx(mi, resource);
    exchange::classify(&ctx, failure, retry_after)
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
        assert!(answers_like_imds(
            400,
            br#"{"error":"bad_request_102","error_description":"Required metadata header not specified"}"#
        ));
        assert!(answers_like_imds(
            429,
            br#"{"error":"too_many_requests","error_description":"x"}"#
        ));
        assert!(answers_like_imds(200, br#"{"access_token":"x"}"#));
        assert!(!answers_like_imds(200, b"<html>captive portal</html>"));
        assert!(!answers_like_imds(200, b""));
        assert!(!answers_like_imds(503, b"<html>Service Unavailable</html>"));
        assert!(!answers_like_imds(403, b"resolve_deny"));
        assert!(!answers_like_imds(407, b"<html>proxy</html>"));
        assert!(!answers_like_imds(403, br#"{"message":"nope"}"#));
        assert!(!answers_like_imds(400, br#"["error"]"#));
    }

    #[test]
    fn error_bodies_give_code_and_description() {
        // The OAuth shape is tested with every source's in source::exchange; these are IMDS's own.
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
