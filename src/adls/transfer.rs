//! Uploads and downloads in chunks, never whole in memory.
//!
//! Upload: the next chunk is read from disk while the current one is sent (two chunks in memory
//! at most); Gen1 sends CREATE then APPENDs of at most 4 MiB, Gen2 create, appends at their
//! positions and one flush. A failure says how many bytes had been sent.
//!
//! Download: into a temporary file next to the destination, written while the next data
//! arrives (two 4 MiB buffers), resumed from where it stopped when the connection fails, checked
//! against the remote length, flushed to disk and renamed over the destination. A failed or
//! cancelled download removes its temporary file and leaves the destination as it was.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use bytes::Bytes;
use tokio::task::JoinHandle;

use super::{dfs, webhdfs, Adls, AdlsPath, IDLE_TIMEOUT};
use crate::error::{Error, Result};

/// Bytes gathered before a write to disk.
const WRITE_BUFFER: usize = 4 * 1024 * 1024;
/// Resumptions of a download in a row without progress before it fails.
const MAX_RESUMES: u32 = 5;

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("a file operation did not finish: {e}")))
}

/// Where upload data comes from.
pub(super) enum Source {
    Memory {
        data: Bytes,
        pos: usize,
    },
    File {
        file: Option<std::fs::File>,
        name: PathBuf,
    },
}

impl Source {
    pub(super) fn memory(data: Bytes) -> Source {
        Source::Memory { data, pos: 0 }
    }

    /// The next `n` bytes (all of them: a file that ends sooner is an error).
    async fn next(&mut self, n: usize) -> Result<Bytes> {
        match self {
            Source::Memory { data, pos } => {
                let end = (*pos + n).min(data.len());
                let chunk = data.slice(*pos..end);
                *pos = end;
                Ok(chunk)
            }
            Source::File { file, name } => {
                if n == 0 {
                    return Ok(Bytes::new());
                }
                let mut f = file
                    .take()
                    .ok_or_else(|| Error::Internal("the upload's file was lost".into()))?;
                let (f, read) = blocking(move || {
                    let mut buf = vec![0u8; n];
                    let read = f.read_exact(&mut buf).map(|_| buf);
                    (f, read)
                })
                .await?;
                *file = Some(f);
                read.map(Bytes::from).map_err(|e| {
                    Error::Io(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        format!("'{}' became shorter while it was uploaded", name.display())
                    } else {
                        format!("reading '{}' failed: {e}", name.display())
                    })
                })
            }
        }
    }
}

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
    let name = local.to_path_buf();
    let opened = blocking(move || {
        let file = std::fs::File::open(&name)?;
        let meta = file.metadata()?;
        Ok::<_, std::io::Error>((file, meta.is_dir(), meta.len()))
    })
    .await?;
    let (file, is_dir, total) = opened
        .map_err(|e| Error::Io(format!("{what} failed: the local file cannot be read: {e}")))?;
    if is_dir {
        return Err(Error::InvalidArgument(format!(
            "{what}: '{}' is a folder; upload files one by one",
            local.display()
        )));
    }
    let source = Source::File {
        file: Some(file),
        name: local.to_path_buf(),
    };
    write_all(a, remote, source, total, overwrite, Some(&what), progress).await
}

/// A write in progress; gives back the file and the emptied buffer.
type PendingWrite = JoinHandle<std::io::Result<(std::fs::File, Vec<u8>)>>;

/// Writes to the temporary file off the async threads, one buffer while the next fills.
struct Writer {
    file: Option<std::fs::File>,
    buffer: Vec<u8>,
    spare: Option<Vec<u8>>,
    pending: Option<PendingWrite>,
    what: String,
}

impl Writer {
    fn io(&self, e: std::io::Error) -> Error {
        Error::Io(format!(
            "{} failed writing the temporary file: {e}",
            self.what
        ))
    }

    /// Adds data; returns whether a buffer went to disk.
    async fn push(&mut self, data: &[u8]) -> Result<bool> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() < WRITE_BUFFER {
            return Ok(false);
        }
        self.flush().await?;
        Ok(true)
    }

    async fn wait(&mut self) -> Result<()> {
        if let Some(pending) = self.pending.take() {
            let (file, mut buf) = pending
                .await
                .map_err(|e| Error::Internal(format!("a file write did not finish: {e}")))?
                .map_err(|e| self.io(e))?;
            buf.clear();
            self.file = Some(file);
            self.spare = Some(buf);
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        self.wait().await?;
        if self.buffer.is_empty() {
            return Ok(());
        }
        let next = self
            .spare
            .take()
            .unwrap_or_else(|| Vec::with_capacity(WRITE_BUFFER));
        let buf = std::mem::replace(&mut self.buffer, next);
        let mut file = self
            .file
            .take()
            .ok_or_else(|| Error::Internal("the download's file was lost".into()))?;
        self.pending = Some(tokio::task::spawn_blocking(move || {
            file.write_all(&buf)?;
            Ok((file, buf))
        }));
        Ok(())
    }

    /// Writes what is left, flushes it to disk and returns the file's length.
    async fn finish(mut self) -> Result<u64> {
        self.flush().await?;
        self.wait().await?;
        let file = self
            .file
            .take()
            .ok_or_else(|| Error::Internal("the download's file was lost".into()))?;
        let synced = blocking(move || {
            file.sync_all()?;
            Ok::<_, std::io::Error>(file.metadata()?.len())
        })
        .await?;
        synced.map_err(|e| self.io(e))
    }
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
    let dest = local.to_path_buf();
    let existing = blocking(move || std::fs::metadata(&dest).map(|m| m.is_dir())).await?;
    match existing {
        Ok(true) => {
            return Err(Error::InvalidArgument(format!(
                "{what}: '{}' is a folder; give the file name to write",
                local.display()
            )))
        }
        Ok(false) if !overwrite => {
            return Err(Error::AlreadyExists(format!(
                "{what}: '{}' exists already; allow overwriting to replace it",
                local.display()
            )))
        }
        _ => {}
    }
    let item = a.stat(&remote.to_string()).await?;
    if item.is_directory() {
        return Err(Error::InvalidArgument(format!(
            "{what}: '{remote}' is a directory; download files one by one"
        )));
    }
    let total = item.length;

    let folder = match local.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let prefix = format!(
        ".{}.",
        local
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let created = blocking(move || {
        tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".azmi-partial")
            .tempfile_in(&folder)
    })
    .await?;
    let temp = created.map_err(|e| {
        Error::Io(format!(
            "{what} failed: no temporary file could be created next to it: {e}"
        ))
    })?;
    // The path deletes the file when dropped: on failure, and when the future is dropped
    // (cancellation) while a write is still running.
    let (file, temp_path) = temp.into_parts();
    let mut writer = Writer {
        file: Some(file),
        buffer: Vec::with_capacity(WRITE_BUFFER.min(total as usize)),
        spare: None,
        pending: None,
        what: what.clone(),
    };

    progress(0, total);
    let mut done = 0u64;
    let mut resumes = 0u32;
    let mut since_progress = Instant::now();
    while done < total {
        let mut resp = if a.is_dfs() {
            dfs::open(a, remote, done, None, &what).await
        } else {
            webhdfs::open(a, remote, done, None, &what).await
        }
        .map_err(|e| stopped(e, &what, done, total))?;
        let before = done;
        let interrupted = loop {
            match tokio::time::timeout(IDLE_TIMEOUT, resp.chunk()).await {
                Err(_) => {
                    break Some(Error::Timeout(format!(
                        "no data arrived for {} s",
                        IDLE_TIMEOUT.as_secs()
                    )))
                }
                Ok(Err(e)) => {
                    break Some(Error::Network(format!(
                        "the connection failed: {}",
                        crate::imds::describe_transport_error(&e)
                    )))
                }
                Ok(Ok(None)) => break None,
                Ok(Ok(Some(chunk))) => {
                    let n = chunk.len() as u64;
                    if done + n > total {
                        return Err(Error::Protocol(format!(
                            "{what}: the service sent more than the file's {total} bytes; the file changed during the download"
                        )));
                    }
                    done += n;
                    if writer.push(&chunk).await? {
                        progress(done, total);
                    }
                }
            }
        };
        if done > before {
            resumes = 0;
            since_progress = Instant::now();
        }
        match interrupted {
            None if done < total && done == before => {
                return Err(Error::Protocol(format!(
                    "{what}: the service sent no data from byte {done} of {total}"
                )))
            }
            None => {}
            Some(e) => {
                resumes += 1;
                let left = a.retry.budget.saturating_sub(since_progress.elapsed());
                if resumes > MAX_RESUMES || left.is_zero() {
                    return Err(stopped(e, &what, done, total));
                }
                log::debug!("{what}: resuming at byte {done} after: {e}");
                tokio::time::sleep(a.retry.backoff(resumes - 1).min(left)).await;
            }
        }
    }
    let written = writer.finish().await?;
    if written != total {
        return Err(Error::Protocol(format!(
            "{what}: {written} bytes arrived but the file has {total}"
        )));
    }
    let dest = local.to_path_buf();
    let persisted = blocking(move || {
        let result = if overwrite {
            temp_path.persist(&dest)
        } else {
            temp_path.persist_noclobber(&dest)
        };
        if result.is_ok() {
            sync_folder(&dest);
        }
        result.map_err(|e| e.error)
    })
    .await?;
    persisted.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::AlreadyExists(format!(
                "{what}: '{}' appeared meanwhile; allow overwriting to replace it",
                local.display()
            ))
        } else {
            Error::Io(format!(
                "{what} failed: the temporary file could not replace '{}': {e}",
                local.display()
            ))
        }
    })?;
    progress(total, total);
    Ok(total)
}

fn stopped(e: Error, what: &str, done: u64, total: u64) -> Error {
    e.within(&format!(
        "{what} stopped after {done} of {total} bytes were received"
    ))
}

/// Makes a rename durable (best effort: not every platform can sync a folder).
fn sync_folder(file: &Path) {
    #[cfg(unix)]
    if let Some(parent) = file.parent() {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = file;
}
