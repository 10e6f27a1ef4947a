//! Path-style URLs: Storage clients treat an IP or `localhost` host as path-style, the first
//! path segment naming the account (`https://127.0.0.1:<port>/<account>/<filesystem>/…`, as
//! Azurite serves them). The emulator serves that form beside its host form
//! (`https://127.0.0.1:<port>/<filesystem>/…`, the host standing for the one account) by taking
//! the account segment out before either protocol reads the path. A first segment that is the
//! account's name is the account, so a filesystem of that name is reachable path-style only.

use hyper::http::uri::{PathAndQuery, Uri};

/// `path` without its leading `/<account>` segment (`/` when nothing follows), or `None` when
/// the path is in the host form.
pub(crate) fn strip<'a>(path: &'a str, account: &str) -> Option<&'a str> {
    let rest = path.strip_prefix('/')?.strip_prefix(account)?;
    match rest {
        "" => Some("/"),
        r if r.starts_with('/') => Some(r),
        _ => None,
    }
}

/// The request URI in the host form: unchanged unless it is path-style.
pub(crate) fn host_form(uri: &Uri, account: &str) -> Uri {
    let Some(path) = strip(uri.path(), account) else {
        return uri.clone();
    };
    let target = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    match PathAndQuery::try_from(target) {
        Ok(path_and_query) => parts.path_and_query = Some(path_and_query),
        Err(_) => return uri.clone(),
    }
    Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_account_segment_is_taken_out() {
        assert_eq!(strip("/acct", "acct"), Some("/"));
        assert_eq!(strip("/acct/", "acct"), Some("/"));
        assert_eq!(strip("/acct/fs/a%20b", "acct"), Some("/fs/a%20b"));
        assert_eq!(strip("/acctx/fs", "acct"), None);
        assert_eq!(strip("/fs/acct", "acct"), None);
        assert_eq!(strip("/", "acct"), None);
        let uri: Uri = "/acct/fs/dir?resource=filesystem&recursive=true"
            .parse()
            .unwrap();
        assert_eq!(
            host_form(&uri, "acct").to_string(),
            "/fs/dir?resource=filesystem&recursive=true"
        );
        let uri: Uri = "/fs/dir?x=1".parse().unwrap();
        assert_eq!(host_form(&uri, "acct"), uri);
    }
}
