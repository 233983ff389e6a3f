#![deny(warnings)]
#![cfg(unix)]
//! gRPC over Unix domain sockets: a server on a socket file
//! (`Server::serve_unix`) and clients that reach it as `unix:<path>` and
//! `unix:///<path>`, with every kind of call, the socket file replaced when
//! stale and removed when the server stops.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use rust_rpc::transport::{Channel, Code, Endpoint, Server};
use support::{Calc, CalculatorClient, CalculatorServer, Text, num};
use tokio::sync::oneshot;

/// A socket path of this test's own, in a fresh directory.
fn socket_path(name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("rust-rpc-unix-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("grpc.sock");
    (dir, path)
}

async fn serve(
    path: &Path,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let (tx, rx) = oneshot::channel::<()>();
    let path = path.to_owned();
    let done = tokio::spawn(async move {
        Server::builder()
            .add_service(CalculatorServer::new(Calc))
            .serve_unix(&path, async {
                let _ = rx.await;
            })
            .await
    });
    (tx, done)
}

async fn connect(uri: &str) -> CalculatorClient {
    // The server binds on its task: wait until it does.
    for _ in 0..100 {
        if let Ok(channel) = Endpoint::new(uri).expect("a unix: URI").connect().await {
            return CalculatorClient::new(channel);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no server on {uri}");
}

#[tokio::test]
async fn every_kind_of_call_over_a_unix_socket() {
    let (dir, path) = socket_path("calls");
    let (stop, done) = serve(&path).await;
    for uri in [
        format!("unix:{}", path.display()),
        format!("unix://{}", path.display()),
    ] {
        let mut client = connect(&uri).await;
        let squared = client.square(num(9)).await.expect("unary");
        assert_eq!(squared.get_ref().value, 81, "{uri}");
        let counted: Vec<i64> = client
            .count_to(num(5))
            .await
            .expect("server streaming")
            .into_inner()
            .map(|n| n.expect("a number").value)
            .collect()
            .await;
        assert_eq!(counted, [1, 2, 3, 4, 5]);
        let sum = client
            .sum(futures_util::stream::iter((1..=10).map(num)))
            .await
            .expect("client streaming");
        assert_eq!(sum.get_ref().value, 55);
        let doubled: Vec<i64> = client
            .double(futures_util::stream::iter([num(1), num(21)]))
            .await
            .expect("bidi")
            .into_inner()
            .map(|n| n.expect("a number").value)
            .collect()
            .await;
        assert_eq!(doubled, [2, 42]);
        // The handler sees a peer without an address, and no TLS.
        #[allow(deprecated)]
        let seen = client.fail(Text::default()).await.expect("describe");
        let seen = seen.into_inner().value;
        for line in ["addr=false", "tls=false", "path=/svc.v1.Calculator/Fail"] {
            assert!(seen.lines().any(|l| l == line), "{line} not in\n{seen}");
        }
    }
    let _ = stop.send(());
    done.await.expect("the server task").expect("the server");
    assert!(!path.exists(), "the socket file is left behind");
    let _ = std::fs::remove_dir_all(dir);
}

/// A socket file left by a server that is gone is replaced; one a live
/// server listens on is not taken over.
#[tokio::test]
async fn a_stale_socket_file_is_replaced_and_a_live_one_is_kept() {
    let (dir, path) = socket_path("stale");
    // A stale file: bound, then its listener dropped (the file stays).
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    assert!(path.exists());
    let (stop, done) = serve(&path).await;
    let mut client = connect(&format!("unix:{}", path.display())).await;
    assert_eq!(
        client.square(num(3)).await.expect("unary").get_ref().value,
        9
    );
    // A second server on the same path finds it in use.
    let second = Server::builder()
        .add_service(CalculatorServer::new(Calc))
        .serve_unix(&path, std::future::ready(()))
        .await;
    assert_eq!(
        second.expect_err("the path is in use").kind(),
        std::io::ErrorKind::AddrInUse
    );
    // ...and the first still serves.
    assert_eq!(
        client.square(num(4)).await.expect("unary").get_ref().value,
        16
    );
    let _ = stop.send(());
    done.await.expect("the server task").expect("the server");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_missing_socket_is_unavailable_and_a_bad_uri_an_error() {
    let (dir, path) = socket_path("missing");
    let channel =
        Channel::new(Endpoint::new(format!("unix:{}", path.display())).expect("a unix: URI"));
    let err = CalculatorClient::new(channel)
        .square(num(1))
        .await
        .expect_err("nobody listens");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(Endpoint::new("unix:").is_err());
    let _ = std::fs::remove_dir_all(dir);
}
