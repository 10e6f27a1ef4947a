//! Data Lake Storage over HTTPS: Gen1 (WebHDFS, `/webhdfs/v1/…`) and Gen2 (DFS,
//! `/<filesystem>/…`) on one listener, over one in-memory (or on-disk) store.

mod context;
mod dfs;
mod exchange;
mod file_body;
mod store;
mod webhdfs;

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Request, Response};

use crate::common::body::SvcBody;
use crate::common::response::DropConnection;
use crate::common::service::Service;
pub(crate) use context::{Ctx, Storage};
pub(crate) use store::Store;

impl Service for Storage {
    async fn handle(
        ctx: &Ctx,
        req: Request<Incoming>,
    ) -> Result<Response<SvcBody>, DropConnection> {
        if webhdfs::is_gen1(req.uri().path()) {
            webhdfs::handle(ctx, req).await
        } else {
            dfs::handle(ctx, req).await
        }
    }

    fn fault_response(
        ctx: &Ctx,
        status: u16,
        retry_after: Option<u64>,
        parts: &Parts,
    ) -> Response<SvcBody> {
        if webhdfs::is_gen1(parts.uri.path()) {
            webhdfs::fault_response(status, retry_after, parts, &ctx.shared.tenant_id)
        } else {
            dfs::fault_response(status, retry_after, parts, &ctx.shared.tenant_id)
        }
    }

    fn malformed(ctx: &Ctx, parts: &Parts) -> Response<SvcBody> {
        if webhdfs::is_gen1(parts.uri.path()) {
            webhdfs::malformed(parts, &ctx.shared.tenant_id)
        } else {
            dfs::malformed(parts, &ctx.shared.tenant_id)
        }
    }
}
