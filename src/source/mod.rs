//! Managed identity sources: where a token comes from on each kind of Azure host, detected from
//! the environment the way the Azure SDKs do it ([`SourceEnv::detect`]), or chosen explicitly.
//!
//! Each source's protocol lives in its own module; they share one request, bounded-read and
//! retry loop (`exchange.rs`). Only IMDS probes whether its endpoint is there at all (it is the
//! default, so off Azure it must fail fast); the others are named by their host's environment
//! and get ordinary timeouts. Secrets (`IDENTITY_HEADER`, `MSI_SECRET`, Arc key files,
//! federated tokens) are kept as [`SecretString`]s or wiped buffers and never appear in
//! `Debug` output, logs or messages.

mod app_service;
mod arc;
mod azure_ml;
mod cloud_shell;
mod detect;
pub(crate) mod exchange;
pub(crate) mod imds;
mod service_fabric;
mod workload_identity;

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

pub use detect::*;
pub use exchange::MAX_TOKEN_ANSWER;
pub(crate) use service_fabric::PinnedClients;

use crate::claims::Claims;
use crate::error::{Error, Result};
use crate::identity::{parse_endpoint, IdentityId, ManagedIdentity};
use crate::token::AccessToken;
use imds::EndpointProbes;

/// Where a managed identity's tokens come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The Instance Metadata Service of VMs and scale sets (and anything speaking its protocol).
    Imds,
    /// App Service, Azure Functions, Azure Automation cloud jobs (`IDENTITY_ENDPOINT` +
    /// `IDENTITY_HEADER`).
    AppService,
    /// Service Fabric applications (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER` +
    /// `IDENTITY_SERVER_THUMBPRINT`).
    ServiceFabric,
    /// Azure Machine Learning compute (`MSI_ENDPOINT` + `MSI_SECRET`).
    AzureMl,
    /// Azure Cloud Shell (`MSI_ENDPOINT` alone).
    CloudShell,
    /// Azure Arc-enabled servers (`IDENTITY_ENDPOINT` + `IMDS_ENDPOINT`, or the agent on disk).
    Arc,
    /// AKS workload identity: a federated token exchanged at Entra ID
    /// (`AZURE_FEDERATED_TOKEN_FILE` + `AZURE_CLIENT_ID` + `AZURE_TENANT_ID`).
    WorkloadIdentity,
}

impl Source {
    /// Every source, in detection order (IMDS, the default, last).
    pub const ALL: [Source; 7] = [
        Source::ServiceFabric,
        Source::AppService,
        Source::AzureMl,
        Source::CloudShell,
        Source::Arc,
        Source::WorkloadIdentity,
        Source::Imds,
    ];

    /// The name people know it by, used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Source::Imds => "IMDS",
            Source::AppService => "App Service",
            Source::ServiceFabric => "Service Fabric",
            Source::AzureMl => "Azure ML",
            Source::CloudShell => "Cloud Shell",
            Source::Arc => "Azure Arc",
            Source::WorkloadIdentity => "AKS workload identity",
        }
    }

    /// A stable identifier without spaces (`imds`, `app_service`, `service_fabric`,
    /// `azure_ml`, `cloud_shell`, `arc`, `workload_identity`) for settings and other languages.
    pub fn id(self) -> &'static str {
        match self {
            Source::Imds => "imds",
            Source::AppService => "app_service",
            Source::ServiceFabric => "service_fabric",
            Source::AzureMl => "azure_ml",
            Source::CloudShell => "cloud_shell",
            Source::Arc => "arc",
            Source::WorkloadIdentity => "workload_identity",
        }
    }

    /// The source with this [`Source::id`] or [`Source::name`], ignoring case, spaces, `-`
    /// and `_` (`AppService`, `app-service`, `App Service` all work).
    pub fn from_name(text: &str) -> Option<Source> {
        let squash = |s: &str| {
            s.chars()
                .filter(|c| !matches!(c, ' ' | '-' | '_'))
                .flat_map(char::to_lowercase)
                .collect::<String>()
        };
        let wanted = squash(text);
        Source::ALL
            .into_iter()
            .find(|s| squash(s.id()) == wanted || squash(s.name()) == wanted)
            .or(match wanted.as_str() {
                "azurearc" => Some(Source::Arc),
                "workloadidentity" | "aks" => Some(Source::WorkloadIdentity),
                "functions" | "automation" => Some(Source::AppService),
                _ => None,
            })
    }

    /// Whether token requests of this source carry client capabilities (`xms_cc`): App Service
    /// and Service Fabric as a query parameter, workload identity in its claims. IMDS, Azure ML,
    /// Cloud Shell and Arc take none.
    pub fn sends_capabilities(self) -> bool {
        matches!(
            self,
            Source::AppService | Source::ServiceFabric | Source::WorkloadIdentity
        )
    }

    /// Whether this source can give a token for `identity`, said before anything is sent.
    pub(crate) fn check_identity(self, identity: &IdentityId) -> Result<()> {
        let why = match (self, identity) {
            (_, IdentityId::SystemAssigned) | (Source::Imds | Source::AppService, _) => {
                return Ok(())
            }
            (Source::AzureMl | Source::WorkloadIdentity, IdentityId::ClientId(_)) => return Ok(()),
            (Source::AzureMl, _) => "Azure ML selects a user-assigned identity by its client id only",
            (Source::WorkloadIdentity, _) => {
                "AKS workload identity selects an identity by its client id only (AZURE_CLIENT_ID or the client id given)"
            }
            (Source::ServiceFabric, _) => {
                "Service Fabric gives the identity its application manifest names; it cannot be chosen at run time"
            }
            (Source::CloudShell, _) => "Cloud Shell gives only the signed-in user's identity",
            (Source::Arc, _) => "Azure Arc serves only the machine's system-assigned identity",
        };
        Err(Error::InvalidArgument(format!(
            "{why}, so {identity} cannot be asked of it (nothing was sent); leave the id out, or choose another source"
        )))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One source's settings: its endpoint and what it needs to ask. Built from the environment
/// ([`SourceEnv::config_for`]) or by hand. `Debug` never shows a secret.
pub struct SourceConfig {
    kind: Kind,
}

enum Kind {
    Imds {
        endpoint: url::Url,
    },
    AppService {
        endpoint: url::Url,
        secret: SecretString,
    },
    ServiceFabric {
        endpoint: url::Url,
        secret: SecretString,
        thumbprint: service_fabric::Thumbprint,
    },
    AzureMl {
        endpoint: url::Url,
        secret: SecretString,
        default_client_id: Option<String>,
    },
    CloudShell {
        endpoint: url::Url,
    },
    Arc {
        endpoint: url::Url,
        tokens_dir: Option<PathBuf>,
    },
    WorkloadIdentity {
        token_url: url::Url,
        client_id: String,
        token_file: PathBuf,
    },
}

impl SourceConfig {
    /// IMDS (or anything speaking its protocol) at a full token URL.
    pub fn imds(token_url: &str) -> Result<SourceConfig> {
        let endpoint = parse_endpoint(token_url, "the token endpoint")?;
        Ok(SourceConfig {
            kind: Kind::Imds { endpoint },
        })
    }

    /// App Service / Functions / Automation: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
    pub fn app_service(endpoint: &str, identity_header: SecretString) -> Result<SourceConfig> {
        let endpoint = parse_endpoint(endpoint, "IDENTITY_ENDPOINT")?;
        check_secret("IDENTITY_HEADER", &identity_header)?;
        Ok(SourceConfig {
            kind: Kind::AppService {
                endpoint,
                secret: identity_header,
            },
        })
    }

    /// Service Fabric: `IDENTITY_ENDPOINT` (HTTPS), `IDENTITY_HEADER` and
    /// `IDENTITY_SERVER_THUMBPRINT` (the SHA-1 of the endpoint's certificate, in hex).
    pub fn service_fabric(
        endpoint: &str,
        identity_header: SecretString,
        thumbprint: &str,
    ) -> Result<SourceConfig> {
        let endpoint = parse_endpoint(endpoint, "IDENTITY_ENDPOINT")?;
        if endpoint.scheme() != "https" {
            return Err(Error::Insecure(format!(
                "the Service Fabric endpoint {endpoint} is not HTTPS; its secret is sent only over TLS to the certificate IDENTITY_SERVER_THUMBPRINT names"
            )));
        }
        check_secret("IDENTITY_HEADER", &identity_header)?;
        let thumbprint = service_fabric::Thumbprint::parse(thumbprint)?;
        Ok(SourceConfig {
            kind: Kind::ServiceFabric {
                endpoint,
                secret: identity_header,
                thumbprint,
            },
        })
    }

    /// Azure ML: `MSI_ENDPOINT`, `MSI_SECRET`, and `DEFAULT_IDENTITY_CLIENT_ID` (the identity
    /// asked for when no client id is given).
    pub fn azure_ml(
        endpoint: &str,
        secret: SecretString,
        default_client_id: Option<&str>,
    ) -> Result<SourceConfig> {
        let endpoint = parse_endpoint(endpoint, "MSI_ENDPOINT")?;
        check_secret("MSI_SECRET", &secret)?;
        let default_client_id = default_client_id
            .map(|id| crate::identity::validate_guid("DEFAULT_IDENTITY_CLIENT_ID", id))
            .transpose()?;
        Ok(SourceConfig {
            kind: Kind::AzureMl {
                endpoint,
                secret,
                default_client_id,
            },
        })
    }

    /// Cloud Shell: `MSI_ENDPOINT`.
    pub fn cloud_shell(endpoint: &str) -> Result<SourceConfig> {
        let endpoint = parse_endpoint(endpoint, "MSI_ENDPOINT")?;
        Ok(SourceConfig {
            kind: Kind::CloudShell { endpoint },
        })
    }

    /// Azure Arc at `endpoint`, taking key files only from `tokens_dir` (`None`: the agent's
    /// folder, `/var/opt/azcmagent/tokens` or `%ProgramData%\AzureConnectedMachineAgent\Tokens`).
    pub fn arc(endpoint: &str, tokens_dir: Option<&Path>) -> Result<SourceConfig> {
        let endpoint = parse_endpoint(endpoint, "IDENTITY_ENDPOINT")?;
        Ok(SourceConfig {
            kind: Kind::Arc {
                endpoint,
                tokens_dir: tokens_dir.map(Path::to_owned),
            },
        })
    }

    /// AKS workload identity: the federated token in `token_file` exchanged at
    /// `authority_host` (default `https://login.microsoftonline.com/`) for `client_id` in
    /// `tenant_id`.
    pub fn workload_identity(
        authority_host: Option<&str>,
        tenant_id: &str,
        client_id: &str,
        token_file: &Path,
    ) -> Result<SourceConfig> {
        let token_url = workload_identity::token_url(authority_host, tenant_id)?;
        let client_id = crate::identity::validate_guid("client id (AZURE_CLIENT_ID)", client_id)?;
        Ok(SourceConfig {
            kind: Kind::WorkloadIdentity {
                token_url,
                client_id,
                token_file: token_file.to_owned(),
            },
        })
    }

    /// Which source this is.
    pub fn source(&self) -> Source {
        match self.kind {
            Kind::Imds { .. } => Source::Imds,
            Kind::AppService { .. } => Source::AppService,
            Kind::ServiceFabric { .. } => Source::ServiceFabric,
            Kind::AzureMl { .. } => Source::AzureMl,
            Kind::CloudShell { .. } => Source::CloudShell,
            Kind::Arc { .. } => Source::Arc,
            Kind::WorkloadIdentity { .. } => Source::WorkloadIdentity,
        }
    }

    /// The URL token requests go to.
    pub fn endpoint(&self) -> &url::Url {
        match &self.kind {
            Kind::Imds { endpoint }
            | Kind::AppService { endpoint, .. }
            | Kind::ServiceFabric { endpoint, .. }
            | Kind::AzureMl { endpoint, .. }
            | Kind::CloudShell { endpoint }
            | Kind::Arc { endpoint, .. } => endpoint,
            Kind::WorkloadIdentity { token_url, .. } => token_url,
        }
    }

    /// What tells tokens of this source apart in the cache: source, endpoint, identity, the
    /// workload identity's client, and the client capabilities where the source sends them
    /// (elsewhere a token asked with capabilities is the same token).
    pub(crate) fn cache_key(&self, identity: &IdentityId, capabilities: &[String]) -> String {
        let extra = match &self.kind {
            Kind::WorkloadIdentity { client_id, .. } => client_id.as_str(),
            Kind::AzureMl {
                default_client_id: Some(id),
                ..
            } => id.as_str(),
            _ => "",
        };
        let mut key = format!(
            "{}\n{}\n{identity:?}\n{extra}",
            self.source().id(),
            self.endpoint()
        );
        if self.source().sends_capabilities() && !capabilities.is_empty() {
            key.push_str("\ncapabilities:");
            key.push_str(&capabilities.join(","));
        }
        key
    }
}

impl fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SourceConfig");
        d.field("source", &self.source())
            .field("endpoint", &self.endpoint().as_str());
        match &self.kind {
            Kind::ServiceFabric { thumbprint, .. } => {
                d.field("thumbprint", thumbprint);
            }
            Kind::AzureMl {
                default_client_id, ..
            } => {
                d.field("default_client_id", default_client_id);
            }
            Kind::Arc { tokens_dir, .. } => {
                d.field("tokens_dir", tokens_dir);
            }
            Kind::WorkloadIdentity {
                client_id,
                token_file,
                ..
            } => {
                d.field("client_id", client_id)
                    .field("token_file", token_file);
            }
            _ => {}
        }
        // Secrets (IDENTITY_HEADER, MSI_SECRET) are left out, not even redacted.
        d.finish_non_exhaustive()
    }
}

/// A secret as a header value marked sensitive, so that the HTTP stack never shows it. Its
/// characters were checked when the configuration was made ([`check_secret`]).
pub(crate) fn secret_header(secret: &SecretString) -> reqwest::header::HeaderValue {
    let mut value = reqwest::header::HeaderValue::from_str(secret.expose_secret())
        .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

/// Refuses a secret that a header cannot carry, saying which variable holds it (not its value).
fn check_secret(name: &str, secret: &SecretString) -> Result<()> {
    let value = secret.expose_secret();
    if value.is_empty() || reqwest::header::HeaderValue::from_str(value).is_err() {
        return Err(Error::InvalidArgument(format!(
            "{name} is empty or holds characters an HTTP header cannot carry"
        )));
    }
    Ok(())
}

/// What token requests are sent with: the managed identity endpoints' client (never a proxy),
/// and for workload identity's exchange at Entra ID the service client and its proxy rules.
pub(crate) struct Transport<'a> {
    pub net: &'a crate::http::Network,
    pub probes: &'a EndpointProbes,
    pub pinned: &'a PinnedClients,
}

/// What a token request with claims adds to an ordinary one.
pub(crate) struct Refresh {
    pub claims: Claims,
    /// The lowercase hex SHA-256 of the cached token the claims replace, when there is one
    /// (`token_sha256_to_refresh`). Never shown.
    pub replaced_sha256: Option<Zeroizing<String>>,
}

/// The query parameters of MSAL's "MSI v1 token revocation", which App Service and Service
/// Fabric take: `xms_cc` with the declared capabilities, and with claims
/// `token_sha256_to_refresh`, so that the endpoint issues a new token rather than serve the
/// refused one from its cache.
fn revocation_query<'a>(
    capabilities: &'a [String],
    refresh: Option<&'a Refresh>,
) -> Vec<(&'static str, std::borrow::Cow<'a, str>)> {
    let mut query = Vec::new();
    if !capabilities.is_empty() {
        query.push(("xms_cc", capabilities.join(",").into()));
    }
    if let Some(hash) = refresh.and_then(|r| r.replaced_sha256.as_deref()) {
        query.push(("token_sha256_to_refresh", hash.as_str().into()));
    }
    query
}

/// Gets a token from the identity's source, retrying transient failures within its budget.
/// With `refresh` (a claims challenge), each source is told what it takes: App Service and
/// Service Fabric the hash of the refused token, workload identity the claims; the others
/// nothing (the caller has bypassed its cache, which is all they allow).
pub(crate) async fn request_token(
    transport: &Transport<'_>,
    mi: &ManagedIdentity,
    resource: &str,
    refresh: Option<&Refresh>,
) -> Result<AccessToken> {
    // Checked when the identity was made too; said again here so that no path sends first.
    mi.source().check_identity(&mi.identity)?;
    let endpoint = exchange::shown(mi.config.endpoint());
    let ctx = exchange::Ctx {
        source: mi.source(),
        endpoint: &endpoint,
        identity: &mi.identity,
        resource,
        timeout: mi.options.request_timeout,
    };
    match refresh {
        // The claims may be logged; the hash of the token they replace never is.
        Some(r) => log::debug!(
            "token request for {resource} ({}) from {} at {endpoint} with claims {}",
            mi.identity,
            mi.source().name(),
            r.claims
        ),
        None => log::debug!(
            "token request for {resource} ({}) from {} at {endpoint}",
            mi.identity,
            mi.source().name()
        ),
    }
    let policy = &mi.options.retry;
    let http = &transport.net.identity;
    let capabilities = &mi.capabilities[..];
    match &mi.config.kind {
        Kind::Imds { .. } => imds::request_token(http, transport.probes, mi, resource).await,
        Kind::AppService { endpoint, secret } => {
            exchange::with_retries(policy, |_| {
                exchange::attempt(
                    &ctx,
                    app_service::request(
                        http,
                        endpoint,
                        secret,
                        &mi.identity,
                        resource,
                        &revocation_query(capabilities, refresh),
                    ),
                )
            })
            .await
        }
        Kind::ServiceFabric {
            endpoint,
            secret,
            thumbprint,
        } => {
            let http = transport.pinned.client(thumbprint)?;
            let query = revocation_query(capabilities, refresh);
            exchange::with_retries(policy, |_| {
                service_fabric::attempt(&ctx, &http, endpoint, secret, thumbprint, &query)
            })
            .await
        }
        Kind::AzureMl {
            endpoint,
            secret,
            default_client_id,
        } => {
            let client_id = match &mi.identity {
                IdentityId::ClientId(id) => Some(id.as_str()),
                _ => default_client_id.as_deref(),
            };
            exchange::with_retries(policy, |_| {
                exchange::attempt(
                    &ctx,
                    azure_ml::request(http, endpoint, secret, client_id, resource),
                )
            })
            .await
        }
        Kind::CloudShell { endpoint } => {
            exchange::with_retries(policy, |_| {
                exchange::attempt(&ctx, cloud_shell::request(http, endpoint, resource))
            })
            .await
        }
        Kind::Arc {
            endpoint,
            tokens_dir,
        } => {
            let dir = tokens_dir.clone().or_else(default_arc_tokens_dir);
            exchange::with_retries(policy, |_| {
                arc::attempt(&ctx, http, endpoint, dir.as_deref())
            })
            .await
        }
        Kind::WorkloadIdentity {
            token_url,
            client_id,
            token_file,
        } => {
            let client_id = match &mi.identity {
                IdentityId::ClientId(id) => id.as_str(),
                _ => client_id.as_str(),
            };
            // Entra ID is a service like any other: through the proxy, if one is set.
            let net = transport.net;
            net.proxy.check(token_url, &ctx.failed())?;
            let claims = Claims::merged(refresh.map(|r| &r.claims), capabilities);
            exchange::with_retries(policy, |_| {
                workload_identity::attempt(
                    &ctx,
                    net,
                    token_url,
                    client_id,
                    token_file,
                    claims.as_deref(),
                )
            })
            .await
        }
    }
}
