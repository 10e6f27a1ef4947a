//! Uploads and downloads in chunks, never whole in memory.
//!
//! Written once for both protocols, against [`Backend`].
//!
//! Upload: up to one chunk (and 8 MiB), read into memory and sent with the file's creation (Gen1
//! CREATE; Gen2 create, one append, flush). Gen2 files up to the single-request size (256 MiB
//! by default) go as one append streamed from disk, then one flush. Larger ones go in chunks:
//! Gen2 appends at their positions, streamed from disk, several at once, then one flush once
//! all have succeeded; Gen1 APPENDs one after the other (each lands at the end of the file),
//! at most 4 MiB each, from memory. A failure says how many bytes had been sent; a Gen2 file's
//! appended data stays unreadable unless the flush is reached.
//!
//! Download: [`crate::transfer::receive`] (a temporary file renamed over the destination when
//! complete), resumed from where it stopped when the connection fails.

use std::path::Path;

use bytes::Bytes;

use super::backend::Backend;
use super::{Adls, AdlsPath};
use crate::error::{Error, Result};
use crate::transfer::{
    check_destination, receive, reporting, send_parts, Incoming, Parts, Source, Streamed,
    FROM_MEMORY_MAX,
};

/// Writes `total` bytes from `source` to the new file `path`. `stopped`, when given, is put
/// before a failure together with the bytes sent so far.
pub(super) async fn write_all<B: Backend>(
    a: &Adls,
    path: &AdlsPath,
    source: Source,
    total: u64,
    overwrite: bool,
    stopped: Option<&str>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64> {
    let fail = |e: Error, sent: u64| match stopped {
        Some(what) => e.within(&format!(
            "{what} stopped after {sent} of {total} bytes were sent"
        )),
        None => e,
    };
    let chunk = B::write_chunk(a.chunk_size) as u64;
    progress(0, total);
    if total <= chunk.min(FROM_MEMORY_MAX) {
        let data = source.read(0, total).await.map_err(|e| fail(e, 0))?;
        B::create(a, path, overwrite, data)
            .await
            .map_err(|e| fail(e, 0))?;
        progress(total, total);
    } else if total <= B::single_request(a) {
        B::create(a, path, overwrite, Bytes::new())
            .await
            .map_err(|e| fail(e, 0))?;
        let body = Streamed::new(source, 0, total, false);
        let send = B::append_streamed(a, path, 0, body.clone(), total);
        reporting(send, || body.sent(), total, progress)
            .await
            .map_err(|e| fail(e, 0))?;
        progress(total, total);
    } else {
        let mut parts = Parts::new(source.clone(), total, chunk, false);
        let concurrency = B::parallel_writes(a);
        let sent = if concurrency > 1 {
            B::create(a, path, overwrite, Bytes::new())
                .await
                .map_err(|e| fail(e, 0))?;
            let source = &source;
            send_parts(
                &mut parts,
                concurrency,
                |part| async move {
                    let body = Streamed::new(source.clone(), part.offset, part.len, false);
                    B::append_streamed(a, path, part.offset, body, part.len).await
                },
                progress,
            )
            .await
        } else {
            // One at a time, in order, from memory: the first chunk creates the file.
            let source = &source;
            send_parts(
                &mut parts,
                1,
                |part| async move {
                    let data = source.read(part.offset, part.len).await?;
                    if part.offset == 0 {
                        B::create(a, path, overwrite, data).await
                    } else {
                        B::append_at(a, path, part.offset, data).await
                    }
                },
                progress,
            )
            .await
        };
        sent.map_err(|(e, sent)| fail(e, sent))?;
    }
    B::commit(a, path, total)
        .await
        .map_err(|e| fail(e, total))?;
    Ok(total)
}

pub(super) async fn upload<B: Backend>(
    a: &Adls,
    local: &Path,
    remote: &AdlsPath,
    overwrite: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64> {
    let what = format!(
        "uploading '{}' to {}",
        local.display(),
        a.account.at(remote)
    );
    let (source, total) = Source::file(local, &what).await?;
    write_all::<B>(a, remote, source, total, overwrite, Some(&what), progress).await
}

pub(super) async fn download<B: Backend>(
    a: &Adls,
    remote: &AdlsPath,
    local: &Path,
    overwrite: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64> {
    let what = format!(
        "downloading {} to '{}'",
        a.account.at(remote),
        local.display()
    );
    check_destination(local, overwrite, &what).await?;
    let (item, version) = B::pin(a, remote).await?;
    if item.is_directory() {
        return Err(Error::InvalidArgument(format!(
            "{what}: '{remote}' is a directory; download files one by one"
        )));
    }
    let incoming = Incoming {
        what: &what,
        local,
        overwrite,
        total: item.length,
        md5: None,
        retry: &a.retry,
    };
    let (what, version) = (what.as_str(), &version);
    receive(
        incoming,
        |offset| B::open_at(a, remote, offset, version, what),
        progress,
    )
    .await
}
