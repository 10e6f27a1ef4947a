//! Token requests to the IMDS endpoint (and endpoints that speak its protocol), with the
//! retries Microsoft recommends and a fast failure when no endpoint is there at all. The request
//! and retry loop are shared with the other sources (`crate::source::exchange`); what is IMDS's
//! own is the connection probe and the check that the first answer comes from an IMDS.

use std::collections::HashSet;
#[cfg(test)]
use std::time::Duration;

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
            // Until the endpoint has answered once, its first answer is checked to come from a
            // managed identity endpoint (not a proxy that answers for the address).
            let probing = !probes.has_answered(mi.endpoint());
            if probing && attempt == 0 {
                // The short window decides only whether an endpoint is there: a machine
                // without a managed identity fails within it, but a present IMDS that takes
                // seconds to fetch the first token of a VM is waited for like any other
                // request.
                if let Err(detail) = probe_connection(mi).await {
                    return Attempt::Fatal(Error::ManagedIdentityUnavailable {
                        endpoint: mi.endpoint().to_owned(),
                        detail,
                    });
                }
            }
            log::debug!(
                "token request #{} for {resource} ({}) to {}",
                attempt + 1,
                mi.identity,
                mi.endpoint()
            );
            attempt_once(http, probes, mi, ctx, url, probing).await
        }
    })
    .await
}

/// Opens (and closes) a TCP connection to the endpoint within the probe timeout: whether
/// anything is there at all. Failing here is "no managed identity", at once or after the
/// timeout where nothing answers the connection.
async fn probe_connection(mi: &ManagedIdentity) -> std::result::Result<(), String> {
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

async fn attempt_once(
    http: &reqwest::Client,
    probes: &EndpointProbes,
    mi: &ManagedIdentity,
    ctx: &Ctx<'_>,
    url: &url::Url,
    probing: bool,
) -> Attempt {
    let sent_at = chrono::Utc::now().timestamp();
    let request = http
        .get(url.clone())
        .header("Metadata", "true")
        .timeout(ctx.timeout);
    let answer = match exchange::send(request).await {
        Ok(answer) => answer,
        Err(SendError::TooLong) => return Attempt::Fatal(exchange::too_long(ctx)),
        Err(SendError::Transport(e)) => return transport_failure(mi, ctx, &e, probing),
    };
    if probing && !answers_like_imds(answer.status, &answer.body) {
        // Off Azure, a proxy or firewall may answer for 169.254.169.254 (403, 407, …): that is
        // no managed identity, not a service error to report as such.
        return Attempt::Fatal(Error::ManagedIdentityUnavailable {
            endpoint: mi.endpoint().to_owned(),
            detail: format!(
                "something answered HTTP {}, but not as a managed identity endpoint (a proxy or firewall in the way?)",
                answer.status
            ),
        });
    }
    probes.mark_answered(mi.endpoint());
    exchange::finish(ctx, &answer, sent_at)
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

fn transport_failure(
    mi: &ManagedIdentity,
    ctx: &Ctx<'_>,
    e: &reqwest::Error,
    probing: bool,
) -> Attempt {
    if probing && e.is_connect() {
        // The endpoint took a connection a moment ago and now refuses one: it is not there
        // (the next call probes again).
        return Attempt::Fatal(Error::ManagedIdentityUnavailable {
            endpoint: mi.endpoint().to_owned(),
            detail: describe_transport_error(e),
        });
    }
    exchange::transport_failure(ctx, e)
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
