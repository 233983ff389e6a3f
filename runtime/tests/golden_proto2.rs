#![deny(warnings)]
//! The generated code of `testdata/proto2`: explicit presence, declared
//! defaults, required fields, groups, extensions and closed enums.

pub mod generated {
    include!("../../testdata/proto2/expected/mod.rs");
}

use generated::p2::{
    self, Closed, Defaults, Extendable, GroupInOneof, Lists, Mode, Needs, NonZero, Plain, Scoped,
    Start, WithGroups, Wrapper, closed, group_in_oneof, needs, with_groups, wrapper,
};
use rust_rpc::{DecodeErrorKind, Enumeration, Extendable as _, Message};

fn full_plain() -> Plain {
    Plain {
        f_double: Some(-2.5),
        f_float: Some(1.25),
        f_int32: Some(-7),
        f_int64: Some(-8_000_000_000),
        f_uint32: Some(9),
        f_uint64: Some(u64::MAX),
        f_sint32: Some(-11),
        f_sint64: Some(i64::MIN),
        f_fixed32: Some(13),
        f_fixed64: Some(14),
        f_sfixed32: Some(-15),
        f_sfixed64: Some(-16),
        f_bool: Some(true),
        f_string: Some("seventeen".into()),
        f_bytes: Some(vec![18, 0, 255]),
        f_mode: Some(Mode::Backwards),
        f_child: Some(Box::new(Plain {
            f_int32: Some(19),
            ..Default::default()
        })),
        ..Default::default()
    }
}

#[test]
fn optional_fields_round_trip_with_presence() {
    let p = full_plain();
    let bytes = p.encode_to_vec();
    assert_eq!(bytes.len(), p.encoded_len());
    assert_eq!(Plain::decode_slice(&bytes).unwrap(), p);
    assert!(Plain::default().encode_to_vec().is_empty());
    // Zero values are present, so they are written.
    let zero = Plain {
        f_int32: Some(0),
        f_string: Some(String::new()),
        f_mode: Some(Mode::Off),
        ..Default::default()
    };
    assert_eq!(
        zero.encode_to_vec(),
        [0x18, 0x00, 0x72, 0x00, 0x80, 0x01, 0x00]
    );
    assert_eq!(Plain::decode_slice(&zero.encode_to_vec()).unwrap(), zero);
    // A negative closed enum value is a ten-byte varint.
    let neg = Plain {
        f_mode: Some(Mode::Backwards),
        ..Default::default()
    };
    assert_eq!(
        neg.encode_to_vec(),
        [
            0x80, 0x01, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
        ]
    );
}

#[test]
fn getters_return_declared_defaults() {
    let d = Defaults::default();
    assert_eq!(d.d_double(), 3.25);
    assert_eq!(d.d_float(), -1.5);
    assert_eq!(d.d_int32(), -42);
    assert_eq!(d.d_int64(), -9_000_000_000);
    assert_eq!(d.d_uint32(), 4_000_000_000);
    assert_eq!(d.d_uint64(), 18_000_000_000_000_000_000);
    assert_eq!(d.d_sint32(), i32::MIN);
    assert_eq!(d.d_sint64(), i64::MIN);
    assert_eq!(d.d_fixed32(), u32::MAX);
    assert_eq!(d.d_fixed64(), u64::MAX);
    assert_eq!(d.d_sfixed32(), -7);
    assert_eq!(d.d_sfixed64(), -8);
    assert!(d.d_bool());
    assert_eq!(d.d_string(), "hi \"there\"\n\tC:\\path é");
    assert_eq!(d.d_bytes(), b"\x00\x01\xff\"\\");
    assert_eq!(d.d_mode(), Mode::Auto);
    assert!(d.d_nan().is_nan());
    assert_eq!(d.d_inf(), f64::INFINITY);
    assert_eq!(d.d_neg_inf(), f64::NEG_INFINITY);
    assert!(d.f_nan().is_nan());
    assert_eq!(d.f_inf(), f32::INFINITY);
    assert_eq!(d.f_neg_inf(), f32::NEG_INFINITY);
    assert_eq!(d.d_exp(), 1e10);
    assert_eq!(d.f_small(), 1.5e-5);
    assert_eq!(d.d_hex(), 0x7f);
    assert_eq!(d.d_min64(), i64::MIN);
    assert_eq!(d.d_min32(), i32::MIN);
    assert!(!d.d_false());
    assert_eq!(d.d_empty(), "");
    assert_eq!(d.d_negative_mode(), Mode::Backwards);
    assert_eq!(d.d_neg_zero().to_bits(), (-0.0f64).to_bits());
    assert_eq!(d.d_octal(), 8);
    // Defaults are not stored or encoded.
    assert_eq!(d.d_int32, None);
    assert!(d.encode_to_vec().is_empty());
    // A set value wins over the default, even when it equals another type's default.
    let set = Defaults {
        d_int32: Some(0),
        d_bytes: Some(vec![]),
        d_mode: Some(Mode::Off),
        ..Default::default()
    };
    assert_eq!(set.d_int32(), 0);
    assert_eq!(set.d_bytes(), b"");
    assert_eq!(set.d_mode(), Mode::Off);
    let back = Defaults::decode_slice(&set.encode_to_vec()).unwrap();
    assert_eq!(back, set);
    // Setting a field to its declared default still writes it.
    let same = Defaults {
        d_int32: Some(-42),
        ..Default::default()
    };
    assert_eq!(same.encode_to_vec()[0], 0x18);
}

#[test]
fn closed_enum_without_zero_defaults_to_its_first_value() {
    let n = NonZero::default();
    assert_eq!(n.single(), Start::One);
    assert_eq!(n.with_default(), Start::Two);
    assert_eq!(Start::default(), Start::One);
    // 0 is not a value of Start: it is an unknown field.
    let n = NonZero::decode_slice(&[0x08, 0x00, 0x10, 0x02, 0x10, 0x00]).unwrap();
    assert_eq!(n.single, None);
    assert_eq!(n.list, [Start::Two]);
    assert_eq!(n.unknown_fields.as_bytes(), [0x08, 0x00, 0x10, 0x00]);
    assert_eq!(n.encode_to_vec(), [0x10, 0x02, 0x08, 0x00, 0x10, 0x00]);
}

fn complete_needs() -> Needs {
    Needs {
        id: Some(1),
        name: Some("n".into()),
        extra: Some(Plain::default()),
        inner: Some(needs::Inner {
            flag: Some(false),
            ..Default::default()
        }),
        inners: vec![needs::Inner {
            flag: Some(true),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn missing(result: Result<impl core::fmt::Debug, rust_rpc::DecodeError>) -> rust_rpc::DecodeError {
    let e = result.expect_err("a required field is missing");
    assert_eq!(e.kind(), DecodeErrorKind::MissingRequiredField, "{e}");
    e
}

#[test]
fn required_fields_are_checked_after_decoding() {
    let full = complete_needs();
    assert_eq!(full.check_initialized(), Ok(()));
    assert_eq!(Needs::decode_slice(&full.encode_to_vec()).unwrap(), full);

    // id missing: name only.
    let bytes = [0x12, 0x01, b'x'];
    let e = missing(Needs::decode_slice(&bytes));
    assert!(e.to_string().contains("p2.Needs.id"), "{e}");
    missing(Needs::decode(&bytes[..]));
    missing(Needs::decode_bytes(&bytes.to_vec().into()));
    missing(Needs::decode_length_delimited(
        &[&[3u8][..], &bytes[..]].concat()[..],
    ));
    missing(Needs::default().merge_slice(&bytes));
    // merge_partial skips the check; the message says what is missing.
    let mut partial = Needs::default();
    partial.merge_partial(&bytes).unwrap();
    assert_eq!(partial.name(), "x");
    assert_eq!(partial.id, None);
    assert_eq!(partial.check_initialized(), Err("p2.Needs.id"));
    // Merging the rest in later completes it.
    partial.merge_slice(&[0x08, 0x05]).unwrap();
    assert_eq!(partial.id(), 5);
    // Encoding does not check: a partial message can be sent and merged.
    let half = Needs {
        id: Some(1),
        ..Default::default()
    };
    assert_eq!(half.encode_to_vec(), [0x08, 0x01]);
    assert_eq!(half.check_initialized(), Err("p2.Needs.name"));

    // Missing inside a nested message, a repeated element, a map value and a oneof member.
    let mut no_flag = complete_needs();
    no_flag.inner = Some(needs::Inner::default());
    assert_eq!(no_flag.check_initialized(), Err("p2.Needs.Inner.flag"));
    missing(Needs::decode_slice(&no_flag.encode_to_vec()));
    let mut no_flag = complete_needs();
    no_flag.inners.push(needs::Inner::default());
    missing(Needs::decode_slice(&no_flag.encode_to_vec()));

    let ok = Wrapper {
        needs: Some(complete_needs()),
        many: vec![complete_needs()],
        by_name: [("a".to_owned(), complete_needs())].into(),
        pick: Some(wrapper::Pick::One(complete_needs())),
        ..Default::default()
    };
    assert_eq!(Wrapper::decode_slice(&ok.encode_to_vec()).unwrap(), ok);
    let broken = [
        Wrapper {
            needs: Some(Needs::default()),
            ..ok.clone()
        },
        Wrapper {
            many: vec![complete_needs(), Needs::default()],
            ..ok.clone()
        },
        Wrapper {
            by_name: [("b".to_owned(), Needs::default())].into(),
            ..ok.clone()
        },
        Wrapper {
            pick: Some(wrapper::Pick::One(Needs::default())),
            ..ok.clone()
        },
    ];
    for w in broken {
        let bytes = w.encode_to_vec();
        missing(Wrapper::decode_slice(&bytes));
        let mut partial = Wrapper::default();
        partial.merge_partial(&bytes).unwrap();
        assert_eq!(partial, w);
        assert!(partial.check_initialized().is_err());
    }
    // A oneof member that is not a message needs no check.
    let other = Wrapper {
        pick: Some(wrapper::Pick::Other("o".into())),
        ..Default::default()
    };
    assert_eq!(
        Wrapper::decode_slice(&other.encode_to_vec()).unwrap(),
        other
    );
}

#[test]
fn repeated_fields_are_expanded_unless_packed() {
    let l = Lists {
        ints: vec![1, 2],
        packed_ints: vec![1, 2],
        modes: vec![Mode::On],
        packed_modes: vec![Mode::On, Mode::Auto],
        names: vec!["a".into()],
        doubles: vec![1.0],
        zigzags: vec![-1],
        ..Default::default()
    };
    let expected = [
        0x08, 0x01, 0x08, 0x02, // ints, expanded
        0x12, 0x02, 0x01, 0x02, // packed_ints
        0x18, 0x01, // modes, expanded
        0x22, 0x02, 0x01, 0x05, // packed_modes
        0x2a, 0x01, b'a', // names
        0x32, 0x08, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, // doubles, packed
        0x38, 0x01, // zigzags, expanded
    ];
    assert_eq!(l.encode_to_vec(), expected);
    assert_eq!(Lists::decode_slice(&expected).unwrap(), l);
    // Both encodings are accepted for every repeated scalar field.
    let swapped = [
        0x0a, 0x02, 0x01, 0x02, 0x10, 0x01, 0x10, 0x02, 0x1a, 0x01, 0x01, 0x20, 0x01, 0x20, 0x05,
        0x31, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x3a, 0x01, 0x01,
    ];
    let back = Lists::decode_slice(&swapped).unwrap();
    assert_eq!(
        Lists {
            names: vec!["a".into()],
            ..back
        },
        l
    );
}

#[test]
fn groups_round_trip() {
    let g = WithGroups {
        before: Some(1),
        single: Some(with_groups::Single {
            a: Some(3),
            ..Default::default()
        }),
        after: Some(2),
        ..Default::default()
    };
    // Group: start tag (2 << 3 | 3), fields, end tag (2 << 3 | 4).
    let expected = [0x08, 0x01, 0x13, 0x18, 0x03, 0x14, 0x48, 0x02];
    assert_eq!(g.encode_to_vec(), expected);
    assert_eq!(g.encoded_len(), expected.len());
    assert_eq!(WithGroups::decode_slice(&expected).unwrap(), g);

    let full = WithGroups {
        before: Some(-1),
        single: Some(with_groups::Single {
            a: Some(1),
            b: Some("bee".into()),
            ..Default::default()
        }),
        multi: vec![
            with_groups::Multi {
                c: Some(6),
                deeper: vec![
                    with_groups::multi::Deeper {
                        d: Some(8),
                        ..Default::default()
                    },
                    with_groups::multi::Deeper::default(),
                ],
                ..Default::default()
            },
            with_groups::Multi::default(),
        ],
        after: Some(9),
        ..Default::default()
    };
    let bytes = full.encode_to_vec();
    assert_eq!(bytes.len(), full.encoded_len());
    assert_eq!(WithGroups::decode_slice(&bytes).unwrap(), full);
    // An empty group is just its two tags.
    let empty = WithGroups {
        multi: vec![Default::default()],
        ..Default::default()
    };
    assert_eq!(empty.encode_to_vec(), [0x2b, 0x2c]);
    // A repeated group nested in a repeated group.
    let nested = WithGroups {
        multi: vec![with_groups::Multi {
            deeper: vec![with_groups::multi::Deeper {
                d: Some(1),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(nested.encode_to_vec(), [0x2b, 0x3b, 0x40, 0x01, 0x3c, 0x2c]);
    // A singular group seen twice is merged.
    let twice = [0x13, 0x18, 0x01, 0x14, 0x13, 0x22, 0x01, b'z', 0x14];
    let m = WithGroups::decode_slice(&twice).unwrap();
    assert_eq!(
        m.single.unwrap(),
        with_groups::Single {
            a: Some(1),
            b: Some("z".into()),
            ..Default::default()
        }
    );
    // Unknown fields inside a group stay with the group.
    let with_unknown = [0x13, 0x18, 0x01, 0xf8, 0x01, 0x07, 0x14];
    let m = WithGroups::decode_slice(&with_unknown).unwrap();
    assert_eq!(
        m.single.as_ref().unwrap().unknown_fields.as_bytes(),
        [0xf8, 0x01, 0x07]
    );
    assert_eq!(m.encode_to_vec(), with_unknown);
}

#[test]
fn malformed_groups_are_errors() {
    use DecodeErrorKind::*;
    let kind = |b: &[u8]| WithGroups::decode_slice(b).unwrap_err().kind();
    assert_eq!(kind(&[0x13, 0x18, 0x01]), UnterminatedGroup);
    assert_eq!(kind(&[0x13, 0x18, 0x01, 0x2c]), MismatchedEndGroup);
    assert_eq!(kind(&[0x14]), InvalidWireType);
    assert_eq!(kind(&[0x2b, 0x3b, 0x2c]), MismatchedEndGroup);
    // A group field sent length-delimited is not the group: it is kept unknown.
    let m = WithGroups::decode_slice(&[0x12, 0x02, 0x18, 0x01]).unwrap();
    assert!(m.single.is_none());
    assert_eq!(m.unknown_fields.as_bytes(), [0x12, 0x02, 0x18, 0x01]);
}

#[test]
fn extensions_are_kept_as_unknown_fields() {
    let bytes = [
        0x08, 0x01, // known = 1
        0xa0, 0x06, 0x2a, // ext_int (100) = 42
        0xaa, 0x06, 0x02, b'h', b'i', // ext_string (101) = "hi"
        0xb0, 0x06, 0x01, 0xb0, 0x06, 0x05, // ext_modes (102) = [ON, AUTO]
        0xb2, 0x09, 0x02, 0x08, 0x07, // Scoped.scoped_ext (150) = { value: 7 }
        0xc2, 0x0c, 0x01, b'k', // also_known (200) = "k"
    ];
    let e = Extendable::decode_slice(&bytes).unwrap();
    assert_eq!(e.known, Some(1));
    assert_eq!(e.also_known(), "k");
    let fields: Vec<(u32, Vec<u8>)> = e
        .unknown_fields
        .iter()
        .map(|f| f.map(|(n, _, v)| (n, v.to_vec())).unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            (100, vec![0x2a]),
            (101, b"hi".to_vec()),
            (102, vec![0x01]),
            (102, vec![0x05]),
            (150, vec![0x08, 0x07])
        ]
    );
    // Re-encoding writes known fields first, then the extensions verbatim.
    let again = e.encode_to_vec();
    assert_eq!(&again[..2], [0x08, 0x01]);
    assert_eq!(&again[2..6], [0xc2, 0x0c, 0x01, b'k']);
    assert_eq!(&again[6..], &bytes[2..bytes.len() - 4]);
    assert_eq!(Extendable::decode_slice(&again).unwrap(), e);
}

#[test]
fn extensions_read_and_write_typed() {
    let bytes = [
        0x08, 0x01, // known = 1
        0xa0, 0x06, 0x2a, // ext_int (100) = 42
        0xaa, 0x06, 0x02, b'h', b'i', // ext_string (101) = "hi"
        0xb0, 0x06, 0x01, 0xb0, 0x06, 0x63, 0xb0, 0x06, 0x05, // ext_modes = [ON, 99, AUTO]
        0xb2, 0x09, 0x02, 0x08, 0x07, // Scoped.scoped_ext (150) = { value: 7 }
        0xa0, 0x06, 0x2b, // ext_int again: the last one wins
        0xb2, 0x09, 0x00, // scoped_ext again: messages merge
    ];
    let mut e = Extendable::decode_slice(&bytes).unwrap();
    assert_eq!(e.extension(&p2::EXT_INT), Some(43));
    assert_eq!(p2::EXT_INT.get(&e), Some(43));
    assert_eq!(e.extension(&p2::EXT_STRING).as_deref(), Some("hi"));
    // 99 is not a Mode: a closed enum leaves it unread in the unknown fields.
    assert_eq!(e.extension(&p2::EXT_MODES), [Mode::On, Mode::Auto]);
    let scoped = e.extension(&p2::scoped::SCOPED_EXT).expect("scoped_ext");
    assert_eq!(scoped.value, Some(7));
    assert!(e.has_extension(&p2::EXT_MODES));
    assert_eq!(
        (p2::EXT_INT.number(), p2::EXT_INT.full_name()),
        (100, "p2.ext_int")
    );
    assert_eq!(p2::scoped::SCOPED_EXT.full_name(), "p2.Scoped.scoped_ext");

    // Setting replaces every record of the field, clearing removes them.
    e.set_extension(&p2::EXT_INT, -1);
    assert_eq!(e.extension(&p2::EXT_INT), Some(-1));
    e.clear_extension(&p2::EXT_STRING);
    assert!(!e.has_extension(&p2::EXT_STRING));
    assert_eq!(e.extension(&p2::EXT_STRING), None);
    e.set_extension(&p2::EXT_MODES, vec![Mode::Off]);
    assert_eq!(e.extension(&p2::EXT_MODES), [Mode::Off]);
    e.set_extension(
        &p2::scoped::SCOPED_EXT,
        Scoped {
            value: Some(9),
            ..Default::default()
        },
    );
    let again = Extendable::decode_slice(&e.encode_to_vec()).unwrap();
    assert_eq!(again.extension(&p2::EXT_INT), Some(-1));
    assert_eq!(again.extension(&p2::EXT_MODES), [Mode::Off]);
    assert_eq!(
        again
            .extension(&p2::scoped::SCOPED_EXT)
            .and_then(|s| s.value),
        Some(9)
    );
    assert_eq!(again.known, Some(1));
    // What set_extension writes is the standard encoding.
    let mut fresh = Extendable::default();
    fresh.set_extension(&p2::EXT_INT, 42);
    fresh.set_extension(&p2::EXT_STRING, "hi".to_owned());
    assert_eq!(fresh.encode_to_vec(), bytes[2..10]);

    // A value whose bytes do not decode as its type reads as unset, and
    // try_extension says why.
    let bad = Extendable::decode_slice(&[0xaa, 0x06, 0x01, 0xff]).unwrap();
    assert_eq!(bad.extension(&p2::EXT_STRING), None);
    assert_eq!(
        bad.try_extension(&p2::EXT_STRING).unwrap_err().kind(),
        DecodeErrorKind::InvalidUtf8
    );
}

#[test]
fn closed_enum_unknown_values_go_to_unknown_fields() {
    let must = [0x38, 0x01];
    let with_must = |b: &[u8]| [b, &must[..]].concat();

    // Singular: value 9 is not a Mode.
    let c = Closed::decode_slice(&with_must(&[0x08, 0x09])).unwrap();
    assert_eq!(c.single, None);
    assert_eq!(c.must, Some(Mode::On));
    assert_eq!(c.unknown_fields.as_bytes(), [0x08, 0x09]);
    assert_eq!(c.encode_to_vec(), [0x38, 0x01, 0x08, 0x09]);
    // A known value after an unknown one is stored; the unknown one stays unknown.
    let c = Closed::decode_slice(&with_must(&[0x08, 0x09, 0x08, 0x05])).unwrap();
    assert_eq!(c.single, Some(Mode::Auto));
    assert_eq!(c.unknown_fields.as_bytes(), [0x08, 0x09]);

    // Repeated, expanded and packed: unknown values become expanded unknown varints.
    let c = Closed::decode_slice(&with_must(&[
        0x10, 0x01, 0x10, 0x07, 0x1a, 0x03, 0x05, 0x09, 0x00,
    ]))
    .unwrap();
    assert_eq!(c.list, [Mode::On]);
    assert_eq!(c.packed_list, [Mode::Auto, Mode::Off]);
    assert_eq!(c.unknown_fields.as_bytes(), [0x10, 0x07, 0x18, 0x09]);

    // Map: the whole entry is kept as an unknown field.
    let entry = [0x22, 0x04, 0x08, 0x01, 0x10, 0x09];
    let c = Closed::decode_slice(&with_must(&entry)).unwrap();
    assert!(c.by_id.is_empty());
    assert_eq!(c.unknown_fields.as_bytes(), entry);
    let c = Closed::decode_slice(&with_must(&[0x22, 0x04, 0x08, 0x02, 0x10, 0x05])).unwrap();
    assert_eq!(c.by_id, [(2, Mode::Auto)].into());

    // Oneof: the member is not set.
    let c = Closed::decode_slice(&with_must(&[0x28, 0x09])).unwrap();
    assert_eq!(c.choice, None);
    assert_eq!(c.unknown_fields.as_bytes(), [0x28, 0x09]);
    let c = Closed::decode_slice(&with_must(&[0x30, 0x03, 0x28, 0x09])).unwrap();
    assert_eq!(c.choice, Some(closed::Choice::Other(3)));

    // Negative values: known and unknown.
    let c = Closed::decode_slice(&with_must(&[
        0x08, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]))
    .unwrap();
    assert_eq!(c.single, Some(Mode::Backwards));
    let unknown_neg = [
        0x08, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ];
    let c = Closed::decode_slice(&with_must(&unknown_neg)).unwrap();
    assert_eq!(c.single, None);
    assert_eq!(c.unknown_fields.as_bytes(), unknown_neg);

    // A required closed enum with an unknown value is missing.
    let e = Closed::decode_slice(&[0x38, 0x09]).unwrap_err();
    assert_eq!(e.kind(), DecodeErrorKind::MissingRequiredField);
    let mut partial = Closed::default();
    partial.merge_partial(&[0x38, 0x09]).unwrap();
    assert_eq!(partial.must, None);
    assert_eq!(partial.unknown_fields.as_bytes(), [0x38, 0x09]);

    // Full round trip of known values.
    let c = Closed {
        single: Some(Mode::Off),
        list: vec![Mode::Auto, Mode::Backwards],
        packed_list: vec![Mode::On],
        by_id: [(1, Mode::On), (-2, Mode::Backwards)].into(),
        choice: Some(closed::Choice::Chosen(Mode::Auto)),
        must: Some(Mode::Off),
        ..Default::default()
    };
    assert_eq!(Closed::decode_slice(&c.encode_to_vec()).unwrap(), c);
    assert_eq!(Mode::from_i32(-3), Some(Mode::Backwards));
    assert_eq!(Mode::Auto.as_str_name(), "MODE_AUTO");
}

#[test]
fn group_as_oneof_member() {
    let picked = |x, y: Option<&str>| group_in_oneof::Picked {
        x,
        y: y.map(str::to_owned),
        ..Default::default()
    };
    let g = GroupInOneof {
        choice: Some(group_in_oneof::Choice::Picked(picked(Some(1), None))),
        ..Default::default()
    };
    assert_eq!(g.encode_to_vec(), [0x0b, 0x10, 0x01, 0x0c]);
    assert_eq!(g.encoded_len(), 4);
    assert_eq!(
        GroupInOneof::decode_slice(&[0x0b, 0x10, 0x01, 0x0c]).unwrap(),
        g
    );
    // Two occurrences merge; another member replaces it.
    let m = GroupInOneof::decode_slice(&[0x0b, 0x10, 0x01, 0x0c, 0x0b, 0x1a, 0x01, b'y', 0x0c])
        .unwrap();
    assert_eq!(
        m.choice,
        Some(group_in_oneof::Choice::Picked(picked(Some(1), Some("y"))))
    );
    let m = GroupInOneof::decode_slice(&[0x0b, 0x0c, 0x20, 0x05]).unwrap();
    assert_eq!(m.choice, Some(group_in_oneof::Choice::Other(5)));
    assert_eq!(
        GroupInOneof::decode_slice(&[0x0b, 0x10, 0x01])
            .unwrap_err()
            .kind(),
        DecodeErrorKind::UnterminatedGroup
    );
}
