//! Data Lake Storage Gen2 (DFS) over HTTPS: create/append/flush/read, properties, listing with
//! continuation, delete, rename, filesystems, errors and names that need encoding.

mod common;

use azmi_emulator::{Emulator, EmulatorConfig};
use common::https::{Client, VERSION};
use common::*;
use serde_json::Value;

fn start() -> (Emulator, Client) {
    let emu = Emulator::start(EmulatorConfig::default()).expect("start emulator");
    let client = Client::new(&emu);
    (emu, client)
}

fn storage_error(resp: &HttpResponse, code: &str) {
    assert_eq!(
        resp.header("x-ms-error-code"),
        Some(code),
        "{}",
        resp.text()
    );
    if !resp.body.is_empty() {
        assert_eq!(
            resp.header("content-type"),
            Some("application/json;charset=utf-8")
        );
        let body = resp.json();
        assert_eq!(body["error"]["code"], code, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("\nRequestId:"), "{message}");
        assert!(message.contains("\nTime:"), "{message}");
    }
}

#[test]
fn create_append_flush_read() {
    let (_emu, c) = start();
    let resp = c.dfs("PUT", "/fs/dir/file.txt?resource=file", &[], Some(b""));
    assert_eq!(resp.status, 201, "{}", resp.text());
    let etag = resp.header("etag").expect("ETag").to_string();
    assert!(etag.starts_with("\"0x") && etag.ends_with('"'), "{etag}");
    assert!(resp.header("last-modified").is_some());
    assert_eq!(resp.header("x-ms-version"), Some(VERSION));
    assert!(resp.header("x-ms-request-id").is_some());

    let resp = c.dfs(
        "PATCH",
        "/fs/dir/file.txt?action=append&position=0",
        &[],
        Some(b"hello "),
    );
    assert_eq!(resp.status, 202, "{}", resp.text());
    let resp = c.dfs(
        "PATCH",
        "/fs/dir/file.txt?action=append&position=6",
        &[],
        Some(b"world"),
    );
    assert_eq!(resp.status, 202);
    // Only flushed data is readable.
    let before = c.dfs("GET", "/fs/dir/file.txt", &[], None);
    assert_eq!((before.status, before.body.len()), (200, 0));
    let resp = c.dfs(
        "PATCH",
        "/fs/dir/file.txt?action=flush&position=11",
        &[],
        Some(b""),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_ne!(resp.header("etag"), Some(etag.as_str()));

    let read = c.dfs("GET", "/fs/dir/file.txt", &[], None);
    assert_eq!(read.status, 200);
    assert_eq!(read.body, b"hello world");
    assert_eq!(read.header("content-length"), Some("11"));
    assert_eq!(read.header("x-ms-resource-type"), Some("file"));
    assert_eq!(read.header("accept-ranges"), Some("bytes"));
    assert_eq!(
        read.header("content-type"),
        Some("application/octet-stream")
    );
    assert!(read.header("etag").is_some() && read.header("last-modified").is_some());

    let part = c.dfs("GET", "/fs/dir/file.txt", &[("Range", "bytes=6-")], None);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, b"world");
    assert_eq!(part.header("content-range"), Some("bytes 6-10/11"));
    let part = c.dfs(
        "GET",
        "/fs/dir/file.txt",
        &[("Range", "bytes=0-0"), ("x-ms-range", "bytes=1-3")],
        None,
    );
    assert_eq!(part.body, b"ell", "x-ms-range wins over Range");
    let clipped = c.dfs("GET", "/fs/dir/file.txt", &[("Range", "bytes=9-100")], None);
    assert_eq!((clipped.status, clipped.body.as_slice()), (206, &b"ld"[..]));
    let bad = c.dfs(
        "GET",
        "/fs/dir/file.txt",
        &[("x-ms-range", "bytes=11-")],
        None,
    );
    assert_eq!(bad.status, 416);
    storage_error(&bad, "InvalidRange");

    let head = c.dfs("HEAD", "/fs/dir/file.txt", &[], None);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some("11"));
    assert_eq!(head.header("x-ms-resource-type"), Some("file"));
    assert_eq!(head.header("x-ms-owner"), Some(SYSTEM_OBJECT_ID));
    assert_eq!(head.header("x-ms-group"), Some("$superuser"));
    assert_eq!(head.header("x-ms-permissions"), Some("rw-r-----"));
    let dir = c.dfs("HEAD", "/fs/dir", &[], None);
    assert_eq!(dir.header("x-ms-resource-type"), Some("directory"));
    assert_eq!(dir.header("x-ms-permissions"), Some("rwxr-x---"));

    // Conditional reads.
    let etag = read.header("etag").unwrap();
    let same = c.dfs("GET", "/fs/dir/file.txt", &[("If-None-Match", etag)], None);
    assert_eq!(same.status, 304);
    let changed = c.dfs(
        "GET",
        "/fs/dir/file.txt",
        &[("If-Match", "\"0x8D0\"")],
        None,
    );
    assert_eq!(changed.status, 412);
    storage_error(&changed, "ConditionNotMet");
}

#[test]
fn appends_in_any_order_and_flush_positions() {
    let (_emu, c) = start();
    c.dfs_put_file("/fs/p", b"");
    // Parallel uploads send later ranges first; the flush finds them contiguous.
    let resp = c.dfs(
        "PATCH",
        "/fs/p?action=append&position=4",
        &[],
        Some(b"4567"),
    );
    assert_eq!(resp.status, 202);
    let resp = c.dfs("PATCH", "/fs/p?action=flush&position=8", &[], Some(b""));
    assert_eq!(resp.status, 400, "a gap before position 4");
    storage_error(&resp, "InvalidFlushPosition");
    let resp = c.dfs(
        "PATCH",
        "/fs/p?action=append&position=0",
        &[],
        Some(b"0123"),
    );
    assert_eq!(resp.status, 202);
    let resp = c.dfs("PATCH", "/fs/p?action=flush&position=9", &[], Some(b""));
    assert_eq!(resp.status, 400, "position past the uploaded data");
    let resp = c.dfs("PATCH", "/fs/p?action=flush&position=8", &[], Some(b""));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(c.dfs("GET", "/fs/p", &[], None).body, b"01234567");

    // Appending below the flushed length, or flushing backwards, is refused.
    let resp = c.dfs("PATCH", "/fs/p?action=append&position=2", &[], Some(b"xx"));
    assert_eq!(resp.status, 400);
    storage_error(&resp, "InvalidFlushPosition");
    let resp = c.dfs("PATCH", "/fs/p?action=flush&position=4", &[], Some(b""));
    assert_eq!(resp.status, 400);

    // Unflushed data is dropped by a flush unless retained.
    c.dfs("PATCH", "/fs/p?action=append&position=8", &[], Some(b"89"));
    c.dfs("PATCH", "/fs/p?action=append&position=10", &[], Some(b"ab"));
    let resp = c.dfs(
        "PATCH",
        "/fs/p?action=flush&position=10&retainUncommittedData=true",
        &[],
        Some(b""),
    );
    assert_eq!(resp.status, 200);
    let resp = c.dfs(
        "PATCH",
        "/fs/p?action=flush&position=12&close=true",
        &[],
        Some(b""),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(c.dfs("GET", "/fs/p", &[], None).body, b"0123456789ab");

    // Missing position; a missing file; a directory.
    let resp = c.dfs("PATCH", "/fs/p?action=append", &[], Some(b"x"));
    storage_error(&resp, "MissingRequiredQueryParameter");
    let resp = c.dfs(
        "PATCH",
        "/fs/none?action=append&position=0",
        &[],
        Some(b"x"),
    );
    assert_eq!(resp.status, 404);
    storage_error(&resp, "PathNotFound");

    // Append with flush=true commits at once.
    let resp = c.dfs(
        "PATCH",
        "/fs/p?action=append&position=12&flush=true",
        &[],
        Some(b"!"),
    );
    assert_eq!(resp.status, 202);
    assert_eq!(c.dfs("GET", "/fs/p", &[], None).body, b"0123456789ab!");
}

#[test]
fn chunked_uploads_are_refused() {
    // Storage needs Content-Length; a client streaming with chunked encoding fails on Azure.
    let (_emu, c) = start();
    c.dfs_put_file("/fs/chunked", b"");
    let bearer = format!("Bearer {}", c.token(common::https::STORAGE, ""));
    let mut conn = c.connect();
    conn.send_head(
        "PATCH",
        "/fs/chunked?action=append&position=0",
        &[
            ("Authorization", &bearer),
            ("x-ms-version", VERSION),
            ("Transfer-Encoding", "chunked"),
        ],
    )
    .unwrap();
    conn.send_bytes(b"3\r\nabc\r\n0\r\n\r\n").unwrap();
    let resp = conn.read_response(false).unwrap();
    assert_eq!(resp.status, 411);
    storage_error(&resp, "MissingContentLengthHeader");
}

#[test]
fn create_overwrites_unless_if_none_match() {
    let (_emu, c) = start();
    c.dfs_put_file("/fs/o", b"data");
    let resp = c.dfs(
        "PUT",
        "/fs/o?resource=file",
        &[("If-None-Match", "*")],
        Some(b""),
    );
    assert_eq!(resp.status, 409);
    storage_error(&resp, "PathAlreadyExists");
    let body = resp.json();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("The specified path already exists.\nRequestId:"));
    assert_eq!(c.dfs("GET", "/fs/o", &[], None).body, b"data");

    // Without the condition, creating again replaces the file with an empty one.
    let resp = c.dfs("PUT", "/fs/o?resource=file", &[], Some(b""));
    assert_eq!(resp.status, 201);
    assert_eq!(
        c.dfs("HEAD", "/fs/o", &[], None).header("content-length"),
        Some("0")
    );

    // A file is not a directory, nor the other way round.
    let resp = c.dfs("PUT", "/fs/o?resource=directory", &[], Some(b""));
    assert_eq!(resp.status, 409);
    storage_error(&resp, "PathConflict");
    let resp = c.dfs("PUT", "/fs/o/child?resource=file", &[], Some(b""));
    assert_eq!(resp.status, 409);
    // Creating an existing directory keeps its content.
    c.dfs_put_file("/fs/d/in", b"kept");
    let resp = c.dfs("PUT", "/fs/d?resource=directory", &[], Some(b""));
    assert_eq!(resp.status, 201);
    assert_eq!(c.dfs("GET", "/fs/d/in", &[], None).body, b"kept");
    let resp = c.dfs("PUT", "/fs/d?resource=symlink", &[], Some(b""));
    storage_error(&resp, "InvalidQueryParameterValue");
}

fn list(c: &Client, query: &str) -> (Vec<Value>, Option<String>) {
    let resp = c.dfs(
        "GET",
        &format!("/fs?resource=filesystem&{query}"),
        &[],
        None,
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.header("content-type"),
        Some("application/json;charset=utf-8")
    );
    let paths = resp.json()["paths"].as_array().unwrap().clone();
    (paths, resp.header("x-ms-continuation").map(str::to_string))
}

#[test]
fn list_paths_pages_with_continuation() {
    let (_emu, c) = start();
    for i in 0..9 {
        c.dfs_put_file(&format!("/fs/tree/f{i}"), &vec![b'x'; i]);
    }
    for d in ["a", "a/b"] {
        c.dfs(
            "PUT",
            &format!("/fs/tree/{d}?resource=directory"),
            &[],
            Some(b""),
        );
    }
    c.dfs_put_file("/fs/tree/a/b/deep", b"deep");

    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = "recursive=true&directory=tree&maxResults=4".to_string();
        if let Some(t) = &token {
            // Tokens are opaque and must be URL-encoded when sent back.
            query.push_str(&format!("&continuation={}", encode(t)));
        }
        let (page, next) = list(&c, &query);
        pages += 1;
        assert!(page.len() <= 4);
        names.extend(page.iter().map(|p| p["name"].as_str().unwrap().to_string()));
        if next.is_none() {
            break;
        }
        token = next;
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = ["tree/a", "tree/a/b", "tree/a/b/deep"]
        .iter()
        .map(|s| s.to_string())
        .chain((0..9).map(|i| format!("tree/f{i}")))
        .collect();
    assert_eq!(names, expected);

    let (all, next) = list(&c, "recursive=true");
    assert!(next.is_none());
    let dir = &all[1];
    assert_eq!(dir["name"], "tree/a");
    // Numbers and booleans are strings on the wire.
    assert_eq!(dir["isDirectory"], "true");
    assert_eq!(dir["contentLength"], "0");
    let file = all
        .iter()
        .find(|p| p["name"] == "tree/f3")
        .expect("tree/f3 listed");
    assert_eq!(file["contentLength"], "3");
    assert!(
        file.get("isDirectory").is_none(),
        "absent for files: {file}"
    );
    assert_eq!(file["owner"], SYSTEM_OBJECT_ID);
    assert_eq!(file["permissions"], "rw-r-----");
    assert!(file["etag"].as_str().unwrap().starts_with("0x"));
    assert!(file["lastModified"].as_str().unwrap().ends_with(" GMT"));
    assert!(file["creationTime"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .is_ok());

    let (top, _) = list(&c, "recursive=false");
    assert_eq!(top.len(), 1);
    assert_eq!(top[0]["name"], "tree");
    let (children, _) = list(&c, "recursive=false&directory=%2Ftree%2Fa");
    assert_eq!(children.len(), 1);
    assert_eq!(children[0]["name"], "tree/a/b");

    let missing = c.dfs(
        "GET",
        "/fs?resource=filesystem&recursive=true&directory=nope",
        &[],
        None,
    );
    storage_error(&missing, "PathNotFound");
    let no_recursive = c.dfs("GET", "/fs?resource=filesystem", &[], None);
    storage_error(&no_recursive, "MissingRequiredQueryParameter");
    let bad_token = c.dfs(
        "GET",
        "/fs?resource=filesystem&recursive=true&continuation=garbage",
        &[],
        None,
    );
    storage_error(&bad_token, "InvalidQueryParameterValue");
    let zero = c.dfs(
        "GET",
        "/fs?resource=filesystem&recursive=true&maxResults=0",
        &[],
        None,
    );
    storage_error(&zero, "InvalidQueryParameterValue");
}

#[test]
fn delete_and_rename() {
    let (_emu, c) = start();
    c.dfs_put_file("/fs/d/one", b"1");
    c.dfs_put_file("/fs/d/two", b"2");
    let resp = c.dfs("DELETE", "/fs/d", &[], None);
    assert_eq!(resp.status, 409);
    storage_error(&resp, "DirectoryNotEmpty");
    let resp = c.dfs("DELETE", "/fs/d/one", &[], None);
    assert_eq!(resp.status, 200);
    let resp = c.dfs("DELETE", "/fs/d/one", &[], None);
    storage_error(&resp, "PathNotFound");

    let resp = c.dfs(
        "PUT",
        "/fs/renamed",
        &[("x-ms-rename-source", "/fs/d/two")],
        Some(b""),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert_eq!(c.dfs("GET", "/fs/renamed", &[], None).body, b"2");
    assert_eq!(c.dfs("GET", "/fs/d/two", &[], None).status, 404);

    let resp = c.dfs(
        "PUT",
        "/fs/x",
        &[("x-ms-rename-source", "/fs/gone")],
        Some(b""),
    );
    assert_eq!(resp.status, 404);
    storage_error(&resp, "SourcePathNotFound");
    let resp = c.dfs(
        "PUT",
        "/fs/no/parent/x",
        &[("x-ms-rename-source", "/fs/renamed")],
        Some(b""),
    );
    assert_eq!(resp.status, 404);
    storage_error(&resp, "RenameDestinationParentPathNotFound");
    // A directory moves with its content; a file replaces a file unless If-None-Match: *.
    c.dfs_put_file("/fs/d/inner/f", b"f");
    let resp = c.dfs(
        "PUT",
        "/fs/e",
        &[("x-ms-rename-source", "/fs/d")],
        Some(b""),
    );
    assert_eq!(resp.status, 201);
    assert_eq!(c.dfs("GET", "/fs/e/inner/f", &[], None).body, b"f");
    let resp = c.dfs(
        "PUT",
        "/fs/e/inner/f",
        &[
            ("x-ms-rename-source", "/fs/renamed"),
            ("If-None-Match", "*"),
        ],
        Some(b""),
    );
    storage_error(&resp, "PathAlreadyExists");
    let resp = c.dfs(
        "PUT",
        "/fs/e/inner/f",
        &[("x-ms-rename-source", "/fs/renamed")],
        Some(b""),
    );
    assert_eq!(resp.status, 201);
    assert_eq!(c.dfs("GET", "/fs/e/inner/f", &[], None).body, b"2");
    let resp = c.dfs(
        "PUT",
        "/fs/e/inner/sub",
        &[("x-ms-rename-source", "/fs/e")],
        Some(b""),
    );
    assert_eq!(resp.status, 400, "into its own subtree");

    let resp = c.dfs("DELETE", "/fs/e?recursive=true", &[], None);
    assert_eq!(resp.status, 200);
    let (left, _) = list(&c, "recursive=true");
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn errors_have_the_storage_shape() {
    let (_emu, c) = start();
    let bearer = format!("Bearer {}", c.token(common::https::STORAGE, ""));
    let resp = c
        .raw("GET", "/fs/x", &[("Authorization", &bearer)], None)
        .unwrap();
    assert_eq!(resp.status, 400);
    storage_error(&resp, "MissingRequiredHeader");

    let resp = c.dfs("GET", "/nofs/x", &[], None);
    assert_eq!(resp.status, 404);
    storage_error(&resp, "FilesystemNotFound");
    let resp = c.dfs("GET", "/fs/missing", &[], None);
    assert_eq!(resp.status, 404);
    storage_error(&resp, "PathNotFound");
    assert_eq!(
        resp.header("server"),
        Some("Windows-Azure-HDFS/1.0 Microsoft-HTTPAPI/2.0")
    );
    let message = resp.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    let request_id = resp.header("x-ms-request-id").unwrap();
    assert!(message.starts_with(&format!(
        "The specified path does not exist.\nRequestId:{request_id}\nTime:"
    )));
    let head = c.dfs("HEAD", "/fs/missing", &[], None);
    assert_eq!(head.status, 404);
    assert!(head.body.is_empty());
    storage_error(&head, "PathNotFound");
    let resp = c.dfs("GET", "/Bad_Name/x", &[], None);
    storage_error(&resp, "InvalidResourceName");
    let resp = c.dfs("PATCH", "/fs/x?action=teleport", &[], Some(b""));
    storage_error(&resp, "InvalidQueryParameterValue");
    let resp = c.dfs(
        "GET",
        "/fs/x",
        &[("x-ms-client-request-id", "abc-123")],
        None,
    );
    assert_eq!(resp.header("x-ms-client-request-id"), Some("abc-123"));
}

#[test]
fn filesystems_can_be_created_listed_and_deleted() {
    let (_emu, c) = start();
    let resp = c.dfs("PUT", "/data-2?resource=filesystem", &[], Some(b""));
    assert_eq!(resp.status, 201, "{}", resp.text());
    let resp = c.dfs("PUT", "/data-2?resource=filesystem", &[], Some(b""));
    storage_error(&resp, "FilesystemAlreadyExists");
    let head = c.dfs("HEAD", "/data-2?resource=filesystem", &[], None);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("x-ms-namespace-enabled"), Some("true"));
    let list = c.dfs("GET", "/?resource=account", &[], None).json();
    let names: Vec<&str> = list["filesystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["data-2", "fs"]);
    c.dfs_put_file("/data-2/f", b"x");
    let resp = c.dfs("DELETE", "/data-2?resource=filesystem", &[], None);
    assert_eq!(resp.status, 202);
    storage_error(&c.dfs("GET", "/data-2/f", &[], None), "FilesystemNotFound");
}

#[test]
fn special_characters_round_trip() {
    let (_emu, c) = start();
    let names = ["a b", "x#y", "50%", "c+d", "é漢字.txt", "q?r&s=t"];
    for name in names {
        c.dfs_put_file(&format!("/fs/sp/{}", encode(name)), name.as_bytes());
    }
    // `+` in a path is a plus.
    assert_eq!(c.dfs("GET", "/fs/sp/c+d", &[], None).body, b"c+d");
    assert_eq!(c.dfs("GET", "/fs/sp/c%2Bd", &[], None).body, b"c+d");
    let (paths, _) = list(&c, "recursive=true&directory=sp");
    let mut listed: Vec<&str> = paths.iter().map(|p| p["name"].as_str().unwrap()).collect();
    listed.sort();
    let mut expected: Vec<String> = names.iter().map(|n| format!("sp/{n}")).collect();
    expected.sort();
    assert_eq!(listed, expected);
    for name in names {
        let resp = c.dfs("GET", &format!("/fs/sp/{}", encode(name)), &[], None);
        assert_eq!(resp.body, name.as_bytes(), "{name}");
    }
    // The rename source is percent-encoded too.
    let source = format!("/fs/sp/{}", encode("é漢字.txt"));
    let resp = c.dfs(
        "PUT",
        &format!("/fs/sp/{}", encode("new name+1")),
        &[("x-ms-rename-source", &source)],
        Some(b""),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert_eq!(
        c.dfs("GET", "/fs/sp/new%20name+1", &[], None).body,
        "é漢字.txt".as_bytes()
    );
}

#[test]
fn access_control_headers() {
    let (_emu, c) = start();
    c.dfs_put_file("/fs/acl", b"");
    let resp = c.dfs(
        "PATCH",
        "/fs/acl?action=setAccessControl",
        &[("x-ms-permissions", "0750"), ("x-ms-owner", "someone")],
        Some(b""),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let head = c.dfs("HEAD", "/fs/acl?action=getAccessControl", &[], None);
    assert_eq!(head.header("x-ms-permissions"), Some("rwxr-x---"));
    assert_eq!(head.header("x-ms-owner"), Some("someone"));
    assert_eq!(
        head.header("x-ms-acl"),
        Some("user::rwx,group::r-x,other::---")
    );
    let resp = c.dfs(
        "PUT",
        "/fs/made?resource=file",
        &[("x-ms-permissions", "rwxrwxrwx"), ("x-ms-umask", "0077")],
        Some(b""),
    );
    assert_eq!(resp.status, 201);
    let head = c.dfs("HEAD", "/fs/made", &[], None);
    assert_eq!(head.header("x-ms-permissions"), Some("rwx------"));
}
