//! The two protocols of Data Lake Storage behind one interface: [`Backend`] is what Gen1
//! (WebHDFS, webhdfs.rs) and Gen2 (DFS, dfs.rs) each implement, and [`with_backend!`] is the
//! one place that picks an account's implementation. Everything else (the public [`Adls`], the
//! chunked transfers) is written once against the trait.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::Response;

use super::{Adls, AdlsItem, AdlsPath, ListOutcome};
use crate::error::Result;
use crate::transfer::Streamed;

/// One Data Lake protocol. Operations take the account's client and validated paths.
pub(super) trait Backend {
    /// What a download pins its resumptions to, so that the rest of the data comes from the
    /// version it started with.
    type Version;

    /// Bytes per write request for the configured chunk size.
    fn write_chunk(chunk_size: usize) -> usize;

    /// The largest file written in one request streamed from disk ([`Backend::append_streamed`]);
    /// 0 when the protocol has none and writes at most [`Backend::write_chunk`] per request.
    fn single_request(a: &Adls) -> u64;

    /// Parts of one file written at once: more than one only where a part may land before the
    /// parts ahead of it.
    fn parallel_writes(a: &Adls) -> usize;

    /// Lists `path` page by page, handing each item to `on_item` until it returns false.
    async fn list(
        a: &Adls,
        path: &AdlsPath,
        recursive: bool,
        on_item: &mut dyn FnMut(AdlsItem) -> bool,
    ) -> Result<ListOutcome>;

    async fn stat(a: &Adls, path: &AdlsPath) -> Result<AdlsItem>;

    /// Creates the directory and its parents; an existing directory is fine.
    async fn mkdir(a: &Adls, path: &AdlsPath) -> Result<()>;

    /// Appends `data` at the file's current end.
    async fn append(a: &Adls, path: &AdlsPath, data: Bytes) -> Result<()>;

    /// Reads `length` bytes (to the end when `None`) from `offset`; nothing at or past the end.
    async fn read(a: &Adls, path: &AdlsPath, offset: u64, length: Option<u64>) -> Result<Bytes>;

    /// Renames without replacing an existing destination.
    async fn rename(a: &Adls, from: &AdlsPath, to: &AdlsPath) -> Result<()>;

    async fn remove(a: &Adls, path: &AdlsPath, recursive: bool) -> Result<()>;

    /// Creates the file (replacing one only when `overwrite`) with its first chunk.
    async fn create(a: &Adls, path: &AdlsPath, overwrite: bool, first: Bytes) -> Result<()>;

    /// Writes a later chunk at `offset` (with one write at a time, the length written so far).
    async fn append_at(a: &Adls, path: &AdlsPath, offset: u64, data: Bytes) -> Result<()>;

    /// Writes the data `body` streams at `offset` in one request (not readable before
    /// [`Backend::commit`]).
    async fn append_streamed(
        a: &Adls,
        path: &AdlsPath,
        offset: u64,
        body: Arc<Streamed>,
        len: u64,
    ) -> Result<()>;

    /// Makes the `total` bytes written readable.
    async fn commit(a: &Adls, path: &AdlsPath, total: u64) -> Result<()>;

    /// The file a download starts on, and its version.
    async fn pin(a: &Adls, path: &AdlsPath) -> Result<(AdlsItem, Self::Version)>;

    /// The data of `version` of the file from `offset` to the end, streamed.
    async fn open_at(
        a: &Adls,
        path: &AdlsPath,
        offset: u64,
        version: &Self::Version,
        what: &str,
    ) -> Result<Response>;
}

/// Evaluates `$body` with `$backend` naming the [`Backend`] of the account of the [`Adls`]
/// `$adls`: the one place where Gen1 and Gen2 part ways.
macro_rules! with_backend {
    ($adls:expr, $backend:ident => $body:expr) => {
        match $adls.account.protocol() {
            $crate::adls::AdlsProtocol::Dfs => {
                type $backend = $crate::adls::dfs::Dfs;
                $body
            }
            _ => {
                type $backend = $crate::adls::webhdfs::WebHdfs;
                $body
            }
        }
    };
}
