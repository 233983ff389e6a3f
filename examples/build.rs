//! Generates the examples' code from `proto/` with `rust-rpc-build`: parsed
//! in pure Rust, no protoc needed. All of it goes into one tree in OUT_DIR.

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
        ],
        &["proto"],
    )
}
