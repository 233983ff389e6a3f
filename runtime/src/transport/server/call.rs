//! One call: its request head parsed, its handler run under the deadline and
//! stopped when the client resets the stream, its result made the response
//! that [`reply`](super::reply) writes. [`start`] decides where the call
//! runs: on its connection's task while it need not wait, then on a task of
//! its own.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_core::Stream;
use h2::server::SendResponse;
use http::HeaderMap;
use http::header::HeaderName;
use http::uri::PathAndQuery;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::Instrument;

use super::super::body::Body;
use super::super::boxed::BoxFuture;
use super::super::compression::{self, CompressionEncoding};
use super::super::metadata::MetadataMap;
use super::super::observe::{CallRecord, observe_reply};
use super::super::peer::PeerInfo;
use super::super::shared::InFlight;
use super::super::status::Status;
use super::super::streaming::{Role, Streaming};
use super::super::timeout::parse_timeout;
use super::super::{Request, Response};
use super::accept::Peer;
use super::reply::{self, Reply, ReplyBody};
use super::route::Router;
use crate::message::Message;

/// One incoming call, handed to a [`Service`](super::Service). Generated
/// code calls one of [`Call::unary`], [`Call::server_streaming`],
/// [`Call::client_streaming`], [`Call::streaming`] or
/// [`Call::unimplemented`].
pub struct Call {
    request: http::Request<Body>,
    reply: ReplyTo,
    router: Arc<Router>,
    peer: Option<Arc<PeerInfo>>,
}

/// Where a call's response goes.
enum ReplyTo {
    // Onto its HTTP/2 stream, written by the call itself; `spawned` counts
    // the connection's calls running on tasks of their own.
    Stream {
        respond: SendResponse<Bytes>,
        spawned: Arc<AtomicUsize>,
        unsent: Arc<AtomicUsize>,
    },
    // Back to `Routes`, as a future that runs the handler and makes the
    // response.
    Routes(oneshot::Sender<BoxFuture<http::Response<Body>>>),
}

impl Call {
    /// A call that arrived on `peer`'s connection and answers on its stream.
    pub(super) fn on_stream(
        request: http::Request<Body>,
        respond: SendResponse<Bytes>,
        peer: &Peer,
    ) -> Self {
        Self {
            request,
            reply: ReplyTo::Stream {
                respond,
                spawned: peer.spawned.clone(),
                unsent: peer.unsent.clone(),
            },
            router: peer.router.clone(),
            peer: Some(peer.info.clone()),
        }
    }

    /// A call made through [`Routes`](super::Routes), answered through `tx`;
    /// its peer is the `Arc<PeerInfo>` in the request's extensions, if any
    /// (this server's connections put it there).
    pub(super) fn for_routes(
        mut request: http::Request<Body>,
        tx: oneshot::Sender<BoxFuture<http::Response<Body>>>,
        router: Arc<Router>,
    ) -> Self {
        let peer = request.extensions_mut().remove::<Arc<PeerInfo>>();
        Self {
            request,
            reply: ReplyTo::Routes(tx),
            router,
            peer,
        }
    }

    /// Answers `UNIMPLEMENTED`: the service has no such method.
    pub fn unimplemented(self, method: &str) {
        let status = Status::unimplemented(format!("unknown method {method}"));
        let record = CallRecord::server(
            self.request.uri().path_and_query(),
            false,
            self.request.headers(),
            self.peer.as_ref(),
            &self.router.observers,
        );
        if let Some(record) = record {
            record.end_with(&status);
        }
        match self.reply {
            ReplyTo::Stream { mut respond, .. } => {
                reply::send_head_only(&mut respond, reply::status_head(&status));
            }
            ReplyTo::Routes(tx) => {
                let _ = tx.send(Box::pin(std::future::ready(reply::status_response(
                    &status,
                ))));
            }
        }
    }

    /// Runs a unary handler.
    pub fn unary<Req, Resp, F, Fut>(self, handler: F)
    where
        Req: Message,
        Resp: Message,
        F: FnOnce(Request<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    {
        self.run(move |head, mut body: Streaming<Req>| async move {
            let message = match body.message().await? {
                Some(m) => m,
                None => return Err(Status::internal("the request carried no message")),
            };
            if body.message().await?.is_some() {
                return Err(Status::internal(
                    "a unary call carried more than one request message",
                ));
            }
            // For a single message, "compressed" is what that message was.
            let head = head.compressed_if(body.last_message_compressed());
            let response = handler(head.into_request(message)).await?;
            Ok(Reply::One(response))
        });
    }

    /// Runs a server-streaming handler.
    pub fn server_streaming<Req, Resp, S, F, Fut>(self, handler: F)
    where
        Req: Message,
        Resp: Message,
        S: Stream<Item = Result<Resp, Status>> + Send + 'static,
        F: FnOnce(Request<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
    {
        self.run(move |head, mut body: Streaming<Req>| async move {
            let message = match body.message().await? {
                Some(m) => m,
                None => return Err(Status::internal("the request carried no message")),
            };
            // For a single message, "compressed" is what that message was.
            let head = head.compressed_if(body.last_message_compressed());
            let response = handler(head.into_request(message)).await?;
            Ok(Reply::stream(response))
        });
    }

    /// Runs a client-streaming handler.
    pub fn client_streaming<Req, Resp, F, Fut>(self, handler: F)
    where
        Req: Message,
        Resp: Message,
        F: FnOnce(Request<Streaming<Req>>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    {
        self.run(move |head, body: Streaming<Req>| async move {
            let response = handler(head.into_request(body)).await?;
            Ok(Reply::One(response))
        });
    }

    /// Runs a bidirectional-streaming handler.
    pub fn streaming<Req, Resp, S, F, Fut>(self, handler: F)
    where
        Req: Message,
        Resp: Message,
        S: Stream<Item = Result<Resp, Status>> + Send + 'static,
        F: FnOnce(Request<Streaming<Req>>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
    {
        self.run(move |head, body: Streaming<Req>| async move {
            let response = handler(head.into_request(body)).await?;
            Ok(Reply::stream(response))
        });
    }

    /// Runs the call: [`answer`], then onto the stream by [`reply::write`]
    /// (started by [`start`]), or back to [`Routes`](super::Routes). A
    /// watched call (see [`observe`](super::super::observe)) runs in its
    /// span, its reply counted and its end recorded; boxed apart, so that
    /// the calls nothing watches carry none of it.
    fn run<Req, Resp, F, Fut>(self, handler: F)
    where
        Req: Message,
        Resp: Message,
        F: FnOnce(Head, Streaming<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Reply<Resp>, Status>> + Send + 'static,
    {
        let Call {
            request,
            reply,
            router,
            peer,
        } = self;
        let spawn_at_once = router.config.spawn_every_call;
        let record = CallRecord::server(
            request.uri().path_and_query(),
            true,
            request.headers(),
            peer.as_ref(),
            &router.observers,
        );
        match (reply, record) {
            (
                ReplyTo::Stream {
                    mut respond,
                    spawned,
                    unsent,
                },
                None,
            ) => start(
                Box::pin(async move {
                    // The handler stops (is dropped) when the client resets
                    // the stream; the answer first, so that one ready at
                    // once needs no wake-up on reset. (Inline, not through
                    // `unless_reset`: that would move the answer once more.)
                    let budget = reply::Budget {
                        unsent: &unsent,
                        limit: router.config.max_unsent_reply_bytes,
                    };
                    let (response, deadline) = tokio::select! {
                        biased;
                        answered = answer(request, peer, &router, handler, None, Some(budget)) => answered,
                        reason = poll_fn(|cx| respond.poll_reset(cx)) => {
                            tracing::debug!(?reason, "client cancelled the call");
                            return;
                        }
                    };
                    reply::write(&mut respond, response, deadline, budget).await;
                }),
                &spawned,
                spawn_at_once,
            ),
            (
                ReplyTo::Stream {
                    mut respond,
                    spawned,
                    unsent,
                },
                Some(record),
            ) => {
                let span = record.span().clone();
                let call = async move {
                    let budget = reply::Budget {
                        unsent: &unsent,
                        limit: router.config.max_unsent_reply_bytes,
                    };
                    let answer = answer(
                        request,
                        peer,
                        &router,
                        handler,
                        Some(record.clone()),
                        Some(budget),
                    );
                    let Some((response, deadline)) = unless_reset(answer, &mut respond).await
                    else {
                        return;
                    };
                    let response =
                        observe_reply(response.map(ReplyBody::into_body), record, deadline);
                    reply::write(&mut respond, response, deadline, budget).await;
                };
                start(Box::pin(call.instrument(span)), &spawned, spawn_at_once);
            }
            (ReplyTo::Routes(tx), None) => {
                let _ = tx.send(Box::pin(async move {
                    // From one of this server's connections, the peer
                    // carries the connection's count of unread replies.
                    let unsent = peer.as_ref().and_then(|p| p.unsent_replies().cloned());
                    let budget = unsent.as_ref().map(|unsent| reply::Budget {
                        unsent,
                        limit: router.config.max_unsent_reply_bytes,
                    });
                    let (response, _deadline) =
                        answer(request, peer, &router, handler, None, budget).await;
                    // Past the answer, the deadline is the caller's to keep:
                    // dropping the body ends the call.
                    response.map(ReplyBody::into_body)
                }));
            }
            (ReplyTo::Routes(tx), Some(record)) => {
                let span = record.span().clone();
                let call = async move {
                    let unsent = peer.as_ref().and_then(|p| p.unsent_replies().cloned());
                    let budget = unsent.as_ref().map(|unsent| reply::Budget {
                        unsent,
                        limit: router.config.max_unsent_reply_bytes,
                    });
                    let answer = answer(
                        request,
                        peer,
                        &router,
                        handler,
                        Some(record.clone()),
                        budget,
                    );
                    let (response, deadline) = answer.await;
                    let response =
                        observe_reply(response.map(ReplyBody::into_body), record, deadline);
                    response.map(Body::boxed)
                };
                let _ = tx.send(Box::pin(call.instrument(span)));
            }
        }
    }
}

/// `answer`'s result, or `None` if the client resets the stream first (the
/// answer, and the handler in it, are then dropped). The answer is polled
/// first, so that one ready at once needs no wake-up on reset.
async fn unless_reset<T>(
    answer: impl Future<Output = T>,
    respond: &mut SendResponse<Bytes>,
) -> Option<T> {
    tokio::select! {
        biased;
        answered = answer => Some(answered),
        reason = poll_fn(|cx| respond.poll_reset(cx)) => {
            tracing::debug!(?reason, "client cancelled the call");
            None
        }
    }
}

/// Answers one call: parses the request head, runs the interceptors and
/// then the handler until its result or the deadline, and makes the
/// response (a trailers-only one with the status if anything failed),
/// returned with the call's deadline. Cancellation is the caller's:
/// dropping this future drops the handler.
async fn answer<Req, Resp, F, Fut>(
    request: http::Request<Body>,
    peer: Option<Arc<PeerInfo>>,
    router: &Router,
    handler: F,
    record: Option<Arc<CallRecord>>,
    budget: Option<reply::Budget<'_>>,
) -> (http::Response<ReplyBody<Resp>>, Option<Instant>)
where
    Req: Message,
    Resp: Message,
    F: FnOnce(Head, Streaming<Req>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Reply<Resp>, Status>> + Send + 'static,
{
    let config = &router.config;
    let (parts, body) = request.into_parts();
    // The path's bytes are shared, not copied; the rest of the URI is not kept.
    let path = parts.uri.path_and_query().cloned();
    let mut head = match Head::parse(parts.headers, path, peer) {
        Ok(h) => h,
        Err(status) => return (reply::status(&status), None),
    };
    let accepts = std::mem::take(&mut head.accepts);
    // One instant for the handler and the reply it streams.
    let deadline = head.request.timeout.map(|t| Instant::now() + t);
    let body = Streaming::new(
        body,
        head.request.compression,
        config.max_recv,
        Role::Server,
    )
    .recording(record);
    // Without interceptors, nothing is in the handler's way.
    // The handler first: one that is done at once needs no timer. The
    // handler's future is made right in the select (wrapped, it would be
    // copied once more: it is most of a call's state).
    let outcome = if router.interceptors.is_empty() {
        tokio::select! {
            biased;
            outcome = handler(head, body) => outcome,
            () = until(deadline) => Err(Status::deadline_exceeded("deadline exceeded")),
        }
    } else {
        // Boxed, so that calls without interceptors do not carry this
        // branch's state in theirs.
        let interceptors = router.interceptors.clone();
        let intercepted = Box::pin(async move {
            let request = interceptors.run(head.request).await?;
            handler(Head::new(request), body).await
        });
        tokio::select! {
            biased;
            outcome = intercepted => outcome,
            () = until(deadline) => Err(Status::deadline_exceeded("deadline exceeded")),
        }
    };
    let response = match outcome {
        Ok(answer) => reply::respond(answer, &accepts, config.max_send, deadline, budget).await,
        Err(status) => reply::status(&status),
    };
    (response, deadline)
}

/// The deadline a request's `grpc-timeout` sets, from now; none if it has
/// none or it cannot be read (the call itself then fails on it).
pub(super) fn deadline_of(headers: &HeaderMap) -> Option<Instant> {
    let timeout = parse_timeout(headers.get(&GRPC_TIMEOUT)?.as_bytes()).ok()?;
    Some(Instant::now() + timeout)
}

/// Waits for `deadline`, or forever if there is none. The timer starts when
/// this is first polled.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Starts one call: polls it once right here, on the connection's task, and
/// gives it a task of its own only if it has to wait. A handler that finishes
/// at once (a unary call with its request already received, the usual case)
/// so costs no task, and its reply is written together with those of the
/// other calls that arrived with it. What a handler does before its first
/// `.await` that waits therefore runs on the connection's task: a handler
/// with long CPU-bound work should hand it to `spawn_blocking` or another
/// task (as it should anyway, not to hold up a runtime thread). A large
/// reply is encoded on tokio's blocking pool (see [`reply::respond`]).
///
/// The first poll uses a no-op waker: a call that is not done is spawned,
/// and its task polls it again at once, registering real wake-ups. A panic
/// in that first poll ends only this call (its stream is reset when the
/// call is dropped), as it would on a task of its own.
///
/// `spawned` counts the connection's calls that run on tasks of their own,
/// for [`LetOthersFirst`](super::super::shared::LetOthersFirst). With
/// `spawn_at_once` (the builder's `spawn_every_call`), the call goes on a
/// task of its own without that first poll.
pub(super) fn start(
    mut call: Pin<Box<dyn Future<Output = ()> + Send>>,
    spawned: &Arc<AtomicUsize>,
    spawn_at_once: bool,
) {
    if !spawn_at_once {
        let mut cx = Context::from_waker(Waker::noop());
        let polled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call.as_mut().poll(&mut cx)));
        match polled {
            Ok(Poll::Ready(())) => return,
            Ok(Poll::Pending) => {}
            Err(_) => {
                tracing::error!("a handler panicked; its call is reset");
                return;
            }
        }
    }
    let counted = InFlight::enter(spawned);
    tokio::spawn(async move {
        let _counted = counted;
        call.await;
    });
}

/// What a call learned from its request head: the request its handler
/// gets, without the message (metadata, deadline, compression, peer, path).
struct Head {
    request: Request<()>,
    /// The compressions the client accepts for the reply.
    accepts: Vec<CompressionEncoding>,
}

// Looked up on every call: as names, not strings to parse each time.
static GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");
static GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");

impl Head {
    fn parse(
        headers: HeaderMap,
        path: Option<PathAndQuery>,
        peer: Option<Arc<PeerInfo>>,
    ) -> Result<Self, Status> {
        let timeout = match headers.get(&GRPC_TIMEOUT) {
            None => None,
            Some(v) => match parse_timeout(v.as_bytes()) {
                // `0S`, `0n`, `00000000H`: the grammar allows zero, and it
                // means the deadline passed before the call arrived. Fail
                // it without running the handler (a handler that finishes
                // at once would otherwise win the race with the timer).
                Ok(t) if t.is_zero() => {
                    return Err(Status::deadline_exceeded(format!(
                        "grpc-timeout {v:?}: the deadline passed before the call started"
                    )));
                }
                Ok(t) => Some(t),
                Err(_) => {
                    return Err(Status::invalid_argument(format!(
                        "invalid grpc-timeout {v:?}"
                    )));
                }
            },
        };
        let encoding = match headers.get(&GRPC_ENCODING) {
            None => None,
            Some(v) if compression::is_identity(v.as_bytes()) => None,
            Some(v) => match CompressionEncoding::from_header_value(v.as_bytes()) {
                Some(e) => Some(e),
                None => {
                    // The reply says what to use instead, as the spec asks:
                    // every trailers-only reply carries grpc-accept-encoding.
                    return Err(Status::unimplemented(format!(
                        "grpc-encoding {v:?} is not supported"
                    )));
                }
            },
        };
        let accepts = headers
            .get(&reply::GRPC_ACCEPT_ENCODING)
            .map(compression::parse_accept_encoding)
            .unwrap_or_default();
        // Built in place: a request is moved whole, and each move copies it.
        Ok(Head {
            request: Request {
                metadata: MetadataMap::from_headers(headers),
                message: (),
                timeout,
                compression: encoding,
                per_message: None,
                cancel: None,
                extensions: http::Extensions::new(),
                peer,
                path,
                record: None,
            },
            accepts,
        })
    }

    /// The head of `request`, as an interceptor returned it.
    fn new(request: Request<()>) -> Self {
        Self {
            request,
            accepts: Vec::new(),
        }
    }

    fn compressed_if(mut self, compressed: bool) -> Self {
        if !compressed {
            self.request.compression = None;
        }
        self
    }

    fn into_request<T>(self, message: T) -> Request<T> {
        self.request.with_message(message)
    }
}
