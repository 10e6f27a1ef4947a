//! Cloud Shell: `POST $MSI_ENDPOINT` with the form body `resource=…` and `Metadata: true`. Only
//! the signed-in user's (here: the system-assigned) identity exists, so a request naming a
//! user-assigned identity is refused. Answers and errors have IMDS's shape.

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::Request;

use super::protocol::{self, invalid_request, Handled, SystemAssignedHost};
use crate::common::state::Shared;

pub(crate) const TOKEN_PATH: &str = "/oauth2/token";

/// A form of a few fields; anything larger is not a token request.
const BODY_LIMIT: usize = 64 * 1024;

/// Cloud Shell's wording of the refusals every system-assigned-only host shares.
const HOST: SystemAssignedHost = SystemAssignedHost {
    missing_resource: "Required form field 'resource' is missing",
    user_assigned_refused: "Cloud Shell supports only the signed-in user's identity; user-assigned identities are not available",
};

pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Handled {
    let (parts, body) = match protocol::open(shared, req, "POST").await {
        Ok(opened) => opened,
        Err(done) => return done,
    };
    if let Some(refused) = protocol::metadata_refusal(&parts) {
        return Ok(refused);
    }
    let Ok(body) = Limited::new(body, BODY_LIMIT).collect().await else {
        return Ok(invalid_request("The request body could not be read"));
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&body.to_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Ok(HOST.token(shared, &form))
}
