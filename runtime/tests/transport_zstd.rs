#![cfg(feature = "zstd")]
#![deny(warnings)]
//! zstd over real HTTP/2 on loopback: unary and streaming calls compressed
//! with zstd both ways, checked on the wire (the handler sees the
//! request's encoding, and a raw HTTP/2 client reads the response headers
//! and frames), plus negotiation and hostile zstd input.

pub mod generated {
    include!("../../testdata/services/expected/mod.rs");
}

use std::net::SocketAddr;

use bytes::{Buf, Bytes, BytesMut};
use generated::svc::v1::{Calculator, CalculatorClient, CalculatorServer, Number, Text};
use rust_rpc::Message;
use rust_rpc::transport::compression::{self, CompressionEncoding};
use rust_rpc::transport::{Code, Request, Response, Server, Status, Streaming};
use tokio::net::TcpListener;

const ZSTD: CompressionEncoding = CompressionEncoding::Zstd;
/// The first four bytes of every zstd frame (RFC 8878 §3.1.1).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

fn num(value: i64) -> Number {
    Number {
        value,
        ..Default::default()
    }
}

type NumberStream =
    std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Number, Status>> + Send>>;

/// Answers in zstd whenever the client takes it, and reports how the
/// request came: its encoding in the `x-request-encoding` header, and for
/// streams a message that arrived uncompressed as -1.
struct Zstd;

fn encoding_name(encoding: Option<CompressionEncoding>) -> &'static str {
    encoding.map_or("identity", CompressionEncoding::as_str)
}

fn reply<T>(message: T, request_encoding: Option<CompressionEncoding>) -> Response<T> {
    let mut response = Response::new(message);
    response.set_compression(ZSTD);
    let _ = response
        .metadata_mut()
        .insert("x-request-encoding", encoding_name(request_encoding));
    response
}

impl Calculator for Zstd {
    async fn square(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        let v = request.get_ref().value;
        Ok(reply(num(v * v), request.compression()))
    }

    type CountToStream = NumberStream;

    async fn count_to(
        &self,
        request: Request<Number>,
    ) -> Result<Response<Self::CountToStream>, Status> {
        let n = request.get_ref().value;
        let stream = futures_util::stream::iter((1..=n).map(|i| Ok(num(i))));
        Ok(reply(
            Box::pin(stream) as NumberStream,
            request.compression(),
        ))
    }

    async fn sum(&self, request: Request<Streaming<Number>>) -> Result<Response<Number>, Status> {
        let encoding = request.compression();
        let mut stream = request.into_inner();
        let mut total = 0;
        while let Some(n) = stream.message().await? {
            total += if stream.last_message_compressed() {
                n.value
            } else {
                -1
            };
        }
        Ok(reply(num(total), encoding))
    }

    type DoubleStream = NumberStream;

    async fn double(
        &self,
        request: Request<Streaming<Number>>,
    ) -> Result<Response<Self::DoubleStream>, Status> {
        let encoding = request.compression();
        let stream = futures_util::stream::unfold(request.into_inner(), |mut s| async move {
            let item = match s.message().await {
                Ok(Some(n)) if s.last_message_compressed() => Ok(num(n.value * 2)),
                Ok(Some(_)) => Ok(num(-1)),
                Ok(None) => return None,
                Err(e) => Err(e),
            };
            Some((item, s))
        });
        Ok(reply(Box::pin(stream) as NumberStream, encoding))
    }

    async fn sleep(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        Ok(Response::new(request.into_inner()))
    }

    async fn fail(&self, request: Request<Text>) -> Result<Response<Text>, Status> {
        Ok(Response::new(request.into_inner()))
    }
}

/// Starts a server (64 KiB message limit) and returns its address.
async fn start() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        Server::builder()
            .add_service(CalculatorServer::new(Zstd))
            .max_decoding_message_size(64 * 1024)
            .serve_with_listener(listener, std::future::pending::<()>()),
    );
    addr
}

async fn client(addr: SocketAddr) -> CalculatorClient {
    CalculatorClient::connect(format!("http://{addr}"))
        .await
        .expect("connect")
        .send_compressed(ZSTD)
}

#[tokio::test]
async fn unary_in_zstd_both_ways() {
    let addr = start().await;
    let mut client = client(addr).await;
    let response = client.square(num(12)).await.expect("square");
    assert_eq!(response.get_ref().value, 144);
    // The request arrived as zstd, and the response came back as zstd.
    assert_eq!(response.metadata().get("x-request-encoding"), Some("zstd"));
    assert_eq!(response.compression(), Some(ZSTD));
}

#[tokio::test]
async fn streams_in_zstd_both_ways() {
    let addr = start().await;
    let mut client = client(addr).await;

    // Bidi: every request message arrived compressed (else -1), every reply
    // arrived compressed.
    let response = client
        .double(futures_util::stream::iter((1..=50).map(num)))
        .await
        .expect("double");
    assert_eq!(response.metadata().get("x-request-encoding"), Some("zstd"));
    let mut replies = response.into_inner();
    let mut got = Vec::new();
    while let Some(n) = replies.message().await.expect("reply") {
        assert!(replies.last_message_compressed());
        got.push(n.value);
    }
    assert_eq!(got, (1..=50).map(|i| i * 2).collect::<Vec<_>>());

    // Client streaming into a compressed unary reply.
    let response = client
        .sum(futures_util::stream::iter((1..=10).map(num)))
        .await
        .expect("sum");
    assert_eq!(response.get_ref().value, 55);
    assert_eq!(response.metadata().get("x-request-encoding"), Some("zstd"));
    assert_eq!(response.compression(), Some(ZSTD));

    // Server streaming.
    let response = client.count_to(num(5)).await.expect("count_to");
    assert_eq!(response.metadata().get("x-request-encoding"), Some("zstd"));
    let mut numbers = response.into_inner();
    let mut count = Vec::new();
    while let Some(n) = numbers.message().await.expect("number") {
        assert!(numbers.last_message_compressed());
        count.push(n.value);
    }
    assert_eq!(count, [1, 2, 3, 4, 5]);
}

/// What a raw HTTP/2 call got back.
struct Raw {
    headers: http::HeaderMap,
    /// Each message: its compressed flag and payload.
    frames: Vec<(u8, Bytes)>,
    status: Option<Status>,
}

/// Sends `body` to `path` with `headers` over a fresh HTTP/2 connection and
/// reads everything back, splitting the body into gRPC messages.
async fn raw_call(
    addr: SocketAddr,
    path: &str,
    headers: &[(&'static str, &'static str)],
    body: Vec<u8>,
) -> Raw {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (send, conn) = h2::client::handshake(tcp).await.expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut request = http::Request::post(format!("http://localhost{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let mut ready = send.ready().await.expect("ready");
    let (response, mut stream) = ready
        .send_request(request.body(()).expect("request"), false)
        .expect("send");
    stream.send_data(Bytes::from(body), true).expect("data");
    let response = response.await.expect("response");
    let headers = response.headers().clone();
    if let Some(status) = Status::from_headers(&headers) {
        return Raw {
            headers,
            frames: Vec::new(),
            status: Some(status),
        };
    }
    let mut body = response.into_body();
    let mut bytes = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("chunk");
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    let trailers = body.trailers().await.expect("trailers");
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let flag = bytes.get_u8();
        let len = bytes.get_u32() as usize;
        frames.push((flag, bytes.split_to(len).freeze()));
    }
    Raw {
        headers,
        frames,
        status: trailers.as_ref().and_then(Status::from_headers),
    }
}

fn framed(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![flag];
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn zstd_frame(message: &Number) -> Vec<u8> {
    let mut packed = BytesMut::new();
    compression::compress(ZSTD, &message.encode_to_vec(), &mut packed).expect("compress");
    framed(1, &packed)
}

const DOUBLE: &str = "/svc.v1.Calculator/Double";

#[tokio::test]
async fn the_wire_carries_zstd_frames_both_ways() {
    let addr = start().await;
    let body = [zstd_frame(&num(21)), zstd_frame(&num(100))].concat();
    let raw = raw_call(
        addr,
        DOUBLE,
        &[("grpc-encoding", "zstd"), ("grpc-accept-encoding", "zstd")],
        body,
    )
    .await;
    assert_eq!(raw.status.as_ref().map(Status::code), Some(Code::Ok));
    assert_eq!(raw.headers["grpc-encoding"], "zstd");
    assert_eq!(raw.headers["grpc-accept-encoding"], "gzip,zstd");
    assert_eq!(raw.headers["x-request-encoding"], "zstd");
    let mut values = Vec::new();
    for (flag, payload) in &raw.frames {
        assert_eq!(*flag, 1);
        assert_eq!(payload[..4], ZSTD_MAGIC);
        let mut plain = BytesMut::new();
        compression::decompress(ZSTD, payload, &mut plain, 1 << 20).expect("zstd");
        values.push(Number::decode_slice(&plain).expect("number").value);
    }
    assert_eq!(values, [42, 200]);
}

#[tokio::test]
async fn a_client_without_zstd_gets_no_zstd() {
    let addr = start().await;
    // Takes gzip but not zstd: the handler asked for zstd, so the reply goes
    // uncompressed, as the spec says, not in some other encoding.
    let raw = raw_call(
        addr,
        DOUBLE,
        &[("grpc-encoding", "zstd"), ("grpc-accept-encoding", "gzip")],
        zstd_frame(&num(4)),
    )
    .await;
    assert_eq!(raw.status.as_ref().map(Status::code), Some(Code::Ok));
    assert!(raw.headers.get("grpc-encoding").is_none());
    assert_eq!(raw.frames.len(), 1);
    assert_eq!(raw.frames[0].0, 0);
    assert_eq!(Number::decode_slice(&raw.frames[0].1).unwrap().value, 8);
}

#[tokio::test]
async fn hostile_zstd_gets_the_right_status() {
    let addr = start().await;
    // 16 MiB of zeros in a few hundred bytes, against a 64 KiB limit.
    let mut bomb = BytesMut::new();
    compression::compress(ZSTD, &vec![0u8; 16 << 20], &mut bomb).expect("compress");
    assert!(bomb.len() < 4096, "{}", bomb.len());
    let zstd = [("grpc-encoding", "zstd")];
    let raw = raw_call(addr, DOUBLE, &zstd, framed(1, &bomb)).await;
    assert_eq!(
        raw.status.as_ref().map(Status::code),
        Some(Code::ResourceExhausted)
    );

    let mut corrupt = zstd_frame(&num(7));
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let raw = raw_call(addr, DOUBLE, &zstd, corrupt).await;
    assert_eq!(raw.status.as_ref().map(Status::code), Some(Code::Internal));

    // An encoding we do not have: UNIMPLEMENTED, saying what we do have.
    let raw = raw_call(
        addr,
        DOUBLE,
        &[("grpc-encoding", "snappy")],
        framed(1, b"x"),
    )
    .await;
    assert_eq!(
        raw.status.as_ref().map(Status::code),
        Some(Code::Unimplemented)
    );
    assert_eq!(raw.headers["grpc-accept-encoding"], "gzip,zstd");
}
