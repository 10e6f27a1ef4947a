//! azmi: Entra ID access tokens from a machine's managed identity, and the Azure service calls
//! that use them, for PowerShell, .NET and C (through the C ABI in [`ffi`]) and for Rust.
//!
//! The core is ordinary async Rust: [`Azmi`] holds the HTTP client and the token cache;
//! [`ManagedIdentity`] says which identity and which endpoint. The C ABI runs the core on one
//! process-wide runtime.

// The status table's macros, used by `error` and `ffi`: declared first.
#[macro_use]
mod status;

pub mod adls;
pub mod arm;
pub mod blob;
mod cache;
mod challenge;
pub mod claims;
mod client;
pub mod environment;
pub mod error;
pub mod ffi;
mod http;
pub mod identity;
pub mod keyvault;
pub mod proxy;
pub mod retry;
pub mod runtime;
mod service;
pub mod source;
pub mod token;
mod transfer;
mod trust;

pub use adls::{Adls, AdlsAccount, AdlsItem, AdlsProtocol, ItemType, ListOutcome};
pub use arm::{AccountSasRequest, Arm, ResourceGroup, ServiceSasRequest};
pub use blob::{Blob, BlobAccount};
pub use claims::Claims;
pub use client::{Azmi, TokenGrant};
pub use environment::AzureEnvironment;
pub use error::{Error, ErrorCode, Result, ServiceFailure};
pub use identity::{normalize_resource, IdentityId, ManagedIdentity, TokenOptions};
pub use keyvault::{
    DeletedSecret, KeyVault, Secret, SecretProperties, SecretSettings, VaultAddress,
};
pub use proxy::{ProxyCredentials, ProxyRules, ProxySetting, ProxySource, Route};
pub use retry::RetryPolicy;
pub use source::{Source, SourceConfig, SourceEnv};
pub use token::{AccessToken, TokenClaims};

/// Where `ResourceTypeName`-style names point in the public cloud.
pub mod resources {
    pub const ARM: &str = "https://management.azure.com/";
    pub const KEY_VAULT: &str = "https://vault.azure.net";
    pub const STORAGE: &str = "https://storage.azure.com/";
    pub const DATA_LAKE: &str = "https://datalake.azure.net/";
    pub const SQL: &str = "https://database.windows.net/";
}
