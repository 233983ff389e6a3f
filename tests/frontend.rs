//! The front end without protoc: comments recovered from the source equal
//! protoc's, and the plugin binary's compiler mode (`--proto_path`) writes
//! what protoc and the plugin write. (That every testdata case comes out
//! byte for byte the same without protoc is `build-support/tests/goldens.rs`.)

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use protoc_gen_rust_rpc::parse::Parser;

#[path = "support/descriptor_diff.rs"]
mod descriptor_diff;
use descriptor_diff::where_they_differ;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn protoc() -> PathBuf {
    protoc_bin_vendored::protoc_bin_path()
        .expect("protoc-bin-vendored has a protoc for this platform")
}

/// Every comment the pure front end recovers is the one protoc records, on
/// a file full of edge cases (trailing comments on braces, block comments,
/// aggregate options holding braces and semicolons, groups, oneofs, method
/// bodies, blank-line rules), and it misses none that the generator reads.
#[test]
fn recovered_comments_equal_protocs() {
    use rust_rpc::Message as _;
    use std::collections::BTreeMap;
    let fixtures = root().join("tests/fixtures");
    let file = "comments.proto".to_owned();
    let pure = protoc_gen_rust_rpc::parse::parse(
        &[fixtures.join(&file)],
        std::slice::from_ref(&fixtures),
        &Parser::Pure,
    )
    .expect("the fixture parses");
    let with_protoc = protoc_gen_rust_rpc::parse::protoc_descriptor_set(
        &protoc(),
        &[
            fixtures.clone(),
            protoc_bin_vendored::include_path().expect("well-known types"),
        ],
        std::slice::from_ref(&file),
    )
    .expect("protoc reads the fixture");
    type Comments = (Option<String>, Option<String>, Vec<String>);
    let comments = |bytes: &[u8]| -> BTreeMap<Vec<i32>, Comments> {
        let set = rust_rpc::wkt::FileDescriptorSet::decode_slice(bytes).expect("descriptor set");
        let f = set
            .file
            .into_iter()
            .find(|f| f.name() == "comments.proto")
            .expect("the fixture");
        f.source_code_info
            .map(|info| info.location)
            .unwrap_or_default()
            .into_iter()
            .map(|l| {
                (
                    l.path,
                    (
                        l.leading_comments,
                        l.trailing_comments,
                        l.leading_detached_comments,
                    ),
                )
            })
            .collect()
    };
    let ours = comments(&pure.descriptor_set);
    let theirs = comments(&with_protoc);
    // Paths the generator documents: messages, fields, oneofs, nested
    // messages and enums, enum values, services, methods, extensions.
    let documented = |path: &[i32]| -> bool {
        fn message(p: &[i32]) -> bool {
            match p {
                [] => true,
                [2 | 6 | 8, _] => true,
                [3, _, rest @ ..] => message(rest),
                [4, _, rest @ ..] => enumeration(rest),
                _ => false,
            }
        }
        fn enumeration(p: &[i32]) -> bool {
            matches!(p, [] | [2, _])
        }
        match path {
            [4, _, rest @ ..] => message(rest),
            [5, _, rest @ ..] => enumeration(rest),
            [6, _] | [6, _, 2, _] | [7, _] => true,
            _ => false,
        }
    };
    let mut checked = 0;
    for (path, theirs) in theirs.iter().filter(|(p, _)| documented(p)) {
        let has_comments = theirs.0.is_some() || theirs.1.is_some() || !theirs.2.is_empty();
        if !has_comments {
            continue;
        }
        checked += 1;
        assert_eq!(ours.get(path), Some(theirs), "comments at {path:?}");
    }
    for (path, ours) in &ours {
        let empty = (None, None, Vec::new());
        assert_eq!(
            theirs.get(path).unwrap_or(&empty).0,
            ours.0,
            "leading comment at {path:?}"
        );
        assert_eq!(
            theirs.get(path).unwrap_or(&empty).1,
            ours.1,
            "trailing comment at {path:?}"
        );
    }
    assert!(checked >= 25, "only {checked} commented elements compared");
}

/// `protoc-gen-rust-rpc --proto_path DIR --out OUT FILE` writes the goldens
/// of a case, with options; a bad file exits non-zero with
/// `file:line:column: reason` on stderr and writes nothing.
#[test]
fn compiler_mode_writes_the_goldens_and_reports_errors() {
    let bin = env!("CARGO_BIN_EXE_protoc-gen-rust-rpc");
    let case = root().join("testdata/options");
    let out = std::env::temp_dir().join(format!("rust-rpc-cli-{}", std::process::id()));
    fs::remove_dir_all(&out).ok();
    let options = fs::read_to_string(case.join("options.txt")).expect("options.txt");
    let result = Command::new(bin)
        .arg("--proto_path")
        .arg(&case)
        .arg("--out")
        .arg(&out)
        .arg(format!("--opt={}", options.trim()))
        .args(["options.proto", "proto2_bytes.proto"])
        .output()
        .expect("the binary runs");
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let mut compared = 0;
    for entry in fs::read_dir(case.join("expected")).expect("goldens") {
        let golden = entry.expect("entry").path();
        let name = golden.file_name().expect("name");
        assert_eq!(
            fs::read_to_string(out.join(name)).expect("written"),
            fs::read_to_string(&golden).expect("golden"),
            "{}",
            golden.display()
        );
        compared += 1;
    }
    assert!(compared >= 2);

    let bad = out.join("bad");
    fs::create_dir_all(&bad).expect("dir");
    fs::write(
        bad.join("bad.proto"),
        "syntax = \"proto3\";\nmessage M {\n  int32 x = 1\n}\n",
    )
    .expect("write");
    let result = Command::new(bin)
        .current_dir(&bad)
        .args(["--out", "gen", "bad.proto"])
        .output()
        .expect("the binary runs");
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(
        stderr.trim(),
        "protoc-gen-rust-rpc: bad.proto:4:1: expected `;` after the field, found `}`"
    );
    assert!(
        !bad.join("gen").exists(),
        "nothing is written for a bad file"
    );
    let result = Command::new(bin)
        .arg("--no-such-flag")
        .output()
        .expect("the binary runs");
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("unknown option"));
    fs::remove_dir_all(&out).ok();
}

/// The pure front end's descriptors are protoc's, message for message and
/// byte for byte, `SourceCodeInfo` included (every location, span and
/// comment), for every testdata case: what generated code embeds and
/// reflection serves does not depend on the front end.
#[test]
fn descriptors_equal_protocs() {
    use rust_rpc::Message as _;
    use rust_rpc::wkt::FileDescriptorSet;
    let testdata = root().join("testdata");
    let mut cases: Vec<PathBuf> = fs::read_dir(&testdata)
        .expect("testdata/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let mut compared = 0;
    for dir in cases {
        let mut files: Vec<String> = fs::read_dir(&dir)
            .expect("case dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".proto"))
            .collect();
        files.sort();
        let inputs: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
        let pure =
            protoc_gen_rust_rpc::parse::parse(&inputs, std::slice::from_ref(&dir), &Parser::Pure)
                .unwrap_or_else(|e| panic!("{}: the pure front end: {e}", dir.display()));
        let with_protoc = protoc_gen_rust_rpc::parse::protoc_descriptor_set(
            &protoc(),
            &[
                dir.clone(),
                protoc_bin_vendored::include_path().expect("well-known types"),
            ],
            &files,
        )
        .expect("protoc reads the case");
        let decode =
            |bytes: &[u8]| FileDescriptorSet::decode_slice(bytes).expect("a descriptor set");
        let (ours, theirs) = (decode(&pure.descriptor_set), decode(&with_protoc));
        for name in &files {
            let find = |set: &FileDescriptorSet| {
                set.file
                    .iter()
                    .find(|f| f.name() == name)
                    .cloned()
                    .expect("the file is in the set")
            };
            let (a, b) = (find(&ours), find(&theirs));
            if a != b {
                panic!("{}/{name}: {}", dir.display(), where_they_differ(&a, &b));
            }
            assert_eq!(a.encode_to_vec(), b.encode_to_vec(), "{name}: bytes differ");
            compared += 1;
        }
    }
    assert!(compared >= 25, "only {compared} files compared");
}
