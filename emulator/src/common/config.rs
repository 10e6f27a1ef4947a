//! Emulator configuration: the built-in identities and resources from `docs/emulator.md`, and the
//! JSON config file that replaces them key by key.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::common::auth::AclRule;
use crate::common::cloud::{
    default_resource_groups, default_role_assignments, default_secrets, default_storage_accounts,
    is_valid_secret_name, ResourceGroupConfig, RoleAssignment, SecretConfig, StorageAccountConfig,
    DEFAULT_ARM_PAGE_SIZE, DEFAULT_SUBSCRIPTION_ID, DEFAULT_VAULT_NAME,
};
use crate::common::cloud::{derived_version, Cloud, Secret, SecretVersion};
use crate::common::faults::Fault;
use crate::common::managed_identity::{FederationConfig, IdentityConfig, IdentitySource};

/// Tenant written into tokens unless configured otherwise.
pub const DEFAULT_TENANT_ID: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
/// The Gen2 account's name in path-style URLs unless configured otherwise.
pub const DEFAULT_DATA_LAKE_ACCOUNT: &str = "azmidatalake";
/// Lifetime of issued tokens unless configured otherwise.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3600;
/// How many polls of a Resource Manager long-running operation answer 202 before it completes.
pub const DEFAULT_ARM_OPERATION_POLLS: u32 = 1;
/// The `Retry-After` of Resource Manager's 202 answers: small, so tests and demos stay quick
/// (the live service says 15 s or more).
pub const DEFAULT_ARM_RETRY_AFTER_SECS: u64 = 1;

/// Resources Entra ID knows under exactly these spellings; anything else is AADSTS50001.
/// The trailing slash matters (`management.azure.com/` vs `vault.azure.net`), which is the point
/// of listing both forms where both exist.
pub const DEFAULT_RESOURCES: &[&str] = &[
    "https://management.azure.com/",
    "https://management.azure.com",
    "https://management.core.windows.net/",
    "https://vault.azure.net",
    "https://storage.azure.com/",
    "https://storage.azure.com",
    "https://datalake.azure.net/",
    "https://database.windows.net/",
    "https://database.windows.net",
];

/// Shape of the token response body (`--response-style`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseStyle {
    /// Real IMDS: every value is a JSON string.
    Imds,
    /// Numeric values as JSON numbers (what some other sources send).
    Numbers,
    /// `expires_on` as `1/10/2020 8:01:28 AM +00:00` (App Service 2017).
    Date,
    /// No `expires_on` at all; clients must rely on `expires_in`.
    ExpiresInOnly,
}

impl ResponseStyle {
    /// The name used on the command line and by `POST /admin/config`.
    pub fn name(self) -> &'static str {
        match self {
            ResponseStyle::Imds => "imds",
            ResponseStyle::Numbers => "numbers",
            ResponseStyle::Date => "date",
            ResponseStyle::ExpiresInOnly => "expires-in-only",
        }
    }

    /// Parses a style name; the error lists the accepted names.
    pub fn from_name(name: &str) -> Result<Self, String> {
        match name {
            "imds" => Ok(ResponseStyle::Imds),
            "numbers" => Ok(ResponseStyle::Numbers),
            "date" => Ok(ResponseStyle::Date),
            "expires-in-only" => Ok(ResponseStyle::ExpiresInOnly),
            other => Err(format!(
                "unknown response style {other:?} (expected imds, numbers, date or expires-in-only)"
            )),
        }
    }
}

impl std::str::FromStr for ResponseStyle {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ResponseStyle::from_name(s)
    }
}

impl<'de> Deserialize<'de> for ResponseStyle {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        ResponseStyle::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// Everything an [`crate::Emulator`] needs to start.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Listen address; must be loopback.
    pub bind: IpAddr,
    /// Listen port; 0 picks a free one.
    pub port: u16,
    pub tenant_id: String,
    pub token_lifetime_secs: u64,
    /// When set, token responses carry `refresh_in`.
    pub refresh_in_secs: Option<u64>,
    pub response_style: ResponseStyle,
    /// `None`: the machine has no system-assigned identity.
    pub system_assigned: Option<IdentityConfig>,
    pub user_assigned: Vec<IdentityConfig>,
    /// Resources tokens may be requested for (exact strings).
    pub resources: Vec<String>,
    /// Initial fault queue.
    pub faults: Vec<Fault>,
    /// HTTPS port of the service endpoints (Data Lake Gen1 and Gen2); 0 picks a free one.
    pub https_port: u16,
    /// Folder for `azmi-emulator-ca.pem`; `None`: a new temporary folder, removed on stop.
    pub ca_dir: Option<PathBuf>,
    /// Keep file contents in a temporary folder under this one instead of in memory (large-file
    /// benchmarks). The folder is removed on stop.
    pub data_dir: Option<PathBuf>,
    /// Service ACL rules; empty: every identity may read and write everywhere.
    pub acl: Vec<AclRule>,
    /// Host that Gen1's 307 redirects point at, instead of the host the request used.
    pub redirect_host: Option<String>,
    /// Whether a Gen1 data request (`write=true`, `append=true`, `read=true`) arriving at
    /// `redirect_host` without `Authorization` is refused (401) like any other.
    pub redirect_requires_auth: bool,
    /// Gen2 filesystems that exist at start.
    pub filesystems: Vec<String>,
    /// Name of the Gen2 account: the first segment of path-style URLs
    /// (`https://127.0.0.1:<port>/<account>/<filesystem>/…`, what Storage clients send to an IP
    /// or `localhost` host), beside the host form `https://127.0.0.1:<port>/<filesystem>/…`.
    pub data_lake_account: String,
    /// HTTPS port of Key Vault; 0 picks a free one.
    pub keyvault_port: u16,
    /// HTTPS port of Resource Manager; 0 picks a free one.
    pub arm_port: u16,
    /// Name of the one emulated vault (in its ARM resource id and error messages).
    pub vault_name: String,
    /// Resource group the vault is in (its ARM id is the scope of Key Vault role checks).
    pub vault_resource_group: String,
    /// The vault's secrets.
    pub secrets: Vec<SecretConfig>,
    /// The one emulated subscription.
    pub subscription_id: String,
    pub resource_groups: Vec<ResourceGroupConfig>,
    pub storage_accounts: Vec<StorageAccountConfig>,
    /// Who may do what on Resource Manager and Key Vault.
    pub role_assignments: Vec<RoleAssignment>,
    /// Items per page of Resource Manager lists.
    pub arm_page_size: usize,
    /// Polls of a long-running operation (resource group deletion, storage account creation)
    /// that answer 202 before it completes.
    pub arm_operation_polls: u32,
    /// `Retry-After` (seconds) of the 202 answers of long-running operations.
    pub arm_retry_after_secs: u64,
    /// The managed-identity protocol the HTTP listener speaks (IMDS unless set).
    pub source: IdentitySource,
    /// The federated credential the workload identity source accepts assertions for.
    pub federation: FederationConfig,
    /// Arc: the folder to write the challenge's key file into, created if missing (default: a
    /// new temporary folder). Microsoft's clients read key files only from the agent's own
    /// folder (`/var/opt/azcmagent/tokens` on Linux); the emulator removes only its key file.
    pub arc_tokens_dir: Option<PathBuf>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            tenant_id: DEFAULT_TENANT_ID.into(),
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            refresh_in_secs: None,
            response_style: ResponseStyle::Imds,
            system_assigned: Some(IdentityConfig::default_system_assigned()),
            user_assigned: vec![IdentityConfig::default_user_assigned()],
            resources: DEFAULT_RESOURCES.iter().map(|r| r.to_string()).collect(),
            faults: Vec::new(),
            https_port: 0,
            ca_dir: None,
            data_dir: None,
            acl: Vec::new(),
            redirect_host: None,
            redirect_requires_auth: true,
            filesystems: vec!["fs".to_string()],
            data_lake_account: DEFAULT_DATA_LAKE_ACCOUNT.into(),
            keyvault_port: 0,
            arm_port: 0,
            vault_name: DEFAULT_VAULT_NAME.into(),
            vault_resource_group: "azmi-rg".into(),
            secrets: default_secrets(),
            subscription_id: DEFAULT_SUBSCRIPTION_ID.into(),
            resource_groups: default_resource_groups(),
            storage_accounts: default_storage_accounts(),
            role_assignments: default_role_assignments(
                Some(&IdentityConfig::default_system_assigned()),
                &[IdentityConfig::default_user_assigned()],
                DEFAULT_SUBSCRIPTION_ID,
            ),
            arm_page_size: DEFAULT_ARM_PAGE_SIZE,
            arm_operation_polls: DEFAULT_ARM_OPERATION_POLLS,
            arm_retry_after_secs: DEFAULT_ARM_RETRY_AFTER_SECS,
            source: IdentitySource::Imds,
            federation: FederationConfig::default(),
            arc_tokens_dir: None,
        }
    }
}

impl EmulatorConfig {
    /// What Key Vault and Resource Manager serve, fixed at start (their URLs are set once the
    /// listeners are bound).
    pub(crate) fn cloud(&self, started: u64) -> Cloud {
        let secrets = self
            .secrets
            .iter()
            .map(|s| {
                let all = s.all_versions();
                let n = all.len() as u64;
                let versions = all
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let created = v
                            .created
                            .unwrap_or_else(|| started.saturating_sub(86_400 * (n - i as u64)));
                        SecretVersion {
                            version: v
                                .version
                                .unwrap_or_else(|| derived_version(&s.name, i))
                                .to_ascii_lowercase(),
                            value: v.value,
                            content_type: v.content_type,
                            tags: v.tags,
                            enabled: v.enabled,
                            created,
                            updated: created,
                            not_before: v.not_before,
                            expires: v.expires,
                        }
                    })
                    .collect();
                Secret {
                    name: s.name.clone(),
                    versions,
                }
            })
            .collect();
        Cloud {
            tenant_id: self.tenant_id.clone(),
            vault_name: self.vault_name.clone(),
            vault_resource_group: self.vault_resource_group.clone(),
            secrets,
            subscription_id: self.subscription_id.clone(),
            resource_groups: self.resource_groups.clone(),
            storage_accounts: self.storage_accounts.clone(),
            role_assignments: self.role_assignments.clone(),
            arm_page_size: self.arm_page_size.max(1),
            started,
            keyvault_url: String::new(),
            arm_url: String::new(),
        }
    }

    /// Reads the config file described in `docs/emulator.md` and merges it over the defaults:
    /// every key is optional and a given key replaces the default wholesale.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Self, String> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        let mut config = EmulatorConfig::default();
        config
            .merge_json(&text)
            .map_err(|e| format!("invalid config file {}: {e}", path.display()))?;
        Ok(config)
    }

    /// Applies a config-file JSON document over `self`.
    pub fn merge_json(&mut self, text: &str) -> Result<(), String> {
        let file: ConfigFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let system_given = file.system_assigned.is_some();
        let users_given = file.user_assigned.is_some();
        if let Some(tenant) = file.tenant_id {
            self.tenant_id = tenant;
        }
        if let Some(lifetime) = file.token_lifetime_seconds {
            self.token_lifetime_secs = lifetime;
        }
        if let Some(system) = file.system_assigned {
            self.system_assigned = system.map(|raw| raw.into_identity("system-assigned"));
        }
        if let Some(users) = file.user_assigned {
            self.user_assigned = users
                .into_iter()
                .map(|raw| {
                    // A name is only a label; default it to the last segment of the resource id,
                    // which is how Azure names user-assigned identities anyway.
                    let fallback = raw
                        .resource_id
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    raw.into_identity(&fallback)
                })
                .collect();
        }
        if let Some(resources) = file.resources {
            self.resources = resources;
        }
        if let Some(acl) = file.acl {
            self.acl = acl;
        }
        if let Some(filesystems) = file.filesystems {
            self.filesystems = filesystems;
        }
        if let Some(account) = file.data_lake_account {
            self.data_lake_account = account;
        }
        if let Some(host) = file.redirect_host {
            self.redirect_host = Some(host);
        }
        if let Some(requires) = file.redirect_requires_auth {
            self.redirect_requires_auth = requires;
        }
        let identities_or_subscription_changed =
            file.subscription_id.is_some() || system_given || users_given;
        if let Some(name) = file.vault_name {
            self.vault_name = name;
        }
        if let Some(group) = file.vault_resource_group {
            self.vault_resource_group = group;
        }
        if let Some(secrets) = file.secrets {
            self.secrets = secrets;
        }
        if let Some(subscription) = file.subscription_id {
            self.subscription_id = subscription;
        }
        if let Some(groups) = file.resource_groups {
            self.resource_groups = groups;
        }
        if let Some(accounts) = file.storage_accounts {
            self.storage_accounts = accounts;
        }
        if let Some(size) = file.arm_page_size {
            self.arm_page_size = size;
        }
        if let Some(polls) = file.arm_operation_polls {
            self.arm_operation_polls = polls;
        }
        if let Some(secs) = file.arm_retry_after_seconds {
            self.arm_retry_after_secs = secs;
        }
        match file.role_assignments {
            Some(assignments) => self.role_assignments = assignments,
            // The defaults name the identities and the subscription: follow them.
            None if identities_or_subscription_changed => {
                self.role_assignments = default_role_assignments(
                    self.system_assigned.as_ref(),
                    &self.user_assigned,
                    &self.subscription_id,
                )
            }
            None => {}
        }
        self.validate()
    }

    /// Rejects configurations the emulator cannot serve faithfully.
    pub fn validate(&self) -> Result<(), String> {
        check_loopback(self.bind)?;
        if self.arc_tokens_dir.is_some() && self.source != IdentitySource::Arc {
            return Err(format!(
                "an Arc tokens folder is only used with the arc source, not {}",
                self.source.name()
            ));
        }
        if self.tenant_id.trim().is_empty() {
            return Err("tenant id must not be empty".into());
        }
        let identities = self.system_assigned.iter().chain(&self.user_assigned);
        for identity in identities {
            for (what, value) in [
                ("clientId", &identity.client_id),
                ("objectId", &identity.object_id),
                ("resourceId", &identity.resource_id),
            ] {
                if value.trim().is_empty() {
                    return Err(format!(
                        "identity {:?}: {what} must not be empty",
                        identity.name
                    ));
                }
            }
        }
        for name in &self.filesystems {
            if !is_valid_filesystem_name(name) {
                return Err(format!(
                    "invalid filesystem name {name:?}: 2 to 63 characters, lower-case letters, digits and single hyphens, starting and ending with a letter or digit"
                ));
            }
        }
        let account = self.data_lake_account.as_bytes();
        if !(3..=24).contains(&account.len())
            || !account
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(format!(
                "invalid Data Lake account name {:?}: 3 to 24 lower-case letters and digits",
                self.data_lake_account
            ));
        }
        for rule in &self.acl {
            if rule.object_id.trim().is_empty() || !rule.path_prefix.starts_with('/') {
                return Err(format!(
                    "invalid ACL rule {rule:?}: objectId must not be empty and pathPrefix must start with '/'"
                ));
            }
        }
        self.validate_cloud()?;
        if let Some(host) = &self.redirect_host {
            let valid = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if !valid {
                return Err(format!(
                    "invalid redirect host {host:?}: a host name or IPv4 address, without port"
                ));
            }
        }
        Ok(())
    }
}

impl EmulatorConfig {
    /// Checks the Key Vault and Resource Manager settings.
    fn validate_cloud(&self) -> Result<(), String> {
        use base64::Engine;
        if !is_valid_secret_name(&self.vault_name) || self.vault_name.len() > 24 {
            return Err(format!(
                "invalid vault name {:?}: 1 to 24 letters, digits and hyphens",
                self.vault_name
            ));
        }
        if !is_guid(&self.subscription_id) {
            return Err(format!(
                "invalid subscription id {:?}: a GUID",
                self.subscription_id
            ));
        }
        if self.arm_page_size == 0 {
            return Err("armPageSize must be at least 1".into());
        }
        let mut names = std::collections::HashSet::new();
        for secret in &self.secrets {
            if !is_valid_secret_name(&secret.name) {
                return Err(format!(
                    "invalid secret name {:?}: 1 to 127 letters, digits and hyphens",
                    secret.name
                ));
            }
            if !names.insert(secret.name.to_ascii_lowercase()) {
                return Err(format!("secret {:?} is defined twice", secret.name));
            }
            let mut versions = std::collections::HashSet::new();
            for v in secret.all_versions() {
                if let Some(id) = &v.version {
                    let ok = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
                    if !ok || !versions.insert(id.to_ascii_lowercase()) {
                        return Err(format!(
                            "secret {:?}: version {id:?} must be 32 hex digits and unique",
                            secret.name
                        ));
                    }
                }
            }
        }
        for group in &self.resource_groups {
            if group.name.is_empty() || group.name.len() > 90 || group.name.ends_with('.') {
                return Err(format!("invalid resource group name {:?}", group.name));
            }
        }
        for account in &self.storage_accounts {
            let n = &account.name;
            if !(3..=24).contains(&n.len())
                || !n
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            {
                return Err(format!(
                    "invalid storage account name {n:?}: 3 to 24 lower-case letters and digits"
                ));
            }
            if self
                .resource_groups
                .iter()
                .all(|g| !g.name.eq_ignore_ascii_case(&account.resource_group))
            {
                return Err(format!(
                    "storage account {n:?}: resource group {:?} is not configured",
                    account.resource_group
                ));
            }
            for key in std::iter::once(&account.key).chain(account.key2.as_ref()) {
                if base64::engine::general_purpose::STANDARD
                    .decode(key)
                    .map_or(true, |k| k.is_empty())
                {
                    return Err(format!("storage account {n:?}: keys must be base64"));
                }
            }
        }
        for a in &self.role_assignments {
            let scope_ok = a.scope.eq_ignore_ascii_case("keyvault") || a.scope.starts_with('/');
            if a.object_id.trim().is_empty() || !scope_ok {
                return Err(format!(
                    "invalid role assignment {a:?}: objectId must not be empty and scope must be \"keyvault\" or start with '/'"
                ));
            }
        }
        Ok(())
    }
}

/// `8-4-4-4-12` hex digits.
pub(crate) fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Azure's filesystem (container) naming rule, `^[a-z0-9](?!.*--)[-a-z0-9]{1,61}[a-z0-9]$`,
/// except that two characters are enough: the emulator's default filesystem is `fs`.
pub(crate) fn is_valid_filesystem_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    (2..=63).contains(&bytes.len())
        && bytes.first().is_some_and(edge_ok)
        && bytes.last().is_some_and(edge_ok)
        && bytes.iter().all(|b| edge_ok(b) || *b == b'-')
        && !name.contains("--")
}

/// The emulator is a test double for a link-local service: exposing it beyond the machine would
/// hand out (fake but token-shaped) credentials to the network, so only loopback is allowed.
pub fn check_loopback(ip: IpAddr) -> Result<(), String> {
    if ip.is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "refusing to bind to {ip}: azmi-emulator only listens on loopback addresses (127.0.0.0/8 or ::1)"
        ))
    }
}

/// The config file as written by users (camelCase, every key optional).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConfigFile {
    tenant_id: Option<String>,
    token_lifetime_seconds: Option<u64>,
    /// Absent: keep the default. `null`: no system-assigned identity.
    #[serde(default, deserialize_with = "present")]
    system_assigned: Option<Option<RawIdentity>>,
    user_assigned: Option<Vec<RawIdentity>>,
    resources: Option<Vec<String>>,
    acl: Option<Vec<AclRule>>,
    filesystems: Option<Vec<String>>,
    data_lake_account: Option<String>,
    redirect_host: Option<String>,
    redirect_requires_auth: Option<bool>,
    vault_name: Option<String>,
    vault_resource_group: Option<String>,
    secrets: Option<Vec<SecretConfig>>,
    subscription_id: Option<String>,
    resource_groups: Option<Vec<ResourceGroupConfig>>,
    storage_accounts: Option<Vec<StorageAccountConfig>>,
    role_assignments: Option<Vec<RoleAssignment>>,
    arm_page_size: Option<usize>,
    arm_operation_polls: Option<u32>,
    arm_retry_after_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawIdentity {
    name: Option<String>,
    client_id: String,
    object_id: String,
    resource_id: String,
}

impl RawIdentity {
    fn into_identity(self, default_name: &str) -> IdentityConfig {
        IdentityConfig {
            name: self.name.unwrap_or_else(|| default_name.to_string()),
            client_id: self.client_id,
            object_id: self.object_id,
            resource_id: self.resource_id,
        }
    }
}

/// Distinguishes a key given as `null` (`Some(None)`) from an absent key (`None`, via `default`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_replaces_given_keys_only() {
        let mut config = EmulatorConfig::default();
        config
            .merge_json(r#"{"tenantId":"t","systemAssigned":null,"resources":["https://x"]}"#)
            .unwrap();
        assert_eq!(config.tenant_id, "t");
        assert!(config.system_assigned.is_none());
        assert_eq!(config.user_assigned.len(), 1);
        assert_eq!(config.resources, vec!["https://x".to_string()]);
        assert_eq!(config.token_lifetime_secs, DEFAULT_TOKEN_LIFETIME_SECS);
    }

    #[test]
    fn absent_system_assigned_keeps_default() {
        let mut config = EmulatorConfig::default();
        config.merge_json("{}").unwrap();
        assert!(config.system_assigned.is_some());
    }

    #[test]
    fn user_assigned_name_defaults_to_resource_name() {
        let mut config = EmulatorConfig::default();
        config
            .merge_json(
                r#"{"userAssigned":[{"clientId":"c","objectId":"o","resourceId":"/a/b/my-id"}]}"#,
            )
            .unwrap();
        assert_eq!(config.user_assigned[0].name, "my-id");
    }

    #[test]
    fn unknown_keys_and_bad_types_are_errors() {
        let mut config = EmulatorConfig::default();
        assert!(config.merge_json(r#"{"tenant":"t"}"#).is_err());
        assert!(config
            .merge_json(r#"{"tokenLifetimeSeconds":"x"}"#)
            .is_err());
        assert!(config.merge_json("not json").is_err());
    }

    #[test]
    fn service_keys() {
        let mut config = EmulatorConfig::default();
        config
            .merge_json(
                r#"{"acl":[{"objectId":"o","pathPrefix":"/fs/x","read":true}],
                    "filesystems":["fs","data-2"],"redirectHost":"localhost",
                    "redirectRequiresAuth":false}"#,
            )
            .unwrap();
        assert_eq!(config.acl.len(), 1);
        assert!(config.acl[0].read && !config.acl[0].write);
        assert_eq!(config.filesystems, vec!["fs", "data-2"]);
        assert_eq!(config.redirect_host.as_deref(), Some("localhost"));
        assert!(!config.redirect_requires_auth);
        for bad in [
            r#"{"filesystems":["Fs"]}"#,
            r#"{"filesystems":["a--b"]}"#,
            r#"{"filesystems":["a"]}"#,
            r#"{"acl":[{"objectId":"o","pathPrefix":"fs"}]}"#,
            r#"{"redirectHost":"evil.example:443"}"#,
        ] {
            assert!(EmulatorConfig::default().merge_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_fields_are_checked_at_the_top_and_in_versions() {
        let mut config = EmulatorConfig::default();
        config
            .merge_json(
                r#"{"secrets":[{"name":"a","value":"x","contentType":"text/plain","enabled":false,
                    "tags":{"k":"v"},"expires":4000000000}]}"#,
            )
            .unwrap();
        let current = &config.secrets[0].current;
        assert_eq!(current.content_type.as_deref(), Some("text/plain"));
        assert!(!current.enabled);
        assert_eq!(current.tags["k"], "v");
        assert_eq!(current.expires, Some(4_000_000_000));

        // A misspelt field is refused, not ignored: at the top, and in an older version.
        let err = config
            .merge_json(r#"{"secrets":[{"name":"a","value":"x","contentTyp":"text/plain"}]}"#)
            .unwrap_err();
        assert!(
            err.contains("secret \"a\": unknown field `contentTyp`"),
            "{err}"
        );
        let err = config
            .merge_json(r#"{"secrets":[{"name":"a","value":"x","versions":[{"value":"o","enable":true}]}]}"#)
            .unwrap_err();
        assert!(err.contains("unknown field `enable`"), "{err}");
        let err = config
            .merge_json(r#"{"secrets":[{"name":"a"}]}"#)
            .unwrap_err();
        assert!(err.contains("missing field `value`"), "{err}");
    }

    #[test]
    fn cloud_keys() {
        let mut config = EmulatorConfig::default();
        config
            .merge_json(
                r#"{"vaultName":"v1","subscriptionId":"11111111-2222-3333-4444-555555555555",
                    "secrets":[{"name":"a","value":"x","versions":[{"value":"old"}]}],
                    "resourceGroups":[{"name":"rg1"}],
                    "storageAccounts":[{"name":"acct1","resourceGroup":"rg1","key":"AAAA"}],
                    "armPageSize":5}"#,
            )
            .unwrap();
        assert_eq!(config.vault_name, "v1");
        assert_eq!(config.secrets[0].all_versions().len(), 2);
        assert_eq!(config.secrets[0].current.value, "x");
        assert_eq!(config.secrets[0].versions[0].value, "old");
        assert_eq!(config.resource_groups[0].location, "eastus");
        assert_eq!(config.arm_page_size, 5);
        assert_eq!(config.arm_operation_polls, DEFAULT_ARM_OPERATION_POLLS);
        config
            .merge_json(r#"{"armOperationPolls":3,"armRetryAfterSeconds":0}"#)
            .unwrap();
        assert_eq!(config.arm_operation_polls, 3);
        assert_eq!(config.arm_retry_after_secs, 0);
        // The default assignments follow the new subscription.
        assert!(config
            .role_assignments
            .iter()
            .any(|a| a.scope == "/subscriptions/11111111-2222-3333-4444-555555555555"));
        for bad in [
            r#"{"subscriptionId":"x"}"#,
            r#"{"secrets":[{"name":"a_b","value":"x"}]}"#,
            r#"{"secrets":[{"name":"a","value":"x"},{"name":"A","value":"y"}]}"#,
            r#"{"storageAccounts":[{"name":"acct1","resourceGroup":"nope","key":"AAAA"}]}"#,
            r#"{"roleAssignments":[{"objectId":"o","scope":"sub","role":"Reader"}]}"#,
            r#"{"roleAssignments":[{"objectId":"o","scope":"/","role":"Contributor"}]}"#,
            r#"{"armPageSize":0}"#,
        ] {
            assert!(EmulatorConfig::default().merge_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn styles_round_trip() {
        for style in [
            ResponseStyle::Imds,
            ResponseStyle::Numbers,
            ResponseStyle::Date,
            ResponseStyle::ExpiresInOnly,
        ] {
            assert_eq!(ResponseStyle::from_name(style.name()), Ok(style));
        }
        assert!(ResponseStyle::from_name("xml").is_err());
    }

    #[test]
    fn only_loopback_is_accepted() {
        assert!(check_loopback("127.0.0.1".parse().unwrap()).is_ok());
        assert!(check_loopback("127.8.9.10".parse().unwrap()).is_ok());
        assert!(check_loopback("::1".parse().unwrap()).is_ok());
        assert!(check_loopback("0.0.0.0".parse().unwrap()).is_err());
        assert!(check_loopback("10.0.0.1".parse().unwrap()).is_err());
        assert!(check_loopback("::".parse().unwrap()).is_err());
    }
}
