#![cfg(unix)]
//! Reflection of an example service with imports, against a client no one
//! here wrote: PyPI grpcio-reflection's `ProtoReflectionDescriptorDatabase`
//! (`interop/python/reflection_probe.py`, as `.ci/run` installs it) must
//! resolve every method and message type of `contacts.v1.Contacts`, whose
//! file imports `google/protobuf/timestamp.proto`. The probe runs in a
//! process group of its own, bounded in time, killed by its id at the end.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rust_rpc::transport::Server;
use rust_rpc_examples::LocalServer;
use rust_rpc_examples::contacts::{Book, ContactsServer};

#[tokio::test]
async fn grpcio_reflection_resolves_an_example_service_and_its_imports() {
    let server = LocalServer::start(
        Server::builder()
            .add_service(ContactsServer::new(Book::default()))
            .reflection(),
    )
    .await
    .expect("a server");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop/python/reflection_probe.py");
    let mut child = tokio::process::Command::new("python3")
        .arg(&script)
        .args(["--port", &server.addr().port().to_string()])
        .args(["--expect-service", "contacts.v1.Contacts"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs (.ci/run installs grpcio-reflection)");
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        let (out, err, status) = tokio::join!(read_all(stdout), read_all(stderr), child.wait());
        (out, err, status)
    })
    .await;
    if let Some(pid) = pid {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
    }
    let (out, err, status) = outcome.expect("the probe finishes within 60 s");
    let status = status.expect("the probe's exit status");
    assert!(status.success(), "the probe failed:\n{out}\n{err}");
    for line in [
        "service contacts.v1.Contacts",
        "method contacts.v1.Contacts.AddPerson contacts.v1.Person -> contacts.v1.Person",
        // A field of type google.protobuf.Timestamp: the import resolved.
        "message google.protobuf.Timestamp",
        "unknown symbol NOT_FOUND",
        "extensions of an unknown type NOT_FOUND",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing {line:?} in:\n{out}"
        );
    }
    server.shutdown().await.expect("a clean shutdown");
}

async fn read_all(mut pipe: impl tokio::io::AsyncRead + Unpin) -> String {
    let mut bytes = Vec::new();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut pipe, &mut bytes).await;
    String::from_utf8_lossy(&bytes).into_owned()
}
