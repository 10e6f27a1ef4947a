//! A request parsed into a typed operation, in the front door's order: the token, then
//! `api-version`, then the route and method; and a storage account PUT's body.

use hyper::http::request::Parts;
use hyper::{Method, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::Value;

use super::errors::{arm_error, auth_error, ArmError};
use crate::common::auth::Caller;
use crate::common::cae;
use crate::common::cloud::Cloud;
use crate::common::state::Shared;

/// Audiences ARM accepts (with and without the trailing slash, both hosts).
const AUDIENCES: &[&str] = &[
    "https://management.azure.com/",
    "https://management.azure.com",
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
];

/// Microsoft.Resources versions (subscriptions, resource groups).
const RESOURCES_API_VERSIONS: &[&str] = &[
    "2025-04-01",
    "2025-03-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2023-07-01",
    "2022-12-01",
    "2022-09-01",
    "2021-04-01",
    "2021-01-01",
    "2020-10-01",
    "2020-06-01",
    "2020-01-01",
    "2019-11-01",
    "2019-10-01",
    "2019-08-01",
    "2019-07-01",
    "2019-06-01",
    "2019-05-10",
    "2019-05-01",
    "2019-03-01",
    "2018-05-01",
    "2018-02-01",
    "2018-01-01",
    "2017-08-01",
    "2017-06-01",
    "2017-05-10",
    "2016-09-01",
    "2016-07-01",
    "2016-06-01",
    "2016-02-01",
    "2015-11-01",
    "2015-01-01",
    "2014-04-01",
];

/// Microsoft.Storage versions. The stable ones are those azure-rest-api-specs publishes (its `readme.md` tags); new ones
/// appear several times a year and the SDKs send the newest (@azure/arm-storage 20.2.0:
/// 2026-06-01), so add them as they are published.
const STORAGE_API_VERSIONS: &[&str] = &[
    "2026-09-01",
    "2026-06-01",
    "2026-04-01",
    "2025-08-01",
    "2025-06-01",
    "2025-01-01",
    "2024-01-01",
    "2023-05-01",
    "2023-04-01",
    "2023-01-01",
    "2022-09-01",
    "2022-05-01",
    "2021-09-01",
    "2021-08-01",
    "2021-06-01",
    "2021-04-01",
    "2021-02-01",
    "2021-01-01",
    "2020-08-01-preview",
    "2019-06-01",
    "2019-04-01",
    "2018-11-01",
    "2018-07-01",
    "2018-03-01-preview",
    "2018-02-01",
    "2017-10-01",
    "2017-06-01",
    "2016-12-01",
    "2016-05-01",
    "2016-01-01",
    "2015-06-15",
    "2015-05-01-preview",
];

/// What a path names.
#[derive(Debug)]
pub(super) enum Route {
    Subscriptions,
    Subscription(String),
    ResourceGroups(String),
    ResourceGroup(String, String),
    /// Storage accounts of the subscription, or of one resource group.
    StorageAccounts(String, Option<String>),
    StorageAccount(String, String, String),
    StorageAction(String, String, String, StorageAction),
    /// `/subscriptions/{s}/operationresults/{id}`: a resource group deletion's `Location`.
    OperationResult(String, String),
    /// `/subscriptions/{s}/providers/Microsoft.Storage/locations/{l}/asyncoperations/{id}`: a
    /// storage account creation's `Location`.
    StorageOperation(String, String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StorageAction {
    Keys,
    ServiceSas,
    AccountSas,
}

fn route(segments: &[&str]) -> Option<Route> {
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let s = |i: usize| segments[i].to_string();
    let storage = |rest: &[&str]| rest == ["providers", "microsoft.storage", "storageaccounts"];
    Some(match l.as_slice() {
        ["subscriptions"] => Route::Subscriptions,
        ["subscriptions", _] => Route::Subscription(s(1)),
        ["subscriptions", _, "resourcegroups"] => Route::ResourceGroups(s(1)),
        ["subscriptions", _, "resourcegroups", _] => Route::ResourceGroup(s(1), s(3)),
        ["subscriptions", _, "operationresults", _] => Route::OperationResult(s(1), s(3)),
        ["subscriptions", _, "providers", "microsoft.storage", "locations", _, "asyncoperations", _] => {
            Route::StorageOperation(s(1), s(7))
        }
        ["subscriptions", _, rest @ ..] if storage(rest) => Route::StorageAccounts(s(1), None),
        ["subscriptions", _, "resourcegroups", _, rest @ ..] if storage(rest) => {
            Route::StorageAccounts(s(1), Some(s(3)))
        }
        ["subscriptions", _, "resourcegroups", _, a, b, c, _] if storage(&[a, b, c]) => {
            Route::StorageAccount(s(1), s(3), s(7))
        }
        ["subscriptions", _, "resourcegroups", _, a, b, c, _, action] if storage(&[a, b, c]) => {
            let action = match *action {
                "listkeys" => StorageAction::Keys,
                "listservicesas" => StorageAction::ServiceSas,
                "listaccountsas" => StorageAction::AccountSas,
                _ => return None,
            };
            Route::StorageAction(s(1), s(3), s(7), action)
        }
        _ => return None,
    })
}

/// Authentication, api-version and the route, in the front door's order.
pub(super) fn prepare(
    shared: &Shared,
    cloud: &Cloud,
    parts: &Parts,
) -> Result<(Caller, Route, String), ArmError> {
    let caller = cae::authenticate(shared, &parts.headers, &cloud.tenant_id, AUDIENCES)
        .map_err(|f| auth_error(f, parts, &cloud.tenant_id))?;
    let path = percent_decode_str(parts.uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let api = query_param(parts, "api-version");
    let api = match api.as_deref() {
        None | Some("") => {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            ))
        }
        Some(v) => v.to_string(),
    };
    let route = route(&segments).ok_or_else(|| {
        arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("The resource path '{path}' is not served by this emulator."),
        )
    })?;
    let is_storage = matches!(
        route,
        Route::StorageAccounts(..)
            | Route::StorageAccount(..)
            | Route::StorageAction(..)
            | Route::StorageOperation(..)
    );
    let well_formed = is_api_version(&api);
    if is_storage && well_formed && !STORAGE_API_VERSIONS.contains(&api.as_str()) {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "NoRegisteredProviderFound",
            format!(
                "No registered resource provider found for location 'eastus' and API version '{api}' for type 'storageAccounts'. The supported api-versions are '{}'. The supported locations are 'eastus, eastus2, westus, westus2, westeurope, northeurope'.",
                STORAGE_API_VERSIONS.join(", ")
            ),
        ));
    }
    if !well_formed || (!is_storage && !RESOURCES_API_VERSIONS.contains(&api.as_str())) {
        let list = if is_storage {
            STORAGE_API_VERSIONS
        } else {
            RESOURCES_API_VERSIONS
        };
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{api}' is invalid. The supported versions are '{}'.",
                list.join(",")
            ),
        ));
    }
    let allowed = match route {
        Route::StorageAction(..) => parts.method == Method::POST,
        Route::ResourceGroup(..) => {
            matches!(parts.method, Method::GET | Method::HEAD | Method::DELETE)
        }
        Route::StorageAccount(..) => matches!(parts.method, Method::GET | Method::PUT),
        _ => parts.method == Method::GET,
    };
    if !allowed {
        return Err(arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!(
                "The requested resource does not support http method '{}'.",
                parts.method
            ),
        ));
    }
    Ok((caller, route, api))
}

/// `YYYY-MM-DD` with an optional `-preview` (or other) suffix.
fn is_api_version(v: &str) -> bool {
    let (Some(date), Some(rest)) = (v.get(..10), v.get(10..)) else {
        return false;
    };
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok()
        && (rest.is_empty()
            || (rest.len() > 1
                && rest.starts_with('-')
                && rest[1..].bytes().all(|b| b.is_ascii_alphanumeric())))
}

pub(super) fn query_param(parts: &Parts, name: &str) -> Option<String> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.into_owned())
}

/// Which monitor URL an operation is polled at (each kind of operation has its own).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum PolledAt {
    /// `/subscriptions/{s}/operationresults/{id}` (resource group deletion).
    OperationResults,
    /// `…/providers/Microsoft.Storage/locations/{l}/asyncoperations/{id}` (account creation).
    StorageAsyncOperations,
}

/// What a storage account PUT asks for.
pub(super) struct AccountRequest {
    pub(super) location: String,
    pub(super) tags: std::collections::BTreeMap<String, String>,
}

/// 3 to 24 lower-case letters and digits.
pub(super) fn is_account_name(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The body of a storage account PUT: `location`, `sku.name` and `kind` required, `tags`
/// optional; the rest is accepted and not kept.
pub(super) fn account_request(body: &[u8]) -> Result<AccountRequest, ArmError> {
    let invalid = |detail: &str| {
        arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{detail}'."),
        )
    };
    let value: Value = serde_json::from_slice(body).map_err(|e| invalid(&e.to_string()))?;
    if !value.is_object() {
        return Err(invalid("an object was expected"));
    }
    let location = value
        .get("location")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| {
            arm_error(
                StatusCode::BAD_REQUEST,
                "LocationRequired",
                "The location property is required for this definition.",
            )
        })?;
    for (name, present) in [
        (
            "sku",
            value.pointer("/sku/name").is_some_and(Value::is_string),
        ),
        ("kind", value.get("kind").is_some_and(Value::is_string)),
    ] {
        if !present {
            return Err(invalid(&format!(
                "Required property '{name}' not found in JSON. Path '', line 1, position 1."
            )));
        }
    }
    let tags = match value.get("tags") {
        None | Some(Value::Null) => Default::default(),
        Some(tags) => serde_json::from_value(tags.clone())
            .map_err(|_| invalid("tags must be an object of strings"))?,
    };
    Ok(AccountRequest {
        location: location.to_ascii_lowercase(),
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::super::errors::dotnet_time;
    use super::*;

    #[test]
    fn api_versions() {
        assert!(is_api_version("2021-04-01"));
        assert!(is_api_version("2020-08-01-preview"));
        assert!(!is_api_version("2021-4-1"));
        assert!(!is_api_version("latest"));
        assert!(!is_api_version("2021-13-01"));
    }

    #[test]
    fn routes_are_case_insensitive() {
        let r = route(&["Subscriptions", "s", "ResourceGroups", "rg"]).unwrap();
        assert!(matches!(r, Route::ResourceGroup(_, ref g) if g == "rg"));
        let r = route(&[
            "subscriptions",
            "s",
            "resourcegroups",
            "rg",
            "providers",
            "Microsoft.Storage",
            "storageAccounts",
            "acct",
            "listServiceSas",
        ])
        .unwrap();
        assert!(matches!(
            r,
            Route::StorageAction(_, _, _, StorageAction::ServiceSas)
        ));
        assert!(route(&["subscriptions", "s", "foo"]).is_none());
        assert_eq!(dotnet_time(0), "1/1/1970 12:00:00 AM");
    }
}
