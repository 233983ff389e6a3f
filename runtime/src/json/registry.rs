//! The message types an `Any` may hold in JSON: its JSON form names the
//! type (`"@type": "type.googleapis.com/pkg.Msg"`) and spells the packed
//! message's fields inline, so writing and reading it takes the type's
//! JSON code, found here by name.

use std::collections::HashMap;

use std::sync::Arc;

use super::extension::{ExtensionEntry, ExtensionFormats};
use super::{FieldSet, JsonError, JsonMessage, JsonReader, JsonValue, ObjectWriter};
use crate::extension::{Extendable, Extension};
use crate::message::Message;
use crate::text::{TextError, TextMessage, TextReader, TextWriter};

/// Message types by full name, for `Any` in JSON, and extensions, for
/// `"[pkg.ext]"` members. The well-known types are always known; add the
/// other types an `Any` may hold and the extensions to read and write.
///
/// ```
/// use std::sync::Arc;
/// use rust_rpc::json::{JsonOptions, TypeRegistry};
/// use rust_rpc::wkt::SourceContext;
///
/// let mut types = TypeRegistry::new();
/// types.add::<SourceContext>();
/// let options = JsonOptions::default().types(Arc::new(types));
/// let any = rust_rpc::wkt::Any::pack(&SourceContext { file_name: "a.proto".into(), ..Default::default() });
/// assert_eq!(
///     rust_rpc::json::to_string_with(&any, &options).unwrap(),
///     r#"{"@type":"type.googleapis.com/google.protobuf.SourceContext","fileName":"a.proto"}"#
/// );
/// ```
#[derive(Clone, Default)]
pub struct TypeRegistry {
    types: HashMap<&'static str, AnyType>,
    // By full name, and the names of each extendee's extensions.
    extensions: HashMap<&'static str, Arc<ExtensionEntry>>,
    by_extendee: HashMap<&'static str, Vec<Arc<ExtensionEntry>>>,
}

impl std::fmt::Debug for TypeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.types.keys().chain(self.extensions.keys()).collect();
        names.sort();
        f.debug_set().entries(names).finish()
    }
}

impl TypeRegistry {
    /// An empty registry (the well-known types need no entry).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds message type `M`.
    pub fn add<M: Message + JsonMessage + TextMessage>(&mut self) -> &mut Self {
        self.types.insert(M::NAME, AnyType::fields::<M>());
        self
    }

    /// Adds extension `ext`, so that JSON for its extendee reads and
    /// writes it as `"[full.name]"`.
    pub fn add_extension<M: Extendable, T: ExtensionFormats>(
        &mut self,
        ext: &Extension<M, T>,
    ) -> &mut Self
    where
        T::Default: Send + Sync,
    {
        let entry = Arc::new(ExtensionEntry::new(*ext));
        if self
            .extensions
            .insert(ext.full_name(), entry.clone())
            .is_none()
        {
            self.by_extendee.entry(M::NAME).or_default().push(entry);
        }
        self
    }

    /// True if `name` (a full name, `pkg.Msg` or `pkg.ext`) is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.types.contains_key(name) || self.extensions.contains_key(name)
    }

    pub(crate) fn extension(&self, name: &str) -> Option<&ExtensionEntry> {
        self.extensions.get(name).map(|e| &**e)
    }

    pub(crate) fn extensions_of(&self, extendee: &str) -> impl Iterator<Item = &ExtensionEntry> {
        self.by_extendee
            .get(extendee)
            .into_iter()
            .flatten()
            .map(|e| &**e)
    }

    pub(crate) fn get(&self, name: &str) -> Option<AnyType> {
        self.types.get(name).copied()
    }
}

/// The JSON and text code of the type a type URL names: a well-known
/// type, or one in `types`.
pub(crate) fn any_type(types: Option<&TypeRegistry>, url: &str) -> Option<AnyType> {
    let name = url.rsplit('/').next().unwrap_or(url);
    super::wkt::well_known(name).or_else(|| types.and_then(|t| t.get(name)))
}

/// How one type's packed bytes become the members of an `Any`'s JSON
/// object or its expanded text-format block, and back.
#[derive(Clone, Copy)]
pub(crate) struct AnyType {
    pub(crate) write: fn(&[u8], &mut ObjectWriter<'_, '_>) -> Result<(), JsonError>,
    pub(crate) read: fn(&mut JsonReader<'_>) -> Result<Vec<u8>, JsonError>,
    pub(crate) write_text: fn(&[u8], &mut TextWriter<'_>) -> Result<(), TextError>,
    pub(crate) read_text: fn(&mut TextReader<'_>) -> Result<Vec<u8>, TextError>,
}

fn write_text<M: Message + TextMessage>(
    bytes: &[u8],
    w: &mut TextWriter<'_>,
) -> Result<(), TextError> {
    w.message(&unpack::<M>(bytes)?)
}

fn read_text<M: Message + TextMessage>(r: &mut TextReader<'_>) -> Result<Vec<u8>, TextError> {
    let mut m = M::default();
    r.message(&mut m)?;
    Ok(m.encode_to_vec())
}

impl AnyType {
    /// An ordinary message: its fields sit beside `@type`.
    pub(crate) fn fields<M: Message + JsonMessage + TextMessage>() -> Self {
        Self {
            write_text: write_text::<M>,
            read_text: read_text::<M>,
            write: |bytes, o| unpack::<M>(bytes)?.write_json_fields(o),
            read: |r| {
                let mut m = M::default();
                r.begin_object()?;
                let mut seen = FieldSet::new();
                let mut first = true;
                while let Some(key) = r.next_key(&mut first)? {
                    if key == "@type" {
                        r.skip_value()?;
                    } else if !m.merge_json_field(&key, r, &mut seen)? {
                        r.unknown_field(&key)?;
                    }
                }
                Ok(m.encode_to_vec())
            },
        }
    }

    /// A well-known type with a special form: it sits in `value`.
    pub(crate) fn special<M: Message + JsonValue + TextMessage>() -> Self {
        Self {
            write_text: write_text::<M>,
            read_text: read_text::<M>,
            write: |bytes, o| o.member("value", "value", &unpack::<M>(bytes)?),
            read: |r| {
                let mut value = None;
                r.begin_object()?;
                let mut first = true;
                while let Some(key) = r.next_key(&mut first)? {
                    match &*key {
                        "@type" => r.skip_value()?,
                        "value" if value.is_none() => {
                            value = Some(
                                M::read_json(r)
                                    .map_err(|e| e.in_field("value"))?
                                    .unwrap_or_default(),
                            );
                        }
                        "value" => return Err(r.error("\"value\" given more than once")),
                        _ => r.unknown_field(&key)?,
                    }
                }
                match value {
                    Some(v) => Ok(v.encode_to_vec()),
                    None => Err(r.error(format!("an Any holding a {} needs \"value\"", M::NAME))),
                }
            },
        }
    }
}

fn unpack<M: Message>(bytes: &[u8]) -> Result<M, JsonError> {
    M::decode_slice(bytes)
        .map_err(|e| JsonError::new(format!("the Any's {} does not decode: {e}", M::NAME)))
}
