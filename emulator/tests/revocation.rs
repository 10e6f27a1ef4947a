//! Continuous access evaluation: `POST /admin/revoke` revokes an identity's tokens minted so
//! far, and Key Vault, Resource Manager and Data Lake (Gen1, Gen2) answer them with the claims
//! challenge of Entra ID's documentation (Resource Manager with its `invalid_token` form); a new
//! token is accepted; the `claims_challenge` service fault challenges any token; the counters
//! show the challenges served.

mod common;

use azmi_emulator::{Emulator, EmulatorConfig, Fault};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::https::{trusting, TlsConn, DATALAKE, STORAGE, VERSION};
use common::*;

struct Env {
    emu: Emulator,
    config: std::sync::Arc<rustls::ClientConfig>,
}

impl Env {
    fn start() -> Env {
        let emu = Emulator::start(EmulatorConfig::default()).expect("start emulator");
        let config = trusting(&emu.ca_pem());
        Env { emu, config }
    }

    fn token(&self, resource: &str, extra: &str) -> String {
        let resp = token(self.emu.port(), &query(resource, extra));
        assert_eq!(resp.status, 200, "{}", resp.text());
        field(&resp.json(), "access_token").to_string()
    }

    fn get(&self, port: u16, target: &str, token: &str, headers: &[(&str, &str)]) -> HttpResponse {
        let bearer = format!("Bearer {token}");
        let mut all = vec![("Authorization", bearer.as_str())];
        all.extend_from_slice(headers);
        TlsConn::open(&self.config, port, "127.0.0.1")
            .expect("TLS")
            .request("GET", target, &all, None)
            .expect("request")
    }

    fn keyvault(&self, token: &str) -> HttpResponse {
        self.get(
            self.emu.keyvault_port(),
            "/secrets/mi-test?api-version=7.5",
            token,
            &[],
        )
    }

    fn arm(&self, token: &str) -> HttpResponse {
        self.get(
            self.emu.arm_port(),
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/azmi-rg?api-version=2022-09-01",
            token,
            &[],
        )
    }

    fn gen1(&self, token: &str) -> HttpResponse {
        self.get(
            self.emu.https_port(),
            "/webhdfs/v1/?op=LISTSTATUS",
            token,
            &[],
        )
    }

    fn gen2(&self, token: &str) -> HttpResponse {
        self.get(
            self.emu.https_port(),
            "/fs?resource=filesystem&recursive=false",
            token,
            &[("x-ms-version", VERSION)],
        )
    }

    fn revoke(&self, body: &str) -> HttpResponse {
        admin_post(self.emu.port(), "/admin/revoke", body)
    }
}

/// The claims of a challenge header, decoded (standard base64, as the .NET clients decode it).
fn challenge_claims(resp: &HttpResponse) -> serde_json::Value {
    let header = resp.header("www-authenticate").expect("a challenge");
    let b64 = header
        .split("claims=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no claims in {header}"));
    serde_json::from_slice(&STANDARD.decode(b64).expect("standard base64")).expect("JSON")
}

#[test]
fn revoked_tokens_get_a_claims_challenge_from_every_service_and_new_ones_pass() {
    let env = Env::start();
    let vault = env.token(VAULT, "");
    let arm = env.token(ARM, "");
    let gen1 = env.token(DATALAKE, "");
    let gen2 = env.token(STORAGE, "");
    assert_eq!(env.keyvault(&vault).status, 200);

    let resp = env.revoke("{}");
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    let revoked_at = body["revoked_at"].as_u64().expect("revoked_at");
    assert!(revoked_at.abs_diff(now_secs()) < 5);
    assert_eq!(
        body["revoked"],
        serde_json::json!([SYSTEM_OBJECT_ID, UAMI_OBJECT_ID])
    );
    let nbf = revoked_at.to_string();

    // Key Vault and Storage: Entra ID's documented insufficient_claims challenge.
    for (name, resp) in [
        ("Key Vault", env.keyvault(&vault)),
        ("Gen1", env.gen1(&gen1)),
        ("Gen2", env.gen2(&gen2)),
    ] {
        assert_eq!(resp.status, 401, "{name}: {}", resp.text());
        let header = resp.header("www-authenticate").unwrap();
        assert!(
            header.starts_with(r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims=""#),
            "{name}: {header}"
        );
        let claims = challenge_claims(&resp);
        assert_eq!(claims["access_token"]["nbf"]["essential"], true, "{name}");
        assert_eq!(
            claims["access_token"]["nbf"]["value"],
            nbf.as_str(),
            "{name}"
        );
    }
    let kv = env.keyvault(&vault).json();
    assert_eq!(kv["error"]["code"], "Unauthorized");
    let dfs = env.gen2(&gen2);
    assert_eq!(
        dfs.header("x-ms-error-code"),
        Some("InvalidAuthenticationInfo")
    );
    assert_eq!(
        env.gen1(&gen1).json()["RemoteException"]["exception"],
        "SecurityException"
    );
    // Resource Manager: a revoked session's invalid_token, with the claims.
    let resp = env.arm(&arm);
    assert_eq!(resp.status, 401, "{}", resp.text());
    assert_eq!(resp.json()["error"]["code"], "InvalidAuthenticationToken");
    let header = resp.header("www-authenticate").unwrap();
    assert!(header.contains(r#"error="invalid_token""#), "{header}");
    assert!(header.contains("User session has been revoked"), "{header}");
    assert_eq!(
        challenge_claims(&resp)["access_token"]["nbf"]["value"],
        nbf.as_str()
    );

    // Tokens minted after the revocation (even within the same second) pass.
    assert_eq!(env.keyvault(&env.token(VAULT, "")).status, 200);
    assert_eq!(env.arm(&env.token(ARM, "")).status, 200);
    assert_eq!(env.gen1(&env.token(DATALAKE, "")).status, 200);
    assert_eq!(env.gen2(&env.token(STORAGE, "")).status, 200);
    assert_eq!(env.emu.service_counters().claims_challenges, 7);
    let counters = admin_get(env.emu.port(), "/admin/service-counters").json();
    assert_eq!(counters["claims_challenges"], 7);
}

#[test]
fn a_revocation_names_one_identity_or_is_refused() {
    let env = Env::start();
    let system = env.token(VAULT, "");
    let uami = env.token(VAULT, &format!("client_id={UAMI_CLIENT_ID}"));
    let resp = env.revoke(&format!(r#"{{"identity":"{UAMI_RESOURCE_ID}"}}"#));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["revoked"], serde_json::json!([UAMI_OBJECT_ID]));
    assert_eq!(env.keyvault(&uami).status, 401);
    assert_eq!(
        env.keyvault(&system).status,
        200,
        "another identity's token"
    );
    assert_eq!(
        env.emu.revoke_tokens(Some(SYSTEM_CLIENT_ID)),
        Ok(vec![SYSTEM_OBJECT_ID.to_string()])
    );
    assert_eq!(env.keyvault(&system).status, 401);

    for bad in [r#"{"identity":"nobody"}"#, "not json", r#"{"who":"x"}"#] {
        let resp = env.revoke(bad);
        assert_eq!(resp.status, 400, "{bad}: {}", resp.text());
    }
    assert!(env.emu.revoke_tokens(Some("nobody")).is_err());
    assert_eq!(
        request(env.emu.port(), "GET", "/admin/revoke", &[], None)
            .unwrap()
            .status,
        405
    );
}

#[test]
fn the_claims_challenge_fault_challenges_any_token_and_is_counted() {
    let env = Env::start();
    let vault = env.token(VAULT, "");
    env.emu
        .set_service_faults(vec![Fault::ClaimsChallenge { count: 2 }]);
    for _ in 0..2 {
        let resp = env.keyvault(&vault);
        assert_eq!(resp.status, 401, "{}", resp.text());
        assert!(challenge_claims(&resp)["access_token"]["nbf"].is_object());
    }
    assert_eq!(env.keyvault(&vault).status, 200, "the fault is used up");
    assert_eq!(env.emu.service_counters().claims_challenges, 2);
    // On the token endpoint, which has no claims challenge, it is a plain 401.
    env.emu
        .set_faults(vec![Fault::ClaimsChallenge { count: 1 }]);
    assert_eq!(token(env.emu.port(), &query(VAULT, "")).status, 401);
    // Scripted in JSON as the admin API takes it.
    let resp = admin_post(
        env.emu.port(),
        "/admin/service-faults",
        r#"{"faults":[{"claims_challenge":true}]}"#,
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(env.arm(&env.token(ARM, "")).status, 401);
}
