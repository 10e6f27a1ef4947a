//! What the Resource Manager handlers get.

use std::sync::Arc;

pub(crate) use super::state::ArmState;
use crate::common::cloud::Cloud;
use crate::common::service;

/// The Resource Manager service: the subscription's groups and storage accounts as requests
/// change them, and its long-running operations.
pub(crate) struct ResourceManager {
    pub cloud: Arc<Cloud>,
    pub arm: ArmState,
}

/// What a Resource Manager handler gets.
pub(crate) type Ctx = service::Ctx<ResourceManager>;
