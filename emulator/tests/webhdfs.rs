//! Data Lake Storage Gen1 (WebHDFS) over HTTPS: every operation, redirects, paging, errors and
//! names that need encoding.

mod common;

use azmi_emulator::{Emulator, EmulatorConfig};
use common::https::Client;
use common::*;
use serde_json::Value;

fn start() -> (Emulator, Client) {
    let emu = Emulator::start(EmulatorConfig::default()).expect("start emulator");
    let client = Client::new(&emu);
    (emu, client)
}

/// The path and query of an absolute URL on the emulator.
fn target_of(location: &str, port: u16) -> String {
    let prefix = format!("https://127.0.0.1:{port}");
    location
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{location} is not on {prefix}"))
        .to_string()
}

fn remote_exception(resp: &HttpResponse) -> Value {
    let body = resp.json();
    let e = body["RemoteException"].clone();
    assert!(e.is_object(), "not a RemoteException: {body}");
    e
}

#[test]
fn create_redirects_then_writes_and_open_redirects_then_reads() {
    let (emu, c) = start();
    let port = emu.https_port();
    let resp = c.gen1(
        "PUT",
        "/webhdfs/v1/dir/a.txt?op=CREATE&api-version=2016-11-01",
        Some(b"ignored by the redirect"),
    );
    assert_eq!(resp.status, 307, "{}", resp.text());
    assert!(resp.body.is_empty());
    assert_eq!(resp.header("content-length"), Some("0"));
    let location = resp.header("location").expect("Location").to_string();
    assert_eq!(
        location,
        format!("https://127.0.0.1:{port}/webhdfs/v1/dir/a.txt?op=CREATE&api-version=2016-11-01&write=true")
    );
    // Nothing is written by the first request.
    let status = c.gen1("GET", "/webhdfs/v1/dir/a.txt?op=GETFILESTATUS", None);
    assert_eq!(status.status, 404);

    let resp = c.gen1("PUT", &target_of(&location, port), Some(b"hello, gen1"));
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert!(resp.body.is_empty());

    let status = c.gen1("GET", "/webhdfs/v1/dir/a.txt?op=GETFILESTATUS", None);
    assert_eq!(status.status, 200);
    assert_eq!(
        status.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let fs = &status.json()["FileStatus"];
    assert_eq!(fs["length"], 11);
    assert_eq!(fs["pathSuffix"], "");
    assert_eq!(fs["type"], "FILE");
    assert_eq!(fs["blockSize"], 268435456);
    assert_eq!(fs["replication"], 1);
    assert_eq!(fs["permission"], "770");
    assert_eq!(fs["owner"], SYSTEM_OBJECT_ID);
    assert_eq!(fs["aclBit"], false);
    assert!(fs["modificationTime"].as_u64().unwrap() > 1_600_000_000_000);
    // Field order as the service writes it.
    let text = status.text();
    assert!(
        text.starts_with(r#"{"FileStatus":{"length":11,"pathSuffix":"","type":"FILE""#),
        "{text}"
    );

    // The parent was created.
    let dir = c
        .gen1("GET", "/webhdfs/v1/dir?op=GETFILESTATUS", None)
        .json();
    assert_eq!(dir["FileStatus"]["type"], "DIRECTORY");

    let resp = c.gen1(
        "GET",
        "/webhdfs/v1/dir/a.txt?op=OPEN&offset=7&length=3",
        None,
    );
    assert_eq!(resp.status, 307);
    let location = resp.header("location").unwrap().to_string();
    assert!(
        location.ends_with("?op=OPEN&offset=7&length=3&read=true"),
        "{location}"
    );
    let resp = c.gen1("GET", &target_of(&location, port), None);
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("application/octet-stream")
    );
    // OPEN is streamed chunked, like the service.
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert!(resp.header("content-length").is_none());
    assert_eq!(resp.body, b"gen");

    let whole = c.gen1("GET", "/webhdfs/v1/dir/a.txt?op=OPEN&read=true", None);
    assert_eq!(whole.body, b"hello, gen1");
    let past = c.gen1(
        "GET",
        "/webhdfs/v1/dir/a.txt?op=OPEN&read=true&offset=11",
        None,
    );
    assert_eq!((past.status, past.body.len()), (200, 0));
    let beyond = c.gen1(
        "GET",
        "/webhdfs/v1/dir/a.txt?op=OPEN&read=true&offset=12",
        None,
    );
    assert_eq!(beyond.status, 400);
    assert_eq!(
        remote_exception(&beyond)["exception"],
        "IllegalArgumentException"
    );
}

#[test]
fn append_redirects_and_checks_offset() {
    let (emu, c) = start();
    c.gen1_put_file("/f", b"123");
    let resp = c.gen1("POST", "/webhdfs/v1/f?op=APPEND", Some(b"456"));
    assert_eq!(resp.status, 307);
    let location = resp.header("location").unwrap().to_string();
    assert!(
        location.ends_with("/webhdfs/v1/f?op=APPEND&append=true"),
        "{location}"
    );
    let resp = c.gen1(
        "POST",
        &target_of(&location, emu.https_port()),
        Some(b"456"),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp.body.is_empty());

    let resp = c.gen1(
        "POST",
        "/webhdfs/v1/f?op=APPEND&append=true&offset=6",
        Some(b"789"),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let resp = c.gen1(
        "POST",
        "/webhdfs/v1/f?op=APPEND&append=true&offset=3",
        Some(b"xxx"),
    );
    assert_eq!(resp.status, 400);
    let e = remote_exception(&resp);
    assert_eq!(e["exception"], "BadOffsetException");

    let data = c.gen1("GET", "/webhdfs/v1/f?op=OPEN&read=true", None).body;
    assert_eq!(data, b"123456789");

    let missing = c.gen1("POST", "/webhdfs/v1/nope?op=APPEND&append=true", Some(b"x"));
    assert_eq!(missing.status, 404);
}

#[test]
fn overwrite_is_refused_unless_asked() {
    let (_emu, c) = start();
    c.gen1_put_file("/x/file", b"one");
    let resp = c.gen1(
        "PUT",
        "/webhdfs/v1/x/file?op=CREATE&write=true",
        Some(b"two"),
    );
    assert_eq!(resp.status, 403, "{}", resp.text());
    let e = remote_exception(&resp);
    assert_eq!(e["exception"], "FileAlreadyExistsException");
    assert_eq!(
        e["javaClassName"],
        "org.apache.hadoop.fs.FileAlreadyExistsException"
    );
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("/x/file"), "{message}");
    // The message ends in [request id][timestamp], like the service's.
    assert!(message.ends_with("+00:00]"), "{message}");
    assert_eq!(
        c.gen1("GET", "/webhdfs/v1/x/file?op=OPEN&read=true", None)
            .body,
        b"one"
    );

    let resp = c.gen1(
        "PUT",
        "/webhdfs/v1/x/file?op=CREATE&write=true&overwrite=true",
        Some(b"two"),
    );
    assert_eq!(resp.status, 201);
    assert_eq!(
        c.gen1("GET", "/webhdfs/v1/x/file?op=OPEN&read=true", None)
            .body,
        b"two"
    );

    // A directory is never replaced by a file.
    let resp = c.gen1(
        "PUT",
        "/webhdfs/v1/x?op=CREATE&write=true&overwrite=true",
        Some(b""),
    );
    assert_eq!(resp.status, 403);
    // Nor can a file be created below a file.
    let resp = c.gen1(
        "PUT",
        "/webhdfs/v1/x/file/y?op=CREATE&write=true",
        Some(b""),
    );
    assert_eq!(resp.status, 403);
    assert_eq!(
        remote_exception(&resp)["exception"],
        "ParentNotDirectoryException"
    );
}

#[test]
fn bodies_over_4_mb_are_refused() {
    let (_emu, c) = start();
    let big = vec![b'x'; 4 * 1024 * 1024 + 1];
    let resp = c.gen1("PUT", "/webhdfs/v1/big?op=CREATE&write=true", Some(&big));
    assert_eq!(resp.status, 400);
    assert_eq!(
        remote_exception(&resp)["exception"],
        "IllegalArgumentException"
    );
    let exact = vec![b'y'; 4 * 1024 * 1024];
    let resp = c.gen1("PUT", "/webhdfs/v1/big?op=CREATE&write=true", Some(&exact));
    assert_eq!(resp.status, 201);
    let resp = c.gen1("POST", "/webhdfs/v1/big?op=APPEND&append=true", Some(&big));
    assert_eq!(resp.status, 400);
    let status = c
        .gen1("GET", "/webhdfs/v1/big?op=GETFILESTATUS", None)
        .json();
    assert_eq!(status["FileStatus"]["length"], 4 * 1024 * 1024);
}

#[test]
fn liststatus_pages_with_list_after() {
    let (_emu, c) = start();
    let names: Vec<String> = (0..23).map(|i| format!("f{i:02}")).collect();
    for name in names.iter().rev() {
        c.gen1_put_file(&format!("/many/{name}"), name.as_bytes());
    }
    c.gen1("PUT", "/webhdfs/v1/many/sub?op=MKDIRS", None);

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut after = String::new();
    loop {
        let mut target = "/webhdfs/v1/many?op=LISTSTATUS&listSize=8".to_string();
        if !after.is_empty() {
            target.push_str(&format!("&listAfter={}", encode(&after)));
        }
        let resp = c.gen1("GET", &target, None);
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert!(resp
            .text()
            .starts_with(r#"{"FileStatuses":{"continuationToken":"#));
        let body = resp.json();
        let page = body["FileStatuses"]["FileStatus"]
            .as_array()
            .unwrap()
            .clone();
        let token = body["FileStatuses"]["continuationToken"]
            .as_str()
            .unwrap()
            .to_string();
        pages += 1;
        for entry in &page {
            seen.push(entry["pathSuffix"].as_str().unwrap().to_string());
        }
        if page.len() == 8 {
            assert_eq!(
                token,
                *seen.last().unwrap(),
                "a full page ends with its last name"
            );
        } else {
            assert_eq!(token, "", "a short page ends the listing");
        }
        if token.is_empty() {
            break;
        }
        after = token;
    }
    let mut expected = names.clone();
    expected.push("sub".into());
    assert_eq!(seen, expected, "every entry once, sorted by name");
    // 24 entries in pages of 8: three full pages and a final empty one.
    assert_eq!(pages, 4);

    let one_page = c.gen1("GET", "/webhdfs/v1/many?op=LISTSTATUS", None).json();
    assert_eq!(
        one_page["FileStatuses"]["FileStatus"]
            .as_array()
            .unwrap()
            .len(),
        24
    );
    assert_eq!(one_page["FileStatuses"]["continuationToken"], "");
    let sub = &one_page["FileStatuses"]["FileStatus"][23];
    assert_eq!(sub["type"], "DIRECTORY");
    assert_eq!(sub["length"], 0);

    // Listing a file lists that file.
    let file = c
        .gen1("GET", "/webhdfs/v1/many/f00?op=LISTSTATUS", None)
        .json();
    assert_eq!(file["FileStatuses"]["FileStatus"][0]["pathSuffix"], "");
    let missing = c.gen1("GET", "/webhdfs/v1/none?op=LISTSTATUS", None);
    assert_eq!(missing.status, 404);
    let bad = c.gen1("GET", "/webhdfs/v1/many?op=LISTSTATUS&listSize=0", None);
    assert_eq!(bad.status, 400);
}

#[test]
fn mkdirs_delete_and_rename() {
    let (_emu, c) = start();
    let resp = c.gen1("PUT", "/webhdfs/v1/a/b/c?op=MKDIRS", None);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), serde_json::json!({"boolean": true}));
    c.gen1_put_file("/a/b/c/file", b"data");

    let resp = c.gen1("DELETE", "/webhdfs/v1/a?op=DELETE", None);
    assert_eq!(resp.status, 403, "{}", resp.text());
    assert_eq!(remote_exception(&resp)["exception"], "IOException");
    let resp = c.gen1("DELETE", "/webhdfs/v1/nothing?op=DELETE", None);
    assert_eq!(resp.json()["boolean"], false);

    // Rename a file, then into an existing directory.
    let resp = c.gen1(
        "PUT",
        "/webhdfs/v1/a/b/c/file?op=RENAME&destination=/a/renamed",
        None,
    );
    assert_eq!(resp.json()["boolean"], true, "{}", resp.text());
    assert_eq!(
        c.gen1("GET", "/webhdfs/v1/a/renamed?op=OPEN&read=true", None)
            .body,
        b"data"
    );
    // Destinations without a leading slash are absolute too.
    let resp = c.gen1(
        "PUT",
        "/webhdfs/v1/a/renamed?op=RENAME&destination=a%2Fb",
        None,
    );
    assert_eq!(resp.json()["boolean"], true);
    assert_eq!(
        c.gen1("GET", "/webhdfs/v1/a/b/renamed?op=GETFILESTATUS", None)
            .status,
        200
    );
    let resp = c.gen1("PUT", "/webhdfs/v1/missing?op=RENAME&destination=/x", None);
    assert_eq!(resp.json()["boolean"], false);
    let resp = c.gen1(
        "PUT",
        "/webhdfs/v1/a?op=RENAME&destination=/a/b/c/inside",
        None,
    );
    assert_eq!(resp.json()["boolean"], false);
    // Moving a directory moves what is in it.
    let resp = c.gen1("PUT", "/webhdfs/v1/a/b?op=RENAME&destination=/moved", None);
    assert_eq!(resp.json()["boolean"], true);
    assert_eq!(
        c.gen1("GET", "/webhdfs/v1/moved/renamed?op=OPEN&read=true", None)
            .body,
        b"data"
    );

    let resp = c.gen1("DELETE", "/webhdfs/v1/moved?op=DELETE&recursive=True", None);
    assert_eq!(resp.json()["boolean"], true);
    assert_eq!(
        c.gen1("GET", "/webhdfs/v1/moved/c?op=GETFILESTATUS", None)
            .status,
        404
    );
    let resp = c.gen1("PUT", "/webhdfs/v1/a?op=MKDIRS", None);
    assert_eq!(
        resp.json()["boolean"],
        true,
        "an existing directory is fine"
    );
}

#[test]
fn missing_paths_are_404_remote_exceptions() {
    let (_emu, c) = start();
    let resp = c.gen1("GET", "/webhdfs/v1/no/such?op=GETFILESTATUS", None);
    assert_eq!(resp.status, 404);
    assert!(resp.header("x-ms-request-id").is_some());
    let e = remote_exception(&resp);
    assert_eq!(e["exception"], "FileNotFoundException");
    assert_eq!(e["javaClassName"], "java.io.FileNotFoundException");
    let message = e["message"].as_str().unwrap();
    let request_id = resp.header("x-ms-request-id").unwrap();
    assert!(
        message.starts_with(&format!(
            "File/Folder does not exist: /no/such [{request_id}]["
        )),
        "{message}"
    );
    // Key order of the service: exception, message, javaClassName.
    assert!(resp
        .text()
        .starts_with(r#"{"RemoteException":{"exception":"FileNotFoundException","message":"#));
}

#[test]
fn parameter_names_and_ops_are_case_insensitive() {
    let (_emu, c) = start();
    c.gen1_put_file("/case", b"x");
    let resp = c.gen1(
        "GET",
        "/webhdfs/v1/case?OP=getfilestatus&api-version=2018-09-01",
        None,
    );
    assert_eq!(resp.status, 200);
    let resp = c.gen1("GET", "/webhdfs/v1/case?op=FROB", None);
    assert_eq!(resp.status, 400);
    assert_eq!(
        remote_exception(&resp)["exception"],
        "IllegalArgumentException"
    );
    let resp = c.gen1("GET", "/webhdfs/v1/case?op=CREATE", None);
    assert_eq!(resp.status, 400, "CREATE is a PUT operation");
    let resp = c.gen1(
        "PUT",
        "/webhdfs/v1/case?op=SETPERMISSION&permission=777",
        None,
    );
    assert_eq!(
        remote_exception(&resp)["exception"],
        "UnsupportedOperationException"
    );
}

#[test]
fn special_characters_round_trip() {
    let (emu, c) = start();
    let names = ["a b", "x#y", "50%", "c+d", "é漢字.txt", "12,+3#456?.txt"];
    for name in names {
        let path = format!("/special/{}", encode(name));
        let resp = c.gen1("PUT", &format!("/webhdfs/v1{path}?op=CREATE"), None);
        assert_eq!(resp.status, 307);
        let location = resp.header("location").unwrap().to_string();
        let resp = c.gen1(
            "PUT",
            &target_of(&location, emu.https_port()),
            Some(name.as_bytes()),
        );
        assert_eq!(resp.status, 201, "{name}: {}", resp.text());
    }
    // `+` in a path is a plus, not a space, and Location keeps it literal as the service does.
    let resp = c.gen1(
        "PUT",
        "/webhdfs/v1/special/12,+3%23456%3F.txt?op=CREATE",
        None,
    );
    let location = resp.header("location").unwrap();
    assert!(
        location.contains("/special/12,+3%23456%3F.txt?"),
        "{location}"
    );
    let plus = c.gen1("GET", "/webhdfs/v1/special/c+d?op=OPEN&read=true", None);
    assert_eq!(plus.body, b"c+d");
    let space = c.gen1("GET", "/webhdfs/v1/special/a%20b?op=OPEN&read=true", None);
    assert_eq!(space.body, b"a b");

    let list = c
        .gen1("GET", "/webhdfs/v1/special?op=LISTSTATUS", None)
        .json();
    let mut listed: Vec<String> = list["FileStatuses"]["FileStatus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pathSuffix"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    for name in names {
        let resp = c.gen1(
            "GET",
            &format!("/webhdfs/v1/special/{}?op=OPEN&read=true", encode(name)),
            None,
        );
        assert_eq!(resp.body, name.as_bytes(), "{name}");
    }
    // listAfter with an encoded name.
    let after = c.gen1(
        "GET",
        &format!(
            "/webhdfs/v1/special?op=LISTSTATUS&listAfter={}",
            encode("c+d")
        ),
        None,
    );
    let first = after.json()["FileStatuses"]["FileStatus"][0]["pathSuffix"].clone();
    assert_eq!(first, "x#y");
}
