//! Azurite, the Blob storage emulator (npm `azurite`, installed under tools/azurite by
//! scripts/setup.sh), started over HTTPS with `--oauth basic` on a free port, with a fresh
//! certificate for 127.0.0.1 and an empty workspace; stopped on drop. Without Azurite the tests
//! fail, saying to run scripts/setup.sh.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use azmi_emulator::AZURITE_ACCOUNT;

/// Azurite's blob service over HTTPS with a certificate for 127.0.0.1; stopped on drop.
pub struct Azurite {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Azurite {
    pub fn start() -> Azurite {
        let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tools/azurite/node_modules/.bin/azurite-blob");
        assert!(
            bin.exists(),
            "Azurite is not installed ({} is missing): run scripts/setup.sh",
            bin.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let status = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl could not make a certificate");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.path().join("azurite.log")).unwrap();
        let mut child = Command::new(&bin)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .args(["--oauth", "basic", "--silent", "--skipApiVersionCheck"])
            .args(["--disableTelemetry"])
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--location")
            .arg(&data)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("Azurite starts");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "Azurite exited ({status}): {}",
                    std::fs::read_to_string(dir.path().join("azurite.log")).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Azurite did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Azurite { child, port, dir }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/{AZURITE_ACCOUNT}", self.port)
    }
}

impl Azurite {
    /// A PEM bundle of `ca_pem` (azmi-emulator's CA, for IMDS and ARM) and Azurite's
    /// certificate, for `AZMI_CA_FILE` / `Azmi::set_extra_ca`.
    pub fn bundle(&self, ca_pem: &str) -> PathBuf {
        let bundle = self.dir.path().join("ca-bundle.pem");
        let mut pem = ca_pem.to_owned();
        pem.push('\n');
        pem.push_str(&std::fs::read_to_string(self.dir.path().join("cert.pem")).unwrap());
        std::fs::write(&bundle, pem).unwrap();
        bundle
    }

    /// A path for a local file in a scratch folder removed with Azurite.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let dir = self.dir.path().join("files");
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
