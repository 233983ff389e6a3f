//! JSON for message types known only at run time, by their descriptors
//! ([`DescriptorPool`]).
//!
//! Both directions go through a small tree of the fields that are set
//! (nothing is kept for a field that is not): bytes are decoded into it
//! and it is written as JSON, or JSON is read into it and it is encoded.
//! The well-known types with a JSON form of their own are held as the
//! runtime's structs ([`crate::wkt`]), decoded, written, read and encoded
//! by their own code, so those forms exist once; only `Any` has a path
//! here, since the types it packs are looked up in the pool first.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use super::read::Kind as JsonKind;
use super::value::integer;
use super::wkt::well_known;
use super::{
    FieldSet, JsonError, JsonMapKey, JsonOptions, JsonReader, JsonValue, JsonWriter, ObjectWriter,
};
use crate::encoding::{
    DEFAULT_RECURSION_LIMIT, Decoder, Encoder, MAX_FIELD_NUMBER, SizeCache, WireType,
    delimited_len, key_field, key_len, make_key, merge_fields, unzigzag32, unzigzag64, varint_len,
    zigzag32, zigzag64,
};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::message::Message;
use crate::wkt::feature_set::{
    EnumType as EnumFeature, FieldPresence, MessageEncoding, RepeatedFieldEncoding,
};
use crate::wkt::field_descriptor_proto::{Label, Type};
use crate::wkt::{
    self, DescriptorProto, EnumDescriptorProto, FeatureSet, FieldDescriptorProto,
    FileDescriptorProto,
};

/// How deep messages may nest in binary input, counted as the binary
/// decoder counts (a map entry is a level, a group is a level).
const LIMIT: u32 = DEFAULT_RECURSION_LIMIT;

/// Message types known by their descriptors, for JSON: a pool built from
/// `FileDescriptorProto`s (as server reflection serves them, or as a
/// `.proto` compiler produces them) that turns a message's binary encoding
/// into its canonical JSON, and JSON into the binary encoding, as the code
/// generated for those files would: the same member names and order, the
/// same presence rules, the same form for every kind of value, the same
/// errors (with their path, `items[3].name`) for bad input.
///
/// ```
/// use rust_rpc::json::{DescriptorPool, JsonOptions};
/// use rust_rpc::wkt::DESCRIPTOR_GOOGLE_PROTOBUF_SOURCE_CONTEXT as SOURCE_CONTEXT;
///
/// let pool = DescriptorPool::new([SOURCE_CONTEXT.decode().unwrap()]).unwrap();
/// let options = JsonOptions::default();
/// let name = "google.protobuf.SourceContext";
/// let bytes = pool.from_json(name, r#"{"fileName": "a.proto"}"#, &options).unwrap();
/// assert_eq!(bytes, b"\x0a\x07a.proto");
/// assert_eq!(pool.to_json(name, &bytes, &options).unwrap(), r#"{"fileName":"a.proto"}"#);
/// ```
///
/// An `Any` is written and read with the type it packs looked up in the
/// pool, then among the well-known types and in the options'
/// [`TypeRegistry`](super::TypeRegistry). Extensions the pool defines are
/// members named `"[full.name]"`, after the other fields, written when
/// set. Binary output is canonical: fields in number order, repeated
/// scalars packed where the schema packs them, map entries with both key
/// and value. Not supported: the MessageSet wire format (its items stay
/// unknown fields, left out of the JSON).
///
/// Files the given ones import from `google/protobuf/` (the well-known
/// types, `descriptor.proto`) may be left out: the runtime's own copies
/// fill them in. A file given twice (same name, same contents) counts once.
pub struct DescriptorPool {
    messages: Vec<MessageType>,
    enums: Vec<EnumType>,
    names: HashMap<String, Named>,
}

impl fmt::Debug for DescriptorPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DescriptorPool")
            .field("messages", &self.messages.len())
            .field("enums", &self.enums.len())
            .finish()
    }
}

/// Descriptors that do not make a [`DescriptorPool`]: a type that is
/// referred to but not defined, a name defined twice, a field number or
/// type protobuf does not allow.
#[derive(Clone, PartialEq, Eq)]
pub struct DescriptorError(String);

impl DescriptorError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// What is wrong, naming the file and the element.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DescriptorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DescriptorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for DescriptorError {}

impl DescriptorPool {
    /// Builds a pool from `files`, checking that every type a field (or
    /// an extension) names resolves, that field numbers are valid and
    /// distinct, and that map entries have a key and a value.
    pub fn new(
        files: impl IntoIterator<Item = FileDescriptorProto>,
    ) -> Result<Self, DescriptorError> {
        let files = gather(files)?;
        let mut b = Builder::default();
        b.declare(&files)?;
        b.build()
    }

    /// True if the pool has a message type of this full name
    /// (`pkg.Outer.Inner`, a leading `.` allowed).
    pub fn contains(&self, full_name: &str) -> bool {
        self.find(full_name).is_some()
    }

    /// Writes a message of type `message` (a full name), given its binary
    /// encoding, as JSON. Fails on bytes that do not decode as that type
    /// (as the generated decoder would: truncated, bad UTF-8 in a string,
    /// a missing proto2 `required` field, nesting past 100 levels) and on
    /// values JSON cannot hold (an `Any` of a type nobody knows, a `Value`
    /// holding NaN). Unknown fields are left out.
    pub fn to_json(
        &self,
        message: &str,
        bytes: &[u8],
        options: &JsonOptions,
    ) -> Result<String, JsonError> {
        let t = self.lookup(message)?;
        let value = self.decode(t, bytes, 0)?;
        let mut out = String::new();
        self.write_val(
            &mut JsonWriter::new(&mut out, options),
            Ty::Message(t),
            &value,
            0,
        )?;
        Ok(out)
    }

    /// Reads a message of type `message` (a full name) from JSON and
    /// returns its binary encoding. The whole input must be one JSON value;
    /// a top-level `null` is an error.
    pub fn from_json(
        &self,
        message: &str,
        json: &str,
        options: &JsonOptions,
    ) -> Result<Vec<u8>, JsonError> {
        let t = self.lookup(message)?;
        let mut r = JsonReader::new(json, options);
        if r.peek_null()? {
            return Err(r.error("null is not a message"));
        }
        let value = match self.read_message_value(&mut r, t)? {
            Some(v) => v,
            None => self.new_message(t),
        };
        r.finish()?;
        Ok(self.encode(t, &value))
    }

    fn find(&self, name: &str) -> Option<u32> {
        match self.names.get(name.strip_prefix('.').unwrap_or(name)) {
            Some(Named::Message(m)) => Some(*m),
            _ => None,
        }
    }

    fn lookup(&self, name: &str) -> Result<u32, JsonError> {
        self.find(name).ok_or_else(|| {
            JsonError::new(format!(
                "no message type named {name:?} in the descriptor pool"
            ))
        })
    }

    fn message(&self, t: u32) -> &MessageType {
        &self.messages[t as usize]
    }

    fn enumeration(&self, e: u32) -> &EnumType {
        &self.enums[e as usize]
    }
}

// ---------------------------------------------------------------------------
// The resolved schema.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Named {
    Message(u32),
    Enum(u32),
}

struct MessageType {
    name: String,
    // Sorted by number; extensions of this type included (last in JSON).
    fields: Vec<Field>,
    // The members of each real oneof (indexes into `fields`), in
    // declaration order.
    oneofs: Vec<Vec<usize>>,
    // JSON member order: fields by number, a oneof where its lowest
    // numbered member is, then extensions.
    writes: Vec<Item>,
    // JSON member name (JSON name or `.proto` name) -> field: the first
    // field in `writes` order that has the name.
    keys: HashMap<String, usize>,
    // A well-known type with a JSON form of its own.
    wkt: Option<Wkt>,
}

impl MessageType {
    fn field_index(&self, number: u32) -> Option<usize> {
        self.fields.binary_search_by_key(&number, |f| f.number).ok()
    }
}

#[derive(Clone, Copy, Debug)]
enum Item {
    Field(usize),
    Oneof(usize),
}

struct Field {
    number: u32,
    json_name: String,
    proto_name: String,
    // The names as they go between a JSON key's quotes.
    json_key: String,
    proto_key: String,
    // For a map field, the value type.
    ty: Ty,
    shape: Shape,
    oneof: Option<usize>,
    // A message encoded as a group (proto2 groups, editions DELIMITED).
    delimited: bool,
    // Written only when set, whatever `emit_defaults` says, as generated
    // code writes the extensions of its registry.
    extension: bool,
}

impl Field {
    fn wire_type(&self) -> WireType {
        match self.ty {
            Ty::Message(_) if self.delimited => WireType::StartGroup,
            ty => ty.wire_type(),
        }
    }

    fn key(&self, proto_names: bool) -> &str {
        if proto_names {
            &self.proto_key
        } else {
            &self.json_key
        }
    }

    fn in_field(&self) -> impl FnOnce(JsonError) -> JsonError + '_ {
        move |e| e.in_field(self.json_name.clone())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scalar {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Fixed64,
    Fixed32,
    Bool,
    String,
    Bytes,
    Uint32,
    Sfixed32,
    Sfixed64,
    Sint32,
    Sint64,
}

impl Scalar {
    fn of(t: Type) -> Option<Self> {
        Some(match t {
            Type::Double => Self::Double,
            Type::Float => Self::Float,
            Type::Int64 => Self::Int64,
            Type::Uint64 => Self::Uint64,
            Type::Int32 => Self::Int32,
            Type::Fixed64 => Self::Fixed64,
            Type::Fixed32 => Self::Fixed32,
            Type::Bool => Self::Bool,
            Type::String => Self::String,
            Type::Bytes => Self::Bytes,
            Type::Uint32 => Self::Uint32,
            Type::Sfixed32 => Self::Sfixed32,
            Type::Sfixed64 => Self::Sfixed64,
            Type::Sint32 => Self::Sint32,
            Type::Sint64 => Self::Sint64,
            Type::Group | Type::Message | Type::Enum => return None,
        })
    }

    fn wire_type(self) -> WireType {
        match self {
            Self::Double | Self::Fixed64 | Self::Sfixed64 => WireType::Fixed64,
            Self::Float | Self::Fixed32 | Self::Sfixed32 => WireType::Fixed32,
            Self::String | Self::Bytes => WireType::LengthDelimited,
            _ => WireType::Varint,
        }
    }

    fn is_map_key(self) -> bool {
        !matches!(self, Self::Double | Self::Float | Self::Bytes)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Scalar(Scalar),
    Enum(u32),
    Message(u32),
}

impl Ty {
    fn wire_type(self) -> WireType {
        match self {
            Self::Scalar(s) => s.wire_type(),
            Self::Enum(_) => WireType::Varint,
            Self::Message(_) => WireType::LengthDelimited,
        }
    }

    fn packable(self) -> bool {
        match self {
            Self::Scalar(s) => !matches!(s, Scalar::String | Scalar::Bytes),
            Self::Enum(_) => true,
            Self::Message(_) => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Single(Presence),
    Repeated { packed: bool },
    Map { key: Scalar },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Presence {
    // proto3 scalars, editions IMPLICIT: the default is not written.
    Implicit,
    Explicit,
    // proto2 `required`, editions LEGACY_REQUIRED: checked after decoding.
    Required,
}

struct EnumType {
    closed: bool,
    // google.protobuf.NullValue, which is `null` in JSON.
    null_value: bool,
    // The default of a field without presence.
    first: i32,
    by_name: HashMap<String, i32>,
    // The first name declared for each number (aliases read, not written).
    by_number: HashMap<i32, String>,
}

macro_rules! well_known_types {
    ($($variant:ident => $name:literal,)*) => {
        /// The well-known types with a JSON form of their own, which are
        /// decoded into the runtime's structs.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Wkt {
            $($variant,)*
        }

        /// A value of one of them.
        enum WktValue {
            $($variant(Box<wkt::$variant>),)*
        }

        impl Wkt {
            fn of(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Self::$variant),)*
                    _ => None,
                }
            }

            fn default_value(self) -> WktValue {
                match self {
                    $(Self::$variant => WktValue::$variant(Box::default()),)*
                }
            }

            fn null_is_value(self) -> bool {
                match self {
                    $(Self::$variant => <wkt::$variant as JsonValue>::NULL_IS_VALUE,)*
                }
            }

            /// Reads the type's JSON form. Not for `Any`: the types it
            /// packs are looked up in the pool ([`DescriptorPool::read_any`]).
            fn read_json(self, r: &mut JsonReader<'_>) -> Result<Option<WktValue>, JsonError> {
                Ok(match self {
                    $(Self::$variant => <wkt::$variant as JsonValue>::read_json(r)?
                        .map(|v| WktValue::$variant(Box::new(v))),)*
                })
            }
        }

        impl WktValue {
            fn merge(&mut self, d: &mut Decoder<'_>, group: Option<u32>) -> Result<(), DecodeError> {
                match self {
                    $(Self::$variant(m) => merge_fields(&mut **m, d, group),)*
                }
            }

            /// Writes the type's JSON form. Not for `Any`
            /// ([`DescriptorPool::write_any`]).
            fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
                match self {
                    $(Self::$variant(m) => m.write_json(w),)*
                }
            }

            fn compute_size(&self, sizes: &mut SizeCache) -> usize {
                match self {
                    $(Self::$variant(m) => m.compute_size(sizes),)*
                }
            }

            fn write_to(&self, w: &mut Encoder<'_, Vec<u8>>) {
                match self {
                    $(Self::$variant(m) => m.write_to(w),)*
                }
            }
        }
    };
}

well_known_types! {
    Any => "google.protobuf.Any",
    Timestamp => "google.protobuf.Timestamp",
    Duration => "google.protobuf.Duration",
    FieldMask => "google.protobuf.FieldMask",
    Struct => "google.protobuf.Struct",
    Value => "google.protobuf.Value",
    ListValue => "google.protobuf.ListValue",
    DoubleValue => "google.protobuf.DoubleValue",
    FloatValue => "google.protobuf.FloatValue",
    Int64Value => "google.protobuf.Int64Value",
    UInt64Value => "google.protobuf.UInt64Value",
    Int32Value => "google.protobuf.Int32Value",
    UInt32Value => "google.protobuf.UInt32Value",
    BoolValue => "google.protobuf.BoolValue",
    StringValue => "google.protobuf.StringValue",
    BytesValue => "google.protobuf.BytesValue",
}

// ---------------------------------------------------------------------------
// Building the pool.

/// The given files, each once, and the runtime's copies of the
/// `google/protobuf/` files they import but do not include.
fn gather(
    given: impl IntoIterator<Item = FileDescriptorProto>,
) -> Result<Vec<FileDescriptorProto>, DescriptorError> {
    let mut files: Vec<FileDescriptorProto> = Vec::new();
    for f in given {
        if let Some(old) = files
            .iter()
            .find(|g| !f.name().is_empty() && g.name() == f.name())
        {
            if *old == f {
                continue;
            }
            return Err(DescriptorError::new(format!(
                "two different files named {:?}",
                f.name()
            )));
        }
        files.push(f);
    }
    let mut i = 0;
    while let Some(file) = files.get(i) {
        let missing: Vec<&'static crate::descriptor::FileDescriptor> = file
            .dependency
            .iter()
            .filter(|d| !files.iter().any(|g| g.name() == d.as_str()))
            .filter_map(|d| embedded(d))
            .collect();
        for fd in missing {
            if files.iter().any(|g| g.name() == fd.name) {
                continue;
            }
            let decoded = fd
                .decode()
                .map_err(|e| DescriptorError::new(format!("the runtime's {}: {e}", fd.name)))?;
            files.push(decoded);
        }
        i += 1;
    }
    Ok(files)
}

fn embedded(name: &str) -> Option<&'static crate::descriptor::FileDescriptor> {
    wkt::FILE_DESCRIPTORS
        .iter()
        .copied()
        .chain([&wkt::compiler::DESCRIPTOR_GOOGLE_PROTOBUF_COMPILER_PLUGIN])
        .find(|f| f.name == name)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Syntax {
    Proto2,
    Proto3,
    Editions,
}

/// The features that change the wire format or the JSON mapping, resolved
/// for one element.
#[derive(Clone, Copy, Debug)]
struct Features {
    presence: FieldPresence,
    closed: bool,
    packed: bool,
    delimited: bool,
}

impl Features {
    fn of(syntax: Syntax) -> Self {
        match syntax {
            Syntax::Proto2 => Self {
                presence: FieldPresence::Explicit,
                closed: true,
                packed: false,
                delimited: false,
            },
            Syntax::Proto3 => Self {
                presence: FieldPresence::Implicit,
                closed: false,
                packed: true,
                delimited: false,
            },
            // Edition 2023's defaults (2024 changes none of these).
            Syntax::Editions => Self {
                presence: FieldPresence::Explicit,
                closed: false,
                packed: true,
                delimited: false,
            },
        }
    }

    /// `self` with what `set` sets overriding it (`*_UNKNOWN` is unset).
    fn with(mut self, set: Option<&FeatureSet>) -> Self {
        let Some(set) = set else {
            return self;
        };
        match set.field_presence {
            Some(FieldPresence::Unknown) | None => {}
            Some(p) => self.presence = p,
        }
        match set.enum_type {
            Some(EnumFeature::Open) => self.closed = false,
            Some(EnumFeature::Closed) => self.closed = true,
            _ => {}
        }
        match set.repeated_field_encoding {
            Some(RepeatedFieldEncoding::Packed) => self.packed = true,
            Some(RepeatedFieldEncoding::Expanded) => self.packed = false,
            _ => {}
        }
        match set.message_encoding {
            Some(MessageEncoding::LengthPrefixed) => self.delimited = false,
            Some(MessageEncoding::Delimited) => self.delimited = true,
            _ => {}
        }
        self
    }
}

struct MessageDecl<'a> {
    name: String,
    desc: &'a DescriptorProto,
    syntax: Syntax,
    features: Features,
    file: &'a str,
}

struct EnumDecl<'a> {
    name: String,
    desc: &'a EnumDescriptorProto,
    features: Features,
}

struct ExtensionDecl<'a> {
    // The package or message the extension is declared in.
    scope: String,
    desc: &'a FieldDescriptorProto,
    syntax: Syntax,
    features: Features,
    file: &'a str,
}

/// A field before its message is put in order.
struct Draft {
    field: Field,
    // Declaration order, and the `oneof_decl` index of a real oneof.
    order: usize,
    oneof_decl: Option<usize>,
    extension: bool,
}

#[derive(Default)]
struct Builder<'a> {
    messages: Vec<MessageDecl<'a>>,
    enums: Vec<EnumDecl<'a>>,
    extensions: Vec<ExtensionDecl<'a>>,
    names: HashMap<String, Named>,
}

fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

impl<'a> Builder<'a> {
    fn define(&mut self, file: &str, name: &str, named: Named) -> Result<(), DescriptorError> {
        if name.is_empty() || name.ends_with('.') {
            return Err(DescriptorError::new(format!(
                "{file}: a type without a name"
            )));
        }
        if self.names.insert(name.to_owned(), named).is_some() {
            return Err(DescriptorError::new(format!(
                "{file}: {name} is defined twice"
            )));
        }
        Ok(())
    }

    fn declare_enum(
        &mut self,
        file: &str,
        scope: &str,
        e: &'a EnumDescriptorProto,
        parent: Features,
    ) -> Result<(), DescriptorError> {
        let name = join(scope, e.name());
        let index =
            u32::try_from(self.enums.len()).map_err(|_| DescriptorError::new("too many enums"))?;
        self.define(file, &name, Named::Enum(index))?;
        let features = parent.with(e.options.as_ref().and_then(|o| o.features.as_ref()));
        self.enums.push(EnumDecl {
            name,
            desc: e,
            features,
        });
        Ok(())
    }

    /// Names every message and enum of `files`, with the features each
    /// starts from, and collects the extensions.
    fn declare(&mut self, files: &'a [FileDescriptorProto]) -> Result<(), DescriptorError> {
        for file in files {
            let fname = file.name();
            let syntax = match file.syntax.as_deref() {
                None | Some("") | Some("proto2") => Syntax::Proto2,
                Some("proto3") => Syntax::Proto3,
                Some("editions") => Syntax::Editions,
                Some(other) => {
                    return Err(DescriptorError::new(format!(
                        "{fname}: unknown syntax {other:?}"
                    )));
                }
            };
            let features =
                Features::of(syntax).with(file.options.as_ref().and_then(|o| o.features.as_ref()));
            let package = file.package();
            for e in &file.enum_type {
                self.declare_enum(fname, package, e, features)?;
            }
            for x in &file.extension {
                self.extensions.push(ExtensionDecl {
                    scope: package.to_owned(),
                    desc: x,
                    syntax,
                    features,
                    file: fname,
                });
            }
            // Nested messages without recursion: a stack of (scope, message,
            // the features of its parent).
            let mut stack: Vec<(String, &'a DescriptorProto, Features)> = file
                .message_type
                .iter()
                .rev()
                .map(|m| (package.to_owned(), m, features))
                .collect();
            while let Some((scope, m, parent)) = stack.pop() {
                let name = join(&scope, m.name());
                let index = u32::try_from(self.messages.len())
                    .map_err(|_| DescriptorError::new("too many messages"))?;
                self.define(fname, &name, Named::Message(index))?;
                let features = parent.with(m.options.as_ref().and_then(|o| o.features.as_ref()));
                for e in &m.enum_type {
                    self.declare_enum(fname, &name, e, features)?;
                }
                for x in &m.extension {
                    self.extensions.push(ExtensionDecl {
                        scope: name.clone(),
                        desc: x,
                        syntax,
                        features,
                        file: fname,
                    });
                }
                for n in m.nested_type.iter().rev() {
                    stack.push((name.clone(), n, features));
                }
                self.messages.push(MessageDecl {
                    name,
                    desc: m,
                    syntax,
                    features,
                    file: fname,
                });
            }
        }
        Ok(())
    }

    /// A type name as protoc resolves it: fully qualified with a leading
    /// `.`, or relative, looked up from `scope` outwards.
    fn resolve(&self, scope: &str, name: &str) -> Option<Named> {
        if let Some(full) = name.strip_prefix('.') {
            return self.names.get(full).copied();
        }
        let mut scope = scope;
        loop {
            if let Some(n) = self.names.get(&join(scope, name)) {
                return Some(*n);
            }
            if scope.is_empty() {
                return None;
            }
            scope = scope.rfind('.').map_or("", |i| &scope[..i]);
        }
    }

    fn field_type(&self, scope: &str, f: &FieldDescriptorProto) -> Result<Ty, String> {
        let named = match f.type_name.as_deref() {
            Some(t) if !t.is_empty() => Some(
                self.resolve(scope, t)
                    .ok_or_else(|| format!("unknown type {t}"))?,
            ),
            _ => None,
        };
        Ok(match (f.r#type, named) {
            (Some(Type::Message | Type::Group) | None, Some(Named::Message(m))) => Ty::Message(m),
            (Some(Type::Enum) | None, Some(Named::Enum(e))) => Ty::Enum(e),
            (Some(t), None) => Ty::Scalar(
                Scalar::of(t).ok_or_else(|| format!("a field of type {t:?} needs a type_name"))?,
            ),
            (Some(t), Some(_)) => {
                return Err(format!(
                    "type {t:?} does not go with type_name {}",
                    f.type_name()
                ));
            }
            (None, None) => return Err("a field without a type".to_owned()),
        })
    }

    fn is_map_entry(&self, m: u32) -> bool {
        self.messages
            .get(m as usize)
            .and_then(|d| d.desc.options.as_ref())
            .and_then(|o| o.map_entry)
            .unwrap_or(false)
    }

    fn map_types(&self, m: u32) -> Result<(Scalar, Ty), String> {
        let Some(decl) = self.messages.get(m as usize) else {
            return Err("bad map entry".to_owned());
        };
        let find = |n: i32| decl.desc.field.iter().find(|f| f.number == Some(n));
        let (Some(k), Some(v)) = (find(1), find(2)) else {
            return Err(format!(
                "map entry {} needs a key (1) and a value (2)",
                decl.name
            ));
        };
        let key = match self.field_type(&decl.name, k)? {
            Ty::Scalar(s) if s.is_map_key() => s,
            _ => {
                return Err(format!(
                    "map entry {} has a key type maps cannot have",
                    decl.name
                ));
            }
        };
        Ok((key, self.field_type(&decl.name, v)?))
    }

    /// One field (or extension, `extension` its full name) of a message
    /// declared in `scope`.
    fn field(
        &self,
        scope: &str,
        f: &FieldDescriptorProto,
        syntax: Syntax,
        features: Features,
        in_oneof: bool,
        extension: Option<String>,
    ) -> Result<Field, String> {
        let number = f
            .number
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (1..=MAX_FIELD_NUMBER).contains(n))
            .ok_or_else(|| format!("invalid field number {}", f.number()))?;
        let ty = self.field_type(scope, f)?;
        let message = matches!(ty, Ty::Message(_));
        let delimited = message && (f.r#type == Some(Type::Group) || features.delimited);
        let label = f.label.unwrap_or(Label::Optional);
        let (ty, shape, delimited) = if label == Label::Repeated {
            match ty {
                Ty::Message(m) if extension.is_none() && self.is_map_entry(m) => {
                    // Map entries and their values are length-prefixed
                    // whatever the field's message encoding.
                    let (key, value) = self.map_types(m)?;
                    (value, Shape::Map { key }, false)
                }
                _ => {
                    let option = f.options.as_ref().and_then(|o| o.packed);
                    let packed = match syntax {
                        Syntax::Proto2 => option.unwrap_or(false),
                        Syntax::Proto3 => option.unwrap_or(true),
                        Syntax::Editions => features.packed,
                    };
                    (
                        ty,
                        Shape::Repeated {
                            packed: packed && ty.packable(),
                        },
                        delimited,
                    )
                }
            }
        } else {
            let presence =
                if label == Label::Required || features.presence == FieldPresence::LegacyRequired {
                    Presence::Required
                } else if in_oneof || extension.is_some() || message {
                    Presence::Explicit
                } else if syntax == Syntax::Proto3 {
                    if f.proto3_optional() {
                        Presence::Explicit
                    } else {
                        Presence::Implicit
                    }
                } else if features.presence == FieldPresence::Implicit {
                    Presence::Implicit
                } else {
                    Presence::Explicit
                };
            (ty, Shape::Single(presence), delimited)
        };
        let is_extension = extension.is_some();
        let (json_name, proto_name) = match extension {
            Some(full) => {
                let key = format!("[{full}]");
                (key.clone(), key)
            }
            None => (
                f.json_name.clone().unwrap_or_else(|| lower_camel(f.name())),
                f.name().to_owned(),
            ),
        };
        Ok(Field {
            number,
            json_key: escape_key(&json_name),
            proto_key: escape_key(&proto_name),
            json_name,
            proto_name,
            ty,
            shape,
            oneof: None,
            delimited,
            extension: is_extension,
        })
    }

    fn build(self) -> Result<DescriptorPool, DescriptorError> {
        let enums = self
            .enums
            .iter()
            .map(|d| {
                let mut by_name = HashMap::new();
                let mut by_number = HashMap::new();
                for v in &d.desc.value {
                    by_name.entry(v.name().to_owned()).or_insert(v.number());
                    by_number
                        .entry(v.number())
                        .or_insert_with(|| v.name().to_owned());
                }
                EnumType {
                    closed: d.features.closed,
                    null_value: d.name == "google.protobuf.NullValue",
                    first: d.desc.value.first().map_or(0, |v| v.number()),
                    by_name,
                    by_number,
                }
            })
            .collect();

        let mut drafts: Vec<Vec<Draft>> = Vec::with_capacity(self.messages.len());
        for decl in &self.messages {
            let d = decl.desc;
            let mut fields = Vec::with_capacity(d.field.len());
            for (order, f) in d.field.iter().enumerate() {
                let context = |why: String| {
                    DescriptorError::new(format!(
                        "{}: field {}.{}: {why}",
                        decl.file,
                        decl.name,
                        f.name()
                    ))
                };
                let oneof_decl = match f.oneof_index {
                    Some(o) if !f.proto3_optional() => Some(
                        usize::try_from(o)
                            .ok()
                            .filter(|o| *o < d.oneof_decl.len())
                            .ok_or_else(|| context(format!("no oneof {o}")))?,
                    ),
                    _ => None,
                };
                let oneof_features = oneof_decl
                    .and_then(|o| d.oneof_decl.get(o))
                    .and_then(|o| o.options.as_ref())
                    .and_then(|o| o.features.as_ref());
                let own = f.options.as_ref().and_then(|o| o.features.as_ref());
                let features = decl.features.with(oneof_features).with(own);
                let field = self
                    .field(
                        &decl.name,
                        f,
                        decl.syntax,
                        features,
                        oneof_decl.is_some(),
                        None,
                    )
                    .map_err(context)?;
                fields.push(Draft {
                    field,
                    order,
                    oneof_decl,
                    extension: false,
                });
            }
            drafts.push(fields);
        }
        for x in &self.extensions {
            let full = join(&x.scope, x.desc.name());
            let context =
                |why: String| DescriptorError::new(format!("{}: extension {full}: {why}", x.file));
            let extendee = x.desc.extendee();
            let target = match self.resolve(&x.scope, extendee) {
                Some(Named::Message(m)) => m,
                _ => return Err(context(format!("unknown extendee {extendee:?}"))),
            };
            let own = x.desc.options.as_ref().and_then(|o| o.features.as_ref());
            let field = self
                .field(
                    &x.scope,
                    x.desc,
                    x.syntax,
                    x.features.with(own),
                    false,
                    Some(full.clone()),
                )
                .map_err(context)?;
            let Some(list) = drafts.get_mut(target as usize) else {
                return Err(context("unknown extendee".to_owned()));
            };
            let order = list.len();
            list.push(Draft {
                field,
                order,
                oneof_decl: None,
                extension: true,
            });
        }

        let mut messages = Vec::with_capacity(self.messages.len());
        for (decl, fields) in self.messages.iter().zip(drafts) {
            messages.push(finish(&decl.name, decl.file, fields)?);
        }
        Ok(DescriptorPool {
            messages,
            enums,
            names: self.names,
        })
    }
}

/// Puts a message's fields in number order and works out its oneofs, JSON
/// member order and member names, as the generator does.
fn finish(name: &str, file: &str, mut drafts: Vec<Draft>) -> Result<MessageType, DescriptorError> {
    drafts.sort_by_key(|d| d.field.number);
    for pair in drafts.windows(2) {
        if pair[0].field.number == pair[1].field.number {
            return Err(DescriptorError::new(format!(
                "{file}: {name}: field number {} is used twice",
                pair[0].field.number
            )));
        }
    }
    // Real oneofs by `oneof_decl` index, numbered in that order.
    let mut decls: Vec<usize> = drafts.iter().filter_map(|d| d.oneof_decl).collect();
    decls.sort_unstable();
    decls.dedup();
    let mut oneofs = vec![Vec::new(); decls.len()];
    let mut by_order: Vec<usize> = (0..drafts.len()).collect();
    by_order.sort_by_key(|&i| (drafts[i].extension, drafts[i].order));
    for &i in &by_order {
        let Some(o) = drafts[i]
            .oneof_decl
            .and_then(|o| decls.binary_search(&o).ok())
        else {
            continue;
        };
        drafts[i].field.oneof = Some(o);
        oneofs[o].push(i);
    }

    let mut items: Vec<(u32, Item)> = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        if d.field.oneof.is_none() && !d.extension {
            items.push((d.field.number, Item::Field(i)));
        }
    }
    for (o, members) in oneofs.iter().enumerate() {
        let first = members
            .iter()
            .map(|&i| drafts[i].field.number)
            .min()
            .unwrap_or(0);
        items.push((first, Item::Oneof(o)));
    }
    items.sort_by_key(|(n, _)| *n);
    let mut writes: Vec<Item> = items.into_iter().map(|(_, item)| item).collect();
    writes.extend(
        drafts
            .iter()
            .enumerate()
            .filter(|(_, d)| d.extension)
            .map(|(i, _)| Item::Field(i)),
    );

    let fields: Vec<Field> = drafts.into_iter().map(|d| d.field).collect();
    let mut keys = HashMap::new();
    let mut add = |i: usize| {
        keys.entry(fields[i].json_name.clone()).or_insert(i);
        keys.entry(fields[i].proto_name.clone()).or_insert(i);
    };
    for item in &writes {
        match *item {
            Item::Field(i) => add(i),
            Item::Oneof(o) => oneofs[o].iter().for_each(|&i| add(i)),
        }
    }
    Ok(MessageType {
        name: name.to_owned(),
        wkt: Wkt::of(name),
        fields,
        oneofs,
        writes,
        keys,
    })
}

/// protoc's JSON name of a field without one: `foo_bar_baz` -> `fooBarBaz`.
fn lower_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A name as it goes between the quotes of a JSON key.
fn escape_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// The type name in a type URL: what follows its last `/`.
fn type_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

// ---------------------------------------------------------------------------
// A message's values: the fields that are set, by index into the type's
// `fields`, in that (number) order.

#[derive(Default)]
struct Msg {
    slots: Vec<(usize, Slot)>,
}

enum Slot {
    One(Val),
    List(Vec<Val>),
    Map(BTreeMap<Key, Val>),
}

enum Val {
    Bool(bool),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
    Str(String),
    Bytes(Vec<u8>),
    Enum(i32),
    Msg(Box<Msg>),
    Wkt(WktValue),
}

/// A map key, ordered (maps are written and encoded in key order).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Bool(bool),
    I64(i64),
    U64(u64),
    Str(String),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(b) => write!(f, "{b}"),
            Self::I64(n) => write!(f, "{n}"),
            Self::U64(n) => write!(f, "{n}"),
            Self::Str(s) => f.write_str(s),
        }
    }
}

impl Msg {
    fn position(&self, field: usize) -> Result<usize, usize> {
        self.slots.binary_search_by_key(&field, |(f, _)| *f)
    }

    fn get(&self, field: usize) -> Option<&Slot> {
        self.position(field).ok().map(|i| &self.slots[i].1)
    }

    fn set(&mut self, field: usize, slot: Slot) {
        match self.position(field) {
            Ok(i) => self.slots[i].1 = slot,
            Err(i) => self.slots.insert(i, (field, slot)),
        }
    }

    fn take(&mut self, field: usize) -> Option<Slot> {
        self.position(field).ok().map(|i| self.slots.remove(i).1)
    }

    fn get_mut(&mut self, field: usize) -> Option<&mut Slot> {
        self.position(field).ok().map(|i| &mut self.slots[i].1)
    }
}

fn zero(s: Scalar) -> Val {
    match s {
        Scalar::Double => Val::F64(0.0),
        Scalar::Float => Val::F32(0.0),
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => Val::I64(0),
        Scalar::Uint64 | Scalar::Fixed64 => Val::U64(0),
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => Val::I32(0),
        Scalar::Uint32 | Scalar::Fixed32 => Val::U32(0),
        Scalar::Bool => Val::Bool(false),
        Scalar::String => Val::Str(String::new()),
        Scalar::Bytes => Val::Bytes(Vec::new()),
    }
}

fn to_key(v: Val) -> Key {
    match v {
        Val::Bool(b) => Key::Bool(b),
        Val::I32(n) => Key::I64(n.into()),
        Val::I64(n) => Key::I64(n),
        Val::U32(n) => Key::U64(n.into()),
        Val::U64(n) => Key::U64(n),
        Val::Str(s) => Key::Str(s),
        _ => Key::Str(String::new()),
    }
}

impl DescriptorPool {
    fn new_message(&self, t: u32) -> Val {
        match self.message(t).wkt {
            Some(k) => Val::Wkt(k.default_value()),
            None => Val::Msg(Box::default()),
        }
    }

    /// The value a field without presence has when it is not set.
    fn default_val(&self, ty: Ty) -> Val {
        match ty {
            Ty::Scalar(s) => zero(s),
            Ty::Enum(e) => Val::Enum(self.enumeration(e).first),
            Ty::Message(t) => self.new_message(t),
        }
    }

    fn is_default(&self, ty: Ty, v: &Val) -> bool {
        match v {
            Val::Bool(b) => !*b,
            Val::I32(n) => *n == 0,
            Val::U32(n) => *n == 0,
            Val::I64(n) => *n == 0,
            Val::U64(n) => *n == 0,
            // -0.0 is not the default: it is written.
            Val::F32(x) => x.to_bits() == 0,
            Val::F64(x) => x.to_bits() == 0,
            Val::Str(s) => s.is_empty(),
            Val::Bytes(b) => b.is_empty(),
            Val::Enum(n) => match ty {
                Ty::Enum(e) => *n == self.enumeration(e).first,
                _ => *n == 0,
            },
            Val::Msg(_) | Val::Wkt(_) => false,
        }
    }

    fn null_is_value(&self, ty: Ty) -> bool {
        match ty {
            Ty::Scalar(_) => false,
            Ty::Enum(e) => self.enumeration(e).null_value,
            Ty::Message(t) => self.message(t).wkt.is_some_and(Wkt::null_is_value),
        }
    }

    /// An enum number the schema keeps: any for open enums, declared ones
    /// for closed enums (others are unknown fields, left out).
    fn keeps(&self, ty: Ty, n: i32) -> bool {
        match ty {
            Ty::Enum(e) => {
                let e = self.enumeration(e);
                !e.closed || e.by_number.contains_key(&n)
            }
            _ => true,
        }
    }
}

// ---------------------------------------------------------------------------
// Binary -> values.

/// A decode error as a JSON error, its offset counted from the start of the
/// input (`base` is where the decoder that failed started).
fn wire(e: DecodeError, base: usize) -> JsonError {
    let mut shifted = DecodeError::new(e.kind(), base.saturating_add(e.offset()));
    let path: Vec<_> = e.path().collect();
    for (message, field) in path.into_iter().rev() {
        shifted = shifted.push_field(message, field);
    }
    JsonError::new(shifted.to_string())
}

/// A decoder for the fields of a message `depth` levels down.
fn decoder(buf: &[u8], depth: u32) -> Decoder<'_> {
    Decoder::new(buf).with_recursion_limit(LIMIT.saturating_sub(depth))
}

/// A decoder with where it started in the whole input and how deep its
/// message is.
struct Cursor<'a> {
    d: Decoder<'a>,
    start: usize,
    base: usize,
    depth: u32,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8], base: usize, depth: u32) -> Self {
        Self {
            d: decoder(buf, depth),
            start: base,
            base,
            depth,
        }
    }

    fn at(&self) -> usize {
        self.base + self.d.offset()
    }

    fn consumed(&self) -> usize {
        self.at() - self.start
    }

    fn fail(&self, e: DecodeError) -> JsonError {
        wire(e, self.base)
    }

    fn error(&self, kind: DecodeErrorKind) -> JsonError {
        wire(DecodeError::new(kind, self.d.offset()), self.base)
    }

    /// A length-delimited value, and where it starts.
    fn payload(&mut self) -> Result<(&'a [u8], usize), JsonError> {
        let s = self.d.read_slice().map_err(|e| wire(e, self.base))?;
        Ok((s, self.at() - s.len()))
    }

    /// Moves past `used` bytes read by another decoder.
    fn advance(&mut self, used: usize) {
        let rest = self.d.remaining();
        let used = used.min(rest.len());
        self.base = self.at() + used;
        self.d = decoder(&rest[used..], self.depth);
    }

    fn nested(&self) -> Result<u32, JsonError> {
        if self.depth >= LIMIT {
            return Err(self.error(DecodeErrorKind::RecursionLimitExceeded));
        }
        Ok(self.depth + 1)
    }
}

fn from_varint(ty: Ty, raw: u64) -> Val {
    match ty {
        Ty::Scalar(Scalar::Int64) => Val::I64(raw as i64),
        Ty::Scalar(Scalar::Uint64) => Val::U64(raw),
        Ty::Scalar(Scalar::Int32) => Val::I32(raw as i32),
        Ty::Scalar(Scalar::Uint32) => Val::U32(raw as u32),
        Ty::Scalar(Scalar::Sint32) => Val::I32(unzigzag32(raw as u32)),
        Ty::Scalar(Scalar::Sint64) => Val::I64(unzigzag64(raw)),
        Ty::Scalar(Scalar::Bool) => Val::Bool(raw != 0),
        _ => Val::Enum(raw as i32),
    }
}

fn from_fixed32(ty: Ty, raw: u32) -> Val {
    match ty {
        Ty::Scalar(Scalar::Float) => Val::F32(f32::from_bits(raw)),
        Ty::Scalar(Scalar::Sfixed32) => Val::I32(raw as i32),
        _ => Val::U32(raw),
    }
}

fn from_fixed64(ty: Ty, raw: u64) -> Val {
    match ty {
        Ty::Scalar(Scalar::Double) => Val::F64(f64::from_bits(raw)),
        Ty::Scalar(Scalar::Sfixed64) => Val::I64(raw as i64),
        _ => Val::U64(raw),
    }
}

/// One scalar or enum value of wire type `ty.wire_type()`.
fn read_wire(ty: Ty, c: &mut Cursor<'_>) -> Result<Val, JsonError> {
    let d = &mut c.d;
    let v = match ty.wire_type() {
        WireType::Varint => d.read_varint().map(|raw| from_varint(ty, raw)),
        WireType::Fixed32 => d.read_fixed32().map(|raw| from_fixed32(ty, raw)),
        WireType::Fixed64 => d.read_fixed64().map(|raw| from_fixed64(ty, raw)),
        _ if ty == Ty::Scalar(Scalar::String) => d.read_string().map(Val::Str),
        _ => d.read_vec().map(Val::Bytes),
    };
    v.map_err(|e| wire(e, c.base))
}

impl DescriptorPool {
    /// Decodes a message of type `t`, `depth` levels down, and checks its
    /// required fields.
    fn decode(&self, t: u32, bytes: &[u8], depth: u32) -> Result<Val, JsonError> {
        if depth > LIMIT {
            return Err(wire(
                DecodeError::new(DecodeErrorKind::RecursionLimitExceeded, 0),
                0,
            ));
        }
        let mut v = self.new_message(t);
        self.merge_into(&mut v, t, bytes, 0, depth, None)?;
        if let Val::Msg(m) = &v {
            self.check_required(t, m)?;
        }
        Ok(v)
    }

    /// Merges the fields in `buf` (up to the end-group tag of `group`) into
    /// `v`, a message of type `t`; returns the bytes read.
    fn merge_into(
        &self,
        v: &mut Val,
        t: u32,
        buf: &[u8],
        base: usize,
        depth: u32,
        group: Option<u32>,
    ) -> Result<usize, JsonError> {
        match v {
            Val::Msg(m) => self.merge(t, m, buf, base, depth, group),
            Val::Wkt(x) => {
                let mut d = decoder(buf, depth);
                x.merge(&mut d, group).map_err(|e| wire(e, base))?;
                Ok(d.offset())
            }
            _ => Err(JsonError::new(
                "internal error: a message without a message value",
            )),
        }
    }

    fn merge(
        &self,
        t: u32,
        msg: &mut Msg,
        buf: &[u8],
        base: usize,
        depth: u32,
        group: Option<u32>,
    ) -> Result<usize, JsonError> {
        let mt = self.message(t);
        let mut c = Cursor::new(buf, base, depth);
        while !c.d.is_empty() {
            let key = c.d.read_key().map_err(|e| c.fail(e))?;
            let number = key_field(key);
            let Some(wt) = WireType::from_key(key) else {
                return Err(c.error(DecodeErrorKind::InvalidWireType));
            };
            if wt == WireType::EndGroup {
                return match group {
                    Some(g) if g == number => Ok(c.consumed()),
                    Some(_) => Err(c.error(DecodeErrorKind::MismatchedEndGroup)),
                    None => Err(c.error(DecodeErrorKind::InvalidWireType)),
                };
            }
            let known = match mt.field_index(number) {
                Some(i) => self
                    .merge_field(mt, i, msg, wt, &mut c)
                    .map_err(mt.fields[i].in_field())?,
                None => false,
            };
            if !known {
                c.d.skip_value(key).map_err(|e| c.fail(e))?;
            }
        }
        match group {
            Some(_) => Err(c.error(DecodeErrorKind::UnterminatedGroup)),
            None => Ok(c.consumed()),
        }
    }

    /// Reads the value of field `i` (its tag just read, of wire type `wt`);
    /// `Ok(false)`, reading nothing, for a wire type the field does not
    /// take (the field is then an unknown field).
    fn merge_field(
        &self,
        mt: &MessageType,
        i: usize,
        msg: &mut Msg,
        wt: WireType,
        c: &mut Cursor<'_>,
    ) -> Result<bool, JsonError> {
        let f = &mt.fields[i];
        match f.shape {
            Shape::Single(_) => {
                if wt != f.wire_type() {
                    return Ok(false);
                }
                let v = match f.ty {
                    Ty::Message(t) => {
                        // A message given again merges into the first,
                        // unless another member of its oneof came between.
                        let mut v = match msg.take(i) {
                            Some(Slot::One(v)) => v,
                            _ => self.new_message(t),
                        };
                        self.merge_message(&mut v, t, f, c)?;
                        v
                    }
                    ty => {
                        let v = read_wire(ty, c)?;
                        if matches!(v, Val::Enum(n) if !self.keeps(ty, n)) {
                            return Ok(true);
                        }
                        v
                    }
                };
                if let Some(o) = f.oneof {
                    for &other in &mt.oneofs[o] {
                        if other != i {
                            msg.take(other);
                        }
                    }
                }
                msg.set(i, Slot::One(v));
            }
            Shape::Repeated { .. } => {
                if !matches!(msg.get(i), Some(Slot::List(_))) {
                    msg.set(i, Slot::List(Vec::new()));
                }
                let Some(Slot::List(list)) = msg.get_mut(i) else {
                    return Ok(false);
                };
                match f.ty {
                    Ty::Message(t) if wt == f.wire_type() => {
                        let mut v = self.new_message(t);
                        let at = list.len();
                        self.merge_message(&mut v, t, f, c)
                            .map_err(|e| e.at_index(at))?;
                        list.push(v);
                    }
                    ty if wt == ty.wire_type() && !matches!(ty, Ty::Message(_)) => {
                        let v = read_wire(ty, c)?;
                        if !matches!(v, Val::Enum(n) if !self.keeps(ty, n)) {
                            list.push(v);
                        }
                    }
                    ty if wt == WireType::LengthDelimited && ty.packable() => {
                        let mut keep = |v: Val| {
                            if !matches!(v, Val::Enum(n) if !self.keeps(ty, n)) {
                                list.push(v);
                            }
                        };
                        let r = match ty.wire_type() {
                            WireType::Fixed32 => {
                                c.d.read_packed_fixed32(|raw| keep(from_fixed32(ty, raw)))
                            }
                            WireType::Fixed64 => {
                                c.d.read_packed_fixed64(|raw| keep(from_fixed64(ty, raw)))
                            }
                            _ => c.d.read_packed_varints(|raw| keep(from_varint(ty, raw))),
                        };
                        r.map_err(|e| wire(e, c.base))?;
                    }
                    _ => return Ok(false),
                }
            }
            Shape::Map { key } => {
                if wt != WireType::LengthDelimited {
                    return Ok(false);
                }
                let depth = c.nested()?;
                let (payload, start) = c.payload()?;
                let mut e = Cursor::new(payload, start, depth);
                let mut k = None;
                let mut v = None;
                while !e.d.is_empty() {
                    let tag = e.d.read_key().map_err(|x| e.fail(x))?;
                    let wt = WireType::from_key(tag);
                    match key_field(tag) {
                        1 if wt == Some(key.wire_type()) => {
                            k = Some(read_wire(Ty::Scalar(key), &mut e)?);
                        }
                        2 if wt == Some(f.ty.wire_type()) => match f.ty {
                            Ty::Message(t) => {
                                let mut m = v.take().unwrap_or_else(|| self.new_message(t));
                                let inner = e.nested()?;
                                let (p, at) = e.payload()?;
                                self.merge_into(&mut m, t, p, at, inner, None)?;
                                v = Some(m);
                            }
                            ty => v = Some(read_wire(ty, &mut e)?),
                        },
                        _ => e.d.skip_value(tag).map_err(|x| e.fail(x))?,
                    }
                }
                let k = k.unwrap_or_else(|| zero(key));
                let v = match v {
                    Some(v) => v,
                    None => match f.ty {
                        Ty::Enum(_) => Val::Enum(0),
                        ty => self.default_val(ty),
                    },
                };
                // An entry whose closed-enum value is unknown is an unknown
                // field as a whole.
                if matches!(v, Val::Enum(n) if !self.keeps(f.ty, n)) {
                    return Ok(true);
                }
                if !matches!(msg.get(i), Some(Slot::Map(_))) {
                    msg.set(i, Slot::Map(BTreeMap::new()));
                }
                if let Some(Slot::Map(map)) = msg.get_mut(i) {
                    map.insert(to_key(k), v);
                }
            }
        }
        Ok(true)
    }

    /// A message value of field `f`: length-prefixed, or a group up to its
    /// end-group tag.
    fn merge_message(
        &self,
        v: &mut Val,
        t: u32,
        f: &Field,
        c: &mut Cursor<'_>,
    ) -> Result<(), JsonError> {
        let depth = c.nested()?;
        if f.delimited {
            let rest = c.d.remaining();
            let used = self.merge_into(v, t, rest, c.at(), depth, Some(f.number))?;
            c.advance(used);
        } else {
            let (payload, start) = c.payload()?;
            self.merge_into(v, t, payload, start, depth, None)?;
        }
        Ok(())
    }

    /// Checks that every required field is set, here and below.
    fn check_required(&self, t: u32, msg: &Msg) -> Result<(), JsonError> {
        let mt = self.message(t);
        for (i, f) in mt.fields.iter().enumerate() {
            if f.shape == Shape::Single(Presence::Required) && msg.get(i).is_none() {
                return Err(JsonError::new(format!(
                    "required field {}.{} is missing",
                    mt.name, f.proto_name
                )));
            }
        }
        for (i, slot) in &msg.slots {
            let Some(f) = mt.fields.get(*i) else {
                continue;
            };
            let Ty::Message(sub) = f.ty else {
                continue;
            };
            let check = |v: &Val| match v {
                Val::Msg(m) => self.check_required(sub, m),
                _ => Ok(()),
            };
            match slot {
                Slot::One(v) => check(v).map_err(f.in_field())?,
                Slot::List(vs) => {
                    for (n, v) in vs.iter().enumerate() {
                        check(v).map_err(|e| e.at_index(n).in_field(f.json_name.clone()))?;
                    }
                }
                Slot::Map(map) => {
                    for (k, v) in map {
                        check(v)
                            .map_err(|e| e.at_key(k.to_string()).in_field(f.json_name.clone()))?;
                    }
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Values -> JSON.

impl DescriptorPool {
    /// Writes `v`, of type `ty`; a message value is `depth` levels down.
    fn write_val(
        &self,
        w: &mut JsonWriter<'_>,
        ty: Ty,
        v: &Val,
        depth: u32,
    ) -> Result<(), JsonError> {
        match v {
            Val::Bool(b) => w.bool(*b),
            Val::I32(n) => w.number(*n),
            Val::U32(n) => w.number(*n),
            Val::I64(n) => w.quoted_number(*n),
            Val::U64(n) => w.quoted_number(*n),
            Val::F32(x) => w.float(*x),
            Val::F64(x) => w.double(*x),
            Val::Str(s) => w.string(s),
            Val::Bytes(b) => w.bytes(b),
            Val::Enum(n) => self.write_enum(w, ty, *n),
            Val::Msg(m) => {
                let mut o = w.object();
                if let Ty::Message(t) = ty {
                    self.write_fields(&mut o, t, m, depth)?;
                }
                o.end();
            }
            Val::Wkt(WktValue::Any(any)) => return self.write_any(w, any, depth),
            Val::Wkt(x) => return x.write_json(w),
        }
        Ok(())
    }

    fn write_enum(&self, w: &mut JsonWriter<'_>, ty: Ty, n: i32) {
        let Ty::Enum(e) = ty else {
            w.number(n);
            return;
        };
        let e = self.enumeration(e);
        // NullValue has one value, and JSON has one way to say it: even a
        // number off the wire that is not 0 is written `null`, as the
        // generated code writes it.
        if e.null_value {
            w.null();
        } else if w.options().enums_as_numbers {
            w.number(n);
        } else {
            match e.by_number.get(&n) {
                Some(name) => w.string(name),
                None => w.number(n),
            }
        }
    }

    /// The members of a message of type `t`, `depth` levels down.
    fn write_fields(
        &self,
        o: &mut ObjectWriter<'_, '_>,
        t: u32,
        msg: &Msg,
        depth: u32,
    ) -> Result<(), JsonError> {
        let mt = self.message(t);
        let emit_defaults = o.options().emit_defaults;
        let proto = o.options().proto_names;
        let inner = depth + 1;
        for item in &mt.writes {
            let i = match *item {
                Item::Field(i) => i,
                Item::Oneof(k) => {
                    for &i in &mt.oneofs[k] {
                        if let Some(Slot::One(v)) = msg.get(i) {
                            let f = &mt.fields[i];
                            self.write_val(o.key(f.key(proto)), f.ty, v, inner)
                                .map_err(f.in_field())?;
                        }
                    }
                    continue;
                }
            };
            let f = &mt.fields[i];
            let slot = msg.get(i);
            let emit = emit_defaults && !f.extension;
            let written = match (f.shape, slot) {
                (Shape::Single(Presence::Implicit), slot) => {
                    let unset;
                    let v = match slot {
                        Some(Slot::One(v)) => v,
                        _ => {
                            unset = self.default_val(f.ty);
                            &unset
                        }
                    };
                    if !emit && self.is_default(f.ty, v) {
                        continue;
                    }
                    self.write_val(o.key(f.key(proto)), f.ty, v, inner)
                }
                (Shape::Single(_), Some(Slot::One(v))) => {
                    self.write_val(o.key(f.key(proto)), f.ty, v, inner)
                }
                (Shape::Single(_), _) => continue,
                (Shape::Repeated { .. }, slot) => {
                    let values = match slot {
                        Some(Slot::List(vs)) => &vs[..],
                        _ => &[],
                    };
                    if values.is_empty() && !emit {
                        continue;
                    }
                    self.write_list(o.key(f.key(proto)), f.ty, values, inner)
                }
                (Shape::Map { .. }, slot) => {
                    let empty = BTreeMap::new();
                    let map = match slot {
                        Some(Slot::Map(map)) => map,
                        _ => &empty,
                    };
                    if map.is_empty() && !emit {
                        continue;
                    }
                    self.write_map(o.key(f.key(proto)), f.ty, map, inner)
                }
            };
            written.map_err(f.in_field())?;
        }
        Ok(())
    }

    fn write_list(
        &self,
        w: &mut JsonWriter<'_>,
        ty: Ty,
        values: &[Val],
        depth: u32,
    ) -> Result<(), JsonError> {
        w.raw("[");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                w.raw(",");
            }
            self.write_val(w, ty, v, depth).map_err(|e| e.at_index(i))?;
        }
        w.raw("]");
        Ok(())
    }

    fn write_map(
        &self,
        w: &mut JsonWriter<'_>,
        ty: Ty,
        map: &BTreeMap<Key, Val>,
        depth: u32,
    ) -> Result<(), JsonError> {
        w.raw("{");
        for (i, (k, v)) in map.iter().enumerate() {
            if i > 0 {
                w.raw(",");
            }
            match k {
                Key::Bool(b) => w.raw(if *b { "\"true\"" } else { "\"false\"" }),
                Key::I64(n) => w.quoted_number(*n),
                Key::U64(n) => w.quoted_number(*n),
                Key::Str(s) => w.string(s),
            }
            w.raw(":");
            self.write_val(w, ty, v, depth)
                .map_err(|e| e.at_key(k.to_string()))?;
        }
        w.raw("}");
        Ok(())
    }

    /// An `Any` (`depth` levels down): `@type` and the packed message's
    /// members, or `value` for a well-known type with a form of its own.
    /// The packed type is looked up in the pool, then among the well-known
    /// types and in the options' registry.
    fn write_any(
        &self,
        w: &mut JsonWriter<'_>,
        any: &wkt::Any,
        depth: u32,
    ) -> Result<(), JsonError> {
        if any.type_url.is_empty() && any.value.is_empty() {
            w.raw("{}");
            return Ok(());
        }
        let name = type_name(&any.type_url);
        let types = w.options().types.clone();
        let mut o = w.object();
        o.key("@type").string(&any.type_url);
        if name == "google.protobuf.Any" {
            let inner = self.unpack_any(&any.value, depth + 1)?;
            self.write_any(o.key("value"), &inner, depth + 1)
                .map_err(|e| e.in_field("value"))?;
        } else if let Some(t) = well_known(name) {
            (t.write)(&any.value, &mut o)?;
        } else if let Some(t) = self.find(name) {
            match self.decode(t, &any.value, depth + 1)? {
                Val::Msg(m) => self.write_fields(&mut o, t, &m, depth + 1)?,
                other => self
                    .write_val(o.key("value"), Ty::Message(t), &other, depth + 1)
                    .map_err(|e| e.in_field("value"))?,
            }
        } else if let Some(t) = types.as_deref().and_then(|types| types.get(name)) {
            (t.write)(&any.value, &mut o)?;
        } else {
            return Err(unknown_any(&any.type_url));
        }
        o.end();
        Ok(())
    }

    fn unpack_any(&self, bytes: &[u8], depth: u32) -> Result<wkt::Any, JsonError> {
        if depth > LIMIT {
            return Err(wire(
                DecodeError::new(DecodeErrorKind::RecursionLimitExceeded, 0),
                0,
            ));
        }
        let mut any = wkt::Any::default();
        merge_fields(&mut any, &mut decoder(bytes, depth), None).map_err(|e| {
            JsonError::new(format!(
                "the Any's google.protobuf.Any does not decode: {e}"
            ))
        })?;
        Ok(any)
    }
}

fn unknown_any(url: &str) -> JsonError {
    JsonError::new(format!(
        "the Any's type {url:?} is neither in the descriptor pool nor in the JSON options' type registry"
    ))
}

// ---------------------------------------------------------------------------
// JSON -> values.

fn one<T: JsonValue + Default>(r: &mut JsonReader<'_>) -> Result<T, JsonError> {
    Ok(T::read_json(r)?.unwrap_or_default())
}

fn read_scalar(r: &mut JsonReader<'_>, s: Scalar) -> Result<Val, JsonError> {
    Ok(match s {
        Scalar::Double => Val::F64(one(r)?),
        Scalar::Float => Val::F32(one(r)?),
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => Val::I64(one(r)?),
        Scalar::Uint64 | Scalar::Fixed64 => Val::U64(one(r)?),
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => Val::I32(one(r)?),
        Scalar::Uint32 | Scalar::Fixed32 => Val::U32(one(r)?),
        Scalar::Bool => Val::Bool(one(r)?),
        Scalar::String => Val::Str(one(r)?),
        Scalar::Bytes => Val::Bytes(one(r)?),
    })
}

fn read_key(s: Scalar, key: &str) -> Result<Key, Cow<'static, str>> {
    Ok(match s {
        Scalar::Bool => Key::Bool(bool::read_key(key)?),
        Scalar::String => Key::Str(key.to_owned()),
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => Key::I64(i32::read_key(key)?.into()),
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => Key::I64(i64::read_key(key)?),
        Scalar::Uint32 | Scalar::Fixed32 => Key::U64(u32::read_key(key)?.into()),
        Scalar::Uint64 | Scalar::Fixed64 => Key::U64(u64::read_key(key)?),
        Scalar::Double | Scalar::Float | Scalar::Bytes => {
            return Err("not a map key type".into());
        }
    })
}

impl DescriptorPool {
    /// One value of type `ty`; `None` for input to ignore (an enum name
    /// the schema does not declare, with `ignore_unknown_fields`). Called
    /// on `null` only for the types that read it as a value.
    fn read_val(&self, r: &mut JsonReader<'_>, ty: Ty) -> Result<Option<Val>, JsonError> {
        match ty {
            Ty::Scalar(s) => read_scalar(r, s).map(Some),
            Ty::Enum(e) => self.read_enum(r, e),
            Ty::Message(t) => self.read_message_value(r, t),
        }
    }

    /// The value of a field: `null` is "not set" (`None`) unless the type
    /// reads it as a value.
    fn read_field_value(&self, r: &mut JsonReader<'_>, ty: Ty) -> Result<Option<Val>, JsonError> {
        if !self.null_is_value(ty) && r.peek_null()? {
            return Ok(None);
        }
        self.read_val(r, ty)
    }

    fn read_enum(&self, r: &mut JsonReader<'_>, e: u32) -> Result<Option<Val>, JsonError> {
        let en = self.enumeration(e);
        if en.null_value && r.peek_null()? {
            return Ok(Some(Val::Enum(0)));
        }
        // NullValue reads as a closed enum, as the generated one does.
        let closed = en.closed || en.null_value;
        let at = r.mark();
        if r.peek_kind()? == JsonKind::String {
            let name = r.string()?;
            return match en.by_name.get(&*name) {
                Some(n) => Ok(Some(Val::Enum(*n))),
                None if r.options().ignore_unknown_fields => Ok(None),
                None => {
                    r.rewind(at);
                    Err(r.error(format!("{name:?} is not a value of the enum")))
                }
            };
        }
        let text = r.number()?;
        let n: i32 = integer(text).map_err(|why| {
            r.rewind(at);
            r.error(format!("{text}: {why} for an enum"))
        })?;
        if !closed || en.by_number.contains_key(&n) {
            Ok(Some(Val::Enum(n)))
        } else if r.options().ignore_unknown_fields {
            Ok(None)
        } else {
            r.rewind(at);
            Err(r.error(format!("{n} is not a value of the (closed) enum")))
        }
    }

    fn read_message_value(&self, r: &mut JsonReader<'_>, t: u32) -> Result<Option<Val>, JsonError> {
        match self.message(t).wkt {
            Some(Wkt::Any) => Ok(Some(Val::Wkt(WktValue::Any(Box::new(self.read_any(r)?))))),
            Some(k) => Ok(k.read_json(r)?.map(Val::Wkt)),
            None => {
                let mut msg = Msg::default();
                r.begin_object()?;
                let mut seen = FieldSet::new();
                let mut first = true;
                while let Some(key) = r.next_key(&mut first)? {
                    if !self.read_member(r, t, &mut msg, &key, &mut seen)? {
                        r.unknown_field(&key)?;
                    }
                }
                Ok(Some(Val::Msg(Box::new(msg))))
            }
        }
    }

    /// Reads member `key` of a message of type `t` into `msg` if it names
    /// one of its fields; `Ok(false)`, reading nothing, if not.
    fn read_member(
        &self,
        r: &mut JsonReader<'_>,
        t: u32,
        msg: &mut Msg,
        key: &str,
        seen: &mut FieldSet,
    ) -> Result<bool, JsonError> {
        let mt = self.message(t);
        let Some(&i) = mt.keys.get(key) else {
            return Ok(false);
        };
        let f = &mt.fields[i];
        let json = &f.json_name;
        let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        let duplicate =
            |r: &JsonReader<'_>| r.key_error(format!("field {json:?} given more than once"));
        match f.shape {
            Shape::Single(_) => {
                if let Some(o) = f.oneof {
                    let key_at = r.key_at();
                    let v = self.read_field_value(r, f.ty).map_err(f.in_field())?;
                    if v.is_some() && !seen.insert(index(mt.fields.len() + o)) {
                        return Err(r.error_at(
                            key_at,
                            format!("field {json:?} is a second member of its oneof"),
                        ));
                    }
                    if let Some(v) = v {
                        msg.set(i, Slot::One(v));
                    }
                } else {
                    if !seen.insert(index(i)) {
                        return Err(duplicate(r));
                    }
                    if let Some(v) = self.read_field_value(r, f.ty).map_err(f.in_field())? {
                        msg.set(i, Slot::One(v));
                    }
                }
            }
            Shape::Repeated { .. } => {
                if !seen.insert(index(i)) {
                    return Err(duplicate(r));
                }
                if r.peek_null()? {
                    return Ok(true);
                }
                let mut items = Vec::new();
                self.read_list(r, f.ty, &mut items).map_err(f.in_field())?;
                msg.set(i, Slot::List(items));
            }
            Shape::Map { key } => {
                if !seen.insert(index(i)) {
                    return Err(duplicate(r));
                }
                if r.peek_null()? {
                    return Ok(true);
                }
                let mut map = BTreeMap::new();
                self.read_map(r, key, f.ty, &mut map)
                    .map_err(f.in_field())?;
                msg.set(i, Slot::Map(map));
            }
        }
        Ok(true)
    }

    fn read_list(
        &self,
        r: &mut JsonReader<'_>,
        ty: Ty,
        items: &mut Vec<Val>,
    ) -> Result<(), JsonError> {
        let null_ok = self.null_is_value(ty);
        r.begin_array()?;
        let mut first = true;
        while r.next_element(&mut first)? {
            let i = items.len();
            if !null_ok && r.at_null() {
                return Err(r.error("null is not a valid list element").at_index(i));
            }
            if let Some(v) = self.read_val(r, ty).map_err(|e| e.at_index(i))? {
                items.push(v);
            }
        }
        Ok(())
    }

    fn read_map(
        &self,
        r: &mut JsonReader<'_>,
        key: Scalar,
        ty: Ty,
        map: &mut BTreeMap<Key, Val>,
    ) -> Result<(), JsonError> {
        let null_ok = self.null_is_value(ty);
        r.begin_object()?;
        let mut first = true;
        while let Some(name) = r.next_key(&mut first)? {
            let k = match read_key(key, &name) {
                Ok(k) => k,
                Err(why) => return Err(r.error(format!("map key {name:?}: {why}"))),
            };
            if !null_ok && r.at_null() {
                return Err(r.error("null is not a valid map value").at_key(&*name));
            }
            match self.read_val(r, ty) {
                Ok(Some(v)) => {
                    map.insert(k, v);
                }
                Ok(None) => {}
                Err(e) => return Err(e.at_key(&*name)),
            }
        }
        Ok(())
    }

    /// An `Any`: `@type` may come anywhere in the object, so it is found
    /// first, then the object read again as the type it names.
    fn read_any(&self, r: &mut JsonReader<'_>) -> Result<wkt::Any, JsonError> {
        let start = r.mark();
        r.begin_object()?;
        let mut first = true;
        let mut url = None;
        while let Some(key) = r.next_key(&mut first)? {
            if key == "@type" {
                let at = r.mark();
                if url.is_some() {
                    return Err(r.error("\"@type\" given more than once"));
                }
                let s = r.string()?;
                if s.is_empty() || !s.contains('/') {
                    r.rewind(at);
                    return Err(r.error(format!("{s:?} is not a type URL")));
                }
                url = Some(s.into_owned());
            } else {
                r.skip_value()?;
            }
        }
        let Some(url) = url else {
            if first {
                return Ok(wkt::Any::default());
            }
            r.rewind(start);
            return Err(r.error("an Any needs \"@type\""));
        };
        r.rewind(start);
        let name = type_name(&url);
        let registered = r.options().types.as_deref().and_then(|t| t.get(name));
        let value = if name == "google.protobuf.Any" {
            let mut inner = None;
            r.begin_object()?;
            let mut first = true;
            while let Some(key) = r.next_key(&mut first)? {
                match &*key {
                    "@type" => r.skip_value()?,
                    "value" if inner.is_none() => {
                        inner = Some(self.read_any(r).map_err(|e| e.in_field("value"))?);
                    }
                    "value" => return Err(r.error("\"value\" given more than once")),
                    _ => r.unknown_field(&key)?,
                }
            }
            match inner {
                Some(any) => any.encode_to_vec(),
                None => {
                    return Err(r.error("an Any holding a google.protobuf.Any needs \"value\""));
                }
            }
        } else if let Some(t) = well_known(name) {
            (t.read)(r)?
        } else if let Some(t) = self.find(name) {
            let mut msg = Msg::default();
            r.begin_object()?;
            let mut seen = FieldSet::new();
            let mut first = true;
            while let Some(key) = r.next_key(&mut first)? {
                if key == "@type" {
                    r.skip_value()?;
                } else if !self.read_member(r, t, &mut msg, &key, &mut seen)? {
                    r.unknown_field(&key)?;
                }
            }
            self.encode(t, &Val::Msg(Box::new(msg)))
        } else if let Some(t) = registered {
            (t.read)(r)?
        } else {
            return Err(r.error(unknown_any(&url).message().to_owned()));
        };
        Ok(wkt::Any {
            type_url: url,
            value,
            ..Default::default()
        })
    }
}

// ---------------------------------------------------------------------------
// Values -> binary.

/// A scalar's encoding.
enum Raw<'v> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(u64),
    Len(&'v [u8]),
}

impl Raw<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Varint(v) => varint_len(*v),
            Self::Fixed32(_) => 4,
            Self::Fixed64(_) => 8,
            Self::Len(b) => delimited_len(b.len()),
        }
    }

    fn wire_type(&self) -> WireType {
        match self {
            Self::Varint(_) => WireType::Varint,
            Self::Fixed32(_) => WireType::Fixed32,
            Self::Fixed64(_) => WireType::Fixed64,
            Self::Len(_) => WireType::LengthDelimited,
        }
    }

    fn put(&self, w: &mut Encoder<'_, Vec<u8>>) {
        match self {
            Self::Varint(v) => w.put_varint(*v),
            Self::Fixed32(v) => w.put_fixed32(*v),
            Self::Fixed64(v) => w.put_fixed64(*v),
            Self::Len(b) => w.put_bytes(b),
        }
    }
}

/// How a scalar or enum value of type `ty` is encoded.
fn raw(ty: Ty, v: &Val) -> Raw<'_> {
    let Ty::Scalar(s) = ty else {
        return match v {
            Val::Enum(n) => Raw::Varint(*n as i64 as u64),
            _ => Raw::Varint(0),
        };
    };
    match (s, v) {
        (Scalar::Double, Val::F64(x)) => Raw::Fixed64(x.to_bits()),
        (Scalar::Float, Val::F32(x)) => Raw::Fixed32(x.to_bits()),
        (Scalar::Int64, Val::I64(n)) => Raw::Varint(*n as u64),
        (Scalar::Sint64, Val::I64(n)) => Raw::Varint(zigzag64(*n)),
        (Scalar::Sfixed64, Val::I64(n)) => Raw::Fixed64(*n as u64),
        (Scalar::Uint64, Val::U64(n)) => Raw::Varint(*n),
        (Scalar::Fixed64, Val::U64(n)) => Raw::Fixed64(*n),
        (Scalar::Int32, Val::I32(n)) => Raw::Varint(*n as i64 as u64),
        (Scalar::Sint32, Val::I32(n)) => Raw::Varint(u64::from(zigzag32(*n))),
        (Scalar::Sfixed32, Val::I32(n)) => Raw::Fixed32(*n as u32),
        (Scalar::Uint32, Val::U32(n)) => Raw::Varint(u64::from(*n)),
        (Scalar::Fixed32, Val::U32(n)) => Raw::Fixed32(*n),
        (Scalar::Bool, Val::Bool(b)) => Raw::Varint(u64::from(*b)),
        (Scalar::String, Val::Str(s)) => Raw::Len(s.as_bytes()),
        (Scalar::Bytes, Val::Bytes(b)) => Raw::Len(b),
        // Values are made for their field's type; nothing else reaches here.
        _ => Raw::Varint(0),
    }
}

fn key_raw(s: Scalar, k: &Key) -> Raw<'_> {
    match (s, k) {
        (Scalar::Bool, Key::Bool(b)) => Raw::Varint(u64::from(*b)),
        (Scalar::String, Key::Str(s)) => Raw::Len(s.as_bytes()),
        (Scalar::Int32 | Scalar::Int64, Key::I64(n)) => Raw::Varint(*n as u64),
        (Scalar::Sint32, Key::I64(n)) => Raw::Varint(u64::from(zigzag32(*n as i32))),
        (Scalar::Sint64, Key::I64(n)) => Raw::Varint(zigzag64(*n)),
        (Scalar::Sfixed32, Key::I64(n)) => Raw::Fixed32(*n as i32 as u32),
        (Scalar::Sfixed64, Key::I64(n)) => Raw::Fixed64(*n as u64),
        (Scalar::Uint32 | Scalar::Uint64, Key::U64(n)) => Raw::Varint(*n),
        (Scalar::Fixed32, Key::U64(n)) => Raw::Fixed32(*n as u32),
        (Scalar::Fixed64, Key::U64(n)) => Raw::Fixed64(*n),
        _ => Raw::Varint(0),
    }
}

fn put_tag(w: &mut Encoder<'_, Vec<u8>>, number: u32, wt: WireType) {
    w.put_varint(u64::from(make_key(number, wt)));
}

impl DescriptorPool {
    /// The binary encoding of `v`, a message of type `t`.
    fn encode(&self, t: u32, v: &Val) -> Vec<u8> {
        let mut sizes = SizeCache::new();
        let len = self.body_size(t, v, &mut sizes);
        let mut out = Vec::with_capacity(len);
        self.write_body(t, v, &mut Encoder::new(&mut out, &sizes));
        out
    }

    fn body_size(&self, t: u32, v: &Val, sizes: &mut SizeCache) -> usize {
        match v {
            Val::Msg(m) => self.message_size(t, m, sizes),
            Val::Wkt(x) => x.compute_size(sizes),
            _ => 0,
        }
    }

    fn write_body(&self, t: u32, v: &Val, w: &mut Encoder<'_, Vec<u8>>) {
        match v {
            Val::Msg(m) => self.write_message(t, m, w),
            Val::Wkt(x) => x.write_to(w),
            _ => {}
        }
    }

    /// A field's tag(s) and value.
    fn field_size(
        &self,
        number: u32,
        ty: Ty,
        delimited: bool,
        v: &Val,
        sizes: &mut SizeCache,
    ) -> usize {
        let tag = key_len(number);
        match ty {
            Ty::Message(t) if delimited => 2 * tag + self.body_size(t, v, sizes),
            Ty::Message(t) => tag + sizes.nested(|s| self.body_size(t, v, s)),
            ty => tag + raw(ty, v).len(),
        }
    }

    fn write_field(
        &self,
        number: u32,
        ty: Ty,
        delimited: bool,
        v: &Val,
        w: &mut Encoder<'_, Vec<u8>>,
    ) {
        match ty {
            Ty::Message(t) if delimited => {
                put_tag(w, number, WireType::StartGroup);
                self.write_body(t, v, w);
                put_tag(w, number, WireType::EndGroup);
            }
            Ty::Message(t) => {
                put_tag(w, number, WireType::LengthDelimited);
                w.put_next_len();
                self.write_body(t, v, w);
            }
            ty => {
                let r = raw(ty, v);
                put_tag(w, number, r.wire_type());
                r.put(w);
            }
        }
    }

    /// Whether a set field is encoded: not a field without presence at its
    /// default.
    fn encodes(&self, f: &Field, v: &Val) -> bool {
        f.shape != Shape::Single(Presence::Implicit) || !self.is_default(f.ty, v)
    }

    fn message_size(&self, t: u32, msg: &Msg, sizes: &mut SizeCache) -> usize {
        let mt = self.message(t);
        let mut len = 0;
        for (i, slot) in &msg.slots {
            let Some(f) = mt.fields.get(*i) else {
                continue;
            };
            match slot {
                Slot::One(v) => {
                    if self.encodes(f, v) {
                        len += self.field_size(f.number, f.ty, f.delimited, v, sizes);
                    }
                }
                Slot::List(vs) if f.shape == (Shape::Repeated { packed: true }) => {
                    if !vs.is_empty() {
                        let run: usize = vs.iter().map(|v| raw(f.ty, v).len()).sum();
                        len += key_len(f.number) + delimited_len(run);
                    }
                }
                Slot::List(vs) => {
                    for v in vs {
                        len += self.field_size(f.number, f.ty, f.delimited, v, sizes);
                    }
                }
                Slot::Map(map) => {
                    let Shape::Map { key } = f.shape else {
                        continue;
                    };
                    for (k, v) in map {
                        len += key_len(f.number)
                            + sizes.nested(|s| {
                                key_len(1)
                                    + key_raw(key, k).len()
                                    + self.field_size(2, f.ty, false, v, s)
                            });
                    }
                }
            }
        }
        len
    }

    fn write_message(&self, t: u32, msg: &Msg, w: &mut Encoder<'_, Vec<u8>>) {
        let mt = self.message(t);
        for (i, slot) in &msg.slots {
            let Some(f) = mt.fields.get(*i) else {
                continue;
            };
            match slot {
                Slot::One(v) => {
                    if self.encodes(f, v) {
                        self.write_field(f.number, f.ty, f.delimited, v, w);
                    }
                }
                Slot::List(vs) if f.shape == (Shape::Repeated { packed: true }) => {
                    if !vs.is_empty() {
                        let run: usize = vs.iter().map(|v| raw(f.ty, v).len()).sum();
                        put_tag(w, f.number, WireType::LengthDelimited);
                        w.put_varint(run as u64);
                        for v in vs {
                            raw(f.ty, v).put(w);
                        }
                    }
                }
                Slot::List(vs) => {
                    for v in vs {
                        self.write_field(f.number, f.ty, f.delimited, v, w);
                    }
                }
                Slot::Map(map) => {
                    let Shape::Map { key } = f.shape else {
                        continue;
                    };
                    for (k, v) in map {
                        put_tag(w, f.number, WireType::LengthDelimited);
                        w.put_next_len();
                        let r = key_raw(key, k);
                        put_tag(w, 1, r.wire_type());
                        r.put(w);
                        self.write_field(2, f.ty, false, v, w);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{TypeRegistry, from_str, from_str_with, to_string_with};
    use crate::wkt::descriptor_proto::ExtensionRange;
    use crate::wkt::field_options::{CType, JsType, OptionTargetType};
    use crate::wkt::file_options::OptimizeMode;
    use crate::wkt::source_code_info::Location;
    use crate::wkt::uninterpreted_option::NamePart;
    use crate::wkt::{
        Edition, EnumValueDescriptorProto, FieldOptions, FileOptions, MessageOptions,
        OneofDescriptorProto, SourceCodeInfo, UninterpretedOption,
    };
    use proptest::prelude::*;
    use std::sync::{Arc, OnceLock};

    fn option_sets() -> Vec<JsonOptions> {
        let base = JsonOptions::default();
        vec![
            base.clone(),
            base.clone().emit_defaults(true),
            base.clone().proto_names(true),
            base.clone().enums_as_numbers(true),
            base.emit_defaults(true)
                .proto_names(true)
                .enums_as_numbers(true),
        ]
    }

    /// The runtime's own `google/protobuf/` files.
    fn runtime_pool() -> &'static DescriptorPool {
        static POOL: OnceLock<DescriptorPool> = OnceLock::new();
        POOL.get_or_init(|| {
            let files = wkt::FILE_DESCRIPTORS
                .iter()
                .map(|f| f.decode().unwrap())
                .collect::<Vec<_>>();
            DescriptorPool::new(files).unwrap()
        })
    }

    /// Dynamic and generated JSON agree exactly (messages without maps
    /// write the same members in the same order), and JSON read both ways
    /// gives the same bytes.
    fn agrees<M: Message + JsonValue>(pool: &DescriptorPool, m: &M) {
        let bytes = m.encode_to_vec();
        for options in option_sets() {
            let typed = to_string_with(m, &options).unwrap();
            let dynamic = pool.to_json(M::NAME, &bytes, &options).unwrap();
            assert_eq!(dynamic, typed, "{} with {options:?}", M::NAME);
            let back = pool.from_json(M::NAME, &typed, &options).unwrap();
            let expected: M = from_str_with(&typed, &options).unwrap();
            assert_eq!(
                back,
                expected.encode_to_vec(),
                "{} with {options:?}",
                M::NAME
            );
        }
    }

    fn field(name: &str, number: i32, ty: Type, label: Label) -> FieldDescriptorProto {
        FieldDescriptorProto {
            name: Some(name.into()),
            number: Some(number),
            r#type: Some(ty),
            label: Some(label),
            json_name: Some(lower_camel(name)),
            ..Default::default()
        }
    }

    fn typed(
        name: &str,
        number: i32,
        ty: Type,
        label: Label,
        type_name: &str,
    ) -> FieldDescriptorProto {
        FieldDescriptorProto {
            type_name: Some(type_name.into()),
            ..field(name, number, ty, label)
        }
    }

    fn message(name: &str, fields: Vec<FieldDescriptorProto>) -> DescriptorProto {
        DescriptorProto {
            name: Some(name.into()),
            field: fields,
            ..Default::default()
        }
    }

    /// A proto3 file written by hand:
    ///
    /// ```proto
    /// syntax = "proto3";
    /// package t;
    /// import "google/protobuf/timestamp.proto";
    /// enum Kind { KIND_UNSPECIFIED = 0; KIND_ONE = 1; }
    /// message Item {
    ///   string name = 1; int32 n = 2; Kind kind = 3; repeated Item items = 4;
    ///   map<string, int64> counts = 5;
    ///   oneof pick { string a = 6; int32 b = 7; }
    ///   google.protobuf.Timestamp at = 8; Item child = 9;
    ///   repeated sint32 zigs = 10; optional bool maybe = 11;
    /// }
    /// ```
    fn item_file() -> FileDescriptorProto {
        use Label::{Optional, Repeated};
        let mut item = message(
            "Item",
            vec![
                field("name", 1, Type::String, Optional),
                field("n", 2, Type::Int32, Optional),
                typed("kind", 3, Type::Enum, Optional, ".t.Kind"),
                typed("items", 4, Type::Message, Repeated, ".t.Item"),
                typed("counts", 5, Type::Message, Repeated, ".t.Item.CountsEntry"),
                FieldDescriptorProto {
                    oneof_index: Some(0),
                    ..field("a", 6, Type::String, Optional)
                },
                FieldDescriptorProto {
                    oneof_index: Some(0),
                    ..field("b", 7, Type::Int32, Optional)
                },
                typed(
                    "at",
                    8,
                    Type::Message,
                    Optional,
                    ".google.protobuf.Timestamp",
                ),
                typed("child", 9, Type::Message, Optional, ".t.Item"),
                field("zigs", 10, Type::Sint32, Repeated),
                FieldDescriptorProto {
                    oneof_index: Some(1),
                    proto3_optional: Some(true),
                    ..field("maybe", 11, Type::Bool, Optional)
                },
            ],
        );
        item.oneof_decl = vec![
            OneofDescriptorProto {
                name: Some("pick".into()),
                ..Default::default()
            },
            OneofDescriptorProto {
                name: Some("_maybe".into()),
                ..Default::default()
            },
        ];
        item.nested_type = vec![DescriptorProto {
            options: Some(MessageOptions {
                map_entry: Some(true),
                ..Default::default()
            }),
            ..message(
                "CountsEntry",
                vec![
                    field("key", 1, Type::String, Optional),
                    field("value", 2, Type::Int64, Optional),
                ],
            )
        }];
        FileDescriptorProto {
            name: Some("t.proto".into()),
            package: Some("t".into()),
            dependency: vec![
                "google/protobuf/any.proto".into(),
                "google/protobuf/struct.proto".into(),
                "google/protobuf/timestamp.proto".into(),
            ],
            syntax: Some("proto3".into()),
            message_type: vec![item],
            enum_type: vec![EnumDescriptorProto {
                name: Some("Kind".into()),
                value: ["KIND_UNSPECIFIED", "KIND_ONE"]
                    .iter()
                    .zip(0..)
                    .map(|(n, i)| EnumValueDescriptorProto {
                        name: Some((*n).into()),
                        number: Some(i),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn item_pool() -> &'static DescriptorPool {
        static POOL: OnceLock<DescriptorPool> = OnceLock::new();
        POOL.get_or_init(|| DescriptorPool::new([item_file()]).unwrap())
    }

    fn json(pool: &DescriptorPool, name: &str, bytes: &[u8]) -> String {
        pool.to_json(name, bytes, &JsonOptions::default()).unwrap()
    }

    fn bytes(pool: &DescriptorPool, name: &str, text: &str) -> Vec<u8> {
        pool.from_json(name, text, &JsonOptions::default()).unwrap()
    }

    fn error(pool: &DescriptorPool, name: &str, text: &str) -> JsonError {
        pool.from_json(name, text, &JsonOptions::default())
            .expect_err(text)
    }

    #[test]
    fn the_runtime_descriptors_write_as_generated_code_writes_them() {
        let pool = runtime_pool();
        for fd in wkt::FILE_DESCRIPTORS {
            agrees(pool, &fd.decode().unwrap());
        }
        agrees(
            pool,
            &wkt::compiler::DESCRIPTOR_GOOGLE_PROTOBUF_COMPILER_PLUGIN
                .decode()
                .unwrap(),
        );
    }

    #[test]
    fn every_kind_of_descriptor_field_writes_as_generated_code_writes_it() {
        let pool = runtime_pool();
        let uninterpreted = UninterpretedOption {
            name: vec![NamePart {
                name_part: Some("x".into()),
                is_extension: Some(false),
                ..Default::default()
            }],
            identifier_value: Some(String::new()),
            positive_int_value: Some(u64::MAX),
            negative_int_value: Some(i64::MIN),
            double_value: Some(f64::NAN),
            string_value: Some(vec![0, 0xff, b'"']),
            aggregate_value: Some("é\"\\\n\u{1}".into()),
            ..Default::default()
        };
        let file = FileDescriptorProto {
            name: Some(String::new()),
            package: Some("p".into()),
            dependency: vec!["a".into(), String::new()],
            public_dependency: vec![0, -1, i32::MAX],
            weak_dependency: vec![i32::MIN],
            message_type: vec![DescriptorProto {
                name: Some("M".into()),
                field: vec![FieldDescriptorProto {
                    // Explicit presence: written at zero.
                    number: Some(0),
                    label: Some(Label::Repeated),
                    r#type: Some(Type::Sint64),
                    json_name: Some(String::new()),
                    oneof_index: Some(0),
                    proto3_optional: Some(false),
                    options: Some(FieldOptions {
                        ctype: Some(CType::Cord),
                        packed: Some(false),
                        jstype: Some(JsType::JsNumber),
                        targets: vec![
                            OptionTargetType::TargetTypeFile,
                            OptionTargetType::TargetTypeField,
                        ],
                        features: Some(FeatureSet {
                            field_presence: Some(FieldPresence::Implicit),
                            enum_type: Some(EnumFeature::Closed),
                            message_encoding: Some(MessageEncoding::Delimited),
                            ..Default::default()
                        }),
                        uninterpreted_option: vec![uninterpreted.clone()],
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                extension_range: vec![ExtensionRange {
                    start: Some(1),
                    end: Some(0),
                    ..Default::default()
                }],
                reserved_name: vec!["r".into()],
                ..Default::default()
            }],
            options: Some(FileOptions {
                java_multiple_files: Some(false),
                optimize_for: Some(OptimizeMode::LiteRuntime),
                cc_enable_arenas: Some(true),
                uninterpreted_option: vec![uninterpreted, UninterpretedOption::default()],
                ..Default::default()
            }),
            source_code_info: Some(SourceCodeInfo {
                location: vec![
                    Location {
                        path: vec![4, 0, 2, -1],
                        span: vec![1, 2, 3],
                        leading_comments: Some(" hi\n".into()),
                        leading_detached_comments: vec!["a".into(), "b".into()],
                        ..Default::default()
                    },
                    Location::default(),
                ],
                ..Default::default()
            }),
            syntax: Some("editions".into()),
            edition: Some(Edition::Edition2024),
            ..Default::default()
        };
        agrees(pool, &file);
        agrees(pool, &FileDescriptorProto::default());
        agrees(pool, &Location::default());
        // Packed on the wire (Location.path is packed): read either way.
        let expanded = [0x08, 0x04, 0x08, 0x7f, 0x10, 0x01];
        assert_eq!(
            json(pool, "google.protobuf.SourceCodeInfo.Location", &expanded),
            r#"{"path":[4,127],"span":[1]}"#
        );
    }

    #[test]
    fn unknown_fields_are_left_out_and_closed_enum_numbers_too() {
        let pool = runtime_pool();
        // FieldDescriptorProto: number 3 = 5, label (closed enum) = 9
        // (unknown), then an unknown varint field 99 and a group 98.
        let bytes = [
            0x18, 0x05, 0x20, 0x09, 0x98, 0x06, 0x01, 0x93, 0x06, 0x08, 0x01, 0x94, 0x06,
        ];
        let typed = FieldDescriptorProto::decode_slice(&bytes).unwrap();
        assert_eq!(
            json(pool, "google.protobuf.FieldDescriptorProto", &bytes),
            to_string_with(&typed, &JsonOptions::default()).unwrap()
        );
        assert_eq!(
            json(pool, "google.protobuf.FieldDescriptorProto", &bytes),
            r#"{"number":5}"#
        );
        // A field of the wrong wire type is an unknown field as well.
        assert_eq!(
            json(
                pool,
                "google.protobuf.FieldDescriptorProto",
                &[0x1d, 1, 2, 3, 4]
            ),
            "{}"
        );
    }

    #[test]
    fn required_fields_are_checked_when_decoding() {
        let pool = runtime_pool();
        let part = NamePart {
            name_part: Some("x".into()),
            ..Default::default()
        };
        let encoded = part.encode_to_vec();
        assert!(NamePart::decode_slice(&encoded).is_err());
        let e = pool
            .to_json(
                "google.protobuf.UninterpretedOption.NamePart",
                &encoded,
                &JsonOptions::default(),
            )
            .unwrap_err();
        assert!(e.message().contains("is_extension"), "{e}");
        let option = UninterpretedOption {
            name: vec![NamePart::default(), part],
            ..Default::default()
        };
        let e = pool
            .to_json(
                "google.protobuf.UninterpretedOption",
                &option.encode_to_vec(),
                &JsonOptions::default(),
            )
            .unwrap_err();
        assert_eq!(e.path(), "name[0]");
        // JSON -> binary does not check them, as generated code does not.
        let written = bytes(pool, "google.protobuf.UninterpretedOption.NamePart", "{}");
        assert!(written.is_empty());
    }

    #[test]
    fn a_hand_written_proto3_file_reads_and_writes() {
        let pool = item_pool();
        assert!(pool.contains("t.Item"));
        assert!(pool.contains(".t.Item.CountsEntry"));
        assert!(!pool.contains("t.Kind"));
        // The timestamp file came from the runtime.
        assert!(pool.contains("google.protobuf.Timestamp"));
        let text = r#"{
            "name": "x", "n": 0, "kind": "KIND_ONE", "items": [{"n": 1}, {}],
            "counts": {"b": "2", "a": -1}, "b": 0,
            "at": "1970-01-01T00:00:01.5Z", "zigs": [-1, 1], "maybe": false
        }"#;
        let b = bytes(pool, "t.Item", text);
        assert_eq!(
            json(pool, "t.Item", &b),
            r#"{"name":"x","kind":"KIND_ONE","items":[{"n":1},{}],"counts":{"a":"-1","b":"2"},"b":0,"at":"1970-01-01T00:00:01.500Z","zigs":[-1,1],"maybe":false}"#
        );
        // Canonical bytes: number order, `n: 0` left out, zigs packed,
        // the proto3 optional and the oneof member written at zero.
        assert_eq!(
            b,
            [
                &[0x0a, 1, b'x', 0x18, 1, 0x22, 2, 0x10, 1, 0x22, 0][..],
                &[0x2a, 14, 0x0a, 1, b'a', 0x10],
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                &[0x2a, 5, 0x0a, 1, b'b', 0x10, 2],
                &[
                    0x38, 0, 0x42, 8, 0x08, 1, 0x10, 0x80, 0xca, 0xb5, 0xee, 0x01
                ],
                &[0x52, 2, 1, 2, 0x58, 0],
            ]
            .concat()
        );
        let options = JsonOptions::default().emit_defaults(true).proto_names(true);
        assert_eq!(
            pool.to_json("t.Item", &[], &options).unwrap(),
            r#"{"name":"","n":0,"kind":"KIND_UNSPECIFIED","items":[],"counts":{},"zigs":[]}"#
        );
        // Two members of the oneof on the wire: the last one wins.
        assert_eq!(
            json(pool, "t.Item", &[0x32, 1, b'a', 0x38, 5]),
            r#"{"b":5}"#
        );
        assert_eq!(
            json(pool, "t.Item", &[0x38, 5, 0x32, 1, b'a']),
            r#"{"a":"a"}"#
        );
        // A message given twice merges.
        assert_eq!(
            json(pool, "t.Item", &[0x4a, 2, 0x10, 1, 0x4a, 3, 0x0a, 1, b'c']),
            r#"{"child":{"name":"c","n":1}}"#
        );
        // A map key given twice keeps the last value; entries without a key
        // or value get the default.
        assert_eq!(
            json(
                pool,
                "t.Item",
                &[0x2a, 2, 0x10, 1, 0x2a, 2, 0x10, 2, 0x2a, 0]
            ),
            r#"{"counts":{"":"0"}}"#
        );
        // Unknown open-enum numbers are written as numbers.
        assert_eq!(json(pool, "t.Item", &[0x18, 7]), r#"{"kind":7}"#);
        assert_eq!(bytes(pool, "t.Item", r#"{"kind": 7}"#), [0x18, 7]);
    }

    #[test]
    fn null_means_not_set_as_generated_code_reads_it() {
        let pool = item_pool();
        let text = r#"{"name":null,"kind":null,"items":null,"counts":null,"a":null,"b":2,"at":null,"child":null}"#;
        assert_eq!(bytes(pool, "t.Item", text), [0x38, 2]);
        let e = error(pool, "t.Item", r#"{"items":[{}, null]}"#);
        assert_eq!(
            (e.path().as_str(), e.message()),
            ("items[1]", "null is not a valid list element")
        );
        let e = error(pool, "t.Item", r#"{"counts":{"k":null}}"#);
        assert_eq!(e.path(), r#"counts["k"]"#);
        assert!(
            error(pool, "t.Item", "null")
                .message()
                .contains("null is not a message")
        );
    }

    #[test]
    fn errors_say_where() {
        let pool = item_pool();
        let e = pool
            .to_json("t.Nope", &[], &JsonOptions::default())
            .unwrap_err();
        assert!(
            e.message().contains("no message type named \"t.Nope\""),
            "{e}"
        );
        assert!(
            pool.from_json("t.Kind", "{}", &JsonOptions::default())
                .is_err()
        );

        let e = error(pool, "t.Item", r#"{"items":[{},{},{},{"nope":1}]}"#);
        assert_eq!(
            (e.path().as_str(), e.message()),
            ("items[3]", "no field named \"nope\"")
        );
        let lenient = JsonOptions::default().ignore_unknown_fields(true);
        assert_eq!(
            pool.from_json(
                "t.Item",
                r#"{"nope":{"x":[1]},"kind":"KIND_TWO","n":1}"#,
                &lenient
            )
            .unwrap(),
            [0x10, 1]
        );

        let e = error(
            pool,
            "t.Item",
            r#"{"items":[{},{},{},{"kind":"KIND_TWO"}]}"#,
        );
        assert_eq!(e.path(), "items[3].kind");
        assert!(e.message().contains("is not a value of the enum"), "{e}");
        assert_eq!(e.position(), Some((1, 28)));

        let e = error(pool, "t.Item", r#"{"items":[{},{},{},{"name":5}]}"#);
        assert_eq!(
            e.to_string(),
            "items[3].name (line 1, column 28): expected a string, found '5'"
        );
        let e = error(pool, "t.Item", r#"{"n":"x"}"#);
        assert_eq!(e.path(), "n");
        let e = error(pool, "t.Item", r#"{"n":2147483648}"#);
        assert!(e.message().contains("out of range"), "{e}");
        let e = error(pool, "t.Item", r#"{"counts":{"a":"1.5"}}"#);
        assert_eq!(e.path(), r#"counts["a"]"#);
        let e = error(pool, "t.Item", r#"{"at":"yesterday"}"#);
        assert_eq!(e.path(), "at");

        let e = error(pool, "t.Item", r#"{"n":1,"n":2}"#);
        assert_eq!(e.message(), "field \"n\" given more than once");
        let e = error(pool, "t.Item", r#"{"a":"x","b":1}"#);
        assert_eq!(e.message(), "field \"b\" is a second member of its oneof");
        assert_eq!(bytes(pool, "t.Item", r#"{"a":null,"b":1}"#), [0x38, 1]);
        assert!(
            pool.from_json("t.Item", "{} x", &JsonOptions::default())
                .is_err()
        );

        // Binary errors name the field and the byte.
        let bad_utf8 = [0x22, 0, 0x22, 0, 0x22, 0, 0x22, 3, 0x0a, 1, 0xff];
        let e = pool
            .to_json("t.Item", &bad_utf8, &JsonOptions::default())
            .unwrap_err();
        assert_eq!(e.path(), "items[3].name");
        assert!(e.message().contains("UTF-8 at byte 9"), "{e}");
        let truncated = [0x22, 0, 0x22, 0, 0x22, 0, 0x22, 3, 0x0a, 5, b'h'];
        let e = pool
            .to_json("t.Item", &truncated, &JsonOptions::default())
            .unwrap_err();
        assert_eq!(e.path(), "items[3].name");
        let e = pool
            .to_json("t.Item", &[0x0a, 5, b'h'], &JsonOptions::default())
            .unwrap_err();
        assert_eq!(e.path(), "name");
        assert!(
            pool.to_json("t.Item", &[0x0b], &JsonOptions::default())
                .is_err()
        );
        assert!(
            pool.to_json("t.Item", &[0x0c], &JsonOptions::default())
                .is_err()
        );
        assert!(
            pool.to_json("t.Item", &[0x52, 1, 0x80], &JsonOptions::default())
                .is_err()
        );
    }

    fn nested(levels: usize) -> Vec<u8> {
        let mut b = Vec::new();
        for _ in 0..levels {
            let mut outer = vec![0x4a];
            let mut len = [0; 10];
            let n = crate::encoding::write_varint(b.len() as u64, &mut len);
            outer.extend_from_slice(&len[..n]);
            outer.extend_from_slice(&b);
            b = outer;
        }
        b
    }

    #[test]
    fn nesting_is_bounded_both_ways() {
        let pool = item_pool();
        let options = JsonOptions::default();
        // Binary: 100 levels below the top, as the binary decoder allows.
        let text = pool.to_json("t.Item", &nested(100), &options).unwrap();
        assert!(pool.to_json("t.Item", &nested(101), &options).is_err());
        // JSON: what the binary decoder takes reads back, one level more
        // does not.
        assert_eq!(
            pool.from_json("t.Item", &text, &options).unwrap(),
            nested(100)
        );
        let deep = "{\"child\":".repeat(101) + "{}" + &"}".repeat(101);
        let e = pool.from_json("t.Item", &deep, &options).unwrap_err();
        assert!(e.message().contains("nested too deeply"), "{e}");
        // Through Any too: an Any of an Any of ... is bounded.
        let mut any = wkt::Any::default();
        for _ in 0..200 {
            any = wkt::Any {
                type_url: "type.googleapis.com/google.protobuf.Any".into(),
                value: any.encode_to_vec(),
                ..Default::default()
            };
        }
        let e = runtime_pool()
            .to_json("google.protobuf.Any", &any.encode_to_vec(), &options)
            .unwrap_err();
        assert!(e.to_string().contains("recursion limit"), "{e}");
    }

    #[test]
    fn any_packs_pool_types_well_known_types_and_registered_ones() {
        let pool = item_pool();
        let runtime = runtime_pool();
        let options = JsonOptions::default();
        let item = bytes(
            pool,
            "t.Item",
            r#"{"name":"x","at":"1970-01-01T00:00:00Z"}"#,
        );
        let any = wkt::Any {
            type_url: "type.googleapis.com/t.Item".into(),
            value: item,
            ..Default::default()
        };
        // Well-known types inside need no registry; pool types neither.
        let text = json(pool, "google.protobuf.Any", &any.encode_to_vec());
        assert_eq!(
            text,
            r#"{"@type":"type.googleapis.com/t.Item","name":"x","at":"1970-01-01T00:00:00Z"}"#
        );
        assert_eq!(
            bytes(pool, "google.protobuf.Any", &text),
            any.encode_to_vec()
        );
        let reordered =
            r#"{"name":"x","at":"1970-01-01T00:00:00Z","@type":"type.googleapis.com/t.Item"}"#;
        assert_eq!(
            bytes(pool, "google.protobuf.Any", reordered),
            any.encode_to_vec()
        );
        let e = runtime
            .to_json("google.protobuf.Any", &any.encode_to_vec(), &options)
            .unwrap_err();
        assert!(
            e.message().contains("neither in the descriptor pool"),
            "{e}"
        );

        // An Any of an Any of a Duration.
        let inner = wkt::Any::pack(&wkt::Duration {
            seconds: 3,
            ..Default::default()
        });
        let outer = wkt::Any::pack(&inner);
        let text = json(runtime, "google.protobuf.Any", &outer.encode_to_vec());
        assert_eq!(text, to_string_with(&outer, &options).unwrap());
        assert_eq!(
            bytes(runtime, "google.protobuf.Any", &text),
            outer.encode_to_vec()
        );

        // A registered type not in the pool.
        let mut types = TypeRegistry::new();
        types.add::<wkt::SourceContext>();
        let registered = JsonOptions::default().types(Arc::new(types));
        let sc = wkt::Any::pack(&wkt::SourceContext {
            file_name: "f".into(),
            ..Default::default()
        });
        let text = pool
            .to_json("google.protobuf.Any", &sc.encode_to_vec(), &registered)
            .unwrap();
        assert_eq!(text, to_string_with(&sc, &registered).unwrap());
        assert_eq!(
            pool.from_json("google.protobuf.Any", &text, &registered)
                .unwrap(),
            sc.encode_to_vec()
        );
        assert!(
            pool.from_json("google.protobuf.Any", &text, &options)
                .is_err()
        );
        // `{}` is the empty Any.
        assert_eq!(json(pool, "google.protobuf.Any", &[]), "{}");
        assert!(bytes(pool, "google.protobuf.Any", "{}").is_empty());
        assert!(
            error(pool, "google.protobuf.Any", r#"{"name":"x"}"#)
                .message()
                .contains("@type")
        );
    }

    #[test]
    fn bad_descriptors_are_errors() {
        let mut f = item_file();
        f.message_type[0].field[2].type_name = Some(".t.Missing".into());
        let e = DescriptorPool::new([f]).unwrap_err();
        assert!(e.message().contains("unknown type .t.Missing"), "{e}");

        let mut f = item_file();
        f.message_type[0].field[1].number = Some(1);
        assert!(
            DescriptorPool::new([f])
                .unwrap_err()
                .message()
                .contains("used twice")
        );

        let mut f = item_file();
        f.message_type[0].field[1].number = Some(0);
        assert!(DescriptorPool::new([f]).is_err());

        let mut f = item_file();
        f.message_type[0].nested_type[0].field.pop();
        assert!(
            DescriptorPool::new([f])
                .unwrap_err()
                .message()
                .contains("map entry")
        );

        let mut f = item_file();
        f.message_type[0].field[2].r#type = Some(Type::Message);
        assert!(DescriptorPool::new([f]).is_err());

        let mut f = item_file();
        f.message_type.push(message("Item", vec![]));
        assert!(
            DescriptorPool::new([f])
                .unwrap_err()
                .message()
                .contains("defined twice")
        );

        let mut f = item_file();
        f.message_type[0].field[5].oneof_index = Some(7);
        assert!(DescriptorPool::new([f]).is_err());

        // The same file twice is fine; two different ones of one name not.
        assert!(DescriptorPool::new([item_file(), item_file()]).is_ok());
        let mut other = item_file();
        other.package = Some("u".into());
        assert!(DescriptorPool::new([item_file(), other]).is_err());

        // Relative type names resolve from the message outwards; a missing
        // `type` is inferred from what the name is.
        let mut f = item_file();
        f.message_type[0].field[2].type_name = Some("Kind".into());
        f.message_type[0].field[2].r#type = None;
        f.message_type[0].field[8].type_name = Some("Item".into());
        assert!(DescriptorPool::new([f]).is_ok());
    }

    #[test]
    fn extensions_in_the_pool_are_bracketed_members() {
        // extend google.protobuf.FieldOptions { optional int32 weight = 5000; repeated string tags = 5001; }
        let file = FileDescriptorProto {
            name: Some("x.proto".into()),
            package: Some("x".into()),
            dependency: vec!["google/protobuf/descriptor.proto".into()],
            extension: vec![
                FieldDescriptorProto {
                    extendee: Some(".google.protobuf.FieldOptions".into()),
                    ..field("weight", 5000, Type::Int32, Label::Optional)
                },
                FieldDescriptorProto {
                    extendee: Some("google.protobuf.FieldOptions".into()),
                    ..field("tags", 5001, Type::String, Label::Repeated)
                },
            ],
            ..Default::default()
        };
        let pool = DescriptorPool::new([file]).unwrap();
        let text = r#"{"packed":true,"[x.weight]":0,"[x.tags]":["a"]}"#;
        let b = bytes(&pool, "google.protobuf.FieldOptions", text);
        assert_eq!(b, [0x10, 1, 0xc0, 0xb8, 0x02, 0, 0xca, 0xb8, 0x02, 1, b'a']);
        assert_eq!(json(&pool, "google.protobuf.FieldOptions", &b), text);
        let typed = FieldOptions::decode_slice(&b).unwrap();
        assert_eq!(typed.packed, Some(true));
    }

    #[test]
    fn json_names_come_from_the_descriptor_or_protoc_rule() {
        assert_eq!(lower_camel("foo_bar_baz"), "fooBarBaz");
        assert_eq!(lower_camel("_a__b_"), "AB");
        assert_eq!(lower_camel("x9_y"), "x9Y");
        let mut f = item_file();
        f.message_type[0].field[0].json_name = Some("na\"me".into());
        f.message_type[0].field[1].json_name = None;
        let pool = DescriptorPool::new([f]).unwrap();
        let b = bytes(&pool, "t.Item", r#"{"na\"me":"x","n":1}"#);
        assert_eq!(json(&pool, "t.Item", &b), r#"{"na\"me":"x","n":1}"#);
        assert_eq!(bytes(&pool, "t.Item", r#"{"name":"x","n":1}"#), b);
        let value: wkt::Value = from_str(&json(&pool, "t.Item", &b)).unwrap();
        assert!(matches!(value.kind, Some(wkt::value::Kind::StructValue(_))));
    }

    /// JSON made of pieces that reach the readers' deeper paths.
    fn jsonish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(",".to_owned()),
            Just(":".to_owned()),
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("1e400".to_owned()),
            Just("-0".to_owned()),
            Just("\"NaN\"".to_owned()),
            Just("\"@type\"".to_owned()),
            Just("\"type.googleapis.com/t.Item\"".to_owned()),
            Just("\"type.googleapis.com/google.protobuf.Any\"".to_owned()),
            Just("\"value\"".to_owned()),
            prop::sample::select(vec![
                "name",
                "n",
                "kind",
                "items",
                "counts",
                "a",
                "b",
                "at",
                "child",
                "zigs",
                "maybe",
                "KIND_ONE",
                "1970-01-01T00:00:00Z",
                "dGVzdA==",
                "k",
            ])
            .prop_map(|s| format!("\"{s}\"")),
            any::<i64>().prop_map(|n| n.to_string()),
            "\\PC{0,4}".prop_map(|s| format!("{s:?}")),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    /// Bytes made of valid-looking tags and values for `t.Item`.
    fn wireish() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            (1u8..16, 0u8..6).prop_map(|(f, w)| vec![(f << 3) | w]),
            prop::collection::vec(any::<u8>(), 0..4),
            (
                prop::sample::select(vec![0x0au8, 0x22, 0x2a, 0x42, 0x4a, 0x52]),
                0u8..12
            )
                .prop_map(|(t, n)| vec![t, n]),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let options = JsonOptions::default().emit_defaults(true);
            for name in ["t.Item", "google.protobuf.Any", "google.protobuf.Struct"] {
                let _ = item_pool().to_json(name, &bytes, &options);
            }
            let _ = runtime_pool().to_json("google.protobuf.FileDescriptorProto", &bytes, &options);
        }

        #[test]
        fn wire_like_bytes_never_panic(bytes in wireish()) {
            let options = JsonOptions::default();
            if let Ok(text) = item_pool().to_json("t.Item", &bytes, &options) {
                // What was written reads back to the same JSON.
                let again = item_pool().from_json("t.Item", &text, &options).unwrap();
                prop_assert_eq!(item_pool().to_json("t.Item", &again, &options).unwrap(), text);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
            let options = JsonOptions::default();
            let _ = item_pool().from_json("t.Item", &text, &options);
            let _ = item_pool().from_json("google.protobuf.Any", &text, &options);
        }

        #[test]
        fn json_like_text_never_panics(text in jsonish()) {
            for options in option_sets() {
                let options = options.ignore_unknown_fields(true);
                for name in ["t.Item", "google.protobuf.Any", "google.protobuf.Value"] {
                    if let Ok(b) = item_pool().from_json(name, &text, &options) {
                        // What was read writes out and reads back the same.
                        let written = item_pool().to_json(name, &b, &options).unwrap();
                        prop_assert_eq!(item_pool().from_json(name, &written, &options).unwrap(), b);
                    }
                }
                let wrapped = format!("{{\"items\":[{text}]}}");
                let _ = item_pool().from_json("t.Item", &wrapped, &options);
            }
        }
    }
}
