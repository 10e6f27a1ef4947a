//! Where a managed identity gets its tokens: one module per token-source protocol, `imds/` (an
//! Azure VM) and its siblings for the other hosts, all sharing `issue.rs` (request counting,
//! faults, identity choice and token minting over `common::jwt` and
//! `common::managed_identity`); the non-IMDS sources also share `protocol.rs` (the handler's
//! opening, the `Metadata` check, and the App Service and system-assigned-host token flows), so
//! each source module keeps only its own secret, api-version and wording. The HTTP listener
//! serves the one source the emulator was started as
//! ([`crate::common::managed_identity::IdentitySource`]).

pub(crate) mod app_service;
pub(crate) mod arc;
pub(crate) mod azure_ml;
pub(crate) mod cloud_shell;
pub(crate) mod imds;
mod issue;
mod protocol;
pub(crate) mod service_fabric;
pub(crate) mod workload_identity;
