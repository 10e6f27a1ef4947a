//! Azure Machine Learning compute (api-version 2017-09-01, App Service's older protocol):
//! `GET $MSI_ENDPOINT` with the `secret: $MSI_SECRET` header, `resource`, and `clientid` (SDKs
//! send `DEFAULT_IDENTITY_CLIENT_ID`, the compute's own identity, when no user-assigned one is
//! asked for). A wrong secret is answered in plain text, as the service does.

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::issue::{self, first, query_pairs, Selector};
use crate::common::response::{self, Body, DropConnection};
use crate::common::state::Shared;
use crate::common::util::{ordered_object, random_guid};

pub(crate) const TOKEN_PATH: &str = "/msi/token";
pub(crate) const API_VERSION: &str = "2017-09-01";

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
    let resource = match first(&query, "resource") {
        Some(r) if !r.is_empty() => r,
        _ => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                "The resource query parameter is required",
            ))
        }
    };
    let selector = first(&query, "clientid")
        .filter(|id| !id.is_empty())
        .map(Selector::Client);
    let Some(identity) = issue::select_identity(shared, selector) else {
        return Ok(error(
            StatusCode::BAD_REQUEST,
            "Unable to load the proper Managed Identity.",
        ));
    };
    if !issue::knows_resource(shared, resource) {
        return Ok(error(
            StatusCode::BAD_REQUEST,
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
            ("expires_on", json!(minted.expires_on.to_string())),
            ("resource", json!(resource)),
            ("token_type", json!("Bearer")),
            ("client_id", json!(identity.client_id)),
        ]),
    ))
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    response::json(
        status,
        &json!({
            "statusCode": status.as_u16(),
            "message": message,
            "correlationId": random_guid(),
        }),
    )
}

fn plain_text(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}
