#![deny(warnings)]
//! The generated code of `testdata/recursion`: recursive types, and the
//! decoder's recursion limit (100 nested messages, as protobuf's).

pub mod generated {
    include!("../../testdata/recursion/expected/mod.rs");
}

use generated::recursion::{
    A, B, Binary, C, Expr, Holder, Node, Outer, Ping, Pong, Tree, expr, outer,
};
use rust_rpc::{DecodeErrorKind, Message};

/// Wraps `inner` (an encoded message) in `levels` more messages, each
/// holding the previous one in field `field` (length-delimited).
fn wrap(mut inner: Vec<u8>, field: u32, levels: usize) -> Vec<u8> {
    for _ in 0..levels {
        let mut outer = Vec::new();
        push_varint(&mut outer, u64::from(field << 3 | 2));
        push_varint(&mut outer, inner.len() as u64);
        outer.extend_from_slice(&inner);
        inner = outer;
    }
    inner
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn chain(nested: usize) -> Node {
    let mut node = Node {
        value: nested as i32,
        ..Default::default()
    };
    for i in (0..nested).rev() {
        node = Node {
            value: i as i32,
            next: Some(Box::new(node)),
            ..Default::default()
        };
    }
    node
}

fn depth(n: &Node) -> usize {
    let mut d = 0;
    let mut cur = n;
    while let Some(next) = &cur.next {
        d += 1;
        cur = next;
    }
    d
}

#[test]
fn self_recursion_round_trips() {
    let n = Node {
        value: 1,
        next: Some(Box::new(Node {
            value: 2,
            children: vec![Node {
                value: 3,
                ..Default::default()
            }],
            ..Default::default()
        })),
        children: vec![chain(3), Node::default()],
        ..Default::default()
    };
    let bytes = n.encode_to_vec();
    assert_eq!(bytes.len(), n.encoded_len());
    assert_eq!(Node::decode_slice(&bytes).unwrap(), n);
    let one = Node {
        next: Some(Box::new(Node {
            value: 1,
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(one.encode_to_vec(), [0x12, 0x02, 0x08, 0x01]);
}

#[test]
fn mutual_recursion_round_trips() {
    let p = Ping {
        tag: "a".into(),
        pong: Some(Box::new(Pong {
            tag: 2,
            ping: Some(Box::new(Ping {
                tag: "c".into(),
                pong: Some(Box::default()),
                ..Default::default()
            })),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(Ping::decode_slice(&p.encode_to_vec()).unwrap(), p);

    let a = A {
        b: Some(Box::new(B {
            c: Some(Box::new(C {
                a: Some(Box::new(A {
                    x: 2,
                    ..Default::default()
                })),
                node: Some(chain(2)),
                ..Default::default()
            })),
            ..Default::default()
        })),
        x: 1,
        ..Default::default()
    };
    let bytes = a.encode_to_vec();
    assert_eq!(bytes.len(), a.encoded_len());
    assert_eq!(A::decode_slice(&bytes).unwrap(), a);

    let h = Holder {
        node: Some(chain(1)),
        ping: Some(p),
        ..Default::default()
    };
    assert_eq!(Holder::decode_slice(&h.encode_to_vec()).unwrap(), h);

    let o = Outer {
        inner: Some(Box::new(outer::Inner {
            outer: Some(Box::new(Outer {
                inner: Some(Box::default()),
                ..Default::default()
            })),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(Outer::decode_slice(&o.encode_to_vec()).unwrap(), o);
}

fn lit(v: i64) -> Expr {
    Expr {
        kind: Some(expr::Kind::Literal(v)),
        ..Default::default()
    }
}

fn eval(e: &Expr) -> i64 {
    match &e.kind {
        Some(expr::Kind::Literal(v)) => *v,
        Some(expr::Kind::Negate(inner)) => -eval(inner),
        Some(expr::Kind::Binary(b)) => {
            let l = b.left.as_deref().map_or(0, eval);
            let r = b.right.as_deref().map_or(0, eval);
            match b.op.as_str() {
                "+" => l + r,
                "*" => l * r,
                _ => 0,
            }
        }
        None => 0,
    }
}

#[test]
fn recursion_through_oneofs() {
    // -(2 + 3) * 4
    let e = Expr {
        kind: Some(expr::Kind::Binary(Box::new(Binary {
            left: Some(Box::new(Expr {
                kind: Some(expr::Kind::Negate(Box::new(Expr {
                    kind: Some(expr::Kind::Binary(Box::new(Binary {
                        left: Some(Box::new(lit(2))),
                        right: Some(Box::new(lit(3))),
                        op: "+".into(),
                        ..Default::default()
                    }))),
                    ..Default::default()
                }))),
                ..Default::default()
            })),
            right: Some(Box::new(lit(4))),
            op: "*".into(),
            ..Default::default()
        }))),
        ..Default::default()
    };
    let back = Expr::decode_slice(&e.encode_to_vec()).unwrap();
    assert_eq!(back, e);
    assert_eq!(eval(&back), -20);
    // A boxed oneof member merges with a second occurrence.
    let m = Expr::decode_slice(&[0x1a, 0x02, 0x08, 0x01, 0x1a, 0x02, 0x1a, 0x00]).unwrap();
    assert_eq!(
        m,
        Expr {
            kind: Some(expr::Kind::Negate(Box::new(Expr {
                kind: Some(expr::Kind::Negate(Box::default())),
                ..Default::default()
            }))),
            ..Default::default()
        }
    );
}

#[test]
fn recursion_through_repeated_and_maps() {
    let leaf = Tree {
        name: "leaf".into(),
        ..Default::default()
    };
    let t = Tree {
        name: "root".into(),
        kids: vec![
            leaf.clone(),
            Tree {
                kids: vec![leaf.clone()],
                ..Default::default()
            },
        ],
        named: [(
            "x".to_owned(),
            Tree {
                named: [("y".to_owned(), leaf)].into(),
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    };
    let bytes = t.encode_to_vec();
    assert_eq!(bytes.len(), t.encoded_len());
    assert_eq!(Tree::decode_slice(&bytes).unwrap(), t);
}

#[test]
fn recursion_limit_is_100_nested_messages() {
    for nested in [1, 50, 99, 100] {
        let n = chain(nested);
        let bytes = n.encode_to_vec();
        let back = Node::decode_slice(&bytes).unwrap_or_else(|e| panic!("{nested} levels: {e}"));
        assert_eq!(depth(&back), nested);
        assert_eq!(back, n);
    }
    for nested in [101, 102, 150] {
        let bytes = chain(nested).encode_to_vec();
        let e = Node::decode_slice(&bytes).unwrap_err();
        assert_eq!(
            e.kind(),
            DecodeErrorKind::RecursionLimitExceeded,
            "{nested} levels"
        );
        assert!(e.path().count() >= 100);
        let mut partial = Node::default();
        assert_eq!(
            partial.merge_partial(&bytes).unwrap_err().kind(),
            DecodeErrorKind::RecursionLimitExceeded
        );
    }
}

#[test]
fn recursion_limit_applies_to_every_path() {
    // Through a repeated field.
    let via_children = |levels| wrap(Vec::new(), 3, levels);
    assert!(Node::decode_slice(&via_children(100)).is_ok());
    assert_eq!(
        Node::decode_slice(&via_children(101)).unwrap_err().kind(),
        DecodeErrorKind::RecursionLimitExceeded
    );
    // Through a oneof member.
    let via_negate = |levels| wrap(vec![0x08, 0x01], 3, levels);
    let e = Expr::decode_slice(&via_negate(100)).unwrap();
    let mut d = 0;
    let mut cur = &e;
    while let Some(expr::Kind::Negate(inner)) = &cur.kind {
        d += 1;
        cur = inner;
    }
    assert_eq!((d, eval(&e)), (100, 1));
    assert_eq!(
        Expr::decode_slice(&via_negate(101)).unwrap_err().kind(),
        DecodeErrorKind::RecursionLimitExceeded
    );
    // Through a three-message cycle: A.b -> B.c -> C.a -> A ...
    let bytes = wrap(Vec::new(), 1, 101);
    assert_eq!(
        A::decode_slice(&bytes).unwrap_err().kind(),
        DecodeErrorKind::RecursionLimitExceeded
    );
    assert!(A::decode_slice(&wrap(Vec::new(), 1, 100)).is_ok());
    // Through maps, where the entry is one more level: 50 maps deep is 100 levels.
    let mut tree = Vec::new();
    for _ in 0..50 {
        let mut entry = vec![0x12];
        push_varint(&mut entry, tree.len() as u64);
        entry.extend_from_slice(&tree);
        tree = wrap(entry, 3, 1);
    }
    assert!(Tree::decode_slice(&tree).is_ok());
    let deeper = wrap(tree, 2, 1);
    assert_eq!(
        Tree::decode_slice(&deeper).unwrap_err().kind(),
        DecodeErrorKind::RecursionLimitExceeded
    );
}

#[test]
fn very_deep_input_fails_without_overflowing_the_stack() {
    // 100 000 nested `next` messages, built by hand (encoding a chain that
    // deep would itself recurse): every level's length first, then the
    // headers outermost first.
    let mut sizes = vec![0u64];
    for i in 0..100_000 {
        let inner = sizes[i];
        let mut len = Vec::new();
        push_varint(&mut len, inner);
        sizes.push(1 + len.len() as u64 + inner);
    }
    let mut bytes = Vec::new();
    for &inner in sizes[..100_000].iter().rev() {
        bytes.push(0x12);
        push_varint(&mut bytes, inner);
    }
    assert_eq!(bytes.len() as u64, sizes[100_000]);
    assert_eq!(
        Node::decode_slice(&bytes).unwrap_err().kind(),
        DecodeErrorKind::RecursionLimitExceeded
    );
    // Deeply nested unknown groups: field 9 groups inside each other.
    let groups: Vec<u8> = std::iter::repeat_n(0x4b, 100_000)
        .chain(std::iter::repeat_n(0x4c, 100_000))
        .collect();
    assert_eq!(
        Node::decode_slice(&groups).unwrap_err().kind(),
        DecodeErrorKind::RecursionLimitExceeded
    );
    // 100 nested unknown groups are fine, and kept.
    let ok: Vec<u8> = std::iter::repeat_n(0x4b, 100)
        .chain(std::iter::repeat_n(0x4c, 100))
        .collect();
    let n = Node::decode_slice(&ok).unwrap();
    assert_eq!(n.unknown_fields.as_bytes(), &ok[..]);
    assert_eq!(n.encode_to_vec(), ok);
}
