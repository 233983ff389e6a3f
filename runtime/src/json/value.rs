//! How each kind of field value appears in JSON: numbers (64-bit ones as
//! strings), floats with `NaN`/`Infinity`, strings, base64 bytes, enums by
//! name, and map keys as strings.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

use super::{JsonError, JsonReader, JsonWriter};
use crate::enumeration::{Enumeration, OpenEnum};
use crate::text::TextValue;

/// A value that is one JSON value: a scalar, an enum, a message.
pub trait JsonValue: Sized {
    /// JSON `null` reads as a value of this type (`google.protobuf.Value`,
    /// `NullValue`) rather than as "not set".
    const NULL_IS_VALUE: bool = false;

    /// Writes the value.
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError>;

    /// Reads a value; `None` when the input is to be ignored (an enum
    /// name the schema does not declare, with `ignore_unknown_fields`).
    /// Called on `null` only if [`JsonValue::NULL_IS_VALUE`].
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError>;

    /// True at the value a field without presence leaves out.
    fn is_default_json(&self) -> bool {
        false
    }
}

impl JsonValue for bool {
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        w.bool(*self);
        Ok(())
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        r.bool().map(Some)
    }
    fn is_default_json(&self) -> bool {
        !*self
    }
}

/// Parses an integer from JSON number text: digits exactly, or a number
/// with a fraction or exponent whose value is a whole number in range
/// (`1e5`, `100.0`).
pub(crate) fn integer<T: TryFrom<i128>>(text: &str) -> Result<T, &'static str> {
    let b = text.as_bytes();
    // The common case: up to 19 digits fit a u64 (10^19 - 1 < 2^64).
    let (negative, digits) = match b {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, b),
    };
    if !digits.is_empty() && digits.len() <= 19 && digits.iter().all(u8::is_ascii_digit) {
        let magnitude = digits
            .iter()
            .fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
        let wide = if negative {
            -i128::from(magnitude)
        } else {
            i128::from(magnitude)
        };
        return T::try_from(wide).map_err(|_| "integer out of range");
    }
    let plain = b.iter().all(|c| c.is_ascii_digit() || *c == b'-');
    let wide: i128 = if plain {
        // At most 39 digits fit an i128; more overflow any protobuf type.
        text.parse().map_err(|_| "integer out of range")?
    } else {
        let f: f64 = text.parse().map_err(|_| "not a number")?;
        if f.fract() != 0.0 || !f.is_finite() {
            return Err("not an integer");
        }
        if f.abs() > 1.9e19 {
            return Err("integer out of range");
        }
        f as i128
    };
    T::try_from(wide).map_err(|_| "integer out of range")
}

macro_rules! integers {
    ($($t:ty, $write:ident;)*) => {$(
        impl JsonValue for $t {
            #[inline]
            fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
                w.$write(*self);
                Ok(())
            }
            fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
                let at = r.mark();
                let text = r.number_or_string(&[])?;
                match integer(&text) {
                    Ok(v) => Ok(Some(v)),
                    Err(why) => {
                        r.rewind(at);
                        Err(r.error(format!("{text}: {why} for {}", stringify!($t))))
                    }
                }
            }
            #[inline]
            fn is_default_json(&self) -> bool {
                *self == 0
            }
        }
    )*};
}

integers! {
    i32, number;
    u32, number;
    i64, quoted_number;
    u64, quoted_number;
}

const FLOAT_WORDS: &[&str] = &["NaN", "Infinity", "-Infinity"];

fn read_double(r: &mut JsonReader<'_>) -> Result<f64, JsonError> {
    let at = r.mark();
    let text = r.number_or_string(FLOAT_WORDS)?;
    let v = match &*text {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        number => match number.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                r.rewind(at);
                return Err(r.error(format!("{number}: out of range for a double")));
            }
        },
    };
    Ok(v)
}

impl JsonValue for f64 {
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        w.double(*self);
        Ok(())
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        read_double(r).map(Some)
    }
    fn is_default_json(&self) -> bool {
        // -0.0 is written: it is not the default bit pattern.
        self.to_bits() == 0
    }
}

impl JsonValue for f32 {
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        w.float(*self);
        Ok(())
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        let at = r.mark();
        let v = read_double(r)?;
        // Rounds to the nearest float; what rounds past the largest one is
        // out of range.
        let f = v as f32;
        if v.is_finite() && !f.is_finite() {
            r.rewind(at);
            return Err(r.error(format!("{v}: out of range for a float")));
        }
        Ok(Some(f))
    }
    fn is_default_json(&self) -> bool {
        self.to_bits() == 0
    }
}

impl JsonValue for String {
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        w.string(self);
        Ok(())
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        r.string().map(|s| Some(s.into_owned()))
    }
    fn is_default_json(&self) -> bool {
        self.is_empty()
    }
}

fn read_base64(r: &mut JsonReader<'_>) -> Result<Vec<u8>, JsonError> {
    let at = r.mark();
    let s = r.string()?;
    super::base64::decode(&s).map_err(|why| {
        r.rewind(at);
        r.error(format!("bytes: {why}"))
    })
}

impl JsonValue for Vec<u8> {
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        w.bytes(self);
        Ok(())
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        read_base64(r).map(Some)
    }
    fn is_default_json(&self) -> bool {
        self.is_empty()
    }
}

impl JsonValue for bytes::Bytes {
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        w.bytes(self);
        Ok(())
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        read_base64(r).map(|v| Some(v.into()))
    }
    fn is_default_json(&self) -> bool {
        self.is_empty()
    }
}

impl<T: JsonValue> JsonValue for Box<T> {
    const NULL_IS_VALUE: bool = T::NULL_IS_VALUE;
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        (**self).write_json(w)
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        T::read_json(r).map(|v| v.map(Box::new))
    }
    fn is_default_json(&self) -> bool {
        (**self).is_default_json()
    }
}

/// Writes an enum value by name (or number, with `enums_as_numbers`).
/// Generated enums' [`JsonValue`] calls this.
#[inline]
pub fn write_enum<E: Enumeration>(w: &mut JsonWriter<'_>, e: E) -> Result<(), JsonError> {
    if w.options().enums_as_numbers {
        w.number(e.to_i32());
    } else {
        w.string(e.as_str_name());
    }
    Ok(())
}

/// Reads an enum value: its name as a string, or its number. `open` enums
/// keep numbers they do not declare; closed ones reject them. Unknown names
/// (and, for closed enums, unknown numbers) read as `None` with
/// `ignore_unknown_fields`, and are an error otherwise.
pub fn read_enum<E: Enumeration>(
    r: &mut JsonReader<'_>,
    open: bool,
) -> Result<Option<OpenEnum<E>>, JsonError> {
    let at = r.mark();
    if r.peek_kind()? == super::read::Kind::String {
        let name = r.string()?;
        return match E::from_str_name(&name) {
            Some(e) => Ok(Some(OpenEnum::Known(e))),
            None if r.options().ignore_unknown_fields => Ok(None),
            None => {
                r.rewind(at);
                Err(r.error(format!("{name:?} is not a value of the enum")))
            }
        };
    }
    let text = r.number()?;
    let n: i32 = integer(text).map_err(|why| {
        r.rewind(at);
        r.error(format!("{text}: {why} for an enum"))
    })?;
    match E::from_i32(n) {
        Some(e) => Ok(Some(OpenEnum::Known(e))),
        None if open => Ok(Some(OpenEnum::Unknown(n))),
        None if r.options().ignore_unknown_fields => Ok(None),
        None => {
            r.rewind(at);
            Err(r.error(format!("{n} is not a value of the (closed) enum")))
        }
    }
}

impl<E: Enumeration + JsonValue> JsonValue for OpenEnum<E> {
    const NULL_IS_VALUE: bool = E::NULL_IS_VALUE;
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        match self {
            // Every NullValue is JSON's null, whatever number it holds.
            Self::Unknown(_) if E::NULL_IS_VALUE => {
                w.null();
                Ok(())
            }
            Self::Known(e) => e.write_json(w),
            Self::Unknown(n) => {
                w.number(*n);
                Ok(())
            }
        }
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        if E::NULL_IS_VALUE {
            return Ok(E::read_json(r)?.map(OpenEnum::Known));
        }
        read_enum(r, true)
    }
    fn is_default_json(&self) -> bool {
        self.is_default()
    }
}

/// A map key: written and read as a JSON object's member name.
pub trait JsonMapKey: Sized {
    /// Writes the key as a JSON string.
    fn write_key(&self, w: &mut JsonWriter<'_>);
    /// Parses a member name (already unescaped).
    fn read_key(key: &str) -> Result<Self, Cow<'static, str>>;
    /// Adds this key to the path of an error in its value.
    fn error_at(&self, e: JsonError) -> JsonError;
}

impl JsonMapKey for String {
    fn write_key(&self, w: &mut JsonWriter<'_>) {
        w.string(self);
    }
    fn read_key(key: &str) -> Result<Self, Cow<'static, str>> {
        Ok(key.to_owned())
    }
    fn error_at(&self, e: JsonError) -> JsonError {
        e.at_key(self.as_str())
    }
}

impl JsonMapKey for bool {
    fn write_key(&self, w: &mut JsonWriter<'_>) {
        w.raw(if *self { "\"true\"" } else { "\"false\"" });
    }
    fn read_key(key: &str) -> Result<Self, Cow<'static, str>> {
        match key {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("expected \"true\" or \"false\"".into()),
        }
    }
    fn error_at(&self, e: JsonError) -> JsonError {
        e.at_key(self.to_string())
    }
}

macro_rules! integer_keys {
    ($($t:ty),*) => {$(
        impl JsonMapKey for $t {
            fn write_key(&self, w: &mut JsonWriter<'_>) {
                w.quoted_number(*self);
            }
            fn read_key(key: &str) -> Result<Self, Cow<'static, str>> {
                if super::read::number_len(key.as_bytes()) != Some(key.len()) {
                    return Err("not an integer".into());
                }
                integer(key).map_err(Cow::Borrowed)
            }
            fn error_at(&self, e: JsonError) -> JsonError {
                e.at_key(self.to_string())
            }
        }
    )*};
}

integer_keys!(i32, i64, u32, u64);

/// A map field's container (`HashMap` or `BTreeMap`), as JSON and the
/// text format see it.
pub trait MapField {
    /// The key type.
    type Key: JsonMapKey + TextValue + Ord;
    /// The value type.
    type Value: JsonValue + TextValue;
    /// No entries.
    fn is_empty(&self) -> bool;
    /// Every entry, in the container's order.
    fn entries(&self) -> Vec<(&Self::Key, &Self::Value)>;
    /// Calls `f` on every entry, stopping at the first error.
    fn try_for_each<F>(&self, f: F) -> Result<(), JsonError>
    where
        F: FnMut(&Self::Key, &Self::Value) -> Result<(), JsonError>;
    /// Adds an entry (replacing one with the same key).
    fn insert(&mut self, key: Self::Key, value: Self::Value);
}

impl<K, V, S> MapField for HashMap<K, V, S>
where
    K: JsonMapKey + TextValue + Ord + Hash,
    V: JsonValue + TextValue,
    S: BuildHasher,
{
    type Key = K;
    type Value = V;
    fn is_empty(&self) -> bool {
        HashMap::is_empty(self)
    }
    fn entries(&self) -> Vec<(&K, &V)> {
        self.iter().collect()
    }
    fn try_for_each<F>(&self, mut f: F) -> Result<(), JsonError>
    where
        F: FnMut(&K, &V) -> Result<(), JsonError>,
    {
        self.iter().try_for_each(|(k, v)| f(k, v))
    }
    fn insert(&mut self, key: K, value: V) {
        HashMap::insert(self, key, value);
    }
}

impl<K: JsonMapKey + TextValue + Ord, V: JsonValue + TextValue> MapField for BTreeMap<K, V> {
    type Key = K;
    type Value = V;
    fn is_empty(&self) -> bool {
        BTreeMap::is_empty(self)
    }
    fn entries(&self) -> Vec<(&K, &V)> {
        self.iter().collect()
    }
    fn try_for_each<F>(&self, mut f: F) -> Result<(), JsonError>
    where
        F: FnMut(&K, &V) -> Result<(), JsonError>,
    {
        self.iter().try_for_each(|(k, v)| f(k, v))
    }
    fn insert(&mut self, key: K, value: V) {
        BTreeMap::insert(self, key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_take_exponents_and_fractions_only_when_whole() {
        assert_eq!(integer::<i32>("1e5"), Ok(100_000));
        assert_eq!(integer::<i32>("100000.000"), Ok(100_000));
        assert_eq!(integer::<i32>("2.147483647e9"), Ok(i32::MAX));
        assert_eq!(integer::<i64>("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(integer::<u64>("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(integer::<u32>("-0"), Ok(0));
        assert!(integer::<i32>("0.5").is_err());
        assert!(integer::<i32>("2147483648").is_err());
        assert!(integer::<u32>("-1").is_err());
        assert!(integer::<i64>("1e30").is_err());
        assert!(integer::<u64>(&"9".repeat(400)).is_err());
    }
}
