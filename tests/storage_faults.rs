//! Blob and Data Lake downloads and uploads under faults that Azurite and azmi-emulator cannot
//! inject, against a fake storage endpoint written here: a loopback HTTP/1.1 server (one request per connection) that records
//! every request and answers as each test scripts it — a wrong Content-MD5, a body cut short, a
//! blob replaced between two attempts, a service that ignores If-Match, an answer that never
//! comes, a block that keeps failing. Blob requests carry a SAS; Data Lake ones a token from
//! azmi-emulator's IMDS (plain HTTP to loopback, which azmi allows for tests).
//!
//! What is checked is what a user relies on: a destination file is replaced only by the whole,
//! verified blob (never by two versions stitched together) and is otherwise left as it was, with
//! no temporary file behind; a block upload that does not finish never commits a block list;
//! cancellation through the C ABI returns promptly; progress never passes the total.

use std::ffi::{c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azmi::ffi::*;
use azmi::{
    Adls, AdlsProtocol, Azmi, Blob, ErrorCode, IdentityId, ManagedIdentity, RetryPolicy,
    TokenOptions,
};
use azmi_emulator::{Emulator, EmulatorConfig};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

mod fake_http;
use fake_http::{read_request, Seen};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
/// How long a stalled answer stays silent: far beyond every bound the tests allow.
const STALL: Duration = Duration::from_secs(60);
/// The bound on returning after a cancel (generous: the work left is dropping a future).
const PROMPTLY: Duration = Duration::from_secs(10);
/// The signature of [`SAS`], which must never appear in a message.
const SIGNATURE: &str = "c2VjcmV0LXNpZ25hdHVyZQ";
const SAS: &str = "sv=2023-11-03&sr=c&sp=rcw&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D";
const CONTAINER: &str = "ctr";
const BLOB: &str = "dir/data.bin";

// ---------------------------------------------------------------------------------------------
// The fake endpoint

impl Seen {
    fn comp(&self) -> Option<&str> {
        self.query.get("comp").map(String::as_str)
    }

    fn is_head(&self) -> bool {
        self.method == "HEAD"
    }

    fn is_get(&self) -> bool {
        self.method == "GET" && self.comp().is_none()
    }

    fn is_put_blob(&self) -> bool {
        self.method == "PUT" && self.comp().is_none()
    }

    fn is_put_block(&self) -> bool {
        self.method == "PUT" && self.comp() == Some("block")
    }

    fn is_block_list(&self) -> bool {
        self.method == "PUT" && self.comp() == Some("blocklist")
    }

    /// The block's number, from azmi's block ids ("azmi-block-000001" in base64).
    fn block_index(&self) -> Option<usize> {
        let id = STANDARD.decode(self.query.get("blockid")?).ok()?;
        String::from_utf8(id).ok()?.rsplit('-').next()?.parse().ok()
    }
}

/// What the fake endpoint does with a request.
struct Reply {
    /// `None`: no answer at all.
    status: Option<u16>,
    headers: Vec<(String, String)>,
    /// The body bytes actually sent.
    body: Vec<u8>,
    /// The Content-Length announced (more than `body` when the answer is cut short).
    length: usize,
    /// Keep the connection open and silent for [`STALL`] after sending, instead of closing it.
    stall: bool,
}

impl Reply {
    fn new(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        Reply {
            status: Some(status),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            length: body.len(),
            body,
            stall: false,
        }
    }

    fn created() -> Reply {
        Reply::new(201, &[], Vec::new())
    }

    /// A storage error answer.
    fn error(status: u16, code: &str) -> Reply {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>fake {code}</Message></Error>"
        );
        Reply::new(
            status,
            &[
                ("x-ms-error-code", code),
                ("Content-Type", "application/xml"),
            ],
            xml.into_bytes(),
        )
    }

    /// Closes the connection without answering (a connection lost after the request was sent).
    fn hang_up() -> Reply {
        Reply {
            status: None,
            headers: Vec::new(),
            body: Vec::new(),
            length: 0,
            stall: false,
        }
    }

    /// Never answers.
    fn silence() -> Reply {
        Reply {
            stall: true,
            ..Reply::hang_up()
        }
    }

    /// Sends only the first `n` body bytes, then closes the connection.
    fn cut_after(mut self, n: usize) -> Reply {
        self.body.truncate(n);
        self
    }

    /// Sends only the first `n` body bytes, then goes silent.
    fn stall_after(mut self, n: usize) -> Reply {
        self.body.truncate(n);
        self.stall = true;
        self
    }

    async fn send(self, socket: &mut TcpStream) {
        if let Some(status) = self.status {
            let mut head = format!(
                "HTTP/1.1 {status} Fake\r\nContent-Length: {}\r\nConnection: close\r\n",
                self.length
            );
            for (name, value) in &self.headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&self.body).await;
            let _ = socket.flush().await;
        }
        if self.stall {
            tokio::time::sleep(STALL).await;
        }
        let _ = socket.shutdown().await;
    }
}

/// Decides the reply to a request, given the requests received before it.
type Script = dyn Fn(&Seen, &[Seen]) -> Reply + Send + Sync;

/// A fake Blob endpoint on 127.0.0.1, running on the given runtime until that runtime ends.
struct Fake {
    account: String,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    fn start(
        runtime: &tokio::runtime::Handle,
        script: impl Fn(&Seen, &[Seen]) -> Reply + Send + Sync + 'static,
    ) -> Fake {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let served = Arc::clone(&log);
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(answer(socket, Arc::clone(&served), Arc::clone(&script)));
            }
        });
        Fake {
            account: format!("http://127.0.0.1:{port}/devstoreaccount1"),
            log,
        }
    }

    fn requests(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    fn count(&self, which: impl Fn(&Seen) -> bool) -> usize {
        self.log.lock().unwrap().iter().filter(|s| which(s)).count()
    }
}

async fn answer(mut socket: TcpStream, log: Arc<Mutex<Vec<Seen>>>, script: Arc<Script>) {
    let Some(seen) = read_request(&mut socket).await else {
        return;
    };
    let reply = {
        let mut log = log.lock().unwrap();
        let reply = script(&seen, &log);
        log.push(seen);
        reply
    };
    reply.send(&mut socket).await;
}

// ---------------------------------------------------------------------------------------------
// Blob versions as the service holds them

/// One version of the blob: its content, ETag and stored MD5.
#[derive(Clone)]
struct Version {
    data: Arc<Vec<u8>>,
    etag: Option<String>,
    md5: Option<String>,
}

impl Version {
    /// Content with its true MD5.
    fn new(data: Vec<u8>, etag: &str) -> Version {
        Version {
            md5: Some(md5_of(&data)),
            data: Arc::new(data),
            etag: Some(etag.to_owned()),
        }
    }

    fn without_md5(mut self) -> Version {
        self.md5 = None;
        self
    }

    fn without_etag(mut self) -> Version {
        self.etag = None;
        self
    }

    /// The service holds the MD5 of other bytes (corruption at rest or in transit).
    fn with_md5_of(mut self, other: &[u8]) -> Version {
        self.md5 = Some(md5_of(other));
        self
    }

    fn headers(&self) -> Vec<(&str, &str)> {
        let mut headers = vec![("x-ms-blob-type", "BlockBlob")];
        if let Some(etag) = &self.etag {
            headers.push(("ETag", etag));
        }
        headers
    }

    /// Get Blob Properties.
    fn properties(&self) -> Reply {
        let mut headers = self.headers();
        if let Some(md5) = &self.md5 {
            headers.push(("Content-MD5", md5));
        }
        let mut reply = Reply::new(200, &headers, Vec::new());
        reply.length = self.data.len();
        reply
    }

    /// Get Blob, honouring If-Match as the service does.
    fn get(&self, seen: &Seen) -> Reply {
        match seen.header("if-match") {
            Some(wanted) if Some(wanted) != self.etag.as_deref() => {
                Reply::error(412, "ConditionNotMet")
            }
            _ => self.get_ignoring_if_match(seen),
        }
    }

    /// Get Blob from a service (or proxy) that ignores If-Match: whatever version it has now.
    fn get_ignoring_if_match(&self, seen: &Seen) -> Reply {
        let total = self.data.len();
        let mut headers = self.headers();
        let from = seen
            .header("x-ms-range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .map(|from| from.parse::<usize>().unwrap());
        match from {
            None => {
                if let Some(md5) = &self.md5 {
                    headers.push(("Content-MD5", md5));
                }
                Reply::new(200, &headers, self.data.to_vec())
            }
            Some(from) => {
                let range = format!("bytes {from}-{}/{total}", total - 1);
                headers.push(("Content-Range", &range));
                Reply::new(206, &headers, self.data[from..].to_vec())
            }
        }
    }
}

fn md5_of(data: &[u8]) -> String {
    STANDARD.encode(Md5::digest(data))
}

/// Bytes that differ at every position of a block; `seed` makes another blob of one length.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 977) as u8 ^ seed).collect()
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Quick retries, so that failing cases end in about a second.
fn quick() -> RetryPolicy {
    RetryPolicy {
        budget: Duration::from_secs(1),
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    }
}

fn client(fake: &Fake) -> Blob {
    Azmi::new()
        .unwrap()
        .blob_with_sas(&fake.account, SAS)
        .unwrap()
        .with_retry(quick())
}

/// A scratch folder holding `name` with content `precious`.
fn folder_with(name: &str, precious: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, precious).unwrap();
    (dir, path)
}

/// The names of the files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The destination holds `precious` still and is the only file beside it (no temporary file).
fn assert_untouched(dest: &Path, precious: &[u8]) {
    assert!(
        std::fs::read(dest).unwrap() == precious,
        "the destination was changed"
    );
    let name = dest.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(files_in(dest.parent().unwrap()), vec![name]);
}

/// Progress reports start at 0, never go back, never pass the total and, on success, end at it.
fn assert_progress(reports: &[(u64, u64)], total: u64, finished: bool) {
    assert_eq!(reports.first(), Some(&(0, total)), "{reports:?}");
    assert!(reports.iter().all(|&(_, t)| t == total), "{reports:?}");
    assert!(reports.iter().all(|&(d, _)| d <= total), "{reports:?}");
    assert!(reports.windows(2).all(|w| w[0].0 <= w[1].0), "{reports:?}");
    if finished {
        assert_eq!(reports.last(), Some(&(total, total)), "{reports:?}");
    }
}

/// A blob whose Get Blob Properties describes `version`; each Get Blob is answered by `gets`,
/// given how many Get Blobs came before it.
fn serve_download(
    version: Version,
    gets: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Seen, &[Seen]) -> Reply + Send + Sync + 'static {
    move |seen, earlier| {
        if seen.is_head() {
            version.properties()
        } else if seen.is_get() {
            gets(seen, earlier.iter().filter(|s| s.is_get()).count())
        } else {
            Reply::error(400, "UnsupportedHttpVerb")
        }
    }
}

/// Answers each Put Block with `blocks` (given the block's number and how many attempts at it
/// came before), and Put Block List and Put Blob with 201.
fn serve_upload(
    blocks: impl Fn(usize, usize) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Seen, &[Seen]) -> Reply + Send + Sync + 'static {
    move |seen, earlier| {
        if seen.is_put_block() {
            let index = seen.block_index().expect("an azmi block id");
            let attempts = earlier
                .iter()
                .filter(|s| s.is_put_block() && s.block_index() == Some(index))
                .count();
            blocks(index, attempts)
        } else if seen.is_block_list() || seen.is_put_blob() {
            Reply::created()
        } else {
            Reply::error(400, "UnsupportedHttpVerb")
        }
    }
}

/// The blob a block list commits: the last body sent for each listed id, in the list's order.
fn committed(requests: &[Seen]) -> Vec<u8> {
    let list = requests
        .iter()
        .find(|s| s.is_block_list())
        .expect("a Put Block List");
    let xml = String::from_utf8(list.body.clone()).unwrap();
    let mut data = Vec::new();
    for id in xml.split("<Latest>").skip(1) {
        let id = &id[..id.find("</Latest>").unwrap()];
        let block = requests
            .iter()
            .rev()
            .find(|s| s.is_put_block() && s.query.get("blockid").map(String::as_str) == Some(id))
            .expect("every listed block was sent");
        data.extend_from_slice(&block.body);
    }
    data
}

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

// ---------------------------------------------------------------------------------------------
// Uploads through the Rust API

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
        .with_block_size(64 * KIB)
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
        .with_block_size(64 * KIB)
        .unwrap()
        .upload(&local, CONTAINER, BLOB, true, |d, t| reports.push((d, t)))
        .await
        .unwrap_err();

    assert_eq!(e.http_status(), Some(500), "{e}");
    let sent = 64 * KIB;
    assert!(
        e.to_string()
            .contains(&format!("stopped after {sent} of {total} bytes were sent")),
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
    assert_eq!(reports.last(), Some(&(sent as u64, total)));
}

// ---------------------------------------------------------------------------------------------
// Through the C ABI

/// A runtime of its own for the fake endpoint: the C ABI blocks the test's thread.
fn fake_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A cancel handle shared with the thread that cancels it.
struct SharedCancel(*mut azmi_cancel);
// SAFETY: azmi_cancel_cancel is safe from any thread; the handle outlives the scoped threads.
unsafe impl Sync for SharedCancel {}

impl SharedCancel {
    fn cancel(&self) {
        // SAFETY: a live handle from azmi_cancel_new.
        unsafe { azmi_cancel_cancel(self.0) };
    }
}

/// Progress reports, readable from another thread while the call runs.
#[derive(Default)]
struct Reports(Mutex<Vec<(u64, u64)>>);

impl Reports {
    fn get(&self) -> Vec<(u64, u64)> {
        self.0.lock().unwrap().clone()
    }
}

unsafe extern "C" fn on_progress(userdata: *mut c_void, done: u64, total: i64) {
    // SAFETY: the tests pass a live Reports as userdata.
    let reports = unsafe { &*(userdata as *const Reports) };
    reports.0.lock().unwrap().push((done, total as u64));
}

/// Waits until `ok` (at most 20 s); returns whether it became true.
fn wait_until(mut ok: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// The account of `fake` with the SAS, through the C ABI.
fn open_blob(fake: &Fake) -> *mut azmi_blob {
    let account = c(&fake.account);
    let sas = c(SAS);
    let mut blob = std::ptr::null_mut();
    // SAFETY: valid strings and out-pointer.
    let status = unsafe {
        azmi_blob_new(
            account.as_ptr(),
            sas.as_ptr(),
            std::ptr::null(),
            &mut blob,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(status, azmi_status::AZMI_OK);
    blob
}

/// The status and message of a call (the error, if any, is freed).
fn outcome(status: azmi_status, err: *mut azmi_error) -> (azmi_status, String) {
    if err.is_null() {
        return (status, String::new());
    }
    // SAFETY: an error from the library, freed once.
    unsafe {
        let message = CStr::from_ptr(azmi_error_message(err))
            .to_string_lossy()
            .into_owned();
        azmi_error_free(err);
        (status, message)
    }
}

fn ffi_download(
    blob: *mut azmi_blob,
    dest: &Path,
    cancel: *const azmi_cancel,
    reports: &Reports,
) -> (azmi_status, String) {
    let (container, name, local) = (c(CONTAINER), c(BLOB), c(dest.to_str().unwrap()));
    let mut err = std::ptr::null_mut();
    // SAFETY: live objects, valid strings; `reports` outlives the call.
    let status = unsafe {
        azmi_blob_download(
            blob,
            container.as_ptr(),
            name.as_ptr(),
            local.as_ptr(),
            AZMI_BLOB_OVERWRITE,
            cancel,
            Some(on_progress),
            reports as *const Reports as *mut c_void,
            &mut err,
        )
    };
    outcome(status, err)
}

fn ffi_upload(
    blob: *mut azmi_blob,
    local: &Path,
    cancel: *const azmi_cancel,
    reports: &Reports,
) -> (azmi_status, String) {
    let (container, name, local) = (c(CONTAINER), c(BLOB), c(local.to_str().unwrap()));
    let mut err = std::ptr::null_mut();
    // SAFETY: live objects, valid strings; `reports` outlives the call.
    let status = unsafe {
        azmi_blob_upload(
            blob,
            local.as_ptr(),
            container.as_ptr(),
            name.as_ptr(),
            AZMI_BLOB_OVERWRITE,
            cancel,
            Some(on_progress),
            reports as *const Reports as *mut c_void,
            &mut err,
        )
    };
    outcome(status, err)
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

#[test]
fn c_abi_cancelling_a_stalled_block_upload_commits_nothing() {
    let runtime = fake_runtime();
    // The second Put Block (of two: 8 MiB and 1 MiB) never gets an answer.
    let fake = Fake::start(
        runtime.handle(),
        serve_upload(|index, _| {
            if index == 1 {
                Reply::silence()
            } else {
                Reply::created()
            }
        }),
    );
    let data = pattern(9 * MIB, 0);
    let total = data.len() as u64;
    let (_dir, local) = folder_with("up.bin", &data);
    let account = open_blob(&fake);
    let cancel = SharedCancel(azmi_cancel_new());
    let reports = Reports::default();

    let ((status, message), returned, (cancelled, stalled)) = std::thread::scope(|s| {
        let canceller = s.spawn(|| {
            let stalled =
                wait_until(|| fake.count(|s| s.is_put_block() && s.block_index() == Some(1)) > 0);
            std::thread::sleep(Duration::from_millis(200));
            let at = Instant::now();
            cancel.cancel();
            (at, stalled)
        });
        let outcome = ffi_upload(account, &local, cancel.0, &reports);
        (outcome, Instant::now(), canceller.join().unwrap())
    });

    assert!(stalled, "the second block was never sent");
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
// Data Lake downloads: resumed only from the version they started with

/// A Data Lake client of `protocol` for the fake endpoint, with tokens from `emu`'s IMDS.
fn adls_client(emu: &Emulator, fake: &Fake, protocol: AdlsProtocol) -> Adls {
    let base = fake.account.trim_end_matches("/devstoreaccount1");
    let url = match protocol {
        AdlsProtocol::Dfs => format!("{base}/fs"),
        _ => base.to_owned(),
    };
    let mi = ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &emu.token_url())
        .unwrap()
        .with_options(TokenOptions {
            retry: quick(),
            ..TokenOptions::default()
        });
    Azmi::new()
        .unwrap()
        .adls(&url, protocol, &mi)
        .unwrap()
        .with_retry(quick())
}

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
