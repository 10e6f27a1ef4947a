//! Azure Arc's himds agent (api-version 2020-06-01 or 2019-11-01): `GET $IDENTITY_ENDPOINT` with
//! `Metadata: true` is first answered 401 with `WWW-Authenticate: Basic realm=<file>.key`, a
//! file only a privileged local user could read on a real machine; the client proves it can by
//! resending with `Authorization: Basic <file contents>`. The emulator writes that file into a
//! temporary tokens folder it creates ([`crate::Emulator::arc_tokens_dir`]). Arc machines have
//! only a system-assigned identity. Answers and errors have IMDS's shape.

use std::path::{Path, PathBuf};

use hyper::body::Incoming;
use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::issue::{self, first, query_pairs};
use crate::common::response::{self, Body, DropConnection};
use crate::common::state::Shared;
use crate::common::util::{ordered_object, random_guid};

/// The versions the agent accepts: the documented one, and 2019-11-01, which MSAL (and so
/// Azure.Identity) sends.
pub(crate) const API_VERSIONS: [&str; 2] = ["2020-06-01", "2019-11-01"];

/// Writes a fresh key file (named like the agent's, a GUID with `.key`) holding `secret` in
/// `dir`, readable by the owner only as the agent's are.
pub(crate) fn write_key_file(dir: &Path, secret: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(format!("{}.key", random_guid()));
    std::fs::write(&path, secret)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(path)
}

pub(crate) async fn handle(
    shared: &Shared,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let (parts, _body) = req.into_parts();
    if let Err(outcome) = issue::begin(shared, &parts).await {
        return outcome.into_result();
    }
    if parts.method != Method::GET {
        return Ok(response::method_not_allowed("GET"));
    }
    let metadata = parts.headers.get("metadata").and_then(|v| v.to_str().ok());
    if !metadata.is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return Ok(response::error(
            StatusCode::BAD_REQUEST,
            "bad_request_102",
            "Required metadata header not specified",
        ));
    }
    let query = query_pairs(&parts);
    if !first(&query, "api-version").is_some_and(|v| API_VERSIONS.contains(&v)) {
        return Ok(invalid_request(&format!(
            "Invalid api-version; the supported versions are {}",
            API_VERSIONS.join(", ")
        )));
    }

    // The challenge comes before any other check, as the agent's does: every first request
    // without credentials gets it, and a wrong key gets it again.
    let authorized = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .is_some_and(|key| key.trim() == shared.source_secret);
    if !authorized {
        return Ok(challenge(shared));
    }

    let resource = match first(&query, "resource") {
        Some(r) if !r.is_empty() => r,
        _ => {
            return Ok(invalid_request(
                "Required query variable 'resource' is missing",
            ))
        }
    };
    if ["client_id", "object_id", "msi_res_id", "mi_res_id"]
        .iter()
        .any(|name| first(&query, name).is_some())
    {
        return Ok(invalid_request(
            "Azure Arc supports only the system-assigned identity",
        ));
    }
    let Some(identity) = shared.system_assigned.as_ref() else {
        return Ok(invalid_request("Identity not found"));
    };
    if !issue::knows_resource(shared, resource) {
        return Ok(response::error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            &format!(
                "AADSTS500011: The resource principal named {resource} was not found in the tenant named {}.",
                shared.tenant_id
            ),
        ));
    }

    let minted = issue::mint(shared, identity, resource);
    Ok(response::json_text(
        StatusCode::OK,
        ordered_object(&[
            ("access_token", json!(minted.access_token)),
            ("refresh_token", json!("")),
            ("expires_in", json!(minted.lifetime.to_string())),
            ("expires_on", json!(minted.expires_on.to_string())),
            ("not_before", json!(minted.issued_at.to_string())),
            ("resource", json!(resource)),
            ("token_type", json!("Bearer")),
        ]),
    ))
}

fn challenge(shared: &Shared) -> Response<Body> {
    let mut response = response::error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Authorization with the key file named in WWW-Authenticate is required",
    );
    let realm = shared
        .arc_key_file
        .as_ref()
        .map(|p| format!("Basic realm={}", p.display()))
        .unwrap_or_else(|| "Basic realm=".to_string());
    if let Ok(value) = HeaderValue::from_str(&realm) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

fn invalid_request(description: &str) -> Response<Body> {
    response::error(StatusCode::BAD_REQUEST, "invalid_request", description)
}
