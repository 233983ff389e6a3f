//! The pure front end's descriptors in the form protoc writes them.
//!
//! `protobuf-parse` builds descriptors that mean what protoc's mean but are
//! not the same messages: `syntax = "proto2"` where protoc leaves it unset,
//! synthetic oneofs (of proto3 `optional` fields) in
//! declaration order where protoc puts them after every real oneof, an
//! empty options message for `[default = ...]`, `max` of a MessageSet's
//! extension range as 2^29 where protoc writes 2^31 - 1, and custom options
//! encoded in the order they were written, with repeated scalars unpacked,
//! where protoc (C++) encodes them by field number and packs what the schema
//! packs. Generated code embeds descriptors and reflection serves them, so
//! they must not depend on the front end: [`canonicalize`] rewrites the
//! pure front end's set into protoc's form, and the builder goldens test
//! checks that both front ends then generate the same bytes.

use std::collections::HashMap;

use rust_rpc::encoding::{Decoder, MAX_VARINT_LEN, WireType, make_key, write_varint};
use rust_rpc::wkt::field_descriptor_proto::{Label, Type};
use rust_rpc::wkt::{DescriptorProto, FieldDescriptorProto, FileDescriptorSet};
use rust_rpc::{Message, UnknownFields};

/// Rewrites `set` into the form protoc writes.
pub(crate) fn canonicalize(set: &mut FileDescriptorSet) {
    let schema = Schema::of(set);
    let mut rewritten = set.clone();
    for file in &mut rewritten.file {
        // protoc leaves `syntax` unset for proto2.
        if file.syntax() == "proto2" {
            file.syntax = None;
        }
        let proto3 = file.syntax() == "proto3";
        let package = file.package().to_owned();
        let scope = if package.is_empty() {
            String::new()
        } else {
            format!(".{package}")
        };
        if let Some(o) = &mut file.options {
            schema.options(".google.protobuf.FileOptions", &mut o.unknown_fields);
        }
        drop_empty(&mut file.options);
        for m in &mut file.message_type {
            message(&schema, &scope, m, proto3);
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
            drop_empty(&mut s.options);
            for m in &mut s.method {
                if let Some(o) = &mut m.options {
                    schema.options(".google.protobuf.MethodOptions", &mut o.unknown_fields);
                }
                drop_empty(&mut m.options);
            }
        }
    }
    drop(schema);
    *set = rewritten;
}

fn drop_empty<T: Message>(options: &mut Option<T>) {
    if options.as_ref().is_some_and(|o| o.encoded_len() == 0) {
        *options = None;
    }
}

fn message(schema: &Schema, scope: &str, m: &mut DescriptorProto, proto3: bool) {
    let full = format!("{scope}.{}", m.name());
    let message_set = m
        .options
        .as_ref()
        .and_then(|o| o.message_set_wire_format)
        .unwrap_or(false);
    if let Some(o) = &mut m.options {
        schema.options(".google.protobuf.MessageOptions", &mut o.unknown_fields);
    }
    drop_empty(&mut m.options);
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
        drop_empty(&mut o.options);
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
        drop_empty(&mut r.options);
    }
    if proto3 {
        synthetic_oneofs_last(m);
    }
    for n in &mut m.nested_type {
        message(schema, &full, n, proto3);
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
    drop_empty(&mut f.options);
}

fn enumeration(schema: &Schema, e: &mut rust_rpc::wkt::EnumDescriptorProto) {
    if let Some(o) = &mut e.options {
        schema.options(".google.protobuf.EnumOptions", &mut o.unknown_fields);
    }
    drop_empty(&mut e.options);
    for v in &mut e.value {
        if let Some(o) = &mut v.options {
            schema.options(".google.protobuf.EnumValueOptions", &mut o.unknown_fields);
        }
        drop_empty(&mut v.options);
    }
}

/// protoc lists the oneofs of proto3 `optional` fields after every real
/// oneof (so that real ones keep their indexes), in field order.
fn synthetic_oneofs_last(m: &mut DescriptorProto) {
    let count = m.oneof_decl.len();
    let synthetic: Vec<bool> = (0..count)
        .map(|o| {
            m.field
                .iter()
                .any(|f| f.oneof_index == Some(o as i32) && f.proto3_optional())
        })
        .collect();
    if !synthetic.iter().any(|s| *s) {
        return;
    }
    let mut order: Vec<usize> = (0..count).filter(|&o| !synthetic[o]).collect();
    for f in &m.field {
        if let Some(o) = f.oneof_index.and_then(|o| usize::try_from(o).ok()) {
            if synthetic.get(o).copied().unwrap_or(false) && !order.contains(&o) {
                order.push(o);
            }
        }
    }
    // Synthetic oneofs without a field (not from protobuf-parse) stay last.
    let rest: Vec<usize> = (0..count).filter(|o| !order.contains(o)).collect();
    order.extend(rest);
    let new_index: HashMap<usize, i32> = order
        .iter()
        .enumerate()
        .map(|(new, &old)| (old, new as i32))
        .collect();
    let decls = std::mem::take(&mut m.oneof_decl);
    let mut slots: Vec<Option<_>> = decls.into_iter().map(Some).collect();
    m.oneof_decl = order.iter().filter_map(|&o| slots[o].take()).collect();
    for f in &mut m.field {
        if let Some(o) = f.oneof_index.and_then(|o| usize::try_from(o).ok()) {
            f.oneof_index = new_index.get(&o).copied().or(f.oneof_index);
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
            let proto3 = file.syntax() == "proto3";
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
            match (f.r#type(), wire_type) {
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

/// Whether `f` is a repeated scalar that protoc writes packed.
fn packs(f: &FieldDescriptorProto, proto3: bool) -> bool {
    let scalar = !matches!(
        f.r#type(),
        Type::String | Type::Bytes | Type::Message | Type::Group
    );
    let declared = f.options.as_ref().and_then(|o| o.packed);
    f.label() == Label::Repeated && scalar && declared.unwrap_or(proto3)
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
