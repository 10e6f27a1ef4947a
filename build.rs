//! Generates include/azmi.h from the C ABI in src/ffi with cbindgen. The header is committed;
//! tests/header.rs fails when the committed header differs from the generated one.
//! Also names the shared library after its ABI (SONAME on Linux, install name on macOS): see
//! docs/abi.md.

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
    // cbindgen reads the whole crate (a public constant anywhere in src/ reaches the header),
    // so any change under src/ regenerates it: with src/ffi alone, a warm build kept a stale
    // header and the drift test passed here while a fresh clone failed it.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=AZMI_WRITE_HEADER");
    name_the_shared_library();
    link_against_the_glibc_floor();
    embed_windows_version_resource();
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

/// The ABI name of this version (docs/abi.md): the major version from 1.0 on, and "0.<minor>"
/// before, since 0.x releases may break the ABI with each minor version (as Cargo's semver
/// rules treat them). scripts/package.sh and tests/abi.rs compute the same name.
fn abi_name() -> String {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo");
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("set by cargo");
    if major == "0" {
        format!("0.{minor}")
    } else {
        major
    }
}

/// Programs linked against libazmi record the name set here, so that they load only a library
/// with the same ABI: libazmi.so.<abi> on Linux (the C SDK ships libazmi.so.<version> with the
/// libazmi.so.<abi> and libazmi.so links), @rpath/libazmi.<abi>.dylib on macOS. The PowerShell
/// module and .NET callers load the library by path, which these names do not affect.
fn name_the_shared_library() {
    let abi = abi_name();
    match std::env::var("CARGO_CFG_TARGET_OS").as_deref() {
        Ok("linux") => println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libazmi.so.{abi}"),
        Ok("macos") => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libazmi.{abi}.dylib")
        }
        _ => {}
    }
}

/// Linux (glibc): the shared library is linked against the C library of Debian 11 (glibc 2.31,
/// the root scripts/setup.sh makes at target/cross/bullseye), not the build machine's: a library
/// needs the newest glibc symbol version it was linked against, and one linked against glibc
/// 2.36 does not load on Debian 11, Ubuntu 20.04, SLES 15 or RHEL 8. Only the cdylib's link
/// changes (the static library is linked by its user). `AZMI_GLIBC_SYSROOT` names another root;
/// without one the machine's own glibc is used, with a warning for release builds.
/// tests/c/floor_test.sh checks the floor of what ships.
fn link_against_the_glibc_floor() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "gnu" {
        return;
    }
    println!("cargo:rerun-if-env-changed=AZMI_GLIBC_SYSROOT");
    println!("cargo:rerun-if-env-changed=AZMI_CROSS_ROOTS");
    let sysroot = match std::env::var_os("AZMI_GLIBC_SYSROOT") {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("AZMI_CROSS_ROOTS") {
            Some(roots) => PathBuf::from(roots).join("bullseye"),
            None => PathBuf::from(var("CARGO_MANIFEST_DIR")).join("target/cross/bullseye"),
        },
    };
    // The root's stamp, written when it is complete: its appearance relinks.
    let stamp = sysroot.join(".azmi-root");
    println!("cargo:rerun-if-changed={}", stamp.display());
    if !stamp.exists() {
        if var("PROFILE") == "release" {
            println!(
                "cargo:warning=libazmi.so is linked against this machine's glibc, not glibc 2.31 \
                 ({} is missing: scripts/setup.sh makes it); it will not load on older systems",
                sysroot.display()
            );
        }
        return;
    }
    let root = sysroot.display();
    println!("cargo:rustc-cdylib-link-arg=--sysroot={root}");
    link_the_floor_shim();
    match var("CARGO_CFG_TARGET_ARCH").as_str() {
        "x86_64" => {
            println!("cargo:rustc-cdylib-link-arg=-L{root}/usr/lib/x86_64-linux-gnu");
            println!("cargo:rustc-cdylib-link-arg=-L{root}/lib/x86_64-linux-gnu");
        }
        // The cross compiler's own libc and libgcc_s are trixie's: take bullseye's arm64 ones.
        "aarch64" => {
            println!("cargo:rustc-cdylib-link-arg=-L{root}/usr/aarch64-linux-gnu/lib");
            println!("cargo:rustc-cdylib-link-arg=-B{root}/usr/aarch64-linux-gnu/lib");
        }
        _ => {}
    }
}

/// native/glibc_floor.c (why: its comment), handed to the cdylib's link only: the static
/// library and the rlib stay without it, so no program linking libazmi.a gets a gettid of ours.
/// Compiled with the compiler's own headers: it needs only system call numbers, which never
/// change (the floor root's /usr/include is x86_64's, wrong for arm64).
fn link_the_floor_shim() {
    println!("cargo:rerun-if-changed=native/glibc_floor.c");
    let objects = cc::Build::new()
        .file("native/glibc_floor.c")
        .warnings_into_errors(true)
        .compile_intermediates();
    for object in objects {
        println!("cargo:rustc-cdylib-link-arg={}", object.display());
    }
    // libm again after the object: rustc's -lm comes first, and with --as-needed the linker has
    // dropped it there when nothing but the wrapped pow needed it (arm64).
    println!("cargo:rustc-cdylib-link-arg=-lm");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--wrap=pow");
}

/// Windows: the DLL's version resource (Explorer's "Details", `(Get-Item azmi.dll).VersionInfo`),
/// file and product version = the crate version. Compiled by MinGW's windres for the -gnu
/// target and by the Windows SDK's rc.exe for -msvc (`WINDRES` / `RC` name another), linked
/// into the cdylib only. A Windows build without it is refused rather than shipped unversioned.
fn embed_windows_version_resource() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    println!("cargo:rerun-if-env-changed=WINDRES");
    println!("cargo:rerun-if-env-changed=RC");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let version = std::env::var("CARGO_PKG_VERSION").expect("set by cargo");
    let numbers = ["MAJOR", "MINOR", "PATCH"]
        .map(|part| std::env::var(format!("CARGO_PKG_VERSION_{part}")).expect("set by cargo"));
    let binary = format!("{},{},{},0", numbers[0], numbers[1], numbers[2]);
    let description = std::env::var("CARGO_PKG_DESCRIPTION").unwrap_or_default();
    // No #include: the constants of <winver.h> are written out (VOS_NT_WINDOWS32, VFT_DLL).
    let rc = format!(
        r#"1 VERSIONINFO
FILEVERSION {binary}
PRODUCTVERSION {binary}
FILEFLAGSMASK 0x3f
FILEFLAGS 0x0
FILEOS 0x40004
FILETYPE 0x2
FILESUBTYPE 0x0
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904b0"
    BEGIN
      VALUE "CompanyName", "azmi contributors"
      VALUE "FileDescription", "{description}"
      VALUE "FileVersion", "{version}"
      VALUE "InternalName", "azmi"
      VALUE "LegalCopyright", "MIT License"
      VALUE "OriginalFilename", "azmi.dll"
      VALUE "ProductName", "azmi"
      VALUE "ProductVersion", "{version}"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
"#,
        description = description.replace('"', "\"\"")
    );
    let rc_path = out_dir.join("azmi-version.rc");
    std::fs::write(&rc_path, rc).expect("OUT_DIR is writable");
    let msvc = std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("msvc");
    let (tool, compiled, args): (String, PathBuf, Vec<std::ffi::OsString>) = if msvc {
        let res = out_dir.join("azmi-version.res");
        let tool = std::env::var("RC").unwrap_or_else(|_| "rc.exe".into());
        let args = vec![
            "/nologo".into(),
            "/fo".into(),
            res.clone().into(),
            rc_path.into(),
        ];
        (tool, res, args)
    } else {
        let obj = out_dir.join("azmi-version.o");
        let tool = std::env::var("WINDRES").unwrap_or_else(|_| {
            let prefixed = "x86_64-w64-mingw32-windres";
            let found = std::process::Command::new(prefixed)
                .arg("--version")
                .output();
            if found.is_ok() {
                prefixed.into()
            } else {
                "windres".into()
            }
        });
        let args = vec![
            "-O".into(),
            "coff".into(),
            "-i".into(),
            rc_path.into(),
            "-o".into(),
            obj.clone().into(),
        ];
        (tool, obj, args)
    };
    match std::process::Command::new(&tool).args(&args).status() {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("{tool} failed ({status}) compiling the DLL's version resource"),
        Err(e) => panic!(
            "{tool} was not found ({e}): a Windows build needs it for the DLL's version resource \
             (MinGW: binutils-mingw-w64; MSVC: the Windows SDK's rc.exe, on PATH in a developer \
             prompt, or named by RC)"
        ),
    }
    println!("cargo:rustc-cdylib-link-arg={}", compiled.display());
}
