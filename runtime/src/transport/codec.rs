//! gRPC message framing over HTTP/2 DATA frames.
//!
//! > The repeated sequence of Length-Prefixed-Message items is delivered in
//! > DATA frames: Compressed-Flag (1 byte), Message-Length (4 bytes, big
//! > endian), Message.
//!
//! [`FrameReader`] reassembles frames from DATA chunks without copying when a
//! chunk holds whole frames, and enforces the maximum message size before
//! buffering anything. [`encode_frame`] writes a message's length once,
//! straight into the frame.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::compression::{self, CompressionEncoding, DecompressError};
use super::status::Status;
use crate::encoding::{Encoder, SizeCache};
use crate::message::{Message, decode_bytes_range};

/// Length of the prefix before every message.
pub const HEADER_LEN: usize = 5;

/// Default limit on a received message: 4 MiB, as in other gRPC implementations.
pub const DEFAULT_MAX_RECV_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// Default limit on a sent message (the most the 4-byte prefix can say).
pub const DEFAULT_MAX_SEND_MESSAGE_SIZE: usize = u32::MAX as usize;

/// Messages of a stream that are ready together are sent in one DATA frame
/// of up to about this many bytes: one frame header, one wake-up of the
/// connection and one write instead of one per message.
pub(crate) const BATCH_BYTES: usize = 32 * 1024;

/// Initial capacity of the buffer a stream's messages are encoded into. The
/// frames sent are slices of it, and `BytesMut` allocates at least this much
/// again when it runs out (or takes the block back once every frame sent
/// from it is gone), so small messages share allocations instead of growing
/// a buffer, or allocating one, per message.
pub(crate) const STREAM_BUFFER: usize = 8 * 1024;

/// Reassembles length-prefixed messages from a sequence of DATA chunks.
#[derive(Debug, Default)]
pub struct FrameReader {
    // The current chunk while no frame spans chunks: frames are sliced out of
    // it without copying.
    pending: Bytes,
    // Bytes of a frame that spans chunks.
    partial: BytesMut,
}

/// One received message, still encoded.
#[derive(Debug)]
pub struct Frame {
    /// The compressed flag was set.
    pub compressed: bool,
    /// The message bytes (compressed if `compressed`).
    pub payload: Bytes,
}

impl FrameReader {
    /// A reader with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when no partial frame is buffered.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.partial.is_empty()
    }

    /// Adds a DATA chunk.
    pub fn push(&mut self, chunk: Bytes) {
        if self.partial.is_empty() && self.pending.is_empty() {
            self.pending = chunk;
        } else {
            if !self.pending.is_empty() {
                let pending = std::mem::take(&mut self.pending);
                self.buffer(&pending);
            }
            self.buffer(&chunk);
        }
    }

    /// Appends `bytes` to the frame being assembled. The buffer grows with
    /// the bytes that have arrived, not with what the prefix declares: five
    /// bytes that announce a 4 MiB message cost five bytes, not 4 MiB (a
    /// peer can open many streams and send just that on each). It at least
    /// doubles when it grows, so a large message is copied O(1) times per
    /// byte, and never past the frame's declared end, so the buffer of a
    /// message that arrived whole is exactly its size.
    fn buffer(&mut self, bytes: &[u8]) {
        let have = self.partial.len();
        let need = have + bytes.len();
        if need > self.partial.capacity() {
            // The frame at the head of the buffer, if its prefix is in and
            // within any limit (an oversized one is refused at the next
            // `next_frame`; until then it gets only what arrived).
            let declared = self
                .partial
                .first_chunk::<HEADER_LEN>()
                .map(|h| HEADER_LEN + u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize);
            let target = match declared {
                Some(end) if end > need => need.max(have * 2).min(end),
                _ => need,
            };
            // A new buffer of exactly `target`: `BytesMut::reserve` would
            // round up to twice the old capacity, past the frame's end.
            let mut grown = BytesMut::with_capacity(target);
            grown.extend_from_slice(&self.partial);
            self.partial = grown;
        }
        self.partial.extend_from_slice(bytes);
    }

    /// The next complete frame, if one is buffered. A message longer than
    /// `max_len` is refused as soon as its prefix is read.
    pub fn next_frame(&mut self, max_len: usize) -> Result<Option<Frame>, Status> {
        if self.partial.is_empty() {
            if self.pending.is_empty() {
                return Ok(None);
            }
            if let Some((compressed, len)) = header(&self.pending, max_len)? {
                if self.pending.len() >= HEADER_LEN + len {
                    self.pending.advance(HEADER_LEN);
                    let payload = self.pending.split_to(len);
                    return Ok(Some(Frame {
                        compressed,
                        payload,
                    }));
                }
            }
            // Incomplete: keep the bytes until more arrive (no room is
            // reserved for the rest: see `buffer`).
            let pending = std::mem::take(&mut self.pending);
            self.buffer(&pending);
            return Ok(None);
        }
        match header(&self.partial, max_len)? {
            Some((compressed, len)) if self.partial.len() >= HEADER_LEN + len => {
                self.partial.advance(HEADER_LEN);
                let payload = self.partial.split_to(len).freeze();
                Ok(Some(Frame {
                    compressed,
                    payload,
                }))
            }
            _ => Ok(None),
        }
    }

    /// The next complete message, decoded; `compressed` is set to whether
    /// its frame was (also when decoding it fails). An uncompressed message
    /// that lies whole in the current chunk is decoded right there: slicing
    /// it out as its own `Bytes` first costs an atomic increment and
    /// decrement of the chunk's shared count per message (only when
    /// `in_place`).
    pub(crate) fn next_message<M: Message>(
        &mut self,
        encoding: Option<CompressionEncoding>,
        max_len: usize,
        in_place: bool,
        compressed: &mut bool,
    ) -> Result<Option<M>, Status> {
        if in_place && self.partial.is_empty() {
            if let Some((false, len)) = header(&self.pending, max_len)? {
                let end = HEADER_LEN + len;
                if self.pending.len() >= end {
                    *compressed = false;
                    let message = decode_bytes_range(&self.pending, HEADER_LEN..end);
                    self.pending.advance(end);
                    return message.map(Some).map_err(decode_error);
                }
            }
        }
        let Some(frame) = self.next_frame(max_len)? else {
            return Ok(None);
        };
        *compressed = frame.compressed;
        decode_frame(frame, encoding, max_len).map(Some)
    }
}

fn header(buf: &[u8], max_len: usize) -> Result<Option<(bool, usize)>, Status> {
    let Some(h) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let compressed = match h[0] {
        0 => false,
        1 => true,
        flag => {
            return Err(Status::internal(format!(
                "invalid gRPC message prefix: compressed flag {flag}"
            )));
        }
    };
    let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize;
    if len > max_len {
        return Err(Status::resource_exhausted(format!(
            "message of {len} bytes exceeds the limit of {max_len} bytes"
        )));
    }
    Ok(Some((compressed, len)))
}

/// Decodes a received frame into `M`: decompressed with `encoding` when the
/// frame says so, limited to `max_len` bytes after decompression.
pub fn decode_frame<M: Message>(
    frame: Frame,
    encoding: Option<CompressionEncoding>,
    max_len: usize,
) -> Result<M, Status> {
    let payload = if frame.compressed {
        let Some(enc) = encoding else {
            return Err(Status::internal(
                "received a compressed message but no grpc-encoding was negotiated",
            ));
        };
        let mut out = BytesMut::new();
        compression::decompress(enc, &frame.payload, &mut out, max_len).map_err(|e| match e {
            DecompressError::TooLarge => Status::resource_exhausted(format!(
                "decompressed message exceeds the limit of {max_len} bytes"
            )),
            other => Status::internal(format!("cannot decompress message: {other}")),
        })?;
        out.freeze()
    } else {
        frame.payload
    };
    M::decode_bytes(&payload).map_err(decode_error)
}

fn decode_error(e: crate::error::DecodeError) -> Status {
    Status::internal(format!("cannot decode message: {e}"))
}

/// Encodes `message` as one frame into `buf` and returns it, compressed with
/// `compression` if set. `sizes` is scratch space reused across messages.
pub fn encode_frame<M: Message>(
    message: &M,
    compression: Option<CompressionEncoding>,
    max_len: usize,
    sizes: &mut SizeCache,
    buf: &mut BytesMut,
) -> Result<Bytes, Status> {
    encode_frame_into(message, compression, max_len, sizes, buf)?;
    Ok(buf.split().freeze())
}

/// Like [`encode_frame`], but appends the frame to whatever `buf` already
/// holds, so that several messages can go out in one DATA frame. On error
/// `buf` is left as it was.
pub fn encode_frame_into<M: Message>(
    message: &M,
    compression: Option<CompressionEncoding>,
    max_len: usize,
    sizes: &mut SizeCache,
    buf: &mut BytesMut,
) -> Result<(), Status> {
    sizes.clear();
    let len = message.compute_size(sizes);
    encode_sized_frame(message, len, compression, max_len, sizes, buf)
}

/// Appends `message` as one frame to `buf`, its size `len` and the lengths
/// inside it already computed into `sizes` (by `compute_size`). A message
/// over `max_len`, or over what the 4-byte prefix can say, is refused with
/// `RESOURCE_EXHAUSTED`; on error `buf` is left as it was.
// Always inlined: it is the body of `encode_frame_into`, run per message of
// a stream, where a call of six arguments costs a measurable share.
#[inline(always)]
pub(crate) fn encode_sized_frame<M: Message>(
    message: &M,
    len: usize,
    compression: Option<CompressionEncoding>,
    max_len: usize,
    sizes: &SizeCache,
    buf: &mut BytesMut,
) -> Result<(), Status> {
    let Some(prefix) = u32::try_from(len).ok().filter(|_| len <= max_len) else {
        return Err(Status::resource_exhausted(format!(
            "message of {len} bytes exceeds the send limit of {} bytes",
            max_len.min(u32::MAX as usize)
        )));
    };
    match compression {
        None => {
            buf.reserve(HEADER_LEN + len);
            buf.put_u8(0);
            buf.put_u32(prefix);
            message.write_to(&mut Encoder::new(buf, sizes));
        }
        Some(enc) => {
            let mut plain = BytesMut::with_capacity(len);
            message.write_to(&mut Encoder::new(&mut plain, sizes));
            buf.reserve(HEADER_LEN + len / 2);
            buf.put_u8(1);
            buf.put_u32(0);
            let start = buf.len();
            let compressed = compression::compress(enc, &plain, buf)
                .map_err(|e| Status::internal(format!("cannot compress message: {e}")))
                .and_then(|()| {
                    u32::try_from(buf.len() - start)
                        .map_err(|_| Status::resource_exhausted("compressed message exceeds 4 GiB"))
                });
            match compressed {
                Ok(n) => buf[start - 4..start].copy_from_slice(&n.to_be_bytes()),
                Err(status) => {
                    buf.truncate(start - HEADER_LEN);
                    return Err(status);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::status::Code;
    use super::*;
    use crate::wkt::StringValue;

    fn frame_of(text: &str) -> Bytes {
        let msg = StringValue {
            value: text.into(),
            ..Default::default()
        };
        encode_frame(
            &msg,
            None,
            usize::MAX,
            &mut SizeCache::new(),
            &mut BytesMut::new(),
        )
        .expect("encodes")
    }

    #[test]
    fn frames_split_across_chunks_and_packed_in_one() {
        let a = frame_of("hello");
        let b = frame_of("world, a longer message");
        assert_eq!(&a[..5], &[0, 0, 0, 0, 7]);
        let mut all = BytesMut::new();
        all.extend_from_slice(&a);
        all.extend_from_slice(&b);
        let all = all.freeze();
        // Every split point, including inside the prefix.
        for cut in 0..=all.len() {
            let mut r = FrameReader::new();
            let mut got = Vec::new();
            for chunk in [all.slice(..cut), all.slice(cut..)] {
                r.push(chunk);
                while let Some(f) = r.next_frame(1024).expect("valid") {
                    let m: StringValue = decode_frame(f, None, 1024).expect("decodes");
                    got.push(m.value);
                }
            }
            assert_eq!(got, ["hello", "world, a longer message"], "cut at {cut}");
            assert!(r.is_empty());
        }
    }

    #[test]
    fn a_prefix_reserves_nothing_for_bytes_that_have_not_arrived() {
        let mut r = FrameReader::new();
        // Five bytes declaring a 4 MiB message (the limit), then nothing.
        r.push(Bytes::from_static(&[0, 0, 0x40, 0, 0]));
        assert!(r.next_frame(4 << 20).expect("within the limit").is_none());
        assert!(r.partial.capacity() < 64, "{}", r.partial.capacity());
        // Then the rest, in pieces: the buffer at most doubles past what
        // arrived, reallocates O(log n) times, and ends exactly full.
        let body = vec![7u8; 4 << 20];
        let mut grew = 0;
        let mut capacity = r.partial.capacity();
        for piece in body.chunks(1000) {
            r.push(Bytes::copy_from_slice(piece));
            if r.partial.capacity() != capacity {
                grew += 1;
                capacity = r.partial.capacity();
            }
            assert!(
                capacity <= 2 * r.partial.len(),
                "{capacity} for {}",
                r.partial.len()
            );
        }
        assert!(grew <= 24, "grew {grew} times");
        assert_eq!(r.partial.capacity(), HEADER_LEN + body.len());
        let f = r.next_frame(4 << 20).expect("valid").expect("complete");
        assert_eq!(f.payload.len(), body.len());
        assert!(r.is_empty());
    }

    #[test]
    fn oversized_and_malformed_prefixes_are_refused() {
        let mut r = FrameReader::new();
        r.push(Bytes::from_static(&[0, 0, 0, 4, 1]));
        assert_eq!(
            r.next_frame(1024).map(|_| ()).unwrap_err().code(),
            Code::ResourceExhausted
        );
        let mut r = FrameReader::new();
        r.push(Bytes::from_static(&[2, 0, 0, 0, 0]));
        assert_eq!(
            r.next_frame(1024).map(|_| ()).unwrap_err().code(),
            Code::Internal
        );
        let f = Frame {
            compressed: true,
            payload: Bytes::new(),
        };
        assert!(decode_frame::<StringValue>(f, None, 10).is_err());
    }

    #[test]
    fn compressed_round_trip_and_limit() {
        let msg = StringValue {
            value: "z".repeat(10_000),
            ..Default::default()
        };
        let frame = encode_frame(
            &msg,
            Some(CompressionEncoding::Gzip),
            usize::MAX,
            &mut SizeCache::new(),
            &mut BytesMut::new(),
        )
        .expect("encodes");
        assert_eq!(frame[0], 1);
        assert!(frame.len() < 1000);
        let mut r = FrameReader::new();
        r.push(frame);
        let f = r.next_frame(1 << 20).expect("valid").expect("a frame");
        let again = Frame {
            compressed: f.compressed,
            payload: f.payload.clone(),
        };
        let back: StringValue =
            decode_frame(f, Some(CompressionEncoding::Gzip), 1 << 20).expect("decodes");
        assert_eq!(back, msg);
        let err = decode_frame::<StringValue>(again, Some(CompressionEncoding::Gzip), 100)
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted);
    }
}
