//! Data Lake Storage Gen1 (WebHDFS) and Gen2 (DFS) against azmi-emulator over HTTPS: every
//! operation on both protocols, paging, special characters, overwrite protection, the Gen1
//! redirect policy, retries, failures mid-transfer, cancellation, progress and error messages.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azmi::{
    Adls, AdlsProtocol, Azmi, ErrorCode, IdentityId, ItemType, ManagedIdentity, RetryPolicy,
    TokenOptions,
};
use azmi_emulator::{Emulator, EmulatorConfig, Fault, RecordedRequest};

const SYSTEM_OID: &str = "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002";
const MIB: usize = 1024 * 1024;

struct Env {
    emu: Emulator,
    azmi: Azmi,
    mi: ManagedIdentity,
}

fn start_with(config: EmulatorConfig) -> Env {
    let emu = Emulator::start(config).expect("emulator starts");
    let azmi = Azmi::new().unwrap();
    azmi.set_extra_ca(Some(&emu.ca_file())).unwrap();
    let mi = ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &emu.token_url())
        .unwrap()
        .with_options(TokenOptions {
            retry: quick(),
            ..TokenOptions::default()
        });
    Env { emu, azmi, mi }
}

fn start() -> Env {
    start_with(EmulatorConfig::default())
}

/// Fast retries so that retry tests take milliseconds.
fn quick() -> RetryPolicy {
    RetryPolicy {
        budget: Duration::from_secs(5),
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    }
}

impl Env {
    fn gen1(&self) -> Adls {
        self.azmi
            .adls(&self.emu.https_base_url(), AdlsProtocol::WebHdfs, &self.mi)
            .unwrap()
    }

    fn gen2(&self) -> Adls {
        self.azmi
            .adls(
                &format!("{}/fs", self.emu.https_base_url()),
                AdlsProtocol::Dfs,
                &self.mi,
            )
            .unwrap()
    }

    fn both(&self) -> [Adls; 2] {
        [self.gen1(), self.gen2()]
    }
}

fn name(adls: &Adls) -> &'static str {
    match adls.account().protocol() {
        AdlsProtocol::Dfs => "Gen2",
        _ => "Gen1",
    }
}

async fn list_all(adls: &Adls, path: &str, recursive: bool) -> Vec<azmi::AdlsItem> {
    let mut items = Vec::new();
    let outcome = adls
        .list(path, recursive, |item| {
            items.push(item);
            true
        })
        .await
        .unwrap_or_else(|e| panic!("{}: listing {path}: {e}", name(adls)));
    assert!(!outcome.stopped);
    assert_eq!(outcome.items as usize, items.len());
    items
}

fn header<'a>(req: &'a RecordedRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A scratch folder removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "azmi-adls-{tag}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(n as u64);
    (0..n).map(|_| rng.u8(..)).collect()
}

fn write_file(path: &Path, data: &[u8]) {
    std::fs::write(path, data).unwrap();
}

#[tokio::test]
async fn the_tutorial_flow_on_both_protocols() {
    let env = start();
    for adls in env.both() {
        let p = name(&adls);
        let started = chrono_now_ms();
        adls.mkdir("/TestFolder").await.unwrap();
        adls.mkdir("/TestFolder").await.unwrap(); // an existing folder is fine
        let root = list_all(&adls, "/", false).await;
        let folder = root.iter().find(|i| i.name == "TestFolder").expect(p);
        assert_eq!(folder.item_type, ItemType::Directory, "{p}");
        assert_eq!(folder.path, "/TestFolder");

        adls.create("/TestFolder/Test1.txt", &b"Test file."[..], false)
            .await
            .unwrap();
        let items = list_all(&adls, "/TestFolder", false).await;
        assert_eq!(items.len(), 1, "{p}: {items:?}");
        let item = &items[0];
        assert_eq!(item.name, "Test1.txt", "{p}");
        assert_eq!(item.path, "/TestFolder/Test1.txt", "{p}");
        assert_eq!(item.item_type, ItemType::File, "{p}");
        assert_eq!(item.length, 10, "{p}");
        assert!(
            (item.last_modified_ms - started).abs() < 60_000,
            "{p}: {} vs {started}",
            item.last_modified_ms
        );
        assert!(!item.permission.is_empty(), "{p}");
        assert_eq!(item.owner, SYSTEM_OID, "{p}");
        assert!(!item.group.is_empty(), "{p}");

        let stat = adls.stat("/TestFolder/Test1.txt").await.unwrap();
        assert_eq!(stat.name, "Test1.txt", "{p}");
        assert_eq!(stat.length, 10, "{p}");
        assert_eq!(stat.item_type, ItemType::File, "{p}");
        assert_eq!(stat.owner, SYSTEM_OID, "{p}");
        let dir = adls.stat("/TestFolder").await.unwrap();
        assert!(dir.is_directory(), "{p}");
        let root = adls.stat("/").await.unwrap();
        assert!(root.is_directory(), "{p}");
        assert_eq!(root.path, "/");

        let text = adls.read("/TestFolder/Test1.txt", 0, None).await.unwrap();
        assert_eq!(&text[..], b"Test file.", "{p}");
        let part = adls
            .read("/TestFolder/Test1.txt", 5, Some(4))
            .await
            .unwrap();
        assert_eq!(&part[..], b"file", "{p}");
        let none = adls
            .read("/TestFolder/Test1.txt", 0, Some(0))
            .await
            .unwrap();
        assert!(none.is_empty(), "{p}");
        for offset in [10, 20] {
            let past = adls
                .read("/TestFolder/Test1.txt", offset, None)
                .await
                .unwrap_or_else(|e| panic!("{p}: reading from {offset}: {e}"));
            assert!(past.is_empty(), "{p}: at or past the end, nothing");
        }

        adls.append("/TestFolder/Test1.txt", &b" More."[..])
            .await
            .unwrap();
        let text = adls.read("/TestFolder/Test1.txt", 0, None).await.unwrap();
        assert_eq!(&text[..], b"Test file. More.", "{p}");

        adls.rename("/TestFolder/Test1.txt", "/TestFolder/Renamed.txt")
            .await
            .unwrap();
        let e = adls.stat("/TestFolder/Test1.txt").await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{p}: {e}");
        let text = adls.read("/TestFolder/Renamed.txt", 0, None).await.unwrap();
        assert_eq!(&text[..], b"Test file. More.", "{p}");

        let e = adls.remove("/TestFolder", false).await.unwrap_err();
        assert_eq!(
            e.code(),
            ErrorCode::Conflict,
            "{p}: a non-empty folder needs recursive: {e}"
        );
        adls.stat("/TestFolder/Renamed.txt").await.unwrap();
        adls.remove("/TestFolder/Renamed.txt", false).await.unwrap();
        adls.create("/TestFolder/sub/deep.txt", &b"x"[..], false)
            .await
            .unwrap();
        adls.remove("/TestFolder", true).await.unwrap();
        let e = adls.stat("/TestFolder").await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{p}");
        let e = adls.remove("/TestFolder", true).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{p}: {e}");
        let e = adls.rename("/nothing", "/else").await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{p}: {e}");
    }
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn listings_follow_every_page_and_hand_out_items_as_pages_arrive() {
    let env = start();
    for adls in env.both() {
        let p = name(&adls);
        for i in 0..25 {
            adls.create(&format!("/many/f{i:02}.txt"), vec![b'x'; i], false)
                .await
                .unwrap();
        }
        adls.mkdir("/many/sub").await.unwrap();
        adls.create("/many/sub/inner.txt", &b"in"[..], false)
            .await
            .unwrap();
        let paged = adls.clone().with_page_size(10).unwrap();
        let is_listing = |r: &RecordedRequest| {
            r.method == "GET"
                && (r.query.contains("op=LISTSTATUS") || r.query.contains("resource=filesystem"))
        };
        let before = env
            .emu
            .service_requests()
            .iter()
            .filter(|r| is_listing(r))
            .count();
        let mut seen = Vec::new();
        let mut pages_at_item = Vec::new();
        let outcome = paged
            .list("/many", false, |item| {
                let pages = env
                    .emu
                    .service_requests()
                    .iter()
                    .filter(|r| is_listing(r))
                    .count()
                    - before;
                pages_at_item.push(pages);
                seen.push(item.name);
                true
            })
            .await
            .unwrap();
        assert_eq!(outcome.items, 26, "{p}");
        let mut expected: Vec<String> = (0..25).map(|i| format!("f{i:02}.txt")).collect();
        expected.push("sub".into());
        seen.sort();
        assert_eq!(seen, expected, "{p}");
        // Items 1-10 arrive after one page was fetched, 11-20 after two, 21-26 after three:
        // each page is handed out before the next is asked for.
        let expected_pages: Vec<usize> = (0..26).map(|i| i / 10 + 1).collect();
        assert_eq!(pages_at_item, expected_pages, "{p}");
        let pages = env
            .emu
            .service_requests()
            .iter()
            .filter(|r| is_listing(r))
            .count()
            - before;
        assert!(pages == 3, "{p}: {pages} listing requests");
        let page_requests: Vec<RecordedRequest> = env
            .emu
            .service_requests()
            .into_iter()
            .filter(|r| is_listing(r))
            .collect();
        let last = page_requests.last().unwrap();
        assert!(
            last.query.contains("listSize=10") || last.query.contains("maxResults=10"),
            "{p}: {}",
            last.query
        );

        // Stopping early ends the listing without reading more pages.
        let mut n = 0;
        let outcome = paged
            .list("/many", false, |_| {
                n += 1;
                n < 3
            })
            .await
            .unwrap();
        assert!(outcome.stopped, "{p}");
        assert_eq!(outcome.items, 3, "{p}");

        // Recursive listings include what is below.
        let all = list_all(&paged, "/many", true).await;
        assert_eq!(all.len(), 27, "{p}");
        assert!(
            all.iter()
                .any(|i| i.path == "/many/sub/inner.txt" && i.length == 2),
            "{p}"
        );
        adls.remove("/many", true).await.unwrap();
    }
}

#[tokio::test]
async fn names_with_special_characters_round_trip() {
    let env = start();
    let names = [
        "with space.txt",
        "hash#tag.txt",
        "100%.txt",
        "c++ & more=1.txt",
        "question?.txt",
        "ünïcødé 中文 😀.txt",
        "semi;colon,comma'quote.txt",
        "plus+and%2Fencoded.txt",
    ];
    for adls in env.both() {
        let p = name(&adls);
        let dir = "/spécial dir #1";
        for n in names {
            adls.create(&format!("{dir}/{n}"), n.as_bytes().to_vec(), false)
                .await
                .unwrap_or_else(|e| panic!("{p}: {n}: {e}"));
        }
        let mut listed: Vec<String> = list_all(&adls, dir, false)
            .await
            .into_iter()
            .map(|i| i.name)
            .collect();
        listed.sort();
        let mut expected: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(listed, expected, "{p}");
        for n in names {
            let path = format!("{dir}/{n}");
            let data = adls.read(&path, 0, None).await.unwrap();
            assert_eq!(&data[..], n.as_bytes(), "{p}: {n}");
            let item = adls.stat(&path).await.unwrap();
            assert_eq!(item.name, n, "{p}");
            assert_eq!(item.path, path, "{p}");
        }
        adls.rename(
            &format!("{dir}/hash#tag.txt"),
            &format!("{dir}/new #name+.txt"),
        )
        .await
        .unwrap();
        let data = adls
            .read(&format!("{dir}/new #name+.txt"), 0, None)
            .await
            .unwrap();
        assert_eq!(&data[..], b"hash#tag.txt", "{p}");
        adls.remove(dir, true).await.unwrap();
    }
    // What went on the wire: every special character percent-encoded.
    let paths: Vec<String> = env
        .emu
        .service_requests()
        .into_iter()
        .map(|r| r.path)
        .collect();
    for fragment in [
        "/sp%C3%A9cial%20dir%20%231/hash%23tag.txt",
        "/100%25.txt",
        "/c%2B%2B%20%26%20more%3D1.txt",
        "/question%3F.txt",
        "/plus%2Band%252Fencoded.txt",
    ] {
        assert!(
            paths.iter().any(|p| p.ends_with(fragment)),
            "{fragment} not among {paths:?}"
        );
    }
}

#[tokio::test]
async fn paths_are_validated_before_anything_is_sent() {
    let env = start();
    for adls in env.both() {
        let before = env.emu.service_counters().requests;
        for bad in ["/a/../b", "/a/\u{1}b", "../x", "/a/./b"] {
            let e = adls.create(bad, &b"x"[..], false).await.unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad:?}");
            let e = adls.stat(bad).await.unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad:?}");
        }
        let e = adls.remove("/", true).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        assert_eq!(env.emu.service_counters().requests, before);
    }
}

#[tokio::test]
async fn create_and_upload_never_overwrite_without_the_flag() {
    let env = start();
    let scratch = Scratch::new("overwrite");
    let local = scratch.path("new.txt");
    write_file(&local, b"from the upload");
    for adls in env.both() {
        let p = name(&adls);
        adls.create("/keep.txt", &b"original"[..], false)
            .await
            .unwrap();
        let e = adls
            .create("/keep.txt", &b"replacement"[..], false)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Conflict, "{p}: {e}");
        assert!(e.to_string().contains("/keep.txt"), "{p}: {e}");
        let e = adls
            .upload(&local, "/keep.txt", false, |_, _| {})
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Conflict, "{p}: {e}");
        assert_eq!(
            &adls.read("/keep.txt", 0, None).await.unwrap()[..],
            b"original",
            "{p}: untouched"
        );
        adls.create("/keep.txt", &b"replacement"[..], true)
            .await
            .unwrap();
        assert_eq!(
            &adls.read("/keep.txt", 0, None).await.unwrap()[..],
            b"replacement",
            "{p}"
        );
        adls.upload(&local, "/keep.txt", true, |_, _| {})
            .await
            .unwrap();
        assert_eq!(
            &adls.read("/keep.txt", 0, None).await.unwrap()[..],
            b"from the upload",
            "{p}"
        );
        // Moving onto an existing file does not replace it either.
        adls.create("/other.txt", &b"other"[..], false)
            .await
            .unwrap();
        let e = adls.rename("/other.txt", "/keep.txt").await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Conflict, "{p}: {e}");
        assert_eq!(
            &adls.read("/keep.txt", 0, None).await.unwrap()[..],
            b"from the upload",
            "{p}"
        );
        // Gen2 would replace a file by a folder without If-None-Match.
        let e = adls.mkdir("/keep.txt").await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Conflict, "{p}: {e}");
        adls.stat("/keep.txt").await.unwrap();
        adls.remove("/keep.txt", false).await.unwrap();
        adls.remove("/other.txt", false).await.unwrap();
    }
}

#[tokio::test]
async fn large_files_stream_in_chunks_with_progress() {
    let env = start();
    let scratch = Scratch::new("large");
    let data = random_bytes(10 * MIB + 123);
    let local = scratch.path("big.bin");
    write_file(&local, &data);
    for adls in env.both() {
        let p = name(&adls);
        let adls = adls.with_chunk_size(MIB).unwrap();
        let mut reports = Vec::new();
        let sent = adls
            .upload(&local, "/big/big.bin", false, |done, total| {
                reports.push((done, total))
            })
            .await
            .unwrap();
        assert_eq!(sent, data.len() as u64);
        let total = data.len() as u64;
        assert_eq!(reports.first(), Some(&(0, total)), "{p}");
        assert_eq!(reports.last(), Some(&(total, total)), "{p}");
        assert!(reports.windows(2).all(|w| w[0].0 <= w[1].0), "{p}");
        // 1 MiB chunks on both (Gen1's 4 MiB cap does not bite): one report per chunk.
        assert_eq!(
            reports.len(),
            1 + data.len().div_ceil(MIB),
            "{p}: {reports:?}"
        );
        // No request carried more than the chunk size (Gen1's limit is 4 MiB anyway).
        for r in env.emu.service_requests() {
            if let Some(len) = header(&r, "content-length") {
                assert!(len.parse::<usize>().unwrap() <= MIB, "{p}: {len}");
            }
        }
        assert_eq!(adls.stat("/big/big.bin").await.unwrap().length, total);

        let dest = scratch.path(&format!("{p}.bin"));
        let mut reports = Vec::new();
        let got = adls
            .download("/big/big.bin", &dest, false, |done, total| {
                reports.push((done, total))
            })
            .await
            .unwrap();
        assert_eq!(got, total);
        assert!(
            std::fs::read(&dest).unwrap() == data,
            "{p}: downloaded bytes differ"
        );
        assert_eq!(reports.first(), Some(&(0, total)), "{p}");
        assert_eq!(reports.last(), Some(&(total, total)), "{p}");
        assert!(
            reports.len() >= 3,
            "{p}: progress while downloading: {reports:?}"
        );
        let part = adls
            .read("/big/big.bin", 5 * MIB as u64, Some(10))
            .await
            .unwrap();
        assert_eq!(&part[..], &data[5 * MIB..5 * MIB + 10], "{p}");
        adls.remove("/big", true).await.unwrap();
    }
    assert_eq!(scratch.entries(), ["Gen1.bin", "Gen2.bin", "big.bin"]);
}

#[tokio::test]
async fn gen1_sends_at_most_four_mib_per_request() {
    let env = start();
    let scratch = Scratch::new("gen1max");
    let data = random_bytes(9 * MIB);
    let local = scratch.path("nine.bin");
    write_file(&local, &data);
    let adls = env.gen1().with_chunk_size(16 * MIB).unwrap();
    adls.upload(&local, "/nine.bin", false, |_, _| {})
        .await
        .unwrap();
    let sizes: Vec<usize> = env
        .emu
        .service_requests()
        .iter()
        .filter(|r| r.query.contains("write=true") || r.query.contains("append=true"))
        .filter_map(|r| header(r, "content-length").map(|l| l.parse().unwrap()))
        .collect();
    assert_eq!(sizes, [4 * MIB, 4 * MIB, MIB]);
    assert!(adls.read("/nine.bin", 0, None).await.unwrap() == data);
    // In-memory data larger than 4 MiB is split the same way.
    adls.create("/mem.bin", data.clone(), false).await.unwrap();
    assert!(adls.read("/mem.bin", 0, None).await.unwrap() == data);
}

#[tokio::test]
async fn gen1_redirects_to_a_foreign_host_are_refused_without_sending_the_token() {
    let env = start_with(EmulatorConfig {
        redirect_host: Some("localhost".into()),
        redirect_requires_auth: false,
        ..EmulatorConfig::default()
    });
    let adls = env.gen1();
    let e = adls
        .create("/secret.txt", &b"data"[..], false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsecureRequest, "{e}");
    let m = e.to_string();
    assert!(m.contains("redirected to https://localhost:"), "{m}");
    assert!(m.contains("did not send the token"), "{m}");
    // The first request went to the account; nothing went to the foreign host.
    let requests = env.emu.service_requests();
    assert!(
        requests.iter().any(|r| r.query.contains("op=CREATE")),
        "the first step was sent"
    );
    for r in &requests {
        let foreign = header(r, "host").is_some_and(|h| h.starts_with("localhost"))
            || r.query.contains("write=true");
        if foreign {
            assert!(
                header(r, "authorization").is_none(),
                "the token went to the redirect target: {r:?}"
            );
        }
    }
    assert!(
        !requests.iter().any(|r| r.query.contains("write=true")),
        "no data was sent to the foreign host"
    );
    let e = adls.read("/secret.txt", 0, None).await.unwrap_err();
    assert!(
        matches!(e.code(), ErrorCode::NotFound | ErrorCode::InsecureRequest),
        "{e}"
    );
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    let env = start();
    for adls in env.both() {
        let p = name(&adls);
        adls.create("/t.txt", &b"t"[..], true).await.unwrap();
        let before = env.emu.service_counters().requests;
        env.emu.set_service_faults(vec![
            Fault::Status {
                status: 429,
                retry_after: Some(0),
                count: 2,
            },
            Fault::Status {
                status: 503,
                retry_after: None,
                count: 1,
            },
            Fault::Status {
                status: 500,
                retry_after: None,
                count: 1,
            },
        ]);
        let item = adls.stat("/t.txt").await.unwrap();
        assert_eq!(item.length, 1, "{p}");
        assert_eq!(env.emu.service_counters().requests - before, 5, "{p}");

        // Throttling that outlasts the budget is reported as such.
        let impatient = adls.clone().with_retry(RetryPolicy {
            budget: Duration::from_millis(200),
            ..quick()
        });
        env.emu.set_service_faults(vec![Fault::Status {
            status: 429,
            retry_after: None,
            count: 1000,
        }]);
        let e = impatient.stat("/t.txt").await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Throttled, "{p}: {e}");
        assert_eq!(e.http_status(), Some(429), "{p}");
        env.emu.set_service_faults(vec![]);

        // A dropped connection before any data is retried too.
        env.emu.set_service_faults(vec![Fault::Drop { count: 1 }]);
        adls.stat("/t.txt").await.unwrap();
        adls.remove("/t.txt", false).await.unwrap();
    }
}

#[tokio::test]
async fn malformed_answers_are_protocol_errors() {
    let env = start();
    for adls in env.both() {
        let p = name(&adls);
        adls.mkdir("/m").await.unwrap();
        env.emu
            .set_service_faults(vec![Fault::Malformed { count: 1 }]);
        let e = adls.list("/m", false, |_| true).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::ProtocolError, "{p}: {e}");
        assert!(e.to_string().contains("listing '/m'"), "{p}: {e}");
        adls.remove("/m", true).await.unwrap();
    }
}

#[tokio::test]
async fn a_connection_lost_mid_upload_is_reported_with_the_bytes_sent() {
    let env = start();
    let scratch = Scratch::new("drop");
    let data = random_bytes(10 * MIB);
    let local = scratch.path("ten.bin");
    write_file(&local, &data);
    for adls in env.both() {
        let p = name(&adls);
        // One append at a time, so that what was sent before the drop is known.
        let adls = adls
            .with_chunk_size(4 * MIB)
            .unwrap()
            .with_concurrency(1)
            .unwrap()
            .with_retry(RetryPolicy::none());
        let mut armed = false;
        let e = adls
            .upload(&local, "/dropped.bin", false, |done, _| {
                if done >= 4 * MIB as u64 && !armed {
                    armed = true;
                    env.emu.set_service_faults(vec![Fault::DropAfterBytes {
                        bytes: 64 * 1024,
                        count: 10,
                    }]);
                }
            })
            .await
            .unwrap_err();
        env.emu.set_service_faults(vec![]);
        assert_eq!(e.code(), ErrorCode::NetworkError, "{p}: {e}");
        let m = e.to_string();
        assert!(
            m.contains("stopped after 4194304 of 10485760 bytes were sent"),
            "{p}: {m}"
        );
        assert!(m.contains("/dropped.bin"), "{p}: {m}");
        assert!(
            m.contains(&env.emu.https_base_url()[8..]),
            "{p}: names the account: {m}"
        );

        // With retries, one lost connection does not fail the upload.
        let adls = adls.with_retry(quick());
        let mut armed = false;
        adls.upload(&local, "/dropped.bin", true, |done, _| {
            if done >= 4 * MIB as u64 && !armed {
                armed = true;
                env.emu.set_service_faults(vec![Fault::DropAfterBytes {
                    bytes: 64 * 1024,
                    count: 1,
                }]);
            }
        })
        .await
        .unwrap();
        assert!(
            adls.read("/dropped.bin", 0, None).await.unwrap() == data,
            "{p}"
        );
        adls.remove("/dropped.bin", false).await.unwrap();
    }
}

#[tokio::test]
async fn a_failed_download_leaves_the_old_file_intact_and_no_temporary_file() {
    let env = start();
    let scratch = Scratch::new("faileddl");
    let dest = scratch.path("dest.bin");
    let old = b"the old contents that must survive".to_vec();
    for adls in env.both() {
        let p = name(&adls);
        write_file(&dest, &old);
        adls.create("/remote.bin", random_bytes(3 * MIB), true)
            .await
            .unwrap();

        // Refused without overwrite.
        let e = adls
            .download("/remote.bin", &dest, false, |_, _| {})
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Conflict, "{p}: {e}");
        assert_eq!(std::fs::read(&dest).unwrap(), old, "{p}");

        // A missing remote file.
        let e = adls
            .download("/missing.bin", &dest, true, |_, _| {})
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{p}: {e}");
        assert_eq!(std::fs::read(&dest).unwrap(), old, "{p}");

        // The connection fails once data is flowing, and keeps failing.
        let adls = adls.with_retry(RetryPolicy::none());
        let mut armed = false;
        let e = adls
            .download("/remote.bin", &dest, true, |done, _| {
                if !armed {
                    armed = true;
                    assert_eq!(done, 0);
                    env.emu.set_service_faults(vec![Fault::Drop { count: 100 }]);
                }
            })
            .await
            .unwrap_err();
        env.emu.set_service_faults(vec![]);
        assert_eq!(e.code(), ErrorCode::NetworkError, "{p}: {e}");
        assert_eq!(
            std::fs::read(&dest).unwrap(),
            old,
            "{p}: destination untouched"
        );
        assert_eq!(
            scratch.entries(),
            ["dest.bin"],
            "{p}: no temporary file left"
        );

        // A cancelled download (the future dropped) leaves nothing behind either.
        env.emu.set_service_faults(vec![Fault::Delay {
            ms: 5_000,
            count: 10,
        }]);
        let r = tokio::time::timeout(
            Duration::from_millis(300),
            adls.download("/remote.bin", &dest, true, |_, _| {}),
        )
        .await;
        assert!(r.is_err(), "{p}: the download was still waiting");
        env.emu.set_service_faults(vec![]);
        assert_eq!(std::fs::read(&dest).unwrap(), old, "{p}");
        assert_eq!(scratch.entries(), ["dest.bin"], "{p}");

        // A good download replaces it.
        adls.download("/remote.bin", &dest, true, |_, _| {})
            .await
            .unwrap();
        assert_eq!(std::fs::metadata(&dest).unwrap().len(), 3 * MIB as u64);
        assert_eq!(scratch.entries(), ["dest.bin"], "{p}");
        adls.remove("/remote.bin", false).await.unwrap();
    }
}

#[tokio::test]
async fn cancelled_uploads_stop_at_once() {
    let env = start();
    let scratch = Scratch::new("cancel");
    let local = scratch.path("c.bin");
    write_file(&local, &random_bytes(2 * MIB));
    for adls in env.both() {
        let p = name(&adls);
        let adls = adls.with_chunk_size(MIB).unwrap();
        let progress = Arc::new(Mutex::new(Vec::new()));
        env.emu.set_service_faults(vec![
            Fault::Delay { ms: 0, count: 2 },
            Fault::Delay {
                ms: 10_000,
                count: 100,
            },
        ]);
        let started = std::time::Instant::now();
        let seen = Arc::clone(&progress);
        let r = tokio::time::timeout(
            Duration::from_millis(500),
            adls.upload(&local, "/c.bin", true, move |done, _| {
                seen.lock().unwrap().push(done)
            }),
        )
        .await;
        assert!(r.is_err(), "{p}");
        assert!(started.elapsed() < Duration::from_secs(2), "{p}");
        env.emu.set_service_faults(vec![]);
        assert!(!progress.lock().unwrap().contains(&(2 * MIB as u64)), "{p}");
    }
}

#[tokio::test]
async fn errors_name_the_account_and_path_and_keep_the_service_code() {
    let env = start();
    let base = env.emu.https_base_url();
    let host = base.trim_start_matches("https://");
    for (adls, account, code) in [
        (env.gen1(), host.to_string(), "FileNotFoundException"),
        (env.gen2(), format!("{host}/fs"), "PathNotFound"),
    ] {
        let e = adls.stat("/no/such file.txt").await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound);
        assert_eq!(e.http_status(), Some(404));
        let m = e.to_string();
        assert!(m.contains("'/no/such file.txt'"), "{m}");
        assert!(m.contains(&account), "{m}");
        let e = adls.read("/no/such file.txt", 0, None).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
        assert_eq!(e.service_code(), Some(code), "{e}");
        let e = adls
            .append("/no/such file.txt", &b"x"[..])
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
        let e = adls
            .list("/no/such dir", false, |_| true)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
        assert!(e.to_string().contains("listing '/no/such dir'"), "{e}");
    }
}

#[tokio::test]
async fn a_token_for_the_wrong_audience_is_an_authentication_failure() {
    let env = start();
    for adls in env.both() {
        let p = name(&adls);
        let wrong = adls.with_resource("https://management.azure.com/").unwrap();
        let before = env.emu.service_counters().requests;
        let e = wrong.stat("/").await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::AuthenticationFailed, "{p}: {e}");
        assert_eq!(e.http_status(), Some(401), "{p}");
        assert_eq!(
            env.emu.service_counters().requests - before,
            2,
            "{p}: retried once with a new token"
        );
        assert!(!e.to_string().contains("eyJ"), "{p}: no token in messages");
    }
    // The right audience goes with each protocol.
    let last = env.emu.service_requests();
    assert!(last.iter().all(|r| header(r, "authorization").is_some()));
}

#[tokio::test]
async fn denied_paths_are_permission_errors() {
    let env = start_with(EmulatorConfig {
        acl: vec![
            azmi_emulator::AclRule {
                object_id: SYSTEM_OID.into(),
                path_prefix: "/webhdfs/v1/locked".into(),
                read: false,
                write: false,
            },
            azmi_emulator::AclRule {
                object_id: SYSTEM_OID.into(),
                path_prefix: "/fs/locked".into(),
                read: false,
                write: false,
            },
        ],
        ..EmulatorConfig::default()
    });
    for adls in env.both() {
        let p = name(&adls);
        let e = adls
            .create("/locked/x.txt", &b"x"[..], false)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::PermissionDenied, "{p}: {e}");
        assert_eq!(e.http_status(), Some(403), "{p}");
    }
}

#[tokio::test]
async fn requests_carry_what_each_protocol_needs() {
    let env = start();
    env.gen2().create("/v.txt", &b"v"[..], false).await.unwrap();
    env.gen1().create("/v.txt", &b"v"[..], false).await.unwrap();
    let requests = env.emu.service_requests();
    for r in &requests {
        assert_eq!(
            header(r, "authorization"),
            Some("Bearer <redacted>"),
            "{r:?}"
        );
        if r.path.starts_with("/webhdfs/v1") {
            assert!(r.query.contains("api-version=2016-11-01"), "{r:?}");
        } else {
            assert!(header(r, "x-ms-version").is_some(), "{r:?}");
        }
    }
    // Gen2 creates with If-None-Match: * unless overwriting.
    let create = requests
        .iter()
        .find(|r| r.method == "PUT" && r.query.contains("resource=file"))
        .unwrap();
    assert_eq!(header(create, "if-none-match"), Some("*"));
    // Gen1's data went only to the redirect target.
    let creates: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| r.query.contains("op=CREATE"))
        .collect();
    assert_eq!(creates.len(), 2);
    assert_eq!(header(creates[0], "content-length"), Some("0"));
    assert!(creates[1].query.contains("write=true"));
}

/// A minimal WebHDFS server on plain loopback HTTP that answers CREATE, APPEND and OPEN
/// directly (no 307), as some servers do, and records what it was sent.
mod direct_server {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    #[derive(Default)]
    pub struct State {
        pub files: HashMap<String, Vec<u8>>,
        /// (method, path and query, had an Authorization header, body length)
        pub log: Vec<(String, String, bool, usize)>,
    }

    pub async fn start() -> (String, Arc<Mutex<State>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/webhdfs/v1", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    loop {
                        let mut line = String::new();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let mut parts = line.split_whitespace();
                        let method = parts.next().unwrap_or_default().to_owned();
                        let target = parts.next().unwrap_or_default().to_owned();
                        let (mut length, mut auth) = (0usize, false);
                        loop {
                            let mut h = String::new();
                            stream.read_line(&mut h).await.unwrap();
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            let (name, value) = h.split_once(':').unwrap();
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap();
                            }
                            auth |= name.eq_ignore_ascii_case("authorization");
                        }
                        let mut body = vec![0; length];
                        stream.read_exact(&mut body).await.unwrap();
                        let (status, reply) = answer(&state, &method, &target, auth, body);
                        let head = format!(
                            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\r\n",
                            reply.len()
                        );
                        let out = stream.get_mut();
                        out.write_all(head.as_bytes()).await.unwrap();
                        out.write_all(&reply).await.unwrap();
                    }
                });
            }
        });
        (base, state)
    }

    fn answer(
        state: &Mutex<State>,
        method: &str,
        target: &str,
        auth: bool,
        body: Vec<u8>,
    ) -> (&'static str, Vec<u8>) {
        let mut s = state.lock().unwrap();
        s.log
            .push((method.to_owned(), target.to_owned(), auth, body.len()));
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let path = path.trim_start_matches("/webhdfs/v1").to_owned();
        let has = |p: &str| query.split('&').any(|kv| kv == p);
        let op = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("op="))
            .unwrap_or_default();
        match (method, op) {
            ("PUT", "CREATE") => {
                if has("overwrite=false") && s.files.contains_key(&path) {
                    return ("403 Forbidden", br#"{"RemoteException":{"exception":"FileAlreadyExistsException","message":"exists"}}"#.to_vec());
                }
                // Created at once, with whatever came (nothing on the first request).
                s.files.insert(path, body);
                ("201 Created", Vec::new())
            }
            ("POST", "APPEND") => match s.files.get_mut(&path) {
                Some(f) => {
                    f.extend_from_slice(&body);
                    ("200 OK", Vec::new())
                }
                None => ("404 Not Found", br#"{"RemoteException":{"exception":"FileNotFoundException","message":"no"}}"#.to_vec()),
            },
            ("GET", "OPEN") => match s.files.get(&path) {
                Some(f) => ("200 OK", f.clone()),
                None => ("404 Not Found", br#"{"RemoteException":{"exception":"FileNotFoundException","message":"no"}}"#.to_vec()),
            },
            ("GET", "GETFILESTATUS") => match s.files.get(&path) {
                Some(f) => (
                    "200 OK",
                    format!(
                        r#"{{"FileStatus":{{"length":{},"pathSuffix":"","type":"FILE","modificationTime":1,"permission":"644","owner":"o","group":"g"}}}}"#,
                        f.len()
                    )
                    .into_bytes(),
                ),
                None => ("404 Not Found", br#"{"RemoteException":{"exception":"FileNotFoundException","message":"no"}}"#.to_vec()),
            },
            _ => ("400 Bad Request", br#"{"RemoteException":{"exception":"IllegalArgumentException","message":"?"}}"#.to_vec()),
        }
    }
}

#[tokio::test]
async fn gen1_servers_that_answer_the_first_request_directly_also_work() {
    let env = start();
    let (base, state) = direct_server::start().await;
    // Plain HTTP is accepted for a loopback test endpoint only.
    let adls = env
        .azmi
        .adls(&base, AdlsProtocol::Auto, &env.mi)
        .unwrap()
        .with_chunk_size(4 * MIB)
        .unwrap();
    adls.create("/d.txt", &b"direct"[..], false).await.unwrap();
    let e = adls
        .create("/d.txt", &b"again"[..], false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    adls.append("/d.txt", &b" and more"[..]).await.unwrap();
    assert_eq!(
        &adls.read("/d.txt", 0, None).await.unwrap()[..],
        b"direct and more"
    );
    let scratch = Scratch::new("direct");
    let data = random_bytes(9 * MIB);
    let local = scratch.path("nine.bin");
    write_file(&local, &data);
    adls.upload(&local, "/nine.bin", false, |_, _| {})
        .await
        .unwrap();
    let dest = scratch.path("back.bin");
    adls.download("/nine.bin", &dest, false, |_, _| {})
        .await
        .unwrap();
    assert!(std::fs::read(&dest).unwrap() == data);
    let s = state.lock().unwrap();
    assert!(
        s.log.iter().all(|(_, _, auth, _)| *auth),
        "every request had the token"
    );
    // The data went on the direct forms after the first request was answered.
    assert!(s.log.iter().any(|(m, t, _, n)| m == "PUT"
        && t.contains("op=CREATE")
        && t.contains("write=true")
        && *n == 6));
    assert!(s
        .log
        .iter()
        .filter(|(_, t, _, _)| t.contains("append=true"))
        .all(|(_, _, _, n)| *n <= 4 * MIB));
}

#[tokio::test]
async fn an_untrusted_certificate_fails_at_once_with_a_hint_and_no_token_sent() {
    let env = start();
    let azmi = Azmi::new().unwrap();
    azmi.set_extra_ca(None).unwrap(); // the public roots only, whatever AZMI_CA_FILE says
                                      // The default retry budget (30 s): a certificate error must not be retried at all.
    let mi =
        ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &env.emu.token_url()).unwrap();
    let adls = azmi
        .adls(&env.emu.https_base_url(), AdlsProtocol::WebHdfs, &mi)
        .unwrap();
    let started = std::time::Instant::now();
    let e = adls.stat("/").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "retried");
    assert_eq!(e.code(), ErrorCode::InsecureRequest, "{e}");
    let m = e.to_string();
    assert!(
        m.contains("not trusted") && m.contains("AZMI_CA_FILE"),
        "{m}"
    );
    assert_eq!(
        env.emu.service_counters().requests,
        0,
        "no request reached the service"
    );
}

#[tokio::test]
async fn a_path_of_the_wrong_type_is_a_conflict_on_both_protocols() {
    let env = start();
    for adls in env.both() {
        let p = name(&adls);
        adls.create("/wrong-type.txt", &b"x"[..], true)
            .await
            .unwrap();
        let e = adls
            .create("/wrong-type.txt/child.txt", &b"y"[..], false)
            .await
            .unwrap_err();
        assert_eq!(
            e.code(),
            ErrorCode::Conflict,
            "{p}: a file under a file: {e}"
        );
        adls.mkdir("/wrong-type-dir").await.unwrap();
        let e = adls.append("/wrong-type-dir", &b"z"[..]).await.unwrap_err();
        assert_eq!(
            e.code(),
            ErrorCode::Conflict,
            "{p}: appending to a directory: {e}"
        );
    }
}
