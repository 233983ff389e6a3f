#![deny(warnings)]
//! Where the server runs calls: each call is first polled on its
//! connection's task and moves to a task of its own only if it has to wait.
//! These tests check that this stays invisible: a handler that panics ends
//! only its own call, whether it panics at once (on the connection's task)
//! or after waiting (on its own task), and calls that finish at once and
//! calls that wait interleave correctly on one connection.

pub mod generated {
    include!("../../testdata/services/expected/mod.rs");
}

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use generated::svc::v1::{Calculator, CalculatorClient, CalculatorServer, Number, Text};
use rust_rpc::transport::{Channel, Request, Response, Server, Status, Streaming};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The value that makes `square` panic before its first `.await`.
const PANIC_AT_ONCE: i64 = 13;

struct Calc;

type NumberStream =
    std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Number, Status>> + Send>>;

fn num(value: i64) -> Number {
    Number {
        value,
        ..Default::default()
    }
}

impl Calculator for Calc {
    async fn square(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        let v = request.get_ref().value;
        assert_ne!(v, PANIC_AT_ONCE, "square of {PANIC_AT_ONCE}, on purpose");
        Ok(Response::new(num(v * v)))
    }

    type CountToStream = NumberStream;

    async fn count_to(
        &self,
        request: Request<Number>,
    ) -> Result<Response<Self::CountToStream>, Status> {
        let n = request.into_inner().value;
        Ok(Response::new(Box::pin(futures_util::stream::iter(
            (1..=n).map(|i| Ok(num(i))),
        ))))
    }

    async fn sum(&self, request: Request<Streaming<Number>>) -> Result<Response<Number>, Status> {
        let mut stream = request.into_inner();
        let mut total = 0;
        while let Some(n) = stream.message().await? {
            total += n.value;
        }
        Ok(Response::new(num(total)))
    }

    type DoubleStream = NumberStream;

    async fn double(
        &self,
        request: Request<Streaming<Number>>,
    ) -> Result<Response<Self::DoubleStream>, Status> {
        let stream = request.into_inner().map(|r| r.map(|n| num(n.value * 2)));
        Ok(Response::new(Box::pin(stream)))
    }

    /// Waits `value` ms and answers `value`; a negative value panics after
    /// waiting, on the call's own task.
    async fn sleep(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        let ms = request.get_ref().value;
        tokio::time::sleep(Duration::from_millis(ms.unsigned_abs())).await;
        assert!(ms >= 0, "sleep of {ms}, on purpose");
        Ok(Response::new(num(ms)))
    }

    async fn fail(&self, _request: Request<Text>) -> Result<Response<Text>, Status> {
        Err(Status::internal("fail"))
    }
}

async fn start() -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel();
    tokio::spawn(
        Server::builder()
            .add_service(CalculatorServer::new(Calc))
            .serve_with_listener(listener, async {
                let _ = rx.await;
            }),
    );
    (addr, tx)
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_uri(format!("http://{addr}")).expect("a valid uri")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_panics_at_once_ends_only_its_own_call() {
    let (addr, _stop) = start().await;
    let channel = channel(addr).await;
    let mut client = CalculatorClient::new(channel.clone());
    assert!(client.square(num(PANIC_AT_ONCE)).await.is_err());
    // The connection and its other calls go on.
    let mut calls = Vec::new();
    for i in 0..32 {
        let mut c = CalculatorClient::new(channel.clone());
        calls.push(tokio::spawn(async move {
            let v = if i % 8 == 0 { PANIC_AT_ONCE } else { i };
            (v, c.square(num(v)).await.map(|r| r.into_inner().value))
        }));
    }
    for call in calls {
        let (v, result) = call.await.expect("the caller task ends");
        if v == PANIC_AT_ONCE {
            assert!(result.is_err());
        } else {
            assert_eq!(result.expect("the call succeeds"), v * v);
        }
    }
    assert_eq!(
        client.square(num(3)).await.expect("ok").into_inner().value,
        9
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_panics_after_waiting_ends_only_its_own_call() {
    let (addr, _stop) = start().await;
    let channel = channel(addr).await;
    let mut client = CalculatorClient::new(channel.clone());
    assert!(client.sleep(num(-1)).await.is_err());
    assert_eq!(
        client.sleep(num(1)).await.expect("ok").into_inner().value,
        1
    );
    assert_eq!(
        client.square(num(4)).await.expect("ok").into_inner().value,
        16
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_that_finish_at_once_and_calls_that_wait_share_a_connection() {
    let (addr, _stop) = start().await;
    let channel = channel(addr).await;
    let mut calls = Vec::new();
    for i in 0..64i64 {
        let mut c = CalculatorClient::new(channel.clone());
        calls.push(tokio::spawn(async move {
            match i % 4 {
                0 => {
                    let r = c.sleep(num(i % 3)).await?.into_inner().value;
                    Ok::<_, Status>(r == i % 3)
                }
                1 => {
                    let stream = futures_util::stream::iter((0..=i).map(num));
                    let r = c.sum(stream).await?.into_inner().value;
                    Ok(r == i * (i + 1) / 2)
                }
                2 => {
                    let mut s = c.count_to(num(i)).await?.into_inner();
                    let mut n = 0;
                    while let Some(m) = s.message().await? {
                        n += 1;
                        if m.value != n {
                            return Ok(false);
                        }
                    }
                    Ok(n == i)
                }
                _ => Ok(c.square(num(i)).await?.into_inner().value == i * i),
            }
        }));
    }
    for (i, call) in calls.into_iter().enumerate() {
        let ok = call.await.expect("the caller task ends");
        assert!(
            ok.expect("the call succeeds"),
            "call {i} got a wrong answer"
        );
    }
}
