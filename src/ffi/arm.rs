//! `azmi_arm`: Azure Resource Manager requests and storage SAS tokens with the managed
//! identity's tokens, and the `azmi_string` they come back in.

use std::ffi::c_char;
use std::future::Future;

use super::args::{opt_str_arg, str_arg};
use super::boundary::guard;
use super::call::{identity_arg, identity_or_default, run_with};
use super::cancel::azmi_cancel;
use super::error::azmi_error;
use super::handle::Out;
use super::identity::azmi_identity;
use super::status::azmi_status;
use super::string::azmi_string;
use crate::arm::{parse_endpoint, AccountSasRequest, Arm, ServiceSasRequest};
use crate::error::{Error, Result};
use crate::runtime::Engine;
use parking_lot::Mutex;
use secrecy::ExposeSecret;
use serde_json::Value;

/// The endpoint set by `azmi_set_arm_endpoint`: `None` when never set (`AZMI_ARM_ENDPOINT`
/// decides, else the cloud), `Some(None)` for the cloud's endpoint whatever the variable says.
static ENDPOINT_OVERRIDE: Mutex<Option<Option<String>>> = Mutex::new(None);

/// Sends the Resource Manager requests of this process to `url` (`https://host[:port]`, e.g.
/// `https://management.usgovcloudapi.net` or a test endpoint; plain `http://` only to
/// loopback), or with NULL to the endpoint of the identity's cloud
/// (`https://management.azure.com` unless an environment is named: `azmi_set_environment`,
/// `azmi_identity_set_environment`), whatever `AZMI_ARM_ENDPOINT` says. Without this call azmi
/// reads `AZMI_ARM_ENDPOINT` at each call; hosts whose runtime keeps its own environment (.NET
/// on Linux) pass it on here. Tokens are for the endpoint's cloud (for an endpoint azmi does
/// not know, such as a test endpoint, the identity's cloud's). A malformed URL is
/// `AZMI_INVALID_ARGUMENT` (`AZMI_INSECURE_REQUEST` for plain HTTP) and changes nothing.
/// Applies to calls started afterwards.
#[no_mangle]
pub unsafe extern "C" fn azmi_set_arm_endpoint(
    url: *const c_char,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or a NUL-terminated string (contract).
        let url = unsafe { opt_str_arg(url, "url")? };
        let endpoint = url.map(parse_endpoint).transpose()?;
        *ENDPOINT_OVERRIDE.lock() = Some(endpoint);
        Ok(())
    })
}

/// Runs one operation on Resource Manager on the engine, on the calling thread, with
/// cancellation.
fn run<T, F, Fut>(identity: *const azmi_identity, cancel: *const azmi_cancel, op: F) -> Result<T>
where
    F: FnOnce(Arm) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let client = |engine: &Engine| {
        let mi = identity_or_default(engine, identity_arg(identity).as_ref())?;
        match ENDPOINT_OVERRIDE.lock().clone() {
            None => Arm::new(&engine.azmi, mi),
            Some(None) => Arm::of_cloud(&engine.azmi, mi),
            Some(Some(e)) => Arm::with_endpoint(&engine.azmi, mi, &e, None),
        }
    };
    run_with(cancel, client, op)
}

/// A JSON text argument.
fn json_arg(text: &str, name: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        Error::InvalidArgument(format!(
            "{name} is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// Sends an authenticated Resource Manager request and returns the answer's JSON text.
///
/// - `method`: "GET", "PUT", "POST", "PATCH" or "DELETE". Required.
/// - `path_or_url`: a path from the endpoint's root (`/subscriptions/<id>/resourcegroups`) or a
///   full URL on the endpoint's host (a token never goes to another host). Required.
/// - `api_version`: e.g. "2021-04-01"; NULL when the URL already has one.
/// - `json_body`: the request body (JSON text), or NULL for none.
/// - `identity`, `cancel`: as `azmi_get_token`.
/// - `json_out`: receives a new `azmi_string` on success (free with `azmi_string_free`):
///   the answer's JSON, `null` for an empty answer (204, or 202 without a monitor). A GET
///   whose answer is a list follows every `nextLink` (on the same host) and returns
///   `{"value":[…every item…]}`.
///
/// Long-running operations are waited for, as the Azure SDKs do, so the call returns when the
/// operation has ended: an answer 201/202 (or 200, except to PATCH) with
/// `Azure-AsyncOperation` is polled there until its status is `Succeeded` (then a PUT or PATCH
/// returns the resource read again, a POST the JSON at the first answer's `Location`, else the
/// status's `properties` or `null`, a DELETE `null`), `Failed` or `Canceled` (an error with
/// the operation's own error code and message); a 202 with only `Location` is polled there
/// until it answers something else, whose JSON (or `null`) is returned. Polls are GETs,
/// retried as any GET, spaced by the service's `Retry-After` (at most 60 s) or by 1, 1, 1, 2,
/// 4, … 32 s without one, and sent only to the endpoint's own origin (a monitor URL elsewhere
/// is `AZMI_INSECURE_REQUEST`, and nothing is sent there). There is no overall time limit:
/// cancelling `cancel` stops waiting at once (`AZMI_CANCELLED`) but not the operation, which
/// goes on in Azure.
///
/// The endpoint is `azmi_set_arm_endpoint`'s, else `AZMI_ARM_ENDPOINT`'s, else the identity's
/// cloud's (`https://management.azure.com` unless an environment is named). 429 and 503 are retried honouring `Retry-After` (GET, PUT
/// and DELETE also on other 5xx) under the identity's retry settings.
///
/// Errors: the service's code and message are in the `azmi_error` (`AuthorizationFailed` is
/// `AZMI_PERMISSION_DENIED`, `ResourceGroupNotFound` and other `…NotFound` `AZMI_NOT_FOUND`,
/// throttling `AZMI_THROTTLED`, 401 `AZMI_AUTHENTICATION_FAILED`, others
/// `AZMI_SERVICE_ERROR`); `AZMI_INVALID_ARGUMENT` (NULL, not UTF-8, a bad method, body or
/// path), `AZMI_INSECURE_REQUEST`, `AZMI_CANCELLED`, `AZMI_NETWORK_ERROR`, `AZMI_TIMEOUT`,
/// `AZMI_PROTOCOL_ERROR`, the token errors of `azmi_get_token`, `AZMI_RUNTIME_ERROR` from a
/// callback.
#[no_mangle]
pub unsafe extern "C" fn azmi_arm_request(
    method: *const c_char,
    path_or_url: *const c_char,
    api_version: *const c_char,
    json_body: *const c_char,
    identity: *const azmi_identity,
    cancel: *const azmi_cancel,
    json_out: *mut *mut azmi_string,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let json_out = Out::new(json_out, "json_out")?;
        // SAFETY: NULL or NUL-terminated strings (contract).
        let (method, path, api_version, body) = unsafe {
            (
                str_arg(method, "method")?,
                str_arg(path_or_url, "path_or_url")?,
                opt_str_arg(api_version, "api_version")?,
                opt_str_arg(json_body, "json_body")?,
            )
        };
        let body = body.map(|b| json_arg(b, "json_body")).transpose()?;
        let answer = run(identity, cancel, |arm| async move {
            if method.eq_ignore_ascii_case("GET") && body.is_none() {
                arm.get_all(path, api_version).await
            } else {
                arm.request(method, path, api_version, body.as_ref()).await
            }
        })?;
        json_out.set(azmi_string::new(&answer.to_string()));
        Ok(())
    })
}

/// Which SAS a call mints.
#[derive(Clone, Copy)]
enum SasKind {
    Service,
    Account,
}

/// Mints a SAS of the storage account `account` in `resource_group` of `subscription`, after
/// checking `request_json` for that kind of SAS.
///
/// # Safety
/// The strings are NULL or NUL-terminated.
unsafe fn list_sas(
    kind: SasKind,
    (subscription, resource_group, account): (*const c_char, *const c_char, *const c_char),
    request_json: *const c_char,
    identity: *const azmi_identity,
    cancel: *const azmi_cancel,
    sas_out: *mut *mut azmi_string,
) -> Result<()> {
    let sas_out = Out::new(sas_out, "sas_out")?;
    // SAFETY: forwarded contract.
    let (sub, rg, account, json) = unsafe {
        (
            str_arg(subscription, "subscription")?,
            str_arg(resource_group, "resource_group")?,
            str_arg(account, "account")?,
            json_arg(str_arg(request_json, "request_json")?, "request_json")?,
        )
    };
    let sas = match kind {
        SasKind::Service => {
            let request = ServiceSasRequest::from_json(&json)?;
            request.validate(account)?;
            run(identity, cancel, |arm| async move {
                arm.list_service_sas(sub, rg, account, &request).await
            })?
        }
        SasKind::Account => {
            let request = AccountSasRequest::from_json(&json)?;
            request.validate()?;
            run(identity, cancel, |arm| async move {
                arm.list_account_sas(sub, rg, account, &request).await
            })?
        }
    };
    sas_out.set(azmi_string::new(sas.expose_secret()));
    Ok(())
}

/// Mints a service SAS with `listServiceSas` of the storage account `account` in
/// `resource_group` of `subscription` (the identity needs e.g. Storage Account Contributor).
///
/// `request_json` is the REST API's body, e.g.
/// `{"canonicalizedResource":"/blob/<account>/<container>","signedResource":"c",
/// "signedPermission":"rcw","signedProtocol":"https","signedExpiry":"2030-01-01T00:00:00Z"}`
/// with optional `signedStart`, `signedIp`, `signedIdentifier`, `rscc`, `rscd`, `rsce`,
/// `rscl`, `rsct`, `keyToSign`. It is checked before anything is sent: unknown fields;
/// `signedResource` b|c|f|s; `canonicalizedResource` `/blob/<account>/<container>[/<blob>]` or
/// `/file/<account>/<share>[/<path>]` matching it; `signedPermission` letters in the service's
/// order (`racwd` blob, `racwdl` container, `rcwd` file, `rcwdl` share; a wrong order is
/// refused with the right one named); `signedExpiry` ISO 8601 UTC in the future;
/// `signedProtocol` https or https,http; `signedIp` an IPv4 address or range; `keyToSign`
/// key1|key2. A failed check is `AZMI_INVALID_ARGUMENT`.
///
/// On success `*sas_out` receives the token (`sv=…&sig=…`, no leading `?`) as a new
/// `azmi_string` (free with `azmi_string_free`, which wipes it). Other errors as
/// `azmi_arm_request`.
#[no_mangle]
pub unsafe extern "C" fn azmi_arm_list_sas(
    subscription: *const c_char,
    resource_group: *const c_char,
    account: *const c_char,
    request_json: *const c_char,
    identity: *const azmi_identity,
    cancel: *const azmi_cancel,
    sas_out: *mut *mut azmi_string,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    let account = (subscription, resource_group, account);
    // SAFETY: NULL or NUL-terminated strings (contract).
    guard(err_out, || unsafe {
        list_sas(
            SasKind::Service,
            account,
            request_json,
            identity,
            cancel,
            sas_out,
        )
    })
}

/// Mints an account SAS with `listAccountSas`. `request_json`: `{"signedServices":"b",
/// "signedResourceTypes":"sco","signedPermission":"rl","signedExpiry":"2030-01-01T00:00:00Z"}`
/// with optional `signedStart`, `signedIp`, `signedProtocol`, `keyToSign`; checked first
/// (`signedServices` ⊆ bqtf, `signedResourceTypes` ⊆ sco, `signedPermission` in the order
/// `rwdlacup`, and the rest as `azmi_arm_list_sas`). Otherwise as `azmi_arm_list_sas`.
#[no_mangle]
pub unsafe extern "C" fn azmi_arm_list_account_sas(
    subscription: *const c_char,
    resource_group: *const c_char,
    account: *const c_char,
    request_json: *const c_char,
    identity: *const azmi_identity,
    cancel: *const azmi_cancel,
    sas_out: *mut *mut azmi_string,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    let account = (subscription, resource_group, account);
    // SAFETY: NULL or NUL-terminated strings (contract).
    guard(err_out, || unsafe {
        list_sas(
            SasKind::Account,
            account,
            request_json,
            identity,
            cancel,
            sas_out,
        )
    })
}
