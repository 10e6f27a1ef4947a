//! `azmi-emulator` binary: parse options, start the library's emulator, print where it listens
//! (IMDS over HTTP; Data Lake, Key Vault and Resource Manager over HTTPS), and serve until
//! SIGINT/SIGTERM or `POST /admin/shutdown`.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use azmi_emulator::{
    CloudEnvironment, Emulator, EmulatorConfig, Fault, IdentitySource, ResponseStyle,
};
use clap::Parser;

/// Serves the Azure IMDS managed-identity token endpoint, and Data Lake Storage Gen1 and Gen2
/// over HTTPS, on loopback, for tests and offline use.
#[derive(Parser, Debug)]
#[command(name = "azmi-emulator", version)]
struct Args {
    /// Address to listen on (loopback only)
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// IMDS port (0 = any free port)
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Identities, resources, tenant and token lifetime (JSON, see docs/emulator.md)
    #[arg(long, value_name = "FILE.json")]
    config: Option<PathBuf>,
    /// Tenant written into tokens
    #[arg(long, value_name = "GUID")]
    tenant_id: Option<String>,
    /// Lifetime of issued tokens, in seconds [default: 3600]
    #[arg(long, value_name = "SECS")]
    token_lifetime: Option<u64>,
    /// Add `refresh_in` to token responses
    #[arg(long, value_name = "SECS")]
    refresh_in: Option<u64>,
    /// imds | numbers | date | expires-in-only
    #[arg(long, value_name = "STYLE", default_value = "imds")]
    response_style: ResponseStyle,
    /// Managed-identity protocol of the HTTP listener: imds, app-service, azure-ml,
    /// cloud-shell, arc, service-fabric or workload-identity (docs/emulator.md, "Managed
    /// identity sources")
    #[arg(long, value_name = "NAME", default_value = "imds")]
    source: IdentitySource,
    /// Workload identity: the federated credential's issuer (the assertion's `iss`)
    #[arg(long, value_name = "URL")]
    federation_issuer: Option<String>,
    /// Workload identity: the federated credential's subject (the assertion's `sub`)
    #[arg(long, value_name = "SUBJECT")]
    federation_subject: Option<String>,
    /// Workload identity: the client id of the identity federated with the issuer
    #[arg(long, value_name = "GUID")]
    federation_client_id: Option<String>,
    /// Arc: write the key file into this folder (created if missing) instead of a temporary
    /// one, e.g. the agent's /var/opt/azcmagent/tokens, the only folder Microsoft's clients
    /// read key files from; only the emulator's key file is removed on exit
    #[arg(long, value_name = "DIR")]
    arc_tokens_dir: Option<PathBuf>,
    /// Initial fault script (same JSON as POST /admin/faults)
    #[arg(long, value_name = "JSON")]
    faults: Option<String>,
    /// Write the bound port to this file once listening
    #[arg(long, value_name = "PATH")]
    port_file: Option<PathBuf>,
    /// HTTPS port of the Data Lake services (0 = any free port)
    #[arg(long, default_value_t = 0)]
    https_port: u16,
    /// Folder for azmi-emulator-ca.pem [default: a new temporary folder]
    #[arg(long, value_name = "DIR")]
    ca_dir: Option<PathBuf>,
    /// Keep file contents on disk under this folder instead of in memory
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Host the Gen1 307 redirects point at (default: the host the request used)
    #[arg(long, value_name = "HOST")]
    redirect_host: Option<String>,
    /// HTTPS port of Key Vault (0 = any free port)
    #[arg(long, default_value_t = 0)]
    keyvault_port: u16,
    /// HTTPS port of Resource Manager (0 = any free port)
    #[arg(long, default_value_t = 0)]
    arm_port: u16,
    /// Name of the emulated vault [default: mi-lab-vault]
    #[arg(long, value_name = "NAME")]
    vault_name: Option<String>,
    /// The Azure cloud to play: AzureCloud (default), AzureUSGovernment or AzureChinaCloud
    #[arg(long, value_name = "NAME")]
    environment: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("azmi-emulator: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let config = build_config(&args)?;
    let emulator = Emulator::start(config).map_err(|e| format!("cannot start: {e}"))?;

    if let Some(path) = &args.port_file {
        write_port_file(path, emulator.port())
            .map_err(|e| format!("cannot write port file {}: {e}", path.display()))?;
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot create runtime: {e}"))?;
    runtime.block_on(async {
        // Install the handlers before announcing the port: a script may signal us as soon as it
        // has read the lines, and the default action would kill us without a clean shutdown.
        let mut signals = Signals::install()?;
        print_banner(&emulator).map_err(|e| format!("cannot write to stdout: {e}"))?;
        tokio::select! {
            _ = emulator.stopped() => {}
            _ = signals.recv() => {}
        }
        Ok::<(), String>(())
    })?;
    emulator.shutdown();
    Ok(())
}

/// The seven lines of `docs/emulator.md`, written at once: scripts wait for them (or eval the
/// exports). The first three predate the services and stay first, unchanged, as do lines four
/// and five; Key Vault and Resource Manager come after. One write keeps a reader that stops
/// after the lines it needs from failing the later ones.
fn print_banner(emulator: &Emulator) -> std::io::Result<()> {
    let base = emulator.base_url();
    let banner = format!(
        "azmi-emulator listening on {base}\n\
         export AZMI_IMDS_ENDPOINT={}\n\
         export AZURE_POD_IDENTITY_AUTHORITY_HOST={base}\n\
         export AZMI_CA_FILE={}\n\
         azmi-emulator services on {}\n\
         export AZMI_KEYVAULT_URL={}\n\
         export AZMI_ARM_ENDPOINT={}\n",
        emulator.token_url(),
        emulator.ca_file().display(),
        emulator.https_base_url(),
        emulator.keyvault_url(),
        emulator.arm_url(),
    );
    let mut banner = banner;
    // A non-IMDS source's variables follow the seven fixed lines (the IMDS ones are in them).
    if emulator.source() != IdentitySource::Imds {
        banner.push_str(&format!(
            "azmi-emulator managed identity source {}\n",
            emulator.source().name()
        ));
        if let Some(dir) = emulator.arc_tokens_dir() {
            banner.push_str(&format!(
                "azmi-emulator arc tokens folder {}\n",
                dir.display()
            ));
        }
        for (name, value) in emulator.environment() {
            banner.push_str(&format!("export {name}={value}\n"));
        }
    }
    let mut out = std::io::stdout().lock();
    out.write_all(banner.as_bytes())?;
    out.flush()
}

/// Config file first, then command-line options over it.
fn build_config(args: &Args) -> Result<EmulatorConfig, String> {
    let mut config = match &args.config {
        Some(path) => EmulatorConfig::from_json_file(path)?,
        None => EmulatorConfig::default(),
    };
    config.bind = args.bind;
    config.port = args.port;
    if let Some(tenant) = &args.tenant_id {
        config.tenant_id = tenant.clone();
    }
    if let Some(lifetime) = args.token_lifetime {
        config.token_lifetime_secs = lifetime;
    }
    if args.refresh_in.is_some() {
        config.refresh_in_secs = args.refresh_in;
    }
    config.response_style = args.response_style;
    config.source = args.source;
    config.arc_tokens_dir = args.arc_tokens_dir.clone();
    if let Some(issuer) = &args.federation_issuer {
        config.federation.issuer = issuer.clone();
    }
    if let Some(subject) = &args.federation_subject {
        config.federation.subject = subject.clone();
    }
    if let Some(client_id) = &args.federation_client_id {
        config.federation.client_id = client_id.clone();
    }
    if let Some(faults) = &args.faults {
        config.faults = Fault::parse_script(faults).map_err(|e| format!("--faults: {e}"))?;
    }
    config.https_port = args.https_port;
    if let Some(dir) = &args.ca_dir {
        config.ca_dir = Some(dir.clone());
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = Some(dir.clone());
    }
    if let Some(host) = &args.redirect_host {
        config.redirect_host = Some(host.clone());
    }
    config.keyvault_port = args.keyvault_port;
    config.arm_port = args.arm_port;
    if let Some(name) = &args.vault_name {
        config.vault_name = name.clone();
    }
    if let Some(name) = &args.environment {
        let environment = CloudEnvironment::from_name(name).ok_or_else(|| {
            format!("--environment {name}: give AzureCloud, AzureUSGovernment or AzureChinaCloud")
        })?;
        config.set_environment(environment);
    }
    config.validate()?;
    Ok(config)
}

/// Written to a temporary file and renamed, so a script polling for the file never reads a
/// partial port number.
fn write_port_file(path: &Path, port: u16) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, format!("{port}\n"))?;
    std::fs::rename(&tmp, path)
}

/// SIGINT and SIGTERM (Ctrl+C only, elsewhere).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> Result<Self, String> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())
                .map_err(|e| format!("cannot handle SIGINT: {e}"))?,
            terminate: signal(SignalKind::terminate())
                .map_err(|e| format!("cannot handle SIGTERM: {e}"))?,
        })
    }

    #[cfg(unix)]
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    #[cfg(not(unix))]
    fn install() -> Result<Self, String> {
        Ok(Signals {})
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) {
        // If Ctrl+C cannot be watched, keep serving until /admin/shutdown.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
