//! The account and its containers (the Data Lake file systems) through the Blob API: listing
//! containers, creating, describing and deleting one, listing its blobs, and the account's
//! information.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hyper::header::HeaderValue;
use hyper::{Response, StatusCode};

use super::super::errors::{Outcome, StorageError, INVALID_QUERY};
use super::super::filesystems::{create_filesystem, delete_filesystem, filesystem_properties};
use super::super::handlers::filesystem;
use super::super::operation::Params;
use super::response::{as_blob, blob_response, escape, xml, XML_DECLARATION};
use crate::common::body::{self, SvcBody};
use crate::common::util::http_date;
use crate::storage::context::Ctx;
use crate::storage::exchange::Exchange;
use crate::storage::store::{etag_text, Node};

/// Most items a Blob list returns in one page (and its default).
const MAX_RESULTS: usize = 5000;
/// Prefix of this emulator's list markers (opaque to clients, like the service's).
const MARKER_PREFIX: &str = "azmi-blob1:";

/// What a Blob list asks for: `prefix`, `marker`, `maxresults`, `include`.
struct ListRequest<'p> {
    prefix: &'p str,
    after: Option<String>,
    limit: usize,
    marker: Option<&'p str>,
}

impl<'p> ListRequest<'p> {
    fn parse(params: &'p Params) -> Result<Self, StorageError> {
        let limit = match params.get("maxresults") {
            None => MAX_RESULTS,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n > 0 => n.min(MAX_RESULTS),
                _ => return Err(INVALID_QUERY),
            },
        };
        let marker = params.get("marker").filter(|m| !m.is_empty());
        let after = marker.map(decode_marker).transpose()?;
        Ok(ListRequest {
            prefix: params.get("prefix").unwrap_or(""),
            after,
            limit,
            marker,
        })
    }

    /// `<Prefix>`, `<Marker>` and `<MaxResults>` echoed as the service does.
    fn echo(&self, params: &Params) -> String {
        let mut out = String::new();
        if params.get("prefix").is_some() {
            out.push_str(&format!("<Prefix>{}</Prefix>", escape(self.prefix)));
        }
        if let Some(marker) = self.marker {
            out.push_str(&format!("<Marker>{}</Marker>", escape(marker)));
        }
        if params.get("maxresults").is_some() {
            out.push_str(&format!("<MaxResults>{}</MaxResults>", self.limit));
        }
        out
    }
}

fn encode_marker(name: &str) -> String {
    STANDARD.encode(format!("{MARKER_PREFIX}{name}"))
}

fn decode_marker(marker: &str) -> Result<String, StorageError> {
    STANDARD
        .decode(marker)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(MARKER_PREFIX).map(str::to_string))
        .ok_or(INVALID_QUERY)
}

/// `https://<host>/`, the `ServiceEndpoint` of list answers.
fn service_endpoint(host: &str) -> String {
    format!("https://{host}/")
}

/// `GET /?comp=list`: the file systems, as containers.
pub(super) fn list_containers(
    ctx: &Ctx,
    exchange: &Exchange,
    host: &str,
    params: &Params,
) -> Outcome {
    let list = ListRequest::parse(params)?;
    let inner = ctx.svc.store.lock();
    let mut items = String::new();
    let mut count = 0;
    let mut next = None;
    let mut last: Option<&String> = None;
    for (name, fs) in &inner.filesystems {
        if !name.starts_with(list.prefix) || list.after.as_ref().is_some_and(|a| name <= a) {
            continue;
        }
        if count == list.limit {
            next = last.map(|n| encode_marker(n));
            break;
        }
        items.push_str(&format!(
            "<Container><Name>{}</Name><Properties><Last-Modified>{}</Last-Modified><Etag>\"{}\"</Etag><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><DefaultEncryptionScope>$account-encryption-key</DefaultEncryptionScope><DenyEncryptionScopeOverride>false</DenyEncryptionScopeOverride><HasImmutabilityPolicy>false</HasImmutabilityPolicy><HasLegalHold>false</HasLegalHold><ImmutableStorageWithVersioningEnabled>false</ImmutableStorageWithVersioningEnabled></Properties></Container>",
            escape(name),
            http_date(fs.modified),
            etag_text(fs.etag),
        ));
        count += 1;
        last = Some(name);
    }
    let text = format!(
        "{XML_DECLARATION}<EnumerationResults ServiceEndpoint=\"{}\">{}<Containers>{items}</Containers><NextMarker>{}</NextMarker></EnumerationResults>",
        escape(&service_endpoint(host)),
        list.echo(params),
        next.unwrap_or_default(),
    );
    Ok(xml(exchange, StatusCode::OK, text))
}

/// `GET|HEAD /?restype=account&comp=properties`: a StorageV2 account with a hierarchical
/// namespace.
pub(super) fn account_info(exchange: &Exchange) -> Response<SvcBody> {
    let mut response = blob_response(exchange, StatusCode::OK, body::empty());
    let h = response.headers_mut();
    h.insert("x-ms-sku-name", HeaderValue::from_static("Standard_LRS"));
    h.insert("x-ms-account-kind", HeaderValue::from_static("StorageV2"));
    h.insert("x-ms-is-hns-enabled", HeaderValue::from_static("true"));
    response
}

pub(super) fn create_container(ctx: &Ctx, exchange: &Exchange, name: &str) -> Outcome {
    create_filesystem(ctx, exchange, name).map(as_blob)
}

pub(super) fn delete_container(ctx: &Ctx, exchange: &Exchange, name: &str) -> Outcome {
    delete_filesystem(ctx, exchange, name).map(as_blob)
}

/// Get Container Properties: the file system's, with the container headers clients read.
pub(super) fn container_properties(ctx: &Ctx, exchange: &Exchange, name: &str) -> Outcome {
    let mut response = filesystem_properties(ctx, exchange, name)?;
    let h = response.headers_mut();
    for (header, value) in [
        ("x-ms-lease-status", "unlocked"),
        ("x-ms-lease-state", "available"),
        ("x-ms-has-immutability-policy", "false"),
        ("x-ms-has-legal-hold", "false"),
        ("x-ms-default-encryption-scope", "$account-encryption-key"),
        ("x-ms-deny-encryption-scope-override", "false"),
        ("x-ms-immutable-storage-with-versioning-enabled", "false"),
    ] {
        h.insert(header, HeaderValue::from_static(value));
    }
    Ok(as_blob(response))
}

/// `GET /<fs>?restype=container&comp=list[&prefix][&delimiter][&marker][&maxresults][&include]`:
/// every file and directory as a block blob (directories zero-length, with `hdi_isfolder`
/// metadata), sorted by name; with a delimiter, what lies below it rolls up into
/// `<BlobPrefix>`.
pub(super) fn list_blobs(
    ctx: &Ctx,
    exchange: &Exchange,
    host: &str,
    fs_name: &str,
    params: &Params,
) -> Outcome {
    let list = ListRequest::parse(params)?;
    let delimiter = params.get("delimiter").filter(|d| !d.is_empty());
    let metadata = params
        .get("include")
        .is_some_and(|i| i.split(',').any(|v| v.trim() == "metadata"));
    let mut inner = ctx.svc.store.lock();
    let tree = &filesystem(&mut inner, fs_name)?.tree;
    // Blob names sort as strings (`a b` before `a/x`), not segment by segment as the tree does.
    let mut named: Vec<(String, &Node)> = tree
        .descendants(&[])
        .map(|(key, node)| (key.join("/"), node))
        .filter(|(name, _)| name.starts_with(list.prefix))
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));

    let mut items = String::new();
    let mut count = 0;
    let mut next = None;
    let mut last: Option<String> = None;
    for (name, node) in &named {
        let rolled_up = delimiter.and_then(|d| {
            name[list.prefix.len()..]
                .find(d)
                .map(|i| name[..list.prefix.len() + i + d.len()].to_string())
        });
        let entry = rolled_up.clone().unwrap_or_else(|| name.clone());
        if list.after.as_ref().is_some_and(|a| entry <= *a) || last.as_ref() == Some(&entry) {
            continue;
        }
        if count == list.limit {
            next = last.as_deref().map(encode_marker);
            break;
        }
        match rolled_up {
            Some(prefix) => items.push_str(&format!(
                "<BlobPrefix><Name>{}</Name></BlobPrefix>",
                escape(&prefix)
            )),
            None => items.push_str(&blob_item(name, node, metadata)),
        }
        count += 1;
        last = Some(entry);
    }
    let delimiter_echo = delimiter
        .map(|d| format!("<Delimiter>{}</Delimiter>", escape(d)))
        .unwrap_or_default();
    let text = format!(
        "{XML_DECLARATION}<EnumerationResults ServiceEndpoint=\"{}\" ContainerName=\"{}\">{}{delimiter_echo}<Blobs>{items}</Blobs><NextMarker>{}</NextMarker></EnumerationResults>",
        escape(&service_endpoint(host)),
        escape(fs_name),
        list.echo(params),
        next.unwrap_or_default(),
    );
    Ok(xml(exchange, StatusCode::OK, text))
}

fn blob_item(name: &str, node: &Node, metadata: bool) -> String {
    let content_type = node
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    let resource_type = if node.is_dir() { "directory" } else { "file" };
    let meta = match (metadata, node.is_dir()) {
        (false, _) => String::new(),
        (true, true) => "<Metadata><hdi_isfolder>true</hdi_isfolder></Metadata>".to_string(),
        (true, false) => "<Metadata />".to_string(),
    };
    format!(
        "<Blob><Name>{}</Name><Properties><Creation-Time>{}</Creation-Time><Last-Modified>{}</Last-Modified><Etag>{}</Etag><ResourceType>{resource_type}</ResourceType><Content-Length>{}</Content-Length><Content-Type>{}</Content-Type><BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties>{meta}</Blob>",
        escape(name),
        http_date(node.created),
        http_date(node.modified),
        etag_text(node.etag),
        node.len(),
        escape(content_type),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_refuse_others() {
        assert_eq!(decode_marker(&encode_marker("a b/c")).unwrap(), "a b/c");
        assert!(decode_marker("not base64!").is_err());
        assert!(decode_marker(&STANDARD.encode("other")).is_err());
    }
}
