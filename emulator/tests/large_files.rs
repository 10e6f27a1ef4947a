//! `data_dir`: file contents on disk, streamed in and out. The 1 GiB run is `#[ignore]`d for
//! time; `cargo test -p azmi-emulator --release --test large_files -- --ignored` runs it.

mod common;

use std::io;
use std::path::Path;

use azmi_emulator::{Emulator, EmulatorConfig};
use common::https::{Client, DATALAKE, STORAGE, VERSION};

const MIB: u64 = 1024 * 1024;

/// Deterministic content: byte `i` of the file.
fn pattern(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 12)) as u8
}

fn start(data_dir: &Path) -> (Emulator, Client) {
    let emu = Emulator::start(EmulatorConfig {
        data_dir: Some(data_dir.to_path_buf()),
        ..EmulatorConfig::default()
    })
    .expect("start emulator");
    let client = Client::new(&emu);
    (emu, client)
}

/// Sends `len` bytes of the pattern starting at `offset`, generated as they go.
fn upload(
    c: &Client,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    offset: u64,
    len: u64,
) -> io::Result<common::HttpResponse> {
    let mut conn = c.connect();
    let length = len.to_string();
    let mut all = headers.to_vec();
    all.push(("Content-Length", &length));
    conn.send_head(method, target, &all)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut pos = offset;
    while pos < offset + len {
        let n = (buf.len() as u64).min(offset + len - pos) as usize;
        for (k, b) in buf[..n].iter_mut().enumerate() {
            *b = pattern(pos + k as u64);
        }
        conn.send_bytes(&buf[..n])?;
        pos += n as u64;
    }
    conn.read_response(false)
}

/// Files under the emulator's data folder, with their sizes.
fn stored_files(data_dir: &Path) -> Vec<u64> {
    let mut sizes = Vec::new();
    for entry in std::fs::read_dir(data_dir).unwrap().flatten() {
        if entry.path().is_dir() {
            for blob in std::fs::read_dir(entry.path()).unwrap().flatten() {
                sizes.push(blob.metadata().unwrap().len());
            }
        }
    }
    sizes
}

fn check(data: &[u8], offset: u64) {
    for (k, b) in data.iter().enumerate() {
        let i = offset + k as u64;
        assert_eq!(*b, pattern(i), "byte {i}");
    }
}

#[test]
fn gen2_and_gen1_files_live_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (emu, c) = start(dir.path());
    let bearer = format!("Bearer {}", c.token(STORAGE, ""));
    let headers = [
        ("Authorization", bearer.as_str()),
        ("x-ms-version", VERSION),
    ];

    // Gen2: 24 MiB in three appends, the last range first.
    let len = 24 * MIB;
    c.dfs("PUT", "/fs/big.bin?resource=file", &[], Some(b""));
    for start in [16 * MIB, 0, 8 * MIB] {
        let target = format!("/fs/big.bin?action=append&position={start}");
        let resp = upload(&c, "PATCH", &target, &headers, start, 8 * MIB).unwrap();
        assert_eq!(resp.status, 202, "{}", resp.text());
    }
    let resp = c.dfs(
        "PATCH",
        &format!("/fs/big.bin?action=flush&position={len}"),
        &[],
        Some(b""),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(
        stored_files(dir.path()).contains(&len),
        "{:?}",
        stored_files(dir.path())
    );

    let read = c.dfs("GET", "/fs/big.bin", &[], None);
    assert_eq!(read.body.len() as u64, len);
    check(&read.body, 0);
    let part = c.dfs(
        "GET",
        "/fs/big.bin",
        &[("Range", "bytes=12582900-12583000")],
        None,
    );
    assert_eq!(part.status, 206);
    check(&part.body, 12_582_900);

    // Gen1: CREATE then APPEND in 4 MB pieces.
    let gen1 = format!("Bearer {}", c.token(DATALAKE, ""));
    let auth = [("Authorization", gen1.as_str())];
    let resp = upload(
        &c,
        "PUT",
        "/webhdfs/v1/big?op=CREATE&write=true",
        &auth,
        0,
        4 * MIB,
    )
    .unwrap();
    assert_eq!(resp.status, 201);
    for i in 1..3 {
        let target = format!(
            "/webhdfs/v1/big?op=APPEND&append=true&offset={}",
            i * 4 * MIB
        );
        let resp = upload(&c, "POST", &target, &auth, i * 4 * MIB, 4 * MIB).unwrap();
        assert_eq!(resp.status, 200, "{}", resp.text());
    }
    let read = c.gen1("GET", "/webhdfs/v1/big?op=OPEN&read=true&offset=1000", None);
    assert_eq!(read.body.len() as u64, 12 * MIB - 1000);
    check(&read.body, 1000);

    // Deleting removes the file from disk; stopping removes the data folder.
    c.dfs("DELETE", "/fs/big.bin", &[], None);
    assert!(!stored_files(dir.path()).contains(&len));
    drop(emu);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Resident memory of this process (Linux), in bytes.
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
#[ignore = "uploads and reads 1 GiB; run with --ignored (ideally --release)"]
fn one_gib_through_gen2_without_holding_it_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (_emu, c) = start(dir.path());
    let bearer = format!("Bearer {}", c.token(STORAGE, ""));
    let headers = [
        ("Authorization", bearer.as_str()),
        ("x-ms-version", VERSION),
    ];
    let len = 1024 * MIB;
    let before = rss();
    c.dfs("PUT", "/fs/gib?resource=file", &[], Some(b""));
    let piece = 128 * MIB;
    let mut start = 0;
    while start < len {
        let target = format!("/fs/gib?action=append&position={start}");
        let resp = upload(&c, "PATCH", &target, &headers, start, piece).unwrap();
        assert_eq!(resp.status, 202);
        start += piece;
    }
    let resp = c.dfs(
        "PATCH",
        &format!("/fs/gib?action=flush&position={len}"),
        &[],
        Some(b""),
    );
    assert_eq!(resp.status, 200);

    // Read it back in ranges so the test itself stays small too.
    let mut offset = 0;
    while offset < len {
        let range = format!("bytes={offset}-{}", offset + 64 * MIB - 1);
        let part = c.dfs("GET", "/fs/gib", &[("x-ms-range", &range)], None);
        assert_eq!(part.body.len() as u64, 64 * MIB);
        check(&part.body, offset);
        offset += 64 * MIB;
    }
    if let (Some(before), Some(after)) = (before, rss()) {
        let grown = after.saturating_sub(before);
        eprintln!("resident memory grew by {} MiB", grown / MIB);
        assert!(
            grown < 512 * MIB,
            "resident memory grew by {} MiB",
            grown / MIB
        );
    }
}
