//! What the Data Lake handlers (Gen1 and Gen2 share one listener and one store) get.

use std::net::IpAddr;

use crate::common::auth::AclRule;
use crate::common::service;
use crate::storage::store::Store;

/// The Data Lake service: its files, its access rules and where Gen1 redirects point.
pub(crate) struct Storage {
    pub store: Store,
    pub acl: Vec<AclRule>,
    pub redirect_host: Option<String>,
    pub redirect_requires_auth: bool,
    /// The Gen2 account's name: the first segment of path-style URLs.
    pub account: String,
    pub ip: IpAddr,
    pub port: u16,
}

impl Storage {
    /// `127.0.0.1:<port>` (or `[::1]:<port>`): where a request without `Host` is redirected.
    pub(crate) fn default_authority(&self) -> String {
        match self.ip {
            IpAddr::V4(ip) => format!("{ip}:{}", self.port),
            IpAddr::V6(ip) => format!("[{ip}]:{}", self.port),
        }
    }
}

/// What a Data Lake handler gets.
pub(crate) type Ctx = service::Ctx<Storage>;
