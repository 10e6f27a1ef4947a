//! Azure Blob storage: block blobs read and written with the managed identity's token (resource
//! `https://storage.azure.com/`) or with a shared access signature.
//!
//! A [`BlobAccount`] says where the account is: a name (`contoso` means
//! `https://contoso.blob.core.windows.net`) or a URL, path-style ones included
//! (`https://127.0.0.1:10000/devstoreaccount1`, Azurite). A [`Blob`] adds the credential and does
//! the work:
//!
//! - upload: up to the block size (8 MiB) one Put Blob from memory with its Content-MD5, which
//!   the service checks before storing; up to the single-request size (256 MiB, the Azure SDKs'
//!   initial transfer size) one Put Blob streamed from the file, its MD5 computed as it is read
//!   and compared with the one the service answers (on a mismatch the blob is deleted and the
//!   upload fails); larger, Put Block of 8 MiB blocks, [`UPLOAD_CONCURRENCY`] in flight at once
//!   (the next read from disk while they go), each with its Content-MD5, then one Put Block
//!   List carrying the whole content's MD5, sent only when every block has succeeded. Without
//!   `overwrite`, `If-None-Match: *` makes an existing blob a [`crate::ErrorCode::Conflict`].
//! - download: Get Blob Properties for the length, MD5 and ETag, then Get Blob (resumed with a
//!   range after a lost connection, `If-Match` the ETag so a changing blob fails; an answer with
//!   another ETag, or a resumption without one, fails too) into a temporary file checked against
//!   the length and MD5 and renamed over the destination.
//!
//! A SAS never appears in messages, logs or `Debug` output: URLs are shown without their query.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use md5::{Digest, Md5};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderName, CONTENT_LENGTH, ETAG, IF_MATCH, IF_NONE_MATCH};
use reqwest::{Method, Response};
use url::Url;

use crate::client::Azmi;
use crate::error::{Error, Result};
use crate::identity::{printable, ManagedIdentity};
use crate::retry::RetryPolicy;
use crate::service::{display_host, is_loopback, Request, Service};
pub use crate::transfer::UPLOAD_CONCURRENCY;
use crate::transfer::{
    check_destination, data_timeout, read_body, receive, reporting, send_parts, Incoming, Part,
    Parts, Source, Streamed, FROM_MEMORY_MAX, META_TIMEOUT, SINGLE_REQUEST_MAX,
};

/// The token resource of Blob storage (the same in every cloud).
pub const BLOB_RESOURCE: &str = crate::resources::STORAGE;
/// The `x-ms-version` sent (bearer tokens need 2017-11-09 or later).
pub const BLOB_VERSION: &str = "2023-11-03";
/// The default block size.
pub const DEFAULT_BLOCK_SIZE: usize = 8 * 1024 * 1024;
/// The largest upload sent as one Put Blob by default (see [`crate::transfer`]): 256 MiB, the
/// Azure SDKs' initial transfer size for uploads.
pub const SINGLE_UPLOAD_SIZE: u64 = SINGLE_REQUEST_MAX;
/// The smallest block size accepted.
const MIN_BLOCK_SIZE: usize = 64 * 1024;
/// The largest block size accepted (the service takes up to 4000 MiB).
const MAX_BLOCK_SIZE: usize = 256 * 1024 * 1024;
/// The most parts in flight that [`Blob::with_concurrency`] accepts.
const MAX_CONCURRENCY: usize = 16;
/// The most blocks a blob may have.
const MAX_BLOCKS: u64 = 50_000;
/// The largest blob [`Blob::read`] reads into memory.
const MAX_READ: usize = 256 * 1024 * 1024;
/// The DNS suffix of blob endpoints in the public cloud.
const BLOB_SUFFIX: &str = ".blob.core.windows.net";

/// The statuses each operation answers with on success: anything else is an error.
const OK: &[u16] = &[200];
const CREATED: &[u16] = &[201];
const ACCEPTED: &[u16] = &[202];
const PARTIAL: &[u16] = &[206];

const X_MS_VERSION: HeaderName = HeaderName::from_static("x-ms-version");
const X_MS_BLOB_TYPE: HeaderName = HeaderName::from_static("x-ms-blob-type");
const X_MS_RANGE: HeaderName = HeaderName::from_static("x-ms-range");
const X_MS_BLOB_CONTENT_MD5: HeaderName = HeaderName::from_static("x-ms-blob-content-md5");
const CONTENT_MD5: HeaderName = HeaderName::from_static("content-md5");

/// Blob name characters sent as they are: RFC 3986 unreserved, and `/` between the name's
/// segments. Everything else is percent-encoded, so that every character stays in the name (a
/// `?`, `#`, `%` or `\` cannot end the path or be read as a separator); `.` and `..` segments
/// are refused before this (see [`check_blob_name`]) because URL parsers resolve them.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Where a storage account's blob endpoint is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobAccount {
    /// `https://host[:port][/path]`, never a trailing slash.
    base: String,
    /// `host[:port][/path]`, for messages.
    display: String,
}

impl BlobAccount {
    /// Parses an account: a name (`contoso`: `https://contoso.blob.core.windows.net`) or a URL
    /// (`https://contoso.blob.core.windows.net`, path-style `https://127.0.0.1:10000/devstoreaccount1`).
    /// Only `https://` is accepted, or `http://` to a loopback address (test endpoints): anything
    /// else is [`crate::ErrorCode::InsecureRequest`].
    pub fn parse(account: &str) -> Result<BlobAccount> {
        let given = account.trim();
        let shown = printable(&redact_sig(given));
        let invalid =
            |why: &str| Error::InvalidArgument(format!("the storage account '{shown}' {why}"));
        if given.is_empty() {
            return Err(Error::InvalidArgument(
                "the storage account is empty; give its name or its blob URL, e.g. contoso or https://contoso.blob.core.windows.net".into(),
            ));
        }
        if given.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid("contains white space or control characters"));
        }
        let text = if given.contains("://") {
            given.to_owned()
        } else if given.chars().all(|c| c.is_ascii_alphanumeric()) {
            if !(3..=24).contains(&given.len()) {
                return Err(invalid(
                    "is not a storage account name (3 to 24 letters and digits)",
                ));
            }
            format!("https://{}{BLOB_SUFFIX}", given.to_ascii_lowercase())
        } else {
            return Err(invalid(
                "is neither an account name nor a URL; give e.g. contoso or https://contoso.blob.core.windows.net",
            ));
        };
        let url = Url::parse(&text).map_err(|e| invalid(&format!("is not a valid URL ({e})")))?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(invalid("must be an https:// URL with a host"));
        }
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(invalid(
                "must not contain credentials, a query or a fragment (give a SAS separately)",
            ));
        }
        if url.scheme() == "http" && !is_loopback(&url) {
            return Err(Error::Insecure(format!(
                "the storage account '{shown}' is plain http://: credentials go only over HTTPS (plain HTTP only to a loopback test endpoint)"
            )));
        }
        let path = url.path().trim_end_matches('/');
        Ok(BlobAccount {
            base: format!("{}{path}", url.origin().ascii_serialization()),
            display: format!("{}{path}", display_host(&url)),
        })
    }

    /// The blob endpoint, e.g. `https://contoso.blob.core.windows.net`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The URL of a container or blob. The names must have been checked
    /// ([`check_container_name`], [`check_blob_name`]); the result is checked again to lie
    /// inside the container, so that no name can reach another path with the credential.
    fn url(&self, container: &str, blob: Option<&str>, query: &[(&str, &str)]) -> Result<Url> {
        let mut text = format!(
            "{}/{}",
            self.base,
            utf8_percent_encode(container, NON_ALPHANUMERIC)
        );
        let container_path = format!(
            "{}/{}",
            Url::parse(&self.base)
                .map(|u| u.path().trim_end_matches('/').to_owned())
                .unwrap_or_default(),
            utf8_percent_encode(container, NON_ALPHANUMERIC)
        );
        if let Some(blob) = blob {
            text.push('/');
            text.extend(utf8_percent_encode(blob, PATH));
        }
        let mut url = Url::parse(&text)
            .map_err(|e| Error::InvalidArgument(format!("'{}' is not a valid URL: {e}", text)))?;
        let inside = match blob {
            Some(_) => url.path().starts_with(&format!("{container_path}/")),
            None => url.path() == container_path,
        };
        if !inside {
            return Err(Error::InvalidArgument(format!(
                "the name '{}/{}' does not stay inside its container; give the container and blob names without '.' or '..' segments",
                printable(container),
                printable(blob.unwrap_or(""))
            )));
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// `blob 'c/b' in account host/path`, for messages.
    fn at(&self, container: &str, blob: &str) -> String {
        format!(
            "blob '{}/{}' in account {}",
            printable(container),
            printable(blob),
            self.display
        )
    }
}

impl fmt::Display for BlobAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// A storage account's blobs with a credential. Cheap to clone; safe to share.
#[derive(Clone)]
pub struct Blob {
    account: Arc<BlobAccount>,
    service: Service,
    retry: RetryPolicy,
    block_size: usize,
    /// The largest upload sent as one Put Blob.
    single_put: u64,
    /// Blocks in flight at once.
    concurrency: usize,
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blob")
            .field("account", &self.account)
            .field(
                "auth",
                &if self.service.uses_sas() {
                    "SAS (hidden)"
                } else {
                    self.service.resource()
                },
            )
            .field("block_size", &self.block_size)
            .field("single_put", &self.single_put)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

impl Azmi {
    /// Opens a storage account's blobs (see [`BlobAccount::parse`]) with the identity `mi`'s
    /// tokens.
    pub fn blob(&self, account: &str, mi: &ManagedIdentity) -> Result<Blob> {
        Blob::new(self, BlobAccount::parse(account)?, Arc::new(mi.clone()))
    }

    /// Opens a storage account's blobs with the shared access signature `sas` (with or without
    /// a leading `?`); retries under the default policy.
    pub fn blob_with_sas(&self, account: &str, sas: &str) -> Result<Blob> {
        Blob::with_sas(
            self,
            BlobAccount::parse(account)?,
            sas,
            RetryPolicy::default(),
        )
    }
}

impl Blob {
    /// `account` with the identity `mi`'s tokens for `https://storage.azure.com/`; transient
    /// failures retried under the identity's retry policy.
    pub fn new(azmi: &Azmi, account: BlobAccount, mi: Arc<ManagedIdentity>) -> Result<Blob> {
        let retry = mi.options().retry.clone();
        let service = Service::new(azmi, mi, BLOB_RESOURCE, retry.clone())?;
        Ok(Blob {
            account: Arc::new(account),
            service,
            retry,
            block_size: DEFAULT_BLOCK_SIZE,
            single_put: SINGLE_UPLOAD_SIZE,
            concurrency: UPLOAD_CONCURRENCY,
        })
    }

    /// `account` with the shared access signature `sas` (a query string such as
    /// `sv=…&sr=c&sp=rcw&sig=…`, with or without a leading `?`) and no token.
    pub fn with_sas(
        azmi: &Azmi,
        account: BlobAccount,
        sas: &str,
        retry: RetryPolicy,
    ) -> Result<Blob> {
        let service = Service::with_sas(azmi, sas, retry.clone())?;
        Ok(Blob {
            account: Arc::new(account),
            service,
            retry,
            block_size: DEFAULT_BLOCK_SIZE,
            single_put: SINGLE_UPLOAD_SIZE,
            concurrency: UPLOAD_CONCURRENCY,
        })
    }

    /// Retries transient service failures under `retry`.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Blob {
        self.service = self.service.with_retry(retry.clone());
        self.retry = retry;
        self
    }

    /// Bytes per block (default 8 MiB); 64 KiB to 256 MiB. Set here, it is also the largest
    /// upload sent as one Put Blob (by default 256 MiB), so that no request carries more.
    /// Blocks are streamed from the file, not held in memory, whatever their size; files
    /// needing more than 50,000 blocks get larger blocks.
    pub fn with_block_size(mut self, bytes: usize) -> Result<Blob> {
        check_block_size(bytes)?;
        self.block_size = bytes;
        self.single_put = bytes as u64;
        Ok(self)
    }

    /// Blocks in flight at once during an upload larger than the single-request size (default
    /// [`UPLOAD_CONCURRENCY`]); 1 to 16.
    pub fn with_concurrency(mut self, blocks: usize) -> Result<Blob> {
        check_concurrency(blocks)?;
        self.concurrency = blocks;
        Ok(self)
    }

    pub fn account(&self) -> &BlobAccount {
        &self.account
    }

    pub fn block_size(&self) -> usize {
        self.block_size
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn request(
        &self,
        method: Method,
        container: &str,
        blob: Option<&str>,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Request> {
        check_container_name(container)?;
        if let Some(b) = blob {
            check_blob_name(b)?;
        }
        Request::new(method, self.account.url(container, blob, query)?, what)
            .header(X_MS_VERSION, BLOB_VERSION)
    }

    /// Creates the container; returns `false` when it existed already.
    pub async fn create_container(&self, container: &str) -> Result<bool> {
        let what = format!(
            "creating container '{}' in account {}",
            printable(container),
            self.account
        );
        let req = self
            .request(
                Method::PUT,
                container,
                None,
                &[("restype", "container")],
                &what,
            )?
            .timeout(META_TIMEOUT)
            .expect(CREATED)
            .not_idempotent();
        match self.service.send(req).await {
            Ok(_) => Ok(true),
            Err(e) if e.service_code() == Some("ContainerAlreadyExists") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Writes `data` to the block blob `container/blob` (in blocks when larger than the block
    /// size). An existing blob is a [`crate::ErrorCode::Conflict`] unless `overwrite`.
    pub async fn upload_bytes(
        &self,
        container: &str,
        blob: &str,
        data: impl Into<Bytes>,
        overwrite: bool,
    ) -> Result<()> {
        let data: Bytes = data.into();
        let total = data.len() as u64;
        let what = format!("writing {}", self.account.at(container, blob));
        self.put(
            container,
            blob,
            Source::memory(data),
            total,
            overwrite,
            &what,
            &mut |_, _| {},
        )
        .await
    }

    /// Uploads the local file `local` to the block blob `container/blob`, calling
    /// `progress(sent, total)` after each block. An existing blob is a
    /// [`crate::ErrorCode::Conflict`] unless `overwrite`. A failure says how many bytes had been
    /// sent. Returns the bytes uploaded.
    pub async fn upload(
        &self,
        local: &Path,
        container: &str,
        blob: &str,
        overwrite: bool,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64> {
        let what = format!(
            "uploading '{}' to {}",
            local.display(),
            self.account.at(container, blob)
        );
        check_container_name(container)?;
        check_blob_name(blob)?;
        let (source, total) = Source::file(local, &what).await?;
        self.put(
            container,
            blob,
            source,
            total,
            overwrite,
            &what,
            &mut progress,
        )
        .await?;
        Ok(total)
    }

    #[allow(clippy::too_many_arguments)]
    async fn put(
        &self,
        container: &str,
        blob: &str,
        source: Source,
        total: u64,
        overwrite: bool,
        what: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        let fail = |e: Error, sent: u64| {
            e.within(&format!(
                "{what} stopped after {sent} of {total} bytes were sent"
            ))
        };
        progress(0, total);
        let at = Target {
            container,
            blob,
            overwrite,
            what,
        };
        if total <= self.single_put.min(FROM_MEMORY_MAX) {
            let data = source.read(0, total).await.map_err(|e| fail(e, 0))?;
            self.put_from_memory(&at, data)
                .await
                .map_err(|e| fail(e, 0))?;
        } else if total <= self.single_put {
            self.put_streamed(&at, source, total, progress)
                .await
                .map_err(|e| fail(e, 0))?;
        } else {
            let block = (self.block_size as u64).max(total.div_ceil(MAX_BLOCKS));
            let mut parts = Parts::new(source.clone(), total, block, true);
            send_parts(
                &mut parts,
                self.concurrency,
                |part| self.put_block(&at, &source, part),
                progress,
            )
            .await
            .map_err(|(e, sent)| fail(e, sent))?;
            let whole = parts.whole_md5();
            self.put_block_list(&at, total.div_ceil(block) as usize, whole)
                .await
                .map_err(|e| fail(e, total))?;
            return Ok(());
        }
        progress(total, total);
        Ok(())
    }

    /// A Put Blob request for `at`, with its condition.
    fn put_blob_request(&self, at: &Target<'_>, query: &[(&str, &str)]) -> Result<Request> {
        let mut req = self
            .request(Method::PUT, at.container, Some(at.blob), query, at.what)?
            .expect(CREATED);
        if !at.overwrite {
            req = req.header(IF_NONE_MATCH, "*")?.not_idempotent();
        }
        Ok(req)
    }

    /// One Put Blob with the data and its Content-MD5: the service stores nothing that differs.
    async fn put_from_memory(&self, at: &Target<'_>, data: Bytes) -> Result<()> {
        let req = self
            .put_blob_request(at, &[])?
            .header(X_MS_BLOB_TYPE, "BlockBlob")?
            .header(CONTENT_MD5, &STANDARD.encode(Md5::digest(&data)))?
            .timeout(data_timeout(data.len()))
            .body(data);
        self.service.send(req).await.map(drop)
    }

    /// One Put Blob streamed from `source`, its MD5 computed as it is read (the header would
    /// need a pass over the file before the first byte is sent) and compared with the MD5 the
    /// service computed and answers; on a mismatch the blob just written is deleted.
    async fn put_streamed(
        &self,
        at: &Target<'_>,
        source: Source,
        total: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        let body = Streamed::new(source, 0, total, true);
        let req = self
            .put_blob_request(at, &[])?
            .header(X_MS_BLOB_TYPE, "BlockBlob")?
            .timeout(data_timeout(usize::try_from(total).unwrap_or(usize::MAX)))
            .replay(body.clone(), total);
        let sent = || body.sent();
        let resp = reporting(self.service.send(req), sent, total, progress).await?;
        let stored = content_md5(resp.headers(), "content-md5", at.what)?;
        match (stored, body.md5()) {
            (Some(stored), Some(read)) if stored != read => {
                let etag = resp.headers().get(ETAG).and_then(|v| v.to_str().ok());
                let outcome = match self.delete_version(at, etag).await {
                    Ok(()) => "the blob was deleted; upload the file again".to_owned(),
                    Err(e) => format!(
                        "deleting it failed ({e}); delete the blob and upload the file again"
                    ),
                };
                Err(Error::Protocol(format!(
                    "{}: the MD5 the service computed for the blob differs from that of the file's bytes as they were sent, so the data changed on the way; {outcome}",
                    at.what
                )))
            }
            (Some(_), None) => Err(Error::Internal(format!(
                "{}: the MD5 of the data sent was lost",
                at.what
            ))),
            _ => Ok(()),
        }
    }

    /// Deletes the blob `at` names, only in the version `etag` (when given).
    async fn delete_version(&self, at: &Target<'_>, etag: Option<&str>) -> Result<()> {
        let what = format!("deleting {}", self.account.at(at.container, at.blob));
        let mut req = self
            .request(Method::DELETE, at.container, Some(at.blob), &[], &what)?
            .timeout(META_TIMEOUT)
            .expect(ACCEPTED);
        if let Some(etag) = etag {
            req = req.header(IF_MATCH, etag)?;
        }
        self.service.send(req).await.map(drop)
    }

    /// Put Block of one part streamed from `source`, with its Content-MD5 (the service stores
    /// nothing that differs: also not a part of the file that changed since it was hashed).
    async fn put_block(&self, at: &Target<'_>, source: &Source, part: Part) -> Result<()> {
        let id = block_id(part.index);
        let mut req = self
            .request(
                Method::PUT,
                at.container,
                Some(at.blob),
                &[("comp", "block"), ("blockid", &id)],
                at.what,
            )?
            .timeout(data_timeout(
                usize::try_from(part.len).unwrap_or(usize::MAX),
            ))
            .expect(CREATED);
        if let Some(md5) = part.md5 {
            req = req.header(CONTENT_MD5, &STANDARD.encode(md5))?;
        }
        let body = Streamed::new(source.clone(), part.offset, part.len, false);
        self.service
            .send(req.replay(body, part.len))
            .await
            .map(drop)
    }

    /// Put Block List of blocks `0..count`, in order, with the whole content's MD5 (kept with
    /// the blob, for downloads to check).
    async fn put_block_list(
        &self,
        at: &Target<'_>,
        count: usize,
        whole: Option<[u8; 16]>,
    ) -> Result<()> {
        let mut list = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        for index in 0..count {
            list.push_str(&format!("<Latest>{}</Latest>", block_id(index)));
        }
        list.push_str("</BlockList>");
        let mut req = self
            .put_blob_request(at, &[("comp", "blocklist")])?
            .timeout(META_TIMEOUT);
        if let Some(md5) = whole {
            req = req.header(X_MS_BLOB_CONTENT_MD5, &STANDARD.encode(md5))?;
        }
        self.service
            .send(req.body(Bytes::from(list)))
            .await
            .map(drop)
    }

    /// Reads the whole blob into memory (at most 256 MiB; use [`Blob::download`] for large
    /// ones), checked against its MD5 when the service gives one.
    pub async fn read(&self, container: &str, blob: &str) -> Result<Bytes> {
        let what = format!("reading {}", self.account.at(container, blob));
        let req = self
            .request(Method::GET, container, Some(blob), &[], &what)?
            .timeout(META_TIMEOUT)
            .expect(OK);
        let resp = self.service.send(req).await?;
        let md5 = content_md5(resp.headers(), "content-md5", &what)?;
        let data = read_body(resp, MAX_READ, &what).await?;
        if let Some(expected) = md5 {
            if Md5::digest(&data)[..] != expected[..] {
                return Err(Error::Protocol(format!(
                    "{what}: the data that arrived does not match the MD5 the service holds for it"
                )));
            }
        }
        Ok(data)
    }

    /// Downloads the blob to the local file `local`: into a temporary file in the same folder,
    /// checked against the blob's length and MD5 (when the service holds one), flushed to disk,
    /// then renamed over `local`. An existing `local` is a [`crate::ErrorCode::Conflict`] unless
    /// `overwrite`, and is never damaged by a failed or cancelled download. Returns the bytes
    /// downloaded.
    pub async fn download(
        &self,
        container: &str,
        blob: &str,
        local: &Path,
        overwrite: bool,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64> {
        let what = format!(
            "downloading {} to '{}'",
            self.account.at(container, blob),
            local.display()
        );
        check_destination(local, overwrite, &what).await?;
        let req = self
            .request(Method::HEAD, container, Some(blob), &[], &what)?
            .timeout(META_TIMEOUT)
            .expect(OK);
        let head = self.service.send(req).await?;
        let headers = head.headers();
        let total = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                Error::Protocol(format!("{what}: the service gave no length for the blob"))
            })?;
        let md5 = content_md5(headers, "content-md5", &what)?;
        let etag = headers
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let incoming = Incoming {
            what: &what,
            local,
            overwrite,
            total,
            md5,
            retry: &self.retry,
        };
        let what = what.as_str();
        let etag = etag.as_deref();
        receive(
            incoming,
            |offset| self.open(container, blob, offset, etag, what),
            &mut progress,
        )
        .await
    }

    /// Get Blob from byte `offset`, of the version `etag` when given. A resumption (`offset` >
    /// 0) needs the ETag: without it the rest could come from a newer version of the blob.
    async fn open(
        &self,
        container: &str,
        blob: &str,
        offset: u64,
        etag: Option<&str>,
        what: &str,
    ) -> Result<Response> {
        if offset > 0 && etag.is_none() {
            return Err(Error::Protocol(format!(
                "{what}: the data stopped at byte {offset} and the service gave no ETag to resume the same version of the blob with; download it again"
            )));
        }
        let mut req = self
            .request(Method::GET, container, Some(blob), &[], what)?
            .timeout(META_TIMEOUT)
            .expect(if offset > 0 { PARTIAL } else { OK });
        if offset > 0 {
            req = req.header(X_MS_RANGE, &format!("bytes={offset}-"))?;
        }
        if let Some(etag) = etag {
            req = req.header(IF_MATCH, etag)?;
        }
        let resp = self.service.send(req).await?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) || (offset > 0 && status != 206) {
            return Err(Error::Protocol(format!(
                "{what}: the service answered HTTP {status} where the blob's data from byte {offset} was expected"
            )));
        }
        check_same_version(resp.headers(), etag, offset, what)?;
        Ok(resp)
    }
}

/// Refuses data of another version than `pinned` (the one whose length and MD5 the download
/// checks): a service or proxy that ignored If-Match must not get two versions stitched into
/// one file.
fn check_same_version(
    headers: &HeaderMap,
    pinned: Option<&str>,
    offset: u64,
    what: &str,
) -> Result<()> {
    let answered = headers.get(ETAG).and_then(|v| v.to_str().ok());
    match (pinned, answered) {
        (Some(pinned), Some(answered)) if pinned != answered => Err(Error::Protocol(format!(
            "{what}: the blob changed during the download (the data from byte {offset} is of another version); download it again"
        ))),
        _ => Ok(()),
    }
}

/// The blob an upload writes, and how.
struct Target<'a> {
    container: &'a str,
    blob: &'a str,
    overwrite: bool,
    /// "uploading 'x' to blob 'c/b' in account y", for messages.
    what: &'a str,
}

/// `text` with the value of every `sig=` parameter replaced, for messages.
fn redact_sig(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.to_ascii_lowercase().find("sig=") {
        let value = i + 4;
        out.push_str(&rest[..value]);
        out.push_str("REDACTED");
        rest = &rest[value..];
        rest = &rest[rest.find(['&', '#']).unwrap_or(rest.len())..];
    }
    out.push_str(rest);
    out
}

/// A block id: base64 of a fixed-length text, as the service requires the same length for all.
fn block_id(index: usize) -> String {
    STANDARD.encode(format!("azmi-block-{index:06}"))
}

/// The MD5 in header `name` (base64), if the service sent one.
fn content_md5(headers: &HeaderMap, name: &str, what: &str) -> Result<Option<[u8; 16]>> {
    let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    STANDARD
        .decode(value.trim())
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .map(Some)
        .ok_or_else(|| {
            Error::Protocol(format!(
                "{what}: the service sent an unreadable {name} header"
            ))
        })
}

/// Containers Azure creates itself, whose names break the general rule.
const SPECIAL_CONTAINERS: [&str; 3] = ["$root", "$logs", "$web"];
/// The longest blob name Azure accepts, in characters.
const MAX_BLOB_NAME: usize = 1024;

/// Checks a container name against Azure's rule (3 to 63 lowercase letters, digits and single
/// hyphens, starting and ending with a letter or digit), so that it is one path segment.
pub(crate) fn check_container_name(name: &str) -> Result<()> {
    if SPECIAL_CONTAINERS.contains(&name) {
        return Ok(());
    }
    let bytes = name.as_bytes();
    let ok = (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
        && !name.contains("--");
    if ok {
        return Ok(());
    }
    let hint = if name.contains('/') {
        "; give the container and the blob name apart"
    } else {
        ""
    };
    Err(Error::InvalidArgument(format!(
        "the container name '{}' is not valid: use 3 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit, without two hyphens in a row{hint}",
        printable(name)
    )))
}

/// Checks a blob name: 1 to 1024 characters, no control characters, and no `.` or `..`
/// segment (URL parsers resolve them, which would send the request outside the container).
pub(crate) fn check_blob_name(name: &str) -> Result<()> {
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(Error::InvalidArgument(format!(
            "the blob name '{}' is empty or has control characters",
            printable(name)
        )));
    }
    let chars = name.chars().count();
    if chars > MAX_BLOB_NAME {
        return Err(Error::InvalidArgument(format!(
            "the blob name is {chars} characters long; Azure takes at most {MAX_BLOB_NAME}"
        )));
    }
    if name.split(['/', '\\']).any(|s| s == "." || s == "..") {
        return Err(Error::InvalidArgument(format!(
            "the blob name '{}' has a '.' or '..' segment, which would leave the container; give the name without them",
            printable(name)
        )));
    }
    Ok(())
}

/// Checks a number of parts in flight for [`Blob::with_concurrency`] and
/// [`crate::Adls::with_concurrency`].
pub(crate) fn check_concurrency(parts: usize) -> Result<()> {
    if (1..=MAX_CONCURRENCY).contains(&parts) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "the concurrency {parts} is out of range; give 1 to {MAX_CONCURRENCY} parts in flight"
        )))
    }
}

/// Checks a block size for [`Blob::with_block_size`].
pub(crate) fn check_block_size(bytes: usize) -> Result<()> {
    if (MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&bytes) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "the block size {bytes} is out of range; give {MIN_BLOCK_SIZE} to {MAX_BLOCK_SIZE} bytes"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn accounts_by_name_or_url() {
        let a = BlobAccount::parse("Contoso").unwrap();
        assert_eq!(a.base_url(), "https://contoso.blob.core.windows.net");
        let a = BlobAccount::parse("https://127.0.0.1:10000/devstoreaccount1/").unwrap();
        assert_eq!(a.base_url(), "https://127.0.0.1:10000/devstoreaccount1");
        assert_eq!(a.to_string(), "127.0.0.1:10000/devstoreaccount1");
        let url = a
            .url("c", Some("a b/ü#.txt"), &[("comp", "block")])
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://127.0.0.1:10000/devstoreaccount1/c/a%20b/%C3%BC%23.txt?comp=block"
        );
        assert!(BlobAccount::parse("http://127.0.0.1:10000/devstoreaccount1").is_ok());
        assert_eq!(
            BlobAccount::parse("http://contoso.blob.core.windows.net")
                .unwrap_err()
                .code(),
            ErrorCode::InsecureRequest
        );
        for bad in ["", "ab", "a b", "https://x.example/?sv=1&sig=secret", "x@y"] {
            let e = BlobAccount::parse(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}");
            assert!(!e.to_string().contains("secret"), "{e}");
        }
    }

    #[test]
    fn signatures_are_redacted() {
        assert_eq!(
            redact_sig("https://a/c?sv=1&SIG=abc%2B&sp=r"),
            "https://a/c?sv=1&SIG=REDACTED&sp=r"
        );
        assert_eq!(redact_sig("sig=x"), "sig=REDACTED");
        assert_eq!(redact_sig("no signature"), "no signature");
    }

    #[test]
    fn block_ids_have_one_length() {
        assert_eq!(block_id(0).len(), block_id(49_999).len());
        assert_ne!(block_id(1), block_id(2));
    }
}
