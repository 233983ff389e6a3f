//! protoc-gen-rust-rpc: generates Rust protobuf messages for rust-rpc.
//!
//! The plugin is a pure function from a `CodeGeneratorRequest` to a
//! `CodeGeneratorResponse` ([`plugin_response`]); `main` only moves bytes
//! between stdin and stdout. Descriptors are resolved once into the model of
//! `rust-rpc-templates` ([`resolve`]), emitted as tokens, and formatted
//! ([`output`]).

pub mod comments;
pub mod features;
pub mod naming;
pub mod options;
pub mod output;
pub mod parse;
pub mod resolve;

use std::fmt;

use rust_rpc::Message as _;
use rust_rpc::wkt::compiler::code_generator_response::{self, Feature};
use rust_rpc::wkt::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};
use rust_rpc::wkt::{FileDescriptorProto, FileDescriptorSet};
use rust_rpc_templates::model::Config;

pub use options::{Descriptors, Options};

/// A generation failure: the file it concerns, where in it when known, and
/// what is wrong. Displayed as `file:line:column: message`, the form
/// compilers and editors understand.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    /// The `.proto` file (may be empty when no single file is to blame).
    pub file: String,
    /// 1-based line and column in `file`, when known.
    pub position: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl Error {
    /// An error about `file`.
    pub fn new(file: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            position: None,
            message: message.into(),
        }
    }

    /// An error at 1-based `line` and `column` of `file`.
    pub fn at(file: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        Self {
            position: Some((line, column)),
            ..Self::new(file, message)
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.file.is_empty(), self.position) {
            (true, _) => f.write_str(&self.message),
            (false, None) => write!(f, "{}: {}", self.file, self.message),
            (false, Some((line, column))) => {
                write!(f, "{}:{line}:{column}: {}", self.file, self.message)
            }
        }
    }
}

// `Debug` reads like `Display`: a build script that returns this error, or
// unwraps it, then shows the message instead of a struct dump.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the output directory.
    pub name: String,
    /// Its contents.
    pub content: String,
}

/// Generates code for `generate` (file names) out of `files` (all files
/// and their imports, dependencies first, as protoc sends them).
pub fn generate(
    files: &[FileDescriptorProto],
    generate: &[String],
    options: &Options,
) -> Result<Vec<GeneratedFile>, Error> {
    for name in generate {
        if !files.iter().any(|f| f.name() == name) {
            return Err(Error::new(
                name,
                "file to generate is missing from the request",
            ));
        }
    }
    let mut resolver = resolve::Resolver::new(files, generate, options)?;
    let packages = resolver.packages(generate)?;
    let config = Config {
        runtime: options.runtime.clone(),
        bytes_as_bytes: options.bytes_as_bytes,
        btree_map: options.btree_map,
        client: options.client,
        server: options.server,
        messages: options.messages,
        text_formats: options.text_formats,
    };
    let mut out = Vec::new();
    for p in &packages {
        let tokens = rust_rpc_templates::file::emit(&config, p);
        out.push(output::format_package(p, tokens)?);
    }
    out.push(output::mod_file(&packages));
    Ok(out)
}

/// Generates from an encoded `FileDescriptorSet` (as `protoc
/// --descriptor_set_out --include_imports` writes it).
pub fn generate_from_descriptor_set(
    bytes: &[u8],
    to_generate: &[String],
    options: &Options,
) -> Result<Vec<GeneratedFile>, Error> {
    let set = FileDescriptorSet::decode_slice(bytes)
        .map_err(|e| Error::new("", format!("cannot decode the descriptor set: {e}")))?;
    generate(&set.file, to_generate, options)
}

/// The plugin: an encoded `CodeGeneratorRequest` in, an encoded
/// `CodeGeneratorResponse` out. Failures are reported in the response's
/// `error` field, as the plugin protocol asks.
pub fn plugin_response(request: &[u8]) -> Vec<u8> {
    let response = match run_plugin(request) {
        Ok(files) => CodeGeneratorResponse {
            file: files
                .into_iter()
                .map(|f| code_generator_response::File {
                    name: Some(f.name),
                    content: Some(f.content),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
        Err(e) => CodeGeneratorResponse {
            error: Some(e.to_string()),
            ..Default::default()
        },
    };
    CodeGeneratorResponse {
        supported_features: Some(Feature::Proto3Optional as u64 | Feature::SupportsEditions as u64),
        minimum_edition: Some(features::MINIMUM_EDITION as i32),
        maximum_edition: Some(features::MAXIMUM_EDITION as i32),
        ..response
    }
    .encode_to_vec()
}

fn run_plugin(request: &[u8]) -> Result<Vec<GeneratedFile>, Error> {
    let req = CodeGeneratorRequest::decode_slice(request)
        .map_err(|e| Error::new("", format!("cannot decode the CodeGeneratorRequest: {e}")))?;
    let options = Options::parse(req.parameter()).map_err(|e| {
        Error::new(
            req.file_to_generate
                .first()
                .map(String::as_str)
                .unwrap_or(""),
            e.to_string(),
        )
    })?;
    generate(&req.proto_file, &req.file_to_generate, &options)
}

/// Runs `protoc` on `files` (paths relative to one of `include_dirs`) to get
/// their descriptors, comments included, and generates code for them.
pub fn generate_with_protoc(
    protoc: &std::path::Path,
    include_dirs: &[std::path::PathBuf],
    files: &[String],
    options: &Options,
) -> Result<Vec<GeneratedFile>, Error> {
    let bytes = parse::protoc_descriptor_set(protoc, include_dirs, files)?;
    generate_from_descriptor_set(&bytes, files, options)
}

/// Reads `inputs` (paths inside one of `include_dirs`, or names relative
/// to one) with `parser` and generates code for them: what
/// `protoc-gen-rust-rpc --proto_path` and `rust-rpc-build` run. Returns the
/// files and every source read (for `cargo:rerun-if-changed`).
pub fn generate_from_files(
    inputs: &[std::path::PathBuf],
    include_dirs: &[std::path::PathBuf],
    parser: &parse::Parser,
    options: &Options,
) -> Result<(Vec<GeneratedFile>, Vec<std::path::PathBuf>), Error> {
    let parsed = parse::parse(inputs, include_dirs, parser)?;
    let files = generate_from_descriptor_set(&parsed.descriptor_set, &parsed.files, options)?;
    Ok((files, parsed.sources))
}
