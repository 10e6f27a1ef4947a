//! A request parsed into a typed operation: `api-version`, the route and its method, and the
//! list parameters, in the service's order.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hyper::http::request::Parts;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::errors::{bad_parameter, kv_error, KvError};

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

/// A Key Vault request, parsed and checked in the service's order (after the token).
pub(super) struct Operation {
    pub(super) route: Route,
    pub(super) api_version: String,
    pub(super) maxresults: usize,
    /// Whether the client chose `maxresults` (next links then carry it).
    pub(super) explicit_max: bool,
    /// Where a list resumes (`$skiptoken`).
    pub(super) skip: Option<String>,
}

/// Parses `api-version`, the route of the (decoded) `path` with the method, and the list
/// parameters.
pub(super) fn parse(parts: &Parts, path: &str) -> Result<Operation, KvError> {
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
            return Err(bad_parameter("The request URI contains an invalid api-version: ''"))
        }
        Some(v) if !API_VERSIONS.contains(&v) => {
            return Err(bad_parameter(format!(
                "The specified version ({v}) is not recognized. Consider using the latest supported version ({LATEST_API_VERSION})."
            ))
            )
        }
        Some(v) => v.to_string(),
    };

    let route = route(&parts.method, path)?;

    let maxresults = match param("maxresults") {
        None | Some("") => MAX_RESULTS,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_RESULTS).contains(&n) => n,
            _ => {
                return Err(bad_parameter(format!(
                    "Invalid value '{v}' for parameter maxresults: the value must be between 1 and {MAX_RESULTS}."
                ))
                )
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

    Ok(Operation {
        route,
        api_version,
        maxresults,
        explicit_max,
        skip,
    })
}

/// What a request asks for: a path of the service and a method it answers there.
pub(super) enum Route {
    /// `GET /secrets`
    List,
    /// `GET /secrets/{name}[/{version}]`
    Get(String, Option<String>),
    /// `GET /secrets/{name}/versions`
    Versions(String),
    /// `PUT /secrets/{name}`: a new version.
    Set(String),
    /// `DELETE /secrets/{name}`: into the deleted store.
    Delete(String),
    /// `GET /deletedsecrets`
    ListDeleted,
    /// `GET /deletedsecrets/{name}`
    GetDeleted(String),
    /// `DELETE /deletedsecrets/{name}`: gone for good.
    Purge(String),
    /// `POST /deletedsecrets/{name}/recover`
    Recover(String),
}

impl Route {
    /// Whether the request carries a JSON body the operation reads.
    pub(super) fn takes_body(&self) -> bool {
        matches!(self, Route::Set(_))
    }
}

/// The route of `path` (trailing slashes ignored, as the service does: the SDKs send
/// `/secrets/{name}/`) for `method`: 404 for a path the service does not have, 405 for a method
/// it does not answer there.
fn route(method: &Method, path: &str) -> Result<Route, KvError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let owned = |s: &str| s.to_owned();
    let route = match (segments.as_slice(), method) {
        (["secrets"], &Method::GET) => Some(Route::List),
        (["secrets", name], &Method::GET) => Some(Route::Get(owned(name), None)),
        (["secrets", name], &Method::PUT) => Some(Route::Set(owned(name))),
        (["secrets", name], &Method::DELETE) => Some(Route::Delete(owned(name))),
        (["secrets", name, "versions"], &Method::GET) => Some(Route::Versions(owned(name))),
        (["secrets", name, version], &Method::GET) => {
            Some(Route::Get(owned(name), Some(owned(version))))
        }
        (["deletedsecrets"], &Method::GET) => Some(Route::ListDeleted),
        (["deletedsecrets", name], &Method::GET) => Some(Route::GetDeleted(owned(name))),
        (["deletedsecrets", name], &Method::DELETE) => Some(Route::Purge(owned(name))),
        (["deletedsecrets", name, "recover"], &Method::POST) => Some(Route::Recover(owned(name))),
        (["secrets"] | ["secrets", _] | ["secrets", _, _], _)
        | (["deletedsecrets"] | ["deletedsecrets", _] | ["deletedsecrets", _, "recover"], _) => {
            None
        }
        _ => {
            return Err(kv_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("The requested path {path} was not found on this vault."),
            ))
        }
    };
    route.ok_or_else(|| {
        kv_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadParameter",
            format!("The requested resource does not support http method '{method}'."),
        )
    })
}

/// The longest secret value the service stores (25 KiB).
const MAX_VALUE_BYTES: usize = 25 * 1024;
/// At most this many tags, with names and values at most this long (Azure's tag limits).
const MAX_TAGS: usize = 15;
const MAX_TAG_NAME: usize = 512;
const MAX_TAG_VALUE: usize = 256;
const MAX_CONTENT_TYPE: usize = 255;

/// The body of `PUT /secrets/{name}` (`SecretSetParameters`).
pub(super) struct SetParameters {
    pub(super) value: String,
    pub(super) content_type: Option<String>,
    pub(super) tags: BTreeMap<String, String>,
    pub(super) enabled: bool,
    pub(super) not_before: Option<u64>,
    pub(super) expires: Option<u64>,
}

/// Reads `SecretSetParameters`: `value` (required), `contentType`, `tags` (strings),
/// `attributes` (`enabled`, `nbf`, `exp`; the read-only ones a client echoes are ignored).
/// Members the service does not know are ignored, as its JSON reader does.
pub(super) fn parse_set(body: &[u8]) -> Result<SetParameters, KvError> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| bad_parameter(format!("The request body is not valid JSON: {e}.")))?;
    let Some(object) = json.as_object() else {
        return Err(bad_parameter(
            "The request body must be a JSON object with the secret's value.",
        ));
    };
    let value = match object.get("value") {
        Some(Value::String(v)) => v.clone(),
        None | Some(Value::Null) => {
            return Err(bad_parameter("The parameter 'value' is required."))
        }
        Some(_) => return Err(bad_parameter("The parameter 'value' must be a string.")),
    };
    if value.len() > MAX_VALUE_BYTES {
        return Err(bad_parameter(format!(
            "The secret value is {} bytes long; a secret value may be at most {MAX_VALUE_BYTES} bytes.",
            value.len()
        )));
    }
    let content_type = match object.get("contentType") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.len() <= MAX_CONTENT_TYPE => Some(t.clone()),
        Some(Value::String(_)) => {
            return Err(bad_parameter(format!(
                "The parameter 'contentType' may be at most {MAX_CONTENT_TYPE} characters long."
            )))
        }
        Some(_) => {
            return Err(bad_parameter(
                "The parameter 'contentType' must be a string.",
            ))
        }
    };
    let tags = parse_tags(object.get("tags"))?;
    let attributes = match object.get("attributes") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(a)) => a.clone(),
        Some(_) => {
            return Err(bad_parameter(
                "The parameter 'attributes' must be an object.",
            ))
        }
    };
    let enabled = match attributes.get("enabled") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(bad_parameter(
                "The attribute 'enabled' must be true or false.",
            ))
        }
    };
    let time = |key: &str| match attributes.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            bad_parameter(format!(
                "The attribute '{key}' must be a time in seconds since 1970-01-01T00:00:00Z."
            ))
        }),
    };
    Ok(SetParameters {
        value,
        content_type,
        tags,
        enabled,
        not_before: time("nbf")?,
        expires: time("exp")?,
    })
}

fn parse_tags(tags: Option<&Value>) -> Result<BTreeMap<String, String>, KvError> {
    let tags = match tags {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(t)) => t,
        Some(_) => {
            return Err(bad_parameter(
                "The parameter 'tags' must be an object of names and string values.",
            ))
        }
    };
    if tags.len() > MAX_TAGS {
        return Err(bad_parameter(format!(
            "The secret has {} tags; at most {MAX_TAGS} are allowed.",
            tags.len()
        )));
    }
    let mut out = BTreeMap::new();
    for (name, value) in tags {
        let Some(value) = value.as_str() else {
            return Err(bad_parameter(format!(
                "The value of tag '{name}' must be a string."
            )));
        };
        if name.is_empty() || name.len() > MAX_TAG_NAME || value.len() > MAX_TAG_VALUE {
            return Err(bad_parameter(format!(
                "Tag names must be 1 to {MAX_TAG_NAME} characters and tag values at most {MAX_TAG_VALUE} characters; tag '{name}' is not."
            )));
        }
        out.insert(name.clone(), value.to_owned());
    }
    Ok(out)
}

pub(super) fn encode_skiptoken(marker: &str) -> String {
    let inner = json!({ "NextMarker": marker, "TargetLocation": 0 }).to_string();
    URL_SAFE_NO_PAD.encode(inner)
}

fn decode_skiptoken(token: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("NextMarker")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::super::errors::challenge;
    use super::*;
    use crate::common::environment::CloudEnvironment;

    #[test]
    fn skiptokens_round_trip() {
        let t = encode_skiptoken("paging-secret-07");
        assert_eq!(decode_skiptoken(&t).as_deref(), Some("paging-secret-07"));
        assert!(decode_skiptoken("!!").is_none());
    }

    #[test]
    fn challenge_has_the_sdk_form() {
        assert_eq!(
            challenge("t", CloudEnvironment::AzureCloud),
            r#"Bearer authorization="https://login.windows.net/t", resource="https://vault.azure.net""#
        );
        assert_eq!(
            challenge("t", CloudEnvironment::AzureUSGovernment),
            r#"Bearer authorization="https://login.microsoftonline.us/t", resource="https://vault.usgovcloudapi.net""#
        );
    }
}
