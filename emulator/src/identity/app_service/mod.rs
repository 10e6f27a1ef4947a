//! App Service and Functions (api-version 2019-08-01): `GET $IDENTITY_ENDPOINT` with the
//! `X-IDENTITY-HEADER: $IDENTITY_HEADER` secret, `resource`, and a user-assigned identity chosen
//! by `client_id`, `object_id` or `mi_res_id`. Errors are App Service's
//! `{"statusCode","message","correlationId"}`, which MSAL reads. Tokens come from the
//! endpoint's own cache; `xms_cc` and `token_sha256_to_refresh` are honoured (continuous access
//! evaluation).

use hyper::body::Incoming;
use hyper::{Request, StatusCode};

use super::issue::{first, query_pairs, Selector};
use super::protocol::{self, app_service_error as error, Handled};
use crate::common::state::Shared;

/// The token path of `IDENTITY_ENDPOINT` (App Service's local token service uses `/msi/token`).
pub(crate) const TOKEN_PATH: &str = "/msi/token";
pub(crate) const API_VERSION: &str = "2019-08-01";

pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Handled {
    let (parts, _body) = match protocol::open(shared, req, "GET").await {
        Ok(opened) => opened,
        Err(done) => return done,
    };

    // The secret guards the local endpoint against SSRF: absent is a bad request, wrong is
    // unauthorised.
    let Some(header) = parts.headers.get("x-identity-header") else {
        return Ok(error(
            StatusCode::BAD_REQUEST,
            "The X-IDENTITY-HEADER header is required",
        ));
    };
    if header.as_bytes() != shared.source_secret.as_bytes() {
        return Ok(error(
            StatusCode::UNAUTHORIZED,
            "The X-IDENTITY-HEADER header value is invalid",
        ));
    }

    let query = query_pairs(&parts);
    match first(&query, "api-version") {
        Some(API_VERSION) => {}
        Some(other) => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                &format!("The api-version '{other}' is not supported; use {API_VERSION}"),
            ))
        }
        None => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                "The api-version query parameter is required",
            ))
        }
    }
    Ok(protocol::app_service_token(shared, &query, true, |query| {
        let selectors: Vec<Selector> = [
            first(query, "client_id").map(Selector::Client),
            first(query, "object_id").map(Selector::Object),
            first(query, "mi_res_id").map(Selector::Resource),
        ]
        .into_iter()
        .flatten()
        .collect();
        match selectors.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err("Only one of client_id, object_id or mi_res_id may be specified"),
        }
    }))
}
