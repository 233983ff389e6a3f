//! rust-rpc examples: everyday services, each with its schema in `proto/`
//! (generated at build time), a server, and a small client function that the
//! demo and the tests call.
//!
//! | module | package | what it shows |
//! |---|---|---|
//! | [`contacts`] | `contacts.v1` | an address book: all four kinds of call |
//! | [`greeter`] | `greeter.v1` | the smallest service: one unary call |
//! | [`users`] | `users.v1` | a lookup by id, `NOT_FOUND` when missing |
//! | [`calculator`] | `calculator.v1` | unary, and a server-streaming call |
//! | [`scores`] | `scores.v1` | a server pushing updates as they happen |
//! | [`telemetry`] | `telemetry.v1` | a device uploading thousands of readings (client streaming) |
//! | [`chat`] | `chat.v1` | a room: both sides send and receive at once (bidi) |
//! | [`vault`] | `vault.v1` | secrets behind bearer tokens, checked by async interceptors |
//!
//! [`run_demo`] starts one server hosting all of them and runs a client
//! through each; `cargo run -p rust-rpc-examples --bin demo` prints it.

#![warn(missing_docs)]

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use rust_rpc::transport::{Request, Server};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub mod calculator;
pub mod chat;
pub mod contacts;
mod demo;
pub mod greeter;
pub mod scores;
pub mod telemetry;
pub mod users;
pub mod vault;

/// The code generated from every `.proto` file in `proto/`, one module per
/// package (`generated::greeter::v1`, ...); each example module re-exports
/// its package.
// The generator writes no docs on the package modules of `mod.rs`; the
// items in them carry the .proto comments.
#[allow(missing_docs)]
pub mod generated {
    rust_rpc::include_proto!();
}

pub use contacts::{Book, PersonStream};
pub use demo::run_demo;

/// The deadline the examples' client functions set on every call: a server
/// that hangs fails the call with `DEADLINE_EXCEEDED` instead of hanging the
/// caller. For streaming calls it bounds the whole call.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// `message` in a request with the [`DEADLINE`].
pub(crate) fn with_deadline<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(DEADLINE);
    request
}

/// A [`Server`] running on a task of its own, on a free port of 127.0.0.1:
/// what the demo and the tests serve the examples with.
#[derive(Debug)]
pub struct LocalServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl LocalServer {
    /// Binds 127.0.0.1 on a port the OS picks and serves `server` there
    /// until [`LocalServer::shutdown`].
    pub async fn start(server: Server) -> io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve_with_listener(listener, async {
            // A dropped sender stops the server too.
            let _ = stopped.await;
        }));
        Ok(Self { addr, stop, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL the generated clients connect to, like `http://127.0.0.1:50051`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shuts down gracefully: stops accepting, tells clients to go away, and
    /// waits for the calls in flight to finish.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.stop.send(());
        self.task.await.map_err(io::Error::other)?
    }
}
