//! Resource Manager against azmi-emulator over HTTPS: resource groups with nextLink paging,
//! generic requests, long-running operations (a group deletion and an account creation, waited
//! for; the protocol's corners are in tests/arm_lro.rs), service errors with their codes,
//! throttling, and SAS tokens from
//! listServiceSas / listAccountSas, whose signatures are checked here independently with the
//! account key; invalid SAS requests are refused before anything is sent.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use azmi::arm::RESOURCE_GROUP_API_VERSION;
use azmi::{
    AccountSasRequest, Arm, Azmi, ErrorCode, IdentityId, ManagedIdentity, RetryPolicy,
    ServiceSasRequest, TokenOptions,
};
use azmi_emulator::{
    Emulator, EmulatorConfig, Fault, ResourceGroupConfig, AZURITE_ACCOUNT, AZURITE_KEY,
    DEFAULT_SUBSCRIPTION_ID as SUB,
};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;

const UAMI_CLIENT_ID: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";

struct Env {
    emu: Emulator,
    azmi: Azmi,
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
    Env { emu, azmi }
}

fn start() -> Env {
    start_with(EmulatorConfig::default())
}

impl Env {
    fn arm_as(&self, id: IdentityId) -> Arm {
        let mi = ManagedIdentity::with_endpoint(id, &self.emu.token_url())
            .unwrap()
            .with_options(TokenOptions {
                retry: quick(),
                ..TokenOptions::default()
            });
        Arm::with_endpoint(&self.azmi, Arc::new(mi), &self.emu.arm_url(), None).unwrap()
    }

    fn arm(&self) -> Arm {
        self.arm_as(IdentityId::SystemAssigned)
    }
}

#[tokio::test]
async fn gets_a_resource_group() {
    let env = start();
    let arm = env.arm();
    assert_eq!(arm.resource(), "https://management.azure.com/");
    let rg = arm.resource_group(SUB, "azmi-rg").await.unwrap();
    assert_eq!(rg.resource_group_name, "azmi-rg");
    assert_eq!(rg.location, "eastus");
    assert_eq!(rg.provisioning_state, "Succeeded");
    assert_eq!(rg.tags.get("environment").map(String::as_str), Some("test"));
    assert_eq!(
        rg.resource_id,
        format!("/subscriptions/{SUB}/resourceGroups/azmi-rg")
    );
}

fn many_groups() -> EmulatorConfig {
    EmulatorConfig {
        resource_groups: (1..=5)
            .map(|i| ResourceGroupConfig {
                name: format!("rg-{i}"),
                location: "westeurope".into(),
                tags: BTreeMap::new(),
            })
            .chain([ResourceGroupConfig {
                name: "azmi-rg".into(),
                location: "eastus".into(),
                tags: BTreeMap::new(),
            }])
            .collect(),
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn lists_resource_groups_across_pages() {
    let env = start_with(many_groups());
    let arm = env.arm();
    let mut names = Vec::new();
    let outcome = arm
        .resource_groups(SUB, |rg| {
            names.push(rg.resource_group_name);
            true
        })
        .await
        .unwrap();
    assert_eq!(names.len(), 6);
    assert_eq!(outcome.items, 6);
    assert!(names.contains(&"rg-5".to_owned()));
    assert_eq!(env.emu.service_requests().len(), 3, "pages of 2");

    // The generic GET follows nextLink too and returns every item.
    let all = arm
        .get_all(
            &format!("/subscriptions/{SUB}/resourcegroups"),
            Some(RESOURCE_GROUP_API_VERSION),
        )
        .await
        .unwrap();
    assert_eq!(all["value"].as_array().unwrap().len(), 6);
    assert!(all.get("nextLink").is_none());

    let mut seen = 0;
    let outcome = arm
        .list(
            &format!("/subscriptions/{SUB}/resourcegroups"),
            Some(RESOURCE_GROUP_API_VERSION),
            |_| {
                seen += 1;
                seen < 3
            },
        )
        .await
        .unwrap();
    assert!(outcome.stopped);
    assert_eq!(outcome.items, 3);
}

#[tokio::test]
async fn generic_requests_and_their_errors() {
    let env = start();
    let arm = env.arm();
    let sub = arm
        .request(
            "GET",
            &format!("/subscriptions/{SUB}"),
            Some("2022-12-01"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(sub["subscriptionId"], SUB);
    // A full URL on the endpoint works; one elsewhere never gets the token.
    let url = format!(
        "{}/subscriptions/{SUB}?api-version=2022-12-01",
        env.emu.arm_url()
    );
    arm.request("get", &url, None, None).await.unwrap();
    let e = arm
        .request(
            "GET",
            "https://evil.example/subscriptions",
            Some("2022-12-01"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsecureRequest);
    let e = arm
        .request("GET", "/subscriptions", None, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(arm
        .request("TRACE", "/subscriptions", Some("1"), None)
        .await
        .is_err());
    let before = env.emu.service_requests().len();
    assert_eq!(before, 2, "refused requests are not sent");

    let e = arm.resource_group(SUB, "no-such-rg").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert_eq!(e.service_code(), Some("ResourceGroupNotFound"));
    assert!(
        e.to_string()
            .contains("Resource group 'no-such-rg' could not be found"),
        "{e}"
    );
    assert_eq!(e.http_status(), Some(404));
}

fn container_sas() -> ServiceSasRequest {
    ServiceSasRequest {
        canonicalized_resource: format!("/blob/{AZURITE_ACCOUNT}/uploads"),
        signed_resource: "c".into(),
        signed_permission: "rcw".into(),
        signed_protocol: Some("https".into()),
        signed_expiry: "2099-01-01T00:00:00Z".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_reader_may_not_mint_a_sas() {
    let env = start();
    let arm = env.arm_as(IdentityId::ClientId(UAMI_CLIENT_ID.into()));
    // Reading is allowed…
    arm.resource_group(SUB, "azmi-rg").await.unwrap();
    // …the listServiceSas action is not.
    let e = arm
        .list_service_sas(SUB, "azmi-rg", AZURITE_ACCOUNT, &container_sas())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::PermissionDenied);
    assert_eq!(e.service_code(), Some("AuthorizationFailed"));
    let text = e.to_string();
    assert!(text.contains("does not have authorization"), "{text}");
    assert!(
        text.contains("listServiceSas of storage account 'devstoreaccount1'"),
        "{text}"
    );
}

/// The query fields of a SAS token, decoded.
fn fields(sas: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(sas.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn sign(string_to_sign: &str) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(AZURITE_KEY)
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn service_and_account_sas_are_signed_with_the_account_key() {
    let env = start();
    let arm = env.arm();
    let sas = arm
        .list_service_sas(SUB, "azmi-rg", AZURITE_ACCOUNT, &container_sas())
        .await
        .unwrap();
    let sas = sas.expose_secret();
    assert!(!sas.starts_with('?'));
    let f = fields(sas);
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    assert_eq!(get("sr"), "c");
    assert_eq!(get("sp"), "rcw");
    assert_eq!(get("spr"), "https");
    assert!(get("se").starts_with("2099-01-01T00:00:00"));
    let string_to_sign = [
        get("sp"),
        get("st"),
        get("se"),
        format!("/blob/{AZURITE_ACCOUNT}/uploads"),
        get("si"),
        get("sip"),
        get("spr"),
        get("sv"),
        get("rscc"),
        get("rscd"),
        get("rsce"),
        get("rscl"),
        get("rsct"),
    ]
    .join("\n");
    assert!(
        get("sig") == sign(&string_to_sign),
        "the service SAS signature verifies"
    );

    let account = AccountSasRequest {
        signed_services: "b".into(),
        signed_resource_types: "sco".into(),
        signed_permission: "rl".into(),
        signed_expiry: "2099-01-01T00:00:00Z".into(),
        ..Default::default()
    };
    let sas = arm
        .list_account_sas(SUB, "azmi-rg", AZURITE_ACCOUNT, &account)
        .await
        .unwrap();
    let f = fields(sas.expose_secret());
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    assert_eq!(get("ss"), "b");
    assert_eq!(get("srt"), "sco");
    let string_to_sign = [
        AZURITE_ACCOUNT.to_owned(),
        get("sp"),
        get("ss"),
        get("srt"),
        get("st"),
        get("se"),
        get("sip"),
        get("spr"),
        get("sv"),
        String::new(),
    ]
    .join("\n");
    assert!(
        get("sig") == sign(&string_to_sign),
        "the account SAS signature verifies"
    );
}

#[tokio::test]
async fn invalid_sas_requests_are_refused_before_any_request() {
    let env = start();
    let arm = env.arm();
    let mut wrong_order = container_sas();
    wrong_order.signed_permission = "wcr".into();
    let e = arm
        .list_service_sas(SUB, "azmi-rg", AZURITE_ACCOUNT, &wrong_order)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("give 'rcw'"), "{e}");
    let mut past = container_sas();
    past.signed_expiry = "2001-01-01T00:00:00Z".into();
    let e = arm
        .list_service_sas(SUB, "azmi-rg", AZURITE_ACCOUNT, &past)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not in the future"), "{e}");
    let mut kind = container_sas();
    kind.signed_resource = "q".into();
    assert!(arm
        .list_service_sas(SUB, "azmi-rg", AZURITE_ACCOUNT, &kind)
        .await
        .is_err());
    let e = arm
        .list_service_sas(SUB, "azmi-rg", "otheraccount", &container_sas())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("/blob/otheraccount/"), "{e}");
    let bad_account = AccountSasRequest {
        signed_services: "b".into(),
        signed_resource_types: "sco".into(),
        signed_permission: "lr".into(),
        signed_expiry: "2099-01-01T00:00:00Z".into(),
        ..Default::default()
    };
    assert!(arm
        .list_account_sas(SUB, "azmi-rg", AZURITE_ACCOUNT, &bad_account)
        .await
        .is_err());
    assert!(env.emu.service_requests().is_empty(), "nothing was sent");
    assert!(env.emu.requests().is_empty(), "no token was asked for");
}

#[tokio::test]
async fn throttling_is_retried_honouring_retry_after() {
    let env = start();
    let arm = env.arm();
    env.emu.set_service_faults(vec![
        Fault::Status {
            status: 429,
            retry_after: Some(0),
            count: 2,
        },
        Fault::Status {
            status: 500,
            retry_after: None,
            count: 1,
        },
    ]);
    arm.resource_group(SUB, "azmi-rg").await.unwrap();
    assert_eq!(env.emu.service_requests().len(), 4);
    // A minted SAS is retried too (it changes nothing).
    env.emu.set_service_faults(vec![Fault::Status {
        status: 503,
        retry_after: None,
        count: 1,
    }]);
    arm.list_service_sas(SUB, "azmi-rg", AZURITE_ACCOUNT, &container_sas())
        .await
        .unwrap();
    env.emu.set_service_faults(vec![Fault::Status {
        status: 429,
        retry_after: Some(0),
        count: 1000,
    }]);
    let e = arm
        .with_retry(RetryPolicy {
            budget: Duration::from_millis(200),
            ..quick()
        })
        .resource_group(SUB, "azmi-rg")
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Throttled);
    assert_eq!(e.service_code(), Some("SubscriptionRequestsThrottled"));
}

#[tokio::test]
async fn deleting_a_resource_group_waits_for_the_operation() {
    let env = start_with(EmulatorConfig {
        arm_operation_polls: 2,
        arm_retry_after_secs: 0,
        ..EmulatorConfig::default()
    });
    let arm = env.arm();
    let answer = arm
        .request(
            "DELETE",
            &format!("/subscriptions/{SUB}/resourcegroups/DevTest"),
            Some(RESOURCE_GROUP_API_VERSION),
            None,
        )
        .await
        .unwrap();
    assert_eq!(answer, serde_json::Value::Null);
    let calls: Vec<String> = env
        .emu
        .service_requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path.split('/').nth(3).unwrap_or("")))
        .collect();
    assert_eq!(
        calls,
        [
            "DELETE resourcegroups",
            "GET operationresults",
            "GET operationresults",
            "GET operationresults"
        ],
        "two 202s, then 200"
    );
    // The group is gone when the call returns.
    let e = arm.resource_group(SUB, "DevTest").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert_eq!(e.service_code(), Some("ResourceGroupNotFound"));
}

#[tokio::test]
async fn creating_a_storage_account_returns_it_provisioned() {
    let env = start_with(EmulatorConfig {
        arm_retry_after_secs: 0,
        ..EmulatorConfig::default()
    });
    let arm = env.arm();
    let path = format!(
        "/subscriptions/{SUB}/resourceGroups/azmi-rg/providers/Microsoft.Storage/storageAccounts/lroacct"
    );
    let body = serde_json::json!({
        "sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "eastus"
    });
    let account = arm
        .request(
            "PUT",
            &path,
            Some(azmi::arm::STORAGE_API_VERSION),
            Some(&body),
        )
        .await
        .unwrap();
    assert_eq!(account["name"], "lroacct");
    assert_eq!(account["properties"]["provisioningState"], "Succeeded");
    let polls = env
        .emu
        .service_requests()
        .iter()
        .filter(|r| r.path.contains("/asyncoperations/"))
        .count();
    assert_eq!(polls, 2, "one 202, then the account");
    // A reader may not create one: the PUT itself is refused, nothing is polled.
    let e = env
        .arm_as(IdentityId::ClientId(UAMI_CLIENT_ID.into()))
        .request(
            "PUT",
            &format!("{path}2"),
            Some(azmi::arm::STORAGE_API_VERSION),
            Some(&body),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::PermissionDenied);
}
