//! Where a managed identity gets its tokens: one module per token-source protocol. Today that
//! is IMDS (`imds/`, what an Azure VM uses); another source (App Service, Azure Arc, Service
//! Fabric, Cloud Shell…) belongs here as a sibling of `imds/`, sharing the token minting of
//! `common::jwt` and the identities of `common::managed_identity`.

pub(crate) mod imds;
