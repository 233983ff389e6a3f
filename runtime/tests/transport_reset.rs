#![deny(warnings)]
//! A client that cancels a server-streaming call while the server's stream
//! has nothing to send ends the call on the server at once: the response
//! stream (and whatever it holds: a subscription, a file, a lock) is dropped
//! then, not at its next message or the deadline.

pub mod generated {
    include!("../../testdata/services/expected/mod.rs");
}

use std::time::Duration;

use generated::svc::v1::{Calculator, CalculatorClient, CalculatorServer, Number, Text};
use rust_rpc::transport::{Request, Response, Server, Status, Streaming};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn num(value: i64) -> Number {
    Number {
        value,
        ..Default::default()
    }
}

/// Tells the test when the server drops the response stream.
struct DropSignal(mpsc::UnboundedSender<()>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

type NumberStream =
    std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Number, Status>> + Send>>;

/// `count_to(n)` sends 1..=n and then waits forever.
struct Quiet(mpsc::UnboundedSender<()>);

impl Calculator for Quiet {
    async fn square(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        let v = request.get_ref().value;
        Ok(Response::new(num(v * v)))
    }

    type CountToStream = NumberStream;

    async fn count_to(
        &self,
        request: Request<Number>,
    ) -> Result<Response<Self::CountToStream>, Status> {
        let n = request.into_inner().value;
        let guard = DropSignal(self.0.clone());
        let sent = futures_util::stream::iter((1..=n).map(|i| Ok(num(i))));
        let quiet = futures_util::stream::unfold(guard, |guard| async move {
            std::future::pending::<()>().await;
            Some((Ok(num(0)), guard))
        });
        Ok(Response::new(Box::pin(futures_util::StreamExt::chain(
            sent, quiet,
        ))))
    }

    async fn sum(&self, _request: Request<Streaming<Number>>) -> Result<Response<Number>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    type DoubleStream = NumberStream;

    async fn double(
        &self,
        _request: Request<Streaming<Number>>,
    ) -> Result<Response<Self::DoubleStream>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn sleep(&self, _request: Request<Number>) -> Result<Response<Number>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn fail(&self, _request: Request<Text>) -> Result<Response<Text>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_quiet_server_stream_drops_it_on_the_server() {
    let (dropped_tx, mut dropped) = mpsc::unbounded_channel();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        Server::builder()
            .add_service(CalculatorServer::new(Quiet(dropped_tx)))
            .serve_with_listener(listener, std::future::pending()),
    );
    let mut client = CalculatorClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
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
    let signalled = tokio::time::timeout(Duration::from_secs(10), dropped.recv()).await;
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
