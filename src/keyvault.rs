//! Azure Key Vault secrets with the managed identity's tokens: get a secret (the latest or a
//! version), list the secrets of a vault and the versions of one, following `nextLink`.
//!
//! Authorization is challenge-based, as in the Azure SDKs: the first request to a vault goes
//! without a token, the vault answers 401 with `WWW-Authenticate: Bearer authorization="…",
//! resource="…"` (or `scope="…/.default"`), and the token is taken for that resource, which is
//! how vaults of every cloud work without configuration. The resource is remembered per vault
//! (in the [`Azmi`] instance), and asked for again when a token for it is refused. A resource
//! is accepted only when the vault's host is in its domain (`*.vault.azure.net` for
//! `https://vault.azure.net`, like the SDKs' challenge resource verification), so a host posing
//! as a vault cannot obtain a Key Vault token; a vault on a loopback address (azmi-emulator)
//! may name a cloud's Key Vault resource.
//!
//! Secret values live in memory that is wiped when dropped ([`secrecy::SecretString`]) and
//! never appear in errors, logs or `Debug` output.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;
use zeroize::Zeroizing;

use crate::adls::ListOutcome;
use crate::challenge::BearerChallenge;
use crate::client::Azmi;
use crate::error::{Error, Result};
use crate::identity::{printable, ManagedIdentity};
use crate::service::{display_host, is_loopback, read_json, Request, Service};

/// The api-version used unless [`KeyVault::with_api_version`] says otherwise.
pub const DEFAULT_API_VERSION: &str = "7.5";
/// The DNS suffix of vaults in the public cloud (a bare vault name gets it).
const PUBLIC_SUFFIX: &str = ".vault.azure.net";
/// The Key Vault resources of the clouds: the default for vaults in their domains, and what a
/// loopback vault may name in its challenge.
const CLOUD_RESOURCES: &[&str] = &[
    crate::resources::KEY_VAULT,
    "https://vault.usgovcloudapi.net",
    "https://vault.azure.cn",
];
/// The longest answer read (a secret is at most 25 KiB; a page of 25 items far less).
const MAX_ANSWER: usize = 4 * 1024 * 1024;

/// Where a vault is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultAddress {
    /// `https://host[:port]`, no trailing slash.
    origin: String,
    host: String,
    loopback: bool,
    /// `host[:port]`, for messages.
    display: String,
}

impl VaultAddress {
    /// A vault name (`contoso`: `https://contoso.vault.azure.net`), host
    /// (`contoso.vault.azure.cn`) or URI (`https://contoso.vault.usgovcloudapi.net/`). Only
    /// `https://`, or `http://` to a loopback address (test endpoints).
    pub fn parse(vault: &str) -> Result<VaultAddress> {
        let given = vault.trim();
        let invalid =
            |why: &str| Error::InvalidArgument(format!("the vault '{}' {why}", printable(given)));
        if given.is_empty() {
            return Err(Error::InvalidArgument(
                "the vault is empty; give its name (contoso) or its URI (https://contoso.vault.azure.net)".into(),
            ));
        }
        if given.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid("contains white space or control characters"));
        }
        let text = if given.contains("://") {
            given.to_owned()
        } else if given.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            if !(3..=24).contains(&given.len())
                || !given.starts_with(|c: char| c.is_ascii_alphabetic())
                || given.ends_with('-')
                || given.contains("--")
            {
                return Err(invalid(
                    "is not a valid vault name (3 to 24 letters, digits and single hyphens, starting with a letter)",
                ));
            }
            format!("https://{}{PUBLIC_SUFFIX}", given.to_ascii_lowercase())
        } else if given.contains('.') && !given.contains(['@', '/', '?', '#']) {
            format!("https://{given}")
        } else {
            return Err(invalid(
                "is neither a vault name nor a URI; give e.g. contoso or https://contoso.vault.azure.net",
            ));
        };
        let url = Url::parse(&text).map_err(|e| invalid(&format!("is not a valid URI ({e})")))?;
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return Err(invalid("must be an https:// URI with a host"));
        };
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
            || url.path() != "/"
        {
            return Err(invalid(
                "must be the vault's URI alone, without a path, query, fragment or credentials",
            ));
        }
        let loopback = is_loopback(&url);
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(Error::Insecure(format!(
                    "the vault '{}' is plain http://: tokens go only over HTTPS (plain HTTP only to a loopback test endpoint)",
                    printable(given)
                )))
            }
            _ => return Err(invalid("must be an https:// URI")),
        }
        Ok(VaultAddress {
            origin: url.origin().ascii_serialization(),
            display: display_host(&url),
            host,
            loopback,
        })
    }

    /// `https://host[:port]`, e.g. `https://contoso.vault.azure.net`.
    pub fn uri(&self) -> &str {
        &self.origin
    }

    /// The Key Vault resource of the vault's cloud, used when its challenge names none.
    pub fn default_resource(&self) -> &'static str {
        CLOUD_RESOURCES
            .iter()
            .find(|r| self.in_domain_of(r))
            .copied()
            .unwrap_or(crate::resources::KEY_VAULT)
    }

    /// Whether the vault's host is `resource`'s host or below it.
    fn in_domain_of(&self, resource: &str) -> bool {
        let Some(domain) = Url::parse(resource)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        else {
            return false;
        };
        self.host == domain || self.host.ends_with(&format!(".{domain}"))
    }

    /// The resource a challenge names, if the vault may ask for a token for it.
    fn accept_challenge(&self, header: &str) -> Result<Option<String>> {
        let Some(resource) = challenge_resource(header) else {
            return Ok(None);
        };
        let trimmed = resource.trim_end_matches('/');
        let cloud = CLOUD_RESOURCES
            .iter()
            .any(|r| r.eq_ignore_ascii_case(trimmed));
        if self.in_domain_of(&resource) || (self.loopback && cloud) {
            return Ok(Some(resource));
        }
        Err(Error::Insecure(format!(
            "the vault {} asked for a token for '{}', whose domain does not contain the vault's host; azmi sent no token (a vault's challenge may only name its own cloud's Key Vault resource, e.g. https://vault.azure.net for *.vault.azure.net)",
            self.display,
            printable(&resource)
        )))
    }
}

impl fmt::Display for VaultAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// The resource of a `WWW-Authenticate: Bearer …` challenge: `scope` without `/.default`, else
/// `resource` (or `resource_id`).
fn challenge_resource(header: &str) -> Option<String> {
    let challenge = BearerChallenge::parse(header)?;
    if let Some(scope) = challenge.get("scope") {
        let first = scope.split_whitespace().next().unwrap_or_default();
        return Some(first.strip_suffix("/.default").unwrap_or(first).to_owned());
    }
    challenge
        .get("resource")
        .or_else(|| challenge.get("resource_id"))
        .map(str::to_owned)
}

/// What Key Vault says about a secret (version), without its value: what a listing gives.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SecretProperties {
    /// The secret's name.
    pub name: String,
    /// The version id; `None` in [`KeyVault::list_secrets`], which lists secrets, not versions.
    pub version: Option<String>,
    /// `https://{vault}/secrets/{name}[/{version}]`.
    pub id: String,
    pub content_type: Option<String>,
    pub enabled: bool,
    /// Unix seconds.
    pub created: Option<i64>,
    pub updated: Option<i64>,
    pub expires: Option<i64>,
    pub not_before: Option<i64>,
    pub tags: BTreeMap<String, String>,
}

impl SecretProperties {
    fn from_json(v: &Value, what: &str) -> Result<SecretProperties> {
        let id = v
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Protocol(format!("{what}: a secret in the answer has no id")))?;
        let url = Url::parse(id)
            .map_err(|_| Error::Protocol(format!("{what}: a secret's id is not a URI")))?;
        let segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
        let (name, version) = match segments.as_slice() {
            ["secrets", name] => (*name, None),
            ["secrets", name, version] => (*name, Some((*version).to_owned())),
            _ => {
                return Err(Error::Protocol(format!(
                    "{what}: the secret id '{}' is not of the form …/secrets/<name>[/<version>]",
                    printable(id)
                )))
            }
        };
        let attributes = v.get("attributes").unwrap_or(&Value::Null);
        let time = |key: &str| attributes.get(key).and_then(Value::as_i64);
        let tags = v
            .get("tags")
            .and_then(Value::as_object)
            .map(|t| {
                t.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(SecretProperties {
            name: name.to_owned(),
            version,
            id: id.to_owned(),
            content_type: v
                .get("contentType")
                .and_then(Value::as_str)
                .map(str::to_owned),
            enabled: attributes
                .get("enabled")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            created: time("created"),
            updated: time("updated"),
            expires: time("exp"),
            not_before: time("nbf"),
            tags,
        })
    }
}

/// A secret with its value, as `Get-AzKeyVaultSecret` gives it. The value is wiped from memory
/// when the secret is dropped, and `Debug` shows it as `[REDACTED]`.
pub struct Secret {
    pub properties: SecretProperties,
    value: SecretString,
}

impl Secret {
    /// The value; wiped from memory when the secret is dropped.
    pub fn value(&self) -> &SecretString {
        &self.value
    }

    /// The value as text. Do not log it.
    pub fn expose_value(&self) -> &str {
        self.value.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("properties", &self.properties)
            .field("value", &"[REDACTED]")
            .finish()
    }
}

/// A vault used with a managed identity. Cheap to clone; safe to share.
#[derive(Clone)]
pub struct KeyVault {
    azmi: Azmi,
    vault: Arc<VaultAddress>,
    service: Service,
    api_version: String,
}

impl fmt::Debug for KeyVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyVault")
            .field("vault", &self.vault.origin)
            .field("api_version", &self.api_version)
            .finish()
    }
}

impl Azmi {
    /// Opens a vault (a name, host or URI: see [`VaultAddress::parse`]) with the identity `mi`.
    pub fn keyvault(&self, vault: &str, mi: &ManagedIdentity) -> Result<KeyVault> {
        KeyVault::new(self, VaultAddress::parse(vault)?, Arc::new(mi.clone()))
    }
}

/// Secret names: 1 to 127 letters, digits and hyphens.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 127
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(Error::InvalidArgument(format!(
            "'{}' is not a valid secret name (1 to 127 letters, digits and hyphens)",
            printable(name)
        )));
    }
    Ok(())
}

fn check_version(version: &str) -> Result<()> {
    if version.is_empty()
        || version.len() > 64
        || !version.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(Error::InvalidArgument(format!(
            "'{}' is not a valid secret version (letters and digits, e.g. 32 hexadecimal digits)",
            printable(version)
        )));
    }
    Ok(())
}

/// Key Vault api-versions are `<major>.<minor>` (`7.5`) or a date (`2016-10-01`), either with an
/// optional `-preview` or `-preview.<n>` (`7.6-preview.1`). The vault would refuse anything else
/// too, but only after a token was fetched for it, and without saying what form to give.
pub(crate) fn check_api_version(api_version: &str) -> Result<()> {
    let release = without_preview_suffix(api_version);
    if release.is_some_and(|r| is_numbered_release(r) || is_dated_release(r)) {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "'{}' is not a Key Vault api-version: give one like 7.5, 7.6-preview.1 or 2016-10-01, or none for the default ({DEFAULT_API_VERSION})",
        printable(api_version)
    )))
}

/// `7.6` for `7.6`, `7.6-preview` and `7.6-preview.1`; None for any other suffix.
fn without_preview_suffix(api_version: &str) -> Option<&str> {
    match api_version.split_once("-preview") {
        None => Some(api_version),
        Some((release, "")) => Some(release),
        Some((release, numbered)) => numbered
            .strip_prefix('.')
            .filter(|n| all_digits(n, 1..=3))
            .map(|_| release),
    }
}

fn all_digits(s: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// `7.5`.
fn is_numbered_release(s: &str) -> bool {
    s.split_once('.')
        .is_some_and(|(major, minor)| all_digits(major, 1..=3) && all_digits(minor, 1..=3))
}

/// `2016-10-01`.
fn is_dated_release(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    matches!(parts.as_slice(), [y, m, d]
        if all_digits(y, 4..=4) && all_digits(m, 2..=2) && all_digits(d, 2..=2))
}

impl KeyVault {
    /// `vault` used with the identity `mi`; transient failures retried under the identity's
    /// retry policy.
    pub fn new(azmi: &Azmi, vault: VaultAddress, mi: Arc<ManagedIdentity>) -> Result<KeyVault> {
        let retry = mi.options().retry.clone();
        let service = Service::new(azmi, mi, vault.default_resource(), retry)?;
        Ok(KeyVault {
            azmi: azmi.clone(),
            vault: Arc::new(vault),
            service,
            api_version: DEFAULT_API_VERSION.to_owned(),
        })
    }

    /// Uses another api-version (e.g. `7.4`, `7.6-preview.1`, `2016-10-01`) instead of 7.5.
    /// Only its form is checked here: whether the vault knows the version is the vault's to say
    /// (a 400 `BadParameter` naming the latest version it supports).
    pub fn with_api_version(mut self, api_version: &str) -> Result<KeyVault> {
        check_api_version(api_version)?;
        self.api_version = api_version.to_owned();
        Ok(self)
    }

    /// Retries transient service failures under `retry` instead of the identity's policy.
    pub fn with_retry(mut self, retry: crate::RetryPolicy) -> KeyVault {
        self.service = self.service.with_retry(retry);
        self
    }

    pub fn vault(&self) -> &VaultAddress {
        &self.vault
    }

    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The secret `name`: its latest version, or `version`.
    pub async fn get_secret(&self, name: &str, version: Option<&str>) -> Result<Secret> {
        check_name(name)?;
        let mut path = format!("/secrets/{name}");
        if let Some(v) = version {
            check_version(v)?;
            path.push('/');
            path.push_str(v);
        }
        let what = match version {
            Some(v) => format!(
                "getting version {v} of secret '{name}' from vault {}",
                self.vault
            ),
            None => format!("getting secret '{name}' from vault {}", self.vault),
        };
        let mut answer = self.call(self.url(&path)?, &what).await?;
        let properties = SecretProperties::from_json(&answer, &what)?;
        let value = match answer.get_mut("value") {
            Some(Value::String(s)) => {
                let text = Zeroizing::new(std::mem::take(s));
                SecretString::from(text.as_str())
            }
            _ => {
                return Err(Error::Protocol(format!(
                    "{what}: the answer holds no value"
                )))
            }
        };
        Ok(Secret { properties, value })
    }

    /// Lists the vault's secrets (without values), following every page; `on_item` returns
    /// `false` to stop.
    pub async fn list_secrets(
        &self,
        on_item: impl FnMut(SecretProperties) -> bool,
    ) -> Result<ListOutcome> {
        let what = format!("listing the secrets of vault {}", self.vault);
        self.list(self.url("/secrets")?, &what, on_item).await
    }

    /// Lists the versions of the secret `name` (without values), following every page;
    /// `on_item` returns `false` to stop.
    pub async fn list_versions(
        &self,
        name: &str,
        on_item: impl FnMut(SecretProperties) -> bool,
    ) -> Result<ListOutcome> {
        check_name(name)?;
        let what = format!(
            "listing the versions of secret '{name}' in vault {}",
            self.vault
        );
        self.list(
            self.url(&format!("/secrets/{name}/versions"))?,
            &what,
            on_item,
        )
        .await
    }

    fn url(&self, path: &str) -> Result<Url> {
        let mut url = Url::parse(&format!("{}{path}", self.vault.origin))
            .map_err(|e| Error::Internal(format!("a request URL did not parse: {e}")))?;
        url.query_pairs_mut()
            .append_pair("api-version", &self.api_version);
        Ok(url)
    }

    async fn list(
        &self,
        first: Url,
        what: &str,
        mut on_item: impl FnMut(SecretProperties) -> bool,
    ) -> Result<ListOutcome> {
        let mut outcome = ListOutcome {
            items: 0,
            stopped: false,
        };
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let page = self.call(url, what).await?;
            let items = page
                .get("value")
                .and_then(Value::as_array)
                .ok_or_else(|| Error::Protocol(format!("{what}: a page has no value list")))?;
            for item in items {
                let properties = SecretProperties::from_json(item, what)?;
                outcome.items += 1;
                if !on_item(properties) {
                    outcome.stopped = true;
                    return Ok(outcome);
                }
            }
            if let Some(link) = page.get("nextLink").and_then(Value::as_str) {
                let url = Url::parse(link)
                    .map_err(|_| Error::Protocol(format!("{what}: nextLink is not a URI")))?;
                if url.origin().ascii_serialization() != self.vault.origin {
                    return Err(Error::Insecure(format!(
                        "{what}: the vault's nextLink points at another host ({}); azmi does not send the token there",
                        display_host(&url)
                    )));
                }
                next = Some(url);
            }
        }
        Ok(outcome)
    }

    /// One GET with the token the vault asks for: the resource its challenge named (asked for
    /// first when not known yet, and again when a token for the known one is refused).
    async fn call(&self, url: Url, what: &str) -> Result<Value> {
        let known = self.azmi.challenge_resource(&self.vault.origin);
        let service = match &known {
            Some(resource) => self.service.clone().with_resource(resource)?,
            None => self.authorize(&url, what).await?,
        };
        let sent = service
            .send(Request::new(Method::GET, url.clone(), what).expect(&[200]))
            .await;
        let response = match sent {
            // A claims challenge was answered (or refused) by the service layer already: the
            // resource is right, the token was revoked.
            Err(e)
                if known.is_some()
                    && e.http_status() == Some(401)
                    && e.code() != crate::ErrorCode::ClaimsChallenge =>
            {
                let again = self.authorize(&url, what).await?;
                if again.resource() == service.resource() {
                    return Err(e);
                }
                again
                    .send(Request::new(Method::GET, url, what).expect(&[200]))
                    .await?
            }
            other => other?,
        };
        read_json(response, MAX_ANSWER, what).await
    }

    /// Sends the request without a token to read the vault's challenge, and returns the service
    /// with the resource it names (the cloud's default when it names none).
    async fn authorize(&self, url: &Url, what: &str) -> Result<Service> {
        let header = self
            .service
            .challenge(Request::new(Method::GET, url.clone(), what))
            .await?;
        let resource = match header {
            Some(h) => self
                .vault
                .accept_challenge(&h)
                .map_err(|e| e.within(what))?
                .unwrap_or_else(|| self.vault.default_resource().to_owned()),
            None => self.vault.default_resource().to_owned(),
        };
        let service = self.service.clone().with_resource(&resource)?;
        self.azmi
            .remember_challenge(&self.vault.origin, service.resource());
        Ok(service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn vaults_by_name_host_or_uri() {
        let v = VaultAddress::parse("Contoso-1").unwrap();
        assert_eq!(v.uri(), "https://contoso-1.vault.azure.net");
        assert_eq!(v.default_resource(), "https://vault.azure.net");
        let v = VaultAddress::parse("contoso.vault.azure.cn").unwrap();
        assert_eq!(v.uri(), "https://contoso.vault.azure.cn");
        assert_eq!(v.default_resource(), "https://vault.azure.cn");
        let v = VaultAddress::parse("https://contoso.vault.usgovcloudapi.net/").unwrap();
        assert_eq!(v.default_resource(), "https://vault.usgovcloudapi.net");
        let v = VaultAddress::parse("http://127.0.0.1:8443").unwrap();
        assert_eq!(v.uri(), "http://127.0.0.1:8443");
        for bad in [
            "",
            "ab",
            "-abc",
            "a b",
            "https://x.vault.azure.net/secrets",
            "ftp://x.y",
        ] {
            assert_eq!(
                VaultAddress::parse(bad).unwrap_err().code(),
                ErrorCode::InvalidArgument,
                "{bad}"
            );
        }
        assert_eq!(
            VaultAddress::parse("http://contoso.vault.azure.net")
                .unwrap_err()
                .code(),
            ErrorCode::InsecureRequest
        );
    }

    #[test]
    fn challenges_in_every_form() {
        assert_eq!(
            challenge_resource(
                r#"Bearer authorization="https://login.windows.net/t", resource="https://vault.azure.net""#
            )
            .as_deref(),
            Some("https://vault.azure.net")
        );
        assert_eq!(
            challenge_resource(
                r#"Bearer authorization="https://login.microsoftonline.com/t", scope="https://vault.azure.cn/.default""#
            )
            .as_deref(),
            Some("https://vault.azure.cn")
        );
        assert_eq!(
            challenge_resource(
                "Bearer authorization_uri=https://login.microsoftonline.com/t/oauth2/authorize resource_id=https://storage.azure.com"
            )
            .as_deref(),
            Some("https://storage.azure.com")
        );
        assert_eq!(challenge_resource("Bearer"), None);
        assert_eq!(challenge_resource(r#"Basic realm="x""#), None);
    }

    #[test]
    fn only_the_vaults_own_domain_may_be_challenged_for() {
        let public = VaultAddress::parse("contoso").unwrap();
        let ok = r#"Bearer authorization="a", resource="https://vault.azure.net""#;
        assert_eq!(
            public.accept_challenge(ok).unwrap().as_deref(),
            Some("https://vault.azure.net")
        );
        let evil = VaultAddress::parse("https://vault.evil.example").unwrap();
        let e = evil.accept_challenge(ok).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InsecureRequest);
        let other = r#"Bearer resource="https://management.azure.com/""#;
        assert!(public.accept_challenge(other).is_err());
        let lookalike = VaultAddress::parse("https://xvault.azure.net").unwrap();
        assert!(lookalike.accept_challenge(ok).is_err());
        let emulator = VaultAddress::parse("https://127.0.0.1:9999").unwrap();
        assert!(emulator.accept_challenge(ok).is_ok());
        assert!(emulator.accept_challenge(other).is_err());
    }

    #[test]
    fn api_versions_are_checked_for_their_form() {
        for good in [
            "7.5",
            "7.0",
            "7.6-preview.1",
            "7.2-preview",
            "2016-10-01",
            "2026-01-01-preview",
        ] {
            assert!(check_api_version(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "7",
            "7.",
            ".5",
            "7.5&x=y",
            "7.5 ",
            "v7.5",
            "7.5-beta",
            "7.6-preview.",
            "7.6-preview.x",
            "7.6-previewx",
            "2016-10",
            "2016-1-01",
            "7.5.1",
        ] {
            let e = check_api_version(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}");
            assert!(e.to_string().contains("like 7.5, 7.6-preview.1"), "{e}");
        }
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = Secret {
            properties: SecretProperties::default(),
            value: SecretString::from("hunter2"),
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose_value(), "hunter2");
    }
}
