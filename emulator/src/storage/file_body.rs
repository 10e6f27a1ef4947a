//! A stored file served as a response body: read as the connection drains it, never loaded
//! whole (files may be larger than memory when `--data-dir` is set).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, ReadBuf};

use crate::common::body::{remaining_hint, PolledFrame, SvcBody};
use crate::storage::store::DiskBlob;

/// Size of each read from a file being served.
const READ_CHUNK: usize = 64 * 1024;

/// `len` bytes of an open file, read as the connection drains them. Holding the blob keeps its
/// file from being deleted while it is served.
pub(crate) fn file(file: tokio::fs::File, len: u64, sized: bool, blob: Arc<DiskBlob>) -> SvcBody {
    FileBody {
        file,
        remaining: len,
        sized,
        buf: Vec::new(),
        _blob: blob,
    }
    .boxed_unsync()
}

struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    sized: bool,
    buf: Vec<u8>,
    _blob: Arc<DiskBlob>,
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> PolledFrame {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        let want = usize::try_from(this.remaining)
            .unwrap_or(usize::MAX)
            .min(READ_CHUNK);
        if this.buf.len() < want {
            this.buf.resize(want, 0);
        }
        let mut read_buf = ReadBuf::new(&mut this.buf[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut read_buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => {
                let filled = read_buf.filled();
                if filled.is_empty() {
                    // The file is shorter than promised: fail the body, so the connection is
                    // closed rather than a short response passed off as complete.
                    return Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "file ended early",
                    ))));
                }
                let chunk = Bytes::copy_from_slice(filled);
                this.remaining -= chunk.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        remaining_hint(self.sized, self.remaining)
    }
}
