//! gRPC over HTTP/2 (feature `transport`): status codes, metadata,
//! deadlines, message framing and compression, and the client channel and
//! server that generated code runs on.
//!
//! The pieces generated code uses are re-exported here: [`Request`],
//! [`Response`], [`Status`], [`Code`], [`MetadataMap`], [`Streaming`], the
//! [`Channel`] a client runs on and the [`Server`] that hosts services.
//!
//! At the edges everything is also a tower service over `http` types with
//! a [`Body`]: a [`Channel`] is a `tower_service::Service<http::Request<B>>`,
//! a [`Client`] can run over any such service ([`Client::with_service`]),
//! and a server's [`Routes`] are one too, with [`Server::layer`] wrapping
//! every call in a tower `Layer`.

pub mod compression;
pub mod metadata;
pub mod status;
pub mod timeout;

mod body;
mod boxed;
mod call;
mod cancel;
pub mod client;
pub mod codec;
mod frames;
pub mod intercept;
pub mod observe;
mod peer;
pub mod server;
mod shared;
mod streaming;
#[cfg(feature = "tls")]
pub mod tls;

pub use body::{Body, BoxError, status_from_error};
pub use call::{IntoRequest, IntoStreamingRequest, MessageCompression, Request, Response};
pub use cancel::CancelHandle;
pub use client::{Channel, Client, Endpoint};
pub use compression::CompressionEncoding;
pub use futures_core::Stream;
pub use intercept::Interceptor;
pub use metadata::MetadataMap;
pub use observe::Observer;
pub use peer::PeerInfo;
pub use server::{Call, Routes, Server, Service};
pub use status::{Code, Status};
pub use streaming::Streaming;
