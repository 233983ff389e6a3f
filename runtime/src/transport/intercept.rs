//! Interceptors: async functions that see every call's head (metadata,
//! path, deadline, peer) before it runs, on a server
//! ([`Server::interceptor`](super::Server::interceptor)) or a client
//! ([`Client::with_interceptor`](super::Client::with_interceptor)).
//!
//! An interceptor takes the call's [`Request<()>`](super::Request) (the
//! request without its message) and returns it, changed or not, or a
//! [`Status`] that ends the call with it. On a server it may check
//! credentials against [`Request::peer`](super::Request::peer) and the
//! metadata and put what it found in [`Request::extensions_mut`] for the
//! handler; on a client it adds metadata (a bearer token it refreshes as
//! needed, asynchronously). Several run in the order they were added, each
//! on what the one before returned. For anything that needs the messages or
//! the response, tower layers ([`Server::layer`](super::Server::layer),
//! [`Client::with_service`](super::Client::with_service)) remain.
//!
//! ```
//! use rust_rpc::transport::{Request, Status};
//! let check = |request: Request<()>| async move {
//!     match request.metadata().get("authorization") {
//!         Some(v) if v == "Bearer s3cret" => Ok(request),
//!         Some(_) => Err(Status::permission_denied("wrong token")),
//!         None => Err(Status::unauthenticated("no token")),
//!     }
//! };
//! # let _ = rust_rpc::transport::Server::builder().interceptor(check);
//! ```
//!
//! [`Request::extensions_mut`]: super::Request::extensions_mut

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Request, Status};

/// What an interceptor's call returns: the request to go on with, or the
/// status to end the call with.
pub type InterceptFuture =
    Pin<Box<dyn Future<Output = Result<Request<()>, Status>> + Send + 'static>>;

/// Runs before each call; see [the module](self). Implemented for every
/// `Fn(Request<()>) -> impl Future<Output = Result<Request<()>, Status>>`.
pub trait Interceptor: Send + Sync + 'static {
    /// Looks at (and may change) `request` before the call goes on, or ends
    /// the call with a status.
    fn intercept(&self, request: Request<()>) -> InterceptFuture;
}

impl<F, Fut> Interceptor for F
where
    F: Fn(Request<()>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Request<()>, Status>> + Send + 'static,
{
    fn intercept(&self, request: Request<()>) -> InterceptFuture {
        Box::pin(self(request))
    }
}

/// A server's or client's interceptors, in order; cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Interceptors(Arc<[Arc<dyn Interceptor>]>);

impl core::fmt::Debug for Interceptors {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} interceptors", self.0.len())
    }
}

impl Interceptors {
    /// These, then `next`.
    pub(crate) fn then(&self, next: impl Interceptor) -> Self {
        let mut all = self.0.to_vec();
        all.push(Arc::new(next));
        Self(all.into())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Runs each on what the one before returned; the first status ends it.
    pub(crate) async fn run(&self, mut request: Request<()>) -> Result<Request<()>, Status> {
        for interceptor in self.0.iter() {
            request = interceptor.intercept(request).await?;
        }
        Ok(request)
    }
}
