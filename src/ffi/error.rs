//! `azmi_error`: what went wrong, as an object the caller owns.

use std::ffi::{c_char, CString};

use super::azmi_status;
use crate::error::Error;

/// An error: status, HTTP status, the service's error code and a message. Owned by the caller;
/// free it with `azmi_error_free`. Immutable, so it may be read from any thread.
pub struct azmi_error {
    status: azmi_status,
    http_status: u16,
    service_code: Option<CString>,
    message: CString,
}

fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

impl azmi_error {
    pub(crate) fn boxed(e: &Error) -> *mut azmi_error {
        Box::into_raw(Box::new(azmi_error {
            status: e.code().into(),
            http_status: e.http_status().unwrap_or(0),
            service_code: e.service_code().map(c_string),
            message: c_string(&e.to_string()),
        }))
    }
}

/// The error's status (never `AZMI_OK`). `err` NULL gives `AZMI_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn azmi_error_status(err: *const azmi_error) -> azmi_status {
    // SAFETY: NULL or an object from this library, per the contract.
    match unsafe { err.as_ref() } {
        Some(e) => e.status,
        None => azmi_status::AZMI_INVALID_ARGUMENT,
    }
}

/// The HTTP status the service answered with, or 0 when no service answered.
#[no_mangle]
pub unsafe extern "C" fn azmi_error_http_status(err: *const azmi_error) -> u16 {
    // SAFETY: NULL or an object from this library.
    unsafe { err.as_ref() }.map_or(0, |e| e.http_status)
}

/// The service's own error code (e.g. "invalid_request", "PathNotFound"), or NULL when it gave
/// none. Lent: valid until `azmi_error_free(err)`.
#[no_mangle]
pub unsafe extern "C" fn azmi_error_service_code(err: *const azmi_error) -> *const c_char {
    // SAFETY: NULL or an object from this library.
    match unsafe { err.as_ref() }.and_then(|e| e.service_code.as_ref()) {
        Some(c) => c.as_ptr(),
        None => std::ptr::null(),
    }
}

/// A message for people: what failed, why, and what to do. Never contains a token. Lent: valid
/// until `azmi_error_free(err)`. Never NULL for a non-NULL `err` ("" for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_error_message(err: *const azmi_error) -> *const c_char {
    // SAFETY: NULL or an object from this library.
    match unsafe { err.as_ref() } {
        Some(e) => e.message.as_ptr(),
        None => c"".as_ptr(),
    }
}

/// Frees an error. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn azmi_error_free(err: *mut azmi_error) {
    if !err.is_null() {
        // SAFETY: created by Box::into_raw in this library and not freed before (contract).
        drop(unsafe { Box::from_raw(err) });
    }
}
