#![deny(warnings)]
#![cfg(all(unix, feature = "health"))]
//! The health service against a client no one here wrote: PyPI's
//! `grpcio-health-checking` stub (gRPC's C core underneath, as `.ci/run`
//! installs it), run by `interop/python/health_probe.py`: Check of the
//! server and of a hosted service, NOT_FOUND for an unknown one, List, and
//! a Watch that sees SERVING and then the NOT_SERVING this test sets when
//! the probe says it is watching. The probe runs in a process group of its
//! own, bounded in time and killed by its id at the end.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rust_rpc::health::HealthReporter;
use rust_rpc::transport::Server;
use support::serve;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const CALC: &str = "svc.v1.Calculator";

/// The probe's process group, killed when dropped.
struct Probe(Child);

impl Drop for Probe {
    fn drop(&mut self) {
        if let Some(pid) = self.0.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
        let _ = self.0.start_kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_health_checking_checks_lists_and_watches_a_change() {
    let health = HealthReporter::new();
    let server = serve(Server::builder().health(&health)).await;
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop/python/health_probe.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .args(["--port", &server.addr.port().to_string(), "--service", CALC])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .expect("python3 runs (.ci/run installs grpcio-health-checking)");
    let stdout = child.stdout.take().expect("the probe's stdout");
    let mut probe = Probe(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("the probe's output") {
            if line == "watch SERVING" {
                health.set_not_serving(CALC);
            }
            seen.push(line);
        }
        probe.0.wait().await.expect("the probe's exit")
    })
    .await;
    let status = outcome.unwrap_or_else(|_| panic!("the probe did not finish in 60 s: {seen:?}"));
    assert!(status.success(), "the probe failed: {seen:?}");
    assert_eq!(
        seen,
        [
            "check '' SERVING",
            "check svc.v1.Calculator SERVING",
            "check no.such.Service NOT_FOUND",
            "list '' grpc.health.v1.Health svc.v1.Calculator",
            "watch SERVING",
            "watch NOT_SERVING",
        ]
    );
    server.stop().await;
}
