//! Answers to parsed requests: secrets (read, set, delete) and their versions, and deleted
//! secrets (read, list, purge, recover), with role checks at the vault's scope.

use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

use super::context::KeyVault;
use super::errors::{
    auth_message, bad_parameter, deleted_but_recoverable, deleted_not_found, not_found, KvError,
    Refusal,
};
use super::operation::{encode_skiptoken, parse, parse_set, Operation, Route};
use super::response::{base_response, no_content};
use super::state::{DeletedSecret, Live, RECOVERABLE_DAYS};
use crate::common::auth::{AuthFailure, Caller};
use crate::common::body::SvcBody;
use crate::common::cae;
use crate::common::cloud::{actions, is_valid_secret_name, Cloud, Secret, SecretVersion};
use crate::common::state::Shared;
use crate::common::util::{now_secs, ordered_object};

/// Authenticates and parses a request, in the service's order: the token (a revoked one gets
/// the claims challenge), then the api-version, the route and its method, the list parameters.
pub(super) fn prepare(
    shared: &Shared,
    cloud: &Cloud,
    parts: &Parts,
) -> Result<(Caller, Operation), Refusal> {
    // The cloud's resource; Entra ID's has no trailing slash, the service accepts both.
    let resource = cloud.environment.key_vault_resource();
    let with_slash = format!("{resource}/");
    let audiences = [resource, with_slash.as_str()];
    let caller = cae::authenticate(shared, &parts.headers, &cloud.tenant_id, &audiences).map_err(
        |f| match f {
            AuthFailure::Revoked { at } => Refusal::Revoked(at),
            f => Refusal::Auth(auth_message(f, parts, cloud)),
        },
    )?;
    let path = percent_decode_str(parts.uri.path())
        .decode_utf8_lossy()
        .into_owned();
    Ok((caller, parse(parts, &path)?))
}

/// Answers an authenticated, parsed request; `body` is the request's body for the routes that
/// take one.
pub(super) fn serve(
    kv: &KeyVault,
    caller: &Caller,
    op: Operation,
    body: Option<&[u8]>,
    parts: &Parts,
) -> Result<Response<SvcBody>, Refusal> {
    let Operation {
        route,
        api_version,
        maxresults,
        explicit_max,
        skip,
    } = op;
    let cloud = &kv.cloud;
    let mut live = kv.vault.lock();
    let mut v = Vault {
        cloud,
        caller,
        live: &mut live,
        api: &api_version,
    };
    let body = match route {
        Route::Get(name, version) => v.get(&name, version.as_deref())?,
        Route::List => {
            v.authorize(actions::READ_SECRET_METADATA, "")?;
            let mut secrets: Vec<&Secret> = v.live.secrets.iter().collect();
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
            check_name(&name)?;
            v.authorize(actions::READ_SECRET_METADATA, &name)?;
            let secret = v.live.secret(&name).ok_or_else(|| not_found(&name))?;
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
        Route::Set(name) => v.set(&name, body.unwrap_or_default())?,
        Route::Delete(name) => v.delete(&name)?,
        Route::ListDeleted => {
            v.authorize(actions::READ_SECRET_METADATA, "")?;
            let mut deleted: Vec<&DeletedSecret> = v.live.deleted.iter().collect();
            deleted.sort_by_key(|d| d.secret.name.to_ascii_lowercase());
            let items: Vec<(String, String)> = deleted
                .iter()
                .map(|d| {
                    (
                        d.secret.name.to_ascii_lowercase(),
                        deleted_bundle(cloud, d, false, &api_version),
                    )
                })
                .collect();
            let link = format!("{}/deletedsecrets", cloud.keyvault_url);
            page(&items, skip, maxresults, explicit_max, &link, &api_version)
        }
        Route::GetDeleted(name) => {
            check_name(&name)?;
            v.authorize(actions::READ_SECRET_METADATA, &name)?;
            let deleted = v
                .live
                .deleted(&name)
                .ok_or_else(|| deleted_not_found(&name))?;
            deleted_bundle(cloud, deleted, true, &api_version)
        }
        Route::Purge(name) => {
            check_name(&name)?;
            v.authorize(actions::PURGE_SECRET, &name)?;
            if !v.live.purge(&name) {
                return Err(deleted_not_found(&name).into());
            }
            return Ok(no_content(parts));
        }
        Route::Recover(name) => {
            check_name(&name)?;
            v.authorize(actions::RECOVER_SECRET, &name)?;
            let secret = v
                .live
                .recover(&name)
                .ok_or_else(|| deleted_not_found(&name))?;
            bundle(cloud, secret, secret.current(), false, &api_version)
        }
    };
    Ok(base_response(StatusCode::OK, body, parts))
}

struct Vault<'a> {
    cloud: &'a Cloud,
    caller: &'a Caller,
    live: &'a mut Live,
    api: &'a str,
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
        Err(KvError {
            status: StatusCode::FORBIDDEN,
            code: "Forbidden",
            message: format!(
                "Caller is not authorized to perform action on resource.\r\n\
                 If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n\
                 Caller: appid={};oid={};iss={}\r\n\
                 Action: '{}'\r\n\
                 Resource: '{}'\r\n\
                 Assignment: (not found)\r\n\
                 DenyAssignmentId: null\r\n\
                 DecisionReason: null \r\n\
                 Vault: {};location=eastus\r\n",
                self.caller.client_id,
                self.caller.object_id,
                self.caller.issuer,
                actions::display_name(action),
                scope.to_ascii_lowercase(),
                self.cloud.vault_name,
            ),
            inner: Some("ForbiddenByRbac"),
        })
    }

    fn get(&self, name: &str, version: Option<&str>) -> Result<String, KvError> {
        check_name(name)?;
        self.authorize(actions::GET_SECRET, name)?;
        let secret = self.live.secret(name).ok_or_else(|| not_found(name))?;
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
        Ok(bundle(self.cloud, secret, found, true, self.api))
    }

    /// `PUT /secrets/{name}`: a new version, the secret's current one from now on (a new
    /// secret when the name is new). Refused while the name is held by a deleted secret.
    fn set(&mut self, name: &str, body: &[u8]) -> Result<String, KvError> {
        check_name(name)?;
        self.authorize(actions::SET_SECRET, name)?;
        let parameters = parse_set(body)?;
        if let Some(deleted) = self.live.deleted(name) {
            return Err(deleted_but_recoverable(&deleted.secret.name));
        }
        let now = now_secs();
        let version = SecretVersion {
            version: format!("{:032x}", fastrand::u128(..)),
            value: parameters.value,
            content_type: parameters.content_type,
            tags: parameters.tags,
            enabled: parameters.enabled,
            created: now,
            updated: now,
            not_before: parameters.not_before,
            expires: parameters.expires,
        };
        let secret = self.live.add_version(name, version);
        Ok(bundle(self.cloud, secret, secret.current(), true, self.api))
    }

    /// `DELETE /secrets/{name}`: every version into the deleted store.
    fn delete(&mut self, name: &str) -> Result<String, KvError> {
        check_name(name)?;
        self.authorize(actions::DELETE_SECRET, name)?;
        let deleted = self
            .live
            .delete(name, now_secs())
            .ok_or_else(|| not_found(name))?;
        Ok(deleted_bundle(self.cloud, deleted, true, self.api))
    }
}

/// A `SecretBundle`: the value (when `with_value`; recovery answers have none), content type,
/// id with the version, attributes and tags, in the service's order.
fn bundle(
    cloud: &Cloud,
    secret: &Secret,
    version: &SecretVersion,
    with_value: bool,
    api: &str,
) -> String {
    let id = format!(
        "{}/secrets/{}/{}",
        cloud.keyvault_url, secret.name, version.version
    );
    let mut fields = Vec::new();
    if with_value {
        fields.push(("value", json!(version.value)));
    }
    if let Some(ct) = &version.content_type {
        fields.push(("contentType", json!(ct)));
    }
    fields.push(("id", json!(id)));
    fields.push(("attributes", attributes(version, api)));
    if !version.tags.is_empty() {
        fields.push(("tags", json!(version.tags)));
    }
    ordered_object(&fields)
}

/// A `DeletedSecretBundle` (`with_version`: the id names the current version, as the DELETE
/// and GET answers do) or a `DeletedSecretItem` (a listing: the id without version): the
/// recovery id and dates first, no value.
fn deleted_bundle(cloud: &Cloud, deleted: &DeletedSecret, with_version: bool, api: &str) -> String {
    let secret = &deleted.secret;
    let current = secret.current();
    let mut id = format!("{}/secrets/{}", cloud.keyvault_url, secret.name);
    if with_version {
        id = format!("{id}/{}", current.version);
    }
    let mut fields = vec![
        (
            "recoveryId",
            json!(format!(
                "{}/deletedsecrets/{}",
                cloud.keyvault_url, secret.name
            )),
        ),
        ("deletedDate", json!(deleted.deleted_date)),
        ("scheduledPurgeDate", json!(deleted.scheduled_purge_date)),
    ];
    if let Some(ct) = &current.content_type {
        fields.push(("contentType", json!(ct)));
    }
    fields.push(("id", json!(id)));
    fields.push(("attributes", attributes(current, api)));
    if !current.tags.is_empty() {
        fields.push(("tags", json!(current.tags)));
    }
    ordered_object(&fields)
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
        a.insert("recoverableDays".into(), json!(RECOVERABLE_DAYS));
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
