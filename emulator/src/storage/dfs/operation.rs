//! A request parsed: what it addresses, its query parameters and the headers that carry
//! numbers, ranges, modes and continuation tokens.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hyper::header::{HeaderValue, CONTENT_LENGTH};
use hyper::HeaderMap;
use percent_encoding::percent_decode_str;

use super::errors::{
    StorageError, INVALID_QUERY, INVALID_RESOURCE_NAME, INVALID_SOURCE_URI, INVALID_URI,
    MISSING_QUERY,
};
use crate::common::config::is_valid_filesystem_name;
use crate::common::util::parse_bool;
use crate::storage::path_style;
use crate::storage::store::{self, Key};

const MAX_RESULTS: usize = 5000;

/// Prefix of this emulator's continuation tokens (opaque to clients, like the service's).
const TOKEN_PREFIX: &str = "azmi1:";

/// Query parameters. Names are matched case-insensitively; values are form-decoded (`+` is a
/// space), as the service decodes them.
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    pub(super) fn parse(query: &str) -> Params {
        Params(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
                .collect(),
        )
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn flag(&self, name: &str) -> Result<Option<bool>, StorageError> {
        self.get(name)
            .map(|v| parse_bool(v).ok_or(INVALID_QUERY))
            .transpose()
    }

    pub(super) fn required_number(&self, name: &str) -> Result<u64, StorageError> {
        self.get(name)
            .ok_or(MISSING_QUERY)?
            .parse()
            .map_err(|_| INVALID_QUERY)
    }
}

/// What a request addresses.
pub(super) enum Target {
    Account,
    Filesystem(String),
    Path(String, Key),
}

/// `YYYY-MM-DD`, the shape of every Storage service version.
pub(super) fn is_version(value: &HeaderValue) -> bool {
    let b = value.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

pub(super) fn parse_target(raw_path: &str) -> Result<Target, StorageError> {
    let decoded = percent_decode_str(raw_path)
        .decode_utf8()
        .map_err(|_| INVALID_URI)?;
    let trimmed = decoded.trim_start_matches('/');
    let (fs_name, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    if fs_name.is_empty() {
        return Ok(Target::Account);
    }
    if !is_valid_filesystem_name(fs_name) {
        return Err(INVALID_RESOURCE_NAME);
    }
    let key = store::parse_path(rest).ok_or(INVALID_URI)?;
    if key.is_empty() {
        Ok(Target::Filesystem(fs_name.to_string()))
    } else {
        Ok(Target::Path(fs_name.to_string(), key))
    }
}

/// `x-ms-rename-source: /<filesystem>/<path>[?<sas>]`, percent-encoded (a `+` stays a `+`), or
/// path-style `/<account>/<filesystem>/<path>` (the JavaScript SDK sends its source URL's path).
pub(super) fn parse_rename_source(
    value: &HeaderValue,
    account: &str,
) -> Result<(String, Key), StorageError> {
    let text = value.to_str().map_err(|_| INVALID_SOURCE_URI)?;
    let path = text.split('?').next().unwrap_or_default();
    let path = path_style::strip(path, account).unwrap_or(path);
    let decoded = percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| INVALID_SOURCE_URI)?;
    let rest = decoded.strip_prefix('/').ok_or(INVALID_SOURCE_URI)?;
    let (fs_name, path) = rest.split_once('/').ok_or(INVALID_SOURCE_URI)?;
    let key = store::parse_path(path).ok_or(INVALID_SOURCE_URI)?;
    if key.is_empty() {
        return Err(INVALID_SOURCE_URI);
    }
    Ok((fs_name.to_string(), key))
}

pub(super) fn acl_path(fs_name: &str, key: &[String]) -> String {
    if key.is_empty() {
        format!("/{fs_name}")
    } else {
        format!("/{fs_name}/{}", key.join("/"))
    }
}

pub(super) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

pub(super) fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `rwxr-x---` from a mode.
pub(super) fn symbolic(mode: u32) -> String {
    let mut s = String::with_capacity(9);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// A mode from `x-ms-permissions`/`x-ms-umask`: symbolic (`rwxr-x---`) or octal (`0750`).
pub(super) fn parse_mode(value: &str) -> Option<u32> {
    if value.len() == 9 && value.chars().all(|c| "rwx-".contains(c)) {
        let mut mode = 0;
        for (i, c) in value.chars().enumerate() {
            if c != '-' && "rwx".chars().nth(i % 3) == Some(c) {
                mode |= 1 << (8 - i);
            } else if c != '-' {
                return None;
            }
        }
        return Some(mode);
    }
    if (3..=4).contains(&value.len()) {
        return u32::from_str_radix(value, 8).ok().map(|m| m & 0o777);
    }
    None
}

/// `bytes=a-b` or `bytes=a-` (Storage supports no suffix ranges or lists); anything else is no
/// range at all.
pub(super) fn parse_range(value: &str) -> Option<(u64, Option<u64>)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end = match end.trim() {
        "" => None,
        e => Some(e.parse::<u64>().ok()?),
    };
    if end.is_some_and(|e| e < start) {
        return None;
    }
    Some((start, end))
}

pub(super) fn encode_token(key: &[String]) -> String {
    STANDARD.encode(format!("{TOKEN_PREFIX}{}", key.join("/")))
}

pub(super) fn decode_token(token: &str) -> Option<Key> {
    let bytes = STANDARD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let path = text.strip_prefix(TOKEN_PREFIX)?;
    store::parse_path(path)
}

pub(super) fn max_results(params: &Params) -> Result<usize, StorageError> {
    match params.get("maxResults") {
        None => Ok(MAX_RESULTS),
        Some(v) => match v.parse::<usize>() {
            Ok(0) | Err(_) => Err(INVALID_QUERY),
            Ok(n) => Ok(n.min(MAX_RESULTS)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9"), Some((0, Some(9))));
        assert_eq!(parse_range("bytes=5-"), Some((5, None)));
        assert_eq!(parse_range("bytes=-5"), None);
        assert_eq!(parse_range("bytes=9-0"), None);
        assert_eq!(parse_range("items=0-1"), None);
    }

    #[test]
    fn modes() {
        assert_eq!(parse_mode("rwxr-x---"), Some(0o750));
        assert_eq!(parse_mode("0640"), Some(0o640));
        assert_eq!(parse_mode("rwxrwxrwz"), None);
        assert_eq!(parse_mode("xwr------"), None);
        assert_eq!(symbolic(0o640), "rw-r-----");
    }

    #[test]
    fn tokens_round_trip() {
        let key = store::parse_path("a b/c+d/é").unwrap();
        assert_eq!(decode_token(&encode_token(&key)), Some(key));
        assert_eq!(decode_token("not base64!"), None);
        assert_eq!(decode_token(&STANDARD.encode("other")), None);
    }

    #[test]
    fn targets_and_sources() {
        assert!(matches!(parse_target("/"), Ok(Target::Account)));
        assert!(matches!(parse_target("/fs"), Ok(Target::Filesystem(n)) if n == "fs"));
        assert!(matches!(parse_target("/fs/"), Ok(Target::Filesystem(_))));
        match parse_target("/fs/a%20b/c+d%23") {
            Ok(Target::Path(fs, key)) => {
                assert_eq!(fs, "fs");
                assert_eq!(key, vec!["a b", "c+d#"]);
            }
            _ => panic!("not a path"),
        }
        assert!(parse_target("/FS/x").is_err());
        let (fs, key) =
            parse_rename_source(&HeaderValue::from_static("/fs/a%20b/c+d?sv=1"), "acct").unwrap();
        assert_eq!(
            (fs.as_str(), key),
            ("fs", vec!["a b".to_string(), "c+d".into()])
        );
        assert!(parse_rename_source(&HeaderValue::from_static("fs/a"), "acct").is_err());
        let (fs, key) =
            parse_rename_source(&HeaderValue::from_static("/acct/fs/a"), "acct").unwrap();
        assert_eq!((fs.as_str(), key), ("fs", vec!["a".to_string()]));
    }

    #[test]
    fn versions() {
        assert!(is_version(&HeaderValue::from_static("2023-11-03")));
        assert!(!is_version(&HeaderValue::from_static("2023-11-3")));
        assert!(!is_version(&HeaderValue::from_static("latest")));
    }
}
