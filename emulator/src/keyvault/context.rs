//! What the Key Vault handlers get.

use std::sync::Arc;

pub(crate) use super::state::VaultState;
use crate::common::cloud::Cloud;
use crate::common::service;

/// The Key Vault service: the one vault's secrets as requests change them, guarded by the role
/// assignments.
pub(crate) struct KeyVault {
    pub cloud: Arc<Cloud>,
    pub vault: VaultState,
}

/// What a Key Vault handler gets.
pub(crate) type Ctx = service::Ctx<KeyVault>;
