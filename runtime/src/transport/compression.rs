//! Message compression: the encodings rust-rpc speaks, the
//! `grpc-encoding` / `grpc-accept-encoding` headers that negotiate them, and
//! compressing and decompressing one message.
//!
//! From PROTOCOL-HTTP2.md:
//!
//! > Content-Coding → "identity" / "gzip" / "deflate" / "snappy" / {_custom_}
//! > Message-Encoding → "grpc-encoding" Content-Coding
//! > Message-Accept-Encoding → "grpc-accept-encoding" Content-Coding \*("," Content-Coding)
//!
//! > Compression contexts are NOT maintained over message boundaries,
//! > implementations must create a new context for each message in the stream.
//!
//! Each message is one complete gzip stream (RFC 1952), or with the `zstd`
//! feature (on by default) one or more zstd frames (RFC 8878). The
//! (de)compressor state is kept per thread and reset between messages, which
//! is what "a new context" means without paying for a new allocation every
//! time.
//!
//! ```
//! use bytes::BytesMut;
//! use rust_rpc::transport::compression::{CompressionEncoding, compress, decompress};
//!
//! let mut packed = BytesMut::new();
//! compress(CompressionEncoding::Gzip, &[7; 1000], &mut packed).unwrap();
//! assert!(packed.len() < 100);
//!
//! let mut unpacked = BytesMut::new();
//! decompress(CompressionEncoding::Gzip, &packed, &mut unpacked, 1 << 20).unwrap();
//! assert_eq!(&unpacked[..], &[7; 1000][..]);
//!
//! // A limit below the real size is an error, found before the memory is spent.
//! assert!(decompress(CompressionEncoding::Gzip, &packed, &mut BytesMut::new(), 999).is_err());
//! ```

use core::cell::RefCell;
use core::fmt;
use std::io;

use bytes::BytesMut;
use flate2::{Compress, Compression, Crc, Decompress, FlushCompress, FlushDecompress, Status};
use http::HeaderValue;

#[cfg(feature = "zstd")]
mod zstd_codec;

/// Name of the header that says how a stream's messages are compressed.
pub const GRPC_ENCODING: &str = "grpc-encoding";
/// Name of the header that lists the encodings a peer accepts.
pub const GRPC_ACCEPT_ENCODING: &str = "grpc-accept-encoding";

/// A message compression rust-rpc can apply and undo. "identity" (no
/// compression) is not one: it is `Option::None` wherever an
/// `Option<CompressionEncoding>` is taken (see [`is_identity`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CompressionEncoding {
    /// gzip (RFC 1952).
    Gzip,
    /// Zstandard (RFC 8878), token `zstd`; only with the `zstd` feature.
    #[cfg(feature = "zstd")]
    Zstd,
}

impl CompressionEncoding {
    /// Every encoding this build supports, in order of preference.
    #[cfg(not(feature = "zstd"))]
    pub const ALL: &'static [CompressionEncoding] = &[CompressionEncoding::Gzip];
    /// Every encoding this build supports, in order of preference.
    #[cfg(feature = "zstd")]
    pub const ALL: &'static [CompressionEncoding] =
        &[CompressionEncoding::Gzip, CompressionEncoding::Zstd];

    /// The Content-Coding token, as in `grpc-encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            #[cfg(feature = "zstd")]
            Self::Zstd => "zstd",
        }
    }

    /// The `grpc-encoding` header value.
    pub fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(self.as_str())
    }

    /// The encoding a `grpc-encoding` value names, or `None` for one this
    /// build does not support and for "identity" (tell those apart with
    /// [`is_identity`]). Content-codings are case-insensitive.
    pub fn from_header_value(value: &[u8]) -> Option<Self> {
        let value = trim_ows(value);
        Self::ALL
            .iter()
            .copied()
            .find(|enc| value.eq_ignore_ascii_case(enc.as_str().as_bytes()))
    }

    /// Same as the free function [`is_identity`].
    pub fn is_identity(value: &[u8]) -> bool {
        is_identity(value)
    }
}

impl fmt::Display for CompressionEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a `grpc-encoding` value is "identity": no compression, so a
/// compressed-flag of 1 with it is an error.
pub fn is_identity(value: &[u8]) -> bool {
    trim_ows(value).eq_ignore_ascii_case(b"identity")
}

/// `accept_encoding_header(CompressionEncoding::ALL)`, without building it
/// for each call.
pub(crate) fn supported_accept_encoding() -> HeaderValue {
    #[cfg(feature = "zstd")]
    let value = "gzip,zstd";
    #[cfg(not(feature = "zstd"))]
    let value = "gzip";
    HeaderValue::from_static(value)
}

/// The encoding a server uses for its response: the one the handler asked
/// for if the client listed it in `grpc-accept-encoding`, else none. The
/// spec has a server send uncompressed what the client could not read,
/// rather than pick another encoding for it.
pub(crate) fn response_encoding(
    requested: Option<CompressionEncoding>,
    client_accepts: &[CompressionEncoding],
) -> Option<CompressionEncoding> {
    requested.filter(|enc| client_accepts.contains(enc))
}

/// The `grpc-accept-encoding` value for `encodings`: their tokens joined
/// with `,` (`gzip`), or `identity` for none. Identity is always accepted,
/// so it is not listed next to others.
pub fn accept_encoding_header(encodings: &[CompressionEncoding]) -> HeaderValue {
    let mut value = String::new();
    for (i, enc) in encodings.iter().enumerate() {
        if encodings[..i].contains(enc) {
            continue;
        }
        if !value.is_empty() {
            value.push(',');
        }
        value.push_str(enc.as_str());
    }
    if value.is_empty() {
        return HeaderValue::from_static("identity");
    }
    // Tokens only: always a valid header value.
    HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("identity"))
}

/// The supported encodings a `grpc-accept-encoding` value lists, in its
/// order, without duplicates; "identity" and unknown codings are skipped.
pub fn parse_accept_encoding(value: &HeaderValue) -> Vec<CompressionEncoding> {
    let mut out = Vec::new();
    for token in value.as_bytes().split(|b| *b == b',') {
        if let Some(enc) = CompressionEncoding::from_header_value(token) {
            if !out.contains(&enc) {
                out.push(enc);
            }
        }
    }
    out
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Why a message could not be decompressed.
#[derive(Debug)]
#[non_exhaustive]
pub enum DecompressError {
    /// The output would exceed the limit. Decompression stopped there, so a
    /// small message that expands enormously costs no more than the limit.
    /// For zstd also a frame whose header asks for a window (memory the
    /// decoder allocates) larger than both the limit and 8 MiB.
    TooLarge,
    /// The input is not valid data in the encoding (bad header, bad deflate
    /// or zstd stream, checksum mismatch, truncated).
    Corrupt(io::Error),
}

impl fmt::Display for DecompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge => f.write_str("decompressed message exceeds the size limit"),
            Self::Corrupt(e) => write!(f, "corrupt compressed message: {e}"),
        }
    }
}

impl std::error::Error for DecompressError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::TooLarge => None,
            Self::Corrupt(e) => Some(e),
        }
    }
}

fn corrupt(what: &'static str) -> DecompressError {
    DecompressError::Corrupt(io::Error::new(io::ErrorKind::InvalidData, what))
}

/// Compresses `input` with `encoding`, appending to `out`.
pub fn compress(encoding: CompressionEncoding, input: &[u8], out: &mut BytesMut) -> io::Result<()> {
    match encoding {
        CompressionEncoding::Gzip => gzip(input, out),
        #[cfg(feature = "zstd")]
        CompressionEncoding::Zstd => zstd_codec::compress(input, out),
    }
}

/// Decompresses `input` (one message) with `encoding`, appending to `out`.
/// Producing more than `limit` bytes is [`DecompressError::TooLarge`]; `out`
/// never grows past its length plus `limit`.
pub fn decompress(
    encoding: CompressionEncoding,
    input: &[u8],
    out: &mut BytesMut,
    limit: usize,
) -> Result<(), DecompressError> {
    let start = out.len();
    let result = match encoding {
        CompressionEncoding::Gzip => gunzip(input, out, limit),
        #[cfg(feature = "zstd")]
        CompressionEncoding::Zstd => zstd_codec::decompress(input, out, limit),
    };
    if result.is_err() {
        out.truncate(start);
    }
    result
}

// gzip framing (RFC 1952 §2.3): a 10-byte header, a raw deflate stream, and
// a trailer of CRC-32 and input size mod 2^32, both little-endian.
const ID1: u8 = 0x1f;
const ID2: u8 = 0x8b;
const CM_DEFLATE: u8 = 8;
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const FRESERVED: u8 = 0xe0;
/// No flags, no modification time, no extra flags, OS "unknown" (255).
const HEADER: [u8; 10] = [ID1, ID2, CM_DEFLATE, 0, 0, 0, 0, 0, 0, 0xff];
const TRAILER_LEN: usize = 8;

thread_local! {
    static DEFLATE: RefCell<Option<Compress>> = const { RefCell::new(None) };
    static INFLATE: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's deflate state, reset. The state is taken out
/// while in use, so a nested call (or one during thread teardown) simply
/// gets a fresh one.
fn with_deflate<R>(f: impl FnOnce(&mut Compress) -> R) -> R {
    let mut state = match DEFLATE.try_with(|cell| cell.borrow_mut().take()) {
        Ok(Some(mut state)) => {
            state.reset();
            state
        }
        _ => Compress::new(Compression::default(), false),
    };
    let result = f(&mut state);
    let _ = DEFLATE.try_with(|cell| *cell.borrow_mut() = Some(state));
    result
}

/// Like [`with_deflate`], for inflating.
fn with_inflate<R>(f: impl FnOnce(&mut Decompress) -> R) -> R {
    let mut state = match INFLATE.try_with(|cell| cell.borrow_mut().take()) {
        Ok(Some(mut state)) => {
            state.reset(false);
            state
        }
        _ => Decompress::new(false),
    };
    let result = f(&mut state);
    let _ = INFLATE.try_with(|cell| *cell.borrow_mut() = Some(state));
    result
}

fn gzip(input: &[u8], out: &mut BytesMut) -> io::Result<()> {
    out.extend_from_slice(&HEADER);
    with_deflate(|state| deflate(state, input, out))?;
    let mut crc = Crc::new();
    crc.update(input);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(input.len() as u32).to_le_bytes());
    Ok(())
}

/// Deflates all of `input` into `out`, writing straight into its spare
/// capacity.
fn deflate(state: &mut Compress, input: &[u8], out: &mut BytesMut) -> io::Result<()> {
    let mut consumed = 0;
    loop {
        let remaining = input.len() - consumed;
        // Incompressible input comes out a little larger than it went in;
        // one more round handles the rare case where this is not enough.
        let want = remaining + 64;
        if out.capacity() - out.len() < 64 {
            out.reserve(want);
        }
        let start = out.len();
        let window = (out.capacity() - start).min(want);
        out.resize(start + window, 0);
        let (in_before, out_before) = (state.total_in(), state.total_out());
        let status = state
            .compress(&input[consumed..], &mut out[start..], FlushCompress::Finish)
            .map_err(io::Error::other);
        let read = (state.total_in() - in_before) as usize;
        let written = (state.total_out() - out_before) as usize;
        out.truncate(start + written);
        consumed += read;
        match status? {
            Status::StreamEnd => return Ok(()),
            Status::Ok | Status::BufError if read > 0 || written > 0 => {}
            // No progress with room to write: should not happen; do not spin.
            Status::Ok | Status::BufError => {
                return Err(io::Error::other("deflate made no progress"));
            }
        }
    }
}

fn gunzip(input: &[u8], out: &mut BytesMut, limit: usize) -> Result<(), DecompressError> {
    let mut rest = input;
    let mut budget = limit;
    // Concatenated gzip members decode as their concatenation (RFC 1952
    // §2.2), as gzip and most gRPC implementations' readers do.
    loop {
        let body = skip_header(rest)?;
        let start = out.len();
        let used = with_inflate(|state| inflate(state, body, out, budget))?;
        let produced = out.len() - start;
        budget -= produced;
        let trailer = body
            .get(used..used + TRAILER_LEN)
            .ok_or_else(|| corrupt("truncated gzip trailer"))?;
        let mut crc = Crc::new();
        crc.update(&out[start..]);
        if trailer[..4] != crc.sum().to_le_bytes() {
            return Err(corrupt("gzip CRC-32 mismatch"));
        }
        if trailer[4..] != (produced as u32).to_le_bytes() {
            return Err(corrupt("gzip length mismatch"));
        }
        rest = &body[used + TRAILER_LEN..];
        if rest.is_empty() {
            return Ok(());
        }
    }
}

/// Checks a gzip member header; returns what follows it.
fn skip_header(input: &[u8]) -> Result<&[u8], DecompressError> {
    let truncated = || corrupt("truncated gzip header");
    let fixed = input.get(..10).ok_or_else(truncated)?;
    if fixed[0] != ID1 || fixed[1] != ID2 {
        return Err(corrupt("not gzip data"));
    }
    if fixed[2] != CM_DEFLATE {
        return Err(corrupt("unknown gzip compression method"));
    }
    let flags = fixed[3];
    if flags & FRESERVED != 0 {
        return Err(corrupt("reserved gzip header flags set"));
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let len = input.get(at..at + 2).ok_or_else(truncated)?;
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let field = input.get(at..).ok_or_else(truncated)?;
            let nul = field.iter().position(|b| *b == 0).ok_or_else(truncated)?;
            at += nul + 1;
        }
    }
    if flags & FHCRC != 0 {
        let header = input.get(..at).ok_or_else(truncated)?;
        let stored = input.get(at..at + 2).ok_or_else(truncated)?;
        let mut crc = Crc::new();
        crc.update(header);
        if stored != &crc.sum().to_le_bytes()[..2] {
            return Err(corrupt("gzip header CRC mismatch"));
        }
        at += 2;
    }
    input.get(at..).ok_or_else(truncated)
}

/// Smallest stretch of output inflated in one call; less than this left in
/// `out` and it grows.
const MIN_WINDOW: usize = 512;
/// First growth, for an empty `out`.
const FIRST_WINDOW: usize = 4096;

/// Inflates one raw deflate stream from the start of `input` into `out`,
/// producing at most `budget` bytes. Returns how much input the stream took.
fn inflate(
    state: &mut Decompress,
    input: &[u8],
    out: &mut BytesMut,
    budget: usize,
) -> Result<usize, DecompressError> {
    let first = out.len();
    loop {
        let consumed = state.total_in() as usize;
        let produced = out.len() - first;
        let left = budget - produced;
        if left == 0 {
            return probe_end(state, input);
        }
        if out.capacity() - out.len() < MIN_WINDOW.min(left) {
            // Grow geometrically, but never past the budget: the output is
            // untrusted, only the limit bounds it.
            let grow = produced.max(input.len() * 2).max(FIRST_WINDOW).min(left);
            grow_exact(out, grow);
        }
        let start = out.len();
        // Zero only what this round may fill, not all the spare capacity.
        let window = (out.capacity() - start)
            .min(left)
            .min(produced.max(64 * 1024));
        out.resize(start + window, 0);
        let status = state.decompress(&input[consumed..], &mut out[start..], FlushDecompress::None);
        let read = state.total_in() as usize - consumed;
        let written = (state.total_out() as usize) - produced;
        out.truncate(start + written);
        match status {
            Err(e) => {
                return Err(DecompressError::Corrupt(io::Error::new(
                    io::ErrorKind::InvalidData,
                    e,
                )));
            }
            Ok(Status::StreamEnd) => return Ok(state.total_in() as usize),
            Ok(Status::Ok | Status::BufError) if read == 0 && written == 0 => {
                // It wants more input and there is none.
                return Err(corrupt("truncated deflate stream"));
            }
            Ok(Status::Ok | Status::BufError) => {}
        }
    }
}

/// The budget is spent: the stream must end here without another byte.
fn probe_end(state: &mut Decompress, input: &[u8]) -> Result<usize, DecompressError> {
    let mut byte = [0u8; 1];
    loop {
        let (in_before, out_before) = (state.total_in(), state.total_out());
        let consumed = in_before as usize;
        let status = state.decompress(&input[consumed..], &mut byte, FlushDecompress::None);
        if state.total_out() > out_before {
            return Err(DecompressError::TooLarge);
        }
        match status {
            Err(e) => {
                return Err(DecompressError::Corrupt(io::Error::new(
                    io::ErrorKind::InvalidData,
                    e,
                )));
            }
            Ok(Status::StreamEnd) => return Ok(state.total_in() as usize),
            Ok(_) if state.total_in() == in_before => {
                return Err(corrupt("truncated deflate stream"));
            }
            Ok(_) => {}
        }
    }
}

/// Makes room for `additional` more bytes in `out`, allocating exactly that
/// (`BytesMut::reserve` may double, which could overshoot the limit).
fn grow_exact(out: &mut BytesMut, additional: usize) {
    let Some(needed) = out.len().checked_add(additional) else {
        return;
    };
    if out.capacity() >= needed {
        return;
    }
    let mut bigger = BytesMut::with_capacity(needed);
    bigger.extend_from_slice(out);
    *out = bigger;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::{Read, Write};

    #[test]
    fn supported_accept_encoding_lists_all() {
        assert_eq!(
            supported_accept_encoding(),
            accept_encoding_header(CompressionEncoding::ALL)
        );
    }

    fn gz(input: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        compress(CompressionEncoding::Gzip, input, &mut out).unwrap();
        out
    }

    fn gunz(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
        let mut out = BytesMut::new();
        decompress(CompressionEncoding::Gzip, input, &mut out, limit)?;
        Ok(out.to_vec())
    }

    fn reference_gzip(input: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::best());
        e.write_all(input).unwrap();
        e.finish().unwrap()
    }

    fn text(n: usize) -> Vec<u8> {
        (0..n).map(|i| b"the quick brown fox "[i % 20]).collect()
    }

    #[test]
    fn names_and_header_values() {
        assert_eq!(CompressionEncoding::Gzip.as_str(), "gzip");
        assert_eq!(CompressionEncoding::Gzip.to_string(), "gzip");
        assert_eq!(CompressionEncoding::Gzip.header_value(), "gzip");
        assert_eq!(
            CompressionEncoding::from_header_value(b"gzip"),
            Some(CompressionEncoding::Gzip)
        );
        assert_eq!(
            CompressionEncoding::from_header_value(b" GZip "),
            Some(CompressionEncoding::Gzip)
        );
        for other in [&b"identity"[..], b"deflate", b"snappy", b"", b"gzip2"] {
            assert_eq!(CompressionEncoding::from_header_value(other), None);
        }
        assert!(is_identity(b"identity"));
        assert!(CompressionEncoding::is_identity(b"Identity"));
        assert!(!is_identity(b"gzip"));
    }

    #[test]
    fn accept_encoding_format() {
        assert_eq!(accept_encoding_header(&[CompressionEncoding::Gzip]), "gzip");
        assert_eq!(
            accept_encoding_header(&[CompressionEncoding::Gzip, CompressionEncoding::Gzip]),
            "gzip"
        );
        assert_eq!(accept_encoding_header(&[]), "identity");
        let parse = |v: &'static str| parse_accept_encoding(&HeaderValue::from_static(v));
        assert_eq!(parse("gzip"), [CompressionEncoding::Gzip]);
        assert_eq!(parse("identity,deflate,gzip"), [CompressionEncoding::Gzip]);
        assert_eq!(parse("identity, gzip ,gzip"), [CompressionEncoding::Gzip]);
        assert_eq!(parse("identity"), []);
        assert_eq!(parse(""), []);
        assert_eq!(parse(",,,"), []);
        assert_eq!(
            parse_accept_encoding(&accept_encoding_header(CompressionEncoding::ALL)),
            CompressionEncoding::ALL
        );
    }

    #[test]
    fn output_is_standard_gzip() {
        for input in [Vec::new(), b"x".to_vec(), text(100_000)] {
            let packed = gz(&input);
            assert_eq!(&packed[..3], &[0x1f, 0x8b, 8]);
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&packed[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, input);
        }
        assert!(gz(&text(100_000)).len() < 2_000);
    }

    #[test]
    fn reads_other_gzip_writers() {
        let input = text(50_000);
        assert_eq!(gunz(&reference_gzip(&input), usize::MAX).unwrap(), input);
        // Every optional header field: extra, name, comment, header CRC.
        let mut e = flate2::GzBuilder::new()
            .extra(vec![1, 2, 3])
            .filename("message.bin")
            .comment("hello")
            .mtime(1_700_000_000)
            .write(Vec::new(), Compression::fast());
        e.write_all(&input).unwrap();
        let mut packed = e.finish().unwrap();
        assert_eq!(gunz(&packed, usize::MAX).unwrap(), input);
        // flate2 does not write FHCRC: add one by hand (RFC 1952 §2.3.1).
        let header_len = 10 + 2 + 3 + "message.bin".len() + 1 + "hello".len() + 1;
        let mut crc = Crc::new();
        packed[3] |= FHCRC;
        crc.update(&packed[..header_len]);
        let crc16 = (crc.sum() as u16).to_le_bytes();
        packed.splice(header_len..header_len, crc16);
        assert_eq!(gunz(&packed, usize::MAX).unwrap(), input);
        packed[header_len] ^= 1;
        assert!(matches!(
            gunz(&packed, usize::MAX),
            Err(DecompressError::Corrupt(_))
        ));
    }

    #[test]
    fn concatenated_members_decode_as_one() {
        let mut packed = reference_gzip(b"hello, ");
        packed.extend_from_slice(&gz(b"world"));
        assert_eq!(gunz(&packed, 100).unwrap(), b"hello, world");
        assert!(matches!(gunz(&packed, 11), Err(DecompressError::TooLarge)));
        assert_eq!(gunz(&packed, 12).unwrap(), b"hello, world");
    }

    #[test]
    fn limit_is_exact() {
        let input = text(10_000);
        let packed = gz(&input);
        assert_eq!(gunz(&packed, 10_000).unwrap(), input);
        assert!(matches!(
            gunz(&packed, 9_999),
            Err(DecompressError::TooLarge)
        ));
        assert!(matches!(gunz(&packed, 0), Err(DecompressError::TooLarge)));
        assert_eq!(gunz(&gz(b""), 0).unwrap(), b"");
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        // 64 MiB of zeros packs into ~64 KiB.
        let bomb = reference_gzip(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < 100_000, "{}", bomb.len());
        let mut out = BytesMut::new();
        let limit = 1 << 20;
        let err = decompress(CompressionEncoding::Gzip, &bomb, &mut out, limit).unwrap_err();
        assert!(matches!(err, DecompressError::TooLarge));
        assert_eq!(
            err.to_string(),
            "decompressed message exceeds the size limit"
        );
        // Never allocated beyond the limit, and nothing half-written is left.
        assert!(out.capacity() <= limit, "{}", out.capacity());
        assert!(out.is_empty());
    }

    #[test]
    fn appends_after_existing_bytes() {
        let mut out = BytesMut::from(&b"prefix:"[..]);
        decompress(CompressionEncoding::Gzip, &gz(b"body"), &mut out, 4).unwrap();
        assert_eq!(&out[..], b"prefix:body");
        let mut out = BytesMut::from(&b"prefix:"[..]);
        assert!(decompress(CompressionEncoding::Gzip, &gz(b"body"), &mut out, 3).is_err());
        assert_eq!(&out[..], b"prefix:");
        let mut out = BytesMut::from(&b"prefix:"[..]);
        compress(CompressionEncoding::Gzip, b"body", &mut out).unwrap();
        assert_eq!(gunz(&out[7..], 4).unwrap(), b"body");
    }

    #[test]
    fn a_large_spare_capacity_is_reused() {
        let input = text(1_000);
        let mut out = BytesMut::with_capacity(1 << 16);
        let ptr = out.as_ptr();
        decompress(CompressionEncoding::Gzip, &gz(&input), &mut out, 1 << 20).unwrap();
        assert_eq!(out.as_ptr(), ptr);
        assert_eq!(&out[..], &input[..]);
    }

    #[test]
    fn corrupt_inputs_are_errors() {
        let good = gz(&text(5_000)).to_vec();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "truncated gzip header"),
            (good[..9].to_vec(), "truncated gzip header"),
            (b"not gzip at all".to_vec(), "not gzip data"),
            (
                {
                    let mut v = good.clone();
                    v[2] = 7;
                    v
                },
                "unknown gzip compression method",
            ),
            (
                {
                    let mut v = good.clone();
                    v[3] = 0x20;
                    v
                },
                "reserved gzip header flags set",
            ),
            (good[..good.len() - 1].to_vec(), "truncated gzip trailer"),
            (good[..good.len() / 2].to_vec(), "truncated deflate stream"),
            (
                {
                    let mut v = good.clone();
                    let n = v.len();
                    v[n - 8] ^= 1;
                    v
                },
                "gzip CRC-32 mismatch",
            ),
            (
                {
                    let mut v = good.clone();
                    let n = v.len();
                    v[n - 1] ^= 1;
                    v
                },
                "gzip length mismatch",
            ),
            (
                {
                    let mut v = good.clone();
                    v.extend_from_slice(b"junk");
                    v
                },
                "truncated gzip header",
            ),
        ];
        for (input, why) in cases {
            match gunz(&input, 1 << 20) {
                Err(DecompressError::Corrupt(e)) => assert_eq!(e.to_string(), why),
                other => panic!("{why}: {other:?}"),
            }
        }
        // A broken deflate body (block type 3 is invalid), and a header that
        // claims a file name, so the body is read from the wrong place.
        let mut v = good.clone();
        v[10] = 0xff;
        assert!(matches!(
            gunz(&v, 1 << 20),
            Err(DecompressError::Corrupt(_))
        ));
        let mut v = good.clone();
        v[3] = FNAME;
        assert!(matches!(
            gunz(&v, 1 << 20),
            Err(DecompressError::Corrupt(_))
        ));
    }

    #[test]
    fn state_is_reset_between_messages() {
        // Same input, same output, however many came before on this thread.
        let first = gz(&text(3_000));
        let _ = gz(b"something else entirely");
        let _ = gunz(&first[..first.len() / 2], 1 << 20);
        assert_eq!(gz(&text(3_000)), first);
        assert_eq!(gunz(&first, 1 << 20).unwrap(), text(3_000));
    }

    #[test]
    fn accept_encoding_we_send_lists_what_is_built() {
        #[cfg(feature = "zstd")]
        assert_eq!(supported_accept_encoding(), "gzip,zstd");
        #[cfg(not(feature = "zstd"))]
        assert_eq!(supported_accept_encoding(), "gzip");
    }

    #[test]
    fn a_response_uses_only_what_the_client_accepts() {
        let gzip = CompressionEncoding::Gzip;
        assert_eq!(response_encoding(Some(gzip), &[gzip]), Some(gzip));
        // Uncompressed, not some other encoding, as the spec says.
        assert_eq!(response_encoding(Some(gzip), &[]), None);
        assert_eq!(response_encoding(None, &[gzip]), None);
    }

    proptest! {
        #[test]
        fn round_trip(input in proptest::collection::vec(any::<u8>(), 0..5_000), repeat in 1usize..50) {
            let input: Vec<u8> = input.iter().copied().cycle().take(input.len() * repeat).collect();
            let packed = gz(&input);
            prop_assert_eq!(gunz(&packed, input.len()).unwrap(), input.clone());
            if !input.is_empty() {
                prop_assert!(matches!(gunz(&packed, input.len() - 1), Err(DecompressError::TooLarge)));
            }
        }

        #[test]
        fn arbitrary_input_never_panics(mut input in proptest::collection::vec(any::<u8>(), 0..300), gzip_header in any::<bool>()) {
            if gzip_header {
                input.splice(0..0, HEADER);
            }
            let _ = gunz(&input, 1 << 16);
        }
    }
}

#[cfg(all(test, feature = "zstd"))]
mod zstd_tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;
    use zstd::zstd_safe::CParameter;

    const ZSTD: CompressionEncoding = CompressionEncoding::Zstd;
    const GZIP: CompressionEncoding = CompressionEncoding::Gzip;

    fn zs(input: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        compress(ZSTD, input, &mut out).unwrap();
        out
    }

    fn unzs(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
        let mut out = BytesMut::new();
        decompress(ZSTD, input, &mut out, limit)?;
        Ok(out.to_vec())
    }

    /// What a streaming writer produces: no content size in the header, so
    /// the reader cannot size anything up front.
    fn reference_zstd(input: &[u8], level: i32, window_log: Option<u32>) -> Vec<u8> {
        let mut raw = zstd::stream::raw::Encoder::new(level).unwrap();
        if let Some(log) = window_log {
            raw.set_parameter(CParameter::WindowLog(log)).unwrap();
        }
        let mut e = zstd::stream::write::Encoder::with_encoder(Vec::new(), raw);
        e.write_all(input).unwrap();
        e.finish().unwrap()
    }

    fn text(n: usize) -> Vec<u8> {
        (0..n).map(|i| b"the quick brown fox "[i % 20]).collect()
    }

    #[test]
    fn names_and_negotiation() {
        assert_eq!(ZSTD.as_str(), "zstd");
        assert_eq!(ZSTD.to_string(), "zstd");
        assert_eq!(ZSTD.header_value(), "zstd");
        assert_eq!(
            CompressionEncoding::from_header_value(b" ZStd "),
            Some(ZSTD)
        );
        assert_eq!(CompressionEncoding::from_header_value(b"zstd2"), None);
        assert_eq!(CompressionEncoding::ALL, [GZIP, ZSTD]);

        assert_eq!(accept_encoding_header(&[ZSTD, GZIP, ZSTD]), "zstd,gzip");
        let parse = |v: &'static str| parse_accept_encoding(&HeaderValue::from_static(v));
        assert_eq!(parse("zstd"), [ZSTD]);
        assert_eq!(parse("identity, zstd ,gzip,ZSTD"), [ZSTD, GZIP]);
        assert_eq!(parse("gzip,deflate"), [GZIP]);
        assert_eq!(
            parse_accept_encoding(&supported_accept_encoding()),
            [GZIP, ZSTD]
        );

        // A client that does not list zstd gets no zstd: uncompressed, also
        // when it would take gzip.
        assert_eq!(response_encoding(Some(ZSTD), &[GZIP]), None);
        assert_eq!(response_encoding(Some(ZSTD), &[]), None);
        assert_eq!(response_encoding(Some(ZSTD), &[GZIP, ZSTD]), Some(ZSTD));
        assert_eq!(response_encoding(Some(GZIP), &[ZSTD, GZIP]), Some(GZIP));
    }

    #[test]
    fn output_is_standard_zstd_with_size_and_checksum() {
        for input in [Vec::new(), b"x".to_vec(), text(100_000)] {
            let packed = zs(&input);
            assert_eq!(&packed[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
            assert_eq!(
                zstd::zstd_safe::get_frame_content_size(&packed).ok(),
                Some(Some(input.len() as u64))
            );
            assert_eq!(zstd::stream::decode_all(&packed[..]).unwrap(), input);
            // Frame header descriptor, bit 2: a content checksum follows.
            assert_ne!(packed[4] & 0x04, 0);
        }
        assert!(zs(&text(100_000)).len() < 2_000);
    }

    #[test]
    fn reads_other_zstd_writers() {
        let input = text(50_000);
        let streamed = reference_zstd(&input, 19, None);
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&streamed).ok(),
            Some(None)
        );
        assert_eq!(unzs(&streamed, usize::MAX).unwrap(), input);
        assert_eq!(unzs(&streamed, 50_000).unwrap(), input);
        assert!(matches!(
            unzs(&streamed, 49_999),
            Err(DecompressError::TooLarge)
        ));
        let one_shot = zstd::bulk::compress(&input, 1).unwrap();
        assert_eq!(unzs(&one_shot, 50_000).unwrap(), input);
    }

    #[test]
    fn frames_and_skippable_frames_decode_as_one() {
        let mut packed = reference_zstd(b"hello, ", 3, None);
        // A skippable frame (RFC 8878 §3.1.2): magic 0x184D2A5?, size, data.
        packed.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
        packed.extend_from_slice(&zs(b"world"));
        assert_eq!(unzs(&packed, 100).unwrap(), b"hello, world");
        assert_eq!(unzs(&packed, 12).unwrap(), b"hello, world");
        assert!(matches!(unzs(&packed, 11), Err(DecompressError::TooLarge)));
        assert!(matches!(unzs(&packed, 7), Err(DecompressError::TooLarge)));
    }

    #[test]
    fn limit_is_exact() {
        let input = text(10_000);
        for packed in [zs(&input).to_vec(), reference_zstd(&input, 3, None)] {
            assert_eq!(unzs(&packed, 10_000).unwrap(), input);
            assert!(matches!(
                unzs(&packed, 9_999),
                Err(DecompressError::TooLarge)
            ));
            assert!(matches!(unzs(&packed, 0), Err(DecompressError::TooLarge)));
        }
        assert_eq!(unzs(&zs(b""), 0).unwrap(), b"");
        assert_eq!(unzs(&reference_zstd(b"", 3, None), 0).unwrap(), b"");
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 64 << 20];
        let limit = 1 << 20;
        // One that states its size is refused from the header; one that does
        // not is decoded until the budget is spent.
        let sized = zs(&zeros).to_vec();
        let unstated = reference_zstd(&zeros, 1, None);
        for bomb in [sized, unstated] {
            assert!(bomb.len() < 100_000, "{}", bomb.len());
            let mut out = BytesMut::new();
            let err = decompress(ZSTD, &bomb, &mut out, limit).unwrap_err();
            assert!(matches!(err, DecompressError::TooLarge));
            assert!(out.capacity() <= limit, "{}", out.capacity());
            assert!(out.is_empty());
        }
    }

    #[test]
    fn a_window_past_the_limit_and_8_mib_is_refused() {
        // Small content, but the header asks the decoder for a 16 MiB window.
        let packed = reference_zstd(b"tiny", 3, Some(24));
        assert!(matches!(
            unzs(&packed, 1 << 20),
            Err(DecompressError::TooLarge)
        ));
        assert_eq!(unzs(&packed, 16 << 20).unwrap(), b"tiny");
        // 8 MiB, what a level-19 streaming writer asks for, is always fine.
        let packed = reference_zstd(b"tiny", 3, Some(23));
        assert_eq!(unzs(&packed, 4).unwrap(), b"tiny");
    }

    #[test]
    fn a_stated_size_is_allocated_exactly_and_spare_capacity_reused() {
        let input = text(100_000);
        let mut out = BytesMut::new();
        decompress(ZSTD, &zs(&input), &mut out, 1 << 20).unwrap();
        assert_eq!(out.capacity(), input.len());
        assert_eq!(&out[..], &input[..]);

        let input = text(1_000);
        let mut out = BytesMut::with_capacity(1 << 16);
        let ptr = out.as_ptr();
        decompress(ZSTD, &zs(&input), &mut out, 1 << 20).unwrap();
        assert_eq!(out.as_ptr(), ptr);
        assert_eq!(&out[..], &input[..]);
    }

    #[test]
    fn appends_after_existing_bytes() {
        let mut out = BytesMut::from(&b"prefix:"[..]);
        decompress(ZSTD, &zs(b"body"), &mut out, 4).unwrap();
        assert_eq!(&out[..], b"prefix:body");
        let mut out = BytesMut::from(&b"prefix:"[..]);
        assert!(decompress(ZSTD, &zs(b"body"), &mut out, 3).is_err());
        assert_eq!(&out[..], b"prefix:");
        let mut out = BytesMut::from(&b"prefix:"[..]);
        compress(ZSTD, b"body", &mut out).unwrap();
        assert_eq!(unzs(&out[7..], 4).unwrap(), b"body");
    }

    #[test]
    fn corrupt_inputs_are_errors() {
        let good = zs(&text(5_000)).to_vec();
        let streamed = reference_zstd(&text(5_000), 3, None);
        let flip = |v: &[u8], at: usize| {
            let mut v = v.to_vec();
            v[at] ^= 0x10;
            v
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("not zstd", b"not zstd at all".to_vec()),
            ("gzip, not zstd", {
                let mut gz = BytesMut::new();
                compress(GZIP, b"hello", &mut gz).unwrap();
                gz.to_vec()
            }),
            ("header only", good[..6].to_vec()),
            ("truncated", good[..good.len() / 2].to_vec()),
            ("truncated stream", streamed[..streamed.len() / 2].to_vec()),
            ("no checksum", good[..good.len() - 4].to_vec()),
            ("bad checksum", flip(&good, good.len() - 1)),
            ("bad body", flip(&good, good.len() / 2)),
            ("trailing junk", {
                let mut v = good.clone();
                v.extend_from_slice(b"junk");
                v
            }),
        ];
        for (why, input) in cases {
            match unzs(&input, 1 << 20) {
                Err(DecompressError::Corrupt(e)) => {
                    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{why}");
                }
                other => panic!("{why}: {other:?}"),
            }
        }
        assert_eq!(
            unzs(&[], 10).unwrap_err().to_string(),
            "corrupt compressed message: empty zstd message"
        );
        // A good message right after bad ones: the context was reset.
        assert_eq!(unzs(&good, 1 << 20).unwrap(), text(5_000));
    }

    #[test]
    fn state_is_reset_between_messages() {
        let first = zs(&text(3_000));
        let _ = zs(b"something else entirely");
        let _ = unzs(&first[..first.len() / 2], 1 << 20);
        let streamed = reference_zstd(&text(9_000), 3, None);
        let _ = unzs(&streamed[..streamed.len() / 2], 1 << 20);
        assert_eq!(zs(&text(3_000)), first);
        assert_eq!(unzs(&first, 1 << 20).unwrap(), text(3_000));
    }

    proptest! {
        #[test]
        fn round_trip(input in proptest::collection::vec(any::<u8>(), 0..5_000), repeat in 1usize..50) {
            let input: Vec<u8> = input.iter().copied().cycle().take(input.len() * repeat).collect();
            let packed = zs(&input);
            prop_assert_eq!(unzs(&packed, input.len()).unwrap(), input.clone());
            if !input.is_empty() {
                prop_assert!(matches!(unzs(&packed, input.len() - 1), Err(DecompressError::TooLarge)));
            }
        }

        #[test]
        fn arbitrary_input_never_panics(mut input in proptest::collection::vec(any::<u8>(), 0..300), magic in any::<bool>(), limit in 0usize..1 << 16) {
            if magic {
                input.splice(0..0, [0x28, 0xb5, 0x2f, 0xfd]);
            }
            let _ = unzs(&input, limit);
        }
    }
}
