//! The managed identity source through the C ABI, as a host process meets it: the platform sets
//! the variables before the process starts, `azmi_identity_new` detects the source, the token
//! says which source issued it, and `azmi_identity_set_source` overrides the detection.
//!
//! One test in its own binary: it sets process environment variables, which no other test
//! may see.

use std::ffi::{CStr, CString};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use azmi::ffi::*;

const SECRET: &str = "app-service-identity-header-secret";

/// A fake App Service identity endpoint on 127.0.0.1 that records each request line and the
/// `X-IDENTITY-HEADER` it carried, and answers with a token as App Service does.
/// Each request's path and query, with the `X-IDENTITY-HEADER` it carried.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

fn fake_app_service() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut header = None;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((n, v)) = h.split_once(':') {
                    if n.trim().eq_ignore_ascii_case("x-identity-header") {
                        header = Some(v.trim().to_owned());
                    }
                }
            }
            let path = line.split(' ').nth(1).unwrap_or("").to_owned();
            log.lock().unwrap().push((path, header));
            let expires = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                + 3600;
            let body = format!(
                r#"{{"access_token":"app-service-token","expires_on":"{expires}","resource":"https://vault.azure.net","token_type":"Bearer"}}"#
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (format!("http://127.0.0.1:{port}/msi/token"), seen)
}

fn text(p: *const std::ffi::c_char) -> String {
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn message(err: *mut azmi_error) -> String {
    let m = text(unsafe { azmi_error_message(err) });
    unsafe { azmi_error_free(err) };
    m
}

#[test]
fn the_source_is_detected_reported_and_overridden_through_the_c_abi() {
    let (endpoint, seen) = fake_app_service();
    for name in [
        "AZMI_IMDS_ENDPOINT",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        "MSI_ENDPOINT",
    ] {
        std::env::remove_var(name);
    }
    std::env::set_var("IDENTITY_ENDPOINT", &endpoint);
    std::env::set_var("IDENTITY_HEADER", SECRET);

    let mut identity = std::ptr::null_mut();
    let mut err = std::ptr::null_mut();
    let mut token = std::ptr::null_mut();
    let resource = CString::new("https://vault.azure.net").unwrap();
    unsafe {
        // Detected: App Service, and its endpoint.
        assert_eq!(
            azmi_identity_new(
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                &mut identity,
                &mut err
            ),
            azmi_status::AZMI_OK
        );
        assert_eq!(text(azmi_identity_source(identity)), "app_service");
        assert_eq!(text(azmi_identity_endpoint(identity)), endpoint);

        let status = azmi_get_token(
            resource.as_ptr(),
            identity,
            0,
            std::ptr::null(),
            &mut token,
            &mut err,
        );
        assert_eq!(status, azmi_status::AZMI_OK, "{}", message(err));
        assert_eq!(text(azmi_token_source(token)), "app_service");
        azmi_token_free(token);
        {
            let seen = seen.lock().unwrap();
            assert_eq!(seen.len(), 1);
            assert!(
                seen[0].0.contains("api-version=2019-08-01"),
                "{}",
                seen[0].0
            );
            assert_eq!(seen[0].1.as_deref(), Some(SECRET));
        }

        // The NULL identity (the engine's default) detects the same source.
        let status = azmi_get_token(
            resource.as_ptr(),
            std::ptr::null(),
            0,
            std::ptr::null(),
            &mut token,
            &mut err,
        );
        assert_eq!(status, azmi_status::AZMI_OK, "{}", message(err));
        assert_eq!(text(azmi_token_source(token)), "app_service");
        azmi_token_free(token);

        // An unknown source name is an invalid argument that lists the names.
        let bad = CString::new("mainframe").unwrap();
        assert_eq!(
            azmi_identity_set_source(identity, bad.as_ptr(), &mut err),
            azmi_status::AZMI_INVALID_ARGUMENT
        );
        assert!(message(err).contains("app_service"));
        assert_eq!(text(azmi_identity_source(identity)), "app_service");

        // A source whose variables are not set cannot be chosen.
        let shell = CString::new("Cloud Shell").unwrap();
        assert_eq!(
            azmi_identity_set_source(identity, shell.as_ptr(), &mut err),
            azmi_status::AZMI_INVALID_ARGUMENT
        );
        let m = message(err);
        assert!(m.contains("Cloud Shell"), "{m}");

        // The explicit choice overrides the detection: IMDS, where the host set both.
        let imds = CString::new("imds").unwrap();
        assert_eq!(
            azmi_identity_set_source(identity, imds.as_ptr(), &mut err),
            azmi_status::AZMI_OK
        );
        assert_eq!(text(azmi_identity_source(identity)), "imds");
        assert!(text(azmi_identity_endpoint(identity)).starts_with("http://169.254.169.254/"));
        // NULL detects again.
        assert_eq!(
            azmi_identity_set_source(identity, std::ptr::null(), &mut err),
            azmi_status::AZMI_OK
        );
        assert_eq!(text(azmi_identity_source(identity)), "app_service");
        azmi_identity_free(identity);

        // The secret never shows in what an identity says about itself.
        assert_eq!(text(azmi_identity_source(std::ptr::null())), "");
        assert_eq!(text(azmi_token_source(std::ptr::null())), "");
    }

    // Cloud Shell takes no user-assigned identity: said at once, naming the source.
    std::env::remove_var("IDENTITY_ENDPOINT");
    std::env::remove_var("IDENTITY_HEADER");
    std::env::set_var("MSI_ENDPOINT", "http://127.0.0.1:9/oauth2/token");
    let client = CString::new("00001111-aaaa-2222-bbbb-3333cccc4444").unwrap();
    identity = std::ptr::null_mut();
    unsafe {
        let status = azmi_identity_new(
            client.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            &mut identity,
            &mut err,
        );
        assert_eq!(status, azmi_status::AZMI_INVALID_ARGUMENT);
        let m = message(err);
        assert!(m.contains("Cloud Shell"), "{m}");
        assert!(identity.is_null());
    }
    std::env::remove_var("MSI_ENDPOINT");
}
