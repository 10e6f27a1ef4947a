//! The Blob part of the C ABI seen from Rust, against Azurite: write, read, upload and download
//! with the identity's token, outputs only on success, argument checks, progress on the calling
//! thread, and error codes.
//!
//! The process-wide engine trusts one extra CA bundle, so this file holds one test.

mod common;

use std::ffi::{c_void, CStr, CString};
use std::ptr;

use azmi::ffi::*;
use azmi_emulator::{Emulator, EmulatorConfig};
use common::Azurite;

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

unsafe extern "C" fn on_progress(userdata: *mut c_void, done: u64, total: i64) {
    // SAFETY: the test passes a live Vec as userdata.
    let calls = unsafe { &mut *(userdata as *mut Vec<(u64, i64, std::thread::ThreadId)>) };
    calls.push((done, total, std::thread::current().id()));
}

/// The status, and the error's service code when there is one (the error is freed).
fn failure(status: azmi_status, err: *mut azmi_error) -> (azmi_status, String) {
    // SAFETY: an error from the library or NULL.
    unsafe {
        let code = azmi_error_service_code(err);
        let code = if code.is_null() {
            String::new()
        } else {
            CStr::from_ptr(code).to_string_lossy().into_owned()
        };
        azmi_error_free(err);
        (status, code)
    }
}

#[test]
fn blobs_through_the_c_abi() {
    let azurite = Azurite::start();
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let bundle = c(azurite.bundle(&emu.ca_pem()).to_str().unwrap());
    // SAFETY: valid strings and out-pointers throughout; objects freed once.
    unsafe {
        assert_eq!(
            azmi_set_ca_file(bundle.as_ptr(), ptr::null_mut()),
            azmi_status::AZMI_OK
        );
        let mut id = ptr::null_mut();
        assert_eq!(
            azmi_identity_new(
                ptr::null(),
                ptr::null(),
                ptr::null(),
                &mut id,
                ptr::null_mut()
            ),
            azmi_status::AZMI_OK
        );
        let token_url = c(&emu.token_url());
        assert_eq!(
            azmi_identity_set_endpoint(id, token_url.as_ptr(), ptr::null_mut()),
            azmi_status::AZMI_OK
        );

        // Argument checks: nothing is written on failure.
        let mut blob: *mut azmi_blob = ptr::null_mut();
        let mut err = ptr::null_mut();
        let status = azmi_blob_new(ptr::null(), ptr::null(), id, &mut blob, &mut err);
        assert_eq!(failure(status, err).0, azmi_status::AZMI_INVALID_ARGUMENT);
        assert!(blob.is_null());
        let account = c(&azurite.url());
        let mut err = ptr::null_mut();
        let not_a_sas = c("   ");
        let status = azmi_blob_new(
            account.as_ptr(),
            not_a_sas.as_ptr(),
            id,
            &mut blob,
            &mut err,
        );
        assert_eq!(failure(status, err).0, azmi_status::AZMI_INVALID_ARGUMENT);
        assert!(blob.is_null());

        assert_eq!(
            azmi_blob_new(
                account.as_ptr(),
                ptr::null(),
                id,
                &mut blob,
                ptr::null_mut()
            ),
            azmi_status::AZMI_OK
        );
        azmi_identity_free(id);
        let container = c("cabi");
        let mut created = false;
        assert_eq!(
            azmi_blob_create_container(
                blob,
                container.as_ptr(),
                ptr::null(),
                &mut created,
                ptr::null_mut()
            ),
            azmi_status::AZMI_OK
        );
        assert!(created);

        // Write and read back; a second write without the flag is a conflict.
        let name = c("hello.txt");
        let text = b"Hello world! :)";
        assert_eq!(
            azmi_blob_write(
                blob,
                container.as_ptr(),
                name.as_ptr(),
                text.as_ptr(),
                text.len(),
                0,
                ptr::null(),
                ptr::null_mut()
            ),
            azmi_status::AZMI_OK
        );
        let mut err = ptr::null_mut();
        let status = azmi_blob_write(
            blob,
            container.as_ptr(),
            name.as_ptr(),
            text.as_ptr(),
            text.len(),
            0,
            ptr::null(),
            &mut err,
        );
        assert_eq!(
            failure(status, err),
            (azmi_status::AZMI_CONFLICT, "BlobAlreadyExists".into())
        );
        let mut err = ptr::null_mut();
        let status = azmi_blob_write(
            blob,
            container.as_ptr(),
            name.as_ptr(),
            text.as_ptr(),
            text.len(),
            4,
            ptr::null(),
            &mut err,
        );
        assert_eq!(failure(status, err).0, azmi_status::AZMI_INVALID_ARGUMENT);
        let mut bytes = ptr::null_mut();
        assert_eq!(
            azmi_blob_read(
                blob,
                container.as_ptr(),
                name.as_ptr(),
                ptr::null(),
                &mut bytes,
                ptr::null_mut()
            ),
            azmi_status::AZMI_OK
        );
        assert_eq!(
            std::slice::from_raw_parts(azmi_bytes_data(bytes), azmi_bytes_len(bytes)),
            text
        );
        azmi_bytes_free(bytes);
        let missing = c("missing.txt");
        let mut bytes = ptr::null_mut();
        let mut err = ptr::null_mut();
        let status = azmi_blob_read(
            blob,
            container.as_ptr(),
            missing.as_ptr(),
            ptr::null(),
            &mut bytes,
            &mut err,
        );
        assert_eq!(
            failure(status, err),
            (azmi_status::AZMI_NOT_FOUND, "BlobNotFound".into())
        );
        assert!(bytes.is_null());

        // Upload in blocks and download, with progress on the calling thread.
        let data: Vec<u8> = (0..9 * 1024 * 1024 + 7).map(|i| (i % 251) as u8).collect();
        let local = azurite.scratch("big.bin");
        std::fs::write(&local, &data).unwrap();
        let local_c = c(local.to_str().unwrap());
        let big = c("big.bin");
        let mut calls: Vec<(u64, i64, std::thread::ThreadId)> = Vec::new();
        assert_eq!(
            azmi_blob_upload(
                blob,
                local_c.as_ptr(),
                container.as_ptr(),
                big.as_ptr(),
                AZMI_BLOB_OVERWRITE,
                ptr::null(),
                Some(on_progress),
                &mut calls as *mut _ as *mut c_void,
                ptr::null_mut()
            ),
            azmi_status::AZMI_OK
        );
        let me = std::thread::current().id();
        assert!(calls
            .iter()
            .all(|(_, total, t)| *t == me && *total == data.len() as i64));
        assert_eq!(calls.last().map(|c| c.0), Some(data.len() as u64));
        let back = azurite.scratch("big.back");
        let back_c = c(back.to_str().unwrap());
        calls.clear();
        assert_eq!(
            azmi_blob_download(
                blob,
                container.as_ptr(),
                big.as_ptr(),
                back_c.as_ptr(),
                0,
                ptr::null(),
                Some(on_progress),
                &mut calls as *mut _ as *mut c_void,
                ptr::null_mut()
            ),
            azmi_status::AZMI_OK
        );
        assert_eq!(calls.last().map(|c| c.0), Some(data.len() as u64));
        assert!(std::fs::read(&back).unwrap() == data);
        azmi_blob_free(blob);
    }
}
