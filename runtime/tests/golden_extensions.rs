#![deny(warnings)]
//! The generated code of `testdata/extensions`: typed extensions of every
//! kind, in proto2 and edition 2023, and a MessageSet.

pub mod generated {
    include!("../../testdata/extensions/expected/mod.rs");
}

use generated::ext::{self, FGroup, Host, Item, Level, Note, Scope, Set, item, scope};
use rust_rpc::{Extendable, Message, OpenEnum};

fn round_trip(h: &Host) -> Host {
    Host::decode_slice(&h.encode_to_vec()).expect("decodes")
}

#[test]
fn every_scalar_kind_round_trips() {
    let mut h = Host {
        id: Some(1),
        ..Default::default()
    };
    h.set_extension(&ext::F_DOUBLE, -2.5);
    h.set_extension(&ext::F_FLOAT, 1.25);
    h.set_extension(&ext::F_INT32, -7);
    h.set_extension(&ext::F_INT64, -8_000_000_000);
    h.set_extension(&ext::F_UINT32, u32::MAX);
    h.set_extension(&ext::F_UINT64, u64::MAX);
    h.set_extension(&ext::F_SINT32, i32::MIN);
    h.set_extension(&ext::F_SINT64, i64::MIN);
    h.set_extension(&ext::F_FIXED32, 7);
    h.set_extension(&ext::F_FIXED64, 8);
    h.set_extension(&ext::F_SFIXED32, -9);
    h.set_extension(&ext::F_SFIXED64, -10);
    h.set_extension(&ext::F_BOOL, true);
    h.set_extension(&ext::F_STRING, "ünïcode".to_owned());
    h.set_extension(&ext::F_BYTES, vec![0, 255]);
    h.set_extension(&ext::F_LEVEL, Level::High);
    let h = round_trip(&h);
    assert_eq!(h.id, Some(1));
    assert_eq!(h.extension(&ext::F_DOUBLE), Some(-2.5));
    assert_eq!(h.extension(&ext::F_FLOAT), Some(1.25));
    assert_eq!(h.extension(&ext::F_INT32), Some(-7));
    assert_eq!(h.extension(&ext::F_INT64), Some(-8_000_000_000));
    assert_eq!(h.extension(&ext::F_UINT32), Some(u32::MAX));
    assert_eq!(h.extension(&ext::F_UINT64), Some(u64::MAX));
    assert_eq!(h.extension(&ext::F_SINT32), Some(i32::MIN));
    assert_eq!(h.extension(&ext::F_SINT64), Some(i64::MIN));
    assert_eq!(h.extension(&ext::F_FIXED32), Some(7));
    assert_eq!(h.extension(&ext::F_FIXED64), Some(8));
    assert_eq!(h.extension(&ext::F_SFIXED32), Some(-9));
    assert_eq!(h.extension(&ext::F_SFIXED64), Some(-10));
    assert_eq!(h.extension(&ext::F_BOOL), Some(true));
    assert_eq!(h.extension(&ext::F_STRING).as_deref(), Some("ünïcode"));
    assert_eq!(h.extension(&ext::F_BYTES), Some(vec![0, 255]));
    assert_eq!(h.extension(&ext::F_LEVEL), Some(Level::High));
    // int32 -7 is ten bytes on the wire, sint32 MIN five: the kinds differ.
    let mut only = Host::default();
    only.set_extension(&ext::F_INT32, -7);
    assert_eq!(only.encode_to_vec().len(), 2 + 10);
    let mut only = Host::default();
    only.set_extension(&ext::F_SINT32, i32::MIN);
    assert_eq!(only.encode_to_vec().len(), 2 + 5);
}

#[test]
fn messages_and_groups() {
    let mut h = Host::default();
    let note = Note {
        text: Some("n".into()),
        marks: vec![1, 2],
        ..Default::default()
    };
    h.set_extension(&ext::F_NOTE, note.clone());
    h.set_extension(
        &ext::FGROUP,
        FGroup {
            a: Some(5),
            ..Default::default()
        },
    );
    h.set_extension(
        &scope::IN_SCOPE,
        Scope {
            v: Some(3),
            ..Default::default()
        },
    );
    let h = round_trip(&h);
    assert_eq!(h.extension(&ext::F_NOTE), Some(note));
    assert_eq!(h.extension(&ext::FGROUP).and_then(|g| g.a), Some(5));
    assert_eq!(h.extension(&scope::IN_SCOPE).and_then(|s| s.v), Some(3));
    // A group is a start tag (117, wire type 3) ... end tag (117, 4).
    let mut g = Host::default();
    g.set_extension(&ext::FGROUP, FGroup::default());
    assert_eq!(g.encode_to_vec(), [0xab, 0x07, 0xac, 0x07]);
    // Two records of a message extension merge.
    let mut twice = Note {
        text: Some("a".into()),
        ..Default::default()
    }
    .encode_to_vec();
    twice.splice(0..0, [0xa2, 0x07, twice.len() as u8]);
    let second = Note {
        marks: vec![9],
        ..Default::default()
    }
    .encode_to_vec();
    twice.extend([0xa2, 0x07, second.len() as u8]);
    twice.extend(second);
    let merged = Host::decode_slice(&twice).unwrap().extension(&ext::F_NOTE);
    assert_eq!(
        merged,
        Some(Note {
            text: Some("a".into()),
            marks: vec![9],
            ..Default::default()
        })
    );
}

#[test]
fn declared_defaults_when_unset() {
    let h = Host::default();
    assert_eq!(h.extension(&ext::D_INT32), -42);
    assert_eq!(h.extension(&ext::D_STRING), "hello \"x\"");
    assert_eq!(h.extension(&ext::D_BYTES), [1, 255]);
    assert_eq!(h.extension(&ext::D_LEVEL), Level::High);
    assert_eq!(h.extension(&ext::D_INF), f64::INFINITY);
    assert!(h.extension(&ext::D_BOOL));
    assert!(!h.has_extension(&ext::D_INT32));
    assert_eq!(ext::D_INT32.default_value(), -42);
    let mut h = h;
    h.set_extension(&ext::D_INT32, 5);
    assert!(h.has_extension(&ext::D_INT32));
    assert_eq!(round_trip(&h).extension(&ext::D_INT32), 5);
}

#[test]
fn repeated_packed_and_expanded() {
    let mut h = Host::default();
    h.set_extension(&ext::R_INT32, vec![1, -1, 300]);
    h.set_extension(&ext::R_PACKED, vec![-2, 2]);
    h.set_extension(&ext::R_STRING, vec!["a".into(), "".into()]);
    h.set_extension(&ext::R_LEVEL, vec![Level::Low, Level::High]);
    h.set_extension(&ext::R_FIXED, vec![1, 2, 3]);
    h.set_extension(
        &ext::R_NOTE,
        vec![
            Note::default(),
            Note {
                text: Some("x".into()),
                ..Default::default()
            },
        ],
    );
    let back = round_trip(&h);
    assert_eq!(back.extension(&ext::R_INT32), [1, -1, 300]);
    assert_eq!(back.extension(&ext::R_PACKED), [-2, 2]);
    assert_eq!(back.extension(&ext::R_STRING), ["a", ""]);
    assert_eq!(back.extension(&ext::R_LEVEL), [Level::Low, Level::High]);
    assert_eq!(back.extension(&ext::R_FIXED), [1, 2, 3]);
    assert_eq!(back.extension(&ext::R_NOTE).len(), 2);

    // Packed: one record (301 LEN), zigzag varints.
    let mut p = Host::default();
    p.set_extension(&ext::R_PACKED, vec![-2, 2]);
    assert_eq!(p.encode_to_vec(), [0xea, 0x12, 0x02, 0x03, 0x04]);
    // Expanded: a record per element.
    let mut x = Host::default();
    x.set_extension(&ext::R_INT32, vec![1, 2]);
    assert_eq!(x.encode_to_vec(), [0xe0, 0x12, 0x01, 0xe0, 0x12, 0x02]);
    // Readers take both forms, whatever the declaration says.
    let expanded_as_packed = Host::decode_slice(&[0xe2, 0x12, 0x02, 0x01, 0x02]).unwrap();
    assert_eq!(expanded_as_packed.extension(&ext::R_INT32), [1, 2]);
    let packed_as_expanded = Host::decode_slice(&[0xe8, 0x12, 0x03, 0xe8, 0x12, 0x04]).unwrap();
    assert_eq!(packed_as_expanded.extension(&ext::R_PACKED), [-2, 2]);
    // Empty clears.
    p.set_extension(&ext::R_PACKED, Vec::new());
    assert!(!p.has_extension(&ext::R_PACKED));
    assert!(p.encode_to_vec().is_empty());
}

#[test]
fn unknown_extensions_stay_byte_for_byte() {
    // 999: in the range, not declared anywhere; 150: wrong wire type for
    // nothing declared there either.
    let bytes = [0xb8, 0x3e, 0x01, 0xe2, 0x12, 0x01, 0x05];
    let h = Host::decode_slice(&bytes).unwrap();
    assert_eq!(h.encode_to_vec(), bytes);
    // A record with the wrong wire type for an extension is not its value.
    let wrong = Host::decode_slice(&[0xb2, 0x06, 0x00]).unwrap(); // 102 as LEN
    assert_eq!(wrong.extension(&ext::F_INT32), None);
    assert!(!wrong.has_extension(&ext::F_INT32));
    assert_eq!(wrong.encode_to_vec(), [0xb2, 0x06, 0x00]);
    // Nested extension names live in their message's module, no clash.
    assert_ne!(ext::F_INT32.number(), scope::F_INT32.number());
}

#[test]
fn message_set_items() {
    let mut set = Set::default();
    set.set_extension(
        &item::ITEM,
        Item {
            text: Some("x".into()),
            ..Default::default()
        },
    );
    // group 1 { type_id (2) = 1547769, message (3) = { text: "x" } }
    let expected = [
        0x0b, 0x10, 0xf9, 0xbb, 0x5e, 0x1a, 0x03, 0x0a, 0x01, b'x', 0x0c,
    ];
    assert_eq!(set.encode_to_vec(), expected);
    let back = Set::decode_slice(&expected).unwrap();
    assert_eq!(
        back.extension(&item::ITEM).and_then(|i| i.text),
        Some("x".into())
    );
    // type_id after message, as some writers put it, reads the same.
    let reordered = [
        0x0b, 0x1a, 0x03, 0x0a, 0x01, b'y', 0x10, 0xf9, 0xbb, 0x5e, 0x0c,
    ];
    let back = Set::decode_slice(&reordered).unwrap();
    assert_eq!(
        back.extension(&item::ITEM).and_then(|i| i.text),
        Some("y".into())
    );
    // Other items stay; clearing removes only ours.
    let mut mixed = reordered.to_vec();
    mixed.extend([0x0b, 0x10, 0x05, 0x1a, 0x00, 0x0c]); // type_id 5, empty
    let mut m = Set::decode_slice(&mixed).unwrap();
    assert!(m.has_extension(&item::ITEM));
    m.clear_extension(&item::ITEM);
    assert!(!m.has_extension(&item::ITEM));
    assert_eq!(m.encode_to_vec(), [0x0b, 0x10, 0x05, 0x1a, 0x00, 0x0c]);
}

#[test]
fn editions_extensions() {
    use generated::ext::ed::{self, Box as EdBox, Color, EdHost};
    let mut h = EdHost::default();
    h.set_extension(&ed::E_INT32, 0);
    h.set_extension(&ed::E_PACKED, vec![1, 2]);
    h.set_extension(&ed::E_EXPANDED, vec![3, 4]);
    h.set_extension(&ed::E_COLOR, OpenEnum::Unknown(7));
    h.set_extension(
        &ed::E_DELIMITED,
        EdBox {
            size: Some(9),
            ..Default::default()
        },
    );
    let bytes = h.encode_to_vec();
    let back = EdHost::decode_slice(&bytes).unwrap();
    // Explicit presence: a set zero is still set.
    assert_eq!(back.extension(&ed::E_INT32), Some(0));
    assert_eq!(back.extension(&ed::E_PACKED), [1, 2]);
    assert_eq!(back.extension(&ed::E_EXPANDED), [3, 4]);
    // Open enums keep unknown numbers.
    assert_eq!(back.extension(&ed::E_COLOR), Some(OpenEnum::Unknown(7)));
    assert_eq!(
        back.extension(&ed::E_DELIMITED).and_then(|b| b.size),
        Some(9)
    );
    assert_eq!(back.extension(&ed::E_DEFAULT), "dflt");
    // Packed by default in 2023 (11 LEN), expanded where the field says so
    // (12 VARINT twice), DELIMITED as a group (14, wire type 3).
    assert!(bytes.windows(4).any(|w| w == [0x5a, 0x02, 0x01, 0x02]));
    assert!(bytes.windows(4).any(|w| w == [0x60, 0x03, 0x60, 0x04]));
    assert!(bytes.contains(&0x73) && bytes.contains(&0x74));
    let _ = Color::Red;
}
