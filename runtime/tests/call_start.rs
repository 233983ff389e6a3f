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
