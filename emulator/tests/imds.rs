//! The token endpoint's numbered rules (docs/emulator.md), over real HTTP.

mod common;

use azmi_emulator::{Emulator, EmulatorConfig, IdentityConfig, ResponseStyle};
use common::*;
use serde_json::Value;

fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default()).expect("start emulator")
}

fn assert_error(resp: &HttpResponse, status: u16, code: &str, description: Option<&str>) {
    assert_eq!(resp.status, status, "{}", resp.text());
    assert_eq!(
        resp.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let body = resp.json();
    assert_eq!(body["error"], code, "{body}");
    if let Some(description) = description {
        assert_eq!(body["error_description"], description, "{body}");
    }
}

#[test]
fn rule10_success_is_all_strings_with_expected_fields() {
    let emu = start();
    let before = now_secs();
    let resp = token(emu.port(), &query(ARM, ""));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let body = resp.json();
    let obj = body.as_object().unwrap();
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    for key in [
        "access_token",
        "client_id",
        "expires_in",
        "expires_on",
        "ext_expires_in",
        "not_before",
        "resource",
        "token_type",
        "refresh_token",
    ] {
        assert!(keys.contains(&key), "missing {key} in {body}");
    }
    assert_eq!(obj.len(), 9, "no refresh_in unless configured: {body}");
    assert!(obj.values().all(Value::is_string), "all strings: {body}");
    assert_eq!(field(&body, "resource"), ARM);
    assert_eq!(field(&body, "token_type"), "Bearer");
    assert_eq!(field(&body, "refresh_token"), "");
    assert_eq!(field(&body, "client_id"), SYSTEM_CLIENT_ID);
    assert_eq!(field(&body, "expires_in"), "3600");
    assert_eq!(field(&body, "ext_expires_in"), "3600");
    let expires_on: u64 = field(&body, "expires_on").parse().unwrap();
    let not_before: u64 = field(&body, "not_before").parse().unwrap();
    assert!(not_before >= before && not_before <= now_secs());
    assert_eq!(expires_on, not_before + 3600);

    // The wire order is IMDS's, not alphabetical.
    let text = resp.text();
    let pos = |k: &str| text.find(&format!("\"{k}\"")).unwrap();
    assert!(pos("access_token") < pos("client_id"));
    assert!(pos("not_before") < pos("resource"));
    assert!(pos("token_type") < pos("refresh_token"));

    assert_eq!(
        emu.counters(),
        azmi_emulator::Counters {
            token_requests: 1,
            tokens_issued: 1,
            probe_requests: 0
        }
    );
}

#[test]
fn token_is_jwt_with_v1_claims() {
    let emu = start();
    let body = token(
        emu.port(),
        &query(VAULT, &format!("client_id={UAMI_CLIENT_ID}")),
    )
    .json();
    let access_token = field(&body, "access_token");
    let (header, claims) = jwt_parts(access_token);
    assert_eq!(
        header,
        serde_json::json!({"typ":"JWT","alg":"HS256","kid":"azmi-emulator"})
    );
    assert_eq!(claims["aud"], VAULT);
    assert_eq!(claims["iss"], format!("https://sts.windows.net/{TENANT}/"));
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["appid"], UAMI_CLIENT_ID);
    assert_eq!(claims["oid"], UAMI_OBJECT_ID);
    assert_eq!(claims["sub"], UAMI_OBJECT_ID);
    assert_eq!(claims["xms_mirid"], UAMI_RESOURCE_ID);
    assert_eq!(claims["ver"], "1.0");
    let iat = claims["iat"].as_u64().unwrap();
    let nbf = claims["nbf"].as_u64().unwrap();
    let exp = claims["exp"].as_u64().unwrap();
    assert_eq!(nbf, iat);
    assert_eq!(exp, iat + 3600);
    assert_eq!(field(&body, "expires_on"), exp.to_string());
    assert_eq!(field(&body, "not_before"), nbf.to_string());
    assert!(claims["uti"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(azmi_emulator::verify_signature(access_token));

    // uti is unique per token.
    let again = token(emu.port(), &query(VAULT, "")).json();
    let (_, claims2) = jwt_parts(field(&again, "access_token"));
    assert_ne!(claims["uti"], claims2["uti"]);
    assert_eq!(claims2["appid"], SYSTEM_CLIENT_ID);
    assert_eq!(claims2["xms_mirid"], SYSTEM_RESOURCE_ID);
}

#[test]
fn rule2_x_forwarded_for_is_refused_before_metadata_check() {
    let emu = start();
    let resp = request(
        emu.port(),
        "GET",
        &format!("{TOKEN_PATH}?{}", query(ARM, "")),
        &[("X-Forwarded-For", "10.0.0.1")],
        None,
    )
    .unwrap();
    assert_error(
        &resp,
        400,
        "invalid_request",
        Some("X-Forwarded-For header is not allowed"),
    );
    assert_eq!(
        resp.text(),
        r#"{"error":"invalid_request","error_description":"X-Forwarded-For header is not allowed"}"#
    );
}

#[test]
fn rule3_metadata_header_required() {
    let emu = start();
    for headers in [vec![], vec![("Metadata", "false")]] {
        let resp = request(
            emu.port(),
            "GET",
            &format!("{TOKEN_PATH}?{}", query(ARM, "")),
            &headers,
            None,
        )
        .unwrap();
        assert_eq!(
            resp.text(),
            r#"{"error":"bad_request_102","error_description":"Required metadata header not specified"}"#
        );
        assert_eq!(resp.status, 400);
    }
    // Header names are case-insensitive.
    let resp = request(
        emu.port(),
        "GET",
        &format!("{TOKEN_PATH}?{}", query(ARM, "")),
        &[("metadata", "true")],
        None,
    )
    .unwrap();
    assert_eq!(resp.status, 200);
    // Rule 3 comes before rule 4: no header and no api-version reports the header.
    let resp = request(emu.port(), "GET", TOKEN_PATH, &[], None).unwrap();
    assert_error(&resp, 400, "bad_request_102", None);
}

#[test]
fn rule4_api_version_missing_or_invalid() {
    let emu = start();
    let resp = token(emu.port(), &format!("resource={}", encode(ARM)));
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.text(),
        r#"{"error":"Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds","newest-versions":["2023-07-01","2021-12-13","2021-11-15"]}"#
    );
    let resp = token(
        emu.port(),
        &format!("api-version=2099-01-01&resource={}", encode(ARM)),
    );
    assert_eq!(resp.status, 400);
    let body = resp.json();
    assert_eq!(body["error"], "Bad request. api-version is invalid.");
    assert_eq!(
        body["newest-versions"],
        serde_json::json!(["2023-07-01", "2021-12-13", "2021-11-15"])
    );
    // Rule 4 before rule 7: no api-version and no resource reports the api-version.
    let resp = token(emu.port(), "");
    assert!(resp.json()["error"]
        .as_str()
        .unwrap()
        .contains("api-version was not specified"));
    // Other supported versions work.
    for version in ["2019-08-01", "2021-12-13", "2023-07-01"] {
        let resp = token(
            emu.port(),
            &format!("api-version={version}&resource={}", encode(ARM)),
        );
        assert_eq!(resp.status, 200, "{version}");
    }
}

#[test]
fn rule5_repeated_query_name() {
    let emu = start();
    let resp = token(
        emu.port(),
        &query(ARM, &format!("resource={}", encode(VAULT))),
    );
    assert_error(&resp, 400, "invalid_request", None);
    let resp = token(emu.port(), &query(ARM, "api-version=2018-02-01"));
    assert_error(&resp, 400, "invalid_request", None);
    // Unknown names repeated are refused too.
    let resp = token(emu.port(), &query(ARM, "x=1&x=2"));
    assert_error(&resp, 400, "invalid_request", None);
}

#[test]
fn rule6_more_than_one_identity_selector() {
    let emu = start();
    for extra in [
        format!("client_id={UAMI_CLIENT_ID}&object_id={UAMI_OBJECT_ID}"),
        format!(
            "client_id={UAMI_CLIENT_ID}&msi_res_id={}",
            encode(UAMI_RESOURCE_ID)
        ),
        format!(
            "object_id={UAMI_OBJECT_ID}&mi_res_id={}",
            encode(UAMI_RESOURCE_ID)
        ),
        format!(
            "msi_res_id={}&mi_res_id={}",
            encode(UAMI_RESOURCE_ID),
            encode(UAMI_RESOURCE_ID)
        ),
    ] {
        let resp = token(emu.port(), &query(ARM, &extra));
        assert_error(&resp, 400, "invalid_request", None);
    }
    // Rule 6 comes before rule 7 (resource missing).
    let resp = token(emu.port(), "api-version=2018-02-01&client_id=a&object_id=b");
    assert_eq!(resp.status, 400);
    assert_ne!(
        resp.json()["error_description"],
        "Required query variable 'resource' is missing"
    );
}

#[test]
fn rule7_resource_missing() {
    let emu = start();
    for q in ["api-version=2018-02-01", "api-version=2018-02-01&resource="] {
        let resp = token(emu.port(), q);
        assert_eq!(resp.status, 400);
        assert_eq!(
            resp.text(),
            r#"{"error":"invalid_request","error_description":"Required query variable 'resource' is missing"}"#
        );
    }
}

#[test]
fn rule8_identity_selection() {
    let emu = start();
    let cases = [
        ("".to_string(), SYSTEM_CLIENT_ID),
        (format!("client_id={UAMI_CLIENT_ID}"), UAMI_CLIENT_ID),
        (
            format!("client_id={}", UAMI_CLIENT_ID.to_uppercase()),
            UAMI_CLIENT_ID,
        ),
        (format!("object_id={UAMI_OBJECT_ID}"), UAMI_CLIENT_ID),
        (
            format!("msi_res_id={}", encode(UAMI_RESOURCE_ID)),
            UAMI_CLIENT_ID,
        ),
        (
            format!("mi_res_id={}", encode(UAMI_RESOURCE_ID)),
            UAMI_CLIENT_ID,
        ),
        (format!("client_id={SYSTEM_CLIENT_ID}"), SYSTEM_CLIENT_ID),
    ];
    for (extra, expected) in cases {
        let resp = token(emu.port(), &query(ARM, &extra));
        assert_eq!(resp.status, 200, "{extra}: {}", resp.text());
        assert_eq!(field(&resp.json(), "client_id"), expected, "{extra}");
    }
    for extra in [
        "client_id=11111111-2222-3333-4444-555555555555",
        "object_id=nope",
        "msi_res_id=%2Fsubscriptions%2Fx",
    ] {
        let resp = token(emu.port(), &query(ARM, extra));
        assert_eq!(resp.status, 400);
        assert_eq!(
            resp.text(),
            r#"{"error":"invalid_request","error_description":"Identity not found"}"#
        );
    }
}

#[test]
fn rule8_without_system_assigned() {
    let one = Emulator::start(EmulatorConfig {
        system_assigned: None,
        ..EmulatorConfig::default()
    })
    .unwrap();
    let resp = token(one.port(), &query(ARM, ""));
    assert_eq!(field(&resp.json(), "client_id"), UAMI_CLIENT_ID);

    let second = IdentityConfig {
        name: "second".into(),
        client_id: "22222222-0000-0000-0000-000000000000".into(),
        object_id: "22222222-0000-0000-0000-000000000001".into(),
        resource_id: "/subscriptions/x/resourceGroups/y/providers/Microsoft.ManagedIdentity/userAssignedIdentities/second".into(),
    };
    let two = Emulator::start(EmulatorConfig {
        system_assigned: None,
        user_assigned: vec![IdentityConfig::default_user_assigned(), second],
        ..EmulatorConfig::default()
    })
    .unwrap();
    let resp = token(two.port(), &query(ARM, ""));
    assert_error(&resp, 400, "invalid_request", Some("Identity not found"));
    let resp = token(
        two.port(),
        &query(ARM, "client_id=22222222-0000-0000-0000-000000000000"),
    );
    assert_eq!(resp.status, 200);

    let none = Emulator::start(EmulatorConfig {
        system_assigned: None,
        user_assigned: vec![],
        ..EmulatorConfig::default()
    })
    .unwrap();
    let resp = token(none.port(), &query(ARM, ""));
    assert_error(&resp, 400, "invalid_request", Some("Identity not found"));
}

#[test]
fn rule9_unknown_resource_and_exact_match() {
    let emu = start();
    for resource in [
        "https://graph.microsoft.com/",
        "https://vault.azure.net/",
        "https://management.azure.com/.default",
        "https://MANAGEMENT.azure.com/",
    ] {
        let resp = token(emu.port(), &query(resource, ""));
        assert_eq!(resp.status, 400, "{resource}");
        let body = resp.json();
        assert_eq!(body["error"], "invalid_resource");
        let description = field(&body, "error_description");
        assert!(
            description.starts_with(&format!(
                "AADSTS50001: The application named {resource} was not found in the tenant named {TENANT}."
            )),
            "{description}"
        );
    }
    // Rule 8 comes before rule 9.
    let resp = token(emu.port(), &query("https://nope", "client_id=nope"));
    assert_error(&resp, 400, "invalid_request", Some("Identity not found"));

    for resource in azmi_emulator::DEFAULT_RESOURCES {
        let resp = token(emu.port(), &query(resource, ""));
        assert_eq!(resp.status, 200, "{resource}");
        // `resource` echoes the request exactly.
        assert_eq!(field(&resp.json(), "resource"), *resource);
    }
    assert_eq!(emu.counters().token_requests, 5 + 9);
    assert_eq!(emu.counters().tokens_issued, 9);
}

#[test]
fn plus_and_percent_encodings_decode_the_same() {
    let emu = start();
    let resp = token(
        emu.port(),
        "api-version=2018-02-01&resource=https://management.azure.com/",
    );
    assert_eq!(resp.status, 200);
    assert_eq!(field(&resp.json(), "resource"), ARM);
}

#[test]
fn errors_are_counted_but_not_issued() {
    let emu = start();
    token(emu.port(), "api-version=2018-02-01");
    request(emu.port(), "GET", TOKEN_PATH, &[("Metadata", "true")], None).unwrap();
    token(emu.port(), &query(ARM, ""));
    assert_eq!(emu.counters().token_requests, 3);
    assert_eq!(emu.counters().tokens_issued, 1);
    // Without the Metadata header: a probe, counted apart (rule 0).
    request(emu.port(), "GET", TOKEN_PATH, &[], None).unwrap();
    assert_eq!(emu.counters().token_requests, 3);
    assert_eq!(emu.counters().probe_requests, 1);
}

#[test]
fn unknown_paths_are_404_and_not_counted() {
    let emu = start();
    for path in [
        "/",
        "/metadata/identity/getplatformmetadata?cred-api-version=2.0",
        "/metadata/identity/oauth2/token//",
        "/metadata/identity/oauth2/token/x",
        "/admin/nope",
    ] {
        let resp = request(emu.port(), "GET", path, &[("Metadata", "true")], None).unwrap();
        assert_eq!(resp.status, 404, "{path}");
    }
    assert_eq!(emu.counters().token_requests, 0);
}

/// msal-node (the JavaScript SDKs) asks for the token path with a trailing slash when
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST` names the endpoint; it is the same endpoint.
#[test]
fn token_path_with_trailing_slash_is_the_token_endpoint() {
    let emu = start();
    let resp = request(
        emu.port(),
        "GET",
        &format!("{TOKEN_PATH}/?{}", query(ARM, "")),
        &[("Metadata", "true")],
        None,
    )
    .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(field(&resp.json(), "resource"), ARM);
    // Its checks are the token endpoint's too.
    let resp = request(
        emu.port(),
        "GET",
        &format!("{TOKEN_PATH}/?{}", query(ARM, "")),
        &[],
        None,
    )
    .unwrap();
    assert_error(&resp, 400, "bad_request_102", None);
    // Without the header it is a probe (counted apart), as at the path without the slash.
    assert_eq!(emu.counters().token_requests, 1);
    assert_eq!(emu.counters().probe_requests, 1);
    assert_eq!(emu.counters().tokens_issued, 1);
}

#[test]
fn non_get_token_request_is_405_and_counted() {
    let emu = start();
    let resp = request(
        emu.port(),
        "POST",
        &format!("{TOKEN_PATH}?{}", query(ARM, "")),
        &[("Metadata", "true")],
        Some("{}"),
    )
    .unwrap();
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET"));
    assert_eq!(emu.counters().token_requests, 1);
    assert_eq!(emu.counters().tokens_issued, 0);
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let emu = start();
    let mut conn = Conn::open(emu.port());
    let target = format!("{TOKEN_PATH}?{}", query(ARM, ""));
    for _ in 0..5 {
        let resp = conn
            .request("GET", &target, &[("Metadata", "true")], None)
            .unwrap();
        assert_eq!(resp.status, 200);
    }
    // Errors keep the connection open too.
    let resp = conn.request("GET", &target, &[], None).unwrap();
    assert_eq!(resp.status, 400);
    let resp = conn
        .request(
            "GET",
            &target,
            &[("Metadata", "true"), ("X-Forwarded-For", "1.2.3.4")],
            None,
        )
        .unwrap();
    assert_eq!(resp.status, 400);
    let resp = conn.request("GET", "/admin/counters", &[], None).unwrap();
    assert_eq!(resp.json()["token_requests"], 6);
    assert_eq!(resp.json()["tokens_issued"], 5);
    assert_eq!(resp.json()["probe_requests"], 1);
}

#[test]
fn garbage_requests_do_not_take_the_server_down() {
    use std::io::{Read, Write};
    let emu = start();
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", emu.port())).unwrap();
    raw.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    raw.write_all(b"\x00\x01garbage\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = raw.read_to_end(&mut out);
    // Invalid UTF-8 and odd encodings in the query are 400s or 200s, never a crash.
    let resp = token(
        emu.port(),
        "api-version=2018-02-01&resource=%FF%FE&client_id=%ZZ",
    );
    assert_eq!(resp.status, 400);
    assert_eq!(token(emu.port(), &query(ARM, "")).status, 200);
}

#[test]
fn response_styles() {
    let emu = start();

    emu.set_response_style(ResponseStyle::Numbers);
    let body = token(emu.port(), &query(ARM, "")).json();
    for key in ["expires_in", "expires_on", "ext_expires_in", "not_before"] {
        assert!(body[key].is_u64(), "{key} should be a number: {body}");
    }
    assert!(body["access_token"].is_string() && body["resource"].is_string());
    assert_eq!(body["expires_in"], 3600);

    emu.set_response_style(ResponseStyle::Date);
    let body = token(emu.port(), &query(ARM, "")).json();
    let expires_on = field(&body, "expires_on");
    let (_, claims) = jwt_parts(field(&body, "access_token"));
    let exp = claims["exp"].as_i64().unwrap();
    let expected = chrono::DateTime::from_timestamp(exp, 0)
        .unwrap()
        .format("%-m/%-d/%Y %-I:%M:%S %p +00:00")
        .to_string();
    assert_eq!(expires_on, expected);
    assert!(expires_on.ends_with(" +00:00") && expires_on.contains('/'));
    assert_eq!(field(&body, "expires_in"), "3600");

    emu.set_response_style(ResponseStyle::ExpiresInOnly);
    let body = token(emu.port(), &query(ARM, "")).json();
    assert!(body.get("expires_on").is_none(), "{body}");
    assert_eq!(field(&body, "expires_in"), "3600");

    emu.set_response_style(ResponseStyle::Imds);
    let body = token(emu.port(), &query(ARM, "")).json();
    assert!(body["expires_on"].is_string());
}

#[test]
fn lifetime_and_refresh_in_settings() {
    let emu = start();
    emu.set_token_lifetime(86_400);
    emu.set_refresh_in(Some(43_200));
    let body = token(emu.port(), &query(ARM, "")).json();
    assert_eq!(field(&body, "expires_in"), "86400");
    assert_eq!(field(&body, "ext_expires_in"), "86400");
    assert_eq!(field(&body, "refresh_in"), "43200");
    let (_, claims) = jwt_parts(field(&body, "access_token"));
    assert_eq!(
        claims["exp"].as_u64().unwrap(),
        claims["iat"].as_u64().unwrap() + 86_400
    );
    assert_eq!(field(&body, "expires_on"), claims["exp"].to_string());

    emu.set_response_style(ResponseStyle::Numbers);
    let body = token(emu.port(), &query(ARM, "")).json();
    assert_eq!(body["refresh_in"], 43_200);

    emu.set_refresh_in(None);
    let body = token(emu.port(), &query(ARM, "")).json();
    assert!(body.get("refresh_in").is_none());
}

#[test]
fn tenant_comes_from_config() {
    let emu = Emulator::start(EmulatorConfig {
        tenant_id: "11111111-2222-3333-4444-555555555555".into(),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let body = token(emu.port(), &query(ARM, "")).json();
    let (_, claims) = jwt_parts(field(&body, "access_token"));
    assert_eq!(claims["tid"], "11111111-2222-3333-4444-555555555555");
    assert_eq!(
        claims["iss"],
        "https://sts.windows.net/11111111-2222-3333-4444-555555555555/"
    );
}

#[test]
fn instance_metadata_describes_the_vm_as_imds_does() {
    let emu = start();
    let get = |path: &str, headers: &[(&str, &str)]| {
        request(emu.port(), "GET", path, headers, None).unwrap()
    };
    let metadata = [("Metadata", "true")];

    let compute = get(
        "/metadata/instance/compute?api-version=2021-02-01",
        &metadata,
    );
    assert_eq!(compute.status, 200);
    let doc = compute.json();
    assert_eq!(doc["azEnvironment"], "AzurePublicCloud");
    assert_eq!(
        doc["subscriptionId"],
        "00000000-0000-0000-0000-000000000000"
    );
    assert_eq!(doc["resourceGroupName"], "azmi-rg");
    assert_eq!(doc["location"], "eastus");
    assert!(doc["resourceId"]
        .as_str()
        .unwrap()
        .starts_with("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/azmi-rg/providers/Microsoft.Compute/virtualMachines/"));
    let vm_id = doc["vmId"].as_str().unwrap().to_owned();
    assert_eq!(vm_id.len(), 36, "a GUID: {vm_id}");

    // The whole document holds the same compute part, and the VM id stays.
    let whole = get("/metadata/instance?api-version=2023-07-01", &metadata);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.json()["compute"]["vmId"], vm_id.as_str());
    assert!(whole.json()["network"]["interface"].is_array());

    // The same guards as the token endpoint, with the instance category's wording.
    let no_header = get("/metadata/instance/compute?api-version=2021-02-01", &[]);
    assert_eq!(no_header.status, 400);
    assert_eq!(
        no_header.json()["error"],
        "Bad request. Required metadata header not specified"
    );
    let no_version = get("/metadata/instance/compute", &metadata);
    assert_eq!(no_version.status, 400);
    assert!(no_version.json()["newest-versions"].is_array());
    let bad_version = get(
        "/metadata/instance/compute?api-version=2099-01-01",
        &metadata,
    );
    assert_eq!(
        bad_version.json()["error"],
        "Bad request. api-version is invalid."
    );
    let post = request(
        emu.port(),
        "POST",
        "/metadata/instance/compute?api-version=2021-02-01",
        &metadata,
        None,
    )
    .unwrap();
    assert_eq!(post.status, 405);
    assert_eq!(emu.counters().token_requests, 0, "not token requests");
}
