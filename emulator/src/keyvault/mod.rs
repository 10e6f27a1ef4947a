//! Azure Key Vault, secrets: `GET /secrets/{name}[/{version}]`, `GET /secrets`,
//! `GET /secrets/{name}/versions`, `PUT /secrets/{name}` (a new version), `DELETE
//! /secrets/{name}` (soft delete), and the deleted secrets (`GET /deletedsecrets[/{name}]`,
//! purge, recover), as the data plane of one RBAC-enabled vault with soft delete.
//!
//! Written from the REST spec (keyvault data-plane 7.5: GetSecret, GetSecrets,
//! GetSecretVersions, SetSecret, DeleteSecret, GetDeletedSecret[s], PurgeDeletedSecret,
//! RecoverDeletedSecret) and the live service's recorded answers: the 401 challenge that SDKs
//! parse (`Bearer authorization="…", resource="https://vault.azure.net"`), `AKV100xx` messages,
//! `Forbidden` with `innererror` `SecretDisabled` / `ForbiddenByRbac`, 409 `Conflict` /
//! `ObjectIsDeletedButRecoverable`, integer timestamps, and absolute `nextLink`s (`null` on the
//! last page).

mod context;
mod errors;
mod handlers;
mod operation;
mod response;
mod state;

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};

use crate::common::body::{RequestBody, SvcBody};
use crate::common::response::DropConnection;
use crate::common::service::Service;
use context::Ctx;
pub(crate) use context::{KeyVault, VaultState};
use errors::{error_response, kv_error, unauthorized, Refusal};
use handlers::{prepare, serve};

/// The largest request body read (a secret's value is at most 25 KiB; its JSON with tags far
/// less than this).
const MAX_BODY: u64 = 256 * 1024;

impl Service for KeyVault {
    async fn handle(
        ctx: &Ctx,
        req: Request<Incoming>,
    ) -> Result<Response<SvcBody>, DropConnection> {
        handle(ctx, req).await
    }

    fn fault_response(
        _ctx: &Ctx,
        status: u16,
        _retry_after: Option<u64>,
        parts: &Parts,
    ) -> Response<SvcBody> {
        errors::fault_response(status, parts)
    }

    fn malformed(_ctx: &Ctx, parts: &Parts) -> Response<SvcBody> {
        errors::malformed(parts)
    }

    fn claims_challenge(_ctx: &Ctx, at: u64, parts: &Parts) -> Response<SvcBody> {
        errors::revoked(at, parts)
    }
}

/// Answers one Key Vault request: the token and the route first (a client's first request,
/// sent without a token to learn the challenge, gets its 401 whatever its body), then the body
/// of the routes that take one.
async fn handle(ctx: &Ctx, req: Request<Incoming>) -> Result<Response<SvcBody>, DropConnection> {
    let (parts, incoming) = req.into_parts();
    let kv = &ctx.svc;
    let answer = match prepare(&ctx.shared, &kv.cloud, &parts) {
        Err(refusal) => Err(refusal),
        Ok((caller, op)) => {
            let body = if op.route.takes_body() {
                let mut body = RequestBody::new(incoming, Arc::clone(&ctx.shared));
                match body.collect(MAX_BODY).await {
                    Ok(Some(chunks)) => Some(chunks.concat()),
                    Ok(None) => {
                        let too_large = kv_error(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "RequestEntityTooLarge",
                            format!("The request body is larger than {MAX_BODY} bytes."),
                        );
                        return Ok(error_response(too_large, &parts));
                    }
                    Err(_) => return Err(DropConnection),
                }
            } else {
                None
            };
            serve(kv, &caller, op, body.as_deref(), &parts)
        }
    };
    Ok(match answer {
        Ok(response) => response,
        Err(Refusal::Auth(message)) => unauthorized(&kv.cloud, message, &parts),
        Err(Refusal::Revoked(at)) => errors::revoked(at, &parts),
        Err(Refusal::Error(e)) => error_response(e, &parts),
    })
}
