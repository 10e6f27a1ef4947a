//! The emulated Azure "cloud" behind Key Vault and Resource Manager: the vault's secrets, the
//! subscription's resource groups and storage accounts, and per-identity role assignments.
//!
//! Configuration types (public, also read from the config file) and the read-only runtime view
//! the two services share.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::common::environment::CloudEnvironment;
use crate::common::managed_identity::IdentityConfig;

/// Default subscription id.
pub const DEFAULT_SUBSCRIPTION_ID: &str = "00000000-0000-0000-0000-000000000000";
/// Default vault name.
pub const DEFAULT_VAULT_NAME: &str = "mi-lab-vault";
/// Azurite's (and the classic storage emulator's) well-known account.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known key for `devstoreaccount1`.
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// Default page size of Resource Manager lists (small, so clients' paging is exercised).
pub const DEFAULT_ARM_PAGE_SIZE: usize = 2;

/// One version of a secret.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretVersionConfig {
    /// 32 lower-case hex digits; default: derived from the secret name and position.
    #[serde(default)]
    pub version: Option<String>,
    pub value: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Epoch seconds; default: the emulator's start time minus one day per newer version.
    #[serde(default)]
    pub created: Option<u64>,
    #[serde(default)]
    pub not_before: Option<u64>,
    #[serde(default)]
    pub expires: Option<u64>,
}

impl SecretVersionConfig {
    /// A plain enabled version holding `value`.
    pub fn new(value: &str) -> Self {
        SecretVersionConfig {
            version: None,
            value: value.into(),
            content_type: None,
            tags: BTreeMap::new(),
            enabled: true,
            created: None,
            not_before: None,
            expires: None,
        }
    }
}

/// A secret: `current` is its latest version, whose fields stand at the top level of the JSON
/// object beside `name`; `versions` are the older ones, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "SecretJson")]
pub struct SecretConfig {
    pub name: String,
    pub current: SecretVersionConfig,
    pub versions: Vec<SecretVersionConfig>,
}

/// A secret as written in JSON. serde's `deny_unknown_fields` does not work beside `flatten`,
/// so the fields no part claims are collected (after `current` took its own) and refused.
#[derive(Deserialize)]
struct SecretJson {
    name: String,
    #[serde(flatten)]
    current: SecretVersionConfig,
    #[serde(default)]
    versions: Vec<SecretVersionConfig>,
    #[serde(flatten)]
    unknown: BTreeMap<String, serde::de::IgnoredAny>,
}

impl TryFrom<SecretJson> for SecretConfig {
    type Error = String;

    fn try_from(json: SecretJson) -> Result<Self, String> {
        if let Some(field) = json.unknown.keys().next() {
            return Err(format!("secret {:?}: unknown field `{field}`", json.name));
        }
        Ok(SecretConfig {
            name: json.name,
            current: json.current,
            versions: json.versions,
        })
    }
}

impl SecretConfig {
    /// A plain enabled secret with one version.
    pub fn new(name: &str, value: &str) -> Self {
        SecretConfig {
            name: name.into(),
            current: SecretVersionConfig::new(value),
            versions: Vec::new(),
        }
    }

    /// Every version, oldest first (the current one last).
    pub fn all_versions(&self) -> Vec<SecretVersionConfig> {
        let mut all = self.versions.clone();
        all.push(self.current.clone());
        all
    }
}

fn yes() -> bool {
    true
}

/// A resource group of the subscription.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceGroupConfig {
    pub name: String,
    #[serde(default = "eastus")]
    pub location: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn eastus() -> String {
    "eastus".into()
}

/// A storage account; `key` (base64) signs the SAS tokens `listServiceSas`/`listAccountSas`
/// return.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StorageAccountConfig {
    pub name: String,
    pub resource_group: String,
    /// key1, base64.
    pub key: String,
    /// key2, base64; default: derived from key1.
    #[serde(default)]
    pub key2: Option<String>,
    #[serde(default = "eastus")]
    pub location: String,
    /// `primaryEndpoints.blob`; default `https://<name>.blob.core.windows.net/` (Azurite's
    /// `http://127.0.0.1:10000/devstoreaccount1/` for `devstoreaccount1`).
    #[serde(default)]
    pub blob_endpoint: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Built-in roles the emulator knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Role {
    /// `*/read` control-plane actions.
    Reader,
    /// `Microsoft.Storage/storageAccounts/*` (read, listKeys, listServiceSas, listAccountSas)
    /// and resource-group read.
    #[serde(rename = "Storage Account Contributor")]
    StorageAccountContributor,
    /// Key Vault data actions `secrets/getSecret/action` and `secrets/readMetadata/action`.
    #[serde(rename = "Key Vault Secrets User")]
    KeyVaultSecretsUser,
    /// Every Key Vault secret data action (`Microsoft.KeyVault/vaults/secrets/*`): read, set,
    /// delete, recover, purge.
    #[serde(rename = "Key Vault Secrets Officer")]
    KeyVaultSecretsOfficer,
    /// Every control-plane action, no data actions (as in Azure: Owner cannot read secrets).
    Owner,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Reader => "Reader",
            Role::StorageAccountContributor => "Storage Account Contributor",
            Role::KeyVaultSecretsUser => "Key Vault Secrets User",
            Role::KeyVaultSecretsOfficer => "Key Vault Secrets Officer",
            Role::Owner => "Owner",
        }
    }

    /// Whether this role grants `action` (compared case-insensitively).
    fn allows(self, action: &str) -> bool {
        let action = action.to_ascii_lowercase();
        let data_action = action.starts_with("microsoft.keyvault/vaults/secrets/");
        match self {
            Role::Owner => !data_action,
            Role::Reader => !data_action && action.ends_with("/read"),
            Role::StorageAccountContributor => {
                action.starts_with("microsoft.storage/storageaccounts/")
                    || action == "microsoft.resources/subscriptions/resourcegroups/read"
            }
            Role::KeyVaultSecretsUser => {
                action == actions::GET_SECRET || action == actions::READ_SECRET_METADATA
            }
            Role::KeyVaultSecretsOfficer => data_action,
        }
    }
}

/// Action names (lower-case) as Azure RBAC spells them.
pub(crate) mod actions {
    pub const RESOURCE_GROUP_READ: &str = "microsoft.resources/subscriptions/resourcegroups/read";
    pub const STORAGE_READ: &str = "microsoft.storage/storageaccounts/read";
    pub const STORAGE_LIST_KEYS: &str = "microsoft.storage/storageaccounts/listkeys/action";
    pub const STORAGE_LIST_SERVICE_SAS: &str =
        "microsoft.storage/storageaccounts/listservicesas/action";
    pub const STORAGE_LIST_ACCOUNT_SAS: &str =
        "microsoft.storage/storageaccounts/listaccountsas/action";
    pub const GET_SECRET: &str = "microsoft.keyvault/vaults/secrets/getsecret/action";
    pub const READ_SECRET_METADATA: &str = "microsoft.keyvault/vaults/secrets/readmetadata/action";
    pub const SET_SECRET: &str = "microsoft.keyvault/vaults/secrets/setsecret/action";
    pub const DELETE_SECRET: &str = "microsoft.keyvault/vaults/secrets/delete";
    pub const RECOVER_SECRET: &str = "microsoft.keyvault/vaults/secrets/recover/action";
    pub const PURGE_SECRET: &str = "microsoft.keyvault/vaults/secrets/purge/action";

    /// A Key Vault data action as Azure spells it in messages.
    pub fn display_name(action: &str) -> &'static str {
        match action {
            GET_SECRET => "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            SET_SECRET => "Microsoft.KeyVault/vaults/secrets/setSecret/action",
            DELETE_SECRET => "Microsoft.KeyVault/vaults/secrets/delete",
            RECOVER_SECRET => "Microsoft.KeyVault/vaults/secrets/recover/action",
            PURGE_SECRET => "Microsoft.KeyVault/vaults/secrets/purge/action",
            _ => "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        }
    }
}

/// `role` granted to the identity `object_id` at `scope`: an ARM resource id prefix
/// (`/subscriptions/<id>`, `/subscriptions/<id>/resourceGroups/<rg>`, …; `/` is everything), or
/// `keyvault` for the emulated vault.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleAssignment {
    pub object_id: String,
    pub scope: String,
    pub role: Role,
}

/// The default assignments: the system-assigned identity is Owner on the subscription and Key
/// Vault Secrets Officer on the vault (it may write secrets); every user-assigned identity is
/// Reader on the subscription and Key Vault Secrets User (it may only read them).
pub fn default_role_assignments(
    system: Option<&IdentityConfig>,
    users: &[IdentityConfig],
    subscription_id: &str,
) -> Vec<RoleAssignment> {
    let subscription = format!("/subscriptions/{subscription_id}");
    let mut out = Vec::new();
    if let Some(system) = system {
        out.push(RoleAssignment {
            object_id: system.object_id.clone(),
            scope: subscription.clone(),
            role: Role::Owner,
        });
        out.push(RoleAssignment {
            object_id: system.object_id.clone(),
            scope: "keyvault".into(),
            role: Role::KeyVaultSecretsOfficer,
        });
    }
    for user in users {
        out.push(RoleAssignment {
            object_id: user.object_id.clone(),
            scope: subscription.clone(),
            role: Role::Reader,
        });
        out.push(RoleAssignment {
            object_id: user.object_id.clone(),
            scope: "keyvault".into(),
            role: Role::KeyVaultSecretsUser,
        });
    }
    out
}

/// The default secrets: `mi-test` ("Hello from Key Vault", two versions), the disabled
/// `mi-disabled`, and `paging-secret-01` … `paging-secret-30` so a list has more than one page.
pub fn default_secrets() -> Vec<SecretConfig> {
    let mut tags = BTreeMap::new();
    tags.insert("purpose".to_string(), "azmi-tests".to_string());
    let mut mi_test = SecretConfig::new("mi-test", "Hello from Key Vault");
    mi_test.current.content_type = Some("text/plain".into());
    mi_test.current.tags = tags.clone();
    mi_test.versions = vec![SecretVersionConfig {
        content_type: Some("text/plain".into()),
        tags,
        ..SecretVersionConfig::new("Hello from Key Vault (version 1)")
    }];
    let mut disabled = SecretConfig::new("mi-disabled", "you cannot read this");
    disabled.current.enabled = false;
    let mut out = vec![mi_test, disabled];
    for i in 1..=30 {
        out.push(SecretConfig::new(
            &format!("paging-secret-{i:02}"),
            &format!("paging value {i}"),
        ));
    }
    out
}

pub fn default_resource_groups() -> Vec<ResourceGroupConfig> {
    let tags = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>()
    };
    vec![
        ResourceGroupConfig {
            name: "azmi-rg".into(),
            location: "eastus".into(),
            tags: tags(&[("environment", "test"), ("owner", "azmi")]),
        },
        ResourceGroupConfig {
            name: "DevTest".into(),
            location: "eastus".into(),
            tags: tags(&[("environment", "dev")]),
        },
    ]
}

pub fn default_storage_accounts() -> Vec<StorageAccountConfig> {
    vec![StorageAccountConfig {
        name: AZURITE_ACCOUNT.into(),
        resource_group: "azmi-rg".into(),
        key: AZURITE_KEY.into(),
        key2: None,
        location: "eastus".into(),
        blob_endpoint: None,
        tags: BTreeMap::new(),
    }]
}

/// Whether `name` is a valid Key Vault object name (1–127 letters, digits, hyphens).
pub(crate) fn is_valid_secret_name(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A stable 32-hex-digit version id for version `index` of `name`.
pub(crate) fn derived_version(name: &str, index: usize) -> String {
    let digest = Sha256::digest(format!(
        "azmi-emulator/{}/{index}",
        name.to_ascii_lowercase()
    ));
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// key2 derived from key1, so it is stable across runs.
pub(crate) fn derived_key2(key1: &str) -> String {
    use base64::Engine;
    let mut bytes = Sha256::digest(format!("azmi-emulator/key2/{key1}")).to_vec();
    bytes.extend_from_slice(&Sha256::digest(format!("azmi-emulator/key2b/{key1}")));
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One version as served.
#[derive(Clone, Debug)]
pub(crate) struct SecretVersion {
    pub version: String,
    pub value: String,
    pub content_type: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub enabled: bool,
    pub created: u64,
    pub updated: u64,
    pub not_before: Option<u64>,
    pub expires: Option<u64>,
}

#[derive(Clone, Debug)]
pub(crate) struct Secret {
    pub name: String,
    /// Oldest first; the last is the current version.
    pub versions: Vec<SecretVersion>,
}

impl Secret {
    pub(crate) fn current(&self) -> &SecretVersion {
        // Built from a SecretConfig, so there is always at least one version.
        &self.versions[self.versions.len() - 1]
    }
}

/// Everything Key Vault and Resource Manager serve, fixed at start (their requests change live
/// copies: `KeyVault::vault`, `ResourceManager::arm`).
pub(crate) struct Cloud {
    pub tenant_id: String,
    pub vault_name: String,
    pub vault_resource_group: String,
    pub secrets: Vec<Secret>,
    pub subscription_id: String,
    /// Groups and accounts at start; requests change the live copy (`ResourceManager::arm`).
    pub resource_groups: Vec<ResourceGroupConfig>,
    pub storage_accounts: Vec<StorageAccountConfig>,
    pub role_assignments: Vec<RoleAssignment>,
    pub arm_page_size: usize,
    /// Start time, epoch seconds (default creation times are relative to it).
    pub started: u64,
    pub keyvault_url: String,
    pub arm_url: String,
    /// The cloud played.
    pub environment: CloudEnvironment,
}

impl Cloud {
    /// `/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>`.
    pub(crate) fn vault_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
            self.subscription_id, self.vault_resource_group, self.vault_name
        )
    }

    /// Whether `object_id` may perform `action` at `scope` (an ARM resource id).
    pub(crate) fn permits(&self, object_id: &str, action: &str, scope: &str) -> bool {
        self.assignments_of(object_id, |role, assigned| {
            scope_covers(assigned, scope) && role.allows(action)
        })
    }

    /// Whether `object_id` has any role assignment at or below `scope`, or above it.
    pub(crate) fn has_any_assignment_within(&self, object_id: &str, scope: &str) -> bool {
        self.assignments_of(object_id, |_, assigned| {
            scope_covers(assigned, scope) || scope_covers(scope, assigned)
        })
    }

    /// Whether any role assignment of `object_id` passes `test(role, scope)`, with the scope
    /// "keyvault" standing for the vault's resource id.
    fn assignments_of(&self, object_id: &str, test: impl Fn(Role, &str) -> bool) -> bool {
        let vault_id = self.vault_id();
        self.role_assignments.iter().any(|a| {
            let assigned = if a.scope.eq_ignore_ascii_case("keyvault") {
                vault_id.as_str()
            } else {
                a.scope.as_str()
            };
            a.object_id.eq_ignore_ascii_case(object_id) && test(a.role, assigned)
        })
    }
}

/// Whether the assignment scope `assigned` covers `scope`: a case-insensitive prefix on whole
/// path segments.
pub(crate) fn scope_covers(assigned: &str, scope: &str) -> bool {
    let assigned = assigned.trim_end_matches('/').to_ascii_lowercase();
    let scope = scope.trim_end_matches('/').to_ascii_lowercase();
    if assigned.is_empty() {
        return true;
    }
    match scope.strip_prefix(&assigned) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_scopes() {
        assert!(scope_covers(
            "/subscriptions/a",
            "/subscriptions/A/resourceGroups/x"
        ));
        assert!(!scope_covers("/subscriptions/a", "/subscriptions/ab"));
        assert!(scope_covers("/", "/subscriptions/ab"));
        assert!(Role::Reader.allows("Microsoft.Resources/subscriptions/resourceGroups/read"));
        assert!(!Role::Reader.allows(actions::STORAGE_LIST_SERVICE_SAS));
        assert!(Role::Owner.allows(actions::STORAGE_LIST_SERVICE_SAS));
        assert!(!Role::Owner.allows(actions::GET_SECRET));
        assert!(Role::KeyVaultSecretsUser.allows(actions::GET_SECRET));
        assert!(!Role::KeyVaultSecretsUser.allows(actions::SET_SECRET));
        assert!(Role::KeyVaultSecretsOfficer.allows(actions::SET_SECRET));
        assert!(Role::KeyVaultSecretsOfficer.allows(actions::PURGE_SECRET));
        assert!(!Role::KeyVaultSecretsOfficer.allows(actions::RESOURCE_GROUP_READ));
        assert!(!Role::Owner.allows(actions::DELETE_SECRET));
        assert!(!Role::KeyVaultSecretsUser.allows(actions::RESOURCE_GROUP_READ));
        assert!(Role::StorageAccountContributor.allows(actions::STORAGE_LIST_ACCOUNT_SAS));
        assert!(!Role::StorageAccountContributor.allows("Microsoft.Resources/subscriptions/read"));
    }

    #[test]
    fn versions_are_stable_hex() {
        let v = derived_version("mi-test", 0);
        assert_eq!(v.len(), 32);
        assert_eq!(v, derived_version("MI-TEST", 0));
        assert_ne!(v, derived_version("mi-test", 1));
        assert!(is_valid_secret_name("a-B-9"));
        assert!(!is_valid_secret_name("a_b"));
    }
}
