//! `azmi_status`, written from the status table (src/status.rs). cbindgen does not expand
//! macros, so build.rs gives it the same enum written out from the same table.

use std::ffi::CStr;

use crate::error::ErrorCode;

/// Writes `azmi_status` and its names from the status table.
macro_rules! azmi_status_enum {
    ($($name:ident = $value:literal, $c:ident, $doc:literal;)*) => {
        #[doc = status_doc!()]
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum azmi_status {
            $(#[doc = $doc] $c = $value,)*
        }

        impl azmi_status {
            /// The status numbered `n`, if azmi defines one.
            pub(crate) fn from_u32(n: u32) -> Option<azmi_status> {
                match n {
                    $($value => Some(azmi_status::$c),)*
                    _ => None,
                }
            }

            /// The stable name, e.g. "IdentityNotFound" for `AZMI_IDENTITY_NOT_FOUND`.
            pub(crate) fn name(self) -> &'static CStr {
                match self {
                    $(azmi_status::$c => const {
                        match CStr::from_bytes_with_nul(concat!(stringify!($name), "\0").as_bytes()) {
                            Ok(name) => name,
                            Err(_) => panic!("a status name holds a NUL"),
                        }
                    },)*
                }
            }
        }
    };
}

status_table!(azmi_status_enum);

impl From<ErrorCode> for azmi_status {
    fn from(code: ErrorCode) -> azmi_status {
        // Both come from the same table, so every code has its status.
        azmi_status::from_u32(code as u32).unwrap_or(azmi_status::AZMI_INTERNAL_ERROR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_the_status_of_its_number_and_name() {
        for &code in ErrorCode::ALL {
            let status = azmi_status::from(code);
            assert_eq!(status as u32, code as u32, "numbers agree for {code}");
            assert_eq!(status.name().to_str().unwrap(), code.name());
        }
        assert_eq!(azmi_status::AZMI_OK.name(), c"Ok");
        assert_eq!(azmi_status::from_u32(ErrorCode::ALL.len() as u32 + 1), None);
    }
}
