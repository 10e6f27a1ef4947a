//! The plain-HTTP listener: the IMDS endpoints (as a VM sees them at 169.254.169.254) and the
//! admin API, one HTTP/1.1 connection loop.

use std::net::TcpListener as StdTcpListener;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use super::accept::{accept_loop, serve_until_stopped};
use crate::admin;
use crate::common::response::{self, Body, DropConnection};
use crate::common::state::Shared;
use crate::identity::imds;

/// Serves IMDS and the admin API until a stop is requested.
pub(crate) async fn serve(listener: StdTcpListener, shared: Arc<Shared>) {
    accept_loop(listener, "listener", &shared, |stream| {
        connection(stream, Arc::clone(&shared))
    })
    .await;
}

async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    let service_shared = Arc::clone(&shared);
    let service = service_fn(move |req| route(Arc::clone(&service_shared), req));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        // Real IMDS writes `Content-Type`, not `content-type`; some clients log headers verbatim.
        .title_case_headers(true)
        .serve_connection(TokioIo::new(stream), service);
    serve_until_stopped(conn, &shared).await;
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
