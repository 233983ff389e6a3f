#![deny(warnings)]
//! Code generated from googleapis and protobuf's test protos by
//! `build-support/tests/real_protos.rs`, compiled as a crate of its own.

include!("generated/mod.rs");
