//! Client keepalive (gRFC A8, grpc-go's `keepalive.ClientParameters`): a
//! connection that has received nothing for the keepalive time is pinged,
//! and one whose ping goes unanswered for the keepalive timeout is closed,
//! so that the next call reconnects instead of waiting on a dead peer. A
//! server that answers the pings with GOAWAY `too_many_pings` makes the
//! channel double its keepalive time.

use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::Endpoint;
use super::watch::ConnState;

/// Default for [`Endpoint::keepalive_timeout`]: 20 seconds, grpc-go's and C
/// core's.
pub const DEFAULT_CLIENT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The keepalive settings of an endpoint.
#[derive(Clone, Copy, Debug)]
pub(super) struct Settings {
    pub(super) time: Option<Duration>,
    pub(super) timeout: Duration,
    pub(super) while_idle: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            time: None,
            timeout: DEFAULT_CLIENT_KEEPALIVE_TIMEOUT,
            while_idle: false,
        }
    }
}

impl Endpoint {
    /// Pings the server after this long without receiving anything (default
    /// `None`: no pings, as grpc-go and C core); a ping unanswered for
    /// [`Endpoint::keepalive_timeout`] closes the connection, failing its
    /// calls with `UNAVAILABLE`, and the next call reconnects. Servers bound
    /// how often clients may ping (grpc-go and rust-rpc: once in 5 minutes
    /// by default) and answer more with GOAWAY `too_many_pings`, on which
    /// the channel doubles this time, as gRFC A8 asks.
    pub fn keepalive_time(mut self, time: Option<Duration>) -> Self {
        self.keepalive.time = time;
        self
    }

    /// How long a keepalive ping may go unanswered (default
    /// [`DEFAULT_CLIENT_KEEPALIVE_TIMEOUT`], 20 seconds).
    pub fn keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.keepalive.timeout = timeout;
        self
    }

    /// Whether to ping while the channel has no call in flight (default
    /// `false`, grpc-go's `PermitWithoutStream`); servers refuse such pings
    /// unless they permit them.
    pub fn keepalive_while_idle(mut self, on: bool) -> Self {
        self.keepalive.while_idle = on;
        self
    }
}

/// A channel's keepalive time now: the endpoint's, doubled for each GOAWAY
/// `too_many_pings`.
#[derive(Debug)]
pub(super) struct Interval(AtomicU64);

impl Interval {
    pub(super) fn new(settings: &Settings) -> Self {
        let ms = settings
            .time
            .map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
        Self(AtomicU64::new(ms))
    }

    pub(super) fn get(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    fn double(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |ms| {
                (ms != 0).then(|| ms.saturating_mul(2))
            });
    }
}

/// Everything a connection's keepalive needs.
pub(super) struct Keepalive {
    pub(super) settings: Settings,
    pub(super) interval: Arc<Interval>,
    pub(super) state: Arc<ConnState>,
    pub(super) in_flight: Arc<AtomicUsize>,
}

impl Keepalive {
    /// Runs for the connection's life, pinging as the settings say; returns
    /// why the connection is to be closed.
    pub(super) async fn run(&self, mut pings: h2::PingPong) -> &'static str {
        loop {
            let Some(time) = self.interval.get() else {
                return std::future::pending().await;
            };
            tokio::time::sleep(time).await;
            if self.state.take_read() {
                continue;
            }
            if !self.settings.while_idle && self.in_flight.load(Ordering::Relaxed) == 0 {
                continue;
            }
            if pings.send_ping(h2::Ping::opaque()).is_err() {
                return "the keepalive ping could not be sent";
            }
            let pong = poll_fn(|cx| pings.poll_pong(cx));
            match tokio::time::timeout(self.settings.timeout, pong).await {
                // The pong itself was a read: the next look starts clean.
                Ok(Ok(_)) => {
                    self.state.take_read();
                }
                Ok(Err(_)) => return "the connection failed",
                Err(_) => return "keepalive ping not answered in time",
            }
        }
    }

    /// After the connection ended: a GOAWAY `too_many_pings` doubles the
    /// channel's keepalive time.
    pub(super) fn ended(&self, authority: &str) {
        if self.state.too_many_pings() {
            self.interval.double();
            tracing::warn!(
                %authority,
                keepalive_time = ?self.interval.get(),
                "GOAWAY too_many_pings: the server allows fewer pings; keepalive time doubled"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_doubles_and_off_stays_off() {
        let on = Interval::new(&Settings {
            time: Some(Duration::from_millis(100)),
            ..Settings::default()
        });
        on.double();
        on.double();
        assert_eq!(on.get(), Some(Duration::from_millis(400)));
        let off = Interval::new(&Settings::default());
        off.double();
        assert_eq!(off.get(), None);
    }
}
