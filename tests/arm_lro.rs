//! Resource Manager long-running operations against a tiny scripted HTTP server on 127.0.0.1
//! (plain HTTP to loopback is allowed), with tokens from azmi-emulator's IMDS: Azure-AsyncOperation
//! (Succeeded, Failed, Canceled, the final GET per method), Location polling, Retry-After,
//! retried polls, monitor URLs on another origin, and cancellation while waiting (dropping
//! the future, and azmi_cancel through the C ABI). The emulator's own asynchronous resource
//! group deletion and storage account creation are in tests/arm.rs.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azmi::ffi::*;
use azmi::{Arm, Azmi, ErrorCode, IdentityId, ManagedIdentity, RetryPolicy, TokenOptions};
use azmi_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

const RESOURCE: &str = "/subscriptions/s/resourceGroups/rg/providers/Test.Widgets/widgets/w";
const API: &str = "2024-01-01";

/// A request the fake server received.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: String,
    authorized: bool,
}

/// What the handler is told about a request: it, how many earlier requests had the same method
/// and path, and the server's base URL (to build absolute monitor URLs).
struct Call<'a> {
    seen: &'a Seen,
    nth: usize,
    base: &'a str,
}

impl Call<'_> {
    fn is(&self, method: &str, path: &str) -> bool {
        self.seen.method == method && self.seen.path == path
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    fn json(status: u16, body: Value) -> Reply {
        Reply {
            body: body.to_string(),
            ..Reply::empty(status)
        }
    }

    fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `Retry-After: 0`, so that tests do not wait the default second between polls.
    fn now(self) -> Reply {
        self.header("Retry-After", "0")
    }
}

/// An HTTP/1.1 server on 127.0.0.1 answering every request with `handler`, one connection at a
/// time (`Connection: close`); stopped on drop.
struct Fake {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Fake {
    fn start(handler: impl Fn(&Call) -> Reply + Send + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_base, thread_seen, thread_stop) =
            (base.clone(), Arc::clone(&seen), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !thread_stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => serve(stream, &thread_base, &thread_seen, &handler),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Fake { base, seen, stop }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// `METHOD path` of every request so far.
    fn log(&self) -> Vec<String> {
        self.seen()
            .iter()
            .map(|s| format!("{} {}", s.method, s.path))
            .collect()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(stream: TcpStream, base: &str, seen: &Mutex<Vec<Seen>>, handler: &dyn Fn(&Call) -> Reply) {
    stream.set_nonblocking(false).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let request = Seen {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        // Whether a bearer token came, never the token itself.
        authorized: headers
            .get("authorization")
            .is_some_and(|a| a.starts_with("Bearer ")),
    };
    let reply = {
        let mut log = seen.lock().unwrap();
        let nth = log
            .iter()
            .filter(|s| s.method == request.method && s.path == request.path)
            .count();
        log.push(request.clone());
        handler(&Call {
            seen: &request,
            nth,
            base,
        })
    };
    let mut out = format!("HTTP/1.1 {} X\r\n", reply.status);
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !reply.body.is_empty() {
        out.push_str("Content-Type: application/json\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        reply.body.len(),
        reply.body
    ));
    let mut stream = stream;
    let _ = stream.write_all(out.as_bytes());
}

/// The emulator for tokens, and an Azmi to use them with.
struct Env {
    emu: Emulator,
    azmi: Azmi,
}

fn env() -> Env {
    Env {
        emu: Emulator::start(EmulatorConfig::default()).expect("emulator starts"),
        azmi: Azmi::new().unwrap(),
    }
}

impl Env {
    fn arm(&self, fake: &Fake) -> Arm {
        let mi = ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &self.emu.token_url())
            .unwrap()
            .with_options(TokenOptions {
                retry: RetryPolicy {
                    budget: Duration::from_secs(5),
                    initial_delay: Duration::from_millis(10),
                    max_delay: Duration::from_millis(100),
                },
                ..TokenOptions::default()
            });
        Arm::with_endpoint(&self.azmi, Arc::new(mi), &fake.base, None).unwrap()
    }
}

fn status(s: &str) -> Value {
    json!({ "status": s })
}

#[tokio::test]
async fn put_polls_azure_async_operation_then_reads_the_resource_again() {
    let fake = Fake::start(|c| {
        if c.is("PUT", RESOURCE) {
            let monitor = c.url(&format!("/ops/put-1?api-version={API}"));
            Reply::json(
                201,
                json!({"properties": {"provisioningState": "Creating"}}),
            )
            .header("Azure-AsyncOperation", &monitor)
            .now()
        } else if c.is("GET", "/ops/put-1") && c.nth < 2 {
            Reply::json(200, status("InProgress")).now()
        } else if c.is("GET", "/ops/put-1") {
            Reply::json(200, status("Succeeded"))
        } else if c.is("GET", RESOURCE) {
            Reply::json(
                200,
                json!({"name": "w", "properties": {"provisioningState": "Succeeded"}}),
            )
        } else {
            Reply::empty(500)
        }
    });
    let env = env();
    let widget = env
        .arm(&fake)
        .request(
            "PUT",
            RESOURCE,
            Some(API),
            Some(&json!({"location": "eastus"})),
        )
        .await
        .unwrap();
    assert_eq!(widget["name"], "w");
    assert_eq!(widget["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        fake.log(),
        [
            format!("PUT {RESOURCE}"),
            "GET /ops/put-1".into(),
            "GET /ops/put-1".into(),
            "GET /ops/put-1".into(),
            format!("GET {RESOURCE}"),
        ]
    );
    let seen = fake.seen();
    assert!(
        seen.iter().all(|s| s.authorized),
        "every poll carries the token"
    );
    assert!(seen[4].query.contains(&format!("api-version={API}")));
}

#[tokio::test]
async fn delete_polls_azure_async_operation_and_returns_null() {
    let fake = Fake::start(|c| {
        if c.is("DELETE", RESOURCE) {
            Reply::empty(202)
                .header("Azure-AsyncOperation", &c.url("/ops/del-1?api-version=1"))
                .header("Location", &c.url("/results/del-1?api-version=1"))
                .now()
        } else if c.is("GET", "/ops/del-1") && c.nth == 0 {
            Reply::json(200, status("Deleting")).now()
        } else if c.is("GET", "/ops/del-1") {
            Reply::json(200, status("succeeded"))
        } else {
            Reply::empty(500)
        }
    });
    let env = env();
    let answer = env
        .arm(&fake)
        .request("DELETE", RESOURCE, Some(API), None)
        .await
        .unwrap();
    assert_eq!(answer, Value::Null);
    // Azure-AsyncOperation wins over Location, and a DELETE reads nothing afterwards.
    assert_eq!(
        fake.log(),
        [
            format!("DELETE {RESOURCE}"),
            "GET /ops/del-1".into(),
            "GET /ops/del-1".into()
        ]
    );
}

#[tokio::test]
async fn post_result_is_read_at_location_else_taken_from_the_status() {
    let action = format!("{RESOURCE}/restart");
    let fake = Fake::start(|c| {
        let with_location = c.seen.query.contains("where=location");
        if c.is("POST", &format!("{RESOURCE}/restart")) {
            let op = if with_location { "/ops/a" } else { "/ops/b" };
            let reply = Reply::empty(202)
                .header("Azure-AsyncOperation", &c.url(op))
                .now();
            if with_location {
                reply.header("Location", &c.url("/results/a"))
            } else {
                reply
            }
        } else if c.is("GET", "/ops/a") {
            Reply::json(200, status("Succeeded"))
        } else if c.is("GET", "/ops/b") {
            Reply::json(
                200,
                json!({"status": "Succeeded", "properties": {"restarted": true}}),
            )
        } else if c.is("GET", "/results/a") {
            Reply::json(200, json!({"restarted": "per location"}))
        } else {
            Reply::empty(500)
        }
    });
    let env = env();
    let arm = env.arm(&fake);
    let answer = arm
        .request("POST", &format!("{action}?where=location"), Some(API), None)
        .await
        .unwrap();
    assert_eq!(answer, json!({"restarted": "per location"}));
    let answer = arm.request("POST", &action, Some(API), None).await.unwrap();
    assert_eq!(answer, json!({"restarted": true}));
    let log = fake.log();
    assert_eq!(log.iter().filter(|l| *l == "GET /results/a").count(), 1);
    // The monitor URLs had no api-version: the request's is added.
    let polls: Vec<Seen> = fake
        .seen()
        .into_iter()
        .filter(|s| s.path.starts_with("/ops/"))
        .collect();
    assert_eq!(polls.len(), 2);
    assert!(polls
        .iter()
        .all(|s| s.query == format!("api-version={API}")));
}

#[tokio::test]
async fn failed_and_canceled_operations_are_errors_with_their_codes() {
    let fake = Fake::start(|c| {
        let op = c
            .seen
            .path
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        if c.seen.method == "PUT" {
            Reply::empty(201)
                .header(
                    "Azure-AsyncOperation",
                    &c.url(&format!("/ops/{op}?api-version=1")),
                )
                .now()
        } else if c.nth == 0 {
            Reply::json(200, status("InProgress")).now()
        } else {
            Reply::json(
                200,
                match op.as_str() {
                    "denied" => json!({"status": "Failed", "error": {
                        "code": "AuthorizationFailed",
                        "message": "The client has no authorization to\nperform action 'Test/widgets/write'."}}),
                    "quota" => json!({"status": "Failed", "error": {
                        "code": "QuotaExceeded", "message": "Operation could not be completed as it results in exceeding approved quota."}}),
                    _ => status("Canceled"),
                },
            )
        }
    });
    let env = env();
    let arm = env.arm(&fake);
    let put = |name: &str| {
        let path = format!("/subscriptions/s/resourceGroups/rg/providers/Test/widgets/{name}");
        let arm = arm.clone();
        async move {
            arm.request("PUT", &path, Some(API), None)
                .await
                .unwrap_err()
        }
    };

    let e = put("denied").await;
    assert_eq!(e.code(), ErrorCode::PermissionDenied);
    assert_eq!(e.service_code(), Some("AuthorizationFailed"));
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "PUT {}/subscriptions/s/resourceGroups/rg/providers/Test/widgets/denied was accepted, but the operation ended Failed"
        , fake.base)),
        "{text}"
    );
    assert!(
        text.contains("no authorization to perform action 'Test/widgets/write'"),
        "{text}"
    );

    let e = put("quota").await;
    assert_eq!(e.code(), ErrorCode::ServiceError);
    assert_eq!(e.service_code(), Some("QuotaExceeded"));
    assert!(e.to_string().contains("exceeding approved quota"), "{e}");

    let e = put("stopped").await;
    assert_eq!(e.code(), ErrorCode::ServiceError);
    assert_eq!(e.service_code(), Some("Canceled"));
    assert!(e.to_string().contains("ended Canceled"), "{e}");
    // No final GET of a resource whose operation failed.
    assert!(fake
        .log()
        .iter()
        .all(|l| !l.starts_with("GET /subscriptions")));
}

#[tokio::test]
async fn location_is_polled_until_it_stops_answering_202() {
    let fake = Fake::start(|c| {
        if c.is("DELETE", RESOURCE) {
            // Relative, without api-version: resolved against the request's URL.
            Reply::empty(202)
                .header("Location", "/operationresults/d")
                .now()
        } else if c.is("GET", "/operationresults/d") && c.nth < 2 {
            Reply::empty(202)
                .header("Location", "/operationresults/d")
                .now()
        } else if c.is("GET", "/operationresults/d") {
            Reply::empty(200)
        } else if c.is("PUT", RESOURCE) {
            Reply::empty(202)
                .header("Location", &c.url("/operationresults/p"))
                .now()
        } else if c.is("GET", "/operationresults/p") && c.nth == 0 {
            Reply::empty(202).now()
        } else if c.is("GET", "/operationresults/p") {
            Reply::json(
                200,
                json!({"name": "w", "properties": {"provisioningState": "Succeeded"}}),
            )
        } else if c.is("POST", &format!("{RESOURCE}/export")) {
            Reply::empty(202)
                .header("Location", &c.url("/operationresults/x"))
                .now()
        } else if c.is("GET", "/operationresults/x") {
            Reply::empty(204)
        } else {
            Reply::empty(500)
        }
    });
    let env = env();
    let arm = env.arm(&fake);
    let answer = arm
        .request("DELETE", RESOURCE, Some(API), None)
        .await
        .unwrap();
    assert_eq!(answer, Value::Null);
    let polls: Vec<Seen> = fake
        .seen()
        .into_iter()
        .filter(|s| s.path == "/operationresults/d")
        .collect();
    assert_eq!(polls.len(), 3, "202, 202, then 200");
    assert!(polls
        .iter()
        .all(|s| s.query == format!("api-version={API}")));

    let answer = arm.request("PUT", RESOURCE, Some(API), None).await.unwrap();
    assert_eq!(answer["name"], "w");
    let answer = arm
        .request("POST", &format!("{RESOURCE}/export"), Some(API), None)
        .await
        .unwrap();
    assert_eq!(answer, Value::Null);
    // Location polling never GETs the resource itself.
    assert!(!fake.log().contains(&format!("GET {RESOURCE}")));
}

#[tokio::test]
async fn an_error_answer_to_a_poll_is_the_requests_error() {
    let fake = Fake::start(|c| {
        if c.is("DELETE", RESOURCE) {
            Reply::empty(202)
                .header("Location", &c.url("/operationresults/gone"))
                .now()
        } else {
            Reply::json(
                404,
                json!({"error": {"code": "ResourceNotFound", "message": "The operation result could not be found."}}),
            )
        }
    });
    let env = env();
    let e = env
        .arm(&fake)
        .request("DELETE", RESOURCE, Some(API), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert_eq!(e.http_status(), Some(404));
    assert_eq!(e.service_code(), Some("ResourceNotFound"));
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "waiting for DELETE {}{RESOURCE} (polling {}/operationresults/gone) failed",
            fake.base, fake.base
        )),
        "{text}"
    );
}

#[tokio::test]
async fn polls_are_retried_like_any_get() {
    let fake = Fake::start(|c| {
        if c.is("DELETE", RESOURCE) {
            Reply::empty(202)
                .header("Azure-AsyncOperation", &c.url("/ops/flaky"))
                .now()
        } else if c.is("GET", "/ops/flaky") && c.nth == 0 {
            Reply::json(
                503,
                json!({"error": {"code": "ServiceUnavailable", "message": "busy"}}),
            )
            .now()
        } else if c.is("GET", "/ops/flaky") && c.nth == 1 {
            Reply::json(
                500,
                json!({"error": {"code": "InternalServerError", "message": "oops"}}),
            )
        } else {
            Reply::json(200, status("Succeeded"))
        }
    });
    let env = env();
    let answer = env
        .arm(&fake)
        .request("DELETE", RESOURCE, Some(API), None)
        .await
        .unwrap();
    assert_eq!(answer, Value::Null);
    assert_eq!(
        fake.log().len(),
        4,
        "the DELETE, a 503, a 500, then Succeeded"
    );
}

#[tokio::test]
async fn monitor_urls_on_another_origin_are_refused() {
    let fake = Fake::start(|c| {
        if c.seen.path.ends_with("/async") {
            Reply::empty(201)
                .header(
                    "Azure-AsyncOperation",
                    "https://evil.example/ops/1?api-version=1&sig=SECRETSIG",
                )
                .now()
        } else if c.seen.path.ends_with("/location") {
            // Loopback too, but another origin (host and port differ).
            Reply::empty(202)
                .header(
                    "Location",
                    "http://localhost:1/operationresults/1?code=SECRETCODE",
                )
                .now()
        } else if c.seen.path.ends_with("/post") {
            // A POST's result Location is checked as the monitor is.
            Reply::empty(202)
                .header("Azure-AsyncOperation", &c.url("/ops/fine"))
                .header("Location", "https://evil.example/results/1")
        } else {
            Reply::json(200, status("Succeeded"))
        }
    });
    let env = env();
    let arm = env.arm(&fake);
    let e = arm
        .request("PUT", &format!("{RESOURCE}/async"), Some(API), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsecureRequest);
    let text = e.to_string();
    assert!(text.contains("https://evil.example/ops/1"), "{text}");
    assert!(
        !text.contains("SECRETSIG") && !text.contains("api-version=1"),
        "{text}"
    );
    assert!(text.contains("Azure-AsyncOperation"), "{text}");

    let e = arm
        .request("DELETE", &format!("{RESOURCE}/location"), Some(API), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsecureRequest);
    let text = e.to_string();
    assert!(
        text.contains("http://localhost:1/operationresults/1"),
        "{text}"
    );
    assert!(!text.contains("SECRETCODE"), "{text}");

    let e = arm
        .request("POST", &format!("{RESOURCE}/post"), Some(API), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsecureRequest);
    // Only the three first requests reached anyone: no poll was sent.
    assert_eq!(fake.log().len(), 3, "{:?}", fake.log());
}

#[tokio::test]
async fn a_status_answer_without_status_is_a_protocol_error() {
    let fake = Fake::start(|c| {
        if c.is("DELETE", RESOURCE) {
            Reply::empty(202)
                .header("Azure-AsyncOperation", &c.url("/ops/odd"))
                .now()
        } else {
            Reply::json(200, json!({"state": "Succeeded"}))
        }
    });
    let env = env();
    let e = env
        .arm(&fake)
        .request("DELETE", RESOURCE, Some(API), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ProtocolError);
    assert!(e.to_string().contains("has no \"status\""), "{e}");
}

#[tokio::test]
async fn synchronous_answers_are_returned_as_they_are() {
    let fake = Fake::start(|c| match (c.seen.method.as_str(), c.seen.path.as_str()) {
        ("PUT", p) if p.ends_with("/plain") => Reply::json(200, json!({"name": "plain"})),
        ("POST", p) if p.ends_with("/accepted") => Reply::empty(202),
        // PATCH 200 is synchronous even with a monitor header (as in Azure.Core).
        ("PATCH", _) => Reply::json(200, json!({"name": "patched"}))
            .header("Azure-AsyncOperation", &c.url("/ops/never")),
        // A 201 with Location alone names the created resource; it is not an operation.
        ("PUT", _) => Reply::json(201, json!({"name": "created"}))
            .header("Location", &c.url("/operationresults/never")),
        _ => Reply::empty(500),
    });
    let env = env();
    let arm = env.arm(&fake);
    let path = |suffix: &str| format!("{RESOURCE}/{suffix}");
    let plain = arm.request("PUT", &path("plain"), Some(API), None).await;
    assert_eq!(plain.unwrap()["name"], "plain");
    let accepted = arm
        .request("POST", &path("accepted"), Some(API), None)
        .await;
    assert_eq!(accepted.unwrap(), Value::Null);
    let patched = arm.request("PATCH", &path("p"), Some(API), None).await;
    assert_eq!(patched.unwrap()["name"], "patched");
    let created = arm.request("PUT", &path("c"), Some(API), None).await;
    assert_eq!(created.unwrap()["name"], "created");
    assert_eq!(fake.log().len(), 4, "no polls: {:?}", fake.log());
}

#[tokio::test]
async fn retry_after_is_waited_out_and_dropping_the_future_stops_waiting() {
    let fake = Fake::start(|c| {
        if c.is("DELETE", RESOURCE) {
            // Without Retry-After azmi would poll after 1 s.
            Reply::empty(202)
                .header("Location", &c.url("/operationresults/slow"))
                .header("Retry-After", "30")
        } else {
            Reply::empty(200)
        }
    });
    let env = env();
    let arm = env.arm(&fake);
    let waited = tokio::time::timeout(
        Duration::from_millis(2500),
        arm.request("DELETE", RESOURCE, Some(API), None),
    )
    .await;
    assert!(waited.is_err(), "still waiting out Retry-After: 30");
    // Dropped: give a poll every chance to slip out if anything still ran.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.log(), [format!("DELETE {RESOURCE}")]);
}

struct SendPtr<T>(*const T);
// SAFETY: azmi objects are safe to use from any thread (the ABI's contract).
unsafe impl<T> Send for SendPtr<T> {}

/// `azmi_arm_request` blocked in a 30 s Retry-After returns AZMI_CANCELLED at once when its
/// `azmi_cancel` is cancelled from another thread. This is the only test of this binary that
/// sets the process-wide endpoint.
#[test]
fn azmi_cancel_stops_waiting_for_an_operation_at_once() {
    let fake = Fake::start(|c| {
        if c.seen.method == "DELETE" {
            Reply::empty(202)
                .header("Location", &c.url("/operationresults/long"))
                .header("Retry-After", "30")
        } else {
            Reply::empty(200)
        }
    });
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let endpoint = CString::new(fake.base.clone()).unwrap();
    let token_url = CString::new(emu.token_url()).unwrap();
    let path = CString::new(RESOURCE).unwrap();
    let api = CString::new(API).unwrap();
    // SAFETY: valid arguments throughout; every object is freed once.
    unsafe {
        assert_eq!(
            azmi_set_arm_endpoint(endpoint.as_ptr(), ptr::null_mut()),
            azmi_status::AZMI_OK
        );
        let mut id = ptr::null_mut();
        assert_eq!(
            azmi_identity_new(
                ptr::null(),
                ptr::null(),
                ptr::null(),
                &mut id,
                ptr::null_mut()
            ),
            azmi_status::AZMI_OK
        );
        assert_eq!(
            azmi_identity_set_endpoint(id, token_url.as_ptr(), ptr::null_mut()),
            azmi_status::AZMI_OK
        );
        let cancel = azmi_cancel_new();
        let handle = SendPtr(cancel);
        let seen = Arc::clone(&fake.seen);
        let canceller = std::thread::spawn(move || {
            let handle = handle;
            let deadline = Instant::now() + Duration::from_secs(20);
            while seen.lock().unwrap().is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            std::thread::sleep(Duration::from_millis(300));
            azmi_cancel_cancel(handle.0);
            Instant::now()
        });
        let mut json = ptr::null_mut();
        let mut err = ptr::null_mut();
        let status = azmi_arm_request(
            c"DELETE".as_ptr(),
            path.as_ptr(),
            api.as_ptr(),
            ptr::null(),
            id,
            cancel,
            &mut json,
            &mut err,
        );
        let returned = Instant::now();
        let cancelled_at = canceller.join().unwrap();
        assert_eq!(status, azmi_status::AZMI_CANCELLED);
        assert!(json.is_null(), "no output on failure");
        assert!(
            returned.saturating_duration_since(cancelled_at) < Duration::from_secs(5),
            "returned {:?} after the cancel",
            returned.saturating_duration_since(cancelled_at)
        );
        let message = CStr::from_ptr(azmi_error_message(err))
            .to_string_lossy()
            .into_owned();
        assert!(message.contains("cancelled"), "{message}");
        assert_eq!(fake.log().len(), 1, "no poll before Retry-After");
        azmi_error_free(err);
        azmi_cancel_free(cancel);
        azmi_identity_free(id);
        azmi_set_arm_endpoint(ptr::null(), ptr::null_mut());
    }
}
