//! Editions: a file's edition and the features every element resolves to.
//!
//! Features are read from the descriptors themselves
//! (`FileOptions.features`, `MessageOptions.features`, ...), which the
//! runtime's own `descriptor.proto` types decode as typed values. An element
//! inherits its parent's resolved features and overrides those it sets:
//! file -> message -> nested message / field / oneof -> field, and
//! file or message -> enum, as protoc resolves them.

use rust_rpc::wkt::feature_set::{
    EnumType, FieldPresence, JsonFormat, MessageEncoding, RepeatedFieldEncoding, Utf8Validation,
};
use rust_rpc::wkt::{Edition, FeatureSet, FileDescriptorProto};

use crate::Error;

/// The newest edition this generator reads.
pub const MAXIMUM_EDITION: Edition = Edition::Edition2023;

/// The oldest edition (proto2 counts as one) this generator reads.
pub const MINIMUM_EDITION: Edition = Edition::Proto2;

/// Every feature of descriptor.proto's `FeatureSet` that changes generated
/// code, fully resolved for one element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    /// Whether singular fields track presence.
    pub field_presence: FieldPresence,
    /// Whether enums keep unknown values (open) or not (closed).
    pub enum_type: EnumType,
    /// Packed or expanded repeated scalars.
    pub repeated_field_encoding: RepeatedFieldEncoding,
    /// Whether `string` fields must hold UTF-8.
    pub utf8_validation: Utf8Validation,
    /// Messages as length-prefixed fields or as groups.
    pub message_encoding: MessageEncoding,
    /// Whether the JSON mapping must be well defined.
    pub json_format: JsonFormat,
}

impl Features {
    /// The defaults of `edition` (descriptor.proto's `edition_defaults`).
    pub fn defaults(edition: Edition) -> Self {
        let edition_2023 = Self {
            field_presence: FieldPresence::Explicit,
            enum_type: EnumType::Open,
            repeated_field_encoding: RepeatedFieldEncoding::Packed,
            utf8_validation: Utf8Validation::Verify,
            message_encoding: MessageEncoding::LengthPrefixed,
            json_format: JsonFormat::Allow,
        };
        match edition {
            Edition::Proto2 => Self {
                field_presence: FieldPresence::Explicit,
                enum_type: EnumType::Closed,
                repeated_field_encoding: RepeatedFieldEncoding::Expanded,
                utf8_validation: Utf8Validation::None,
                message_encoding: MessageEncoding::LengthPrefixed,
                json_format: JsonFormat::LegacyBestEffort,
            },
            Edition::Proto3 => Self {
                field_presence: FieldPresence::Implicit,
                ..edition_2023
            },
            _ => edition_2023,
        }
    }

    /// `self` with the features that `set` sets overriding it. A value of
    /// `*_UNKNOWN` (0) counts as unset, as protoc treats it.
    pub fn with(self, set: Option<&FeatureSet>) -> Self {
        let Some(set) = set else {
            return self;
        };
        fn pick<T: Copy + PartialEq + Default>(own: Option<T>, inherited: T) -> T {
            own.filter(|v| *v != T::default()).unwrap_or(inherited)
        }
        Self {
            field_presence: pick(set.field_presence, self.field_presence),
            enum_type: pick(set.enum_type, self.enum_type),
            repeated_field_encoding: pick(
                set.repeated_field_encoding,
                self.repeated_field_encoding,
            ),
            utf8_validation: pick(set.utf8_validation, self.utf8_validation),
            message_encoding: pick(set.message_encoding, self.message_encoding),
            json_format: pick(set.json_format, self.json_format),
        }
    }
}

/// The edition a file is written in: `syntax` for proto2 and proto3 files,
/// `edition` for editions files. Editions newer than [`MAXIMUM_EDITION`]
/// are an error that says so.
pub fn file_edition(file: &FileDescriptorProto) -> Result<Edition, Error> {
    match file.syntax.as_deref() {
        None | Some("") | Some("proto2") => Ok(Edition::Proto2),
        Some("proto3") => Ok(Edition::Proto3),
        Some("editions") => match file.edition {
            Some(Edition::Edition2023) | None => Ok(Edition::Edition2023),
            Some(e) => Err(Error::new(
                file.name(),
                format!(
                    "edition {} is not supported (this generator supports editions up to 2023)",
                    edition_name(e)
                ),
            )),
        },
        Some(other) => Err(Error::new(
            file.name(),
            format!("unsupported syntax \"{other}\""),
        )),
    }
}

/// How an edition is written in a `.proto` file (`2024`), or its enum name.
fn edition_name(e: Edition) -> String {
    use rust_rpc::Enumeration as _;
    let name = e.as_str_name();
    name.strip_prefix("EDITION_")
        .filter(|rest| rest.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or(name)
        .to_owned()
}

/// The features a file's own elements start from: the edition's defaults,
/// and for editions files, `FileOptions.features` on top.
pub fn file_features(file: &FileDescriptorProto, edition: Edition) -> Features {
    let defaults = Features::defaults(edition);
    if edition == Edition::Edition2023 {
        defaults.with(file.options.as_ref().and_then(|o| o.features.as_ref()))
    } else {
        defaults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_override_only_what_they_set() {
        let file = Features::defaults(Edition::Edition2023);
        let set = FeatureSet {
            field_presence: Some(FieldPresence::Implicit),
            enum_type: Some(EnumType::Unknown),
            ..Default::default()
        };
        let child = file.with(Some(&set));
        assert_eq!(child.field_presence, FieldPresence::Implicit);
        assert_eq!(child.enum_type, EnumType::Open, "UNKNOWN is unset");
        assert_eq!(child.utf8_validation, Utf8Validation::Verify);
        assert_eq!(file.with(None), file);
    }

    #[test]
    fn syntax_and_edition() {
        let file = |syntax: Option<&str>, edition| FileDescriptorProto {
            name: Some("x.proto".into()),
            syntax: syntax.map(str::to_owned),
            edition,
            ..Default::default()
        };
        assert_eq!(file_edition(&file(None, None)), Ok(Edition::Proto2));
        assert_eq!(
            file_edition(&file(Some("proto3"), None)),
            Ok(Edition::Proto3)
        );
        assert_eq!(
            file_edition(&file(Some("editions"), Some(Edition::Edition2023))),
            Ok(Edition::Edition2023)
        );
        let err = file_edition(&file(Some("editions"), Some(Edition::Edition2024)))
            .expect_err("2024 is newer than this generator");
        assert!(err.message.contains("edition 2024"), "{err}");
        assert!(file_edition(&file(Some("proto4"), None)).is_err());
        assert_eq!(
            Features::defaults(Edition::Proto3).field_presence,
            FieldPresence::Implicit
        );
        assert_eq!(
            Features::defaults(Edition::Proto2).enum_type,
            EnumType::Closed
        );
    }
}
