//! Data Lake Storage Gen2: the DFS endpoint, `/<filesystem>/<path>`.
//!
//! Follows the published REST specification (Path_Create, Path_Update, Path_Read,
//! Path_GetProperties, Path_Delete, FileSystem_ListPaths) in the form the live service sends:
//! numbers and booleans as strings in list bodies, errors as `{"error":{"code","message"}}`
//! with `x-ms-error-code`, appends at any position at or after the flushed length (clients
//! upload in parallel) that a flush must find contiguous, and no chunked uploads.

use std::sync::Arc;
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hyper::body::Incoming;
use hyper::header::{
    HeaderName, HeaderValue, ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    IF_MATCH, IF_NONE_MATCH, LAST_MODIFIED, RANGE, RETRY_AFTER, SERVER, WWW_AUTHENTICATE,
};
use hyper::http::request::Parts;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};

use crate::common::auth::{self, Access, AuthFailure};
use crate::common::body::{self, RequestBody, SvcBody};
use crate::common::config::is_valid_filesystem_name;
use crate::common::response::DropConnection;
use crate::common::util::{
    filetime, http_date, now_secs, parse_bool, random_guid, storage_timestamp,
};
use crate::storage::context::Ctx;
use crate::storage::file_body;
use crate::storage::store::{
    self, etag_text, FileData, Filesystem, FlushError, Key, Node, ReadSource, ReceiveError,
    DIR_PERMISSIONS, FILE_PERMISSIONS,
};

/// Both spellings Entra ID issues Storage tokens for.
const AUDIENCES: &[&str] = &["https://storage.azure.com/", "https://storage.azure.com"];
/// Largest single append (4000 MiB).
const MAX_APPEND: u64 = 4000 * 1024 * 1024;
const MAX_RESULTS: usize = 5000;
/// How much of an unused request body is read so the connection can be kept alive.
const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;
const JSON: &str = "application/json;charset=utf-8";
const SERVER_NAME: &str = "Windows-Azure-HDFS/1.0 Microsoft-HTTPAPI/2.0";
/// Prefix of this emulator's continuation tokens (opaque to clients, like the service's).
const TOKEN_PREFIX: &str = "azmi1:";
/// New items get the service's default permissions under the default umask 0027.
const DEFAULT_UMASK: u32 = 0o027;
/// Group of new items: inherited from the root, whose owning group is `$superuser`.
const DEFAULT_GROUP: &str = "$superuser";

/// A Storage error about to be sent.
#[derive(Debug)]
struct StorageError {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
}

const fn err(status: StatusCode, code: &'static str, message: &'static str) -> StorageError {
    StorageError {
        status,
        code,
        message,
    }
}

const PATH_NOT_FOUND: StorageError = err(
    StatusCode::NOT_FOUND,
    "PathNotFound",
    "The specified path does not exist.",
);
const FILESYSTEM_NOT_FOUND: StorageError = err(
    StatusCode::NOT_FOUND,
    "FilesystemNotFound",
    "The specified filesystem does not exist.",
);
const PATH_ALREADY_EXISTS: StorageError = err(
    StatusCode::CONFLICT,
    "PathAlreadyExists",
    "The specified path already exists.",
);
const FILESYSTEM_ALREADY_EXISTS: StorageError = err(
    StatusCode::CONFLICT,
    "FilesystemAlreadyExists",
    "The specified filesystem already exists.",
);
const PATH_CONFLICT: StorageError = err(
    StatusCode::CONFLICT,
    "PathConflict",
    "The specified path, or an element of the path, exists and its resource type is invalid for this operation.",
);
const RESOURCE_TYPE_MISMATCH: StorageError = err(
    StatusCode::CONFLICT,
    "ResourceTypeMismatch",
    "The resource type specified in the request does not match the type of the resource.",
);
const DIRECTORY_NOT_EMPTY: StorageError = err(
    StatusCode::CONFLICT,
    "DirectoryNotEmpty",
    "The recursive query parameter value must be true to delete a non-empty directory.",
);
const SOURCE_PATH_NOT_FOUND: StorageError = err(
    StatusCode::NOT_FOUND,
    "SourcePathNotFound",
    "The source path for a rename operation does not exist.",
);
const RENAME_PARENT_NOT_FOUND: StorageError = err(
    StatusCode::NOT_FOUND,
    "RenameDestinationParentPathNotFound",
    "The parent directory of the destination path does not exist.",
);
const INVALID_RENAME_SOURCE: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidRenameSourcePath",
    "The source directory cannot be the same as the destination directory, nor can the destination be a subdirectory of the source directory.",
);
const INVALID_SOURCE_URI: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidSourceUri",
    "The source URI is invalid.",
);
const INVALID_FLUSH_POSITION: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidFlushPosition",
    "The uploaded data is not contiguous or the position query parameter value is not equal to the length of the file after appending the uploaded data.",
);
const INVALID_RANGE: StorageError = err(
    StatusCode::RANGE_NOT_SATISFIABLE,
    "InvalidRange",
    "The range specified is invalid for the current size of the resource.",
);
const CONDITION_NOT_MET: StorageError = err(
    StatusCode::PRECONDITION_FAILED,
    "ConditionNotMet",
    "The condition specified using HTTP conditional header(s) is not met.",
);
const MISSING_HEADER: StorageError = err(
    StatusCode::BAD_REQUEST,
    "MissingRequiredHeader",
    "An HTTP header that's mandatory for this request is not specified.",
);
const INVALID_HEADER: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidHeaderValue",
    "The value for one of the HTTP headers is not in the correct format.",
);
const MISSING_QUERY: StorageError = err(
    StatusCode::BAD_REQUEST,
    "MissingRequiredQueryParameter",
    "A query parameter that's mandatory for this request is not specified.",
);
const INVALID_QUERY: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidQueryParameterValue",
    "Value for one of the query parameters specified in the request URI is invalid.",
);
const INVALID_RESOURCE_NAME: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidResourceName",
    "The specified resource name contains invalid characters.",
);
const INVALID_URI: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidUri",
    "The requested URI does not represent any resource on the server.",
);
const MISSING_CONTENT_LENGTH: StorageError = err(
    StatusCode::LENGTH_REQUIRED,
    "MissingContentLengthHeader",
    "Content-Length HTTP header is missing.",
);
const BODY_TOO_LARGE: StorageError = err(
    StatusCode::PAYLOAD_TOO_LARGE,
    "RequestBodyTooLarge",
    "The request body is too large and exceeds the maximum permissible limit.",
);
const UNSUPPORTED_VERB: StorageError = err(
    StatusCode::METHOD_NOT_ALLOWED,
    "UnsupportedHttpVerb",
    "The resource doesn't support the specified HTTP verb.",
);
const AUTH_FAILED_401: &str =
    "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.";
const PERMISSION_MISMATCH: StorageError = err(
    StatusCode::FORBIDDEN,
    "AuthorizationPermissionMismatch",
    "This request is not authorized to perform this operation using this permission.",
);
const INTERNAL_ERROR: StorageError = err(
    StatusCode::INTERNAL_SERVER_ERROR,
    "InternalError",
    "The server encountered an internal error. Please retry the request.",
);

enum Failure {
    Storage(StorageError),
    /// 304 for a conditional read that matched.
    NotModified(u64),
    /// The client went away mid-body: close the connection.
    Drop,
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        Failure::Storage(e)
    }
}

type Outcome = Result<Response<SvcBody>, Failure>;

/// Per-request facts every response carries.
struct Exchange {
    request_id: String,
    version: Option<HeaderValue>,
    client_request_id: Option<HeaderValue>,
    head: bool,
    tenant: String,
}

impl Exchange {
    fn new(parts: &Parts, tenant: &str) -> Exchange {
        Exchange {
            request_id: random_guid(),
            version: parts.headers.get("x-ms-version").cloned(),
            client_request_id: parts.headers.get("x-ms-client-request-id").cloned(),
            head: parts.method == Method::HEAD,
            tenant: tenant.to_string(),
        }
    }

    fn response(&self, status: StatusCode, body: SvcBody) -> Response<SvcBody> {
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let h = response.headers_mut();
        h.insert(SERVER, HeaderValue::from_static(SERVER_NAME));
        if let Ok(id) = HeaderValue::from_str(&self.request_id) {
            h.insert("x-ms-request-id", id);
        }
        if let Some(v) = &self.version {
            h.insert("x-ms-version", v.clone());
        }
        if let Some(v) = &self.client_request_id {
            h.insert("x-ms-client-request-id", v.clone());
        }
        response
    }

    fn empty(&self, status: StatusCode) -> Response<SvcBody> {
        self.response(status, body::empty())
    }

    fn json(&self, status: StatusCode, value: &Value) -> Response<SvcBody> {
        let mut response = self.response(status, body::full(value.to_string()));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
        response
    }

    /// The Storage error body, or only its headers for HEAD (which has no body).
    fn error_text(&self, status: StatusCode, code: &str, message: &str) -> Response<SvcBody> {
        let full = format!(
            "{message}\nRequestId:{}\nTime:{}",
            self.request_id,
            storage_timestamp(SystemTime::now())
        );
        let mut response = if self.head {
            self.empty(status)
        } else {
            self.json(
                status,
                &json!({ "error": { "code": code, "message": full } }),
            )
        };
        let h = response.headers_mut();
        if let Ok(code) = HeaderValue::from_str(code) {
            h.insert("x-ms-error-code", code);
        }
        if status == StatusCode::UNAUTHORIZED {
            let challenge = format!(
                "Bearer authorization_uri=https://login.microsoftonline.com/{}/oauth2/authorize resource_id=https://storage.azure.com",
                self.tenant
            );
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                h.insert(WWW_AUTHENTICATE, v);
            }
        }
        response
    }

    fn error(&self, e: StorageError) -> Response<SvcBody> {
        self.error_text(e.status, e.code, e.message)
    }
}

/// A status fault: that status with the Storage error the service sends for it.
pub(crate) fn fault_response(
    status: u16,
    retry_after: Option<u64>,
    parts: &Parts,
    tenant: &str,
) -> Response<SvcBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (code, message) = match status.as_u16() {
        400 => ("InvalidInput", "One of the request inputs is not valid."),
        401 => ("InvalidAuthenticationInfo", AUTH_FAILED_401),
        403 => (PERMISSION_MISMATCH.code, PERMISSION_MISMATCH.message),
        404 => (PATH_NOT_FOUND.code, PATH_NOT_FOUND.message),
        409 => (PATH_CONFLICT.code, PATH_CONFLICT.message),
        412 => (CONDITION_NOT_MET.code, CONDITION_NOT_MET.message),
        429 => (
            "ServerBusy",
            "Operations per second is over the account limit.",
        ),
        503 => (
            "ServerBusy",
            "The server is currently unable to receive requests. Please retry your request.",
        ),
        500 => (INTERNAL_ERROR.code, INTERNAL_ERROR.message),
        504 | 408 => (
            "OperationTimedOut",
            "Operation could not be completed within the specified time.",
        ),
        _ => (
            "InternalError",
            status.canonical_reason().unwrap_or("Error"),
        ),
    };
    let mut response = Exchange::new(parts, tenant).error_text(status, code, message);
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The `malformed` fault: a 200 whose JSON is cut off.
pub(crate) fn malformed(parts: &Parts, tenant: &str) -> Response<SvcBody> {
    let exchange = Exchange::new(parts, tenant);
    let mut response = exchange.response(StatusCode::OK, body::full(r#"{"paths":[{"name":"#));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

/// Query parameters. Names are matched case-insensitively; values are form-decoded (`+` is a
/// space), as the service decodes them.
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
        let name = name.to_ascii_lowercase();
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, name: &str) -> Result<Option<bool>, StorageError> {
        self.get(name)
            .map(|v| parse_bool(v).ok_or(INVALID_QUERY))
            .transpose()
    }

    fn required_number(&self, name: &str) -> Result<u64, StorageError> {
        self.get(name)
            .ok_or(MISSING_QUERY)?
            .parse()
            .map_err(|_| INVALID_QUERY)
    }
}

pub(crate) async fn handle(
    ctx: &Ctx,
    req: Request<Incoming>,
) -> Result<Response<SvcBody>, DropConnection> {
    let (parts, incoming) = req.into_parts();
    let exchange = Exchange::new(&parts, &ctx.shared.tenant_id);
    let mut body = RequestBody::new(incoming, Arc::clone(&ctx.shared));
    match dispatch(ctx, &exchange, &parts, &mut body).await {
        Ok(response) => Ok(response),
        Err(Failure::Drop) => Err(DropConnection),
        Err(Failure::NotModified(etag)) => {
            let mut response = exchange.empty(StatusCode::NOT_MODIFIED);
            insert(response.headers_mut(), ETAG, &quoted(etag));
            Ok(response)
        }
        Err(Failure::Storage(e)) => {
            // Read what the client sent so the connection stays usable for its next request
            // (unless it announced more than is worth reading).
            if content_length(&parts.headers).unwrap_or(0) <= DRAIN_LIMIT {
                let _ = body.drain(DRAIN_LIMIT).await;
            }
            Ok(exchange.error(e))
        }
    }
}

/// What a request addresses.
enum Target {
    Account,
    Filesystem(String),
    Path(String, Key),
}

async fn dispatch(
    ctx: &Ctx,
    exchange: &Exchange,
    parts: &Parts,
    body: &mut RequestBody,
) -> Outcome {
    // Checked first: without a version the service cannot even choose how to authenticate.
    match parts.headers.get("x-ms-version") {
        None => return Err(MISSING_HEADER.into()),
        Some(v) if !is_version(v) => return Err(INVALID_HEADER.into()),
        Some(_) => {}
    }
    let caller = auth::authenticate(
        &parts.headers,
        &ctx.shared.tenant_id,
        AUDIENCES,
        now_secs(),
    )
    .map_err(|failure| match failure {
        AuthFailure::Missing => err(
            StatusCode::UNAUTHORIZED,
            "NoAuthenticationInformation",
            AUTH_FAILED_401,
        ),
        // Another scheme (SharedKey, a SAS signature) failing is a 403 in Storage.
        AuthFailure::NotBearer => err(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
        ),
        _ => err(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationInfo",
            AUTH_FAILED_401,
        ),
    })?;

    let target = parse_target(parts.uri.path())?;
    let params = Params::parse(parts.uri.query().unwrap_or(""));
    let check = |path: String, access: Access| -> Result<(), StorageError> {
        if auth::permits(&ctx.svc.acl, &caller.object_id, &path, access) {
            Ok(())
        } else {
            Err(PERMISSION_MISMATCH)
        }
    };
    let owner = caller.object_id.as_str();
    let method = &parts.method;

    match target {
        Target::Account => {
            if *method != Method::GET {
                return Err(UNSUPPORTED_VERB.into());
            }
            match params.get("resource") {
                Some("account") => {}
                None => return Err(MISSING_QUERY.into()),
                Some(_) => return Err(INVALID_QUERY.into()),
            }
            check("/".to_string(), Access::Read)?;
            list_filesystems(ctx, exchange, &params)
        }
        Target::Filesystem(name) => {
            match params.get("resource") {
                Some("filesystem") => {}
                None => return Err(MISSING_QUERY.into()),
                Some(_) => return Err(INVALID_QUERY.into()),
            }
            let access = if *method == Method::GET || *method == Method::HEAD {
                Access::Read
            } else {
                Access::Write
            };
            if *method != Method::GET {
                check(acl_path(&name, &[]), access)?;
            }
            match *method {
                Method::GET => list_paths(ctx, exchange, &name, &params, &check),
                Method::PUT => create_filesystem(ctx, exchange, &name),
                Method::DELETE => delete_filesystem(ctx, exchange, &name),
                Method::HEAD | Method::PATCH => filesystem_properties(ctx, exchange, &name),
                _ => Err(UNSUPPORTED_VERB.into()),
            }
        }
        Target::Path(fs_name, key) => match *method {
            Method::PUT => {
                if let Some(source) = parts.headers.get("x-ms-rename-source") {
                    let (src_fs, src_key) = parse_rename_source(source)?;
                    if src_fs != fs_name {
                        return Err(err(
                            StatusCode::BAD_REQUEST,
                            "InvalidRenameSourcePath",
                            "The source path must be in the same filesystem as the destination.",
                        )
                        .into());
                    }
                    check(acl_path(&fs_name, &src_key), Access::Write)?;
                    check(acl_path(&fs_name, &key), Access::Write)?;
                    return rename(ctx, exchange, &parts.headers, &fs_name, &src_key, &key);
                }
                check(acl_path(&fs_name, &key), Access::Write)?;
                let directory = match params.get("resource") {
                    Some("file") => false,
                    Some("directory") => true,
                    None => return Err(MISSING_QUERY.into()),
                    Some(_) => return Err(INVALID_QUERY.into()),
                };
                create(
                    ctx,
                    exchange,
                    &parts.headers,
                    &fs_name,
                    &key,
                    directory,
                    owner,
                )
            }
            Method::PATCH => {
                check(acl_path(&fs_name, &key), Access::Write)?;
                match params.get("action") {
                    Some("append") => {
                        append(ctx, exchange, &parts.headers, body, &fs_name, &key, &params).await
                    }
                    Some("flush") => flush(ctx, exchange, &parts.headers, &fs_name, &key, &params),
                    Some("setProperties") => {
                        set_properties(ctx, exchange, &parts.headers, &fs_name, &key, false)
                    }
                    Some("setAccessControl") => {
                        set_properties(ctx, exchange, &parts.headers, &fs_name, &key, true)
                    }
                    None => Err(MISSING_QUERY.into()),
                    Some(_) => Err(INVALID_QUERY.into()),
                }
            }
            Method::GET => {
                check(acl_path(&fs_name, &key), Access::Read)?;
                read(ctx, exchange, &parts.headers, &fs_name, &key)
            }
            Method::HEAD => {
                check(acl_path(&fs_name, &key), Access::Read)?;
                match params.get("action") {
                    None | Some("getStatus") | Some("getAccessControl") => {}
                    Some(_) => return Err(INVALID_QUERY.into()),
                }
                properties(ctx, exchange, &parts.headers, &fs_name, &key)
            }
            Method::DELETE => {
                check(acl_path(&fs_name, &key), Access::Write)?;
                delete(ctx, exchange, &parts.headers, &fs_name, &key, &params)
            }
            _ => Err(UNSUPPORTED_VERB.into()),
        },
    }
}

/// `YYYY-MM-DD`, the shape of every Storage service version.
fn is_version(value: &HeaderValue) -> bool {
    let b = value.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn parse_target(raw_path: &str) -> Result<Target, StorageError> {
    let decoded = percent_decode_str(raw_path)
        .decode_utf8()
        .map_err(|_| INVALID_URI)?;
    let trimmed = decoded.trim_start_matches('/');
    let (fs_name, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    if fs_name.is_empty() {
        return Ok(Target::Account);
    }
    if !is_valid_filesystem_name(fs_name) {
        return Err(INVALID_RESOURCE_NAME);
    }
    let key = store::parse_path(rest).ok_or(INVALID_URI)?;
    if key.is_empty() {
        Ok(Target::Filesystem(fs_name.to_string()))
    } else {
        Ok(Target::Path(fs_name.to_string(), key))
    }
}

/// `x-ms-rename-source: /<filesystem>/<path>[?<sas>]`, percent-encoded (a `+` stays a `+`).
fn parse_rename_source(value: &HeaderValue) -> Result<(String, Key), StorageError> {
    let text = value.to_str().map_err(|_| INVALID_SOURCE_URI)?;
    let path = text.split('?').next().unwrap_or_default();
    let decoded = percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| INVALID_SOURCE_URI)?;
    let rest = decoded.strip_prefix('/').ok_or(INVALID_SOURCE_URI)?;
    let (fs_name, path) = rest.split_once('/').ok_or(INVALID_SOURCE_URI)?;
    let key = store::parse_path(path).ok_or(INVALID_SOURCE_URI)?;
    if key.is_empty() {
        return Err(INVALID_SOURCE_URI);
    }
    Ok((fs_name.to_string(), key))
}

fn acl_path(fs_name: &str, key: &[String]) -> String {
    if key.is_empty() {
        format!("/{fs_name}")
    } else {
        format!("/{fs_name}/{}", key.join("/"))
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn quoted(etag: u64) -> String {
    format!("\"{}\"", etag_text(etag))
}

/// Adds the headers of a changed item: `ETag` and `Last-Modified`.
fn with_version(mut response: Response<SvcBody>, node: &Node) -> Response<SvcBody> {
    let h = response.headers_mut();
    insert(h, ETAG, &quoted(node.etag));
    insert(h, LAST_MODIFIED, &http_date(node.modified));
    response
}

/// Whether an `If-Match`/`If-None-Match` list names `etag` (or is `*`).
fn etag_listed(value: &str, etag: u64) -> bool {
    let own = etag_text(etag);
    value.split(',').map(str::trim).any(|tag| {
        let tag = tag.trim_start_matches("W/").trim_matches('"');
        tag == "*" || tag == own
    })
}

/// Conditional headers against the current item (`None`: it does not exist). `creating`: an
/// existing path under `If-None-Match: *` is the service's 409 `PathAlreadyExists`, not 412.
fn check_conditions(
    headers: &HeaderMap,
    node: Option<&Node>,
    creating: bool,
    reading: bool,
) -> Result<(), Failure> {
    if let Some(value) = header_text(headers, IF_MATCH.as_str()) {
        match node {
            Some(node) if etag_listed(value, node.etag) => {}
            _ => return Err(CONDITION_NOT_MET.into()),
        }
    }
    if let (Some(value), Some(node)) = (header_text(headers, IF_NONE_MATCH.as_str()), node) {
        if etag_listed(value, node.etag) {
            return Err(if creating {
                PATH_ALREADY_EXISTS.into()
            } else if reading {
                Failure::NotModified(node.etag)
            } else {
                CONDITION_NOT_MET.into()
            });
        }
    }
    Ok(())
}

fn filesystem<'i>(
    inner: &'i mut store::Inner,
    name: &str,
) -> Result<&'i mut Filesystem, StorageError> {
    inner.filesystems.get_mut(name).ok_or(FILESYSTEM_NOT_FOUND)
}

/// `rwxr-x---` from a mode.
fn symbolic(mode: u32) -> String {
    let mut s = String::with_capacity(9);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// A mode from `x-ms-permissions`/`x-ms-umask`: symbolic (`rwxr-x---`) or octal (`0750`).
fn parse_mode(value: &str) -> Option<u32> {
    if value.len() == 9 && value.chars().all(|c| "rwx-".contains(c)) {
        let mut mode = 0;
        for (i, c) in value.chars().enumerate() {
            if c != '-' && "rwx".chars().nth(i % 3) == Some(c) {
                mode |= 1 << (8 - i);
            } else if c != '-' {
                return None;
            }
        }
        return Some(mode);
    }
    if (3..=4).contains(&value.len()) {
        return u32::from_str_radix(value, 8).ok().map(|m| m & 0o777);
    }
    None
}

fn new_permissions(headers: &HeaderMap, directory: bool) -> Result<String, StorageError> {
    let base = match header_text(headers, "x-ms-permissions") {
        Some(v) => parse_mode(v).ok_or(INVALID_HEADER)?,
        None if directory => 0o777,
        None => 0o666,
    };
    let umask = match header_text(headers, "x-ms-umask") {
        Some(v) => parse_mode(v).ok_or(INVALID_HEADER)?,
        None => DEFAULT_UMASK,
    };
    let mode = base & !umask;
    let text = symbolic(mode);
    // The defaults are constants so listings compare easily in tests and logs.
    Ok(match (directory, text.as_str()) {
        (true, t) if t == DIR_PERMISSIONS => DIR_PERMISSIONS.to_string(),
        (false, t) if t == FILE_PERMISSIONS => FILE_PERMISSIONS.to_string(),
        _ => text,
    })
}

fn create(
    ctx: &Ctx,
    exchange: &Exchange,
    headers: &HeaderMap,
    fs_name: &str,
    key: &Key,
    directory: bool,
    owner: &str,
) -> Outcome {
    let permissions = new_permissions(headers, directory)?;
    let store = &ctx.svc.store;
    let content = if directory {
        None
    } else {
        Some(store.new_content().map_err(|_| INTERNAL_ERROR)?)
    };
    let etag = store.next_etag();
    let mut inner = store.lock();
    let tree = &mut filesystem(&mut inner, fs_name)?.tree;
    if tree.file_ancestor(key).is_some() {
        return Err(PATH_CONFLICT.into());
    }
    let existing = tree.get(key);
    check_conditions(headers, existing, true, false)?;
    match existing {
        Some(node) if node.is_dir() != directory => return Err(PATH_CONFLICT.into()),
        Some(_) if directory => {
            // Creating an existing directory succeeds and keeps what is in it.
            let node = tree.get_mut(key).ok_or(PATH_NOT_FOUND)?;
            node.touch(etag);
            return Ok(with_version(exchange.empty(StatusCode::CREATED), node));
        }
        _ => {}
    }
    let mut node = match content {
        None => Node::dir(owner, DEFAULT_GROUP, &permissions, etag),
        Some(content) => Node::new_file(
            owner,
            DEFAULT_GROUP,
            &permissions,
            etag,
            FileData {
                id: store.next_id(),
                len: 0,
                content,
            },
        ),
    };
    node.content_type = header_text(headers, "x-ms-content-type").map(str::to_string);
    let response = with_version(exchange.empty(StatusCode::CREATED), &node);
    tree.make_parents(key, || {
        Node::dir(owner, DEFAULT_GROUP, DIR_PERMISSIONS, etag)
    });
    // A replaced file's content is released here; on disk that deletes one file.
    drop(tree.insert(key.clone(), node));
    tree.touch_parent(key, etag);
    let mut response = response;
    response.headers_mut().insert(
        "x-ms-request-server-encrypted",
        HeaderValue::from_static("true"),
    );
    Ok(response)
}

async fn append(
    ctx: &Ctx,
    exchange: &Exchange,
    headers: &HeaderMap,
    body: &mut RequestBody,
    fs_name: &str,
    key: &Key,
    params: &Params,
) -> Outcome {
    let position = params.required_number("position")?;
    let flush_now = params.flag("flush")?.unwrap_or(false);
    // Storage takes no chunked uploads: the length must be announced.
    let announced = content_length(headers).ok_or(MISSING_CONTENT_LENGTH)?;
    if announced > MAX_APPEND {
        return Err(BODY_TOO_LARGE.into());
    }
    if position.checked_add(announced).is_none() {
        return Err(INVALID_QUERY.into());
    }
    let store = &ctx.svc.store;
    let (id, sink) = {
        let mut inner = store.lock();
        let tree = &filesystem(&mut inner, fs_name)?.tree;
        let node = tree.get(key).ok_or(PATH_NOT_FOUND)?;
        let file = node.file().ok_or(RESOURCE_TYPE_MISMATCH)?;
        if position < file.len {
            return Err(INVALID_FLUSH_POSITION.into());
        }
        (file.id, file.content.sink())
    };
    let received = store::receive(&sink, body, position, MAX_APPEND)
        .await
        .map_err(|e| match e {
            ReceiveError::TooLarge => Failure::Storage(BODY_TOO_LARGE),
            ReceiveError::Client => Failure::Drop,
            ReceiveError::Storage(_) => Failure::Storage(INTERNAL_ERROR),
        })?;
    let written = received.len;

    let etag = store.next_etag();
    let mut inner = store.lock();
    let tree = &mut filesystem(&mut inner, fs_name)?.tree;
    let node = tree.get_mut(key).ok_or(PATH_NOT_FOUND)?;
    let file = node.file_mut().ok_or(RESOURCE_TYPE_MISMATCH)?;
    // Replaced or flushed past this position while the body was arriving.
    if file.id != id {
        return Err(PATH_NOT_FOUND.into());
    }
    if position < file.len {
        return Err(INVALID_FLUSH_POSITION.into());
    }
    file.content.stage(position, received);
    if flush_now {
        file.content
            .flush(&mut file.len, position.saturating_add(written), false)
            .map_err(|_| INVALID_FLUSH_POSITION)?;
        node.touch(etag);
    }
    let mut response = exchange.empty(StatusCode::ACCEPTED);
    response.headers_mut().insert(
        "x-ms-request-server-encrypted",
        HeaderValue::from_static("true"),
    );
    Ok(response)
}

fn flush(
    ctx: &Ctx,
    exchange: &Exchange,
    headers: &HeaderMap,
    fs_name: &str,
    key: &Key,
    params: &Params,
) -> Outcome {
    let position = params.required_number("position")?;
    let retain = params.flag("retainUncommittedData")?.unwrap_or(false);
    params.flag("close")?;
    let store = &ctx.svc.store;
    let etag = store.next_etag();
    let mut inner = store.lock();
    let tree = &mut filesystem(&mut inner, fs_name)?.tree;
    check_conditions(headers, tree.get(key), false, false)?;
    let node = tree.get_mut(key).ok_or(PATH_NOT_FOUND)?;
    let file = node.file_mut().ok_or(RESOURCE_TYPE_MISMATCH)?;
    file.content
        .flush(&mut file.len, position, retain)
        .map_err(|_: FlushError| INVALID_FLUSH_POSITION)?;
    node.touch(etag);
    if let Some(content_type) = header_text(headers, "x-ms-content-type") {
        node.content_type = Some(content_type.to_string());
    }
    let mut response = with_version(exchange.empty(StatusCode::OK), node);
    response.headers_mut().insert(
        "x-ms-request-server-encrypted",
        HeaderValue::from_static("true"),
    );
    Ok(response)
}

/// `setProperties` (accepted, nothing stored but the change) and `setAccessControl` (owner,
/// group and permissions from their headers).
fn set_properties(
    ctx: &Ctx,
    exchange: &Exchange,
    headers: &HeaderMap,
    fs_name: &str,
    key: &Key,
    access_control: bool,
) -> Outcome {
    let store = &ctx.svc.store;
    let etag = store.next_etag();
    let mut inner = store.lock();
    let tree = &mut filesystem(&mut inner, fs_name)?.tree;
    check_conditions(headers, tree.get(key), false, false)?;
    let node = tree.get_mut(key).ok_or(PATH_NOT_FOUND)?;
    if access_control {
        if let Some(owner) = header_text(headers, "x-ms-owner") {
            node.owner = owner.to_string();
        }
        if let Some(group) = header_text(headers, "x-ms-group") {
            node.group = group.to_string();
        }
        if let Some(p) = header_text(headers, "x-ms-permissions") {
            node.permissions = symbolic(parse_mode(p).ok_or(INVALID_HEADER)?);
        }
    } else if let Some(content_type) = header_text(headers, "x-ms-content-type") {
        node.content_type = Some(content_type.to_string());
    }
    node.touch(etag);
    Ok(with_version(exchange.empty(StatusCode::OK), node))
}

/// `bytes=a-b` or `bytes=a-` (Storage supports no suffix ranges or lists); anything else is no
/// range at all.
fn parse_range(value: &str) -> Option<(u64, Option<u64>)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end = match end.trim() {
        "" => None,
        e => Some(e.parse::<u64>().ok()?),
    };
    if end.is_some_and(|e| e < start) {
        return None;
    }
    Some((start, end))
}

/// The system headers of an item, shared by read and properties.
fn describe(response: &mut Response<SvcBody>, node: &Node, len: u64) {
    let h = response.headers_mut();
    insert(h, ETAG, &quoted(node.etag));
    insert(h, LAST_MODIFIED, &http_date(node.modified));
    insert(h, CONTENT_LENGTH, &len.to_string());
    let content_type = node
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    insert(h, CONTENT_TYPE, content_type);
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        "x-ms-resource-type",
        HeaderValue::from_static(if node.is_dir() { "directory" } else { "file" }),
    );
    insert(
        h,
        HeaderName::from_static("x-ms-creation-time"),
        &http_date(node.created),
    );
    h.insert("x-ms-lease-state", HeaderValue::from_static("available"));
    h.insert("x-ms-lease-status", HeaderValue::from_static("unlocked"));
    h.insert("x-ms-server-encrypted", HeaderValue::from_static("true"));
}

fn read(ctx: &Ctx, exchange: &Exchange, headers: &HeaderMap, fs_name: &str, key: &Key) -> Outcome {
    // `x-ms-range` wins over `Range` when both are sent.
    let range = header_text(headers, "x-ms-range")
        .or_else(|| header_text(headers, RANGE.as_str()))
        .and_then(parse_range);
    let mut inner = ctx.svc.store.lock();
    let tree = &filesystem(&mut inner, fs_name)?.tree;
    let node = tree.get(key).ok_or(PATH_NOT_FOUND)?;
    check_conditions(headers, Some(node), false, true)?;
    let Some(file) = node.file() else {
        let mut response = exchange.response(StatusCode::OK, body::empty());
        describe(&mut response, node, 0);
        return Ok(response);
    };
    let total = file.len;
    let (status, offset, count) = match range {
        None => (StatusCode::OK, 0, total),
        Some((start, _)) if start >= total => {
            return Err(INVALID_RANGE.into());
        }
        Some((start, end)) => {
            let last = end.unwrap_or(u64::MAX).min(total - 1);
            (StatusCode::PARTIAL_CONTENT, start, last - start + 1)
        }
    };
    let source = file
        .content
        .read(offset, count)
        .map_err(|_| INTERNAL_ERROR)?;
    let body = match source {
        ReadSource::Memory(chunks) => body::chunks(chunks, true),
        ReadSource::Disk { file, len, blob } => {
            file_body::file(tokio::fs::File::from_std(file), len, true, blob)
        }
    };
    let mut response = exchange.response(status, body);
    describe(&mut response, node, count);
    if status == StatusCode::PARTIAL_CONTENT {
        insert(
            response.headers_mut(),
            CONTENT_RANGE,
            &format!("bytes {}-{}/{total}", offset, offset + count - 1),
        );
    }
    Ok(response)
}

fn properties(
    ctx: &Ctx,
    exchange: &Exchange,
    headers: &HeaderMap,
    fs_name: &str,
    key: &Key,
) -> Outcome {
    let mut inner = ctx.svc.store.lock();
    let tree = &filesystem(&mut inner, fs_name)?.tree;
    let node = tree.get(key).ok_or(PATH_NOT_FOUND)?;
    check_conditions(headers, Some(node), false, true)?;
    let mut response = exchange.empty(StatusCode::OK);
    describe(&mut response, node, node.len());
    let h = response.headers_mut();
    insert(h, HeaderName::from_static("x-ms-owner"), &node.owner);
    insert(h, HeaderName::from_static("x-ms-group"), &node.group);
    insert(
        h,
        HeaderName::from_static("x-ms-permissions"),
        &node.permissions,
    );
    let p = node.permissions.as_bytes();
    if p.len() >= 9 {
        let part = |i: usize| String::from_utf8_lossy(&p[i..i + 3]).into_owned();
        insert(
            h,
            HeaderName::from_static("x-ms-acl"),
            &format!("user::{},group::{},other::{}", part(0), part(3), part(6)),
        );
    }
    Ok(response)
}

fn delete(
    ctx: &Ctx,
    exchange: &Exchange,
    headers: &HeaderMap,
    fs_name: &str,
    key: &Key,
    params: &Params,
) -> Outcome {
    let recursive = params.flag("recursive")?.unwrap_or(false);
    let store = &ctx.svc.store;
    let etag = store.next_etag();
    let removed = {
        let mut inner = store.lock();
        let tree = &mut filesystem(&mut inner, fs_name)?.tree;
        let node = tree.get(key).ok_or(PATH_NOT_FOUND)?;
        check_conditions(headers, Some(node), false, false)?;
        if node.is_dir() && !recursive && tree.has_children(key) {
            return Err(DIRECTORY_NOT_EMPTY.into());
        }
        let removed = tree.remove_subtree(key);
        tree.touch_parent(key, etag);
        removed
    };
    // Dropped outside the lock: on disk this deletes files.
    drop(removed);
    Ok(exchange.empty(StatusCode::OK))
}

fn rename(
    ctx: &Ctx,
    exchange: &Exchange,
    headers: &HeaderMap,
    fs_name: &str,
    from: &Key,
    to: &Key,
) -> Outcome {
    let store = &ctx.svc.store;
    let etag = store.next_etag();
    let replaced = {
        let mut inner = store.lock();
        let tree = &mut filesystem(&mut inner, fs_name)?.tree;
        let source = tree.get(from).ok_or(SOURCE_PATH_NOT_FOUND)?;
        let source_is_dir = source.is_dir();
        if to == from {
            return Ok(with_version(exchange.empty(StatusCode::CREATED), source));
        }
        if to.starts_with(from) {
            return Err(INVALID_RENAME_SOURCE.into());
        }
        if tree.file_ancestor(to).is_some() {
            return Err(PATH_CONFLICT.into());
        }
        if !tree.parent_exists(to) {
            return Err(RENAME_PARENT_NOT_FOUND.into());
        }
        let existing = tree.get(to);
        check_conditions(headers, existing, true, false)?;
        let replaced = match existing {
            None => Vec::new(),
            Some(dest) => {
                // A file replaces a file, a directory an empty directory; nothing else.
                let compatible = if dest.is_dir() {
                    source_is_dir && !tree.has_children(to)
                } else {
                    !source_is_dir
                };
                if !compatible {
                    return Err(PATH_CONFLICT.into());
                }
                tree.remove_subtree(to)
            }
        };
        tree.move_subtree(from, to);
        tree.touch_parent(from, etag);
        tree.touch_parent(to, etag);
        replaced
    };
    drop(replaced);
    let inner = store.lock();
    let node = inner.filesystems.get(fs_name).and_then(|f| f.tree.get(to));
    let response = exchange.empty(StatusCode::CREATED);
    Ok(match node {
        Some(node) => with_version(response, node),
        None => response,
    })
}

fn encode_token(key: &[String]) -> String {
    STANDARD.encode(format!("{TOKEN_PREFIX}{}", key.join("/")))
}

fn decode_token(token: &str) -> Option<Key> {
    let bytes = STANDARD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let path = text.strip_prefix(TOKEN_PREFIX)?;
    store::parse_path(path)
}

fn max_results(params: &Params) -> Result<usize, StorageError> {
    match params.get("maxResults") {
        None => Ok(MAX_RESULTS),
        Some(v) => match v.parse::<usize>() {
            Ok(0) | Err(_) => Err(INVALID_QUERY),
            Ok(n) => Ok(n.min(MAX_RESULTS)),
        },
    }
}

fn path_entry(key: &[String], node: &Node) -> Value {
    let mut entry = Map::new();
    entry.insert("contentLength".into(), json!(node.len().to_string()));
    entry.insert("creationTime".into(), json!(filetime(node.created)));
    entry.insert("etag".into(), json!(etag_text(node.etag)));
    entry.insert("group".into(), json!(node.group));
    if node.is_dir() {
        entry.insert("isDirectory".into(), json!("true"));
    }
    entry.insert("lastModified".into(), json!(http_date(node.modified)));
    entry.insert("name".into(), json!(key.join("/")));
    entry.insert("owner".into(), json!(node.owner));
    entry.insert("permissions".into(), json!(node.permissions));
    Value::Object(entry)
}

fn list_paths(
    ctx: &Ctx,
    exchange: &Exchange,
    fs_name: &str,
    params: &Params,
    check: &dyn Fn(String, Access) -> Result<(), StorageError>,
) -> Outcome {
    let recursive = params.flag("recursive")?.ok_or(MISSING_QUERY)?;
    let limit = max_results(params)?;
    let directory = match params.get("directory") {
        None => Vec::new(),
        Some(d) => store::parse_path(d).ok_or(INVALID_QUERY)?,
    };
    let after = match params.get("continuation") {
        None | Some("") => None,
        Some(token) => Some(decode_token(token).ok_or(INVALID_QUERY)?),
    };
    check(acl_path(fs_name, &directory), Access::Read)?;
    let mut inner = ctx.svc.store.lock();
    let tree = &filesystem(&mut inner, fs_name)?.tree;
    let node = tree.get(&directory).ok_or(PATH_NOT_FOUND)?;
    let mut page: Vec<Value> = Vec::new();
    let mut next = None;
    if node.is_dir() {
        let entries: Box<dyn Iterator<Item = (&Key, &Node)>> = if recursive {
            Box::new(tree.descendants(&directory))
        } else {
            Box::new(tree.children(&directory))
        };
        let mut last: Option<&Key> = None;
        for (key, node) in entries {
            if after.as_ref().is_some_and(|a| key <= a) {
                continue;
            }
            if page.len() == limit {
                next = last.map(|k| encode_token(k));
                break;
            }
            page.push(path_entry(key, node));
            last = Some(key);
        }
    } else if after.is_none() {
        // A file as `directory` lists the file itself.
        page.push(path_entry(&directory, node));
    }
    let mut response = exchange.json(StatusCode::OK, &json!({ "paths": page }));
    if let Some(token) = next {
        insert(
            response.headers_mut(),
            HeaderName::from_static("x-ms-continuation"),
            &token,
        );
    }
    Ok(response)
}

fn list_filesystems(ctx: &Ctx, exchange: &Exchange, params: &Params) -> Outcome {
    let limit = max_results(params)?;
    let prefix = params.get("prefix").unwrap_or("");
    let after = match params.get("continuation") {
        None | Some("") => None,
        Some(token) => Some(decode_token(token).ok_or(INVALID_QUERY)?),
    };
    let after = after.and_then(|k| k.into_iter().next());
    let inner = ctx.svc.store.lock();
    let mut page = Vec::new();
    let mut next = None;
    let mut last: Option<&String> = None;
    for (name, fs) in &inner.filesystems {
        if !name.starts_with(prefix) || after.as_ref().is_some_and(|a| name <= a) {
            continue;
        }
        if page.len() == limit {
            next = last.map(|n| encode_token(std::slice::from_ref(n)));
            break;
        }
        page.push(json!({
            "etag": etag_text(fs.etag),
            "lastModified": http_date(fs.modified),
            "name": name,
        }));
        last = Some(name);
    }
    let mut response = exchange.json(StatusCode::OK, &json!({ "filesystems": page }));
    if let Some(token) = next {
        insert(
            response.headers_mut(),
            HeaderName::from_static("x-ms-continuation"),
            &token,
        );
    }
    Ok(response)
}

fn filesystem_headers(mut response: Response<SvcBody>, fs: &Filesystem) -> Response<SvcBody> {
    let h = response.headers_mut();
    insert(h, ETAG, &quoted(fs.etag));
    insert(h, LAST_MODIFIED, &http_date(fs.modified));
    h.insert("x-ms-namespace-enabled", HeaderValue::from_static("true"));
    response
}

fn create_filesystem(ctx: &Ctx, exchange: &Exchange, name: &str) -> Outcome {
    let store = &ctx.svc.store;
    let (etag, root_etag) = (store.next_etag(), store.next_etag());
    let mut inner = store.lock();
    if inner.filesystems.contains_key(name) {
        return Err(FILESYSTEM_ALREADY_EXISTS.into());
    }
    let fs = inner
        .filesystems
        .entry(name.to_string())
        .or_insert_with(|| Filesystem::new(etag, root_etag));
    Ok(filesystem_headers(exchange.empty(StatusCode::CREATED), fs))
}

fn delete_filesystem(ctx: &Ctx, exchange: &Exchange, name: &str) -> Outcome {
    let removed = ctx
        .svc
        .store
        .lock()
        .filesystems
        .remove(name)
        .ok_or(FILESYSTEM_NOT_FOUND)?;
    drop(removed);
    Ok(exchange.empty(StatusCode::ACCEPTED))
}

fn filesystem_properties(ctx: &Ctx, exchange: &Exchange, name: &str) -> Outcome {
    let mut inner = ctx.svc.store.lock();
    let fs = filesystem(&mut inner, name)?;
    Ok(filesystem_headers(exchange.empty(StatusCode::OK), fs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9"), Some((0, Some(9))));
        assert_eq!(parse_range("bytes=5-"), Some((5, None)));
        assert_eq!(parse_range("bytes=-5"), None);
        assert_eq!(parse_range("bytes=9-0"), None);
        assert_eq!(parse_range("items=0-1"), None);
    }

    #[test]
    fn modes() {
        assert_eq!(parse_mode("rwxr-x---"), Some(0o750));
        assert_eq!(parse_mode("0640"), Some(0o640));
        assert_eq!(parse_mode("rwxrwxrwz"), None);
        assert_eq!(parse_mode("xwr------"), None);
        assert_eq!(symbolic(0o640), "rw-r-----");
    }

    #[test]
    fn tokens_round_trip() {
        let key = store::parse_path("a b/c+d/é").unwrap();
        assert_eq!(decode_token(&encode_token(&key)), Some(key));
        assert_eq!(decode_token("not base64!"), None);
        assert_eq!(decode_token(&STANDARD.encode("other")), None);
    }

    #[test]
    fn targets_and_sources() {
        assert!(matches!(parse_target("/"), Ok(Target::Account)));
        assert!(matches!(parse_target("/fs"), Ok(Target::Filesystem(n)) if n == "fs"));
        assert!(matches!(parse_target("/fs/"), Ok(Target::Filesystem(_))));
        match parse_target("/fs/a%20b/c+d%23") {
            Ok(Target::Path(fs, key)) => {
                assert_eq!(fs, "fs");
                assert_eq!(key, vec!["a b", "c+d#"]);
            }
            _ => panic!("not a path"),
        }
        assert!(parse_target("/FS/x").is_err());
        let (fs, key) =
            parse_rename_source(&HeaderValue::from_static("/fs/a%20b/c+d?sv=1")).unwrap();
        assert_eq!(
            (fs.as_str(), key),
            ("fs", vec!["a b".to_string(), "c+d".into()])
        );
        assert!(parse_rename_source(&HeaderValue::from_static("fs/a")).is_err());
    }

    #[test]
    fn versions() {
        assert!(is_version(&HeaderValue::from_static("2023-11-03")));
        assert!(!is_version(&HeaderValue::from_static("2023-11-3")));
        assert!(!is_version(&HeaderValue::from_static("latest")));
    }
}
