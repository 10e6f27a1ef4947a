//! Cloud Shell: `POST $MSI_ENDPOINT` with the form body `resource=…` and `Metadata: true`. Only
//! the signed-in user's (here: the system-assigned) identity exists, so a request naming a
//! user-assigned identity is refused. Answers and errors have IMDS's shape.

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::issue::{self, first};
use crate::common::response::{self, Body, DropConnection};
use crate::common::state::Shared;
use crate::common::util::ordered_object;

pub(crate) const TOKEN_PATH: &str = "/oauth2/token";

/// A form of a few fields; anything larger is not a token request.
const BODY_LIMIT: usize = 64 * 1024;

pub(crate) async fn handle(
    shared: &Shared,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let (parts, body) = req.into_parts();
    if let Err(outcome) = issue::begin(shared, &parts).await {
        return outcome.into_result();
    }
    if parts.method != Method::POST {
        return Ok(response::method_not_allowed("POST"));
    }
    let metadata = parts.headers.get("metadata").and_then(|v| v.to_str().ok());
    if !metadata.is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return Ok(response::error(
            StatusCode::BAD_REQUEST,
            "bad_request_102",
            "Required metadata header not specified",
        ));
    }
    let Ok(body) = Limited::new(body, BODY_LIMIT).collect().await else {
        return Ok(invalid_request("The request body could not be read"));
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&body.to_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();

    let resource = match first(&form, "resource") {
        Some(r) if !r.is_empty() => r,
        _ => return Ok(invalid_request("Required form field 'resource' is missing")),
    };
    if ["client_id", "object_id", "msi_res_id", "mi_res_id"]
        .iter()
        .any(|name| first(&form, name).is_some())
    {
        return Ok(invalid_request(
            "Cloud Shell supports only the signed-in user's identity; user-assigned identities are not available",
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

fn invalid_request(description: &str) -> Response<Body> {
    response::error(StatusCode::BAD_REQUEST, "invalid_request", description)
}
