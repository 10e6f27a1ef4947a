//! The plain-HTTP listener: the IMDS endpoints (as a VM sees them at 169.254.169.254), or the
//! token endpoint of the other managed-identity source the emulator was started as, and the
//! admin API, one HTTP/1.1 connection loop.

use std::net::TcpListener as StdTcpListener;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// A client that connects but never completes the handshake is dropped after this.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

use super::accept::{accept_loop, serve_until_stopped};
use crate::admin;
use crate::common::managed_identity::IdentitySource;
use crate::common::response::{self, Body, DropConnection};
use crate::common::state::Shared;
use crate::identity::{
    app_service, arc, azure_ml, cloud_shell, imds, service_fabric, workload_identity,
};

/// Serves IMDS and the admin API until a stop is requested.
pub(crate) async fn serve(listener: StdTcpListener, shared: Arc<Shared>) {
    accept_loop(listener, "listener", &shared, |stream| {
        connection(stream, Arc::clone(&shared))
    })
    .await;
}

/// Serves the token endpoints of Service Fabric (with its pinned certificate) or workload
/// identity over TLS until a stop is requested (only those: the admin API stays on the plain
/// listener).
pub(crate) async fn serve_tls_source(
    listener: StdTcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
) {
    accept_loop(listener, "token source TLS listener", &shared, |stream| {
        let shared = Arc::clone(&shared);
        let acceptor = acceptor.clone();
        async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            let tls = tokio::select! {
                done = handshake => match done {
                    Ok(Ok(tls)) => tls,
                    // A client that rejects the certificate only ends this connection.
                    _ => return,
                },
                _ = shared.stop_requested() => return,
            };
            let service_shared = Arc::clone(&shared);
            let service = service_fn(move |req: Request<Incoming>| {
                let shared = Arc::clone(&service_shared);
                async move {
                    let path = req.uri().path();
                    match shared.source {
                        IdentitySource::ServiceFabric if path == service_fabric::TOKEN_PATH => {
                            service_fabric::handle(&shared, req).await
                        }
                        IdentitySource::WorkloadIdentity if workload_identity::serves(path) => {
                            workload_identity::handle(&shared, req).await
                        }
                        _ => Ok(response::not_found()),
                    }
                }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .keep_alive(true)
                .serve_connection(TokioIo::new(tls), service);
            serve_until_stopped(conn, &shared).await;
        }
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
    // The token path is the started source's; the admin API is there whatever the source.
    match shared.source {
        IdentitySource::Imds if imds::serves(path) => return imds::handle(&shared, req).await,
        IdentitySource::AppService if path == app_service::TOKEN_PATH => {
            return app_service::handle(&shared, req).await
        }
        IdentitySource::AzureMl if path == azure_ml::TOKEN_PATH => {
            return azure_ml::handle(&shared, req).await
        }
        IdentitySource::CloudShell if path == cloud_shell::TOKEN_PATH => {
            return cloud_shell::handle(&shared, req).await
        }
        IdentitySource::Arc if path == imds::TOKEN_PATH => return arc::handle(&shared, req).await,
        IdentitySource::WorkloadIdentity if workload_identity::serves(path) => {
            return workload_identity::handle(&shared, req).await
        }
        _ => {}
    }
    if path.starts_with("/admin/") {
        Ok(admin::handle(&shared, req).await)
    } else {
        Ok(response::not_found())
    }
}
