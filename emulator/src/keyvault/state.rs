//! The vault's live secrets: the configured ones at start, then as requests change them. A
//! vault has soft delete (every vault has had it since 2020, with 90 days by default): a
//! deleted secret keeps its versions in the deleted store, where its name stays taken until it
//! is recovered or purged.

use std::sync::{Mutex, MutexGuard};

use crate::common::cloud::{Secret, SecretVersion};

/// Days a deleted secret stays recoverable (the vault's `recoverableDays`).
pub(super) const RECOVERABLE_DAYS: u64 = 90;

/// A deleted secret with every version, as the service keeps it until purged.
#[derive(Clone, Debug)]
pub(super) struct DeletedSecret {
    pub secret: Secret,
    /// Epoch seconds.
    pub deleted_date: u64,
    /// Epoch seconds: `deleted_date` plus the recoverable days (the emulator never purges on its
    /// own).
    pub scheduled_purge_date: u64,
}

/// The secrets and deleted secrets now.
pub(super) struct Live {
    pub secrets: Vec<Secret>,
    pub deleted: Vec<DeletedSecret>,
}

impl Live {
    pub(super) fn secret(&self, name: &str) -> Option<&Secret> {
        self.secrets
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    pub(super) fn deleted(&self, name: &str) -> Option<&DeletedSecret> {
        self.deleted
            .iter()
            .find(|d| d.secret.name.eq_ignore_ascii_case(name))
    }

    /// Adds `version` as the secret's newest (creating the secret under `name`) and returns the
    /// secret. The caller checked that the name is not held by a deleted secret.
    pub(super) fn add_version(&mut self, name: &str, version: SecretVersion) -> &Secret {
        let index = match self
            .secrets
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(name))
        {
            Some(i) => i,
            None => {
                self.secrets.push(Secret {
                    name: name.to_owned(),
                    versions: Vec::new(),
                });
                self.secrets.len() - 1
            }
        };
        let secret = &mut self.secrets[index];
        secret.versions.push(version);
        secret
    }

    /// Moves the secret `name` to the deleted store at `now`; `None` when there is none.
    pub(super) fn delete(&mut self, name: &str, now: u64) -> Option<&DeletedSecret> {
        let index = self
            .secrets
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(name))?;
        let secret = self.secrets.remove(index);
        self.deleted.push(DeletedSecret {
            secret,
            deleted_date: now,
            scheduled_purge_date: now + RECOVERABLE_DAYS * 86_400,
        });
        self.deleted.last()
    }

    /// Removes the deleted secret `name` for good; whether there was one.
    pub(super) fn purge(&mut self, name: &str) -> bool {
        let before = self.deleted.len();
        self.deleted
            .retain(|d| !d.secret.name.eq_ignore_ascii_case(name));
        self.deleted.len() != before
    }

    /// Brings the deleted secret `name` back with every version; `None` when there is none.
    pub(super) fn recover(&mut self, name: &str) -> Option<&Secret> {
        let index = self
            .deleted
            .iter()
            .position(|d| d.secret.name.eq_ignore_ascii_case(name))?;
        let deleted = self.deleted.remove(index);
        self.secrets.push(deleted.secret);
        self.secrets.last()
    }
}

/// The vault's state, shared by the handlers.
pub(crate) struct VaultState {
    live: Mutex<Live>,
}

impl VaultState {
    pub(crate) fn new(secrets: &[Secret]) -> VaultState {
        VaultState {
            live: Mutex::new(Live {
                secrets: secrets.to_vec(),
                deleted: Vec::new(),
            }),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Live> {
        // A handler that panicked left no half-made change (each change is one push or
        // remove), so the state stays usable.
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }
}
