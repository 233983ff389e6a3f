//! Generates the benchmark messages twice: with rust-rpc's generator into
//! `$OUT_DIR/rust_rpc/` and with prost-build into `$OUT_DIR/prost/`, both
//! through the protoc that the crates.io package `protoc-bin-vendored` ships
//! (`codec-bench`), plus pbjson-build's serde impls for the prost types
//! (`codec-bench --format json`). For `rpc-bench`, the interop `grpc.testing.TestService`
//! (proto/grpc/testing, the same files as interop/proto) is generated with
//! rust-rpc's generator into `$OUT_DIR/rpc_rust_rpc/` and with
//! tonic-prost-build into `$OUT_DIR/rpc_tonic/`.

use std::env;
use std::path::PathBuf;

const FILES: &[&str] = &["bench.proto", "grpc/testing/messages.proto"];

/// The TestService and everything it refers to, for `rpc-bench`.
const RPC_FILES: &[&str] = &[
    "grpc/testing/empty.proto",
    "grpc/testing/messages.proto",
    "grpc/testing/test.proto",
];

fn main() {
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let proto_dir = manifest.join("proto");
    for f in FILES.iter().chain(RPC_FILES) {
        println!("cargo:rerun-if-changed={}", proto_dir.join(f).display());
    }
    let protoc = protoc_bin_vendored::protoc_bin_path()
        .expect("protoc-bin-vendored has a protoc for this platform");
    let include =
        protoc_bin_vendored::include_path().expect("protoc-bin-vendored has the well-known types");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    // rust-rpc
    generate_ours(&protoc, &proto_dir, &include, FILES, &out.join("rust_rpc"));
    generate_ours(
        &protoc,
        &proto_dir,
        &include,
        RPC_FILES,
        &out.join("rpc_rust_rpc"),
    );

    // prost (comparison only)
    let theirs = out.join("prost");
    std::fs::create_dir_all(&theirs).expect("create OUT_DIR/prost");
    let descriptors = theirs.join("descriptors.bin");
    let mut config = prost_build::Config::new();
    config.protoc_executable(&protoc);
    config.out_dir(&theirs);
    config.file_descriptor_set_path(&descriptors);
    config
        .compile_protos(
            &FILES.iter().map(|f| proto_dir.join(f)).collect::<Vec<_>>(),
            &[proto_dir.clone(), include.clone()],
        )
        .expect("prost-build generation failed");
    // pbjson's serde impls for the prost types (`codec-bench --format json`),
    // written next to them as `<package>.serde.rs`.
    let set = std::fs::read(&descriptors).expect("read prost-build's descriptor set");
    pbjson_build::Builder::new()
        .register_descriptors(&set)
        .expect("pbjson-build reads the descriptor set")
        .out_dir(&theirs)
        .build(&[".anchors.bench", ".grpc.testing"])
        .expect("pbjson-build generation failed");

    // tonic + prost (comparison only)
    let tonic = out.join("rpc_tonic");
    std::fs::create_dir_all(&tonic).expect("create OUT_DIR/rpc_tonic");
    let mut config = prost_build::Config::new();
    config.protoc_executable(&protoc);
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .emit_rerun_if_changed(false)
        .out_dir(&tonic)
        .compile_with_config(
            config,
            &RPC_FILES
                .iter()
                .map(|f| proto_dir.join(f))
                .collect::<Vec<_>>(),
            &[proto_dir, include],
        )
        .expect("tonic-prost-build generation failed");
}

/// Runs rust-rpc's generator on `files` into `dir`.
fn generate_ours(
    protoc: &std::path::Path,
    proto_dir: &std::path::Path,
    include: &std::path::Path,
    files: &[&str],
    dir: &std::path::Path,
) {
    std::fs::create_dir_all(dir).expect("create a generated-code dir under OUT_DIR");
    let files: Vec<String> = files.iter().map(|f| (*f).to_owned()).collect();
    match protoc_gen_rust_rpc::generate_with_protoc(
        protoc,
        &[proto_dir.to_path_buf(), include.to_path_buf()],
        &files,
        &protoc_gen_rust_rpc::Options::default(),
    ) {
        Ok(generated) => {
            for f in generated {
                let path = dir.join(&f.name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).expect("create generated subdir");
                }
                std::fs::write(path, f.content).expect("write generated code");
            }
        }
        Err(e) => panic!("rust-rpc generation failed: {e}"),
    }
}
