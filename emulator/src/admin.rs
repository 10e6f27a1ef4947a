//! `/admin/*`: test control over loopback, JSON in and out, no auth (loopback only by design).

use std::collections::VecDeque;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::common::config::ResponseStyle;
use crate::common::faults::Fault;
use crate::common::response::{self, Body};
use crate::common::state::{RecordedRequest, Settings, Shared};

/// Admin bodies are a few hundred bytes; anything near this is a mistake.
const MAX_BODY_BYTES: usize = 64 * 1024;

pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let expected = match path.as_str() {
        "/admin/counters"
        | "/admin/requests"
        | "/admin/service-counters"
        | "/admin/service-requests" => Method::GET,
        "/admin/faults"
        | "/admin/service-faults"
        | "/admin/config"
        | "/admin/revoke"
        | "/admin/reset"
        | "/admin/shutdown" => Method::POST,
        _ => return response::not_found(),
    };
    if method != expected {
        return response::method_not_allowed(if expected == Method::GET {
            "GET"
        } else {
            "POST"
        });
    }

    match path.as_str() {
        "/admin/counters" => counters(shared),
        "/admin/requests" => request_log(&shared.mutable().requests),
        "/admin/service-counters" => service_counters(shared),
        "/admin/service-requests" => request_log(&shared.mutable().service_requests),
        _ => {
            let body = match read_body(req).await {
                Ok(body) => body,
                Err(resp) => return resp,
            };
            match path.as_str() {
                "/admin/faults" => faults(&body, |f| shared.set_faults(f)),
                "/admin/service-faults" => faults(&body, |f| shared.set_service_faults(f)),
                "/admin/config" => config(shared, &body),
                "/admin/revoke" => revoke(shared, &body),
                "/admin/reset" => {
                    shared.reset();
                    ok(json!({ "ok": true }))
                }
                _ => {
                    // The connection task sees the signal and closes gracefully, after this
                    // response has been written.
                    shared.request_shutdown();
                    ok(json!({ "ok": true, "shutting_down": true }))
                }
            }
        }
    }
}

fn counters(shared: &Shared) -> Response<Body> {
    let c = shared.mutable().counters;
    ok(json!({
        "token_requests": c.token_requests,
        "tokens_issued": c.tokens_issued,
        "probe_requests": c.probe_requests,
    }))
}

fn service_counters(shared: &Shared) -> Response<Body> {
    let c = shared.service_counters();
    ok(json!({
        "requests": c.requests,
        "bytes_received": c.bytes_received,
        "bytes_sent": c.bytes_sent,
        "claims_challenges": c.claims_challenges,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeRequest {
    /// A client id, object id or resource id; absent: every identity.
    identity: Option<String>,
}

/// Revokes the tokens minted so far for one identity (or all), as a critical event would
/// (an identity's access removed, an incident contained): from now on the services answer them
/// with a claims challenge (continuous access evaluation).
fn revoke(shared: &Shared, body: &str) -> Response<Body> {
    let request: RevokeRequest = match serde_json::from_str(body) {
        Ok(request) => request,
        Err(e) => return bad_request(&format!("invalid revocation: {e}")),
    };
    let Some(object_ids) = shared.identities_named(request.identity.as_deref()) else {
        return bad_request(&format!(
            "no identity has the client id, object id or resource id '{}'",
            request.identity.unwrap_or_default()
        ));
    };
    let revocation = shared.revoke(&object_ids);
    ok(json!({ "ok": true, "revoked": object_ids, "revoked_at": revocation.at }))
}

fn request_log(requests: &VecDeque<RecordedRequest>) -> Response<Body> {
    let log: Vec<Value> = requests
        .iter()
        .map(|r| {
            // A header sent more than once is joined the way HTTP allows folding it.
            let mut headers = Map::new();
            for (name, value) in &r.headers {
                let joined = match headers.get(name).and_then(Value::as_str) {
                    Some(prev) => format!("{prev}, {value}"),
                    None => value.clone(),
                };
                headers.insert(name.clone(), Value::String(joined));
            }
            json!({ "method": r.method, "path": r.path, "query": r.query, "headers": headers })
        })
        .collect();
    ok(Value::Array(log))
}

fn faults(body: &str, set: impl FnOnce(Vec<Fault>)) -> Response<Body> {
    match Fault::parse_script(body) {
        Ok(faults) => {
            let queued = faults.len();
            set(faults);
            ok(json!({ "ok": true, "queued": queued }))
        }
        Err(e) => bad_request(&format!("invalid fault script: {e}")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigUpdate {
    token_lifetime_seconds: Option<u64>,
    /// Absent: unchanged. `null`: stop sending `refresh_in`.
    #[serde(default, deserialize_with = "present")]
    refresh_in_seconds: Option<Option<u64>>,
    response_style: Option<ResponseStyle>,
    arm_operation_polls: Option<u32>,
    arm_retry_after_seconds: Option<u64>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

fn config(shared: &Shared, body: &str) -> Response<Body> {
    let update: ConfigUpdate = match serde_json::from_str(body) {
        Ok(update) => update,
        Err(e) => return bad_request(&format!("invalid config update: {e}")),
    };
    let settings = shared.update_settings(|s| {
        if let Some(lifetime) = update.token_lifetime_seconds {
            s.token_lifetime_secs = lifetime;
        }
        if let Some(refresh_in) = update.refresh_in_seconds {
            s.refresh_in_secs = refresh_in;
        }
        if let Some(style) = update.response_style {
            s.response_style = style;
        }
        if let Some(polls) = update.arm_operation_polls {
            s.arm_operation_polls = polls;
        }
        if let Some(secs) = update.arm_retry_after_seconds {
            s.arm_retry_after_secs = secs;
        }
    });
    ok(settings_json(&settings))
}

fn settings_json(s: &Settings) -> Value {
    json!({
        "ok": true,
        "token_lifetime_seconds": s.token_lifetime_secs,
        "refresh_in_seconds": s.refresh_in_secs,
        "response_style": s.response_style.name(),
        "arm_operation_polls": s.arm_operation_polls,
        "arm_retry_after_seconds": s.arm_retry_after_secs,
    })
}

/// Reads a UTF-8 body; an empty body reads as `{}` so `curl -X POST …/reset` works.
async fn read_body(req: Request<Incoming>) -> Result<String, Response<Body>> {
    let collected = Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|_| {
            response::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "Request body is too large or could not be read",
            )
        })?;
    let bytes = collected.to_bytes();
    let text =
        String::from_utf8(bytes.to_vec()).map_err(|_| bad_request("request body is not UTF-8"))?;
    if text.trim().is_empty() {
        Ok("{}".to_string())
    } else {
        Ok(text)
    }
}

fn ok(value: Value) -> Response<Body> {
    response::json(StatusCode::OK, &value)
}

fn bad_request(description: &str) -> Response<Body> {
    response::error(StatusCode::BAD_REQUEST, "invalid_request", description)
}
