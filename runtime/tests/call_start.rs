#![deny(warnings)]
//! A started call is on the wire. A client-streaming or bidi call reads its
//! request stream only once the call's HEADERS have been written to the
//! connection, so a program that cancels the call from inside that stream
//! (the interop case `cancel_after_begin`) and exits at once has still told
//! the server about the call: the server sees HEADERS, then RST_STREAM.
//!
//! The server here is a few lines over TCP that count the HEADERS frames
//! each connection brings; the client runs in a runtime of its own that is
//! shut down the moment the call returns, as a process that exits would be.

pub mod generated {
    include!("../../testdata/services/expected/mod.rs");
}

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::task::Poll;
use std::time::Duration;

use generated::svc::v1::{CalculatorClient, Number};
use rust_rpc::transport::Endpoint;
use rust_rpc::transport::{Channel, Code, Request, Stream};

/// Reads one connection's frames until EOF (or 5 s), answering the
/// client's SETTINGS, and reports how many HEADERS frames came.
fn count_headers(mut tcp: TcpStream) -> usize {
    tcp.set_read_timeout(Some(Duration::from_secs(5))).ok();
    // Our SETTINGS (empty), so the client's connection is usable.
    let _ = tcp.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut headers = 0;
    let mut at = 24; // past the client's preface
    loop {
        match tcp.read(&mut chunk) {
            Ok(0) | Err(_) => return headers,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while buf.len() >= at + 9 {
            let len = u32::from_be_bytes([0, buf[at], buf[at + 1], buf[at + 2]]) as usize;
            if buf.len() < at + 9 + len {
                break;
            }
            match (buf[at + 3], buf[at + 4] & 1) {
                (0x1, _) => headers += 1,
                // SETTINGS, not an ACK: acknowledge it.
                (0x4, 0) => {
                    let _ = tcp.write_all(&[0, 0, 0, 4, 1, 0, 0, 0, 0]);
                }
                _ => {}
            }
            at += 9 + len;
        }
    }
}

type Numbers = std::pin::Pin<Box<dyn Stream<Item = Number> + Send>>;

/// One client-streaming call whose request stream cancels the call the
/// first time it is polled, in a runtime dropped as soon as the call
/// returns. Returns the call's status code.
fn cancel_after_begin(addr: std::net::SocketAddr) -> Code {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let code = rt.block_on(async move {
        let channel = Channel::from_uri(format!("http://{addr}")).expect("uri");
        let mut client = CalculatorClient::new(channel);
        let placeholder: Numbers = Box::pin(futures_util::stream::empty());
        let mut request = Request::new(placeholder);
        let cancel = request.cancel_handle();
        *request.get_mut() = Box::pin(futures_util::stream::poll_fn(move |_| {
            cancel.cancel();
            Poll::<Option<Number>>::Pending
        }));
        match tokio::time::timeout(Duration::from_secs(5), client.sum(request)).await {
            Ok(Ok(_)) => Code::Ok,
            Ok(Err(status)) => status.code(),
            Err(_) => Code::DeadlineExceeded,
        }
    });
    // What a process that returns from main does: nothing more runs.
    drop(rt);
    code
}

#[test]
fn a_call_cancelled_as_it_starts_has_reached_the_server() {
    const RUNS: usize = 200;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let (seen_tx, seen) = mpsc::channel();
    std::thread::spawn(move || {
        for tcp in listener.incoming().take(RUNS) {
            let Ok(tcp) = tcp else { return };
            let seen_tx = seen_tx.clone();
            std::thread::spawn(move || {
                let _ = seen_tx.send(count_headers(tcp));
            });
        }
    });
    let mut missing = 0;
    for run in 0..RUNS {
        let code = cancel_after_begin(addr);
        assert_eq!(code, Code::Cancelled, "run {run}");
        let headers = seen
            .recv_timeout(Duration::from_secs(10))
            .expect("the server saw the connection");
        if headers == 0 {
            missing += 1;
        }
    }
    assert_eq!(
        missing, 0,
        "{missing} of {RUNS} cancelled calls never reached the server"
    );
}

/// A server that gives streams no send window (SETTINGS_INITIAL_WINDOW_SIZE
/// 0) and answers every call at once, trailers-only with OK: the call's
/// HEADERS are out, but h2 grants the stream no capacity to say so. The
/// response head is the proof then, and the call must not wait for window.
fn answer_without_window(mut tcp: TcpStream) {
    tcp.set_read_timeout(Some(Duration::from_secs(5))).ok();
    // SETTINGS: INITIAL_WINDOW_SIZE (0x4) = 0.
    let _ = tcp.write_all(&[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    // :status 200 (static 8); content-type (static name 31) application/grpc;
    // grpc-status 0.
    let mut block = vec![0x88, 0x0f, 0x10, 16];
    block.extend_from_slice(b"application/grpc");
    block.extend_from_slice(&[0x00, 11]);
    block.extend_from_slice(b"grpc-status");
    block.extend_from_slice(&[1, b'0']);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut at = 24;
    loop {
        match tcp.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while buf.len() >= at + 9 {
            let len = u32::from_be_bytes([0, buf[at], buf[at + 1], buf[at + 2]]) as usize;
            if buf.len() < at + 9 + len {
                break;
            }
            let stream = &buf[at + 5..at + 9];
            match (buf[at + 3], buf[at + 4] & 1) {
                (0x1, _) => {
                    let mut reply = vec![0, 0, block.len() as u8, 0x1, 0x5];
                    reply.extend_from_slice(stream);
                    reply.extend_from_slice(&block);
                    let _ = tcp.write_all(&reply);
                }
                (0x4, 0) => {
                    let _ = tcp.write_all(&[0, 0, 0, 4, 1, 0, 0, 0, 0]);
                }
                _ => {}
            }
            at += 9 + len;
        }
    }
}

#[tokio::test]
async fn a_call_answered_before_it_has_send_window_goes_on() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        if let Some(Ok(tcp)) = listener.incoming().next() {
            answer_without_window(tcp);
        }
    });
    let channel = Endpoint::new(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connects");
    // Time for the server's SETTINGS to arrive and apply: streams opened
    // from now on start with no window.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut client = CalculatorClient::new(channel);
    let mut request = Request::new(futures_util::stream::pending::<Number>());
    request.set_timeout(Duration::from_secs(5));
    let response = client.double(request).await.expect("the call is answered");
    let mut stream = response.into_inner();
    assert!(stream.message().await.expect("ends OK").is_none());
}

/// A call whose deadline is zero fails with DEADLINE_EXCEEDED and is never
/// sent: its channel does not even connect.
#[tokio::test]
async fn a_call_with_no_time_left_is_not_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("address");
    let channel = Channel::from_uri(format!("http://{addr}")).expect("uri");
    let mut client = CalculatorClient::new(channel);
    let mut request = Request::new(Number {
        value: 2,
        ..Default::default()
    });
    request.set_timeout(Duration::ZERO);
    let status = client.square(request).await.expect_err("no time to run");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    let numbers = futures_util::stream::iter([Number::default()]);
    let mut request = Request::new(numbers);
    request.set_timeout(Duration::ZERO);
    let status = client.sum(request).await.expect_err("no time to run");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        listener.accept().is_err(),
        "a call with no time left connected to the server"
    );
}
