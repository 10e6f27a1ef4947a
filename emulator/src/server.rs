//! The [`Emulator`] handle, its dedicated server thread and the HTTP/1.1 connection loop.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener as StdTcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::admin;
use crate::config::{check_loopback, EmulatorConfig, ResponseStyle};
use crate::faults::Fault;
use crate::imds::{self, Outcome, TOKEN_PATH};
use crate::response::{self, Body};
use crate::state::{Counters, RecordedRequest, Shared};

/// How long a stopping server lets in-flight responses finish before closing sockets.
const GRACEFUL_SHUTDOWN: Duration = Duration::from_secs(2);

/// A running emulator. It serves on its own thread and tokio runtime, so it works the same from
/// synchronous tests and from inside another runtime. Dropping it stops the server.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Binds (synchronously, so the port is known and connectable on return) and starts serving.
    pub fn start(config: EmulatorConfig) -> io::Result<Emulator> {
        check_loopback(config.bind).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        config
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;

        let listener = StdTcpListener::bind((config.bind, config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared::new(&config));
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("azmi-emulator-{}", addr.port()))
            .spawn(move || runtime.block_on(serve(listener, thread_shared)))?;

        Ok(Emulator {
            shared,
            addr,
            thread: Some(thread),
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT` (or `http://[::1]:PORT` when bound to IPv6 loopback).
    pub fn base_url(&self) -> String {
        match self.addr.ip() {
            IpAddr::V4(ip) => format!("http://{ip}:{}", self.addr.port()),
            IpAddr::V6(ip) => format!("http://[{ip}]:{}", self.addr.port()),
        }
    }

    /// The IMDS token endpoint URL (what `AZMI_IMDS_ENDPOINT` should be set to).
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.base_url())
    }

    pub fn counters(&self) -> Counters {
        self.shared.mutable().counters
    }

    /// The last 100 token requests, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.mutable().requests.iter().cloned().collect()
    }

    /// Replaces the fault queue.
    pub fn set_faults(&self, faults: Vec<Fault>) {
        self.shared.set_faults(faults);
    }

    /// Clears counters, the request log and faults (settings are kept).
    pub fn reset(&self) {
        self.shared.reset();
    }

    pub fn set_token_lifetime(&self, secs: u64) {
        self.shared
            .update_settings(|s| s.token_lifetime_secs = secs);
    }

    pub fn set_refresh_in(&self, secs: Option<u64>) {
        self.shared.update_settings(|s| s.refresh_in_secs = secs);
    }

    pub fn set_response_style(&self, style: ResponseStyle) {
        self.shared.update_settings(|s| s.response_style = style);
    }

    /// Whether a stop was requested (`POST /admin/shutdown`, or [`Emulator::shutdown`]).
    pub fn is_stopping(&self) -> bool {
        *self.shared.shutdown.borrow()
    }

    /// Resolves once a stop was requested, e.g. by `POST /admin/shutdown`. Works from any
    /// runtime (the binary awaits it next to its signal handlers).
    pub async fn stopped(&self) {
        self.shared.stop_requested().await;
    }

    /// Stops serving, lets in-flight responses finish briefly, and joins the server thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shared.request_shutdown();
        if let Some(thread) = self.thread.take() {
            // The thread only returns after closing its sockets; a panic there is already
            // reported on stderr by the panic hook, so it is not re-raised here (this also runs
            // from Drop, where a second panic would abort).
            let _ = thread.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish()
    }
}

/// Accept loop: one task per connection until shutdown, then a bounded graceful drain.
async fn serve(listener: StdTcpListener, shared: Arc<Shared>) {
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

/// The error a service returns to make hyper close the connection without answering.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault script")
    }
}

impl std::error::Error for DropConnection {}

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
    if path == TOKEN_PATH {
        let (parts, _body) = req.into_parts();
        match imds::handle(&shared, &parts).await {
            Outcome::Respond(response) => Ok(response),
            Outcome::Drop => Err(DropConnection),
        }
    } else if path.starts_with("/admin/") {
        Ok(admin::handle(&shared, req).await)
    } else {
        Ok(response::not_found())
    }
}
