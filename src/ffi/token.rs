//! `azmi_get_token` and the `azmi_token` it returns.

use std::ffi::{c_char, CString};

use zeroize::Zeroizing;

use std::sync::Arc;

use super::args::{flag, opt_str_arg, str_arg};
use super::boundary::guard;
use super::cancel::azmi_cancel;
use super::error::azmi_error;
use super::handle::{borrow, free, lend_str, Out};
use super::identity::azmi_identity;
use super::status::azmi_status;
use super::string::nul_terminated;
use crate::claims::Claims;
use crate::error::Result;
use crate::identity::normalize_resource;
use crate::identity::ManagedIdentity;
use crate::runtime::{current_engine, engine, ensure_blocking_allowed};
use crate::token::AccessToken;

/// `flags` bit of `azmi_get_token`: skip the cache and ask the endpoint for a new token.
pub const AZMI_FLAG_FORCE_REFRESH: u32 = 1;

/// An access token. Everything in it is the caller's own copy (so warm calls share nothing
/// with other threads); its text is wiped from memory by `azmi_token_free`.
pub struct azmi_token {
    /// The token text and a NUL.
    secret: Zeroizing<Vec<u8>>,
    token_type: CString,
    resource: CString,
    expires_on: i64,
    from_cache: bool,
    source: crate::Source,
}

impl azmi_token {
    fn new(token: &AccessToken, from_cache: bool) -> azmi_token {
        azmi_token {
            secret: nul_terminated(token.secret_c_str().to_bytes()),
            token_type: token.token_type.as_c_str().to_owned(),
            resource: token.resource.as_c_str().to_owned(),
            expires_on: token.expires_on(),
            from_cache,
            source: token.source(),
        }
    }
}

/// Gets an access token for `resource` from the managed identity.
///
/// - `resource`: the resource URI exactly as Entra ID knows it (e.g.
///   "https://management.azure.com/", "https://vault.azure.net"); a "/.default" scope suffix is
///   removed. Required.
/// - `identity`: from `azmi_identity_new`, or NULL for the system-assigned identity at the
///   endpoint the environment names.
/// - `flags`: 0, or `AZMI_FLAG_FORCE_REFRESH` to bypass the cache.
/// - `cancel`: NULL, or a handle another thread may cancel to end the wait at once.
/// - `token_out`: receives a new `azmi_token` on success (free with `azmi_token_free`).
///
/// Tokens are cached process-wide per endpoint, identity and resource, and served until 5
/// minutes before they expire; tokens living over 2 hours are renewed in the background. Many
/// threads asking at once cause one request. Transient failures (404, 408, 410, 429, 5xx,
/// connection errors) are retried with backoff; a machine whose endpoint never answered fails
/// within about a second with `AZMI_MANAGED_IDENTITY_UNAVAILABLE`.
///
/// Errors: `AZMI_INVALID_ARGUMENT`, `AZMI_MANAGED_IDENTITY_UNAVAILABLE`,
/// `AZMI_IDENTITY_NOT_FOUND`, `AZMI_INVALID_RESOURCE`, `AZMI_THROTTLED`, `AZMI_TIMEOUT`,
/// `AZMI_NETWORK_ERROR`, `AZMI_SERVICE_ERROR`, `AZMI_PROTOCOL_ERROR`, `AZMI_CANCELLED`,
/// `AZMI_RUNTIME_ERROR`. Safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn azmi_get_token(
    resource: *const c_char,
    identity: *const azmi_identity,
    flags: u32,
    cancel: *const azmi_cancel,
    token_out: *mut *mut azmi_token,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let token_out = Out::new(token_out, "token_out")?;
        // SAFETY: NULL or a NUL-terminated string (contract).
        let resource = normalize_resource(unsafe { str_arg(resource, "resource")? })?;
        let force = flag(flags, AZMI_FLAG_FORCE_REFRESH, "AZMI_FLAG_FORCE_REFRESH")?;
        let token = get_token(resource, borrow(identity), force, borrow(cancel))?;
        token_out.set(token);
        Ok(())
    })
}

/// Gets a **new** access token for `resource` carrying `claims`: what a resource's claims
/// challenge asks for (continuous access evaluation, when a token was revoked or a policy wants
/// more of it). The cached token for this identity and resource is bypassed and replaced, so
/// later `azmi_get_token` calls get the new one.
///
/// - `claims`: the challenge's claims, as JSON (`{"access_token":{"nbf":{…}}}`) or in the
///   base64 form the `WWW-Authenticate` header's `claims="…"` carries (either alphabet, padded
///   or not); NULL behaves as `azmi_get_token`. Anything else is `AZMI_INVALID_ARGUMENT`,
///   before anything is sent. An `AZMI_CLAIMS_CHALLENGE` error's `azmi_error_claims` may be
///   passed as it is.
/// - `resource`, `identity`, `flags`, `cancel`, `token_out`, `err_out`: as `azmi_get_token`.
///
/// What the source is told: App Service and Service Fabric the SHA-256 of the token being
/// replaced (`token_sha256_to_refresh`, so that they stop serving it from their own cache),
/// workload identity the claims (merged with the identity's client capabilities); IMDS, Azure
/// ML, Cloud Shell and Arc take no claims, so there a new request is all azmi can do. Callers
/// asking with the same claims at once share one request. azmi's own service calls answer
/// their claims challenges themselves; this is for tokens used elsewhere.
///
/// A function rather than a request-options object: claims are the one per-request option a
/// token request takes (capabilities belong to the identity:
/// `azmi_identity_set_client_capabilities`), so one more call keeps C callers free of an object
/// to create, fill and free, and `azmi_get_token` stays as it is (the ABI rule of docs/abi.md
/// allows only additions).
///
/// Errors: those of `azmi_get_token`. Safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn azmi_get_token_with_claims(
    resource: *const c_char,
    identity: *const azmi_identity,
    claims: *const c_char,
    flags: u32,
    cancel: *const azmi_cancel,
    token_out: *mut *mut azmi_token,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let token_out = Out::new(token_out, "token_out")?;
        // SAFETY: NULL or NUL-terminated strings (contract).
        let resource = normalize_resource(unsafe { str_arg(resource, "resource")? })?;
        let claims = unsafe { opt_str_arg(claims, "claims")? }
            .map(Claims::parse)
            .transpose()?;
        let force = flag(flags, AZMI_FLAG_FORCE_REFRESH, "AZMI_FLAG_FORCE_REFRESH")?;
        let Some(claims) = claims else {
            let token = get_token(resource, borrow(identity), force, borrow(cancel))?;
            token_out.set(token);
            return Ok(());
        };
        ensure_blocking_allowed()?;
        let engine = engine()?;
        let mi = match borrow(identity) {
            Some(i) => Arc::clone(&i.mi),
            None => engine.default_identity()?,
        };
        let grant = engine.block_on(
            engine.azmi.get_token_with_claims(&mi, resource, &claims),
            borrow(cancel).map(azmi_cancel::token),
        )??;
        token_out.set(azmi_token::new(&grant.token, false));
        Ok(())
    })
}

fn get_token(
    resource: &str,
    identity: Option<&azmi_identity>,
    force: bool,
    cancel: Option<&azmi_cancel>,
) -> Result<azmi_token> {
    ensure_blocking_allowed()?;
    if let (false, Some(identity)) = (force, identity) {
        // The common case: no runtime, no waiting, and no reference counts touched that other
        // threads share (the engine is borrowed, not cloned), so warm calls scale.
        let current = current_engine();
        if let Some(engine) = current.as_ref() {
            let cached = engine
                .azmi
                .with_cached_token(&identity.mi, resource, |t| azmi_token::new(t, true));
            if let Some(token) = cached {
                return Ok(token);
            }
        }
    }
    let engine = engine()?;
    let default_identity;
    let mi: &ManagedIdentity = match identity {
        Some(i) => &i.mi,
        None => {
            default_identity = engine.default_identity()?;
            &default_identity
        }
    };
    if !force {
        if let Some(token) = engine.azmi.cached_token(mi, resource) {
            return Ok(azmi_token::new(&token, true));
        }
    }
    let grant = engine.block_on(
        engine.azmi.get_token(mi, resource, force),
        cancel.map(azmi_cancel::token),
    )??;
    Ok(azmi_token::new(&grant.token, grant.from_cache))
}

/// The token text (for an `Authorization: Bearer` header): printable ASCII only (azmi rejects
/// any other token), so it may be copied byte by byte, e.g. into a .NET `SecureString`. Lent:
/// valid until `azmi_token_free`. Never log it. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_token_access_token(token: *const azmi_token) -> *const c_char {
    borrow(token).map_or(c"".as_ptr(), |t| t.secret.as_ptr().cast())
}

/// Length in bytes of the token text, without the NUL (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_token_access_token_len(token: *const azmi_token) -> usize {
    borrow(token).map_or(0, |t| t.secret.len() - 1)
}

/// Expiry as Unix seconds (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_token_expires_on(token: *const azmi_token) -> i64 {
    borrow(token).map_or(0, |t| t.expires_on)
}

/// The token type, usually "Bearer". Lent: valid until `azmi_token_free`. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_token_type(token: *const azmi_token) -> *const c_char {
    lend_str(token, |t| &t.token_type)
}

/// The resource the token is for, as the endpoint named it. Lent: valid until
/// `azmi_token_free`. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_token_resource(token: *const azmi_token) -> *const c_char {
    lend_str(token, |t| &t.resource)
}

/// Whether the token came from the cache rather than a request (false for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_token_from_cache(token: *const azmi_token) -> bool {
    borrow(token).is_some_and(|t| t.from_cache)
}

/// The managed identity source that issued the token: "imds", "app_service",
/// "service_fabric", "azure_ml", "cloud_shell", "arc" or "workload_identity" ("" for NULL).
/// Static: do not free.
#[no_mangle]
pub unsafe extern "C" fn azmi_token_source(token: *const azmi_token) -> *const c_char {
    borrow(token).map_or(c"".as_ptr(), |t| {
        super::identity::source_id(t.source).as_ptr()
    })
}

/// Wipes the token text from memory and frees the token. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn azmi_token_free(token: *mut azmi_token) {
    // Zeroizing wipes the text on drop.
    free(token)
}
