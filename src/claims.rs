//! Claims for token requests and client capabilities: continuous access evaluation (CAE).
//!
//! A resource that revokes a token, or wants more of it, answers 401 with a claims challenge
//! (`../shared/azure-protocols.md` §12). The client asks for a new token carrying those claims,
//! once. A client that can do so declares the capability `cp1`, and then gets tokens the
//! resource may revoke at any time. [`Claims`] holds a challenge's claims (given as JSON or in
//! the challenge's base64 form); [`parse_capabilities`] checks capability names.
//!
//! Claims are not secret (they say which token is wanted, not who asks), so they may appear in
//! messages and logs; the token they replace, and its hash, never do.

use std::fmt;
use std::sync::Arc;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::token::AccessToken;

/// The longest claims accepted (a challenge's are a few hundred bytes).
pub const MAX_CLAIMS_LEN: usize = 16 * 1024;
/// The most client capabilities an identity may declare (Entra ID knows `cp1`).
pub const MAX_CAPABILITIES: usize = 16;
/// The longest capability name.
const MAX_CAPABILITY_LEN: usize = 64;

/// The capability of a client that answers claims challenges: what azmi's own service calls
/// declare.
pub const CP1: &str = "cp1";

/// The claims a token request asks for: a JSON object such as
/// `{"access_token":{"nbf":{"essential":true,"value":"1767225600"}}}`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Claims(Arc<str>);

impl Claims {
    /// Claims given as a JSON object, or in the base64 form of a challenge's `claims="…"`
    /// (standard or URL-safe alphabet, with or without padding). Anything else is an invalid
    /// argument, said before anything is sent.
    pub fn parse(text: &str) -> Result<Claims> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::InvalidArgument(
                "the claims are empty; give a claims challenge's claims (JSON, or base64 as the challenge sends them), or no claims at all".into(),
            ));
        }
        if text.len() > MAX_CLAIMS_LEN {
            return Err(Error::InvalidArgument(format!(
                "the claims are {} bytes long; a claims challenge's claims are at most {MAX_CLAIMS_LEN}",
                text.len()
            )));
        }
        let json = if text.starts_with('{') {
            text.to_owned()
        } else {
            decode_base64(text).ok_or_else(|| not_claims(text))?
        };
        match serde_json::from_str::<Value>(&json) {
            Ok(Value::Object(_)) => Ok(Claims(json.trim().into())),
            _ => Err(not_claims(text)),
        }
    }

    /// The claims as JSON text (decoded when they were given in base64).
    pub fn json(&self) -> &str {
        &self.0
    }

    /// The claims to send to Entra ID with `capabilities` merged in (`access_token.xms_cc`),
    /// as MSAL merges them; the claims alone without capabilities, `None` with neither.
    pub(crate) fn merged(claims: Option<&Claims>, capabilities: &[String]) -> Option<String> {
        if capabilities.is_empty() {
            return claims.map(|c| c.json().to_owned());
        }
        let mut root = claims
            .and_then(|c| serde_json::from_str::<Map<String, Value>>(c.json()).ok())
            .unwrap_or_default();
        let access = root
            .entry("access_token")
            .or_insert_with(|| Value::Object(Map::new()));
        if !access.is_object() {
            *access = Value::Object(Map::new());
        }
        let xms_cc = access
            .as_object_mut()
            .expect("made an object above")
            .entry("xms_cc")
            .or_insert_with(|| serde_json::json!({ "values": [] }));
        let mut values: Vec<Value> = xms_cc
            .get("values")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for cap in capabilities {
            if !values.iter().any(|v| v.as_str() == Some(cap)) {
                values.push(Value::String(cap.clone()));
            }
        }
        *xms_cc = serde_json::json!({ "values": values });
        Some(Value::Object(root).to_string())
    }
}

impl fmt::Display for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Claims({})", self.0)
    }
}

fn not_claims(text: &str) -> Error {
    Error::InvalidArgument(format!(
        "the claims '{}' are neither a JSON object nor the base64 form of one; give them as a claims challenge sends them (claims=\"eyJhY2Nlc3NfdG9rZW4iOnsi…\") or as JSON ({{\"access_token\":{{…}}}})",
        crate::identity::printable(text)
    ))
}

/// Base64 in either alphabet, padded or not, that decodes to UTF-8.
fn decode_base64(text: &str) -> Option<String> {
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let engines = [
        GeneralPurpose::new(&base64::alphabet::STANDARD, config),
        GeneralPurpose::new(&base64::alphabet::URL_SAFE, config),
    ];
    engines
        .iter()
        .find_map(|e| e.decode(text).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Checks and deduplicates capability names (`cp1`): letters, digits, `-`, `_` and `.`, in the
/// order given. An empty list declares none.
pub(crate) fn parse_capabilities<S: AsRef<str>>(names: &[S]) -> Result<Arc<[String]>> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let name = name.as_ref().trim();
        let ok = !name.is_empty()
            && name.len() <= MAX_CAPABILITY_LEN
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            return Err(Error::InvalidArgument(format!(
                "'{}' is not a client capability; give names such as cp1 (letters, digits, '-', '_' or '.'), e.g. \"cp1\" or \"cp1,cp2\"",
                crate::identity::printable(name)
            )));
        }
        if !out.iter().any(|c| c == name) {
            out.push(name.to_owned());
        }
    }
    if out.len() > MAX_CAPABILITIES {
        return Err(Error::InvalidArgument(format!(
            "{} client capabilities were given; at most {MAX_CAPABILITIES} are accepted",
            out.len()
        )));
    }
    Ok(out.into())
}

/// The lowercase hex SHA-256 of a token's text: App Service's and Service Fabric's
/// `token_sha256_to_refresh`, naming the token their cache must not serve again. Wiped when
/// dropped, and never shown.
pub(crate) fn token_sha256_hex(token: &AccessToken) -> Zeroizing<String> {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.secret().as_bytes());
    let mut hex = Zeroizing::new(String::with_capacity(64));
    for b in digest.as_ref() {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    const JSON: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1767225600"}}}"#;

    #[test]
    fn claims_are_taken_as_json_or_in_either_base64_form() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        assert_eq!(Claims::parse(JSON).unwrap().json(), JSON);
        assert_eq!(Claims::parse(&format!("  {JSON}\n")).unwrap().json(), JSON);
        assert_eq!(Claims::parse(&STANDARD.encode(JSON)).unwrap().json(), JSON);
        assert_eq!(
            Claims::parse(&URL_SAFE_NO_PAD.encode(JSON)).unwrap().json(),
            JSON
        );
        // '?' and '>' make '/' and '+' (or '_' and '-') appear in the base64 text.
        let odd = r#"{"access_token":{"acrs":{"essential":true,"value":"c1??>>"}}}"#;
        assert_eq!(Claims::parse(&STANDARD.encode(odd)).unwrap().json(), odd);
        assert_eq!(
            Claims::parse(&URL_SAFE_NO_PAD.encode(odd)).unwrap().json(),
            odd
        );
    }

    #[test]
    fn anything_else_is_an_invalid_argument_that_says_what_to_give() {
        use base64::engine::general_purpose::STANDARD;
        let too_long = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_CLAIMS_LEN));
        for bad in [
            "",
            "   ",
            "not claims",
            "{not json",
            "[1,2]",
            "\"text\"",
            &STANDARD.encode("[1]"),
            &STANDARD.encode("not json"),
            &STANDARD.encode([0xff, 0xfe, 0x00]),
            &too_long,
        ] {
            let e = Claims::parse(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}");
            assert!(e.to_string().len() < 500, "{e}");
        }
        let e = Claims::parse("nope").unwrap_err();
        assert!(e.to_string().contains("base64"), "{e}");
    }

    #[test]
    fn capabilities_merge_into_the_access_token_claims() {
        let caps = vec!["cp1".to_owned()];
        assert_eq!(Claims::merged(None, &[]), None);
        assert_eq!(
            Claims::merged(None, &caps).unwrap(),
            r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#
        );
        let claims = Claims::parse(JSON).unwrap();
        assert_eq!(Claims::merged(Some(&claims), &[]).unwrap(), JSON);
        let merged: Value =
            serde_json::from_str(&Claims::merged(Some(&claims), &caps).unwrap()).unwrap();
        assert_eq!(merged["access_token"]["nbf"]["value"], "1767225600");
        assert_eq!(
            merged["access_token"]["xms_cc"]["values"],
            serde_json::json!(["cp1"])
        );
        let already =
            Claims::parse(r#"{"access_token":{"xms_cc":{"values":["cp1","x"]}}}"#).unwrap();
        let merged: Value =
            serde_json::from_str(&Claims::merged(Some(&already), &caps).unwrap()).unwrap();
        assert_eq!(
            merged["access_token"]["xms_cc"]["values"],
            serde_json::json!(["cp1", "x"])
        );
    }

    #[test]
    fn capability_names_are_checked_and_deduplicated() {
        assert_eq!(
            &*parse_capabilities(&["cp1", " cp2 ", "cp1"]).unwrap(),
            ["cp1", "cp2"]
        );
        assert!(parse_capabilities::<&str>(&[]).unwrap().is_empty());
        for bad in ["", "cp 1", "cp1,cp2", "cp1;", "é"] {
            let e = parse_capabilities(&[bad]).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_CAPABILITIES).map(|i| format!("c{i}")).collect();
        assert!(parse_capabilities(&many).is_err());
    }

    #[test]
    fn the_hash_is_lowercase_hex_sha256_of_the_token_text() {
        let t = AccessToken::new("abc", "Bearer", "r", 1, None);
        assert_eq!(
            token_sha256_hex(&t).as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
