//! Service Fabric's managed identity token service (api-version 2019-07-01-preview or
//! 2020-05-01), over HTTPS
//! with a self-signed certificate that clients pin by `IDENTITY_SERVER_THUMBPRINT`:
//! `GET $IDENTITY_ENDPOINT` with the `Secret: $IDENTITY_HEADER` header and `resource`. Errors
//! are Service Fabric's `{"error":{"correlationId","code","message"}}`; `expires_on` is a
//! number.

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::json;

use super::issue::{self, first, query_pairs, Selector};
use super::protocol::{self, Handled};
use crate::common::response::{self, Body};
use crate::common::state::Shared;
use crate::common::util::{ordered_object, random_guid};

pub(crate) const TOKEN_PATH: &str = "/metadata/identity/oauth2/token";
/// The versions the token service accepts: the documented preview, and the one current
/// clusters announce in `IDENTITY_API_VERSION` (which MSAL sends).
pub(crate) const API_VERSIONS: [&str; 2] = ["2019-07-01-preview", "2020-05-01"];

pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Handled {
    let (parts, _body) = match protocol::open(shared, req, "GET").await {
        Ok(opened) => opened,
        Err(done) => return done,
    };

    let Some(secret) = parts.headers.get("secret") else {
        return Ok(error(
            StatusCode::UNAUTHORIZED,
            "SecretHeaderNotFound",
            "Secret is not found in the request headers.",
        ));
    };
    // An unknown secret means an unknown application host.
    if secret.as_bytes() != shared.source_secret.as_bytes() {
        return Ok(identity_not_found());
    }
    let query = query_pairs(&parts);
    let api_version = first(&query, "api-version").unwrap_or("");
    if !API_VERSIONS.contains(&api_version) {
        return Ok(error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersion",
            &format!(
                "The api-version '{api_version}' is not supported. Supported versions are '{}'.",
                API_VERSIONS.join("', '")
            ),
        ));
    }
    let resource = match first(&query, "resource") {
        Some(r) if !r.is_empty() => r,
        _ => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                "ArgumentNullOrEmpty",
                "The parameter 'resource' should not be null or empty string.",
            ))
        }
    };
    let selector = [
        first(&query, "client_id").map(Selector::Client),
        first(&query, "object_id").map(Selector::Object),
        first(&query, "mi_res_id").map(Selector::Resource),
    ]
    .into_iter()
    .flatten()
    .next();
    let Some(identity) = issue::select_identity(shared, selector) else {
        return Ok(identity_not_found());
    };
    if !issue::knows_resource(shared, resource) {
        // The token service relays Entra ID's refusal as an internal error (docs: "most likely
        // an incorrect value for the resource, check the trailing '/'").
        return Ok(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            &format!(
                "An error occurred. {}",
                protocol::unknown_resource(shared, resource)
            ),
        ));
    }

    // The token service keeps its own cache; `xms_cc` and `token_sha256_to_refresh` as App
    // Service's.
    let minted = issue::cached_or_minted(
        shared,
        identity,
        resource,
        &issue::Revocable::from_query(&query),
    );
    Ok(response::json_text(
        StatusCode::OK,
        ordered_object(&[
            ("token_type", json!("Bearer")),
            ("access_token", json!(minted.access_token)),
            ("expires_on", json!(minted.expires_on)),
            ("resource", json!(resource)),
        ]),
    ))
}

fn identity_not_found() -> Response<Body> {
    error(
        StatusCode::NOT_FOUND,
        "ManagedIdentityNotFound",
        "Managed identity not found for the specified application host.",
    )
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    response::json(
        status,
        &json!({ "error": { "correlationId": random_guid(), "code": code, "message": message } }),
    )
}
