//! Option statements, `[...]` options and `[default = ...]`, and the
//! values they take: scalars and messages in text format.

use rust_rpc::wkt::FieldDescriptorProto;
use rust_rpc::wkt::field_descriptor_proto::Type;

use super::super::literal::{c_escape, parse_float, parse_integer, simple_dtoa, simple_ftoa};
use super::super::text::{self, Scalar};
use super::super::tokenizer::Kind;
use super::*;
use crate::Error;

/// `uninterpreted_option`'s number in every options message: where protoc
/// records an option statement's location before it interprets it.
pub(crate) const UNINTERPRETED_OPTION: i32 = 999;

impl Parser<'_> {
    // ---- options -----------------------------------------------------

    /// `option name = value;`, on the element at `target` whose options
    /// are at `options_path` (the target's path and the number of its
    /// options field).
    pub(super) fn option_statement(
        &mut self,
        of: OptionsOf,
        target: Vec<i32>,
        options_path: Vec<i32>,
    ) -> Result<(), Error> {
        let outer = self.open(options_path.clone());
        let index = self.option_index(&options_path);
        let mut path = options_path;
        path.extend([UNINTERPRETED_OPTION, index]);
        let location = self.open(path);
        self.advance();
        self.option_assignment(of, target, location, outer)?;
        self.end_statement(location, "after the option")?;
        self.close(location);
        self.close(outer);
        Ok(())
    }

    /// `name = value`, as in an option statement or inside `[...]`;
    /// `location` is the statement's.
    pub(super) fn option_assignment(
        &mut self,
        of: OptionsOf,
        target: Vec<i32>,
        location: usize,
        among: usize,
    ) -> Result<(), Error> {
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
            location,
            among,
        });
        Ok(())
    }

    /// `simple`, `(full.name)`, and parts of either joined by `.`.
    pub(super) fn option_name(&mut self) -> Result<Vec<NamePart>, Error> {
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
    pub(super) fn scalar(&mut self, what: &str) -> Result<Scalar, Error> {
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
    pub(super) fn text_message(&mut self, close: &str) -> Result<text::Message, Error> {
        self.enter()?;
        let message = self.text_fields(close);
        self.depth -= 1;
        message
    }

    pub(super) fn text_fields(&mut self, close: &str) -> Result<text::Message, Error> {
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
    pub(super) fn text_value(&mut self, colon: bool) -> Result<text::Value, Error> {
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

    /// `[a = 1, (b).c = 2]` after a field, an enum value or extension
    /// ranges, whose options are at `options_path`; `default` and
    /// `json_name` are not options and go to `field`.
    pub(super) fn bracket_options(
        &mut self,
        of: OptionsOf,
        target: &[i32],
        options_path: Vec<i32>,
        mut field: Option<&mut FieldDescriptorProto>,
    ) -> Result<(), Error> {
        if !self.at("[") {
            return Ok(());
        }
        let outer = self.open(options_path.clone());
        self.advance();
        loop {
            let c = self.current();
            let pseudo = c.kind == Kind::Ident && matches!(c.text, "default" | "json_name");
            match (pseudo, field.as_deref_mut()) {
                (true, Some(f)) if c.text == "default" => {
                    let at = pos(c);
                    self.advance();
                    self.expect("=", "after `default`")?;
                    if f.default_value.is_some() {
                        return Err(self.error_at(at, "`default` is set twice"));
                    }
                    let loc = self.open(with(target, 7));
                    f.default_value = Some(self.default_value(f)?);
                    self.close(loc);
                }
                (true, Some(f)) => {
                    let at = pos(c);
                    if f.json_name.is_some() {
                        return Err(self.error_at(at, "`json_name` is set twice"));
                    }
                    let loc = self.open(with(target, 10));
                    self.advance();
                    self.expect("=", "after `json_name`")?;
                    let value = self.open(with(target, 10));
                    f.json_name = Some(self.utf8_string("the JSON name")?.0);
                    self.close(value);
                    self.close(loc);
                }
                _ => {
                    let index = self.option_index(&options_path);
                    let mut path = options_path.clone();
                    path.extend([UNINTERPRETED_OPTION, index]);
                    let location = self.open(path);
                    self.option_assignment(of, target.to_vec(), location, outer)?;
                    self.close(location);
                }
            }
            if self.try_consume("]") {
                self.close(outer);
                return Ok(());
            }
            self.expect(",", "between options")?;
        }
    }

    /// `[default = ...]`, in the form protoc writes into `default_value`.
    pub(super) fn default_value(&mut self, f: &FieldDescriptorProto) -> Result<String, Error> {
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
}
