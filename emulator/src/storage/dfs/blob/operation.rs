//! Which requests are Blob calls, and the operation one names.

use hyper::header::ACCEPT;
use hyper::http::request::Parts;
use hyper::Method;

use super::super::errors::{
    StorageError, INVALID_HEADER, INVALID_QUERY, INVALID_URI, MISSING_QUERY, UNSUPPORTED_VERB,
};
use super::super::operation::{Params, Target};
use crate::storage::store::Key;

/// Whether the request is one of the Blob API's calls rather than DFS's. Azure tells them apart
/// by host (`<account>.blob.…` and `<account>.dfs.…`); on an IP host the Data Lake SDKs send
/// both to the same URL, so the request itself decides: a Blob-only query parameter (`restype`,
/// `comp`), a Put Blob (`x-ms-blob-type`), or a read, properties or delete from a client that
/// reads XML (the Blob clients send `Accept: application/xml`, the DFS ones JSON) and uses no
/// DFS parameter.
pub(crate) fn is_blob(parts: &Parts) -> bool {
    let params = Params::parse(parts.uri.query().unwrap_or(""));
    if params.get("restype").is_some() || params.get("comp").is_some() {
        return true;
    }
    let dfs_only = [
        "resource",
        "action",
        "recursive",
        "continuation",
        "position",
    ];
    if dfs_only.iter().any(|name| params.get(name).is_some()) {
        return false;
    }
    match parts.method {
        Method::PUT => {
            parts.headers.contains_key("x-ms-blob-type")
                && !parts.headers.contains_key("x-ms-rename-source")
        }
        Method::GET | Method::HEAD | Method::DELETE => accepts_xml(parts),
        _ => false,
    }
}

fn accepts_xml(parts: &Parts) -> bool {
    parts
        .headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("application/xml"))
}

/// The Blob operations the Data Lake account serves.
pub(super) enum Operation {
    ListContainers,
    AccountInfo,
    CreateContainer(String),
    ContainerProperties(String),
    DeleteContainer(String),
    ListBlobs(String),
    PutBlob(String, Key),
    /// Put Block: a block and its id, uncommitted.
    PutBlock(String, Key, String),
    PutBlockList(String, Key),
    GetBlob(String, Key),
    BlobProperties(String, Key),
    DeleteBlob(String, Key),
}

pub(super) fn parse(
    method: &Method,
    parts: &Parts,
    target: Target,
    params: &Params,
) -> Result<Operation, StorageError> {
    let restype = params.get("restype");
    let comp = params.get("comp");
    let read = *method == Method::GET || *method == Method::HEAD;
    Ok(match target {
        Target::Account => match (restype, comp) {
            (None, Some("list")) if *method == Method::GET => Operation::ListContainers,
            (Some("account"), Some("properties")) if read => Operation::AccountInfo,
            _ if !read => return Err(UNSUPPORTED_VERB),
            _ => return Err(INVALID_QUERY),
        },
        Target::Filesystem(name) => match (restype, comp) {
            (Some("container"), None) => match *method {
                Method::PUT => Operation::CreateContainer(name),
                Method::GET | Method::HEAD => Operation::ContainerProperties(name),
                Method::DELETE => Operation::DeleteContainer(name),
                _ => return Err(UNSUPPORTED_VERB),
            },
            (Some("container"), Some("list")) if *method == Method::GET => {
                Operation::ListBlobs(name)
            }
            (None, None) => return Err(INVALID_URI),
            _ => return Err(INVALID_QUERY),
        },
        Target::Path(fs, key) => {
            match (restype, comp, method) {
                (None, Some("block"), &Method::PUT) => {
                    let id = params.get("blockid").ok_or(MISSING_QUERY)?;
                    return Ok(Operation::PutBlock(fs, key, id.to_string()));
                }
                (None, Some("blocklist"), &Method::PUT) => {
                    return Ok(Operation::PutBlockList(fs, key))
                }
                (None, None, _) => {}
                // Get Block List, metadata, tags, leases…: not served.
                _ => return Err(INVALID_QUERY),
            }
            match *method {
                Method::PUT => {
                    let blob_type = parts
                        .headers
                        .get("x-ms-blob-type")
                        .and_then(|v| v.to_str().ok());
                    if blob_type != Some("BlockBlob") {
                        return Err(INVALID_HEADER);
                    }
                    Operation::PutBlob(fs, key)
                }
                Method::GET => Operation::GetBlob(fs, key),
                Method::HEAD => Operation::BlobProperties(fs, key),
                Method::DELETE => Operation::DeleteBlob(fs, key),
                _ => return Err(UNSUPPORTED_VERB),
            }
        }
    })
}
