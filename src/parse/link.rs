//! Names to types: every type a file refers to (field types, extendees,
//! method types) resolved to its full name, as protoc's `DescriptorBuilder`
//! resolves them, with the same scoping rules and the same check that the
//! file defining it is imported.
//!
//! Scoping (protobuf language specification, "Packages and Name
//! Resolution"): a name is looked up in the innermost scope first, then
//! outward; for a dotted name `A.B` only its first part `A` is looked up
//! that way, and once found (as a message, enum, package or service) the
//! rest must be inside it. A leading `.` makes a name absolute.

use std::collections::{HashMap, HashSet};

use rust_rpc::wkt::field_descriptor_proto::Type;
use rust_rpc::wkt::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
};

use super::text::Pos;
use crate::Error;

/// What a name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Package,
    Message,
    Enum,
    EnumValue,
    Field,
    Extension,
    Oneof,
    Service,
    Method,
}

impl Kind {
    /// Whether names can be inside it.
    fn is_aggregate(self) -> bool {
        matches!(
            self,
            Self::Package | Self::Message | Self::Enum | Self::Service
        )
    }

    fn is_type(self) -> bool {
        matches!(self, Self::Message | Self::Enum)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Package => "a package",
            Self::Message => "a message",
            Self::Enum => "an enum",
            Self::EnumValue => "an enum value",
            Self::Field => "a field",
            Self::Extension => "an extension",
            Self::Oneof => "a oneof",
            Self::Service => "a service",
            Self::Method => "a method",
        }
    }
}

/// A defined name: what it is and which file (by index) defines it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Symbol {
    pub kind: Kind,
    pub file: usize,
}

/// Every name the files define, and which files each file may use.
pub(crate) struct Pool {
    /// Full names without the leading dot.
    pub symbols: HashMap<String, Symbol>,
    /// The packages each file declares, with their parents (`a`, `a.b`).
    packages: Vec<HashSet<String>>,
    /// For each file, the files whose names it may use: itself, what it
    /// imports, and what those import publicly (transitively).
    visible: Vec<HashSet<usize>>,
    pub names: Vec<String>,
}

/// How a name lookup failed.
pub(crate) enum NotFound {
    /// Nothing by that name.
    Undefined,
    /// Defined, but in a file not imported.
    NotImported { full: String, file: usize },
}

impl Pool {
    /// The names of `files` (dependencies first), or the first name
    /// defined twice. `shown(i)` is how file `i` is named in errors, and
    /// `position(i, path)` where an element is declared.
    pub fn new(
        files: &[&FileDescriptorProto],
        shown: &dyn Fn(usize) -> String,
        position: &dyn Fn(usize, &[i32]) -> Option<Pos>,
    ) -> Result<Self, Error> {
        let mut pool = Pool {
            symbols: HashMap::new(),
            packages: Vec::new(),
            visible: Vec::new(),
            names: files.iter().map(|f| f.name().to_owned()).collect(),
        };
        let index: HashMap<&str, usize> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name(), i))
            .collect();
        for (i, file) in files.iter().enumerate() {
            let mut define = |name: String, kind: Kind, path: &[i32]| -> Result<(), Error> {
                pool.define(name, kind, i, files, shown, &|p| position(i, p), path)
            };
            let mut packages = HashSet::new();
            let package = file.package();
            if !package.is_empty() {
                let mut prefix = String::new();
                for part in package.split('.') {
                    if !prefix.is_empty() {
                        prefix.push('.');
                    }
                    prefix.push_str(part);
                    packages.insert(prefix.clone());
                    define(prefix.clone(), Kind::Package, &[2])?;
                }
            }
            let scope = package.to_owned();
            for (j, m) in file.message_type.iter().enumerate() {
                message_names(&mut define, &scope, m, &[4, j as i32])?;
            }
            for (j, e) in file.enum_type.iter().enumerate() {
                enum_names(&mut define, &scope, e, &[5, j as i32])?;
            }
            for (j, x) in file.extension.iter().enumerate() {
                define(join(&scope, x.name()), Kind::Extension, &[7, j as i32])?;
            }
            for (j, s) in file.service.iter().enumerate() {
                let service = join(&scope, s.name());
                define(service.clone(), Kind::Service, &[6, j as i32])?;
                for (k, m) in s.method.iter().enumerate() {
                    define(
                        join(&service, m.name()),
                        Kind::Method,
                        &[6, j as i32, 2, k as i32],
                    )?;
                }
            }
            pool.packages.push(packages);
            // What this file may use.
            let mut visible = HashSet::from([i]);
            let mut queue: Vec<usize> = file
                .dependency
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect();
            while let Some(d) = queue.pop() {
                if !visible.insert(d) {
                    continue;
                }
                let dep = files[d];
                for &p in &dep.public_dependency {
                    let public = usize::try_from(p)
                        .ok()
                        .and_then(|p| dep.dependency.get(p))
                        .and_then(|name| index.get(name.as_str()).copied());
                    if let Some(public) = public {
                        queue.push(public);
                    }
                }
            }
            pool.visible.push(visible);
        }
        Ok(pool)
    }

    #[allow(clippy::too_many_arguments)]
    fn define(
        &mut self,
        name: String,
        kind: Kind,
        file: usize,
        files: &[&FileDescriptorProto],
        shown: &dyn Fn(usize) -> String,
        position: &dyn Fn(&[i32]) -> Option<Pos>,
        path: &[i32],
    ) -> Result<(), Error> {
        if let Some(existing) = self.symbols.get(&name) {
            if existing.kind == Kind::Package && kind == Kind::Package {
                return Ok(());
            }
            let place = if existing.file == file {
                "in this file".to_owned()
            } else {
                format!("in {}", files[existing.file].name())
            };
            let what = if existing.kind == kind {
                String::new()
            } else {
                format!(" as {}", existing.kind.describe())
            };
            let mut message = format!("`{name}` is already defined {place}{what}");
            if kind == Kind::EnumValue || existing.kind == Kind::EnumValue {
                message.push_str(
                    " (enum values are siblings of their enum, as in C++: two enums in one scope \
                     can't share a value name)",
                );
            }
            return Err(match position(path) {
                Some(at) => {
                    let (line, column) = at.shown();
                    Error::at(&shown(file), line, column, message)
                }
                None => Error::new(&shown(file), message),
            });
        }
        self.symbols.insert(name, Symbol { kind, file });
        Ok(())
    }

    /// Whether `file` may use the symbol `full`.
    fn can_see(&self, file: usize, full: &str, symbol: Symbol) -> bool {
        if self.visible[file].contains(&symbol.file) {
            return true;
        }
        // A package is declared by many files: visible if any visible file
        // declares it.
        symbol.kind == Kind::Package
            && self.visible[file]
                .iter()
                .any(|&f| self.packages[f].contains(full))
    }

    fn find(&self, file: usize, full: &str, hint: &mut Option<(String, usize)>) -> Option<Symbol> {
        let symbol = *self.symbols.get(full)?;
        if self.can_see(file, full, symbol) {
            Some(symbol)
        } else {
            hint.get_or_insert((full.to_owned(), symbol.file));
            None
        }
    }

    /// Looks `name` up as file `file` sees it from the scope `relative_to`
    /// (the full name of the element that refers to it, whose last part is
    /// dropped first), as protoc's `LookupSymbol`; `types_only`: keep
    /// looking outward past names that are not types.
    pub fn lookup(
        &self,
        file: usize,
        name: &str,
        relative_to: &str,
        types_only: bool,
    ) -> Result<(String, Symbol), NotFound> {
        let mut hint = None;
        let not_found = |hint: Option<(String, usize)>| match hint {
            Some((full, file)) => NotFound::NotImported { full, file },
            None => NotFound::Undefined,
        };
        if let Some(absolute) = name.strip_prefix('.') {
            return match self.find(file, absolute, &mut hint) {
                Some(s) => Ok((absolute.to_owned(), s)),
                None => Err(not_found(hint)),
            };
        }
        let first = name.split('.').next().unwrap_or(name);
        let mut scope = relative_to.to_owned();
        loop {
            match scope.rfind('.') {
                Some(dot) => scope.truncate(dot),
                None => {
                    // The outermost scope.
                    return match self.find(file, name, &mut hint) {
                        Some(s) => Ok((name.to_owned(), s)),
                        None => Err(not_found(hint)),
                    };
                }
            }
            let candidate = format!("{scope}.{first}");
            if let Some(found) = self.find(file, &candidate, &mut hint) {
                if first.len() < name.len() {
                    if found.kind.is_aggregate() {
                        let full = format!("{scope}.{name}");
                        return match self.find(file, &full, &mut hint) {
                            Some(s) => Ok((full, s)),
                            None => Err(not_found(hint)),
                        };
                    }
                } else if !types_only || found.kind.is_type() {
                    return Ok((candidate, found));
                }
            }
        }
    }

    /// The error for a name that [`Pool::lookup`] did not find.
    pub fn not_found(&self, what: &str, name: &str, file: usize, why: NotFound) -> String {
        match why {
            NotFound::Undefined => format!("{what} `{name}` is not defined"),
            NotFound::NotImported {
                full,
                file: defined,
            } => format!(
                "{what} `{name}` is `{full}`, defined in {}, which {} does not import",
                self.names[defined], self.names[file]
            ),
        }
    }
}

pub(crate) fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

fn message_names(
    define: &mut impl FnMut(String, Kind, &[i32]) -> Result<(), Error>,
    scope: &str,
    m: &DescriptorProto,
    path: &[i32],
) -> Result<(), Error> {
    let full = join(scope, m.name());
    define(full.clone(), Kind::Message, path)?;
    let sub = |field: i32, i: usize| {
        let mut p = path.to_vec();
        p.extend([field, i as i32]);
        p
    };
    for (i, f) in m.field.iter().enumerate() {
        define(join(&full, f.name()), Kind::Field, &sub(2, i))?;
    }
    for (i, o) in m.oneof_decl.iter().enumerate() {
        define(join(&full, o.name()), Kind::Oneof, &sub(8, i))?;
    }
    for (i, x) in m.extension.iter().enumerate() {
        define(join(&full, x.name()), Kind::Extension, &sub(6, i))?;
    }
    for (i, n) in m.nested_type.iter().enumerate() {
        message_names(define, &full, n, &sub(3, i))?;
    }
    for (i, e) in m.enum_type.iter().enumerate() {
        enum_names(define, &full, e, &sub(4, i))?;
    }
    Ok(())
}

fn enum_names(
    define: &mut impl FnMut(String, Kind, &[i32]) -> Result<(), Error>,
    scope: &str,
    e: &EnumDescriptorProto,
    path: &[i32],
) -> Result<(), Error> {
    define(join(scope, e.name()), Kind::Enum, path)?;
    // Enum values are siblings of their enum (C++ scoping).
    for (i, v) in e.value.iter().enumerate() {
        let mut p = path.to_vec();
        p.extend([2, i as i32]);
        define(join(scope, v.name()), Kind::EnumValue, &p)?;
    }
    Ok(())
}

/// protoc's JSON name of a field: `foo_bar_baz` → `fooBarBaz`.
pub(crate) fn json_name(name: &str) -> String {
    super::literal::camel_case(name, false)
}

/// Resolves what file `index` of the pool refers to, in place.
pub(crate) struct Linker<'p> {
    pub pool: &'p Pool,
    pub file: usize,
    pub shown: String,
    pub positions: &'p HashMap<Vec<i32>, Pos>,
    /// Enums by full name (with the leading dot), for checking defaults.
    pub enums: &'p HashMap<String, Vec<String>>,
}

impl Linker<'_> {
    fn error(&self, path: &[i32], message: String) -> Error {
        match self.positions.get(path) {
            Some(at) => {
                let (line, column) = at.shown();
                Error::at(&self.shown, line, column, message)
            }
            None => Error::new(&self.shown, message),
        }
    }

    pub fn file(&self, file: &mut FileDescriptorProto) -> Result<(), Error> {
        let scope = file.package().to_owned();
        for (i, m) in file.message_type.iter_mut().enumerate() {
            self.message(&scope, m, vec![4, i as i32])?;
        }
        for (i, x) in file.extension.iter_mut().enumerate() {
            self.field(&join(&scope, x.name()), x, &[7, i as i32])?;
        }
        for (i, s) in file.service.iter_mut().enumerate() {
            let service = join(&scope, s.name());
            for (j, m) in s.method.iter_mut().enumerate() {
                let path = [6, i as i32, 2, j as i32];
                let method = join(&service, m.name());
                for (field, ty) in [(2, &mut m.input_type), (3, &mut m.output_type)] {
                    let mut p = path.to_vec();
                    p.push(field);
                    let written = ty.clone().unwrap_or_default();
                    let full = self.resolve(&written, &method, &p, "type")?;
                    if full.1 != Kind::Message {
                        return Err(self.error(
                            &p,
                            format!("`{written}` is not a message type: a method takes and returns messages"),
                        ));
                    }
                    *ty = Some(format!(".{}", full.0));
                }
            }
        }
        Ok(())
    }

    fn resolve(
        &self,
        name: &str,
        relative_to: &str,
        path: &[i32],
        what: &str,
    ) -> Result<(String, Kind), Error> {
        match self.pool.lookup(self.file, name, relative_to, true) {
            Ok((full, symbol)) if symbol.kind.is_type() => Ok((full, symbol.kind)),
            Ok((full, symbol)) => Err(self.error(
                path,
                format!(
                    "`{name}` is `{full}`, {}, not a type",
                    symbol.kind.describe()
                ),
            )),
            Err(why) => Err(self.error(path, self.pool.not_found(what, name, self.file, why))),
        }
    }

    fn message(&self, scope: &str, m: &mut DescriptorProto, path: Vec<i32>) -> Result<(), Error> {
        let full = join(scope, m.name());
        let sub = |field: i32, i: usize| {
            let mut p = path.clone();
            p.extend([field, i as i32]);
            p
        };
        for (i, f) in m.field.iter_mut().enumerate() {
            self.field(&join(&full, f.name()), f, &sub(2, i))?;
        }
        for (i, x) in m.extension.iter_mut().enumerate() {
            self.field(&join(&full, x.name()), x, &sub(6, i))?;
        }
        for (i, n) in m.nested_type.iter_mut().enumerate() {
            self.message(&full, n, sub(3, i))?;
        }
        Ok(())
    }

    fn field(&self, full: &str, f: &mut FieldDescriptorProto, path: &[i32]) -> Result<(), Error> {
        if f.json_name.is_none() {
            f.json_name = Some(json_name(f.name()));
        }
        if let Some(written) = f.type_name.clone() {
            let mut p = path.to_vec();
            p.push(6);
            let (resolved, kind) = self.resolve(&written, full, &p, "type")?;
            match (f.r#type, kind) {
                (Some(Type::Group), Kind::Message) | (None, Kind::Message) => {
                    f.r#type.get_or_insert(Type::Message);
                }
                (None, Kind::Enum) => f.r#type = Some(Type::Enum),
                _ => {
                    return Err(self.error(&p, format!("`{written}` is not a message type")));
                }
            }
            f.type_name = Some(format!(".{resolved}"));
            match (f.r#type, f.default_value.as_deref()) {
                (Some(Type::Message | Type::Group), Some(_)) => {
                    return Err(self.error(path, "messages can't have default values".to_owned()));
                }
                (Some(Type::Enum), Some(value)) => {
                    let known = self
                        .enums
                        .get(f.type_name())
                        .is_some_and(|values| values.iter().any(|v| v == value));
                    if !known {
                        return Err(self.error(
                            path,
                            format!("enum `{resolved}` has no value named `{value}` (the default of `{}`)", f.name()),
                        ));
                    }
                }
                _ => {}
            }
        }
        if let Some(written) = f.extendee.clone() {
            let mut p = path.to_vec();
            p.push(2);
            let (resolved, kind) = self.resolve(&written, full, &p, "extended type")?;
            if kind != Kind::Message {
                return Err(self.error(
                    &p,
                    format!("`{written}` is not a message type: only messages are extended"),
                ));
            }
            f.extendee = Some(format!(".{resolved}"));
        }
        Ok(())
    }
}

/// The value names of every enum in `files`, by full name with a leading
/// dot.
pub(crate) fn enum_values(files: &[&FileDescriptorProto]) -> HashMap<String, Vec<String>> {
    fn message(out: &mut HashMap<String, Vec<String>>, scope: &str, m: &DescriptorProto) {
        let full = format!("{scope}.{}", m.name());
        for e in &m.enum_type {
            out.insert(
                format!("{full}.{}", e.name()),
                e.value.iter().map(|v| v.name().to_owned()).collect(),
            );
        }
        for n in &m.nested_type {
            message(out, &full, n);
        }
    }
    let mut out = HashMap::new();
    for f in files {
        let scope = if f.package().is_empty() {
            String::new()
        } else {
            format!(".{}", f.package())
        };
        for e in &f.enum_type {
            out.insert(
                format!("{scope}.{}", e.name()),
                e.value.iter().map(|v| v.name().to_owned()).collect(),
            );
        }
        for m in &f.message_type {
            message(&mut out, &scope, m);
        }
    }
    out
}
