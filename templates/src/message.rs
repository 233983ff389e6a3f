//! Emits a message: its struct, getters, `Message` impl and nested module.

use proc_macro2::TokenStream;
use quote::quote;

use crate::codec::{
    self, Cx, LEN, fixed_width, is_packable, is_set, key, key_len, merge_message, packed_reader,
    put_key, read_owned, read_scalar, value_len, wire_type, write_value,
};
use crate::model::{
    DefaultValue, Field, FieldShape, Message, Oneof, OneofVariant, Presence, Scalar, ValueType,
};
use crate::util::{attributes, deprecated, docs, ident, u32_lit};
use crate::{enumeration, extension, json, oneof, text};

/// Tokens for `message` and everything nested in it, emitted in module `cx.module`.
pub fn emit(cx: &Cx<'_>, message: &Message) -> TokenStream {
    let rt = cx.rt();
    let name = ident(&message.rust_name);
    let doc = docs(&message.docs);
    let dep = deprecated(message.deprecated);
    let attrs = attributes(&message.attributes);
    let proto_name = &message.proto_name;
    let unknown = ident(&message.unknown_fields_name);

    // Code inside the message's module (oneof enums, nested types) is one level down.
    let mut inner = Cx {
        config: cx.config,
        module: cx.module.clone(),
    };
    inner.module.push(message.module_name.clone());
    let module = ident(&message.module_name);

    let fields = message.fields.iter().map(|f| {
        let fname = ident(&f.rust_name);
        let fdoc = docs(&f.docs);
        let fdep = deprecated(f.deprecated);
        let fattrs = attributes(&f.attributes);
        let ty = field_type(cx, f);
        quote!(#fdoc #fdep #fattrs pub #fname: #ty,)
    });
    let oneof_fields = message.oneofs.iter().map(|o| {
        let fname = ident(&o.rust_name);
        let odoc = docs(&o.docs);
        let ename = ident(&o.enum_name);
        quote!(#odoc pub #fname: ::core::option::Option<#module::#ename>,)
    });

    // Encode in field-number order; each oneof member at its own number.
    let mut members: Vec<(u32, Member<'_>)> = message
        .fields
        .iter()
        .map(|f| (f.number, Member::Field(f)))
        .collect();
    for o in &message.oneofs {
        members.extend(o.variants.iter().map(|v| (v.number, Member::Oneof(o, v))));
    }
    members.sort_by_key(|(n, _)| *n);

    let sizes = members.iter().map(|(_, m)| match m {
        Member::Field(f) => field_size(cx, f),
        Member::Oneof(o, v) => oneof::size(cx, &message.module_name, o, v),
    });
    let writes = members.iter().map(|(_, m)| match m {
        Member::Field(f) => field_write(cx, f),
        Member::Oneof(o, v) => oneof::write(cx, &message.module_name, o, v),
    });
    let mut arms = Vec::new();
    for f in &message.fields {
        arms.extend(field_merge(cx, f, &unknown));
    }
    for o in &message.oneofs {
        arms.extend(oneof::merge(cx, &message.module_name, o, &unknown));
    }
    let has_sizes = members.iter().any(|(_, m)| uses_size_cache(m));
    let len_decl = if members.is_empty() {
        quote!(let len = 0usize;)
    } else {
        quote!(let mut len = 0usize;)
    };
    let sizes_param = if has_sizes {
        quote!(sizes)
    } else {
        quote!(_sizes)
    };
    // Lets encoding skip the per-thread size cache.
    let size_cache_const = if has_sizes {
        TokenStream::new()
    } else {
        quote!(
            const USES_SIZE_CACHE: bool = false;
        )
    };
    let has_arms = !arms.is_empty();
    let merge_body = if has_arms {
        quote! {
            match key {
                #(#arms)*
                _ => return ::core::result::Result::Ok(false),
            }
            ::core::result::Result::Ok(true)
        }
    } else {
        quote!(let _ = (key, d); ::core::result::Result::Ok(false))
    };
    let init_check = if message.needs_init_check {
        init_check(cx, message)
    } else {
        TokenStream::new()
    };
    let getters = getters(cx, message);
    let json = json::emit_message(cx, message);
    let text = text::emit_message(cx, message);

    let nested_messages = message.messages.iter().map(|m| emit(&inner, m));
    let nested_enums = message.enums.iter().map(|e| enumeration::emit(&inner, e));
    let oneof_enums = message.oneofs.iter().map(|o| oneof::emit_enum(&inner, o));
    let nested_extensions = message
        .extensions
        .iter()
        .map(|x| extension::emit(&inner, x));
    let extendable = extension::emit_extendable(cx, message);
    let has_module = !message.messages.is_empty()
        || !message.enums.is_empty()
        || !message.oneofs.is_empty()
        || !message.extensions.is_empty();
    let module_tokens = if has_module {
        let what = if message.extensions.is_empty() {
            "Nested types and oneofs"
        } else {
            "Nested types, oneofs and extensions"
        };
        let mod_doc = format!(" {what} of [`{}`].", message.rust_name);
        quote! {
            #[doc = #mod_doc]
            #[allow(deprecated)]
            pub mod #module {
                #(#oneof_enums)*
                #(#nested_messages)*
                #(#nested_enums)*
                #(#nested_extensions)*
            }
        }
    } else {
        TokenStream::new()
    };

    quote! {
        #doc
        #dep
        #[derive(Clone, PartialEq, Debug, Default)]
        #attrs
        #[allow(deprecated)]
        pub struct #name {
            #(#fields)*
            #(#oneof_fields)*
            /// Fields read from the wire that this schema does not declare; written back on encode.
            pub #unknown: #rt::UnknownFields,
        }

        #getters
        #extendable

        #[allow(deprecated)]
        impl #rt::Message for #name {
            const NAME: &'static str = #proto_name;
            #size_cache_const

            #[inline]
            fn compute_size(&self, #sizes_param: &mut #rt::SizeCache) -> usize {
                #len_decl
                #(#sizes)*
                len + self.#unknown.encoded_len()
            }

            #[inline]
            fn write_to<B: #rt::BufMut + ?Sized>(&self, w: &mut #rt::Encoder<'_, B>) {
                #(#writes)*
                w.put_raw(self.#unknown.as_bytes());
            }

            #[inline]
            fn merge_field(
                &mut self,
                key: u32,
                d: &mut #rt::Decoder<'_>,
            ) -> ::core::result::Result<bool, #rt::DecodeError> {
                #merge_body
            }

            fn unknown_fields(&self) -> &#rt::UnknownFields {
                &self.#unknown
            }

            fn unknown_fields_mut(&mut self) -> &mut #rt::UnknownFields {
                &mut self.#unknown
            }

            #init_check
        }

        #json
        #text
        #module_tokens
    }
}

enum Member<'a> {
    Field(&'a Field),
    Oneof(&'a Oneof, &'a OneofVariant),
}

fn uses_size_cache(m: &Member<'_>) -> bool {
    fn nested(ty: &ValueType) -> bool {
        matches!(ty, ValueType::Message { .. })
    }
    match m {
        Member::Field(f) => match &f.shape {
            FieldShape::Singular { ty, .. } => nested(ty),
            FieldShape::Repeated { ty, packed } => {
                nested(ty) || (*packed && is_packable(ty) && fixed_width(ty).is_none())
            }
            FieldShape::Map { .. } => true,
        },
        Member::Oneof(_, v) => nested(&v.ty),
    }
}

fn map_type(cx: &Cx<'_>, key: &ValueType, value: &ValueType) -> TokenStream {
    let k = cx.value_type(key);
    let v = cx.value_type(value);
    if cx.config.btree_map {
        quote!(::std::collections::BTreeMap<#k, #v>)
    } else {
        quote!(::std::collections::HashMap<#k, #v>)
    }
}

fn field_type(cx: &Cx<'_>, f: &Field) -> TokenStream {
    match &f.shape {
        FieldShape::Singular {
            ty,
            presence: Presence::Implicit,
            ..
        } => cx.stored_type(ty),
        FieldShape::Singular { ty, .. } => {
            let t = cx.stored_type(ty);
            quote!(::core::option::Option<#t>)
        }
        FieldShape::Repeated { ty, .. } => {
            let t = cx.value_type(ty);
            quote!(::std::vec::Vec<#t>)
        }
        FieldShape::Map { key, value } => map_type(cx, key, value),
    }
}

/// `let v = &**v;` for boxed messages, so snippets always see `&M`.
fn unbox(ty: &ValueType) -> TokenStream {
    match ty {
        ValueType::Message { boxed: true, .. } => quote!(let v = &**v;),
        _ => TokenStream::new(),
    }
}

fn field_size(cx: &Cx<'_>, f: &Field) -> TokenStream {
    let name = ident(&f.rust_name);
    let klen = key_len(f.number);
    let v = quote!(v);
    match &f.shape {
        FieldShape::Singular {
            ty,
            presence: Presence::Implicit,
            ..
        } => {
            let set = is_set(ty, &v);
            let vlen = value_len(cx, ty, f.number, &v);
            quote! {
                let v = &self.#name;
                if #set {
                    len += #klen + #vlen;
                }
            }
        }
        FieldShape::Singular { ty, .. } if !codec::len_reads_value(ty) => {
            let vlen = value_len(cx, ty, f.number, &v);
            quote! {
                if self.#name.is_some() {
                    len += #klen + #vlen;
                }
            }
        }
        FieldShape::Singular { ty, .. } => {
            let vlen = value_len(cx, ty, f.number, &v);
            let ub = unbox(ty);
            quote! {
                if let ::core::option::Option::Some(v) = &self.#name {
                    #ub
                    len += #klen + #vlen;
                }
            }
        }
        FieldShape::Repeated { ty, packed: true } if is_packable(ty) => {
            let rt = cx.rt();
            match fixed_width(ty) {
                Some(width) => {
                    let payload = packed_fixed_len(&name, width);
                    quote! {
                        if !self.#name.is_empty() {
                            len += #klen + #rt::delimited_len(#payload);
                        }
                    }
                }
                None => {
                    let vlen = value_len(cx, ty, f.number, &v);
                    quote! {
                        if !self.#name.is_empty() {
                            let payload: usize = self.#name.iter().map(|v| #vlen).sum();
                            len += #klen + sizes.record(payload);
                        }
                    }
                }
            }
        }
        FieldShape::Repeated { ty, .. } => match fixed_width(ty) {
            Some(width) => {
                let per = proc_macro2::Literal::usize_unsuffixed(codec::key_size(f.number) + width);
                quote!(len += self.#name.len() * #per;)
            }
            None => {
                let vlen = value_len(cx, ty, f.number, &v);
                quote! {
                    for v in &self.#name {
                        len += #klen + #vlen;
                    }
                }
            }
        },
        FieldShape::Map { key: kt, value: vt } => {
            let k = quote!(k);
            let klen_entry = value_len(cx, kt, 1, &k);
            let vlen_entry = value_len(cx, vt, 2, &v);
            // Iterate over only what the sizes read (clippy's `for_kv_map`).
            let entries = match (codec::len_reads_value(kt), codec::len_reads_value(vt)) {
                (true, true) => quote!((k, v) in &self.#name),
                (true, false) => quote!(k in self.#name.keys()),
                (false, true) => quote!(v in self.#name.values()),
                (false, false) => quote!(_ in &self.#name),
            };
            quote! {
                for #entries {
                    len += #klen + sizes.nested(|sizes| {
                        let _ = &sizes;
                        2 + #klen_entry + #vlen_entry
                    });
                }
            }
        }
    }
}

fn field_write(cx: &Cx<'_>, f: &Field) -> TokenStream {
    let name = ident(&f.rust_name);
    let v = quote!(v);
    match &f.shape {
        FieldShape::Singular {
            ty,
            presence: Presence::Implicit,
            ..
        } => {
            let set = is_set(ty, &v);
            let key = put_key(f.number, wire_type(ty));
            let write = write_value(cx, ty, f.number, &v);
            quote! {
                let v = &self.#name;
                if #set {
                    #key
                    #write
                }
            }
        }
        FieldShape::Singular { ty, .. } => {
            let key = put_key(f.number, wire_type(ty));
            let write = write_value(cx, ty, f.number, &v);
            let ub = unbox(ty);
            quote! {
                if let ::core::option::Option::Some(v) = &self.#name {
                    #ub
                    #key
                    #write
                }
            }
        }
        FieldShape::Repeated { ty, packed: true } if is_packable(ty) => {
            let key = put_key(f.number, LEN);
            let write = write_value(cx, ty, f.number, &v);
            let len = match fixed_width(ty) {
                Some(1) => quote!(w.put_varint(self.#name.len() as u64);),
                Some(width) => {
                    let payload = packed_fixed_len(&name, width);
                    quote!(w.put_varint((#payload) as u64);)
                }
                None => quote!(w.put_next_len();),
            };
            quote! {
                if !self.#name.is_empty() {
                    #key
                    #len
                    for v in &self.#name {
                        #write
                    }
                }
            }
        }
        FieldShape::Repeated { ty, .. } => {
            let key = put_key(f.number, wire_type(ty));
            let write = write_value(cx, ty, f.number, &v);
            quote! {
                for v in &self.#name {
                    #key
                    #write
                }
            }
        }
        FieldShape::Map { key: kt, value: vt } => {
            let key = put_key(f.number, LEN);
            let k = quote!(k);
            let kkey = put_key(1, wire_type(kt));
            let vkey = put_key(2, wire_type(vt));
            let kw = write_value(cx, kt, 1, &k);
            let vw = write_value(cx, vt, 2, &v);
            quote! {
                for (k, v) in &self.#name {
                    #key
                    w.put_next_len();
                    #kkey
                    #kw
                    #vkey
                    #vw
                }
            }
        }
    }
}

/// Payload length of a packed run of `width`-byte values in field `name`
/// (no `* 1`, which clippy flags as `identity_op`).
fn packed_fixed_len(name: &proc_macro2::Ident, width: usize) -> TokenStream {
    if width == 1 {
        quote!(self.#name.len())
    } else {
        let width = proc_macro2::Literal::usize_unsuffixed(width);
        quote!(self.#name.len() * #width)
    }
}

/// Statement storing a decoded closed-enum number `n` via `store` (which
/// receives the enum value as `e`), or keeping it as an unknown varint field.
pub(crate) fn closed_enum_store(
    cx: &Cx<'_>,
    ty: &ValueType,
    number: u32,
    unknown: &proc_macro2::Ident,
    store: TokenStream,
) -> TokenStream {
    let rt = cx.rt();
    let e_ty = cx.value_type(ty);
    let num = u32_lit(number);
    quote! {
        match <#e_ty as #rt::Enumeration>::from_i32(n) {
            ::core::option::Option::Some(e) => { #store }
            ::core::option::Option::None => #rt::push_unknown_varint(&mut self.#unknown, #num, n as i64 as u64),
        }
    }
}

/// Expression decoding one value of a scalar or open enum from `d`.
pub(crate) fn read_copy_value(cx: &Cx<'_>, ty: &ValueType) -> TokenStream {
    let rt = cx.rt();
    match ty {
        ValueType::Scalar(s) => read_scalar(cx, *s),
        ValueType::Enum { closed: false, .. } => {
            quote!(#rt::OpenEnum::from_i32(d.read_varint()? as i32))
        }
        _ => TokenStream::new(),
    }
}

fn field_merge(cx: &Cx<'_>, f: &Field, unknown: &proc_macro2::Ident) -> Vec<TokenStream> {
    let rt = cx.rt();
    let name = ident(&f.rust_name);
    let number = f.number;
    match &f.shape {
        FieldShape::Singular { ty, presence, .. } => {
            let k = key(number, wire_type(ty));
            let explicit = *presence != Presence::Implicit;
            let body = match ty {
                ValueType::Scalar(_) | ValueType::Enum { closed: false, .. } => {
                    let read = read_copy_value(cx, ty);
                    if explicit {
                        quote!(self.#name = ::core::option::Option::Some(#read);)
                    } else {
                        quote!(self.#name = #read;)
                    }
                }
                ValueType::Enum { closed: true, .. } => {
                    let store = if explicit {
                        quote!(self.#name = ::core::option::Option::Some(e);)
                    } else {
                        quote!(self.#name = e;)
                    };
                    let st = closed_enum_store(cx, ty, number, unknown, store);
                    quote! {
                        let n = d.read_varint()? as i32;
                        #st
                    }
                }
                ValueType::String { .. } => {
                    let target = if explicit {
                        quote!(self.#name.get_or_insert_with(::core::default::Default::default))
                    } else {
                        quote!(&mut self.#name)
                    };
                    quote!(d.read_string_into(#target)?;)
                }
                ValueType::Bytes if !cx.config.bytes_as_bytes => {
                    let target = if explicit {
                        quote!(self.#name.get_or_insert_with(::core::default::Default::default))
                    } else {
                        quote!(&mut self.#name)
                    };
                    quote!(d.read_bytes_into(#target)?;)
                }
                ValueType::Bytes => {
                    if explicit {
                        quote!(self.#name = ::core::option::Option::Some(d.read_bytes()?);)
                    } else {
                        quote!(self.#name = d.read_bytes()?;)
                    }
                }
                ValueType::Message { boxed, .. } => {
                    let target = if *boxed {
                        quote!(&mut **self.#name.get_or_insert_with(::core::default::Default::default))
                    } else {
                        quote!(self.#name.get_or_insert_with(::core::default::Default::default))
                    };
                    merge_message(ty, number, &target)
                }
            };
            vec![quote!(#k => { #body })]
        }
        FieldShape::Repeated { ty, .. } => {
            let k = key(number, wire_type(ty));
            match ty {
                ValueType::Scalar(s) => {
                    let read = read_scalar(cx, *s);
                    let (reader, conv) = packed_reader(cx, *s);
                    let kp = key(number, LEN);
                    // Size the field once from the run's length.
                    let count = match fixed_width(ty) {
                        Some(w) if *s != Scalar::Bool => {
                            let w = proc_macro2::Literal::usize_unsuffixed(w);
                            quote!(d.count_packed_fixed(#w))
                        }
                        _ => quote!(d.count_packed_varints()),
                    };
                    vec![
                        quote!(#k => self.#name.push(#read),),
                        quote!(#kp => {
                            self.#name.reserve(#count);
                            d.#reader(|raw| self.#name.push(#conv))?;
                        }),
                    ]
                }
                ValueType::Enum { closed: false, .. } => {
                    let kp = key(number, LEN);
                    vec![
                        quote!(#k => self.#name.push(#rt::OpenEnum::from_i32(d.read_varint()? as i32)),),
                        quote!(#kp => {
                            self.#name.reserve(d.count_packed_varints());
                            d.read_packed_varints(|raw| self.#name.push(#rt::OpenEnum::from_i32(raw as i32)))?;
                        }),
                    ]
                }
                ValueType::Enum { closed: true, .. } => {
                    let kp = key(number, LEN);
                    let st =
                        closed_enum_store(cx, ty, number, unknown, quote!(self.#name.push(e);));
                    vec![
                        quote!(#k => {
                            let n = d.read_varint()? as i32;
                            #st
                        }),
                        quote!(#kp => d.read_packed_varints(|raw| {
                            let n = raw as i32;
                            #st
                        })?,),
                    ]
                }
                ValueType::String { .. } | ValueType::Bytes => {
                    let read = read_owned(cx, ty);
                    vec![quote!(#k => {
                        if self.#name.is_empty() {
                            self.#name.reserve(d.count_run(#k));
                        }
                        self.#name.push(#read);
                    })]
                }
                ValueType::Message {
                    delimited: false, ..
                } => {
                    let merge = merge_message(ty, number, &quote!(&mut m));
                    vec![quote!(#k => {
                        if self.#name.is_empty() {
                            self.#name.reserve(d.count_run(#k));
                        }
                        let mut m = ::core::default::Default::default();
                        #merge
                        self.#name.push(m);
                    })]
                }
                ValueType::Message { .. } => {
                    let merge = merge_message(ty, number, &quote!(&mut m));
                    vec![quote!(#k => {
                        let mut m = ::core::default::Default::default();
                        #merge
                        self.#name.push(m);
                    })]
                }
            }
        }
        FieldShape::Map { key: kt, value: vt } => {
            let k = key(number, LEN);
            let kk = key(1, wire_type(kt));
            let vk = key(2, wire_type(vt));
            let read_key = map_slot_read(cx, kt, &quote!(k));
            let closed = matches!(vt, ValueType::Enum { closed: true, .. });
            let kty = cx.value_type(kt);
            if closed {
                // Entries whose value the closed enum does not know are kept,
                // whole, as unknown fields (as protobuf's reference does).
                let e_ty = cx.value_type(vt);
                let entry_key = crate::util::key_bytes(number, LEN);
                vec![quote!(#k => {
                    let entry = d.remaining();
                    let (k, n) = d.read_map_entry::<#kty, i32>(|d, key, k, v| {
                        match key {
                            #kk => { #read_key }
                            #vk => *v = d.read_varint()? as i32,
                            _ => return ::core::result::Result::Ok(false),
                        }
                        ::core::result::Result::Ok(true)
                    })?;
                    match <#e_ty as #rt::Enumeration>::from_i32(n) {
                        ::core::option::Option::Some(e) => {
                            self.#name.insert(k, e);
                        }
                        ::core::option::Option::None => {
                            let used = entry.len() - d.remaining().len();
                            self.#unknown.push_raw(&[#(#entry_key),*]);
                            self.#unknown.push_raw(&entry[..used]);
                        }
                    }
                })]
            } else {
                let read_value = map_slot_read(cx, vt, &quote!(v));
                let vty = cx.value_type(vt);
                // A HashMap sized once for the run of entries is not rehashed.
                let reserve = if cx.config.btree_map {
                    TokenStream::new()
                } else {
                    quote!(if self.#name.is_empty() {
                        self.#name.reserve(d.count_run(#k));
                    })
                };
                vec![quote!(#k => {
                    #reserve
                    let (k, v) = d.read_map_entry::<#kty, #vty>(|d, key, k, v| {
                        match key {
                            #kk => { #read_key }
                            #vk => { #read_value }
                            _ => return ::core::result::Result::Ok(false),
                        }
                        ::core::result::Result::Ok(true)
                    })?;
                    self.#name.insert(k, v);
                })]
            }
        }
    }
}

/// Statement reading a map key or value into `slot` (a `&mut T`).
fn map_slot_read(cx: &Cx<'_>, ty: &ValueType, slot: &TokenStream) -> TokenStream {
    match ty {
        ValueType::Scalar(_) | ValueType::Enum { closed: false, .. } => {
            let read = read_copy_value(cx, ty);
            quote!(*#slot = #read;)
        }
        ValueType::String { .. } => quote!(d.read_string_into(#slot)?;),
        ValueType::Bytes if !cx.config.bytes_as_bytes => quote!(d.read_bytes_into(#slot)?;),
        ValueType::Bytes => quote!(*#slot = d.read_bytes()?;),
        ValueType::Message { .. } => quote!(d.merge_message(#slot)?;),
        ValueType::Enum { closed: true, .. } => TokenStream::new(),
    }
}

fn needs_check(ty: &ValueType) -> bool {
    matches!(
        ty,
        ValueType::Message {
            needs_init_check: true,
            ..
        }
    )
}

fn init_check(cx: &Cx<'_>, message: &Message) -> TokenStream {
    let rt = cx.rt();
    let mut checks = Vec::new();
    for f in &message.fields {
        let name = ident(&f.rust_name);
        let full = format!("{}.{}", message.proto_name, f.proto_name);
        match &f.shape {
            FieldShape::Singular { ty, presence, .. } => {
                if *presence == Presence::Required {
                    checks.push(quote! {
                        if self.#name.is_none() {
                            return ::core::result::Result::Err(#full);
                        }
                    });
                }
                if needs_check(ty) {
                    let ub = unbox(ty);
                    checks.push(quote! {
                        if let ::core::option::Option::Some(v) = &self.#name {
                            #ub
                            #rt::Message::check_initialized(v)?;
                        }
                    });
                }
            }
            FieldShape::Repeated { ty, .. } if needs_check(ty) => checks.push(quote! {
                for v in &self.#name {
                    #rt::Message::check_initialized(v)?;
                }
            }),
            FieldShape::Map { value, .. } if needs_check(value) => checks.push(quote! {
                for v in self.#name.values() {
                    #rt::Message::check_initialized(v)?;
                }
            }),
            _ => {}
        }
    }
    for o in &message.oneofs {
        let fname = ident(&o.rust_name);
        let module = ident(&message.module_name);
        let ename = ident(&o.enum_name);
        for v in o.variants.iter().filter(|v| needs_check(&v.ty)) {
            let var = ident(&v.rust_name);
            let ub = unbox(&v.ty);
            checks.push(quote! {
                if let ::core::option::Option::Some(#module::#ename::#var(v)) = &self.#fname {
                    #ub
                    #rt::Message::check_initialized(v)?;
                }
            });
        }
    }
    quote! {
        fn check_initialized(&self) -> ::core::result::Result<(), &'static str> {
            #(#checks)*
            ::core::result::Result::Ok(())
        }
    }
}

/// Getters that apply the proto2 default for explicit-presence scalar fields.
fn getters(cx: &Cx<'_>, message: &Message) -> TokenStream {
    let mut out = Vec::new();
    // Getters keep their field's name where they can; those renamed away
    // from a trait method (`merge` -> `get_merge`) must not take another's.
    let mut taken: std::collections::HashSet<String> = message
        .fields
        .iter()
        .map(|f| f.rust_name.trim_start_matches("r#").to_owned())
        .collect();
    for f in &message.fields {
        let FieldShape::Singular {
            ty,
            presence,
            default,
        } = &f.shape
        else {
            continue;
        };
        if *presence == Presence::Implicit || matches!(ty, ValueType::Message { .. }) {
            continue;
        }
        let name = ident(&f.rust_name);
        let getter = ident(&getter_name(&f.rust_name, &mut taken));
        let doc = match default {
            Some(_) => format!(
                " Value of `{}`, or its declared default when unset.",
                f.proto_name
            ),
            None => format!(
                " Value of `{}`, or the type's default when unset.",
                f.proto_name
            ),
        };
        let (ret, body) = match ty {
            ValueType::Scalar(s) => {
                let t = codec::scalar_type(*s);
                let body = match default {
                    Some(d) => {
                        let d = scalar_default(*s, d);
                        quote!(self.#name.unwrap_or(#d))
                    }
                    None => quote!(self.#name.unwrap_or_default()),
                };
                (t, body)
            }
            ValueType::String { .. } => {
                let d = match default {
                    Some(DefaultValue::String(s)) => quote!(#s),
                    _ => quote!(""),
                };
                (quote!(&str), quote!(self.#name.as_deref().unwrap_or(#d)))
            }
            ValueType::Bytes => {
                let d = match default {
                    Some(DefaultValue::Bytes(b)) => {
                        let lit = proc_macro2::Literal::byte_string(b);
                        quote!(#lit)
                    }
                    _ => quote!(b""),
                };
                (quote!(&[u8]), quote!(self.#name.as_deref().unwrap_or(#d)))
            }
            ValueType::Enum { closed, .. } => {
                let t = cx.value_type(ty);
                let body = match default {
                    Some(DefaultValue::Enum(variant)) => {
                        let e = cx.value_type(&ValueType::Enum {
                            path: enum_path(ty),
                            closed: true,
                        });
                        let v = ident(variant);
                        if *closed {
                            quote!(self.#name.unwrap_or(#e::#v))
                        } else {
                            quote!(self.#name.unwrap_or(#e::#v.into()))
                        }
                    }
                    _ => quote!(self.#name.unwrap_or_default()),
                };
                (t, body)
            }
            ValueType::Message { .. } => continue,
        };
        out.push(quote! {
            #[doc = #doc]
            #[inline]
            pub fn #getter(&self) -> #ret {
                #body
            }
        });
    }
    if out.is_empty() {
        return TokenStream::new();
    }
    let name = ident(&message.rust_name);
    quote! {
        #[allow(deprecated)]
        impl #name {
            #(#out)*
        }
    }
}

fn enum_path(ty: &ValueType) -> crate::model::TypePath {
    match ty {
        ValueType::Enum { path, .. } => path.clone(),
        _ => crate::model::TypePath {
            modules: Vec::new(),
            name: String::new(),
            external: None,
        },
    }
}

/// Names that must not become inherent methods: they would shadow the
/// methods of traits every message implements.
const TRAIT_METHODS: &[&str] = &[
    "clone",
    "clone_from",
    "eq",
    "ne",
    "fmt",
    "default",
    "compute_size",
    "write_to",
    "merge_field",
    "unknown_fields",
    "unknown_fields_mut",
    "check_initialized",
    "encoded_len",
    "encode",
    "encode_to_vec",
    "encode_length_delimited",
    "encode_with_cache",
    "decode",
    "decode_bytes",
    "decode_slice",
    "decode_length_delimited",
    "merge",
    "merge_slice",
    "merge_partial",
    "check_required",
    "clear",
    "to_owned",
    "into",
    "try_into",
    "borrow",
    "borrow_mut",
    "type_id",
];

fn getter_name(field: &str, taken: &mut std::collections::HashSet<String>) -> String {
    let bare = field.strip_prefix("r#").unwrap_or(field);
    if !TRAIT_METHODS.contains(&bare) {
        return field.to_owned();
    }
    let mut name = format!("get_{bare}");
    while !taken.insert(name.clone()) {
        name.push('_');
    }
    name
}

pub(crate) fn scalar_default(s: Scalar, d: &DefaultValue) -> TokenStream {
    match (s, d) {
        (Scalar::Double, DefaultValue::Float(f)) => float_lit(*f, true),
        (Scalar::Float, DefaultValue::Float(f)) => float_lit(*f, false),
        (Scalar::Bool, DefaultValue::Bool(b)) => quote!(#b),
        (Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32, DefaultValue::Int(i)) => {
            signed_lit(*i, quote!(i32))
        }
        (Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64, DefaultValue::Int(i)) => {
            signed_lit(*i, quote!(i64))
        }
        (Scalar::Uint32 | Scalar::Fixed32, DefaultValue::Uint(u)) => {
            let l = proc_macro2::Literal::u32_suffixed(*u as u32);
            quote!(#l)
        }
        (Scalar::Uint64 | Scalar::Fixed64, DefaultValue::Uint(u)) => {
            let l = proc_macro2::Literal::u64_suffixed(*u);
            quote!(#l)
        }
        _ => quote!(::core::default::Default::default()),
    }
}

fn float_lit(f: f64, double: bool) -> TokenStream {
    let ty = if double { quote!(f64) } else { quote!(f32) };
    if f.is_nan() {
        quote!(#ty::NAN)
    } else if f == f64::INFINITY {
        quote!(#ty::INFINITY)
    } else if f == f64::NEG_INFINITY {
        quote!(#ty::NEG_INFINITY)
    } else {
        // Negative numbers are a `-` token and a positive literal in Rust's grammar.
        let sign = if f.is_sign_negative() {
            quote!(-)
        } else {
            TokenStream::new()
        };
        let l = if double {
            proc_macro2::Literal::f64_suffixed(f.abs())
        } else {
            proc_macro2::Literal::f32_suffixed(f.abs() as f32)
        };
        quote!(#sign #l)
    }
}

fn signed_lit(i: i64, ty: TokenStream) -> TokenStream {
    let is_i32 = ty.to_string() == "i32";
    if (is_i32 && i == i64::from(i32::MIN)) || i == i64::MIN {
        return quote!(#ty::MIN);
    }
    let abs = i.unsigned_abs();
    let l = if is_i32 {
        proc_macro2::Literal::i32_suffixed(abs as i32)
    } else {
        proc_macro2::Literal::i64_suffixed(abs as i64)
    };
    if i < 0 { quote!(-#l) } else { quote!(#l) }
}
