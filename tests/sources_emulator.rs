//! Every managed identity source against the real azmi-emulator (`EmulatorConfig::source`), the
//! way a host sets it up: the client detects the source from the variables the emulator gives
//! (`Emulator::environment()`, never the process environment), gets system- and (where the
//! source has them) user-assigned tokens, and meets each source's error paths: a wrong secret,
//! Arc key files outside the agent's folder or too large, a Service Fabric certificate with
//! another thumbprint, an expired federated assertion. Also the detection order with several
//! sources' variables set and the explicit override. Token text is never printed: only claims.

use std::path::{Path, PathBuf};
use std::time::Duration;

use azmi::{
    Azmi, ErrorCode, IdentityId, ManagedIdentity, RetryPolicy, Source, SourceEnv, TokenOptions,
};
use azmi_emulator::{Emulator, EmulatorConfig, IdentitySource};

const ARM: &str = "https://management.azure.com/";
const SYSTEM_OID: &str = "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002";
const UAMI_CLIENT_ID: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
const UAMI_OID: &str = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb";

fn start(source: IdentitySource) -> Emulator {
    Emulator::start(EmulatorConfig {
        source,
        ..EmulatorConfig::default()
    })
    .expect("emulator starts")
}

/// The emulator's variables as a host would set them, and nothing from this process.
fn env_of(emu: &Emulator) -> SourceEnv {
    let mut env = SourceEnv::empty().arc_agent_path(Path::new("/nonexistent/azcmagent"));
    for (name, value) in emu.environment() {
        env = env.set(&name, &value);
    }
    if let Some(dir) = emu.arc_tokens_dir() {
        env = env.arc_tokens_dir(&dir);
    }
    env
}

/// A client trusting the emulator's CA (workload identity's authority is HTTPS).
fn client(emu: &Emulator) -> Azmi {
    let azmi = Azmi::new().expect("client");
    azmi.set_extra_ca(Some(&emu.ca_file())).expect("CA file");
    azmi
}

/// Few, quick retries: error paths fail in milliseconds.
fn quick(mi: ManagedIdentity) -> ManagedIdentity {
    mi.with_options(TokenOptions {
        retry: RetryPolicy {
            budget: Duration::from_secs(2),
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
        ..TokenOptions::default()
    })
}

fn claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("JWT-shaped");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// A scratch folder of this test, removed first if a previous run left it.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "azmi-sources-emulator-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The system-assigned token of `source`, detected from the emulator's variables.
async fn system_token(source: IdentitySource, expected: Source) {
    let emu = start(source);
    let env = env_of(&emu);
    assert_eq!(env.detect(), expected, "{source:?}");
    let mi = ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap();
    assert_eq!(mi.source(), expected);
    let grant = client(&emu)
        .get_token(&mi, ARM, false)
        .await
        .unwrap_or_else(|e| {
            panic!("{source:?}: {e}");
        });
    assert_eq!(grant.token.source(), expected);
    assert_eq!(
        grant.token.resource(),
        ARM.trim_end_matches('/').to_owned() + "/"
    );
    let c = claims(grant.token.secret());
    // Entra ID's v2 endpoint (workload identity) writes `aud` as the scope named the resource,
    // `https://management.azure.com/.default` here; the managed identity endpoints echo it.
    let aud = if expected == Source::WorkloadIdentity {
        ARM.trim_end_matches('/')
    } else {
        ARM
    };
    assert_eq!(c["aud"], aud, "{source:?}");
    if expected != Source::WorkloadIdentity {
        assert_eq!(c["oid"], SYSTEM_OID, "{source:?}");
    } else {
        assert!(c["oid"].as_str().is_some_and(|o| !o.is_empty()), "{c}");
    }
    assert_eq!(emu.counters().tokens_issued, 1, "{source:?}");
}

#[tokio::test]
async fn app_service_system_assigned() {
    system_token(IdentitySource::AppService, Source::AppService).await;
}

#[tokio::test]
async fn azure_ml_system_assigned() {
    system_token(IdentitySource::AzureMl, Source::AzureMl).await;
}

#[tokio::test]
async fn cloud_shell_system_assigned() {
    system_token(IdentitySource::CloudShell, Source::CloudShell).await;
}

#[tokio::test]
async fn arc_system_assigned() {
    system_token(IdentitySource::Arc, Source::Arc).await;
}

/// The folders of the Arc agent's tokens folder this test created, removed (when empty) on drop.
struct AgentTokensFolder(Vec<PathBuf>);

impl AgentTokensFolder {
    const PATH: &'static str = "/var/opt/azcmagent/tokens";

    fn create() -> AgentTokensFolder {
        let mut created = Vec::new();
        for folder in ["/var/opt", "/var/opt/azcmagent", Self::PATH] {
            let folder = Path::new(folder);
            if !folder.exists() {
                std::fs::create_dir(folder).unwrap_or_else(|e| {
                    panic!(
                        "cannot create {} ({e}): this test needs the Arc agent's own tokens \
                         folder; run the tests as root (CI does) or create it writable",
                        folder.display()
                    )
                });
                created.push(folder.to_owned());
            }
        }
        AgentTokensFolder(created)
    }
}

impl Drop for AgentTokensFolder {
    fn drop(&mut self) {
        for folder in self.0.iter().rev() {
            let _ = std::fs::remove_dir(folder); // only succeeds when empty
        }
    }
}

/// With no override, azmi takes Arc key files from the agent's own folder, as on a real Arc
/// machine: the emulator writes its key file there (`--arc-tokens-dir`).
#[tokio::test]
async fn arc_reads_the_key_file_from_the_agents_folder_by_default() {
    let _folder = AgentTokensFolder::create();
    let emu = Emulator::start(EmulatorConfig {
        source: IdentitySource::Arc,
        arc_tokens_dir: Some(PathBuf::from(AgentTokensFolder::PATH)),
        ..EmulatorConfig::default()
    })
    .expect("emulator starts");
    // The emulator's variables, and no tokens folder of the test's.
    let mut env = SourceEnv::empty().arc_agent_path(Path::new("/nonexistent/azcmagent"));
    for (name, value) in emu.environment() {
        env = env.set(&name, &value);
    }
    let mi = ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap();
    assert_eq!(mi.source(), Source::Arc);

    let grant = client(&emu).get_token(&mi, ARM, false).await.unwrap();
    assert_eq!(claims(grant.token.secret())["aud"], ARM);
    assert_eq!(emu.counters().tokens_issued, 1);
}

#[tokio::test]
async fn service_fabric_system_assigned() {
    system_token(IdentitySource::ServiceFabric, Source::ServiceFabric).await;
}

#[tokio::test]
async fn workload_identity_token() {
    system_token(IdentitySource::WorkloadIdentity, Source::WorkloadIdentity).await;
}

#[tokio::test]
async fn imds_system_assigned() {
    system_token(IdentitySource::Imds, Source::Imds).await;
}

/// User-assigned identities where the source has them: each selector reaches the emulator's
/// user-assigned identity.
#[tokio::test]
async fn user_assigned_where_the_source_allows() {
    for (source, expected) in [
        (IdentitySource::AppService, Source::AppService),
        (IdentitySource::AzureMl, Source::AzureMl),
        (IdentitySource::Imds, Source::Imds),
    ] {
        let emu = start(source);
        let env = env_of(&emu);
        let mi =
            ManagedIdentity::detect(IdentityId::ClientId(UAMI_CLIENT_ID.into()), &env).unwrap();
        let grant = client(&emu)
            .get_token(&mi, ARM, false)
            .await
            .unwrap_or_else(|e| panic!("{source:?}: {e}"));
        assert_eq!(grant.token.source(), expected);
        assert_eq!(claims(grant.token.secret())["oid"], UAMI_OID, "{source:?}");
    }
}

/// Cloud Shell and Arc have only one identity, and Service Fabric's comes from the application
/// manifest: a user-assigned one is refused before anything is sent.
#[tokio::test]
async fn cloud_shell_and_arc_refuse_user_assigned_before_sending() {
    for source in [
        IdentitySource::CloudShell,
        IdentitySource::Arc,
        IdentitySource::ServiceFabric,
    ] {
        let emu = start(source);
        let e = ManagedIdentity::detect(IdentityId::ClientId(UAMI_CLIENT_ID.into()), &env_of(&emu))
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{source:?}: {e}");
        assert_eq!(emu.counters().token_requests, 0, "{source:?}");
    }
}

/// A wrong secret header: the source refuses it and the message never shows the secret.
#[tokio::test]
async fn wrong_secret_header_is_refused() {
    for (source, variable) in [
        (IdentitySource::AppService, "IDENTITY_HEADER"),
        (IdentitySource::AzureMl, "MSI_SECRET"),
        (IdentitySource::ServiceFabric, "IDENTITY_HEADER"),
    ] {
        let emu = start(source);
        let wrong = "wrong-secret-7b1e";
        let env = env_of(&emu).set(variable, wrong);
        let mi = quick(ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap());
        let e = client(&emu).get_token(&mi, ARM, false).await.unwrap_err();
        if source == IdentitySource::ServiceFabric {
            // Service Fabric answers an unknown secret with 404 ManagedIdentityNotFound, which
            // the client passes on as the service's error.
            assert_eq!(e.code(), ErrorCode::ServiceError, "{e}");
            assert_eq!(e.http_status(), Some(404), "{e}");
            assert!(e.to_string().contains("ManagedIdentityNotFound"), "{e}");
        } else {
            assert_eq!(e.code(), ErrorCode::AuthenticationFailed, "{source:?}: {e}");
            assert_eq!(e.http_status(), Some(401), "{source:?}: {e}");
        }
        let m = e.to_string();
        assert!(
            !m.contains(wrong),
            "{source:?}: the secret is in the message"
        );
        assert_eq!(emu.counters().tokens_issued, 0, "{source:?}");
    }
}

/// Arc: the challenge names the emulator's key file; a client whose tokens folder is elsewhere
/// refuses to read it and never sends a key.
#[tokio::test]
async fn arc_key_file_outside_the_tokens_folder_is_refused() {
    let emu = start(IdentitySource::Arc);
    let elsewhere = scratch("arc-elsewhere");
    let env = env_of(&emu).arc_tokens_dir(&elsewhere);
    let mi = quick(ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap());
    let e = client(&emu).get_token(&mi, ARM, false).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsecureRequest, "{e}");
    let counters = emu.counters();
    assert_eq!(counters.tokens_issued, 0);
    // Only the challenge: no retry with a key.
    assert_eq!(counters.token_requests, 1);
    let _ = std::fs::remove_dir_all(elsewhere);
}

/// Arc: a key file larger than a key file can be is not read (the emulator's own file, grown).
#[tokio::test]
async fn arc_key_file_too_large_is_refused() {
    let emu = start(IdentitySource::Arc);
    let dir = emu.arc_tokens_dir().unwrap();
    let key = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "key"))
        .expect("the emulator's key file");
    std::fs::write(&key, "a".repeat(8192)).unwrap();
    let mi = quick(ManagedIdentity::detect(IdentityId::SystemAssigned, &env_of(&emu)).unwrap());
    let e = client(&emu).get_token(&mi, ARM, false).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsecureRequest, "{e}");
    assert!(e.to_string().contains("bytes"), "{e}");
    assert_eq!(emu.counters().token_requests, 1);
    assert_eq!(emu.counters().tokens_issued, 0);
}

/// Service Fabric: a thumbprint that is not the endpoint's certificate's ends the TLS handshake;
/// the secret is never sent (the emulator counts no token request).
#[tokio::test]
async fn service_fabric_thumbprint_mismatch_sends_nothing() {
    let emu = start(IdentitySource::ServiceFabric);
    let right = emu.service_fabric_thumbprint().unwrap();
    let wrong: String = right
        .chars()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .collect();
    let env = env_of(&emu).set("IDENTITY_SERVER_THUMBPRINT", &wrong);
    let mi = quick(ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap());
    let e = client(&emu).get_token(&mi, ARM, false).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsecureRequest, "{e}");
    assert_eq!(emu.counters().token_requests, 0);
}

/// Workload identity: an expired federated assertion gets Entra ID's AADSTS700024, passed on.
/// (`write_federated_token` takes only a future lifetime, so the test moves a fresh token's
/// times into the past; the emulator does not check signatures.)
#[tokio::test]
async fn workload_identity_expired_assertion() {
    use base64::Engine as _;
    let emu = start(IdentitySource::WorkloadIdentity);
    let dir = scratch("wi-expired");
    let file = dir.join("token");
    emu.write_federated_token(&file, 3600).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let parts: Vec<&str> = text.trim().split('.').collect();
    let mut c = claims(text.trim());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    c["iat"] = (now - 7200).into();
    c["nbf"] = (now - 7200).into();
    c["exp"] = (now - 3600).into();
    let payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
    std::fs::write(&file, format!("{}.{payload}.{}", parts[0], parts[2])).unwrap();

    let env = env_of(&emu).set("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap());
    let mi = quick(ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap());
    let e = client(&emu).get_token(&mi, ARM, false).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthenticationFailed, "{e}");
    assert!(e.to_string().contains("AADSTS700024"), "{e}");
    assert_eq!(emu.counters().tokens_issued, 0);
    let _ = std::fs::remove_dir_all(dir);
}

/// With several sources' variables set, detection follows the Azure SDKs' order, and the
/// explicit override reaches the source asked for.
#[tokio::test]
async fn detection_order_and_explicit_override() {
    let fabric = start(IdentitySource::ServiceFabric);
    let app = start(IdentitySource::AppService);
    let ml = start(IdentitySource::AzureMl);
    let shell = start(IdentitySource::CloudShell);
    let wi = start(IdentitySource::WorkloadIdentity);

    let mut env = env_of(&wi);
    for (name, value) in shell.environment() {
        env = env.set(&name, &value);
    }
    assert_eq!(
        env.detect(),
        Source::CloudShell,
        "Cloud Shell before workload identity"
    );
    for (name, value) in ml.environment() {
        env = env.set(&name, &value);
    }
    assert_eq!(env.detect(), Source::AzureMl, "Azure ML before Cloud Shell");
    for (name, value) in app.environment() {
        env = env.set(&name, &value);
    }
    assert_eq!(
        env.detect(),
        Source::AppService,
        "App Service before Azure ML"
    );
    // Service Fabric's IDENTITY_ENDPOINT and IDENTITY_HEADER replace App Service's.
    for (name, value) in fabric.environment() {
        env = env.set(&name, &value);
    }
    assert_eq!(env.detect(), Source::ServiceFabric, "Service Fabric first");

    let detected = ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap();
    let grant = client(&fabric)
        .get_token(&detected, ARM, false)
        .await
        .unwrap();
    assert_eq!(grant.token.source(), Source::ServiceFabric);
    assert_eq!(fabric.counters().tokens_issued, 1);

    // The override: Azure ML and workload identity though Service Fabric's variables are set,
    // each served by its own emulator. (Cloud Shell's MSI_ENDPOINT is now Azure ML's.)
    for (source, emu) in [(Source::AzureMl, &ml), (Source::WorkloadIdentity, &wi)] {
        let mi = ManagedIdentity::with_source(IdentityId::SystemAssigned, source, &env).unwrap();
        assert_eq!(mi.source(), source);
        let grant = client(emu)
            .get_token(&mi, ARM, false)
            .await
            .unwrap_or_else(|e| panic!("{source:?}: {e}"));
        assert_eq!(grant.token.source(), source);
        assert_eq!(emu.counters().tokens_issued, 1, "{source:?}");
    }
    assert_eq!(app.counters().token_requests, 0);
    assert_eq!(shell.counters().token_requests, 0);

    // A source whose variables are missing is an error naming the variable.
    let e = ManagedIdentity::with_source(
        IdentityId::SystemAssigned,
        Source::ServiceFabric,
        &env_of(&wi),
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("IDENTITY_ENDPOINT"), "{e}");
}
