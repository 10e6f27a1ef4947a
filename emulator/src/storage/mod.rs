//! Data Lake Storage over HTTPS: Gen1 (WebHDFS, `/webhdfs/v1/…`) and Gen2 (DFS,
//! `/<filesystem>/…`) on one listener, over one in-memory (or on-disk) store.

mod context;
mod dfs;
mod exchange;
mod file_body;
mod store;
mod webhdfs;

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Request, Response};

use crate::common::body::{RequestBody, SvcBody};
use crate::common::response::DropConnection;
use crate::common::service::Service;
pub(crate) use context::{Ctx, Storage};
use exchange::Exchange;
pub(crate) use store::Store;

impl Service for Storage {
    async fn handle(
        ctx: &Ctx,
        req: Request<Incoming>,
    ) -> Result<Response<SvcBody>, DropConnection> {
        let (parts, incoming) = req.into_parts();
        let exchange = Exchange::new(&parts, &ctx.shared.tenant_id);
        let body = RequestBody::new(incoming, Arc::clone(&ctx.shared));
        if webhdfs::is_gen1(parts.uri.path()) {
            webhdfs::handle(ctx, &exchange, &parts, body).await
        } else {
            dfs::handle(ctx, &exchange, &parts, body).await
        }
    }

    fn fault_response(
        ctx: &Ctx,
        status: u16,
        _retry_after: Option<u64>,
        parts: &Parts,
    ) -> Response<SvcBody> {
        let exchange = Exchange::new(parts, &ctx.shared.tenant_id);
        if webhdfs::is_gen1(parts.uri.path()) {
            webhdfs::fault_response(status, &exchange)
        } else {
            dfs::fault_response(status, &exchange)
        }
    }

    fn claims_challenge(ctx: &Ctx, at: u64, parts: &Parts) -> Response<SvcBody> {
        let exchange = Exchange::new(parts, &ctx.shared.tenant_id);
        if webhdfs::is_gen1(parts.uri.path()) {
            webhdfs::claims_challenge(at, &exchange)
        } else {
            dfs::claims_challenge(at, &exchange)
        }
    }

    fn malformed(ctx: &Ctx, parts: &Parts) -> Response<SvcBody> {
        let exchange = Exchange::new(parts, &ctx.shared.tenant_id);
        if webhdfs::is_gen1(parts.uri.path()) {
            webhdfs::malformed(&exchange)
        } else {
            dfs::malformed(&exchange)
        }
    }
}
