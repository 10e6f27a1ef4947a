//! The soak's checks in small (bench/soak.sh runs the full one for minutes): 8 threads call
//! `azmi_get_token` and `azmi_keyvault_get` through the C ABI for a few seconds while the
//! emulator injects 429 with Retry-After, 5xx, dropped connections and slow answers, and its
//! tokens go stale in the cache every 3 seconds. No call may fail (every fault is one the retries
//! absorb; a call that ran out of its retry budget would fail) or return a wrong token or
//! secret; and the emulator must issue about one token per cache entry per window, not one per
//! waiting caller. (Latencies against the budget are the soak's figures, not asserted here:
//! tests assert no timings.)

use std::ffi::{CStr, CString};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use azmi::ffi::*;
use azmi_emulator::{Emulator, EmulatorConfig, Fault};

const RUN: Duration = Duration::from_secs(5);
/// Seconds a token stays in the cache: the emulator's lifetime minus azmi's 5-minute margin.
const WINDOW_SECS: u64 = 3;
const RESOURCES: [&str; 2] = ["https://management.azure.com/", "https://vault.azure.net"];
/// Object ids of the emulator's system- and user-assigned identities (docs/emulator.md).
const OIDS: [&str; 2] = [
    "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002",
    "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb",
];
const USER_CLIENT_ID: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
const SECRET_VALUE: &str = "Hello from Key Vault";

/// The two identities, shared read-only by every thread (the C ABI allows that).
struct Identities([*mut azmi_identity; 2]);
// SAFETY: an azmi_identity may be used from any number of threads once built.
unsafe impl Send for Identities {}
unsafe impl Sync for Identities {}

impl Drop for Identities {
    fn drop(&mut self) {
        for id in self.0 {
            // SAFETY: from azmi_identity_new, freed once.
            unsafe { azmi_identity_free(id) };
        }
    }
}

fn identities(emu: &Emulator) -> Identities {
    let url = CString::new(emu.token_url()).unwrap();
    let client = CString::new(USER_CLIENT_ID).unwrap();
    let mut out = [ptr::null_mut(); 2];
    for (i, slot) in out.iter_mut().enumerate() {
        let client_id = if i == 0 { ptr::null() } else { client.as_ptr() };
        // SAFETY: valid strings and out-pointers.
        unsafe {
            assert_eq!(
                azmi_identity_new(client_id, ptr::null(), ptr::null(), slot, ptr::null_mut()),
                azmi_status::AZMI_OK
            );
            assert_eq!(
                azmi_identity_set_endpoint(*slot, url.as_ptr(), ptr::null_mut()),
                azmi_status::AZMI_OK
            );
            // Retry budget 5 s, first backoff 100 ms.
            assert_eq!(
                azmi_identity_set_timeouts(*slot, 1000, 5000, 100, ptr::null_mut()),
                azmi_status::AZMI_OK
            );
        }
    }
    Identities(out)
}

#[derive(Default)]
struct Tally {
    calls: u64,
    errors: Vec<String>,
    wrong: Vec<String>,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The JWT's payload, decoded (the token itself is never shown).
fn jwt_payload(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// One `azmi_get_token`; `Err` is the error status and message, `Ok(Some)` a wrong token.
fn token_call(ids: &Identities, n: usize) -> Result<Option<String>, String> {
    let id = n % 2;
    let resource = RESOURCES[(n / 2) % RESOURCES.len()];
    let c_resource = CString::new(resource).unwrap();
    let mut token = ptr::null_mut();
    let mut err = ptr::null_mut();
    // SAFETY: valid arguments; the token and error are freed below.
    unsafe {
        let status = azmi_get_token(
            c_resource.as_ptr(),
            ids.0[id],
            0,
            ptr::null(),
            &mut token,
            &mut err,
        );
        if status != azmi_status::AZMI_OK {
            let message = CStr::from_ptr(azmi_error_message(err)).to_string_lossy();
            let out = format!("{status:?}: {message}");
            azmi_error_free(err);
            return Err(out);
        }
        let text = CStr::from_ptr(azmi_token_access_token(token))
            .to_str()
            .unwrap_or("");
        let got_resource = CStr::from_ptr(azmi_token_resource(token)).to_string_lossy();
        let left = azmi_token_expires_on(token) - now_secs();
        let wrong = if got_resource != resource {
            Some("a token for another resource".to_string())
        } else if left < 295 {
            Some(format!(
                "a token with {left} s left (under the 5-minute margin)"
            ))
        } else {
            match jwt_payload(text) {
                None => Some("a token that is not a JWT".into()),
                Some(p) if !p.contains(&format!("\"aud\":\"{resource}\"")) => {
                    Some("a token for another audience".into())
                }
                Some(p) if !p.contains(&format!("\"oid\":\"{}\"", OIDS[id])) => {
                    Some("a token of another identity".into())
                }
                Some(_) => None,
            }
        };
        azmi_token_free(token);
        Ok(wrong)
    }
}

/// One `azmi_keyvault_get` of `mi-test`; as [`token_call`].
fn keyvault_call(vault: &CStr, ids: &Identities, n: usize) -> Result<Option<String>, String> {
    let name = CString::new("mi-test").unwrap();
    let mut secret = ptr::null_mut();
    let mut err = ptr::null_mut();
    // SAFETY: valid arguments; the secret and error are freed below.
    unsafe {
        let status = azmi_keyvault_get(
            vault.as_ptr(),
            name.as_ptr(),
            ptr::null(),
            ptr::null(),
            ids.0[n % 2],
            ptr::null(),
            &mut secret,
            &mut err,
        );
        if status != azmi_status::AZMI_OK {
            let message = CStr::from_ptr(azmi_error_message(err)).to_string_lossy();
            let out = format!("{status:?}: {message}");
            azmi_error_free(err);
            return Err(out);
        }
        let value = std::slice::from_raw_parts(
            azmi_secret_value(secret).cast::<u8>(),
            azmi_secret_value_len(secret),
        );
        let wrong = (value != SECRET_VALUE.as_bytes()).then(|| "another secret value".to_string());
        azmi_secret_free(secret);
        Ok(wrong)
    }
}

/// Faults the retry policy absorbs, cycled through: on the token endpoint (404/408/410 left
/// out: 410 stretches the budget to 70 s) and on Key Vault (a GET: 500/502/504 are retried too).
fn imds_fault(i: usize) -> Fault {
    match i % 4 {
        0 => Fault::Status {
            status: 429,
            retry_after: Some(1),
            count: 1,
        },
        1 => Fault::Status {
            status: 503,
            retry_after: None,
            count: 1,
        },
        2 => Fault::Drop { count: 1 },
        _ => Fault::Delay { ms: 700, count: 1 },
    }
}

fn keyvault_fault(i: usize) -> Fault {
    let status = |status| Fault::Status {
        status,
        retry_after: None,
        count: 1,
    };
    match i % 6 {
        0 => Fault::Status {
            status: 429,
            retry_after: Some(1),
            count: 1,
        },
        1 => status(500),
        2 => status(503),
        3 => status(504),
        4 => Fault::Drop { count: 1 },
        _ => Fault::Delay { ms: 500, count: 1 },
    }
}

#[test]
fn eight_threads_under_faults_get_right_answers_within_budget_with_single_flight() {
    let config = EmulatorConfig {
        token_lifetime_secs: 300 + WINDOW_SECS,
        ..EmulatorConfig::default()
    };
    let emu = Arc::new(Emulator::start(config).unwrap());
    let ca = CString::new(emu.ca_file().to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(
        unsafe { azmi_set_ca_file(ca.as_ptr(), ptr::null_mut()) },
        azmi_status::AZMI_OK
    );
    let vault = Arc::new(CString::new(emu.keyvault_url()).unwrap());
    let ids = Arc::new(identities(&emu));

    // Before any fault: every entry once, so the endpoint has answered (azmi does not retry an
    // endpoint that never did) and the vault's challenge is known.
    for n in 0..4 {
        assert_eq!(token_call(&ids, n), Ok(None));
    }
    for n in 0..2 {
        assert_eq!(keyvault_call(&vault, &ids, n), Ok(None));
    }
    let before = emu.counters();
    let service_before = emu.service_counters().requests;

    let stop = Arc::new(AtomicBool::new(false));
    let chaos = {
        let (emu, stop) = (Arc::clone(&emu), Arc::clone(&stop));
        thread::spawn(move || {
            let mut i = 0;
            let mut next_imds = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                if Instant::now() >= next_imds {
                    emu.set_faults(vec![imds_fault(i)]);
                    next_imds += Duration::from_secs(WINDOW_SECS);
                }
                emu.set_service_faults(vec![keyvault_fault(i)]);
                i += 1;
                thread::sleep(Duration::from_millis(200));
            }
            emu.set_faults(vec![]);
            emu.set_service_faults(vec![]);
            i
        })
    };
    let start = Instant::now();
    let workers: Vec<_> = (0..8)
        .map(|t| {
            let (ids, vault, stop) = (Arc::clone(&ids), Arc::clone(&vault), Arc::clone(&stop));
            thread::spawn(move || {
                let mut tally = Tally::default();
                let mut n = t;
                while !stop.load(Ordering::Relaxed) {
                    let result = if t % 2 == 0 {
                        token_call(&ids, n)
                    } else {
                        keyvault_call(&vault, &ids, n)
                    };
                    tally.calls += 1;
                    match result {
                        Ok(None) => {}
                        Ok(Some(wrong)) => tally.wrong.push(wrong),
                        Err(e) => tally.errors.push(e),
                    }
                    n += 1;
                    thread::sleep(Duration::from_millis(if t % 2 == 0 { 1 } else { 5 }));
                }
                tally
            })
        })
        .collect();
    thread::sleep(RUN);
    stop.store(true, Ordering::Relaxed);
    let tallies: Vec<Tally> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let elapsed = start.elapsed();
    chaos.join().unwrap();
    let after = emu.counters();

    let calls: u64 = tallies.iter().map(|t| t.calls).sum();
    let errors: Vec<&String> = tallies.iter().flat_map(|t| &t.errors).collect();
    let wrong: Vec<&String> = tallies.iter().flat_map(|t| &t.wrong).collect();
    let issued = after.tokens_issued - before.tokens_issued;
    let requests = after.token_requests - before.token_requests;
    let service_requests = emu.service_counters().requests - service_before;
    assert!(
        errors.is_empty(),
        "{} errors, e.g. {:?}",
        errors.len(),
        errors[0]
    );
    assert!(
        wrong.is_empty(),
        "{} wrong results, e.g. {}",
        wrong.len(),
        wrong[0]
    );
    // Threads 0, 2, 4, 6 call for tokens, the others Key Vault.
    let keyvault_calls: u64 = tallies.iter().skip(1).step_by(2).map(|t| t.calls).sum();
    assert!(
        keyvault_calls > 0 && calls > keyvault_calls,
        "{calls} calls"
    );
    // 4 cache entries (2 identities × 2 resources). A window lasts at least WINDOW_SECS - 1
    // seconds (whole-second expiry), so each entry needs at most elapsed / 2 + 2 tokens; without
    // single-flight every caller waiting on a stale entry would fetch its own.
    let allowed = 4 * (elapsed.as_secs() / (WINDOW_SECS - 1) + 2);
    assert!(
        (4..=allowed).contains(&issued),
        "{issued} tokens issued, expected 4..={allowed}"
    );
    assert!(
        requests > issued,
        "the token endpoint's faults were met ({requests} requests, {issued} tokens)"
    );
    assert!(
        service_requests > keyvault_calls,
        "Key Vault's faults were met ({service_requests} requests for {keyvault_calls} calls)"
    );
}
