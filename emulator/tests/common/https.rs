//! A small blocking HTTPS/1.1 client over rustls that trusts only the emulator's CA, so the
//! tests see exactly what the services send (chunked or sized bodies, dropped connections).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use azmi_emulator::Emulator;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::{field, query, token, HttpResponse};

pub const DATALAKE: &str = "https://datalake.azure.net/";
pub const STORAGE: &str = "https://storage.azure.com/";
pub const VERSION: &str = "2023-11-03";

/// A client config that trusts `ca_pem` and nothing else.
pub fn trusting(ca_pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("CA PEM");
    roots.add(ca).expect("CA accepted as a root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

pub struct TlsConn {
    stream: StreamOwned<ClientConnection, TcpStream>,
    buf: Vec<u8>,
    port: u16,
}

impl TlsConn {
    /// Connects to 127.0.0.1:`port`, verifying the certificate for `server_name`.
    pub fn open(config: &Arc<ClientConfig>, port: u16, server_name: &str) -> io::Result<TlsConn> {
        let tcp = TcpStream::connect(("127.0.0.1", port))?;
        tcp.set_read_timeout(Some(Duration::from_secs(60)))?;
        let name = ServerName::try_from(server_name.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let conn = ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?;
        let mut stream = StreamOwned::new(conn, tcp);
        // Complete the handshake now, so certificate errors surface here.
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(TlsConn {
            stream,
            buf: Vec::new(),
            port,
        })
    }

    /// Writes a request head (the caller adds `Content-Length` or `Transfer-Encoding`).
    pub fn send_head(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
    ) -> io::Result<()> {
        let mut head = format!("{method} {target} HTTP/1.1\r\n");
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            head.push_str(&format!("Host: 127.0.0.1:{}\r\n", self.port));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        self.stream.write_all(head.as_bytes())
    }

    pub fn send_bytes(&mut self, data: &[u8]) -> io::Result<()> {
        self.stream.write_all(data)?;
        self.stream.flush()
    }

    /// One request with an optional body (sent with `Content-Length`).
    pub fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> io::Result<HttpResponse> {
        let length;
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(body) = body {
            length = body.len().to_string();
            all.push(("Content-Length", &length));
        }
        self.send_head(method, target, &all)?;
        if let Some(body) = body {
            self.send_bytes(body)?;
        } else {
            self.stream.flush()?;
        }
        self.read_response(method == "HEAD")
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16384];
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

    fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return Ok(line);
            }
            self.fill()?;
        }
    }

    fn exactly(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            self.fill()?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads one response. `Err(UnexpectedEof)` (or a reset) when the server closed the
    /// connection instead of answering.
    pub fn read_response(&mut self, head_only: bool) -> io::Result<HttpResponse> {
        let status_line = self.line()?;
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let line = self.line()?;
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut response = HttpResponse {
            status,
            headers,
            body: Vec::new(),
        };
        if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
            return Ok(response);
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        if chunked {
            loop {
                let size_line = self.line()?;
                let size =
                    usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                        .unwrap_or_else(|_| panic!("bad chunk size {size_line:?}"));
                if size == 0 {
                    // Trailers end with an empty line.
                    while !self.line()?.is_empty() {}
                    break;
                }
                let data = self.exactly(size)?;
                response.body.extend_from_slice(&data);
                self.exactly(2)?;
            }
        } else if let Some(length) = response.header("content-length") {
            let length: usize = length.parse().expect("numeric Content-Length");
            response.body = self.exactly(length)?;
        } else {
            // Neither length nor chunks: the body ends when the server closes.
            while self.fill().is_ok() {}
            response.body = std::mem::take(&mut self.buf);
        }
        Ok(response)
    }
}

/// Requests to one emulator's services, each on a fresh connection.
pub struct Client {
    pub config: Arc<ClientConfig>,
    pub port: u16,
    pub imds_port: u16,
}

impl Client {
    pub fn new(emu: &Emulator) -> Client {
        Client {
            config: trusting(&emu.ca_pem()),
            port: emu.https_port(),
            imds_port: emu.port(),
        }
    }

    pub fn connect(&self) -> TlsConn {
        TlsConn::open(&self.config, self.port, "127.0.0.1").expect("TLS connection")
    }

    /// A token from the emulator's IMDS for `resource` (and optional identity selector).
    pub fn token(&self, resource: &str, extra: &str) -> String {
        let resp = token(self.imds_port, &query(resource, extra));
        assert_eq!(resp.status, 200, "{}", resp.text());
        field(&resp.json(), "access_token").to_string()
    }

    pub fn raw(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> io::Result<HttpResponse> {
        self.connect().request(method, target, headers, body)
    }

    /// A Gen1 request with a Data Lake token.
    pub fn gen1(&self, method: &str, target: &str, body: Option<&[u8]>) -> HttpResponse {
        let bearer = format!("Bearer {}", self.token(DATALAKE, ""));
        self.raw(method, target, &[("Authorization", &bearer)], body)
            .expect("Gen1 request")
    }

    /// A Gen2 request with a Storage token and `x-ms-version`.
    pub fn dfs(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> HttpResponse {
        let bearer = format!("Bearer {}", self.token(STORAGE, ""));
        let mut all = vec![
            ("Authorization", bearer.as_str()),
            ("x-ms-version", VERSION),
        ];
        all.extend_from_slice(headers);
        self.raw(method, target, &all, body).expect("Gen2 request")
    }

    /// Creates a Gen2 file with `data`: create, append, flush.
    pub fn dfs_put_file(&self, path: &str, data: &[u8]) {
        let resp = self.dfs("PUT", &format!("{path}?resource=file"), &[], Some(b""));
        assert_eq!(resp.status, 201, "create {path}: {}", resp.text());
        if !data.is_empty() {
            let resp = self.dfs(
                "PATCH",
                &format!("{path}?action=append&position=0"),
                &[],
                Some(data),
            );
            assert_eq!(resp.status, 202, "append {path}: {}", resp.text());
        }
        let resp = self.dfs(
            "PATCH",
            &format!("{path}?action=flush&position={}", data.len()),
            &[],
            Some(b""),
        );
        assert_eq!(resp.status, 200, "flush {path}: {}", resp.text());
    }

    /// Creates a Gen1 file with `data` through the redirect, as a client following 307 would.
    pub fn gen1_put_file(&self, path: &str, data: &[u8]) {
        let resp = self.gen1(
            "PUT",
            &format!("/webhdfs/v1{path}?op=CREATE&overwrite=true&write=true"),
            Some(data),
        );
        assert_eq!(resp.status, 201, "create {path}: {}", resp.text());
    }
}
