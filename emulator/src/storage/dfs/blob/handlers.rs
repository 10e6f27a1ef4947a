//! One blob: Put Blob (a block blob in one request), Get Blob, Get Blob Properties and Delete
//! Blob, over the same files as DFS.

use hyper::StatusCode;

use super::super::errors::{
    Failure, Outcome, BODY_TOO_LARGE, INTERNAL_ERROR, MISSING_CONTENT_LENGTH, PATH_CONFLICT,
};
use super::super::handlers::{
    check_conditions, delete, encrypted, filesystem, properties, read, receive_failure,
    PathRequest, DEFAULT_GROUP,
};
use super::super::operation::{content_length, header_text, Params};
use super::super::response::{with_version, Gen2Response};
use super::response::{as_blob, with_blob_headers};
use crate::common::body::RequestBody;
use crate::storage::store::{
    self, Content, FileData, Node, Tree, DIR_PERMISSIONS, FILE_PERMISSIONS,
};

/// Largest Put Blob (5000 MiB, from version 2019-12-12).
const MAX_PUT_BLOB: u64 = 5000 * 1024 * 1024;

/// What must hold for a Put Blob at `at`, before its body is read and again when it is stored:
/// no file in the way, no directory at the path, and the conditional headers (`If-None-Match:
/// *` on an existing blob is `BlobAlreadyExists`).
pub(super) fn may_put(tree: &Tree, at: PathRequest<'_>) -> Result<(), Failure> {
    if tree.file_ancestor(at.key).is_some() {
        return Err(PATH_CONFLICT.into());
    }
    let existing = tree.get(at.key);
    check_conditions(at.headers, existing, true, false)?;
    if existing.is_some_and(Node::is_dir) {
        return Err(PATH_CONFLICT.into());
    }
    Ok(())
}

/// Put Blob (`x-ms-blob-type: BlockBlob`): the body becomes the file, readable at once,
/// replacing a file there; missing parent directories are created, as on a hierarchical
/// namespace. `x-ms-blob-content-type` is kept.
pub(super) async fn put_blob(at: PathRequest<'_>, body: &mut RequestBody, owner: &str) -> Outcome {
    let announced = content_length(at.headers).ok_or(MISSING_CONTENT_LENGTH)?;
    if announced > MAX_PUT_BLOB {
        return Err(BODY_TOO_LARGE.into());
    }
    let store = &at.ctx.svc.store;
    {
        let mut inner = store.lock();
        may_put(&filesystem(&mut inner, at.fs_name)?.tree, at)?;
    }
    let (content, len) = receive_whole(at, body, MAX_PUT_BLOB).await?;
    store_file(at, content, len, owner)
}

/// The request's body (at most `limit` bytes) as new content, all of it readable; its length.
pub(super) async fn receive_whole(
    at: PathRequest<'_>,
    body: &mut RequestBody,
    limit: u64,
) -> Result<(Content, u64), Failure> {
    let store = &at.ctx.svc.store;
    let mut content = store.new_content().map_err(|_| INTERNAL_ERROR)?;
    let received = store::receive(&content.sink(), body, 0, limit)
        .await
        .map_err(receive_failure)?;
    let len = received.len;
    let mut committed = 0;
    content.stage(0, received);
    content
        .flush(&mut committed, len, false)
        .map_err(|_| INTERNAL_ERROR)?;
    Ok((content, committed))
}

/// Makes `content` (`len` readable bytes) the file at `at` (Put Blob, Put Block List), once
/// [`may_put`] still holds: replacing a file, creating missing parents, keeping
/// `x-ms-blob-content-type`; the path's uncommitted blocks are dropped.
pub(super) fn store_file(at: PathRequest<'_>, content: Content, len: u64, owner: &str) -> Outcome {
    let store = &at.ctx.svc.store;
    let etag = store.next_etag();
    let mut inner = store.lock();
    let tree = &mut filesystem(&mut inner, at.fs_name)?.tree;
    // Checked again: the tree may have changed while the body arrived.
    may_put(tree, at)?;
    let mut node = Node::new_file(
        owner,
        DEFAULT_GROUP,
        FILE_PERMISSIONS,
        etag,
        FileData {
            id: store.next_id(),
            len,
            content,
        },
    );
    node.content_type = Some(
        header_text(at.headers, "x-ms-blob-content-type")
            .unwrap_or("application/octet-stream")
            .to_string(),
    );
    let response = with_version(at.exchange.empty(StatusCode::CREATED), &node);
    tree.make_parents(at.key, || {
        Node::dir(owner, DEFAULT_GROUP, DIR_PERMISSIONS, etag)
    });
    // A replaced file's content is released here; on disk that deletes one file.
    drop(tree.insert(at.key.clone(), node));
    tree.touch_parent(at.key, etag);
    inner
        .uncommitted
        .remove(&(at.fs_name.to_string(), at.key.clone()));
    Ok(as_blob(encrypted(response)))
}

/// Get Blob: DFS's read (ranges, conditions) with the blob headers.
pub(super) fn get_blob(at: PathRequest<'_>) -> Outcome {
    let response = read(at)?;
    with_node(at, response)
}

/// Get Blob Properties: DFS's properties with the blob headers.
pub(super) fn blob_properties(at: PathRequest<'_>) -> Outcome {
    let response = properties(at)?;
    with_node(at, response)
}

fn with_node(
    at: PathRequest<'_>,
    response: hyper::Response<crate::common::body::SvcBody>,
) -> Outcome {
    let mut inner = at.ctx.svc.store.lock();
    let tree = &filesystem(&mut inner, at.fs_name)?.tree;
    Ok(match tree.get(at.key) {
        Some(node) => with_blob_headers(response, node),
        None => as_blob(response),
    })
}

/// Delete Blob: 202, as the Blob API answers; a non-empty directory is refused as DFS refuses
/// a delete without `recursive`.
pub(super) fn delete_blob(at: PathRequest<'_>) -> Outcome {
    let mut response = delete(at, &Params::parse(""))?;
    at.ctx
        .svc
        .store
        .lock()
        .uncommitted
        .remove(&(at.fs_name.to_string(), at.key.clone()));
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(as_blob(response))
}
