//! What azmi does when an endpoint misbehaves as an attacker's or a broken one would, against
//! small fake servers on loopback written here:
//!
//! - answers too long to hold (a token answer declaring 2 GB, an endless chunked body, an
//!   endless Key Vault or error answer) are cut off while reading, fail as a protocol error
//!   naming the endpoint and the limit, and are not asked for again;
//! - a redirect (3xx) or a success status the operation never gives is an error, never taken as
//!   "done" (Blob upload and download, Key Vault), and says that azmi does not follow redirects;
//! - blob and container names cannot leave their container: `.`/`..` segments and malformed
//!   container names are refused before anything is sent, other characters are percent-encoded;
//! - a huge resource string is an invalid argument said before anything is sent.

use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azmi::ffi::*;
use azmi::{Azmi, ErrorCode, IdentityId, ManagedIdentity, RetryPolicy, TokenOptions};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

mod fake_http;
use fake_http::read_request;

const SAS: &str = "sv=2023-11-03&sr=c&sp=rcw&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D";
const SIGNATURE: &str = "c2VjcmV0LXNpZ25hdHVyZQ";

/// How a fake endpoint answers every request.
#[derive(Clone)]
enum Answer {
    /// A complete answer.
    Plain {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// `Content-Length: <declared>`, then zeros for as long as the client reads.
    Declared { status: u16, declared: u64 },
    /// A chunked body that never ends.
    Endless { status: u16 },
}

/// A fake HTTP/1.1 endpoint on 127.0.0.1 (one request per connection) that records the request
/// line of every request and how many body bytes it managed to send.
struct Fake {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
    sent: Arc<AtomicUsize>,
}

impl Fake {
    fn start(runtime: &tokio::runtime::Handle, answer: Answer) -> Fake {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(AtomicUsize::new(0));
        let (log, counter) = (Arc::clone(&requests), Arc::clone(&sent));
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((socket, _)) = listener.accept().await {
                let (log, counter, answer) =
                    (Arc::clone(&log), Arc::clone(&counter), answer.clone());
                tokio::spawn(serve(socket, log, counter, answer));
            }
        });
        Fake {
            base: format!("http://127.0.0.1:{port}"),
            requests,
            sent,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(
    mut socket: TcpStream,
    log: Arc<Mutex<Vec<String>>>,
    sent: Arc<AtomicUsize>,
    answer: Answer,
) {
    let Some(seen) = read_request(&mut socket).await else {
        return;
    };
    // "METHOD /path" as sent: the query may hold a SAS, which never goes into test output.
    let path = seen.target.split('?').next().unwrap_or("");
    let method = seen.method.as_str();
    if path == TOKEN_PATH {
        // Service tests: the fake hands out tokens here, and misbehaves everywhere else.
        return answer_with_token(socket).await;
    }
    if path.ends_with("/oauth2/token") && seen.header("metadata") != Some("true") {
        // azmi's first request to a token endpoint asks, without the Metadata header, whether
        // IMDS is there: answered as IMDS does, so that the token request itself misbehaves.
        return answer_like_imds_without_the_header(socket).await;
    }
    log.lock().unwrap().push(format!("{method} {path}"));
    let zeros = vec![b'0'; 16 * 1024];
    match answer {
        Answer::Plain {
            status,
            headers,
            body,
        } => {
            let mut text = format!(
                "HTTP/1.1 {status} Fake\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                text.push_str(&format!("{name}: {value}\r\n"));
            }
            text.push_str("\r\n");
            let _ = socket.write_all(text.as_bytes()).await;
            let _ = socket.write_all(&body).await;
        }
        Answer::Declared { status, declared } => {
            let head = format!(
                "HTTP/1.1 {status} Fake\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
            );
            let _ = socket.write_all(head.as_bytes()).await;
            while socket.write_all(&zeros).await.is_ok() {
                if sent.fetch_add(zeros.len(), Ordering::Relaxed) as u64 > declared {
                    break;
                }
            }
        }
        Answer::Endless { status } => {
            let head = format!(
                "HTTP/1.1 {status} Fake\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let mut framed = format!("{:x}\r\n", zeros.len()).into_bytes();
            framed.extend_from_slice(&zeros);
            framed.extend_from_slice(b"\r\n");
            // Stops only when azmi hangs up (or after 4 GiB, which would fail the test).
            while sent.load(Ordering::Relaxed) < 4 << 30 && socket.write_all(&framed).await.is_ok()
            {
                sent.fetch_add(zeros.len(), Ordering::Relaxed);
            }
        }
    }
    let _ = socket.shutdown().await;
}

const TOKEN_PATH: &str = "/metadata/identity/oauth2/token";

async fn answer_like_imds_without_the_header(socket: TcpStream) {
    let body =
        br#"{"error":"bad_request_102","error_description":"Required metadata header not specified"}"#;
    answer_json(socket, "400 Bad Request", body).await;
}

async fn answer_with_token(socket: TcpStream) {
    let body = br#"{"access_token":"fake-token","expires_in":"3600","token_type":"Bearer"}"#;
    answer_json(socket, "200 OK", body).await;
}

async fn answer_json(mut socket: TcpStream, status: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = socket.write_all(head.as_bytes()).await;
    let _ = socket.write_all(body).await;
    let _ = socket.shutdown().await;
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        budget: Duration::from_secs(2),
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    }
}

/// An identity whose token endpoint is the fake's `path`, with quick retries.
fn identity_at(fake: &Fake, path: &str) -> ManagedIdentity {
    ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &format!("{}{path}", fake.base))
        .unwrap()
        .with_options(TokenOptions {
            retry: quick(),
            ..TokenOptions::default()
        })
}

// ---------------------------------------------------------------------------------------------
// Bounded answers

fn assert_token_answer_refused(answer: Answer) {
    let rt = runtime();
    let fake = Fake::start(rt.handle(), answer);
    // Not TOKEN_PATH, where the fake answers well.
    let mi = identity_at(&fake, "/misbehaving/oauth2/token");
    let azmi = Azmi::new().unwrap();
    let started = Instant::now();
    let e = rt
        .block_on(azmi.get_token(&mi, "https://vault.azure.net", false))
        .map(|_| ())
        .unwrap_err();
    let message = e.to_string();
    assert_eq!(e.code(), ErrorCode::ProtocolError, "{message}");
    assert!(
        message.contains(&fake.base.replace("http://", "")),
        "{message}"
    );
    assert!(message.contains("65536 bytes"), "{message}");
    // Not retried: the endpoint would answer the same way again.
    assert_eq!(fake.requests().len(), 1, "{:?}", fake.requests());
    assert!(started.elapsed() < Duration::from_secs(10));
    // Reading stopped near the limit: nothing like the whole answer came in (the fake counts
    // what the socket accepted, which includes the kernel's buffers).
    assert!(
        fake.sent.load(Ordering::Relaxed) < 64 << 20,
        "{} bytes were sent before azmi stopped reading",
        fake.sent.load(Ordering::Relaxed)
    );
}

#[test]
fn a_token_answer_declaring_2_gb_is_refused_before_it_is_read_and_not_retried() {
    assert_token_answer_refused(Answer::Declared {
        status: 200,
        declared: 2 << 30,
    });
}

#[test]
fn an_endless_chunked_token_answer_is_cut_off_at_the_limit() {
    assert_token_answer_refused(Answer::Endless { status: 200 });
}

#[test]
fn an_endless_error_answer_from_the_token_endpoint_is_not_retried() {
    // A 500 is retried when it is an answer; an endless one is not an answer.
    assert_token_answer_refused(Answer::Endless { status: 500 });
}

#[test]
fn an_endless_key_vault_answer_is_cut_off_naming_the_vault_and_the_limit() {
    let rt = runtime();
    let fake = Fake::start(rt.handle(), Answer::Endless { status: 200 });
    let azmi = Azmi::new().unwrap();
    // The fake answers the anonymous challenge request with data: the vault asked for no
    // token, and the real request's answer never ends.
    let vault = azmi
        .keyvault(&fake.base, &identity_at(&fake, TOKEN_PATH))
        .unwrap()
        .with_retry(quick());
    let e = rt.block_on(vault.get_secret("mi-test", None)).unwrap_err();
    let message = e.to_string();
    assert_eq!(e.code(), ErrorCode::ProtocolError, "{message}");
    assert!(message.contains("longer than"), "{message}");
    assert!(
        message.contains(&fake.base.replace("http://", "")),
        "{message}"
    );
    assert!(fake.sent.load(Ordering::Relaxed) < 256 << 20);
}

// ---------------------------------------------------------------------------------------------
// No 3xx success

fn redirect_to(location: &str) -> Answer {
    Answer::Plain {
        status: 302,
        headers: vec![("Location", location.to_owned())],
        body: Vec::new(),
    }
}

fn blob_client(fake: &Fake) -> azmi::Blob {
    Azmi::new()
        .unwrap()
        .blob_with_sas(&format!("{}/devstoreaccount1", fake.base), SAS)
        .unwrap()
        .with_retry(quick())
}

fn assert_redirect_refused(e: &azmi::Error, to: &str) {
    let message = e.to_string();
    assert_eq!(e.code(), ErrorCode::ProtocolError, "{message}");
    assert_eq!(e.http_status(), Some(302), "{message}");
    assert!(message.contains("redirected"), "{message}");
    assert!(message.contains("does not follow redirects"), "{message}");
    assert!(message.contains(to), "{message}");
    assert!(!message.contains(SIGNATURE), "{message}");
}

#[test]
fn blob_writes_and_reads_answered_by_a_redirect_fail_and_are_not_followed() {
    let rt = runtime();
    let fake = Fake::start(
        rt.handle(),
        redirect_to("https://elsewhere.example/devstoreaccount1/ctr/x?sig=other"),
    );
    let blob = blob_client(&fake);
    let e = rt
        .block_on(blob.upload_bytes("ctr", "x.txt", "data", true))
        .unwrap_err();
    assert_redirect_refused(&e, "https://elsewhere.example/devstoreaccount1/ctr/x");
    assert!(!e.to_string().contains("sig=other"), "{e}");

    let e = rt.block_on(blob.read("ctr", "x.txt")).unwrap_err();
    assert_redirect_refused(&e, "elsewhere.example");

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.txt");
    std::fs::write(&dest, b"precious").unwrap();
    let e = rt
        .block_on(blob.download("ctr", "x.txt", &dest, true, |_, _| {}))
        .unwrap_err();
    assert_redirect_refused(&e, "elsewhere.example");
    assert_eq!(std::fs::read(&dest).unwrap(), b"precious");
    // One request each: a redirect is not retried.
    assert_eq!(fake.requests().len(), 3, "{:?}", fake.requests());
}

#[test]
fn a_success_status_the_operation_never_gives_is_not_taken_as_done() {
    let rt = runtime();
    // Put Blob answers 201 Created; a 200 (or a 204) means something else answered.
    let fake = Fake::start(
        rt.handle(),
        Answer::Plain {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        },
    );
    let e = rt
        .block_on(blob_client(&fake).upload_bytes("ctr", "x.txt", "data", true))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ProtocolError, "{e}");
    assert_eq!(e.http_status(), Some(200));
    assert!(e.to_string().contains("never gives"), "{e}");
}

#[test]
fn a_redirect_through_the_c_abi_is_an_error_with_its_status() {
    let rt = runtime();
    let fake = Fake::start(
        rt.handle(),
        redirect_to("https://elsewhere.example/devstoreaccount1/ctr/x"),
    );
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("up.txt");
    std::fs::write(&local, b"data").unwrap();
    let account = CString::new(format!("{}/devstoreaccount1", fake.base)).unwrap();
    let sas = CString::new(SAS).unwrap();
    let mut blob = std::ptr::null_mut();
    let mut err = std::ptr::null_mut();
    unsafe {
        assert_eq!(
            azmi_blob_new(
                account.as_ptr(),
                sas.as_ptr(),
                std::ptr::null(),
                &mut blob,
                &mut err
            ),
            azmi_status::AZMI_OK
        );
        let (path, container, name) = (
            CString::new(local.to_str().unwrap()).unwrap(),
            CString::new("ctr").unwrap(),
            CString::new("x.txt").unwrap(),
        );
        let status = azmi_blob_upload(
            blob,
            path.as_ptr(),
            container.as_ptr(),
            name.as_ptr(),
            AZMI_BLOB_OVERWRITE,
            std::ptr::null(),
            None,
            std::ptr::null_mut(),
            &mut err,
        );
        assert_eq!(status, azmi_status::AZMI_PROTOCOL_ERROR);
        assert_eq!(azmi_error_http_status(err), 302);
        let message = CStr::from_ptr(azmi_error_message(err))
            .to_string_lossy()
            .into_owned();
        assert!(message.contains("does not follow redirects"), "{message}");
        azmi_error_free(err);
        azmi_blob_free(blob);
    }
}

#[test]
fn a_key_vault_redirect_to_another_host_says_so() {
    let rt = runtime();
    let fake = Fake::start(
        rt.handle(),
        redirect_to("https://evil.example/secrets/mi-test"),
    );
    let azmi = Azmi::new().unwrap();
    let vault = azmi
        .keyvault(&fake.base, &identity_at(&fake, TOKEN_PATH))
        .unwrap()
        .with_retry(quick());
    let e = rt.block_on(vault.get_secret("mi-test", None)).unwrap_err();
    assert_redirect_refused(&e, "https://evil.example/secrets/mi-test");
    assert!(!e.to_string().contains("has no id"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Names stay inside their container

#[test]
fn blob_and_container_names_cannot_leave_their_container() {
    let rt = runtime();
    let fake = Fake::start(
        rt.handle(),
        Answer::Plain {
            status: 201,
            headers: Vec::new(),
            body: Vec::new(),
        },
    );
    let blob = blob_client(&fake);
    for (container, name) in [
        ("ctr", "../../x"),
        ("ctr", ".."),
        ("ctr", "a/./b"),
        ("ctr", "a/../../b"),
        ("ctr", "..\\..\\x"),
        ("..", "x"),
        (".", "x"),
        ("ab", "x"),
        ("Upper", "x"),
        ("a--b", "x"),
        ("-ab", "x"),
        ("ctr/sub", "x"),
        ("under_score", "x"),
    ] {
        let e = rt
            .block_on(blob.upload_bytes(container, name, "data", true))
            .unwrap_err();
        assert_eq!(
            e.code(),
            ErrorCode::InvalidArgument,
            "{container}/{name}: {e}"
        );
    }
    let long = "c".repeat(64);
    let e = rt
        .block_on(blob.upload_bytes(&long, "x", "data", true))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert!(e.to_string().contains("3 to 63"), "{e}");
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());

    // Every other character stays in the name, percent-encoded.
    rt.block_on(blob.upload_bytes("ctr", "a b/c?d#e%f\\g..h/.i", "data", true))
        .unwrap();
    rt.block_on(blob.upload_bytes("$root", "x", "data", true))
        .unwrap();
    let requests = fake.requests();
    assert!(
        requests[0] == "PUT /devstoreaccount1/ctr/a%20b/c%3Fd%23e%25f%5Cg..h/.i",
        "{requests:?}"
    );
    assert!(
        requests[1] == "PUT /devstoreaccount1/%24root/x",
        "{requests:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Arguments said wrong before anything is sent

#[test]
fn a_one_megabyte_resource_is_an_invalid_argument_and_nothing_is_sent() {
    let rt = runtime();
    let fake = Fake::start(
        rt.handle(),
        Answer::Plain {
            status: 500,
            headers: Vec::new(),
            body: Vec::new(),
        },
    );
    let resource = CString::new(format!("https://{}.example/", "r".repeat(1 << 20))).unwrap();
    let url = CString::new(format!("{}/metadata/identity/oauth2/token", fake.base)).unwrap();
    let mut identity = std::ptr::null_mut();
    let mut token = std::ptr::null_mut();
    let mut err = std::ptr::null_mut();
    unsafe {
        assert_eq!(
            azmi_identity_new(
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                &mut identity,
                &mut err
            ),
            azmi_status::AZMI_OK
        );
        assert_eq!(
            azmi_identity_set_endpoint(identity, url.as_ptr(), &mut err),
            azmi_status::AZMI_OK
        );
        let status = azmi_get_token(
            resource.as_ptr(),
            identity,
            0,
            std::ptr::null(),
            &mut token,
            &mut err,
        );
        assert_eq!(status, azmi_status::AZMI_INVALID_ARGUMENT);
        assert!(token.is_null());
        let message = CStr::from_ptr(azmi_error_message(err))
            .to_string_lossy()
            .into_owned();
        assert!(
            message.contains("at most 2048"),
            "{}",
            &message[..message.len().min(300)]
        );
        assert!(message.len() < 400, "the message quotes the resource");
        azmi_error_free(err);
        azmi_identity_free(identity);
    }
    assert!(fake.requests().is_empty());
}
