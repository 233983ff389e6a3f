//! zstd (RFC 8878), one message at a time, with the guarantees the gzip path
//! gives: the output never grows past the limit, corrupt input is an error,
//! and the contexts are kept per thread and reset between messages. zstd's
//! own window memory is capped as well, at the larger of the limit and 8 MiB.

use core::cell::RefCell;
use std::io;

use bytes::BytesMut;
use zstd::zstd_safe::zstd_sys::ZSTD_ErrorCode;
use zstd::zstd_safe::{
    self, CCtx, CParameter, DCtx, DParameter, ErrorCode, InBuffer, OutBuffer, ResetDirective,
};

use super::{DecompressError, FIRST_WINDOW, MIN_WINDOW, corrupt, grow_exact};

/// zstd's own default level (3): most of the gain at a fraction of the cost
/// of the higher levels.
const LEVEL: i32 = zstd_safe::CLEVEL_DEFAULT;

/// The window every decoder should accept (8 MiB, RFC 8878 §3.1.1.1.2).
const WINDOW_LOG_RECOMMENDED: u32 = 23;
/// The largest `windowLogMax` zstd takes (`ZSTD_WINDOWLOG_MAX` in zstd.h,
/// which the bindings do not export).
const WINDOW_LOG_MAX: u32 = if cfg!(target_pointer_width = "64") {
    31
} else {
    30
};

thread_local! {
    static CCTX: RefCell<Option<CCtx<'static>>> = const { RefCell::new(None) };
    static DCTX: RefCell<Option<DCtx<'static>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's compression context, session reset. As with
/// deflate, the context is taken out while in use, so a nested call (or one
/// during thread teardown) gets a fresh one.
fn with_cctx<R>(f: impl FnOnce(&mut CCtx<'static>) -> io::Result<R>) -> io::Result<R> {
    let mut cctx = match CCTX.try_with(|cell| cell.borrow_mut().take()) {
        Ok(Some(cctx)) => cctx,
        _ => new_cctx()?,
    };
    let result = cctx
        .reset(ResetDirective::SessionOnly)
        .map_err(compress_error)
        .and_then(|_| f(&mut cctx));
    let _ = CCTX.try_with(|cell| *cell.borrow_mut() = Some(cctx));
    result
}

fn new_cctx() -> io::Result<CCtx<'static>> {
    let mut cctx = CCtx::try_create().ok_or_else(|| io::Error::other("zstd: out of memory"))?;
    cctx.set_parameter(CParameter::CompressionLevel(LEVEL))
        .map_err(compress_error)?;
    // A checksum per frame, as gzip has its CRC-32: corruption is caught
    // instead of decoding to a different message.
    cctx.set_parameter(CParameter::ChecksumFlag(true))
        .map_err(compress_error)?;
    Ok(cctx)
}

/// Like [`with_cctx`], for decompressing.
fn with_dctx<R>(
    f: impl FnOnce(&mut DCtx<'static>) -> Result<R, DecompressError>,
) -> Result<R, DecompressError> {
    let mut dctx = match DCTX.try_with(|cell| cell.borrow_mut().take()) {
        Ok(Some(dctx)) => dctx,
        _ => DCtx::try_create().ok_or_else(|| {
            DecompressError::Corrupt(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "zstd: out of memory",
            ))
        })?,
    };
    // After a corrupt message the context is mid-frame: reset, not dropped,
    // so bad input does not cost a new context each time.
    let result = dctx
        .reset(ResetDirective::SessionOnly)
        .map_err(decompress_error)
        .and_then(|_| f(&mut dctx));
    let _ = DCTX.try_with(|cell| *cell.borrow_mut() = Some(dctx));
    result
}

fn compress_error(code: ErrorCode) -> io::Error {
    io::Error::other(format!("zstd: {}", zstd_safe::get_error_name(code)))
}

fn decompress_error(code: ErrorCode) -> DecompressError {
    if zstd_safe::is_error_kind(
        code,
        ZSTD_ErrorCode::ZSTD_error_frameParameter_windowTooLarge,
    ) {
        // The frame needs more memory for its window than the limit allows.
        return DecompressError::TooLarge;
    }
    DecompressError::Corrupt(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("zstd: {}", zstd_safe::get_error_name(code)),
    ))
}

/// Compresses `input` as one zstd frame, appending to `out`.
pub(super) fn compress(input: &[u8], out: &mut BytesMut) -> io::Result<()> {
    // One-shot compression writes the content size into the frame header,
    // which lets the reader size its buffer exactly and skip zstd's window
    // buffer. It needs the worst case up front: the input plus a little, as
    // incompressible blocks are stored raw.
    let bound = zstd_safe::compress_bound(input.len());
    let start = out.len();
    out.resize(start + bound, 0);
    match with_cctx(|cctx| {
        cctx.compress2(&mut out[start..], input)
            .map_err(compress_error)
    }) {
        Ok(written) => {
            out.truncate(start + written);
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Decompresses `input` (one message: one or more frames, decoded as their
/// concatenation as RFC 8878 §3.1 has it) into `out`, producing at most
/// `limit` bytes. The caller truncates `out` on error.
pub(super) fn decompress(
    input: &[u8],
    out: &mut BytesMut,
    limit: usize,
) -> Result<(), DecompressError> {
    if input.is_empty() {
        return Err(corrupt("empty zstd message"));
    }
    with_dctx(|dctx| {
        // zstd allocates a frame's window itself, as big as the header asks
        // (once per thread, then reused). A message that fits never needs
        // one bigger than the limit, but streaming writers, which do not
        // know the size, ask for a window by level: 8 MiB is what RFC 8878
        // §3.1.1.1.2 recommends every decoder accept, so that much is always
        // allowed.
        let window_log = limit
            .checked_ilog2()
            .unwrap_or(0)
            .clamp(WINDOW_LOG_RECOMMENDED, WINDOW_LOG_MAX);
        dctx.set_parameter(DParameter::WindowLogMax(window_log))
            .map_err(decompress_error)?;
        frames(dctx, input, out, limit)
    })
}

fn frames(
    dctx: &mut DCtx<'static>,
    input: &[u8],
    out: &mut BytesMut,
    limit: usize,
) -> Result<(), DecompressError> {
    let first = out.len();
    let mut read = 0;
    let mut at_frame_start = true;
    // Where a spent budget is probed: any byte landing here is one too many.
    let mut probe = [0u8; 1];
    loop {
        let produced = out.len() - first;
        let left = limit - produced;
        let mut declared = None;
        if at_frame_start {
            if read == input.len() {
                return Ok(());
            }
            // A header that states the frame's size: beyond the budget is
            // refused before any work; within it, room for exactly that lets
            // zstd decode in one pass. zstd checks the size it states.
            if let Ok(Some(size)) = zstd_safe::get_frame_content_size(&input[read..]) {
                if size > left as u64 {
                    return Err(DecompressError::TooLarge);
                }
                declared = Some(size as usize);
            }
        }
        let start = out.len();
        let (result, consumed, written) = if left == 0 {
            step(dctx, &input[read..], &mut probe)
        } else {
            let need = declared.unwrap_or(MIN_WINDOW.min(left));
            if out.capacity() - start < need {
                // As for deflate: grow geometrically, but never past the
                // budget, since the input is untrusted.
                let grow = declared
                    .unwrap_or_else(|| produced.max(input.len() * 2).max(FIRST_WINDOW))
                    .min(left);
                grow_exact(out, grow);
            }
            // Zero only what this round may fill.
            let window = (out.capacity() - start)
                .min(left)
                .min(produced.max(64 * 1024).max(declared.unwrap_or(0)));
            out.resize(start + window, 0);
            let stepped = step(dctx, &input[read..], &mut out[start..]);
            out.truncate(start + stepped.2);
            stepped
        };
        if left == 0 && written > 0 {
            return Err(DecompressError::TooLarge);
        }
        read += consumed;
        match result {
            Err(code) => return Err(decompress_error(code)),
            // 0: the frame is complete and flushed.
            Ok(0) => at_frame_start = true,
            // It wants more input and there is none.
            Ok(_) if consumed == 0 && written == 0 => {
                return Err(corrupt("truncated zstd frame"));
            }
            Ok(_) => at_frame_start = false,
        }
    }
}

/// One call into the streaming decoder: its result, the input it read and
/// the output it wrote.
fn step(
    dctx: &mut DCtx<'static>,
    input: &[u8],
    output: &mut [u8],
) -> (Result<usize, ErrorCode>, usize, usize) {
    let mut src = InBuffer::around(input);
    let mut dst = OutBuffer::around(output);
    let result = dctx.decompress_stream(&mut dst, &mut src);
    (result, src.pos(), dst.pos())
}
