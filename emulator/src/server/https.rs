//! The HTTPS listener of the service endpoints: TLS, HTTP/1.1, then per request the service
//! fault script, counting and logging, and the [`Service`] that listener serves.

use std::io;
use std::net::{IpAddr, TcpListener as StdTcpListener};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::AUTHORIZATION;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::accept::{accept_loop, serve_until_stopped};
use crate::common::body::{self, RequestBody, SvcBody};
use crate::common::faults::Fault;
use crate::common::response::{with_retry_after, DropConnection};
use crate::common::service::{Ctx, Service};
use crate::common::state::{RecordedRequest, Shared};

/// A client that connects but never completes the handshake is dropped after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a request body a status fault reads before answering, to keep the connection.
const FAULT_DRAIN_LIMIT: u64 = 16 * 1024 * 1024;

/// Serves `service` over TLS until a stop is requested.
pub(crate) async fn serve<S: Service>(
    listener: StdTcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    service: Arc<S>,
) {
    accept_loop(listener, "HTTPS listener", &shared, |stream| {
        let ctx = Arc::new(Ctx {
            shared: Arc::clone(&shared),
            svc: Arc::clone(&service),
        });
        connection(stream, acceptor.clone(), ctx)
    })
    .await;
}

async fn connection<S: Service>(stream: TcpStream, acceptor: TlsAcceptor, ctx: Arc<Ctx<S>>) {
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
    let tls = tokio::select! {
        done = handshake => match done {
            Ok(Ok(tls)) => tls,
            // A failed handshake (e.g. a client that does not trust the CA) only ends this
            // connection.
            _ => return,
        },
        _ = ctx.shared.stop_requested() => return,
    };
    let service_ctx = Arc::clone(&ctx);
    let service = service_fn(move |req| route(Arc::clone(&service_ctx), req));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(TokioIo::new(tls), service);
    serve_until_stopped(conn, &ctx.shared).await;
}

async fn route<S: Service>(
    ctx: Arc<Ctx<S>>,
    req: Request<Incoming>,
) -> Result<Response<SvcBody>, DropConnection> {
    let fault = ctx.shared.begin_service_request(record(&req));
    let response = match fault {
        None => S::handle(&ctx, req).await?,
        Some(Fault::Delay { ms, .. }) => {
            // Stopping the emulator must not wait out a long scripted delay.
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
                _ = ctx.shared.stop_requested() => return Err(DropConnection),
            }
            S::handle(&ctx, req).await?
        }
        Some(Fault::Drop { .. }) => return Err(DropConnection),
        Some(Fault::DropAfterBytes { bytes, .. }) => {
            let (_, incoming) = req.into_parts();
            let mut body = RequestBody::new(incoming, Arc::clone(&ctx.shared));
            // Reading stops at the first chunk that reaches `bytes` (or at the end of the body).
            if bytes > 0 {
                let _ = body.drain(bytes - 1).await;
            }
            return Err(DropConnection);
        }
        Some(Fault::Status {
            status,
            retry_after,
            ..
        }) => {
            let (parts, incoming) = req.into_parts();
            let mut body = RequestBody::new(incoming, Arc::clone(&ctx.shared));
            let _ = body.drain(FAULT_DRAIN_LIMIT).await;
            with_retry_after(
                S::fault_response(&ctx, status, retry_after, &parts),
                retry_after,
            )
        }
        Some(Fault::Malformed { .. }) => {
            let (parts, _) = req.into_parts();
            S::malformed(&ctx, &parts)
        }
        Some(Fault::ClaimsChallenge { .. }) => {
            let (parts, incoming) = req.into_parts();
            let mut body = RequestBody::new(incoming, Arc::clone(&ctx.shared));
            let _ = body.drain(FAULT_DRAIN_LIMIT).await;
            ctx.shared.claims_challenge_served();
            S::claims_challenge(&ctx, crate::common::util::now_secs(), &parts)
        }
    };
    Ok(response.map(|b| body::counted(b, Arc::clone(&ctx.shared))))
}

/// The request as received; the token itself is not kept, only that one was sent.
fn record(req: &Request<Incoming>) -> RecordedRequest {
    RecordedRequest {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or("").to_string(),
        headers: req
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = if *name == AUTHORIZATION {
                    redact(value.as_bytes())
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                (name.as_str().to_string(), value)
            })
            .collect(),
    }
}

fn redact(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    match text.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} <redacted>"),
        None => "<redacted>".to_string(),
    }
}

/// Binds the HTTPS listener synchronously, so the port is known when `start` returns.
pub(crate) fn bind(ip: IpAddr, port: u16) -> io::Result<StdTcpListener> {
    let listener = StdTcpListener::bind((ip, port))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_is_redacted_but_visible() {
        assert_eq!(redact(b"Bearer eyJ.abc.def"), "Bearer <redacted>");
        assert_eq!(redact(b"token"), "<redacted>");
    }
}
