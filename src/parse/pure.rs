//! The pure-Rust front end: `.proto` files to the `FileDescriptorSet`
//! protoc would write for them, byte for byte, with no protoc.
//!
//! One pass per stage, as protoc's own: [`syntax`] reads each file,
//! [`link`] resolves the names between them, [`interpret`] turns option
//! statements into options messages, [`canonical`] orders custom options as
//! protoc writes them, [`validate`] checks what protoc checks.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use rust_rpc::Message as _;
use rust_rpc::wkt::{FileDescriptorProto, FileDescriptorSet};

use super::syntax::{self, ParsedFile};
use super::text::Pos;
use super::{canonical, interpret, link, validate};
use crate::Error;

/// A file to compile: read from disk and parsed, or built in.
pub(crate) struct Source {
    /// Proto name, e.g. `pkg/a.proto`.
    pub name: String,
    /// Where it was read from (`None`: built in).
    pub path: Option<PathBuf>,
    pub parsed: Option<ParsedFile>,
    pub proto: FileDescriptorProto,
}

impl Source {
    pub fn shown(&self) -> String {
        match &self.path {
            Some(p) => super::shown(p),
            None => self.name.clone(),
        }
    }
}

/// The files rust-rpc's runtime carries descriptors of (the well-known
/// types, `descriptor.proto`, `compiler/plugin.proto`): used when an import
/// of one is not found on disk, as protoc uses its own include directory.
fn built_in(name: &str) -> Option<FileDescriptorProto> {
    rust_rpc::wkt::FILE_DESCRIPTORS
        .iter()
        .chain(rust_rpc::wkt::compiler::FILE_DESCRIPTORS)
        .find(|d| d.name == name)
        .and_then(|d| FileDescriptorProto::decode_slice(d.encoded).ok())
}

/// Finds, reads and parses `files` and, transitively, what they import.
pub(crate) fn read_all(files: &[String], includes: &[PathBuf]) -> Result<Vec<Source>, Error> {
    let mut out: Vec<Source> = Vec::new();
    let mut seen = BTreeSet::new();
    // A file to read, and where it was imported (file, position).
    type Pending = (String, Option<(String, Pos)>);
    let mut queue: Vec<Pending> = files.iter().map(|f| (f.clone(), None)).collect();
    queue.reverse();
    while let Some((name, imported_at)) = queue.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(path) = includes.iter().map(|d| d.join(&name)).find(|p| p.is_file()) else {
            if let Some(proto) = built_in(&name) {
                out.push(Source {
                    name,
                    path: None,
                    parsed: None,
                    proto,
                });
                continue;
            }
            let message = format!(
                "import {name:?} was not found in the include directories ({})",
                super::list(includes)
            );
            return Err(match imported_at {
                Some((file, at)) => {
                    let (line, column) = at.shown();
                    Error::at(&file, line, column, message)
                }
                None => Error::new(&name, message),
            });
        };
        let shown = super::shown(&path);
        let text = super::read_text(&path)?;
        let parsed = syntax::parse(&name, &shown, &text)?;
        for import in parsed.imports.iter().rev() {
            queue.push((import.name.clone(), Some((shown.clone(), import.pos))));
        }
        out.push(Source {
            name,
            path: Some(path),
            proto: FileDescriptorProto::default(),
            parsed: Some(parsed),
        });
    }
    Ok(out)
}

/// The descriptor set of `files` (and their imports), read by `read_all`.
pub(crate) fn descriptor_set(sources: Vec<Source>) -> Result<Vec<u8>, Error> {
    let mut sources = dependencies_first(sources)?;
    for s in &mut sources {
        if let Some(p) = &mut s.parsed {
            s.proto = std::mem::take(&mut p.proto);
        }
    }
    let shown: Vec<String> = sources.iter().map(Source::shown).collect();
    let no_positions = HashMap::new();
    let positions = |i: usize| {
        sources[i]
            .parsed
            .as_ref()
            .map_or(&no_positions, |p| &p.positions)
    };
    let protos: Vec<&FileDescriptorProto> = sources.iter().map(|s| &s.proto).collect();
    let pool = link::Pool::new(&protos, &|i| shown[i].clone(), &|i, path| {
        positions(i).get(path).copied()
    })?;
    let enums = link::enum_values(&protos);
    drop(protos);
    // Names to types.
    let mut linked = Vec::with_capacity(sources.len());
    for (i, s) in sources.iter().enumerate() {
        let mut proto = s.proto.clone();
        if s.parsed.is_some() {
            let linker = link::Linker {
                pool: &pool,
                file: i,
                shown: shown[i].clone(),
                positions: positions(i),
                enums: &enums,
            };
            linker.file(&mut proto)?;
        }
        linked.push(proto);
    }
    // Options: descriptor.proto's types describe the built-in ones, from
    // the runtime when no file here is descriptor.proto.
    let descriptor = "google/protobuf/descriptor.proto";
    let extra = if linked.iter().any(|f| f.name() == descriptor) {
        None
    } else {
        built_in(descriptor)
    };
    let mut early = interpret::Early::default();
    for (s, proto) in sources.iter().zip(&linked) {
        if let Some(p) = &s.parsed {
            early.read(proto, &p.options);
        }
    }
    let mut encoded = Vec::with_capacity(sources.len());
    let mut rewrites = Vec::new();
    {
        let all: Vec<&FileDescriptorProto> = linked.iter().chain(extra.as_ref()).collect();
        let types = interpret::Types::new(&all, early);
        for (i, s) in sources.iter().enumerate() {
            let Some(p) = &s.parsed else {
                encoded.push(Vec::new());
                continue;
            };
            let interpreter = interpret::Interpreter {
                pool: &pool,
                types: &types,
                file_index: i,
                file: &linked[i],
                shown: &shown[i],
            };
            let interpreted = interpreter.run(&p.options, &p.locations)?;
            encoded.push(interpreted.options);
            rewrites.push((i, interpreted.locations));
        }
    }
    for ((proto, options), shown) in linked.iter_mut().zip(&encoded).zip(&shown) {
        for e in options {
            interpret::apply(proto, e).map_err(|m| Error::new(shown, m))?;
        }
    }
    for (i, paths) in rewrites {
        if let Some(parsed) = sources[i].parsed.as_ref() {
            linked[i].source_code_info = Some(source_code_info(parsed, paths, &encoded[i]));
        }
    }
    let mut set = FileDescriptorSet {
        file: linked,
        ..Default::default()
    };
    canonical::canonicalize(&mut set);
    for ((file, s), shown) in set.file.iter().zip(&sources).zip(&shown) {
        if let Some(p) = &s.parsed {
            validate::check(file, p.syntax, &p.positions, shown)?;
        }
    }
    Ok(set.encode_to_vec())
}

/// A file's SourceCodeInfo as protoc writes it: the locations the parser
/// recorded, each option statement's at the field it sets (`paths`, from
/// the interpreter), and without those of options left out for their
/// source retention; where every option of an element was left out (it
/// has none of `options`), the location of the `[...]` or statement they
/// were written in goes too.
fn source_code_info(
    parsed: &ParsedFile,
    paths: Vec<(usize, Option<Vec<i32>>)>,
    options: &[interpret::Encoded],
) -> rust_rpc::wkt::SourceCodeInfo {
    let mut location = parsed.locations.clone();
    let mut dropped = HashSet::new();
    for (index, path) in paths {
        match (location.get_mut(index), path) {
            (Some(l), Some(path)) => l.path = path,
            (Some(_), None) => {
                dropped.insert(index);
            }
            (None, _) => {}
        }
    }
    let kept: HashSet<usize> = parsed
        .options
        .iter()
        .filter(|st| !dropped.contains(&st.location))
        .map(|st| st.among)
        .collect();
    let has_options: HashSet<&[i32]> = options.iter().map(|e| e.target.as_slice()).collect();
    for st in &parsed.options {
        if !kept.contains(&st.among) && !has_options.contains(st.target.as_slice()) {
            dropped.insert(st.among);
        }
    }
    rust_rpc::wkt::SourceCodeInfo {
        location: location
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !dropped.contains(i))
            .map(|(_, l)| l)
            .collect(),
        ..Default::default()
    }
}

/// Orders files so that each comes after the files it imports, as protoc
/// does; otherwise keeps their order. An import cycle is an error.
fn dependencies_first(sources: Vec<Source>) -> Result<Vec<Source>, Error> {
    let index: HashMap<String, usize> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), i))
        .collect();
    let deps: Vec<Vec<usize>> = sources
        .iter()
        .map(|s| {
            let names: Vec<&String> = match &s.parsed {
                Some(p) => p.imports.iter().map(|i| &i.name).collect(),
                None => s.proto.dependency.iter().collect(),
            };
            names
                .iter()
                .filter_map(|n| index.get(*n).copied())
                .collect()
        })
        .collect();
    // 0: not visited, 1: in progress, 2: done.
    let mut state = vec![0u8; sources.len()];
    let mut order = Vec::with_capacity(sources.len());
    fn visit(
        i: usize,
        deps: &[Vec<usize>],
        state: &mut [u8],
        order: &mut Vec<usize>,
        sources: &[Source],
    ) -> Result<(), Error> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                return Err(Error::new(
                    &sources[i].shown(),
                    format!(
                        "{} imports itself, through its imports (an import cycle)",
                        sources[i].name
                    ),
                ));
            }
            _ => {}
        }
        state[i] = 1;
        for &d in &deps[i] {
            visit(d, deps, state, order, sources)?;
        }
        state[i] = 2;
        order.push(i);
        Ok(())
    }
    for i in 0..sources.len() {
        visit(i, &deps, &mut state, &mut order, &sources)?;
    }
    let mut slots: Vec<Option<Source>> = sources.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// The imports of `text`, found leniently (for the protoc front end, which
/// reports errors itself): `import ["public"|"weak"] "name";` at file level.
pub(crate) fn imports_of(text: &str) -> Vec<(String, Pos)> {
    use super::tokenizer::{Kind, Tokenizer};
    let mut t = Tokenizer::new(text);
    let mut depth = 0usize;
    let mut out = Vec::new();
    loop {
        let token = t.next();
        match (token.kind, token.text) {
            (Kind::End, _) => return out,
            (Kind::Symbol, "{") => depth += 1,
            (Kind::Symbol, "}") => depth = depth.saturating_sub(1),
            (Kind::Ident, "import") if depth == 0 => {
                let at = Pos {
                    line: token.line,
                    column: token.column,
                };
                let mut next = t.next();
                if next.kind == Kind::Ident && matches!(next.text, "public" | "weak") {
                    next = t.next();
                }
                let mut name = Vec::new();
                while next.kind == Kind::Str {
                    let _ = super::literal::unescape(next.text, &mut name);
                    next = t.next();
                }
                if let Ok(name) = String::from_utf8(name) {
                    if !name.is_empty() {
                        out.push((name, at));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Reads protoc-front-end inputs' import closure from disk, for a build
/// script's `cargo:rerun-if-changed`: imports not found are left to protoc.
pub(crate) fn sources_on_disk(
    files: &[String],
    includes: &[PathBuf],
) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut queue: Vec<String> = files.iter().rev().cloned().collect();
    let inputs: HashSet<&String> = files.iter().collect();
    while let Some(name) = queue.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(path) = includes.iter().map(|d| d.join(&name)).find(|p| p.is_file()) else {
            if inputs.contains(&name) {
                return Err(Error::new(
                    &name,
                    format!(
                        "not found in the include directories ({})",
                        super::list(includes)
                    ),
                ));
            }
            continue;
        };
        let text = super::read_text(&path)?;
        for (import, _) in imports_of(&text).into_iter().rev() {
            queue.push(import);
        }
        out.push(path);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs every stage on one file of `text`: a set, or an error.
    fn compile(text: &str) -> Result<Vec<u8>, Error> {
        let parsed = syntax::parse("a.proto", "a.proto", text)?;
        let mut sources = vec![Source {
            name: "a.proto".to_owned(),
            path: Some(PathBuf::from("a.proto")),
            proto: FileDescriptorProto::default(),
            parsed: Some(parsed),
        }];
        if text.contains("descriptor.proto") {
            let name = "google/protobuf/descriptor.proto";
            sources.push(Source {
                name: name.to_owned(),
                path: None,
                parsed: None,
                proto: built_in(name).expect("descriptor.proto is built in"),
            });
        }
        descriptor_set(sources)
    }

    #[test]
    fn options_name_what_is_wrong() {
        let cases = [
            (
                "syntax = \"proto3\";\noption (nope) = 1;\n",
                "a.proto:2:8: option `(nope)` is not defined",
            ),
            (
                "syntax = \"proto3\";\noption java_packag = \"x\";\n",
                "a.proto:2:8: option `java_packag`: `google.protobuf.FileOptions` has no field named `java_packag`",
            ),
            (
                "syntax = \"proto3\";\nmessage M { int32 a = 1 [deprecated = 3]; }\n",
                "a.proto:2:39: `deprecated` takes `true` or `false`",
            ),
            (
                "syntax = \"proto2\";\nimport \"google/protobuf/descriptor.proto\";\nextend google.protobuf.FieldOptions { optional int32 o = 5000; }\nmessage M { optional int32 a = 1 [(o) = 1, (o) = 2]; }\n",
                "a.proto:4:44: option `(o)` is set twice",
            ),
        ];
        for (text, expected) in cases {
            let e = compile(text).expect_err(text);
            assert_eq!(e.to_string(), expected, "{text}");
        }
    }

    fn fragment() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("import \"google/protobuf/descriptor.proto\";"),
            Just("package p.q;"),
            Just("message A { optional B b = 1; repeated int32 r = 2 [packed = true]; }"),
            Just(
                "message B { optional int32 x = 2 [default = 5]; optional E e = 3 [default = E0]; }"
            ),
            Just("enum E { E0 = 0; E1 = 1; }"),
            Just(
                "extend google.protobuf.FieldOptions { optional int32 o = 5000; optional B ob = 5001; }"
            ),
            Just("extend google.protobuf.FileOptions { repeated string fs = 5002; }"),
            Just("option (fs) = \"a\";"),
            Just("option (ob) = { x: 1 e: E1 };"),
            Just("message C { optional int32 y = 1 [(o) = 3, (ob).x = 4]; }"),
            Just("message D { map<string, E> m = 1; oneof k { int32 i = 2; B bb = 3; } }"),
            Just(
                "message G { optional group Grp = 1 { optional int32 z = 2; } extensions 10 to max; }"
            ),
            Just("extend G { optional int32 gx = 10; }"),
            Just("service S { rpc R(A) returns (stream B) { option deprecated = true; } }"),
            Just("option java_package = \"x.y\";"),
            Just("message A { }"),
            Just("enum F { E0 = 0; }"),
            Just("message H { optional Missing m = 1; }"),
            Just("option (o) = 1;"),
            Just("message I { optional .p.q.A a = 1; optional q.B b = 2; }"),
        ]
    }

    proptest! {
        // Whatever a file declares and refers to, the stages after parsing
        // end with a set or an error, never a panic.
        #[test]
        fn any_mix_of_declarations_compiles_or_fails_without_panic(
            syntax in prop_oneof![Just("syntax = \"proto2\";"), Just("syntax = \"proto3\";"), Just("edition = \"2023\";")],
            parts in proptest::collection::vec(fragment(), 0..12),
        ) {
            let text = format!("{syntax}\n{}\n", parts.join("\n"));
            let _ = compile(&text);
        }
    }
}
