//! A [`Channel`]: the connection its calls share, opened on first use and
//! replaced when it drops or goes away, and the channel as a tower service.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use http::uri::PathAndQuery;
use http::{HeaderMap, Uri};
use http_body::Body as _;
use tokio::sync::Mutex;

use super::keepalive::Interval;
use super::watch::ConnState;

use super::endpoint::Endpoint;
use super::{Error, base_headers};
use crate::transport::body::{Body, BoxError, status_from_error};
use crate::transport::shared::{AbortOnDrop, InFlight, send_with_capacity};
use crate::transport::status::Status;

/// A live connection: its generation (which tells connections apart), a
/// sender of requests on it, and what its watch saw.
pub(super) type Live = (u64, SendRequest<Bytes>, Arc<ConnState>);

#[derive(Default)]
struct Connection {
    pub(super) live: Option<Live>,
    pub(super) generation: u64,
}

pub(super) struct Shared {
    pub(super) endpoint: Endpoint,
    // The live connection, if any, with a generation number that tells
    // connections apart. Locked only to connect or replace it.
    connection: Mutex<Connection>,
    // Headers every call sends, built once.
    pub(super) base_headers: HeaderMap,
    // Calls in progress (see `InFlight`).
    pub(super) in_flight: Arc<AtomicUsize>,
    // The keepalive time now (doubled by each GOAWAY too_many_pings).
    pub(super) keepalive: Arc<Interval>,
    // The channel's entries in channelz, if its endpoint registers there.
    #[cfg(feature = "channelz")]
    pub(super) channelz: Option<Arc<crate::channelz::transport::ChannelGlue>>,
}

/// A cheap-to-clone handle to one HTTP/2 connection that all its calls
/// share. It connects on first use and reconnects after the connection drops.
#[derive(Clone)]
pub struct Channel {
    pub(super) shared: Arc<Shared>,
}

impl core::fmt::Debug for Channel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Channel")
            .field("endpoint", &self.shared.endpoint.authority)
            .finish()
    }
}

impl Channel {
    /// A lazily connecting channel to `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        #[cfg(feature = "channelz")]
        let mut endpoint = endpoint;
        #[cfg(feature = "channelz")]
        let channelz = endpoint.channelz.as_ref().map(|channelz| {
            let glue = crate::channelz::transport::ChannelGlue::new(
                channelz,
                &endpoint.target,
                endpoint.authority.as_str(),
            );
            endpoint.observers = endpoint.observers.then(glue.clone());
            glue
        });
        Self {
            shared: Arc::new(Shared {
                #[cfg(feature = "channelz")]
                channelz,
                connection: Mutex::new(Connection::default()),
                base_headers: base_headers(),
                in_flight: Arc::new(AtomicUsize::new(0)),
                keepalive: Arc::new(Interval::new(&endpoint.keepalive)),
                endpoint,
            }),
        }
    }

    /// The keepalive time the channel pings at now: the endpoint's
    /// [`Endpoint::keepalive_time`], doubled for each GOAWAY
    /// `too_many_pings` a server answered with; `None` without keepalive.
    pub fn keepalive_time(&self) -> Option<Duration> {
        self.shared.keepalive.get()
    }

    /// A lazily connecting channel to `uri` (`http://host:port`).
    pub fn from_uri(uri: impl AsRef<str>) -> Result<Self, Error> {
        Endpoint::new(uri).map(Self::new)
    }

    /// A sender on the live connection (and its generation), connecting
    /// first if there is none.
    pub(super) async fn sender(&self) -> Result<Live, Status> {
        let mut conn = self.shared.connection.lock().await;
        if let Some(live) = &conn.live {
            return Ok(live.clone());
        }
        // Boxed: connecting (a TLS handshake's state above all) is rare, and
        // unboxed it would take room in every call's future, which is moved
        // whole as the call is wrapped in its deadline.
        #[cfg(feature = "channelz")]
        if let Some(glue) = &self.shared.channelz {
            glue.connecting();
        }
        let opened = Box::pin(self.shared.endpoint.open(&self.shared)).await;
        #[cfg(feature = "channelz")]
        if let (Some(glue), Err(_)) = (&self.shared.channelz, &opened) {
            glue.failed();
        }
        let (send, state) = opened?;
        conn.generation += 1;
        let live = (conn.generation, send, state);
        conn.live = Some(live.clone());
        Ok(live)
    }

    /// Forgets connection `generation` if it is still the live one, so that
    /// the next call reconnects (and a newer connection is left alone).
    pub(super) async fn discard(&self, generation: u64) {
        let mut conn = self.shared.connection.lock().await;
        if conn.live.as_ref().is_some_and(|(g, ..)| *g == generation) {
            conn.live = None;
        }
    }

    /// Opens a stream and sends `head` on it, using the sender in `cached`
    /// (and leaving the one used there, with what its watch sees) or the
    /// channel's.
    pub(super) async fn start_call(
        &self,
        cached: &mut Option<Live>,
        head: http::Request<()>,
        end_of_stream: bool,
    ) -> Result<(h2::client::ResponseFuture, h2::SendStream<Bytes>, InFlight), Status> {
        // Two attempts: a connection found dead, or going away (GOAWAY),
        // before anything was sent is replaced once, transparently.
        for attempt in 0..2 {
            let (generation, send, state) = match cached.take() {
                Some(s) => s,
                None => self.sender().await?,
            };
            let mut ready = match send.ready().await {
                Ok(r) => r,
                Err(e) if attempt == 0 => {
                    tracing::debug!(error = %e, "connection unusable; reconnecting");
                    self.discard(generation).await;
                    continue;
                }
                Err(e) => return Err(Status::unavailable(format!("connection failed: {e}"))),
            };
            // A GOAWAY may have come since: h2 would refuse the stream (or
            // fail send_request, with the head gone). The watch reads each
            // frame before h2 does, so what h2 knows of a GOAWAY it knows
            // first: new calls go to a new connection.
            if attempt == 0 && state.saw_goaway() {
                tracing::debug!("connection going away (GOAWAY); the call goes on a new one");
                self.discard(generation).await;
                continue;
            }
            match ready.send_request(head, end_of_stream) {
                Ok((response, body)) => {
                    *cached = Some((generation, ready, state));
                    return Ok((response, body, InFlight::enter(&self.shared.in_flight)));
                }
                Err(e) => {
                    self.discard(generation).await;
                    return Err(Status::unavailable(format!("cannot start the call: {e}")));
                }
            }
        }
        Err(Status::unavailable("no connection"))
    }

    /// Sends any HTTP request on this channel's connection (see the
    /// `tower_service::Service` impl).
    pub(super) async fn send_http<B>(
        self,
        request: http::Request<B>,
    ) -> Result<http::Response<Body>, Status>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (mut parts, body) = request.into_parts();
        // Requests made for a service usually carry only the path; the
        // connection needs the scheme and authority too.
        if parts.uri.scheme().is_none() || parts.uri.authority().is_none() {
            let mut uri = std::mem::take(&mut parts.uri).into_parts();
            uri.scheme
                .get_or_insert_with(|| self.shared.endpoint.scheme.clone());
            uri.authority
                .get_or_insert_with(|| self.shared.endpoint.authority.clone());
            uri.path_and_query
                .get_or_insert_with(|| PathAndQuery::from_static("/"));
            parts.uri = Uri::from_parts(uri)
                .map_err(|e| Status::internal(format!("invalid request URI: {e}")))?;
        }
        let head = http::Request::from_parts(parts, ());
        let empty = body.is_end_stream();
        let (response, mut send, in_flight) = self.start_call(&mut None, head, empty).await?;
        let mut sender = None;
        if !empty {
            let mut body = Box::pin(body);
            // A body of one chunk (a unary request) goes out right here, with
            // END_STREAM; anything longer gets a task that sends it as the
            // peer's flow control allows.
            let first = poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await;
            match first {
                Poll::Ready(Some(Ok(frame))) if frame.is_data() && body.is_end_stream() => {
                    let data = frame.into_data().unwrap_or_default();
                    if let Err(e) = send.send_data(data, true) {
                        // The server may have answered (and closed the stream)
                        // already; then its answer is the result.
                        return match futures_util::FutureExt::now_or_never(response) {
                            Some(Ok(r)) => Ok(r.map(|recv| Body::h2_client(recv, None, in_flight))),
                            _ => Err(Status::from(e)),
                        };
                    }
                }
                Poll::Ready(None) => {
                    let _ = send.send_data(Bytes::new(), true);
                }
                Poll::Ready(Some(Err(e))) => {
                    send.send_reset(h2::Reason::CANCEL);
                    return Err(status_from_error(e.into()));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    let task = tokio::spawn(send_body(body, send, Some(frame)));
                    sender = Some(AbortOnDrop(Some(task.abort_handle())));
                }
                Poll::Pending => {
                    let task = tokio::spawn(send_body(body, send, None));
                    sender = Some(AbortOnDrop(Some(task.abort_handle())));
                }
            }
        }
        // Dropping this future before the response arrives drops `sender`,
        // which stops the task (and the stream is reset).
        let response = response.await.map_err(Status::from)?;
        Ok(response.map(|recv| Body::h2_client(recv, sender, in_flight)))
    }
}

/// What the channel's `tower_service::Service` impl returns: the response
/// head, with a [`Body`] that streams the DATA frames and then the trailers.
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Body>, Status>> + Send + 'static>>;

/// The channel as a tower service: each request becomes one HTTP/2 stream on
/// the channel's connection (connecting, or reconnecting, first if need be).
/// A request that names no scheme or authority (just a path, as
/// [`Client::with_service`](super::Client::with_service) sends) gets the endpoint's. The body is sent as
/// the server's flow control allows; dropping the response (or its body)
/// resets the stream. It is always ready: calls wait for a connection, and
/// for HTTP/2 concurrency, when they are made.
impl<B> tower_service::Service<http::Request<B>> for Channel
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = Status;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> ResponseFuture {
        Box::pin(self.clone().send_http(request))
    }
}

/// Sends the rest of a request body (starting with `first`, if the caller
/// already took it) on `send`: data as the peer's flow-control window allows,
/// then trailers or END_STREAM. A failing body resets the stream.
async fn send_body<B>(
    mut body: Pin<Box<B>>,
    mut send: h2::SendStream<Bytes>,
    mut first: Option<http_body::Frame<Bytes>>,
) where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    loop {
        let frame = match first.take() {
            Some(frame) => frame,
            None => match poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => {
                    let status = status_from_error(e.into());
                    tracing::debug!(%status, "request body failed; cancelling the call");
                    send.send_reset(h2::Reason::CANCEL);
                    return;
                }
                None => {
                    let _ = send.send_data(Bytes::new(), true);
                    return;
                }
            },
        };
        match frame.into_data() {
            Ok(data) => {
                let end = body.is_end_stream();
                if send_with_capacity(&mut send, data, end).await.is_err() || end {
                    return;
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    let _ = send.send_trailers(trailers);
                    return;
                }
            }
        }
    }
}
