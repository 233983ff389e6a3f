#![deny(warnings)]
//! The generated code of `testdata/editions`: edition 2023 features set at
//! file, enum and field level.

pub mod generated {
    include!("../../testdata/editions/expected/mod.rs");
}

use generated::ed::file_level::{self, Flag, Leaf, defaults};
use generated::ed::{Ajar, Child, Delimited, Presence, Repeats, Shut, Strings, delimited};
use rust_rpc::{DecodeErrorKind, Message, OpenEnum};

fn child(v: i32) -> Child {
    Child {
        value: Some(v),
        ..Default::default()
    }
}

#[test]
fn field_presence_per_field() {
    // Only the required field: explicit fields absent, implicit ones zero.
    let p = Presence {
        required_int: Some(0),
        ..Default::default()
    };
    assert_eq!(p.encode_to_vec(), [0x18, 0x00]);
    // Explicit presence writes zero values; implicit presence does not.
    let p = Presence {
        explicit_int: Some(0),
        implicit_int: 0,
        required_int: Some(1),
        explicit_str: Some(String::new()),
        implicit_str: String::new(),
        closed_enum: Some(Shut::Zero),
        open_enum: Some(Ajar::Zero.into()),
        implicit_open_enum: Ajar::Zero.into(),
        implicit_bytes: Vec::new(),
        child: Some(Child::default()),
        ..Default::default()
    };
    assert_eq!(
        p.encode_to_vec(),
        [
            0x08, 0x00, 0x18, 0x01, 0x22, 0x00, 0x30, 0x00, 0x38, 0x00, 0x52, 0x00
        ]
    );
    assert_eq!(Presence::decode_slice(&p.encode_to_vec()).unwrap(), p);
    let p = Presence {
        implicit_int: -3,
        required_int: Some(2),
        implicit_str: "s".into(),
        implicit_open_enum: Ajar::One.into(),
        implicit_bytes: vec![7],
        ..Default::default()
    };
    assert_eq!(
        p.encode_to_vec(),
        [
            0x10, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x18, 0x02, 0x2a,
            0x01, b's', 0x40, 0x01, 0x4a, 0x01, 0x07
        ]
    );
    assert_eq!(Presence::decode_slice(&p.encode_to_vec()).unwrap(), p);
    // Getters for explicit fields.
    assert_eq!(p.explicit_int(), 0);
    assert_eq!(p.explicit_str(), "");
    assert_eq!(p.closed_enum(), Shut::Zero);
}

#[test]
fn legacy_required_is_required() {
    let e = Presence::decode_slice(&[0x08, 0x01]).unwrap_err();
    assert_eq!(e.kind(), DecodeErrorKind::MissingRequiredField);
    assert!(e.to_string().contains("ed.Presence.required_int"), "{e}");
    let mut p = Presence::default();
    p.merge_partial(&[0x08, 0x01]).unwrap();
    assert_eq!(p.explicit_int, Some(1));
    assert_eq!(p.check_initialized(), Err("ed.Presence.required_int"));
}

#[test]
fn enum_type_per_enum() {
    // Shut is closed (file default): unknown values go to unknown fields.
    let p = Presence::decode_slice(&[0x18, 0x00, 0x30, 0x05]).unwrap();
    assert_eq!(p.closed_enum, None);
    assert_eq!(p.unknown_fields.as_bytes(), [0x30, 0x05]);
    // Ajar is open (its own feature): unknown values are kept in the field.
    let p = Presence::decode_slice(&[0x18, 0x00, 0x38, 0x05, 0x40, 0x06]).unwrap();
    assert_eq!(p.open_enum, Some(OpenEnum::Unknown(5)));
    assert_eq!(p.implicit_open_enum, OpenEnum::<Ajar>::Unknown(6));
    assert!(p.unknown_fields.is_empty());
    assert_eq!(p.encode_to_vec(), [0x18, 0x00, 0x38, 0x05, 0x40, 0x06]);
    // The same for repeated fields.
    let r = Repeats::decode_slice(&[0x1a, 0x03, 0x00, 0x07, 0x01, 0x20, 0x07]).unwrap();
    assert_eq!(r.closed_packed, [Shut::Zero, Shut::One]);
    assert_eq!(r.unknown_fields.as_bytes(), [0x18, 0x07]);
    assert_eq!(r.open_expanded, [OpenEnum::<Ajar>::Unknown(7)]);
}

#[test]
fn repeated_field_encoding_per_field() {
    let r = Repeats {
        packed: vec![1, 2],
        expanded: vec![1, 2],
        closed_packed: vec![Shut::One],
        open_expanded: vec![Ajar::One.into(), Ajar::Zero.into()],
        fixed_expanded: vec![3],
        ..Default::default()
    };
    let expected = [
        0x0a, 0x02, 0x01, 0x02, // packed (the 2023 default)
        0x10, 0x01, 0x10, 0x02, // expanded
        0x1a, 0x01, 0x01, // closed_packed
        0x20, 0x01, 0x20, 0x00, // open_expanded
        0x29, 3, 0, 0, 0, 0, 0, 0, 0, // fixed_expanded
    ];
    assert_eq!(r.encode_to_vec(), expected);
    assert_eq!(Repeats::decode_slice(&expected).unwrap(), r);
    // Either encoding is accepted.
    let other = [
        0x08, 0x01, 0x08, 0x02, 0x12, 0x02, 0x01, 0x02, 0x18, 0x01, 0x22, 0x02, 0x01, 0x00, 0x2a,
        0x08, 3, 0, 0, 0, 0, 0, 0, 0,
    ];
    assert_eq!(Repeats::decode_slice(&other).unwrap(), r);
}

#[test]
fn delimited_messages_are_groups() {
    let d = Delimited {
        child: Some(child(1)),
        ..Default::default()
    };
    assert_eq!(d.encode_to_vec(), [0x0b, 0x08, 0x01, 0x0c]);
    let d = Delimited {
        length_prefixed: Some(child(1)),
        ..Default::default()
    };
    assert_eq!(d.encode_to_vec(), [0x1a, 0x02, 0x08, 0x01]);
    let d = Delimited {
        children: vec![child(1), Child::default()],
        ..Default::default()
    };
    assert_eq!(d.encode_to_vec(), [0x13, 0x08, 0x01, 0x14, 0x13, 0x14]);
    let d = Delimited {
        either: Some(delimited::Either::DelimitedMember(child(2))),
        ..Default::default()
    };
    assert_eq!(d.encode_to_vec(), [0x23, 0x08, 0x02, 0x24]);

    let full = Delimited {
        child: Some(Child {
            value: Some(1),
            note: Some("n".into()),
            ..Default::default()
        }),
        children: vec![child(2), child(3)],
        length_prefixed: Some(child(4)),
        either: Some(delimited::Either::DelimitedMember(child(5))),
        ..Default::default()
    };
    let bytes = full.encode_to_vec();
    assert_eq!(bytes.len(), full.encoded_len());
    assert_eq!(Delimited::decode_slice(&bytes).unwrap(), full);
    // The oneof's delimited member merges like any message member.
    let m =
        Delimited::decode_slice(&[0x23, 0x08, 0x02, 0x24, 0x23, 0x12, 0x01, b'x', 0x24]).unwrap();
    assert_eq!(
        m.either,
        Some(delimited::Either::DelimitedMember(Child {
            value: Some(2),
            note: Some("x".into()),
            ..Default::default()
        }))
    );
    // Errors inside groups.
    assert_eq!(
        Delimited::decode_slice(&[0x0b, 0x08, 0x01])
            .unwrap_err()
            .kind(),
        DecodeErrorKind::UnterminatedGroup
    );
    assert_eq!(
        Delimited::decode_slice(&[0x0b, 0x14]).unwrap_err().kind(),
        DecodeErrorKind::MismatchedEndGroup
    );
}

#[test]
fn utf8_validation() {
    let s = Strings {
        unchecked: Some("ok".into()),
        checked: Some("ok".into()),
        unchecked_list: vec!["a".into()],
        unchecked_map: [("k".to_owned(), "v".to_owned())].into(),
        ..Default::default()
    };
    assert_eq!(Strings::decode_slice(&s.encode_to_vec()).unwrap(), s);
    assert_eq!(
        Strings::decode_slice(&[0x12, 0x01, 0xff])
            .unwrap_err()
            .kind(),
        DecodeErrorKind::InvalidUtf8
    );
    // `utf8_validation = NONE` cannot be honoured with `String` fields: the
    // generator keeps `String` (see `ValueType::String` in the templates'
    // model), so invalid UTF-8 is rejected there too rather than stored.
    assert_eq!(
        Strings::decode_slice(&[0x0a, 0x01, 0xff])
            .unwrap_err()
            .kind(),
        DecodeErrorKind::InvalidUtf8
    );
}

fn full_file_level() -> file_level::Defaults {
    file_level::Defaults {
        a: 1,
        b: "b".into(),
        c: Some(0),
        leaf: Some(Leaf {
            value: 2,
            ..Default::default()
        }),
        prefixed: Some(Leaf {
            value: 3,
            ..Default::default()
        }),
        values: vec![4, 5],
        packed_values: vec![6, 7],
        leaves: vec![Leaf {
            value: 8,
            ..Default::default()
        }],
        mapped: [(
            9,
            Leaf {
                value: 10,
                ..Default::default()
            },
        )]
        .into(),
        flag: Flag::Set.into(),
        must: Some(11),
        inner: Some(defaults::Inner {
            list: vec![12, 13],
            leaf: Some(Leaf {
                value: 14,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn file_level_features_apply_to_every_field() {
    let d = full_file_level();
    let expected = [
        0x08, 0x01, // a: implicit
        0x12, 0x01, b'b', // b: implicit
        0x18, 0x00, // c: explicit, zero written
        0x23, 0x08, 0x02, 0x24, // leaf: delimited
        0x2a, 0x02, 0x08, 0x03, // prefixed: length-prefixed by field feature
        0x30, 0x04, 0x30, 0x05, // values: expanded
        0x3a, 0x02, 0x06, 0x07, // packed_values: packed by field feature
        0x43, 0x08, 0x08, 0x44, // leaves: delimited
        0x4a, 0x06, 0x08, 0x09, 0x12, 0x02, 0x08,
        0x0a, // mapped: map values are always length-prefixed
        0x50, 0x01, // flag
        0x58, 0x0b, // must
        0x63, 0x08, 0x0c, 0x08, 0x0d, 0x13, 0x08, 0x0e, 0x14,
        0x64, // inner: nested features too
    ];
    assert_eq!(d.encode_to_vec(), expected);
    assert_eq!(d.encoded_len(), expected.len());
    assert_eq!(file_level::Defaults::decode_slice(&expected).unwrap(), d);
    // Implicit fields at zero are not written; `must` is required.
    let min = file_level::Defaults {
        must: Some(0),
        ..Default::default()
    };
    assert_eq!(min.encode_to_vec(), [0x58, 0x00]);
    assert_eq!(
        file_level::Defaults::decode_slice(&[]).unwrap_err().kind(),
        DecodeErrorKind::MissingRequiredField
    );
}
