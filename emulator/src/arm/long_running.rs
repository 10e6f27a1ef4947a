//! Long-running operations: deleting a resource group and creating a storage account, and
//! polling their monitor URLs.

use base64::Engine;
use hyper::StatusCode;

use super::errors::{arm_error, ArmError};
use super::handlers::Arm;
use super::operation::{account_request, is_account_name, PolledAt};
use super::response::Answer;
use super::state::{Progress, Work};
use crate::common::cloud::StorageAccountConfig;

/// Write actions (lower-case, as `Role::allows` compares them).
const RESOURCE_GROUP_DELETE: &str = "microsoft.resources/subscriptions/resourcegroups/delete";
const STORAGE_WRITE: &str = "microsoft.storage/storageaccounts/write";

/// Long-running operations: a resource group DELETE and a storage account PUT answer 202 with
/// `Location` and `Retry-After`; the `Location` answers 202 for the configured number of polls,
/// then 200 (empty for a deletion, the account for a creation), and only then is the change
/// done, unless the operation's time ran out first (`Pacing`): then it is done unpolled.
impl Arm<'_> {
    pub(super) fn delete_group(&mut self, s: &str, rg: &str) -> Result<Answer, ArmError> {
        self.subscription(s)?;
        self.authorize(
            RESOURCE_GROUP_DELETE,
            "Microsoft.Resources/subscriptions/resourcegroups/delete",
            &format!("/subscriptions/{s}/resourcegroups/{rg}"),
        )?;
        let name = self.resource_group(rg)?.config.name.clone();
        let id = self
            .live
            .delete_group(&name, self.pacing)
            .ok_or_else(|| self.group_not_found(rg))?;
        let location = format!(
            "{}/subscriptions/{}/operationresults/{id}?api-version={}",
            self.cloud.arm_url, self.cloud.subscription_id, self.api
        );
        Ok(Answer::accepted(location, self.retry_after))
    }

    pub(super) fn create_account(
        &mut self,
        s: &str,
        rg: &str,
        name: &str,
        body: &[u8],
    ) -> Result<Answer, ArmError> {
        self.subscription(s)?;
        self.authorize(
            STORAGE_WRITE,
            "Microsoft.Storage/storageAccounts/write",
            &format!(
                "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"
            ),
        )?;
        let group = self.resource_group(rg)?;
        if group.deleting {
            return Err(arm_error(
                StatusCode::CONFLICT,
                "ResourceGroupBeingDeleted",
                format!("The resource group '{rg}' is in deprovisioning state and cannot perform this operation."),
            ));
        }
        let group = group.config.name.clone();
        if !is_account_name(name) {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "AccountNameInvalid",
                format!("{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."),
            ));
        }
        let request = account_request(body)?;
        if let Some(existing) = self.live.account_named(name) {
            if !existing.config.resource_group.eq_ignore_ascii_case(&group) {
                return Err(arm_error(
                    StatusCode::CONFLICT,
                    "StorageAccountAlreadyTaken",
                    format!("The storage account named {name} is already taken."),
                ));
            }
            // A PUT of an existing account is an update, answered at once (the emulator keeps
            // the account as it is).
            return Ok(Answer::ok(self.account_body(existing)));
        }
        let account = StorageAccountConfig {
            name: name.to_owned(),
            resource_group: group,
            key: random_key(),
            key2: None,
            location: request.location.clone(),
            blob_endpoint: None,
            tags: request.tags,
        };
        let id = self.live.create_account(account, self.pacing);
        let location = format!(
            "{}/subscriptions/{}/providers/Microsoft.Storage/locations/{}/asyncoperations/{id}?monitor=true&api-version={}",
            self.cloud.arm_url, self.cloud.subscription_id, request.location, self.api
        );
        Ok(Answer::accepted(location, self.retry_after))
    }

    /// One poll of operation `id` at the monitor URL `at`.
    pub(super) fn poll(&mut self, s: &str, id: &str, at: PolledAt) -> Result<Answer, ArmError> {
        self.visible_subscription(s, "Microsoft.Resources/subscriptions/operationresults/read")?;
        let not_found = || {
            arm_error(
                StatusCode::NOT_FOUND,
                "OperationNotFound",
                format!("The operation '{id}' could not be found."),
            )
        };
        let progress = match (self.live.kind_of(id), at) {
            (Some(Work::DeleteGroup(_)), PolledAt::OperationResults)
            | (Some(Work::CreateAccount(_)), PolledAt::StorageAsyncOperations) => {
                self.live.poll(id).ok_or_else(not_found)?
            }
            _ => return Err(not_found()),
        };
        match progress {
            Progress::Running => Ok(Answer::accepted(
                format!("{}{}", self.cloud.arm_url, self.parts.uri),
                self.retry_after,
            )),
            Progress::Done(Work::DeleteGroup(_)) => Ok(Answer::done()),
            Progress::Done(Work::CreateAccount(name)) => {
                let account = self.live.account_named(&name).ok_or_else(not_found)?;
                Ok(Answer::ok(self.account_body(account)))
            }
        }
    }

    fn group_not_found(&self, rg: &str) -> ArmError {
        arm_error(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            format!("Resource group '{rg}' could not be found."),
        )
    }
}

/// A new account key: 64 random bytes, base64, as the service's.
fn random_key() -> String {
    let bytes: Vec<u8> = (0..64).map(|_| fastrand::u8(..)).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
