#![deny(warnings)]
//! The generated code of `testdata/descriptor_use`: messages whose fields
//! are descriptor types (`DescriptorProto`, `FileOptions`, `FeatureSet`,
//! `Edition`) and plugin types, which map to `rust_rpc::wkt`.

pub mod generated {
    include!("../../testdata/descriptor_use/expected/mod.rs");
}

use generated::descriptor_use::{PluginRun, ProtoSchema};
use rust_rpc::wkt::compiler::{
    CodeGeneratorRequest, CodeGeneratorResponse, code_generator_response,
};
use rust_rpc::wkt::field_descriptor_proto::{Label, Type};
use rust_rpc::wkt::{
    DescriptorProto, Edition, FeatureSet, FieldDescriptorProto, FileDescriptorProto,
    FileDescriptorSet, FileOptions, UninterpretedOption, feature_set, uninterpreted_option,
};
use rust_rpc::{DecodeErrorKind, Message};

fn row_type() -> DescriptorProto {
    DescriptorProto {
        name: Some("Row".into()),
        field: vec![FieldDescriptorProto {
            name: Some("id".into()),
            number: Some(1),
            label: Some(Label::Optional),
            r#type: Some(Type::Int64),
            json_name: Some("id".into()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn a_schema_with_descriptors_round_trips() {
    let schema = ProtoSchema {
        proto_descriptor: Some(row_type()),
        files: Some(FileDescriptorSet {
            file: vec![FileDescriptorProto {
                name: Some("row.proto".into()),
                syntax: Some("editions".into()),
                edition: Some(Edition::Edition2023),
                message_type: vec![row_type()],
                ..Default::default()
            }],
            ..Default::default()
        }),
        file_options: Some(FileOptions {
            java_package: Some("com.example".into()),
            ..Default::default()
        }),
        features: Some(FeatureSet {
            field_presence: Some(feature_set::FieldPresence::Implicit),
            ..Default::default()
        }),
        edition: None,
        rows: vec![vec![0x08, 0x2a]],
        ..Default::default()
    };
    let bytes = schema.encode_to_vec();
    let back = ProtoSchema::decode_slice(&bytes).expect("decodes");
    assert_eq!(back, schema);
    let field = &back.proto_descriptor.as_ref().expect("descriptor").field[0];
    assert_eq!((field.name(), field.r#type()), ("id", Type::Int64));
    // The proto2 default of an enum field from another package.
    assert_eq!(back.edition(), Edition::Edition2023);
    assert_eq!(
        back.file_options.as_ref().map(|o| o.java_package()),
        Some("com.example")
    );
}

#[test]
fn required_fields_inside_descriptor_types_are_checked() {
    // UninterpretedOption.NamePart has two required fields.
    let options = FileOptions {
        uninterpreted_option: vec![UninterpretedOption {
            name: vec![uninterpreted_option::NamePart {
                name_part: Some("x".into()),
                is_extension: None,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let schema = ProtoSchema {
        file_options: Some(options),
        ..Default::default()
    };
    assert!(schema.check_initialized().is_err());
    let err = ProtoSchema::decode_slice(&schema.encode_to_vec()).expect_err("missing required");
    assert!(err.kind() == DecodeErrorKind::MissingRequiredField, "{err}");
}

#[test]
fn plugin_messages_are_usable_as_fields() {
    let run = PluginRun {
        request: Some(CodeGeneratorRequest {
            file_to_generate: vec!["row.proto".into()],
            parameter: Some("bytes=bytes".into()),
            ..Default::default()
        }),
        response: Some(CodeGeneratorResponse {
            supported_features: Some(code_generator_response::Feature::SupportsEditions as u64),
            file: vec![code_generator_response::File {
                name: Some("row.rs".into()),
                content: Some("// generated\n".into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let back = PluginRun::decode_slice(&run.encode_to_vec()).expect("decodes");
    assert_eq!(back, run);
    assert_eq!(
        back.request.as_ref().map(|r| r.parameter()),
        Some("bytes=bytes")
    );
}
