//! Azure Arc's himds agent (api-version 2020-06-01 or 2019-11-01): `GET $IDENTITY_ENDPOINT` with
//! `Metadata: true` is first answered 401 with `WWW-Authenticate: Basic realm=<file>.key`, a
//! file only a privileged local user could read on a real machine; the client proves it can by
//! resending with `Authorization: Basic <file contents>`. The emulator writes that file into a
//! temporary tokens folder it creates ([`crate::Emulator::arc_tokens_dir`]). Arc machines have
//! only a system-assigned identity. Answers and errors have IMDS's shape.

use std::path::{Path, PathBuf};

use hyper::body::Incoming;
use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};

use super::issue::{first, query_pairs};
use super::protocol::{self, invalid_request, Handled, SystemAssignedHost};
use crate::common::response::{self, Body};
use crate::common::state::Shared;
use crate::common::util::random_guid;

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

/// Arc's wording of the refusals every system-assigned-only host shares.
const HOST: SystemAssignedHost = SystemAssignedHost {
    missing_resource: "Required query variable 'resource' is missing",
    user_assigned_refused: "Azure Arc supports only the system-assigned identity",
};

pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Handled {
    let (parts, _body) = match protocol::open(shared, req, "GET").await {
        Ok(opened) => opened,
        Err(done) => return done,
    };
    if let Some(refused) = protocol::metadata_refusal(&parts) {
        return Ok(refused);
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
    Ok(HOST.token(shared, &query))
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
