//! `SourceCodeInfo` comments recovered from `.proto` source text.
//!
//! protoc attaches comments while it parses: only at the tokens that end a
//! declaration (`;`, the `{` that opens a body, the `}` that closes one) does
//! it look at comments, as [`Tokenizer::next_with_comments`] describes; the
//! leading comment found there is kept for the next declaration, the
//! trailing one belongs to the declaration just ended. This module walks the
//! statements of a file the same way, without building descriptors, and
//! records the comments of each named element (message, field, oneof, enum,
//! enum value, service, method) by its name. [`attach`] then finds each
//! element of the descriptor that `protobuf-parse` built and gives it the
//! `SourceCodeInfo` location protoc would have written.

use std::collections::{HashMap, HashSet};

use protobuf::descriptor::source_code_info::Location;
use protobuf::descriptor::{
    DescriptorProto, EnumDescriptorProto, FileDescriptorProto, SourceCodeInfo,
};

use super::tokenizer::{Comments, Kind, Token, Tokenizer};

/// The comments and span of one declaration.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Declared {
    pub leading: String,
    pub trailing: String,
    pub detached: Vec<String>,
    /// `[start line, start column, end line, end column]`, 0-based.
    pub span: [usize; 4],
}

impl Declared {
    /// 1-based line and column where the declaration starts.
    pub fn position(&self) -> (usize, usize) {
        (self.span[0] + 1, self.span[1] + 1)
    }
}

/// The key suffix of a scope's extend blocks: `Outer#extend`.
const EXTEND: &str = "#extend";

/// What a scope holds, for telling its statements apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    File,
    Message,
    Oneof,
    Extend,
    Enum,
    Service,
    /// The `{ option ...; }` body of an rpc.
    Method,
}

/// Declarations by key: `Outer.Inner` for messages and enums (relative to
/// the package), `Outer#field`, `Outer#oneof:name`, `Enum#VALUE`,
/// `Service`, `Service#Method`, and extensions declared in `Outer` (or at
/// file level: empty) `Outer#extend#name`.
pub(crate) struct Declarations {
    /// The first declaration of each key.
    pub by_key: HashMap<String, Declared>,
    /// Where a key is declared a second time, for errors about duplicates.
    pub again: HashMap<String, Declared>,
    /// The number a field is declared with, as written, by field key.
    pub numbers: HashMap<String, String>,
    /// Whether the file starts with `edition = ...` (the pure parser cannot
    /// read editions).
    pub edition: bool,
    /// Every `import` the file makes.
    pub imports: Vec<Import>,
    /// The rpcs (`Service#Method`) written with a `{ ... }` body, which
    /// protoc gives options even when the body is empty.
    pub method_bodies: HashSet<String>,
}

/// One `import` statement.
pub(crate) struct Import {
    /// The imported file's proto name.
    pub name: String,
    /// 0-based position of the `import` keyword.
    pub line: usize,
    pub column: usize,
}

struct Walker<'a> {
    t: Tokenizer<'a>,
    /// The leading comment collected at the end of the previous declaration.
    upcoming: String,
    upcoming_detached: Vec<String>,
    out: Declarations,
}

/// Reads the declarations of one file.
pub(crate) fn declarations(text: &str) -> Declarations {
    let mut w = Walker {
        t: Tokenizer::new(text),
        upcoming: String::new(),
        upcoming_detached: Vec::new(),
        out: Declarations {
            by_key: HashMap::new(),
            again: HashMap::new(),
            numbers: HashMap::new(),
            edition: false,
            imports: Vec::new(),
            method_bodies: HashSet::new(),
        },
    };
    let first = w.t.next_with_comments();
    w.upcoming = first.leading;
    w.upcoming_detached = first.detached;
    if w.t.current().text == "edition" {
        w.out.edition = true;
    }
    w.statements(Scope::File, "");
    w.out
}

fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

impl<'a> Walker<'a> {
    fn at(&self, text: &str) -> bool {
        let c = self.t.current();
        matches!(c.kind, Kind::Symbol | Kind::Ident) && c.text == text
    }

    /// Consumes the token that ends a declaration (`;`, `{`, `}`) and
    /// records the comments around it for `key`, as protoc's
    /// `TryConsumeEndOfDeclaration` does.
    fn end_declaration(&mut self, key: Option<(String, Token<'a>)>) {
        self.end_declaration_of(key, true);
    }

    /// `located`: whether protoc has a location for the declaration (all
    /// statements but empty ones and closing braces), which decides where
    /// detached comments go.
    fn end_declaration_of(&mut self, key: Option<(String, Token<'a>)>, located: bool) {
        let end = self.t.current();
        let Comments {
            trailing,
            detached,
            leading,
        } = self.t.next_with_comments();
        let leading = std::mem::replace(&mut self.upcoming, leading);
        match key {
            Some((key, start)) => {
                let detached_before = std::mem::replace(&mut self.upcoming_detached, detached);
                let declared = Declared {
                    leading,
                    trailing,
                    detached: detached_before,
                    span: [start.line, start.column, end.line, end.end_column],
                };
                match self.out.by_key.entry(key) {
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(declared);
                    }
                    std::collections::hash_map::Entry::Occupied(first) => {
                        self.out
                            .again
                            .entry(first.key().clone())
                            .or_insert(declared);
                    }
                }
            }
            None if located || end.text == "}" => self.upcoming_detached = detached,
            None => self.upcoming_detached.extend(detached),
        }
    }

    /// Statements up to the `}` that closes `scope` (not consumed), or the
    /// end of the file.
    fn statements(&mut self, scope: Scope, name: &str) {
        loop {
            let token = self.t.current();
            if token.kind == Kind::End || (scope != Scope::File && self.at("}")) {
                return;
            }
            if self.at(";") {
                // An empty statement.
                self.end_declaration_of(None, false);
                continue;
            }
            if self.at("}") {
                // A stray `}` at file level: protobuf-parse reports it.
                self.t.next();
                continue;
            }
            self.statement(scope, name, token);
        }
    }

    /// A `{ ... }` body: the `{` ends the declaration `key`.
    fn body(&mut self, key: Option<(String, Token<'a>)>, scope: Scope, name: &str) {
        self.end_declaration(key);
        self.statements(scope, name);
        if self.at("}") {
            self.end_declaration_of(None, false);
        }
    }

    fn statement(&mut self, scope: Scope, name: &str, start: Token<'a>) {
        let keyword = if start.kind == Kind::Ident {
            start.text
        } else {
            ""
        };
        match (scope, keyword) {
            (Scope::File | Scope::Message, "message") => {
                self.named_body(name, start, Scope::Message)
            }
            (Scope::File | Scope::Message, "enum") => self.named_body(name, start, Scope::Enum),
            (Scope::File, "service") => self.named_body("", start, Scope::Service),
            (Scope::Message, "oneof") => {
                self.t.next();
                let oneof = self.t.current().text.to_owned();
                self.skip_to_end();
                if self.at("{") {
                    // Its fields belong to the message.
                    self.body(
                        Some((format!("{name}#oneof:{oneof}"), start)),
                        Scope::Oneof,
                        name,
                    );
                }
            }
            (Scope::File | Scope::Message, "extend") => {
                // Extension names are unique in their scope whatever they
                // extend, so the fields of every extend block share a key.
                let key = format!("{name}{EXTEND}");
                self.skip_to_end();
                if self.at("{") {
                    self.body(None, Scope::Extend, &key);
                }
            }
            (Scope::Service, "rpc") => {
                self.t.next();
                let key = format!("{name}#{}", self.t.current().text);
                self.skip_to_end();
                if self.at("{") {
                    self.out.method_bodies.insert(key.clone());
                    self.body(Some((key, start)), Scope::Method, "");
                } else if self.at(";") {
                    self.end_declaration(Some((key, start)));
                }
            }
            (Scope::File, "import") => {
                let mut text = String::new();
                while !matches!(self.t.next().kind, Kind::End) && !self.at(";") {
                    let token = self.t.current();
                    if token.kind == Kind::Str {
                        text.push_str(&unquote(token.text));
                    }
                }
                self.out.imports.push(Import {
                    name: text,
                    line: start.line,
                    column: start.column,
                });
                self.finish_statement();
            }
            (_, "option" | "reserved" | "extensions" | "syntax" | "edition" | "package") => {
                self.skip_to_end();
                self.finish_statement();
            }
            (Scope::Enum, _) => {
                let key = format!("{name}#{}", start.text);
                self.skip_to_end();
                if self.at(";") {
                    self.end_declaration(Some((key, start)));
                } else {
                    self.recover();
                }
            }
            (Scope::Message | Scope::Oneof | Scope::Extend, _) => self.field(name, start),
            _ => {
                self.skip_to_end();
                self.finish_statement();
            }
        }
    }

    /// `[label] type name = number [options];`, `map<K, V> name = ...;`, or
    /// a group: `[label] group Name = number [options] { ... }`.
    fn field(&mut self, message: &str, start: Token<'a>) {
        let mut previous: Option<Token<'a>> = None;
        let mut group = false;
        let mut field_name = None;
        let mut number = None;
        let mut depth = 0usize;
        loop {
            let token = self.t.current();
            if token.kind == Kind::End {
                return;
            }
            if depth == 0 && (token.text == ";" || token.text == "{") && token.kind == Kind::Symbol
            {
                break;
            }
            match token.text {
                "<" | "(" | "[" => depth += 1,
                ">" | ")" | "]" => depth = depth.saturating_sub(1),
                "=" if depth == 0 && field_name.is_none() => {
                    field_name = previous.map(|p| p.text.to_owned());
                    // The number, if one follows, is looked at next round.
                    previous = Some(token);
                    let after = self.t.next();
                    if after.kind == Kind::Number {
                        number = Some(after.text.to_owned());
                    }
                    continue;
                }
                "{" => {
                    // An aggregate option value inside `[...]`.
                    self.skip_aggregate();
                    previous = Some(self.t.current());
                    continue;
                }
                "group" if field_name.is_none() && token.kind == Kind::Ident => {
                    group = previous
                        .is_none_or(|p| matches!(p.text, "optional" | "required" | "repeated"));
                }
                _ => {}
            }
            previous = Some(token);
            self.t.next();
        }
        let name = field_name.unwrap_or_default();
        if self.at("{") {
            if group {
                // protoc gives the group's comments to its message, which
                // is declared in the scope (of an extend block: the scope
                // around it).
                let key = join(message.strip_suffix(EXTEND).unwrap_or(message), &name);
                self.body(Some((key.clone(), start)), Scope::Message, &key);
            } else {
                self.recover();
            }
        } else {
            let key = format!("{message}#{name}");
            if let Some(number) = number {
                self.out.numbers.entry(key.clone()).or_insert(number);
            }
            self.end_declaration(Some((key, start)));
        }
    }

    /// `message`/`enum`/`service NAME { ... }`, declared in `scope`: its
    /// body holds statements of kind `inner`.
    fn named_body(&mut self, scope: &str, start: Token<'a>, inner: Scope) {
        let key = self.named(scope);
        self.skip_to_end();
        if self.at("{") {
            let name = key.clone().unwrap_or_default();
            self.body(key.map(|k| (k, start)), inner, &name);
        }
    }

    /// Reads the name after a `message`/`enum`/`service` keyword.
    fn named(&mut self, scope: &str) -> Option<String> {
        self.t.next();
        let token = self.t.current();
        (token.kind == Kind::Ident).then(|| join(scope, token.text))
    }

    /// Skips to the `;` or the `{` of a body that ends this statement,
    /// over parenthesised, bracketed and aggregate (`= { ... }`) parts.
    fn skip_to_end(&mut self) {
        let mut depth = 0usize;
        let mut previous = "";
        loop {
            let token = self.t.current();
            if token.kind == Kind::End {
                return;
            }
            if token.kind == Kind::Symbol {
                match token.text {
                    ";" if depth == 0 => return,
                    "{" if depth == 0 && !matches!(previous, "=" | ":") => return,
                    "{" => {
                        self.skip_aggregate();
                        previous = "}";
                        continue;
                    }
                    "(" | "[" => depth += 1,
                    ")" | "]" => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            previous = token.text;
            self.t.next();
        }
    }

    /// At a `{` that opens a text-format value: skips past its `}`.
    fn skip_aggregate(&mut self) {
        let mut depth = 0usize;
        loop {
            let token = self.t.current();
            if token.kind == Kind::End {
                return;
            }
            if token.kind == Kind::Symbol {
                match token.text {
                    "{" => depth += 1,
                    "}" => {
                        depth -= 1;
                        if depth == 0 {
                            self.t.next();
                            return;
                        }
                    }
                    _ => {}
                }
            }
            self.t.next();
        }
    }

    /// Ends a statement that has no element of its own.
    fn finish_statement(&mut self) {
        if self.at(";") {
            self.end_declaration(None);
        } else if self.at("{") {
            self.body(None, Scope::Method, "");
        }
    }

    /// An unexpected body: skipped whole (protobuf-parse reports the error).
    fn recover(&mut self) {
        if self.at("{") {
            self.body(None, Scope::Method, "");
        }
    }
}

fn unquote(s: &str) -> String {
    s.get(1..s.len().saturating_sub(1))
        .unwrap_or_default()
        .to_owned()
}

/// Gives `file` the `SourceCodeInfo` that protoc would have written for the
/// named elements in `decls`: their comments and spans.
pub(crate) fn attach(file: &mut FileDescriptorProto, decls: &Declarations) {
    let mut locations = Vec::new();
    let mut add = |path: Vec<i32>, key: &str| {
        if let Some(d) = decls.by_key.get(key) {
            let mut loc = Location::new();
            loc.path = path;
            let [l0, c0, l1, c1] = d.span.map(|v| i32::try_from(v).unwrap_or(i32::MAX));
            loc.span = if l0 == l1 {
                vec![l0, c0, c1]
            } else {
                vec![l0, c0, l1, c1]
            };
            if !d.leading.is_empty() {
                loc.leading_comments = Some(d.leading.clone());
            }
            if !d.trailing.is_empty() {
                loc.trailing_comments = Some(d.trailing.clone());
            }
            loc.leading_detached_comments = d.detached.clone();
            locations.push(loc);
        }
    };
    for (i, m) in file.message_type.iter().enumerate() {
        message(&mut add, vec![4, i as i32], "", m);
    }
    for (i, e) in file.enum_type.iter().enumerate() {
        enumeration(&mut add, vec![5, i as i32], "", e);
    }
    for (i, x) in file.extension.iter().enumerate() {
        add(vec![7, i as i32], &format!("{EXTEND}#{}", x.name()));
    }
    for (i, s) in file.service.iter().enumerate() {
        let name = s.name();
        add(vec![6, i as i32], name);
        for (j, m) in s.method.iter().enumerate() {
            add(
                vec![6, i as i32, 2, j as i32],
                &format!("{name}#{}", m.name()),
            );
        }
    }
    let mut info = SourceCodeInfo::new();
    info.location = locations;
    file.source_code_info = Some(info).into();
}

fn message(add: &mut impl FnMut(Vec<i32>, &str), path: Vec<i32>, scope: &str, m: &DescriptorProto) {
    let name = join(scope, m.name());
    add(path.clone(), &name);
    let sub = |field: i32, index: usize| {
        let mut p = path.clone();
        p.extend([field, index as i32]);
        p
    };
    for (j, f) in m.field.iter().enumerate() {
        add(sub(2, j), &format!("{name}#{}", f.name()));
    }
    for (j, o) in m.oneof_decl.iter().enumerate() {
        add(sub(8, j), &format!("{name}#oneof:{}", o.name()));
    }
    for (j, n) in m.nested_type.iter().enumerate() {
        message(add, sub(3, j), &name, n);
    }
    for (j, e) in m.enum_type.iter().enumerate() {
        enumeration(add, sub(4, j), &name, e);
    }
    for (j, x) in m.extension.iter().enumerate() {
        add(sub(6, j), &format!("{name}{EXTEND}#{}", x.name()));
    }
}

fn enumeration(
    add: &mut impl FnMut(Vec<i32>, &str),
    path: Vec<i32>,
    scope: &str,
    e: &EnumDescriptorProto,
) {
    let name = join(scope, e.name());
    add(path.clone(), &name);
    for (k, v) in e.value.iter().enumerate() {
        let mut p = path.clone();
        p.extend([2, k as i32]);
        add(p, &format!("{name}#{}", v.name()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_of_a_small_file() {
        let d = declarations(
            "syntax = \"proto3\";\nimport \"x/y.proto\";\n// M.\nmessage M {\n  // f.\n  map<string, int32> f = 3;\n  oneof o { int32 g = 4; }\n  enum E { E_A = 0; }\n}\nservice S { rpc R(M) returns (M); }\n",
        );
        let mut keys: Vec<&str> = d.by_key.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["M", "M#f", "M#g", "M#oneof:o", "M.E", "M.E#E_A", "S", "S#R"]
        );
        assert_eq!(d.by_key["M"].leading, " M.\n");
        assert_eq!(d.by_key["M#f"].leading, " f.\n");
        assert_eq!(d.numbers["M#f"], "3");
        assert_eq!(d.imports.len(), 1);
        assert_eq!(
            (d.imports[0].name.as_str(), d.imports[0].line),
            ("x/y.proto", 1)
        );
        assert!(!d.edition);
    }

    proptest! {
        // The walker sees every file before protobuf-parse checks it, so it
        // must take anything without panicking or looping.
        #[test]
        fn any_text_is_walked_without_panic(text in "\\PC{0,400}") {
            let _ = declarations(&text);
        }

        #[test]
        fn any_token_soup_is_walked_without_panic(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("message"), Just("enum"), Just("service"), Just("oneof"), Just("rpc"),
                    Just("extend"), Just("group"), Just("option"), Just("map"), Just("returns"),
                    Just("{"), Just("}"), Just("["), Just("]"), Just("("), Just(")"), Just("<"),
                    Just(">"), Just(";"), Just("="), Just(":"), Just(","), Just("."), Just("M"),
                    Just("1"), Just("\"s\""), Just("// c\n"), Just("/* c */"), Just("\n"), Just("/"),
                    Just("\"unterminated"), Just("/* open"),
                ],
                0..80,
            )
        ) {
            let _ = declarations(&parts.join(" "));
        }
    }
}
