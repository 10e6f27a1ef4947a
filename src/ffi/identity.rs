//! `azmi_identity`: which managed identity to use and how to reach its endpoint.

use std::ffi::{c_char, CString};
use std::sync::Arc;
use std::time::Duration;

use super::args::opt_str_arg;
use super::boundary::guard;
use super::call::{identity_arg, identity_or_default};
use super::error::azmi_error;
use super::handle::{free, lend_str, try_borrow_mut, Out};
use super::status::azmi_status;
use super::string::azmi_string;
use crate::environment::AzureEnvironment;
use crate::error::{Error, Result};
use crate::identity::{IdentityId, ManagedIdentity, IMDS_TOKEN_URL};
use crate::source::{Source, SourceEnv};

/// The stable id of a source as a static C string (see `azmi_token_source`).
pub(crate) fn source_id(source: Source) -> &'static std::ffi::CStr {
    match source {
        Source::Imds => c"imds",
        Source::AppService => c"app_service",
        Source::ServiceFabric => c"service_fabric",
        Source::AzureMl => c"azure_ml",
        Source::CloudShell => c"cloud_shell",
        Source::Arc => c"arc",
        Source::WorkloadIdentity => c"workload_identity",
    }
}

/// A managed identity selection: system-assigned, or user-assigned by client id, object id or
/// resource id; with the token endpoint (from the environment unless set) and its timeouts.
/// Build it once and use it from any number of threads; free it with `azmi_identity_free`.
pub struct azmi_identity {
    pub(crate) mi: Arc<ManagedIdentity>,
    description: CString,
    endpoint: CString,
    capabilities: CString,
}

impl azmi_identity {
    fn new(mi: ManagedIdentity) -> azmi_identity {
        azmi_identity {
            description: CString::new(mi.identity().to_string()).unwrap_or_default(),
            endpoint: CString::new(mi.endpoint()).unwrap_or_default(),
            capabilities: CString::new(mi.client_capabilities().join(",")).unwrap_or_default(),
            mi: Arc::new(mi),
        }
    }

    fn update(&mut self, f: impl FnOnce(ManagedIdentity) -> Result<ManagedIdentity>) -> Result<()> {
        let next = f((*self.mi).clone())?;
        *self = azmi_identity::new(next);
        Ok(())
    }
}

/// `next` with the settings of `previous` that do not depend on the source: timeouts, retries,
/// the cloud and client capabilities.
fn keeping_settings(previous: &ManagedIdentity, next: ManagedIdentity) -> Result<ManagedIdentity> {
    next.with_options(previous.options().clone())
        .with_environment(previous.explicit_environment())
        .with_client_capabilities(previous.client_capabilities())
}

/// Selects an identity. Give at most one of `client_id`, `object_id` (GUIDs) and `resource_id`
/// (`/subscriptions/…/userAssignedIdentities/<name>`); all NULL selects the system-assigned
/// identity. More than one, or a malformed id, is `AZMI_INVALID_ARGUMENT`.
///
/// The managed identity source is detected from the environment now, in the order the Azure
/// SDKs use: `AZMI_IMDS_ENDPOINT` (a full IMDS-protocol token URL) or
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST` (a host) first, then Service Fabric
/// (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER` + `IDENTITY_SERVER_THUMBPRINT`), App Service /
/// Functions / Automation (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), Azure ML (`MSI_ENDPOINT` +
/// `MSI_SECRET`), Cloud Shell (`MSI_ENDPOINT`), Azure Arc (`IDENTITY_ENDPOINT` +
/// `IMDS_ENDPOINT`, or the agent installed), AKS workload identity
/// (`AZURE_FEDERATED_TOKEN_FILE` + `AZURE_CLIENT_ID` + `AZURE_TENANT_ID`), else IMDS
/// (`http://169.254.169.254/metadata/identity/oauth2/token`). A source that cannot serve the
/// selection (e.g. a user-assigned identity on Cloud Shell or Arc) is `AZMI_INVALID_ARGUMENT`
/// here, naming the source. `azmi_identity_set_source` overrides the detection. Hosts whose
/// runtime keeps its own copy of the environment (.NET on Linux and macOS:
/// `Environment.SetEnvironmentVariable` does not reach the native environment) should read
/// the variables themselves and call `azmi_identity_set_endpoint`. No client capabilities are
/// declared (see `azmi_identity_set_client_capabilities`).
///
/// On success `*identity_out` receives a new identity (free with `azmi_identity_free`).
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_new(
    client_id: *const c_char,
    object_id: *const c_char,
    resource_id: *const c_char,
    identity_out: *mut *mut azmi_identity,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let identity_out = Out::new(identity_out, "identity_out")?;
        // SAFETY: NULL or NUL-terminated strings (contract).
        let (c, o, r) = unsafe {
            (
                opt_str_arg(client_id, "client_id")?,
                opt_str_arg(object_id, "object_id")?,
                opt_str_arg(resource_id, "resource_id")?,
            )
        };
        let id = IdentityId::from_parts(c, o, r)?;
        let mi = ManagedIdentity::new(id)?;
        identity_out.set(azmi_identity::new(mi));
        Ok(())
    })
}

/// Sends this identity's token requests to `token_url` (a full http(s) URL such as
/// `http://127.0.0.1:40123/metadata/identity/oauth2/token`) instead of the environment's;
/// NULL means IMDS itself, whatever the environment says. Keeps the timeouts, the cloud and
/// client capabilities. Not thread-safe: call before the identity is shared.
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_set_endpoint(
    identity: *mut azmi_identity,
    token_url: *const c_char,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let identity = try_borrow_mut(identity)?;
        // SAFETY: NULL or a NUL-terminated string.
        let url = unsafe { opt_str_arg(token_url, "token_url")? }.unwrap_or(IMDS_TOKEN_URL);
        identity.update(|mi| {
            keeping_settings(
                &mi,
                ManagedIdentity::with_endpoint(mi.identity().clone(), url)?,
            )
        })
    })
}

/// Uses the managed identity source `source` for this identity instead of the detected one, with
/// that source's settings read from the environment now (for hosts that set the variables of
/// several sources). `source`: "imds", "app_service", "service_fabric", "azure_ml",
/// "cloud_shell", "arc" or "workload_identity" (case, spaces, `-` and `_` ignored; names such as
/// "App Service" work too); NULL detects again. An unknown name, a source whose variables are
/// not set, or one that cannot serve this identity is `AZMI_INVALID_ARGUMENT`. Keeps the
/// timeouts, the cloud and client capabilities. Not thread-safe: call before the identity is
/// shared.
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_set_source(
    identity: *mut azmi_identity,
    source: *const c_char,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let identity = try_borrow_mut(identity)?;
        // SAFETY: NULL or a NUL-terminated string.
        let name = unsafe { opt_str_arg(source, "source")? };
        let env = SourceEnv::from_process();
        let source = match name {
            None => env.detect(),
            Some(n) => Source::from_name(n).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "'{}' is not a managed identity source; give one of imds, app_service, service_fabric, azure_ml, cloud_shell, arc, workload_identity",
                    crate::identity::printable(n)
                ))
            })?,
        };
        identity.update(|mi| {
            keeping_settings(
                &mi,
                ManagedIdentity::with_source(mi.identity().clone(), source, &env)?,
            )
        })
    })
}

/// The managed identity source this identity's tokens come from ("imds", "app_service", …; see
/// `azmi_token_source`). Static: do not free. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_source(identity: *const azmi_identity) -> *const c_char {
    super::handle::borrow(identity).map_or(c"".as_ptr(), |i| source_id(i.mi.source()).as_ptr())
}

/// Names the Azure cloud this identity lives in ("AzureCloud", "AzureUSGovernment",
/// "AzureChinaCloud"; see `azmi_set_environment`), or NULL to follow the process's. Every call
/// made with the identity reads vault and storage account names, and finds Resource Manager, in
/// that cloud. An unknown name is `AZMI_INVALID_ARGUMENT` and changes nothing. Not thread-safe:
/// call before the identity is shared.
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_set_environment(
    identity: *mut azmi_identity,
    name: *const c_char,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let identity = try_borrow_mut(identity)?;
        // SAFETY: NULL or a NUL-terminated string.
        let name = unsafe { opt_str_arg(name, "name")? };
        let environment = name.map(AzureEnvironment::from_name).transpose()?;
        identity.update(|mi| Ok(mi.with_environment(environment)))
    })
}

/// The cloud this identity names ("AzureCloud", "AzureUSGovernment", "AzureChinaCloud"), or ""
/// when it follows the process's (and for NULL). Static: do not free.
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_environment(
    identity: *const azmi_identity,
) -> *const c_char {
    super::handle::borrow(identity)
        .and_then(|i| i.mi.explicit_environment())
        .map_or(c"".as_ptr(), |e| super::environment_name(e).as_ptr())
}

/// Sets the timeouts and retries of this identity's token requests:
/// `probe_timeout_ms` for the first call's probe of an IMDS endpoint (default 1000, so machines
/// without a managed identity fail fast): a connection, then a token request without the
/// `Metadata` header, which IMDS refuses at once; a host that takes the connection but does not
/// answer so within the window (a transparent proxy or firewall) is
/// `AZMI_MANAGED_IDENTITY_UNAVAILABLE`. An endpoint found to be IMDS then gets the normal 20 s
/// per request, as IMDS may take seconds to fetch a machine's first token.
/// `retry_budget_ms` for all retries of
/// one request (default 30000; 0 disables retries; HTTP 410 gets at least 70000), and
/// `retry_initial_delay_ms` for the first backoff (default 800, doubling). Zero for a timeout
/// or delay is `AZMI_INVALID_ARGUMENT`. Not thread-safe: call before the identity is shared.
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_set_timeouts(
    identity: *mut azmi_identity,
    probe_timeout_ms: u32,
    retry_budget_ms: u32,
    retry_initial_delay_ms: u32,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let identity = try_borrow_mut(identity)?;
        if probe_timeout_ms == 0 || retry_initial_delay_ms == 0 {
            return Err(Error::InvalidArgument(
                "probe_timeout_ms and retry_initial_delay_ms must be at least 1".into(),
            ));
        }
        identity.update(|mi| {
            let mut options = mi.options().clone();
            options.probe_timeout = Duration::from_millis(probe_timeout_ms.into());
            options.retry.budget = Duration::from_millis(retry_budget_ms.into());
            options.retry.initial_delay = Duration::from_millis(retry_initial_delay_ms.into());
            Ok(mi.with_options(options))
        })
    })
}

/// Declares client capabilities with every token request of this identity, replacing those
/// declared before: `capabilities` is a comma-separated list such as "cp1" (the capability of a
/// client that answers claims challenges: continuous access evaluation) or "cp1,cp2"; NULL or
/// "" declares none (the default). Names are letters, digits, `-`, `_` and `.`; anything else
/// is `AZMI_INVALID_ARGUMENT`.
///
/// Declare "cp1" only if the tokens go to code that answers a resource's claims challenge
/// (`azmi_get_token_with_claims`): resources may then revoke such a token at any moment instead
/// of at its expiry. azmi's own service calls (Key Vault, Blob, Data Lake, Resource Manager)
/// declare it themselves, since they answer challenges. App Service, Service Fabric (`xms_cc`)
/// and workload identity (in its claims) send the capabilities, and their tokens are cached
/// apart from tokens asked without; IMDS, Azure ML, Cloud Shell and Arc take none. Not
/// thread-safe: call before the identity is shared.
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_set_client_capabilities(
    identity: *mut azmi_identity,
    capabilities: *const c_char,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let identity = try_borrow_mut(identity)?;
        // SAFETY: NULL or a NUL-terminated string.
        let list = unsafe { opt_str_arg(capabilities, "capabilities")? }.unwrap_or("");
        let names: Vec<&str> = if list.trim().is_empty() {
            Vec::new()
        } else {
            list.split(',').collect()
        };
        identity.update(|mi| mi.with_client_capabilities(&names))
    })
}

/// The client capabilities this identity declares, comma-separated ("" when none). Lent: valid
/// until the identity is freed or changed. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_client_capabilities(
    identity: *const azmi_identity,
) -> *const c_char {
    lend_str(identity, |i| &i.capabilities)
}

/// Describes the identity for people, e.g. "the user-assigned identity with client id …".
/// Lent: valid until the identity is freed or changed. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_description(
    identity: *const azmi_identity,
) -> *const c_char {
    lend_str(identity, |i| &i.description)
}

/// The token URL this identity's requests go to. Lent: valid until the identity is freed or
/// changed. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_endpoint(identity: *const azmi_identity) -> *const c_char {
    lend_str(identity, |i| &i.endpoint)
}

/// Which way this identity's token requests go, as a sentence: "direct: managed identity
/// endpoints never go through a proxy" for every source but AKS workload identity, whose
/// exchange at Entra ID is a service request (see `azmi_proxy_route`). NULL: the identity a
/// NULL identity means in every call. On success `*route_out` receives a new `azmi_string`.
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_proxy_route(
    identity: *const azmi_identity,
    route_out: *mut *mut azmi_string,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let route_out = Out::new(route_out, "route_out")?;
        let engine = crate::runtime::engine()?;
        let mi = identity_or_default(&engine, identity_arg(identity).as_ref())?;
        route_out.set(azmi_string::new(&engine.azmi.token_route(&mi)));
        Ok(())
    })
}

/// Frees an identity. No call may still be using it. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_free(identity: *mut azmi_identity) {
    free(identity)
}
