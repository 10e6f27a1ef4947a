//! App Service and Functions (api-version 2019-08-01): `GET $IDENTITY_ENDPOINT` with the
//! `X-IDENTITY-HEADER: $IDENTITY_HEADER` secret, `resource`, and a user-assigned identity chosen
//! by `client_id`, `object_id` or `mi_res_id`. Errors are App Service's
//! `{"statusCode","message","correlationId"}`, which MSAL reads.

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::issue::{self, first, query_pairs, Selector};
use crate::common::response::{self, Body, DropConnection};
use crate::common::state::Shared;
use crate::common::util::{ordered_object, random_guid};

/// The token path of `IDENTITY_ENDPOINT` (App Service's local token service uses `/msi/token`).
pub(crate) const TOKEN_PATH: &str = "/msi/token";
pub(crate) const API_VERSION: &str = "2019-08-01";

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
    let resource = match first(&query, "resource") {
        Some(r) if !r.is_empty() => r,
        _ => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                "The resource query parameter is required",
            ))
        }
    };

    let selectors: Vec<Selector> = [
        first(&query, "client_id").map(Selector::Client),
        first(&query, "object_id").map(Selector::Object),
        first(&query, "mi_res_id").map(Selector::Resource),
    ]
    .into_iter()
    .flatten()
    .collect();
    if selectors.len() > 1 {
        return Ok(error(
            StatusCode::BAD_REQUEST,
            "Only one of client_id, object_id or mi_res_id may be specified",
        ));
    }
    let Some(identity) = issue::select_identity(shared, selectors.first().copied()) else {
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
    // `expires_on` is an epoch-seconds string in this api-version.
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
