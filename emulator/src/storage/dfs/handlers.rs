//! Operations on one path: create, append, flush, read, properties, access control, delete
//! and rename, with their conditional headers.

use hyper::header::{HeaderName, HeaderValue, CONTENT_RANGE, IF_MATCH, IF_NONE_MATCH, RANGE};
use hyper::{HeaderMap, Response, StatusCode};

use super::errors::{
    Failure, Outcome, StorageError, BODY_TOO_LARGE, CONDITION_NOT_MET, DIRECTORY_NOT_EMPTY,
    FILESYSTEM_NOT_FOUND, INTERNAL_ERROR, INVALID_FLUSH_POSITION, INVALID_HEADER, INVALID_QUERY,
    INVALID_RANGE, INVALID_RENAME_SOURCE, MISSING_CONTENT_LENGTH, PATH_ALREADY_EXISTS,
    PATH_CONFLICT, PATH_NOT_FOUND, RENAME_PARENT_NOT_FOUND, RESOURCE_TYPE_MISMATCH,
    SOURCE_PATH_NOT_FOUND,
};
use super::operation::{content_length, header_text, parse_mode, parse_range, symbolic, Params};
use super::response::{describe, insert, with_version, Gen2Response};
use crate::common::body::{self, RequestBody, SvcBody};
use crate::storage::context::Ctx;
use crate::storage::exchange::Exchange;
use crate::storage::file_body;
use crate::storage::store::{
    self, etag_text, FileData, Filesystem, FlushError, Key, Node, ReadSource, ReceiveError,
    DIR_PERMISSIONS, FILE_PERMISSIONS,
};

/// Largest single append (4000 MiB).
const MAX_APPEND: u64 = 4000 * 1024 * 1024;

/// New items get the service's default permissions under the default umask 0027.
const DEFAULT_UMASK: u32 = 0o027;

/// Group of new items: inherited from the root, whose owning group is `$superuser`.
pub(super) const DEFAULT_GROUP: &str = "$superuser";

/// Whether an `If-Match`/`If-None-Match` list names `etag` (or is `*`).
fn etag_listed(value: &str, etag: u64) -> bool {
    let own = etag_text(etag);
    value.split(',').map(str::trim).any(|tag| {
        let tag = tag.trim_start_matches("W/").trim_matches('"');
        tag == "*" || tag == own
    })
}

/// What every handler of one path gets: the request's context, its exchange and headers, and
/// the path (filesystem and key) it addresses.
#[derive(Clone, Copy)]
pub(super) struct PathRequest<'a> {
    pub ctx: &'a Ctx,
    pub exchange: &'a Exchange,
    pub headers: &'a HeaderMap,
    pub fs_name: &'a str,
    pub key: &'a Key,
}

/// Conditional headers against the current item (`None`: it does not exist). `creating`: an
/// existing path under `If-None-Match: *` is the service's 409 `PathAlreadyExists`, not 412.
pub(super) fn check_conditions(
    headers: &HeaderMap,
    node: Option<&Node>,
    creating: bool,
    reading: bool,
) -> Result<(), Failure> {
    if let Some(value) = header_text(headers, IF_MATCH.as_str()) {
        match node {
            Some(node) if etag_listed(value, node.etag) => {}
            _ => return Err(CONDITION_NOT_MET.into()),
        }
    }
    if let (Some(value), Some(node)) = (header_text(headers, IF_NONE_MATCH.as_str()), node) {
        if etag_listed(value, node.etag) {
            return Err(if creating {
                PATH_ALREADY_EXISTS.into()
            } else if reading {
                Failure::NotModified(node.etag)
            } else {
                CONDITION_NOT_MET.into()
            });
        }
    }
    Ok(())
}

pub(super) fn filesystem<'i>(
    inner: &'i mut store::Inner,
    name: &str,
) -> Result<&'i mut Filesystem, StorageError> {
    inner.filesystems.get_mut(name).ok_or(FILESYSTEM_NOT_FOUND)
}

fn new_permissions(headers: &HeaderMap, directory: bool) -> Result<String, StorageError> {
    let base = match header_text(headers, "x-ms-permissions") {
        Some(v) => parse_mode(v).ok_or(INVALID_HEADER)?,
        None if directory => 0o777,
        None => 0o666,
    };
    let umask = match header_text(headers, "x-ms-umask") {
        Some(v) => parse_mode(v).ok_or(INVALID_HEADER)?,
        None => DEFAULT_UMASK,
    };
    let mode = base & !umask;
    let text = symbolic(mode);
    // The defaults are constants so listings compare easily in tests and logs.
    Ok(match (directory, text.as_str()) {
        (true, t) if t == DIR_PERMISSIONS => DIR_PERMISSIONS.to_string(),
        (false, t) if t == FILE_PERMISSIONS => FILE_PERMISSIONS.to_string(),
        _ => text,
    })
}

pub(super) fn create(at: PathRequest<'_>, directory: bool, owner: &str) -> Outcome {
    let permissions = new_permissions(at.headers, directory)?;
    let store = &at.ctx.svc.store;
    let content = if directory {
        None
    } else {
        Some(store.new_content().map_err(|_| INTERNAL_ERROR)?)
    };
    let etag = store.next_etag();
    let mut inner = store.lock();
    let tree = &mut filesystem(&mut inner, at.fs_name)?.tree;
    if tree.file_ancestor(at.key).is_some() {
        return Err(PATH_CONFLICT.into());
    }
    let existing = tree.get(at.key);
    check_conditions(at.headers, existing, true, false)?;
    match existing {
        Some(node) if node.is_dir() != directory => return Err(PATH_CONFLICT.into()),
        Some(_) if directory => {
            // Creating an existing directory succeeds and keeps what is in it.
            let node = tree.get_mut(at.key).ok_or(PATH_NOT_FOUND)?;
            node.touch(etag);
            return Ok(with_version(at.exchange.empty(StatusCode::CREATED), node));
        }
        _ => {}
    }
    let mut node = match content {
        None => Node::dir(owner, DEFAULT_GROUP, &permissions, etag),
        Some(content) => Node::new_file(
            owner,
            DEFAULT_GROUP,
            &permissions,
            etag,
            FileData {
                id: store.next_id(),
                len: 0,
                content,
            },
        ),
    };
    node.content_type = header_text(at.headers, "x-ms-content-type").map(str::to_string);
    let response = with_version(at.exchange.empty(StatusCode::CREATED), &node);
    tree.make_parents(at.key, || {
        Node::dir(owner, DEFAULT_GROUP, DIR_PERMISSIONS, etag)
    });
    // A replaced file's content is released here; on disk that deletes one file.
    drop(tree.insert(at.key.clone(), node));
    tree.touch_parent(at.key, etag);
    Ok(encrypted(response))
}

pub(super) async fn append(
    at: PathRequest<'_>,
    body: &mut RequestBody,
    params: &Params,
) -> Outcome {
    let position = params.required_number("position")?;
    let flush_now = params.flag("flush")?.unwrap_or(false);
    // Storage takes no chunked uploads: the length must be announced.
    let announced = content_length(at.headers).ok_or(MISSING_CONTENT_LENGTH)?;
    if announced > MAX_APPEND {
        return Err(BODY_TOO_LARGE.into());
    }
    if position.checked_add(announced).is_none() {
        return Err(INVALID_QUERY.into());
    }
    let store = &at.ctx.svc.store;
    let (id, sink) = {
        let mut inner = store.lock();
        let tree = &filesystem(&mut inner, at.fs_name)?.tree;
        let node = tree.get(at.key).ok_or(PATH_NOT_FOUND)?;
        let file = node.file().ok_or(RESOURCE_TYPE_MISMATCH)?;
        if position < file.len {
            return Err(INVALID_FLUSH_POSITION.into());
        }
        (file.id, file.content.sink())
    };
    let received = store::receive(&sink, body, position, MAX_APPEND)
        .await
        .map_err(receive_failure)?;
    let written = received.len;

    let etag = store.next_etag();
    let mut inner = store.lock();
    let tree = &mut filesystem(&mut inner, at.fs_name)?.tree;
    let node = tree.get_mut(at.key).ok_or(PATH_NOT_FOUND)?;
    let file = node.file_mut().ok_or(RESOURCE_TYPE_MISMATCH)?;
    // Replaced or flushed past this position while the body was arriving.
    if file.id != id {
        return Err(PATH_NOT_FOUND.into());
    }
    if position < file.len {
        return Err(INVALID_FLUSH_POSITION.into());
    }
    file.content.stage(position, received);
    if flush_now {
        file.content
            .flush(&mut file.len, position.saturating_add(written), false)
            .map_err(|_| INVALID_FLUSH_POSITION)?;
        node.touch(etag);
    }
    Ok(encrypted(at.exchange.empty(StatusCode::ACCEPTED)))
}

/// How a body that could not be received fails the request.
pub(super) fn receive_failure(e: ReceiveError) -> Failure {
    match e {
        ReceiveError::TooLarge => Failure::Storage(BODY_TOO_LARGE),
        ReceiveError::Client => Failure::Drop,
        ReceiveError::Storage(_) => Failure::Storage(INTERNAL_ERROR),
    }
}

pub(super) fn flush(at: PathRequest<'_>, params: &Params) -> Outcome {
    let position = params.required_number("position")?;
    let retain = params.flag("retainUncommittedData")?.unwrap_or(false);
    params.flag("close")?;
    update(at, |node, etag| {
        let file = node.file_mut().ok_or(RESOURCE_TYPE_MISMATCH)?;
        file.content
            .flush(&mut file.len, position, retain)
            .map_err(|_: FlushError| INVALID_FLUSH_POSITION)?;
        node.touch(etag);
        if let Some(content_type) = header_text(at.headers, "x-ms-content-type") {
            node.content_type = Some(content_type.to_string());
        }
        Ok(encrypted(with_version(
            at.exchange.empty(StatusCode::OK),
            node,
        )))
    })
}

/// `setProperties` (accepted, nothing stored but the change) and `setAccessControl` (owner,
/// group and permissions from their headers).
pub(super) fn set_properties(at: PathRequest<'_>, access_control: bool) -> Outcome {
    update(at, |node, etag| {
        if access_control {
            if let Some(owner) = header_text(at.headers, "x-ms-owner") {
                node.owner = owner.to_string();
            }
            if let Some(group) = header_text(at.headers, "x-ms-group") {
                node.group = group.to_string();
            }
            if let Some(p) = header_text(at.headers, "x-ms-permissions") {
                node.permissions = symbolic(parse_mode(p).ok_or(INVALID_HEADER)?);
            }
        } else if let Some(content_type) = header_text(at.headers, "x-ms-content-type") {
            node.content_type = Some(content_type.to_string());
        }
        node.touch(etag);
        Ok(with_version(at.exchange.empty(StatusCode::OK), node))
    })
}

/// Changes the node at `key` once the request's conditional headers hold; `change` gets the
/// node and a fresh etag for it.
fn update(at: PathRequest<'_>, change: impl FnOnce(&mut Node, u64) -> Outcome) -> Outcome {
    let store = &at.ctx.svc.store;
    let etag = store.next_etag();
    let mut inner = store.lock();
    let tree = &mut filesystem(&mut inner, at.fs_name)?.tree;
    check_conditions(at.headers, tree.get(at.key), false, false)?;
    let node = tree.get_mut(at.key).ok_or(PATH_NOT_FOUND)?;
    change(node, etag)
}

/// Gen2 stores everything encrypted at rest, and says so on each write.
pub(super) fn encrypted(mut response: Response<SvcBody>) -> Response<SvcBody> {
    response.headers_mut().insert(
        "x-ms-request-server-encrypted",
        HeaderValue::from_static("true"),
    );
    response
}

pub(super) fn read(at: PathRequest<'_>) -> Outcome {
    // `x-ms-range` wins over `Range` when both are sent.
    let range = header_text(at.headers, "x-ms-range")
        .or_else(|| header_text(at.headers, RANGE.as_str()))
        .and_then(parse_range);
    let mut inner = at.ctx.svc.store.lock();
    let tree = &filesystem(&mut inner, at.fs_name)?.tree;
    let node = tree.get(at.key).ok_or(PATH_NOT_FOUND)?;
    check_conditions(at.headers, Some(node), false, true)?;
    let Some(file) = node.file() else {
        let mut response = at.exchange.response(StatusCode::OK, body::empty());
        describe(&mut response, node, 0);
        return Ok(response);
    };
    let total = file.len;
    let (status, offset, count) = match range {
        None => (StatusCode::OK, 0, total),
        Some((start, _)) if start >= total => {
            return Err(INVALID_RANGE.into());
        }
        Some((start, end)) => {
            let last = end.unwrap_or(u64::MAX).min(total - 1);
            (StatusCode::PARTIAL_CONTENT, start, last - start + 1)
        }
    };
    let source = file
        .content
        .read(offset, count)
        .map_err(|_| INTERNAL_ERROR)?;
    let body = match source {
        ReadSource::Memory(chunks) => body::chunks(chunks, true),
        ReadSource::Disk { file, len, blob } => {
            file_body::file(tokio::fs::File::from_std(file), len, true, blob)
        }
    };
    let mut response = at.exchange.response(status, body);
    describe(&mut response, node, count);
    if status == StatusCode::PARTIAL_CONTENT {
        insert(
            response.headers_mut(),
            CONTENT_RANGE,
            &format!("bytes {}-{}/{total}", offset, offset + count - 1),
        );
    }
    Ok(response)
}

pub(super) fn properties(at: PathRequest<'_>) -> Outcome {
    let mut inner = at.ctx.svc.store.lock();
    let tree = &filesystem(&mut inner, at.fs_name)?.tree;
    let node = tree.get(at.key).ok_or(PATH_NOT_FOUND)?;
    check_conditions(at.headers, Some(node), false, true)?;
    let mut response = at.exchange.empty(StatusCode::OK);
    describe(&mut response, node, node.len());
    let h = response.headers_mut();
    insert(h, HeaderName::from_static("x-ms-owner"), &node.owner);
    insert(h, HeaderName::from_static("x-ms-group"), &node.group);
    insert(
        h,
        HeaderName::from_static("x-ms-permissions"),
        &node.permissions,
    );
    let p = node.permissions.as_bytes();
    if p.len() >= 9 {
        let part = |i: usize| String::from_utf8_lossy(&p[i..i + 3]).into_owned();
        insert(
            h,
            HeaderName::from_static("x-ms-acl"),
            &format!("user::{},group::{},other::{}", part(0), part(3), part(6)),
        );
    }
    Ok(response)
}

pub(super) fn delete(at: PathRequest<'_>, params: &Params) -> Outcome {
    let recursive = params.flag("recursive")?.unwrap_or(false);
    let store = &at.ctx.svc.store;
    let etag = store.next_etag();
    let removed = {
        let mut inner = store.lock();
        let tree = &mut filesystem(&mut inner, at.fs_name)?.tree;
        let node = tree.get(at.key).ok_or(PATH_NOT_FOUND)?;
        check_conditions(at.headers, Some(node), false, false)?;
        if node.is_dir() && !recursive && tree.has_children(at.key) {
            return Err(DIRECTORY_NOT_EMPTY.into());
        }
        let removed = tree.remove_subtree(at.key);
        tree.touch_parent(at.key, etag);
        removed
    };
    // Dropped outside the lock: on disk this deletes files.
    drop(removed);
    Ok(at.exchange.empty(StatusCode::OK))
}

pub(super) fn rename(
    ctx: &Ctx,
    exchange: &Exchange,
    headers: &HeaderMap,
    fs_name: &str,
    from: &Key,
    to: &Key,
) -> Outcome {
    let store = &ctx.svc.store;
    let etag = store.next_etag();
    let replaced = {
        let mut inner = store.lock();
        let tree = &mut filesystem(&mut inner, fs_name)?.tree;
        let source = tree.get(from).ok_or(SOURCE_PATH_NOT_FOUND)?;
        let source_is_dir = source.is_dir();
        if to == from {
            return Ok(with_version(exchange.empty(StatusCode::CREATED), source));
        }
        if to.starts_with(from) {
            return Err(INVALID_RENAME_SOURCE.into());
        }
        if tree.file_ancestor(to).is_some() {
            return Err(PATH_CONFLICT.into());
        }
        if !tree.parent_exists(to) {
            return Err(RENAME_PARENT_NOT_FOUND.into());
        }
        let existing = tree.get(to);
        check_conditions(headers, existing, true, false)?;
        let replaced = match existing {
            None => Vec::new(),
            Some(dest) => {
                // A file replaces a file, a directory an empty directory; nothing else.
                let compatible = if dest.is_dir() {
                    source_is_dir && !tree.has_children(to)
                } else {
                    !source_is_dir
                };
                if !compatible {
                    return Err(PATH_CONFLICT.into());
                }
                tree.remove_subtree(to)
            }
        };
        tree.move_subtree(from, to);
        tree.touch_parent(from, etag);
        tree.touch_parent(to, etag);
        replaced
    };
    drop(replaced);
    let inner = store.lock();
    let node = inner.filesystems.get(fs_name).and_then(|f| f.tree.get(to));
    let response = exchange.empty(StatusCode::CREATED);
    Ok(match node {
        Some(node) => with_version(response, node),
        None => response,
    })
}
