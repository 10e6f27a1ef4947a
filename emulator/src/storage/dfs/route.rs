//! From a request to its handler, in the service's order: `x-ms-version`, the token, what the
//! path addresses, the operation its method and query name, the ACL check.

use hyper::http::request::Parts;
use hyper::{Method, StatusCode};

use super::errors::{
    err, Failure, Outcome, StorageError, AUTH_FAILED_401, INVALID_HEADER, INVALID_QUERY,
    MISSING_HEADER, MISSING_QUERY, PERMISSION_MISMATCH, UNSUPPORTED_VERB,
};
use super::filesystems::{
    create_filesystem, delete_filesystem, filesystem_properties, list_filesystems, list_paths,
};
use super::handlers::{
    append, create, delete, flush, properties, read, rename, set_properties, PathRequest,
};
use super::operation::{acl_path, is_version, parse_rename_source, parse_target, Params, Target};
use crate::common::auth::{self, Access, AuthFailure, Caller};
use crate::common::body::RequestBody;
use crate::common::cae;
use crate::storage::context::Ctx;
use crate::storage::exchange::Exchange;

/// Both spellings Entra ID issues Storage tokens for.
const AUDIENCES: &[&str] = &["https://storage.azure.com/", "https://storage.azure.com"];

/// `x-ms-version` and the bearer token, checked before anything else by both of the account's
/// APIs (DFS and Blob): the caller.
pub(super) fn authenticate(ctx: &Ctx, parts: &Parts) -> Result<Caller, Failure> {
    // Checked first: without a version the service cannot even choose how to authenticate.
    match parts.headers.get("x-ms-version") {
        None => return Err(MISSING_HEADER.into()),
        Some(v) if !is_version(v) => return Err(INVALID_HEADER.into()),
        Some(_) => {}
    }
    cae::authenticate(&ctx.shared, &parts.headers, &ctx.shared.tenant_id, AUDIENCES)
    .map_err(|failure| match failure {
        AuthFailure::Revoked { at } => Failure::Revoked(at),
        AuthFailure::Missing => err(
            StatusCode::UNAUTHORIZED,
            "NoAuthenticationInformation",
            AUTH_FAILED_401,
        )
        .into(),
        // Another scheme (SharedKey, a SAS signature) failing is a 403 in Storage.
        AuthFailure::NotBearer => err(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
        )
        .into(),
        _ => err(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationInfo",
            AUTH_FAILED_401,
        )
        .into(),
    })
}

/// Checks an ACL rule of the caller's: the service's 403 when it denies.
pub(super) fn check_acl(
    ctx: &Ctx,
    caller: &Caller,
    path: String,
    access: Access,
) -> Result<(), StorageError> {
    if auth::permits(&ctx.svc.acl, &caller.object_id, &path, access) {
        Ok(())
    } else {
        Err(PERMISSION_MISMATCH)
    }
}

pub(super) async fn dispatch(
    ctx: &Ctx,
    exchange: &Exchange,
    parts: &Parts,
    body: &mut RequestBody,
) -> Outcome {
    let caller = authenticate(ctx, parts)?;
    let target = parse_target(parts.uri.path())?;
    let params = Params::parse(parts.uri.query().unwrap_or(""));
    let check = |path: String, access: Access| check_acl(ctx, &caller, path, access);
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
        Target::Path(fs_name, key) => {
            let at = PathRequest {
                ctx,
                exchange,
                headers: &parts.headers,
                fs_name: &fs_name,
                key: &key,
            };
            match *method {
                Method::PUT => {
                    if let Some(source) = parts.headers.get("x-ms-rename-source") {
                        let (src_fs, src_key) = parse_rename_source(source, &ctx.svc.account)?;
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
                    create(at, directory, owner)
                }
                Method::PATCH => {
                    check(acl_path(&fs_name, &key), Access::Write)?;
                    match params.get("action") {
                        Some("append") => append(at, body, &params).await,
                        Some("flush") => flush(at, &params),
                        Some("setProperties") => set_properties(at, false),
                        Some("setAccessControl") => set_properties(at, true),
                        None => Err(MISSING_QUERY.into()),
                        Some(_) => Err(INVALID_QUERY.into()),
                    }
                }
                Method::GET => {
                    check(acl_path(&fs_name, &key), Access::Read)?;
                    read(at)
                }
                Method::HEAD => {
                    check(acl_path(&fs_name, &key), Access::Read)?;
                    match params.get("action") {
                        None | Some("getStatus") | Some("getAccessControl") => {}
                        Some(_) => return Err(INVALID_QUERY.into()),
                    }
                    properties(at)
                }
                Method::DELETE => {
                    check(acl_path(&fs_name, &key), Access::Write)?;
                    delete(at, &params)
                }
                _ => Err(UNSUPPORTED_VERB.into()),
            }
        }
    }
}
