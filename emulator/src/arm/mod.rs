//! Azure Resource Manager, the read side of one subscription: the subscription, its resource
//! groups and storage accounts, and the storage actions `listKeys`, `listServiceSas` and
//! `listAccountSas` (which sign real SAS tokens, see `sas.rs`).
//!
//! As the front door does: paths are case-insensitive; the token is checked first (401 with
//! ARM's codes), then `api-version`, then role-based authorization at the request's scope (403
//! `AuthorizationFailed`, before existence, so a caller without access cannot probe), then the
//! resource. Lists are paged with absolute `nextLink`s carrying `%24skiptoken`.

pub(crate) mod sas;
mod state;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

use self::state::{Account, Group, Live, Pacing, Progress, Work};
use crate::common::auth::{self, AuthFailure, Caller};
use crate::common::body::{self, RequestBody, SvcBody};
use crate::common::cloud::{actions, derived_key2, Cloud, StorageAccountConfig};
use crate::common::config::is_guid;
use crate::common::response::DropConnection;

pub(crate) use self::state::ArmState;
use crate::common::service::{self, Service};
use crate::common::util::{now_secs, ordered_object, random_guid};

/// Audiences ARM accepts (with and without the trailing slash, both hosts).
const AUDIENCES: &[&str] = &[
    "https://management.azure.com/",
    "https://management.azure.com",
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
];
const JSON: &str = "application/json; charset=utf-8";
const MAX_BODY: u64 = 1024 * 1024;
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
/// Microsoft.Storage versions.
const STORAGE_API_VERSIONS: &[&str] = &[
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

/// Write actions (lower-case, as `Role::allows` compares them).
const RESOURCE_GROUP_DELETE: &str = "microsoft.resources/subscriptions/resourcegroups/delete";
const STORAGE_WRITE: &str = "microsoft.storage/storageaccounts/write";

/// `{"error":{"code","message"}}`.
struct ArmError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn arm_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError {
        status,
        code,
        message: message.into(),
    }
}

fn base_response(status: StatusCode, body: String, parts: &Parts) -> Response<SvcBody> {
    let mut response = Response::new(body::full(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    h.insert("expires", HeaderValue::from_static("-1"));
    let request_id = random_guid();
    for name in [
        "x-ms-request-id",
        "x-ms-correlation-request-id",
        "x-ms-routing-request-id",
    ] {
        let value = if name == "x-ms-routing-request-id" {
            format!(
                "EASTUS:{}:{request_id}",
                chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
            )
        } else {
            request_id.clone()
        };
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    let limit = if parts.method == Method::GET {
        "x-ms-ratelimit-remaining-subscription-reads"
    } else {
        "x-ms-ratelimit-remaining-subscription-writes"
    };
    h.insert(limit, HeaderValue::from_static("11999"));
    if let Some(client) = parts.headers.get("x-ms-client-request-id") {
        h.insert("x-ms-client-request-id", client.clone());
    }
    h.insert(
        "strict-transport-security",
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A successful answer: 200 with JSON, or an operation's 202 (or empty 200) with the headers
/// clients follow it by.
struct Answer {
    status: StatusCode,
    body: String,
    /// `Location` and `Retry-After` of a 202.
    monitor: Option<(String, u64)>,
}

impl Answer {
    fn ok(body: String) -> Answer {
        Answer {
            status: StatusCode::OK,
            body,
            monitor: None,
        }
    }

    /// 202 with no body: poll `location`, after `retry_after` seconds.
    fn accepted(location: String, retry_after: u64) -> Answer {
        Answer {
            status: StatusCode::ACCEPTED,
            body: String::new(),
            monitor: Some((location, retry_after)),
        }
    }

    /// 200 with no body (a finished deletion).
    fn done() -> Answer {
        Answer::ok(String::new())
    }

    fn into_response(self, parts: &Parts) -> Response<SvcBody> {
        let empty = self.body.is_empty();
        let mut response = base_response(self.status, self.body, parts);
        let h = response.headers_mut();
        if empty {
            // As the service: an empty answer has no content type.
            h.remove(CONTENT_TYPE);
        }
        if let Some((location, retry_after)) = self.monitor {
            if let Ok(v) = HeaderValue::from_str(&location) {
                h.insert(LOCATION, v);
            }
            h.insert(RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

fn error_response(e: &ArmError, parts: &Parts) -> Response<SvcBody> {
    let error = ordered_object(&[("code", json!(e.code)), ("message", json!(e.message))]);
    base_response(e.status, format!("{{\"error\":{error}}}"), parts)
}

/// `M/d/yyyy h:mm:ss AM` (the .NET invariant format ARM writes into messages).
fn dotnet_time(secs: u64) -> String {
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp(i64::try_from(secs).unwrap_or(0), 0)
        .unwrap_or_default();
    t.format("%-m/%-d/%Y %-I:%M:%S %p").to_string()
}

/// The 401 for each reason, with ARM's codes and messages.
fn auth_error(failure: AuthFailure, parts: &Parts, tenant: &str) -> ArmError {
    let claims = auth::unverified_claims(&parts.headers).unwrap_or(Value::Null);
    let claim = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or("");
    let status = StatusCode::UNAUTHORIZED;
    match failure {
        AuthFailure::Missing => arm_error(
            status,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ),
        AuthFailure::NotBearer => arm_error(
            status,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        ),
        AuthFailure::Malformed | AuthFailure::Signature | AuthFailure::NotYetValid => {
            arm_error(status, "InvalidAuthenticationToken", "The access token is invalid.")
        }
        AuthFailure::Expired => {
            let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
            arm_error(
                status,
                "ExpiredAuthenticationToken",
                format!(
                    "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                    dotnet_time(exp),
                    dotnet_time(now_secs())
                ),
            )
        }
        AuthFailure::Audience => arm_error(
            status,
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
                claim("aud")
            ),
        ),
        AuthFailure::Issuer => arm_error(
            status,
            "InvalidAuthenticationTokenTenant",
            format!(
                "The access token is from the wrong issuer '{}'. It must match the tenant 'https://sts.windows.net/{tenant}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{tenant}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.",
                claim("iss")
            ),
        ),
    }
}

/// The Resource Manager service: the subscription's groups and storage accounts as requests
/// change them, and its long-running operations.
pub(crate) struct ResourceManager {
    pub cloud: Arc<Cloud>,
    pub arm: ArmState,
}

/// What a Resource Manager handler gets.
type Ctx = service::Ctx<ResourceManager>;

impl Service for ResourceManager {
    async fn handle(
        ctx: &Ctx,
        req: Request<Incoming>,
    ) -> Result<Response<SvcBody>, DropConnection> {
        handle(ctx, req).await
    }

    fn fault_response(
        ctx: &Ctx,
        status: u16,
        retry_after: Option<u64>,
        parts: &Parts,
    ) -> Response<SvcBody> {
        fault_response(status, retry_after, parts, &ctx.svc.cloud.subscription_id)
    }

    fn malformed(_ctx: &Ctx, parts: &Parts) -> Response<SvcBody> {
        malformed(parts)
    }
}

/// Answers one Resource Manager request.
async fn handle(ctx: &Ctx, req: Request<Incoming>) -> Result<Response<SvcBody>, DropConnection> {
    let (parts, incoming) = req.into_parts();
    let cloud = Arc::clone(&ctx.svc.cloud);
    let mut request_body = RequestBody::new(incoming, Arc::clone(&ctx.shared));
    let result = match prepare(&cloud, &parts) {
        Err(e) => Err(e),
        Ok((caller, route, api)) => {
            let body = if parts.method == Method::POST || parts.method == Method::PUT {
                match request_body.collect(MAX_BODY).await {
                    Ok(Some(chunks)) => Some(chunks.concat()),
                    Ok(None) => {
                        return Ok(error_response(
                            &arm_error(
                                StatusCode::PAYLOAD_TOO_LARGE,
                                "RequestEntityTooLarge",
                                "The request content size exceeds the maximum allowed.",
                            ),
                            &parts,
                        ))
                    }
                    Err(_) => return Err(DropConnection),
                }
            } else {
                None
            };
            let settings = ctx.shared.settings();
            let now = std::time::Instant::now();
            let mut live = ctx.svc.arm.lock();
            live.finish_due(now);
            Arm {
                cloud: &cloud,
                caller: &caller,
                parts: &parts,
                api: &api,
                live: &mut live,
                pacing: Pacing::new(
                    settings.arm_operation_polls,
                    settings.arm_retry_after_secs,
                    now,
                ),
                retry_after: settings.arm_retry_after_secs,
            }
            .serve(route, body.as_deref())
        }
    };
    Ok(match result {
        Ok(answer) => answer.into_response(&parts),
        Err(e) => {
            let mut response = error_response(&e, &parts);
            if e.status == StatusCode::UNAUTHORIZED {
                let description =
                    if e.code == "AuthenticationFailed" && e.message.contains("missing") {
                        "The authentication failed because of missing 'Authorization' header."
                    } else {
                        "The access token is invalid or has expired."
                    };
                let challenge = format!(
                    "Bearer authorization_uri=\"https://login.windows.net/\", error=\"invalid_token\", error_description=\"{description}\""
                );
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    response.headers_mut().insert(WWW_AUTHENTICATE, v);
                }
            }
            response
        }
    })
}

/// What a path names.
#[derive(Debug)]
enum Route {
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
enum StorageAction {
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
fn prepare(cloud: &Cloud, parts: &Parts) -> Result<(Caller, Route, String), ArmError> {
    let caller = auth::authenticate(&parts.headers, &cloud.tenant_id, AUDIENCES, now_secs())
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
        Route::ResourceGroup(..) => matches!(parts.method, Method::GET | Method::DELETE),
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

fn query_param(parts: &Parts, name: &str) -> Option<String> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.into_owned())
}

struct Arm<'a> {
    cloud: &'a Cloud,
    caller: &'a Caller,
    parts: &'a Parts,
    api: &'a str,
    live: &'a mut Live,
    /// How a long-running operation started now ends.
    pacing: Pacing,
    /// `Retry-After` of 202 answers.
    retry_after: u64,
}

impl Arm<'_> {
    fn serve(&mut self, route: Route, body: Option<&[u8]>) -> Result<Answer, ArmError> {
        let method = self.parts.method.clone();
        match route {
            Route::ResourceGroup(s, rg) if method == Method::DELETE => self.delete_group(&s, &rg),
            Route::StorageAccount(s, rg, name) if method == Method::PUT => {
                self.create_account(&s, &rg, &name, body.unwrap_or_default())
            }
            Route::OperationResult(s, id) => self.poll(&s, &id, PolledAt::OperationResults),
            Route::StorageOperation(s, id) => self.poll(&s, &id, PolledAt::StorageAsyncOperations),
            read => self.read(read, body).map(Answer::ok),
        }
    }

    fn read(&self, route: Route, body: Option<&[u8]>) -> Result<String, ArmError> {
        match route {
            Route::Subscriptions => Ok(self.subscriptions()),
            Route::Subscription(s) => {
                self.subscription(&s)?;
                if !self
                    .cloud
                    .has_any_assignment_within(&self.caller.object_id, &self.sub_scope())
                {
                    return Err(self.forbidden(
                        "Microsoft.Resources/subscriptions/read",
                        &format!("/subscriptions/{s}"),
                    ));
                }
                Ok(self.subscription_body())
            }
            Route::ResourceGroups(s) => {
                self.subscription(&s)?;
                let mut groups: Vec<&Group> = self
                    .live
                    .groups
                    .iter()
                    .filter(|g| {
                        self.can(actions::RESOURCE_GROUP_READ, &self.rg_scope(&g.config.name))
                    })
                    .collect();
                if groups.is_empty() && !self.can(actions::RESOURCE_GROUP_READ, &self.sub_scope()) {
                    return Err(self.forbidden(
                        "Microsoft.Resources/subscriptions/resourcegroups/read",
                        &format!("/subscriptions/{s}"),
                    ));
                }
                groups.sort_by_key(|g| g.config.name.to_ascii_lowercase());
                let items: Vec<(String, String)> = groups
                    .iter()
                    .map(|g| (g.config.name.to_ascii_lowercase(), self.rg_body(g)))
                    .collect();
                let link = format!(
                    "{}/subscriptions/{}/resourcegroups",
                    self.cloud.arm_url, self.cloud.subscription_id
                );
                self.page(&items, &link)
            }
            Route::ResourceGroup(s, rg) => {
                self.subscription(&s)?;
                let scope = format!("/subscriptions/{s}/resourcegroups/{rg}");
                self.authorize(
                    actions::RESOURCE_GROUP_READ,
                    "Microsoft.Resources/subscriptions/resourcegroups/read",
                    &scope,
                )?;
                let group = self.resource_group(&rg)?;
                Ok(self.rg_body(group))
            }
            Route::StorageAccounts(s, rg) => {
                self.subscription(&s)?;
                let scope = match &rg {
                    Some(rg) => format!("/subscriptions/{s}/resourceGroups/{rg}"),
                    None => format!("/subscriptions/{s}"),
                };
                if let Some(rg) = &rg {
                    self.authorize(
                        actions::STORAGE_READ,
                        "Microsoft.Storage/storageAccounts/read",
                        &scope,
                    )?;
                    self.resource_group(rg)?;
                }
                let mut accounts: Vec<&Account> = self
                    .live
                    .accounts
                    .iter()
                    .filter(|a| {
                        rg.as_ref()
                            .is_none_or(|rg| a.config.resource_group.eq_ignore_ascii_case(rg))
                    })
                    .filter(|a| self.can(actions::STORAGE_READ, &self.account_scope(&a.config)))
                    .collect();
                if rg.is_none()
                    && accounts.is_empty()
                    && !self.can(actions::STORAGE_READ, &self.sub_scope())
                {
                    return Err(self.forbidden("Microsoft.Storage/storageAccounts/read", &scope));
                }
                accounts.sort_by_key(|a| a.config.name.clone());
                let items: Vec<(String, String)> = accounts
                    .iter()
                    .map(|a| (a.config.name.clone(), self.account_body(a)))
                    .collect();
                let link = format!(
                    "{}{}/providers/Microsoft.Storage/storageAccounts",
                    self.cloud.arm_url,
                    match &rg {
                        Some(rg) => format!(
                            "/subscriptions/{}/resourceGroups/{rg}",
                            self.cloud.subscription_id
                        ),
                        None => format!("/subscriptions/{}", self.cloud.subscription_id),
                    }
                );
                self.page(&items, &link)
            }
            Route::StorageAccount(s, rg, name) => {
                self.subscription(&s)?;
                let scope = format!(
                    "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"
                );
                self.authorize(
                    actions::STORAGE_READ,
                    "Microsoft.Storage/storageAccounts/read",
                    &scope,
                )?;
                let account = self.account(&rg, &name)?;
                Ok(self.account_body(account))
            }
            Route::StorageAction(s, rg, name, action) => {
                self.subscription(&s)?;
                let scope = format!(
                    "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"
                );
                let (check, display) = match action {
                    StorageAction::Keys => (
                        actions::STORAGE_LIST_KEYS,
                        "Microsoft.Storage/storageAccounts/listKeys/action",
                    ),
                    StorageAction::ServiceSas => (
                        actions::STORAGE_LIST_SERVICE_SAS,
                        "Microsoft.Storage/storageAccounts/ListServiceSas/action",
                    ),
                    StorageAction::AccountSas => (
                        actions::STORAGE_LIST_ACCOUNT_SAS,
                        "Microsoft.Storage/storageAccounts/ListAccountSas/action",
                    ),
                };
                self.authorize(check, display, &scope)?;
                let account = self.account(&rg, &name)?;
                self.storage_action(&account.config, action, body.unwrap_or_default())
            }
            // Monitors are polled, not read: `serve` answers them.
            Route::OperationResult(..) | Route::StorageOperation(..) => Err(arm_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "The operation could not be found.",
            )),
        }
    }

    fn sub_scope(&self) -> String {
        format!("/subscriptions/{}", self.cloud.subscription_id)
    }

    fn rg_scope(&self, rg: &str) -> String {
        format!("{}/resourceGroups/{rg}", self.sub_scope())
    }

    fn account_scope(&self, a: &StorageAccountConfig) -> String {
        format!(
            "{}/providers/Microsoft.Storage/storageAccounts/{}",
            self.rg_scope(&a.resource_group),
            a.name
        )
    }

    fn can(&self, action: &str, scope: &str) -> bool {
        self.cloud.permits(&self.caller.object_id, action, scope)
    }

    fn forbidden(&self, display: &str, scope: &str) -> ArmError {
        arm_error(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            format!(
                "The client '{}' with object id '{}' does not have authorization to perform action '{display}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
                if self.caller.client_id.is_empty() {
                    &self.caller.object_id
                } else {
                    &self.caller.client_id
                },
                self.caller.object_id
            ),
        )
    }

    fn authorize(&self, action: &str, display: &str, scope: &str) -> Result<(), ArmError> {
        if self.can(action, scope) {
            Ok(())
        } else {
            Err(self.forbidden(display, scope))
        }
    }

    /// The subscription in the path must be a GUID and the emulated one.
    fn subscription(&self, s: &str) -> Result<(), ArmError> {
        if !is_guid(s) {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidSubscriptionId",
                format!("The provided subscription identifier '{s}' is malformed or invalid."),
            ));
        }
        if !s.eq_ignore_ascii_case(&self.cloud.subscription_id) {
            return Err(arm_error(
                StatusCode::NOT_FOUND,
                "SubscriptionNotFound",
                format!("The subscription '{s}' could not be found."),
            ));
        }
        Ok(())
    }

    fn resource_group(&self, rg: &str) -> Result<&Group, ArmError> {
        self.live.group(rg).ok_or_else(|| {
            arm_error(
                StatusCode::NOT_FOUND,
                "ResourceGroupNotFound",
                format!("Resource group '{rg}' could not be found."),
            )
        })
    }

    fn account(&self, rg: &str, name: &str) -> Result<&Account, ArmError> {
        let group = self.resource_group(rg)?;
        self.live
            .account(&group.config.name, name)
            .ok_or_else(|| {
                arm_error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    format!(
                        "The Resource 'Microsoft.Storage/storageAccounts/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
                    ),
                )
            })
    }

    fn subscriptions(&self) -> String {
        let visible = self
            .cloud
            .has_any_assignment_within(&self.caller.object_id, &self.sub_scope());
        let values = if visible {
            vec![self.subscription_body()]
        } else {
            Vec::new()
        };
        format!(
            "{{\"value\":[{}],\"count\":{{\"type\":\"Total\",\"value\":{}}}}}",
            values.join(","),
            values.len()
        )
    }

    fn subscription_body(&self) -> String {
        let s = &self.cloud.subscription_id;
        ordered_object(&[
            ("id", json!(format!("/subscriptions/{s}"))),
            ("authorizationSource", json!("RoleBased")),
            ("managedByTenants", json!([])),
            ("subscriptionId", json!(s)),
            ("tenantId", json!(self.cloud.tenant_id)),
            ("displayName", json!("azmi-emulator subscription")),
            ("state", json!("Enabled")),
            (
                "subscriptionPolicies",
                json!({
                    "locationPlacementId": "Public_2014-09-01",
                    "quotaId": "PayAsYouGo_2014-09-01",
                    "spendingLimit": "Off"
                }),
            ),
        ])
    }

    fn rg_body(&self, group: &Group) -> String {
        let g = &group.config;
        let state = if group.deleting {
            "Deleting"
        } else {
            "Succeeded"
        };
        let mut fields = vec![
            ("id", json!(self.rg_scope(&g.name))),
            ("name", json!(g.name)),
            ("type", json!("Microsoft.Resources/resourceGroups")),
            ("location", json!(g.location)),
        ];
        if !g.tags.is_empty() {
            fields.push(("tags", json!(g.tags)));
        }
        fields.push(("properties", json!({ "provisioningState": state })));
        ordered_object(&fields)
    }

    fn account_body(&self, account: &Account) -> String {
        let a = &account.config;
        let state = if account.creating {
            "Creating"
        } else {
            "Succeeded"
        };
        let blob = a.blob_endpoint.clone().unwrap_or_else(|| {
            if a.name == crate::common::cloud::AZURITE_ACCOUNT {
                format!("http://127.0.0.1:10000/{}/", a.name)
            } else {
                format!("https://{}.blob.core.windows.net/", a.name)
            }
        });
        let n = &a.name;
        let created = chrono::DateTime::<chrono::Utc>::from_timestamp(
            i64::try_from(self.cloud.started.saturating_sub(30 * 86_400)).unwrap_or(0),
            0,
        )
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S.0000000Z")
        .to_string();
        ordered_object(&[
            ("sku", json!({"name": "Standard_LRS", "tier": "Standard"})),
            ("kind", json!("StorageV2")),
            ("id", json!(self.account_scope(a))),
            ("name", json!(n)),
            ("type", json!("Microsoft.Storage/storageAccounts")),
            ("location", json!(a.location)),
            ("tags", json!(a.tags)),
            (
                "properties",
                json!({
                    "provisioningState": state,
                    "primaryEndpoints": {
                        "blob": blob,
                        "dfs": format!("https://{n}.dfs.core.windows.net/"),
                        "file": format!("https://{n}.file.core.windows.net/"),
                        "queue": format!("https://{n}.queue.core.windows.net/"),
                        "table": format!("https://{n}.table.core.windows.net/"),
                        "web": format!("https://{n}.z13.web.core.windows.net/")
                    },
                    "primaryLocation": a.location,
                    "statusOfPrimary": "available",
                    "creationTime": created,
                    "isHnsEnabled": true,
                    "supportsHttpsTrafficOnly": true,
                    "minimumTlsVersion": "TLS1_2",
                    "allowBlobPublicAccess": false,
                    "allowSharedKeyAccess": true,
                    "accessTier": "Hot"
                }),
            ),
        ])
    }

    fn storage_action(
        &self,
        account: &StorageAccountConfig,
        action: StorageAction,
        body: &[u8],
    ) -> Result<String, ArmError> {
        let key2 = account
            .key2
            .clone()
            .unwrap_or_else(|| derived_key2(&account.key));
        if action == StorageAction::Keys {
            let created = chrono::DateTime::<chrono::Utc>::from_timestamp(
                i64::try_from(self.cloud.started.saturating_sub(30 * 86_400)).unwrap_or(0),
                0,
            )
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%S.0000000Z")
            .to_string();
            return Ok(json!({"keys": [
                {"creationTime": created, "keyName": "key1", "value": account.key, "permissions": "FULL"},
                {"creationTime": created, "keyName": "key2", "value": key2, "permissions": "FULL"}
            ]})
            .to_string());
        }
        let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| {
                arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContent",
                    format!(
                        "The request content was invalid and could not be deserialized: '{e}'."
                    ),
                )
            })?
        };
        if !value.is_object() {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: 'an object was expected'.",
            ));
        }
        let invalid = |sas::Invalid(name)| {
            arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidValuesForRequestParameters",
                format!("Values for request parameters are invalid: {name}."),
            )
        };
        let key = match sas::key_name(&value).map_err(invalid)? {
            sas::KeyName::Key1 => account.key.as_str(),
            sas::KeyName::Key2 => key2.as_str(),
        };
        Ok(match action {
            StorageAction::ServiceSas => {
                let signed = sas::service_sas(&account.name, key, &value).map_err(invalid)?;
                json!({ "serviceSasToken": signed.token }).to_string()
            }
            _ => {
                let signed = sas::account_sas(&account.name, key, &value).map_err(invalid)?;
                json!({ "accountSasToken": signed.token }).to_string()
            }
        })
    }

    /// One page of `items` (sorted by key) and the `nextLink` to the rest.
    fn page(&self, items: &[(String, String)], link: &str) -> Result<String, ArmError> {
        let start = match query_param(self.parts, "$skiptoken").filter(|t| !t.is_empty()) {
            None => 0,
            Some(token) => {
                let marker = URL_SAFE_NO_PAD
                    .decode(&token)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        arm_error(
                            StatusCode::BAD_REQUEST,
                            "InvalidSkipToken",
                            format!("The skip token '{token}' is invalid."),
                        )
                    })?;
                items
                    .iter()
                    .position(|(k, _)| *k >= marker)
                    .unwrap_or(items.len())
            }
        };
        let mut size = self.cloud.arm_page_size;
        if let Some(top) = query_param(self.parts, "$top").and_then(|t| t.parse::<usize>().ok()) {
            size = size.min(top.max(1));
        }
        let end = (start + size).min(items.len());
        let values: Vec<&str> = items[start..end].iter().map(|(_, v)| v.as_str()).collect();
        let mut fields = format!("\"value\":[{}]", values.join(","));
        if let Some((marker, _)) = items.get(end) {
            let next = format!(
                "{link}?api-version={}&%24skiptoken={}",
                self.api,
                URL_SAFE_NO_PAD.encode(marker)
            );
            fields.push_str(&format!(",\"nextLink\":{}", json!(next)));
        }
        Ok(format!("{{{fields}}}"))
    }
}

/// Which monitor URL an operation is polled at (each kind of operation has its own).
#[derive(Clone, Copy, PartialEq, Eq)]
enum PolledAt {
    /// `/subscriptions/{s}/operationresults/{id}` (resource group deletion).
    OperationResults,
    /// `…/providers/Microsoft.Storage/locations/{l}/asyncoperations/{id}` (account creation).
    StorageAsyncOperations,
}

/// What a storage account PUT asks for.
struct AccountRequest {
    location: String,
    tags: std::collections::BTreeMap<String, String>,
}

/// Long-running operations: a resource group DELETE and a storage account PUT answer 202 with
/// `Location` and `Retry-After`; the `Location` answers 202 for the configured number of polls,
/// then 200 (empty for a deletion, the account for a creation), and only then is the change
/// done, unless the operation's time ran out first (`Pacing`): then it is done unpolled.
impl Arm<'_> {
    fn delete_group(&mut self, s: &str, rg: &str) -> Result<Answer, ArmError> {
        self.subscription(s)?;
        self.authorize(
            RESOURCE_GROUP_DELETE,
            "Microsoft.Resources/subscriptions/resourcegroups/delete",
            &format!("/subscriptions/{s}/resourcegroups/{rg}"),
        )?;
        let name = self.resource_group(rg)?.config.name.clone();
        let id = self
            .live
            .delete_group(&name, self.pacing)
            .ok_or_else(|| self.group_not_found(rg))?;
        let location = format!(
            "{}/subscriptions/{}/operationresults/{id}?api-version={}",
            self.cloud.arm_url, self.cloud.subscription_id, self.api
        );
        Ok(Answer::accepted(location, self.retry_after))
    }

    fn create_account(
        &mut self,
        s: &str,
        rg: &str,
        name: &str,
        body: &[u8],
    ) -> Result<Answer, ArmError> {
        self.subscription(s)?;
        self.authorize(
            STORAGE_WRITE,
            "Microsoft.Storage/storageAccounts/write",
            &format!(
                "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"
            ),
        )?;
        let group = self.resource_group(rg)?;
        if group.deleting {
            return Err(arm_error(
                StatusCode::CONFLICT,
                "ResourceGroupBeingDeleted",
                format!("The resource group '{rg}' is in deprovisioning state and cannot perform this operation."),
            ));
        }
        let group = group.config.name.clone();
        if !is_account_name(name) {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "AccountNameInvalid",
                format!("{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."),
            ));
        }
        let request = account_request(body)?;
        if let Some(existing) = self.live.account_named(name) {
            if !existing.config.resource_group.eq_ignore_ascii_case(&group) {
                return Err(arm_error(
                    StatusCode::CONFLICT,
                    "StorageAccountAlreadyTaken",
                    format!("The storage account named {name} is already taken."),
                ));
            }
            // A PUT of an existing account is an update, answered at once (the emulator keeps
            // the account as it is).
            return Ok(Answer::ok(self.account_body(existing)));
        }
        let account = StorageAccountConfig {
            name: name.to_owned(),
            resource_group: group,
            key: random_key(),
            key2: None,
            location: request.location.clone(),
            blob_endpoint: None,
            tags: request.tags,
        };
        let id = self.live.create_account(account, self.pacing);
        let location = format!(
            "{}/subscriptions/{}/providers/Microsoft.Storage/locations/{}/asyncoperations/{id}?monitor=true&api-version={}",
            self.cloud.arm_url, self.cloud.subscription_id, request.location, self.api
        );
        Ok(Answer::accepted(location, self.retry_after))
    }

    /// One poll of operation `id` at the monitor URL `at`.
    fn poll(&mut self, s: &str, id: &str, at: PolledAt) -> Result<Answer, ArmError> {
        self.subscription(s)?;
        if !self
            .cloud
            .has_any_assignment_within(&self.caller.object_id, &self.sub_scope())
        {
            return Err(self.forbidden(
                "Microsoft.Resources/subscriptions/operationresults/read",
                &format!("/subscriptions/{s}"),
            ));
        }
        let not_found = || {
            arm_error(
                StatusCode::NOT_FOUND,
                "OperationNotFound",
                format!("The operation '{id}' could not be found."),
            )
        };
        let progress = match (self.live.kind_of(id), at) {
            (Some(Work::DeleteGroup(_)), PolledAt::OperationResults)
            | (Some(Work::CreateAccount(_)), PolledAt::StorageAsyncOperations) => {
                self.live.poll(id).ok_or_else(not_found)?
            }
            _ => return Err(not_found()),
        };
        match progress {
            Progress::Running => Ok(Answer::accepted(
                format!("{}{}", self.cloud.arm_url, self.parts.uri),
                self.retry_after,
            )),
            Progress::Done(Work::DeleteGroup(_)) => Ok(Answer::done()),
            Progress::Done(Work::CreateAccount(name)) => {
                let account = self.live.account_named(&name).ok_or_else(not_found)?;
                Ok(Answer::ok(self.account_body(account)))
            }
        }
    }

    fn group_not_found(&self, rg: &str) -> ArmError {
        arm_error(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            format!("Resource group '{rg}' could not be found."),
        )
    }
}

/// 3 to 24 lower-case letters and digits.
fn is_account_name(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A new account key: 64 random bytes, base64, as the service's.
fn random_key() -> String {
    let bytes: Vec<u8> = (0..64).map(|_| fastrand::u8(..)).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The body of a storage account PUT: `location`, `sku.name` and `kind` required, `tags`
/// optional; the rest is accepted and not kept.
fn account_request(body: &[u8]) -> Result<AccountRequest, ArmError> {
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

/// A scripted status fault, with ARM's error body (429 `SubscriptionRequestsThrottled`).
fn fault_response(
    status: u16,
    retry_after: Option<u64>,
    parts: &Parts,
    subscription: &str,
) -> Response<SvcBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (code, message) = match status.as_u16() {
        400 => ("BadRequest", "The request is invalid.".to_string()),
        401 => (
            "InvalidAuthenticationToken",
            "The access token is invalid.".to_string(),
        ),
        403 => ("AuthorizationFailed", "The client does not have authorization to perform this action.".to_string()),
        404 => ("NotFound", "The resource was not found.".to_string()),
        409 => ("Conflict", "The request conflicts with the current state.".to_string()),
        429 => (
            "SubscriptionRequestsThrottled",
            format!(
                "Number of requests for subscription '{subscription}' exceeded the limit. Please try again after '{}' seconds.",
                retry_after.unwrap_or(1)
            ),
        ),
        503 => ("ServiceUnavailable", "The service is temporarily unavailable.".to_string()),
        504 => ("GatewayTimeout", "The gateway did not receive a response within the specified time period.".to_string()),
        _ => ("InternalServerError", "Encountered internal server error.".to_string()),
    };
    let mut response = error_response(&arm_error(status, code, message), parts);
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// A 200 whose JSON is cut off.
fn malformed(parts: &Parts) -> Response<SvcBody> {
    base_response(
        StatusCode::OK,
        "{\"value\":[{\"id\":\"/subscr".into(),
        parts,
    )
}

#[cfg(test)]
mod tests {
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
