//! Authorization of the service endpoints: tokens (missing, wrong audience, expired, altered,
//! other tenant), ACL rules, and the Gen1 redirect host.

mod common;

use azmi_emulator::{AclRule, Emulator, EmulatorConfig};
use common::https::{Client, TlsConn, DATALAKE, STORAGE, VERSION};
use common::*;

fn start_with(config: EmulatorConfig) -> (Emulator, Client) {
    let emu = Emulator::start(config).expect("start emulator");
    let client = Client::new(&emu);
    (emu, client)
}

fn gen1_with(c: &Client, token: Option<&str>, target: &str) -> HttpResponse {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("Authorization", b.as_str()))
        .collect();
    c.raw("GET", target, &headers, None).unwrap()
}

fn dfs_with(c: &Client, authorization: Option<&str>, target: &str) -> HttpResponse {
    let mut headers = vec![("x-ms-version", VERSION)];
    if let Some(a) = authorization {
        headers.push(("Authorization", a));
    }
    c.raw("GET", target, &headers, None).unwrap()
}

fn assert_gen1_401(resp: &HttpResponse) {
    assert_eq!(resp.status, 401, "{}", resp.text());
    let e = &resp.json()["RemoteException"];
    assert_eq!(e["exception"], "SecurityException", "{e}");
    assert_eq!(e["javaClassName"], "java.lang.SecurityException");
    assert!(resp.header("www-authenticate").is_some());
}

fn assert_gen2_error(resp: &HttpResponse, status: u16, code: &str) {
    assert_eq!(resp.status, status, "{}", resp.text());
    assert_eq!(resp.header("x-ms-error-code"), Some(code));
    assert_eq!(resp.json()["error"]["code"], code);
}

#[test]
fn gen1_refuses_missing_wrong_and_expired_tokens() {
    let (emu, c) = start_with(EmulatorConfig::default());
    let target = "/webhdfs/v1/?op=LISTSTATUS";
    assert_eq!(
        gen1_with(&c, Some(&c.token(DATALAKE, "")), target).status,
        200
    );
    assert_gen1_401(&gen1_with(&c, None, target));
    // A Storage token is not for Data Lake Gen1.
    assert_gen1_401(&gen1_with(&c, Some(&c.token(STORAGE, "")), target));
    let good = c.token(DATALAKE, "");
    let altered = format!("{}A", &good[..good.len() - 1]);
    let altered = if altered == good {
        format!("{good}A")
    } else {
        altered
    };
    assert_gen1_401(&gen1_with(&c, Some(&altered), target));
    // Lifetime 0: expired as soon as issued.
    emu.set_token_lifetime(0);
    let expired = c.token(DATALAKE, "");
    emu.set_token_lifetime(3600);
    let resp = gen1_with(&c, Some(&expired), target);
    assert_gen1_401(&resp);
    let message = resp.json()["RemoteException"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("expired"), "{message}");
}

#[test]
fn gen2_refuses_missing_wrong_and_expired_tokens() {
    let (emu, c) = start_with(EmulatorConfig::default());
    let target = "/fs?resource=filesystem&recursive=false";
    let ok = dfs_with(
        &c,
        Some(&format!("Bearer {}", c.token(STORAGE, ""))),
        target,
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    // Both spellings of the Storage audience are accepted.
    let no_slash = c.token("https://storage.azure.com", "");
    assert_eq!(
        dfs_with(&c, Some(&format!("Bearer {no_slash}")), target).status,
        200
    );

    let missing = dfs_with(&c, None, target);
    assert_gen2_error(&missing, 401, "NoAuthenticationInformation");
    let challenge = missing.header("www-authenticate").expect("challenge");
    assert!(challenge.starts_with("Bearer authorization_uri=https://login.microsoftonline.com/"));
    assert!(challenge.contains("resource_id=https://storage.azure.com"));

    let gen1_token = format!("Bearer {}", c.token(DATALAKE, ""));
    assert_gen2_error(
        &dfs_with(&c, Some(&gen1_token), target),
        401,
        "InvalidAuthenticationInfo",
    );
    let arm = format!("Bearer {}", c.token(ARM, ""));
    assert_gen2_error(
        &dfs_with(&c, Some(&arm), target),
        401,
        "InvalidAuthenticationInfo",
    );
    assert_gen2_error(
        &dfs_with(&c, Some("Bearer not.a.token"), target),
        401,
        "InvalidAuthenticationInfo",
    );
    assert_gen2_error(
        &dfs_with(&c, Some("SharedKey account:c2lnbmF0dXJl"), target),
        403,
        "AuthenticationFailed",
    );
    emu.set_token_lifetime(0);
    let expired = format!("Bearer {}", c.token(STORAGE, ""));
    assert_gen2_error(
        &dfs_with(&c, Some(&expired), target),
        401,
        "InvalidAuthenticationInfo",
    );
}

#[test]
fn tokens_of_another_tenant_are_refused() {
    // Emulators in one process share the signing key, so only the issuer differs.
    let (_emu, c) = start_with(EmulatorConfig::default());
    let other = Emulator::start(EmulatorConfig {
        tenant_id: "99999999-0000-0000-0000-000000000000".into(),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let foreign = Client::new(&other).token(STORAGE, "");
    let resp = dfs_with(
        &c,
        Some(&format!("Bearer {foreign}")),
        "/fs?resource=filesystem&recursive=false",
    );
    assert_gen2_error(&resp, 401, "InvalidAuthenticationInfo");
}

#[test]
fn acl_rules_deny_by_object_id_and_path_prefix() {
    let config = EmulatorConfig {
        acl: vec![
            AclRule {
                object_id: UAMI_OBJECT_ID.into(),
                path_prefix: "/fs/locked".into(),
                read: true,
                write: false,
            },
            AclRule {
                object_id: UAMI_OBJECT_ID.into(),
                path_prefix: "/webhdfs/v1/secret".into(),
                read: false,
                write: false,
            },
        ],
        ..EmulatorConfig::default()
    };
    let (_emu, c) = start_with(config);
    let uami = format!("client_id={UAMI_CLIENT_ID}");
    let uami_storage = format!("Bearer {}", c.token(STORAGE, &uami));
    let uami_datalake = format!("Bearer {}", c.token(DATALAKE, &uami));

    // The system identity may do anything; the user-assigned one is limited.
    c.dfs_put_file("/fs/locked/f", b"data");
    let headers = [
        ("Authorization", uami_storage.as_str()),
        ("x-ms-version", VERSION),
    ];
    let read = c.raw("GET", "/fs/locked/f", &headers, None).unwrap();
    assert_eq!(read.status, 200);
    assert_eq!(read.body, b"data");
    let write = c
        .raw("PUT", "/fs/locked/g?resource=file", &headers, Some(b""))
        .unwrap();
    assert_gen2_error(&write, 403, "AuthorizationPermissionMismatch");
    let delete = c.raw("DELETE", "/fs/locked/f", &headers, None).unwrap();
    assert_gen2_error(&delete, 403, "AuthorizationPermissionMismatch");
    // Prefixes match whole segments: /fs/lockedness is not under /fs/locked.
    let other = c
        .raw("PUT", "/fs/lockedness?resource=file", &headers, Some(b""))
        .unwrap();
    assert_eq!(other.status, 201, "{}", other.text());

    c.gen1_put_file("/secret/plan", b"x");
    let resp = c
        .raw(
            "GET",
            "/webhdfs/v1/secret/plan?op=OPEN&read=true",
            &[("Authorization", &uami_datalake)],
            None,
        )
        .unwrap();
    assert_eq!(resp.status, 403, "{}", resp.text());
    let e = &resp.json()["RemoteException"];
    assert_eq!(e["exception"], "AccessControlException");
    assert_eq!(
        e["javaClassName"],
        "org.apache.hadoop.security.AccessControlException"
    );
    assert!(e["message"]
        .as_str()
        .unwrap()
        .starts_with("OPEN failed with error 0x83090aa2 (Forbidden. ACL verification failed."));
    let public = c
        .raw(
            "GET",
            "/webhdfs/v1/?op=LISTSTATUS",
            &[("Authorization", &uami_datalake)],
            None,
        )
        .unwrap();
    assert_eq!(public.status, 200);
}

#[test]
fn redirects_follow_the_request_host_or_the_configured_one() {
    let (emu, c) = start_with(EmulatorConfig::default());
    let port = emu.https_port();
    let bearer = format!("Bearer {}", c.token(DATALAKE, ""));
    // A Host without port gets this listener's port in Location.
    let resp = c
        .raw(
            "PUT",
            "/webhdfs/v1/r?op=CREATE",
            &[("Authorization", &bearer), ("Host", "LOCALHOST")],
            Some(b""),
        )
        .unwrap();
    assert_eq!(
        resp.header("location"),
        Some(format!("https://LOCALHOST:{port}/webhdfs/v1/r?op=CREATE&write=true").as_str())
    );
    // By default the data step needs the token like any request.
    let resp = c
        .raw("PUT", "/webhdfs/v1/r?op=CREATE&write=true", &[], Some(b"x"))
        .unwrap();
    assert_eq!(resp.status, 401);

    let config = EmulatorConfig {
        redirect_host: Some("localhost".into()),
        redirect_requires_auth: false,
        ..EmulatorConfig::default()
    };
    let (emu, c) = start_with(config);
    let port = emu.https_port();
    let resp = c.gen1(
        "PUT",
        "/webhdfs/v1/dir/r?op=CREATE&overwrite=true",
        Some(b""),
    );
    let location = resp.header("location").unwrap().to_string();
    let expected =
        format!("https://localhost:{port}/webhdfs/v1/dir/r?op=CREATE&overwrite=true&write=true");
    assert_eq!(location, expected);

    // Follow it as a client that drops Authorization on a host change: the certificate is
    // valid for `localhost`, and this emulator takes the data step without a token there.
    let target = location.split_once(&format!(":{port}")).unwrap().1;
    let host = format!("localhost:{port}");
    let mut conn = TlsConn::open(&c.config, port, "localhost").expect("TLS for localhost");
    let resp = conn
        .request("PUT", target, &[("Host", &host)], Some(b"anonymous"))
        .unwrap();
    assert_eq!(resp.status, 201, "{}", resp.text());
    let status = c
        .gen1("GET", "/webhdfs/v1/dir/r?op=GETFILESTATUS", None)
        .json();
    assert_eq!(status["FileStatus"]["owner"], "anonymous");
    let mut conn = TlsConn::open(&c.config, port, "localhost").unwrap();
    let resp = conn
        .request(
            "GET",
            "/webhdfs/v1/dir/r?op=OPEN&read=true",
            &[("Host", &host)],
            None,
        )
        .unwrap();
    assert_eq!(resp.body, b"anonymous");
    // Only the data step, and only at the redirect host.
    let mut conn = TlsConn::open(&c.config, port, "localhost").unwrap();
    let resp = conn
        .request(
            "GET",
            "/webhdfs/v1/dir/r?op=GETFILESTATUS",
            &[("Host", &host)],
            None,
        )
        .unwrap();
    assert_eq!(resp.status, 401);
    let resp = c
        .raw("GET", "/webhdfs/v1/dir/r?op=OPEN&read=true", &[], None)
        .unwrap();
    assert_eq!(resp.status, 401, "127.0.0.1 is not the redirect host");

    let config = EmulatorConfig {
        redirect_host: Some("evil.example".into()),
        ..EmulatorConfig::default()
    };
    let (emu, c) = start_with(config);
    let resp = c.gen1("GET", "/webhdfs/v1/x?op=OPEN", None);
    assert_eq!(
        resp.header("location"),
        Some(
            format!(
                "https://evil.example:{}/webhdfs/v1/x?op=OPEN&read=true",
                emu.https_port()
            )
            .as_str()
        )
    );
}

#[test]
fn the_certificate_is_only_trusted_through_the_ca() {
    let (emu, c) = start_with(EmulatorConfig::default());
    // Another emulator's CA does not vouch for this one.
    let other = Emulator::start(EmulatorConfig::default()).unwrap();
    let wrong = common::https::trusting(&other.ca_pem());
    assert!(TlsConn::open(&wrong, emu.https_port(), "127.0.0.1").is_err());
    // Names outside the certificate fail; its names work.
    assert!(TlsConn::open(&c.config, emu.https_port(), "example.com").is_err());
    // (`*.localhost` is in the certificate too, but rustls, like browsers, wants two labels
    // after a wildcard, so it only helps clients with laxer rules.)
    for name in ["127.0.0.1", "localhost"] {
        assert!(
            TlsConn::open(&c.config, emu.https_port(), name).is_ok(),
            "{name}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(emu.ca_file()).unwrap(),
        emu.ca_pem()
    );
    assert!(emu.ca_file().ends_with(azmi_emulator::CA_FILE_NAME));
    assert_eq!(
        emu.https_base_url(),
        format!("https://127.0.0.1:{}", emu.https_port())
    );
}
