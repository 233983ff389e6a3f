#![cfg(unix)]
//! The `rust-rpc` command line end to end: the built binary against the
//! example services on loopback (every kind of call, through reflection
//! and from `.proto` files), and against grpcio's interop server (Python,
//! with grpcio-reflection) for every kind of call. Every child process runs
//! bounded in time and is killed by its id.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

// Shared with the runtime's TLS tests; not every helper is used here.
#[allow(dead_code)]
#[path = "../../runtime/tests/support/certs.rs"]
mod certs;

use rust_rpc::transport::Server;
use rust_rpc::transport::tls::{ServerTls, ServerTlsConfig};
use rust_rpc_examples::LocalServer;
use rust_rpc_examples::calculator::{Arithmetic, CalculatorServer};
use rust_rpc_examples::chat::{ChatRoomServer, Room};
use rust_rpc_examples::contacts::{Book, ContactsServer};
use rust_rpc_examples::greeter::{FriendlyGreeter, GreeterServer};
use rust_rpc_examples::telemetry::{Collector, TelemetryServer};
use tokio::io::AsyncWriteExt;

/// What a run of the binary printed, and its exit status.
#[derive(Debug)]
struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

/// Runs `rust-rpc` with `args` (and `stdin`), for at most 30 seconds.
async fn rust_rpc(args: &[&str], stdin: Option<&str>) -> Run {
    rust_rpc_in(&workspace(), args, stdin).await
}

/// The workspace root: README paths are relative to it.
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `rust-rpc` in directory `dir`.
async fn rust_rpc_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_rust-rpc"))
        .current_dir(dir)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the rust-rpc binary starts");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).await.expect("stdin");
    }
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("rust-rpc {args:?} did not finish within 30 s"))
        .expect("rust-rpc's output");
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    }
}

fn examples_server(reflection: bool) -> Server {
    let server = Server::builder()
        .add_service(GreeterServer::new(FriendlyGreeter))
        .add_service(CalculatorServer::new(Arithmetic))
        .add_service(TelemetryServer::new(Collector))
        .add_service(ChatRoomServer::new(Room::new()))
        .add_service(ContactsServer::new(Book::default()));
    if reflection {
        server.reflection()
    } else {
        server
    }
}

fn protos() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/proto")
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_describes_and_calls_every_kind_through_reflection() {
    let server = LocalServer::start(examples_server(true))
        .await
        .expect("a server");
    let url = server.url();

    let run = rust_rpc(&["list", &url], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    for service in [
        "calculator.v1.Calculator",
        "chat.v1.ChatRoom",
        "contacts.v1.Contacts",
        "greeter.v1.Greeter",
        "grpc.reflection.v1.ServerReflection",
        "telemetry.v1.Telemetry",
    ] {
        assert!(
            run.stdout.lines().any(|l| l == service),
            "{service} in {run:?}"
        );
    }

    let run = rust_rpc(&["list", &url, "calculator.v1.Calculator"], None).await;
    assert_eq!(
        run.stdout, "calculator.v1.Calculator.Sum\ncalculator.v1.Calculator.PrimeFactors\n",
        "{run:?}"
    );

    let run = rust_rpc(
        &["describe", &url, "calculator.v1.Calculator/PrimeFactors"],
        None,
    )
    .await;
    assert_eq!(
        run.stdout,
        "calculator.v1.Calculator.PrimeFactors is a method:\n\
         rpc PrimeFactors(.calculator.v1.FactorRequest) returns (stream .calculator.v1.Factor);\n",
        "{run:?}"
    );
    let run = rust_rpc(&["describe", &url, "calculator.v1.SumRequest"], None).await;
    assert_eq!(
        run.stdout,
        "calculator.v1.SumRequest is a message:\nmessage SumRequest {\n  int64 a = 1;\n  int64 b = 2;\n}\n",
        "{run:?}"
    );

    // Unary, flags after the positionals; 64-bit integers are JSON strings.
    let run = rust_rpc(
        &[
            "call",
            &url,
            "calculator.v1.Calculator/Sum",
            "-d",
            r#"{"a": 2, "b": "40"}"#,
        ],
        None,
    )
    .await;
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "{\"result\":\"42\"}\n"),
        "{run:?}"
    );
    // Server streaming: one line per response, flags before the positionals.
    let run = rust_rpc(
        &[
            "-d",
            r#"{"number": 60}"#,
            "call",
            &url,
            "calculator.v1.Calculator.PrimeFactors",
        ],
        None,
    )
    .await;
    assert_eq!(
        run.stdout, "{\"prime\":\"2\"}\n{\"prime\":\"2\"}\n{\"prime\":\"3\"}\n{\"prime\":\"5\"}\n",
        "{run:?}"
    );
    // Client streaming from stdin, one object per message, with metadata.
    let readings = "{\"timestampMs\": 1, \"value\": 2.5}\n{\"timestampMs\": 2, \"value\": 4.5}\n";
    let run = rust_rpc(
        &[
            "call",
            &url,
            "telemetry.v1.Telemetry/Upload",
            "-d",
            "@-",
            "-H",
            "x-device-id: probe-7",
        ],
        Some(readings),
    )
    .await;
    assert_eq!(
        run.stdout,
        "{\"deviceId\":\"probe-7\",\"count\":\"2\",\"min\":2.5,\"max\":4.5,\"mean\":3.5,\
         \"firstTimestampMs\":\"1\",\"lastTimestampMs\":\"2\"}\n",
        "{run:?}"
    );
    // Bidi: both messages come back to their sender.
    let dir = std::env::temp_dir().join(format!("rust-rpc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let file = dir.join("chat.json");
    std::fs::write(&file, r#"{"text": "hi"} {"text": "bye"}"#).expect("write");
    let data = format!("@{}", file.display());
    let run = rust_rpc(
        &[
            "call",
            &url,
            "chat.v1.ChatRoom/Chat",
            "-d",
            &data,
            "--header",
            "x-chat-user: ada",
        ],
        None,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(run.code, 0, "{run:?}");
    let texts: Vec<_> = run
        .stdout
        .lines()
        .filter(|l| l.contains("\"text\""))
        .collect();
    assert_eq!(texts.len(), 2, "{run:?}");
    assert!(
        texts[0].contains("\"user\":\"ada\",\"text\":\"hi\"")
            && texts[1].contains("\"user\":\"ada\",\"text\":\"bye\""),
        "{run:?}"
    );

    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_say_what_and_exit_with_the_status_code() {
    let server = LocalServer::start(examples_server(true))
        .await
        .expect("a server");
    let url = server.url();

    let run = rust_rpc(&["call", &url, "calculator.v1.Calculator/Divide"], None).await;
    assert_eq!(run.code, 5, "{run:?}");
    assert!(
        run.stderr.contains(
            "no method Divide in service calculator.v1.Calculator; methods are: Sum, PrimeFactors"
        ),
        "{run:?}"
    );
    let run = rust_rpc(&["call", &url, "nope.v1.Nope/Call"], None).await;
    assert_eq!(run.code, 5, "{run:?}");
    // The server's own status: an empty name is INVALID_ARGUMENT.
    let run = rust_rpc(
        &["call", &url, "greeter.v1.Greeter/SayHello", "-d", "{}"],
        None,
    )
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .contains("INVALID_ARGUMENT: name must not be empty"),
        "{run:?}"
    );
    // A request that is not the method's input.
    let run = rust_rpc(
        &[
            "call",
            &url,
            "greeter.v1.Greeter/SayHello",
            "-d",
            r#"{"nmae": "x"}"#,
        ],
        None,
    )
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("no field named \"nmae\""), "{run:?}");
    // A usage error.
    let run = rust_rpc(&["call", &url], None).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("call needs SERVICE/METHOD"), "{run:?}");

    let addr = server.addr();
    server.shutdown().await.expect("shutdown");
    let run = rust_rpc(&["list", &format!("http://{addr}")], None).await;
    assert_eq!(run.code, 14, "{run:?}");
    assert!(
        run.stderr.contains(&format!("cannot connect to {addr}")),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn proto_files_stand_in_for_a_server_without_reflection() {
    let server = LocalServer::start(examples_server(false))
        .await
        .expect("a server");
    let url = server.url();
    let run = rust_rpc(&["list", &url], None).await;
    assert_eq!(run.code, 12, "{run:?}");
    assert!(
        run.stderr
            .contains("no reflection service; name its .proto files with --proto"),
        "{run:?}"
    );

    let include = protos();
    let include = include.to_str().expect("a UTF-8 path");
    let run = rust_rpc(
        &[
            "call",
            &url,
            "greeter.v1.Greeter/SayHello",
            "-d",
            r#"{"name": "Ada"}"#,
            "--proto",
            "greeter.proto",
            "-I",
            include,
        ],
        None,
    )
    .await;
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "{\"message\":\"Hello, Ada!\"}\n"),
        "{run:?}"
    );
    let run = rust_rpc(
        &["list", &url, "--proto", "contacts.proto", "-I", include],
        None,
    )
    .await;
    assert_eq!(run.stdout, "contacts.v1.Contacts\n", "{run:?}");
    server.shutdown().await.expect("shutdown");
}

/// grpcio's interop server (Python) with reflection on, on a free port.
struct PythonServer {
    child: tokio::process::Child,
    port: u16,
}

impl PythonServer {
    async fn start() -> PythonServer {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().expect("its address").port()
        };
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../interop/python/interop_server.py");
        let child = tokio::process::Command::new("python3")
            .arg(&script)
            .args([
                "--port",
                &port.to_string(),
                "--host",
                "127.0.0.1",
                "--reflection",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs (.ci/run installs grpcio and grpcio-reflection)");
        // Ready when it accepts connections.
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return PythonServer { child, port };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the Python interop server did not listen on {port} within 30 s");
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_every_kind_on_grpcio_through_its_reflection() {
    let python = PythonServer::start().await;
    let url = format!("http://127.0.0.1:{}", python.port);
    let run = rust_rpc(&["list", &url, "grpc.testing.TestService"], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    for method in [
        "EmptyCall",
        "UnaryCall",
        "StreamingOutputCall",
        "StreamingInputCall",
        "FullDuplexCall",
    ] {
        assert!(
            run.stdout
                .contains(&format!("grpc.testing.TestService.{method}\n")),
            "{method}: {run:?}"
        );
    }
    let run = rust_rpc(&["call", &url, "grpc.testing.TestService/EmptyCall"], None).await;
    assert_eq!((run.code, run.stdout.as_str()), (0, "{}\n"), "{run:?}");
    let run = rust_rpc(
        &[
            "call",
            &url,
            "grpc.testing.TestService/UnaryCall",
            "-d",
            r#"{"responseSize": 3, "fillUsername": false}"#,
        ],
        None,
    )
    .await;
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "{\"payload\":{\"body\":\"AAAA\"}}\n"),
        "{run:?}"
    );
    let run = rust_rpc(
        &[
            "call",
            &url,
            "grpc.testing.TestService/StreamingOutputCall",
            "-d",
            r#"{"responseParameters": [{"size": 1}, {"size": 2}]}"#,
        ],
        None,
    )
    .await;
    assert_eq!(
        run.stdout, "{\"payload\":{\"body\":\"AA==\"}}\n{\"payload\":{\"body\":\"AAA=\"}}\n",
        "{run:?}"
    );
    let run = rust_rpc(
        &[
            "call",
            &url,
            "grpc.testing.TestService/StreamingInputCall",
            "-d",
            r#"{"payload": {"body": "AAAA"}} {"payload": {"body": "AA=="}}"#,
        ],
        None,
    )
    .await;
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "{\"aggregatedPayloadSize\":4}\n"),
        "{run:?}"
    );
    let run = rust_rpc(
        &[
            "call",
            &url,
            "grpc.testing.TestService/FullDuplexCall",
            "-d",
            r#"{"responseParameters": [{"size": 1}]} {"responseParameters": [{"size": 2}]}"#,
        ],
        None,
    )
    .await;
    assert_eq!(
        run.stdout, "{\"payload\":{\"body\":\"AA==\"}}\n{\"payload\":{\"body\":\"AAA=\"}}\n",
        "{run:?}"
    );
    // The interop service's own failure: the status it is asked for.
    let run = rust_rpc(
        &[
            "call",
            &url,
            "grpc.testing.TestService/UnaryCall",
            "-d",
            r#"{"responseStatus": {"code": 9, "message": "told to"}}"#,
        ],
        None,
    )
    .await;
    assert_eq!(run.code, 9, "{run:?}");
    assert!(
        run.stderr.contains("FAILED_PRECONDITION: told to"),
        "{run:?}"
    );
}

/// Splits a README command line into words: spaces separate, single quotes
/// group (the only quoting the README uses).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut started) = (false, false);
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                started = true;
            }
            ' ' if !quoted => {
                if started {
                    out.push(std::mem::take(&mut word));
                }
                started = false;
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(word);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_lines_run_as_shown() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let section = readme
        .split("## Command-line client")
        .nth(1)
        .expect("README has a Command-line client section");
    let block = section
        .split("```console\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a console block in the section");
    let server = LocalServer::start(examples_server(true))
        .await
        .expect("a server");
    let url = server.url();
    let mut commands = 0;
    for chunk in block.split("$ ").filter(|c| !c.is_empty()) {
        let (line, expected) = chunk.split_once('\n').unwrap_or((chunk, ""));
        let line = line.replace("http://127.0.0.1:50051", &url);
        let words = words(&line);
        assert_eq!(
            words.first().map(String::as_str),
            Some("rust-rpc"),
            "{line}"
        );
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        let run = rust_rpc(&args, None).await;
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, expected),
            "{line}: {run:?}"
        );
        commands += 1;
    }
    assert!(
        commands >= 7,
        "only {commands} commands in the README block"
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_over_tls_and_mtls_with_the_certificates_given() {
    let ca = certs::Ca::new("cli test CA");
    let clients = certs::Ca::new("cli test client CA");
    let config =
        ServerTlsConfig::new(ca.server(&["localhost"])).client_ca_root(clients.certificate());
    let tls = ServerTls::new(config).expect("a server TLS config");
    let server = LocalServer::start(examples_server(true).tls(tls))
        .await
        .expect("a server");
    let url = format!("https://localhost:{}", server.addr().port());
    let dir = std::env::temp_dir().join(format!("rust-rpc-cli-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let (cert, key) = clients.client_pem("alice");
    let files = [("ca.pem", ca.pem()), ("cert.pem", cert), ("key.pem", key)];
    for (name, pem) in &files {
        std::fs::write(dir.join(name), pem).expect("write a PEM");
    }
    let path = |name: &str| dir.join(name).to_str().expect("a UTF-8 path").to_owned();
    let (ca_file, cert_file, key_file) = (path("ca.pem"), path("cert.pem"), path("key.pem"));
    let sum = ["calculator.v1.Calculator/Sum", "-d", r#"{"a": 1, "b": 2}"#];

    let mtls = [
        &["call", &url][..],
        &sum,
        &[
            "--cacert", &ca_file, "--cert", &cert_file, "--key", &key_file,
        ],
    ]
    .concat();
    let run = rust_rpc(&mtls, None).await;
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "{\"result\":\"3\"}\n"),
        "{run:?}"
    );
    // --insecure skips the check of the server's certificate, not mTLS.
    let insecure = [
        &["call", &url][..],
        &sum,
        &["--insecure", "--cert", &cert_file, "--key", &key_file],
    ]
    .concat();
    let run = rust_rpc(&insecure, None).await;
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "{\"result\":\"3\"}\n"),
        "{run:?}"
    );
    // Without the CA, the server's certificate is not trusted.
    let untrusted = [
        &["call", &url][..],
        &sum,
        &["--cert", &cert_file, "--key", &key_file],
    ]
    .concat();
    let run = rust_rpc(&untrusted, None).await;
    assert_eq!(run.code, 14, "{run:?}");
    // Without a client certificate, the server refuses the connection.
    let anonymous = [&["call", &url][..], &sum, &["--cacert", &ca_file]].concat();
    let run = rust_rpc(&anonymous, None).await;
    assert_ne!(run.code, 0, "{run:?}");
    let _ = std::fs::remove_dir_all(&dir);
    server.shutdown().await.expect("shutdown");
}
