//! Keeps the hand-written C header `recpim_plugin.h` in sync with the Rust definitions in
//! `src/lib.rs`: the same constants with the same values, the same structs with the same fields
//! in the same order with corresponding types, the entry point's prototype, and (when a C
//! compiler is available) the same field offsets and struct sizes as the compiled Rust.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::Path;
use std::process::Command;

use recpim_plugin_api::*;

const HEADER: &str = include_str!("../recpim_plugin.h");
const RUST_SOURCE: &str = include_str!("../src/lib.rs");

/// One struct field: name, canonical type (Rust spelling), nullable function pointer or not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    name: String,
    ty: String,
    nullable: bool,
}

// ---------------------------------------------------------------- Rust side

fn rust_constants() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in RUST_SOURCE.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("pub const RECPIM_") else {
            continue;
        };
        let (name, rest) = rest.split_once(':').expect("const has a type");
        let (_, value) = rest.split_once('=').expect("const has a value");
        let value = value.trim().trim_end_matches(';').trim().trim_matches('"');
        out.insert(format!("RECPIM_{name}"), value.to_string());
    }
    out
}

/// The text between the braces of `pub struct NAME {`, without doc comments.
fn rust_struct_body(name: &str) -> String {
    let start = RUST_SOURCE
        .find(&format!("pub struct {name} {{"))
        .unwrap_or_else(|| panic!("Rust struct {name} not found"));
    let body = &RUST_SOURCE[start..];
    let open = body.find('{').unwrap();
    let close = body.find("\n}").unwrap();
    body[open + 1..close]
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//") && !l.starts_with("#["))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits at commas that are not inside (), <> (with the `>` of "->" hidden first).
fn split_top_level(text: &str) -> Vec<String> {
    let text = text.replace("->", "\u{2192}");
    let mut parts = Vec::new();
    let (mut depth, mut current) = (0i32, String::new());
    for c in text.chars() {
        match c {
            '(' | '<' => depth += 1,
            ')' | '>' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            parts.push(current.trim().to_string());
            current.clear();
        } else {
            current.push(c);
        }
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_string());
    }
    parts
        .into_iter()
        .map(|p| p.replace('\u{2192}', "->"))
        .collect()
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Canonical form of a Rust field type: plain types as written, function pointers as
/// `fn(name: type, ...) -> ret` with a unit return spelled `()`.
fn canonical_rust_type(ty: &str) -> (String, bool) {
    let ty = squash(ty);
    let (ty, nullable) = match ty.strip_prefix("Option<").and_then(|t| t.strip_suffix('>')) {
        Some(inner) => (inner.trim().trim_end_matches(',').trim().to_string(), true),
        None => (ty, false),
    };
    let Some(sig) = ty.strip_prefix("unsafe extern \"C\" fn") else {
        return (ty, nullable);
    };
    let sig = sig.trim();
    let close = sig
        .rfind(')')
        .expect("fn signature has a closing parenthesis");
    let params = split_top_level(sig[1..close].trim())
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, ty) = p.split_once(':').expect("named parameter");
            format!("{}: {}", name.trim(), squash(ty))
        })
        .collect::<Vec<_>>();
    let ret = sig[close + 1..]
        .trim()
        .strip_prefix("->")
        .map(str::trim)
        .unwrap_or("()")
        .to_string();
    (format!("fn({}) -> {}", params.join(", "), ret), nullable)
}

fn rust_fields(name: &str) -> Vec<Field> {
    split_top_level(&rust_struct_body(name))
        .into_iter()
        .map(|field| {
            let field = field.strip_prefix("pub ").expect("public field");
            let (name, ty) = field.split_once(':').expect("field has a type");
            let (ty, nullable) = canonical_rust_type(ty);
            Field {
                name: name.trim().to_string(),
                ty,
                nullable,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- C side

fn strip_c_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("closed comment");
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

fn c_constants() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in strip_c_comments(HEADER).lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("#define RECPIM_") else {
            continue;
        };
        let Some((name, value)) = rest.split_once(char::is_whitespace) else {
            continue;
        };
        out.insert(
            format!("RECPIM_{name}"),
            value.trim().trim_matches('"').to_string(),
        );
    }
    out
}

/// Rust spelling of a C type (whitespace-insensitive around `*`).
fn c_type_to_rust(c_type: &str) -> String {
    let stars = c_type.matches('*').count();
    let base = squash(&c_type.replace('*', " "));
    let rust = match (base.as_str(), stars) {
        ("uint32_t", 0) => "u32",
        ("int32_t", 0) => "i32",
        ("double", 0) => "f64",
        ("void", 0) => "()",
        ("const char", 1) => "*const c_char",
        ("char", 1) => "*mut c_char",
        ("const char", 2) => "*mut *const c_char",
        ("char", 2) => "*mut *mut c_char",
        ("double", 1) => "*mut f64",
        ("const RecpimPluginVTable", 1) => "*const RecpimPluginVTable",
        _ => panic!("recpim_plugin.h uses C type `{c_type}` that this test cannot map to Rust; extend c_type_to_rust"),
    };
    rust.to_string()
}

/// Splits a C declaration `type name` (the name is the last identifier).
fn split_c_declaration(decl: &str) -> (String, String) {
    let decl = decl.trim();
    let name_start = decl
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    (
        decl[..name_start].trim().to_string(),
        decl[name_start..].to_string(),
    )
}

fn c_fields(name: &str) -> Vec<Field> {
    let start = HEADER
        .find(&format!("typedef struct {name} {{"))
        .unwrap_or_else(|| panic!("C struct {name} not found"));
    let body = &HEADER[start..];
    let close = body
        .find(&format!("}} {name};"))
        .unwrap_or_else(|| panic!("C struct {name} not closed by `}} {name};`"));
    let body = &body[body.find('{').unwrap() + 1..close];
    let mut fields = Vec::new();
    let mut pending_comment = String::new();
    let mut rest = body;
    loop {
        let rest_trimmed = rest.trim_start();
        if let Some(after) = rest_trimmed.strip_prefix("/*") {
            let end = after.find("*/").expect("closed comment");
            pending_comment = after[..end].to_string();
            rest = &after[end + 2..];
            continue;
        }
        let Some(semi) = rest_trimmed.find(';') else {
            break;
        };
        let decl = squash(&rest_trimmed[..semi]);
        rest = &rest_trimmed[semi + 1..];
        let field = if let Some(open) = decl.find("(*") {
            // Function pointer: RET (*name)(PARAMS)
            let ret = c_type_to_rust(&decl[..open]);
            let name_end = decl[open..].find(')').unwrap() + open;
            let name = decl[open + 2..name_end].trim().to_string();
            let params_text = &decl[name_end + 1..];
            let params_text = params_text
                .trim()
                .strip_prefix('(')
                .and_then(|p| p.strip_suffix(')'))
                .expect("parameter list");
            let params: Vec<String> = if params_text.trim() == "void" {
                Vec::new()
            } else {
                params_text
                    .split(',')
                    .map(|p| {
                        let (ty, name) = split_c_declaration(p);
                        format!("{name}: {}", c_type_to_rust(&ty))
                    })
                    .collect()
            };
            let nullable = pending_comment.contains("may be NULL");
            Field {
                name,
                ty: format!("fn({}) -> {ret}", params.join(", ")),
                nullable,
            }
        } else {
            let (ty, name) = split_c_declaration(&decl);
            Field {
                name,
                ty: c_type_to_rust(&ty),
                nullable: false,
            }
        };
        fields.push(field);
        pending_comment.clear();
    }
    fields
}

// ---------------------------------------------------------------- tests

#[test]
fn constants_match_in_name_and_value() {
    let rust = rust_constants();
    let c = c_constants();
    assert_eq!(
        rust, c,
        "RECPIM_* constants differ between src/lib.rs and recpim_plugin.h"
    );
    // The source parse must agree with the compiled values, so the comparison above is meaningful.
    let compiled: BTreeMap<String, String> = [
        (
            "RECPIM_PLUGIN_ABI_VERSION",
            RECPIM_PLUGIN_ABI_VERSION.to_string(),
        ),
        (
            "RECPIM_PLUGIN_ENTRY_SYMBOL",
            RECPIM_PLUGIN_ENTRY_SYMBOL.to_string(),
        ),
        (
            "RECPIM_PLUGIN_THREAD_SAFE",
            RECPIM_PLUGIN_THREAD_SAFE.to_string(),
        ),
        (
            "RECPIM_PLUGIN_NOT_THREAD_SAFE",
            RECPIM_PLUGIN_NOT_THREAD_SAFE.to_string(),
        ),
        ("RECPIM_STATUS_OK", RECPIM_STATUS_OK.to_string()),
        (
            "RECPIM_STATUS_INVALID_ARGUMENT",
            RECPIM_STATUS_INVALID_ARGUMENT.to_string(),
        ),
        (
            "RECPIM_STATUS_INVALID_JSON",
            RECPIM_STATUS_INVALID_JSON.to_string(),
        ),
        (
            "RECPIM_STATUS_UNSUPPORTED",
            RECPIM_STATUS_UNSUPPORTED.to_string(),
        ),
        (
            "RECPIM_STATUS_EVALUATION_FAILED",
            RECPIM_STATUS_EVALUATION_FAILED.to_string(),
        ),
        ("RECPIM_STATUS_PANIC", RECPIM_STATUS_PANIC.to_string()),
        ("RECPIM_STATUS_INTERNAL", RECPIM_STATUS_INTERNAL.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(
        rust, compiled,
        "parsed constants differ from the compiled ones; update this list"
    );
    for (name, value) in &compiled {
        if name.starts_with("RECPIM_STATUS_") {
            assert_eq!(status_name(value.parse().unwrap()), Some(name.as_str()));
        }
    }
}

#[test]
fn structs_match_field_by_field() {
    for name in ["RecpimPluginHeader", "RecpimPluginVTable"] {
        let rust = rust_fields(name);
        let c = c_fields(name);
        assert!(!rust.is_empty());
        assert_eq!(
            rust, c,
            "struct {name} differs between src/lib.rs and recpim_plugin.h"
        );
    }
    let vtable = rust_fields("RecpimPluginVTable");
    let names: Vec<&str> = vtable.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        &names[..2],
        ["abi_version", "struct_size"],
        "the vtable must start with the header fields"
    );
    assert!(vtable
        .iter()
        .any(|f| f.name == "evaluate_accuracy" && f.nullable));
}

#[test]
fn entry_point_prototype_matches() {
    let prototype = format!("const RecpimPluginVTable *{RECPIM_PLUGIN_ENTRY_SYMBOL}(void);");
    assert!(
        strip_c_comments(HEADER)
            .lines()
            .any(|l| squash(l) == prototype),
        "header lacks `{prototype}`"
    );
    let alias = squash(
        RUST_SOURCE
            .lines()
            .find(|l| l.starts_with("pub type RecpimPluginEntryFn"))
            .expect("entry alias"),
    );
    assert_eq!(
        alias,
        "pub type RecpimPluginEntryFn = unsafe extern \"C\" fn() -> *const RecpimPluginVTable;"
    );
}

/// Offsets of the compiled Rust vtable, by field name.
fn rust_vtable_offsets() -> Vec<(&'static str, usize)> {
    vec![
        ("abi_version", offset_of!(RecpimPluginVTable, abi_version)),
        ("struct_size", offset_of!(RecpimPluginVTable, struct_size)),
        ("thread_safe", offset_of!(RecpimPluginVTable, thread_safe)),
        ("reserved", offset_of!(RecpimPluginVTable, reserved)),
        ("name", offset_of!(RecpimPluginVTable, name)),
        ("version", offset_of!(RecpimPluginVTable, version)),
        (
            "search_space_json",
            offset_of!(RecpimPluginVTable, search_space_json),
        ),
        (
            "workload_json",
            offset_of!(RecpimPluginVTable, workload_json),
        ),
        (
            "evaluate_accuracy",
            offset_of!(RecpimPluginVTable, evaluate_accuracy),
        ),
        ("free_string", offset_of!(RecpimPluginVTable, free_string)),
        ("last_error", offset_of!(RecpimPluginVTable, last_error)),
    ]
}

#[test]
fn rust_layout_has_no_hidden_padding() {
    let offsets = rust_vtable_offsets();
    let parsed: Vec<String> = rust_fields("RecpimPluginVTable")
        .into_iter()
        .map(|f| f.name)
        .collect();
    let listed: Vec<String> = offsets.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        parsed, listed,
        "update rust_vtable_offsets() to the struct's fields"
    );
    // Each field starts where the previous one ends: four u32 then pointers.
    let ptr = size_of::<usize>();
    let mut expected = 0;
    for (name, offset) in &offsets {
        assert_eq!(*offset, expected, "field {name}");
        expected += if expected < 16 { 4 } else { ptr };
    }
    assert_eq!(VTABLE_SIZE as usize, expected);
}

#[test]
fn c_compiler_agrees_on_layout() {
    let Some(compiler) = ["cc", "gcc", "clang"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
    else {
        eprintln!("skipping: no C compiler (cc, gcc, clang) on PATH");
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("recpim-plugin-header-layout");
    std::fs::create_dir_all(&dir).unwrap();
    let offsets = rust_vtable_offsets();
    let mut program = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"recpim_plugin.h\"\nint main(void) {\n",
    );
    for (name, _) in &offsets {
        program.push_str(&format!(
            "  printf(\"{name} %zu\\n\", offsetof(RecpimPluginVTable, {name}));\n"
        ));
    }
    program.push_str("  printf(\"sizeof_vtable %zu\\n\", sizeof(RecpimPluginVTable));\n");
    program.push_str(
        "  printf(\"sizeof_header %zu\\n\", sizeof(RecpimPluginHeader));\n  return 0;\n}\n",
    );
    let source = dir.join("layout.c");
    let binary = dir.join("layout");
    std::fs::write(&source, program).unwrap();
    let include = concat!(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(compiler)
        .args(["-std=c99", "-Wall", "-Werror", "-I", include, "-o"])
        .arg(&binary)
        .arg(&source)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "{compiler} failed to compile a program including recpim_plugin.h"
    );
    let output = Command::new(&binary).output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let c_layout: Vec<(String, usize)> = text
        .lines()
        .map(|l| {
            let (n, v) = l.split_once(' ').unwrap();
            (n.to_string(), v.parse().unwrap())
        })
        .collect();
    let mut rust_layout: Vec<(String, usize)> = offsets
        .into_iter()
        .map(|(n, o)| (n.to_string(), o))
        .collect();
    rust_layout.push(("sizeof_vtable".into(), size_of::<RecpimPluginVTable>()));
    rust_layout.push(("sizeof_header".into(), size_of::<RecpimPluginHeader>()));
    assert_eq!(c_layout, rust_layout);
}
