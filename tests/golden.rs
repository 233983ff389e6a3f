//! Golden files: regenerates the code for every case in `testdata/` (and the
//! runtime's well-known types) through a real `protoc` and this plugin, and
//! fails with a diff on any difference.
//!
//! To accept new output, run with `RUST_RPC_BLESS=1`:
//!
//! ```text
//! RUST_RPC_BLESS=1 cargo test --test golden
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const BLESS: &str = "RUST_RPC_BLESS";

/// The well-known types the runtime carries, generated into `runtime/src/wkt/`.
pub const WKT_FILES: &[&str] = &[
    "google/protobuf/any.proto",
    "google/protobuf/api.proto",
    "google/protobuf/compiler/plugin.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/source_context.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/type.proto",
    "google/protobuf/wrappers.proto",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn protoc() -> PathBuf {
    protoc_bin_vendored::protoc_bin_path()
        .expect("protoc-bin-vendored has a protoc for this platform")
}

fn protoc_include() -> PathBuf {
    protoc_bin_vendored::include_path()
        .expect("protoc-bin-vendored has the well-known .proto files")
}

/// Runs protoc with the plugin; returns the generated files by name.
fn generate(include: &[&Path], files: &[String], options: &str) -> BTreeMap<String, String> {
    let out = tempdir();
    let mut cmd = Command::new(protoc());
    cmd.arg(format!(
        "--plugin=protoc-gen-rust-rpc={}",
        env!("CARGO_BIN_EXE_protoc-gen-rust-rpc")
    ))
    .arg(format!("--rust-rpc_out={}", out.display()));
    if !options.is_empty() {
        cmd.arg(format!("--rust-rpc_opt={options}"));
    }
    for i in include {
        cmd.arg("-I").arg(i);
    }
    cmd.arg("-I").arg(protoc_include());
    cmd.args(files);
    let result = cmd.output().expect("protoc runs");
    assert!(
        result.status.success(),
        "protoc failed for {files:?}:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let mut generated = BTreeMap::new();
    for entry in fs::read_dir(&out).expect("output dir") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_owned();
        generated.insert(
            name,
            fs::read_to_string(&path).expect("generated file is UTF-8"),
        );
    }
    fs::remove_dir_all(&out).ok();
    generated
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "rust-rpc-golden-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A readable diff: the first differing region with line numbers and context.
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let first = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let (mut ee, mut aa) = (e.len(), a.len());
    while ee > first && aa > first && e[ee - 1] == a[aa - 1] {
        ee -= 1;
        aa -= 1;
    }
    let ctx = first.saturating_sub(3);
    let mut out = String::new();
    for (i, line) in e.iter().enumerate().take(first).skip(ctx) {
        out.push_str(&format!("  {:5} {line}\n", i + 1));
    }
    for (i, line) in e.iter().enumerate().take(ee.min(first + 40)).skip(first) {
        out.push_str(&format!("- {:5} {line}\n", i + 1));
    }
    for (i, line) in a.iter().enumerate().take(aa.min(first + 40)).skip(first) {
        out.push_str(&format!("+ {:5} {line}\n", i + 1));
    }
    out
}

/// Compares `generated` with the files in `dir` (only those whose names pass
/// `keep`), or rewrites them when blessing. Returns the failures.
fn check(
    dir: &Path,
    generated: &BTreeMap<String, String>,
    keep: impl Fn(&str) -> bool,
) -> Vec<String> {
    let bless = std::env::var_os(BLESS).is_some();
    let mut failures = Vec::new();
    let existing: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".rs") && keep(n))
                .collect()
        })
        .unwrap_or_default();
    if bless {
        fs::create_dir_all(dir).expect("create golden dir");
        for name in &existing {
            if !generated.contains_key(name) {
                fs::remove_file(dir.join(name)).expect("remove stale golden");
            }
        }
        for (name, content) in generated {
            fs::write(dir.join(name), content).expect("write golden");
        }
        return failures;
    }
    for name in &existing {
        if !generated.contains_key(name) {
            failures.push(format!("{}: no longer generated", dir.join(name).display()));
        }
    }
    for (name, content) in generated {
        match fs::read_to_string(dir.join(name)) {
            Ok(expected) if expected == *content => {}
            Ok(expected) => failures.push(format!(
                "{} differs from the generator's output:\n{}",
                dir.join(name).display(),
                diff(&expected, content)
            )),
            Err(_) => failures.push(format!("{}: missing golden file", dir.join(name).display())),
        }
    }
    failures
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{}\n\nIf the change is intended, run: {BLESS}=1 cargo test --test golden",
        failures.join("\n\n")
    );
}

/// Every `testdata/<case>/` holds `.proto` files, an optional `options.txt`
/// (the `--rust-rpc_opt` value) and `expected/` with the generator's output.
#[test]
fn testdata_goldens() {
    let testdata = root().join("testdata");
    let mut cases: Vec<PathBuf> = fs::read_dir(&testdata)
        .expect("testdata/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in testdata/");
    let mut failures = Vec::new();
    for case in cases {
        let mut protos: Vec<String> = fs::read_dir(&case)
            .expect("case dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".proto"))
            .collect();
        protos.sort();
        if protos.is_empty() {
            continue;
        }
        let options = fs::read_to_string(case.join("options.txt")).unwrap_or_default();
        let generated = generate(&[&case], &protos, options.trim());
        failures.extend(check(&case.join("expected"), &generated, |_| true));
    }
    report(failures);
}

/// The runtime's checked-in well-known types match what the generator makes of
/// the `.proto` files that ship with protoc.
#[test]
fn runtime_well_known_types_are_fresh() {
    let files: Vec<String> = WKT_FILES.iter().map(|s| (*s).to_owned()).collect();
    let mut generated = generate(&[], &files, "runtime=crate");
    generated.remove("mod.rs");
    let failures = check(&root().join("runtime/src/wkt"), &generated, |n| {
        n.starts_with("google.")
    });
    report(failures);
}

/// The runtime's checked-in `google.rpc.Status` (the message carried in
/// `grpc-status-details-bin`) matches what the generator makes of
/// `runtime/proto/google/rpc/status.proto`.
#[test]
fn runtime_rpc_status_is_fresh() {
    let proto = root().join("runtime/proto");
    let files = vec!["google/rpc/status.proto".to_owned()];
    let mut generated = generate(&[&proto], &files, "runtime=crate");
    generated.remove("mod.rs");
    let failures = check(&root().join("runtime/src/rpc"), &generated, |n| {
        n.starts_with("google.")
    });
    report(failures);
}

/// The runtime's checked-in `grpc.health.v1` (the standard health service,
/// feature `health`) matches what the generator makes of
/// `runtime/proto/grpc/health/v1/health.proto`.
#[test]
fn runtime_health_is_fresh() {
    let proto = root().join("runtime/proto");
    let files = vec!["grpc/health/v1/health.proto".to_owned()];
    let mut generated = generate(&[&proto], &files, "runtime=crate");
    generated.remove("mod.rs");
    let failures = check(&root().join("runtime/src/health"), &generated, |n| {
        n.starts_with("grpc.")
    });
    report(failures);
}

/// The runtime's checked-in `grpc.reflection.v1` and `v1alpha` (feature
/// `reflection`) match what the generator makes of their `.proto` files in
/// `runtime/proto/grpc/reflection/`.
#[test]
fn runtime_reflection_is_fresh() {
    let proto = root().join("runtime/proto");
    let files = vec![
        "grpc/reflection/v1/reflection.proto".to_owned(),
        "grpc/reflection/v1alpha/reflection.proto".to_owned(),
    ];
    let mut generated = generate(&[&proto], &files, "runtime=crate");
    generated.remove("mod.rs");
    let failures = check(&root().join("runtime/src/reflection"), &generated, |n| {
        n.starts_with("grpc.")
    });
    report(failures);
}

/// The runtime's checked-in `grpc.channelz.v1` (feature `channelz`) matches
/// what the generator makes of `runtime/proto/grpc/channelz/v1/channelz.proto`.
#[test]
fn runtime_channelz_is_fresh() {
    let proto = root().join("runtime/proto");
    let files = vec!["grpc/channelz/v1/channelz.proto".to_owned()];
    let mut generated = generate(&[&proto], &files, "runtime=crate");
    generated.remove("mod.rs");
    let failures = check(&root().join("runtime/src/channelz"), &generated, |n| {
        n.starts_with("grpc.")
    });
    report(failures);
}
