//! The demo (README's main command) runs every example to completion: in
//! process through `run_demo`, and as the `demo` binary.

#[tokio::test]
async fn run_demo_goes_through_every_example() {
    let mut out = Vec::new();
    rust_rpc_examples::run_demo(&mut out)
        .await
        .expect("the demo succeeds");
    let out = String::from_utf8(out).expect("UTF-8");
    for line in [
        "unary AddPerson: Ada Lovelace got id 1",
        "client-streaming Import: 4 added, 1 skipped",
        "SayHello(\"Ada\"): \"Hello, Ada!\"",
        "SayHello(\"\"): INVALID_ARGUMENT: name must not be empty",
        "GetUser(42): NOT_FOUND: no user with id 42",
        "Sum(5, 10) = 15",
        "PrimeFactors(360) streamed 6 factors: 2, 2, 2, 3, 3, 5",
        "  pushed: Arsenal 2-1 Chelsea (90') full time",
        "then DEADLINE_EXCEEDED",
        "Upload as \"thermo-7\" (x-device-id metadata): 10000 readings",
        "both received #2 bob: hi ada",
        "Get(db-password) as bob (reader): \"correct horse\", version 1, written by ada",
        "server-streaming List as bob: api-key, db-password",
        "Put as bob: PERMISSION_DENIED: bob is a reader; /vault.v1.Vault/Put takes a writer",
        "Get without a token: UNAUTHENTICATED: missing bearer token",
        "with a token of its own: version 2, written by ops",
        "Check(contacts.v1.Contacts): Some(Serving)",
        "after set_status: Some(NotServing)",
        "reflection lists 12 services",
        "calls on the server so far",
        "contacts.v1.Contacts is in: google/protobuf/timestamp.proto, contacts.proto",
        "server: shut down gracefully",
        "unknown enum value kept",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(!out.contains("Haaland\n  pushed"), "{out}");
    assert!(out.lines().count() < 80, "too long:\n{out}");
}

#[test]
fn the_demo_binary_exits_0() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_demo"))
        .output()
        .expect("demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "bidi Lookup(2, 3, 1): Grace Hopper",
        "both left; the server ended their streams",
        "server: shut down gracefully",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}
