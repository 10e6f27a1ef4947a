//! Claims challenges (continuous access evaluation) end to end against azmi-emulator: a token
//! revoked by the emulator's admin call is recovered by every service call with exactly one new
//! token, on every managed identity source; a challenge that comes again is
//! `ErrorCode::ClaimsChallenge` with the claims, after exactly two requests; App Service and
//! Service Fabric get `xms_cc` and `token_sha256_to_refresh`, and need the latter to issue a new
//! token instead of their cached one; tokens asked with capabilities are cached apart; claims in
//! bad forms are refused before anything is sent; a call dropped during the retry stops.
//!
//! Peers: Key Vault, Resource Manager (paging, long-running operation polls, SAS) and Data Lake
//! Gen1/Gen2 are the emulator's; Blob's challenge is answered by a fake endpoint written here
//! (Azurite cannot revoke). Token text is never printed: tokens are compared by their hashes
//! with `assert!`, never `assert_eq!`.

mod fake_http;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azmi::{
    Adls, AdlsProtocol, Azmi, Claims, ErrorCode, IdentityId, KeyVault, ManagedIdentity,
    RetryPolicy, ServiceSasRequest, SourceEnv, TokenOptions,
};
use azmi_emulator::{Emulator, EmulatorConfig, Fault, IdentitySource, AZURITE_ACCOUNT};
use base64::Engine as _;
use sha2::Digest as _;
use tokio::io::AsyncWriteExt;

const VAULT_RESOURCE: &str = "https://vault.azure.net";
const ARM: &str = "https://management.azure.com/";
const SUB: &str = "00000000-0000-0000-0000-000000000000";
const CLAIMS: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1767225600"}}}"#;

fn start(source: IdentitySource) -> Emulator {
    Emulator::start(EmulatorConfig {
        source,
        ..EmulatorConfig::default()
    })
    .expect("emulator starts")
}

/// The emulator's variables as a host would set them, and nothing from this process.
fn env_of(emu: &Emulator) -> SourceEnv {
    let mut env = SourceEnv::empty().arc_agent_path(Path::new("/nonexistent/azcmagent"));
    for (name, value) in emu.environment() {
        env = env.set(&name, &value);
    }
    if let Some(dir) = emu.arc_tokens_dir() {
        env = env.arc_tokens_dir(&dir);
    }
    env
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        budget: Duration::from_secs(3),
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    }
}

/// A client trusting the emulator's CA, and its identity at the emulator's source.
fn client(emu: &Emulator) -> (Azmi, ManagedIdentity) {
    let azmi = Azmi::new().expect("client");
    azmi.set_extra_ca(Some(&emu.ca_file())).expect("CA file");
    let mi = ManagedIdentity::detect(IdentityId::SystemAssigned, &env_of(emu))
        .expect("identity")
        .with_options(TokenOptions {
            retry: quick(),
            ..TokenOptions::default()
        });
    (azmi, mi)
}

fn vault(emu: &Emulator, azmi: &Azmi, mi: &ManagedIdentity) -> KeyVault {
    azmi.keyvault(&emu.keyvault_url(), mi).expect("vault")
}

fn payload(token: &str) -> serde_json::Value {
    let part = token.split('.').nth(1).expect("JWT-shaped");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn sha256_hex(text: &str) -> String {
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The decoded query of a recorded token request.
fn query_of(query: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The token azmi's own calls use (they declare cp1), as the cache holds it.
async fn service_token(azmi: &Azmi, mi: &ManagedIdentity, resource: &str) -> String {
    let own = mi.clone().with_client_capabilities(&["cp1"]).unwrap();
    let grant = azmi.get_token(&own, resource, false).await.unwrap();
    assert!(grant.from_cache, "the service call's token is cached");
    grant.token.secret().to_owned()
}

#[tokio::test]
async fn a_revoked_token_is_recovered_with_exactly_one_new_token_on_every_source() {
    for source in IdentitySource::ALL {
        let emu = start(source);
        let (azmi, mi) = client(&emu);
        let kv = vault(&emu, &azmi, &mi);
        kv.get_secret("mi-test", None).await.unwrap();
        let revoked = service_token(&azmi, &mi, VAULT_RESOURCE).await;
        let issued = emu.counters().tokens_issued;

        emu.revoke_tokens(None).unwrap();
        let secret = kv
            .get_secret("mi-test", None)
            .await
            .unwrap_or_else(|e| panic!("{source:?}: the call after the revocation failed: {e}"));
        assert!(secret.expose_value() == "Hello from Key Vault");
        assert_eq!(
            emu.counters().tokens_issued,
            issued + 1,
            "{source:?}: one new token"
        );
        assert_eq!(emu.service_counters().claims_challenges, 1, "{source:?}");
        let renewed = service_token(&azmi, &mi, VAULT_RESOURCE).await;
        assert!(
            renewed != revoked,
            "{source:?}: the cache holds the new token"
        );

        // What each source was told, in the token request that answered the challenge.
        let last = emu.requests().pop().expect("a token request");
        let query = query_of(&last.query);
        match source {
            IdentitySource::AppService | IdentitySource::ServiceFabric => {
                assert_eq!(query.get("xms_cc").map(String::as_str), Some("cp1"));
                let sent = query.get("token_sha256_to_refresh").expect("the hash");
                assert!(
                    *sent == sha256_hex(&revoked),
                    "{source:?}: the hash of the revoked token"
                );
            }
            _ => {
                assert!(!query.contains_key("xms_cc"), "{source:?}: {query:?}");
                assert!(!query.contains_key("token_sha256_to_refresh"), "{source:?}");
                assert!(!query.contains_key("claims"), "{source:?}");
            }
        }
        // Capabilities reach the token where the source takes them.
        let expect_cc = matches!(
            source,
            IdentitySource::AppService
                | IdentitySource::ServiceFabric
                | IdentitySource::WorkloadIdentity
        );
        assert_eq!(
            payload(&renewed).get("xms_cc").is_some(),
            expect_cc,
            "{source:?}: xms_cc claim"
        );
    }
}

#[tokio::test]
async fn app_service_and_service_fabric_serve_their_cached_token_unless_told_its_hash() {
    for source in [IdentitySource::AppService, IdentitySource::ServiceFabric] {
        let emu = start(source);
        let (azmi, mi) = client(&emu);
        let first = azmi.get_token(&mi, ARM, false).await.unwrap();
        // A forced refresh asks again, but the endpoint serves what it cached: the same token.
        let again = azmi.get_token(&mi, ARM, true).await.unwrap();
        assert!(again.token.secret() == first.token.secret(), "{source:?}");
        assert_eq!(emu.requests().len(), 2);
        // With claims, azmi names the token to replace, and the endpoint issues a new one.
        let claims = Claims::parse(CLAIMS).unwrap();
        let renewed = azmi.get_token_with_claims(&mi, ARM, &claims).await.unwrap();
        assert!(!renewed.from_cache);
        assert!(renewed.token.secret() != first.token.secret(), "{source:?}");
        let query = query_of(&emu.requests().pop().unwrap().query);
        assert!(query["token_sha256_to_refresh"] == sha256_hex(first.token.secret()));
        assert!(!query.contains_key("xms_cc"), "no capabilities declared");
        // The new token replaced the cached one.
        let cached = azmi.get_token(&mi, ARM, false).await.unwrap();
        assert!(cached.from_cache && cached.token.secret() == renewed.token.secret());
    }
}

#[tokio::test]
async fn tokens_asked_with_capabilities_are_cached_apart_where_the_source_sends_them() {
    for (source, apart) in [
        (IdentitySource::AppService, true),
        (IdentitySource::ServiceFabric, true),
        (IdentitySource::WorkloadIdentity, true),
        (IdentitySource::Imds, false),
    ] {
        let emu = start(source);
        let (azmi, plain) = client(&emu);
        let cae = plain.clone().with_client_capabilities(&["cp1"]).unwrap();
        assert_eq!(cae.client_capabilities(), ["cp1"]);
        let without = azmi.get_token(&plain, ARM, false).await.unwrap();
        let with = azmi.get_token(&cae, ARM, false).await.unwrap();
        assert_eq!(with.from_cache, !apart, "{source:?}");
        assert_eq!(
            payload(with.token.secret()).get("xms_cc").is_some(),
            apart,
            "{source:?}"
        );
        assert!(payload(without.token.secret()).get("xms_cc").is_none());
        // Each is served from its own cache entry from then on.
        assert!(azmi.get_token(&plain, ARM, false).await.unwrap().from_cache);
        assert!(azmi.get_token(&cae, ARM, false).await.unwrap().from_cache);
        assert_eq!(
            emu.counters().token_requests,
            if apart { 2 } else { 1 },
            "{source:?}"
        );
        if matches!(
            source,
            IdentitySource::AppService | IdentitySource::ServiceFabric
        ) {
            let queries: Vec<_> = emu.requests().iter().map(|r| query_of(&r.query)).collect();
            assert!(!queries[0].contains_key("xms_cc"));
            assert_eq!(queries[1]["xms_cc"], "cp1");
        }
    }
}

#[tokio::test]
async fn a_repeated_challenge_is_an_error_with_the_claims_after_two_requests() {
    let emu = start(IdentitySource::Imds);
    let (azmi, mi) = client(&emu);
    let kv = vault(&emu, &azmi, &mi);
    kv.get_secret("mi-test", None).await.unwrap();
    let (sent, issued) = (
        emu.service_counters().requests,
        emu.counters().tokens_issued,
    );
    emu.set_service_faults(vec![Fault::ClaimsChallenge { count: 5 }]);

    let e = kv.get_secret("mi-test", None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ClaimsChallenge);
    assert_eq!(e.http_status(), Some(401));
    assert_eq!(e.service_code(), Some("Unauthorized"));
    let claims: serde_json::Value = serde_json::from_str(e.claims().unwrap().json()).unwrap();
    assert_eq!(claims["access_token"]["nbf"]["essential"], true);
    let m = e.to_string();
    assert!(m.contains("second claims challenge"), "{m}");
    assert!(m.contains("mi-test"), "{m}");
    assert!(m.contains(r#""nbf""#), "the claims are named: {m}");
    // One request, one retry with one new token: no loop.
    assert_eq!(emu.service_counters().requests, sent + 2);
    assert_eq!(emu.counters().tokens_issued, issued + 1);
    assert_eq!(emu.service_counters().claims_challenges, 2);
}

#[tokio::test]
async fn resource_manager_answers_challenges_on_pages_polls_and_sas() {
    let emu = Emulator::start(EmulatorConfig {
        arm_page_size: 1,
        arm_operation_polls: 2,
        arm_retry_after_secs: 0,
        ..EmulatorConfig::default()
    })
    .unwrap();
    let (azmi, mi) = client(&emu);
    let arm = azmi::Arm::with_endpoint(&azmi, Arc::new(mi), &emu.arm_url(), None).unwrap();

    // The second page's request is challenged.
    let mut groups = Vec::new();
    arm.resource_groups(SUB, |g| {
        groups.push(g.resource_group_name);
        true
    })
    .await
    .unwrap();
    let issued = emu.counters().tokens_issued;
    groups.clear();
    emu.set_service_faults(vec![
        Fault::Delay { ms: 0, count: 1 },
        Fault::ClaimsChallenge { count: 1 },
    ]);
    arm.resource_groups(SUB, |g| {
        groups.push(g.resource_group_name);
        true
    })
    .await
    .unwrap();
    assert_eq!(groups, ["azmi-rg", "DevTest"], "every page, once");
    assert_eq!(emu.counters().tokens_issued, issued + 1);

    // A poll of a long-running operation is challenged.
    emu.set_service_faults(vec![
        Fault::Delay { ms: 0, count: 2 },
        Fault::ClaimsChallenge { count: 1 },
    ]);
    arm.request(
        "DELETE",
        &format!("/subscriptions/{SUB}/resourcegroups/DevTest"),
        Some("2022-09-01"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(emu.counters().tokens_issued, issued + 2);
    let e = arm.resource_group(SUB, "DevTest").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "the deletion was waited for");

    // A SAS minted after a revocation.
    emu.revoke_tokens(None).unwrap();
    let sas = arm
        .list_service_sas(
            SUB,
            "azmi-rg",
            AZURITE_ACCOUNT,
            &ServiceSasRequest {
                canonicalized_resource: format!("/blob/{AZURITE_ACCOUNT}/uploads"),
                signed_resource: "c".into(),
                signed_permission: "r".into(),
                signed_expiry: "2099-01-01T00:00:00Z".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    use secrecy::ExposeSecret as _;
    assert!(sas.expose_secret().contains("sig="));
    assert_eq!(emu.counters().tokens_issued, issued + 3);
    assert_eq!(emu.service_counters().claims_challenges, 3);
    let challenged = emu
        .service_requests()
        .iter()
        .filter(|r| r.path.to_ascii_lowercase().ends_with("/listservicesas"))
        .count();
    assert_eq!(challenged, 2, "the SAS request and its one retry");
}

fn data_lake(emu: &Emulator, azmi: &Azmi, mi: &ManagedIdentity, protocol: AdlsProtocol) -> Adls {
    let account = match protocol {
        AdlsProtocol::Dfs => format!("{}/fs", emu.https_base_url()),
        _ => emu.https_base_url(),
    };
    azmi.adls(&account, protocol, mi).unwrap()
}

#[tokio::test]
async fn data_lake_writes_after_a_revocation_land_once() {
    for protocol in [AdlsProtocol::WebHdfs, AdlsProtocol::Dfs] {
        let emu = start(IdentitySource::Imds);
        let (azmi, mi) = client(&emu);
        let lake = data_lake(&emu, &azmi, &mi, protocol);
        lake.create("/cae/log.txt", &b"hello"[..], false)
            .await
            .unwrap();
        let issued = emu.counters().tokens_issued;

        emu.revoke_tokens(None).unwrap();
        lake.append("/cae/log.txt", &b" world"[..]).await.unwrap();
        // Gen1's append has two steps: the second one (with the data) is challenged too.
        emu.set_service_faults(vec![
            Fault::Delay { ms: 0, count: 1 },
            Fault::ClaimsChallenge { count: 1 },
        ]);
        lake.append("/cae/log.txt", &b"!"[..]).await.unwrap();

        let content = lake.read("/cae/log.txt", 0, None).await.unwrap();
        assert_eq!(&content[..], b"hello world!", "{protocol:?}: nothing twice");
        assert_eq!(
            emu.counters().tokens_issued,
            issued + 2,
            "{protocol:?}: one new token per challenge"
        );
        assert_eq!(emu.service_counters().claims_challenges, 2, "{protocol:?}");
    }
}

/// A Blob endpoint that answers the first `challenges` requests with a claims challenge and
/// then 201, recording every request.
async fn fake_blob(challenges: usize) -> (String, Arc<Mutex<Vec<fake_http::Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/acct", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                while let Some(req) = fake_http::read_request(&mut stream).await {
                    let n = {
                        let mut log = log.lock().unwrap();
                        log.push(req);
                        log.len()
                    };
                    let claims = base64::engine::general_purpose::STANDARD.encode(CLAIMS);
                    let answer = if n <= challenges {
                        format!(
                            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"insufficient_claims\", claims=\"{claims}\"\r\nx-ms-error-code: InvalidAuthenticationInfo\r\nContent-Length: 0\r\n\r\n"
                        )
                    } else {
                        "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n".to_owned()
                    };
                    if stream.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (base, seen)
}

#[tokio::test]
async fn blob_uploads_answer_one_challenge_and_send_the_same_body_again() {
    let emu = start(IdentitySource::Imds);
    let (azmi, mi) = client(&emu);
    let (base, seen) = fake_blob(1).await;
    let blob = azmi.blob(&base, &mi).unwrap();
    blob.upload_bytes("cae", "b.txt", &b"payload"[..], true)
        .await
        .unwrap();
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "the upload and its one retry");
        assert!(seen
            .iter()
            .all(|r| r.method == "PUT" && r.body == b"payload"));
    }
    assert_eq!(
        emu.counters().tokens_issued,
        2,
        "the first token and one with the claims"
    );

    // A challenge that comes again: an error after two requests, nothing more sent.
    let (base, seen) = fake_blob(usize::MAX).await;
    let blob = azmi.blob(&base, &mi).unwrap();
    let e = blob
        .upload_bytes("cae", "b.txt", &b"payload"[..], true)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ClaimsChallenge);
    assert_eq!(e.service_code(), Some("InvalidAuthenticationInfo"));
    assert!(e.claims().unwrap().json() == CLAIMS);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

/// Bytes that differ from one block to the next.
fn file_data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 65536) as u8)
        .collect()
}

#[tokio::test]
async fn blob_file_uploads_answer_one_challenge_by_streaming_the_same_data_again() {
    let emu = start(IdentitySource::Imds);
    let (azmi, mi) = client(&emu);
    let dir = tempfile::tempdir().unwrap();

    // One Put Blob streamed from the file (over the 8 MiB sent from memory).
    let data = file_data(9 * 1024 * 1024 + 7);
    let local = dir.path().join("streamed.bin");
    std::fs::write(&local, &data).unwrap();
    let (base, seen) = fake_blob(1).await;
    let n = azmi
        .blob(&base, &mi)
        .unwrap()
        .upload(&local, "cae", "streamed.bin", true, |_, _| {})
        .await
        .unwrap();
    assert_eq!(n, data.len() as u64);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "the upload and its one retry");
        assert!(
            seen.iter().all(|r| r.method == "PUT" && r.body == data),
            "each attempt carries the whole file"
        );
    }

    // Blocks, several in flight: the challenged one is sent again, the list once after all.
    let block = 64 * 1024;
    let data = file_data(3 * block + 123);
    let local = dir.path().join("blocks.bin");
    std::fs::write(&local, &data).unwrap();
    let (base, seen) = fake_blob(1).await;
    azmi.blob(&base, &mi)
        .unwrap()
        .with_block_size(block)
        .unwrap()
        .upload(&local, "cae", "blocks.bin", true, |_, _| {})
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    let comp = |r: &fake_http::Seen| r.query.get("comp").cloned().unwrap_or_default();
    let blocks: Vec<&fake_http::Seen> = seen.iter().filter(|r| comp(r) == "block").collect();
    assert_eq!(blocks.len(), 5, "four blocks, one of them twice");
    for r in blocks {
        let id = base64::engine::general_purpose::STANDARD
            .decode(&r.query["blockid"])
            .unwrap();
        let id = String::from_utf8(id).unwrap();
        let index: usize = id.trim_start_matches("azmi-block-").parse().unwrap();
        let start = index * block;
        assert!(
            r.body == data[start..(start + block).min(data.len())],
            "block {index} carries its part of the file"
        );
    }
    assert_eq!(seen.iter().filter(|r| comp(r) == "blocklist").count(), 1);
    assert_eq!(
        seen.last().map(comp).as_deref(),
        Some("blocklist"),
        "the list comes last"
    );
    drop(seen);
    assert_eq!(
        emu.counters().tokens_issued,
        3,
        "the first token and one with the claims for each upload"
    );
}

#[tokio::test]
async fn claims_in_bad_forms_are_refused_before_anything_is_sent() {
    let emu = start(IdentitySource::AppService);
    let (azmi, mi) = client(&emu);
    for bad in ["", "not claims", "[1]", "WzFd", "{\"a\":"] {
        let e = Claims::parse(bad).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad:?}");
    }
    let e = mi.clone().with_client_capabilities(&["cp 1"]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("cp1"), "{e}");
    assert_eq!(emu.counters().token_requests, 0);
    // Base64 as a challenge sends it, and JSON, are the same claims.
    let b64 = base64::engine::general_purpose::STANDARD.encode(CLAIMS);
    assert_eq!(Claims::parse(&b64).unwrap(), Claims::parse(CLAIMS).unwrap());
    let grant = azmi
        .get_token_with_claims(&mi, ARM, &Claims::parse(&b64).unwrap())
        .await
        .unwrap();
    assert!(!grant.from_cache);
}

#[tokio::test]
async fn a_call_dropped_during_the_retry_stops_and_the_next_one_works() {
    let emu = start(IdentitySource::Imds);
    let (azmi, mi) = client(&emu);
    let kv = vault(&emu, &azmi, &mi);
    kv.get_secret("mi-test", None).await.unwrap();
    emu.revoke_tokens(None).unwrap();
    // The token request that answers the challenge hangs.
    emu.set_faults(vec![Fault::Delay {
        ms: 30_000,
        count: 1,
    }]);
    let dropped =
        tokio::time::timeout(Duration::from_millis(500), kv.get_secret("mi-test", None)).await;
    assert!(dropped.is_err(), "still waiting for the new token");
    let sent = emu.service_counters().requests;
    // Nothing more was sent for the dropped call; the next call recovers on its own.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(emu.service_counters().requests, sent);
    let secret = kv.get_secret("mi-test", None).await.unwrap();
    assert!(secret.expose_value() == "Hello from Key Vault");
}

#[tokio::test]
async fn the_replaced_tokens_hash_never_appears_in_an_error() {
    let emu = start(IdentitySource::AppService);
    let (azmi, mi) = client(&emu);
    let first = azmi.get_token(&mi, ARM, false).await.unwrap();
    let hash = sha256_hex(first.token.secret());
    let claims = Claims::parse(CLAIMS).unwrap();
    for fault in [
        Fault::Status {
            status: 400,
            retry_after: None,
            count: 1,
        },
        Fault::Drop { count: 1000 },
    ] {
        emu.set_faults(vec![fault]);
        let e = azmi
            .get_token_with_claims(&mi, ARM, &claims)
            .await
            .unwrap_err();
        let shown = format!("{e} {e:?}");
        // Neither is printed, whatever the outcome.
        assert!(
            !shown.contains(&hash),
            "the error shows the replaced token's hash"
        );
        assert!(
            !shown.contains(first.token.secret()),
            "the error shows a token"
        );
        assert!(
            shown.contains("App Service token request"),
            "the error names the request"
        );
    }
    emu.set_faults(Vec::new());
    // The query did carry the hash: it is kept out of messages, not left out of the request.
    let sent = query_of(&emu.requests().pop().unwrap().query);
    assert!(sent.get("token_sha256_to_refresh") == Some(&hash));
}
