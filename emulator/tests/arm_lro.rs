//! Resource Manager's long-running operations: a resource group DELETE and a storage account
//! PUT answer 202 with `Location` and `Retry-After`; the `Location` answers 202 for the
//! configured number of polls, then 200, and only then is the change done (or, unpolled, once
//! the operation's time has run out, as Azure finishes it on its own). Also the knobs
//! (config file keys, `POST /admin/config`), RBAC of the write actions, and the PUT's checks.

mod common;

use azmi_emulator::{Emulator, EmulatorConfig};
use common::https::{trusting, TlsConn};
use common::*;
use serde_json::{json, Value};

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

    fn token(&self, extra: &str) -> String {
        let resp = token(self.emu.port(), &query(ARM, extra));
        assert_eq!(resp.status, 200, "{}", resp.text());
        field(&resp.json(), "access_token").to_string()
    }

    /// As the system-assigned identity (Owner of the subscription), or with `extra` token
    /// query parameters (`client_id=…` for azmi-uami, a Reader).
    fn send_as(
        &self,
        extra: &str,
        method: &str,
        target: &str,
        body: Option<&Value>,
    ) -> HttpResponse {
        let auth = format!("Bearer {}", self.token(extra));
        let body = body.map(Value::to_string);
        TlsConn::open(&self.config, self.emu.arm_port(), "127.0.0.1")
            .expect("TLS")
            .request(
                method,
                target,
                &[
                    ("Content-Type", "application/json"),
                    ("Authorization", auth.as_str()),
                ],
                body.as_deref().map(str::as_bytes),
            )
            .expect("request")
    }

    fn send(&self, method: &str, target: &str, body: Option<&Value>) -> HttpResponse {
        self.send_as("", method, target, body)
    }

    /// The path and query of a monitor URL, which must be on this emulator's ARM endpoint.
    fn monitor(&self, resp: &HttpResponse) -> String {
        let location = resp.header("location").expect("a Location header");
        location
            .strip_prefix(&self.emu.arm_url())
            .unwrap_or_else(|| panic!("{location} is not on {}", self.emu.arm_url()))
            .to_string()
    }
}

fn group(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourcegroups/{name}?{API}")
}

fn account(group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{name}?{STORAGE_API}"
    )
}

fn new_account() -> Value {
    json!({
        "sku": {"name": "Standard_LRS"},
        "kind": "StorageV2",
        "location": "westeurope",
        "tags": {"purpose": "lro"},
        "properties": {"minimumTlsVersion": "TLS1_2"}
    })
}

fn assert_arm_error(resp: &HttpResponse, status: u16, code: &str) -> String {
    assert_eq!(resp.status, status, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    body["error"]["message"].as_str().unwrap().to_string()
}

fn assert_accepted(resp: &HttpResponse, retry_after: &str) {
    assert_eq!(resp.status, 202, "{}", resp.text());
    assert!(resp.body.is_empty(), "{}", resp.text());
    assert_eq!(resp.header("retry-after"), Some(retry_after));
    assert_eq!(resp.header("content-type"), None);
}

#[test]
fn deleting_a_group_is_accepted_and_done_only_after_the_polls() {
    let arm = Arm::start(EmulatorConfig::default());
    let resp = arm.send("DELETE", &group("DevTest"), None);
    assert_accepted(&resp, "1");
    let monitor = arm.monitor(&resp);
    assert!(
        monitor.starts_with(&format!("/subscriptions/{SUB}/operationresults/")),
        "{monitor}"
    );
    assert!(monitor.ends_with(&format!("?{API}")), "{monitor}");
    assert!(arm
        .emu
        .service_requests()
        .iter()
        .any(|r| r.method == "DELETE"));

    // Meanwhile the group is there, deleting, as real Resource Manager shows it.
    let rg = arm.send("GET", &group("DevTest"), None);
    assert_eq!(rg.status, 200);
    assert_eq!(rg.json()["properties"]["provisioningState"], "Deleting");
    let list = arm.send(
        "GET",
        &format!("/subscriptions/{SUB}/resourcegroups?{API}&$top=10"),
        None,
    );
    assert!(list.json()["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "DevTest" && g["properties"]["provisioningState"] == "Deleting"));

    // One poll answers 202 (the default), pointing at itself…
    let poll = arm.send("GET", &monitor, None);
    assert_accepted(&poll, "1");
    assert_eq!(arm.monitor(&poll), monitor);
    assert_eq!(arm.send("GET", &group("DevTest"), None).status, 200);
    // …then 200, and the group is gone.
    let poll = arm.send("GET", &monitor, None);
    assert_eq!(poll.status, 200, "{}", poll.text());
    assert!(poll.body.is_empty());
    assert_eq!(poll.header("location"), None);
    let message = assert_arm_error(
        &arm.send("GET", &group("DevTest"), None),
        404,
        "ResourceGroupNotFound",
    );
    assert_eq!(message, "Resource group 'DevTest' could not be found.");
    assert_eq!(
        arm.send("GET", &monitor, None).status,
        200,
        "done stays done"
    );
    assert_arm_error(
        &arm.send("DELETE", &group("DevTest"), None),
        404,
        "ResourceGroupNotFound",
    );
    assert_eq!(arm.send("GET", &group("azmi-rg"), None).status, 200);
}

/// Azure finishes an operation whether or not anyone polls: a client that stopped waiting
/// (Ctrl+C) later finds the group gone. Here five polls would answer 202 with `Retry-After: 0`,
/// so the operation is due after the emulator's least running time, one second.
#[test]
fn a_deletion_nobody_polls_finishes_on_its_own() {
    let arm = Arm::start(EmulatorConfig {
        arm_operation_polls: 5,
        arm_retry_after_secs: 0,
        ..EmulatorConfig::default()
    });
    let resp = arm.send("DELETE", &group("DevTest"), None);
    assert_accepted(&resp, "0");
    let monitor = arm.monitor(&resp);
    let rg = arm.send("GET", &group("DevTest"), None);
    assert_eq!(rg.json()["properties"]["provisioningState"], "Deleting");

    std::thread::sleep(std::time::Duration::from_millis(1300));

    assert_arm_error(
        &arm.send("GET", &group("DevTest"), None),
        404,
        "ResourceGroupNotFound",
    );
    let list = arm.send(
        "GET",
        &format!("/subscriptions/{SUB}/resourcegroups?{API}&$top=10"),
        None,
    );
    let names: Vec<String> = list.json()["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["azmi-rg"]);
    // Its monitor, polled only now, reports it done at once.
    let poll = arm.send("GET", &monitor, None);
    assert_eq!(poll.status, 200, "{}", poll.text());
    let polls = arm
        .emu
        .service_requests()
        .iter()
        .filter(|r| r.path.contains("/operationresults/"))
        .count();
    assert_eq!(polls, 1, "finished with no poll before this one");
}

#[test]
fn a_deleted_group_takes_its_accounts_and_takes_no_new_ones_meanwhile() {
    let arm = Arm::start(EmulatorConfig {
        arm_operation_polls: 0,
        ..EmulatorConfig::default()
    });
    let resp = arm.send("DELETE", &group("azmi-rg"), None);
    assert_accepted(&resp, "1");
    let monitor = arm.monitor(&resp);
    let refused = arm.send("PUT", &account("azmi-rg", "lateacct"), Some(&new_account()));
    assert_arm_error(&refused, 409, "ResourceGroupBeingDeleted");
    assert_eq!(arm.send("GET", &monitor, None).status, 200);
    let resp = arm.send(
        "GET",
        &format!("/subscriptions/{SUB}/providers/Microsoft.Storage/storageAccounts?{STORAGE_API}"),
        None,
    );
    assert_eq!(resp.json()["value"], json!([]), "devstoreaccount1 went too");
}

#[test]
fn polls_and_retry_after_come_from_the_config_and_the_admin_endpoint() {
    let mut config = EmulatorConfig::default();
    config
        .merge_json(r#"{"armOperationPolls":0,"armRetryAfterSeconds":7}"#)
        .unwrap();
    let arm = Arm::start(config);
    let resp = arm.send("DELETE", &group("DevTest"), None);
    assert_accepted(&resp, "7");
    assert_eq!(arm.send("GET", &arm.monitor(&resp), None).status, 200);

    let settings = admin_post(
        arm.emu.port(),
        "/admin/config",
        r#"{"arm_operation_polls":2,"arm_retry_after_seconds":0}"#,
    );
    assert_eq!(settings.status, 200, "{}", settings.text());
    assert_eq!(settings.json()["arm_operation_polls"], 2);
    assert_eq!(settings.json()["arm_retry_after_seconds"], 0);
    let resp = arm.send("PUT", &account("azmi-rg", "knobs"), Some(&new_account()));
    assert_accepted(&resp, "0");
    let monitor = arm.monitor(&resp);
    let statuses: Vec<u16> = (0..3)
        .map(|_| arm.send("GET", &monitor, None).status)
        .collect();
    assert_eq!(statuses, [202, 202, 200]);

    // The Rust API sets the same knobs.
    arm.emu.set_arm_operation_polls(0);
    arm.emu.set_arm_retry_after(3);
    let resp = arm.send("DELETE", &group("azmi-rg"), None);
    assert_accepted(&resp, "3");
    assert_eq!(arm.send("GET", &arm.monitor(&resp), None).status, 200);
}

#[test]
fn creating_an_account_is_accepted_and_polled_to_the_account() {
    let arm = Arm::start(EmulatorConfig::default());
    let resp = arm.send("PUT", &account("azmi-rg", "newacct"), Some(&new_account()));
    assert_accepted(&resp, "1");
    let monitor = arm.monitor(&resp);
    assert!(
        monitor.starts_with(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.Storage/locations/westeurope/asyncoperations/"
        )),
        "{monitor}"
    );
    assert!(
        monitor.ends_with(&format!("?monitor=true&{STORAGE_API}")),
        "{monitor}"
    );
    let creating = arm.send("GET", &account("azmi-rg", "newacct"), None);
    assert_eq!(
        creating.json()["properties"]["provisioningState"],
        "Creating"
    );

    assert_accepted(&arm.send("GET", &monitor, None), "1");
    let done = arm.send("GET", &monitor, None);
    assert_eq!(done.status, 200, "{}", done.text());
    let body = done.json();
    assert_eq!(body["name"], "newacct");
    assert_eq!(body["location"], "westeurope");
    assert_eq!(body["tags"]["purpose"], "lro");
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        body["id"],
        format!("/subscriptions/{SUB}/resourceGroups/azmi-rg/providers/Microsoft.Storage/storageAccounts/newacct")
    );
    let read = arm.send("GET", &account("azmi-rg", "newacct"), None);
    assert_eq!(read.json()["properties"]["provisioningState"], "Succeeded");
    let keys = arm.send(
        "POST",
        &format!(
            "/subscriptions/{SUB}/resourceGroups/azmi-rg/providers/Microsoft.Storage/storageAccounts/newacct/listKeys?{STORAGE_API}"
        ),
        None,
    );
    assert_eq!(keys.status, 200, "{}", keys.text());

    // A PUT of an existing account is an update, answered at once; its name is global.
    let again = arm.send("PUT", &account("azmi-rg", "newacct"), Some(&new_account()));
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["name"], "newacct");
    let taken = arm.send("PUT", &account("DevTest", "newacct"), Some(&new_account()));
    assert_arm_error(&taken, 409, "StorageAccountAlreadyTaken");
}

#[test]
fn account_puts_are_checked_like_the_service() {
    let arm = Arm::start(EmulatorConfig::default());
    let put = |name: &str, body: Value| arm.send("PUT", &account("azmi-rg", name), Some(&body));
    let message = assert_arm_error(&put("Bad_Name", new_account()), 400, "AccountNameInvalid");
    assert!(
        message.starts_with("Bad_Name is not a valid storage account name."),
        "{message}"
    );
    let mut body = new_account();
    body.as_object_mut().unwrap().remove("location");
    assert_arm_error(&put("acct2", body), 400, "LocationRequired");
    let mut body = new_account();
    body.as_object_mut().unwrap().remove("sku");
    let message = assert_arm_error(&put("acct2", body), 400, "InvalidRequestContent");
    assert!(message.contains("'sku'"), "{message}");
    assert_arm_error(&put("acct2", json!([1])), 400, "InvalidRequestContent");
    let auth = format!("Bearer {}", arm.token(""));
    let raw = TlsConn::open(&arm.config, arm.emu.arm_port(), "127.0.0.1")
        .unwrap()
        .request(
            "PUT",
            &account("azmi-rg", "acct2"),
            &[("Authorization", auth.as_str())],
            Some(b"{not json"),
        )
        .unwrap();
    assert_arm_error(&raw, 400, "InvalidRequestContent");
    assert_arm_error(
        &arm.send(
            "PUT",
            &account("NoSuchGroup", "acct2"),
            Some(&new_account()),
        ),
        404,
        "ResourceGroupNotFound",
    );
    // Nothing was created by the refused requests.
    assert_arm_error(
        &arm.send("GET", &account("azmi-rg", "acct2"), None),
        404,
        "ResourceNotFound",
    );
}

#[test]
fn write_actions_need_a_role_that_grants_them() {
    let arm = Arm::start(EmulatorConfig::default());
    let reader = format!("client_id={UAMI_CLIENT_ID}");
    let message = assert_arm_error(
        &arm.send_as(&reader, "DELETE", &group("DevTest"), None),
        403,
        "AuthorizationFailed",
    );
    assert!(
        message.contains("'Microsoft.Resources/subscriptions/resourcegroups/delete'"),
        "{message}"
    );
    let message = assert_arm_error(
        &arm.send_as(
            &reader,
            "PUT",
            &account("azmi-rg", "readeracct"),
            Some(&new_account()),
        ),
        403,
        "AuthorizationFailed",
    );
    assert!(
        message.contains("'Microsoft.Storage/storageAccounts/write'"),
        "{message}"
    );
    assert_eq!(
        arm.send("GET", &group("DevTest"), None).json()["properties"]["provisioningState"],
        "Succeeded"
    );

    // Monitors: unknown ids, and one kind of operation at the other kind's URL, are 404.
    let unknown = format!("/subscriptions/{SUB}/operationresults/nope?{API}");
    assert_arm_error(&arm.send("GET", &unknown, None), 404, "OperationNotFound");
    let resp = arm.send("DELETE", &group("DevTest"), None);
    let id = arm.monitor(&resp);
    let id = id.split('/').nth(4).unwrap().split('?').next().unwrap();
    let elsewhere = format!(
        "/subscriptions/{SUB}/providers/Microsoft.Storage/locations/eastus/asyncoperations/{id}?{STORAGE_API}"
    );
    assert_arm_error(&arm.send("GET", &elsewhere, None), 404, "OperationNotFound");
    // Groups are deleted, not created or posted to, here.
    assert_arm_error(
        &arm.send("POST", &group("azmi-rg"), None),
        405,
        "MethodNotAllowed",
    );
    assert_arm_error(
        &arm.send("DELETE", &account("azmi-rg", "devstoreaccount1"), None),
        405,
        "MethodNotAllowed",
    );
}
