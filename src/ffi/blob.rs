//! `azmi_blob`: Azure Blob storage (block blobs) with the managed identity's token or a SAS.

use std::ffi::{c_char, c_void};
use std::path::Path;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::args::{data_arg, flag, str_arg};
use super::boundary::guard;
use super::bytes::azmi_bytes;
use super::call::{identity_arg, identity_or_default, run_on as run, Account};
use super::cancel::azmi_cancel;
use super::error::azmi_error;
use super::handle::{free, Out};
use super::identity::azmi_identity;
use super::progress::{azmi_progress_callback, Direction, Progress};
use super::status::azmi_status;
use crate::blob::{Blob, BlobAccount};
use crate::error::Result;
use crate::identity::ManagedIdentity;
use crate::retry::RetryPolicy;
use crate::runtime::Engine;
use crate::service::check_sas;

/// `flags` bit: replace an existing blob (upload, write) or local file (download). Without it
/// an existing one is `AZMI_CONFLICT` and stays as it was.
pub const AZMI_BLOB_OVERWRITE: u32 = 1;

enum Auth {
    /// The identity's tokens; `None`: the engine's default, chosen at each call.
    Token(Option<Arc<ManagedIdentity>>),
    Sas(SecretString),
}

/// A storage account's blobs and the credential used with them (the identity's token or a
/// SAS). Immutable once built, so one may serve any number of threads at once. Free it with
/// `azmi_blob_free` after the calls using it have returned.
pub struct azmi_blob {
    account: BlobAccount,
    auth: Auth,
}

impl Account for azmi_blob {
    type Client = Blob;

    /// The client with the account's token or SAS.
    fn client(&self, engine: &Engine) -> Result<Blob> {
        match &self.auth {
            Auth::Token(mi) => Blob::new(
                &engine.azmi,
                self.account.clone(),
                identity_or_default(engine, mi.as_ref())?,
            ),
            Auth::Sas(sas) => Blob::with_sas(
                &engine.azmi,
                self.account.clone(),
                sas.expose_secret(),
                RetryPolicy::default(),
            ),
        }
    }
}

/// Opens a storage account's blobs.
///
/// - `account`: an account name (`contoso` means `https://contoso.blob.core.windows.net`) or
///   its blob URL, path-style ones included (`https://127.0.0.1:10000/devstoreaccount1`). Only
///   `https://` (plain `http://` only to a loopback address: `AZMI_INSECURE_REQUEST` otherwise).
///   Required.
/// - `sas`: a shared access signature (`sv=…&sig=…`, with or without a leading `?`), copied; it
///   never appears in messages. NULL: use the identity's tokens (resource
///   `https://storage.azure.com/`, from the shared token cache).
/// - `identity`: from `azmi_identity_new` (copied: it may be freed afterwards), or NULL for the
///   system-assigned identity at the endpoint the environment names when each operation runs,
///   as in every call. Ignored with a SAS.
/// - `blob_out`: receives a new `azmi_blob` on success (free with `azmi_blob_free`).
///
/// Transient service failures are retried under the identity's retry settings
/// (`azmi_identity_set_timeouts`), with a SAS under the defaults. Nothing is sent until an
/// operation runs. Errors: `AZMI_INVALID_ARGUMENT`, `AZMI_INSECURE_REQUEST`.
#[no_mangle]
pub unsafe extern "C" fn azmi_blob_new(
    account: *const c_char,
    sas: *const c_char,
    identity: *const azmi_identity,
    blob_out: *mut *mut azmi_blob,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let blob_out = Out::new(blob_out, "blob_out")?;
        // SAFETY: NULL or a NUL-terminated string (contract).
        let account = BlobAccount::parse(unsafe { str_arg(account, "account")? })?;
        let auth = if sas.is_null() {
            Auth::Token(identity_arg(identity))
        } else {
            // SAFETY: a NUL-terminated string (contract).
            let sas = unsafe { str_arg(sas, "sas")? };
            // Checked now, so that a malformed SAS fails here rather than at the first call.
            Auth::Sas(SecretString::from(check_sas(sas)?.to_owned()))
        };
        blob_out.set(azmi_blob { account, auth });
        Ok(())
    })
}

/// Frees an account. No call may still be using it. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn azmi_blob_free(blob: *mut azmi_blob) {
    free(blob)
}

/// Creates the container `container`. `*created_out` (may be NULL) receives whether it was
/// created (false: it existed already). Errors: `AZMI_INVALID_ARGUMENT` (a container name
/// that is not 3 to 63 lowercase letters, digits and single hyphens, or `$root`/`$logs`/`$web`;
/// a blob name with a `.` or `..` segment: checked before anything is sent, so that no name
/// leaves its container), `AZMI_PERMISSION_DENIED`, `AZMI_AUTHENTICATION_FAILED`,
/// `AZMI_NETWORK_ERROR`, `AZMI_SERVICE_ERROR`, `AZMI_PROTOCOL_ERROR` (the service redirected,
/// which azmi never follows, or answered a status the operation never gives; the HTTP status is
/// in the error), `AZMI_CANCELLED`, and the token errors of `azmi_get_token`.
#[no_mangle]
pub unsafe extern "C" fn azmi_blob_create_container(
    blob: *const azmi_blob,
    container: *const c_char,
    cancel: *const azmi_cancel,
    created_out: *mut bool,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or a NUL-terminated string (contract).
        let container = unsafe { str_arg(container, "container")? };
        let created = run(blob, cancel, |client| async move {
            client.create_container(container).await
        })?;
        if !created_out.is_null() {
            // SAFETY: non-NULL, writable (contract).
            unsafe { *created_out = created };
        }
        Ok(())
    })
}

/// Uploads the local file `local_path` to the blob `container/name`, or downloads the other way.
///
/// # Safety
/// `local_path`, `container` and `name` are NULL or NUL-terminated strings.
unsafe fn transfer(
    direction: Direction,
    blob: *const azmi_blob,
    (local_path, container, name): (*const c_char, *const c_char, *const c_char),
    flags: u32,
    cancel: *const azmi_cancel,
    progress: Progress,
) -> Result<()> {
    // SAFETY: forwarded contract.
    let (local, container, name) = unsafe {
        (
            Path::new(str_arg(local_path, "local_path")?),
            str_arg(container, "container")?,
            str_arg(name, "name")?,
        )
    };
    let overwrite = flag(flags, AZMI_BLOB_OVERWRITE, "AZMI_BLOB_OVERWRITE")?;
    let report = |done, total| progress.report(done, total);
    run(blob, cancel, |client| async move {
        match direction {
            Direction::Up => {
                client
                    .upload(local, container, name, overwrite, report)
                    .await
            }
            Direction::Down => {
                client
                    .download(container, name, local, overwrite, report)
                    .await
            }
        }
    })
    .map(drop)
}

/// Uploads the local file `local_path` to the block blob `container/name`, never holding the
/// file in memory: up to 256 MiB (the Azure SDKs' initial transfer size) as one Put Blob
/// streamed from the file, whose MD5 is checked against the one the service computed (a
/// mismatch deletes the blob and is `AZMI_PROTOCOL_ERROR`); larger in 8 MiB blocks, four in
/// flight at once, each checked by the service against its MD5, then one Put Block List, sent
/// only when every block has succeeded. `flags`: 0 or `AZMI_BLOB_OVERWRITE` (else an existing
/// blob is `AZMI_CONFLICT`). `progress` (may be NULL) gets `(userdata, bytes sent, total)` as
/// the data goes (after each block, or as the one request's data is sent), on the calling
/// thread. A failure's message says how many bytes had been sent; a failed or cancelled upload
/// commits nothing.
/// Errors as `azmi_blob_create_container`, plus `AZMI_NOT_FOUND` (no such container),
/// `AZMI_CONFLICT` and `AZMI_IO_ERROR` (the local file).
#[no_mangle]
pub unsafe extern "C" fn azmi_blob_upload(
    blob: *const azmi_blob,
    local_path: *const c_char,
    container: *const c_char,
    name: *const c_char,
    flags: u32,
    cancel: *const azmi_cancel,
    progress: azmi_progress_callback,
    userdata: *mut c_void,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    let progress = Progress::new(progress, userdata);
    let paths = (local_path, container, name);
    // SAFETY: NULL or NUL-terminated strings (contract).
    guard(err_out, || unsafe {
        transfer(Direction::Up, blob, paths, flags, cancel, progress)
    })
}

/// Downloads the blob `container/name` to the local file `local_path`: into a temporary file
/// in the same folder, checked against the blob's length and MD5 (when the service holds one),
/// flushed to disk, then renamed over `local_path`, so that an existing file is never damaged
/// by a failed or cancelled download. `flags`: 0 or `AZMI_BLOB_OVERWRITE` (else an existing
/// `local_path` is `AZMI_CONFLICT`). `progress` (may be NULL) gets `(userdata, bytes received,
/// total)` as data arrives, on the calling thread. Errors as `azmi_blob_upload`, plus
/// `AZMI_PROTOCOL_ERROR` (the data does not match the length or MD5).
#[no_mangle]
pub unsafe extern "C" fn azmi_blob_download(
    blob: *const azmi_blob,
    container: *const c_char,
    name: *const c_char,
    local_path: *const c_char,
    flags: u32,
    cancel: *const azmi_cancel,
    progress: azmi_progress_callback,
    userdata: *mut c_void,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    let progress = Progress::new(progress, userdata);
    let paths = (local_path, container, name);
    // SAFETY: NULL or NUL-terminated strings (contract).
    guard(err_out, || unsafe {
        transfer(Direction::Down, blob, paths, flags, cancel, progress)
    })
}

/// Reads the whole blob `container/name` into memory (at most 256 MiB; use
/// `azmi_blob_download` for large blobs), checked against its MD5 when the service holds one.
/// On success `*bytes_out` receives a new `azmi_bytes` (free with `azmi_bytes_free`). Errors as
/// `azmi_blob_download`.
#[no_mangle]
pub unsafe extern "C" fn azmi_blob_read(
    blob: *const azmi_blob,
    container: *const c_char,
    name: *const c_char,
    cancel: *const azmi_cancel,
    bytes_out: *mut *mut azmi_bytes,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let bytes_out = Out::new(bytes_out, "bytes_out")?;
        // SAFETY: NULL or NUL-terminated strings (contract).
        let (container, name) =
            unsafe { (str_arg(container, "container")?, str_arg(name, "name")?) };
        let data = run(blob, cancel, |client| async move {
            client.read(container, name).await
        })?;
        bytes_out.set(azmi_bytes::new(data));
        Ok(())
    })
}

/// Writes `len` bytes at `data` (NULL only with `len` 0; copied) to the block blob
/// `container/name`. `flags`: 0 or `AZMI_BLOB_OVERWRITE` (else an existing blob is
/// `AZMI_CONFLICT`). Errors as `azmi_blob_upload`.
#[no_mangle]
pub unsafe extern "C" fn azmi_blob_write(
    blob: *const azmi_blob,
    container: *const c_char,
    name: *const c_char,
    data: *const u8,
    len: usize,
    flags: u32,
    cancel: *const azmi_cancel,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or NUL-terminated strings; `data` as documented (contract).
        let (container, name, data) = unsafe {
            (
                str_arg(container, "container")?,
                str_arg(name, "name")?,
                data_arg(data, len)?,
            )
        };
        let overwrite = flag(flags, AZMI_BLOB_OVERWRITE, "AZMI_BLOB_OVERWRITE")?;
        run(blob, cancel, |client| async move {
            client.upload_bytes(container, name, data, overwrite).await
        })
    })
}
