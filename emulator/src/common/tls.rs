//! The emulator's own certificate authority and server certificate, generated at every start.
//!
//! Clients trust the CA through `AZMI_CA_FILE` (or their platform's equivalent) instead of
//! disabling verification, so the TLS code path tested is the one used against Azure.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Datelike;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;

/// File name of the CA certificate inside the CA folder.
pub const CA_FILE_NAME: &str = "azmi-emulator-ca.pem";

/// Names the server certificate is valid for. `*.localhost` is for account-style host names
/// (`account.localhost`, loopback on most systems) with clients that accept a wildcard over a
/// single label; rustls and browsers do not.
const SERVER_NAMES: &[&str] = &["127.0.0.1", "::1", "localhost", "*.localhost"];

pub(crate) struct Tls {
    pub ca_pem: String,
    pub ca_file: PathBuf,
    pub server_config: Arc<ServerConfig>,
    /// Holds the default CA folder; removing it on drop cleans up after the emulator.
    _temp_dir: Option<tempfile::TempDir>,
}

/// Generates the CA and server certificate, writes the CA to `ca_dir` (or a new temporary
/// folder) and builds the rustls server configuration.
pub(crate) fn setup(ca_dir: Option<&Path>) -> io::Result<Tls> {
    let (ca_pem, chain, key) = generate().map_err(io::Error::other)?;

    let (dir, temp_dir) = match ca_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            (dir.to_path_buf(), None)
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("azmi-emulator-")
                .tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    let ca_file = dir.join(CA_FILE_NAME);
    write_atomically(&ca_file, ca_pem.as_bytes())?;

    Ok(Tls {
        ca_pem,
        ca_file,
        server_config: server_config(chain, key)?,
        _temp_dir: temp_dir,
    })
}

/// A self-signed server certificate that clients trust by its thumbprint, not through a CA (as
/// Service Fabric's managed identity token service is pinned by `IDENTITY_SERVER_THUMBPRINT`).
pub(crate) struct PinnedTls {
    pub server_config: Arc<ServerConfig>,
    /// SHA-1 of the certificate's DER, upper-case hex (what Windows and the SDKs call the
    /// thumbprint).
    pub thumbprint: String,
}

pub(crate) fn self_signed() -> io::Result<PinnedTls> {
    let year = chrono::Utc::now().year();
    let names: Vec<String> = SERVER_NAMES.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).map_err(io::Error::other)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "azmi-emulator service fabric");
    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = rcgen::date_time_ymd(year + 10, 1, 1);
    let key = KeyPair::generate().map_err(io::Error::other)?;
    let cert = params.self_signed(&key).map_err(io::Error::other)?;
    let thumbprint = thumbprint(cert.der());
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok(PinnedTls {
        server_config: server_config(vec![cert.der().clone()], key_der)?,
        thumbprint,
    })
}

/// Upper-case hex SHA-1 of a certificate's DER.
pub(crate) fn thumbprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

fn server_config(chain: Chain, key: PrivateKeyDer<'static>) -> io::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server_config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(io::Error::other)?;
    // HTTP/1.1 only, like the hyper server behind it; announcing it keeps ALPN clients happy.
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(server_config))
}

type Chain = Vec<rustls::pki_types::CertificateDer<'static>>;

fn generate() -> Result<(String, Chain, PrivateKeyDer<'static>), rcgen::Error> {
    // Validity from last year to ten years ahead: clock differences never matter, and no client
    // rejects the span (unlike rcgen's default of 1975..4096).
    let year = chrono::Utc::now().year();
    let not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    let not_after = rcgen::date_time_ymd(year + 10, 1, 1);

    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "azmi-emulator test CA");
    ca_params
        .distinguished_name
        .push(DnType::OrganizationName, "azmi-emulator");
    ca_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let names: Vec<String> = SERVER_NAMES.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = not_before;
    params.not_after = not_after;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;

    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((ca_cert.pem(), vec![cert.der().clone()], key_der))
}

/// Written to a temporary name and renamed, so a client polling for the file never reads half.
fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_ca_and_builds_a_config() {
        let dir = tempfile::tempdir().unwrap();
        let tls = setup(Some(dir.path())).unwrap();
        assert_eq!(tls.ca_file, dir.path().join(CA_FILE_NAME));
        let written = std::fs::read_to_string(&tls.ca_file).unwrap();
        assert_eq!(written, tls.ca_pem);
        assert!(written.starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn thumbprint_is_upper_case_sha1_hex() {
        // SHA-1("abc"), FIPS 180 test vector.
        assert_eq!(
            thumbprint(b"abc"),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
        let pinned = self_signed().unwrap();
        assert_eq!(pinned.thumbprint.len(), 40);
    }

    #[test]
    fn default_folder_is_removed_on_drop() {
        let tls = setup(None).unwrap();
        let file = tls.ca_file.clone();
        assert!(file.exists());
        drop(tls);
        assert!(!file.exists());
    }
}
