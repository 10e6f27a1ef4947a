//! Downloads into a temporary file that replaces the destination only when complete and
//! checked (see the module above).

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use md5::{Digest, Md5};
use tokio::task::JoinHandle;

use super::{blocking, IDLE_TIMEOUT};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;

/// Bytes gathered before a write to disk. Small enough to stay in the CPU caches: with 4 MiB,
/// copying each buffer into the page cache cost more than the network and downloads ran at
/// about half of curl's speed (BENCHMARKS.md).
const WRITE_BUFFER: usize = 256 * 1024;
/// Resumptions of a download in a row without progress before it fails.
const MAX_RESUMES: u32 = 5;

/// Bytes written between two requests to start writing the file back to disk (Linux): the
/// kernel writes while the rest arrives, so the fsync at the end has little left to do (it took
/// 0.18 s of a 256 MiB download when it had all of it). A 256 MiB Gen2 download from
/// azmi-emulator took 0.49 s with it, 0.54 s without; a Blob download, bound by its MD5, the same.
#[cfg(target_os = "linux")]
const WRITEBACK_EVERY: u64 = 8 * 1024 * 1024;

/// What the writing thread holds between two buffers.
struct Sink {
    file: std::fs::File,
    /// The MD5 of what has been written, when the service stores one to check against.
    hasher: Option<Md5>,
    /// Bytes written so far, and up to where writeback has been started.
    #[cfg(target_os = "linux")]
    written: u64,
    #[cfg(target_os = "linux")]
    writeback_from: u64,
}

impl Sink {
    /// Hashes and writes one buffer (on a blocking thread). The MD5 is computed here, not
    /// where the data arrives: it costs as much CPU as receiving the data, and on its own thread
    /// it runs while the next buffer arrives instead of delaying it.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(h) = self.hasher.as_mut() {
            h.update(buf);
        }
        self.file.write_all(buf)?;
        #[cfg(target_os = "linux")]
        {
            self.written += buf.len() as u64;
            if self.written - self.writeback_from >= WRITEBACK_EVERY {
                start_writeback(
                    &self.file,
                    self.writeback_from,
                    self.written - self.writeback_from,
                );
                self.writeback_from = self.written;
            }
        }
        Ok(())
    }
}

/// Asks the kernel to start writing `len` bytes from `offset` to disk, without waiting for it
/// (`sync_file_range` with `SYNC_FILE_RANGE_WRITE`). Only a head start for the final fsync,
/// which stays the guarantee: a failure here is ignored.
#[cfg(target_os = "linux")]
fn start_writeback(file: &std::fs::File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the descriptor is open for as long as `file` is borrowed; the call reads no memory.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// Buffers queued for the writing thread: the data keeps arriving while it hashes and writes a
/// few buffers behind (with one, each side waited for the other in turn).
const QUEUED_BUFFERS: usize = 8;

/// Writes to the temporary file on a thread of its own, in order, a few buffers behind the
/// data as it arrives; emptied buffers come back for reuse.
struct Writer {
    queue: Option<tokio::sync::mpsc::Sender<Vec<u8>>>,
    emptied: std::sync::mpsc::Receiver<Vec<u8>>,
    thread: Option<JoinHandle<std::io::Result<Sink>>>,
    buffer: Vec<u8>,
    what: String,
}

impl Writer {
    fn new(file: std::fs::File, hash: bool, total: u64, what: &str) -> Writer {
        let mut sink = Sink {
            file,
            hasher: hash.then(Md5::new),
            #[cfg(target_os = "linux")]
            written: 0,
            #[cfg(target_os = "linux")]
            writeback_from: 0,
        };
        let (queue, mut queued) = tokio::sync::mpsc::channel::<Vec<u8>>(QUEUED_BUFFERS);
        let (give_back, emptied) = std::sync::mpsc::channel();
        // Ends when the queue is closed (all written, or the download dropped: cancelled) or at
        // the first failed write.
        let thread = tokio::task::spawn_blocking(move || {
            while let Some(mut buf) = queued.blocking_recv() {
                sink.write(&buf)?;
                buf.clear();
                let _ = give_back.send(buf);
            }
            Ok(sink)
        });
        Writer {
            queue: Some(queue),
            emptied,
            thread: Some(thread),
            buffer: Vec::with_capacity(WRITE_BUFFER.min(total as usize)),
            what: what.to_owned(),
        }
    }

    fn io(&self, e: std::io::Error) -> Error {
        Error::Io(format!(
            "{} failed writing the temporary file: {e}",
            self.what
        ))
    }

    /// Adds data; returns whether a buffer went to the writing thread.
    async fn push(&mut self, data: &[u8]) -> Result<bool> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() < WRITE_BUFFER {
            return Ok(false);
        }
        self.flush().await?;
        Ok(true)
    }

    async fn flush(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let next = self
            .emptied
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(WRITE_BUFFER));
        let full = std::mem::replace(&mut self.buffer, next);
        let queue = self.queue.as_ref().ok_or_else(lost)?;
        if queue.send(full).await.is_err() {
            // The thread stopped at a failed write: its error says why.
            return Err(self.join().await.err().unwrap_or_else(lost));
        }
        Ok(())
    }

    /// Closes the queue and waits for the writing thread: the sink once everything queued is
    /// written, or the error that ended it.
    async fn join(&mut self) -> Result<Sink> {
        self.queue = None;
        let thread = self.thread.take().ok_or_else(lost)?;
        thread
            .await
            .map_err(|e| Error::Internal(format!("a file write did not finish: {e}")))?
            .map_err(|e| self.io(e))
    }

    /// Writes what is left and flushes it to disk; returns the file's length and the MD5 of
    /// what was written (when asked for).
    async fn finish(mut self) -> Result<(u64, Option<[u8; 16]>)> {
        self.flush().await?;
        let Sink { file, hasher, .. } = self.join().await?;
        let synced = blocking(move || {
            file.sync_all()?;
            Ok::<_, std::io::Error>(file.metadata()?.len())
        })
        .await?;
        let len = synced.map_err(|e| self.io(e))?;
        Ok((len, hasher.map(|h| h.finalize().into())))
    }
}

fn lost() -> Error {
    Error::Internal("the download's file was lost".into())
}

/// Refuses a destination that is a folder, or that exists when not `overwrite`.
pub(crate) async fn check_destination(local: &Path, overwrite: bool, what: &str) -> Result<()> {
    let dest = local.to_path_buf();
    let existing = blocking(move || std::fs::metadata(&dest).map(|m| m.is_dir())).await?;
    match existing {
        Ok(true) => Err(Error::InvalidArgument(format!(
            "{what}: '{}' is a folder; give the file name to write",
            local.display()
        ))),
        Ok(false) if !overwrite => Err(Error::AlreadyExists(format!(
            "{what}: '{}' exists already; allow overwriting to replace it",
            local.display()
        ))),
        _ => Ok(()),
    }
}

/// What a download fetches and how it is checked.
pub(crate) struct Incoming<'a> {
    /// "downloading x to 'y'", for messages.
    pub what: &'a str,
    pub local: &'a Path,
    pub overwrite: bool,
    /// The remote length.
    pub total: u64,
    /// The MD5 of the whole content, when the service stores one.
    pub md5: Option<[u8; 16]>,
    /// Resumptions after a lost connection stop when this budget passes without progress.
    pub retry: &'a RetryPolicy,
}

/// Receives `incoming.total` bytes into a temporary file next to `incoming.local` and renames
/// it over the destination when complete and checked. `open(offset)` opens the remote data from
/// byte `offset` (0 first, later offsets to resume after a lost connection). Call
/// [`check_destination`] first: this refuses only a destination that appeared meanwhile.
pub(crate) async fn receive<F, Fut>(
    incoming: Incoming<'_>,
    mut open: F,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<reqwest::Response>>,
{
    let Incoming {
        what,
        local,
        overwrite,
        total,
        md5,
        retry,
    } = incoming;
    let folder = match local.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (folder, dest) = long_path_ready(folder, local).await?;
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
    let mut writer = Writer::new(file, md5.is_some(), total, what);

    progress(0, total);
    let mut done = 0u64;
    let mut resumes = 0u32;
    let mut since_progress = Instant::now();
    while done < total {
        let mut resp = open(done)
            .await
            .and_then(|resp| check_content_range(resp, done, total))
            .map_err(|e| stopped(e, what, done, total))?;
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
                        crate::source::exchange::describe_transport_error(&e)
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
                let left = retry.budget.saturating_sub(since_progress.elapsed());
                if resumes > MAX_RESUMES || left.is_zero() {
                    return Err(stopped(e, what, done, total));
                }
                log::debug!("{what}: resuming at byte {done} after: {e}");
                tokio::time::sleep(retry.backoff(resumes - 1).min(left)).await;
            }
        }
    }
    let (written, received_md5) = writer.finish().await?;
    if written != total {
        return Err(Error::Protocol(format!(
            "{what}: {written} bytes arrived but the file has {total}"
        )));
    }
    if let (Some(expected), Some(received)) = (md5, received_md5) {
        if received != expected {
            return Err(Error::Protocol(format!(
                "{what}: the data that arrived does not match the MD5 the service holds for it; the destination was left as it was"
            )));
        }
    }
    let persisted = blocking(move || {
        let result = if overwrite {
            temp_path.persist(&dest)
        } else {
            temp_path.persist_noclobber(&dest)
        };
        match result {
            Ok(()) => {
                sync_folder(&dest);
                Ok(())
            }
            // Nothing replaced: the verified download is deleted with its temporary file.
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Err((e.error, None)),
            // The destination could not be replaced (on Windows: another program has it open).
            // The download is complete and verified: keep it rather than lose it.
            Err(e) => Err((e.error, keep_download(e.path, &dest))),
        }
    })
    .await?;
    persisted.map_err(|(e, kept)| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            return Error::AlreadyExists(format!(
                "{what}: '{}' appeared meanwhile; allow overwriting to replace it",
                local.display()
            ));
        }
        let open_elsewhere = if cfg!(windows) {
            " (on Windows, a file another program has open cannot be replaced)"
        } else {
            ""
        };
        // Shown as the caller named the destination's folder, not in its verbatim form.
        let kept = kept.map(|name| local.with_file_name(name));
        match kept {
            Some(kept) => Error::Io(format!(
                "{what}: the download is complete and verified, but it could not replace '{}': {e}{open_elsewhere}. \
                 It was kept as '{}': close what holds the destination and move it there, or download again",
                local.display(),
                kept.display()
            )),
            None => Error::Io(format!(
                "{what} failed: the temporary file could not replace '{}': {e}{open_elsewhere}",
                local.display()
            )),
        }
    })?;
    progress(total, total);
    Ok(total)
}

/// Refuses a ranged answer that does not start where the download stopped, or that is of a
/// blob of another length: written at `done`, it would corrupt the file (the MD5, when there
/// is one, would catch it only at the end; without one nothing would). An answer without
/// `Content-Range` is taken as the data from `done` (WebHDFS's OPEN with an offset answers 200).
fn check_content_range(
    resp: reqwest::Response,
    done: u64,
    total: u64,
) -> Result<reqwest::Response> {
    let Some(value) = resp.headers().get(reqwest::header::CONTENT_RANGE) else {
        if resp.status().as_u16() == 206 {
            return Err(Error::Protocol(
                "the service answered 206 Partial Content without a Content-Range".into(),
            ));
        }
        return Ok(resp);
    };
    let text = value.to_str().unwrap_or("");
    match parse_content_range(text) {
        Some((start, length)) if start == done && length.is_none_or(|l| l == total) => Ok(resp),
        Some((start, Some(length))) if start == done => Err(Error::Protocol(format!(
            "the file is now {length} bytes, not {total}: it changed during the download; download it again"
        ))),
        _ => Err(Error::Protocol(format!(
            "asked for the data from byte {done}, the service answered Content-Range '{text}'"
        ))),
    }
}

/// `bytes <start>-<end>/<length or *>` as (start, length).
fn parse_content_range(text: &str) -> Option<(u64, Option<u64>)> {
    let (range, length) = text.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let length = match length {
        "*" => None,
        l => Some(l.parse().ok()?),
    };
    Some((start.parse().ok()?, length))
}

fn stopped(e: Error, what: &str, done: u64, total: u64) -> Error {
    e.within(&format!(
        "{what} stopped after {done} of {total} bytes were received"
    ))
}

/// The folder to write the temporary file in and the destination to rename it to. On Windows
/// both in their verbatim form (`\\?\C:\...`, `\\?\UNC\server\share\...`), which every Win32 call
/// takes at any length: the temporary file's rename would otherwise fail beyond MAX_PATH (260).
/// Elsewhere as given.
async fn long_path_ready(folder: PathBuf, local: &Path) -> Result<(PathBuf, PathBuf)> {
    #[cfg(windows)]
    {
        let shown = folder.clone();
        let verbatim = blocking(move || windows_verbatim(&folder)).await?;
        let folder = verbatim.map_err(|e| {
            Error::Io(format!(
                "the folder '{}' cannot be used: {e}",
                shown.display()
            ))
        })?;
        let dest = match local.file_name() {
            Some(name) => folder.join(name),
            None => local.to_path_buf(),
        };
        Ok((folder, dest))
    }
    #[cfg(not(windows))]
    Ok((folder, local.to_path_buf()))
}

/// `path` made absolute (against the current folder, as Windows does; links are not resolved)
/// and verbatim: `C:\x` as `\\?\C:\x`, `\\server\share\x` as `\\?\UNC\server\share\x`; a path
/// already verbatim or a device path as it is.
#[cfg(windows)]
fn windows_verbatim(path: &Path) -> std::io::Result<PathBuf> {
    use std::path::{Component, Prefix};
    let absolute = std::path::absolute(path)?;
    let mut components = absolute.components();
    let mut verbatim = match components.next() {
        Some(Component::Prefix(prefix)) => match prefix.kind() {
            Prefix::Disk(letter) => PathBuf::from(format!(r"\\?\{}:", char::from(letter))),
            Prefix::UNC(server, share) => {
                let mut unc = std::ffi::OsString::from(r"\\?\UNC\");
                unc.push(server);
                unc.push(r"\");
                unc.push(share);
                PathBuf::from(unc)
            }
            _ => return Ok(absolute),
        },
        _ => return Ok(absolute),
    };
    verbatim.push(std::path::MAIN_SEPARATOR_STR);
    for component in components {
        match component {
            Component::Normal(name) => verbatim.push(name),
            // `absolute` has resolved `..` already, as Windows does (textually); kept for safety.
            Component::ParentDir => {
                verbatim.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(verbatim)
}

/// Keeps a complete, verified download whose rename failed, beside the destination as
/// `<name>.azmi-download` when that name is free, else under its temporary name. Returns the
/// file name kept; `None` when even keeping failed (the temporary file is then deleted).
fn keep_download(temp: tempfile::TempPath, dest: &Path) -> Option<std::ffi::OsString> {
    let kept = temp.keep().ok()?;
    let mut plain = dest.as_os_str().to_owned();
    plain.push(".azmi-download");
    let plain = PathBuf::from(plain);
    let kept = if !plain.exists() && std::fs::rename(&kept, &plain).is_ok() {
        plain
    } else {
        kept
    };
    kept.file_name().map(|n| n.to_os_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    /// Data pushed in uneven pieces over many buffers, with the queue full most of the time,
    /// lands in the file in order, and the MD5 is that of all of it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writing_thread_writes_and_hashes_every_buffer_in_order() {
        let data = pattern(5 * 1024 * 1024 + 12_345);
        let temp = tempfile::NamedTempFile::new().unwrap();
        let file = temp.reopen().unwrap();
        let mut writer = Writer::new(file, true, data.len() as u64, "downloading x");
        for piece in data.chunks(16_411) {
            writer.push(piece).await.unwrap();
        }
        let (len, md5) = writer.finish().await.unwrap();
        assert_eq!(len, data.len() as u64);
        assert_eq!(md5, Some(Md5::digest(&data).into()));
        assert_eq!(std::fs::read(temp.path()).unwrap(), data);
    }

    /// A write that fails (here: a file opened for reading only) ends the download with an
    /// error that says so, whether it shows on a later push or at the end.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_ends_the_download_with_an_io_error() {
        let temp = tempfile::NamedTempFile::new().unwrap();
        let read_only = std::fs::File::open(temp.path()).unwrap();
        let data = pattern(4 * 1024 * 1024);
        let mut writer = Writer::new(read_only, true, data.len() as u64, "downloading x");
        let mut failed = None;
        for piece in data.chunks(64 * 1024) {
            if let Err(e) = writer.push(piece).await {
                failed = Some(e);
                break;
            }
        }
        let e = match failed {
            Some(e) => e,
            None => writer.finish().await.unwrap_err(),
        };
        assert!(matches!(e, Error::Io(_)), "{e:?}");
        assert!(
            e.to_string()
                .contains("downloading x failed writing the temporary file"),
            "{e}"
        );
    }
}
