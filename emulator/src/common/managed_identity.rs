//! The managed identities assigned to the emulated machine: what tokens are issued for, what
//! role assignments name, and what the services' access checks recognise.

/// One managed identity assigned to the emulated machine.
#[derive(Clone, Debug)]
pub struct IdentityConfig {
    /// Display name (`system-assigned` for the system identity).
    pub name: String,
    pub client_id: String,
    pub object_id: String,
    /// ARM resource id (`msi_res_id` / `mi_res_id`, and the token's `xms_mirid`).
    pub resource_id: String,
}

impl IdentityConfig {
    /// The built-in system-assigned identity.
    pub fn default_system_assigned() -> Self {
        IdentityConfig {
            name: "system-assigned".into(),
            client_id: "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0001".into(),
            object_id: "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002".into(),
            resource_id: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/azmi-rg/providers/Microsoft.Compute/virtualMachines/azmi-vm".into(),
        }
    }

    /// The built-in user-assigned identity `azmi-uami`.
    pub fn default_user_assigned() -> Self {
        IdentityConfig {
            name: "azmi-uami".into(),
            client_id: "00001111-aaaa-2222-bbbb-3333cccc4444".into(),
            object_id: "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb".into(),
            resource_id: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/azmi-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/azmi-uami".into(),
        }
    }
}

/// Which managed-identity token source the emulator plays on its HTTP listener: the VM's IMDS
/// (the default) or one of the other hosts' protocols (`docs/emulator.md`, "Managed identity
/// sources").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdentitySource {
    #[default]
    Imds,
    AppService,
    AzureMl,
    CloudShell,
    Arc,
    ServiceFabric,
    WorkloadIdentity,
}

impl IdentitySource {
    /// Every source, in the order of `--source`'s help.
    pub const ALL: [IdentitySource; 7] = [
        IdentitySource::Imds,
        IdentitySource::AppService,
        IdentitySource::AzureMl,
        IdentitySource::CloudShell,
        IdentitySource::Arc,
        IdentitySource::ServiceFabric,
        IdentitySource::WorkloadIdentity,
    ];

    /// The name `--source` takes.
    pub fn name(self) -> &'static str {
        match self {
            IdentitySource::Imds => "imds",
            IdentitySource::AppService => "app-service",
            IdentitySource::AzureMl => "azure-ml",
            IdentitySource::CloudShell => "cloud-shell",
            IdentitySource::Arc => "arc",
            IdentitySource::ServiceFabric => "service-fabric",
            IdentitySource::WorkloadIdentity => "workload-identity",
        }
    }

    pub fn from_name(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|s| s.name()).collect();
                format!("unknown source '{name}' (one of {})", names.join(", "))
            })
    }
}

impl std::str::FromStr for IdentitySource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::from_name(s)
    }
}

/// The audience every federated credential is for (Entra ID's token exchange).
pub const FEDERATION_AUDIENCE: &str = "api://AzureADTokenExchange";

/// One federated identity credential: Entra ID exchanges a token from `issuer` about `subject`
/// for a token of the application (here: the managed identity) `client_id`, as AKS workload
/// identity does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederationConfig {
    pub issuer: String,
    pub subject: String,
    pub client_id: String,
}

impl Default for FederationConfig {
    /// An AKS-like issuer and service account, federated with the built-in `azmi-uami`.
    fn default() -> Self {
        FederationConfig {
            issuer: "https://oidc.azmi-emulator.localhost/aaaabbbb-0000-cccc-1111-dddd2222eeee/"
                .into(),
            subject: "system:serviceaccount:default:azmi".into(),
            client_id: IdentityConfig::default_user_assigned().client_id,
        }
    }
}
