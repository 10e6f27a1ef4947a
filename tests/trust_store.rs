//! The operating system's trust store: a CA given only through `SSL_CERT_FILE` (no
//! `AZMI_CA_FILE`) is trusted, and a server whose CA is in neither fails before anything is
//! sent, naming the host and the reason. azmi reads the variable when it builds its client, so
//! each check runs in a child process of this test binary with the variables set (no test
//! touches its own process's environment).

use std::process::Command;

use azmi::{Azmi, ErrorCode, IdentityId, ManagedIdentity};
use azmi_emulator::{Emulator, EmulatorConfig};

const CHILD: &str = "AZMI_TRUST_STORE_CHILD";

/// Runs `test` of this binary in a child with `vars` set (and azmi's own CA variable unset);
/// returns its output.
fn child(test: &str, emu: &Emulator, vars: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .env("AZMI_TEST_VAULT", emu.keyvault_url())
        .env("AZMI_TEST_TOKEN_URL", emu.token_url())
        .env_remove("AZMI_CA_FILE")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    for name in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        cmd.env_remove(name);
    }
    for (name, value) in vars {
        cmd.env(name, value);
    }
    let out = cmd.output().expect("the test binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

/// In the child: the secret through azmi's own client, built from the environment.
fn read_secret() -> azmi::Result<()> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let azmi = Azmi::new()?;
        let mi = ManagedIdentity::with_endpoint(
            IdentityId::SystemAssigned,
            &std::env::var("AZMI_TEST_TOKEN_URL").unwrap(),
        )?;
        let vault = std::env::var("AZMI_TEST_VAULT").unwrap();
        azmi.keyvault(&vault, &mi)?
            .get_secret("mi-test", None)
            .await
            .map(|_| ())
    })
}

#[test]
fn a_ca_in_ssl_cert_file_alone_is_trusted() {
    if std::env::var_os(CHILD).is_some() {
        read_secret().expect("the CA of SSL_CERT_FILE is trusted");
        println!("child: trusted");
        return;
    }
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let ca = emu.ca_file();
    let out = child(
        "a_ca_in_ssl_cert_file_alone_is_trusted",
        &emu,
        &[("SSL_CERT_FILE", ca.to_str().unwrap())],
    );
    assert!(out.contains("child: trusted"), "{out}");
    assert!(emu.counters().tokens_issued >= 1);
}

#[test]
fn a_ca_in_no_store_is_refused_before_anything_is_sent() {
    if std::env::var_os(CHILD).is_some() {
        let e = read_secret().unwrap_err();
        assert_eq!(e.code(), ErrorCode::InsecureRequest, "{e}");
        println!("child: {e}");
        return;
    }
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    // The system's store (or, as here, a file without the emulator's CA) does not know it.
    let other = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(other.path(), include_str!("fixtures/other-ca.pem")).unwrap();
    let out = child(
        "a_ca_in_no_store_is_refused_before_anything_is_sent",
        &emu,
        &[("SSL_CERT_FILE", other.path().to_str().unwrap())],
    );
    let host = url::Url::parse(&emu.keyvault_url()).unwrap();
    let host = format!("{}:{}", host.host_str().unwrap(), host.port().unwrap());
    assert!(out.contains(&format!("the TLS certificate of {host} is not trusted (invalid peer certificate: UnknownIssuer)")), "{out}");
    assert!(out.contains("azmi did not send the token"), "{out}");
    assert!(
        out.contains("operating system's certificate store"),
        "{out}"
    );
    // Only the anonymous challenge request could have left, and it did not get through TLS.
    assert_eq!(emu.service_counters().requests, 0);
}
