//! Data Lake Storage Gen2 over the DFS endpoint: `https://{account}.dfs.core.windows.net/
//! {filesystem}/{path}` with `x-ms-version`. Files are written by create, appends at explicit
//! positions and a final flush; nothing is readable before the flush.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{
    HeaderMap, HeaderName, CONTENT_LENGTH, ETAG, IF_MATCH, IF_NONE_MATCH, LAST_MODIFIED,
};
use reqwest::{Method, Response};
use serde_json::Value;

use super::backend::Backend;
use super::{
    data_timeout, expect_success, json_number, json_text, read_body, Adls, AdlsItem, AdlsPath,
    ItemType, ListOutcome, MAX_READ, META_TIMEOUT,
};
use crate::error::{Error, ErrorCode, Result, ServiceFailure};
use crate::service::{get_ci, Request};
use crate::transfer::Streamed;

const VERSION: &str = "2023-11-03";
const X_MS_VERSION: HeaderName = HeaderName::from_static("x-ms-version");
const X_MS_CONTINUATION: &str = "x-ms-continuation";
/// The largest listing page read (5000 entries are about 2 MB).
const MAX_JSON: usize = 64 * 1024 * 1024;

/// Data Lake Storage Gen2: the DFS endpoint.
pub(super) struct Dfs;

fn request(
    a: &Adls,
    method: Method,
    path: &AdlsPath,
    query: &[(&str, &str)],
    what: &str,
) -> Result<Request> {
    Request::new(method, a.account.url(path, query)?, what).header(X_MS_VERSION, VERSION)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Unix milliseconds of an HTTP date (`Wed, 22 Feb 2023 02:41:28 GMT`); 0 when unreadable.
fn http_date_ms(s: Option<&str>) -> i64 {
    s.and_then(|s| chrono::DateTime::parse_from_rfc2822(s.trim()).ok())
        .map_or(0, |d| d.timestamp_millis())
}

/// An item from an entry of a listing (`name` is the path from the filesystem's root).
fn item(v: &Value, what: &str) -> Result<AdlsItem> {
    let name = json_text(get_ci(v, "name"))
        .ok_or_else(|| Error::Protocol(format!("{what}: an entry has no name")))?;
    let path = AdlsPath::root().child(&name);
    let is_dir = matches!(json_text(get_ci(v, "isDirectory")).as_deref(), Some(d) if d.eq_ignore_ascii_case("true"));
    Ok(AdlsItem {
        name: path.name().to_owned(),
        path: path.to_string(),
        item_type: if is_dir {
            ItemType::Directory
        } else {
            ItemType::File
        },
        length: json_number(get_ci(v, "contentLength")).unwrap_or(0).max(0) as u64,
        last_modified_ms: http_date_ms(json_text(get_ci(v, "lastModified")).as_deref()),
        permission: json_text(get_ci(v, "permissions")).unwrap_or_default(),
        owner: json_text(get_ci(v, "owner")).unwrap_or_default(),
        group: json_text(get_ci(v, "group")).unwrap_or_default(),
    })
}

/// The item at `path` and its ETag (the version a download pins its resumptions to).
async fn properties(a: &Adls, path: &AdlsPath) -> Result<(AdlsItem, Option<String>)> {
    let what = format!("reading the properties of {}", a.account.at(path));
    let query: &[(&str, &str)] = if path.is_root() {
        &[("resource", "filesystem")]
    } else {
        &[]
    };
    let req = request(a, Method::HEAD, path, query, &what)?.timeout(META_TIMEOUT);
    let resp = expect_success(a.service.send(req).await?, &what).await?;
    let h = resp.headers();
    let is_dir = path.is_root()
        || header(h, "x-ms-resource-type").is_some_and(|t| t.eq_ignore_ascii_case("directory"));
    let item = AdlsItem {
        name: path.name().to_owned(),
        path: path.to_string(),
        item_type: if is_dir {
            ItemType::Directory
        } else {
            ItemType::File
        },
        length: if is_dir {
            0
        } else {
            header(h, CONTENT_LENGTH.as_str())
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(0)
        },
        last_modified_ms: http_date_ms(header(h, LAST_MODIFIED.as_str())),
        permission: header(h, "x-ms-permissions").unwrap_or_default().to_owned(),
        owner: header(h, "x-ms-owner").unwrap_or_default().to_owned(),
        group: header(h, "x-ms-group").unwrap_or_default().to_owned(),
    };
    Ok((item, header(h, ETAG.as_str()).map(str::to_owned)))
}

/// Creates (or, with `overwrite`, truncates) the file; data follows by [`append_at`] and
/// [`flush`].
async fn create_file(a: &Adls, path: &AdlsPath, overwrite: bool) -> Result<()> {
    let what = format!("creating {}", a.account.at(path));
    let mut req = request(a, Method::PUT, path, &[("resource", "file")], &what)?;
    if !overwrite {
        req = req.header(IF_NONE_MATCH, "*")?;
    }
    let resp = a.service.send(req.timeout(META_TIMEOUT)).await?;
    expect_success(resp, &what).await.map(drop)
}

/// "appending to <path> in <account>", for messages.
fn append_what(a: &Adls, path: &AdlsPath) -> String {
    format!("appending to {}", a.account.at(path))
}

/// An append of `len` bytes at `position` (the body is the caller's).
fn append_request(a: &Adls, path: &AdlsPath, position: u64, len: u64) -> Result<Request> {
    let pos = position.to_string();
    let req = request(
        a,
        Method::PATCH,
        path,
        &[("action", "append"), ("position", &pos)],
        &append_what(a, path),
    )?;
    Ok(req.timeout(data_timeout(usize::try_from(len).unwrap_or(usize::MAX))))
}

/// Commits the appended data: the file's length becomes `length`.
async fn flush(a: &Adls, path: &AdlsPath, length: u64) -> Result<()> {
    let what = format!("committing the data of {}", a.account.at(path));
    let pos = length.to_string();
    let req = request(
        a,
        Method::PATCH,
        path,
        &[("action", "flush"), ("position", &pos)],
        &what,
    )?
    .timeout(META_TIMEOUT);
    let resp = a.service.send(req).await?;
    expect_success(resp, &what).await.map(drop)
}

/// GET from `offset` (`length` bytes, or to the end); the response streams the data.
/// Reads `path` from `offset` (`length` bytes, or to the end). With `etag`, only that version:
/// a file changed since answers 412 (a conflict), and an answer of another version is refused.
async fn open(
    a: &Adls,
    path: &AdlsPath,
    offset: u64,
    length: Option<u64>,
    etag: Option<&str>,
    what: &str,
) -> Result<Response> {
    let mut req = request(a, Method::GET, path, &[], what)?.timeout(META_TIMEOUT);
    if let Some(etag) = etag {
        req = req.header(IF_MATCH, etag)?;
    }
    let ranged = offset > 0 || length.is_some();
    if ranged {
        let range = match length {
            Some(l) => format!("bytes={offset}-{}", offset + l - 1),
            None => format!("bytes={offset}-"),
        };
        req = req.header(HeaderName::from_static("x-ms-range"), &range)?;
    }
    let resp = expect_success(a.service.send(req).await?, what).await?;
    if offset > 0 && resp.status().as_u16() != 206 {
        return Err(Error::Protocol(format!(
            "{what}: the service ignored the range from byte {offset} (HTTP {})",
            resp.status().as_u16()
        )));
    }
    if let (Some(pinned), Some(answered)) = (etag, header(resp.headers(), ETAG.as_str())) {
        if pinned != answered {
            return Err(Error::Protocol(format!(
                "{what}: the file changed during the download (the data from byte {offset} is of another version); download it again"
            )));
        }
    }
    Ok(resp)
}

impl Backend for Dfs {
    /// A download pins the file's ETag (none when the service gave none).
    type Version = Option<String>;

    fn write_chunk(chunk_size: usize) -> usize {
        chunk_size
    }

    fn single_request(a: &Adls) -> u64 {
        a.single_request
    }

    /// Appends name their position, so they may land in any order before the flush.
    fn parallel_writes(a: &Adls) -> usize {
        a.concurrency
    }

    async fn append_streamed(
        a: &Adls,
        path: &AdlsPath,
        offset: u64,
        body: Arc<Streamed>,
        len: u64,
    ) -> Result<()> {
        let req = append_request(a, path, offset, len)?.replay(body, len);
        let resp = a.service.send(req).await?;
        expect_success(resp, &append_what(a, path)).await.map(drop)
    }

    /// Creates the file, then appends the first chunk (readable after [`Backend::commit`]).
    async fn create(a: &Adls, path: &AdlsPath, overwrite: bool, first: Bytes) -> Result<()> {
        create_file(a, path, overwrite).await?;
        Dfs::append_at(a, path, 0, first).await
    }

    /// Flushes the appended data (an empty file needs none).
    async fn commit(a: &Adls, path: &AdlsPath, total: u64) -> Result<()> {
        if total == 0 {
            return Ok(());
        }
        flush(a, path, total).await
    }

    async fn pin(a: &Adls, path: &AdlsPath) -> Result<(AdlsItem, Option<String>)> {
        properties(a, path).await
    }

    async fn open_at(
        a: &Adls,
        path: &AdlsPath,
        offset: u64,
        etag: &Option<String>,
        what: &str,
    ) -> Result<Response> {
        open(a, path, offset, None, etag.as_deref(), what).await
    }

    async fn list(
        a: &Adls,
        path: &AdlsPath,
        recursive: bool,
        on_item: &mut dyn FnMut(AdlsItem) -> bool,
    ) -> Result<ListOutcome> {
        let what = format!("listing {}", a.account.at(path));
        let mut outcome = ListOutcome {
            items: 0,
            stopped: false,
        };
        let directory = path.relative();
        let size = a.page_size.map(|n| n.to_string());
        let mut continuation: Option<String> = None;
        loop {
            let mut query = vec![
                ("resource", "filesystem"),
                ("recursive", if recursive { "true" } else { "false" }),
            ];
            if !path.is_root() {
                query.push(("directory", directory.as_str()));
            }
            if let Some(s) = &size {
                query.push(("maxResults", s.as_str()));
            }
            if let Some(c) = &continuation {
                query.push(("continuation", c.as_str()));
            }
            let req =
                request(a, Method::GET, &AdlsPath::root(), &query, &what)?.timeout(META_TIMEOUT);
            let resp = expect_success(a.service.send(req).await?, &what).await?;
            let next = header(resp.headers(), X_MS_CONTINUATION)
                .filter(|c| !c.is_empty())
                .map(str::to_owned);
            let body = read_body(resp, MAX_JSON, &what).await?;
            let page: Value = serde_json::from_slice(&body)
                .map_err(|e| Error::Protocol(format!("{what}: the answer is not JSON ({e})")))?;
            drop(body);
            let entries = match get_ci(&page, "paths") {
                Some(Value::Array(p)) => p.as_slice(),
                None | Some(Value::Null) => &[],
                Some(_) => return Err(Error::Protocol(format!("{what}: \"paths\" is not a list"))),
            };
            for entry in entries {
                outcome.items += 1;
                if !on_item(item(entry, &what)?) {
                    outcome.stopped = true;
                    return Ok(outcome);
                }
            }
            match next {
                Some(c) if continuation.as_deref() == Some(c.as_str()) => {
                    return Err(Error::Protocol(format!(
                        "{what}: the service repeated the continuation token"
                    )))
                }
                Some(c) => continuation = Some(c),
                None => return Ok(outcome),
            }
        }
    }

    async fn stat(a: &Adls, path: &AdlsPath) -> Result<AdlsItem> {
        Ok(properties(a, path).await?.0)
    }

    /// Creates a directory without replacing anything: an existing directory is fine, an existing
    /// file is a conflict (a plain create would replace it with a directory).
    async fn mkdir(a: &Adls, path: &AdlsPath) -> Result<()> {
        if path.is_root() {
            Dfs::stat(a, path).await?;
            return Ok(());
        }
        let what = format!("creating the folder {}", a.account.at(path));
        let req = request(a, Method::PUT, path, &[("resource", "directory")], &what)?
            .header(IF_NONE_MATCH, "*")?
            .timeout(META_TIMEOUT);
        match a.service.send(req).await {
            Ok(resp) => expect_success(resp, &what).await.map(drop),
            Err(e) if e.code() == ErrorCode::Conflict => match Dfs::stat(a, path).await {
                Ok(item) if item.is_directory() => Ok(()),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Uploads `data` to be placed at `position` (not readable until flushed).
    async fn append_at(a: &Adls, path: &AdlsPath, position: u64, data: Bytes) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let req = append_request(a, path, position, data.len() as u64)?.body(data);
        let resp = a.service.send(req).await?;
        expect_success(resp, &append_what(a, path)).await.map(drop)
    }

    /// Appends at the file's current end.
    async fn append(a: &Adls, path: &AdlsPath, data: Bytes) -> Result<()> {
        let item = Dfs::stat(a, path).await?;
        if item.is_directory() {
            // The path exists with the wrong type: a conflict with what is there, as creating a
            // file under a file is.
            return Err(Error::Service {
                code: ErrorCode::Conflict,
                context: format!("appending to {} failed", a.account.at(path)),
                failure: ServiceFailure {
                    status: 409,
                    code: Some("ResourceTypeMismatch".into()),
                    description: "the path is a directory, not a file".into(),
                },
            });
        }
        if data.is_empty() {
            return Ok(());
        }
        let start = item.length;
        let total = data.len();
        let mut pos = 0;
        while pos < total {
            let end = (pos + a.chunk_size).min(total);
            Dfs::append_at(a, path, start + pos as u64, data.slice(pos..end)).await?;
            pos = end;
        }
        flush(a, path, start + total as u64).await
    }

    async fn read(a: &Adls, path: &AdlsPath, offset: u64, length: Option<u64>) -> Result<Bytes> {
        let what = format!("reading {}", a.account.at(path));
        match open(a, path, offset, length, None, &what).await {
            Ok(resp) => read_body(resp, MAX_READ, &what).await,
            // A range starting at or past the end: nothing to read.
            Err(e) if e.http_status() == Some(416) => Ok(Bytes::new()),
            Err(e) => Err(e),
        }
    }

    /// Renames without replacing an existing destination.
    async fn rename(a: &Adls, from: &AdlsPath, to: &AdlsPath) -> Result<()> {
        let what = format!("moving '{from}' to '{to}' in {}", a.account.display_name());
        let filesystem = url::Url::parse(a.account.base_url())
            .map_err(|e| Error::Internal(format!("the account URL did not parse: {e}")))?
            .path()
            .trim_end_matches('/')
            .to_owned();
        let source = format!("{filesystem}{}", from.encoded());
        let req = request(a, Method::PUT, to, &[], &what)?
            .header(HeaderName::from_static("x-ms-rename-source"), &source)?
            .header(IF_NONE_MATCH, "*")?
            .timeout(META_TIMEOUT);
        let resp = a.service.send(req).await?;
        expect_success(resp, &what).await.map(drop)
    }

    /// Deletes, following `x-ms-continuation` (large directories are deleted in batches).
    async fn remove(a: &Adls, path: &AdlsPath, recursive: bool) -> Result<()> {
        let what = format!("deleting {}", a.account.at(path));
        let mut continuation: Option<String> = None;
        loop {
            let mut query = vec![("recursive", if recursive { "true" } else { "false" })];
            if let Some(c) = &continuation {
                query.push(("continuation", c.as_str()));
            }
            let req = request(a, Method::DELETE, path, &query, &what)?.timeout(META_TIMEOUT);
            let resp = expect_success(a.service.send(req).await?, &what).await?;
            match header(resp.headers(), X_MS_CONTINUATION).filter(|c| !c.is_empty()) {
                Some(c) if continuation.as_deref() != Some(c) => continuation = Some(c.to_owned()),
                Some(_) => {
                    return Err(Error::Protocol(format!(
                        "{what}: the service repeated the continuation token"
                    )))
                }
                None => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_entries_become_items() {
        let v: Value = serde_json::from_str(
            r#"{"name":"dir/sub/a b.txt","contentLength":"12","lastModified":"Wed, 22 Feb 2023 02:41:28 GMT","etag":"0x1","owner":"o","group":"g","permissions":"rw-r-----"}"#,
        )
        .unwrap();
        let it = item(&v, "w").unwrap();
        assert_eq!(
            it,
            AdlsItem {
                name: "a b.txt".into(),
                path: "/dir/sub/a b.txt".into(),
                item_type: ItemType::File,
                length: 12,
                last_modified_ms: 1_677_033_688_000,
                permission: "rw-r-----".into(),
                owner: "o".into(),
                group: "g".into(),
            }
        );
        let v: Value =
            serde_json::from_str(r#"{"name":"dir","isDirectory":"true","contentLength":0}"#)
                .unwrap();
        let it = item(&v, "w").unwrap();
        assert!(it.is_directory());
        assert_eq!(it.path, "/dir");
        assert_eq!(it.last_modified_ms, 0);
        let v: Value = serde_json::from_str(r#"{"name":"d","isDirectory":true}"#).unwrap();
        assert!(item(&v, "w").unwrap().is_directory());
        let v: Value = serde_json::from_str(r#"{"isDirectory":"true"}"#).unwrap();
        assert_eq!(item(&v, "w").unwrap_err().code(), ErrorCode::ProtocolError);
    }
}
