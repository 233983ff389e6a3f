#![deny(warnings)]
//! Custom options read in user code: the descriptors of
//! `testdata/custom_options` (from protoc, and from the pure-Rust front end)
//! decode into the runtime's descriptor types, and the generated extension
//! constants read each option typed off the `*Options` it is set on.

pub mod generated {
    include!("../testdata/custom_options/expected/mod.rs");
}

use std::path::PathBuf;

use generated::opts::v1::{self as opts, FieldRules, http_rule};
use protoc_gen_rust_rpc::parse::{self, Parser};
use rust_rpc::wkt::{FileDescriptorProto, FileDescriptorSet};
use rust_rpc::{Extendable, Message};

fn case_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/custom_options")
}

fn the_file(set: &[u8]) -> FileDescriptorProto {
    FileDescriptorSet::decode_slice(set)
        .expect("a descriptor set")
        .file
        .into_iter()
        .find(|f| f.name() == "custom_options.proto")
        .expect("custom_options.proto is in the set")
}

fn check(file: &FileDescriptorProto, front_end: &str) {
    let file_options = file.options.as_ref().expect("file options");
    assert_eq!(
        file_options.extension(&opts::OWNER).as_deref(),
        Some("team-a"),
        "{front_end}"
    );

    let user = &file.message_type[2];
    assert_eq!(user.name(), "User");
    let table = user
        .options
        .as_ref()
        .and_then(|o| o.extension(&opts::TABLE));
    assert_eq!(table.as_deref(), Some("users"), "{front_end}");

    let name = user.field[0].options.as_ref().expect("name's options");
    assert_eq!(
        name.extension(&opts::RULES),
        Some(FieldRules {
            min_len: 3,
            pattern: "^[a-z]+$".into(),
            ..Default::default()
        }),
        "{front_end}"
    );
    assert_eq!(
        name.extension(&opts::TAGS),
        ["pii", "indexed"],
        "{front_end}"
    );
    assert_eq!(name.extension(&opts::SENSITIVE), None, "{front_end}");
    let password = user.field[1].options.as_ref().expect("password's options");
    assert_eq!(
        password.extension(&opts::SENSITIVE),
        Some(true),
        "{front_end}"
    );
    assert!(!password.has_extension(&opts::RULES), "{front_end}");

    let admin = &file.enum_type[0].value[1];
    assert_eq!(admin.name(), "ROLE_ADMIN");
    let label = admin
        .options
        .as_ref()
        .and_then(|o| o.extension(&opts::LABEL));
    assert_eq!(label.as_deref(), Some("Administrator"), "{front_end}");

    let service = &file.service[0];
    let host = service
        .options
        .as_ref()
        .and_then(|o| o.extension(&opts::DEFAULT_HOST));
    assert_eq!(host.as_deref(), Some("users.example.com"), "{front_end}");
    let http = service.method[0]
        .options
        .as_ref()
        .and_then(|o| o.extension(&opts::HTTP))
        .expect("GetUser has an http rule");
    assert_eq!(
        http.pattern,
        Some(http_rule::Pattern::Get("/v1/users/{name}".into())),
        "{front_end}"
    );
}

#[test]
fn custom_options_from_protoc() {
    let set = parse::protoc_descriptor_set(
        &protoc_bin_vendored::protoc_bin_path().expect("vendored protoc"),
        &[
            case_dir(),
            protoc_bin_vendored::include_path().expect("vendored include dir"),
        ],
        &["custom_options.proto".to_owned()],
    )
    .expect("protoc reads the case");
    check(&the_file(&set), "protoc");
}

#[test]
fn custom_options_from_the_pure_front_end() {
    let parsed = parse::parse(
        &[case_dir().join("custom_options.proto")],
        &[case_dir()],
        &Parser::Pure,
    )
    .expect("the pure front end reads the case");
    check(&the_file(&parsed.descriptor_set), "pure");
}

/// The descriptor the generated code embeds is protoc's (source info
/// stripped), and custom options read off it: the way a program reads its
/// own schema's options at run time, with no protoc and no files.
#[test]
fn custom_options_from_the_embedded_descriptor() {
    let embedded = &opts::DESCRIPTOR_CUSTOM_OPTIONS;
    check(
        &embedded.decode().expect("the embedded descriptor decodes"),
        "embedded",
    );
    let set = parse::protoc_descriptor_set(
        &protoc_bin_vendored::protoc_bin_path().expect("vendored protoc"),
        &[
            case_dir(),
            protoc_bin_vendored::include_path().expect("vendored include dir"),
        ],
        &["custom_options.proto".to_owned()],
    )
    .expect("protoc reads the case");
    let mut from_protoc = the_file(&set);
    from_protoc.source_code_info = None;
    assert_eq!(embedded.encoded, from_protoc.encode_to_vec().as_slice());
    // The service's file, and its imports, from the server type.
    let file = opts::UsersServer::<()>::file_descriptor();
    assert!(core::ptr::eq(file, embedded));
    let names: Vec<&str> = file.closure().iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        ["google/protobuf/descriptor.proto", "custom_options.proto"]
    );
}

#[test]
fn options_written_in_code_read_back() {
    // Setting an option and encoding the options message: what a tool that
    // writes descriptors does.
    let mut options = rust_rpc::wkt::FieldOptions::default();
    options.set_extension(&opts::TAGS, vec!["a".into()]);
    options.set_extension(
        &opts::RULES,
        FieldRules {
            min_len: 1,
            ..Default::default()
        },
    );
    let back =
        rust_rpc::wkt::FieldOptions::decode_slice(&options.encode_to_vec()).expect("decodes");
    assert_eq!(back.extension(&opts::TAGS), ["a"]);
    assert_eq!(back.extension(&opts::RULES).map(|r| r.min_len), Some(1));
    assert_eq!(opts::RULES.get(&back).map(|r| r.min_len), Some(1));
}
