//! Fields a message did not recognise, kept byte for byte.

use crate::encoding::{Decoder, WireType, key_field};
use crate::error::DecodeError;

/// The fields of a message that its schema does not declare (or, for closed
/// enums, values the enum does not know), in the order they were read.
///
/// They are written back verbatim after the known fields when the message is
/// encoded, so a message passes through a process built against an older
/// schema without losing data.
///
/// Ordered by their raw bytes, so that `type_attribute` can derive `Ord` on
/// a message (for `BTreeMap` keys, say).
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnknownFields {
    raw: Vec<u8>,
}

impl UnknownFields {
    /// No unknown fields.
    pub const fn new() -> Self {
        Self { raw: Vec::new() }
    }

    /// True when there are none.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Encoded length of all unknown fields.
    #[inline(always)]
    pub fn encoded_len(&self) -> usize {
        self.raw.len()
    }

    /// The unknown fields as they were on the wire (tags included).
    #[inline(always)]
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// Appends already-encoded fields (tags included).
    #[inline]
    pub fn push_raw(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
    }

    /// Removes all unknown fields.
    pub fn clear(&mut self) {
        self.raw.clear();
    }

    /// Keeps only the fields for which `keep(field number, wire type, raw
    /// value bytes)` is true (the bytes as [`UnknownFields::iter`] gives
    /// them), in their order. Should the bytes not parse (only possible
    /// after [`UnknownFields::push_raw`] of malformed input), everything
    /// from the first malformed field on is kept as it is.
    pub fn retain(&mut self, mut keep: impl FnMut(u32, WireType, &[u8]) -> bool) {
        let mut kept = Vec::with_capacity(self.raw.len());
        let mut decoder = Decoder::new(&self.raw);
        while !decoder.is_empty() {
            let start = decoder.remaining();
            let Ok(Some((field, wire_type, value))) = next_field(&mut decoder) else {
                kept.extend_from_slice(start);
                break;
            };
            if keep(field, wire_type, value) {
                let used = start.len() - decoder.remaining().len();
                kept.extend_from_slice(&start[..used]);
            }
        }
        self.raw = kept;
    }

    /// Iterates over the unknown fields as `(field number, wire type, raw value bytes)`.
    ///
    /// For length-delimited fields the bytes exclude the length prefix; for
    /// groups they are the group's contents up to its end tag.
    pub fn iter(&self) -> UnknownFieldsIter<'_> {
        UnknownFieldsIter {
            decoder: Decoder::new(&self.raw),
        }
    }
}

impl core::fmt::Debug for UnknownFields {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut list = f.debug_list();
        for item in self.iter() {
            match item {
                Ok((field, wt, bytes)) => list.entry(&(field, wt, bytes)),
                Err(_) => list.entry(&self.raw),
            };
        }
        list.finish()
    }
}

/// Iterator returned by [`UnknownFields::iter`].
pub struct UnknownFieldsIter<'a> {
    decoder: Decoder<'a>,
}

impl<'a> Iterator for UnknownFieldsIter<'a> {
    type Item = Result<(u32, WireType, &'a [u8]), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.decoder.is_empty() {
            return None;
        }
        let item = next_field(&mut self.decoder).transpose()?;
        if item.is_err() {
            // Stop after the first malformed field rather than loop on it.
            self.decoder = Decoder::new(&[]);
        }
        Some(item)
    }
}

/// One field: `(field number, wire type, value bytes)`.
pub(crate) type RawField<'a> = (u32, WireType, &'a [u8]);

/// The next field of `decoder`, or `None` at the end.
pub(crate) fn next_field<'a>(
    decoder: &mut Decoder<'a>,
) -> Result<Option<RawField<'a>>, DecodeError> {
    if decoder.is_empty() {
        return Ok(None);
    }
    let key = decoder.read_key()?;
    let wire_type = WireType::from_key(key).unwrap_or(WireType::Varint);
    let before = decoder.remaining();
    if wire_type == WireType::LengthDelimited {
        return Ok(Some((key_field(key), wire_type, decoder.read_slice()?)));
    }
    decoder.skip_value(key)?;
    let used = before.len() - decoder.remaining().len();
    Ok(Some((key_field(key), wire_type, &before[..used])))
}
