#![deny(warnings)]
//! Protobuf's JSON mapping through generated code (the `testdata` cases):
//! the exact text written, the options, the well-known types inside other
//! messages, errors that name their path and position, nesting limits, and
//! properties over random input (nothing panics; what decodes round-trips).
//! protobuf's conformance suite (interop/conformance) checks the mapping
//! against the spec on its own test messages; these check our generated
//! code on ours.

pub mod case_scalars3 {
    include!("../../testdata/scalars3/expected/mod.rs");
}
pub mod case_proto2 {
    include!("../../testdata/proto2/expected/mod.rs");
}
pub mod case_oneofs {
    include!("../../testdata/oneofs/expected/mod.rs");
}
pub mod case_recursion {
    include!("../../testdata/recursion/expected/mod.rs");
}
pub mod case_wkt_use {
    include!("../../testdata/wkt_use/expected/mod.rs");
}
pub mod case_maps {
    include!("../../testdata/maps/expected/mod.rs");
}

use std::sync::Arc;

use case_oneofs::oneofs::{Two, two};
use case_proto2::p2::{Mode, Plain};
use case_recursion::recursion::{Node, Tree};
use case_scalars3::scalars3::{Scalars, scalars};
use case_wkt_use::wkt_use::Event;
use proptest::prelude::*;
use rust_rpc::json::{self, JsonOptions, JsonValue, TypeRegistry};
use rust_rpc::wkt::{self, Any, Duration, Struct, Timestamp, Value, value};
use rust_rpc::{Message, OpenEnum};

fn scalars() -> Scalars {
    Scalars {
        f_double: -2.5,
        f_float: 0.25,
        f_int32: -7,
        f_int64: i64::MIN,
        f_uint32: u32::MAX,
        f_uint64: u64::MAX,
        f_sint32: 3,
        f_bool: true,
        f_string: "tab\there \"quoted\" é".into(),
        f_bytes: vec![0xfb, 0xff, 0x00],
        f_nested: Some(scalars::Nested {
            a: 1,
            ..Default::default()
        }),
        f_kind: OpenEnum::Known(scalars::Kind::Negative),
        ..Default::default()
    }
}

#[test]
fn scalars_are_written_in_their_canonical_forms() {
    assert_eq!(
        json::to_string(&scalars()).unwrap(),
        concat!(
            r#"{"fDouble":-2.5,"fFloat":0.25,"fInt32":-7,"fInt64":"-9223372036854775808","#,
            r#""fUint32":4294967295,"fUint64":"18446744073709551615","fSint32":3,"fBool":true,"#,
            r#""fString":"tab\there \"quoted\" é","fBytes":"+/8A","fNested":{"a":1},"#,
            r#""fKind":"KIND_NEGATIVE"}"#
        )
    );
    let back: Scalars = json::from_str(&json::to_string(&scalars()).unwrap()).unwrap();
    assert_eq!(back, scalars());
}

#[test]
fn input_takes_either_name_numbers_as_strings_and_both_base64_alphabets() {
    let m: Scalars = json::from_str(
        r#"{ "f_int64": 5, "fUint64": "7", "fInt32": "-3", "fDouble": "NaN",
             "fBytes": "-_8", "fKind": -1, "f_float": 1e3 }"#,
    )
    .unwrap();
    assert_eq!((m.f_int64, m.f_uint64, m.f_int32), (5, 7, -3));
    assert!(m.f_double.is_nan());
    assert_eq!(m.f_bytes, [0xfb, 0xff]);
    assert_eq!(m.f_kind, OpenEnum::Known(scalars::Kind::Negative));
    assert_eq!(m.f_float, 1000.0);
    // An open enum keeps a number it does not declare.
    let m: Scalars = json::from_str(r#"{"fKind": 12345}"#).unwrap();
    assert_eq!(m.f_kind, OpenEnum::Unknown(12345));
    assert_eq!(json::to_string(&m).unwrap(), r#"{"fKind":12345}"#);
}

#[test]
fn options_write_defaults_proto_names_and_enum_numbers_and_skip_unknowns() {
    let all = JsonOptions::default().emit_defaults(true);
    let text = json::to_string_with(&Scalars::default(), &all).unwrap();
    assert!(
        text.starts_with(r#"{"fDouble":0,"fFloat":0,"fInt32":0,"fInt64":"0","#),
        "{text}"
    );
    assert!(text.contains(r#""fKind":"KIND_UNSPECIFIED""#), "{text}");
    // Presence-tracking fields stay out even so.
    assert!(!text.contains("fNested"), "{text}");

    let names = JsonOptions::default()
        .proto_names(true)
        .enums_as_numbers(true);
    let text = json::to_string_with(&scalars(), &names).unwrap();
    assert!(
        text.contains(r#""f_int64":"-9223372036854775808""#),
        "{text}"
    );
    assert!(text.contains(r#""f_kind":-1"#), "{text}");

    let strict = json::from_str::<Scalars>(r#"{"fInt32": 1, "extra": {"a": [1, null]}}"#);
    assert_eq!(
        strict.unwrap_err().to_string(),
        r#"line 1, column 15: no field named "extra""#
    );
    let lenient = JsonOptions::default().ignore_unknown_fields(true);
    let m: Scalars = json::from_str_with(
        r#"{"fInt32": 1, "extra": {"a": [1, null]}, "fKind": "NOT_A_KIND"}"#,
        &lenient,
    )
    .unwrap();
    assert_eq!(m.f_int32, 1);
    assert_eq!(m.f_kind, OpenEnum::Known(scalars::Kind::Unspecified));
}

#[test]
fn proto2_writes_set_fields_even_at_zero_and_rejects_unknown_closed_enum_numbers() {
    let m = Plain {
        f_int32: Some(0),
        f_mode: Some(Mode::Backwards),
        ..Default::default()
    };
    assert_eq!(
        json::to_string(&m).unwrap(),
        r#"{"fInt32":0,"fMode":"MODE_BACKWARDS"}"#
    );
    assert_eq!(
        json::from_str::<Plain>(r#"{"fInt32":0,"fMode":-3}"#).unwrap(),
        m
    );
    let e = json::from_str::<Plain>(r#"{"fMode": 4}"#).unwrap_err();
    assert!(
        e.to_string().contains("not a value of the (closed) enum"),
        "{e}"
    );
}

#[test]
fn oneofs_take_one_member_and_null_leaves_them_unset() {
    let m: Two =
        json::from_str(r#"{"id": 1, "fString": null, "fInt32": 5, "sBool": true}"#).unwrap();
    assert_eq!(m.first, Some(two::First::FInt32(5)));
    assert_eq!(m.second, Some(two::Second::SBool(true)));
    let e = json::from_str::<Two>(r#"{"fString": "a", "fInt32": 5}"#).unwrap_err();
    assert!(e.to_string().contains("second member of its oneof"), "{e}");
    // A member set to its default is still written: the oneof has presence.
    let zero = Two {
        first: Some(two::First::FInt32(0)),
        ..Default::default()
    };
    assert_eq!(json::to_string(&zero).unwrap(), r#"{"fInt32":0}"#);
}

#[test]
fn well_known_types_inside_messages_use_their_special_forms() {
    let mut fields = Struct::default();
    fields.fields.insert(
        "ok".into(),
        Value {
            kind: Some(value::Kind::BoolValue(true)),
            ..Default::default()
        },
    );
    let mut types = TypeRegistry::new();
    types.add::<Scalars>();
    let options = JsonOptions::default().types(Arc::new(types));
    let event = Event {
        at: Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 10_000_000,
            ..Default::default()
        }),
        took: Some(Duration {
            seconds: -1,
            nanos: -500_000_000,
            ..Default::default()
        }),
        detail: Some(Any::pack(&Scalars {
            f_int32: 9,
            ..Default::default()
        })),
        attributes: Some(fields),
        null_value: OpenEnum::Known(wkt::NullValue::NullValue),
        mask: Some(wkt::FieldMask {
            paths: vec!["f_int32".into(), "f_nested.a".into()],
            ..Default::default()
        }),
        w_int64: Some(wkt::Int64Value {
            value: 5,
            ..Default::default()
        }),
        w_bool: Some(wkt::BoolValue::default()),
        ..Default::default()
    };
    let text = json::to_string_with(&event, &options).unwrap();
    assert_eq!(
        text,
        concat!(
            r#"{"at":"2023-11-14T22:13:20.010Z","took":"-1.500s","#,
            r#""detail":{"@type":"type.googleapis.com/scalars3.Scalars","fInt32":9},"#,
            r#""attributes":{"ok":true},"mask":"fInt32,fNested.a","wInt64":"5","wBool":false}"#
        )
    );
    assert_eq!(
        json::from_str_with::<Event>(&text, &options).unwrap(),
        event
    );
    // Without the registry, the Any cannot be written or read.
    let e = json::to_string(&event).unwrap_err();
    assert!(e.to_string().starts_with("detail: the Any's type"), "{e}");
    // `null` sets a NullValue field and a Value, and means "unset" elsewhere.
    let m: Event = json::from_str(r#"{"nullValue": null, "value": null, "at": null}"#).unwrap();
    assert_eq!(m.at, None);
    assert!(matches!(
        m.value.and_then(|v| v.kind),
        Some(value::Kind::NullValue(_))
    ));
}

#[test]
fn errors_name_the_path_through_lists_and_maps_and_the_position() {
    let e = json::from_str::<Tree>("{\"kids\": [{}, {\"kids\": [{\"name\": 5}]}]}").unwrap_err();
    assert_eq!(e.path(), "kids[1].kids[0].name");
    assert_eq!(
        e.to_string(),
        "kids[1].kids[0].name (line 1, column 34): expected a string, found '5'"
    );
    let e = json::from_str::<Tree>("{\"named\": {\"x\": {\"kids\": [1]}}}").unwrap_err();
    assert_eq!(e.path(), "named[\"x\"].kids[0]");
    let e = json::from_str::<Tree>("{\"name\": \"a\",}").unwrap_err();
    assert!(e.to_string().contains("expected a member name"), "{e}");
    let e = json::from_str::<Tree>("{\"name\": \"a\", \"name\": \"b\"}").unwrap_err();
    assert!(e.to_string().contains("given more than once"), "{e}");
    let e = json::from_str::<Tree>("null").unwrap_err();
    assert!(e.to_string().contains("null is not a message"), "{e}");
    let e = json::from_str::<Tree>("{} {}").unwrap_err();
    assert!(
        e.to_string().contains("expected the end of the input"),
        "{e}"
    );
}

#[test]
fn nesting_past_the_limit_is_an_error_not_a_stack_overflow() {
    let deep = |n: usize| "{\"next\":".repeat(n) + "{}" + &"}".repeat(n);
    assert!(json::from_str::<Node>(&deep(98)).is_ok());
    let e = json::from_str::<Node>(&deep(100_000)).unwrap_err();
    assert!(e.to_string().contains("nested too deeply"), "{e}");
    let values = "[".repeat(100_000);
    assert!(json::from_str::<Value>(&values).is_err());
}

#[test]
fn what_nests_without_bound_in_memory_is_an_error_to_write_not_a_crash() {
    // An Any packing an Any packing ... (the wire allows it: each level is
    // a fresh decode), and a Value holding lists of lists.
    let mut any = Any::pack(&wkt::Empty::default());
    for _ in 0..500 {
        any = Any::pack(&any);
    }
    let e = json::to_string(&any).unwrap_err();
    assert!(e.to_string().contains("nested too deeply"), "{e}");
    let e = rust_rpc::text::to_string(&any).unwrap_err();
    assert!(e.to_string().contains("nested too deeply"), "{e}");
    let mut v = Value::default();
    for _ in 0..500 {
        v = Value {
            kind: Some(value::Kind::ListValue(wkt::ListValue {
                values: vec![v],
                ..Default::default()
            })),
            ..Default::default()
        };
    }
    assert!(json::to_string(&v).is_err());
}

#[test]
fn whatever_the_binary_decoder_takes_round_trips_through_json() {
    // 100 messages inside the top one: the binary decoder's limit.
    let mut node = Node::default();
    for _ in 0..100 {
        node = Node {
            next: Some(Box::new(node)),
            ..Default::default()
        };
    }
    let node = Node::decode_slice(&node.encode_to_vec()).unwrap();
    let text = json::to_string(&node).unwrap();
    assert_eq!(json::from_str::<Node>(&text).unwrap(), node);
    // A NullValue holding a number it does not declare is still null.
    let odd = Event {
        null_value: OpenEnum::Unknown(5),
        ..Default::default()
    };
    let text = json::to_string(&odd).unwrap();
    assert_eq!(text, r#"{"nullValue":null}"#);
    assert!(json::from_str::<Event>(&text).is_ok());
}

/// How a round trip through JSON is checked.
#[derive(Clone, Copy)]
enum Same {
    /// Writing what was read gives the same text.
    Text,
    /// What was read twice is equal (maps write in any order).
    Message,
    /// The same length (maps in any order, and NaN unequal to itself).
    Length,
}

/// Writes `m` as JSON, reads it back and writes that again.
fn round_trips<M: JsonValue + Default + PartialEq + std::fmt::Debug>(
    m: &M,
    check: Same,
) -> Result<(), TestCaseError> {
    let Ok(text) = json::to_string(m) else {
        // Only values JSON cannot hold fail (a Value holding NaN, a
        // Timestamp out of range): nothing to round-trip.
        return Ok(());
    };
    let read =
        |t: &str| json::from_str::<M>(t).map_err(|e| TestCaseError::fail(format!("{e}: {t}")));
    let back = read(&text)?;
    let again = json::to_string(&back).map_err(|e| TestCaseError::fail(e.to_string()))?;
    match check {
        Same::Text => prop_assert_eq!(&again, &text),
        Same::Message => prop_assert_eq!(read(&again)?, back),
        Same::Length => prop_assert_eq!(again.len(), text.len()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn whatever_decodes_from_the_wire_round_trips_through_json(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(m) = Scalars::decode_slice(&bytes) { round_trips(&m, Same::Text)?; }
        if let Ok(m) = Plain::decode_slice(&bytes) { round_trips(&m, Same::Text)?; }
        if let Ok(m) = Two::decode_slice(&bytes) { round_trips(&m, Same::Text)?; }
        if let Ok(m) = Event::decode_slice(&bytes) { round_trips(&m, Same::Length)?; }
        if let Ok(m) = case_maps::maps::Keys::decode_slice(&bytes) { round_trips(&m, Same::Message)?; }
    }

    #[test]
    fn any_text_reads_without_panicking(text in "\\PC{0,64}") {
        let _ = json::from_str::<Scalars>(&text);
        let _ = json::from_str::<Event>(&text);
        let _ = json::from_str::<Value>(&text);
    }

    #[test]
    fn json_like_token_soup_reads_without_panicking(
        tokens in proptest::collection::vec(prop_oneof![
            Just("{"), Just("}"), Just("["), Just("]"), Just(":"), Just(","), Just("null"),
            Just("\"fInt32\""), Just("\"fNested\""), Just("\"a\""), Just("\"kids\""),
            Just("\"named\""), Just("\"at\""), Just("\"value\""), Just("\"@type\""),
            Just("\"detail\""), Just("1"), Just("-0.5e3"), Just("\"1970-01-01T00:00:00Z\""),
            Just("\"\\ud800\""), Just("true"),
        ], 0..40)
    ) {
        let text = tokens.concat();
        let _ = json::from_str::<Scalars>(&text);
        let _ = json::from_str::<Tree>(&text);
        let _ = json::from_str::<Event>(&text);
    }
}
