#![deny(warnings)]
//! The generated code of `testdata/scalars3`: proto3 scalars, presence,
//! packed and expanded repeated fields, enums and unknown fields.

pub mod generated {
    include!("../../testdata/scalars3/expected/mod.rs");
}

use generated::scalars3::{
    Color, Empty, Optionals, Packed, Scalars, Unpacked, UsesLegacy, scalars,
};
use rust_rpc::{DecodeErrorKind, Enumeration, Message, OpenEnum};

fn full_scalars() -> Scalars {
    Scalars {
        f_double: -1.25e300,
        f_float: 3.5,
        f_int32: -123_456,
        f_int64: i64::MIN,
        f_uint32: u32::MAX,
        f_uint64: u64::MAX,
        f_sint32: i32::MIN,
        f_sint64: -9_876_543_210,
        f_fixed32: 0xdead_beef,
        f_fixed64: 0x0123_4567_89ab_cdef,
        f_sfixed32: -5,
        f_sfixed64: i64::MAX,
        f_bool: true,
        f_string: "grüße, 世界".to_owned(),
        f_bytes: vec![0, 1, 2, 0xff],
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
        f_inner: Some(scalars::nested::Inner {
            label: "x".to_owned(),
            ..Default::default()
        }),
        f_depth: scalars::nested::Depth::Shallow.into(),
        f_max_tag: "max".to_owned(),
        ..Default::default()
    }
}

fn err_kind<M: Message>(bytes: &[u8]) -> DecodeErrorKind {
    match M::decode_slice(bytes) {
        Ok(m) => panic!("decoding {bytes:02x?} should fail, got {m:?}"),
        Err(e) => e.kind(),
    }
}

#[test]
fn every_scalar_round_trips() {
    let m = full_scalars();
    let bytes = m.encode_to_vec();
    assert_eq!(bytes.len(), m.encoded_len());
    assert_eq!(Scalars::decode(&bytes[..]).unwrap(), m);
    assert_eq!(Scalars::decode_slice(&bytes).unwrap(), m);
    assert_eq!(Scalars::decode_bytes(&bytes.clone().into()).unwrap(), m);
    // Encoding is deterministic for messages without maps.
    assert_eq!(
        Scalars::decode_slice(&bytes).unwrap().encode_to_vec(),
        bytes
    );
}

#[test]
fn implicit_presence_skips_defaults() {
    assert!(Scalars::default().encode_to_vec().is_empty());
    assert_eq!(Scalars::default().encoded_len(), 0);
    // An explicit default on the wire decodes to the same (default) value.
    let m = Scalars::decode_slice(&[0x18, 0x00, 0x68, 0x00, 0x72, 0x00]).unwrap();
    assert_eq!(m, Scalars::default());
    assert!(m.encode_to_vec().is_empty());
    // -0.0 is not the default bit pattern, so it is written, like protobuf does.
    let m = Scalars {
        f_double: -0.0,
        ..Default::default()
    };
    assert_eq!(m.encode_to_vec(), [0x09, 0, 0, 0, 0, 0, 0, 0, 0x80]);
}

#[test]
fn exact_bytes_from_the_encoding_spec() {
    // The spec's first example: field 1, varint 150.
    let n = scalars::Nested {
        a: 150,
        ..Default::default()
    };
    assert_eq!(n.encode_to_vec(), [0x08, 0x96, 0x01]);
    assert_eq!(
        scalars::Nested::decode_slice(&[0x08, 0x96, 0x01])
            .unwrap()
            .a,
        150
    );

    let cases: Vec<(Scalars, Vec<u8>)> = vec![
        (
            Scalars {
                f_double: 1.0,
                ..Default::default()
            },
            vec![0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f],
        ),
        (
            Scalars {
                f_float: 1.0,
                ..Default::default()
            },
            vec![0x15, 0, 0, 0x80, 0x3f],
        ),
        // int32 -1 is sign-extended to ten bytes.
        (
            Scalars {
                f_int32: -1,
                ..Default::default()
            },
            vec![
                0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
        ),
        (
            Scalars {
                f_uint32: 300,
                ..Default::default()
            },
            vec![0x28, 0xac, 0x02],
        ),
        // Zigzag: -1 -> 1, -2 -> 3, 2147483647 -> 4294967294.
        (
            Scalars {
                f_sint32: -1,
                ..Default::default()
            },
            vec![0x38, 0x01],
        ),
        (
            Scalars {
                f_sint64: -2,
                ..Default::default()
            },
            vec![0x40, 0x03],
        ),
        (
            Scalars {
                f_sint32: i32::MAX,
                ..Default::default()
            },
            vec![0x38, 0xfe, 0xff, 0xff, 0xff, 0x0f],
        ),
        (
            Scalars {
                f_fixed32: 1,
                ..Default::default()
            },
            vec![0x4d, 1, 0, 0, 0],
        ),
        (
            Scalars {
                f_fixed64: 2,
                ..Default::default()
            },
            vec![0x51, 2, 0, 0, 0, 0, 0, 0, 0],
        ),
        (
            Scalars {
                f_sfixed32: -2,
                ..Default::default()
            },
            vec![0x5d, 0xfe, 0xff, 0xff, 0xff],
        ),
        (
            Scalars {
                f_bool: true,
                ..Default::default()
            },
            vec![0x68, 0x01],
        ),
        // The spec's string example: "testing".
        (
            Scalars {
                f_string: "testing".to_owned(),
                ..Default::default()
            },
            vec![0x72, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67],
        ),
        (
            Scalars {
                f_bytes: vec![0xff],
                ..Default::default()
            },
            vec![0x7a, 0x01, 0xff],
        ),
        // Field 16 needs a two-byte tag.
        (
            Scalars {
                f_big_tag: 1,
                ..Default::default()
            },
            vec![0x80, 0x01, 0x01],
        ),
        (
            Scalars {
                f_nested: Some(scalars::Nested {
                    a: 1,
                    ..Default::default()
                }),
                ..Default::default()
            },
            vec![0x8a, 0x01, 0x02, 0x08, 0x01],
        ),
        // An empty sub-message is still written (explicit presence).
        (
            Scalars {
                f_nested: Some(Default::default()),
                ..Default::default()
            },
            vec![0x8a, 0x01, 0x00],
        ),
        // Enum -1 is a ten-byte varint like int32.
        (
            Scalars {
                f_kind: scalars::Kind::Negative.into(),
                ..Default::default()
            },
            vec![
                0x90, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
        ),
        // Field 536870911 (the largest): tag (n << 3) | 2 = 0xfffffffa.
        (
            Scalars {
                f_max_tag: "a".to_owned(),
                ..Default::default()
            },
            vec![0xfa, 0xff, 0xff, 0xff, 0x0f, 0x01, b'a'],
        ),
    ];
    for (m, expected) in cases {
        assert_eq!(m.encode_to_vec(), expected, "{m:?}");
        assert_eq!(m.encoded_len(), expected.len());
        assert_eq!(Scalars::decode_slice(&expected).unwrap(), m);
    }
}

#[test]
fn fields_are_written_in_field_number_order() {
    let m = Scalars {
        f_int32: 1,
        f_bool: true,
        f_double: 2.0,
        ..Default::default()
    };
    assert_eq!(
        m.encode_to_vec(),
        [0x09, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x18, 0x01, 0x68, 0x01]
    );
    // Any order is accepted on decode.
    let reordered = [0x68, 0x01, 0x18, 0x01, 0x09, 0, 0, 0, 0, 0, 0, 0, 0x40];
    assert_eq!(Scalars::decode_slice(&reordered).unwrap(), m);
}

#[test]
fn last_value_wins_and_sub_messages_merge() {
    // f_int32 = 1 then f_int32 = 2: the last one wins.
    let m = Scalars::decode_slice(&[0x18, 0x01, 0x18, 0x02]).unwrap();
    assert_eq!(m.f_int32, 2);
    // f_nested {a: 1} then f_nested {inner {label: "x"}}: merged.
    let mut bytes = vec![0x8a, 0x01, 0x02, 0x08, 0x01];
    bytes.extend([0x8a, 0x01, 0x05, 0x12, 0x03, 0x0a, 0x01, b'x']);
    let m = Scalars::decode_slice(&bytes).unwrap();
    let nested = m.f_nested.unwrap();
    assert_eq!(nested.a, 1);
    assert_eq!(nested.inner.unwrap().label, "x");
    // merge_slice on an existing message: scalars replaced, repeated appended.
    let mut p = Packed {
        r_int32: vec![1],
        r_string: vec!["a".into()],
        ..Default::default()
    };
    p.merge_slice(
        &Packed {
            r_int32: vec![2, 3],
            r_string: vec!["b".into()],
            ..Default::default()
        }
        .encode_to_vec(),
    )
    .unwrap();
    assert_eq!(p.r_int32, [1, 2, 3]);
    assert_eq!(p.r_string, ["a", "b"]);
}

#[test]
fn float_special_values_round_trip() {
    for v in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        -0.0,
        5e-324,
    ] {
        let m = Scalars {
            f_double: v,
            f_float: v as f32,
            ..Default::default()
        };
        let back = Scalars::decode_slice(&m.encode_to_vec()).unwrap();
        assert_eq!(back.f_double.to_bits(), v.to_bits());
        assert_eq!(back.f_float.to_bits(), (v as f32).to_bits());
    }
}

#[test]
fn proto3_optional_tracks_presence() {
    assert!(Optionals::default().encode_to_vec().is_empty());
    // Some(default) is written: presence is explicit.
    let zeros = Optionals {
        o_double: Some(0.0),
        o_float: Some(0.0),
        o_int32: Some(0),
        o_int64: Some(0),
        o_uint32: Some(0),
        o_uint64: Some(0),
        o_sint32: Some(0),
        o_sint64: Some(0),
        o_fixed32: Some(0),
        o_fixed64: Some(0),
        o_sfixed32: Some(0),
        o_sfixed64: Some(0),
        o_bool: Some(false),
        o_string: Some(String::new()),
        o_bytes: Some(Vec::new()),
        o_color: Some(Color::Unspecified.into()),
        o_nested: Some(Default::default()),
        ..Default::default()
    };
    let bytes = zeros.encode_to_vec();
    assert_eq!(&bytes[..3], [0x09, 0, 0]);
    assert_eq!(Optionals::decode_slice(&bytes).unwrap(), zeros);
    let o = Optionals {
        o_int32: Some(0),
        ..Default::default()
    };
    assert_eq!(o.encode_to_vec(), [0x18, 0x00]);
    let o = Optionals {
        o_string: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(o.encode_to_vec(), [0x72, 0x00]);
    // Getters fall back to the type's default.
    let empty = Optionals::default();
    assert_eq!(empty.o_int32(), 0);
    assert_eq!(empty.o_string(), "");
    assert_eq!(empty.o_bytes(), b"");
    assert_eq!(empty.o_color(), OpenEnum::Known(Color::Unspecified));
    let set = Optionals {
        o_int32: Some(9),
        o_string: Some("s".into()),
        ..Default::default()
    };
    assert_eq!((set.o_int32(), set.o_string()), (9, "s"));

    let full = Optionals {
        o_double: Some(1.5),
        o_float: Some(-2.5),
        o_int32: Some(-1),
        o_int64: Some(-2),
        o_uint32: Some(3),
        o_uint64: Some(4),
        o_sint32: Some(-5),
        o_sint64: Some(-6),
        o_fixed32: Some(7),
        o_fixed64: Some(8),
        o_sfixed32: Some(-9),
        o_sfixed64: Some(-10),
        o_bool: Some(true),
        o_string: Some("eleven".into()),
        o_bytes: Some(vec![12]),
        o_color: Some(OpenEnum::Unknown(13)),
        o_nested: Some(scalars::Nested {
            a: 14,
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        Optionals::decode_slice(&full.encode_to_vec()).unwrap(),
        full
    );
}

fn full_packed() -> Packed {
    Packed {
        r_double: vec![1.5, -0.0, f64::INFINITY],
        r_float: vec![2.5, -1.0],
        r_int32: vec![3, 270, 86942, -1],
        r_int64: vec![i64::MIN, 0, i64::MAX],
        r_uint32: vec![0, u32::MAX],
        r_uint64: vec![u64::MAX, 1],
        r_sint32: vec![-1, 1, i32::MIN],
        r_sint64: vec![-2, i64::MIN],
        r_fixed32: vec![1, 2, 3],
        r_fixed64: vec![4, 5],
        r_sfixed32: vec![-6, 7],
        r_sfixed64: vec![-8],
        r_bool: vec![true, false, true],
        r_color: vec![
            Color::Red.into(),
            OpenEnum::Unknown(99),
            Color::Infrared.into(),
        ],
        r_string: vec!["a".into(), String::new()],
        r_bytes: vec![vec![], vec![1, 2]],
        r_nested: vec![
            scalars::Nested {
                a: 1,
                ..Default::default()
            },
            Default::default(),
        ],
        ..Default::default()
    }
}

fn as_unpacked(p: &Packed) -> Unpacked {
    Unpacked {
        r_double: p.r_double.clone(),
        r_float: p.r_float.clone(),
        r_int32: p.r_int32.clone(),
        r_int64: p.r_int64.clone(),
        r_uint32: p.r_uint32.clone(),
        r_uint64: p.r_uint64.clone(),
        r_sint32: p.r_sint32.clone(),
        r_sint64: p.r_sint64.clone(),
        r_fixed32: p.r_fixed32.clone(),
        r_fixed64: p.r_fixed64.clone(),
        r_sfixed32: p.r_sfixed32.clone(),
        r_sfixed64: p.r_sfixed64.clone(),
        r_bool: p.r_bool.clone(),
        r_color: p.r_color.clone(),
        ..Default::default()
    }
}

#[test]
fn packed_and_expanded_round_trip_and_read_each_other() {
    let p = full_packed();
    let packed_bytes = p.encode_to_vec();
    assert_eq!(packed_bytes.len(), p.encoded_len());
    assert_eq!(Packed::decode_slice(&packed_bytes).unwrap(), p);

    let u = as_unpacked(&p);
    let unpacked_bytes = u.encode_to_vec();
    assert_eq!(unpacked_bytes.len(), u.encoded_len());
    assert_eq!(Unpacked::decode_slice(&unpacked_bytes).unwrap(), u);

    // Each reads the other's encoding (fields 15..17 become unknown to Unpacked).
    let mut u_from_packed = Unpacked::decode_slice(&packed_bytes).unwrap();
    assert!(!u_from_packed.unknown_fields.is_empty());
    u_from_packed.unknown_fields.clear();
    assert_eq!(u_from_packed, u);
    let mut p_from_unpacked = Packed::decode_slice(&unpacked_bytes).unwrap();
    assert!(p_from_unpacked.unknown_fields.is_empty());
    p_from_unpacked.r_string = p.r_string.clone();
    p_from_unpacked.r_bytes = p.r_bytes.clone();
    p_from_unpacked.r_nested = p.r_nested.clone();
    assert_eq!(p_from_unpacked, p);
}

#[test]
fn packed_exact_bytes() {
    // The spec's packed example: 3, 270, 86942 (here as field 3).
    let p = Packed {
        r_int32: vec![3, 270, 86942],
        ..Default::default()
    };
    assert_eq!(
        p.encode_to_vec(),
        [0x1a, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05]
    );
    let u = Unpacked {
        r_int32: vec![3, 270],
        ..Default::default()
    };
    assert_eq!(u.encode_to_vec(), [0x18, 0x03, 0x18, 0x8e, 0x02]);
    let p = Packed {
        r_fixed32: vec![1, 2],
        r_bool: vec![true, false],
        ..Default::default()
    };
    assert_eq!(
        p.encode_to_vec(),
        [0x4a, 0x08, 1, 0, 0, 0, 2, 0, 0, 0, 0x6a, 0x02, 0x01, 0x00]
    );
    let u = Unpacked {
        r_bool: vec![true, false],
        r_double: vec![1.0],
        ..Default::default()
    };
    assert_eq!(
        u.encode_to_vec(),
        [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x68, 0x01, 0x68, 0x00]
    );
    // An empty repeated field writes nothing, not an empty packed run.
    assert!(
        Packed {
            r_int32: vec![],
            ..Default::default()
        }
        .encode_to_vec()
        .is_empty()
    );
    // Packed runs and single values mix and append in order.
    let mixed = [0x1a, 0x02, 0x01, 0x02, 0x18, 0x03, 0x1a, 0x01, 0x04];
    assert_eq!(Packed::decode_slice(&mixed).unwrap().r_int32, [1, 2, 3, 4]);
    assert_eq!(
        Unpacked::decode_slice(&mixed).unwrap().r_int32,
        [1, 2, 3, 4]
    );
    // An empty packed run is fine.
    assert!(
        Packed::decode_slice(&[0x1a, 0x00])
            .unwrap()
            .r_int32
            .is_empty()
    );
}

#[test]
fn open_enums_keep_unknown_values() {
    // f_kind (field 18) = 7, not declared.
    let bytes = [0x90, 0x01, 0x07];
    let m = Scalars::decode_slice(&bytes).unwrap();
    assert_eq!(m.f_kind, OpenEnum::Unknown(7));
    assert_eq!(m.f_kind.known(), None);
    assert!(m.unknown_fields.is_empty());
    assert_eq!(m.encode_to_vec(), bytes);
    // Declared negative values decode as known.
    let m = Scalars {
        f_kind: OpenEnum::from_i32(i32::MIN),
        ..Default::default()
    };
    assert_eq!(m.f_kind, OpenEnum::Known(scalars::Kind::VeryNegative));
    assert_eq!(Scalars::decode_slice(&m.encode_to_vec()).unwrap(), m);
    // Repeated: unknown values stay in place, packed or not.
    let p = Packed::decode_slice(&[0x72, 0x03, 0x01, 0x63, 0x03]).unwrap();
    assert_eq!(
        p.r_color,
        [
            OpenEnum::Known(Color::Red),
            OpenEnum::Unknown(99),
            OpenEnum::Known(Color::Blue)
        ]
    );
    let u = Unpacked::decode_slice(&[0x70, 0x63]).unwrap();
    assert_eq!(u.r_color, [OpenEnum::<Color>::Unknown(99)]);
    assert_eq!(u.encode_to_vec(), [0x70, 0x63]);
}

#[test]
fn enum_aliases_and_names() {
    assert_eq!(Color::COLOR_VERDANT, Color::Green);
    assert_eq!(Color::COLOR_AZURE, Color::Blue);
    assert_eq!(Color::from_str_name("COLOR_VERDANT"), Some(Color::Green));
    assert_eq!(Color::from_str_name("COLOR_GREEN"), Some(Color::Green));
    assert_eq!(Color::Green.as_str_name(), "COLOR_GREEN");
    assert_eq!(Color::from_i32(-7), Some(Color::Infrared));
    assert_eq!(Color::Infrared.to_i32(), -7);
    assert_eq!(Color::from_i32(4), None);
    assert_eq!(Color::default(), Color::Unspecified);
    assert_eq!(scalars::Kind::Max as i32, i32::MAX);
    assert_eq!(
        scalars::Kind::from_str_name("KIND_NEGATIVE"),
        Some(scalars::Kind::Negative)
    );
    assert_eq!(scalars::nested::Depth::Deep.as_str_name(), "DEPTH_DEEP");
}

#[test]
#[allow(deprecated)]
fn deprecated_items_still_work() {
    use generated::scalars3::{Legacy, OldEnum, legacy};
    let l = Legacy {
        old: 5,
        mode: OldEnum::Gone.into(),
        choice: Some(legacy::Choice::OldName("n".into())),
        ..Default::default()
    };
    let u = UsesLegacy {
        legacy: Some(l.clone()),
        modes: vec![OldEnum::Gone.into()],
        ..Default::default()
    };
    let back = UsesLegacy::decode_slice(&u.encode_to_vec()).unwrap();
    assert_eq!(back, u);
    assert_eq!(
        back.legacy.unwrap().choice,
        Some(legacy::Choice::OldName("n".into()))
    );
}

#[test]
fn unknown_fields_survive_a_round_trip() {
    // Every field is unknown to `Empty`: it keeps them and writes them back as they were.
    let full = full_scalars();
    let bytes = full.encode_to_vec();
    let empty = Empty::decode_slice(&bytes).unwrap();
    assert_eq!(empty.unknown_fields.as_bytes(), &bytes[..]);
    assert_eq!(empty.encoded_len(), bytes.len());
    assert_eq!(empty.encode_to_vec(), bytes);
    let numbers: Vec<u32> = empty.unknown_fields.iter().map(|f| f.unwrap().0).collect();
    assert_eq!(
        numbers,
        [
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
            10,
            11,
            12,
            13,
            14,
            15,
            16,
            17,
            18,
            19,
            20,
            536_870_911
        ]
    );

    // A type that knows some of the fields: the rest are kept, and a field it
    // declares with another wire type is unknown too (Scalars.f_double is
    // fixed64, Nested.a is a varint).
    let nested = scalars::Nested::decode_slice(&bytes).unwrap();
    assert_eq!(nested.a, 0);
    assert!(nested.inner.is_none());
    let again = nested.encode_to_vec();
    assert_eq!(again, bytes);
    assert_eq!(Scalars::decode_slice(&again).unwrap(), full);

    // Hand-written unknown fields of every wire type, after a known one.
    let extra = [
        0x08, 0x05, // a = 5 (known)
        0xa0, 0x06, 0x96, 0x01, // field 100 varint 150
        0xa9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, // field 101 fixed64
        0xb2, 0x06, 0x02, b'h', b'i', // field 102 length-delimited
        0xbb, 0x06, 0x08, 0x01, 0xbc, 0x06, // field 103 group { 1: 1 }
        0xc5, 0x06, 9, 9, 9, 9, // field 104 fixed32
    ];
    let n = scalars::Nested::decode_slice(&extra).unwrap();
    assert_eq!(n.a, 5);
    assert_eq!(n.unknown_fields.as_bytes(), &extra[2..]);
    assert_eq!(n.encode_to_vec(), extra);
    let items: Vec<_> = n.unknown_fields.iter().map(Result::unwrap).collect();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0].0, 100);
    assert_eq!(items[2].2, b"hi");
    // Unknown fields are dropped by clear().
    let mut n = n;
    n.clear();
    assert_eq!(n, scalars::Nested::default());
}

#[test]
fn length_delimited_and_buffer_apis() {
    let m = full_scalars();
    let mut buf = Vec::new();
    m.encode_length_delimited(&mut buf).unwrap();
    m.encode_length_delimited(&mut buf).unwrap();
    let len = m.encoded_len();
    assert!(len > 127, "needs a two-byte length prefix");
    assert_eq!(buf.len(), 2 * (len + 2));
    assert_eq!(Scalars::decode_length_delimited(&buf[..]).unwrap(), m);
    // A too-short buffer is an error, not a panic.
    let mut small = [0u8; 4];
    let err = m.encode(&mut &mut small[..]).unwrap_err();
    assert_eq!(err.required_capacity(), len);
    assert_eq!(err.remaining(), 4);
    // A length prefix past the end.
    let err = Scalars::decode_length_delimited(&[0x05, 0x18, 0x01][..]).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::LengthOutOfBounds);
    // Merging through a non-contiguous Buf.
    let bytes = m.encode_to_vec();
    let (a, b) = bytes.split_at(bytes.len() / 2);
    let chained = bytes::Buf::chain(a, b);
    assert_eq!(Scalars::decode(chained).unwrap(), m);
}

#[test]
fn malformed_input_is_an_error() {
    use DecodeErrorKind::*;
    // Truncated varint value, and truncated tag.
    assert_eq!(err_kind::<Scalars>(&[0x18, 0x96]), Truncated);
    assert_eq!(err_kind::<Scalars>(&[0x80]), Truncated);
    // Truncated fixed-width values.
    assert_eq!(err_kind::<Scalars>(&[0x09, 1, 2, 3]), Truncated);
    assert_eq!(err_kind::<Scalars>(&[0x4d, 1]), Truncated);
    // Length past the end, for a string, a message, a packed run and an unknown field.
    assert_eq!(err_kind::<Scalars>(&[0x72, 0x05, b'a']), LengthOutOfBounds);
    assert_eq!(
        err_kind::<Scalars>(&[0x8a, 0x01, 0x03, 0x08]),
        LengthOutOfBounds
    );
    assert_eq!(err_kind::<Packed>(&[0x1a, 0x04, 0x01]), LengthOutOfBounds);
    assert_eq!(err_kind::<Empty>(&[0x0a, 0x7f]), LengthOutOfBounds);
    // A huge length does not allocate or overflow.
    assert_eq!(
        err_kind::<Scalars>(&[0x72, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        LengthOutOfBounds
    );
    // Field number 0.
    assert_eq!(err_kind::<Scalars>(&[0x00, 0x01]), InvalidFieldNumber);
    assert_eq!(err_kind::<Scalars>(&[0x02, 0x00]), InvalidFieldNumber);
    // Field number above 2^29 - 1 (tag does not fit 32 bits).
    assert_eq!(
        err_kind::<Empty>(&[0x80, 0x80, 0x80, 0x80, 0x20, 0x00]),
        InvalidFieldNumber
    );
    // Wire types 6 and 7.
    assert_eq!(err_kind::<Scalars>(&[0x0f, 0x00]), InvalidWireType);
    assert_eq!(err_kind::<Scalars>(&[0x0e, 0x00]), InvalidWireType);
    assert_eq!(err_kind::<Empty>(&[0xa7, 0x06]), InvalidWireType);
    // An end-group tag without a start.
    assert_eq!(err_kind::<Empty>(&[0x0c]), InvalidWireType);
    // An unterminated unknown group, and one closed with the wrong number.
    assert_eq!(err_kind::<Empty>(&[0x0b, 0x08, 0x01]), UnterminatedGroup);
    assert_eq!(err_kind::<Empty>(&[0x0b, 0x14]), MismatchedEndGroup);
    // Invalid UTF-8 in proto3 strings: singular, repeated, nested.
    assert_eq!(err_kind::<Scalars>(&[0x72, 0x02, 0xff, 0xfe]), InvalidUtf8);
    assert_eq!(
        err_kind::<Scalars>(&[0x72, 0x03, 0xe2, 0x82, 0x28]),
        InvalidUtf8
    );
    assert_eq!(err_kind::<Packed>(&[0x7a, 0x01, 0x80]), InvalidUtf8);
    assert_eq!(
        err_kind::<Scalars>(&[0x8a, 0x01, 0x05, 0x12, 0x03, 0x0a, 0x01, 0xc0]),
        InvalidUtf8
    );
    // Overlong varint (11 bytes).
    let mut overlong = vec![0x18];
    overlong.extend([0xff; 10]);
    overlong.push(0x01);
    assert_eq!(err_kind::<Scalars>(&overlong), VarintTooLong);
    // Packed fixed-width runs must hold whole values.
    assert_eq!(
        err_kind::<Packed>(&[0x4a, 0x03, 1, 2, 3]),
        InvalidPackedLength
    );
    assert_eq!(
        err_kind::<Packed>(&[0x52, 0x04, 1, 2, 3, 4]),
        InvalidPackedLength
    );
    // A truncated varint inside a packed run.
    assert_eq!(err_kind::<Packed>(&[0x1a, 0x01, 0x80]), Truncated);
}

#[test]
fn errors_name_the_path() {
    let err = Scalars::decode_slice(&[0x8a, 0x01, 0x05, 0x12, 0x03, 0x0a, 0x01, 0xc0]).unwrap_err();
    let path: Vec<_> = err.path().collect();
    assert_eq!(
        path,
        [
            ("scalars3.Scalars", 17),
            ("scalars3.Scalars.Nested", 2),
            ("scalars3.Scalars.Nested.Inner", 1)
        ]
    );
    assert!(err.to_string().contains("UTF-8"), "{err}");
}
