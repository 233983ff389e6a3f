//! Checks that protoc makes beyond names and types, so that a file protoc
//! would reject is rejected without protoc too, with the place and the
//! reason: field numbers out of range, reused or reserved; enum values that
//! alias without `allow_alias`, or a proto3 enum that does not start at
//! zero; proto3 fields whose JSON names collide. (Names declared twice are
//! found by [`super::link::Pool`].)
//!
//! The rules are the protobuf language specification's (proto2, proto3 and
//! editions language guides: "Assigning Field Numbers", "Reserved Fields",
//! "Enums", "JSON Mapping").

use std::collections::HashMap;

use rust_rpc::wkt::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};

use super::syntax::{MAX_FIELD_NUMBER, Syntax};
use super::text::Pos;
use crate::Error;

/// Field numbers the protobuf implementation reserves for itself.
const IMPLEMENTATION_RESERVED: std::ops::RangeInclusive<i32> = 19_000..=19_999;

struct Check<'a> {
    file: &'a str,
    positions: &'a HashMap<Vec<i32>, Pos>,
    syntax: Syntax,
}

/// Checks `file` (read from `shown`; `positions` says where its elements
/// are declared).
pub(crate) fn check(
    file: &FileDescriptorProto,
    syntax: Syntax,
    positions: &HashMap<Vec<i32>, Pos>,
    shown: &str,
) -> Result<(), Error> {
    let c = Check {
        file: shown,
        positions,
        syntax,
    };
    for (i, m) in file.message_type.iter().enumerate() {
        c.message(m, &[4, i as i32])?;
    }
    for (i, e) in file.enum_type.iter().enumerate() {
        c.enumeration(e, &[5, i as i32])?;
    }
    for (i, x) in file.extension.iter().enumerate() {
        c.number(x.name(), x.number(), &[7, i as i32])?;
    }
    Ok(())
}

fn sub(path: &[i32], field: i32, index: usize) -> Vec<i32> {
    let mut p = path.to_vec();
    p.extend([field, index as i32]);
    p
}

impl Check<'_> {
    fn error(&self, path: &[i32], message: String) -> Error {
        match self.positions.get(path) {
            Some(at) => {
                let (line, column) = at.shown();
                Error::at(self.file, line, column, message)
            }
            None => Error::new(self.file, message),
        }
    }

    fn number(&self, name: &str, n: i32, path: &[i32]) -> Result<(), Error> {
        if !(1..=MAX_FIELD_NUMBER).contains(&n) {
            return Err(self.error(
                path,
                format!("field `{name}`: number {n} is out of range (1 to {MAX_FIELD_NUMBER})"),
            ));
        }
        if IMPLEMENTATION_RESERVED.contains(&n) {
            return Err(self.error(
                path,
                format!(
                    "field `{name}`: numbers 19000 to 19999 are reserved for the protobuf implementation"
                ),
            ));
        }
        Ok(())
    }

    fn message(&self, m: &DescriptorProto, path: &[i32]) -> Result<(), Error> {
        let mut numbers: HashMap<i32, &str> = HashMap::new();
        let mut json: HashMap<String, &str> = HashMap::new();
        for (i, f) in m.field.iter().enumerate() {
            let fpath = sub(path, 2, i);
            let n = f.number();
            self.number(f.name(), n, &fpath)?;
            if let Some(other) = numbers.insert(n, f.name()) {
                return Err(self.error(
                    &fpath,
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
                    &fpath,
                    format!("field `{}`: number {n} is reserved", f.name()),
                ));
            }
            if m.reserved_name.iter().any(|r| r == f.name()) {
                return Err(self.error(&fpath, format!("field name `{}` is reserved", f.name())));
            }
            if m.extension_range
                .iter()
                .any(|r| (r.start()..r.end()).contains(&n))
            {
                return Err(self.error(
                    &fpath,
                    format!("field `{}`: number {n} is in an extension range", f.name()),
                ));
            }
            // proto3 and editions: JSON names must differ (proto2 allows a
            // clash, as protoc does).
            if self.syntax != Syntax::Proto2 {
                let key = f.json_name().to_owned();
                if let Some(other) = json.insert(key, f.name()) {
                    return Err(self.error(
                        &fpath,
                        format!(
                            "field `{}` has the same JSON name `{}` as `{other}`",
                            f.name(),
                            f.json_name()
                        ),
                    ));
                }
            }
        }
        for (i, x) in m.extension.iter().enumerate() {
            self.number(x.name(), x.number(), &sub(path, 6, i))?;
        }
        for (i, n) in m.nested_type.iter().enumerate() {
            self.message(n, &sub(path, 3, i))?;
        }
        for (i, e) in m.enum_type.iter().enumerate() {
            self.enumeration(e, &sub(path, 4, i))?;
        }
        Ok(())
    }

    fn enumeration(&self, e: &EnumDescriptorProto, path: &[i32]) -> Result<(), Error> {
        let open = match self.syntax {
            Syntax::Proto3 => true,
            Syntax::Proto2 => false,
            // Editions: open unless the enum or the file says CLOSED, which
            // protoc checks the same way; only the first value's number
            // matters here.
            Syntax::Editions => e
                .options
                .as_ref()
                .and_then(|o| o.features.as_ref())
                .and_then(|f| f.enum_type)
                .is_none_or(|t| t == rust_rpc::wkt::feature_set::EnumType::Open),
        };
        if open && self.syntax == Syntax::Proto3 {
            if let Some(first) = e.value.first().filter(|v| v.number() != 0) {
                return Err(self.error(
                    &sub(path, 2, 0),
                    format!(
                        "enum `{}`: the first value must be zero in proto3 (it is `{}` = {})",
                        e.name(),
                        first.name(),
                        first.number()
                    ),
                ));
            }
        }
        let aliases = e
            .options
            .as_ref()
            .and_then(|o| o.allow_alias)
            .unwrap_or(false);
        let mut numbers: HashMap<i32, &str> = HashMap::new();
        for (i, v) in e.value.iter().enumerate() {
            let vpath = sub(path, 2, i);
            let n = v.number();
            if let Some(other) = numbers.insert(n, v.name()) {
                if !aliases {
                    return Err(self.error(
                        &vpath,
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
                    &vpath,
                    format!("enum value `{}`: number {n} is reserved", v.name()),
                ));
            }
            if e.reserved_name.iter().any(|r| r == v.name()) {
                return Err(self.error(
                    &vpath,
                    format!("enum value name `{}` is reserved", v.name()),
                ));
            }
        }
        Ok(())
    }
}
