#![deny(warnings)]
//! Typed extensions against protobuf's C++ implementation: protoc encodes
//! text-format messages with extensions (`protoc --encode`), the generated
//! code of `testdata/extensions` reads them typed; what the generated code
//! writes with `set_extension`, protoc decodes back (`protoc --decode`).

pub mod generated {
    include!("../testdata/extensions/expected/mod.rs");
}

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use generated::ext::{self, Host, Item, Level, Note, Set, item, scope};
use rust_rpc::{Extendable, Message};

/// Runs protoc's `--encode` or `--decode` of `type_name` over `input`.
fn protoc(mode: &str, type_name: &str, input: &[u8]) -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(protoc_bin_vendored::protoc_bin_path().expect("vendored protoc"))
        .arg(format!("--{mode}={type_name}"))
        .arg("-I")
        .arg(root.join("testdata/extensions"))
        .arg("-I")
        .arg(protoc_bin_vendored::include_path().expect("vendored include dir"))
        .arg("extensions.proto")
        .arg("extensions_ed.proto")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("protoc starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write protoc's input");
    let out = child.wait_with_output().expect("protoc runs");
    assert!(
        out.status.success(),
        "protoc --{mode} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn reads_what_protoc_writes() {
    let text = r#"
        id: 1
        [ext.f_sint64]: -9000000000
        [ext.f_string]: "from C++"
        [ext.f_level]: LEVEL_LOW
        [ext.f_note] { text: "note" marks: 4 marks: 5 }
        [ext.fgroup] { a: 6 }
        [ext.r_packed]: [-1, 1]
        [ext.r_int32]: [7, 8]
        [ext.r_level]: [LEVEL_HIGH, LEVEL_LOW]
        [ext.Scope.in_scope] { v: 3 }
        [ext.Scope.f_int32]: 11
        [ext.d_int32]: 12
    "#;
    let bytes = protoc("encode", "ext.Host", text.as_bytes());
    let h = Host::decode_slice(&bytes).expect("protoc's bytes decode");
    assert_eq!(h.id, Some(1));
    assert_eq!(h.extension(&ext::F_SINT64), Some(-9_000_000_000));
    assert_eq!(h.extension(&ext::F_STRING).as_deref(), Some("from C++"));
    assert_eq!(h.extension(&ext::F_LEVEL), Some(Level::Low));
    assert_eq!(
        h.extension(&ext::F_NOTE),
        Some(Note {
            text: Some("note".into()),
            marks: vec![4, 5],
            ..Default::default()
        })
    );
    assert_eq!(h.extension(&ext::FGROUP).and_then(|g| g.a), Some(6));
    assert_eq!(h.extension(&ext::R_PACKED), [-1, 1]);
    assert_eq!(h.extension(&ext::R_INT32), [7, 8]);
    assert_eq!(h.extension(&ext::R_LEVEL), [Level::High, Level::Low]);
    assert_eq!(h.extension(&scope::IN_SCOPE).and_then(|s| s.v), Some(3));
    assert_eq!(h.extension(&scope::F_INT32), Some(11));
    assert_eq!(h.extension(&ext::D_INT32), 12);
    assert_eq!(
        h.extension(&ext::D_STRING),
        "hello \"x\"",
        "unset: the default"
    );
    // Passing through unchanged: the same bytes come out.
    assert_eq!(h.encode_to_vec(), bytes);
}

#[test]
fn protoc_reads_what_set_extension_writes() {
    let mut h = Host::default();
    h.set_extension(&ext::F_INT32, -3);
    h.set_extension(&ext::F_BYTES, b"\x00\x01".to_vec());
    h.set_extension(&ext::R_PACKED, vec![5, -5]);
    h.set_extension(&ext::R_STRING, vec!["a".into(), "b".into()]);
    h.set_extension(
        &ext::FGROUP,
        ext::FGroup {
            a: Some(2),
            ..Default::default()
        },
    );
    let text = protoc("decode", "ext.Host", &h.encode_to_vec());
    let text = String::from_utf8(text).expect("protoc prints text");
    let expected = "[ext.f_int32]: -3\n\
                    [ext.f_bytes]: \"\\000\\001\"\n\
                    [ext.r_packed]: 5\n\
                    [ext.r_packed]: -5\n\
                    [ext.r_string]: \"a\"\n\
                    [ext.r_string]: \"b\"\n\
                    [ext.fgroup] {\n  a: 2\n}\n";
    let mut got: Vec<&str> = text.lines().collect();
    let mut want: Vec<&str> = expected.lines().collect();
    // protoc prints extensions in field-number order; compare as sets of
    // lines for the scalars and verbatim for the group block.
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "protoc printed:\n{text}");
}

#[test]
fn message_set_matches_protoc() {
    let bytes = protoc("encode", "ext.Set", br#"[ext.Item.item] { text: "x" }"#);
    let mut ours = Set::default();
    ours.set_extension(
        &item::ITEM,
        Item {
            text: Some("x".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        ours.encode_to_vec(),
        bytes,
        "MessageSet items as protoc writes them"
    );
    let back = Set::decode_slice(&bytes).expect("decodes");
    assert_eq!(
        back.extension(&item::ITEM).and_then(|i| i.text),
        Some("x".into())
    );
}

#[test]
fn editions_extensions_match_protoc() {
    use generated::ext::ed::{self, EdHost};
    let text = r#"
        [ext.ed.e_int32]: 0
        [ext.ed.e_packed]: [1, 2]
        [ext.ed.e_expanded]: [3, 4]
        [ext.ed.e_color]: COLOR_RED
        [ext.ed.e_delimited] { size: 9 }
    "#;
    let bytes = protoc("encode", "ext.ed.EdHost", text.as_bytes());
    let h = EdHost::decode_slice(&bytes).expect("decodes");
    assert_eq!(h.extension(&ed::E_INT32), Some(0));
    assert_eq!(h.extension(&ed::E_PACKED), [1, 2]);
    assert_eq!(h.extension(&ed::E_EXPANDED), [3, 4]);
    assert_eq!(h.extension(&ed::E_DELIMITED).and_then(|b| b.size), Some(9));
    // Written the same way protoc writes them, field for field.
    let mut ours = EdHost::default();
    ours.set_extension(&ed::E_INT32, 0);
    ours.set_extension(&ed::E_PACKED, vec![1, 2]);
    ours.set_extension(&ed::E_EXPANDED, vec![3, 4]);
    ours.set_extension(&ed::E_COLOR, ed::Color::Red.into());
    ours.set_extension(
        &ed::E_DELIMITED,
        ed::Box {
            size: Some(9),
            ..Default::default()
        },
    );
    assert_eq!(ours.encode_to_vec(), bytes);
}
