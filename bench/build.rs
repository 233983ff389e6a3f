//! Generates the benchmark messages twice: with rust-rpc's generator into
//! `$OUT_DIR/rust_rpc/` and with prost-build into `$OUT_DIR/prost/`, both
//! through the protoc that the crates.io package `protoc-bin-vendored` ships.

use std::env;
use std::path::PathBuf;

const FILES: &[&str] = &["bench.proto", "grpc/testing/messages.proto"];

fn main() {
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let proto_dir = manifest.join("proto");
    for f in FILES {
        println!("cargo:rerun-if-changed={}", proto_dir.join(f).display());
    }
    let protoc = protoc_bin_vendored::protoc_bin_path()
        .expect("protoc-bin-vendored has a protoc for this platform");
    let include =
        protoc_bin_vendored::include_path().expect("protoc-bin-vendored has the well-known types");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    // rust-rpc
    let ours = out.join("rust_rpc");
    std::fs::create_dir_all(&ours).expect("create OUT_DIR/rust_rpc");
    let files: Vec<String> = FILES.iter().map(|f| (*f).to_owned()).collect();
    match protoc_gen_rust_rpc::generate_with_protoc(
        &protoc,
        &[proto_dir.clone(), include.clone()],
        &files,
        &protoc_gen_rust_rpc::Options::default(),
    ) {
        Ok(generated) => {
            for f in generated {
                let path = ours.join(&f.name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).expect("create generated subdir");
                }
                std::fs::write(path, f.content).expect("write generated code");
            }
        }
        Err(e) => panic!("rust-rpc generation failed: {e}"),
    }

    // prost (comparison only)
    let theirs = out.join("prost");
    std::fs::create_dir_all(&theirs).expect("create OUT_DIR/prost");
    let mut config = prost_build::Config::new();
    config.protoc_executable(&protoc);
    config.out_dir(&theirs);
    config
        .compile_protos(
            &FILES.iter().map(|f| proto_dir.join(f)).collect::<Vec<_>>(),
            &[proto_dir, include],
        )
        .expect("prost-build generation failed");
}
