//! Generates include/azmi.h from the C ABI in src/ffi with cbindgen. The header is committed;
//! tests/header.rs fails when the committed header differs from the generated one.

use std::path::{Path, PathBuf};

// The status table (`status_table!`, `status_doc!`), shared with the library.
include!("src/status.rs");

/// `azmi_status` written out from the status table, for cbindgen, which does not expand the
/// macro that writes it in src/ffi/status.rs.
macro_rules! azmi_status_source {
    ($($name:ident = $value:literal, $c:ident, $doc:literal;)*) => {{
        let mut rust = format!("/// {}\n#[repr(u32)]\npub enum azmi_status {{\n", status_doc!());
        $(rust.push_str(&format!("    /// {}\n    {} = {},\n", $doc, stringify!($c), $value));)*
        rust.push_str("}\n");
        rust
    }};
}

/// Writes the status enum for cbindgen into `out_dir` and returns its path.
fn write_status_source(out_dir: &Path) -> PathBuf {
    let path = out_dir.join("azmi_status.rs");
    std::fs::write(&path, status_table!(azmi_status_source)).expect("OUT_DIR is writable");
    path
}

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=src/status.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=AZMI_WRITE_HEADER");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let out = out_dir.join("azmi.h");
    match cbindgen::Builder::new()
        .with_src(write_status_source(&out_dir))
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
