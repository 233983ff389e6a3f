//! Every Rust name the generator makes comes from here: case conversion,
//! keyword escaping, enum prefix stripping and de-duplication.

use std::collections::HashSet;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

/// Rust keywords (all editions, strict and reserved) that need `r#` or a suffix.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers; they get a trailing underscore.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Escapes `name` if it is a Rust keyword: `type` -> `r#type`, `self` -> `self_`.
pub fn escape(name: String) -> String {
    if NOT_RAW.contains(&name.as_str()) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name
    }
}

/// A field, module or method name: `snake_case`, escaped.
pub fn snake(name: &str) -> String {
    let s = name.to_snake_case();
    escape(if s.is_empty() { "_".to_owned() } else { s })
}

/// A type or variant name: `UpperCamelCase`, escaped.
pub fn camel(name: &str) -> String {
    let s = name.to_upper_camel_case();
    escape(if s.is_empty() { "_".to_owned() } else { s })
}

/// Enum variant name for value `value` of enum `enum_name`: the enum's name
/// in SHOUTY_SNAKE as a prefix is dropped (`COLOR_RED` in `Color` -> `Red`)
/// unless what is left would not be a valid identifier.
pub fn enum_variant(enum_name: &str, value: &str) -> String {
    let prefix = enum_name.to_shouty_snake_case();
    let stripped = value
        .strip_prefix(prefix.as_str())
        .map(|rest| rest.trim_start_matches('_'))
        .filter(|rest| !rest.is_empty() && !rest.starts_with(|c: char| c.is_ascii_digit()));
    camel(stripped.unwrap_or(value))
}

/// A constant's name (extensions): SHOUTY_SNAKE_CASE of the proto name.
pub fn constant(name: &str) -> String {
    escape(name.to_shouty_snake_case())
}

/// The static holding the embedded descriptor of `file`
/// (`greeter/v1/greeter.proto` -> `DESCRIPTOR_GREETER_V1_GREETER`): a pure
/// function of the file name, so that code generated separately for an
/// importing file names the same static.
pub fn descriptor_static(file: &str) -> String {
    let stem = file.strip_suffix(".proto").unwrap_or(file);
    let mut out = String::from("DESCRIPTOR_");
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push('_');
        }
    }
    out
}

/// Name of the per-package list of embedded descriptors.
pub const FILE_DESCRIPTORS: &str = "FILE_DESCRIPTORS";

/// Hands out names unique within one scope (a module or a struct), adding
/// `_` suffixes on clashes, in the order names are requested.
#[derive(Default)]
pub struct Scope {
    taken: HashSet<String>,
}

impl Scope {
    /// A scope in which `reserved` names are already taken.
    pub fn with_reserved(reserved: &[&str]) -> Self {
        Self {
            taken: reserved.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Marks `name` as taken without handing it out (names that something
    /// outside this scope already uses).
    pub fn reserve(&mut self, name: &str) {
        self.taken.insert(name.trim_start_matches("r#").to_owned());
    }

    /// `name`, or `name_`, `name__`, ... if already taken.
    pub fn claim(&mut self, name: String) -> String {
        let mut candidate = name;
        while self.taken.contains(candidate.trim_start_matches("r#")) {
            candidate = format!("{}_", candidate.trim_start_matches("r#"));
        }
        self.taken
            .insert(candidate.trim_start_matches("r#").to_owned());
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_escaped() {
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(camel("Self"), "Self_");
        assert_eq!(snake("super"), "super_");
        assert_eq!(snake("async"), "r#async");
        assert_eq!(snake("fooBar"), "foo_bar");
        assert_eq!(camel("foo_bar"), "FooBar");
    }

    #[test]
    fn enum_prefixes_are_stripped() {
        assert_eq!(enum_variant("Color", "COLOR_RED"), "Red");
        assert_eq!(enum_variant("Color", "RED"), "Red");
        assert_eq!(enum_variant("NestedEnum", "NESTED_ENUM_2"), "NestedEnum2");
        assert_eq!(enum_variant("Color", "COLOR"), "Color");
    }

    #[test]
    fn scope_suffixes_clashes() {
        let mut s = Scope::with_reserved(&["unknown_fields"]);
        assert_eq!(s.claim("unknown_fields".into()), "unknown_fields_");
        assert_eq!(s.claim("foo".into()), "foo");
        assert_eq!(s.claim("foo".into()), "foo_");
        assert_eq!(s.claim("r#type".into()), "r#type");
        assert_eq!(s.claim("r#type".into()), "type_");
    }
}
