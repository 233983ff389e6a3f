//! Options as written to options messages: each `option name = value;`
//! (and `[name = value]`) becomes the bytes of the field it names in the
//! element's `*Options` message, as protoc's `OptionInterpreter` makes
//! them: built-in options (`deprecated`, `features.field_presence`, ...)
//! become known fields, custom options (`(google.api.http)`) the
//! extension's field, message values written in text format
//! (`{ get: "/v1" }`) encoded against their type, each statement its own
//! record, in the order written ([`super::canonical`] then orders them as
//! protoc writes them).

use std::collections::{HashMap, HashSet};

use rust_rpc::encoding::{Decoder, MAX_VARINT_LEN, WireType, make_key, write_varint};
use rust_rpc::wkt::field_descriptor_proto::{Label, Type};
use rust_rpc::wkt::field_options::OptionRetention;
use rust_rpc::wkt::source_code_info::Location;
use rust_rpc::wkt::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
};

use super::link::{Kind, Pool, join};
use super::syntax::{OptionStatement, OptionsOf};
use super::text::{self, Name, Pos, Scalar};
use crate::Error;

/// The types options are encoded against: every message, enum and
/// extension of the pool's files, by full name (messages and enums with a
/// leading dot, extensions without).
pub(crate) struct Types<'a> {
    messages: HashMap<String, &'a DescriptorProto>,
    enums: HashMap<String, &'a EnumDescriptorProto>,
    extensions: HashMap<String, &'a FieldDescriptorProto>,
    /// Extensions by what they extend (with a leading dot) and number.
    by_number: HashMap<(String, i32), &'a FieldDescriptorProto>,
    /// Messages with `option message_set_wire_format = true;`.
    message_sets: HashSet<String>,
    /// Fields and extensions (full names, no leading dot) whose options
    /// say `retention = RETENTION_SOURCE`, read off their statements.
    source_only: HashSet<String>,
}

impl<'a> Types<'a> {
    /// `message_sets`: the full names (with a leading dot) of messages that
    /// use the MessageSet wire format, read off their option statements
    /// (options are not interpreted yet when this is built).
    pub fn new(files: &[&'a FileDescriptorProto], early: Early) -> Self {
        let mut t = Types {
            messages: HashMap::new(),
            enums: HashMap::new(),
            extensions: HashMap::new(),
            by_number: HashMap::new(),
            message_sets: early.message_sets,
            source_only: early.source_only,
        };
        for f in files {
            t.scope(f.package(), &f.message_type, &f.enum_type, &f.extension);
        }
        for x in t.extensions.values() {
            t.by_number
                .insert((x.extendee().to_owned(), x.number()), *x);
        }
        t
    }

    /// Whether field `f` (of `message`, or an extension named `full`)
    /// keeps its values in the source only.
    fn source_retention(&self, f: &FieldDescriptorProto, full: &str) -> bool {
        f.options.as_ref().and_then(|o| o.retention) == Some(OptionRetention::RetentionSource)
            || self.source_only.contains(full)
    }

    /// `bytes` (fields of `message_type`) without the options whose
    /// retention is the source only, as protoc leaves them out of the
    /// descriptors it writes; nested messages likewise. Records it cannot
    /// read are kept as they are.
    pub fn strip_source_retention(&self, bytes: &[u8], message_type: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        let mut d = Decoder::new(bytes);
        while !d.is_empty() {
            let start = d.remaining();
            let Ok(key) = d.read_key() else {
                out.extend_from_slice(start);
                break;
            };
            let number = i32::try_from(key >> 3).unwrap_or(0);
            let wire_type = WireType::from_key(key);
            let payload = if wire_type == Some(WireType::LengthDelimited) {
                d.read_slice().ok()
            } else {
                d.skip_value(key).ok().map(|()| &[][..])
            };
            let Some(payload) = payload else {
                out.extend_from_slice(start);
                break;
            };
            let record = &start[..start.len() - d.remaining().len()];
            let field = self
                .messages
                .get(message_type)
                .and_then(|m| m.field.iter().find(|f| f.number() == number))
                .map(|f| (f, format!("{}.{}", &message_type[1..], f.name())))
                .or_else(|| {
                    self.by_number
                        .get(&(message_type.to_owned(), number))
                        .map(|x| (*x, String::new()))
                });
            let Some((f, full)) = field else {
                out.extend_from_slice(record);
                continue;
            };
            let full = if full.is_empty() {
                self.extensions
                    .iter()
                    .find(|(_, x)| std::ptr::eq(**x, f))
                    .map(|(n, _)| n.clone())
                    .unwrap_or_default()
            } else {
                full
            };
            if self.source_retention(f, &full) {
                continue;
            }
            if f.r#type() == Type::Message && wire_type == Some(WireType::LengthDelimited) {
                let inner = self.strip_source_retention(payload, f.type_name());
                put_key(
                    &mut out,
                    u32::try_from(number).unwrap_or(0),
                    WireType::LengthDelimited,
                );
                put_varint(&mut out, inner.len() as u64);
                out.extend_from_slice(&inner);
            } else {
                out.extend_from_slice(record);
            }
        }
        out
    }

    /// The types declared in `scope` (a package, or a message's full
    /// name), and those nested in them.
    fn scope(
        &mut self,
        scope: &str,
        messages: &'a [DescriptorProto],
        enums: &'a [EnumDescriptorProto],
        extensions: &'a [FieldDescriptorProto],
    ) {
        for m in messages {
            let full = join(scope, m.name());
            self.scope(&full, &m.nested_type, &m.enum_type, &m.extension);
            self.messages.insert(format!(".{full}"), m);
        }
        for e in enums {
            self.enums.insert(format!(".{}", join(scope, e.name())), e);
        }
        for x in extensions {
            self.extensions.insert(join(scope, x.name()), x);
        }
    }
}

/// The scope option names are looked up from, for the element at `path`
/// of `file`: as protoc, the element's full name (whose last part
/// [`Pool::lookup`] drops first); for the file, `package.dummy`; for an
/// extension range, its message; for an enum value, its enum's scope (enum
/// values are siblings of their enum).
pub(crate) fn scope_of(file: &FileDescriptorProto, path: &[i32]) -> String {
    let package = file.package().to_owned();
    let Some((&kind, rest)) = path.split_first() else {
        return join(&package, "dummy");
    };
    let index = |i: Option<&i32>| i.and_then(|&i| usize::try_from(i).ok());
    let name = || -> Option<String> {
        let i = index(rest.first())?;
        match kind {
            4 => message_scope(&package, file.message_type.get(i)?, &rest[1..]),
            5 => enum_scope(&package, file.enum_type.get(i)?, &rest[1..]),
            6 => {
                let s = file.service.get(i)?;
                let service = join(&package, s.name());
                match rest.get(1..3) {
                    Some([2, j]) => Some(join(&service, s.method.get(index(Some(j))?)?.name())),
                    _ => Some(service),
                }
            }
            7 => Some(join(&package, file.extension.get(i)?.name())),
            _ => None,
        }
    };
    name().unwrap_or(package)
}

fn message_scope(scope: &str, m: &DescriptorProto, rest: &[i32]) -> Option<String> {
    let full = join(scope, m.name());
    let Some((&kind, rest)) = rest.split_first() else {
        return Some(full);
    };
    let i = usize::try_from(*rest.first()?).ok()?;
    match kind {
        2 => Some(join(&full, m.field.get(i)?.name())),
        3 => message_scope(&full, m.nested_type.get(i)?, &rest[1..]),
        4 => enum_scope(&full, m.enum_type.get(i)?, &rest[1..]),
        // An extension range's options are looked up from its message.
        5 => Some(full),
        6 => Some(join(&full, m.extension.get(i)?.name())),
        8 => Some(join(&full, m.oneof_decl.get(i)?.name())),
        _ => Some(full),
    }
}

fn enum_scope(scope: &str, e: &EnumDescriptorProto, rest: &[i32]) -> Option<String> {
    match rest {
        [2, i, ..] => {
            let v = e.value.get(usize::try_from(*i).ok()?)?;
            Some(join(scope, v.name()))
        }
        _ => Some(join(scope, e.name())),
    }
}

/// Interprets the option statements of one file.
pub(crate) struct Interpreter<'a> {
    pub pool: &'a Pool,
    pub types: &'a Types<'a>,
    pub file_index: usize,
    pub file: &'a FileDescriptorProto,
    pub shown: &'a str,
}

/// What interpreting one file's option statements gives.
pub(crate) struct Interpreted {
    /// The encoded options of each element that has any.
    pub options: Vec<Encoded>,
    /// For each statement's location (by its index in the file's
    /// locations), the path protoc gives it, or `None` when the option is
    /// left out for its source retention (and its location with it).
    pub locations: Vec<(usize, Option<Vec<i32>>)>,
}

/// The encoded options of one element.
pub(crate) struct Encoded {
    pub of: OptionsOf,
    pub target: Vec<i32>,
    pub bytes: Vec<u8>,
}

impl Interpreter<'_> {
    fn error(&self, at: Pos, message: String) -> Error {
        let (line, column) = at.shown();
        Error::at(self.shown, line, column, message)
    }

    /// Every statement's record, gathered per element in the order the
    /// elements' first statements appear.
    ///
    /// With them, the path each statement's location takes (by its index in
    /// `locations`), as protoc rewrites it: the element's options path and
    /// the numbers of the fields the option's name goes through, and for a
    /// repeated field the value's index; or, for an option left out for its
    /// source retention, no path: protoc leaves out its location too.
    pub fn run(
        &self,
        statements: &[OptionStatement],
        locations: &[Location],
    ) -> Result<Interpreted, Error> {
        let mut out: Vec<Encoded> = Vec::new();
        let mut set: HashSet<(Vec<i32>, String)> = HashSet::new();
        let mut paths = Vec::with_capacity(statements.len());
        let mut counts: HashMap<Vec<i32>, i32> = HashMap::new();
        for st in statements {
            let scope = scope_of(self.file, &st.target);
            let (record, shown_name, numbers, repeated) = self.statement(st, &scope)?;
            if let Some(location) = locations.get(st.location) {
                let written = &location.path;
                let mut path = written[..written.len().saturating_sub(2)].to_vec();
                path.extend(numbers);
                if repeated {
                    let n = counts.entry(path.clone()).or_insert(0);
                    path.push(*n);
                    *n += 1;
                }
                paths.push((st.location, Some(path)));
            }
            if !repeated && !set.insert((st.target.clone(), shown_name.clone())) {
                return Err(self.error(
                    st.name[0].pos,
                    format!("option `{shown_name}` is set twice"),
                ));
            }
            let record = self.types.strip_source_retention(&record, st.of.message());
            if record.is_empty() {
                if let Some(last) = paths.last_mut() {
                    last.1 = None;
                }
                continue;
            }
            match out
                .iter_mut()
                .find(|e| e.target == st.target && e.of == st.of)
            {
                Some(e) => e.bytes.extend_from_slice(&record),
                None => out.push(Encoded {
                    of: st.of,
                    target: st.target.clone(),
                    bytes: record,
                }),
            }
        }
        Ok(Interpreted {
            options: out,
            locations: paths,
        })
    }

    /// One statement: its record, its name as written, the numbers of the
    /// fields its name goes through, and whether the last is repeated.
    fn statement(
        &self,
        st: &OptionStatement,
        scope: &str,
    ) -> Result<(Vec<u8>, String, Vec<i32>, bool), Error> {
        let shown_name = st
            .name
            .iter()
            .map(|p| {
                if p.extension {
                    format!("({})", p.name)
                } else {
                    p.name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(".");
        let mut message_type = st.of.message().to_owned();
        let mut path: Vec<&FieldDescriptorProto> = Vec::new();
        for (k, part) in st.name.iter().enumerate() {
            let field = if part.extension {
                self.extension(&part.name, scope, &message_type, part.pos)?
            } else {
                let m = self.message(&message_type, part.pos)?;
                m.field
                    .iter()
                    .find(|f| f.name() == part.name)
                    .ok_or_else(|| {
                        self.error(
                            part.pos,
                            format!(
                                "option `{shown_name}`: `{}` has no field named `{}`",
                                &message_type[1..],
                                part.name
                            ),
                        )
                    })?
            };
            if k + 1 < st.name.len() {
                if !matches!(field.r#type(), Type::Message | Type::Group) {
                    return Err(self.error(
                        part.pos,
                        format!(
                            "option `{shown_name}`: `{}` is not a message, so it has no fields",
                            part.name
                        ),
                    ));
                }
                if field.label() == Label::Repeated {
                    return Err(self.error(
                        part.pos,
                        format!(
                            "option `{shown_name}`: `{}` is repeated: set it whole, with a message value",
                            part.name
                        ),
                    ));
                }
                message_type = field.type_name().to_owned();
            }
            path.push(field);
        }
        let last = *path
            .last()
            .ok_or_else(|| self.error(st.value_pos, "an option needs a name".to_owned()))?;
        let mut record = Vec::new();
        self.field_value(&mut record, last, &st.value, st.value_pos, false, scope)?;
        for f in path.iter().rev().skip(1) {
            record = wrap(f, &record);
        }
        let numbers = path.iter().map(|f| f.number()).collect();
        Ok((record, shown_name, numbers, last.label() == Label::Repeated))
    }

    fn message(&self, full: &str, at: Pos) -> Result<&DescriptorProto, Error> {
        self.types
            .messages
            .get(full)
            .copied()
            .ok_or_else(|| self.error(at, format!("the message type `{}` is unknown", &full[1..])))
    }

    /// The extension `name` of `extendee`, looked up from `scope`.
    fn extension(
        &self,
        name: &str,
        scope: &str,
        extendee: &str,
        at: Pos,
    ) -> Result<&FieldDescriptorProto, Error> {
        let (full, symbol) = self
            .pool
            .lookup(self.file_index, name, scope, false)
            .map_err(|why| {
                self.error(
                    at,
                    self.pool
                        .not_found("option", &format!("({name})"), self.file_index, why),
                )
            })?;
        if symbol.kind != Kind::Extension {
            return Err(self.error(
                at,
                format!(
                    "`{name}` is `{full}`, {}, not an extension",
                    symbol.kind.describe()
                ),
            ));
        }
        let x = self
            .types
            .extensions
            .get(&full)
            .copied()
            .ok_or_else(|| self.error(at, format!("the extension `{full}` is unknown")))?;
        if x.extendee() != extendee {
            return Err(self.error(
                at,
                format!(
                    "`{full}` extends `{}`, not `{}`",
                    x.extendee().trim_start_matches('.'),
                    extendee.trim_start_matches('.')
                ),
            ));
        }
        Ok(x)
    }

    /// Appends the record(s) of `value` for field `f` to `out`.
    fn field_value(
        &self,
        out: &mut Vec<u8>,
        f: &FieldDescriptorProto,
        value: &text::Value,
        at: Pos,
        text_format: bool,
        scope: &str,
    ) -> Result<(), Error> {
        let number = u32::try_from(f.number()).unwrap_or(0);
        match value {
            text::Value::List(items) => {
                if f.label() != Label::Repeated {
                    return Err(self.error(
                        at,
                        format!(
                            "`{}` is not repeated: it takes one value, not a list",
                            f.name()
                        ),
                    ));
                }
                for (item, at) in items {
                    self.field_value(out, f, item, *at, text_format, scope)?;
                }
                Ok(())
            }
            text::Value::Message(m) => {
                let body = match f.r#type() {
                    Type::Message | Type::Group => self.message_value(m, f.type_name(), scope)?,
                    _ => {
                        return Err(self.error(
                            at,
                            format!(
                                "`{}` is not a message: it takes a scalar value, not `{{...}}`",
                                f.name()
                            ),
                        ));
                    }
                };
                if f.r#type() == Type::Group {
                    put_key(out, number, WireType::StartGroup);
                    out.extend_from_slice(&body);
                    put_key(out, number, WireType::EndGroup);
                } else {
                    put_key(out, number, WireType::LengthDelimited);
                    put_varint(out, body.len() as u64);
                    out.extend_from_slice(&body);
                }
                Ok(())
            }
            text::Value::Scalar(s) => self.scalar(out, f, s, at, text_format),
        }
    }

    /// A message written in text format, encoded against `type_name`.
    fn message_value(
        &self,
        m: &text::Message,
        type_name: &str,
        scope: &str,
    ) -> Result<Vec<u8>, Error> {
        let schema = self.message(
            type_name,
            m.fields.first().map_or_else(Pos::default, |f| f.pos),
        )?;
        let message_set = self.types.message_sets.contains(type_name);
        let mut out = Vec::new();
        let mut seen: HashSet<i32> = HashSet::new();
        for field in &m.fields {
            let f: &FieldDescriptorProto = match &field.name {
                Name::Field(name) => schema
                    .field
                    .iter()
                    .find(|f| f.name() == name)
                    .or_else(|| {
                        // A group is named by its type.
                        schema.field.iter().find(|f| {
                            f.r#type() == Type::Group
                                && f.type_name().rsplit('.').next() == Some(name.as_str())
                        })
                    })
                    .ok_or_else(|| {
                        self.error(
                            field.pos,
                            format!("`{}` has no field named `{name}`", &type_name[1..]),
                        )
                    })?,
                Name::Extension(name) => {
                    let x = self.extension(name, scope, type_name, field.pos)?;
                    if message_set && x.r#type() == Type::Message && x.label() != Label::Repeated {
                        let text::Value::Message(body) = &field.value else {
                            return Err(
                                self.error(field.pos, format!("`[{name}]` takes a message value"))
                            );
                        };
                        let body = self.message_value(body, x.type_name(), scope)?;
                        message_set_item(&mut out, x.number(), &body);
                        continue;
                    }
                    x
                }
                Name::Any { prefix, full_name } => {
                    if type_name != ".google.protobuf.Any" {
                        return Err(self.error(
                            field.pos,
                            format!(
                                "`[{prefix}/{full_name}]` is for a `google.protobuf.Any`, not `{}`",
                                &type_name[1..]
                            ),
                        ));
                    }
                    let text::Value::Message(body) = &field.value else {
                        return Err(self.error(
                            field.pos,
                            format!("`[{prefix}/{full_name}]` takes a message value"),
                        ));
                    };
                    let body = self.message_value(body, &format!(".{full_name}"), scope)?;
                    let url = format!("{prefix}/{full_name}");
                    put_key(&mut out, 1, WireType::LengthDelimited);
                    put_varint(&mut out, url.len() as u64);
                    out.extend_from_slice(url.as_bytes());
                    put_key(&mut out, 2, WireType::LengthDelimited);
                    put_varint(&mut out, body.len() as u64);
                    out.extend_from_slice(&body);
                    continue;
                }
            };
            if f.label() != Label::Repeated && !seen.insert(f.number()) {
                return Err(self.error(
                    field.pos,
                    format!("`{}` is not repeated but is set more than once", f.name()),
                ));
            }
            self.field_value(&mut out, f, &field.value, field.pos, true, scope)?;
        }
        Ok(out)
    }

    /// A scalar for field `f`. `text_format`: inside a message value,
    /// where enum numbers and `t`/`f` are accepted too.
    fn scalar(
        &self,
        out: &mut Vec<u8>,
        f: &FieldDescriptorProto,
        s: &Scalar,
        at: Pos,
        text_format: bool,
    ) -> Result<(), Error> {
        let number = u32::try_from(f.number()).unwrap_or(0);
        let name = f.name();
        let wrong = |expected: &str| self.error(at, format!("`{name}` takes {expected}"));
        let int = |min: i128, max: i128| -> Result<i128, Error> {
            match s {
                Scalar::Int {
                    negative,
                    magnitude,
                } => {
                    let v = if *negative {
                        -i128::from(*magnitude)
                    } else {
                        i128::from(*magnitude)
                    };
                    if v < min || v > max {
                        Err(self.error(
                            at,
                            format!("the value of `{name}` is out of range ({min} to {max})"),
                        ))
                    } else {
                        Ok(v)
                    }
                }
                _ => Err(wrong("an integer")),
            }
        };
        let float = || -> Result<f64, Error> {
            match s {
                Scalar::Float(v) => Ok(*v),
                Scalar::Int {
                    negative,
                    magnitude,
                } => {
                    let v = *magnitude as f64;
                    Ok(if *negative { -v } else { v })
                }
                Scalar::Ident { negative, name } => {
                    let lower = name.to_ascii_lowercase();
                    let v = match lower.as_str() {
                        "inf" | "infinity" if text_format || name == "inf" => f64::INFINITY,
                        "nan" if text_format || name == "nan" => f64::NAN,
                        _ => return Err(wrong("a number")),
                    };
                    Ok(if *negative { -v } else { v })
                }
                Scalar::Str(_) => Err(wrong("a number")),
            }
        };
        match f.r#type() {
            Type::Int32 | Type::Int64 | Type::Uint32 | Type::Uint64 => {
                let (min, max): (i128, i128) = match f.r#type() {
                    Type::Int32 => (i32::MIN.into(), i32::MAX.into()),
                    Type::Int64 => (i64::MIN.into(), i64::MAX.into()),
                    Type::Uint32 => (0, u32::MAX.into()),
                    _ => (0, u64::MAX.into()),
                };
                let v = int(min, max)?;
                put_key(out, number, WireType::Varint);
                put_varint(out, v as i64 as u64);
            }
            Type::Sint32 | Type::Sint64 => {
                let v = if f.r#type() == Type::Sint32 {
                    let v = int(i32::MIN.into(), i32::MAX.into())? as i32;
                    u64::from(((v << 1) ^ (v >> 31)) as u32)
                } else {
                    let v = int(i64::MIN.into(), i64::MAX.into())? as i64;
                    ((v << 1) ^ (v >> 63)) as u64
                };
                put_key(out, number, WireType::Varint);
                put_varint(out, v);
            }
            Type::Fixed32 | Type::Sfixed32 => {
                let v = if f.r#type() == Type::Fixed32 {
                    int(0, u32::MAX.into())? as u32
                } else {
                    int(i32::MIN.into(), i32::MAX.into())? as i32 as u32
                };
                put_key(out, number, WireType::Fixed32);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Type::Fixed64 | Type::Sfixed64 => {
                let v = if f.r#type() == Type::Fixed64 {
                    int(0, u64::MAX.into())? as u64
                } else {
                    int(i64::MIN.into(), i64::MAX.into())? as i64 as u64
                };
                put_key(out, number, WireType::Fixed64);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Type::Float => {
                put_key(out, number, WireType::Fixed32);
                out.extend_from_slice(&(float()? as f32).to_le_bytes());
            }
            Type::Double => {
                put_key(out, number, WireType::Fixed64);
                out.extend_from_slice(&float()?.to_le_bytes());
            }
            Type::Bool => {
                let v = match s {
                    Scalar::Ident {
                        negative: false,
                        name,
                    } => match name.as_str() {
                        "true" => true,
                        "false" => false,
                        "True" | "t" if text_format => true,
                        "False" | "f" if text_format => false,
                        _ => return Err(wrong("`true` or `false`")),
                    },
                    Scalar::Int {
                        negative: false,
                        magnitude: m @ (0 | 1),
                    } if text_format => *m == 1,
                    _ => return Err(wrong("`true` or `false`")),
                };
                put_key(out, number, WireType::Varint);
                put_varint(out, u64::from(v));
            }
            Type::Enum => {
                let e = self.types.enums.get(f.type_name()).copied();
                let v: i32 = match s {
                    Scalar::Ident {
                        negative: false,
                        name: value,
                    } => {
                        let e = e.ok_or_else(|| wrong("an enum value"))?;
                        e.value
                            .iter()
                            .find(|v| v.name() == value)
                            .map(|v| v.number())
                            .ok_or_else(|| {
                                self.error(
                                    at,
                                    format!(
                                        "enum `{}` has no value named `{value}` (for `{name}`)",
                                        f.type_name().trim_start_matches('.')
                                    ),
                                )
                            })?
                    }
                    Scalar::Int { .. } if text_format => {
                        int(i32::MIN.into(), i32::MAX.into())? as i32
                    }
                    _ => return Err(wrong("an enum value name")),
                };
                put_key(out, number, WireType::Varint);
                put_varint(out, i64::from(v) as u64);
            }
            Type::String | Type::Bytes => {
                let Scalar::Str(bytes) = s else {
                    return Err(wrong("a string"));
                };
                if f.r#type() == Type::String && std::str::from_utf8(bytes).is_err() {
                    return Err(self.error(at, format!("the value of `{name}` is not valid UTF-8")));
                }
                put_key(out, number, WireType::LengthDelimited);
                put_varint(out, bytes.len() as u64);
                out.extend_from_slice(bytes);
            }
            Type::Message | Type::Group => {
                return Err(self.error(
                    at,
                    format!("`{name}` is a message: set it with a message value, `{{ ... }}`"),
                ));
            }
        }
        Ok(())
    }
}

/// `record` (fields of `f`'s message type) as a value of `f`.
fn wrap(f: &FieldDescriptorProto, record: &[u8]) -> Vec<u8> {
    let number = u32::try_from(f.number()).unwrap_or(0);
    let mut out = Vec::with_capacity(record.len() + 8);
    if f.r#type() == Type::Group {
        put_key(&mut out, number, WireType::StartGroup);
        out.extend_from_slice(record);
        put_key(&mut out, number, WireType::EndGroup);
    } else {
        put_key(&mut out, number, WireType::LengthDelimited);
        put_varint(&mut out, record.len() as u64);
        out.extend_from_slice(record);
    }
    out
}

/// A MessageSet item: group 1 holding `type_id` (2) and `message` (3).
fn message_set_item(out: &mut Vec<u8>, type_id: i32, body: &[u8]) {
    put_key(out, 1, WireType::StartGroup);
    put_key(out, 2, WireType::Varint);
    put_varint(out, type_id as u32 as u64);
    put_key(out, 3, WireType::LengthDelimited);
    put_varint(out, body.len() as u64);
    out.extend_from_slice(body);
    put_key(out, 1, WireType::EndGroup);
}

pub(crate) fn put_varint(out: &mut Vec<u8>, value: u64) {
    let mut tmp = [0u8; MAX_VARINT_LEN];
    let n = write_varint(value, &mut tmp);
    out.extend_from_slice(&tmp[..n]);
}

pub(crate) fn put_key(out: &mut Vec<u8>, number: u32, wire_type: WireType) {
    put_varint(out, u64::from(make_key(number, wire_type)));
}

/// Merges `bytes` (an options message's fields) into `slot`.
fn merge<M: rust_rpc::Message + Default>(slot: &mut Option<M>, bytes: &[u8]) -> Result<(), String> {
    slot.get_or_insert_with(M::default)
        .merge_slice(bytes)
        .map_err(|e| format!("the options do not decode: {e}"))
}

fn missing() -> String {
    "an option on an element that is not there".to_owned()
}

/// The element at `list[index]`.
fn at<'v, T>(list: &'v mut [T], index: &i32) -> Result<&'v mut T, String> {
    usize::try_from(*index)
        .ok()
        .and_then(|i| list.get_mut(i))
        .ok_or_else(missing)
}

/// Merges `e`'s bytes into the options of the element it targets in `file`.
pub(crate) fn apply(file: &mut FileDescriptorProto, e: &Encoded) -> Result<(), String> {
    let bytes = &e.bytes;
    match e.target.as_slice() {
        [] => merge(&mut file.options, bytes),
        [4, i, rest @ ..] => apply_message(at(&mut file.message_type, i)?, rest, bytes),
        [5, i, rest @ ..] => apply_enum(at(&mut file.enum_type, i)?, rest, bytes),
        [6, i] => merge(&mut at(&mut file.service, i)?.options, bytes),
        [6, i, 2, j] => merge(
            &mut at(&mut at(&mut file.service, i)?.method, j)?.options,
            bytes,
        ),
        [7, i] => merge(&mut at(&mut file.extension, i)?.options, bytes),
        _ => Err(missing()),
    }
}

fn apply_message(m: &mut DescriptorProto, rest: &[i32], bytes: &[u8]) -> Result<(), String> {
    match rest {
        [] => merge(&mut m.options, bytes),
        [2, i] => merge(&mut at(&mut m.field, i)?.options, bytes),
        [6, i] => merge(&mut at(&mut m.extension, i)?.options, bytes),
        [8, i] => merge(&mut at(&mut m.oneof_decl, i)?.options, bytes),
        [5, i] => merge(&mut at(&mut m.extension_range, i)?.options, bytes),
        [3, i, rest @ ..] => apply_message(at(&mut m.nested_type, i)?, rest, bytes),
        [4, i, rest @ ..] => apply_enum(at(&mut m.enum_type, i)?, rest, bytes),
        _ => Err(missing()),
    }
}

fn apply_enum(e: &mut EnumDescriptorProto, rest: &[i32], bytes: &[u8]) -> Result<(), String> {
    match rest {
        [] => merge(&mut e.options, bytes),
        [2, i] => merge(&mut at(&mut e.value, i)?.options, bytes),
        _ => Err(missing()),
    }
}

/// What interpretation needs to know of options before it interprets
/// them, read off the statements: which messages use the MessageSet wire
/// format, and which fields keep their values in the source only.
#[derive(Default)]
pub(crate) struct Early {
    /// Full names with a leading dot.
    pub message_sets: HashSet<String>,
    /// Full names without one.
    pub source_only: HashSet<String>,
}

impl Early {
    /// Reads the statements of `file` that say so.
    pub fn read(&mut self, file: &FileDescriptorProto, statements: &[OptionStatement]) {
        for st in statements {
            let [part] = st.name.as_slice() else {
                continue;
            };
            let text::Value::Scalar(Scalar::Ident {
                negative: false,
                name,
            }) = &st.value
            else {
                continue;
            };
            if part.extension {
                continue;
            }
            match (st.of, part.name.as_str(), name.as_str()) {
                (OptionsOf::Message, "message_set_wire_format", "true") => {
                    self.message_sets
                        .insert(format!(".{}", scope_of(file, &st.target)));
                }
                (OptionsOf::Field, "retention", "RETENTION_SOURCE") => {
                    self.source_only.insert(scope_of(file, &st.target));
                }
                _ => {}
            }
        }
    }
}
