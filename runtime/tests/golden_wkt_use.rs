#![deny(warnings)]
//! The generated code of `testdata/wkt_use`: a message built from the
//! well-known types, which map to `rust_rpc::wkt`.

pub mod generated {
    include!("../../testdata/wkt_use/expected/mod.rs");
}

use generated::wkt_use::{Event, event};
use rust_rpc::wkt::{
    self, Any, BoolValue, BytesValue, DoubleValue, Duration, Empty, FieldMask, FloatValue,
    Int32Value, Int64Value, ListValue, NullValue, StringValue, Struct, Timestamp, UInt32Value,
    UInt64Value, Value, value,
};
use rust_rpc::{DecodeErrorKind, Message, OpenEnum};

fn ts(seconds: i64, nanos: i32) -> Timestamp {
    Timestamp {
        seconds,
        nanos,
        ..Default::default()
    }
}

fn num(v: f64) -> Value {
    Value {
        kind: Some(value::Kind::NumberValue(v)),
        ..Default::default()
    }
}

fn full_event() -> Event {
    let nested = Struct {
        fields: [("n".to_owned(), num(1.0))].into(),
        ..Default::default()
    };
    Event {
        at: Some(ts(1_700_000_000, 123)),
        took: Some(Duration {
            seconds: -1,
            nanos: -500,
            ..Default::default()
        }),
        detail: Some(Any {
            type_url: "type.googleapis.com/google.protobuf.Duration".into(),
            value: Duration {
                seconds: 3,
                ..Default::default()
            }
            .encode_to_vec(),
            ..Default::default()
        }),
        attributes: Some(Struct {
            fields: [
                (
                    "null".to_owned(),
                    Value {
                        kind: Some(value::Kind::NullValue(NullValue::NullValue.into())),
                        ..Default::default()
                    },
                ),
                ("num".to_owned(), num(2.5)),
                (
                    "str".to_owned(),
                    Value {
                        kind: Some(value::Kind::StringValue("s".into())),
                        ..Default::default()
                    },
                ),
                (
                    "bool".to_owned(),
                    Value {
                        kind: Some(value::Kind::BoolValue(true)),
                        ..Default::default()
                    },
                ),
                (
                    "struct".to_owned(),
                    Value {
                        kind: Some(value::Kind::StructValue(nested)),
                        ..Default::default()
                    },
                ),
                (
                    "list".to_owned(),
                    Value {
                        kind: Some(value::Kind::ListValue(ListValue {
                            values: vec![num(1.0), num(2.0)],
                            ..Default::default()
                        })),
                        ..Default::default()
                    },
                ),
            ]
            .into(),
            ..Default::default()
        }),
        value: Some(num(-3.0)),
        list: Some(ListValue {
            values: vec![Value::default()],
            ..Default::default()
        }),
        null_value: NullValue::NullValue.into(),
        nothing: Some(Empty::default()),
        mask: Some(FieldMask {
            paths: vec!["a.b".into(), "c".into()],
            ..Default::default()
        }),
        w_double: Some(DoubleValue {
            value: 1.5,
            ..Default::default()
        }),
        w_float: Some(FloatValue {
            value: -1.5,
            ..Default::default()
        }),
        w_int64: Some(Int64Value {
            value: i64::MIN,
            ..Default::default()
        }),
        w_uint64: Some(UInt64Value {
            value: u64::MAX,
            ..Default::default()
        }),
        w_int32: Some(Int32Value {
            value: -7,
            ..Default::default()
        }),
        w_uint32: Some(UInt32Value {
            value: 7,
            ..Default::default()
        }),
        w_bool: Some(BoolValue {
            value: false,
            ..Default::default()
        }),
        w_string: Some(StringValue {
            value: "w".into(),
            ..Default::default()
        }),
        w_bytes: Some(BytesValue {
            value: vec![0xff],
            ..Default::default()
        }),
        history: vec![ts(1, 0), ts(2, 999_999_999)],
        extras: [("x".to_owned(), num(9.0))].into(),
        when: Some(event::When::Relative(Duration {
            seconds: 5,
            ..Default::default()
        })),
        ..Default::default()
    }
}

#[test]
fn well_known_types_round_trip() {
    let e = full_event();
    let bytes = e.encode_to_vec();
    assert_eq!(bytes.len(), e.encoded_len());
    assert_eq!(Event::decode_slice(&bytes).unwrap(), e);
    let e = Event {
        when: Some(event::When::Absolute(ts(0, 1))),
        ..Default::default()
    };
    assert_eq!(Event::decode_slice(&e.encode_to_vec()).unwrap(), e);
}

#[test]
fn well_known_types_bytes() {
    let e = Event {
        at: Some(ts(1, 2)),
        ..Default::default()
    };
    assert_eq!(e.encode_to_vec(), [0x0a, 0x04, 0x08, 0x01, 0x10, 0x02]);
    // A wrapper holding its default value is present but empty.
    let e = Event {
        w_bool: Some(BoolValue::default()),
        nothing: Some(Empty::default()),
        ..Default::default()
    };
    assert_eq!(e.encode_to_vec(), [0x42, 0x00, 0x82, 0x01, 0x00]);
    let e = Event {
        w_string: Some(StringValue {
            value: "hi".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        e.encode_to_vec(),
        [0x8a, 0x01, 0x04, 0x0a, 0x02, b'h', b'i']
    );
    // Any carries the encoded message as bytes, unknown fields stay in place.
    let any = Any {
        type_url: "t".into(),
        value: vec![0x08, 0x03],
        ..Default::default()
    };
    assert_eq!(
        any.encode_to_vec(),
        [0x0a, 0x01, b't', 0x12, 0x02, 0x08, 0x03]
    );
    let d = Duration::decode_slice(&any.value).unwrap();
    assert_eq!(d.seconds, 3);
}

#[test]
fn well_known_types_are_the_runtime_types() {
    // The generated field types are the runtime's, so its helpers apply.
    let e = full_event();
    let at: &wkt::Timestamp = e.at.as_ref().unwrap();
    assert_eq!(at.seconds, 1_700_000_000);
    assert_eq!(
        <wkt::Timestamp as Message>::NAME,
        "google.protobuf.Timestamp"
    );
    assert_eq!(e.null_value, OpenEnum::Known(NullValue::NullValue));
}

#[test]
fn malformed_well_known_types() {
    // Invalid UTF-8 in a StringValue nested in the event.
    let bytes = [0x8a, 0x01, 0x03, 0x0a, 0x01, 0xff];
    let err = Event::decode_slice(&bytes).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::InvalidUtf8);
    assert_eq!(
        err.path().map(|(m, _)| m).collect::<Vec<_>>(),
        ["wkt_use.Event", "google.protobuf.StringValue"]
    );
}

/// A file that imports the well-known types links to the runtime's own
/// embedded descriptors of them.
#[test]
fn embedded_descriptor_reaches_the_well_known_types() {
    let closure = generated::wkt_use::DESCRIPTOR_WKT_USE.closure();
    let names: Vec<&str> = closure.iter().map(|f| f.name).collect();
    for wkt in [
        "google/protobuf/any.proto",
        "google/protobuf/timestamp.proto",
        "google/protobuf/struct.proto",
        "google/protobuf/wrappers.proto",
    ] {
        assert!(names.contains(&wkt), "{wkt} in {names:?}");
    }
    let any = rust_rpc::wkt::DESCRIPTOR_GOOGLE_PROTOBUF_ANY
        .decode()
        .expect("decodes");
    assert_eq!(any.message_type[0].name(), "Any");
    let plugin = rust_rpc::wkt::compiler::DESCRIPTOR_GOOGLE_PROTOBUF_COMPILER_PLUGIN.closure();
    assert_eq!(
        plugin.iter().map(|f| f.name).collect::<Vec<_>>(),
        [
            "google/protobuf/descriptor.proto",
            "google/protobuf/compiler/plugin.proto"
        ]
    );
}
