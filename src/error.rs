//! Typed errors of the core. Every error knows its [`ErrorCode`] (the stable number the C ABI,
//! .NET and PowerShell see), the HTTP status and the service's own error code when a service
//! answered, and a message for people. Messages never contain tokens or secrets: bodies of
//! successful responses are never quoted, and service error descriptions are cut short.

use std::fmt;

/// Writes `ErrorCode` from the status table (src/status.rs): every row but `Ok`.
macro_rules! error_code_enum {
    (Ok = 0, $ok:ident, $ok_doc:literal; $($name:ident = $value:literal, $c:ident, $doc:literal;)*) => {
        /// The stable error codes of azmi. The numbers are part of the C ABI (`azmi_status`) and
        /// must never be renumbered; new codes are added at the end (of src/status.rs).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum ErrorCode {
            $(#[doc = $doc] $name = $value,)*
        }

        impl ErrorCode {
            /// Every code, in the order of their numbers.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name),*];

            /// The name used for .NET exception codes and PowerShell ErrorIds (`AzMi.<name>`).
            pub fn name(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => stringify!($name),)*
                }
            }
        }
    };
}

status_table!(error_code_enum);

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a service said when it refused a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceFailure {
    /// The HTTP status.
    pub status: u16,
    /// The service's error code (`invalid_request`, `PathNotFound`, …), when it gave one.
    pub code: Option<String>,
    /// The service's description, cut to a readable length.
    pub description: String,
}

/// An error of the core.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    #[error("the operation was cancelled")]
    Cancelled,

    #[error(
        "no managed identity endpoint answered at {endpoint} ({detail}); this machine has no managed identity, or the endpoint is unreachable. Set AZMI_IMDS_ENDPOINT to use another endpoint (e.g. azmi-emulator)"
    )]
    ManagedIdentityUnavailable { endpoint: String, detail: String },

    #[error(
        "identity not found: {identity} is not assigned to this machine (the endpoint answered: {})",
        .failure.description
    )]
    IdentityNotFound {
        identity: String,
        failure: ServiceFailure,
    },

    #[error("Entra ID does not know the resource '{resource}': {}", .failure.description)]
    InvalidResource {
        resource: String,
        failure: ServiceFailure,
    },

    #[error("{context}: {} (HTTP {}{})", .failure.description, .failure.status, code_suffix(&.failure.code))]
    Service {
        code: ErrorCode,
        context: String,
        failure: ServiceFailure,
    },

    /// A service's claims challenge (continuous access evaluation) that azmi could not
    /// answer: it came again after one answer with a new token, or the request could not be
    /// repeated. `claims` is what the service asked for.
    #[error("{context}: {} (HTTP {}{}); the service asks for a token with the claims {claims}", .failure.description, .failure.status, code_suffix(&.failure.code))]
    ClaimsChallenge {
        context: String,
        failure: ServiceFailure,
        claims: crate::claims::Claims,
    },

    #[error("{0}")]
    Timeout(String),

    #[error("unexpected response: {0}")]
    Protocol(String),

    #[error("{0}")]
    Network(String),

    /// A local file could not be read or written.
    #[error("{0}")]
    Io(String),

    /// Something exists already that the operation would replace (e.g. a local file).
    #[error("{0}")]
    AlreadyExists(String),

    /// azmi refused to send a token somewhere unsafe.
    #[error("{0}")]
    Insecure(String),

    #[error("{0}")]
    Runtime(String),

    /// A proxy asked for credentials, refused the request, or could not be reached; `status`
    /// is the proxy's answer (407, 403, 502…), when it gave one.
    #[error("{message}")]
    Proxy {
        message: String,
        status: Option<u16>,
    },

    #[error("internal error: {0}")]
    Internal(String),
}

fn code_suffix(code: &Option<String>) -> String {
    match code {
        Some(c) => format!(", {c}"),
        None => String::new(),
    }
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::Cancelled => ErrorCode::Cancelled,
            Error::ManagedIdentityUnavailable { .. } => ErrorCode::ManagedIdentityUnavailable,
            Error::IdentityNotFound { .. } => ErrorCode::IdentityNotFound,
            Error::InvalidResource { .. } => ErrorCode::InvalidResource,
            Error::Service { code, .. } => *code,
            Error::ClaimsChallenge { .. } => ErrorCode::ClaimsChallenge,
            Error::Timeout(_) => ErrorCode::Timeout,
            Error::Protocol(_) => ErrorCode::ProtocolError,
            Error::Network(_) => ErrorCode::NetworkError,
            Error::Io(_) => ErrorCode::IoError,
            Error::AlreadyExists(_) => ErrorCode::Conflict,
            Error::Insecure(_) => ErrorCode::InsecureRequest,
            Error::Runtime(_) => ErrorCode::RuntimeError,
            Error::Proxy { .. } => ErrorCode::ProxyError,
            Error::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// What the service answered, when one did.
    pub fn service_failure(&self) -> Option<&ServiceFailure> {
        match self {
            Error::IdentityNotFound { failure, .. }
            | Error::InvalidResource { failure, .. }
            | Error::Service { failure, .. }
            | Error::ClaimsChallenge { failure, .. } => Some(failure),
            _ => None,
        }
    }

    /// The claims a service's claims challenge asks for ([`ErrorCode::ClaimsChallenge`]): ask
    /// for a token with them (e.g. [`crate::Azmi::get_token_with_claims`]) and try again.
    pub fn claims(&self) -> Option<&crate::claims::Claims> {
        match self {
            Error::ClaimsChallenge { claims, .. } => Some(claims),
            _ => None,
        }
    }

    /// The HTTP status the service (or the proxy) answered with, when one did.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Proxy { status, .. } => *status,
            _ => self.service_failure().map(|f| f.status),
        }
    }

    /// The service's own error code (e.g. `invalid_request`), when it gave one.
    pub fn service_code(&self) -> Option<&str> {
        self.service_failure().and_then(|f| f.code.as_deref())
    }

    /// The same error with `context` (what was being done) put before its message; the code,
    /// HTTP status and service code stay. Errors whose message is fixed are returned as they are.
    /// When the message already begins with what `context` begins with (the operation, e.g.
    /// "uploading 'a' to b" before "uploading 'a' to b stopped after …"), that beginning is not
    /// said twice.
    pub(crate) fn within(self, context: &str) -> Error {
        let put = |m: String| match without_shared_start(context, &m) {
            "" => context.to_owned(),
            rest => format!("{context}: {rest}"),
        };
        match self {
            Error::Service {
                code,
                context: c,
                failure,
            } => Error::Service {
                code,
                context: put(c),
                failure,
            },
            Error::ClaimsChallenge {
                context: c,
                failure,
                claims,
            } => Error::ClaimsChallenge {
                context: put(c),
                failure,
                claims,
            },
            Error::InvalidArgument(m) => Error::InvalidArgument(put(m)),
            Error::Timeout(m) => Error::Timeout(put(m)),
            Error::Protocol(m) => Error::Protocol(put(m)),
            Error::Network(m) => Error::Network(put(m)),
            Error::Io(m) => Error::Io(put(m)),
            Error::AlreadyExists(m) => Error::AlreadyExists(put(m)),
            Error::Insecure(m) => Error::Insecure(put(m)),
            Error::Runtime(m) => Error::Runtime(put(m)),
            Error::Proxy { message, status } => Error::Proxy {
                message: put(message),
                status,
            },
            Error::Internal(m) => Error::Internal(put(m)),
            other @ (Error::Cancelled
            | Error::ManagedIdentityUnavailable { .. }
            | Error::IdentityNotFound { .. }
            | Error::InvalidResource { .. }) => other,
        }
    }
}

/// `message` without a leading `start` (and the ": " after it) where `start` is a
/// word-aligned beginning of `context` (the longest such, of at least 8 characters): the
/// operation both name. "" when the message is just that operation (or that it failed).
fn without_shared_start<'a>(context: &str, message: &'a str) -> &'a str {
    let word_ends: Vec<usize> = context
        .match_indices(' ')
        .map(|(i, _)| i)
        .chain(std::iter::once(context.len()))
        .collect();
    // Longest first: the first beginning that the message repeats is the whole operation.
    word_ends
        .into_iter()
        .rev()
        .filter(|&end| end >= 8)
        .filter_map(|end| {
            let rest = message.strip_prefix(&context[..end])?;
            // "uploading x failed" says nothing that "uploading x stopped after …" does not.
            let rest = rest.strip_prefix(" failed").unwrap_or(rest);
            if rest.is_empty() {
                Some(rest)
            } else {
                rest.strip_prefix(": ")
            }
        })
        .next()
        .unwrap_or(message)
}

/// The longest service description quoted in a message; longer ones are cut.
const MAX_DESCRIPTION: usize = 600;

/// Cuts a service's description to a readable length at a character boundary.
pub(crate) fn shorten(text: &str) -> String {
    let text = text.trim();
    if text.len() <= MAX_DESCRIPTION {
        return text.to_owned();
    }
    let mut end = MAX_DESCRIPTION;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_error_message_names_status_and_code() {
        let e = Error::Service {
            code: ErrorCode::ServiceError,
            context: "token request to http://x failed".into(),
            failure: ServiceFailure {
                status: 500,
                code: Some("unknown".into()),
                description: "boom".into(),
            },
        };
        assert_eq!(
            e.to_string(),
            "token request to http://x failed: boom (HTTP 500, unknown)"
        );
        assert_eq!(e.http_status(), Some(500));
        assert_eq!(e.service_code(), Some("unknown"));
        assert_eq!(e.code(), ErrorCode::ServiceError);
    }

    #[test]
    fn within_does_not_repeat_the_operation_the_message_already_names() {
        let what = "uploading '/tmp/a b.txt' to https://acct/c/blob";
        let context = format!("{what} stopped after 5 of 10 bytes were sent");
        let service = Error::Service {
            code: ErrorCode::ServiceError,
            context: what.into(),
            failure: ServiceFailure {
                status: 500,
                code: Some("InternalError".into()),
                description: "boom".into(),
            },
        };
        assert_eq!(
            service.within(&context).to_string(),
            format!("{context}: boom (HTTP 500, InternalError)")
        );
        let failed = Error::Io(format!("{what} failed: disk full"));
        assert_eq!(
            failed.within(&context).to_string(),
            format!("{context}: disk full")
        );
        let network = Error::Network(format!("{what}: the connection failed"));
        assert_eq!(
            network.within(&context).to_string(),
            format!("{context}: the connection failed")
        );
        let unrelated = Error::Io("reading 'x' failed".into());
        assert_eq!(
            unrelated.within(&context).to_string(),
            format!("{context}: reading 'x' failed")
        );
    }

    #[test]
    fn shorten_cuts_long_descriptions_on_char_boundaries() {
        let long = "é".repeat(1000);
        let s = shorten(&long);
        assert!(s.len() <= MAX_DESCRIPTION + '…'.len_utf8());
        assert!(s.ends_with('…'));
        assert_eq!(shorten("  short "), "short");
    }
}
