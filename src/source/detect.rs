//! Which managed identity source this process is in, from a snapshot of its environment
//! variables, in the order the Azure SDKs use.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::{Source, SourceConfig};
use crate::error::{Error, Result};
use crate::identity::{
    token_url_from_authority_host, ENV_IMDS_ENDPOINT, ENV_POD_IDENTITY_HOST, IMDS_TOKEN_URL,
};

pub const ENV_IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
pub const ENV_IDENTITY_HEADER: &str = "IDENTITY_HEADER";
pub const ENV_IDENTITY_SERVER_THUMBPRINT: &str = "IDENTITY_SERVER_THUMBPRINT";
pub const ENV_IMDS_ENDPOINT_ARC: &str = "IMDS_ENDPOINT";
pub const ENV_MSI_ENDPOINT: &str = "MSI_ENDPOINT";
pub const ENV_MSI_SECRET: &str = "MSI_SECRET";
pub const ENV_DEFAULT_IDENTITY_CLIENT_ID: &str = "DEFAULT_IDENTITY_CLIENT_ID";
pub const ENV_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
pub const ENV_CLIENT_ID: &str = "AZURE_CLIENT_ID";
pub const ENV_TENANT_ID: &str = "AZURE_TENANT_ID";
pub const ENV_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";
/// Where Azure Arc key files must be, instead of the agent's own folder. For tests and
/// emulators only: the agent never sets it.
pub const ENV_ARC_TOKENS_DIR: &str = "AZMI_ARC_TOKENS_DIR";
/// How long the first call's probe of an IMDS endpoint may take, in milliseconds (default
/// 1000, as the Azure SDKs). For hosts where an IMDS that is there cannot answer within 1 s:
/// a loaded machine, a program under valgrind or an emulator.
pub const ENV_IMDS_PROBE_TIMEOUT_MS: &str = "AZMI_IMDS_PROBE_TIMEOUT_MS";
/// The longest probe window the variable may ask for: past it, a black hole is not told from
/// a slow IMDS any sooner than the token request's own timeout would tell it.
const MAX_IMDS_PROBE_TIMEOUT_MS: u64 = 20_000;

/// Every variable detection reads (besides the Windows folders of the Arc agent).
const NAMES: [&str; 15] = [
    ENV_IMDS_ENDPOINT,
    ENV_POD_IDENTITY_HOST,
    ENV_IDENTITY_ENDPOINT,
    ENV_IDENTITY_HEADER,
    ENV_IDENTITY_SERVER_THUMBPRINT,
    ENV_IMDS_ENDPOINT_ARC,
    ENV_MSI_ENDPOINT,
    ENV_MSI_SECRET,
    ENV_DEFAULT_IDENTITY_CLIENT_ID,
    ENV_FEDERATED_TOKEN_FILE,
    ENV_CLIENT_ID,
    ENV_TENANT_ID,
    ENV_AUTHORITY_HOST,
    ENV_ARC_TOKENS_DIR,
    ENV_IMDS_PROBE_TIMEOUT_MS,
];

/// Variables whose values are secrets: never shown.
const SECRET_NAMES: [&str; 2] = [ENV_IDENTITY_HEADER, ENV_MSI_SECRET];

/// Azure Arc's agent on Linux; its presence means Arc even without the variables.
#[cfg(not(windows))]
const ARC_AGENT: &str = "/opt/azcmagent/bin/himds";
/// Azure Arc's folder of key files on Linux.
#[cfg(not(windows))]
const ARC_TOKENS_DIR: &str = "/var/opt/azcmagent/tokens";
/// Azure Arc's token endpoint when only the agent on disk says Arc.
pub const ARC_DEFAULT_ENDPOINT: &str = "http://localhost:40342/metadata/identity/oauth2/token";

/// A snapshot of the environment variables that select a managed identity source. Built from
/// the process ([`SourceEnv::from_process`]) or by hand, so that tests and hosts can detect
/// from variables of their own without touching the process environment. `Debug` shows which
/// variables are set, never the secret ones' values.
#[derive(Clone, Default)]
pub struct SourceEnv {
    vars: BTreeMap<&'static str, String>,
    /// Where the Arc agent would be; `None`: the platform's path.
    arc_agent: Option<PathBuf>,
    /// The Arc key folder; `None`: `AZMI_ARC_TOKENS_DIR`, else the platform's folder.
    arc_tokens_dir: Option<PathBuf>,
}

impl SourceEnv {
    /// No variable set, the Arc agent looked for where it is installed.
    pub fn empty() -> SourceEnv {
        SourceEnv::default()
    }

    /// The variables of this process.
    pub fn from_process() -> SourceEnv {
        let mut env = SourceEnv::default();
        for name in NAMES {
            if let Some(value) = std::env::var_os(name) {
                if let Some(value) = value.to_str() {
                    env.vars.insert(name, value.to_owned());
                }
            }
        }
        env
    }

    /// Sets one variable (names detection does not read are ignored); an empty value is unset.
    pub fn set(mut self, name: &str, value: &str) -> SourceEnv {
        if let Some(known) = NAMES.iter().find(|n| **n == name) {
            self.vars.insert(known, value.to_owned());
        }
        self
    }

    /// Looks for the Arc agent at `path` instead of where it is installed.
    pub fn arc_agent_path(mut self, path: &Path) -> SourceEnv {
        self.arc_agent = Some(path.to_owned());
        self
    }

    /// Takes Arc key files only from `dir` (tests; the agent's own folder otherwise).
    pub fn arc_tokens_dir(mut self, dir: &Path) -> SourceEnv {
        self.arc_tokens_dir = Some(dir.to_owned());
        self
    }

    /// A variable's value, trimmed; unset and empty are the same.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The probe window `AZMI_IMDS_PROBE_TIMEOUT_MS` asks for; `None` when unset. A value that
    /// is not a whole number of milliseconds from 1 to 20000 is an error naming the variable.
    pub fn imds_probe_timeout(&self) -> Result<Option<std::time::Duration>> {
        let Some(value) = self.get(ENV_IMDS_PROBE_TIMEOUT_MS) else {
            return Ok(None);
        };
        match value.parse::<u64>() {
            Ok(ms) if (1..=MAX_IMDS_PROBE_TIMEOUT_MS).contains(&ms) => {
                Ok(Some(std::time::Duration::from_millis(ms)))
            }
            _ => Err(Error::InvalidArgument(format!(
                "{ENV_IMDS_PROBE_TIMEOUT_MS} is '{value}': give a whole number of milliseconds from 1 to {MAX_IMDS_PROBE_TIMEOUT_MS}, or unset it for the default (1000)"
            ))),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn required(&self, name: &str, source: Source) -> Result<&str> {
        self.get(name).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{} was chosen as the managed identity source, but {name} is not set",
                source.name()
            ))
        })
    }

    fn secret(&self, name: &str, source: Source) -> Result<SecretString> {
        Ok(SecretString::from(self.required(name, source)?))
    }

    /// The source these variables select, in the Azure SDKs' order (Service Fabric, App
    /// Service, Azure ML, Cloud Shell, Arc, workload identity, IMDS). `AZMI_IMDS_ENDPOINT` and
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST` come first: they name an IMDS endpoint on purpose
    /// (azmi-emulator prints them).
    pub fn detect(&self) -> Source {
        if self.has(ENV_IMDS_ENDPOINT) || self.has(ENV_POD_IDENTITY_HOST) {
            return Source::Imds;
        }
        let identity_endpoint = self.has(ENV_IDENTITY_ENDPOINT);
        if identity_endpoint && self.has(ENV_IDENTITY_HEADER) {
            if self.has(ENV_IDENTITY_SERVER_THUMBPRINT) {
                return Source::ServiceFabric;
            }
            return Source::AppService;
        }
        if self.has(ENV_MSI_ENDPOINT) {
            if self.has(ENV_MSI_SECRET) {
                return Source::AzureMl;
            }
            return Source::CloudShell;
        }
        if (identity_endpoint && self.has(ENV_IMDS_ENDPOINT_ARC)) || self.arc_agent_installed() {
            return Source::Arc;
        }
        if self.has(ENV_FEDERATED_TOKEN_FILE) && self.has(ENV_CLIENT_ID) && self.has(ENV_TENANT_ID)
        {
            return Source::WorkloadIdentity;
        }
        Source::Imds
    }

    /// Whether the Arc agent is on disk (a non-empty file where it installs itself).
    fn arc_agent_installed(&self) -> bool {
        let path = match &self.arc_agent {
            Some(p) => p.clone(),
            None => match default_arc_agent() {
                Some(p) => p,
                None => return false,
            },
        };
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0)
    }

    /// The configuration of `source` from these variables; an error naming the variable when
    /// one it needs is missing.
    pub fn config_for(&self, source: Source) -> Result<SourceConfig> {
        match source {
            Source::Imds => {
                let url = if let Some(v) = self.get(ENV_IMDS_ENDPOINT) {
                    v.to_owned()
                } else if let Some(v) = self.get(ENV_POD_IDENTITY_HOST) {
                    token_url_from_authority_host(v)
                } else {
                    IMDS_TOKEN_URL.to_owned()
                };
                SourceConfig::imds(&url)
            }
            Source::AppService => SourceConfig::app_service(
                self.required(ENV_IDENTITY_ENDPOINT, source)?,
                self.secret(ENV_IDENTITY_HEADER, source)?,
            ),
            Source::ServiceFabric => SourceConfig::service_fabric(
                self.required(ENV_IDENTITY_ENDPOINT, source)?,
                self.secret(ENV_IDENTITY_HEADER, source)?,
                self.required(ENV_IDENTITY_SERVER_THUMBPRINT, source)?,
            ),
            Source::AzureMl => SourceConfig::azure_ml(
                self.required(ENV_MSI_ENDPOINT, source)?,
                self.secret(ENV_MSI_SECRET, source)?,
                self.get(ENV_DEFAULT_IDENTITY_CLIENT_ID),
            ),
            Source::CloudShell => {
                SourceConfig::cloud_shell(self.required(ENV_MSI_ENDPOINT, source)?)
            }
            Source::Arc => {
                // Arc's variables come as a pair; IDENTITY_ENDPOINT alone is App Service's, and
                // an Arc request (with its key-file challenge) must not go there.
                let endpoint = match (self.get(ENV_IDENTITY_ENDPOINT), self.has(ENV_IMDS_ENDPOINT_ARC)) {
                    (Some(endpoint), true) => endpoint,
                    _ if self.arc_agent_installed() => ARC_DEFAULT_ENDPOINT,
                    _ => {
                        return Err(Error::InvalidArgument(format!(
                            "{} was chosen as the managed identity source, but neither {ENV_IDENTITY_ENDPOINT} with {ENV_IMDS_ENDPOINT_ARC} is set nor the Arc agent installed",
                            source.name()
                        )))
                    }
                };
                let dir = self
                    .arc_tokens_dir
                    .clone()
                    .or_else(|| self.get(ENV_ARC_TOKENS_DIR).map(PathBuf::from));
                SourceConfig::arc(endpoint, dir.as_deref())
            }
            Source::WorkloadIdentity => SourceConfig::workload_identity(
                self.get(ENV_AUTHORITY_HOST),
                self.required(ENV_TENANT_ID, source)?,
                self.required(ENV_CLIENT_ID, source)?,
                Path::new(self.required(ENV_FEDERATED_TOKEN_FILE, source)?),
            ),
        }
    }
}

impl fmt::Debug for SourceEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.vars {
            if SECRET_NAMES.contains(name) {
                map.entry(name, &"<redacted>");
            } else {
                map.entry(name, value);
            }
        }
        map.finish()
    }
}

#[cfg(not(windows))]
fn default_arc_agent() -> Option<PathBuf> {
    if cfg!(target_os = "linux") {
        Some(PathBuf::from(ARC_AGENT))
    } else {
        None
    }
}

#[cfg(windows)]
fn default_arc_agent() -> Option<PathBuf> {
    let files = std::env::var_os("ProgramFiles")?;
    Some(
        PathBuf::from(files)
            .join("AzureConnectedMachineAgent")
            .join("himds.exe"),
    )
}

/// The folder the Arc agent writes its key files to, on this platform.
#[cfg(not(windows))]
pub(crate) fn default_arc_tokens_dir() -> Option<PathBuf> {
    if cfg!(target_os = "linux") {
        Some(PathBuf::from(ARC_TOKENS_DIR))
    } else {
        None
    }
}

/// The folder the Arc agent writes its key files to, on this platform.
#[cfg(windows)]
pub(crate) fn default_arc_tokens_dir() -> Option<PathBuf> {
    let data = std::env::var_os("ProgramData")?;
    Some(
        PathBuf::from(data)
            .join("AzureConnectedMachineAgent")
            .join("Tokens"),
    )
}
