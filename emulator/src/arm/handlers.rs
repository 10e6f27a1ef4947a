//! Answers to parsed requests: reads of the subscription, its groups and accounts, the storage
//! actions (`listKeys`, `listServiceSas`, `listAccountSas`), with role checks at each scope.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};

use super::context::Ctx;
use super::errors::{arm_error, error_response, full_response, ArmError};
use super::operation::{prepare, query_param, PolledAt, Route, StorageAction};
use super::response::Answer;
use super::sas;
use super::state::{Account, Group, Live, Pacing};
use crate::common::auth::Caller;
use crate::common::body::{RequestBody, SvcBody};
use crate::common::cloud::{actions, derived_key2, Cloud, StorageAccountConfig};
use crate::common::config::is_guid;
use crate::common::response::DropConnection;
use crate::common::util::ordered_object;

const MAX_BODY: u64 = 1024 * 1024;

/// Answers one Resource Manager request.
pub(super) async fn handle(
    ctx: &Ctx,
    req: Request<Incoming>,
) -> Result<Response<SvcBody>, DropConnection> {
    let (parts, incoming) = req.into_parts();
    let cloud = Arc::clone(&ctx.svc.cloud);
    let mut request_body = RequestBody::new(incoming, Arc::clone(&ctx.shared));
    let result = match prepare(&ctx.shared, &cloud, &parts) {
        Err(e) => Err(e),
        Ok((caller, route, api)) => {
            let body = if parts.method == Method::POST || parts.method == Method::PUT {
                match request_body.collect(MAX_BODY).await {
                    Ok(Some(chunks)) => Some(chunks.concat()),
                    Ok(None) => {
                        return Ok(error_response(
                            &arm_error(
                                StatusCode::PAYLOAD_TOO_LARGE,
                                "RequestEntityTooLarge",
                                "The request content size exceeds the maximum allowed.",
                            ),
                            &parts,
                        ))
                    }
                    Err(_) => return Err(DropConnection),
                }
            } else {
                None
            };
            let settings = ctx.shared.settings();
            let now = std::time::Instant::now();
            let mut live = ctx.svc.arm.lock();
            live.finish_due(now);
            Arm {
                cloud: &cloud,
                caller: &caller,
                parts: &parts,
                api: &api,
                live: &mut live,
                pacing: Pacing::new(
                    settings.arm_operation_polls,
                    settings.arm_retry_after_secs,
                    now,
                ),
                retry_after: settings.arm_retry_after_secs,
            }
            .serve(route, body.as_deref())
        }
    };
    Ok(match result {
        Ok(answer) => answer.into_response(&parts),
        Err(e) => full_response(&e, &parts),
    })
}

pub(super) struct Arm<'a> {
    pub(super) cloud: &'a Cloud,
    pub(super) caller: &'a Caller,
    pub(super) parts: &'a Parts,
    pub(super) api: &'a str,
    pub(super) live: &'a mut Live,
    /// How a long-running operation started now ends.
    pub(super) pacing: Pacing,
    /// `Retry-After` of 202 answers.
    pub(super) retry_after: u64,
}

impl Arm<'_> {
    fn serve(&mut self, route: Route, body: Option<&[u8]>) -> Result<Answer, ArmError> {
        let method = self.parts.method.clone();
        match route {
            Route::ResourceGroup(s, rg) if method == Method::DELETE => self.delete_group(&s, &rg),
            Route::StorageAccount(s, rg, name) if method == Method::PUT => {
                self.create_account(&s, &rg, &name, body.unwrap_or_default())
            }
            Route::OperationResult(s, id) => self.poll(&s, &id, PolledAt::OperationResults),
            Route::StorageOperation(s, id) => self.poll(&s, &id, PolledAt::StorageAsyncOperations),
            // ResourceGroups_CheckExistence: the read's checks, then 204 (or its 404), no body.
            Route::ResourceGroup(s, rg) if method == Method::HEAD => self
                .read(Route::ResourceGroup(s, rg), body)
                .map(|_| Answer::no_content()),
            read => self.read(read, body).map(Answer::ok),
        }
    }

    fn read(&self, route: Route, body: Option<&[u8]>) -> Result<String, ArmError> {
        match route {
            Route::Subscriptions => Ok(self.subscriptions()),
            Route::Subscription(s) => {
                self.visible_subscription(&s, "Microsoft.Resources/subscriptions/read")?;
                Ok(self.subscription_body())
            }
            Route::ResourceGroups(s) => {
                self.subscription(&s)?;
                let mut groups: Vec<&Group> = self
                    .live
                    .groups
                    .iter()
                    .filter(|g| {
                        self.can(actions::RESOURCE_GROUP_READ, &self.rg_scope(&g.config.name))
                    })
                    .collect();
                if groups.is_empty() && !self.can(actions::RESOURCE_GROUP_READ, &self.sub_scope()) {
                    return Err(self.forbidden(
                        "Microsoft.Resources/subscriptions/resourcegroups/read",
                        &format!("/subscriptions/{s}"),
                    ));
                }
                groups.sort_by_key(|g| g.config.name.to_ascii_lowercase());
                let items: Vec<(String, String)> = groups
                    .iter()
                    .map(|g| (g.config.name.to_ascii_lowercase(), self.rg_body(g)))
                    .collect();
                let link = format!(
                    "{}/subscriptions/{}/resourcegroups",
                    self.cloud.arm_url, self.cloud.subscription_id
                );
                self.page(&items, &link)
            }
            Route::ResourceGroup(s, rg) => {
                self.subscription(&s)?;
                let scope = format!("/subscriptions/{s}/resourcegroups/{rg}");
                self.authorize(
                    actions::RESOURCE_GROUP_READ,
                    "Microsoft.Resources/subscriptions/resourcegroups/read",
                    &scope,
                )?;
                let group = self.resource_group(&rg)?;
                Ok(self.rg_body(group))
            }
            Route::StorageAccounts(s, rg) => {
                self.subscription(&s)?;
                let scope = match &rg {
                    Some(rg) => format!("/subscriptions/{s}/resourceGroups/{rg}"),
                    None => format!("/subscriptions/{s}"),
                };
                if let Some(rg) = &rg {
                    self.authorize(
                        actions::STORAGE_READ,
                        "Microsoft.Storage/storageAccounts/read",
                        &scope,
                    )?;
                    self.resource_group(rg)?;
                }
                let mut accounts: Vec<&Account> = self
                    .live
                    .accounts
                    .iter()
                    .filter(|a| {
                        rg.as_ref()
                            .is_none_or(|rg| a.config.resource_group.eq_ignore_ascii_case(rg))
                    })
                    .filter(|a| self.can(actions::STORAGE_READ, &self.account_scope(&a.config)))
                    .collect();
                if rg.is_none()
                    && accounts.is_empty()
                    && !self.can(actions::STORAGE_READ, &self.sub_scope())
                {
                    return Err(self.forbidden("Microsoft.Storage/storageAccounts/read", &scope));
                }
                accounts.sort_by_key(|a| a.config.name.clone());
                let items: Vec<(String, String)> = accounts
                    .iter()
                    .map(|a| (a.config.name.clone(), self.account_body(a)))
                    .collect();
                let link = format!(
                    "{}{}/providers/Microsoft.Storage/storageAccounts",
                    self.cloud.arm_url,
                    match &rg {
                        Some(rg) => format!(
                            "/subscriptions/{}/resourceGroups/{rg}",
                            self.cloud.subscription_id
                        ),
                        None => format!("/subscriptions/{}", self.cloud.subscription_id),
                    }
                );
                self.page(&items, &link)
            }
            Route::StorageAccount(s, rg, name) => {
                self.subscription(&s)?;
                let scope = format!(
                    "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"
                );
                self.authorize(
                    actions::STORAGE_READ,
                    "Microsoft.Storage/storageAccounts/read",
                    &scope,
                )?;
                let account = self.account(&rg, &name)?;
                Ok(self.account_body(account))
            }
            Route::StorageAction(s, rg, name, action) => {
                self.subscription(&s)?;
                let scope = format!(
                    "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"
                );
                let (check, display) = match action {
                    StorageAction::Keys => (
                        actions::STORAGE_LIST_KEYS,
                        "Microsoft.Storage/storageAccounts/listKeys/action",
                    ),
                    StorageAction::ServiceSas => (
                        actions::STORAGE_LIST_SERVICE_SAS,
                        "Microsoft.Storage/storageAccounts/ListServiceSas/action",
                    ),
                    StorageAction::AccountSas => (
                        actions::STORAGE_LIST_ACCOUNT_SAS,
                        "Microsoft.Storage/storageAccounts/ListAccountSas/action",
                    ),
                };
                self.authorize(check, display, &scope)?;
                let account = self.account(&rg, &name)?;
                self.storage_action(&account.config, action, body.unwrap_or_default())
            }
            // Monitors are polled, not read: `serve` answers them.
            Route::OperationResult(..) | Route::StorageOperation(..) => Err(arm_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "The operation could not be found.",
            )),
        }
    }

    pub(super) fn sub_scope(&self) -> String {
        format!("/subscriptions/{}", self.cloud.subscription_id)
    }

    fn rg_scope(&self, rg: &str) -> String {
        format!("{}/resourceGroups/{rg}", self.sub_scope())
    }

    fn account_scope(&self, a: &StorageAccountConfig) -> String {
        format!(
            "{}/providers/Microsoft.Storage/storageAccounts/{}",
            self.rg_scope(&a.resource_group),
            a.name
        )
    }

    fn can(&self, action: &str, scope: &str) -> bool {
        self.cloud.permits(&self.caller.object_id, action, scope)
    }

    pub(super) fn forbidden(&self, display: &str, scope: &str) -> ArmError {
        arm_error(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            format!(
                "The client '{}' with object id '{}' does not have authorization to perform action '{display}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
                if self.caller.client_id.is_empty() {
                    &self.caller.object_id
                } else {
                    &self.caller.client_id
                },
                self.caller.object_id
            ),
        )
    }

    pub(super) fn authorize(
        &self,
        action: &str,
        display: &str,
        scope: &str,
    ) -> Result<(), ArmError> {
        if self.can(action, scope) {
            Ok(())
        } else {
            Err(self.forbidden(display, scope))
        }
    }

    /// The subscription in the path must be a GUID and the emulated one.
    pub(super) fn subscription(&self, s: &str) -> Result<(), ArmError> {
        if !is_guid(s) {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidSubscriptionId",
                format!("The provided subscription identifier '{s}' is malformed or invalid."),
            ));
        }
        if !s.eq_ignore_ascii_case(&self.cloud.subscription_id) {
            return Err(arm_error(
                StatusCode::NOT_FOUND,
                "SubscriptionNotFound",
                format!("The subscription '{s}' could not be found."),
            ));
        }
        Ok(())
    }

    pub(super) fn resource_group(&self, rg: &str) -> Result<&Group, ArmError> {
        self.live.group(rg).ok_or_else(|| {
            arm_error(
                StatusCode::NOT_FOUND,
                "ResourceGroupNotFound",
                format!("Resource group '{rg}' could not be found."),
            )
        })
    }

    fn account(&self, rg: &str, name: &str) -> Result<&Account, ArmError> {
        let group = self.resource_group(rg)?;
        self.live
            .account(&group.config.name, name)
            .ok_or_else(|| {
                arm_error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    format!(
                        "The Resource 'Microsoft.Storage/storageAccounts/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
                    ),
                )
            })
    }

    /// Subscription `s` exists and the caller holds some role in it (else 403 for `action`, as
    /// the service answers a caller who cannot see the subscription).
    pub(super) fn visible_subscription(&self, s: &str, action: &str) -> Result<(), ArmError> {
        self.subscription(s)?;
        if !self.sees_subscription() {
            return Err(self.forbidden(action, &format!("/subscriptions/{s}")));
        }
        Ok(())
    }

    /// Whether the caller holds any role in (or below) the subscription.
    fn sees_subscription(&self) -> bool {
        self.cloud
            .has_any_assignment_within(&self.caller.object_id, &self.sub_scope())
    }

    fn subscriptions(&self) -> String {
        let visible = self.sees_subscription();
        let values = if visible {
            vec![self.subscription_body()]
        } else {
            Vec::new()
        };
        format!(
            "{{\"value\":[{}],\"count\":{{\"type\":\"Total\",\"value\":{}}}}}",
            values.join(","),
            values.len()
        )
    }

    fn subscription_body(&self) -> String {
        let s = &self.cloud.subscription_id;
        ordered_object(&[
            ("id", json!(format!("/subscriptions/{s}"))),
            ("authorizationSource", json!("RoleBased")),
            ("managedByTenants", json!([])),
            ("subscriptionId", json!(s)),
            ("tenantId", json!(self.cloud.tenant_id)),
            ("displayName", json!("azmi-emulator subscription")),
            ("state", json!("Enabled")),
            (
                "subscriptionPolicies",
                json!({
                    "locationPlacementId": "Public_2014-09-01",
                    "quotaId": "PayAsYouGo_2014-09-01",
                    "spendingLimit": "Off"
                }),
            ),
        ])
    }

    fn rg_body(&self, group: &Group) -> String {
        let g = &group.config;
        let state = if group.deleting {
            "Deleting"
        } else {
            "Succeeded"
        };
        let mut fields = vec![
            ("id", json!(self.rg_scope(&g.name))),
            ("name", json!(g.name)),
            ("type", json!("Microsoft.Resources/resourceGroups")),
            ("location", json!(g.location)),
        ];
        if !g.tags.is_empty() {
            fields.push(("tags", json!(g.tags)));
        }
        fields.push(("properties", json!({ "provisioningState": state })));
        ordered_object(&fields)
    }

    pub(super) fn account_body(&self, account: &Account) -> String {
        let a = &account.config;
        let state = if account.creating {
            "Creating"
        } else {
            "Succeeded"
        };
        let blob = a.blob_endpoint.clone().unwrap_or_else(|| {
            if a.name == crate::common::cloud::AZURITE_ACCOUNT {
                format!("http://127.0.0.1:10000/{}/", a.name)
            } else {
                format!("https://{}.blob.core.windows.net/", a.name)
            }
        });
        let n = &a.name;
        let created = chrono::DateTime::<chrono::Utc>::from_timestamp(
            i64::try_from(self.cloud.started.saturating_sub(30 * 86_400)).unwrap_or(0),
            0,
        )
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S.0000000Z")
        .to_string();
        ordered_object(&[
            ("sku", json!({"name": "Standard_LRS", "tier": "Standard"})),
            ("kind", json!("StorageV2")),
            ("id", json!(self.account_scope(a))),
            ("name", json!(n)),
            ("type", json!("Microsoft.Storage/storageAccounts")),
            ("location", json!(a.location)),
            ("tags", json!(a.tags)),
            (
                "properties",
                json!({
                    "provisioningState": state,
                    "primaryEndpoints": {
                        "blob": blob,
                        "dfs": format!("https://{n}.dfs.core.windows.net/"),
                        "file": format!("https://{n}.file.core.windows.net/"),
                        "queue": format!("https://{n}.queue.core.windows.net/"),
                        "table": format!("https://{n}.table.core.windows.net/"),
                        "web": format!("https://{n}.z13.web.core.windows.net/")
                    },
                    "primaryLocation": a.location,
                    "statusOfPrimary": "available",
                    "creationTime": created,
                    "isHnsEnabled": true,
                    "supportsHttpsTrafficOnly": true,
                    "minimumTlsVersion": "TLS1_2",
                    "allowBlobPublicAccess": false,
                    "allowSharedKeyAccess": true,
                    "accessTier": "Hot"
                }),
            ),
        ])
    }

    fn storage_action(
        &self,
        account: &StorageAccountConfig,
        action: StorageAction,
        body: &[u8],
    ) -> Result<String, ArmError> {
        let key2 = account
            .key2
            .clone()
            .unwrap_or_else(|| derived_key2(&account.key));
        if action == StorageAction::Keys {
            let created = chrono::DateTime::<chrono::Utc>::from_timestamp(
                i64::try_from(self.cloud.started.saturating_sub(30 * 86_400)).unwrap_or(0),
                0,
            )
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%S.0000000Z")
            .to_string();
            return Ok(json!({"keys": [
                {"creationTime": created, "keyName": "key1", "value": account.key, "permissions": "FULL"},
                {"creationTime": created, "keyName": "key2", "value": key2, "permissions": "FULL"}
            ]})
            .to_string());
        }
        let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| {
                arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContent",
                    format!(
                        "The request content was invalid and could not be deserialized: '{e}'."
                    ),
                )
            })?
        };
        if !value.is_object() {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: 'an object was expected'.",
            ));
        }
        let invalid = |sas::Invalid(name)| {
            arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidValuesForRequestParameters",
                format!("Values for request parameters are invalid: {name}."),
            )
        };
        let key = match sas::key_name(&value).map_err(invalid)? {
            sas::KeyName::Key1 => account.key.as_str(),
            sas::KeyName::Key2 => key2.as_str(),
        };
        Ok(match action {
            StorageAction::ServiceSas => {
                let signed = sas::service_sas(&account.name, key, &value).map_err(invalid)?;
                json!({ "serviceSasToken": signed.token }).to_string()
            }
            _ => {
                let signed = sas::account_sas(&account.name, key, &value).map_err(invalid)?;
                json!({ "accountSasToken": signed.token }).to_string()
            }
        })
    }

    /// One page of `items` (sorted by key) and the `nextLink` to the rest.
    fn page(&self, items: &[(String, String)], link: &str) -> Result<String, ArmError> {
        let start = match query_param(self.parts, "$skiptoken").filter(|t| !t.is_empty()) {
            None => 0,
            Some(token) => {
                let marker = URL_SAFE_NO_PAD
                    .decode(&token)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        arm_error(
                            StatusCode::BAD_REQUEST,
                            "InvalidSkipToken",
                            format!("The skip token '{token}' is invalid."),
                        )
                    })?;
                items
                    .iter()
                    .position(|(k, _)| *k >= marker)
                    .unwrap_or(items.len())
            }
        };
        let mut size = self.cloud.arm_page_size;
        if let Some(top) = query_param(self.parts, "$top").and_then(|t| t.parse::<usize>().ok()) {
            size = size.min(top.max(1));
        }
        let end = (start + size).min(items.len());
        let values: Vec<&str> = items[start..end].iter().map(|(_, v)| v.as_str()).collect();
        let mut fields = format!("\"value\":[{}]", values.join(","));
        if let Some((marker, _)) = items.get(end) {
            let next = format!(
                "{link}?api-version={}&%24skiptoken={}",
                self.api,
                URL_SAFE_NO_PAD.encode(marker)
            );
            fields.push_str(&format!(",\"nextLink\":{}", json!(next)));
        }
        Ok(format!("{{{fields}}}"))
    }
}
