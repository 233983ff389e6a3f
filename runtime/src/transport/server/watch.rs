//! Watching a connection's frames go by, for what h2 does not tell: the
//! client's PINGs (h2 answers them itself), which gRPC's keepalive policy
//! bounds (gRFC A8: a client that pings more often than the server allows
//! gets `GOAWAY(ENHANCE_YOUR_CALM)` with debug data `too_many_pings`), and
//! whether anything was read at all, which the server's own keepalive pings
//! wait for.
//!
//! [`Watched`] wraps the connection's byte stream under h2. It reads each
//! frame's 9-byte header as the bytes pass, both ways, and skips payloads
//! (RFC 9113 section 4.1); nothing is copied or buffered. When the policy
//! trips it writes its own GOAWAY, at a frame boundary of what h2 writes,
//! since h2 sends none with debug data, and then fails the stream, which
//! ends the connection.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::super::frames::{
    ACK, DATA, ENHANCE_YOUR_CALM, HEADERS, PING, PREFACE_LEN, Scanner, TOO_MANY_PINGS, goaway_frame,
};

/// How many pings out of policy a client may send before the connection is
/// ended: gRPC's `maxPingStrikes` (grpc-go) and `GRPC_ARG_HTTP2_MAX_PING_STRIKES`'s
/// default (C core); the third ping too many ends it.
const MAX_PING_STRIKES: u32 = 2;

/// Without calls on the connection (and pings without calls not permitted),
/// a client may ping once in this long: the keepalive it could be doing
/// should be off. grpc-go's `defaultPingTimeout`.
const IDLE_PING_INTERVAL: Duration = Duration::from_secs(2 * 60 * 60);

/// What the server allows of a client's pings (grpc-go's
/// `EnforcementPolicy`).
#[derive(Clone, Copy, Debug)]
pub(super) struct PingPolicy {
    /// Pings closer together than this are out of policy.
    pub(super) min_interval: Duration,
    /// Whether pings are allowed at all while the connection has no call.
    pub(super) permit_without_calls: bool,
}

/// What the connection's loop and its byte stream tell each other.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Anything read since the keepalive last looked.
    read: AtomicBool,
    /// The connection has calls open (as the loop last saw).
    has_calls: AtomicBool,
    /// The policy ended the connection.
    too_many_pings: AtomicBool,
}

impl Shared {
    /// Bytes arrived.
    pub(super) fn note_read(&self) {
        self.read.store(true, Ordering::Relaxed);
    }

    /// Whether anything arrived since the last time this was asked.
    pub(super) fn take_read(&self) -> bool {
        self.read.swap(false, Ordering::Relaxed)
    }

    pub(super) fn set_has_calls(&self, has: bool) {
        self.has_calls.store(has, Ordering::Relaxed);
    }

    /// Whether the connection was ended for too many pings.
    pub(super) fn too_many_pings(&self) -> bool {
        self.too_many_pings.load(Ordering::Relaxed)
    }
}

/// Where the watch's own GOAWAY is.
#[derive(Debug)]
enum Goaway {
    None,
    // To write, from `written` on.
    Pending { frame: Vec<u8>, written: usize },
    // Written: the stream now fails.
    Sent,
}

/// A connection's byte stream, watched. See the module's documentation.
#[derive(Debug)]
pub(super) struct Watched<Io> {
    io: Io,
    shared: Arc<Shared>,
    policy: PingPolicy,
    inbound: Scanner,
    outbound: Scanner,
    // The highest stream the client opened, for the GOAWAY.
    last_stream: u32,
    last_ping: Option<Instant>,
    strikes: u32,
    // The server sent HEADERS or DATA since the client's last ping: the
    // next ping is in policy whatever its timing (as grpc-go and C core).
    sent_since_ping: bool,
    goaway: Goaway,
}

impl<Io> Watched<Io> {
    pub(super) fn new(io: Io, policy: PingPolicy, shared: Arc<Shared>) -> Self {
        Self {
            io,
            shared,
            policy,
            inbound: Scanner::new(PREFACE_LEN),
            outbound: Scanner::new(0),
            last_stream: 0,
            last_ping: None,
            strikes: 0,
            sent_since_ping: false,
            goaway: Goaway::None,
        }
    }

    /// Takes in what was read: the client's PINGs against the policy.
    fn read(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.shared.note_read();
        let mut pings = 0u32;
        let last_stream = &mut self.last_stream;
        self.inbound.scan(bytes, |head, _| match head.kind {
            PING if head.flags & ACK == 0 => pings += 1,
            HEADERS => *last_stream = (*last_stream).max(head.stream),
            _ => {}
        });
        if pings > 0 {
            let now = Instant::now();
            for _ in 0..pings {
                self.ping(now);
            }
        }
    }

    /// One PING from the client, at `now`.
    fn ping(&mut self, now: Instant) {
        let last = self.last_ping.replace(now);
        if std::mem::take(&mut self.sent_since_ping) {
            self.strikes = 0;
            return;
        }
        let allowed =
            if self.policy.permit_without_calls || self.shared.has_calls.load(Ordering::Relaxed) {
                self.policy.min_interval
            } else {
                IDLE_PING_INTERVAL.max(self.policy.min_interval)
            };
        if last.is_some_and(|last| now < last + allowed) {
            self.strikes += 1;
        }
        if self.strikes > MAX_PING_STRIKES && matches!(self.goaway, Goaway::None) {
            tracing::debug!(
                strikes = self.strikes,
                "the client pings more often than allowed: GOAWAY too_many_pings"
            );
            self.shared.too_many_pings.store(true, Ordering::Relaxed);
            self.goaway = Goaway::Pending {
                frame: goaway_frame(self.last_stream, ENHANCE_YOUR_CALM, TOO_MANY_PINGS),
                written: 0,
            };
        }
    }

    /// Takes in what h2 wrote: whether it sent HEADERS or DATA.
    fn wrote(&mut self, bytes: &[u8]) {
        let mut sent = false;
        self.outbound.scan(bytes, |head, _| {
            if head.kind == HEADERS || head.kind == DATA {
                sent = true;
            }
        });
        self.sent_since_ping |= sent;
    }
}

fn ended() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection ended: the client pinged too often (GOAWAY too_many_pings)",
    )
}

impl<Io: AsyncWrite + Unpin> Watched<Io> {
    /// Writes the pending GOAWAY, then flushes; ready with the error that
    /// ends the connection. Only at a frame boundary of what h2 wrote.
    fn poll_goaway(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        while let Goaway::Pending { frame, written } = &mut self.goaway {
            if *written == frame.len() {
                // A flush error changes nothing: the connection ends.
                let _ = ready!(Pin::new(&mut self.io).poll_flush(cx));
                self.goaway = Goaway::Sent;
                break;
            }
            match ready!(Pin::new(&mut self.io).poll_write(cx, &frame[*written..])) {
                Ok(0) | Err(_) => {
                    self.goaway = Goaway::Sent;
                    break;
                }
                Ok(n) => *written += n,
            }
        }
        Poll::Ready(ended())
    }
}

impl<Io: AsyncRead + AsyncWrite + Unpin> AsyncRead for Watched<Io> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.goaway {
            Goaway::Sent => return Poll::Ready(Err(ended())),
            Goaway::Pending { .. } if this.outbound.to_boundary() == 0 => {
                return Poll::Ready(Err(ready!(this.poll_goaway(cx))));
            }
            _ => {}
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        this.read(&buf.filled()[before..]);
        if matches!(this.goaway, Goaway::Pending { .. }) && this.outbound.to_boundary() == 0 {
            // Tripped just now: the GOAWAY goes out before anything else.
            return Poll::Ready(Err(ready!(this.poll_goaway(cx))));
        }
        Poll::Ready(Ok(()))
    }
}

impl<Io: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Watched<Io> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut buf = buf;
        match this.goaway {
            Goaway::None => {}
            Goaway::Sent => return Poll::Ready(Err(ended())),
            Goaway::Pending { .. } => match this.outbound.to_boundary() {
                0 => return Poll::Ready(Err(ready!(this.poll_goaway(cx)))),
                // Finish the frame h2 is in the middle of, no more.
                rest => buf = &buf[..rest.min(buf.len())],
            },
        }
        let n = ready!(Pin::new(&mut this.io).poll_write(cx, buf))?;
        this.wrote(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if !matches!(self.goaway, Goaway::None) {
            // Rare: one buffer at a time, through the frame-exact path.
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &**b);
            return self.poll_write(cx, first);
        }
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.io).poll_write_vectored(cx, bufs))?;
        let mut left = n;
        for b in bufs {
            if left == 0 {
                break;
            }
            let take = left.min(b.len());
            this.wrote(&b[..take]);
            left -= take;
        }
        Poll::Ready(Ok(n))
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
    use super::*;

    use super::super::super::frames::tests::frame;

    fn watched(policy: PingPolicy) -> Watched<tokio::io::DuplexStream> {
        let (a, _b) = tokio::io::duplex(64);
        Watched::new(a, policy, Arc::default())
    }

    const STRICT: PingPolicy = PingPolicy {
        min_interval: Duration::from_secs(300),
        permit_without_calls: false,
    };

    #[tokio::test]
    async fn the_third_ping_out_of_policy_trips_it() {
        let mut w = watched(STRICT);
        let now = Instant::now();
        w.ping(now); // the first: no strike
        w.ping(now); // 1
        w.ping(now); // 2
        assert!(matches!(w.goaway, Goaway::None), "two strikes are allowed");
        w.ping(now);
        assert!(matches!(w.goaway, Goaway::Pending { .. }));
        assert!(w.shared.too_many_pings());
    }

    #[tokio::test]
    async fn pings_spaced_by_the_interval_or_after_data_are_fine() {
        let mut w = watched(PingPolicy {
            min_interval: Duration::from_secs(10),
            permit_without_calls: true,
        });
        let start = Instant::now();
        for i in 0..20 {
            w.ping(start + Duration::from_secs(10 * i));
        }
        assert_eq!(w.strikes, 0);
        // Close together, but each after the server sent data.
        for _ in 0..20 {
            w.wrote(&frame(DATA, 0, 1, &[0; 3]));
            w.ping(start);
        }
        assert!(matches!(w.goaway, Goaway::None));
    }

    #[tokio::test]
    async fn without_calls_pings_need_permission() {
        let mut w = watched(PingPolicy {
            min_interval: Duration::from_secs(10),
            permit_without_calls: false,
        });
        let start = Instant::now();
        for i in 0..4 {
            // 20 s apart, within policy with a call, out of it without.
            w.ping(start + Duration::from_secs(20 * i));
        }
        assert!(matches!(w.goaway, Goaway::Pending { .. }));
        let mut w = watched(PingPolicy {
            min_interval: Duration::from_secs(10),
            permit_without_calls: false,
        });
        w.shared.set_has_calls(true);
        for i in 0..4 {
            w.ping(start + Duration::from_secs(20 * i));
        }
        assert!(matches!(w.goaway, Goaway::None));
    }
}
