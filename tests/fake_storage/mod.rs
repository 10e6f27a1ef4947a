//! A fake Blob endpoint for the tests of what users rely on when transfers meet faults that
//! Azurite and azmi-emulator cannot inject (tests/storage_faults.rs, tests/uploads.rs): a
//! loopback HTTP/1.1 server (one request per connection) that records every request and answers
//! as each test scripts it. Blob requests carry a SAS. Also the helpers those tests share (files,
//! progress checks, the C ABI calls). Included with `mod fake_storage;` after `mod fake_http;`.
#![allow(dead_code)] // each test uses its own part of it

use std::ffi::{c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azmi::ffi::*;
use azmi::{
    Adls, AdlsProtocol, Azmi, Blob, IdentityId, ManagedIdentity, RetryPolicy, TokenOptions,
};
use azmi_emulator::Emulator;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::fake_http::{read_request, Seen};

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * KIB;
/// How long a stalled answer stays silent: far beyond every bound the tests allow.
pub const STALL: Duration = Duration::from_secs(60);
/// The bound on returning after a cancel (generous: the work left is dropping a future).
pub const PROMPTLY: Duration = Duration::from_secs(10);
/// The signature of [`SAS`], which must never appear in a message.
pub const SIGNATURE: &str = "c2VjcmV0LXNpZ25hdHVyZQ";
pub const SAS: &str = "sv=2023-11-03&sr=c&sp=rcw&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D";
pub const CONTAINER: &str = "ctr";
pub const BLOB: &str = "dir/data.bin";

// ---------------------------------------------------------------------------------------------
// The fake endpoint

impl Seen {
    pub fn comp(&self) -> Option<&str> {
        self.query.get("comp").map(String::as_str)
    }

    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }

    pub fn is_get(&self) -> bool {
        self.method == "GET" && self.comp().is_none()
    }

    pub fn is_put_blob(&self) -> bool {
        self.method == "PUT" && self.comp().is_none()
    }

    pub fn is_put_block(&self) -> bool {
        self.method == "PUT" && self.comp() == Some("block")
    }

    pub fn is_block_list(&self) -> bool {
        self.method == "PUT" && self.comp() == Some("blocklist")
    }

    /// The block's number, from azmi's block ids ("azmi-block-000001" in base64).
    pub fn block_index(&self) -> Option<usize> {
        let id = STANDARD.decode(self.query.get("blockid")?).ok()?;
        String::from_utf8(id).ok()?.rsplit('-').next()?.parse().ok()
    }
}

/// What the fake endpoint does with a request.
pub struct Reply {
    /// `None`: no answer at all.
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    /// The body bytes actually sent.
    pub body: Vec<u8>,
    /// The Content-Length announced (more than `body` when the answer is cut short).
    pub length: usize,
    /// Keep the connection open and silent for [`STALL`] after sending, instead of closing it.
    pub stall: bool,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn new(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        Reply {
            status: Some(status),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            length: body.len(),
            body,
            stall: false,
            delay: None,
        }
    }

    pub fn created() -> Reply {
        Reply::new(201, &[], Vec::new())
    }

    /// A storage error answer.
    pub fn error(status: u16, code: &str) -> Reply {
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
    pub fn hang_up() -> Reply {
        Reply {
            status: None,
            headers: Vec::new(),
            body: Vec::new(),
            length: 0,
            stall: false,
            delay: None,
        }
    }

    /// Never answers.
    pub fn silence() -> Reply {
        Reply {
            stall: true,
            ..Reply::hang_up()
        }
    }

    /// Sends only the first `n` body bytes, then closes the connection.
    pub fn cut_after(mut self, n: usize) -> Reply {
        self.body.truncate(n);
        self
    }

    /// Answers only after `delay`.
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay);
        self
    }

    /// Sends only the first `n` body bytes, then goes silent.
    pub fn stall_after(mut self, n: usize) -> Reply {
        self.body.truncate(n);
        self.stall = true;
        self
    }

    pub async fn send(self, socket: &mut TcpStream) {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
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
pub type Script = dyn Fn(&Seen, &[Seen]) -> Reply + Send + Sync;

/// A fake Blob endpoint on 127.0.0.1, running on the given runtime until that runtime ends.
pub struct Fake {
    pub account: String,
    pub log: Arc<Mutex<Vec<Seen>>>,
    /// Connections accepted (one per request azmi started, answered or not).
    pub connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl Fake {
    pub fn start(
        runtime: &tokio::runtime::Handle,
        script: impl Fn(&Seen, &[Seen]) -> Reply + Send + Sync + 'static,
    ) -> Fake {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let served = Arc::clone(&log);
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let accepted = Arc::clone(&connections);
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((socket, _)) = listener.accept().await {
                accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(answer(socket, Arc::clone(&served), Arc::clone(&script)));
            }
        });
        Fake {
            account: format!("http://127.0.0.1:{port}/devstoreaccount1"),
            log,
            connections,
        }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    pub fn count(&self, which: impl Fn(&Seen) -> bool) -> usize {
        self.log.lock().unwrap().iter().filter(|s| which(s)).count()
    }
}

pub async fn answer(mut socket: TcpStream, log: Arc<Mutex<Vec<Seen>>>, script: Arc<Script>) {
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
pub struct Version {
    pub data: Arc<Vec<u8>>,
    pub etag: Option<String>,
    md5: Option<String>,
}

impl Version {
    /// Content with its true MD5.
    pub fn new(data: Vec<u8>, etag: &str) -> Version {
        Version {
            md5: Some(md5_of(&data)),
            data: Arc::new(data),
            etag: Some(etag.to_owned()),
        }
    }

    pub fn without_md5(mut self) -> Version {
        self.md5 = None;
        self
    }

    pub fn without_etag(mut self) -> Version {
        self.etag = None;
        self
    }

    /// The service holds the MD5 of other bytes (corruption at rest or in transit).
    pub fn with_md5_of(mut self, other: &[u8]) -> Version {
        self.md5 = Some(md5_of(other));
        self
    }

    pub fn headers(&self) -> Vec<(&str, &str)> {
        let mut headers = vec![("x-ms-blob-type", "BlockBlob")];
        if let Some(etag) = &self.etag {
            headers.push(("ETag", etag));
        }
        headers
    }

    /// Get Blob Properties.
    pub fn properties(&self) -> Reply {
        let mut headers = self.headers();
        if let Some(md5) = &self.md5 {
            headers.push(("Content-MD5", md5));
        }
        let mut reply = Reply::new(200, &headers, Vec::new());
        reply.length = self.data.len();
        reply
    }

    /// Get Blob, honouring If-Match as the service does.
    pub fn get(&self, seen: &Seen) -> Reply {
        match seen.header("if-match") {
            Some(wanted) if Some(wanted) != self.etag.as_deref() => {
                Reply::error(412, "ConditionNotMet")
            }
            _ => self.get_ignoring_if_match(seen),
        }
    }

    /// Get Blob from a service (or proxy) that ignores If-Match: whatever version it has now.
    pub fn get_ignoring_if_match(&self, seen: &Seen) -> Reply {
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

pub fn md5_of(data: &[u8]) -> String {
    STANDARD.encode(Md5::digest(data))
}

/// Bytes that differ at every position of a block; `seed` makes another blob of one length.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 977) as u8 ^ seed).collect()
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Quick retries, so that failing cases end in about a second.
pub fn quick() -> RetryPolicy {
    RetryPolicy {
        budget: Duration::from_secs(1),
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    }
}

/// Retries with room to spare, for tests that need a retry to happen: a budget far beyond the
/// time a request may take on a loaded machine (the budget counts from the request's start).
pub fn patient() -> RetryPolicy {
    RetryPolicy {
        budget: Duration::from_secs(60),
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    }
}

pub fn client(fake: &Fake) -> Blob {
    Azmi::new()
        .unwrap()
        .blob_with_sas(&fake.account, SAS)
        .unwrap()
        .with_retry(quick())
}

/// A scratch folder holding `name` with content `precious`.
pub fn folder_with(name: &str, precious: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, precious).unwrap();
    (dir, path)
}

/// The names of the files in `dir`, sorted.
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The destination holds `precious` still and is the only file beside it (no temporary file).
pub fn assert_untouched(dest: &Path, precious: &[u8]) {
    assert!(
        std::fs::read(dest).unwrap() == precious,
        "the destination was changed"
    );
    let name = dest.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(files_in(dest.parent().unwrap()), vec![name]);
}

/// Progress reports start at 0, never go back, never pass the total and, on success, end at it.
pub fn assert_progress(reports: &[(u64, u64)], total: u64, finished: bool) {
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
pub fn serve_download(
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
/// came before), Put Block List with 201, and Put Blob with [`stored`].
pub fn serve_upload(
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
        } else if seen.is_block_list() {
            Reply::created()
        } else if seen.is_put_blob() {
            stored(seen)
        } else {
            Reply::error(400, "UnsupportedHttpVerb")
        }
    }
}

/// Put Blob's answer as the service gives it: 201 with the MD5 it computed of the data and the
/// new version's ETag.
pub fn stored(seen: &Seen) -> Reply {
    Reply::new(
        201,
        &[
            ("Content-MD5", &md5_of(&seen.body)),
            ("ETag", "\"0x8DPUT\""),
        ],
        Vec::new(),
    )
}

/// The blob a block list commits: the last body sent for each listed id, in the list's order.
pub fn committed(requests: &[Seen]) -> Vec<u8> {
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
// Through the C ABI

/// A runtime of its own for the fake endpoint: the C ABI blocks the test's thread.
pub fn fake_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

pub fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A cancel handle shared with the thread that cancels it.
pub struct SharedCancel(pub *mut azmi_cancel);
// SAFETY: azmi_cancel_cancel is safe from any thread; the handle outlives the scoped threads.
unsafe impl Sync for SharedCancel {}

impl SharedCancel {
    pub fn cancel(&self) {
        // SAFETY: a live handle from azmi_cancel_new.
        unsafe { azmi_cancel_cancel(self.0) };
    }
}

/// Progress reports, readable from another thread while the call runs.
#[derive(Default)]
pub struct Reports(Mutex<Vec<(u64, u64)>>);

impl Reports {
    pub fn get(&self) -> Vec<(u64, u64)> {
        self.0.lock().unwrap().clone()
    }
}

pub unsafe extern "C" fn on_progress(userdata: *mut c_void, done: u64, total: i64) {
    // SAFETY: the tests pass a live Reports as userdata.
    let reports = unsafe { &*(userdata as *const Reports) };
    reports.0.lock().unwrap().push((done, total as u64));
}

/// Waits until `ok` (at most 20 s); returns whether it became true.
pub fn wait_until(mut ok: impl FnMut() -> bool) -> bool {
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
pub fn open_blob(fake: &Fake) -> *mut azmi_blob {
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
pub fn outcome(status: azmi_status, err: *mut azmi_error) -> (azmi_status, String) {
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

pub fn ffi_download(
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

pub fn ffi_upload(
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

/// A Data Lake client of `protocol` for the fake endpoint, with tokens from `emu`'s IMDS.
pub fn adls_client(emu: &Emulator, fake: &Fake, protocol: AdlsProtocol) -> Adls {
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
