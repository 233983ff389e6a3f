//! Generates the examples' messages from `proto/` with rust-rpc's generator
//! (through protoc from the crates.io package `protoc-bin-vendored`).

use std::env;
use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let proto_dir = manifest.join("proto");
    // Every example's schema; all of them are generated into one tree in OUT_DIR.
    let files = [
        "contacts.proto",
        "greeter.proto",
        "users.proto",
        "calculator.proto",
        "scores.proto",
        "telemetry.proto",
        "chat.proto",
    ]
    .map(String::from);
    for f in &files {
        println!("cargo:rerun-if-changed={}", proto_dir.join(f).display());
    }
    let protoc = protoc_bin_vendored::protoc_bin_path()
        .expect("protoc-bin-vendored has a protoc for this platform");
    let include =
        protoc_bin_vendored::include_path().expect("protoc-bin-vendored has the well-known types");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let generated = protoc_gen_rust_rpc::generate_with_protoc(
        &protoc,
        &[proto_dir, include],
        &files,
        &protoc_gen_rust_rpc::Options::default(),
    );
    match generated {
        Ok(files) => {
            for f in files {
                std::fs::write(out.join(&f.name), f.content)
                    .expect("write generated code to OUT_DIR");
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
