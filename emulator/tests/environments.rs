//! `--environment`: each cloud's resources at the token endpoint, Key Vault's challenge and
//! audience, Resource Manager's audiences, and the instance metadata's `azEnvironment`.

mod common;

use azmi_emulator::{CloudEnvironment, Emulator, EmulatorConfig};
use common::https::{trusting, TlsConn};
use common::*;

/// (cloud, its Resource Manager resource, its Key Vault resource, its login host, IMDS name).
const CLOUDS: &[(CloudEnvironment, &str, &str, &str, &str)] = &[
    (
        CloudEnvironment::AzureCloud,
        "https://management.azure.com/",
        "https://vault.azure.net",
        "https://login.windows.net",
        "AzurePublicCloud",
    ),
    (
        CloudEnvironment::AzureUSGovernment,
        "https://management.usgovcloudapi.net/",
        "https://vault.usgovcloudapi.net",
        "https://login.microsoftonline.us",
        "AzureUSGovernmentCloud",
    ),
    (
        CloudEnvironment::AzureChinaCloud,
        "https://management.chinacloudapi.cn/",
        "https://vault.azure.cn",
        "https://login.chinacloudapi.cn",
        "AzureChinaCloud",
    ),
];

fn start(environment: CloudEnvironment) -> (Emulator, std::sync::Arc<rustls::ClientConfig>) {
    let mut config = EmulatorConfig::default();
    config.set_environment(environment);
    let emu = Emulator::start(config).expect("start emulator");
    let tls = trusting(&emu.ca_pem());
    (emu, tls)
}

fn https_get(
    tls: &std::sync::Arc<rustls::ClientConfig>,
    port: u16,
    target: &str,
    token: Option<&str>,
) -> HttpResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    TlsConn::open(tls, port, "127.0.0.1")
        .expect("TLS")
        .request("GET", target, &headers, None)
        .expect("request")
}

#[test]
fn every_cloud_serves_its_own_resources_and_audiences() {
    for &(environment, arm, vault, login, imds_name) in CLOUDS {
        let (emu, tls) = start(environment);
        let name = environment.name();

        // Key Vault's challenge names the cloud's resource and authority.
        let resp = https_get(
            &tls,
            emu.keyvault_port(),
            "/secrets/mi-test?api-version=7.5",
            None,
        );
        assert_eq!(resp.status, 401, "{name}");
        assert_eq!(
            resp.header("www-authenticate"),
            Some(
                format!("Bearer authorization=\"{login}/{TENANT}\", resource=\"{vault}\"").as_str()
            ),
            "{name}"
        );

        // Tokens for the cloud's resources are issued and accepted.
        let kv = token(emu.port(), &query(vault, ""));
        assert_eq!(kv.status, 200, "{name}: {}", kv.text());
        let kv = field(&kv.json(), "access_token").to_string();
        let resp = https_get(
            &tls,
            emu.keyvault_port(),
            "/secrets/mi-test?api-version=7.5",
            Some(&kv),
        );
        assert_eq!(resp.status, 200, "{name}: {}", resp.text());
        let rm = token(emu.port(), &query(arm, ""));
        assert_eq!(rm.status, 200, "{name}: {}", rm.text());
        let rm = field(&rm.json(), "access_token").to_string();
        let target = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/azmi-rg?api-version=2021-04-01";
        let resp = https_get(&tls, emu.arm_port(), target, Some(&rm));
        assert_eq!(resp.status, 200, "{name}: {}", resp.text());
        // Storage's resource is the same in every cloud.
        assert_eq!(
            token(emu.port(), &query("https://storage.azure.com/", "")).status,
            200
        );

        // Key Vault refuses another service's token with the cloud's expected audience.
        let resp = https_get(
            &tls,
            emu.keyvault_port(),
            "/secrets/mi-test?api-version=7.5",
            Some(&rm),
        );
        assert_eq!(resp.status, 401, "{name}");
        let message = resp.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains(&format!("Expected {vault},")), "{message}");
        let resp = https_get(&tls, emu.arm_port(), target, Some(&kv));
        assert_eq!(resp.status, 401, "{name}");
        assert!(resp.text().contains(arm), "{}", resp.text());

        // The instance metadata says where the VM runs.
        let resp = request(
            emu.port(),
            "GET",
            "/metadata/instance/compute?api-version=2021-02-01",
            &[("Metadata", "true")],
            None,
        )
        .expect("request");
        assert_eq!(resp.json()["azEnvironment"], imds_name, "{name}");

        // Other clouds' resources are unknown to this cloud's Entra ID.
        for &(other, other_arm, other_vault, _, _) in CLOUDS {
            if other == environment {
                continue;
            }
            for resource in [other_arm, other_vault] {
                let resp = token(emu.port(), &query(resource, ""));
                assert_eq!(resp.status, 400, "{name} knows {resource}");
                assert_eq!(resp.json()["error"], "invalid_resource");
            }
        }
    }
}

#[test]
fn configured_resources_are_kept_and_environments_have_names() {
    let mut config = EmulatorConfig {
        resources: vec!["https://custom".into()],
        ..Default::default()
    };
    config.set_environment(CloudEnvironment::AzureChinaCloud);
    assert_eq!(config.resources, ["https://custom"]);
    let mut config = EmulatorConfig::default();
    config
        .merge_json(r#"{"environment":"AzureUSGovernment"}"#)
        .unwrap();
    assert_eq!(config.environment, CloudEnvironment::AzureUSGovernment);
    assert!(config
        .resources
        .contains(&"https://vault.usgovcloudapi.net".to_string()));
    assert!(EmulatorConfig::default()
        .merge_json(r#"{"environment":"Mars"}"#)
        .is_err());
}
