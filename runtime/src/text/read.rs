//! Reading the text format: a tokenizer (whitespace and `#` comments
//! skipped, identifiers, numbers, string literals with C escapes) that
//! generated code pulls fields from.

use std::borrow::Cow;

use super::{TextError, TextMessage, TextOptions, TextValue};
use crate::json::{FieldSet, MapField};

/// How deep messages may nest: deeper input is an error, not a stack
/// overflow.
const MAX_DEPTH: u32 = 100;

/// A cursor over text-format input.
pub struct TextReader<'de> {
    text: &'de str,
    pos: usize,
    depth: u32,
    // Where the last field name began: errors about a field point there.
    key_at: usize,
    options: &'de TextOptions,
}

impl<'de> TextReader<'de> {
    /// A reader at the start of `text`.
    pub fn new(text: &'de str, options: &'de TextOptions) -> Self {
        Self {
            text,
            pos: 0,
            depth: 0,
            key_at: 0,
            options,
        }
    }

    /// The options in force.
    pub fn options(&self) -> &TextOptions {
        self.options
    }

    /// An error at the reader's position.
    #[cold]
    pub fn error(&self, message: impl Into<Cow<'static, str>>) -> TextError {
        TextError::at_offset(message, self.text, self.pos)
    }

    /// An error at the start of the last field name.
    #[cold]
    pub fn key_error(&self, message: impl Into<Cow<'static, str>>) -> TextError {
        TextError::at_offset(message, self.text, self.key_at)
    }

    #[cold]
    fn unexpected(&self, wanted: &str) -> TextError {
        match self.text[self.pos..].chars().next() {
            None => self.error(format!("input ended where {wanted} was expected")),
            Some(c) => self.error(format!("expected {wanted}, found {c:?}")),
        }
    }

    fn bytes(&self) -> &'de [u8] {
        self.text.as_bytes()
    }

    /// Skips whitespace and `#` comments.
    fn skip(&mut self) {
        let b = self.bytes();
        while let Some(&c) = b.get(self.pos) {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => self.pos += 1,
                b'#' => {
                    while let Some(&c) = b.get(self.pos) {
                        self.pos += 1;
                        if c == b'\n' {
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip();
        self.bytes().get(self.pos).copied()
    }

    /// Consumes `c` if it comes next.
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), TextError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{}'", char::from(c))))
        }
    }

    /// The input from the next token on, and its offset.
    pub(crate) fn peek_rest(&mut self) -> (usize, &'de str) {
        self.skip();
        (self.pos, &self.text[self.pos..])
    }

    /// Reads an identifier (`[A-Za-z_][A-Za-z0-9_]*`).
    pub fn identifier(&mut self) -> Result<&'de str, TextError> {
        self.skip();
        let b = self.bytes();
        let start = self.pos;
        if !b
            .get(start)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        {
            return Err(self.unexpected("a name"));
        }
        let len = b[start..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        self.pos += len;
        Ok(&self.text[start..self.pos])
    }

    /// A field name: an identifier, or a bracketed extension name
    /// (`[pkg.ext]`) or `Any` type URL (`[type.googleapis.com/pkg.Msg]`),
    /// returned with its brackets and without inner whitespace.
    fn field_name(&mut self) -> Result<Cow<'de, str>, TextError> {
        self.skip();
        self.key_at = self.pos;
        if !self.eat(b'[') {
            return self.identifier().map(Cow::Borrowed);
        }
        let mut name = String::from("[");
        loop {
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                Some(c @ (b'.' | b'/')) => {
                    self.pos += 1;
                    name.push(char::from(c));
                }
                Some(_) => name.push_str(self.identifier()?),
                None => return Err(self.unexpected("']'")),
            }
        }
        if name.len() == 1 {
            return Err(self.key_error("empty name in brackets"));
        }
        name.push(']');
        Ok(Cow::Owned(name))
    }

    /// Reads fields into `m` up to `close` (`}` or `>`), or to the end of
    /// the input when `close` is `None`.
    pub fn fields<M: TextMessage>(
        &mut self,
        m: &mut M,
        close: Option<u8>,
    ) -> Result<(), TextError> {
        let mut seen = FieldSet::new();
        loop {
            match (self.peek(), close) {
                (None, None) => return Ok(()),
                (Some(c), Some(end)) if c == end => {
                    self.pos += 1;
                    return Ok(());
                }
                (None, Some(end)) => return Err(self.unexpected(&format!("'{}'", char::from(end)))),
                _ => {}
            }
            let name = self.field_name()?;
            if !m.merge_text_field(&name, self, &mut seen)? {
                return Err(self.key_error(format!("no field named {name}")));
            }
            if !self.eat(b',') {
                self.eat(b';');
            }
        }
    }

    /// Opens a message block (`{` or `<`); returns the closing character.
    fn open(&mut self) -> Result<u8, TextError> {
        let close = match self.peek() {
            Some(b'{') => b'}',
            Some(b'<') => b'>',
            _ => return Err(self.unexpected("'{' or '<'")),
        };
        if self.depth >= MAX_DEPTH {
            return Err(self.error("messages nested too deeply"));
        }
        self.pos += 1;
        Ok(close)
    }

    /// Reads a message block into `m`.
    pub fn message<M: TextMessage>(&mut self, m: &mut M) -> Result<(), TextError> {
        let close = self.open()?;
        self.depth += 1;
        let result = self.fields(m, Some(close));
        self.depth -= 1;
        result
    }

    /// Reads one or more adjacent string literals as bytes.
    pub fn string_bytes(&mut self) -> Result<Vec<u8>, TextError> {
        let mut out = Vec::new();
        if !matches!(self.peek(), Some(b'"' | b'\'')) {
            return Err(self.unexpected("a string"));
        }
        while let Some(quote @ (b'"' | b'\'')) = self.peek() {
            self.pos += 1;
            self.literal(quote, &mut out)?;
        }
        Ok(out)
    }

    /// Reads one or more adjacent string literals, which must be UTF-8.
    pub fn string(&mut self) -> Result<String, TextError> {
        self.skip();
        let at = self.pos;
        let bytes = self.string_bytes()?;
        String::from_utf8(bytes).map_err(|_| {
            self.pos = at;
            self.error("string is not valid UTF-8")
        })
    }

    /// The rest of one literal after its opening `quote`.
    fn literal(&mut self, quote: u8, out: &mut Vec<u8>) -> Result<(), TextError> {
        let b = self.bytes();
        loop {
            let Some(&c) = b.get(self.pos) else {
                return Err(self.error("unterminated string"));
            };
            match c {
                _ if c == quote => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\n' => return Err(self.error("line break in a string")),
                b'\\' => self.escape(out)?,
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// One escape sequence at the backslash.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), TextError> {
        let b = self.bytes();
        let Some(&c) = b.get(self.pos + 1) else {
            return Err(self.error("unterminated string"));
        };
        self.pos += 2;
        let simple = match c {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'?' | b'\\' | b'\'' | b'"' => Some(c),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            return Ok(());
        }
        let digits = |from: usize, max: usize, radix: u32| {
            b[from..]
                .iter()
                .take(max)
                .take_while(|d| char::from(**d).is_digit(radix))
                .count()
        };
        match c {
            b'0'..=b'7' => {
                let n = 1 + digits(self.pos, 2, 8);
                let v = u32::from_str_radix(&self.text[self.pos - 1..self.pos - 1 + n], 8)
                    .unwrap_or(256);
                self.pos += n - 1;
                match u8::try_from(v) {
                    Ok(v) => out.push(v),
                    Err(_) => return Err(self.error("octal escape above \\377")),
                }
            }
            b'x' | b'X' => {
                let n = digits(self.pos, 2, 16);
                if n == 0 {
                    return Err(self.error("\\x needs a hex digit"));
                }
                let v = u8::from_str_radix(&self.text[self.pos..self.pos + n], 16).unwrap_or(0);
                self.pos += n;
                out.push(v);
            }
            b'u' | b'U' => {
                let n = if c == b'u' { 4 } else { 8 };
                if digits(self.pos, n, 16) != n {
                    return Err(self.error(format!("\\{} needs {n} hex digits", char::from(c))));
                }
                let v =
                    u32::from_str_radix(&self.text[self.pos..self.pos + n], 16).unwrap_or(u32::MAX);
                self.pos += n;
                // Surrogates are not characters, alone or paired.
                match char::from_u32(v) {
                    Some(ch) => {
                        let mut buf = [0; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    None => return Err(self.error("\\u escape is not a Unicode scalar value")),
                }
            }
            _ => return Err(self.error(format!("invalid escape \\{}", char::from(c)))),
        }
        Ok(())
    }

    /// A number's token: `(negative, text)`, where text is a literal
    /// (`12`, `0x1F`, `017`, `1.5e3`, `2.5f`) or a word (`inf`, `nan`).
    pub(crate) fn number_token(&mut self) -> Result<(bool, &'de str), TextError> {
        self.skip();
        let negative = self.eat(b'-');
        self.skip();
        let b = self.bytes();
        let start = self.pos;
        match b.get(start) {
            Some(c) if c.is_ascii_digit() || *c == b'.' => {}
            Some(c) if c.is_ascii_alphabetic() => return Ok((negative, self.identifier()?)),
            _ => return Err(self.unexpected("a number")),
        }
        let hex = b[start..].starts_with(b"0x") || b[start..].starts_with(b"0X");
        let mut i = start;
        while let Some(&c) = b.get(i) {
            let exponent_sign =
                (c == b'+' || c == b'-') && !hex && i > start && matches!(b[i - 1], b'e' | b'E');
            if c.is_ascii_alphanumeric() || c == b'.' || exponent_sign {
                i += 1;
            } else {
                break;
            }
        }
        self.pos = i;
        Ok((negative, &self.text[start..i]))
    }

    /// Reads an integer (decimal, `0x` hex or `0` octal) as a wide value.
    pub(crate) fn integer(&mut self) -> Result<i128, TextError> {
        let at = self.pos;
        let (negative, text) = self.number_token()?;
        let magnitude =
            if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                u64::from_str_radix(hex, 16).ok()
            } else if text.len() > 1 && text.starts_with('0') {
                u64::from_str_radix(&text[1..], 8).ok()
            } else if !text.is_empty() && text.bytes().all(|c| c.is_ascii_digit()) {
                text.parse::<u64>().ok()
            } else {
                None
            };
        match magnitude {
            Some(m) => Ok(if negative {
                -i128::from(m)
            } else {
                i128::from(m)
            }),
            None => {
                self.pos = at;
                self.skip();
                Err(self.error(format!("{text:?} is not an integer (or is out of range)")))
            }
        }
    }

    /// Reads a floating-point number: a literal (an integer, or with a
    /// fraction or exponent, an `f` suffix allowed), `inf`, `infinity` or
    /// `nan` (any case), with a leading `-` if negative.
    pub(crate) fn double(&mut self) -> Result<f64, TextError> {
        self.skip();
        let at = self.pos;
        let (negative, text) = self.number_token()?;
        let lower = text.to_ascii_lowercase();
        let v = match lower.as_str() {
            "inf" | "infinity" => Some(f64::INFINITY),
            "nan" => Some(f64::NAN),
            _ if lower.starts_with("0x") => {
                u64::from_str_radix(&lower[2..], 16).ok().map(|v| v as f64)
            }
            _ => {
                let digits = lower.strip_suffix('f').unwrap_or(&lower);
                if digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
                    digits.parse::<f64>().ok()
                } else {
                    None
                }
            }
        };
        match v {
            Some(v) => Ok(if negative { -v } else { v }),
            None => {
                self.pos = at;
                Err(self.error(format!("{text:?} is not a number")))
            }
        }
    }

    /// Reads `true`, `false` (also `True`, `t`, `False`, `f`) or `1` / `0`.
    pub(crate) fn bool(&mut self) -> Result<bool, TextError> {
        self.skip();
        let at = self.pos;
        if self.peek().is_some_and(|c| c.is_ascii_digit()) {
            return match self.integer()? {
                0 => Ok(false),
                1 => Ok(true),
                _ => {
                    self.pos = at;
                    Err(self.error("a bool is true, false, 1 or 0"))
                }
            };
        }
        match self.identifier()? {
            "true" | "True" | "t" => Ok(true),
            "false" | "False" | "f" => Ok(false),
            other => {
                self.pos = at;
                Err(self.error(format!("{other:?} is not a bool")))
            }
        }
    }

    /// An optional `:` (before a message block).
    pub(crate) fn skip_colon(&mut self) {
        self.eat(b':');
    }

    /// Before a value: `:` (optional before a message).
    fn separator<T: TextValue>(&mut self) -> Result<(), TextError> {
        if T::IS_MESSAGE {
            self.eat(b':');
            Ok(())
        } else {
            self.expect(b':')
        }
    }

    #[cold]
    fn duplicate(&self, name: &'static str) -> TextError {
        self.key_error(format!("field {name} given more than once"))
    }

    /// What follows a field's name: `:` if needed, then one value.
    pub fn value<T: TextValue>(&mut self, name: &'static str) -> Result<T, TextError> {
        self.separator::<T>()?;
        T::read_text(self).map_err(|e| e.in_field(name))
    }

    /// The value of a singular field (with or without presence).
    pub fn singular<T: TextValue>(
        &mut self,
        seen: &mut FieldSet,
        index: u32,
        name: &'static str,
        slot: &mut T,
    ) -> Result<(), TextError> {
        if !seen.insert(index) {
            return Err(self.duplicate(name));
        }
        self.separator::<T>()?;
        *slot = T::read_text(self).map_err(|e| e.in_field(name))?;
        Ok(())
    }

    /// The value of a field with presence.
    pub fn optional<T: TextValue>(
        &mut self,
        seen: &mut FieldSet,
        index: u32,
        name: &'static str,
        slot: &mut Option<T>,
    ) -> Result<(), TextError> {
        if !seen.insert(index) {
            return Err(self.duplicate(name));
        }
        self.separator::<T>()?;
        *slot = Some(T::read_text(self).map_err(|e| e.in_field(name))?);
        Ok(())
    }

    /// The value of a oneof member; `index` is the oneof's.
    pub fn oneof<T: TextValue>(
        &mut self,
        seen: &mut FieldSet,
        index: u32,
        name: &'static str,
    ) -> Result<T, TextError> {
        if !seen.insert(index) {
            return Err(self.key_error(format!("field {name} is a second member of its oneof")));
        }
        self.separator::<T>()?;
        T::read_text(self).map_err(|e| e.in_field(name))
    }

    /// One element, or a `[...]` list of them, of a repeated field.
    pub fn repeated<T: TextValue>(
        &mut self,
        name: &'static str,
        slot: &mut Vec<T>,
    ) -> Result<(), TextError> {
        self.separator::<T>()?;
        self.list_or_one(name, |r| {
            slot.push(T::read_text(r)?);
            Ok(())
        })
    }

    fn list_or_one(
        &mut self,
        name: &'static str,
        mut each: impl FnMut(&mut Self) -> Result<(), TextError>,
    ) -> Result<(), TextError> {
        if !self.eat(b'[') {
            return each(self).map_err(|e| e.in_field(name));
        }
        if self.eat(b']') {
            return Ok(());
        }
        let mut i = 0;
        loop {
            each(self).map_err(|e| e.at_index(i).in_field(name))?;
            i += 1;
            if self.eat(b']') {
                return Ok(());
            }
            self.expect(b',')?;
        }
    }

    /// One `{ key: ... value: ... }` entry, or a `[...]` list of them, of a
    /// map field.
    pub fn map<M: MapField>(&mut self, name: &'static str, map: &mut M) -> Result<(), TextError>
    where
        M::Key: Default,
        M::Value: Default,
    {
        self.eat(b':');
        self.list_or_one(name, |r| r.map_entry(map))
    }

    fn map_entry<M: MapField>(&mut self, map: &mut M) -> Result<(), TextError>
    where
        M::Key: Default,
        M::Value: Default,
    {
        let close = self.open()?;
        self.depth += 1;
        let (mut key, mut value) = (None, None);
        while !self.eat(close) {
            let name = self.field_name()?;
            match &*name {
                "key" if key.is_none() => {
                    self.separator::<M::Key>()?;
                    key = Some(M::Key::read_text(self).map_err(|e| e.in_field("key"))?);
                }
                "value" if value.is_none() => {
                    self.separator::<M::Value>()?;
                    value = Some(M::Value::read_text(self).map_err(|e| e.in_field("value"))?);
                }
                "key" | "value" => {
                    return Err(self.key_error(format!("{name} given more than once")));
                }
                _ => return Err(self.key_error(format!("a map entry has no field {name}"))),
            }
            if !self.eat(b',') {
                self.eat(b';');
            }
        }
        self.depth -= 1;
        map.insert(key.unwrap_or_default(), value.unwrap_or_default());
        Ok(())
    }
}
