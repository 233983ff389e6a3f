//! Emits the text format of a message (`TextMessage`: its fields, and
//! `TextValue`: the message as a `{ ... }` block) and of an enum
//! (`TextValue`: by name). How each kind of value looks is the runtime's
//! (`rust_rpc::text`); what is generated is the walk over the fields.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::codec::Cx;
use crate::members::{Member, Names, in_number_order};
use crate::model::{Enum, FieldShape, Message, Presence};
use crate::util::ident;

/// `google.protobuf.Any` prints expanded (`[type.googleapis.com/T] {...}`):
/// the runtime writes its text form by hand.
const SPECIAL_FORMS: &[&str] = &["google.protobuf.Any"];

fn wanted(cx: &Cx<'_>, proto_name: &str) -> bool {
    cx.config.text_formats && !SPECIAL_FORMS.contains(&proto_name)
}

/// The `impl TextMessage` and `impl TextValue` of `message`.
pub fn emit_message(cx: &Cx<'_>, message: &Message) -> TokenStream {
    if !wanted(cx, &message.proto_name) {
        return TokenStream::new();
    }
    let rt = cx.rt();
    let name = ident(&message.rust_name);
    let module = ident(&message.module_name);
    let unknown = ident(&message.unknown_fields_name);
    let mut names = Names::default();
    let mut writes = Vec::new();
    let mut arms = Vec::new();
    // Repeated fields and maps may repeat: only the others check `seen`.
    let mut uses_seen = false;
    for member in in_number_order(message) {
        match member {
            Member::Field(f, index) => {
                let field = ident(&f.rust_name);
                let text = &f.text_name;
                let index = Literal::u32_unsuffixed(index);
                let (write, read) = match &f.shape {
                    FieldShape::Singular {
                        presence: Presence::Implicit,
                        ..
                    } => (
                        quote!(w.implicit(#text, &self.#field)?;),
                        quote!(r.singular(seen, #index, #text, &mut self.#field)?),
                    ),
                    FieldShape::Singular { .. } => (
                        quote!(w.optional(#text, &self.#field)?;),
                        quote!(r.optional(seen, #index, #text, &mut self.#field)?),
                    ),
                    FieldShape::Repeated { .. } => (
                        quote!(w.repeated(#text, &self.#field)?;),
                        quote!(r.repeated(#text, &mut self.#field)?),
                    ),
                    FieldShape::Map { .. } => (
                        quote!(w.map(#text, &self.#field)?;),
                        quote!(r.map(#text, &mut self.#field)?),
                    ),
                };
                writes.push(write);
                let keys = names.claim(&[&f.text_name, &f.proto_name]);
                uses_seen |= !keys.is_empty() && matches!(f.shape, FieldShape::Singular { .. });
                if !keys.is_empty() {
                    arms.push(quote!(#(#keys)|* => #read,));
                }
            }
            Member::Oneof(o, index) => {
                let field = ident(&o.rust_name);
                let oneof = ident(&o.enum_name);
                let index = Literal::u32_unsuffixed(index);
                let cases = o.variants.iter().map(|v| {
                    let variant = ident(&v.rust_name);
                    let text = &v.text_name;
                    quote!(#module::#oneof::#variant(v) => w.field(#text, v)?,)
                });
                writes.push(quote! {
                    if let ::core::option::Option::Some(v) = &self.#field {
                        match v {
                            #(#cases)*
                        }
                    }
                });
                for v in &o.variants {
                    let keys = names.claim(&[&v.text_name, &v.proto_name]);
                    if keys.is_empty() {
                        continue;
                    }
                    uses_seen = true;
                    let variant = ident(&v.rust_name);
                    let text = &v.text_name;
                    arms.push(quote! {
                        #(#keys)|* => {
                            let v = r.oneof(seen, #index, #text)?;
                            self.#field = ::core::option::Option::Some(#module::#oneof::#variant(v));
                        }
                    });
                }
            }
        }
    }
    let extensions = if message.extendable.is_some() {
        writes.push(quote!(#rt::write_text_extensions(w, self)?;));
        quote! {
            if name.starts_with('[') {
                return #rt::read_text_extension(r, name, self);
            }
        }
    } else {
        TokenStream::new()
    };
    let seen = if uses_seen {
        quote!(seen)
    } else {
        quote!(_seen)
    };
    let merge_body = if arms.is_empty() {
        quote!(let _ = (name, r); ::core::result::Result::Ok(false))
    } else {
        quote! {
            match name {
                #(#arms)*
                _ => return ::core::result::Result::Ok(false),
            }
            ::core::result::Result::Ok(true)
        }
    };
    quote! {
        #[allow(deprecated)]
        impl #rt::TextMessage for #name {
            fn write_text_fields(
                &self,
                w: &mut #rt::TextWriter<'_>,
            ) -> ::core::result::Result<(), #rt::JsonError> {
                #(#writes)*
                w.unknown_fields(&self.#unknown)
            }

            fn merge_text_field(
                &mut self,
                name: &str,
                r: &mut #rt::TextReader<'_>,
                #seen: &mut #rt::FieldSet,
            ) -> ::core::result::Result<bool, #rt::JsonError> {
                #extensions
                #merge_body
            }
        }

        #[allow(deprecated)]
        impl #rt::TextValue for #name {
            const IS_MESSAGE: bool = true;

            #[inline]
            fn write_text(
                &self,
                w: &mut #rt::TextWriter<'_>,
            ) -> ::core::result::Result<(), #rt::JsonError> {
                w.message(self)
            }

            fn read_text(
                r: &mut #rt::TextReader<'_>,
            ) -> ::core::result::Result<Self, #rt::JsonError> {
                let mut m = Self::default();
                r.message(&mut m)?;
                ::core::result::Result::Ok(m)
            }
        }
    }
}

/// The `impl TextValue` of `e` (by name; closed enums reject unknown
/// numbers, open ones are read through `OpenEnum`).
pub fn emit_enum(cx: &Cx<'_>, e: &Enum) -> TokenStream {
    if !wanted(cx, &e.proto_name) {
        return TokenStream::new();
    }
    let rt = cx.rt();
    let name = ident(&e.rust_name);
    quote! {
        #[allow(deprecated)]
        impl #rt::TextValue for #name {
            #[inline]
            fn write_text(
                &self,
                w: &mut #rt::TextWriter<'_>,
            ) -> ::core::result::Result<(), #rt::JsonError> {
                #rt::write_text_enum(w, *self)
            }

            fn read_text(
                r: &mut #rt::TextReader<'_>,
            ) -> ::core::result::Result<Self, #rt::JsonError> {
                let v = #rt::read_text_enum::<Self>(r, false)?;
                ::core::result::Result::Ok(v.known().unwrap_or_default())
            }

            #[inline]
            fn is_default_text(&self) -> bool {
                *self == Self::default()
            }
        }
    }
}
