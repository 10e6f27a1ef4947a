//! The Azure Instance Metadata Service as a VM sees it: the managed-identity token endpoint
//! (`token.rs`) and the instance metadata beside it (`instance.rs`), with the checks every
//! IMDS category shares (`request.rs`).

mod instance;
mod request;
mod token;

use hyper::body::Incoming;
use hyper::{Request, Response};

use crate::common::response::{Body, DropConnection};
use crate::common::state::Shared;
pub(crate) use token::TOKEN_PATH;

/// Whether `path` is an IMDS endpoint the emulator serves.
pub(crate) fn serves(path: &str) -> bool {
    is_token_path(path) || path == instance::COMPUTE_PATH || path == instance::INSTANCE_PATH
}

/// The token endpoint, with or without a trailing slash: msal-node (under the JavaScript SDKs)
/// asks for `…/oauth2/token/` when `AZURE_POD_IDENTITY_AUTHORITY_HOST` names the endpoint, and
/// the pod identity and VM endpoints answer both.
fn is_token_path(path: &str) -> bool {
    path.strip_suffix('/').unwrap_or(path) == TOKEN_PATH
}

/// Answers a request for one of the paths [`serves`] accepts (IMDS requests have no body).
pub(crate) async fn handle(
    shared: &Shared,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let (parts, _body) = req.into_parts();
    if is_token_path(parts.uri.path()) {
        match token::handle(shared, &parts).await {
            token::Outcome::Respond(response) => Ok(response),
            token::Outcome::Drop => Err(DropConnection),
        }
    } else {
        Ok(instance::handle(shared, &parts))
    }
}
