//! Per-value encode, size and decode snippets. Every field kind is built from
//! these, so the wire rules for a type live in exactly one place.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::model::{Config, Scalar, ValueType};
use crate::util::{key_bytes, path, relative_path, u32_lit};

/// Wire type numbers, as in the spec.
pub const VARINT: u32 = 0;
/// 64-bit fixed.
pub const FIXED64: u32 = 1;
/// Length-delimited.
pub const LEN: u32 = 2;
/// Start group.
pub const SGROUP: u32 = 3;
/// End group.
pub const EGROUP: u32 = 4;
/// 32-bit fixed.
pub const FIXED32: u32 = 5;

/// What an emitter needs besides the model: options and where the code goes.
pub struct Cx<'a> {
    /// Generation options.
    pub config: &'a Config,
    /// Absolute module path of the code being emitted.
    pub module: Vec<String>,
}

impl Cx<'_> {
    /// `<runtime>::codegen`.
    pub fn rt(&self) -> TokenStream {
        let runtime = path(&self.config.runtime);
        quote!(#runtime::codegen)
    }

    /// The Rust type of one value (no `Option`, no `Box`).
    pub fn value_type(&self, ty: &ValueType) -> TokenStream {
        match ty {
            ValueType::Scalar(s) => scalar_type(*s),
            ValueType::String { .. } => quote!(::std::string::String),
            ValueType::Bytes => self.bytes_type(),
            ValueType::Enum { path, closed } => {
                let p = relative_path(&self.module, path);
                if *closed {
                    p
                } else {
                    let rt = self.rt();
                    quote!(#rt::OpenEnum<#p>)
                }
            }
            ValueType::Message { path, .. } => relative_path(&self.module, path),
        }
    }

    /// The type of a singular value as stored (boxed on recursion cycles).
    pub fn stored_type(&self, ty: &ValueType) -> TokenStream {
        let t = self.value_type(ty);
        match ty {
            ValueType::Message { boxed: true, .. } => quote!(::std::boxed::Box<#t>),
            _ => t,
        }
    }

    /// The Rust type of `bytes` values.
    pub fn bytes_type(&self) -> TokenStream {
        if self.config.bytes_as_bytes {
            let rt = self.rt();
            quote!(#rt::Bytes)
        } else {
            quote!(::std::vec::Vec<u8>)
        }
    }
}

/// The Rust type of a scalar.
pub fn scalar_type(s: Scalar) -> TokenStream {
    match s {
        Scalar::Double => quote!(f64),
        Scalar::Float => quote!(f32),
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => quote!(i32),
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => quote!(i64),
        Scalar::Uint32 | Scalar::Fixed32 => quote!(u32),
        Scalar::Uint64 | Scalar::Fixed64 => quote!(u64),
        Scalar::Bool => quote!(bool),
    }
}

/// The wire type values of `ty` use when not packed.
pub fn wire_type(ty: &ValueType) -> u32 {
    match ty {
        ValueType::Scalar(Scalar::Double | Scalar::Fixed64 | Scalar::Sfixed64) => FIXED64,
        ValueType::Scalar(Scalar::Float | Scalar::Fixed32 | Scalar::Sfixed32) => FIXED32,
        ValueType::Scalar(_) | ValueType::Enum { .. } => VARINT,
        ValueType::Message {
            delimited: true, ..
        } => SGROUP,
        ValueType::String { .. } | ValueType::Bytes | ValueType::Message { .. } => LEN,
    }
}

/// True for types that can be packed (numbers, bools, enums).
pub fn is_packable(ty: &ValueType) -> bool {
    matches!(ty, ValueType::Scalar(_) | ValueType::Enum { .. })
}

/// The tag of `number` for `ty`, as the `u32` the decoder matches on.
pub fn key(number: u32, wire_type: u32) -> TokenStream {
    let k = u32_lit((number << 3) | wire_type);
    quote!(#k)
}

/// Statement writing the precomputed tag of `number` / `wire_type`.
pub fn put_key(number: u32, wire_type: u32) -> TokenStream {
    let bytes: Vec<_> = key_bytes(number, wire_type)
        .into_iter()
        .map(Literal::u8_unsuffixed)
        .collect();
    if let [b] = &bytes[..] {
        quote!(w.put_u8(#b);)
    } else {
        quote!(w.put_raw(&[#(#bytes),*]);)
    }
}

/// Length in bytes of the tag of `number`.
pub fn key_size(number: u32) -> usize {
    key_bytes(number, 0).len()
}

/// Length of the tag of `number`, as an unsuffixed literal.
pub fn key_len(number: u32) -> Literal {
    Literal::usize_unsuffixed(key_size(number))
}

/// Statement writing a varint-encoded enum number; `v` is a `&E` (closed) or
/// `&OpenEnum<E>` (open).
fn enum_number(cx: &Cx<'_>, v: &TokenStream, closed: bool) -> TokenStream {
    let rt = cx.rt();
    if closed {
        quote!(#rt::Enumeration::to_i32(*#v))
    } else {
        quote!(#v.to_i32())
    }
}

/// Statement writing one value (no tag). `v` is a reference expression.
pub fn write_value(cx: &Cx<'_>, ty: &ValueType, number: u32, v: &TokenStream) -> TokenStream {
    let rt = cx.rt();
    match ty {
        ValueType::Scalar(s) => match s {
            Scalar::Double => quote!(w.put_fixed64(#v.to_bits());),
            Scalar::Float => quote!(w.put_fixed32(#v.to_bits());),
            Scalar::Int32 => quote!(w.put_varint(*#v as i64 as u64);),
            Scalar::Int64 => quote!(w.put_varint(*#v as u64);),
            Scalar::Uint32 => quote!(w.put_varint(u64::from(*#v));),
            Scalar::Uint64 => quote!(w.put_varint(*#v);),
            Scalar::Sint32 => quote!(w.put_varint(u64::from(#rt::zigzag32(*#v)));),
            Scalar::Sint64 => quote!(w.put_varint(#rt::zigzag64(*#v));),
            Scalar::Fixed32 => quote!(w.put_fixed32(*#v);),
            Scalar::Fixed64 => quote!(w.put_fixed64(*#v);),
            Scalar::Sfixed32 => quote!(w.put_fixed32(*#v as u32);),
            Scalar::Sfixed64 => quote!(w.put_fixed64(*#v as u64);),
            Scalar::Bool => quote!(w.put_u8(u8::from(*#v));),
        },
        ValueType::String { .. } => quote!(w.put_bytes(#v.as_bytes());),
        ValueType::Bytes => quote!(w.put_bytes(#v);),
        ValueType::Enum { closed, .. } => {
            let n = enum_number(cx, v, *closed);
            quote!(w.put_varint(#n as i64 as u64);)
        }
        ValueType::Message {
            delimited: false, ..
        } => quote!(w.put_message(#v);),
        ValueType::Message {
            delimited: true, ..
        } => {
            let end = put_key(number, EGROUP);
            quote!(#rt::Message::write_to(#v, w); #end)
        }
    }
}

/// Expression: encoded size of one value without its tag. `v` is a
/// reference expression; `sizes` is the `SizeCache` in scope.
pub fn value_len(cx: &Cx<'_>, ty: &ValueType, number: u32, v: &TokenStream) -> TokenStream {
    let rt = cx.rt();
    match ty {
        ValueType::Scalar(s) => match s {
            Scalar::Double | Scalar::Fixed64 | Scalar::Sfixed64 => quote!(8),
            Scalar::Float | Scalar::Fixed32 | Scalar::Sfixed32 => quote!(4),
            Scalar::Bool => quote!(1),
            Scalar::Int32 => quote!(#rt::int32_len(*#v)),
            Scalar::Int64 => quote!(#rt::varint_len(*#v as u64)),
            Scalar::Uint32 => quote!(#rt::varint_len(u64::from(*#v))),
            Scalar::Uint64 => quote!(#rt::varint_len(*#v)),
            Scalar::Sint32 => quote!(#rt::varint_len(u64::from(#rt::zigzag32(*#v)))),
            Scalar::Sint64 => quote!(#rt::varint_len(#rt::zigzag64(*#v))),
        },
        ValueType::String { .. } | ValueType::Bytes => quote!(#rt::delimited_len(#v.len())),
        ValueType::Enum { closed, .. } => {
            let n = enum_number(cx, v, *closed);
            quote!(#rt::int32_len(#n))
        }
        ValueType::Message {
            delimited: false, ..
        } => {
            quote!(sizes.nested(|sizes| #rt::Message::compute_size(#v, sizes)))
        }
        ValueType::Message {
            delimited: true, ..
        } => {
            let end = key_len(number);
            quote!(#rt::Message::compute_size(#v, sizes) + #end)
        }
    }
}

/// Expression: `true` when an implicit-presence value differs from its default.
pub fn is_set(ty: &ValueType, v: &TokenStream) -> TokenStream {
    match ty {
        ValueType::Scalar(Scalar::Double | Scalar::Float) => quote!(#v.to_bits() != 0),
        ValueType::Scalar(Scalar::Bool) => quote!(*#v),
        ValueType::Scalar(_) => quote!(*#v != 0),
        ValueType::String { .. } | ValueType::Bytes => quote!(!#v.is_empty()),
        ValueType::Enum { closed: false, .. } => quote!(!#v.is_default()),
        ValueType::Enum { closed: true, .. } => quote!(true),
        ValueType::Message { .. } => quote!(true),
    }
}

/// Expression reading one scalar value of `s` from `d`.
pub fn read_scalar(cx: &Cx<'_>, s: Scalar) -> TokenStream {
    let rt = cx.rt();
    match s {
        Scalar::Double => quote!(d.read_f64()?),
        Scalar::Float => quote!(d.read_f32()?),
        Scalar::Int32 => quote!(d.read_varint()? as i32),
        Scalar::Int64 => quote!(d.read_varint()? as i64),
        Scalar::Uint32 => quote!(d.read_varint32()?),
        Scalar::Uint64 => quote!(d.read_varint()?),
        Scalar::Sint32 => quote!(#rt::unzigzag32(d.read_varint32()?)),
        Scalar::Sint64 => quote!(#rt::unzigzag64(d.read_varint()?)),
        Scalar::Fixed32 => quote!(d.read_fixed32()?),
        Scalar::Fixed64 => quote!(d.read_fixed64()?),
        Scalar::Sfixed32 => quote!(d.read_fixed32()? as i32),
        Scalar::Sfixed64 => quote!(d.read_fixed64()? as i64),
        Scalar::Bool => quote!(d.read_bool()?),
    }
}

/// For a packed run: the decoder method and the conversion of its raw `u64`
/// / `u32` item (named `raw`) into the element type.
pub fn packed_reader(cx: &Cx<'_>, s: Scalar) -> (TokenStream, TokenStream) {
    let rt = cx.rt();
    match s {
        Scalar::Double => (quote!(read_packed_fixed64), quote!(f64::from_bits(raw))),
        Scalar::Fixed64 => (quote!(read_packed_fixed64), quote!(raw)),
        Scalar::Sfixed64 => (quote!(read_packed_fixed64), quote!(raw as i64)),
        Scalar::Float => (quote!(read_packed_fixed32), quote!(f32::from_bits(raw))),
        Scalar::Fixed32 => (quote!(read_packed_fixed32), quote!(raw)),
        Scalar::Sfixed32 => (quote!(read_packed_fixed32), quote!(raw as i32)),
        Scalar::Int32 => (quote!(read_packed_varints), quote!(raw as i32)),
        Scalar::Int64 => (quote!(read_packed_varints), quote!(raw as i64)),
        Scalar::Uint32 => (quote!(read_packed_varints), quote!(raw as u32)),
        Scalar::Uint64 => (quote!(read_packed_varints), quote!(raw)),
        Scalar::Sint32 => (
            quote!(read_packed_varints),
            quote!(#rt::unzigzag32(raw as u32)),
        ),
        Scalar::Sint64 => (quote!(read_packed_varints), quote!(#rt::unzigzag64(raw))),
        Scalar::Bool => (quote!(read_packed_varints), quote!(raw != 0)),
    }
}

/// Encoded width of every value of a scalar, or `None` when it varies
/// (bools are always the one-byte varint 0 or 1).
pub fn fixed_width(ty: &ValueType) -> Option<usize> {
    match ty {
        ValueType::Scalar(Scalar::Bool) => Some(1),
        ValueType::Scalar(Scalar::Double | Scalar::Fixed64 | Scalar::Sfixed64) => Some(8),
        ValueType::Scalar(Scalar::Float | Scalar::Fixed32 | Scalar::Sfixed32) => Some(4),
        _ => None,
    }
}

/// Expression reading a whole `string` / `bytes` value as a new owned value.
pub fn read_owned(cx: &Cx<'_>, ty: &ValueType) -> TokenStream {
    match ty {
        ValueType::String { .. } => quote!(d.read_string()?),
        ValueType::Bytes if cx.config.bytes_as_bytes => quote!(d.read_bytes()?),
        ValueType::Bytes => quote!(d.read_vec()?),
        _ => TokenStream::new(),
    }
}

/// Statement merging a message value into `target` (a `&mut M` expression).
pub fn merge_message(ty: &ValueType, number: u32, target: &TokenStream) -> TokenStream {
    match ty {
        ValueType::Message {
            delimited: true, ..
        } => {
            let n = u32_lit(number);
            quote!(d.merge_group(#n, #target)?;)
        }
        _ => quote!(d.merge_message(#target)?;),
    }
}

/// True when [`value_len`] reads the value (false for fixed-size values).
pub fn len_reads_value(ty: &ValueType) -> bool {
    !matches!(
        ty,
        ValueType::Scalar(
            Scalar::Double
                | Scalar::Float
                | Scalar::Fixed32
                | Scalar::Fixed64
                | Scalar::Sfixed32
                | Scalar::Sfixed64
                | Scalar::Bool
        )
    )
}

/// The binding pattern `name`, or `_` when the value is not read.
pub fn binding(reads: bool, name: &str) -> TokenStream {
    if reads {
        let id = crate::util::ident(name);
        quote!(#id)
    } else {
        quote!(_)
    }
}
