//! Generates the examples' code from `proto/` with `rust-rpc-build`: parsed
//! in pure Rust, no protoc needed. All of it goes into one tree in OUT_DIR.

use std::path::PathBuf;

fn main() -> Result<(), rust_rpc_build::Error> {
    rust_rpc_build::configure().compile(
        &[
            "proto/contacts.proto",
            "proto/greeter.proto",
            "proto/users.proto",
            "proto/calculator.proto",
            "proto/scores.proto",
            "proto/telemetry.proto",
            "proto/chat.proto",
            "proto/vault.proto",
        ],
        &["proto"],
    )?;
    // The greeter once more, split in two: its messages alone, and its
    // services alone (`build_messages(false)`), to be mounted side by side
    // in one module (tests/split.rs).
    let out = std::env::var_os("OUT_DIR")
        .map(PathBuf::from)
        .ok_or_else(|| rust_rpc_build::Error::new("", "cargo sets OUT_DIR for build scripts"))?;
    rust_rpc_build::configure()
        .build_client(false)
        .build_server(false)
        .out_dir(out.join("split/messages"))
        .compile(&["proto/greeter.proto"], &["proto"])?;
    rust_rpc_build::configure()
        .build_messages(false)
        .out_dir(out.join("split/services"))
        .compile(&["proto/greeter.proto"], &["proto"])
}
