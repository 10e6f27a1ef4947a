//! The Azure cloud the emulator plays (`--environment`): the resources Entra ID issues tokens
//! for, the audiences Key Vault and Resource Manager accept, the Key Vault challenge, and the
//! instance metadata's `azEnvironment`. Written from the clouds' published endpoints
//! (`../shared/azure-protocols.md` §10), apart from the client's table.

use serde::Deserialize;

/// A cloud, by the names the Az modules give them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum CloudEnvironment {
    #[default]
    AzureCloud,
    AzureUSGovernment,
    AzureChinaCloud,
}

impl CloudEnvironment {
    pub const ALL: &'static [CloudEnvironment] = &[
        CloudEnvironment::AzureCloud,
        CloudEnvironment::AzureUSGovernment,
        CloudEnvironment::AzureChinaCloud,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CloudEnvironment::AzureCloud => "AzureCloud",
            CloudEnvironment::AzureUSGovernment => "AzureUSGovernment",
            CloudEnvironment::AzureChinaCloud => "AzureChinaCloud",
        }
    }

    /// By its Az name, letter case ignored.
    pub fn from_name(name: &str) -> Option<CloudEnvironment> {
        Self::ALL
            .iter()
            .copied()
            .find(|e| e.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Resource Manager's token resource (the audience its tokens carry).
    pub fn arm_resource(self) -> &'static str {
        match self {
            CloudEnvironment::AzureCloud => "https://management.azure.com/",
            CloudEnvironment::AzureUSGovernment => "https://management.usgovcloudapi.net/",
            CloudEnvironment::AzureChinaCloud => "https://management.chinacloudapi.cn/",
        }
    }

    /// Resource Manager's older resource, which it still accepts.
    fn arm_core_resource(self) -> &'static str {
        match self {
            CloudEnvironment::AzureCloud => "https://management.core.windows.net/",
            CloudEnvironment::AzureUSGovernment => "https://management.core.usgovcloudapi.net/",
            CloudEnvironment::AzureChinaCloud => "https://management.core.chinacloudapi.cn/",
        }
    }

    /// The audiences Resource Manager accepts: both resources, with and without the slash, in
    /// the order its 401 message lists them.
    pub fn arm_audiences(self) -> Vec<String> {
        let (core, arm) = (self.arm_core_resource(), self.arm_resource());
        vec![
            core.to_owned(),
            core.trim_end_matches('/').to_owned(),
            arm.to_owned(),
            arm.trim_end_matches('/').to_owned(),
        ]
    }

    /// Key Vault's token resource, as its challenge names it (no trailing slash).
    pub fn key_vault_resource(self) -> &'static str {
        match self {
            CloudEnvironment::AzureCloud => "https://vault.azure.net",
            CloudEnvironment::AzureUSGovernment => "https://vault.usgovcloudapi.net",
            CloudEnvironment::AzureChinaCloud => "https://vault.azure.cn",
        }
    }

    /// The authority Key Vault's challenge names.
    pub fn login_host(self) -> &'static str {
        match self {
            CloudEnvironment::AzureCloud => "https://login.windows.net",
            CloudEnvironment::AzureUSGovernment => "https://login.microsoftonline.us",
            CloudEnvironment::AzureChinaCloud => "https://login.chinacloudapi.cn",
        }
    }

    /// Azure SQL Database's token resource.
    fn sql_resource(self) -> &'static str {
        match self {
            CloudEnvironment::AzureCloud => "https://database.windows.net/",
            CloudEnvironment::AzureUSGovernment => "https://database.usgovcloudapi.net/",
            CloudEnvironment::AzureChinaCloud => "https://database.chinacloudapi.cn/",
        }
    }

    /// The instance metadata's `azEnvironment`.
    pub fn imds_name(self) -> &'static str {
        match self {
            CloudEnvironment::AzureCloud => "AzurePublicCloud",
            CloudEnvironment::AzureUSGovernment => "AzureUSGovernmentCloud",
            CloudEnvironment::AzureChinaCloud => "AzureChinaCloud",
        }
    }

    /// The resources Entra ID of this cloud issues tokens for, by the exact strings it knows
    /// (the public cloud's are the emulator's documented defaults). Storage's resource is the
    /// same in every cloud; Data Lake Storage Gen1 existed only in the public cloud.
    pub fn resources(self) -> Vec<String> {
        let arm = self.arm_resource();
        let sql = self.sql_resource();
        let mut out = vec![
            arm.to_owned(),
            arm.trim_end_matches('/').to_owned(),
            self.arm_core_resource().to_owned(),
            self.key_vault_resource().to_owned(),
            "https://storage.azure.com/".to_owned(),
            "https://storage.azure.com".to_owned(),
        ];
        if self == CloudEnvironment::AzureCloud {
            out.push("https://datalake.azure.net/".to_owned());
        }
        out.push(sql.to_owned());
        out.push(sql.trim_end_matches('/').to_owned());
        out
    }
}
