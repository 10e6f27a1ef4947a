//! `azmi_bytes`: bytes the library returns (`azmi_adls_read`, `azmi_blob_read`).

use bytes::Bytes;

use super::handle::{borrow, free};

/// Bytes the library returns (from `azmi_adls_read`, `azmi_blob_read`). Owned by the caller; free with
/// `azmi_bytes_free`. Immutable: may be read from any thread.
pub struct azmi_bytes {
    data: Bytes,
}

impl azmi_bytes {
    pub(crate) fn new(data: Bytes) -> azmi_bytes {
        azmi_bytes { data }
    }
}

/// The bytes (never NULL for a non-NULL `bytes`; not NUL-terminated). Lent: valid until
/// `azmi_bytes_free`. NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_bytes_data(bytes: *const azmi_bytes) -> *const u8 {
    match borrow(bytes) {
        Some(b) if b.data.is_empty() => std::ptr::NonNull::<u8>::dangling().as_ptr(),
        Some(b) => b.data.as_ptr(),
        None => std::ptr::null(),
    }
}

/// The number of bytes (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_bytes_len(bytes: *const azmi_bytes) -> usize {
    borrow(bytes).map_or(0, |b| b.data.len())
}

/// Frees bytes. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn azmi_bytes_free(bytes: *mut azmi_bytes) {
    free(bytes)
}
