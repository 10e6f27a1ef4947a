//! Data Lake Storage Gen2: the DFS endpoint, `/<filesystem>/<path>`.
//!
//! Follows the published REST specification (Path_Create, Path_Update, Path_Read,
//! Path_GetProperties, Path_Delete, FileSystem_ListPaths) in the form the live service sends:
//! numbers and booleans as strings in list bodies, errors as `{"error":{"code","message"}}`
//! with `x-ms-error-code`, appends at any position at or after the flushed length (clients
//! upload in parallel) that a flush must find contiguous, and no chunked uploads.
//!
//! A hierarchical-namespace account also serves the Blob API over the same data, and the Data
//! Lake SDKs make Blob calls (file systems, reads, properties): `blob/` answers those.

mod blob;
mod errors;
mod faults;
mod filesystems;
mod handlers;
mod operation;
mod response;
mod route;

use hyper::header::ETAG;
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};

use crate::common::body::{RequestBody, SvcBody};
use crate::common::response::DropConnection;
use crate::storage::context::Ctx;
use crate::storage::exchange::Exchange;
use errors::Failure;
pub(super) use faults::{claims_challenge, fault_response, malformed};
use operation::content_length;
use response::{insert, quoted, Gen2Response};
use route::dispatch;

/// How much of an unused request body is read so the connection can be kept alive.
const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;

pub(super) async fn handle(
    ctx: &Ctx,
    exchange: &Exchange,
    parts: &Parts,
    mut body: RequestBody,
) -> Result<Response<SvcBody>, DropConnection> {
    let blob = blob::is_blob(parts);
    let outcome = if blob {
        blob::dispatch(ctx, exchange, parts, &mut body).await
    } else {
        dispatch(ctx, exchange, parts, &mut body).await
    };
    match outcome {
        Ok(response) => Ok(response),
        Err(Failure::Drop) => Err(DropConnection),
        Err(Failure::NotModified(etag)) => {
            let mut response = exchange.empty(StatusCode::NOT_MODIFIED);
            insert(response.headers_mut(), ETAG, &quoted(etag));
            Ok(response)
        }
        Err(Failure::Storage(e)) => {
            drain(parts, &mut body).await;
            Ok(if blob {
                blob::error(exchange, e)
            } else {
                exchange.error(e)
            })
        }
        Err(Failure::Revoked(at)) => {
            drain(parts, &mut body).await;
            Ok(claims_challenge(at, exchange, parts))
        }
    }
}

/// Reads what the client sent so the connection stays usable for its next request (unless it
/// announced more than is worth reading).
async fn drain(parts: &Parts, body: &mut RequestBody) {
    if content_length(&parts.headers).unwrap_or(0) <= DRAIN_LIMIT {
        let _ = body.drain(DRAIN_LIMIT).await;
    }
}
