//! Azure Resource Manager, the read side of one subscription: the subscription, its resource
//! groups and storage accounts, and the storage actions `listKeys`, `listServiceSas` and
//! `listAccountSas` (which sign real SAS tokens, see `sas.rs`).
//!
//! As the front door does: paths are case-insensitive; the token is checked first (401 with
//! ARM's codes), then `api-version`, then role-based authorization at the request's scope (403
//! `AuthorizationFailed`, before existence, so a caller without access cannot probe), then the
//! resource. Lists are paged with absolute `nextLink`s carrying `%24skiptoken`.

mod context;
mod errors;
mod handlers;
mod long_running;
mod operation;
mod response;
pub(crate) mod sas;
mod state;

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Request, Response};

use crate::common::body::SvcBody;
use crate::common::response::DropConnection;
use crate::common::service::Service;
pub(crate) use context::{Ctx, ResourceManager};
pub(crate) use state::ArmState;

impl Service for ResourceManager {
    async fn handle(
        ctx: &Ctx,
        req: Request<Incoming>,
    ) -> Result<Response<SvcBody>, DropConnection> {
        handlers::handle(ctx, req).await
    }

    fn fault_response(
        ctx: &Ctx,
        status: u16,
        retry_after: Option<u64>,
        parts: &Parts,
    ) -> Response<SvcBody> {
        errors::fault_response(status, retry_after, parts, &ctx.svc.cloud.subscription_id)
    }

    fn malformed(_ctx: &Ctx, parts: &Parts) -> Response<SvcBody> {
        errors::malformed(parts)
    }

    fn claims_challenge(_ctx: &Ctx, at: u64, parts: &Parts) -> Response<SvcBody> {
        errors::full_response(&errors::revoked(at), parts)
    }
}
