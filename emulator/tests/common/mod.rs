//! A deliberately tiny HTTP/1.1 client over `std::net::TcpStream`, so the tests see exactly the
//! bytes the emulator writes (and can tell a dropped connection from an error response).

#![allow(dead_code)] // each test binary uses a different subset

pub mod https;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

pub const TOKEN_PATH: &str = "/metadata/identity/oauth2/token";
pub const ARM: &str = "https://management.azure.com/";
pub const VAULT: &str = "https://vault.azure.net";

pub const SYSTEM_CLIENT_ID: &str = "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0001";
pub const SYSTEM_OBJECT_ID: &str = "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002";
pub const SYSTEM_RESOURCE_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/azmi-rg/providers/Microsoft.Compute/virtualMachines/azmi-vm";
pub const UAMI_CLIENT_ID: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
pub const UAMI_OBJECT_ID: &str = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb";
pub const UAMI_RESOURCE_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/azmi-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/azmi-uami";
pub const TENANT: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

/// One keep-alive connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends one request and reads one response. `Err(UnexpectedEof)` when the server closed
    /// the connection without answering.
    pub fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> io::Result<HttpResponse> {
        let mut req = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(body) = body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        if let Some(body) = body {
            req.push_str(body);
        }
        self.stream.write_all(req.as_bytes())?;
        self.read_response()
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    fn read_response(&mut self) -> io::Result<HttpResponse> {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            self.fill()?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .expect("the emulator always sends Content-Length");
        let body_start = head_end + 4;
        while self.buf.len() < body_start + length {
            self.fill()?;
        }
        let body = self.buf[body_start..body_start + length].to_vec();
        self.buf.drain(..body_start + length);
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// True when the server has closed this connection (EOF within a short wait).
    pub fn is_closed_by_server(&mut self) -> bool {
        self.stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut byte = [0u8; 1];
        let closed = matches!(self.stream.read(&mut byte), Ok(0) | Err(_));
        self.stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        closed
    }
}

/// One request on a fresh connection.
pub fn request(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> io::Result<HttpResponse> {
    Conn::open(port).request(method, target, headers, body)
}

/// `GET` the token endpoint with `Metadata: true` and the given query.
pub fn token(port: u16, query: &str) -> HttpResponse {
    request(
        port,
        "GET",
        &format!("{TOKEN_PATH}?{query}"),
        &[("Metadata", "true")],
        None,
    )
    .expect("token request")
}

/// `api-version=2018-02-01&resource=<encoded>` plus `extra`.
pub fn query(resource: &str, extra: &str) -> String {
    let mut q = format!("api-version=2018-02-01&resource={}", encode(resource));
    if !extra.is_empty() {
        q.push('&');
        q.push_str(extra);
    }
    q
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn admin_get(port: u16, path: &str) -> HttpResponse {
    request(port, "GET", path, &[], None).expect("admin GET")
}

pub fn admin_post(port: u16, path: &str, body: &str) -> HttpResponse {
    request(port, "POST", path, &[], Some(body)).expect("admin POST")
}

/// The decoded JWT header and payload.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "token is not header.payload.signature");
    let decode = |p: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("base64url")).expect("JSON")
    };
    (decode(parts[0]), decode(parts[1]))
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// String value of a JSON field, panicking with the body when absent.
pub fn field<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is not a string in {body}"))
}
