//! A request parsed into a typed operation: `api-version`, the route, the method and the list
//! parameters, in the service's order.

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
pub(super) struct Operation<'a> {
    pub(super) route: Route<'a>,
    pub(super) api_version: String,
    pub(super) maxresults: usize,
    /// Whether the client chose `maxresults` (next links then carry it).
    pub(super) explicit_max: bool,
    /// Where a list resumes (`$skiptoken`).
    pub(super) skip: Option<String>,
}

/// Parses `api-version`, the route of the (decoded) `path`, the method and the list parameters.
pub(super) fn parse<'a>(parts: &Parts, path: &'a str) -> Result<Operation<'a>, KvError> {
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
            ))
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
        ));
    }

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

pub(super) enum Route<'a> {
    List,
    Get(&'a str, Option<&'a str>),
    Versions(&'a str),
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
