#![deny(warnings)]
//! The generated code of `testdata/options`, generated with
//! `bytes=bytes,map=btree` and `type_attribute` / `field_attribute` options.

pub mod generated {
    include!("../../testdata/options/expected/mod.rs");
}

use std::collections::{BTreeMap, BTreeSet, HashSet};

use generated::opts::legacy::WithDefault;
use generated::opts::{Blob, Key, Tagged, Tone, blob};
use rust_rpc::bytes::Bytes;
use rust_rpc::{DecodeErrorKind, Message};

fn key(name: &str, id: i64) -> Key {
    Key {
        name: name.to_owned(),
        id,
        ..Default::default()
    }
}

fn full_blob() -> Blob {
    Blob {
        data: Bytes::from_static(b"data"),
        maybe: Some(Bytes::new()),
        chunks: vec![Bytes::from_static(b"c1"), Bytes::from_static(b"c2")],
        named: [("a".to_owned(), Bytes::from_static(b"\x00\xff"))].into(),
        ordered: [
            (3, "c".to_owned()),
            (1, "a".to_owned()),
            (2, "b".to_owned()),
        ]
        .into(),
        choice: Some(blob::Choice::Raw(Bytes::from_static(b"raw"))),
        key: Some(key("k", 1)),
        ..Default::default()
    }
}

#[test]
fn bytes_fields_are_bytes() {
    let b = full_blob();
    let encoded = b.encode_to_vec();
    assert_eq!(encoded.len(), b.encoded_len());
    assert_eq!(Blob::decode_slice(&encoded).unwrap(), b);
    // decode_bytes shares the input's storage instead of copying.
    let input = Bytes::from(encoded);
    let back = Blob::decode_bytes(&input).unwrap();
    assert_eq!(back, b);
    let range = input.as_ptr() as usize..input.as_ptr() as usize + input.len();
    assert!(range.contains(&(back.data.as_ptr() as usize)));
    assert!(range.contains(&(back.chunks[1].as_ptr() as usize)));
    assert!(range.contains(&(back.named["a"].as_ptr() as usize)));
    match &back.choice {
        Some(blob::Choice::Raw(raw)) => assert!(range.contains(&(raw.as_ptr() as usize))),
        other => panic!("{other:?}"),
    }
    assert_eq!(back.maybe(), b"");
    assert_eq!(Blob::default().maybe(), b"");
    // The same through the other entry points.
    assert_eq!(Blob::decode(input.clone()).unwrap(), b);
    let d = Blob {
        data: Bytes::from_static(b"\x01"),
        ..Default::default()
    };
    assert_eq!(d.encode_to_vec(), [0x0a, 0x01, 0x01]);
}

#[test]
fn btree_maps_encode_in_key_order() {
    let b = Blob {
        ordered: [
            (3, "c".to_owned()),
            (-1, "z".to_owned()),
            (2, "b".to_owned()),
        ]
        .into(),
        ..Default::default()
    };
    let expected = [
        0x2a, 0x0e, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x12, 0x01,
        b'z', 0x2a, 0x05, 0x08, 0x02, 0x12, 0x01, b'b', 0x2a, 0x05, 0x08, 0x03, 0x12, 0x01, b'c',
    ];
    assert_eq!(b.encode_to_vec(), expected);
    // Deterministic: the same bytes every time, whatever the insertion order.
    let mut other = BTreeMap::new();
    for (k, v) in [(2, "b"), (3, "c"), (-1, "z")] {
        other.insert(k, v.to_owned());
    }
    assert_eq!(
        Blob {
            ordered: other,
            ..Default::default()
        }
        .encode_to_vec(),
        expected
    );
    // Decoding out of order still yields a sorted map.
    let back = Blob::decode_slice(&[&expected[23..], &expected[..23]].concat()).unwrap();
    assert_eq!(back.ordered.keys().copied().collect::<Vec<_>>(), [-1, 2, 3]);
}

#[test]
fn type_attributes_derive_eq_hash_ord() {
    let set: HashSet<Key> = [key("a", 1), key("a", 1), key("b", 2)]
        .into_iter()
        .collect();
    assert_eq!(set.len(), 2);
    let sorted: BTreeSet<Key> = [key("b", 1), key("a", 2), key("a", 1)]
        .into_iter()
        .collect();
    assert_eq!(
        sorted.into_iter().collect::<Vec<_>>(),
        [key("a", 1), key("a", 2), key("b", 1)]
    );
    // Decoded keys compare with constructed ones (unknown fields included).
    let k = Key::decode_slice(&key("x", 5).encode_to_vec()).unwrap();
    assert!(set.contains(&key("a", 1)) && k == key("x", 5));
    let with_unknown = Key::decode_slice(&[0x0a, 0x01, b'x', 0x10, 0x05, 0x18, 0x01]).unwrap();
    assert_ne!(with_unknown, k);
    assert!(with_unknown > k);
    let t = Tagged {
        tag: "t".into(),
        tone: Tone::Loud.into(),
        keys: [("k".to_owned(), key("k", 1))].into(),
        ..Default::default()
    };
    assert_eq!(Tagged::decode_slice(&t.encode_to_vec()).unwrap(), t);
}

#[test]
fn proto2_bytes_defaults_with_bytes_type() {
    let w = WithDefault::default();
    assert_eq!(w.blob(), b"\x01\x02abc");
    assert_eq!(w.must(), b"");
    let e = WithDefault::decode_slice(&[0x0a, 0x00]).unwrap_err();
    assert_eq!(e.kind(), DecodeErrorKind::MissingRequiredField);
    let w = WithDefault {
        must: Some(Bytes::from_static(b"m")),
        list: vec![Bytes::new()],
        ..Default::default()
    };
    assert_eq!(w.encode_to_vec(), [0x12, 0x01, b'm', 0x1a, 0x00]);
    let back = WithDefault::decode_bytes(&Bytes::from(w.encode_to_vec())).unwrap();
    assert_eq!(back, w);
    assert_eq!(back.blob(), b"\x01\x02abc");
}

/// Generated with `descriptors=false`: no descriptor statics at all (this
/// file would not compile if the generator still emitted references to
/// them), and the messages work as ever.
#[test]
fn descriptors_off_leaves_them_out() {
    let source = include_str!("../../testdata/options/expected/opts.rs");
    assert!(
        !source.contains("FileDescriptor"),
        "no descriptors when off"
    );
}
