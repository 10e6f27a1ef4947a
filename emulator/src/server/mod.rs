//! The [`Emulator`] handle and its dedicated server threads: IMDS and the admin API over HTTP
//! (`http.rs`), the services over HTTPS (`https.rs`).

mod accept;
mod http;
mod https;

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::arm::{ArmState, ResourceManager};
use crate::common::config::{check_loopback, EmulatorConfig, ResponseStyle};
use crate::common::faults::Fault;
use crate::common::managed_identity::IdentitySource;
use crate::common::state::{Counters, RecordedRequest, ServiceCounters, Shared};
use crate::common::tls::{self, Tls};
use crate::identity::imds::TOKEN_PATH;
use crate::identity::{app_service, arc, azure_ml, cloud_shell, service_fabric, workload_identity};
use crate::keyvault::KeyVault;
use crate::storage::{Storage, Store};

/// The federated token file's name in the workload identity source's folder.
const FEDERATED_TOKEN_FILE: &str = "azure-identity-token";
/// Lifetime of the federated token written at start (a projected token's default is an hour).
const FEDERATED_TOKEN_LIFETIME_SECS: u64 = 3600;

/// A running emulator. IMDS and the HTTPS services each serve on their own thread and tokio
/// runtime, so it works the same from synchronous tests and from inside another runtime (and a
/// large upload does not slow token requests down). Dropping it stops both.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    https_addr: SocketAddr,
    keyvault_addr: SocketAddr,
    arm_addr: SocketAddr,
    threads: Vec<JoinHandle<()>>,
    /// Dropped after the threads have stopped: removes a temporary CA folder.
    tls: Option<Tls>,
    /// Arc: the tokens folder holding the challenge's key file; workload identity: the folder
    /// of the federated token file. Removed on stop.
    source_dir: Option<SourceFiles>,
    /// Service Fabric and workload identity: the HTTPS token listener, and Service Fabric's
    /// certificate thumbprint.
    source_https: Option<(SocketAddr, Option<String>)>,
}

impl Emulator {
    /// Binds both listeners (synchronously, so the ports are known and connectable on return),
    /// writes the CA file and starts serving.
    pub fn start(config: EmulatorConfig) -> io::Result<Emulator> {
        check_loopback(config.bind).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        config
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;

        let listener = StdTcpListener::bind((config.bind, config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let https_listener = https::bind(config.bind, config.https_port)?;
        let https_addr = https_listener.local_addr()?;
        let keyvault_listener = https::bind(config.bind, config.keyvault_port)?;
        let keyvault_addr = keyvault_listener.local_addr()?;
        let arm_listener = https::bind(config.bind, config.arm_port)?;
        let arm_addr = arm_listener.local_addr()?;

        let mut cloud = config.cloud(crate::common::util::now_secs());
        cloud.keyvault_url = https_url(keyvault_addr);
        cloud.arm_url = https_url(arm_addr);

        let tls = tls::setup(config.ca_dir.as_deref())?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&tls.server_config));
        let storage = Arc::new(Storage {
            store: Store::new(config.data_dir.as_deref(), &config.filesystems)?,
            acl: config.acl.clone(),
            redirect_host: config.redirect_host.clone(),
            redirect_requires_auth: config.redirect_requires_auth,
            account: config.data_lake_account.clone(),
            ip: https_addr.ip(),
            port: https_addr.port(),
        });
        let cloud = Arc::new(cloud);
        let keyvault = Arc::new(KeyVault {
            cloud: Arc::clone(&cloud),
        });
        let arm = Arc::new(ResourceManager {
            arm: ArmState::new(&cloud.resource_groups, &cloud.storage_accounts),
            cloud,
        });

        let runtime = new_runtime()?;
        let https_runtime = new_runtime()?;
        let mut shared = Shared::new(&config);
        shared.authority_base = base_url(addr);
        let source_dir = match config.source {
            IdentitySource::Arc => match &config.arc_tokens_dir {
                // A folder given (the agent's own, which Microsoft's clients insist on): only
                // the key file written there is the emulator's, and only it is removed.
                Some(dir) => {
                    std::fs::create_dir_all(dir)?;
                    let file = arc::write_key_file(dir, &shared.source_secret)?;
                    shared.arc_key_file = Some(file.clone());
                    Some(SourceFiles::KeyFile {
                        dir: dir.clone(),
                        file,
                    })
                }
                None => {
                    let dir = tempfile::Builder::new()
                        .prefix("azmi-emulator-arc-tokens-")
                        .tempdir()?;
                    shared.arc_key_file =
                        Some(arc::write_key_file(dir.path(), &shared.source_secret)?);
                    Some(SourceFiles::TempDir(dir))
                }
            },
            IdentitySource::WorkloadIdentity => {
                let dir = tempfile::Builder::new()
                    .prefix("azmi-emulator-federation-")
                    .tempdir()?;
                let token = workload_identity::federated_token(
                    &config.federation,
                    FEDERATED_TOKEN_LIFETIME_SECS,
                );
                std::fs::write(dir.path().join(FEDERATED_TOKEN_FILE), token)?;
                Some(SourceFiles::TempDir(dir))
            }
            _ => None,
        };
        // Service Fabric and workload identity also answer over TLS: Service Fabric with a
        // self-signed certificate clients pin by thumbprint, Entra ID with the emulator's CA
        // (Azure.Identity refuses an authority host that is not https).
        let source_tls = match config.source {
            IdentitySource::ServiceFabric => {
                let pinned = tls::self_signed()?;
                Some((
                    https::bind(config.bind, 0)?,
                    tokio_rustls::TlsAcceptor::from(pinned.server_config),
                    Some(pinned.thumbprint),
                ))
            }
            IdentitySource::WorkloadIdentity => Some((
                https::bind(config.bind, 0)?,
                tokio_rustls::TlsAcceptor::from(Arc::clone(&tls.server_config)),
                None,
            )),
            _ => None,
        };
        let source_https = match &source_tls {
            Some((listener, _, thumbprint)) => Some((listener.local_addr()?, thumbprint.clone())),
            None => None,
        };
        if let Some((addr, _)) = &source_https {
            shared.authority_base = https_url(*addr);
        }
        let shared = Arc::new(shared);
        let thread_shared = Arc::clone(&shared);
        let imds_thread = std::thread::Builder::new()
            .name(format!("azmi-emulator-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    match source_tls {
                        Some((tls_listener, acceptor, _)) => {
                            tokio::join!(
                                http::serve(listener, Arc::clone(&thread_shared)),
                                http::serve_tls_source(tls_listener, acceptor, thread_shared),
                            );
                        }
                        None => http::serve(listener, thread_shared).await,
                    }
                })
            })?;
        let thread_shared = Arc::clone(&shared);
        let https_thread = std::thread::Builder::new()
            .name(format!("azmi-emulator-https-{}", https_addr.port()))
            .spawn(move || {
                https_runtime.block_on(async move {
                    tokio::join!(
                        https::serve(
                            https_listener,
                            acceptor.clone(),
                            Arc::clone(&thread_shared),
                            storage,
                        ),
                        https::serve(
                            keyvault_listener,
                            acceptor.clone(),
                            Arc::clone(&thread_shared),
                            keyvault,
                        ),
                        https::serve(arm_listener, acceptor, thread_shared, arm),
                    );
                })
            });
        let https_thread = match https_thread {
            Ok(thread) => thread,
            Err(e) => {
                shared.request_shutdown();
                let _ = imds_thread.join();
                return Err(e);
            }
        };

        Ok(Emulator {
            shared,
            addr,
            https_addr,
            keyvault_addr,
            arm_addr,
            threads: vec![imds_thread, https_thread],
            tls: Some(tls),
            source_dir,
            source_https,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT` (or `http://[::1]:PORT` when bound to IPv6 loopback).
    pub fn base_url(&self) -> String {
        base_url(self.addr)
    }

    /// The IMDS token endpoint URL (what `AZMI_IMDS_ENDPOINT` should be set to).
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.base_url())
    }

    /// The managed-identity source the HTTP listener speaks.
    pub fn source(&self) -> IdentitySource {
        self.shared.source
    }

    /// The environment variables a client must set to get tokens from this source, in the
    /// order `azmi-emulator` prints them (`docs/emulator.md`, "Managed identity sources").
    /// Values include the source's secret: print them for a shell, never log them.
    pub fn environment(&self) -> Vec<(String, String)> {
        let base = self.base_url();
        let secret = self.shared.source_secret.clone();
        let pairs: Vec<(&str, String)> = match self.shared.source {
            IdentitySource::Imds => vec![
                ("AZMI_IMDS_ENDPOINT", self.token_url()),
                ("AZURE_POD_IDENTITY_AUTHORITY_HOST", base),
            ],
            IdentitySource::AppService => vec![
                (
                    "IDENTITY_ENDPOINT",
                    format!("{base}{}", app_service::TOKEN_PATH),
                ),
                ("IDENTITY_HEADER", secret),
            ],
            IdentitySource::AzureMl => {
                let mut pairs = vec![
                    ("MSI_ENDPOINT", format!("{base}{}", azure_ml::TOKEN_PATH)),
                    ("MSI_SECRET", secret),
                ];
                // Azure ML computes set the compute's own identity; SDKs send it as `clientid`.
                if let Some(identity) = self
                    .shared
                    .system_assigned
                    .as_ref()
                    .or(self.shared.user_assigned.first())
                {
                    pairs.push(("DEFAULT_IDENTITY_CLIENT_ID", identity.client_id.clone()));
                }
                pairs
            }
            IdentitySource::CloudShell => {
                vec![("MSI_ENDPOINT", format!("{base}{}", cloud_shell::TOKEN_PATH))]
            }
            IdentitySource::ServiceFabric => {
                let (addr, thumbprint) = self.source_https.clone().unwrap_or((self.addr, None));
                let thumbprint = thumbprint.unwrap_or_default();
                vec![
                    (
                        "IDENTITY_ENDPOINT",
                        format!("{}{}", https_url(addr), service_fabric::TOKEN_PATH),
                    ),
                    ("IDENTITY_HEADER", secret),
                    ("IDENTITY_SERVER_THUMBPRINT", thumbprint),
                ]
            }
            IdentitySource::WorkloadIdentity => vec![
                ("AZURE_AUTHORITY_HOST", self.authority_host()),
                ("AZURE_TENANT_ID", self.shared.tenant_id.clone()),
                ("AZURE_CLIENT_ID", self.shared.federation.client_id.clone()),
                (
                    "AZURE_FEDERATED_TOKEN_FILE",
                    self.federated_token_file()
                        .unwrap_or_default()
                        .display()
                        .to_string(),
                ),
            ],
            IdentitySource::Arc => vec![
                ("IDENTITY_ENDPOINT", self.token_url()),
                ("IMDS_ENDPOINT", base),
            ],
        };
        pairs
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect()
    }

    /// Arc: the tokens folder the challenge's key file is in (a temporary one, or
    /// [`EmulatorConfig::arc_tokens_dir`]; a client only reads key files under the agent's
    /// tokens folder, so tests point it here). `None` for other sources.
    pub fn arc_tokens_dir(&self) -> Option<PathBuf> {
        match self.shared.source {
            IdentitySource::Arc => self.source_dir.as_ref().map(|d| d.dir().to_path_buf()),
            _ => None,
        }
    }

    /// Workload identity: the federated token file the emulator wrote at start (valid for an
    /// hour), what `AZURE_FEDERATED_TOKEN_FILE` is set to. `None` for other sources.
    pub fn federated_token_file(&self) -> Option<PathBuf> {
        match self.shared.source {
            IdentitySource::WorkloadIdentity => self
                .source_dir
                .as_ref()
                .map(|d| d.dir().join(FEDERATED_TOKEN_FILE)),
            _ => None,
        }
    }

    /// Writes a federated token for the configured federation (issuer, subject, and Entra ID's
    /// token-exchange audience) valid for `lifetime_secs` from now, as the cluster would
    /// project it. Any source may write one; only workload identity accepts it.
    pub fn write_federated_token(
        &self,
        path: impl AsRef<std::path::Path>,
        lifetime_secs: u64,
    ) -> io::Result<()> {
        std::fs::write(
            path,
            workload_identity::federated_token(&self.shared.federation, lifetime_secs),
        )
    }

    /// Workload identity: `https://127.0.0.1:PORT/`, the authority host of the Entra ID
    /// endpoints (`AZURE_AUTHORITY_HOST`; trust the emulator's CA, [`Emulator::ca_file`]). The
    /// plain listener answers them too, at [`Emulator::base_url`]. Other sources: the plain
    /// listener's URL.
    pub fn authority_host(&self) -> String {
        format!("{}/", self.shared.authority_base)
    }

    /// Service Fabric: the SHA-1 thumbprint (upper-case hex) of the token endpoint's
    /// self-signed certificate, what `IDENTITY_SERVER_THUMBPRINT` is set to. `None` for other
    /// sources.
    pub fn service_fabric_thumbprint(&self) -> Option<String> {
        self.source_https.as_ref().and_then(|(_, t)| t.clone())
    }

    pub fn https_port(&self) -> u16 {
        self.https_addr.port()
    }

    /// `https://127.0.0.1:PORT`: Gen1 is at `/webhdfs/v1/…`, Gen2 at `/<filesystem>/…`.
    pub fn https_base_url(&self) -> String {
        https_url(self.https_addr)
    }

    pub fn keyvault_port(&self) -> u16 {
        self.keyvault_addr.port()
    }

    /// `https://127.0.0.1:PORT`, the vault URL (what `AZMI_KEYVAULT_URL` is set to).
    pub fn keyvault_url(&self) -> String {
        https_url(self.keyvault_addr)
    }

    pub fn arm_port(&self) -> u16 {
        self.arm_addr.port()
    }

    /// `https://127.0.0.1:PORT`, the Resource Manager endpoint (`AZMI_ARM_ENDPOINT`).
    pub fn arm_url(&self) -> String {
        https_url(self.arm_addr)
    }

    /// The CA certificate file (`<ca_dir>/azmi-emulator-ca.pem`), what `AZMI_CA_FILE` is set to.
    pub fn ca_file(&self) -> PathBuf {
        self.tls
            .as_ref()
            .map(|t| t.ca_file.clone())
            .unwrap_or_default()
    }

    /// The CA certificate, PEM-encoded.
    pub fn ca_pem(&self) -> String {
        self.tls
            .as_ref()
            .map(|t| t.ca_pem.clone())
            .unwrap_or_default()
    }

    /// Replaces the service fault queue (applied to the next service requests).
    pub fn set_service_faults(&self, faults: Vec<Fault>) {
        self.shared.set_service_faults(faults);
    }

    /// Revokes the tokens minted so far for the identity with this client id, object id or
    /// resource id (every identity for `None`), as `POST /admin/revoke` does: Key Vault,
    /// Resource Manager and Data Lake answer them with a claims challenge from now on. Returns
    /// the revoked identities' object ids; an id no identity has is an error.
    pub fn revoke_tokens(&self, identity: Option<&str>) -> Result<Vec<String>, String> {
        let object_ids = self.shared.identities_named(identity).ok_or_else(|| {
            format!(
                "no identity has the client id, object id or resource id '{}'",
                identity.unwrap_or_default()
            )
        })?;
        self.shared.revoke(&object_ids);
        Ok(object_ids)
    }

    pub fn service_counters(&self) -> ServiceCounters {
        self.shared.service_counters()
    }

    /// The last 200 service requests, oldest first (`Authorization` shown as
    /// `Bearer <redacted>`).
    pub fn service_requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .mutable()
            .service_requests
            .iter()
            .cloned()
            .collect()
    }

    pub fn counters(&self) -> Counters {
        self.shared.mutable().counters
    }

    /// The last 100 token requests, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.mutable().requests.iter().cloned().collect()
    }

    /// Replaces the fault queue.
    pub fn set_faults(&self, faults: Vec<Fault>) {
        self.shared.set_faults(faults);
    }

    /// Clears counters, request logs and fault queues of IMDS and the services (settings and
    /// stored files are kept).
    pub fn reset(&self) {
        self.shared.reset();
    }

    pub fn set_token_lifetime(&self, secs: u64) {
        self.shared
            .update_settings(|s| s.token_lifetime_secs = secs);
    }

    pub fn set_refresh_in(&self, secs: Option<u64>) {
        self.shared.update_settings(|s| s.refresh_in_secs = secs);
    }

    pub fn set_response_style(&self, style: ResponseStyle) {
        self.shared.update_settings(|s| s.response_style = style);
    }

    /// How many polls of a Resource Manager long-running operation started from now on answer
    /// 202 before it completes.
    pub fn set_arm_operation_polls(&self, polls: u32) {
        self.shared
            .update_settings(|s| s.arm_operation_polls = polls);
    }

    /// The `Retry-After` (seconds) of Resource Manager's 202 answers from now on.
    pub fn set_arm_retry_after(&self, secs: u64) {
        self.shared
            .update_settings(|s| s.arm_retry_after_secs = secs);
    }

    /// Whether a stop was requested (`POST /admin/shutdown`, or [`Emulator::shutdown`]).
    pub fn is_stopping(&self) -> bool {
        *self.shared.shutdown.borrow()
    }

    /// Resolves once a stop was requested, e.g. by `POST /admin/shutdown`. Works from any
    /// runtime (the binary awaits it next to its signal handlers).
    pub async fn stopped(&self) {
        self.shared.stop_requested().await;
    }

    /// Stops serving, lets in-flight responses finish briefly, and joins the server threads.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shared.request_shutdown();
        for thread in self.threads.drain(..) {
            // A thread only returns after closing its sockets; a panic there is already
            // reported on stderr by the panic hook, so it is not re-raised here (this also runs
            // from Drop, where a second panic would abort).
            let _ = thread.join();
        }
        self.tls = None;
        self.source_dir = None;
    }
}

/// The files a source's protocol needs on disk, removed when the emulator stops.
enum SourceFiles {
    /// A temporary folder of the emulator's own, removed whole.
    TempDir(tempfile::TempDir),
    /// Arc's key file in a tokens folder the emulator was given: only the file is removed.
    KeyFile { dir: PathBuf, file: PathBuf },
}

impl SourceFiles {
    fn dir(&self) -> &Path {
        match self {
            SourceFiles::TempDir(dir) => dir.path(),
            SourceFiles::KeyFile { dir, .. } => dir,
        }
    }
}

impl Drop for SourceFiles {
    fn drop(&mut self) {
        if let SourceFiles::KeyFile { file, .. } = self {
            let _ = std::fs::remove_file(file);
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .field("https_addr", &self.https_addr)
            .field("keyvault_addr", &self.keyvault_addr)
            .field("arm_addr", &self.arm_addr)
            .finish()
    }
}

fn base_url(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("http://{ip}:{}", addr.port()),
        IpAddr::V6(ip) => format!("http://[{ip}]:{}", addr.port()),
    }
}

fn https_url(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("https://{ip}:{}", addr.port()),
        IpAddr::V6(ip) => format!("https://[{ip}]:{}", addr.port()),
    }
}

fn new_runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}
