//! Block blobs in blocks: Put Block stages a block under its id, uncommitted and invisible;
//! Put Block List makes the file of the listed blocks, in order (what the Blob SDKs do for
//! large uploads and for streams).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hyper::StatusCode;

use super::super::errors::{
    err, Failure, Outcome, StorageError, BODY_TOO_LARGE, INTERNAL_ERROR, INVALID_QUERY,
    MISSING_CONTENT_LENGTH,
};
use super::super::handlers::{encrypted, filesystem, PathRequest};
use super::super::operation::content_length;
use super::super::response::Gen2Response;
use super::handlers::{may_put, receive_whole, store_file};
use super::response::as_blob;
use crate::common::body::RequestBody;
use crate::storage::store::Block;

/// Largest block (4000 MiB, from version 2019-12-12).
const MAX_BLOCK: u64 = 4000 * 1024 * 1024;
/// Most blocks a blob is made of, and most uncommitted blocks it may have.
const MAX_BLOCKS: usize = 50_000;
const MAX_UNCOMMITTED: usize = 100_000;
/// Largest block id, decoded.
const MAX_BLOCK_ID: usize = 64;
/// Largest block list body (50,000 ids with their tags fit well within it).
const MAX_LIST_BODY: u64 = 8 * 1024 * 1024;

const INVALID_BLOCK_ID: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidBlobOrBlock",
    "The specified blob or block content is invalid.",
);
const INVALID_BLOCK_LIST: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidBlockList",
    "The specified block list is invalid.",
);
const INVALID_XML: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidXmlDocument",
    "XML specified is not syntactically valid.",
);
const TOO_MANY_BLOCKS: StorageError = err(
    StatusCode::CONFLICT,
    "BlockCountExceedsLimit",
    "The uncommitted block count cannot exceed the maximum limit of 100,000 blocks.",
);

/// Put Block (`PUT ?comp=block&blockid=<base64>`): 201, the block uncommitted. Every id of a
/// blob has the same length (decoded, at most 64 bytes); the same id again replaces the block.
pub(super) async fn put_block(at: PathRequest<'_>, body: &mut RequestBody, id: &str) -> Outcome {
    let decoded = STANDARD.decode(id).map_err(|_| INVALID_QUERY)?;
    if decoded.is_empty() || decoded.len() > MAX_BLOCK_ID {
        return Err(INVALID_BLOCK_ID.into());
    }
    let announced = content_length(at.headers).ok_or(MISSING_CONTENT_LENGTH)?;
    if announced > MAX_BLOCK {
        return Err(BODY_TOO_LARGE.into());
    }
    let store = &at.ctx.svc.store;
    {
        let mut inner = store.lock();
        may_put(&filesystem(&mut inner, at.fs_name)?.tree, at)?;
    }
    let (content, len) = receive_whole(at, body, MAX_BLOCK).await?;
    let mut inner = store.lock();
    // The file system may have gone while the block arrived.
    filesystem(&mut inner, at.fs_name)?;
    let blocks = inner
        .uncommitted
        .entry((at.fs_name.to_string(), at.key.clone()))
        .or_default();
    let same_length = |other: &String| {
        STANDARD
            .decode(other)
            .is_ok_and(|o| o.len() == decoded.len())
    };
    if !blocks.keys().all(same_length) {
        return Err(INVALID_BLOCK_ID.into());
    }
    if !blocks.contains_key(id) && blocks.len() >= MAX_UNCOMMITTED {
        return Err(TOO_MANY_BLOCKS.into());
    }
    // A replaced block's content is released here; on disk that deletes one file.
    drop(blocks.insert(id.to_string(), Block { content, len }));
    Ok(as_blob(encrypted(at.exchange.empty(StatusCode::CREATED))))
}

/// Put Block List (`PUT ?comp=blocklist`, body `<BlockList><Latest>id</Latest>…</BlockList>`):
/// the file of the listed uncommitted blocks, in order (an id may repeat), replacing a file
/// there; the blocks not listed are dropped. 201 as Put Blob. A listed id that was not put →
/// 400 `InvalidBlockList` (the emulator keeps no committed blocks to list again).
pub(super) async fn put_block_list(
    at: PathRequest<'_>,
    body: &mut RequestBody,
    owner: &str,
) -> Outcome {
    let xml = match body.collect(MAX_LIST_BODY).await {
        Ok(Some(chunks)) => chunks.concat(),
        Ok(None) => return Err(BODY_TOO_LARGE.into()),
        Err(_) => return Err(Failure::Drop),
    };
    let ids = block_ids(&xml)?;
    if ids.len() > MAX_BLOCKS {
        return Err(INVALID_BLOCK_LIST.into());
    }
    let store = &at.ctx.svc.store;
    let parts = {
        let mut inner = store.lock();
        may_put(&filesystem(&mut inner, at.fs_name)?.tree, at)?;
        let empty = Default::default();
        let blocks = inner
            .uncommitted
            .get(&(at.fs_name.to_string(), at.key.clone()))
            .unwrap_or(&empty);
        let mut parts = Vec::with_capacity(ids.len());
        for id in &ids {
            let block = blocks.get(id).ok_or(INVALID_BLOCK_LIST)?;
            parts.push(
                block
                    .content
                    .read(0, block.len)
                    .map_err(|_| INTERNAL_ERROR)?,
            );
        }
        parts
    };
    let (content, len) = store.concatenate(parts).await.map_err(|_| INTERNAL_ERROR)?;
    store_file(at, content, len, owner)
}

/// The ids of a block list, in order. `Latest`, `Uncommitted` and `Committed` all name a block
/// put since the blob was last written.
fn block_ids(xml: &[u8]) -> Result<Vec<String>, StorageError> {
    let text = std::str::from_utf8(xml).map_err(|_| INVALID_XML)?;
    let start = text.find("<BlockList>").ok_or(INVALID_XML)? + "<BlockList>".len();
    let end = text.rfind("</BlockList>").ok_or(INVALID_XML)?;
    let mut rest = text.get(start..end).ok_or(INVALID_XML)?;
    let mut ids = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(ids);
        }
        let tag = ["Latest", "Uncommitted", "Committed"]
            .into_iter()
            .find(|tag| rest.starts_with(&format!("<{tag}>")))
            .ok_or(INVALID_XML)?;
        let close = format!("</{tag}>");
        let inner = &rest[tag.len() + 2..];
        let at = inner.find(&close).ok_or(INVALID_XML)?;
        ids.push(inner[..at].trim().to_string());
        rest = &inner[at + close.len()..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_lists_parse_in_order() {
        let xml = br#"<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>AA==</Latest>
            <Uncommitted>AQ==</Uncommitted><Committed>AA==</Committed></BlockList>"#;
        assert_eq!(block_ids(xml).unwrap(), ["AA==", "AQ==", "AA=="]);
        assert!(block_ids(b"<BlockList></BlockList>").unwrap().is_empty());
        assert!(block_ids(b"<BlockList><Other>x</Other></BlockList>").is_err());
        assert!(block_ids(b"<BlockList><Latest>x</BlockList>").is_err());
        assert!(block_ids(b"not xml").is_err());
    }
}
