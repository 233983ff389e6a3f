#![deny(warnings)]
#![cfg(unix)]
//! Client keepalive against gRPC's C core as the server (Python grpcio's
//! `interop/python/interop_server.py`, as `.ci/run` installs it): a channel
//! that pings every 200 ms while idle breaks C core's default policy (no
//! pings without calls, at most one in 5 minutes, two strikes), is sent
//! GOAWAY `too_many_pings`, and doubles its keepalive time (gRFC A8); its
//! next connection still works. The server runs in a process group of its
//! own, bounded in time and killed by its id at the end.

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use rust_rpc::transport::{Body, Channel, Endpoint};
use tower::ServiceExt;

/// The grpcio server's process group, killed when dropped.
struct PythonServer(Child);

impl Drop for PythonServer {
    fn drop(&mut self) {
        let pid = self.0.id() as i32;
        // The group first (python may have children), then the leader.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_grpcio_server() -> (PythonServer, SocketAddr) {
    let port = free_port();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop/python/interop_server.py");
    let child = Command::new("python3")
        .arg(&script)
        .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .expect("python3 runs (.ci/run installs grpcio)");
    let server = PythonServer(child);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(60);
    while StdStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the grpcio server did not listen on {addr} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_core_sends_too_many_pings_and_the_channel_backs_off() {
    let (_server, addr) = start_grpcio_server();
    let endpoint = Endpoint::new(format!("http://{addr}"))
        .expect("uri")
        .keepalive_time(Some(Duration::from_millis(200)))
        .keepalive_while_idle(true);
    let channel: Channel = endpoint.connect().await.expect("connect to grpcio");
    assert_eq!(channel.keepalive_time(), Some(Duration::from_millis(200)));
    // Three pings out of policy take about 600 ms; give C core 10 s.
    let deadline = Instant::now() + Duration::from_secs(10);
    while channel.keepalive_time() == Some(Duration::from_millis(200)) {
        assert!(
            Instant::now() < deadline,
            "no GOAWAY too_many_pings from C core within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        channel.keepalive_time(),
        Some(Duration::from_millis(400)),
        "doubled once"
    );
    // The channel reconnects for its next call: an EmptyCall (an empty
    // message: 5 bytes of prefix) through it as a tower service.
    let request = http::Request::post("/grpc.testing.TestService/EmptyCall")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Body::from(bytes::Bytes::from_static(&[0, 0, 0, 0, 0])))
        .expect("a request");
    let response = tokio::time::timeout(Duration::from_secs(10), channel.oneshot(request))
        .await
        .expect("an answer in time")
        .expect("the call reaches C core on a new connection");
    assert_eq!(response.status(), http::StatusCode::OK);
    let collected = tokio::time::timeout(Duration::from_secs(10), response.into_body().collect())
        .await
        .expect("the body in time")
        .expect("the body");
    let trailers = collected.trailers().cloned().unwrap_or_default();
    assert_eq!(
        trailers.get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"0"[..]),
        "EmptyCall succeeded: {trailers:?}"
    );
}
