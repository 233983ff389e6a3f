//! The front end: `.proto` files on disk to the descriptors the generator
//! reads, in pure Rust or through protoc.
//!
//! The pure front end needs no protoc on the machine and reads proto2,
//! proto3 and edition 2023 files into the very `FileDescriptorSet` protoc
//! would write for them (comments included), so code generated either way
//! is the same byte for byte: `src/parse/pure.rs` describes its stages.
//!
//! Both `protoc-gen-rust-rpc --proto_path DIR --out DIR a.proto` and
//! `rust-rpc-build` come through [`parse`].

mod canonical;
mod interpret;
pub(crate) mod link;
pub(crate) mod literal;
mod pure;
mod syntax;
mod text;
mod tokenizer;
mod validate;

use std::path::{Path, PathBuf};

use crate::Error;

/// Which parser reads the `.proto` files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Parser {
    /// rust-rpc's own, in pure Rust.
    #[default]
    Pure,
    /// protoc at this path, or found as [`find_protoc`] says when `None`.
    Protoc(Option<PathBuf>),
}

/// What [`parse`] read.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// An encoded `FileDescriptorSet`: the files asked for and everything
    /// they import, dependencies first, with `SourceCodeInfo`.
    pub descriptor_set: Vec<u8>,
    /// The proto names (paths relative to their include directory) of the
    /// files asked for, in the order given.
    pub files: Vec<String>,
    /// Every file read from disk, the files asked for and their imports, for
    /// a build script's `cargo:rerun-if-changed`.
    pub sources: Vec<PathBuf>,
}

/// protoc to use: `explicit` if given, else `$PROTOC`, else `protoc` on
/// `PATH`; `None` if there is none.
pub fn find_protoc(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_owned());
    }
    if let Some(p) = std::env::var_os("PROTOC").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let name = if cfg!(windows) {
        "protoc.exe"
    } else {
        "protoc"
    };
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Reads `inputs` (paths on disk inside one of `includes`, or names
/// relative to one of them) and everything they import, with `parser`.
pub fn parse(inputs: &[PathBuf], includes: &[PathBuf], parser: &Parser) -> Result<Parsed, Error> {
    if inputs.is_empty() {
        return Err(Error::new("", "no .proto files to compile"));
    }
    let mut files = Vec::new();
    for input in inputs {
        files.push(proto_name(input, includes)?);
    }
    match parser {
        Parser::Pure => {
            let sources = pure::read_all(&files, includes)?;
            let on_disk = sources.iter().filter_map(|s| s.path.clone()).collect();
            Ok(Parsed {
                descriptor_set: pure::descriptor_set(sources)?,
                files,
                sources: on_disk,
            })
        }
        Parser::Protoc(explicit) => {
            let protoc = find_protoc(explicit.as_deref()).ok_or_else(|| {
                Error::new(
                    "",
                    "protoc was asked for but none was found: set PROTOC or put protoc on PATH",
                )
            })?;
            // protoc finds (and reports) imports itself.
            let sources = pure::sources_on_disk(&files, includes)?;
            Ok(Parsed {
                descriptor_set: protoc_descriptor_set(&protoc, includes, &files)?,
                files,
                sources,
            })
        }
    }
}

/// The proto name of `input`: its path relative to the include directory
/// that holds it, with `/` separators.
fn proto_name(input: &Path, includes: &[PathBuf]) -> Result<String, Error> {
    let shown = input.display().to_string();
    if input.is_file() {
        let absolute = std::fs::canonicalize(input)
            .map_err(|e| Error::new(&shown, format!("cannot read it: {e}")))?;
        for include in includes {
            let Ok(dir) = std::fs::canonicalize(include) else {
                continue;
            };
            if let Ok(rest) = absolute.strip_prefix(&dir) {
                return slash_path(rest).ok_or_else(|| Error::new(&shown, "the path is not UTF-8"));
            }
        }
        return Err(Error::new(
            &shown,
            format!(
                "the file is in none of the include directories ({}); every input must be \
                 under one of them, which gives its proto name",
                list(includes)
            ),
        ));
    }
    let name = slash_path(input).ok_or_else(|| Error::new(&shown, "the path is not UTF-8"))?;
    if includes.iter().any(|dir| dir.join(input).is_file()) {
        return Ok(name);
    }
    Err(Error::new(
        &shown,
        format!(
            "no such file, nor in the include directories ({})",
            list(includes)
        ),
    ))
}

fn slash_path(p: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = p
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_str())
        .collect();
    Some(parts?.join("/"))
}

fn list(includes: &[PathBuf]) -> String {
    if includes.is_empty() {
        return "none given".to_owned();
    }
    includes
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a path is named in messages: as given, but `./a.proto` (include `.`)
/// as `a.proto`.
fn shown(path: &Path) -> String {
    without_dot(&path.display().to_string()).to_owned()
}

fn without_dot(path: &str) -> &str {
    path.strip_prefix("./").unwrap_or(path)
}

/// 1-based line and column just after `prefix`.
fn position_of(prefix: &[u8]) -> (usize, usize) {
    let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = prefix
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&prefix[start..]).chars().count() + 1;
    (line, column)
}

/// The text of the `.proto` file at `path`.
fn read_text(path: &Path) -> Result<String, Error> {
    let shown = shown(path);
    let bytes =
        std::fs::read(path).map_err(|e| Error::new(&shown, format!("cannot read it: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let (line, column) = position_of(&e.as_bytes()[..e.utf8_error().valid_up_to()]);
        Error::at(&shown, line, column, "the file is not valid UTF-8")
    })
}

/// Runs protoc on `files` for their descriptors, comments included.
pub fn protoc_descriptor_set(
    protoc: &Path,
    includes: &[PathBuf],
    files: &[String],
) -> Result<Vec<u8>, Error> {
    let dir = std::env::temp_dir().join(format!(
        "rust-rpc-protoc-{}-{}",
        std::process::id(),
        unique()
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new("", format!("cannot create {}: {e}", dir.display())))?;
    let set = dir.join("descriptors.pb");
    let mut cmd = std::process::Command::new(protoc);
    for include in includes {
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
            // protoc's own messages already read `file:line:column: message`.
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
    bytes
}

fn unique() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory with `files` (name, text) in it.
    fn dir_with(files: &[(&str, &str)]) -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rust-rpc-parse-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn error_of(files: &[(&str, &str)], input: &str) -> String {
        let dir = dir_with(files);
        let e = parse(
            &[dir.join(input)],
            std::slice::from_ref(&dir),
            &Parser::Pure,
        )
        .expect_err("a bad file");
        std::fs::remove_dir_all(&dir).ok();
        // Paths are shown as given: drop the scratch directory.
        e.to_string().replace(
            &format!("{}{}", dir.display(), std::path::MAIN_SEPARATOR),
            "",
        )
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let e = error_of(
            &[(
                "a.proto",
                "syntax = \"proto3\";\nmessage M {\n  int32 x = 1\n  string y = 2;\n}\n",
            )],
            "a.proto",
        );
        assert_eq!(
            e,
            "a.proto:4:3: expected `;` after the field, found `string`"
        );
    }

    #[test]
    fn unknown_types_point_at_the_name() {
        let e = error_of(
            &[(
                "a.proto",
                "syntax = \"proto3\";\nmessage M {\n  Missing x = 1;\n}\n",
            )],
            "a.proto",
        );
        assert!(e.starts_with("a.proto:3:3: "), "{e}");
        assert!(e.contains("`Missing`"), "{e}");
    }

    #[test]
    fn missing_imports_point_at_the_import() {
        let e = error_of(
            &[(
                "a.proto",
                "syntax = \"proto3\";\n\nimport \"b/gone.proto\";\n",
            )],
            "a.proto",
        );
        assert!(
            e.starts_with("a.proto:3:1: import \"b/gone.proto\" was not found"),
            "{e}"
        );
    }

    #[test]
    fn editions_are_read_without_protoc() {
        use rust_rpc::Message as _;
        let dir = dir_with(&[
            (
                "a.proto",
                "syntax = \"proto3\";\nimport \"e.proto\";\nmessage A { E e = 1; }\n",
            ),
            (
                "e.proto",
                "edition = \"2023\";\noption features.field_presence = IMPLICIT;\nmessage E { int32 x = 1 [features.field_presence = EXPLICIT]; }\n",
            ),
        ]);
        let parsed = parse(
            &[dir.join("a.proto")],
            std::slice::from_ref(&dir),
            &Parser::Pure,
        )
        .expect("editions need no protoc");
        let set = rust_rpc::wkt::FileDescriptorSet::decode_slice(&parsed.descriptor_set).unwrap();
        let e = set.file.iter().find(|f| f.name() == "e.proto").unwrap();
        assert_eq!(e.syntax(), "editions");
        assert_eq!(e.edition, Some(rust_rpc::wkt::Edition::Edition2023));
        let features = |o: Option<&rust_rpc::wkt::FeatureSet>| o.and_then(|f| f.field_presence);
        use rust_rpc::wkt::feature_set::FieldPresence;
        assert_eq!(
            features(e.options.as_ref().and_then(|o| o.features.as_ref())),
            Some(FieldPresence::Implicit)
        );
        let x = &e.message_type[0].field[0];
        assert_eq!(
            features(x.options.as_ref().and_then(|o| o.features.as_ref())),
            Some(FieldPresence::Explicit)
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    /// What protoc rejects, the pure front end rejects too, at the place
    /// and with the reason.
    #[test]
    fn protoc_rules_are_checked_without_protoc() {
        let cases: &[(&str, &str)] = &[
            (
                "message M {\n  int32 a = 1;\n  int32 b = 1;\n}\n",
                "a.proto:4:3: field `b`: number 1 is already used by `a`",
            ),
            (
                "message M {\n  int32 a = 1;\n  string a = 2;\n}\n",
                "a.proto:4:3: `M.a` is already defined in this file",
            ),
            (
                "message M {\n  int32 a = 0;\n}\n",
                "a.proto:3:3: field `a`: number 0 is out of range (1 to 536870911)",
            ),
            (
                "message M {\n  int32 a = 19500;\n}\n",
                "a.proto:3:3: field `a`: numbers 19000 to 19999 are reserved for the protobuf implementation",
            ),
            (
                "message M {\n  reserved 2, 5 to 7;\n  int32 a = 6;\n}\n",
                "a.proto:4:3: field `a`: number 6 is reserved",
            ),
            (
                "message M {\n  reserved \"a\";\n  int32 a = 1;\n}\n",
                "a.proto:4:3: field name `a` is reserved",
            ),
            (
                "message M {}\nmessage M {}\n",
                "a.proto:3:1: `M` is already defined in this file",
            ),
            (
                "enum E {\n  A = 1;\n}\n",
                "a.proto:3:3: enum `E`: the first value must be zero in proto3 (it is `A` = 1)",
            ),
            (
                "enum E {\n  A = 0;\n  B = 0;\n}\n",
                "a.proto:4:3: enum value `B`: number 0 is already used by `A` (set `option allow_alias = true;` to allow aliases)",
            ),
            (
                "enum E { E_A = 0; }\nenum F { E_A = 0; }\n",
                "a.proto:3:10: `E_A` is already defined in this file (enum values are siblings of their enum, as in C++: two enums in one scope can't share a value name)",
            ),
            (
                "message M {}\nservice S {\n  rpc Get(M) returns (M);\n  rpc Get(M) returns (M);\n}\n",
                "a.proto:5:3: `S.Get` is already defined in this file",
            ),
            (
                "message M { int32 x = 1; }\nservice S { rpc A(M) returns (Nope); }\n",
                "a.proto:3:31: type `Nope` is not defined",
            ),
        ];
        let mut wrong = Vec::new();
        for (body, expected) in cases {
            let text = format!("syntax = \"proto3\";\n{body}");
            let got = error_of(&[("a.proto", &text)], "a.proto");
            if got != *expected {
                wrong.push(format!(
                    "for:\n{text}\n  got:      {got}\n  expected: {expected}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // Aliases are fine when allowed.
        let dir = dir_with(&[(
            "ok.proto",
            "syntax = \"proto3\";\nenum E {\n  option allow_alias = true;\n  A = 0;\n  B = 0;\n}\n",
        )]);
        parse(
            &[dir.join("ok.proto")],
            std::slice::from_ref(&dir),
            &Parser::Pure,
        )
        .expect("allow_alias allows aliases");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn inputs_outside_the_include_directories_are_errors() {
        let dir = dir_with(&[("in/a.proto", "syntax = \"proto3\";\n")]);
        let e = parse(
            &[dir.join("in/a.proto")],
            &[dir.join("elsewhere")],
            &Parser::Pure,
        )
        .unwrap_err();
        assert!(
            e.message.contains("in none of the include directories"),
            "{e}"
        );
        let e = parse(
            &[PathBuf::from("nope.proto")],
            std::slice::from_ref(&dir),
            &Parser::Pure,
        )
        .unwrap_err();
        assert!(e.message.contains("no such file"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn names_sources_and_dependency_order() {
        let dir = dir_with(&[
            (
                "pkg/a.proto",
                "syntax = \"proto3\";\nimport \"pkg/b.proto\";\nimport \"google/protobuf/empty.proto\";\nmessage A { B b = 1; }\n",
            ),
            ("pkg/b.proto", "syntax = \"proto3\";\nmessage B {}\n"),
        ]);
        // Given by path on disk, or by name relative to an include.
        for input in [dir.join("pkg/a.proto"), PathBuf::from("pkg/a.proto")] {
            let parsed = parse(&[input], std::slice::from_ref(&dir), &Parser::Pure).unwrap();
            assert_eq!(parsed.files, ["pkg/a.proto"]);
            assert_eq!(
                parsed.sources,
                [dir.join("pkg/a.proto"), dir.join("pkg/b.proto")]
            );
            let set = <rust_rpc::wkt::FileDescriptorSet as rust_rpc::Message>::decode_slice(
                &parsed.descriptor_set,
            )
            .unwrap();
            let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
            let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
            assert!(pos("pkg/b.proto") < pos("pkg/a.proto"), "{names:?}");
            assert!(
                pos("google/protobuf/empty.proto") < pos("pkg/a.proto"),
                "{names:?}"
            );
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
