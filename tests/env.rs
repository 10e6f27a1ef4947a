//! The endpoint comes from the environment like the Azure SDKs read it, and no proxy is ever
//! used for it. One test, because it changes the process environment.

use azmi::identity::endpoint_from_env;
use azmi::{Azmi, ErrorCode, IdentityId, ManagedIdentity};
use azmi_emulator::{Emulator, EmulatorConfig};

#[tokio::test]
async fn endpoint_from_the_environment_and_never_through_a_proxy() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let set = |k: &str, v: Option<&str>| match v {
        // SAFETY: this test binary has a single test, so no other thread reads the environment.
        Some(v) => unsafe { std::env::set_var(k, v) },
        None => unsafe { std::env::remove_var(k) },
    };
    set("AZMI_IMDS_ENDPOINT", None);
    set("AZURE_POD_IDENTITY_AUTHORITY_HOST", None);
    assert_eq!(
        endpoint_from_env().unwrap(),
        "http://169.254.169.254/metadata/identity/oauth2/token"
    );

    set(
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        Some(&format!("{}/", emu.base_url())),
    );
    assert_eq!(endpoint_from_env().unwrap(), emu.token_url());

    set("AZMI_IMDS_ENDPOINT", Some(&emu.token_url()));
    set(
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        Some("http://127.0.0.1:9"),
    );
    assert_eq!(
        endpoint_from_env().unwrap(),
        emu.token_url(),
        "azmi's own variable wins"
    );

    // A proxy in the environment is ignored: IMDS traffic must never go through one.
    set("HTTP_PROXY", Some("http://127.0.0.1:9"));
    set("http_proxy", Some("http://127.0.0.1:9"));
    set("ALL_PROXY", Some("http://127.0.0.1:9"));
    let azmi = Azmi::new().unwrap();
    let mi = ManagedIdentity::new(IdentityId::SystemAssigned).unwrap();
    azmi.get_token(&mi, "https://management.azure.com/", false)
        .await
        .unwrap();
    assert_eq!(emu.counters().token_requests, 1);

    set("AZMI_IMDS_ENDPOINT", Some("not a url"));
    let e = ManagedIdentity::new(IdentityId::SystemAssigned).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("not a URL"), "{e}");
}
