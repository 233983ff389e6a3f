#![deny(warnings)]
//! Property tests over the generated code of several `testdata` cases:
//! random bytes (and random but well-formed wire data) never make `decode`
//! panic, and whatever decodes re-encodes consistently.

pub mod case_scalars3 {
    include!("../../testdata/scalars3/expected/mod.rs");
}
pub mod case_proto2 {
    include!("../../testdata/proto2/expected/mod.rs");
}
pub mod case_editions {
    include!("../../testdata/editions/expected/mod.rs");
}
pub mod case_maps {
    include!("../../testdata/maps/expected/mod.rs");
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
pub mod case_options {
    include!("../../testdata/options/expected/mod.rs");
}

use proptest::prelude::*;
use rust_rpc::Message;
use rust_rpc::bytes::Bytes;

/// Decodes `bytes` as `M`; if that works, checks that encoding agrees with
/// `encoded_len`, that the encoding decodes again, and (for `stable` types,
/// those without `HashMap`s whose order can vary) that it is a fixed point.
fn check<M: Message>(bytes: &[u8], stable: bool) -> Result<(), TestCaseError> {
    let from_slice = M::decode_slice(bytes);
    let from_bytes = M::decode_bytes(&Bytes::copy_from_slice(bytes));
    let mut partial = M::default();
    let partial_result = partial.merge_partial(bytes);
    prop_assert_eq!(from_slice.is_ok(), from_bytes.is_ok(), "{}", M::NAME);
    if let (Err(a), Err(b)) = (&from_slice, &from_bytes) {
        prop_assert_eq!(a.kind(), b.kind());
    }
    let Ok(m) = from_slice else {
        return Ok(());
    };
    prop_assert!(partial_result.is_ok());
    let encoded = m.encode_to_vec();
    prop_assert_eq!(encoded.len(), m.encoded_len(), "{}", M::NAME);
    let again = M::decode_slice(&encoded);
    prop_assert!(
        again.is_ok(),
        "{}: re-encoding of {:02x?} does not decode: {:?}",
        M::NAME,
        bytes,
        again
    );
    let again = again.unwrap_or_default();
    let re_encoded = again.encode_to_vec();
    prop_assert_eq!(re_encoded.len(), encoded.len(), "{}", M::NAME);
    if stable {
        prop_assert_eq!(
            &re_encoded,
            &encoded,
            "{}: not a fixed point for input {:02x?}",
            M::NAME,
            bytes
        );
    }
    Ok(())
}

fn check_all(bytes: &[u8]) -> Result<(), TestCaseError> {
    use case_editions::ed;
    use case_proto2::p2;
    use case_scalars3::scalars3 as s3;
    check::<s3::Scalars>(bytes, true)?;
    check::<s3::Optionals>(bytes, true)?;
    check::<s3::Packed>(bytes, true)?;
    check::<s3::Unpacked>(bytes, true)?;
    check::<s3::Empty>(bytes, true)?;
    check::<p2::Plain>(bytes, true)?;
    check::<p2::Defaults>(bytes, true)?;
    check::<p2::Needs>(bytes, true)?;
    check::<p2::Wrapper>(bytes, false)?;
    check::<p2::Lists>(bytes, true)?;
    check::<p2::WithGroups>(bytes, true)?;
    check::<p2::Extendable>(bytes, true)?;
    check::<p2::Closed>(bytes, false)?;
    check::<p2::NonZero>(bytes, true)?;
    check::<p2::GroupInOneof>(bytes, true)?;
    check::<ed::Presence>(bytes, true)?;
    check::<ed::Repeats>(bytes, true)?;
    check::<ed::Delimited>(bytes, true)?;
    check::<ed::Strings>(bytes, false)?;
    check::<ed::file_level::Defaults>(bytes, false)?;
    check::<case_maps::maps::Keys>(bytes, false)?;
    check::<case_maps::maps::Values>(bytes, false)?;
    check::<case_maps::maps::Nested>(bytes, false)?;
    check::<case_oneofs::oneofs::Two>(bytes, true)?;
    check::<case_oneofs::oneofs::Clash>(bytes, true)?;
    check::<case_oneofs::oneofs::Sparse>(bytes, true)?;
    check::<case_recursion::recursion::Node>(bytes, true)?;
    check::<case_recursion::recursion::Expr>(bytes, true)?;
    check::<case_recursion::recursion::Tree>(bytes, false)?;
    check::<case_recursion::recursion::A>(bytes, true)?;
    check::<case_wkt_use::wkt_use::Event>(bytes, false)?;
    check::<case_options::opts::Blob>(bytes, true)?;
    check::<case_options::opts::Tagged>(bytes, true)?;
    Ok(())
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// One field on the wire, well-formed but with arbitrary contents.
#[derive(Clone, Debug)]
enum WireField {
    Varint(u32, u64),
    Fixed64(u32, u64),
    Fixed32(u32, u32),
    Bytes(u32, Vec<u8>),
    Nested(u32, Vec<WireField>),
    Group(u32, Vec<WireField>),
}

fn encode_fields(fields: &[WireField], out: &mut Vec<u8>) {
    for f in fields {
        match f {
            WireField::Varint(n, v) => {
                push_varint(out, u64::from(*n) << 3);
                push_varint(out, *v);
            }
            WireField::Fixed64(n, v) => {
                push_varint(out, u64::from(*n) << 3 | 1);
                out.extend_from_slice(&v.to_le_bytes());
            }
            WireField::Fixed32(n, v) => {
                push_varint(out, u64::from(*n) << 3 | 5);
                out.extend_from_slice(&v.to_le_bytes());
            }
            WireField::Bytes(n, b) => {
                push_varint(out, u64::from(*n) << 3 | 2);
                push_varint(out, b.len() as u64);
                out.extend_from_slice(b);
            }
            WireField::Nested(n, inner) => {
                let mut body = Vec::new();
                encode_fields(inner, &mut body);
                push_varint(out, u64::from(*n) << 3 | 2);
                push_varint(out, body.len() as u64);
                out.extend_from_slice(&body);
            }
            WireField::Group(n, inner) => {
                push_varint(out, u64::from(*n) << 3 | 3);
                encode_fields(inner, out);
                push_varint(out, u64::from(*n) << 3 | 4);
            }
        }
    }
}

fn field_number() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 1u32..=22, 1 => 95u32..=205, 1 => Just(536_870_911u32)]
}

fn varint_value() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..8,
        2 => any::<u64>(),
        1 => Just(u64::MAX),
        1 => Just(0xffff_ffff_u64),
        1 => Just(0x8000_0000_u64),
        1 => (-3i64..3).prop_map(|v| v as u64),
    ]
}

fn wire_fields() -> impl Strategy<Value = Vec<WireField>> {
    let leaf = prop_oneof![
        (field_number(), varint_value()).prop_map(|(n, v)| WireField::Varint(n, v)),
        (field_number(), any::<u64>()).prop_map(|(n, v)| WireField::Fixed64(n, v)),
        (field_number(), any::<u32>()).prop_map(|(n, v)| WireField::Fixed32(n, v)),
        (
            field_number(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..12),
                "[a-z]{0,6}".prop_map(String::into_bytes),
            ]
        )
            .prop_map(|(n, b)| WireField::Bytes(n, b)),
    ];
    let field = leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            (
                field_number(),
                proptest::collection::vec(inner.clone(), 0..6)
            )
                .prop_map(|(n, f)| WireField::Nested(n, f)),
            (field_number(), proptest::collection::vec(inner, 0..4))
                .prop_map(|(n, f)| WireField::Group(n, f)),
        ]
    });
    proptest::collection::vec(field, 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        check_all(&bytes)?;
    }

    #[test]
    fn well_formed_wire_data_never_panics(fields in wire_fields()) {
        let mut bytes = Vec::new();
        encode_fields(&fields, &mut bytes);
        check_all(&bytes)?;
    }

    #[test]
    fn truncations_and_corruptions_never_panic(
        fields in wire_fields(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = Vec::new();
        encode_fields(&fields, &mut bytes);
        if !bytes.is_empty() {
            let mut corrupted = bytes.clone();
            let at = flip.index(corrupted.len());
            corrupted[at] = byte;
            check_all(&corrupted)?;
            bytes.truncate(cut.index(bytes.len()));
        }
        check_all(&bytes)?;
    }
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("not NaN", |v| !v.is_nan()),
        Just(-0.0),
        Just(f64::INFINITY)
    ]
}

proptest! {
    #[test]
    fn arbitrary_scalars_round_trip(
        (f_double, f_float, f_int32, f_int64) in (finite_f64(), any::<f32>().prop_filter("not NaN", |v| !v.is_nan()), any::<i32>(), any::<i64>()),
        (f_uint32, f_uint64, f_sint32, f_sint64) in (any::<u32>(), any::<u64>(), any::<i32>(), any::<i64>()),
        (f_fixed32, f_fixed64, f_sfixed32, f_sfixed64) in (any::<u32>(), any::<u64>(), any::<i32>(), any::<i64>()),
        (f_bool, f_string, f_bytes, kind) in (any::<bool>(), any::<String>(), proptest::collection::vec(any::<u8>(), 0..40), any::<i32>()),
    ) {
        use case_scalars3::scalars3::Scalars;
        let m = Scalars {
            f_double, f_float, f_int32, f_int64, f_uint32, f_uint64, f_sint32, f_sint64,
            f_fixed32, f_fixed64, f_sfixed32, f_sfixed64, f_bool, f_string, f_bytes,
            f_kind: rust_rpc::OpenEnum::from_i32(kind),
            ..Default::default()
        };
        let bytes = m.encode_to_vec();
        prop_assert_eq!(bytes.len(), m.encoded_len());
        prop_assert_eq!(Scalars::decode_slice(&bytes).unwrap_or_default(), m);
    }

    #[test]
    fn arbitrary_repeated_round_trip(
        ints in proptest::collection::vec(any::<i32>(), 0..20),
        longs in proptest::collection::vec(any::<i64>(), 0..20),
        zig in proptest::collection::vec(any::<i64>(), 0..20),
        fixed in proptest::collection::vec(any::<u32>(), 0..20),
        bools in proptest::collection::vec(any::<bool>(), 0..20),
        colors in proptest::collection::vec(any::<i32>(), 0..20),
    ) {
        use case_scalars3::scalars3::{Packed, Unpacked};
        let colors: Vec<_> = colors.into_iter().map(rust_rpc::OpenEnum::from_i32).collect();
        let p = Packed { r_int32: ints.clone(), r_int64: longs.clone(), r_sint64: zig.clone(), r_fixed32: fixed.clone(), r_bool: bools.clone(), r_color: colors.clone(), ..Default::default() };
        let u = Unpacked { r_int32: ints, r_int64: longs, r_sint64: zig, r_fixed32: fixed, r_bool: bools, r_color: colors, ..Default::default() };
        let pb = p.encode_to_vec();
        let ub = u.encode_to_vec();
        prop_assert_eq!(pb.len(), p.encoded_len());
        prop_assert_eq!(ub.len(), u.encoded_len());
        prop_assert_eq!(Packed::decode_slice(&pb).unwrap_or_default(), p.clone());
        prop_assert_eq!(Unpacked::decode_slice(&ub).unwrap_or_default(), u.clone());
        // Each reads the other's encoding.
        prop_assert_eq!(Packed::decode_slice(&ub).unwrap_or_default(), p);
        prop_assert_eq!(Unpacked::decode_slice(&pb).unwrap_or_default(), u);
    }
}
