//! The C ABI: a thin translation layer over the core, and the only place with `extern "C"` and
//! raw pointers. The conventions, for every function:
//!
//! - Fallible functions return an `azmi_status` (`AZMI_OK` is 0) and write their outputs only on
//!   success. On failure, when `err_out` is not NULL, `*err_out` receives a new `azmi_error`
//!   (free it with `azmi_error_free`). There is no process-global "last error".
//! - String arguments are NUL-terminated UTF-8. NULL where a string is required, or invalid
//!   UTF-8, is `AZMI_INVALID_ARGUMENT`.
//! - Objects and strings the library returns are owned by the caller and freed with the
//!   matching `_free` function; strings lent by an accessor live as long as their object.
//! - A NULL identity means, in every service, the system-assigned identity at the endpoint the
//!   environment names when the call runs (also for objects opened with a NULL identity).
//! - Every function may be called from any thread; objects are immutable once built, except
//!   for `azmi_identity` setters, which must not run while the identity is in use.
//! - Blocking functions block the calling thread on azmi's runtime. Called from inside that
//!   runtime (e.g. from a callback) they fail with `AZMI_RUNTIME_ERROR` instead of stalling.
//! - No panic crosses the boundary: one is reported as `AZMI_INTERNAL_ERROR`.

#![allow(non_camel_case_types)]
// Every function states its pointer contract in its own words ("NULL or an object from this
// library", …); a `# Safety` heading on each would only repeat it in the header.
#![allow(clippy::missing_safety_doc)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::ffi::c_char;

use args::opt_str_arg;
use boundary::guard;

use crate::environment::AzureEnvironment;

// One module per service, named as its functions are (`azmi_<service>_…`), and the objects
// the services share; cbindgen writes the header in this order.
mod adls;
mod arm;
mod blob;
mod cancel;
mod error;
mod identity;
mod keyvault;
mod proxy;
mod token;

mod bytes;
mod progress;
mod status;
mod string;

// What every service's ABI is built from; nothing here is exported.
#[macro_use]
mod handle;
mod args;
mod boundary;
mod call;

pub use adls::*;
pub use arm::*;
pub use blob::*;
pub use bytes::*;
pub use cancel::*;
pub use error::*;
pub use identity::*;
pub use keyvault::*;
pub use progress::azmi_progress_callback;
pub use proxy::*;
pub use status::azmi_status;
pub use string::*;
pub use token::*;

// Every object type C holds by pointer, and the name of the argument it is usually passed as.
handles! {
    azmi_adls: "adls",
    azmi_adls_item: "item",
    azmi_blob: "blob",
    azmi_bytes: "bytes",
    azmi_cancel: "cancel",
    azmi_error: "err",
    azmi_identity: "identity",
    azmi_secret: "secret",
    azmi_string: "s",
    azmi_token: "token",
}

/// The library's version, e.g. "0.1.0". Static: do not free.
#[no_mangle]
pub extern "C" fn azmi_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A stable name for a status, e.g. "IdentityNotFound" for `AZMI_IDENTITY_NOT_FOUND`, "Ok" for
/// `AZMI_OK`, "Unknown" for numbers azmi does not define. Static: do not free.
#[no_mangle]
pub extern "C" fn azmi_status_name(status: u32) -> *const c_char {
    azmi_status::from_u32(status)
        .map_or(c"Unknown", azmi_status::name)
        .as_ptr()
}

/// Trusts the CA certificates in the PEM file `pem_path` besides the public roots for every
/// later HTTPS request of this process (NULL: the public roots only). By default azmi reads the
/// file named by the environment variable `AZMI_CA_FILE` when it starts; this overrides it, and
/// is how hosts whose runtime keeps its own environment (.NET on Linux) pass it on. A file that
/// cannot be read or holds no certificate is `AZMI_INVALID_ARGUMENT` and changes nothing.
#[no_mangle]
pub unsafe extern "C" fn azmi_set_ca_file(
    pem_path: *const c_char,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or a NUL-terminated string (contract).
        let path = unsafe { opt_str_arg(pem_path, "pem_path")? };
        crate::runtime::set_ca_file(path.map(Into::into))
    })
}

/// Names the Azure cloud of this process: "AzureCloud", "AzureUSGovernment" or
/// "AzureChinaCloud" (letter case ignored; the Instance Metadata Service's "AzurePublicCloud"
/// and "AzureUSGovernmentCloud" work too), or NULL to follow `AZMI_ENVIRONMENT` again (else the
/// public cloud). It decides, for identities that name no cloud of their own
/// (`azmi_identity_set_environment`, and NULL identities), what a vault or storage account
/// *name* stands for (`contoso`: `https://contoso.vault.usgovcloudapi.net`,
/// `https://contoso.blob.core.usgovcloudapi.net`), where Resource Manager is when no endpoint
/// is set (`azmi_set_arm_endpoint`, `AZMI_ARM_ENDPOINT`), and the token resource of an endpoint
/// azmi does not know. A URL given explicitly is always used as it is. An unknown name is
/// `AZMI_INVALID_ARGUMENT` and changes nothing. Hosts whose runtime keeps its own environment
/// (.NET on Linux) pass `AZMI_ENVIRONMENT` on here. Applies to calls started afterwards.
#[no_mangle]
pub unsafe extern "C" fn azmi_set_environment(
    name: *const c_char,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or a NUL-terminated string (contract).
        let name = unsafe { opt_str_arg(name, "name")? };
        let environment = name.map(AzureEnvironment::from_name).transpose()?;
        crate::environment::set_process_environment(environment);
        Ok(())
    })
}

/// The C name of an environment.
pub(crate) fn environment_name(environment: AzureEnvironment) -> &'static std::ffi::CStr {
    match environment {
        AzureEnvironment::AzureCloud => c"AzureCloud",
        AzureEnvironment::AzureUSGovernment => c"AzureUSGovernment",
        AzureEnvironment::AzureChinaCloud => c"AzureChinaCloud",
    }
}

/// Stops azmi's runtime and wipes every cached token, so that a host can unload the library.
/// Calls still running on other threads are cancelled (they return `AZMI_CANCELLED`) and have
/// returned when this returns; a later call starts azmi again. Fails with `AZMI_RUNTIME_ERROR`
/// when called from inside azmi's runtime (a callback), or when a call has not returned after
/// 10 s (then do not unload the library).
#[no_mangle]
pub unsafe extern "C" fn azmi_shutdown(err_out: *mut *mut azmi_error) -> azmi_status {
    guard(err_out, crate::runtime::shutdown)
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn status_names_are_the_error_code_names() {
        // SAFETY: azmi_status_name returns a static NUL-terminated string.
        let name = |n: u32| {
            unsafe { CStr::from_ptr(azmi_status_name(n)) }
                .to_str()
                .unwrap()
        };
        assert_eq!(name(0), "Ok");
        for &code in ErrorCode::ALL {
            assert_eq!(name(code as u32), code.name());
        }
        assert_eq!(name(ErrorCode::ALL.len() as u32 + 1), "Unknown");
        assert_eq!(name(u32::MAX), "Unknown");
    }
}
