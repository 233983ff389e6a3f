//! The protobuf binary wire format: tags, varints, fixed-width values and
//! length-delimited fields.
//!
//! Encoding is two passes over a message tree. [`SizeCache`] collects, in
//! pre-order, the length of every nested length-delimited value (sub-messages,
//! map entries, packed varint runs); [`Encoder`] then writes bytes and reads
//! those lengths back in the same order. Every length is computed exactly
//! once, however deep the nesting.
//!
//! Decoding runs over one contiguous slice ([`Decoder`]); when that slice came
//! from a [`bytes::Bytes`], `bytes` fields can share it instead of copying.

mod varint;

pub use varint::{
    MAX_VARINT_LEN, read_varint, unzigzag32, unzigzag64, varint_len, write_varint, zigzag32,
    zigzag64,
};

use bytes::{BufMut, Bytes};

use crate::error::{DecodeError, DecodeErrorKind};
use crate::message::Message;
use crate::unknown::UnknownFields;

/// Wire type of a field, the low three bits of its tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum WireType {
    /// int32, int64, uint32, uint64, sint32, sint64, bool, enum.
    Varint = 0,
    /// fixed64, sfixed64, double.
    Fixed64 = 1,
    /// string, bytes, embedded messages, packed repeated fields.
    LengthDelimited = 2,
    /// Start of a group (proto2 groups, editions DELIMITED messages).
    StartGroup = 3,
    /// End of a group.
    EndGroup = 4,
    /// fixed32, sfixed32, float.
    Fixed32 = 5,
}

impl WireType {
    /// The wire type in the low bits of `key`, if it is one of the six valid ones.
    #[inline]
    pub const fn from_key(key: u32) -> Option<Self> {
        Some(match key & 7 {
            0 => Self::Varint,
            1 => Self::Fixed64,
            2 => Self::LengthDelimited,
            3 => Self::StartGroup,
            4 => Self::EndGroup,
            5 => Self::Fixed32,
            _ => return None,
        })
    }
}

/// Largest field number protobuf allows, 2^29 - 1.
pub const MAX_FIELD_NUMBER: u32 = (1 << 29) - 1;

/// How deep messages may nest when decoding, unless the caller says otherwise.
/// The same limit as protobuf's reference implementation.
pub const DEFAULT_RECURSION_LIMIT: u32 = 100;

/// The tag of field `number` with `wire_type`.
#[inline]
pub const fn make_key(number: u32, wire_type: WireType) -> u32 {
    (number << 3) | wire_type as u32
}

/// Field number of a tag.
#[inline]
pub const fn key_field(key: u32) -> u32 {
    key >> 3
}

/// Number of bytes a tag for field `number` takes.
#[inline]
pub const fn key_len(number: u32) -> usize {
    varint_len((number as u64) << 3)
}

/// Encoded length of a length-delimited value whose payload is `len` bytes,
/// without its tag.
#[inline(always)]
pub const fn delimited_len(len: usize) -> usize {
    varint_len(len as u64) + len
}

/// Encoded size of an `int32` value: negative values are sign-extended to ten bytes.
#[inline(always)]
pub const fn int32_len(v: i32) -> usize {
    varint_len(v as i64 as u64)
}

/// Lengths of nested length-delimited values, filled by a message's
/// `compute_size` in pre-order and read back by [`Encoder`] in the same order.
///
/// Reusing one cache across encodes avoids allocating; [`Message::encode`]
/// does that with a per-thread cache.
#[derive(Debug, Default, Clone)]
pub struct SizeCache {
    sizes: Vec<usize>,
}

impl SizeCache {
    /// An empty cache.
    pub const fn new() -> Self {
        Self { sizes: Vec::new() }
    }

    /// Forgets all lengths, keeping the allocation.
    #[inline]
    pub fn clear(&mut self) {
        self.sizes.clear();
    }

    /// Records the payload length that `compute` returns in the next slot and
    /// returns the full delimited size (length prefix plus payload).
    #[inline(always)]
    pub fn nested(&mut self, compute: impl FnOnce(&mut Self) -> usize) -> usize {
        let slot = self.sizes.len();
        self.sizes.push(0);
        let len = compute(self);
        self.sizes[slot] = len;
        delimited_len(len)
    }

    /// Records a payload length known without recursion (a packed varint run)
    /// and returns the full delimited size.
    #[inline(always)]
    pub fn record(&mut self, len: usize) -> usize {
        self.sizes.push(len);
        delimited_len(len)
    }

    /// The recorded lengths, in pre-order.
    pub fn as_slice(&self) -> &[usize] {
        &self.sizes
    }
}

/// Writes a message's bytes into a [`BufMut`], reading nested lengths from a
/// [`SizeCache`] filled by the same message's `compute_size`.
pub struct Encoder<'a, B: BufMut + ?Sized> {
    buf: &'a mut B,
    sizes: &'a [usize],
    next: usize,
}

impl<'a, B: BufMut + ?Sized> Encoder<'a, B> {
    /// An encoder writing into `buf` with lengths from `sizes`.
    pub fn new(buf: &'a mut B, sizes: &'a SizeCache) -> Self {
        Self {
            buf,
            sizes: sizes.as_slice(),
            next: 0,
        }
    }

    /// Writes raw bytes: a precomputed tag, or unknown fields.
    #[inline(always)]
    pub fn put_raw(&mut self, bytes: &[u8]) {
        self.buf.put_slice(bytes);
    }

    /// Writes a one-byte tag.
    #[inline(always)]
    pub fn put_u8(&mut self, byte: u8) {
        self.buf.put_u8(byte);
    }

    /// Writes a varint.
    #[inline(always)]
    pub fn put_varint(&mut self, value: u64) {
        if value < 0x80 {
            self.buf.put_u8(value as u8);
        } else {
            let mut tmp = [0u8; MAX_VARINT_LEN];
            let n = write_varint(value, &mut tmp);
            self.buf.put_slice(&tmp[..n]);
        }
    }

    /// Writes a little-endian 32-bit value.
    #[inline(always)]
    pub fn put_fixed32(&mut self, value: u32) {
        self.buf.put_slice(&value.to_le_bytes());
    }

    /// Writes a little-endian 64-bit value.
    #[inline(always)]
    pub fn put_fixed64(&mut self, value: u64) {
        self.buf.put_slice(&value.to_le_bytes());
    }

    /// Writes a length prefix and the bytes.
    #[inline(always)]
    pub fn put_bytes(&mut self, bytes: &[u8]) {
        self.put_varint(bytes.len() as u64);
        self.buf.put_slice(bytes);
    }

    /// Writes the length prefix of the next nested value recorded in the size cache.
    #[inline(always)]
    pub fn put_next_len(&mut self) {
        let len = self.sizes.get(self.next).copied();
        debug_assert!(len.is_some(), "size cache out of step with the message");
        self.next += 1;
        self.put_varint(len.unwrap_or(0) as u64);
    }

    /// Writes a nested message: length prefix then its fields.
    #[inline(always)]
    pub fn put_message<M: Message>(&mut self, message: &M) {
        self.put_next_len();
        message.write_to(self);
    }
}

/// Reads protobuf values from one contiguous input slice.
///
/// Every read checks bounds and returns a [`DecodeError`] that carries the
/// byte offset of the problem. Nesting is bounded by a recursion limit.
pub struct Decoder<'a> {
    buf: &'a [u8],
    // Offset of the end of `buf` in the whole input, for error positions.
    end: usize,
    depth_left: u32,
    source: Option<&'a Bytes>,
}

impl<'a> Decoder<'a> {
    /// A decoder over `buf` with the default recursion limit.
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            end: buf.len(),
            depth_left: DEFAULT_RECURSION_LIMIT,
            source: None,
        }
    }

    /// A decoder over `bytes` that lets `bytes` fields share its storage.
    pub fn from_bytes(bytes: &'a Bytes) -> Self {
        Self {
            buf: bytes,
            end: bytes.len(),
            depth_left: DEFAULT_RECURSION_LIMIT,
            source: Some(bytes),
        }
    }

    /// A decoder over `bytes[range]` that lets `bytes` fields share the
    /// storage of `bytes`; offsets count from the range's start. The caller
    /// checks that `range` is in bounds (crate-private for that reason).
    #[cfg(feature = "transport")]
    pub(crate) fn from_bytes_range(bytes: &'a Bytes, range: core::ops::Range<usize>) -> Self {
        let buf = &bytes[range];
        Self {
            buf,
            end: buf.len(),
            depth_left: DEFAULT_RECURSION_LIMIT,
            source: Some(bytes),
        }
    }

    /// Sets how many levels of nested messages may still be entered.
    pub fn with_recursion_limit(mut self, limit: u32) -> Self {
        self.depth_left = limit;
        self
    }

    /// True when all input has been read.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The unread input.
    #[inline(always)]
    pub fn remaining(&self) -> &'a [u8] {
        self.buf
    }

    /// Byte offset of the read position in the whole input.
    #[inline]
    pub fn offset(&self) -> usize {
        self.end - self.buf.len()
    }

    #[cold]
    #[inline(never)]
    fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(kind, self.offset())
    }

    /// Reads a varint.
    #[inline(always)]
    pub fn read_varint(&mut self) -> Result<u64, DecodeError> {
        match read_varint(self.buf) {
            Some((v, n)) => {
                self.buf = &self.buf[n..];
                Ok(v)
            }
            None => Err(self.varint_error()),
        }
    }

    #[cold]
    fn varint_error(&self) -> DecodeError {
        if self.buf.len() >= MAX_VARINT_LEN {
            self.error(DecodeErrorKind::VarintTooLong)
        } else {
            self.error(DecodeErrorKind::Truncated)
        }
    }

    /// Reads a varint and keeps its low 32 bits, as protobuf does for 32-bit types.
    #[inline(always)]
    pub fn read_varint32(&mut self) -> Result<u32, DecodeError> {
        self.read_varint().map(|v| v as u32)
    }

    /// Reads a varint as `bool`: any non-zero value is true.
    #[inline(always)]
    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        self.read_varint().map(|v| v != 0)
    }

    /// Reads a tag, rejecting field number 0, numbers past 2^29 - 1 and wire types 6 and 7.
    #[inline(always)]
    pub fn read_key(&mut self) -> Result<u32, DecodeError> {
        // Fast paths: a one-byte tag (fields 1..=15) and a two-byte tag
        // (fields 16..=2047; an overlong one may still say field 0).
        match *self.buf {
            [b, ..] if (8..0x80).contains(&b) && (b & 7) < 6 => {
                self.buf = &self.buf[1..];
                return Ok(u32::from(b));
            }
            [b0, b1, ..] if b0 >= 0x80 && b1 < 0x80 && (b0 & 7) < 6 => {
                let key = u32::from(b0 & 0x7f) | (u32::from(b1) << 7);
                if key >= 8 {
                    self.buf = &self.buf[2..];
                    return Ok(key);
                }
            }
            _ => {}
        }
        self.read_key_slow()
    }

    fn read_key_slow(&mut self) -> Result<u32, DecodeError> {
        let at = self.offset();
        let v = self.read_varint()?;
        if v > u64::from(u32::MAX) || (v >> 3) == 0 {
            return Err(DecodeError::new(DecodeErrorKind::InvalidFieldNumber, at));
        }
        if v & 7 > 5 {
            return Err(DecodeError::new(DecodeErrorKind::InvalidWireType, at));
        }
        Ok(v as u32)
    }

    /// Reads `N` raw bytes.
    #[inline(always)]
    fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        match self.buf.split_first_chunk::<N>() {
            Some((head, rest)) => {
                self.buf = rest;
                Ok(*head)
            }
            None => Err(self.error(DecodeErrorKind::Truncated)),
        }
    }

    /// Reads a little-endian 32-bit value.
    #[inline(always)]
    pub fn read_fixed32(&mut self) -> Result<u32, DecodeError> {
        self.read_array::<4>().map(u32::from_le_bytes)
    }

    /// Reads a little-endian 64-bit value.
    #[inline(always)]
    pub fn read_fixed64(&mut self) -> Result<u64, DecodeError> {
        self.read_array::<8>().map(u64::from_le_bytes)
    }

    /// Reads a `float`.
    #[inline(always)]
    pub fn read_f32(&mut self) -> Result<f32, DecodeError> {
        self.read_fixed32().map(f32::from_bits)
    }

    /// Reads a `double`.
    #[inline(always)]
    pub fn read_f64(&mut self) -> Result<f64, DecodeError> {
        self.read_fixed64().map(f64::from_bits)
    }

    /// Reads a length prefix and checks it against the remaining input.
    #[inline(always)]
    pub fn read_len(&mut self) -> Result<usize, DecodeError> {
        let len = self.read_varint()?;
        if len > self.buf.len() as u64 {
            return Err(self.error(DecodeErrorKind::LengthOutOfBounds));
        }
        Ok(len as usize)
    }

    /// Reads a length-delimited value and returns its bytes.
    #[inline(always)]
    pub fn read_slice(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.read_len()?;
        let (head, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(head)
    }

    /// Reads a length-delimited value as UTF-8, failing on invalid UTF-8.
    #[inline(always)]
    pub fn read_str(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.offset();
        let bytes = self.read_slice()?;
        core::str::from_utf8(bytes).map_err(|_| DecodeError::new(DecodeErrorKind::InvalidUtf8, at))
    }

    /// Reads a `string` field into `out`, replacing its contents and reusing its allocation.
    #[inline(always)]
    pub fn read_string_into(&mut self, out: &mut String) -> Result<(), DecodeError> {
        let at = self.offset();
        let bytes = self.read_slice()?;
        if out.capacity() == 0 {
            // A fresh field: one exact allocation, no growth path.
            *out = utf8_string(bytes.to_vec(), at)?;
        } else {
            let mut v = core::mem::take(out).into_bytes();
            v.clear();
            v.extend_from_slice(bytes);
            *out = utf8_string(v, at)?;
        }
        Ok(())
    }

    /// Reads a `string` field.
    #[inline(always)]
    pub fn read_string(&mut self) -> Result<String, DecodeError> {
        let at = self.offset();
        let bytes = self.read_slice()?;
        utf8_string(bytes.to_vec(), at)
    }

    /// Reads a `bytes` field into `out`, replacing its contents.
    #[inline(always)]
    pub fn read_bytes_into(&mut self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let s = self.read_slice()?;
        if out.capacity() == 0 {
            // A fresh field: one exact allocation, no growth path.
            *out = s.to_vec();
        } else {
            out.clear();
            out.extend_from_slice(s);
        }
        Ok(())
    }

    /// Reads a `bytes` field as a `Vec<u8>`.
    #[inline(always)]
    pub fn read_vec(&mut self) -> Result<Vec<u8>, DecodeError> {
        self.read_slice().map(<[u8]>::to_vec)
    }

    /// Reads a `bytes` field as [`Bytes`], sharing the input's storage when
    /// the decoder was made with [`Decoder::from_bytes`].
    #[inline(always)]
    pub fn read_bytes(&mut self) -> Result<Bytes, DecodeError> {
        let s = self.read_slice()?;
        Ok(match self.source {
            Some(src) if !s.is_empty() => src.slice_ref(s),
            _ => Bytes::copy_from_slice(s),
        })
    }

    /// Reads the length prefix of a nested message and returns a decoder
    /// limited to it, one recursion level deeper.
    #[inline(always)]
    pub fn nested(&mut self) -> Result<Decoder<'a>, DecodeError> {
        if self.depth_left == 0 {
            return Err(self.error(DecodeErrorKind::RecursionLimitExceeded));
        }
        let len = self.read_len()?;
        let (head, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(Decoder {
            buf: head,
            end: self.end - rest.len(),
            depth_left: self.depth_left - 1,
            source: self.source,
        })
    }

    /// Merges a length-delimited nested message into `message`.
    #[inline]
    pub fn merge_message<M: Message>(&mut self, message: &mut M) -> Result<(), DecodeError> {
        let mut sub = self.nested()?;
        merge_fields(message, &mut sub, None)
    }

    /// Merges a group (the start tag for `field` was just read) into `message`.
    #[inline]
    pub fn merge_group<M: Message>(
        &mut self,
        field: u32,
        message: &mut M,
    ) -> Result<(), DecodeError> {
        if self.depth_left == 0 {
            return Err(self.error(DecodeErrorKind::RecursionLimitExceeded));
        }
        self.depth_left -= 1;
        let r = merge_fields(message, self, Some(field));
        self.depth_left += 1;
        r
    }

    /// Reads a packed run of varints (the tag was just read), calling `each` per value.
    #[inline]
    pub fn read_packed_varints(&mut self, mut each: impl FnMut(u64)) -> Result<(), DecodeError> {
        let mut sub = self.nested_unbounded()?;
        while !sub.buf.is_empty() {
            each(sub.read_varint()?);
        }
        Ok(())
    }

    /// Reads a packed run of 4-byte values, calling `each` per value.
    #[inline]
    pub fn read_packed_fixed32(&mut self, mut each: impl FnMut(u32)) -> Result<(), DecodeError> {
        self.read_packed_fixed::<4>(|a| each(u32::from_le_bytes(a)))
    }

    /// Reads a packed run of 8-byte values, calling `each` per value.
    #[inline]
    pub fn read_packed_fixed64(&mut self, mut each: impl FnMut(u64)) -> Result<(), DecodeError> {
        self.read_packed_fixed::<8>(|a| each(u64::from_le_bytes(a)))
    }

    /// Reads a packed run of `N`-byte values; its length must be a multiple of `N`.
    #[inline(always)]
    fn read_packed_fixed<const N: usize>(
        &mut self,
        mut each: impl FnMut([u8; N]),
    ) -> Result<(), DecodeError> {
        let at = self.offset();
        let bytes = self.read_slice()?;
        if bytes.len() % N != 0 {
            return Err(DecodeError::new(DecodeErrorKind::InvalidPackedLength, at));
        }
        for chunk in bytes.chunks_exact(N) {
            let mut a = [0u8; N];
            a.copy_from_slice(chunk);
            each(a);
        }
        Ok(())
    }

    /// How many length-delimited records tagged `key` come back to back from
    /// here, counting the one whose tag was just read (its length prefix is
    /// next). Reads nothing; stops at the first record that is not whole.
    /// Generated code sizes a repeated field or map with it once, before the
    /// first element, so that decoding the run allocates only once.
    pub fn count_run(&self, key: u32) -> usize {
        // The bytes after the next tag, if it is `key` (tags of fields 1..=2047
        // are compared as bytes).
        let two = [(key as u8) | 0x80, (key >> 7) as u8];
        let after_tag = |s: &'a [u8]| -> Option<&'a [u8]> {
            match s {
                [b, rest @ ..] if key < 0x80 && u32::from(*b) == key => Some(rest),
                [b0, b1, rest @ ..] if (0x80..0x4000).contains(&key) && [*b0, *b1] == two => {
                    Some(rest)
                }
                _ if key < 0x4000 => None,
                _ => match read_varint(s) {
                    Some((k, n)) if k == u64::from(key) => Some(&s[n..]),
                    _ => None,
                },
            }
        };
        let mut rest = self.buf;
        let mut n = 0;
        while let Some((len, k)) = read_varint(rest) {
            let Some(after) = usize::try_from(len)
                .ok()
                .and_then(|len| rest.get(k.checked_add(len)?..))
            else {
                break;
            };
            n += 1;
            match after_tag(after) {
                Some(r) => rest = r,
                None => break,
            }
        }
        n
    }

    /// How many values the packed run of varints whose length prefix is next
    /// holds (0 if the prefix is bad). Reads nothing; used to size the field.
    pub fn count_packed_varints(&self) -> usize {
        let Some(run) = self.peek_delimited() else {
            return 0;
        };
        // Count bytes without the continuation bit, eight at a time: each
        // such byte contributes 1 in its lane, and the multiply sums the lanes.
        let mut chunks = run.chunks_exact(8);
        let mut n = 0;
        for c in &mut chunks {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            let ends = (!u64::from_le_bytes(a) & 0x8080_8080_8080_8080) >> 7;
            n += (ends.wrapping_mul(0x0101_0101_0101_0101) >> 56) as usize;
        }
        n + chunks.remainder().iter().filter(|&&b| b < 0x80).count()
    }

    /// How many `width`-byte values the packed run whose length prefix is next
    /// holds (0 if the prefix is bad). Reads nothing; used to size the field.
    #[inline]
    pub fn count_packed_fixed(&self, width: usize) -> usize {
        self.peek_delimited().map_or(0, |run| run.len() / width)
    }

    // The bytes of the length-delimited value whose prefix is next, if whole.
    #[inline]
    fn peek_delimited(&self) -> Option<&'a [u8]> {
        let (len, k) = read_varint(self.buf)?;
        let len = usize::try_from(len).ok()?;
        self.buf.get(k..k.checked_add(len)?)
    }

    // A sub-decoder for a length-delimited run that holds no messages.
    #[inline(always)]
    fn nested_unbounded(&mut self) -> Result<Decoder<'a>, DecodeError> {
        let len = self.read_len()?;
        let (head, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(Decoder {
            buf: head,
            end: self.end - rest.len(),
            depth_left: self.depth_left,
            source: self.source,
        })
    }

    /// Reads one map entry (the entry's tag was just read): `field` is called
    /// for every field of the entry with its tag and returns false for fields
    /// it does not know, which are skipped. Missing key or value stay default.
    #[inline]
    pub fn read_map_entry<K: Default, V: Default>(
        &mut self,
        mut field: impl FnMut(&mut Decoder<'a>, u32, &mut K, &mut V) -> Result<bool, DecodeError>,
    ) -> Result<(K, V), DecodeError> {
        let mut sub = self.nested()?;
        let mut key = K::default();
        let mut value = V::default();
        while !sub.buf.is_empty() {
            let tag = sub.read_key()?;
            if !field(&mut sub, tag, &mut key, &mut value)? {
                sub.skip_value(tag)?;
            }
        }
        Ok((key, value))
    }

    /// Skips the value of a field whose tag was just read.
    pub fn skip_value(&mut self, key: u32) -> Result<(), DecodeError> {
        match WireType::from_key(key) {
            Some(WireType::Varint) => self.read_varint().map(drop),
            Some(WireType::Fixed64) => self.read_array::<8>().map(drop),
            Some(WireType::Fixed32) => self.read_array::<4>().map(drop),
            Some(WireType::LengthDelimited) => self.read_slice().map(drop),
            Some(WireType::StartGroup) => self.skip_group(key_field(key)),
            Some(WireType::EndGroup) | None => Err(self.error(DecodeErrorKind::InvalidWireType)),
        }
    }

    fn skip_group(&mut self, field: u32) -> Result<(), DecodeError> {
        if self.depth_left == 0 {
            return Err(self.error(DecodeErrorKind::RecursionLimitExceeded));
        }
        self.depth_left -= 1;
        let r = loop {
            if self.buf.is_empty() {
                break Err(self.error(DecodeErrorKind::UnterminatedGroup));
            }
            let key = match self.read_key() {
                Ok(k) => k,
                Err(e) => break Err(e),
            };
            if key & 7 == WireType::EndGroup as u32 {
                break if key_field(key) == field {
                    Ok(())
                } else {
                    Err(self.error(DecodeErrorKind::MismatchedEndGroup))
                };
            }
            if let Err(e) = self.skip_value(key) {
                break Err(e);
            }
        };
        self.depth_left += 1;
        r
    }
}

/// Checks a copied `string` value. Copying first and validating the copy is
/// faster than validating the input in place: the heap copy is word-aligned,
/// and `core::str::from_utf8` checks aligned ASCII a word at a time.
#[inline(always)]
fn utf8_string(bytes: Vec<u8>, at: usize) -> Result<String, DecodeError> {
    String::from_utf8(bytes).map_err(|_| DecodeError::new(DecodeErrorKind::InvalidUtf8, at))
}

/// Decodes fields into `message` until the input ends, or, for a group, until
/// the end-group tag of `group`. Fields the message does not know are kept in
/// its unknown fields, byte for byte.
pub fn merge_fields<M: Message>(
    message: &mut M,
    d: &mut Decoder<'_>,
    group: Option<u32>,
) -> Result<(), DecodeError> {
    while !d.buf.is_empty() {
        let start = d.buf;
        let key = d.read_key()?;
        // Generated `merge_field`s match whole tags and never one with the
        // end-group wire type, so that check waits for the unknown path.
        match message.merge_field(key, d) {
            Ok(true) => {}
            Ok(false) if key & 7 == WireType::EndGroup as u32 => {
                return match group {
                    Some(f) if key_field(key) == f => Ok(()),
                    Some(_) => Err(DecodeError::new(
                        DecodeErrorKind::MismatchedEndGroup,
                        d.offset(),
                    )),
                    None => Err(DecodeError::new(
                        DecodeErrorKind::InvalidWireType,
                        d.offset(),
                    )),
                };
            }
            Ok(false) => {
                if let Err(e) = d.skip_value(key) {
                    return Err(e.push_field(M::NAME, key_field(key)));
                }
                let used = start.len() - d.buf.len();
                message.unknown_fields_mut().push_raw(&start[..used]);
            }
            Err(e) => return Err(e.push_field(M::NAME, key_field(key))),
        }
    }
    match group {
        Some(_) => Err(DecodeError::new(
            DecodeErrorKind::UnterminatedGroup,
            d.offset(),
        )),
        None => Ok(()),
    }
}

/// Appends the unknown-field encoding of a varint field (used for unknown
/// values of closed enums, which protobuf keeps as unknown fields).
pub fn push_unknown_varint(unknown: &mut UnknownFields, field: u32, value: u64) {
    let mut tmp = [0u8; MAX_VARINT_LEN];
    let n = write_varint(u64::from(make_key(field, WireType::Varint)), &mut tmp);
    unknown.push_raw(&tmp[..n]);
    let n = write_varint(value, &mut tmp);
    unknown.push_raw(&tmp[..n]);
}

#[cfg(test)]
mod run_count_tests {
    use super::*;
    use proptest::prelude::*;

    // Records tagged `key` with payloads of `lens` bytes, then `tail`.
    fn run(key: u32, lens: &[usize], tail: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut tmp = [0u8; MAX_VARINT_LEN];
        for &len in lens {
            let n = write_varint(u64::from(key), &mut tmp);
            out.extend_from_slice(&tmp[..n]);
            let n = write_varint(len as u64, &mut tmp);
            out.extend_from_slice(&tmp[..n]);
            out.extend(std::iter::repeat_n(0x80, len));
        }
        out.extend_from_slice(tail);
        out
    }

    proptest! {
        #[test]
        fn count_run_counts_whole_records_of_the_key(
            field in 1u32..5000,
            lens in proptest::collection::vec(0usize..200, 1..20),
            tail in proptest::collection::vec(any::<u8>(), 0..4),
        ) {
            let key = make_key(field, WireType::LengthDelimited);
            let bytes = run(key, &lens, &tail);
            // As after the first record's tag.
            let skip = varint_len(u64::from(key));
            let d = Decoder::new(&bytes[skip..]);
            let n = d.count_run(key);
            // The tail may look like more records, never fewer.
            prop_assert!(n >= lens.len());
            if tail.is_empty() {
                prop_assert_eq!(n, lens.len());
            }
            // A truncated last record is not counted.
            let cut = Decoder::new(&bytes[skip..bytes.len() - tail.len() - 1]);
            prop_assert_eq!(cut.count_run(key), lens.len() - 1);
        }

        #[test]
        fn packed_counts_match_decoded_values(values in proptest::collection::vec(any::<u64>(), 0..60)) {
            let mut payload = Vec::new();
            let mut tmp = [0u8; MAX_VARINT_LEN];
            for &v in &values {
                let n = write_varint(v, &mut tmp);
                payload.extend_from_slice(&tmp[..n]);
            }
            let mut bytes = Vec::new();
            let n = write_varint(payload.len() as u64, &mut tmp);
            bytes.extend_from_slice(&tmp[..n]);
            bytes.extend_from_slice(&payload);
            let d = Decoder::new(&bytes);
            prop_assert_eq!(d.count_packed_varints(), values.len());
            prop_assert_eq!(d.count_packed_fixed(1), payload.len());
            // A length past the end counts nothing.
            let cut = Decoder::new(&bytes[..bytes.len() - 1]);
            prop_assert_eq!(cut.count_packed_varints(), 0);
        }
    }
}
