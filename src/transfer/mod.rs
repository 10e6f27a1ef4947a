//! File transfer pieces every storage service shares (Blob, Data Lake Gen1 and Gen2).
//!
//! - [`upload`]: what is sent comes from memory or from a local file read at any offset off the
//!   async threads. Up to the single-request size a file goes in one request streamed from
//!   disk; larger, in parts with several in flight at once (the next one read while they go),
//!   each service committing them only when all have succeeded.
//! - [`download`]: into a temporary file next to the destination, written while the next data
//!   arrives, resumed from where it stopped when the connection fails, checked against the
//!   remote length (and MD5 when the service gives one), flushed to disk and renamed over the
//!   destination. A failed or cancelled download removes its temporary file and leaves the
//!   destination as it was.

mod download;
mod upload;

pub(crate) use download::{check_destination, receive, Incoming};
pub(crate) use upload::{reporting, send_parts, Part, Parts, Source, Streamed};

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::error::{Error, Result};

/// The largest upload sent as one request (streamed from the file, never whole in memory),
/// chosen as the Azure SDKs choose their initial transfer size for uploads: 256 MiB in .NET
/// (`StorageTransferOptions.InitialTransferSize`), Java and Go (Python's `max_single_put_size`
/// is 64 MiB). Azure takes up to 5000 MiB in one Put Blob; larger single requests would only
/// make a retry resend more.
pub(crate) const SINGLE_REQUEST_MAX: u64 = 256 * 1024 * 1024;

/// The largest upload read into memory and sent in one request: small enough that holding it
/// costs little, and then the MD5 the service checks before storing it goes with it (Blob).
pub(crate) const FROM_MEMORY_MAX: u64 = 8 * 1024 * 1024;

/// Parts in flight at once when an upload is larger than [`SINGLE_REQUEST_MAX`] (Blob blocks,
/// Data Lake Gen2 appends): the fewest that reach curl's single request on loopback
/// (BENCHMARKS.md, "Uploads in parts"). Each part in flight is a block in memory.
pub const UPLOAD_CONCURRENCY: usize = 4;

/// How long a request without much data may take to be answered.
pub(crate) const META_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a request carrying `len` bytes may take to be answered: a minute plus the time to
/// send the data at 64 KiB/s, so that slow links still get through.
pub(crate) fn data_timeout(len: usize) -> Duration {
    META_TIMEOUT + Duration::from_secs((len / (64 * 1024)) as u64)
}

/// How long a response body may stall before the read fails.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs blocking file work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("a file operation did not finish: {e}")))
}

/// Reads a whole response body, at most `limit` bytes, failing when it stalls.
pub(crate) async fn read_body(
    mut resp: reqwest::Response,
    limit: usize,
    what: &str,
) -> Result<Bytes> {
    crate::service::check_declared_length(&resp, limit, what)?;
    let url = resp.url().clone();
    let mut body = BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout(IDLE_TIMEOUT, resp.chunk()).await {
            Err(_) => {
                return Err(Error::Timeout(format!(
                    "{what} failed: the answer stalled for {} s",
                    IDLE_TIMEOUT.as_secs()
                )))
            }
            Ok(Err(e)) => {
                return Err(Error::Network(format!(
                    "{what} failed while reading the answer: {}",
                    crate::source::exchange::describe_transport_error(&e)
                )))
            }
            Ok(Ok(None)) => return Ok(body.freeze()),
            Ok(Ok(Some(c))) => c,
        };
        if body.len() + chunk.len() > limit {
            return Err(crate::service::answer_too_long(what, &url, limit));
        }
        body.extend_from_slice(&chunk);
    }
}
