//! The `tracing` span of a call: made when the call starts (disabled, at
//! the cost of a check, when the subscriber does not want it), its status
//! and sizes recorded when it ends.

use tracing::Span;
use tracing::field::{Empty, display};

use super::super::peer::PeerInfo;
use super::super::status::Code;
use super::{CallEnd, Side};

/// `package.Service` and `Method` of `package.Service/Method`.
fn split(method: &str) -> (&str, &str) {
    method.rsplit_once('/').unwrap_or((method, ""))
}

/// The span of a server's call to `method` from `peer`.
///
/// The fields' values are worked out only if the span is enabled: when it is
/// not, this is a check of the subscriber's interest and nothing more.
pub(super) fn server(method: &str, peer: Option<&PeerInfo>) -> Span {
    tracing::debug_span!(
        target: "rust_rpc::server",
        "grpc",
        otel.name = method,
        otel.kind = "server",
        otel.status_code = Empty,
        otel.status_description = Empty,
        rpc.system = "grpc",
        rpc.service = split(method).0,
        rpc.method = split(method).1,
        rpc.grpc.status_code = Empty,
        network.peer.address = peer.and_then(PeerInfo::addr).map(|a| display(a.ip())),
        network.peer.port = peer.and_then(PeerInfo::addr).map(|a| a.port()),
        grpc.sent_messages = Empty,
        grpc.sent_bytes = Empty,
        grpc.received_messages = Empty,
        grpc.received_bytes = Empty,
    )
}

/// The span of a client's call to `method` at `authority`: a child of the
/// caller's current span.
pub(super) fn client(method: &str, authority: Option<&str>) -> Span {
    tracing::debug_span!(
        target: "rust_rpc::client",
        "grpc",
        otel.name = method,
        otel.kind = "client",
        otel.status_code = Empty,
        otel.status_description = Empty,
        rpc.system = "grpc",
        rpc.service = split(method).0,
        rpc.method = split(method).1,
        rpc.grpc.status_code = Empty,
        server.address = authority,
        grpc.sent_messages = Empty,
        grpc.sent_bytes = Empty,
        grpc.received_messages = Empty,
        grpc.received_bytes = Empty,
    )
}

/// Records how the call ended on its span. `otel.status_code` is `ERROR`
/// as OpenTelemetry's RPC conventions say: on a client for any status but
/// `OK`; on a server only for those that mean the server failed (a client's
/// bad argument is not the server's error).
pub(super) fn record_end(span: &Span, side: Side, end: &CallEnd<'_>) {
    if span.is_disabled() {
        return;
    }
    span.record("rpc.grpc.status_code", end.code.as_i32());
    span.record("grpc.sent_messages", end.sent.messages);
    span.record("grpc.sent_bytes", end.sent.bytes);
    span.record("grpc.received_messages", end.received.messages);
    span.record("grpc.received_bytes", end.received.bytes);
    let error = match side {
        Side::Client => end.code != Code::Ok,
        Side::Server => matches!(
            end.code,
            Code::Unknown
                | Code::DeadlineExceeded
                | Code::Unimplemented
                | Code::Internal
                | Code::Unavailable
                | Code::DataLoss
        ),
    };
    if error {
        span.record("otel.status_code", "ERROR");
        span.record(
            "otel.status_description",
            display(format_args!("{}: {}", end.code, end.message)),
        );
    }
}
