//! OpenTelemetry (feature `otel`): the standard gRPC metrics of gRFC A66,
//! and the W3C trace context carried in calls' metadata.
//!
//! [`Metrics`] is an [`Observer`]: add it to a server and to a client's
//! endpoint, and every call records into these instruments, with the
//! bucket boundaries A66 gives for its default views:
//!
//! | instrument | kind | unit | attributes |
//! |---|---|---|---|
//! | `grpc.client.attempt.started` | counter | `{attempt}` | `grpc.method`, `grpc.target` |
//! | `grpc.client.attempt.duration` | histogram | `s` | `grpc.method`, `grpc.target`, `grpc.status` |
//! | `grpc.client.attempt.sent_total_compressed_message_size` | histogram | `By` | `grpc.method`, `grpc.target`, `grpc.status` |
//! | `grpc.client.attempt.rcvd_total_compressed_message_size` | histogram | `By` | `grpc.method`, `grpc.target`, `grpc.status` |
//! | `grpc.client.call.duration` | histogram | `s` | `grpc.method`, `grpc.target`, `grpc.status` |
//! | `grpc.server.call.started` | counter | `{call}` | `grpc.method` |
//! | `grpc.server.call.sent_total_compressed_message_size` | histogram | `By` | `grpc.method`, `grpc.status` |
//! | `grpc.server.call.rcvd_total_compressed_message_size` | histogram | `By` | `grpc.method`, `grpc.status` |
//! | `grpc.server.call.duration` | histogram | `s` | `grpc.method`, `grpc.status` |
//!
//! `grpc.method` is `package.Service/Method`, or `other` on a server for a
//! method its service does not declare (a peer picks those names, so they
//! would let it grow the metrics without bound); `grpc.status` is the
//! code's name (`OK`, `DEADLINE_EXCEEDED`); `grpc.target` is the endpoint
//! the channel was made for. Sizes are of the messages as sent, compressed
//! if they were, without gRPC's or HTTP/2's framing. A client call is one
//! attempt: the one transparent retry of a call a server refused unread
//! (its GOAWAY) is part of the same attempt, until retries
//! (gRFC A6) come.
//!
//! ```no_run
//! # async fn run(svc: impl rust_rpc::transport::Service) -> std::io::Result<()> {
//! use opentelemetry::metrics::MeterProvider as _;
//! use rust_rpc::otel::Metrics;
//! use rust_rpc::transport::{Endpoint, Server};
//!
//! # let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder().build();
//! // `provider` is the application's meter provider, with its exporter.
//! let metrics = Metrics::new(&provider.meter("my-server"));
//! let channel = Endpoint::from_static("http://127.0.0.1:50052")
//!     .observer(metrics.clone())
//!     .connect_lazy();
//! Server::builder()
//!     .observer(metrics)
//!     .add_service(svc)
//!     .serve("127.0.0.1:50051".parse().unwrap())
//!     .await
//! # }
//! ```
//!
//! Tracing needs no setup here: every call is a `tracing` span (see
//! [`observe`](crate::transport::observe)), which `tracing-opentelemetry`'s
//! layer turns into OpenTelemetry spans. With this feature, a client call
//! sends its span's context as W3C `traceparent` (and `tracestate`)
//! metadata, and a server's call span takes the context it receives as its
//! parent, so one trace follows a request across services.

pub(crate) mod propagate;

use std::sync::Arc;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};

use crate::transport::observe::{CallEnd, CallInfo, Observer, Side};

/// gRFC A66's bucket boundaries for latencies, in seconds.
const LATENCY_BUCKETS: [f64; 41] = [
    0.0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005,
    0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16,
    0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0,
];

/// gRFC A66's bucket boundaries for sizes, in bytes.
const SIZE_BUCKETS: [f64; 14] = [
    0.0,
    1024.0,
    2048.0,
    4096.0,
    16384.0,
    65536.0,
    262144.0,
    1048576.0,
    4194304.0,
    16777216.0,
    67108864.0,
    268435456.0,
    1073741824.0,
    4294967296.0,
];

/// What `grpc.method` says of a method a server's service does not declare.
const OTHER_METHOD: &str = "other";

/// The standard gRPC metrics (gRFC A66) as an [`Observer`]: one set of
/// instruments, made from a [`Meter`], for every server and channel it is
/// added to. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    instruments: Arc<Instruments>,
}

impl core::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

struct Instruments {
    client_attempt_started: Counter<u64>,
    client_attempt_duration: Histogram<f64>,
    client_attempt_sent: Histogram<u64>,
    client_attempt_received: Histogram<u64>,
    client_call_duration: Histogram<f64>,
    server_call_started: Counter<u64>,
    server_call_sent: Histogram<u64>,
    server_call_received: Histogram<u64>,
    server_call_duration: Histogram<f64>,
}

impl Metrics {
    /// The instruments, made with `meter` (usually
    /// `provider.meter("your-service")`).
    pub fn new(meter: &Meter) -> Self {
        let duration = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(description)
                .with_boundaries(LATENCY_BUCKETS.to_vec())
                .build()
        };
        let size = |name: &'static str, description: &'static str| {
            meter
                .u64_histogram(name)
                .with_unit("By")
                .with_description(description)
                .with_boundaries(SIZE_BUCKETS.to_vec())
                .build()
        };
        Self {
            instruments: Arc::new(Instruments {
                client_attempt_started: meter
                    .u64_counter("grpc.client.attempt.started")
                    .with_unit("{attempt}")
                    .with_description("Number of client call attempts started.")
                    .build(),
                client_attempt_duration: duration(
                    "grpc.client.attempt.duration",
                    "Time from the start of a client call attempt to its end.",
                ),
                client_attempt_sent: size(
                    "grpc.client.attempt.sent_total_compressed_message_size",
                    "Bytes of request messages a client call attempt sent, compressed if they \
                     were, without framing.",
                ),
                client_attempt_received: size(
                    "grpc.client.attempt.rcvd_total_compressed_message_size",
                    "Bytes of response messages a client call attempt received, compressed if \
                     they were, without framing.",
                ),
                client_call_duration: duration(
                    "grpc.client.call.duration",
                    "Time from the start of a client call to its status.",
                ),
                server_call_started: meter
                    .u64_counter("grpc.server.call.started")
                    .with_unit("{call}")
                    .with_description("Number of calls the server started.")
                    .build(),
                server_call_sent: size(
                    "grpc.server.call.sent_total_compressed_message_size",
                    "Bytes of response messages a server call sent, compressed if they were, \
                     without framing.",
                ),
                server_call_received: size(
                    "grpc.server.call.rcvd_total_compressed_message_size",
                    "Bytes of request messages a server call received, compressed if they \
                     were, without framing.",
                ),
                server_call_duration: duration(
                    "grpc.server.call.duration",
                    "Time from a server call's request head to its status being sent.",
                ),
            }),
        }
    }
}

/// `grpc.method` of `call`.
fn method(call: &CallInfo<'_>) -> KeyValue {
    let method = match call.registered {
        true => call.method.to_owned(),
        false => OTHER_METHOD.to_owned(),
    };
    KeyValue::new("grpc.method", method)
}

/// `grpc.target` of a client's `call`.
fn target(call: &CallInfo<'_>) -> KeyValue {
    KeyValue::new("grpc.target", call.target.unwrap_or_default().to_owned())
}

impl Observer for Metrics {
    fn call_started(&self, call: &CallInfo<'_>) {
        let m = &self.instruments;
        match call.side {
            Side::Client => m
                .client_attempt_started
                .add(1, &[method(call), target(call)]),
            Side::Server => m.server_call_started.add(1, &[method(call)]),
        }
    }

    fn call_ended(&self, call: &CallInfo<'_>, end: &CallEnd<'_>) {
        let m = &self.instruments;
        let status = KeyValue::new("grpc.status", end.code.as_str());
        let seconds = end.duration.as_secs_f64();
        match call.side {
            Side::Client => {
                let attributes = [method(call), target(call), status];
                m.client_attempt_duration.record(seconds, &attributes);
                m.client_attempt_sent.record(end.sent.bytes, &attributes);
                m.client_attempt_received
                    .record(end.received.bytes, &attributes);
                m.client_call_duration.record(seconds, &attributes);
            }
            Side::Server => {
                let attributes = [method(call), status];
                m.server_call_duration.record(seconds, &attributes);
                m.server_call_sent.record(end.sent.bytes, &attributes);
                m.server_call_received
                    .record(end.received.bytes, &attributes);
            }
        }
    }
}
