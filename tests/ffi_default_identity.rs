//! A NULL identity through the C ABI is the system-assigned identity at the endpoint the
//! environment names when the call runs: a change of AZMI_IMDS_ENDPOINT (or, without it, of
//! AZURE_POD_IDENTITY_AUTHORITY_HOST) is seen by the next call, warm cache or not. One test,
//! because it changes the process environment.

use std::ffi::CStr;
use std::ptr;

use azmi::ffi::*;
use azmi_emulator::{Emulator, EmulatorConfig};

const ARM: &CStr = c"https://management.azure.com/";

/// A token with a NULL identity: whether it came from the cache.
fn null_identity_token() -> bool {
    let mut token = ptr::null_mut();
    let mut err = ptr::null_mut();
    // SAFETY: valid arguments; the token is freed once.
    unsafe {
        let status = azmi_get_token(
            ARM.as_ptr(),
            ptr::null(),
            0,
            ptr::null(),
            &mut token,
            &mut err,
        );
        assert_eq!(status, azmi_status::AZMI_OK);
        let from_cache = azmi_token_from_cache(token);
        azmi_token_free(token);
        from_cache
    }
}

#[test]
fn a_null_identity_follows_the_endpoint_variables_from_call_to_call() {
    let (a, b) = (
        Emulator::start(EmulatorConfig::default()).unwrap(),
        Emulator::start(EmulatorConfig::default()).unwrap(),
    );
    let set = |k: &str, v: Option<&str>| match v {
        // SAFETY: this test binary has a single test, so no other thread reads the environment.
        Some(v) => unsafe { std::env::set_var(k, v) },
        None => unsafe { std::env::remove_var(k) },
    };
    set("AZURE_POD_IDENTITY_AUTHORITY_HOST", None);
    set("AZMI_IMDS_ENDPOINT", Some(&a.token_url()));
    assert!(!null_identity_token());
    assert!(null_identity_token(), "warm");
    set("AZMI_IMDS_ENDPOINT", Some(&b.token_url()));
    assert!(!null_identity_token(), "the new endpoint, asked at once");
    assert!(null_identity_token());
    set("AZMI_IMDS_ENDPOINT", Some(&a.token_url()));
    assert!(
        null_identity_token(),
        "the first endpoint's token, still cached"
    );
    assert_eq!(
        (a.counters().token_requests, b.counters().token_requests),
        (1, 1)
    );

    // Without AZMI_IMDS_ENDPOINT (or with it blank), the authority host names the endpoint.
    set("AZMI_IMDS_ENDPOINT", Some("  "));
    set("AZURE_POD_IDENTITY_AUTHORITY_HOST", Some(&b.base_url()));
    assert!(null_identity_token(), "b's token, cached");
    set("AZMI_IMDS_ENDPOINT", None);
    assert!(null_identity_token());
    set("AZURE_POD_IDENTITY_AUTHORITY_HOST", Some(&a.base_url()));
    assert!(null_identity_token(), "a's token, cached");
    assert_eq!(
        (a.counters().token_requests, b.counters().token_requests),
        (1, 1)
    );
    // An authority host ignored while AZMI_IMDS_ENDPOINT names the endpoint.
    set("AZMI_IMDS_ENDPOINT", Some(&b.token_url()));
    set(
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        Some("http://127.0.0.1:9"),
    );
    assert!(null_identity_token());
    assert_eq!(b.counters().token_requests, 1);
}
