//! `rust-rpc-build`: compiles `.proto` files into Rust for rust-rpc from a
//! `build.rs`, with no protoc on the machine.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), rust_rpc_build::Error> {
//!     rust_rpc_build::configure()
//!         .bytes(true)
//!         .compile(&["proto/greeter.proto"], &["proto"])
//! }
//! ```
//!
//! ```ignore
//! // src/lib.rs: the package `greeter.v1` as a module
//! pub mod greeter {
//!     rust_rpc::include_proto!("greeter.v1");
//! }
//! ```
//!
//! Files (proto2, proto3, edition 2023) are parsed in pure Rust into the
//! descriptors protoc would give, comments included, and run through the
//! very generator `protoc-gen-rust-rpc` is, so the code is the same byte for
//! byte as the plugin writes. protoc is used only when asked for: by
//! [`Builder::protoc`], or by setting the `PROTOC` environment variable
//! (unless [`Builder::pure`] says otherwise). A bad `.proto` file fails the
//! build with `file:line:column: what is wrong`.

use std::ffi::OsString;

use std::path::{Path, PathBuf};

use protoc_gen_rust_rpc::Options;
use protoc_gen_rust_rpc::parse::Parser;

/// Why compiling failed: the file, where in it when known, and what is
/// wrong. `Debug` prints the same as `Display`, so a `build.rs` that returns
/// it shows a plain message.
pub use protoc_gen_rust_rpc::Error;

/// A [`Builder`] with the defaults: messages, clients and servers, parsed
/// without protoc, written to `OUT_DIR`.
pub fn configure() -> Builder {
    Builder {
        options: Options::default(),
        error: None,
        out_dir: None,
        parser: None,
        rerun_if_changed: true,
    }
}

/// Compiles `protos` with the default [`Builder`]: see [`Builder::compile`].
pub fn compile_protos(
    protos: &[impl AsRef<Path>],
    includes: &[impl AsRef<Path>],
) -> Result<(), Error> {
    configure().compile(protos, includes)
}

/// What to generate and how: the options of `protoc-gen-rust-rpc`
/// (`--rust-rpc_opt`), one method each.
#[derive(Clone, Debug)]
#[must_use = "a Builder does nothing until `compile` is called"]
pub struct Builder {
    options: Options,
    /// The first bad option, reported by `compile`.
    error: Option<Error>,
    out_dir: Option<PathBuf>,
    /// `None`: as `PROTOC` says (see [`choose_parser`]).
    parser: Option<Parser>,
    rerun_if_changed: bool,
}

/// The parser to use: the one the builder was told, else protoc if the
/// `PROTOC` variable names one, else the pure-Rust parser.
fn choose_parser(told: Option<&Parser>, protoc_variable: Option<OsString>) -> Parser {
    match (told, protoc_variable) {
        (Some(parser), _) => parser.clone(),
        (None, Some(path)) if !path.is_empty() => Parser::Protoc(Some(PathBuf::from(path))),
        (None, _) => Parser::Pure,
    }
}

impl Builder {
    fn set(mut self, key: &str, value: &str) -> Self {
        if self.error.is_none() {
            if let Err(e) = self.options.set(key, value) {
                self.error = Some(Error::new("", e.to_string()));
            }
        }
        self
    }

    fn set_bool(self, key: &str, on: bool) -> Self {
        self.set(key, if on { "true" } else { "false" })
    }

    /// Generate service clients (default `true`; plugin `client=`).
    pub fn build_client(self, on: bool) -> Self {
        self.set_bool("client", on)
    }

    /// Generate service server traits (default `true`; plugin `server=`).
    pub fn build_server(self, on: bool) -> Self {
        self.set_bool("server", on)
    }

    /// Generate message and enum types (default `true`; plugin
    /// `messages=`). Off, only services are generated, and the messages
    /// they name must come from elsewhere in the same module tree.
    pub fn build_messages(self, on: bool) -> Self {
        self.set_bool("messages", on)
    }

    /// `bytes` fields as `bytes::Bytes` instead of `Vec<u8>` (plugin
    /// `bytes=bytes`).
    pub fn bytes(self, on: bool) -> Self {
        self.set("bytes", if on { "bytes" } else { "vec" })
    }

    /// Embed each file's descriptor in the generated code (default `true`;
    /// plugin `descriptors=`), for reflection and for reading options at
    /// run time: a `DESCRIPTOR_<FILE>` static per file, `FILE_DESCRIPTORS`
    /// per package, `XServer::file_descriptor()` per service. Off gives the
    /// smallest code; code that imports such files then cannot embed its
    /// own (their statics are missing).
    pub fn descriptors(self, on: bool) -> Self {
        self.set_bool("descriptors", on)
    }

    /// Embed descriptors with their `SourceCodeInfo` (comments and source
    /// spans) kept (plugin `descriptors=source_info`).
    pub fn descriptors_with_source_info(self) -> Self {
        self.set("descriptors", "source_info")
    }

    /// Generate protobuf's JSON mapping and text format for every message
    /// and enum (`rust_rpc::json`, `rust_rpc::text`; default `true`; plugin
    /// `text_formats=`). Off gives smaller code.
    pub fn text_formats(self, on: bool) -> Self {
        self.set_bool("text_formats", on)
    }

    /// Map fields as `BTreeMap` instead of `HashMap` (plugin `map=btree`).
    pub fn btree_map(self, on: bool) -> Self {
        self.set("map", if on { "btree" } else { "hash" })
    }

    /// An attribute for messages and enums whose full name is or starts with
    /// `path` (`.pkg.Message`, `.pkg` for a package, `.` for all), e.g.
    /// `#[derive(Eq, Hash)]` (plugin `type_attribute=`).
    pub fn type_attribute(self, path: &str, attribute: &str) -> Self {
        self.set("type_attribute", &format!("{path}={attribute}"))
    }

    /// An attribute for the field `path` (`.pkg.Message.field`), or every
    /// field under a prefix (plugin `field_attribute=`).
    pub fn field_attribute(self, path: &str, attribute: &str) -> Self {
        self.set("field_attribute", &format!("{path}={attribute}"))
    }

    /// Use the existing Rust types at `rust_path` for the proto package or
    /// message `proto_path` instead of generating them (plugin
    /// `extern_path=`). `.google.protobuf` maps to `rust_rpc::wkt` unless
    /// this names it; an empty `rust_path` for it turns the mapping off.
    pub fn extern_path(self, proto_path: &str, rust_path: &str) -> Self {
        self.set("extern_path", &format!("{proto_path}={rust_path}"))
    }

    /// The path generated code names the runtime by (default `::rust_rpc`;
    /// plugin `runtime=`), for a renamed or re-exported dependency.
    pub fn runtime_path(self, path: &str) -> Self {
        self.set("runtime", path)
    }

    /// Where to write the generated files (default: `OUT_DIR`).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Parse with protoc instead of the pure-Rust parser: the one given by
    /// the `PROTOC` environment variable, else `protoc` on `PATH`.
    pub fn protoc(mut self) -> Self {
        self.parser = Some(Parser::Protoc(None));
        self
    }

    /// Parse with the protoc at `path`.
    pub fn protoc_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.parser = Some(Parser::Protoc(Some(path.into())));
        self
    }

    /// Parse in pure Rust even when the `PROTOC` environment variable is
    /// set.
    pub fn pure(mut self) -> Self {
        self.parser = Some(Parser::Pure);
        self
    }

    /// Whether to print `cargo:rerun-if-changed` for every file read (the
    /// inputs and everything they import), so that cargo reruns the build
    /// script when one changes, and only then (default `true`).
    pub fn emit_rerun_if_changed(mut self, on: bool) -> Self {
        self.rerun_if_changed = on;
        self
    }

    /// Compiles `protos` (paths inside one of `includes`, e.g.
    /// `proto/greeter.proto` with `proto`) and writes one `<package>.rs` per
    /// proto package plus `mod.rs` to the output directory. Files whose
    /// content did not change are left alone.
    pub fn compile(
        self,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> Result<(), Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let out_dir = match self.out_dir {
            Some(dir) => dir,
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| {
                    Error::new(
                        "",
                        "OUT_DIR is not set: call this from a build script, or set `out_dir`",
                    )
                })?,
        };
        let protos: Vec<PathBuf> = protos.iter().map(|p| p.as_ref().to_owned()).collect();
        let includes: Vec<PathBuf> = includes.iter().map(|p| p.as_ref().to_owned()).collect();
        if self.rerun_if_changed {
            // Also when compiling fails, so that fixing a file reruns it.
            println!("cargo:rerun-if-env-changed=PROTOC");
            for p in &protos {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
        let parser = choose_parser(self.parser.as_ref(), std::env::var_os("PROTOC"));
        let (files, sources) =
            protoc_gen_rust_rpc::generate_from_files(&protos, &includes, &parser, &self.options)?;
        if self.rerun_if_changed {
            for source in sources.iter().filter(|s| !protos.contains(s)) {
                println!("cargo:rerun-if-changed={}", source.display());
            }
        }
        std::fs::create_dir_all(&out_dir)
            .map_err(|e| Error::new("", format!("cannot create {}: {e}", out_dir.display())))?;
        for file in files {
            let path = out_dir.join(&file.name);
            if std::fs::read(&path).is_ok_and(|old| old == file.content.as_bytes()) {
                continue;
            }
            std::fs::write(&path, file.content)
                .map_err(|e| Error::new("", format!("cannot write {}: {e}", path.display())))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protoc_variable_chooses_protoc_unless_told_otherwise() {
        assert_eq!(choose_parser(None, None), Parser::Pure);
        assert_eq!(choose_parser(None, Some(OsString::new())), Parser::Pure);
        assert_eq!(
            choose_parser(None, Some(OsString::from("/opt/protoc"))),
            Parser::Protoc(Some(PathBuf::from("/opt/protoc")))
        );
        assert_eq!(
            choose_parser(Some(&Parser::Pure), Some(OsString::from("/opt/protoc"))),
            Parser::Pure
        );
        assert_eq!(
            choose_parser(Some(&Parser::Protoc(None)), None),
            Parser::Protoc(None)
        );
    }
}
