//! Azure Key Vault, secrets (read side): `GET /secrets/{name}[/{version}]`, `GET /secrets` and
//! `GET /secrets/{name}/versions`, as the data plane of one RBAC-enabled vault.
//!
//! Written from the REST spec (keyvault data-plane 7.5: GetSecret, GetSecrets,
//! GetSecretVersions) and the live service's recorded answers: the 401 challenge that SDKs parse
//! (`Bearer authorization="…", resource="https://vault.azure.net"`), `AKV100xx` messages,
//! `Forbidden` with `innererror` `SecretDisabled` / `ForbiddenByRbac`, integer timestamps, and
//! absolute `nextLink`s (`null` on the last page).

mod context;
mod errors;
mod handlers;
mod operation;
mod response;

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Request, Response};

use crate::common::body::SvcBody;
use crate::common::response::DropConnection;
use crate::common::service::Service;
use context::Ctx;
pub(crate) use context::KeyVault;
use errors::{error_response, unauthorized, Refusal};
use handlers::serve;

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

/// Answers one Key Vault request.
async fn handle(ctx: &Ctx, req: Request<Incoming>) -> Result<Response<SvcBody>, DropConnection> {
    let (parts, _body) = req.into_parts();
    let cloud = &ctx.svc.cloud;
    Ok(match serve(&ctx.shared, cloud, &parts) {
        Ok(response) => response,
        Err(Refusal::Auth(message)) => unauthorized(cloud, message, &parts),
        Err(Refusal::Revoked(at)) => errors::revoked(at, &parts),
        Err(Refusal::Error(e)) => error_response(e, &parts),
    })
}
