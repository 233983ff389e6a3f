#![deny(warnings)]
//! Reads custom options out of a `FileDescriptorSet` (as protoc's
//! `--descriptor_set_out --include_imports` writes it, or the pure parser;
//! or, given `embedded`, the descriptors the generated code carries) with
//! the extension constants generated from googleapis and protobuf's
//! `unittest_custom_options.proto`, and prints what it finds, one line each.
//! `build-support/tests/real_protos.rs` runs it and checks every line.

use std::error::Error;

use real_protos::google::api::{self, FieldBehavior, HttpRule, http_rule::Pattern};
use real_protos::google::cloud::bigquery::storage::v1::ProtoSchema;
use real_protos::protobuf_unittest::{
    self as unittest, AggregateMessageSetElement, aggregate_message_set_element,
    complex_option_type2::complex_option_type4, nested_option_type,
};
use rust_rpc::descriptor::FileDescriptor;
use rust_rpc::wkt::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    FileDescriptorSet, MethodOptions, ServiceDescriptorProto,
};
use rust_rpc::{Extendable, Message};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn file<'a>(set: &'a FileDescriptorSet, name: &str) -> Result<&'a FileDescriptorProto> {
    set.file
        .iter()
        .find(|f| f.name() == name)
        .ok_or_else(|| format!("{name} is not in the descriptor set").into())
}

fn message<'a>(file: &'a FileDescriptorProto, name: &str) -> Result<&'a DescriptorProto> {
    let mut path = name.split('.');
    let first = path.next().unwrap_or_default();
    let mut found = file.message_type.iter().find(|m| m.name() == first);
    for part in path {
        found = found.and_then(|m| m.nested_type.iter().find(|n| n.name() == part));
    }
    found.ok_or_else(|| format!("no message {name} in {}", file.name()).into())
}

fn field<'a>(message: &'a DescriptorProto, name: &str) -> Result<&'a FieldDescriptorProto> {
    message
        .field
        .iter()
        .chain(&message.extension)
        .find(|f| f.name() == name)
        .ok_or_else(|| format!("no field {name} in {}", message.name()).into())
}

fn service<'a>(file: &'a FileDescriptorProto, name: &str) -> Result<&'a ServiceDescriptorProto> {
    file.service
        .iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| format!("no service {name} in {}", file.name()).into())
}

fn method_options<'a>(
    service: &'a ServiceDescriptorProto,
    name: &str,
) -> Result<&'a MethodOptions> {
    service
        .method
        .iter()
        .find(|m| m.name() == name)
        .and_then(|m| m.options.as_ref())
        .ok_or_else(|| format!("no method {name} with options in {}", service.name()).into())
}

fn enum_in<'a>(message: &'a DescriptorProto, name: &str) -> Result<&'a EnumDescriptorProto> {
    message
        .enum_type
        .iter()
        .find(|e| e.name() == name)
        .ok_or_else(|| format!("no enum {name} in {}", message.name()).into())
}

fn options<T>(options: &Option<T>, what: &str) -> Result<T>
where
    T: Clone,
{
    options
        .clone()
        .ok_or_else(|| format!("{what} has no options").into())
}

/// `post "/v1/..." body "*"`.
fn http(rule: &HttpRule) -> String {
    let (verb, path) = match &rule.pattern {
        Some(Pattern::Get(p)) => ("get", p.as_str()),
        Some(Pattern::Put(p)) => ("put", p.as_str()),
        Some(Pattern::Post(p)) => ("post", p.as_str()),
        Some(Pattern::Delete(p)) => ("delete", p.as_str()),
        Some(Pattern::Patch(p)) => ("patch", p.as_str()),
        Some(Pattern::Custom(c)) => (c.kind.as_str(), c.path.as_str()),
        None => ("none", ""),
    };
    let mut out = format!("{verb} {path:?}");
    if !rule.body.is_empty() {
        out.push_str(&format!(" body {:?}", rule.body));
    }
    for binding in &rule.additional_bindings {
        out.push_str(&format!(" + {}", http(binding)));
    }
    out
}

fn googleapis(set: &FileDescriptorSet) -> Result<()> {
    let storage = file(set, "google/cloud/bigquery/storage/v1/storage.proto")?;
    let read = service(storage, "BigQueryRead")?;
    let service_options = options(&read.options, "BigQueryRead")?;
    println!(
        "BigQueryRead (google.api.default_host) = {:?}",
        service_options.try_extension(&api::DEFAULT_HOST)?
    );
    println!(
        "BigQueryRead (google.api.oauth_scopes) = {:?}",
        service_options.try_extension(&api::OAUTH_SCOPES)?
    );
    let create = method_options(read, "CreateReadSession")?;
    let rule = create
        .try_extension(&api::HTTP)?
        .ok_or("CreateReadSession has no (google.api.http)")?;
    println!(
        "BigQueryRead.CreateReadSession (google.api.http) = {}",
        http(&rule)
    );
    println!(
        "BigQueryRead.CreateReadSession (google.api.method_signature) = {:?}",
        create.try_extension(&api::METHOD_SIGNATURE)?
    );
    let write = service(storage, "BigQueryWrite")?;
    let append = method_options(write, "AppendRows")?;
    let rule = append
        .try_extension(&api::HTTP)?
        .ok_or("AppendRows has no http rule")?;
    println!(
        "BigQueryWrite.AppendRows (google.api.http) = {}",
        http(&rule)
    );

    let request = message(storage, "CreateReadSessionRequest")?;
    let parent = options(&field(request, "parent")?.options, "parent")?;
    let behavior: Vec<Option<FieldBehavior>> = parent
        .try_extension(&api::FIELD_BEHAVIOR)?
        .into_iter()
        .map(|b| b.known())
        .collect();
    println!("CreateReadSessionRequest.parent (google.api.field_behavior) = {behavior:?}");
    let reference = parent
        .try_extension(&api::RESOURCE_REFERENCE)?
        .ok_or("parent has no resource_reference")?;
    println!(
        "CreateReadSessionRequest.parent (google.api.resource_reference).type = {:?}",
        reference.r#type
    );
    let file_options = options(&storage.options, "storage.proto")?;
    for resource in file_options.try_extension(&api::RESOURCE_DEFINITION)? {
        println!(
            "storage.proto (google.api.resource_definition) = {:?} {:?}",
            resource.r#type, resource.pattern
        );
    }
    let stream = file(set, "google/cloud/bigquery/storage/v1/stream.proto")?;
    let session = options(&message(stream, "ReadSession")?.options, "ReadSession")?;
    let resource = session
        .try_extension(&api::RESOURCE)?
        .ok_or("ReadSession has no (google.api.resource)")?;
    println!(
        "ReadSession (google.api.resource) = {:?} {:?}",
        resource.r#type, resource.pattern
    );

    let alert = file(set, "google/monitoring/v3/alert.proto")?;
    let policy = options(&message(alert, "AlertPolicy")?.options, "AlertPolicy")?;
    let resource = policy
        .try_extension(&api::RESOURCE)?
        .ok_or("AlertPolicy has no (google.api.resource)")?;
    println!(
        "AlertPolicy (google.api.resource) = {:?} {:?}",
        resource.r#type, resource.pattern
    );

    let operations = file(set, "google/longrunning/operations.proto")?;
    let list = method_options(service(operations, "Operations")?, "ListOperations")?;
    let rule = list
        .try_extension(&api::HTTP)?
        .ok_or("ListOperations has no http rule")?;
    println!(
        "Operations.ListOperations (google.api.http) = {}",
        http(&rule)
    );

    // A field of a descriptor type (protobuf.proto's ProtoSchema) holds
    // this very descriptor of CreateReadSessionRequest, and reads back.
    let schema = ProtoSchema {
        proto_descriptor: Some(request.clone()),
        ..Default::default()
    };
    let back = ProtoSchema::decode(schema.encode_to_vec().as_slice())?;
    let fields: Vec<&str> = back
        .proto_descriptor
        .as_ref()
        .map(|d| d.field.iter().map(|f| f.name()).collect())
        .unwrap_or_default();
    println!("ProtoSchema.proto_descriptor round trip: {fields:?}");

    // Set an annotation, encode, decode, read it back.
    let mut set_here = MethodOptions::default();
    set_here.set_extension(
        &api::HTTP,
        HttpRule {
            pattern: Some(Pattern::Get("/v1/{name=things/*}".into())),
            ..Default::default()
        },
    );
    set_here.set_extension(&api::METHOD_SIGNATURE, vec!["name".to_owned()]);
    let back = MethodOptions::decode(set_here.encode_to_vec().as_slice())?;
    let rule = back
        .try_extension(&api::HTTP)?
        .ok_or("the http rule set is gone")?;
    println!(
        "set_extension round trip: {} {:?}",
        http(&rule),
        back.try_extension(&api::METHOD_SIGNATURE)?
    );
    Ok(())
}

fn custom_options(set: &FileDescriptorSet) -> Result<()> {
    let custom = file(set, "google/protobuf/unittest_custom_options.proto")?;
    let file_options = options(&custom.options, "unittest_custom_options.proto")?;
    println!(
        "file (protobuf_unittest.file_opt1) = {:?}",
        file_options.try_extension(&unittest::FILE_OPT1)?
    );

    let with = message(custom, "TestMessageWithCustomOptions")?;
    let with_options = options(&with.options, "TestMessageWithCustomOptions")?;
    println!(
        "TestMessageWithCustomOptions (message_opt1) = {:?}",
        with_options.try_extension(&unittest::MESSAGE_OPT1)?
    );
    let field1 = options(&field(with, "field1")?.options, "field1")?;
    println!(
        "TestMessageWithCustomOptions.field1 (field_opt1) = {:?}, (field_opt2) = {:?} (its default)",
        field1.try_extension(&unittest::FIELD_OPT1)?,
        field1.try_extension(&unittest::FIELD_OPT2)?
    );
    let oneof = with
        .oneof_decl
        .first()
        .and_then(|o| o.options.as_ref())
        .ok_or("no oneof options")?;
    println!(
        "TestMessageWithCustomOptions.AnOneof (oneof_opt1) = {:?}",
        oneof.try_extension(&unittest::ONEOF_OPT1)?
    );
    let an_enum = enum_in(with, "AnEnum")?;
    let enum_options = options(&an_enum.options, "AnEnum")?;
    let value_options = an_enum
        .value
        .iter()
        .find(|v| v.name() == "ANENUM_VAL2")
        .and_then(|v| v.options.as_ref())
        .ok_or("no ANENUM_VAL2 options")?;
    println!(
        "AnEnum (enum_opt1) = {:?}, ANENUM_VAL2 (enum_value_opt1) = {:?}",
        enum_options.try_extension(&unittest::ENUM_OPT1)?,
        value_options.try_extension(&unittest::ENUM_VALUE_OPT1)?
    );
    let svc = service(custom, "TestServiceWithCustomOptions")?;
    let svc_options = options(&svc.options, "TestServiceWithCustomOptions")?;
    let foo_method = method_options(svc, "Foo")?;
    println!(
        "TestServiceWithCustomOptions (service_opt1) = {:?}, Foo (method_opt1) = {:?}",
        svc_options.try_extension(&unittest::SERVICE_OPT1)?,
        foo_method.try_extension(&unittest::METHOD_OPT1)?
    );

    // Options whose values are messages, with extensions of their own.
    let various = options(
        &message(custom, "VariousComplexOptions")?.options,
        "VariousComplexOptions",
    )?;
    let one = various
        .try_extension(&unittest::COMPLEX_OPT1)?
        .ok_or("no complex_opt1")?;
    let corge = one.try_extension(&unittest::CORGE)?.ok_or("no corge")?;
    println!(
        "(complex_opt1) foo = {:?}, foo4 = {:?}, (mooo) = {:?}, (corge).moo = {:?}",
        one.foo,
        one.foo4,
        one.try_extension(&unittest::MOOO)?,
        corge.moo
    );
    let two = various
        .try_extension(&unittest::COMPLEX_OPT2)?
        .ok_or("no complex_opt2")?;
    let bar = two.bar.as_ref().ok_or("no bar")?;
    let garply = two.try_extension(&unittest::GARPLY)?.ok_or("no garply")?;
    println!(
        "(complex_opt2) baz = {:?}, (grault) = {:?}, bar.foo = {:?}, bar.(mooo) = {:?}, bar.(corge).moo = {:?}",
        two.baz,
        two.try_extension(&unittest::GRAULT)?,
        bar.foo,
        bar.try_extension(&unittest::MOOO)?,
        bar.try_extension(&unittest::CORGE)?.and_then(|c| c.moo)
    );
    println!(
        "(complex_opt2) (garply).foo = {:?}, (garply).(mooo) = {:?}, (garply).(corge).moo = {:?}, fred.waldo = {:?}, barney = {:?}",
        garply.foo,
        garply.try_extension(&unittest::MOOO)?,
        garply.try_extension(&unittest::CORGE)?.and_then(|c| c.moo),
        two.fred.as_ref().and_then(|f| f.waldo),
        two.barney.iter().map(|b| b.waldo()).collect::<Vec<_>>()
    );
    let three = various
        .try_extension(&unittest::COMPLEX_OPT3)?
        .ok_or("no complex_opt3")?;
    println!(
        "(complex_opt3) moo = {:?}, complexoptiontype5.plugh = {:?}; (ComplexOptionType2.ComplexOptionType4.complex_opt4).waldo = {:?}; (complexopt6).xyzzy = {:?}",
        three.moo,
        three.complexoptiontype5.as_ref().and_then(|g| g.plugh),
        various
            .try_extension(&complex_option_type4::COMPLEX_OPT4)?
            .and_then(|o| o.waldo),
        various
            .try_extension(&unittest::COMPLEXOPT6)?
            .and_then(|g| g.xyzzy)
    );

    // An aggregate option: a FileOptions field extended again, a
    // MessageSet, an Any.
    let aggregate = file_options
        .try_extension(&unittest::FILEOPT)?
        .ok_or("no (fileopt)")?;
    let inner = match &aggregate.file {
        Some(file) => file.try_extension(&unittest::FILEOPT)?,
        None => None,
    };
    let in_set = match &aggregate.mset {
        Some(mset) => mset.try_extension(&aggregate_message_set_element::MESSAGE_SET_EXTENSION)?,
        None => None,
    };
    let in_any = match aggregate
        .any
        .as_ref()
        .filter(|any| !any.type_url.is_empty())
    {
        Some(any) => Some(any.unpack::<AggregateMessageSetElement>()?),
        None => None,
    };
    println!(
        "(fileopt) s = {:?}, i = {:?}, sub.s = {:?}, file.(fileopt).s = {:?}, mset.(message_set_extension).s = {:?}, any = {:?}",
        aggregate.s,
        aggregate.i,
        aggregate.sub.as_ref().and_then(|s| s.s.clone()),
        inner.and_then(|i| i.s),
        in_set.and_then(|m| m.s),
        in_any.and_then(|m| m.s)
    );

    // Options of an extension declared in a message, on that extension.
    let nested = message(custom, "NestedOptionType")?;
    let nested_extension = options(
        &field(nested, "nested_extension")?.options,
        "nested_extension",
    )?;
    println!(
        "NestedOptionType.nested_extension (field_opt2) = {:?}; NestedOptionType.NestedMessage (message_opt1) = {:?}",
        nested_extension.try_extension(&unittest::FIELD_OPT2)?,
        options(
            &message(custom, "NestedOptionType.NestedMessage")?.options,
            "NestedMessage"
        )?
        .try_extension(&unittest::MESSAGE_OPT1)?
    );
    let mut file_options = file_options.clone();
    file_options.set_extension(&nested_option_type::NESTED_EXTENSION, 7);
    println!(
        "set_extension (NestedOptionType.nested_extension) = {:?}",
        file_options.try_extension(&nested_option_type::NESTED_EXTENSION)?
    );
    Ok(())
}

/// The descriptors the generated code embeds, for the files this binary
/// reads and everything they import, as the bytes of a
/// `FileDescriptorSet` (each file's `encoded`, as field 1).
fn embedded() -> Vec<u8> {
    let roots = [
        &real_protos::google::cloud::bigquery::storage::v1::DESCRIPTOR_GOOGLE_CLOUD_BIGQUERY_STORAGE_V1_STORAGE,
        &real_protos::google::longrunning::DESCRIPTOR_GOOGLE_LONGRUNNING_OPERATIONS,
        &real_protos::google::monitoring::v3::DESCRIPTOR_GOOGLE_MONITORING_V3_ALERT,
        &unittest::DESCRIPTOR_GOOGLE_PROTOBUF_UNITTEST_CUSTOM_OPTIONS,
    ];
    let mut files: Vec<&'static FileDescriptor> = Vec::new();
    for root in roots {
        for file in root.closure() {
            if !files.iter().any(|f| f.name == file.name) {
                files.push(file);
            }
        }
    }
    let mut bytes = Vec::new();
    for file in files {
        bytes.push(0x0a);
        let mut len = file.encoded.len();
        while len >= 0x80 {
            bytes.push((len as u8 & 0x7f) | 0x80);
            len >>= 7;
        }
        bytes.push(len as u8);
        bytes.extend_from_slice(file.encoded);
    }
    bytes
}

fn main() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: real-protos DESCRIPTOR_SET|embedded")?;
    let bytes = if path == "embedded" {
        embedded()
    } else {
        std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?
    };
    let set = FileDescriptorSet::decode(bytes.as_slice())?;
    googleapis(&set)?;
    custom_options(&set)?;
    // Options with extensions pass through a decode and an encode
    // unchanged (byte for byte when written in field order, as protoc does).
    let again = set.encode_to_vec();
    println!(
        "re-encoded descriptor set: the same message {}, the same bytes {}",
        FileDescriptorSet::decode(again.as_slice())? == set,
        again == bytes
    );
    Ok(())
}
