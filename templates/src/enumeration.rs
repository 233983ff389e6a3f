//! Emits an enum and its `Enumeration` impl.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::codec::Cx;
use crate::model::Enum;
use crate::util::{attributes, deprecated, docs, ident};

/// An enum number as tokens: a negative one is `-` and a literal, as Rust's
/// grammar has it.
fn number(n: i32) -> TokenStream {
    let abs = Literal::i64_unsuffixed(i64::from(n).abs());
    if n < 0 { quote!(-#abs) } else { quote!(#abs) }
}

/// Tokens for `e`.
pub fn emit(cx: &Cx<'_>, e: &Enum) -> TokenStream {
    let rt = cx.rt();
    let name = ident(&e.rust_name);
    let doc = docs(&e.docs);
    let dep = deprecated(e.deprecated);
    let attrs = attributes(&e.attributes);
    let variants = e.values.iter().enumerate().map(|(i, v)| {
        let vname = ident(&v.rust_name);
        let vdoc = docs(&v.docs);
        let vdep = deprecated(v.deprecated);
        let default = if i == 0 {
            quote!(#[default])
        } else {
            TokenStream::new()
        };
        let n = number(v.number);
        quote!(#vdoc #vdep #default #vname = #n,)
    });
    let from_arms = e.values.iter().map(|v| {
        let vname = ident(&v.rust_name);
        let n = number(v.number);
        quote!(#n => ::core::option::Option::Some(Self::#vname),)
    });
    let name_arms = e.values.iter().map(|v| {
        let vname = ident(&v.rust_name);
        let pname = &v.proto_name;
        quote!(Self::#vname => #pname,)
    });
    let parse_arms = e
        .values
        .iter()
        .map(|v| {
            let vname = ident(&v.rust_name);
            let pname = &v.proto_name;
            quote!(#pname => ::core::option::Option::Some(Self::#vname),)
        })
        .chain(e.aliases.iter().map(|a| {
            let target = ident(&a.target);
            let pname = &a.proto_name;
            quote!(#pname => ::core::option::Option::Some(Self::#target),)
        }));
    let aliases = e.aliases.iter().map(|a| {
        let cname = ident(&a.rust_name);
        let target = ident(&a.target);
        let adoc = docs(&a.docs);
        let extra = format!(" Alias of [`{}::{}`].", e.rust_name, a.target);
        quote!(#adoc #[doc = #extra] pub const #cname: Self = Self::#target;)
    });
    let json = crate::json::emit_enum(cx, e);
    let text = crate::text::emit_enum(cx, e);
    let alias_impl = if e.aliases.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            #[allow(deprecated)]
            impl #name {
                #(#aliases)*
            }
        }
    };
    quote! {
        #doc
        #dep
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        #[repr(i32)]
        #attrs
        #[allow(deprecated, clippy::enum_variant_names)]
        pub enum #name {
            #(#variants)*
        }

        #alias_impl
        #json
        #text

        #[allow(deprecated)]
        impl #rt::Enumeration for #name {
            fn from_i32(value: i32) -> ::core::option::Option<Self> {
                match value {
                    #(#from_arms)*
                    _ => ::core::option::Option::None,
                }
            }

            fn to_i32(self) -> i32 {
                self as i32
            }

            fn as_str_name(self) -> &'static str {
                match self {
                    #(#name_arms)*
                }
            }

            fn from_str_name(name: &str) -> ::core::option::Option<Self> {
                match name {
                    #(#parse_arms)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    }
}
