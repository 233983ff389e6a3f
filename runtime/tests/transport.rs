#![deny(warnings)]
//! Rust to Rust over real HTTP/2 on loopback: all four kinds of call with
//! the code generated for `testdata/services`, plus deadlines, cancellation,
//! metadata, errors, compression, message limits and graceful shutdown.

pub mod generated {
    include!("../../testdata/services/expected/mod.rs");
}

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use generated::svc::v1::{
    Calculator, CalculatorClient, CalculatorServer, Number, Send as SendService, SendClient,
    SendServer, Text,
};
use rust_rpc::transport::{
    Channel, Code, CompressionEncoding, Endpoint, Request, Response, Server, Status, Streaming,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[derive(Default)]
struct Calc {
    // Calls of Sleep that were dropped before they finished (client went away).
    cancelled: Arc<AtomicUsize>,
}

struct DropGuard(Arc<AtomicUsize>, bool);

impl Drop for DropGuard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

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
        let mut response = Response::new(num(v
            .checked_mul(v)
            .ok_or_else(|| Status::out_of_range("overflow"))?));
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
        let n = request.into_inner().value;
        if n < 0 {
            return Err(Status::invalid_argument("negative"));
        }
        let stream = futures_util::stream::iter((1..=n).map(|i| Ok(num(i))));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn sum(&self, request: Request<Streaming<Number>>) -> Result<Response<Number>, Status> {
        let mut guard = DropGuard(self.cancelled.clone(), false);
        let mut stream = request.into_inner();
        let mut total = 0i64;
        while let Some(n) = stream.message().await? {
            total += n.value;
        }
        guard.1 = true;
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

    async fn sleep(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        let mut guard = DropGuard(self.cancelled.clone(), false);
        let ms = request.get_ref().value;
        tokio::time::sleep(Duration::from_millis(ms as u64)).await;
        guard.1 = true;
        let seen = request
            .timeout()
            .map(|t| t.as_millis() as i64)
            .unwrap_or(-1);
        Ok(Response::new(num(seen)))
    }

    #[allow(deprecated)]
    async fn fail(&self, request: Request<Text>) -> Result<Response<Text>, Status> {
        let code: i32 = request.get_ref().value.parse().unwrap_or(2);
        let mut status = Status::new(Code::from_i32(code), "it failed: 100% \u{1F600}\r\n");
        if let Some(v) = request.metadata().get_bin("x-bin") {
            let v = v.map_err(|e| Status::internal(e.to_string()))?;
            status
                .metadata_mut()
                .insert_bin("x-bin", &v)
                .map_err(|e| Status::internal(e.to_string()))?;
        }
        Err(status)
    }
}

struct Clashes;

impl SendService for Clashes {
    async fn connect_(&self, request: Request<Text>) -> Result<Response<Text>, Status> {
        Ok(Response::new(Text {
            value: format!("connect:{}", request.get_ref().value),
            ..Default::default()
        }))
    }
    async fn new_(&self, request: Request<Text>) -> Result<Response<Text>, Status> {
        Ok(Response::new(Text {
            value: format!("new:{}", request.get_ref().value),
            ..Default::default()
        }))
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
    cancelled: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start() -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let calc = Calc::default();
    let cancelled = calc.cancelled.clone();
    let (tx, rx) = oneshot::channel();
    let done = tokio::spawn(
        Server::builder()
            .add_service(CalculatorServer::new(calc))
            .add_service(SendServer::new(Clashes))
            .max_decoding_message_size(64 * 1024)
            .serve_with_listener(listener, async {
                let _ = rx.await;
            }),
    );
    TestServer {
        addr,
        cancelled,
        stop: Some(tx),
        done,
    }
}

impl TestServer {
    fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn client(&self) -> CalculatorClient {
        CalculatorClient::connect(self.uri())
            .await
            .expect("connect")
    }
}

#[tokio::test]
async fn unary_with_metadata_both_ways() {
    let server = start().await;
    let mut client = server.client().await;
    let mut request = Request::new(num(12));
    request
        .metadata_mut()
        .insert("x-echo", "hello")
        .expect("valid metadata");
    let response = client.square(request).await.expect("square");
    assert_eq!(response.get_ref().value, 144);
    assert_eq!(response.metadata().get("x-echo"), Some("hello"));
    assert_eq!(response.trailers().get("x-echo-trailer"), Some("hello"));
}

#[tokio::test]
async fn server_streaming_client_streaming_and_bidi() {
    let server = start().await;
    let mut client = server.client().await;

    let mut stream = client.count_to(num(5)).await.expect("count").into_inner();
    let mut got = Vec::new();
    while let Some(n) = stream.message().await.expect("message") {
        got.push(n.value);
    }
    assert_eq!(got, [1, 2, 3, 4, 5]);

    let numbers = futures_util::stream::iter((1..=100).map(num));
    let total = client.sum(numbers).await.expect("sum").into_inner();
    assert_eq!(total.value, 5050);

    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let requests =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|n| (n, rx)) });
    let mut replies = client.double(requests).await.expect("double").into_inner();
    for i in 1..=3 {
        tx.send(num(i)).await.expect("send");
        // Each answer arrives before the next request is sent: truly interleaved.
        let reply = replies.message().await.expect("reply").expect("one reply");
        assert_eq!(reply.value, i * 2);
    }
    drop(tx);
    assert!(replies.message().await.expect("end").is_none());
}

#[tokio::test]
async fn errors_carry_code_message_and_metadata() {
    let server = start().await;
    let mut client = server.client().await;
    let err = client
        .count_to(num(-1))
        .await
        .map(|_| ())
        .expect_err("negative");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.message(), "negative");

    let mut request = Request::new(Text {
        value: "9".into(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert_bin("x-bin", [0, 1, 2, 255])
        .expect("bin metadata");
    #[allow(deprecated)]
    let err = client.fail(request).await.map(|_| ()).expect_err("fails");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(err.message(), "it failed: 100% \u{1F600}\r\n");
    let echoed = err
        .metadata()
        .get_bin("x-bin")
        .expect("present")
        .expect("valid base64");
    assert_eq!(echoed, [0, 1, 2, 255]);

    let err = client
        .square(num(i64::MAX))
        .await
        .map(|_| ())
        .expect_err("overflow");
    assert_eq!(err.code(), Code::OutOfRange);
}

#[tokio::test]
async fn deadline_exceeded_and_server_sees_the_timeout_and_the_cancel() {
    let server = start().await;
    let mut client = server.client().await;
    let mut request = Request::new(num(5_000));
    request.set_timeout(Duration::from_millis(100));
    let started = std::time::Instant::now();
    let err = client
        .sleep(request)
        .await
        .map(|_| ())
        .expect_err("too slow");
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(started.elapsed() < Duration::from_secs(3));
    // The server's handler is dropped once the deadline passes there too.
    for _ in 0..100 {
        if server.cancelled.load(Ordering::SeqCst) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.cancelled.load(Ordering::SeqCst), 1);

    // Within the deadline, the handler sees the client's timeout.
    let mut request = Request::new(num(1));
    request.set_timeout(Duration::from_secs(30));
    let seen = client
        .sleep(request)
        .await
        .expect("in time")
        .into_inner()
        .value;
    assert!((29_000..=30_000).contains(&seen), "server saw {seen} ms");
}

#[tokio::test]
async fn dropping_a_call_cancels_it_on_the_server() {
    let server = start().await;
    let mut client = server.client().await;
    let call = tokio::spawn(async move { client.sleep(num(10_000)).await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    call.abort();
    for _ in 0..100 {
        if server.cancelled.load(Ordering::SeqCst) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        server.cancelled.load(Ordering::SeqCst),
        1,
        "handler was not cancelled"
    );
}

#[tokio::test]
async fn unknown_service_and_method_are_unimplemented() {
    let server = start().await;
    let channel = Endpoint::new(server.uri())
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut client = rust_rpc::transport::Client::new(channel);
    let err = client
        .unary::<Number, Number>(num(1), "/svc.v1.Nope/Square")
        .await
        .map(|_| ())
        .expect_err("no such service");
    assert_eq!(err.code(), Code::Unimplemented);
    let err = client
        .unary::<Number, Number>(num(1), "/svc.v1.Calculator/Cube")
        .await
        .map(|_| ())
        .expect_err("no such method");
    assert_eq!(err.code(), Code::Unimplemented);
}

#[tokio::test]
async fn names_that_clash_with_client_helpers_still_work() {
    let server = start().await;
    let mut client = SendClient::connect(server.uri()).await.expect("connect");
    let text = |s: &str| Text {
        value: s.into(),
        ..Default::default()
    };
    assert_eq!(
        client
            .connect_(text("a"))
            .await
            .expect("connect_")
            .into_inner()
            .value,
        "connect:a"
    );
    assert_eq!(
        client
            .new_(text("b"))
            .await
            .expect("new_")
            .into_inner()
            .value,
        "new:b"
    );
    assert_eq!(
        client
            .clone_(text("c"))
            .await
            .expect("clone_")
            .into_inner()
            .value,
        "c"
    );
    let replies: Vec<_> = client
        .call(futures_util::stream::iter([text("x"), text("y")]))
        .await
        .expect("call")
        .into_inner()
        .map(|r| r.expect("reply").value)
        .collect()
        .await;
    assert_eq!(replies, ["x", "y"]);
}

#[tokio::test]
async fn gzip_both_ways_and_size_limits() {
    let server = start().await;
    let channel = Channel::new(Endpoint::new(server.uri()).expect("uri"));
    let mut client = CalculatorClient::new(channel).send_compressed(CompressionEncoding::Gzip);
    let response = client.square(num(3)).await.expect("compressed call");
    assert_eq!(response.get_ref().value, 9);

    // The server accepts at most 64 KiB: a bigger request is refused.
    let mut text_client = SendClient::connect(server.uri()).await.expect("connect");
    let big = Text {
        value: "x".repeat(100_000),
        ..Default::default()
    };
    let err = text_client
        .clone_(big)
        .await
        .map(|_| ())
        .expect_err("too big");
    assert_eq!(err.code(), Code::ResourceExhausted);
    // And the connection is still fine for the next call.
    let ok = text_client
        .clone_(Text {
            value: "small".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(ok.expect("small call").into_inner().value, "small");
}

#[tokio::test]
async fn many_concurrent_calls_share_one_channel() {
    let server = start().await;
    let client = server.client().await;
    let mut tasks = Vec::new();
    for i in 0..64i64 {
        let mut c = client.clone();
        tasks.push(tokio::spawn(async move {
            c.square(num(i)).await.map(|r| r.into_inner().value)
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let i = i as i64;
        assert_eq!(t.await.expect("task").expect("call"), i * i);
    }
}

/// While the server drains (GOAWAY sent, a call still running), a new call
/// on the same client is refused with UNAVAILABLE at once (its connection
/// is going away and the listener is closed), and the call in flight still
/// finishes.
#[tokio::test]
async fn during_a_graceful_shutdown_new_calls_are_unavailable_and_old_ones_finish() {
    let mut server = start().await;
    let mut client = server.client().await;
    let slow = tokio::spawn({
        let mut c = client.clone();
        async move { c.sleep(num(600)).await.map(|r| r.into_inner().value) }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = server.stop.take().map(|s| s.send(()));
    // The GOAWAY reaches the client.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut request = Request::new(num(2));
    request.set_timeout(Duration::from_secs(5));
    let refused = client
        .square(request)
        .await
        .map(|_| ())
        .expect_err("draining");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert_eq!(
        slow.await
            .expect("task")
            .expect("the call in flight finishes"),
        -1
    );
    server
        .done
        .await
        .expect("server task")
        .expect("server result");
}

#[tokio::test]
async fn graceful_shutdown_lets_calls_in_flight_finish_and_reconnect_fails_cleanly() {
    let mut server = start().await;
    let mut client = server.client().await;
    let slow = tokio::spawn({
        let mut c = client.clone();
        async move { c.sleep(num(300)).await.map(|r| r.into_inner().value) }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = server.stop.take().map(|s| s.send(()));
    assert_eq!(
        slow.await.expect("task").expect("in-flight call finishes"),
        -1
    );
    server
        .done
        .await
        .expect("server task")
        .expect("server result");
    let err = client
        .square(num(2))
        .await
        .map(|_| ())
        .expect_err("server is gone");
    assert_eq!(err.code(), Code::Unavailable);
}

#[tokio::test]
async fn non_grpc_peer_maps_http_status() {
    // A plain HTTP/2 server answering 404 to everything.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut conn = h2::server::handshake(tcp).await.expect("handshake");
        while let Some(Ok((_req, mut respond))) = conn.accept().await {
            let mut response = http::Response::new(());
            *response.status_mut() = http::StatusCode::NOT_FOUND;
            let _ = respond.send_response(response, true);
        }
    });
    let mut client = CalculatorClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let err = client.square(num(1)).await.map(|_| ()).expect_err("404");
    assert_eq!(err.code(), Code::Unimplemented);
}

/// A raw HTTP/2 connection to the test server, for sending what no
/// well-behaved client would.
async fn raw_connection(addr: SocketAddr) -> h2::client::SendRequest<bytes::Bytes> {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (send, conn) = h2::client::handshake(tcp).await.expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    send
}

/// Sends one request with `headers` and `body`; returns the HTTP status and
/// the gRPC status from headers or trailers.
async fn raw_call(
    send: &mut h2::client::SendRequest<bytes::Bytes>,
    path: &str,
    headers: &[(&'static str, &'static str)],
    body: &[u8],
) -> (http::StatusCode, Option<Status>) {
    let mut request = http::Request::post(format!("http://localhost{path}"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let request = request.body(()).expect("request");
    let mut ready = send.clone().ready().await.expect("ready");
    let (response, mut stream) = ready.send_request(request, false).expect("send");
    stream
        .send_data(bytes::Bytes::copy_from_slice(body), true)
        .expect("data");
    let response = response.await.expect("response");
    let http_status = response.status();
    if let Some(s) = Status::from_headers(response.headers()) {
        return (http_status, Some(s));
    }
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("chunk");
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let trailers = body.trailers().await.expect("trailers");
    (
        http_status,
        trailers.as_ref().and_then(Status::from_headers),
    )
}

/// A malformed call: what it is, its headers, its body, the status it must get.
type BadCall = (
    &'static str,
    &'static [(&'static str, &'static str)],
    Vec<u8>,
    Code,
);

const GRPC: (&str, &str) = ("content-type", "application/grpc");
const TE: (&str, &str) = ("te", "trailers");

fn framed(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![flag];
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

#[tokio::test]
async fn untrusted_input_gets_the_right_status_and_the_connection_goes_on() {
    let server = start().await;
    let mut send = raw_connection(server.addr).await;
    let square = "/svc.v1.Calculator/Square";
    // 7 squared, well formed: the baseline.
    let good = framed(0, &[0x08, 0x07]);
    let (http_status, status) = raw_call(&mut send, square, &[GRPC, TE], &good).await;
    assert_eq!(http_status, http::StatusCode::OK);
    assert_eq!(status.map(|s| s.code()), Some(Code::Ok));

    // Not gRPC at all: HTTP 415, as the spec says.
    let (http_status, _) = raw_call(
        &mut send,
        square,
        &[("content-type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(http_status, http::StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let cases: &[BadCall] = &[
        (
            "bad compressed flag",
            &[GRPC, TE],
            framed(2, &[0x08, 0x07]),
            Code::Internal,
        ),
        (
            "compressed without grpc-encoding",
            &[GRPC, TE],
            framed(1, &[0x08, 0x07]),
            Code::Internal,
        ),
        (
            "undecodable message",
            &[GRPC, TE],
            framed(0, &[0xff, 0xff]),
            Code::Internal,
        ),
        (
            "stream ends mid-message",
            &[GRPC, TE],
            framed(0, &[0x08, 0x07])[..4].to_vec(),
            Code::Internal,
        ),
        ("no message", &[GRPC, TE], Vec::new(), Code::Internal),
        (
            "over the 64 KiB limit",
            &[GRPC, TE],
            {
                let mut v = vec![0u8];
                v.extend_from_slice(&(1u32 << 20).to_be_bytes());
                v
            },
            Code::ResourceExhausted,
        ),
        (
            "unsupported grpc-encoding",
            &[GRPC, TE, ("grpc-encoding", "snappy")],
            good.clone(),
            Code::Unimplemented,
        ),
        (
            "bad grpc-timeout",
            &[GRPC, TE, ("grpc-timeout", "soon")],
            good.clone(),
            Code::InvalidArgument,
        ),
    ];
    for (what, headers, body, code) in cases {
        let (http_status, status) = raw_call(&mut send, square, headers, body).await;
        assert_eq!(http_status, http::StatusCode::OK, "{what}");
        assert_eq!(status.map(|s| s.code()), Some(*code), "{what}");
    }

    // After all that, the same connection still serves well-formed calls.
    let (_, status) = raw_call(&mut send, square, &[GRPC, TE], &good).await;
    assert_eq!(status.map(|s| s.code()), Some(Code::Ok));
}

#[tokio::test]
async fn a_slow_reader_holds_a_fast_sender_back() {
    // The server streams as fast as it can; the client reads one message and
    // then nothing. Flow control must stop the server long before it has
    // produced everything (it would otherwise buffer without bound).
    let server = start().await;
    let mut client = SendClient::connect(server.uri()).await.expect("connect");
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = produced.clone();
    let requests = futures_util::stream::iter(0..100_000).map(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        Text {
            value: format!("{i:08}").repeat(128),
            ..Default::default()
        }
    });
    let mut replies = client.call(requests).await.expect("call").into_inner();
    let first = replies.message().await.expect("first").expect("a reply");
    assert_eq!(first.value.len(), 1024);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_pause = produced.load(Ordering::SeqCst);
    // Windows are 1 MiB per stream each way, about 1 KiB per message: a few
    // thousand messages in flight at most, not 100 000.
    assert!(
        after_pause < 10_000,
        "{after_pause} messages produced while nobody read"
    );
    // Reading resumes the flow.
    let mut n = 1;
    while n < 20_000 {
        replies.message().await.expect("reply").expect("more");
        n += 1;
    }
    assert!(produced.load(Ordering::SeqCst) >= 20_000);
}

#[tokio::test]
async fn a_channel_reconnects_after_the_server_comes_back() {
    let mut first = start().await;
    let addr = first.addr;
    let mut client = first.client().await;
    let mut other = client.clone();
    assert_eq!(
        client
            .square(num(3))
            .await
            .expect("first server")
            .into_inner()
            .value,
        9
    );
    let _ = first.stop.take().map(|s| s.send(()));
    first
        .done
        .await
        .expect("server task")
        .expect("server result");

    // A new server on the same port.
    let listener = TcpListener::bind(addr).await.expect("rebind the same port");
    let (_tx, rx) = oneshot::channel::<()>();
    tokio::spawn(
        Server::builder()
            .add_service(CalculatorServer::new(Calc::default()))
            .serve_with_listener(listener, async {
                let _ = rx.await;
            }),
    );
    // Both clones of the client find the old connection gone and share one new one.
    assert_eq!(
        client
            .square(num(4))
            .await
            .expect("after restart")
            .into_inner()
            .value,
        16
    );
    assert_eq!(
        other
            .square(num(5))
            .await
            .expect("the clone too")
            .into_inner()
            .value,
        25
    );
}

#[tokio::test]
async fn a_cancel_handle_ends_each_kind_of_call_with_cancelled() {
    let server = start().await;
    let mut client = server.client().await;

    // Unary, waiting for its response: the call returns CANCELLED and the
    // server's handler is stopped.
    let mut request = Request::new(num(10_000));
    let cancel = request.cancel_handle();
    let call = tokio::spawn({
        let mut c = client.clone();
        async move { c.sleep(request).await.map(|_| ()) }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    cancel.cancel();
    let err = call.await.expect("task").expect_err("cancelled");
    assert_eq!(err.code(), Code::Cancelled);
    for _ in 0..100 {
        if server.cancelled.load(Ordering::SeqCst) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.cancelled.load(Ordering::SeqCst), 1);

    // Client streaming whose request stream never yields.
    let mut request = Request::new(futures_util::stream::pending::<Number>());
    let cancel = request.cancel_handle();
    let call = tokio::spawn({
        let mut c = client.clone();
        async move { c.sum(request).await.map(|_| ()) }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    cancel.cancel();
    let err = call.await.expect("task").expect_err("cancelled");
    assert_eq!(err.code(), Code::Cancelled);
    // The request side is reset too, though its stream never ended.
    for _ in 0..100 {
        if server.cancelled.load(Ordering::SeqCst) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.cancelled.load(Ordering::SeqCst), 2);

    // Bidi, after a first reply: the stream yields CANCELLED, then ends.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut request = Request::new(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|n| (n, rx))
    }));
    let cancel = request.cancel_handle();
    let mut replies = client.double(request).await.expect("double").into_inner();
    tx.send(num(1)).await.expect("send");
    assert_eq!(
        replies.message().await.expect("reply").expect("one").value,
        2
    );
    cancel.cancel();
    let err = replies.message().await.expect_err("cancelled");
    assert_eq!(err.code(), Code::Cancelled);
    assert!(replies.message().await.expect("ended").is_none());

    // Cancelling a call that has ended changes nothing.
    let mut request = Request::new(num(3));
    let cancel = request.cancel_handle();
    assert_eq!(
        client
            .square(request)
            .await
            .expect("square")
            .get_ref()
            .value,
        9
    );
    cancel.cancel();
    assert!(cancel.is_cancelled());
}

#[tokio::test]
async fn a_trailers_only_ok_is_an_empty_stream() {
    // A server answering every call with Trailers-Only OK, and an echoed
    // trailer, as grpcio does for a response stream without messages.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut conn = h2::server::handshake(tcp).await.expect("handshake");
        while let Some(Ok((_req, mut respond))) = conn.accept().await {
            let mut response = http::Response::new(());
            let headers = response.headers_mut();
            headers.insert("content-type", "application/grpc".parse().expect("value"));
            headers.insert("grpc-status", "0".parse().expect("value"));
            headers.insert("x-trailer", "yes".parse().expect("value"));
            let _ = respond.send_response(response, true);
        }
    });
    let mut client = CalculatorClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let mut stream = client.count_to(num(3)).await.expect("count").into_inner();
    assert!(stream.message().await.expect("ends OK").is_none());
    assert_eq!(
        stream.trailers().and_then(|t| t.get("x-trailer")),
        Some("yes")
    );
    // A call that needs one response still misses it.
    let err = client.square(num(2)).await.map(|_| ()).expect_err("none");
    assert_eq!(err.code(), Code::Internal);
}
