//! Writing JSON text: numbers, escaped strings, objects whose members
//! generated code adds field by field.

use super::value::{JsonMapKey, MapField};
use super::{JsonError, JsonMessage, JsonOptions, JsonValue};

/// Where JSON text goes, with the options that shape it.
pub struct JsonWriter<'a> {
    out: &'a mut String,
    options: &'a JsonOptions,
    // Objects and arrays open: values built in memory (an Any packing an
    // Any, a Value holding a list holding a list) can nest without bound.
    depth: u32,
}

impl<'a> JsonWriter<'a> {
    /// A writer appending to `out`.
    pub fn new(out: &'a mut String, options: &'a JsonOptions) -> Self {
        Self {
            out,
            options,
            depth: 0,
        }
    }

    /// Goes one level deeper, failing past the reader's depth limit.
    pub(crate) fn enter(&mut self) -> Result<(), JsonError> {
        if self.depth >= super::read::MAX_DEPTH {
            return Err(JsonError::new("JSON nested too deeply"));
        }
        self.depth += 1;
        Ok(())
    }

    /// Comes back up a level.
    pub(crate) fn leave(&mut self) {
        self.depth -= 1;
    }

    /// The options in force.
    pub fn options(&self) -> &JsonOptions {
        self.options
    }

    /// Appends JSON text as it is (it must be valid where it goes).
    #[inline]
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// Writes `null`.
    #[inline]
    pub fn null(&mut self) {
        self.out.push_str("null");
    }

    /// Writes `true` or `false`.
    #[inline]
    pub fn bool(&mut self, v: bool) {
        self.out.push_str(if v { "true" } else { "false" });
    }

    /// Writes an integer as a JSON number.
    #[inline]
    pub fn number<I: itoa::Integer>(&mut self, v: I) {
        self.out.push_str(itoa::Buffer::new().format(v));
    }

    /// Writes an integer as a JSON string (how 64-bit integers appear).
    #[inline]
    pub fn quoted_number<I: itoa::Integer>(&mut self, v: I) {
        self.out.push('"');
        self.out.push_str(itoa::Buffer::new().format(v));
        self.out.push('"');
    }

    /// Writes a `double`: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
    pub fn double(&mut self, v: f64) {
        if v.is_finite() {
            write_finite(self.out, v, v.abs());
        } else {
            self.non_finite(v.is_nan(), v > 0.0);
        }
    }

    /// Writes a `float` with the fewest digits that read back as the same
    /// `float`.
    pub fn float(&mut self, v: f32) {
        if v.is_finite() {
            write_finite(self.out, v, f64::from(v.abs()));
        } else {
            self.non_finite(v.is_nan(), v > 0.0);
        }
    }

    fn non_finite(&mut self, nan: bool, positive: bool) {
        self.out.push_str(match (nan, positive) {
            (true, _) => "\"NaN\"",
            (false, true) => "\"Infinity\"",
            (false, false) => "\"-Infinity\"",
        });
    }

    /// Writes a JSON string with the escapes JSON requires (`"`, `\` and
    /// control characters).
    pub fn string(&mut self, s: &str) {
        self.out.reserve(s.len() + 2);
        self.out.push('"');
        let bytes = s.as_bytes();
        let mut start = 0;
        loop {
            let end = start + super::scan::plain_len(&bytes[start..]);
            // Every byte that needs an escape is ASCII, so `end` is a
            // character boundary.
            self.out.push_str(&s[start..end]);
            let Some(&b) = bytes.get(end) else { break };
            let escape: &str = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                _ => "",
            };
            if escape.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.out.push_str("\\u00");
                self.out.push(char::from(HEX[usize::from(b >> 4)]));
                self.out.push(char::from(HEX[usize::from(b & 0xf)]));
            } else {
                self.out.push_str(escape);
            }
            start = end + 1;
        }
        self.out.push('"');
    }

    /// Writes bytes as a base64 string (standard alphabet, padded).
    pub fn bytes(&mut self, b: &[u8]) {
        self.out.push('"');
        super::base64::encode(self.out, b);
        self.out.push('"');
    }

    /// Starts an object; finish it with [`ObjectWriter::end`].
    #[inline]
    pub fn object(&mut self) -> ObjectWriter<'_, 'a> {
        self.out.push('{');
        ObjectWriter {
            w: self,
            first: true,
        }
    }

    /// Writes a message as a JSON object of its fields.
    #[inline]
    pub fn message<M: JsonMessage>(&mut self, m: &M) -> Result<(), JsonError> {
        self.enter()?;
        let mut o = self.object();
        m.write_json_fields(&mut o)?;
        o.end();
        self.leave();
        Ok(())
    }

    /// Writes a map as a JSON object keyed by the keys' string forms.
    pub fn map_object<M: MapField>(&mut self, map: &M) -> Result<(), JsonError> {
        self.enter()?;
        self.out.push('{');
        let mut first = true;
        map.try_for_each(|k, v| {
            if !first {
                self.out.push(',');
            }
            first = false;
            k.write_key(self);
            self.out.push(':');
            v.write_json(self).map_err(|e| k.error_at(e))
        })?;
        self.out.push('}');
        self.leave();
        Ok(())
    }

    /// The text written so far, to append to directly.
    pub(crate) fn out(&mut self) -> &mut String {
        self.out
    }

    /// Writes a list as a JSON array.
    pub fn list<T: JsonValue>(&mut self, items: &[T]) -> Result<(), JsonError> {
        self.enter()?;
        self.out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            item.write_json(self).map_err(|e| e.at_index(i))?;
        }
        self.out.push(']');
        self.leave();
        Ok(())
    }
}

/// Writes a finite float: plain decimal for magnitudes a reader shows as
/// such, exponent form (`1e+300`) for the very large and very small ones,
/// always the shortest digits that read back as the same value.
fn write_finite<F: core::fmt::Display + core::fmt::LowerExp>(
    out: &mut String,
    v: F,
    magnitude: f64,
) {
    use core::fmt::Write;
    // `Display` never uses an exponent (f64::MAX would take 309 digits);
    // `LowerExp` always does. Switch where JavaScript's `Number#toString` does.
    let _ = if magnitude != 0.0 && !(1e-7..1e21).contains(&magnitude) {
        write!(out, "{v:e}")
    } else {
        write!(out, "{v}")
    };
}

/// The members of a JSON object being written.
pub struct ObjectWriter<'w, 'a> {
    w: &'w mut JsonWriter<'a>,
    first: bool,
}

impl<'a> ObjectWriter<'_, 'a> {
    /// Starts a member: the comma before it if needed, the key, the colon.
    /// `key` is written as it is: it must be JSON-escaped already.
    #[inline]
    pub fn key(&mut self, key: &str) -> &mut JsonWriter<'a> {
        if !self.first {
            self.w.out.push(',');
        }
        self.first = false;
        self.w.out.push('"');
        self.w.out.push_str(key);
        self.w.out.push_str("\":");
        self.w
    }

    /// The writer, for a value after [`ObjectWriter::key`].
    #[inline]
    pub fn writer(&mut self) -> &mut JsonWriter<'a> {
        self.w
    }

    /// The options in force.
    #[inline]
    pub fn options(&self) -> &JsonOptions {
        self.w.options
    }

    #[inline]
    fn name(&self, json: &'static str, proto: &'static str) -> &'static str {
        if self.w.options.proto_names {
            proto
        } else {
            json
        }
    }

    /// Writes a member whose value is always present.
    #[inline]
    pub fn member<T: JsonValue>(
        &mut self,
        json: &'static str,
        proto: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        let name = self.name(json, proto);
        value
            .write_json(self.key(name))
            .map_err(|e| e.in_field(json))
    }

    /// A field without presence: written unless at its default (or always,
    /// with `emit_defaults`).
    #[inline]
    pub fn implicit<T: JsonValue>(
        &mut self,
        json: &'static str,
        proto: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        if value.is_default_json() && !self.w.options.emit_defaults {
            return Ok(());
        }
        self.member(json, proto, value)
    }

    /// A field with presence: written when set.
    #[inline]
    pub fn optional<T: JsonValue>(
        &mut self,
        json: &'static str,
        proto: &'static str,
        value: &Option<T>,
    ) -> Result<(), JsonError> {
        match value {
            Some(v) => self.member(json, proto, v),
            None => Ok(()),
        }
    }

    /// A repeated field: written unless empty (or always, with
    /// `emit_defaults`).
    #[inline]
    pub fn repeated<T: JsonValue>(
        &mut self,
        json: &'static str,
        proto: &'static str,
        values: &[T],
    ) -> Result<(), JsonError> {
        if values.is_empty() && !self.w.options.emit_defaults {
            return Ok(());
        }
        let name = self.name(json, proto);
        self.key(name).list(values).map_err(|e| e.in_field(json))
    }

    /// A map field: an object keyed by the keys' string forms, written
    /// unless empty (or always, with `emit_defaults`).
    pub fn map<M: MapField>(
        &mut self,
        json: &'static str,
        proto: &'static str,
        map: &M,
    ) -> Result<(), JsonError> {
        if map.is_empty() && !self.w.options.emit_defaults {
            return Ok(());
        }
        let name = self.name(json, proto);
        self.key(name).map_object(map).map_err(|e| e.in_field(json))
    }

    /// Closes the object.
    #[inline]
    pub fn end(self) {
        self.w.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut JsonWriter<'_>)) -> String {
        let mut out = String::new();
        let options = JsonOptions::default();
        f(&mut JsonWriter::new(&mut out, &options));
        out
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(
            written(|w| w.string("a\"b\\c\n\u{1}\u{7f}é😀")),
            "\"a\\\"b\\\\c\\n\\u0001\u{7f}é😀\""
        );
    }

    #[test]
    fn floats_use_the_shortest_digits_and_exponents_only_when_far_from_one() {
        assert_eq!(written(|w| w.double(0.1)), "0.1");
        assert_eq!(written(|w| w.double(-0.0)), "-0");
        assert_eq!(written(|w| w.double(1e21)), "1e21");
        assert_eq!(written(|w| w.double(f64::MAX)), "1.7976931348623157e308");
        assert_eq!(written(|w| w.double(5e-324)), "5e-324");
        assert_eq!(written(|w| w.float(0.1)), "0.1");
        assert_eq!(written(|w| w.float(f32::MAX)), "3.4028235e38");
        assert_eq!(written(|w| w.float(f32::NAN)), "\"NaN\"");
        assert_eq!(written(|w| w.double(f64::NEG_INFINITY)), "\"-Infinity\"");
    }
}
