//! `azmi_keyvault`: Key Vault secrets with the managed identity's tokens (read, list, set,
//! delete), and the `azmi_secret` they come back in.

use std::ffi::{c_char, c_void, CString};
use std::future::Future;

use zeroize::Zeroizing;

use std::collections::BTreeMap;

use super::args::{borrowed_data_arg, callback_arg, flag, opt_str_arg, str_arg};
use super::boundary::guard;
use super::call::{identity_arg, identity_or_default, listed, run_with};
use super::cancel::azmi_cancel;
use super::error::azmi_error;
use super::handle::{borrow, free, lend_str, Out};
use super::identity::azmi_identity;
use super::status::azmi_status;
use super::string::{c_string, nul_terminated};
use crate::error::{Error, Result};
use crate::keyvault::{
    check_api_version, DeletedSecret, KeyVault, Secret, SecretProperties, SecretSettings,
    VaultAddress,
};
use crate::runtime::Engine;

/// `azmi_keyvault_set` flag: the new version is disabled (it cannot be read until enabled).
pub const AZMI_SECRET_DISABLED: u32 = 1;

/// A Key Vault secret: its value (from `azmi_keyvault_get` and `azmi_keyvault_set` only) and
/// its properties, like `Get-AzKeyVaultSecret`'s output; from `azmi_keyvault_delete`, also where
/// the deleted secret waits. From those functions it is the caller's: free it with
/// `azmi_secret_free`, which wipes the value from memory. In an `azmi_secret_callback` it is
/// lent for the callback only and has no value. Immutable: may be read from any thread.
pub struct azmi_secret {
    /// The value and a NUL; just the NUL for listed secrets.
    value: Zeroizing<Vec<u8>>,
    name: CString,
    version: CString,
    id: CString,
    content_type: CString,
    enabled: bool,
    created: i64,
    updated: i64,
    expires: i64,
    not_before: i64,
    tags: CString,
    /// Deleted secrets only: where to recover or purge it, and when.
    recovery_id: CString,
    deleted_on: i64,
    scheduled_purge: i64,
}

impl azmi_secret {
    fn new(p: &SecretProperties, value: &[u8]) -> azmi_secret {
        let tags = serde_json::to_string(&p.tags).unwrap_or_else(|_| "{}".into());
        azmi_secret {
            value: nul_terminated(value),
            name: c_string(&p.name),
            version: c_string(p.version.as_deref().unwrap_or("")),
            id: c_string(&p.id),
            content_type: c_string(p.content_type.as_deref().unwrap_or("")),
            enabled: p.enabled,
            created: p.created.unwrap_or(0),
            updated: p.updated.unwrap_or(0),
            expires: p.expires.unwrap_or(0),
            not_before: p.not_before.unwrap_or(0),
            tags: c_string(&tags),
            recovery_id: CString::default(),
            deleted_on: 0,
            scheduled_purge: 0,
        }
    }

    fn with_value(secret: &Secret) -> azmi_secret {
        azmi_secret::new(&secret.properties, secret.expose_value().as_bytes())
    }

    fn deleted(d: &DeletedSecret) -> azmi_secret {
        azmi_secret {
            recovery_id: c_string(&d.recovery_id),
            deleted_on: d.deleted_on.unwrap_or(0),
            scheduled_purge: d.scheduled_purge.unwrap_or(0),
            ..azmi_secret::new(&d.properties, b"")
        }
    }
}

/// Receives the secrets (or versions) of a listing, one call per item, as each page arrives.
/// `secret` is lent for this call only and has no value (copy what you keep; do not free it).
/// Runs on the thread that called the listing, during that call; it must not call blocking azmi
/// functions (they fail with `AZMI_RUNTIME_ERROR`) and must not unwind. Return true to go on,
/// false to stop: the listing then returns `AZMI_CANCELLED`.
pub type azmi_secret_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, secret: *const azmi_secret) -> bool>;

/// Runs one operation on a vault on the engine, on the calling thread, with cancellation, at
/// `api_version` (NULL: the default).
fn run<T, F, Fut>(
    vault: *const c_char,
    api_version: *const c_char,
    identity: *const azmi_identity,
    cancel: *const azmi_cancel,
    op: F,
) -> Result<T>
where
    F: FnOnce(KeyVault) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    // SAFETY: NULL or NUL-terminated strings (contract).
    let (vault, api_version) = unsafe {
        (
            str_arg(vault, "vault")?,
            opt_str_arg(api_version, "api_version")?,
        )
    };
    // Checked before the identity and the engine, so a malformed version is always reported as
    // such, whatever else is missing.
    api_version.map(check_api_version).transpose()?;
    let client = |engine: &Engine| {
        let mi = identity_or_default(engine, identity_arg(identity).as_ref())?;
        let vault = VaultAddress::parse_in(vault, mi.environment()?)?;
        let client = KeyVault::new(&engine.azmi, vault, mi)?;
        match api_version {
            Some(v) => client.with_api_version(v),
            None => Ok(client),
        }
    };
    run_with(cancel, client, op)
}

/// Gets a secret from a Key Vault: its latest version, or `version`.
///
/// - `vault`: the vault's name (`contoso` means `https://contoso.vault.azure.net`, or the vault
///   suffix of the identity's cloud: `azmi_identity_set_environment`, else
///   `azmi_set_environment`, else `AZMI_ENVIRONMENT`), host or URI
///   (`https://contoso.vault.azure.cn`, a test endpoint; used as it is). Only `https://` (plain
///   `http://` only to a loopback address: `AZMI_INSECURE_REQUEST` otherwise). Required.
/// - `name`: the secret's name. Required. `version`: NULL for the latest.
/// - `api_version`: the Key Vault REST api-version to ask for, e.g. `7.4` or `7.6-preview.1`;
///   NULL for the default, 7.5. Its form (`<major>.<minor>` or a date like `2016-10-01`, with an
///   optional `-preview[.<n>]`) is checked before anything is sent (`AZMI_INVALID_ARGUMENT`);
///   a version the vault does not know is its 400 (`AZMI_SERVICE_ERROR`, HTTP status 400,
///   service code `BadParameter`, the vault's message naming its latest version).
/// - `identity`: from `azmi_identity_new`, or NULL for the system-assigned identity at the
///   endpoint the environment names.
/// - `cancel`: NULL or a handle another thread may cancel.
/// - `secret_out`: receives a new `azmi_secret` on success (free with `azmi_secret_free`).
///
/// The first request to a vault goes without a token; the vault's 401 challenge names the token
/// resource (this is how vaults of every cloud work), which azmi accepts only when the vault's
/// host is in its domain (a loopback vault may name a cloud's Key Vault resource) and
/// remembers for the vault. Throttling (429, 503) is retried under the identity's retry
/// settings.
///
/// Errors: `AZMI_NOT_FOUND` (no such secret or version), `AZMI_PERMISSION_DENIED` (no access,
/// or a disabled version), `AZMI_AUTHENTICATION_FAILED`, `AZMI_THROTTLED` (after retries),
/// `AZMI_INVALID_ARGUMENT`, `AZMI_INSECURE_REQUEST` (also: a challenge for a foreign
/// resource), `AZMI_CANCELLED`, `AZMI_NETWORK_ERROR`, `AZMI_TIMEOUT`, `AZMI_SERVICE_ERROR`,
/// `AZMI_PROTOCOL_ERROR`, the token errors of `azmi_get_token`, and `AZMI_RUNTIME_ERROR` when
/// called from a callback. Messages name the vault and the secret, never the value.
#[no_mangle]
pub unsafe extern "C" fn azmi_keyvault_get(
    vault: *const c_char,
    name: *const c_char,
    version: *const c_char,
    api_version: *const c_char,
    identity: *const azmi_identity,
    cancel: *const azmi_cancel,
    secret_out: *mut *mut azmi_secret,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let secret_out = Out::new(secret_out, "secret_out")?;
        // SAFETY: NULL or NUL-terminated strings (contract).
        let (name, version) = unsafe { (str_arg(name, "name")?, opt_str_arg(version, "version")?) };
        let secret = run(vault, api_version, identity, cancel, |kv| async move {
            kv.get_secret(name, version).await
        })?;
        secret_out.set(azmi_secret::with_value(&secret));
        Ok(())
    })
}

/// Tags from C: NULL for none, else a JSON object of string values.
fn tags_arg(json: Option<&str>) -> Result<BTreeMap<String, String>> {
    let Some(json) = json else {
        return Ok(BTreeMap::new());
    };
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        Error::InvalidArgument(format!(
            "tags_json is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let Some(object) = value.as_object() else {
        return Err(Error::InvalidArgument(
            "tags_json must be a JSON object of names and string values, e.g. {\"owner\":\"ops\"}"
                .into(),
        ));
    };
    object
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(v) => Ok((k.clone(), v.to_owned())),
            None => Err(Error::InvalidArgument(format!(
                "tags_json: the value of tag '{}' is not a string",
                crate::identity::printable(k)
            ))),
        })
        .collect()
}

/// Unix seconds from C: 0 for none, negative refused.
fn time_arg(t: i64, name: &str) -> Result<Option<i64>> {
    match t {
        0 => Ok(None),
        t if t < 0 => Err(Error::InvalidArgument(format!(
            "{name} is negative; give Unix seconds, or 0 for none"
        ))),
        t => Ok(Some(t)),
    }
}

/// Sets a secret in a Key Vault: a new version of `name` holding `value`, the current version
/// from now on (a new secret when the name is new). Every set writes exactly what it is given:
/// nothing is inherited from the previous version.
///
/// - `vault`, `name`, `api_version`, `identity`, `cancel`: as `azmi_keyvault_get`.
/// - `value`, `value_len`: the value, UTF-8 (it may hold NUL bytes), at most 25 KiB; NULL only
///   with `value_len` 0 (an empty value). Read during the call only; the request body azmi
///   builds from it is wiped after the request.
/// - `content_type`: e.g. "text/plain", or NULL for none.
/// - `tags_json`: NULL, or a JSON object of string values, e.g. `{"owner":"ops"}` (at most 15
///   tags; names 1 to 512 characters, values at most 256).
/// - `not_before`, `expires`: Unix seconds, or 0 for none (not-before must not be after expiry).
/// - `flags`: 0, or `AZMI_SECRET_DISABLED` for a disabled version.
/// - `secret_out`: receives the version as the vault stored it, value included (free with
///   `azmi_secret_free`, which wipes it).
///
/// Everything is checked before a request is sent (`AZMI_INVALID_ARGUMENT`). A set is retried
/// like a read (at worst a retry leaves one more version with the same value).
///
/// Errors: as `azmi_keyvault_get`, and `AZMI_CONFLICT` (HTTP 409, service code `Conflict`)
/// while the name is held by a deleted secret: the vault keeps it recoverable until it is
/// recovered or purged (by the vault's owner), or give another name. Messages never hold the
/// value.
#[no_mangle]
pub unsafe extern "C" fn azmi_keyvault_set(
    vault: *const c_char,
    name: *const c_char,
    value: *const u8,
    value_len: usize,
    content_type: *const c_char,
    tags_json: *const c_char,
    not_before: i64,
    expires: i64,
    flags: u32,
    api_version: *const c_char,
    identity: *const azmi_identity,
    cancel: *const azmi_cancel,
    secret_out: *mut *mut azmi_secret,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let secret_out = Out::new(secret_out, "secret_out")?;
        // SAFETY: NULL or NUL-terminated strings (contract).
        let (name, content_type, tags_json) = unsafe {
            (
                str_arg(name, "name")?,
                opt_str_arg(content_type, "content_type")?,
                opt_str_arg(tags_json, "tags_json")?,
            )
        };
        // SAFETY: NULL with 0, else `value_len` readable bytes (contract), borrowed for the
        // call only.
        let value = unsafe { borrowed_data_arg(value, value_len) }?;
        let value = std::str::from_utf8(value).map_err(|_| {
            Error::InvalidArgument("value is not valid UTF-8 (Key Vault stores text)".into())
        })?;
        let settings = SecretSettings {
            content_type: content_type.map(str::to_owned),
            tags: tags_arg(tags_json)?,
            enabled: flag(flags, AZMI_SECRET_DISABLED, "AZMI_SECRET_DISABLED")?.then_some(false),
            expires: time_arg(expires, "expires")?,
            not_before: time_arg(not_before, "not_before")?,
        };
        let secret = run(vault, api_version, identity, cancel, |kv| async move {
            kv.set_secret(name, value, &settings).await
        })?;
        secret_out.set(azmi_secret::with_value(&secret));
        Ok(())
    })
}

/// Deletes the secret `name` from a Key Vault, every version of it. The vault keeps it
/// recoverable (soft delete) until its scheduled purge date, and its name cannot be set
/// meanwhile (`AZMI_CONFLICT`); purging is the vault owner's business.
///
/// - `vault`, `name`, `api_version`, `identity`, `cancel`: as `azmi_keyvault_get`.
/// - `deleted_out`: NULL, or receives the deleted secret (free with `azmi_secret_free`): its
///   current version's properties (no value), `azmi_secret_recovery_id`,
///   `azmi_secret_deleted_on`, `azmi_secret_scheduled_purge`.
///
/// A delete is not repeated once the vault may have acted on it: only throttling and refused
/// connections are retried.
///
/// Errors: as `azmi_keyvault_get` (`AZMI_NOT_FOUND`: no such secret, or already deleted).
#[no_mangle]
pub unsafe extern "C" fn azmi_keyvault_delete(
    vault: *const c_char,
    name: *const c_char,
    api_version: *const c_char,
    identity: *const azmi_identity,
    cancel: *const azmi_cancel,
    deleted_out: *mut *mut azmi_secret,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let deleted_out = (!deleted_out.is_null())
            .then(|| Out::new(deleted_out, "deleted_out"))
            .transpose()?;
        // SAFETY: NULL or a NUL-terminated string (contract).
        let name = unsafe { str_arg(name, "name")? };
        let deleted = run(vault, api_version, identity, cancel, |kv| async move {
            kv.delete_secret(name).await
        })?;
        if let Some(out) = deleted_out {
            out.set(azmi_secret::deleted(&deleted));
        }
        Ok(())
    })
}

/// Lists the secrets of `vault`, or with `name` the versions of that secret, handing each to
/// `callback`.
///
/// # Safety
/// `vault`, `api_version` and `name` are NULL or NUL-terminated strings.
unsafe fn list(
    vault: *const c_char,
    name: Option<*const c_char>,
    api_version: *const c_char,
    identity: *const azmi_identity,
    cancel: *const azmi_cancel,
    (callback, userdata): (azmi_secret_callback, *mut c_void),
) -> Result<()> {
    // SAFETY: forwarded contract.
    let name = name.map(|n| unsafe { str_arg(n, "name") }).transpose()?;
    let callback = callback_arg(callback)?;
    let on_item = move |p: SecretProperties| {
        let lent = azmi_secret::new(&p, b"");
        // SAFETY: the caller's callback with its userdata, on the calling thread, during the
        // call; the secret outlives the callback (contract).
        unsafe { callback(userdata, &lent) }
    };
    listed(run(
        vault,
        api_version,
        identity,
        cancel,
        |kv| async move {
            match name {
                None => kv.list_secrets(on_item).await,
                Some(name) => kv.list_versions(name, on_item).await,
            }
        },
    )?)
}

/// Lists the secrets of `vault` (without values; the version is ""), following every page and
/// handing each to `callback` as its page arrives. `callback` is required; `userdata` is passed
/// to it as is. `api_version`, the other arguments and the errors as `azmi_keyvault_get`;
/// `AZMI_CANCELLED` also when the callback returns false.
#[no_mangle]
pub unsafe extern "C" fn azmi_keyvault_list(
    vault: *const c_char,
    api_version: *const c_char,
    identity: *const azmi_identity,
    cancel: *const azmi_cancel,
    callback: azmi_secret_callback,
    userdata: *mut c_void,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    let on_item = (callback, userdata);
    // SAFETY: NULL or NUL-terminated strings (contract).
    guard(err_out, || unsafe {
        list(vault, None, api_version, identity, cancel, on_item)
    })
}

/// Lists the versions of the secret `name` in `vault` (without values), following every page.
/// `api_version` and the rest as `azmi_keyvault_list`.
#[no_mangle]
pub unsafe extern "C" fn azmi_keyvault_list_versions(
    vault: *const c_char,
    name: *const c_char,
    api_version: *const c_char,
    identity: *const azmi_identity,
    cancel: *const azmi_cancel,
    callback: azmi_secret_callback,
    userdata: *mut c_void,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    let on_item = (callback, userdata);
    // SAFETY: NULL or NUL-terminated strings (contract).
    guard(err_out, || unsafe {
        list(vault, Some(name), api_version, identity, cancel, on_item)
    })
}

/// The secret's value, NUL-terminated (it may itself hold NUL bytes: use
/// `azmi_secret_value_len`). "" for listed secrets and NULL. Lent: valid until
/// `azmi_secret_free`, which wipes it. Never log it.
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_value(secret: *const azmi_secret) -> *const c_char {
    borrow(secret).map_or(c"".as_ptr(), |s| s.value.as_ptr().cast())
}

/// The value's length in bytes, without the final NUL (0 for listed secrets and NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_value_len(secret: *const azmi_secret) -> usize {
    borrow(secret).map_or(0, |s| s.value.len() - 1)
}

/// The secret's name. Lent: valid as long as the secret. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_name(secret: *const azmi_secret) -> *const c_char {
    lend_str(secret, |s| &s.name)
}

/// The version id ("" in `azmi_keyvault_list`, which lists secrets, and for NULL). Lent.
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_version(secret: *const azmi_secret) -> *const c_char {
    lend_str(secret, |s| &s.version)
}

/// The id, `https://<vault>/secrets/<name>[/<version>]`. Lent. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_id(secret: *const azmi_secret) -> *const c_char {
    lend_str(secret, |s| &s.id)
}

/// The content type ("" when not set, and for NULL). Lent.
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_content_type(secret: *const azmi_secret) -> *const c_char {
    lend_str(secret, |s| &s.content_type)
}

/// Whether the secret (version) is enabled (false for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_enabled(secret: *const azmi_secret) -> bool {
    borrow(secret).is_some_and(|s| s.enabled)
}

/// Creation time, Unix seconds (0 when absent, and for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_created(secret: *const azmi_secret) -> i64 {
    borrow(secret).map_or(0, |s| s.created)
}

/// Last update, Unix seconds (0 when absent, and for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_updated(secret: *const azmi_secret) -> i64 {
    borrow(secret).map_or(0, |s| s.updated)
}

/// Expiry (`exp`), Unix seconds (0 when absent, and for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_expires(secret: *const azmi_secret) -> i64 {
    borrow(secret).map_or(0, |s| s.expires)
}

/// Not-before (`nbf`), Unix seconds (0 when absent, and for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_not_before(secret: *const azmi_secret) -> i64 {
    borrow(secret).map_or(0, |s| s.not_before)
}

/// The tags as a JSON object text, e.g. `{"purpose":"azmi-tests"}` (`{}` when none; "" for
/// NULL). Lent.
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_tags(secret: *const azmi_secret) -> *const c_char {
    lend_str(secret, |s| &s.tags)
}

/// A deleted secret's recovery id, `https://<vault>/deletedsecrets/<name>` ("" for secrets that
/// are not from `azmi_keyvault_delete`, and for NULL). Lent.
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_recovery_id(secret: *const azmi_secret) -> *const c_char {
    lend_str(secret, |s| &s.recovery_id)
}

/// When the secret was deleted, Unix seconds (0 for secrets not from `azmi_keyvault_delete`,
/// and for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_deleted_on(secret: *const azmi_secret) -> i64 {
    borrow(secret).map_or(0, |s| s.deleted_on)
}

/// When the vault purges the deleted secret for good, Unix seconds (0 for secrets not from
/// `azmi_keyvault_delete`, and for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_scheduled_purge(secret: *const azmi_secret) -> i64 {
    borrow(secret).map_or(0, |s| s.scheduled_purge)
}

/// Wipes the value from memory and frees a secret from `azmi_keyvault_get`,
/// `azmi_keyvault_set` or `azmi_keyvault_delete`. Never free a secret lent to a callback. NULL
/// is ignored.
#[no_mangle]
pub unsafe extern "C" fn azmi_secret_free(secret: *mut azmi_secret) {
    // Zeroizing wipes the value on drop.
    free(secret)
}
