//! Blob and Data Lake downloads under faults that Azurite and azmi-emulator cannot inject,
//! against the fake storage endpoint of tests/fake_storage (its answers scripted per test: a
//! wrong Content-MD5, a body cut short, a blob replaced between two attempts, a service that
//! ignores If-Match, an answer that never comes). Blob requests carry a SAS; Data Lake ones a
//! token from azmi-emulator's IMDS (plain HTTP to loopback, which azmi allows for tests).
//! Uploads under faults are in tests/blob_uploads.rs.
//!
//! What is checked is what a user relies on: a destination file is replaced only by the whole,
//! verified blob (never by two versions stitched together) and is otherwise left as it was, with
//! no temporary file behind; cancellation through the C ABI returns promptly; progress never
//! passes the total.

use std::time::Instant;

use azmi::ffi::*;
use azmi::{AdlsProtocol, ErrorCode};
use azmi_emulator::{Emulator, EmulatorConfig};

mod fake_http;
mod fake_storage;
use fake_http::Seen;
use fake_storage::*;

// ---------------------------------------------------------------------------------------------
// Downloads through the Rust API

#[tokio::test(flavor = "multi_thread")]
async fn a_blob_whose_data_does_not_match_its_md5_is_refused_and_the_destination_kept() {
    let total = 600 * KIB;
    let blob = Version::new(pattern(total, 0), "\"0x8D1\"").with_md5_of(b"other bytes");
    let served = blob.clone();
    let fake = Fake::start(
        &tokio::runtime::Handle::current(),
        serve_download(blob, move |seen, _| served.get(seen)),
    );
    let (_dir, dest) = folder_with("data.bin", b"precious");
    let mut reports = Vec::new();

    let e = client(&fake)
        .download(CONTAINER, BLOB, &dest, true, |d, t| reports.push((d, t)))
        .await
        .unwrap_err();

    assert_eq!(e.code(), ErrorCode::ProtocolError, "{e}");
    assert!(e.to_string().contains("does not match the MD5"), "{e}");
    assert!(!e.to_string().contains(SIGNATURE), "{e}");
    assert_untouched(&dest, b"precious");
    assert_progress(&reports, total as u64, false);
    assert_eq!(fake.count(Seen::is_get), 1, "a wrong MD5 is not retried");

    let e = client(&fake).read(CONTAINER, BLOB).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ProtocolError, "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_cut_mid_body_resumes_where_it_stopped_pinned_to_the_same_version() {
    let data = pattern(MIB + 17, 0);
    let blob = Version::new(data.clone(), "\"0x8D1\"");
    let served = blob.clone();
    let fake = Fake::start(
        &tokio::runtime::Handle::current(),
        serve_download(blob, move |seen, before| {
            let reply = served.get(seen);
            if before == 0 {
                reply.cut_after(300_000)
            } else {
                reply
            }
        }),
    );
    let (dir, dest) = folder_with("data.bin", b"precious");
    let mut reports = Vec::new();

    let n = client(&fake)
        .download(CONTAINER, BLOB, &dest, true, |d, t| reports.push((d, t)))
        .await
        .unwrap();

    assert_eq!(n, data.len() as u64);
    assert!(std::fs::read(&dest).unwrap() == data, "the file differs");
    assert_eq!(files_in(dir.path()), vec!["data.bin".to_owned()]);
    assert_progress(&reports, n, true);
    let gets: Vec<Seen> = fake.requests().into_iter().filter(Seen::is_get).collect();
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[0].header("x-ms-range"), None);
    assert_eq!(gets[1].header("x-ms-range"), Some("bytes=300000-"));
    for get in &gets {
        assert_eq!(get.header("if-match"), Some("\"0x8D1\""));
        assert_eq!(get.path, "/devstoreaccount1/ctr/dir/data.bin");
    }
}

/// A blob of 1 MiB without a stored MD5 (so that only the ETag can tell versions apart), cut
/// after 300,000 bytes at the first Get Blob; the later ones are answered by `later`.
fn replaced_after_the_first_get(
    old: Version,
    later: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
) -> Fake {
    let first = old.clone();
    Fake::start(
        &tokio::runtime::Handle::current(),
        serve_download(old, move |seen, before| {
            if before == 0 {
                first.get(seen).cut_after(300_000)
            } else {
                later(seen)
            }
        }),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blob_replaced_before_the_resume_fails_as_a_conflict_and_the_destination_is_kept() {
    let old = Version::new(pattern(MIB, 0), "\"0x8D1\"").without_md5();
    let new = Version::new(pattern(MIB, 0x5a), "\"0x8D2\"").without_md5();
    let fake = replaced_after_the_first_get(old, move |seen| new.get(seen));
    let (_dir, dest) = folder_with("data.bin", b"precious");

    let e = client(&fake)
        .download(CONTAINER, BLOB, &dest, true, |_, _| {})
        .await
        .unwrap_err();

    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    assert_eq!(e.http_status(), Some(412), "{e}");
    assert!(
        e.to_string()
            .contains("stopped after 300000 of 1048576 bytes were received"),
        "{e}"
    );
    assert_untouched(&dest, b"precious");
}

#[tokio::test(flavor = "multi_thread")]
async fn data_of_another_version_is_never_stitched_in_even_when_if_match_is_ignored() {
    let old = Version::new(pattern(MIB, 0), "\"0x8D1\"").without_md5();
    let new = Version::new(pattern(MIB, 0x5a), "\"0x8D2\"").without_md5();
    let fake = replaced_after_the_first_get(old, move |seen| new.get_ignoring_if_match(seen));
    let (_dir, dest) = folder_with("data.bin", b"precious");

    let e = client(&fake)
        .download(CONTAINER, BLOB, &dest, true, |_, _| {})
        .await
        .unwrap_err();

    assert_eq!(e.code(), ErrorCode::ProtocolError, "{e}");
    assert!(e.to_string().contains("changed"), "{e}");
    assert_untouched(&dest, b"precious");
    let gets: Vec<Seen> = fake.requests().into_iter().filter(Seen::is_get).collect();
    assert_eq!(gets.len(), 2, "a changed blob is not retried");
    assert_eq!(gets[1].header("if-match"), Some("\"0x8D1\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resumption_answered_from_another_offset_is_refused_not_written_at_the_wrong_place() {
    let data = pattern(MIB, 0);
    let total = data.len();
    let old = Version::new(data.clone(), "\"0x8D1\"").without_md5();
    // A faulty proxy answers the ranged request with the data from byte 0, labelled as such.
    let fake = replaced_after_the_first_get(old, move |_| {
        let range = format!("bytes 0-{}/{total}", total - 1);
        let headers = [
            ("x-ms-blob-type", "BlockBlob"),
            ("ETag", "\"0x8D1\""),
            ("Content-Range", range.as_str()),
        ];
        Reply::new(206, &headers, data.clone())
    });
    let (dir, dest) = folder_with("data.bin", b"precious");

    let e = client(&fake)
        .download(CONTAINER, BLOB, &dest, true, |_, _| {})
        .await
        .unwrap_err();

    assert_eq!(e.code(), ErrorCode::ProtocolError, "{e}");
    assert!(e.to_string().contains("from byte 300000"), "{e}");
    assert!(e.to_string().contains("bytes 0-"), "{e}");
    assert_untouched(&dest, b"precious");
    assert_eq!(files_in(dir.path()), vec!["data.bin".to_owned()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_etag_a_cut_download_is_not_resumed_from_a_version_it_cannot_pin() {
    let old = Version::new(pattern(MIB, 0), "\"unused\"")
        .without_md5()
        .without_etag();
    let new = Version::new(pattern(MIB, 0x5a), "\"unused\"")
        .without_md5()
        .without_etag();
    let fake = replaced_after_the_first_get(old, move |seen| new.get(seen));
    let (_dir, dest) = folder_with("data.bin", b"precious");

    let e = client(&fake)
        .download(CONTAINER, BLOB, &dest, true, |_, _| {})
        .await
        .unwrap_err();

    assert_eq!(e.code(), ErrorCode::ProtocolError, "{e}");
    assert!(e.to_string().contains("ETag"), "{e}");
    assert_untouched(&dest, b"precious");
    assert_eq!(fake.count(Seen::is_get), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_that_keeps_failing_ends_in_a_clear_error_and_the_destination_is_kept() {
    let blob = Version::new(pattern(MIB, 0), "\"0x8D1\"");
    let served = blob.clone();
    let fake = Fake::start(
        &tokio::runtime::Handle::current(),
        serve_download(blob, move |seen, before| {
            served
                .get(seen)
                .cut_after(if before == 0 { 1000 } else { 0 })
        }),
    );
    let (_dir, dest) = folder_with("data.bin", b"precious");
    let mut reports = Vec::new();

    let e = client(&fake)
        .download(CONTAINER, BLOB, &dest, true, |d, t| reports.push((d, t)))
        .await
        .unwrap_err();

    assert_eq!(e.code(), ErrorCode::NetworkError, "{e}");
    assert!(
        e.to_string()
            .contains("stopped after 1000 of 1048576 bytes were received"),
        "{e}"
    );
    assert_untouched(&dest, b"precious");
    assert_progress(&reports, MIB as u64, false);
    let resumed: Vec<Seen> = fake
        .requests()
        .into_iter()
        .filter(Seen::is_get)
        .skip(1)
        .collect();
    assert!(resumed.len() >= 2, "resumed {} times", resumed.len());
    assert!(resumed
        .iter()
        .all(|g| g.header("x-ms-range") == Some("bytes=1000-")));
}

#[test]
fn c_abi_a_wrong_md5_is_a_protocol_error_and_the_destination_is_kept() {
    let runtime = fake_runtime();
    let total = 600 * KIB;
    let blob = Version::new(pattern(total, 0), "\"0x8D1\"").with_md5_of(b"other bytes");
    let served = blob.clone();
    let fake = Fake::start(
        runtime.handle(),
        serve_download(blob, move |seen, _| served.get(seen)),
    );
    let (_dir, dest) = folder_with("data.bin", b"precious");
    let account = open_blob(&fake);
    let reports = Reports::default();

    let (status, message) = ffi_download(account, &dest, std::ptr::null(), &reports);

    assert_eq!(status, azmi_status::AZMI_PROTOCOL_ERROR, "{message}");
    assert!(message.contains("MD5"), "{message}");
    assert!(!message.contains(SIGNATURE), "{message}");
    assert_untouched(&dest, b"precious");
    assert_progress(&reports.get(), total as u64, false);
    // SAFETY: from azmi_blob_new, freed once.
    unsafe { azmi_blob_free(account) };
}

#[test]
fn c_abi_cancelling_a_stalled_download_returns_promptly_and_leaves_no_trace() {
    let runtime = fake_runtime();
    let total = 2 * MIB;
    let blob = Version::new(pattern(total, 0), "\"0x8D1\"");
    let served = blob.clone();
    let fake = Fake::start(
        runtime.handle(),
        serve_download(blob, move |seen, _| served.get(seen).stall_after(512 * KIB)),
    );
    let (dir, dest) = folder_with("data.bin", b"precious");
    let account = open_blob(&fake);
    let cancel = SharedCancel(azmi_cancel_new());
    let reports = Reports::default();

    let ((status, message), returned, (cancelled, partial_seen)) = std::thread::scope(|s| {
        let canceller = s.spawn(|| {
            // Data on disk in the temporary file, then the stall: cancel in the middle.
            let partial_seen = wait_until(|| reports.get().iter().any(|&(d, _)| d > 0))
                && files_in(dir.path())
                    .iter()
                    .any(|n| n.ends_with(".azmi-partial"));
            // Cancelled whatever happened, so that a failed wait cannot hang the test.
            let at = Instant::now();
            cancel.cancel();
            (at, partial_seen)
        });
        let outcome = ffi_download(account, &dest, cancel.0, &reports);
        (outcome, Instant::now(), canceller.join().unwrap())
    });

    assert!(
        partial_seen,
        "the download was not in progress (data in a temporary file) when cancelled"
    );
    assert_eq!(status, azmi_status::AZMI_CANCELLED, "{message}");
    assert!(
        returned - cancelled < PROMPTLY,
        "returned {:?} after the cancel",
        returned - cancelled
    );
    assert_untouched(&dest, b"precious");
    assert_progress(&reports.get(), total as u64, false);
    // SAFETY: from azmi_blob_new and azmi_cancel_new, freed once after the call returned.
    unsafe {
        azmi_blob_free(account);
        azmi_cancel_free(cancel.0);
    }
}

// ---------------------------------------------------------------------------------------------
// Data Lake downloads: resumed only from the version they started with

#[tokio::test(flavor = "multi_thread")]
async fn gen2_resumes_a_cut_download_pinned_to_its_etag_and_never_stitches_another_version() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let data = pattern(MIB, 0);

    // Cut once, same version: resumed with If-Match, the file exact.
    let blob = Version::new(data.clone(), "\"0x8D1\"").without_md5();
    let fake = replaced_after_the_first_get(blob.clone(), move |seen| blob.get(seen));
    let (dir, dest) = folder_with("data.bin", b"precious");
    adls_client(&emu, &fake, AdlsProtocol::Dfs)
        .download("/data.bin", &dest, true, |_, _| {})
        .await
        .unwrap();
    assert!(std::fs::read(&dest).unwrap() == data, "the file differs");
    assert_eq!(files_in(dir.path()), vec!["data.bin".to_owned()]);
    let gets: Vec<Seen> = fake.requests().into_iter().filter(Seen::is_get).collect();
    assert_eq!(gets[1].header("x-ms-range"), Some("bytes=300000-"));
    assert_eq!(gets[1].header("if-match"), Some("\"0x8D1\""));

    // Replaced before the resume, If-Match honoured: a conflict; ignored: refused all the same.
    for honours_if_match in [true, false] {
        let old = Version::new(data.clone(), "\"0x8D1\"").without_md5();
        let new = Version::new(pattern(MIB, 0x5a), "\"0x8D2\"").without_md5();
        let fake = replaced_after_the_first_get(old, move |seen| {
            if honours_if_match {
                new.get(seen)
            } else {
                new.get_ignoring_if_match(seen)
            }
        });
        let (dir, dest) = folder_with("data.bin", b"precious");
        let e = adls_client(&emu, &fake, AdlsProtocol::Dfs)
            .download("/data.bin", &dest, true, |_, _| {})
            .await
            .unwrap_err();
        let expected = if honours_if_match {
            ErrorCode::Conflict
        } else {
            ErrorCode::ProtocolError
        };
        assert_eq!(e.code(), expected, "{e}");
        assert_untouched(&dest, b"precious");
        assert_eq!(files_in(dir.path()), vec!["data.bin".to_owned()]);
    }
}

/// A Gen1 (WebHDFS) endpoint holding `/data.bin`: `versions[0]` until the first OPEN has been
/// cut after 300,000 bytes, then `versions[1]` (content, modification time).
fn gen1_replaced_after_the_first_open(versions: [(Vec<u8>, i64); 2]) -> Fake {
    Fake::start(&tokio::runtime::Handle::current(), move |seen, before| {
        let opens = before.iter().filter(|s| op(s) == Some("OPEN")).count();
        let (data, modified) = &versions[usize::from(opens > 0)];
        match op(seen) {
            Some("GETFILESTATUS") => {
                let status = format!(
                    r#"{{"FileStatus":{{"length":{},"pathSuffix":"","type":"FILE","modificationTime":{modified},"accessTime":0,"blockSize":268435456,"replication":1,"permission":"770","owner":"o","group":"g"}}}}"#,
                    data.len()
                );
                Reply::new(
                    200,
                    &[("Content-Type", "application/json")],
                    status.into_bytes(),
                )
            }
            Some("OPEN") => {
                let from: usize = seen.query.get("offset").map_or(0, |o| o.parse().unwrap());
                let reply = Reply::new(200, &[], data[from..].to_vec());
                if opens == 0 {
                    reply.cut_after(300_000)
                } else {
                    reply
                }
            }
            _ => Reply::error(400, "UnsupportedOperation"),
        }
    })
}

fn op(seen: &Seen) -> Option<&str> {
    seen.query.get("op").map(String::as_str)
}

#[tokio::test(flavor = "multi_thread")]
async fn gen1_resumes_only_a_file_whose_length_and_modification_time_are_unchanged() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let data = pattern(MIB, 0);

    let same = gen1_replaced_after_the_first_open([(data.clone(), 1_000), (data.clone(), 1_000)]);
    let (_dir, dest) = folder_with("data.bin", b"precious");
    adls_client(&emu, &same, AdlsProtocol::WebHdfs)
        .download("/data.bin", &dest, true, |_, _| {})
        .await
        .unwrap();
    assert!(std::fs::read(&dest).unwrap() == data, "the file differs");
    let opens: Vec<Seen> = same
        .requests()
        .into_iter()
        .filter(|s| op(s) == Some("OPEN"))
        .collect();
    assert_eq!(opens.len(), 2);
    assert_eq!(
        opens[1].query.get("offset").map(String::as_str),
        Some("300000")
    );

    let replaced =
        gen1_replaced_after_the_first_open([(data.clone(), 1_000), (pattern(MIB, 0x5a), 2_000)]);
    let (dir, dest) = folder_with("data.bin", b"precious");
    let e = adls_client(&emu, &replaced, AdlsProtocol::WebHdfs)
        .download("/data.bin", &dest, true, |_, _| {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ProtocolError, "{e}");
    assert!(e.to_string().contains("changed during the download"), "{e}");
    assert_untouched(&dest, b"precious");
    assert_eq!(files_in(dir.path()), vec!["data.bin".to_owned()]);
    assert_eq!(
        replaced.count(|s| op(s) == Some("OPEN")),
        1,
        "no data is read from the changed file"
    );
}
