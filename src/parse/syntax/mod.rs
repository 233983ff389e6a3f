//! `.proto` source text to a `FileDescriptorProto`, as protoc's parser
//! builds it: names of types as written (resolved later by
//! [`super::link`]), options as written (interpreted later by
//! [`super::interpret`]), map entries, groups and the synthetic oneofs of
//! proto3 `optional` made here, and the comments of each declaration in
//! `SourceCodeInfo`, split as protoc splits them.
//!
//! The grammar is the protobuf language specification's (proto2, proto3 and
//! editions language guides); errors name the line and column where the
//! text stops making sense.

use std::collections::HashMap;

use rust_rpc::wkt::field_descriptor_proto::Type;
use rust_rpc::wkt::source_code_info::Location;
use rust_rpc::wkt::{Edition, FileDescriptorProto, SourceCodeInfo};

use super::literal::{parse_integer, unescape};
use super::text::{self, Pos};
use super::tokenizer::{Comments, Kind, Token, Tokenizer};
use crate::Error;

mod definitions;
mod message;
mod options;

use message::Sink;

/// The largest field number.
pub(crate) const MAX_FIELD_NUMBER: i32 = (1 << 29) - 1;

/// Which syntax a file is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Syntax {
    Proto2,
    Proto3,
    /// `edition = "2023";`
    Editions,
}

/// Which options message a statement sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OptionsOf {
    File,
    Message,
    Field,
    Oneof,
    ExtensionRange,
    Enum,
    EnumValue,
    Service,
    Method,
}

impl OptionsOf {
    /// The full name of the options message.
    pub fn message(self) -> &'static str {
        match self {
            Self::File => ".google.protobuf.FileOptions",
            Self::Message => ".google.protobuf.MessageOptions",
            Self::Field => ".google.protobuf.FieldOptions",
            Self::Oneof => ".google.protobuf.OneofOptions",
            Self::ExtensionRange => ".google.protobuf.ExtensionRangeOptions",
            Self::Enum => ".google.protobuf.EnumOptions",
            Self::EnumValue => ".google.protobuf.EnumValueOptions",
            Self::Service => ".google.protobuf.ServiceOptions",
            Self::Method => ".google.protobuf.MethodOptions",
        }
    }
}

/// One part of an option's name: `features`, or `(google.api.http)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NamePart {
    pub name: String,
    pub extension: bool,
    pub pos: Pos,
}

/// An option as written, on the element at `target` (a `SourceCodeInfo`
/// path into the file).
#[derive(Clone, Debug)]
pub(crate) struct OptionStatement {
    pub of: OptionsOf,
    pub target: Vec<i32>,
    pub name: Vec<NamePart>,
    pub value: text::Value,
    pub value_pos: Pos,
}

/// One `import`.
#[derive(Clone, Debug)]
pub(crate) struct Import {
    pub name: String,
    pub pos: Pos,
}

/// What [`parse`] read of one file.
#[derive(Debug)]
pub(crate) struct ParsedFile {
    /// Types as written (`type_name` without a leading dot is relative,
    /// `type` unset for a named type), options not yet interpreted.
    pub proto: FileDescriptorProto,
    pub syntax: Syntax,
    pub options: Vec<OptionStatement>,
    pub imports: Vec<Import>,
    /// Where each element (by its `SourceCodeInfo` path) is declared, and
    /// where each type reference is written (element path + the number of
    /// the descriptor field that holds it).
    pub positions: HashMap<Vec<i32>, Pos>,
}

/// Reads `text`, the file `name` (shown in errors as `shown`).
pub(crate) fn parse(name: &str, shown: &str, text: &str) -> Result<ParsedFile, Error> {
    let mut p = Parser {
        t: Tokenizer::new(text),
        shown,
        upcoming: String::new(),
        upcoming_detached: Vec::new(),
        locations: Vec::new(),
        options: Vec::new(),
        imports: Vec::new(),
        positions: HashMap::new(),
        syntax: Syntax::Proto2,
        depth: 0,
    };
    let mut file = FileDescriptorProto {
        name: Some(name.to_owned()),
        ..Default::default()
    };
    let first = p.t.next_with_comments();
    p.upcoming = first.leading;
    p.upcoming_detached = first.detached;
    p.file(&mut file)?;
    if let Some((line, column)) = p.t.unterminated_comment {
        return Err(Error::at(
            shown,
            line + 1,
            column + 1,
            "the file ends inside a block comment",
        ));
    }
    if !p.locations.is_empty() {
        file.source_code_info = Some(SourceCodeInfo {
            location: std::mem::take(&mut p.locations),
            ..Default::default()
        });
    }
    Ok(ParsedFile {
        proto: file,
        syntax: p.syntax,
        options: p.options,
        imports: p.imports,
        positions: p.positions,
    })
}

struct Parser<'a> {
    t: Tokenizer<'a>,
    shown: &'a str,
    /// The leading comment and detached comments collected at the end of
    /// the previous declaration, for the next one.
    upcoming: String,
    upcoming_detached: Vec<String>,
    locations: Vec<Location>,
    options: Vec<OptionStatement>,
    imports: Vec<Import>,
    positions: HashMap<Vec<i32>, Pos>,
    syntax: Syntax,
    /// How deeply messages (and text-format values) nest here.
    depth: usize,
}

/// How deeply messages, groups and text-format values may nest: as deep as
/// protobuf's text format parses (and far past any real schema), so that a
/// hostile file is an error, not a stack overflow.
const MAX_DEPTH: usize = 100;

/// Where a declaration starts, and the path its comments go to.
struct Declaration {
    path: Vec<i32>,
    start: Pos,
}

fn pos(t: Token<'_>) -> Pos {
    Pos {
        line: t.line,
        column: t.column,
    }
}

fn with(path: &[i32], field: i32) -> Vec<i32> {
    let mut p = path.to_vec();
    p.push(field);
    p
}

fn child(path: &[i32], field: i32, index: usize) -> Vec<i32> {
    let mut p = path.to_vec();
    p.push(field);
    p.push(i32::try_from(index).unwrap_or(i32::MAX));
    p
}

const SCALARS: &[(&str, Type)] = &[
    ("double", Type::Double),
    ("float", Type::Float),
    ("int64", Type::Int64),
    ("uint64", Type::Uint64),
    ("int32", Type::Int32),
    ("fixed64", Type::Fixed64),
    ("fixed32", Type::Fixed32),
    ("bool", Type::Bool),
    ("string", Type::String),
    ("bytes", Type::Bytes),
    ("uint32", Type::Uint32),
    ("sfixed32", Type::Sfixed32),
    ("sfixed64", Type::Sfixed64),
    ("sint32", Type::Sint32),
    ("sint64", Type::Sint64),
];

pub(crate) fn scalar_type(name: &str) -> Option<Type> {
    SCALARS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// A field's type as written: a scalar, or a name to resolve.
enum TypeRef {
    Scalar(Type),
    Named(String, Pos),
}

impl<'a> Parser<'a> {
    // ---- tokens -------------------------------------------------------

    fn current(&self) -> Token<'a> {
        self.t.current()
    }

    fn at(&self, text: &str) -> bool {
        let c = self.current();
        matches!(c.kind, Kind::Symbol | Kind::Ident) && c.text == text
    }

    fn error_at(&self, at: Pos, message: impl Into<String>) -> Error {
        let (line, column) = at.shown();
        Error::at(self.shown, line, column, message)
    }

    fn error(&self, message: impl Into<String>) -> Error {
        self.error_at(pos(self.current()), message)
    }

    /// What the current token is, for "expected X, found Y".
    fn found(&self) -> String {
        let c = self.current();
        match c.kind {
            Kind::End => "the end of the file".to_owned(),
            _ => format!("`{}`", c.text),
        }
    }

    fn advance(&mut self) {
        self.t.next();
    }

    fn try_consume(&mut self, text: &str) -> bool {
        if self.at(text) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, text: &str, context: &str) -> Result<(), Error> {
        if self.try_consume(text) {
            Ok(())
        } else {
            Err(self.error(format!(
                "expected `{text}` {context}, found {}",
                self.found()
            )))
        }
    }

    fn identifier(&mut self, what: &str) -> Result<(String, Pos), Error> {
        let c = self.current();
        if c.kind != Kind::Ident {
            return Err(self.error(format!("expected {what}, found {}", self.found())));
        }
        self.advance();
        Ok((c.text.to_owned(), pos(c)))
    }

    /// `a.b.c`, with a leading `.` if `leading_dot` allows one.
    fn dotted(&mut self, what: &str, leading_dot: bool) -> Result<(String, Pos), Error> {
        let start = pos(self.current());
        let mut name = String::new();
        if leading_dot && self.try_consume(".") {
            name.push('.');
        }
        let (first, _) = self.identifier(what)?;
        name.push_str(&first);
        while self.at(".") {
            self.advance();
            let (part, _) = self.identifier(what)?;
            name.push('.');
            name.push_str(&part);
        }
        Ok((name, start))
    }

    /// One or more adjacent string literals, unescaped.
    fn string(&mut self, what: &str) -> Result<(Vec<u8>, Pos), Error> {
        let start = pos(self.current());
        if self.current().kind != Kind::Str {
            return Err(self.error(format!("expected {what}, found {}", self.found())));
        }
        let mut out = Vec::new();
        while self.current().kind == Kind::Str {
            let c = self.current();
            unescape(c.text, &mut out).map_err(|m| self.error_at(pos(c), m))?;
            self.advance();
        }
        Ok((out, start))
    }

    fn utf8_string(&mut self, what: &str) -> Result<(String, Pos), Error> {
        let (bytes, at) = self.string(what)?;
        String::from_utf8(bytes)
            .map(|s| (s, at))
            .map_err(|_| self.error_at(at, format!("{what} is not valid UTF-8")))
    }

    /// An integer literal, with an optional `-`.
    fn integer(&mut self, what: &str) -> Result<(bool, u64, Pos), Error> {
        let start = pos(self.current());
        let negative = self.try_consume("-");
        let c = self.current();
        if c.kind != Kind::Number {
            return Err(self.error(format!("expected {what}, found {}", self.found())));
        }
        let value = parse_integer(c.text)
            .ok_or_else(|| self.error(format!("expected {what}, found `{}`", c.text)))?;
        self.advance();
        Ok((negative, value, start))
    }

    /// A field or enum number: an `i32`.
    fn number(&mut self, what: &str, allow_negative: bool) -> Result<(i32, Pos), Error> {
        let (negative, magnitude, at) = self.integer(what)?;
        if negative && !allow_negative {
            return Err(self.error_at(at, format!("{what} must be positive")));
        }
        let value = if negative {
            i64::try_from(magnitude).ok().map(|m| -m)
        } else {
            i64::try_from(magnitude).ok()
        };
        value
            .and_then(|v| i32::try_from(v).ok())
            .map(|v| (v, at))
            .ok_or_else(|| self.error_at(at, format!("{what} is out of range")))
    }

    // ---- comments ----------------------------------------------------

    /// Consumes the token that ends a declaration (`;`, `{`, `}`) and
    /// files the comments around it as protoc's
    /// `TryConsumeEndOfDeclaration` does: the trailing comment and the
    /// comments before the declaration go to `declaration`'s location; the
    /// leading comment found here waits for the next declaration.
    /// `located`: whether protoc gives the statement a location at all
    /// (every statement but empty ones and closing braces), which decides
    /// where detached comments go.
    fn end_declaration(&mut self, declaration: Option<&Declaration>, located: bool) {
        let end = self.current();
        let Comments {
            trailing,
            detached,
            leading,
        } = self.t.next_with_comments();
        let leading = std::mem::replace(&mut self.upcoming, leading);
        match declaration {
            Some(d) => {
                let detached_before = std::mem::replace(&mut self.upcoming_detached, detached);
                let span = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
                let span = if d.start.line == end.line {
                    vec![
                        span(d.start.line),
                        span(d.start.column),
                        span(end.end_column),
                    ]
                } else {
                    vec![
                        span(d.start.line),
                        span(d.start.column),
                        span(end.line),
                        span(end.end_column),
                    ]
                };
                self.locations.push(Location {
                    path: d.path.clone(),
                    span,
                    leading_comments: (!leading.is_empty()).then_some(leading),
                    trailing_comments: (!trailing.is_empty()).then_some(trailing),
                    leading_detached_comments: detached_before,
                    ..Default::default()
                });
            }
            None if located || end.text == "}" => self.upcoming_detached = detached,
            None => self.upcoming_detached.extend(detached),
        }
    }

    /// `;` ending a statement that has no commented element.
    fn end_statement(&mut self, context: &str) -> Result<(), Error> {
        if !self.at(";") {
            return Err(self.error(format!("expected `;` {context}, found {}", self.found())));
        }
        self.end_declaration(None, true);
        Ok(())
    }

    /// `;` ending the declaration `d`.
    fn end_element(&mut self, d: &Declaration, context: &str) -> Result<(), Error> {
        if !self.at(";") {
            return Err(self.error(format!("expected `;` {context}, found {}", self.found())));
        }
        self.end_declaration(Some(d), true);
        Ok(())
    }

    /// `{` opening the body of `d`.
    fn open_body(&mut self, d: Option<&Declaration>, context: &str) -> Result<(), Error> {
        if !self.at("{") {
            return Err(self.error(format!("expected `{{` {context}, found {}", self.found())));
        }
        self.end_declaration(d, true);
        Ok(())
    }

    /// At `}` closing a body (or the end of the file, an error).
    fn close_body(&mut self, context: &str) -> Result<(), Error> {
        if !self.at("}") {
            return Err(self.error(format!("expected `}}` {context}, found {}", self.found())));
        }
        self.end_declaration(None, false);
        Ok(())
    }

    /// `N`, `N to M` or `N to max`: an inclusive range of numbers that
    /// are `what`s, checked to lie in `min..=max` with its start not past
    /// its end.
    fn range(&mut self, what: &str, min: i32, max: i32) -> Result<(i32, i32), Error> {
        let (start, at) = self.number(what, min < 0)?;
        let end = if self.try_consume("to") {
            if self.try_consume("max") {
                max
            } else {
                self.number(what, min < 0)?.0
            }
        } else {
            start
        };
        if start < min || end > max {
            return Err(self.error_at(at, format!("{what}s must be in {min} to {max}")));
        }
        if end < start {
            return Err(self.error_at(at, "the range's start is past its end"));
        }
        Ok((start, end))
    }

    /// Inside the `{ ... }` body of a `what`: skips empty statements, and
    /// says whether a statement follows (`false` at the `}` that closes
    /// the body, not consumed); the end of the file is an error.
    fn in_body(&mut self, what: &str) -> Result<bool, Error> {
        loop {
            if self.current().kind == Kind::End {
                return Err(self.error(format!(
                    "expected `}}` at the end of the {what}, found the end of the file"
                )));
            }
            if self.at("}") {
                return Ok(false);
            }
            if !self.at(";") {
                return Ok(true);
            }
            self.end_declaration(None, false);
        }
    }

    fn declaration(&mut self, path: Vec<i32>) -> Declaration {
        let start = pos(self.current());
        self.positions.insert(path.clone(), start);
        Declaration { path, start }
    }

    // ---- file ----------------------------------------------------------

    fn file(&mut self, file: &mut FileDescriptorProto) -> Result<(), Error> {
        if self.at("syntax") || self.at("edition") {
            let keyword = self.current().text;
            self.advance();
            self.expect("=", &format!("after `{keyword}`"))?;
            let (value, at) = self.utf8_string(&format!("the {keyword}"))?;
            if keyword == "syntax" {
                self.syntax = match value.as_str() {
                    "proto2" => Syntax::Proto2,
                    "proto3" => {
                        file.syntax = Some("proto3".to_owned());
                        Syntax::Proto3
                    }
                    _ => {
                        return Err(self.error_at(
                            at,
                            format!(
                                "unknown syntax {value:?}: this compiler reads \"proto2\" and \
                                 \"proto3\" (and editions: `edition = \"2023\";`)"
                            ),
                        ));
                    }
                };
            } else {
                if value != "2023" {
                    return Err(self.error_at(
                        at,
                        format!(
                            "edition {value:?} is not supported: this compiler reads edition \
                             \"2023\" (and proto2, proto3)"
                        ),
                    ));
                }
                self.syntax = Syntax::Editions;
                file.syntax = Some("editions".to_owned());
                file.edition = Some(Edition::Edition2023);
            }
            self.end_statement(&format!("after the {keyword}"))?;
        }
        loop {
            let c = self.current();
            match c.kind {
                Kind::End => return Ok(()),
                Kind::Symbol if c.text == ";" => self.end_declaration(None, false),
                Kind::Ident => match c.text {
                    "message" => {
                        let d = self.declaration(child(&[], 4, file.message_type.len()));
                        let m = self.message(d)?;
                        file.message_type.push(m);
                    }
                    "enum" => {
                        let d = self.declaration(child(&[], 5, file.enum_type.len()));
                        let e = self.enumeration(d)?;
                        file.enum_type.push(e);
                    }
                    "service" => {
                        let d = self.declaration(child(&[], 6, file.service.len()));
                        let s = self.service(d)?;
                        file.service.push(s);
                    }
                    "extend" => {
                        let mut sink = Sink {
                            fields: &mut file.extension,
                            fields_at: (&[], 7),
                            types: &mut file.message_type,
                            types_at: (&[], 4),
                        };
                        self.extend(&mut sink)?;
                    }
                    "import" => self.import(file)?,
                    "package" => {
                        if file.package.is_some() {
                            return Err(self.error("a file has one `package` statement"));
                        }
                        self.advance();
                        let (name, _) = self.dotted("the package name", false)?;
                        file.package = Some(name);
                        self.end_statement("after the package name")?;
                    }
                    "option" => {
                        self.option_statement(OptionsOf::File, Vec::new())?;
                    }
                    "syntax" | "edition" => {
                        return Err(self.error(format!(
                            "`{}` must be the first statement of the file",
                            c.text
                        )));
                    }
                    _ => {
                        return Err(self.error(format!(
                            "expected a top-level statement (message, enum, service, extend, \
                             import, package, option), found {}",
                            self.found()
                        )));
                    }
                },
                _ => {
                    return Err(self.error(format!(
                        "expected a top-level statement, found {}",
                        self.found()
                    )));
                }
            }
        }
    }

    fn import(&mut self, file: &mut FileDescriptorProto) -> Result<(), Error> {
        let at = pos(self.current());
        self.advance();
        let index = i32::try_from(file.dependency.len()).unwrap_or(i32::MAX);
        if self.try_consume("public") {
            file.public_dependency.push(index);
        } else if self.try_consume("weak") {
            file.weak_dependency.push(index);
        }
        let (name, _) = self.utf8_string("the name of the imported file")?;
        self.imports.push(Import {
            name: name.clone(),
            pos: at,
        });
        file.dependency.push(name);
        self.end_statement("after the import")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parsed(text: &str) -> Result<ParsedFile, Error> {
        parse("a.proto", "a.proto", text)
    }

    #[test]
    fn nesting_past_the_limit_is_an_error() {
        let deep = |n: usize| {
            format!(
                "syntax = \"proto3\";\n{}{}",
                "message M {\n".repeat(n),
                "}\n".repeat(n)
            )
        };
        assert!(parsed(&deep(MAX_DEPTH)).is_ok());
        let e = parsed(&deep(100_000)).expect_err("too deep");
        assert!(e.to_string().contains("nest more than 100 levels"), "{e}");
        let value = format!(
            "syntax = \"proto3\";\noption (x) = {}{};\n",
            "{ a ".repeat(100_000),
            "}".repeat(100_000)
        );
        let e = parsed(&value).expect_err("too deep");
        assert!(e.to_string().contains("nest more than 100 levels"), "{e}");
    }

    proptest! {
        // Whatever the text, parsing ends with a file or an error.
        #[test]
        fn any_text_parses_or_fails_without_panic(text in "\\PC{0,400}") {
            let _ = parsed(&text);
        }

        #[test]
        fn any_token_soup_parses_or_fails_without_panic(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("syntax = \"proto2\";"), Just("edition = \"2023\";"),
                    Just("message"), Just("enum"), Just("service"), Just("oneof"), Just("rpc"),
                    Just("extend"), Just("group"), Just("option"), Just("map"), Just("returns"),
                    Just("extensions"), Just("reserved"), Just("to"), Just("max"), Just("stream"),
                    Just("optional"), Just("repeated"), Just("required"), Just("default"),
                    Just("{"), Just("}"), Just("["), Just("]"), Just("("), Just(")"), Just("<"),
                    Just(">"), Just(";"), Just("="), Just(":"), Just(","), Just("."), Just("-"),
                    Just("M"), Just("int32"), Just("1"), Just("0x1f"), Just("1e5"), Just("inf"),
                    Just("\"s\""), Just("// c\n"), Just("/* c */"), Just("\n"), Just("/"),
                    Just("\"unterminated"), Just("/* open"), Just("[a.b]"), Just("[x.com/a.B]"),
                ],
                0..80,
            )
        ) {
            let _ = parsed(&parts.join(" "));
        }
    }
}
