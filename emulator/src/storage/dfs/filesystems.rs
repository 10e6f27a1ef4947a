//! The account and its filesystems: listing filesystems, creating, deleting and describing one,
//! and listing a filesystem's paths.

use hyper::header::HeaderName;
use hyper::{Response, StatusCode};
use serde_json::{json, Map, Value};

use super::errors::{
    Outcome, StorageError, FILESYSTEM_ALREADY_EXISTS, FILESYSTEM_NOT_FOUND, INVALID_QUERY,
    MISSING_QUERY, PATH_NOT_FOUND,
};
use super::handlers::filesystem;
use super::operation::{acl_path, decode_token, encode_token, max_results, Params};
use super::response::{filesystem_headers, insert, Gen2Response};
use crate::common::auth::Access;
use crate::common::body::SvcBody;
use crate::common::util::{filetime, http_date};
use crate::storage::context::Ctx;
use crate::storage::exchange::Exchange;
use crate::storage::store::{self, etag_text, Filesystem, Key, Node};

fn path_entry(key: &[String], node: &Node) -> Value {
    let mut entry = Map::new();
    entry.insert("contentLength".into(), json!(node.len().to_string()));
    entry.insert("creationTime".into(), json!(filetime(node.created)));
    entry.insert("etag".into(), json!(etag_text(node.etag)));
    entry.insert("group".into(), json!(node.group));
    if node.is_dir() {
        entry.insert("isDirectory".into(), json!("true"));
    }
    entry.insert("lastModified".into(), json!(http_date(node.modified)));
    entry.insert("name".into(), json!(key.join("/")));
    entry.insert("owner".into(), json!(node.owner));
    entry.insert("permissions".into(), json!(node.permissions));
    Value::Object(entry)
}

pub(super) fn list_paths(
    ctx: &Ctx,
    exchange: &Exchange,
    fs_name: &str,
    params: &Params,
    check: &dyn Fn(String, Access) -> Result<(), StorageError>,
) -> Outcome {
    let recursive = params.flag("recursive")?.ok_or(MISSING_QUERY)?;
    let limit = max_results(params)?;
    let directory = match params.get("directory") {
        None => Vec::new(),
        Some(d) => store::parse_path(d).ok_or(INVALID_QUERY)?,
    };
    let after = match params.get("continuation") {
        None | Some("") => None,
        Some(token) => Some(decode_token(token).ok_or(INVALID_QUERY)?),
    };
    check(acl_path(fs_name, &directory), Access::Read)?;
    let mut inner = ctx.svc.store.lock();
    let tree = &filesystem(&mut inner, fs_name)?.tree;
    let node = tree.get(&directory).ok_or(PATH_NOT_FOUND)?;
    let mut page: Vec<Value> = Vec::new();
    let mut next = None;
    if node.is_dir() {
        let entries: Box<dyn Iterator<Item = (&Key, &Node)>> = if recursive {
            Box::new(tree.descendants(&directory))
        } else {
            Box::new(tree.children(&directory))
        };
        let mut last: Option<&Key> = None;
        for (key, node) in entries {
            if after.as_ref().is_some_and(|a| key <= a) {
                continue;
            }
            if page.len() == limit {
                next = last.map(|k| encode_token(k));
                break;
            }
            page.push(path_entry(key, node));
            last = Some(key);
        }
    } else if after.is_none() {
        // A file as `directory` lists the file itself.
        page.push(path_entry(&directory, node));
    }
    Ok(page_response(exchange, json!({ "paths": page }), next))
}

pub(super) fn list_filesystems(ctx: &Ctx, exchange: &Exchange, params: &Params) -> Outcome {
    let limit = max_results(params)?;
    let prefix = params.get("prefix").unwrap_or("");
    let after = match params.get("continuation") {
        None | Some("") => None,
        Some(token) => Some(decode_token(token).ok_or(INVALID_QUERY)?),
    };
    let after = after.and_then(|k| k.into_iter().next());
    let inner = ctx.svc.store.lock();
    let mut page = Vec::new();
    let mut next = None;
    let mut last: Option<&String> = None;
    for (name, fs) in &inner.filesystems {
        if !name.starts_with(prefix) || after.as_ref().is_some_and(|a| name <= a) {
            continue;
        }
        if page.len() == limit {
            next = last.map(|n| encode_token(std::slice::from_ref(n)));
            break;
        }
        page.push(json!({
            "etag": etag_text(fs.etag),
            "lastModified": http_date(fs.modified),
            "name": name,
        }));
        last = Some(name);
    }
    Ok(page_response(
        exchange,
        json!({ "filesystems": page }),
        next,
    ))
}

pub(super) fn create_filesystem(ctx: &Ctx, exchange: &Exchange, name: &str) -> Outcome {
    let store = &ctx.svc.store;
    let (etag, root_etag) = (store.next_etag(), store.next_etag());
    let mut inner = store.lock();
    if inner.filesystems.contains_key(name) {
        return Err(FILESYSTEM_ALREADY_EXISTS.into());
    }
    let fs = inner
        .filesystems
        .entry(name.to_string())
        .or_insert_with(|| Filesystem::new(etag, root_etag));
    Ok(filesystem_headers(exchange.empty(StatusCode::CREATED), fs))
}

pub(super) fn delete_filesystem(ctx: &Ctx, exchange: &Exchange, name: &str) -> Outcome {
    let mut inner = ctx.svc.store.lock();
    let removed = inner.filesystems.remove(name).ok_or(FILESYSTEM_NOT_FOUND)?;
    // Blocks put under it and never committed go with it.
    inner.uncommitted.retain(|(fs, _), _| fs != name);
    drop(inner);
    drop(removed);
    Ok(exchange.empty(StatusCode::ACCEPTED))
}

pub(super) fn filesystem_properties(ctx: &Ctx, exchange: &Exchange, name: &str) -> Outcome {
    let mut inner = ctx.svc.store.lock();
    let fs = filesystem(&mut inner, name)?;
    Ok(filesystem_headers(exchange.empty(StatusCode::OK), fs))
}

/// One page of a list, with the token of the next page (if any) in `x-ms-continuation`.
fn page_response(exchange: &Exchange, page: Value, next: Option<String>) -> Response<SvcBody> {
    let mut response = exchange.json(StatusCode::OK, &page);
    if let Some(token) = next {
        insert(
            response.headers_mut(),
            HeaderName::from_static("x-ms-continuation"),
            &token,
        );
    }
    response
}
