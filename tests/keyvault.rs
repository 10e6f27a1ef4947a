//! Key Vault secrets against azmi-emulator over HTTPS: latest and older versions, paged
//! listings, the SDKs' challenge flow (checked in the emulator's request log), errors that name
//! the vault and secret, throttling, and secrets kept out of `Debug` output and messages; writes
//! (a version per set, with content type, tags, expiry, not-before and enabled), soft delete and
//! the conflict of a name a deleted secret holds.

use std::time::Duration;

use azmi::{
    Azmi, ErrorCode, IdentityId, KeyVault, ManagedIdentity, RetryPolicy, SecretSettings,
    TokenOptions,
};
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

#[tokio::test]
async fn set_writes_a_new_version_with_its_settings() {
    let env = start();
    let kv = env.vault();
    let mut settings = SecretSettings {
        content_type: Some("application/json".into()),
        expires: Some(4_000_000_000),
        not_before: Some(1_700_000_000),
        ..Default::default()
    };
    settings.tags.insert("owner".into(), "azmi".into());
    let written = kv
        .set_secret("written", "{\"a\":1}", &settings)
        .await
        .unwrap();
    assert!(written.expose_value() == "{\"a\":1}", "the value as stored");
    let p = &written.properties;
    assert_eq!(p.name, "written");
    assert_eq!(p.content_type.as_deref(), Some("application/json"));
    assert_eq!(p.tags.get("owner").map(String::as_str), Some("azmi"));
    assert_eq!(
        (p.expires, p.not_before),
        (Some(4_000_000_000), Some(1_700_000_000))
    );
    assert!(p.enabled);
    let first = p.version.clone().unwrap();

    // A new version; nothing inherited; the older one stays.
    let second = kv
        .set_secret("written", "two", &SecretSettings::default())
        .await
        .unwrap();
    assert_ne!(second.properties.version.as_deref(), Some(first.as_str()));
    assert!(second.properties.tags.is_empty());
    assert_eq!(second.properties.content_type, None);
    let read = kv.get_secret("written", None).await.unwrap();
    assert!(read.expose_value() == "two");
    let old = kv.get_secret("written", Some(&first)).await.unwrap();
    assert!(old.expose_value() == "{\"a\":1}");
    let mut versions = 0;
    kv.list_versions("written", |_| {
        versions += 1;
        true
    })
    .await
    .unwrap();
    assert_eq!(versions, 2);

    // Disabled: written, then unreadable.
    let disabled = SecretSettings {
        enabled: Some(false),
        ..Default::default()
    };
    let third = kv.set_secret("written", "three", &disabled).await.unwrap();
    assert!(!third.properties.enabled);
    let e = kv.get_secret("written", None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::PermissionDenied);

    // One challenge for the vault, then every write with a token; the values never in the log.
    let writes: Vec<RecordedRequest> = env
        .emu
        .service_requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(writes.len(), 3);
    assert!(writes.iter().all(|r| authorization(r).is_some()));
}

#[tokio::test]
async fn delete_is_soft_and_a_deleted_name_cannot_be_set() {
    let env = start();
    let kv = env.vault();
    let current = kv.get_secret("mi-test", None).await.unwrap();
    let deleted = kv.delete_secret("mi-test").await.unwrap();
    assert_eq!(deleted.properties.name, "mi-test");
    assert_eq!(deleted.properties.version, current.properties.version);
    assert_eq!(
        deleted.recovery_id,
        format!("{}/deletedsecrets/mi-test", env.emu.keyvault_url())
    );
    let on = deleted.deleted_on.unwrap();
    assert_eq!(deleted.scheduled_purge, Some(on + 90 * 86_400));

    let e = kv.get_secret("mi-test", None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    let e = kv
        .set_secret("mi-test", "again", &SecretSettings::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict);
    assert_eq!(e.http_status(), Some(409));
    let message = e.to_string();
    assert!(
        message.contains("setting secret 'mi-test' in vault"),
        "{message}"
    );
    assert!(message.contains("deleted but recoverable"), "{message}");
    assert!(!message.contains("again"), "{message}");
    let e = kv.delete_secret("mi-test").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert!(e.to_string().contains("deleting secret 'mi-test'"), "{e}");
}

#[tokio::test]
async fn writes_a_reader_may_not_make_are_refused_and_bad_ones_never_sent() {
    let env = start();
    let uami = ManagedIdentity::with_endpoint(
        IdentityId::ClientId("00001111-aaaa-2222-bbbb-3333cccc4444".into()),
        &env.emu.token_url(),
    )
    .unwrap();
    let reader = env.azmi.keyvault(&env.emu.keyvault_url(), &uami).unwrap();
    let e = reader
        .set_secret("mi-test", "x", &SecretSettings::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::PermissionDenied);
    assert!(e.to_string().contains("setSecret"), "{e}");
    let e = reader.delete_secret("mi-test").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::PermissionDenied);

    env.emu.reset();
    let kv = env.vault();
    let too_big = "x".repeat(25 * 1024 + 1);
    let too_many = SecretSettings {
        tags: (0..16).map(|i| (format!("t{i}"), "v".into())).collect(),
        ..Default::default()
    };
    for (name, value, settings) in [
        ("bad_name", "v", SecretSettings::default()),
        ("ok", too_big.as_str(), SecretSettings::default()),
        ("ok", "v", too_many),
    ] {
        let e = kv.set_secret(name, value, &settings).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    }
    assert_eq!(
        kv.delete_secret("a/b").await.unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert!(env.emu.service_requests().is_empty(), "nothing was sent");
}
