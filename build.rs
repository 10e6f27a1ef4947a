//! Generates include/azmi.h from the C ABI in src/ffi with cbindgen. The header is committed;
//! tests/header.rs fails when the committed header differs from the generated one.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=AZMI_WRITE_HEADER");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("azmi.h");
    match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            bindings.write_to_file(&out);
            // Keep the committed header current when building locally; the drift test
            // compares the committed file with this generated one.
            if std::env::var_os("AZMI_WRITE_HEADER").is_some() {
                bindings.write_to_file(crate_dir.join("include/azmi.h"));
            }
        }
        Err(e) => panic!("cbindgen failed: {e}"),
    }
}
