//! Running one operation of a service on azmi's engine, and the identity it uses.

use std::future::Future;
use std::sync::Arc;

use super::cancel::azmi_cancel;
use super::handle::{borrow, try_borrow, Handle};
use super::identity::azmi_identity;
use crate::adls::ListOutcome;
use crate::environment::AzureEnvironment;
use crate::error::{Error, Result};
use crate::identity::ManagedIdentity;
use crate::runtime::{engine, ensure_blocking_allowed, Engine};

/// Runs one operation on the engine, on the calling thread (so that callbacks run there),
/// cancellable through `cancel`: `client` builds the service client from the engine, `op`
/// uses it.
pub(crate) fn run_with<C, T, Fut>(
    cancel: *const azmi_cancel,
    client: impl FnOnce(&Engine) -> Result<C>,
    op: impl FnOnce(C) -> Fut,
) -> Result<T>
where
    Fut: Future<Output = Result<T>>,
{
    ensure_blocking_allowed()?;
    let engine = engine()?;
    let client = client(&engine)?;
    let cancel = borrow(cancel);
    engine.block_on(op(client), cancel.map(azmi_cancel::token))?
}

/// An object that opens its service's client for each call (`azmi_adls`, `azmi_blob`).
pub(crate) trait Account: Handle {
    type Client;

    /// The client for one call, with the engine's HTTP client and token cache.
    fn client(&self, engine: &Engine) -> Result<Self::Client>;
}

/// Runs one operation on `account` (NULL is `AZMI_INVALID_ARGUMENT`): see [`run_with`].
pub(crate) fn run_on<A: Account, T, Fut>(
    account: *const A,
    cancel: *const azmi_cancel,
    op: impl FnOnce(A::Client) -> Fut,
) -> Result<T>
where
    Fut: Future<Output = Result<T>>,
{
    let account = try_borrow(account)?;
    run_with(cancel, |engine| account.client(engine), op)
}

/// The identity an `identity` argument names, copied (so the caller may free it at once);
/// `None` for NULL.
pub(crate) fn identity_arg(identity: *const azmi_identity) -> Option<Arc<ManagedIdentity>> {
    borrow(identity).map(|i| Arc::clone(&i.mi))
}

/// The cloud in which names given with `identity` (NULL: the default identity) are read: the
/// identity's environment, else the process's.
pub(crate) fn environment_of(identity: *const azmi_identity) -> Result<AzureEnvironment> {
    match borrow(identity) {
        Some(i) => i.mi.environment(),
        None => AzureEnvironment::of_process(),
    }
}

/// The one rule for a NULL identity, in every service: the engine's default, i.e. the
/// system-assigned identity at the endpoint the environment names when the call runs.
pub(crate) fn identity_or_default(
    engine: &Engine,
    identity: Option<&Arc<ManagedIdentity>>,
) -> Result<Arc<ManagedIdentity>> {
    match identity {
        Some(mi) => Ok(Arc::clone(mi)),
        None => engine.default_identity(),
    }
}

/// The end of a listing: stopped by the caller's callback (it returned false) is
/// `AZMI_CANCELLED`, as the callback types document.
pub(crate) fn listed(outcome: ListOutcome) -> Result<()> {
    if outcome.stopped {
        Err(Error::Cancelled)
    } else {
        Ok(())
    }
}
