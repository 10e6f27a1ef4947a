//! Service requests through a real proxy (Debian's tinyproxy, on a free loopback port, whose
//! log the tests read): HTTPS in a CONNECT tunnel, managed identity endpoints never proxied,
//! curl's variables and NO_PROXY, Basic credentials, the errors of a proxy that asks for
//! credentials, refuses, or is not there, and the explicit setting over the environment. The
//! environment is always given as a list (`ProxySetting::Variables`): no test touches the
//! process's own.

mod tinyproxy;

use std::sync::Arc;
use std::time::Duration;

use azmi::{
    Azmi, ErrorCode, IdentityId, ManagedIdentity, ProxyCredentials, ProxySetting, ProxySource,
    RetryPolicy, SourceEnv, TokenOptions,
};
use azmi_emulator::{Emulator, EmulatorConfig, IdentitySource};
use secrecy::SecretString;
use tinyproxy::{Options, Tinyproxy};

const VALUE: &str = "Hello from Key Vault";

fn quick() -> RetryPolicy {
    RetryPolicy {
        budget: Duration::from_millis(300),
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

fn variables(vars: &[(&str, &str)]) -> ProxySetting {
    ProxySetting::Variables(
        vars.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    )
}

fn explicit(url: &str, no_proxy: Option<&str>) -> ProxySetting {
    ProxySetting::Explicit {
        url: url.into(),
        no_proxy: no_proxy.map(Into::into),
        credentials: None,
    }
}

/// The emulator (IMDS on plain HTTP, Key Vault over HTTPS, both on loopback) and a client
/// trusting its CA, with `proxy`.
struct Setup {
    emu: Emulator,
    azmi: Azmi,
    mi: Arc<ManagedIdentity>,
}

impl Setup {
    fn new(proxy: &ProxySetting) -> Setup {
        let emu = Emulator::start(EmulatorConfig::default()).expect("emulator starts");
        let azmi = Azmi::with_settings(None, Some(&emu.ca_file()), proxy).unwrap();
        let mi = ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &emu.token_url())
            .unwrap()
            .with_options(TokenOptions {
                retry: quick(),
                ..TokenOptions::default()
            });
        Setup {
            emu,
            azmi,
            mi: Arc::new(mi),
        }
    }

    async fn secret(&self) -> azmi::Result<String> {
        let kv = self
            .azmi
            .keyvault(&self.emu.keyvault_url(), &self.mi)?
            .with_retry(quick());
        let s = kv.get_secret("mi-test", None).await?;
        Ok(s.expose_value().to_owned())
    }

    fn vault(&self) -> url::Url {
        url::Url::parse(&self.emu.keyvault_url()).unwrap()
    }

    fn vault_port(&self) -> u16 {
        self.vault().port().unwrap()
    }

    fn imds_port(&self) -> u16 {
        url::Url::parse(&self.emu.token_url())
            .unwrap()
            .port()
            .unwrap()
    }

    fn route(&self) -> String {
        self.azmi.proxy().route(&self.vault()).to_string()
    }
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel_and_imds_never_through_the_proxy() {
    let proxy = Tinyproxy::start();
    // Both variables set: the managed identity endpoint (plain HTTP) must still go direct.
    let s = Setup::new(&variables(&[
        ("HTTPS_PROXY", &proxy.url()),
        ("HTTP_PROXY", &proxy.url()),
    ]));
    assert!(s.secret().await.unwrap() == VALUE);
    let vault = format!("127.0.0.1:{}", s.vault_port());
    let connects = proxy.connects();
    // The first anonymous request (the challenge) and the authorized ones: all tunnelled.
    assert!(!connects.is_empty(), "{}", proxy.log());
    assert!(connects.iter().all(|c| *c == vault), "{connects:?}");
    assert!(!proxy.saw_port(s.imds_port()), "{}", proxy.log());
    assert!(
        !proxy.log().contains("GET "),
        "nothing but CONNECT: {}",
        proxy.log()
    );
    assert_eq!(s.emu.counters().tokens_issued, 1);
    assert_eq!(
        s.route(),
        format!("through the proxy {} (from HTTPS_PROXY)", proxy.url())
    );
    assert_eq!(
        s.azmi.token_route(&s.mi),
        "direct: managed identity endpoints never go through a proxy"
    );
}

#[tokio::test]
async fn lowercase_variables_are_read_first() {
    let proxy = Tinyproxy::start();
    let s = Setup::new(&variables(&[
        ("https_proxy", &proxy.url()),
        ("HTTPS_PROXY", "http://127.0.0.1:1"),
    ]));
    assert!(s.secret().await.unwrap() == VALUE);
    assert!(!proxy.connects().is_empty());
    assert!(s.route().contains("(from https_proxy)"), "{}", s.route());
}

#[tokio::test]
async fn all_proxy_is_used_when_no_scheme_variable_is_set() {
    let proxy = Tinyproxy::start();
    let s = Setup::new(&variables(&[("ALL_PROXY", &proxy.url())]));
    assert!(s.secret().await.unwrap() == VALUE);
    assert!(!proxy.connects().is_empty());
}

#[tokio::test]
async fn no_proxy_sends_the_host_direct_and_says_why() {
    let proxy = Tinyproxy::start();
    for list in ["127.0.0.1", "127.0.0.0/8", "*", "localhost,127.0.0.1"] {
        let s = Setup::new(&variables(&[
            ("HTTPS_PROXY", &proxy.url()),
            ("no_proxy", list),
        ]));
        assert!(s.secret().await.unwrap() == VALUE, "{list}");
        assert!(s.route().starts_with("direct: no_proxy "), "{}", s.route());
    }
    assert!(proxy.connects().is_empty(), "{}", proxy.log());
    // A name does not match an address (as in curl), so this one goes through the proxy.
    let s = Setup::new(&variables(&[
        ("HTTPS_PROXY", &proxy.url()),
        ("NO_PROXY", "localhost"),
    ]));
    assert!(s.secret().await.unwrap() == VALUE);
    assert!(!proxy.connects().is_empty());
}

#[tokio::test]
async fn basic_credentials_are_sent_to_the_proxy() {
    let proxy = Tinyproxy::start_with(Options {
        basic_auth: Some(("alice".into(), "s3cret".into())),
        ..Options::default()
    });
    let with_url = format!("http://alice:s3cret@127.0.0.1:{}", proxy.port());
    let s = Setup::new(&variables(&[("HTTPS_PROXY", &with_url)]));
    assert!(s.secret().await.unwrap() == VALUE);
    assert!(s.route().ends_with("(from HTTPS_PROXY, with credentials)"));
    assert!(!s.route().contains("s3cret") && !s.route().contains("alice"));
    // The same credentials given apart from the URL.
    s.azmi
        .set_proxy(&ProxySetting::Explicit {
            url: proxy.url(),
            no_proxy: None,
            credentials: Some(ProxyCredentials {
                user: "alice".into(),
                password: SecretString::from("s3cret".to_owned()),
            }),
        })
        .unwrap();
    s.azmi.clear_cache();
    assert!(s.secret().await.unwrap() == VALUE);
    assert!(proxy.connects().len() >= 2);
}

#[tokio::test]
async fn a_407_says_the_proxy_wants_credentials_and_how_to_give_them() {
    let proxy = Tinyproxy::start_with(Options {
        basic_auth: Some(("alice".into(), "s3cret".into())),
        ..Options::default()
    });
    let s = Setup::new(&explicit(&proxy.url(), None));
    let e = s.secret().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ProxyError, "{e}");
    assert_eq!(e.http_status(), Some(407));
    let m = e.to_string();
    assert!(
        m.contains(&format!(
            "the proxy {} (from the explicit setting) asked for credentials (HTTP 407 Proxy Authentication Required; it asks for Basic realm=\"Tinyproxy\"); none were given: put them in the proxy URL (http://user:password@host:port, in HTTPS_PROXY), or set the proxy with credentials",
            proxy.url()
        )),
        "{m}"
    );
    assert!(
        m.contains(&s.emu.keyvault_url().replace("https://", "")) || m.contains("mi-test"),
        "{m}"
    );
    // Wrong credentials: said so, and the password is not in the message.
    let wrong = format!("http://alice:hunter2@127.0.0.1:{}", proxy.port());
    s.azmi.set_proxy(&explicit(&wrong, None)).unwrap();
    let e = s.secret().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ProxyError, "{e}");
    let m = e.to_string();
    assert!(
        m.contains("asked for credentials (HTTP 401 Unauthorized"),
        "{m}"
    );
    assert!(
        m.contains("it refused the user name and password given"),
        "{m}"
    );
    assert!(!m.contains("hunter2") && !m.contains("alice"), "{m}");
    // A 407 is not retried: the proxy was asked twice per call (reqwest, then azmi's diagnosis).
    assert!(proxy.connects().len() <= 4, "{:?}", proxy.connects());
}

#[tokio::test]
async fn a_proxy_that_refuses_the_tunnel_is_named_with_its_status() {
    let proxy = Tinyproxy::start_with(Options {
        connect_ports: vec![443],
        ..Options::default()
    });
    let s = Setup::new(&explicit(&proxy.url(), None));
    let e = s.secret().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ProxyError, "{e}");
    assert_eq!(e.http_status(), Some(403));
    let m = e.to_string();
    assert!(
        m.contains(&format!(
            "the proxy {} (from the explicit setting) refused to open a tunnel to 127.0.0.1:{} (HTTP 403 Access violation); nothing was sent to the service",
            proxy.url(),
            s.vault_port()
        )),
        "{m}"
    );
}

#[tokio::test]
async fn a_proxy_that_is_down_is_named_with_its_host_and_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("http://127.0.0.1:{port}");
    let s = Setup::new(&variables(&[("HTTPS_PROXY", &down)]));
    // Nothing listens there: said at once, not after the 30 s a retried failure would take.
    let kv = s
        .azmi
        .keyvault(&s.emu.keyvault_url(), &s.mi)
        .unwrap()
        .with_retry(RetryPolicy::default());
    let e = tokio::time::timeout(Duration::from_secs(10), kv.get_secret("mi-test", None))
        .await
        .expect("a refused proxy connection is not retried")
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ProxyError, "{e}");
    assert_eq!(e.http_status(), None);
    let m = e.to_string();
    assert!(
        m.contains(&format!(
            "the proxy {down} (from HTTPS_PROXY) could not be reached: Connection refused"
        )),
        "{m}"
    );
    // Tokens do not need the proxy: the identity endpoint answered.
    assert_eq!(
        s.emu.counters().tokens_issued,
        0,
        "no token is asked before the challenge"
    );
    let grant = s
        .azmi
        .get_token(&s.mi, "https://vault.azure.net", false)
        .await
        .unwrap();
    assert!(!grant.from_cache);
}

#[tokio::test]
async fn the_explicit_setting_wins_over_the_environment_until_the_environment_is_asked_for() {
    let proxy = Tinyproxy::start();
    let down = "http://127.0.0.1:1";
    let env = variables(&[("HTTPS_PROXY", down)]);
    let s = Setup::new(&env);
    assert_eq!(s.azmi.proxy().source(), ProxySource::Environment);
    assert!(s.route().contains(down));
    s.azmi.set_proxy(&explicit(&proxy.url(), None)).unwrap();
    assert_eq!(s.azmi.proxy().source(), ProxySource::Explicit);
    assert!(s.secret().await.unwrap() == VALUE);
    let tunnels = proxy.connects().len();
    assert!(tunnels >= 1, "{}", proxy.log());
    // Off: direct, though the environment names a proxy.
    s.azmi.set_proxy(&ProxySetting::Disabled).unwrap();
    s.azmi.clear_cache();
    assert!(s.secret().await.unwrap() == VALUE);
    assert_eq!(s.route(), "direct: the proxy is turned off");
    assert_eq!(proxy.connects().len(), tunnels);
    // Back to the environment.
    s.azmi.set_proxy(&env).unwrap();
    assert!(s.route().contains("(from HTTPS_PROXY)"));
    // A setting that cannot be used changes nothing.
    let e = s
        .azmi
        .set_proxy(&explicit("socks5://127.0.0.1:1080", None))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(s.route().contains("(from HTTPS_PROXY)"));
}

#[tokio::test]
async fn plain_http_with_a_token_is_refused_rather_than_proxied() {
    let proxy = Tinyproxy::start();
    let s = Setup::new(&variables(&[("http_proxy", &proxy.url())]));
    // Resource Manager at a plain-HTTP loopback address: the token would cross the proxy.
    let endpoint = format!("http://127.0.0.1:{}", s.imds_port());
    let arm = azmi::Arm::with_endpoint(&s.azmi, Arc::clone(&s.mi), &endpoint, None).unwrap();
    let e = arm
        .request("GET", "/subscriptions", Some("2022-12-01"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsecureRequest, "{e}");
    assert!(e.to_string().contains("Add 127.0.0.1 to NO_PROXY"), "{e}");
    assert!(
        proxy.log().lines().all(|l| !l.contains("Request (")),
        "{}",
        proxy.log()
    );
}

#[tokio::test]
async fn workload_identity_exchanges_its_token_through_the_proxy() {
    let proxy = Tinyproxy::start();
    let emu = Emulator::start(EmulatorConfig {
        source: IdentitySource::WorkloadIdentity,
        ..EmulatorConfig::default()
    })
    .unwrap();
    let mut env = SourceEnv::empty().arc_agent_path(std::path::Path::new("/nonexistent"));
    for (name, value) in emu.environment() {
        env = env.set(&name, &value);
    }
    let mi = ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap();
    let azmi =
        Azmi::with_settings(None, Some(&emu.ca_file()), &explicit(&proxy.url(), None)).unwrap();
    assert!(azmi.token_route(&mi).starts_with("through the proxy"));
    azmi.get_token(&mi, "https://management.azure.com/", false)
        .await
        .unwrap();
    let entra = url::Url::parse(mi.endpoint()).unwrap();
    assert_eq!(
        proxy.connects(),
        vec![format!("127.0.0.1:{}", entra.port().unwrap())]
    );
}
