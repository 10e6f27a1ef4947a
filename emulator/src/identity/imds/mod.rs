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
    path == TOKEN_PATH || path == instance::COMPUTE_PATH || path == instance::INSTANCE_PATH
}

/// Answers a request for one of the paths [`serves`] accepts (IMDS requests have no body).
pub(crate) async fn handle(
    shared: &Shared,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let (parts, _body) = req.into_parts();
    if parts.uri.path() == TOKEN_PATH {
        match token::handle(shared, &parts).await {
            token::Outcome::Respond(response) => Ok(response),
            token::Outcome::Drop => Err(DropConnection),
        }
    } else {
        Ok(instance::handle(shared, &parts))
    }
}
