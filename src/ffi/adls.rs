//! `azmi_adls`: Azure Data Lake Storage Gen1 (WebHDFS) and Gen2 (DFS) with the managed
//! identity's tokens.

use std::ffi::{c_char, c_void, CString};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::args::{callback_arg, data_arg, flag, str_arg};
use super::boundary::guard;
use super::bytes::azmi_bytes;
use super::call::{identity_arg, identity_or_default, listed, run_on as run, Account};
use super::cancel::azmi_cancel;
use super::error::azmi_error;
use super::handle::{borrow, free, lend_str, try_borrow, Out};
use super::identity::azmi_identity;
use super::progress::{azmi_progress_callback, Direction, Progress};
use super::status::azmi_status;
use super::string::c_string;
use crate::adls::{check_chunk_size, Adls, AdlsAccount, AdlsItem, AdlsProtocol};
use crate::error::{Error, Result};
use crate::identity::ManagedIdentity;
use crate::runtime::Engine;

/// `protocol` of `azmi_adls_new`: decide from the account's form (a bare name or
/// `https://<name>.azuredatalakestore.net` or a `…/webhdfs/v1` URL is WebHDFS;
/// `https://<account>.dfs.core.windows.net/<filesystem>` is DFS).
pub const AZMI_ADLS_AUTO: u32 = 0;
/// `protocol` of `azmi_adls_new`: Data Lake Storage Gen1 or Hadoop WebHDFS.
pub const AZMI_ADLS_WEBHDFS: u32 = 1;
/// `protocol` of `azmi_adls_new`: Data Lake Storage Gen2 (DFS endpoint); the URL's path names
/// the filesystem.
pub const AZMI_ADLS_DFS: u32 = 2;

/// `flags` bit: replace an existing file (create, upload, download). Without it an existing
/// file is `AZMI_CONFLICT` and stays as it was.
pub const AZMI_ADLS_OVERWRITE: u32 = 1;
/// `flags` bit: list everything below the directory (list); delete a non-empty directory
/// with its contents (remove).
pub const AZMI_ADLS_RECURSIVE: u32 = 2;

/// A Data Lake account and the identity whose tokens it uses. Immutable once built (except by
/// `azmi_adls_set_chunk_size`), so one may serve any number of threads at once. Free it with
/// `azmi_adls_free` after the calls using it have returned.
pub struct azmi_adls {
    account: AdlsAccount,
    /// `None`: the engine's default, chosen at each call.
    mi: Option<Arc<ManagedIdentity>>,
    /// 0: the default.
    chunk_size: AtomicUsize,
    base_url: CString,
}

impl Account for azmi_adls {
    type Client = Adls;

    fn client(&self, engine: &Engine) -> Result<Adls> {
        let mi = identity_or_default(engine, self.mi.as_ref())?;
        let adls = Adls::new(&engine.azmi, self.account.clone(), mi)?;
        match self.chunk_size.load(Ordering::Relaxed) {
            0 => Ok(adls),
            n => adls.with_chunk_size(n),
        }
    }
}

/// Opens a Data Lake account.
///
/// - `account`: a Gen1 account name (`contoso` means `https://contoso.azuredatalakestore.net`),
///   or a URL: `https://contoso.azuredatalakestore.net`, `https://namenode:9871/webhdfs/v1`,
///   `https://contoso.dfs.core.windows.net/<filesystem>`. Only `https://` (plain `http://` only
///   to a loopback address: `AZMI_INSECURE_REQUEST` otherwise). Required.
/// - `protocol`: `AZMI_ADLS_AUTO` (from the account's form), `AZMI_ADLS_WEBHDFS` or
///   `AZMI_ADLS_DFS` for hosts whose form does not tell (emulators, Hadoop, other clouds).
/// - `identity`: from `azmi_identity_new` (copied: it may be freed afterwards), or NULL for the
///   system-assigned identity at the endpoint the environment names when each operation runs
///   (`AZMI_IMDS_ENDPOINT`, `AZURE_POD_IDENTITY_AUTHORITY_HOST`, else IMDS), as in every call.
/// - `adls_out`: receives a new `azmi_adls` on success (free with `azmi_adls_free`).
///
/// Tokens are taken for the protocol's resource (Gen1 `https://datalake.azure.net/`, Gen2
/// `https://storage.azure.com/`) from the shared token cache; transient service failures are
/// retried under the identity's retry settings (`azmi_identity_set_timeouts`). Nothing is sent
/// until an operation runs. Errors: `AZMI_INVALID_ARGUMENT`, `AZMI_INSECURE_REQUEST`.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_new(
    account: *const c_char,
    protocol: u32,
    identity: *const azmi_identity,
    adls_out: *mut *mut azmi_adls,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let adls_out = Out::new(adls_out, "adls_out")?;
        // SAFETY: NULL or a NUL-terminated string (contract).
        let account = unsafe { str_arg(account, "account")? };
        let protocol = match protocol {
            AZMI_ADLS_AUTO => AdlsProtocol::Auto,
            AZMI_ADLS_WEBHDFS => AdlsProtocol::WebHdfs,
            AZMI_ADLS_DFS => AdlsProtocol::Dfs,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "protocol {other} is not AZMI_ADLS_AUTO, AZMI_ADLS_WEBHDFS or AZMI_ADLS_DFS"
                )))
            }
        };
        let account = AdlsAccount::parse(account, protocol)?;
        adls_out.set(azmi_adls {
            base_url: c_string(account.base_url()),
            account,
            mi: identity_arg(identity),
            chunk_size: AtomicUsize::new(0),
        });
        Ok(())
    })
}

/// Sets the bytes sent per upload request: Gen2 appends of files over 256 MiB (default 8 MiB;
/// once set, it is also the largest Gen2 upload sent as one append, so that no request carries
/// more); Gen1 sends at most 4 MiB per request whatever this says. 1024 to 268435456 bytes, or
/// 0 for the default. Uploads stream from the file: memory does not grow with it. Out of range
/// is `AZMI_INVALID_ARGUMENT`. Applies to calls started afterwards.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_set_chunk_size(
    adls: *mut azmi_adls,
    bytes: u32,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let adls = try_borrow(adls)?;
        let bytes = bytes as usize;
        if bytes != 0 {
            check_chunk_size(bytes)?;
        }
        adls.chunk_size.store(bytes, Ordering::Relaxed);
        Ok(())
    })
}

/// The URL below which paths are addressed, e.g.
/// `https://contoso.azuredatalakestore.net/webhdfs/v1` or
/// `https://contoso.dfs.core.windows.net/myfilesystem`. Lent: valid until `azmi_adls_free`.
/// "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_base_url(adls: *const azmi_adls) -> *const c_char {
    lend_str(adls, |a| &a.base_url)
}

/// The protocol in use: `AZMI_ADLS_WEBHDFS` or `AZMI_ADLS_DFS` (never `AZMI_ADLS_AUTO`);
/// 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_protocol(adls: *const azmi_adls) -> u32 {
    match borrow(adls).map(|a| a.account.protocol()) {
        Some(AdlsProtocol::WebHdfs) => AZMI_ADLS_WEBHDFS,
        Some(AdlsProtocol::Dfs) => AZMI_ADLS_DFS,
        _ => AZMI_ADLS_AUTO,
    }
}

/// Frees an account. No call may still be using it. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_free(adls: *mut azmi_adls) {
    free(adls)
}

/// A file or directory. From `azmi_adls_stat` it is the caller's (free it with
/// `azmi_adls_item_free`); in an `azmi_adls_item_callback` it is lent for the callback only.
/// Immutable: may be read from any thread.
pub struct azmi_adls_item {
    name: CString,
    path: CString,
    is_directory: bool,
    length: u64,
    modified: i64,
    permission: CString,
    owner: CString,
    group: CString,
}

impl azmi_adls_item {
    fn new(item: &AdlsItem) -> azmi_adls_item {
        azmi_adls_item {
            name: c_string(&item.name),
            path: c_string(&item.path),
            is_directory: item.is_directory(),
            length: item.length,
            modified: item.last_modified_ms,
            permission: c_string(&item.permission),
            owner: c_string(&item.owner),
            group: c_string(&item.group),
        }
    }
}

/// The last segment of the item's path, e.g. "Test1.txt" ("" for the root). Lent: valid as
/// long as the item. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_item_name(item: *const azmi_adls_item) -> *const c_char {
    lend_str(item, |i| &i.name)
}

/// The full path from the root, e.g. "/TestFolder/Test1.txt". Lent: valid as long as the item.
/// "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_item_path(item: *const azmi_adls_item) -> *const c_char {
    lend_str(item, |i| &i.path)
}

/// Whether the item is a directory (false for files and NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_item_is_directory(item: *const azmi_adls_item) -> bool {
    borrow(item).is_some_and(|i| i.is_directory)
}

/// The length in bytes (0 for directories and NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_item_length(item: *const azmi_adls_item) -> u64 {
    borrow(item).map_or(0, |i| i.length)
}

/// The last modification as Unix milliseconds (0 when unknown, and for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_item_modified(item: *const azmi_adls_item) -> i64 {
    borrow(item).map_or(0, |i| i.modified)
}

/// The permissions as the service gives them: Gen1 octal ("770"), Gen2 symbolic
/// ("rwxr-x---"). Lent: valid as long as the item. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_item_permission(item: *const azmi_adls_item) -> *const c_char {
    lend_str(item, |i| &i.permission)
}

/// The owner (an object id). Lent: valid as long as the item. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_item_owner(item: *const azmi_adls_item) -> *const c_char {
    lend_str(item, |i| &i.owner)
}

/// The owning group (an object id). Lent: valid as long as the item. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_item_group(item: *const azmi_adls_item) -> *const c_char {
    lend_str(item, |i| &i.group)
}

/// Frees an item from `azmi_adls_stat`. Never free an item lent to a callback. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_item_free(item: *mut azmi_adls_item) {
    free(item)
}

/// Receives the items of `azmi_adls_list`, one call per item, as each page of the listing
/// arrives. `item` is lent for this call only (copy what you keep; do not free it). Runs on the
/// thread that called `azmi_adls_list`, during that call; it must not call blocking azmi
/// functions (they fail with `AZMI_RUNTIME_ERROR`) and must not unwind (no C++ exceptions or
/// longjmp across it). Return true to go on, false to stop: the listing then returns
/// `AZMI_CANCELLED`.
pub type azmi_adls_item_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, item: *const azmi_adls_item) -> bool>;

/// Lists the directory `path` ("/" for the root; a file lists as itself), following every page
/// of the listing and handing each item to `callback` as its page arrives, so that a folder of
/// any size is never held in memory at once. `flags`: 0 or `AZMI_ADLS_RECURSIVE` (everything
/// below too). `callback` is required; `userdata` is passed to it as is. `cancel`: NULL or a
/// handle another thread may cancel.
///
/// Errors: `AZMI_NOT_FOUND` (no such path), `AZMI_PERMISSION_DENIED`,
/// `AZMI_AUTHENTICATION_FAILED`, `AZMI_THROTTLED` (after retries), `AZMI_CANCELLED` (through
/// `cancel` or the callback returning false), `AZMI_INVALID_ARGUMENT` (NULL, not UTF-8, control
/// characters, `..` segments), `AZMI_INSECURE_REQUEST`, `AZMI_NETWORK_ERROR`, `AZMI_TIMEOUT`,
/// `AZMI_SERVICE_ERROR`, `AZMI_PROTOCOL_ERROR`, the token errors of `azmi_get_token`, and
/// `AZMI_RUNTIME_ERROR` when called from a callback.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_list(
    adls: *const azmi_adls,
    path: *const c_char,
    flags: u32,
    cancel: *const azmi_cancel,
    callback: azmi_adls_item_callback,
    userdata: *mut c_void,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or a NUL-terminated string (contract).
        let path = unsafe { str_arg(path, "path")? };
        let recursive = flag(flags, AZMI_ADLS_RECURSIVE, "AZMI_ADLS_RECURSIVE")?;
        let callback = callback_arg(callback)?;
        listed(run(adls, cancel, |client| async move {
            client
                .list(path, recursive, |item| {
                    let lent = azmi_adls_item::new(&item);
                    // SAFETY: the caller's callback with its userdata, on the calling thread,
                    // during the call; the item outlives the callback (contract).
                    unsafe { callback(userdata, &lent) }
                })
                .await
        })?)
    })
}

/// The properties of a file or directory. On success `*item_out` receives a new item (free
/// with `azmi_adls_item_free`). Errors as `azmi_adls_list`.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_stat(
    adls: *const azmi_adls,
    path: *const c_char,
    cancel: *const azmi_cancel,
    item_out: *mut *mut azmi_adls_item,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let item_out = Out::new(item_out, "item_out")?;
        // SAFETY: NULL or a NUL-terminated string (contract).
        let path = unsafe { str_arg(path, "path")? };
        let item = run(
            adls,
            cancel,
            |client| async move { client.stat(path).await },
        )?;
        item_out.set(azmi_adls_item::new(&item));
        Ok(())
    })
}

/// Creates the file `path` holding the `len` bytes at `data` (NULL allowed when `len` is 0);
/// missing parent directories are created. `flags`: 0 or `AZMI_ADLS_OVERWRITE`. An existing
/// file is `AZMI_CONFLICT` unless `AZMI_ADLS_OVERWRITE`. `data` is copied before the call
/// returns. Large data is sent in chunks (Gen1: at most 4 MiB per request). Errors as
/// `azmi_adls_list`, plus `AZMI_CONFLICT`.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_create(
    adls: *const azmi_adls,
    path: *const c_char,
    data: *const u8,
    len: usize,
    flags: u32,
    cancel: *const azmi_cancel,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or a NUL-terminated string; `data` NULL or `len` bytes (contract).
        let (path, data) = unsafe { (str_arg(path, "path")?, data_arg(data, len)?) };
        let overwrite = flag(flags, AZMI_ADLS_OVERWRITE, "AZMI_ADLS_OVERWRITE")?;
        run(adls, cancel, |client| async move {
            client.create(path, data, overwrite).await
        })
    })
}

/// Creates the directory `path` and its missing parents; an existing directory is fine, an
/// existing file is `AZMI_CONFLICT`. Errors as `azmi_adls_list`.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_mkdir(
    adls: *const azmi_adls,
    path: *const c_char,
    cancel: *const azmi_cancel,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or a NUL-terminated string (contract).
        let path = unsafe { str_arg(path, "path")? };
        run(
            adls,
            cancel,
            |client| async move { client.mkdir(path).await },
        )
    })
}

/// Appends the `len` bytes at `data` (NULL allowed when `len` is 0) to the existing file
/// `path`. `data` is copied before the call returns. Errors as `azmi_adls_list`.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_append(
    adls: *const azmi_adls,
    path: *const c_char,
    data: *const u8,
    len: usize,
    cancel: *const azmi_cancel,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or a NUL-terminated string; `data` NULL or `len` bytes (contract).
        let (path, data) = unsafe { (str_arg(path, "path")?, data_arg(data, len)?) };
        run(adls, cancel, |client| async move {
            client.append(path, data).await
        })
    })
}

/// Reads `length` bytes (-1: to the end) from byte `offset` of the file `path` into memory;
/// reading at or past the end gives 0 bytes, on both protocols. On success `*bytes_out`
/// receives a new `azmi_bytes` (free with `azmi_bytes_free`). For large files use
/// `azmi_adls_download`.
/// A `length` below -1 is `AZMI_INVALID_ARGUMENT`. Errors as `azmi_adls_list`.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_read(
    adls: *const azmi_adls,
    path: *const c_char,
    offset: u64,
    length: i64,
    cancel: *const azmi_cancel,
    bytes_out: *mut *mut azmi_bytes,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let bytes_out = Out::new(bytes_out, "bytes_out")?;
        // SAFETY: NULL or a NUL-terminated string (contract).
        let path = unsafe { str_arg(path, "path")? };
        let length = match length {
            -1 => None,
            l if l >= 0 => Some(l as u64),
            l => {
                return Err(Error::InvalidArgument(format!(
                    "length {l} is neither -1 (to the end) nor a byte count"
                )))
            }
        };
        let data = run(adls, cancel, |client| async move {
            client.read(path, offset, length).await
        })?;
        bytes_out.set(azmi_bytes::new(data));
        Ok(())
    })
}

/// Uploads the local file `local_path` to `remote_path`, or downloads the other way.
///
/// # Safety
/// `local_path` and `remote_path` are NULL or NUL-terminated strings.
unsafe fn transfer(
    direction: Direction,
    adls: *const azmi_adls,
    (local_path, remote_path): (*const c_char, *const c_char),
    flags: u32,
    cancel: *const azmi_cancel,
    progress: Progress,
) -> Result<()> {
    // SAFETY: forwarded contract.
    let (local, remote) = unsafe {
        (
            Path::new(str_arg(local_path, "local_path")?),
            str_arg(remote_path, "remote_path")?,
        )
    };
    let overwrite = flag(flags, AZMI_ADLS_OVERWRITE, "AZMI_ADLS_OVERWRITE")?;
    let report = |done, total| progress.report(done, total);
    run(adls, cancel, |client| async move {
        match direction {
            Direction::Up => client.upload(local, remote, overwrite, report).await,
            Direction::Down => client.download(remote, local, overwrite, report).await,
        }
    })
    .map(drop)
}

/// Uploads the local file `local_path` to `remote_path`, never holding the file in memory.
/// Gen2: create, then up to 256 MiB one append streamed from the file, larger appends of the
/// chunk size, four in flight at once, then one flush once every append has succeeded (the
/// data is not readable before). Gen1: CREATE then APPENDs of at most 4 MiB, one after the
/// other. `flags`: 0 or `AZMI_ADLS_OVERWRITE` (else an existing remote file is
/// `AZMI_CONFLICT`). `progress` (may be NULL) gets `(userdata, bytes sent, total)` as the data
/// goes (after each chunk, or as one request's data is sent), on the calling thread. A
/// failure's message says how many bytes had been sent.
/// Errors as `azmi_adls_list`, plus `AZMI_CONFLICT` and `AZMI_IO_ERROR` (the local file).
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_upload(
    adls: *const azmi_adls,
    local_path: *const c_char,
    remote_path: *const c_char,
    flags: u32,
    cancel: *const azmi_cancel,
    progress: azmi_progress_callback,
    userdata: *mut c_void,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    let progress = Progress::new(progress, userdata);
    let paths = (local_path, remote_path);
    // SAFETY: NULL or NUL-terminated strings (contract).
    guard(err_out, || unsafe {
        transfer(Direction::Up, adls, paths, flags, cancel, progress)
    })
}

/// Downloads `remote_path` to the local file `local_path`: into a temporary file in the same
/// folder, checked against the remote length, flushed to disk, then renamed over `local_path`,
/// so that an existing file is never damaged by a failed or cancelled download (and no
/// temporary file is left behind). `flags`: 0 or `AZMI_ADLS_OVERWRITE` (else an existing
/// `local_path` is `AZMI_CONFLICT`). `progress` (may be NULL) gets `(userdata, bytes received,
/// total)` as data arrives, on the calling thread. Errors as `azmi_adls_upload`.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_download(
    adls: *const azmi_adls,
    remote_path: *const c_char,
    local_path: *const c_char,
    flags: u32,
    cancel: *const azmi_cancel,
    progress: azmi_progress_callback,
    userdata: *mut c_void,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    let progress = Progress::new(progress, userdata);
    let paths = (local_path, remote_path);
    // SAFETY: NULL or NUL-terminated strings (contract).
    guard(err_out, || unsafe {
        transfer(Direction::Down, adls, paths, flags, cancel, progress)
    })
}

/// Renames (moves) `from` to `to` within the account. An existing `to` is `AZMI_CONFLICT`
/// (Gen1 moves into an existing directory, as WebHDFS does). Errors as `azmi_adls_list`, plus
/// `AZMI_CONFLICT`.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_move(
    adls: *const azmi_adls,
    from: *const c_char,
    to: *const c_char,
    cancel: *const azmi_cancel,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or NUL-terminated strings (contract).
        let (from, to) = unsafe { (str_arg(from, "from")?, str_arg(to, "to")?) };
        run(adls, cancel, |client| async move {
            client.rename(from, to).await
        })
    })
}

/// Deletes the file or directory `path` (never the root). `flags`: 0 or `AZMI_ADLS_RECURSIVE`
/// (needed for a non-empty directory, else `AZMI_CONFLICT`). A missing path is
/// `AZMI_NOT_FOUND`. Errors as `azmi_adls_list`.
#[no_mangle]
pub unsafe extern "C" fn azmi_adls_remove(
    adls: *const azmi_adls,
    path: *const c_char,
    flags: u32,
    cancel: *const azmi_cancel,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or a NUL-terminated string (contract).
        let path = unsafe { str_arg(path, "path")? };
        let recursive = flag(flags, AZMI_ADLS_RECURSIVE, "AZMI_ADLS_RECURSIVE")?;
        run(adls, cancel, |client| async move {
            client.remove(path, recursive).await
        })
    })
}
