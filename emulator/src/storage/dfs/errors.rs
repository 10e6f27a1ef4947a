//! The error catalogue: Storage's error codes and messages, and how a handler fails.

use hyper::{Response, StatusCode};

use crate::common::body::SvcBody;

/// A Storage error about to be sent.
#[derive(Debug)]
pub(super) struct StorageError {
    pub(super) status: StatusCode,
    pub(super) code: &'static str,
    pub(super) message: &'static str,
}

pub(super) const fn err(
    status: StatusCode,
    code: &'static str,
    message: &'static str,
) -> StorageError {
    StorageError {
        status,
        code,
        message,
    }
}

pub(super) const PATH_NOT_FOUND: StorageError = err(
    StatusCode::NOT_FOUND,
    "PathNotFound",
    "The specified path does not exist.",
);

pub(super) const FILESYSTEM_NOT_FOUND: StorageError = err(
    StatusCode::NOT_FOUND,
    "FilesystemNotFound",
    "The specified filesystem does not exist.",
);

pub(super) const PATH_ALREADY_EXISTS: StorageError = err(
    StatusCode::CONFLICT,
    "PathAlreadyExists",
    "The specified path already exists.",
);

pub(super) const FILESYSTEM_ALREADY_EXISTS: StorageError = err(
    StatusCode::CONFLICT,
    "FilesystemAlreadyExists",
    "The specified filesystem already exists.",
);

pub(super) const PATH_CONFLICT: StorageError = err(
    StatusCode::CONFLICT,
    "PathConflict",
    "The specified path, or an element of the path, exists and its resource type is invalid for this operation.",
);

pub(super) const RESOURCE_TYPE_MISMATCH: StorageError = err(
    StatusCode::CONFLICT,
    "ResourceTypeMismatch",
    "The resource type specified in the request does not match the type of the resource.",
);

pub(super) const DIRECTORY_NOT_EMPTY: StorageError = err(
    StatusCode::CONFLICT,
    "DirectoryNotEmpty",
    "The recursive query parameter value must be true to delete a non-empty directory.",
);

pub(super) const SOURCE_PATH_NOT_FOUND: StorageError = err(
    StatusCode::NOT_FOUND,
    "SourcePathNotFound",
    "The source path for a rename operation does not exist.",
);

pub(super) const RENAME_PARENT_NOT_FOUND: StorageError = err(
    StatusCode::NOT_FOUND,
    "RenameDestinationParentPathNotFound",
    "The parent directory of the destination path does not exist.",
);

pub(super) const INVALID_RENAME_SOURCE: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidRenameSourcePath",
    "The source directory cannot be the same as the destination directory, nor can the destination be a subdirectory of the source directory.",
);

pub(super) const INVALID_SOURCE_URI: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidSourceUri",
    "The source URI is invalid.",
);

pub(super) const INVALID_FLUSH_POSITION: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidFlushPosition",
    "The uploaded data is not contiguous or the position query parameter value is not equal to the length of the file after appending the uploaded data.",
);

pub(super) const INVALID_RANGE: StorageError = err(
    StatusCode::RANGE_NOT_SATISFIABLE,
    "InvalidRange",
    "The range specified is invalid for the current size of the resource.",
);

pub(super) const CONDITION_NOT_MET: StorageError = err(
    StatusCode::PRECONDITION_FAILED,
    "ConditionNotMet",
    "The condition specified using HTTP conditional header(s) is not met.",
);

pub(super) const MISSING_HEADER: StorageError = err(
    StatusCode::BAD_REQUEST,
    "MissingRequiredHeader",
    "An HTTP header that's mandatory for this request is not specified.",
);

pub(super) const INVALID_HEADER: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidHeaderValue",
    "The value for one of the HTTP headers is not in the correct format.",
);

pub(super) const MISSING_QUERY: StorageError = err(
    StatusCode::BAD_REQUEST,
    "MissingRequiredQueryParameter",
    "A query parameter that's mandatory for this request is not specified.",
);

pub(super) const INVALID_QUERY: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidQueryParameterValue",
    "Value for one of the query parameters specified in the request URI is invalid.",
);

pub(super) const INVALID_RESOURCE_NAME: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidResourceName",
    "The specified resource name contains invalid characters.",
);

pub(super) const INVALID_URI: StorageError = err(
    StatusCode::BAD_REQUEST,
    "InvalidUri",
    "The requested URI does not represent any resource on the server.",
);

pub(super) const MISSING_CONTENT_LENGTH: StorageError = err(
    StatusCode::LENGTH_REQUIRED,
    "MissingContentLengthHeader",
    "Content-Length HTTP header is missing.",
);

pub(super) const BODY_TOO_LARGE: StorageError = err(
    StatusCode::PAYLOAD_TOO_LARGE,
    "RequestBodyTooLarge",
    "The request body is too large and exceeds the maximum permissible limit.",
);

pub(super) const UNSUPPORTED_VERB: StorageError = err(
    StatusCode::METHOD_NOT_ALLOWED,
    "UnsupportedHttpVerb",
    "The resource doesn't support the specified HTTP verb.",
);

pub(super) const AUTH_FAILED_401: &str =
    "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.";

pub(super) const PERMISSION_MISMATCH: StorageError = err(
    StatusCode::FORBIDDEN,
    "AuthorizationPermissionMismatch",
    "This request is not authorized to perform this operation using this permission.",
);

pub(super) const INTERNAL_ERROR: StorageError = err(
    StatusCode::INTERNAL_SERVER_ERROR,
    "InternalError",
    "The server encountered an internal error. Please retry the request.",
);

pub(super) enum Failure {
    Storage(StorageError),
    /// 304 for a conditional read that matched.
    NotModified(u64),
    /// The client went away mid-body: close the connection.
    Drop,
    /// A token minted before its identity's revocation at this time: a claims challenge.
    Revoked(u64),
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        Failure::Storage(e)
    }
}

pub(super) type Outcome = Result<Response<SvcBody>, Failure>;
