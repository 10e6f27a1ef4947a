//! Ownership of the objects azmi hands to C, in one place (rustls-ffi's `Castable` is the
//! model): every object type implements [`Handle`], and these generic helpers borrow one, give
//! a new one out (through an out-pointer or as a return value) and free it, so that no exported
//! function writes `Box::into_raw` or `Box::from_raw` itself.
//!
//! Every object is a Rust value in a `Box` that C holds by pointer until it calls the type's
//! `_free`. The pointer contract of every exported function is that an object pointer is NULL or
//! points to a live object of that type from this library, used by no other thread while it is
//! borrowed mutably; the helpers below rely on it and check only for NULL.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use crate::error::{Error, Result};

/// A type C holds as a pointer to a boxed value.
pub(crate) trait Handle: Sized {
    /// The argument's usual name, for "<name> is NULL".
    const ARG: &'static str;
}

/// Declares the object types C holds: `handles! { azmi_adls: "adls", … }`, each with the
/// argument name its NULL is reported by.
macro_rules! handles {
    ($($t:ty: $arg:literal),* $(,)?) => {
        $(impl $crate::ffi::handle::Handle for $t {
            const ARG: &'static str = $arg;
        })*
    };
}

/// Borrows an object; NULL gives `None`.
pub(crate) fn borrow<'a, T: Handle>(p: *const T) -> Option<&'a T> {
    // SAFETY: NULL or a live object (the contract of every exported function).
    unsafe { p.as_ref() }
}

/// Borrows an object the call requires; NULL is `AZMI_INVALID_ARGUMENT`.
pub(crate) fn try_borrow<'a, T: Handle>(p: *const T) -> Result<&'a T> {
    borrow(p).ok_or_else(|| null_argument(T::ARG))
}

/// Borrows an object to change it; NULL is `AZMI_INVALID_ARGUMENT`.
pub(crate) fn try_borrow_mut<'a, T: Handle>(p: *mut T) -> Result<&'a mut T> {
    // SAFETY: NULL or a live object used by no other thread (the contract of setters).
    unsafe { p.as_mut() }.ok_or_else(|| null_argument(T::ARG))
}

/// A string field of an object, lent to C for as long as the object lives; "" for NULL.
pub(crate) fn lend_str<T: Handle>(p: *const T, field: impl FnOnce(&T) -> &CStr) -> *const c_char {
    borrow(p).map_or(c"".as_ptr(), |t| field(t).as_ptr())
}

/// Gives a new object to C, which frees it with the type's `_free`.
pub(crate) fn into_raw<T: Handle>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Frees an object given out by [`into_raw`]: NULL is ignored, and a panic while dropping it
/// stays on this side of the boundary.
pub(crate) fn free<T: Handle>(p: *mut T) {
    if p.is_null() {
        return;
    }
    // SAFETY: from `into_raw` and freed once (the contract of every `_free`).
    let value = unsafe { Box::from_raw(p) };
    // Nothing can be reported from a `_free`; the value is gone either way.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
}

/// An out-pointer for a new object, checked before the call does any work and written only
/// when it succeeds.
pub(crate) struct Out<T: Handle>(NonNull<*mut T>);

impl<T: Handle> Out<T> {
    /// Checks the out-pointer `p`, named `name` in the message when it is NULL.
    pub(crate) fn new(p: *mut *mut T, name: &str) -> Result<Out<T>> {
        NonNull::new(p).map(Out).ok_or_else(|| null_argument(name))
    }

    /// Gives `value` to the caller through the out-pointer.
    pub(crate) fn set(self, value: T) {
        self.set_ptr(into_raw(value));
    }

    /// Gives the caller an object that is not a `Box` (`azmi_token`: one allocation with its
    /// text), which the type's own `_free` frees.
    pub(crate) fn set_ptr(self, p: *mut T) {
        // SAFETY: non-NULL, and a writable `T*` slot (the contract of every out-pointer).
        unsafe { self.0.as_ptr().write(p) };
    }
}

pub(crate) fn null_argument(name: &str) -> Error {
    Error::InvalidArgument(format!("{name} is NULL"))
}
