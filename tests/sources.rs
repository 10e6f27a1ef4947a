//! Managed identity sources beyond IMDS (issue 9), against small fake endpoints on loopback
//! written here: detection from the environment in the Azure SDKs' order and the explicit
//! override; each source's request (method, path, query, headers, form) and its answer; what a
//! source cannot do said before anything is sent; error paths (wrong secret, Arc key files
//! outside the agent's folder, too large or not `.key`, a Service Fabric certificate with
//! another thumbprint, an expired federated token); every `expires_on` shape; the source in the
//! token; secrets never in `Debug` output or messages. The detection cost with no source
//! variable set is printed (`cargo test --test sources -- --nocapture detection_cost`), never
//! asserted.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azmi::{
    Azmi, ErrorCode, IdentityId, ManagedIdentity, RetryPolicy, Source, SourceConfig, SourceEnv,
    TokenOptions,
};
use secrecy::SecretString;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

mod fake_http;
use fake_http::{read_request, Seen};

const ARM: &str = "https://management.azure.com/";
const VAULT: &str = "https://vault.azure.net";
const CLIENT_ID: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
const OTHER_CLIENT_ID: &str = "99998888-aaaa-2222-bbbb-3333cccc4444";
const OBJECT_ID: &str = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb";
const RESOURCE_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// Secrets handed to the sources; a test fails if one shows up where it must not.
const SECRET: &str = "s3cret-identity-header-4f1c";
const ARC_KEY: &str = "arc-key-contents-9d2e";
const ASSERTION: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLW9uZQ";
const ROTATED: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXR3bw";
const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.dG9rZW4tc2lnbmF0dXJl";

// ---------------------------------------------------------------------------------------------
// A fake endpoint: HTTP/1.1, one request per connection, over TCP or TLS.

impl Seen {
    fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }
}

/// An answer of the fake.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn reply(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.into(),
    }
}

fn token_body(extra: &str) -> String {
    format!(r#"{{"access_token":"{TOKEN}","token_type":"Bearer"{extra}}}"#)
}

fn ok_token() -> Reply {
    let expires = now() + 3600;
    reply(
        200,
        &token_body(&format!(r#","expires_on":"{expires}","resource":"{ARM}""#)),
    )
}

type Answerer = Arc<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

struct Fake {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    /// A plain HTTP fake answering request number n (0-based) with `answer(request, n)`.
    async fn start(answer: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Fake {
        Self::start_inner(Arc::new(answer), None).await
    }

    /// The same over TLS with `acceptor`'s certificate.
    async fn start_tls(
        acceptor: tokio_rustls::TlsAcceptor,
        answer: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
    ) -> Fake {
        Self::start_inner(Arc::new(answer), Some(acceptor)).await
    }

    async fn start_inner(answer: Answerer, tls: Option<tokio_rustls::TlsAcceptor>) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let scheme = if tls.is_some() { "https" } else { "http" };
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (log, answer, tls) = (Arc::clone(&log), Arc::clone(&answer), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        // A failed handshake ends here: nothing was received over HTTP.
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(socket).await {
                                serve(stream, log, answer).await;
                            }
                        }
                        None => serve(socket, log, answer).await,
                    }
                });
            }
        });
        Fake {
            base: format!("{scheme}://127.0.0.1:{port}"),
            seen,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    log: Arc<Mutex<Vec<Seen>>>,
    answer: Answerer,
) {
    let Some(seen) = read_request(&mut stream).await else {
        return;
    };
    let n = {
        let mut log = log.lock().unwrap();
        log.push(seen.clone());
        log.len() - 1
    };
    let r = answer(&seen, n);
    let mut text = format!(
        "HTTP/1.1 {} Fake\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        r.body.len()
    );
    for (name, value) in &r.headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(&r.body);
    let _ = stream.write_all(text.as_bytes()).await;
    let _ = stream.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Fast retries so that retry tests take milliseconds.
fn quick(mi: ManagedIdentity) -> ManagedIdentity {
    mi.with_options(TokenOptions {
        retry: RetryPolicy {
            budget: Duration::from_secs(5),
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
        request_timeout: Duration::from_secs(5),
        ..TokenOptions::default()
    })
}

/// An environment with the Arc agent looked for where it is not.
fn env() -> SourceEnv {
    SourceEnv::empty().arc_agent_path(Path::new("/nonexistent/azmi-test/himds"))
}

fn secret() -> SecretString {
    SecretString::from(SECRET)
}

/// Fails (without printing either) unless `value` is `expected`.
fn assert_secret(value: Option<&str>, expected: &str, what: &str) {
    assert!(value == Some(expected), "{what} is missing or wrong");
}

/// Fails (without printing it) if a secret shows in `text`.
fn assert_no_secret(text: &str) {
    for s in [SECRET, ARC_KEY, ASSERTION, ROTATED, TOKEN] {
        assert!(
            !text.contains(s),
            "a secret leaked into: {}",
            text.replace(s, "<SECRET>")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Detection.

#[test]
fn detection_follows_the_sdk_order_when_several_sources_are_set() {
    let everything = env()
        .set(
            "IDENTITY_ENDPOINT",
            "https://10.0.0.4:2377/metadata/identity/oauth2/token",
        )
        .set("IDENTITY_HEADER", SECRET)
        .set("IDENTITY_SERVER_THUMBPRINT", &"ab".repeat(20))
        .set("IMDS_ENDPOINT", "http://localhost:40342")
        .set("MSI_ENDPOINT", "http://127.0.0.1:5/msi/token")
        .set("MSI_SECRET", SECRET)
        .set("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/token")
        .set("AZURE_CLIENT_ID", CLIENT_ID)
        .set("AZURE_TENANT_ID", TENANT);
    assert_eq!(everything.detect(), Source::ServiceFabric);
    // azmi's own IMDS override (and the pod identity host) win over everything.
    assert_eq!(
        everything
            .clone()
            .set("AZMI_IMDS_ENDPOINT", "http://127.0.0.1:9/t")
            .detect(),
        Source::Imds
    );
    assert_eq!(
        everything
            .clone()
            .set("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")
            .detect(),
        Source::Imds
    );
    let no_thumbprint = everything.clone().set("IDENTITY_SERVER_THUMBPRINT", "");
    assert_eq!(no_thumbprint.detect(), Source::AppService);
    let no_header = no_thumbprint.clone().set("IDENTITY_HEADER", "  ");
    assert_eq!(no_header.detect(), Source::AzureMl);
    let no_msi_secret = no_header.clone().set("MSI_SECRET", "");
    assert_eq!(no_msi_secret.detect(), Source::CloudShell);
    let no_msi = no_msi_secret.clone().set("MSI_ENDPOINT", "");
    assert_eq!(no_msi.detect(), Source::Arc);
    let no_imds_endpoint = no_msi.clone().set("IMDS_ENDPOINT", "");
    assert_eq!(no_imds_endpoint.detect(), Source::WorkloadIdentity);
    assert_eq!(
        no_imds_endpoint.clone().set("AZURE_TENANT_ID", "").detect(),
        Source::Imds,
        "workload identity needs file, client and tenant"
    );
    assert_eq!(env().detect(), Source::Imds);
}

#[test]
fn the_arc_agent_on_disk_means_arc_at_its_default_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("himds");
    std::fs::write(&agent, b"").unwrap();
    let env = SourceEnv::empty().arc_agent_path(&agent);
    assert_eq!(env.detect(), Source::Imds, "an empty file is not the agent");
    std::fs::write(&agent, b"\x7fELF").unwrap();
    assert_eq!(env.detect(), Source::Arc);
    let mi = ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap();
    assert_eq!(mi.source(), Source::Arc);
    assert_eq!(
        mi.endpoint(),
        "http://localhost:40342/metadata/identity/oauth2/token"
    );
}

#[test]
fn imds_overrides_keep_their_meaning() {
    let mi = ManagedIdentity::detect(
        IdentityId::SystemAssigned,
        &env().set("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:7/"),
    )
    .unwrap();
    assert_eq!(mi.source(), Source::Imds);
    assert_eq!(
        mi.endpoint(),
        "http://127.0.0.1:7/metadata/identity/oauth2/token"
    );
    let mi = ManagedIdentity::detect(IdentityId::SystemAssigned, &env()).unwrap();
    assert_eq!(
        mi.endpoint(),
        "http://169.254.169.254/metadata/identity/oauth2/token"
    );
    let mi =
        ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, "http://127.0.0.1:8/t").unwrap();
    assert_eq!(mi.source(), Source::Imds);
}

#[test]
fn an_explicit_source_overrides_detection_and_names_what_it_lacks() {
    let env = env()
        .set("IDENTITY_ENDPOINT", "http://127.0.0.1:5/msi/token")
        .set("IDENTITY_HEADER", SECRET)
        .set("IMDS_ENDPOINT", "http://127.0.0.1:6");
    assert_eq!(env.detect(), Source::AppService);
    let mi = ManagedIdentity::with_source(IdentityId::SystemAssigned, Source::Arc, &env).unwrap();
    assert_eq!(mi.source(), Source::Arc);
    assert_eq!(mi.endpoint(), "http://127.0.0.1:5/msi/token");
    let mi = ManagedIdentity::with_source(IdentityId::SystemAssigned, Source::Imds, &env).unwrap();
    assert_eq!(mi.source(), Source::Imds);
    let e = ManagedIdentity::with_source(IdentityId::SystemAssigned, Source::CloudShell, &env)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(
        e.to_string().contains("Cloud Shell") && e.to_string().contains("MSI_ENDPOINT"),
        "{e}"
    );
    let e =
        ManagedIdentity::with_source(IdentityId::SystemAssigned, Source::WorkloadIdentity, &env)
            .unwrap_err();
    assert!(e.to_string().contains("AZURE_TENANT_ID"), "{e}");
    // IDENTITY_ENDPOINT alone is App Service's: Arc chosen there is refused, not sent to it.
    let app_service_only = self::env()
        .set("IDENTITY_ENDPOINT", "http://127.0.0.1:5/msi/token")
        .set("IDENTITY_HEADER", SECRET);
    let e =
        ManagedIdentity::with_source(IdentityId::SystemAssigned, Source::Arc, &app_service_only)
            .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(
        e.to_string().contains("Azure Arc") && e.to_string().contains("IMDS_ENDPOINT"),
        "{e}"
    );
    // Names for settings and other languages.
    for s in Source::ALL {
        assert_eq!(Source::from_name(s.id()), Some(s));
        assert_eq!(Source::from_name(s.name()), Some(s));
    }
    assert_eq!(Source::from_name("AppService"), Some(Source::AppService));
    assert_eq!(Source::from_name("azure-arc"), Some(Source::Arc));
    assert_eq!(Source::from_name("nope"), None);
}

#[test]
fn sources_that_cannot_give_an_identity_say_so_before_anything_is_sent() {
    let cases: Vec<(Source, SourceEnv)> = vec![
        (
            Source::CloudShell,
            env().set("MSI_ENDPOINT", "http://127.0.0.1:5/t"),
        ),
        (
            Source::Arc,
            env()
                .set("IDENTITY_ENDPOINT", "http://127.0.0.1:5/t")
                .set("IMDS_ENDPOINT", "http://127.0.0.1:5"),
        ),
        (
            Source::ServiceFabric,
            env()
                .set("IDENTITY_ENDPOINT", "https://127.0.0.1:5/t")
                .set("IDENTITY_HEADER", SECRET)
                .set("IDENTITY_SERVER_THUMBPRINT", &"ab".repeat(20)),
        ),
    ];
    for (source, env) in cases {
        assert_eq!(env.detect(), source);
        for id in [
            IdentityId::ClientId(CLIENT_ID.into()),
            IdentityId::ObjectId(OBJECT_ID.into()),
            IdentityId::ResourceId(RESOURCE_ID.into()),
        ] {
            let e = ManagedIdentity::detect(id, &env).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument);
            let m = e.to_string();
            assert!(
                m.contains(source.name()) && m.contains("nothing was sent"),
                "{m}"
            );
        }
        assert!(ManagedIdentity::detect(IdentityId::SystemAssigned, &env).is_ok());
    }
    // Azure ML and workload identity: by client id only.
    let ml = env()
        .set("MSI_ENDPOINT", "http://127.0.0.1:5/t")
        .set("MSI_SECRET", SECRET);
    assert!(ManagedIdentity::detect(IdentityId::ClientId(CLIENT_ID.into()), &ml).is_ok());
    let e = ManagedIdentity::detect(IdentityId::ObjectId(OBJECT_ID.into()), &ml).unwrap_err();
    assert!(e.to_string().contains("Azure ML"), "{e}");
    let wi = env()
        .set("AZURE_FEDERATED_TOKEN_FILE", "/t")
        .set("AZURE_CLIENT_ID", CLIENT_ID)
        .set("AZURE_TENANT_ID", TENANT);
    let e = ManagedIdentity::detect(IdentityId::ResourceId(RESOURCE_ID.into()), &wi).unwrap_err();
    assert!(e.to_string().contains("workload identity"), "{e}");
}

#[test]
fn secrets_never_show_in_debug_output() {
    let env = env()
        .set("IDENTITY_ENDPOINT", "http://127.0.0.1:5/msi/token")
        .set("IDENTITY_HEADER", SECRET)
        .set("MSI_SECRET", SECRET);
    assert_no_secret(&format!("{env:?}"));
    assert!(format!("{env:?}").contains("IDENTITY_HEADER"));
    let mi = ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap();
    assert_no_secret(&format!("{mi:?}"));
    assert!(format!("{mi:?}").contains("AppService"));
    let sf =
        SourceConfig::service_fabric("https://127.0.0.1:1/t", secret(), &"ab".repeat(20)).unwrap();
    assert_no_secret(&format!("{sf:?}"));
    let ml = SourceConfig::azure_ml("http://127.0.0.1:1/t", secret(), Some(CLIENT_ID)).unwrap();
    assert_no_secret(&format!("{ml:?}"));
    // A secret a header cannot carry is refused without being quoted.
    let e =
        SourceConfig::app_service("http://127.0.0.1:1/t", SecretString::from("a\nb")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("IDENTITY_HEADER"), "{e}");
}

#[test]
fn detection_cost_with_no_source_variables() {
    // A figure, not an assertion: how long `ManagedIdentity::new` spends finding its source
    // in a process where no source variable is set (the common VM case).
    let rounds = 2000;
    let start = Instant::now();
    for _ in 0..rounds {
        let env = SourceEnv::from_process();
        std::hint::black_box(env.detect());
    }
    let per_call = start.elapsed() / rounds;
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(ManagedIdentity::new(IdentityId::SystemAssigned).unwrap());
    }
    let per_identity = start.elapsed() / rounds;
    println!(
        "detection with this process's variables ({:?}): {per_call:?} per detection, {per_identity:?} per ManagedIdentity::new",
        SourceEnv::from_process().detect()
    );
}

// ---------------------------------------------------------------------------------------------
// App Service, Functions, Automation.

fn app_service(fake: &Fake, id: IdentityId) -> ManagedIdentity {
    let env = env()
        .set("IDENTITY_ENDPOINT", &fake.url("/msi/token"))
        .set("IDENTITY_HEADER", SECRET);
    quick(ManagedIdentity::detect(id, &env).unwrap())
}

#[tokio::test]
async fn app_service_request_shape_and_user_assigned_ids() {
    let fake = Fake::start(|_, _| ok_token()).await;
    let azmi = Azmi::new().unwrap();
    let grant = azmi
        .get_token(&app_service(&fake, IdentityId::SystemAssigned), ARM, false)
        .await
        .unwrap();
    assert_eq!(grant.source(), Source::AppService);
    assert_eq!(grant.token.source(), Source::AppService);
    assert!(grant.token.expires_on() > now() + 3000);
    let ids = [
        (
            IdentityId::ClientId(CLIENT_ID.into()),
            "client_id",
            CLIENT_ID,
        ),
        (
            IdentityId::ObjectId(OBJECT_ID.into()),
            "object_id",
            OBJECT_ID,
        ),
        (
            IdentityId::ResourceId(RESOURCE_ID.into()),
            "mi_res_id",
            RESOURCE_ID,
        ),
    ];
    for (id, _, _) in &ids {
        azmi.get_token(&app_service(&fake, id.clone()), VAULT, false)
            .await
            .unwrap();
    }
    let seen = fake.seen();
    assert_eq!(seen.len(), 4);
    let first = &seen[0];
    assert_eq!(first.method, "GET");
    assert_eq!(first.path, "/msi/token");
    assert_eq!(first.query["api-version"], "2019-08-01");
    assert_eq!(first.query["resource"], ARM);
    assert_eq!(first.query.len(), 2, "system-assigned sends no id");
    assert_secret(
        first.header("x-identity-header"),
        SECRET,
        "X-IDENTITY-HEADER",
    );
    for (seen, (_, name, value)) in seen[1..].iter().zip(&ids) {
        assert_eq!(seen.query[*name], *value);
        assert_eq!(seen.query["resource"], VAULT);
        assert_eq!(seen.query.len(), 3);
    }
}

#[tokio::test]
async fn app_service_is_retried_while_it_starts_but_not_on_404() {
    let fake = Fake::start(|_, n| {
        if n < 2 {
            let mut r = reply(500, r#"{"statusCode":500,"message":"starting"}"#);
            r.headers.push(("Retry-After".into(), "0".into()));
            r
        } else {
            ok_token()
        }
    })
    .await;
    let azmi = Azmi::new().unwrap();
    let mi = app_service(&fake, IdentityId::SystemAssigned);
    azmi.get_token(&mi, ARM, false).await.unwrap();
    assert_eq!(fake.seen().len(), 3);

    let missing = Fake::start(|_, _| reply(404, "not here")).await;
    let e = azmi
        .get_token(
            &app_service(&missing, IdentityId::SystemAssigned),
            ARM,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(missing.seen().len(), 1, "a wrong endpoint is not retried");
    assert_eq!(e.http_status(), Some(404));
}

#[tokio::test]
async fn a_wrong_secret_is_an_authentication_failure_that_names_the_source() {
    let fake = Fake::start(|seen, _| {
        if seen.header("x-identity-header") == Some("right") {
            ok_token()
        } else {
            reply(
                401,
                r#"{"statusCode":401,"message":"Unauthorized: the X-IDENTITY-HEADER is wrong"}"#,
            )
        }
    })
    .await;
    let e = Azmi::new()
        .unwrap()
        .get_token(&app_service(&fake, IdentityId::SystemAssigned), ARM, false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthenticationFailed);
    assert_eq!(e.http_status(), Some(401));
    let m = e.to_string();
    assert!(
        m.contains("App Service token request") && m.contains("is wrong"),
        "{m}"
    );
    assert_no_secret(&m);
    assert_no_secret(&format!("{e:?}"));
    assert_eq!(fake.seen().len(), 1, "401 is not retried");
}

#[tokio::test]
async fn every_expires_on_shape_parses() {
    let later = now() + 7200;
    let shapes: Vec<(String, i64)> = vec![
        (format!(r#","expires_on":"{later}""#), later),
        (format!(r#","expires_on":{later}"#), later),
        (format!(r#","expires_on":"{later}.0""#), later),
        (
            r#","expires_on":"12/31/2099 11:59:59 PM +00:00""#.into(),
            4_102_444_799,
        ),
        (
            r#","expires_on":"12/31/2099 23:59:59 +00:00""#.into(),
            4_102_444_799,
        ),
        (
            r#","expires_on":"2099-12-31T23:59:59Z""#.into(),
            4_102_444_799,
        ),
        (
            r#","expires_on":"2099-12-31T23:59:59.1234567+00:00""#.into(),
            4_102_444_799,
        ),
        (r#","expires_in":"3600""#.into(), now() + 3600),
        (r#","expires_in":3600"#.into(), now() + 3600),
    ];
    let bodies: Vec<String> = shapes.iter().map(|(s, _)| token_body(s)).collect();
    let fake = Fake::start(move |_, n| reply(200, &bodies[n])).await;
    let azmi = Azmi::new().unwrap();
    let mi = app_service(&fake, IdentityId::SystemAssigned);
    for (shape, expected) in &shapes {
        let t = azmi.get_token(&mi, ARM, true).await.unwrap().token;
        assert!(
            (t.expires_on() - expected).abs() <= 5,
            "{shape}: {} not {expected}",
            t.expires_on()
        );
    }
}

#[tokio::test]
async fn each_source_has_its_own_cache_entry() {
    let fake = Fake::start(|_, _| ok_token()).await;
    let azmi = Azmi::new().unwrap();
    let app = app_service(&fake, IdentityId::SystemAssigned);
    let shell = quick(
        ManagedIdentity::detect(
            IdentityId::SystemAssigned,
            &env().set("MSI_ENDPOINT", &fake.url("/msi/token")),
        )
        .unwrap(),
    );
    assert_eq!(app.endpoint(), shell.endpoint());
    assert!(!azmi.get_token(&app, ARM, false).await.unwrap().from_cache);
    let g = azmi.get_token(&shell, ARM, false).await.unwrap();
    assert!(
        !g.from_cache,
        "another source at the same URL does not share tokens"
    );
    assert_eq!(g.source(), Source::CloudShell);
    assert!(azmi.get_token(&app, ARM, false).await.unwrap().from_cache);
    assert_eq!(fake.seen().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Azure ML and Cloud Shell.

#[tokio::test]
async fn azure_ml_sends_its_secret_and_the_default_or_given_client_id() {
    let later = now() + 3600;
    let fake =
        Fake::start(move |_, _| reply(200, &token_body(&format!(r#","expires_on":{later}"#))))
            .await;
    let env = env()
        .set("MSI_ENDPOINT", &fake.url("/ml/token"))
        .set("MSI_SECRET", SECRET)
        .set("DEFAULT_IDENTITY_CLIENT_ID", OTHER_CLIENT_ID);
    let azmi = Azmi::new().unwrap();
    let system = quick(ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap());
    let t = azmi.get_token(&system, ARM, false).await.unwrap().token;
    assert_eq!(t.source(), Source::AzureMl);
    assert_eq!(t.expires_on(), later);
    let user =
        quick(ManagedIdentity::detect(IdentityId::ClientId(CLIENT_ID.into()), &env).unwrap());
    azmi.get_token(&user, ARM, false).await.unwrap();
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/ml/token");
    assert_eq!(seen[0].query["api-version"], "2017-09-01");
    assert_eq!(seen[0].query["resource"], ARM);
    assert_eq!(seen[0].query["clientid"], OTHER_CLIENT_ID);
    assert_eq!(seen[1].query["clientid"], CLIENT_ID);
    assert_secret(seen[0].header("secret"), SECRET, "the secret header");
}

#[tokio::test]
async fn cloud_shell_posts_a_form() {
    let fake = Fake::start(|_, _| ok_token()).await;
    let env = env().set("MSI_ENDPOINT", &fake.url("/oauth2/token"));
    let mi = quick(ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap());
    let t = Azmi::new()
        .unwrap()
        .get_token(&mi, VAULT, false)
        .await
        .unwrap();
    assert_eq!(t.source(), Source::CloudShell);
    let seen = fake.seen();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/oauth2/token");
    assert!(seen[0].query.is_empty());
    assert_eq!(seen[0].header("metadata"), Some("true"));
    assert_eq!(
        seen[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        seen[0].form(),
        HashMap::from([("resource".to_owned(), VAULT.to_owned())])
    );
}

// ---------------------------------------------------------------------------------------------
// Azure Arc.

/// An Arc endpoint that challenges with `realm` and accepts `Basic <ARC_KEY>`.
async fn arc_endpoint(realm: String) -> Fake {
    Fake::start(move |seen, _| match seen.header("authorization") {
        None => Reply {
            status: 401,
            headers: vec![("WWW-Authenticate".into(), format!("Basic realm={realm}"))],
            body: String::new(),
        },
        Some(v) if v == format!("Basic {ARC_KEY}") => ok_token(),
        Some(_) => reply(
            401,
            r#"{"error":"unauthorized","error_description":"wrong key"}"#,
        ),
    })
    .await
}

fn arc(fake: &Fake, tokens: &Path) -> ManagedIdentity {
    let env = env()
        .set(
            "IDENTITY_ENDPOINT",
            &fake.url("/metadata/identity/oauth2/token"),
        )
        .set("IMDS_ENDPOINT", &fake.base)
        .arc_tokens_dir(tokens);
    quick(ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap())
}

#[tokio::test]
async fn arc_answers_its_challenge_with_the_key_file() {
    let tokens = tempfile::tempdir().unwrap();
    let key = tokens.path().join("abc.key");
    std::fs::write(&key, format!("{ARC_KEY}\n")).unwrap();
    let fake = arc_endpoint(key.display().to_string()).await;
    let mi = arc(&fake, tokens.path());
    let g = Azmi::new()
        .unwrap()
        .get_token(&mi, ARM, false)
        .await
        .unwrap();
    assert_eq!(g.source(), Source::Arc);
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(s.method, "GET");
        assert_eq!(s.path, "/metadata/identity/oauth2/token");
        assert_eq!(s.query["api-version"], "2020-06-01");
        assert_eq!(s.query["resource"], ARM);
        assert_eq!(s.header("metadata"), Some("true"));
    }
    assert!(seen[0].header("authorization").is_none());
    assert_secret(
        seen[1].header("authorization"),
        &format!("Basic {ARC_KEY}"),
        "the Basic key",
    );
}

#[tokio::test]
async fn arc_reads_no_key_file_outside_its_folder_too_large_or_not_key() {
    let tokens = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = elsewhere.path().join("stolen.key");
    std::fs::write(&outside, ARC_KEY).unwrap();
    let not_key = tokens.path().join("abc.txt");
    std::fs::write(&not_key, ARC_KEY).unwrap();
    let large = tokens.path().join("large.key");
    std::fs::write(&large, "k".repeat(4097)).unwrap();
    let exact = tokens.path().join("exact.key");
    std::fs::write(&exact, "k".repeat(4096)).unwrap();
    let mut cases = vec![
        (
            outside.display().to_string(),
            "not in the agent's key folder",
        ),
        (
            format!(
                "{}/../{}/stolen.key",
                tokens.path().display(),
                elsewhere.path().file_name().unwrap().to_str().unwrap()
            ),
            "not in the agent's key folder",
        ),
        (not_key.display().to_string(), "does not end in .key"),
        (
            large.display().to_string(),
            "4097 bytes long, more than the 4096",
        ),
        (
            tokens.path().join("missing.key").display().to_string(),
            "cannot be found",
        ),
        ("relative.key".to_owned(), "not an absolute path"),
    ];
    #[cfg(unix)]
    {
        let link = tokens.path().join("link.key");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        cases.push((link.display().to_string(), "not in the agent's key folder"));
    }
    let azmi = Azmi::new().unwrap();
    for (realm, why) in cases {
        let fake = arc_endpoint(realm.clone()).await;
        let e = azmi
            .get_token(&arc(&fake, tokens.path()), ARM, false)
            .await
            .unwrap_err();
        let m = e.to_string();
        assert!(m.contains(why), "{realm}: {m}");
        assert!(m.contains("did not read the key file"), "{m}");
        assert_eq!(e.code(), ErrorCode::InsecureRequest, "{realm}");
        assert_eq!(
            fake.seen().len(),
            1,
            "{realm}: nothing is sent after the refusal"
        );
        assert_no_secret(&m);
    }
    // 4096 bytes exactly is allowed (and then refused by the endpoint as the wrong key).
    let fake = arc_endpoint(exact.display().to_string()).await;
    let e = azmi
        .get_token(&arc(&fake, tokens.path()), ARM, false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthenticationFailed, "{e}");
    assert_eq!(fake.seen().len(), 2);
    // No challenge header at all is a protocol error.
    let bare = Fake::start(|_, _| reply(401, "")).await;
    let e = azmi
        .get_token(&arc(&bare, tokens.path()), ARM, false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ProtocolError, "{e}");
}

// ---------------------------------------------------------------------------------------------
// Service Fabric.

/// A TLS acceptor with a fresh self-signed certificate for 127.0.0.1, and its thumbprint.
fn self_signed() -> (tokio_rustls::TlsAcceptor, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let der = cert.der().clone();
    let thumbprint: String = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![der], key)
    .unwrap();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        thumbprint,
    )
}

fn service_fabric(fake: &Fake, thumbprint: &str) -> ManagedIdentity {
    let env = env()
        .set(
            "IDENTITY_ENDPOINT",
            &fake.url("/metadata/identity/oauth2/token"),
        )
        .set("IDENTITY_HEADER", SECRET)
        .set("IDENTITY_SERVER_THUMBPRINT", thumbprint);
    quick(ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap())
}

#[tokio::test]
async fn service_fabric_trusts_exactly_the_pinned_certificate() {
    let (acceptor, thumbprint) = self_signed();
    let later = now() + 3600;
    let fake = Fake::start_tls(acceptor, move |_, _| {
        reply(
            200,
            &token_body(&format!(r#","expires_on":{later},"resource":"{ARM}""#)),
        )
    })
    .await;
    let azmi = Azmi::new().unwrap();
    // The thumbprint in upper case: compared without regard to case.
    let g = azmi
        .get_token(
            &service_fabric(&fake, &thumbprint.to_uppercase()),
            ARM,
            false,
        )
        .await
        .unwrap();
    assert_eq!(g.source(), Source::ServiceFabric);
    assert_eq!(g.token.expires_on(), later);
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/metadata/identity/oauth2/token");
    assert_eq!(seen[0].query["api-version"], "2019-07-01-preview");
    assert_eq!(seen[0].query["resource"], ARM);
    assert_secret(seen[0].header("secret"), SECRET, "the Secret header");
}

#[tokio::test]
async fn service_fabric_sends_nothing_to_a_certificate_with_another_thumbprint() {
    let (acceptor, thumbprint) = self_signed();
    let fake = Fake::start_tls(acceptor, |_, _| ok_token()).await;
    let mut wrong: Vec<u8> = thumbprint.into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();
    let e = Azmi::new()
        .unwrap()
        .get_token(&service_fabric(&fake, &wrong), ARM, false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsecureRequest, "{e}");
    let m = e.to_string();
    assert!(
        m.contains("thumbprint") && m.contains("before anything was sent"),
        "{m}"
    );
    assert!(m.contains(&wrong.to_uppercase()), "{m}");
    assert_no_secret(&m);
    assert!(fake.seen().is_empty(), "no HTTP request reached the server");
}

#[test]
fn service_fabric_needs_https_and_a_thumbprint() {
    let e = SourceConfig::service_fabric("http://127.0.0.1:1/t", secret(), &"ab".repeat(20))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsecureRequest);
    let e = SourceConfig::service_fabric("https://127.0.0.1:1/t", secret(), "not-hex").unwrap_err();
    assert!(e.to_string().contains("IDENTITY_SERVER_THUMBPRINT"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// AKS workload identity.

fn workload(fake: &Fake, file: &Path, id: IdentityId) -> ManagedIdentity {
    let env = env()
        .set("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap())
        .set("AZURE_CLIENT_ID", CLIENT_ID)
        .set("AZURE_TENANT_ID", TENANT)
        .set("AZURE_AUTHORITY_HOST", &fake.url("/"));
    quick(ManagedIdentity::detect(id, &env).unwrap())
}

#[tokio::test]
async fn workload_identity_exchanges_the_current_federated_token() {
    let fake = Fake::start(|_, _| {
        reply(
            200,
            &token_body(r#","expires_in":3599,"ext_expires_in":3599"#),
        )
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, ASSERTION).unwrap();
    let azmi = Azmi::new().unwrap();
    let mi = workload(&fake, &file, IdentityId::SystemAssigned);
    let g = azmi.get_token(&mi, ARM, false).await.unwrap();
    assert_eq!(g.source(), Source::WorkloadIdentity);
    assert_eq!(g.token.resource(), ARM, "the resource asked for");
    assert!((g.token.expires_on() - (now() + 3599)).abs() <= 5);
    // The kubelet rotates the file: the next request sends the new token.
    std::fs::write(&file, format!("{ROTATED}\n")).unwrap();
    azmi.get_token(&mi, VAULT, false).await.unwrap();
    let user = workload(&fake, &file, IdentityId::ClientId(OTHER_CLIENT_ID.into()));
    azmi.get_token(&user, VAULT, false).await.unwrap();
    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, format!("/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(
        seen[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = seen[0].form();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_secret(
        form.get("client_assertion").map(String::as_str),
        ASSERTION,
        "the first assertion",
    );
    assert_eq!(form["scope"], "https://management.azure.com/.default");
    assert_eq!(form.len(), 5);
    let form = seen[1].form();
    assert_secret(
        form.get("client_assertion").map(String::as_str),
        ROTATED,
        "the rotated assertion",
    );
    assert_eq!(form["scope"], "https://vault.azure.net/.default");
    assert_eq!(seen[2].form()["client_id"], OTHER_CLIENT_ID);
}

#[tokio::test]
async fn entra_refusals_reach_the_caller_with_their_aadsts_code_and_text() {
    let fake = Fake::start(|_, _| {
        reply(
            400,
            r#"{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range. Current time: 2024-01-01T00:00:00Z, assertion valid from 2023-12-31T22:00:00Z, expiry time of assertion 2023-12-31T23:00:00Z.","error_codes":[700024]}"#,
        )
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, ASSERTION).unwrap();
    let e = Azmi::new()
        .unwrap()
        .get_token(
            &workload(&fake, &file, IdentityId::SystemAssigned),
            ARM,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthenticationFailed);
    assert_eq!(e.http_status(), Some(400));
    assert_eq!(e.service_code(), Some("invalid_client"));
    let m = e.to_string();
    assert!(
        m.contains("AADSTS700024: Client assertion is not within its valid time range"),
        "{m}"
    );
    assert_no_secret(&m);
    assert_eq!(fake.seen().len(), 1, "not retried");

    // A missing file is said, and nothing is sent.
    std::fs::remove_file(&file).unwrap();
    let before = fake.seen().len();
    let e = Azmi::new()
        .unwrap()
        .get_token(
            &workload(&fake, &file, IdentityId::SystemAssigned),
            ARM,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::IoError);
    assert!(e.to_string().contains("AZURE_FEDERATED_TOKEN_FILE"), "{e}");
    assert_eq!(fake.seen().len(), before);
}

#[test]
fn workload_identity_authority_must_be_https_off_loopback() {
    let e = SourceConfig::workload_identity(
        Some("http://login.example.com/"),
        TENANT,
        CLIENT_ID,
        Path::new("/t"),
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsecureRequest);
    let c = SourceConfig::workload_identity(None, TENANT, CLIENT_ID, Path::new("/t")).unwrap();
    assert_eq!(
        c.endpoint().as_str(),
        format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token")
    );
}

// ---------------------------------------------------------------------------------------------
// What stays IMDS's own.

#[tokio::test]
async fn imds_tokens_say_so_and_only_imds_probes() {
    let fake = Fake::start(|_, _| ok_token()).await;
    let mi = ManagedIdentity::with_endpoint(
        IdentityId::SystemAssigned,
        &fake.url("/metadata/identity/oauth2/token"),
    )
    .unwrap();
    let g = Azmi::new()
        .unwrap()
        .get_token(&mi, ARM, false)
        .await
        .unwrap();
    assert_eq!(g.source(), Source::Imds);
    // First the probe (no Metadata header: IMDS refuses it at once), then the token request.
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("metadata"), None);
    assert_eq!(seen[1].header("metadata"), Some("true"));

    // An App Service endpoint that takes no connection is retried within the budget as a
    // network failure (its host named it), not reported at once as "no managed identity".
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = env()
        .set(
            "IDENTITY_ENDPOINT",
            &format!("http://127.0.0.1:{port}/msi/token"),
        )
        .set("IDENTITY_HEADER", SECRET);
    let mi = ManagedIdentity::detect(IdentityId::SystemAssigned, &env)
        .unwrap()
        .with_options(TokenOptions {
            retry: RetryPolicy {
                budget: Duration::from_millis(300),
                initial_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(50),
            },
            ..TokenOptions::default()
        });
    let start = Instant::now();
    let e = Azmi::new()
        .unwrap()
        .get_token(&mi, ARM, false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NetworkError, "{e}");
    assert!(e.to_string().contains("App Service token request"), "{e}");
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "retried until the budget was spent"
    );
    assert_no_secret(&e.to_string());
}

#[tokio::test]
async fn an_unassigned_user_identity_is_identity_not_found() {
    let fake = Fake::start(|_, _| {
        reply(
            400,
            r#"{"statusCode":400,"message":"No Managed Identity found for specified ClientId/ResourceId/PrincipalId."}"#,
        )
    })
    .await;
    let e = Azmi::new()
        .unwrap()
        .get_token(
            &app_service(&fake, IdentityId::ClientId(CLIENT_ID.into())),
            ARM,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::IdentityNotFound);
    assert!(e.to_string().contains(CLIENT_ID), "{e}");
    assert_eq!(fake.seen().len(), 1);
}
