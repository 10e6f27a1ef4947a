//! Key Vault secrets over HTTPS: bodies, versions, paging, the 401 challenge, role-based 403s,
//! disabled secrets and the error bodies; writes (a new version per PUT), soft delete, the
//! deleted store (read, list, recover, purge) and the 409 of a name held by a deleted secret.

mod common;

use azmi_emulator::{Emulator, EmulatorConfig, Fault, Role, RoleAssignment, SecretConfig};
use common::https::{trusting, TlsConn};
use common::*;

struct Kv {
    emu: Emulator,
    config: std::sync::Arc<rustls::ClientConfig>,
}

impl Kv {
    fn start(config: EmulatorConfig) -> Kv {
        let emu = Emulator::start(config).expect("start emulator");
        let config = trusting(&emu.ca_pem());
        Kv { emu, config }
    }

    fn token(&self, resource: &str, extra: &str) -> String {
        let resp = token(self.emu.port(), &query(resource, extra));
        assert_eq!(resp.status, 200, "{}", resp.text());
        field(&resp.json(), "access_token").to_string()
    }

    fn raw(&self, target: &str, bearer: Option<&str>) -> HttpResponse {
        self.send("GET", target, bearer, None)
    }

    fn send(
        &self,
        method: &str,
        target: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> HttpResponse {
        let auth = bearer.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("x-ms-client-request-id", "req-1")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        TlsConn::open(&self.config, self.emu.keyvault_port(), "127.0.0.1")
            .expect("TLS")
            .request(method, target, &headers, body.map(str::as_bytes))
            .expect("request")
    }

    /// `method` with a vault token of the system-assigned identity (Key Vault Secrets Officer).
    fn write(&self, method: &str, target: &str, body: Option<&str>) -> HttpResponse {
        let t = self.token(VAULT, "");
        self.send(method, target, Some(&t), body)
    }

    /// GET with a vault token of the system-assigned identity.
    fn get(&self, target: &str) -> HttpResponse {
        let t = self.token(VAULT, "");
        self.raw(target, Some(&t))
    }

    /// Follows `nextLink`s (absolute URLs on this vault) and returns every item.
    fn list_all(&self, first: &str) -> (Vec<serde_json::Value>, usize) {
        let t = self.token(VAULT, "");
        let base = self.emu.keyvault_url();
        let mut target = first.to_string();
        let mut items = Vec::new();
        let mut pages = 0;
        loop {
            let resp = self.raw(&target, Some(&t));
            assert_eq!(resp.status, 200, "{}", resp.text());
            let body = resp.json();
            pages += 1;
            items.extend(body["value"].as_array().unwrap().iter().cloned());
            assert!(body.as_object().unwrap().contains_key("nextLink"), "{body}");
            match body["nextLink"].as_str() {
                None => break,
                Some(link) => {
                    target = link
                        .strip_prefix(&base)
                        .unwrap_or_else(|| panic!("nextLink {link} not on {base}"))
                        .to_string();
                    assert!(target.contains("$skiptoken="), "{link}");
                    assert!(target.contains("api-version=7.5"), "{link}");
                }
            }
        }
        (items, pages)
    }
}

fn assert_kv_error(resp: &HttpResponse, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(resp.status, status, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    body
}

#[test]
fn get_secret_has_the_real_body() {
    let kv = Kv::start(EmulatorConfig::default());
    let resp = kv.get("/secrets/mi-test?api-version=7.5");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(resp.header("x-ms-client-request-id"), Some("req-1"));
    assert!(resp.header("x-ms-request-id").is_some());
    let text = resp.text();
    assert!(text.starts_with("{\"value\":"), "{text}");
    let body = resp.json();
    assert_eq!(body["value"], "Hello from Key Vault");
    assert_eq!(body["contentType"], "text/plain");
    assert_eq!(body["tags"]["purpose"], "azmi-tests");
    let id = field(&body, "id");
    let prefix = format!("{}/secrets/mi-test/", kv.emu.keyvault_url());
    let version = id.strip_prefix(&prefix).unwrap_or_else(|| panic!("{id}"));
    assert_eq!(version.len(), 32);
    assert!(version.bytes().all(|b| b.is_ascii_hexdigit()));
    let attrs = &body["attributes"];
    assert_eq!(attrs["enabled"], true);
    assert!(attrs["created"].is_u64(), "{attrs}");
    assert!(attrs["updated"].is_u64(), "{attrs}");
    assert!(attrs["created"].as_u64().unwrap() <= now_secs());
    assert_eq!(attrs["recoveryLevel"], "Recoverable+Purgeable");
    assert_eq!(attrs["recoverableDays"], 90);

    // A trailing slash (the SDKs send `/secrets/name/`) and another case name the same secret.
    let again = kv.get("/secrets/MI-TEST/?api-version=7.5");
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["id"], body["id"]);
    // The seed's older api-version has the same body, without recoverableDays.
    let old = kv.get("/secrets/mi-test?api-version=2016-10-01");
    assert_eq!(old.status, 200);
    assert!(old.json()["attributes"].get("recoverableDays").is_none());

    // The specific version, and the older one.
    let resp = kv.get(&format!("/secrets/mi-test/{version}?api-version=7.5"));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["value"], "Hello from Key Vault");
}

#[test]
fn versions_are_listed_and_readable() {
    let kv = Kv::start(EmulatorConfig::default());
    let (items, pages) = kv.list_all("/secrets/mi-test/versions?api-version=7.5&maxresults=1");
    assert_eq!(pages, 2);
    assert_eq!(items.len(), 2);
    let mut values = Vec::new();
    for item in &items {
        assert!(item.get("value").is_none(), "{item}");
        let id = field(item, "id");
        let version = id.rsplit('/').next().unwrap();
        let resp = kv.get(&format!("/secrets/mi-test/{version}?api-version=7.5"));
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(resp.json()["id"], id);
        values.push(resp.json()["value"].as_str().unwrap().to_string());
    }
    values.sort();
    assert_eq!(
        values,
        ["Hello from Key Vault", "Hello from Key Vault (version 1)"]
    );
    // Versions come in the order of their ids.
    let ids: Vec<&str> = items.iter().map(|i| field(i, "id")).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
}

#[test]
fn list_pages_with_next_link() {
    let kv = Kv::start(EmulatorConfig::default());
    // Default page size 25; 32 secrets by default.
    let (items, pages) = kv.list_all("/secrets?api-version=7.5");
    assert_eq!(pages, 2);
    assert_eq!(items.len(), 32);
    let names: Vec<String> = items
        .iter()
        .map(|i| field(i, "id").rsplit('/').next().unwrap().to_string())
        .collect();
    assert!(names.contains(&"mi-test".to_string()));
    assert!(names.contains(&"paging-secret-30".to_string()));
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(unique.len(), 32);
    for item in &items {
        assert!(item.get("value").is_none(), "{item}");
        // List ids have no version.
        let id = field(item, "id");
        assert_eq!(id.matches('/').count(), 4, "{id}");
        assert!(item["attributes"]["created"].is_u64());
    }
    // The disabled secret is listed, as disabled.
    let disabled = items
        .iter()
        .find(|i| field(i, "id").ends_with("/mi-disabled"))
        .unwrap();
    assert_eq!(disabled["attributes"]["enabled"], false);

    let (items, pages) = kv.list_all("/secrets?api-version=7.5&maxresults=10");
    assert_eq!((items.len(), pages), (32, 4));
    let resp = kv.get("/secrets?api-version=7.5&maxresults=10");
    let link = resp.json()["nextLink"].as_str().unwrap().to_string();
    assert!(link.contains("maxresults=10"), "{link}");

    assert_kv_error(
        &kv.get("/secrets?api-version=7.5&maxresults=26"),
        400,
        "BadParameter",
    );
    assert_kv_error(
        &kv.get("/secrets?api-version=7.5&$skiptoken=%21%21"),
        400,
        "BadParameter",
    );
}

#[test]
fn api_versions_are_answered_as_the_service_does() {
    let kv = Kv::start(EmulatorConfig::default());
    let t = kv.token(VAULT, "");
    let get = |version: &str| kv.raw(&format!("/secrets/mi-test?api-version={version}"), Some(&t));
    for known in [
        "7.0",
        "7.1",
        "7.2",
        "7.3",
        "7.4",
        "7.5",
        "2016-10-01",
        "7.6-preview.1",
        "7.6-preview.2",
    ] {
        let resp = get(known);
        assert_eq!(resp.status, 200, "{known}: {}", resp.text());
    }
    // Unknown versions, including a preview by a name the service never had: the service's own
    // words, naming its latest version.
    for unknown in ["7.9", "1.0", "7.6-preview", "7.5-preview.9"] {
        let body = assert_kv_error(&get(unknown), 400, "BadParameter");
        assert_eq!(
            body["error"]["message"],
            format!(
                "The specified version ({unknown}) is not recognized. Consider using the latest supported version (7.5)."
            ),
            "{body}"
        );
    }
    let body = assert_kv_error(&kv.raw("/secrets/mi-test", Some(&t)), 400, "BadParameter");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api-version"),
        "{body}"
    );
    // Listings keep the version in their nextLink.
    let resp = kv.raw("/secrets?api-version=7.4&maxresults=1", Some(&t));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let link = resp.json()["nextLink"].as_str().unwrap().to_string();
    assert!(link.contains("api-version=7.4&"), "{link}");
}

#[test]
fn errors_have_the_real_codes() {
    let kv = Kv::start(EmulatorConfig::default());
    assert_kv_error(&kv.get("/secrets/mi-test"), 400, "BadParameter");
    assert_kv_error(
        &kv.get("/secrets/mi-test?api-version=1.0"),
        400,
        "BadParameter",
    );
    let body = assert_kv_error(
        &kv.get("/secrets/nope?api-version=7.5"),
        404,
        "SecretNotFound",
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("A secret with (name/id) nope was not found in this key vault."),
        "{message}"
    );
    assert_kv_error(
        &kv.get("/secrets/mi-test/0123456789abcdef0123456789abcdef?api-version=7.5"),
        404,
        "SecretNotFound",
    );
    assert_kv_error(
        &kv.get("/secrets/nope/versions?api-version=7.5"),
        404,
        "SecretNotFound",
    );
    let body = assert_kv_error(
        &kv.get("/secrets/mi-disabled?api-version=7.5"),
        403,
        "Forbidden",
    );
    assert_eq!(
        body["error"]["message"],
        "Operation get is not allowed on a disabled secret."
    );
    assert_eq!(body["error"]["innererror"]["code"], "SecretDisabled");
    assert_kv_error(&kv.get("/secrets/a_b?api-version=7.5"), 400, "BadParameter");
}

#[test]
fn missing_token_gets_the_challenge() {
    let kv = Kv::start(EmulatorConfig::default());
    let resp = kv.raw("/secrets/mi-test?api-version=7.5", None);
    let body = assert_kv_error(&resp, 401, "Unauthorized");
    assert_eq!(
        body["error"]["message"],
        "AKV10000: Request is missing a Bearer or PoP token."
    );
    assert_eq!(
        resp.header("www-authenticate"),
        Some(
            format!(
                "Bearer authorization=\"https://login.windows.net/{TENANT}\", resource=\"https://vault.azure.net\""
            )
            .as_str()
        )
    );
    // The challenge parses the way the SDKs parse it: key="value" pairs after the scheme.
    let challenge = resp.header("www-authenticate").unwrap();
    let params: Vec<(&str, &str)> = challenge
        .strip_prefix("Bearer ")
        .unwrap()
        .split(", ")
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k, v.trim_matches('"'))
        })
        .collect();
    assert_eq!(
        params,
        [
            (
                "authorization",
                format!("https://login.windows.net/{TENANT}").as_str()
            ),
            ("resource", "https://vault.azure.net")
        ]
    );
    // Even a path that would be a 404 answers 401 first.
    assert_eq!(kv.raw("/secrets/nope?api-version=7.5", None).status, 401);
}

#[test]
fn wrong_audience_and_expired_tokens_are_401() {
    let kv = Kv::start(EmulatorConfig::default());
    let arm = kv.token(ARM, "");
    let resp = kv.raw("/secrets/mi-test?api-version=7.5", Some(&arm));
    let body = assert_kv_error(&resp, 401, "Unauthorized");
    assert_eq!(
        body["error"]["message"],
        "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://management.azure.com/."
    );
    assert!(resp.header("www-authenticate").is_some());

    kv.emu.set_token_lifetime(0);
    let expired = kv.token(VAULT, "");
    kv.emu.set_token_lifetime(3600);
    let resp = kv.raw("/secrets/mi-test?api-version=7.5", Some(&expired));
    assert_kv_error(&resp, 401, "Unauthorized");
    assert!(resp.header("www-authenticate").is_some());

    let good = kv.token(VAULT, "");
    let altered = format!("{}x", &good);
    assert_kv_error(
        &kv.raw("/secrets/mi-test?api-version=7.5", Some(&altered)),
        401,
        "Unauthorized",
    );
}

#[test]
fn identity_without_a_role_is_forbidden() {
    let mut config = EmulatorConfig::default();
    // Only the user-assigned identity keeps its vault role; the system identity is Owner of
    // the subscription, which grants no data access (as in Azure).
    config
        .role_assignments
        .retain(|a| !(a.object_id == SYSTEM_OBJECT_ID && a.role == Role::KeyVaultSecretsOfficer));
    let kv = Kv::start(config);
    let system = kv.token(VAULT, "");
    let resp = kv.raw("/secrets/mi-test?api-version=7.5", Some(&system));
    let body = assert_kv_error(&resp, 403, "Forbidden");
    assert_eq!(body["error"]["innererror"]["code"], "ForbiddenByRbac");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Caller is not authorized to perform action on resource.\r\n"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "Caller: appid={SYSTEM_CLIENT_ID};oid={SYSTEM_OBJECT_ID};iss=https://sts.windows.net/{TENANT}/"
        )),
        "{message}"
    );
    assert!(
        message.contains("Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'"),
        "{message}"
    );
    assert!(
        message.contains("/providers/microsoft.keyvault/vaults/mi-lab-vault/secrets/mi-test'"),
        "{message}"
    );
    // Listing needs readMetadata, also missing; even unknown secrets are 403 (no probing).
    let resp = kv.raw("/secrets?api-version=7.5", Some(&system));
    let body = assert_kv_error(&resp, 403, "Forbidden");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("secrets/readMetadata/action"));
    assert_kv_error(
        &kv.raw("/secrets/nope?api-version=7.5", Some(&system)),
        403,
        "Forbidden",
    );

    let uami = kv.token(VAULT, &format!("client_id={UAMI_CLIENT_ID}"));
    let resp = kv.raw("/secrets/mi-test?api-version=7.5", Some(&uami));
    assert_eq!(resp.status, 200, "{}", resp.text());
}

#[test]
fn role_at_a_secret_scope_covers_only_that_secret() {
    let mut config = EmulatorConfig {
        role_assignments: Vec::new(),
        ..Default::default()
    };
    config.role_assignments.push(RoleAssignment {
        object_id: SYSTEM_OBJECT_ID.into(),
        scope: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/azmi-rg/providers/Microsoft.KeyVault/vaults/mi-lab-vault/secrets/mi-test".into(),
        role: Role::KeyVaultSecretsUser,
    });
    config.secrets.push(SecretConfig::new("other", "x"));
    let kv = Kv::start(config);
    assert_eq!(kv.get("/secrets/mi-test?api-version=7.5").status, 200);
    assert_eq!(kv.get("/secrets/other?api-version=7.5").status, 403);
}

#[test]
fn configured_vault_name_and_secrets() {
    let mut config = EmulatorConfig {
        vault_name: "my-vault".into(),
        ..Default::default()
    };
    let mut secret = SecretConfig::new("json-secret", "{\"a\":1}");
    secret.current.version = Some("00000000000000000000000000000001".into());
    secret.current.content_type = Some("application/json".into());
    secret.current.expires = Some(4_000_000_000);
    secret.current.not_before = Some(1_000_000_000);
    config.secrets = vec![secret];
    let kv = Kv::start(config);
    let resp = kv.get("/secrets/json-secret?api-version=7.5");
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["value"], "{\"a\":1}");
    assert_eq!(
        body["id"],
        format!(
            "{}/secrets/json-secret/00000000000000000000000000000001",
            kv.emu.keyvault_url()
        )
    );
    assert_eq!(body["attributes"]["exp"], 4_000_000_000u64);
    assert_eq!(body["attributes"]["nbf"], 1_000_000_000u64);
    assert!(body.get("tags").is_none());
    let (items, pages) = kv.list_all("/secrets?api-version=7.5");
    assert_eq!((items.len(), pages), (1, 1));
}

#[test]
fn service_faults_apply_with_key_vault_bodies() {
    let kv = Kv::start(EmulatorConfig::default());
    kv.emu.set_service_faults(vec![Fault::Status {
        status: 429,
        retry_after: Some(3),
        count: 1,
    }]);
    let resp = kv.get("/secrets/mi-test?api-version=7.5");
    assert_kv_error(&resp, 429, "Throttled");
    assert_eq!(resp.header("retry-after"), Some("3"));
    assert_eq!(kv.get("/secrets/mi-test?api-version=7.5").status, 200);
    let logged = kv.emu.service_requests();
    assert!(logged.iter().any(|r| r.path == "/secrets/mi-test"));
}

/// The version id at the end of a secret id, checked to be 32 lower-case hex digits.
fn version_of(id: &str) -> String {
    let version = id.rsplit('/').next().unwrap().to_string();
    assert_eq!(version.len(), 32, "{id}");
    assert!(
        version
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{id}"
    );
    version
}

#[test]
fn set_adds_a_version_each_time() {
    let kv = Kv::start(EmulatorConfig::default());
    let before = now_secs();
    let resp = kv.write(
        "PUT",
        "/secrets/new-secret?api-version=7.5",
        Some(r#"{"value":"first","contentType":"text/plain","tags":{"team":"a"},"attributes":{"enabled":true,"nbf":1700000000,"exp":4000000000}}"#),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    // The service's order: value, contentType, id, attributes, tags.
    let text = resp.text();
    assert!(
        text.starts_with("{\"value\":\"first\",\"contentType\":"),
        "{text}"
    );
    let body = resp.json();
    assert_eq!(body["contentType"], "text/plain");
    assert_eq!(body["tags"]["team"], "a");
    let id = field(&body, "id");
    let prefix = format!("{}/secrets/new-secret/", kv.emu.keyvault_url());
    assert!(id.starts_with(&prefix), "{id}");
    let first = version_of(id);
    let attrs = &body["attributes"];
    assert_eq!(attrs["enabled"], true);
    assert_eq!(attrs["nbf"], 1_700_000_000u64);
    assert_eq!(attrs["exp"], 4_000_000_000u64);
    let created = attrs["created"].as_u64().unwrap();
    assert!(created >= before && created <= now_secs(), "{attrs}");
    assert_eq!(attrs["updated"], attrs["created"]);
    assert_eq!(attrs["recoveryLevel"], "Recoverable+Purgeable");
    assert_eq!(attrs["recoverableDays"], 90);

    let resp = kv.get("/secrets/new-secret?api-version=7.5");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["id"], id);
    assert_eq!(resp.json()["value"], "first");

    // A second PUT is a new current version; tags and content type are the new request's
    // only, and the older version stays readable.
    let resp = kv.write(
        "PUT",
        "/secrets/NEW-SECRET?api-version=7.5",
        Some(r#"{"value":"second"}"#),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    let second = version_of(field(&body, "id"));
    assert_ne!(first, second);
    assert!(body.get("tags").is_none(), "{body}");
    assert!(body.get("contentType").is_none(), "{body}");
    // The name keeps the case it was created with.
    assert!(field(&body, "id").starts_with(&prefix), "{body}");
    assert_eq!(
        kv.get("/secrets/new-secret?api-version=7.5").json()["value"],
        "second"
    );
    let old = kv.get(&format!("/secrets/new-secret/{first}?api-version=7.5"));
    assert_eq!(old.json()["value"], "first");
    let (items, _) = kv.list_all("/secrets/new-secret/versions?api-version=7.5");
    assert_eq!(items.len(), 2);
    let (all, _) = kv.list_all("/secrets?api-version=7.5");
    assert_eq!(all.len(), 33);

    // A disabled new version: written, listed as disabled, not readable.
    let resp = kv.write(
        "PUT",
        "/secrets/new-secret?api-version=7.5",
        Some(r#"{"value":"third","attributes":{"enabled":false}}"#),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["attributes"]["enabled"], false);
    assert_kv_error(
        &kv.get("/secrets/new-secret?api-version=7.5"),
        403,
        "Forbidden",
    );

    // An empty value is a value.
    let resp = kv.write(
        "PUT",
        "/secrets/empty?api-version=7.5",
        Some(r#"{"value":""}"#),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(kv.get("/secrets/empty?api-version=7.5").json()["value"], "");
}

#[test]
fn set_refuses_bad_bodies_with_the_service_codes() {
    let kv = Kv::start(EmulatorConfig::default());
    let put = |body: &str| kv.write("PUT", "/secrets/x?api-version=7.5", Some(body));
    for bad in [
        "not json",
        "[1]",
        "{}",
        r#"{"value":null}"#,
        r#"{"value":1}"#,
        r#"{"value":"v","tags":{"a":1}}"#,
        r#"{"value":"v","tags":[]}"#,
        r#"{"value":"v","contentType":3}"#,
        r#"{"value":"v","attributes":{"enabled":"yes"}}"#,
        r#"{"value":"v","attributes":{"exp":"2030-01-01"}}"#,
    ] {
        assert_kv_error(&put(bad), 400, "BadParameter");
    }
    let tags: Vec<String> = (0..16).map(|i| format!("\"t{i}\":\"v\"")).collect();
    let body = assert_kv_error(
        &put(&format!(
            "{{\"value\":\"v\",\"tags\":{{{}}}}}",
            tags.join(",")
        )),
        400,
        "BadParameter",
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("15"));
    let big = "x".repeat(25 * 1024 + 1);
    assert_kv_error(
        &put(&format!("{{\"value\":\"{big}\"}}")),
        400,
        "BadParameter",
    );
    let huge = "x".repeat(300 * 1024);
    assert_kv_error(
        &put(&format!("{{\"value\":\"{huge}\"}}")),
        413,
        "RequestEntityTooLarge",
    );
    assert_kv_error(
        &kv.write(
            "PUT",
            "/secrets/a_b?api-version=7.5",
            Some(r#"{"value":"v"}"#),
        ),
        400,
        "BadParameter",
    );
    // Nothing was written.
    assert_kv_error(&kv.get("/secrets/x?api-version=7.5"), 404, "SecretNotFound");
    // A version cannot be written or deleted by its id.
    let resp = kv.write(
        "PUT",
        "/secrets/mi-test/0123456789abcdef0123456789abcdef?api-version=7.5",
        Some(r#"{"value":"v"}"#),
    );
    assert_kv_error(&resp, 405, "BadParameter");
    let resp = kv.write(
        "DELETE",
        "/secrets/mi-test/0123456789abcdef0123456789abcdef?api-version=7.5",
        None,
    );
    assert_kv_error(&resp, 405, "BadParameter");
}

#[test]
fn writes_without_a_token_get_the_challenge_first() {
    let kv = Kv::start(EmulatorConfig::default());
    // What the SDKs send first: the request without a token (and without its body).
    let resp = kv.send("PUT", "/secrets/x?api-version=7.5", None, None);
    assert_kv_error(&resp, 401, "Unauthorized");
    assert!(resp.header("www-authenticate").is_some());
    let resp = kv.send("PUT", "/secrets/x?api-version=7.5", None, Some("not json"));
    assert_kv_error(&resp, 401, "Unauthorized");
    let resp = kv.send("DELETE", "/secrets/mi-test?api-version=7.5", None, None);
    assert_kv_error(&resp, 401, "Unauthorized");
    assert_eq!(kv.get("/secrets/mi-test?api-version=7.5").status, 200);
}

#[test]
fn a_reader_may_not_write_or_delete() {
    let kv = Kv::start(EmulatorConfig::default());
    // The user-assigned identity is Key Vault Secrets User: it reads, and no more.
    let uami = kv.token(VAULT, &format!("client_id={UAMI_CLIENT_ID}"));
    let resp = kv.send(
        "PUT",
        "/secrets/mi-test?api-version=7.5",
        Some(&uami),
        Some(r#"{"value":"v"}"#),
    );
    let body = assert_kv_error(&resp, 403, "Forbidden");
    assert_eq!(body["error"]["innererror"]["code"], "ForbiddenByRbac");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'"),
        "{message}"
    );
    assert!(
        message.contains(&format!("oid={UAMI_OBJECT_ID}")),
        "{message}"
    );
    let resp = kv.send(
        "DELETE",
        "/secrets/mi-test?api-version=7.5",
        Some(&uami),
        None,
    );
    let body = assert_kv_error(&resp, 403, "Forbidden");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Action: 'Microsoft.KeyVault/vaults/secrets/delete'"));
    // Checked before existence, so names cannot be probed.
    let resp = kv.send("DELETE", "/secrets/nope?api-version=7.5", Some(&uami), None);
    assert_kv_error(&resp, 403, "Forbidden");
    let resp = kv.send(
        "DELETE",
        "/deletedsecrets/nope?api-version=7.5",
        Some(&uami),
        None,
    );
    assert_kv_error(&resp, 403, "Forbidden");
    // Nothing changed.
    assert_eq!(
        kv.get("/secrets/mi-test?api-version=7.5").json()["value"],
        "Hello from Key Vault"
    );
}

#[test]
fn delete_is_soft_and_the_name_stays_taken_until_recovered_or_purged() {
    let kv = Kv::start(EmulatorConfig::default());
    let current = kv.get("/secrets/mi-test?api-version=7.5").json();
    let before = now_secs();
    let resp = kv.write("DELETE", "/secrets/mi-test?api-version=7.5", None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let text = resp.text();
    assert!(text.starts_with("{\"recoveryId\":"), "{text}");
    let body = resp.json();
    assert!(body.get("value").is_none(), "{body}");
    assert_eq!(
        body["recoveryId"],
        format!("{}/deletedsecrets/mi-test", kv.emu.keyvault_url())
    );
    assert_eq!(body["id"], current["id"]);
    assert_eq!(body["contentType"], "text/plain");
    assert_eq!(body["tags"]["purpose"], "azmi-tests");
    let deleted = body["deletedDate"].as_u64().unwrap();
    assert!(deleted >= before && deleted <= now_secs());
    assert_eq!(body["scheduledPurgeDate"], deleted + 90 * 86_400);
    assert_eq!(body["attributes"]["recoveryLevel"], "Recoverable+Purgeable");

    // Gone from the secrets, in the deleted store.
    assert_kv_error(
        &kv.get("/secrets/mi-test?api-version=7.5"),
        404,
        "SecretNotFound",
    );
    assert_kv_error(
        &kv.get("/secrets/mi-test/versions?api-version=7.5"),
        404,
        "SecretNotFound",
    );
    let (all, _) = kv.list_all("/secrets?api-version=7.5");
    assert_eq!(all.len(), 31);
    let resp = kv.get("/deletedsecrets/mi-test?api-version=7.5");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json(), body);
    let resp = kv.get("/deletedsecrets?api-version=7.5");
    assert_eq!(resp.status, 200, "{}", resp.text());
    let list = resp.json();
    assert_eq!(list["value"].as_array().unwrap().len(), 1, "{list}");
    let item = &list["value"][0];
    // Listed ids have no version, as in the service's listing.
    assert_eq!(
        item["id"],
        format!("{}/secrets/mi-test", kv.emu.keyvault_url())
    );
    assert_eq!(item["recoveryId"], body["recoveryId"]);
    assert!(list["nextLink"].is_null());

    // Its name cannot be reused, deleted again, or found in the deleted store under another.
    let resp = kv.write(
        "PUT",
        "/secrets/MI-TEST?api-version=7.5",
        Some(r#"{"value":"v"}"#),
    );
    let conflict = assert_kv_error(&resp, 409, "Conflict");
    assert_eq!(
        conflict["error"]["message"],
        "Secret mi-test is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged."
    );
    assert_eq!(
        conflict["error"]["innererror"]["code"],
        "ObjectIsDeletedButRecoverable"
    );
    assert_kv_error(
        &kv.write("DELETE", "/secrets/mi-test?api-version=7.5", None),
        404,
        "SecretNotFound",
    );
    let missing = assert_kv_error(
        &kv.get("/deletedsecrets/paging-secret-01?api-version=7.5"),
        404,
        "SecretNotFound",
    );
    assert_eq!(
        missing["error"]["message"],
        "Deleted Secret not found: paging-secret-01"
    );

    // Recovered with every version.
    let resp = kv.write(
        "POST",
        "/deletedsecrets/mi-test/recover?api-version=7.5",
        None,
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let recovered = resp.json();
    assert!(recovered.get("value").is_none(), "{recovered}");
    assert_eq!(recovered["id"], current["id"]);
    assert_eq!(
        kv.get("/secrets/mi-test?api-version=7.5").json()["value"],
        "Hello from Key Vault"
    );
    let (versions, _) = kv.list_all("/secrets/mi-test/versions?api-version=7.5");
    assert_eq!(versions.len(), 2);
    assert_kv_error(
        &kv.get("/deletedsecrets/mi-test?api-version=7.5"),
        404,
        "SecretNotFound",
    );

    // Deleted and purged: the name is free, and a new secret starts with one version.
    assert_eq!(
        kv.write("DELETE", "/secrets/mi-test?api-version=7.5", None)
            .status,
        200
    );
    let resp = kv.write("DELETE", "/deletedsecrets/mi-test?api-version=7.5", None);
    assert_eq!(resp.status, 204, "{}", resp.text());
    assert!(resp.body.is_empty());
    assert!(resp.header("content-type").is_none());
    assert_kv_error(
        &kv.write("DELETE", "/deletedsecrets/mi-test?api-version=7.5", None),
        404,
        "SecretNotFound",
    );
    let resp = kv.write(
        "PUT",
        "/secrets/mi-test?api-version=7.5",
        Some(r#"{"value":"new"}"#),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let (versions, _) = kv.list_all("/secrets/mi-test/versions?api-version=7.5");
    assert_eq!(versions.len(), 1);
}
