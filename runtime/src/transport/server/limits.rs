//! What a peer may make the server hold, and the settings that bound it:
//! message sizes, flow-control windows, streams per connection, header
//! lists, and how many resets a connection may cause. Each is a builder
//! setting with a default a gRPC operator would pick; README.md lists them
//! next to grpc-go's.

use super::super::codec::{DEFAULT_MAX_RECV_MESSAGE_SIZE, DEFAULT_MAX_SEND_MESSAGE_SIZE};
use super::Server;
use super::keepalive::Keepalive;

/// Default for [`Server::max_concurrent_streams`].
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 200;

/// Default for [`Server::max_header_list_size`]: 16 KiB.
pub const DEFAULT_MAX_HEADER_LIST_SIZE: u32 = 16 * 1024;

/// Default for [`Server::max_pending_accept_reset_streams`].
pub const DEFAULT_MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;

/// Default for [`Server::max_unsent_reply_bytes`]: 64 MiB.
pub const DEFAULT_MAX_UNSENT_REPLY_BYTES: usize = 64 * 1024 * 1024;

/// Default for [`Server::max_local_error_reset_streams`].
pub const DEFAULT_MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;

/// Limits and options that apply to every call.
#[derive(Clone, Debug)]
pub(super) struct Config {
    pub(super) max_recv: usize,
    pub(super) max_send: usize,
    pub(super) initial_stream_window: u32,
    pub(super) initial_connection_window: u32,
    pub(super) max_concurrent_streams: u32,
    pub(super) max_header_list_size: u32,
    pub(super) max_pending_accept_reset_streams: usize,
    pub(super) max_local_error_reset_streams: usize,
    pub(super) max_unsent_reply_bytes: usize,
    /// Every call on a task of its own from the start (see
    /// [`Server::spawn_every_call`]).
    pub(super) spawn_every_call: bool,
    /// Keepalive, idle and age limits, the handshake timeout, the cap on
    /// connections.
    pub(super) keepalive: Keepalive,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_recv: DEFAULT_MAX_RECV_MESSAGE_SIZE,
            max_send: DEFAULT_MAX_SEND_MESSAGE_SIZE,
            initial_stream_window: 1 << 20,
            initial_connection_window: 2 << 20,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_header_list_size: DEFAULT_MAX_HEADER_LIST_SIZE,
            max_pending_accept_reset_streams: DEFAULT_MAX_PENDING_ACCEPT_RESET_STREAMS,
            max_local_error_reset_streams: DEFAULT_MAX_LOCAL_ERROR_RESET_STREAMS,
            max_unsent_reply_bytes: DEFAULT_MAX_UNSENT_REPLY_BYTES,
            spawn_every_call: false,
            keepalive: Keepalive::default(),
        }
    }
}

impl Config {
    /// An HTTP/2 connection builder that advertises and enforces these
    /// limits.
    pub(super) fn h2(&self) -> h2::server::Builder {
        let mut builder = h2::server::Builder::new();
        builder
            .initial_window_size(self.initial_stream_window)
            .initial_connection_window_size(self.initial_connection_window)
            .max_concurrent_streams(self.max_concurrent_streams)
            .max_header_list_size(self.max_header_list_size)
            .max_pending_accept_reset_streams(self.max_pending_accept_reset_streams)
            .max_local_error_reset_streams(Some(self.max_local_error_reset_streams));
        builder
    }
}

impl Server {
    /// Largest request message accepted (default 4 MiB); larger ones fail
    /// with `RESOURCE_EXHAUSTED`.
    pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
        self.config.max_recv = limit;
        self
    }

    /// Largest response message sent.
    pub fn max_encoding_message_size(mut self, limit: usize) -> Self {
        self.config.max_send = limit;
        self
    }

    /// HTTP/2 flow-control windows: per stream and per connection.
    pub fn flow_control_windows(mut self, stream: u32, connection: u32) -> Self {
        self.config.initial_stream_window = stream;
        self.config.initial_connection_window = connection;
        self
    }

    /// Most calls one connection may have open at once (default
    /// [`DEFAULT_MAX_CONCURRENT_STREAMS`], 200), advertised to the client as
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`; a stream over it is refused
    /// (`RST_STREAM(REFUSED_STREAM)`, which gRPC clients retry). gRPC clients
    /// queue calls past the limit rather than fail them, so it costs a
    /// well-behaved client only waiting, while without it one connection can
    /// hold thousands of idle streams, each with its handler and buffers.
    ///
    /// grpc-go's default is unlimited (`MaxConcurrentStreams`,
    /// `math.MaxUint32`); 200 is hyper's (so tonic's) default, above the 100
    /// that RFC 9113 asks an endpoint not to go under, and well above what
    /// one client usually multiplexes on a connection. `u32::MAX` means no
    /// limit.
    pub fn max_concurrent_streams(mut self, limit: u32) -> Self {
        self.config.max_concurrent_streams = limit;
        self
    }

    /// Largest request header list accepted, counted as HTTP/2 does (each
    /// field's name and value plus 32 bytes), default
    /// [`DEFAULT_MAX_HEADER_LIST_SIZE`] (16 KiB); advertised as
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`. A call whose headers decode to more
    /// is refused (HTTP 431 and `RST_STREAM`) without its fields being
    /// kept, so the limit bounds what headers cost however well HPACK
    /// compressed them; one past four times the limit ends the connection
    /// (`GOAWAY(ENHANCE_YOUR_CALM)`).
    ///
    /// 16 KiB is gRPC C core's hard limit (`GRPC_ARG_MAX_METADATA_SIZE`: it
    /// starts refusing some calls past 8 KiB and all past 16 KiB) and
    /// hyper's default, so any call a C core server takes fits. grpc-go's
    /// default is 16 MiB (`MaxHeaderListSize`), h2's alone too: a peer can
    /// then make the server decode and hold megabytes per call.
    pub fn max_header_list_size(mut self, limit: u32) -> Self {
        self.config.max_header_list_size = limit;
        self
    }

    /// How many streams a client may open and reset before the server has
    /// taken them up, at once, before the connection is ended with
    /// `GOAWAY(ENHANCE_YOUR_CALM)`: the bound on an unpaced "rapid reset"
    /// (CVE-2023-44487), HEADERS and RST_STREAM sent in bursts. Default
    /// [`DEFAULT_MAX_PENDING_ACCEPT_RESET_STREAMS`] (20, h2's). grpc-go has no
    /// such count; it bounds running handlers by `MaxConcurrentStreams`.
    pub fn max_pending_accept_reset_streams(mut self, limit: usize) -> Self {
        self.config.max_pending_accept_reset_streams = limit;
        self
    }

    /// How many streams the server may reset because of the client's
    /// protocol errors on one connection before it ends the connection
    /// (`GOAWAY(ENHANCE_YOUR_CALM)`): a peer that makes every stream an
    /// error costs the server a reset each, and this bounds how many.
    /// Default [`DEFAULT_MAX_LOCAL_ERROR_RESET_STREAMS`] (1024, h2's and
    /// hyper's). grpc-go has no such count.
    pub fn max_local_error_reset_streams(mut self, limit: usize) -> Self {
        self.config.max_local_error_reset_streams = limit;
        self
    }

    /// The most reply bytes one connection may hold encoded while they wait
    /// for the client's flow-control window (default
    /// [`DEFAULT_MAX_UNSENT_REPLY_BYTES`], 64 MiB). A reply (or a chunk of a
    /// streamed one) that would take a connection past it, while others
    /// already wait, is not kept: the call ends with `RESOURCE_EXHAUSTED` in
    /// its trailers (which flow control does not hold back), and its bytes
    /// are freed. A client that reads its replies has at most its windows'
    /// worth waiting (rust-rpc's client: 2 MiB); one that stops reading
    /// would otherwise hold `max_concurrent_streams` replies of up to the
    /// message size each. One reply alone always goes, however large.
    /// grpc-go and C core have no such bound.
    pub fn max_unsent_reply_bytes(mut self, limit: usize) -> Self {
        self.config.max_unsent_reply_bytes = limit;
        self
    }
}
