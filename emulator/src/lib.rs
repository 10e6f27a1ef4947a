//! `azmi-emulator`: the Azure IMDS managed-identity token endpoint, and over HTTPS Data Lake
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
mod arm_state;
mod auth;
mod body;
mod cloud;
mod config;
mod dfs;
mod faults;
mod fs;
mod imds;
mod instance;
mod jwt;
mod keyvault;
mod response;
mod sas;
mod server;
mod service;
mod state;
mod tls;
mod util;
mod webhdfs;

pub use auth::AclRule;
pub use cloud::{
    default_role_assignments, default_secrets, ResourceGroupConfig, Role, RoleAssignment,
    SecretConfig, SecretVersionConfig, StorageAccountConfig, AZURITE_ACCOUNT, AZURITE_KEY,
    DEFAULT_ARM_PAGE_SIZE, DEFAULT_SUBSCRIPTION_ID, DEFAULT_VAULT_NAME,
};
pub use config::{
    check_loopback, EmulatorConfig, IdentityConfig, ResponseStyle, DEFAULT_ARM_OPERATION_POLLS,
    DEFAULT_ARM_RETRY_AFTER_SECS, DEFAULT_RESOURCES, DEFAULT_TENANT_ID,
    DEFAULT_TOKEN_LIFETIME_SECS,
};
pub use faults::Fault;
pub use jwt::verify_signature;
pub use sas::{signature as sas_signature, SAS_VERSION};
pub use server::Emulator;
pub use state::{Counters, RecordedRequest, ServiceCounters};
pub use tls::CA_FILE_NAME;

/// Path of the IMDS token endpoint.
pub const TOKEN_PATH: &str = imds::TOKEN_PATH;
