//! The `azmi-emulator` binary: printed lines, options, and the ways it stops.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

const BIN: &str = env!("CARGO_BIN_EXE_azmi-emulator");

/// A running emulator process, killed (by its own pid) if a test fails half-way.
struct Running {
    child: Child,
    port: u16,
    https_port: u16,
    lines: Vec<String>,
    /// Kept for the lines after the banner (a `--source` emulator's exports).
    reader: BufReader<ChildStdout>,
}

impl Running {
    fn spawn(args: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn azmi-emulator");
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        for _ in 0..7 {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read stdout");
            assert!(line.ends_with('\n'), "incomplete line {line:?}");
            lines.push(line.trim_end().to_string());
        }
        let port = lines[0]
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {:?}", lines[0]));
        let https_port = lines[4]
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {:?}", lines[4]));
        Running {
            child,
            port,
            https_port,
            lines,
            reader,
        }
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read stdout");
        assert!(line.ends_with('\n'), "incomplete line {line:?}");
        line.trim_end().to_string()
    }

    fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "emulator did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn prints_five_lines_and_serves_until_admin_shutdown() {
    let mut emu = Running::spawn(&["--port", "0"]);
    let port = emu.port;
    // The first three lines are unchanged from before the services existed.
    assert_eq!(
        emu.lines[..3],
        [
            format!("azmi-emulator listening on http://127.0.0.1:{port}"),
            format!(
                "export AZMI_IMDS_ENDPOINT=http://127.0.0.1:{port}/metadata/identity/oauth2/token"
            ),
            format!("export AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:{port}"),
        ]
    );
    let ca_file = emu.lines[3]
        .strip_prefix("export AZMI_CA_FILE=")
        .unwrap_or_else(|| panic!("line 4: {:?}", emu.lines[3]))
        .to_string();
    assert!(ca_file.ends_with("/azmi-emulator-ca.pem"), "{ca_file}");
    assert_eq!(
        emu.lines[4],
        format!(
            "azmi-emulator services on https://127.0.0.1:{}",
            emu.https_port
        )
    );
    assert_ne!(emu.https_port, port);
    // Key Vault and Resource Manager follow, each on its own HTTPS port.
    let kv = emu.lines[5]
        .strip_prefix("export AZMI_KEYVAULT_URL=https://127.0.0.1:")
        .unwrap_or_else(|| panic!("line 6: {:?}", emu.lines[5]));
    let arm = emu.lines[6]
        .strip_prefix("export AZMI_ARM_ENDPOINT=https://127.0.0.1:")
        .unwrap_or_else(|| panic!("line 7: {:?}", emu.lines[6]));
    let kv: u16 = kv.parse().unwrap();
    let arm: u16 = arm.parse().unwrap();
    assert!(kv != arm && kv != emu.https_port && arm != emu.https_port);

    // The CA file is a PEM certificate that a TLS client can trust to reach the services.
    let pem = std::fs::read_to_string(&ca_file).expect("CA file exists");
    CertificateDer::from_pem_slice(pem.as_bytes()).expect("a PEM certificate");
    let config = https::trusting(&pem);
    let mut conn = https::TlsConn::open(&config, emu.https_port, "127.0.0.1").expect("TLS");
    let issued = token(port, &query(https::STORAGE, ""));
    let bearer = format!("Bearer {}", field(&issued.json(), "access_token"));
    let resp = conn
        .request(
            "GET",
            "/fs?resource=filesystem&recursive=true",
            &[("Authorization", &bearer), ("x-ms-version", https::VERSION)],
            None,
        )
        .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());
    let resp = token(port, &query(ARM, ""));
    assert_eq!(resp.status, 200);
    assert_eq!(field(&resp.json(), "client_id"), SYSTEM_CLIENT_ID);

    assert_eq!(admin_post(port, "/admin/shutdown", "").status, 200);
    let status = emu.wait(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    // The default CA folder is temporary and goes with the process.
    assert!(!std::path::Path::new(&ca_file).exists());
}

#[test]
fn service_options_are_applied() {
    let ca_dir = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut emu = Running::spawn(&[
        "--ca-dir",
        ca_dir.path().to_str().unwrap(),
        "--data-dir",
        data_dir.path().to_str().unwrap(),
        "--redirect-host",
        "localhost",
    ]);
    let ca_file = ca_dir.path().join("azmi-emulator-ca.pem");
    assert_eq!(
        emu.lines[3],
        format!("export AZMI_CA_FILE={}", ca_file.display())
    );
    let pem = std::fs::read_to_string(&ca_file).unwrap();
    let config = https::trusting(&pem);

    let issued = token(emu.port, &query(https::DATALAKE, ""));
    let bearer = format!("Bearer {}", field(&issued.json(), "access_token"));
    let mut conn = https::TlsConn::open(&config, emu.https_port, "localhost").unwrap();
    let resp = conn
        .request(
            "PUT",
            "/webhdfs/v1/f?op=CREATE",
            &[("Authorization", &bearer)],
            Some(b""),
        )
        .unwrap();
    assert_eq!(resp.status, 307);
    assert_eq!(
        resp.header("location"),
        Some(
            format!(
                "https://localhost:{}/webhdfs/v1/f?op=CREATE&write=true",
                emu.https_port
            )
            .as_str()
        )
    );
    let resp = conn
        .request(
            "PUT",
            "/webhdfs/v1/f?op=CREATE&write=true",
            &[("Authorization", &bearer)],
            Some(b"on disk"),
        )
        .unwrap();
    assert_eq!(resp.status, 201);
    // The content went to a folder under --data-dir.
    let folders: Vec<_> = std::fs::read_dir(data_dir.path())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(folders.len(), 1);

    assert_eq!(admin_post(emu.port, "/admin/shutdown", "").status, 200);
    assert!(emu.wait(Duration::from_secs(10)).success());
    // A given CA folder is kept; the data folder inside --data-dir is removed.
    assert!(ca_file.exists());
    assert_eq!(std::fs::read_dir(data_dir.path()).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn sigterm_and_sigint_stop_cleanly() {
    for signal in ["-TERM", "-INT"] {
        let mut emu = Running::spawn(&[]);
        assert_eq!(token(emu.port, &query(ARM, "")).status, 200);
        let pid = emu.child.id().to_string();
        let killed = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("run kill");
        assert!(killed.success());
        let status = emu.wait(Duration::from_secs(10));
        assert!(status.success(), "{signal}: {status:?}");
    }
}

#[test]
fn options_are_applied() {
    let dir = std::env::temp_dir();
    let port_file = dir.join(format!("azmi-emulator-port-{}.txt", std::process::id()));
    let config_file = dir.join(format!("azmi-emulator-cfg-{}.json", std::process::id()));
    std::fs::write(
        &config_file,
        r#"{"resources":["https://example.test/"],"tokenLifetimeSeconds":10}"#,
    )
    .unwrap();
    let emu = Running::spawn(&[
        "--config",
        config_file.to_str().unwrap(),
        "--tenant-id",
        "12345678-0000-0000-0000-000000000000",
        "--token-lifetime",
        "900",
        "--refresh-in",
        "450",
        "--response-style",
        "numbers",
        "--faults",
        r#"{"faults":[{"status":429,"retry_after":1}]}"#,
        "--port-file",
        port_file.to_str().unwrap(),
    ]);
    let written = std::fs::read_to_string(&port_file).unwrap();
    std::fs::remove_file(&port_file).ok();
    std::fs::remove_file(&config_file).ok();
    assert_eq!(written.trim(), emu.port.to_string());

    let resp = token(emu.port, &query("https://example.test/", ""));
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("1"));

    let body = token(emu.port, &query("https://example.test/", "")).json();
    assert_eq!(body["expires_in"], 900, "CLI overrides the config file");
    assert_eq!(body["refresh_in"], 450);
    let (_, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(claims["tid"], "12345678-0000-0000-0000-000000000000");
}

fn run_to_failure(args: &[&str]) -> (ExitStatus, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap(), stderr)
}

#[test]
fn non_loopback_bind_is_refused() {
    for ip in ["0.0.0.0", "::"] {
        let (status, stderr) = run_to_failure(&["--bind", ip]);
        assert!(!status.success());
        assert!(stderr.contains("loopback"), "{stderr}");
    }
}

#[test]
fn bad_options_are_refused() {
    for args in [
        vec!["--response-style", "xml"],
        vec!["--faults", "[{\"status\":99}]"],
        vec!["--config", "/nonexistent/azmi.json"],
        vec!["--port", "http"],
        vec!["--redirect-host", "evil.example:443"],
        vec!["--https-port", "x"],
    ] {
        let (status, stderr) = run_to_failure(&args);
        assert!(!status.success(), "{args:?}");
        assert!(!stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn source_prints_the_variables_of_its_protocol() {
    let mut emu = Running::spawn(&["--source", "app-service"]);
    let port = emu.port;
    // The seven banner lines are unchanged; the source's follow.
    assert!(emu.lines[1].starts_with("export AZMI_IMDS_ENDPOINT="));
    assert_eq!(
        emu.read_line(),
        "azmi-emulator managed identity source app-service"
    );
    assert_eq!(
        emu.read_line(),
        format!("export IDENTITY_ENDPOINT=http://127.0.0.1:{port}/msi/token")
    );
    let secret = emu
        .read_line()
        .strip_prefix("export IDENTITY_HEADER=")
        .expect("IDENTITY_HEADER line")
        .to_string();
    let resp = request(
        port,
        "GET",
        &format!("/msi/token?api-version=2019-08-01&resource={}", encode(ARM)),
        &[("X-IDENTITY-HEADER", &secret)],
        None,
    )
    .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(admin_post(port, "/admin/shutdown", "").status, 200);
    assert!(emu.wait(Duration::from_secs(10)).success());
}

#[test]
fn unknown_source_is_refused() {
    let (status, stderr) = run_to_failure(&["--source", "vm"]);
    assert!(!status.success());
    assert!(stderr.contains("unknown source 'vm'"), "{stderr}");
}
