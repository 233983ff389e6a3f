//! Empty on purpose: cargo needs a target in every package. This package only
//! exists so `cargo fetch` downloads `protobuf-src`; see ../Cargo.toml.
