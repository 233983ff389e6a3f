//! The resolved model the emitters read. The generator (in `src/`) builds it
//! from descriptors; every name here is final and every type reference is
//! already resolved to a Rust path.

/// Options that change what generated code looks like.
#[derive(Clone, Debug)]
pub struct Config {
    /// Path of the runtime crate in generated code, e.g. `::rust_rpc` (or `crate`
    /// for code generated into the runtime itself).
    pub runtime: String,
    /// `bytes` fields as `bytes::Bytes` instead of `Vec<u8>`.
    pub bytes_as_bytes: bool,
    /// Map fields as `BTreeMap` instead of `HashMap`.
    pub btree_map: bool,
    /// Emit service clients.
    pub client: bool,
    /// Emit service server traits.
    pub server: bool,
    /// Emit message and enum types.
    pub messages: bool,
    /// Emit the JSON mapping and text format (`JsonMessage`/`JsonValue`,
    /// `TextMessage`/`TextValue`) for messages and enums.
    pub text_formats: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            runtime: "::rust_rpc".to_owned(),
            bytes_as_bytes: false,
            btree_map: false,
            client: true,
            server: true,
            messages: true,
            text_formats: true,
        }
    }
}

/// One output file: everything in one proto package.
#[derive(Clone, Debug, Default)]
pub struct Package {
    /// The proto package, e.g. `google.protobuf` (empty for none).
    pub name: String,
    /// Module path of the package from the root of the generated tree.
    pub module_path: Vec<String>,
    /// The `.proto` files that contributed to this package, in order.
    pub source_files: Vec<String>,
    /// Top-level messages.
    pub messages: Vec<Message>,
    /// Top-level enums.
    pub enums: Vec<Enum>,
    /// Services.
    pub services: Vec<Service>,
    /// Extensions declared at file level (outside any message).
    pub extensions: Vec<Extension>,
    /// The package's files, embedded as descriptors (empty when off).
    pub descriptors: Vec<FileDescriptor>,
    /// Name of the constant listing them.
    pub descriptors_name: String,
}

/// One `.proto` file embedded as its descriptor: a static
/// `rust_rpc::codegen::FileDescriptor`.
#[derive(Clone, Debug)]
pub struct FileDescriptor {
    /// The file's name (`greeter/v1/greeter.proto`).
    pub proto_name: String,
    /// The static's name.
    pub rust_name: String,
    /// The proto package.
    pub package: String,
    /// The encoded `FileDescriptorProto`.
    pub encoded: Vec<u8>,
    /// The statics of the files it imports, in import order.
    pub dependencies: Vec<TypePath>,
}

/// A Rust path to a generated type, absolute from the root of the generated
/// tree (or from an external crate when `external` is set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypePath {
    /// Modules from the generated root (package modules, then message modules).
    pub modules: Vec<String>,
    /// The type's Rust identifier.
    pub name: String,
    /// When set, a path outside the generated tree (e.g. `::rust_rpc::wkt`)
    /// that replaces the package part of `modules`.
    pub external: Option<String>,
}

/// A message: a struct, plus a module for its nested types and oneofs.
#[derive(Clone, Debug)]
pub struct Message {
    /// Full proto name without the leading dot, e.g. `pkg.Outer.Inner`.
    pub proto_name: String,
    /// Rust struct name.
    pub rust_name: String,
    /// Name of the module holding nested types and oneof enums.
    pub module_name: String,
    /// Documentation lines from the .proto.
    pub docs: Vec<String>,
    /// `deprecated = true` in the .proto.
    pub deprecated: bool,
    /// Fields outside oneofs, in declaration order.
    pub fields: Vec<Field>,
    /// Real (non-synthetic) oneofs.
    pub oneofs: Vec<Oneof>,
    /// Nested messages (map entries excluded).
    pub messages: Vec<Message>,
    /// Nested enums.
    pub enums: Vec<Enum>,
    /// Name of the struct field that holds unknown fields.
    pub unknown_fields_name: String,
    /// True if this message or any message reachable from it has a required field.
    pub needs_init_check: bool,
    /// How the message takes extensions, if it declares extension ranges.
    pub extendable: Option<Extendable>,
    /// Extensions declared inside this message (of any message): constants
    /// in the message's module.
    pub extensions: Vec<Extension>,
    /// Extra attributes for the struct, as Rust source text.
    pub attributes: Vec<String>,
}

/// How a message with extension ranges keeps its extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extendable {
    /// As fields, like any other.
    Fields,
    /// As MessageSet items (`option message_set_wire_format = true`).
    MessageSet,
}

/// An extension: a field that a file adds to a message declared anywhere
/// (`extend pkg.Msg { ... }`), emitted as a typed constant.
#[derive(Clone, Debug)]
pub struct Extension {
    /// Full proto name without the leading dot (`pkg.name`, or
    /// `pkg.Msg.name` when declared inside `Msg`).
    pub proto_name: String,
    /// Rust constant name (SHOUTY_SNAKE_CASE).
    pub rust_name: String,
    /// Field number.
    pub number: u32,
    /// The message it extends.
    pub extendee: TypePath,
    /// Its full proto name, without the leading dot.
    pub extendee_proto_name: String,
    /// What the extension holds.
    pub cardinality: ExtensionCardinality,
    /// The type of one value.
    pub ty: ValueType,
    /// Documentation lines.
    pub docs: Vec<String>,
    /// `deprecated = true`.
    pub deprecated: bool,
}

/// Whether an extension holds one value or many.
#[derive(Clone, Debug, PartialEq)]
pub enum ExtensionCardinality {
    /// One value, unset by default.
    Optional,
    /// One value with a declared `[default = ...]`.
    Defaulted(DefaultValue),
    /// Repeated, written packed when `packed`.
    Repeated {
        /// Encode as one packed run.
        packed: bool,
    },
}

/// A field outside any oneof.
#[derive(Clone, Debug)]
pub struct Field {
    /// Name in the .proto.
    pub proto_name: String,
    /// Name in JSON (`json_name`, lowerCamelCase unless the .proto sets it).
    pub json_name: String,
    /// Name in the text format: the .proto name, or for a group (a
    /// delimited field named as its type, lowercased, declared beside it)
    /// the type's name.
    pub text_name: String,
    /// Rust field name (escaped when it is a keyword).
    pub rust_name: String,
    /// Field number.
    pub number: u32,
    /// Documentation lines.
    pub docs: Vec<String>,
    /// `deprecated = true`.
    pub deprecated: bool,
    /// What the field holds and how.
    pub shape: FieldShape,
    /// Extra attributes for the field, as Rust source text.
    pub attributes: Vec<String>,
}

/// Whether a singular field tracks presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// proto3 scalars: no presence; the default value is not encoded.
    Implicit,
    /// proto2 `optional`, proto3 `optional`, messages, editions EXPLICIT: `Option<T>`.
    Explicit,
    /// proto2 `required` / editions LEGACY_REQUIRED: `Option<T>` checked after decoding.
    Required,
}

/// The shape of a field.
#[derive(Clone, Debug)]
pub enum FieldShape {
    /// One value.
    Singular {
        /// The value's type.
        ty: ValueType,
        /// Presence tracking.
        presence: Presence,
        /// The proto2 `[default = ...]`, if given.
        default: Option<DefaultValue>,
    },
    /// `repeated`.
    Repeated {
        /// The element type.
        ty: ValueType,
        /// Encode as one packed run (numeric and enum elements only).
        packed: bool,
    },
    /// `map<K, V>`.
    Map {
        /// Key type (integral, bool or string).
        key: ValueType,
        /// Value type.
        value: ValueType,
    },
}

/// A scalar kind with its own wire encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
}

/// The type of one value of a field.
#[derive(Clone, Debug)]
pub enum ValueType {
    /// A number or bool.
    Scalar(Scalar),
    /// `string`; `verify_utf8` is always true in Rust (a `String` cannot hold
    /// anything else) but records what the schema asked for.
    String {
        /// The schema requires UTF-8 validation.
        verify_utf8: bool,
    },
    /// `bytes`.
    Bytes,
    /// An enum.
    Enum {
        /// The Rust enum.
        path: TypePath,
        /// Closed enums (proto2, editions CLOSED) store the plain enum and put
        /// unknown values in unknown fields; open ones store `OpenEnum<E>`.
        closed: bool,
    },
    /// A message.
    Message {
        /// The Rust struct.
        path: TypePath,
        /// `Box` it (the field is on a recursion cycle).
        boxed: bool,
        /// Group / DELIMITED encoding instead of length-prefixed.
        delimited: bool,
        /// True when the message (or one it contains) has required fields.
        needs_init_check: bool,
    },
}

/// A proto2 default value, already parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum DefaultValue {
    /// Signed integers.
    Int(i64),
    /// Unsigned integers.
    Uint(u64),
    /// `float` / `double`, including nan and infinities.
    Float(f64),
    /// `bool`.
    Bool(bool),
    /// `string`.
    String(String),
    /// `bytes`, unescaped.
    Bytes(Vec<u8>),
    /// An enum value: the Rust variant name.
    Enum(String),
}

/// A oneof: an `Option<Enum>` field on the struct and the enum in the message's module.
#[derive(Clone, Debug)]
pub struct Oneof {
    /// Name in the .proto.
    pub proto_name: String,
    /// Rust field name on the struct.
    pub rust_name: String,
    /// Rust enum name (in the message's module).
    pub enum_name: String,
    /// Documentation lines.
    pub docs: Vec<String>,
    /// The members.
    pub variants: Vec<OneofVariant>,
}

/// One member of a oneof.
#[derive(Clone, Debug)]
pub struct OneofVariant {
    /// Field name in the .proto.
    pub proto_name: String,
    /// Name in JSON.
    pub json_name: String,
    /// Name in the text format (see [`Field::text_name`]).
    pub text_name: String,
    /// Rust variant name.
    pub rust_name: String,
    /// Field number.
    pub number: u32,
    /// Documentation lines.
    pub docs: Vec<String>,
    /// `deprecated = true`.
    pub deprecated: bool,
    /// The member's type.
    pub ty: ValueType,
}

/// An enum.
#[derive(Clone, Debug)]
pub struct Enum {
    /// Full proto name.
    pub proto_name: String,
    /// Rust enum name.
    pub rust_name: String,
    /// Documentation lines.
    pub docs: Vec<String>,
    /// `deprecated = true`.
    pub deprecated: bool,
    /// Values with distinct numbers, in declaration order: the variants.
    /// The first is the default.
    pub values: Vec<EnumValue>,
    /// Values that reuse an earlier number (`allow_alias`): associated constants.
    pub aliases: Vec<EnumAlias>,
    /// Extra attributes, as Rust source text.
    pub attributes: Vec<String>,
}

/// An enum value that becomes a variant.
#[derive(Clone, Debug)]
pub struct EnumValue {
    /// Name in the .proto.
    pub proto_name: String,
    /// Rust variant name.
    pub rust_name: String,
    /// Number.
    pub number: i32,
    /// Documentation lines.
    pub docs: Vec<String>,
    /// `deprecated = true`.
    pub deprecated: bool,
}

/// An alias: a second name for an earlier value's number.
#[derive(Clone, Debug)]
pub struct EnumAlias {
    /// Name in the .proto.
    pub proto_name: String,
    /// Rust constant name.
    pub rust_name: String,
    /// The variant it aliases.
    pub target: String,
    /// Documentation lines.
    pub docs: Vec<String>,
}

/// What a method streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodKind {
    /// One request, one response.
    Unary,
    /// One request, a stream of responses.
    ServerStreaming,
    /// A stream of requests, one response.
    ClientStreaming,
    /// Streams both ways.
    BidiStreaming,
}

/// A service: a client struct, a server trait and its server wrapper.
#[derive(Clone, Debug)]
pub struct Service {
    /// Full proto name, e.g. `helloworld.Greeter`.
    pub proto_name: String,
    /// Name of the server trait, e.g. `Greeter`.
    pub trait_name: String,
    /// Name of the client struct, e.g. `GreeterClient`.
    pub client_name: String,
    /// Name of the server wrapper struct, e.g. `GreeterServer`.
    pub server_name: String,
    /// Documentation lines.
    pub docs: Vec<String>,
    /// `deprecated = true`.
    pub deprecated: bool,
    /// The methods, in declaration order.
    pub methods: Vec<Method>,
    /// The static of the file that declares it, when descriptors are embedded.
    pub descriptor: Option<String>,
}

/// One RPC.
#[derive(Clone, Debug)]
pub struct Method {
    /// Name in the .proto, e.g. `SayHello` (the last segment of the path).
    pub proto_name: String,
    /// Rust method name on the client and the server trait.
    pub rust_name: String,
    /// For streaming responses: the server trait's associated stream type.
    pub stream_type_name: String,
    /// The HTTP/2 path, `/package.Service/Method`.
    pub path: String,
    /// Streaming shape.
    pub kind: MethodKind,
    /// Request message.
    pub input: TypePath,
    /// Response message.
    pub output: TypePath,
    /// Documentation lines.
    pub docs: Vec<String>,
    /// `deprecated = true`.
    pub deprecated: bool,
}
