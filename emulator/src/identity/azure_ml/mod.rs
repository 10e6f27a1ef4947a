//! Azure Machine Learning compute (api-version 2017-09-01, App Service's older protocol):
//! `GET $MSI_ENDPOINT` with the `secret: $MSI_SECRET` header, `resource`, and `clientid` (SDKs
//! send `DEFAULT_IDENTITY_CLIENT_ID`, the compute's own identity, when no user-assigned one is
//! asked for). A wrong secret is answered in plain text, as the service does.

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};

use super::issue::{first, query_pairs, Selector};
use super::protocol::{self, app_service_error as error, Handled};
use crate::common::response::Body;
use crate::common::state::Shared;

pub(crate) const TOKEN_PATH: &str = "/msi/token";
pub(crate) const API_VERSION: &str = "2017-09-01";

pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Handled {
    let (parts, _body) = match protocol::open(shared, req, "GET").await {
        Ok(opened) => opened,
        Err(done) => return done,
    };

    let secret = parts
        .headers
        .get("secret")
        .map(|v| v.as_bytes())
        .unwrap_or(b"");
    if secret != shared.source_secret.as_bytes() {
        // The service echoes what it got; the emulator does not, so no secret reaches a log.
        return Ok(plain_text(
            StatusCode::UNAUTHORIZED,
            "Invalid secret token header: .",
        ));
    }

    let query = query_pairs(&parts);
    match first(&query, "api-version") {
        Some(API_VERSION) => {}
        other => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "The api-version '{}' is not supported; use {API_VERSION}",
                    other.unwrap_or("")
                ),
            ))
        }
    }
    // Azure ML's older protocol takes no capabilities and no hash of a refused token.
    Ok(protocol::app_service_token(
        shared,
        &query,
        false,
        |query| {
            Ok(first(query, "clientid")
                .filter(|id| !id.is_empty())
                .map(Selector::Client))
        },
    ))
}

fn plain_text(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}
