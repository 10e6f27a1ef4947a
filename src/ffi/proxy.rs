//! The proxy of service requests: set it, read it, and ask which way a request goes.

use std::ffi::c_char;

use secrecy::SecretString;

use super::args::{opt_str_arg, str_arg};
use super::boundary::guard;
use super::error::azmi_error;
use super::handle::{null_argument, Out};
use super::status::azmi_status;
use super::string::azmi_string;
use crate::error::{Error, Result};
use crate::proxy::{
    ProxyCredentials, ProxySetting, HTTPS_VARIABLES, HTTP_VARIABLES, NO_PROXY_VARIABLES,
};
use crate::runtime::engine;

/// Chooses the proxy of this process's service requests (Key Vault, Blob, Data Lake, Resource
/// Manager, and workload identity's exchange at Entra ID). Managed identity endpoints (IMDS,
/// App Service, Arc, Service Fabric, Cloud Shell, Azure ML) never go through a proxy, whatever
/// is set.
///
/// - `url` NULL: the proxy the environment names, read again now, as curl reads it:
///   `https_proxy`/`HTTPS_PROXY` for https, `http_proxy`/`HTTP_PROXY` for http, then
///   `all_proxy`/`ALL_PROXY` (the first one set decides, lowercase first), and
///   `no_proxy`/`NO_PROXY`; on Windows, with none of them set, the system's proxy (WinHTTP, as
///   .NET's `HttpClient`). This is also what azmi does when it starts, once.
/// - `url` "": no proxy.
/// - otherwise the proxy of every service request: `http://host:port` (no scheme: http; no
///   port: 1080, as in curl) or `https://host:port`. Credentials may be in it, percent-encoded
///   (`http://user:p%40ss@proxy:3128`): they are sent to the proxy only (Basic), and never
///   shown.
///
/// `no_proxy`: the hosts that go direct, in curl's `NO_PROXY` syntax: a comma-separated list of
/// host names (each matching its subdomains too; a leading dot changes nothing), IP addresses
/// and CIDR ranges, or `*` for every host. Loopback goes through the proxy unless listed, as
/// in curl. NULL or "" for none; it must be NULL when `url` is NULL.
///
/// HTTPS requests go through a `CONNECT` tunnel: the proxy sees the host and port, never a
/// token or a SAS. A plain HTTP request (azmi sends those only to loopback test endpoints) that
/// would go through the proxy is refused with `AZMI_INSECURE_REQUEST`. A URL or list that
/// cannot be used is `AZMI_INVALID_ARGUMENT` and changes nothing. Applies to requests started
/// afterwards, and survives `azmi_shutdown`.
#[no_mangle]
pub unsafe extern "C" fn azmi_set_proxy(
    url: *const c_char,
    no_proxy: *const c_char,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or NUL-terminated strings (contract).
        let (url, no_proxy) =
            unsafe { (opt_str_arg(url, "url")?, opt_str_arg(no_proxy, "no_proxy")?) };
        let setting = match url {
            None if no_proxy.is_some() => {
                return Err(Error::InvalidArgument(
                    "no_proxy was given without a proxy url; with url NULL the environment's NO_PROXY applies".into(),
                ))
            }
            None => ProxySetting::Environment,
            Some(url) => ProxySetting::Explicit {
                url: url.to_owned(),
                no_proxy: no_proxy.map(str::to_owned),
                credentials: None,
            },
        };
        crate::runtime::set_proxy(setting)
    })
}

/// As `azmi_set_proxy` with an explicit `url` (not NULL, not ""), with the proxy's user name
/// and password given apart from the URL (which must then hold none): for credentials with
/// characters a URL would need encoded. `username` must not contain ':' (Basic credentials
/// cannot carry one). The password is kept in memory that is wiped, sent to the proxy only, and
/// never shown.
#[no_mangle]
pub unsafe extern "C" fn azmi_set_proxy_with_credentials(
    url: *const c_char,
    no_proxy: *const c_char,
    username: *const c_char,
    password: *const c_char,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        // SAFETY: NULL or NUL-terminated strings (contract).
        let (url, no_proxy, user, password) = unsafe {
            (
                str_arg(url, "url")?,
                opt_str_arg(no_proxy, "no_proxy")?,
                str_arg(username, "username")?,
                str_arg(password, "password")?,
            )
        };
        if url.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "url is empty; give the proxy's URL, e.g. http://proxy.corp:3128".into(),
            ));
        }
        crate::runtime::set_proxy(ProxySetting::Explicit {
            url: url.to_owned(),
            no_proxy: no_proxy.map(str::to_owned),
            credentials: Some(ProxyCredentials {
                user: user.to_owned(),
                password: SecretString::from(password.to_owned()),
            }),
        })
    })
}

/// Reads the proxy from `variables` as `azmi_set_proxy(NULL, NULL)` reads it from the
/// environment: `count` strings `NAME=value`, e.g. the proxy variables of a .NET or PowerShell
/// process, whose runtime keeps its own copy of the environment on Linux and macOS (a value set
/// there never reaches azmi's `getenv`). Only the proxy variables are kept (`https_proxy`,
/// `http_proxy`, `all_proxy`, `no_proxy` in either case, and `REQUEST_METHOD`); the others
/// are ignored. With none of the proxy variables, on Windows, the system's proxy. `variables`
/// may be NULL when `count` is 0 (no variable: no proxy, or the system's). A NULL string, or
/// one without `=`, is `AZMI_INVALID_ARGUMENT` and changes nothing.
#[no_mangle]
pub unsafe extern "C" fn azmi_set_proxy_environment(
    variables: *const *const c_char,
    count: usize,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        if variables.is_null() && count > 0 {
            return Err(null_argument("variables"));
        }
        let mut kept = Vec::new();
        for i in 0..count {
            // SAFETY: `variables` points to `count` pointers (contract), each NULL or a
            // NUL-terminated string.
            let text = unsafe { str_arg(*variables.add(i), "a variable")? };
            let (name, value) = text.split_once('=').ok_or_else(|| {
                Error::InvalidArgument(format!("variable {i} has no '='; give each as NAME=value"))
            })?;
            if is_proxy_variable(name) {
                kept.push((name.to_owned(), value.to_owned()));
            }
        }
        crate::runtime::set_proxy(ProxySetting::Variables(kept))
    })
}

fn is_proxy_variable(name: &str) -> bool {
    HTTPS_VARIABLES
        .iter()
        .chain(&HTTP_VARIABLES)
        .chain(&NO_PROXY_VARIABLES)
        .chain(&["REQUEST_METHOD"])
        .any(|v| v.eq_ignore_ascii_case(name))
}

/// The proxy setting in force, as JSON: `{"source": "environment" | "explicit" | "none" |
/// "system", "https": P, "http": P, "noProxy": ["entry", …], "noProxyFrom": "NO_PROXY" | … |
/// null, "note": "…" | null, "description": "one line for people"}`, where `P` is null (no
/// proxy for that scheme) or `{"url": "http://host:port" (never with credentials), "from":
/// "HTTPS_PROXY" | "the explicit setting" | …, "credentials": true | false}`, with `"url": null`
/// and a `"problem"` when the variable holds no usable proxy URL (then those requests fail,
/// saying so). `http` proxies are reported but never used: plain HTTP requests that would go
/// through one are refused. On success `*json_out` receives a new `azmi_string`.
#[no_mangle]
pub unsafe extern "C" fn azmi_proxy_get(
    json_out: *mut *mut azmi_string,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let json_out = Out::new(json_out, "json_out")?;
        let rules = engine()?.azmi.proxy();
        json_out.set(azmi_string::new(&rules.to_json().to_string()));
        Ok(())
    })
}

/// Which way a service request to `url` (an http(s) URL) would go now, as a sentence: e.g.
/// "through the proxy http://proxy.corp:3128 (from HTTPS_PROXY, with credentials)",
/// "direct: NO_PROXY names '.corp.example'", "direct: no proxy variable is set for https
/// (…)". Credentials are never shown. A URL that is not http(s) is `AZMI_INVALID_ARGUMENT`. For
/// a token endpoint, see `azmi_identity_proxy_route`. On success `*route_out` receives a new
/// `azmi_string`.
#[no_mangle]
pub unsafe extern "C" fn azmi_proxy_route(
    url: *const c_char,
    route_out: *mut *mut azmi_string,
    err_out: *mut *mut azmi_error,
) -> azmi_status {
    guard(err_out, || {
        let route_out = Out::new(route_out, "route_out")?;
        // SAFETY: NULL or a NUL-terminated string (contract).
        let text = unsafe { str_arg(url, "url")? };
        let url = parse_http_url(text)?;
        let rules = engine()?.azmi.proxy();
        route_out.set(azmi_string::new(&rules.route(&url).to_string()));
        Ok(())
    })
}

fn parse_http_url(text: &str) -> Result<url::Url> {
    url::Url::parse(text.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "'{}' is not an http(s) URL with a host",
                crate::identity::printable(text)
            ))
        })
}
