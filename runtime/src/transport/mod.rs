//! gRPC over HTTP/2 (feature `transport`): status codes, metadata,
//! deadlines, message framing and compression, and the client channel and
//! server that generated code runs on.
//!
//! The pieces generated code uses are re-exported here: [`Request`],
//! [`Response`], [`Status`], [`Code`], [`MetadataMap`], [`Streaming`], the
//! [`Channel`] a client runs on and the [`Server`] that hosts services.

pub mod compression;
pub mod metadata;
pub mod status;
pub mod timeout;

mod call;
mod cancel;
pub mod client;
pub mod codec;
pub mod server;
mod streaming;

pub use call::{IntoRequest, IntoStreamingRequest, MessageCompression, Request, Response};
pub use cancel::CancelHandle;
pub use client::{Channel, Client, Endpoint};
pub use compression::CompressionEncoding;
pub use futures_core::Stream;
pub use metadata::MetadataMap;
pub use server::{Call, Server, Service};
pub use status::{Code, Status};
pub use streaming::Streaming;
