//! Data Lake Storage Gen1: WebHDFS at `/webhdfs/v1/<path>?op=…`.
//!
//! Modelled on recorded traffic of the real service (the azure-datalake-store SDK's test
//! recordings): parameter names in any case (`OP=`), redirects that append `&write=true` (or
//! `append`/`read`) to the query as sent, `{"boolean":false}` for a rename or delete of nothing,
//! chunked OPEN responses, and `RemoteException` bodies whose message ends in
//! `[<request id>][<timestamp>]`.

use std::sync::Arc;
use std::time::SystemTime;

use hyper::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, EXPIRES, HOST, LOCATION, PRAGMA,
    WWW_AUTHENTICATE,
};
use hyper::http::request::Parts;
use hyper::{HeaderMap, Method, Response, StatusCode};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::json;

use crate::common::auth::{self, Access, AuthFailure, Caller};
use crate::common::body::{self, RequestBody, SvcBody};
use crate::common::cae;
use crate::common::response::DropConnection;
use crate::common::util::{epoch_millis, gen1_timestamp, ordered_object, parse_bool};
use crate::storage::context::Ctx;
use crate::storage::exchange::Exchange;
use crate::storage::file_body;
use crate::storage::store::{
    self, display_path, FileData, Key, Node, ReadSource, ReceiveError, Sink, GEN1_PERMISSION,
};

pub(crate) const PREFIX: &str = "/webhdfs/v1";
/// Gen1's token audience, trailing slash included.
const AUDIENCES: &[&str] = &["https://datalake.azure.net/"];
/// Largest CREATE or APPEND body Gen1 accepts.
const MAX_BODY: u64 = 4 * 1024 * 1024;
/// How much of an unused request body is read so the connection can be kept alive.
const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;
const BLOCK_SIZE: u64 = 268_435_456;
const JSON: &str = "application/json; charset=utf-8";

/// Characters escaped in a path written into `Location`: what a path segment cannot hold
/// literally. `+` and `,` stay, as the service writes them.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');

pub(crate) fn is_gen1(path: &str) -> bool {
    path == PREFIX || path.starts_with("/webhdfs/v1/")
}

/// A `RemoteException` about to be sent.
struct Remote {
    status: StatusCode,
    exception: &'static str,
    message: String,
    /// The `WWW-Authenticate` of a 401 (plain `Bearer` unless a claims challenge).
    challenge: Option<String>,
}

impl Remote {
    fn new(status: StatusCode, exception: &'static str, message: impl Into<String>) -> Self {
        Remote {
            status,
            exception,
            message: message.into(),
            challenge: None,
        }
    }

    /// A claims challenge: 401 `SecurityException` with the revocation's claims.
    fn revoked(at: u64) -> Self {
        Remote {
            challenge: Some(cae::insufficient_claims(at)),
            ..Remote::new(
                StatusCode::UNAUTHORIZED,
                "SecurityException",
                cae::revoked_message(at),
            )
        }
    }

    fn illegal(message: impl Into<String>) -> Self {
        Remote::new(StatusCode::BAD_REQUEST, "IllegalArgumentException", message)
    }

    fn not_found(key: &[String]) -> Self {
        Remote::new(
            StatusCode::NOT_FOUND,
            "FileNotFoundException",
            format!("File/Folder does not exist: {}", display_path(key)),
        )
    }

    fn exists(message: impl Into<String>) -> Self {
        Remote::new(StatusCode::FORBIDDEN, "FileAlreadyExistsException", message)
    }

    fn runtime(e: impl std::fmt::Display) -> Self {
        Remote::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "RuntimeException",
            format!("Internal server error: {e}"),
        )
    }
}

/// The Java class the service names for each exception. Where the real class of an
/// ADLS-specific exception is not documented, the generic `java.io.IOException` is given.
fn java_class(exception: &str) -> &'static str {
    match exception {
        "IllegalArgumentException" => "java.lang.IllegalArgumentException",
        "UnsupportedOperationException" => "java.lang.UnsupportedOperationException",
        "SecurityException" => "java.lang.SecurityException",
        "AccessControlException" => "org.apache.hadoop.security.AccessControlException",
        "FileAlreadyExistsException" => "org.apache.hadoop.fs.FileAlreadyExistsException",
        "ParentNotDirectoryException" => "org.apache.hadoop.fs.ParentNotDirectoryException",
        "FileNotFoundException" => "java.io.FileNotFoundException",
        "RuntimeException" => "java.lang.RuntimeException",
        _ => "java.io.IOException",
    }
}

/// How Gen1 answers: its headers, JSON bodies and `RemoteException` errors.
trait Gen1Response {
    fn response(&self, status: StatusCode, body: SvcBody) -> Response<SvcBody>;
    fn json(&self, status: StatusCode, text: String) -> Response<SvcBody>;
    fn boolean(&self, value: bool) -> Response<SvcBody>;
    fn error(&self, e: Remote) -> Response<SvcBody>;
}

impl Gen1Response for Exchange {
    fn response(&self, status: StatusCode, body: SvcBody) -> Response<SvcBody> {
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let h = response.headers_mut();
        h.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-cache, no-store, max-age=0"),
        );
        h.insert(EXPIRES, HeaderValue::from_static("-1"));
        h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        if let Ok(id) = HeaderValue::from_str(&self.request_id) {
            h.insert("x-ms-request-id", id);
        }
        h.insert(
            "x-ms-webhdfs-version",
            HeaderValue::from_static("17.04.24.00"),
        );
        response
    }

    fn json(&self, status: StatusCode, text: String) -> Response<SvcBody> {
        let mut response = self.response(status, body::full(text));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
        response
    }

    fn boolean(&self, value: bool) -> Response<SvcBody> {
        self.json(StatusCode::OK, json!({ "boolean": value }).to_string())
    }

    fn error(&self, e: Remote) -> Response<SvcBody> {
        let message = format!(
            "{} [{}][{}]",
            e.message,
            self.request_id,
            gen1_timestamp(SystemTime::now())
        );
        let text = format!(
            "{{\"RemoteException\":{}}}",
            ordered_object(&[
                ("exception", json!(e.exception)),
                ("message", json!(message)),
                ("javaClassName", json!(java_class(e.exception))),
            ])
        );
        let mut response = self.json(e.status, text);
        if e.status == StatusCode::UNAUTHORIZED {
            let challenge = e
                .challenge
                .as_deref()
                .and_then(|c| HeaderValue::from_str(c).ok())
                .unwrap_or(HeaderValue::from_static("Bearer"));
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// A claims challenge (the scripted fault), as Gen1 answers a revoked token.
pub(crate) fn claims_challenge(at: u64, exchange: &Exchange) -> Response<SvcBody> {
    exchange.error(Remote::revoked(at))
}

/// A status fault: that status with the `RemoteException` Gen1 sends for it.
pub(crate) fn fault_response(status: u16, exchange: &Exchange) -> Response<SvcBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (exception, message) = match status.as_u16() {
        400 => ("IllegalArgumentException", "Invalid request"),
        401 => ("SecurityException", "Failed to validate the access token"),
        403 => (
            "AccessControlException",
            "Forbidden. ACL verification failed.",
        ),
        404 => ("FileNotFoundException", "File/Folder does not exist"),
        429 => (
            "ThrottledException",
            "The rate of operations is too high. Retry the operation after some time.",
        ),
        503 => (
            "ThrottledException",
            "The service is busy. Retry the operation after some time.",
        ),
        500..=599 => ("RuntimeException", "Internal server error"),
        _ => ("IOException", status.canonical_reason().unwrap_or("Error")),
    };
    exchange.error(Remote::new(status, exception, message))
}

/// The `malformed` fault: a 200 whose JSON is cut off.
pub(crate) fn malformed(exchange: &Exchange) -> Response<SvcBody> {
    exchange.json(
        StatusCode::OK,
        r#"{"FileStatuses":{"FileStatus":[{"length":"#.to_string(),
    )
}

/// Query parameters with lower-cased names: WebHDFS parameter names are case-insensitive
/// (the .NET and Python SDKs send `OP=`).
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: &str) -> Params {
        Params(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, name: &str) -> Result<Option<bool>, Remote> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => parse_bool(v).map(Some).ok_or_else(|| {
                Remote::illegal(format!(
                    "Invalid value for webhdfs parameter \"{name}\": Failed to parse \"{v}\" to Boolean."
                ))
            }),
        }
    }

    fn number(&self, name: &str) -> Result<Option<u64>, Remote> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                Remote::illegal(format!(
                    "Invalid value for webhdfs parameter \"{name}\": Failed to parse \"{v}\" as a number."
                ))
            }),
        }
    }
}

pub(crate) async fn handle(
    ctx: &Ctx,
    exchange: &Exchange,
    parts: &Parts,
    mut body: RequestBody,
) -> Result<Response<SvcBody>, DropConnection> {
    let outcome = dispatch(ctx, exchange, parts, &mut body).await;
    let headers = &parts.headers;
    match outcome {
        Ok(response) => Ok(response),
        Err(Failure::Drop) => Err(DropConnection),
        Err(Failure::Remote(e)) => {
            // Read what the client sent so the connection stays usable for its next request
            // (unless it announced more than is worth reading).
            let announced = parts_content_length(headers).unwrap_or(0);
            if announced <= DRAIN_LIMIT {
                let _ = body.drain(DRAIN_LIMIT).await;
            }
            Ok(exchange.error(e))
        }
    }
}

enum Failure {
    Remote(Remote),
    /// The client went away mid-body: close the connection.
    Drop,
}

impl From<Remote> for Failure {
    fn from(e: Remote) -> Self {
        Failure::Remote(e)
    }
}

type Outcome = Result<Response<SvcBody>, Failure>;

/// What every handler of one Gen1 path gets: the request's context and exchange, and the path.
#[derive(Clone, Copy)]
struct Gen1Path<'a> {
    ctx: &'a Ctx,
    exchange: &'a Exchange,
    key: &'a Key,
}

async fn dispatch(
    ctx: &Ctx,
    exchange: &Exchange,
    parts: &hyper::http::request::Parts,
    body: &mut RequestBody,
) -> Outcome {
    let raw_path = &parts.uri.path()[PREFIX.len()..];
    let key = percent_decode_str(raw_path)
        .decode_utf8()
        .ok()
        .and_then(|p| store::parse_path(&p))
        .ok_or_else(|| Remote::illegal(format!("Invalid path: {raw_path}")))?;
    let raw_query = parts.uri.query().unwrap_or("");
    let params = Params::parse(raw_query);
    let op = params.get("op").unwrap_or("").to_ascii_uppercase();

    let caller = authenticate(ctx, &parts.headers, &op, &params)?;

    let acl_path = |key: &[String]| format!("{PREFIX}{}", display_path(key));
    let check = |key: &[String], access: Access| -> Result<(), Remote> {
        match &caller {
            Some(c) if !auth::permits(&ctx.svc.acl, &c.object_id, &acl_path(key), access) => {
                Err(Remote::new(
                    StatusCode::FORBIDDEN,
                    "AccessControlException",
                    format!(
                        "{op} failed with error 0x83090aa2 (Forbidden. ACL verification failed. Either the resource does not exist or the user is not authorized to perform the requested operation.)."
                    ),
                ))
            }
            _ => Ok(()),
        }
    };
    let owner = caller
        .as_ref()
        .map(|c| c.object_id.clone())
        .unwrap_or_else(|| "anonymous".to_string());

    let at = Gen1Path {
        ctx,
        exchange,
        key: &key,
    };
    match (&parts.method, op.as_str()) {
        (&Method::GET, "LISTSTATUS") => {
            check(&key, Access::Read)?;
            list_status(at, &params)
        }
        (&Method::GET, "GETFILESTATUS") => {
            check(&key, Access::Read)?;
            get_file_status(at)
        }
        (&Method::GET, "OPEN") => {
            check(&key, Access::Read)?;
            if params.flag("read")? != Some(true) {
                return Ok(redirect(ctx, exchange, parts, &key, raw_query, "read"));
            }
            open(at, &params)
        }
        (&Method::PUT, "CREATE") => {
            check(&key, Access::Write)?;
            if params.flag("write")? != Some(true) {
                let _ = body.drain(DRAIN_LIMIT).await;
                return Ok(redirect(ctx, exchange, parts, &key, raw_query, "write"));
            }
            create(at, &parts.headers, body, &params, &owner).await
        }
        (&Method::POST, "APPEND") => {
            check(&key, Access::Write)?;
            if params.flag("append")? != Some(true) {
                let _ = body.drain(DRAIN_LIMIT).await;
                return Ok(redirect(ctx, exchange, parts, &key, raw_query, "append"));
            }
            append(at, &parts.headers, body, &params).await
        }
        (&Method::PUT, "MKDIRS") => {
            check(&key, Access::Write)?;
            mkdirs(at, &owner)
        }
        (&Method::DELETE, "DELETE") => {
            check(&key, Access::Write)?;
            delete(at, &params)
        }
        (&Method::PUT, "RENAME") => {
            let destination = params
                .get("destination")
                .ok_or_else(|| Remote::illegal("Required parameter \"destination\" is missing"))?;
            // Clients send the destination with or without a leading slash; both are absolute.
            let to = store::parse_path(destination)
                .ok_or_else(|| Remote::illegal(format!("Invalid destination: {destination}")))?;
            check(&key, Access::Write)?;
            check(&to, Access::Write)?;
            rename(ctx, exchange, &key, to, &params)
        }
        (method, op) => Err(unknown_op(method, op).into()),
    }
}

fn unknown_op(method: &Method, op: &str) -> Remote {
    const NOT_EMULATED: &[&str] = &[
        "GETCONTENTSUMMARY",
        "GETFILECHECKSUM",
        "GETHOMEDIRECTORY",
        "GETACLSTATUS",
        "CHECKACCESS",
        "MSGETFILESTATUS",
        "MSLISTSTATUS",
        "SETPERMISSION",
        "SETOWNER",
        "SETTIMES",
        "SETACL",
        "MODIFYACLENTRIES",
        "REMOVEACLENTRIES",
        "REMOVEDEFAULTACL",
        "REMOVEACL",
        "SETEXPIRY",
        "CONCAT",
        "MSCONCAT",
        "CONCURRENTAPPEND",
    ];
    if NOT_EMULATED.contains(&op) {
        return Remote::new(
            StatusCode::BAD_REQUEST,
            "UnsupportedOperationException",
            format!("{op} is not supported by azmi-emulator"),
        );
    }
    let shown = if op.is_empty() { "null" } else { op };
    Remote::illegal(format!(
        "Invalid value for webhdfs parameter \"op\": {shown} is not a valid {method} operation"
    ))
}

/// Checks the bearer token. A data request (the second step of CREATE, APPEND or OPEN) that
/// arrives without one at the redirect host is let through when the configuration says the
/// redirect target needs no authorization, like a Hadoop datanode.
fn authenticate(
    ctx: &Ctx,
    headers: &HeaderMap,
    op: &str,
    params: &Params,
) -> Result<Option<Caller>, Remote> {
    let data_step = match op {
        "CREATE" => params.get("write"),
        "APPEND" => params.get("append"),
        "OPEN" => params.get("read"),
        _ => None,
    }
    .and_then(parse_bool)
        == Some(true);
    let at_redirect_host = match &ctx.svc.redirect_host {
        None => true,
        Some(host) => request_host(headers).is_some_and(|h| h.eq_ignore_ascii_case(host)),
    };
    if data_step
        && !ctx.svc.redirect_requires_auth
        && at_redirect_host
        && !headers.contains_key(hyper::header::AUTHORIZATION)
    {
        return Ok(None);
    }
    cae::authenticate(&ctx.shared, headers, &ctx.shared.tenant_id, AUDIENCES)
        .map(Some)
        .map_err(|failure| {
            let message = match failure {
                AuthFailure::Revoked { at } => return Remote::revoked(at),
                AuthFailure::Missing => "Bearer token is missing in the request".to_string(),
                other => format!("Failed to validate the access token: {}", other.detail()),
            };
            Remote::new(StatusCode::UNAUTHORIZED, "SecurityException", message)
        })
}

/// The host name the request was sent to (from `Host`, without port).
fn request_host(headers: &HeaderMap) -> Option<&str> {
    let host = headers.get(HOST)?.to_str().ok()?;
    let name = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    Some(name)
}

/// The port of `Host`, if it names one.
fn request_port(headers: &HeaderMap) -> Option<u16> {
    let host = headers.get(HOST)?.to_str().ok()?;
    let after_name = match host.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.1,
        None => host,
    };
    after_name.rsplit_once(':')?.1.parse().ok()
}

/// A host name or address that can go into a URL as it is.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
}

fn join_host(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// 307 to the same URL with `&<flag>=true` appended: to the host the request used, or to
/// `redirect_host` when configured (to test a client's cross-host redirect policy).
fn redirect(
    ctx: &Ctx,
    exchange: &Exchange,
    parts: &hyper::http::request::Parts,
    key: &[String],
    raw_query: &str,
    flag: &str,
) -> Response<SvcBody> {
    let port = ctx.svc.port;
    // The host the client used; its port is this listener's when the client left it out.
    let authority = match &ctx.svc.redirect_host {
        Some(host) => format!("{host}:{port}"),
        None => match (request_host(&parts.headers), request_port(&parts.headers)) {
            (Some(host), Some(p)) if is_plain_host(host) => join_host(host, p),
            (Some(host), None) if is_plain_host(host) => join_host(host, port),
            _ => ctx.svc.default_authority(),
        },
    };
    let path: String = key
        .iter()
        .map(|segment| format!("/{}", utf8_percent_encode(segment, PATH_SEGMENT)))
        .collect();
    let location = format!("https://{authority}{PREFIX}{path}?{raw_query}&{flag}=true");
    let mut response = exchange.response(StatusCode::TEMPORARY_REDIRECT, body::empty());
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

fn file_status(node: &Node, suffix: &str) -> String {
    let dir = node.is_dir();
    ordered_object(&[
        ("length", json!(node.len())),
        ("pathSuffix", json!(suffix)),
        ("type", json!(if dir { "DIRECTORY" } else { "FILE" })),
        ("blockSize", json!(if dir { 0 } else { BLOCK_SIZE })),
        ("accessTime", json!(epoch_millis(node.created))),
        ("modificationTime", json!(epoch_millis(node.modified))),
        ("replication", json!(if dir { 0 } else { 1 })),
        ("permission", json!(node.permissions)),
        ("owner", json!(node.owner)),
        ("group", json!(node.group)),
        ("msExpirationTime", json!(0)),
        ("aclBit", json!(false)),
    ])
}

fn get_file_status(at: Gen1Path<'_>) -> Outcome {
    let store = at.ctx.svc.store.lock();
    let node = store
        .gen1
        .get(at.key)
        .ok_or_else(|| Remote::not_found(at.key))?;
    Ok(at.exchange.json(
        StatusCode::OK,
        format!("{{\"FileStatus\":{}}}", file_status(node, "")),
    ))
}

/// One page of a directory: names after `listAfter` (and before `listBefore`), at most
/// `listSize`. The token is the last name of a full page and empty otherwise, so a listing
/// that fills its last page exactly ends with an empty page, as the service's does.
fn list_status(at: Gen1Path<'_>, params: &Params) -> Outcome {
    let size = match params.number("listsize")? {
        None => 4000,
        Some(0) => return Err(Remote::illegal("listSize must be greater than 0").into()),
        Some(n) => n,
    };
    let after = params.get("listafter").filter(|s| !s.is_empty());
    let before = params.get("listbefore").filter(|s| !s.is_empty());
    let store = at.ctx.svc.store.lock();
    let node = store
        .gen1
        .get(at.key)
        .ok_or_else(|| Remote::not_found(at.key))?;
    let mut entries = Vec::new();
    let mut last = String::new();
    if node.is_dir() {
        for (child, node) in store.gen1.children(at.key) {
            let name = child.last().map(String::as_str).unwrap_or_default();
            if after.is_some_and(|a| name <= a) {
                continue;
            }
            if before.is_some_and(|b| name >= b) || entries.len() as u64 == size {
                break;
            }
            entries.push(file_status(node, name));
            last = name.to_string();
        }
    } else {
        // Listing a file lists the file itself, as HDFS does.
        entries.push(file_status(node, ""));
    }
    let token = if entries.len() as u64 == size {
        last
    } else {
        String::new()
    };
    Ok(at.exchange.json(
        StatusCode::OK,
        format!(
            "{{\"FileStatuses\":{{\"continuationToken\":{},\"FileStatus\":[{}]}}}}",
            json!(token),
            entries.join(",")
        ),
    ))
}

fn open(at: Gen1Path<'_>, params: &Params) -> Outcome {
    let offset = params.number("offset")?.unwrap_or(0);
    let length = params.number("length")?;
    let source = {
        let store = at.ctx.svc.store.lock();
        let node = store
            .gen1
            .get(at.key)
            .ok_or_else(|| Remote::not_found(at.key))?;
        let file = node.file().ok_or_else(|| {
            Remote::new(
                StatusCode::NOT_FOUND,
                "FileNotFoundException",
                format!("Path is not a file: {}", display_path(at.key)),
            )
        })?;
        if offset > file.len {
            return Err(Remote::illegal(format!(
                "Invalid offset {offset}: the file is {} bytes long",
                file.len
            ))
            .into());
        }
        let count = length.unwrap_or(u64::MAX).min(file.len - offset);
        file.content.read(offset, count).map_err(Remote::runtime)?
    };
    // The service streams OPEN with chunked encoding, without Content-Length.
    let body = match source {
        ReadSource::Memory(chunks) => body::chunks(chunks, false),
        ReadSource::Disk { file, len, blob } => {
            file_body::file(tokio::fs::File::from_std(file), len, false, blob)
        }
    };
    let mut response = at.exchange.response(StatusCode::OK, body);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok(response)
}

/// Why a file cannot be created at `key` now.
fn create_blocker(tree: &store::Tree, key: &Key, overwrite: bool) -> Option<Remote> {
    if let Some(ancestor) = tree.file_ancestor(key) {
        return Some(Remote::new(
            StatusCode::FORBIDDEN,
            "ParentNotDirectoryException",
            format!(
                "Parent path is not a directory: {}",
                display_path(&ancestor)
            ),
        ));
    }
    match tree.get(key) {
        Some(node) if node.is_dir() => Some(Remote::exists(format!(
            "{} already exists as a directory",
            display_path(key)
        ))),
        Some(_) if !overwrite => Some(Remote::exists(format!(
            "Overwrite is false and the file already exists: {}",
            display_path(key)
        ))),
        _ => None,
    }
}

fn parts_content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

fn body_too_large(headers: &HeaderMap) -> bool {
    parts_content_length(headers).is_some_and(|n| n > MAX_BODY)
}

fn too_large() -> Remote {
    Remote::illegal(format!(
        "The request body is larger than the maximum of {MAX_BODY} bytes; write larger files with CREATE followed by APPEND"
    ))
}

fn receive_failure(e: ReceiveError) -> Failure {
    match e {
        ReceiveError::TooLarge => Failure::Remote(too_large()),
        ReceiveError::Client => Failure::Drop,
        ReceiveError::Storage(e) => Failure::Remote(Remote::runtime(e)),
    }
}

async fn create(
    at: Gen1Path<'_>,
    headers: &HeaderMap,
    body: &mut RequestBody,
    params: &Params,
    owner: &str,
) -> Outcome {
    let overwrite = params.flag("overwrite")?.unwrap_or(false);
    if body_too_large(headers) {
        return Err(too_large().into());
    }
    if at.key.is_empty() {
        return Err(Remote::exists("/ already exists as a directory").into());
    }
    if let Some(e) = create_blocker(&at.ctx.svc.store.lock().gen1, at.key, overwrite) {
        return Err(e.into());
    }
    let store = &at.ctx.svc.store;
    let content = store.new_content().map_err(Remote::runtime)?;
    let received = store::receive(&content.sink(), body, 0, MAX_BODY)
        .await
        .map_err(receive_failure)?;

    let mut inner = store.lock();
    // Checked again: the tree may have changed while the body was arriving.
    if let Some(e) = create_blocker(&inner.gen1, at.key, overwrite) {
        return Err(e.into());
    }
    let mut data = FileData {
        id: store.next_id(),
        len: 0,
        content,
    };
    data.content.commit_append(&mut data.len, received);
    let etag = store.next_etag();
    inner
        .gen1
        .make_parents(at.key, || Node::dir(owner, owner, GEN1_PERMISSION, etag));
    inner.gen1.insert(
        at.key.clone(),
        Node::new_file(owner, owner, GEN1_PERMISSION, etag, data),
    );
    inner.gen1.touch_parent(at.key, etag);
    Ok(at.exchange.response(StatusCode::CREATED, body::empty()))
}

async fn append(
    at: Gen1Path<'_>,
    headers: &HeaderMap,
    body: &mut RequestBody,
    params: &Params,
) -> Outcome {
    let offset = params.number("offset")?;
    if body_too_large(headers) {
        return Err(too_large().into());
    }
    let store = &at.ctx.svc.store;
    let (id, sink) = {
        let inner = store.lock();
        let file = appendable(&inner.gen1, at.key, offset, None)?;
        (file.id, file.content.sink())
    };
    let blob = match &sink {
        Sink::Disk(blob) => Some(Arc::clone(blob)),
        Sink::Memory => None,
    };
    // On disk the bytes go straight to the end of the file, so appends to one file take turns.
    let _turn = match &blob {
        Some(blob) => Some(blob.write_lock.lock().await),
        None => None,
    };
    let start = appendable(&store.lock().gen1, at.key, offset, Some(id))?.len;
    let received = store::receive(&sink, body, start, MAX_BODY)
        .await
        .map_err(receive_failure)?;

    let etag = store.next_etag();
    let mut inner = store.lock();
    // Checked again: the file may have been replaced, deleted or appended to meanwhile.
    let len = appendable(&inner.gen1, at.key, offset, Some(id))?.len;
    if blob.is_some() && len != start {
        return Err(Remote::runtime("the file changed during the append").into());
    }
    if let Some(node) = inner.gen1.get_mut(at.key) {
        node.touch(etag);
        if let Some(file) = node.file_mut() {
            file.content.commit_append(&mut file.len, received);
        }
    }
    Ok(at.exchange.response(StatusCode::OK, body::empty()))
}

/// The file at `key` if an append with `offset` may go to it (and it is still version `id`).
fn appendable<'t>(
    tree: &'t store::Tree,
    key: &Key,
    offset: Option<u64>,
    id: Option<u64>,
) -> Result<&'t FileData, Remote> {
    let node = tree.get(key).ok_or_else(|| Remote::not_found(key))?;
    let file = node.file().ok_or_else(|| {
        Remote::illegal(format!(
            "Cannot append to a directory: {}",
            display_path(key)
        ))
    })?;
    if id.is_some_and(|id| id != file.id) {
        return Err(Remote::not_found(key));
    }
    match offset {
        Some(offset) if offset != file.len => Err(Remote::new(
            StatusCode::BAD_REQUEST,
            "BadOffsetException",
            format!(
                "APPEND failed: the offset {offset} is not the length of the file ({})",
                file.len
            ),
        )),
        _ => Ok(file),
    }
}

fn mkdirs(at: Gen1Path<'_>, owner: &str) -> Outcome {
    let store = &at.ctx.svc.store;
    let etag = store.next_etag();
    let mut inner = store.lock();
    if let Some(ancestor) = inner.gen1.file_ancestor(at.key) {
        return Err(Remote::new(
            StatusCode::FORBIDDEN,
            "ParentNotDirectoryException",
            format!(
                "Parent path is not a directory: {}",
                display_path(&ancestor)
            ),
        )
        .into());
    }
    match inner.gen1.get(at.key) {
        Some(node) if node.is_dir() => return Ok(at.exchange.boolean(true)),
        Some(_) => {
            return Err(Remote::exists(format!(
                "Path is not a directory: {}",
                display_path(at.key)
            ))
            .into())
        }
        None => {}
    }
    let template = || Node::dir(owner, owner, GEN1_PERMISSION, etag);
    inner.gen1.make_parents(at.key, template);
    inner.gen1.insert(at.key.clone(), template());
    inner.gen1.touch_parent(at.key, etag);
    Ok(at.exchange.boolean(true))
}

fn delete(at: Gen1Path<'_>, params: &Params) -> Outcome {
    let recursive = params.flag("recursive")?.unwrap_or(false);
    let store = &at.ctx.svc.store;
    let etag = store.next_etag();
    let removed = {
        let mut inner = store.lock();
        let Some(node) = inner.gen1.get(at.key) else {
            return Ok(at.exchange.boolean(false));
        };
        // Like HDFS, the root itself is never deleted.
        if at.key.is_empty() {
            return Ok(at.exchange.boolean(false));
        }
        if node.is_dir() && !recursive && inner.gen1.has_children(at.key) {
            return Err(Remote::new(
                StatusCode::FORBIDDEN,
                "IOException",
                format!(
                    "`{} is non empty': Directory is not empty",
                    display_path(at.key)
                ),
            )
            .into());
        }
        let removed = inner.gen1.remove_subtree(at.key);
        inner.gen1.touch_parent(at.key, etag);
        removed
    };
    // Dropped outside the lock: on disk this deletes files.
    drop(removed);
    Ok(at.exchange.boolean(true))
}

/// HDFS rename semantics: into an existing directory, `false` (not an error) when the source is
/// missing or the destination is taken or has no parent.
fn rename(ctx: &Ctx, exchange: &Exchange, from: &Key, mut to: Key, params: &Params) -> Outcome {
    let overwrite = params
        .get("renameoptions")
        .is_some_and(|o| o.eq_ignore_ascii_case("OVERWRITE"));
    let store = &ctx.svc.store;
    let etag = store.next_etag();
    let replaced = {
        let mut inner = store.lock();
        let tree = &mut inner.gen1;
        let Some(source) = tree.get(from) else {
            return Ok(exchange.boolean(false));
        };
        if from.is_empty() {
            return Ok(exchange.boolean(false));
        }
        let source_is_dir = source.is_dir();
        if tree.get(&to).is_some_and(Node::is_dir) && to != *from {
            if let Some(name) = from.last() {
                to.push(name.clone());
            }
        }
        if to == *from {
            return Ok(exchange.boolean(true));
        }
        if to.starts_with(from) || !tree.parent_exists(&to) {
            return Ok(exchange.boolean(false));
        }
        let mut replaced = Vec::new();
        if let Some(existing) = tree.get(&to) {
            if existing.is_dir() || source_is_dir || !overwrite {
                return Ok(exchange.boolean(false));
            }
            replaced = tree.remove_subtree(&to);
        }
        tree.move_subtree(from, &to);
        tree.touch_parent(from, etag);
        tree.touch_parent(&to, etag);
        replaced
    };
    drop(replaced);
    Ok(exchange.boolean(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_case_insensitive_and_plus_is_space() {
        let p = Params::parse("OP=liststatus&listAfter=a+b&recursive=True");
        assert_eq!(p.get("op"), Some("liststatus"));
        assert_eq!(p.get("listafter"), Some("a b"));
        assert_eq!(p.flag("recursive").ok().flatten(), Some(true));
        assert!(p.number("op").is_err());
    }

    #[test]
    fn location_path_encoding_keeps_plus_and_comma() {
        let encoded = utf8_percent_encode("12,+3#456?.txt é%", PATH_SEGMENT).to_string();
        assert_eq!(encoded, "12,+3%23456%3F.txt%20%C3%A9%25");
    }

    #[test]
    fn host_without_port() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("LocalHost:443"));
        assert_eq!(request_host(&h), Some("LocalHost"));
        assert_eq!(request_port(&h), Some(443));
        h.insert(HOST, HeaderValue::from_static("[::1]:5"));
        assert_eq!(request_host(&h), Some("::1"));
        assert_eq!(request_port(&h), Some(5));
        h.insert(HOST, HeaderValue::from_static("localhost"));
        assert_eq!(request_port(&h), None);
        assert_eq!(join_host("::1", 7), "[::1]:7");
    }
}
