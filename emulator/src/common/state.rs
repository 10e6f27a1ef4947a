//! State shared by the HTTP handlers and the [`crate::Emulator`] handle.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::watch;

use crate::common::config::{EmulatorConfig, ResponseStyle};
use crate::common::environment::CloudEnvironment;
use crate::common::faults::{Fault, FaultQueue};
use crate::common::jwt::Minted;
use crate::common::managed_identity::{FederationConfig, IdentityConfig, IdentitySource};

/// How many token requests `GET /admin/requests` remembers.
pub(crate) const REQUEST_LOG_CAPACITY: usize = 100;
/// How many service requests `GET /admin/service-requests` remembers.
pub(crate) const SERVICE_LOG_CAPACITY: usize = 200;

/// Request and issuance counts since start (or the last reset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Every request to the token path with `Metadata: true` (or `X-Forwarded-For`), whatever
    /// its outcome (faults and drops included).
    pub token_requests: u64,
    /// Successful token responses.
    pub tokens_issued: u64,
    /// Requests to the token path without the `Metadata` header: answered at once with 400
    /// `bad_request_102`, as IMDS does, before any fault (clients probe for IMDS this way).
    pub probe_requests: u64,
}

/// Traffic on the HTTPS service endpoints since start (or the last reset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceCounters {
    /// Every service request, whatever its outcome (faults and drops included).
    pub requests: u64,
    /// Request body bytes read.
    pub bytes_received: u64,
    /// Response body bytes handed to the connection.
    pub bytes_sent: u64,
    /// Claims challenges answered (401 with `claims`): to revoked tokens, and scripted ones.
    pub claims_challenges: u64,
}

/// A request as received, for tests to assert what the client sent.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, exactly as received (not decoded).
    pub query: String,
    /// Header names are lower-case (HTTP/1 names are case-insensitive), in received order.
    pub headers: Vec<(String, String)>,
}

/// Settings that may change while running (`POST /admin/config`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub token_lifetime_secs: u64,
    pub refresh_in_secs: Option<u64>,
    pub response_style: ResponseStyle,
    /// Polls of a Resource Manager long-running operation that answer 202 (fixed per
    /// operation when it starts).
    pub arm_operation_polls: u32,
    /// `Retry-After` of Resource Manager's 202 answers.
    pub arm_retry_after_secs: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Mutable {
    pub counters: Counters,
    pub requests: VecDeque<RecordedRequest>,
    pub faults: FaultQueue,
    pub service_requests: VecDeque<RecordedRequest>,
    pub service_faults: FaultQueue,
    /// The last revocation of each identity, by lower-case object id.
    pub revocations: HashMap<String, Revocation>,
    /// App Service's and Service Fabric's own token caches, by identity, resource and
    /// capabilities (see `identity::issue::cached_or_minted`).
    pub endpoint_tokens: HashMap<String, Minted>,
}

/// When an identity's tokens were revoked (`POST /admin/revoke`): every token minted before it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Revocation {
    /// Epoch seconds: the `nbf` a new token must have, as the claims challenge says.
    pub at: u64,
    /// Tokens with a smaller serial (`jwt::serial_of`) were minted before the revocation.
    pub serial: u64,
}

/// The virtual machine the emulator plays.
#[derive(Clone, Debug)]
pub(crate) struct VirtualMachine {
    pub subscription_id: String,
    pub resource_group: String,
    pub location: String,
    /// Stable for the emulator's lifetime, like a real VM's.
    pub vm_id: String,
    /// The cloud it runs in (`azEnvironment`).
    pub environment: CloudEnvironment,
}

/// Fixed identity data plus the mutable parts behind one lock (contention is irrelevant here).
pub(crate) struct Shared {
    pub tenant_id: String,
    pub system_assigned: Option<IdentityConfig>,
    pub user_assigned: Vec<IdentityConfig>,
    pub resources: Vec<String>,
    /// What `/metadata/instance` describes.
    pub vm: VirtualMachine,
    /// The token protocol the HTTP listener speaks.
    pub source: IdentitySource,
    /// The secret a non-IMDS source requires in its header (App Service's `IDENTITY_HEADER`,
    /// Azure ML's `MSI_SECRET`) or, for Arc, in its key file. Random per start.
    pub source_secret: String,
    /// Arc: the `.key` file the 401 challenge names (in a temporary tokens folder).
    pub arc_key_file: Option<std::path::PathBuf>,
    /// `scheme://host:port` of the Entra ID endpoints (set once bound): the URLs discovery
    /// documents give.
    pub authority_base: String,
    /// Workload identity: the federated credential assertions are checked against.
    pub federation: FederationConfig,
    settings: Mutex<Settings>,
    mutable: Mutex<Mutable>,
    // Byte counts change on every body chunk, so they are atomics rather than behind the lock.
    service_request_count: AtomicU64,
    service_bytes_received: AtomicU64,
    service_bytes_sent: AtomicU64,
    claims_challenges: AtomicU64,
    /// Flipped to `true` once to stop the server (admin endpoint, `shutdown`, or drop).
    pub shutdown: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(config: &EmulatorConfig) -> Self {
        let mut faults = FaultQueue::default();
        faults.replace(config.faults.clone());
        Shared {
            tenant_id: config.tenant_id.clone(),
            system_assigned: config.system_assigned.clone(),
            user_assigned: config.user_assigned.clone(),
            resources: config.resources.clone(),
            vm: VirtualMachine {
                subscription_id: config.subscription_id.clone(),
                resource_group: config.vault_resource_group.clone(),
                location: config
                    .resource_groups
                    .iter()
                    .find(|g| g.name == config.vault_resource_group)
                    .map_or_else(|| "eastus".to_owned(), |g| g.location.clone()),
                vm_id: crate::common::util::random_guid(),
                environment: config.environment,
            },
            source: config.source,
            source_secret: crate::common::util::random_secret(),
            arc_key_file: None,
            federation: config.federation.clone(),
            authority_base: String::new(),
            settings: Mutex::new(Settings {
                token_lifetime_secs: config.token_lifetime_secs,
                refresh_in_secs: config.refresh_in_secs,
                response_style: config.response_style,
                arm_operation_polls: config.arm_operation_polls,
                arm_retry_after_secs: config.arm_retry_after_secs,
            }),
            mutable: Mutex::new(Mutable {
                faults,
                ..Mutable::default()
            }),
            service_request_count: AtomicU64::new(0),
            service_bytes_received: AtomicU64::new(0),
            service_bytes_sent: AtomicU64::new(0),
            claims_challenges: AtomicU64::new(0),
            shutdown: watch::Sender::new(false),
        }
    }

    pub(crate) fn settings(&self) -> Settings {
        *lock(&self.settings)
    }

    pub(crate) fn update_settings(&self, f: impl FnOnce(&mut Settings)) -> Settings {
        let mut settings = lock(&self.settings);
        f(&mut settings);
        *settings
    }

    pub(crate) fn mutable(&self) -> MutexGuard<'_, Mutable> {
        lock(&self.mutable)
    }

    /// Counts and logs a token request, then takes the fault (if any) that applies to it.
    pub(crate) fn begin_token_request(&self, recorded: RecordedRequest) -> Option<Fault> {
        let mut m = self.mutable();
        m.counters.token_requests += 1;
        if m.requests.len() == REQUEST_LOG_CAPACITY {
            m.requests.pop_front();
        }
        m.requests.push_back(recorded);
        m.faults.next()
    }

    /// Counts a header-less request to the token path (a client's probe).
    pub(crate) fn count_probe(&self) {
        self.mutable().counters.probe_requests += 1;
    }

    pub(crate) fn token_issued(&self) {
        self.mutable().counters.tokens_issued += 1;
    }

    pub(crate) fn set_faults(&self, faults: Vec<Fault>) {
        self.mutable().faults.replace(faults);
    }

    /// Counts and logs a service request, then takes the service fault (if any) for it.
    pub(crate) fn begin_service_request(&self, recorded: RecordedRequest) -> Option<Fault> {
        self.service_request_count.fetch_add(1, Ordering::Relaxed);
        let mut m = self.mutable();
        if m.service_requests.len() == SERVICE_LOG_CAPACITY {
            m.service_requests.pop_front();
        }
        m.service_requests.push_back(recorded);
        m.service_faults.next()
    }

    pub(crate) fn add_bytes_received(&self, n: usize) {
        self.service_bytes_received
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn add_bytes_sent(&self, n: usize) {
        self.service_bytes_sent
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn service_counters(&self) -> ServiceCounters {
        ServiceCounters {
            requests: self.service_request_count.load(Ordering::Relaxed),
            bytes_received: self.service_bytes_received.load(Ordering::Relaxed),
            bytes_sent: self.service_bytes_sent.load(Ordering::Relaxed),
            claims_challenges: self.claims_challenges.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn claims_challenge_served(&self) {
        self.claims_challenges.fetch_add(1, Ordering::Relaxed);
    }

    /// The object ids of the identity with this client id, object id or resource id (any
    /// case), or of every identity for `None`; `None` when no identity has that id.
    pub(crate) fn identities_named(&self, id: Option<&str>) -> Option<Vec<String>> {
        let all = self.system_assigned.iter().chain(&self.user_assigned);
        let oids: Vec<String> = match id.map(str::trim) {
            None => all.map(|i| i.object_id.clone()).collect(),
            Some(id) => all
                .filter(|i| {
                    [&i.client_id, &i.object_id, &i.resource_id]
                        .iter()
                        .any(|known| known.eq_ignore_ascii_case(id))
                })
                .map(|i| i.object_id.clone())
                .collect(),
        };
        (!oids.is_empty() || id.is_none()).then_some(oids)
    }

    /// Revokes every token minted so far for the identities with these object ids, as of
    /// now; the services answer those tokens with a claims challenge from then on.
    pub(crate) fn revoke(&self, object_ids: &[String]) -> Revocation {
        let revocation = Revocation {
            at: crate::common::util::now_secs(),
            serial: crate::common::jwt::next_serial(),
        };
        let mut m = self.mutable();
        for oid in object_ids {
            m.revocations.insert(oid.to_ascii_lowercase(), revocation);
        }
        revocation
    }

    /// The revocation a token of `object_id` with `serial` falls under, if any.
    pub(crate) fn revocation_of(&self, object_id: &str, serial: Option<u64>) -> Option<Revocation> {
        let m = self.mutable();
        let revocation = m.revocations.get(&object_id.to_ascii_lowercase())?;
        // A token this process did not mint with a serial predates every revocation.
        (serial.unwrap_or(0) < revocation.serial).then_some(*revocation)
    }

    pub(crate) fn set_service_faults(&self, faults: Vec<Fault>) {
        self.mutable().service_faults.replace(faults);
    }

    /// Clears counters, request logs and fault queues of IMDS and the services (stored files,
    /// settings, revocations and the endpoints' token caches are kept).
    pub(crate) fn reset(&self) {
        let mut m = self.mutable();
        m.counters = Counters::default();
        m.requests.clear();
        m.faults.clear();
        m.service_requests.clear();
        m.service_faults.clear();
        self.service_request_count.store(0, Ordering::Relaxed);
        self.service_bytes_received.store(0, Ordering::Relaxed);
        self.service_bytes_sent.store(0, Ordering::Relaxed);
        self.claims_challenges.store(0, Ordering::Relaxed);
    }

    pub(crate) fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves once a stop was requested. Returns `()` rather than the watch guard so that
    /// callers' futures stay `Send`.
    pub(crate) async fn stop_requested(&self) {
        let mut rx = self.shutdown.subscribe();
        // The sender lives in `self`, so it cannot be dropped while we wait.
        let _ = rx.wait_for(|stopping| *stopping).await;
    }
}

/// A handler that panicked while holding the lock leaves consistent data behind (every update
/// is a single assignment), so poisoning is ignored rather than propagated as a second panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
