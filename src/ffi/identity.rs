//! `azmi_identity`: which managed identity to use and how to reach its endpoint.

use std::ffi::{c_char, CString};
use std::sync::Arc;
use std::time::Duration;

use super::args::opt_str_arg;
use super::boundary::guard;
use super::error::azmi_error;
use super::handle::{free, lend_str, try_borrow_mut, Out};
use super::status::azmi_status;
use crate::error::{Error, Result};
use crate::identity::{endpoint_from_env, IdentityId, ManagedIdentity, IMDS_TOKEN_URL};

/// A managed identity selection: system-assigned, or user-assigned by client id, object id or
/// resource id; with the token endpoint (from the environment unless set) and its timeouts.
/// Build it once and use it from any number of threads; free it with `azmi_identity_free`.
pub struct azmi_identity {
    pub(crate) mi: Arc<ManagedIdentity>,
    description: CString,
    endpoint: CString,
}

impl azmi_identity {
    fn new(mi: ManagedIdentity) -> azmi_identity {
        azmi_identity {
            description: CString::new(mi.identity().to_string()).unwrap_or_default(),
            endpoint: CString::new(mi.endpoint()).unwrap_or_default(),
            mi: Arc::new(mi),
        }
    }

    fn update(&mut self, f: impl FnOnce(ManagedIdentity) -> Result<ManagedIdentity>) -> Result<()> {
        let next = f((*self.mi).clone())?;
        *self = azmi_identity::new(next);
        Ok(())
    }
}

/// Selects an identity. Give at most one of `client_id`, `object_id` (GUIDs) and `resource_id`
/// (`/subscriptions/…/userAssignedIdentities/<name>`); all NULL selects the system-assigned
/// identity. More than one, or a malformed id, is `AZMI_INVALID_ARGUMENT`.
///
/// The token endpoint is read from the environment now: `AZMI_IMDS_ENDPOINT` (a full token
/// URL), else `AZURE_POD_IDENTITY_AUTHORITY_HOST` (a host), else IMDS
/// (`http://169.254.169.254/metadata/identity/oauth2/token`). Hosts whose runtime keeps its own
/// copy of the environment (.NET on Linux and macOS: `Environment.SetEnvironmentVariable` does
/// not reach the native environment) should read the variables themselves and call
/// `azmi_identity_set_endpoint`.
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
        let mi = ManagedIdentity::with_endpoint(id, &endpoint_from_env()?)?;
        identity_out.set(azmi_identity::new(mi));
        Ok(())
    })
}

/// Sends this identity's token requests to `token_url` (a full http(s) URL such as
/// `http://127.0.0.1:40123/metadata/identity/oauth2/token`) instead of the environment's;
/// NULL means IMDS itself, whatever the environment says. Not thread-safe: call before the
/// identity is shared.
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
            let options = mi.options().clone();
            Ok(ManagedIdentity::with_endpoint(mi.identity().clone(), url)?.with_options(options))
        })
    })
}

/// Sets the timeouts and retries of this identity's token requests:
/// `probe_timeout_ms` for the first connection to an endpoint that never answered (default
/// 1000, so machines without a managed identity fail fast; an endpoint that accepts the
/// connection then gets the normal 20 s per request, as IMDS may take seconds to fetch a
/// machine's first token), `retry_budget_ms` for all retries of
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

/// Frees an identity. No call may still be using it. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn azmi_identity_free(identity: *mut azmi_identity) {
    free(identity)
}
