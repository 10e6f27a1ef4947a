//! What uploads share: where the data comes from ([`Source`]), one request streamed from it
//! ([`Streamed`]), and parts sent several at a time ([`Parts`], [`send_parts`]).
//!
//! Memory: every request is streamed from the source and holds [`STREAM_AHEAD`] pieces of
//! [`STREAM_PIECE`] bytes, whatever the part size; parts in flight at once hold no more.

use std::fs::File;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use http_body::{Frame, SizeHint};
use md5::{Digest, Md5};
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::blocking;
use crate::error::{Error, Result};
use crate::service::Replay;

/// Bytes read from the file per piece of a streamed request body.
const STREAM_PIECE: usize = 256 * 1024;
/// Pieces read ahead of the connection.
const STREAM_AHEAD: usize = 4;
/// How often the progress of a streamed request is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Read buffers an upload keeps for its next reads once the requests that sent them let go:
/// enough for [`STREAM_AHEAD`] pieces of each of [`super::UPLOAD_CONCURRENCY`] requests.
const POOLED_BUFFERS: usize = 16;

/// Where upload data comes from: bytes in memory, or a local file read at any offset (so that
/// parts can be read in any order and a request's data read again for a retry).
#[derive(Clone)]
pub(crate) enum Source {
    Memory(Bytes),
    File {
        file: Arc<File>,
        name: Arc<PathBuf>,
        buffers: Arc<BufferPool>,
    },
}

impl Source {
    pub(crate) fn memory(data: Bytes) -> Source {
        Source::Memory(data)
    }

    /// Opens the local file `local` for upload; returns it with its length. `what` starts the
    /// messages ("uploading 'x' to y").
    pub(crate) async fn file(local: &Path, what: &str) -> Result<(Source, u64)> {
        let name = local.to_path_buf();
        let opened = blocking(move || {
            let file = File::open(&name)?;
            let meta = file.metadata()?;
            Ok::<_, io::Error>((file, meta.is_dir(), meta.len()))
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
            file: Arc::new(file),
            name: Arc::new(local.to_path_buf()),
            buffers: Arc::default(),
        };
        Ok((source, total))
    }

    /// `len` bytes from `offset` (a file that ends sooner is an error), read off the async
    /// threads.
    pub(crate) async fn read(&self, offset: u64, len: u64) -> Result<Bytes> {
        let source = self.clone();
        let len = usize::try_from(len)
            .map_err(|_| Error::Internal(format!("{len} bytes do not fit in memory")))?;
        blocking(move || source.read_at(offset, len)).await?
    }

    /// `len` bytes from `offset`, all of them (a file that ends sooner is an error). Blocks on
    /// the file: call it off the async threads.
    fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
        match self {
            Source::Memory(data) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                match start.checked_add(len) {
                    Some(end) if end <= data.len() => Ok(data.slice(start..end)),
                    _ => Err(Error::Internal(format!(
                        "an upload read {len} bytes from {offset} of {}",
                        data.len()
                    ))),
                }
            }
            Source::File {
                file,
                name,
                buffers,
            } => {
                let mut buf = buffers.take(len);
                read_exact_at(file, &mut buf, offset).map_err(|e| {
                    Error::Io(if e.kind() == io::ErrorKind::UnexpectedEof {
                        format!("'{}' became shorter while it was uploaded", name.display())
                    } else {
                        format!("reading '{}' failed: {e}", name.display())
                    })
                })?;
                Ok(Bytes::from_owner(Pooled {
                    buf,
                    pool: Arc::clone(buffers),
                }))
            }
        }
    }
}

/// The read buffers of one upload, given back when the bytes read into them have been sent (or
/// hashed). Why: a new 256 KiB buffer per read cost its zeroing and 64 page faults, 40 % of
/// the CPU of a 1 GiB upload in `perf`; a buffer used before is only overwritten.
#[derive(Default)]
pub(crate) struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    /// A buffer of `len` bytes: for a piece, one given back if there is one (zeroed only where
    /// it was never written); else a new one (a larger read would grow a pooled buffer by a
    /// copy, and not give it back).
    fn take(&self, len: usize) -> Vec<u8> {
        if len > STREAM_PIECE {
            return vec![0; len];
        }
        let mut buf = self.free.lock().pop().unwrap_or_default();
        buf.resize(len, 0);
        buf
    }

    /// Keeps `buf` for a later read if it is a streaming piece's size and the pool has room;
    /// larger buffers (whole small files, sequential chunks) are freed, not kept until the end.
    fn give_back(&self, buf: Vec<u8>) {
        if buf.capacity() > STREAM_PIECE {
            return;
        }
        let mut free = self.free.lock();
        if free.len() < POOLED_BUFFERS {
            free.push(buf);
        }
    }
}

/// Bytes read into a buffer of a [`BufferPool`]: the buffer goes back to the pool when the last
/// `Bytes` referring to it is dropped.
struct Pooled {
    buf: Vec<u8>,
    pool: Arc<BufferPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.buf));
    }
}

/// Fills `buf` from `file` at `offset` without using (or, on Unix, moving) a shared position,
/// so that parts and retries can read the one handle at any offset.
#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Windows has no positional read that leaves the handle's position alone; `seek_read` moves it,
/// which nothing here relies on.
#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// One request streamed from the source

/// What the attempts of one [`Streamed`] request share with it.
#[derive(Default)]
struct StreamState {
    /// Bytes the current attempt has read (handed to the connection or about to be).
    read: AtomicU64,
    /// The MD5 of the data of the last attempt that read all of it.
    md5: Mutex<Option<[u8; 16]>>,
    /// Why the data could not be read (the file shrank or failed).
    failure: Mutex<Option<Error>>,
}

/// `len` bytes of a [`Source`] from `offset`, sent as one request body: read by a blocking
/// thread in pieces while the connection sends the earlier ones, and read again from the start
/// for each attempt ([`Replay`]). With `hash`, the MD5 of the data is computed as it is read
/// (see [`Streamed::md5`]), for a check against the service's answer.
pub(crate) struct Streamed {
    source: Source,
    offset: u64,
    len: u64,
    hash: bool,
    state: Arc<StreamState>,
}

impl Streamed {
    pub(crate) fn new(source: Source, offset: u64, len: u64, hash: bool) -> Arc<Streamed> {
        Arc::new(Streamed {
            source,
            offset,
            len,
            hash,
            state: Arc::default(),
        })
    }

    /// Bytes the current attempt has read so far.
    pub(crate) fn sent(&self) -> u64 {
        self.state.read.load(Ordering::Relaxed)
    }

    /// The MD5 of the data as the last complete attempt read it (`None` without `hash`).
    pub(crate) fn md5(&self) -> Option<[u8; 16]> {
        *self.state.md5.lock()
    }
}

impl Replay for Streamed {
    fn body(&self) -> reqwest::Body {
        let (tx, rx) = mpsc::channel(STREAM_AHEAD);
        let (source, offset, len, hash) = (self.source.clone(), self.offset, self.len, self.hash);
        let state = Arc::clone(&self.state);
        state.read.store(0, Ordering::Relaxed);
        *state.md5.lock() = None;
        // The thread ends when the data has all been read, or when the body is dropped (the
        // attempt failed or the call was cancelled): its next send then fails.
        tokio::task::spawn_blocking(move || {
            let mut hasher = hash.then(Md5::new);
            let mut at = 0u64;
            while at < len {
                let n = (len - at).min(STREAM_PIECE as u64) as usize;
                let piece = match source.read_at(offset + at, n) {
                    Ok(piece) => piece,
                    Err(e) => {
                        *state.failure.lock() = Some(e);
                        let _ = tx.blocking_send(Err(io::Error::other(
                            "the upload's data could not be read",
                        )));
                        return;
                    }
                };
                if let Some(h) = hasher.as_mut() {
                    h.update(&piece);
                }
                at += n as u64;
                if at == len {
                    // Before the last piece leaves: the answer may come as soon as it arrives.
                    if let Some(h) = hasher.take() {
                        *state.md5.lock() = Some(h.finalize().into());
                    }
                }
                state.read.store(at, Ordering::Relaxed);
                if tx.blocking_send(Ok(piece)).is_err() {
                    return;
                }
            }
        });
        reqwest::Body::wrap(Pieces { rx, left: len })
    }

    fn failure(&self) -> Option<Error> {
        self.state.failure.lock().clone()
    }
}

/// A request body of pieces arriving from the reading thread, of a length known beforehand (so
/// that the request carries a Content-Length: Azure takes no chunked uploads).
struct Pieces {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    left: u64,
}

impl http_body::Body for Pieces {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(piece))) => {
                self.left = self.left.saturating_sub(piece.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(piece))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

/// Awaits `request` (one streamed request) while reporting `progress(bytes sent, total)` every
/// [`PROGRESS_EVERY`]; the bytes stay below `total` until the answer says the data arrived.
pub(crate) async fn reporting<T>(
    request: impl Future<Output = T>,
    sent: impl Fn() -> u64,
    total: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> T {
    tokio::pin!(request);
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut reported = 0;
    loop {
        tokio::select! {
            out = &mut request => return out,
            _ = tick.tick() => {
                let now = sent().min(total.saturating_sub(1));
                if now > reported {
                    reported = now;
                    progress(now, total);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parts sent several at a time

/// One part of an upload: where it is in the data (each is sent as a [`Streamed`] request, so
/// no part is held in memory).
pub(crate) struct Part {
    /// Its number, from 0.
    pub(crate) index: usize,
    /// Where it starts in the whole data.
    pub(crate) offset: u64,
    pub(crate) len: u64,
    /// The MD5 of the part's data, when [`Parts`] was asked to hash.
    pub(crate) md5: Option<[u8; 16]>,
}

/// A part being hashed: the part, and the whole-data hasher given back.
type Hashing = JoinHandle<(Result<Part>, Option<Md5>)>;

/// An upload's data cut into parts of `size` bytes (the last one shorter). With `hash`, each
/// part is read once before it is sent, in order and off the async threads, for its MD5 (the
/// service checks it before storing the part) and the MD5 of the whole data (Blob keeps it with
/// the blob, for downloads to check); the part is then read again as it is sent, from the page
/// cache. A file changed in between no longer matches its MD5, and the service refuses it.
pub(crate) struct Parts {
    source: Source,
    total: u64,
    size: u64,
    next: u64,
    index: usize,
    whole: Option<Md5>,
}

impl Parts {
    pub(crate) fn new(source: Source, total: u64, size: u64, hash: bool) -> Parts {
        Parts {
            source,
            total,
            size: size.max(1),
            next: 0,
            index: 0,
            whole: hash.then(Md5::new),
        }
    }

    /// The MD5 of all the data, once every part has been hashed.
    pub(crate) fn whole_md5(&mut self) -> Option<[u8; 16]> {
        if self.next < self.total {
            return None;
        }
        self.whole.take().map(|h| h.finalize().into())
    }

    /// The next part: at once without hashing, else through a read (`Err`); `None` at the end.
    fn start(&mut self) -> Option<std::result::Result<Part, Hashing>> {
        if self.next >= self.total {
            return None;
        }
        let (offset, index) = (self.next, self.index);
        let len = (self.total - offset).min(self.size);
        self.next += len;
        self.index += 1;
        let Some(mut whole) = self.whole.take() else {
            return Some(Ok(Part {
                index,
                offset,
                len,
                md5: None,
            }));
        };
        let source = self.source.clone();
        Some(Err(tokio::task::spawn_blocking(move || {
            let mut part = Md5::new();
            let mut at = 0;
            while at < len {
                let n = (len - at).min(STREAM_PIECE as u64) as usize;
                match source.read_at(offset + at, n) {
                    Ok(piece) => {
                        part.update(&piece);
                        whole.update(&piece);
                    }
                    Err(e) => return (Err(e), Some(whole)),
                }
                at += n as u64;
            }
            let md5 = Some(part.finalize().into());
            let part = Part {
                index,
                offset,
                len,
                md5,
            };
            (Ok(part), Some(whole))
        })))
    }

    /// The part a finished read gives, taking the whole-data hasher back.
    fn finish(
        &mut self,
        read: std::result::Result<(Result<Part>, Option<Md5>), tokio::task::JoinError>,
    ) -> Result<Part> {
        let (part, whole) =
            read.map_err(|e| Error::Internal(format!("a file read did not finish: {e}")))?;
        self.whole = whole;
        part
    }
}

/// What happened first while parts were sent.
enum Event {
    Sent(Result<u64>),
    Hashed(std::result::Result<(Result<Part>, Option<Md5>), tokio::task::JoinError>),
}

/// Sends every part of `parts` with `send`, at most `concurrency` at once, the next part hashed
/// while they go, and reports `progress(bytes acknowledged, total)` as each is answered. At the
/// first failure nothing more is started and the parts in flight are abandoned (their requests
/// dropped); the error comes back with the bytes acknowledged until then. Each part is sent
/// once (retrying a failed attempt is `send`'s business).
pub(crate) async fn send_parts<F, Fut>(
    parts: &mut Parts,
    concurrency: usize,
    mut send: F,
    progress: &mut dyn FnMut(u64, u64),
) -> std::result::Result<(), (Error, u64)>
where
    F: FnMut(Part) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let total = parts.total;
    let concurrency = concurrency.max(1);
    let mut in_flight = FuturesUnordered::new();
    let mut hashing: Option<Hashing> = None;
    let mut ready: Option<Part> = None;
    let mut done = 0u64;
    loop {
        // Start what may start: parts while a slot is free, and the next part (hashing it)
        // whenever none is on its way.
        loop {
            if ready.is_none() && hashing.is_none() {
                match parts.start() {
                    Some(Ok(part)) => ready = Some(part),
                    Some(Err(started)) => hashing = Some(started),
                    None => {}
                }
            }
            match ready.take() {
                Some(part) if in_flight.len() < concurrency => {
                    let len = part.len;
                    in_flight.push(send(part).map(move |sent| sent.map(|()| len)));
                }
                waiting => {
                    ready = waiting;
                    break;
                }
            }
        }
        if ready.is_none() && hashing.is_none() && in_flight.is_empty() {
            return Ok(());
        }
        let event = tokio::select! {
            Some(sent) = in_flight.next(), if !in_flight.is_empty() => Event::Sent(sent),
            read = finished(&mut hashing) => Event::Hashed(read),
        };
        match event {
            Event::Sent(Ok(len)) => {
                done += len;
                progress(done, total);
            }
            Event::Sent(Err(e)) => return Err((e, done)),
            Event::Hashed(read) => {
                hashing = None;
                ready = Some(parts.finish(read).map_err(|e| (e, done))?);
            }
        }
    }
}

/// The outcome of the hashing in progress; never, when there is none.
async fn finished(
    hashing: &mut Option<Hashing>,
) -> std::result::Result<(Result<Part>, Option<Md5>), tokio::task::JoinError> {
    match hashing {
        Some(read) => read.await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    async fn file_source(data: &[u8]) -> (tempfile::NamedTempFile, Source) {
        let temp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(temp.path(), data).unwrap();
        let (source, total) = Source::file(temp.path(), "uploading").await.unwrap();
        assert_eq!(total, data.len() as u64);
        (temp, source)
    }

    /// A piece's buffer is read into again once its bytes are let go (no new buffer, so no
    /// zeroing and no page faults per piece), and what each read returns is the file's bytes.
    #[tokio::test]
    async fn pieces_reuse_the_buffers_given_back_and_read_the_right_bytes() {
        let data = pattern(3 * STREAM_PIECE + 100);
        let (_temp, source) = file_source(&data).await;
        let first = source.read(0, STREAM_PIECE as u64).await.unwrap();
        assert_eq!(&first[..], &data[..STREAM_PIECE]);
        let first_at = first.as_ptr();
        // Still held: the next read gets a buffer of its own.
        let second = source
            .read(STREAM_PIECE as u64, STREAM_PIECE as u64)
            .await
            .unwrap();
        let second_at = second.as_ptr();
        assert_ne!(second_at, first_at);
        assert_eq!(&second[..], &data[STREAM_PIECE..2 * STREAM_PIECE]);
        drop(second);
        // A slice keeps the buffer out of the pool until it goes too.
        let part = first.slice(10..20);
        drop(first);
        let third = source
            .read(2 * STREAM_PIECE as u64, STREAM_PIECE as u64)
            .await
            .unwrap();
        assert_eq!(
            third.as_ptr(),
            second_at,
            "the buffer given back is read into again"
        );
        assert_eq!(&part[..], &data[10..20]);
        assert_eq!(&third[..], &data[2 * STREAM_PIECE..3 * STREAM_PIECE]);
        drop((part, third));
        // The short last piece reuses a full buffer and returns only its own bytes.
        let last = source.read(3 * STREAM_PIECE as u64, 100).await.unwrap();
        assert_eq!(&last[..], &data[3 * STREAM_PIECE..]);
        let again = source.read(0, STREAM_PIECE as u64).await.unwrap();
        assert_eq!(&again[..], &data[..STREAM_PIECE]);
    }

    /// Buffers larger than a piece (a whole small file, a sequential chunk) are not kept for
    /// the rest of the upload.
    #[tokio::test]
    async fn buffers_larger_than_a_piece_are_not_kept() {
        let data = pattern(2 * STREAM_PIECE);
        let (_temp, source) = file_source(&data).await;
        let Source::File { buffers, .. } = &source else {
            unreachable!()
        };
        drop(source.read(0, data.len() as u64).await.unwrap());
        assert!(buffers.free.lock().is_empty());
        drop(source.read(0, 10).await.unwrap());
        assert_eq!(buffers.free.lock().len(), 1);
    }

    /// A file that became shorter than the upload expects fails the read, and says so.
    #[tokio::test]
    async fn a_file_shorter_than_expected_is_an_error() {
        let data = pattern(1000);
        let (temp, source) = file_source(&data).await;
        std::fs::write(temp.path(), &data[..500]).unwrap();
        let err = source.read(0, 1000).await.unwrap_err();
        assert!(err.to_string().contains("became shorter"), "{err}");
    }
}
