//! Emits extensions: one typed constant per extension field, and the
//! `Extendable` impl of messages that declare extension ranges.
//!
//! ```text
//! pub const RULES: ::rust_rpc::codegen::Extension<
//!     ::rust_rpc::wkt::FieldOptions,
//!     ::rust_rpc::codegen::extension::Optional<
//!         ::rust_rpc::codegen::extension::Message<FieldRules>,
//!     >,
//! > = ::rust_rpc::codegen::Extension::new(1071, "validate.rules", ());
//! ```

use proc_macro2::TokenStream;
use quote::quote;

use crate::codec::Cx;
use crate::message::scalar_default;
use crate::model::{
    DefaultValue, Extendable, Extension, ExtensionCardinality, Message, Scalar, ValueType,
};
use crate::util::{deprecated, docs, ident, relative_path};

/// The constant for `ext`, in the module `cx` is in.
pub fn emit(cx: &Cx<'_>, ext: &Extension) -> TokenStream {
    let rt = cx.rt();
    let name = ident(&ext.rust_name);
    let doc = docs(&ext.docs);
    let dep = deprecated(ext.deprecated);
    let extendee = relative_path(&cx.module, &ext.extendee);
    let kind = kind(cx, &ext.ty);
    let (shape, default) = match &ext.cardinality {
        ExtensionCardinality::Optional => (quote!(Optional), quote!(())),
        ExtensionCardinality::Defaulted(d) => (quote!(Defaulted), default_const(cx, &ext.ty, d)),
        ExtensionCardinality::Repeated { packed: true } => (quote!(Packed), quote!(())),
        ExtensionCardinality::Repeated { packed: false } => (quote!(Repeated), quote!(())),
    };
    let number = proc_macro2::Literal::u32_unsuffixed(ext.number);
    let full_name = &ext.proto_name;
    let summary = format!(
        " Extension `{full_name}` = {} of `{}`.",
        ext.number, ext.extendee_proto_name
    );
    let doc = if ext.docs.is_empty() {
        quote!(#[doc = #summary])
    } else {
        quote!(#doc #[doc = ""] #[doc = #summary])
    };
    // The extendee, the value's type or its default may be deprecated;
    // naming them here is no use by the user.
    quote! {
        #doc
        #dep
        #[allow(deprecated)]
        pub const #name: #rt::Extension<#extendee, #rt::extension::#shape<#kind>> =
            #rt::Extension::new(#number, #full_name, #default);
    }
}

/// The `Extendable` impl of `message`, if it declares extension ranges.
pub fn emit_extendable(cx: &Cx<'_>, message: &Message) -> TokenStream {
    let Some(how) = message.extendable else {
        return TokenStream::new();
    };
    let rt = cx.rt();
    let name = ident(&message.rust_name);
    let message_set = match how {
        Extendable::Fields => TokenStream::new(),
        Extendable::MessageSet => quote!(
            const MESSAGE_SET: bool = true;
        ),
    };
    quote! {
        #[allow(deprecated)]
        impl #rt::Extendable for #name {
            #message_set
        }
    }
}

/// The runtime's kind marker for one value of type `ty`.
fn kind(cx: &Cx<'_>, ty: &ValueType) -> TokenStream {
    let rt = cx.rt();
    match ty {
        ValueType::Scalar(s) => {
            let k = ident(match s {
                Scalar::Double => "Double",
                Scalar::Float => "Float",
                Scalar::Int32 => "Int32",
                Scalar::Int64 => "Int64",
                Scalar::Uint32 => "Uint32",
                Scalar::Uint64 => "Uint64",
                Scalar::Sint32 => "Sint32",
                Scalar::Sint64 => "Sint64",
                Scalar::Fixed32 => "Fixed32",
                Scalar::Fixed64 => "Fixed64",
                Scalar::Sfixed32 => "Sfixed32",
                Scalar::Sfixed64 => "Sfixed64",
                Scalar::Bool => "Bool",
            });
            quote!(#rt::extension::#k)
        }
        ValueType::String { .. } => quote!(#rt::extension::String),
        ValueType::Bytes => quote!(#rt::extension::Bytes),
        ValueType::Enum { path, closed } => {
            let p = relative_path(&cx.module, path);
            if *closed {
                quote!(#rt::extension::Enum<#p>)
            } else {
                quote!(#rt::extension::Open<#p>)
            }
        }
        ValueType::Message {
            path, delimited, ..
        } => {
            let p = relative_path(&cx.module, path);
            if *delimited {
                quote!(#rt::extension::Group<#p>)
            } else {
                quote!(#rt::extension::Message<#p>)
            }
        }
    }
}

/// A declared default as the constant the runtime's kind takes.
fn default_const(cx: &Cx<'_>, ty: &ValueType, d: &DefaultValue) -> TokenStream {
    match (ty, d) {
        (ValueType::Scalar(s), d) => scalar_default(*s, d),
        (ValueType::String { .. }, DefaultValue::String(s)) => quote!(#s),
        (ValueType::Bytes, DefaultValue::Bytes(b)) => {
            // `as` unsizes the array: the constant's type is `&'static [u8]`.
            let lit = proc_macro2::Literal::byte_string(b);
            quote!(#lit as &[u8])
        }
        (ValueType::Enum { path, .. }, DefaultValue::Enum(variant)) => {
            let p = relative_path(&cx.module, path);
            let v = ident(variant);
            quote!(#p::#v)
        }
        // The resolver gives every other pairing an error.
        _ => quote!(::core::default::Default::default()),
    }
}
