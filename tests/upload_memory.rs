//! Uploads never hold the file in memory (issue 19: peak RSS under 64 MiB for every transfer,
//! whatever the concurrency). Files of hundreds of MiB go to a loopback endpoint that reads and
//! discards what it receives, by each path an upload can take: Blob's one streamed Put Blob (up
//! to the single-request size) and its blocks, Data Lake Gen2's one streamed append and its
//! appends, the parts at the highest concurrency accepted. The process's peak RSS (the kernel's
//! VmHWM: the test binary, its runtime, azmi-emulator for the Gen2 token and the endpoint
//! included) must stay under 64 MiB, where a file held in memory would take four times that.
//!
//! One test in its own binary, so that no other test's memory counts. The files are sparse:
//! reading them costs no disk, and their pages stay in the page cache, not in the process.
#![cfg(target_os = "linux")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use azmi::{AdlsProtocol, Azmi, IdentityId, ManagedIdentity};
use azmi_emulator::{Emulator, EmulatorConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const MIB: u64 = 1024 * 1024;
/// The largest upload sent as one request (blob::SINGLE_UPLOAD_SIZE).
const SINGLE: u64 = 256 * MIB;
/// Over it: parts.
const PARTS: u64 = 264 * MIB;
/// The most parts in flight that `with_concurrency` accepts.
const MOST_IN_FLIGHT: usize = 16;
/// The bound on the peak RSS of a transfer.
const PEAK_RSS_LIMIT_KIB: u64 = 64 * 1024;

/// An endpoint on 127.0.0.1 that answers every Blob and Gen2 upload request with success
/// after reading its body into a small buffer and dropping it; counts the body bytes.
async fn discarding_endpoint() -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut read = BufReader::new(read);
                // Requests one after the other on the connection (keep-alive).
                loop {
                    let mut request_line = String::new();
                    if read.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0u64;
                    loop {
                        let mut line = String::new();
                        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap();
                            }
                        }
                    }
                    let mut body = (&mut read).take(length);
                    let mut piece = vec![0u8; 64 * 1024];
                    loop {
                        match body.read(&mut piece).await {
                            Ok(0) => break,
                            Ok(n) => {
                                counted.fetch_add(n as u64, Ordering::SeqCst);
                            }
                            Err(_) => return,
                        }
                    }
                    let status = match request_line.split(' ').next() {
                        // Gen2 appends are accepted; a flush is done.
                        Some("PATCH") if request_line.contains("action=append") => "202 Accepted",
                        Some("PATCH") => "200 OK",
                        // Put Blob, Put Block, Put Block List, Gen2 create.
                        _ => "201 Created",
                    };
                    let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                    if write.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://127.0.0.1:{port}"), received)
}

/// The process's peak resident set size so far, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_of_hundreds_of_mib_keep_the_peak_rss_under_64_mib() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let (base, received) = discarding_endpoint().await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, len: u64| {
        let path = dir.path().join(name);
        std::fs::File::create(&path).unwrap().set_len(len).unwrap();
        path
    };
    let (single, parts) = (file("single.bin", SINGLE), file("parts.bin", PARTS));
    let azmi = Azmi::new().unwrap();
    let blob = azmi
        .blob_with_sas(
            &format!("{base}/devstoreaccount1"),
            "sv=2023-11-03&sr=c&sp=rcw&sig=bm90LWEtc2lnbmF0dXJl",
        )
        .unwrap()
        .with_concurrency(MOST_IN_FLIGHT)
        .unwrap();
    let mi = ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &emu.token_url()).unwrap();
    let gen2 = azmi
        .adls(&format!("{base}/fs"), AdlsProtocol::Dfs, &mi)
        .unwrap()
        .with_concurrency(MOST_IN_FLIGHT)
        .unwrap();
    let before = peak_rss_kib();

    let mut sent = 0;
    for (what, local) in [("streamed", &single), ("in blocks", &parts)] {
        let n = blob
            .upload(local, "ctr", "big.bin", true, |_, _| {})
            .await
            .unwrap_or_else(|e| panic!("the Blob upload {what} failed: {e}"));
        sent += n;
    }
    for (what, local) in [("streamed", &single), ("in appends", &parts)] {
        let n = gen2
            .upload(local, "/big.bin", true, |_, _| {})
            .await
            .unwrap_or_else(|e| panic!("the Gen2 upload {what} failed: {e}"));
        sent += n;
    }

    let peak = peak_rss_kib();
    assert_eq!(sent, 2 * (SINGLE + PARTS));
    assert!(
        received.load(Ordering::SeqCst) >= sent,
        "the endpoint received less than the files hold"
    );
    assert!(
        peak < PEAK_RSS_LIMIT_KIB,
        "the peak RSS reached {} MiB uploading files of {} and {} MiB ({} MiB before): the data \
         is held in memory",
        peak / 1024,
        SINGLE / MIB,
        PARTS / MIB,
        before / 1024
    );
}
