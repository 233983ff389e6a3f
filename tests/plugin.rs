//! The plugin's contract with protoc: bad options and bad input come back as
//! `CodeGeneratorResponse.error` naming the file and the reason; the plugin
//! never panics and keeps stdout/stderr clean.

use std::io::Write;
use std::process::{Command, Stdio};

use rust_rpc::Message as _;
use rust_rpc::wkt::Edition;
use rust_rpc::wkt::compiler::CodeGeneratorResponse;

fn plugin() -> &'static str {
    env!("CARGO_BIN_EXE_protoc-gen-rust-rpc")
}

/// Runs the plugin binary on raw stdin bytes.
fn run_plugin(stdin: &[u8]) -> (CodeGeneratorResponse, String) {
    let mut child = Command::new(plugin())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("plugin starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write request");
    let out = child.wait_with_output().expect("plugin runs");
    assert!(out.status.success(), "plugin exit status {:?}", out.status);
    let response =
        CodeGeneratorResponse::decode(out.stdout.as_slice()).expect("stdout is a response");
    (response, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs protoc with the plugin on `proto` (written to a temp dir as `name`).
fn run_protoc(name: &str, proto: &str, opt: &str) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!(
        "rust-rpc-plugin-test-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(dir.join("out")).expect("temp dir");
    std::fs::write(dir.join(name), proto).expect("write proto");
    let mut cmd = Command::new(protoc_bin_vendored::protoc_bin_path().expect("protoc"));
    cmd.current_dir(&dir)
        .arg(format!("--plugin=protoc-gen-rust-rpc={}", plugin()))
        .arg("--rust-rpc_out=out")
        .arg("-I.")
        .arg(name);
    if !opt.is_empty() {
        cmd.arg(format!("--rust-rpc_opt={opt}"));
    }
    let out = cmd.output().expect("protoc runs");
    std::fs::remove_dir_all(&dir).ok();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SIMPLE: &str = "syntax = \"proto3\";\npackage t;\nmessage M { int32 a = 1; }\n";

#[test]
fn garbage_on_stdin_is_a_response_error_not_a_crash() {
    for input in [&b"\xff\xff\xff\xff"[..], b"\x0a\x05abc", b""] {
        let (response, stderr) = run_plugin(input);
        if input.is_empty() {
            // An empty request is valid protobuf: nothing to generate, so only mod.rs.
            assert_eq!(response.error, None);
            continue;
        }
        let error = response.error.expect("an error");
        assert!(error.contains("CodeGeneratorRequest"), "{error}");
        assert!(stderr.is_empty(), "stderr: {stderr}");
    }
}

#[test]
fn unknown_option_names_the_file_and_the_key() {
    let (ok, stderr) = run_protoc("opt.proto", SIMPLE, "colour=blue");
    assert!(!ok);
    assert!(stderr.contains("opt.proto"), "{stderr}");
    assert!(stderr.contains("unknown option \"colour\""), "{stderr}");
}

#[test]
fn bad_option_value_is_reported() {
    let (ok, stderr) = run_protoc("val.proto", SIMPLE, "map=tree");
    assert!(!ok);
    assert!(
        stderr.contains("option map: expected `hash` or `btree`"),
        "{stderr}"
    );
}

#[test]
fn editions_newer_than_2023_are_refused_by_name() {
    let proto = "edition = \"2024\";\npackage t;\nmessage M { int32 a = 1; }\n";
    let (ok, stderr) = run_protoc("e2024.proto", proto, "");
    assert!(!ok);
    assert!(stderr.contains("e2024.proto"), "{stderr}");
    assert!(
        stderr.contains("2023") || stderr.contains("edition"),
        "{stderr}"
    );
}

#[test]
fn good_input_generates_package_file_and_mod_rs() {
    let (ok, stderr) = run_protoc("good.proto", SIMPLE, "bytes=bytes,map=btree");
    assert!(ok, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn declares_proto3_optional_and_editions_support() {
    let (response, _) = run_plugin(b"");
    assert_eq!(response.supported_features, Some(3));
    assert_eq!(response.minimum_edition, Some(Edition::Proto2 as i32));
    assert_eq!(response.maximum_edition, Some(Edition::Edition2023 as i32));
    assert!(response.unknown_fields.is_empty());
}
