//! Small token helpers shared by the emitters.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

use crate::model::TypePath;

/// An identifier from a name the model already escaped (`r#type` stays raw).
pub fn ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    }
}

/// `#[doc = "..."]` attributes, one per line of `docs`.
pub fn docs(docs: &[String]) -> TokenStream {
    let lines = docs.iter().map(|line| {
        let line = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

/// `#[deprecated]` when `deprecated`.
pub fn deprecated(deprecated: bool) -> TokenStream {
    if deprecated {
        quote!(#[deprecated])
    } else {
        TokenStream::new()
    }
}

/// Extra attributes given as Rust source; the generator validated them.
pub fn attributes(attrs: &[String]) -> TokenStream {
    attrs
        .iter()
        .filter_map(|a| a.parse::<TokenStream>().ok())
        .collect()
}

/// Tokens for a path written as Rust source, e.g. `::rust_rpc` or `crate`.
pub fn path(source: &str) -> TokenStream {
    source.parse().unwrap_or_else(|_| {
        let id = ident(source);
        quote!(#id)
    })
}

/// The path to `target` from code in module `from` (both absolute from the
/// generated root): `super::` up to the common ancestor, then down.
pub fn relative_path(from: &[String], target: &TypePath) -> TokenStream {
    let name = ident(&target.name);
    if let Some(external) = &target.external {
        let base = path(external);
        let mods = target.modules.iter().map(|m| ident(m));
        return quote!(#base #(:: #mods)* :: #name);
    }
    let common = from
        .iter()
        .zip(&target.modules)
        .take_while(|(a, b)| a == b)
        .count();
    let supers = (common..from.len()).map(|_| quote!(super::));
    let mods = target.modules[common..].iter().map(|m| ident(m));
    quote!(#(#supers)* #(#mods ::)* #name)
}

/// A `u32` literal without suffix.
pub fn u32_lit(v: u32) -> Literal {
    Literal::u32_unsuffixed(v)
}

/// The tag bytes of field `number` with wire type `wire_type`, as a varint.
pub fn key_bytes(number: u32, wire_type: u32) -> Vec<u8> {
    let mut v = u64::from((number << 3) | wire_type);
    let mut out = Vec::new();
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
    out
}

/// A byte string literal for `bytes`, wrapped every 100 or so characters
/// with `\` line continuations so that generated files keep short lines.
/// Printable ASCII stays readable; everything else is `\xNN`.
pub fn byte_string(bytes: &[u8]) -> TokenStream {
    const WIDTH: usize = 96;
    let mut src = String::with_capacity(bytes.len() * 2 + 8);
    src.push_str("b\"");
    let mut column = 0;
    for &b in bytes {
        if column >= WIDTH {
            src.push_str("\\\n");
            column = 0;
        }
        let start = src.len();
        match b {
            b'\\' => src.push_str("\\\\"),
            b'"' => src.push_str("\\\""),
            // A continuation skips the whitespace that starts the next line.
            b' ' if column == 0 => src.push_str("\\x20"),
            0x20..=0x7e => src.push(char::from(b)),
            _ => src.push_str(&format!("\\x{b:02x}")),
        }
        column += src.len() - start;
    }
    src.push('"');
    src.parse().unwrap_or_else(|_| {
        let lit = Literal::byte_string(bytes);
        quote!(#lit)
    })
}
