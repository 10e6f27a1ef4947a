//! The C ABI seen from Rust threads: cancellation from another thread, refusal inside a
//! runtime, outputs untouched on failure, shutdown and restart.

use std::ffi::{CStr, CString};
use std::ptr;
use std::time::{Duration, Instant};

use azmi::ffi::*;
use azmi_emulator::{Emulator, EmulatorConfig, Fault};

const ARM: &CStr = c"https://management.azure.com/";
const VAULT: &CStr = c"https://vault.azure.net";

fn identity_at(emu: &Emulator) -> *mut azmi_identity {
    let mut id = ptr::null_mut();
    // SAFETY: valid out-pointers; NULL ids select the system-assigned identity.
    unsafe {
        assert_eq!(
            azmi_identity_new(
                ptr::null(),
                ptr::null(),
                ptr::null(),
                &mut id,
                ptr::null_mut()
            ),
            azmi_status::AZMI_OK
        );
        let url = CString::new(emu.token_url()).unwrap();
        assert_eq!(
            azmi_identity_set_endpoint(id, url.as_ptr(), ptr::null_mut()),
            azmi_status::AZMI_OK
        );
    }
    id
}

struct SendPtr<T>(*const T);
// SAFETY: azmi objects are safe to use from any thread (the ABI's contract).
unsafe impl<T> Send for SendPtr<T> {}

fn message(err: *const azmi_error) -> String {
    // SAFETY: err is a live error object.
    unsafe { CStr::from_ptr(azmi_error_message(err)) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn cancel_from_another_thread_ends_the_call_at_once() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let id = identity_at(&emu);
    let mut token = ptr::null_mut();
    // SAFETY: valid arguments throughout; objects freed once.
    unsafe {
        assert_eq!(
            azmi_get_token(
                VAULT.as_ptr(),
                id,
                0,
                ptr::null(),
                &mut token,
                ptr::null_mut()
            ),
            azmi_status::AZMI_OK
        );
        azmi_token_free(token);
        emu.set_faults(vec![Fault::Delay {
            ms: 30_000,
            count: 1,
        }]);
        let cancel = azmi_cancel_new();
        let handle = SendPtr(cancel);
        let canceller = std::thread::spawn(move || {
            let handle = handle;
            std::thread::sleep(Duration::from_millis(200));
            azmi_cancel_cancel(handle.0);
        });
        let started = Instant::now();
        let mut token = ptr::null_mut();
        let mut err = ptr::null_mut();
        let status = azmi_get_token(ARM.as_ptr(), id, 0, cancel, &mut token, &mut err);
        assert_eq!(status, azmi_status::AZMI_CANCELLED);
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(token.is_null(), "no output on failure");
        assert!(message(err).contains("cancelled"));
        canceller.join().unwrap();
        azmi_error_free(err);
        azmi_cancel_free(cancel);
        azmi_identity_free(id);
    }
}

#[test]
fn blocking_calls_are_refused_inside_a_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut token = ptr::null_mut();
        let mut err = ptr::null_mut();
        // SAFETY: valid arguments.
        let status = unsafe {
            azmi_get_token(
                ARM.as_ptr(),
                ptr::null(),
                0,
                ptr::null(),
                &mut token,
                &mut err,
            )
        };
        assert_eq!(status, azmi_status::AZMI_RUNTIME_ERROR);
        assert!(token.is_null());
        assert!(message(err).contains("from inside an async runtime"));
        // SAFETY: from this library.
        unsafe { azmi_error_free(err) };
    });
}

#[test]
fn token_text_is_the_callers_copy_and_metadata_is_lent() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let id = identity_at(&emu);
    // SAFETY: valid arguments; every object freed once.
    unsafe {
        let (mut a, mut b) = (ptr::null_mut(), ptr::null_mut());
        assert_eq!(
            azmi_get_token(ARM.as_ptr(), id, 0, ptr::null(), &mut a, ptr::null_mut()),
            azmi_status::AZMI_OK
        );
        assert_eq!(
            azmi_get_token(ARM.as_ptr(), id, 0, ptr::null(), &mut b, ptr::null_mut()),
            azmi_status::AZMI_OK
        );
        assert!(azmi_token_from_cache(b));
        assert_ne!(
            azmi_token_access_token(a),
            azmi_token_access_token(b),
            "each token owns its text, so freeing one wipes only its own copy"
        );
        let text_b = CStr::from_ptr(azmi_token_access_token(b)).to_owned();
        azmi_token_free(a);
        assert!(
            CStr::from_ptr(azmi_token_access_token(b)) == text_b.as_c_str(),
            "the other token's text is intact"
        );
        assert_eq!(CStr::from_ptr(azmi_token_resource(b)), ARM);
        assert_eq!(CStr::from_ptr(azmi_token_type(b)), c"Bearer");
        assert_eq!(
            azmi_token_access_token_len(b),
            text_b.as_bytes().len(),
            "length without the NUL"
        );
        azmi_token_free(b);
        azmi_identity_free(id);
    }
}

#[test]
fn identity_reports_its_endpoint_and_description() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let id = identity_at(&emu);
    // SAFETY: live identity; lent strings read before it is freed.
    unsafe {
        assert_eq!(
            CStr::from_ptr(azmi_identity_endpoint(id)).to_str().unwrap(),
            emu.token_url()
        );
        assert_eq!(
            CStr::from_ptr(azmi_identity_description(id)),
            c"the system-assigned identity"
        );
        let mut err = ptr::null_mut();
        assert_eq!(
            azmi_identity_set_endpoint(id, c"ftp://x/".as_ptr(), &mut err),
            azmi_status::AZMI_INVALID_ARGUMENT
        );
        assert!(message(err).contains("http://"));
        azmi_error_free(err);
        // NULL: IMDS itself, whatever the environment says (no request is made here).
        let mut other = ptr::null_mut();
        azmi_identity_new(
            ptr::null(),
            ptr::null(),
            ptr::null(),
            &mut other,
            ptr::null_mut(),
        );
        assert_eq!(
            azmi_identity_set_endpoint(other, ptr::null(), ptr::null_mut()),
            azmi_status::AZMI_OK
        );
        assert_eq!(
            CStr::from_ptr(azmi_identity_endpoint(other)),
            c"http://169.254.169.254/metadata/identity/oauth2/token"
        );
        azmi_identity_free(other);
        assert_eq!(
            azmi_identity_set_timeouts(id, 0, 1000, 10, ptr::null_mut()),
            azmi_status::AZMI_INVALID_ARGUMENT
        );
        assert_eq!(
            azmi_identity_set_timeouts(id, 500, 0, 10, ptr::null_mut()),
            azmi_status::AZMI_OK
        );
        // With retries off, one 503 is final.
        emu.set_faults(vec![Fault::Status {
            status: 503,
            retry_after: None,
            count: 1,
        }]);
        let mut token = ptr::null_mut();
        let mut err = ptr::null_mut();
        assert_eq!(
            azmi_get_token(
                ARM.as_ptr(),
                id,
                AZMI_FLAG_FORCE_REFRESH,
                ptr::null(),
                &mut token,
                &mut err
            ),
            azmi_status::AZMI_SERVICE_ERROR
        );
        assert_eq!(azmi_error_http_status(err), 503);
        assert_eq!(emu.counters().token_requests, 1);
        azmi_error_free(err);
        azmi_identity_free(id);
    }
}
