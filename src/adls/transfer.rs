//! Uploads and downloads in chunks, never whole in memory.
//!
//! Upload: the next chunk is read from disk while the current one is sent (two chunks in memory
//! at most); Gen1 sends CREATE then APPENDs of at most 4 MiB, Gen2 create, appends at their
//! positions and one flush. A failure says how many bytes had been sent.
//!
//! Download: [`crate::transfer::receive`] (a temporary file renamed over the destination when
//! complete), resumed from where it stopped when the connection fails.

use std::path::Path;

use super::{dfs, webhdfs, Adls, AdlsItem, AdlsPath};
use crate::error::{Error, Result};
use crate::transfer::{check_destination, receive, Incoming, Source};

/// Writes `total` bytes from `source` to the new file `path`. `stopped`, when given, is put
/// before a failure together with the bytes sent so far.
pub(super) async fn write_all(
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
    let chunk = a.write_chunk() as u64;
    let mut current = source
        .next(total.min(chunk) as usize)
        .await
        .map_err(|e| fail(e, 0))?;
    let mut offset = 0u64;
    progress(0, total);
    loop {
        let len = current.len() as u64;
        let first = offset == 0;
        let send = async {
            match (a.is_dfs(), first) {
                (false, true) => webhdfs::create(a, path, overwrite, current).await,
                (false, false) => webhdfs::append_at(a, path, offset, current).await,
                (true, true) => {
                    dfs::create_file(a, path, overwrite).await?;
                    dfs::append_at(a, path, 0, current).await
                }
                (true, false) => dfs::append_at(a, path, offset, current).await,
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
    if a.is_dfs() && total > 0 {
        dfs::flush(a, path, total)
            .await
            .map_err(|e| fail(e, total))?;
    }
    Ok(total)
}

pub(super) async fn upload(
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
    write_all(a, remote, source, total, overwrite, Some(&what), progress).await
}

pub(super) async fn download(
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
    let (item, etag) = if a.is_dfs() {
        dfs::properties(a, remote).await?
    } else {
        (webhdfs::stat(a, remote).await?, None)
    };
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
    let what = what.as_str();
    let (item, etag) = (&item, etag.as_deref());
    receive(
        incoming,
        |offset| async move {
            if a.is_dfs() {
                dfs::open(a, remote, offset, None, etag, what).await
            } else {
                if offset > 0 {
                    check_unchanged(a, remote, item, offset, what).await?;
                }
                webhdfs::open(a, remote, offset, None, what).await
            }
        },
        progress,
    )
    .await
}

/// Before a Gen1 download resumes: WebHDFS has no ETag to pin the file's version with, so the
/// file's length and modification time must still be those the download started with, or the
/// rest would come from another version of it.
async fn check_unchanged(
    a: &Adls,
    remote: &AdlsPath,
    started: &AdlsItem,
    offset: u64,
    what: &str,
) -> Result<()> {
    let now = webhdfs::stat(a, remote).await?;
    if now.length == started.length && now.last_modified_ms == started.last_modified_ms {
        return Ok(());
    }
    Err(Error::Protocol(format!(
        "{what}: the file changed during the download (its length or modification time differs from when the download started), so the data from byte {offset} cannot be resumed; download it again"
    )))
}
