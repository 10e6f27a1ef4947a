//! The panic boundary: every fallible exported function runs its body through [`guard`].

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::azmi_error;
use super::handle::into_raw;
use super::status::azmi_status;
use crate::error::{Error, Result};

/// Runs `f` behind the panic boundary and turns its result into a status and an error object.
pub(crate) fn guard(err_out: *mut *mut azmi_error, f: impl FnOnce() -> Result<()>) -> azmi_status {
    let result = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::Internal(what))
    });
    match result {
        Ok(()) => azmi_status::AZMI_OK,
        Err(e) => {
            let status = azmi_status::from(e.code());
            if !err_out.is_null() {
                // SAFETY: the caller passes a writable `azmi_error*` slot or NULL (checked).
                unsafe { *err_out = into_raw(azmi_error::new(&e)) };
            }
            status
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::super::error::{azmi_error_free, azmi_error_message};
    use super::*;

    #[test]
    fn panics_become_internal_errors() {
        let mut err: *mut azmi_error = std::ptr::null_mut();
        let status = guard(&mut err, || panic!("boom"));
        assert_eq!(status, azmi_status::AZMI_INTERNAL_ERROR);
        assert!(!err.is_null());
        // SAFETY: err was just created by guard.
        unsafe {
            let msg = CStr::from_ptr(azmi_error_message(err));
            assert!(msg.to_str().unwrap().contains("boom"));
            azmi_error_free(err);
        }
    }
}
