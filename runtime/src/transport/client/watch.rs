//! Watching a client connection's incoming frames for what h2 does not
//! tell: the last stream a GOAWAY says the server processed (h2 fails the
//! streams past it and the ones the connection's end cuts off with the same
//! error, though only the first may be sent again), whether the GOAWAY was
//! gRPC's `too_many_pings` (then the channel doubles its keepalive time,
//! gRFC A8), and whether anything arrived at all (the keepalive pings only
//! a connection that has gone silent).
//!
//! [`Watched`] wraps the byte stream under h2 and reads each frame's header
//! as the bytes pass (`frames::Scanner`); writes pass through untouched.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::super::frames::{ENHANCE_YOUR_CALM, GOAWAY, Scanner, TOO_MANY_PINGS};

/// No GOAWAY came.
const NO_GOAWAY: u32 = u32::MAX;
/// A GOAWAY came but its last stream could not be read (its payload was
/// split between reads): as if every stream had been processed, so that
/// nothing is sent twice.
const ALL_PROCESSED: u32 = 0x7fff_ffff;

/// What one connection's watch has seen.
#[derive(Debug)]
pub(super) struct ConnState {
    goaway_last: AtomicU32,
    too_many_pings: AtomicBool,
    read: AtomicBool,
}

impl Default for ConnState {
    fn default() -> Self {
        Self {
            goaway_last: AtomicU32::new(NO_GOAWAY),
            too_many_pings: AtomicBool::new(false),
            read: AtomicBool::new(false),
        }
    }
}

impl ConnState {
    /// Whether the server refused `stream` unprocessed: a GOAWAY came whose
    /// last processed stream is below it (RFC 9113 section 6.8: such a
    /// request may be retried).
    pub(super) fn refused(&self, stream: u32) -> bool {
        let last = self.goaway_last.load(Ordering::Acquire);
        last != NO_GOAWAY && stream > last
    }

    /// Whether a GOAWAY came.
    pub(super) fn saw_goaway(&self) -> bool {
        self.goaway_last.load(Ordering::Acquire) != NO_GOAWAY
    }

    /// Whether the server ended the connection for too many pings.
    pub(super) fn too_many_pings(&self) -> bool {
        self.too_many_pings.load(Ordering::Relaxed)
    }

    /// Whether anything arrived since the last time this was asked.
    pub(super) fn take_read(&self) -> bool {
        self.read.swap(false, Ordering::Relaxed)
    }

    fn goaway(&self, payload: &[u8]) {
        let last = match payload.first_chunk::<4>() {
            Some(id) => u32::from_be_bytes(*id) & 0x7fff_ffff,
            None => ALL_PROCESSED,
        };
        // A second GOAWAY may only lower it (RFC 9113 6.8).
        self.goaway_last.fetch_min(last, Ordering::AcqRel);
        let calm = payload
            .get(4..8)
            .is_some_and(|code| code == ENHANCE_YOUR_CALM.to_be_bytes());
        if calm && payload.get(8..) == Some(TOO_MANY_PINGS) {
            self.too_many_pings.store(true, Ordering::Relaxed);
        }
    }
}

/// A client connection's byte stream, watched.
#[derive(Debug)]
pub(super) struct Watched<Io> {
    io: Io,
    scanner: Scanner,
    state: Arc<ConnState>,
}

impl<Io> Watched<Io> {
    pub(super) fn new(io: Io, state: Arc<ConnState>) -> Self {
        Self {
            io,
            scanner: Scanner::new(0),
            state,
        }
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Watched<Io> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        let read = &buf.filled()[before..];
        if !read.is_empty() {
            this.state.read.store(true, Ordering::Relaxed);
            let state = &this.state;
            this.scanner.scan(read, |head, payload| {
                if head.kind == GOAWAY {
                    state.goaway(payload);
                }
            });
        }
        Poll::Ready(Ok(()))
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Watched<Io> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::frames::goaway_frame;
    use super::*;

    #[test]
    fn streams_past_the_last_are_refused_and_the_rest_are_not() {
        let state = ConnState::default();
        assert!(!state.refused(1), "no GOAWAY yet");
        state.goaway(&goaway_frame(5, 0, b"")[9..]);
        assert!(!state.refused(5));
        assert!(state.refused(7));
        // A later GOAWAY with a higher last stream changes nothing.
        state.goaway(&goaway_frame(9, 0, b"")[9..]);
        assert!(state.refused(7));
        assert!(!state.too_many_pings());
    }

    #[test]
    fn an_unreadable_last_stream_refuses_nothing() {
        let state = ConnState::default();
        state.goaway(&[0, 0]);
        assert!(!state.refused(1_000_001));
    }

    #[test]
    fn too_many_pings_is_recognised() {
        let state = ConnState::default();
        state.goaway(&goaway_frame(3, ENHANCE_YOUR_CALM, TOO_MANY_PINGS)[9..]);
        assert!(state.too_many_pings());
        let other = ConnState::default();
        other.goaway(&goaway_frame(3, ENHANCE_YOUR_CALM, b"too_many_resets")[9..]);
        assert!(!other.too_many_pings());
    }
}
