#![deny(warnings)]
//! The generated code of `testdata/naming`: keywords, prelude names and
//! clashes between generated names, in package `foo.type.v1`.

pub mod generated {
    include!("../../testdata/naming/expected/mod.rs");
}

use generated::foo::r#type::v1 as pkg;
use rust_rpc::{Enumeration, Message};

#[test]
fn keyword_fields() {
    let k = pkg::Keywords {
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
        default: Some("twelve".into()),
        self__: 13,
        ..Default::default()
    };
    let bytes = k.encode_to_vec();
    assert_eq!(&bytes[..4], [0x08, 0x01, 0x10, 0x02]);
    // The proto field `unknown_fields` is field 8, not the unknown-field store.
    assert!(bytes.windows(2).any(|w| w == [0x40, 0x08]));
    let back = pkg::Keywords::decode_slice(&bytes).unwrap();
    assert_eq!(back, k);
    assert!(back.unknown_fields.is_empty());
    assert_eq!(back.get_decode(), 11);
    assert_eq!(back.get_default(), "twelve");
    // The trait methods are still reachable.
    assert_eq!(Message::encoded_len(&back), bytes.len());
    assert_eq!(Clone::clone(&back), k);
}

#[test]
fn prelude_named_messages() {
    let all = pkg::UsesAll {
        opt: Some(pkg::Option {
            value: 1,
            ..Default::default()
        }),
        res: Some(pkg::Result {
            ok: Some(pkg::Option {
                value: 2,
                ..Default::default()
            }),
            err: "e".into(),
            ..Default::default()
        }),
        str: Some(pkg::String {
            value: "s".into(),
            ..Default::default()
        }),
        vec: Some(pkg::Vec {
            items: vec![pkg::String::default()],
            ..Default::default()
        }),
        r#box: Some(pkg::Box {
            inner: Some(Box::new(pkg::Box::default())),
            ..Default::default()
        }),
        me: Some(pkg::Self_ {
            me: Some(Box::new(pkg::Self_ {
                n: 3,
                ..Default::default()
            })),
            n: 4,
            ..Default::default()
        }),
        def: Some(pkg::Default {
            flag: true,
            ..Default::default()
        }),
        opts: vec![
            pkg::Option::default(),
            pkg::Option {
                value: 5,
                ..Default::default()
            },
        ],
        results: [("r".to_owned(), pkg::Result::default())].into(),
        pick: Some(pkg::uses_all::Pick::PickVec(pkg::Vec::default())),
        some: Some("some".into()),
        none: Some(0),
        ..Default::default()
    };
    let bytes = all.encode_to_vec();
    assert_eq!(bytes.len(), all.encoded_len());
    assert_eq!(pkg::UsesAll::decode_slice(&bytes).unwrap(), all);
    assert_eq!((all.some(), all.none()), ("some", 0));
    let s = pkg::Some {
        none: Some(pkg::Option {
            value: 6,
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(s.encode_to_vec(), [0x0a, 0x02, 0x08, 0x06]);
    assert_eq!(<pkg::Self_ as Message>::NAME, "foo.type.v1.Self");
    assert_eq!(<pkg::Option as Message>::NAME, "foo.type.v1.Option");
}

#[test]
fn nested_types_named_like_fields_and_parents() {
    let c = pkg::Container {
        item: Some(pkg::container::Item {
            id: 1,
            ..Default::default()
        }),
        container: 2,
        items: vec![pkg::container::Item {
            id: 3,
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(pkg::Container::decode_slice(&c.encode_to_vec()).unwrap(), c);
    let o = pkg::Outer {
        outer: Some(pkg::outer::Outer {
            depth: 1,
            ..Default::default()
        }),
        outer_choice: Some(pkg::outer::OuterChoice::NestedOuter(pkg::outer::Outer {
            depth: 2,
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(
        o.encode_to_vec(),
        [0x0a, 0x02, 0x08, 0x01, 0x12, 0x02, 0x08, 0x02]
    );
    assert_eq!(pkg::Outer::decode_slice(&o.encode_to_vec()).unwrap(), o);
}

#[test]
fn oneof_names() {
    let m = pkg::OneofNames {
        choice: 1,
        choice_: Some(pkg::oneof_names::Choice::B(2)),
        r#type: Some(pkg::oneof_names::Type::D("d".into())),
        ..Default::default()
    };
    assert_eq!(
        m.encode_to_vec(),
        [0x08, 0x01, 0x18, 0x02, 0x2a, 0x01, b'd']
    );
    assert_eq!(
        pkg::OneofNames::decode_slice(&m.encode_to_vec()).unwrap(),
        m
    );
}

#[test]
fn getters_avoid_trait_methods_and_each_other() {
    let m = pkg::Methods {
        merge: Some(1),
        clear: Some(2),
        encoded_len: Some(3),
        compute_size: Some("four".into()),
        fmt: Some(5),
        eq: Some(6),
        get_merge: Some(7),
        ..Default::default()
    };
    assert_eq!(m.get_merge_(), 1);
    assert_eq!(m.get_clear(), 2);
    assert_eq!(m.get_encoded_len(), 3);
    assert_eq!(m.get_compute_size(), "four");
    assert_eq!(m.get_fmt(), 5);
    assert_eq!(m.get_eq(), 6);
    assert_eq!(m.get_merge(), 7);
    // The Message methods are not shadowed.
    let bytes = m.encode_to_vec();
    assert_eq!(m.encoded_len(), bytes.len());
    let mut back = pkg::Methods::default();
    back.merge_slice(&bytes).unwrap();
    assert_eq!(back, m);
    back.clear();
    assert_eq!(back, pkg::Methods::default());
}

#[test]
fn fields_differing_in_case() {
    let c = pkg::CaseClash {
        foo_bar: Some(1),
        foo_bar_: Some(2),
        foo_bar__: Some(3),
        foo_bar___: Some(4),
        ..Default::default()
    };
    assert_eq!(
        c.encode_to_vec(),
        [0x08, 0x01, 0x10, 0x02, 0x18, 0x03, 0x20, 0x04]
    );
    assert_eq!(
        (c.foo_bar(), c.foo_bar_(), c.foo_bar__(), c.foo_bar___()),
        (1, 2, 3, 4)
    );
}

#[test]
fn enum_value_names() {
    use pkg::{HttpCode, Keyword, Status};
    // Prefix stripping that would collide gets a suffix, in declaration order.
    assert_eq!(Status::from_i32(1), Some(Status::Ok));
    assert_eq!(Status::from_i32(2), Some(Status::Ok_));
    assert_eq!(Status::Ok_.as_str_name(), "OK");
    assert_eq!(Status::from_str_name("STATUS_OK"), Some(Status::Ok));
    // Stripping that would leave a digit, or nothing, keeps the prefix.
    assert_eq!(Status::from_str_name("STATUS_404"), Some(Status::Status404));
    assert_eq!(Status::from_str_name("STATUS_2XX"), Some(Status::Status2xx));
    assert_eq!(Status::from_str_name("STATUS"), Some(Status::Status));
    assert_eq!(Status::Self_.as_str_name(), "STATUS_SELF");
    assert_eq!(HttpCode::HttpCode404 as i32, 1);
    assert_eq!(HttpCode::HttpCode2xx as i32, 2);
    assert_eq!(HttpCode::HttpCode as i32, 3);
    assert_eq!(HttpCode::Self_.as_str_name(), "HTTP_CODE_SELF");
    assert_eq!(HttpCode::Crate.as_str_name(), "HTTP_CODE_CRATE");
    assert_eq!(Keyword::Self_ as i32, 1);
    assert_eq!(Keyword::Type as i32, 2);
    assert_eq!(Keyword::None.as_str_name(), "KEYWORD_NONE");
    assert_eq!(Keyword::from_i32(4), Some(Keyword::Some));
}

#[test]
fn message_names_differing_in_case() {
    let u = pkg::UsesFooBars {
        one: Some(pkg::FooBar {
            a: 1,
            ..Default::default()
        }),
        two: Some(pkg::FooBar_ {
            b: 2,
            ..Default::default()
        }),
        three: Some(pkg::FooBar__ {
            c: "3".into(),
            ..Default::default()
        }),
        k1: pkg::foo_bar::Kind::Unspecified.into(),
        k2: pkg::foo_bar_::Kind::Other.into(),
        ..Default::default()
    };
    assert_eq!(
        u.encode_to_vec(),
        [
            0x0a, 0x02, 0x08, 0x01, 0x12, 0x02, 0x08, 0x02, 0x1a, 0x03, 0x0a, 0x01, b'3', 0x28,
            0x01
        ]
    );
    assert_eq!(
        pkg::UsesFooBars::decode_slice(&u.encode_to_vec()).unwrap(),
        u
    );
    assert_eq!(<pkg::FooBar_ as Message>::NAME, "foo.type.v1.Foo_Bar");
    assert_eq!(<pkg::FooBar__ as Message>::NAME, "foo.type.v1.fooBar");
}
