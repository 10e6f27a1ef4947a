//! Fault scripts, counters, the request log and the admin endpoints, over real HTTP and through
//! the Rust API.

mod common;

use std::time::{Duration, Instant};

use azmi_emulator::{Counters, Emulator, EmulatorConfig, Fault, ResponseStyle};
use common::*;

fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default()).expect("start emulator")
}

#[test]
fn status_fault_with_count_then_normal() {
    let emu = start();
    let resp = admin_post(
        emu.port(),
        "/admin/faults",
        r#"{"faults":[{"status":410,"count":3}]}"#,
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["queued"], 1);
    for _ in 0..3 {
        let resp = token(emu.port(), &query(ARM, ""));
        assert_eq!(resp.status, 410);
        assert_eq!(
            resp.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        let body = resp.json();
        assert!(body["error"].is_string() && body["error_description"].is_string());
        assert!(resp.header("retry-after").is_none());
    }
    assert_eq!(token(emu.port(), &query(ARM, "")).status, 200);
    assert_eq!(
        emu.counters(),
        Counters {
            token_requests: 4,
            tokens_issued: 1,
            probe_requests: 0
        }
    );
}

#[test]
fn faults_apply_before_validation_but_not_to_a_probe() {
    // Rule 1 comes before the others: a request with a bad api-version still gets the fault.
    let emu = start();
    emu.set_faults(vec![
        Fault::Status {
            status: 500,
            retry_after: None,
            count: 1,
        },
        Fault::Delay { ms: 3000, count: 1 },
    ]);
    let resp = request(emu.port(), "GET", TOKEN_PATH, &[("Metadata", "true")], None).unwrap();
    assert_eq!(resp.status, 500);
    assert_eq!(resp.json()["error"], "unknown");
    // Rule 0: a request without the Metadata header (a client asking whether IMDS is there)
    // is answered at once, takes no fault and is not a token request.
    let started = Instant::now();
    let resp = request(
        emu.port(),
        "GET",
        &format!("{TOKEN_PATH}?{}", query(ARM, "")),
        &[],
        None,
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["error"], "bad_request_102");
    assert_eq!(
        emu.counters(),
        Counters {
            token_requests: 1,
            tokens_issued: 0,
            probe_requests: 1
        }
    );
    // The delay waits for the next token request.
    let started = Instant::now();
    assert_eq!(token(emu.port(), &query(ARM, "")).status, 200);
    assert!(started.elapsed() >= Duration::from_millis(2900));
}

#[test]
fn retry_after_header() {
    let emu = start();
    admin_post(
        emu.port(),
        "/admin/faults",
        r#"{"faults":[{"status":429,"retry_after":2}]}"#,
    );
    let resp = token(emu.port(), &query(ARM, ""));
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("2"));
    assert_eq!(token(emu.port(), &query(ARM, "")).status, 200);
}

#[test]
fn faults_run_in_order() {
    let emu = start();
    let resp = admin_post(
        emu.port(),
        "/admin/faults",
        r#"{"faults":[{"status":404},{"status":503,"count":2},{"malformed":true}]}"#,
    );
    assert_eq!(resp.json()["queued"], 3);
    let statuses: Vec<u16> = (0..5)
        .map(|_| token(emu.port(), &query(ARM, "")).status)
        .collect();
    assert_eq!(statuses, vec![404, 503, 503, 200, 200]);
    assert_eq!(emu.counters().tokens_issued, 1, "malformed is not a token");
}

#[test]
fn delay_fault_waits_then_answers() {
    let emu = start();
    admin_post(
        emu.port(),
        "/admin/faults",
        r#"{"faults":[{"delay_ms":400}]}"#,
    );
    let started = Instant::now();
    let resp = token(emu.port(), &query(ARM, ""));
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(resp.status, 200);
    // Only one request is delayed.
    let started = Instant::now();
    token(emu.port(), &query(ARM, ""));
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[test]
fn delay_fault_still_validates() {
    let emu = start();
    emu.set_faults(vec![Fault::Delay { ms: 50, count: 1 }]);
    let resp = request(emu.port(), "GET", TOKEN_PATH, &[], None).unwrap();
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["error"], "bad_request_102");
}

#[test]
fn delayed_request_does_not_block_others() {
    let emu = start();
    emu.set_faults(vec![Fault::Delay { ms: 1500, count: 1 }]);
    let port = emu.port();
    let slow = std::thread::spawn(move || token(port, &query(ARM, "")).status);
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    assert_eq!(token(port, &query(ARM, "")).status, 200);
    assert!(started.elapsed() < Duration::from_millis(1000));
    assert_eq!(slow.join().unwrap(), 200);
}

#[test]
fn drop_fault_closes_without_response() {
    let emu = start();
    admin_post(
        emu.port(),
        "/admin/faults",
        r#"{"faults":[{"drop":true,"count":2}]}"#,
    );
    for _ in 0..2 {
        let mut conn = Conn::open(emu.port());
        let err = conn
            .request(
                "GET",
                &format!("{TOKEN_PATH}?{}", query(ARM, "")),
                &[("Metadata", "true")],
                None,
            )
            .expect_err("dropped connection must not answer");
        assert!(
            matches!(
                err.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
            ),
            "{err:?}"
        );
    }
    assert_eq!(token(emu.port(), &query(ARM, "")).status, 200);
    assert_eq!(
        emu.counters(),
        Counters {
            token_requests: 3,
            tokens_issued: 1,
            probe_requests: 0
        }
    );
}

#[test]
fn drop_fault_on_keep_alive_connection() {
    let emu = start();
    let mut conn = Conn::open(emu.port());
    let target = format!("{TOKEN_PATH}?{}", query(ARM, ""));
    assert_eq!(
        conn.request("GET", &target, &[("Metadata", "true")], None)
            .unwrap()
            .status,
        200
    );
    emu.set_faults(vec![Fault::Drop { count: 1 }]);
    assert!(conn
        .request("GET", &target, &[("Metadata", "true")], None)
        .is_err());
    assert!(conn.is_closed_by_server());
}

#[test]
fn malformed_fault_is_200_but_not_a_token() {
    let emu = start();
    admin_post(
        emu.port(),
        "/admin/faults",
        r#"{"faults":[{"malformed":true}]}"#,
    );
    let resp = token(emu.port(), &query(ARM, ""));
    assert_eq!(resp.status, 200);
    let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&resp.body);
    assert!(
        parsed.map_or(true, |v| v.get("access_token").is_none()),
        "{}",
        resp.text()
    );
    assert_eq!(emu.counters().tokens_issued, 0);
}

#[test]
fn posting_faults_replaces_the_queue() {
    let emu = start();
    admin_post(
        emu.port(),
        "/admin/faults",
        r#"{"faults":[{"status":500,"count":10}]}"#,
    );
    assert_eq!(token(emu.port(), &query(ARM, "")).status, 500);
    admin_post(emu.port(), "/admin/faults", r#"{"faults":[]}"#);
    assert_eq!(token(emu.port(), &query(ARM, "")).status, 200);
}

#[test]
fn initial_faults_from_config() {
    let emu = Emulator::start(EmulatorConfig {
        faults: vec![Fault::Status {
            status: 503,
            retry_after: Some(7),
            count: 1,
        }],
        ..EmulatorConfig::default()
    })
    .unwrap();
    let resp = token(emu.port(), &query(ARM, ""));
    assert_eq!(resp.status, 503);
    assert_eq!(resp.header("retry-after"), Some("7"));
}

#[test]
fn invalid_fault_scripts_are_400() {
    let emu = start();
    for body in [
        "not json",
        r#"{"faults":[{"status":200}]}"#,
        r#"{"faults":[{"drop":true,"status":500}]}"#,
        r#"{"faults":[{"delay_ms":"x"}]}"#,
        r#"{"faults":[{"teapot":true}]}"#,
        r#"{"faults":{}}"#,
        "",
    ] {
        let resp = admin_post(emu.port(), "/admin/faults", body);
        assert_eq!(resp.status, 400, "{body}: {}", resp.text());
        assert_eq!(resp.json()["error"], "invalid_request");
    }
    assert_eq!(token(emu.port(), &query(ARM, "")).status, 200);
}

#[test]
fn admin_counters_and_reset() {
    let emu = start();
    token(emu.port(), &query(ARM, ""));
    token(emu.port(), "api-version=2018-02-01");
    let counters = admin_get(emu.port(), "/admin/counters").json();
    assert_eq!(
        counters,
        serde_json::json!({"token_requests": 2, "tokens_issued": 1, "probe_requests": 0})
    );
    emu.set_faults(vec![Fault::Status {
        status: 500,
        retry_after: None,
        count: 5,
    }]);
    let resp = admin_post(emu.port(), "/admin/reset", "");
    assert_eq!(resp.status, 200);
    assert_eq!(emu.counters(), Counters::default());
    assert!(emu.requests().is_empty());
    assert_eq!(
        token(emu.port(), &query(ARM, "")).status,
        200,
        "faults cleared"
    );

    emu.reset();
    assert_eq!(emu.counters(), Counters::default());
}

#[test]
fn admin_requests_log() {
    let emu = start();
    let q = query(ARM, "client_id=00001111-aaaa-2222-bbbb-3333cccc4444");
    request(
        emu.port(),
        "GET",
        &format!("{TOKEN_PATH}?{q}"),
        &[("Metadata", "true"), ("User-Agent", "azmi-test/1")],
        None,
    )
    .unwrap();
    let log = admin_get(emu.port(), "/admin/requests").json();
    let entries = log.as_array().unwrap();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["path"], TOKEN_PATH);
    assert_eq!(entry["query"], q.as_str(), "raw query, not decoded");
    assert_eq!(entry["headers"]["metadata"], "true");
    assert_eq!(entry["headers"]["user-agent"], "azmi-test/1");

    let recorded = emu.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].query, q);
    assert!(recorded[0]
        .headers
        .iter()
        .any(|(k, v)| k == "metadata" && v == "true"));
}

#[test]
fn request_log_keeps_last_100() {
    let emu = start();
    let mut conn = Conn::open(emu.port());
    for i in 0..105 {
        let target = format!("{TOKEN_PATH}?n={i}");
        conn.request("GET", &target, &[("Metadata", "true")], None)
            .unwrap();
    }
    let recorded = emu.requests();
    assert_eq!(recorded.len(), 100);
    assert_eq!(recorded[0].query, "n=5");
    assert_eq!(recorded[99].query, "n=104");
    assert_eq!(emu.counters().token_requests, 105);
    let log = admin_get(emu.port(), "/admin/requests").json();
    assert_eq!(log.as_array().unwrap().len(), 100);
}

#[test]
fn admin_config_changes_settings() {
    let emu = start();
    let resp = admin_post(
        emu.port(),
        "/admin/config",
        r#"{"token_lifetime_seconds":120,"refresh_in_seconds":60,"response_style":"numbers"}"#,
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let settings = resp.json();
    assert_eq!(settings["token_lifetime_seconds"], 120);
    assert_eq!(settings["refresh_in_seconds"], 60);
    assert_eq!(settings["response_style"], "numbers");
    let body = token(emu.port(), &query(ARM, "")).json();
    assert_eq!(body["expires_in"], 120);
    assert_eq!(body["refresh_in"], 60);

    // Partial update: only the given keys change; null removes refresh_in.
    let resp = admin_post(
        emu.port(),
        "/admin/config",
        r#"{"refresh_in_seconds":null,"response_style":"expires-in-only"}"#,
    );
    assert_eq!(resp.json()["token_lifetime_seconds"], 120);
    assert!(resp.json()["refresh_in_seconds"].is_null());
    let body = token(emu.port(), &query(ARM, "")).json();
    assert!(body.get("refresh_in").is_none());
    assert!(body.get("expires_on").is_none());
    assert_eq!(body["expires_in"], "120");

    admin_post(emu.port(), "/admin/config", r#"{"response_style":"date"}"#);
    let body = token(emu.port(), &query(ARM, "")).json();
    assert!(body["expires_on"].as_str().unwrap().ends_with("M +00:00"));

    for bad in [
        r#"{"response_style":"xml"}"#,
        r#"{"token_lifetime_seconds":-1}"#,
        r#"{"lifetime":5}"#,
        "[]",
    ] {
        let resp = admin_post(emu.port(), "/admin/config", bad);
        assert_eq!(resp.status, 400, "{bad}");
    }
    // Rust API and admin API share the same settings.
    emu.set_response_style(ResponseStyle::Imds);
    let body = token(emu.port(), &query(ARM, "")).json();
    assert_eq!(body["expires_in"], "120");
}

#[test]
fn admin_wrong_method_and_unknown_paths() {
    let emu = start();
    let resp = request(emu.port(), "GET", "/admin/reset", &[], None).unwrap();
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("POST"));
    let resp = request(emu.port(), "POST", "/admin/counters", &[], Some("{}")).unwrap();
    assert_eq!(resp.status, 405);
    let resp = request(emu.port(), "GET", "/admin/", &[], None).unwrap();
    assert_eq!(resp.status, 404);
}

#[test]
fn admin_shutdown_stops_the_server() {
    let emu = start();
    let port = emu.port();
    let resp = admin_post(port, "/admin/shutdown", "");
    assert_eq!(resp.status, 200);
    assert!(emu.is_stopping());
    // The listener closes promptly.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after shutdown");
        std::thread::sleep(Duration::from_millis(20));
    }
    emu.shutdown();
}

#[test]
fn shutdown_interrupts_pending_delay() {
    let emu = start();
    emu.set_faults(vec![Fault::Delay {
        ms: 60_000,
        count: 1,
    }]);
    let port = emu.port();
    let pending = std::thread::spawn(move || {
        Conn::open(port)
            .request(
                "GET",
                &format!("{TOKEN_PATH}?{}", query(ARM, "")),
                &[("Metadata", "true")],
                None,
            )
            .is_err()
    });
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    emu.shutdown();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(pending.join().unwrap(), "pending request is dropped");
}
