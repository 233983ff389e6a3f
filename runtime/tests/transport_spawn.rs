#![deny(warnings)]
//! `Server::builder().spawn_every_call(true)`: every call runs on a task of
//! its own from the start, so a handler that computes (here: blocks) before
//! its first `.await` does not hold up the other calls on its connection.

pub mod generated {
    include!("../../testdata/services/expected/mod.rs");
}

use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use generated::svc::v1::{Calculator, CalculatorClient, CalculatorServer, Number, Text};
use rust_rpc::transport::{Channel, Request, Response, Server, Status, Streaming};
use tokio::net::TcpListener;

fn num(value: i64) -> Number {
    Number {
        value,
        ..Default::default()
    }
}

type NumberStream =
    std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Number, Status>> + Send>>;

/// `square(1)` blocks its thread until `square(2)` has run (or gives up
/// after a while, answering 0); `square(2)` lets it go.
struct Blocking {
    go: Mutex<mpsc::Sender<()>>,
    wait: Mutex<Option<mpsc::Receiver<()>>>,
    /// Tells the test that `square(1)` is blocking now.
    blocking: tokio::sync::mpsc::UnboundedSender<()>,
}

impl Calculator for Blocking {
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

    async fn count_to(&self, _: Request<Number>) -> Result<Response<Self::CountToStream>, Status> {
        Err(Status::unimplemented("not in this test"))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_handler_does_not_hold_up_its_connection() {
    let (go, wait) = mpsc::channel();
    let (blocking, mut is_blocking) = tokio::sync::mpsc::unbounded_channel();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        Server::builder()
            .spawn_every_call(true)
            .add_service(CalculatorServer::new(Blocking {
                go: Mutex::new(go),
                wait: Mutex::new(Some(wait)),
                blocking,
            }))
            .serve_with_listener(listener, std::future::pending()),
    );
    let channel = Channel::from_uri(format!("http://{addr}")).expect("uri");
    let mut first = CalculatorClient::new(channel.clone());
    let blocked = tokio::spawn(async move { first.square(num(1)).await });
    // Once the first call's handler blocks, a second call on the same
    // connection: it must be served meanwhile.
    is_blocking.recv().await.expect("the first handler runs");
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
