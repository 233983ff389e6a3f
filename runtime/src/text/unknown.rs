//! Unknown fields in the text format, by number, as protobuf prints them:
//! varints as numbers, fixed-width values in hex, groups as blocks, and a
//! length-delimited value as a block when it parses as fields, else as a
//! string.

use super::{TextError, TextWriter};
use crate::encoding::{Decoder, WireType};

/// How deep nested unknown fields are shown as blocks; deeper ones are
/// shown as strings (the bytes are unbounded input).
const MAX_DEPTH: u32 = 32;

enum Value<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Group(Vec<(u32, Value<'a>)>),
}

/// Parses fields up to the end of `d` (or, in a group, its end tag);
/// `None` if the bytes are not well-formed fields.
fn parse<'a>(d: &mut Decoder<'a>, group: Option<u32>, depth: u32) -> Option<Vec<(u32, Value<'a>)>> {
    let mut fields = Vec::new();
    loop {
        if d.is_empty() {
            return group.is_none().then_some(fields);
        }
        let key = d.read_key().ok()?;
        let number = key >> 3;
        let value = match WireType::from_key(key)? {
            WireType::Varint => Value::Varint(d.read_varint().ok()?),
            WireType::Fixed64 => Value::Fixed64(d.read_fixed64().ok()?),
            WireType::Fixed32 => Value::Fixed32(d.read_fixed32().ok()?),
            WireType::LengthDelimited => Value::Bytes(d.read_slice().ok()?),
            WireType::StartGroup if depth < MAX_DEPTH => {
                Value::Group(parse(d, Some(number), depth + 1)?)
            }
            WireType::StartGroup => return None,
            WireType::EndGroup => return (group == Some(number)).then_some(fields),
        };
        fields.push((number, value));
    }
}

/// Writes the unknown fields in `bytes`; bytes that are not well-formed
/// fields (which a decoded message's unknown fields always are) are an
/// error.
pub(crate) fn write(w: &mut TextWriter<'_>, bytes: &[u8]) -> Result<(), TextError> {
    let fields = parse(&mut Decoder::new(bytes), None, 0)
        .ok_or_else(|| TextError::new("unknown fields are not well-formed"))?;
    write_fields(w, &fields, 0)
}

fn write_fields(
    w: &mut TextWriter<'_>,
    fields: &[(u32, Value<'_>)],
    depth: u32,
) -> Result<(), TextError> {
    for (number, value) in fields {
        let name = itoa::Buffer::new().format(*number).to_owned();
        match value {
            Value::Varint(v) => w.field(&name, v)?,
            Value::Fixed32(v) => w.field_with(&name, false, |w| {
                w.raw(&format!("0x{v:08x}"));
                Ok(())
            })?,
            Value::Fixed64(v) => w.field_with(&name, false, |w| {
                w.raw(&format!("0x{v:016x}"));
                Ok(())
            })?,
            Value::Group(inner) => w.field_with(&name, true, |w| {
                w.block(|w| write_fields(w, inner, depth + 1))
            })?,
            Value::Bytes(b) => match parse(&mut Decoder::new(b), None, depth + 1) {
                Some(inner) if !inner.is_empty() && depth < MAX_DEPTH => {
                    w.field_with(&name, true, |w| {
                        w.block(|w| write_fields(w, &inner, depth + 1))
                    })?
                }
                _ => w.field_with(&name, false, |w| {
                    w.bytes(b);
                    Ok(())
                })?,
            },
        }
    }
    Ok(())
}
