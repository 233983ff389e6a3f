//! Editions: the file's edition and the `features` of every element.
//!
//! `prost-types` 0.14 predates editions: it drops `FileDescriptorProto.edition`
//! (field 14) and every `FeatureSet` (`features = 50` in each options message).
//! So the generator walks the same descriptor bytes a second time with
//! rust-rpc's own wire decoder and keeps just those fields, in a tree that
//! parallels the descriptors (index for index).

use rust_rpc::encoding::{Decoder, WireType, key_field};
use rust_rpc::error::DecodeError;

/// `Edition` enum values from descriptor.proto.
pub const EDITION_PROTO2: i32 = 998;
/// proto3.
pub const EDITION_PROTO3: i32 = 999;
/// Edition 2023.
pub const EDITION_2023: i32 = 1000;

/// The features set explicitly on one element (unset ones are inherited).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeatureSet {
    /// `FeatureSet.field_presence` (1 EXPLICIT, 2 IMPLICIT, 3 LEGACY_REQUIRED).
    pub field_presence: Option<i32>,
    /// `FeatureSet.enum_type` (1 OPEN, 2 CLOSED).
    pub enum_type: Option<i32>,
    /// `FeatureSet.repeated_field_encoding` (1 PACKED, 2 EXPANDED).
    pub repeated_field_encoding: Option<i32>,
    /// `FeatureSet.utf8_validation` (2 VERIFY, 3 NONE).
    pub utf8_validation: Option<i32>,
    /// `FeatureSet.message_encoding` (1 LENGTH_PREFIXED, 2 DELIMITED).
    pub message_encoding: Option<i32>,
}

impl FeatureSet {
    /// The defaults of `edition`, fully set.
    pub fn defaults(edition: i32) -> Self {
        let (presence, enum_type, repeated, utf8) = match edition {
            EDITION_PROTO2 => (1, 2, 2, 3),
            EDITION_PROTO3 => (2, 1, 1, 2),
            _ => (1, 1, 1, 2),
        };
        Self {
            field_presence: Some(presence),
            enum_type: Some(enum_type),
            repeated_field_encoding: Some(repeated),
            utf8_validation: Some(utf8),
            message_encoding: Some(1),
        }
    }

    /// `self` with the features `child` sets overriding it.
    pub fn with(self, child: &FeatureSet) -> Self {
        Self {
            field_presence: child.field_presence.or(self.field_presence),
            enum_type: child.enum_type.or(self.enum_type),
            repeated_field_encoding: child
                .repeated_field_encoding
                .or(self.repeated_field_encoding),
            utf8_validation: child.utf8_validation.or(self.utf8_validation),
            message_encoding: child.message_encoding.or(self.message_encoding),
        }
    }
}

/// Edition data of one message, parallel to its `DescriptorProto`.
#[derive(Clone, Debug, Default)]
pub struct MessageExtras {
    /// `MessageOptions.features`.
    pub features: FeatureSet,
    /// Per field, in declaration order.
    pub fields: Vec<FeatureSet>,
    /// Per oneof.
    pub oneofs: Vec<FeatureSet>,
    /// Per nested message.
    pub messages: Vec<MessageExtras>,
    /// Per nested enum.
    pub enums: Vec<FeatureSet>,
}

/// Edition data of one file, parallel to its `FileDescriptorProto`.
#[derive(Clone, Debug, Default)]
pub struct FileExtras {
    /// `FileDescriptorProto.edition`, when set.
    pub edition: Option<i32>,
    /// `FileOptions.features`.
    pub features: FeatureSet,
    /// Per top-level message.
    pub messages: Vec<MessageExtras>,
    /// Per top-level enum.
    pub enums: Vec<FeatureSet>,
}

/// Walks the length-delimited fields of `bytes`, calling `f(field, payload)`
/// for each; other wire types are skipped.
fn for_each_len(
    bytes: &[u8],
    mut f: impl FnMut(u32, &[u8]) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut d = Decoder::new(bytes);
    while !d.is_empty() {
        let key = d.read_key()?;
        if WireType::from_key(key) == Some(WireType::LengthDelimited) {
            let payload = d.read_slice()?;
            f(key_field(key), payload)?;
        } else {
            d.skip_value(key)?;
        }
    }
    Ok(())
}

/// Field number of `features` in each options message of descriptor.proto.
const FILE_FEATURES: u32 = 50;
const MESSAGE_FEATURES: u32 = 12;
const FIELD_FEATURES: u32 = 21;
const ONEOF_FEATURES: u32 = 1;
const ENUM_FEATURES: u32 = 7;

/// Reads the `features` (field `features_field`) of an options message.
fn options_features(options: &[u8], features_field: u32) -> Result<FeatureSet, DecodeError> {
    let mut out = FeatureSet::default();
    for_each_len(options, |field, payload| {
        if field == features_field {
            let mut d = Decoder::new(payload);
            while !d.is_empty() {
                let key = d.read_key()?;
                if WireType::from_key(key) != Some(WireType::Varint) {
                    d.skip_value(key)?;
                    continue;
                }
                let v = Some(d.read_varint()? as i32);
                match key_field(key) {
                    1 => out.field_presence = v,
                    2 => out.enum_type = v,
                    3 => out.repeated_field_encoding = v,
                    4 => out.utf8_validation = v,
                    5 => out.message_encoding = v,
                    _ => {}
                }
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Features of an element whose options are field `options_field` of it.
fn element_features(
    bytes: &[u8],
    options_field: u32,
    features_field: u32,
) -> Result<FeatureSet, DecodeError> {
    let mut out = FeatureSet::default();
    for_each_len(bytes, |field, payload| {
        if field == options_field {
            out = out.with(&options_features(payload, features_field)?);
        }
        Ok(())
    })?;
    Ok(out)
}

fn message_extras(bytes: &[u8]) -> Result<MessageExtras, DecodeError> {
    let mut out = MessageExtras::default();
    for_each_len(bytes, |field, payload| {
        match field {
            2 => out
                .fields
                .push(element_features(payload, 8, FIELD_FEATURES)?),
            3 => out.messages.push(message_extras(payload)?),
            4 => out.enums.push(element_features(payload, 3, ENUM_FEATURES)?),
            7 => {
                out.features = out
                    .features
                    .with(&options_features(payload, MESSAGE_FEATURES)?)
            }
            8 => out
                .oneofs
                .push(element_features(payload, 2, ONEOF_FEATURES)?),
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

/// Reads the edition data of one encoded `FileDescriptorProto`.
pub fn file_extras(bytes: &[u8]) -> Result<FileExtras, DecodeError> {
    let mut out = FileExtras::default();
    for_each_len(bytes, |field, payload| {
        match field {
            4 => out.messages.push(message_extras(payload)?),
            5 => out.enums.push(element_features(payload, 3, ENUM_FEATURES)?),
            8 => {
                out.features = out
                    .features
                    .with(&options_features(payload, FILE_FEATURES)?)
            }
            _ => {}
        }
        Ok(())
    })?;
    let mut d = Decoder::new(bytes);
    while !d.is_empty() {
        let key = d.read_key()?;
        if key == (14 << 3) {
            out.edition = Some(d.read_varint()? as i32);
        } else {
            d.skip_value(key)?;
        }
    }
    Ok(out)
}

/// The encoded `FileDescriptorProto`s in a message whose field `field`
/// repeats them (`CodeGeneratorRequest.proto_file` = 15,
/// `FileDescriptorSet.file` = 1).
pub fn files_in(bytes: &[u8], field: u32) -> Result<Vec<FileExtras>, DecodeError> {
    let mut out = Vec::new();
    for_each_len(bytes, |f, payload| {
        if f == field {
            out.push(file_extras(payload)?);
        }
        Ok(())
    })?;
    Ok(out)
}
