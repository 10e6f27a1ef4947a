//! Sovereign clouds through the C ABI, against azmi-emulator playing each cloud:
//! `azmi_set_environment` (process-wide) and `azmi_identity_set_environment` choose Resource
//! Manager's token resource at a test endpoint (the emulator accepts only its cloud's), names
//! are refused as they should be, and a token's claims say which identity it is
//! (`azmi_token_object_id`, …). One test: the settings are process-wide.

use std::ffi::{CStr, CString};
use std::ptr;

use azmi::ffi::*;
use azmi_emulator::{CloudEnvironment, Emulator, EmulatorConfig};

const SUB: &str = azmi_emulator::DEFAULT_SUBSCRIPTION_ID;

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// Reads and frees an error; its status name and message.
unsafe fn take_error(err: *mut azmi_error) -> String {
    if err.is_null() {
        return String::new();
    }
    // SAFETY: an error from azmi, freed once.
    unsafe {
        let text = CStr::from_ptr(azmi_error_message(err))
            .to_string_lossy()
            .into_owned();
        azmi_error_free(err);
        text
    }
}

/// `GET` of the resource group `azmi-rg` at the endpoint set, with `identity`.
unsafe fn read_group(identity: *const azmi_identity) -> (azmi_status, String) {
    let path = c(&format!("/subscriptions/{SUB}/resourcegroups/azmi-rg"));
    let (get, api) = (c("GET"), c("2021-04-01"));
    let mut json = ptr::null_mut();
    let mut err = ptr::null_mut();
    // SAFETY: valid strings and out-pointers.
    unsafe {
        let status = azmi_arm_request(
            get.as_ptr(),
            path.as_ptr(),
            api.as_ptr(),
            ptr::null(),
            identity,
            ptr::null(),
            &mut json,
            &mut err,
        );
        azmi_string_free(json);
        (status, take_error(err))
    }
}

#[test]
fn clouds_by_name_through_the_c_abi() {
    let clouds = [
        ("AzureCloud", CloudEnvironment::AzureCloud),
        ("AzureUSGovernment", CloudEnvironment::AzureUSGovernment),
        ("azurechinacloud", CloudEnvironment::AzureChinaCloud),
    ];
    let emulators: Vec<Emulator> = clouds
        .iter()
        .map(|(_, cloud)| {
            let mut config = EmulatorConfig::default();
            config.set_environment(*cloud);
            Emulator::start(config).unwrap()
        })
        .collect();
    // One CA file trusting every emulator (the setting is process-wide).
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("cas.pem");
    let pems: Vec<String> = emulators.iter().map(Emulator::ca_pem).collect();
    std::fs::write(&bundle, pems.join("\n")).unwrap();
    let bundle = c(bundle.to_str().unwrap());

    // SAFETY: valid strings, out-pointers and objects from this library, each freed once.
    unsafe {
        assert_eq!(
            azmi_set_ca_file(bundle.as_ptr(), ptr::null_mut()),
            azmi_status::AZMI_OK
        );

        // Names are checked; a bad one changes nothing.
        let mut err = ptr::null_mut();
        let mars = c("Mars");
        assert_eq!(
            azmi_set_environment(mars.as_ptr(), &mut err),
            azmi_status::AZMI_INVALID_ARGUMENT
        );
        assert!(take_error(err).contains("AzureUSGovernment"));

        for ((name, _), emu) in clouds.iter().zip(&emulators) {
            let arm = c(&emu.arm_url());
            assert_eq!(
                azmi_set_arm_endpoint(arm.as_ptr(), ptr::null_mut()),
                azmi_status::AZMI_OK
            );
            let mut id = ptr::null_mut();
            assert_eq!(
                azmi_identity_new(
                    ptr::null(),
                    ptr::null(),
                    ptr::null(),
                    &mut id,
                    ptr::null_mut()
                ),
                azmi_status::AZMI_OK
            );
            let url = c(&emu.token_url());
            assert_eq!(
                azmi_identity_set_endpoint(id, url.as_ptr(), ptr::null_mut()),
                azmi_status::AZMI_OK
            );
            assert_eq!(
                CStr::from_ptr(azmi_identity_environment(id)).to_bytes(),
                b""
            );

            // The process's environment: the emulator's cloud works, the public one does not
            // (unless this is the public cloud).
            let env = c(name);
            assert_eq!(
                azmi_set_environment(env.as_ptr(), ptr::null_mut()),
                azmi_status::AZMI_OK
            );
            let (status, message) = read_group(id);
            assert_eq!(status, azmi_status::AZMI_OK, "{name}: {message}");
            assert_eq!(
                azmi_set_environment(ptr::null(), ptr::null_mut()),
                azmi_status::AZMI_OK
            );
            if *name != "AzureCloud" {
                let (status, message) = read_group(id);
                assert_eq!(
                    status,
                    azmi_status::AZMI_INVALID_RESOURCE,
                    "{name}: {message}"
                );
                assert!(message.contains("AADSTS50001"), "{message}");
            }

            // The identity's own environment, which the endpoint change keeps.
            assert_eq!(
                azmi_identity_set_environment(id, env.as_ptr(), ptr::null_mut()),
                azmi_status::AZMI_OK
            );
            assert_eq!(
                azmi_identity_set_endpoint(id, url.as_ptr(), ptr::null_mut()),
                azmi_status::AZMI_OK
            );
            let canonical = CStr::from_ptr(azmi_identity_environment(id))
                .to_str()
                .unwrap();
            assert!(canonical.eq_ignore_ascii_case(name), "{canonical}");
            let (status, message) = read_group(id);
            assert_eq!(status, azmi_status::AZMI_OK, "{name}: {message}");
            let mut err = ptr::null_mut();
            assert_eq!(
                azmi_identity_set_environment(id, mars.as_ptr(), &mut err),
                azmi_status::AZMI_INVALID_ARGUMENT
            );
            take_error(err);
            assert_eq!(
                CStr::from_ptr(azmi_identity_environment(id))
                    .to_str()
                    .unwrap(),
                canonical
            );

            // A Data Lake Gen1 name exists only in the public cloud.
            let mut adls = ptr::null_mut();
            let mut err = ptr::null_mut();
            let account = c("contoso");
            let status = azmi_adls_new(account.as_ptr(), AZMI_ADLS_AUTO, id, &mut adls, &mut err);
            let message = take_error(err);
            if *name == "AzureCloud" {
                assert_eq!(status, azmi_status::AZMI_OK, "{message}");
            } else {
                assert_eq!(status, azmi_status::AZMI_INVALID_ARGUMENT);
                assert!(message.contains("never had Gen1"), "{message}");
            }
            azmi_adls_free(adls);

            // Which identity am I? The claims of a token, read and not verified.
            let mut token = ptr::null_mut();
            let storage = c("https://storage.azure.com/");
            assert_eq!(
                azmi_get_token(
                    storage.as_ptr(),
                    id,
                    0,
                    ptr::null(),
                    &mut token,
                    ptr::null_mut()
                ),
                azmi_status::AZMI_OK
            );
            let read = |p: *const std::ffi::c_char| CStr::from_ptr(p).to_str().unwrap().to_owned();
            assert_eq!(
                read(azmi_token_object_id(token)),
                "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002"
            );
            assert_eq!(
                read(azmi_token_client_id(token)),
                "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0001"
            );
            assert_eq!(
                read(azmi_token_tenant_id(token)),
                azmi_emulator::DEFAULT_TENANT_ID
            );
            assert!(
                read(azmi_token_identity_resource_id(token)).ends_with("/virtualMachines/azmi-vm")
            );
            azmi_token_free(token);
            azmi_identity_free(id);
        }
        assert_eq!(
            CStr::from_ptr(azmi_token_tenant_id(ptr::null())).to_bytes(),
            b""
        );
        assert_eq!(
            CStr::from_ptr(azmi_identity_environment(ptr::null())).to_bytes(),
            b""
        );
        assert_eq!(
            azmi_set_arm_endpoint(ptr::null(), ptr::null_mut()),
            azmi_status::AZMI_OK
        );
    }
}
