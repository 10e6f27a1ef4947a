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

/// `name = number` pairs of an enum body: the lines of the form `NAME = 12,`.
fn members(body: &str) -> Vec<(String, u32)> {
    body.lines()
        .filter_map(|line| {
            let (name, value) = line.trim().trim_end_matches(',').split_once('=')?;
            let name = name.trim();
            let ok =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            Some((name.to_owned(), value.trim().parse().ok().filter(|_| ok)?))
        })
        .collect()
}

/// The body of the first `{ … }` after `start` in `text`.
fn body_after<'a>(text: &'a str, start: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("'{start}' not found"));
    let open = from + text[from..].find('{').expect("an opening brace");
    let close = open + text[open..].find('}').expect("a closing brace");
    &text[open + 1..close]
}

/// `AZMI_IDENTITY_NOT_FOUND` for `IdentityNotFound`.
fn c_name(csharp: &str) -> String {
    let mut name = String::from("AZMI");
    for c in csharp.chars() {
        if c.is_ascii_uppercase() {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// The C# copies of `enum azmi_status`: the module's, the .NET package's (public) and the .NET
/// consumer tests' (the raw-ABI sample, which stands alone on purpose).
const CSHARP_STATUS_ENUMS: [&str; 3] = [
    "powershell/src/Native/AzMiStatus.cs",
    "dotnet/AzMi/AzMiStatus.cs",
    "tests/dotnet/AzMi.Interop.Tests/Native/AzMiStatus.cs",
];

#[test]
fn the_csharp_enums_hold_exactly_the_statuses_of_the_header() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |path: &str| {
        std::fs::read_to_string(format!("{root}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let header = members(body_after(&read("include/azmi.h"), "enum azmi_status"));
    assert!(header.len() > 1, "the header's azmi_status was read");
    for path in CSHARP_STATUS_ENUMS {
        let csharp: Vec<(String, u32)> = members(body_after(&read(path), "enum AzMiStatus"))
            .into_iter()
            .map(|(name, value)| (c_name(&name), value))
            .collect();
        assert_eq!(
            csharp, header,
            "{path} must list the statuses of include/azmi.h, with the same numbers (C# name IdentityNotFound for AZMI_IDENTITY_NOT_FOUND)"
        );
    }
}
