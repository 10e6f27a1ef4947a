//! Shared access signatures as Resource Manager's `listServiceSas`/`listAccountSas` produce
//! them: validated parameters, the string-to-sign of signed version 2015-04-05 (the version the
//! live resource provider puts in `sv`), HMAC-SHA256 with the account key.
//!
//! String-to-sign (fields joined by `\n`, values not URL-encoded):
//! - service SAS: `sp, st, se, canonicalizedResource, si, sip, spr, sv, rscc, rscd, rsce, rscl, rsct`
//! - account SAS: `account, sp, ss, srt, st, se, sip, spr, sv` and a final empty field.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;
use sha2::Sha256;

/// The signed version (`sv`) of every token the emulator signs.
pub const SAS_VERSION: &str = "2015-04-05";

/// Everything but RFC 3986 unreserved characters is percent-encoded in token values.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The field of a service SAS request that names the container (or share) and item.
const CR: &str = "canonicalizedResource";

/// A request parameter that failed validation (the name the service reports).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Invalid(pub &'static str);

/// Which key signs (`keyToSign`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyName {
    Key1,
    Key2,
}

/// A signed token, with the string that was signed (for diagnostics and tests).
pub(crate) struct Signed {
    pub token: String,
}

fn text<'a>(body: &'a Value, name: &'static str) -> Result<Option<&'a str>, Invalid> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Invalid(name)),
    }
}

/// Letters of `value`, each from `allowed`, at most once, put in `allowed`'s order (the order
/// the Storage service requires).
fn letters(value: &str, allowed: &str, name: &'static str) -> Result<String, Invalid> {
    if value.is_empty() {
        return Err(Invalid(name));
    }
    let mut seen = Vec::new();
    for c in value.chars() {
        if !allowed.contains(c) || seen.contains(&c) {
            return Err(Invalid(name));
        }
        seen.push(c);
    }
    Ok(allowed.chars().filter(|c| seen.contains(c)).collect())
}

/// ISO 8601 UTC (`2030-01-01T00:00:00Z`, with or without fraction, any offset, or a date
/// alone), written back as the service writes it: `2030-01-01T00:00:00.0000000Z`.
pub(crate) fn parse_time(value: &str) -> Option<String> {
    let t: DateTime<Utc> = match DateTime::parse_from_rfc3339(value) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => {
            let naive = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%MZ"))
                .or_else(|_| {
                    NaiveDate::parse_from_str(value, "%Y-%m-%d")
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                })
                .ok()?;
            naive.and_utc()
        }
    };
    Some(format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    ))
}

fn time(body: &Value, name: &'static str, required: bool) -> Result<Option<String>, Invalid> {
    match text(body, name)? {
        None if required => Err(Invalid(name)),
        None => Ok(None),
        Some(v) => parse_time(v).map(Some).ok_or(Invalid(name)),
    }
}

fn protocol(body: &Value) -> Result<Option<String>, Invalid> {
    match text(body, "signedProtocol")? {
        None => Ok(None),
        Some(p) if p == "https" || p == "https,http" => Ok(Some(p.to_string())),
        Some(_) => Err(Invalid("signedProtocol")),
    }
}

fn ip(body: &Value) -> Result<Option<String>, Invalid> {
    match text(body, "signedIp")? {
        None => Ok(None),
        Some(range) => {
            let ok = range
                .split('-')
                .all(|a| a.parse::<std::net::Ipv4Addr>().is_ok())
                && range.split('-').count() <= 2;
            if ok {
                Ok(Some(range.to_string()))
            } else {
                Err(Invalid("signedIp"))
            }
        }
    }
}

pub(crate) fn key_name(body: &Value) -> Result<KeyName, Invalid> {
    match text(body, "keyToSign")? {
        None => Ok(KeyName::Key1),
        Some(k) if k.eq_ignore_ascii_case("key1") => Ok(KeyName::Key1),
        Some(k) if k.eq_ignore_ascii_case("key2") => Ok(KeyName::Key2),
        Some(_) => Err(Invalid("keyToSign")),
    }
}

/// `base64(HMAC-SHA256(base64decode(key), string_to_sign))`.
pub fn signature(key_base64: &str, string_to_sign: &str) -> Option<String> {
    let key = STANDARD.decode(key_base64).ok()?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).ok()?;
    mac.update(string_to_sign.as_bytes());
    Some(STANDARD.encode(mac.finalize().into_bytes()))
}

fn query(pairs: &[(&str, Option<&str>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", utf8_percent_encode(v, VALUE))))
        .collect::<Vec<_>>()
        .join("&")
}

/// `listServiceSas`: validates `body` (the `ServiceSasParameters` of the REST spec) for
/// `account` and signs it with `key`.
pub(crate) fn service_sas(account: &str, key: &str, body: &Value) -> Result<Signed, Invalid> {
    let resource = text(body, CR)?.ok_or(Invalid(CR))?;
    // `/<service>/<account>[/<container or share>[/<path>]]`
    let mut parts = resource
        .strip_prefix('/')
        .ok_or(Invalid(CR))?
        .splitn(3, '/');
    let service = parts.next().unwrap_or_default();
    let named_account = parts.next().unwrap_or_default();
    let container = parts.next().unwrap_or_default();
    if named_account != account {
        return Err(Invalid(CR));
    }
    let (container_name, path) = container.split_once('/').unwrap_or((container, ""));
    let sr = text(body, "signedResource")?;
    let allowed = match service {
        "blob" => {
            check_resource(sr, ("c", "b"), container_name, path)?;
            "racwdl"
        }
        "file" => {
            check_resource(sr, ("s", "f"), container_name, path)?;
            "rcwdl"
        }
        "queue" | "table" if sr.is_none() && !container_name.is_empty() => {
            if service == "queue" {
                "raup"
            } else {
                "raud"
            }
        }
        "queue" | "table" if sr.is_some() => return Err(Invalid("signedResource")),
        _ => return Err(Invalid(CR)),
    };
    let sp = match text(body, "signedPermission")? {
        Some(p) => Some(letters(p, allowed, "signedPermission")?),
        None => None,
    };
    let si = text(body, "signedIdentifier")?;
    if si.is_some_and(|s| s.len() > 64) {
        return Err(Invalid("signedIdentifier"));
    }
    if sp.is_none() && si.is_none() {
        return Err(Invalid("signedPermission"));
    }
    let se = time(body, "signedExpiry", true)?;
    let st = time(body, "signedStart", false)?;
    let spr = protocol(body)?;
    let sip = ip(body)?;
    key_name(body)?;
    let headers: Vec<Option<&str>> = ["rscc", "rscd", "rsce", "rscl", "rsct"]
        .iter()
        .map(|name| text(body, name))
        .collect::<Result<_, _>>()?;

    let string_to_sign = service_string_to_sign(&ServiceFields {
        sp: sp.as_deref(),
        st: st.as_deref(),
        se: se.as_deref(),
        canonicalized_resource: resource,
        si,
        sip: sip.as_deref(),
        spr: spr.as_deref(),
        headers: [headers[0], headers[1], headers[2], headers[3], headers[4]],
    });
    let sig = signature(key, &string_to_sign).ok_or(Invalid("keyToSign"))?;
    let token = query(&[
        ("sv", Some(SAS_VERSION)),
        ("sr", sr),
        ("si", si),
        ("sip", sip.as_deref()),
        ("spr", spr.as_deref()),
        ("st", st.as_deref()),
        ("se", se.as_deref()),
        ("sp", sp.as_deref()),
        ("rscc", headers[0]),
        ("rscd", headers[1]),
        ("rsce", headers[2]),
        ("rscl", headers[3]),
        ("rsct", headers[4]),
        ("sig", Some(&sig)),
    ]);
    Ok(Signed { token })
}

/// `signedResource` of a blob or file SAS: `whole` (a container or share) when `path` is empty,
/// `item` (a blob or file) otherwise, or absent (taken from the path).
fn check_resource(
    sr: Option<&str>,
    (whole, item): (&str, &str),
    container_name: &str,
    path: &str,
) -> Result<(), Invalid> {
    match sr {
        Some(r) if r == whole && !container_name.is_empty() && path.is_empty() => Ok(()),
        Some(r) if r == item && !container_name.is_empty() && !path.is_empty() => Ok(()),
        None if !container_name.is_empty() => Ok(()),
        Some(r) if r == whole || r == item => Err(Invalid(CR)),
        _ => Err(Invalid("signedResource")),
    }
}

pub(crate) struct ServiceFields<'a> {
    pub sp: Option<&'a str>,
    pub st: Option<&'a str>,
    pub se: Option<&'a str>,
    pub canonicalized_resource: &'a str,
    pub si: Option<&'a str>,
    pub sip: Option<&'a str>,
    pub spr: Option<&'a str>,
    /// rscc, rscd, rsce, rscl, rsct.
    pub headers: [Option<&'a str>; 5],
}

/// The 2015-04-05 service SAS string-to-sign.
pub(crate) fn service_string_to_sign(f: &ServiceFields<'_>) -> String {
    let mut fields = vec![
        f.sp.unwrap_or(""),
        f.st.unwrap_or(""),
        f.se.unwrap_or(""),
        f.canonicalized_resource,
        f.si.unwrap_or(""),
        f.sip.unwrap_or(""),
        f.spr.unwrap_or(""),
        SAS_VERSION,
    ];
    fields.extend(f.headers.iter().map(|h| h.unwrap_or("")));
    fields.join("\n")
}

/// `listAccountSas`: validates `body` (`AccountSasParameters`) and signs it with `key`.
pub(crate) fn account_sas(account: &str, key: &str, body: &Value) -> Result<Signed, Invalid> {
    let ss = text(body, "signedServices")?.ok_or(Invalid("signedServices"))?;
    letters(ss, "bqtf", "signedServices")?;
    let srt = text(body, "signedResourceTypes")?.ok_or(Invalid("signedResourceTypes"))?;
    letters(srt, "sco", "signedResourceTypes")?;
    let sp = text(body, "signedPermission")?.ok_or(Invalid("signedPermission"))?;
    let sp = letters(sp, "rwdlacup", "signedPermission")?;
    let se = time(body, "signedExpiry", true)?.unwrap_or_default();
    let st = time(body, "signedStart", false)?;
    let spr = protocol(body)?;
    let sip = ip(body)?;
    key_name(body)?;
    let string_to_sign = [
        account,
        &sp,
        ss,
        srt,
        st.as_deref().unwrap_or(""),
        &se,
        sip.as_deref().unwrap_or(""),
        spr.as_deref().unwrap_or(""),
        SAS_VERSION,
        "",
    ]
    .join("\n");
    let sig = signature(key, &string_to_sign).ok_or(Invalid("keyToSign"))?;
    let token = query(&[
        ("sv", Some(SAS_VERSION)),
        ("ss", Some(ss)),
        ("srt", Some(srt)),
        ("sp", Some(&sp)),
        ("st", st.as_deref()),
        ("se", Some(&se)),
        ("sip", sip.as_deref()),
        ("spr", spr.as_deref()),
        ("sig", Some(&sig)),
    ]);
    Ok(Signed { token })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_are_normalised() {
        assert_eq!(
            parse_time("2030-01-02T03:04:05Z").unwrap(),
            "2030-01-02T03:04:05.0000000Z"
        );
        assert_eq!(
            parse_time("2030-01-02T03:04:05.5+01:00").unwrap(),
            "2030-01-02T02:04:05.5000000Z"
        );
        assert_eq!(
            parse_time("2030-01-02").unwrap(),
            "2030-01-02T00:00:00.0000000Z"
        );
        assert!(parse_time("tomorrow").is_none());
    }

    #[test]
    fn permissions_are_validated_and_ordered() {
        assert_eq!(letters("wr", "racwdl", "p").unwrap(), "rw");
        assert!(letters("rx", "racwdl", "p").is_err());
        assert!(letters("rr", "racwdl", "p").is_err());
    }

    #[test]
    fn service_sas_checks_the_resource() {
        let key = crate::common::cloud::AZURITE_KEY;
        let ok = json!({"canonicalizedResource":"/blob/acct/c","signedResource":"c",
                        "signedPermission":"rcw","signedExpiry":"2030-01-01T00:00:00Z"});
        let token = service_sas("acct", key, &ok).unwrap().token;
        assert!(
            token.starts_with("sv=2015-04-05&sr=c&se=2030-01-01T00%3A00%3A00.0000000Z&sp=rcw&sig=")
        );
        for (body, bad) in [
            (
                json!({"canonicalizedResource":"/blob/other/c","signedPermission":"r","signedExpiry":"2030-01-01"}),
                "canonicalizedResource",
            ),
            (
                json!({"canonicalizedResource":"/blob/acct/c","signedResource":"b","signedPermission":"r","signedExpiry":"2030-01-01"}),
                "canonicalizedResource",
            ),
            (
                json!({"canonicalizedResource":"/blob/acct/c","signedPermission":"rz","signedExpiry":"2030-01-01"}),
                "signedPermission",
            ),
            (
                json!({"canonicalizedResource":"/blob/acct/c","signedPermission":"r"}),
                "signedExpiry",
            ),
            (
                json!({"canonicalizedResource":"/blob/acct/c","signedPermission":"r","signedExpiry":"2030-01-01","signedProtocol":"http"}),
                "signedProtocol",
            ),
        ] {
            assert_eq!(
                service_sas("acct", key, &body).err(),
                Some(Invalid(bad)),
                "{body}"
            );
        }
    }
}
