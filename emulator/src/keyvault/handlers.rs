//! Answers to parsed requests: a secret (current or one version), the list of secrets and the
//! list of a secret's versions, with role checks at the vault's scope.

use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

use super::errors::{auth_message, bad_parameter, not_found, KvError, Refusal};
use super::operation::{encode_skiptoken, parse, Operation, Route};
use super::response::base_response;
use crate::common::auth::{AuthFailure, Caller};
use crate::common::body::SvcBody;
use crate::common::cae;
use crate::common::cloud::{actions, is_valid_secret_name, Cloud, Secret, SecretVersion};
use crate::common::state::Shared;
use crate::common::util::ordered_object;

/// The audience Key Vault tokens carry (Entra ID's resource has no trailing slash; the service
/// accepts both spellings).
const AUDIENCES: &[&str] = &["https://vault.azure.net", "https://vault.azure.net/"];

pub(super) fn serve(
    shared: &Shared,
    cloud: &Cloud,
    parts: &Parts,
) -> Result<Response<SvcBody>, Refusal> {
    let caller = cae::authenticate(shared, &parts.headers, &cloud.tenant_id, AUDIENCES).map_err(
        |f| match f {
            AuthFailure::Revoked { at } => Refusal::Revoked(at),
            f => Refusal::Auth(auth_message(f, parts, &cloud.tenant_id)),
        },
    )?;

    let path = percent_decode_str(parts.uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let Operation {
        route,
        api_version,
        maxresults,
        explicit_max,
        skip,
    } = parse(parts, &path)?;

    let v = Vault {
        cloud,
        caller: &caller,
    };
    let body = match route {
        Route::Get(name, version) => v.get(name, version, &api_version)?,
        Route::List => {
            v.authorize(actions::READ_SECRET_METADATA, "")?;
            let mut secrets: Vec<&Secret> = cloud.secrets.iter().collect();
            secrets.sort_by_key(|s| s.name.to_ascii_lowercase());
            let items: Vec<(String, String)> = secrets
                .iter()
                .map(|s| {
                    let id = format!("{}/secrets/{}", cloud.keyvault_url, s.name);
                    (
                        s.name.to_ascii_lowercase(),
                        item(&id, s.current(), &api_version),
                    )
                })
                .collect();
            let link = format!("{}/secrets", cloud.keyvault_url);
            page(&items, skip, maxresults, explicit_max, &link, &api_version)
        }
        Route::Versions(name) => {
            check_name(name)?;
            v.authorize(actions::READ_SECRET_METADATA, name)?;
            let secret = cloud.find_secret(name).ok_or_else(|| not_found(name))?;
            let mut versions: Vec<&SecretVersion> = secret.versions.iter().collect();
            // The service lists versions in the order of their ids, not by time.
            versions.sort_by(|a, b| a.version.cmp(&b.version));
            let items: Vec<(String, String)> = versions
                .iter()
                .map(|ver| {
                    let id = format!(
                        "{}/secrets/{}/{}",
                        cloud.keyvault_url, secret.name, ver.version
                    );
                    (ver.version.clone(), item(&id, ver, &api_version))
                })
                .collect();
            let link = format!("{}/secrets/{}/versions", cloud.keyvault_url, secret.name);
            page(&items, skip, maxresults, explicit_max, &link, &api_version)
        }
    };
    Ok(base_response(StatusCode::OK, body, parts))
}

struct Vault<'a> {
    cloud: &'a Cloud,
    caller: &'a Caller,
}

impl Vault<'_> {
    /// RBAC: 403 `Forbidden` / `ForbiddenByRbac` in the service's words.
    fn authorize(&self, action: &str, secret: &str) -> Result<(), KvError> {
        let mut scope = self.cloud.vault_id();
        if !secret.is_empty() {
            scope = format!("{scope}/secrets/{secret}");
        }
        if self.cloud.permits(&self.caller.object_id, action, &scope) {
            return Ok(());
        }
        let action_name = match action {
            actions::GET_SECRET => "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            _ => "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        };
        Err(KvError {
            status: StatusCode::FORBIDDEN,
            code: "Forbidden",
            message: format!(
                "Caller is not authorized to perform action on resource.\r\n\
                 If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n\
                 Caller: appid={};oid={};iss={}\r\n\
                 Action: '{action_name}'\r\n\
                 Resource: '{}'\r\n\
                 Assignment: (not found)\r\n\
                 DenyAssignmentId: null\r\n\
                 DecisionReason: null \r\n\
                 Vault: {};location=eastus\r\n",
                self.caller.client_id,
                self.caller.object_id,
                self.caller.issuer,
                scope.to_ascii_lowercase(),
                self.cloud.vault_name,
            ),
            inner: Some("ForbiddenByRbac"),
        })
    }

    fn get(&self, name: &str, version: Option<&str>, api: &str) -> Result<String, KvError> {
        check_name(name)?;
        self.authorize(actions::GET_SECRET, name)?;
        let secret = self
            .cloud
            .find_secret(name)
            .ok_or_else(|| not_found(name))?;
        let found = match version {
            None => secret.current(),
            Some(v) => secret
                .versions
                .iter()
                .find(|x| x.version.eq_ignore_ascii_case(v))
                .ok_or_else(|| not_found(&format!("{name}/{v}")))?,
        };
        if !found.enabled {
            return Err(KvError {
                status: StatusCode::FORBIDDEN,
                code: "Forbidden",
                message: "Operation get is not allowed on a disabled secret.".into(),
                inner: Some("SecretDisabled"),
            });
        }
        let id = format!(
            "{}/secrets/{}/{}",
            self.cloud.keyvault_url, secret.name, found.version
        );
        let mut fields = vec![("value", json!(found.value))];
        if let Some(ct) = &found.content_type {
            fields.push(("contentType", json!(ct)));
        }
        fields.push(("id", json!(id)));
        fields.push(("attributes", attributes(found, api)));
        if !found.tags.is_empty() {
            fields.push(("tags", json!(found.tags)));
        }
        Ok(ordered_object(&fields))
    }
}

fn check_name(name: &str) -> Result<(), KvError> {
    if is_valid_secret_name(name) {
        Ok(())
    } else {
        Err(bad_parameter(format!(
            "The request URI contains an invalid name: {name}"
        )))
    }
}

/// `attributes`, integers in epoch seconds, in the service's order.
fn attributes(v: &SecretVersion, api: &str) -> Value {
    let mut a = serde_json::Map::new();
    a.insert("enabled".into(), json!(v.enabled));
    if let Some(nbf) = v.not_before {
        a.insert("nbf".into(), json!(nbf));
    }
    if let Some(exp) = v.expires {
        a.insert("exp".into(), json!(exp));
    }
    a.insert("created".into(), json!(v.created));
    a.insert("updated".into(), json!(v.updated));
    a.insert("recoveryLevel".into(), json!("Recoverable+Purgeable"));
    // `recoverableDays` came with 7.1.
    if !matches!(api, "2015-06-01" | "2016-10-01" | "7.0") {
        a.insert("recoverableDays".into(), json!(90));
    }
    // serde_json's map sorts keys; write them in the service's order instead.
    let order = [
        "enabled",
        "nbf",
        "exp",
        "created",
        "updated",
        "recoveryLevel",
        "recoverableDays",
    ];
    let fields: Vec<(&str, Value)> = order
        .iter()
        .filter_map(|k| a.get(*k).map(|v| (*k, v.clone())))
        .collect();
    serde_json::from_str::<Value>(&ordered_object(&fields)).unwrap_or(Value::Null)
}

/// A list item: no `value`.
fn item(id: &str, v: &SecretVersion, api: &str) -> String {
    let mut fields = vec![("id", json!(id)), ("attributes", attributes(v, api))];
    if !v.tags.is_empty() {
        fields.push(("tags", json!(v.tags)));
    }
    if let Some(ct) = &v.content_type {
        fields.push(("contentType", json!(ct)));
    }
    ordered_object(&fields)
}

/// One page of `items` (sorted by their key) from the `skip` marker on, with the link to the
/// next page.
fn page(
    items: &[(String, String)],
    skip: Option<String>,
    max: usize,
    explicit_max: bool,
    link: &str,
    api: &str,
) -> String {
    let start = match &skip {
        Some(marker) => items
            .iter()
            .position(|(k, _)| k >= marker)
            .unwrap_or(items.len()),
        None => 0,
    };
    let end = (start + max).min(items.len());
    let values: Vec<&str> = items[start..end].iter().map(|(_, v)| v.as_str()).collect();
    let next = items.get(end).map(|(marker, _)| {
        let mut url = format!(
            "{link}?api-version={api}&$skiptoken={}",
            encode_skiptoken(marker)
        );
        if explicit_max {
            url.push_str(&format!("&maxresults={max}"));
        }
        url
    });
    // Serialising a string cannot fail; a missing link is written as `null`, as the service does.
    let next = serde_json::to_string(&next).unwrap_or_else(|_| "null".into());
    // Hand-assembled so the values keep their key order.
    let values_text = values.join(",");
    format!("{{\"value\":[{values_text}],\"nextLink\":{next}}}")
}
