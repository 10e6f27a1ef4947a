//! `GET /metadata/instance` and `/metadata/instance/compute`: the instance metadata every Azure
//! VM's IMDS serves beside the token endpoint. Clients read it (MSAL fetches the compute
//! document for the VM's cloud and region before its first token), and a 404 there is retried
//! with back-off, as IMDS guidance asks: without this, every .NET process using
//! ManagedIdentityCredential against the emulator lost about 25 s before its first token.

use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Value};

use super::request::{api_version_refusal, has_metadata_header};
use crate::common::response::{self, Body};
use crate::common::state::{Shared, VirtualMachine};

pub(crate) const INSTANCE_PATH: &str = "/metadata/instance";
pub(crate) const COMPUTE_PATH: &str = "/metadata/instance/compute";

const VM_NAME: &str = "azmi-emulator-vm";

pub(crate) fn handle(shared: &Shared, parts: &Parts) -> Response<Body> {
    if parts.method != Method::GET {
        return response::method_not_allowed("GET");
    }
    if !has_metadata_header(parts) {
        return response::json(
            StatusCode::BAD_REQUEST,
            &json!({ "error": "Bad request. Required metadata header not specified" }),
        );
    }
    let query = parts.uri.query().unwrap_or("");
    let api_version = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "api-version")
        .map(|(_, v)| v.into_owned());
    if let Some(refusal) = api_version_refusal(api_version.as_deref()) {
        return refusal;
    }
    let compute = compute(&shared.vm);
    if parts.uri.path() == COMPUTE_PATH {
        response::json(StatusCode::OK, &compute)
    } else {
        response::json(
            StatusCode::OK,
            &json!({ "compute": compute, "network": { "interface": [] } }),
        )
    }
}

/// The compute document: every value a string, as IMDS sends them.
fn compute(vm: &VirtualMachine) -> Value {
    let resource_id = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachines/{VM_NAME}",
        vm.subscription_id, vm.resource_group
    );
    json!({
        "azEnvironment": vm.environment.imds_name(),
        "location": vm.location,
        "name": VM_NAME,
        "osType": if cfg!(windows) { "Windows" } else { "Linux" },
        "provider": "Microsoft.Compute",
        "resourceGroupName": vm.resource_group,
        "resourceId": resource_id,
        "securityProfile": { "secureBootEnabled": "false", "virtualTpmEnabled": "false" },
        "subscriptionId": vm.subscription_id,
        "tagsList": [],
        "vmId": vm.vm_id,
        "vmSize": "Standard_D2s_v5",
        "zone": "",
    })
}
