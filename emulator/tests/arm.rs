//! Resource Manager over HTTPS: subscription, resource groups (paged), storage accounts, the
//! SAS actions (signatures checked against the documented string-to-sign, computed here
//! independently), role-based 403s, 401 codes, api-version errors and throttling faults.

mod common;

use azmi_emulator::{
    Emulator, EmulatorConfig, Fault, ResourceGroupConfig, Role, RoleAssignment, AZURITE_KEY,
};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::https::{trusting, TlsConn};
use common::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const API: &str = "api-version=2021-04-01";
const STORAGE_API: &str = "api-version=2023-05-01";

struct Arm {
    emu: Emulator,
    config: std::sync::Arc<rustls::ClientConfig>,
}

impl Arm {
    fn start(config: EmulatorConfig) -> Arm {
        let emu = Emulator::start(config).expect("start emulator");
        let config = trusting(&emu.ca_pem());
        Arm { emu, config }
    }

    fn token(&self, resource: &str, extra: &str) -> String {
        let resp = token(self.emu.port(), &query(resource, extra));
        assert_eq!(resp.status, 200, "{}", resp.text());
        field(&resp.json(), "access_token").to_string()
    }

    fn raw(
        &self,
        method: &str,
        target: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> HttpResponse {
        let auth = bearer.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        TlsConn::open(&self.config, self.emu.arm_port(), "127.0.0.1")
            .expect("TLS")
            .request(method, target, &headers, body.map(str::as_bytes))
            .expect("request")
    }

    /// As the system-assigned identity (Owner of the subscription).
    fn get(&self, target: &str) -> HttpResponse {
        let t = self.token(ARM, "");
        self.raw("GET", target, Some(&t), None)
    }

    fn post(&self, target: &str, body: &Value) -> HttpResponse {
        let t = self.token(ARM, "");
        self.raw("POST", target, Some(&t), Some(&body.to_string()))
    }

    fn uami(&self) -> String {
        self.token(ARM, &format!("client_id={UAMI_CLIENT_ID}"))
    }
}

fn assert_arm_error(resp: &HttpResponse, status: u16, code: &str) -> String {
    assert_eq!(resp.status, status, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    body["error"]["message"].as_str().unwrap().to_string()
}

fn account_path(action: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/azmi-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1/{action}?{STORAGE_API}"
    )
}

/// Independent HMAC-SHA256 over the documented string-to-sign.
fn expected_sig(string_to_sign: &str) -> String {
    let key = STANDARD.decode(AZURITE_KEY).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// `k=v&…` with values percent-decoded, in order.
fn parse_token(token: &str) -> Vec<(String, String)> {
    assert!(!token.starts_with('?'), "{token}");
    token
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            let v = percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .unwrap()
                .into_owned();
            (k.to_string(), v)
        })
        .collect()
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

#[test]
fn resource_group_has_the_real_body_and_paths_are_case_insensitive() {
    let arm = Arm::start(EmulatorConfig::default());
    let resp = arm.get(&format!(
        "/subscriptions/{SUB}/resourcegroups/azmi-rg?{API}"
    ));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert!(resp
        .header("x-ms-ratelimit-remaining-subscription-reads")
        .is_some());
    assert!(resp.header("x-ms-correlation-request-id").is_some());
    let body = resp.json();
    assert_eq!(
        body,
        json!({
            "id": format!("/subscriptions/{SUB}/resourceGroups/azmi-rg"),
            "name": "azmi-rg",
            "type": "Microsoft.Resources/resourceGroups",
            "location": "eastus",
            "tags": {"environment": "test", "owner": "azmi"},
            "properties": {"provisioningState": "Succeeded"}
        })
    );
    assert!(resp.text().starts_with("{\"id\":"));
    let again = arm.get(&format!(
        "/SUBSCRIPTIONS/{SUB}/ResourceGroups/AZMI-RG?{API}"
    ));
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["name"], "azmi-rg");
    let dev = arm.get(&format!(
        "/subscriptions/{SUB}/resourceGroups/DevTest?{API}"
    ));
    assert_eq!(dev.json()["tags"]["environment"], "dev");
}

#[test]
fn subscription_and_subscription_list() {
    let arm = Arm::start(EmulatorConfig::default());
    let resp = arm.get(&format!("/subscriptions/{SUB}?api-version=2022-12-01"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["subscriptionId"], SUB);
    assert_eq!(body["tenantId"], TENANT);
    assert_eq!(body["state"], "Enabled");
    assert_eq!(body["id"], format!("/subscriptions/{SUB}"));
    let list = arm.get("/subscriptions?api-version=2022-12-01").json();
    assert_eq!(list["value"][0]["subscriptionId"], SUB);
    assert_eq!(list["count"]["value"], 1);

    let other = "11111111-1111-1111-1111-111111111111";
    assert_arm_error(
        &arm.get(&format!("/subscriptions/{other}?{API}")),
        404,
        "SubscriptionNotFound",
    );
    assert_arm_error(
        &arm.get(&format!(
            "/subscriptions/{other}/resourcegroups/azmi-rg?{API}"
        )),
        404,
        "SubscriptionNotFound",
    );
    assert_arm_error(
        &arm.get(&format!("/subscriptions/not-a-guid?{API}")),
        400,
        "InvalidSubscriptionId",
    );
}

#[test]
fn resource_group_list_pages_with_next_link() {
    let mut config = EmulatorConfig::default();
    for name in ["rg-a", "rg-b", "rg-c"] {
        config.resource_groups.push(ResourceGroupConfig {
            name: name.into(),
            location: "westeurope".into(),
            tags: Default::default(),
        });
    }
    let arm = Arm::start(config);
    let base = arm.emu.arm_url();
    let mut target = format!("/subscriptions/{SUB}/resourcegroups?{API}");
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let resp = arm.get(&target);
        assert_eq!(resp.status, 200, "{}", resp.text());
        let body = resp.json();
        pages += 1;
        let values = body["value"].as_array().unwrap();
        assert!(values.len() <= 2);
        names.extend(
            values
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_string()),
        );
        match body.get("nextLink").and_then(Value::as_str) {
            None => break,
            Some(link) => {
                assert!(link.starts_with(&format!("{base}/subscriptions/{SUB}/resourcegroups?")));
                assert!(link.contains("api-version=2021-04-01"), "{link}");
                assert!(link.contains("%24skiptoken="), "{link}");
                target = link.strip_prefix(&base).unwrap().to_string();
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["azmi-rg", "DevTest", "rg-a", "rg-b", "rg-c"]);
    assert_arm_error(
        &arm.get(&format!(
            "/subscriptions/{SUB}/resourcegroups?{API}&%24skiptoken=%21"
        )),
        400,
        "InvalidSkipToken",
    );
}

#[test]
fn missing_resource_group_and_account() {
    let arm = Arm::start(EmulatorConfig::default());
    let message = assert_arm_error(
        &arm.get(&format!("/subscriptions/{SUB}/resourcegroups/nope?{API}")),
        404,
        "ResourceGroupNotFound",
    );
    assert_eq!(message, "Resource group 'nope' could not be found.");
    assert_arm_error(
        &arm.get(&format!(
            "/subscriptions/{SUB}/resourceGroups/azmi-rg/providers/Microsoft.Storage/storageAccounts/nope?{STORAGE_API}"
        )),
        404,
        "ResourceNotFound",
    );
    assert_arm_error(
        &arm.get(&format!(
            "/subscriptions/{SUB}/resourceGroups/nope/providers/Microsoft.Storage/storageAccounts/devstoreaccount1?{STORAGE_API}"
        )),
        404,
        "ResourceGroupNotFound",
    );
}

/// ResourceGroups_CheckExistence (`resourceGroups.checkExistence` in @azure/arm-resources):
/// `HEAD` answers 204 or 404 with no body, after the read's checks.
#[test]
fn resource_group_head_checks_existence() {
    let arm = Arm::start(EmulatorConfig::default());
    let t = arm.token(ARM, "");
    let head = |target: &str, bearer: Option<&str>| arm.raw("HEAD", target, bearer, None);
    let resp = head(
        &format!("/subscriptions/{SUB}/resourcegroups/azmi-rg?{API}"),
        Some(&t),
    );
    assert_eq!(resp.status, 204);
    assert!(resp.body.is_empty());
    // Names are case-insensitive, as for GET.
    let resp = head(
        &format!("/subscriptions/{SUB}/resourceGroups/AZMI-RG?{API}"),
        Some(&t),
    );
    assert_eq!(resp.status, 204);
    let resp = head(
        &format!("/subscriptions/{SUB}/resourcegroups/nope?{API}"),
        Some(&t),
    );
    assert_eq!(resp.status, 404);
    assert!(resp.body.is_empty());
    // No token: 401, as every other request.
    let resp = head(
        &format!("/subscriptions/{SUB}/resourcegroups/azmi-rg?{API}"),
        None,
    );
    assert_eq!(resp.status, 401);
    // A caller without read on the group is refused before existence is told.
    let config = EmulatorConfig {
        role_assignments: vec![],
        ..EmulatorConfig::default()
    };
    let arm = Arm::start(config);
    let t = arm.token(ARM, "");
    for group in ["azmi-rg", "nope"] {
        let resp = arm.raw(
            "HEAD",
            &format!("/subscriptions/{SUB}/resourcegroups/{group}?{API}"),
            Some(&t),
            None,
        );
        assert_eq!(resp.status, 403, "{group}");
    }
}

#[test]
fn storage_accounts_are_listed_and_read() {
    let arm = Arm::start(EmulatorConfig::default());
    let resp = arm.get(&format!(
        "/subscriptions/{SUB}/resourceGroups/azmi-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1?{STORAGE_API}"
    ));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["name"], "devstoreaccount1");
    assert_eq!(body["type"], "Microsoft.Storage/storageAccounts");
    assert_eq!(
        body["properties"]["primaryEndpoints"]["blob"],
        "http://127.0.0.1:10000/devstoreaccount1/"
    );
    for path in [
        format!("/subscriptions/{SUB}/providers/Microsoft.Storage/storageAccounts?{STORAGE_API}"),
        format!("/subscriptions/{SUB}/resourceGroups/azmi-rg/providers/Microsoft.Storage/storageAccounts?{STORAGE_API}"),
    ] {
        let list = arm.get(&path);
        assert_eq!(list.status, 200, "{}", list.text());
        assert_eq!(list.json()["value"][0]["name"], "devstoreaccount1");
    }
    let keys = arm.post(&account_path("listKeys"), &json!({}));
    assert_eq!(keys.status, 200, "{}", keys.text());
    assert_eq!(keys.json()["keys"][0]["value"], AZURITE_KEY);
    assert_eq!(keys.json()["keys"][1]["keyName"], "key2");
}

#[test]
fn list_service_sas_signs_the_documented_string() {
    let arm = Arm::start(EmulatorConfig::default());
    let resp = arm.post(
        &account_path("listServiceSas"),
        &json!({
            "canonicalizedResource": "/blob/devstoreaccount1/uploads",
            "signedResource": "c",
            "signedPermission": "rcw",
            "signedProtocol": "https,http",
            "signedExpiry": "2030-01-01T00:00:00Z",
            "signedStart": "2024-01-01T00:00:00Z",
            "rsct": "text/plain"
        }),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp
        .header("x-ms-ratelimit-remaining-subscription-writes")
        .is_some());
    let token = resp.json()["serviceSasToken"].as_str().unwrap().to_string();
    let pairs = parse_token(&token);
    assert_eq!(pairs[0], ("sv".into(), "2015-04-05".into()));
    assert_eq!(get(&pairs, "sr"), "c");
    assert_eq!(get(&pairs, "sp"), "rcw");
    assert_eq!(get(&pairs, "se"), "2030-01-01T00:00:00.0000000Z");
    assert_eq!(get(&pairs, "st"), "2024-01-01T00:00:00.0000000Z");
    assert_eq!(get(&pairs, "spr"), "https,http");
    assert_eq!(get(&pairs, "rsct"), "text/plain");
    assert!(
        token.contains("se=2030-01-01T00%3A00%3A00.0000000Z"),
        "{token}"
    );
    // sv 2015-04-05: sp, st, se, canonicalizedResource, si, sip, spr, sv, rscc, rscd, rsce, rscl, rsct
    let string_to_sign = [
        "rcw",
        "2024-01-01T00:00:00.0000000Z",
        "2030-01-01T00:00:00.0000000Z",
        "/blob/devstoreaccount1/uploads",
        "",
        "",
        "https,http",
        "2015-04-05",
        "",
        "",
        "",
        "",
        "text/plain",
    ]
    .join("\n");
    assert_eq!(get(&pairs, "sig"), expected_sig(&string_to_sign));
    assert_eq!(pairs.last().unwrap().0, "sig");

    // A blob SAS, permissions given out of order come back in the service's order.
    let resp = arm.post(
        &account_path("listServiceSas"),
        &json!({
            "canonicalizedResource": "/blob/devstoreaccount1/uploads/dir/a b.txt",
            "signedResource": "b",
            "signedPermission": "wr",
            "signedExpiry": "2030-01-01T00:00:00.5Z",
            "signedIp": "127.0.0.1",
            "signedIdentifier": "policy1"
        }),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let pairs = parse_token(resp.json()["serviceSasToken"].as_str().unwrap());
    assert_eq!(get(&pairs, "sp"), "rw");
    let string_to_sign = [
        "rw",
        "",
        "2030-01-01T00:00:00.5000000Z",
        "/blob/devstoreaccount1/uploads/dir/a b.txt",
        "policy1",
        "127.0.0.1",
        "",
        "2015-04-05",
        "",
        "",
        "",
        "",
        "",
    ]
    .join("\n");
    assert_eq!(get(&pairs, "sig"), expected_sig(&string_to_sign));
}

#[test]
fn list_account_sas_signs_the_documented_string() {
    let arm = Arm::start(EmulatorConfig::default());
    let resp = arm.post(
        &account_path("listAccountSas"),
        &json!({
            "signedServices": "b",
            "signedResourceTypes": "sco",
            "signedPermission": "rwdlac",
            "signedProtocol": "https",
            "signedExpiry": "2030-06-01T12:00:00Z"
        }),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let pairs = parse_token(resp.json()["accountSasToken"].as_str().unwrap());
    assert_eq!(get(&pairs, "sv"), "2015-04-05");
    assert_eq!(get(&pairs, "ss"), "b");
    assert_eq!(get(&pairs, "srt"), "sco");
    assert_eq!(get(&pairs, "sp"), "rwdlac");
    // account, sp, ss, srt, st, se, sip, spr, sv, and a final empty field
    let string_to_sign = [
        "devstoreaccount1",
        "rwdlac",
        "b",
        "sco",
        "",
        "2030-06-01T12:00:00.0000000Z",
        "",
        "https",
        "2015-04-05",
        "",
    ]
    .join("\n");
    assert_eq!(get(&pairs, "sig"), expected_sig(&string_to_sign));

    // keyToSign key2 signs with the second key (from listKeys).
    let keys = arm.post(&account_path("listKeys"), &json!({})).json();
    let key2 = keys["keys"][1]["value"].as_str().unwrap().to_string();
    let resp = arm.post(
        &account_path("listAccountSas"),
        &json!({"signedServices": "bf", "signedResourceTypes": "o", "signedPermission": "r",
                "signedExpiry": "2030-06-01T12:00:00Z", "keyToSign": "key2"}),
    );
    let pairs = parse_token(resp.json()["accountSasToken"].as_str().unwrap());
    let sts = "devstoreaccount1\nr\nbf\no\n\n2030-06-01T12:00:00.0000000Z\n\n\n2015-04-05\n";
    assert_eq!(
        get(&pairs, "sig"),
        azmi_emulator::sas_signature(&key2, sts).unwrap()
    );
    assert_ne!(get(&pairs, "sig"), expected_sig(sts));
}

#[test]
fn sas_inputs_are_validated_like_the_service() {
    let arm = Arm::start(EmulatorConfig::default());
    let service = |body: Value| arm.post(&account_path("listServiceSas"), &body);
    let base = json!({"canonicalizedResource": "/blob/devstoreaccount1/c",
                      "signedResource": "c", "signedPermission": "r",
                      "signedExpiry": "2030-01-01T00:00:00Z"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    for (body, param) in [
        (with("signedPermission", json!("rx")), "signedPermission"),
        (with("signedExpiry", json!("next year")), "signedExpiry"),
        (without("signedExpiry"), "signedExpiry"),
        (without("canonicalizedResource"), "canonicalizedResource"),
        (
            with("canonicalizedResource", json!("/blob/otheraccount/c")),
            "canonicalizedResource",
        ),
        (
            with(
                "canonicalizedResource",
                json!("/blob/devstoreaccount1/c/blob"),
            ),
            "canonicalizedResource",
        ),
        (with("signedResource", json!("x")), "signedResource"),
        (with("signedProtocol", json!("http")), "signedProtocol"),
        (with("signedIp", json!("not-an-ip")), "signedIp"),
        (with("keyToSign", json!("key3")), "keyToSign"),
    ] {
        let message = assert_arm_error(
            &service(body.clone()),
            400,
            "InvalidValuesForRequestParameters",
        );
        assert_eq!(
            message,
            format!("Values for request parameters are invalid: {param}."),
            "{body}"
        );
    }
    let t = arm.token(ARM, "");
    assert_arm_error(
        &arm.raw(
            "POST",
            &account_path("listServiceSas"),
            Some(&t),
            Some("{not json"),
        ),
        400,
        "InvalidRequestContent",
    );
    let account = |body: Value| arm.post(&account_path("listAccountSas"), &body);
    let message = assert_arm_error(
        &account(json!({"signedServices": "bx", "signedResourceTypes": "s",
                         "signedPermission": "r", "signedExpiry": "2030-01-01"})),
        400,
        "InvalidValuesForRequestParameters",
    );
    assert!(message.ends_with("signedServices."), "{message}");
    assert_arm_error(
        &account(
            json!({"signedServices": "b", "signedResourceTypes": "s", "signedPermission": "r"}),
        ),
        400,
        "InvalidValuesForRequestParameters",
    );
}

#[test]
fn roles_decide_and_403_names_the_caller() {
    let arm = Arm::start(EmulatorConfig::default());
    let uami = arm.uami();
    // Reader may read ...
    let resp = arm.raw(
        "GET",
        &format!("/subscriptions/{SUB}/resourcegroups/azmi-rg?{API}"),
        Some(&uami),
        None,
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    // ... but not sign SAS tokens.
    let resp = arm.raw(
        "POST",
        &account_path("listServiceSas"),
        Some(&uami),
        Some(r#"{"canonicalizedResource":"/blob/devstoreaccount1/c","signedResource":"c","signedPermission":"r","signedExpiry":"2030-01-01"}"#),
    );
    let message = assert_arm_error(&resp, 403, "AuthorizationFailed");
    assert_eq!(
        message,
        format!(
            "The client '{UAMI_CLIENT_ID}' with object id '{UAMI_OBJECT_ID}' does not have authorization to perform action 'Microsoft.Storage/storageAccounts/ListServiceSas/action' over scope '/subscriptions/{SUB}/resourceGroups/azmi-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1' or the scope is invalid. If access was recently granted, please refresh your credentials."
        )
    );
    let resp = arm.raw("POST", &account_path("listKeys"), Some(&uami), None);
    assert_arm_error(&resp, 403, "AuthorizationFailed");

    // Only a role on one resource group: that group is visible and listed, another is 403
    // (even a missing one: no probing), and the account's SAS needs Storage Account Contributor.
    let config = EmulatorConfig {
        role_assignments: vec![
        RoleAssignment {
            object_id: SYSTEM_OBJECT_ID.into(),
            scope: format!("/subscriptions/{SUB}/resourceGroups/DevTest"),
            role: Role::Reader,
        },
        RoleAssignment {
            object_id: SYSTEM_OBJECT_ID.into(),
            scope: format!(
                "/subscriptions/{SUB}/resourceGroups/azmi-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
            ),
            role: Role::StorageAccountContributor,
        },
    ],
        ..Default::default()
    };
    let arm = Arm::start(config);
    assert_eq!(
        arm.get(&format!(
            "/subscriptions/{SUB}/resourcegroups/devtest?{API}"
        ))
        .status,
        200
    );
    let message = assert_arm_error(
        &arm.get(&format!(
            "/subscriptions/{SUB}/resourcegroups/azmi-rg?{API}"
        )),
        403,
        "AuthorizationFailed",
    );
    assert!(
        message.contains(&format!(
            "The client '{SYSTEM_CLIENT_ID}' with object id '{SYSTEM_OBJECT_ID}'"
        )),
        "{message}"
    );
    assert!(message.contains("action 'Microsoft.Resources/subscriptions/resourcegroups/read' over scope '/subscriptions/"), "{message}");
    assert_arm_error(
        &arm.get(&format!("/subscriptions/{SUB}/resourcegroups/nope?{API}")),
        403,
        "AuthorizationFailed",
    );
    let list = arm.get(&format!("/subscriptions/{SUB}/resourcegroups?{API}"));
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(list.json()["value"].as_array().unwrap().len(), 1);
    let resp = arm.post(
        &account_path("listAccountSas"),
        &json!({"signedServices": "b", "signedResourceTypes": "o", "signedPermission": "r",
                "signedExpiry": "2030-01-01"}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());

    // No role at all: 403 on the list.
    let mut config = EmulatorConfig::default();
    config.role_assignments.clear();
    let arm = Arm::start(config);
    assert_arm_error(
        &arm.get(&format!("/subscriptions/{SUB}/resourcegroups?{API}")),
        403,
        "AuthorizationFailed",
    );
    assert_eq!(
        arm.get("/subscriptions?api-version=2022-12-01").json()["value"],
        json!([])
    );
}

#[test]
fn tokens_are_checked_with_arm_codes() {
    let arm = Arm::start(EmulatorConfig::default());
    let target = format!("/subscriptions/{SUB}/resourcegroups/azmi-rg?{API}");
    let resp = arm.raw("GET", &target, None, None);
    let message = assert_arm_error(&resp, 401, "AuthenticationFailed");
    assert_eq!(
        message,
        "Authentication failed. The 'Authorization' header is missing."
    );
    let challenge = resp.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with("Bearer authorization_uri=\"https://login.windows.net/\""),
        "{challenge}"
    );

    let vault = arm.token(VAULT, "");
    let message = assert_arm_error(
        &arm.raw("GET", &target, Some(&vault), None),
        401,
        "InvalidAuthenticationTokenAudience",
    );
    assert!(
        message.contains("wrong audience or resource 'https://vault.azure.net'"),
        "{message}"
    );

    // Both ARM resources are accepted.
    for resource in [
        ARM,
        "https://management.core.windows.net/",
        "https://management.azure.com",
    ] {
        let t = arm.token(resource, "");
        assert_eq!(
            arm.raw("GET", &target, Some(&t), None).status,
            200,
            "{resource}"
        );
    }

    arm.emu.set_token_lifetime(0);
    let expired = arm.token(ARM, "");
    arm.emu.set_token_lifetime(3600);
    let message = assert_arm_error(
        &arm.raw("GET", &target, Some(&expired), None),
        401,
        "ExpiredAuthenticationToken",
    );
    assert!(
        message.starts_with("The access token expiry UTC time '"),
        "{message}"
    );

    let good = arm.token(ARM, "");
    assert_arm_error(
        &arm.raw("GET", &target, Some(&format!("{good}x")), None),
        401,
        "InvalidAuthenticationToken",
    );
}

#[test]
fn api_version_errors() {
    let arm = Arm::start(EmulatorConfig::default());
    let path = format!("/subscriptions/{SUB}/resourcegroups/azmi-rg");
    let message = assert_arm_error(&arm.get(&path), 400, "MissingApiVersionParameter");
    assert_eq!(
        message,
        "The api-version query parameter (?api-version=) is required for all requests."
    );
    let message = assert_arm_error(
        &arm.get(&format!("{path}?api-version=2099-01-01")),
        400,
        "InvalidApiVersionParameter",
    );
    assert!(
        message
            .starts_with("The api-version '2099-01-01' is invalid. The supported versions are '"),
        "{message}"
    );
    assert_arm_error(
        &arm.get(&format!("{path}?api-version=latest")),
        400,
        "InvalidApiVersionParameter",
    );
    assert_arm_error(
        &arm.post(
            &account_path("listKeys").replace(STORAGE_API, "api-version=2099-01-01"),
            &json!({}),
        ),
        400,
        "NoRegisteredProviderFound",
    );
    // Every published stable version is served, the newest (what @azure/arm-storage sends by
    // default) included.
    for version in [
        "2025-06-01",
        "2025-08-01",
        "2026-04-01",
        "2026-06-01",
        "2026-09-01",
    ] {
        let resp = arm.post(
            &account_path("listKeys").replace(STORAGE_API, &format!("api-version={version}")),
            &json!({}),
        );
        assert_eq!(resp.status, 200, "{version}: {}", resp.text());
    }
    // The seed's version of the SAS tutorial works.
    assert_eq!(
        arm.post(
            &account_path("listKeys").replace(STORAGE_API, "api-version=2017-06-01"),
            &json!({})
        )
        .status,
        200
    );
}

#[test]
fn throttling_faults_carry_retry_after() {
    let arm = Arm::start(EmulatorConfig::default());
    arm.emu.set_service_faults(vec![Fault::Status {
        status: 429,
        retry_after: Some(7),
        count: 2,
    }]);
    let target = format!("/subscriptions/{SUB}/resourcegroups/azmi-rg?{API}");
    for _ in 0..2 {
        let resp = arm.get(&target);
        assert_arm_error(&resp, 429, "SubscriptionRequestsThrottled");
        assert_eq!(resp.header("retry-after"), Some("7"));
    }
    assert_eq!(arm.get(&target).status, 200);
}

#[test]
fn urls_are_separate_https_ports() {
    let arm = Arm::start(EmulatorConfig::default());
    let ports = [
        arm.emu.https_port(),
        arm.emu.keyvault_port(),
        arm.emu.arm_port(),
    ];
    assert!(ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2]);
    assert_eq!(arm.emu.arm_url(), format!("https://127.0.0.1:{}", ports[2]));
    assert_eq!(
        arm.emu.keyvault_url(),
        format!("https://127.0.0.1:{}", ports[1])
    );
}
