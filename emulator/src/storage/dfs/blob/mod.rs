//! The Blob API of the Gen2 account. A hierarchical-namespace account serves the Blob API over
//! the same data as DFS, and the Data Lake SDKs rely on it: they list, create, test and delete
//! file systems as containers (`GET /?comp=list`, `PUT|GET|HEAD|DELETE /<fs>?restype=container`)
//! and read files and their properties as blobs. Served here: those, a container's blob
//! listing, block blobs (Put Blob, or Put Block and Put Block List: `blocks.rs`), Get Blob, Get
//! Blob Properties, Delete Blob and Get Account Information, with the Blob API's XML bodies and
//! error codes. `operation.rs` tells a Blob
//! call from a DFS one on the shared URL.

mod blocks;
mod containers;
mod handlers;
mod operation;
mod response;

use hyper::header::HOST;
use hyper::http::request::Parts;

use super::errors::Outcome;
use super::handlers::PathRequest;
use super::operation::{acl_path, parse_target, Params};
use super::route::{authenticate, check_acl};
use crate::common::auth::Access;
use crate::common::body::RequestBody;
use crate::storage::context::Ctx;
use crate::storage::exchange::Exchange;
use crate::storage::store::Key;
pub(super) use operation::is_blob;
use operation::Operation;
pub(super) use response::{error, error_text, malformed};

/// The request's one path.
fn at<'a>(
    ctx: &'a Ctx,
    exchange: &'a Exchange,
    parts: &'a Parts,
    fs_name: &'a str,
    key: &'a Key,
) -> PathRequest<'a> {
    PathRequest {
        ctx,
        exchange,
        headers: &parts.headers,
        fs_name,
        key,
    }
}

/// The first Storage version that takes bearer tokens.
const FIRST_BEARER_VERSION: &str = "2017-11-09";

pub(super) async fn dispatch(
    ctx: &Ctx,
    exchange: &Exchange,
    parts: &Parts,
    body: &mut RequestBody,
) -> Outcome {
    let caller = authenticate(ctx, parts)?;
    let version = parts
        .headers
        .get("x-ms-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // `YYYY-MM-DD` compares as text.
    if version < FIRST_BEARER_VERSION {
        return Err(response::BEARER_NEEDS_VERSION.into());
    }
    let params = Params::parse(parts.uri.query().unwrap_or(""));
    let target = parse_target(parts.uri.path())?;
    let operation = operation::parse(&parts.method, parts, target, &params)?;
    let host = parts
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| ctx.svc.default_authority());
    let check = |path: String, access: Access| check_acl(ctx, &caller, path, access);
    match operation {
        Operation::ListContainers => {
            check("/".to_string(), Access::Read)?;
            containers::list_containers(ctx, exchange, &host, &params)
        }
        Operation::AccountInfo => Ok(containers::account_info(exchange)),
        Operation::CreateContainer(name) => {
            check(acl_path(&name, &[]), Access::Write)?;
            containers::create_container(ctx, exchange, &name)
        }
        Operation::ContainerProperties(name) => {
            check(acl_path(&name, &[]), Access::Read)?;
            containers::container_properties(ctx, exchange, &name)
        }
        Operation::DeleteContainer(name) => {
            check(acl_path(&name, &[]), Access::Write)?;
            containers::delete_container(ctx, exchange, &name)
        }
        Operation::ListBlobs(name) => {
            check(acl_path(&name, &[]), Access::Read)?;
            containers::list_blobs(ctx, exchange, &host, &name, &params)
        }
        Operation::PutBlob(fs, key) => {
            check(acl_path(&fs, &key), Access::Write)?;
            handlers::put_blob(at(ctx, exchange, parts, &fs, &key), body, &caller.object_id).await
        }
        Operation::PutBlock(fs, key, id) => {
            check(acl_path(&fs, &key), Access::Write)?;
            blocks::put_block(at(ctx, exchange, parts, &fs, &key), body, &id).await
        }
        Operation::PutBlockList(fs, key) => {
            check(acl_path(&fs, &key), Access::Write)?;
            blocks::put_block_list(at(ctx, exchange, parts, &fs, &key), body, &caller.object_id)
                .await
        }
        Operation::GetBlob(fs, key) => {
            check(acl_path(&fs, &key), Access::Read)?;
            handlers::get_blob(at(ctx, exchange, parts, &fs, &key))
        }
        Operation::BlobProperties(fs, key) => {
            check(acl_path(&fs, &key), Access::Read)?;
            handlers::blob_properties(at(ctx, exchange, parts, &fs, &key))
        }
        Operation::DeleteBlob(fs, key) => {
            check(acl_path(&fs, &key), Access::Write)?;
            handlers::delete_blob(at(ctx, exchange, parts, &fs, &key))
        }
    }
}
