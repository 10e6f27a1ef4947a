//! Resource Manager's long-running operations, followed as the Azure SDKs follow them
//! (<https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations>):
//!
//! - An answer 200/201/202 to PUT, PATCH, POST or DELETE with `Azure-AsyncOperation` (except
//!   PATCH 200, which Azure.Core treats as synchronous): that URL is polled until its `status`
//!   is `Succeeded`, `Failed` or `Canceled`. On success, PUT and PATCH GET the resource again,
//!   POST GETs the `Location` of the first answer when there was one (else the status's
//!   `properties`), DELETE returns `Null`: Azure.Core's choice of final request per method.
//! - A 202 with only `Location`: that URL is polled; 202 means "still running", any other
//!   success is the end and its JSON the result.
//!
//! Polls are GETs through the service layer (so they get its retries), only to the endpoint's
//! own origin, spaced by `Retry-After` (capped) or, without one, by Azure.Core's schedule for
//! management operations. Dropping the future (cancellation) stops at once: every wait is a
//! tokio timer or a request, nothing blocks.

use std::time::Duration;

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::{Method, Response};
use serde_json::Value;
use url::Url;

use super::{Arm, MAX_ANSWER};
use crate::error::{shorten, Error, Result, ServiceFailure};
use crate::retry::parse_retry_after;
use crate::service::{classify, display_url, get_ci, read_json};

/// The header naming the operation's status monitor.
const AZURE_ASYNC_OPERATION: &str = "azure-asyncoperation";
/// Seconds between polls when the service gives no `Retry-After`: Azure.Core's sequence for
/// management operations (`SequentialDelayStrategy`), quick for the common short operation,
/// then backing off; the last value repeats.
const DEFAULT_POLL_DELAYS: [u64; 8] = [1, 1, 1, 2, 4, 8, 16, 32];
/// The longest wait between two polls, whatever `Retry-After` says, so that a wrong or huge
/// value cannot leave the caller waiting for hours.
pub(super) const MAX_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// Where an operation's progress is read. (No `Debug`: monitor URLs may carry signatures in
/// their query.)
enum Monitor {
    /// The `Azure-AsyncOperation` status URL: `{"status":…}`.
    AsyncOperation(Url),
    /// The `Location` URL: 202 while running, the result when done.
    Location(Url),
}

/// An operation Resource Manager accepted and runs in the background.
pub(super) struct Operation {
    method: Method,
    /// The URL of the request that started it (the resource, for PUT and PATCH).
    resource: Url,
    /// The request that started it, for messages: `DELETE https://…/resourcegroups/rg`.
    what: String,
    monitor: Monitor,
    /// The first answer's `Location` when a POST is tracked by `Azure-AsyncOperation`: where
    /// its result is read once it succeeded.
    result_location: Option<Url>,
    /// The first answer's `Retry-After`.
    first_delay: Option<Duration>,
}

/// When to poll next: the service's `Retry-After` when it gave one, else the default schedule.
#[derive(Debug, Default)]
pub(super) struct PollSchedule {
    polls: usize,
    retry_after: Option<Duration>,
}

impl PollSchedule {
    /// Remembers the `Retry-After` of the latest answer (`None`: it had none).
    pub(super) fn answered(&mut self, retry_after: Option<Duration>) {
        self.retry_after = retry_after;
    }

    /// The wait before the next poll.
    pub(super) fn next_delay(&mut self) -> Duration {
        let delay = self.retry_after.take().unwrap_or_else(|| {
            let step = self.polls.min(DEFAULT_POLL_DELAYS.len() - 1);
            Duration::from_secs(DEFAULT_POLL_DELAYS[step])
        });
        self.polls += 1;
        delay.min(MAX_POLL_INTERVAL)
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// What a terminal `status` of an `Azure-AsyncOperation` monitor means.
enum Outcome {
    Running,
    Succeeded,
    /// `Failed` or `Canceled`, as the service spelled it.
    Ended(String),
}

fn outcome(status: &str) -> Outcome {
    match status.to_ascii_lowercase().as_str() {
        "succeeded" => Outcome::Succeeded,
        "failed" | "canceled" | "cancelled" => Outcome::Ended(status.to_owned()),
        _ => Outcome::Running,
    }
}

impl Arm {
    /// The operation `response` (the answer to `method` on `resource`) started, if it started
    /// one. A monitor URL on another origin is refused here, before any token goes there.
    pub(super) fn operation_of(
        &self,
        method: &Method,
        resource: &Url,
        response: &Response,
        what: &str,
    ) -> Result<Option<Operation>> {
        if !matches!(
            *method,
            Method::PUT | Method::PATCH | Method::POST | Method::DELETE
        ) {
            return Ok(None);
        }
        let status = response.status().as_u16();
        let headers = response.headers();
        let synchronous_patch = *method == Method::PATCH && status == 200;
        let monitor = match (
            header(headers, AZURE_ASYNC_OPERATION),
            header(headers, LOCATION.as_str()),
        ) {
            (Some(url), _) if matches!(status, 200..=202) && !synchronous_patch => {
                Monitor::AsyncOperation(self.monitor_url(
                    url,
                    resource,
                    "Azure-AsyncOperation",
                    what,
                )?)
            }
            (None, Some(url)) if status == 202 => {
                Monitor::Location(self.monitor_url(url, resource, "Location", what)?)
            }
            _ => return Ok(None),
        };
        let result_location = match (&monitor, method, header(headers, LOCATION.as_str())) {
            (Monitor::AsyncOperation(_), &Method::POST, Some(url)) => {
                Some(self.monitor_url(url, resource, "Location", what)?)
            }
            _ => None,
        };
        Ok(Some(Operation {
            method: method.clone(),
            resource: resource.clone(),
            what: what.to_owned(),
            monitor,
            result_location,
            first_delay: retry_after(headers),
        }))
    }

    /// A monitor URL from header `name` (absolute, or relative to `resource`), with the
    /// request's api-version when it has none. Only the endpoint's own origin gets the token.
    fn monitor_url(&self, value: &str, resource: &Url, name: &str, what: &str) -> Result<Url> {
        let mut url = resource.join(value).map_err(|_| {
            Error::Protocol(format!(
                "{what}: the {name} header of the answer is not a URL"
            ))
        })?;
        if url.origin().ascii_serialization() != *self.origin {
            return Err(Error::Insecure(format!(
                "{what}: the operation's {name} URL {} is not on the endpoint {}; azmi sends the token only to the endpoint, so it did not wait for the operation, which may still be running in Azure. If that host is your Resource Manager, make it the endpoint (AZMI_ARM_ENDPOINT, azmi_set_arm_endpoint)",
                display_url(&url),
                self.display
            )));
        }
        let has_version = url.query_pairs().any(|(k, _)| k == "api-version");
        if let (false, Some((_, v))) = (
            has_version,
            resource.query_pairs().find(|(k, _)| k == "api-version"),
        ) {
            url.query_pairs_mut().append_pair("api-version", &v);
        }
        Ok(url)
    }

    /// Waits for `op` to end and returns its result.
    pub(super) async fn wait(&self, op: Operation) -> Result<Value> {
        let mut schedule = PollSchedule::default();
        schedule.answered(op.first_delay);
        match &op.monitor {
            Monitor::AsyncOperation(url) => {
                let status = self.poll_status(&op, url, &mut schedule).await?;
                self.result_after(&op, status).await
            }
            Monitor::Location(url) => self.poll_location(&op, url, &mut schedule).await,
        }
    }

    /// Polls an `Azure-AsyncOperation` URL until the operation ends; returns the status answer
    /// of a success, and an error carrying the operation's error for a failure.
    async fn poll_status(
        &self,
        op: &Operation,
        url: &Url,
        schedule: &mut PollSchedule,
    ) -> Result<Value> {
        let what = polling(op, url);
        loop {
            let response = self.poll(url, schedule, &what).await?;
            let http_status = response.status().as_u16();
            schedule.answered(retry_after(response.headers()));
            let answer = read_json(response, MAX_ANSWER, &what).await?;
            let Some(status) = answer.get("status").and_then(Value::as_str) else {
                return Err(Error::Protocol(format!(
                    "{what}: the operation status has no \"status\""
                )));
            };
            log::debug!("{what}: {status}");
            match outcome(status) {
                Outcome::Running => {}
                Outcome::Succeeded => return Ok(answer),
                Outcome::Ended(state) => {
                    return Err(operation_failed(op, &state, &answer, http_status))
                }
            }
        }
    }

    /// Polls a `Location` URL until it stops answering 202; returns its last answer's JSON.
    async fn poll_location(
        &self,
        op: &Operation,
        url: &Url,
        schedule: &mut PollSchedule,
    ) -> Result<Value> {
        let what = polling(op, url);
        loop {
            let response = self.poll(url, schedule, &what).await?;
            match response.status().as_u16() {
                202 => {
                    log::debug!("{what}: still running");
                    schedule.answered(retry_after(response.headers()));
                }
                200..=299 => return read_json(response, MAX_ANSWER, &what).await,
                other => {
                    return Err(Error::Protocol(format!(
                        "{what}: unexpected HTTP {other} (a redirect is not followed)"
                    )))
                }
            }
        }
    }

    /// One poll of a monitor URL, when the schedule says it is due.
    async fn poll(&self, url: &Url, schedule: &mut PollSchedule, what: &str) -> Result<Response> {
        tokio::time::sleep(schedule.next_delay()).await;
        self.send_raw(Method::GET, url.clone(), None, true, what)
            .await
    }

    /// The result of an `Azure-AsyncOperation` that succeeded with `status` (its last answer).
    async fn result_after(&self, op: &Operation, status: Value) -> Result<Value> {
        let final_get = match op.method {
            Method::PUT | Method::PATCH => Some(&op.resource),
            Method::POST => op.result_location.as_ref(),
            _ => None,
        };
        match final_get {
            Some(url) => {
                let what = format!("reading the result of {}", op.what);
                self.send(Method::GET, url.clone(), None, true, &what).await
            }
            None if op.method == Method::POST => {
                Ok(status.get("properties").cloned().unwrap_or(Value::Null))
            }
            None => Ok(Value::Null),
        }
    }
}

/// What a poll does, for messages: "waiting for DELETE https://… (polling https://…)".
fn polling(op: &Operation, url: &Url) -> String {
    format!("waiting for {} (polling {})", op.what, display_url(url))
}

/// The error of an operation that ended `state` (Failed, Canceled): the operation's own error
/// code and message, mapped to a library code as any other Resource Manager error.
fn operation_failed(op: &Operation, state: &str, answer: &Value, http_status: u16) -> Error {
    let error = answer.get("error");
    let text = |name: &str| {
        error
            .and_then(|e| get_ci(e, name))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let description = text("message")
        .map(|m| shorten(&m.replace(['\r', '\n'], " ")))
        .unwrap_or_else(|| "Resource Manager gave no reason".to_owned());
    let failure = ServiceFailure {
        status: http_status,
        code: text("code").or_else(|| Some(state.to_owned())),
        description,
    };
    Error::Service {
        code: classify(&failure),
        context: format!("{} was accepted, but the operation ended {state}", op.what),
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_retry_after_polls_follow_the_sdk_schedule() {
        let mut s = PollSchedule::default();
        let delays: Vec<u64> = (0..10).map(|_| s.next_delay().as_secs()).collect();
        assert_eq!(delays, [1, 1, 1, 2, 4, 8, 16, 32, 32, 32]);
    }

    #[test]
    fn retry_after_wins_once_and_is_capped() {
        let mut s = PollSchedule::default();
        s.answered(Some(Duration::from_secs(5)));
        assert_eq!(s.next_delay(), Duration::from_secs(5));
        assert_eq!(
            s.next_delay(),
            Duration::from_secs(1),
            "one answer, one wait"
        );
        s.answered(Some(Duration::ZERO));
        assert_eq!(s.next_delay(), Duration::ZERO);
        s.answered(Some(Duration::from_secs(86_400)));
        assert_eq!(s.next_delay(), MAX_POLL_INTERVAL);
    }

    #[test]
    fn terminal_states_ignore_case() {
        assert!(matches!(outcome("Succeeded"), Outcome::Succeeded));
        assert!(matches!(outcome("succeeded"), Outcome::Succeeded));
        assert!(matches!(outcome("Failed"), Outcome::Ended(s) if s == "Failed"));
        assert!(matches!(outcome("Canceled"), Outcome::Ended(_)));
        for running in ["InProgress", "Accepted", "Deleting", "Running", ""] {
            assert!(matches!(outcome(running), Outcome::Running), "{running}");
        }
    }
}
