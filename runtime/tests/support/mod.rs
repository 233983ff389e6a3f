//! What the transport tests share: the `svc.v1` code generated from
//! testdata, a calculator that also describes each call's peer, a server
//! on a loopback port, and (for TLS) certificates made at test time.
// Each test crate uses part of this.
#![allow(dead_code, unused_imports)]

pub mod certs;

pub mod generated {
    include!("../../../testdata/services/expected/mod.rs");
}

use std::future::Future;
use std::net::SocketAddr;

use futures_util::StreamExt;
pub use generated::svc::v1::{Calculator, CalculatorClient, CalculatorServer, Number, Text};
use rust_rpc::transport::{Request, Response, Server, Status, Streaming};
use tokio::sync::oneshot;

pub type NumberStream =
    std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Number, Status>> + Send>>;

pub fn num(value: i64) -> Number {
    Number {
        value,
        ..Default::default()
    }
}

pub fn text(value: &str) -> Text {
    Text {
        value: value.to_owned(),
        ..Default::default()
    }
}

/// Who a server-side interceptor says the caller is, for the handler.
#[derive(Clone, Debug, PartialEq)]
pub struct User(pub String);

/// A calculator whose `fail` call, instead of failing, answers with what
/// the server knows of the call: `describe`.
pub struct Calc;

/// What a handler sees of its call, one `key=value` per line: the path,
/// whether the peer has an address, TLS, the client's certificates, the
/// SNI name, the `User` an interceptor attached, the `x-seen` metadata.
pub fn describe<T>(request: &Request<T>) -> String {
    let peer = request.peer();
    let tls = peer.and_then(|p| p.tls());
    [
        format!("path={}", request.path().unwrap_or("-")),
        format!("addr={}", request.remote_addr().is_some()),
        format!("tls={}", tls.is_some()),
        format!(
            "client_certs={}",
            request.peer_certificates().map_or(0, <[_]>::len)
        ),
        format!("sni={}", tls.and_then(|t| t.server_name()).unwrap_or("-")),
        format!(
            "user={}",
            request
                .extensions()
                .get::<User>()
                .map_or("-", |u| u.0.as_str())
        ),
        format!("seen={}", request.metadata().get("x-seen").unwrap_or("-")),
    ]
    .join("\n")
}

#[allow(deprecated)]
impl Calculator for Calc {
    async fn square(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        let v = request.get_ref().value;
        Ok(Response::new(num(v * v)))
    }
    type CountToStream = NumberStream;
    async fn count_to(&self, request: Request<Number>) -> Result<Response<NumberStream>, Status> {
        let n = request.get_ref().value;
        let numbers = futures_util::stream::iter((1..=n).map(|i| Ok(num(i))));
        Ok(Response::new(Box::pin(numbers) as NumberStream))
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
    ) -> Result<Response<NumberStream>, Status> {
        let doubled = request.into_inner().map(|n| n.map(|n| num(n.value * 2)));
        Ok(Response::new(Box::pin(doubled) as NumberStream))
    }
    async fn sleep(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        let ms = request.get_ref().value;
        tokio::time::sleep(std::time::Duration::from_millis(ms.unsigned_abs())).await;
        Ok(Response::new(num(ms)))
    }
    async fn fail(&self, request: Request<Text>) -> Result<Response<Text>, Status> {
        Ok(Response::new(text(&describe(&request))))
    }
}

/// `f`'s output, or a panic naming `what` if it takes over 20 s: every
/// wait in a test is bounded.
pub async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within 20 s"))
}

/// A running server: its address, and what stops it.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops the server and waits (boundedly) for it to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let ended = tokio::time::timeout(std::time::Duration::from_secs(10), &mut self.done).await;
        assert!(
            matches!(ended, Ok(Ok(Ok(())))),
            "server did not end cleanly: {ended:?}"
        );
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.done.abort();
    }
}

/// `server` (with the calculator added) on a fresh loopback port.
pub async fn serve(server: Server) -> Running {
    serve_with(server.add_service(CalculatorServer::new(Calc)), |_| async {
    })
    .await
}

/// `server` as built, on a fresh loopback port; `ready` runs once it listens.
pub async fn serve_with<F, Fut>(server: Server, ready: F) -> Running
where
    F: FnOnce(SocketAddr) -> Fut,
    Fut: Future<Output = ()>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(server.serve_with_listener(listener, async {
        let _ = rx.await;
    }));
    ready(addr).await;
    Running {
        addr,
        stop: Some(tx),
        done,
    }
}
