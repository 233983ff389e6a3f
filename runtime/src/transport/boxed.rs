//! A type-erased, cloneable tower service from `http::Request<Body>` to
//! `http::Response<Body>`: what a [`Client`](super::Client) built with
//! [`Client::with_service`](super::Client::with_service) calls, and what a
//! server layer's service becomes inside [`Routes`](super::server::Routes).
//! Only the tower paths use it; the direct paths never box.

use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;

use super::body::{Body, BoxError, status_from_error};
use super::status::Status;

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

type HttpResult = Result<http::Response<Body>, Status>;

trait ErasedService: Send + 'static {
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>>;
    fn call(&mut self, request: http::Request<Body>) -> BoxFuture<HttpResult>;
    fn clone_box(&self) -> Box<dyn ErasedService>;
}

struct Erased<S>(S);

impl<S, B> ErasedService for Erased<S>
where
    S: tower_service::Service<http::Request<Body>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.0
            .poll_ready(cx)
            .map_err(|e| status_from_error(e.into()))
    }

    fn call(&mut self, request: http::Request<Body>) -> BoxFuture<HttpResult> {
        let response = self.0.call(request);
        Box::pin(async move {
            match response.await {
                Ok(response) => Ok(response.map(Body::new)),
                Err(e) => Err(status_from_error(e.into())),
            }
        })
    }

    fn clone_box(&self) -> Box<dyn ErasedService> {
        Box::new(Erased(self.0.clone()))
    }
}

/// A boxed service. The mutex only makes it `Sync` (so that clients and
/// routes holding one stay `Sync`); calls reach the service through
/// `get_mut`, which never locks.
pub(crate) struct SharedService(Mutex<Box<dyn ErasedService>>);

impl SharedService {
    pub(crate) fn new<S, B>(service: S) -> Self
    where
        S: tower_service::Service<http::Request<Body>, Response = http::Response<B>>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Self(Mutex::new(Box::new(Erased(service))))
    }

    fn get_mut(&mut self) -> &mut dyn ErasedService {
        &mut **self.0.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.get_mut().poll_ready(cx)
    }

    pub(crate) fn call(&mut self, request: http::Request<Body>) -> BoxFuture<HttpResult> {
        self.get_mut().call(request)
    }

    /// Waits until the service is ready, then calls it.
    pub(crate) async fn ready_call(&mut self, request: http::Request<Body>) -> HttpResult {
        std::future::poll_fn(|cx| self.poll_ready(cx)).await?;
        self.call(request).await
    }
}

impl Clone for SharedService {
    fn clone(&self) -> Self {
        let inner = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        Self(Mutex::new(inner.clone_box()))
    }
}
