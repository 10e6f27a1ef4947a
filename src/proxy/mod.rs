//! Which way a service request goes: through a proxy, or direct and why.
//!
//! Service requests (Key Vault, Blob, Data Lake, Resource Manager, and workload identity's
//! exchange at Entra ID) use the proxy the environment names, read once the way curl reads it,
//! unless one is set explicitly ([`ProxySetting`]); on Windows, with no variable set, the
//! system's proxy. Managed identity endpoints never use one: their HTTP client has no proxy at
//! all (`crate::http`).
//!
//! HTTPS goes through a `CONNECT` tunnel, so the proxy sees the host and port and nothing else
//! (no token, no SAS). A request over plain HTTP (azmi sends those only to loopback) would hand
//! its token to the proxy in clear, so it is refused with advice instead ([`ProxyRules::check`]).
//! Credentials for the proxy are kept as a sensitive header value and never shown.

mod bypass;
pub(crate) mod diagnose;
mod system;

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use bypass::Bypass;
pub use bypass::Matched;
use system::SystemProxy;

/// The variables read for https destinations, in curl's order: the first one that is set
/// decides, and an empty value means no proxy.
pub const HTTPS_VARIABLES: [&str; 4] = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"];
/// The variables read for http destinations, in curl's order. `HTTP_PROXY` is skipped in a CGI
/// program (`REQUEST_METHOD` set), where a request's `Proxy:` header would set it.
pub const HTTP_VARIABLES: [&str; 4] = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"];
/// The hosts that go direct (curl's syntax), lowercase first.
pub const NO_PROXY_VARIABLES: [&str; 2] = ["no_proxy", "NO_PROXY"];

/// How the proxy of service requests is chosen.
#[derive(Clone, Debug)]
pub enum ProxySetting {
    /// The proxy variables of this process's environment (read when the setting is applied).
    Environment,
    /// These variables (`NAME`, value) as the environment: for hosts whose runtime keeps its
    /// own copy of it (.NET on Linux and macOS).
    Variables(Vec<(String, String)>),
    /// One proxy (`http://host:port`, `https://…`; credentials in it allowed) for every service
    /// request, except the hosts of `no_proxy` (curl's `NO_PROXY` syntax).
    Explicit {
        url: String,
        no_proxy: Option<String>,
        credentials: Option<ProxyCredentials>,
    },
    /// No proxy at all.
    Disabled,
}

/// A user name and password for the proxy (HTTP Basic). `Debug` shows neither.
#[derive(Clone)]
pub struct ProxyCredentials {
    pub user: String,
    pub password: SecretString,
}

impl fmt::Debug for ProxyCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProxyCredentials { .. }")
    }
}

/// Where the proxy rules in force came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxySource {
    /// The environment's proxy variables (possibly none).
    Environment,
    /// An explicit setting.
    Explicit,
    /// Turned off explicitly.
    Disabled,
    /// Windows' system proxy (no variable was set).
    System,
}

impl ProxySource {
    /// `environment`, `explicit`, `none` or `system`.
    pub fn id(self) -> &'static str {
        match self {
            ProxySource::Environment => "environment",
            ProxySource::Explicit => "explicit",
            ProxySource::Disabled => "none",
            ProxySource::System => "system",
        }
    }
}

/// A proxy server: where to connect, where it was named, and its credentials (never shown).
pub struct ProxyServer {
    /// `scheme://host:port/`, without credentials.
    url: url::Url,
    from: String,
    authorization: Option<HeaderValue>,
}

impl ProxyServer {
    /// Reads a proxy URL as curl does: no scheme means `http://`; without a port, 1080 for
    /// http (curl's default) and 443 for https; the path is ignored; `user:password@` are
    /// percent-decoded and sent as Basic credentials. `Err` says what is wrong, never quoting
    /// credentials.
    fn parse(
        text: &str,
        from: &str,
        credentials: Option<&ProxyCredentials>,
    ) -> std::result::Result<ProxyServer, String> {
        let text = text.trim();
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let url = url::Url::parse(&with_scheme).map_err(|e| format!("is not a URL ({e})"))?;
        match url.scheme() {
            "http" | "https" => {}
            "socks4" | "socks4a" | "socks5" | "socks5h" => {
                return Err(
                    "is a SOCKS proxy, which azmi does not support; give an http:// proxy".into(),
                )
            }
            other => {
                return Err(format!(
                    "has the scheme '{other}'; a proxy is http://host:port (or https://)"
                ))
            }
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("has no host")?;
        let port = match explicit_port(&with_scheme) {
            Some(port) => port,
            None if url.scheme() == "https" => 443,
            None => 1080,
        };
        let in_url = (!url.username().is_empty() || url.password().is_some()).then(|| {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(url.username()), decode(url.password().unwrap_or("")))
        });
        let (user, password) = match (in_url, credentials) {
            (Some(_), Some(_)) => {
                return Err(
                    "holds credentials, and credentials were given besides; give them one way"
                        .into(),
                )
            }
            (Some((u, p)), None) => (Some(u), Some(SecretString::from(p))),
            (None, Some(c)) => (Some(c.user.clone()), Some(c.password.clone())),
            (None, None) => (None, None),
        };
        let authorization = match (user, password) {
            (Some(user), Some(password)) => Some(basic_authorization(&user, &password)?),
            _ => None,
        };
        let bracketed = match url.host() {
            Some(url::Host::Ipv6(a)) => format!("[{a}]"),
            _ => host.to_owned(),
        };
        let url = url::Url::parse(&format!("{}://{bracketed}:{port}/", url.scheme()))
            .map_err(|e| format!("is not a URL ({e})"))?;
        Ok(ProxyServer {
            url,
            from: from.to_owned(),
            authorization,
        })
    }

    /// `http://host:port`, without credentials.
    pub fn shown(&self) -> String {
        self.url.as_str().trim_end_matches('/').to_owned()
    }

    /// Where the proxy was named: a variable, "the explicit setting", the Windows settings.
    pub fn from(&self) -> &str {
        &self.from
    }

    pub fn has_credentials(&self) -> bool {
        self.authorization.is_some()
    }

    pub(crate) fn host_and_port(&self) -> (String, u16) {
        let host = match self.url.host() {
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => self.url.host_str().unwrap_or_default().to_owned(),
        };
        (host, self.url.port_or_known_default().unwrap_or(1080))
    }

    pub(crate) fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    pub(crate) fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }

    /// "http://host:port (from HTTPS_PROXY, with credentials)".
    pub(crate) fn described(&self) -> String {
        let creds = if self.has_credentials() {
            ", with credentials"
        } else {
            ""
        };
        format!("{} (from {}{creds})", self.shown(), self.from)
    }
}

impl fmt::Debug for ProxyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.described())
    }
}

/// The port written in a URL, if any (`url::Url` forgets a port equal to the scheme's
/// default, and curl's default for http proxies is 1080, not 80).
fn explicit_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let port = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.1.strip_prefix(':')?,
        None => host_port.split_once(':')?.1,
    };
    port.parse().ok()
}

/// `Basic base64(user:password)`, marked sensitive so that no log shows it.
fn basic_authorization(
    user: &str,
    password: &SecretString,
) -> std::result::Result<HeaderValue, String> {
    if user.contains(':') {
        return Err("has a user name with ':', which Basic credentials cannot carry".into());
    }
    let secret = zeroize::Zeroizing::new(format!("{user}:{}", password.expose_secret()));
    let encoded = zeroize::Zeroizing::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(secret.as_bytes())
    ));
    let mut value = HeaderValue::from_str(&encoded)
        .map_err(|_| "has credentials a header cannot carry".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

/// The URL with any `user:password@` taken out, for messages.
fn without_credentials(text: &str) -> String {
    let (scheme, rest) = match text.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), text),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let mut shown: String = format!("{scheme}{host}{tail}")
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(200)
        .collect();
    if authority.contains('@') {
        shown.push_str(" (credentials not shown)");
    }
    shown
}

/// The proxy for one kind of destination.
enum Slot {
    Unset,
    Server(ProxyServer),
    /// The variable holds no usable proxy URL: service requests of this kind fail and say so.
    Invalid {
        from: String,
        problem: String,
    },
}

/// The proxy rules in force: the proxy for https and for http destinations and the hosts that
/// go direct. Made once when the setting changes; deciding a request's route reads it only.
pub struct ProxyRules {
    source: ProxySource,
    https: Slot,
    http: Slot,
    bypass: Bypass,
    /// Which list `bypass` is: `NO_PROXY`, `no_proxy`, "the explicit no-proxy list", …
    bypass_from: Option<String>,
    /// Something the user should know about the setting (Windows automatic configuration).
    note: Option<String>,
}

impl ProxyRules {
    /// No proxy.
    pub fn disabled() -> ProxyRules {
        ProxyRules {
            source: ProxySource::Disabled,
            https: Slot::Unset,
            http: Slot::Unset,
            bypass: Bypass::default(),
            bypass_from: None,
            note: None,
        }
    }

    /// The rules a setting gives. An explicit proxy URL or list that cannot be used is an
    /// [`Error::InvalidArgument`]; a variable that cannot be used is kept as such, so that the
    /// requests it would carry fail with the reason (and token requests still work).
    pub fn from_setting(setting: &ProxySetting) -> Result<ProxyRules> {
        match setting {
            ProxySetting::Environment => Ok(Self::from_variables(|name| {
                std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
            })),
            ProxySetting::Variables(vars) => Ok(Self::from_variables(|name| {
                vars.iter()
                    .find(|(n, _)| n == name)
                    .or_else(|| {
                        // Windows' variable names ignore case.
                        cfg!(windows)
                            .then(|| vars.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))
                            .flatten()
                    })
                    .map(|(_, v)| v.clone())
            })),
            ProxySetting::Disabled => Ok(Self::disabled()),
            ProxySetting::Explicit {
                url,
                no_proxy,
                credentials,
            } => Self::explicit(url, no_proxy.as_deref(), credentials.as_ref()),
        }
    }

    fn explicit(
        url: &str,
        no_proxy: Option<&str>,
        credentials: Option<&ProxyCredentials>,
    ) -> Result<ProxyRules> {
        if url.trim().is_empty() {
            if credentials.is_some() || no_proxy.is_some_and(|n| !n.trim().is_empty()) {
                return Err(Error::InvalidArgument(
                    "credentials or a no-proxy list were given without a proxy URL; give the proxy's URL, e.g. http://proxy.corp:3128".into(),
                ));
            }
            return Ok(Self::disabled());
        }
        let from = "the explicit setting";
        let server = ProxyServer::parse(url, from, credentials).map_err(|problem| {
            Error::InvalidArgument(format!(
                "the proxy URL '{}' {problem}",
                without_credentials(url)
            ))
        })?;
        let https = Slot::Server(server);
        // One proxy for every scheme, as ALL_PROXY: parsed again rather than shared, the
        // rules are made once.
        let http = Slot::Server(
            ProxyServer::parse(url, from, credentials).map_err(Error::InvalidArgument)?,
        );
        let no_proxy = no_proxy.unwrap_or("");
        Ok(ProxyRules {
            source: ProxySource::Explicit,
            https,
            http,
            bypass: Bypass::from_no_proxy(no_proxy),
            bypass_from: (!no_proxy.trim().is_empty()).then(|| "the no-proxy list given".into()),
            note: None,
        })
    }

    /// The rules of the variables `get` reads (curl's, see [`HTTPS_VARIABLES`]); when none of
    /// the proxy variables is set, the system's proxy (Windows).
    fn from_variables(get: impl Fn(&str) -> Option<String>) -> ProxyRules {
        let cgi = get("REQUEST_METHOD").is_some();
        let first_set = |names: &[&'static str]| {
            names
                .iter()
                .filter(|n| !(cgi && **n == "HTTP_PROXY"))
                .find_map(|n| get(n).map(|v| (*n, v)))
        };
        let https = first_set(&HTTPS_VARIABLES);
        let http = first_set(&HTTP_VARIABLES);
        if https.is_none() && http.is_none() {
            if let Some(system) = system::read() {
                return Self::from_system(&system);
            }
        }
        let slot = |found: Option<(&str, String)>| match found {
            None => Slot::Unset,
            Some((_, v)) if v.trim().is_empty() => Slot::Unset,
            Some((name, v)) => match ProxyServer::parse(&v, name, None) {
                Ok(server) => Slot::Server(server),
                Err(problem) => Slot::Invalid {
                    from: name.to_owned(),
                    problem: format!("'{}' {problem}", without_credentials(&v)),
                },
            },
        };
        let no_proxy = first_set(&NO_PROXY_VARIABLES);
        ProxyRules {
            source: ProxySource::Environment,
            https: slot(https),
            http: slot(http),
            bypass: no_proxy
                .as_ref()
                .map_or_else(Bypass::default, |(_, v)| Bypass::from_no_proxy(v)),
            bypass_from: no_proxy
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(n, _)| n.to_owned()),
            note: None,
        }
    }

    fn from_system(system: &SystemProxy) -> ProxyRules {
        let slot = |server: &Option<String>| match server {
            None => Slot::Unset,
            Some(s) => match ProxyServer::parse(s, system.from, None) {
                Ok(server) => Slot::Server(server),
                Err(problem) => Slot::Invalid {
                    from: system.from.to_owned(),
                    problem: format!("'{}' {problem}", without_credentials(s)),
                },
            },
        };
        ProxyRules {
            source: ProxySource::System,
            https: slot(&system.https),
            http: slot(&system.http),
            bypass: Bypass::from_windows_list(&system.bypass),
            bypass_from: Some("the Windows proxy bypass list".into()),
            note: system.automatic.then(|| {
                "Windows also names automatic proxy configuration (WPAD or a PAC script), which azmi does not run; if requests must go through the proxy it chooses, set HTTPS_PROXY or set the proxy explicitly".into()
            }),
        }
    }

    pub fn source(&self) -> ProxySource {
        self.source
    }

    /// Which way a service request to `url` goes.
    pub fn route(&self, url: &url::Url) -> Route<'_> {
        let (slot, scheme) = match url.scheme() {
            "https" => (&self.https, "https"),
            "http" => (&self.http, "http"),
            _ => return Route::Direct(Direct::NoProxyFor("other", self.source)),
        };
        let server = match slot {
            Slot::Unset => return Route::Direct(Direct::NoProxyFor(scheme, self.source)),
            Slot::Invalid { from, problem } => {
                return Route::Misconfigured {
                    from: from.as_str(),
                    problem: problem.as_str(),
                }
            }
            Slot::Server(server) => server,
        };
        if let Some(host) = url.host() {
            if let Some(entry) = self.bypass.matches(&host) {
                return Route::Direct(Direct::Bypassed {
                    entry,
                    list: self.bypass_from.as_deref().unwrap_or("the no-proxy list"),
                });
            }
        }
        Route::Proxy(server)
    }

    /// Refuses a request the proxy rules cannot carry safely: one whose proxy variable holds
    /// no usable URL, and one over plain HTTP that would go through a proxy (the proxy would
    /// read its token or SAS). `what` names the request for the message.
    pub(crate) fn check(&self, url: &url::Url, what: &str) -> Result<()> {
        if matches!(self.https, Slot::Unset) && matches!(self.http, Slot::Unset) {
            return Ok(()); // no proxy: nothing to check (the common case costs two compares)
        }
        match self.route(url) {
            Route::Misconfigured { from, problem } => Err(Error::InvalidArgument(format!(
                "{what}: {from} {problem}; fix it, unset it, or set the proxy explicitly (Set-AzMiProxy, AzMiLibrary.SetProxy, azmi_set_proxy)"
            ))),
            Route::Proxy(server) if url.scheme() == "http" => Err(Error::Insecure(format!(
                "{what}: refusing to send a token over plain HTTP through the proxy {}: the proxy would read it (azmi tunnels only HTTPS through a proxy). Add {} to NO_PROXY, or use HTTPS",
                server.described(),
                url.host_str().unwrap_or("the host")
            ))),
            _ => Ok(()),
        }
    }

    /// The proxy reqwest should use for the service client, deciding per connection with
    /// [`ProxyRules::route`] (so that what azmi says is what it does). `None` without any.
    pub(crate) fn reqwest_proxy(self: &Arc<Self>) -> Option<reqwest::Proxy> {
        let Slot::Server(https) = &self.https else {
            // Plain HTTP is never proxied (see `check`), so no https proxy means none.
            return None;
        };
        let rules = Arc::clone(self);
        let proxy = reqwest::Proxy::custom(move |url| match rules.route(url) {
            Route::Proxy(server) if url.scheme() == "https" => Some(server.url.clone()),
            _ => None,
        });
        Some(match https.authorization() {
            Some(auth) => proxy.custom_http_auth(auth.clone()),
            None => proxy,
        })
    }

    /// One line for people: where service requests go.
    pub fn description(&self) -> String {
        let mut parts = Vec::new();
        match &self.https {
            Slot::Unset => {}
            Slot::Server(server) => {
                parts.push(format!("HTTPS requests go through {}", server.described()))
            }
            Slot::Invalid { from, problem } => {
                parts.push(format!("HTTPS requests fail: {from} {problem}"))
            }
        }
        match &self.http {
            Slot::Unset => {}
            Slot::Server(server) => parts.push(format!(
                "plain HTTP requests (loopback only) would go through {} and are refused, as a token is never sent through a proxy in clear",
                server.described()
            )),
            Slot::Invalid { from, problem } => {
                parts.push(format!("plain HTTP requests fail: {from} {problem}"))
            }
        }
        if parts.is_empty() {
            parts.push(match self.source {
                ProxySource::Disabled => "no proxy: turned off explicitly".to_owned(),
                ProxySource::Explicit => "no proxy".to_owned(),
                ProxySource::System => "no proxy: the Windows proxy settings name none".to_owned(),
                ProxySource::Environment => {
                    format!("no proxy: none of {} is set", HTTPS_VARIABLES.join(", "))
                }
            });
        } else if !self.bypass.is_empty() {
            parts.push(format!(
                "except for {} ({})",
                self.bypass.written().join(", "),
                self.bypass_from.as_deref().unwrap_or("no-proxy list")
            ));
        }
        parts.push("managed identity endpoints never go through a proxy".into());
        let mut text = parts.join("; ");
        if let Some(note) = &self.note {
            text.push_str(". ");
            text.push_str(note);
        }
        text
    }

    /// The setting as JSON, for `azmi_proxy_get` (documented there).
    pub fn to_json(&self) -> Value {
        let slot = |s: &Slot| match s {
            Slot::Unset => Value::Null,
            Slot::Server(server) => json!({
                "url": server.shown(),
                "from": server.from,
                "credentials": server.has_credentials(),
            }),
            Slot::Invalid { from, problem } => json!({
                "url": Value::Null,
                "from": from,
                "credentials": false,
                "problem": problem,
            }),
        };
        json!({
            "source": self.source.id(),
            "https": slot(&self.https),
            "http": slot(&self.http),
            "noProxy": self.bypass.written(),
            "noProxyFrom": self.bypass_from,
            "note": self.note,
            "description": self.description(),
        })
    }
}

impl fmt::Debug for ProxyRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description())
    }
}

/// Which way one request goes.
#[derive(Debug)]
pub enum Route<'a> {
    /// Through this proxy (https: in a `CONNECT` tunnel).
    Proxy(&'a ProxyServer),
    /// Direct, and why.
    Direct(Direct<'a>),
    /// Nowhere: the proxy variable for this kind of request holds no usable URL.
    Misconfigured { from: &'a str, problem: &'a str },
}

/// Why a request goes direct.
#[derive(Debug)]
pub enum Direct<'a> {
    /// No proxy is set for the URL's scheme (given), by the source of the rules.
    NoProxyFor(&'static str, ProxySource),
    /// A no-proxy entry names the host.
    Bypassed { entry: Matched<'a>, list: &'a str },
    /// Managed identity endpoints never go through a proxy.
    ManagedIdentityEndpoint,
}

impl Route<'_> {
    /// The proxy, when the request goes through one.
    pub fn proxy(&self) -> Option<&ProxyServer> {
        match self {
            Route::Proxy(server) => Some(server),
            _ => None,
        }
    }
}

impl fmt::Display for Route<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Proxy(server) => write!(f, "through the proxy {}", server.described()),
            Route::Misconfigured { from, problem } => {
                write!(f, "nowhere: {from} {problem}")
            }
            Route::Direct(Direct::ManagedIdentityEndpoint) => {
                f.write_str("direct: managed identity endpoints never go through a proxy")
            }
            Route::Direct(Direct::Bypassed { entry, list }) => match entry {
                Matched::Loopback => write!(f, "direct: {list} leaves out loopback"),
                Matched::Everything => write!(f, "direct: {list} is '*' (no host uses the proxy)"),
                Matched::Entry(_) => write!(f, "direct: {list} names {entry}"),
            },
            Route::Direct(Direct::NoProxyFor(scheme, source)) => match source {
                ProxySource::Disabled => f.write_str("direct: the proxy is turned off"),
                ProxySource::System => {
                    write!(
                        f,
                        "direct: the Windows proxy settings name no proxy for {scheme}"
                    )
                }
                ProxySource::Explicit => write!(f, "direct: no proxy is set for {scheme}"),
                ProxySource::Environment => {
                    let vars = if *scheme == "http" {
                        HTTP_VARIABLES
                    } else {
                        HTTPS_VARIABLES
                    };
                    write!(
                        f,
                        "direct: no proxy variable is set for {scheme} ({})",
                        vars.join(", ")
                    )
                }
            },
        }
    }
}

#[cfg(test)]
mod tests;
