#![deny(warnings)]
//! The transport as tower services, over real HTTP/2 on loopback and in
//! process: a client whose calls go through a tower layer (all four kinds,
//! deadlines, errors, compression, limits), a server whose calls go through
//! layers (one that watches, one that refuses), and the server's routes
//! called directly with `http` types.

pub mod generated {
    include!("../../testdata/services/expected/mod.rs");
}

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use generated::svc::v1::{
    Calculator, CalculatorClient, CalculatorServer, Number, Send as SendService, SendClient,
    SendServer, Text,
};
use http_body_util::BodyExt;
use rust_rpc::Message;
use rust_rpc::transport::{
    Body, Channel, Client, Code, CompressionEncoding, Request, Response, Routes, Server, Status,
    Streaming,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::{ServiceBuilder, ServiceExt};

fn num(value: i64) -> Number {
    Number {
        value,
        ..Default::default()
    }
}

type NumberStream =
    std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Number, Status>> + Send>>;

/// What the handlers saw of each call: the method and its `x-layer` header.
type Seen = Arc<Mutex<Vec<(&'static str, Option<String>)>>>;

#[derive(Default)]
struct Calc {
    seen: Seen,
}

impl Calc {
    fn saw<T>(&self, method: &'static str, request: &Request<T>) {
        let header = request.metadata().get("x-layer").map(str::to_owned);
        self.seen
            .lock()
            .expect("not poisoned")
            .push((method, header));
    }
}

impl Calculator for Calc {
    async fn square(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        self.saw("square", &request);
        let v = request.get_ref().value;
        let mut response = Response::new(num(v * v));
        if let Some(echo) = request.metadata().get("x-echo") {
            response
                .metadata_mut()
                .insert("x-echo", echo)
                .map_err(|e| Status::internal(e.to_string()))?;
            response
                .trailers_mut()
                .insert("x-echo-trailer", echo)
                .map_err(|e| Status::internal(e.to_string()))?;
        }
        if request.compression().is_some() {
            response.set_compression(CompressionEncoding::Gzip);
        }
        Ok(response)
    }

    type CountToStream = NumberStream;

    async fn count_to(
        &self,
        request: Request<Number>,
    ) -> Result<Response<Self::CountToStream>, Status> {
        self.saw("count_to", &request);
        let n = request.into_inner().value;
        Ok(Response::new(Box::pin(futures_util::stream::iter(
            (1..=n).map(|i| Ok(num(i))),
        ))))
    }

    async fn sum(&self, request: Request<Streaming<Number>>) -> Result<Response<Number>, Status> {
        self.saw("sum", &request);
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
        self.saw("double", &request);
        let stream = request.into_inner().map(|r| r.map(|n| num(n.value * 2)));
        Ok(Response::new(Box::pin(stream)))
    }

    /// Waits `value` ms, then answers with the timeout it saw (ms, or -1).
    async fn sleep(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        self.saw("sleep", &request);
        tokio::time::sleep(Duration::from_millis(request.get_ref().value as u64)).await;
        let seen = request
            .timeout()
            .map(|t| t.as_millis() as i64)
            .unwrap_or(-1);
        Ok(Response::new(num(seen)))
    }

    #[allow(deprecated)]
    async fn fail(&self, request: Request<Text>) -> Result<Response<Text>, Status> {
        let code: i32 = request.get_ref().value.parse().unwrap_or(2);
        let mut status = Status::new(Code::from_i32(code), "it failed");
        status
            .metadata_mut()
            .insert_bin("x-bin", [0, 1, 2, 255])
            .map_err(|e| Status::internal(e.to_string()))?;
        Err(status)
    }
}

/// Echoes text, for messages of any size.
struct Echo;

impl SendService for Echo {
    async fn connect_(&self, request: Request<Text>) -> Result<Response<Text>, Status> {
        Ok(Response::new(request.into_inner()))
    }
    async fn new_(&self, request: Request<Text>) -> Result<Response<Text>, Status> {
        Ok(Response::new(request.into_inner()))
    }
    async fn clone_(&self, request: Request<Text>) -> Result<Response<Text>, Status> {
        Ok(Response::new(request.into_inner()))
    }
    type CallStream =
        std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Text, Status>> + Send>>;
    async fn call(
        &self,
        request: Request<Streaming<Text>>,
    ) -> Result<Response<Self::CallStream>, Status> {
        Ok(Response::new(Box::pin(request.into_inner())))
    }
}

struct TestServer {
    addr: SocketAddr,
    seen: Seen,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves `Calc` and `Echo` on loopback, with whatever `configure` adds.
async fn start_with(configure: impl FnOnce(Server) -> Server) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let calc = Calc::default();
    let seen = calc.seen.clone();
    let (tx, rx) = oneshot::channel();
    let server = configure(
        Server::builder()
            .add_service(CalculatorServer::new(calc))
            .add_service(SendServer::new(Echo)),
    );
    let done = tokio::spawn(server.serve_with_listener(listener, async {
        let _ = rx.await;
    }));
    TestServer {
        addr,
        seen,
        stop: Some(tx),
        done,
    }
}

impl TestServer {
    fn channel(&self) -> Channel {
        Channel::from_uri(format!("http://{}", self.addr)).expect("a valid uri")
    }

    fn seen(&self) -> Vec<(&'static str, Option<String>)> {
        self.seen.lock().expect("not poisoned").clone()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.done.await.expect("server task").expect("server");
    }
}

/// A client layer: adds `x-layer: <n>` to every call and counts them.
fn counting_client(channel: Channel, count: Arc<AtomicUsize>) -> Client {
    let service = ServiceBuilder::new()
        .map_request(move |mut request: http::Request<Body>| {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            request.headers_mut().insert(
                "x-layer",
                http::HeaderValue::from_str(&n.to_string()).expect("digits"),
            );
            request
        })
        .service(channel);
    Client::with_service(service)
}

async fn collect_numbers(mut stream: Streaming<Number>) -> Vec<i64> {
    let mut got = Vec::new();
    while let Some(n) = stream.message().await.expect("message") {
        got.push(n.value);
    }
    got
}

#[tokio::test]
async fn client_layer_applies_to_all_four_kinds_of_call() {
    let server = start_with(|s| s).await;
    let count = Arc::new(AtomicUsize::new(0));
    let mut client =
        CalculatorClient::from_client(counting_client(server.channel(), count.clone()));

    // Unary, with metadata both ways and trailers.
    let mut request = Request::new(num(12));
    request
        .metadata_mut()
        .insert("x-echo", "hello")
        .expect("valid metadata");
    let response = client.square(request).await.expect("square");
    assert_eq!(response.get_ref().value, 144);
    assert_eq!(response.metadata().get("x-echo"), Some("hello"));
    assert_eq!(response.trailers().get("x-echo-trailer"), Some("hello"));

    // Server streaming.
    let stream = client.count_to(num(5)).await.expect("count").into_inner();
    assert_eq!(collect_numbers(stream).await, [1, 2, 3, 4, 5]);

    // Client streaming.
    let numbers = futures_util::stream::iter((1..=100).map(num));
    let total = client.sum(numbers).await.expect("sum").into_inner();
    assert_eq!(total.value, 5050);

    // Bidi, truly interleaved: each answer arrives before the next request
    // is sent.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let requests =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|n| (n, rx)) });
    let mut replies = client.double(requests).await.expect("double").into_inner();
    for i in 1..=3 {
        tx.send(num(i)).await.expect("send");
        let reply = replies.message().await.expect("reply").expect("one reply");
        assert_eq!(reply.value, i * 2);
    }
    drop(tx);
    assert!(replies.message().await.expect("end").is_none());
    assert_eq!(replies.trailers().map(|t| t.is_empty()), Some(true));

    assert_eq!(count.load(Ordering::SeqCst), 4);
    assert_eq!(
        server.seen(),
        [
            ("square", Some("1".to_owned())),
            ("count_to", Some("2".to_owned())),
            ("sum", Some("3".to_owned())),
            ("double", Some("4".to_owned())),
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn deadlines_through_a_client_service() {
    let server = start_with(|s| s).await;
    let count = Arc::new(AtomicUsize::new(0));
    let mut client =
        CalculatorClient::from_client(counting_client(server.channel(), count.clone()));

    // The server sees the timeout as grpc-timeout.
    let mut request = Request::new(num(0));
    request.set_timeout(Duration::from_secs(30));
    let seen = client.sleep(request).await.expect("sleep").into_inner();
    assert!(
        (29_000..=30_000).contains(&seen.value),
        "server saw {} ms",
        seen.value
    );

    // The client gives up when the deadline passes.
    let mut request = Request::new(num(60_000));
    request.set_timeout(Duration::from_millis(50));
    let err = client.sleep(request).await.expect_err("too slow");
    assert_eq!(err.code(), Code::DeadlineExceeded);

    // A client-wide timeout works through a service too.
    let mut client = CalculatorClient::from_client(
        counting_client(server.channel(), count.clone()).timeout(Duration::from_millis(50)),
    );
    let err = client.sleep(num(60_000)).await.expect_err("too slow");
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(count.load(Ordering::SeqCst), 3);
    server.stop().await;
}

#[tokio::test]
async fn errors_compression_and_limits_through_a_client_service() {
    let server = start_with(|s| s).await;
    let count = Arc::new(AtomicUsize::new(0));
    let mut client =
        CalculatorClient::from_client(counting_client(server.channel(), count.clone()));

    #[allow(deprecated)]
    let err = client
        .fail(Text {
            value: "5".into(),
            ..Default::default()
        })
        .await
        .expect_err("fails");
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.message(), "it failed");
    let bin = err.metadata().get_bin("x-bin").expect("x-bin present");
    assert_eq!(bin.expect("valid base64"), [0, 1, 2, 255]);

    // Compressed request; the server answers compressed because it may.
    let mut client = client.send_compressed(CompressionEncoding::Gzip);
    let response = client.square(num(9)).await.expect("square");
    assert_eq!(response.get_ref().value, 81);
    assert_eq!(response.compression(), Some(CompressionEncoding::Gzip));

    // A response bigger than the client accepts.
    let mut echo = SendClient::from_client(
        counting_client(server.channel(), count.clone()).max_decoding_message_size(1024),
    );
    let big = Text {
        value: "x".repeat(10_000),
        ..Default::default()
    };
    let err = echo.clone_(big.clone()).await.expect_err("too big");
    assert_eq!(err.code(), Code::ResourceExhausted);
    // A request bigger than the client may send never leaves.
    let mut echo = SendClient::from_client(
        counting_client(server.channel(), count.clone()).max_encoding_message_size(1024),
    );
    let err = echo.clone_(big).await.expect_err("too big");
    assert_eq!(err.code(), Code::ResourceExhausted);
    server.stop().await;
}

#[tokio::test]
async fn unknown_method_through_client_service_and_layered_server() {
    let server = start_with(|s| s.layer(ServiceBuilder::new().map_request(|r| r))).await;
    let mut client = Client::with_service(server.channel());
    let err = client
        .unary::<Number, Number>(num(1), "/svc.v1.Calculator/Nope")
        .await
        .expect_err("no such method");
    assert_eq!(err.code(), Code::Unimplemented);
    let err = client
        .unary::<Number, Number>(num(1), "/svc.v1.Nope/Square")
        .await
        .expect_err("no such service");
    assert_eq!(err.code(), Code::Unimplemented);
    server.stop().await;
}

#[tokio::test]
async fn channel_is_a_tower_service_for_hand_made_requests() {
    let server = start_with(|s| s).await;
    let request = grpc_request("/svc.v1.Calculator/Square", &num(7));
    let response = server
        .channel()
        .oneshot(request.map(http_body_util::Full::new))
        .await
        .expect("response");
    let (messages, trailers) = read_grpc(response).await;
    assert_eq!(messages, [49]);
    assert_eq!(
        trailers.get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"0"[..])
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_service_over_a_channel_reconnects() {
    let first = start_with(|s| s).await;
    let addr = first.addr;
    let count = Arc::new(AtomicUsize::new(0));
    let mut client = CalculatorClient::from_client(counting_client(first.channel(), count.clone()));
    assert_eq!(
        client
            .square(num(3))
            .await
            .expect("first server")
            .get_ref()
            .value,
        9
    );
    first.stop().await;

    // A new server on the same port: the channel under the layer connects again.
    let listener = TcpListener::bind(addr).await.expect("rebind the same port");
    let (_tx, rx) = oneshot::channel::<()>();
    tokio::spawn(
        Server::builder()
            .add_service(CalculatorServer::new(Calc::default()))
            .serve_with_listener(listener, async {
                let _ = rx.await;
            }),
    );
    assert_eq!(
        client
            .square(num(4))
            .await
            .expect("after restart")
            .get_ref()
            .value,
        16
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

/// A server layer that records each call's path.
#[tokio::test]
async fn server_layer_sees_every_call() {
    let paths = Arc::new(Mutex::new(Vec::new()));
    let recorded = paths.clone();
    let server = start_with(move |s| {
        s.layer(
            ServiceBuilder::new().map_request(move |request: http::Request<Body>| {
                recorded
                    .lock()
                    .expect("not poisoned")
                    .push(request.uri().path().to_owned());
                request
            }),
        )
    })
    .await;
    let mut client = CalculatorClient::new(server.channel());

    let mut request = Request::new(num(3));
    request
        .metadata_mut()
        .insert("x-echo", "hi")
        .expect("valid metadata");
    let response = client.square(request).await.expect("square");
    assert_eq!(response.get_ref().value, 9);
    assert_eq!(response.metadata().get("x-echo"), Some("hi"));
    assert_eq!(response.trailers().get("x-echo-trailer"), Some("hi"));
    let stream = client.count_to(num(3)).await.expect("count").into_inner();
    assert_eq!(collect_numbers(stream).await, [1, 2, 3]);
    let total = client
        .sum(futures_util::stream::iter((1..=10).map(num)))
        .await
        .expect("sum");
    assert_eq!(total.get_ref().value, 55);
    let replies = client
        .double(futures_util::stream::iter((1..=3).map(num)))
        .await
        .expect("double")
        .into_inner();
    assert_eq!(collect_numbers(replies).await, [2, 4, 6]);

    // The server enforces the deadline the client sent, through the layer.
    let mut request = Request::new(num(60_000));
    request.set_timeout(Duration::from_millis(50));
    let err = client.sleep(request).await.expect_err("too slow");
    assert_eq!(err.code(), Code::DeadlineExceeded);

    assert_eq!(
        *paths.lock().expect("not poisoned"),
        [
            "/svc.v1.Calculator/Square",
            "/svc.v1.Calculator/CountTo",
            "/svc.v1.Calculator/Sum",
            "/svc.v1.Calculator/Double",
            "/svc.v1.Calculator/Sleep",
        ]
    );
    server.stop().await;
}

/// A server middleware that refuses calls without `x-token: let-me-in`.
#[derive(Clone)]
struct RequireToken<S> {
    inner: S,
    refused: Arc<AtomicUsize>,
}

impl<S> tower::Service<http::Request<Body>> for RequireToken<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Status;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<http::Response<Body>, Status>> + Send + 'static>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.inner.poll_ready(cx).map_err(|never| match never {})
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let allowed = request
            .headers()
            .get("x-token")
            .is_some_and(|v| v == "let-me-in");
        if !allowed {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Box::pin(std::future::ready(Err(Status::unauthenticated("no token"))));
        }
        let response = self.inner.call(request);
        Box::pin(async move { response.await.map_err(|never| match never {}) })
    }
}

#[tokio::test]
async fn server_layer_refuses_calls() {
    let refused = Arc::new(AtomicUsize::new(0));
    let counter = refused.clone();
    let server = start_with(move |s| {
        s.layer(tower::layer::layer_fn(move |inner| RequireToken {
            inner,
            refused: counter.clone(),
        }))
    })
    .await;
    let mut client = CalculatorClient::new(server.channel());

    let err = client.square(num(2)).await.expect_err("refused");
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(err.message(), "no token");
    let err = client
        .double(futures_util::stream::iter((1..=3).map(num)))
        .await
        .map(|_| ())
        .expect_err("refused");
    assert_eq!(err.code(), Code::Unauthenticated);

    let mut request = Request::new(num(2));
    request
        .metadata_mut()
        .insert("x-token", "let-me-in")
        .expect("valid metadata");
    assert_eq!(
        client
            .square(request)
            .await
            .expect("allowed")
            .get_ref()
            .value,
        4
    );

    assert_eq!(refused.load(Ordering::SeqCst), 2);
    // Refused calls never reached a handler.
    assert_eq!(server.seen(), [("square", None)]);
    server.stop().await;
}

/// A gRPC request for `path` carrying `message`, as `http` types.
fn grpc_request<M: Message>(path: &str, message: &M) -> http::Request<Bytes> {
    let encoded = message.encode_to_vec();
    let mut body = BytesMut::new();
    body.put_u8(0);
    body.put_u32(encoded.len() as u32);
    body.put_slice(&encoded);
    http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(body.freeze())
        .expect("a valid request")
}

/// The messages (as numbers) and trailers of a gRPC response.
async fn read_grpc(response: http::Response<Body>) -> (Vec<i64>, http::HeaderMap) {
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/grpc"[..])
    );
    let collected = response.into_body().collect().await.expect("a whole body");
    let trailers = collected.trailers().cloned().expect("trailers");
    let mut data = collected.to_bytes();
    let mut messages = Vec::new();
    while !data.is_empty() {
        assert_eq!(data[0], 0, "uncompressed");
        let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
        let frame = data.split_to(5 + len);
        messages.push(Number::decode(&frame[5..]).expect("a Number").value);
    }
    (messages, trailers)
}

fn routes() -> (Routes, Seen) {
    let calc = Calc::default();
    let seen = calc.seen.clone();
    let routes = Server::builder()
        .add_service(CalculatorServer::new(calc))
        .into_service();
    (routes, seen)
}

#[tokio::test]
async fn routes_answer_http_requests_without_a_network() {
    let (routes, seen) = routes();
    let mut request = grpc_request("/svc.v1.Calculator/Square", &num(7));
    request
        .headers_mut()
        .insert("x-echo", http::HeaderValue::from_static("e"));
    let response = routes
        .clone()
        .oneshot(request.map(http_body_util::Full::new))
        .await
        .expect("infallible");
    assert_eq!(
        response.headers().get("x-echo").map(|v| v.as_bytes()),
        Some(&b"e"[..])
    );
    let (messages, trailers) = read_grpc(response).await;
    assert_eq!(messages, [49]);
    assert_eq!(
        trailers.get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"0"[..])
    );
    assert_eq!(
        trailers.get("x-echo-trailer").map(|v| v.as_bytes()),
        Some(&b"e"[..])
    );

    // A streaming response: every message, then the status.
    let request = grpc_request("/svc.v1.Calculator/CountTo", &num(3));
    let response = routes
        .clone()
        .oneshot(request.map(Body::from))
        .await
        .expect("infallible");
    let (messages, trailers) = read_grpc(response).await;
    assert_eq!(messages, [1, 2, 3]);
    assert_eq!(
        trailers.get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"0"[..])
    );
    assert_eq!(seen.lock().expect("not poisoned").len(), 2);
}

#[tokio::test]
async fn routes_answer_unknown_methods_unimplemented() {
    let (routes, seen) = routes();
    for path in ["/svc.v1.Calculator/Nope", "/svc.v1.Nope/Square", "/garbage"] {
        let request = grpc_request(path, &num(7));
        let response = routes
            .clone()
            .oneshot(request.map(Body::from))
            .await
            .expect("infallible");
        // Trailers-only: the status is in the headers, the body is empty.
        assert_eq!(response.status(), http::StatusCode::OK, "{path}");
        assert_eq!(
            response.headers().get("grpc-status").map(|v| v.as_bytes()),
            Some(&b"12"[..]),
            "{path}"
        );
        assert!(http_body::Body::is_end_stream(response.body()), "{path}");
    }
    // Not gRPC at all: an HTTP error.
    let mut request = grpc_request("/svc.v1.Calculator/Square", &num(7));
    request
        .headers_mut()
        .insert("content-type", http::HeaderValue::from_static("text/plain"));
    let response = routes
        .oneshot(request.map(Body::from))
        .await
        .expect("infallible");
    assert_eq!(response.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(seen.lock().expect("not poisoned").is_empty());
}

#[tokio::test(start_paused = true)]
async fn routes_enforce_the_deadline() {
    let (routes, _) = routes();
    let mut request = grpc_request("/svc.v1.Calculator/Sleep", &num(60_000));
    request
        .headers_mut()
        .insert("grpc-timeout", http::HeaderValue::from_static("50m"));
    let response = routes
        .oneshot(request.map(Body::from))
        .await
        .expect("infallible");
    assert_eq!(
        response.headers().get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"4"[..])
    );
}

/// Routes are a service a client can run on: every kind of call, in process.
#[tokio::test]
async fn client_over_routes_in_process() {
    let (routes, seen) = routes();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let service = ServiceBuilder::new()
        .map_request(move |request: http::Request<Body>| {
            counted.fetch_add(1, Ordering::SeqCst);
            request
        })
        .service(routes);
    let mut client = CalculatorClient::from_client(Client::with_service(service));
    assert_eq!(
        client.square(num(5)).await.expect("square").get_ref().value,
        25
    );
    let stream = client.count_to(num(4)).await.expect("count").into_inner();
    assert_eq!(collect_numbers(stream).await, [1, 2, 3, 4]);
    let total = client
        .sum(futures_util::stream::iter((1..=4).map(num)))
        .await
        .expect("sum");
    assert_eq!(total.get_ref().value, 10);
    let replies = client
        .double(futures_util::stream::iter((1..=2).map(num)))
        .await
        .expect("double")
        .into_inner();
    assert_eq!(collect_numbers(replies).await, [2, 4]);
    assert_eq!(count.load(Ordering::SeqCst), 4);
    assert_eq!(seen.lock().expect("not poisoned").len(), 4);
}

#[test]
fn tower_types_are_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Body>();
    check::<Client>();
    check::<Channel>();
    check::<Routes>();
    check::<Streaming<Number>>();
}
