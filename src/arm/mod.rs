//! Azure Resource Manager with the managed identity's tokens: any authenticated request (GET,
//! PUT, POST, PATCH, DELETE with a JSON body; long-running operations are waited for, see
//! [`Arm::request`]), lists that follow `nextLink`, resource groups, and storage SAS tokens
//! minted by `listServiceSas` / `listAccountSas`.
//!
//! The endpoint is the identity's cloud's (`https://management.azure.com` in the public cloud,
//! see [`crate::AzureEnvironment`]) unless the caller names another (or the environment variable
//! `AZMI_ARM_ENDPOINT` does, read when the client is built: azmi-emulator prints it). Tokens are
//! for the endpoint's cloud (`https://management.azure.com/` in the public cloud; for an
//! endpoint azmi does not know, the resource the caller gives, by default the identity's
//! cloud's). A `nextLink` is followed as given, and only to the endpoint's host.
//!
//! SAS requests are checked before anything is sent (permission letters and their order,
//! expiry in the future, resource kind, protocol, IP, key), so a mistake costs no request and
//! its message says how to fix it. SAS tokens are returned as [`SecretString`]s.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, Response};
use secrecy::SecretString;
use serde_json::{Map, Value};
use url::Url;
use zeroize::Zeroizing;

use crate::adls::ListOutcome;
use crate::client::Azmi;
use crate::error::{Error, Result};
use crate::identity::{printable, ManagedIdentity};
use crate::service::{display_host, display_url, is_loopback, read_json, Request, Service};

mod lro;

/// The public cloud's Resource Manager endpoint.
pub const PUBLIC_ENDPOINT: &str = "https://management.azure.com";
/// The environment variable naming another endpoint (read by [`Arm::new`]).
pub const ENDPOINT_ENV: &str = "AZMI_ARM_ENDPOINT";
/// The api-version of resource group requests.
pub const RESOURCE_GROUP_API_VERSION: &str = "2021-04-01";
/// The api-version of storage account requests (`listServiceSas`, `listAccountSas`).
pub const STORAGE_API_VERSION: &str = "2023-05-01";
/// The endpoints of the clouds and their token resources.
const CLOUDS: &[(&str, &str)] = &[
    ("management.azure.com", crate::resources::ARM),
    (
        "management.usgovcloudapi.net",
        "https://management.usgovcloudapi.net/",
    ),
    (
        "management.chinacloudapi.cn",
        "https://management.chinacloudapi.cn/",
    ),
];
/// The longest answer read.
const MAX_ANSWER: usize = 32 * 1024 * 1024;

/// A Resource Manager endpoint used with a managed identity. Cheap to clone; safe to share.
#[derive(Clone)]
pub struct Arm {
    /// `https://host[:port]`.
    origin: Arc<str>,
    display: Arc<str>,
    service: Service,
}

impl fmt::Debug for Arm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arm")
            .field("endpoint", &self.origin)
            .field("resource", &self.service.resource())
            .finish()
    }
}

/// Checks an endpoint (`https://host[:port]`, or `http://` to loopback) and returns its origin.
pub fn parse_endpoint(endpoint: &str) -> Result<String> {
    let given = endpoint.trim();
    let invalid = |why: &str| {
        Error::InvalidArgument(format!(
            "the Resource Manager endpoint '{}' {why}",
            printable(given)
        ))
    };
    let url = Url::parse(given).map_err(|e| invalid(&format!("is not a valid URL ({e})")))?;
    if url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || url.path() != "/"
    {
        return Err(invalid(
            "must be https://<host>[:port] alone, without a path, query or credentials",
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(Error::Insecure(format!(
                "the Resource Manager endpoint '{}' is plain http://: tokens go only over HTTPS (plain HTTP only to a loopback test endpoint)",
                printable(given)
            )))
        }
        _ => return Err(invalid("must be an https:// URL")),
    }
    Ok(url.origin().ascii_serialization())
}

impl Azmi {
    /// Resource Manager at `AZMI_ARM_ENDPOINT` or the identity's cloud's endpoint, with the
    /// identity `mi`.
    pub fn arm(&self, mi: &ManagedIdentity) -> Result<Arm> {
        Arm::new(self, Arc::new(mi.clone()))
    }
}

impl Arm {
    /// The endpoint `AZMI_ARM_ENDPOINT` names (read now), else the identity's cloud's.
    pub fn new(azmi: &Azmi, mi: Arc<ManagedIdentity>) -> Result<Arm> {
        match std::env::var(ENDPOINT_ENV) {
            Ok(e) if !e.trim().is_empty() => Arm::with_endpoint(azmi, mi, &e, None),
            _ => Arm::of_cloud(azmi, mi),
        }
    }

    /// The endpoint of the identity's cloud, whatever `AZMI_ARM_ENDPOINT` says.
    pub fn of_cloud(azmi: &Azmi, mi: Arc<ManagedIdentity>) -> Result<Arm> {
        let endpoint = mi.environment()?.arm_endpoint();
        Arm::with_endpoint(azmi, mi, endpoint, None)
    }

    /// `endpoint` (`https://management.usgovcloudapi.net`, a test endpoint, …) with tokens for
    /// `resource`; without one, the resource of the endpoint's cloud, or for an endpoint azmi
    /// does not know (a test endpoint, a private cloud), the identity's cloud's (the public
    /// cloud's `https://management.azure.com/` unless an environment is named).
    pub fn with_endpoint(
        azmi: &Azmi,
        mi: Arc<ManagedIdentity>,
        endpoint: &str,
        resource: Option<&str>,
    ) -> Result<Arm> {
        let origin = parse_endpoint(endpoint)?;
        let url = Url::parse(&origin).map_err(|e| Error::Internal(e.to_string()))?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let resource = match resource {
            Some(r) => r,
            None => match CLOUDS.iter().find(|(h, _)| *h == host) {
                Some((_, r)) => r,
                None => mi.environment()?.arm_resource(),
            },
        };
        let retry = mi.options().retry.clone();
        Ok(Arm {
            display: display_host(&url).into(),
            origin: origin.into(),
            service: Service::new(azmi, mi, resource, retry)?,
        })
    }

    /// Retries transient service failures under `retry` instead of the identity's policy.
    pub fn with_retry(mut self, retry: crate::RetryPolicy) -> Arm {
        self.service = self.service.with_retry(retry);
        self
    }

    /// `https://host[:port]`.
    pub fn endpoint(&self) -> &str {
        &self.origin
    }

    /// The token resource requests use.
    pub fn resource(&self) -> &str {
        self.service.resource()
    }

    /// The URL of `path_or_url` (a path from the endpoint's root, or a full URL on the
    /// endpoint's host) with `api-version` set when given.
    fn url(&self, path_or_url: &str, api_version: Option<&str>) -> Result<Url> {
        let mut url = if path_or_url.starts_with('/') {
            Url::parse(&format!("{}{path_or_url}", self.origin))
        } else {
            Url::parse(path_or_url)
        }
        .map_err(|e| {
            Error::InvalidArgument(format!(
                "'{}' is neither a path (/subscriptions/…) nor a URL ({e})",
                printable(path_or_url)
            ))
        })?;
        if url.origin().ascii_serialization() != *self.origin {
            return Err(Error::Insecure(format!(
                "refusing to send a Resource Manager token to {}: requests go only to the endpoint {}",
                display_url(&url),
                self.display
            )));
        }
        if let Some(v) = api_version {
            let others: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "api-version")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(others)
                .append_pair("api-version", v);
        }
        if !url.query_pairs().any(|(k, _)| k == "api-version") {
            return Err(Error::InvalidArgument(format!(
                "no api-version for {}; Resource Manager requires one (e.g. {RESOURCE_GROUP_API_VERSION} for resource groups)",
                display_url(&url)
            )));
        }
        Ok(url)
    }

    /// Sends `method` (GET, PUT, POST, PATCH or DELETE) to `path_or_url` (a path such as
    /// `/subscriptions/{s}/resourceGroups/{rg}`, or a URL on the endpoint's host) with
    /// `api_version` (required unless the URL has one) and a JSON `body`, and returns the
    /// answer's JSON (`Null` for an empty answer such as 204). GET, PUT and DELETE are retried
    /// on 5xx too; POST and PATCH only on 429 and 503.
    ///
    /// A request that starts a long-running operation is waited for, as the Azure SDKs do:
    /// when the answer is 201/202 (or 200, except to PATCH) with `Azure-AsyncOperation`, that
    /// status URL is polled until `Succeeded`, `Failed` or `Canceled`, and then PUT and PATCH
    /// return the resource read again, POST the JSON at the first answer's `Location` (without
    /// one, the status's `properties`, or `Null`), DELETE `Null`. A 202 with only `Location` is
    /// polled there until it answers something other than 202, whose JSON is returned. An
    /// operation that ends `Failed` or `Canceled` is an error with its code and message (mapped
    /// as any Resource Manager error code); an error answer to a poll is that error. Polls are
    /// GETs, retried as any GET, spaced by the service's `Retry-After` (at most 60 s) or by
    /// 1, 1, 1, 2, 4, … 32 s without one, and go only to the endpoint's own origin (a monitor
    /// URL elsewhere is [`ErrorCode::InsecureRequest`](crate::ErrorCode::InsecureRequest)).
    /// There is no overall time limit: dropping the future (cancelling) stops waiting at once,
    /// but not the operation, which goes on in Azure.
    pub async fn request(
        &self,
        method: &str,
        path_or_url: &str,
        api_version: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value> {
        let method = parse_method(method)?;
        let url = self.url(path_or_url, api_version)?;
        let what = format!("{method} {}", display_url(&url));
        let idempotent = matches!(method, Method::GET | Method::PUT | Method::DELETE);
        let response = self
            .send_raw(method.clone(), url.clone(), body, idempotent, &what)
            .await?;
        match self.operation_of(&method, &url, &response, &what)? {
            // The first answer's body (often the resource, still provisioning) is superseded
            // by the operation's result; its headers were all that mattered.
            Some(operation) => {
                drop(response);
                self.wait(operation).await
            }
            None => read_json(response, MAX_ANSWER, &what).await,
        }
    }

    /// GETs `path_or_url`; when the answer is a list (`{"value":[…]}`), follows every
    /// `nextLink` and returns `{"value":[…every item…]}`.
    pub async fn get_all(&self, path_or_url: &str, api_version: Option<&str>) -> Result<Value> {
        let url = self.url(path_or_url, api_version)?;
        let what = format!("GET {}", display_url(&url));
        let first = self.send(Method::GET, url, None, true, &what).await?;
        let Some(items) = first.get("value").and_then(Value::as_array) else {
            return Ok(first);
        };
        let mut all = items.clone();
        if let Some(next) = next_link(&first) {
            let url = self.next_url(next, &what)?;
            self.pages(url, &what, &mut |item| {
                all.push(item);
                Ok(true)
            })
            .await?;
        }
        let mut out = Map::new();
        out.insert("value".into(), Value::Array(all));
        Ok(Value::Object(out))
    }

    /// GETs the list at `path_or_url` and every page after it (`nextLink`), handing each item
    /// to `on_item`, which returns `false` to stop.
    pub async fn list(
        &self,
        path_or_url: &str,
        api_version: Option<&str>,
        mut on_item: impl FnMut(Value) -> bool,
    ) -> Result<ListOutcome> {
        let url = self.url(path_or_url, api_version)?;
        let what = format!("listing {}", display_url(&url));
        self.pages(url, &what, &mut |v| Ok(on_item(v))).await
    }

    /// The resource group `name` of subscription `subscription`.
    pub async fn resource_group(&self, subscription: &str, name: &str) -> Result<ResourceGroup> {
        check_segment("subscription", subscription)?;
        check_segment("resource group", name)?;
        let v = self
            .request(
                "GET",
                &format!(
                    "/subscriptions/{subscription}/resourceGroups/{}",
                    encode(name)
                ),
                Some(RESOURCE_GROUP_API_VERSION),
                None,
            )
            .await?;
        ResourceGroup::from_json(&v)
    }

    /// The resource groups of `subscription` the identity may read, every page; `on_group`
    /// returns `false` to stop.
    pub async fn resource_groups(
        &self,
        subscription: &str,
        mut on_group: impl FnMut(ResourceGroup) -> bool,
    ) -> Result<ListOutcome> {
        check_segment("subscription", subscription)?;
        let url = self.url(
            &format!("/subscriptions/{subscription}/resourcegroups"),
            Some(RESOURCE_GROUP_API_VERSION),
        )?;
        let what = format!("listing the resource groups of subscription {subscription}");
        self.pages(url, &what, &mut |v| {
            Ok(on_group(ResourceGroup::from_json(&v)?))
        })
        .await
    }

    /// A service SAS from `listServiceSas` of storage account `account` (checked first: see
    /// [`ServiceSasRequest::validate`]). The token has no leading `?`.
    pub async fn list_service_sas(
        &self,
        subscription: &str,
        resource_group: &str,
        account: &str,
        request: &ServiceSasRequest,
    ) -> Result<SecretString> {
        request.validate(account)?;
        self.storage_action(
            subscription,
            resource_group,
            account,
            "listServiceSas",
            request.to_json(),
            "serviceSasToken",
        )
        .await
    }

    /// An account SAS from `listAccountSas` of storage account `account` (checked first: see
    /// [`AccountSasRequest::validate`]). The token has no leading `?`.
    pub async fn list_account_sas(
        &self,
        subscription: &str,
        resource_group: &str,
        account: &str,
        request: &AccountSasRequest,
    ) -> Result<SecretString> {
        check_account(account)?;
        request.validate()?;
        self.storage_action(
            subscription,
            resource_group,
            account,
            "listAccountSas",
            request.to_json(),
            "accountSasToken",
        )
        .await
    }

    async fn storage_action(
        &self,
        subscription: &str,
        resource_group: &str,
        account: &str,
        action: &str,
        body: Value,
        field: &str,
    ) -> Result<SecretString> {
        check_segment("subscription", subscription)?;
        check_segment("resource group", resource_group)?;
        let url = self.url(
            &format!(
                "/subscriptions/{subscription}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{account}/{action}",
                encode(resource_group)
            ),
            Some(STORAGE_API_VERSION),
        )?;
        let what = format!(
            "{action} of storage account '{account}' (resource group '{resource_group}', subscription {subscription})"
        );
        // Minting a SAS changes nothing: it may be retried like a read.
        let mut answer = self
            .send(Method::POST, url, Some(&body), true, &what)
            .await?;
        match answer.get_mut(field) {
            Some(Value::String(s)) => {
                let token = Zeroizing::new(std::mem::take(s));
                Ok(SecretString::from(token.as_str()))
            }
            _ => Err(Error::Protocol(format!(
                "{what}: the answer has no {field}"
            ))),
        }
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        idempotent: bool,
        what: &str,
    ) -> Result<Value> {
        let response = self.send_raw(method, url, body, idempotent, what).await?;
        read_json(response, MAX_ANSWER, what).await
    }

    /// Sends a request and returns the answer (any status below 400) unread.
    async fn send_raw(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        idempotent: bool,
        what: &str,
    ) -> Result<Response> {
        let mut req = Request::new(method, url, what);
        if !idempotent {
            req = req.not_idempotent();
        }
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")?
                .body(Bytes::from(b.to_string()));
        }
        self.service.send(req).await
    }

    fn next_url(&self, link: &str, what: &str) -> Result<Url> {
        let url = Url::parse(link)
            .map_err(|_| Error::Protocol(format!("{what}: nextLink is not a URL")))?;
        if url.origin().ascii_serialization() != *self.origin {
            return Err(Error::Insecure(format!(
                "{what}: nextLink points at another host ({}); azmi does not send the token there",
                display_host(&url)
            )));
        }
        Ok(url)
    }

    /// Follows the pages of a list from `url`.
    async fn pages(
        &self,
        url: Url,
        what: &str,
        on_item: &mut dyn FnMut(Value) -> Result<bool>,
    ) -> Result<ListOutcome> {
        let mut outcome = ListOutcome {
            items: 0,
            stopped: false,
        };
        let mut next = Some(url);
        while let Some(url) = next.take() {
            let mut page = self.send(Method::GET, url, None, true, what).await?;
            let link = next_link(&page).map(str::to_owned);
            let Some(Value::Array(items)) = page.get_mut("value").map(Value::take) else {
                return Err(Error::Protocol(format!("{what}: a page has no value list")));
            };
            for item in items {
                outcome.items += 1;
                if !on_item(item)? {
                    outcome.stopped = true;
                    return Ok(outcome);
                }
            }
            if let Some(link) = link {
                next = Some(self.next_url(&link, what)?);
            }
        }
        Ok(outcome)
    }
}

fn next_link(page: &Value) -> Option<&str> {
    page.get("nextLink")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn parse_method(method: &str) -> Result<Method> {
    match method.to_ascii_uppercase().as_str() {
        "GET" => Ok(Method::GET),
        "PUT" => Ok(Method::PUT),
        "POST" => Ok(Method::POST),
        "PATCH" => Ok(Method::PATCH),
        "DELETE" => Ok(Method::DELETE),
        _ => Err(Error::InvalidArgument(format!(
            "'{}' is not a Resource Manager method; use GET, PUT, POST, PATCH or DELETE",
            printable(method)
        ))),
    }
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A path segment the caller gives (subscription id, resource group name).
fn check_segment(kind: &str, value: &str) -> Result<()> {
    if value.is_empty()
        || value.len() > 90
        || !value
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.()".contains(c))
    {
        return Err(Error::InvalidArgument(format!(
            "'{}' is not a valid {kind} (up to 90 letters, digits and - _ . ( ))",
            printable(value)
        )));
    }
    Ok(())
}

fn check_account(account: &str) -> Result<()> {
    if !(3..=24).contains(&account.len())
        || !account
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return Err(Error::InvalidArgument(format!(
            "'{}' is not a valid storage account name (3 to 24 lower-case letters and digits)",
            printable(account)
        )));
    }
    Ok(())
}

/// A resource group, as `Get-AzResourceGroup` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceGroup {
    pub resource_group_name: String,
    pub location: String,
    pub provisioning_state: String,
    pub tags: BTreeMap<String, String>,
    /// `/subscriptions/{s}/resourceGroups/{name}`.
    pub resource_id: String,
}

impl ResourceGroup {
    fn from_json(v: &Value) -> Result<ResourceGroup> {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        let name = text(v.get("name"));
        if name.is_empty() {
            return Err(Error::Protocol(
                "a resource group in the answer has no name".into(),
            ));
        }
        Ok(ResourceGroup {
            resource_group_name: name,
            location: text(v.get("location")),
            provisioning_state: text(v.pointer("/properties/provisioningState")),
            tags: v
                .get("tags")
                .and_then(Value::as_object)
                .map(|t| {
                    t.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            resource_id: text(v.get("id")),
        })
    }
}

/// The body of `listServiceSas` (the REST API's `ServiceSasParameters`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceSasRequest {
    /// `/blob/{account}/{container}[/{blob}]` or `/file/{account}/{share}[/{path}]`.
    pub canonicalized_resource: String,
    /// `b` (blob), `c` (container), `f` (file) or `s` (share).
    pub signed_resource: String,
    /// Letters in the service's order: `racwd` (blob), `racwdl` (container), `rcwd` (file),
    /// `rcwdl` (share), each at most once.
    pub signed_permission: String,
    /// ISO 8601 UTC, e.g. `2030-01-01T00:00:00Z`; in the future.
    pub signed_expiry: String,
    pub signed_start: Option<String>,
    /// `https` or `https,http`.
    pub signed_protocol: Option<String>,
    /// An IPv4 address or range `a.b.c.d-e.f.g.h`.
    pub signed_ip: Option<String>,
    /// A stored access policy's id.
    pub signed_identifier: Option<String>,
    pub rscc: Option<String>,
    pub rscd: Option<String>,
    pub rsce: Option<String>,
    pub rscl: Option<String>,
    pub rsct: Option<String>,
    /// `key1` or `key2`.
    pub key_to_sign: Option<String>,
}

/// The body of `listAccountSas` (the REST API's `AccountSasParameters`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountSasRequest {
    /// Some of `b` `q` `t` `f`.
    pub signed_services: String,
    /// Some of `s` `c` `o`.
    pub signed_resource_types: String,
    /// Letters in the order `rwdlacup`, each at most once.
    pub signed_permission: String,
    pub signed_expiry: String,
    pub signed_start: Option<String>,
    pub signed_ip: Option<String>,
    pub signed_protocol: Option<String>,
    pub key_to_sign: Option<String>,
}

/// Reads a JSON object of string fields into `fields` (name, required, slot).
fn read_fields(
    json: &Value,
    kind: &str,
    fields: &mut [(&str, bool, &mut Option<String>)],
) -> Result<()> {
    let obj = json.as_object().ok_or_else(|| {
        Error::InvalidArgument(format!("the {kind} request must be a JSON object"))
    })?;
    for (key, value) in obj {
        let Some((_, _, slot)) = fields.iter_mut().find(|(name, _, _)| name == key) else {
            let known: Vec<&str> = fields.iter().map(|(n, _, _)| *n).collect();
            return Err(Error::InvalidArgument(format!(
                "the {kind} request has the unknown field '{}'; known fields: {}",
                printable(key),
                known.join(", ")
            )));
        };
        match value {
            Value::String(s) => **slot = Some(s.clone()),
            Value::Null => {}
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "{key} of the {kind} request must be a string"
                )))
            }
        }
    }
    for (name, required, slot) in fields.iter() {
        if *required && slot.as_deref().is_none_or(str::is_empty) {
            return Err(Error::InvalidArgument(format!(
                "the {kind} request lacks {name}"
            )));
        }
    }
    Ok(())
}

fn write_fields(fields: &[(&str, Option<&String>)]) -> Value {
    let mut obj = Map::new();
    for (name, value) in fields {
        if let Some(v) = value {
            obj.insert((*name).to_owned(), Value::String((*v).clone()));
        }
    }
    Value::Object(obj)
}

impl ServiceSasRequest {
    /// Reads the REST API's JSON body (`{"canonicalizedResource":…,"signedResource":…}`);
    /// unknown fields are refused (they are usually misspelt).
    pub fn from_json(json: &Value) -> Result<ServiceSasRequest> {
        let (mut cr, mut sr, mut sp, mut se) = (None, None, None, None);
        let mut r = ServiceSasRequest::default();
        read_fields(
            json,
            "listServiceSas",
            &mut [
                ("canonicalizedResource", true, &mut cr),
                ("signedResource", true, &mut sr),
                ("signedPermission", true, &mut sp),
                ("signedExpiry", true, &mut se),
                ("signedStart", false, &mut r.signed_start),
                ("signedProtocol", false, &mut r.signed_protocol),
                ("signedIp", false, &mut r.signed_ip),
                ("signedIdentifier", false, &mut r.signed_identifier),
                ("rscc", false, &mut r.rscc),
                ("rscd", false, &mut r.rscd),
                ("rsce", false, &mut r.rsce),
                ("rscl", false, &mut r.rscl),
                ("rsct", false, &mut r.rsct),
                ("keyToSign", false, &mut r.key_to_sign),
            ],
        )?;
        r.canonicalized_resource = cr.unwrap_or_default();
        r.signed_resource = sr.unwrap_or_default();
        r.signed_permission = sp.unwrap_or_default();
        r.signed_expiry = se.unwrap_or_default();
        Ok(r)
    }

    /// The REST API's JSON body.
    pub fn to_json(&self) -> Value {
        write_fields(&[
            ("canonicalizedResource", Some(&self.canonicalized_resource)),
            ("signedResource", Some(&self.signed_resource)),
            ("signedPermission", Some(&self.signed_permission)),
            ("signedExpiry", Some(&self.signed_expiry)),
            ("signedStart", self.signed_start.as_ref()),
            ("signedProtocol", self.signed_protocol.as_ref()),
            ("signedIp", self.signed_ip.as_ref()),
            ("signedIdentifier", self.signed_identifier.as_ref()),
            ("rscc", self.rscc.as_ref()),
            ("rscd", self.rscd.as_ref()),
            ("rsce", self.rsce.as_ref()),
            ("rscl", self.rscl.as_ref()),
            ("rsct", self.rsct.as_ref()),
            ("keyToSign", self.key_to_sign.as_ref()),
        ])
    }

    /// Checks the request for storage account `account` as the service would, with messages
    /// that say how to fix it.
    pub fn validate(&self, account: &str) -> Result<()> {
        check_account(account)?;
        let (service, order, kind) = match self.signed_resource.as_str() {
            "b" => ("blob", "racwd", "blob"),
            "c" => ("blob", "racwdl", "container"),
            "f" => ("file", "rcwd", "file"),
            "s" => ("file", "rcwdl", "share"),
            other => {
                return Err(Error::InvalidArgument(format!(
                    "signedResource '{}' is not b (blob), c (container), f (file) or s (share)",
                    printable(other)
                )))
            }
        };
        let cr = &self.canonicalized_resource;
        let prefix = format!("/{service}/{account}/");
        let Some(rest) = cr.strip_prefix(&prefix) else {
            return Err(Error::InvalidArgument(format!(
                "canonicalizedResource '{}' must start with {prefix} for a {kind} SAS of account {account}",
                printable(cr)
            )));
        };
        let (container, path) = rest.split_once('/').unwrap_or((rest, ""));
        let is_item = matches!(kind, "blob" | "file");
        let parent = if service == "blob" {
            "container"
        } else {
            "share"
        };
        if container.is_empty() || (is_item && path.trim_matches('/').is_empty()) {
            return Err(Error::InvalidArgument(format!(
                "canonicalizedResource '{}' must name a {parent}{} for a {kind} SAS: {prefix}<{parent}>{}",
                printable(cr),
                if is_item { format!(" and a {kind} in it") } else { String::new() },
                if is_item { format!("/<{kind}>") } else { String::new() },
            )));
        }
        if !is_item && !path.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "canonicalizedResource '{}' names more than a {parent}; a {kind} SAS (signedResource {}) is for {prefix}<{parent}>, a SAS for one {} needs signedResource {}",
                printable(cr),
                self.signed_resource,
                if service == "blob" { "blob" } else { "file" },
                if service == "blob" { "b" } else { "f" },
            )));
        }
        check_permissions(&self.signed_permission, order, &format!("a {kind} SAS"))?;
        check_times(&self.signed_start, &self.signed_expiry)?;
        check_protocol(&self.signed_protocol)?;
        check_ip(&self.signed_ip)?;
        check_key(&self.key_to_sign)
    }
}

impl AccountSasRequest {
    /// Reads the REST API's JSON body (`{"signedServices":…,"signedResourceTypes":…}`);
    /// unknown fields are refused.
    pub fn from_json(json: &Value) -> Result<AccountSasRequest> {
        let (mut ss, mut srt, mut sp, mut se) = (None, None, None, None);
        let mut r = AccountSasRequest::default();
        read_fields(
            json,
            "listAccountSas",
            &mut [
                ("signedServices", true, &mut ss),
                ("signedResourceTypes", true, &mut srt),
                ("signedPermission", true, &mut sp),
                ("signedExpiry", true, &mut se),
                ("signedStart", false, &mut r.signed_start),
                ("signedIp", false, &mut r.signed_ip),
                ("signedProtocol", false, &mut r.signed_protocol),
                ("keyToSign", false, &mut r.key_to_sign),
            ],
        )?;
        r.signed_services = ss.unwrap_or_default();
        r.signed_resource_types = srt.unwrap_or_default();
        r.signed_permission = sp.unwrap_or_default();
        r.signed_expiry = se.unwrap_or_default();
        Ok(r)
    }

    /// The REST API's JSON body.
    pub fn to_json(&self) -> Value {
        write_fields(&[
            ("signedServices", Some(&self.signed_services)),
            ("signedResourceTypes", Some(&self.signed_resource_types)),
            ("signedPermission", Some(&self.signed_permission)),
            ("signedExpiry", Some(&self.signed_expiry)),
            ("signedStart", self.signed_start.as_ref()),
            ("signedIp", self.signed_ip.as_ref()),
            ("signedProtocol", self.signed_protocol.as_ref()),
            ("keyToSign", self.key_to_sign.as_ref()),
        ])
    }

    /// Checks the request as the service would.
    pub fn validate(&self) -> Result<()> {
        check_letters("signedServices", &self.signed_services, "bqtf")?;
        check_letters("signedResourceTypes", &self.signed_resource_types, "sco")?;
        check_permissions(&self.signed_permission, "rwdlacup", "an account SAS")?;
        check_times(&self.signed_start, &self.signed_expiry)?;
        check_protocol(&self.signed_protocol)?;
        check_ip(&self.signed_ip)?;
        check_key(&self.key_to_sign)
    }
}

/// Letters from `allowed`, each at most once, in any order.
fn check_letters(field: &str, given: &str, allowed: &str) -> Result<()> {
    let mut seen = String::new();
    for c in given.chars() {
        if !allowed.contains(c) || seen.contains(c) {
            return Err(Error::InvalidArgument(format!(
                "{field} '{}' may hold each of the letters {allowed} at most once",
                printable(given)
            )));
        }
        seen.push(c);
    }
    if seen.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{field} is empty; give some of {allowed}"
        )));
    }
    Ok(())
}

/// Permission letters from `order`, each at most once, in that order.
fn check_permissions(given: &str, order: &str, kind: &str) -> Result<()> {
    check_letters("signedPermission", given, order).map_err(|_| {
        Error::InvalidArgument(format!(
            "signedPermission '{}' is not valid for {kind}: use the letters {order}, each at most once, in that order",
            printable(given)
        ))
    })?;
    let sorted: String = order.chars().filter(|c| given.contains(*c)).collect();
    if sorted != given {
        return Err(Error::InvalidArgument(format!(
            "signedPermission '{given}' is not in the service's order {order}: give '{sorted}'"
        )));
    }
    Ok(())
}

/// An ISO 8601 UTC time such as `2030-01-01T00:00:00Z`.
fn parse_utc(field: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    let bad = || {
        Error::InvalidArgument(format!(
            "{field} '{}' is not an ISO 8601 UTC time such as 2030-01-01T00:00:00Z",
            printable(text)
        ))
    };
    let t = chrono::DateTime::parse_from_rfc3339(text).map_err(|_| bad())?;
    if t.offset().local_minus_utc() != 0 {
        return Err(bad());
    }
    Ok(t.with_timezone(&chrono::Utc))
}

fn check_times(start: &Option<String>, expiry: &str) -> Result<()> {
    let expiry_time = parse_utc("signedExpiry", expiry)?;
    if expiry_time <= chrono::Utc::now() {
        return Err(Error::InvalidArgument(format!(
            "signedExpiry {expiry} is not in the future"
        )));
    }
    if let Some(s) = start {
        if parse_utc("signedStart", s)? >= expiry_time {
            return Err(Error::InvalidArgument(format!(
                "signedStart {s} is not before signedExpiry {expiry}"
            )));
        }
    }
    Ok(())
}

fn check_protocol(protocol: &Option<String>) -> Result<()> {
    match protocol.as_deref() {
        None | Some("https") | Some("https,http") => Ok(()),
        Some(p) => Err(Error::InvalidArgument(format!(
            "signedProtocol '{}' is neither https nor https,http",
            printable(p)
        ))),
    }
}

fn check_ip(ip: &Option<String>) -> Result<()> {
    let Some(ip) = ip else { return Ok(()) };
    let ok = match ip.split_once('-') {
        Some((a, b)) => match (a.parse::<Ipv4Addr>(), b.parse::<Ipv4Addr>()) {
            (Ok(a), Ok(b)) => a <= b,
            _ => false,
        },
        None => ip.parse::<Ipv4Addr>().is_ok(),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "signedIp '{}' is neither an IPv4 address nor a range such as 168.1.5.60-168.1.5.70",
            printable(ip)
        )))
    }
}

fn check_key(key: &Option<String>) -> Result<()> {
    match key.as_deref() {
        None | Some("key1") | Some("key2") => Ok(()),
        Some(k) => Err(Error::InvalidArgument(format!(
            "keyToSign '{}' is neither key1 nor key2",
            printable(k)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container_sas() -> ServiceSasRequest {
        ServiceSasRequest {
            canonicalized_resource: "/blob/acct/uploads".into(),
            signed_resource: "c".into(),
            signed_permission: "rcwl".into(),
            signed_expiry: "2099-01-01T00:00:00Z".into(),
            ..Default::default()
        }
    }

    fn message(r: &ServiceSasRequest) -> String {
        r.validate("acct").unwrap_err().to_string()
    }

    #[test]
    fn service_sas_requests_are_checked() {
        container_sas().validate("acct").unwrap();
        let mut r = container_sas();
        r.signed_permission = "wr".into();
        assert!(message(&r).contains("give 'rw'"), "{}", message(&r));
        r.signed_permission = "rx".into();
        assert!(message(&r).contains("racwdl"), "{}", message(&r));
        r.signed_permission = "rr".into();
        assert!(message(&r).contains("at most once"));
        let mut r = container_sas();
        r.signed_expiry = "2020-01-01T00:00:00Z".into();
        assert!(message(&r).contains("not in the future"));
        r.signed_expiry = "2099-01-01T00:00:00+02:00".into();
        assert!(message(&r).contains("UTC"));
        r.signed_expiry = "tomorrow".into();
        assert!(message(&r).contains("ISO 8601"));
        let mut r = container_sas();
        r.canonicalized_resource = "/blob/other/uploads".into();
        assert!(message(&r).contains("/blob/acct/"));
        r.canonicalized_resource = "/blob/acct/uploads/a.txt".into();
        assert!(message(&r).contains("signedResource b"), "{}", message(&r));
        r.signed_resource = "b".into();
        r.signed_permission = "rcw".into();
        r.validate("acct").unwrap();
        r.signed_resource = "f".into();
        assert!(message(&r).contains("/file/acct/"));
        r.signed_resource = "x".into();
        assert!(message(&r).contains("signedResource"));
        let mut r = container_sas();
        r.signed_protocol = Some("http".into());
        assert!(message(&r).contains("signedProtocol"));
        r.signed_protocol = Some("https,http".into());
        r.signed_ip = Some("10.0.0.1-10.0.0.9".into());
        r.validate("acct").unwrap();
        r.signed_ip = Some("10.0.0.300".into());
        assert!(message(&r).contains("signedIp"));
        let mut r = container_sas();
        r.key_to_sign = Some("key3".into());
        assert!(message(&r).contains("keyToSign"));
        assert!(container_sas().validate("Bad_Name").is_err());
    }

    #[test]
    fn service_sas_json_round_trips_and_refuses_unknown_fields() {
        let r = container_sas();
        assert_eq!(ServiceSasRequest::from_json(&r.to_json()).unwrap(), r);
        let e = ServiceSasRequest::from_json(&serde_json::json!({"canonicalizedresource": "x"}))
            .unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e =
            ServiceSasRequest::from_json(&serde_json::json!({"signedResource": "c"})).unwrap_err();
        assert!(e.to_string().contains("lacks canonicalizedResource"), "{e}");
    }

    #[test]
    fn account_sas_requests_are_checked() {
        let mut r = AccountSasRequest {
            signed_services: "bf".into(),
            signed_resource_types: "sco".into(),
            signed_permission: "rwl".into(),
            signed_expiry: "2099-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        r.validate().unwrap();
        r.signed_permission = "lr".into();
        assert!(r.validate().unwrap_err().to_string().contains("give 'rl'"));
        r.signed_permission = "r".into();
        r.signed_services = "bx".into();
        assert!(r
            .validate()
            .unwrap_err()
            .to_string()
            .contains("signedServices"));
    }

    #[test]
    fn endpoints_and_their_resources() {
        assert_eq!(
            parse_endpoint("https://management.azure.com/").unwrap(),
            "https://management.azure.com"
        );
        assert!(parse_endpoint("https://management.azure.com/subscriptions").is_err());
        assert_eq!(
            parse_endpoint("http://management.azure.com")
                .unwrap_err()
                .code(),
            crate::ErrorCode::InsecureRequest
        );
        assert!(parse_endpoint("http://127.0.0.1:1").is_ok());
    }
}
