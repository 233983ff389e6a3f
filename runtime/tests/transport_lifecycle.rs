#![deny(warnings)]
//! Where a server's calls run and when they end:
//! - a client that cancels a server-streaming call while the server's
//!   stream has nothing to send ends the call on the server at once: the
//!   response stream (and whatever it holds: a subscription, a file, a lock)
//!   is dropped then, not at its next message or the deadline;
//! - with `Server::builder().spawn_every_call(true)` every call runs on a
//!   task of its own from the start, so a handler that computes (here:
//!   blocks) before its first `.await` does not hold up the other calls on
//!   its connection.

pub mod generated {
    include!("../../testdata/services/expected/mod.rs");
}

use std::sync::{Mutex, mpsc};
use std::time::Duration;

use generated::svc::v1::{Calculator, CalculatorClient, CalculatorServer, Number, Text};
use rust_rpc::transport::{Channel, Request, Response, Server, Status, Streaming};
use tokio::net::TcpListener;
use tokio::sync::mpsc as async_mpsc;

fn num(value: i64) -> Number {
    Number {
        value,
        ..Default::default()
    }
}

/// Tells the test when the server drops a response stream.
struct DropSignal(async_mpsc::UnboundedSender<()>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

type NumberStream =
    std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Number, Status>> + Send>>;

/// `count_to(n)` sends 1..=n and then waits forever, signalling `dropped`
/// when its stream goes. `square(1)` blocks its thread until `square(2)` has
/// run (or gives up after a while, answering 0), signalling `blocking` as it
/// starts; `square(2)` lets it go.
struct Probe {
    dropped: async_mpsc::UnboundedSender<()>,
    blocking: async_mpsc::UnboundedSender<()>,
    go: Mutex<mpsc::Sender<()>>,
    wait: Mutex<Option<mpsc::Receiver<()>>>,
}

/// The test's ends of the probe's signals.
struct Signals {
    dropped: async_mpsc::UnboundedReceiver<()>,
    blocking: async_mpsc::UnboundedReceiver<()>,
}

impl Calculator for Probe {
    async fn square(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        match request.get_ref().value {
            1 => {
                let rx = self
                    .wait
                    .lock()
                    .map_err(|_| Status::internal("poisoned"))?
                    .take()
                    .ok_or_else(|| Status::internal("square(1) twice"))?;
                let _ = self.blocking.send(());
                // Blocking on purpose, before any await. Bounded so that
                // a regression fails instead of hanging.
                let released = rx.recv_timeout(Duration::from_secs(10)).is_ok();
                Ok(Response::new(num(i64::from(released))))
            }
            v => {
                let _ = self
                    .go
                    .lock()
                    .map_err(|_| Status::internal("poisoned"))?
                    .send(());
                Ok(Response::new(num(v * v)))
            }
        }
    }

    type CountToStream = NumberStream;

    async fn count_to(
        &self,
        request: Request<Number>,
    ) -> Result<Response<Self::CountToStream>, Status> {
        let n = request.into_inner().value;
        let guard = DropSignal(self.dropped.clone());
        let sent = futures_util::stream::iter((1..=n).map(|i| Ok(num(i))));
        let quiet = futures_util::stream::unfold(guard, |guard| async move {
            std::future::pending::<()>().await;
            Some((Ok(num(0)), guard))
        });
        Ok(Response::new(Box::pin(futures_util::StreamExt::chain(
            sent, quiet,
        ))))
    }

    async fn sum(&self, _: Request<Streaming<Number>>) -> Result<Response<Number>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    type DoubleStream = NumberStream;

    async fn double(
        &self,
        _: Request<Streaming<Number>>,
    ) -> Result<Response<Self::DoubleStream>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn sleep(&self, _: Request<Number>) -> Result<Response<Number>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn fail(&self, _: Request<Text>) -> Result<Response<Text>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

/// Starts a server with a fresh probe; returns its channel and the signals.
async fn start(builder: Server) -> (Channel, Signals) {
    let (dropped, dropped_rx) = async_mpsc::unbounded_channel();
    let (blocking, blocking_rx) = async_mpsc::unbounded_channel();
    let (go, wait) = mpsc::channel();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        builder
            .add_service(CalculatorServer::new(Probe {
                dropped,
                blocking,
                go: Mutex::new(go),
                wait: Mutex::new(Some(wait)),
            }))
            .serve_with_listener(listener, std::future::pending()),
    );
    let channel = Channel::from_uri(format!("http://{addr}")).expect("uri");
    let signals = Signals {
        dropped: dropped_rx,
        blocking: blocking_rx,
    };
    (channel, signals)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_quiet_server_stream_drops_it_on_the_server() {
    let (channel, mut signals) = start(Server::builder()).await;
    let mut client = CalculatorClient::new(channel);
    let mut stream = client.count_to(num(2)).await.expect("call").into_inner();
    assert_eq!(
        stream.message().await.expect("first").map(|n| n.value),
        Some(1)
    );
    assert_eq!(
        stream.message().await.expect("second").map(|n| n.value),
        Some(2)
    );
    // The server's stream is now waiting; the client gives up.
    drop(stream);
    // Bounded only so that a regression fails instead of hanging.
    let signalled = tokio::time::timeout(Duration::from_secs(10), signals.dropped.recv()).await;
    assert_eq!(
        signalled,
        Ok(Some(())),
        "the server kept the stream of a cancelled call"
    );
    // The connection serves other calls as before.
    assert_eq!(
        client
            .square(num(7))
            .await
            .expect("square")
            .into_inner()
            .value,
        49
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_spawn_every_call_a_blocking_handler_does_not_hold_up_its_connection() {
    let (channel, mut signals) = start(Server::builder().spawn_every_call(true)).await;
    let mut first = CalculatorClient::new(channel.clone());
    let blocked = tokio::spawn(async move { first.square(num(1)).await });
    // Once the first call's handler blocks, a second call on the same
    // connection: it must be served meanwhile.
    signals
        .blocking
        .recv()
        .await
        .expect("the first handler runs");
    let mut second = CalculatorClient::new(channel);
    let four = second
        .square(num(2))
        .await
        .expect("the second call")
        .into_inner()
        .value;
    assert_eq!(four, 4);
    let released = blocked
        .await
        .expect("the first caller ends")
        .expect("the first call succeeds")
        .into_inner()
        .value;
    assert_eq!(
        released, 1,
        "the second call never ran while the first blocked"
    );
}
