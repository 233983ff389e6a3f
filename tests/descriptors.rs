//! The runtime's own `descriptor.proto` types (which the generator reads its
//! input with) hold everything protoc writes: a descriptor set that protoc
//! made decodes and encodes back to the same bytes, comments and editions
//! features included.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use rust_rpc::Message as _;
use rust_rpc::wkt::feature_set::{FieldPresence, MessageEncoding, RepeatedFieldEncoding};
use rust_rpc::wkt::{Edition, FileDescriptorProto, FileDescriptorSet};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What `protoc --descriptor_set_out --include_imports --include_source_info`
/// writes for `files` of `testdata/<case>`.
fn protoc_set(case: &str, files: &[&str]) -> Vec<u8> {
    let protoc = protoc_bin_vendored::protoc_bin_path().expect("vendored protoc");
    let include = protoc_bin_vendored::include_path().expect("vendored include dir");
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let out = std::env::temp_dir().join(format!(
        "rust-rpc-descriptors-{}-{}.pb",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let status = Command::new(protoc)
        .arg("--include_imports")
        .arg("--include_source_info")
        .arg(format!("--descriptor_set_out={}", out.display()))
        .arg("-I")
        .arg(root().join("testdata").join(case))
        .arg("-I")
        .arg(include)
        .args(files)
        .status()
        .expect("protoc runs");
    assert!(status.success(), "protoc failed on {case}");
    let bytes = fs::read(&out).expect("descriptor set written");
    fs::remove_file(&out).ok();
    bytes
}

fn file<'a>(set: &'a FileDescriptorSet, name: &str) -> &'a FileDescriptorProto {
    set.file
        .iter()
        .find(|f| f.name() == name)
        .unwrap_or_else(|| panic!("{name} is in the set"))
}

#[test]
fn descriptor_sets_round_trip_byte_for_byte() {
    let cases: &[(&str, &[&str])] = &[
        // descriptor.proto and plugin.proto come in as imports.
        ("descriptor_use", &["descriptor_use.proto"]),
        ("editions", &["editions.proto", "file_level.proto"]),
        ("proto2", &["proto2.proto"]),
        ("options", &["options.proto", "proto2_bytes.proto"]),
    ];
    for (case, files) in cases {
        let bytes = protoc_set(case, files);
        let set = FileDescriptorSet::decode_slice(&bytes).expect("protoc's set decodes");
        assert!(set.file.len() >= files.len(), "{case}");
        for f in &set.file {
            assert!(
                f.unknown_fields.is_empty(),
                "{case}: {} has fields the descriptor types do not know",
                f.name()
            );
        }
        assert_eq!(
            set.encode_to_vec(),
            bytes,
            "{case}: re-encoding differs from protoc's bytes"
        );
    }
}

#[test]
fn editions_features_are_typed() {
    let bytes = protoc_set("editions", &["file_level.proto"]);
    let set = FileDescriptorSet::decode_slice(&bytes).expect("decodes");
    let f = file(&set, "file_level.proto");
    assert_eq!(f.syntax(), "editions");
    assert_eq!(f.edition, Some(Edition::Edition2023));
    let features = f
        .options
        .as_ref()
        .and_then(|o| o.features.as_ref())
        .expect("file_level.proto sets file features");
    // What testdata/editions/file_level.proto sets at file level.
    assert_eq!(features.field_presence, Some(FieldPresence::Implicit));
    assert_eq!(
        features.repeated_field_encoding,
        Some(RepeatedFieldEncoding::Expanded)
    );
    assert_eq!(features.message_encoding, Some(MessageEncoding::Delimited));
    assert_eq!(features.enum_type, None, "not set in the file");
}

#[test]
fn comments_survive_in_source_code_info() {
    let bytes = protoc_set("descriptor_use", &["descriptor_use.proto"]);
    let set = FileDescriptorSet::decode_slice(&bytes).expect("decodes");
    let f = file(&set, "descriptor_use.proto");
    let info = f.source_code_info.as_ref().expect("source info");
    // message 0 (ProtoSchema), field 0 (proto_descriptor).
    let loc = info
        .location
        .iter()
        .find(|l| l.path == [4, 0, 2, 0])
        .expect("a location for ProtoSchema.proto_descriptor");
    assert_eq!(
        loc.leading_comments(),
        " A self-contained message type: nested types only, no imports.\n"
    );
}
