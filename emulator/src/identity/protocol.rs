//! The request flow the non-IMDS token sources share, with what differs between them passed in:
//! the opening of every handler (count, record, fault, method), the `Metadata: true` check,
//! and the two answer families — App Service's (App Service, Azure ML) and the system-assigned
//! hosts' IMDS-shaped one (Arc, Cloud Shell).

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};
use serde_json::json;

use super::issue::{self, first, Revocable, Selector};
use crate::common::managed_identity::IdentityConfig;
use crate::common::response::{self, Body, DropConnection};
use crate::common::state::Shared;
use crate::common::util::{ordered_object, random_guid};

/// What a source's handler returns.
pub(crate) type Handled = Result<Response<Body>, DropConnection>;

/// Counts, records and faults the request (`issue::begin`), then refuses any method but
/// `method` (`"GET"`, `"POST"`). `Err` is the finished answer; `Ok` hands the request on to the
/// source's own checks.
pub(crate) async fn open(
    shared: &Shared,
    req: Request<Incoming>,
    method: &'static str,
) -> Result<(Parts, Incoming), Handled> {
    let (parts, body) = req.into_parts();
    if let Err(outcome) = issue::begin(shared, &parts).await {
        return Err(outcome.into_result());
    }
    if parts.method.as_str() != method {
        return Err(Ok(response::method_not_allowed(method)));
    }
    Ok((parts, body))
}

/// IMDS's `Metadata: true` header check (Arc, Cloud Shell): IMDS's error when it is missing.
pub(crate) fn metadata_refusal(parts: &Parts) -> Option<Response<Body>> {
    let metadata = parts.headers.get("metadata").and_then(|v| v.to_str().ok());
    if metadata.is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return None;
    }
    Some(response::error(
        StatusCode::BAD_REQUEST,
        "bad_request_102",
        "Required metadata header not specified",
    ))
}

/// Entra ID's refusal of a resource it does not know, as the sources relay it.
pub(crate) fn unknown_resource(shared: &Shared, resource: &str) -> String {
    format!(
        "AADSTS500011: The resource principal named {resource} was not found in the tenant named {}.",
        shared.tenant_id
    )
}

/// App Service's protocol after its secret and api-version checks (shared with Azure ML's older
/// version): `resource` required, then the identity `choose` selects from the query (`Err` is
/// the message of a bad request), then the token with `expires_on` as an epoch-seconds string.
/// With `revocable` (App Service, not Azure ML) the token comes from the endpoint's own cache,
/// and `xms_cc` and `token_sha256_to_refresh` are honoured (`issue::cached_or_minted`).
pub(crate) fn app_service_token<'q>(
    shared: &Shared,
    query: &'q [(String, String)],
    revocable: bool,
    choose: impl FnOnce(&'q [(String, String)]) -> Result<Option<Selector<'q>>, &'static str>,
) -> Response<Body> {
    let resource = match first(query, "resource") {
        Some(r) if !r.is_empty() => r,
        _ => {
            return app_service_error(
                StatusCode::BAD_REQUEST,
                "The resource query parameter is required",
            )
        }
    };
    let selector = match choose(query) {
        Ok(selector) => selector,
        Err(message) => return app_service_error(StatusCode::BAD_REQUEST, message),
    };
    let Some(identity) = issue::select_identity(shared, selector) else {
        return app_service_error(
            StatusCode::BAD_REQUEST,
            "Unable to load the proper Managed Identity.",
        );
    };
    if !issue::knows_resource(shared, resource) {
        return app_service_error(StatusCode::BAD_REQUEST, &unknown_resource(shared, resource));
    }

    let minted = if revocable {
        issue::cached_or_minted(shared, identity, resource, &Revocable::from_query(query))
    } else {
        issue::mint(shared, identity, resource, &[])
    };
    response::json_text(
        StatusCode::OK,
        ordered_object(&[
            ("access_token", json!(minted.access_token)),
            ("expires_on", json!(minted.expires_on.to_string())),
            ("resource", json!(resource)),
            ("token_type", json!("Bearer")),
            ("client_id", json!(identity.client_id)),
        ]),
    )
}

/// App Service's error body `{"statusCode","message","correlationId"}`, which MSAL reads.
pub(crate) fn app_service_error(status: StatusCode, message: &str) -> Response<Body> {
    response::json(
        status,
        &json!({
            "statusCode": status.as_u16(),
            "message": message,
            "correlationId": random_guid(),
        }),
    )
}

/// How a host with only the system-assigned identity words its refusals.
pub(crate) struct SystemAssignedHost {
    /// `resource` is absent or empty.
    pub missing_resource: &'static str,
    /// The request names a user-assigned identity.
    pub user_assigned_refused: &'static str,
}

/// The identity selectors IMDS knows; a system-assigned-only host refuses any of them.
const IMDS_SELECTORS: [&str; 4] = ["client_id", "object_id", "msi_res_id", "mi_res_id"];

impl SystemAssignedHost {
    /// The rest of the request once the host's own checks passed: `resource` from `pairs` (query
    /// or form), no user-assigned selector, the system-assigned identity, then an IMDS-shaped
    /// token answer.
    pub(crate) fn token(&self, shared: &Shared, pairs: &[(String, String)]) -> Response<Body> {
        let resource = match first(pairs, "resource") {
            Some(r) if !r.is_empty() => r,
            _ => return invalid_request(self.missing_resource),
        };
        if IMDS_SELECTORS
            .iter()
            .any(|name| first(pairs, name).is_some())
        {
            return invalid_request(self.user_assigned_refused);
        }
        let Some(identity) = shared.system_assigned.as_ref() else {
            return invalid_request("Identity not found");
        };
        if !issue::knows_resource(shared, resource) {
            return response::error(
                StatusCode::BAD_REQUEST,
                "invalid_resource",
                &unknown_resource(shared, resource),
            );
        }
        imds_shaped_token(shared, identity, resource)
    }
}

fn imds_shaped_token(shared: &Shared, identity: &IdentityConfig, resource: &str) -> Response<Body> {
    let minted = issue::mint(shared, identity, resource, &[]);
    response::json_text(
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
    )
}

/// IMDS's `invalid_request` error.
pub(crate) fn invalid_request(description: &str) -> Response<Body> {
    response::error(StatusCode::BAD_REQUEST, "invalid_request", description)
}
