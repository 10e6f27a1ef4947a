//! The process-wide engine behind the C ABI: one tokio runtime and one [`Azmi`] (HTTP client and
//! token cache), created on first use, stopped by [`shutdown`] and created again on the next call.

use std::ffi::CStr;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::client::Azmi;
use crate::error::{Error, Result};
use crate::identity::{IdentityId, ManagedIdentity, ENV_IMDS_ENDPOINT, ENV_POD_IDENTITY_HOST};
use crate::proxy::ProxySetting;

pub(crate) struct Engine {
    runtime: tokio::runtime::Runtime,
    /// Cancelled by [`shutdown`], so that calls in progress end at once.
    stopping: CancellationToken,
    pub(crate) azmi: Azmi,
    /// The system-assigned identity at the endpoint the environment names, kept so that calls
    /// without an identity do not parse the endpoint each time.
    default_identity: ArcSwapOption<DefaultIdentity>,
}

static ENGINE: ArcSwapOption<Engine> = ArcSwapOption::const_empty();
/// The CA file set through the C ABI; survives a shutdown. `None` inside: the caller cleared it.
static CA_FILE_OVERRIDE: Mutex<Option<Option<PathBuf>>> = Mutex::new(None);
/// The proxy set through the C ABI; survives a shutdown. `None`: the environment's, read when
/// an engine starts.
static PROXY_OVERRIDE: Mutex<Option<ProxySetting>> = Mutex::new(None);
/// Serialises creation and shutdown (never held while a call runs).
static LIFECYCLE: Mutex<()> = Mutex::new(());

/// The engine if it is running, borrowed without touching its reference count (for the
/// warm-cache path, which must not make threads contend on a shared counter).
pub(crate) fn current_engine() -> arc_swap::Guard<Option<Arc<Engine>>> {
    ENGINE.load()
}

/// The engine, created on first use.
pub(crate) fn engine() -> Result<Arc<Engine>> {
    if let Some(e) = ENGINE.load_full() {
        return Ok(e);
    }
    let _guard = LIFECYCLE.lock();
    if let Some(e) = ENGINE.load_full() {
        return Ok(e);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // Token requests are few and light; two workers are plenty and keep start-up cheap.
        .worker_threads(2)
        .thread_name("azmi-worker")
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(format!("could not start azmi's runtime: {e}")))?;
    let ca_file = match &*CA_FILE_OVERRIDE.lock() {
        Some(set) => set.clone(),
        None => crate::http::ca_file_from_env(),
    };
    let proxy = PROXY_OVERRIDE
        .lock()
        .clone()
        .unwrap_or(ProxySetting::Environment);
    let azmi = Azmi::with_settings(Some(runtime.handle().clone()), ca_file.as_deref(), &proxy)?;
    let engine = Arc::new(Engine {
        runtime,
        stopping: CancellationToken::new(),
        azmi,
        default_identity: ArcSwapOption::const_empty(),
    });
    ENGINE.store(Some(Arc::clone(&engine)));
    Ok(engine)
}

/// Refuses calls made from inside an async runtime: blocking there would stall (or deadlock)
/// that runtime, for example when a progress callback calls back into azmi.
pub(crate) fn ensure_blocking_allowed() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::Runtime(
            "azmi was called from inside an async runtime (for example from an azmi callback); blocking there would stall it. Call azmi from another thread".into(),
        ));
    }
    Ok(())
}

impl Engine {
    /// Runs `fut` to completion on the calling thread; `cancel` stops it at once.
    pub(crate) fn block_on<F: Future>(
        &self,
        fut: F,
        cancel: Option<&CancellationToken>,
    ) -> Result<F::Output> {
        ensure_blocking_allowed()?;
        let never = CancellationToken::new();
        let cancel = cancel.unwrap_or(&never);
        if cancel.is_cancelled() || self.stopping.is_cancelled() {
            return Err(Error::Cancelled);
        }
        self.runtime.block_on(async {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => Err(Error::Cancelled),
                _ = self.stopping.cancelled() => Err(Error::Cancelled),
                out = fut => Ok(out),
            }
        })
    }

    /// The system-assigned identity of the managed identity source the environment names. The
    /// source is detected at the first call, and again when the IMDS endpoint variables
    /// (`AZMI_IMDS_ENDPOINT`, `AZURE_POD_IDENTITY_AUTHORITY_HOST`) change: checking those two is
    /// cheap enough for every call, while the other sources' variables are set by the platform
    /// before the process starts.
    pub(crate) fn default_identity(&self) -> Result<Arc<ManagedIdentity>> {
        if let Some(mi) = self.with_default_identity(Arc::clone) {
            return Ok(mi);
        }
        let seen = DefaultIdentity::variables();
        let mi = Arc::new(ManagedIdentity::new(IdentityId::SystemAssigned)?);
        // Kept only if the variables did not change while it was made.
        if DefaultIdentity::variables() == seen {
            let imds_wins = seen[0]
                .as_deref()
                .and_then(|v| std::str::from_utf8(v).ok())
                .is_some_and(|v| !v.trim().is_empty());
            self.default_identity.store(Some(Arc::new(DefaultIdentity {
                variables: seen,
                imds_wins,
                mi: Arc::clone(&mi),
            })));
        }
        Ok(mi)
    }

    /// Calls `f` with the identity of [`Engine::default_identity`], borrowed (no reference
    /// count touched), if the environment still names the endpoint it was made for; else
    /// `None`: then [`Engine::default_identity`] makes it again.
    pub(crate) fn with_default_identity<R>(
        &self,
        f: impl FnOnce(&Arc<ManagedIdentity>) -> R,
    ) -> Option<R> {
        let current = self.default_identity.load();
        let default = current.as_ref()?;
        default.is_current().then(|| f(&default.mi))
    }
}

/// The identity used for a NULL identity, and the IMDS endpoint variables it was made with.
struct DefaultIdentity {
    variables: [Option<Box<[u8]>>; 2],
    /// `AZMI_IMDS_ENDPOINT` names the endpoint (set and not blank), so the other one does not
    /// matter (`identity::endpoint_from_env`'s rule).
    imds_wins: bool,
    mi: Arc<ManagedIdentity>,
}

impl DefaultIdentity {
    /// `AZMI_IMDS_ENDPOINT` and `AZURE_POD_IDENTITY_AUTHORITY_HOST`, as they are now.
    fn variables() -> [Option<Box<[u8]>>; 2] {
        [ENV_IMDS_ENDPOINT_C, ENV_POD_IDENTITY_HOST_C]
            .map(|name| with_env(name, |v| v.map(Box::from)))
    }

    /// Whether the variables are still those it was made with: one `getenv` when
    /// `AZMI_IMDS_ENDPOINT` is set (it wins), two otherwise, and no allocation.
    fn is_current(&self) -> bool {
        let [imds, pod] = &self.variables;
        with_env(ENV_IMDS_ENDPOINT_C, |now| now == imds.as_deref())
            && (self.imds_wins || with_env(ENV_POD_IDENTITY_HOST_C, |now| now == pod.as_deref()))
    }
}

const ENV_IMDS_ENDPOINT_C: &CStr = c"AZMI_IMDS_ENDPOINT";
const ENV_POD_IDENTITY_HOST_C: &CStr = c"AZURE_POD_IDENTITY_AUTHORITY_HOST";
const _: () = {
    // The C names are the identity module's names.
    assert!(eq(ENV_IMDS_ENDPOINT_C, ENV_IMDS_ENDPOINT));
    assert!(eq(ENV_POD_IDENTITY_HOST_C, ENV_POD_IDENTITY_HOST));
};

const fn eq(c: &CStr, s: &str) -> bool {
    let (c, s) = (c.to_bytes(), s.as_bytes());
    if c.len() != s.len() {
        return false;
    }
    let mut i = 0;
    while i < c.len() {
        if c[i] != s[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Calls `f` with the value of the environment variable `name` (`None`: not set). On Unix,
/// `getenv` itself: no lock and no copy (a process that changes its environment while other
/// threads read it breaks `setenv`'s own rule, with or without azmi); elsewhere the standard
/// library's reading (on Windows, the process's environment block, as before).
fn with_env<R>(name: &CStr, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
    #[cfg(unix)]
    {
        // SAFETY: `name` is NUL-terminated; the value, if any, is a NUL-terminated string
        // that stays valid until the environment changes, and is read at once.
        let value = unsafe { libc::getenv(name.as_ptr()) };
        f((!value.is_null()).then(|| unsafe { CStr::from_ptr(value) }.to_bytes()))
    }
    #[cfg(not(unix))]
    {
        let value = name.to_str().ok().and_then(std::env::var_os);
        f(value.as_ref().map(|v| v.as_encoded_bytes()))
    }
}

/// Trusts the certificates of `pem_file` besides the public roots (`None`: only the public
/// roots), for this engine and any later one.
pub(crate) fn set_ca_file(pem_file: Option<PathBuf>) -> Result<()> {
    let engine = engine()?;
    engine.azmi.set_extra_ca(pem_file.as_deref())?;
    *CA_FILE_OVERRIDE.lock() = Some(pem_file);
    Ok(())
}

/// Chooses the proxy of service requests for this engine and any later one
/// ([`ProxySetting::Environment`] reads the environment again now). A setting that cannot be
/// used changes nothing.
pub(crate) fn set_proxy(setting: ProxySetting) -> Result<()> {
    let engine = engine()?;
    let mut kept = PROXY_OVERRIDE.lock();
    engine.azmi.set_proxy(&setting)?;
    *kept = match setting {
        ProxySetting::Environment => None,
        other => Some(other),
    };
    Ok(())
}

/// Stops the runtime and forgets every cached token: calls still running on other threads are
/// cancelled and have returned when this returns (so a host may unload the library), and the
/// next call starts a new engine. Refused from inside a runtime, where stopping one would panic.
pub fn shutdown() -> Result<()> {
    ensure_blocking_allowed()?;
    let _guard = LIFECYCLE.lock();
    let Some(mut engine) = ENGINE.swap(None) else {
        return Ok(());
    };
    engine.stopping.cancel();
    engine.azmi.clear_cache();
    // Each call holds the engine while it runs; cancelled, they let go within moments. A call
    // stuck in a caller's callback is not ours to end: give up waiting after a while.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let engine = loop {
        match Arc::try_unwrap(engine) {
            Ok(engine) => break Some(engine),
            Err(still_shared) if std::time::Instant::now() < deadline => {
                engine = still_shared;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(_) => break None,
        }
    };
    match engine {
        Some(engine) => {
            engine.runtime.shutdown_timeout(Duration::from_secs(2));
            Ok(())
        }
        None => Err(Error::Runtime(
            "azmi stopped, but a call was still running after 10 s (a callback that does not return?); do not unload the library yet".into(),
        )),
    }
}
