//! [`CallRecord`]: what is known of one watched call while it runs, and
//! its end, told once to the span and to every observer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use http::HeaderMap;
use http::header::HeaderName;
use http::uri::PathAndQuery;
use tracing::Span;

use super::super::codec::HEADER_LEN;
use super::super::peer::PeerInfo;
use super::super::status::{Code, GRPC_STATUS, Status};
use super::{CallEnd, CallInfo, Observers, Side, Transferred, span};

/// One watched call: made at its start only if a span or an observer wants
/// it, shared (an `Arc`) by the parts of the call that count its messages,
/// and ended once: by whichever part learns the status first, or, if the
/// last of them goes away before any does, as `CANCELLED`.
pub(crate) struct CallRecord {
    side: Side,
    // The request's path, `/package.Service/Method`.
    path: CallPath,
    registered: bool,
    target: Option<Arc<str>>,
    peer: Option<Arc<PeerInfo>>,
    start: Instant,
    span: Span,
    observers: Observers,
    sent: Counter,
    received: Counter,
    ended: AtomicBool,
}

/// Messages and their bytes, prefixes included; counted apart so that
/// bytes can be added as they pass, in chunks that need not align with
/// messages.
#[derive(Default)]
struct Counter {
    messages: AtomicU64,
    bytes: AtomicU64,
}

impl Counter {
    fn get(&self) -> Transferred {
        let messages = self.messages.load(Ordering::Relaxed);
        let bytes = self.bytes.load(Ordering::Relaxed);
        Transferred {
            messages,
            bytes: bytes.saturating_sub(messages.saturating_mul(HEADER_LEN as u64)),
        }
    }
}

impl CallRecord {
    /// The record of a server's call to `path`, arrived with `headers` from
    /// `peer`; `None` if nothing watches it. `registered` tells a method
    /// the service declares from one it does not.
    pub(crate) fn server(
        path: Option<&PathAndQuery>,
        registered: bool,
        headers: &HeaderMap,
        peer: Option<&Arc<PeerInfo>>,
        observers: &Observers,
    ) -> Option<Arc<Self>> {
        // Nothing is made, copied or timed until something watches.
        let span = span::server(path.map_or("", method_of), peer.map(|p| &**p));
        if span.is_disabled() && observers.is_empty() {
            return None;
        }
        let path = match path {
            Some(path) => CallPath::Request(path.clone()),
            None => CallPath::Static("/"),
        };
        #[cfg(feature = "otel")]
        crate::otel::propagate::extract(&span, headers);
        #[cfg(not(feature = "otel"))]
        let _ = headers;
        let mut record = Self::new(Side::Server, path, span, observers);
        record.registered = registered;
        record.peer = peer.cloned();
        Some(Self::started(record))
    }

    /// The record of a client's call to `path` on `target` (its endpoint, as
    /// given) at `authority`; `None` if nothing watches it.
    pub(crate) fn client(
        path: &'static str,
        target: Option<&Arc<str>>,
        authority: Option<&str>,
        observers: &Observers,
    ) -> Option<Arc<Self>> {
        let span = span::client(path.strip_prefix('/').unwrap_or(path), authority);
        if span.is_disabled() && observers.is_empty() {
            return None;
        }
        let mut record = Self::new(Side::Client, CallPath::Static(path), span, observers);
        record.target = target.cloned();
        Some(Self::started(record))
    }

    /// A record of a call to `path` on `side`, starting now, with nothing
    /// known yet of its target or peer.
    fn new(side: Side, path: CallPath, span: Span, observers: &Observers) -> Self {
        Self {
            side,
            path,
            registered: true,
            target: None,
            peer: None,
            start: Instant::now(),
            span,
            observers: observers.clone(),
            sent: Counter::default(),
            received: Counter::default(),
            ended: AtomicBool::new(false),
        }
    }

    fn started(self) -> Arc<Self> {
        let info = self.info();
        for observer in self.observers.iter() {
            observer.call_started(&info);
        }
        Arc::new(self)
    }

    fn info(&self) -> CallInfo<'_> {
        CallInfo {
            side: self.side,
            method: self.path.method(),
            registered: self.registered,
            target: self.target.as_deref(),
            peer: self.peer.as_deref(),
        }
    }

    /// The call's span: its parts run in it.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// `bytes` more of the messages this side sent (prefixes included).
    pub(crate) fn sent_bytes(&self, bytes: usize) {
        self.sent.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// `count` more messages sent.
    pub(crate) fn sent_messages(&self, count: u64) {
        self.sent.messages.fetch_add(count, Ordering::Relaxed);
    }

    /// A whole message sent, as one frame of `frame_len` bytes.
    pub(crate) fn sent_frame(&self, frame_len: usize) {
        self.sent_bytes(frame_len);
        self.sent_messages(1);
    }

    /// `bytes` more of the messages this side received (prefixes included).
    pub(crate) fn received_bytes(&self, bytes: usize) {
        self.received
            .bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// One more message received.
    pub(crate) fn received_message(&self) {
        self.received.messages.fetch_add(1, Ordering::Relaxed);
    }

    /// Ends the call with `status`, unless it has ended already.
    pub(crate) fn end_with(&self, status: &Status) {
        self.end(status.code(), status.message());
    }

    /// Ends the call with the status in `headers` (trailers, or the head of
    /// a trailers-only response).
    pub(crate) fn end_from_headers(&self, headers: &HeaderMap) {
        if headers
            .get(&GRPC_STATUS_NAME)
            .is_some_and(|v| v.as_bytes() == b"0")
        {
            return self.end(Code::Ok, "");
        }
        match Status::from_headers(headers) {
            Some(status) => self.end_with(&status),
            None => self.end(Code::Unknown, "the reply carried no grpc-status"),
        }
    }

    /// Ends the call with `code` and `message`, unless it has ended
    /// already: the span records the end, then each observer sees it.
    pub(crate) fn end(&self, code: Code, message: &str) {
        if self.ended.swap(true, Ordering::AcqRel) {
            return;
        }
        let end = CallEnd {
            code,
            message,
            duration: self.start.elapsed(),
            sent: self.sent.get(),
            received: self.received.get(),
        };
        span::record_end(&self.span, self.side, &end);
        let info = self.info();
        for observer in self.observers.iter() {
            observer.call_ended(&info, &end);
        }
    }
}

impl core::fmt::Debug for CallRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CallRecord")
            .field("side", &self.side)
            .field("method", &self.path.method())
            .finish_non_exhaustive()
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        if !*self.ended.get_mut() {
            self.end(Code::Cancelled, "the call ended before its status");
        }
    }
}

/// `grpc-status` as a name, looked up at every watched call's end: not a
/// string to parse each time.
pub(super) static GRPC_STATUS_NAME: HeaderName = HeaderName::from_static(GRPC_STATUS);

/// A call's path: a client's, as generated code names it (not parsed as a
/// URI path again), or a server's, from the request.
enum CallPath {
    Static(&'static str),
    Request(PathAndQuery),
}

impl CallPath {
    /// `package.Service/Method`.
    fn method(&self) -> &str {
        match self {
            CallPath::Static(path) => path.strip_prefix('/').unwrap_or(path),
            CallPath::Request(path) => method_of(path),
        }
    }
}

/// `package.Service/Method` of a request path.
fn method_of(path: &PathAndQuery) -> &str {
    let path = path.path();
    path.strip_prefix('/').unwrap_or(path)
}
