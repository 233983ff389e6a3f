//! Emits one package file.

use proc_macro2::TokenStream;
use quote::quote;

use crate::codec::Cx;
use crate::model::{Config, Package};
use crate::{descriptor, enumeration, extension, message, service};

/// Tokens for everything in `package` (messages, enums, services).
pub fn emit(config: &Config, package: &Package) -> TokenStream {
    let cx = Cx {
        config,
        module: package.module_path.clone(),
    };
    let rt = cx.rt();
    let messages = package
        .messages
        .iter()
        .filter(|_| config.messages)
        .map(|m| message::emit(&cx, m));
    let enums = package
        .enums
        .iter()
        .filter(|_| config.messages)
        .map(|e| enumeration::emit(&cx, e));
    let extensions = package
        .extensions
        .iter()
        .filter(|_| config.messages)
        .map(|x| extension::emit(&cx, x));
    let descriptors = if config.messages {
        descriptor::emit(&cx, package)
    } else {
        TokenStream::new()
    };
    let clients = package
        .services
        .iter()
        .filter(|_| config.client)
        .map(|s| service::emit_client(&cx, s));
    let servers = package
        .services
        .iter()
        .filter(|_| config.server)
        .map(|s| service::emit_server(&cx, s));
    quote! {
        // Fails to compile, pointing here, if the runtime is not the version
        // this code was generated for.
        const _: () = #rt::RUNTIME_VERSION_1;

        #(#messages)*
        #(#enums)*
        #(#extensions)*
        #descriptors
        #(#clients)*
        #(#servers)*
    }
}
