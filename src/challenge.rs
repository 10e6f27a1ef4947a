//! `WWW-Authenticate: Bearer …` challenges, as Azure services send them in a 401: Key Vault's
//! discovery challenge (`authorization="…", resource="…"`, read by `keyvault.rs`) and the
//! claims challenge of continuous access evaluation (`error="insufficient_claims"` or
//! `"invalid_token"`, `claims="<base64 JSON>"`, read by `service.rs`).

use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};

use crate::claims::Claims;

/// The parameters of one `Bearer` challenge.
pub(crate) struct BearerChallenge {
    params: Vec<(String, String)>,
}

impl BearerChallenge {
    /// The challenge of a header value that begins with `Bearer` (any case); `None` otherwise.
    pub(crate) fn parse(header: &str) -> Option<BearerChallenge> {
        let rest = header.trim_start();
        if rest.len() < 6 || !rest.is_char_boundary(6) || !rest[..6].eq_ignore_ascii_case("bearer")
        {
            return None;
        }
        Some(BearerChallenge {
            params: params(&rest[6..]),
        })
    }

    /// The first non-empty value of `key` (compared without case).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(key) && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

/// The claims a 401 answer's `Bearer` challenge asks for, when it carries a `claims` parameter
/// that reads as claims (base64 JSON). A challenge without one (Key Vault's discovery
/// challenge, a plain `invalid_token`) is `None`, and so is one whose claims cannot be read:
/// that answer is then an ordinary 401.
pub(crate) fn claims_challenge(headers: &HeaderMap) -> Option<Claims> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(BearerChallenge::parse)
        .find_map(|c| {
            let text = c.get("claims")?;
            match Claims::parse(text) {
                Ok(claims) => Some(claims),
                Err(e) => {
                    log::debug!("a claims challenge's claims were not used: {e}");
                    None
                }
            }
        })
}

/// `key="value", key=value …` (commas optional, as services write them both ways).
fn params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ','))
            .collect::<String>()
            .trim()
            .to_owned();
        if key.is_empty() {
            return out;
        }
        if chars.next_if_eq(&'=').is_none() {
            continue;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        } else {
            value.extend(std::iter::from_fn(|| {
                chars.next_if(|c| !c.is_whitespace() && *c != ',')
            }));
        }
        out.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const CLAIMS: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1767225600"}}}"#;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(WWW_AUTHENTICATE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn b64(s: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn the_claims_of_every_services_challenge_are_read() {
        // Entra ID's documented form (Key Vault, Storage).
        let doc = format!(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="{}""#,
            b64(CLAIMS)
        );
        assert_eq!(claims_challenge(&headers(&[&doc])).unwrap().json(), CLAIMS);
        // Resource Manager's revoked session, unquoted and padded.
        let arm = format!(
            r#"Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="User session has been revoked", claims={}"#,
            b64(CLAIMS)
        );
        assert_eq!(claims_challenge(&headers(&[&arm])).unwrap().json(), CLAIMS);
        // Among several challenges.
        let two = headers(&["PoP nonce=\"x\"", &doc]);
        assert!(claims_challenge(&two).is_some());
    }

    #[test]
    fn challenges_without_usable_claims_are_not_claims_challenges() {
        for h in [
            r#"Bearer authorization="https://login.windows.net/t", resource="https://vault.azure.net""#,
            r#"Bearer error="invalid_token""#,
            r#"Bearer claims="not base64 json""#,
            r#"Bearer claims="""#,
            "Basic realm=x",
        ] {
            assert!(claims_challenge(&headers(&[h])).is_none(), "{h}");
        }
    }

    #[test]
    fn parameters_quoted_or_not_with_or_without_commas() {
        let c = BearerChallenge::parse(r#"bearer a="x, y" b=z,c="q\"uote""#).unwrap();
        assert_eq!(c.get("A"), Some("x, y"));
        assert_eq!(c.get("b"), Some("z"));
        assert_eq!(c.get("c"), Some("q\"uote"));
        assert_eq!(c.get("d"), None);
        assert!(BearerChallenge::parse("Basic realm=x").is_none());
        assert!(BearerChallenge::parse("Bé").is_none());
    }
}
