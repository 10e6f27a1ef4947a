//! What both listeners do with connections: accept until a stop is requested, one task per
//! connection, then a bounded drain; and serve a connection until it ends or the stop.

use std::error::Error;
use std::future::Future;
use std::net::TcpListener as StdTcpListener;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1::Connection;
use hyper::service::HttpService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::common::state::Shared;

/// How long a stopping server lets in-flight responses finish before closing sockets.
const GRACEFUL_SHUTDOWN: Duration = Duration::from_secs(2);

/// Accept loop: `connection` runs as its own task for each accepted stream until shutdown, then
/// in-flight connections get a bounded graceful drain. `what` names the listener in errors.
pub(crate) async fn accept_loop<F, Fut>(
    listener: StdTcpListener,
    what: &str,
    shared: &Shared,
    mut connection: F,
) where
    F: FnMut(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("azmi-emulator: cannot register {what}: {e}");
            return;
        }
    };
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shared.stop_requested() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    // Responses are small; don't let Nagle hold them back on keep-alive.
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(stream));
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

/// Serves one HTTP/1.1 connection until it ends; a stop request lets the response in flight
/// finish, then closes it. Connection errors (including a handler's `DropConnection`) only end
/// this connection.
pub(crate) async fn serve_until_stopped<I, S, B>(conn: Connection<I, S>, shared: &Shared)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S: HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn Error + Send + Sync>>,
    B: Body + 'static,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shared.stop_requested() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
