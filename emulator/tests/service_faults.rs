//! Service fault injection (status, delay, drop, malformed, drop after N body bytes), service
//! counters and request log, over the Rust API and the admin endpoints.

mod common;

use std::time::{Duration, Instant};

use azmi_emulator::{Emulator, EmulatorConfig, Fault, ServiceCounters};
use common::https::{Client, STORAGE, VERSION};
use common::*;

fn start() -> (Emulator, Client) {
    let emu = Emulator::start(EmulatorConfig::default()).expect("start emulator");
    let client = Client::new(&emu);
    (emu, client)
}

#[test]
fn status_faults_use_each_apis_error_body() {
    let (emu, c) = start();
    emu.set_service_faults(vec![
        Fault::Status {
            status: 429,
            retry_after: Some(3),
            count: 1,
        },
        Fault::Status {
            status: 503,
            retry_after: None,
            count: 2,
        },
    ]);
    let resp = c.gen1("GET", "/webhdfs/v1/?op=LISTSTATUS", None);
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("3"));
    let e = &resp.json()["RemoteException"];
    assert_eq!(e["exception"], "ThrottledException");

    for _ in 0..2 {
        let resp = c.dfs("GET", "/fs?resource=filesystem&recursive=true", &[], None);
        assert_eq!(resp.status, 503);
        assert_eq!(resp.header("x-ms-error-code"), Some("ServerBusy"));
        assert_eq!(resp.json()["error"]["code"], "ServerBusy");
        assert!(resp.header("retry-after").is_none());
    }
    let resp = c.dfs("GET", "/fs?resource=filesystem&recursive=true", &[], None);
    assert_eq!(resp.status, 200);
    // Token requests have their own queue and were never affected.
    assert_eq!(emu.counters().tokens_issued, 4);
}

#[test]
fn faults_apply_before_authentication() {
    let (emu, c) = start();
    emu.set_service_faults(vec![Fault::Status {
        status: 500,
        retry_after: None,
        count: 1,
    }]);
    let resp = c.raw("GET", "/fs/x", &[], None).unwrap();
    assert_eq!(resp.status, 500);
    assert_eq!(resp.header("x-ms-error-code"), Some("InternalError"));
    let resp = c.raw("GET", "/fs/x", &[], None).unwrap();
    assert_eq!(resp.status, 400, "then the real checks: no x-ms-version");
}

#[test]
fn delay_drop_and_malformed() {
    let (emu, c) = start();
    let bearer = format!("Bearer {}", c.token(STORAGE, ""));
    let headers = [
        ("Authorization", bearer.as_str()),
        ("x-ms-version", VERSION),
    ];
    let target = "/fs?resource=filesystem&recursive=true";
    emu.set_service_faults(vec![
        Fault::Delay { ms: 300, count: 1 },
        Fault::Drop { count: 1 },
        Fault::Malformed { count: 1 },
    ]);
    let started = Instant::now();
    assert_eq!(c.raw("GET", target, &headers, None).unwrap().status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    assert!(c.raw("GET", target, &headers, None).is_err(), "dropped");

    let resp = c.raw("GET", target, &headers, None).unwrap();
    assert_eq!(resp.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&resp.body).is_err());

    assert_eq!(c.raw("GET", target, &headers, None).unwrap().status, 200);
}

/// Sends a request with a `len`-byte body in pieces; `Err` if the server closed the connection
/// instead of answering.
fn upload(
    c: &Client,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    len: usize,
) -> std::io::Result<HttpResponse> {
    let mut conn = c.connect();
    let length = len.to_string();
    let mut all = headers.to_vec();
    all.push(("Content-Length", &length));
    conn.send_head(method, target, &all)?;
    let piece = vec![b'z'; 64 * 1024];
    let mut sent = 0;
    while sent < len {
        let n = piece.len().min(len - sent);
        conn.send_bytes(&piece[..n])?;
        sent += n;
    }
    conn.read_response(false)
}

#[test]
fn drop_after_bytes_cuts_an_upload_short() {
    let (emu, c) = start();
    c.dfs_put_file("/fs/up", b"");
    let bearer = format!("Bearer {}", c.token(STORAGE, ""));
    let headers = [
        ("Authorization", bearer.as_str()),
        ("x-ms-version", VERSION),
    ];

    let resp = admin_post(
        emu.port(),
        "/admin/service-faults",
        r#"{"faults":[{"drop_after_bytes":100000}]}"#,
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let before = emu.service_counters();
    let result = upload(
        &c,
        "PATCH",
        "/fs/up?action=append&position=0",
        &headers,
        4 * 1024 * 1024,
    );
    assert!(
        result.is_err(),
        "the connection must be dropped: {result:?}"
    );
    let received = emu.service_counters().bytes_received - before.bytes_received;
    assert!(
        received >= 100_000,
        "read at least the scripted bytes: {received}"
    );
    assert!(
        received < 4 * 1024 * 1024,
        "but not the whole body: {received}"
    );

    // Nothing was staged: the flush finds no data, and the retried append works.
    let resp = c.dfs(
        "PATCH",
        "/fs/up?action=flush&position=4194304",
        &[],
        Some(b""),
    );
    assert_eq!(resp.status, 400);
    let resp = upload(
        &c,
        "PATCH",
        "/fs/up?action=append&position=0",
        &headers,
        4 * 1024 * 1024,
    )
    .expect("retry");
    assert_eq!(resp.status, 202, "{}", resp.text());
    let resp = c.dfs(
        "PATCH",
        "/fs/up?action=flush&position=4194304",
        &[],
        Some(b""),
    );
    assert_eq!(resp.status, 200);

    // Gen1: a dropped CREATE leaves no file behind.
    emu.set_service_faults(vec![Fault::DropAfterBytes {
        bytes: 1000,
        count: 1,
    }]);
    let gen1 = format!("Bearer {}", c.token(common::https::DATALAKE, ""));
    let result = upload(
        &c,
        "PUT",
        "/webhdfs/v1/cut?op=CREATE&write=true",
        &[("Authorization", &gen1)],
        1024 * 1024,
    );
    assert!(result.is_err());
    let resp = c.gen1("GET", "/webhdfs/v1/cut?op=GETFILESTATUS", None);
    assert_eq!(resp.status, 404);
}

#[test]
fn counters_request_log_and_reset() {
    let (emu, c) = start();
    c.dfs_put_file("/fs/counted", b"0123456789");
    let read = c.dfs("GET", "/fs/counted", &[], None);
    assert_eq!(read.body, b"0123456789");
    let counters = emu.service_counters();
    assert_eq!(counters.requests, 4);
    assert_eq!(counters.bytes_received, 10);
    assert_eq!(counters.bytes_sent, 10);

    let admin = admin_get(emu.port(), "/admin/service-counters").json();
    assert_eq!(
        admin,
        serde_json::json!({"requests": 4, "bytes_received": 10, "bytes_sent": 10, "claims_challenges": 0})
    );

    let log = emu.service_requests();
    assert_eq!(log.len(), 4);
    let last = log.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("GET", "/fs/counted")
    );
    let auth = last
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.as_str());
    assert_eq!(auth, Some("Bearer <redacted>"));
    let append = &log[1];
    assert_eq!(append.query, "action=append&position=0");

    let admin_log = admin_get(emu.port(), "/admin/service-requests").json();
    assert_eq!(admin_log.as_array().unwrap().len(), 4);
    assert_eq!(
        admin_log[3]["headers"]["authorization"],
        "Bearer <redacted>"
    );
    assert_eq!(admin_log[3]["headers"]["x-ms-version"], VERSION);

    emu.set_service_faults(vec![Fault::Drop { count: 5 }]);
    let resp = admin_post(emu.port(), "/admin/reset", "");
    assert_eq!(resp.status, 200);
    assert_eq!(emu.service_counters(), ServiceCounters::default());
    assert!(emu.service_requests().is_empty());
    // The reset also cleared the service faults, but not the files.
    assert_eq!(c.dfs("GET", "/fs/counted", &[], None).body, b"0123456789");

    // The log keeps the last 200.
    for _ in 0..205 {
        c.raw("GET", "/fs/counted", &[], None).unwrap();
    }
    assert_eq!(emu.service_requests().len(), 200);
    assert_eq!(emu.service_counters().requests, 206);
}

#[test]
fn invalid_service_fault_scripts_are_400() {
    let (emu, _c) = start();
    for body in [
        r#"{"faults":[{"drop_after_bytes":"x"}]}"#,
        r#"{"faults":[{"drop_after_bytes":1,"status":500}]}"#,
        "not json",
    ] {
        let resp = admin_post(emu.port(), "/admin/service-faults", body);
        assert_eq!(resp.status, 400, "{body}");
    }
    let resp = request(emu.port(), "GET", "/admin/service-faults", &[], None).unwrap();
    assert_eq!(resp.status, 405);
}
