//! Entra ID's token endpoint errors, with the `AADSTS` codes and body it sends:
//! `{"error","error_description","error_codes","timestamp","trace_id","correlation_id","error_uri"}`.

use chrono::{DateTime, Utc};
use hyper::{Response, StatusCode};
use serde_json::json;

use crate::common::response::{self, Body};
use crate::common::state::Shared;
use crate::common::util::random_guid;

#[derive(Debug)]
pub(super) enum EntraError {
    TenantNotFound(String),
    MalformedBody,
    MissingParameter(&'static str),
    UnsupportedGrantType(String),
    UnknownApplication(String),
    ScopeNotDefault(String),
    UnknownResource(String),
    AssertionType(String),
    MalformedAssertion,
    /// `claims` is not a JSON object.
    MalformedClaims,
    OutsideValidTime {
        now: u64,
        nbf: u64,
        exp: u64,
    },
    UnknownIssuer(String),
    UnknownAudience(String),
    NoMatchingRecord {
        iss: String,
        sub: String,
        aud: String,
    },
}

impl EntraError {
    /// (status, error, AADSTS number, description without the `AADSTSn: ` prefix).
    fn parts(&self, tenant: &str) -> (StatusCode, &'static str, u32, String) {
        use EntraError::*;
        let bad = StatusCode::BAD_REQUEST;
        match self {
            TenantNotFound(t) => (StatusCode::BAD_REQUEST, "invalid_request", 90002, format!(
                "Tenant '{t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            )),
            MalformedBody => (bad, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.".into()),
            MissingParameter(name) => (bad, "invalid_request", 900144, format!(
                "The request body must contain the following parameter: '{name}'."
            )),
            UnsupportedGrantType(g) => (bad, "unsupported_grant_type", 70003, format!(
                "The app requested an unsupported grant type '{g}'."
            )),
            UnknownApplication(id) => (bad, "unauthorized_client", 700016, format!(
                "Application with identifier '{id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            )),
            ScopeNotDefault(scope) => (bad, "invalid_scope", 1002012, format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            )),
            UnknownResource(r) => (bad, "invalid_resource", 500011, format!(
                "The resource principal named {r} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            )),
            AssertionType(t) => (bad, "invalid_request", 700023, format!(
                "Invalid client_assertion_type '{t}'; only 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' is supported."
            )),
            MalformedAssertion => (bad, "invalid_request", 50027, "JWT token is invalid or malformed.".into()),
            MalformedClaims => (bad, "invalid_request", 50117, "Failed to deserialize policy specified in the request's claim parameter.".into()),
            OutsideValidTime { now, nbf, exp } => (StatusCode::UNAUTHORIZED, "invalid_client", 700024, format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
                iso(*now), iso(*nbf), iso(*exp)
            )),
            UnknownIssuer(iss) => (bad, "invalid_request", 700211, format!(
                "No matching federated identity record found for presented assertion issuer '{iss}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion."
            )),
            UnknownAudience(aud) => (bad, "invalid_request", 700212, format!(
                "No matching federated identity record found for presented assertion audience '{aud}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion."
            )),
            NoMatchingRecord { iss, sub, aud } => (bad, "invalid_request", 70021, format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud}'."
            )),
        }
    }

    pub(super) fn response(&self, shared: &Shared) -> Response<Body> {
        let (status, error, code, description) = self.parts(&shared.tenant_id);
        let trace_id = random_guid();
        let correlation_id = random_guid();
        let timestamp = Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
        response::json(
            status,
            &json!({
                "error": error,
                "error_description": format!(
                    "AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"
                ),
                "error_codes": [code],
                "timestamp": timestamp,
                "trace_id": trace_id,
                "correlation_id": correlation_id,
                "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
            }),
        )
    }
}

fn iso(epoch: u64) -> String {
    i64::try_from(epoch)
        .ok()
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}
