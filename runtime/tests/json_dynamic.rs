#![deny(warnings)]
//! `DescriptorPool` (JSON for types known by descriptor) against the code
//! generated for the testdata protos: the same bytes give the same JSON,
//! the same JSON gives the same message, and bad input fails in both.
//! Values are built by hand for every field kind, and generated at random
//! from the descriptors as wire bytes (with unknown fields, repeated
//! singular fields, oneof switches, packed and expanded runs, unknown enum
//! numbers, truncation).

pub mod g_scalars3 {
    include!("../../testdata/scalars3/expected/mod.rs");
}
pub mod g_maps {
    include!("../../testdata/maps/expected/mod.rs");
}
pub mod g_oneofs {
    include!("../../testdata/oneofs/expected/mod.rs");
}
pub mod g_proto2 {
    include!("../../testdata/proto2/expected/mod.rs");
}
pub mod g_editions {
    include!("../../testdata/editions/expected/mod.rs");
}
pub mod g_wkt_use {
    include!("../../testdata/wkt_use/expected/mod.rs");
}
pub mod g_recursion {
    include!("../../testdata/recursion/expected/mod.rs");
}
pub mod g_extensions {
    include!("../../testdata/extensions/expected/mod.rs");
}
pub mod g_custom_options {
    include!("../../testdata/custom_options/expected/mod.rs");
}

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use g_editions::ed;
use g_extensions::ext;
use g_maps::maps;
use g_oneofs::oneofs;
use g_proto2::p2;
use g_scalars3::scalars3;
use g_wkt_use::wkt_use;
use proptest::prelude::*;
use rust_rpc::descriptor::FileDescriptor;
use rust_rpc::json::{self, DescriptorPool, JsonOptions, JsonValue, TypeRegistry};
use rust_rpc::wkt::field_descriptor_proto::{Label, Type};
use rust_rpc::wkt::{self, DescriptorProto, FieldDescriptorProto, FileDescriptorProto};
use rust_rpc::{Message, OpenEnum};

fn roots() -> Vec<&'static FileDescriptor> {
    vec![
        &scalars3::DESCRIPTOR_SCALARS3,
        &maps::DESCRIPTOR_MAPS,
        &oneofs::DESCRIPTOR_ONEOFS,
        &p2::DESCRIPTOR_PROTO2,
        &ed::DESCRIPTOR_EDITIONS,
        &ed::file_level::DESCRIPTOR_FILE_LEVEL,
        &wkt_use::DESCRIPTOR_WKT_USE,
        &g_recursion::recursion::DESCRIPTOR_RECURSION,
        &ext::DESCRIPTOR_EXTENSIONS,
        &ext::ed::DESCRIPTOR_EXTENSIONS_ED,
        &g_custom_options::opts::v1::DESCRIPTOR_CUSTOM_OPTIONS,
    ]
}

/// Every file of the testdata protos above, with their imports (some
/// files more than once: the pool takes each once).
fn files() -> &'static [FileDescriptorProto] {
    static FILES: OnceLock<Vec<FileDescriptorProto>> = OnceLock::new();
    FILES.get_or_init(|| {
        roots()
            .into_iter()
            .flat_map(|f| f.closure())
            .map(|f| f.decode().unwrap())
            .collect()
    })
}

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::new(files().to_vec()).unwrap())
}

/// The types an `Any` may hold and the extensions, for generated code (the
/// pool knows them from the descriptors). Extensions in number order per
/// extendee, the order the pool writes them.
fn registry() -> Arc<TypeRegistry> {
    static TYPES: OnceLock<Arc<TypeRegistry>> = OnceLock::new();
    TYPES
        .get_or_init(|| {
            use g_custom_options::opts::v1 as opts;
            let mut t = TypeRegistry::new();
            t.add::<wkt_use::Event>()
                .add::<scalars3::Scalars>()
                .add::<maps::Values>()
                .add::<p2::WithGroups>();
            t.add_extension(&ext::F_DOUBLE)
                .add_extension(&ext::F_FLOAT)
                .add_extension(&ext::F_INT32)
                .add_extension(&ext::F_INT64)
                .add_extension(&ext::F_UINT32)
                .add_extension(&ext::F_UINT64)
                .add_extension(&ext::F_SINT32)
                .add_extension(&ext::F_SINT64)
                .add_extension(&ext::F_FIXED32)
                .add_extension(&ext::F_FIXED64)
                .add_extension(&ext::F_SFIXED32)
                .add_extension(&ext::F_SFIXED64)
                .add_extension(&ext::F_BOOL)
                .add_extension(&ext::F_STRING)
                .add_extension(&ext::F_BYTES)
                .add_extension(&ext::F_LEVEL)
                .add_extension(&ext::F_NOTE)
                .add_extension(&ext::FGROUP)
                .add_extension(&ext::D_INT32)
                .add_extension(&ext::D_STRING)
                .add_extension(&ext::D_BYTES)
                .add_extension(&ext::D_LEVEL)
                .add_extension(&ext::D_INF)
                .add_extension(&ext::D_BOOL)
                .add_extension(&ext::R_INT32)
                .add_extension(&ext::R_PACKED)
                .add_extension(&ext::R_STRING)
                .add_extension(&ext::R_NOTE)
                .add_extension(&ext::R_LEVEL)
                .add_extension(&ext::R_FIXED)
                .add_extension(&ext::scope::IN_SCOPE)
                .add_extension(&ext::scope::F_INT32)
                .add_extension(&ext::ed::E_INT32)
                .add_extension(&ext::ed::E_PACKED)
                .add_extension(&ext::ed::E_EXPANDED)
                .add_extension(&ext::ed::E_COLOR)
                .add_extension(&ext::ed::E_DELIMITED)
                .add_extension(&ext::ed::E_DEFAULT)
                .add_extension(&p2::EXT_INT)
                .add_extension(&p2::EXT_STRING)
                .add_extension(&p2::EXT_MODES)
                .add_extension(&p2::scoped::SCOPED_EXT)
                .add_extension(&opts::OWNER)
                .add_extension(&opts::TABLE)
                .add_extension(&opts::RULES)
                .add_extension(&opts::SENSITIVE)
                .add_extension(&opts::TAGS)
                .add_extension(&opts::HTTP)
                .add_extension(&opts::LABEL)
                .add_extension(&opts::DEFAULT_HOST);
            Arc::new(t)
        })
        .clone()
}

fn option_sets() -> Vec<JsonOptions> {
    let base = JsonOptions::default().types(registry());
    vec![
        base.clone(),
        base.clone().emit_defaults(true),
        base.clone().proto_names(true),
        base.clone().enums_as_numbers(true),
        base.emit_defaults(true)
            .proto_names(true)
            .enums_as_numbers(true),
    ]
}

/// Two JSON texts with the same content (members in any order).
fn same_json(a: &str, b: &str) -> bool {
    let parse = |s: &str| json::from_str::<wkt::Value>(s).unwrap();
    parse(a) == parse(b)
}

/// How `bytes` fare as an `M`, generated and dynamic: `Err` says how they
/// differ.
fn compare<M: Message + JsonValue>(bytes: &[u8], options: &JsonOptions) -> Result<(), String> {
    let pool = pool();
    let dynamic = pool.to_json(M::NAME, bytes, options);
    let typed = M::decode_slice(bytes)
        .map_err(|e| e.to_string())
        .and_then(|m| json::to_string_with(&m, options).map_err(|e| e.to_string()));
    let text = match (typed, dynamic) {
        (Ok(t), Ok(d)) if same_json(&t, &d) => t,
        (Err(_), Err(_)) => return Ok(()),
        (t, d) => return Err(format!("{}: generated {t:?}, dynamic {d:?}", M::NAME)),
    };
    // And back: the JSON reads as the same message both ways (or fails
    // both ways: a NullValue field holding an unknown number writes it as
    // a number, which NullValue does not read).
    let (back, typed) = match (
        pool.from_json(M::NAME, &text, options),
        json::from_str_with::<M>(&text, options),
    ) {
        (Ok(back), Ok(typed)) => (back, typed),
        (Err(_), Err(_)) => return Ok(()),
        (d, t) => return Err(format!("{}: {text} reads back as {d:?} vs {t:?}", M::NAME)),
    };
    let mut dynamic = M::default();
    dynamic
        .merge_partial(&back)
        .map_err(|e| format!("{}: {e}", M::NAME))?;
    let (d, t) = (
        json::to_string_with(&dynamic, options).map_err(|e| e.to_string())?,
        json::to_string_with(&typed, options).map_err(|e| e.to_string())?,
    );
    if !same_json(&d, &t) {
        return Err(format!("{}: read back {d} vs {t}", M::NAME));
    }
    Ok(())
}

/// `m` writes and reads the same both ways, with every set of options;
/// messages without maps write the very same text.
fn agrees<M: Message + JsonValue>(m: &M, exact: bool) {
    let bytes = m.encode_to_vec();
    for options in option_sets() {
        compare::<M>(&bytes, &options).unwrap();
        if exact {
            assert_eq!(
                pool().to_json(M::NAME, &bytes, &options).unwrap(),
                json::to_string_with(m, &options).unwrap()
            );
        }
    }
}

fn full_scalars() -> scalars3::Scalars {
    use scalars3::scalars;
    scalars3::Scalars {
        f_double: -1.25e300,
        f_float: 3.5,
        f_int32: -123_456,
        f_int64: i64::MIN,
        f_uint32: u32::MAX,
        f_uint64: u64::MAX,
        f_sint32: i32::MIN,
        f_sint64: -9_876_543_210,
        f_fixed32: 0xdead_beef,
        f_fixed64: u64::MAX - 1,
        f_sfixed32: -5,
        f_sfixed64: i64::MAX,
        f_bool: true,
        f_string: "grüße \"\\\n\u{1}".to_owned(),
        f_bytes: vec![0, 1, 0xfe, 0xff],
        f_big_tag: 16,
        f_nested: Some(scalars::Nested {
            a: 7,
            inner: Some(scalars::nested::Inner {
                label: "inner".to_owned(),
                depth: scalars::nested::Depth::Deep.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        f_kind: scalars::Kind::VeryNegative.into(),
        f_inner: Some(scalars::nested::Inner::default()),
        f_depth: OpenEnum::Unknown(77),
        f_max_tag: "max".to_owned(),
        ..Default::default()
    }
}

#[test]
fn proto3_scalars_presence_and_repeated_fields() {
    agrees(&full_scalars(), true);
    agrees(&scalars3::Scalars::default(), true);
    agrees(
        &scalars3::Scalars {
            f_double: -0.0,
            f_float: f32::NAN,
            ..Default::default()
        },
        true,
    );
    agrees(
        &scalars3::Optionals {
            o_double: Some(0.0),
            o_float: Some(f32::NEG_INFINITY),
            o_int32: Some(0),
            o_int64: Some(0),
            o_uint64: Some(0),
            o_bool: Some(false),
            o_string: Some(String::new()),
            o_bytes: Some(Vec::new()),
            o_color: Some(scalars3::Color::Unspecified.into()),
            o_nested: Some(Default::default()),
            ..Default::default()
        },
        true,
    );
    let packed = scalars3::Packed {
        r_double: vec![0.0, f64::INFINITY, 1e-300],
        r_float: vec![f32::MIN_POSITIVE],
        r_int32: vec![0, -1, i32::MAX],
        r_int64: vec![i64::MIN],
        r_uint32: vec![1, u32::MAX],
        r_uint64: vec![u64::MAX],
        r_sint32: vec![-1, 1],
        r_sint64: vec![i64::MIN, i64::MAX],
        r_fixed32: vec![3],
        r_fixed64: vec![4],
        r_sfixed32: vec![-3],
        r_sfixed64: vec![-4],
        r_bool: vec![true, false],
        r_color: vec![scalars3::Color::Blue.into(), OpenEnum::Unknown(-9)],
        r_string: vec![String::new(), "x".into()],
        r_bytes: vec![vec![], vec![1]],
        r_nested: vec![Default::default(), full_scalars().f_nested.unwrap()],
        ..Default::default()
    };
    agrees(&packed, true);
    // The same values unpacked on the wire read the same.
    let unpacked = scalars3::Unpacked {
        r_int32: packed.r_int32.clone(),
        r_sint64: packed.r_sint64.clone(),
        r_color: packed.r_color.clone(),
        r_double: packed.r_double.clone(),
        ..Default::default()
    };
    agrees(&unpacked, true);
    let as_packed = pool()
        .to_json(
            "scalars3.Packed",
            &unpacked.encode_to_vec(),
            &JsonOptions::default(),
        )
        .unwrap();
    assert_eq!(
        as_packed,
        r#"{"rDouble":[0,"Infinity",1e-300],"rInt32":[0,-1,2147483647],"rSint64":["-9223372036854775808","9223372036854775807"],"rColor":["COLOR_BLUE",-9]}"#
    );
    // Canonical bytes: packed where the schema packs.
    let from = pool()
        .from_json("scalars3.Packed", &as_packed, &JsonOptions::default())
        .unwrap();
    let expected = scalars3::Packed {
        r_int32: packed.r_int32.clone(),
        r_sint64: packed.r_sint64.clone(),
        r_color: packed.r_color.clone(),
        r_double: packed.r_double,
        ..Default::default()
    };
    assert_eq!(from, expected.encode_to_vec());
}

#[test]
fn maps_of_every_key_and_value_type() {
    use maps::{Keys, Nested, Suit, Value, Values, nested};
    let keys = Keys {
        k_int32: [(i32::MIN, "a".into()), (0, String::new())].into(),
        k_int64: [(i64::MAX, "b".into())].into(),
        k_uint32: [(u32::MAX, "c".into())].into(),
        k_uint64: [(u64::MAX, "d".into())].into(),
        k_sint32: [(-1, "e".into())].into(),
        k_sint64: [(-2, "f".into())].into(),
        k_fixed32: [(3, "g".into())].into(),
        k_fixed64: [(4, "h".into())].into(),
        k_sfixed32: [(-5, "i".into())].into(),
        k_sfixed64: [(-6, "j".into())].into(),
        k_bool: [(true, "k".into()), (false, "l".into())].into(),
        k_string: [
            ("\"quoted\"\n".into(), "m".into()),
            (String::new(), "n".into()),
        ]
        .into(),
        ..Default::default()
    };
    agrees(&keys, false);
    let value = Value {
        text: "t".into(),
        n: 3,
        ..Default::default()
    };
    let values = Values {
        v_double: [("a".into(), f64::NEG_INFINITY)].into(),
        v_float: [("b".into(), -0.0)].into(),
        v_int32: [("c".into(), -1)].into(),
        v_int64: [("d".into(), i64::MIN)].into(),
        v_uint32: [("e".into(), 0)].into(),
        v_uint64: [("f".into(), u64::MAX)].into(),
        v_sint32: [("g".into(), i32::MIN)].into(),
        v_sint64: [("h".into(), 7)].into(),
        v_fixed32: [("i".into(), 8)].into(),
        v_fixed64: [("j".into(), 9)].into(),
        v_sfixed32: [("k".into(), -10)].into(),
        v_sfixed64: [("l".into(), -11)].into(),
        v_bool: [("m".into(), false)].into(),
        v_string: [("n".into(), String::new())].into(),
        v_bytes: [("o".into(), vec![0xff])].into(),
        v_enum: [
            ("p".into(), Suit::Spades.into()),
            ("q".into(), OpenEnum::Unknown(42)),
        ]
        .into(),
        v_message: [("r".into(), value.clone()), ("s".into(), Value::default())].into(),
        by_id: [(-1, value)].into(),
        flags: [(true, vec![1, 2])].into(),
        zig_suits: [(i64::MIN, Suit::Hearts.into())].into(),
        ..Default::default()
    };
    agrees(&values, false);
    let mut child = nested::Entry {
        tags: vec!["x".into()],
        ..Default::default()
    };
    child
        .children
        .insert("deeper".into(), nested::Entry::default());
    agrees(
        &Nested {
            entries: [("c".into(), child)].into(),
            ..Default::default()
        },
        false,
    );
}

#[test]
fn oneofs_with_every_kind_of_member() {
    use oneofs::{Clash, Level, Payload, Sparse, Two, WithOptional, clash, sparse, two};
    let payload = Payload {
        text: "p".into(),
        count: -1,
        items: vec![1, 2],
        child: Some(Box::new(Payload::default())),
        ..Default::default()
    };
    for first in [
        two::First::FString(String::new()),
        two::First::FBytes(vec![]),
        two::First::FMessage(payload.clone()),
        two::First::FEnum(Level::Unspecified.into()),
        two::First::FInt32(0),
        two::First::FDouble(f64::NAN),
    ] {
        for second in [
            None,
            Some(two::Second::SBool(false)),
            Some(two::Second::SSint64(i64::MIN)),
            Some(two::Second::SFixed32(0)),
            Some(two::Second::SMessage(Payload::default())),
            Some(two::Second::SFloat(-0.0)),
        ] {
            agrees(
                &Two {
                    id: 1,
                    first: Some(first.clone()),
                    middle: "m".into(),
                    second,
                    trailing: 0,
                    ..Default::default()
                },
                true,
            );
        }
    }
    agrees(
        &Clash {
            kind: Some(clash::Kind_::KMessage(Default::default())),
            shape: Some(clash::Shape_::SEnum(clash::Shape::Round.into())),
            plain_kind: Some(Default::default()),
            ..Default::default()
        },
        true,
    );
    agrees(
        &Sparse {
            only: Some(sparse::Only::High(0)),
            mixed: Some(sparse::Mixed::Early("e".into())),
            normal: 3,
            ..Default::default()
        },
        true,
    );
    agrees(
        &WithOptional {
            maybe: Some(0),
            real: Some(oneofs::with_optional::Real::B(0)),
            maybe_text: Some(String::new()),
            ..Default::default()
        },
        true,
    );
    // A oneof member switched on the wire: the last one wins both ways.
    let mut bytes = Two {
        first: Some(two::First::FMessage(payload)),
        ..Default::default()
    }
    .encode_to_vec();
    bytes.extend(
        Two {
            first: Some(two::First::FInt32(5)),
            ..Default::default()
        }
        .encode_to_vec(),
    );
    compare::<Two>(&bytes, &JsonOptions::default()).unwrap();
}

#[test]
fn proto2_presence_groups_closed_enums_and_extensions() {
    use p2::{Closed, Lists, Mode, Plain, WithGroups, closed, with_groups};
    agrees(
        &Plain {
            f_double: Some(0.0),
            f_int32: Some(0),
            f_uint64: Some(0),
            f_bool: Some(false),
            f_string: Some(String::new()),
            f_bytes: Some(vec![]),
            f_mode: Some(Mode::Off),
            f_child: Some(Box::new(Plain {
                f_sfixed64: Some(-1),
                ..Default::default()
            })),
            ..Default::default()
        },
        true,
    );
    agrees(&p2::Defaults::default(), true);
    agrees(
        &Lists {
            ints: vec![1, -1],
            packed_ints: vec![2],
            modes: vec![Mode::Auto, Mode::Backwards],
            packed_modes: vec![Mode::On],
            names: vec!["n".into()],
            doubles: vec![0.5],
            zigzags: vec![-3],
            ..Default::default()
        },
        true,
    );
    agrees(
        &WithGroups {
            before: Some(1),
            single: Some(with_groups::Single {
                a: Some(0),
                b: Some("b".into()),
                ..Default::default()
            }),
            multi: vec![
                with_groups::Multi {
                    c: Some(3),
                    deeper: vec![with_groups::multi::Deeper {
                        d: Some(-4),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                Default::default(),
            ],
            after: Some(9),
            ..Default::default()
        },
        true,
    );
    agrees(
        &Closed {
            single: Some(Mode::Backwards),
            list: vec![Mode::On],
            packed_list: vec![Mode::Auto, Mode::Off],
            by_id: [(1, Mode::On)].into(),
            choice: Some(closed::Choice::Chosen(Mode::Off)),
            must: Some(Mode::Off),
            ..Default::default()
        },
        false,
    );
    agrees(
        &p2::GroupInOneof {
            choice: Some(p2::group_in_oneof::Choice::Picked(Default::default())),
            ..Default::default()
        },
        true,
    );
    // Unknown numbers of a closed enum are unknown fields: left out.
    let bytes = [
        0x08, 0x09, 0x10, 0x01, 0x10, 0x63, 0x22, 0x04, 0x08, 0x01, 0x10, 0x63, 0x38, 0x00,
    ];
    compare::<Closed>(&bytes, &JsonOptions::default()).unwrap();
    assert_eq!(
        pool()
            .to_json("p2.Closed", &bytes, &JsonOptions::default())
            .unwrap(),
        r#"{"list":["MODE_ON"],"must":"MODE_OFF"}"#
    );
    // A missing required field fails both ways.
    let e = pool()
        .to_json("p2.Closed", &[0x08, 0x01], &JsonOptions::default())
        .unwrap_err();
    assert!(e.message().contains("p2.Closed.must"), "{e}");

    // Extensions, from the pool and from the registry.
    let mut host = ext::Host {
        id: Some(1),
        ..Default::default()
    };
    use rust_rpc::Extendable;
    host.set_extension(&ext::F_DOUBLE, f64::NAN);
    host.set_extension(&ext::F_SINT64, i64::MIN);
    host.set_extension(&ext::F_BYTES, vec![0xff]);
    host.set_extension(&ext::F_LEVEL, ext::Level::High);
    host.set_extension(
        &ext::F_NOTE,
        ext::Note {
            text: Some("n".into()),
            marks: vec![1],
            ..Default::default()
        },
    );
    host.set_extension(
        &ext::FGROUP,
        ext::FGroup {
            a: Some(0),
            ..Default::default()
        },
    );
    host.set_extension(&ext::D_INT32, 0);
    host.set_extension(&ext::R_PACKED, vec![-1, 1]);
    host.set_extension(&ext::R_STRING, vec!["a".into(), "b".into()]);
    host.set_extension(&ext::R_LEVEL, vec![ext::Level::Low]);
    host.set_extension(
        &ext::scope::IN_SCOPE,
        ext::Scope {
            v: Some(2),
            ..Default::default()
        },
    );
    host.set_extension(&ext::scope::F_INT32, 3);
    agrees(&host, true);
    let mut ed_host = ext::ed::EdHost::default();
    ed_host.set_extension(&ext::ed::E_PACKED, vec![1, 2]);
    ed_host.set_extension(&ext::ed::E_EXPANDED, vec![3]);
    ed_host.set_extension(&ext::ed::E_COLOR, OpenEnum::Unknown(9));
    ed_host.set_extension(
        &ext::ed::E_DELIMITED,
        ext::ed::Box {
            size: Some(4),
            ..Default::default()
        },
    );
    agrees(&ed_host, true);
}

#[test]
fn editions_presence_encodings_and_delimited_messages() {
    use ed::{Ajar, Child, Delimited, Presence, Repeats, Shut, Strings, delimited};
    let child = Child {
        value: Some(0),
        note: Some("n".into()),
        ..Default::default()
    };
    agrees(
        &Presence {
            explicit_int: Some(0),
            implicit_int: 0,
            required_int: Some(0),
            explicit_str: Some(String::new()),
            closed_enum: Some(Shut::Zero),
            open_enum: Some(OpenEnum::Unknown(5)),
            implicit_open_enum: Ajar::One.into(),
            implicit_bytes: vec![1],
            child: Some(child.clone()),
            ..Default::default()
        },
        true,
    );
    // LEGACY_REQUIRED is checked.
    let e = pool()
        .to_json("ed.Presence", &[], &JsonOptions::default())
        .unwrap_err();
    assert!(e.message().contains("required_int"), "{e}");
    agrees(
        &Repeats {
            packed: vec![1, -1],
            expanded: vec![2],
            closed_packed: vec![Shut::One],
            open_expanded: vec![OpenEnum::Unknown(-3)],
            fixed_expanded: vec![u64::MAX],
            ..Default::default()
        },
        true,
    );
    for either in [
        None,
        Some(delimited::Either::DelimitedMember(child.clone())),
        Some(delimited::Either::Number(0)),
    ] {
        agrees(
            &Delimited {
                child: Some(child.clone()),
                children: vec![Child::default(), child.clone()],
                length_prefixed: Some(child.clone()),
                either,
                ..Default::default()
            },
            true,
        );
    }
    agrees(
        &Strings {
            unchecked: Some("u".into()),
            checked: Some(String::new()),
            unchecked_list: vec!["l".into()],
            unchecked_map: [("k".into(), "v".into())].into(),
            ..Default::default()
        },
        false,
    );
    // A delimited message as a length-prefixed field is an unknown field.
    let bytes = [0x0a, 0x02, 0x08, 0x01];
    compare::<Delimited>(&bytes, &JsonOptions::default()).unwrap();
    assert_eq!(
        pool()
            .to_json("ed.Delimited", &bytes, &JsonOptions::default())
            .unwrap(),
        "{}"
    );
}

fn full_event() -> wkt_use::Event {
    use wkt::value::Kind;
    let num = |v: f64| wkt::Value {
        kind: Some(Kind::NumberValue(v)),
        ..Default::default()
    };
    let nested = wkt::Struct {
        fields: [("n".to_owned(), num(1.0))].into(),
        ..Default::default()
    };
    wkt_use::Event {
        at: Some(wkt::Timestamp {
            seconds: 1_700_000_000,
            nanos: 123,
            ..Default::default()
        }),
        took: Some(wkt::Duration {
            seconds: -1,
            nanos: -500,
            ..Default::default()
        }),
        detail: Some(wkt::Any::pack(&full_scalars())),
        attributes: Some(wkt::Struct {
            fields: [
                (
                    "null".to_owned(),
                    wkt::Value {
                        kind: Some(Kind::NullValue(wkt::NullValue::NullValue.into())),
                        ..Default::default()
                    },
                ),
                (
                    "s".to_owned(),
                    wkt::Value {
                        kind: Some(Kind::StructValue(nested.clone())),
                        ..Default::default()
                    },
                ),
                (
                    "l".to_owned(),
                    wkt::Value {
                        kind: Some(Kind::ListValue(wkt::ListValue {
                            values: vec![
                                num(-0.5),
                                wkt::Value {
                                    kind: Some(Kind::StringValue("x".into())),
                                    ..Default::default()
                                },
                            ],
                            ..Default::default()
                        })),
                        ..Default::default()
                    },
                ),
            ]
            .into(),
            ..Default::default()
        }),
        value: Some(wkt::Value {
            kind: Some(Kind::BoolValue(false)),
            ..Default::default()
        }),
        list: Some(wkt::ListValue::default()),
        null_value: wkt::NullValue::NullValue.into(),
        nothing: Some(wkt::Empty::default()),
        mask: Some(wkt::FieldMask {
            paths: vec!["a.b_c".into(), "d".into()],
            ..Default::default()
        }),
        w_double: Some(wkt::DoubleValue {
            value: f64::NAN,
            ..Default::default()
        }),
        w_float: Some(wkt::FloatValue::default()),
        w_int64: Some(wkt::Int64Value {
            value: i64::MIN,
            ..Default::default()
        }),
        w_uint64: Some(wkt::UInt64Value::default()),
        w_int32: Some(wkt::Int32Value {
            value: -1,
            ..Default::default()
        }),
        w_uint32: Some(wkt::UInt32Value::default()),
        w_bool: Some(wkt::BoolValue {
            value: true,
            ..Default::default()
        }),
        w_string: Some(wkt::StringValue::default()),
        w_bytes: Some(wkt::BytesValue {
            value: vec![0xfb],
            ..Default::default()
        }),
        history: vec![wkt::Timestamp::default()],
        extras: [("e".to_owned(), num(2.0))].into(),
        when: Some(wkt_use::event::When::Relative(wkt::Duration::default())),
        ..Default::default()
    }
}

#[test]
fn well_known_types_maps_oneofs_and_any() {
    agrees(&full_event(), false);
    agrees(&wkt_use::Event::default(), true);
    // An Any holding a pool type that holds an Any.
    let mut inner = full_event();
    inner.detail = Some(wkt::Any::pack(&wkt::Duration::default()));
    let outer = wkt_use::Event {
        detail: Some(wkt::Any::pack(&inner)),
        ..Default::default()
    };
    agrees(&outer, false);
    // Without the registry the pool still knows the packed type.
    let text = pool()
        .to_json(
            "wkt_use.Event",
            &outer.encode_to_vec(),
            &JsonOptions::default(),
        )
        .unwrap();
    let with = json::to_string_with(&outer, &JsonOptions::default().types(registry())).unwrap();
    assert!(same_json(&text, &with));
    assert!(json::to_string(&outer).is_err());
    // A Value holding NaN has no JSON, both ways.
    let nan = wkt_use::Event {
        value: Some(wkt::Value {
            kind: Some(wkt::value::Kind::NumberValue(f64::NAN)),
            ..Default::default()
        }),
        ..Default::default()
    };
    compare::<wkt_use::Event>(&nan.encode_to_vec(), &JsonOptions::default()).unwrap();
    // `null` for a Value field is a Value, for NullValue its one value.
    let b = pool()
        .from_json(
            "wkt_use.Event",
            r#"{"value": null, "nullValue": null, "list": [null], "extras": {"x": null}}"#,
            &JsonOptions::default(),
        )
        .unwrap();
    let typed: wkt_use::Event = json::from_str(
        r#"{"value": null, "nullValue": null, "list": [null], "extras": {"x": null}}"#,
    )
    .unwrap();
    assert_eq!(wkt_use::Event::decode_slice(&b).unwrap(), typed);
}

#[test]
fn descriptors_with_custom_options_write_as_with_a_registry() {
    // Every file here, as a FileDescriptorProto: options with extensions
    // (custom options), features, nested types, oneofs, services.
    for file in files() {
        agrees(file, true);
    }
}

#[test]
fn recursive_types_nest_to_the_binary_limit() {
    use g_recursion::recursion::Node;
    // 98 levels below the top: the JSON (with `"children": []` at the
    // bottom when defaults are written) stays within the reader's 100.
    let mut node = Node::default();
    for i in 0..98 {
        node = Node {
            value: i,
            next: Some(Box::new(node)),
            ..Default::default()
        };
    }
    agrees(&node, true);
    let mut deeper = node;
    for _ in 0..3 {
        deeper = Node {
            next: Some(Box::new(deeper)),
            ..Default::default()
        };
    }
    // 101 levels: both decoders refuse.
    assert!(Node::decode_slice(&deeper.encode_to_vec()).is_err());
    compare::<Node>(&deeper.encode_to_vec(), &JsonOptions::default()).unwrap();
}

// ---------------------------------------------------------------------------
// Random wire bytes, made from the descriptors.

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    /// A value biased towards the edges.
    fn value(&mut self) -> u64 {
        match self.below(6) {
            0 => 0,
            1 => u64::MAX,
            2 => self.below(300),
            3 => (self.below(2) << 63) | self.below(4),
            4 => u64::from(u32::MAX) + self.below(3) - 1,
            _ => self.next(),
        }
    }
}

struct Schema {
    messages: HashMap<String, DescriptorProto>,
    enums: HashMap<String, Vec<i32>>,
    extensions: HashMap<String, Vec<FieldDescriptorProto>>,
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut s = Schema {
            messages: HashMap::new(),
            enums: HashMap::new(),
            extensions: HashMap::new(),
        };
        fn walk(s: &mut Schema, scope: &str, m: &DescriptorProto) {
            let name = format!("{scope}.{}", m.name());
            for e in &m.enum_type {
                s.enums.insert(
                    format!("{name}.{}", e.name()),
                    e.value.iter().map(|v| v.number()).collect(),
                );
            }
            for x in &m.extension {
                s.extensions
                    .entry(x.extendee().to_owned())
                    .or_default()
                    .push(x.clone());
            }
            for n in &m.nested_type {
                walk(s, &name, n);
            }
            s.messages.insert(name, m.clone());
        }
        for f in files() {
            let scope = if f.package().is_empty() {
                String::new()
            } else {
                format!(".{}", f.package())
            };
            for e in &f.enum_type {
                s.enums.insert(
                    format!("{scope}.{}", e.name()),
                    e.value.iter().map(|v| v.number()).collect(),
                );
            }
            for x in &f.extension {
                s.extensions
                    .entry(x.extendee().to_owned())
                    .or_default()
                    .push(x.clone());
            }
            for m in &f.message_type {
                walk(&mut s, &scope, m);
            }
        }
        s
    })
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_tag(out: &mut Vec<u8>, number: i32, wire: u64) {
    put_varint(out, ((number as u64) << 3) | wire);
}

fn put_len(out: &mut Vec<u8>, payload: &[u8]) {
    put_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// Packable types' wire types (0 varint, 1 fixed64, 5 fixed32), or 2.
fn wire_type(t: Type) -> u64 {
    match t {
        Type::Double | Type::Fixed64 | Type::Sfixed64 => 1,
        Type::Float | Type::Fixed32 | Type::Sfixed32 => 5,
        Type::String | Type::Bytes | Type::Message => 2,
        Type::Group => 3,
        _ => 0,
    }
}

const ANY_TYPES: &[&str] = &[
    ".google.protobuf.Duration",
    ".google.protobuf.Value",
    ".google.protobuf.Any",
    ".google.protobuf.Empty",
    ".wkt_use.Event",
    ".scalars3.Scalars",
    ".maps.Values",
    ".p2.WithGroups",
];

struct Gen<'s> {
    rng: Rng,
    schema: &'s Schema,
    known_enums: bool,
}

impl Gen<'_> {
    fn message(&mut self, name: &str, depth: u32) -> Vec<u8> {
        let mut out = Vec::new();
        if name == ".google.protobuf.Any" && !self.rng.chance(8) {
            // type_url and value of a type someone knows, mostly.
            let t = ANY_TYPES[self.rng.below(ANY_TYPES.len() as u64) as usize];
            if !self.rng.chance(10) {
                put_tag(&mut out, 1, 2);
                put_len(
                    &mut out,
                    format!("type.googleapis.com/{}", &t[1..]).as_bytes(),
                );
            }
            let value = if depth < 4 {
                self.message(t, depth + 1)
            } else {
                Vec::new()
            };
            put_tag(&mut out, 2, 2);
            put_len(&mut out, &value);
            return out;
        }
        let Some(m) = self.schema.messages.get(name) else {
            return out;
        };
        let extensions = self.schema.extensions.get(name);
        let count = m.field.len() + extensions.map_or(0, Vec::len);
        for _ in 0..self.rng.below(9) {
            if count == 0 || self.rng.chance(15) {
                self.garbage(&mut out, m);
                continue;
            }
            let i = self.rng.below(count as u64) as usize;
            match m.field.get(i) {
                Some(f) => self.field(f, depth, &mut out),
                None => {
                    // Declared enum numbers only: generated code reads an
                    // extension holding an unknown closed-enum number as
                    // set to the default (`"[ext.d_level]": "LEVEL_HIGH"`
                    // for bytes holding 7), where the pool, like every
                    // other closed-enum field, leaves the unknown number
                    // out.
                    self.known_enums = true;
                    self.field(&extensions.unwrap()[i - m.field.len()], depth, &mut out);
                    self.known_enums = false;
                }
            }
        }
        out
    }

    /// An unknown field, or a known one of the wrong wire type.
    fn garbage(&mut self, out: &mut Vec<u8>, m: &DescriptorProto) {
        let number = match m
            .field
            .get(self.rng.below(m.field.len() as u64 + 1) as usize)
        {
            Some(f) if self.rng.chance(2) => f.number(),
            _ => 9000 + self.rng.below(3) as i32,
        };
        match self.rng.below(4) {
            0 => {
                put_tag(out, number, 0);
                put_varint(out, self.rng.value());
            }
            1 => {
                put_tag(out, number, 1);
                out.extend_from_slice(&self.rng.next().to_le_bytes());
            }
            2 => {
                put_tag(out, number, 2);
                let n = self.rng.below(4) as usize;
                let bytes: Vec<u8> = (0..n).map(|_| self.rng.next() as u8).collect();
                put_len(out, &bytes);
            }
            _ => {
                put_tag(out, number, 5);
                out.extend_from_slice(&(self.rng.next() as u32).to_le_bytes());
            }
        }
    }

    fn delimited(f: &FieldDescriptorProto) -> bool {
        use rust_rpc::wkt::feature_set::MessageEncoding;
        f.r#type == Some(Type::Group)
            || f.options
                .as_ref()
                .and_then(|o| o.features.as_ref())
                .and_then(|x| x.message_encoding)
                == Some(MessageEncoding::Delimited)
    }

    fn field(&mut self, f: &FieldDescriptorProto, depth: u32, out: &mut Vec<u8>) {
        let Some(t) = f.r#type else {
            return;
        };
        let repeated = f.label == Some(Label::Repeated);
        let entry = self
            .schema
            .messages
            .get(f.type_name())
            .filter(|m| m.options.as_ref().and_then(|o| o.map_entry) == Some(true));
        if let Some(entry) = entry {
            for _ in 0..self.rng.below(4) {
                let mut e = Vec::new();
                for kv in &entry.field {
                    if !self.rng.chance(6) {
                        self.one(kv, depth + 1, &mut e);
                    }
                }
                put_tag(out, f.number(), 2);
                put_len(out, &e);
            }
            return;
        }
        let n = if repeated { self.rng.below(4) } else { 1 };
        let packable = !matches!(t, Type::String | Type::Bytes | Type::Message | Type::Group);
        if repeated && packable && self.rng.chance(2) {
            let mut run = Vec::new();
            for _ in 0..n {
                self.scalar(f, t, &mut run);
            }
            put_tag(out, f.number(), 2);
            put_len(out, &run);
            return;
        }
        for _ in 0..n {
            self.one(f, depth, out);
        }
    }

    fn one(&mut self, f: &FieldDescriptorProto, depth: u32, out: &mut Vec<u8>) {
        let Some(t) = f.r#type else {
            return;
        };
        match t {
            Type::Message | Type::Group => {
                if depth >= 5 {
                    return;
                }
                let body = self.message(f.type_name(), depth + 1);
                if Self::delimited(f) {
                    put_tag(out, f.number(), 3);
                    out.extend_from_slice(&body);
                    put_tag(out, f.number(), 4);
                } else {
                    put_tag(out, f.number(), 2);
                    put_len(out, &body);
                }
            }
            _ => {
                put_tag(out, f.number(), wire_type(t));
                self.scalar(f, t, out);
            }
        }
    }

    fn scalar(&mut self, f: &FieldDescriptorProto, t: Type, out: &mut Vec<u8>) {
        match t {
            Type::String | Type::Bytes => {
                let n = self.rng.below(5) as usize;
                let mut s: Vec<u8> = (0..n).map(|_| b'a' + (self.rng.below(26) as u8)).collect();
                if self.rng.chance(4) {
                    s.extend_from_slice("é\"\\\n".as_bytes());
                }
                if t == Type::String && self.rng.chance(30) {
                    s.push(0xff);
                }
                put_len(out, &s);
            }
            Type::Enum => {
                let values = self.schema.enums.get(f.type_name());
                let v = match values {
                    Some(v) if !v.is_empty() && (self.known_enums || !self.rng.chance(5)) => {
                        i64::from(v[self.rng.below(v.len() as u64) as usize])
                    }
                    _ => self.rng.below(12) as i64 - 3,
                };
                put_varint(out, v as u64);
            }
            Type::Double => {
                let v = match self.rng.below(6) {
                    0 => f64::NAN,
                    1 => f64::NEG_INFINITY,
                    2 => -0.0,
                    3 => 5e-324,
                    4 => 0.1,
                    _ => f64::from_bits(self.rng.next()),
                };
                out.extend_from_slice(&v.to_bits().to_le_bytes());
            }
            Type::Float => {
                let v = match self.rng.below(5) {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    2 => -0.0,
                    3 => 0.1,
                    _ => f32::from_bits(self.rng.next() as u32),
                };
                out.extend_from_slice(&v.to_bits().to_le_bytes());
            }
            _ => match wire_type(t) {
                1 => out.extend_from_slice(&self.rng.value().to_le_bytes()),
                5 => out.extend_from_slice(&(self.rng.value() as u32).to_le_bytes()),
                _ => put_varint(out, self.rng.value()),
            },
        }
    }
}

/// How JSON `text` reads as an `M`, generated and dynamic: the same
/// message, or the same error (message, path and position).
fn compare_reading<M: Message + JsonValue>(
    text: &str,
    options: &JsonOptions,
) -> Result<(), String> {
    let dynamic = pool().from_json(M::NAME, text, options);
    let typed = json::from_str_with::<M>(text, options);
    match (dynamic, typed) {
        (Ok(bytes), Ok(typed)) => {
            let mut m = M::default();
            m.merge_partial(&bytes).map_err(|e| e.to_string())?;
            let (d, t) = (
                json::to_string_with(&m, options),
                json::to_string_with(&typed, options),
            );
            match (d, t) {
                (Ok(d), Ok(t)) if same_json(&d, &t) => Ok(()),
                (Err(_), Err(_)) => Ok(()),
                (d, t) => Err(format!("{}: {text} reads as {d:?} vs {t:?}", M::NAME)),
            }
        }
        (Err(d), Err(t)) if d == t => Ok(()),
        (d, t) => Err(format!("{}: {text} reads as {d:?} vs {t:?}", M::NAME)),
    }
}

/// Changes one member of a JSON value somewhere inside `v`.
fn mutate(v: &mut wkt::Value, rng: &mut Rng) {
    use wkt::value::Kind;
    let leaf = |rng: &mut Rng| -> wkt::Value {
        let kind = match rng.below(12) {
            0 => Kind::NullValue(wkt::NullValue::NullValue.into()),
            1 => Kind::NumberValue(0.0),
            2 => Kind::NumberValue(-1.5),
            3 => Kind::NumberValue(1e300),
            4 => Kind::StringValue("x".into()),
            5 => Kind::StringValue("NaN".into()),
            6 => Kind::StringValue("-12".into()),
            7 => Kind::BoolValue(true),
            8 => Kind::ListValue(Default::default()),
            9 => Kind::StructValue(Default::default()),
            10 => Kind::ListValue(wkt::ListValue {
                values: vec![wkt::Value {
                    kind: Some(Kind::NullValue(wkt::NullValue::NullValue.into())),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            _ => Kind::StringValue("1970-01-01T00:00:00Z".into()),
        };
        wkt::Value {
            kind: Some(kind),
            ..Default::default()
        }
    };
    match &mut v.kind {
        Some(Kind::StructValue(s)) if !s.fields.is_empty() => {
            let mut keys: Vec<String> = s.fields.keys().cloned().collect();
            keys.sort();
            let key = keys[rng.below(keys.len() as u64) as usize].clone();
            match rng.below(4) {
                0 | 1 => {
                    if let Some(inner) = s.fields.get_mut(&key) {
                        mutate(inner, rng);
                    }
                }
                2 => {
                    s.fields.insert(key, leaf(rng));
                }
                _ => {
                    s.fields.insert(format!("{key}_"), leaf(rng));
                }
            }
        }
        Some(Kind::ListValue(l)) if !l.values.is_empty() => {
            let i = rng.below(l.values.len() as u64) as usize;
            if rng.chance(2) {
                mutate(&mut l.values[i], rng);
            } else {
                l.values[i] = leaf(rng);
            }
        }
        _ => *v = leaf(rng),
    }
}

type Runner = fn(&[u8], &JsonOptions) -> Result<(), String>;
type Reader = fn(&str, &JsonOptions) -> Result<(), String>;

macro_rules! runners {
    ($($t:ty),* $(,)?) => {
        &[$((<$t as Message>::NAME, compare::<$t> as Runner, compare_reading::<$t> as Reader)),*]
    };
}

const TYPES: &[(&str, Runner, Reader)] = runners![
    scalars3::Scalars,
    scalars3::Optionals,
    scalars3::Packed,
    scalars3::Unpacked,
    scalars3::UsesLegacy,
    maps::Keys,
    maps::Values,
    maps::Nested,
    oneofs::Two,
    oneofs::Clash,
    oneofs::Sparse,
    oneofs::WithOptional,
    p2::Plain,
    p2::Defaults,
    p2::Wrapper,
    p2::Lists,
    p2::WithGroups,
    p2::Closed,
    p2::NonZero,
    p2::GroupInOneof,
    p2::Extendable,
    ed::Presence,
    ed::Repeats,
    ed::Delimited,
    ed::Strings,
    ed::file_level::Defaults,
    wkt_use::Event,
    g_recursion::recursion::Tree,
    g_recursion::recursion::Expr,
    ext::Host,
    ext::ed::EdHost,
    wkt::FileDescriptorProto,
    wkt::Any,
    wkt::Struct,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    #[test]
    fn random_wire_bytes_agree_with_generated_code(seed: u64, cut: u8) {
        let mut g = Gen { rng: Rng(seed), schema: schema(), known_enums: false };
        let (name, run, _) = TYPES[g.rng.below(TYPES.len() as u64) as usize];
        let mut bytes = g.message(&format!(".{name}"), 0);
        // Sometimes cut short, to compare the failures too.
        if cut < 24 && !bytes.is_empty() {
            bytes.truncate(usize::from(cut) % bytes.len());
        }
        let sets = option_sets();
        let options = &sets[g.rng.below(sets.len() as u64) as usize];
        if let Err(why) = run(&bytes, options) {
            return Err(TestCaseError::fail(format!("{why}\nbytes: {bytes:?}\noptions: {options:?}")));
        }
    }

    #[test]
    fn changed_json_reads_the_same_as_generated_code_reads_it(seed: u64, duplicate: bool) {
        let mut g = Gen { rng: Rng(seed), schema: schema(), known_enums: false };
        let (name, _, read) = TYPES[g.rng.below(TYPES.len() as u64) as usize];
        let bytes = g.message(&format!(".{name}"), 0);
        let sets = option_sets();
        let options = sets[g.rng.below(sets.len() as u64) as usize]
            .clone()
            .ignore_unknown_fields(g.rng.chance(3));
        let Ok(text) = pool().to_json(name, &bytes, &options) else {
            return Ok(());
        };
        let mut value: wkt::Value = json::from_str(&text).unwrap();
        mutate(&mut value, &mut g.rng);
        let mut changed = json::to_string(&value).unwrap();
        // A member given twice.
        if duplicate && changed.len() > 2 && changed.starts_with('{') {
            if let Some(first) = text.strip_prefix('{').and_then(|t| t.split(',').next()) {
                if first.contains(':') && !first.contains('{') && !first.contains('[') {
                    changed = format!("{{{first},{}", &changed[1..]);
                }
            }
        }
        if let Err(why) = read(&changed, &options) {
            return Err(TestCaseError::fail(format!("{why}\noptions: {options:?}")));
        }
    }
}
