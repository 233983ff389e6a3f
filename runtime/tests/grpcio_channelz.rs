#![deny(warnings)]
#![cfg(all(unix, feature = "channelz"))]
//! The channelz service against a client no one here wrote: PyPI's
//! `grpcio-channelz` stub (gRPC's C core underneath), run by
//! `interop/python/channelz_probe.py` with pages of 2, so that GetServers
//! and GetServerSockets page. It checks GetServer against the listing, and
//! NOT_FOUND for ids that cannot exist; this test checks the values it
//! prints. The probe runs in a process group of its own, bounded in time
//! and killed by its id at the end.
//!
//! `.ci/run` installs `grpcio-channelz` from
//! `interop/python/requirements.txt`.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rust_rpc::channelz::{Channelz, SocketAddress, SocketInfo, TlsSecurity};
use rust_rpc::transport::Server;
use support::serve_with;
use tokio::process::{Child, Command};

/// The probe's process group, killed when dropped.
struct Probe(Option<Child>);

impl Drop for Probe {
    fn drop(&mut self) {
        if let Some(pid) = self.0.as_ref().and_then(Child::id) {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
    }
}

fn tcp(addr: &str) -> SocketAddress {
    SocketAddress::Tcp(addr.parse().expect("an address"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_channelz_reads_servers_and_sockets() {
    let channelz = Channelz::new();
    let server = serve_with(
        Server::builder().add_service(channelz.service()),
        |_| async {},
    )
    .await;
    let main = channelz.add_server("main");
    let idle = channelz.add_server("idle");
    let _listener = main.add_listen_socket(SocketAddress::Tcp(server.addr));
    let sockets: Vec<_> = (0..3)
        .map(|i| {
            main.add_socket(SocketInfo {
                local: SocketAddress::Tcp(server.addr),
                remote: tcp(&format!("10.1.2.3:{}", 40000 + i)),
                remote_name: None,
                security: (i == 0).then(|| TlsSecurity {
                    standard_name: Some("TLS13_AES_128_GCM_SHA256".to_owned()),
                    local_certificate: Some(vec![1, 2, 3]),
                    remote_certificate: None,
                }),
            })
        })
        .collect();
    for _ in 0..5 {
        main.calls().call_started();
    }
    for ok in [true, true, true, false] {
        main.calls().call_ended(ok);
    }
    for _ in 0..7 {
        sockets[0].message_sent();
    }
    sockets[0].stream_started(false);
    sockets[0].stream_ended(true);

    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop/python/channelz_probe.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .args([
            "--port",
            &server.addr.port().to_string(),
            "--page-size",
            "2",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let mut probe = Probe(Some(child));
    let read = async {
        use tokio::io::AsyncReadExt;
        let (mut out, mut err) = (String::new(), String::new());
        let (mut o, mut e) = (stdout, stderr);
        let (a, b) = tokio::join!(o.read_to_string(&mut out), e.read_to_string(&mut err));
        a.expect("the probe's stdout");
        b.expect("the probe's stderr");
        let status = probe.0.as_mut().expect("the probe").wait().await;
        (status.expect("the probe's exit"), out, err)
    };
    let (status, out, err) = tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the probe finishes within 60 s");
    assert!(status.success(), "the probe failed: {err}\n{out}");

    let (m, i) = (main.id(), idle.id());
    let s: Vec<u64> = sockets.iter().map(|s| s.id()).collect();
    for want in [
        // Pages of two: both servers on one (the last), main's three
        // sockets on two, idle's none on one. (Ids 1 and 2 sort as JSON
        // keys do.)
        format!(r#""pages":{{"server_sockets":{{"{m}":2,"{i}":1}},"servers":1}}"#),
        format!(r#""ref":{{"name":"main","server_id":"{m}"}}"#),
        format!(r#""ref":{{"name":"idle","server_id":"{i}"}}"#),
        r#""calls_failed":"1","calls_started":"5","calls_succeeded":"3","last_call_started_timestamp":"#
            .to_owned(),
        format!(r#""server_sockets":{{"{m}":[{{"name":"#),
        format!(r#""{i}":[]}},"servers":"#),
        format!(r#""socket_id":"{}""#, s[2]),
        // 10.1.2.3 as 4 raw bytes (base64 in JSON), port 40000.
        r#""remote":{"tcpip_address":{"ip_address":"CgECAw==","port":40000}}"#.to_owned(),
        r#""messages_sent":"7""#.to_owned(),
        r#""security":{"tls":{"local_certificate":"AQID","standard_name":"TLS13_AES_128_GCM_SHA256"}}"#
            .to_owned(),
        r#""unknown":{"GetServer -1":"NOT_FOUND","GetServer 0":"NOT_FOUND","GetServer next":"NOT_FOUND","GetServerSockets -1":"NOT_FOUND","GetServerSockets 0":"NOT_FOUND","GetServerSockets next":"NOT_FOUND","GetSocket -1":"NOT_FOUND","GetSocket 0":"NOT_FOUND","GetSocket next":"NOT_FOUND"}"#
            .to_owned(),
    ] {
        assert!(out.contains(&want), "{want}\nnot in the probe's output:\n{out}");
    }
    drop(sockets);
    server.stop().await;
}
