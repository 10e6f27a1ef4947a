//! Data Lake Storage Gen1 and Hadoop over WebHDFS: `{base}/webhdfs/v1/{path}?op=…`.
//!
//! CREATE, APPEND and OPEN follow the two-step protocol: the first request carries no data and
//! is answered `307` with a `Location`; the data goes there. The token follows the redirect only
//! to the account's own host or a host under its DNS suffix, over HTTPS (plain HTTP only back to
//! the same loopback host); anything else fails with `InsecureRequest` before a byte is sent.
//! A server that answers the first request itself (`200`/`201`) gets the data on a direct
//! request (`write=true`, `append=true`).

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::LOCATION;
use reqwest::{Method, Response};
use serde_json::Value;
use url::Url;

use super::backend::Backend;
use super::{
    data_timeout, expect_success, json_number, json_text, read_body, refused, Adls, AdlsItem,
    AdlsPath, ItemType, ListOutcome, GEN1_MAX_REQUEST, MAX_READ, META_TIMEOUT,
};
use crate::error::{Error, ErrorCode, Result};
use crate::service::{display_url, get_ci, is_loopback, Request};
use crate::transfer::Streamed;

const API_VERSION: &str = "2016-11-01";
/// The largest JSON answer read (a listing page of 4000 entries is about 1 MB).
const MAX_JSON: usize = 64 * 1024 * 1024;

/// Data Lake Storage Gen1 and Hadoop: WebHDFS.
pub(super) struct WebHdfs;

fn url(a: &Adls, path: &AdlsPath, op: &str, params: &[(&str, &str)]) -> Result<Url> {
    let mut query = vec![("op", op), ("api-version", API_VERSION)];
    query.extend_from_slice(params);
    a.account.url(path, &query)
}

async fn json(a: &Adls, req: Request) -> Result<Value> {
    let what = req.what().to_owned();
    let resp = a.service.send(req).await?;
    if resp.status().as_u16() != 200 {
        return Err(Error::Protocol(format!(
            "{what}: the service answered HTTP {} where 200 with JSON was expected",
            resp.status().as_u16()
        )));
    }
    let body = read_body(resp, MAX_JSON, &what).await?;
    serde_json::from_slice(&body)
        .map_err(|e| Error::Protocol(format!("{what}: the answer is not JSON ({e})")))
}

/// `{"boolean": true|false}`.
async fn boolean(a: &Adls, req: Request) -> Result<bool> {
    let what = req.what().to_owned();
    let v = json(a, req).await?;
    get_ci(&v, "boolean")
        .and_then(Value::as_bool)
        .ok_or_else(|| Error::Protocol(format!("{what}: the answer has no \"boolean\"")))
}

/// An item from a `FileStatus` object listed in `dir` (an empty `pathSuffix` is `dir` itself).
fn item(dir: &AdlsPath, v: &Value, what: &str) -> Result<(AdlsPath, AdlsItem)> {
    let text = |k: &str| json_text(get_ci(v, k));
    let suffix = text("pathSuffix").unwrap_or_default();
    let path = if suffix.is_empty() {
        dir.clone()
    } else {
        dir.child(&suffix)
    };
    let item_type = match text("type").map(|t| t.to_ascii_uppercase()).as_deref() {
        Some("DIRECTORY") => ItemType::Directory,
        Some("FILE") => ItemType::File,
        other => {
            return Err(Error::Protocol(format!(
                "{what}: an entry has type {other:?}, neither FILE nor DIRECTORY"
            )))
        }
    };
    let item = AdlsItem {
        name: path.name().to_owned(),
        path: path.to_string(),
        item_type,
        length: json_number(get_ci(v, "length")).unwrap_or(0).max(0) as u64,
        last_modified_ms: json_number(get_ci(v, "modificationTime")).unwrap_or(0),
        permission: text("permission").unwrap_or_default(),
        owner: text("owner").unwrap_or_default(),
        group: text("group").unwrap_or_default(),
    };
    Ok((path, item))
}

/// Why WebHDFS answered `{"boolean":false}`: the source is missing (NotFound), the destination
/// exists (Conflict), or the service would not say.
async fn explain_false(a: &Adls, path: &AdlsPath, what: &str, dest: Option<&AdlsPath>) -> Error {
    if let Err(Error::Service {
        code: ErrorCode::NotFound,
        failure,
        ..
    }) = WebHdfs::stat(a, path).await
    {
        return Error::Service {
            code: ErrorCode::NotFound,
            context: format!("{what} failed"),
            failure,
        };
    }
    if let Some(dest) = dest {
        if WebHdfs::stat(a, dest).await.is_ok() {
            return refused(
                what,
                ErrorCode::Conflict,
                format!("'{dest}' exists already (the service answered {{\"boolean\":false}})"),
            );
        }
    }
    refused(
        what,
        ErrorCode::ServiceError,
        "the service answered {\"boolean\":false}".into(),
    )
}

/// Whether the token may follow a redirect from `from` to `to`: HTTPS (or plain HTTP back to
/// the same loopback host), and the same host or a host under the account's DNS suffix.
pub(super) fn check_redirect(from: &Url, to: &Url, what: &str) -> Result<()> {
    let host = from.host_str().unwrap_or_default().to_ascii_lowercase();
    let target = to.host_str().unwrap_or_default().to_ascii_lowercase();
    let same_host = !host.is_empty() && host == target;
    let suffix = dns_suffix(from);
    let trusted = same_host
        || matches!((&suffix, to.host()), (Some(s), Some(url::Host::Domain(_))) if target.ends_with(&format!(".{s}")));
    let secure = to.scheme() == "https" || (to.scheme() == "http" && same_host && is_loopback(to));
    let clean = to.username().is_empty() && to.password().is_none();
    if trusted && secure && clean {
        return Ok(());
    }
    let why = if !trusted {
        match &suffix {
            Some(s) => format!("which is neither the account's host {host} nor a host under {s}"),
            None => format!("which is not the account's host {host}"),
        }
    } else if !clean {
        "which carries credentials".to_owned()
    } else {
        "which is not HTTPS".to_owned()
    };
    Err(Error::Insecure(format!(
        "{what}: the service redirected to {}, {why}; azmi did not send the token there",
        display_url(to)
    )))
}

/// The account's DNS suffix: its host without the first label, when that leaves a domain of at
/// least two labels (`contoso.azuredatalakestore.net` → `azuredatalakestore.net`). IP addresses
/// and single-label hosts have none.
fn dns_suffix(url: &Url) -> Option<String> {
    let Some(url::Host::Domain(host)) = url.host() else {
        return None;
    };
    let (_, rest) = host.split_once('.')?;
    rest.contains('.').then(|| rest.to_ascii_lowercase())
}

/// The two-step WebHDFS exchange (see the module docs). `direct` is the URL for sending the
/// data when the server answered the first request itself.
#[allow(clippy::too_many_arguments)]
async fn two_step(
    a: &Adls,
    method: Method,
    url: Url,
    direct: Option<Url>,
    data: Option<Bytes>,
    what: &str,
    idempotent: bool,
) -> Result<Response> {
    let first = a
        .service
        .send(
            Request::new(method.clone(), url.clone(), what)
                .timeout(META_TIMEOUT)
                .redirect_expected(),
        )
        .await?;
    let len = data.as_ref().map_or(0, Bytes::len);
    let with_data = |req: Request| {
        let req = req.timeout(data_timeout(len));
        let req = match &data {
            Some(d) => req.body(d.clone()),
            None => req,
        };
        if idempotent {
            req
        } else {
            req.not_idempotent()
        }
    };
    let status = first.status().as_u16();
    if matches!(status, 301 | 302 | 303 | 307 | 308) {
        let location = first
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Error::Protocol(format!(
                    "{what}: a redirect (HTTP {status}) without a Location"
                ))
            })?
            .to_owned();
        drop(first);
        let target = url.join(&location).map_err(|e| {
            Error::Protocol(format!(
                "{what}: the redirect's Location is not a URL ({e})"
            ))
        })?;
        check_redirect(&url, &target, what)?;
        // A second redirect is an error of the service layer: it is never followed.
        let resp = a
            .service
            .send(with_data(Request::new(method, target, what)))
            .await?;
        return expect_success(resp, what).await;
    }
    let first = expect_success(first, what).await?;
    match (direct, &data) {
        (Some(direct), Some(d)) if !d.is_empty() => {
            drop(first);
            let resp = a
                .service
                .send(with_data(Request::new(method, direct, what)))
                .await?;
            expect_success(resp, what).await
        }
        _ => Ok(first),
    }
}

/// WebHDFS answers 400 to an append to a directory; Gen2 answers a conflict. Make it the
/// same: a path of the wrong type conflicts with what is there.
async fn wrong_type_as_conflict(a: &Adls, path: &AdlsPath, e: Error) -> Error {
    if e.http_status() != Some(400) {
        return e;
    }
    match WebHdfs::stat(a, path).await {
        Ok(item) if item.is_directory() => match e {
            Error::Service {
                context, failure, ..
            } => Error::Service {
                code: ErrorCode::Conflict,
                context,
                failure,
            },
            other => other,
        },
        _ => e,
    }
}

/// OPEN from `offset` (`length` bytes, or to the end); the response streams the data.
async fn open(
    a: &Adls,
    path: &AdlsPath,
    offset: u64,
    length: Option<u64>,
    what: &str,
) -> Result<Response> {
    let off = offset.to_string();
    let len = length.map(|l| l.to_string());
    let mut params = Vec::new();
    if offset > 0 {
        params.push(("offset", off.as_str()));
    }
    if let Some(l) = &len {
        params.push(("length", l.as_str()));
    }
    let first = url(a, path, "OPEN", &params)?;
    two_step(a, Method::GET, first, None, None, what, true).await
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
    let now = WebHdfs::stat(a, remote).await?;
    if now.length == started.length && now.last_modified_ms == started.last_modified_ms {
        return Ok(());
    }
    Err(Error::Protocol(format!(
        "{what}: the file changed during the download (its length or modification time differs from when the download started), so the data from byte {offset} cannot be resumed; download it again"
    )))
}

impl Backend for WebHdfs {
    /// WebHDFS has no ETag: a download pins the length and modification time it started with.
    type Version = AdlsItem;

    fn write_chunk(chunk_size: usize) -> usize {
        chunk_size.min(GEN1_MAX_REQUEST)
    }

    /// None: at most 4 MiB per request.
    fn single_request(_: &Adls) -> u64 {
        0
    }

    /// One: an APPEND lands at the end of the file only.
    fn parallel_writes(_: &Adls) -> usize {
        1
    }

    async fn append_streamed(
        a: &Adls,
        path: &AdlsPath,
        _: u64,
        _: Arc<Streamed>,
        _: u64,
    ) -> Result<()> {
        Err(Error::Internal(format!(
            "writing {}: WebHDFS takes at most {GEN1_MAX_REQUEST} bytes per request",
            a.account.at(path)
        )))
    }

    /// Nothing to do: each request's data is readable once answered.
    async fn commit(_: &Adls, _: &AdlsPath, _: u64) -> Result<()> {
        Ok(())
    }

    async fn pin(a: &Adls, path: &AdlsPath) -> Result<(AdlsItem, AdlsItem)> {
        let item = WebHdfs::stat(a, path).await?;
        Ok((item.clone(), item))
    }

    async fn open_at(
        a: &Adls,
        path: &AdlsPath,
        offset: u64,
        started: &AdlsItem,
        what: &str,
    ) -> Result<Response> {
        if offset > 0 {
            check_unchanged(a, path, started, offset, what).await?;
        }
        open(a, path, offset, None, what).await
    }

    async fn list(
        a: &Adls,
        path: &AdlsPath,
        recursive: bool,
        on_item: &mut dyn FnMut(AdlsItem) -> bool,
    ) -> Result<ListOutcome> {
        let mut outcome = ListOutcome {
            items: 0,
            stopped: false,
        };
        let size = a.page_size.map(|n| n.to_string());
        let mut folders = VecDeque::from([path.clone()]);
        while let Some(dir) = folders.pop_front() {
            let what = format!("listing {}", a.account.at(&dir));
            let mut after: Option<String> = None;
            loop {
                let mut params = Vec::new();
                if let Some(s) = &size {
                    params.push(("listSize", s.as_str()));
                }
                if let Some(t) = &after {
                    params.push(("listAfter", t.as_str()));
                }
                let req = Request::new(Method::GET, url(a, &dir, "LISTSTATUS", &params)?, &what)
                    .timeout(META_TIMEOUT);
                let page = json(a, req).await?;
                let statuses = get_ci(&page, "FileStatuses").ok_or_else(|| {
                    Error::Protocol(format!("{what}: the answer has no \"FileStatuses\""))
                })?;
                let entries = match get_ci(statuses, "FileStatus") {
                    Some(Value::Array(entries)) => entries.as_slice(),
                    None | Some(Value::Null) => &[],
                    Some(_) => {
                        return Err(Error::Protocol(format!(
                            "{what}: \"FileStatus\" is not a list"
                        )))
                    }
                };
                for entry in entries {
                    let (child, item) = item(&dir, entry, &what)?;
                    if recursive && item.is_directory() && child != dir {
                        folders.push_back(child);
                    }
                    outcome.items += 1;
                    if !on_item(item) {
                        outcome.stopped = true;
                        return Ok(outcome);
                    }
                }
                let token =
                    json_text(get_ci(statuses, "continuationToken")).filter(|t| !t.is_empty());
                match token {
                    Some(t) if !entries.is_empty() => {
                        if after.as_deref() == Some(t.as_str()) {
                            return Err(Error::Protocol(format!(
                                "{what}: the service repeated the continuation token '{t}'"
                            )));
                        }
                        after = Some(t);
                    }
                    _ => break,
                }
            }
        }
        Ok(outcome)
    }

    async fn stat(a: &Adls, path: &AdlsPath) -> Result<AdlsItem> {
        let what = format!("reading the properties of {}", a.account.at(path));
        let req = Request::new(Method::GET, url(a, path, "GETFILESTATUS", &[])?, &what)
            .timeout(META_TIMEOUT);
        let v = json(a, req).await?;
        let status = get_ci(&v, "FileStatus")
            .ok_or_else(|| Error::Protocol(format!("{what}: the answer has no \"FileStatus\"")))?;
        let (_, mut item) = item(path, status, &what)?;
        // GETFILESTATUS names no child: the item is the path itself.
        item.name = path.name().to_owned();
        item.path = path.to_string();
        Ok(item)
    }

    async fn mkdir(a: &Adls, path: &AdlsPath) -> Result<()> {
        let what = format!("creating the folder {}", a.account.at(path));
        let req =
            Request::new(Method::PUT, url(a, path, "MKDIRS", &[])?, &what).timeout(META_TIMEOUT);
        if boolean(a, req).await? {
            Ok(())
        } else {
            Err(refused(
                &what,
                ErrorCode::ServiceError,
                "the service answered {\"boolean\":false}".into(),
            ))
        }
    }

    async fn remove(a: &Adls, path: &AdlsPath, recursive: bool) -> Result<()> {
        let what = format!("deleting {}", a.account.at(path));
        let r = if recursive { "true" } else { "false" };
        let req = Request::new(
            Method::DELETE,
            url(a, path, "DELETE", &[("recursive", r)])?,
            &what,
        )
        .timeout(META_TIMEOUT);
        if boolean(a, req).await? {
            return Ok(());
        }
        // WebHDFS answers false for a missing path: say so with the same code as Gen2.
        Err(explain_false(a, path, &what, None).await)
    }

    async fn rename(a: &Adls, from: &AdlsPath, to: &AdlsPath) -> Result<()> {
        let what = format!("moving '{from}' to '{to}' in {}", a.account.display_name());
        let destination = to.to_string();
        let req = Request::new(
            Method::PUT,
            url(a, from, "RENAME", &[("destination", &destination)])?,
            &what,
        )
        .timeout(META_TIMEOUT);
        if boolean(a, req).await? {
            return Ok(());
        }
        Err(explain_false(a, from, &what, Some(to)).await)
    }

    /// CREATE with the first chunk of data (at most 4 MiB).
    async fn create(a: &Adls, path: &AdlsPath, overwrite: bool, data: Bytes) -> Result<()> {
        debug_assert!(data.len() <= GEN1_MAX_REQUEST);
        let what = format!("creating {}", a.account.at(path));
        let ow = if overwrite { "true" } else { "false" };
        let first = url(a, path, "CREATE", &[("overwrite", ow)])?;
        let direct = url(
            a,
            path,
            "CREATE",
            &[("overwrite", "true"), ("write", "true")],
        )?;
        two_step(a, Method::PUT, first, Some(direct), Some(data), &what, true).await?;
        Ok(())
    }

    /// APPEND of one chunk at `offset` (the file's current length). An append retried after its
    /// first attempt landed gets `BadOffsetException`: then the file's length tells.
    async fn append_at(a: &Adls, path: &AdlsPath, offset: u64, data: Bytes) -> Result<()> {
        let what = format!("appending to {}", a.account.at(path));
        let off = offset.to_string();
        let end = offset + data.len() as u64;
        let first = url(a, path, "APPEND", &[("offset", &off)])?;
        let direct = url(a, path, "APPEND", &[("append", "true"), ("offset", &off)])?;
        match two_step(
            a,
            Method::POST,
            first,
            Some(direct),
            Some(data),
            &what,
            true,
        )
        .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.service_code().is_some_and(|c| c.contains("BadOffset")) => {
                match WebHdfs::stat(a, path).await {
                    Ok(item) if item.length == end => Ok(()),
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// APPEND of `data` at the end, whatever the length (as `Add-Content` does), in requests of at
    /// most 4 MiB. Not retried once the service may have acted on it.
    async fn append(a: &Adls, path: &AdlsPath, data: Bytes) -> Result<()> {
        if data.is_empty() {
            WebHdfs::stat(a, path).await?;
            return Ok(());
        }
        let what = format!("appending to {}", a.account.at(path));
        let mut pos = 0;
        while pos < data.len() {
            let end = (pos + GEN1_MAX_REQUEST).min(data.len());
            let first = url(a, path, "APPEND", &[])?;
            let direct = url(a, path, "APPEND", &[("append", "true")])?;
            let chunk = data.slice(pos..end);
            let sent = two_step(
                a,
                Method::POST,
                first,
                Some(direct),
                Some(chunk),
                &what,
                false,
            )
            .await;
            if let Err(e) = sent {
                return Err(wrong_type_as_conflict(a, path, e).await);
            }
            pos = end;
        }
        Ok(())
    }

    async fn read(a: &Adls, path: &AdlsPath, offset: u64, length: Option<u64>) -> Result<Bytes> {
        let what = format!("reading {}", a.account.at(path));
        let resp = match open(a, path, offset, length, &what).await {
            Ok(resp) => resp,
            // WebHDFS refuses an offset past the end (400); Gen2 and POSIX read give nothing
            // there, and so does azmi, the same on both protocols.
            Err(e) if offset > 0 && e.http_status() == Some(400) => {
                return match WebHdfs::stat(a, path).await {
                    Ok(item) if offset >= item.length => Ok(Bytes::new()),
                    _ => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        let limit = length.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        // The server may ignore `length` and send the rest of the file: read at most what may
        // be held in memory, then keep what was asked for.
        let body = read_body(resp, MAX_READ, &what).await?;
        // A server that ignores `length` sends more: keep what was asked for.
        Ok(if body.len() > limit {
            body.slice(..limit)
        } else {
            body
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn allowed(from: &str, to: &str) -> bool {
        check_redirect(&u(from), &u(to), "creating '/a' in x").is_ok()
    }

    #[test]
    fn the_token_follows_redirects_only_within_the_account() {
        let acct = "https://contoso.azuredatalakestore.net/webhdfs/v1/a?op=CREATE";
        assert!(allowed(
            acct,
            "https://contoso.azuredatalakestore.net/webhdfs/v1/a?op=CREATE&write=true"
        ));
        assert!(allowed(
            acct,
            "https://contoso.azuredatalakestore.net:8443/x"
        ));
        assert!(allowed(
            acct,
            "https://be-1.azuredatalakestore.net/webhdfs/v1/a"
        ));
        assert!(allowed(acct, "https://CONTOSO.AzureDataLakeStore.net/x"));
        assert!(
            !allowed(acct, "http://contoso.azuredatalakestore.net/x"),
            "not https"
        );
        assert!(!allowed(acct, "https://evil.example/x"));
        assert!(!allowed(
            acct,
            "https://azuredatalakestore.net.evil.example/x"
        ));
        assert!(!allowed(acct, "https://evilazuredatalakestore.net/x"));
        assert!(!allowed(
            acct,
            "https://u:p@contoso.azuredatalakestore.net/x"
        ));

        let local = "https://127.0.0.1:8443/webhdfs/v1/a?op=CREATE";
        assert!(allowed(
            local,
            "https://127.0.0.1:8443/webhdfs/v1/a?write=true"
        ));
        assert!(allowed(local, "http://127.0.0.1:9/x"), "same loopback host");
        assert!(!allowed(local, "https://localhost:8443/x"), "another host");
        assert!(!allowed(local, "https://127.0.0.2:8443/x"));
        assert!(!allowed("http://localhost:1/a", "http://127.0.0.1:1/a"));

        let hadoop = "https://namenode.corp.example.com:9871/webhdfs/v1/a";
        assert!(allowed(
            hadoop,
            "https://datanode7.corp.example.com:9865/webhdfs/v1/a"
        ));
        assert!(!allowed(
            hadoop,
            "http://datanode7.corp.example.com:9864/webhdfs/v1/a"
        ));
        // A two-label host has no suffix to share.
        assert!(!allowed("https://corp.example/a", "https://x.example/a"));
    }

    #[test]
    fn refusals_name_the_target_without_its_query_and_the_reason() {
        let e = check_redirect(
            &u("https://127.0.0.1:1/webhdfs/v1/a?op=CREATE"),
            &u("https://localhost:1/webhdfs/v1/a?op=CREATE&write=true&sig=x"),
            "creating '/a' in 127.0.0.1:1",
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InsecureRequest);
        let m = e.to_string();
        assert!(m.starts_with("creating '/a' in 127.0.0.1:1: the service redirected to https://localhost:1/webhdfs/v1/a,"), "{m}");
        assert!(m.contains("not the account's host 127.0.0.1"), "{m}");
        assert!(m.contains("did not send the token"), "{m}");
        assert!(!m.contains("sig="), "{m}");
    }

    #[test]
    fn file_status_entries_become_items() {
        let dir = AdlsPath::parse("/Test Folder").unwrap();
        let v: Value = serde_json::from_str(
            r#"{"length":10,"pathSuffix":"Test1.txt","type":"FILE","blockSize":268435456,"accessTime":1,"modificationTime":1700000000123,"replication":1,"permission":"770","owner":"o","group":"g","aclBit":false}"#,
        )
        .unwrap();
        let (p, it) = item(&dir, &v, "w").unwrap();
        assert_eq!(p.to_string(), "/Test Folder/Test1.txt");
        assert_eq!(
            it,
            AdlsItem {
                name: "Test1.txt".into(),
                path: "/Test Folder/Test1.txt".into(),
                item_type: ItemType::File,
                length: 10,
                last_modified_ms: 1_700_000_000_123,
                permission: "770".into(),
                owner: "o".into(),
                group: "g".into(),
            }
        );
        // Microsoft's spec spells keys differently and sends strings.
        let v: Value =
            serde_json::from_str(r#"{"PathSuffix":"","Type":"directory","Length":"0"}"#).unwrap();
        let (p, it) = item(&dir, &v, "w").unwrap();
        assert_eq!(p, dir);
        assert!(it.is_directory());
        assert_eq!(it.name, "Test Folder");
        let v: Value = serde_json::from_str(r#"{"pathSuffix":"x","type":"LINK"}"#).unwrap();
        assert_eq!(
            item(&dir, &v, "w").unwrap_err().code(),
            ErrorCode::ProtocolError
        );
    }
}
