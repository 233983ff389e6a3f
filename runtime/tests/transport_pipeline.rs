#![deny(warnings)]
//! The server's reply path, over real HTTP/2 on loopback: replies go out as
//! the client's flow control allows and are dropped at the call's deadline
//! when the client does not read; large replies (encoded off the runtime's
//! workers) arrive whole, plain and compressed, straight and through a
//! tower layer; a streamed reply ends at the deadline the call started
//! with. Raw `h2` clients play the clients that do not read.

pub mod generated {
    include!("../../testdata/services/expected/mod.rs");
}

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
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

type NumberStream =
    std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Number, Status>> + Send>>;
type TextStream = std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Text, Status>> + Send>>;

/// `Connect` answers with a text of the length asked for (a decimal number
/// in the request), made of every byte value that is valid ASCII, so that
/// a reply cut or reordered anywhere would not compare equal.
struct Big;

fn text_of(len: usize) -> String {
    (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect()
}

fn reply_to(request: &Text) -> Result<Text, Status> {
    let len: usize = request
        .value
        .parse()
        .map_err(|_| Status::invalid_argument("a length"))?;
    Ok(Text {
        value: text_of(len),
        ..Default::default()
    })
}

impl SendService for Big {
    async fn connect_(&self, request: Request<Text>) -> Result<Response<Text>, Status> {
        let mut response = Response::new(reply_to(request.get_ref())?);
        if let Some(encoding) = request.compression() {
            response.set_compression(encoding);
        }
        Ok(response)
    }
    async fn new_(&self, _: Request<Text>) -> Result<Response<Text>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn clone_(&self, _: Request<Text>) -> Result<Response<Text>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    type CallStream = TextStream;
    async fn call(
        &self,
        _: Request<Streaming<Text>>,
    ) -> Result<Response<Self::CallStream>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

/// `CountTo` waits `value` milliseconds before it answers, then yields a
/// number every 20 ms for ever: a stream only a deadline ends.
struct Slow;

#[allow(deprecated)]
impl Calculator for Slow {
    async fn square(&self, _: Request<Number>) -> Result<Response<Number>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    type CountToStream = NumberStream;
    async fn count_to(
        &self,
        request: Request<Number>,
    ) -> Result<Response<Self::CountToStream>, Status> {
        let wait = u64::try_from(request.get_ref().value).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let ticks = futures_util::stream::unfold(0i64, |n| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some((
                Ok(Number {
                    value: n,
                    ..Default::default()
                }),
                n + 1,
            ))
        });
        Ok(Response::new(Box::pin(ticks) as NumberStream))
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

struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start_with(builder: Server) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel();
    let done = tokio::spawn(
        builder
            .add_service(SendServer::new(Big))
            .add_service(CalculatorServer::new(Slow))
            .serve_with_listener(listener, async {
                let _ = rx.await;
            }),
    );
    TestServer {
        addr,
        stop: Some(tx),
        done,
    }
}

impl TestServer {
    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.done)
            .await
            .expect("the server stops")
            .expect("the server task")
            .expect("the server");
    }
}

/// A gRPC request head for `path` with `extra` headers.
fn request_head(path: &str, extra: &[(&'static str, &'static str)]) -> http::Request<()> {
    let mut request = http::Request::post(format!("http://localhost{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (k, v) in extra {
        request = request.header(*k, *v);
    }
    request.body(()).expect("a request")
}

fn framed(message: &[u8]) -> Bytes {
    let mut v = vec![0];
    v.extend_from_slice(&(message.len() as u32).to_be_bytes());
    v.extend_from_slice(message);
    Bytes::from(v)
}

fn text_request(value: &str) -> Bytes {
    use rust_rpc::codegen::Message;
    framed(
        &Text {
            value: value.into(),
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

/// A raw HTTP/2 client whose windows (stream and connection) are `window`
/// bytes, and which gives no capacity back unless told to.
async fn stingy_client(addr: SocketAddr, window: u32) -> h2::client::SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (send, conn) = h2::client::Builder::new()
        .initial_window_size(window)
        .initial_connection_window_size(window)
        .handshake(tcp)
        .await
        .expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    send
}

/// A unary reply of 1 MiB to a client whose window is 16 KiB: the server
/// sends no more than the window, and when the client never reads, drops
/// the reply at the call's deadline with RST_STREAM(CANCEL) rather than
/// holding it for as long as the connection lives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_the_client_never_reads_is_dropped_at_the_deadline() {
    let server = start_with(Server::builder()).await;
    let window = 16 * 1024;
    let send = stingy_client(server.addr, window).await;
    let mut ready = send.ready().await.expect("ready");
    let (response, mut body) = ready
        .send_request(
            request_head("/svc.v1.Send/Connect", &[("grpc-timeout", "700m")]),
            false,
        )
        .expect("send");
    body.send_data(text_request("1048576"), true)
        .expect("request body");
    let started = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(10), response)
        .await
        .expect("the head in time")
        .expect("a response");
    assert_eq!(response.status(), http::StatusCode::OK);
    let mut reply = response.into_body();
    // Read what the window lets through, without giving any of it back.
    let mut received = 0usize;
    let ended = loop {
        let next = tokio::time::timeout(Duration::from_secs(10), reply.data())
            .await
            .expect("the server ends the stream within its deadline and some");
        match next {
            Some(Ok(chunk)) => received += chunk.len(),
            Some(Err(e)) => break e,
            None => panic!("the reply ended normally after {received} bytes, past the window"),
        }
    };
    assert!(
        received <= window as usize,
        "{received} bytes arrived through a window of {window}"
    );
    assert_eq!(
        ended.reason(),
        Some(h2::Reason::CANCEL),
        "the stream ends with RST_STREAM(CANCEL): {ended}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "reset before the deadline, after {:?}",
        started.elapsed()
    );
    server.stop().await;
}

/// A client that reads as slowly as its window lets it still gets the
/// whole reply: the server waits for each window update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_through_a_small_window_arrives_whole() {
    let server = start_with(Server::builder()).await;
    let window = 4 * 1024;
    let send = stingy_client(server.addr, window).await;
    let mut ready = send.ready().await.expect("ready");
    let len = 300 * 1024;
    let (response, mut body) = ready
        .send_request(request_head("/svc.v1.Send/Connect", &[]), false)
        .expect("send");
    body.send_data(text_request(&len.to_string()), true)
        .expect("request body");
    let response = tokio::time::timeout(Duration::from_secs(10), response)
        .await
        .expect("the head in time")
        .expect("a response");
    let mut reply = response.into_body();
    let mut bytes = Vec::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), reply.data())
        .await
        .expect("each chunk in time")
    {
        let chunk = chunk.expect("a chunk");
        assert!(chunk.len() <= window as usize, "a chunk past the window");
        let _ = reply.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    let trailers = reply.trailers().await.expect("trailers").expect("some");
    assert_eq!(
        trailers.get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"0"[..])
    );
    use rust_rpc::codegen::Message;
    assert_eq!(bytes[0], 0, "not compressed");
    let text = Text::decode_bytes(&Bytes::copy_from_slice(&bytes[5..])).expect("the reply decodes");
    assert_eq!(text.value, text_of(len));
    server.stop().await;
}

/// Replies below and above the size that moves encoding to the blocking
/// pool, plain and gzip-compressed, on the direct path and through a tower
/// layer, all arrive as they were made; many at once on one channel too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_replies_arrive_whole_plain_compressed_and_through_layers() {
    for layered in [false, true] {
        let mut builder = Server::builder();
        if layered {
            builder = builder.layer(tower::layer::util::Identity::new());
        }
        let server = start_with(builder).await;
        let channel = Channel::new(Endpoint::new(format!("http://{}", server.addr)).expect("uri"));
        let mut client = SendClient::new(channel)
            .max_decoding_message_size(64 * 1024 * 1024)
            .send_compressed(CompressionEncoding::Gzip);
        for len in [10, 100 * 1024, 256 * 1024, 5 * 1024 * 1024] {
            let reply = client
                .connect_(Text {
                    value: len.to_string(),
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|e| panic!("{len} bytes, layered {layered}: {e}"));
            assert_eq!(reply.get_ref().value.len(), len);
            assert_eq!(reply.get_ref().value, text_of(len), "{len} bytes");
        }
        let calls = (0..8).map(|_| {
            let mut client = client.clone();
            async move {
                client
                    .connect_(Text {
                        value: (1024 * 1024).to_string(),
                        ..Default::default()
                    })
                    .await
            }
        });
        for reply in futures_util::future::join_all(calls).await {
            let reply = reply.expect("a concurrent large reply");
            assert_eq!(reply.get_ref().value, text_of(1024 * 1024));
        }
        server.stop().await;
    }
}

/// A message over the server's send limit fails the call with
/// RESOURCE_EXHAUSTED (a status, not a reset), also when it is encoded on
/// the blocking pool.
#[tokio::test]
async fn a_reply_over_the_send_limit_is_resource_exhausted() {
    let server = start_with(Server::builder().max_encoding_message_size(300 * 1024)).await;
    let mut client = SendClient::connect(format!("http://{}", server.addr))
        .await
        .expect("connect")
        .max_decoding_message_size(64 * 1024 * 1024);
    for len in [301 * 1024, 4 * 1024 * 1024] {
        let err = client
            .connect_(Text {
                value: len.to_string(),
                ..Default::default()
            })
            .await
            .expect_err("over the limit");
        assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
    }
    let fits = client
        .connect_(Text {
            value: (299 * 1024).to_string(),
            ..Default::default()
        })
        .await
        .expect("under the limit");
    assert_eq!(fits.get_ref().value.len(), 299 * 1024);
    server.stop().await;
}

/// The deadline of a streaming call runs from when the call arrived: a
/// handler that takes 500 ms to start its stream, on a call with 800 ms,
/// has about 300 ms of streaming left, not another 800. (A raw client, so
/// that no deadline of the client's own ends the call first.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_reply_ends_at_the_deadline_the_call_started_with() {
    let server = start_with(Server::builder()).await;
    let send = stingy_client(server.addr, 1 << 20).await;
    let mut ready = send.ready().await.expect("ready");
    let (response, mut body) = ready
        .send_request(
            request_head("/svc.v1.Calculator/CountTo", &[("grpc-timeout", "800m")]),
            false,
        )
        .expect("send");
    use rust_rpc::codegen::Message;
    body.send_data(
        framed(
            &Number {
                value: 500,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        true,
    )
    .expect("request body");
    let started = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(10), response)
        .await
        .expect("the head in time")
        .expect("a response");
    let mut reply = response.into_body();
    let mut bytes = 0usize;
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), reply.data())
        .await
        .expect("each chunk in time")
    {
        let chunk = chunk.expect("a chunk");
        let _ = reply.flow_control().release_capacity(chunk.len());
        bytes += chunk.len();
    }
    let trailers = reply.trailers().await.expect("trailers").expect("some");
    let status = Status::from_headers(&trailers).expect("a status");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    let elapsed = started.elapsed();
    // Each number is a 5-byte prefix and at most 3 bytes of message. In
    // 300 ms, one every 20 ms, that is 15 or fewer; had the deadline started
    // again with the stream it would be 40.
    let messages = bytes.div_ceil(8);
    assert!(
        messages < 28 && elapsed < Duration::from_millis(1200),
        "{messages} messages (of {bytes} bytes) over {elapsed:?}"
    );
    server.stop().await;
}

/// `Number` replies are tiny: a client's own deadline also ends such a
/// stream, with DEADLINE_EXCEEDED, through the generated client.
#[tokio::test]
async fn a_generated_client_sees_the_streamed_deadline() {
    let server = start_with(Server::builder()).await;
    let mut client = CalculatorClient::connect(format!("http://{}", server.addr))
        .await
        .expect("connect");
    let mut request = Request::new(Number {
        value: 100,
        ..Default::default()
    });
    request.set_timeout(Duration::from_millis(400));
    let mut stream = client
        .count_to(request)
        .await
        .expect("the stream starts")
        .into_inner();
    let mut seen = 0;
    let status = loop {
        match stream.next().await {
            Some(Ok(_)) => seen += 1,
            Some(Err(status)) => break status,
            None => panic!("the stream ended without a deadline"),
        }
    };
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(seen > 0, "no number arrived before the deadline");
    server.stop().await;
}
