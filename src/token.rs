//! Access tokens and the parsing of token responses in every shape the managed identity
//! sources send.

use std::fmt;

use serde_json::Value;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::source::Source;

/// Values below this are relative seconds, above it epoch seconds (MSAL.NET's rule: it is the
/// epoch value of 2001-01-01, earlier than any real expiry).
const EPOCH_THRESHOLD: i64 = 978_307_200;

/// An access token. The token text is wiped from memory when the last copy is dropped and is
/// never shown by `Debug`.
pub struct AccessToken {
    /// The token, its type and its resource, each followed by a NUL, in one string (which the
    /// C ABI copies whole); zeroized on drop.
    text: Zeroizing<String>,
    /// Where the type and the resource start in `text`.
    type_at: usize,
    resource_at: usize,
    /// Unix seconds.
    pub(crate) expires_on: i64,
    /// Unix seconds at which a background refresh should start, if the token warrants one.
    pub(crate) refresh_at: Option<i64>,
    /// The managed identity source that issued it.
    pub(crate) source: Source,
}

impl AccessToken {
    pub(crate) fn new(
        token: &str,
        token_type: &str,
        resource: &str,
        expires_on: i64,
        refresh_at: Option<i64>,
    ) -> AccessToken {
        let mut text = Zeroizing::new(String::with_capacity(
            token.len() + token_type.len() + resource.len() + 3,
        ));
        text.push_str(token);
        text.push('\0');
        let type_at = text.len();
        // Interior NULs cannot come from JSON strings we accept, but never let one cut the
        // type or resource short silently in C (a token with one is refused when parsed).
        push_without_nul(&mut text, token_type);
        let resource_at = text.len();
        push_without_nul(&mut text, resource);
        AccessToken {
            text,
            type_at,
            resource_at,
            expires_on,
            refresh_at,
            source: Source::Imds,
        }
    }

    /// The same token, said to come from `source`.
    pub(crate) fn with_source(mut self, source: Source) -> AccessToken {
        self.source = source;
        self
    }

    /// The managed identity source that issued the token.
    pub fn source(&self) -> Source {
        self.source
    }

    /// The bearer token text. Handle with care: never log it.
    pub fn secret(&self) -> &str {
        &self.text[..self.type_at - 1]
    }

    /// The token text, type and resource, each followed by a NUL (the text as checked when
    /// the token was parsed: printable ASCII), for the C ABI to copy at once.
    pub(crate) fn texts_with_nuls(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// Where the type and the resource start in [`AccessToken::texts_with_nuls`].
    pub(crate) fn type_and_resource_at(&self) -> (usize, usize) {
        (self.type_at, self.resource_at)
    }

    /// Length of the token text in bytes (without the NUL).
    pub fn secret_len(&self) -> usize {
        self.type_at - 1
    }

    /// Usually `Bearer`.
    pub fn token_type(&self) -> &str {
        &self.text[self.type_at..self.resource_at - 1]
    }

    /// The resource the token is for, as the endpoint named it.
    pub fn resource(&self) -> &str {
        &self.text[self.resource_at..self.text.len() - 1]
    }

    /// Expiry in Unix seconds.
    pub fn expires_on(&self) -> i64 {
        self.expires_on
    }
}

/// Appends `s` and a NUL to `text`, any NUL in `s` as U+FFFD.
fn push_without_nul(text: &mut String, s: &str) {
    for part in s.split('\0').enumerate() {
        if part.0 > 0 {
            text.push('\u{FFFD}');
        }
        text.push_str(part.1);
    }
    text.push('\0');
}

/// What an access token says about the identity it was issued to, read from its payload
/// **without verifying it**: only the service that receives the token can check its signature.
/// For people asking "which identity did I get?" (the commonest confusion with user-assigned
/// identities), never for access decisions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenClaims {
    /// `tid`: the tenant.
    pub tenant_id: Option<String>,
    /// `oid`: the identity's object (principal) id.
    pub object_id: Option<String>,
    /// `appid` (v1 tokens) or `azp` (v2): the identity's client (application) id.
    pub client_id: Option<String>,
    /// `xms_mirid`: the Azure resource id of a managed identity (the user-assigned identity, or
    /// the resource whose system-assigned identity it is).
    pub identity_resource_id: Option<String>,
}

impl TokenClaims {
    /// The claims of a JWT's payload; all `None` for a token that is not a JWT (some sources
    /// issue opaque tokens) or whose payload is not JSON.
    pub(crate) fn read(token: &str) -> TokenClaims {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap_or_default();
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let json: Option<Value> = engine
            .decode(payload.trim_end_matches('='))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let claim = |name: &str| {
            json.as_ref()
                .and_then(|j| j.get(name))
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        TokenClaims {
            tenant_id: claim("tid"),
            object_id: claim("oid"),
            client_id: claim("appid").or_else(|| claim("azp")),
            identity_resource_id: claim("xms_mirid"),
        }
    }
}

impl AccessToken {
    /// The identity's claims as the token states them, **not verified**: see [`TokenClaims`].
    pub fn claims(&self) -> TokenClaims {
        TokenClaims::read(self.secret())
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("token_type", &self.token_type())
            .field("resource", &self.resource())
            .field("expires_on", &self.expires_on)
            .field("source", &self.source)
            .finish()
    }
}

/// Overwrites `bytes` with zeros in a way the compiler may not remove, even when the memory is
/// freed right after: one `write_bytes` (the C library's `memset`, word- and vector-wide), then
/// an empty assembly block that is given the pointer and, not marked `nomem`, may read any
/// memory it reaches, so the zeros must be stored before it. Linux's `memzero_explicit` and
/// BoringSSL's `OPENSSL_cleanse` do the same. Chosen over `zeroize` (a volatile write per byte:
/// thousands of instructions for a token, on the hottest path) and over the platforms' own
/// calls (`explicit_bzero`, `SecureZeroMemory`, `memset_s`: one per platform, none in every C
/// library azmi runs on), with the same guarantee. On the architectures azmi does not ship for,
/// `zeroize`.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) fn wipe(bytes: &mut [u8]) {
    // SAFETY: `bytes` is valid for writes of its length.
    unsafe { std::ptr::write_bytes(bytes.as_mut_ptr(), 0, bytes.len()) };
    // SAFETY: an empty block: it reads, writes and jumps nowhere.
    unsafe {
        std::arch::asm!("/* {0} */", in(reg) bytes.as_ptr(), options(nostack, preserves_flags))
    };
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) fn wipe(bytes: &mut [u8]) {
    zeroize::Zeroize::zeroize(bytes);
}

/// Tokens living longer than this are refreshed in the background from half their lifetime.
const LONG_LIVED_SECS: i64 = 2 * 3600;

/// Parses a 200 token response. `now` is the time the request was sent (Unix seconds).
/// The body is never quoted in errors: it may hold a token.
pub(crate) fn parse_token_response(
    body: &[u8],
    requested_resource: &str,
    now: i64,
) -> Result<AccessToken> {
    let json: Value = serde_json::from_slice(body).map_err(|_| {
        Error::Protocol(format!(
            "the token endpoint answered 200 but the body ({} bytes) is not JSON",
            body.len()
        ))
    })?;
    let obj = json.as_object().ok_or_else(|| {
        Error::Protocol("the token endpoint answered 200 but the body is not a JSON object".into())
    })?;
    let field = |name: &str| obj.get(name).filter(|v| !v.is_null());

    let token = match field("access_token") {
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        _ => {
            return Err(Error::Protocol(
                "the token endpoint answered 200 without an access_token".into(),
            ))
        }
    };
    // A bearer token is printable ASCII (RFC 6750 b64token); anything else would corrupt the
    // Authorization header or cut the C string short.
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::Protocol(
            "the access_token contains characters a bearer token cannot have".into(),
        ));
    }
    let token_type = match field("token_type") {
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        _ => "Bearer",
    };
    let resource = match field("resource") {
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        _ => requested_resource,
    };

    let expires_on = match field("expires_on") {
        Some(v) => Some(parse_time(v, now).ok_or_else(|| {
            Error::Protocol("the token response has an expires_on that is not a time".into())
        })?),
        None => None,
    };
    let expires_in = match field("expires_in") {
        Some(v) => Some(parse_time(v, now).ok_or_else(|| {
            Error::Protocol("the token response has an expires_in that is not a number".into())
        })?),
        None => None,
    };
    let expires_on = expires_on.or(expires_in).ok_or_else(|| {
        Error::Protocol("the token response says neither expires_on nor expires_in".into())
    })?;

    let refresh_in = field("refresh_in").and_then(as_seconds);
    let lifetime = expires_on - now;
    let refresh_at = match refresh_in {
        Some(r) if r > 0 => Some(now + r),
        _ if lifetime > LONG_LIVED_SECS => Some(now + lifetime / 2),
        _ => None,
    };
    Ok(AccessToken::new(
        token, token_type, resource, expires_on, refresh_at,
    ))
}

/// A number of seconds, sent as a JSON number or as a string of digits.
fn as_seconds(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

/// An absolute time in Unix seconds from epoch seconds, relative seconds, or a date.
fn parse_time(v: &Value, now: i64) -> Option<i64> {
    if let Some(secs) = as_seconds(v) {
        return Some(if secs < EPOCH_THRESHOLD {
            now + secs
        } else {
            secs
        });
    }
    parse_date(v.as_str()?.trim())
}

/// Dates as token sources write them: RFC 3339, RFC 2822, and App Service 2017's
/// `1/10/2020 8:01:28 AM +00:00`.
fn parse_date(s: &str) -> Option<i64> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp());
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc2822(s) {
        return Some(d.timestamp());
    }
    for fmt in [
        "%m/%d/%Y %I:%M:%S %p %:z",
        "%m/%d/%Y %H:%M:%S %:z",
        "%m/%d/%Y %I:%M:%S %p %z",
    ] {
        if let Ok(d) = chrono::DateTime::parse_from_str(s, fmt) {
            return Some(d.timestamp());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_from_the_payload_of_a_jwt() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let payload = r#"{"tid":"t-1","oid":"o-2","appid":"c-3","xms_mirid":"/subscriptions/s/rg/x","aud":"a"}"#;
        let jwt = format!("{}.{}.sig", b64(r#"{"alg":"none"}"#), b64(payload));
        let claims = TokenClaims::read(&jwt);
        assert_eq!(claims.tenant_id.as_deref(), Some("t-1"));
        assert_eq!(claims.object_id.as_deref(), Some("o-2"));
        assert_eq!(claims.client_id.as_deref(), Some("c-3"));
        assert_eq!(
            claims.identity_resource_id.as_deref(),
            Some("/subscriptions/s/rg/x")
        );
        // v2 tokens name the client `azp`; padding is tolerated.
        let v2 = format!("h.{}==.s", b64(r#"{"azp":"c-4","tid":""}"#));
        let claims = TokenClaims::read(&v2);
        assert_eq!(claims.client_id.as_deref(), Some("c-4"));
        assert_eq!(claims.tenant_id, None);
        for opaque in [
            "",
            "opaque-token",
            "a.!!!.c",
            &format!("a.{}.c", b64("[1]")),
        ] {
            assert_eq!(
                TokenClaims::read(opaque),
                TokenClaims::default(),
                "{opaque}"
            );
        }
    }

    const NOW: i64 = 1_700_000_000;

    fn parse(body: &str) -> Result<AccessToken> {
        parse_token_response(body.as_bytes(), "https://r/", NOW)
    }

    #[test]
    fn imds_all_string_shape() {
        let t = parse(r#"{"access_token":"eyJ0","refresh_token":"","expires_in":"3599","expires_on":"1700003599","not_before":"1699999700","resource":"https://management.azure.com/","token_type":"Bearer"}"#).unwrap();
        assert_eq!(t.secret(), "eyJ0");
        assert_eq!(t.expires_on(), 1_700_003_599);
        assert_eq!(t.resource(), "https://management.azure.com/");
        assert_eq!(t.token_type(), "Bearer");
        assert_eq!(
            t.refresh_at, None,
            "a one-hour token is not refreshed early"
        );
    }

    #[test]
    fn numbers_instead_of_strings() {
        let t = parse(r#"{"access_token":"a","expires_in":3599,"expires_on":1700003599,"token_type":"Bearer"}"#).unwrap();
        assert_eq!(t.expires_on(), 1_700_003_599);
        assert_eq!(
            t.resource(),
            "https://r/",
            "the requested resource when none is echoed"
        );
    }

    #[test]
    fn app_service_2017_date() {
        let t =
            parse(r#"{"access_token":"a","expires_on":"1/10/2020 8:01:28 AM +00:00"}"#).unwrap();
        assert_eq!(t.expires_on(), 1_578_643_288);
        let t =
            parse(r#"{"access_token":"a","expires_on":"12/31/2030 11:59:59 PM +01:00"}"#).unwrap();
        assert_eq!(t.expires_on(), 1_924_988_399);
    }

    #[test]
    fn rfc3339_date() {
        let t = parse(r#"{"access_token":"a","expires_on":"2030-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(t.expires_on(), 1_893_456_000);
    }

    #[test]
    fn only_expires_in_is_relative_to_the_request() {
        let t = parse(r#"{"access_token":"a","expires_in":"3600"}"#).unwrap();
        assert_eq!(t.expires_on(), NOW + 3600);
        let t = parse(r#"{"access_token":"a","expires_in":86400.0}"#).unwrap();
        assert_eq!(t.expires_on(), NOW + 86400);
    }

    #[test]
    fn long_lived_tokens_refresh_at_half_life_or_refresh_in() {
        let t = parse(r#"{"access_token":"a","expires_in":"86400"}"#).unwrap();
        assert_eq!(t.refresh_at, Some(NOW + 43200));
        let t = parse(r#"{"access_token":"a","expires_in":"86400","refresh_in":"600"}"#).unwrap();
        assert_eq!(t.refresh_at, Some(NOW + 600));
        let t = parse(r#"{"access_token":"a","expires_in":7200}"#).unwrap();
        assert_eq!(
            t.refresh_at, None,
            "exactly two hours is not longer than two hours"
        );
    }

    #[test]
    fn bodies_that_are_not_tokens_are_protocol_errors_without_the_body() {
        for body in [
            "<html>hi</html>",
            "[]",
            r#"{"expires_in":"1"}"#,
            r#"{"access_token":"","expires_in":"1"}"#,
            r#"{"access_token":"SECRETXYZ"}"#,
            r#"{"access_token":"SECRETXYZ","expires_on":"tomorrow"}"#,
            r#"{"access_token":"SECRETXYZ","expires_in":{}}"#,
            r#"{"access_token":"SECRET\u0000XYZ","expires_in":"1"}"#,
            r#"{"access_token":"SECRET XYZ","expires_in":"1"}"#,
        ] {
            let e = parse(body).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::ProtocolError, "{body}");
            assert!(!e.to_string().contains("SECRETXYZ"), "{e}");
        }
    }

    #[test]
    fn wipe_zeroes_every_byte() {
        for len in [0, 1, 7, 31, 1733, 4099] {
            let mut bytes: Vec<u8> = (0..len).map(|i| (i % 255) as u8 + 1).collect();
            wipe(&mut bytes[1.min(len)..]);
            assert!(bytes.iter().skip(1).all(|&b| b == 0), "{len}");
            if len > 0 {
                assert_eq!(bytes[0], 1, "only the slice given");
            }
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = AccessToken::new("SECRETXYZ", "Bearer", "r", 1, None);
        let d = format!("{t:?}");
        assert!(!d.contains("SECRETXYZ"));
        assert!(d.contains("redacted"));
        assert_eq!(t.secret_len(), 9);
        assert!(t.texts_with_nuls() == b"SECRETXYZ\0Bearer\0r\0");
        assert_eq!(t.type_and_resource_at(), (10, 17));
        let odd = AccessToken::new("t", "Bea\0rer", "\0r\0", 1, None);
        assert_eq!(odd.token_type(), "Bea\u{FFFD}rer");
        assert_eq!(odd.resource(), "\u{FFFD}r\u{FFFD}");
        assert_eq!(odd.secret(), "t");
    }
}
