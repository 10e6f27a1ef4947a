//! Resource Manager's live state: the resource groups and storage accounts as requests change
//! them, and the long-running operations that change them. As in Azure, deleting a group and
//! creating an account are accepted at once (202) and finish later; here they finish after a
//! set number of polls of their monitor URL, so clients' waiting can be tested
//! deterministically.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::cloud::{ResourceGroupConfig, StorageAccountConfig};
use crate::util::random_guid;

/// A resource group; `deleting` from the DELETE until its operation completes (real Resource
/// Manager shows `provisioningState` `Deleting` meanwhile).
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub config: ResourceGroupConfig,
    pub deleting: bool,
}

/// A storage account; `creating` from the PUT until its operation completes.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub config: StorageAccountConfig,
    pub creating: bool,
}

/// What an operation does when it completes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Work {
    /// Removes the group (by its configured name) and every account in it.
    DeleteGroup(String),
    /// Marks the account (by name) created.
    CreateAccount(String),
}

#[derive(Debug)]
struct Operation {
    work: Work,
    /// Polls still to answer 202.
    pending_polls: u32,
}

/// What a poll of an operation finds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    Running,
    /// Completed (now or at an earlier poll).
    Done(Work),
}

/// Groups, accounts and operations.
#[derive(Debug, Default)]
pub(crate) struct Live {
    pub groups: Vec<Group>,
    pub accounts: Vec<Account>,
    operations: HashMap<String, Operation>,
}

impl Live {
    pub(crate) fn group(&self, name: &str) -> Option<&Group> {
        self.groups
            .iter()
            .find(|g| g.config.name.eq_ignore_ascii_case(name))
    }

    /// The account `name` in group `group`.
    pub(crate) fn account(&self, group: &str, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| {
            a.config.name.eq_ignore_ascii_case(name)
                && a.config.resource_group.eq_ignore_ascii_case(group)
        })
    }

    /// The account `name` in any group (names are global in Azure).
    pub(crate) fn account_named(&self, name: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|a| a.config.name.eq_ignore_ascii_case(name))
    }

    /// Starts deleting group `name`: it shows `Deleting` until the returned operation completes.
    pub(crate) fn delete_group(&mut self, name: &str, pending_polls: u32) -> Option<String> {
        let group = self
            .groups
            .iter_mut()
            .find(|g| g.config.name.eq_ignore_ascii_case(name))?;
        group.deleting = true;
        let name = group.config.name.clone();
        let id = deletion_job_id(&name, &group.config.location);
        Some(self.start(id, Work::DeleteGroup(name), pending_polls))
    }

    /// Adds `account`, `creating` until the returned operation completes.
    pub(crate) fn create_account(
        &mut self,
        account: StorageAccountConfig,
        pending_polls: u32,
    ) -> String {
        let work = Work::CreateAccount(account.name.clone());
        self.accounts.push(Account {
            config: account,
            creating: true,
        });
        self.start(random_guid(), work, pending_polls)
    }

    fn start(&mut self, id: String, work: Work, pending_polls: u32) -> String {
        self.operations.insert(
            id.clone(),
            Operation {
                work,
                pending_polls,
            },
        );
        id
    }

    /// What operation `id` does, if there is one.
    pub(crate) fn kind_of(&self, id: &str) -> Option<&Work> {
        self.operations.get(id).map(|op| &op.work)
    }

    /// One poll of operation `id`: `None` when there is no such operation.
    pub(crate) fn poll(&mut self, id: &str) -> Option<Progress> {
        let op = self.operations.get_mut(id)?;
        if op.pending_polls > 0 {
            op.pending_polls -= 1;
            return Some(Progress::Running);
        }
        let work = op.work.clone();
        self.complete(&work);
        Some(Progress::Done(work))
    }

    /// Applies `work` (again, harmlessly, on later polls).
    fn complete(&mut self, work: &Work) {
        match work {
            Work::DeleteGroup(name) => {
                self.groups
                    .retain(|g| !g.config.name.eq_ignore_ascii_case(name));
                self.accounts
                    .retain(|a| !a.config.resource_group.eq_ignore_ascii_case(name));
            }
            Work::CreateAccount(name) => {
                for a in &mut self.accounts {
                    if a.config.name.eq_ignore_ascii_case(name) {
                        a.creating = false;
                    }
                }
            }
        }
    }
}

/// The operation id Resource Manager gives a group deletion: base64 of
/// `{"jobId":"RESOURCEGROUPDELETIONJOB-<GROUP>-<LOCATION>","jobLocation":"<location>"}` (made
/// unique here, so that a second DELETE gets its own operation).
fn deletion_job_id(group: &str, location: &str) -> String {
    let job = serde_json::json!({
        "jobId": format!(
            "RESOURCEGROUPDELETIONJOB-{}-{}-{}",
            group.to_ascii_uppercase(),
            location.to_ascii_uppercase(),
            &random_guid()[..8]
        ),
        "jobLocation": location,
    });
    URL_SAFE_NO_PAD.encode(job.to_string())
}

/// [`Live`] behind a lock (held only while one request is answered, never across an await).
#[derive(Debug)]
pub(crate) struct ArmState(Mutex<Live>);

impl ArmState {
    /// The state at start: the configured groups and accounts, all provisioned.
    pub(crate) fn new(groups: &[ResourceGroupConfig], accounts: &[StorageAccountConfig]) -> Self {
        ArmState(Mutex::new(Live {
            groups: groups
                .iter()
                .map(|g| Group {
                    config: g.clone(),
                    deleting: false,
                })
                .collect(),
            accounts: accounts
                .iter()
                .map(|a| Account {
                    config: a.clone(),
                    creating: false,
                })
                .collect(),
            operations: HashMap::new(),
        }))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Live> {
        // Every change is applied whole under the lock: a poisoned lock still holds
        // consistent data.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::{default_resource_groups, default_storage_accounts};

    fn state() -> ArmState {
        ArmState::new(&default_resource_groups(), &default_storage_accounts())
    }

    #[test]
    fn a_deleted_group_shows_deleting_until_its_operation_completes() {
        let state = state();
        let mut live = state.lock();
        let id = live.delete_group("AZMI-RG", 2).unwrap();
        assert!(live.group("azmi-rg").unwrap().deleting);
        assert_eq!(live.poll(&id), Some(Progress::Running));
        assert_eq!(live.poll(&id), Some(Progress::Running));
        assert!(
            live.group("azmi-rg").is_some(),
            "still there after two 202s"
        );
        assert_eq!(
            live.poll(&id),
            Some(Progress::Done(Work::DeleteGroup("azmi-rg".into())))
        );
        assert!(live.group("azmi-rg").is_none());
        assert!(
            live.account_named("devstoreaccount1").is_none(),
            "its accounts went with it"
        );
        assert!(live.group("DevTest").is_some());
        // A completed operation stays completed.
        assert!(matches!(live.poll(&id), Some(Progress::Done(_))));
        assert_eq!(live.poll("no-such-operation"), None);
        assert_eq!(live.delete_group("azmi-rg", 0), None, "gone");
    }

    #[test]
    fn deletion_ids_are_unique_job_ids() {
        let a = deletion_job_id("rg", "eastus");
        assert_ne!(a, deletion_job_id("rg", "eastus"));
        let job = URL_SAFE_NO_PAD.decode(&a).unwrap();
        let job: serde_json::Value = serde_json::from_slice(&job).unwrap();
        assert!(job["jobId"]
            .as_str()
            .unwrap()
            .starts_with("RESOURCEGROUPDELETIONJOB-RG-EASTUS-"));
        assert_eq!(job["jobLocation"], "eastus");
    }

    #[test]
    fn a_created_account_is_creating_until_its_operation_completes() {
        let state = state();
        let mut live = state.lock();
        let mut account = default_storage_accounts().remove(0);
        account.name = "newacct".into();
        let id = live.create_account(account, 0);
        assert!(live.account("azmi-rg", "newacct").unwrap().creating);
        assert!(live.account("DevTest", "newacct").is_none());
        assert_eq!(
            live.poll(&id),
            Some(Progress::Done(Work::CreateAccount("newacct".into())))
        );
        assert!(!live.account("AZMI-RG", "NewAcct").unwrap().creating);
    }
}
