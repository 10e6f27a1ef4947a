//! AKS workload identity: an Entra ID v2 token endpoint, `POST /{tenant}/oauth2/v2.0/token`,
//! where a client exchanges the token in `AZURE_FEDERATED_TOKEN_FILE` (an OIDC issuer's token
//! about a Kubernetes service account) as a client assertion for an access token of the
//! application `AZURE_CLIENT_ID` federated with it. The assertion's `iss`, `sub`, `aud` and
//! time range are checked against the configured federated credential, with Entra ID's errors
//! (`AADSTS…`, `error_codes`, trace and correlation ids). Its signature is not checked: the
//! emulator has no issuer keys to fetch, and tests bring their own assertions. Beside it, the
//! discovery documents MSAL reads before it first asks for a token.

mod assertion;
mod errors;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::issue::{self, first};
use crate::common::response::{self, Body, DropConnection};
use crate::common::state::Shared;
use crate::common::util::ordered_object;
use errors::EntraError;

const TOKEN_SUFFIX: &str = "/oauth2/v2.0/token";
const OPENID_SUFFIX: &str = "/v2.0/.well-known/openid-configuration";
const INSTANCE_DISCOVERY: &str = "/common/discovery/instance";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// A form of a few fields and one token; anything larger is not a token request.
const BODY_LIMIT: usize = 64 * 1024;

/// Whether `path` is one of the endpoints this source serves.
pub(crate) fn serves(path: &str) -> bool {
    path == INSTANCE_DISCOVERY
        || tenant_of(path, TOKEN_SUFFIX).is_some()
        || tenant_of(path, OPENID_SUFFIX).is_some()
}

/// The tenant segment of `/{tenant}{suffix}`.
fn tenant_of<'a>(path: &'a str, suffix: &str) -> Option<&'a str> {
    let tenant = path.strip_prefix('/')?.strip_suffix(suffix)?;
    (!tenant.is_empty() && !tenant.contains('/')).then_some(tenant)
}

pub(crate) async fn handle(
    shared: &Shared,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let path = req.uri().path().to_string();
    let base = shared.authority_base.as_str();
    if path == INSTANCE_DISCOVERY {
        return Ok(instance_discovery(shared, base));
    }
    if let Some(tenant) = tenant_of(&path, OPENID_SUFFIX) {
        return Ok(openid_configuration(base, tenant));
    }
    let (parts, body) = req.into_parts();
    if let Err(outcome) = issue::begin(shared, &parts).await {
        return outcome.into_result();
    }
    if parts.method != Method::POST {
        return Ok(response::method_not_allowed("POST"));
    }
    let Ok(body) = Limited::new(body, BODY_LIMIT).collect().await else {
        return Ok(EntraError::MalformedBody.response(shared));
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&body.to_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let tenant = tenant_of(&path, TOKEN_SUFFIX).unwrap_or_default();
    Ok(match token(shared, tenant, &form) {
        Ok(response) => response,
        Err(error) => error.response(shared),
    })
}

/// Entra ID's checks, in its order: tenant, grant, client, scope, then the assertion.
fn token(
    shared: &Shared,
    tenant: &str,
    form: &[(String, String)],
) -> Result<Response<Body>, EntraError> {
    if !tenant.eq_ignore_ascii_case(&shared.tenant_id) {
        return Err(EntraError::TenantNotFound(tenant.to_string()));
    }
    let required = |name: &'static str| {
        first(form, name)
            .filter(|v| !v.is_empty())
            .ok_or(EntraError::MissingParameter(name))
    };
    let grant_type = required("grant_type")?;
    if grant_type != "client_credentials" {
        return Err(EntraError::UnsupportedGrantType(grant_type.to_string()));
    }
    let client_id = required("client_id")?;
    let identity = shared
        .system_assigned
        .iter()
        .chain(&shared.user_assigned)
        .find(|i| i.client_id.eq_ignore_ascii_case(client_id))
        .ok_or_else(|| EntraError::UnknownApplication(client_id.to_string()))?;
    let scope = required("scope")?;
    let resource = scope
        .strip_suffix("/.default")
        .ok_or_else(|| EntraError::ScopeNotDefault(scope.to_string()))?;
    // The application is found with or without its trailing slash, and the token's `aud` is
    // the resource exactly as the scope named it (`https://storage.azure.com/.default` →
    // `https://storage.azure.com`), as Entra ID's v2 endpoint writes it.
    if !shared
        .resources
        .iter()
        .any(|known| known.trim_end_matches('/') == resource.trim_end_matches('/'))
    {
        return Err(EntraError::UnknownResource(resource.to_string()));
    }
    let assertion_type = required("client_assertion_type")?;
    if assertion_type != JWT_BEARER {
        return Err(EntraError::AssertionType(assertion_type.to_string()));
    }
    let assertion = required("client_assertion")?;
    assertion::check(assertion, &shared.federation, client_id)?;
    let capabilities = match first(form, "claims") {
        Some(claims) => capabilities_in(claims)?,
        None => Vec::new(),
    };

    // Entra ID keeps no cache a client must get past: every request mints a new token.
    let minted = issue::mint(shared, identity, resource, &capabilities);
    Ok(response::json_text(
        StatusCode::OK,
        ordered_object(&[
            ("token_type", json!("Bearer")),
            ("expires_in", json!(minted.lifetime)),
            ("ext_expires_in", json!(minted.lifetime)),
            ("access_token", json!(minted.access_token)),
        ]),
    ))
}

/// The client capabilities in a request's `claims` (`access_token.xms_cc.values`, where MSAL
/// merges them); claims that are not a JSON object are refused as Entra ID refuses them.
fn capabilities_in(claims: &str) -> Result<Vec<String>, EntraError> {
    let value: serde_json::Value =
        serde_json::from_str(claims).map_err(|_| EntraError::MalformedClaims)?;
    if !value.is_object() {
        return Err(EntraError::MalformedClaims);
    }
    Ok(value
        .pointer("/access_token/xms_cc/values")
        .and_then(serde_json::Value::as_array)
        .map(|values| {
            values
                .iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

fn instance_discovery(shared: &Shared, base: &str) -> Response<Body> {
    let host = base.split_once("://").map_or(base, |(_, host)| host);
    response::json(
        StatusCode::OK,
        &json!({
            "tenant_discovery_endpoint": format!("{base}/{}{OPENID_SUFFIX}", shared.tenant_id),
            "api-version": "1.1",
            "metadata": [{
                "preferred_network": host,
                "preferred_cache": host,
                "aliases": [host],
            }],
        }),
    )
}

fn openid_configuration(base: &str, tenant: &str) -> Response<Body> {
    response::json(
        StatusCode::OK,
        &json!({
            "token_endpoint": format!("{base}/{tenant}{TOKEN_SUFFIX}"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": format!("{base}/{tenant}/v2.0"),
            "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
            "tenant_region_scope": "WW",
        }),
    )
}

/// A federated token as the cluster's OIDC issuer would project it into a pod: `iss` and `sub`
/// of `federation`, `aud` Entra ID's token exchange, valid for `lifetime_secs` from now.
pub(crate) fn federated_token(
    federation: &crate::common::managed_identity::FederationConfig,
    lifetime_secs: u64,
) -> String {
    let now = crate::common::util::now_secs();
    crate::common::jwt::sign_claims(&json!({
        "aud": [crate::common::managed_identity::FEDERATION_AUDIENCE],
        "exp": now.saturating_add(lifetime_secs),
        "iat": now,
        "iss": federation.issuer,
        "nbf": now,
        "sub": federation.subject,
    }))
}
