//! Emits a service: the typed client struct, the server trait, and the
//! server wrapper that routes calls to the trait's methods.

use proc_macro2::TokenStream;
use quote::quote;

use crate::codec::Cx;
use crate::model::{MethodKind, Service};
use crate::util::{deprecated, docs, ident, relative_path};

/// Tokens for the client of `service`.
pub fn emit_client(cx: &Cx<'_>, service: &Service) -> TokenStream {
    let rt = cx.rt();
    let name = ident(&service.client_name);
    let doc = docs(&service.docs);
    let dep = deprecated(service.deprecated);
    let proto_name = &service.proto_name;
    let summary = format!(" Client for the `{proto_name}` service.");
    let methods = service.methods.iter().map(|m| {
        let mname = ident(&m.rust_name);
        let mdoc = docs(&m.docs);
        let mdep = deprecated(m.deprecated);
        let input = relative_path(&cx.module, &m.input);
        let output = relative_path(&cx.module, &m.output);
        let path = &m.path;
        match m.kind {
            MethodKind::Unary => quote! {
                #mdoc
                #mdep
                pub async fn #mname(
                    &mut self,
                    request: impl #rt::IntoRequest<#input>,
                ) -> ::core::result::Result<#rt::Response<#output>, #rt::Status> {
                    self.inner.unary(request, #path).await
                }
            },
            MethodKind::ServerStreaming => quote! {
                #mdoc
                #mdep
                pub async fn #mname(
                    &mut self,
                    request: impl #rt::IntoRequest<#input>,
                ) -> ::core::result::Result<#rt::Response<#rt::Streaming<#output>>, #rt::Status> {
                    self.inner.server_streaming(request, #path).await
                }
            },
            MethodKind::ClientStreaming => quote! {
                #mdoc
                #mdep
                pub async fn #mname(
                    &mut self,
                    request: impl #rt::IntoStreamingRequest<Message = #input>,
                ) -> ::core::result::Result<#rt::Response<#output>, #rt::Status> {
                    self.inner.client_streaming(request, #path).await
                }
            },
            MethodKind::BidiStreaming => quote! {
                #mdoc
                #mdep
                pub async fn #mname(
                    &mut self,
                    request: impl #rt::IntoStreamingRequest<Message = #input>,
                ) -> ::core::result::Result<#rt::Response<#rt::Streaming<#output>>, #rt::Status> {
                    self.inner.streaming(request, #path).await
                }
            },
        }
    });
    quote! {
        #[doc = #summary]
        #[doc = ""]
        #doc
        #dep
        #[derive(Clone, Debug)]
        pub struct #name {
            inner: #rt::Client,
        }

        #[allow(deprecated)]
        impl #name {
            /// Connects to `uri` (like `http://127.0.0.1:50051`) now.
            pub async fn connect(uri: impl ::core::convert::AsRef<str>) -> ::core::result::Result<Self, #rt::Status> {
                let endpoint = #rt::Endpoint::new(uri)
                    .map_err(|e| #rt::Status::invalid_argument(e.to_string()))?;
                ::core::result::Result::Ok(Self::new(endpoint.connect().await?))
            }

            /// A client on `channel`, which may be shared with other clients.
            pub fn new(channel: #rt::Channel) -> Self {
                Self { inner: #rt::Client::new(channel) }
            }

            /// A client with options already set on `client`.
            pub fn from_client(client: #rt::Client) -> Self {
                Self { inner: client }
            }

            /// Compresses every request with `encoding`.
            pub fn send_compressed(mut self, encoding: #rt::CompressionEncoding) -> Self {
                self.inner = self.inner.send_compressed(encoding);
                self
            }

            /// Largest response message accepted (default 4 MiB).
            pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
                self.inner = self.inner.max_decoding_message_size(limit);
                self
            }

            /// Largest request message sent.
            pub fn max_encoding_message_size(mut self, limit: usize) -> Self {
                self.inner = self.inner.max_encoding_message_size(limit);
                self
            }

            /// Runs `interceptor` before every call (to add credentials, say).
            pub fn with_interceptor(mut self, interceptor: impl #rt::Interceptor) -> Self {
                self.inner = self.inner.with_interceptor(interceptor);
                self
            }

            #(#methods)*
        }
    }
}

/// Tokens for the server trait and server wrapper of `service`.
pub fn emit_server(cx: &Cx<'_>, service: &Service) -> TokenStream {
    let rt = cx.rt();
    let trait_name = ident(&service.trait_name);
    let server_name = ident(&service.server_name);
    let doc = docs(&service.docs);
    let dep = deprecated(service.deprecated);
    let proto_name = &service.proto_name;
    let trait_summary = format!(
        " What a `{proto_name}` server implements; serve it with [`{}`].",
        service.server_name
    );
    let server_summary = format!(
        " Routes `{proto_name}` calls to a [`{}`] implementation.",
        service.trait_name
    );

    let items = service.methods.iter().map(|m| {
        let mname = ident(&m.rust_name);
        let mdoc = docs(&m.docs);
        let mdep = deprecated(m.deprecated);
        let input = relative_path(&cx.module, &m.input);
        let output = relative_path(&cx.module, &m.output);
        let stream = ident(&m.stream_type_name);
        let stream_doc = format!(
            " The stream of responses [`{}::{}`] returns.",
            service.trait_name,
            m.rust_name.trim_start_matches("r#")
        );
        let request = match m.kind {
            MethodKind::Unary | MethodKind::ServerStreaming => quote!(#rt::Request<#input>),
            MethodKind::ClientStreaming | MethodKind::BidiStreaming => {
                quote!(#rt::Request<#rt::Streaming<#input>>)
            }
        };
        match m.kind {
            MethodKind::Unary | MethodKind::ClientStreaming => quote! {
                #mdoc
                #mdep
                fn #mname(
                    &self,
                    request: #request,
                ) -> impl ::core::future::Future<
                    Output = ::core::result::Result<#rt::Response<#output>, #rt::Status>,
                > + ::core::marker::Send;
            },
            MethodKind::ServerStreaming | MethodKind::BidiStreaming => quote! {
                #[doc = #stream_doc]
                type #stream: #rt::Stream<Item = ::core::result::Result<#output, #rt::Status>>
                    + ::core::marker::Send
                    + 'static;

                #mdoc
                #mdep
                fn #mname(
                    &self,
                    request: #request,
                ) -> impl ::core::future::Future<
                    Output = ::core::result::Result<#rt::Response<Self::#stream>, #rt::Status>,
                > + ::core::marker::Send;
            },
        }
    });

    let arms = service.methods.iter().map(|m| {
        let mname = ident(&m.rust_name);
        let proto = &m.proto_name;
        let runner = match m.kind {
            MethodKind::Unary => quote!(unary),
            MethodKind::ServerStreaming => quote!(server_streaming),
            MethodKind::ClientStreaming => quote!(client_streaming),
            MethodKind::BidiStreaming => quote!(streaming),
        };
        quote! {
            #proto => {
                let inner = ::std::sync::Arc::clone(&self.inner);
                call.#runner(move |request| async move { inner.#mname(request).await });
            }
        }
    });

    let (file_descriptor, service_descriptor) = match &service.descriptor {
        Some(name) => {
            let name = ident(name);
            (
                quote! {
                    /// The descriptor of the `.proto` file that declares this
                    /// service, whose closure of imports reflection serves.
                    pub fn file_descriptor() -> &'static #rt::FileDescriptor {
                        &#name
                    }
                },
                quote! {
                    fn descriptor(&self) -> ::core::option::Option<&'static #rt::FileDescriptor> {
                        ::core::option::Option::Some(&#name)
                    }
                },
            )
        }
        None => (TokenStream::new(), TokenStream::new()),
    };

    // A service without methods has nothing to match (clippy's
    // match_single_binding).
    let route = if service.methods.is_empty() {
        quote!(call.unimplemented(method))
    } else {
        quote! {
            match method {
                #(#arms)*
                _ => call.unimplemented(method),
            }
        }
    };

    quote! {
        #[doc = #trait_summary]
        #[doc = ""]
        #doc
        #dep
        // Its methods name their messages, which may be deprecated.
        #[allow(deprecated)]
        pub trait #trait_name: ::core::marker::Send + ::core::marker::Sync + 'static {
            #(#items)*
        }

        #[doc = #server_summary]
        #[derive(Debug)]
        pub struct #server_name<T> {
            inner: ::std::sync::Arc<T>,
        }

        impl<T> #server_name<T> {
            /// Serves `inner`.
            pub fn new(inner: T) -> Self {
                Self { inner: ::std::sync::Arc::new(inner) }
            }

            /// Serves an implementation shared with other code.
            pub fn from_arc(inner: ::std::sync::Arc<T>) -> Self {
                Self { inner }
            }
            #file_descriptor
        }

        impl<T> ::core::clone::Clone for #server_name<T> {
            fn clone(&self) -> Self {
                Self { inner: ::std::sync::Arc::clone(&self.inner) }
            }
        }

        #[allow(deprecated)]
        impl<T: #trait_name> #rt::Service for #server_name<T> {
            fn name(&self) -> &'static str {
                #proto_name
            }

            fn call(&self, method: &str, call: #rt::Call) {
                #route
            }
            #service_descriptor
        }
    }
}
