//! Small helpers shared by the IMDS and service handlers: ids, clocks and date formats.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

/// A random GUID in the lower-case 8-4-4-4-12 form Azure uses for request ids.
pub(crate) fn random_guid() -> String {
    let n = fastrand::u128(..);
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
/// 32 random bytes as lower-case hex: the shared secrets of the non-IMDS token sources. The
/// emulator's secrets guard nothing real, so a non-cryptographic RNG is enough.
pub(crate) fn random_secret() -> String {
    (0..32)
        .map(|_| format!("{:02x}", fastrand::u8(..)))
        .collect()
}

pub(crate) fn now_secs() -> u64 {
    epoch_duration(SystemTime::now()).as_secs()
}

pub(crate) fn epoch_duration(t: SystemTime) -> Duration {
    t.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Milliseconds since the Unix epoch, as WebHDFS writes `modificationTime`.
pub(crate) fn epoch_millis(t: SystemTime) -> u64 {
    u64::try_from(epoch_duration(t).as_millis()).unwrap_or(u64::MAX)
}

/// RFC 1123 (`Wed, 22 Feb 2023 02:41:28 GMT`), the HTTP date format Storage uses everywhere.
pub(crate) fn http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// Windows FILETIME (100 ns ticks since 1601) as a decimal string: Gen2 lists write
/// `creationTime` this way.
pub(crate) fn filetime(t: SystemTime) -> String {
    const TICKS_1601_TO_1970: u128 = 116_444_736_000_000_000;
    (epoch_duration(t).as_nanos() / 100 + TICKS_1601_TO_1970).to_string()
}

/// `2018-10-16T22:42:24.2261417+00:00`: the timestamp Data Lake Gen1 appends to error messages
/// (seven fractional digits, which chrono has no specifier for).
pub(crate) fn gen1_timestamp(t: SystemTime) -> String {
    seven_digit_timestamp(t, "+00:00")
}

/// `2023-02-22T02:41:28.1234567Z`: the `Time:` line of Storage error messages.
pub(crate) fn storage_timestamp(t: SystemTime) -> String {
    seven_digit_timestamp(t, "Z")
}

/// `YYYY-MM-DDTHH:MM:SS.fffffff` in UTC, then `zone`.
fn seven_digit_timestamp(t: SystemTime, zone: &str) -> String {
    let d = epoch_duration(t);
    let secs = i64::try_from(d.as_secs()).unwrap_or(0);
    let base = DateTime::<Utc>::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_default();
    format!("{base}.{:07}{zone}", d.subsec_nanos() / 100)
}

/// Writes a JSON object with its members in the given order. serde_json's map sorts keys, and
/// both IMDS and WebHDFS have a field order that clients (and people reading logs) see.
pub(crate) fn ordered_object(fields: &[(&str, serde_json::Value)]) -> String {
    let members: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(*k)))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// `true`/`false` in any letter case (clients send `recursive=True`), anything else is invalid.
pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_shape() {
        let g = random_guid();
        assert_eq!(g.len(), 36);
        assert_eq!(g.matches('-').count(), 4);
    }

    #[test]
    fn formats() {
        let t = UNIX_EPOCH + Duration::new(1_676_999_999, 123_456_789);
        assert_eq!(http_date(t), "Tue, 21 Feb 2023 17:19:59 GMT");
        assert_eq!(gen1_timestamp(t), "2023-02-21T17:19:59.1234567+00:00");
        assert_eq!(storage_timestamp(t), "2023-02-21T17:19:59.1234567Z");
        assert_eq!(epoch_millis(t), 1_676_999_999_123);
        assert_eq!(filetime(UNIX_EPOCH), "116444736000000000");
    }

    #[test]
    fn ordered_object_keeps_order() {
        let text = ordered_object(&[("b", serde_json::json!("1")), ("a", serde_json::json!(2))]);
        assert_eq!(text, r#"{"b":"1","a":2}"#);
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("FALSE"), Some(false));
        assert_eq!(parse_bool("1"), None);
    }
}
