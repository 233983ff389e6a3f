//! The client side: an [`Endpoint`] describes where to connect, a
//! [`Channel`] multiplexes calls over one HTTP/2 connection to it, and
//! [`Client`] runs the four kinds of call that generated clients expose.
//!
//! Connection life cycle of a channel:
//!
//! ```text
//!   Idle --first call--> Connecting --ok--> Ready --connection lost--> Idle
//!                            |                                  (next call reconnects)
//!                            +--error--> Idle (the call fails UNAVAILABLE)
//! ```
//!
//! The connection is shared by every clone of the channel; a call takes the
//! lock only when there is no live connection (to connect), never per call.
//!
//! Two ways to call, one machinery:
//!
//! ```text
//!   Client::new(channel)        --> straight onto the connection (no boxing)
//!   Client::with_service(svc)   --> http::Request<Body> --> svc (layers...) --> Channel
//! ```
//!
//! `Channel` is itself a `tower_service::Service<http::Request<B>>`, so the
//! second path ends on the same connection, with the same reconnect logic.

use std::time::Duration;

use http::HeaderMap;
use http::header::{CONTENT_TYPE, HeaderValue, TE, USER_AGENT};

mod keepalive;
mod watch;

pub use keepalive::DEFAULT_CLIENT_KEEPALIVE_TIMEOUT;
mod call;
mod channel;
mod endpoint;
mod requests;

pub use call::Client;
pub use channel::{Channel, ResponseFuture};
pub use endpoint::Endpoint;

use super::compression::{self, CompressionEncoding};
use super::metadata::MetadataMap;
use super::timeout::encode_timeout;

const USER_AGENT_VALUE: &str = concat!("rust-rpc/", env!("CARGO_PKG_VERSION"));

/// A failure to set up a channel (a bad address); failures of calls are [`Status`](crate::transport::Status)es.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Headers every call of a client sends, built once per channel or client.
fn base_headers() -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(8);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(TE, HeaderValue::from_static("trailers"));
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    headers.insert(
        "grpc-accept-encoding",
        compression::supported_accept_encoding(),
    );
    headers
}

/// The headers one call adds to the base ones.
fn add_call_headers(
    headers: &mut HeaderMap,
    timeout: Option<Duration>,
    compression: Option<CompressionEncoding>,
    metadata: &MetadataMap,
) {
    if let Some(timeout) = timeout {
        headers.insert("grpc-timeout", encode_timeout(timeout));
    }
    if let Some(enc) = compression {
        headers.insert("grpc-encoding", HeaderValue::from_static(enc.as_str()));
    }
    metadata.extend_headers(headers);
}
