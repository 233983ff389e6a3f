//! The [`Message`] trait that every generated message implements.

use core::cell::RefCell;
use core::fmt;

use bytes::{Buf, BufMut, Bytes};

use crate::encoding::{Decoder, Encoder, SizeCache, delimited_len, merge_fields, varint_len};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::unknown::UnknownFields;

/// Decodes a message from `bytes[range]` as [`Message::decode_bytes`] would
/// from that slice as its own `Bytes` (error offsets count from the range's
/// start), without making it one. (The transport decodes received messages
/// in place in their chunk this way.)
#[cfg(feature = "transport")]
pub(crate) fn decode_bytes_range<M: Message>(
    bytes: &Bytes,
    range: core::ops::Range<usize>,
) -> Result<M, DecodeError> {
    let mut message = M::default();
    merge_fields(
        &mut message,
        &mut Decoder::from_bytes_range(bytes, range),
        None,
    )?;
    message.check_required()?;
    Ok(message)
}

thread_local! {
    // One size cache per thread, reused by every encode on it so that
    // encoding a nested message allocates nothing after warm-up.
    static SIZE_CACHE: RefCell<SizeCache> = const { RefCell::new(SizeCache::new()) };
}

/// Runs `f` with an empty size cache: the thread's, or for a message whose
/// `compute_size` records nothing, a fresh one, which costs nothing.
#[inline(always)]
fn sizes_for<M: Message, R>(f: impl FnOnce(&mut SizeCache) -> R) -> R {
    if M::USES_SIZE_CACHE {
        with_size_cache(f)
    } else {
        f(&mut SizeCache::new())
    }
}

fn with_size_cache<R>(f: impl FnOnce(&mut SizeCache) -> R) -> R {
    SIZE_CACHE.with(|cell| match cell.try_borrow_mut() {
        // Borrowed in place: nothing moves in and out of the thread-local.
        Ok(mut cache) => {
            cache.clear();
            f(&mut cache)
        }
        // A re-entrant encode (from a `Debug` impl, say) works too; it just
        // doesn't reuse the allocation.
        Err(_) => f(&mut SizeCache::new()),
    })
}

/// A protobuf message: generated structs implement this, and generated
/// services and the transport use it to encode and decode.
///
/// The required methods are written by the generator; use the provided ones
/// (`encode`, `decode`, ...).
pub trait Message: Default + Clone + PartialEq + fmt::Debug + Send + Sync + 'static {
    /// The message's full protobuf name, e.g. `google.protobuf.Timestamp`.
    const NAME: &'static str;

    /// Whether [`Message::compute_size`] may record lengths in its
    /// [`SizeCache`] (it has message, map or packed varint fields). When
    /// false, encoding skips the per-thread cache.
    const USES_SIZE_CACHE: bool = true;

    /// Computes the encoded length, recording the length of every nested
    /// value in `sizes` in pre-order for [`Message::write_to`].
    fn compute_size(&self, sizes: &mut SizeCache) -> usize;

    /// Writes the fields; `w` must come from a [`SizeCache`] this message
    /// just filled with [`Message::compute_size`].
    fn write_to<B: BufMut + ?Sized>(&self, w: &mut Encoder<'_, B>);

    /// Decodes one field whose tag `key` was just read. Returns `Ok(false)`,
    /// reading nothing, for fields the message does not declare (or declares
    /// with another wire type); the caller keeps those as unknown fields.
    /// End-group tags are passed in too, and must get `Ok(false)`.
    fn merge_field(&mut self, key: u32, d: &mut Decoder<'_>) -> Result<bool, DecodeError>;

    /// Fields read from the wire that the schema does not declare.
    fn unknown_fields(&self) -> &UnknownFields;

    /// Mutable access to the unknown fields.
    fn unknown_fields_mut(&mut self) -> &mut UnknownFields;

    /// Checks that every proto2 `required` field, here and in nested
    /// messages, is set; returns the name of a missing one.
    fn check_initialized(&self) -> Result<(), &'static str> {
        Ok(())
    }

    /// Number of bytes [`Message::encode`] writes.
    fn encoded_len(&self) -> usize {
        sizes_for::<Self, _>(|sizes| self.compute_size(sizes))
    }

    /// Encodes the message into `buf`, failing if `buf` has too little room.
    fn encode(&self, buf: &mut impl BufMut) -> Result<(), EncodeError> {
        sizes_for::<Self, _>(|sizes| {
            let len = self.compute_size(sizes);
            if buf.remaining_mut() < len {
                return Err(EncodeError::new(len, buf.remaining_mut()));
            }
            self.write_to(&mut Encoder::new(buf, sizes));
            Ok(())
        })
    }

    /// Encodes the message into a new `Vec` of exactly the encoded length.
    fn encode_to_vec(&self) -> Vec<u8> {
        sizes_for::<Self, _>(|sizes| {
            let len = self.compute_size(sizes);
            let mut out = Vec::with_capacity(len);
            self.write_to(&mut Encoder::new(&mut out, sizes));
            out
        })
    }

    /// Encodes the message prefixed with its length as a varint.
    fn encode_length_delimited(&self, buf: &mut impl BufMut) -> Result<(), EncodeError> {
        sizes_for::<Self, _>(|sizes| {
            let len = self.compute_size(sizes);
            let total = delimited_len(len);
            if buf.remaining_mut() < total {
                return Err(EncodeError::new(total, buf.remaining_mut()));
            }
            let mut w = Encoder::new(buf, sizes);
            w.put_varint(len as u64);
            self.write_to(&mut w);
            Ok(())
        })
    }

    /// Encodes into a growable `buf` using a caller-owned size cache (for
    /// loops that encode many messages on one task); returns the length.
    fn encode_with_cache(&self, sizes: &mut SizeCache, buf: &mut bytes::BytesMut) -> usize {
        sizes.clear();
        let len = self.compute_size(sizes);
        buf.reserve(len);
        self.write_to(&mut Encoder::new(buf, sizes));
        len
    }

    /// Decodes a message from `buf`, consuming all of it.
    fn decode(buf: impl Buf) -> Result<Self, DecodeError> {
        let mut message = Self::default();
        message.merge(buf)?;
        Ok(message)
    }

    /// Decodes a message from `bytes`; `bytes::Bytes` fields share its storage.
    fn decode_bytes(bytes: &Bytes) -> Result<Self, DecodeError> {
        let mut message = Self::default();
        merge_fields(&mut message, &mut Decoder::from_bytes(bytes), None)?;
        message.check_required()?;
        Ok(message)
    }

    /// Decodes a message from a slice.
    fn decode_slice(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut message = Self::default();
        message.merge_slice(bytes)?;
        Ok(message)
    }

    /// Decodes a length-prefixed message from the front of `buf`.
    fn decode_length_delimited(mut buf: impl Buf) -> Result<Self, DecodeError> {
        let chunk = buf.chunk();
        let (len, n) = match crate::encoding::read_varint(chunk) {
            Some(v) => v,
            None if buf.remaining() > chunk.len() => {
                let bytes = buf.copy_to_bytes(buf.remaining());
                return Self::decode_length_delimited(bytes);
            }
            None => return Err(DecodeError::new(DecodeErrorKind::Truncated, 0)),
        };
        buf.advance(n);
        if len > buf.remaining() as u64 {
            return Err(DecodeError::new(DecodeErrorKind::LengthOutOfBounds, n));
        }
        Self::decode(buf.take(len as usize))
    }

    /// Merges the fields encoded in `buf` into this message, per protobuf's
    /// merge rules (scalars replaced, repeated fields appended, messages merged).
    fn merge(&mut self, mut buf: impl Buf) -> Result<(), DecodeError> {
        let remaining = buf.remaining();
        if buf.chunk().len() == remaining {
            let r = self.merge_slice(buf.chunk());
            buf.advance(remaining);
            r
        } else {
            let bytes = buf.copy_to_bytes(remaining);
            merge_fields(self, &mut Decoder::from_bytes(&bytes), None)?;
            self.check_required()
        }
    }

    /// Merges the fields encoded in `bytes` into this message.
    fn merge_slice(&mut self, bytes: &[u8]) -> Result<(), DecodeError> {
        merge_fields(self, &mut Decoder::new(bytes), None)?;
        self.check_required()
    }

    /// Like [`Message::merge_slice`], without the check for required fields.
    fn merge_partial(&mut self, bytes: &[u8]) -> Result<(), DecodeError> {
        merge_fields(self, &mut Decoder::new(bytes), None)
    }

    /// [`Message::check_initialized`] as a decode error.
    fn check_required(&self) -> Result<(), DecodeError> {
        self.check_initialized().map_err(|field| {
            DecodeError::new(DecodeErrorKind::MissingRequiredField, 0).with_detail(field)
        })
    }

    /// Resets every field to its default and drops unknown fields.
    fn clear(&mut self) {
        *self = Self::default();
    }
}

/// Size of a length-delimited field holding `len` bytes, plus its tag of `key_len` bytes.
#[inline(always)]
pub const fn field_len(key_len: usize, len: usize) -> usize {
    key_len + varint_len(len as u64) + len
}
