//! Generates the conformance suite's messages with rust-rpc's own generator.
//!
//! The `.proto` files come from the protobuf source that the crates.io
//! package `protobuf-src` carries; `interop/conformance/setup.sh` copies them
//! to `~/.cache/rust-rpc/protobuf-27.2/protos` (or `$RUST_RPC_CONFORMANCE_PROTOS`).
//! Without them `conformance-testee` still builds, and says what to run.

use std::env;
use std::path::{Path, PathBuf};

const CONFORMANCE_PROTOS: &[&str] = &[
    "conformance/conformance.proto",
    "google/protobuf/test_messages_proto2.proto",
    "google/protobuf/test_messages_proto3.proto",
    "conformance/test_protos/test_messages_edition2023.proto",
    "editions/golden/test_messages_proto2_editions.proto",
    "editions/golden/test_messages_proto3_editions.proto",
];

fn protos_dir() -> Option<PathBuf> {
    if let Some(dir) = env::var_os("RUST_RPC_CONFORMANCE_PROTOS") {
        return Some(PathBuf::from(dir));
    }
    let cache = match env::var_os("RUST_RPC_CACHE") {
        Some(c) => PathBuf::from(c),
        None => PathBuf::from(env::var_os("HOME")?).join(".cache/rust-rpc"),
    };
    Some(cache.join("protobuf-27.2/protos"))
}

fn main() {
    generate_interop();
    println!("cargo:rustc-check-cfg=cfg(conformance_protos)");
    println!("cargo:rerun-if-env-changed=RUST_RPC_CONFORMANCE_PROTOS");
    println!("cargo:rerun-if-env-changed=RUST_RPC_CACHE");
    let Some(dir) = protos_dir().filter(|d| CONFORMANCE_PROTOS.iter().all(|p| d.join(p).is_file()))
    else {
        println!(
            "cargo:warning=conformance .proto files not found; run interop/conformance/setup.sh to build conformance-testee fully"
        );
        return;
    };
    for p in CONFORMANCE_PROTOS {
        println!("cargo:rerun-if-changed={}", dir.join(p).display());
    }
    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("conformance");
    std::fs::create_dir_all(&out).expect("create OUT_DIR/conformance");
    if let Err(e) = generate(&dir, &out) {
        panic!("generating the conformance messages failed: {e}");
    }
    println!("cargo:rustc-cfg=conformance_protos");
}

fn generate(dir: &Path, out: &Path) -> Result<(), String> {
    let protoc = protoc_bin_vendored::protoc_bin_path().map_err(|e| e.to_string())?;
    let include = protoc_bin_vendored::include_path().map_err(|e| e.to_string())?;
    let files: Vec<String> = CONFORMANCE_PROTOS.iter().map(|s| (*s).to_owned()).collect();
    let generated = protoc_gen_rust_rpc::generate_with_protoc(
        &protoc,
        &[dir.to_path_buf(), include],
        &files,
        &protoc_gen_rust_rpc::Options::default(),
    )
    .map_err(|e| e.to_string())?;
    for f in generated {
        std::fs::write(out.join(&f.name), f.content).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The gRPC interop suite's services (`grpc.testing`), written for this repo
/// from the public spec and kept in `interop/proto`.
fn generate_interop() {
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let proto_dir = manifest.join("proto");
    let files: Vec<String> = [
        "grpc/testing/empty.proto",
        "grpc/testing/messages.proto",
        "grpc/testing/test.proto",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for f in &files {
        println!("cargo:rerun-if-changed={}", proto_dir.join(f).display());
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("interop");
    std::fs::create_dir_all(&out).expect("create OUT_DIR/interop");
    let protoc = protoc_bin_vendored::protoc_bin_path().expect("protoc-bin-vendored has a protoc");
    let include =
        protoc_bin_vendored::include_path().expect("protoc-bin-vendored has the well-known types");
    let generated = protoc_gen_rust_rpc::generate_with_protoc(
        &protoc,
        &[proto_dir, include],
        &files,
        &protoc_gen_rust_rpc::Options::default(),
    )
    .unwrap_or_else(|e| panic!("generating the interop services failed: {e}"));
    for f in generated {
        std::fs::write(out.join(&f.name), f.content).expect("write generated code");
    }
}
