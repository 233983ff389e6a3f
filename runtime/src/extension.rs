//! Extensions: fields that one `.proto` file adds to a message declared in
//! another, as typed values that code can name.
//!
//! For every `extend` block the generator emits one constant per field:
//!
//! ```text
//! extend google.protobuf.FieldOptions { optional FieldRules rules = 1071; }
//! // becomes
//! pub const RULES: Extension<FieldOptions, Optional<Message<FieldRules>>> =
//!     Extension::new(1071, "validate.rules", ());
//! ```
//!
//! and makes every message that declares extension ranges [`Extendable`],
//! so that the value reads back typed:
//!
//! ```
//! use rust_rpc::extension::{Extendable, Extension, Int32, Optional, Repeated, Sint64};
//! use rust_rpc::wkt::FieldOptions;
//!
//! const MAX_LEN: Extension<FieldOptions, Optional<Int32>> = Extension::new(50001, "my.max_len", ());
//! const TAGS: Extension<FieldOptions, Repeated<Sint64>> = Extension::new(50002, "my.tags", ());
//!
//! let mut options = FieldOptions::default();
//! assert_eq!(options.extension(&MAX_LEN), None);
//! options.set_extension(&MAX_LEN, 64);
//! options.set_extension(&TAGS, vec![-1, 7]);
//! assert_eq!(options.extension(&MAX_LEN), Some(64));
//! assert_eq!(MAX_LEN.get(&options), Some(64)); // the same, without the trait in scope
//! assert_eq!(options.extension(&TAGS), [-1, 7]);
//! options.clear_extension(&MAX_LEN);
//! assert!(!options.has_extension(&MAX_LEN));
//! ```
//!
//! A message keeps its extensions in its unknown fields, byte for byte as
//! they were read, whether or not the reader knows them: a message passes
//! through a process unchanged, and the codec's hot path carries no
//! extension registry. Reading an extension decodes it from those bytes
//! (every occurrence merged, as protobuf merges a repeated field number);
//! setting one replaces its records there. Messages declared with
//! `option message_set_wire_format = true` keep them in MessageSet items
//! (group 1 with `type_id` and `message`), as protobuf defines.

use core::fmt;
use core::marker::PhantomData;

use crate::encoding::{
    Decoder, MAX_VARINT_LEN, WireType, make_key, unzigzag32, unzigzag64, write_varint, zigzag32,
    zigzag64,
};
use crate::enumeration::{Enumeration, OpenEnum};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::message::Message as ProtoMessage;
use crate::unknown::next_field;

/// An extension field of messages of type `M`, with its number, full name,
/// and what it holds (`T`: [`Optional`], [`Defaulted`], [`Repeated`] or
/// [`Packed`] of a value kind such as [`Int32`], [`String`] or
/// [`Message`]).
pub struct Extension<M, T: ExtensionType> {
    number: u32,
    full_name: &'static str,
    default: T::Default,
    extendee: PhantomData<fn() -> M>,
}

impl<M, T: ExtensionType> Extension<M, T> {
    /// The extension numbered `number`, named `full_name` (`pkg.name`, or
    /// `pkg.Message.name` when declared inside a message), with `default`
    /// (`()` unless `T` is [`Defaulted`]).
    pub const fn new(number: u32, full_name: &'static str, default: T::Default) -> Self {
        Self {
            number,
            full_name,
            default,
            extendee: PhantomData,
        }
    }

    /// The field number.
    pub const fn number(&self) -> u32 {
        self.number
    }

    /// The full protobuf name, without a leading dot.
    pub const fn full_name(&self) -> &'static str {
        self.full_name
    }

    /// The declared default (`()` when there is none).
    pub fn default_value(&self) -> T::Default {
        self.default
    }
}

impl<M: Extendable, T: ExtensionType> Extension<M, T> {
    /// This extension's value in `message`: [`Extendable::extension`].
    pub fn get(&self, message: &M) -> T::Get {
        message.extension(self)
    }
}

impl<M, T: ExtensionType> Clone for Extension<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, T: ExtensionType> Copy for Extension<M, T> {}

impl<M, T: ExtensionType> fmt::Debug for Extension<M, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extension")
            .field("number", &self.number)
            .field("full_name", &self.full_name)
            .finish()
    }
}

/// A message that declares extension ranges. The generator implements it;
/// every method is provided.
pub trait Extendable: ProtoMessage {
    /// True for messages declared with `option message_set_wire_format = true`.
    const MESSAGE_SET: bool = false;

    /// The value of `ext`: for [`Optional`] `Some` when set, for
    /// [`Defaulted`] the value or the declared default, for [`Repeated`]
    /// and [`Packed`] every element. A value whose stored bytes do not
    /// decode as its type (possible only for bytes read from the wire with
    /// a schema that disagrees) reads as unset; [`Extendable::try_extension`]
    /// says why.
    fn extension<T: ExtensionType>(&self, ext: &Extension<Self, T>) -> T::Get {
        self.try_extension(ext)
            .unwrap_or_else(|_| T::absent(ext.default))
    }

    /// The value of `ext`, or why its stored bytes do not decode.
    fn try_extension<T: ExtensionType>(
        &self,
        ext: &Extension<Self, T>,
    ) -> Result<T::Get, DecodeError> {
        let mut records = Records::new(
            self.unknown_fields().as_bytes(),
            ext.number,
            Self::MESSAGE_SET,
        );
        T::read(ext.number, &mut records, ext.default)
    }

    /// True when the message holds a value for `ext` (for repeated
    /// extensions, at least one element).
    fn has_extension<T: ExtensionType>(&self, ext: &Extension<Self, T>) -> bool {
        Records::new(
            self.unknown_fields().as_bytes(),
            ext.number,
            Self::MESSAGE_SET,
        )
        .any(|r| matches!(r, Ok((wire_type, _)) if T::accepts(wire_type)))
    }

    /// Sets `ext` to `value`, replacing any value it had.
    fn set_extension<T: ExtensionType>(&mut self, ext: &Extension<Self, T>, value: T::Set) {
        self.clear_extension(ext);
        let mut encoded = Vec::new();
        T::write(&value, ext.number, &mut encoded);
        if Self::MESSAGE_SET {
            encoded = message_set_items(&encoded, ext.number);
        }
        self.unknown_fields_mut().push_raw(&encoded);
    }

    /// Removes `ext`'s value.
    fn clear_extension<T: ExtensionType>(&mut self, ext: &Extension<Self, T>) {
        let number = ext.number;
        if Self::MESSAGE_SET {
            self.unknown_fields_mut().retain(|field, wire_type, raw| {
                !(field == MESSAGE_SET_ITEM
                    && wire_type == WireType::StartGroup
                    && item_type_id(raw) == Some(number))
            });
        } else {
            self.unknown_fields_mut()
                .retain(|field, _, _| field != number);
        }
    }
}

/// Field numbers of a MessageSet item: the group, and its two fields.
const MESSAGE_SET_ITEM: u32 = 1;
const ITEM_TYPE_ID: u32 = 2;
const ITEM_MESSAGE: u32 = 3;

/// The records of one extension in a message's unknown fields, as
/// `(wire type, value bytes)`: for length-delimited values without the
/// length prefix, for groups the contents and end tag. In a MessageSet, the
/// `message` of each item whose `type_id` is the extension's number.
struct Records<'a> {
    decoder: Decoder<'a>,
    number: u32,
    message_set: bool,
}

impl<'a> Records<'a> {
    fn new(raw: &'a [u8], number: u32, message_set: bool) -> Self {
        Self {
            decoder: Decoder::new(raw),
            number,
            message_set,
        }
    }

    fn next_record(&mut self) -> Result<Option<(WireType, &'a [u8])>, DecodeError> {
        while let Some((field, wire_type, value)) = next_field(&mut self.decoder)? {
            if !self.message_set {
                if field == self.number {
                    return Ok(Some((wire_type, value)));
                }
            } else if field == MESSAGE_SET_ITEM && wire_type == WireType::StartGroup {
                if let Some((type_id, message)) = parse_item(value)? {
                    if type_id == self.number {
                        return Ok(Some((WireType::LengthDelimited, message)));
                    }
                }
            }
        }
        Ok(None)
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<(WireType, &'a [u8]), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err(e) => {
                // Stop after the first malformed record.
                self.decoder = Decoder::new(&[]);
                Some(Err(e))
            }
        }
    }
}

/// `(type_id, message)` of a MessageSet item (its contents and end tag).
fn parse_item(contents: &[u8]) -> Result<Option<(u32, &[u8])>, DecodeError> {
    let mut d = Decoder::new(contents);
    let (mut type_id, mut message) = (None, None);
    while !d.is_empty() {
        let key = d.read_key()?;
        match (key >> 3, WireType::from_key(key)) {
            (_, Some(WireType::EndGroup)) => break,
            (ITEM_TYPE_ID, Some(WireType::Varint)) => type_id = Some(d.read_varint32()?),
            (ITEM_MESSAGE, Some(WireType::LengthDelimited)) => message = Some(d.read_slice()?),
            _ => d.skip_value(key)?,
        }
    }
    Ok(type_id.zip(message))
}

fn item_type_id(contents: &[u8]) -> Option<u32> {
    parse_item(contents).ok().flatten().map(|(id, _)| id)
}

/// Rewrites the length-delimited records of field `number` in `encoded` as
/// MessageSet items.
fn message_set_items(encoded: &[u8], number: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len() + 8);
    for record in Records::new(encoded, number, false) {
        let Ok((WireType::LengthDelimited, message)) = record else {
            continue;
        };
        put_key(&mut out, MESSAGE_SET_ITEM, WireType::StartGroup);
        put_key(&mut out, ITEM_TYPE_ID, WireType::Varint);
        put_varint(&mut out, u64::from(number));
        put_key(&mut out, ITEM_MESSAGE, WireType::LengthDelimited);
        put_varint(&mut out, message.len() as u64);
        out.extend_from_slice(message);
        put_key(&mut out, MESSAGE_SET_ITEM, WireType::EndGroup);
    }
    out
}

fn put_varint(out: &mut Vec<u8>, value: u64) {
    let mut tmp = [0u8; MAX_VARINT_LEN];
    let n = write_varint(value, &mut tmp);
    out.extend_from_slice(&tmp[..n]);
}

fn put_key(out: &mut Vec<u8>, number: u32, wire_type: WireType) {
    put_varint(out, u64::from(make_key(number, wire_type)));
}

/// How an extension holds its values: [`Optional`], [`Defaulted`],
/// [`Repeated`], [`Packed`]. Implemented here only.
pub trait ExtensionType: 'static {
    /// What reading the extension returns.
    type Get;
    /// What setting it takes.
    type Set;
    /// The declared default, as a constant (`()` when there is none).
    type Default: Copy + 'static;

    #[doc(hidden)]
    fn read(
        number: u32,
        records: &mut dyn Iterator<Item = Result<(WireType, &[u8]), DecodeError>>,
        default: Self::Default,
    ) -> Result<Self::Get, DecodeError>;

    #[doc(hidden)]
    fn absent(default: Self::Default) -> Self::Get;

    #[doc(hidden)]
    fn accepts(wire_type: WireType) -> bool;

    #[doc(hidden)]
    fn write(value: &Self::Set, number: u32, out: &mut Vec<u8>);
}

/// The kind of one value of an extension: how it looks on the wire and in
/// Rust. Implemented here only.
pub trait Kind: 'static {
    /// The Rust value.
    type Value;
    /// A default value as a constant (`&'static str` for strings, ...).
    type Const: Copy + 'static;
    #[doc(hidden)]
    const WIRE_TYPE: WireType;
    #[doc(hidden)]
    const PACKABLE: bool;

    #[doc(hidden)]
    fn from_const(value: Self::Const) -> Self::Value;

    /// Merges one record's value bytes into `slot` (replacing, except for
    /// messages, which merge). An unknown value of a closed enum is skipped.
    #[doc(hidden)]
    fn merge(slot: &mut Option<Self::Value>, number: u32, raw: &[u8]) -> Result<(), DecodeError>;

    /// Reads one element of a packed run.
    #[doc(hidden)]
    fn read_packed(d: &mut Decoder<'_>) -> Result<Option<Self::Value>, DecodeError> {
        let _ = d;
        Err(DecodeError::new(DecodeErrorKind::InvalidWireType, 0))
    }

    /// Checks a decoded value (required fields of messages).
    #[doc(hidden)]
    fn check(value: &Self::Value) -> Result<(), DecodeError> {
        let _ = value;
        Ok(())
    }

    /// Writes the value's bytes after its key (for groups, the contents and
    /// the end tag).
    #[doc(hidden)]
    fn write_value(value: &Self::Value, number: u32, out: &mut Vec<u8>);
}

/// A singular extension without a declared default: reads as `Option<V>`.
pub struct Optional<K>(PhantomData<fn() -> K>);

/// A singular extension with a declared `[default = ...]`: reads as the
/// value, or the default when unset.
pub struct Defaulted<K>(PhantomData<fn() -> K>);

/// A repeated extension, written one record per element (or, with
/// `PACKED`, as one packed run: [`Packed`]). Reading accepts both forms,
/// as protobuf requires.
pub struct Repeated<K, const PACKED: bool = false>(PhantomData<fn() -> K>);

/// A repeated extension of numbers or enums, written as one packed run.
pub type Packed<K> = Repeated<K, true>;

fn read_singular<K: Kind>(
    number: u32,
    records: &mut dyn Iterator<Item = Result<(WireType, &[u8]), DecodeError>>,
) -> Result<Option<K::Value>, DecodeError> {
    let mut slot = None;
    for record in records {
        let (wire_type, raw) = record?;
        if wire_type == K::WIRE_TYPE {
            K::merge(&mut slot, number, raw)?;
        }
    }
    if let Some(v) = &slot {
        K::check(v)?;
    }
    Ok(slot)
}

fn write_singular<K: Kind>(value: &K::Value, number: u32, out: &mut Vec<u8>) {
    put_key(out, number, K::WIRE_TYPE);
    K::write_value(value, number, out);
}

impl<K: Kind> ExtensionType for Optional<K> {
    type Get = Option<K::Value>;
    type Set = K::Value;
    type Default = ();

    fn read(
        number: u32,
        records: &mut dyn Iterator<Item = Result<(WireType, &[u8]), DecodeError>>,
        _: (),
    ) -> Result<Self::Get, DecodeError> {
        read_singular::<K>(number, records)
    }

    fn absent(_: ()) -> Self::Get {
        None
    }

    fn accepts(wire_type: WireType) -> bool {
        wire_type == K::WIRE_TYPE
    }

    fn write(value: &K::Value, number: u32, out: &mut Vec<u8>) {
        write_singular::<K>(value, number, out);
    }
}

impl<K: Kind> ExtensionType for Defaulted<K> {
    type Get = K::Value;
    type Set = K::Value;
    type Default = K::Const;

    fn read(
        number: u32,
        records: &mut dyn Iterator<Item = Result<(WireType, &[u8]), DecodeError>>,
        default: K::Const,
    ) -> Result<Self::Get, DecodeError> {
        Ok(read_singular::<K>(number, records)?.unwrap_or_else(|| K::from_const(default)))
    }

    fn absent(default: K::Const) -> Self::Get {
        K::from_const(default)
    }

    fn accepts(wire_type: WireType) -> bool {
        wire_type == K::WIRE_TYPE
    }

    fn write(value: &K::Value, number: u32, out: &mut Vec<u8>) {
        write_singular::<K>(value, number, out);
    }
}

fn read_repeated<K: Kind>(
    number: u32,
    records: &mut dyn Iterator<Item = Result<(WireType, &[u8]), DecodeError>>,
) -> Result<Vec<K::Value>, DecodeError> {
    let mut out = Vec::new();
    for record in records {
        let (wire_type, raw) = record?;
        if wire_type == K::WIRE_TYPE {
            let mut slot = None;
            K::merge(&mut slot, number, raw)?;
            if let Some(v) = slot {
                K::check(&v)?;
                out.push(v);
            }
        } else if wire_type == WireType::LengthDelimited && K::PACKABLE {
            let mut d = Decoder::new(raw);
            while !d.is_empty() {
                if let Some(v) = K::read_packed(&mut d)? {
                    out.push(v);
                }
            }
        }
    }
    Ok(out)
}

impl<K: Kind, const PACKED: bool> ExtensionType for Repeated<K, PACKED> {
    type Get = Vec<K::Value>;
    type Set = Vec<K::Value>;
    type Default = ();

    fn read(
        number: u32,
        records: &mut dyn Iterator<Item = Result<(WireType, &[u8]), DecodeError>>,
        _: (),
    ) -> Result<Self::Get, DecodeError> {
        read_repeated::<K>(number, records)
    }

    fn absent(_: ()) -> Self::Get {
        Vec::new()
    }

    fn accepts(wire_type: WireType) -> bool {
        wire_type == K::WIRE_TYPE || (K::PACKABLE && wire_type == WireType::LengthDelimited)
    }

    fn write(values: &Vec<K::Value>, number: u32, out: &mut Vec<u8>) {
        if !PACKED {
            for v in values {
                write_singular::<K>(v, number, out);
            }
            return;
        }
        if values.is_empty() {
            return;
        }
        let mut run = Vec::new();
        for v in values {
            K::write_value(v, number, &mut run);
        }
        put_key(out, number, WireType::LengthDelimited);
        put_varint(out, run.len() as u64);
        out.extend_from_slice(&run);
    }
}

macro_rules! number_kinds {
    ($($(#[$doc:meta])* $name:ident: $ty:ty, $wire:ident,
       |$d:ident| $read:expr, |$v:ident, $out:ident| $write:expr;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl Kind for $name {
            type Value = $ty;
            type Const = $ty;
            const WIRE_TYPE: WireType = WireType::$wire;
            const PACKABLE: bool = true;

            fn from_const(value: $ty) -> $ty {
                value
            }

            fn merge(slot: &mut Option<$ty>, _: u32, raw: &[u8]) -> Result<(), DecodeError> {
                let $d = &mut Decoder::new(raw);
                *slot = Some($read);
                Ok(())
            }

            fn read_packed($d: &mut Decoder<'_>) -> Result<Option<$ty>, DecodeError> {
                Ok(Some($read))
            }

            fn write_value($v: &$ty, _: u32, $out: &mut Vec<u8>) {
                $write
            }
        }
    )*};
}

number_kinds! {
    /// `int32`.
    Int32: i32, Varint, |d| d.read_varint()? as i32, |v, out| put_varint(out, *v as i64 as u64);
    /// `int64`.
    Int64: i64, Varint, |d| d.read_varint()? as i64, |v, out| put_varint(out, *v as u64);
    /// `uint32`.
    Uint32: u32, Varint, |d| d.read_varint()? as u32, |v, out| put_varint(out, u64::from(*v));
    /// `uint64`.
    Uint64: u64, Varint, |d| d.read_varint()?, |v, out| put_varint(out, *v);
    /// `sint32`.
    Sint32: i32, Varint, |d| unzigzag32(d.read_varint()? as u32),
        |v, out| put_varint(out, u64::from(zigzag32(*v)));
    /// `sint64`.
    Sint64: i64, Varint, |d| unzigzag64(d.read_varint()?), |v, out| put_varint(out, zigzag64(*v));
    /// `bool`.
    Bool: bool, Varint, |d| d.read_varint()? != 0, |v, out| put_varint(out, u64::from(*v));
    /// `fixed32`.
    Fixed32: u32, Fixed32, |d| d.read_fixed32()?, |v, out| out.extend_from_slice(&v.to_le_bytes());
    /// `fixed64`.
    Fixed64: u64, Fixed64, |d| d.read_fixed64()?, |v, out| out.extend_from_slice(&v.to_le_bytes());
    /// `sfixed32`.
    Sfixed32: i32, Fixed32, |d| d.read_fixed32()? as i32,
        |v, out| out.extend_from_slice(&v.to_le_bytes());
    /// `sfixed64`.
    Sfixed64: i64, Fixed64, |d| d.read_fixed64()? as i64,
        |v, out| out.extend_from_slice(&v.to_le_bytes());
    /// `float`.
    Float: f32, Fixed32, |d| d.read_f32()?, |v, out| out.extend_from_slice(&v.to_le_bytes());
    /// `double`.
    Double: f64, Fixed64, |d| d.read_f64()?, |v, out| out.extend_from_slice(&v.to_le_bytes());
}

/// A closed enum (proto2, editions `CLOSED`): numbers the enum does not
/// declare are not values (they stay in the unknown fields, unread).
pub struct Enum<E>(PhantomData<fn() -> E>);

impl<E: Enumeration> Kind for Enum<E> {
    type Value = E;
    type Const = E;
    const WIRE_TYPE: WireType = WireType::Varint;
    const PACKABLE: bool = true;

    fn from_const(value: E) -> E {
        value
    }

    fn merge(slot: &mut Option<E>, _: u32, raw: &[u8]) -> Result<(), DecodeError> {
        if let Some(e) = Self::read_packed(&mut Decoder::new(raw))? {
            *slot = Some(e);
        }
        Ok(())
    }

    fn read_packed(d: &mut Decoder<'_>) -> Result<Option<E>, DecodeError> {
        Ok(E::from_i32(d.read_varint()? as i32))
    }

    fn write_value(value: &E, _: u32, out: &mut Vec<u8>) {
        put_varint(out, value.to_i32() as i64 as u64);
    }
}

/// An open enum (proto3, editions `OPEN`): unknown numbers are values too.
pub struct Open<E>(PhantomData<fn() -> E>);

impl<E: Enumeration> Kind for Open<E> {
    type Value = OpenEnum<E>;
    type Const = E;
    const WIRE_TYPE: WireType = WireType::Varint;
    const PACKABLE: bool = true;

    fn from_const(value: E) -> OpenEnum<E> {
        OpenEnum::Known(value)
    }

    fn merge(slot: &mut Option<OpenEnum<E>>, _: u32, raw: &[u8]) -> Result<(), DecodeError> {
        *slot = Self::read_packed(&mut Decoder::new(raw))?;
        Ok(())
    }

    fn read_packed(d: &mut Decoder<'_>) -> Result<Option<OpenEnum<E>>, DecodeError> {
        Ok(Some(OpenEnum::from_i32(d.read_varint()? as i32)))
    }

    fn write_value(value: &OpenEnum<E>, _: u32, out: &mut Vec<u8>) {
        put_varint(out, value.to_i32() as i64 as u64);
    }
}

/// `string`: must be UTF-8.
pub struct String;

impl Kind for String {
    type Value = std::string::String;
    type Const = &'static str;
    const WIRE_TYPE: WireType = WireType::LengthDelimited;
    const PACKABLE: bool = false;

    fn from_const(value: &'static str) -> std::string::String {
        value.to_owned()
    }

    fn merge(
        slot: &mut Option<std::string::String>,
        _: u32,
        raw: &[u8],
    ) -> Result<(), DecodeError> {
        let s = core::str::from_utf8(raw)
            .map_err(|_| DecodeError::new(DecodeErrorKind::InvalidUtf8, 0))?;
        *slot = Some(s.to_owned());
        Ok(())
    }

    fn write_value(value: &std::string::String, _: u32, out: &mut Vec<u8>) {
        put_varint(out, value.len() as u64);
        out.extend_from_slice(value.as_bytes());
    }
}

/// `bytes`.
pub struct Bytes;

impl Kind for Bytes {
    type Value = Vec<u8>;
    type Const = &'static [u8];
    const WIRE_TYPE: WireType = WireType::LengthDelimited;
    const PACKABLE: bool = false;

    fn from_const(value: &'static [u8]) -> Vec<u8> {
        value.to_vec()
    }

    fn merge(slot: &mut Option<Vec<u8>>, _: u32, raw: &[u8]) -> Result<(), DecodeError> {
        *slot = Some(raw.to_vec());
        Ok(())
    }

    fn write_value(value: &Vec<u8>, _: u32, out: &mut Vec<u8>) {
        put_varint(out, value.len() as u64);
        out.extend_from_slice(value);
    }
}

/// A message, length-prefixed. Occurrences merge, as for any message field.
pub struct Message<M>(PhantomData<fn() -> M>);

impl<M: ProtoMessage> Kind for Message<M> {
    type Value = M;
    type Const = ();
    const WIRE_TYPE: WireType = WireType::LengthDelimited;
    const PACKABLE: bool = false;

    fn from_const(_: ()) -> M {
        M::default()
    }

    fn merge(slot: &mut Option<M>, _: u32, raw: &[u8]) -> Result<(), DecodeError> {
        slot.get_or_insert_with(M::default).merge_partial(raw)
    }

    fn check(value: &M) -> Result<(), DecodeError> {
        value.check_required()
    }

    fn write_value(value: &M, _: u32, out: &mut Vec<u8>) {
        let bytes = value.encode_to_vec();
        put_varint(out, bytes.len() as u64);
        out.extend_from_slice(&bytes);
    }
}

/// A message as a group (proto2 `group`, editions `DELIMITED`).
pub struct Group<M>(PhantomData<fn() -> M>);

impl<M: ProtoMessage> Kind for Group<M> {
    type Value = M;
    type Const = ();
    const WIRE_TYPE: WireType = WireType::StartGroup;
    const PACKABLE: bool = false;

    fn from_const(_: ()) -> M {
        M::default()
    }

    fn merge(slot: &mut Option<M>, number: u32, raw: &[u8]) -> Result<(), DecodeError> {
        Decoder::new(raw).merge_group(number, slot.get_or_insert_with(M::default))
    }

    fn check(value: &M) -> Result<(), DecodeError> {
        value.check_required()
    }

    fn write_value(value: &M, number: u32, out: &mut Vec<u8>) {
        out.extend_from_slice(&value.encode_to_vec());
        put_key(out, number, WireType::EndGroup);
    }
}
