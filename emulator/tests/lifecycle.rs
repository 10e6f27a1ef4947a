//! Starting and stopping in-process, config files, and the loopback-only rule.

mod common;

use std::time::{Duration, Instant};

use azmi_emulator::{Emulator, EmulatorConfig};
use common::*;

fn wait_until_refused(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "port {port} still accepting");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn urls_and_port() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    assert_ne!(emu.port(), 0);
    assert_eq!(emu.base_url(), format!("http://127.0.0.1:{}", emu.port()));
    assert_eq!(
        emu.token_url(),
        format!(
            "http://127.0.0.1:{}/metadata/identity/oauth2/token",
            emu.port()
        )
    );
}

#[test]
fn drop_and_shutdown_release_the_port() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let port = emu.port();
    assert_eq!(token(port, &query(ARM, "")).status, 200);
    drop(emu);
    wait_until_refused(port);

    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let port = emu.port();
    // An idle keep-alive connection must not hold shutdown up.
    let mut idle = Conn::open(port);
    idle.request("GET", "/admin/counters", &[], None).unwrap();
    let started = Instant::now();
    emu.shutdown();
    assert!(started.elapsed() < Duration::from_secs(2));
    wait_until_refused(port);
    assert!(idle.is_closed_by_server());
}

#[test]
fn fixed_port_can_be_reused_after_shutdown() {
    let first = Emulator::start(EmulatorConfig::default()).unwrap();
    let port = first.port();
    first.shutdown();
    let second = Emulator::start(EmulatorConfig {
        port,
        ..EmulatorConfig::default()
    })
    .unwrap();
    assert_eq!(second.port(), port);
    assert_eq!(token(port, &query(ARM, "")).status, 200);
}

#[test]
fn several_emulators_are_independent() {
    let a = Emulator::start(EmulatorConfig::default()).unwrap();
    let b = Emulator::start(EmulatorConfig::default()).unwrap();
    assert_ne!(a.port(), b.port());
    token(a.port(), &query(ARM, ""));
    assert_eq!(a.counters().token_requests, 1);
    assert_eq!(b.counters().token_requests, 0);
}

#[tokio::test]
async fn works_from_inside_a_tokio_runtime() {
    // Starting, using and dropping from async code must neither panic (nested runtime) nor
    // deadlock (the emulator has its own thread).
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let port = emu.port();
    let status = tokio::task::spawn_blocking(move || token(port, &query(ARM, "")).status)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(emu.counters().tokens_issued, 1);
    drop(emu);
}

#[tokio::test]
async fn stopped_resolves_after_admin_shutdown() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let port = emu.port();
    tokio::task::spawn_blocking(move || admin_post(port, "/admin/shutdown", ""))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), emu.stopped())
        .await
        .expect("stopped() resolves");
}

#[test]
fn non_loopback_bind_is_refused() {
    for ip in ["0.0.0.0", "::", "192.168.1.10"] {
        let err = Emulator::start(EmulatorConfig {
            bind: ip.parse().unwrap(),
            ..EmulatorConfig::default()
        })
        .expect_err("must refuse non-loopback");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("loopback"), "{err}");
    }
}

#[test]
fn ipv6_loopback_when_available() {
    let Ok(emu) = Emulator::start(EmulatorConfig {
        bind: "::1".parse().unwrap(),
        ..EmulatorConfig::default()
    }) else {
        // No IPv6 on this machine; nothing to test.
        return;
    };
    assert_eq!(emu.base_url(), format!("http://[::1]:{}", emu.port()));
    assert!(std::net::TcpStream::connect(("::1", emu.port())).is_ok());
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "azmi-emulator-test-{}-{name}.json",
        std::process::id()
    ));
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn config_file_is_merged_over_defaults() {
    let path = temp_file(
        "merge",
        r#"{
            "tenantId": "99999999-0000-0000-0000-000000000000",
            "tokenLifetimeSeconds": 600,
            "systemAssigned": null,
            "userAssigned": [
                { "name": "x", "clientId": "c1", "objectId": "o1", "resourceId": "/r/x" },
                { "name": "y", "clientId": "c2", "objectId": "o2", "resourceId": "/r/y" }
            ],
            "resources": [ "https://example.test/" ]
        }"#,
    );
    let config = EmulatorConfig::from_json_file(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(config.tenant_id, "99999999-0000-0000-0000-000000000000");
    assert_eq!(config.token_lifetime_secs, 600);
    assert!(config.system_assigned.is_none());
    assert_eq!(config.user_assigned.len(), 2);

    let emu = Emulator::start(config).unwrap();
    // Two user-assigned and no system-assigned: the caller must choose.
    let resp = token(emu.port(), &query("https://example.test/", ""));
    assert_eq!(resp.status, 400);
    let resp = token(emu.port(), &query("https://example.test/", "object_id=o2"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(field(&body, "client_id"), "c2");
    assert_eq!(field(&body, "expires_in"), "600");
    let (_, claims) = jwt_parts(field(&body, "access_token"));
    assert_eq!(claims["tid"], "99999999-0000-0000-0000-000000000000");
    assert_eq!(claims["xms_mirid"], "/r/y");
    // The default resources were replaced.
    assert_eq!(
        token(emu.port(), &query(ARM, "object_id=o2")).json()["error"],
        "invalid_resource"
    );
}

#[test]
fn partial_config_file_keeps_other_defaults() {
    let path = temp_file("partial", r#"{ "tokenLifetimeSeconds": 5 }"#);
    let config = EmulatorConfig::from_json_file(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(config.token_lifetime_secs, 5);
    assert_eq!(config.tenant_id, TENANT);
    assert!(config.system_assigned.is_some());
    assert_eq!(config.user_assigned.len(), 1);
    assert_eq!(
        config.resources.len(),
        azmi_emulator::DEFAULT_RESOURCES.len()
    );
}

#[test]
fn bad_config_files_are_errors() {
    assert!(EmulatorConfig::from_json_file("/nonexistent/azmi.json")
        .unwrap_err()
        .contains("cannot read"));
    for (name, text) in [
        ("syntax", "{"),
        ("unknown", r#"{"tenant":"x"}"#),
        ("missing-id", r#"{"systemAssigned":{"clientId":"c"}}"#),
        ("empty-tenant", r#"{"tenantId":""}"#),
    ] {
        let path = temp_file(name, text);
        let result = EmulatorConfig::from_json_file(&path);
        std::fs::remove_file(&path).ok();
        assert!(result.is_err(), "{name} should fail");
    }
}
