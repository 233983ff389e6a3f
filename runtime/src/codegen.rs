//! The one surface generated code uses. Not for hand-written code: its
//! contents follow the generator, not semver.

pub use crate::descriptor::FileDescriptor;
pub use crate::encoding::{
    Decoder, Encoder, SizeCache, delimited_len, int32_len, push_unknown_varint, unzigzag32,
    unzigzag64, varint_len, zigzag32, zigzag64,
};
pub use crate::enumeration::{Enumeration, OpenEnum};
pub use crate::error::DecodeError;
pub use crate::extension::{self, Extendable, Extension};
pub use crate::json::{
    FieldSet, JsonError, JsonMessage, JsonReader, JsonValue, JsonWriter, ObjectWriter, read_enum,
    read_extension, read_text_extension, write_enum, write_extensions, write_text_extensions,
};
pub use crate::message::Message;
pub use crate::text::{
    TextMessage, TextReader, TextValue, TextWriter, read_enum as read_text_enum,
    write_enum as write_text_enum,
};
pub use crate::unknown::UnknownFields;
pub use bytes::{BufMut, Bytes};

/// Generated code names this constant, so that code generated for another
/// runtime version fails to compile with a message that points here.
pub const RUNTIME_VERSION_1: () = ();

#[cfg(feature = "transport")]
pub use crate::transport::{
    Call, Channel, Client, CompressionEncoding, Endpoint, Interceptor, IntoRequest,
    IntoStreamingRequest, Request, Response, Service, Status, Stream, Streaming,
};
