//! `azmi_string`: text the library returns (JSON, a SAS token), and the C strings inside other
//! objects.

use std::ffi::{c_char, CString};

use zeroize::Zeroizing;

use super::handle::{borrow, free};

/// Text the library returns (JSON, a SAS token). Owned by the caller; free it with
/// `azmi_string_free`, which wipes it from memory (a SAS token is a credential). Immutable: may
/// be read from any thread.
pub struct azmi_string {
    /// The text and a NUL.
    text: Zeroizing<Vec<u8>>,
}

impl azmi_string {
    pub(crate) fn new(text: &str) -> azmi_string {
        azmi_string {
            text: nul_terminated(text.as_bytes()),
        }
    }
}

/// `bytes` and a NUL, in memory wiped on drop (for token text, secret values, SAS tokens).
pub(crate) fn nul_terminated(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut text = Zeroizing::new(Vec::with_capacity(bytes.len() + 1));
    text.extend_from_slice(bytes);
    text.push(0);
    text
}

/// `s` as a C string; a NUL inside it (which C could not see past) becomes U+FFFD.
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

/// The text, NUL-terminated. Lent: valid until `azmi_string_free`. "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn azmi_string_data(s: *const azmi_string) -> *const c_char {
    borrow(s).map_or(c"".as_ptr(), |s| s.text.as_ptr().cast())
}

/// The text's length in bytes, without the NUL (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn azmi_string_len(s: *const azmi_string) -> usize {
    borrow(s).map_or(0, |s| s.text.len() - 1)
}

/// Wipes and frees a string. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn azmi_string_free(s: *mut azmi_string) {
    free(s)
}
