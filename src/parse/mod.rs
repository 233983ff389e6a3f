//! The front end: `.proto` files on disk to the descriptors the generator
//! reads, in pure Rust (`protobuf-parse`) or through protoc.
//!
//! The pure parser needs no protoc on the machine. It keeps no comments, so
//! a walker of the source text recovers them the way protoc would
//! attach them, and code generated either way is the same byte for byte. It
//! cannot read files that use editions (`edition = "2023"`); those go to
//! protoc when one can be found, with a clear error when none can.
//!
//! Both `protoc-gen-rust-rpc --proto_path DIR --out DIR a.proto` and
//! `rust-rpc-build` come through [`parse`].

mod canonical;
mod source_info;
mod tokenizer;
mod validate;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use protobuf::Message as _;
use rust_rpc::Message as _;

use crate::Error;

/// Which parser reads the `.proto` files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Parser {
    /// `protobuf-parse`, in pure Rust. Files that use editions go to protoc,
    /// found as [`find_protoc`] says.
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

/// The well-known types `protobuf-parse` carries, so they need no include
/// directory.
const BUILT_IN: &[&str] = &[
    "google/protobuf/any.proto",
    "google/protobuf/api.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/source_context.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/type.proto",
    "google/protobuf/wrappers.proto",
];

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

/// One file found on disk.
struct Source {
    /// Proto name, e.g. `pkg/a.proto`.
    name: String,
    /// Where it was read from.
    path: PathBuf,
    text: String,
    decls: source_info::Declarations,
}

/// Reads `inputs` (paths on disk inside one of `includes`, or names
/// relative to one of them) and everything they import, with `parser`.
pub fn parse(inputs: &[PathBuf], includes: &[PathBuf], parser: &Parser) -> Result<Parsed, Error> {
    parse_with(inputs, includes, parser, &find_protoc)
}

/// [`parse`], with `find` in place of [`find_protoc`].
fn parse_with(
    inputs: &[PathBuf],
    includes: &[PathBuf],
    parser: &Parser,
    find: &dyn Fn(Option<&Path>) -> Option<PathBuf>,
) -> Result<Parsed, Error> {
    if inputs.is_empty() {
        return Err(Error::new("", "no .proto files to compile"));
    }
    let mut files = Vec::new();
    for input in inputs {
        files.push(proto_name(input, includes)?);
    }
    // protoc finds (and reports) imports itself; the pure parser needs
    // every one on disk or built in.
    let sources = read_all(&files, includes, *parser == Parser::Pure)?;
    let sources_on_disk = sources.iter().map(|s| s.path.clone()).collect();
    let edition_file = sources.iter().find(|s| s.decls.edition);
    let protoc = match (parser, edition_file) {
        (Parser::Protoc(explicit), _) => Some(find(explicit.as_deref()).ok_or_else(|| {
            Error::new(
                "",
                "protoc was asked for but none was found: set PROTOC or put protoc on PATH",
            )
        })?),
        (Parser::Pure, Some(source)) => Some(find(None).ok_or_else(|| {
            Error::at(
                &shown(&source.path),
                1,
                1,
                "this file uses editions, which the pure-Rust parser cannot read yet; \
                 install protoc (or set PROTOC) to compile it",
            )
        })?),
        (Parser::Pure, None) => None,
    };
    let descriptor_set = match protoc {
        Some(protoc) => protoc_descriptor_set(&protoc, includes, &files)?,
        None => pure_descriptor_set(&files, includes, &sources)?,
    };
    Ok(Parsed {
        descriptor_set,
        files,
        sources: sources_on_disk,
    })
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

/// Finds and reads `files` and, transitively, what they import. Built-in
/// well-known types not found on disk are left to `protobuf-parse`; other
/// imports not found are an error if `strict`, else left to protoc.
fn read_all(files: &[String], includes: &[PathBuf], strict: bool) -> Result<Vec<Source>, Error> {
    let mut out: Vec<Source> = Vec::new();
    let mut seen = BTreeSet::new();
    // A file to read, and where it was imported (file, line, column).
    type Pending = (String, Option<(String, usize, usize)>);
    let mut queue: Vec<Pending> = files.iter().map(|f| (f.clone(), None)).collect();
    queue.reverse();
    while let Some((name, imported_at)) = queue.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(path) = includes.iter().map(|d| d.join(&name)).find(|p| p.is_file()) else {
            if BUILT_IN.contains(&name.as_str()) || (!strict && imported_at.is_some()) {
                continue;
            }
            let message = format!(
                "import {name:?} was not found in the include directories ({})",
                list(includes)
            );
            return Err(match imported_at {
                Some((file, line, column)) => Error::at(&file, line, column, message),
                None => Error::new(&name, message),
            });
        };
        let shown = shown(&path);
        let bytes =
            std::fs::read(&path).map_err(|e| Error::new(&shown, format!("cannot read it: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let (line, column) = position_of(&e.as_bytes()[..e.utf8_error().valid_up_to()]);
            Error::at(&shown, line, column, "the file is not valid UTF-8")
        })?;
        let decls = source_info::declarations(&text);
        for import in decls.imports.iter().rev() {
            queue.push((
                import.name.clone(),
                Some((shown.clone(), import.line + 1, import.column + 1)),
            ));
        }
        out.push(Source {
            name,
            path,
            text,
            decls,
        });
    }
    Ok(out)
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

fn pure_descriptor_set(
    files: &[String],
    includes: &[PathBuf],
    sources: &[Source],
) -> Result<Vec<u8>, Error> {
    let by_name: HashMap<&str, &Source> = sources.iter().map(|s| (s.name.as_str(), s)).collect();
    // protobuf-parse takes inputs as paths on disk.
    let inputs: Vec<&Path> = files
        .iter()
        .filter_map(|f| by_name.get(f.as_str()).map(|s| s.path.as_path()))
        .collect();
    // `parse_and_typecheck`, not `file_descriptor_set`: the latter keeps
    // only the inputs, and the generator needs their imports too.
    let parsed = protobuf_parse::Parser::new()
        .pure()
        .includes(includes)
        .inputs(inputs)
        .parse_and_typecheck()
        .map_err(|e| pure_error(&e, sources))?;
    let mut set = protobuf::descriptor::FileDescriptorSet::new();
    set.file = dependencies_first(parsed.file_descriptors);
    for file in &mut set.file {
        if let Some(source) = by_name.get(file.name()) {
            validate::check(file, &source.decls, &shown(&source.path))?;
            source_info::attach(file, &source.decls);
        }
    }
    let bytes = set
        .write_to_bytes()
        .map_err(|e| Error::new("", format!("cannot encode the descriptors: {e}")))?;
    let mut set = rust_rpc::wkt::FileDescriptorSet::decode_slice(&bytes)
        .map_err(|e| Error::new("", format!("cannot decode the descriptors: {e}")))?;
    canonical::canonicalize(&mut set);
    // protoc gives an rpc written with a body options, empty or not
    // (`rpc Wait(A) returns (B) {}`, as google/longrunning has); protobuf-parse
    // gives it none.
    for file in &mut set.file {
        let Some(source) = by_name.get(file.name()) else {
            continue;
        };
        for s in &mut file.service {
            let service = s.name().to_owned();
            for m in &mut s.method {
                let key = format!("{service}#{}", m.name());
                if m.options.is_none() && source.decls.method_bodies.contains(&key) {
                    m.options = Some(Default::default());
                }
            }
        }
    }
    Ok(set.encode_to_vec())
}

/// Orders files so that each comes after the files it imports, as protoc
/// does; otherwise keeps their order.
fn dependencies_first(
    files: Vec<protobuf::descriptor::FileDescriptorProto>,
) -> Vec<protobuf::descriptor::FileDescriptorProto> {
    fn visit(
        i: usize,
        files: &[protobuf::descriptor::FileDescriptorProto],
        index: &HashMap<&str, usize>,
        done: &mut Vec<bool>,
        order: &mut Vec<usize>,
    ) {
        if done[i] {
            return;
        }
        done[i] = true;
        for dep in &files[i].dependency {
            if let Some(&j) = index.get(dep.as_str()) {
                visit(j, files, index, done, order);
            }
        }
        order.push(i);
    }
    let index: HashMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name(), i))
        .collect();
    let mut done = vec![false; files.len()];
    let mut order = Vec::with_capacity(files.len());
    for i in 0..files.len() {
        visit(i, &files, &index, &mut done, &mut order);
    }
    drop(index);
    let mut slots: Vec<Option<_>> = files.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Turns a `protobuf-parse` error into `file:line:column: message`. Its
/// syntax errors carry a position; for its other errors (an unknown type, a
/// duplicate name) the position is that of the name they quote.
fn pure_error(e: &anyhow::Error, sources: &[Source]) -> Error {
    // The cause that names the file: "error in `path`: [at L:C: ]message".
    for cause in e.chain() {
        let text = cause.to_string();
        let Some(rest) = text.strip_prefix("error in `") else {
            continue;
        };
        let Some((file, message)) = rest.split_once("`: ") else {
            continue;
        };
        let file = without_dot(file);
        if let Some((line, column, message)) = parse_at(message) {
            return Error::at(file, line, column, message);
        }
        let source = sources
            .iter()
            .find(|s| s.path.ends_with(file) && file.ends_with(&s.name));
        if let Some(source) = source {
            if let Some(e) = non_unique_field(file, message, &source.decls) {
                return e;
            }
            if let Some((line, column)) = locate_quoted(&source.text, message) {
                return Error::at(file, line, column, readable(message));
            }
        }
        return Error::new(file, readable(message));
    }
    // No file named: the innermost cause says the most.
    let message = e
        .chain()
        .last()
        .map(ToString::to_string)
        .unwrap_or_default();
    Error::new("", message)
}

/// protobuf-parse says "Non-unique field name" for a reused field number,
/// a name declared twice, and two names with one JSON name alike; the
/// source tells which it is.
fn non_unique_field(file: &str, message: &str, decls: &source_info::Declarations) -> Option<Error> {
    let name = message
        .strip_prefix("Non-unique field name: `")?
        .strip_suffix('`')?;
    let suffix = format!("#{name}");
    let (key, declared) = decls.by_key.iter().find(|(k, _)| k.ends_with(&suffix))?;
    let scope = &key[..key.len() - suffix.len()];
    if let Some(again) = decls.again.get(key) {
        let (line, column) = again.position();
        return Some(Error::at(
            file,
            line,
            column,
            format!("field `{name}` is already defined in `{scope}`"),
        ));
    }
    let (line, column) = declared.position();
    let number = decls.numbers.get(key)?;
    let same_number = decls.numbers.iter().find(|(k, n)| {
        *n == number
            && *k != key
            && k.strip_prefix(scope)
                .is_some_and(|rest| rest.starts_with('#'))
    });
    let message = match same_number {
        Some((other, _)) => format!(
            "field `{name}`: number {number} is already used by `{}`",
            &other[scope.len() + 1..]
        ),
        None => format!(
            "field `{name}` has the same JSON name (lowerCamelCase) as another field of `{scope}`; \
             protoc allows that in proto2 only, and the pure-Rust parser not at all"
        ),
    };
    Some(Error::at(file, line, column, message))
}

/// protobuf-parse's wording, where a plainer one exists.
fn readable(message: &str) -> String {
    // "object is not found by path `Foo` in scope `.pkg.M`"
    if let Some(rest) = message.strip_prefix("object is not found by path `") {
        if let Some((name, scope)) = rest.split_once("` in scope `") {
            let scope = scope.trim_end_matches('`');
            return if scope.is_empty() {
                format!("unknown type `{name}`")
            } else {
                format!("unknown type `{name}` (looked up from `{scope}`)")
            };
        }
    }
    message.to_owned()
}

/// `at L:C: message` -> (L, C, message).
fn parse_at(message: &str) -> Option<(usize, usize, &str)> {
    let rest = message.strip_prefix("at ")?;
    let (position, message) = rest.split_once(": ")?;
    let (line, column) = position.split_once(':')?;
    Some((line.parse().ok()?, column.parse().ok()?, message))
}

/// Where the name quoted in `message` (between backticks) appears in
/// `text`, as 1-based line and column: its second declaration for a
/// duplicate, else its first use. A dotted name that does not appear whole
/// (`.pkg.Outer.Inner`) is looked for by ever shorter suffixes.
fn locate_quoted(text: &str, message: &str) -> Option<(usize, usize)> {
    let quoted = message.split('`').nth(1)?;
    let path: Vec<&str> = quoted.trim_start_matches('.').split('.').collect();
    let duplicate = message.contains("Non-unique") || message.contains("uplicate");
    let mut t = tokenizer::Tokenizer::new(text);
    let mut tokens = Vec::new();
    while t.next().kind != tokenizer::Kind::End {
        tokens.push(t.current());
    }
    (0..path.len()).find_map(|skip| {
        let path = &path[skip..];
        let hits: Vec<usize> = (0..tokens.len())
            .filter(|&i| {
                path.iter().enumerate().all(|(k, segment)| {
                    tokens
                        .get(i + 2 * k)
                        .is_some_and(|tok| tok.text == *segment)
                        && (k == 0 || tokens.get(i + 2 * k - 1).is_some_and(|tok| tok.text == "."))
                })
            })
            .collect();
        let hit = if duplicate {
            hits.get(1).or(hits.first())
        } else {
            hits.first()
        }?;
        Some((tokens[*hit].line + 1, tokens[*hit].column + 1))
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
        let e = parse_with(
            &[dir.join(input)],
            std::slice::from_ref(&dir),
            &Parser::Pure,
            &|_| None,
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
        assert_eq!(e, "a.proto:4:3: While parsing field, expecting char `;`");
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
    fn editions_without_protoc_is_a_clear_error() {
        let e = error_of(
            &[("e.proto", "edition = \"2023\";\nmessage M {}\n")],
            "e.proto",
        );
        assert!(e.starts_with("e.proto:1:1: this file uses editions"), "{e}");
        assert!(e.contains("PROTOC"), "{e}");
        // And the same for an imported file.
        let e = error_of(
            &[
                ("a.proto", "syntax = \"proto3\";\nimport \"e.proto\";\n"),
                ("e.proto", "edition = \"2023\";\n"),
            ],
            "a.proto",
        );
        assert!(e.starts_with("e.proto:1:1: this file uses editions"), "{e}");
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
                "a.proto:4:3: field `a` is already defined in `M`",
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
                "a.proto:3:1: `M` is already defined in this scope",
            ),
            (
                "enum E {\n  A = 1;\n}\n",
                "a.proto:3:3: enum `E`: the first value must be zero in proto3",
            ),
            (
                "enum E {\n  A = 0;\n  B = 0;\n}\n",
                "a.proto:4:3: enum value `B`: number 0 is already used by `A` (set `option allow_alias = true;` to allow aliases)",
            ),
            (
                "enum E { E_A = 0; }\nenum F { E_A = 0; }\n",
                "a.proto:3:10: `E_A` is already defined in this scope",
            ),
            (
                "message M {}\nservice S {\n  rpc Get(M) returns (M);\n  rpc Get(M) returns (M);\n}\n",
                "a.proto:5:3: `Get` is already defined in this scope",
            ),
            (
                "message M { int32 x = 1; }\nservice S { rpc A(M) returns (Nope); }\n",
                "a.proto:3:31: unknown type `Nope`",
            ),
        ];
        for (body, expected) in cases {
            let text = format!("syntax = \"proto3\";\n{body}");
            assert_eq!(
                error_of(&[("a.proto", &text)], "a.proto"),
                *expected,
                "for:\n{text}"
            );
        }
        // Aliases are fine when allowed.
        let dir = dir_with(&[(
            "ok.proto",
            "syntax = \"proto3\";\nenum E {\n  option allow_alias = true;\n  A = 0;\n  B = 0;\n}\n",
        )]);
        parse_with(
            &[dir.join("ok.proto")],
            std::slice::from_ref(&dir),
            &Parser::Pure,
            &|_| None,
        )
        .expect("allow_alias allows aliases");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn inputs_outside_the_include_directories_are_errors() {
        let dir = dir_with(&[("in/a.proto", "syntax = \"proto3\";\n")]);
        let e = parse_with(
            &[dir.join("in/a.proto")],
            &[dir.join("elsewhere")],
            &Parser::Pure,
            &|_| None,
        )
        .unwrap_err();
        assert!(
            e.message.contains("in none of the include directories"),
            "{e}"
        );
        let e = parse_with(
            &[PathBuf::from("nope.proto")],
            std::slice::from_ref(&dir),
            &Parser::Pure,
            &|_| None,
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
            let parsed = parse_with(&[input], std::slice::from_ref(&dir), &Parser::Pure, &|_| {
                None
            })
            .unwrap();
            assert_eq!(parsed.files, ["pkg/a.proto"]);
            assert_eq!(
                parsed.sources,
                [dir.join("pkg/a.proto"), dir.join("pkg/b.proto")]
            );
            let set =
                <protobuf::descriptor::FileDescriptorSet as protobuf::Message>::parse_from_bytes(
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
