//! Uploads and downloads in chunks, never whole in memory.
//!
//! Written once for both protocols, against [`Backend`].
//!
//! Upload: the next chunk is read from disk while the current one is sent (two chunks in memory
//! at most); the backend creates the file with the first chunk, appends the others and commits
//! them (Gen1: CREATE then APPENDs of at most 4 MiB; Gen2: create, appends at their positions
//! and one flush). A failure says how many bytes had been sent.
//!
//! Download: [`crate::transfer::receive`] (a temporary file renamed over the destination when
//! complete), resumed from where it stopped when the connection fails.

use std::path::Path;

use super::backend::Backend;
use super::{Adls, AdlsPath};
use crate::error::{Error, Result};
use crate::transfer::{check_destination, receive, Incoming, Source};

/// Writes `total` bytes from `source` to the new file `path`. `stopped`, when given, is put
/// before a failure together with the bytes sent so far.
pub(super) async fn write_all<B: Backend>(
    a: &Adls,
    path: &AdlsPath,
    mut source: Source,
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
    let mut current = source
        .next(total.min(chunk) as usize)
        .await
        .map_err(|e| fail(e, 0))?;
    let mut offset = 0u64;
    progress(0, total);
    loop {
        let len = current.len() as u64;
        let send = async {
            if offset == 0 {
                B::create(a, path, overwrite, current).await
            } else {
                B::append_at(a, path, offset, current).await
            }
        };
        let rest = total - offset - len;
        let next = if rest > 0 {
            // Read the next chunk while this one is sent.
            let (sent, next) = tokio::join!(send, source.next(rest.min(chunk) as usize));
            sent.map_err(|e| fail(e, offset))?;
            Some(next)
        } else {
            send.await.map_err(|e| fail(e, offset))?;
            None
        };
        offset += len;
        progress(offset, total);
        match next {
            Some(next) => current = next.map_err(|e| fail(e, offset))?,
            None => break,
        }
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
