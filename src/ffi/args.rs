//! Arguments from C: strings, data and flags, checked into Rust values before any work.

use std::ffi::{c_char, CStr};

use bytes::Bytes;

use super::handle::null_argument;
use crate::error::{Error, Result};

/// A required string argument, not yet checked for UTF-8 (see [`utf8`]).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn c_str_arg<'a>(p: *const c_char, name: &str) -> Result<&'a CStr> {
    if p.is_null() {
        return Err(null_argument(name));
    }
    // SAFETY: non-NULL and NUL-terminated per the contract.
    Ok(unsafe { CStr::from_ptr(p) })
}

/// The string argument `name` as UTF-8.
pub(crate) fn utf8<'a>(s: &'a CStr, name: &str) -> Result<&'a str> {
    s.to_str()
        .map_err(|_| Error::InvalidArgument(format!("{name} is not valid UTF-8")))
}

/// A required string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    // SAFETY: forwarded contract.
    utf8(unsafe { c_str_arg(p, name)? }, name)
}

/// An optional string argument: NULL means "not given".
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { str_arg(p, name) }.map(Some)
    }
}

/// Data from C, copied: NULL is allowed only with length 0.
///
/// # Safety
/// `data` is NULL or points to `len` readable bytes.
pub(crate) unsafe fn data_arg(data: *const u8, len: usize) -> Result<Bytes> {
    if len == 0 {
        return Ok(Bytes::new());
    }
    if data.is_null() {
        return Err(Error::InvalidArgument(format!(
            "data is NULL but len is {len}"
        )));
    }
    // SAFETY: non-NULL and `len` readable bytes (contract).
    Ok(Bytes::copy_from_slice(unsafe {
        std::slice::from_raw_parts(data, len)
    }))
}

/// A required callback.
pub(crate) fn callback_arg<F>(callback: Option<F>) -> Result<F> {
    callback.ok_or_else(|| null_argument("callback"))
}

/// Checks `flags` (only `bit`, named `name`, is allowed) and says whether `bit` is set.
pub(crate) fn flag(flags: u32, bit: u32, name: &str) -> Result<bool> {
    if flags & !bit != 0 {
        return Err(Error::InvalidArgument(format!(
            "flags {flags:#x} has bits this call does not take; use 0 or {name}"
        )));
    }
    Ok(flags & bit != 0)
}
