//! `azmi-emulator`: the Azure IMDS managed-identity token endpoint (or, with
//! [`EmulatorConfig::source`], App Service's, Azure ML's, Cloud Shell's, Arc's, Service Fabric's
//! or workload identity's Entra ID endpoint instead), and over HTTPS Data Lake
//! Storage Gen1 (WebHDFS) and Gen2 (DFS), Key Vault secrets and Resource Manager, served on
//! loopback for tests and offline use. The contract is `docs/emulator.md`.
//!
//! This crate shares no code with the `azmi` client on purpose: it is written from the public
//! protocol descriptions, so a misunderstanding of the protocol cannot hide in both.
//!
//! ```no_run
//! let emulator = azmi_emulator::Emulator::start(Default::default()).unwrap();
//! println!("{}", emulator.token_url());
//! ```

mod admin;
mod arm;
mod common;
mod identity;
mod keyvault;
mod server;
mod storage;

pub use arm::sas::{signature as sas_signature, SAS_VERSION};
pub use common::auth::AclRule;
pub use common::cloud::{
    default_role_assignments, default_secrets, ResourceGroupConfig, Role, RoleAssignment,
    SecretConfig, SecretVersionConfig, StorageAccountConfig, AZURITE_ACCOUNT, AZURITE_KEY,
    DEFAULT_ARM_PAGE_SIZE, DEFAULT_SUBSCRIPTION_ID, DEFAULT_VAULT_NAME,
};
pub use common::config::{
    check_loopback, EmulatorConfig, ResponseStyle, DEFAULT_ARM_OPERATION_POLLS,
    DEFAULT_ARM_RETRY_AFTER_SECS, DEFAULT_DATA_LAKE_ACCOUNT, DEFAULT_RESOURCES, DEFAULT_TENANT_ID,
    DEFAULT_TOKEN_LIFETIME_SECS,
};
pub use common::faults::Fault;
pub use common::jwt::verify_signature;
pub use common::managed_identity::{
    FederationConfig, IdentityConfig, IdentitySource, FEDERATION_AUDIENCE,
};
pub use common::state::{Counters, RecordedRequest, ServiceCounters};
pub use common::tls::CA_FILE_NAME;
pub use server::Emulator;

/// Path of the IMDS token endpoint.
pub const TOKEN_PATH: &str = identity::imds::TOKEN_PATH;
