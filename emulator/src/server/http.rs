//! The plain-HTTP listener: the IMDS endpoints (as a VM sees them at 169.254.169.254) and the
//! admin API, one HTTP/1.1 connection loop.

use std::net::TcpListener as StdTcpListener;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::admin;
use crate::common::response::{self, Body, DropConnection};
use crate::common::state::Shared;
use crate::identity::imds;

/// How long a stopping server lets in-flight responses finish before closing sockets.
const GRACEFUL_SHUTDOWN: Duration = Duration::from_secs(2);

/// Accept loop: one task per connection until shutdown, then a bounded graceful drain.
pub(crate) async fn serve(listener: StdTcpListener, shared: Arc<Shared>) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("azmi-emulator: cannot register listener: {e}");
            return;
        }
    };
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shared.stop_requested() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    // Responses are tiny; don't let Nagle hold them back on keep-alive.
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(stream, Arc::clone(&shared)));
                }
                // Transient accept errors (EMFILE, aborted handshakes) must not end the server.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            // Reap finished connections so the set does not grow for the emulator's lifetime.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(GRACEFUL_SHUTDOWN, drain)
        .await
        .is_err()
    {
        connections.abort_all();
    }
}

async fn connection(stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    let service_shared = Arc::clone(&shared);
    let service = service_fn(move |req| route(Arc::clone(&service_shared), req));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        // Real IMDS writes `Content-Type`, not `content-type`; some clients log headers verbatim.
        .title_case_headers(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    // Connection errors (including our own DropConnection) only end this connection.
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shared.stop_requested() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn route(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let path = req.uri().path();
    if imds::serves(path) {
        imds::handle(&shared, req).await
    } else if path.starts_with("/admin/") {
        Ok(admin::handle(&shared, req).await)
    } else {
        Ok(response::not_found())
    }
}
