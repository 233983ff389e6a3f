//! Custom options in the order protoc writes them.
//!
//! [`super::interpret`] writes each option statement as its own record, in
//! the order written. protoc (C++) encodes the options it read by field
//! number, nested messages likewise, and packs the repeated scalars the
//! schema packs; and it writes `max` of a MessageSet's extension range as
//! 2^31 - 1. Generated code embeds descriptors and reflection serves them,
//! so they must not depend on the front end: [`canonicalize`] rewrites the
//! set into protoc's form, and the front-end tests check both give the
//! same bytes.

use std::collections::HashMap;

use rust_rpc::UnknownFields;
use rust_rpc::encoding::{Decoder, MAX_VARINT_LEN, WireType, make_key, write_varint};
use rust_rpc::wkt::feature_set::RepeatedFieldEncoding;
use rust_rpc::wkt::field_descriptor_proto::{Label, Type};
use rust_rpc::wkt::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet,
};

/// Rewrites `set` into the form protoc writes.
pub(crate) fn canonicalize(set: &mut FileDescriptorSet) {
    let schema = Schema::of(set);
    let mut rewritten = set.clone();
    for file in &mut rewritten.file {
        let package = file.package().to_owned();
        let scope = if package.is_empty() {
            String::new()
        } else {
            format!(".{package}")
        };
        if let Some(o) = &mut file.options {
            schema.options(".google.protobuf.FileOptions", &mut o.unknown_fields);
        }
        for m in &mut file.message_type {
            message(&schema, &scope, m);
        }
        for e in &mut file.enum_type {
            enumeration(&schema, e);
        }
        for x in &mut file.extension {
            field(&schema, x);
        }
        for s in &mut file.service {
            if let Some(o) = &mut s.options {
                schema.options(".google.protobuf.ServiceOptions", &mut o.unknown_fields);
            }
            for m in &mut s.method {
                if let Some(o) = &mut m.options {
                    schema.options(".google.protobuf.MethodOptions", &mut o.unknown_fields);
                }
            }
        }
    }
    drop(schema);
    *set = rewritten;
}

fn message(schema: &Schema, scope: &str, m: &mut DescriptorProto) {
    let full = format!("{scope}.{}", m.name());
    let message_set = m
        .options
        .as_ref()
        .and_then(|o| o.message_set_wire_format)
        .unwrap_or(false);
    if let Some(o) = &mut m.options {
        schema.options(".google.protobuf.MessageOptions", &mut o.unknown_fields);
    }
    for f in &mut m.field {
        field(schema, f);
    }
    for x in &mut m.extension {
        field(schema, x);
    }
    for o in &mut m.oneof_decl {
        if let Some(opts) = &mut o.options {
            schema.options(".google.protobuf.OneofOptions", &mut opts.unknown_fields);
        }
    }
    for r in &mut m.extension_range {
        if message_set && r.end == Some(MAX_FIELD_END) {
            r.end = Some(MESSAGE_SET_END);
        }
        if let Some(o) = &mut r.options {
            schema.options(
                ".google.protobuf.ExtensionRangeOptions",
                &mut o.unknown_fields,
            );
        }
    }
    for n in &mut m.nested_type {
        message(schema, &full, n);
    }
    for e in &mut m.enum_type {
        enumeration(schema, e);
    }
}

/// `max` of an extension range: one past the largest field number.
const MAX_FIELD_END: i32 = 1 << 29;
/// `max` in a MessageSet, whose items carry a full int32 `type_id`.
const MESSAGE_SET_END: i32 = i32::MAX;

fn field(schema: &Schema, f: &mut FieldDescriptorProto) {
    if let Some(o) = &mut f.options {
        schema.options(".google.protobuf.FieldOptions", &mut o.unknown_fields);
    }
}

fn enumeration(schema: &Schema, e: &mut rust_rpc::wkt::EnumDescriptorProto) {
    if let Some(o) = &mut e.options {
        schema.options(".google.protobuf.EnumOptions", &mut o.unknown_fields);
    }
    for v in &mut e.value {
        if let Some(o) = &mut v.options {
            schema.options(".google.protobuf.EnumValueOptions", &mut o.unknown_fields);
        }
    }
}

/// What encoding needs of the set's types: messages by full name, and
/// extensions by extendee and number.
struct Schema<'a> {
    messages: HashMap<String, (&'a DescriptorProto, bool)>,
    extensions: HashMap<(&'a str, i32), (&'a FieldDescriptorProto, bool)>,
}

impl<'a> Schema<'a> {
    fn of(set: &'a FileDescriptorSet) -> Self {
        let mut schema = Schema {
            messages: HashMap::new(),
            extensions: HashMap::new(),
        };
        for file in &set.file {
            let proto3 = packed_by_default(file);
            let scope = if file.package().is_empty() {
                String::new()
            } else {
                format!(".{}", file.package())
            };
            for x in &file.extension {
                schema
                    .extensions
                    .insert((x.extendee(), x.number()), (x, proto3));
            }
            for m in &file.message_type {
                schema.add_message(&scope, m, proto3);
            }
        }
        schema
    }

    fn add_message(&mut self, scope: &str, m: &'a DescriptorProto, proto3: bool) {
        let full = format!("{scope}.{}", m.name());
        for x in &m.extension {
            self.extensions
                .insert((x.extendee(), x.number()), (x, proto3));
        }
        for n in &m.nested_type {
            self.add_message(&full, n, proto3);
        }
        self.messages.insert(full, (m, proto3));
    }

    /// Re-encodes the custom options (extensions) of an options message of
    /// type `options_type`, kept in its unknown fields, as protoc does.
    fn options(&self, options_type: &str, unknown: &mut UnknownFields) {
        if unknown.is_empty() {
            return;
        }
        let fields = |number: i32| self.extensions.get(&(options_type, number)).copied();
        if let Some(bytes) = self.canonical(unknown.as_bytes(), &fields) {
            unknown.clear();
            unknown.push_raw(&bytes);
        }
    }

    /// `bytes` (fields of one message whose field `n` is described by
    /// `fields(n)`) with every field in number order, nested messages
    /// likewise, and repeated scalars packed where the schema packs them;
    /// fields the schema does not know keep their order, after the known
    /// ones. `None` when the bytes do not parse (then they stay as they are).
    fn canonical(
        &self,
        bytes: &[u8],
        fields: &dyn Fn(i32) -> Option<(&'a FieldDescriptorProto, bool)>,
    ) -> Option<Vec<u8>> {
        let mut known: Vec<(i32, Vec<u8>)> = Vec::new();
        let mut packed_runs: HashMap<i32, Vec<u8>> = HashMap::new();
        let mut merged: HashMap<i32, (WireType, &str, Vec<u8>)> = HashMap::new();
        let mut unknown = Vec::new();
        let mut d = Decoder::new(bytes);
        while !d.is_empty() {
            let start = d.remaining();
            let key = d.read_key().ok()?;
            let number = i32::try_from(key >> 3).ok()?;
            let wire_type = WireType::from_key(key)?;
            let value = if wire_type == WireType::LengthDelimited {
                d.read_slice().ok()?
            } else {
                let before = d.remaining();
                d.skip_value(key).ok()?;
                &before[..before.len() - d.remaining().len()]
            };
            let record = &start[..start.len() - d.remaining().len()];
            let Some((f, proto3)) = fields(number) else {
                unknown.extend_from_slice(record);
                continue;
            };
            let packs = packs(f, proto3);
            let singular = f.label() != Label::Repeated;
            match (f.r#type(), wire_type) {
                // A singular message written in parts (`(x).a = 1;
                // (x).b = 2;`) is one message, as parsing merges it.
                (Type::Message, WireType::LengthDelimited) if singular => {
                    merged
                        .entry(number)
                        .or_insert_with(|| (WireType::LengthDelimited, f.type_name(), Vec::new()))
                        .2
                        .extend_from_slice(value);
                }
                (Type::Group, WireType::StartGroup) if singular => {
                    let contents = &value[..value.len() - key_len(number, WireType::EndGroup)];
                    merged
                        .entry(number)
                        .or_insert_with(|| (WireType::StartGroup, f.type_name(), Vec::new()))
                        .2
                        .extend_from_slice(contents);
                }
                (Type::Message, WireType::LengthDelimited) => {
                    let nested = self.nested(f.type_name(), value)?;
                    let mut out = Vec::new();
                    put_key(&mut out, number as u32, WireType::LengthDelimited);
                    put_varint(&mut out, nested.len() as u64);
                    out.extend_from_slice(&nested);
                    known.push((number, out));
                }
                (Type::Group, WireType::StartGroup) => {
                    let (contents, end) =
                        value.split_at(value.len() - key_len(number, WireType::EndGroup));
                    let mut out = Vec::new();
                    put_key(&mut out, number as u32, WireType::StartGroup);
                    out.extend_from_slice(&self.nested(f.type_name(), contents)?);
                    out.extend_from_slice(end);
                    known.push((number, out));
                }
                (_, WireType::LengthDelimited) if packs => {
                    packed_runs
                        .entry(number)
                        .or_default()
                        .extend_from_slice(value);
                }
                (_, WireType::Varint | WireType::Fixed32 | WireType::Fixed64) if packs => {
                    packed_runs
                        .entry(number)
                        .or_default()
                        .extend_from_slice(value);
                }
                _ => known.push((number, record.to_vec())),
            }
        }
        for (number, (wire_type, type_name, contents)) in merged {
            let nested = self.nested(type_name, &contents)?;
            let mut out = Vec::new();
            put_key(&mut out, number as u32, wire_type);
            if wire_type == WireType::StartGroup {
                out.extend_from_slice(&nested);
                put_key(&mut out, number as u32, WireType::EndGroup);
            } else {
                put_varint(&mut out, nested.len() as u64);
                out.extend_from_slice(&nested);
            }
            known.push((number, out));
        }
        for (number, run) in packed_runs {
            let mut out = Vec::new();
            put_key(&mut out, number as u32, WireType::LengthDelimited);
            put_varint(&mut out, run.len() as u64);
            out.extend_from_slice(&run);
            known.push((number, out));
        }
        // Stable: the elements of a repeated field keep their order.
        known.sort_by_key(|(n, _)| *n);
        let mut out: Vec<u8> = known.into_iter().flat_map(|(_, r)| r).collect();
        out.extend_from_slice(&unknown);
        Some(out)
    }

    fn nested(&self, type_name: &str, bytes: &[u8]) -> Option<Vec<u8>> {
        let Some(&(m, proto3)) = self.messages.get(type_name) else {
            return Some(bytes.to_vec());
        };
        let fields = move |number: i32| {
            m.field
                .iter()
                .find(|f| f.number() == number)
                .map(|f| (f, proto3))
                .or_else(|| self.extensions.get(&(type_name, number)).copied())
        };
        self.canonical(bytes, &fields)
    }
}

/// Whether repeated scalars of `file` are packed unless they say
/// otherwise: in proto3, and in editions unless the file's features say
/// `EXPANDED` (message-level features are not looked at).
fn packed_by_default(file: &FileDescriptorProto) -> bool {
    match file.syntax() {
        "proto3" => true,
        "editions" => {
            file.options
                .as_ref()
                .and_then(|o| o.features.as_ref())
                .and_then(|f| f.repeated_field_encoding)
                != Some(RepeatedFieldEncoding::Expanded)
        }
        _ => false,
    }
}

/// Whether `f` is a repeated scalar that protoc writes packed.
fn packs(f: &FieldDescriptorProto, by_default: bool) -> bool {
    let scalar = !matches!(
        f.r#type(),
        Type::String | Type::Bytes | Type::Message | Type::Group
    );
    let options = f.options.as_ref();
    let declared = options.and_then(|o| o.packed).or_else(|| {
        options
            .and_then(|o| o.features.as_ref())
            .and_then(|x| x.repeated_field_encoding)
            .map(|e| e == RepeatedFieldEncoding::Packed)
    });
    f.label() == Label::Repeated && scalar && declared.unwrap_or(by_default)
}

fn key_len(number: i32, wire_type: WireType) -> usize {
    let mut tmp = [0u8; MAX_VARINT_LEN];
    write_varint(u64::from(make_key(number as u32, wire_type)), &mut tmp)
}

fn put_varint(out: &mut Vec<u8>, value: u64) {
    let mut tmp = [0u8; MAX_VARINT_LEN];
    let n = write_varint(value, &mut tmp);
    out.extend_from_slice(&tmp[..n]);
}

fn put_key(out: &mut Vec<u8>, number: u32, wire_type: WireType) {
    put_varint(out, u64::from(make_key(number, wire_type)));
}
