//! Writing the text format: fields one per line (or all on one line),
//! nested messages indented by two spaces.

use super::{TextError, TextMessage, TextOptions, TextValue};
use crate::json::MapField;
use crate::unknown::UnknownFields;

/// Where text goes, with the options that shape it.
pub struct TextWriter<'a> {
    out: &'a mut String,
    options: &'a TextOptions,
    depth: usize,
    // Nothing written yet on this level (single-line mode separates fields
    // with spaces).
    fresh: bool,
}

impl<'a> TextWriter<'a> {
    /// A writer appending to `out`.
    pub fn new(out: &'a mut String, options: &'a TextOptions) -> Self {
        Self {
            out,
            options,
            depth: 0,
            fresh: true,
        }
    }

    /// The options in force.
    pub fn options(&self) -> &TextOptions {
        self.options
    }

    /// Appends text as it is.
    #[inline]
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// Starts a field: the separator or indentation, then `name`.
    fn begin(&mut self, name: &str) {
        if self.options.single_line {
            if !self.fresh {
                self.out.push(' ');
            }
        } else {
            for _ in 0..self.depth {
                self.out.push_str("  ");
            }
        }
        self.fresh = false;
        self.out.push_str(name);
    }

    fn end(&mut self) {
        if !self.options.single_line {
            self.out.push('\n');
        }
    }

    /// Writes one field: `name: value`, or `name { ... }` for a message.
    pub fn field<T: TextValue>(&mut self, name: &str, value: &T) -> Result<(), TextError> {
        self.field_with(name, T::IS_MESSAGE, |w| value.write_text(w))
    }

    /// Writes one field whose value `write` writes: a block (`name { ... }`,
    /// `write` calling [`TextWriter::block`]) or a scalar (`name: ...`).
    pub fn field_with(
        &mut self,
        name: &str,
        block: bool,
        write: impl FnOnce(&mut Self) -> Result<(), TextError>,
    ) -> Result<(), TextError> {
        self.begin(name);
        self.out.push_str(if block { " " } else { ": " });
        write(self)?;
        self.end();
        Ok(())
    }

    /// Writes a block: `{`, what `fields` writes one level deeper, `}`.
    pub fn block(
        &mut self,
        fields: impl FnOnce(&mut Self) -> Result<(), TextError>,
    ) -> Result<(), TextError> {
        // Values built in memory (an Any packing an Any) can nest without
        // bound: stop where the reader would.
        if self.depth >= 100 {
            return Err(TextError::new("messages nested too deeply"));
        }
        self.out.push('{');
        if !self.options.single_line {
            self.out.push('\n');
        }
        let fresh = self.fresh;
        self.depth += 1;
        // On one line, the first field is spaced from the brace too.
        self.fresh = !self.options.single_line;
        fields(self)?;
        self.depth -= 1;
        if self.options.single_line {
            self.out.push_str(" }");
        } else {
            for _ in 0..self.depth {
                self.out.push_str("  ");
            }
            self.out.push('}');
        }
        self.fresh = fresh;
        Ok(())
    }

    /// Writes a message as a block of its fields.
    #[inline]
    pub fn message<M: TextMessage>(&mut self, m: &M) -> Result<(), TextError> {
        self.block(|w| m.write_text_fields(w))
    }

    /// A field without presence: written unless at its default.
    #[inline]
    pub fn implicit<T: TextValue>(&mut self, name: &str, value: &T) -> Result<(), TextError> {
        if value.is_default_text() {
            return Ok(());
        }
        self.field(name, value)
    }

    /// A field with presence: written when set.
    #[inline]
    pub fn optional<T: TextValue>(
        &mut self,
        name: &str,
        value: &Option<T>,
    ) -> Result<(), TextError> {
        match value {
            Some(v) => self.field(name, v),
            None => Ok(()),
        }
    }

    /// A repeated field: one line per element.
    pub fn repeated<T: TextValue>(&mut self, name: &str, values: &[T]) -> Result<(), TextError> {
        for v in values {
            self.field(name, v)?;
        }
        Ok(())
    }

    /// A map field: one `name { key: ... value: ... }` entry per key, in
    /// key order.
    pub fn map<M: MapField>(&mut self, name: &str, map: &M) -> Result<(), TextError> {
        let mut entries = map.entries();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in entries {
            self.begin(name);
            self.out.push(' ');
            self.block(|w| {
                w.field("key", k)?;
                w.field("value", v)
            })?;
            self.end();
        }
        Ok(())
    }

    /// Writes the unknown fields by number, when the options ask for them.
    pub fn unknown_fields(&mut self, unknown: &UnknownFields) -> Result<(), TextError> {
        if !self.options.print_unknown_fields || unknown.is_empty() {
            return Ok(());
        }
        super::unknown::write(self, unknown.as_bytes())
    }

    /// Writes a string literal: double-quoted, with C escapes for quotes,
    /// backslashes and control characters; other UTF-8 kept as it is.
    pub fn string(&mut self, s: &str) {
        self.quoted(s.as_bytes(), false);
    }

    /// Writes bytes as a string literal, every byte outside printable ASCII
    /// as an octal escape.
    pub fn bytes(&mut self, b: &[u8]) {
        self.quoted(b, true);
    }

    fn quoted(&mut self, b: &[u8], escape_high: bool) {
        self.out.push('"');
        let mut start = 0;
        for (i, &c) in b.iter().enumerate() {
            let escape: &str = match c {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\'' => "\\'",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f | 0x7f => "",
                0x80.. if escape_high => "",
                _ => continue,
            };
            self.push_bytes(&b[start..i]);
            if escape.is_empty() {
                self.out.push('\\');
                self.out.push(char::from(b'0' + (c >> 6)));
                self.out.push(char::from(b'0' + ((c >> 3) & 7)));
                self.out.push(char::from(b'0' + (c & 7)));
            } else {
                self.out.push_str(escape);
            }
            start = i + 1;
        }
        self.push_bytes(&b[start..]);
        self.out.push('"');
    }

    /// Appends bytes known to be UTF-8 (a run of a `&str`, or ASCII).
    fn push_bytes(&mut self, b: &[u8]) {
        // Runs are cut only at ASCII bytes, so a run of valid UTF-8 stays
        // valid; bytes fields reach here with printable ASCII only.
        if let Ok(s) = std::str::from_utf8(b) {
            self.out.push_str(s);
        }
    }

    /// Writes an integer.
    #[inline]
    pub fn number<I: itoa::Integer>(&mut self, v: I) {
        self.out.push_str(itoa::Buffer::new().format(v));
    }

    /// Writes a double: the shortest digits that read back the same, or
    /// `inf`, `-inf`, `nan`.
    pub fn double(&mut self, v: f64) {
        self.float_text(v, v.abs());
    }

    /// Writes a float with the fewest digits that read back as the same float.
    pub fn float(&mut self, v: f32) {
        self.float_text(v, f64::from(v.abs()));
    }

    fn float_text<F: Float>(&mut self, v: F, magnitude: f64) {
        use core::fmt::Write;
        if v.is_nan() {
            self.out.push_str("nan");
        } else if v.is_infinite() {
            self.out
                .push_str(if v.is_negative() { "-inf" } else { "inf" });
        } else if magnitude != 0.0 && !(1e-7..1e21).contains(&magnitude) {
            let _ = write!(self.out, "{v:e}");
        } else {
            let _ = write!(self.out, "{v}");
        }
    }
}

/// What [`TextWriter::float_text`] needs of `f32` and `f64`.
trait Float: core::fmt::Display + core::fmt::LowerExp + Copy {
    fn is_nan(self) -> bool;
    fn is_infinite(self) -> bool;
    fn is_negative(self) -> bool;
}

macro_rules! float {
    ($($t:ty),*) => {$(
        impl Float for $t {
            fn is_nan(self) -> bool { <$t>::is_nan(self) }
            fn is_infinite(self) -> bool { <$t>::is_infinite(self) }
            fn is_negative(self) -> bool { self.is_sign_negative() }
        }
    )*};
}

float!(f32, f64);
