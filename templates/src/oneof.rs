//! Emits oneofs: the enum in the message's module, and the size, write and
//! merge code on the message.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::codec::{
    Cx, key, key_len, len_reads_value, merge_message, put_key, read_owned, value_len, wire_type,
    write_value,
};
use crate::message::{closed_enum_store, read_copy_value};
use crate::model::{Oneof, OneofVariant, ValueType};
use crate::util::{deprecated, docs, ident};

/// The oneof's enum, emitted inside the message's module.
pub fn emit_enum(cx: &Cx<'_>, oneof: &Oneof) -> TokenStream {
    let name = ident(&oneof.enum_name);
    let doc = docs(&oneof.docs);
    let variants = oneof.variants.iter().map(|v| {
        let vname = ident(&v.rust_name);
        let vdoc = docs(&v.docs);
        let vdep = deprecated(v.deprecated);
        let ty = cx.stored_type(&v.ty);
        quote!(#vdoc #vdep #vname(#ty),)
    });
    quote! {
        #doc
        #[derive(Clone, PartialEq, Debug)]
        // Variant names and sizes come from the .proto, not from a choice
        // the user can act on where the code is generated.
        #[allow(deprecated, clippy::large_enum_variant, clippy::enum_variant_names)]
        pub enum #name {
            #(#variants)*
        }
    }
}

fn path(module: &str, oneof: &Oneof) -> TokenStream {
    let m = ident(module);
    let e = ident(&oneof.enum_name);
    quote!(#m::#e)
}

/// `let v = &**v;` for boxed message variants.
fn unbox(ty: &ValueType) -> TokenStream {
    match ty {
        ValueType::Message { boxed: true, .. } => quote!(let v = &**v;),
        _ => TokenStream::new(),
    }
}

/// Adds the encoded size of member `var` to `len` when it is the one set.
///
/// Each member is sized and written at the place of its own field number,
/// so a message's fields come out in number order, as protobuf's reference
/// implementation writes them.
pub fn size(cx: &Cx<'_>, module: &str, oneof: &Oneof, var: &OneofVariant) -> TokenStream {
    let field = ident(&oneof.rust_name);
    let p = path(module, oneof);
    let v = quote!(v);
    let vname = ident(&var.rust_name);
    let klen = key_len(var.number);
    let vlen = value_len(cx, &var.ty, var.number, &v);
    if !len_reads_value(&var.ty) {
        return quote! {
            if let ::core::option::Option::Some(#p::#vname(_)) = &self.#field {
                len += #klen + #vlen;
            }
        };
    }
    let ub = unbox(&var.ty);
    quote! {
        if let ::core::option::Option::Some(#p::#vname(v)) = &self.#field {
            #ub
            len += #klen + #vlen;
        }
    }
}

/// Writes member `var` when it is the one set, whatever its value.
pub fn write(cx: &Cx<'_>, module: &str, oneof: &Oneof, var: &OneofVariant) -> TokenStream {
    let field = ident(&oneof.rust_name);
    let p = path(module, oneof);
    let v = quote!(v);
    let vname = ident(&var.rust_name);
    let ub = unbox(&var.ty);
    let key = put_key(var.number, wire_type(&var.ty));
    let w = write_value(cx, &var.ty, var.number, &v);
    quote! {
        if let ::core::option::Option::Some(#p::#vname(v)) = &self.#field {
            #ub
            #key
            #w
        }
    }
}

/// Match arms decoding each member: a member read replaces whichever was
/// set, except that a message member merges into the same member.
pub fn merge(cx: &Cx<'_>, module: &str, oneof: &Oneof, unknown: &Ident) -> Vec<TokenStream> {
    let field = ident(&oneof.rust_name);
    let p = path(module, oneof);
    oneof
        .variants
        .iter()
        .map(|var| {
            let vname = ident(&var.rust_name);
            let k = key(var.number, wire_type(&var.ty));
            let body = match &var.ty {
                ValueType::Scalar(_) | ValueType::Enum { closed: false, .. } => {
                    let read = read_copy_value(cx, &var.ty);
                    quote!(self.#field = ::core::option::Option::Some(#p::#vname(#read));)
                }
                ValueType::Enum { closed: true, .. } => {
                    let st = closed_enum_store(
                        cx,
                        &var.ty,
                        var.number,
                        unknown,
                        quote!(self.#field = ::core::option::Option::Some(#p::#vname(e));),
                    );
                    quote!(let n = d.read_varint()? as i32; #st)
                }
                ValueType::String { .. } | ValueType::Bytes => {
                    let read = read_owned(cx, &var.ty);
                    quote!(self.#field = ::core::option::Option::Some(#p::#vname(#read));)
                }
                ValueType::Message { boxed, .. } => {
                    let existing = if *boxed { quote!(&mut **m) } else { quote!(m) };
                    let fresh = if *boxed {
                        quote!(&mut *m)
                    } else {
                        quote!(&mut m)
                    };
                    let merge_existing = merge_message(&var.ty, var.number, &existing);
                    let merge_fresh = merge_message(&var.ty, var.number, &fresh);
                    let stored = cx.stored_type(&var.ty);
                    quote! {
                        if let ::core::option::Option::Some(#p::#vname(m)) = &mut self.#field {
                            #merge_existing
                        } else {
                            let mut m = <#stored as ::core::default::Default>::default();
                            #merge_fresh
                            self.#field = ::core::option::Option::Some(#p::#vname(m));
                        }
                    }
                }
            };
            quote!(#k => { #body })
        })
        .collect()
}
