use super::*;
use crate::ErrorCode;

fn env(vars: &[(&str, &str)]) -> ProxyRules {
    ProxyRules::from_setting(&ProxySetting::Variables(
        vars.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    ))
    .unwrap()
}

fn route(rules: &ProxyRules, url: &str) -> String {
    rules.route(&url::Url::parse(url).unwrap()).to_string()
}

#[test]
fn https_uses_the_first_variable_set_in_curls_order() {
    let rules = env(&[
        ("HTTPS_PROXY", "http://upper:1"),
        ("https_proxy", "http://lower:2"),
        ("ALL_PROXY", "http://all:3"),
    ]);
    assert_eq!(
        route(&rules, "https://vault.example/"),
        "through the proxy http://lower:2 (from https_proxy)"
    );
    let rules = env(&[
        ("HTTPS_PROXY", "http://upper:1"),
        ("all_proxy", "http://all:3"),
    ]);
    assert!(route(&rules, "https://v/").contains("http://upper:1 (from HTTPS_PROXY)"));
    let rules = env(&[("ALL_PROXY", "proxy.corp:3128")]);
    assert_eq!(
        route(&rules, "https://v/"),
        "through the proxy http://proxy.corp:3128 (from ALL_PROXY)"
    );
    assert!(route(&rules, "http://127.0.0.1:1/").contains("(from ALL_PROXY)"));
    // A variable set but empty decides too: no proxy, ALL_PROXY is not read (as curl).
    let rules = env(&[("https_proxy", ""), ("ALL_PROXY", "http://all:3")]);
    assert!(route(&rules, "https://v/").starts_with("direct: no proxy variable is set for https"));
}

#[test]
fn uppercase_http_proxy_is_not_read_in_a_cgi_program() {
    let rules = env(&[("HTTP_PROXY", "http://evil:1")]);
    assert!(route(&rules, "http://127.0.0.1:9/").contains("evil"));
    let rules = env(&[("HTTP_PROXY", "http://evil:1"), ("REQUEST_METHOD", "GET")]);
    assert!(route(&rules, "http://127.0.0.1:9/").starts_with("direct"));
}

#[test]
fn ports_default_as_in_curl_and_written_ports_are_kept() {
    let port = |text: &str| {
        ProxyServer::parse(text, "t", None)
            .unwrap()
            .host_and_port()
            .1
    };
    assert_eq!(port("http://proxy"), 1080);
    assert_eq!(port("proxy"), 1080);
    assert_eq!(port("http://proxy:80"), 80);
    assert_eq!(port("https://proxy"), 443);
    assert_eq!(port("http://u:p@[::1]:8080/x"), 8080);
    assert_eq!(
        ProxyServer::parse("http://[::1]:3128", "t", None)
            .unwrap()
            .shown(),
        "http://[::1]:3128"
    );
    assert_eq!(
        ProxyServer::parse("http://[::1]:3128", "t", None)
            .unwrap()
            .host_and_port()
            .0,
        "::1"
    );
}

#[test]
fn credentials_are_sent_but_never_shown() {
    let rules = env(&[("https_proxy", "http://alice:s%40cr%3At@proxy.corp:3128")]);
    let server = rules.route(&url::Url::parse("https://v/").unwrap());
    let server = server.proxy().unwrap();
    assert!(server.has_credentials());
    // Basic base64("alice:s@cr:t"), marked sensitive.
    let auth = server.authorization().unwrap();
    assert!(auth.is_sensitive());
    assert_eq!(auth.to_str().unwrap(), "Basic YWxpY2U6c0Bjcjp0");
    for shown in [
        format!("{rules:?}"),
        rules.description(),
        rules.to_json().to_string(),
        format!("{server:?}"),
        route(&rules, "https://v/"),
    ] {
        assert!(
            !shown.contains("alice") && !shown.contains("cr%3At") && !shown.contains("YWxp"),
            "{shown}"
        );
        assert!(
            shown.contains("with credentials") || shown.contains("\"credentials\":true"),
            "{shown}"
        );
    }
    // A bad URL is quoted without its credentials.
    let rules = env(&[("HTTPS_PROXY", "ftp://bob:hunter2@proxy")]);
    let e = rules
        .check(&url::Url::parse("https://v/").unwrap(), "reading x")
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    let m = e.to_string();
    assert!(!m.contains("hunter2") && !m.contains("bob"), "{m}");
    assert!(
        m.contains("HTTPS_PROXY 'ftp://proxy (credentials not shown)' has the scheme 'ftp'"),
        "{m}"
    );
    let e = ProxyRules::from_setting(&ProxySetting::Explicit {
        url: "socks5://u:pw@h:1".into(),
        no_proxy: None,
        credentials: None,
    })
    .unwrap_err();
    assert!(
        e.to_string().contains("SOCKS") && !e.to_string().contains("pw"),
        "{e}"
    );
}

#[test]
fn explicit_credentials_are_given_one_way() {
    let creds = || ProxyCredentials {
        user: "u".into(),
        password: SecretString::from("p".to_owned()),
    };
    let rules = ProxyRules::from_setting(&ProxySetting::Explicit {
        url: "http://proxy:3128".into(),
        no_proxy: Some("localhost, .corp".into()),
        credentials: Some(creds()),
    })
    .unwrap();
    assert_eq!(rules.source(), ProxySource::Explicit);
    assert_eq!(
        route(&rules, "https://v/"),
        "through the proxy http://proxy:3128 (from the explicit setting, with credentials)"
    );
    assert_eq!(
        route(&rules, "https://a.corp/"),
        "direct: the no-proxy list given names '.corp'"
    );
    for bad in ["http://x:y@proxy:1", "http://proxy"] {
        let e = ProxyRules::from_setting(&ProxySetting::Explicit {
            url: bad.into(),
            no_proxy: None,
            credentials: Some(ProxyCredentials {
                user: if bad.contains('@') { "u" } else { "a:b" }.into(),
                password: SecretString::from("p".to_owned()),
            }),
        })
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}");
    }
    let e = ProxyRules::from_setting(&ProxySetting::Explicit {
        url: "".into(),
        no_proxy: None,
        credentials: Some(creds()),
    })
    .unwrap_err();
    assert!(e.to_string().contains("without a proxy URL"), "{e}");
    let off = ProxyRules::from_setting(&ProxySetting::Explicit {
        url: " ".into(),
        no_proxy: None,
        credentials: None,
    })
    .unwrap();
    assert_eq!(off.source(), ProxySource::Disabled);
    assert_eq!(route(&off, "https://v/"), "direct: the proxy is turned off");
}

#[test]
fn no_proxy_is_read_lowercase_first_and_says_which_entry_matched() {
    let rules = env(&[
        ("HTTPS_PROXY", "http://p:1"),
        ("no_proxy", "127.0.0.1,.vault.example"),
        ("NO_PROXY", "*"),
    ]);
    assert_eq!(
        route(&rules, "https://127.0.0.1:8443/"),
        "direct: no_proxy names '127.0.0.1'"
    );
    assert_eq!(
        route(&rules, "https://x.vault.example/"),
        "direct: no_proxy names '.vault.example'"
    );
    assert!(route(&rules, "https://localhost/").starts_with("through"));
    let all = env(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "*")]);
    assert_eq!(
        route(&all, "https://x/"),
        "direct: NO_PROXY is '*' (no host uses the proxy)"
    );
}

#[test]
fn plain_http_is_never_sent_through_a_proxy() {
    let rules = env(&[("http_proxy", "http://p:1"), ("https_proxy", "http://p:1")]);
    let e = rules
        .check(
            &url::Url::parse("http://127.0.0.1:9/x").unwrap(),
            "listing '/'",
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsecureRequest);
    assert!(e.to_string().contains("Add 127.0.0.1 to NO_PROXY"), "{e}");
    assert!(rules
        .check(&url::Url::parse("https://127.0.0.1:9/x").unwrap(), "w")
        .is_ok());
    let bypassed = env(&[("http_proxy", "http://p:1"), ("no_proxy", "127.0.0.1")]);
    assert!(bypassed
        .check(&url::Url::parse("http://127.0.0.1:9/x").unwrap(), "w")
        .is_ok());
    // Only https destinations are given to reqwest's proxy.
    let rules = Arc::new(env(&[("http_proxy", "http://p:1")]));
    assert!(rules.reqwest_proxy().is_none());
}

#[test]
fn the_setting_is_described_and_given_as_json() {
    let none = env(&[]);
    assert_eq!(none.source(), ProxySource::Environment);
    assert!(
        none.description()
            .starts_with("no proxy: none of https_proxy"),
        "{}",
        none.description()
    );
    assert!(none
        .description()
        .ends_with("managed identity endpoints never go through a proxy"));
    let rules = env(&[
        ("https_proxy", "http://p:3128"),
        ("NO_PROXY", "localhost, .corp"),
    ]);
    let json = rules.to_json();
    assert_eq!(json["source"], "environment");
    assert_eq!(json["https"]["url"], "http://p:3128");
    assert_eq!(json["https"]["from"], "https_proxy");
    assert_eq!(json["https"]["credentials"], false);
    assert_eq!(json["http"], Value::Null);
    assert_eq!(json["noProxy"], json!(["localhost", ".corp"]));
    assert_eq!(json["noProxyFrom"], "NO_PROXY");
    assert!(rules
        .description()
        .contains("HTTPS requests go through http://p:3128 (from https_proxy); except for localhost, .corp (NO_PROXY)"));
}

#[test]
fn the_windows_system_proxy_has_its_own_bypass_rules() {
    let rules = ProxyRules::from_system(&SystemProxy::from_strings(
        Some("proxy.corp:8080"),
        Some("*.corp;<local>"),
        true,
        "the Windows proxy settings (Internet Options)",
    ));
    assert_eq!(rules.source(), ProxySource::System);
    assert_eq!(
        route(&rules, "https://vault.example/"),
        "through the proxy http://proxy.corp:8080 (from the Windows proxy settings (Internet Options))"
    );
    assert_eq!(
        route(&rules, "https://a.corp/"),
        "direct: the Windows proxy bypass list names '*.corp'"
    );
    assert_eq!(
        route(&rules, "https://127.0.0.1:1/"),
        "direct: the Windows proxy bypass list leaves out loopback"
    );
    assert!(rules
        .description()
        .contains("automatic proxy configuration"));
}
