//! The committed include/azmi.h must be exactly what cbindgen generates from src/ffi, so C
//! callers never compile against a stale ABI. Fix a failure with scripts/update-header.sh.

#[test]
fn committed_header_matches_the_generated_one() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/azmi.h"));
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/azmi.h"))
        .expect("include/azmi.h is committed");
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || committed.lines().count().min(generated.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "include/azmi.h differs from the header generated from src/ffi (first at line {line}); run scripts/update-header.sh and commit it"
        );
    }
}
