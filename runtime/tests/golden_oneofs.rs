#![deny(warnings)]
//! The generated code of `testdata/oneofs`.

pub mod generated {
    include!("../../testdata/oneofs/expected/mod.rs");
}

use generated::oneofs::{
    Clash, Level, Payload, Sparse, Two, WithOptional, clash, sparse, two, with_optional,
};
use rust_rpc::{DecodeErrorKind, Message, OpenEnum};

fn payload(text: &str, count: i64) -> Payload {
    Payload {
        text: text.to_owned(),
        count,
        ..Default::default()
    }
}

#[test]
fn every_member_round_trips() {
    let firsts = [
        two::First::FString("s".into()),
        two::First::FBytes(vec![1, 2]),
        two::First::FMessage(Payload {
            items: vec![1],
            child: Some(Box::new(payload("c", 1))),
            ..payload("p", 2)
        }),
        two::First::FEnum(Level::High.into()),
        two::First::FEnum(OpenEnum::Unknown(77)),
        two::First::FInt32(-5),
        two::First::FDouble(0.5),
    ];
    let seconds = [
        two::Second::SBool(true),
        two::Second::SSint64(-9),
        two::Second::SFixed32(3),
        two::Second::SMessage(Payload::default()),
        two::Second::SFloat(-1.0),
    ];
    for (i, first) in firsts.iter().enumerate() {
        for second in &seconds {
            let m = Two {
                id: i as i32,
                middle: "m".into(),
                trailing: 1,
                first: Some(first.clone()),
                second: Some(second.clone()),
                ..Default::default()
            };
            let bytes = m.encode_to_vec();
            assert_eq!(bytes.len(), m.encoded_len());
            assert_eq!(Two::decode_slice(&bytes).unwrap(), m);
        }
    }
}

#[test]
fn set_members_are_written_even_at_default_values() {
    let cases: Vec<(two::First, Vec<u8>)> = vec![
        (two::First::FString(String::new()), vec![0x12, 0x00]),
        (two::First::FBytes(vec![]), vec![0x1a, 0x00]),
        (two::First::FMessage(Payload::default()), vec![0x22, 0x00]),
        (
            two::First::FEnum(Level::Unspecified.into()),
            vec![0x28, 0x00],
        ),
        (two::First::FInt32(0), vec![0x30, 0x00]),
        (two::First::FDouble(0.0), vec![0x39, 0, 0, 0, 0, 0, 0, 0, 0]),
    ];
    for (first, expected) in cases {
        let m = Two {
            first: Some(first),
            ..Default::default()
        };
        assert_eq!(m.encode_to_vec(), expected);
        assert_eq!(Two::decode_slice(&expected).unwrap(), m);
    }
    assert!(Two::default().encode_to_vec().is_empty());
}

#[test]
fn fields_and_oneofs_are_written_in_field_number_order() {
    let m = Two {
        id: 1,
        first: Some(two::First::FInt32(2)),
        middle: "m".into(),
        second: Some(two::Second::SBool(true)),
        trailing: 3,
        ..Default::default()
    };
    assert_eq!(
        m.encode_to_vec(),
        [
            0x08, 0x01, 0x30, 0x02, 0x42, 0x01, b'm', 0x48, 0x01, 0x70, 0x03
        ]
    );
    // Sparse: each oneof member at its own number, as protobuf's reference
    // implementation writes them: `normal` (10), `mixed.late` (50), `only.high` (100).
    let s = Sparse {
        normal: 1,
        only: Some(sparse::Only::High(2)),
        mixed: Some(sparse::Mixed::Late("l".into())),
        ..Default::default()
    };
    assert_eq!(
        s.encode_to_vec(),
        [0x50, 0x01, 0x92, 0x03, 0x01, b'l', 0xa0, 0x06, 0x02]
    );
    assert_eq!(Sparse::decode_slice(&s.encode_to_vec()).unwrap(), s);
}

#[test]
fn last_member_wins() {
    // f_string = "a", then f_int32 = 1: the int wins.
    let m = Two::decode_slice(&[0x12, 0x01, b'a', 0x30, 0x01]).unwrap();
    assert_eq!(m.first, Some(two::First::FInt32(1)));
    // ... and back to a string.
    let m = Two::decode_slice(&[0x30, 0x01, 0x12, 0x01, b'b']).unwrap();
    assert_eq!(m.first, Some(two::First::FString("b".into())));
    // A message member after another member starts from scratch.
    let m = Two::decode_slice(&[0x30, 0x01, 0x22, 0x02, 0x10, 0x05]).unwrap();
    assert_eq!(m.first, Some(two::First::FMessage(payload("", 5))));
    // The other oneof is untouched.
    let m = Two::decode_slice(&[0x48, 0x01, 0x12, 0x01, b'a', 0x30, 0x01]).unwrap();
    assert_eq!(m.second, Some(two::Second::SBool(true)));
    // merge_slice replaces a different member already set.
    let mut m = Two {
        first: Some(two::First::FBytes(vec![1])),
        ..Default::default()
    };
    m.merge_slice(&[0x39, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f])
        .unwrap();
    assert_eq!(m.first, Some(two::First::FDouble(1.0)));
}

#[test]
fn message_members_merge() {
    // f_message {text: "a", items: [1]} then f_message {count: 2, items: [2]}.
    let mut bytes = vec![0x22, 0x05, 0x0a, 0x01, b'a', 0x18, 0x01];
    bytes.extend([0x22, 0x04, 0x10, 0x02, 0x18, 0x02]);
    let m = Two::decode_slice(&bytes).unwrap();
    assert_eq!(
        m.first,
        Some(two::First::FMessage(Payload {
            items: vec![1, 2],
            ..payload("a", 2)
        }))
    );
    // merge_slice into an existing member merges too, recursively.
    let mut m = Two {
        first: Some(two::First::FMessage(Payload {
            child: Some(Box::new(payload("c", 0))),
            ..payload("x", 1)
        })),
        ..Default::default()
    };
    m.merge_slice(&[0x22, 0x04, 0x22, 0x02, 0x10, 0x07])
        .unwrap();
    assert_eq!(
        m.first,
        Some(two::First::FMessage(Payload {
            child: Some(Box::new(payload("c", 7))),
            ..payload("x", 1)
        }))
    );
}

#[test]
fn oneof_named_like_nested_types() {
    let c = Clash {
        kind: Some(clash::Kind_::KMessage(clash::Kind {
            k: 4,
            ..Default::default()
        })),
        shape: Some(clash::Shape_::SEnum(clash::Shape::Round.into())),
        plain_kind: Some(clash::Kind {
            k: 5,
            ..Default::default()
        }),
        ..Default::default()
    };
    let bytes = c.encode_to_vec();
    assert_eq!(
        bytes,
        [0x0a, 0x02, 0x08, 0x04, 0x18, 0x01, 0x2a, 0x02, 0x08, 0x05]
    );
    assert_eq!(Clash::decode_slice(&bytes).unwrap(), c);
    let c = Clash::decode_slice(&[0x12, 0x01, b'n', 0x20, 0x06]).unwrap();
    assert_eq!(c.kind, Some(clash::Kind_::KName("n".into())));
    assert_eq!(c.shape, Some(clash::Shape_::SSides(6)));
}

#[test]
fn proto3_optional_is_not_a_oneof() {
    let w = WithOptional {
        maybe: Some(0),
        real: Some(with_optional::Real::B(0)),
        maybe_text: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(w.encode_to_vec(), [0x08, 0x00, 0x18, 0x00, 0x22, 0x00]);
    assert_eq!(WithOptional::decode_slice(&w.encode_to_vec()).unwrap(), w);
    // Setting `maybe` does not clear `maybe_text`: they are separate fields.
    let w = WithOptional::decode_slice(&[0x22, 0x01, b't', 0x08, 0x01, 0x10, 0x02]).unwrap();
    assert_eq!(
        (w.maybe, w.maybe_text.as_deref(), w.real),
        (Some(1), Some("t"), Some(with_optional::Real::A(2)))
    );
}

#[test]
fn malformed_members() {
    assert_eq!(
        Two::decode_slice(&[0x12, 0x01, 0xff]).unwrap_err().kind(),
        DecodeErrorKind::InvalidUtf8
    );
    assert_eq!(
        Two::decode_slice(&[0x22, 0x03, 0x10]).unwrap_err().kind(),
        DecodeErrorKind::LengthOutOfBounds
    );
    assert_eq!(
        Two::decode_slice(&[0x22, 0x01, 0x10]).unwrap_err().kind(),
        DecodeErrorKind::Truncated
    );
    assert_eq!(
        Two::decode_slice(&[0x5d, 0x01, 0x02]).unwrap_err().kind(),
        DecodeErrorKind::Truncated
    );
    // A bad value inside a message member is an error.
    let mut m = Two::default();
    assert!(
        m.merge_slice(&[0x22, 0x04, 0x0a, 0x02, 0xff, 0xfe])
            .is_err()
    );
    // A member with the wrong wire type is unknown.
    let m = Two::decode_slice(&[0x32, 0x00]).unwrap();
    assert_eq!(m.first, None);
    assert_eq!(m.unknown_fields.as_bytes(), [0x32, 0x00]);
}
