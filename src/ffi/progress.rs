//! `azmi_progress_callback`: progress of long calls, reported to C.

use std::ffi::c_void;

/// Progress of a long call: `done` bytes (or items) so far of `total` (-1 when unknown).
/// Called on the thread that made the call, while the call runs (so a PowerShell cmdlet may
/// write progress from it). It must return quickly and must not call blocking azmi functions:
/// they fail with `AZMI_RUNTIME_ERROR` there.
pub type azmi_progress_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, done: u64, total: i64)>;

/// A caller's progress callback (which may be NULL) and its userdata.
pub(crate) struct Progress {
    callback: azmi_progress_callback,
    userdata: *mut c_void,
}

impl Progress {
    pub(crate) fn new(callback: azmi_progress_callback, userdata: *mut c_void) -> Progress {
        Progress { callback, userdata }
    }

    pub(crate) fn report(&self, done: u64, total: u64) {
        if let Some(f) = self.callback {
            // SAFETY: the caller's callback with the caller's userdata, on the calling thread,
            // during the call (contract).
            unsafe { f(self.userdata, done, i64::try_from(total).unwrap_or(-1)) };
        }
    }
}

/// Which way a transfer between a local file and a service goes.
pub(crate) enum Direction {
    Up,
    Down,
}
