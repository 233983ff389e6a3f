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
use rust_rpc::wkt::{Edition, FileDescriptorProto};

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
    /// Its `SourceCodeInfo` location, under the element's options path as
    /// protoc records it before interpreting (`[..., 999, index]`): the
    /// interpreter gives it the path of the field it sets.
    pub location: usize,
    /// The location of the options it is among (the statement itself for
    /// `option ...;`, the `[...]` for a field's).
    pub among: usize,
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
    /// Every location protoc records, in its order, with the paths of
    /// option statements still as written (see [`OptionStatement`]).
    pub locations: Vec<Location>,
}

/// Reads `text`, the file `name` (shown in errors as `shown`).
pub(crate) fn parse(name: &str, shown: &str, text: &str) -> Result<ParsedFile, Error> {
    let mut p = Parser {
        t: Tokenizer::new(text),
        shown,
        upcoming: String::new(),
        upcoming_detached: Vec::new(),
        records: Vec::new(),
        prev_end: (0, 0),
        options: Vec::new(),
        imports: Vec::new(),
        positions: HashMap::new(),
        syntax: Syntax::Proto2,
        depth: 0,
        option_counts: HashMap::new(),
    };
    let mut file = FileDescriptorProto {
        name: Some(name.to_owned()),
        ..Default::default()
    };
    let first = p.t.next_with_comments();
    p.upcoming = first.leading;
    p.upcoming_detached = first.detached;
    // The whole file: from its first token to its last.
    let root = p.open(Vec::new());
    p.file(&mut file)?;
    p.close(root);
    if let Some((line, column)) = p.t.unterminated_comment {
        return Err(Error::at(
            shown,
            line + 1,
            column + 1,
            "the file ends inside a block comment",
        ));
    }
    let locations = p.records.into_iter().map(Record::location).collect();
    Ok(ParsedFile {
        proto: file,
        syntax: p.syntax,
        options: p.options,
        imports: p.imports,
        positions: p.positions,
        locations,
    })
}

struct Parser<'a> {
    t: Tokenizer<'a>,
    shown: &'a str,
    /// The leading comment and detached comments collected at the end of
    /// the previous declaration, for the next one.
    upcoming: String,
    upcoming_detached: Vec<String>,
    /// The locations recorded so far, in the order protoc records them
    /// (when their element starts).
    records: Vec<Record>,
    /// Where the token before the current one ends (0-based line and
    /// column): where a location that ends now ends.
    prev_end: (usize, usize),
    options: Vec<OptionStatement>,
    imports: Vec<Import>,
    positions: HashMap<Vec<i32>, Pos>,
    syntax: Syntax,
    /// How deeply messages (and text-format values) nest here.
    depth: usize,
    /// How many option statements each options path has had, for the
    /// index protoc gives each in `uninterpreted_option`.
    option_counts: HashMap<Vec<i32>, i32>,
}

/// A location being recorded: where it starts, where it ends once known,
/// and the comments `end_declaration` gave it.
#[derive(Clone)]
struct Record {
    path: Vec<i32>,
    start: Pos,
    end: Option<(usize, usize)>,
    leading: String,
    trailing: String,
    detached: Vec<String>,
}

impl Record {
    fn location(self) -> Location {
        let n = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
        let (end_line, end_column) = self.end.unwrap_or((self.start.line, self.start.column));
        let span = if self.start.line == end_line {
            vec![n(self.start.line), n(self.start.column), n(end_column)]
        } else {
            vec![
                n(self.start.line),
                n(self.start.column),
                n(end_line),
                n(end_column),
            ]
        };
        Location {
            path: self.path,
            span,
            leading_comments: (!self.leading.is_empty()).then_some(self.leading),
            trailing_comments: (!self.trailing.is_empty()).then_some(self.trailing),
            leading_detached_comments: self.detached,
            ..Default::default()
        }
    }
}

/// How deeply messages, groups and text-format values may nest: as deep as
/// protobuf's text format parses (and far past any real schema), so that a
/// hostile file is an error, not a stack overflow.
const MAX_DEPTH: usize = 100;

/// Where a declaration starts, its path, and the location its comments go
/// to.
struct Declaration {
    path: Vec<i32>,
    start: Pos,
    loc: usize,
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

/// `path` with `index` appended.
fn indexed(path: &[i32], index: usize) -> Vec<i32> {
    let mut p = path.to_vec();
    p.push(i32::try_from(index).unwrap_or(i32::MAX));
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
        let c = self.current();
        self.prev_end = (c.line, c.end_column);
        self.t.next();
    }

    // ---- locations -----------------------------------------------------

    /// Starts recording the location `path` at the current token.
    fn open(&mut self, path: Vec<i32>) -> usize {
        let start = pos(self.current());
        self.open_at(path, start)
    }

    fn open_at(&mut self, path: Vec<i32>, start: Pos) -> usize {
        self.records.push(Record {
            path,
            start,
            end: None,
            leading: String::new(),
            trailing: String::new(),
            detached: Vec::new(),
        });
        self.records.len() - 1
    }

    /// Ends the location at the end of the previous token.
    fn close(&mut self, loc: usize) {
        let end = self.prev_end;
        if let Some(r) = self.records.get_mut(loc) {
            r.end.get_or_insert(end);
        }
    }

    /// The location `path` around one token already read (`at`, ending at
    /// `end`).
    fn record_token(&mut self, path: Vec<i32>, at: Pos, end: (usize, usize)) {
        let loc = self.open_at(path, at);
        self.records[loc].end = Some(end);
    }

    /// The name after a keyword, recorded at the declaration's path + `1`.
    fn name_of(&mut self, d: &Declaration, what: &str) -> Result<String, Error> {
        let loc = self.open(with(&d.path, 1));
        let (name, _) = self.identifier(what)?;
        self.close(loc);
        Ok(name)
    }

    /// The next index of an option statement under `options_path`.
    fn option_index(&mut self, options_path: &[i32]) -> i32 {
        let n = self.option_counts.entry(options_path.to_vec()).or_insert(0);
        *n += 1;
        *n - 1
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
    fn end_declaration(&mut self, declaration: Option<usize>, located: bool) {
        let end = self.current();
        self.prev_end = (end.line, end.end_column);
        let Comments {
            trailing,
            detached,
            leading,
        } = self.t.next_with_comments();
        let leading = std::mem::replace(&mut self.upcoming, leading);
        match declaration {
            Some(loc) => {
                let detached_before = std::mem::replace(&mut self.upcoming_detached, detached);
                if let Some(r) = self.records.get_mut(loc) {
                    r.leading = leading;
                    r.trailing = trailing;
                    r.detached = detached_before;
                }
            }
            None if located || end.text == "}" => self.upcoming_detached = detached,
            None => self.upcoming_detached.extend(detached),
        }
    }

    /// `;` ending the statement whose location is `loc`, which gets its
    /// comments.
    fn end_statement(&mut self, loc: usize, context: &str) -> Result<(), Error> {
        if !self.at(";") {
            return Err(self.error(format!("expected `;` {context}, found {}", self.found())));
        }
        self.end_declaration(Some(loc), true);
        Ok(())
    }

    /// `;` ending the declaration `d` (and its location).
    fn end_element(&mut self, d: &Declaration, context: &str) -> Result<(), Error> {
        self.end_statement(d.loc, context)?;
        self.close(d.loc);
        Ok(())
    }

    /// `{` opening the body of the declaration whose location is `loc`.
    fn open_body(&mut self, loc: usize, context: &str) -> Result<(), Error> {
        if !self.at("{") {
            return Err(self.error(format!("expected `{{` {context}, found {}", self.found())));
        }
        self.end_declaration(Some(loc), true);
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
    /// Its location is `path`, with the start's (`1`) and the end's (`2`).
    fn range(
        &mut self,
        what: &str,
        min: i32,
        max: i32,
        path: Vec<i32>,
    ) -> Result<(i32, i32), Error> {
        let loc = self.open(path.clone());
        let start_loc = self.open(with(&path, 1));
        let (start, at) = self.number(what, min < 0)?;
        self.close(start_loc);
        let start_end = self.prev_end;
        let end = if self.try_consume("to") {
            let end_loc = self.open(with(&path, 2));
            let end = if self.try_consume("max") {
                max
            } else {
                self.number(what, min < 0)?.0
            };
            self.close(end_loc);
            end
        } else {
            self.record_token(with(&path, 2), at, start_end);
            start
        };
        self.close(loc);
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
        let loc = self.open(path.clone());
        Declaration { path, start, loc }
    }

    // ---- file ----------------------------------------------------------

    fn file(&mut self, file: &mut FileDescriptorProto) -> Result<(), Error> {
        if self.at("syntax") || self.at("edition") {
            let keyword = self.current().text;
            // protoc records `edition` at `syntax` too.
            let loc = self.open(vec![12]);
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
            self.end_statement(loc, &format!("after the {keyword}"))?;
            self.close(loc);
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
                        self.extend(&mut sink, vec![7])?;
                    }
                    "import" => self.import(file)?,
                    "package" => {
                        if file.package.is_some() {
                            return Err(self.error("a file has one `package` statement"));
                        }
                        let loc = self.open(vec![2]);
                        self.advance();
                        let (name, _) = self.dotted("the package name", false)?;
                        file.package = Some(name);
                        self.end_statement(loc, "after the package name")?;
                        self.close(loc);
                    }
                    "option" => {
                        self.option_statement(OptionsOf::File, Vec::new(), vec![8])?;
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
        let loc = self.open(child(&[], 3, file.dependency.len()));
        self.advance();
        let index = i32::try_from(file.dependency.len()).unwrap_or(i32::MAX);
        if self.at("public") {
            let public = self.open(child(&[], 10, file.public_dependency.len()));
            self.advance();
            self.close(public);
            file.public_dependency.push(index);
        } else if self.at("weak") {
            let weak = self.open(child(&[], 11, file.weak_dependency.len()));
            self.advance();
            self.close(weak);
            file.weak_dependency.push(index);
        }
        let (name, _) = self.utf8_string("the name of the imported file")?;
        self.imports.push(Import {
            name: name.clone(),
            pos: at,
        });
        file.dependency.push(name);
        self.end_statement(loc, "after the import")?;
        self.close(loc);
        Ok(())
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
