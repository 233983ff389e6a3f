//! Watching calls: a [`tracing`] span for every call on both sides, and
//! [`Observer`]s that see each call start and end (what the OpenTelemetry
//! metrics of `rust_rpc::otel` (feature `otel`) and channelz's counters are
//! built on).
//!
//! ```text
//!   call starts   span "grpc" (target rust_rpc::server / rust_rpc::client),
//!                 if the subscriber wants it; Observer::call_started
//!   messages      counted as they are read and written (compressed sizes,
//!                 without the 5-byte gRPC prefix)
//!   call ends     the status, the sizes and the duration recorded on the
//!                 span; Observer::call_ended, once
//! ```
//!
//! A call is watched only if something watches: with no [`Observer`] added
//! and no subscriber that enables the span, a call costs one check and
//! carries nothing more (no allocation, no lock, no clock read).
//!
//! The span's fields follow OpenTelemetry's conventions for RPC spans
//! (`rpc.system`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code`,
//! `network.peer.address`, `server.address`, and `otel.name`, `otel.kind`,
//! `otel.status_code` for `tracing-opentelemetry`), with the message
//! counts and sizes as `grpc.sent_messages`, `grpc.sent_bytes`,
//! `grpc.received_messages`, `grpc.received_bytes`. The span is at level
//! `DEBUG`, with the targets `rust_rpc::server` and `rust_rpc::client`:
//! `RUST_LOG=info,rust_rpc::server=debug,rust_rpc::client=debug` turns the
//! spans on and leaves the transport's own debug events off (their targets
//! are the modules', `rust_rpc::transport::...`). Not `INFO`, because a span
//! is not free: with a registry that records nothing, spans on both sides
//! cost about half again the CPU of a small unary call (measured with
//! `rpc-bench --observe spans`), which an application that logs at `INFO`
//! should not pay unasked. With
//! the `otel` feature, the W3C trace context (`traceparent`, `tracestate`)
//! travels in the call's metadata: a client sends its call span's, and a
//! server makes its call span a child of the one it receives.
//!
//! An observer runs on the call's task, at its start and end: keep it
//! cheap (count, record into an instrument) and never block.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use rust_rpc::transport::observe::{CallEnd, CallInfo, Observer};
//! use rust_rpc::transport::{Code, Server};
//!
//! #[derive(Default)]
//! struct Failures(AtomicU64);
//!
//! impl Observer for Failures {
//!     fn call_ended(&self, _call: &CallInfo<'_>, end: &CallEnd<'_>) {
//!         if end.code != Code::Ok {
//!             self.0.fetch_add(1, Ordering::Relaxed);
//!         }
//!     }
//! }
//!
//! let failures = std::sync::Arc::new(Failures::default());
//! let server = Server::builder().observer(failures.clone());
//! # drop(server);
//! ```

mod body;
mod record;
mod span;

use std::sync::Arc;
use std::time::Duration;

use super::peer::PeerInfo;
use super::status::Code;

pub(crate) use body::observe_reply;
pub(crate) use record::CallRecord;

/// Sees calls start and end: add one to a server with
/// [`Server::observer`](super::Server::observer), to a client's channel
/// with [`Endpoint::observer`](super::Endpoint::observer). Both methods
/// do nothing unless implemented.
pub trait Observer: Send + Sync + 'static {
    /// A call has started: on a server, its request head has arrived and
    /// its handler is about to run; on a client, it is about to be sent.
    fn call_started(&self, call: &CallInfo<'_>) {
        let _ = call;
    }

    /// A call has ended, with `end`'s status. Called once per call, after
    /// [`Observer::call_started`]: on a server when the status is handed to
    /// the connection (or the client reset the stream); on a client when
    /// the status arrived, the call failed, or its response stream was
    /// dropped before the end (`CANCELLED`).
    fn call_ended(&self, call: &CallInfo<'_>, end: &CallEnd<'_>) {
        let _ = (call, end);
    }
}

impl<O: Observer + ?Sized> Observer for Arc<O> {
    fn call_started(&self, call: &CallInfo<'_>) {
        (**self).call_started(call);
    }

    fn call_ended(&self, call: &CallInfo<'_>, end: &CallEnd<'_>) {
        (**self).call_ended(call, end);
    }
}

/// Which end of a call an observer is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The caller.
    Client,
    /// The server that answers.
    Server,
}

/// The call an [`Observer`] is told about.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct CallInfo<'a> {
    /// Which end this is.
    pub side: Side,
    /// The method, `package.Service/Method` (the path without its `/`).
    pub method: &'a str,
    /// Whether the method is one a service declares: `false` for a server's
    /// calls to a method its service does not have (answered
    /// `UNIMPLEMENTED`), whose names a peer chooses freely (metrics record
    /// them as `other`, so a peer cannot grow their cardinality).
    pub registered: bool,
    /// The client's target: the endpoint the channel was made for
    /// (`http://host:port`, `unix:/path`); `None` on a server.
    pub target: Option<&'a str>,
    /// The server's peer: address and TLS details of the connection the call
    /// came on; `None` on a client.
    pub peer: Option<&'a PeerInfo>,
}

/// How a call ended, for [`Observer::call_ended`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct CallEnd<'a> {
    /// The status code the call ended with.
    pub code: Code,
    /// The status message (empty for `OK`).
    pub message: &'a str,
    /// From the call's start to its end.
    pub duration: Duration,
    /// The messages this side sent.
    pub sent: Transferred,
    /// The messages this side received.
    pub received: Transferred,
}

/// Messages one side of a call sent or received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transferred {
    /// How many messages.
    pub messages: u64,
    /// Their bytes as they went over the wire (compressed, if they were),
    /// without gRPC's 5-byte prefix of each message or any HTTP/2 framing.
    pub bytes: u64,
}

/// The observers of a server or a channel, shared by their calls; none is
/// the usual case, and costs a null check.
#[derive(Clone, Default)]
pub(crate) struct Observers(Option<Arc<[Arc<dyn Observer>]>>);

impl core::fmt::Debug for Observers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} observers",
            self.0.as_ref().map_or(0, |all| all.len())
        )
    }
}

impl Observers {
    /// These, then `next`.
    pub(crate) fn then(&self, next: impl Observer) -> Self {
        let mut all = self.0.as_deref().map(<[_]>::to_vec).unwrap_or_default();
        all.push(Arc::new(next));
        Self(Some(all.into()))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    fn iter(&self) -> impl Iterator<Item = &Arc<dyn Observer>> {
        self.0.iter().flat_map(|all| all.iter())
    }
}
