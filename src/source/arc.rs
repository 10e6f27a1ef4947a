//! Azure Arc-enabled servers: `GET IDENTITY_ENDPOINT` (api-version 2020-06-01, `Metadata:
//! true`) answers 401 with `WWW-Authenticate: Basic realm=<key file>`; the key file proves the
//! caller may read the agent's folder, and is sent back as `Authorization: Basic <key>`.
//!
//! The endpoint names a file for azmi to read, so the name is checked before anything is read:
//! it must end in `.key`, be (after resolving links) directly in the agent's key folder, and be
//! a file of at most 4096 bytes. Anything else is an error that says why.

use std::io::Read;
use std::path::{Path, PathBuf};

use reqwest::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use zeroize::Zeroizing;

use super::exchange::{self, Answer, Attempt, Ctx, SendError};
use crate::error::{Error, Result};

pub(crate) const API_VERSION: &str = "2020-06-01";
/// The largest key file read (the agent's are a few dozen bytes).
pub const MAX_KEY_FILE: u64 = 4096;

pub(super) async fn attempt(
    ctx: &Ctx<'_>,
    http: &reqwest::Client,
    endpoint: &url::Url,
    tokens_dir: Option<&Path>,
) -> Attempt {
    let mut url = endpoint.clone();
    url.query_pairs_mut()
        .append_pair("api-version", API_VERSION)
        .append_pair("resource", ctx.resource);
    let request = || {
        http.get(url.clone())
            .header("Metadata", "true")
            .timeout(ctx.timeout)
    };
    let sent_at = chrono::Utc::now().timestamp();
    let challenge = match send(ctx, request()).await {
        Ok(answer) if answer.status == 401 => answer,
        Ok(answer) => return exchange::finish(ctx, &answer, sent_at),
        Err(outcome) => return outcome,
    };
    let key = match challenge_key(&challenge, tokens_dir) {
        Ok(key) => key,
        Err(e) => return Attempt::Fatal(e),
    };
    let sent_at = chrono::Utc::now().timestamp();
    match send(ctx, request().header(AUTHORIZATION, key)).await {
        Ok(answer) => exchange::finish(ctx, &answer, sent_at),
        Err(outcome) => outcome,
    }
}

async fn send(
    ctx: &Ctx<'_>,
    request: reqwest::RequestBuilder,
) -> std::result::Result<Answer, Attempt> {
    exchange::send(request).await.map_err(|e| match e {
        SendError::TooLong => Attempt::Fatal(exchange::too_long(ctx)),
        SendError::Transport(e) => exchange::transport_failure(ctx, &e),
    })
}

/// The `Authorization` value for a 401 challenge: the checked key file's contents.
fn challenge_key(answer: &Answer, tokens_dir: Option<&Path>) -> Result<HeaderValue> {
    let header = answer
        .headers
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            Error::Protocol(
                "the Azure Arc endpoint answered 401 without a WWW-Authenticate challenge naming its key file".into(),
            )
        })?;
    let path = realm_path(header)?;
    let dir = tokens_dir.ok_or_else(|| {
        Error::InvalidArgument(
            "Azure Arc is not supported on this platform: there is no agent key folder to take key files from".into(),
        )
    })?;
    let file = checked_key_file(&path, dir)?;
    let key = read_key(&file)?;
    let mut value = HeaderValue::from_str(&format!("Basic {}", key.as_str())).map_err(|_| {
        Error::Protocol(format!(
            "the Azure Arc key file {} holds characters a header cannot carry",
            file.display()
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// The file of `Basic realm=<path>` (quoted or not).
fn realm_path(header: &str) -> Result<PathBuf> {
    let bad = || {
        Error::Protocol(format!(
            "the Azure Arc endpoint's challenge '{}' is not 'Basic realm=<key file>'",
            crate::identity::printable(header)
        ))
    };
    let (scheme, rest) = header
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let rest = rest.trim_start();
    let value = rest
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("realm="))
        .map(|_| &rest[6..])
        .ok_or_else(bad)?;
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if value.is_empty() {
        return Err(bad());
    }
    Ok(PathBuf::from(value))
}

/// The key file, after checking that it may be read: a `.key` file directly in `dir` (links
/// resolved), of at most [`MAX_KEY_FILE`] bytes. Each refusal says why.
pub(crate) fn checked_key_file(path: &Path, dir: &Path) -> Result<PathBuf> {
    let refuse = |why: String| {
        Error::Insecure(format!(
            "azmi did not read the key file {} the Azure Arc endpoint named: {why}",
            path.display()
        ))
    };
    if !path.is_absolute() {
        return Err(refuse("it is not an absolute path".into()));
    }
    let is_key = |p: &Path| p.extension().is_some_and(|e| e == "key");
    if !is_key(path) {
        return Err(refuse("its name does not end in .key".into()));
    }
    let folder = dir.canonicalize().map_err(|e| {
        Error::Io(format!(
            "the Azure Arc key folder {} cannot be opened: {e}",
            dir.display()
        ))
    })?;
    let real = path
        .canonicalize()
        .map_err(|e| refuse(format!("it cannot be found ({e})")))?;
    if real.parent() != Some(folder.as_path()) {
        // The folder as configured, not canonical (on Windows that is the \\?\ form).
        return Err(refuse(format!(
            "it is not in the agent's key folder {}",
            dir.display()
        )));
    }
    if !is_key(&real) {
        return Err(refuse(
            "it leads to a file whose name does not end in .key".into(),
        ));
    }
    let meta =
        std::fs::metadata(&real).map_err(|e| refuse(format!("it cannot be examined ({e})")))?;
    if !meta.is_file() {
        return Err(refuse("it is not a file".into()));
    }
    if meta.len() > MAX_KEY_FILE {
        return Err(refuse(format!(
            "it is {} bytes long, more than the {MAX_KEY_FILE} bytes a key file has",
            meta.len()
        )));
    }
    Ok(real)
}

/// Reads a checked key file (at most [`MAX_KEY_FILE`] bytes, even if it grew meanwhile) into
/// memory that is wiped when dropped.
fn read_key(file: &Path) -> Result<Zeroizing<String>> {
    let cannot = |e: std::io::Error| {
        Error::Io(format!(
            "the Azure Arc key file {} could not be read: {e} (on Linux the user must be in the himds group; on Windows an administrator or in 'Hybrid agent extension applications')",
            file.display()
        ))
    };
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE as usize + 1));
    std::fs::File::open(file)
        .map_err(cannot)?
        .take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(Error::Insecure(format!(
            "the Azure Arc key file {} grew past {MAX_KEY_FILE} bytes while it was read; it was not used",
            file.display()
        )));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Error::Protocol(format!(
            "the Azure Arc key file {} is not text",
            file.display()
        ))
    })?;
    let key = text.trim();
    if key.is_empty() {
        return Err(Error::Protocol(format!(
            "the Azure Arc key file {} is empty",
            file.display()
        )));
    }
    Ok(Zeroizing::new(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_is_read_quoted_or_not() {
        assert_eq!(
            realm_path("Basic realm=/var/opt/azcmagent/tokens/a.key").unwrap(),
            PathBuf::from("/var/opt/azcmagent/tokens/a.key")
        );
        assert_eq!(
            realm_path("basic  Realm=\"/t/a b.key\"").unwrap(),
            PathBuf::from("/t/a b.key")
        );
        for bad in [
            "",
            "Basic",
            "Bearer realm=/t/a.key",
            "Basic realm=",
            "Basic x=/t/a.key",
        ] {
            assert_eq!(
                realm_path(bad).unwrap_err().code(),
                crate::ErrorCode::ProtocolError,
                "{bad}"
            );
        }
    }
}
