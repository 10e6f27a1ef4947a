//! `azmi_shutdown` ends calls in progress and returns only once they have returned, so that a
//! host can unload the library; the next call starts afresh. Its own test binary, because it
//! stops the process-wide engine.

use std::ffi::{CStr, CString};
use std::ptr;
use std::time::{Duration, Instant};

use azmi::ffi::*;
use azmi_emulator::{Emulator, EmulatorConfig, Fault};

const ARM: &CStr = c"https://management.azure.com/";

struct SendPtr(*mut azmi_identity);
// SAFETY: identities may be used from any thread (the ABI's contract).
unsafe impl Send for SendPtr {}

#[test]
fn shutdown_cancels_running_calls_waits_for_them_and_allows_a_restart() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let url = CString::new(emu.token_url()).unwrap();
    let mut id = ptr::null_mut();
    // SAFETY: valid arguments; objects freed once.
    unsafe {
        azmi_identity_new(
            ptr::null(),
            ptr::null(),
            ptr::null(),
            &mut id,
            ptr::null_mut(),
        );
        azmi_identity_set_endpoint(id, url.as_ptr(), ptr::null_mut());
        let mut token = ptr::null_mut();
        assert_eq!(
            azmi_get_token(
                c"https://vault.azure.net".as_ptr(),
                id,
                0,
                ptr::null(),
                &mut token,
                ptr::null_mut()
            ),
            azmi_status::AZMI_OK
        );
        azmi_token_free(token);
    }
    emu.set_faults(vec![Fault::Delay {
        ms: 30_000,
        count: 1,
    }]);
    let shared = SendPtr(id);
    let caller = std::thread::spawn(move || {
        let shared = shared;
        let mut token = ptr::null_mut();
        // SAFETY: valid arguments.
        let status = unsafe {
            azmi_get_token(
                ARM.as_ptr(),
                shared.0,
                0,
                ptr::null(),
                &mut token,
                ptr::null_mut(),
            )
        };
        (status, token.is_null(), Instant::now())
    });
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    // SAFETY: no callback of ours is running.
    let status = unsafe { azmi_shutdown(ptr::null_mut()) };
    let returned = Instant::now();
    assert_eq!(status, azmi_status::AZMI_OK);
    assert!(returned - started < Duration::from_secs(3));
    let (call_status, no_token, call_ended) = caller.join().unwrap();
    assert_eq!(call_status, azmi_status::AZMI_CANCELLED);
    assert!(no_token);
    assert!(
        call_ended <= returned,
        "the call had returned before shutdown did"
    );

    // A new engine: the cache was wiped, so the next call asks the endpoint again.
    emu.reset();
    // SAFETY: valid arguments; objects freed once.
    unsafe {
        let mut token = ptr::null_mut();
        assert_eq!(
            azmi_get_token(
                c"https://vault.azure.net".as_ptr(),
                id,
                0,
                ptr::null(),
                &mut token,
                ptr::null_mut()
            ),
            azmi_status::AZMI_OK
        );
        assert!(!azmi_token_from_cache(token));
        azmi_token_free(token);
        azmi_identity_free(id);
        assert_eq!(azmi_shutdown(ptr::null_mut()), azmi_status::AZMI_OK);
    }
    assert_eq!(emu.counters().token_requests, 1);
}
