//! Azure Data Lake Storage: Gen1 (WebHDFS, `https://{account}.azuredatalakestore.net`) and Gen2
//! (DFS, `https://{account}.dfs.core.windows.net/{filesystem}`), with the managed identity's
//! tokens.
//!
//! An [`AdlsAccount`] says where the account is and which protocol it speaks; an [`Adls`] adds
//! the identity and does the work: list (streamed page by page), stat, create, mkdir, append,
//! read, upload, download, rename and remove. Paths are absolute within the account (Gen1) or
//! the filesystem (Gen2): `/folder/file.txt`; a missing leading `/` is added.
//!
//! The protocols differ only behind `backend::Backend`: webhdfs.rs (Gen1) and dfs.rs (Gen2)
//! implement it, and `with_backend!` picks one per account; this module and transfer.rs are
//! written once for both.
//!
//! Everything is safe to cancel by dropping the future: a download then leaves neither a
//! partial destination nor its temporary file behind.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

use crate::client::Azmi;
use crate::error::{Error, Result};
use crate::identity::{printable, ManagedIdentity};
use crate::retry::RetryPolicy;
use crate::service::{display_host, is_loopback, Service};
use crate::transfer::{
    data_timeout, read_body, META_TIMEOUT, SINGLE_REQUEST_MAX, UPLOAD_CONCURRENCY,
};

#[macro_use]
mod backend;
mod dfs;
mod transfer;
mod webhdfs;

use backend::Backend;

/// Which protocol an account speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AdlsProtocol {
    /// Decide from the account's form: a bare name or `….azuredatalakestore.net` or a
    /// `/webhdfs/v1` base is WebHDFS, `….dfs.core.windows.net/{filesystem}` is DFS.
    Auto,
    /// Gen1 / Hadoop WebHDFS.
    WebHdfs,
    /// Gen2 DFS.
    Dfs,
}

impl fmt::Display for AdlsProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AdlsProtocol::Auto => "automatic",
            AdlsProtocol::WebHdfs => "WebHDFS",
            AdlsProtocol::Dfs => "DFS",
        })
    }
}

/// The token resource of Data Lake Storage Gen1.
pub const GEN1_RESOURCE: &str = crate::resources::DATA_LAKE;
/// The token resource of Data Lake Storage Gen2 (Azure Storage).
pub const GEN2_RESOURCE: &str = crate::resources::STORAGE;
/// The DNS suffix of Gen1 accounts in the public cloud.
const GEN1_SUFFIX: &str = ".azuredatalakestore.net";

/// Where an account is and which protocol it speaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdlsAccount {
    protocol: AdlsProtocol,
    /// WebHDFS: `…/webhdfs/v1`; DFS: `…/{filesystem}`; never a trailing slash.
    base: String,
    /// `host[:port]` (DFS: `host[:port]/filesystem`), for messages.
    display: String,
}

impl AdlsAccount {
    /// Parses an account: a bare name (`contoso`: Gen1 in the public cloud,
    /// `https://contoso.azuredatalakestore.net`), a host (`contoso.azuredatalakestore.net`), or
    /// a URL (`https://contoso.dfs.core.windows.net/myfilesystem`,
    /// `https://namenode:9871/webhdfs/v1`). `protocol` forces the protocol for hosts whose form
    /// does not tell (emulators, Hadoop, other clouds); with [`AdlsProtocol::WebHdfs`] a URL
    /// without `/webhdfs/v1` gets it appended, with [`AdlsProtocol::Dfs`] the URL's path is the
    /// filesystem.
    ///
    /// Only `https://` is accepted, or `http://` to a loopback address (test endpoints): anything
    /// else is [`crate::ErrorCode::InsecureRequest`].
    pub fn parse(account: &str, protocol: AdlsProtocol) -> Result<AdlsAccount> {
        let given = account.trim();
        let invalid = |why: &str| {
            Error::InvalidArgument(format!(
                "the Data Lake account '{}' {why}",
                printable(given)
            ))
        };
        if given.is_empty() {
            return Err(Error::InvalidArgument(
                "the Data Lake account is empty; give its name (Gen1) or its URL, e.g. https://contoso.dfs.core.windows.net/myfilesystem".into(),
            ));
        }
        if given.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid("contains white space or control characters"));
        }
        let text = if given.contains("://") {
            given.to_owned()
        } else if given.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            if protocol == AdlsProtocol::Dfs {
                return Err(invalid(&format!(
                    "is a bare name, which means a Data Lake Storage Gen1 account; for Gen2 give https://{}.dfs.core.windows.net/<filesystem>",
                    given.to_ascii_lowercase()
                )));
            }
            format!("https://{}{GEN1_SUFFIX}", given.to_ascii_lowercase())
        } else if given.contains('.') && !given.contains('@') {
            format!("https://{given}")
        } else {
            return Err(invalid(
                "is neither an account name nor a URL; give e.g. contoso or https://contoso.dfs.core.windows.net/myfilesystem",
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
                "must not contain credentials, a query or a fragment",
            ));
        }
        if url.scheme() == "http" && !is_loopback(&url) {
            return Err(Error::Insecure(format!(
                "the Data Lake account '{}' is plain http://: tokens go only over HTTPS (plain HTTP only to a loopback test endpoint)",
                printable(given)
            )));
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
        let ends_webhdfs =
            segments.len() >= 2 && segments[segments.len() - 2..] == ["webhdfs", "v1"];
        let protocol = match protocol {
            AdlsProtocol::Auto if host.ends_with(GEN1_SUFFIX) || ends_webhdfs => {
                AdlsProtocol::WebHdfs
            }
            AdlsProtocol::Auto if host.split('.').nth(1) == Some("dfs") => AdlsProtocol::Dfs,
            AdlsProtocol::Auto => {
                return Err(invalid(
                    "does not say which protocol it speaks; give the protocol (WebHDFS for Gen1 and Hadoop, DFS for Gen2) or a URL of the form https://<account>.azuredatalakestore.net, …/webhdfs/v1 or https://<account>.dfs.core.windows.net/<filesystem>",
                ))
            }
            p => p,
        };
        let origin = url.origin().ascii_serialization();
        let authority = display_host(&url);
        match protocol {
            AdlsProtocol::WebHdfs => {
                let mut prefix: Vec<&str> = segments.clone();
                if !ends_webhdfs {
                    if segments.windows(2).any(|w| w == ["webhdfs", "v1"]) {
                        return Err(invalid(
                            "has a path after /webhdfs/v1; give the account URL only (paths are given to each operation)",
                        ));
                    }
                    prefix.extend(["webhdfs", "v1"]);
                }
                Ok(AdlsAccount {
                    protocol,
                    base: format!("{origin}/{}", prefix.join("/")),
                    display: authority,
                })
            }
            _ => {
                let filesystem = match segments.as_slice() {
                    [fs] => *fs,
                    [] => {
                        return Err(invalid(&format!(
                            "names no filesystem; give it as https://{authority}/<filesystem>"
                        )))
                    }
                    _ => {
                        return Err(invalid(&format!(
                            "has more than a filesystem in its path; give it as https://{authority}/<filesystem> (paths are given to each operation)"
                        )))
                    }
                };
                let decoded = percent_encoding::percent_decode_str(filesystem).decode_utf8_lossy();
                if decoded == "." || decoded == ".." {
                    return Err(invalid("names no valid filesystem"));
                }
                Ok(AdlsAccount {
                    protocol: AdlsProtocol::Dfs,
                    base: format!("{origin}/{filesystem}"),
                    display: format!("{authority}/{decoded}"),
                })
            }
        }
    }

    /// [`AdlsProtocol::WebHdfs`] or [`AdlsProtocol::Dfs`] (never `Auto`).
    pub fn protocol(&self) -> AdlsProtocol {
        self.protocol
    }

    /// The URL below which paths are addressed: `https://contoso.azuredatalakestore.net/webhdfs/v1`
    /// or `https://contoso.dfs.core.windows.net/myfilesystem`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The account as messages name it: `host[:port]`, plus `/filesystem` for DFS.
    pub fn display_name(&self) -> &str {
        &self.display
    }

    /// The token resource the protocol needs.
    pub fn default_resource(&self) -> &'static str {
        match self.protocol {
            AdlsProtocol::Dfs => GEN2_RESOURCE,
            _ => GEN1_RESOURCE,
        }
    }

    /// The URL of `path` (already validated) with `query` appended (names and values are
    /// encoded here).
    fn url(&self, path: &AdlsPath, query: &[(&str, &str)]) -> Result<Url> {
        let mut s = self.base.clone();
        if !path.is_root() || self.protocol == AdlsProtocol::WebHdfs {
            s.push_str(&path.encoded());
        }
        for (i, (k, v)) in query.iter().enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            s.push_str(&encode(k));
            s.push('=');
            s.push_str(&encode(v));
        }
        Url::parse(&s).map_err(|e| Error::Internal(format!("a request URL did not parse: {e}")))
    }

    /// "'/path' in account", for messages.
    fn at(&self, path: &AdlsPath) -> String {
        format!("'{path}' in {}", self.display)
    }
}

impl fmt::Display for AdlsAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// What is left unencoded in path segments and query values: RFC 3986's unreserved characters.
/// Everything else (space, `#`, `%`, `+`, `?`, `&`, non-ASCII bytes, …) is percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// A validated path inside an account (Gen1) or filesystem (Gen2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AdlsPath {
    segments: Vec<String>,
}

impl AdlsPath {
    /// Validates a path: `/a/b`, `a/b` (same), `/` or empty (the root). Repeated and trailing
    /// slashes are ignored; control characters and `.` or `..` segments are refused.
    pub(crate) fn parse(path: &str) -> Result<AdlsPath> {
        if path.chars().any(char::is_control) {
            return Err(Error::InvalidArgument(format!(
                "the path '{}' contains control characters",
                printable(path)
            )));
        }
        let segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if segments.iter().any(|s| s == ".." || s == ".") {
            return Err(Error::InvalidArgument(format!(
                "the path '{}' has a '.' or '..' segment; give the path from the root without them",
                printable(path)
            )));
        }
        Ok(AdlsPath { segments })
    }

    pub(crate) fn root() -> AdlsPath {
        AdlsPath {
            segments: Vec::new(),
        }
    }

    pub(crate) fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The last segment ("" for the root).
    pub(crate) fn name(&self) -> &str {
        self.segments.last().map_or("", String::as_str)
    }

    /// The path below this one named `name` (one segment, as a service listed it).
    pub(crate) fn child(&self, name: &str) -> AdlsPath {
        let mut segments = self.segments.clone();
        segments.extend(name.split('/').filter(|s| !s.is_empty()).map(str::to_owned));
        AdlsPath { segments }
    }

    /// `/a%20b/c`: each segment percent-encoded; `/` for the root.
    pub(crate) fn encoded(&self) -> String {
        if self.segments.is_empty() {
            return "/".into();
        }
        let mut s = String::new();
        for seg in &self.segments {
            s.push('/');
            s.push_str(&encode(seg));
        }
        s
    }

    /// `a/b` without the leading slash ("" for the root), as DFS names paths.
    pub(crate) fn relative(&self) -> String {
        self.segments.join("/")
    }
}

impl fmt::Display for AdlsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("/");
        }
        for seg in &self.segments {
            write!(f, "/{seg}")?;
        }
        Ok(())
    }
}

/// A file or a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemType {
    File,
    Directory,
}

/// A file or directory as a listing or stat describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdlsItem {
    /// The last segment of the path ("" for the root).
    pub name: String,
    /// The full path from the root, e.g. `/folder/file.txt`.
    pub path: String,
    pub item_type: ItemType,
    /// Bytes (0 for directories).
    pub length: u64,
    /// Last modification, Unix milliseconds (0 when the service did not say).
    pub last_modified_ms: i64,
    /// As the service gives it: Gen1 octal (`770`), Gen2 symbolic (`rwxr-x---`).
    pub permission: String,
    /// The owner's object id (or name).
    pub owner: String,
    /// The owning group's object id (or name).
    pub group: String,
}

impl AdlsItem {
    pub fn is_directory(&self) -> bool {
        self.item_type == ItemType::Directory
    }
}

/// How a listing ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListOutcome {
    /// Items handed to the callback.
    pub items: u64,
    /// The callback asked to stop (returned `false`).
    pub stopped: bool,
}

/// Gen1 accepts at most 4 MiB per CREATE or APPEND request.
const GEN1_MAX_REQUEST: usize = 4 * 1024 * 1024;
/// The most [`Adls::read`] reads into memory; larger files are for [`Adls::download`].
pub(crate) const MAX_READ: usize = 256 * 1024 * 1024;
/// Default Gen2 append size.
const DEFAULT_CHUNK: usize = 8 * 1024 * 1024;
/// Chunk sizes accepted by [`Adls::with_chunk_size`].
const MIN_CHUNK: usize = 1024;
const MAX_CHUNK: usize = 256 * 1024 * 1024;
/// Largest page asked for when listing (the services' own maximum for Gen2).
const MAX_PAGE: u32 = 5000;

/// A Data Lake account used with a managed identity. Cheap to clone; safe to share.
#[derive(Clone)]
pub struct Adls {
    account: Arc<AdlsAccount>,
    service: Service,
    retry: RetryPolicy,
    chunk_size: usize,
    /// The largest Gen2 upload sent as one request.
    single_request: u64,
    /// Gen2 appends in flight at once.
    concurrency: usize,
    page_size: Option<u32>,
}

impl fmt::Debug for Adls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adls")
            .field("account", &self.account)
            .field("resource", &self.service.resource())
            .field("chunk_size", &self.chunk_size)
            .field("single_request", &self.single_request)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

impl Azmi {
    /// Opens a Data Lake account (see [`AdlsAccount::parse`]) with the identity `mi`.
    pub fn adls(
        &self,
        account: &str,
        protocol: AdlsProtocol,
        mi: &ManagedIdentity,
    ) -> Result<Adls> {
        Adls::new(
            self,
            AdlsAccount::parse(account, protocol)?,
            Arc::new(mi.clone()),
        )
    }
}

impl Adls {
    /// `account` used with the identity `mi`; tokens for the protocol's resource (Gen1
    /// `https://datalake.azure.net/`, Gen2 `https://storage.azure.com/`); transient failures
    /// retried under the identity's retry policy.
    pub fn new(azmi: &Azmi, account: AdlsAccount, mi: Arc<ManagedIdentity>) -> Result<Adls> {
        let retry = mi.options().retry.clone();
        let service = Service::new(azmi, mi, account.default_resource(), retry.clone())?;
        Ok(Adls {
            account: Arc::new(account),
            service,
            retry,
            chunk_size: DEFAULT_CHUNK,
            single_request: SINGLE_REQUEST_MAX,
            concurrency: UPLOAD_CONCURRENCY,
            page_size: None,
        })
    }

    /// Uses tokens for another resource (e.g. a Hadoop cluster's own application).
    pub fn with_resource(mut self, resource: &str) -> Result<Adls> {
        self.service = self.service.with_resource(resource)?;
        Ok(self)
    }

    /// Retries transient service failures under `retry` instead of the identity's policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Adls {
        self.service = self.service.with_retry(retry.clone());
        self.retry = retry;
        self
    }

    /// Bytes per upload request: Gen2 appends of files larger than the single-request size
    /// (default 8 MiB; set here, it is also the largest Gen2 upload sent as one append, by
    /// default 256 MiB, so that no request carries more); Gen1 sends at most 4 MiB per request
    /// whatever this says. Between 1 KiB and 256 MiB. Gen2 streams its appends from the file:
    /// memory stays flat whatever the size.
    pub fn with_chunk_size(mut self, bytes: usize) -> Result<Adls> {
        check_chunk_size(bytes)?;
        self.chunk_size = bytes;
        self.single_request = bytes as u64;
        Ok(self)
    }

    /// Gen2 appends in flight at once during an upload larger than the single-request size
    /// (default [`UPLOAD_CONCURRENCY`]); 1 to 16. Gen1 appends one at a time: each lands at the
    /// end of the file.
    pub fn with_concurrency(mut self, appends: usize) -> Result<Adls> {
        crate::blob::check_concurrency(appends)?;
        self.concurrency = appends;
        Ok(self)
    }

    /// Entries asked for per listing page (Gen1 `listSize`, Gen2 `maxResults`, at most 5000);
    /// the service's default when not set.
    pub fn with_page_size(mut self, entries: u32) -> Result<Adls> {
        if !(1..=MAX_PAGE).contains(&entries) {
            return Err(Error::InvalidArgument(format!(
                "the page size {entries} is out of range; give 1 to {MAX_PAGE}"
            )));
        }
        self.page_size = Some(entries);
        Ok(self)
    }

    pub fn account(&self) -> &AdlsAccount {
        &self.account
    }

    /// The token resource requests use.
    pub fn resource(&self) -> &str {
        self.service.resource()
    }

    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// Lists the directory `path` (a file lists as itself), following every page and handing
    /// each item to `on_item` as its page arrives; `on_item` returns `false` to stop early.
    /// `recursive` also lists everything below (Gen2 in one listing, Gen1 folder by folder).
    pub async fn list(
        &self,
        path: &str,
        recursive: bool,
        mut on_item: impl FnMut(AdlsItem) -> bool,
    ) -> Result<ListOutcome> {
        let path = AdlsPath::parse(path)?;
        with_backend!(self, B => B::list(self, &path, recursive, &mut on_item).await)
    }

    /// The properties of a file or directory.
    pub async fn stat(&self, path: &str) -> Result<AdlsItem> {
        let path = AdlsPath::parse(path)?;
        with_backend!(self, B => B::stat(self, &path).await)
    }

    /// Creates the file `path` with `data` (parents are created). An existing file is a
    /// [`crate::ErrorCode::Conflict`] unless `overwrite`.
    pub async fn create(&self, path: &str, data: impl Into<Bytes>, overwrite: bool) -> Result<()> {
        let path = AdlsPath::parse(path)?;
        refuse_root(&path, "create a file at")?;
        let data: Bytes = data.into();
        let total = data.len() as u64;
        let source = crate::transfer::Source::memory(data);
        let no_progress = &mut |_, _| {};
        with_backend!(self, B => {
            transfer::write_all::<B>(self, &path, source, total, overwrite, None, no_progress).await
        })
        .map(drop)
    }

    /// Creates the directory `path` and its parents; an existing directory is fine.
    pub async fn mkdir(&self, path: &str) -> Result<()> {
        let path = AdlsPath::parse(path)?;
        with_backend!(self, B => B::mkdir(self, &path).await)
    }

    /// Appends `data` to the existing file `path`.
    pub async fn append(&self, path: &str, data: impl Into<Bytes>) -> Result<()> {
        let path = AdlsPath::parse(path)?;
        let data: Bytes = data.into();
        with_backend!(self, B => B::append(self, &path, data).await)
    }

    /// Reads `length` bytes (to the end when `None`) from `offset` of the file `path` into
    /// memory (use [`Adls::download`] for large files). Reading at the end gives no bytes.
    pub async fn read(&self, path: &str, offset: u64, length: Option<u64>) -> Result<Bytes> {
        let path = AdlsPath::parse(path)?;
        if length == Some(0) {
            self.stat(&path.to_string()).await?;
            return Ok(Bytes::new());
        }
        if length.is_some_and(|l| l > MAX_READ as u64) {
            return Err(Error::InvalidArgument(format!(
                "reading {} bytes of {} into memory is more than the {MAX_READ} azmi reads at once; download the file, or read it in parts",
                length.unwrap_or_default(),
                self.account.at(&path)
            )));
        }
        with_backend!(self, B => B::read(self, &path, offset, length).await)
    }

    /// Uploads the local file `local` to `remote` in chunks, calling `progress(sent, total)`
    /// after each. An existing remote file is a [`crate::ErrorCode::Conflict`] unless
    /// `overwrite`. A failure says how many bytes had been sent. Returns the bytes uploaded.
    pub async fn upload(
        &self,
        local: &Path,
        remote: &str,
        overwrite: bool,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64> {
        let remote = AdlsPath::parse(remote)?;
        refuse_root(&remote, "upload to")?;
        with_backend!(self, B => {
            transfer::upload::<B>(self, local, &remote, overwrite, &mut progress).await
        })
    }

    /// Downloads `remote` to the local file `local`: into a temporary file in the same folder,
    /// checked against the remote length, flushed to disk, then renamed over `local`. An
    /// existing `local` is a [`crate::ErrorCode::Conflict`] unless `overwrite`, and is never
    /// damaged by a failed or cancelled download. Returns the bytes downloaded.
    pub async fn download(
        &self,
        remote: &str,
        local: &Path,
        overwrite: bool,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64> {
        let remote = AdlsPath::parse(remote)?;
        with_backend!(self, B => {
            transfer::download::<B>(self, &remote, local, overwrite, &mut progress).await
        })
    }

    /// Renames (moves) `from` to `to`. An existing `to` is a [`crate::ErrorCode::Conflict`]
    /// (Gen1 moves into an existing directory, as WebHDFS does).
    pub async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let from = AdlsPath::parse(from)?;
        let to = AdlsPath::parse(to)?;
        refuse_root(&from, "move")?;
        refuse_root(&to, "move onto")?;
        with_backend!(self, B => B::rename(self, &from, &to).await)
    }

    /// Deletes a file or directory; a non-empty directory only when `recursive`.
    pub async fn remove(&self, path: &str, recursive: bool) -> Result<()> {
        let path = AdlsPath::parse(path)?;
        refuse_root(&path, "delete")?;
        with_backend!(self, B => B::remove(self, &path, recursive).await)
    }
}

/// A JSON string, number or boolean as text.
fn json_text(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A JSON number, or a string holding one (DFS sends numbers as strings).
fn json_number(v: Option<&serde_json::Value>) -> Option<i64> {
    match v? {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An error for a request the service refused without an error status (`{"boolean":false}`).
fn refused(what: &str, code: crate::ErrorCode, description: String) -> Error {
    Error::Service {
        code,
        context: format!("{what} failed"),
        failure: crate::ServiceFailure {
            status: 200,
            code: None,
            description,
        },
    }
}

/// Fails unless the response is a success (2xx), then discards its body.
async fn expect_success(resp: reqwest::Response, what: &str) -> Result<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        Ok(resp)
    } else {
        Err(Error::Protocol(format!(
            "{what}: the service answered HTTP {} where success was expected",
            status.as_u16()
        )))
    }
}

/// Checks a chunk size for [`Adls::with_chunk_size`].
pub(crate) fn check_chunk_size(bytes: usize) -> Result<()> {
    if (MIN_CHUNK..=MAX_CHUNK).contains(&bytes) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "the chunk size {bytes} is out of range; give {MIN_CHUNK} to {MAX_CHUNK} bytes"
        )))
    }
}

fn refuse_root(path: &AdlsPath, what: &str) -> Result<()> {
    if path.is_root() {
        return Err(Error::InvalidArgument(format!(
            "cannot {what} the root '/'; give a path below it"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn parse(a: &str, p: AdlsProtocol) -> Result<AdlsAccount> {
        AdlsAccount::parse(a, p)
    }

    #[test]
    fn a_bare_name_is_gen1_in_the_public_cloud() {
        let a = parse("Contoso", AdlsProtocol::Auto).unwrap();
        assert_eq!(a.protocol(), AdlsProtocol::WebHdfs);
        assert_eq!(
            a.base_url(),
            "https://contoso.azuredatalakestore.net/webhdfs/v1"
        );
        assert_eq!(a.display_name(), "contoso.azuredatalakestore.net");
        assert_eq!(a.default_resource(), "https://datalake.azure.net/");
        let same = parse("contoso", AdlsProtocol::WebHdfs).unwrap();
        assert_eq!(same, a);
        let e = parse("contoso", AdlsProtocol::Dfs).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        assert!(e.to_string().contains("dfs.core.windows.net"), "{e}");
    }

    #[test]
    fn urls_select_the_protocol_by_form() {
        for (given, base) in [
            (
                "https://contoso.azuredatalakestore.net",
                "https://contoso.azuredatalakestore.net/webhdfs/v1",
            ),
            (
                "https://contoso.azuredatalakestore.net/webhdfs/v1/",
                "https://contoso.azuredatalakestore.net/webhdfs/v1",
            ),
            (
                "contoso.azuredatalakestore.net",
                "https://contoso.azuredatalakestore.net/webhdfs/v1",
            ),
            (
                "https://namenode.example.com:9871/webhdfs/v1",
                "https://namenode.example.com:9871/webhdfs/v1",
            ),
            (
                "https://gw.example.com/gateway/default/webhdfs/v1",
                "https://gw.example.com/gateway/default/webhdfs/v1",
            ),
        ] {
            let a = parse(given, AdlsProtocol::Auto).unwrap();
            assert_eq!(a.protocol(), AdlsProtocol::WebHdfs, "{given}");
            assert_eq!(a.base_url(), base, "{given}");
        }
        let a = parse(
            "https://contoso.dfs.core.windows.net/myfs",
            AdlsProtocol::Auto,
        )
        .unwrap();
        assert_eq!(a.protocol(), AdlsProtocol::Dfs);
        assert_eq!(a.base_url(), "https://contoso.dfs.core.windows.net/myfs");
        assert_eq!(a.display_name(), "contoso.dfs.core.windows.net/myfs");
        assert_eq!(a.default_resource(), "https://storage.azure.com/");
        let a = parse(
            "https://contoso.dfs.core.chinacloudapi.cn/fs/",
            AdlsProtocol::Auto,
        )
        .unwrap();
        assert_eq!(a.protocol(), AdlsProtocol::Dfs);
    }

    #[test]
    fn an_explicit_protocol_serves_other_hosts() {
        let a = parse("https://127.0.0.1:8443", AdlsProtocol::WebHdfs).unwrap();
        assert_eq!(a.base_url(), "https://127.0.0.1:8443/webhdfs/v1");
        assert_eq!(a.display_name(), "127.0.0.1:8443");
        let a = parse("https://127.0.0.1:8443/fs", AdlsProtocol::Dfs).unwrap();
        assert_eq!(a.base_url(), "https://127.0.0.1:8443/fs");
        assert_eq!(a.display_name(), "127.0.0.1:8443/fs");
        let a = parse("http://localhost:1/webhdfs/v1", AdlsProtocol::Auto).unwrap();
        assert_eq!(a.base_url(), "http://localhost:1/webhdfs/v1");
    }

    #[test]
    fn unclear_or_unsafe_accounts_are_refused() {
        let e = parse("https://127.0.0.1:8443", AdlsProtocol::Auto).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        assert!(e.to_string().contains("give the protocol"), "{e}");
        let e = parse("https://127.0.0.1:8443", AdlsProtocol::Dfs).unwrap_err();
        assert!(e.to_string().contains("names no filesystem"), "{e}");
        let e = parse("https://a.dfs.core.windows.net/fs/dir", AdlsProtocol::Auto).unwrap_err();
        assert!(e.to_string().contains("more than a filesystem"), "{e}");
        let e = parse("http://contoso.azuredatalakestore.net", AdlsProtocol::Auto).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InsecureRequest);
        for bad in [
            "",
            "  ",
            "con toso",
            "https://u:p@contoso.azuredatalakestore.net",
            "https://contoso.azuredatalakestore.net/?x=1",
            "ftp://contoso.azuredatalakestore.net",
            "https://contoso.azuredatalakestore.net/webhdfs/v1/dir",
            "what?",
        ] {
            let e = parse(bad, AdlsProtocol::Auto).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}: {e}");
        }
    }

    #[test]
    fn paths_are_validated_and_normalized() {
        let p = AdlsPath::parse("a//b/").unwrap();
        assert_eq!(p.to_string(), "/a/b");
        assert_eq!(p.name(), "b");
        assert_eq!(p.relative(), "a/b");
        assert!(AdlsPath::parse("").unwrap().is_root());
        assert!(AdlsPath::parse("/").unwrap().is_root());
        assert_eq!(AdlsPath::root().to_string(), "/");
        assert_eq!(AdlsPath::root().encoded(), "/");
        assert_eq!(
            AdlsPath::parse("/a/..b/c..").unwrap().to_string(),
            "/a/..b/c.."
        );
        for bad in ["/a/../b", "..", "/a/./b", "/a\nb", "/a\u{0}b", "/a\u{7f}"] {
            let e = AdlsPath::parse(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad:?}");
        }
        let e = AdlsPath::parse("/x/../y").unwrap_err();
        assert!(e.to_string().contains("'..'"), "{e}");
    }

    #[test]
    fn paths_and_queries_are_percent_encoded() {
        let p = AdlsPath::parse("/dir with space/a#b%c+d?e&f=g/ünï 中.txt").unwrap();
        assert_eq!(
            p.encoded(),
            "/dir%20with%20space/a%23b%25c%2Bd%3Fe%26f%3Dg/%C3%BCn%C3%AF%20%E4%B8%AD.txt"
        );
        let a = parse("https://h:1", AdlsProtocol::WebHdfs).unwrap();
        let u = a
            .url(&p, &[("op", "RENAME"), ("destination", "/new name+1#")])
            .unwrap();
        assert_eq!(
            u.as_str(),
            "https://h:1/webhdfs/v1/dir%20with%20space/a%23b%25c%2Bd%3Fe%26f%3Dg/%C3%BCn%C3%AF%20%E4%B8%AD.txt?op=RENAME&destination=%2Fnew%20name%2B1%23"
        );
        let decoded: Vec<String> = u
            .path_segments()
            .unwrap()
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .unwrap()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            decoded[2..],
            ["dir with space", "a#b%c+d?e&f=g", "ünï 中.txt"]
        );
        let root = a.url(&AdlsPath::root(), &[("op", "LISTSTATUS")]).unwrap();
        assert_eq!(root.as_str(), "https://h:1/webhdfs/v1/?op=LISTSTATUS");
        let d = parse("https://h:1/fs", AdlsProtocol::Dfs).unwrap();
        assert_eq!(
            d.url(&AdlsPath::root(), &[("resource", "filesystem")])
                .unwrap()
                .as_str(),
            "https://h:1/fs?resource=filesystem"
        );
        assert_eq!(
            d.url(&AdlsPath::parse("a b/c").unwrap(), &[])
                .unwrap()
                .as_str(),
            "https://h:1/fs/a%20b/c"
        );
    }

    #[test]
    fn children_extend_the_path() {
        let p = AdlsPath::parse("/a").unwrap();
        assert_eq!(p.child("b c").to_string(), "/a/b c");
        assert_eq!(AdlsPath::root().child("x").to_string(), "/x");
    }
}
