#![deny(warnings)]
//! The generated code of `testdata/multi_package`: packages `a`, `a.b`,
//! `a.b.c`, `other.pkg` and a file without a package, referring to each other.

pub mod generated {
    include!("../../testdata/multi_package/expected/mod.rs");
}

use generated::Loose;
use generated::a::b::{Derived, Leaf, c::Tip, derived};
use generated::a::{self, Base, Kind, base};
use generated::other::pkg::User;
use rust_rpc::Message;

fn part(name: &str) -> base::Part {
    base::Part {
        name: name.to_owned(),
        ..Default::default()
    }
}

fn full_derived() -> Derived {
    Derived {
        base: Some(Base {
            id: 1,
            kind: Kind::Primary.into(),
            ..Default::default()
        }),
        part: Some(part("p")),
        kind: Kind::Primary.into(),
        bases: vec![
            Base::default(),
            Base {
                id: 2,
                ..Default::default()
            },
        ],
        parts: [("k".to_owned(), part("v"))].into(),
        leaf: Some(Leaf {
            tip: Some(Tip {
                root: Some(Base {
                    id: 3,
                    ..Default::default()
                }),
                depth: 4,
                ..Default::default()
            }),
            ..Default::default()
        }),
        pick: Some(derived::Pick::PickedKind(Kind::Primary.into())),
        ..Default::default()
    }
}

#[test]
fn types_across_packages_round_trip() {
    let d = full_derived();
    let bytes = d.encode_to_vec();
    assert_eq!(bytes.len(), d.encoded_len());
    assert_eq!(Derived::decode_slice(&bytes).unwrap(), d);
    let d = Derived {
        pick: Some(derived::Pick::PickedBase(Base {
            id: 5,
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(d.encode_to_vec(), [0x3a, 0x02, 0x08, 0x05]);
    assert_eq!(Derived::decode_slice(&d.encode_to_vec()).unwrap(), d);

    let u = User {
        base: Some(Base {
            id: 6,
            ..Default::default()
        }),
        derived: Some(full_derived()),
        ..Default::default()
    };
    assert_eq!(User::decode_slice(&u.encode_to_vec()).unwrap(), u);
    let l = Loose {
        base: Some(Base::default()),
        note: "n".into(),
        ..Default::default()
    };
    assert_eq!(l.encode_to_vec(), [0x0a, 0x00, 0x12, 0x01, b'n']);
    assert_eq!(Loose::decode_slice(&l.encode_to_vec()).unwrap(), l);
    assert_eq!(<Tip as Message>::NAME, "a.b.c.Tip");
    assert_eq!(<Loose as Message>::NAME, "Loose");
}

#[test]
fn message_named_like_a_child_package() {
    // Message `a.B` keeps its nested types in `b_`, since `b` is package `a.b`.
    let m = a::B {
        inner: a::b_::Inner::Set.into(),
        c: Some(a::b_::C::Y("y".into())),
        ..Default::default()
    };
    assert_eq!(m.encode_to_vec(), [0x08, 0x01, 0x1a, 0x01, b'y']);
    assert_eq!(a::B::decode_slice(&m.encode_to_vec()).unwrap(), m);
    // A Base encoded by one package's code decodes with another's view of it.
    let tip = Tip {
        root: Some(Base {
            id: 9,
            ..Default::default()
        }),
        ..Default::default()
    };
    let as_loose = Loose::decode_slice(&tip.encode_to_vec()).unwrap();
    assert_eq!(as_loose.base.unwrap().id, 9);
}

/// Every file's descriptor is embedded and linked to its imports', across
/// packages: the closure holds each file once, imports first, and names
/// exactly what each file imports.
#[test]
fn embedded_descriptors_link_their_imports() {
    use generated::a::b::DESCRIPTOR_A_B;
    let closure = DESCRIPTOR_A_B.closure();
    let names: Vec<&str> = closure.iter().map(|f| f.name).collect();
    let file = DESCRIPTOR_A_B.decode().expect("decodes");
    assert_eq!(file.name(), "a_b.proto");
    assert_eq!(file.package(), "a.b");
    assert_eq!(DESCRIPTOR_A_B.package, "a.b");
    assert!(file.source_code_info.is_none(), "stripped by default");
    assert_eq!(names.last(), Some(&"a_b.proto"));
    for (i, f) in closure.iter().enumerate() {
        let decoded = f.decode().expect("every file decodes");
        assert_eq!(decoded.name(), f.name);
        let deps: Vec<&str> = f.dependencies.iter().map(|d| d.name).collect();
        assert_eq!(decoded.dependency, deps, "{}: imports as declared", f.name);
        for d in &deps {
            let at = names
                .iter()
                .position(|n| n == d)
                .expect("import in the closure");
            assert!(at < i, "{d} comes before {}", f.name);
        }
    }
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "each file once: {names:?}");
    assert!(
        generated::a::b::FILE_DESCRIPTORS
            .iter()
            .any(|f| core::ptr::eq(*f, &DESCRIPTOR_A_B))
    );
}
