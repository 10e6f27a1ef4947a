//! Data Lake Storage over HTTPS: Gen1 (WebHDFS, `/webhdfs/v1/…`) and Gen2 (DFS,
//! `/<filesystem>/…`, with the Blob calls a hierarchical-namespace account serves over the same
//! data) on one listener, over one in-memory (or on-disk) store. URLs come in the host form or
//! path-style (`/<account>/…`, `path_style.rs`).

mod context;
mod dfs;
mod exchange;
mod file_body;
mod path_style;
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
        let (mut parts, incoming) = req.into_parts();
        parts.uri = path_style::host_form(&parts.uri, &ctx.svc.account);
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
        let parts = &in_host_form(ctx, parts);
        if webhdfs::is_gen1(parts.uri.path()) {
            webhdfs::fault_response(status, &exchange)
        } else {
            dfs::fault_response(status, &exchange, parts)
        }
    }

    fn claims_challenge(ctx: &Ctx, at: u64, parts: &Parts) -> Response<SvcBody> {
        let exchange = Exchange::new(parts, &ctx.shared.tenant_id);
        if webhdfs::is_gen1(parts.uri.path()) {
            webhdfs::claims_challenge(at, &exchange)
        } else {
            dfs::claims_challenge(at, &exchange, parts)
        }
    }

    fn malformed(ctx: &Ctx, parts: &Parts) -> Response<SvcBody> {
        let exchange = Exchange::new(parts, &ctx.shared.tenant_id);
        let parts = &in_host_form(ctx, parts);
        if webhdfs::is_gen1(parts.uri.path()) {
            webhdfs::malformed(&exchange)
        } else {
            dfs::malformed(&exchange, parts)
        }
    }
}

/// The request's head with its URI in the host form (a scripted fault answers in the protocol
/// the request speaks, whichever form its URL has).
fn in_host_form(ctx: &Ctx, parts: &Parts) -> Parts {
    let mut request = hyper::Request::new(());
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = path_style::host_form(&parts.uri, &ctx.svc.account);
    *request.headers_mut() = parts.headers.clone();
    request.into_parts().0
}
