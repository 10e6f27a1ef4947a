//! The Key Vault and Resource Manager parts of the C ABI seen from Rust: outputs only on
//! success, NULL and invalid UTF-8 arguments, secret accessors and their freeing (which wipes
//! the value), listings through callbacks, generic requests that gather every page, and SAS
//! requests checked before anything is sent.
//!
//! The process-wide engine trusts one extra CA and has one Resource Manager endpoint, so every
//! test here shares one emulator and runs one at a time.

use std::ffi::{c_void, CStr, CString};
use std::ptr;
use std::sync::{Mutex, MutexGuard, OnceLock};

use azmi::ffi::*;
use azmi_emulator::{Emulator, EmulatorConfig, AZURITE_ACCOUNT, DEFAULT_SUBSCRIPTION_ID as SUB};

struct Shared {
    emu: Emulator,
    vault: CString,
}

fn shared() -> (&'static Shared, MutexGuard<'static, ()>) {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    static SERIAL: Mutex<()> = Mutex::new(());
    let guard = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let s = SHARED.get_or_init(|| {
        let emu = Emulator::start(EmulatorConfig::default()).unwrap();
        let ca = CString::new(emu.ca_file().to_str().unwrap()).unwrap();
        let arm = CString::new(emu.arm_url()).unwrap();
        // SAFETY: valid NUL-terminated strings.
        unsafe {
            assert_eq!(
                azmi_set_ca_file(ca.as_ptr(), ptr::null_mut()),
                azmi_status::AZMI_OK
            );
            assert_eq!(
                azmi_set_arm_endpoint(arm.as_ptr(), ptr::null_mut()),
                azmi_status::AZMI_OK
            );
        }
        let vault = CString::new(emu.keyvault_url()).unwrap();
        Shared { emu, vault }
    });
    s.emu.set_service_faults(vec![]);
    (s, guard)
}

struct Identity(*mut azmi_identity);

impl Drop for Identity {
    fn drop(&mut self) {
        // SAFETY: from azmi_identity_new, freed once.
        unsafe { azmi_identity_free(self.0) };
    }
}

fn identity(emu: &Emulator) -> Identity {
    let mut id = ptr::null_mut();
    let url = CString::new(emu.token_url()).unwrap();
    // SAFETY: valid out-pointers and strings.
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
        assert_eq!(
            azmi_identity_set_endpoint(id, url.as_ptr(), ptr::null_mut()),
            azmi_status::AZMI_OK
        );
        assert_eq!(
            azmi_identity_set_timeouts(id, 1000, 3000, 10, ptr::null_mut()),
            azmi_status::AZMI_OK
        );
    }
    Identity(id)
}

/// Runs `f` with an error slot and returns the status, HTTP status, service code and message.
fn call(f: impl FnOnce(*mut *mut azmi_error) -> azmi_status) -> (azmi_status, u16, String, String) {
    let mut err = ptr::null_mut();
    let status = f(&mut err);
    if status == azmi_status::AZMI_OK {
        assert!(err.is_null(), "no error object on success");
        return (status, 0, String::new(), String::new());
    }
    assert!(!err.is_null(), "an error object on failure");
    // SAFETY: a live error from this library, freed once.
    unsafe {
        let text = |p: *const std::ffi::c_char| {
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        let out = (
            status,
            azmi_error_http_status(err),
            text(azmi_error_service_code(err)),
            text(azmi_error_message(err)),
        );
        azmi_error_free(err);
        out
    }
}

fn text(p: *const std::ffi::c_char) -> String {
    // SAFETY: a NUL-terminated string lent by the library.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

#[test]
fn get_returns_the_secret_with_its_properties() {
    let (s, _g) = shared();
    let id = identity(&s.emu);
    let mut secret = ptr::null_mut();
    // SAFETY: valid arguments.
    let (status, ..) = call(|e| unsafe {
        azmi_keyvault_get(
            s.vault.as_ptr(),
            c"mi-test".as_ptr(),
            ptr::null(),
            ptr::null(),
            id.0,
            ptr::null(),
            &mut secret,
            e,
        )
    });
    assert_eq!(status, azmi_status::AZMI_OK);
    // SAFETY: a live secret from azmi_keyvault_get.
    unsafe {
        let len = azmi_secret_value_len(secret);
        let value = std::slice::from_raw_parts(azmi_secret_value(secret).cast::<u8>(), len);
        assert!(value == b"Hello from Key Vault");
        assert_eq!(*azmi_secret_value(secret).add(len), 0, "NUL-terminated");
        assert_eq!(text(azmi_secret_name(secret)), "mi-test");
        let version = text(azmi_secret_version(secret));
        assert_eq!(version.len(), 32);
        assert!(text(azmi_secret_id(secret)).ends_with(&format!("/secrets/mi-test/{version}")));
        assert_eq!(text(azmi_secret_content_type(secret)), "text/plain");
        assert!(azmi_secret_enabled(secret));
        assert!(azmi_secret_created(secret) > 1_600_000_000);
        assert!(azmi_secret_updated(secret) >= azmi_secret_created(secret));
        assert_eq!(azmi_secret_expires(secret), 0);
        let tags: serde_json::Value =
            serde_json::from_str(&text(azmi_secret_tags(secret))).unwrap();
        assert_eq!(tags["purpose"], "azmi-tests");

        // The older version by its id.
        let mut older = ptr::null_mut();
        let mut versions: Vec<String> = Vec::new();
        let (status, ..) = call(|e| {
            azmi_keyvault_list_versions(
                s.vault.as_ptr(),
                c"mi-test".as_ptr(),
                ptr::null(),
                id.0,
                ptr::null(),
                Some(collect),
                (&mut versions as *mut Vec<String>).cast(),
                e,
            )
        });
        assert_eq!(status, azmi_status::AZMI_OK);
        assert_eq!(versions.len(), 2);
        let other = versions.iter().find(|v| **v != version).unwrap();
        let other = CString::new(other.as_str()).unwrap();
        let (status, ..) = call(|e| {
            azmi_keyvault_get(
                s.vault.as_ptr(),
                c"mi-test".as_ptr(),
                other.as_ptr(),
                ptr::null(),
                id.0,
                ptr::null(),
                &mut older,
                e,
            )
        });
        assert_eq!(status, azmi_status::AZMI_OK);
        assert_eq!(
            text(azmi_secret_value(older)),
            "Hello from Key Vault (version 1)"
        );
        // Freeing wipes the values; NULL is ignored.
        azmi_secret_free(older);
        azmi_secret_free(secret);
        azmi_secret_free(ptr::null_mut());
        assert_eq!(azmi_secret_value_len(ptr::null()), 0);
        assert_eq!(text(azmi_secret_value(ptr::null())), "");
    }
}

/// Collects versions (or names when there is no version) into a `Vec<String>`.
unsafe extern "C" fn collect(userdata: *mut c_void, secret: *const azmi_secret) -> bool {
    // SAFETY: userdata is the test's Vec; secret is lent for this call.
    unsafe {
        let out = &mut *userdata.cast::<Vec<String>>();
        assert_eq!(azmi_secret_value_len(secret), 0, "listings carry no values");
        let version = text(azmi_secret_version(secret));
        out.push(if version.is_empty() {
            text(azmi_secret_name(secret))
        } else {
            version
        });
        out.len() < 1000
    }
}

unsafe extern "C" fn stop_at_five(userdata: *mut c_void, _secret: *const azmi_secret) -> bool {
    // SAFETY: userdata is the test's counter.
    let n = unsafe { &mut *userdata.cast::<usize>() };
    *n += 1;
    *n < 5
}

#[test]
fn listings_call_back_for_every_secret_and_can_stop() {
    let (s, _g) = shared();
    let id = identity(&s.emu);
    let mut names: Vec<String> = Vec::new();
    // SAFETY: valid arguments; the callback gets the Vec.
    let (status, ..) = call(|e| unsafe {
        azmi_keyvault_list(
            s.vault.as_ptr(),
            ptr::null(),
            id.0,
            ptr::null(),
            Some(collect),
            (&mut names as *mut Vec<String>).cast(),
            e,
        )
    });
    assert_eq!(status, azmi_status::AZMI_OK);
    assert_eq!(names.len(), 32);
    let mut n = 0usize;
    // SAFETY: as above.
    let (status, ..) = call(|e| unsafe {
        azmi_keyvault_list(
            s.vault.as_ptr(),
            ptr::null(),
            id.0,
            ptr::null(),
            Some(stop_at_five),
            (&mut n as *mut usize).cast(),
            e,
        )
    });
    assert_eq!(status, azmi_status::AZMI_CANCELLED);
    assert_eq!(n, 5);
    // SAFETY: a NULL callback is refused.
    let (status, ..) = call(|e| unsafe {
        azmi_keyvault_list(
            s.vault.as_ptr(),
            ptr::null(),
            id.0,
            ptr::null(),
            None,
            ptr::null_mut(),
            e,
        )
    });
    assert_eq!(status, azmi_status::AZMI_INVALID_ARGUMENT);
}

#[test]
fn errors_name_the_secret_and_leave_the_output_alone() {
    let (s, _g) = shared();
    let id = identity(&s.emu);
    let sentinel = ptr::dangling_mut::<azmi_secret>();
    let mut secret = sentinel;
    let bad_utf8 = c"\xff\xfe";
    for (vault, name) in [
        (ptr::null(), c"mi-test".as_ptr()),
        (s.vault.as_ptr(), ptr::null()),
        (bad_utf8.as_ptr(), c"mi-test".as_ptr()),
        (s.vault.as_ptr(), bad_utf8.as_ptr()),
        (s.vault.as_ptr(), c"a/b".as_ptr()),
        (c"http://vault.example".as_ptr(), c"mi-test".as_ptr()),
    ] {
        // SAFETY: valid or deliberately invalid arguments the function must reject.
        let (status, _, _, m) = call(|e| unsafe {
            azmi_keyvault_get(
                vault,
                name,
                ptr::null(),
                ptr::null(),
                id.0,
                ptr::null(),
                &mut secret,
                e,
            )
        });
        assert!(
            matches!(
                status,
                azmi_status::AZMI_INVALID_ARGUMENT | azmi_status::AZMI_INSECURE_REQUEST
            ),
            "{status:?} {m}"
        );
        assert_eq!(secret, sentinel, "output untouched on failure");
    }
    // SAFETY: a NULL out-pointer is refused.
    let (status, ..) = call(|e| unsafe {
        azmi_keyvault_get(
            s.vault.as_ptr(),
            c"mi-test".as_ptr(),
            ptr::null(),
            ptr::null(),
            id.0,
            ptr::null(),
            ptr::null_mut(),
            e,
        )
    });
    assert_eq!(status, azmi_status::AZMI_INVALID_ARGUMENT);
    // SAFETY: valid arguments.
    let (status, http, code, m) = call(|e| unsafe {
        azmi_keyvault_get(
            s.vault.as_ptr(),
            c"missing-one".as_ptr(),
            ptr::null(),
            ptr::null(),
            id.0,
            ptr::null(),
            &mut secret,
            e,
        )
    });
    assert_eq!(status, azmi_status::AZMI_NOT_FOUND);
    assert_eq!((http, code.as_str()), (404, "SecretNotFound"));
    assert!(m.contains("'missing-one'"), "{m}");
    assert_eq!(secret, sentinel);
}

/// `azmi_keyvault_get` of mi-test at `api_version`: the status, HTTP status, code and message.
fn get_at(s: &Shared, id: &Identity, api_version: &CStr) -> (azmi_status, u16, String, String) {
    let mut secret = ptr::null_mut();
    // SAFETY: valid arguments; the secret is freed when there is one.
    let outcome = call(|e| unsafe {
        azmi_keyvault_get(
            s.vault.as_ptr(),
            c"mi-test".as_ptr(),
            ptr::null(),
            api_version.as_ptr(),
            id.0,
            ptr::null(),
            &mut secret,
            e,
        )
    });
    // SAFETY: NULL or a live secret from azmi_keyvault_get.
    unsafe { azmi_secret_free(secret) };
    outcome
}

/// `azmi_keyvault_list` (or `_list_versions` of mi-test) at `api_version`: the outcome and the
/// names or versions listed.
fn list_at(
    s: &Shared,
    id: &Identity,
    api_version: &CStr,
    versions: bool,
) -> ((azmi_status, u16, String, String), Vec<String>) {
    let mut items: Vec<String> = Vec::new();
    let userdata = (&mut items as *mut Vec<String>).cast();
    // SAFETY: valid arguments; the callback gets the Vec.
    let outcome = call(|e| unsafe {
        if versions {
            azmi_keyvault_list_versions(
                s.vault.as_ptr(),
                c"mi-test".as_ptr(),
                api_version.as_ptr(),
                id.0,
                ptr::null(),
                Some(collect),
                userdata,
                e,
            )
        } else {
            azmi_keyvault_list(
                s.vault.as_ptr(),
                api_version.as_ptr(),
                id.0,
                ptr::null(),
                Some(collect),
                userdata,
                e,
            )
        }
    });
    (outcome, items)
}

#[test]
fn a_malformed_api_version_is_refused_before_anything_is_sent() {
    let (s, _g) = shared();
    let id = identity(&s.emu);
    s.emu.reset();
    for bad in [c"latest", c"7.5&x=y", c"7", c"7.6-preview.", c""] {
        let (status, http, _, m) = get_at(s, &id, bad);
        assert_eq!(status, azmi_status::AZMI_INVALID_ARGUMENT, "{bad:?}: {m}");
        assert_eq!(http, 0, "{bad:?}");
        assert!(m.contains("like 7.5, 7.6-preview.1"), "{m}");
        for versions in [false, true] {
            let ((status, _, _, m), items) = list_at(s, &id, bad, versions);
            assert_eq!(status, azmi_status::AZMI_INVALID_ARGUMENT, "{bad:?}: {m}");
            assert!(items.is_empty());
        }
    }
    assert!(s.emu.service_requests().is_empty(), "nothing sent");
    assert!(s.emu.requests().is_empty(), "no token asked for");
}

#[test]
fn the_api_version_reaches_the_vault() {
    let (s, _g) = shared();
    let id = identity(&s.emu);
    // A version the vault does not know: its own 400, with its code and words.
    let (status, http, code, m) = get_at(s, &id, c"7.9");
    assert_eq!(status, azmi_status::AZMI_SERVICE_ERROR, "{m}");
    assert_eq!((http, code.as_str()), (400, "BadParameter"));
    assert!(
        m.contains("The specified version (7.9) is not recognized")
            && m.contains("latest supported version (7.5)"),
        "{m}"
    );
    for versions in [false, true] {
        let ((status, http, code, m), items) = list_at(s, &id, c"7.9", versions);
        assert_eq!(status, azmi_status::AZMI_SERVICE_ERROR, "{m}");
        assert_eq!((http, code.as_str()), (400, "BadParameter"));
        assert!(items.is_empty());
    }

    // An older version the vault knows, on every request of every call.
    s.emu.reset();
    let (status, _, _, m) = get_at(s, &id, c"7.4");
    assert_eq!(status, azmi_status::AZMI_OK, "{m}");
    let ((status, ..), names) = list_at(s, &id, c"7.4", false);
    assert_eq!(status, azmi_status::AZMI_OK);
    assert_eq!(names.len(), 32, "both pages");
    let ((status, ..), versions) = list_at(s, &id, c"7.6-preview.1", true);
    assert_eq!(status, azmi_status::AZMI_OK);
    assert_eq!(versions.len(), 2);
    let queries: Vec<String> = s
        .emu
        .service_requests()
        .into_iter()
        .map(|r| r.query)
        .collect();
    assert!(queries.len() >= 4, "{queries:?}");
    let (at_7_4, preview) = queries.split_at(queries.len() - 1);
    assert!(
        at_7_4.iter().all(|q| q.contains("api-version=7.4")),
        "{queries:?}"
    );
    assert!(
        preview[0].contains("api-version=7.6-preview.1"),
        "{queries:?}"
    );
}

#[test]
fn arm_requests_gather_every_page() {
    let (s, _g) = shared();
    let id = identity(&s.emu);
    let mut json = ptr::null_mut();
    let path = CString::new(format!("/subscriptions/{SUB}/resourcegroups")).unwrap();
    // SAFETY: valid arguments.
    let (status, ..) = call(|e| unsafe {
        azmi_arm_request(
            c"GET".as_ptr(),
            path.as_ptr(),
            c"2021-04-01".as_ptr(),
            ptr::null(),
            id.0,
            ptr::null(),
            &mut json,
            e,
        )
    });
    assert_eq!(status, azmi_status::AZMI_OK);
    // SAFETY: a live string from azmi_arm_request.
    let body: serde_json::Value = unsafe {
        let t = text(azmi_string_data(json));
        assert_eq!(t.len(), azmi_string_len(json));
        azmi_string_free(json);
        serde_json::from_str(&t).unwrap()
    };
    let groups = body["value"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    let missing = CString::new(format!("/subscriptions/{SUB}/resourcegroups/nope")).unwrap();
    let sentinel = ptr::dangling_mut::<azmi_string>();
    let mut out = sentinel;
    // SAFETY: valid arguments.
    let (status, http, code, _) = call(|e| unsafe {
        azmi_arm_request(
            c"GET".as_ptr(),
            missing.as_ptr(),
            c"2021-04-01".as_ptr(),
            ptr::null(),
            id.0,
            ptr::null(),
            &mut out,
            e,
        )
    });
    assert_eq!(status, azmi_status::AZMI_NOT_FOUND);
    assert_eq!((http, code.as_str()), (404, "ResourceGroupNotFound"));
    assert_eq!(out, sentinel);
    // SAFETY: a body that is not JSON is refused.
    let (status, ..) = call(|e| unsafe {
        azmi_arm_request(
            c"PUT".as_ptr(),
            missing.as_ptr(),
            c"2021-04-01".as_ptr(),
            c"{".as_ptr(),
            id.0,
            ptr::null(),
            &mut out,
            e,
        )
    });
    assert_eq!(status, azmi_status::AZMI_INVALID_ARGUMENT);
    // SAFETY: an endpoint that is not a URL is refused.
    let (status, ..) = call(|e| unsafe { azmi_set_arm_endpoint(c"not a url".as_ptr(), e) });
    assert_eq!(status, azmi_status::AZMI_INVALID_ARGUMENT);
}

#[test]
fn sas_requests_are_checked_then_minted() {
    let (s, _g) = shared();
    let id = identity(&s.emu);
    let sub = CString::new(SUB).unwrap();
    let account = CString::new(AZURITE_ACCOUNT).unwrap();
    let sentinel = ptr::dangling_mut::<azmi_string>();
    let mut sas = sentinel;
    s.emu.reset();
    for (body, needle) in [
        (
            r#"{"canonicalizedResource":"/blob/devstoreaccount1/c","signedResource":"c","signedPermission":"wr","signedExpiry":"2099-01-01T00:00:00Z"}"#,
            "give 'rw'",
        ),
        (
            r#"{"canonicalizedResource":"/blob/devstoreaccount1/c","signedResource":"c","signedPermission":"r","signedExpiry":"2000-01-01T00:00:00Z"}"#,
            "not in the future",
        ),
        (
            r#"{"canonicalizedResource":"/blob/devstoreaccount1/c","signedResource":"c","signedPermision":"r","signedExpiry":"2099-01-01T00:00:00Z"}"#,
            "unknown field",
        ),
        ("[1", "not valid JSON"),
    ] {
        let body = CString::new(body).unwrap();
        // SAFETY: valid arguments.
        let (status, _, _, m) = call(|e| unsafe {
            azmi_arm_list_sas(
                sub.as_ptr(),
                c"azmi-rg".as_ptr(),
                account.as_ptr(),
                body.as_ptr(),
                id.0,
                ptr::null(),
                &mut sas,
                e,
            )
        });
        assert_eq!(status, azmi_status::AZMI_INVALID_ARGUMENT, "{m}");
        assert!(m.contains(needle), "{m}");
        assert_eq!(sas, sentinel);
    }
    assert!(s.emu.service_requests().is_empty(), "nothing sent");

    let body = CString::new(r#"{"canonicalizedResource":"/blob/devstoreaccount1/uploads","signedResource":"c","signedPermission":"rcw","signedProtocol":"https","signedExpiry":"2099-01-01T00:00:00Z"}"#).unwrap();
    // SAFETY: valid arguments.
    let (status, ..) = call(|e| unsafe {
        azmi_arm_list_sas(
            sub.as_ptr(),
            c"azmi-rg".as_ptr(),
            account.as_ptr(),
            body.as_ptr(),
            id.0,
            ptr::null(),
            &mut sas,
            e,
        )
    });
    assert_eq!(status, azmi_status::AZMI_OK);
    // SAFETY: a live string.
    unsafe {
        let t = text(azmi_string_data(sas));
        assert!(t.starts_with("sv=") && t.contains("&sp=rcw") && t.contains("sig="));
        azmi_string_free(sas);
    }
    let body = CString::new(r#"{"signedServices":"b","signedResourceTypes":"sco","signedPermission":"rl","signedExpiry":"2099-01-01T00:00:00Z"}"#).unwrap();
    let mut sas = ptr::null_mut();
    // SAFETY: valid arguments.
    let (status, ..) = call(|e| unsafe {
        azmi_arm_list_account_sas(
            sub.as_ptr(),
            c"azmi-rg".as_ptr(),
            account.as_ptr(),
            body.as_ptr(),
            id.0,
            ptr::null(),
            &mut sas,
            e,
        )
    });
    assert_eq!(status, azmi_status::AZMI_OK);
    // SAFETY: a live string.
    unsafe {
        assert!(text(azmi_string_data(sas)).contains("srt=sco"));
        azmi_string_free(sas);
        azmi_string_free(ptr::null_mut());
    }
}
