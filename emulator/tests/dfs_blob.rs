//! The Gen2 account's Blob calls (what the Data Lake SDKs send for file systems, reads and
//! properties, and the Blob SDKs for everything) over the same files as DFS, and path-style
//! URLs (`/<account>/<filesystem>/…`) beside the host form.

mod common;

use azmi_emulator::{Emulator, EmulatorConfig, DEFAULT_DATA_LAKE_ACCOUNT};
use common::https::{Client, STORAGE};
use common::*;

fn start() -> (Emulator, Client) {
    let emu = Emulator::start(EmulatorConfig::default()).expect("start emulator");
    let client = Client::new(&emu);
    (emu, client)
}

/// A Blob call as the Blob SDKs send it: `Accept: application/xml`.
fn blob(
    c: &Client,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> HttpResponse {
    let mut all = vec![("Accept", "application/xml")];
    all.extend_from_slice(headers);
    c.dfs(method, target, &all, body)
}

fn put_blob(c: &Client, target: &str, data: &[u8]) -> HttpResponse {
    blob(
        c,
        "PUT",
        target,
        &[
            ("x-ms-blob-type", "BlockBlob"),
            ("x-ms-blob-content-type", "text/plain"),
        ],
        Some(data),
    )
}

/// A Blob error: XML `<Error><Code>` and `x-ms-error-code` (headers only for HEAD).
fn blob_error(resp: &HttpResponse, status: u16, code: &str) {
    assert_eq!(resp.status, status, "{}", resp.text());
    assert_eq!(
        resp.header("x-ms-error-code"),
        Some(code),
        "{}",
        resp.text()
    );
    if !resp.body.is_empty() {
        assert_eq!(resp.header("content-type"), Some("application/xml"));
        let text = resp.text();
        assert!(
            text.starts_with(r#"<?xml version="1.0" encoding="utf-8"?><Error><Code>"#),
            "{text}"
        );
        assert!(text.contains(&format!("<Code>{code}</Code>")), "{text}");
        assert!(text.contains("\nRequestId:"), "{text}");
    }
}

/// The `<NextMarker>` of a list answer (empty on the last page).
fn next_marker(text: &str) -> String {
    text.split("<NextMarker>")
        .nth(1)
        .and_then(|s| s.split("</NextMarker>").next())
        .expect("a NextMarker")
        .to_string()
}

#[test]
fn containers_are_the_file_systems() {
    let (_emu, c) = start();
    let resp = blob(&c, "PUT", "/blobfs?restype=container", &[], Some(b""));
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert!(resp.header("etag").is_some());
    assert_eq!(
        resp.header("server"),
        Some("Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0")
    );
    blob_error(
        &blob(&c, "PUT", "/blobfs?restype=container", &[], Some(b"")),
        409,
        "ContainerAlreadyExists",
    );
    // The file system DFS sees, and the other way round.
    assert_eq!(
        c.dfs("HEAD", "/blobfs?resource=filesystem", &[], None)
            .status,
        200
    );
    let resp = c.dfs("PUT", "/dfsfs?resource=filesystem", &[], Some(b""));
    assert_eq!(resp.status, 201);
    for method in ["GET", "HEAD"] {
        let resp = blob(&c, method, "/dfsfs?restype=container", &[], None);
        assert_eq!(resp.status, 200, "{method}");
        assert_eq!(resp.header("x-ms-lease-state"), Some("available"));
        assert_eq!(resp.header("x-ms-has-immutability-policy"), Some("false"));
    }
    blob_error(
        &blob(&c, "GET", "/nofs?restype=container", &[], None),
        404,
        "ContainerNotFound",
    );
    blob_error(
        &blob(&c, "HEAD", "/nofs?restype=container", &[], None),
        404,
        "ContainerNotFound",
    );

    let resp = blob(&c, "GET", "/?comp=list", &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.header("content-type"), Some("application/xml"));
    let text = resp.text();
    assert!(text.starts_with("<?xml"), "{text}");
    let names: Vec<&str> = text
        .split("<Name>")
        .skip(1)
        .map(|s| s.split("</Name>").next().unwrap())
        .collect();
    assert_eq!(names, ["blobfs", "dfsfs", "fs"]);
    assert!(text.contains("<NextMarker></NextMarker>"), "{text}");

    // Paged: a marker, then the rest.
    let resp = blob(&c, "GET", "/?comp=list&maxresults=2&prefix=", &[], None);
    let text = resp.text();
    assert!(text.contains("<MaxResults>2</MaxResults>"), "{text}");
    let marker = next_marker(&text);
    assert!(!marker.is_empty(), "{text}");
    let resp = blob(
        &c,
        "GET",
        &format!("/?comp=list&maxresults=2&marker={}", encode(&marker)),
        &[],
        None,
    );
    let text = resp.text();
    assert!(
        text.contains("<Name>fs</Name>") && !text.contains("<Name>dfsfs</Name>"),
        "{text}"
    );
    blob_error(
        &blob(&c, "GET", "/?comp=list&marker=bogus", &[], None),
        400,
        "InvalidQueryParameterValue",
    );

    let resp = blob(&c, "DELETE", "/blobfs?restype=container", &[], None);
    assert_eq!(resp.status, 202);
    blob_error(
        &blob(&c, "DELETE", "/blobfs?restype=container", &[], None),
        404,
        "ContainerNotFound",
    );
    assert_eq!(
        c.dfs("HEAD", "/blobfs?resource=filesystem", &[], None)
            .status,
        404
    );
}

#[test]
fn block_blobs_and_dfs_files_are_the_same_files() {
    let (_emu, c) = start();
    // A blob put through the Blob API reads through DFS, parents created as directories.
    let resp = put_blob(&c, "/fs/dir/from-blob.txt", b"hello blob");
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert!(resp.header("etag").is_some());
    assert_eq!(resp.header("x-ms-request-server-encrypted"), Some("true"));
    let resp = c.dfs("GET", "/fs/dir/from-blob.txt", &[], None);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"hello blob");
    assert_eq!(resp.header("content-type"), Some("text/plain"));
    let resp = c.dfs("HEAD", "/fs/dir", &[], None);
    assert_eq!(resp.header("x-ms-resource-type"), Some("directory"));

    // A DFS file reads through the Blob API, whole or by range, with the blob headers.
    c.dfs_put_file("/fs/dir/from-dfs.txt", b"0123456789");
    let resp = blob(&c, "GET", "/fs/dir/from-dfs.txt", &[], None);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"0123456789");
    assert_eq!(resp.header("x-ms-blob-type"), Some("BlockBlob"));
    let resp = blob(
        &c,
        "GET",
        "/fs/dir/from-dfs.txt",
        &[("x-ms-range", "bytes=2-4")],
        None,
    );
    assert_eq!(resp.status, 206);
    assert_eq!(resp.body, b"234");
    let resp = blob(&c, "HEAD", "/fs/dir/from-dfs.txt", &[], None);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-length"), Some("10"));
    assert_eq!(resp.header("x-ms-blob-type"), Some("BlockBlob"));
    let resp = blob(&c, "HEAD", "/fs/dir", &[], None);
    assert_eq!(resp.header("x-ms-meta-hdi_isfolder"), Some("true"));

    // Replaced by a Put Blob; refused under If-None-Match: *.
    assert_eq!(put_blob(&c, "/fs/dir/from-dfs.txt", b"new").status, 201);
    assert_eq!(c.dfs("GET", "/fs/dir/from-dfs.txt", &[], None).body, b"new");
    blob_error(
        &blob(
            &c,
            "PUT",
            "/fs/dir/from-dfs.txt",
            &[("x-ms-blob-type", "BlockBlob"), ("If-None-Match", "*")],
            Some(b"x"),
        ),
        409,
        "BlobAlreadyExists",
    );
    // Not over a directory, nor below a file.
    blob_error(&put_blob(&c, "/fs/dir", b"x"), 409, "PathConflict");
    blob_error(
        &put_blob(&c, "/fs/dir/from-dfs.txt/below", b"x"),
        409,
        "PathConflict",
    );
    // Only block blobs; a container that does not exist.
    blob_error(
        &blob(
            &c,
            "PUT",
            "/fs/page",
            &[("x-ms-blob-type", "PageBlob")],
            Some(b""),
        ),
        400,
        "InvalidHeaderValue",
    );
    blob_error(&put_blob(&c, "/nofs/a", b"x"), 404, "ContainerNotFound");
    blob_error(
        &blob(&c, "GET", "/fs/missing", &[], None),
        404,
        "BlobNotFound",
    );
    blob_error(
        &blob(&c, "HEAD", "/fs/missing", &[], None),
        404,
        "BlobNotFound",
    );

    // Delete Blob answers 202; DFS's delete of the same kind of path still answers 200.
    let resp = blob(&c, "DELETE", "/fs/dir/from-blob.txt", &[], None);
    assert_eq!(resp.status, 202);
    assert_eq!(
        c.dfs("HEAD", "/fs/dir/from-blob.txt", &[], None).status,
        404
    );
    assert_eq!(
        c.dfs("DELETE", "/fs/dir/from-dfs.txt", &[], None).status,
        200
    );
    blob_error(
        &blob(&c, "DELETE", "/fs/dir/from-dfs.txt", &[], None),
        404,
        "BlobNotFound",
    );
}

#[test]
fn blob_list_shows_files_and_directories() {
    let (_emu, c) = start();
    c.dfs_put_file("/fs/a/x.txt", b"xx");
    c.dfs_put_file("/fs/a%20b.txt", b"1");
    assert_eq!(put_blob(&c, "/fs/z%26%3C%3E.txt", b"zzz").status, 201);
    let resp = blob(
        &c,
        "GET",
        "/fs?restype=container&comp=list&include=metadata",
        &[],
        None,
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let text = resp.text();
    assert!(text.contains(r#"ContainerName="fs""#), "{text}");
    let names: Vec<&str> = text
        .split("<Name>")
        .skip(1)
        .map(|s| s.split("</Name>").next().unwrap())
        .collect();
    // Sorted as strings; directories are (zero-length) blobs too; names escaped.
    assert_eq!(names, ["a", "a b.txt", "a/x.txt", "z&amp;&lt;&gt;.txt"]);
    assert!(
        text.contains("<Metadata><hdi_isfolder>true</hdi_isfolder></Metadata>"),
        "{text}"
    );
    assert!(
        text.contains("<Content-Length>3</Content-Length>"),
        "{text}"
    );
    assert!(text.contains("<BlobType>BlockBlob</BlobType>"), "{text}");

    // With a delimiter, what is below rolls up into a prefix.
    let resp = blob(
        &c,
        "GET",
        "/fs?restype=container&comp=list&delimiter=%2F",
        &[],
        None,
    );
    let text = resp.text();
    assert!(
        text.contains("<BlobPrefix><Name>a/</Name></BlobPrefix>"),
        "{text}"
    );
    assert!(!text.contains("<Name>a/x.txt</Name>"), "{text}");
    assert!(
        !text.contains("<Metadata>"),
        "metadata only when asked: {text}"
    );
    let resp = blob(
        &c,
        "GET",
        "/fs?restype=container&comp=list&prefix=a%2F",
        &[],
        None,
    );
    let text = resp.text();
    assert!(text.contains("<Name>a/x.txt</Name>") && !text.contains("<Name>a b.txt</Name>"));

    // One per page, following the markers.
    let mut marker = String::new();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let resp = blob(
            &c,
            "GET",
            &format!(
                "/fs?restype=container&comp=list&maxresults=1&marker={}",
                encode(&marker)
            ),
            &[],
            None,
        );
        let text = resp.text();
        seen.extend(
            text.split("<Blob><Name>")
                .skip(1)
                .map(|s| s.split("</Name>").next().unwrap().to_string()),
        );
        marker = next_marker(&text);
        if marker.is_empty() {
            break;
        }
    }
    assert_eq!(seen, ["a", "a b.txt", "a/x.txt", "z&amp;&lt;&gt;.txt"]);
}

#[test]
fn blob_calls_are_checked_like_dfs() {
    let (_emu, c) = start();
    // No token: 401 with the challenge, in XML.
    let resp = c
        .raw(
            "GET",
            "/?comp=list",
            &[
                ("x-ms-version", "2023-11-03"),
                ("Accept", "application/xml"),
            ],
            None,
        )
        .unwrap();
    blob_error(&resp, 401, "NoAuthenticationInformation");
    assert!(resp.header("www-authenticate").is_some());
    // Bearer needs version 2017-11-09 or later.
    let bearer = format!("Bearer {}", c.token(STORAGE, ""));
    let resp = c
        .raw(
            "GET",
            "/?comp=list",
            &[("Authorization", &bearer), ("x-ms-version", "2017-07-29")],
            None,
        )
        .unwrap();
    blob_error(&resp, 403, "AuthenticationFailed");
    // Operations not served say so.
    blob_error(
        &blob(&c, "PUT", "/fs/b?comp=metadata", &[], Some(b"")),
        400,
        "InvalidQueryParameterValue",
    );
    blob_error(
        &blob(&c, "POST", "/?comp=list", &[], None),
        405,
        "UnsupportedHttpVerb",
    );
    // Get Account Information: a hierarchical-namespace StorageV2 account.
    let resp = blob(&c, "GET", "/?restype=account&comp=properties", &[], None);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-ms-is-hns-enabled"), Some("true"));
    assert_eq!(resp.header("x-ms-account-kind"), Some("StorageV2"));
    // Scripted faults answer a Blob call in XML.
    _emu.set_service_faults(vec![azmi_emulator::Fault::Status {
        status: 503,
        count: 1,
        retry_after: None,
    }]);
    blob_error(
        &blob(&c, "GET", "/?comp=list", &[], None),
        503,
        "ServerBusy",
    );
}

#[test]
fn path_style_urls_name_the_account_first() {
    let (emu, c) = start();
    let account = DEFAULT_DATA_LAKE_ACCOUNT;
    assert_eq!(account, "azmidatalake");
    // DFS, path-style: the same file system as the host form.
    c.dfs_put_file(&format!("/{account}/fs/dir/p.txt"), b"path style");
    let resp = c.dfs("GET", "/fs/dir/p.txt", &[], None);
    assert_eq!(resp.body, b"path style");
    let resp = c.dfs(
        "GET",
        &format!("/{account}/fs?resource=filesystem&recursive=true"),
        &[],
        None,
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["paths"].as_array().unwrap().len(), 2);
    let resp = c.dfs("GET", &format!("/{account}?resource=account"), &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let resp = c.dfs("GET", &format!("/{account}/?resource=account"), &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    // Blob, path-style.
    let resp = blob(&c, "GET", &format!("/{account}?comp=list"), &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp.text().contains("<Name>fs</Name>"));
    let resp = blob(
        &c,
        "PUT",
        &format!("/{account}/ps?restype=container"),
        &[],
        Some(b""),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert_eq!(
        blob(&c, "GET", &format!("/{account}/fs/dir/p.txt"), &[], None).body,
        b"path style"
    );
    // The JavaScript SDK renames with a path-style source and a host-form destination.
    let resp = c.dfs(
        "PUT",
        "/fs/dir/q.txt",
        &[("x-ms-rename-source", &format!("/{account}/fs/dir/p.txt"))],
        Some(b""),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert_eq!(c.dfs("GET", "/fs/dir/q.txt", &[], None).body, b"path style");
    // Another first segment is a file system, as before.
    let resp = c.dfs(
        "GET",
        "/other/fs?resource=filesystem&recursive=true",
        &[],
        None,
    );
    assert_eq!(resp.status, 404);
    // A faulted path-style Blob call answers in XML.
    emu.set_service_faults(vec![azmi_emulator::Fault::Status {
        status: 500,
        count: 1,
        retry_after: None,
    }]);
    blob_error(
        &blob(&c, "GET", &format!("/{account}?comp=list"), &[], None),
        500,
        "InternalError",
    );
}

#[test]
fn the_account_name_comes_from_the_config() {
    let config = EmulatorConfig {
        data_lake_account: "otheraccount".into(),
        ..EmulatorConfig::default()
    };
    let emu = Emulator::start(config).expect("start emulator");
    let c = Client::new(&emu);
    let resp = c.dfs("GET", "/otheraccount?resource=account", &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let resp = c.dfs(
        "GET",
        "/azmidatalake/fs?resource=filesystem&recursive=true",
        &[],
        None,
    );
    // `azmidatalake` is only a file system name there (one that does not exist).
    assert_eq!(resp.status, 404, "{}", resp.text());
    assert_eq!(resp.header("x-ms-error-code"), Some("FilesystemNotFound"));
}

/// The ACL applies to Blob calls as to DFS's, before existence, with the 403 in XML.
#[test]
fn blob_calls_follow_the_acl() {
    let config = EmulatorConfig {
        acl: vec![azmi_emulator::AclRule {
            object_id: SYSTEM_OBJECT_ID.into(),
            path_prefix: "/fs/locked".into(),
            read: false,
            write: false,
        }],
        ..EmulatorConfig::default()
    };
    let emu = Emulator::start(config).expect("start emulator");
    let c = Client::new(&emu);
    for (method, target, body) in [
        ("GET", "/fs/locked/a", None),
        ("HEAD", "/fs/locked/missing", None),
        ("DELETE", "/fs/locked/a", None),
    ] {
        blob_error(
            &blob(&c, method, target, &[], body),
            403,
            "AuthorizationPermissionMismatch",
        );
    }
    blob_error(
        &put_blob(&c, "/fs/locked/new", b"x"),
        403,
        "AuthorizationPermissionMismatch",
    );
    assert_eq!(put_blob(&c, "/fs/open/new", b"x").status, 201);
}

/// Put Block then Put Block List, as the Blob SDKs upload large data and streams.
#[test]
fn block_lists_make_a_file_of_their_blocks() {
    let (_emu, c) = start();
    let put_block = |path: &str, id: &str, data: &[u8]| {
        blob(
            &c,
            "PUT",
            &format!("{path}?comp=block&blockid={}", encode(id)),
            &[],
            Some(data),
        )
    };
    let list = |ids: &[(&str, &str)]| {
        let mut xml = String::from(r#"<?xml version="1.0" encoding="utf-8"?><BlockList>"#);
        for (tag, id) in ids {
            xml.push_str(&format!("<{tag}>{id}</{tag}>"));
        }
        xml.push_str("</BlockList>");
        xml
    };
    assert_eq!(put_block("/fs/big/b.bin", "AAAA", b"hello ").status, 201);
    assert_eq!(put_block("/fs/big/b.bin", "AAAB", b"blocks").status, 201);
    assert_eq!(put_block("/fs/big/b.bin", "AAAC", b" unused").status, 201);
    // Uncommitted blocks are not a file yet.
    blob_error(
        &blob(&c, "GET", "/fs/big/b.bin", &[], None),
        404,
        "BlobNotFound",
    );
    // Every id of a blob has the same length; ids are base64.
    blob_error(
        &put_block("/fs/big/b.bin", "AAAAAA==", b"x"),
        400,
        "InvalidBlobOrBlock",
    );
    blob_error(
        &put_block("/fs/big/b.bin", "not base64!", b"x"),
        400,
        "InvalidQueryParameterValue",
    );
    // A list naming a block never put is refused, and changes nothing.
    let resp = blob(
        &c,
        "PUT",
        "/fs/big/b.bin?comp=blocklist",
        &[("x-ms-blob-content-type", "text/plain")],
        Some(list(&[("Latest", "AAAA"), ("Latest", "ZZZZ")]).as_bytes()),
    );
    blob_error(&resp, 400, "InvalidBlockList");
    blob_error(
        &blob(
            &c,
            "PUT",
            "/fs/big/b.bin?comp=blocklist",
            &[],
            Some(b"<nope/>"),
        ),
        400,
        "InvalidXmlDocument",
    );
    // The listed blocks, in order, an id repeated; the others are dropped.
    let resp = blob(
        &c,
        "PUT",
        "/fs/big/b.bin?comp=blocklist",
        &[("x-ms-blob-content-type", "text/plain")],
        Some(
            list(&[
                ("Latest", "AAAA"),
                ("Uncommitted", "AAAB"),
                ("Latest", "AAAB"),
            ])
            .as_bytes(),
        ),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert!(resp.header("etag").is_some());
    let resp = c.dfs("GET", "/fs/big/b.bin", &[], None);
    assert_eq!(resp.body, b"hello blocksblocks");
    assert_eq!(resp.header("content-type"), Some("text/plain"));
    blob_error(
        &blob(
            &c,
            "PUT",
            "/fs/big/b.bin?comp=blocklist",
            &[],
            Some(list(&[("Latest", "AAAC")]).as_bytes()),
        ),
        400,
        "InvalidBlockList",
    );
    // Blocks of a deleted file system go with it.
    assert_eq!(
        blob(&c, "PUT", "/gone?restype=container", &[], Some(b"")).status,
        201
    );
    assert_eq!(put_block("/gone/f", "AAAA", b"x").status, 201);
    assert_eq!(
        blob(&c, "DELETE", "/gone?restype=container", &[], None).status,
        202
    );
    assert_eq!(
        blob(&c, "PUT", "/gone?restype=container", &[], Some(b"")).status,
        201
    );
    blob_error(
        &blob(
            &c,
            "PUT",
            "/gone/f?comp=blocklist",
            &[],
            Some(list(&[("Latest", "AAAA")]).as_bytes()),
        ),
        400,
        "InvalidBlockList",
    );
}

/// With `data_dir`, blocks and the file made of them are on disk; the bytes are the same.
#[test]
fn block_lists_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..EmulatorConfig::default()
    };
    let emu = Emulator::start(config).expect("start emulator");
    let c = Client::new(&emu);
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    for (id, part) in [("MDA=", &big[..150_000]), ("MDE=", &big[150_000..])] {
        let resp = blob(
            &c,
            "PUT",
            &format!("/fs/disk.bin?comp=block&blockid={}", encode(id)),
            &[],
            Some(part),
        );
        assert_eq!(resp.status, 201, "{}", resp.text());
    }
    let xml = "<BlockList><Latest>MDA=</Latest><Latest>MDE=</Latest></BlockList>";
    let resp = blob(
        &c,
        "PUT",
        "/fs/disk.bin?comp=blocklist",
        &[],
        Some(xml.as_bytes()),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert!(c.dfs("GET", "/fs/disk.bin", &[], None).body == big);
    let resp = blob(
        &c,
        "GET",
        "/fs/disk.bin",
        &[("x-ms-range", "bytes=149990-150009")],
        None,
    );
    assert!(resp.body == big[149_990..150_010]);
}
