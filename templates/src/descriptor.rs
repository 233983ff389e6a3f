//! Emits the embedded descriptors of a package's files: one
//! `FileDescriptor` static per file, linked to its imports' statics, and
//! the package's list of them.

use proc_macro2::TokenStream;
use quote::quote;

use crate::codec::Cx;
use crate::model::Package;
use crate::util::{byte_string, ident, relative_path};

/// The statics for `package`'s files (nothing when descriptors are off).
pub fn emit(cx: &Cx<'_>, package: &Package) -> TokenStream {
    if package.descriptors.is_empty() {
        return TokenStream::new();
    }
    let rt = cx.rt();
    let statics = package.descriptors.iter().map(|d| {
        let name = ident(&d.rust_name);
        let doc = format!(" The descriptor of `{}`.", d.proto_name);
        let file = &d.proto_name;
        let proto_package = &d.package;
        let encoded = byte_string(&d.encoded);
        let deps = d.dependencies.iter().map(|p| {
            let path = relative_path(&cx.module, p);
            quote!(&#path)
        });
        quote! {
            #[doc = #doc]
            pub static #name: #rt::FileDescriptor = #rt::FileDescriptor {
                name: #file,
                package: #proto_package,
                encoded: #encoded,
                dependencies: &[#(#deps),*],
            };
        }
    });
    let list = ident(&package.descriptors_name);
    let names = package.descriptors.iter().map(|d| ident(&d.rust_name));
    quote! {
        #(#statics)*
        /// The descriptors of this package's `.proto` files.
        pub static #list: &[&#rt::FileDescriptor] = &[#(&#names),*];
    }
}
