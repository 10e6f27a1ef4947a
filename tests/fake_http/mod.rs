//! Reading one HTTP/1.1 request off a connection, for the fake endpoints of tests/sources.rs,
//! tests/storage_faults.rs and tests/hardening.rs. Each fake answers in its own way (over TLS,
//! with scripted cuts, with endless bodies); they read requests alike. Included with
//! `mod fake_http;` by the tests that need it (a folder, so cargo does not build it as a test).
#![allow(dead_code)] // each test uses its own part of it

use std::collections::HashMap;

use tokio::io::{AsyncRead, AsyncReadExt};

/// One request as a fake endpoint received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// The request target as sent (path and query, still encoded).
    pub target: String,
    /// The target's path, as a URL parser reads it.
    pub path: String,
    /// Decoded query pairs (the last of a repeated name).
    pub query: HashMap<String, String>,
    /// Names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// The next request on `stream`, its body read to its Content-Length; `None` when the
/// connection ends first or the request is not HTTP/1.1 as azmi sends it.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?;
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        body.extend_from_slice(&chunk[..n]);
    }
    let url = url::Url::parse(&format!("http://fake{target}")).ok()?;
    Some(Seen {
        method,
        target: target.to_owned(),
        path: url.path().to_owned(),
        query: url.query_pairs().into_owned().collect(),
        headers,
        body,
    })
}
