//! Wire compatibility with an independent implementation: Python's
//! `protobuf` package (upb), driven through `interop/python/wire_compat.py`.
//!
//! 1. Rust encodes the curated samples below into `<tmp>/rust/<name>.bin`.
//! 2. `wire_compat.py --phase write` generates `_pb2` modules from the same
//!    `testdata/<case>/*.proto` files (into `<tmp>/py/`), checks that each Rust
//!    encoding parses to the message Python builds for that sample, and writes
//!    Python's encodings: `<tmp>/python/<name>.bin` for the samples and
//!    `<tmp>/sweep/<case>/<Full.Name>@<variant>.bin` for every message of every
//!    case, filled generically (every field, each oneof member, zero values,
//!    unknown fields, undeclared open enum values, invalid inputs).
//! 3. Rust decodes Python's sample encodings and compares them with its own
//!    values (and, where the encoding is deterministic, the bytes), decodes
//!    every sweep file with the generated type registered for that message
//!    (checking that `decode_slice`, `decode_bytes`, `decode` of a split buffer
//!    and the encode entry points agree), and writes what it re-encodes (or its
//!    decode error) back.
//! 4. `wire_compat.py --phase verify` checks that every Rust re-encoding parses
//!    to what Python wrote, with the same fields byte for byte up to field
//!    order and map entry order, and that Rust rejected what it must reject.
//!
//! Needs `python3` with the packages pinned in `interop/python/requirements.txt`;
//! without them this test fails and says how to install them.
#![deny(warnings)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use rust_rpc::{Message, OpenEnum};

/// The generated code of every case used here, mounted as the golden test
/// generates it. To cover a new case: mount it here, register its messages
/// in `registry()` and, if it shows something new, add samples (in Rust
/// below and in wire_compat.py under the same name).
///
/// `module_inception`: a case is often named like its proto package.
#[allow(clippy::module_inception)]
pub mod cases {
    pub mod custom_options {
        include!("../../testdata/custom_options/expected/mod.rs");
    }
    pub mod descriptor_use {
        include!("../../testdata/descriptor_use/expected/mod.rs");
    }
    pub mod extensions {
        include!("../../testdata/extensions/expected/mod.rs");
    }
    pub mod editions {
        include!("../../testdata/editions/expected/mod.rs");
    }
    pub mod maps {
        include!("../../testdata/maps/expected/mod.rs");
    }
    pub mod multi_package {
        include!("../../testdata/multi_package/expected/mod.rs");
    }
    pub mod naming {
        include!("../../testdata/naming/expected/mod.rs");
    }
    pub mod oneofs {
        include!("../../testdata/oneofs/expected/mod.rs");
    }
    pub mod options {
        include!("../../testdata/options/expected/mod.rs");
    }
    pub mod proto2 {
        include!("../../testdata/proto2/expected/mod.rs");
    }
    pub mod recursion {
        include!("../../testdata/recursion/expected/mod.rs");
    }
    pub mod scalars3 {
        include!("../../testdata/scalars3/expected/mod.rs");
    }
    pub mod smoke {
        include!("../../testdata/smoke/expected/mod.rs");
    }
    pub mod wkt_use {
        include!("../../testdata/wkt_use/expected/mod.rs");
    }
}

const INSTALL: &str = "python3 -m pip install -r interop/python/requirements.txt";
/// wire_compat.py's exit status when its packages are missing or not the pinned versions.
const EXIT_ENV: i32 = 3;

// ---------------------------------------------------------------------------
// The sweep: every message type, decoded from Python's bytes and re-encoded
// ---------------------------------------------------------------------------

/// Decodes `bytes` as one message type and re-encodes it (or returns the
/// decode error), adding to `problems` any disagreement between the
/// runtime's several decode and encode entry points.
type Roundtrip = fn(&[u8], &mut Vec<String>) -> Result<Vec<u8>, String>;

fn roundtrip<M: Message>(bytes: &[u8], problems: &mut Vec<String>) -> Result<Vec<u8>, String> {
    use rust_rpc::bytes::{Buf, Bytes, BytesMut};
    let slice = M::decode_slice(bytes);
    // `decode_bytes` shares `bytes` fields with the input; `decode` of a
    // non-contiguous buffer takes another path again.
    let shared = M::decode_bytes(&Bytes::copy_from_slice(bytes));
    let (front, back) = bytes.split_at(bytes.len() / 2);
    let chained = M::decode(front.chain(back));
    match (&slice, &shared, &chained) {
        (Ok(a), Ok(b), Ok(c)) => {
            // NaN fields make a message unequal to itself: nothing to compare then.
            #[allow(clippy::eq_op)]
            let comparable = a == a;
            if comparable && (a != b || a != c) {
                problems.push(format!(
                    "decode_slice, decode_bytes and decode(non-contiguous buffer) read different messages:\n{}",
                    if a != b { debug_diff(a, b) } else { debug_diff(a, c) }
                ));
            }
        }
        (Err(_), Err(_), Err(_)) => {}
        _ => problems.push(format!(
            "decode_slice: {:?}, decode_bytes: {:?}, decode(non-contiguous buffer): {:?}",
            slice.as_ref().err(),
            shared.as_ref().err(),
            chained.as_ref().err()
        )),
    }
    let m = slice.map_err(|e| e.to_string())?;
    let out = m.encode_to_vec();
    if m.encoded_len() != out.len() {
        problems.push(format!(
            "encoded_len() is {} but encode_to_vec() wrote {} bytes",
            m.encoded_len(),
            out.len()
        ));
    }
    let mut buf = BytesMut::new();
    match m.encode(&mut buf) {
        Ok(()) if buf.len() == out.len() => {}
        other => problems.push(format!(
            "encode() into a BytesMut: {other:?}, {} bytes, expected {}",
            buf.len(),
            out.len()
        )),
    }
    let mut delimited = Vec::new();
    match m.encode_length_delimited(&mut delimited) {
        Ok(()) => match M::decode_length_delimited(delimited.as_slice()) {
            Ok(again) if again.encoded_len() == out.len() => {}
            other => problems.push(format!(
                "encode_length_delimited then decode_length_delimited: {:?}",
                other.map(|a| a.encoded_len())
            )),
        },
        Err(e) => problems.push(format!("encode_length_delimited: {e}")),
    }
    Ok(out)
}

/// `(case, full proto name)` -> decode and re-encode with the generated type.
struct Registry(HashMap<(&'static str, &'static str), Roundtrip>);

impl Registry {
    fn add<M: Message>(&mut self, case: &'static str) {
        let previous = self.0.insert((case, M::NAME), roundtrip::<M>);
        assert!(previous.is_none(), "{case}: {} registered twice", M::NAME);
    }
}

macro_rules! registry {
    ($($case:ident [$($($seg:ident)::+),* $(,)?]),* $(,)?) => {
        // Deprecated messages (scalars3.Legacy) are swept like any other.
        #[allow(deprecated)]
        fn registry() -> Registry {
            let mut r = Registry(HashMap::new());
            $($(r.add::<cases::$case::$($seg)::+>(stringify!($case));)*)*
            r
        }
    };
}

registry! {
    custom_options [opts::v1::FieldRules, opts::v1::HttpRule, opts::v1::User],
    descriptor_use [descriptor_use::PluginRun, descriptor_use::ProtoSchema],
    extensions [
        ext::FGroup, ext::Host, ext::Item, ext::Note, ext::Scope, ext::Set, ext::ed::Box,
        ext::ed::EdHost,
    ],
    editions [
        ed::Presence, ed::Repeats, ed::Delimited, ed::Strings, ed::Child,
        ed::file_level::Leaf, ed::file_level::Defaults, ed::file_level::defaults::Inner,
    ],
    maps [maps::Value, maps::Keys, maps::Values, maps::Nested, maps::nested::Entry],
    multi_package [
        Loose, a::Base, a::base::Part, a::B, a::b::Derived, a::b::Leaf, a::b::c::Tip,
        other::pkg::User,
    ],
    naming [
        foo::r#type::v1::CaseClash, foo::r#type::v1::Keywords, foo::r#type::v1::Option,
        foo::r#type::v1::Result, foo::r#type::v1::String, foo::r#type::v1::Vec,
        foo::r#type::v1::Box, foo::r#type::v1::Self_, foo::r#type::v1::Default,
        foo::r#type::v1::Some, foo::r#type::v1::UsesAll, foo::r#type::v1::Container,
        foo::r#type::v1::container::Item, foo::r#type::v1::Outer,
        foo::r#type::v1::outer::Outer, foo::r#type::v1::OneofNames, foo::r#type::v1::Methods,
        foo::r#type::v1::FooBar, foo::r#type::v1::FooBar_, foo::r#type::v1::FooBar__,
        foo::r#type::v1::UsesFooBars,
    ],
    oneofs [
        oneofs::Payload, oneofs::Two, oneofs::Clash, oneofs::clash::Kind, oneofs::Sparse,
        oneofs::WithOptional,
    ],
    options [opts::Blob, opts::Key, opts::Tagged, opts::legacy::WithDefault],
    proto2 [
        p2::Plain, p2::Defaults, p2::Needs, p2::needs::Inner, p2::Wrapper, p2::Lists,
        p2::WithGroups, p2::with_groups::Single, p2::with_groups::Multi,
        p2::with_groups::multi::Deeper, p2::Extendable, p2::Scoped, p2::Closed, p2::NonZero,
        p2::GroupInOneof, p2::group_in_oneof::Picked,
    ],
    recursion [
        recursion::Node, recursion::Ping, recursion::Pong, recursion::Expr, recursion::Binary,
        recursion::Tree, recursion::A, recursion::B, recursion::C, recursion::Holder,
        recursion::Outer, recursion::outer::Inner,
    ],
    scalars3 [
        scalars3::Scalars, scalars3::scalars::Nested, scalars3::scalars::nested::Inner,
        scalars3::Optionals, scalars3::Packed, scalars3::Unpacked, scalars3::Legacy,
        scalars3::UsesLegacy, scalars3::Empty,
    ],
    smoke [demo::v1::Person],
    wkt_use [wkt_use::Event],
}

// ---------------------------------------------------------------------------
// Curated samples: the same values are built in wire_compat.py
// ---------------------------------------------------------------------------

trait Sample {
    fn name(&self) -> &'static str;
    /// Rust's own encoding, for samples that Rust builds too.
    fn rust_bytes(&self) -> Option<Vec<u8>>;
    /// Checks Python's encoding, adding what is wrong to `problems`; returns
    /// Rust's re-encoding of it for Python to verify (`None` when it cannot
    /// be decoded, as for inputs that must be rejected).
    fn check_python(&self, bytes: &[u8], problems: &mut Vec<String>) -> Option<Vec<u8>>;
}

type Check<M> = fn(&M) -> Result<(), String>;

/// Built on both sides: Python's bytes must decode to `value`; with `exact`,
/// both encodings must also be the same bytes.
struct Both<M> {
    name: &'static str,
    value: M,
    exact: bool,
    check: Option<Check<M>>,
}

/// Built by Python only (unknown fields, raw bytes): Rust decodes it as `M`,
/// checks what it can see, and re-encodes it.
struct FromPython<M> {
    name: &'static str,
    check: fn(&M, &[u8]) -> Result<(), String>,
}

/// Bytes that both sides must reject.
struct Invalid<M> {
    name: &'static str,
    _m: std::marker::PhantomData<M>,
}

impl<M: Message> Sample for Both<M> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn rust_bytes(&self) -> Option<Vec<u8>> {
        Some(self.value.encode_to_vec())
    }
    fn check_python(&self, bytes: &[u8], problems: &mut Vec<String>) -> Option<Vec<u8>> {
        let decoded = match M::decode_slice(bytes) {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!(
                    "Rust cannot decode Python's bytes: {e}\npython bytes: {}",
                    hex(bytes)
                ));
                return None;
            }
        };
        if decoded != self.value {
            problems.push(format!(
                "Python's bytes decode to another value than Rust's own:\n{}\npython bytes: {}",
                debug_diff(&self.value, &decoded),
                hex(bytes)
            ));
        }
        if let Some(check) = self.check
            && let Err(e) = check(&decoded)
        {
            problems.push(e);
        }
        let again = decoded.encode_to_vec();
        if self.exact {
            let own = self.value.encode_to_vec();
            if own != bytes {
                problems.push(format!(
                    "Rust encodes other bytes than Python:\n  rust:   {}\n  python: {}",
                    hex(&own),
                    hex(bytes)
                ));
            } else if again != bytes {
                problems.push(format!(
                    "re-encoding Python's bytes changes them:\n  rust:   {}\n  python: {}",
                    hex(&again),
                    hex(bytes)
                ));
            }
        }
        Some(again)
    }
}

impl<M: Message> Sample for FromPython<M> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn rust_bytes(&self) -> Option<Vec<u8>> {
        None
    }
    fn check_python(&self, bytes: &[u8], problems: &mut Vec<String>) -> Option<Vec<u8>> {
        let decoded = match M::decode_slice(bytes) {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!(
                    "Rust cannot decode Python's bytes: {e}\npython bytes: {}",
                    hex(bytes)
                ));
                return None;
            }
        };
        if let Err(e) = (self.check)(&decoded, bytes) {
            problems.push(format!("{e}\ndecoded: {decoded:#?}"));
        }
        Some(decoded.encode_to_vec())
    }
}

impl<M: Message> Sample for Invalid<M> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn rust_bytes(&self) -> Option<Vec<u8>> {
        None
    }
    fn check_python(&self, bytes: &[u8], problems: &mut Vec<String>) -> Option<Vec<u8>> {
        if let Ok(m) = M::decode_slice(bytes) {
            problems.push(format!(
                "Rust accepts bytes that must be rejected: {} -> {m:?}",
                hex(bytes)
            ));
        }
        None
    }
}

fn both<M: Message>(name: &'static str, exact: bool, value: M) -> Box<dyn Sample> {
    Box::new(Both {
        name,
        value,
        exact,
        check: None,
    })
}

fn from_python<M: Message>(
    name: &'static str,
    check: fn(&M, &[u8]) -> Result<(), String>,
) -> Box<dyn Sample> {
    Box::new(FromPython { name, check })
}

fn invalid<M: Message>(name: &'static str) -> Box<dyn Sample> {
    Box::new(Invalid::<M> {
        name,
        _m: std::marker::PhantomData,
    })
}

fn s(v: &str) -> String {
    v.to_owned()
}

fn map<K: std::hash::Hash + Eq, V, const N: usize>(entries: [(K, V); N]) -> HashMap<K, V> {
    HashMap::from(entries)
}

fn ensure(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_owned()) }
}

fn samples() -> Vec<Box<dyn Sample>> {
    let mut out = Vec::new();
    out.extend(smoke_samples());
    out.extend(scalars3_samples());
    out.extend(maps_samples());
    out.extend(oneofs_samples());
    out.extend(recursion_samples());
    out.extend(proto2_samples());
    out.extend(editions_samples());
    out.extend(wkt_samples());
    out.extend(naming_samples());
    out.extend(multi_package_samples());
    out.extend(options_samples());
    out
}

fn smoke_samples() -> Vec<Box<dyn Sample>> {
    use cases::smoke::demo::v1::{Person, person};
    use person::Color;
    vec![both(
        "smoke.person",
        true,
        Person {
            name: s("Ada"),
            age: -1,
            ids: vec![1, -1, 1 << 40],
            friends: map([(
                s("bob"),
                Person {
                    name: s("Bob"),
                    age: 7,
                    ..Default::default()
                },
            )]),
            blob: Some(vec![]),
            parent: Some(Box::new(Person {
                name: s("parent"),
                ..Default::default()
            })),
            kind: Some(person::Kind::C(Color::Red.into())),
            color: Color::Red.into(),
            colors: vec![
                Color::Red.into(),
                OpenEnum::Unknown(5),
                Color::Unspecified.into(),
            ],
            d: -0.5,
            s: i64::MIN,
            ..Default::default()
        },
    )]
}

fn scalars3_samples() -> Vec<Box<dyn Sample>> {
    use cases::scalars3::scalars3::{Color, Empty, Optionals, Packed, Scalars, Unpacked, scalars};
    use scalars::nested::{Depth, Inner};
    use scalars::{Kind, Nested};
    let nested = Nested {
        a: -1,
        inner: Some(Inner {
            label: s("in"),
            depth: Depth::Deep.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let full = Scalars {
        f_double: -2.5,
        f_float: 3.25,
        f_int32: -123456,
        f_int64: -9_000_000_000,
        f_uint32: 4_000_000_000,
        f_uint64: 18_000_000_000_000_000_000,
        f_sint32: i32::MIN,
        f_sint64: i64::MIN,
        f_fixed32: u32::MAX,
        f_fixed64: u64::MAX,
        f_sfixed32: -7,
        f_sfixed64: -8,
        f_bool: true,
        f_string: s("héllo ✓ 𝄞"),
        f_bytes: vec![0, 1, 0xff, 0xfe],
        f_big_tag: 16000,
        f_nested: Some(nested),
        f_kind: Kind::VeryNegative.into(),
        f_inner: Some(Inner {
            label: s("top"),
            depth: Depth::Shallow.into(),
            ..Default::default()
        }),
        f_depth: Depth::Deep.into(),
        f_max_tag: s("max tag"),
        ..Default::default()
    };
    let packed = Packed {
        r_double: vec![1.5, -0.0, 1e300],
        r_float: vec![0.5, -3.0],
        r_int32: vec![0, -1, i32::MAX, i32::MIN],
        r_int64: vec![-1, 1 << 62],
        r_uint32: vec![0, u32::MAX],
        r_uint64: vec![u64::MAX, 0],
        r_sint32: vec![-1, 1, i32::MIN],
        r_sint64: vec![i64::MIN, i64::MAX],
        r_fixed32: vec![1, 2],
        r_fixed64: vec![3, u64::MAX],
        r_sfixed32: vec![-1, -2],
        r_sfixed64: vec![-3, 4],
        r_bool: vec![true, false, true],
        r_color: vec![
            Color::Blue.into(),
            Color::Infrared.into(),
            Color::Unspecified.into(),
            OpenEnum::Unknown(42),
        ],
        r_string: vec![s("a"), s(""), s("ü")],
        r_bytes: vec![vec![], vec![0]],
        r_nested: vec![
            Nested {
                a: 1,
                ..Default::default()
            },
            Nested::default(),
        ],
        ..Default::default()
    };
    let unpacked = Unpacked {
        r_double: packed.r_double.clone(),
        r_float: packed.r_float.clone(),
        r_int32: packed.r_int32.clone(),
        r_int64: packed.r_int64.clone(),
        r_uint32: packed.r_uint32.clone(),
        r_uint64: packed.r_uint64.clone(),
        r_sint32: packed.r_sint32.clone(),
        r_sint64: packed.r_sint64.clone(),
        r_fixed32: packed.r_fixed32.clone(),
        r_fixed64: packed.r_fixed64.clone(),
        r_sfixed32: packed.r_sfixed32.clone(),
        r_sfixed64: packed.r_sfixed64.clone(),
        r_bool: packed.r_bool.clone(),
        r_color: packed.r_color.clone(),
        ..Default::default()
    };
    vec![
        both("scalars3.scalars_full", true, full),
        both(
            "scalars3.scalars_open_enum_unknown",
            true,
            Scalars {
                f_kind: OpenEnum::Unknown(1234567),
                f_depth: OpenEnum::Unknown(-5),
                f_inner: Some(Inner {
                    depth: OpenEnum::Unknown(42),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ),
        both(
            "scalars3.optionals_zero",
            true,
            Optionals {
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
                o_string: Some(s("")),
                o_bytes: Some(vec![]),
                o_color: Some(Color::Unspecified.into()),
                o_nested: Some(Nested::default()),
                ..Default::default()
            },
        ),
        both(
            "scalars3.optionals_full",
            true,
            Optionals {
                o_double: Some(6.5),
                o_float: Some(-0.25),
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
                o_string: Some(s("opt")),
                o_bytes: Some(vec![0x80]),
                o_color: Some(Color::Infrared.into()),
                o_nested: Some(Nested {
                    a: 11,
                    ..Default::default()
                }),
                ..Default::default()
            },
        ),
        both("scalars3.packed_full", true, packed),
        both("scalars3.unpacked_full", true, unpacked),
        from_python::<Empty>("scalars3.scalars_as_empty", |m, bytes| {
            ensure(
                m.unknown_fields.as_bytes() == bytes,
                "every field of Scalars must be kept as unknown, in order",
            )
        }),
    ]
}

fn maps_samples() -> Vec<Box<dyn Sample>> {
    use cases::maps::maps::{Keys, Nested, Suit, Value, Values, nested::Entry};
    vec![
        both(
            "maps.keys_full",
            false,
            Keys {
                k_int32: map([(-1, s("neg")), (0, s("zero")), (i32::MAX, s("max"))]),
                k_int64: map([(i64::MIN, s("min")), (1, s("one"))]),
                k_uint32: map([(u32::MAX, s("max"))]),
                k_uint64: map([(u64::MAX, s("max")), (0, s("zero"))]),
                k_sint32: map([(-2, s("m2")), (2, s("p2"))]),
                k_sint64: map([(i64::MIN, s("min"))]),
                k_fixed32: map([(7, s("seven"))]),
                k_fixed64: map([(u64::MAX, s("max"))]),
                k_sfixed32: map([(-7, s("m7"))]),
                k_sfixed64: map([(-8, s("m8"))]),
                k_bool: map([(true, s("t")), (false, s("f"))]),
                k_string: map([(s(""), s("empty key")), (s("ключ"), s("значение"))]),
                ..Default::default()
            },
        ),
        both(
            "maps.values_full",
            false,
            Values {
                v_double: map([(s("a"), -1.5)]),
                v_float: map([(s("b"), 2.5)]),
                v_int32: map([(s("c"), -3)]),
                v_int64: map([(s("d"), -(1 << 40))]),
                v_uint32: map([(s("e"), u32::MAX)]),
                v_uint64: map([(s("f"), u64::MAX)]),
                v_sint32: map([(s("g"), -7)]),
                v_sint64: map([(s("h"), i64::MIN)]),
                v_fixed32: map([(s("i"), 9)]),
                v_fixed64: map([(s("j"), 10)]),
                v_sfixed32: map([(s("k"), -11)]),
                v_sfixed64: map([(s("l"), -12)]),
                v_bool: map([(s("m"), true), (s("n"), false)]),
                v_string: map([(s("o"), s("")), (s("p"), s("ü"))]),
                v_bytes: map([(s("q"), vec![0, 0xff])]),
                v_enum: map([
                    (s("r"), Suit::Spades.into()),
                    (s("s"), Suit::Unspecified.into()),
                    (s("u"), OpenEnum::Unknown(77)),
                ]),
                v_message: map([
                    (
                        s("v"),
                        Value {
                            text: s("t"),
                            n: 1,
                            ..Default::default()
                        },
                    ),
                    (s("w"), Value::default()),
                ]),
                by_id: map([(
                    -1,
                    Value {
                        n: -1,
                        ..Default::default()
                    },
                )]),
                flags: map([(true, b"yes".to_vec()), (false, vec![])]),
                zig_suits: map([(-5, Suit::Hearts.into())]),
                ..Default::default()
            },
        ),
        both(
            "maps.nested_maps",
            true,
            Nested {
                entries: map([(
                    s("root"),
                    Entry {
                        tags: vec![s("a"), s("b")],
                        children: map([(
                            s("kid"),
                            Entry {
                                tags: vec![s("c")],
                                ..Default::default()
                            },
                        )]),
                        ..Default::default()
                    },
                )]),
                ..Default::default()
            },
        ),
    ]
}

fn oneofs_samples() -> Vec<Box<dyn Sample>> {
    use cases::oneofs::oneofs::{Level, Payload, Two, WithOptional, two, with_optional};
    vec![
        both(
            "oneofs.two_a",
            true,
            Two {
                id: 1,
                first: Some(two::First::FMessage(Payload {
                    text: s("p"),
                    count: -2,
                    items: vec![1, 2],
                    child: Some(Box::new(Payload {
                        count: 3,
                        ..Default::default()
                    })),
                    ..Default::default()
                })),
                middle: s("mid"),
                second: Some(two::Second::SFloat(-1.5)),
                trailing: -14,
                ..Default::default()
            },
        ),
        both(
            "oneofs.two_b",
            true,
            Two {
                first: Some(two::First::FEnum(Level::High.into())),
                second: Some(two::Second::SSint64(i64::MIN)),
                ..Default::default()
            },
        ),
        both(
            "oneofs.two_zero",
            true,
            Two {
                first: Some(two::First::FInt32(0)),
                second: Some(two::Second::SBool(false)),
                ..Default::default()
            },
        ),
        both(
            "oneofs.with_optional_zero",
            true,
            WithOptional {
                maybe: Some(0),
                real: Some(with_optional::Real::B(0)),
                maybe_text: Some(s("")),
                ..Default::default()
            },
        ),
    ]
}

fn recursion_samples() -> Vec<Box<dyn Sample>> {
    use cases::recursion::recursion::{Binary, Expr, Tree, expr};
    let literal = |v| Expr {
        kind: Some(expr::Kind::Literal(v)),
        ..Default::default()
    };
    vec![
        both(
            "recursion.expr",
            true,
            Expr {
                kind: Some(expr::Kind::Binary(Box::new(Binary {
                    left: Some(Box::new(literal(-5))),
                    right: Some(Box::new(Expr {
                        kind: Some(expr::Kind::Negate(Box::new(literal(1 << 40)))),
                        ..Default::default()
                    })),
                    op: s("+"),
                    ..Default::default()
                }))),
                ..Default::default()
            },
        ),
        both(
            "recursion.tree",
            true,
            Tree {
                name: s("root"),
                kids: vec![Tree {
                    name: s("k1"),
                    ..Default::default()
                }],
                named: map([(
                    s("n"),
                    Tree {
                        name: s("n1"),
                        kids: vec![Tree::default()],
                        ..Default::default()
                    },
                )]),
                ..Default::default()
            },
        ),
    ]
}

/// proto2 `[default = ...]` values, read through the generated accessors
/// (wire_compat.py checks Python's accessors against the same values).
fn check_defaults(m: &cases::proto2::p2::Defaults) -> Result<(), String> {
    use cases::proto2::p2::Mode;
    let mut wrong = Vec::new();
    let mut expect = |ok: bool, what: &str| {
        if !ok {
            wrong.push(what.to_owned());
        }
    };
    expect(m.d_double() == 3.25, "d_double");
    expect(m.d_float() == -1.5, "d_float");
    expect(m.d_int32() == -42, "d_int32");
    expect(m.d_int64() == -9_000_000_000, "d_int64");
    expect(m.d_uint32() == 4_000_000_000, "d_uint32");
    expect(m.d_uint64() == 18_000_000_000_000_000_000, "d_uint64");
    expect(m.d_sint32() == i32::MIN, "d_sint32");
    expect(m.d_sint64() == i64::MIN, "d_sint64");
    expect(m.d_fixed32() == u32::MAX, "d_fixed32");
    expect(m.d_fixed64() == u64::MAX, "d_fixed64");
    expect(m.d_sfixed32() == -7, "d_sfixed32");
    expect(m.d_sfixed64() == -8, "d_sfixed64");
    expect(m.d_bool(), "d_bool");
    expect(m.d_string() == "hi \"there\"\n\tC:\\path é", "d_string");
    expect(m.d_bytes() == b"\x00\x01\xff\"\\", "d_bytes");
    expect(m.d_mode() == Mode::Auto, "d_mode");
    expect(m.d_nan().is_nan(), "d_nan");
    expect(m.d_inf() == f64::INFINITY, "d_inf");
    expect(m.d_neg_inf() == f64::NEG_INFINITY, "d_neg_inf");
    expect(m.f_nan().is_nan(), "f_nan");
    expect(m.f_inf() == f32::INFINITY, "f_inf");
    expect(m.f_neg_inf() == f32::NEG_INFINITY, "f_neg_inf");
    expect(m.d_exp() == 1e10, "d_exp");
    expect(m.f_small() == 1.5e-5f32, "f_small");
    expect(m.d_hex() == 127, "d_hex");
    expect(m.d_min64() == i64::MIN, "d_min64");
    expect(m.d_min32() == i32::MIN, "d_min32");
    expect(!m.d_false(), "d_false");
    expect(m.d_empty().is_empty(), "d_empty");
    expect(m.d_negative_mode() == Mode::Backwards, "d_negative_mode");
    expect(
        m.d_neg_zero() == 0.0 && m.d_neg_zero().is_sign_negative(),
        "d_neg_zero",
    );
    expect(m.d_octal() == 8, "d_octal");
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("wrong proto2 defaults: {}", wrong.join(", ")))
    }
}

fn proto2_samples() -> Vec<Box<dyn Sample>> {
    use cases::proto2::p2::{
        self, Closed, Defaults, Extendable, Lists, Mode, Needs, Plain, WithGroups, Wrapper, closed,
        needs, with_groups, wrapper,
    };
    let needs = |id, name: &str| Needs {
        id: Some(id),
        name: Some(s(name)),
        ..Default::default()
    };
    vec![
        both(
            "proto2.plain_full",
            true,
            Plain {
                f_double: Some(1e-300),
                f_float: Some(-1.0),
                f_int32: Some(-1),
                f_int64: Some(i64::MIN),
                f_uint32: Some(u32::MAX),
                f_uint64: Some(u64::MAX),
                f_sint32: Some(-2),
                f_sint64: Some(-3),
                f_fixed32: Some(4),
                f_fixed64: Some(5),
                f_sfixed32: Some(-6),
                f_sfixed64: Some(-7),
                f_bool: Some(false),
                f_string: Some(s("plain ü")),
                f_bytes: Some(vec![0]),
                f_mode: Some(Mode::Backwards),
                f_child: Some(Box::new(Plain {
                    f_int32: Some(0),
                    f_string: Some(s("")),
                    ..Default::default()
                })),
                ..Default::default()
            },
        ),
        Box::new(Both {
            name: "proto2.defaults_unset",
            value: Defaults::default(),
            exact: true,
            check: Some(check_defaults),
        }),
        both(
            "proto2.defaults_explicit",
            true,
            Defaults {
                d_double: Some(3.25),
                d_float: Some(-1.5),
                d_int32: Some(-42),
                d_int64: Some(-9_000_000_000),
                d_uint32: Some(4_000_000_000),
                d_uint64: Some(18_000_000_000_000_000_000),
                d_sint32: Some(i32::MIN),
                d_sint64: Some(i64::MIN),
                d_fixed32: Some(u32::MAX),
                d_fixed64: Some(u64::MAX),
                d_sfixed32: Some(-7),
                d_sfixed64: Some(-8),
                d_bool: Some(true),
                d_string: Some(s("hi \"there\"\n\tC:\\path é")),
                d_bytes: Some(b"\x00\x01\xff\"\\".to_vec()),
                d_mode: Some(Mode::Auto),
                d_inf: Some(f64::INFINITY),
                d_neg_inf: Some(f64::NEG_INFINITY),
                f_inf: Some(f32::INFINITY),
                f_neg_inf: Some(f32::NEG_INFINITY),
                d_exp: Some(1e10),
                f_small: Some(1.5e-5),
                d_hex: Some(127),
                d_min64: Some(i64::MIN),
                d_min32: Some(i32::MIN),
                d_false: Some(false),
                d_empty: Some(s("")),
                d_negative_mode: Some(Mode::Backwards),
                d_neg_zero: Some(-0.0),
                d_octal: Some(8),
                ..Default::default()
            },
        ),
        both(
            "proto2.groups",
            true,
            WithGroups {
                before: Some(1),
                single: Some(with_groups::Single {
                    a: Some(2),
                    b: Some(s("b")),
                    ..Default::default()
                }),
                multi: vec![
                    with_groups::Multi {
                        c: Some(3),
                        deeper: vec![
                            with_groups::multi::Deeper {
                                d: Some(-4),
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
            },
        ),
        both(
            "proto2.lists",
            true,
            Lists {
                ints: vec![1, -1],
                packed_ints: vec![2, -2],
                modes: vec![Mode::On, Mode::Backwards],
                packed_modes: vec![Mode::Auto, Mode::Off],
                names: vec![s("x"), s("")],
                doubles: vec![0.5, -0.5],
                zigzags: vec![-1, 1 << 62],
                ..Default::default()
            },
        ),
        both(
            "proto2.needs_full",
            true,
            Needs {
                id: Some(0),
                name: Some(s("")),
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
            },
        ),
        both(
            "proto2.wrapper",
            true,
            Wrapper {
                needs: Some(needs(1, "n")),
                many: vec![needs(2, "m")],
                by_name: map([(
                    s("k"),
                    Needs {
                        inner: Some(needs::Inner {
                            flag: Some(true),
                            ..Default::default()
                        }),
                        ..needs(3, "k")
                    },
                )]),
                pick: Some(wrapper::Pick::Other(s("o"))),
                ..Default::default()
            },
        ),
        invalid::<Needs>("proto2.needs_missing_required"),
        invalid::<Wrapper>("proto2.wrapper_missing_nested_required"),
        both(
            "proto2.closed_full",
            false,
            Closed {
                single: Some(Mode::Auto),
                list: vec![Mode::On, Mode::Backwards],
                packed_list: vec![Mode::Off, Mode::Auto],
                by_id: map([(1, Mode::On), (-1, Mode::Backwards)]),
                choice: Some(closed::Choice::Chosen(Mode::Backwards)),
                must: Some(Mode::Off),
                ..Default::default()
            },
        ),
        from_python::<Closed>("proto2.closed_unknown", |m, _| {
            ensure(m.single.is_none(), "single = 99 must not be stored")?;
            ensure(
                m.list == [Mode::On, Mode::Auto],
                "list must keep only On, Auto",
            )?;
            ensure(
                m.packed_list == [Mode::Off, Mode::Backwards],
                "packed_list must keep only Off, Backwards",
            )?;
            ensure(
                m.by_id == map([(8, Mode::Auto)]),
                "by_id must keep only the entry with a known value",
            )?;
            ensure(m.choice.is_none(), "choice = 99 must not be stored")?;
            ensure(m.must == Some(Mode::On), "must = On")?;
            ensure(
                !m.unknown_fields.is_empty(),
                "the unknown values must be kept as unknown fields",
            )
        }),
        from_python::<Extendable>("proto2.extensions", |m, _| {
            ensure(
                m.known == Some(1) && m.also_known.as_deref() == Some("also"),
                "known fields",
            )?;
            use rust_rpc::Extendable as _;
            ensure(m.extension(&p2::EXT_INT) == Some(-5), "ext_int = -5")?;
            ensure(
                m.extension(&p2::EXT_STRING).as_deref() == Some("ext ✓"),
                "ext_string",
            )?;
            ensure(
                m.extension(&p2::EXT_MODES) == [Mode::On, Mode::Auto],
                "ext_modes = [ON, AUTO]",
            )?;
            ensure(
                m.extension(&p2::scoped::SCOPED_EXT).and_then(|s| s.value) == Some(7),
                "Scoped.scoped_ext.value = 7",
            )
        }),
        from_python::<Plain>("proto2.nested_unknown", |m, _| {
            ensure(m.f_int32 == Some(1), "f_int32 = 1")?;
            let child = m.f_child.as_deref().ok_or("f_child must be set")?;
            ensure(
                child.f_string.as_deref() == Some("child"),
                "f_child.f_string",
            )?;
            ensure(
                !child.unknown_fields.is_empty(),
                "f_child must keep its unknown fields",
            )?;
            ensure(
                !m.unknown_fields.is_empty(),
                "the top-level unknown fields must be kept",
            )
        }),
    ]
}

fn editions_samples() -> Vec<Box<dyn Sample>> {
    use cases::editions::ed::{
        Ajar, Child, Delimited, Presence, Repeats, Shut, Strings, delimited, file_level,
    };
    let child = |value: Option<i32>, note: Option<&str>| Child {
        value,
        note: note.map(s),
        ..Default::default()
    };
    vec![
        both(
            "editions.presence",
            true,
            Presence {
                explicit_int: Some(0),
                implicit_int: 5,
                required_int: Some(0),
                explicit_str: Some(s("")),
                implicit_str: s("s"),
                closed_enum: Some(Shut::Zero),
                open_enum: Some(Ajar::Zero.into()),
                implicit_open_enum: Ajar::One.into(),
                implicit_bytes: b"b".to_vec(),
                child: Some(child(Some(0), None)),
                ..Default::default()
            },
        ),
        both(
            "editions.presence_open_unknown",
            true,
            Presence {
                required_int: Some(-1),
                open_enum: Some(OpenEnum::Unknown(9)),
                implicit_open_enum: OpenEnum::Unknown(-9),
                ..Default::default()
            },
        ),
        both(
            "editions.repeats",
            true,
            Repeats {
                packed: vec![1, -1],
                expanded: vec![2, -2],
                closed_packed: vec![Shut::One, Shut::Zero],
                open_expanded: vec![Ajar::One.into(), OpenEnum::Unknown(5)],
                fixed_expanded: vec![u64::MAX, 0],
                ..Default::default()
            },
        ),
        both(
            "editions.delimited",
            true,
            Delimited {
                child: Some(child(Some(1), Some("n"))),
                children: vec![child(Some(2), None), child(None, None)],
                length_prefixed: Some(child(None, Some("lp"))),
                either: Some(delimited::Either::DelimitedMember(child(Some(-4), None))),
                ..Default::default()
            },
        ),
        both(
            "editions.delimited_number",
            true,
            Delimited {
                either: Some(delimited::Either::Number(0)),
                ..Default::default()
            },
        ),
        both(
            "editions.strings",
            true,
            Strings {
                unchecked: Some(s("ü")),
                checked: Some(s("✓")),
                unchecked_list: vec![s("a"), s("")],
                unchecked_map: map([(s("k"), s("v"))]),
                ..Default::default()
            },
        ),
        both(
            "editions.file_level_defaults",
            true,
            file_level::Defaults {
                a: -1,
                b: s("b"),
                c: Some(0),
                leaf: Some(file_level::Leaf {
                    value: 1,
                    ..Default::default()
                }),
                prefixed: Some(file_level::Leaf {
                    value: 2,
                    ..Default::default()
                }),
                values: vec![1, u32::MAX],
                packed_values: vec![3, 0],
                leaves: vec![
                    file_level::Leaf {
                        value: 4,
                        ..Default::default()
                    },
                    file_level::Leaf::default(),
                ],
                mapped: map([(
                    -1,
                    file_level::Leaf {
                        value: 5,
                        ..Default::default()
                    },
                )]),
                flag: file_level::Flag::Set.into(),
                must: Some(0),
                inner: Some(file_level::defaults::Inner {
                    list: vec![1, -2],
                    leaf: Some(file_level::Leaf {
                        value: 6,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ),
    ]
}

fn wkt_samples() -> Vec<Box<dyn Sample>> {
    use cases::wkt_use::wkt_use::{Event, event};
    use rust_rpc::wkt::{
        Any, BoolValue, BytesValue, DoubleValue, Duration, Empty, FieldMask, FloatValue,
        Int32Value, Int64Value, ListValue, NullValue, StringValue, Struct, Timestamp, UInt32Value,
        UInt64Value, Value, value,
    };
    let v = |kind| Value {
        kind: Some(kind),
        ..Default::default()
    };
    let ts = |seconds, nanos| Timestamp {
        seconds,
        nanos,
        ..Default::default()
    };
    let dur = |seconds, nanos| Duration {
        seconds,
        nanos,
        ..Default::default()
    };
    let deep = Struct {
        fields: map([(s("deep"), v(value::Kind::NumberValue(-2.0)))]),
        ..Default::default()
    };
    vec![both(
        "wkt_use.event",
        false,
        Event {
            at: Some(ts(1_700_000_000, 123_456_789)),
            took: Some(dur(90, 1)),
            detail: Some(Any::pack(&dur(-1, -500))),
            attributes: Some(Struct {
                fields: map([
                    (
                        s("n"),
                        v(value::Kind::NullValue(NullValue::NullValue.into())),
                    ),
                    (s("s"), v(value::Kind::StructValue(deep))),
                ]),
                ..Default::default()
            }),
            value: Some(v(value::Kind::StringValue(s("v")))),
            list: Some(ListValue {
                values: vec![
                    v(value::Kind::NumberValue(1.5)),
                    v(value::Kind::BoolValue(false)),
                ],
                ..Default::default()
            }),
            null_value: NullValue::NullValue.into(),
            nothing: Some(Empty::default()),
            mask: Some(FieldMask {
                paths: vec![s("a.b"), s("c")],
                ..Default::default()
            }),
            w_double: Some(DoubleValue {
                value: 0.0,
                ..Default::default()
            }),
            w_float: Some(FloatValue {
                value: -1.0,
                ..Default::default()
            }),
            w_int64: Some(Int64Value {
                value: i64::MIN,
                ..Default::default()
            }),
            w_uint64: Some(UInt64Value {
                value: u64::MAX,
                ..Default::default()
            }),
            w_int32: Some(Int32Value {
                value: -1,
                ..Default::default()
            }),
            w_uint32: Some(UInt32Value {
                value: u32::MAX,
                ..Default::default()
            }),
            w_bool: Some(BoolValue {
                value: true,
                ..Default::default()
            }),
            w_string: Some(StringValue {
                value: s("s"),
                ..Default::default()
            }),
            w_bytes: Some(BytesValue {
                value: vec![0],
                ..Default::default()
            }),
            history: vec![ts(-62_135_596_800, 0), ts(0, 0)],
            extras: map([(
                s("x"),
                v(value::Kind::ListValue(ListValue {
                    values: vec![v(value::Kind::StringValue(s("y")))],
                    ..Default::default()
                })),
            )]),
            when: Some(event::When::Relative(dur(5, 0))),
            ..Default::default()
        },
    )]
}

fn naming_samples() -> Vec<Box<dyn Sample>> {
    use cases::naming::foo::r#type::v1::{CaseClash, Keywords};
    vec![
        both(
            "naming.keywords",
            true,
            Keywords {
                r#type: 1,
                self_: 2,
                super_: 3,
                crate_: 4,
                r#async: 5,
                r#fn: 6,
                r#match: 7,
                unknown_fields_: 8,
                clone: 9,
                encode: 10,
                decode: Some(11),
                default: Some(s("12")),
                self__: 13,
                ..Default::default()
            },
        ),
        both(
            "naming.case_clash",
            true,
            CaseClash {
                foo_bar: Some(1),
                foo_bar_: Some(2),
                foo_bar__: Some(3),
                foo_bar___: Some(4),
                ..Default::default()
            },
        ),
    ]
}

fn multi_package_samples() -> Vec<Box<dyn Sample>> {
    use cases::multi_package::a::{self, Base, Kind, b};
    use cases::multi_package::other::pkg::User;
    let base = |id| Base {
        id,
        ..Default::default()
    };
    let part = |name: &str| a::base::Part {
        name: s(name),
        ..Default::default()
    };
    vec![both(
        "multi_package.user",
        true,
        User {
            base: Some(Base {
                id: 1,
                kind: Kind::Primary.into(),
                ..Default::default()
            }),
            derived: Some(b::Derived {
                part: Some(part("p")),
                kind: Kind::Primary.into(),
                bases: vec![base(2)],
                parts: map([(s("q"), part("q"))]),
                leaf: Some(b::Leaf {
                    tip: Some(b::c::Tip {
                        root: Some(base(3)),
                        depth: 4,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                pick: Some(b::derived::Pick::PickedKind(Kind::Unspecified.into())),
                ..Default::default()
            }),
            ..Default::default()
        },
    )]
}

fn options_samples() -> Vec<Box<dyn Sample>> {
    use cases::options::opts::{Blob, Key, blob, legacy::WithDefault};
    use rust_rpc::bytes::Bytes;
    let b = |v: &'static [u8]| Bytes::from_static(v);
    vec![
        both(
            "options.blob",
            false,
            Blob {
                data: b(b"\x00data"),
                maybe: Some(b(b"")),
                chunks: vec![b(b"a"), b(b""), b(b"\xff")],
                named: BTreeMap::from([(s("n"), b(b"v")), (s(""), b(b""))]),
                ordered: BTreeMap::from([(-1, s("m")), (2, s("two")), (0, s(""))]),
                choice: Some(blob::Choice::Raw(b(b"raw"))),
                key: Some(Key {
                    name: s("k"),
                    id: -1,
                    ..Default::default()
                }),
                ..Default::default()
            },
        ),
        both(
            "options.with_default",
            true,
            WithDefault {
                must: Some(b(b"")),
                list: vec![b(b"x"), b(b"")],
                ..Default::default()
            },
        ),
    ]
}

// ---------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    let shown: String = bytes.iter().take(160).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > 160 {
        format!("{shown}... ({} bytes)", bytes.len())
    } else {
        shown
    }
}

/// Where the pretty `Debug` forms of two values differ: every differing line
/// when both have the same shape, else the first differing region.
fn debug_diff<T: Debug>(expected: &T, actual: &T) -> String {
    let e = format!("{expected:#?}");
    let a = format!("{actual:#?}");
    let el: Vec<&str> = e.lines().collect();
    let al: Vec<&str> = a.lines().collect();
    if el.len() == al.len() {
        let lines: Vec<String> = el
            .iter()
            .zip(&al)
            .enumerate()
            .filter(|(_, (x, y))| x != y)
            .take(30)
            .map(|(i, (x, y))| {
                format!(
                    "  line {}: expected {}\n  line {}:      got {}",
                    i + 1,
                    x.trim(),
                    i + 1,
                    y.trim()
                )
            })
            .collect();
        return lines.join("\n");
    }
    let first = el
        .iter()
        .zip(&al)
        .position(|(x, y)| x != y)
        .unwrap_or(el.len().min(al.len()));
    let from = first.saturating_sub(4);
    let mut out = String::new();
    for line in el.iter().take(first).skip(from) {
        out.push_str(&format!("    {line}\n"));
    }
    for line in el.iter().skip(first).take(6) {
        out.push_str(&format!("  - {line}\n"));
    }
    for line in al.iter().skip(first).take(6) {
        out.push_str(&format!("  + {line}\n"));
    }
    out
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("runtime/ has a parent")
        .to_path_buf()
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rust-rpc-python-wire-{}", std::process::id()));
    if dir.exists() {
        fs::remove_dir_all(&dir).expect("remove an old scratch dir");
    }
    for sub in ["rust", "python", "rust_back", "sweep_back"] {
        fs::create_dir_all(dir.join(sub)).expect("create scratch dirs");
    }
    dir
}

/// Runs one phase of wire_compat.py; returns whether it passed.
fn run_python(tmp: &Path, phase: &str) -> bool {
    let script = repo_root().join("interop/python/wire_compat.py");
    let output = match Command::new("python3")
        .arg(&script)
        .args(["--phase", phase])
        .arg(tmp)
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!(
            "cannot run python3 ({e}). This test needs Python 3.10+ with the packages in \
             interop/python/requirements.txt:\n  {INSTALL}"
        ),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(EXIT_ENV) {
        let how = if stderr.contains(INSTALL) {
            String::new()
        } else {
            format!("Install it with:\n  {INSTALL}")
        };
        panic!("the Python side of this test is not set up:\n{stderr}{how}");
    }
    println!("--- wire_compat.py --phase {phase}\n{stdout}{stderr}");
    output.status.success()
}

#[test]
fn python_wire_compat() {
    let tmp = scratch_dir();
    let samples = samples();
    let mut names = std::collections::HashSet::new();
    for sample in &samples {
        assert!(
            names.insert(sample.name()),
            "two samples are named {}",
            sample.name()
        );
        if let Some(bytes) = sample.rust_bytes() {
            fs::write(
                tmp.join("rust").join(format!("{}.bin", sample.name())),
                bytes,
            )
            .expect("write sample");
        }
    }

    let python_write_ok = run_python(&tmp, "write");

    // Curated samples: Python's encodings, decoded and checked by Rust.
    let mut failures = Vec::new();
    let (mut checked, mut skipped) = (0usize, Vec::new());
    for sample in &samples {
        let name = sample.name();
        let skip = tmp.join("python").join(format!("{name}.skip"));
        if let Ok(reason) = fs::read_to_string(&skip) {
            skipped.push(format!("{name} ({reason})"));
            continue;
        }
        let Ok(bytes) = fs::read(tmp.join("python").join(format!("{name}.bin"))) else {
            failures.push(format!(
                "{name}: wire_compat.py wrote no python/{name}.bin (add the sample there)"
            ));
            continue;
        };
        checked += 1;
        let mut problems = Vec::new();
        if let Some(again) = sample.check_python(&bytes, &mut problems) {
            fs::write(tmp.join("rust_back").join(format!("{name}.bin")), again)
                .expect("write re-encoding");
        }
        failures.extend(problems.into_iter().map(|p| format!("{name}: {p}")));
    }

    // The sweep: every message Python filled, through the registered type.
    let registry = registry();
    let (mut swept, mut decode_errors) = (0usize, 0usize);
    let mut seen = std::collections::HashSet::new();
    if let Ok(case_dirs) = fs::read_dir(tmp.join("sweep")) {
        for case_dir in case_dirs {
            let case_dir = case_dir.expect("sweep dir entry").path();
            if !case_dir.is_dir() {
                continue;
            }
            let case = case_dir
                .file_name()
                .and_then(|n| n.to_str())
                .expect("case name")
                .to_owned();
            let back = tmp.join("sweep_back").join(&case);
            fs::create_dir_all(&back).expect("create sweep_back dir");
            for file in fs::read_dir(&case_dir).expect("read sweep case dir") {
                let path = file.expect("sweep file").path();
                let stem = path
                    .file_stem()
                    .and_then(|n| n.to_str())
                    .expect("sweep file name")
                    .to_owned();
                let (full_name, _) = stem
                    .split_once('@')
                    .expect("sweep file is <name>@<variant>.bin");
                let Some(f) = registry.0.get(&(case.as_str(), full_name)) else {
                    continue;
                };
                seen.insert((case.clone(), full_name.to_owned()));
                let bytes = fs::read(&path).expect("read sweep file");
                swept += 1;
                let mut problems = Vec::new();
                let result = f(&bytes, &mut problems);
                failures.extend(
                    problems
                        .into_iter()
                        .map(|p| format!("sweep {case}/{stem}: {p}")),
                );
                match result {
                    Ok(again) => fs::write(back.join(format!("{stem}.bin")), again),
                    Err(e) => {
                        decode_errors += 1;
                        fs::write(back.join(format!("{stem}.err")), e)
                    }
                }
                .expect("write sweep result");
            }
        }
    }
    let mut unswept: Vec<String> = Vec::new();
    for (case, name) in registry.0.keys() {
        if !seen.contains(&(case.to_string(), name.to_string())) {
            // wire_compat.py lists the .proto files Python could not load.
            let unloadable = tmp.join("sweep").join(format!("{case}.unloadable"));
            if unloadable.exists() {
                unswept.push(format!("{case}/{name}"));
            } else {
                failures.push(format!(
                    "registry: {case}/{name} is registered but wire_compat.py swept no such message"
                ));
            }
        }
    }
    unswept.sort();

    let python_verify_ok = run_python(&tmp, "verify");

    println!(
        "python_wire: {} curated samples checked in Rust ({} skipped), {swept} sweep encodings \
         decoded and re-encoded ({decode_errors} rejected), {} failures on the Rust side",
        checked,
        skipped.len(),
        failures.len()
    );
    for s in &skipped {
        println!("skipped: {s}");
    }
    if !unswept.is_empty() {
        println!(
            "not swept (in a .proto file Python could not load): {}",
            unswept.join(", ")
        );
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    let ok = failures.is_empty() && python_write_ok && python_verify_ok;
    if ok {
        fs::remove_dir_all(&tmp).ok();
    }
    assert!(
        ok,
        "wire compatibility with Python failed: {} Rust-side failure(s){}{}; the files are in {}\n{}",
        failures.len(),
        if python_write_ok {
            ""
        } else {
            ", wire_compat.py write phase failed"
        },
        if python_verify_ok {
            ""
        } else {
            ", wire_compat.py verify phase failed"
        },
        tmp.display(),
        failures.join("\n")
    );
}
