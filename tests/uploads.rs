//! Blob and Data Lake Gen2 uploads as users rely on them (issue 19), against the fake endpoint
//! of tests/fake_storage, whose answers each test scripts (Data Lake with a token from
//! azmi-emulator's IMDS).
//!
//! - Up to the single-request size a file goes as one Put Blob streamed from disk: the bytes the
//!   file holds, in one request with its length, sent again whole after a lost connection, and
//!   checked against the MD5 the service answers (a mismatch deletes the blob and fails). A file
//!   that shrinks while it is sent is a local I/O error, not retried.
//! - Larger files go in blocks, several in flight at once: each block sent once with its MD5,
//!   the block list (in order, with the whole file's MD5) only after every block has succeeded;
//!   a failing block ends the upload with nothing committed and says how far it got; progress
//!   never goes back or past the total; cancelling through the C ABI returns promptly and
//!   commits nothing.
//! - Gen2 the same way: one streamed append then one flush; larger, appends at their positions
//!   several at once, and the flush only after every append has succeeded.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azmi::blob::UPLOAD_CONCURRENCY;
use azmi::ffi::*;
use azmi::{AdlsProtocol, ErrorCode};
use azmi_emulator::{Emulator, EmulatorConfig};

mod fake_http;
mod fake_storage;
use fake_http::Seen;
use fake_storage::*;

/// A file that needs the streamed Put Blob: over the 8 MiB sent from memory, under 256 MiB.
const STREAMED: usize = 9 * MIB + 123;
/// Blocks of the block tests (set with `with_block_size`, which makes it the largest Put Blob
/// too).
const BLOCK: usize = 64 * KIB;

fn is_delete(seen: &Seen) -> bool {
    seen.method == "DELETE"
}

// ---------------------------------------------------------------------------------------------
// One streamed Put Blob

#[tokio::test(flavor = "multi_thread")]
async fn a_file_up_to_the_single_request_size_goes_as_one_streamed_put_blob() {
    let fake = Fake::start(
        &tokio::runtime::Handle::current(),
        serve_upload(|_, _| Reply::error(400, "NoBlocksExpected")),
    );
    let data = pattern(STREAMED, 0);
    let (_dir, local) = folder_with("up.bin", &data);
    let mut reports = Vec::new();

    let n = client(&fake)
        .upload(&local, CONTAINER, BLOB, true, |d, t| reports.push((d, t)))
        .await
        .unwrap();

    assert_eq!(n, data.len() as u64);
    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "one request");
    let put = &requests[0];
    assert!(put.is_put_blob());
    assert_eq!(put.header("x-ms-blob-type"), Some("BlockBlob"));
    assert_eq!(
        put.header("content-length"),
        Some(data.len().to_string().as_str())
    );
    assert_eq!(
        put.header("transfer-encoding"),
        None,
        "Azure takes no chunked uploads"
    );
    assert!(put.body == data, "the blob holds other bytes than the file");
    assert_progress(&reports, n, true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_put_blob_cut_by_a_lost_connection_is_sent_again_whole() {
    let fake = Fake::start(&tokio::runtime::Handle::current(), |seen, earlier| {
        if earlier.is_empty() {
            Reply::hang_up()
        } else {
            stored(seen)
        }
    });
    let data = pattern(STREAMED, 1);
    let (_dir, local) = folder_with("up.bin", &data);

    // A patient budget: the quick one is spent before the retry when the first attempt is slow.
    client(&fake)
        .with_retry(patient())
        .upload(&local, CONTAINER, BLOB, true, |_, _| {})
        .await
        .unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "the request is sent again");
    assert!(requests.iter().all(|r| r.is_put_blob() && r.body == data));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_put_blob_whose_md5_the_service_disputes_is_deleted_and_reported() {
    let fake = Fake::start(&tokio::runtime::Handle::current(), |seen, _| {
        if seen.is_put_blob() {
            let other = md5_of(b"other bytes");
            Reply::new(
                201,
                &[("Content-MD5", &other), ("ETag", "\"0x8DBAD\"")],
                Vec::new(),
            )
        } else if is_delete(seen) {
            Reply::new(202, &[], Vec::new())
        } else {
            Reply::error(400, "UnsupportedHttpVerb")
        }
    });
    let data = pattern(STREAMED, 2);
    let (_dir, local) = folder_with("up.bin", &data);
    let mut reports = Vec::new();

    let e = client(&fake)
        .upload(&local, CONTAINER, BLOB, true, |d, t| reports.push((d, t)))
        .await
        .unwrap_err();

    assert_eq!(e.code(), ErrorCode::ProtocolError, "{e}");
    let m = e.to_string();
    assert!(
        m.contains("MD5") && m.contains("the blob was deleted"),
        "{m}"
    );
    assert!(
        m.contains("stopped after 0 of"),
        "says nothing was kept: {m}"
    );
    assert!(!m.contains(SIGNATURE), "{m}");
    let deletes: Vec<Seen> = fake.requests().into_iter().filter(is_delete).collect();
    assert_eq!(deletes.len(), 1, "the damaged blob is deleted");
    assert_eq!(
        deletes[0].header("if-match"),
        Some("\"0x8DBAD\""),
        "only the version this upload wrote"
    );
    assert_progress(&reports, data.len() as u64, false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_shrinks_while_it_is_streamed_is_a_local_error_and_not_retried() {
    let fake = Fake::start(&tokio::runtime::Handle::current(), |seen, _| stored(seen));
    let data = pattern(STREAMED, 3);
    let (_dir, local) = folder_with("up.bin", &data);

    // Cut the file to half after the upload measured it, before its data is read.
    let e = client(&fake)
        .with_retry(patient())
        .upload(&local, CONTAINER, BLOB, true, |done, _| {
            if done == 0 {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&local)
                    .unwrap();
                file.set_len(data.len() as u64 / 2).unwrap();
            }
        })
        .await
        .unwrap_err();

    assert_eq!(e.code(), ErrorCode::IoError, "{e}");
    assert!(e.to_string().contains("became shorter"), "{e}");
    assert_eq!(fake.count(Seen::is_put_blob), 0, "no request was completed");
    assert_eq!(
        fake.connections.load(Ordering::SeqCst),
        1,
        "and none retried, though the budget allowed it"
    );
}

// ---------------------------------------------------------------------------------------------
// Blocks, several in flight

/// When each request arrived, by kind.
#[derive(Default)]
struct Arrivals(Mutex<Vec<(Instant, Option<usize>, bool)>>);

impl Arrivals {
    /// Records a Put Block (its number) or a Put Block List.
    fn record(&self, seen: &Seen) {
        let at = Instant::now();
        self.0
            .lock()
            .unwrap()
            .push((at, seen.block_index(), seen.is_block_list()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn blocks_go_several_at_once_each_once_and_the_list_only_after_all_succeeded() {
    // Every block is answered after a pause: blocks in flight at once show as a block that
    // arrives before the answer to an earlier one.
    let pause = Duration::from_millis(200);
    let arrivals = Arc::new(Arrivals::default());
    let seen_by_script = Arc::clone(&arrivals);
    let fake = Fake::start(&tokio::runtime::Handle::current(), move |seen, _| {
        seen_by_script.record(seen);
        if seen.is_put_block() {
            Reply::created().after(pause)
        } else if seen.is_block_list() {
            Reply::created()
        } else {
            Reply::error(400, "UnsupportedHttpVerb")
        }
    });
    let data = pattern(9 * BLOCK + 77, 4);
    let total = data.len() as u64;
    let (_dir, local) = folder_with("up.bin", &data);
    let mut reports = Vec::new();

    let blob = client(&fake).with_block_size(BLOCK).unwrap();
    assert_eq!(blob.concurrency(), UPLOAD_CONCURRENCY);
    let n = blob
        .upload(&local, CONTAINER, BLOB, true, |d, t| reports.push((d, t)))
        .await
        .unwrap();

    assert_eq!(n, total);
    let requests = fake.requests();
    let blocks: Vec<&Seen> = requests.iter().filter(|s| s.is_put_block()).collect();
    assert_eq!(blocks.len(), 10, "each block is sent once");
    for index in 0..10 {
        let block = blocks
            .iter()
            .find(|b| b.block_index() == Some(index))
            .unwrap_or_else(|| panic!("block {index} was not sent"));
        let start = index * BLOCK;
        let expected = &data[start..(start + BLOCK).min(data.len())];
        assert!(block.body == expected, "block {index} holds other bytes");
        assert_eq!(block.header("content-md5"), Some(md5_of(expected).as_str()));
    }
    assert_eq!(fake.count(Seen::is_block_list), 1);
    assert!(committed(&requests) == data, "the committed blob differs");
    let list = requests.iter().find(|s| s.is_block_list()).unwrap();
    assert_eq!(
        list.header("x-ms-blob-content-md5"),
        Some(md5_of(&data).as_str())
    );

    let arrivals = arrivals.0.lock().unwrap();
    let block_times: Vec<Instant> = arrivals
        .iter()
        .filter(|a| a.1.is_some())
        .map(|a| a.0)
        .collect();
    let list_at = arrivals.iter().find(|a| a.2).unwrap().0;
    assert!(
        block_times.iter().all(|&t| list_at >= t + pause),
        "the block list was sent before every block had been answered"
    );
    let overlapping = block_times.windows(2).any(|w| w[1] < w[0] + pause);
    assert!(overlapping, "no two blocks were in flight at once");

    assert_progress(&reports, n, true);
    let steps: Vec<u64> = reports.windows(2).map(|w| w[1].0 - w[0].0).collect();
    assert!(
        steps.iter().all(|&s| s == BLOCK as u64 || s == 77),
        "progress moves by whole blocks as they are answered: {reports:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_block_upload_survives_a_lost_connection_and_commits_the_file_exactly() {
    let fake = Fake::start(
        &tokio::runtime::Handle::current(),
        serve_upload(|index, attempts| {
            if index == 1 && attempts == 0 {
                Reply::hang_up()
            } else {
                Reply::created()
            }
        }),
    );
    let data = pattern(200 * KIB + 5, 0);
    let (_dir, local) = folder_with("up.bin", &data);
    let mut reports = Vec::new();

    let n = client(&fake)
        .with_block_size(BLOCK)
        .unwrap()
        .upload(&local, CONTAINER, BLOB, true, |d, t| reports.push((d, t)))
        .await
        .unwrap();

    assert_eq!(n, data.len() as u64);
    let requests = fake.requests();
    assert_eq!(
        fake.count(|s| s.is_put_block() && s.block_index() == Some(1)),
        2,
        "the block whose connection was lost is sent again"
    );
    assert!(committed(&requests) == data, "the committed blob differs");
    let list = requests.iter().find(|s| s.is_block_list()).unwrap();
    assert_eq!(
        list.header("x-ms-blob-content-md5"),
        Some(md5_of(&data).as_str())
    );
    for block in requests.iter().filter(|s| s.is_put_block()) {
        assert_eq!(
            block.header("content-md5"),
            Some(md5_of(&block.body).as_str())
        );
    }
    assert_progress(&reports, n, true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_block_that_keeps_failing_ends_the_upload_without_committing_a_block_list() {
    let fake = Fake::start(
        &tokio::runtime::Handle::current(),
        serve_upload(|index, _| {
            if index == 1 {
                Reply::error(500, "InternalError")
            } else {
                Reply::created()
            }
        }),
    );
    let data = pattern(200 * KIB + 5, 0);
    let total = data.len() as u64;
    let (_dir, local) = folder_with("up.bin", &data);
    let mut reports = Vec::new();

    let e = client(&fake)
        .with_block_size(BLOCK)
        .unwrap()
        .upload(&local, CONTAINER, BLOB, true, |d, t| reports.push((d, t)))
        .await
        .unwrap_err();

    assert_eq!(e.http_status(), Some(500), "{e}");
    // The other blocks went meanwhile (in flight at once); block 1 never did.
    let acknowledged = total - BLOCK as u64;
    assert!(
        e.to_string().contains(&format!(
            "stopped after {acknowledged} of {total} bytes were sent"
        )),
        "{e}"
    );
    assert_eq!(
        e.to_string().matches("uploading").count(),
        1,
        "the operation is named once: {e}"
    );
    assert!(!e.to_string().contains(SIGNATURE), "{e}");
    assert!(
        fake.count(|s| s.is_put_block() && s.block_index() == Some(1)) >= 2,
        "a failing block is retried"
    );
    assert_eq!(fake.count(Seen::is_block_list), 0, "nothing is committed");
    assert_eq!(fake.count(Seen::is_put_blob), 0);
    assert_progress(&reports, total, false);
    assert_eq!(reports.last(), Some(&(acknowledged, total)));
}

// ---------------------------------------------------------------------------------------------
// Cancelling through the C ABI

#[test]
fn c_abi_cancelling_a_stalled_streamed_upload_commits_nothing() {
    let runtime = fake_runtime();
    let fake = Fake::start(runtime.handle(), |_, _| Reply::silence());
    let data = pattern(STREAMED, 5);
    let total = data.len() as u64;
    let (_dir, local) = folder_with("up.bin", &data);
    let account = open_blob(&fake);
    let cancel = SharedCancel(azmi_cancel_new());
    let reports = Reports::default();

    let ((status, message), returned, (cancelled, stalled)) = std::thread::scope(|s| {
        let canceller = s.spawn(|| {
            // The whole body arrived; the answer never comes.
            let stalled = wait_until(|| fake.count(Seen::is_put_blob) > 0);
            let at = Instant::now();
            cancel.cancel();
            (at, stalled)
        });
        let outcome = ffi_upload(account, &local, cancel.0, &reports);
        (outcome, Instant::now(), canceller.join().unwrap())
    });

    assert!(stalled, "the Put Blob never arrived");
    assert_eq!(status, azmi_status::AZMI_CANCELLED, "{message}");
    assert!(
        returned - cancelled < PROMPTLY,
        "returned {:?} after the cancel",
        returned - cancelled
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fake.count(Seen::is_put_blob), 1, "nothing was sent again");
    let reports = reports.get();
    assert_progress(&reports, total, false);
    assert!(reports.last().unwrap().0 < total, "{reports:?}");
    // SAFETY: from azmi_blob_new and azmi_cancel_new, freed once after the call returned.
    unsafe {
        azmi_blob_free(account);
        azmi_cancel_free(cancel.0);
    }
}

#[test]
fn c_abi_cancelling_blocks_in_flight_returns_promptly_and_commits_nothing() {
    let runtime = fake_runtime();
    // Over the 256 MiB sent in one request: 8 MiB blocks. The first is stored; every other
    // one gets no answer.
    let fake = Fake::start(
        runtime.handle(),
        serve_upload(|index, _| {
            if index == 0 {
                Reply::created()
            } else {
                Reply::silence()
            }
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("big.bin");
    let total = 257 * MIB as u64;
    // Sparse: no disk is written.
    std::fs::File::create(&local)
        .unwrap()
        .set_len(total)
        .unwrap();
    let account = open_blob(&fake);
    let cancel = SharedCancel(azmi_cancel_new());
    let reports = Reports::default();

    let ((status, message), returned, (cancelled, in_flight)) = std::thread::scope(|s| {
        let canceller = s.spawn(|| {
            // Blocks in flight at once, stalled: cancel then.
            let in_flight =
                wait_until(|| fake.count(|s| s.is_put_block() && s.block_index() != Some(0)) >= 2);
            std::thread::sleep(Duration::from_millis(200));
            let at = Instant::now();
            cancel.cancel();
            (at, in_flight)
        });
        let outcome = ffi_upload(account, &local, cancel.0, &reports);
        (outcome, Instant::now(), canceller.join().unwrap())
    });

    assert!(in_flight, "no two blocks were in flight at once");
    assert_eq!(status, azmi_status::AZMI_CANCELLED, "{message}");
    assert!(
        returned - cancelled < PROMPTLY,
        "returned {:?} after the cancel",
        returned - cancelled
    );
    // Nothing may follow the cancel: give a stray request time to arrive.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fake.count(Seen::is_block_list), 0, "a block list was sent");
    assert_eq!(fake.count(Seen::is_put_blob), 0);
    let reports = reports.get();
    assert_progress(&reports, total, false);
    assert_eq!(reports.last(), Some(&(8 * MIB as u64, total)));
    // SAFETY: from azmi_blob_new and azmi_cancel_new, freed once after the call returned.
    unsafe {
        azmi_blob_free(account);
        azmi_cancel_free(cancel.0);
    }
}

// ---------------------------------------------------------------------------------------------
// Data Lake Gen2

fn action(seen: &Seen) -> Option<&str> {
    seen.query.get("action").map(String::as_str)
}

fn position(seen: &Seen) -> u64 {
    seen.query["position"].parse().unwrap()
}

/// A Gen2 filesystem that creates files, answers each append with `append` (given its position)
/// and flushes.
fn serve_gen2(
    append: impl Fn(u64) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Seen, &[Seen]) -> Reply + Send + Sync + 'static {
    move |seen, _| match (seen.method.as_str(), action(seen)) {
        ("PUT", None) if seen.query.get("resource").map(String::as_str) == Some("file") => {
            Reply::new(201, &[], Vec::new())
        }
        ("PATCH", Some("append")) => append(position(seen)),
        ("PATCH", Some("flush")) => Reply::new(200, &[], Vec::new()),
        _ => Reply::error(400, "UnsupportedHttpVerb"),
    }
}

/// What the appends of `requests` wrote, each at its position (the last write wins).
fn appended(requests: &[Seen], total: usize) -> Vec<u8> {
    let mut file = vec![0u8; total];
    for append in requests.iter().filter(|s| action(s) == Some("append")) {
        let at = position(append) as usize;
        file[at..at + append.body.len()].copy_from_slice(&append.body);
    }
    file
}

#[tokio::test(flavor = "multi_thread")]
async fn gen2_a_file_up_to_the_single_request_size_is_one_streamed_append_and_one_flush() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let fake = Fake::start(
        &tokio::runtime::Handle::current(),
        serve_gen2(|_| Reply::new(202, &[], Vec::new())),
    );
    let data = pattern(STREAMED, 6);
    let (_dir, local) = folder_with("up.bin", &data);
    let mut reports = Vec::new();

    let n = adls_client(&emu, &fake, AdlsProtocol::Dfs)
        .upload(&local, "/up.bin", true, |d, t| reports.push((d, t)))
        .await
        .unwrap();

    assert_eq!(n, data.len() as u64);
    let requests = fake.requests();
    let steps: Vec<(&str, Option<&str>)> = requests
        .iter()
        .map(|r| (r.method.as_str(), action(r)))
        .collect();
    assert_eq!(
        steps,
        [
            ("PUT", None),
            ("PATCH", Some("append")),
            ("PATCH", Some("flush"))
        ]
    );
    assert_eq!(position(&requests[1]), 0);
    assert!(requests[1].body == data, "the append holds other bytes");
    assert_eq!(
        position(&requests[2]),
        n,
        "the flush commits the whole file"
    );
    assert_progress(&reports, n, true);
}

#[tokio::test(flavor = "multi_thread")]
async fn gen2_appends_go_several_at_once_each_once_and_the_flush_only_after_all_succeeded() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let pause = Duration::from_millis(200);
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let seen_by_script = Arc::clone(&arrivals);
    let serve = serve_gen2(move |_| Reply::new(202, &[], Vec::new()).after(pause));
    let fake = Fake::start(&tokio::runtime::Handle::current(), move |seen, earlier| {
        seen_by_script
            .lock()
            .unwrap()
            .push((Instant::now(), action(seen).map(str::to_owned)));
        serve(seen, earlier)
    });
    let data = pattern(9 * BLOCK + 77, 7);
    let total = data.len() as u64;
    let (_dir, local) = folder_with("up.bin", &data);
    let mut reports = Vec::new();

    let adls = adls_client(&emu, &fake, AdlsProtocol::Dfs)
        .with_chunk_size(BLOCK)
        .unwrap();
    let n = adls
        .upload(&local, "/up.bin", true, |d, t| reports.push((d, t)))
        .await
        .unwrap();

    assert_eq!(n, total);
    let requests = fake.requests();
    let mut positions: Vec<u64> = requests
        .iter()
        .filter(|s| action(s) == Some("append"))
        .map(position)
        .collect();
    positions.sort_unstable();
    let expected: Vec<u64> = (0..10).map(|i| (i * BLOCK) as u64).collect();
    assert_eq!(
        positions, expected,
        "each part is appended once, at its position"
    );
    assert!(
        appended(&requests, data.len()) == data,
        "the appends hold other bytes"
    );
    let flushes: Vec<&Seen> = requests
        .iter()
        .filter(|s| action(s) == Some("flush"))
        .collect();
    assert_eq!(flushes.len(), 1);
    assert_eq!(position(flushes[0]), total);

    let arrivals = arrivals.lock().unwrap();
    let appends: Vec<Instant> = arrivals
        .iter()
        .filter(|a| a.1.as_deref() == Some("append"))
        .map(|a| a.0)
        .collect();
    let flush_at = arrivals
        .iter()
        .find(|a| a.1.as_deref() == Some("flush"))
        .unwrap()
        .0;
    assert!(
        appends.iter().all(|&t| flush_at >= t + pause),
        "the flush was sent before every append had been answered"
    );
    assert!(
        appends.windows(2).any(|w| w[1] < w[0] + pause),
        "no two appends were in flight at once"
    );
    assert_progress(&reports, n, true);
}

#[tokio::test(flavor = "multi_thread")]
async fn gen2_an_append_that_keeps_failing_ends_the_upload_without_a_flush() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let failing = BLOCK as u64;
    let fake = Fake::start(
        &tokio::runtime::Handle::current(),
        serve_gen2(move |at| {
            if at == failing {
                Reply::error(500, "InternalError")
            } else {
                Reply::new(202, &[], Vec::new())
            }
        }),
    );
    let data = pattern(3 * BLOCK + 5, 8);
    let total = data.len() as u64;
    let (_dir, local) = folder_with("up.bin", &data);
    let mut reports = Vec::new();

    let e = adls_client(&emu, &fake, AdlsProtocol::Dfs)
        .with_chunk_size(BLOCK)
        .unwrap()
        .upload(&local, "/up.bin", true, |d, t| reports.push((d, t)))
        .await
        .unwrap_err();

    assert_eq!(e.http_status(), Some(500), "{e}");
    let acknowledged = total - BLOCK as u64;
    assert!(
        e.to_string().contains(&format!(
            "stopped after {acknowledged} of {total} bytes were sent"
        )),
        "{e}"
    );
    assert!(e.to_string().contains("/up.bin"), "{e}");
    assert_eq!(
        fake.count(|s| action(s) == Some("flush")),
        0,
        "nothing is committed"
    );
    assert_progress(&reports, total, false);
}
