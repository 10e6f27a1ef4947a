//! What the HTTPS listener needs from a service, and the context its handlers get. The
//! listener applies the service fault script the same way for every service; a service only
//! says how it answers a request, a scripted status and a scripted malformed body.

use std::future::Future;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Request, Response};

use crate::common::body::SvcBody;
use crate::common::response::DropConnection;
use crate::common::state::Shared;

/// What a handler gets: the state shared with IMDS and the admin API, and its own service's
/// data (`S`).
pub(crate) struct Ctx<S> {
    pub shared: Arc<Shared>,
    pub svc: Arc<S>,
}

/// One HTTPS service (Data Lake, Key Vault, Resource Manager), as the listener drives it.
pub(crate) trait Service: Send + Sync + Sized + 'static {
    /// Answers a request that no fault replaced.
    fn handle(
        ctx: &Ctx<Self>,
        req: Request<Incoming>,
    ) -> impl Future<Output = Result<Response<SvcBody>, DropConnection>> + Send;

    /// A status fault: that status, with the error body and headers this service sends for it
    /// (the listener adds `Retry-After`).
    fn fault_response(
        ctx: &Ctx<Self>,
        status: u16,
        retry_after: Option<u64>,
        parts: &Parts,
    ) -> Response<SvcBody>;

    /// The `malformed` fault: a 200 whose body is cut off.
    fn malformed(ctx: &Ctx<Self>, parts: &Parts) -> Response<SvcBody>;

    /// A claims challenge (continuous access evaluation, `common::cae`): 401 with this
    /// service's error body and a `WWW-Authenticate` whose claims ask for a token issued at or
    /// after `at`. What a revoked token gets, and what the `claims_challenge` fault scripts.
    fn claims_challenge(ctx: &Ctx<Self>, at: u64, parts: &Parts) -> Response<SvcBody>;
}
