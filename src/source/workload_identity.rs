//! AKS workload identity: the Kubernetes service-account token in `AZURE_FEDERATED_TOKEN_FILE`
//! is exchanged as a client assertion at Entra ID's v2 token endpoint
//! (`POST {authority}/{tenant}/oauth2/v2.0/token`, client credentials grant, scope
//! `<resource>/.default`). The file is read for every request because the kubelet rotates it.
//! Entra ID's refusals (`AADSTS…`) reach the caller with their code and text.

use std::io::Read;
use std::path::Path;

use reqwest::header::CONTENT_TYPE;
use zeroize::Zeroizing;

use super::exchange::{self, Attempt, Ctx};
use crate::error::{Error, Result};

/// Entra ID in the public cloud (`AZURE_AUTHORITY_HOST` names another).
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com/";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The largest federated token file read (service-account tokens are about 1 KiB).
const MAX_ASSERTION_FILE: u64 = 64 * 1024;

/// `{authority}/{tenant}/oauth2/v2.0/token`, HTTPS only (plain HTTP only to loopback, as
/// everywhere in azmi: a client assertion is as good as a secret).
pub(super) fn token_url(authority_host: Option<&str>, tenant_id: &str) -> Result<url::Url> {
    let tenant = tenant_id.trim();
    let tenant_ok = !tenant.is_empty()
        && tenant.len() <= 256
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
    if !tenant_ok {
        return Err(Error::InvalidArgument(format!(
            "the tenant id (AZURE_TENANT_ID) '{}' is neither a GUID nor a domain name",
            crate::identity::printable(tenant_id)
        )));
    }
    let authority = authority_host.unwrap_or(DEFAULT_AUTHORITY_HOST);
    let base =
        crate::identity::parse_endpoint(authority, "the authority host (AZURE_AUTHORITY_HOST)")?;
    if base.scheme() != "https" && !is_loopback(&base) {
        return Err(Error::Insecure(format!(
            "the authority host {base} is not HTTPS; a federated token is sent only over HTTPS (plain HTTP only to loopback)"
        )));
    }
    if base.query().is_some() {
        return Err(Error::InvalidArgument(format!(
            "the authority host {base} must not have a query"
        )));
    }
    let url = format!(
        "{}/{tenant}/oauth2/v2.0/token",
        base.as_str().trim_end_matches('/')
    );
    crate::identity::parse_endpoint(&url, "the token endpoint")
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The v2 scope for a resource: `https://vault.azure.net` → `https://vault.azure.net/.default`;
/// a trailing slash is not doubled (`https://management.azure.com/` →
/// `https://management.azure.com/.default`, the scope the Azure SDKs send).
pub(crate) fn scope_for(resource: &str) -> String {
    format!(
        "{}/.default",
        resource.strip_suffix('/').unwrap_or(resource)
    )
}

pub(super) async fn attempt(
    ctx: &Ctx<'_>,
    net: &crate::http::Network,
    token_url: &url::Url,
    client_id: &str,
    token_file: &Path,
    claims: Option<&str>,
) -> Attempt {
    let assertion = match read_assertion(token_file) {
        Ok(a) => a,
        Err(e) => return Attempt::Fatal(e),
    };
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials")
            .append_pair("client_id", client_id)
            .append_pair("client_assertion_type", ASSERTION_TYPE)
            .append_pair("client_assertion", &assertion)
            .append_pair("scope", &scope_for(ctx.resource));
        if let Some(claims) = claims {
            // A challenge's claims merged with the declared capabilities, as MSAL sends them.
            form.append_pair("claims", claims);
        }
        Zeroizing::new(form.finish())
    };
    let request = net
        .service
        .post(token_url.clone())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.as_bytes().to_vec());
    let route = net.proxy.route(token_url);
    let via = route.proxy().map(|server| (server, token_url));
    exchange::attempt_via(ctx, request, via).await
}

/// The federated token, read afresh (the kubelet replaces the file before it expires).
fn read_assertion(path: &Path) -> Result<Zeroizing<String>> {
    let cannot = |e: std::io::Error| {
        Error::Io(format!(
            "the federated token file {} (AZURE_FEDERATED_TOKEN_FILE) could not be read: {e}",
            path.display()
        ))
    };
    let mut bytes = Zeroizing::new(Vec::new());
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_ASSERTION_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_ASSERTION_FILE {
        return Err(Error::Protocol(format!(
            "the federated token file {} is longer than {MAX_ASSERTION_FILE} bytes; it does not hold a service account token",
            path.display()
        )));
    }
    let token = std::str::from_utf8(&bytes)
        .ok()
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            Error::Protocol(format!(
                "the federated token file {} does not hold a token (it is empty or not a JWT)",
                path.display()
            ))
        })?;
    Ok(Zeroizing::new(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_is_the_resource_with_default() {
        assert_eq!(
            scope_for("https://vault.azure.net"),
            "https://vault.azure.net/.default"
        );
        assert_eq!(
            scope_for("https://management.azure.com/"),
            "https://management.azure.com/.default"
        );
        assert_eq!(scope_for("api://my-app"), "api://my-app/.default");
    }

    #[test]
    fn token_url_is_https_or_loopback_and_tenant_is_checked() {
        assert_eq!(
            token_url(None, "contoso.onmicrosoft.com").unwrap().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            token_url(Some("http://127.0.0.1:5/"), "t")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:5/t/oauth2/v2.0/token"
        );
        let e = token_url(Some("http://login.example.com"), "t").unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InsecureRequest);
        for bad in ["", "a/b", "../x", "a b", "t?x=1"] {
            let e = token_url(None, bad).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidArgument, "{bad}");
        }
    }
}
