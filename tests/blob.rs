//! Blob storage against Azurite (the real peer, npm `azurite`, installed by scripts/setup.sh),
//! started here over HTTPS with `--oauth basic`: tokens come from azmi-emulator's IMDS, so
//! Azurite checks their claims; SAS tokens come from azmi-emulator's `listServiceSas`, so
//! Azurite's verifier checks our signing. Small and block uploads, downloads checked byte for
//! byte, overwrite protection, not-found errors, progress.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use azmi::{
    Arm, Azmi, Blob, ErrorCode, IdentityId, ManagedIdentity, RetryPolicy, ServiceSasRequest,
    TokenOptions,
};
use azmi_emulator::{Emulator, EmulatorConfig, AZURITE_ACCOUNT, DEFAULT_SUBSCRIPTION_ID as SUB};
use common::Azurite;
use secrecy::ExposeSecret;

const MIB: usize = 1024 * 1024;

struct Env {
    azurite: Azurite,
    emu: Emulator,
    azmi: Azmi,
    mi: ManagedIdentity,
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        budget: Duration::from_secs(5),
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    }
}

fn start() -> Env {
    let azurite = Azurite::start();
    let emu = Emulator::start(EmulatorConfig::default()).expect("emulator starts");
    let bundle = azurite.bundle(&emu.ca_pem());
    let azmi = Azmi::new().unwrap();
    azmi.set_extra_ca(Some(&bundle)).unwrap();
    let mi = ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &emu.token_url())
        .unwrap()
        .with_options(TokenOptions {
            retry: quick(),
            ..TokenOptions::default()
        });
    Env {
        azurite,
        emu,
        azmi,
        mi,
    }
}

impl Env {
    fn blob(&self) -> Blob {
        self.azmi.blob(&self.azurite.url(), &self.mi).unwrap()
    }

    fn scratch(&self, name: &str) -> PathBuf {
        self.azurite.scratch(name)
    }

    async fn sas(&self, container: &str) -> String {
        let arm = Arm::with_endpoint(
            &self.azmi,
            Arc::new(self.mi.clone()),
            &self.emu.arm_url(),
            None,
        )
        .unwrap();
        let expiry = chrono::Utc::now() + chrono::Duration::hours(1);
        let request = ServiceSasRequest {
            canonicalized_resource: format!("/blob/{AZURITE_ACCOUNT}/{container}"),
            signed_resource: "c".into(),
            signed_permission: "rcw".into(),
            signed_protocol: Some("https".into()),
            signed_expiry: expiry.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ..Default::default()
        };
        arm.list_service_sas(SUB, "azmi-rg", AZURITE_ACCOUNT, &request)
            .await
            .unwrap()
            .expose_secret()
            .to_owned()
    }
}

/// Bytes that differ at every position of a block.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 977) as u8).collect()
}

#[tokio::test]
async fn uploads_small_and_block_blobs_with_the_token_and_downloads_them_whole() {
    let env = start();
    let blob = env.blob();
    assert!(blob.create_container("data").await.unwrap());
    assert!(!blob.create_container("data").await.unwrap());

    // From memory; one Put Blob streamed from the file (checked against the MD5 Azurite
    // answers); blocks of 1 MiB, several in flight, then the block list.
    let cases = [
        ("small.bin", 1000, None),
        ("streamed.bin", 2 * 8 * MIB + 12345, None),
        ("blocks.bin", 2 * 8 * MIB + 12345, Some(MIB)),
    ];
    for (name, len, block_size) in cases {
        let local = env.scratch(name);
        let data = pattern(len);
        std::fs::write(&local, &data).unwrap();
        let mut sent = Vec::new();
        let blob = match block_size {
            Some(size) => blob.clone().with_block_size(size).unwrap(),
            None => blob.clone(),
        };
        let n = blob
            .upload(
                &local,
                "data",
                &format!("dir/{name}"),
                false,
                |done, total| sent.push((done, total)),
            )
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, len as u64);
        assert_eq!(sent.first(), Some(&(0, len as u64)), "{name}");
        assert_eq!(sent.last(), Some(&(len as u64, len as u64)), "{name}");
        assert!(
            sent.windows(2).all(|w| w[0].0 <= w[1].0),
            "{name}: {sent:?}"
        );
        if let Some(size) = block_size {
            // One report per block as each is answered.
            assert_eq!(sent.len(), 1 + len.div_ceil(size), "{name}: {sent:?}");
        }

        let back = env.scratch(&format!("{name}.back"));
        let mut received = Vec::new();
        let n = blob
            .download(
                "data",
                &format!("dir/{name}"),
                &back,
                false,
                |done, total| received.push((done, total)),
            )
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, len as u64);
        assert_eq!(received.last(), Some(&(len as u64, len as u64)));
        let got = std::fs::read(&back).unwrap();
        assert!(got == data, "{name}: the downloaded bytes differ");
        assert_eq!(
            blob.read("data", &format!("dir/{name}"))
                .await
                .unwrap()
                .len(),
            len
        );
    }
    // No temporary file is left next to the downloads.
    let leftovers: Vec<_> = std::fs::read_dir(env.scratch("x").parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".azmi-partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn reads_the_tutorials_hello_world_with_the_token() {
    let env = start();
    let blob = env.blob();
    blob.create_container("tutorial").await.unwrap();
    blob.upload_bytes("tutorial", "hello.txt", "Hello world! :)", false)
        .await
        .unwrap();
    let text = blob.read("tutorial", "hello.txt").await.unwrap();
    assert_eq!(&text[..], b"Hello world! :)");
}

#[tokio::test]
async fn overwriting_needs_the_flag_on_both_sides() {
    let env = start();
    // Small blocks so that the block-list path is checked too.
    let blob = env.blob().with_block_size(64 * 1024).unwrap();
    blob.create_container("ctr").await.unwrap();
    for (name, len) in [("one-put", 1000), ("blocks", 200 * 1024)] {
        blob.upload_bytes("ctr", name, pattern(len), false)
            .await
            .unwrap();
        let e = blob
            .upload_bytes("ctr", name, vec![1u8; len], false)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Conflict, "{name}: {e}");
        assert!(e.to_string().contains(&format!("'ctr/{name}'")), "{e}");
        assert!(blob.read("ctr", name).await.unwrap()[..] == pattern(len));
        blob.upload_bytes("ctr", name, vec![1u8; len], true)
            .await
            .unwrap();
        assert!(blob.read("ctr", name).await.unwrap()[..] == vec![1u8; len]);
    }

    let local = env.scratch("existing.txt");
    std::fs::write(&local, "keep me").unwrap();
    let e = blob
        .download("ctr", "one-put", &local, false, |_, _| {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    assert_eq!(std::fs::read_to_string(&local).unwrap(), "keep me");
    blob.download("ctr", "one-put", &local, true, |_, _| {})
        .await
        .unwrap();
    assert_eq!(std::fs::read(&local).unwrap(), vec![1u8; 1000]);
}

#[tokio::test]
async fn missing_blobs_and_containers_are_not_found() {
    let env = start();
    let blob = env.blob();
    blob.create_container("present").await.unwrap();
    let e = blob.read("present", "missing.txt").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    assert_eq!(e.service_code(), Some("BlobNotFound"));
    assert!(e.to_string().contains("'present/missing.txt'"), "{e}");

    let local = env.scratch("never.txt");
    let e = blob
        .download("absent", "x.txt", &local, false, |_, _| {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    assert!(e.to_string().contains("'absent/x.txt'"), "{e}");
    assert!(!local.exists());

    let e = blob
        .upload_bytes("absent", "x.txt", "data", false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    assert_eq!(e.service_code(), Some("ContainerNotFound"));
}

#[tokio::test]
async fn a_sas_from_list_service_sas_uploads_and_downloads_through_azurite() {
    let env = start();
    env.blob().create_container("sas").await.unwrap();
    let sas = env.sas("sas").await;
    let with_sas = env
        .azmi
        .blob_with_sas(&env.azurite.url(), &format!("?{sas}"))
        .unwrap()
        .with_retry(quick());
    assert!(!format!("{with_sas:?}").contains(&sas));

    let test = env.scratch("test.txt");
    std::fs::write(&test, "Hello world! :)\n").unwrap();
    with_sas
        .upload(&test, "sas", "test.txt", false, |_, _| {})
        .await
        .unwrap();
    let test2 = env.scratch("test2.txt");
    with_sas
        .download("sas", "test.txt", &test2, false, |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(&test2).unwrap(),
        std::fs::read(&test).unwrap()
    );
    // Blocks too, with the SAS.
    let large = with_sas.clone().with_block_size(64 * 1024).unwrap();
    large
        .upload_bytes("sas", "blocks.bin", pattern(300 * 1024), false)
        .await
        .unwrap();
    assert!(large.read("sas", "blocks.bin").await.unwrap()[..] == pattern(300 * 1024));

    // A signature that does not match is refused, and never shown.
    let forged = sas
        .split('&')
        .map(|p| {
            if p.starts_with("sig=") {
                "sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"
            } else {
                p
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    let e = env
        .azmi
        .blob_with_sas(&env.azurite.url(), &forged)
        .unwrap()
        .with_retry(quick())
        .read("sas", "test.txt")
        .await
        .unwrap_err();
    // Azurite answers 403 AuthorizationFailure (Azure: AuthenticationFailed, "Signature did
    // not match").
    assert_eq!(e.code(), ErrorCode::PermissionDenied, "{e}");
    assert_eq!(e.service_code(), Some("AuthorizationFailure"));
    assert!(!e.to_string().contains("sig="), "{e}");
}
