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

use rust_rpc::wkt::field_descriptor_proto::{Label, Type};
use rust_rpc::wkt::source_code_info::Location;
use rust_rpc::wkt::{
    DescriptorProto, Edition, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto,
    FileDescriptorProto, MessageOptions, MethodDescriptorProto, MethodOptions,
    OneofDescriptorProto, ServiceDescriptorProto, SourceCodeInfo, descriptor_proto,
    enum_descriptor_proto,
};

use super::text::{self, Pos, Scalar};
use super::tokenizer::{Comments, Kind, Token, Tokenizer};
use crate::Error;

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

    // ---- options -----------------------------------------------------

    /// `option name = value;`
    fn option_statement(&mut self, of: OptionsOf, target: Vec<i32>) -> Result<(), Error> {
        self.advance();
        self.option_assignment(of, target)?;
        self.end_statement("after the option")
    }

    /// `name = value`, as in an option statement or inside `[...]`.
    fn option_assignment(&mut self, of: OptionsOf, target: Vec<i32>) -> Result<(), Error> {
        let name = self.option_name()?;
        self.expect("=", "after the option name")?;
        let value_pos = pos(self.current());
        let value = if self.at("{") {
            self.advance();
            text::Value::Message(self.text_message("}")?)
        } else {
            text::Value::Scalar(self.scalar("the option's value")?)
        };
        self.options.push(OptionStatement {
            of,
            target,
            name,
            value,
            value_pos,
        });
        Ok(())
    }

    /// `simple`, `(full.name)`, and parts of either joined by `.`.
    fn option_name(&mut self) -> Result<Vec<NamePart>, Error> {
        let mut parts = Vec::new();
        loop {
            let at = pos(self.current());
            if self.try_consume("(") {
                let (name, _) = self.dotted("an extension name", true)?;
                self.expect(")", "after the extension name")?;
                parts.push(NamePart {
                    name,
                    extension: true,
                    pos: at,
                });
            } else {
                let (name, _) = self.identifier("an option name")?;
                parts.push(NamePart {
                    name,
                    extension: false,
                    pos: at,
                });
            }
            if !self.try_consume(".") {
                return Ok(parts);
            }
        }
    }

    /// A scalar value: a number, a name (with an optional `-` for `-inf`),
    /// or strings.
    fn scalar(&mut self, what: &str) -> Result<Scalar, Error> {
        let negative = self.try_consume("-");
        let c = self.current();
        match c.kind {
            Kind::Number => {
                self.advance();
                if let Some(magnitude) = parse_integer(c.text) {
                    return Ok(Scalar::Int {
                        negative,
                        magnitude,
                    });
                }
                let value = parse_float(c.text).ok_or_else(|| {
                    self.error_at(pos(c), format!("`{}` is not a number", c.text))
                })?;
                Ok(Scalar::Float(if negative { -value } else { value }))
            }
            Kind::Ident => {
                self.advance();
                Ok(Scalar::Ident {
                    negative,
                    name: c.text.to_owned(),
                })
            }
            Kind::Str if !negative => Ok(Scalar::Str(self.string(what)?.0)),
            _ => Err(self.error(format!("expected {what}, found {}", self.found()))),
        }
    }

    /// The fields of a text-format message up to `close` (`}` or `>`),
    /// which is consumed.
    fn text_message(&mut self, close: &str) -> Result<text::Message, Error> {
        self.enter()?;
        let message = self.text_fields(close);
        self.depth -= 1;
        message
    }

    fn text_fields(&mut self, close: &str) -> Result<text::Message, Error> {
        let mut message = text::Message::default();
        loop {
            if self.try_consume(close) {
                return Ok(message);
            }
            let at = pos(self.current());
            let name = if self.try_consume("[") {
                let (first, _) = self.dotted("an extension or type URL", false)?;
                let name = if self.try_consume("/") {
                    let mut prefix = first;
                    // A type URL's prefix may hold more `/`.
                    let mut full_name = self.dotted("a type name", false)?.0;
                    while self.try_consume("/") {
                        prefix.push('/');
                        prefix.push_str(&full_name);
                        full_name = self.dotted("a type name", false)?.0;
                    }
                    text::Name::Any { prefix, full_name }
                } else {
                    text::Name::Extension(first)
                };
                self.expect("]", "after the extension name")?;
                name
            } else if self.current().kind == Kind::Ident {
                text::Name::Field(self.identifier("a field name")?.0)
            } else if self.current().kind == Kind::End {
                return Err(self.error(format!("expected `{close}`, found the end of the file")));
            } else {
                return Err(self.error(format!("expected a field name, found {}", self.found())));
            };
            let colon = self.try_consume(":");
            let value = self.text_value(colon)?;
            message.fields.push(text::Field {
                name,
                value,
                pos: at,
            });
            if !self.try_consume(";") {
                self.try_consume(",");
            }
        }
    }

    /// A field's value after its name (and `:` if `colon`).
    fn text_value(&mut self, colon: bool) -> Result<text::Value, Error> {
        if self.try_consume("{") {
            return Ok(text::Value::Message(self.text_message("}")?));
        }
        if self.try_consume("<") {
            return Ok(text::Value::Message(self.text_message(">")?));
        }
        if !colon {
            return Err(self.error(format!(
                "expected `:` or a message value, found {}",
                self.found()
            )));
        }
        if self.try_consume("[") {
            let mut items = Vec::new();
            if self.try_consume("]") {
                return Ok(text::Value::List(items));
            }
            loop {
                let at = pos(self.current());
                let item = if self.try_consume("{") {
                    text::Value::Message(self.text_message("}")?)
                } else if self.try_consume("<") {
                    text::Value::Message(self.text_message(">")?)
                } else {
                    text::Value::Scalar(self.scalar("a value")?)
                };
                items.push((item, at));
                if self.try_consume("]") {
                    return Ok(text::Value::List(items));
                }
                self.expect(",", "between list elements")?;
            }
        }
        Ok(text::Value::Scalar(self.scalar("a value")?))
    }

    /// `[a = 1, (b).c = 2]` after a field or enum value; `default` and
    /// `json_name` are not options and go to `field`.
    fn bracket_options(
        &mut self,
        of: OptionsOf,
        target: &[i32],
        mut field: Option<&mut FieldDescriptorProto>,
    ) -> Result<(), Error> {
        if !self.try_consume("[") {
            return Ok(());
        }
        loop {
            let c = self.current();
            let pseudo = c.kind == Kind::Ident && matches!(c.text, "default" | "json_name");
            match (pseudo, field.as_deref_mut()) {
                (true, Some(f)) => {
                    let at = pos(c);
                    self.advance();
                    self.expect("=", &format!("after `{}`", c.text))?;
                    if c.text == "default" {
                        if f.default_value.is_some() {
                            return Err(self.error_at(at, "`default` is set twice"));
                        }
                        f.default_value = Some(self.default_value(f)?);
                    } else {
                        if f.json_name.is_some() {
                            return Err(self.error_at(at, "`json_name` is set twice"));
                        }
                        f.json_name = Some(self.utf8_string("the JSON name")?.0);
                    }
                }
                _ => self.option_assignment(of, target.to_vec())?,
            }
            if self.try_consume("]") {
                return Ok(());
            }
            self.expect(",", "between options")?;
        }
    }

    /// `[default = ...]`, in the form protoc writes into `default_value`.
    fn default_value(&mut self, f: &FieldDescriptorProto) -> Result<String, Error> {
        let at = pos(self.current());
        let bad = |p: &Self, what: &str| {
            p.error_at(
                at,
                format!("expected {what} as the default of `{}`", f.name()),
            )
        };
        match f.r#type {
            Some(Type::Message | Type::Group) => {
                Err(self.error_at(at, "messages can't have default values"))
            }
            Some(Type::String) => Ok(self.utf8_string("a string")?.0),
            Some(Type::Bytes) => Ok(c_escape(&self.string("bytes")?.0)),
            Some(Type::Bool) => match self.current().text {
                "true" | "false" if self.current().kind == Kind::Ident => {
                    let v = self.current().text.to_owned();
                    self.advance();
                    Ok(v)
                }
                _ => Err(bad(self, "`true` or `false`")),
            },
            Some(Type::Float | Type::Double) => {
                let negative = self.try_consume("-");
                let c = self.current();
                let value = match c.kind {
                    Kind::Ident if matches!(c.text, "inf" | "infinity") => f64::INFINITY,
                    Kind::Ident if c.text == "nan" => f64::NAN,
                    Kind::Number => parse_integer(c.text)
                        .map(|v| v as f64)
                        .or_else(|| parse_float(c.text))
                        .ok_or_else(|| bad(self, "a number"))?,
                    _ => return Err(bad(self, "a number")),
                };
                self.advance();
                let mut out = String::new();
                if negative {
                    out.push('-');
                }
                if f.r#type == Some(Type::Float) {
                    out.push_str(&simple_ftoa(value as f32));
                } else {
                    out.push_str(&simple_dtoa(value));
                }
                Ok(out)
            }
            Some(t) => {
                let (negative, magnitude, _) = self.integer("an integer")?;
                let unsigned = matches!(
                    t,
                    Type::Uint32 | Type::Uint64 | Type::Fixed32 | Type::Fixed64
                );
                if negative && unsigned {
                    return Err(self.error_at(
                        at,
                        format!("`{}` is unsigned: its default can't be negative", f.name()),
                    ));
                }
                let max: u64 = match t {
                    Type::Int32 | Type::Sint32 | Type::Sfixed32 => {
                        if negative {
                            1 << 31
                        } else {
                            (1 << 31) - 1
                        }
                    }
                    Type::Uint32 | Type::Fixed32 => u64::from(u32::MAX),
                    Type::Int64 | Type::Sint64 | Type::Sfixed64 => {
                        if negative {
                            1 << 63
                        } else {
                            (1 << 63) - 1
                        }
                    }
                    _ => u64::MAX,
                };
                if magnitude > max {
                    return Err(
                        self.error_at(at, format!("the default of `{}` is out of range", f.name()))
                    );
                }
                Ok(if negative {
                    format!("-{magnitude}")
                } else {
                    magnitude.to_string()
                })
            }
            // A named type: an enum's value (checked when resolved).
            None => {
                let negative = self.try_consume("-");
                let c = self.current();
                if c.kind != Kind::Ident || negative {
                    return Err(bad(self, "an enum value name"));
                }
                self.advance();
                Ok(c.text.to_owned())
            }
        }
    }

    // ---- messages ----------------------------------------------------

    fn message(&mut self, d: Declaration) -> Result<DescriptorProto, Error> {
        self.advance(); // `message`
        let (name, _) = self.identifier("the message name")?;
        let mut m = DescriptorProto {
            name: Some(name),
            ..Default::default()
        };
        self.open_body(Some(&d), "after the message name")?;
        self.message_body(&mut m, &d.path)?;
        self.close_body("at the end of the message")?;
        Ok(m)
    }

    /// One level deeper, or an error past [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!(
                "messages and values nest more than {MAX_DEPTH} levels deep here"
            )));
        }
        Ok(())
    }

    /// Statements up to the `}` that closes the message (not consumed).
    fn message_body(&mut self, m: &mut DescriptorProto, path: &[i32]) -> Result<(), Error> {
        self.enter()?;
        let body = self.message_statements(m, path);
        self.depth -= 1;
        body
    }

    fn message_statements(&mut self, m: &mut DescriptorProto, path: &[i32]) -> Result<(), Error> {
        loop {
            let c = self.current();
            if c.kind == Kind::End {
                return Err(
                    self.error("expected `}` at the end of the message, found the end of the file")
                );
            }
            if self.at("}") {
                break;
            }
            if self.at(";") {
                self.end_declaration(None, false);
                continue;
            }
            let keyword = if c.kind == Kind::Ident { c.text } else { "" };
            match keyword {
                "message" => {
                    let d = self.declaration(child(path, 3, m.nested_type.len()));
                    let nested = self.message(d)?;
                    m.nested_type.push(nested);
                }
                "enum" => {
                    let d = self.declaration(child(path, 4, m.enum_type.len()));
                    let e = self.enumeration(d)?;
                    m.enum_type.push(e);
                }
                "extensions" => self.extensions(m, path)?,
                "reserved" => self.message_reserved(m)?,
                "extend" => {
                    let mut sink = Sink {
                        fields: &mut m.extension,
                        fields_at: (path, 6),
                        types: &mut m.nested_type,
                        types_at: (path, 3),
                    };
                    self.extend(&mut sink)?;
                }
                "option" => self.option_statement(OptionsOf::Message, path.to_vec())?,
                "oneof" => self.oneof(m, path)?,
                _ => {
                    let mut sink = Sink::message(m, path);
                    self.field(&mut sink, FieldContext::Message)?;
                }
            }
        }
        self.synthetic_oneofs(m);
        Ok(())
    }

    /// protoc gives each proto3 `optional` field a oneof of its own, after
    /// every real oneof, named `_` + the field's name (prefixed with `X`
    /// until no other field or oneof has that name).
    fn synthetic_oneofs(&mut self, m: &mut DescriptorProto) {
        let mut names: Vec<String> = m
            .field
            .iter()
            .map(|f| f.name().to_owned())
            .chain(m.oneof_decl.iter().map(|o| o.name().to_owned()))
            .collect();
        for i in 0..m.field.len() {
            if !m.field[i].proto3_optional() {
                continue;
            }
            let field = m.field[i].name();
            let mut name = if field.starts_with('_') {
                field.to_owned()
            } else {
                format!("_{field}")
            };
            while names.contains(&name) {
                name.insert(0, 'X');
            }
            names.push(name.clone());
            m.field[i].oneof_index = Some(i32::try_from(m.oneof_decl.len()).unwrap_or(i32::MAX));
            m.oneof_decl.push(OneofDescriptorProto {
                name: Some(name),
                ..Default::default()
            });
        }
    }

    fn oneof(&mut self, m: &mut DescriptorProto, path: &[i32]) -> Result<(), Error> {
        let index = m.oneof_decl.len();
        let d = self.declaration(child(path, 8, index));
        self.advance(); // `oneof`
        let (name, _) = self.identifier("the oneof name")?;
        m.oneof_decl.push(OneofDescriptorProto {
            name: Some(name),
            ..Default::default()
        });
        self.open_body(Some(&d), "after the oneof name")?;
        let mut fields = 0;
        loop {
            let c = self.current();
            if c.kind == Kind::End {
                return Err(
                    self.error("expected `}` at the end of the oneof, found the end of the file")
                );
            }
            if self.at("}") {
                break;
            }
            if self.at(";") {
                self.end_declaration(None, false);
                continue;
            }
            if self.at("option") {
                self.option_statement(OptionsOf::Oneof, d.path.clone())?;
                continue;
            }
            if c.kind == Kind::Ident && matches!(c.text, "required" | "optional" | "repeated") {
                return Err(self.error(
                    "fields in oneofs must not have labels (required / optional / repeated)",
                ));
            }
            let mut sink = Sink::message(m, path);
            self.field(&mut sink, FieldContext::Oneof(index))?;
            fields += 1;
        }
        if fields == 0 {
            return Err(self.error_at(d.start, "a oneof must have at least one field"));
        }
        self.close_body("at the end of the oneof")
    }

    /// `extensions 100 to 199, 500 to max [options];`
    fn extensions(&mut self, m: &mut DescriptorProto, path: &[i32]) -> Result<(), Error> {
        self.advance();
        let first = m.extension_range.len();
        loop {
            let (start, at) = self.number("an extension number", false)?;
            let end = if self.try_consume("to") {
                if self.try_consume("max") {
                    MAX_FIELD_NUMBER
                } else {
                    self.number("an extension number", false)?.0
                }
            } else {
                start
            };
            if end < start || start <= 0 || end > MAX_FIELD_NUMBER {
                return Err(self.error_at(
                    at,
                    "extension range numbers must be in 1 to 536870911, the start not past the end",
                ));
            }
            m.extension_range.push(descriptor_proto::ExtensionRange {
                start: Some(start),
                end: Some(end + 1),
                ..Default::default()
            });
            if !self.try_consume(",") {
                break;
            }
        }
        if self.at("[") {
            // The options go to every range of the statement.
            let statements = self.options.len();
            let range_path = child(path, 5, first);
            self.bracket_options(OptionsOf::ExtensionRange, &range_path, None)?;
            let written: Vec<OptionStatement> = self.options[statements..].to_vec();
            for i in first + 1..m.extension_range.len() {
                for o in &written {
                    let mut o = o.clone();
                    o.target = child(path, 5, i);
                    self.options.push(o);
                }
            }
        }
        self.end_statement("after the extension ranges")
    }

    /// `reserved 2, 9 to 11;` or `reserved "a", "b";` (editions: `reserved a, b;`).
    fn message_reserved(&mut self, m: &mut DescriptorProto) -> Result<(), Error> {
        self.advance();
        if self.current().kind == Kind::Str || self.current().kind == Kind::Ident {
            m.reserved_name.extend(self.reserved_names()?);
        } else {
            loop {
                let (start, at) = self.number("a field number", false)?;
                let end = if self.try_consume("to") {
                    if self.try_consume("max") {
                        MAX_FIELD_NUMBER
                    } else {
                        self.number("a field number", false)?.0
                    }
                } else {
                    start
                };
                if end < start || start <= 0 || end > MAX_FIELD_NUMBER {
                    return Err(self.error_at(at, "reserved field numbers must be in 1 to 536870911, the start not past the end"));
                }
                m.reserved_range.push(descriptor_proto::ReservedRange {
                    start: Some(start),
                    end: Some(end + 1),
                    ..Default::default()
                });
                if !self.try_consume(",") {
                    break;
                }
            }
        }
        self.end_statement("after the reserved numbers or names")
    }

    fn reserved_names(&mut self) -> Result<Vec<String>, Error> {
        let mut names = Vec::new();
        loop {
            let c = self.current();
            let name = match (c.kind, self.syntax) {
                (Kind::Str, Syntax::Editions) => {
                    return Err(self.error(
                        "reserved names must be identifiers in editions, not string literals",
                    ));
                }
                (Kind::Str, _) => self.utf8_string("a reserved name")?.0,
                (Kind::Ident, Syntax::Editions) => self.identifier("a reserved name")?.0,
                (Kind::Ident, _) => {
                    return Err(self.error(
                        "reserved names must be string literals (identifiers are for editions)",
                    ));
                }
                _ => {
                    return Err(
                        self.error(format!("expected a reserved name, found {}", self.found()))
                    );
                }
            };
            names.push(name);
            if !self.try_consume(",") {
                return Ok(names);
            }
        }
    }

    // ---- fields --------------------------------------------------------

    /// `extend Type { fields }`.
    fn extend(&mut self, sink: &mut Sink<'_>) -> Result<(), Error> {
        self.advance(); // `extend`
        let (extendee, at) = self.dotted("the extended type", true)?;
        self.open_body(None, "after the extended type")?;
        let mut fields = 0;
        loop {
            let c = self.current();
            if c.kind == Kind::End {
                return Err(self.error(
                    "expected `}` at the end of the extend block, found the end of the file",
                ));
            }
            if self.at("}") {
                break;
            }
            if self.at(";") {
                self.end_declaration(None, false);
                continue;
            }
            let context = FieldContext::Extend {
                extendee: extendee.clone(),
                at,
            };
            self.field(sink, context)?;
            fields += 1;
        }
        if fields == 0 {
            return Err(self.error_at(at, "an extend block must declare at least one field"));
        }
        self.close_body("at the end of the extend block")
    }

    /// A field, a map field or a group, in a message, a oneof or an
    /// `extend` block.
    fn field(&mut self, sink: &mut Sink<'_>, context: FieldContext) -> Result<(), Error> {
        let field_path = child(sink.fields_at.0, sink.fields_at.1, sink.fields.len());
        let start = pos(self.current());
        let mut f = FieldDescriptorProto::default();
        let c = self.current();
        let label = (c.kind == Kind::Ident
            && matches!(c.text, "required" | "optional" | "repeated"))
        .then(|| {
            self.advance();
            (c.text, pos(c))
        });
        match (label, self.syntax) {
            (Some(("required", at)), Syntax::Proto3) => {
                return Err(self.error_at(at, "required fields are not allowed in proto3"));
            }
            (Some((written @ ("required" | "optional"), at)), Syntax::Editions) => {
                return Err(self.error_at(
                    at,
                    format!(
                        "label `{written}` is not supported in editions: singular fields have \
                         explicit presence unless `features.field_presence` says otherwise"
                    ),
                ));
            }
            _ => {}
        }
        f.label = Some(match label {
            Some(("repeated", _)) => Label::Repeated,
            Some(("required", _)) => Label::Required,
            _ => Label::Optional,
        });
        if label.is_some_and(|l| l.0 == "optional") && self.syntax == Syntax::Proto3 {
            f.proto3_optional = Some(true);
        }
        let extending = matches!(context, FieldContext::Extend { .. });
        if self.at("map") && label.is_none() {
            let map_at = pos(self.current());
            self.advance();
            if self.at("<") {
                if extending {
                    return Err(self.error_at(map_at, "map fields can't be extensions"));
                }
                return self.map_field(sink, field_path, start, map_at, context);
            }
            let ty = TypeRef::Named(self.rest_of_name("map")?, map_at);
            return self.plain_field(sink, f, ty, field_path, start, context, label.is_some());
        }
        if self.at("group") {
            let group_at = pos(self.current());
            self.advance();
            if self.current().kind == Kind::Ident {
                let d = Declaration {
                    path: field_path,
                    start,
                };
                return self.group(sink, f, d, group_at, context, label.is_some());
            }
            let ty = TypeRef::Named(self.rest_of_name("group")?, group_at);
            return self.plain_field(sink, f, ty, field_path, start, context, label.is_some());
        }
        let ty = self.type_ref()?;
        self.plain_field(sink, f, ty, field_path, start, context, label.is_some())
    }

    /// A type name that starts with `first`, already consumed.
    fn rest_of_name(&mut self, first: &str) -> Result<String, Error> {
        let mut name = first.to_owned();
        while self.try_consume(".") {
            name.push('.');
            name.push_str(&self.identifier("a type")?.0);
        }
        Ok(name)
    }

    fn type_ref(&mut self) -> Result<TypeRef, Error> {
        let c = self.current();
        if c.kind == Kind::Ident {
            if let Some(t) = scalar_type(c.text) {
                self.advance();
                return Ok(TypeRef::Scalar(t));
            }
        }
        let (name, at) = self.dotted("a type", true)?;
        Ok(TypeRef::Named(name, at))
    }

    fn check_label(&self, has_label: bool, context: &FieldContext, at: Pos) -> Result<(), Error> {
        if has_label || self.syntax != Syntax::Proto2 || matches!(context, FieldContext::Oneof(_)) {
            return Ok(());
        }
        Err(self.error_at(
            at,
            "expected `required`, `optional` or `repeated`: proto2 fields have a label",
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn plain_field(
        &mut self,
        sink: &mut Sink<'_>,
        mut f: FieldDescriptorProto,
        ty: TypeRef,
        field_path: Vec<i32>,
        start: Pos,
        context: FieldContext,
        has_label: bool,
    ) -> Result<(), Error> {
        self.check_label(has_label, &context, start)?;
        self.positions.insert(field_path.clone(), start);
        match ty {
            TypeRef::Scalar(t) => f.r#type = Some(t),
            TypeRef::Named(name, at) => {
                self.positions.insert(with(&field_path, 6), at);
                f.type_name = Some(name);
            }
        }
        f.name = Some(self.identifier("the field name")?.0);
        self.expect("=", "after the field name")?;
        f.number = Some(self.number("a field number", false)?.0);
        let d = Declaration {
            path: field_path,
            start,
        };
        self.field_options(&mut f, &d, &context)?;
        sink.fields.push(f);
        self.end_element(&d, "after the field")
    }

    /// Where a field goes, and its `[...]` options.
    fn field_options(
        &mut self,
        f: &mut FieldDescriptorProto,
        d: &Declaration,
        context: &FieldContext,
    ) -> Result<(), Error> {
        match context {
            FieldContext::Oneof(index) => {
                f.oneof_index = Some(i32::try_from(*index).unwrap_or(i32::MAX));
            }
            FieldContext::Extend { extendee, at } => {
                self.positions.insert(with(&d.path, 2), *at);
                f.extendee = Some(extendee.clone());
            }
            FieldContext::Message => {}
        }
        self.bracket_options(OptionsOf::Field, &d.path, Some(f))
    }

    /// `map<K, V> name = N [options];`: a repeated field of a nested
    /// `NameEntry` message.
    fn map_field(
        &mut self,
        sink: &mut Sink<'_>,
        field_path: Vec<i32>,
        start: Pos,
        map_at: Pos,
        context: FieldContext,
    ) -> Result<(), Error> {
        if let FieldContext::Oneof(_) = context {
            return Err(self.error_at(map_at, "map fields are not allowed in oneofs"));
        }
        self.advance(); // `<`
        let key_at = pos(self.current());
        let key_type = match self.type_ref()? {
            TypeRef::Scalar(t) if !matches!(t, Type::Float | Type::Double | Type::Bytes) => t,
            _ => {
                return Err(self.error_at(
                    key_at,
                    "a map's key must be an integer, bool or string type",
                ));
            }
        };
        self.expect(",", "between the map's key and value types")?;
        let value = self.type_ref()?;
        self.expect(">", "after the map's value type")?;
        let name = self.identifier("the field name")?.0;
        self.expect("=", "after the field name")?;
        let number = self.number("a field number", false)?.0;
        let entry_name = map_entry_name(&name);
        let entry_path = child(sink.types_at.0, sink.types_at.1, sink.types.len());
        let mut value_field = FieldDescriptorProto {
            name: Some("value".to_owned()),
            number: Some(2),
            label: Some(Label::Optional),
            ..Default::default()
        };
        match value {
            TypeRef::Scalar(t) => value_field.r#type = Some(t),
            TypeRef::Named(n, at) => {
                self.positions
                    .insert(with(&child(&entry_path, 2, 1), 6), at);
                value_field.type_name = Some(n);
            }
        }
        sink.types.push(DescriptorProto {
            name: Some(entry_name.clone()),
            field: vec![
                FieldDescriptorProto {
                    name: Some("key".to_owned()),
                    number: Some(1),
                    label: Some(Label::Optional),
                    r#type: Some(key_type),
                    ..Default::default()
                },
                value_field,
            ],
            options: Some(MessageOptions {
                map_entry: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        });
        self.positions.insert(with(&field_path, 6), map_at);
        self.positions.insert(field_path.clone(), start);
        let mut f = FieldDescriptorProto {
            name: Some(name),
            number: Some(number),
            label: Some(Label::Repeated),
            type_name: Some(entry_name),
            ..Default::default()
        };
        let d = Declaration {
            path: field_path,
            start,
        };
        self.field_options(&mut f, &d, &context)?;
        sink.fields.push(f);
        self.end_element(&d, "after the field")
    }

    /// `[label] group Name = N [options] { ... }`: a field of type `Name`,
    /// a message declared beside it (beside the extend block, for an
    /// extension), which gets the declaration's comments.
    fn group(
        &mut self,
        sink: &mut Sink<'_>,
        mut f: FieldDescriptorProto,
        d: Declaration,
        group_at: Pos,
        context: FieldContext,
        has_label: bool,
    ) -> Result<(), Error> {
        match self.syntax {
            Syntax::Editions => {
                return Err(self.error_at(
                    group_at,
                    "groups are not supported in editions: use a message field with \
                     `features.message_encoding = DELIMITED`",
                ));
            }
            Syntax::Proto3 => {
                return Err(self.error_at(group_at, "groups are not supported in proto3"));
            }
            Syntax::Proto2 => {}
        }
        self.check_label(has_label, &context, d.start)?;
        let (name, name_at) = self.identifier("the group name")?;
        if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
            return Err(self.error_at(name_at, "a group's name must start with a capital letter"));
        }
        self.expect("=", "after the group name")?;
        f.name = Some(name.to_ascii_lowercase());
        f.number = Some(self.number("a field number", false)?.0);
        f.r#type = Some(Type::Group);
        f.type_name = Some(name.clone());
        self.positions.insert(with(&d.path, 6), name_at);
        self.positions.insert(d.path.clone(), d.start);
        self.field_options(&mut f, &d, &context)?;
        sink.fields.push(f);
        let group_path = child(sink.types_at.0, sink.types_at.1, sink.types.len());
        let group = self.declaration(group_path.clone());
        let group = Declaration {
            start: d.start,
            ..group
        };
        let mut body = DescriptorProto {
            name: Some(name),
            ..Default::default()
        };
        self.open_body(Some(&group), "after the group")?;
        self.message_body(&mut body, &group_path)?;
        self.close_body("at the end of the group")?;
        sink.types.push(body);
        Ok(())
    }

    // ---- enums ----------------------------------------------------------

    fn enumeration(&mut self, d: Declaration) -> Result<EnumDescriptorProto, Error> {
        self.advance(); // `enum`
        let (name, _) = self.identifier("the enum name")?;
        let mut e = EnumDescriptorProto {
            name: Some(name),
            ..Default::default()
        };
        self.open_body(Some(&d), "after the enum name")?;
        loop {
            let c = self.current();
            if c.kind == Kind::End {
                return Err(
                    self.error("expected `}` at the end of the enum, found the end of the file")
                );
            }
            if self.at("}") {
                break;
            }
            if self.at(";") {
                self.end_declaration(None, false);
                continue;
            }
            if c.kind == Kind::Ident && c.text == "option" {
                self.option_statement(OptionsOf::Enum, d.path.clone())?;
                continue;
            }
            if c.kind == Kind::Ident && c.text == "reserved" {
                self.enum_reserved(&mut e)?;
                continue;
            }
            let value_d = self.declaration(child(&d.path, 2, e.value.len()));
            let (name, _) = self.identifier("an enum value name")?;
            self.expect("=", "after the enum value name")?;
            let (number, _) = self.number("an enum value number", true)?;
            let v = EnumValueDescriptorProto {
                name: Some(name),
                number: Some(number),
                ..Default::default()
            };
            self.bracket_options(OptionsOf::EnumValue, &value_d.path, None)?;
            e.value.push(v);
            self.end_element(&value_d, "after the enum value")?;
        }
        if e.value.is_empty() {
            return Err(self.error_at(d.start, "an enum must have at least one value"));
        }
        self.close_body("at the end of the enum")?;
        Ok(e)
    }

    /// `reserved -1, 5 to max;` or names.
    fn enum_reserved(&mut self, e: &mut EnumDescriptorProto) -> Result<(), Error> {
        self.advance();
        if matches!(self.current().kind, Kind::Str | Kind::Ident) && !self.at("-") {
            e.reserved_name.extend(self.reserved_names()?);
        } else {
            loop {
                let (start, at) = self.number("an enum value number", true)?;
                let end = if self.try_consume("to") {
                    if self.try_consume("max") {
                        i32::MAX
                    } else {
                        self.number("an enum value number", true)?.0
                    }
                } else {
                    start
                };
                if end < start {
                    return Err(self.error_at(at, "a reserved range's start is past its end"));
                }
                e.reserved_range
                    .push(enum_descriptor_proto::EnumReservedRange {
                        start: Some(start),
                        end: Some(end),
                        ..Default::default()
                    });
                if !self.try_consume(",") {
                    break;
                }
            }
        }
        self.end_statement("after the reserved numbers or names")
    }

    // ---- services ----------------------------------------------------------

    fn service(&mut self, d: Declaration) -> Result<ServiceDescriptorProto, Error> {
        self.advance(); // `service`
        let (name, _) = self.identifier("the service name")?;
        let mut s = ServiceDescriptorProto {
            name: Some(name),
            ..Default::default()
        };
        self.open_body(Some(&d), "after the service name")?;
        loop {
            let c = self.current();
            if c.kind == Kind::End {
                return Err(
                    self.error("expected `}` at the end of the service, found the end of the file")
                );
            }
            if self.at("}") {
                break;
            }
            if self.at(";") {
                self.end_declaration(None, false);
                continue;
            }
            match (c.kind, c.text) {
                (Kind::Ident, "option") => {
                    self.option_statement(OptionsOf::Service, d.path.clone())?;
                }
                (Kind::Ident, "rpc") => {
                    let method_d = self.declaration(child(&d.path, 2, s.method.len()));
                    let m = self.method(&method_d)?;
                    s.method.push(m);
                }
                _ => {
                    return Err(self.error(format!(
                        "expected `rpc` or `option` in the service, found {}",
                        self.found()
                    )));
                }
            }
        }
        self.close_body("at the end of the service")?;
        Ok(s)
    }

    fn method(&mut self, d: &Declaration) -> Result<MethodDescriptorProto, Error> {
        self.advance(); // `rpc`
        let (name, _) = self.identifier("the method name")?;
        let mut m = MethodDescriptorProto {
            name: Some(name),
            ..Default::default()
        };
        for (field, keyword) in [(2, "("), (3, "returns")] {
            if field == 3 {
                self.expect("returns", "after the request type")?;
                self.expect("(", "after `returns`")?;
            } else {
                self.expect(keyword, "after the method name")?;
            }
            let streaming = self.try_consume("stream");
            let (ty, at) = self.dotted("a message type", true)?;
            self.positions.insert(with(&d.path, field), at);
            self.expect(")", "after the type")?;
            if field == 2 {
                m.input_type = Some(ty);
                if streaming {
                    m.client_streaming = Some(true);
                }
            } else {
                m.output_type = Some(ty);
                if streaming {
                    m.server_streaming = Some(true);
                }
            }
        }
        if self.at("{") {
            // protoc gives a method written with a body options, even empty.
            m.options = Some(MethodOptions::default());
            self.open_body(Some(d), "after the method")?;
            loop {
                let c = self.current();
                if c.kind == Kind::End {
                    return Err(self.error(
                        "expected `}` at the end of the method, found the end of the file",
                    ));
                }
                if self.at("}") {
                    break;
                }
                if self.at(";") {
                    self.end_declaration(None, false);
                    continue;
                }
                if !(c.kind == Kind::Ident && c.text == "option") {
                    return Err(self.error(format!(
                        "expected `option` in the method's body, found {}",
                        self.found()
                    )));
                }
                self.option_statement(OptionsOf::Method, d.path.clone())?;
            }
            self.close_body("at the end of the method")?;
            Ok(m)
        } else {
            self.end_element(d, "after the method")?;
            Ok(m)
        }
    }
}

/// Where the fields and the types a statement declares go: a message's
/// fields and nested types, or, in an `extend` block, the extensions and
/// types of the scope around it. `*_at`: the path of that scope and the
/// descriptor field that holds the list.
struct Sink<'x> {
    fields: &'x mut Vec<FieldDescriptorProto>,
    fields_at: (&'x [i32], i32),
    types: &'x mut Vec<DescriptorProto>,
    types_at: (&'x [i32], i32),
}

impl<'x> Sink<'x> {
    fn message(m: &'x mut DescriptorProto, path: &'x [i32]) -> Self {
        Self {
            fields: &mut m.field,
            fields_at: (path, 2),
            types: &mut m.nested_type,
            types_at: (path, 3),
        }
    }
}

/// Where a field is declared.
#[derive(Clone, Debug)]
enum FieldContext {
    Message,
    /// In the oneof at this index.
    Oneof(usize),
    /// In an `extend` block of this type (as written, and where).
    Extend {
        extendee: String,
        at: Pos,
    },
}

fn with(path: &[i32], field: i32) -> Vec<i32> {
    let mut p = path.to_vec();
    p.push(field);
    p
}

/// protoc's name for a map field's entry message: `foo_bar` → `FooBarEntry`.
pub(crate) fn map_entry_name(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 5);
    let mut cap_next = true;
    for c in field.chars() {
        if c == '_' {
            cap_next = true;
        } else if cap_next {
            out.push(c.to_ascii_uppercase());
            cap_next = false;
        } else {
            out.push(c);
        }
    }
    out.push_str("Entry");
    out
}

/// An integer literal: decimal, `0x` hex or `0` octal. `None` if it is not
/// one or does not fit in 64 bits.
pub(crate) fn parse_integer(text: &str) -> Option<u64> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        if hex.is_empty() {
            return None;
        }
        return u64::from_str_radix(hex, 16).ok();
    }
    if text.len() > 1 && text.starts_with('0') {
        return u64::from_str_radix(&text[1..], 8).ok();
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) || text.is_empty() {
        return None;
    }
    text.parse().ok()
}

/// A floating-point literal (`1.5`, `.5`, `1e-3`, `2.`, with an optional
/// `f` suffix as text format allows).
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    let body = text
        .strip_suffix(['f', 'F'])
        .filter(|b| b.contains(['.', 'e', 'E']))
        .unwrap_or(text);
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    body.parse().ok()
}

/// How protoc writes a floating-point default (`SimpleDtoa`): the shortest
/// of `%.15g` and `%.17g` that reads back as the same value.
pub(crate) fn simple_dtoa(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    let short = format_g(value, 15);
    if short.parse::<f64>().ok() == Some(value) {
        short
    } else {
        format_g(value, 17)
    }
}

/// How protoc writes a `float` default (`SimpleFtoa`): the shortest of
/// `%.6g` and `%.9g` that reads back as the same `f32`.
pub(crate) fn simple_ftoa(value: f32) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    let short = format_g(f64::from(value), 6);
    if short.parse::<f32>().ok() == Some(value) {
        short
    } else {
        format_g(f64::from(value), 9)
    }
}

/// C's `%.{precision}g`.
fn format_g(value: f64, precision: usize) -> String {
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let scientific = format!("{:.*e}", precision - 1, value);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s.to_owned()
        }
    };
    if exponent < -4 || exponent >= precision as i32 {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exponent.abs())
    } else {
        let decimals = usize::try_from(precision as i32 - 1 - exponent).unwrap_or(0);
        trim(&format!("{value:.decimals$}"))
    }
}

/// protoc's `CEscape`, as it writes a bytes field's default.
pub(crate) fn c_escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out
}

/// A string literal's token (quotes included) unescaped, appended to
/// `out`.
pub(crate) fn unescape(token: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let bytes = token.as_bytes();
    let quote = bytes.first().copied().unwrap_or(b'"');
    let mut i = 1;
    loop {
        let Some(&b) = bytes.get(i) else {
            return Err("the string is not terminated before the end of the line".to_owned());
        };
        i += 1;
        if b == quote {
            return if i == bytes.len() {
                Ok(())
            } else {
                Err("unexpected text after the string".to_owned())
            };
        }
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&e) = bytes.get(i) else {
            return Err("the string is not terminated before the end of the line".to_owned());
        };
        i += 1;
        match e {
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'\\' | b'\'' | b'"' | b'?' => out.push(e),
            b'0'..=b'7' => {
                let mut value = u32::from(e - b'0');
                for _ in 0..2 {
                    match bytes.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(u8::try_from(value).map_err(|_| "an octal escape past \\377")?);
            }
            b'x' | b'X' => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 {
                    match bytes.get(i).and_then(|d| char::from(*d).to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            i += 1;
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    return Err("`\\x` must be followed by a hex digit".to_owned());
                }
                out.push(value as u8);
            }
            b'u' | b'U' => {
                let len = if e == b'u' { 4 } else { 8 };
                let hex = token
                    .get(i..i + len)
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .ok_or_else(|| {
                        format!("`\\{}` must be followed by {len} hex digits", char::from(e))
                    })?;
                i += len;
                let code = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                let c = char::from_u32(code).ok_or_else(|| {
                    format!("`\\{}{hex}` is not a Unicode scalar value", char::from(e))
                })?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return Err(format!("invalid escape sequence `\\{}`", char::from(e))),
        }
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

    #[test]
    fn float_defaults_are_written_as_protoc_writes_them() {
        assert_eq!(simple_ftoa(9e9), "9e+09");
        assert_eq!(simple_ftoa(0.1), "0.1");
        assert_eq!(simple_ftoa(3.402_823_5e38), "3.40282347e+38");
        assert_eq!(simple_dtoa(0.1), "0.1");
        assert_eq!(simple_dtoa(16.0), "16");
        assert_eq!(simple_dtoa(7e22), "7e+22");
        assert_eq!(simple_dtoa(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(simple_dtoa(1e-5), "1e-05");
        assert_eq!(simple_dtoa(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn escapes() {
        let mut out = Vec::new();
        unescape(r#""a\n\x41\101\u00e9\"""#, &mut out).unwrap();
        assert_eq!(out, b"a\nAA\xc3\xa9\"");
        assert!(unescape(r#""\q""#, &mut Vec::new()).is_err());
        assert!(unescape(r#""open"#, &mut Vec::new()).is_err());
        assert_eq!(c_escape(b"a\"\n\x00\xff"), "a\\\"\\n\\000\\377");
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
