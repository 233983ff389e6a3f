//! Protobuf's canonical JSON mapping (the "ProtoJSON" format), for every
//! generated message.
//!
//! Generated code implements [`JsonMessage`] (a message's fields as a JSON
//! object) and [`JsonValue`] (the message, or an enum, as one JSON value);
//! the well-known types have their special forms here (`Timestamp` and
//! `Duration` as strings, wrappers as their bare value, `Struct`/`Value` as
//! any JSON, `Any` with `@type`, `FieldMask` as one string). No reflection
//! on the way: encoding and decoding are generated field by field.
//!
//! ```
//! use rust_rpc::json::{self, JsonOptions};
//! use rust_rpc::wkt::{Duration, Timestamp};
//!
//! let t = Timestamp { seconds: 1, nanos: 500_000_000, ..Default::default() };
//! assert_eq!(json::to_string(&t).unwrap(), r#""1970-01-01T00:00:01.500Z""#);
//! let d: Duration = json::from_str(r#""-1.5s""#).unwrap();
//! assert_eq!((d.seconds, d.nanos), (-1, -500_000_000));
//!
//! let lenient = JsonOptions::default().ignore_unknown_fields(true);
//! let e: rust_rpc::wkt::Empty = json::from_str_with(r#"{"extra": [1, 2]}"#, &lenient).unwrap();
//! assert_eq!(e, Default::default());
//! ```
//!
//! What the mapping says, in short: fields by their lowerCamelCase JSON
//! name (the `.proto` name is accepted too, and written with
//! [`JsonOptions::proto_names`]); 64-bit integers as strings (numbers
//! accepted); enums by name (numbers accepted); bytes as base64 (both
//! alphabets accepted); `NaN` and `Infinity` as strings; fields at their
//! default left out unless [`JsonOptions::emit_defaults`]; `null` means
//! "not set". Unknown fields are an error unless
//! [`JsonOptions::ignore_unknown_fields`]. An `Any` names its type with
//! `@type`; the types it can hold beyond the well-known ones are those in
//! the options' [`TypeRegistry`].
//!
//! For message types known only at run time (from server reflection, from
//! `.proto` files), a [`DescriptorPool`] does the same from descriptors.

mod base64;
mod dynamic;
mod error;
mod extension;
mod field_mask;
mod read;
pub(crate) mod registry;
mod scan;
mod time;
mod value;
mod wkt;
mod write;

use std::sync::Arc;

pub use dynamic::{DescriptorError, DescriptorPool};
pub use error::JsonError;
pub use extension::{
    ExtensionFormats, read_extension, read_text_extension, write_extensions, write_text_extensions,
};
pub use read::{FieldSet, JsonReader};
pub use registry::TypeRegistry;
pub use value::{JsonMapKey, JsonValue, MapField, read_enum, write_enum};
pub use write::{JsonWriter, ObjectWriter};

/// A message whose fields are written and read as the members of a JSON
/// object. Implemented by generated code for every message without a
/// special JSON form (the well-known types implement [`JsonValue`] only).
pub trait JsonMessage: Sized {
    /// Writes the fields that are set (and, with
    /// [`JsonOptions::emit_defaults`], those without presence at their
    /// default) as object members.
    fn write_json_fields(&self, o: &mut ObjectWriter<'_, '_>) -> Result<(), JsonError>;

    /// Reads the value of member `key`, if it names one of the message's
    /// fields (by JSON name or `.proto` name); returns `Ok(false)`, reading
    /// nothing, if it does not. `seen` records the fields read so far, so
    /// that a field given twice is an error.
    fn merge_json_field(
        &mut self,
        key: &str,
        r: &mut JsonReader<'_>,
        seen: &mut FieldSet,
    ) -> Result<bool, JsonError>;
}

/// How JSON is written and read.
#[derive(Clone, Debug, Default)]
pub struct JsonOptions {
    pub(crate) emit_defaults: bool,
    pub(crate) proto_names: bool,
    pub(crate) enums_as_numbers: bool,
    pub(crate) ignore_unknown_fields: bool,
    pub(crate) types: Option<Arc<TypeRegistry>>,
}

impl JsonOptions {
    /// Writes fields without presence (proto3 scalars, repeated fields and
    /// maps) even at their default value. Off by default.
    pub fn emit_defaults(mut self, on: bool) -> Self {
        self.emit_defaults = on;
        self
    }

    /// Writes fields by their `.proto` names instead of their JSON names.
    pub fn proto_names(mut self, on: bool) -> Self {
        self.proto_names = on;
        self
    }

    /// Writes enum values as numbers instead of names.
    pub fn enums_as_numbers(mut self, on: bool) -> Self {
        self.enums_as_numbers = on;
        self
    }

    /// On input, skips members that name no field (and enum names the
    /// schema does not declare) instead of failing.
    pub fn ignore_unknown_fields(mut self, on: bool) -> Self {
        self.ignore_unknown_fields = on;
        self
    }

    /// The message types an `Any` may hold, beyond the well-known types.
    pub fn types(mut self, types: Arc<TypeRegistry>) -> Self {
        self.types = Some(types);
        self
    }
}

/// Writes `value` as JSON with the default options.
pub fn to_string<T: JsonValue>(value: &T) -> Result<String, JsonError> {
    to_string_with(value, &JsonOptions::default())
}

/// Writes `value` as JSON.
pub fn to_string_with<T: JsonValue>(value: &T, options: &JsonOptions) -> Result<String, JsonError> {
    let mut out = String::new();
    write_to(&mut out, value, options)?;
    Ok(out)
}

/// Appends `value` as JSON to `out`; on an error `out` may hold part of it.
pub fn write_to<T: JsonValue>(
    out: &mut String,
    value: &T,
    options: &JsonOptions,
) -> Result<(), JsonError> {
    value.write_json(&mut JsonWriter::new(out, options))
}

/// Reads a `T` from JSON text with the default options.
pub fn from_str<T: JsonValue + Default>(input: &str) -> Result<T, JsonError> {
    from_str_with(input, &JsonOptions::default())
}

/// Reads a `T` from JSON text. The whole input must be one JSON value
/// (whitespace around it is fine); a top-level `null` is an error.
pub fn from_str_with<T: JsonValue + Default>(
    input: &str,
    options: &JsonOptions,
) -> Result<T, JsonError> {
    let mut r = JsonReader::new(input, options);
    if r.peek_null()? {
        return Err(r.error("null is not a message"));
    }
    let value = T::read_json(&mut r)?.unwrap_or_default();
    r.finish()?;
    Ok(value)
}
