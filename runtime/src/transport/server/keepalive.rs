//! A connection's life after its handshake, as gRPC's keepalive design
//! (gRFC A8, A9) and grpc-go's `ServerParameters` lay it out: the server
//! pings a connection that has been silent and closes it when the ping goes
//! unanswered; it sends GOAWAY to one idle for too long and to one that
//! reached its maximum age, and closes the latter after a grace period.
//! What the client may ping is [`watch`](super::watch)'s part.
//!
//! [`Lifecycle`] holds one connection's timers; the connection's loop in
//! [`accept`](super::accept) waits on [`Lifecycle::next`] beside its calls
//! and does what each [`Event`] says.

use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use super::Server;
use super::watch::Shared;

/// Default for [`Server::keepalive_time`]: 2 hours, grpc-go's and C core's.
pub const DEFAULT_KEEPALIVE_TIME: Duration = Duration::from_secs(2 * 60 * 60);

/// Default for [`Server::keepalive_timeout`]: 20 seconds, grpc-go's and C
/// core's.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Default for [`Server::min_client_ping_interval`]: 5 minutes, grpc-go's
/// `EnforcementPolicy.MinTime` and C core's
/// `GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS`.
pub const DEFAULT_MIN_CLIENT_PING_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Default for [`Server::handshake_timeout`]: 10 seconds.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection-management settings; part of the server's `Config`.
#[derive(Clone, Debug)]
pub(super) struct Keepalive {
    pub(super) time: Option<Duration>,
    pub(super) timeout: Duration,
    pub(super) min_client_ping_interval: Duration,
    pub(super) permit_client_pings_without_calls: bool,
    pub(super) max_idle: Option<Duration>,
    pub(super) max_age: Option<Duration>,
    pub(super) max_age_grace: Option<Duration>,
    pub(super) handshake_timeout: Duration,
    pub(super) max_connections: Option<usize>,
}

impl Default for Keepalive {
    fn default() -> Self {
        Self {
            time: Some(DEFAULT_KEEPALIVE_TIME),
            timeout: DEFAULT_KEEPALIVE_TIMEOUT,
            min_client_ping_interval: DEFAULT_MIN_CLIENT_PING_INTERVAL,
            permit_client_pings_without_calls: false,
            max_idle: None,
            max_age: None,
            max_age_grace: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_connections: None,
        }
    }
}

impl Server {
    /// After how long without anything received the server pings a client
    /// to see that the connection still works (default
    /// [`DEFAULT_KEEPALIVE_TIME`], 2 hours, as grpc-go and C core); `None`
    /// never pings. A ping unanswered for [`Server::keepalive_timeout`]
    /// closes the connection, and with it the calls a vanished client left
    /// behind.
    pub fn keepalive_time(mut self, time: Option<Duration>) -> Self {
        self.config.keepalive.time = time;
        self
    }

    /// How long the server waits for the answer to its keepalive ping
    /// before it closes the connection (default
    /// [`DEFAULT_KEEPALIVE_TIMEOUT`], 20 seconds, as grpc-go and C core).
    pub fn keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.config.keepalive.timeout = timeout;
        self
    }

    /// The most often a client may ping (default
    /// [`DEFAULT_MIN_CLIENT_PING_INTERVAL`], 5 minutes, grpc-go's
    /// `EnforcementPolicy.MinTime`). A ping sooner after the last one, with
    /// no HEADERS or DATA sent by the server in between, is a strike; the
    /// third strike ends the connection with `GOAWAY(ENHANCE_YOUR_CALM)` and
    /// debug data `too_many_pings`, on which gRPC clients double their
    /// keepalive time (gRFC A8). Set it at or below the clients' keepalive
    /// time.
    pub fn min_client_ping_interval(mut self, interval: Duration) -> Self {
        self.config.keepalive.min_client_ping_interval = interval;
        self
    }

    /// Whether clients may ping while they have no call on the connection
    /// (default `false`, grpc-go's `PermitWithoutStream`); if not, such
    /// pings count as strikes unless two hours apart.
    pub fn permit_client_pings_without_calls(mut self, permit: bool) -> Self {
        self.config.keepalive.permit_client_pings_without_calls = permit;
        self
    }

    /// After how long without calls the server sends a connection GOAWAY,
    /// so that the client reconnects when it next has a call (default
    /// `None`, never, as grpc-go's `MaxConnectionIdle`). Checked four times
    /// per period, so a connection goes within 1.25 times it.
    pub fn max_connection_idle(mut self, idle: Option<Duration>) -> Self {
        self.config.keepalive.max_idle = idle;
        self
    }

    /// The most a connection may live (default `None`, for ever, as
    /// grpc-go's `MaxConnectionAge`): past it (give or take 10%, so that
    /// connections made together do not all go together) the server sends
    /// GOAWAY, the client makes its new calls on a new connection, and the
    /// calls in flight finish; what is left after
    /// [`Server::max_connection_age_grace`] is cut off. It spreads clients
    /// over servers added later, behind a load balancer or DNS.
    pub fn max_connection_age(mut self, age: Option<Duration>) -> Self {
        self.config.keepalive.max_age = age;
        self
    }

    /// How long calls may go on after the GOAWAY of
    /// [`Server::max_connection_age`] before the connection is closed
    /// (default `None`, for as long as they take, as grpc-go's
    /// `MaxConnectionAgeGrace`).
    pub fn max_connection_age_grace(mut self, grace: Option<Duration>) -> Self {
        self.config.keepalive.max_age_grace = grace;
        self
    }

    /// How long a new connection has to send the HTTP/2 preface (default
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`], 10 seconds); one that does not is
    /// closed. grpc-go's `ConnectionTimeout` is 120 seconds; a thousand
    /// connections that never send a byte are held a twelfth as long here.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.keepalive.handshake_timeout = timeout;
        self
    }

    /// The most connections served at once (default `None`, no cap, as
    /// grpc-go). At the cap the server stops accepting, as grpc-go's
    /// `netutil.LimitListener` does: new connections wait in the kernel's
    /// accept queue until one closes.
    pub fn max_connections(mut self, max: Option<usize>) -> Self {
        self.config.keepalive.max_connections = max;
        self
    }
}

/// What a connection's loop is to do.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Event {
    /// Send a keepalive ping.
    Ping,
    /// Look whether the connection has calls, and tell
    /// [`Lifecycle::check_idle`].
    CheckIdle,
    /// Send GOAWAY and let the calls finish (idle, or at its maximum age).
    GoAway(&'static str),
    /// Close the connection now.
    Close(&'static str),
}

/// One connection's timers.
pub(super) struct Lifecycle {
    settings: Keepalive,
    shared: Arc<Shared>,
    // One timer, set to the earliest of the deadlines below.
    timer: Pin<Box<Sleep>>,
    // The waker the timer was last polled with: while it is the same and
    // the timer has not fired, polling again would only register it again
    // (the connection's loop polls it each time it waits).
    polled_with: Option<std::task::Waker>,
    // When to look whether anything was read, or when an unanswered ping
    // times out (`pinging`).
    keepalive_at: Option<Instant>,
    pinging: bool,
    // When to look whether the connection is idle, and since when it is.
    idle_check_at: Option<Instant>,
    idle_since: Option<Instant>,
    // When the connection reaches its age, then when its grace ends.
    age_at: Option<Instant>,
    grace_at: Option<Instant>,
}

impl Lifecycle {
    pub(super) fn new(settings: &Keepalive, shared: Arc<Shared>) -> Self {
        let now = Instant::now();
        let age_at = settings.max_age.map(|age| now + jitter(age));
        let mut life = Self {
            settings: settings.clone(),
            shared,
            timer: Box::pin(tokio::time::sleep_until(now)),
            polled_with: None,
            keepalive_at: settings.time.map(|t| now + t),
            pinging: false,
            idle_check_at: settings.max_idle.map(|idle| now + idle / 4),
            idle_since: settings.max_idle.map(|_| now),
            age_at,
            grace_at: None,
        };
        life.arm();
        life
    }

    /// Sets the timer to the earliest deadline; none leaves it far away.
    fn arm(&mut self) {
        let next = [
            self.keepalive_at,
            self.idle_check_at,
            self.age_at,
            self.grace_at,
        ]
        .into_iter()
        .flatten()
        .min();
        let at = next.unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 24 * 3600));
        if self.timer.deadline() != at {
            self.timer.as_mut().reset(at);
            self.polled_with = None;
        }
    }

    /// Whether a keepalive ping waits for its answer.
    pub(super) fn awaiting_pong(&self) -> bool {
        self.pinging
    }

    /// The answer to the keepalive ping came, at `now`.
    pub(super) fn pong(&mut self, now: Instant) {
        self.pinging = false;
        self.keepalive_at = self.settings.time.map(|t| now + t);
        self.arm();
    }

    /// The connection's loop sent GOAWAY for its own reasons (the server is
    /// shutting down): the age timer has nothing more to do.
    pub(super) fn going_away(&mut self) {
        self.age_at = None;
        self.idle_check_at = None;
        self.arm();
    }

    /// Waits for the next thing to do.
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        loop {
            let registered = self
                .polled_with
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()));
            if registered && !self.timer.is_elapsed() {
                return Poll::Pending;
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                self.polled_with = Some(cx.waker().clone());
                return Poll::Pending;
            }
            self.polled_with = None;
            let now = Instant::now();
            if let Some(event) = self.due(now) {
                self.arm();
                return Poll::Ready(event);
            }
            self.arm();
        }
    }

    /// What is due at `now`, moving each deadline on as it is dealt with.
    fn due(&mut self, now: Instant) -> Option<Event> {
        if self.grace_at.is_some_and(|at| at <= now) {
            self.grace_at = None;
            return Some(Event::Close("maximum connection age and its grace passed"));
        }
        if self.age_at.is_some_and(|at| at <= now) {
            self.age_at = None;
            self.idle_check_at = None;
            self.grace_at = self.settings.max_age_grace.map(|g| now + g);
            return Some(Event::GoAway("maximum connection age reached"));
        }
        if self.keepalive_at.is_some_and(|at| at <= now) {
            if self.pinging {
                self.keepalive_at = None;
                return Some(Event::Close("keepalive ping not answered in time"));
            }
            if self.shared.take_read() {
                // Traffic since the last look: the connection works.
                self.keepalive_at = self.settings.time.map(|t| now + t);
            } else {
                self.pinging = true;
                self.keepalive_at = Some(now + self.settings.timeout);
                return Some(Event::Ping);
            }
        }
        if let (Some(at), Some(max_idle)) = (self.idle_check_at, self.settings.max_idle) {
            if at <= now {
                self.idle_check_at = Some(now + max_idle / 4);
                return Some(Event::CheckIdle);
            }
        }
        None
    }

    /// Whether the connection, with calls open or not (`has_calls`) at
    /// `now`, has been idle for too long: if so, it is to be sent away.
    pub(super) fn check_idle(&mut self, now: Instant, has_calls: bool) -> bool {
        let Some(max_idle) = self.settings.max_idle else {
            return false;
        };
        if has_calls {
            self.idle_since = None;
            return false;
        }
        let since = *self.idle_since.get_or_insert(now);
        if now.duration_since(since) < max_idle {
            return false;
        }
        self.idle_check_at = None;
        self.arm();
        true
    }
}

/// `age` give or take up to 10%, as grpc-go spreads `MaxConnectionAge`.
fn jitter(age: Duration) -> Duration {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    // A fraction in [-0.1, 0.1).
    let fraction = (random % 2001) as f64 / 10_000.0 - 0.1;
    age.mul_f64(1.0 + fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn life(settings: Keepalive) -> Lifecycle {
        Lifecycle::new(&settings, Arc::default())
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_connection_is_pinged_then_closed() {
        let mut l = life(Keepalive {
            time: Some(Duration::from_secs(10)),
            timeout: Duration::from_secs(2),
            ..Keepalive::default()
        });
        let start = Instant::now();
        assert_eq!(l.due(start + Duration::from_secs(9)), None);
        assert_eq!(l.due(start + Duration::from_secs(10)), Some(Event::Ping));
        assert_eq!(l.due(start + Duration::from_secs(11)), None);
        assert_eq!(
            l.due(start + Duration::from_secs(12)),
            Some(Event::Close("keepalive ping not answered in time"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn traffic_or_a_pong_puts_the_ping_off() {
        let shared = Arc::new(Shared::default());
        let mut l = Lifecycle::new(
            &Keepalive {
                time: Some(Duration::from_secs(10)),
                ..Keepalive::default()
            },
            shared.clone(),
        );
        let start = Instant::now();
        // Bytes arrived: no ping, the next look 10 s on.
        shared.note_read();
        assert_eq!(l.due(start + Duration::from_secs(10)), None);
        assert_eq!(l.due(start + Duration::from_secs(20)), Some(Event::Ping));
        // The pong, at 21 s, puts the next look 10 s after it.
        l.pong(start + Duration::from_secs(21));
        assert_eq!(l.due(start + Duration::from_secs(30)), None);
        assert_eq!(l.due(start + Duration::from_secs(31)), Some(Event::Ping));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_connections_get_goaway_and_busy_ones_do_not() {
        let mut l = life(Keepalive {
            time: None,
            max_idle: Some(Duration::from_secs(8)),
            ..Keepalive::default()
        });
        let start = Instant::now();
        let at = |s| start + Duration::from_secs(s);
        assert_eq!(l.due(at(1)), None);
        assert_eq!(l.due(at(2)), Some(Event::CheckIdle), "a quarter of 8 s");
        assert!(!l.check_idle(at(2), true));
        assert_eq!(l.due(at(4)), Some(Event::CheckIdle));
        assert!(!l.check_idle(at(4), true));
        // Idle from 6 s on: sent away once 8 s have passed.
        for s in [6, 8, 10, 12] {
            assert_eq!(l.due(at(s)), Some(Event::CheckIdle));
            assert!(!l.check_idle(at(s), false), "at {s} s");
        }
        assert_eq!(l.due(at(14)), Some(Event::CheckIdle));
        assert!(l.check_idle(at(14), false));
        assert_eq!(l.due(at(100)), None, "no more checks once sent away");
    }

    #[tokio::test(start_paused = true)]
    async fn age_then_grace() {
        let mut l = life(Keepalive {
            time: None,
            max_age: Some(Duration::from_secs(100)),
            max_age_grace: Some(Duration::from_secs(5)),
            ..Keepalive::default()
        });
        let start = Instant::now();
        assert_eq!(l.due(start + Duration::from_secs(89)), None);
        let at = (90..=111)
            .find(|s| l.due(start + Duration::from_secs(*s)).is_some())
            .expect("the age comes within 10% of 100 s");
        assert!((90..=110).contains(&at), "{at}");
        assert_eq!(l.due(start + Duration::from_secs(at + 4)), None, "grace");
        assert_eq!(
            l.due(start + Duration::from_secs(at + 5)),
            Some(Event::Close("maximum connection age and its grace passed"))
        );
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..1000 {
            let j = jitter(Duration::from_secs(1000));
            assert!(j >= Duration::from_secs(900) && j <= Duration::from_secs(1100));
        }
    }
}
