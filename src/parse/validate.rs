//! Checks that protoc makes and `protobuf-parse` does not, so that a file
//! protoc would reject is rejected without protoc too, with the place and
//! the reason: field numbers out of range, reused or reserved; names
//! declared twice in one scope; enum values that alias without
//! `allow_alias`, or a proto3 enum that does not start at zero.
//!
//! The rules are the protobuf language specification's (proto2 and proto3
//! language guides, "Assigning Field Numbers", "Reserved Fields", "Enums").

use std::collections::HashMap;

use protobuf::descriptor::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};

use super::source_info::Declarations;
use crate::Error;

/// Field numbers go up to 2^29 - 1.
const MAX_FIELD_NUMBER: i32 = (1 << 29) - 1;
/// Field numbers the protobuf implementation reserves for itself.
const IMPLEMENTATION_RESERVED: std::ops::RangeInclusive<i32> = 19_000..=19_999;

struct Check<'a> {
    file: &'a str,
    decls: &'a Declarations,
    proto3: bool,
}

/// Checks `file` (read from `shown`, with the declarations its source holds).
pub(crate) fn check(
    file: &FileDescriptorProto,
    decls: &Declarations,
    shown: &str,
) -> Result<(), Error> {
    let c = Check {
        file: shown,
        decls,
        proto3: file.syntax() == "proto3",
    };
    let mut scope = Names::default();
    for m in &file.message_type {
        scope.add(&c, m.name(), m.name())?;
    }
    for e in &file.enum_type {
        scope.add(&c, e.name(), e.name())?;
    }
    for s in &file.service {
        scope.add(&c, s.name(), s.name())?;
    }
    // Enum values are siblings of their enum (C++ scoping), so two enums in
    // one scope cannot share a value name.
    for e in &file.enum_type {
        for v in &e.value {
            scope.add(&c, v.name(), &format!("{}#{}", e.name(), v.name()))?;
        }
    }
    for m in &file.message_type {
        c.message(m, m.name())?;
    }
    for e in &file.enum_type {
        c.enumeration(e, e.name())?;
    }
    for s in &file.service {
        let mut methods = Names::default();
        for m in &s.method {
            methods.add(&c, m.name(), &format!("{}#{}", s.name(), m.name()))?;
        }
    }
    Ok(())
}

/// The names declared in one scope so far.
#[derive(Default)]
struct Names(HashMap<String, String>);

impl Names {
    /// Declares `name` (whose declaration has key `key`).
    fn add(&mut self, c: &Check<'_>, name: &str, key: &str) -> Result<(), Error> {
        match self.0.insert(name.to_owned(), key.to_owned()) {
            None => Ok(()),
            Some(first) => {
                // The second declaration: of the same key, or of another
                // (an enum value beside a message, ...).
                let at = if first == key {
                    c.decls.again.get(key)
                } else {
                    c.decls.by_key.get(key)
                };
                Err(c.error_at(
                    at.map(|d| d.position()),
                    format!("`{name}` is already defined in this scope"),
                ))
            }
        }
    }
}

impl Check<'_> {
    fn error_at(&self, position: Option<(usize, usize)>, message: String) -> Error {
        match position {
            Some((line, column)) => Error::at(self.file, line, column, message),
            None => Error::new(self.file, message),
        }
    }

    fn error(&self, key: &str, message: String) -> Error {
        self.error_at(self.decls.by_key.get(key).map(|d| d.position()), message)
    }

    fn message(&self, m: &DescriptorProto, key: &str) -> Result<(), Error> {
        let mut names = Names::default();
        let mut numbers: HashMap<i32, &str> = HashMap::new();
        for f in &m.field {
            let fkey = format!("{key}#{}", f.name());
            names.add(self, f.name(), &fkey)?;
            let n = f.number();
            if !(1..=MAX_FIELD_NUMBER).contains(&n) {
                return Err(self.error(
                    &fkey,
                    format!(
                        "field `{}`: number {n} is out of range (1 to {MAX_FIELD_NUMBER})",
                        f.name()
                    ),
                ));
            }
            if IMPLEMENTATION_RESERVED.contains(&n) {
                return Err(self.error(
                    &fkey,
                    format!(
                        "field `{}`: numbers 19000 to 19999 are reserved for the protobuf implementation",
                        f.name()
                    ),
                ));
            }
            if let Some(other) = numbers.insert(n, f.name()) {
                return Err(self.error(
                    &fkey,
                    format!(
                        "field `{}`: number {n} is already used by `{other}`",
                        f.name()
                    ),
                ));
            }
            if m.reserved_range
                .iter()
                .any(|r| (r.start()..r.end()).contains(&n))
            {
                return Err(self.error(
                    &fkey,
                    format!("field `{}`: number {n} is reserved", f.name()),
                ));
            }
            if m.reserved_name.iter().any(|r| r == f.name()) {
                return Err(self.error(&fkey, format!("field name `{}` is reserved", f.name())));
            }
            if m.extension_range
                .iter()
                .any(|r| (r.start()..r.end()).contains(&n))
            {
                return Err(self.error(
                    &fkey,
                    format!("field `{}`: number {n} is in an extension range", f.name()),
                ));
            }
        }
        for n in &m.nested_type {
            // Map entries are made by the parser, not declared.
            if !n.options.map_entry() {
                names.add(self, n.name(), &format!("{key}.{}", n.name()))?;
            }
        }
        for e in &m.enum_type {
            names.add(self, e.name(), &format!("{key}.{}", e.name()))?;
        }
        for e in &m.enum_type {
            for v in &e.value {
                names.add(self, v.name(), &format!("{key}.{}#{}", e.name(), v.name()))?;
            }
        }
        for n in &m.nested_type {
            self.message(n, &format!("{key}.{}", n.name()))?;
        }
        for e in &m.enum_type {
            self.enumeration(e, &format!("{key}.{}", e.name()))?;
        }
        Ok(())
    }

    fn enumeration(&self, e: &EnumDescriptorProto, key: &str) -> Result<(), Error> {
        if self.proto3 {
            if let Some(first) = e.value.first().filter(|v| v.number() != 0) {
                return Err(self.error(
                    &format!("{key}#{}", first.name()),
                    format!(
                        "enum `{}`: the first value must be zero in proto3",
                        e.name()
                    ),
                ));
            }
        }
        let aliases = e.options.allow_alias();
        let mut numbers: HashMap<i32, &str> = HashMap::new();
        for v in &e.value {
            let vkey = format!("{key}#{}", v.name());
            let n = v.number();
            if let Some(other) = numbers.insert(n, v.name()) {
                if !aliases {
                    return Err(self.error(
                        &vkey,
                        format!(
                            "enum value `{}`: number {n} is already used by `{other}` \
                             (set `option allow_alias = true;` to allow aliases)",
                            v.name()
                        ),
                    ));
                }
            }
            // Enum reserved ranges include their end.
            if e.reserved_range
                .iter()
                .any(|r| (r.start()..=r.end()).contains(&n))
            {
                return Err(self.error(
                    &vkey,
                    format!("enum value `{}`: number {n} is reserved", v.name()),
                ));
            }
            if e.reserved_name.iter().any(|r| r == v.name()) {
                return Err(
                    self.error(&vkey, format!("enum value name `{}` is reserved", v.name()))
                );
            }
        }
        Ok(())
    }
}
