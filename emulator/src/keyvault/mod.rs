//! Azure Key Vault, secrets (read side): `GET /secrets/{name}[/{version}]`, `GET /secrets` and
//! `GET /secrets/{name}/versions`, as the data plane of one RBAC-enabled vault.
//!
//! Written from the REST spec (keyvault data-plane 7.5: GetSecret, GetSecrets,
//! GetSecretVersions) and the live service's recorded answers: the 401 challenge that SDKs parse
//! (`Bearer authorization="…", resource="https://vault.azure.net"`), `AKV100xx` messages,
//! `Forbidden` with `innererror` `SecretDisabled` / `ForbiddenByRbac`, integer timestamps, and
//! absolute `nextLink`s (`null` on the last page).

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

use crate::common::auth::{self, AuthFailure, Caller};
use crate::common::body::{self, SvcBody};
use crate::common::cloud::{actions, is_valid_secret_name, Cloud, Secret, SecretVersion};
use crate::common::response::DropConnection;
use crate::common::service::{self, Service};
use crate::common::util::{now_secs, ordered_object, random_guid};

/// The audience Key Vault tokens carry (Entra ID's resource has no trailing slash; the service
/// accepts both spellings).
const AUDIENCES: &[&str] = &["https://vault.azure.net", "https://vault.azure.net/"];
const JSON: &str = "application/json; charset=utf-8";
/// Versions the service answers to.
const API_VERSIONS: &[&str] = &[
    "2015-06-01",
    "2016-10-01",
    "7.0",
    "7.1",
    "7.2",
    "7.3",
    "7.4",
    "7.5",
    "7.6",
    // Date-named versions; 2026-04-01 is what Azure.Security.KeyVault.Secrets 4.12 sends by
    // default, so the live service answers it.
    "2025-07-01",
    "2026-04-01",
    // Previews the REST specs publish (specification/keyvault/data-plane/…/preview): the
    // service answers each by its exact name (`7.6-preview.1`, not `7.6-preview`).
    "7.1-preview",
    "7.2-preview",
    "7.3-preview",
    "7.4-preview.1",
    "7.5-preview.1",
    "7.6-preview.1",
    "7.6-preview.2",
];
const LATEST_API_VERSION: &str = "7.5";
const MAX_RESULTS: usize = 25;
const NOT_FOUND_HELP: &str = "If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182";

/// A Key Vault error: `{"error":{"code","message"[,"innererror":{"code"}]}}`.
struct KvError {
    status: StatusCode,
    code: &'static str,
    message: String,
    inner: Option<&'static str>,
}

fn kv_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> KvError {
    KvError {
        status,
        code,
        message: message.into(),
        inner: None,
    }
}

fn bad_parameter(message: impl Into<String>) -> KvError {
    kv_error(StatusCode::BAD_REQUEST, "BadParameter", message)
}

fn base_response(status: StatusCode, body: String, parts: &Parts) -> Response<SvcBody> {
    let mut response = Response::new(body::full(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    h.insert("expires", HeaderValue::from_static("-1"));
    h.insert("x-ms-keyvault-region", HeaderValue::from_static("eastus"));
    h.insert(
        "x-ms-keyvault-service-version",
        HeaderValue::from_static("1.9.2164.1"),
    );
    h.insert(
        "x-ms-keyvault-network-info",
        HeaderValue::from_static("conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;"),
    );
    if let Ok(id) = HeaderValue::from_str(&random_guid()) {
        h.insert("x-ms-request-id", id);
    }
    if let Some(client) = parts.headers.get("x-ms-client-request-id") {
        h.insert("x-ms-client-request-id", client.clone());
    }
    h.insert(
        "strict-transport-security",
        HeaderValue::from_static("max-age=31536000;includeSubDomains"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn error_response(e: KvError, parts: &Parts) -> Response<SvcBody> {
    let mut error = vec![("code", json!(e.code)), ("message", json!(e.message))];
    if let Some(inner) = e.inner {
        error.push(("innererror", json!({ "code": inner })));
    }
    let body = format!("{{\"error\":{}}}", ordered_object(&error));
    base_response(e.status, body, parts)
}

/// The challenge every 401 carries; SDKs take the tenant and resource from it.
fn challenge(tenant: &str) -> String {
    format!(
        "Bearer authorization=\"https://login.windows.net/{tenant}\", resource=\"https://vault.azure.net\""
    )
}

fn unauthorized(cloud: &Cloud, message: String, parts: &Parts) -> Response<SvcBody> {
    let mut response = error_response(
        kv_error(StatusCode::UNAUTHORIZED, "Unauthorized", message),
        parts,
    );
    if let Ok(value) = HeaderValue::from_str(&challenge(&cloud.tenant_id)) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// The 401 message Key Vault gives for each reason.
fn auth_message(failure: AuthFailure, parts: &Parts, tenant: &str) -> String {
    let claims = auth::unverified_claims(&parts.headers).unwrap_or(Value::Null);
    let claim = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or("");
    match failure {
        AuthFailure::Missing | AuthFailure::NotBearer => {
            "AKV10000: Request is missing a Bearer or PoP token.".into()
        }
        AuthFailure::Audience => format!(
            "AKV10022: Invalid audience. Expected https://vault.azure.net, found: {}.",
            claim("aud")
        ),
        AuthFailure::Issuer => format!(
            "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{tenant}/, https://login.microsoftonline.com/{tenant}/v2.0, found {}.",
            claim("iss")
        ),
        AuthFailure::Expired => "AKV10013: Token is expired.".into(),
        AuthFailure::NotYetValid => "AKV10013: Token is not yet valid.".into(),
        AuthFailure::Malformed | AuthFailure::Signature => {
            "AKV10003: Token validation failed: the token could not be validated.".into()
        }
    }
}

/// The Key Vault service: the one vault's secrets, guarded by the role assignments.
pub(crate) struct KeyVault {
    pub cloud: Arc<Cloud>,
}

/// What a Key Vault handler gets.
type Ctx = service::Ctx<KeyVault>;

impl Service for KeyVault {
    async fn handle(
        ctx: &Ctx,
        req: Request<Incoming>,
    ) -> Result<Response<SvcBody>, DropConnection> {
        handle(ctx, req).await
    }

    fn fault_response(
        _ctx: &Ctx,
        status: u16,
        _retry_after: Option<u64>,
        parts: &Parts,
    ) -> Response<SvcBody> {
        fault_response(status, parts)
    }

    fn malformed(_ctx: &Ctx, parts: &Parts) -> Response<SvcBody> {
        malformed(parts)
    }
}

/// Answers one Key Vault request.
async fn handle(ctx: &Ctx, req: Request<Incoming>) -> Result<Response<SvcBody>, DropConnection> {
    let (parts, _body) = req.into_parts();
    let cloud = &ctx.svc.cloud;
    Ok(match serve(cloud, &parts) {
        Ok(response) => response,
        Err(Refusal::Auth(message)) => unauthorized(cloud, message, &parts),
        Err(Refusal::Error(e)) => error_response(e, &parts),
    })
}

enum Refusal {
    Auth(String),
    Error(KvError),
}

impl From<KvError> for Refusal {
    fn from(e: KvError) -> Self {
        Refusal::Error(e)
    }
}

fn serve(cloud: &Cloud, parts: &Parts) -> Result<Response<SvcBody>, Refusal> {
    let caller = auth::authenticate(&parts.headers, &cloud.tenant_id, AUDIENCES, now_secs())
        .map_err(|f| Refusal::Auth(auth_message(f, parts, &cloud.tenant_id)))?;

    let query: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let api_version = match param("api-version") {
        None | Some("") => {
            return Err(bad_parameter("The request URI contains an invalid api-version: ''").into())
        }
        Some(v) if !API_VERSIONS.contains(&v) => {
            return Err(bad_parameter(format!(
                "The specified version ({v}) is not recognized. Consider using the latest supported version ({LATEST_API_VERSION})."
            ))
            .into())
        }
        Some(v) => v.to_string(),
    };

    let path = percent_decode_str(parts.uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let route = match segments.as_slice() {
        ["secrets"] => Route::List,
        ["secrets", name] => Route::Get(name, None),
        ["secrets", name, "versions"] => Route::Versions(name),
        ["secrets", name, version] => Route::Get(name, Some(version)),
        _ => {
            return Err(kv_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("The requested path {path} was not found on this vault."),
            )
            .into())
        }
    };
    if parts.method != Method::GET {
        return Err(kv_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadParameter",
            format!(
                "The requested resource does not support http method '{}'.",
                parts.method
            ),
        )
        .into());
    }

    let maxresults = match param("maxresults") {
        None | Some("") => MAX_RESULTS,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_RESULTS).contains(&n) => n,
            _ => {
                return Err(bad_parameter(format!(
                    "Invalid value '{v}' for parameter maxresults: the value must be between 1 and {MAX_RESULTS}."
                ))
                .into())
            }
        },
    };
    let explicit_max = param("maxresults").filter(|v| !v.is_empty()).is_some();
    let skip = match param("$skiptoken") {
        None | Some("") => None,
        Some(token) => Some(
            decode_skiptoken(token)
                .ok_or_else(|| bad_parameter("The value of parameter $skiptoken is invalid."))?,
        ),
    };

    let v = Vault {
        cloud,
        caller: &caller,
    };
    let body = match route {
        Route::Get(name, version) => v.get(name, version, &api_version)?,
        Route::List => {
            v.authorize(actions::READ_SECRET_METADATA, "")?;
            let mut secrets: Vec<&Secret> = cloud.secrets.iter().collect();
            secrets.sort_by_key(|s| s.name.to_ascii_lowercase());
            let items: Vec<(String, String)> = secrets
                .iter()
                .map(|s| {
                    let id = format!("{}/secrets/{}", cloud.keyvault_url, s.name);
                    (
                        s.name.to_ascii_lowercase(),
                        item(&id, s.current(), &api_version),
                    )
                })
                .collect();
            let link = format!("{}/secrets", cloud.keyvault_url);
            page(&items, skip, maxresults, explicit_max, &link, &api_version)
        }
        Route::Versions(name) => {
            check_name(name)?;
            v.authorize(actions::READ_SECRET_METADATA, name)?;
            let secret = cloud.find_secret(name).ok_or_else(|| not_found(name))?;
            let mut versions: Vec<&SecretVersion> = secret.versions.iter().collect();
            // The service lists versions in the order of their ids, not by time.
            versions.sort_by(|a, b| a.version.cmp(&b.version));
            let items: Vec<(String, String)> = versions
                .iter()
                .map(|ver| {
                    let id = format!(
                        "{}/secrets/{}/{}",
                        cloud.keyvault_url, secret.name, ver.version
                    );
                    (ver.version.clone(), item(&id, ver, &api_version))
                })
                .collect();
            let link = format!("{}/secrets/{}/versions", cloud.keyvault_url, secret.name);
            page(&items, skip, maxresults, explicit_max, &link, &api_version)
        }
    };
    Ok(base_response(StatusCode::OK, body, parts))
}

enum Route<'a> {
    List,
    Get(&'a str, Option<&'a str>),
    Versions(&'a str),
}

struct Vault<'a> {
    cloud: &'a Cloud,
    caller: &'a Caller,
}

impl Vault<'_> {
    /// RBAC: 403 `Forbidden` / `ForbiddenByRbac` in the service's words.
    fn authorize(&self, action: &str, secret: &str) -> Result<(), KvError> {
        let mut scope = self.cloud.vault_id();
        if !secret.is_empty() {
            scope = format!("{scope}/secrets/{secret}");
        }
        if self.cloud.permits(&self.caller.object_id, action, &scope) {
            return Ok(());
        }
        let action_name = match action {
            actions::GET_SECRET => "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            _ => "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        };
        Err(KvError {
            status: StatusCode::FORBIDDEN,
            code: "Forbidden",
            message: format!(
                "Caller is not authorized to perform action on resource.\r\n\
                 If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n\
                 Caller: appid={};oid={};iss={}\r\n\
                 Action: '{action_name}'\r\n\
                 Resource: '{}'\r\n\
                 Assignment: (not found)\r\n\
                 DenyAssignmentId: null\r\n\
                 DecisionReason: null \r\n\
                 Vault: {};location=eastus\r\n",
                self.caller.client_id,
                self.caller.object_id,
                self.caller.issuer,
                scope.to_ascii_lowercase(),
                self.cloud.vault_name,
            ),
            inner: Some("ForbiddenByRbac"),
        })
    }

    fn get(&self, name: &str, version: Option<&str>, api: &str) -> Result<String, KvError> {
        check_name(name)?;
        self.authorize(actions::GET_SECRET, name)?;
        let secret = self
            .cloud
            .find_secret(name)
            .ok_or_else(|| not_found(name))?;
        let found = match version {
            None => secret.current(),
            Some(v) => secret
                .versions
                .iter()
                .find(|x| x.version.eq_ignore_ascii_case(v))
                .ok_or_else(|| not_found(&format!("{name}/{v}")))?,
        };
        if !found.enabled {
            return Err(KvError {
                status: StatusCode::FORBIDDEN,
                code: "Forbidden",
                message: "Operation get is not allowed on a disabled secret.".into(),
                inner: Some("SecretDisabled"),
            });
        }
        let id = format!(
            "{}/secrets/{}/{}",
            self.cloud.keyvault_url, secret.name, found.version
        );
        let mut fields = vec![("value", json!(found.value))];
        if let Some(ct) = &found.content_type {
            fields.push(("contentType", json!(ct)));
        }
        fields.push(("id", json!(id)));
        fields.push(("attributes", attributes(found, api)));
        if !found.tags.is_empty() {
            fields.push(("tags", json!(found.tags)));
        }
        Ok(ordered_object(&fields))
    }
}

fn check_name(name: &str) -> Result<(), KvError> {
    if is_valid_secret_name(name) {
        Ok(())
    } else {
        Err(bad_parameter(format!(
            "The request URI contains an invalid name: {name}"
        )))
    }
}

fn not_found(what: &str) -> KvError {
    kv_error(
        StatusCode::NOT_FOUND,
        "SecretNotFound",
        format!("A secret with (name/id) {what} was not found in this key vault. {NOT_FOUND_HELP}"),
    )
}

/// `attributes`, integers in epoch seconds, in the service's order.
fn attributes(v: &SecretVersion, api: &str) -> Value {
    let mut a = serde_json::Map::new();
    a.insert("enabled".into(), json!(v.enabled));
    if let Some(nbf) = v.not_before {
        a.insert("nbf".into(), json!(nbf));
    }
    if let Some(exp) = v.expires {
        a.insert("exp".into(), json!(exp));
    }
    a.insert("created".into(), json!(v.created));
    a.insert("updated".into(), json!(v.updated));
    a.insert("recoveryLevel".into(), json!("Recoverable+Purgeable"));
    // `recoverableDays` came with 7.1.
    if !matches!(api, "2015-06-01" | "2016-10-01" | "7.0") {
        a.insert("recoverableDays".into(), json!(90));
    }
    // serde_json's map sorts keys; write them in the service's order instead.
    let order = [
        "enabled",
        "nbf",
        "exp",
        "created",
        "updated",
        "recoveryLevel",
        "recoverableDays",
    ];
    let fields: Vec<(&str, Value)> = order
        .iter()
        .filter_map(|k| a.get(*k).map(|v| (*k, v.clone())))
        .collect();
    serde_json::from_str::<Value>(&ordered_object(&fields)).unwrap_or(Value::Null)
}

/// A list item: no `value`.
fn item(id: &str, v: &SecretVersion, api: &str) -> String {
    let mut fields = vec![("id", json!(id)), ("attributes", attributes(v, api))];
    if !v.tags.is_empty() {
        fields.push(("tags", json!(v.tags)));
    }
    if let Some(ct) = &v.content_type {
        fields.push(("contentType", json!(ct)));
    }
    ordered_object(&fields)
}

/// One page of `items` (sorted by their key) from the `skip` marker on, with the link to the
/// next page.
fn page(
    items: &[(String, String)],
    skip: Option<String>,
    max: usize,
    explicit_max: bool,
    link: &str,
    api: &str,
) -> String {
    let start = match &skip {
        Some(marker) => items
            .iter()
            .position(|(k, _)| k >= marker)
            .unwrap_or(items.len()),
        None => 0,
    };
    let end = (start + max).min(items.len());
    let values: Vec<&str> = items[start..end].iter().map(|(_, v)| v.as_str()).collect();
    let next = items.get(end).map(|(marker, _)| {
        let mut url = format!(
            "{link}?api-version={api}&$skiptoken={}",
            encode_skiptoken(marker)
        );
        if explicit_max {
            url.push_str(&format!("&maxresults={max}"));
        }
        url
    });
    // Serialising a string cannot fail; a missing link is written as `null`, as the service does.
    let next = serde_json::to_string(&next).unwrap_or_else(|_| "null".into());
    // Hand-assembled so the values keep their key order.
    let values_text = values.join(",");
    format!("{{\"value\":[{values_text}],\"nextLink\":{next}}}")
}

fn encode_skiptoken(marker: &str) -> String {
    let inner = json!({ "NextMarker": marker, "TargetLocation": 0 }).to_string();
    URL_SAFE_NO_PAD.encode(inner)
}

fn decode_skiptoken(token: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("NextMarker")?.as_str().map(str::to_string)
}

/// A scripted status fault, with Key Vault's error body.
fn fault_response(status: u16, parts: &Parts) -> Response<SvcBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (code, message) = match status.as_u16() {
        400 => ("BadParameter", "The request is invalid."),
        401 => ("Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."),
        403 => ("Forbidden", "Caller is not authorized to perform action on resource."),
        404 => ("NotFound", "The requested resource was not found."),
        429 => (
            "Throttled",
            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
        ),
        503 => ("ServiceUnavailable", "The service is temporarily unavailable."),
        _ => ("InternalServerError", "An internal server error occurred."),
    };
    error_response(kv_error(status, code, message), parts)
}

/// A 200 whose JSON is cut off.
fn malformed(parts: &Parts) -> Response<SvcBody> {
    base_response(StatusCode::OK, "{\"value\":\"trunc".into(), parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skiptokens_round_trip() {
        let t = encode_skiptoken("paging-secret-07");
        assert_eq!(decode_skiptoken(&t).as_deref(), Some("paging-secret-07"));
        assert!(decode_skiptoken("!!").is_none());
    }

    #[test]
    fn challenge_has_the_sdk_form() {
        assert_eq!(
            challenge("t"),
            r#"Bearer authorization="https://login.windows.net/t", resource="https://vault.azure.net""#
        );
    }
}
