//! Why a connection through a proxy failed, asked of the proxy itself. reqwest reports a
//! refused tunnel as "unsuccessful" without the status, but a user needs to know whether the
//! proxy is down, wants credentials (407) or refuses the destination (403, 502). This runs only
//! after a request through a proxy failed to connect; it opens one connection to the proxy and
//! asks for the same tunnel, then closes it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ProxyServer;
use crate::error::Error;

/// How long the proxy may take to accept the connection and to answer.
const WINDOW: Duration = Duration::from_secs(5);
/// The most of the proxy's answer read (its status line and headers).
const MAX_HEAD: usize = 16 * 1024;

/// What the proxy said.
#[derive(Debug, PartialEq, Eq)]
enum Finding {
    /// No connection; `refused`: nothing listens at the proxy's address.
    Unreachable {
        detail: String,
        refused: bool,
    },
    /// 407 (or 401, as tinyproxy answers wrong credentials), with the scheme and realm it
    /// asks for.
    AuthRequired {
        status: u16,
        reason: String,
        challenge: Option<String>,
    },
    Refused {
        status: u16,
        reason: String,
    },
    NotAProxy(String),
    /// The tunnel opens now: the failure was something else (or has passed).
    TunnelOpens,
}

/// What the proxy said about a failed connection through it, as the error to report.
pub(crate) struct ProxyFailure {
    pub error: Error,
    /// Worth another try within the retry budget: a proxy that did not answer in time, or
    /// dropped the connection, may be back; one that answered (407, a refusal) or that nothing
    /// listens for (connection refused: a wrong address, or the proxy is not running) will say
    /// the same again, and the user is better served by the message at once.
    pub retry: bool,
}

/// The proxy error behind a failed connection to `host:port` through `server`, or `None` when
/// the proxy opens the tunnel now (the caller then reports the failure as it is). `what` is the
/// request ("reading secret 'x' of vault y").
pub(crate) async fn explain(
    server: &ProxyServer,
    host: &str,
    port: u16,
    what: &str,
) -> Option<ProxyFailure> {
    let finding = ask(server, host, port).await;
    let retry = match &finding {
        Finding::Unreachable { refused, .. } => !refused,
        Finding::NotAProxy(_) => true,
        _ => false,
    };
    let error = describe(server, &format!("{host}:{port}"), what, finding)?;
    Some(ProxyFailure { error, retry })
}

async fn ask(server: &ProxyServer, host: &str, port: u16) -> Finding {
    let (proxy_host, proxy_port) = server.host_and_port();
    let connect = tokio::net::TcpStream::connect((proxy_host.as_str(), proxy_port));
    let mut stream = match tokio::time::timeout(WINDOW, connect).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Finding::Unreachable {
                refused: e.kind() == std::io::ErrorKind::ConnectionRefused,
                detail: e.to_string(),
            }
        }
        Err(_) => {
            return Finding::Unreachable {
                detail: format!("no connection within {} s", WINDOW.as_secs()),
                refused: false,
            }
        }
    };
    if server.is_https() {
        // Asking an https:// proxy needs TLS to it; that it takes connections is all we learn.
        return Finding::TunnelOpens;
    }
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = zeroize::Zeroizing::new(format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: azmi/{}\r\n",
        env!("CARGO_PKG_VERSION")
    ));
    if let Some(auth) = server.authorization().and_then(|v| v.to_str().ok()) {
        request.push_str("Proxy-Authorization: ");
        request.push_str(auth);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let exchange = async {
        stream.write_all(request.as_bytes()).await?;
        let mut head = Vec::new();
        let mut buf = [0u8; 2048];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(head)
    };
    match tokio::time::timeout(WINDOW, exchange).await {
        Err(_) => Finding::NotAProxy(format!("no answer within {} s", WINDOW.as_secs())),
        Ok(Err(e)) => Finding::NotAProxy(e.to_string()),
        Ok(Ok(head)) => read_answer(&head),
    }
}

fn read_answer(head: &[u8]) -> Finding {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut words = status_line.splitn(3, ' ');
    let (version, status) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let reason: String = words
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    let Some(status) = status
        .parse::<u16>()
        .ok()
        .filter(|_| version.starts_with("HTTP/"))
    else {
        return Finding::NotAProxy(if head.is_empty() {
            "it closed the connection without an answer".into()
        } else {
            "its answer is not HTTP".into()
        });
    };
    match status {
        200..=299 => Finding::TunnelOpens,
        401 | 407 => Finding::AuthRequired {
            status,
            reason,
            challenge: lines
                .filter_map(|l| l.split_once(':'))
                .find(|(name, _)| {
                    let name = name.trim();
                    name.eq_ignore_ascii_case("proxy-authenticate")
                        || name.eq_ignore_ascii_case("www-authenticate")
                })
                .map(|(_, v)| {
                    v.trim()
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(100)
                        .collect()
                }),
        },
        _ => Finding::Refused { status, reason },
    }
}

fn describe(server: &ProxyServer, target: &str, what: &str, finding: Finding) -> Option<Error> {
    let proxy = server.described();
    let (status, message) = match finding {
        Finding::TunnelOpens => return None,
        Finding::Unreachable { detail, .. } => (
            None,
            format!(
                "{what} failed: the proxy {proxy} could not be reached: {detail}. Check that it runs at that address, or change the proxy setting"
            ),
        ),
        Finding::AuthRequired {
            status,
            reason,
            challenge,
        } => {
            let asks = challenge.map_or_else(String::new, |c| format!("; it asks for {c}"));
            let advice = if server.has_credentials() {
                "it refused the user name and password given; check them".to_owned()
            } else {
                "none were given: put them in the proxy URL (http://user:password@host:port, in HTTPS_PROXY), or set the proxy with credentials (Set-AzMiProxy -Credential, AzMiLibrary.SetProxy, azmi_set_proxy_with_credentials)".to_owned()
            };
            (
                Some(status),
                format!(
                    "{what} failed: the proxy {proxy} asked for credentials (HTTP {status}{}{reason}{asks}); {advice}",
                    if reason.is_empty() { "" } else { " " }
                ),
            )
        }
        Finding::Refused { status, reason } => (
            Some(status),
            format!(
                "{what} failed: the proxy {proxy} refused to open a tunnel to {target} (HTTP {status}{}{reason}); nothing was sent to the service. The proxy's rules do not let this request through: ask its administrators, or, if the host is reachable without the proxy, add it to NO_PROXY",
                if reason.is_empty() { "" } else { " " }
            ),
        ),
        Finding::NotAProxy(detail) => (
            None,
            format!(
                "{what} failed: the proxy {proxy} did not answer as an HTTP proxy when asked for a tunnel to {target}: {detail}"
            ),
        ),
    };
    Some(Error::Proxy { message, status })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxys_answer_says_what_went_wrong() {
        assert_eq!(
            read_answer(b"HTTP/1.1 200 Connection established\r\n\r\n"),
            Finding::TunnelOpens
        );
        assert_eq!(
            read_answer(
                b"HTTP/1.0 407 Proxy Authentication Required\r\nServer: tinyproxy\r\nProxy-Authenticate: Basic realm=\"tinyproxy\"\r\n\r\n"
            ),
            Finding::AuthRequired {
                status: 407,
                reason: "Proxy Authentication Required".into(),
                challenge: Some("Basic realm=\"tinyproxy\"".into())
            }
        );
        assert_eq!(
            read_answer(b"HTTP/1.1 403 Access violation\r\n\r\n"),
            Finding::Refused {
                status: 403,
                reason: "Access violation".into()
            }
        );
        assert!(matches!(read_answer(b""), Finding::NotAProxy(_)));
        assert!(matches!(
            read_answer(b"SSH-2.0-OpenSSH\r\n"),
            Finding::NotAProxy(_)
        ));
    }
}
