//! What every service and the IMDS endpoints share: configuration, the state behind the admin
//! API, access checks, fault scripts, bodies and plain responses, TLS, and the context and
//! [`service::Service`] trait each HTTPS service implements. Nothing here depends on a service.

pub(crate) mod auth;
pub(crate) mod azure_response;
pub(crate) mod body;
pub(crate) mod cae;
pub(crate) mod cloud;
pub(crate) mod config;
pub(crate) mod faults;
pub(crate) mod jwt;
pub(crate) mod managed_identity;
pub(crate) mod response;
pub(crate) mod service;
pub(crate) mod state;
pub(crate) mod tls;
pub(crate) mod util;
