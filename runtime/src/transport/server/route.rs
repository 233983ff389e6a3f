//! Routing: from a request's method, content type and path
//! `/package.Service/Method` to the [`Service`] that runs it, straight or
//! through the server's tower layers; and the routing table as a tower
//! service of its own, [`Routes`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use h2::server::SendResponse;
use http::StatusCode;
use http::header::CONTENT_TYPE;

use super::super::body::{Body, BoxError};
use super::super::boxed::{BoxFuture, SharedService};
use super::super::intercept::Interceptors;
use super::super::observe::Observers;
use super::super::status::Status;
use super::Service;
use super::accept::Peer;
use super::call::{Call, deadline_of, start};
use super::limits::Config;
use super::reply::{self, status_response};

/// The routing table: every service by name, and the settings every call
/// runs under. Immutable once serving starts.
pub(super) struct Router {
    pub(super) services: HashMap<&'static str, Arc<dyn Service>>,
    pub(super) config: Config,
    /// Run before every routed call (see [`Server::interceptor`](super::Server::interceptor)).
    pub(super) interceptors: Interceptors,
    /// Told of every routed call (see [`Server::observer`](super::Server::observer)).
    pub(super) observers: Observers,
    /// Where connections register for channelz, if the server does.
    #[cfg(feature = "channelz")]
    pub(super) channelz: Option<crate::channelz::ServerEntry>,
}

/// Why a request reached no service: answered with an HTTP status (not a
/// gRPC request at all) or a gRPC one (no such service).
enum Unrouted {
    Http(StatusCode),
    Grpc(Status),
}

impl Unrouted {
    fn head(&self) -> http::Response<()> {
        match self {
            Unrouted::Http(code) => reply::http_error_head(*code),
            Unrouted::Grpc(status) => reply::status_head(status),
        }
    }
}

/// Finds the service for `request`, and the method's name in its path.
fn route<'a, B>(
    router: &'a Router,
    request: &'a http::Request<B>,
) -> Result<(&'a Arc<dyn Service>, &'a str), Unrouted> {
    if request.method() != http::Method::POST {
        return Err(Unrouted::Http(StatusCode::METHOD_NOT_ALLOWED));
    }
    let is_grpc = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct == "application/grpc"
                || ct.starts_with("application/grpc+")
                || ct.starts_with("application/grpc;")
        });
    if !is_grpc {
        tracing::debug!(content_type = ?request.headers().get(CONTENT_TYPE), "not a gRPC request");
        return Err(Unrouted::Http(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let path = request.uri().path();
    let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.rsplit_once('/')) else {
        return Err(Unrouted::Grpc(Status::unimplemented(format!(
            "malformed path {path:?}"
        ))));
    };
    match router.services.get(service) {
        Some(svc) => Ok((svc, method)),
        None => Err(Unrouted::Grpc(Status::unimplemented(format!(
            "unknown service {service}"
        )))),
    }
}

/// Hands a call that arrived on `peer`'s connection to its service,
/// through the layers if the server has any.
pub(super) fn dispatch(
    peer: &Peer,
    request: http::Request<h2::RecvStream>,
    mut respond: SendResponse<Bytes>,
) {
    let request = request.map(Body::h2);
    if let Some(routes) = &peer.routes {
        return through_layers(routes, peer, request, respond);
    }
    let (svc, method) = match route(&peer.router, &request) {
        Ok(found) => found,
        Err(unrouted) => return reply::send_head_only(&mut respond, unrouted.head()),
    };
    let svc = svc.clone();
    // The method name is part of the request, which moves into the call: a
    // copy on the stack (no allocation) serves unless the name is long.
    let mut copy = [0u8; 64];
    let long;
    let method = match copy.get_mut(..method.len()) {
        Some(to) => {
            to.copy_from_slice(method.as_bytes());
            std::str::from_utf8(to).unwrap_or_default()
        }
        None => {
            long = method.to_owned();
            long.as_str()
        }
    };
    svc.call(method, Call::on_stream(request, respond, peer));
}

/// Runs a call through the server's layers, on the connection's task first
/// as [`start`] does, and writes the response the layers return. The
/// layers find the connection's peer as an `Arc<PeerInfo>` in the request's
/// extensions.
fn through_layers(
    routes: &Routes,
    peer: &Peer,
    mut request: http::Request<Body>,
    mut respond: SendResponse<Bytes>,
) {
    request.extensions_mut().insert(peer.info.clone());
    let mut routes = routes.clone();
    let deadline = deadline_of(request.headers());
    let unsent = peer.unsent.clone();
    let limit = peer.router.config.max_unsent_reply_bytes;
    start(
        Box::pin(async move {
            let response = {
                let call = async {
                    poll_fn(|cx| {
                        tower_service::Service::<http::Request<Body>>::poll_ready(&mut routes, cx)
                    })
                    .await?;
                    tower_service::Service::call(&mut routes, request).await
                };
                // The client may give up before the layers answer.
                tokio::select! {
                    biased;
                    r = call => r,
                    reason = poll_fn(|cx| respond.poll_reset(cx)) => {
                        tracing::debug!(?reason, "client cancelled the call");
                        return;
                    }
                }
            };
            let Ok(response): Result<_, Infallible> = response;
            let budget = reply::Budget {
                unsent: &unsent,
                limit,
            };
            reply::write(&mut respond, response, deadline, budget).await;
        }),
        &peer.spawned,
        peer.router.config.spawn_every_call,
    );
}

/// The server's routes as a tower service: every service added to a
/// [`Server`](super::Server), behind its layers if it has any. Get it from
/// [`Server::into_service`](super::Server::into_service); a layer added with
/// [`Server::layer`](super::Server::layer) wraps one.
///
/// It takes `http::Request<B>` for any body `B` of [`Bytes`] and answers
/// every request with an `http::Response<Body>`, never an error: what goes
/// wrong (an unknown service or method, a bad header, a handler's error, a
/// layer's error) is a gRPC status in the response, as on the wire.
/// Deadlines (`grpc-timeout`) apply; dropping the response future or body
/// cancels the call. Cheap to clone.
pub struct Routes {
    inner: RoutesInner,
    // An error from the layers' `poll_ready`, answered on the next call.
    ready_error: Option<Status>,
}

#[derive(Clone)]
pub(super) enum RoutesInner {
    Router(Arc<Router>),
    Layered(SharedService),
}

impl Routes {
    pub(super) fn new(inner: RoutesInner) -> Self {
        Self {
            inner,
            ready_error: None,
        }
    }
}

impl Clone for Routes {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone())
    }
}

impl core::fmt::Debug for Routes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut d = f.debug_struct("Routes");
        match &self.inner {
            RoutesInner::Router(router) => {
                let mut names: Vec<_> = router.services.keys().collect();
                names.sort();
                d.field("services", &names)
            }
            RoutesInner::Layered(_) => d.field("layered", &true),
        };
        d.finish()
    }
}

/// What [`Routes`] returns for a request.
pub type RoutesFuture = BoxFuture<Result<http::Response<Body>, Infallible>>;

impl<B> tower_service::Service<http::Request<B>> for Routes
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = RoutesFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        match &mut self.inner {
            RoutesInner::Router(_) => Poll::Ready(Ok(())),
            RoutesInner::Layered(service) => {
                if let Err(status) = std::task::ready!(service.poll_ready(cx)) {
                    self.ready_error = Some(status);
                }
                Poll::Ready(Ok(()))
            }
        }
    }

    fn call(&mut self, request: http::Request<B>) -> RoutesFuture {
        let request = request.map(Body::new);
        if let Some(status) = self.ready_error.take() {
            return Box::pin(std::future::ready(Ok(status_response(&status))));
        }
        match &mut self.inner {
            RoutesInner::Router(router) => {
                let answer = route_http(router, request);
                Box::pin(async move { Ok(answer.await) })
            }
            RoutesInner::Layered(service) => {
                let response = service.call(request);
                Box::pin(async move {
                    Ok(match response.await {
                        Ok(response) => response,
                        Err(status) => status_response(&status),
                    })
                })
            }
        }
    }
}

/// Routes one request given as `http` types; the call's handler runs inside
/// the returned future.
fn route_http(
    router: &Arc<Router>,
    request: http::Request<Body>,
) -> BoxFuture<http::Response<Body>> {
    let (svc, method) = match route(router, &request) {
        Ok((svc, method)) => (svc.clone(), method.to_owned()),
        Err(unrouted) => {
            let response = unrouted.head().map(|()| Body::empty());
            return Box::pin(std::future::ready(response));
        }
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    svc.call(&method, Call::for_routes(request, tx, router.clone()));
    Box::pin(async move {
        match rx.await {
            Ok(answer) => answer.await,
            // A hand-written `Service` that dropped its call unanswered.
            Err(_) => status_response(&Status::internal(format!(
                "the service did not answer the call to {method}"
            ))),
        }
    })
}
