#![deny(warnings)]
//! The generated code of `testdata/maps`: every key type, many value types.

pub mod generated {
    include!("../../testdata/maps/expected/mod.rs");
}

use std::collections::HashMap;

use generated::maps::{Keys, Nested, Suit, Value, Values, nested};
use rust_rpc::{DecodeErrorKind, Message, OpenEnum};

fn s(v: &str) -> String {
    v.to_owned()
}

fn full_keys() -> Keys {
    Keys {
        k_int32: [(0, s("zero")), (-1, s("neg")), (i32::MAX, s("max"))].into(),
        k_int64: [(i64::MIN, s("min")), (1, s("one"))].into(),
        k_uint32: [(u32::MAX, s("max")), (0, s(""))].into(),
        k_uint64: [(u64::MAX, s("max"))].into(),
        k_sint32: [(-1, s("a")), (i32::MIN, s("b"))].into(),
        k_sint64: [(-2, s("c")), (i64::MAX, s("d"))].into(),
        k_fixed32: [(1, s("e"))].into(),
        k_fixed64: [(u64::MAX, s("f"))].into(),
        k_sfixed32: [(-3, s("g"))].into(),
        k_sfixed64: [(-4, s("h"))].into(),
        k_bool: [(true, s("yes")), (false, s("no"))].into(),
        k_string: [(s(""), s("empty")), (s("ключ"), s("значение"))].into(),
        ..Default::default()
    }
}

#[test]
fn every_key_type_round_trips() {
    let k = full_keys();
    let bytes = k.encode_to_vec();
    assert_eq!(bytes.len(), k.encoded_len());
    assert_eq!(Keys::decode_slice(&bytes).unwrap(), k);
    assert!(Keys::default().encode_to_vec().is_empty());
}

#[test]
fn entry_bytes() {
    // Entries always carry key (1) and value (2), even at their defaults.
    let cases: Vec<(Keys, Vec<u8>)> = vec![
        (
            Keys {
                k_int32: [(1, s("a"))].into(),
                ..Default::default()
            },
            vec![0x0a, 0x05, 0x08, 0x01, 0x12, 0x01, b'a'],
        ),
        (
            Keys {
                k_int32: [(0, s(""))].into(),
                ..Default::default()
            },
            vec![0x0a, 0x04, 0x08, 0x00, 0x12, 0x00],
        ),
        (
            Keys {
                k_sint32: [(-1, s("x"))].into(),
                ..Default::default()
            },
            vec![0x2a, 0x05, 0x08, 0x01, 0x12, 0x01, b'x'],
        ),
        (
            Keys {
                k_fixed32: [(1, s(""))].into(),
                ..Default::default()
            },
            vec![0x3a, 0x07, 0x0d, 1, 0, 0, 0, 0x12, 0x00],
        ),
        (
            Keys {
                k_sfixed64: [(-1, s(""))].into(),
                ..Default::default()
            },
            vec![
                0x52, 0x0b, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x12, 0x00,
            ],
        ),
        (
            Keys {
                k_bool: [(true, s(""))].into(),
                ..Default::default()
            },
            vec![0x5a, 0x04, 0x08, 0x01, 0x12, 0x00],
        ),
        (
            Keys {
                k_string: [(s("k"), s("v"))].into(),
                ..Default::default()
            },
            vec![0x62, 0x06, 0x0a, 0x01, b'k', 0x12, 0x01, b'v'],
        ),
        (
            Keys {
                k_int64: [(-1, s(""))].into(),
                ..Default::default()
            },
            vec![
                0x12, 0x0d, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x12,
                0x00,
            ],
        ),
    ];
    for (k, expected) in cases {
        assert_eq!(k.encode_to_vec(), expected, "{k:?}");
        assert_eq!(Keys::decode_slice(&expected).unwrap(), k);
    }
    let v = Values {
        v_message: [(
            s("m"),
            Value {
                n: 1,
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    };
    assert_eq!(
        v.encode_to_vec(),
        [0x8a, 0x01, 0x07, 0x0a, 0x01, b'm', 0x12, 0x02, 0x10, 0x01]
    );
    let v = Values {
        v_enum: [(s(""), Suit::Spades.into())].into(),
        ..Default::default()
    };
    assert_eq!(
        v.encode_to_vec(),
        [0x82, 0x01, 0x04, 0x0a, 0x00, 0x10, 0x02]
    );
}

#[test]
fn duplicate_keys_last_wins() {
    let bytes = [
        0x0a, 0x05, 0x08, 0x01, 0x12, 0x01, b'a', 0x0a, 0x05, 0x08, 0x02, 0x12, 0x01, b'x', 0x0a,
        0x05, 0x08, 0x01, 0x12, 0x01, b'b',
    ];
    let k = Keys::decode_slice(&bytes).unwrap();
    assert_eq!(k.k_int32, [(1, s("b")), (2, s("x"))].into());
    // A message value is replaced, not merged, by a later entry with the same key.
    let mut bytes = Values {
        by_id: [(
            1,
            Value {
                text: s("t"),
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    }
    .encode_to_vec();
    bytes.extend(
        Values {
            by_id: [(
                1,
                Value {
                    n: 5,
                    ..Default::default()
                },
            )]
            .into(),
            ..Default::default()
        }
        .encode_to_vec(),
    );
    let v = Values::decode_slice(&bytes).unwrap();
    assert_eq!(
        v.by_id[&1],
        Value {
            n: 5,
            ..Default::default()
        }
    );
    // merge_slice into a message that already has the key: replaced too.
    let mut k = Keys {
        k_string: [(s("k"), s("old")), (s("keep"), s("1"))].into(),
        ..Default::default()
    };
    k.merge_slice(&[0x62, 0x08, 0x0a, 0x01, b'k', 0x12, 0x03, b'n', b'e', b'w'])
        .unwrap();
    assert_eq!(k.k_string, [(s("k"), s("new")), (s("keep"), s("1"))].into());
}

#[test]
fn lenient_entries() {
    let one = |b: &[u8]| Keys::decode_slice(b).unwrap().k_int32;
    // Missing key, missing value, both missing.
    assert_eq!(one(&[0x0a, 0x03, 0x12, 0x01, b'a']), [(0, s("a"))].into());
    assert_eq!(one(&[0x0a, 0x02, 0x08, 0x05]), [(5, s(""))].into());
    assert_eq!(one(&[0x0a, 0x00]), [(0, s(""))].into());
    // Value before key.
    assert_eq!(
        one(&[0x0a, 0x05, 0x12, 0x01, b'a', 0x08, 0x01]),
        [(1, s("a"))].into()
    );
    // Key repeated inside one entry: the last wins.
    assert_eq!(
        one(&[0x0a, 0x06, 0x08, 0x01, 0x08, 0x02, 0x12, 0x00]),
        [(2, s(""))].into()
    );
    // Unknown fields inside an entry are skipped, and not kept anywhere.
    let k = Keys::decode_slice(&[0x0a, 0x07, 0x08, 0x01, 0x18, 0x05, 0x12, 0x01, b'a']).unwrap();
    assert_eq!(k.k_int32, [(1, s("a"))].into());
    assert!(k.unknown_fields.is_empty());
    // A key with the wrong wire type is skipped: the key stays 0.
    assert_eq!(
        one(&[0x0a, 0x07, 0x0d, 1, 0, 0, 0, 0x12, 0x00]),
        [(0, s(""))].into()
    );
    // A message value split across two value fields of one entry is merged.
    let v = Values::decode_slice(&[
        0x92, 0x01, 0x0b, 0x08, 0x01, 0x12, 0x03, 0x0a, 0x01, b'a', 0x12, 0x02, 0x10, 0x02,
    ])
    .unwrap();
    assert_eq!(
        v.by_id[&1],
        Value {
            text: s("a"),
            n: 2,
            ..Default::default()
        }
    );
}

#[test]
fn malformed_entries_are_errors() {
    use DecodeErrorKind::*;
    let kind = |b: &[u8]| Keys::decode_slice(b).unwrap_err().kind();
    assert_eq!(kind(&[0x0a, 0x05, 0x08, 0x01]), LengthOutOfBounds);
    assert_eq!(kind(&[0x0a, 0x01, 0x08]), Truncated);
    assert_eq!(kind(&[0x0a, 0x03, 0x12, 0x05, b'a']), LengthOutOfBounds);
    assert_eq!(kind(&[0x62, 0x03, 0x0a, 0x01, 0xff]), InvalidUtf8);
    assert_eq!(kind(&[0x62, 0x03, 0x12, 0x01, 0xff]), InvalidUtf8);
    assert_eq!(kind(&[0x0a, 0x02, 0x00, 0x00]), InvalidFieldNumber);
    assert_eq!(kind(&[0x0a, 0x02, 0x0f, 0x00]), InvalidWireType);
    assert_eq!(kind(&[0x0a, 0x01, 0x0c]), InvalidWireType);
    // A map field sent as a varint is unknown, not an error.
    let k = Keys::decode_slice(&[0x08, 0x01]).unwrap();
    assert!(k.k_int32.is_empty());
    assert_eq!(k.unknown_fields.as_bytes(), [0x08, 0x01]);
}

fn full_values() -> Values {
    Values {
        v_double: [(s("d"), -1.5), (s("e"), f64::INFINITY)].into(),
        v_float: [(s("f"), 2.5)].into(),
        v_int32: [(s("i"), -3)].into(),
        v_int64: [(s("l"), i64::MIN)].into(),
        v_uint32: [(s("u"), u32::MAX)].into(),
        v_uint64: [(s("U"), u64::MAX)].into(),
        v_sint32: [(s("z"), -7)].into(),
        v_sint64: [(s("Z"), -8)].into(),
        v_fixed32: [(s("x"), 9)].into(),
        v_fixed64: [(s("X"), 10)].into(),
        v_sfixed32: [(s("y"), -11)].into(),
        v_sfixed64: [(s("Y"), -12)].into(),
        v_bool: [(s("t"), true), (s("f"), false)].into(),
        v_string: [(s("s"), s("string")), (s(""), s(""))].into(),
        v_bytes: [(s("b"), vec![0, 255]), (s("empty"), vec![])].into(),
        v_enum: [
            (s("h"), Suit::Hearts.into()),
            (s("?"), OpenEnum::Unknown(42)),
        ]
        .into(),
        v_message: [
            (
                s("m"),
                Value {
                    text: s("t"),
                    n: 1,
                    ..Default::default()
                },
            ),
            (s("d"), Value::default()),
        ]
        .into(),
        by_id: [
            (
                -1,
                Value {
                    n: -1,
                    ..Default::default()
                },
            ),
            (7, Value::default()),
        ]
        .into(),
        flags: [(true, vec![1]), (false, vec![])].into(),
        zig_suits: [
            (-5, Suit::Spades.into()),
            (i64::MIN, Suit::Unspecified.into()),
        ]
        .into(),
        ..Default::default()
    }
}

#[test]
fn every_value_type_round_trips() {
    let v = full_values();
    let bytes = v.encode_to_vec();
    assert_eq!(bytes.len(), v.encoded_len());
    assert_eq!(Values::decode_slice(&bytes).unwrap(), v);
    // Open enum values unknown to the schema are kept.
    let v = Values::decode_slice(&[0x82, 0x01, 0x05, 0x0a, 0x01, b'a', 0x10, 0x07]).unwrap();
    assert_eq!(v.v_enum[&s("a")], OpenEnum::Unknown(7));
    assert_eq!(
        v.encode_to_vec(),
        [0x82, 0x01, 0x05, 0x0a, 0x01, b'a', 0x10, 0x07]
    );
}

#[test]
fn recursive_map_values() {
    let leaf = nested::Entry {
        tags: vec![s("leaf")],
        ..Default::default()
    };
    let mid = nested::Entry {
        tags: vec![s("mid")],
        children: [(s("l"), leaf.clone())].into(),
        ..Default::default()
    };
    let n = Nested {
        entries: [(s("root"), mid), (s("other"), leaf)].into(),
        ..Default::default()
    };
    let bytes = n.encode_to_vec();
    assert_eq!(bytes.len(), n.encoded_len());
    assert_eq!(Nested::decode_slice(&bytes).unwrap(), n);
}

#[test]
fn many_entries() {
    let big: HashMap<i32, String> = (0..1000).map(|i| (i * 7 - 3000, i.to_string())).collect();
    let k = Keys {
        k_int32: big,
        ..Default::default()
    };
    let bytes = k.encode_to_vec();
    assert_eq!(bytes.len(), k.encoded_len());
    assert_eq!(Keys::decode_slice(&bytes).unwrap(), k);
}
