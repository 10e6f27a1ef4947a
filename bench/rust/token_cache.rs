//! `azmi_get_token` with a warm cache through the C ABI (what C, .NET and PowerShell call),
//! on one thread and on several at once. Run: `cargo bench --bench token_cache`.

use std::ffi::CString;
use std::ptr;
use std::time::{Duration, Instant};

use azmi::ffi::*;
use azmi_emulator::{Emulator, EmulatorConfig};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

struct Shared(*const azmi_identity);
// SAFETY: identities are immutable once built and safe to share (the ABI's contract).
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

fn one_call(resource: &CString, id: *const azmi_identity) {
    let mut token = ptr::null_mut();
    // SAFETY: valid arguments; the token is freed once.
    unsafe {
        let status = azmi_get_token(
            resource.as_ptr(),
            id,
            0,
            ptr::null(),
            &mut token,
            ptr::null_mut(),
        );
        assert_eq!(status, azmi_status::AZMI_OK);
        azmi_token_free(token);
    }
}

fn warm_cache(c: &mut Criterion) {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let url = CString::new(emu.token_url()).unwrap();
    let resource = CString::new("https://management.azure.com/").unwrap();
    let mut id = ptr::null_mut();
    // SAFETY: valid arguments.
    unsafe {
        azmi_identity_new(
            ptr::null(),
            ptr::null(),
            ptr::null(),
            &mut id,
            ptr::null_mut(),
        );
        azmi_identity_set_endpoint(id, url.as_ptr(), ptr::null_mut());
    }
    one_call(&resource, id);

    let mut group = c.benchmark_group("azmi_get_token warm cache");
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    group.bench_function("1 thread", |b| b.iter(|| one_call(&resource, id)));
    for threads in [2usize, 4] {
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_function(format!("{threads} threads"), |b| {
            b.iter_custom(|iters| {
                let shared = Shared(id);
                let shared = &shared;
                let resource = &resource;
                let started = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        s.spawn(move || {
                            for _ in 0..iters {
                                one_call(resource, shared.0);
                            }
                        });
                    }
                });
                started.elapsed()
            })
        });
    }
    group.finish();
    // SAFETY: created above, freed once.
    unsafe { azmi_identity_free(id) };
}

criterion_group!(benches, warm_cache);
criterion_main!(benches);
