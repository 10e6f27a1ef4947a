//! `azmi_error`: what went wrong, as an object the caller owns.

use std::ffi::{c_char, CString};

use super::handle::{borrow, free, lend_str};
use super::status::azmi_status;
use super::string::c_string;
use crate::error::Error;

/// An error: status, HTTP status, the service's error code and a message. Owned by the caller;
/// free it with `azmi_error_free`. Immutable, so it may be read from any thread.
pub struct azmi_error {
    status: azmi_status,
    http_status: u16,
    service_code: Option<CString>,
    message: CString,
    claims: Option<CString>,
}

impl azmi_error {
    pub(crate) fn new(e: &Error) -> azmi_error {
        azmi_error {
            status: e.code().into(),
            http_status: e.http_status().unwrap_or(0),
            service_code: e.service_code().map(c_string),
            message: c_string(&e.to_string()),
            claims: e.claims().map(|c| c_string(c.json())),
        }
    }
}

/// The error's status (never `AZMI_OK`). `err` NULL gives `AZMI_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn azmi_error_status(err: *const azmi_error) -> azmi_status {
    borrow(err).map_or(azmi_status::AZMI_INVALID_ARGUMENT, |e| e.status)
}

/// The HTTP status the service answered with, or 0 when no service answered.
#[no_mangle]
pub unsafe extern "C" fn azmi_error_http_status(err: *const azmi_error) -> u16 {
    borrow(err).map_or(0, |e| e.http_status)
}

/// The service's own error code (e.g. "invalid_request", "PathNotFound"), or NULL when it gave
/// none. Lent: valid until `azmi_error_free(err)`.
#[no_mangle]
pub unsafe extern "C" fn azmi_error_service_code(err: *const azmi_error) -> *const c_char {
    match borrow(err).and_then(|e| e.service_code.as_ref()) {
        Some(c) => c.as_ptr(),
        None => std::ptr::null(),
    }
}

/// The claims a service's claims challenge asks for, as JSON, when the error is
/// `AZMI_CLAIMS_CHALLENGE` (NULL otherwise): pass them to `azmi_get_token_with_claims` and try
/// again, if the token goes to code that can use it. Lent: valid until `azmi_error_free(err)`.
#[no_mangle]
pub unsafe extern "C" fn azmi_error_claims(err: *const azmi_error) -> *const c_char {
    match borrow(err).and_then(|e| e.claims.as_ref()) {
        Some(c) => c.as_ptr(),
        None => std::ptr::null(),
    }
}

/// A message for people: what failed, why, and what to do. Never contains a token. Lent: valid
/// until `azmi_error_free(err)`. Never NULL for a non-NULL `err` ("" for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_error_message(err: *const azmi_error) -> *const c_char {
    lend_str(err, |e| &e.message)
}

/// Frees an error. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn azmi_error_free(err: *mut azmi_error) {
    free(err)
}
