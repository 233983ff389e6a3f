//! A new crate that depends on `rust-rpc` and `rust-rpc-build` by path, with
//! protoc out of reach (a failing `protoc` first on `PATH` that records any
//! call, `PROTOC` unset; the test fails if it was called), builds a service
//! from `build.rs` and serves it: the client it generated calls the server
//! it generated over loopback; then it reads a custom option off the
//! descriptor it embeds, sets and reads an extension on a message with
//! a `DescriptorProto` field, and round-trips a message of an edition 2023
//! file (features at field level). First with a broken `.proto`, which must fail
//! the build with `file:line:column: reason` and no panic, then fixed. And
//! the README's quick start, as it stands there, builds and runs the same
//! way.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("build-support is in the workspace")
        .to_owned()
}

const HELLO_OK: &str = r#"syntax = "proto3";

package hello.v1;

import "hello/v1/common.proto";

// Greets people.
service Greeter {
  // Answers a greeting.
  rpc SayHello(HelloRequest) returns (HelloReply);
}

// Whom to greet.
message HelloRequest {
  // Their name.
  string name = 1;
}

// The greeting.
message HelloReply {
  // What to say.
  string message = 1;
  // When it was said.
  Stamp at = 2;
}
"#;

const COMMON: &str = r#"syntax = "proto3";

package hello.v1;

// A point in time, in seconds.
message Stamp {
  // Seconds since the epoch.
  int64 seconds = 1;
}
"#;

const OPTIONS: &str = r#"syntax = "proto2";

package hello.v1;

import "google/protobuf/descriptor.proto";

// How loud a message is meant to be said: a custom option.
extend google.protobuf.MessageOptions {
  optional int32 volume = 50100;
}

// Said loudly.
message Loud {
  option (volume) = 11;
}

// A schema carried with its data, and who sent it (an extension).
message Schema {
  optional google.protobuf.DescriptorProto type = 1;
  extensions 100 to 200;
}

extend Schema {
  optional string origin = 100;
}
"#;

const EDITION: &str = r#"edition = "2023";

package hello.v1;

import "hello/v1/common.proto";

// A note kept with a greeting, written in edition 2023.
message Note {
  // Explicit presence: the editions default.
  string text = 1;
  // Implicit presence, as proto3 scalars have.
  int32 priority = 2 [features.field_presence = IMPLICIT];
  // A message encoded as a group.
  Stamp at = 3 [features.message_encoding = DELIMITED];
}
"#;

const MAIN: &str = r#"#![deny(warnings)]
//! Serves the Greeter it generated, and calls it.

/// Generated from proto/hello/v1/*.proto by build.rs.
pub mod hello {
    rust_rpc::include_proto!("hello.v1");
}

use hello::{Greeter, GreeterClient, GreeterServer, HelloReply, HelloRequest, Stamp};
use rust_rpc::transport::{Request, Response, Server, Status};
use rust_rpc::{Extendable, Message};

struct Hi;

impl Greeter for Hi {
    async fn say_hello(&self, request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let name = request.into_inner().name;
        Ok(Response::new(HelloReply {
            message: format!("Hello, {name}!"),
            at: Some(Stamp { seconds: 42, ..Default::default() }),
            ..Default::default()
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::builder()
            .add_service(GreeterServer::new(Hi))
            .serve_with_listener(listener, async {
                stopped.await.ok();
            }),
    );
    let mut client = GreeterClient::connect(format!("http://{addr}")).await?;
    let reply = client
        .say_hello(HelloRequest { name: "new crate".into(), ..Default::default() })
        .await?
        .into_inner();
    println!("{} (at {})", reply.message, reply.at.map_or(0, |s| s.seconds));

    // A custom option, read off the descriptor the generated code embeds.
    let file = hello::DESCRIPTOR_HELLO_V1_OPTIONS.decode()?;
    let volume = file
        .message_type
        .iter()
        .find(|m| m.name() == "Loud")
        .and_then(|m| m.options.as_ref())
        .and_then(|o| o.extension(&hello::VOLUME));
    // A descriptor-typed field and an extension, set and read back.
    let mut schema = hello::Schema {
        r#type: Some(rust_rpc::wkt::DescriptorProto { name: Some("Row".into()), ..Default::default() }),
        ..Default::default()
    };
    schema.set_extension(&hello::ORIGIN, "build.rs".to_owned());
    let back = hello::Schema::decode_slice(&schema.encode_to_vec())?;
    println!(
        "volume {volume:?}, origin {:?}, type {:?}",
        back.extension(&hello::ORIGIN),
        back.r#type.as_ref().map(|t| t.name()),
    );
    // A message of an editions file, encoded and read back.
    let note = hello::Note {
        text: Some("hi".into()),
        priority: 3,
        at: Some(Stamp { seconds: 7, ..Default::default() }),
        ..Default::default()
    };
    let back = hello::Note::decode_slice(&note.encode_to_vec())?;
    println!("note {:?} {} {:?}", back.text(), back.priority, back.at.as_ref().map(|s| s.seconds));
    stop.send(()).ok();
    server.await??;
    Ok(())
}
"#;

/// A `protoc` that must never run: first on `PATH` (so that a protoc
/// installed anywhere else, `/usr/bin` included, is hidden behind it while
/// `cc` and the rest of the toolchain stay reachable), it records that it
/// was called and fails.
struct ProtocTrap {
    dir: PathBuf,
    calls: PathBuf,
}

impl ProtocTrap {
    fn new(name: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!(
            "rust-rpc-protoc-trap-{name}-{}",
            std::process::id()
        ));
        fs::remove_dir_all(&dir).ok();
        fs::create_dir_all(&dir).expect("trap dir");
        let calls = dir.join("calls");
        let script = dir.join("protoc");
        fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"protoc $*\" >> '{}'\necho 'protoc is not to be used here' >&2\nexit 1\n",
                calls.display()
            ),
        )
        .expect("trap script");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
        Self { dir, calls }
    }

    /// `PATH` with the trap in front.
    fn path(&self) -> std::ffi::OsString {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let dirs = std::iter::once(self.dir.clone()).chain(std::env::split_paths(&path));
        std::env::join_paths(dirs).expect("PATH entries join")
    }

    fn assert_never_called(&self) {
        if let Ok(calls) = fs::read_to_string(&self.calls) {
            panic!("protoc was called, but nothing here may need it:\n{calls}");
        }
    }
}

impl Drop for ProtocTrap {
    fn drop(&mut self) {
        fs::remove_dir_all(&self.dir).ok();
    }
}

/// A scratch crate directory with `files` (path, text) in it and the
/// workspace's `Cargo.lock`, so that nothing new is resolved.
fn new_crate(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rust-rpc-{name}-{}", std::process::id()));
    fs::remove_dir_all(&dir).ok();
    for (path, text) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().expect("a parent")).expect("crate dir");
        fs::write(path, text).expect("write a crate file");
    }
    fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).expect("Cargo.lock");
    dir
}

/// Runs cargo in `crate_dir` with protoc out of reach (behind `trap`), and
/// checks that nothing tried to run one.
fn cargo(crate_dir: &Path, trap: &ProtocTrap, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(crate_dir)
        .env("PATH", trap.path())
        .env_remove("PROTOC")
        // Its own target directory, kept between runs, beside the
        // workspace's.
        .env(
            "CARGO_TARGET_DIR",
            workspace().join("target/new-crate-test"),
        )
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    trap.assert_never_called();
    out
}

#[test]
fn a_new_crate_builds_and_serves_a_proto_without_protoc() {
    let root = workspace();
    let manifest = format!(
        r#"[package]
name = "fresh-greeter"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
rust-rpc = {{ path = "{runtime}" }}
tokio = {{ version = "1", features = ["rt-multi-thread", "macros", "net", "sync"] }}

[build-dependencies]
rust-rpc-build = {{ path = "{build}" }}

[workspace]
"#,
        runtime = root.join("runtime").display(),
        build = root.join("build-support").display(),
    );
    let build_rs = "fn main() -> Result<(), rust_rpc_build::Error> {\n    \
         rust_rpc_build::configure().compile(\n        \
         &[\"proto/hello/v1/hello.proto\", \"proto/hello/v1/common.proto\", \"proto/hello/v1/options.proto\", \"proto/hello/v1/edition.proto\"],\n        \
         &[\"proto\"],\n    )\n}\n";
    let trap = ProtocTrap::new("new-crate");
    let dir = new_crate(
        "new-crate",
        &[
            ("Cargo.toml", &manifest),
            ("build.rs", build_rs),
            ("src/main.rs", MAIN),
            ("proto/hello/v1/common.proto", COMMON),
            ("proto/hello/v1/options.proto", OPTIONS),
            ("proto/hello/v1/edition.proto", EDITION),
        ],
    );

    // Broken: a field without its number.
    let broken = HELLO_OK.replace("string name = 1;", "string name = ;");
    fs::write(dir.join("proto/hello/v1/hello.proto"), broken).expect("hello.proto");
    let out = cargo(&dir, &trap, &["build", "--quiet"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a broken .proto must fail the build");
    assert!(
        stderr.contains("proto/hello/v1/hello.proto:16:17: "),
        "the error names file:line:column:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "no panic trace:\n{stderr}");

    // Fixed: it builds, and the generated client talks to the generated server.
    fs::write(dir.join("proto/hello/v1/hello.proto"), HELLO_OK).expect("hello.proto");
    let out = cargo(&dir, &trap, &["run", "--quiet"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the new crate builds and runs:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.trim(),
        "Hello, new crate! (at 42)\n\
         volume Some(11), origin Some(\"build.rs\"), type Some(\"Row\")\n\
         note \"hi\" 3 Some(7)"
    );

    // Cargo was told to rerun the build script when the input or its import changes.
    let build_dir = workspace().join("target/new-crate-test/debug/build");
    let outputs: Vec<String> = fs::read_dir(&build_dir)
        .expect("build dir")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("fresh-greeter-")
        })
        .filter_map(|e| fs::read_to_string(e.path().join("output")).ok())
        .collect();
    assert!(
        outputs.iter().any(|o| {
            o.contains("cargo:rerun-if-changed=proto/hello/v1/hello.proto")
                && o.contains("cargo:rerun-if-changed=proto/hello/v1/common.proto")
        }),
        "rerun-if-changed for the input and its import: {outputs:?}"
    );
    fs::remove_dir_all(&dir).ok();
}

/// The code blocks of the README's quick start, in order: Cargo.toml's
/// dependencies, the .proto, build.rs, src/main.rs.
fn quick_start_blocks() -> Vec<String> {
    let readme = fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let start = readme
        .find("## Quick start")
        .expect("a quick start section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        match (&mut current, line.trim_start().starts_with("```")) {
            (None, true) => current = Some(String::new()),
            (Some(_), true) => blocks.push(current.take().expect("a block")),
            (Some(block), false) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, false) => {}
        }
    }
    blocks
}

#[test]
fn the_readme_quick_start_builds_and_runs() {
    let blocks = quick_start_blocks();
    assert_eq!(
        blocks.len(),
        4,
        "Cargo.toml, .proto, build.rs, main.rs: {blocks:#?}"
    );
    let root = workspace();
    let dependencies = blocks[0]
        .replace(
            "../rust-rpc/runtime",
            &root.join("runtime").display().to_string(),
        )
        .replace(
            "../rust-rpc/build-support",
            &root.join("build-support").display().to_string(),
        );
    assert_ne!(
        dependencies, blocks[0],
        "the README's dependencies name the crates by path"
    );
    let manifest = format!(
        "[package]\nname = \"readme-quick-start\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n{dependencies}\n[workspace]\n"
    );
    let trap = ProtocTrap::new("readme");
    let dir = new_crate(
        "readme-quick-start",
        &[
            ("Cargo.toml", &manifest),
            ("proto/greeter/v1/greeter.proto", &blocks[1]),
            ("build.rs", &blocks[2]),
            ("src/main.rs", &blocks[3]),
        ],
    );
    let out = cargo(&dir, &trap, &["run", "--quiet"]);
    assert!(
        out.status.success(),
        "the README's quick start builds and runs:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Hello, Ada!");
    fs::remove_dir_all(&dir).ok();
}
