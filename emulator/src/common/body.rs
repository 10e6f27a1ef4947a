//! Request and response bodies of the service endpoints: streamed, never required to fit in
//! memory, and counted for `service_counters`.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};

use crate::common::state::Shared;

/// Body of every service response.
pub(crate) type SvcBody = UnsyncBoxBody<Bytes, io::Error>;

/// What polling a response body for its next frame gives.
pub(crate) type PolledFrame = Poll<Option<Result<Frame<Bytes>, io::Error>>>;

pub(crate) fn empty() -> SvcBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub(crate) fn full(data: impl Into<Bytes>) -> SvcBody {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// In-memory file content. `sized: false` hides the length so hyper sends it chunked, as Gen1's
/// OPEN does.
pub(crate) fn chunks(chunks: Vec<Bytes>, sized: bool) -> SvcBody {
    let remaining = chunks.iter().map(|c| c.len() as u64).sum();
    ChunksBody {
        chunks: chunks.into(),
        remaining,
        sized,
    }
    .boxed_unsync()
}

/// Wraps a response body to add its bytes to the service counters as they are sent.
pub(crate) fn counted(body: SvcBody, shared: Arc<Shared>) -> SvcBody {
    Counted {
        inner: body,
        shared,
    }
    .boxed_unsync()
}

/// The size a body announces: exactly what is left when `sized`, else nothing (chunked).
pub(crate) fn remaining_hint(sized: bool, remaining: u64) -> SizeHint {
    if sized {
        SizeHint::with_exact(remaining)
    } else {
        SizeHint::default()
    }
}

struct ChunksBody {
    chunks: VecDeque<Bytes>,
    remaining: u64,
    sized: bool,
}

impl Body for ChunksBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> PolledFrame {
        match self.chunks.pop_front() {
            Some(chunk) => {
                self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.sized && self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        remaining_hint(self.sized, self.remaining)
    }
}

struct Counted {
    inner: SvcBody,
    shared: Arc<Shared>,
}

impl Body for Counted {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> PolledFrame {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.shared.add_bytes_sent(data.len());
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Reads a request body chunk by chunk, counting the bytes.
pub(crate) struct RequestBody {
    body: Incoming,
    shared: Arc<Shared>,
}

impl RequestBody {
    pub(crate) fn new(body: Incoming, shared: Arc<Shared>) -> Self {
        RequestBody { body, shared }
    }

    /// The next data chunk; `Ok(None)` at the end. An error means the client went away.
    pub(crate) async fn chunk(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(io::Error::other(e)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.shared.add_bytes_received(data.len());
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                    // Trailers carry nothing the emulator uses.
                }
            }
        }
    }

    /// Reads and discards up to `limit` bytes. `Ok(true)` when the body ended within it, so
    /// the connection can stay open for the next request (hyper closes it otherwise).
    pub(crate) async fn drain(&mut self, limit: u64) -> io::Result<bool> {
        let mut seen = 0u64;
        while let Some(chunk) = self.chunk().await? {
            seen += chunk.len() as u64;
            if seen > limit {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Collects the whole body, failing with `Ok(None)` once it exceeds `limit` bytes.
    pub(crate) async fn collect(&mut self, limit: u64) -> io::Result<Option<Vec<Bytes>>> {
        let mut chunks = Vec::new();
        let mut total = 0u64;
        while let Some(chunk) = self.chunk().await? {
            total += chunk.len() as u64;
            if total > limit {
                return Ok(None);
            }
            chunks.push(chunk);
        }
        Ok(Some(chunks))
    }
}
