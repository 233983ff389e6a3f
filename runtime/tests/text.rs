#![deny(warnings)]
//! The text format through generated code (the `testdata` cases): the exact
//! text written (one per line and on one line), everything the parser
//! takes (comments, `<>`, lists, hex and octal, `inf`/`nan`, joined
//! strings, escapes, groups by type name), maps sorted by key, `Any`
//! expanded, unknown fields by number, errors with their line and column,
//! and properties over random input. protobuf's conformance suite
//! (interop/conformance) checks the format against the spec on its own
//! test messages.

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

use case_maps::maps::Keys;
use case_oneofs::oneofs::{Two, two};
use case_proto2::p2::{Plain, WithGroups, with_groups};
use case_recursion::recursion::{Node, Tree};
use case_scalars3::scalars3::{Scalars, scalars};
use case_wkt_use::wkt_use::Event;
use proptest::prelude::*;
use rust_rpc::json::TypeRegistry;
use rust_rpc::text::{self, Text, TextMessage, TextOptions};
use rust_rpc::wkt::Any;
use rust_rpc::{Message, OpenEnum};

fn scalars() -> Scalars {
    Scalars {
        f_double: -2.5,
        f_float: f32::INFINITY,
        f_int64: i64::MIN,
        f_uint64: u64::MAX,
        f_bool: true,
        f_string: "tab\t\"q\" é".into(),
        f_bytes: vec![0xfb, b'a', 0x00, b'\''],
        f_nested: Some(scalars::Nested {
            a: 1,
            inner: Some(scalars::nested::Inner {
                label: "x".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        f_kind: OpenEnum::Known(scalars::Kind::Negative),
        ..Default::default()
    }
}

#[test]
fn messages_print_one_field_per_line_and_nested_blocks_indented() {
    assert_eq!(
        text::to_string(&scalars()).unwrap(),
        concat!(
            "f_double: -2.5\n",
            "f_float: inf\n",
            "f_int64: -9223372036854775808\n",
            "f_uint64: 18446744073709551615\n",
            "f_bool: true\n",
            "f_string: \"tab\\t\\\"q\\\" é\"\n",
            "f_bytes: \"\\373a\\000\\'\"\n",
            "f_nested {\n",
            "  a: 1\n",
            "  inner {\n",
            "    label: \"x\"\n",
            "  }\n",
            "}\n",
            "f_kind: KIND_NEGATIVE\n",
        )
    );
    assert_eq!(
        Text(&scalars()).to_string(),
        "f_double: -2.5 f_float: inf f_int64: -9223372036854775808 \
         f_uint64: 18446744073709551615 f_bool: true f_string: \"tab\\t\\\"q\\\" é\" \
         f_bytes: \"\\373a\\000\\'\" f_nested { a: 1 inner { label: \"x\" } } f_kind: KIND_NEGATIVE"
    );
    for written in [
        text::to_string(&scalars()).unwrap(),
        Text(&scalars()).to_string(),
    ] {
        assert_eq!(text::from_str::<Scalars>(&written).unwrap(), scalars());
    }
}

#[test]
fn the_parser_takes_every_spelling_the_format_allows() {
    let m: Scalars = text::from_str(
        "# leading comment\n\
         f_int32: 0x1F, f_uint32: 017; f_int64: -0x10 # trailing comment\n\
         f_double: -Infinity f_float: 1.5f\n\
         f_string: 'joined ' \"and \\x41\\101\\u00e9\\U0001F600\"\n\
         f_nested < a: 7 inner: { label: \"deep\" } >\n\
         f_kind: -1 f_bool: t",
    )
    .unwrap();
    assert_eq!((m.f_int32, m.f_uint32, m.f_int64), (31, 15, -16));
    assert_eq!((m.f_double, m.f_float), (f64::NEG_INFINITY, 1.5));
    assert_eq!(m.f_string, "joined and AAé😀");
    assert_eq!(m.f_nested.as_ref().map(|n| n.a), Some(7));
    assert_eq!(m.f_kind, OpenEnum::Known(scalars::Kind::Negative));
    assert!(m.f_bool);
    let nan: Scalars = text::from_str("f_double: nan").unwrap();
    assert!(nan.f_double.is_nan());
}

#[test]
fn repeated_fields_take_lists_and_maps_print_sorted_by_key() {
    let tree: Tree =
        text::from_str(r#"kids: [{name: "a"}, {name: "b"}] kids { name: "c" }"#).unwrap();
    let names: Vec<_> = tree.kids.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let keys: Keys = text::from_str(
        r#"k_int32 { value: "two" key: 2 } k_int32: [{ key: 1 value: "one" }] k_bool { key: true }"#,
    )
    .unwrap();
    assert_eq!(keys.k_int32.get(&1).map(String::as_str), Some("one"));
    assert_eq!(keys.k_bool.get(&true).map(String::as_str), Some(""));
    assert_eq!(
        text::to_string(&keys).unwrap(),
        concat!(
            "k_int32 {\n  key: 1\n  value: \"one\"\n}\n",
            "k_int32 {\n  key: 2\n  value: \"two\"\n}\n",
            "k_bool {\n  key: true\n  value: \"\"\n}\n",
        )
    );
}

#[test]
fn groups_print_by_their_type_name_and_read_by_either_name() {
    let m = WithGroups {
        single: Some(with_groups::Single {
            a: Some(1),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(text::to_string(&m).unwrap(), "Single {\n  a: 1\n}\n");
    assert_eq!(text::from_str::<WithGroups>("single { a: 1 }").unwrap(), m);
    assert_eq!(text::from_str::<WithGroups>("Single: { a: 1 }").unwrap(), m);
}

#[test]
fn any_expands_when_its_type_is_known() {
    let mut types = TypeRegistry::new();
    types.add::<Scalars>();
    let options = TextOptions::default().types(Arc::new(types));
    let event = Event {
        detail: Some(Any::pack(&Scalars {
            f_int32: 9,
            ..Default::default()
        })),
        ..Default::default()
    };
    let expanded = text::to_string_with(&event, &options).unwrap();
    assert_eq!(
        expanded,
        "detail {\n  [type.googleapis.com/scalars3.Scalars] {\n    f_int32: 9\n  }\n}\n"
    );
    assert_eq!(
        text::from_str_with::<Event>(&expanded, &options).unwrap(),
        event
    );
    // Without the registry: its fields as they are, which read back too.
    let raw = text::to_string(&event).unwrap();
    assert_eq!(
        raw,
        "detail {\n  type_url: \"type.googleapis.com/scalars3.Scalars\"\n  value: \"\\030\\t\"\n}\n"
    );
    assert_eq!(text::from_str::<Event>(&raw).unwrap(), event);
    let e = text::from_str::<Event>(&expanded).unwrap_err();
    assert!(
        e.to_string()
            .contains("not in the text options' type registry"),
        "{e}"
    );
}

#[test]
fn unknown_fields_print_by_number_when_asked() {
    // Field 100 (varint 5), field 101 (bytes that parse as fields {1: 7}:
    // shown as a block, as protobuf does), field 102 (bytes that do not),
    // field 103 (fixed32).
    let bytes = [
        0xa0, 0x06, 0x05, 0xaa, 0x06, 0x02, 0x08, 0x07, 0xb2, 0x06, 0x05, b'h', b'e', b'l', b'l',
        b'o', 0xbd, 0x06, 1, 0, 0, 0,
    ];
    let m = Plain::decode_slice(&bytes).unwrap();
    assert_eq!(text::to_string(&m).unwrap(), "");
    let options = TextOptions::default().print_unknown_fields(true);
    assert_eq!(
        text::to_string_with(&m, &options).unwrap(),
        "100: 5\n101 {\n  1: 7\n}\n102: \"hello\"\n103: 0x00000001\n"
    );
}

#[test]
fn errors_name_the_field_and_the_line_and_column() {
    let e = text::from_str::<Tree>("name: \"a\"\nkids {\n  kids { name: 5 }\n}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "kids.kids.name (line 3, column 16): expected a string, found '5'"
    );
    let e = text::from_str::<Tree>("name: 'a'\n  nope: 1").unwrap_err();
    assert_eq!(e.to_string(), "line 2, column 3: no field named nope");
    let e = text::from_str::<Tree>("name: 'a' name: 'b'").unwrap_err();
    assert!(e.to_string().contains("given more than once"), "{e}");
    let e = text::from_str::<Two>("f_string: 'a' f_int32: 1").unwrap_err();
    assert!(e.to_string().contains("second member of its oneof"), "{e}");
    let e = text::from_str::<Plain>("f_int32: 2147483648").unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    let e = text::from_str::<Plain>("f_mode: 4").unwrap_err();
    assert!(
        e.to_string().contains("not a value of the (closed) enum"),
        "{e}"
    );
    let e = text::from_str::<Scalars>("f_string: '\\300'").unwrap_err();
    assert!(e.to_string().contains("not valid UTF-8"), "{e}");
    let e = text::from_str::<Scalars>("f_string: 'a\nb'").unwrap_err();
    assert!(e.to_string().contains("line break in a string"), "{e}");
    let oneof: Two = text::from_str("f_int32: 0").unwrap();
    assert_eq!(oneof.first, Some(two::First::FInt32(0)));
    assert_eq!(text::to_string(&oneof).unwrap(), "f_int32: 0\n");
}

#[test]
fn nesting_past_the_limit_is_an_error_not_a_stack_overflow() {
    let deep = |n: usize| "next {".repeat(n) + &"}".repeat(n);
    assert!(text::from_str::<Node>(&deep(99)).is_ok());
    let e = text::from_str::<Node>(&deep(100_000)).unwrap_err();
    assert!(e.to_string().contains("nested too deeply"), "{e}");
}

/// Prints `m`, reads it back, and checks the reading prints the same
/// (maps print sorted, so the text is stable; NaN makes message equality
/// the wrong check).
fn round_trips<M: TextMessage + Default>(m: &M) -> Result<(), TestCaseError> {
    let written = text::to_string(m).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: M =
        text::from_str(&written).map_err(|e| TestCaseError::fail(format!("{e}: {written}")))?;
    prop_assert_eq!(text::to_string(&back).ok(), Some(written));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn whatever_decodes_from_the_wire_round_trips_through_text(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(m) = Scalars::decode_slice(&bytes) { round_trips(&m)?; }
        if let Ok(m) = Plain::decode_slice(&bytes) { round_trips(&m)?; }
        if let Ok(m) = Two::decode_slice(&bytes) { round_trips(&m)?; }
        if let Ok(m) = WithGroups::decode_slice(&bytes) { round_trips(&m)?; }
        if let Ok(m) = Event::decode_slice(&bytes) { round_trips(&m)?; }
        if let Ok(m) = Keys::decode_slice(&bytes) { round_trips(&m)?; }
    }

    #[test]
    fn any_text_reads_without_panicking(input in "\\PC{0,64}") {
        let _ = text::from_str::<Scalars>(&input);
        let _ = text::from_str::<Event>(&input);
        let _ = text::from_str::<WithGroups>(&input);
    }

    #[test]
    fn token_soup_reads_without_panicking(
        tokens in proptest::collection::vec(prop_oneof![
            Just("{"), Just("}"), Just("<"), Just(">"), Just("["), Just("]"), Just(":"),
            Just(","), Just(";"), Just("-"), Just("f_int32"), Just("f_nested"), Just("a"),
            Just("kids"), Just("k_int32"), Just("key"), Just("value"), Just("detail"),
            Just("[type.googleapis.com/x.Y]"), Just("[a.b]"), Just("0x"), Just("017"),
            Just("1e+"), Just("'\\u12'"), Just("\"\\"), Just("inf"), Just(" "), Just("#\n"),
        ], 0..40)
    ) {
        let input = tokens.concat();
        let _ = text::from_str::<Scalars>(&input);
        let _ = text::from_str::<Tree>(&input);
        let _ = text::from_str::<Keys>(&input);
        let _ = text::from_str::<Event>(&input);
    }
}
