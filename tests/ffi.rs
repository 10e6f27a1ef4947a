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

/// Gets a token for `resource` with `id`: the status, and the token or the error.
fn new_token(resource: &CStr, id: *const azmi_identity) -> (azmi_status, SendPtr<azmi_token>) {
    let (mut token, mut err) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: valid arguments; an error is freed here.
    unsafe {
        let status = azmi_get_token(resource.as_ptr(), id, 0, ptr::null(), &mut token, &mut err);
        azmi_error_free(err);
        (status, SendPtr(token.cast_const()))
    }
}

/// Gets a token for `resource` with `id`: the status, and whether it came from the cache.
fn token_from(resource: &CStr, id: *const azmi_identity) -> (azmi_status, bool) {
    let (status, token) = new_token(resource, id);
    // SAFETY: NULL or a live token, freed once.
    unsafe {
        let from_cache = azmi_token_from_cache(token.0);
        azmi_token_free(token.0.cast_mut());
        (status, from_cache)
    }
}

#[test]
fn warm_calls_take_the_strings_accepted_before_and_still_refuse_the_others() {
    // The longest resource azmi accepts, known to this emulator.
    let long = CString::new(format!("https://{}/", "a".repeat(2048 - 9))).unwrap();
    let mut config = EmulatorConfig::default();
    config.resources.push(long.to_str().unwrap().to_owned());
    let emu = Emulator::start(config).unwrap();
    let id = identity_at(&emu);
    assert_eq!(token_from(VAULT, id), (azmi_status::AZMI_OK, false));
    // The scope form names the same resource: the same cached token, no request.
    let scope = c"https://vault.azure.net/.default";
    assert_eq!(token_from(scope, id), (azmi_status::AZMI_OK, true));
    assert_eq!(token_from(VAULT, id), (azmi_status::AZMI_OK, true));
    assert_eq!(emu.counters().token_requests, 1);
    // Strings that only look like it are checked as on a cold call, and refused.
    for bad in [
        c"https://vault.azure.net ",
        c"https://vault.azure.net\n",
        c"https://vault.azure.net/.default\t",
        c" https://vault.azure.net",
    ] {
        assert_eq!(
            token_from(bad, id).0,
            azmi_status::AZMI_INVALID_ARGUMENT,
            "{bad:?}"
        );
    }
    let not_utf8 = CString::new(b"https://vault.azure.net\xff".to_vec()).unwrap();
    assert_eq!(
        token_from(&not_utf8, id).0,
        azmi_status::AZMI_INVALID_ARGUMENT
    );
    // Longer than a resource may be, even though removing the suffix leaves a cached one.
    assert_eq!(long.as_bytes().len(), 2048);
    assert_eq!(token_from(&long, id), (azmi_status::AZMI_OK, false));
    let long_scope = CString::new(format!("{}/.default", long.to_str().unwrap())).unwrap();
    assert_eq!(
        token_from(&long_scope, id).0,
        azmi_status::AZMI_INVALID_ARGUMENT
    );
    assert_eq!(emu.counters().token_requests, 2);
    // SAFETY: created above, freed once.
    unsafe { azmi_identity_free(id) };
}

#[test]
fn tokens_may_be_freed_on_another_thread_and_in_any_order() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let id = identity_at(&emu);
    let get = |resource: &CStr| {
        let (status, token) = new_token(resource, id);
        assert_eq!(status, azmi_status::AZMI_OK);
        token
    };
    // Tokens of different sizes, alive at once, freed in another order and on other threads.
    let tokens: Vec<_> = (0..6)
        .map(|i| get(if i % 2 == 0 { ARM } else { VAULT }))
        .collect();
    let texts: Vec<CString> = tokens
        .iter()
        // SAFETY: live tokens.
        .map(|t| unsafe { CStr::from_ptr(azmi_token_access_token(t.0)) }.to_owned())
        .collect();
    for (i, t) in tokens.iter().enumerate() {
        // SAFETY: live tokens.
        let resource = unsafe { CStr::from_ptr(azmi_token_resource(t.0)) };
        assert_eq!(resource, if i % 2 == 0 { ARM } else { VAULT });
    }
    let (even, odd): (Vec<_>, Vec<_>) = tokens
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    std::thread::spawn(move || {
        for (_, t) in odd.into_iter().rev() {
            // SAFETY: a live token, freed once.
            unsafe { azmi_token_free(t.0.cast_mut()) };
        }
    })
    .join()
    .unwrap();
    // The memory freed on this thread is reused for the next tokens; their text is theirs.
    for (i, t) in even {
        let next = get(ARM);
        // SAFETY: live tokens, each freed once.
        unsafe {
            assert!(CStr::from_ptr(azmi_token_access_token(t.0)) == texts[i].as_c_str());
            azmi_token_free(t.0.cast_mut());
            assert!(CStr::from_ptr(azmi_token_access_token(next.0)) == texts[0].as_c_str());
            azmi_token_free(next.0.cast_mut());
        }
    }
    // SAFETY: created above, freed once.
    unsafe { azmi_identity_free(id) };
}
