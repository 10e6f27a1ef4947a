//! Retry timing per Microsoft's guidance for IMDS: exponential backoff with jitter, Retry-After
//! honoured, 410 retried for at least 70 s, all within a budget the caller can set.

use std::time::Duration;

/// How long and how often to retry transient failures.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Total time a request may spend, retries included (410 is given at least
    /// [`RetryPolicy::GONE_MINIMUM`]).
    pub budget: Duration,
    /// The first backoff delay; each later one doubles, up to `max_delay`.
    pub initial_delay: Duration,
    /// The longest backoff delay.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// IMDS answers 410 while it restarts and is back within 70 s.
    pub const GONE_MINIMUM: Duration = Duration::from_secs(70);

    /// No retries at all.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            budget: Duration::ZERO,
            ..RetryPolicy::default()
        }
    }

    /// The budget for a request that has seen a 410.
    pub(crate) fn budget_after_gone(&self) -> Duration {
        if self.budget.is_zero() {
            // A caller who asked for no retries gets none, 410 or not.
            Duration::ZERO
        } else {
            self.budget.max(Self::GONE_MINIMUM)
        }
    }

    /// The backoff before retry number `attempt` (0-based), with ±20 % jitter so that many
    /// clients that failed together do not come back together.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .initial_delay
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        base.mul_f64(0.8 + fastrand::f64() * 0.4)
    }
}

impl Default for RetryPolicy {
    /// 0.8 s doubling (as Azure.Identity does), at most 30 s apart, 30 s in all.
    fn default() -> Self {
        RetryPolicy {
            budget: Duration::from_secs(30),
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Reads a `Retry-After` header value given in seconds (the form IMDS and ARM use). An HTTP date
/// is also accepted.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.timestamp() - chrono::Utc::now().timestamp();
    Some(Duration::from_secs(delta.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = RetryPolicy {
            budget: Duration::from_secs(10),
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let d0 = p.backoff(0).as_millis();
            let d2 = p.backoff(2).as_millis();
            let d9 = p.backoff(9).as_millis();
            assert!((80..=120).contains(&d0), "{d0}");
            assert!((320..=480).contains(&d2), "{d2}");
            assert!((800..=1200).contains(&d9), "{d9}");
        }
        assert!(p.backoff(u32::MAX) <= Duration::from_millis(1200));
    }

    #[test]
    fn gone_gets_at_least_seventy_seconds_unless_retries_are_off() {
        let p = RetryPolicy::default();
        assert_eq!(p.budget_after_gone(), Duration::from_secs(70));
        let long = RetryPolicy {
            budget: Duration::from_secs(100),
            ..RetryPolicy::default()
        };
        assert_eq!(long.budget_after_gone(), Duration::from_secs(100));
        assert_eq!(RetryPolicy::none().budget_after_gone(), Duration::ZERO);
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
