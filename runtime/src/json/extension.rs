//! Extensions in JSON and the text format: a member (a field) named by the
//! extension's full name in brackets (`"[pkg.ext]": 1`, `[pkg.ext]: 1`),
//! read and written for the extensions in the options'
//! [`TypeRegistry`](super::TypeRegistry), through the typed extension API
//! (values live in the message's unknown fields).

use std::any::Any;

use super::{JsonError, JsonReader, JsonValue, JsonWriter, ObjectWriter, TypeRegistry};
use crate::extension::{Defaulted, Extendable, ExtensionType, Kind, Optional, Repeated};
use crate::text::{TextError, TextReader, TextValue, TextWriter};

/// An extension whose values have JSON and text forms.
pub trait ExtensionFormats: ExtensionType {
    /// Writes the value read from a message that has it.
    fn write_json(value: &Self::Get, w: &mut JsonWriter<'_>) -> Result<(), JsonError>;
    /// Reads a value to set; `None` to set nothing (`null`, an ignored
    /// enum name).
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self::Set>, JsonError>;
    /// Writes the value as text-format fields named `name` (one per
    /// element when repeated).
    fn write_text(value: &Self::Get, name: &str, w: &mut TextWriter<'_>) -> Result<(), TextError>;
    /// Reads what follows the name in the text format: one value (for a
    /// repeated extension, one or a `[...]` list, added to `current`).
    fn read_text(
        r: &mut TextReader<'_>,
        name: &'static str,
        current: Self::Get,
    ) -> Result<Self::Set, TextError>;
    /// Repeated: may be given more than once.
    const REPEATED: bool;
    /// Whether a value read from a message holds anything to write (an
    /// optional one whose records all failed to decode, such as unknown
    /// numbers of a closed enum, does not).
    fn has_value(value: &Self::Get) -> bool;
}

fn read_one<V: JsonValue>(r: &mut JsonReader<'_>) -> Result<Option<V>, JsonError> {
    if !V::NULL_IS_VALUE && r.peek_null()? {
        return Ok(None);
    }
    V::read_json(r)
}

impl<K: Kind> ExtensionFormats for Optional<K>
where
    K::Value: JsonValue + TextValue,
{
    const REPEATED: bool = false;
    fn has_value(value: &Option<K::Value>) -> bool {
        value.is_some()
    }
    fn write_text(
        value: &Option<K::Value>,
        name: &str,
        w: &mut TextWriter<'_>,
    ) -> Result<(), TextError> {
        w.optional(name, value)
    }
    fn read_text(
        r: &mut TextReader<'_>,
        name: &'static str,
        _: Option<K::Value>,
    ) -> Result<K::Value, TextError> {
        r.value(name)
    }
    fn write_json(value: &Option<K::Value>, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        match value {
            Some(v) => v.write_json(w),
            None => {
                w.null();
                Ok(())
            }
        }
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<K::Value>, JsonError> {
        read_one(r)
    }
}

impl<K: Kind> ExtensionFormats for Defaulted<K>
where
    K::Value: JsonValue + TextValue,
{
    const REPEATED: bool = false;
    fn has_value(_: &K::Value) -> bool {
        true
    }
    fn write_text(value: &K::Value, name: &str, w: &mut TextWriter<'_>) -> Result<(), TextError> {
        w.field(name, value)
    }
    fn read_text(
        r: &mut TextReader<'_>,
        name: &'static str,
        _: K::Value,
    ) -> Result<K::Value, TextError> {
        r.value(name)
    }
    fn write_json(value: &K::Value, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        value.write_json(w)
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<K::Value>, JsonError> {
        read_one(r)
    }
}

impl<K: Kind, const PACKED: bool> ExtensionFormats for Repeated<K, PACKED>
where
    K::Value: JsonValue + TextValue,
{
    const REPEATED: bool = true;
    fn has_value(values: &Vec<K::Value>) -> bool {
        !values.is_empty()
    }
    fn write_text(
        values: &Vec<K::Value>,
        name: &str,
        w: &mut TextWriter<'_>,
    ) -> Result<(), TextError> {
        w.repeated(name, values)
    }
    fn read_text(
        r: &mut TextReader<'_>,
        name: &'static str,
        mut current: Vec<K::Value>,
    ) -> Result<Vec<K::Value>, TextError> {
        r.repeated(name, &mut current)?;
        Ok(current)
    }
    fn write_json(values: &Vec<K::Value>, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        w.list(values)
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Vec<K::Value>>, JsonError> {
        if r.peek_null()? {
            return Ok(None);
        }
        let mut values = Vec::new();
        r.list(&mut values)?;
        Ok(Some(values))
    }
}

type WriteFn = dyn Fn(&dyn Any, &mut ObjectWriter<'_, '_>) -> Result<(), JsonError> + Send + Sync;
type ReadFn = dyn Fn(&mut dyn Any, &mut JsonReader<'_>) -> Result<(), JsonError> + Send + Sync;
type WriteTextFn = dyn Fn(&dyn Any, &mut TextWriter<'_>) -> Result<(), TextError> + Send + Sync;
type ReadTextFn = dyn Fn(&mut dyn Any, &mut TextReader<'_>) -> Result<(), TextError> + Send + Sync;

/// One registered extension, its type erased: what the registry keeps.
pub(crate) struct ExtensionEntry {
    pub(crate) extendee: &'static str,
    pub(crate) write: Box<WriteFn>,
    pub(crate) read: Box<ReadFn>,
    pub(crate) write_text: Box<WriteTextFn>,
    pub(crate) read_text: Box<ReadTextFn>,
}

impl ExtensionEntry {
    pub(crate) fn new<M: Extendable, T: ExtensionFormats>(
        ext: crate::extension::Extension<M, T>,
    ) -> Self
    where
        T::Default: Send + Sync,
    {
        // The member name, escaped for a JSON key (full names are
        // identifiers and dots: nothing to escape).
        let key: &'static str = Box::leak(format!("[{}]", ext.full_name()).into_boxed_str());
        Self {
            extendee: M::NAME,
            write: Box::new(move |m, o| {
                let Some(m) = m.downcast_ref::<M>() else {
                    return Ok(());
                };
                if !m.has_extension(&ext) {
                    return Ok(());
                }
                let value = m
                    .try_extension(&ext)
                    .map_err(|e| JsonError::new(format!("extension {key} does not decode: {e}")))?;
                if !T::has_value(&value) {
                    return Ok(());
                }
                T::write_json(&value, o.key(key)).map_err(|e| e.in_field(key))
            }),
            read: Box::new(move |m, r| {
                let Some(m) = m.downcast_mut::<M>() else {
                    return Err(r.error(format!("{key} does not extend this message")));
                };
                if m.has_extension(&ext) {
                    return Err(r.key_error(format!("field {key:?} given more than once")));
                }
                if let Some(v) = T::read_json(r).map_err(|e| e.in_field(key))? {
                    m.set_extension(&ext, v);
                }
                Ok(())
            }),
            write_text: Box::new(move |m, w| {
                let Some(m) = m.downcast_ref::<M>() else {
                    return Ok(());
                };
                if !m.has_extension(&ext) {
                    return Ok(());
                }
                let value = m
                    .try_extension(&ext)
                    .map_err(|e| TextError::new(format!("extension {key} does not decode: {e}")))?;
                if !T::has_value(&value) {
                    return Ok(());
                }
                T::write_text(&value, key, w)
            }),
            read_text: Box::new(move |m, r| {
                let Some(m) = m.downcast_mut::<M>() else {
                    return Err(r.key_error(format!("{key} does not extend this message")));
                };
                if !T::REPEATED && m.has_extension(&ext) {
                    return Err(r.key_error(format!("field {key} given more than once")));
                }
                let current = m.extension(&ext);
                let v = T::read_text(r, key, current)?;
                m.set_extension(&ext, v);
                Ok(())
            }),
        }
    }
}

/// The registered extensions of `m`'s type, if it holds any unknown fields
/// (where extension values live).
fn registered<'t, M: Extendable>(
    types: Option<&'t TypeRegistry>,
    m: &M,
) -> impl Iterator<Item = &'t ExtensionEntry> {
    types
        .filter(|_| !m.unknown_fields().as_bytes().is_empty())
        .into_iter()
        .flat_map(|t| t.extensions_of(M::NAME))
}

/// The registered extension of `M` named by a bracketed field name
/// (`[pkg.ext]`).
fn named<'t, M: Extendable>(
    types: Option<&'t TypeRegistry>,
    key: &str,
) -> Option<&'t ExtensionEntry> {
    let name = key.strip_prefix('[')?.strip_suffix(']')?;
    types?.extension(name).filter(|e| e.extendee == M::NAME)
}

/// Writes the extensions of `m` that the options' registry knows, as
/// `"[full.name]": value` members. Generated code calls it last in every
/// message that declares extension ranges.
pub fn write_extensions<M: Extendable>(
    o: &mut ObjectWriter<'_, '_>,
    m: &M,
) -> Result<(), JsonError> {
    let types = o.options().types.clone();
    registered(types.as_deref(), m).try_for_each(|entry| (entry.write)(m, o))
}

/// Reads member `key` as an extension of `m` if it is `[full.name]` of one
/// the options' registry knows for `M`; `Ok(false)`, reading nothing,
/// otherwise. Generated code calls it for bracketed keys.
pub fn read_extension<M: Extendable>(
    r: &mut JsonReader<'_>,
    key: &str,
    m: &mut M,
) -> Result<bool, JsonError> {
    let types = r.options().types.clone();
    let Some(entry) = named::<M>(types.as_deref(), key) else {
        return Ok(false);
    };
    (entry.read)(m, r)?;
    Ok(true)
}

/// Writes the extensions of `m` that the options' registry knows, as
/// `[full.name]: value` fields. Generated code calls it in every message
/// that declares extension ranges.
pub fn write_text_extensions<M: Extendable>(
    w: &mut TextWriter<'_>,
    m: &M,
) -> Result<(), TextError> {
    let types = w.options().types.clone();
    registered(types.as_deref(), m).try_for_each(|entry| (entry.write_text)(m, w))
}

/// Reads text-format field `name` as an extension of `m` if it is
/// `[full.name]` of one the options' registry knows for `M`; `Ok(false)`,
/// reading nothing, otherwise.
pub fn read_text_extension<M: Extendable>(
    r: &mut TextReader<'_>,
    name: &str,
    m: &mut M,
) -> Result<bool, TextError> {
    let types = r.options().types.clone();
    let Some(entry) = named::<M>(types.as_deref(), name) else {
        return Ok(false);
    };
    (entry.read_text)(m, r)?;
    Ok(true)
}
