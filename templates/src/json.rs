//! Emits the JSON mapping of a message (`JsonMessage`: its fields as object
//! members, and `JsonValue`: the message as one object) and of an enum
//! (`JsonValue`: by name). How each kind of value looks in JSON is the
//! runtime's (`rust_rpc::json`); what is generated is the walk over the
//! fields, with their names.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::codec::Cx;
use crate::members::{Member, Names, in_number_order};
use crate::model::{Enum, FieldShape, Message, Presence};
use crate::util::ident;

/// The `google.protobuf` types whose JSON form the runtime writes by hand
/// (`rust_rpc::json`'s well-known types): no generated mapping for them.
const SPECIAL_FORMS: &[&str] = &[
    "google.protobuf.Any",
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.ListValue",
    "google.protobuf.NullValue",
    "google.protobuf.DoubleValue",
    "google.protobuf.FloatValue",
    "google.protobuf.Int64Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.Int32Value",
    "google.protobuf.UInt32Value",
    "google.protobuf.BoolValue",
    "google.protobuf.StringValue",
    "google.protobuf.BytesValue",
];

fn wanted(cx: &Cx<'_>, proto_name: &str) -> bool {
    cx.config.text_formats && !SPECIAL_FORMS.contains(&proto_name)
}

/// A name as it goes between the quotes of a JSON key (a `json_name` may
/// hold any character).
fn escaped(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// The `impl JsonMessage` and `impl JsonValue` of `message`, or nothing
/// when JSON is off or the runtime has the type's special form.
pub fn emit_message(cx: &Cx<'_>, message: &Message) -> TokenStream {
    if !wanted(cx, &message.proto_name) {
        return TokenStream::new();
    }
    let rt = cx.rt();
    let name = ident(&message.rust_name);
    let module = ident(&message.module_name);

    let mut names = Names::default();

    let mut writes = Vec::new();
    let mut arms = Vec::new();
    for member in in_number_order(message) {
        match member {
            Member::Field(f, index) => {
                let field = ident(&f.rust_name);
                let json = escaped(&f.json_name);
                let proto = escaped(&f.proto_name);
                let index = Literal::u32_unsuffixed(index);
                let (write, read) = match &f.shape {
                    FieldShape::Singular {
                        presence: Presence::Implicit,
                        ..
                    } => (quote!(implicit), quote!(implicit)),
                    FieldShape::Singular { .. } => (quote!(optional), quote!(optional)),
                    FieldShape::Repeated { .. } => (quote!(repeated), quote!(repeated)),
                    FieldShape::Map { .. } => (quote!(map), quote!(map)),
                };
                writes.push(quote!(o.#write(#json, #proto, &self.#field)?;));
                let keys = names.claim(&[&f.json_name, &f.proto_name]);
                if !keys.is_empty() {
                    arms.push(quote! {
                        #(#keys)|* => r.#read(seen, #index, #json, &mut self.#field)?,
                    });
                }
            }
            Member::Oneof(o, index) => {
                let field = ident(&o.rust_name);
                let oneof = ident(&o.enum_name);
                let index = Literal::u32_unsuffixed(index);
                let cases = o.variants.iter().map(|v| {
                    let variant = ident(&v.rust_name);
                    let json = escaped(&v.json_name);
                    let proto = escaped(&v.proto_name);
                    quote!(#module::#oneof::#variant(v) => o.member(#json, #proto, v)?,)
                });
                writes.push(quote! {
                    if let ::core::option::Option::Some(v) = &self.#field {
                        match v {
                            #(#cases)*
                        }
                    }
                });
                for v in &o.variants {
                    let keys = names.claim(&[&v.json_name, &v.proto_name]);
                    if keys.is_empty() {
                        continue;
                    }
                    let variant = ident(&v.rust_name);
                    let json = escaped(&v.json_name);
                    arms.push(quote! {
                        #(#keys)|* => {
                            if let ::core::option::Option::Some(v) = r.oneof(seen, #index, #json)? {
                                self.#field = ::core::option::Option::Some(#module::#oneof::#variant(v));
                            }
                        }
                    });
                }
            }
        }
    }
    let extensions = if message.extendable.is_some() {
        writes.push(quote!(#rt::write_extensions(o, self)?;));
        quote! {
            if key.starts_with('[') {
                return #rt::read_extension(r, key, self);
            }
        }
    } else {
        TokenStream::new()
    };
    let o = if writes.is_empty() {
        quote!(_o)
    } else {
        quote!(o)
    };
    let merge_body = if arms.is_empty() {
        quote!(let _ = (key, r, seen); ::core::result::Result::Ok(false))
    } else {
        quote! {
            match key {
                #(#arms)*
                _ => return ::core::result::Result::Ok(false),
            }
            ::core::result::Result::Ok(true)
        }
    };
    quote! {
        #[allow(deprecated)]
        impl #rt::JsonMessage for #name {
            fn write_json_fields(
                &self,
                #o: &mut #rt::ObjectWriter<'_, '_>,
            ) -> ::core::result::Result<(), #rt::JsonError> {
                #(#writes)*
                ::core::result::Result::Ok(())
            }

            fn merge_json_field(
                &mut self,
                key: &str,
                r: &mut #rt::JsonReader<'_>,
                seen: &mut #rt::FieldSet,
            ) -> ::core::result::Result<bool, #rt::JsonError> {
                #extensions
                #merge_body
            }
        }

        #[allow(deprecated)]
        impl #rt::JsonValue for #name {
            #[inline]
            fn write_json(
                &self,
                w: &mut #rt::JsonWriter<'_>,
            ) -> ::core::result::Result<(), #rt::JsonError> {
                w.message(self)
            }

            fn read_json(
                r: &mut #rt::JsonReader<'_>,
            ) -> ::core::result::Result<::core::option::Option<Self>, #rt::JsonError> {
                let mut m = Self::default();
                r.message(&mut m)?;
                ::core::result::Result::Ok(::core::option::Option::Some(m))
            }
        }
    }
}

/// The `impl JsonValue` of `e` (by name; closed enums reject unknown
/// numbers, open ones are read through `OpenEnum`).
pub fn emit_enum(cx: &Cx<'_>, e: &Enum) -> TokenStream {
    if !wanted(cx, &e.proto_name) {
        return TokenStream::new();
    }
    let rt = cx.rt();
    let name = ident(&e.rust_name);
    quote! {
        #[allow(deprecated)]
        impl #rt::JsonValue for #name {
            #[inline]
            fn write_json(
                &self,
                w: &mut #rt::JsonWriter<'_>,
            ) -> ::core::result::Result<(), #rt::JsonError> {
                #rt::write_enum(w, *self)
            }

            fn read_json(
                r: &mut #rt::JsonReader<'_>,
            ) -> ::core::result::Result<::core::option::Option<Self>, #rt::JsonError> {
                ::core::result::Result::Ok(#rt::read_enum::<Self>(r, false)?.and_then(#rt::OpenEnum::known))
            }

            #[inline]
            fn is_default_json(&self) -> bool {
                *self == Self::default()
            }
        }
    }
}
