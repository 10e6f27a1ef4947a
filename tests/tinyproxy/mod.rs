//! Debian's tinyproxy (installed by scripts/setup.sh), started on a free loopback port with a
//! configuration of the test's own and a log the test reads; stopped on drop. Without tinyproxy
//! the tests fail, saying to run scripts/setup.sh.

#![allow(dead_code)] // each test file uses part of it

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the proxy asks and allows.
#[derive(Default, Clone)]
pub struct Options {
    /// `BasicAuth user password`: CONNECT without them is answered 407.
    pub basic_auth: Option<(String, String)>,
    /// `ConnectPort` lines: CONNECT to any other port is refused (403).
    pub connect_ports: Vec<u16>,
}

/// A running tinyproxy.
pub struct Tinyproxy {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

/// Where Debian puts it (scripts/setup.sh installs the package).
fn binary() -> PathBuf {
    let candidates = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("tinyproxy is not installed: run scripts/setup.sh"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Tinyproxy {
    pub fn start() -> Tinyproxy {
        Self::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Tinyproxy {
        // A port freed a moment ago may be taken by another test meanwhile: try a few.
        for _ in 0..5 {
            if let Some(proxy) = Self::try_start(&options) {
                return proxy;
            }
        }
        panic!("tinyproxy did not start on a free port in 5 tries");
    }

    fn try_start(options: &Options) -> Option<Tinyproxy> {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("tinyproxy.log");
        let mut conf = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\nLogLevel Connect\nLogFile \"{}\"\nDisableViaHeader Yes\n",
            log.display()
        );
        if let Some((user, password)) = &options.basic_auth {
            conf.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        for p in &options.connect_ports {
            conf.push_str(&format!("ConnectPort {p}\n"));
        }
        if nix_is_root() {
            // Run as root, tinyproxy wants to drop to a user; keep this one (it owns the log).
            conf.push_str("User root\nGroup root\n");
        }
        let conf_path = dir.path().join("tinyproxy.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let mut child = Command::new(binary())
            .arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("tinyproxy starts");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Tinyproxy { child, port, dir })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The proxy's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tinyproxy.log")).unwrap_or_default()
    }

    /// The `host:port` of each `CONNECT` request in the log (its lines read
    /// `CONNECT   <date> [pid]: Request (file descriptor 5): CONNECT 127.0.0.1:443 HTTP/1.1`).
    pub fn connects(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| l.split_once("): CONNECT ").map(|(_, rest)| rest))
            .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
            .collect()
    }

    /// Whether `port` appears anywhere in the log (as `:port`).
    pub fn saw_port(&self, port: u16) -> bool {
        self.log().contains(&format!(":{port}"))
    }
}

fn nix_is_root() -> bool {
    // `id -u` without a libc binding: the owner of /proc/self is the process's user.
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
