//! `azmi_get_token` and the `azmi_token` it returns.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ffi::{c_char, CStr};
use std::mem::size_of;
use std::ptr::{copy_nonoverlapping, NonNull};
use std::sync::Arc;

use super::args::{c_str_arg, flag, opt_str_arg, utf8};
use super::boundary::guard;
use super::cancel::azmi_cancel;
use super::error::azmi_error;
use super::handle::{borrow, Out};
use super::identity::azmi_identity;
use super::status::azmi_status;
use crate::claims::Claims;
use crate::error::Result;
use crate::identity::normalize_resource;
use crate::identity::ManagedIdentity;
use crate::runtime::{current_engine, engine, ensure_blocking_allowed};
use crate::token::{wipe, AccessToken};

/// `flags` bit of `azmi_get_token`: skip the cache and ask the endpoint for a new token.
pub const AZMI_FLAG_FORCE_REFRESH: u32 = 1;

/// An access token. Everything in it is the caller's own copy (so warm calls share nothing
/// with other threads), in one allocation: this header, then the token text, its type and its
/// resource, each with a NUL. `azmi_token_free` wipes the text from memory (see
/// [`wipe`]).
pub struct azmi_token {
    /// The bytes allocated after the header (at least the three texts).
    capacity: usize,
    /// The text's length, without its NUL (the type follows the NUL).
    secret_len: usize,
    /// Where the resource starts, from the end of the header.
    resource_at: usize,
    expires_on: i64,
    from_cache: bool,
    source: crate::Source,
}

impl azmi_token {
    /// A copy of `token` for C (freed by `azmi_token_free`): at most one allocation, and one
    /// copy of texts checked when the token was parsed, so nothing is scanned.
    fn new(token: &AccessToken, from_cache: bool) -> *mut azmi_token {
        let texts = token.texts_with_nuls();
        let (type_at, resource_at) = token.type_and_resource_at();
        let (p, capacity) = spare::take(texts.len());
        // SAFETY: `p` is an allocation of the header and `capacity` more bytes, not in use: the
        // header is written first, then the texts, within `capacity`.
        unsafe {
            let p = p.as_ptr();
            p.write(azmi_token {
                capacity,
                secret_len: type_at - 1,
                resource_at,
                expires_on: token.expires_on(),
                from_cache,
                source: token.source(),
            });
            copy_nonoverlapping(texts.as_ptr(), Self::data(p), texts.len());
            p
        }
    }

    fn layout(capacity: usize) -> Layout {
        Layout::from_size_align(size_of::<azmi_token>() + capacity, align_of::<azmi_token>())
            .expect("a token is far smaller than isize::MAX")
    }

    /// The bytes after the header of `p`, a token from [`azmi_token::new`]. Derived from the
    /// pointer C holds, not from a reference to the header, so that it may reach them.
    fn data(p: *const azmi_token) -> *mut u8 {
        p.cast::<u8>()
            .wrapping_add(size_of::<azmi_token>())
            .cast_mut()
    }

    /// The text at `at` after the header of `p` (NULL: "").
    ///
    /// # Safety
    /// `p` is NULL or a live token from [`azmi_token::new`], and `at` the start of one of its
    /// texts.
    unsafe fn text(p: *const azmi_token, at: impl FnOnce(&azmi_token) -> usize) -> *const c_char {
        match borrow(p) {
            // SAFETY: within the token's bytes (the contract).
            Some(t) => unsafe { Self::data(p).add(at(t)) }.cast_const().cast(),
            None => c"".as_ptr(),
        }
    }

    /// Overwrites the text of `p` with zeros.
    ///
    /// # Safety
    /// `p` is a live token from [`azmi_token::new`].
    unsafe fn wipe_text(p: *mut azmi_token) {
        // SAFETY: the text and its NUL are the first `secret_len + 1` bytes after the header.
        let text = unsafe { std::slice::from_raw_parts_mut(Self::data(p), (*p).secret_len + 1) };
        wipe(text);
    }
}

/// Gets an access token for `resource` from the managed identity.
///
/// - `resource`: the resource URI exactly as Entra ID knows it (e.g.
///   "https://management.azure.com/", "https://vault.azure.net"); a "/.default" scope suffix is
///   removed. Required.
/// - `identity`: from `azmi_identity_new`, or NULL for the system-assigned identity at the
///   endpoint the environment names when the call runs: `AZMI_IMDS_ENDPOINT`, else
///   `AZURE_POD_IDENTITY_AUTHORITY_HOST`, are read by every call (a change is seen by the next
///   one); the other sources' variables when the source is detected, at the first such call
///   and after a change of those two.
/// - `flags`: 0, or `AZMI_FLAG_FORCE_REFRESH` to bypass the cache.
/// - `cancel`: NULL, or a handle another thread may cancel to end the wait at once.
/// - `token_out`: receives a new `azmi_token` on success (free with `azmi_token_free`).
///
/// Tokens are cached process-wide per endpoint, identity and resource, and served until 5
/// minutes before they expire (a warm call makes at most one allocation, the caller's copy,
/// and checks `resource` only when it differs from the strings accepted before); tokens living over 2 hours are renewed in the background. Many
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
        let resource = unsafe { c_str_arg(resource, "resource")? };
        let force = flag(flags, AZMI_FLAG_FORCE_REFRESH, "AZMI_FLAG_FORCE_REFRESH")?;
        let token = get_token(resource, borrow(identity), force, borrow(cancel))?;
        token_out.set_ptr(token);
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
        let resource_arg = unsafe { c_str_arg(resource, "resource")? };
        let resource = normalize_resource(utf8(resource_arg, "resource")?)?;
        let claims = unsafe { opt_str_arg(claims, "claims")? }
            .map(Claims::parse)
            .transpose()?;
        let force = flag(flags, AZMI_FLAG_FORCE_REFRESH, "AZMI_FLAG_FORCE_REFRESH")?;
        let Some(claims) = claims else {
            let token = get_token(resource_arg, borrow(identity), force, borrow(cancel))?;
            token_out.set_ptr(token);
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
        token_out.set_ptr(azmi_token::new(&grant.token, false));
        Ok(())
    })
}

/// `resource` is checked only when it is not in the cache: a string equal to one accepted
/// before needs no new check (see `identity::resource_key`).
fn get_token(
    resource: &CStr,
    identity: Option<&azmi_identity>,
    force: bool,
    cancel: Option<&azmi_cancel>,
) -> Result<*mut azmi_token> {
    ensure_blocking_allowed()?;
    if !force {
        // The common case: no runtime, no waiting, one allocation (the copy), and no reference
        // counts touched that other threads share (the engine, identity and token are borrowed,
        // not cloned), so warm calls scale.
        let current = current_engine();
        if let Some(engine) = current.as_ref() {
            let raw = resource.to_bytes();
            let copy = |t: &AccessToken| azmi_token::new(t, true);
            let cached = match identity {
                Some(identity) => engine.azmi.with_cached_token(&identity.mi, raw, copy),
                None => engine
                    .with_default_identity(|mi| engine.azmi.with_cached_token(mi, raw, copy))
                    .flatten(),
            };
            if let Some(token) = cached {
                return Ok(token);
            }
        }
    }
    let resource = normalize_resource(utf8(resource, "resource")?)?;
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
    // SAFETY: NULL or a live token (contract); the text is first.
    unsafe { azmi_token::text(token, |_| 0) }
}

/// Length in bytes of the token text, without the NUL (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_token_access_token_len(token: *const azmi_token) -> usize {
    borrow(token).map_or(0, |t| t.secret_len)
}

/// Expiry as Unix seconds (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_token_expires_on(token: *const azmi_token) -> i64 {
    borrow(token).map_or(0, |t| t.expires_on)
}

/// The token type, usually "Bearer". Lent: valid until `azmi_token_free`. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_token_type(token: *const azmi_token) -> *const c_char {
    // SAFETY: NULL or a live token (contract); the type follows the text's NUL.
    unsafe { azmi_token::text(token, |t| t.secret_len + 1) }
}

/// The resource the token is for, as the endpoint named it. Lent: valid until
/// `azmi_token_free`. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_token_resource(token: *const azmi_token) -> *const c_char {
    // SAFETY: NULL or a live token (contract).
    unsafe { azmi_token::text(token, |t| t.resource_at) }
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
    if token.is_null() {
        return;
    }
    // SAFETY: a live token from `azmi_token::new`, freed once (contract); nothing here can
    // panic.
    unsafe {
        azmi_token::wipe_text(token);
        spare::give_back(NonNull::new_unchecked(token), (*token).capacity);
    }
}

/// The memory of tokens. A token with a real Entra ID token is about 2 KB, more than glibc's
/// per-thread cache of small blocks holds, so that malloc and free took a third of a warm
/// call; instead each thread keeps the memory of one freed token (its text wiped) for its
/// next token, and frees it when the thread ends.
mod spare {
    use std::cell::Cell;

    use super::*;

    /// A block and the bytes it has after the header.
    type Block = (NonNull<azmi_token>, usize);

    struct Spare(Cell<Option<Block>>);

    impl Drop for Spare {
        fn drop(&mut self) {
            if let Some(block) = self.0.take() {
                free(block);
            }
        }
    }

    thread_local! {
        static SPARE: Spare = const { Spare(Cell::new(None)) };
    }

    /// Sizes round up to this, so that the next token fits even if a little longer.
    const ROUND: usize = 256;

    /// A block with at least `len` bytes after the header: this thread's spare, or a new one.
    pub(super) fn take(len: usize) -> Block {
        match SPARE.try_with(|s| s.0.take()).ok().flatten() {
            Some(block) if block.1 >= len => block,
            other => {
                if let Some(small) = other {
                    free(small);
                }
                let capacity = len.div_ceil(ROUND) * ROUND;
                let layout = azmi_token::layout(capacity);
                // SAFETY: the layout is not empty (the header).
                let p = unsafe { alloc(layout) }.cast::<azmi_token>();
                match NonNull::new(p) {
                    Some(p) => (p, capacity),
                    None => handle_alloc_error(layout),
                }
            }
        }
    }

    /// Keeps `block` (no longer in use, its text wiped) as this thread's spare, or frees it.
    pub(super) fn give_back(p: NonNull<azmi_token>, capacity: usize) {
        let kept = SPARE.try_with(|s| {
            let empty = s.0.get().is_none();
            if empty {
                s.0.set(Some((p, capacity)));
            }
            empty
        });
        if kept != Ok(true) {
            free((p, capacity));
        }
    }

    fn free((p, capacity): Block) {
        // SAFETY: allocated by `take` with this layout, and no longer in use.
        unsafe { dealloc(p.as_ptr().cast(), azmi_token::layout(capacity)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_holds_its_texts_and_free_wipes_the_text() {
        let source = AccessToken::new("SECRETXYZ", "Bearer", "https://r/", 42, None);
        let t = azmi_token::new(&source, true);
        // SAFETY: `t` is a live token until freed at the end.
        unsafe {
            assert!(CStr::from_ptr(azmi_token_access_token(t)).to_bytes() == b"SECRETXYZ");
            assert_eq!(azmi_token_access_token_len(t), 9);
            assert_eq!(CStr::from_ptr(azmi_token_type(t)), c"Bearer");
            assert_eq!(CStr::from_ptr(azmi_token_resource(t)), c"https://r/");
            assert_eq!(azmi_token_expires_on(t), 42);
            assert!(azmi_token_from_cache(t));
            assert_eq!(CStr::from_ptr(azmi_token_source(t)), c"imds");
            azmi_token::wipe_text(t);
            let text = std::slice::from_raw_parts(azmi_token_access_token(t).cast::<u8>(), 10);
            assert!(
                text.iter().all(|&b| b == 0),
                "the text and its NUL are zeros"
            );
            assert_eq!(
                CStr::from_ptr(azmi_token_type(t)),
                c"Bearer",
                "only the text"
            );
            azmi_token_free(t);
            azmi_token_free(std::ptr::null_mut());
            assert_eq!(azmi_token_access_token_len(std::ptr::null()), 0);
            assert_eq!(CStr::from_ptr(azmi_token_type(std::ptr::null())), c"");
        }
    }
}
