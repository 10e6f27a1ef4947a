//! The fault script: misbehaviours injected into the next requests, in order. IMDS and the
//! HTTPS services each have their own queue of the same faults.

use std::collections::VecDeque;

use serde::{Deserialize, Deserializer};

/// One scripted misbehaviour, applied to the next `count` requests of the queue it is in.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with `status` and the error body that endpoint uses (plus `Retry-After` when given).
    Status {
        status: u16,
        retry_after: Option<u64>,
        count: u32,
    },
    /// Wait `ms` milliseconds, then answer normally.
    Delay { ms: u64, count: u32 },
    /// Close the connection without writing a response.
    Drop { count: u32 },
    /// Answer 200 with a body that is not what the client expects (cut-off JSON).
    Malformed { count: u32 },
    /// Read up to `bytes` bytes of the request body, then close the connection without
    /// answering: a connection lost mid-upload. (IMDS requests have no body: there it is `Drop`.)
    DropAfterBytes { bytes: u64, count: u32 },
    /// A service answers with a claims challenge (401 with `claims`, continuous access
    /// evaluation) whatever token the request carries: a revocation that a new token does not
    /// get past. (On a token endpoint, which has no claims challenge, it is a plain 401.)
    ClaimsChallenge { count: u32 },
}

impl Fault {
    /// How many requests this fault applies to.
    pub fn count(&self) -> u32 {
        match self {
            Fault::Status { count, .. }
            | Fault::Delay { count, .. }
            | Fault::Drop { count }
            | Fault::Malformed { count }
            | Fault::DropAfterBytes { count, .. }
            | Fault::ClaimsChallenge { count } => *count,
        }
    }

    fn with_count(mut self, n: u32) -> Self {
        match &mut self {
            Fault::Status { count, .. }
            | Fault::Delay { count, .. }
            | Fault::Drop { count }
            | Fault::Malformed { count }
            | Fault::DropAfterBytes { count, .. }
            | Fault::ClaimsChallenge { count } => *count = n,
        }
        self
    }

    /// Parses a fault script: `{"faults":[…]}` (the `POST /admin/faults` body) or a bare array.
    pub fn parse_script(json: &str) -> Result<Vec<Fault>, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wrapper {
            faults: Vec<Fault>,
        }
        // Decide the form first: an untagged enum would hide the real error behind
        // "did not match any variant".
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let faults = if value.is_array() {
            serde_json::from_value::<Vec<Fault>>(value)
        } else {
            serde_json::from_value::<Wrapper>(value).map(|w| w.faults)
        };
        faults.map_err(|e| e.to_string())
    }
}

/// The JSON form from `docs/emulator.md`: exactly one of `status`, `delay_ms`, `drop`,
/// `drop_after_bytes`, `malformed`, `claims_challenge`, plus optional `count` (default 1) and,
/// with `status`, `retry_after`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    status: Option<u16>,
    retry_after: Option<u64>,
    delay_ms: Option<u64>,
    drop: Option<bool>,
    malformed: Option<bool>,
    drop_after_bytes: Option<u64>,
    claims_challenge: Option<bool>,
    count: Option<u32>,
}

impl TryFrom<RawFault> for Fault {
    type Error = String;

    fn try_from(raw: RawFault) -> Result<Self, String> {
        let count = raw.count.unwrap_or(1);
        if count == 0 {
            return Err("fault count must be at least 1".into());
        }
        let kinds = [
            raw.status.is_some(),
            raw.delay_ms.is_some(),
            raw.drop.is_some(),
            raw.malformed.is_some(),
            raw.drop_after_bytes.is_some(),
            raw.claims_challenge.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(
                "a fault needs exactly one of \"status\", \"delay_ms\", \"drop\", \
                 \"drop_after_bytes\", \"malformed\", \"claims_challenge\""
                    .into(),
            );
        }
        if raw.retry_after.is_some() && raw.status.is_none() {
            return Err("\"retry_after\" only goes with \"status\"".into());
        }
        if raw.drop == Some(false)
            || raw.malformed == Some(false)
            || raw.claims_challenge == Some(false)
        {
            return Err(
                "\"drop\", \"malformed\" and \"claims_challenge\" faults must be true".into(),
            );
        }
        let fault = if let Some(status) = raw.status {
            // Only error statuses: a 1xx/2xx/3xx with an error body would not be a fault that
            // any real IMDS produces, and hyper cannot send some of them at all.
            if !(400..=599).contains(&status) {
                return Err(format!("fault status {status} must be in 400..=599"));
            }
            Fault::Status {
                status,
                retry_after: raw.retry_after,
                count,
            }
        } else if let Some(ms) = raw.delay_ms {
            Fault::Delay { ms, count }
        } else if raw.drop.is_some() {
            Fault::Drop { count }
        } else if let Some(bytes) = raw.drop_after_bytes {
            Fault::DropAfterBytes { bytes, count }
        } else if raw.claims_challenge.is_some() {
            Fault::ClaimsChallenge { count }
        } else {
            Fault::Malformed { count }
        };
        Ok(fault)
    }
}

impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawFault::deserialize(d)?
            .try_into()
            .map_err(serde::de::Error::custom)
    }
}

/// Queue of pending faults; each entry is consumed one request at a time.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    pending: VecDeque<Fault>,
}

impl FaultQueue {
    pub(crate) fn replace(&mut self, faults: Vec<Fault>) {
        // A zero-count fault (possible through the Rust API) applies to no request at all.
        self.pending = faults.into_iter().filter(|f| f.count() > 0).collect();
    }

    pub(crate) fn clear(&mut self) {
        self.pending.clear();
    }

    /// Takes the fault for the current request, if any (as a single-use fault, `count` 1).
    pub(crate) fn next(&mut self) -> Option<Fault> {
        let front = self.pending.front_mut()?;
        let remaining = front.count() - 1;
        let taken = front.clone().with_count(1);
        if remaining == 0 {
            self.pending.pop_front();
        } else {
            *front = front.clone().with_count(remaining);
        }
        Some(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form() {
        let faults = Fault::parse_script(
            r#"{"faults":[{"status":410,"count":3},{"status":429,"retry_after":2},
                {"delay_ms":2000},{"drop":true},{"malformed":true},{"drop_after_bytes":10},
                {"claims_challenge":true,"count":2}]}"#,
        )
        .unwrap();
        assert!(matches!(
            faults[0],
            Fault::Status {
                status: 410,
                retry_after: None,
                count: 3
            }
        ));
        assert!(matches!(
            faults[1],
            Fault::Status {
                status: 429,
                retry_after: Some(2),
                count: 1
            }
        ));
        assert!(matches!(faults[2], Fault::Delay { ms: 2000, count: 1 }));
        assert!(matches!(faults[3], Fault::Drop { count: 1 }));
        assert!(matches!(faults[4], Fault::Malformed { count: 1 }));
        assert!(matches!(
            faults[5],
            Fault::DropAfterBytes {
                bytes: 10,
                count: 1
            }
        ));
        assert!(matches!(faults[6], Fault::ClaimsChallenge { count: 2 }));
        assert_eq!(Fault::parse_script(r#"[{"drop":true}]"#).unwrap().len(), 1);
    }

    #[test]
    fn rejects_ambiguous_or_invalid_faults() {
        for bad in [
            r#"[{}]"#,
            r#"[{"status":500,"drop":true}]"#,
            r#"[{"status":200}]"#,
            r#"[{"drop":false}]"#,
            r#"[{"delay_ms":5,"retry_after":1}]"#,
            r#"[{"drop":true,"count":0}]"#,
            r#"[{"drop":true,"bogus":1}]"#,
            r#"{"fault":[]}"#,
            r#"[{"status":-1}]"#,
            r#"[{"drop_after_bytes":5,"drop":true}]"#,
            r#"[{"drop_after_bytes":-5}]"#,
            r#"[{"claims_challenge":false}]"#,
            r#"[{"claims_challenge":true,"status":401}]"#,
        ] {
            assert!(
                Fault::parse_script(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn queue_consumes_counts_in_order() {
        let mut queue = FaultQueue::default();
        queue.replace(vec![
            Fault::Drop { count: 2 },
            Fault::Malformed { count: 0 },
            Fault::Delay { ms: 1, count: 1 },
        ]);
        assert!(matches!(queue.next(), Some(Fault::Drop { count: 1 })));
        assert!(matches!(queue.next(), Some(Fault::Drop { count: 1 })));
        assert!(matches!(queue.next(), Some(Fault::Delay { ms: 1, .. })));
        assert!(queue.next().is_none());
    }
}
