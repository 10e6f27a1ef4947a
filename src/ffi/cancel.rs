//! `azmi_cancel`: lets another thread stop a call in progress.

use tokio_util::sync::CancellationToken;

use super::handle::{borrow, free, into_raw};

/// A cancellation handle. Pass it to long calls; `azmi_cancel_cancel` from any thread makes
/// them return `AZMI_CANCELLED` at once. One handle may serve many calls; once cancelled it
/// stays cancelled. Free it with `azmi_cancel_free` after the calls using it have returned.
pub struct azmi_cancel {
    token: CancellationToken,
}

impl azmi_cancel {
    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }
}

/// A new, not cancelled handle. Never NULL.
#[no_mangle]
pub extern "C" fn azmi_cancel_new() -> *mut azmi_cancel {
    into_raw(azmi_cancel {
        token: CancellationToken::new(),
    })
}

/// Cancels every call using `cancel`, now and later. Safe from any thread, any number of times.
/// NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn azmi_cancel_cancel(cancel: *const azmi_cancel) {
    if let Some(c) = borrow(cancel) {
        c.token.cancel();
    }
}

/// Whether `cancel` has been cancelled (false for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_cancel_is_cancelled(cancel: *const azmi_cancel) -> bool {
    borrow(cancel).is_some_and(|c| c.token.is_cancelled())
}

/// Frees a handle. No call may still be using it. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn azmi_cancel_free(cancel: *mut azmi_cancel) {
    free(cancel)
}
