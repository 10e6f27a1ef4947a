//! The managed-identity sources other than IMDS (`--source`, docs/emulator.md "Managed identity
//! sources"): each protocol's secret, challenge, api-version and error bodies, over real HTTP,
//! with the variables `environment()` tells a client to set.

mod common;

use azmi_emulator::{Emulator, EmulatorConfig, Fault, IdentitySource};
use common::*;
use serde_json::Value;

fn start(source: IdentitySource) -> Emulator {
    Emulator::start(EmulatorConfig {
        source,
        ..EmulatorConfig::default()
    })
    .expect("start emulator")
}

fn env(emu: &Emulator, name: &str) -> String {
    emu.environment()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} not in the environment"))
        .1
}

/// The path and query of an endpoint variable, for the raw client.
fn target(endpoint: &str, query: &str) -> String {
    let path = endpoint
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("/");
    format!("{path}?{query}")
}

fn get(emu: &Emulator, target: &str, headers: &[(&str, &str)]) -> HttpResponse {
    request(emu.port(), "GET", target, headers, None).expect("request")
}

fn assert_token(body: &Value, resource: &str, client_id: Option<&str>) {
    let token = field(body, "access_token");
    let (_, claims) = jwt_parts(token);
    assert_eq!(claims["aud"], resource);
    assert_eq!(field(body, "resource"), resource);
    assert_eq!(field(body, "token_type"), "Bearer");
    let expires_on: u64 = field(body, "expires_on").parse().expect("epoch string");
    assert!(expires_on > now_secs() + 3000, "{expires_on}");
    if let Some(client_id) = client_id {
        assert_eq!(claims["appid"], client_id);
        assert_eq!(field(body, "client_id"), client_id);
    }
}

/// App Service's `{"statusCode","message","correlationId"}`.
fn assert_app_service_error(resp: &HttpResponse, status: u16, message_part: &str) {
    assert_eq!(resp.status, status, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["statusCode"], status, "{body}");
    assert!(field(&body, "message").contains(message_part), "{body}");
    assert_eq!(field(&body, "correlationId").len(), 36, "{body}");
}

fn app_service_query(resource: &str, extra: &str) -> String {
    let mut q = format!("api-version=2019-08-01&resource={}", encode(resource));
    if !extra.is_empty() {
        q.push('&');
        q.push_str(extra);
    }
    q
}

#[test]
fn imds_is_the_default_and_names_its_endpoint() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    assert_eq!(emu.source(), IdentitySource::Imds);
    assert_eq!(env(&emu, "AZMI_IMDS_ENDPOINT"), emu.token_url());
    assert!(emu.arc_tokens_dir().is_none());
}

#[test]
fn source_names_round_trip() {
    for source in IdentitySource::ALL {
        assert_eq!(IdentitySource::from_name(source.name()), Ok(source));
    }
    assert!(IdentitySource::from_name("vm").is_err());
}

#[test]
fn app_service_issues_tokens_with_the_identity_header() {
    let emu = start(IdentitySource::AppService);
    let endpoint = env(&emu, "IDENTITY_ENDPOINT");
    assert_eq!(endpoint, format!("{}/msi/token", emu.base_url()));
    let secret = env(&emu, "IDENTITY_HEADER");
    assert_eq!(secret.len(), 64);

    let resp = get(
        &emu,
        &target(&endpoint, &app_service_query(ARM, "")),
        &[("X-IDENTITY-HEADER", &secret)],
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_token(&body, ARM, Some(SYSTEM_CLIENT_ID));
    // Keys sorted (serde_json's map); exactly App Service's five.
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "client_id",
            "expires_on",
            "resource",
            "token_type"
        ]
    );

    // User-assigned by each of the three selectors App Service accepts.
    for selector in [
        format!("client_id={UAMI_CLIENT_ID}"),
        format!("object_id={UAMI_OBJECT_ID}"),
        format!("mi_res_id={}", encode(UAMI_RESOURCE_ID)),
    ] {
        let resp = get(
            &emu,
            &target(&endpoint, &app_service_query(ARM, &selector)),
            &[("X-IDENTITY-HEADER", &secret)],
        );
        assert_eq!(resp.status, 200, "{selector}: {}", resp.text());
        assert_token(&resp.json(), ARM, Some(UAMI_CLIENT_ID));
    }
    assert_eq!(emu.counters().tokens_issued, 4);
    // The secret is never recorded.
    assert!(emu
        .requests()
        .iter()
        .all(|r| r.headers.iter().all(|(_, v)| !v.contains(&secret))));
}

#[test]
fn app_service_refuses_a_missing_or_wrong_header_and_bad_requests() {
    let emu = start(IdentitySource::AppService);
    let endpoint = env(&emu, "IDENTITY_ENDPOINT");
    let secret = env(&emu, "IDENTITY_HEADER");
    let ok = target(&endpoint, &app_service_query(ARM, ""));

    assert_app_service_error(&get(&emu, &ok, &[]), 400, "X-IDENTITY-HEADER");
    assert_app_service_error(
        &get(&emu, &ok, &[("X-IDENTITY-HEADER", "not-the-secret")]),
        401,
        "X-IDENTITY-HEADER",
    );
    // IMDS's header is not App Service's.
    assert_app_service_error(
        &get(&emu, &ok, &[("Metadata", "true")]),
        400,
        "X-IDENTITY-HEADER",
    );

    let with_secret = [("X-IDENTITY-HEADER", secret.as_str())];
    let wrong_version = target(
        &endpoint,
        &format!("api-version=2017-09-01&resource={}", encode(ARM)),
    );
    assert_app_service_error(&get(&emu, &wrong_version, &with_secret), 400, "2019-08-01");
    let no_version = target(&endpoint, &format!("resource={}", encode(ARM)));
    assert_app_service_error(&get(&emu, &no_version, &with_secret), 400, "api-version");
    let no_resource = target(&endpoint, "api-version=2019-08-01");
    assert_app_service_error(&get(&emu, &no_resource, &with_secret), 400, "resource");
    let unknown_identity = target(
        &endpoint,
        &app_service_query(ARM, "client_id=00000000-0000-0000-0000-000000000009"),
    );
    assert_app_service_error(
        &get(&emu, &unknown_identity, &with_secret),
        400,
        "Managed Identity",
    );
    let unknown_resource = target(&endpoint, &app_service_query("https://nope.example/", ""));
    assert_app_service_error(
        &get(&emu, &unknown_resource, &with_secret),
        400,
        "AADSTS500011",
    );
    // The IMDS path is not served by an App Service.
    let imds = get(
        &emu,
        &format!("{TOKEN_PATH}?{}", query(ARM, "")),
        &[("Metadata", "true")],
    );
    assert_eq!(imds.status, 404);
    assert_eq!(emu.counters().tokens_issued, 0);
    assert_eq!(emu.counters().token_requests, 8);
}

#[test]
fn app_service_applies_the_fault_script() {
    let emu = start(IdentitySource::AppService);
    let endpoint = env(&emu, "IDENTITY_ENDPOINT");
    let secret = env(&emu, "IDENTITY_HEADER");
    emu.set_faults(vec![Fault::Status {
        status: 503,
        retry_after: Some(2),
        count: 1,
    }]);
    let ok = target(&endpoint, &app_service_query(ARM, ""));
    let resp = get(&emu, &ok, &[("X-IDENTITY-HEADER", &secret)]);
    assert_eq!(resp.status, 503);
    assert_eq!(resp.header("retry-after"), Some("2"));
    let resp = get(&emu, &ok, &[("X-IDENTITY-HEADER", &secret)]);
    assert_eq!(resp.status, 200, "{}", resp.text());
}

#[test]
fn azure_ml_issues_tokens_with_the_secret_header_and_clientid() {
    let emu = start(IdentitySource::AzureMl);
    let endpoint = env(&emu, "MSI_ENDPOINT");
    let secret = env(&emu, "MSI_SECRET");
    assert_eq!(env(&emu, "DEFAULT_IDENTITY_CLIENT_ID"), SYSTEM_CLIENT_ID);
    let q = |extra: &str| {
        target(
            &endpoint,
            &format!("api-version=2017-09-01&resource={}{extra}", encode(ARM)),
        )
    };

    let resp = get(
        &emu,
        &q(&format!("&clientid={SYSTEM_CLIENT_ID}")),
        &[("secret", &secret)],
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_token(&resp.json(), ARM, Some(SYSTEM_CLIENT_ID));
    let resp = get(
        &emu,
        &q(&format!("&clientid={UAMI_CLIENT_ID}")),
        &[("secret", &secret)],
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_token(&resp.json(), ARM, Some(UAMI_CLIENT_ID));

    // A wrong or missing secret is answered in plain text, without echoing it.
    for headers in [&[("secret", "wrong")][..], &[][..]] {
        let resp = get(&emu, &q(""), headers);
        assert_eq!(resp.status, 401);
        assert_eq!(resp.text(), "Invalid secret token header: .");
    }
    // App Service's newer header is not accepted by the 2017 protocol.
    let resp = get(&emu, &q(""), &[("X-IDENTITY-HEADER", &secret)]);
    assert_eq!(resp.status, 401);

    let wrong_version = target(
        &endpoint,
        &format!("api-version=2019-08-01&resource={}", encode(ARM)),
    );
    let resp = get(&emu, &wrong_version, &[("secret", &secret)]);
    assert_eq!(resp.status, 400);
    assert!(field(&resp.json(), "message").contains("2017-09-01"));
    let resp = get(
        &emu,
        &q("&clientid=00000000-0000-0000-0000-000000000009"),
        &[("secret", &secret)],
    );
    assert_eq!(resp.status, 400);
    assert_eq!(emu.counters().tokens_issued, 2);
}

fn cloud_shell_post(emu: &Emulator, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    let path = target(&env(emu, "MSI_ENDPOINT"), "");
    let path = path.trim_end_matches('?');
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    request(emu.port(), "POST", path, &all, Some(body)).expect("request")
}

#[test]
fn cloud_shell_posts_a_form_with_the_metadata_header() {
    let emu = start(IdentitySource::CloudShell);
    assert_eq!(
        env(&emu, "MSI_ENDPOINT"),
        format!("{}/oauth2/token", emu.base_url())
    );
    assert_eq!(emu.environment().len(), 1, "Cloud Shell has no secret");
    let form = format!("resource={}", encode(ARM));

    let resp = cloud_shell_post(&emu, &[("Metadata", "true")], &form);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_token(&body, ARM, None);
    assert_eq!(
        jwt_parts(field(&body, "access_token")).1["appid"],
        SYSTEM_CLIENT_ID
    );
    assert_eq!(field(&body, "expires_in"), "3600");

    let resp = cloud_shell_post(&emu, &[], &form);
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["error"], "bad_request_102");
    let resp = cloud_shell_post(&emu, &[("Metadata", "true")], "");
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["error"], "invalid_request");
    // No user-assigned identities in Cloud Shell.
    let resp = cloud_shell_post(
        &emu,
        &[("Metadata", "true")],
        &format!("{form}&client_id={UAMI_CLIENT_ID}"),
    );
    assert_eq!(resp.status, 400);
    assert!(field(&resp.json(), "error_description").contains("user-assigned"));
    // GET is the IMDS habit, not Cloud Shell's protocol.
    let resp = get(
        &emu,
        &format!("/oauth2/token?{form}"),
        &[("Metadata", "true")],
    );
    assert_eq!(resp.status, 405);
    assert_eq!(emu.counters().tokens_issued, 1);
}

fn arc_get(emu: &Emulator, query: &str, authorization: Option<&str>) -> HttpResponse {
    let target = target(&env(emu, "IDENTITY_ENDPOINT"), query);
    let mut headers = vec![("Metadata", "true")];
    if let Some(a) = authorization {
        headers.push(("Authorization", a));
    }
    get(emu, &target, &headers)
}

fn arc_query(resource: &str) -> String {
    format!("api-version=2020-06-01&resource={}", encode(resource))
}

/// The 401 challenge of a request without the key: the key file it names (checked to be a
/// `.key` file of at most 4096 bytes in `tokens_dir`) and the key read from it.
fn arc_challenge(emu: &Emulator, tokens_dir: &std::path::Path) -> (String, String) {
    let challenge = arc_get(emu, &arc_query(ARM), None);
    assert_eq!(challenge.status, 401, "{}", challenge.text());
    let realm = challenge
        .header("www-authenticate")
        .and_then(|v| v.strip_prefix("Basic realm="))
        .expect("Basic challenge")
        .to_string();
    let key_file = std::path::PathBuf::from(&realm);
    assert_eq!(key_file.parent(), Some(tokens_dir));
    assert_eq!(key_file.extension().and_then(|e| e.to_str()), Some("key"));
    let key = std::fs::read_to_string(&key_file).expect("key file");
    assert!(key.len() <= 4096);
    (realm, key)
}

#[test]
fn arc_challenges_with_a_key_file_then_issues_tokens() {
    let emu = start(IdentitySource::Arc);
    assert_eq!(env(&emu, "IDENTITY_ENDPOINT"), emu.token_url());
    assert_eq!(env(&emu, "IMDS_ENDPOINT"), emu.base_url());
    let tokens_dir = emu.arc_tokens_dir().expect("tokens folder");

    let (realm, key) = arc_challenge(&emu, &tokens_dir);

    let resp = arc_get(&emu, &arc_query(ARM), Some(&format!("Basic {key}")));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_token(&body, ARM, None);
    assert_eq!(
        jwt_parts(field(&body, "access_token")).1["appid"],
        SYSTEM_CLIENT_ID
    );

    // MSAL's 2019-11-01 is accepted too.
    let resp = arc_get(
        &emu,
        &format!("api-version=2019-11-01&resource={}", encode(VAULT)),
        Some(&format!("Basic {key}")),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());

    // A wrong key is challenged again.
    let resp = arc_get(&emu, &arc_query(ARM), Some("Basic not-the-key"));
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.header("www-authenticate"),
        Some(format!("Basic realm={realm}").as_str())
    );
    // Metadata is required, and only api-version 2020-06-01.
    let resp = get(
        &emu,
        &target(&env(&emu, "IDENTITY_ENDPOINT"), &arc_query(ARM)),
        &[],
    );
    assert_eq!(resp.status, 400);
    let resp = arc_get(
        &emu,
        &format!("api-version=2018-02-01&resource={}", encode(ARM)),
        Some(&format!("Basic {key}")),
    );
    assert_eq!(resp.status, 400);
    // Arc has no user-assigned identities.
    let resp = arc_get(
        &emu,
        &format!("{}&client_id={UAMI_CLIENT_ID}", arc_query(ARM)),
        Some(&format!("Basic {key}")),
    );
    assert_eq!(resp.status, 400);
    assert_eq!(emu.counters().tokens_issued, 2);

    // The folder goes with the emulator.
    drop(emu);
    assert!(!tokens_dir.exists());
}

#[test]
fn arc_writes_its_key_file_into_a_given_tokens_folder_and_removes_only_that_file() {
    // As with --arc-tokens-dir /var/opt/azcmagent/tokens, the agent's folder (which MSAL
    // insists on): a folder that is not the emulator's own, with a file of someone else's.
    let parent = tempfile::tempdir().expect("temp dir");
    let folder = parent.path().join("azcmagent").join("tokens");
    let emu = Emulator::start(EmulatorConfig {
        source: IdentitySource::Arc,
        arc_tokens_dir: Some(folder.clone()),
        ..EmulatorConfig::default()
    })
    .expect("start emulator");
    assert_eq!(emu.arc_tokens_dir().as_deref(), Some(folder.as_path()));
    let other = folder.join("other.key");
    std::fs::write(&other, "not the emulator's").expect("write");

    let (realm, key) = arc_challenge(&emu, &folder);
    let key_file = std::path::PathBuf::from(&realm);
    let resp = arc_get(&emu, &arc_query(ARM), Some(&format!("Basic {key}")));
    assert_eq!(resp.status, 200, "{}", resp.text());

    drop(emu);
    assert!(!key_file.exists(), "the emulator's key file is removed");
    assert!(other.exists(), "nothing else in the folder is touched");
}

#[test]
fn an_arc_tokens_folder_is_refused_for_another_source() {
    let err = Emulator::start(EmulatorConfig {
        source: IdentitySource::AppService,
        arc_tokens_dir: Some(std::env::temp_dir()),
        ..EmulatorConfig::default()
    })
    .expect_err("refused");
    assert!(
        err.to_string()
            .contains("Arc tokens folder is only used with the arc source, not app-service"),
        "{err}"
    );
}

/// A TLS client that trusts exactly the certificate whose SHA-1 thumbprint is `thumbprint`,
/// whatever its issuer and names, as the SDKs' Service Fabric sources do.
mod pinned {
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{ClientConfig, DigitallySignedStruct, Error, SignatureScheme};

    #[derive(Debug)]
    struct Pinned {
        thumbprint: String,
        provider: Arc<CryptoProvider>,
    }

    impl ServerCertVerifier for Pinned {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, end_entity);
            let hex: String = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
            if hex == self.thumbprint {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(Error::General("thumbprint mismatch".into()))
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    pub fn config(thumbprint: &str) -> Arc<ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(Pinned {
            thumbprint: thumbprint.to_string(),
            provider: Arc::clone(&provider),
        });
        Arc::new(
            ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth(),
        )
    }
}

fn service_fabric_get(
    emu: &Emulator,
    query: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<HttpResponse> {
    let endpoint = env(emu, "IDENTITY_ENDPOINT");
    let port: u16 = endpoint
        .trim_start_matches("https://127.0.0.1:")
        .split('/')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port in IDENTITY_ENDPOINT");
    let config = pinned::config(&env(emu, "IDENTITY_SERVER_THUMBPRINT"));
    common::https::TlsConn::open(&config, port, "localhost")?.request(
        "GET",
        &target(&endpoint, query),
        headers,
        None,
    )
}

fn service_fabric_query(resource: &str) -> String {
    format!(
        "api-version=2019-07-01-preview&resource={}",
        encode(resource)
    )
}

fn assert_service_fabric_error(resp: &HttpResponse, status: u16, code: &str) {
    assert_eq!(resp.status, status, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(field(&body["error"], "correlationId").len(), 36, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

#[test]
fn service_fabric_serves_https_pinned_by_thumbprint() {
    let emu = start(IdentitySource::ServiceFabric);
    let thumbprint = emu.service_fabric_thumbprint().expect("thumbprint");
    assert_eq!(env(&emu, "IDENTITY_SERVER_THUMBPRINT"), thumbprint);
    assert_eq!(thumbprint.len(), 40);
    assert!(thumbprint
        .chars()
        .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)));
    let endpoint = env(&emu, "IDENTITY_ENDPOINT");
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
    assert!(
        endpoint.ends_with("/metadata/identity/oauth2/token"),
        "{endpoint}"
    );
    let secret = env(&emu, "IDENTITY_HEADER");

    let resp =
        service_fabric_get(&emu, &service_fabric_query(ARM), &[("Secret", &secret)]).unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(field(&body, "token_type"), "Bearer");
    assert_eq!(field(&body, "resource"), ARM);
    let expires_on = body["expires_on"].as_u64().expect("expires_on is a number");
    assert!(expires_on > now_secs() + 3000);
    let (_, claims) = jwt_parts(field(&body, "access_token"));
    assert_eq!(claims["aud"], ARM);
    assert_eq!(claims["appid"], SYSTEM_CLIENT_ID);

    // 2020-05-01, what MSAL sends, is accepted too.
    let resp = service_fabric_get(
        &emu,
        &format!("api-version=2020-05-01&resource={}", encode(ARM)),
        &[("Secret", &secret)],
    )
    .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());

    // The certificate is self-signed: the emulator's CA does not vouch for it.
    let port: u16 = endpoint
        .trim_start_matches("https://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let ca_trust = common::https::trusting(&emu.ca_pem());
    assert!(common::https::TlsConn::open(&ca_trust, port, "localhost").is_err());
    assert_eq!(emu.counters().tokens_issued, 2);
}

#[test]
fn service_fabric_errors_have_its_shape() {
    let emu = start(IdentitySource::ServiceFabric);
    let secret = env(&emu, "IDENTITY_HEADER");
    let with_secret = [("Secret", secret.as_str())];
    let get = |query: &str, headers: &[(&str, &str)]| {
        service_fabric_get(&emu, query, headers).expect("request")
    };

    assert_service_fabric_error(
        &get(&service_fabric_query(ARM), &[]),
        401,
        "SecretHeaderNotFound",
    );
    assert_service_fabric_error(
        &get(&service_fabric_query(ARM), &[("Secret", "wrong")]),
        404,
        "ManagedIdentityNotFound",
    );
    assert_service_fabric_error(
        &get(
            &format!("api-version=2019-08-01&resource={}", encode(ARM)),
            &with_secret,
        ),
        400,
        "InvalidApiVersion",
    );
    assert_service_fabric_error(
        &get("api-version=2019-07-01-preview", &with_secret),
        400,
        "ArgumentNullOrEmpty",
    );
    assert_service_fabric_error(
        &get(&service_fabric_query("https://nope.example/"), &with_secret),
        500,
        "InternalServerError",
    );
    // The plain listener keeps the admin API but serves no token path.
    let plain = request(
        emu.port(),
        "GET",
        &format!("{TOKEN_PATH}?{}", service_fabric_query(ARM)),
        &with_secret,
        None,
    )
    .unwrap();
    assert_eq!(plain.status, 404);
    assert_eq!(emu.counters().token_requests, 5);
    assert_eq!(emu.counters().tokens_issued, 0);
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An unsigned-looking assertion with these claims (the emulator, like any test double of
/// Entra ID without the issuer's keys, checks claims, not the signature).
fn assertion(claims: Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn federated_claims(federation: &azmi_emulator::FederationConfig) -> Value {
    let now = now_secs();
    serde_json::json!({
        "iss": federation.issuer,
        "sub": federation.subject,
        "aud": ["api://AzureADTokenExchange"],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    })
}

fn entra_post(emu: &Emulator, tenant: &str, fields: &[(&str, &str)]) -> HttpResponse {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    request(
        emu.port(),
        "POST",
        &format!("/{tenant}/oauth2/v2.0/token"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&body),
    )
    .expect("request")
}

fn exchange(emu: &Emulator, client_assertion: &str, scope: &str) -> HttpResponse {
    let client_id = env(emu, "AZURE_CLIENT_ID");
    entra_post(
        emu,
        TENANT,
        &[
            ("client_id", &client_id),
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", client_assertion),
            ("scope", scope),
        ],
    )
}

/// Entra ID's error body, with the `AADSTS` code in both places.
fn assert_entra_error(resp: &HttpResponse, status: u16, error: &str, code: u64) {
    assert_eq!(resp.status, status, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], serde_json::json!([code]), "{body}");
    assert!(
        field(&body, "error_description").starts_with(&format!("AADSTS{code}: ")),
        "{body}"
    );
    for key in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(body[key].is_string(), "{key} in {body}");
    }
}

#[test]
fn workload_identity_exchanges_the_federated_token() {
    let emu = start(IdentitySource::WorkloadIdentity);
    // Azure.Identity refuses an authority host that is not https: the emulator's CA vouches.
    let authority = env(&emu, "AZURE_AUTHORITY_HOST");
    assert!(
        authority.starts_with("https://127.0.0.1:") && authority.ends_with('/'),
        "{authority}"
    );
    assert_eq!(env(&emu, "AZURE_TENANT_ID"), TENANT);
    assert_eq!(env(&emu, "AZURE_CLIENT_ID"), UAMI_CLIENT_ID);
    let file = env(&emu, "AZURE_FEDERATED_TOKEN_FILE");
    let federated = std::fs::read_to_string(&file).expect("federated token file");
    let (_, claims) = jwt_parts(&federated);
    assert_eq!(
        claims["aud"],
        serde_json::json!(["api://AzureADTokenExchange"])
    );

    let resp = exchange(&emu, &federated, "https://management.azure.com/.default");
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(field(&body, "token_type"), "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let (_, claims) = jwt_parts(field(&body, "access_token"));
    // Entra ID's v2 endpoint writes `aud` as the scope named the resource: no slash added.
    assert_eq!(claims["aud"], "https://management.azure.com");
    assert_eq!(claims["appid"], UAMI_CLIENT_ID);
    assert_eq!(emu.counters().tokens_issued, 1);
    for (scope, aud) in [
        (
            "https://storage.azure.com/.default",
            "https://storage.azure.com",
        ),
        (
            "https://datalake.azure.net//.default",
            "https://datalake.azure.net/",
        ),
        (
            "https://vault.azure.net/.default",
            "https://vault.azure.net",
        ),
    ] {
        let resp = exchange(&emu, &federated, scope);
        assert_eq!(resp.status, 200, "{scope}: {}", resp.text());
        let (_, claims) = jwt_parts(field(&resp.json(), "access_token"));
        assert_eq!(claims["aud"], aud, "{scope}");
    }

    // A token the test writes for itself works the same; the file is removed with the emulator.
    let own = tempfile::tempdir().unwrap();
    let path = own.path().join("token");
    emu.write_federated_token(&path, 60).unwrap();
    let resp = exchange(
        &emu,
        &std::fs::read_to_string(&path).unwrap(),
        "https://vault.azure.net/.default",
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    drop(emu);
    assert!(!std::path::Path::new(&file).exists());
}

#[test]
fn workload_identity_refuses_assertions_outside_the_federation() {
    let emu = start(IdentitySource::WorkloadIdentity);
    let federation = azmi_emulator::FederationConfig::default();
    let scope = "https://management.azure.com/.default";
    let with = |key: &str, value: Value| {
        let mut claims = federated_claims(&federation);
        claims[key] = value;
        assertion(claims)
    };

    let expired = with("exp", serde_json::json!(now_secs() - 3600));
    let resp = exchange(&emu, &expired, scope);
    assert_entra_error(&resp, 401, "invalid_client", 700024);
    assert!(field(&resp.json(), "error_description")
        .contains("Client assertion is not within its valid time range"));
    let not_yet = with("nbf", serde_json::json!(now_secs() + 3600));
    assert_entra_error(
        &exchange(&emu, &not_yet, scope),
        401,
        "invalid_client",
        700024,
    );

    let wrong_audience = with("aud", serde_json::json!("api://SomethingElse"));
    let resp = exchange(&emu, &wrong_audience, scope);
    assert_entra_error(&resp, 400, "invalid_request", 700212);
    assert!(field(&resp.json(), "error_description").contains("api://SomethingElse"));
    let wrong_issuer = with("iss", serde_json::json!("https://issuer.example/"));
    assert_entra_error(
        &exchange(&emu, &wrong_issuer, scope),
        400,
        "invalid_request",
        700211,
    );
    let wrong_subject = with("sub", serde_json::json!("system:serviceaccount:other:app"));
    let resp = exchange(&emu, &wrong_subject, scope);
    assert_entra_error(&resp, 400, "invalid_request", 70021);
    assert!(field(&resp.json(), "error_description").contains("system:serviceaccount:other:app"));
    assert_entra_error(
        &exchange(&emu, "not-a-jwt", scope),
        400,
        "invalid_request",
        50027,
    );

    let good = assertion(federated_claims(&federation));
    // Scope without /.default, and a resource the tenant does not know.
    assert_entra_error(
        &exchange(&emu, &good, "https://management.azure.com/"),
        400,
        "invalid_scope",
        1002012,
    );
    assert_entra_error(
        &exchange(&emu, &good, "https://nope.example/.default"),
        400,
        "invalid_resource",
        500011,
    );
    // The system-assigned identity exists but is not federated with this issuer.
    let resp = entra_post(
        &emu,
        TENANT,
        &[
            ("client_id", SYSTEM_CLIENT_ID),
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &good),
            ("scope", scope),
        ],
    );
    assert_entra_error(&resp, 400, "invalid_request", 70021);
    let resp = entra_post(
        &emu,
        "00000000-0000-0000-0000-000000000009",
        &[("grant_type", "client_credentials")],
    );
    assert_entra_error(&resp, 400, "invalid_request", 90002);
    let resp = entra_post(
        &emu,
        TENANT,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", UAMI_CLIENT_ID),
            ("scope", scope),
        ],
    );
    assert_entra_error(&resp, 400, "invalid_request", 900144);
    let resp = entra_post(&emu, TENANT, &[("grant_type", "password")]);
    assert_entra_error(&resp, 400, "unsupported_grant_type", 70003);
    assert_eq!(emu.counters().tokens_issued, 0);
}

#[test]
fn workload_identity_serves_msal_discovery() {
    let emu = start(IdentitySource::WorkloadIdentity);
    let resp = get(
        &emu,
        "/common/discovery/instance?api-version=1.1&authorization_endpoint=x",
        &[],
    );
    assert_eq!(resp.status, 200);
    let body = resp.json();
    let tenant_discovery = field(&body, "tenant_discovery_endpoint").to_string();
    let authority = env(&emu, "AZURE_AUTHORITY_HOST");
    assert_eq!(
        tenant_discovery,
        format!("{authority}{TENANT}/v2.0/.well-known/openid-configuration")
    );
    let resp = get(&emu, &target(&tenant_discovery, ""), &[]);
    assert_eq!(resp.status, 200);
    let token_endpoint = field(&resp.json(), "token_endpoint").to_string();
    assert_eq!(
        token_endpoint,
        format!("{authority}{TENANT}/oauth2/v2.0/token")
    );

    // The authority answers over TLS with a certificate of the emulator's CA.
    let port: u16 = authority
        .trim_start_matches("https://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let federated = std::fs::read_to_string(env(&emu, "AZURE_FEDERATED_TOKEN_FILE")).unwrap();
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", UAMI_CLIENT_ID),
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &federated),
            ("scope", "https://vault.azure.net/.default"),
        ])
        .finish();
    let config = common::https::trusting(&emu.ca_pem());
    let resp = common::https::TlsConn::open(&config, port, "127.0.0.1")
        .unwrap()
        .request(
            "POST",
            &target(&token_endpoint, ""),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(body.as_bytes()),
        )
        .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(emu.counters().tokens_issued, 1);
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn app_service_serves_its_cached_token_until_told_its_hash() {
    let emu = start(IdentitySource::AppService);
    let endpoint = env(&emu, "IDENTITY_ENDPOINT");
    let secret = env(&emu, "IDENTITY_HEADER");
    let ask = |extra: &str| {
        let resp = get(
            &emu,
            &target(&endpoint, &app_service_query(ARM, extra)),
            &[("X-IDENTITY-HEADER", &secret)],
        );
        assert_eq!(resp.status, 200, "{}", resp.text());
        field(&resp.json(), "access_token").to_string()
    };
    let first = ask("");
    // Tokens are compared, never printed.
    assert!(ask("") == first, "served from the endpoint's cache");
    // The hash of another token changes nothing: the cached one is newer.
    assert!(ask(&format!("token_sha256_to_refresh={}", sha256_hex("other"))) == first);
    // The cached token's hash: a new token, cached from then on.
    let second = ask(&format!("token_sha256_to_refresh={}", sha256_hex(&first)));
    assert!(second != first);
    assert!(ask("") == second);
    assert!(jwt_parts(&second).1.get("xms_cc").is_none());
    // Capabilities: a CAE token with xms_cc, cached apart.
    let cae = ask("xms_cc=cp1");
    assert!(cae != second);
    assert_eq!(jwt_parts(&cae).1["xms_cc"], serde_json::json!(["cp1"]));
    assert!(ask("xms_cc=cp1") == cae);
    assert!(ask("") == second);
    assert_eq!(
        emu.counters().tokens_issued,
        8,
        "every answer counts as issued"
    );
}

#[test]
fn workload_identity_takes_claims_with_capabilities_and_refuses_bad_ones() {
    let emu = start(IdentitySource::WorkloadIdentity);
    let federated =
        std::fs::read_to_string(env(&emu, "AZURE_FEDERATED_TOKEN_FILE")).expect("token file");
    let client_id = env(&emu, "AZURE_CLIENT_ID");
    let post = |claims: &str| {
        entra_post(
            &emu,
            TENANT,
            &[
                ("client_id", &client_id),
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &federated),
                ("scope", "https://vault.azure.net/.default"),
                ("claims", claims),
            ],
        )
    };
    let resp = post(
        r#"{"access_token":{"nbf":{"essential":true,"value":"1"},"xms_cc":{"values":["cp1"]}}}"#,
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let (_, claims) = jwt_parts(field(&resp.json(), "access_token"));
    assert_eq!(claims["xms_cc"], serde_json::json!(["cp1"]));
    let resp = post(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#);
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(jwt_parts(field(&resp.json(), "access_token"))
        .1
        .get("xms_cc")
        .is_none());
    for bad in ["not json", "[1]", "{"] {
        assert_entra_error(&post(bad), 400, "invalid_request", 50117);
    }
}
