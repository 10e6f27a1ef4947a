//! The ABI promise of docs/abi.md: everything C callers can use from include/azmi.h (functions,
//! callback types, constants, opaque types) is listed in `abi/azmi-<abi>.symbols`, where `<abi>`
//! is the major version (or `0.<minor>` while the major is 0). A listed item may not disappear
//! or change its signature unless the version in Cargo.toml moves to a new ABI name; items
//! added to the header must be appended to the list (scripts/update-abi.sh does it), so that
//! they are promised too from then on.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One item of the C interface: its kind, name and signature without parameter names, e.g.
/// `function azmi_version const char *(void)`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Item {
    kind: &'static str,
    name: String,
    signature: String,
}

impl Item {
    fn line(&self) -> String {
        if self.signature.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {} {}", self.kind, self.name, self.signature)
        }
    }

    fn parse_line(line: &str) -> Option<Item> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (kind, rest) = line.split_once(' ')?;
        let kind = ["function", "callback", "constant", "type"]
            .into_iter()
            .find(|k| *k == kind)?;
        let (name, signature) = rest.split_once(' ').unwrap_or((rest, ""));
        Some(Item {
            kind,
            name: name.to_string(),
            signature: signature.trim().to_string(),
        })
    }
}

/// The ABI name of a version: "1" for 1.4.2, "0.1" for 0.1.7 (build.rs computes the same).
fn abi_name(version: &str) -> String {
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or("0");
    let minor = parts.next().unwrap_or("0");
    if major == "0" {
        format!("0.{minor}")
    } else {
        major.to_string()
    }
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A parameter or return type without its name, spaced as cbindgen writes it: `const char *`.
fn type_of_parameter(param: &str) -> String {
    let param = collapse_spaces(param);
    if param == "void" {
        return param;
    }
    let name_start = param
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    param[..name_start].trim_end().to_string()
}

fn parameter_types(params: &str) -> String {
    let types: Vec<String> = params.split(',').map(type_of_parameter).collect();
    format!("({})", types.join(", "))
}

fn without_comments(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    let mut rest = header;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    out.push_str(rest);
    out.lines()
        .map(|line| line.find("//").map_or(line, |i| &line[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every item of the C interface a header declares, in header order.
fn items_of_header(header: &str) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    let mut code = String::new();
    for line in without_comments(header).lines() {
        let line = line.trim();
        if let Some(define) = line.strip_prefix("#define ") {
            let (name, value) = define.split_once(' ').unwrap_or((define, ""));
            if name != "AZMI_H" {
                items.push(Item {
                    kind: "constant",
                    name: name.to_string(),
                    signature: collapse_spaces(value),
                });
            }
        } else if !(line.starts_with('#') || line == "extern \"C\" {" || line == "}") {
            code.push_str(line);
            code.push('\n');
        }
    }
    for statement in code.split(';').map(collapse_spaces) {
        if statement.is_empty() {
            continue;
        }
        if let Some(enumeration) = statement.strip_prefix("enum ") {
            let (name, body) = enumeration.split_once('{').expect("an enum has a body");
            let name = name.split(':').next().unwrap_or(name).trim();
            items.push(Item {
                kind: "type",
                name: name.to_string(),
                signature: String::new(),
            });
            for constant in body.trim_end_matches('}').split(',') {
                if let Some((name, value)) = constant.split_once('=') {
                    items.push(Item {
                        kind: "constant",
                        name: name.trim().to_string(),
                        signature: value.trim().to_string(),
                    });
                }
            }
        } else if let Some(typedef) = statement.strip_prefix("typedef ") {
            if let Some((ret, rest)) = typedef.split_once("(*") {
                let (name, params) = rest.split_once(")(").expect("a callback has parameters");
                items.push(Item {
                    kind: "callback",
                    name: name.trim().to_string(),
                    signature: format!(
                        "{} (*){}",
                        ret.trim(),
                        parameter_types(params.trim_end_matches(')'))
                    ),
                });
            } else {
                let name = typedef.rsplit(' ').next().unwrap_or(typedef).to_string();
                // `azmi_status` is both the enum's typedef and (before C23) uint32_t's.
                if !items.iter().any(|i| i.kind == "type" && i.name == name) {
                    items.push(Item {
                        kind: "type",
                        name,
                        signature: String::new(),
                    });
                }
            }
        } else {
            let (head, params) = statement
                .split_once('(')
                .unwrap_or_else(|| panic!("not a function declaration: {statement}"));
            let name_start = head
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            items.push(Item {
                kind: "function",
                name: head[name_start..].to_string(),
                signature: format!(
                    "{}{}",
                    head[..name_start].trim_end(),
                    parameter_types(params.trim_end_matches(')'))
                ),
            });
        }
    }
    items
}

/// What breaks the promise of `listed`, given what `header` declares: one line per problem.
/// Items the header adds are problems too (they must be appended to the list).
fn broken_promises(listed: &[Item], header: &[Item]) -> Vec<String> {
    let declared: BTreeMap<&str, &Item> = header.iter().map(|i| (i.name.as_str(), i)).collect();
    let mut problems = Vec::new();
    for item in listed {
        match declared.get(item.name.as_str()) {
            None => problems.push(format!("{} {} was removed", item.kind, item.name)),
            Some(now) if *now != item => problems.push(format!(
                "{} {} changed: was `{}`, is `{}`",
                item.kind,
                item.name,
                item.line(),
                now.line()
            )),
            Some(_) => {}
        }
    }
    let listed_names: Vec<&str> = listed.iter().map(|i| i.name.as_str()).collect();
    for item in header {
        if !listed_names.contains(&item.name.as_str()) {
            problems.push(format!(
                "{} {} is new: append it with scripts/update-abi.sh",
                item.kind, item.name
            ));
        }
    }
    problems
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn committed_header() -> String {
    std::fs::read_to_string(root().join("include/azmi.h")).expect("include/azmi.h is committed")
}

fn symbols_file() -> (String, PathBuf) {
    let abi = abi_name(env!("CARGO_PKG_VERSION"));
    let path = root().join(format!("abi/azmi-{abi}.symbols"));
    (abi, path)
}

fn read_list(text: &str) -> Vec<Item> {
    text.lines().filter_map(Item::parse_line).collect()
}

const LIST_PREAMBLE: &str = "\
# The C interface promised by this ABI (docs/abi.md): one item a line, in the order it was
# added. tests/abi.rs fails when include/azmi.h loses or changes a listed item, and when it
# declares one not listed yet. scripts/update-abi.sh appends new items; never edit or delete a
# line: a change that breaks one needs a new ABI name (a new major version, or minor while 0.x).
";

/// With AZMI_WRITE_ABI set (scripts/update-abi.sh): appends the header's new items to the list
/// of this version's ABI, creating it for a new ABI name. Listed items are never rewritten.
fn append_new_items() {
    let (abi, path) = symbols_file();
    let mut text =
        std::fs::read_to_string(&path).unwrap_or_else(|_| format!("{LIST_PREAMBLE}# ABI {abi}\n"));
    let listed = read_list(&text);
    for item in items_of_header(&committed_header()) {
        if !listed.iter().any(|l| l.name == item.name) {
            text.push_str(&item.line());
            text.push('\n');
        }
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
}

#[test]
fn the_header_keeps_every_promise_of_this_abi() {
    if std::env::var_os("AZMI_WRITE_ABI").is_some() {
        append_new_items();
    }
    let (abi, path) = symbols_file();
    let Ok(text) = std::fs::read_to_string(&path) else {
        panic!(
            "version {} has ABI {abi}, but {} does not exist: run scripts/update-abi.sh and commit it",
            env!("CARGO_PKG_VERSION"),
            path.display()
        );
    };
    let problems = broken_promises(&read_list(&text), &items_of_header(&committed_header()));
    assert!(
        problems.is_empty(),
        "include/azmi.h breaks the promise of {}:\n  {}\nA removed or changed item needs a new ABI \
         name: raise the version in Cargo.toml (the minor while the major is 0, else the major), \
         say so in CHANGELOG.md, then run scripts/update-abi.sh. New items only need \
         scripts/update-abi.sh.",
        path.display(),
        problems.join("\n  ")
    );
}

#[test]
fn everything_the_header_declares_is_in_azmis_namespace() {
    let outside: Vec<String> = items_of_header(&committed_header())
        .into_iter()
        .filter(|i| !(i.name.starts_with("azmi_") || i.name.starts_with("AZMI_")))
        .map(|i| i.line())
        .collect();
    assert!(
        outside.is_empty(),
        "include/azmi.h declares names C programs could clash with (exclude them in \
         cbindgen.toml or name them azmi_*/AZMI_*): {outside:?}"
    );
}

#[test]
fn abi_names_follow_the_major_version_and_the_minor_before_1_0() {
    assert_eq!(abi_name("0.1.0"), "0.1");
    assert_eq!(abi_name("0.1.9"), "0.1");
    assert_eq!(abi_name("0.2.0"), "0.2");
    assert_eq!(abi_name("1.0.0"), "1");
    assert_eq!(abi_name("1.7.3"), "1");
    assert_eq!(abi_name("2.0.0-rc.1"), "2");
}

const SAMPLE: &str = r#"
#define AZMI_FLAG_FORCE_REFRESH 1
enum azmi_status
#if defined(__cplusplus)
  : uint32_t
#endif
 {
  /**
   * Success.
   */
  AZMI_OK = 0,
  AZMI_INVALID_ARGUMENT = 1,
};
typedef uint32_t azmi_status;
typedef struct azmi_token azmi_token;
typedef void (*azmi_progress_callback)(void *userdata, uint64_t done, int64_t total);
#ifdef __cplusplus
extern "C" {
#endif // __cplusplus
/** The version. */
const char *azmi_version(void);
azmi_status azmi_get_token(const char *resource,
                           uint32_t flags,
                           azmi_token **token_out);
#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus
"#;

#[test]
fn the_header_is_read_as_items_without_parameter_names() {
    let lines: Vec<String> = items_of_header(SAMPLE).iter().map(Item::line).collect();
    assert_eq!(
        lines,
        [
            "constant AZMI_FLAG_FORCE_REFRESH 1",
            "type azmi_status",
            "constant AZMI_OK 0",
            "constant AZMI_INVALID_ARGUMENT 1",
            "type azmi_token",
            "callback azmi_progress_callback void (*)(void *, uint64_t, int64_t)",
            "function azmi_version const char *(void)",
            "function azmi_get_token azmi_status(const char *, uint32_t, azmi_token **)",
        ]
    );
    let reread: Vec<Item> = read_list(&lines.join("\n"));
    assert_eq!(reread, items_of_header(SAMPLE), "list lines read back");
}

#[test]
fn removed_changed_and_unlisted_items_are_reported() {
    let listed = items_of_header(SAMPLE);
    assert!(broken_promises(&listed, &listed).is_empty());
    // Renaming a parameter changes nothing a caller relies on.
    let renamed = SAMPLE.replace("uint32_t flags", "uint32_t options");
    assert!(broken_promises(&listed, &items_of_header(&renamed)).is_empty());

    let removed = SAMPLE.replace("const char *azmi_version(void);", "");
    assert_eq!(
        broken_promises(&listed, &items_of_header(&removed)),
        ["function azmi_version was removed"]
    );
    let changed = SAMPLE.replace("uint32_t flags", "uint64_t flags");
    let problems = broken_promises(&listed, &items_of_header(&changed));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("function azmi_get_token changed"));
    let renumbered = SAMPLE.replace("AZMI_INVALID_ARGUMENT = 1", "AZMI_INVALID_ARGUMENT = 2");
    let problems = broken_promises(&listed, &items_of_header(&renumbered));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("constant AZMI_INVALID_ARGUMENT changed"));
    let callback = SAMPLE.replace("int64_t total", "uint64_t total");
    let problems = broken_promises(&listed, &items_of_header(&callback));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("callback azmi_progress_callback changed"));

    let added = SAMPLE.replace(
        "const char *azmi_version(void);",
        "const char *azmi_version(void);\nvoid azmi_new_thing(void);",
    );
    assert_eq!(
        broken_promises(&listed, &items_of_header(&added)),
        ["function azmi_new_thing is new: append it with scripts/update-abi.sh"]
    );
}
