//! Sovereign clouds by name, against azmi-emulator playing each cloud (`--environment`): the
//! identity's environment picks Resource Manager's token resource for an endpoint azmi does not
//! know (the emulator accepts only its cloud's audience), what vault, storage and Data Lake
//! names stand for, and Resource Manager's endpoint; a URL given explicitly wins. And "which
//! identity am I?": the claims of the token.

use std::time::Duration;

use azmi::{
    AdlsProtocol, Arm, Azmi, AzureEnvironment, ErrorCode, IdentityId, ManagedIdentity, RetryPolicy,
    TokenOptions,
};
use azmi_emulator::{CloudEnvironment, Emulator, EmulatorConfig};

const CLOUDS: &[(AzureEnvironment, CloudEnvironment)] = &[
    (AzureEnvironment::AzureCloud, CloudEnvironment::AzureCloud),
    (
        AzureEnvironment::AzureUSGovernment,
        CloudEnvironment::AzureUSGovernment,
    ),
    (
        AzureEnvironment::AzureChinaCloud,
        CloudEnvironment::AzureChinaCloud,
    ),
];

fn emulator(cloud: CloudEnvironment) -> (Emulator, Azmi) {
    let mut config = EmulatorConfig::default();
    config.set_environment(cloud);
    let emu = Emulator::start(config).expect("emulator starts");
    let azmi = Azmi::new().unwrap();
    azmi.set_extra_ca(Some(&emu.ca_file())).unwrap();
    (emu, azmi)
}

fn identity(emu: &Emulator, environment: Option<AzureEnvironment>) -> ManagedIdentity {
    ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &emu.token_url())
        .unwrap()
        .with_options(TokenOptions {
            retry: RetryPolicy {
                budget: Duration::from_millis(500),
                initial_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(50),
            },
            ..TokenOptions::default()
        })
        .with_environment(environment)
}

#[tokio::test]
async fn each_cloud_is_reached_with_its_own_resources() {
    for &(environment, cloud) in CLOUDS {
        let (emu, azmi) = emulator(cloud);
        let mi = identity(&emu, Some(environment));
        assert_eq!(mi.environment().unwrap(), environment);

        // Resource Manager at a test endpoint: the token is for the identity's cloud, the only
        // audience this emulator accepts.
        let arm = Arm::with_endpoint(&azmi, mi.clone().into(), &emu.arm_url(), None).unwrap();
        assert_eq!(arm.resource(), environment.arm_resource());
        let group = arm
            .resource_group(azmi_emulator::DEFAULT_SUBSCRIPTION_ID, "azmi-rg")
            .await
            .unwrap_or_else(|e| panic!("{environment}: {e}"));
        assert_eq!(group.resource_group_name, "azmi-rg");

        // Key Vault at its URL: the vault's challenge names the cloud's resource.
        let kv = azmi.keyvault(&emu.keyvault_url(), &mi).unwrap();
        let secret = kv.get_secret("mi-test", None).await.unwrap();
        assert!(secret.expose_value() == "Hello from Key Vault");

        // The token says which identity it is: read, not verified.
        let token = azmi
            .get_token(&mi, environment.key_vault_resource(), false)
            .await
            .unwrap();
        let claims = token.token.claims();
        assert_eq!(
            claims.object_id.as_deref(),
            Some("5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002")
        );
        assert_eq!(
            claims.client_id.as_deref(),
            Some("5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0001")
        );
        assert_eq!(
            claims.tenant_id.as_deref(),
            Some(azmi_emulator::DEFAULT_TENANT_ID)
        );
        assert!(claims
            .identity_resource_id
            .as_deref()
            .is_some_and(|r| r.ends_with("/virtualMachines/azmi-vm")));

        // Another cloud's identity gets no token here: the emulator's Entra ID does not know
        // that cloud's resources, and says so.
        for &(other, _) in CLOUDS.iter().filter(|(e, _)| *e != environment) {
            let stranger = identity(&emu, Some(other));
            let arm = Arm::with_endpoint(&azmi, stranger.into(), &emu.arm_url(), None).unwrap();
            let e = arm
                .resource_group(azmi_emulator::DEFAULT_SUBSCRIPTION_ID, "azmi-rg")
                .await
                .unwrap_err();
            assert_eq!(
                e.code(),
                ErrorCode::InvalidResource,
                "{other} in {environment}: {e}"
            );
        }
    }
}

#[test]
fn names_stand_for_hosts_of_the_identitys_cloud_and_urls_win() {
    let azmi = Azmi::new().unwrap();
    let at = |environment| {
        ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, "http://127.0.0.1:1/token")
            .unwrap()
            .with_environment(Some(environment))
    };
    let gov = at(AzureEnvironment::AzureUSGovernment);
    let china = at(AzureEnvironment::AzureChinaCloud);
    let public = at(AzureEnvironment::AzureCloud);

    let vault =
        |mi: &ManagedIdentity, v: &str| azmi.keyvault(v, mi).unwrap().vault().uri().to_owned();
    assert_eq!(
        vault(&gov, "mi-lab-vault"),
        "https://mi-lab-vault.vault.usgovcloudapi.net"
    );
    assert_eq!(
        vault(&china, "mi-lab-vault"),
        "https://mi-lab-vault.vault.azure.cn"
    );
    assert_eq!(
        vault(&public, "mi-lab-vault"),
        "https://mi-lab-vault.vault.azure.net"
    );
    assert_eq!(
        vault(&gov, "https://x.vault.azure.net"),
        "https://x.vault.azure.net"
    );

    let blob =
        |mi: &ManagedIdentity, a: &str| azmi.blob(a, mi).unwrap().account().base_url().to_owned();
    assert_eq!(
        blob(&gov, "acct"),
        "https://acct.blob.core.usgovcloudapi.net"
    );
    assert_eq!(
        blob(&china, "acct"),
        "https://acct.blob.core.chinacloudapi.cn"
    );
    assert_eq!(
        blob(&china, "https://acct.blob.core.windows.net"),
        "https://acct.blob.core.windows.net"
    );

    // Data Lake Storage Gen1 names exist only in the public cloud.
    let e = azmi.adls("contoso", AdlsProtocol::Auto, &gov).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("dfs.core.usgovcloudapi.net"), "{e}");
    assert!(azmi.adls("contoso", AdlsProtocol::Auto, &public).is_ok());

    // Resource Manager: the cloud's endpoint and resource; a known endpoint keeps its own.
    let arm = Arm::of_cloud(&azmi, china.clone().into()).unwrap();
    assert_eq!(arm.endpoint(), "https://management.chinacloudapi.cn");
    assert_eq!(arm.resource(), "https://management.chinacloudapi.cn/");
    let arm =
        Arm::with_endpoint(&azmi, china.into(), "https://management.azure.com", None).unwrap();
    assert_eq!(arm.resource(), "https://management.azure.com/");
}
