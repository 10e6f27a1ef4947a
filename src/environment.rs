//! Azure's clouds by the names the Az modules give them (`AzureCloud`, `AzureUSGovernment`,
//! `AzureChinaCloud`): each cloud's Resource Manager endpoint, and the token resources and DNS
//! suffixes of the services azmi speaks (`../shared/azure-protocols.md` §10).
//!
//! The environment decides only what a caller did not spell out: the host a vault or storage
//! account *name* stands for, the Resource Manager endpoint when none is configured, and the
//! token resource for an endpoint azmi does not know. An explicit URL always wins. It comes from
//! the identity ([`crate::ManagedIdentity::with_environment`]), else from the process
//! ([`set_process_environment`], C `azmi_set_environment`), else from `AZMI_ENVIRONMENT`, else
//! the public cloud.

use std::fmt;

use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::identity::printable;

/// The environment variable naming the cloud (read when a call needs it).
pub const ENV_VARIABLE: &str = "AZMI_ENVIRONMENT";

/// An Azure cloud.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AzureEnvironment {
    /// The public cloud.
    #[default]
    AzureCloud,
    /// Azure Government (US).
    AzureUSGovernment,
    /// Azure operated by 21Vianet (China).
    AzureChinaCloud,
}

/// One cloud's endpoints, resources and suffixes.
struct Cloud {
    name: &'static str,
    /// Other names it goes by: the Instance Metadata Service's `azEnvironment`, the Azure CLI's.
    aliases: &'static [&'static str],
    arm_endpoint: &'static str,
    arm_resource: &'static str,
    key_vault_resource: &'static str,
    /// Without a leading dot.
    key_vault_suffix: &'static str,
    storage_suffix: &'static str,
    sql_resource: &'static str,
    /// Data Lake Storage Gen1 (public cloud only; retired in 2024).
    data_lake: Option<(&'static str, &'static str)>,
}

const PUBLIC: Cloud = Cloud {
    name: "AzureCloud",
    aliases: &["AzurePublicCloud"],
    arm_endpoint: "https://management.azure.com",
    arm_resource: crate::resources::ARM,
    key_vault_resource: crate::resources::KEY_VAULT,
    key_vault_suffix: "vault.azure.net",
    storage_suffix: "core.windows.net",
    sql_resource: crate::resources::SQL,
    data_lake: Some((crate::resources::DATA_LAKE, "azuredatalakestore.net")),
};

const US_GOVERNMENT: Cloud = Cloud {
    name: "AzureUSGovernment",
    aliases: &["AzureUSGovernmentCloud"],
    arm_endpoint: "https://management.usgovcloudapi.net",
    arm_resource: "https://management.usgovcloudapi.net/",
    key_vault_resource: "https://vault.usgovcloudapi.net",
    key_vault_suffix: "vault.usgovcloudapi.net",
    storage_suffix: "core.usgovcloudapi.net",
    sql_resource: "https://database.usgovcloudapi.net/",
    data_lake: None,
};

const CHINA: Cloud = Cloud {
    name: "AzureChinaCloud",
    aliases: &[],
    arm_endpoint: "https://management.chinacloudapi.cn",
    arm_resource: "https://management.chinacloudapi.cn/",
    key_vault_resource: "https://vault.azure.cn",
    key_vault_suffix: "vault.azure.cn",
    storage_suffix: "core.chinacloudapi.cn",
    sql_resource: "https://database.chinacloudapi.cn/",
    data_lake: None,
};

impl AzureEnvironment {
    /// Every cloud, public first.
    pub const ALL: &'static [AzureEnvironment] = &[
        AzureEnvironment::AzureCloud,
        AzureEnvironment::AzureUSGovernment,
        AzureEnvironment::AzureChinaCloud,
    ];

    fn cloud(self) -> &'static Cloud {
        match self {
            AzureEnvironment::AzureCloud => &PUBLIC,
            AzureEnvironment::AzureUSGovernment => &US_GOVERNMENT,
            AzureEnvironment::AzureChinaCloud => &CHINA,
        }
    }

    /// A cloud by its Az name (`AzureUSGovernment`), or by the name the Instance Metadata
    /// Service gives it (`AzureUSGovernmentCloud`, `AzurePublicCloud`); letter case ignored.
    pub fn from_name(name: &str) -> Result<AzureEnvironment> {
        let given = name.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|e| {
                let cloud = e.cloud();
                cloud.name.eq_ignore_ascii_case(given)
                    || cloud.aliases.iter().any(|a| a.eq_ignore_ascii_case(given))
            })
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "'{}' is not an Azure environment; give AzureCloud, AzureUSGovernment or AzureChinaCloud",
                    printable(given)
                ))
            })
    }

    /// The Az name, e.g. `AzureUSGovernment`.
    pub fn name(self) -> &'static str {
        self.cloud().name
    }

    /// Resource Manager's endpoint, `https://host` (no trailing slash).
    pub fn arm_endpoint(self) -> &'static str {
        self.cloud().arm_endpoint
    }

    /// The token resource of Resource Manager, e.g. `https://management.usgovcloudapi.net/`.
    pub fn arm_resource(self) -> &'static str {
        self.cloud().arm_resource
    }

    /// The token resource of Key Vault, e.g. `https://vault.usgovcloudapi.net`.
    pub fn key_vault_resource(self) -> &'static str {
        self.cloud().key_vault_resource
    }

    /// The DNS suffix of vaults, e.g. `vault.usgovcloudapi.net` (a vault name gets it).
    pub fn key_vault_suffix(self) -> &'static str {
        self.cloud().key_vault_suffix
    }

    /// The token resource of Azure Storage (the same in every cloud).
    pub fn storage_resource(self) -> &'static str {
        crate::resources::STORAGE
    }

    /// The DNS suffix of storage accounts, e.g. `core.usgovcloudapi.net`
    /// (`<account>.blob.<suffix>`, `<account>.dfs.<suffix>`).
    pub fn storage_suffix(self) -> &'static str {
        self.cloud().storage_suffix
    }

    /// The token resource of Azure SQL Database.
    pub fn sql_resource(self) -> &'static str {
        self.cloud().sql_resource
    }

    /// The token resource of Data Lake Storage Gen1; only the public cloud had the service.
    pub fn data_lake_resource(self) -> Option<&'static str> {
        self.cloud().data_lake.map(|(resource, _)| resource)
    }

    /// The DNS suffix of Data Lake Storage Gen1 accounts, where the cloud had the service.
    pub fn data_lake_suffix(self) -> Option<&'static str> {
        self.cloud().data_lake.map(|(_, suffix)| suffix)
    }

    /// The cloud this process names: [`set_process_environment`]'s, else `AZMI_ENVIRONMENT`'s
    /// (read now), else the public cloud. A variable naming no cloud is an error naming it.
    pub fn of_process() -> Result<AzureEnvironment> {
        if let Some(set) = *PROCESS.read() {
            return Ok(set);
        }
        match std::env::var(ENV_VARIABLE) {
            Ok(v) if !v.trim().is_empty() => AzureEnvironment::from_name(&v).map_err(|_| {
                Error::InvalidArgument(format!(
                    "{ENV_VARIABLE} is '{}', which is not an Azure environment; set it to AzureCloud, AzureUSGovernment or AzureChinaCloud, or remove it",
                    printable(v.trim())
                ))
            }),
            _ => Ok(AzureEnvironment::AzureCloud),
        }
    }
}

impl fmt::Display for AzureEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The cloud set for the whole process, over `AZMI_ENVIRONMENT`.
static PROCESS: RwLock<Option<AzureEnvironment>> = RwLock::new(None);

/// Sets the cloud of this process for identities that name none (`None`: `AZMI_ENVIRONMENT`
/// decides again, else the public cloud). Calls started afterwards see it.
pub fn set_process_environment(environment: Option<AzureEnvironment>) {
    *PROCESS.write() = environment;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn clouds_by_their_names_with_their_endpoints() {
        for (name, env) in [
            ("AzureCloud", AzureEnvironment::AzureCloud),
            ("azurecloud", AzureEnvironment::AzureCloud),
            ("AzurePublicCloud", AzureEnvironment::AzureCloud),
            (" AzureUSGovernment ", AzureEnvironment::AzureUSGovernment),
            (
                "AzureUSGovernmentCloud",
                AzureEnvironment::AzureUSGovernment,
            ),
            ("AZURECHINACLOUD", AzureEnvironment::AzureChinaCloud),
        ] {
            assert_eq!(AzureEnvironment::from_name(name).unwrap(), env, "{name}");
        }
        for bad in ["", "Azure", "AzureGermanCloud", "public"] {
            let e = AzureEnvironment::from_name(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument);
            assert!(e.to_string().contains("AzureUSGovernment"), "{e}");
        }
        let gov = AzureEnvironment::AzureUSGovernment;
        assert_eq!(gov.arm_endpoint(), "https://management.usgovcloudapi.net");
        assert_eq!(gov.arm_resource(), "https://management.usgovcloudapi.net/");
        assert_eq!(gov.key_vault_resource(), "https://vault.usgovcloudapi.net");
        assert_eq!(gov.key_vault_suffix(), "vault.usgovcloudapi.net");
        assert_eq!(gov.storage_suffix(), "core.usgovcloudapi.net");
        assert_eq!(gov.storage_resource(), "https://storage.azure.com/");
        assert_eq!(gov.sql_resource(), "https://database.usgovcloudapi.net/");
        assert_eq!(gov.data_lake_suffix(), None);
        let china = AzureEnvironment::AzureChinaCloud;
        assert_eq!(china.key_vault_suffix(), "vault.azure.cn");
        assert_eq!(china.storage_suffix(), "core.chinacloudapi.cn");
        assert_eq!(china.arm_endpoint(), "https://management.chinacloudapi.cn");
        let public = AzureEnvironment::default();
        assert_eq!(public.name(), "AzureCloud");
        assert_eq!(public.data_lake_suffix(), Some("azuredatalakestore.net"));
        assert_eq!(
            public.data_lake_resource(),
            Some("https://datalake.azure.net/")
        );
    }
}
