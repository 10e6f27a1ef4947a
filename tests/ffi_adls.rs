//! The Data Lake part of the C ABI seen from Rust: outputs only on success, argument checks,
//! callbacks on the calling thread, stopping a listing, cancellation from another thread.
//!
//! The process-wide engine trusts one extra CA, so every test here shares one emulator and
//! runs one at a time.

use std::ffi::{c_void, CStr, CString};
use std::ptr;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use azmi::ffi::*;
use azmi_emulator::{Emulator, EmulatorConfig, Fault};

struct Shared {
    emu: Emulator,
}

fn shared() -> (&'static Shared, MutexGuard<'static, ()>) {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    static SERIAL: Mutex<()> = Mutex::new(());
    let guard = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let s = SHARED.get_or_init(|| {
        let emu = Emulator::start(EmulatorConfig::default()).unwrap();
        let ca = CString::new(emu.ca_file().to_str().unwrap()).unwrap();
        // SAFETY: valid NUL-terminated path.
        let status = unsafe { azmi_set_ca_file(ca.as_ptr(), ptr::null_mut()) };
        assert_eq!(status, azmi_status::AZMI_OK);
        Shared { emu }
    });
    s.emu.set_service_faults(vec![]);
    (s, guard)
}

fn identity(emu: &Emulator) -> *mut azmi_identity {
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
    id
}

/// Opens both protocols on the shared emulator.
fn accounts(s: &Shared) -> Vec<*mut azmi_adls> {
    let id = identity(&s.emu);
    let base = s.emu.https_base_url();
    let mut out = Vec::new();
    for (account, protocol) in [
        (base.clone(), AZMI_ADLS_WEBHDFS),
        (format!("{base}/fs"), AZMI_ADLS_DFS),
    ] {
        let account = CString::new(account).unwrap();
        let mut adls = ptr::null_mut();
        // SAFETY: valid arguments.
        let status =
            unsafe { azmi_adls_new(account.as_ptr(), protocol, id, &mut adls, ptr::null_mut()) };
        assert_eq!(status, azmi_status::AZMI_OK);
        out.push(adls);
    }
    // SAFETY: the accounts hold their own reference to the identity.
    unsafe { azmi_identity_free(id) };
    out
}

fn free_all(accounts: Vec<*mut azmi_adls>) {
    for a in accounts {
        // SAFETY: from azmi_adls_new, freed once.
        unsafe { azmi_adls_free(a) };
    }
}

fn message(err: *const azmi_error) -> String {
    // SAFETY: a live error.
    unsafe { CStr::from_ptr(azmi_error_message(err)) }
        .to_string_lossy()
        .into_owned()
}

/// Runs `f` with an error slot and returns the status and message (the error is freed).
fn call(f: impl FnOnce(*mut *mut azmi_error) -> azmi_status) -> (azmi_status, String) {
    let mut err = ptr::null_mut();
    let status = f(&mut err);
    if status == azmi_status::AZMI_OK {
        assert!(err.is_null(), "no error object on success");
        return (status, String::new());
    }
    assert!(!err.is_null(), "an error object on failure");
    let m = message(err);
    // SAFETY: from this library.
    unsafe {
        assert_eq!(azmi_error_status(err), status);
        azmi_error_free(err);
    }
    (status, m)
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

#[test]
fn new_checks_its_arguments_and_writes_the_output_only_on_success() {
    let (s, _g) = shared();
    let sentinel = ptr::dangling_mut::<azmi_adls>();
    let mut adls = sentinel;
    let bad_utf8 = c"\xff\xfe";
    for (account, protocol) in [
        (ptr::null(), AZMI_ADLS_AUTO),
        (bad_utf8.as_ptr(), AZMI_ADLS_AUTO),
        (c"https://127.0.0.1:1".as_ptr(), AZMI_ADLS_AUTO),
        (c"contoso".as_ptr(), 7),
        (c"".as_ptr(), AZMI_ADLS_AUTO),
    ] {
        // SAFETY: valid or deliberately invalid arguments the function must reject.
        let (status, m) =
            call(|e| unsafe { azmi_adls_new(account, protocol, ptr::null(), &mut adls, e) });
        assert_eq!(status, azmi_status::AZMI_INVALID_ARGUMENT, "{m}");
        assert_eq!(adls, sentinel, "output untouched on failure");
    }
    // SAFETY: as above.
    let (status, _) = call(|e| unsafe {
        azmi_adls_new(
            c"http://contoso.example/webhdfs/v1".as_ptr(),
            AZMI_ADLS_AUTO,
            ptr::null(),
            &mut adls,
            e,
        )
    });
    assert_eq!(status, azmi_status::AZMI_INSECURE_REQUEST);
    assert_eq!(adls, sentinel);
    // SAFETY: NULL out-pointer must be rejected.
    let (status, _) =
        call(|e| unsafe { azmi_adls_new(c"contoso".as_ptr(), 0, ptr::null(), ptr::null_mut(), e) });
    assert_eq!(status, azmi_status::AZMI_INVALID_ARGUMENT);

    // SAFETY: valid arguments; the object is freed once.
    unsafe {
        let (status, _) =
            call(|e| azmi_adls_new(c"Contoso".as_ptr(), 0, ptr::null(), &mut adls, e));
        assert_eq!(status, azmi_status::AZMI_OK);
        assert_eq!(
            CStr::from_ptr(azmi_adls_base_url(adls)),
            c"https://contoso.azuredatalakestore.net/webhdfs/v1"
        );
        assert_eq!(azmi_adls_protocol(adls), AZMI_ADLS_WEBHDFS);
        let (status, _) = call(|e| azmi_adls_set_chunk_size(adls, 100, e));
        assert_eq!(status, azmi_status::AZMI_INVALID_ARGUMENT);
        let (status, _) = call(|e| azmi_adls_set_chunk_size(adls, 1 << 20, e));
        assert_eq!(status, azmi_status::AZMI_OK);
        let (status, _) = call(|e| azmi_adls_set_chunk_size(adls, 0, e));
        assert_eq!(status, azmi_status::AZMI_OK);
        azmi_adls_free(adls);
        assert_eq!(azmi_adls_protocol(ptr::null()), 0);
        assert_eq!(CStr::from_ptr(azmi_adls_base_url(ptr::null())), c"");
        azmi_adls_free(ptr::null_mut());
    }
    let _ = s;
}

#[test]
fn string_arguments_must_be_utf8_and_present() {
    let (s, _g) = shared();
    let accounts = accounts(s);
    let bad = c"/bad\xff".as_ptr();
    for &a in &accounts {
        let before = s.emu.service_counters().requests;
        // SAFETY: deliberately invalid strings; everything else valid.
        unsafe {
            for p in [ptr::null(), bad] {
                let mut item = ptr::dangling_mut::<azmi_adls_item>();
                let (st, m) = call(|e| azmi_adls_stat(a, p, ptr::null(), &mut item, e));
                assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT, "{m}");
                assert_eq!(item, ptr::dangling_mut::<azmi_adls_item>());
                let (st, _) = call(|e| azmi_adls_mkdir(a, p, ptr::null(), e));
                assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT);
                let (st, _) = call(|e| azmi_adls_create(a, p, ptr::null(), 0, 0, ptr::null(), e));
                assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT);
                let (st, _) = call(|e| azmi_adls_move(a, p, c"/x".as_ptr(), ptr::null(), e));
                assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT);
                let (st, _) = call(|e| azmi_adls_move(a, c"/x".as_ptr(), p, ptr::null(), e));
                assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT);
                let (st, _) = call(|e| {
                    azmi_adls_upload(
                        a,
                        p,
                        c"/x".as_ptr(),
                        0,
                        ptr::null(),
                        None,
                        ptr::null_mut(),
                        e,
                    )
                });
                assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT);
                let (st, _) = call(|e| {
                    azmi_adls_download(
                        a,
                        c"/x".as_ptr(),
                        p,
                        0,
                        ptr::null(),
                        None,
                        ptr::null_mut(),
                        e,
                    )
                });
                assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT);
            }
            // NULL data with a length, unknown flags, bad lengths, NULL callback, NULL object.
            let (st, m) =
                call(|e| azmi_adls_create(a, c"/x".as_ptr(), ptr::null(), 5, 0, ptr::null(), e));
            assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT, "{m}");
            let (st, _) =
                call(|e| azmi_adls_create(a, c"/x".as_ptr(), ptr::null(), 0, 8, ptr::null(), e));
            assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT);
            let (st, _) = call(|e| azmi_adls_remove(a, c"/x".as_ptr(), 1, ptr::null(), e));
            assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT);
            let mut bytes = ptr::dangling_mut::<azmi_bytes>();
            let (st, _) =
                call(|e| azmi_adls_read(a, c"/x".as_ptr(), 0, -2, ptr::null(), &mut bytes, e));
            assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT);
            assert_eq!(bytes, ptr::dangling_mut::<azmi_bytes>());
            let (st, _) = call(|e| {
                azmi_adls_list(a, c"/".as_ptr(), 0, ptr::null(), None, ptr::null_mut(), e)
            });
            assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT);
            let (st, _) = call(|e| azmi_adls_mkdir(ptr::null(), c"/x".as_ptr(), ptr::null(), e));
            assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT);
            let (st, _) = call(|e| azmi_adls_mkdir(a, c"/a/../b".as_ptr(), ptr::null(), e));
            assert_eq!(st, azmi_status::AZMI_INVALID_ARGUMENT);
        }
        assert_eq!(
            s.emu.service_counters().requests,
            before,
            "nothing was sent"
        );
    }
    free_all(accounts);
}

struct Listing {
    names: Vec<String>,
    threads: Vec<std::thread::ThreadId>,
    stop_after: usize,
    nested_status: Option<azmi_status>,
}

unsafe extern "C" fn on_item(userdata: *mut c_void, item: *const azmi_adls_item) -> bool {
    // SAFETY: userdata is the &mut Listing passed by the test; item is lent for this call.
    let (l, name) = unsafe {
        (
            &mut *userdata.cast::<Listing>(),
            CStr::from_ptr(azmi_adls_item_name(item))
                .to_string_lossy()
                .into_owned(),
        )
    };
    l.names.push(name);
    l.threads.push(std::thread::current().id());
    if l.nested_status.is_none() {
        let mut token = ptr::null_mut();
        // SAFETY: valid arguments; azmi must refuse to block here.
        let status = unsafe {
            azmi_get_token(
                c"https://storage.azure.com/".as_ptr(),
                ptr::null(),
                0,
                ptr::null(),
                &mut token,
                ptr::null_mut(),
            )
        };
        assert!(token.is_null());
        l.nested_status = Some(status);
    }
    l.names.len() < l.stop_after
}

#[test]
fn items_reach_the_callback_on_the_calling_thread_and_false_stops_the_listing() {
    let (s, _g) = shared();
    let accounts = accounts(s);
    for &a in &accounts {
        // SAFETY: valid arguments; the listing state outlives the call.
        unsafe {
            for i in 0..5 {
                let path = c(&format!("/cb/f{i}.txt"));
                let (st, m) = call(|e| {
                    azmi_adls_create(
                        a,
                        path.as_ptr(),
                        b"abc".as_ptr(),
                        3,
                        AZMI_ADLS_OVERWRITE,
                        ptr::null(),
                        e,
                    )
                });
                assert_eq!(st, azmi_status::AZMI_OK, "{m}");
            }
            let mut l = Listing {
                names: Vec::new(),
                threads: Vec::new(),
                stop_after: usize::MAX,
                nested_status: None,
            };
            let (st, m) = call(|e| {
                azmi_adls_list(
                    a,
                    c"/cb".as_ptr(),
                    0,
                    ptr::null(),
                    Some(on_item),
                    (&mut l as *mut Listing).cast(),
                    e,
                )
            });
            assert_eq!(st, azmi_status::AZMI_OK, "{m}");
            assert_eq!(l.names, ["f0.txt", "f1.txt", "f2.txt", "f3.txt", "f4.txt"]);
            let me = std::thread::current().id();
            assert!(
                l.threads.iter().all(|t| *t == me),
                "callbacks on the calling thread"
            );
            assert_eq!(l.nested_status, Some(azmi_status::AZMI_RUNTIME_ERROR));

            l.names.clear();
            l.stop_after = 2;
            let (st, _) = call(|e| {
                azmi_adls_list(
                    a,
                    c"/cb".as_ptr(),
                    0,
                    ptr::null(),
                    Some(on_item),
                    (&mut l as *mut Listing).cast(),
                    e,
                )
            });
            assert_eq!(st, azmi_status::AZMI_CANCELLED);
            assert_eq!(l.names.len(), 2);

            let (st, _) =
                call(|e| azmi_adls_remove(a, c"/cb".as_ptr(), AZMI_ADLS_RECURSIVE, ptr::null(), e));
            assert_eq!(st, azmi_status::AZMI_OK);
        }
    }
    free_all(accounts);
}

#[test]
fn stat_and_read_write_outputs_only_on_success() {
    let (s, _g) = shared();
    let accounts = accounts(s);
    for &a in &accounts {
        // SAFETY: valid arguments; outputs freed once.
        unsafe {
            let mut item = ptr::dangling_mut::<azmi_adls_item>();
            let mut err = ptr::null_mut();
            let st = azmi_adls_stat(a, c"/missing".as_ptr(), ptr::null(), &mut item, &mut err);
            assert_eq!(st, azmi_status::AZMI_NOT_FOUND);
            assert_eq!(item, ptr::dangling_mut::<azmi_adls_item>());
            assert_eq!(azmi_error_http_status(err), 404);
            assert!(!azmi_error_service_code(err).is_null());
            assert!(message(err).contains("'/missing'"));
            azmi_error_free(err);
            let mut bytes = ptr::dangling_mut::<azmi_bytes>();
            let (st, _) = call(|e| {
                azmi_adls_read(a, c"/missing".as_ptr(), 0, -1, ptr::null(), &mut bytes, e)
            });
            assert_eq!(st, azmi_status::AZMI_NOT_FOUND);
            assert_eq!(bytes, ptr::dangling_mut::<azmi_bytes>());

            let (st, _) = call(|e| {
                azmi_adls_create(
                    a,
                    c"/o.txt".as_ptr(),
                    b"hello".as_ptr(),
                    5,
                    AZMI_ADLS_OVERWRITE,
                    ptr::null(),
                    e,
                )
            });
            assert_eq!(st, azmi_status::AZMI_OK);
            let (st, m) = call(|e| {
                azmi_adls_create(
                    a,
                    c"/o.txt".as_ptr(),
                    b"other".as_ptr(),
                    5,
                    0,
                    ptr::null(),
                    e,
                )
            });
            assert_eq!(st, azmi_status::AZMI_CONFLICT, "{m}");
            let (st, _) =
                call(|e| azmi_adls_append(a, c"/o.txt".as_ptr(), b"!".as_ptr(), 1, ptr::null(), e));
            assert_eq!(st, azmi_status::AZMI_OK);
            let (st, _) =
                call(|e| azmi_adls_stat(a, c"/o.txt".as_ptr(), ptr::null(), &mut item, e));
            assert_eq!(st, azmi_status::AZMI_OK);
            assert_eq!(CStr::from_ptr(azmi_adls_item_name(item)), c"o.txt");
            assert_eq!(CStr::from_ptr(azmi_adls_item_path(item)), c"/o.txt");
            assert_eq!(azmi_adls_item_length(item), 6);
            assert!(!azmi_adls_item_is_directory(item));
            assert!(azmi_adls_item_modified(item) > 1_600_000_000_000);
            assert!(!CStr::from_ptr(azmi_adls_item_permission(item)).is_empty());
            assert!(!CStr::from_ptr(azmi_adls_item_owner(item)).is_empty());
            assert!(!CStr::from_ptr(azmi_adls_item_group(item)).is_empty());
            azmi_adls_item_free(item);
            assert_eq!(CStr::from_ptr(azmi_adls_item_name(ptr::null())), c"");
            assert_eq!(azmi_adls_item_length(ptr::null()), 0);

            let (st, _) =
                call(|e| azmi_adls_read(a, c"/o.txt".as_ptr(), 1, 4, ptr::null(), &mut bytes, e));
            assert_eq!(st, azmi_status::AZMI_OK);
            let got = std::slice::from_raw_parts(azmi_bytes_data(bytes), azmi_bytes_len(bytes));
            assert_eq!(got, b"ello");
            azmi_bytes_free(bytes);
            let (st, _) =
                call(|e| azmi_adls_read(a, c"/o.txt".as_ptr(), 6, -1, ptr::null(), &mut bytes, e));
            assert_eq!(st, azmi_status::AZMI_OK);
            assert_eq!(azmi_bytes_len(bytes), 0);
            assert!(!azmi_bytes_data(bytes).is_null());
            azmi_bytes_free(bytes);
            assert!(azmi_bytes_data(ptr::null()).is_null());
            azmi_bytes_free(ptr::null_mut());
            let (st, _) = call(|e| azmi_adls_remove(a, c"/o.txt".as_ptr(), 0, ptr::null(), e));
            assert_eq!(st, azmi_status::AZMI_OK);
        }
    }
    free_all(accounts);
}

struct Progress {
    reports: Vec<(u64, i64)>,
    threads: Vec<std::thread::ThreadId>,
}

unsafe extern "C" fn on_progress(userdata: *mut c_void, done: u64, total: i64) {
    // SAFETY: userdata is the &mut Progress passed by the test.
    let p = unsafe { &mut *userdata.cast::<Progress>() };
    p.reports.push((done, total));
    p.threads.push(std::thread::current().id());
}

#[test]
fn upload_and_download_report_progress_on_the_calling_thread() {
    let (s, _g) = shared();
    let accounts = accounts(s);
    let dir = std::env::temp_dir().join(format!("azmi-ffi-adls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let local = dir.join("up.bin");
    let data: Vec<u8> = (0..(5 * 1024 * 1024 + 7))
        .map(|i| (i % 251) as u8)
        .collect();
    std::fs::write(&local, &data).unwrap();
    let local_c = c(local.to_str().unwrap());
    let down_c = c(dir.join("down.bin").to_str().unwrap());
    for &a in &accounts {
        // SAFETY: valid arguments; the progress state outlives the calls.
        unsafe {
            let (st, _) = call(|e| azmi_adls_set_chunk_size(a, 1 << 20, e));
            assert_eq!(st, azmi_status::AZMI_OK);
            let mut p = Progress {
                reports: Vec::new(),
                threads: Vec::new(),
            };
            let (st, m) = call(|e| {
                azmi_adls_upload(
                    a,
                    local_c.as_ptr(),
                    c"/up.bin".as_ptr(),
                    AZMI_ADLS_OVERWRITE,
                    ptr::null(),
                    Some(on_progress),
                    (&mut p as *mut Progress).cast(),
                    e,
                )
            });
            assert_eq!(st, azmi_status::AZMI_OK, "{m}");
            let total = data.len() as i64;
            assert_eq!(p.reports.first(), Some(&(0, total)));
            assert_eq!(p.reports.last(), Some(&(total as u64, total)));
            let me = std::thread::current().id();
            assert!(p.threads.iter().all(|t| *t == me));

            p.reports.clear();
            p.threads.clear();
            let (st, m) = call(|e| {
                azmi_adls_download(
                    a,
                    c"/up.bin".as_ptr(),
                    down_c.as_ptr(),
                    AZMI_ADLS_OVERWRITE,
                    ptr::null(),
                    Some(on_progress),
                    (&mut p as *mut Progress).cast(),
                    e,
                )
            });
            assert_eq!(st, azmi_status::AZMI_OK, "{m}");
            assert_eq!(p.reports.last(), Some(&(total as u64, total)));
            assert!(p.threads.iter().all(|t| *t == me));
            assert!(std::fs::read(dir.join("down.bin")).unwrap() == data);
            // Without the flag the existing file is refused.
            let (st, _) = call(|e| {
                azmi_adls_download(
                    a,
                    c"/up.bin".as_ptr(),
                    down_c.as_ptr(),
                    0,
                    ptr::null(),
                    None,
                    ptr::null_mut(),
                    e,
                )
            });
            assert_eq!(st, azmi_status::AZMI_CONFLICT);
            let (st, _) = call(|e| azmi_adls_remove(a, c"/up.bin".as_ptr(), 0, ptr::null(), e));
            assert_eq!(st, azmi_status::AZMI_OK);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    free_all(accounts);
}

struct SendPtr<T>(*const T);
// SAFETY: azmi_cancel may be used from any thread (the ABI's contract).
unsafe impl<T> Send for SendPtr<T> {}

#[test]
fn cancel_from_another_thread_ends_a_call_at_once() {
    let (s, _g) = shared();
    let accounts = accounts(s);
    for &a in &accounts {
        // SAFETY: valid arguments; objects freed once after the calls returned.
        unsafe {
            // Warm the token cache so the delay hits the service request.
            let (st, _) = call(|e| azmi_adls_mkdir(a, c"/c".as_ptr(), ptr::null(), e));
            assert_eq!(st, azmi_status::AZMI_OK);
            s.emu.set_service_faults(vec![Fault::Delay {
                ms: 20_000,
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
            let mut item = ptr::null_mut();
            let (st, m) = call(|e| azmi_adls_stat(a, c"/c".as_ptr(), cancel, &mut item, e));
            assert_eq!(st, azmi_status::AZMI_CANCELLED, "{m}");
            assert!(started.elapsed() < Duration::from_secs(3));
            assert!(item.is_null());
            canceller.join().unwrap();
            azmi_cancel_free(cancel);
            s.emu.set_service_faults(vec![]);
            let (st, _) = call(|e| azmi_adls_remove(a, c"/c".as_ptr(), 0, ptr::null(), e));
            assert_eq!(st, azmi_status::AZMI_OK);
        }
    }
    free_all(accounts);
}
