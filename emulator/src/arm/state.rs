//! Resource Manager's live state: the resource groups and storage accounts as requests change
//! them, and the long-running operations that change them. As in Azure, deleting a group and
//! creating an account are accepted at once (202) and finish later; here they finish after a
//! set number of polls of their monitor URL, so clients' waiting can be tested
//! deterministically, or on their own once a client polling as `Retry-After` asks would have
//! seen them finish, so a client that stopped waiting later finds the change done.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::common::cloud::{ResourceGroupConfig, StorageAccountConfig};
use crate::common::util::random_guid;

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

/// How an operation started now ends: after `polls` polls answered 202, or on its own at `due`,
/// whichever comes first.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pacing {
    pub polls: u32,
    pub due: Instant,
}

/// The least time an operation runs on its own: with `Retry-After: 0` a client polls at once,
/// and its polls must still meet the configured number of 202s.
pub(crate) const MIN_RUNNING: Duration = Duration::from_secs(1);

impl Pacing {
    /// `polls` 202s, each asking for `retry_after_secs` before the next poll. Due (polls + 1) ×
    /// Retry-After from `now` (at least [`MIN_RUNNING`]): when a client that waits as asked
    /// makes the poll that finds the operation done anyway, so such a client sees exactly
    /// `polls` 202s, whether or not it polls a little late.
    pub(crate) fn new(polls: u32, retry_after_secs: u64, now: Instant) -> Pacing {
        let running = Duration::from_secs(retry_after_secs.saturating_mul(u64::from(polls) + 1));
        Pacing {
            polls,
            due: now + running.max(MIN_RUNNING),
        }
    }
}

#[derive(Debug)]
struct Operation {
    work: Work,
    /// Polls still to answer 202.
    pending_polls: u32,
    /// When it finishes without being polled.
    due: Instant,
    /// Its work is applied (by a poll or by time); it stays done.
    done: bool,
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
    pub(crate) fn delete_group(&mut self, name: &str, pacing: Pacing) -> Option<String> {
        let group = self
            .groups
            .iter_mut()
            .find(|g| g.config.name.eq_ignore_ascii_case(name))?;
        group.deleting = true;
        let name = group.config.name.clone();
        let id = deletion_job_id(&name, &group.config.location);
        Some(self.start(id, Work::DeleteGroup(name), pacing))
    }

    /// Adds `account`, `creating` until the returned operation completes.
    pub(crate) fn create_account(
        &mut self,
        account: StorageAccountConfig,
        pacing: Pacing,
    ) -> String {
        let work = Work::CreateAccount(account.name.clone());
        self.accounts.push(Account {
            config: account,
            creating: true,
        });
        self.start(random_guid(), work, pacing)
    }

    fn start(&mut self, id: String, work: Work, pacing: Pacing) -> String {
        self.operations.insert(
            id.clone(),
            Operation {
                work,
                pending_polls: pacing.polls,
                due: pacing.due,
                done: false,
            },
        );
        id
    }

    /// Finishes every operation due by `now`, as Azure finishes them whether or not anyone
    /// polls. Called before each request is answered, so every read sees the time's state.
    pub(crate) fn finish_due(&mut self, now: Instant) {
        let due: Vec<Work> = self
            .operations
            .values_mut()
            .filter(|op| !op.done && op.due <= now)
            .map(|op| {
                op.done = true;
                op.work.clone()
            })
            .collect();
        for work in &due {
            self.complete(work);
        }
    }

    /// What operation `id` does, if there is one.
    pub(crate) fn kind_of(&self, id: &str) -> Option<&Work> {
        self.operations.get(id).map(|op| &op.work)
    }

    /// One poll of operation `id`: `None` when there is no such operation.
    pub(crate) fn poll(&mut self, id: &str) -> Option<Progress> {
        let op = self.operations.get_mut(id)?;
        if op.done {
            return Some(Progress::Done(op.work.clone()));
        }
        if op.pending_polls > 0 {
            op.pending_polls -= 1;
            return Some(Progress::Running);
        }
        op.done = true;
        let work = op.work.clone();
        self.complete(&work);
        Some(Progress::Done(work))
    }

    /// Applies `work`, once per operation.
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
    use crate::common::cloud::{default_resource_groups, default_storage_accounts};

    fn state() -> ArmState {
        ArmState::new(&default_resource_groups(), &default_storage_accounts())
    }

    /// `n` polls answer 202; not due for an hour, so only polls finish it.
    fn polls(n: u32) -> Pacing {
        Pacing {
            polls: n,
            due: Instant::now() + Duration::from_secs(3600),
        }
    }

    #[test]
    fn a_deleted_group_shows_deleting_until_its_operation_completes() {
        let state = state();
        let mut live = state.lock();
        let id = live.delete_group("AZMI-RG", polls(2)).unwrap();
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
        assert_eq!(live.delete_group("azmi-rg", polls(0)), None, "gone");
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
        let id = live.create_account(account, polls(0));
        assert!(live.account("azmi-rg", "newacct").unwrap().creating);
        assert!(live.account("DevTest", "newacct").is_none());
        assert_eq!(
            live.poll(&id),
            Some(Progress::Done(Work::CreateAccount("newacct".into())))
        );
        assert!(!live.account("AZMI-RG", "NewAcct").unwrap().creating);
    }

    #[test]
    fn an_operation_finishes_on_its_own_when_due_without_any_poll() {
        let state = state();
        let mut live = state.lock();
        let start = Instant::now();
        let pacing = Pacing {
            polls: 5,
            due: start + Duration::from_secs(2),
        };
        let id = live.delete_group("azmi-rg", pacing).unwrap();

        live.finish_due(start + Duration::from_secs(1));
        assert!(live.group("azmi-rg").unwrap().deleting, "not due yet");

        live.finish_due(start + Duration::from_secs(2));
        assert!(live.group("azmi-rg").is_none(), "done once due");
        assert!(live.account_named("devstoreaccount1").is_none());
        assert!(live.group("DevTest").is_some());
        // Its monitor reports it done, though five polls were to answer 202.
        assert_eq!(
            live.poll(&id),
            Some(Progress::Done(Work::DeleteGroup("azmi-rg".into())))
        );
    }

    #[test]
    fn a_creation_finishes_on_its_own_too_and_is_not_applied_twice() {
        let state = state();
        let mut live = state.lock();
        let start = Instant::now();
        let mut account = default_storage_accounts().remove(0);
        account.name = "timedacct".into();
        account.resource_group = "DevTest".into();
        let first = live.create_account(
            account.clone(),
            Pacing {
                polls: 3,
                due: start,
            },
        );
        live.finish_due(start);
        assert!(!live.account("DevTest", "timedacct").unwrap().creating);

        // The group goes, the name is taken again: the old operation's poll must not mark the
        // new account created.
        let deletion = live.delete_group("DevTest", polls(0)).unwrap();
        assert!(matches!(live.poll(&deletion), Some(Progress::Done(_))));
        account.resource_group = "azmi-rg".into();
        live.create_account(account, polls(3));
        assert!(matches!(live.poll(&first), Some(Progress::Done(_))));
        assert!(live.account("azmi-rg", "timedacct").unwrap().creating);
    }

    #[test]
    fn pacing_is_due_when_a_client_waiting_as_asked_would_find_it_done() {
        let now = Instant::now();
        // One 202 asking for 1 s: the client polls at 1 s (202) and at 2 s (done).
        assert_eq!(Pacing::new(1, 1, now).due, now + Duration::from_secs(2));
        assert_eq!(Pacing::new(1, 30, now).due, now + Duration::from_secs(60));
        assert_eq!(Pacing::new(0, 7, now).due, now + Duration::from_secs(7));
        // Retry-After 0: polled at once, yet given time for its 202s.
        assert_eq!(Pacing::new(2, 0, now).due, now + MIN_RUNNING);
        assert_eq!(Pacing::new(2, 0, now).polls, 2);
    }
}
