//! Key Vault secrets against azmi-emulator over HTTPS: latest and older versions, paged
//! listings, the SDKs' challenge flow (checked in the emulator's request log), errors that name
//! the vault and secret, throttling, and secrets kept out of `Debug` output and messages.

use std::time::Duration;

use azmi::{Azmi, ErrorCode, IdentityId, KeyVault, ManagedIdentity, RetryPolicy, TokenOptions};
use azmi_emulator::{Emulator, EmulatorConfig, Fault, RecordedRequest};

const VALUE: &str = "Hello from Key Vault";

struct Env {
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

fn start_with(config: EmulatorConfig) -> Env {
    let emu = Emulator::start(config).expect("emulator starts");
    let azmi = Azmi::new().unwrap();
    azmi.set_extra_ca(Some(&emu.ca_file())).unwrap();
    let mi = ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &emu.token_url())
        .unwrap()
        .with_options(TokenOptions {
            retry: quick(),
            ..TokenOptions::default()
        });
    Env { emu, azmi, mi }
}

fn start() -> Env {
    start_with(EmulatorConfig::default())
}

impl Env {
    fn vault(&self) -> KeyVault {
        self.azmi
            .keyvault(&self.emu.keyvault_url(), &self.mi)
            .unwrap()
    }
}

fn authorization(req: &RecordedRequest) -> Option<&str> {
    req.headers
        .iter()
        .find(|(n, _)| n == "authorization")
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn gets_the_latest_secret_and_an_older_version() {
    let env = start();
    let kv = env.vault();
    let secret = kv.get_secret("mi-test", None).await.unwrap();
    assert!(secret.expose_value() == VALUE, "the latest value");
    let p = &secret.properties;
    assert_eq!(p.name, "mi-test");
    assert_eq!(p.content_type.as_deref(), Some("text/plain"));
    assert!(p.enabled);
    assert!(p.created.is_some() && p.updated.is_some());
    assert_eq!(
        p.tags.get("purpose").map(String::as_str),
        Some("azmi-tests")
    );
    let latest = p.version.clone().expect("a version");
    assert_eq!(
        p.id,
        format!("{}/secrets/mi-test/{latest}", env.emu.keyvault_url())
    );

    let mut versions = Vec::new();
    kv.list_versions("mi-test", |v| {
        versions.push(v);
        true
    })
    .await
    .unwrap();
    assert_eq!(versions.len(), 2);
    let older = versions
        .iter()
        .find(|v| v.version.as_deref() != Some(latest.as_str()))
        .and_then(|v| v.version.clone())
        .unwrap();
    let old = kv.get_secret("mi-test", Some(&older)).await.unwrap();
    assert!(old.expose_value() == "Hello from Key Vault (version 1)");
    assert_eq!(old.properties.version.as_deref(), Some(older.as_str()));
    // The api-version is 7.5 unless set.
    let queries: Vec<String> = env
        .emu
        .service_requests()
        .into_iter()
        .map(|r| r.query)
        .collect();
    assert!(
        queries.iter().all(|q| q.contains("api-version=7.5")),
        "{queries:?}"
    );
    kv.clone()
        .with_api_version("7.4")
        .unwrap()
        .get_secret("mi-test", None)
        .await
        .unwrap();
    assert!(env
        .emu
        .service_requests()
        .last()
        .unwrap()
        .query
        .contains("api-version=7.4"));
}

#[tokio::test]
async fn the_first_request_asks_for_the_challenge_as_the_sdks_do() {
    let env = start();
    env.vault().get_secret("mi-test", None).await.unwrap();
    let log = env.emu.service_requests();
    assert_eq!(log.len(), 2, "a challenge, then the authorized request");
    assert_eq!(
        authorization(&log[0]),
        None,
        "the first request has no token"
    );
    assert_eq!(authorization(&log[1]), Some("Bearer <redacted>"));
    let tokens = env.emu.requests();
    assert_eq!(tokens.len(), 1);
    assert!(
        tokens[0]
            .query
            .contains("resource=https%3A%2F%2Fvault.azure.net"),
        "the token is for the resource the challenge named: {}",
        tokens[0].query
    );
    // The resource is remembered for the vault: no second challenge, even from a new client.
    env.vault().get_secret("mi-test", None).await.unwrap();
    let log = env.emu.service_requests();
    assert_eq!(log.len(), 3);
    assert!(authorization(&log[2]).is_some());
}

#[tokio::test]
async fn lists_every_page_of_secrets_and_can_stop() {
    let env = start();
    let kv = env.vault();
    let mut names = Vec::new();
    let outcome = kv
        .list_secrets(|s| {
            assert_eq!(s.version, None);
            names.push(s.name);
            true
        })
        .await
        .unwrap();
    assert_eq!(names.len(), 32, "two pages of 25");
    assert_eq!(outcome.items, 32);
    assert!(!outcome.stopped);
    assert!(names.contains(&"mi-disabled".to_owned()));
    assert!(names.contains(&"paging-secret-30".to_owned()));
    let pages: Vec<_> = env
        .emu
        .service_requests()
        .into_iter()
        .filter(|r| authorization(r).is_some())
        .collect();
    assert_eq!(pages.len(), 2);
    assert!(pages[1].query.contains("skiptoken"));

    let mut seen = 0;
    let outcome = kv
        .list_secrets(|_| {
            seen += 1;
            seen < 3
        })
        .await
        .unwrap();
    assert!(outcome.stopped);
    assert_eq!(outcome.items, 3);
}

#[tokio::test]
async fn missing_disabled_and_forbidden_secrets_are_named() {
    let env = start();
    let kv = env.vault();
    let e = kv.get_secret("no-such-secret", None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert_eq!(e.service_code(), Some("SecretNotFound"));
    let text = e.to_string();
    assert!(text.contains("'no-such-secret'"), "{text}");
    assert!(text.contains(&env.emu.keyvault_url()[8..]), "{text}");
    let e = kv
        .get_secret("mi-test", Some("0123456789abcdef0123456789abcdef"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    let e = kv.get_secret("mi-disabled", None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::PermissionDenied, "{e}");
    assert!(e.to_string().contains("'mi-disabled'"));

    let denied = start_with(EmulatorConfig {
        role_assignments: vec![],
        ..EmulatorConfig::default()
    });
    let e = denied
        .vault()
        .get_secret("mi-test", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::PermissionDenied);
    assert_eq!(e.service_code(), Some("Forbidden"));
    assert!(
        e.to_string()
            .contains("getting secret 'mi-test' from vault"),
        "{e}"
    );
    assert!(!e.to_string().contains(VALUE));
}

#[tokio::test]
async fn throttling_is_retried_and_reported_when_it_lasts() {
    let env = start();
    let kv = env.vault();
    kv.get_secret("mi-test", None).await.unwrap();
    let before = env.emu.service_counters().requests;
    env.emu.set_service_faults(vec![
        Fault::Status {
            status: 429,
            retry_after: Some(0),
            count: 2,
        },
        Fault::Status {
            status: 503,
            retry_after: None,
            count: 1,
        },
    ]);
    let s = kv.get_secret("mi-test", None).await.unwrap();
    assert!(s.expose_value() == VALUE);
    assert_eq!(env.emu.service_counters().requests - before, 4);

    env.emu.set_service_faults(vec![Fault::Status {
        status: 429,
        retry_after: Some(0),
        count: 1000,
    }]);
    let impatient = kv.with_retry(RetryPolicy {
        budget: Duration::from_millis(200),
        ..quick()
    });
    let e = impatient.get_secret("mi-test", None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Throttled);
    assert_eq!(e.service_code(), Some("Throttled"));
    assert!(e.to_string().contains("'mi-test'"));
}

#[tokio::test]
async fn secrets_never_show_in_debug_output_or_errors() {
    let env = start();
    let kv = env.vault();
    let secret = kv.get_secret("mi-test", None).await.unwrap();
    let debug = format!("{secret:?} {:?} {kv:?}", secret.value());
    assert!(!debug.contains(VALUE), "{debug}");
    assert!(debug.contains("REDACTED"));
    env.emu
        .set_service_faults(vec![Fault::Malformed { count: 1 }]);
    let e = kv.get_secret("mi-test", None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ProtocolError);
    assert!(!e.to_string().contains(VALUE), "{e}");
}

#[tokio::test]
async fn bad_names_are_refused_before_any_request() {
    let env = start();
    let kv = env.vault();
    for bad in ["", "a/b", "a b", "x?y"] {
        let e = kv.get_secret(bad, None).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}");
    }
    let e = kv.get_secret("mi-test", Some("../x")).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(kv.clone().with_api_version("7.5&x=y").is_err());
    assert!(env.emu.service_requests().is_empty());
    assert!(env.emu.requests().is_empty());
    // A vault name means the public cloud.
    let public = env.azmi.keyvault("contoso", &env.mi).unwrap();
    assert_eq!(public.vault().uri(), "https://contoso.vault.azure.net");
}
