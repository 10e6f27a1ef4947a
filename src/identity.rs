//! Which managed identity to use, and where its token endpoint is.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::SourceKey;
use crate::environment::AzureEnvironment;
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::source::{Source, SourceConfig, SourceEnv};

/// The IMDS token URL on every Azure VM. Plain HTTP by design: it is link-local and never
/// leaves the host.
pub const IMDS_TOKEN_URL: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
/// Path of the token endpoint below an authority host (`AZURE_POD_IDENTITY_AUTHORITY_HOST`).
pub const IMDS_TOKEN_PATH: &str = "/metadata/identity/oauth2/token";
/// Full token URL override (azmi's own variable; the emulator prints it).
pub const ENV_IMDS_ENDPOINT: &str = "AZMI_IMDS_ENDPOINT";
/// Authority host override, as the Azure SDKs read it.
pub const ENV_POD_IDENTITY_HOST: &str = "AZURE_POD_IDENTITY_AUTHORITY_HOST";

/// The identity a token is asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IdentityId {
    /// The machine's system-assigned identity (no id sent).
    SystemAssigned,
    /// A user-assigned identity by its client (application) id.
    ClientId(String),
    /// A user-assigned identity by its object (principal) id.
    ObjectId(String),
    /// A user-assigned identity by its Azure resource id.
    ResourceId(String),
}

impl IdentityId {
    /// Builds the selection from the three optional ids a caller may give; more than one is an
    /// error because IMDS treats them as mutually exclusive.
    pub fn from_parts(
        client_id: Option<&str>,
        object_id: Option<&str>,
        resource_id: Option<&str>,
    ) -> Result<IdentityId> {
        let given = [client_id, object_id, resource_id]
            .iter()
            .filter(|v| v.is_some())
            .count();
        if given > 1 {
            return Err(Error::InvalidArgument(
                "give at most one of client id, object id and resource id: they select the same user-assigned identity in different ways".into(),
            ));
        }
        if let Some(id) = client_id {
            return Ok(IdentityId::ClientId(validate_guid("client id", id)?));
        }
        if let Some(id) = object_id {
            return Ok(IdentityId::ObjectId(validate_guid("object id", id)?));
        }
        if let Some(id) = resource_id {
            return Ok(IdentityId::ResourceId(validate_resource_id(id)?));
        }
        Ok(IdentityId::SystemAssigned)
    }

    /// The query parameter IMDS expects for this identity.
    pub(crate) fn query_pair(&self) -> Option<(&'static str, &str)> {
        match self {
            IdentityId::SystemAssigned => None,
            IdentityId::ClientId(v) => Some(("client_id", v)),
            IdentityId::ObjectId(v) => Some(("object_id", v)),
            IdentityId::ResourceId(v) => Some(("msi_res_id", v)),
        }
    }
}

impl fmt::Display for IdentityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityId::SystemAssigned => f.write_str("the system-assigned identity"),
            IdentityId::ClientId(v) => write!(f, "the user-assigned identity with client id {v}"),
            IdentityId::ObjectId(v) => write!(f, "the user-assigned identity with object id {v}"),
            IdentityId::ResourceId(v) => write!(f, "the user-assigned identity {v}"),
        }
    }
}

pub(crate) fn validate_guid(what: &str, value: &str) -> Result<String> {
    let v = value.trim();
    let ok = v.len() == 36
        && v.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    if ok {
        Ok(v.to_owned())
    } else {
        Err(Error::InvalidArgument(format!(
            "the {what} '{}' is not a GUID; give it as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (see the identity's Overview page)",
            printable(value)
        )))
    }
}

fn validate_resource_id(value: &str) -> Result<String> {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    if v.len() > MAX_RESOURCE_ID_LEN {
        return Err(Error::InvalidArgument(format!(
            "the resource id is {} bytes long; a user-assigned identity's resource id is at most {MAX_RESOURCE_ID_LEN}",
            v.len()
        )));
    }
    if lower.starts_with("/subscriptions/")
        && lower.contains("/providers/microsoft.managedidentity/userassignedidentities/")
        && !v.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        Ok(v.to_owned())
    } else {
        Err(Error::InvalidArgument(format!(
            "the resource id '{}' is not a user-assigned identity's resource id; it looks like /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>",
            printable(value)
        )))
    }
}

/// The longest resource (or scope) accepted. Resource URIs are short; a longer one is a
/// mistake, said before anything is sent rather than by the endpoint refusing the URL.
pub const MAX_RESOURCE_LEN: usize = 2048;
/// The longest user-assigned identity resource id accepted (Azure resource ids are far shorter).
const MAX_RESOURCE_ID_LEN: usize = 2048;

/// Turns a scope (`https://vault.azure.net/.default`) into the resource IMDS expects and checks
/// it; anything else is passed through exactly, because Entra ID matches resources exactly
/// (`https://management.azure.com/` needs its slash, `https://vault.azure.net` has none).
pub fn normalize_resource(resource: &str) -> Result<&str> {
    if resource.len() > MAX_RESOURCE_LEN {
        return Err(Error::InvalidArgument(format!(
            "the resource is {} bytes long; a resource URI is at most {MAX_RESOURCE_LEN} (e.g. https://management.azure.com/)",
            resource.len()
        )));
    }
    let r = resource.strip_suffix("/.default").unwrap_or(resource);
    if r.is_empty() {
        return Err(Error::InvalidArgument(
            "the resource is empty; give the resource URI, e.g. https://management.azure.com/"
                .into(),
        ));
    }
    if r.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::InvalidArgument(format!(
            "the resource '{}' contains white space or control characters",
            printable(r)
        )));
    }
    Ok(r)
}

/// What [`normalize_resource`] makes of `resource` when it accepts it, for looking up resources
/// it already accepted: it only removes the scope suffix, in constant time. Sound because a
/// lookup succeeds only when the result equals a resource `normalize_resource` returned before
/// (so it is valid UTF-8, non-empty, without white space or control characters), and then
/// `normalize_resource` accepts `resource` too and returns the same; a longer `resource` than
/// it accepts gives `None`.
pub(crate) fn resource_key(resource: &[u8]) -> Option<&[u8]> {
    if resource.len() > MAX_RESOURCE_LEN {
        return None;
    }
    Some(resource.strip_suffix(b"/.default").unwrap_or(resource))
}

/// Quotes user input in messages without letting control characters through.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(200)
        .collect()
}

/// Timeouts and retries of token requests.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenOptions {
    /// How long the probe of an IMDS endpoint not yet found may take (a connection, then a
    /// token request without the `Metadata` header, which IMDS refuses at once), so that a
    /// machine without a managed identity fails fast, also where something takes every
    /// connection and never answers (the Azure SDKs use 1 s too). It decides only whether IMDS
    /// is there: the token request itself is then waited for like any other.
    pub probe_timeout: Duration,
    /// Timeout of each token request.
    pub request_timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
}

impl Default for TokenOptions {
    fn default() -> Self {
        TokenOptions {
            probe_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(20),
            retry: RetryPolicy::default(),
        }
    }
}

/// A managed identity: which one, the source that issues its tokens, and how to ask.
///
/// [`ManagedIdentity::new`] detects the source from the environment (see [`SourceEnv::detect`]:
/// `AZMI_IMDS_ENDPOINT` and `AZURE_POD_IDENTITY_AUTHORITY_HOST` first, then Service Fabric, App
/// Service, Azure ML, Cloud Shell, Arc, AKS workload identity, and IMDS otherwise);
/// [`ManagedIdentity::with_source`] takes an explicit choice instead, for hosts that set the
/// variables of several; [`ManagedIdentity::with_endpoint`] is IMDS at a given URL.
#[derive(Clone, Debug)]
pub struct ManagedIdentity {
    pub(crate) identity: IdentityId,
    pub(crate) config: Arc<SourceConfig>,
    /// Identifies source, endpoint, identity and (where the source sends them) capabilities in
    /// the token cache.
    pub(crate) cache_key: SourceKey,
    pub(crate) options: TokenOptions,
    /// The cloud the identity lives in, when set for it (else the process's).
    pub(crate) environment: Option<AzureEnvironment>,
    /// The client capabilities declared with every token request (`cp1`); none by default.
    pub(crate) capabilities: Arc<[String]>,
}

impl ManagedIdentity {
    /// The identity at the source this process's environment selects.
    pub fn new(identity: IdentityId) -> Result<ManagedIdentity> {
        Self::detect(identity, &SourceEnv::from_process())
    }

    /// The identity at the source the variables of `env` select.
    pub fn detect(identity: IdentityId, env: &SourceEnv) -> Result<ManagedIdentity> {
        Self::with_source(identity, env.detect(), env)
    }

    /// The identity at an explicitly chosen source, configured from the variables of `env`
    /// (an error names the variable the source needs and `env` lacks).
    pub fn with_source(
        identity: IdentityId,
        source: Source,
        env: &SourceEnv,
    ) -> Result<ManagedIdentity> {
        let mut identity = Self::with_config(identity, env.config_for(source)?)?;
        if let Some(window) = env.imds_probe_timeout()? {
            identity.options.probe_timeout = window;
        }
        Ok(identity)
    }

    /// The identity at a source configured by hand. A source that cannot give `identity`
    /// (e.g. a user-assigned identity of Cloud Shell or Arc) is an error here, before anything
    /// is sent.
    pub fn with_config(identity: IdentityId, config: SourceConfig) -> Result<ManagedIdentity> {
        config.source().check_identity(&identity)?;
        let capabilities: Arc<[String]> = Arc::new([]);
        let cache_key = SourceKey::new(config.cache_key(&identity, &capabilities));
        Ok(ManagedIdentity {
            identity,
            config: Arc::new(config),
            cache_key,
            options: TokenOptions::default(),
            environment: None,
            capabilities,
        })
    }

    /// The identity at an explicit token URL speaking the IMDS protocol.
    pub fn with_endpoint(identity: IdentityId, token_url: &str) -> Result<ManagedIdentity> {
        Self::with_config(identity, SourceConfig::imds(token_url)?)
    }

    /// Replaces the timeouts and retry policy.
    pub fn with_options(mut self, options: TokenOptions) -> ManagedIdentity {
        self.options = options;
        self
    }

    /// Declares client capabilities (`cp1`: this client answers claims challenges) with every
    /// token request, replacing those declared before; an empty list declares none. Declare
    /// `cp1` only if the tokens go to code that answers a resource's claims challenge (as
    /// azmi's own service calls do, which declare it themselves): a resource may then revoke a
    /// token at any time. App Service, Service Fabric and workload identity send them (and
    /// their tokens are cached apart from those asked without); the other sources take none.
    /// A malformed name is an invalid argument.
    pub fn with_client_capabilities<S: AsRef<str>>(
        mut self,
        capabilities: &[S],
    ) -> Result<ManagedIdentity> {
        self.capabilities = crate::claims::parse_capabilities(capabilities)?;
        self.cache_key = SourceKey::new(self.config.cache_key(&self.identity, &self.capabilities));
        Ok(self)
    }

    /// The client capabilities declared with every token request.
    pub fn client_capabilities(&self) -> &[String] {
        &self.capabilities
    }

    /// The same identity declaring `capability` too (azmi's own service calls declare `cp1`).
    pub(crate) fn declaring(&self, capability: &str) -> ManagedIdentity {
        if self.capabilities.iter().any(|c| c == capability) {
            return self.clone();
        }
        let mut all = self.capabilities.to_vec();
        all.push(capability.to_owned());
        // The names were checked when declared; `capability` is azmi's own.
        self.clone()
            .with_client_capabilities(&all)
            .unwrap_or_else(|_| self.clone())
    }

    pub fn identity(&self) -> &IdentityId {
        &self.identity
    }

    /// The source that issues this identity's tokens.
    pub fn source(&self) -> Source {
        self.config.source()
    }

    /// The source's settings.
    pub fn config(&self) -> &SourceConfig {
        &self.config
    }

    /// The token URL requests go to.
    pub fn endpoint(&self) -> &str {
        self.config.endpoint().as_str()
    }

    pub fn options(&self) -> &TokenOptions {
        &self.options
    }

    /// Names the cloud the identity lives in (`None`: the process's, see
    /// [`AzureEnvironment::of_process`]): it decides what vault and storage account names stand
    /// for and where Resource Manager is, unless a URL says otherwise.
    pub fn with_environment(mut self, environment: Option<AzureEnvironment>) -> ManagedIdentity {
        self.environment = environment;
        self
    }

    /// The cloud set for this identity, if any.
    pub fn explicit_environment(&self) -> Option<AzureEnvironment> {
        self.environment
    }

    /// The cloud the identity lives in: its own, else the process's (an invalid
    /// `AZMI_ENVIRONMENT` is an error naming it).
    pub fn environment(&self) -> Result<AzureEnvironment> {
        match self.environment {
            Some(e) => Ok(e),
            None => AzureEnvironment::of_process(),
        }
    }
}

/// The IMDS token URL from the environment: `AZMI_IMDS_ENDPOINT` (a full token URL), else
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST` (a host, as the Azure SDKs read it), else IMDS. Other
/// sources are not considered (see [`ManagedIdentity::new`] for detection).
pub fn endpoint_from_env() -> Result<String> {
    let var = |name| {
        std::env::var(name)
            .ok()
            .filter(|v: &String| !v.trim().is_empty())
    };
    if let Some(v) = var(ENV_IMDS_ENDPOINT) {
        return Ok(v.trim().to_owned());
    }
    if let Some(v) = var(ENV_POD_IDENTITY_HOST) {
        return Ok(token_url_from_authority_host(v.trim()));
    }
    Ok(IMDS_TOKEN_URL.to_owned())
}

/// The token URL below an authority host, as the Azure SDKs build it.
pub fn token_url_from_authority_host(host: &str) -> String {
    format!("{}{}", host.trim_end_matches('/'), IMDS_TOKEN_PATH)
}

pub(crate) fn parse_endpoint(value: &str, what: &str) -> Result<url::Url> {
    let url = url::Url::parse(value.trim()).map_err(|e| {
        Error::InvalidArgument(format!(
            "{what} '{}' is not a URL ({e}); give it as http://host[:port]/path",
            printable(value)
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::InvalidArgument(format!(
            "{what} '{}' must be an http:// or https:// URL with a host",
            printable(value)
        )));
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(Error::InvalidArgument(format!(
            "{what} must not contain credentials or a fragment"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUID: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";

    #[test]
    fn one_id_selects_a_user_assigned_identity() {
        assert_eq!(
            IdentityId::from_parts(Some(GUID), None, None).unwrap(),
            IdentityId::ClientId(GUID.into())
        );
        assert_eq!(
            IdentityId::from_parts(None, Some(GUID), None).unwrap(),
            IdentityId::ObjectId(GUID.into())
        );
        let rid = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x";
        assert_eq!(
            IdentityId::from_parts(None, None, Some(rid)).unwrap(),
            IdentityId::ResourceId(rid.into())
        );
        assert_eq!(
            IdentityId::from_parts(None, None, None).unwrap(),
            IdentityId::SystemAssigned
        );
    }

    #[test]
    fn more_than_one_id_is_invalid() {
        let e = IdentityId::from_parts(Some(GUID), Some(GUID), None).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidArgument);
        assert!(e.to_string().contains("at most one"));
    }

    #[test]
    fn malformed_ids_are_invalid_and_named() {
        let e = IdentityId::from_parts(Some("not-a-guid"), None, None).unwrap_err();
        assert!(e.to_string().contains("'not-a-guid' is not a GUID"), "{e}");
        let e = IdentityId::from_parts(None, None, Some("/subscriptions/x")).unwrap_err();
        assert!(e.to_string().contains("resource id"), "{e}");
        let e = IdentityId::from_parts(Some(""), None, None).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidArgument);
    }

    #[test]
    fn scope_suffix_is_removed_and_nothing_else_changes() {
        assert_eq!(
            normalize_resource("https://vault.azure.net/.default").unwrap(),
            "https://vault.azure.net"
        );
        assert_eq!(
            normalize_resource("https://management.azure.com/").unwrap(),
            "https://management.azure.com/"
        );
        assert_eq!(
            normalize_resource("https://vault.azure.net").unwrap(),
            "https://vault.azure.net"
        );
        assert!(normalize_resource("").is_err());
        assert!(normalize_resource("/.default").is_err());
        assert!(normalize_resource("https://x/\n").is_err());
        // A huge resource is an invalid argument, said without quoting it.
        let huge = format!("https://{}.example/", "a".repeat(1 << 20));
        let e = normalize_resource(&huge).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidArgument);
        assert!(e.to_string().len() < 300, "{}", &e.to_string()[..300]);
        assert!(normalize_resource(&huge[..MAX_RESOURCE_LEN]).is_ok());
        let long_id = format!(
            "/subscriptions/x/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
            "n".repeat(4000)
        );
        let e = IdentityId::from_parts(None, None, Some(&long_id)).unwrap_err();
        assert!(e.to_string().contains("at most 2048"), "{e}");
    }

    #[test]
    fn endpoints_must_be_http_urls() {
        assert!(ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, "ftp://x/").is_err());
        assert!(ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, "nope").is_err());
        let mi = ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, "http://127.0.0.1:9/t")
            .unwrap();
        assert_eq!(mi.endpoint(), "http://127.0.0.1:9/t");
        assert_eq!(
            token_url_from_authority_host("http://127.0.0.1:5/"),
            "http://127.0.0.1:5/metadata/identity/oauth2/token"
        );
    }
}
