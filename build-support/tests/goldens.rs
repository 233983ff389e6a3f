//! `rust-rpc-build` writes exactly what the plugin writes: for every
//! testdata case, the files a `Builder` writes equal the golden files (made
//! by protoc and `protoc-gen-rust-rpc`, `tests/golden.rs`), byte for byte,
//! with every case (editions among them) parsed in pure Rust, comments
//! included.

use std::fs;
use std::path::{Path, PathBuf};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rust-rpc-build-goldens-{}-{name}",
        std::process::id()
    ));
    fs::remove_dir_all(&dir).ok();
    dir
}

/// `options.txt` (the plugin's `--rust-rpc_opt`) as builder calls.
fn configure(options: &str) -> rust_rpc_build::Builder {
    let mut b = rust_rpc_build::configure();
    for (key, value) in protoc_gen_rust_rpc::Options::pairs(options) {
        let (path, rest) = value.split_once('=').unwrap_or((&value, ""));
        b = match key.as_str() {
            "bytes" => b.bytes(value == "bytes"),
            "map" => b.btree_map(value == "btree"),
            "client" => b.build_client(value == "true"),
            "server" => b.build_server(value == "true"),
            "messages" => b.build_messages(value == "true"),
            "descriptors" if value == "source_info" => b.descriptors_with_source_info(),
            "descriptors" => b.descriptors(value == "true"),
            "runtime" => b.runtime_path(&value),
            "extern_path" => b.extern_path(path, rest),
            "type_attribute" => b.type_attribute(path, rest),
            "field_attribute" => b.field_attribute(path, rest),
            other => panic!("options.txt: no builder method for {other}"),
        };
    }
    b
}

fn written(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = fs::read_dir(dir)
        .expect("output dir")
        .map(|e| {
            let path = e.expect("dir entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("utf-8 name")
                .to_owned();
            (name, fs::read_to_string(&path).expect("utf-8 output"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn builder_output_equals_the_goldens() {
    let mut cases: Vec<PathBuf> = fs::read_dir(testdata())
        .expect("testdata/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let mut compared = 0;
    for case in cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .expect("case name")
            .to_owned();
        let mut protos: Vec<PathBuf> = fs::read_dir(&case)
            .expect("case dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "proto"))
            .collect();
        protos.sort();
        if protos.is_empty() {
            continue;
        }
        let options = fs::read_to_string(case.join("options.txt")).unwrap_or_default();
        // The pure front end, as a build script uses it by default: every
        // case (editions, groups, custom options) without protoc.
        let out = scratch(&name);
        let builder = configure(&options)
            .pure()
            .out_dir(&out)
            .emit_rerun_if_changed(false);
        let includes = vec![case.clone()];
        builder
            .compile(&protos, &includes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let golden = written(&case.join("expected"));
        let ours = written(&out);
        let names =
            |files: &[(String, String)]| files.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&ours), names(&golden), "{name}: files written");
        for ((file, ours), (_, golden)) in ours.iter().zip(&golden) {
            compared += 1;
            if ours != golden {
                let line = ours
                    .lines()
                    .zip(golden.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                panic!(
                    "{name}/{file} differs from the golden at line {}:\n  golden: {:?}\n  build:  {:?}",
                    line + 1,
                    golden.lines().nth(line),
                    ours.lines().nth(line)
                );
            }
        }
        fs::remove_dir_all(&out).ok();
    }
    assert!(compared >= 20, "only {compared} files compared");
}

#[test]
fn bad_options_and_missing_out_dir_are_errors() {
    let e = rust_rpc_build::configure()
        .type_attribute(".pkg.M", "derive(Hash)")
        .out_dir(scratch("bad-option"))
        .compile(&["x.proto"], &["."])
        .unwrap_err();
    assert!(e.to_string().contains("type_attribute"), "{e}");
    let e = rust_rpc_build::configure()
        .runtime_path("not a path")
        .compile(&["x.proto"], &["."])
        .unwrap_err();
    assert!(e.to_string().contains("runtime"), "{e}");
}

#[test]
fn unchanged_files_are_not_rewritten() {
    let case = testdata().join("services");
    let out = scratch("unchanged");
    let compile = || {
        rust_rpc_build::configure()
            .out_dir(&out)
            .emit_rerun_if_changed(false)
            .compile(&[case.join("services.proto")], &[&case])
            .expect("services.proto compiles")
    };
    compile();
    let file = out.join("svc.v1.rs");
    let before = fs::metadata(&file)
        .and_then(|m| m.modified())
        .expect("mtime");
    std::thread::sleep(std::time::Duration::from_millis(20));
    compile();
    let after = fs::metadata(&file)
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(before, after, "an unchanged file was written again");
    fs::remove_dir_all(&out).ok();
}
