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
pub mod resolve;

use std::fmt;

use prost::Message as _;
use prost_types::FileDescriptorProto;
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse, code_generator_response};
use rust_rpc_templates::model::Config;

pub use options::Options;

/// A generation failure: the file it concerns and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The `.proto` file (may be empty when no single file is to blame).
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl Error {
    /// An error about `file`.
    pub fn new(file: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.file.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
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

/// Feature bits of `CodeGeneratorResponse.Feature`.
const FEATURE_PROTO3_OPTIONAL: u64 = 1;
const FEATURE_SUPPORTS_EDITIONS: u64 = 2;

/// Generates code for `generate` (file names) out of `files` (all files
/// and their imports, dependencies first, as protoc sends them), with the
/// edition data of each file in `extras`.
pub fn generate(
    files: &[FileDescriptorProto],
    extras: &[features::FileExtras],
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
    let mut resolver = resolve::Resolver::new(files, extras, generate, options)?;
    let packages = resolver.packages(generate)?;
    let config = Config {
        runtime: options.runtime.clone(),
        bytes_as_bytes: options.bytes_as_bytes,
        btree_map: options.btree_map,
        client: options.client,
        server: options.server,
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
    let set = prost_types::FileDescriptorSet::decode(bytes)
        .map_err(|e| Error::new("", format!("cannot decode the descriptor set: {e}")))?;
    let extras = features::files_in(bytes, 1)
        .map_err(|e| Error::new("", format!("cannot decode the descriptor set: {e}")))?;
    generate(&set.file, &extras, to_generate, options)
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
    let response = CodeGeneratorResponse {
        supported_features: Some(FEATURE_PROTO3_OPTIONAL | FEATURE_SUPPORTS_EDITIONS),
        ..response
    };
    let mut out = response.encode_to_vec();
    // prost-types has no `minimum_edition` (3) / `maximum_edition` (4);
    // append them as raw varint fields (field order is free on the wire).
    for (field, edition) in [
        (3u8, features::EDITION_PROTO2),
        (4u8, features::EDITION_2023),
    ] {
        out.push(field << 3);
        let mut v = edition as u64;
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    out
}

fn run_plugin(request: &[u8]) -> Result<Vec<GeneratedFile>, Error> {
    let req = CodeGeneratorRequest::decode(request)
        .map_err(|e| Error::new("", format!("cannot decode the CodeGeneratorRequest: {e}")))?;
    let extras = features::files_in(request, 15)
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
    generate(&req.proto_file, &extras, &req.file_to_generate, &options)
}

/// Runs `protoc` on `files` (paths relative to one of `include_dirs`) to get
/// their descriptors, comments included, and generates code for them: what a
/// `build.rs` needs until `rust-rpc-build` arrives.
pub fn generate_with_protoc(
    protoc: &std::path::Path,
    include_dirs: &[std::path::PathBuf],
    files: &[String],
    options: &Options,
) -> Result<Vec<GeneratedFile>, Error> {
    let dir = std::env::temp_dir().join(format!(
        "rust-rpc-protoc-{}-{}",
        std::process::id(),
        unique()
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new("", format!("cannot create {}: {e}", dir.display())))?;
    let set = dir.join("descriptors.pb");
    let mut cmd = std::process::Command::new(protoc);
    for include in include_dirs {
        cmd.arg("-I").arg(include);
    }
    cmd.arg("--include_imports")
        .arg("--include_source_info")
        .arg(format!("--descriptor_set_out={}", set.display()))
        .args(files);
    let result = cmd
        .output()
        .map_err(|e| Error::new("", format!("cannot run protoc ({}): {e}", protoc.display())));
    let bytes = result.and_then(|out| {
        if out.status.success() {
            std::fs::read(&set)
                .map_err(|e| Error::new("", format!("cannot read protoc's output: {e}")))
        } else {
            Err(Error::new(
                "",
                format!(
                    "protoc failed:\n{}",
                    String::from_utf8_lossy(&out.stderr).trim_end()
                ),
            ))
        }
    });
    std::fs::remove_dir_all(&dir).ok();
    generate_from_descriptor_set(&bytes?, files, options)
}

fn unique() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
