//! Reading JSON text (RFC 8259), strictly: no comments, no trailing commas,
//! no single quotes, no leading zeros, no unpaired surrogates. Generated
//! code pulls tokens from a [`JsonReader`] field by field; nothing is built
//! in between (no tree of JSON values).

use std::borrow::Cow;

use super::value::MapField;
use super::{JsonError, JsonMessage, JsonOptions, JsonValue};

/// How deep objects and arrays may nest: the binary decoder's recursion
/// limit (100 messages inside the top one), so that whatever decodes from
/// the wire reads back from its JSON; deeper input is an error, not a
/// stack overflow. Writing has the same bound.
pub(crate) const MAX_DEPTH: u32 = 101;

/// A cursor over JSON text.
pub struct JsonReader<'de> {
    text: &'de str,
    pos: usize,
    depth: u32,
    // Where the last member name began: errors about a member point there.
    key_at: usize,
    options: &'de JsonOptions,
}

/// What the next value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl<'de> JsonReader<'de> {
    /// A reader at the start of `text`.
    pub fn new(text: &'de str, options: &'de JsonOptions) -> Self {
        Self {
            text,
            pos: 0,
            depth: 0,
            key_at: 0,
            options,
        }
    }

    /// The options in force.
    pub fn options(&self) -> &JsonOptions {
        self.options
    }

    /// An error at the reader's position.
    #[cold]
    pub fn error(&self, message: impl Into<Cow<'static, str>>) -> JsonError {
        JsonError::at_offset(message, self.text, self.pos)
    }

    /// Where the last member name began.
    pub(crate) fn key_at(&self) -> usize {
        self.key_at
    }

    /// An error at byte `at` of the input.
    #[cold]
    pub(crate) fn error_at(&self, at: usize, message: impl Into<Cow<'static, str>>) -> JsonError {
        JsonError::at_offset(message, self.text, at)
    }

    /// An error at the start of the last member name.
    #[cold]
    pub fn key_error(&self, message: impl Into<Cow<'static, str>>) -> JsonError {
        JsonError::at_offset(message, self.text, self.key_at)
    }

    #[inline]
    fn bytes(&self) -> &'de [u8] {
        self.text.as_bytes()
    }

    #[inline]
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes().get(self.pos).copied()
    }

    /// What kind of value comes next.
    pub(crate) fn peek_kind(&mut self) -> Result<Kind, JsonError> {
        Ok(match self.peek() {
            Some(b'n') => Kind::Null,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'-' | b'0'..=b'9') => Kind::Number,
            Some(b'"') => Kind::String,
            Some(b'[') => Kind::Array,
            Some(b'{') => Kind::Object,
            Some(_) => return Err(self.unexpected("a value")),
            None => return Err(self.error("input ended where a value was expected")),
        })
    }

    #[cold]
    fn unexpected(&self, wanted: &str) -> JsonError {
        match self.text[self.pos..].chars().next() {
            None => self.error(format!("input ended where {wanted} was expected")),
            Some(c) => self.error(format!("expected {wanted}, found {c:?}")),
        }
    }

    /// True if the next value is `null` (not consumed).
    #[inline]
    pub fn at_null(&mut self) -> bool {
        self.peek() == Some(b'n')
    }

    /// Consumes a `null` if one comes next; true if it did.
    #[inline]
    pub fn peek_null(&mut self) -> Result<bool, JsonError> {
        if self.at_null() {
            self.literal("null")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn literal(&mut self, word: &'static str) -> Result<(), JsonError> {
        let rest = &self.bytes()[self.pos..];
        if rest.starts_with(word.as_bytes())
            && !rest
                .get(word.len())
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.unexpected(word))
        }
    }

    /// Reads `true` or `false`.
    pub fn bool(&mut self) -> Result<bool, JsonError> {
        match self.peek() {
            Some(b't') => self.literal("true").map(|()| true),
            Some(b'f') => self.literal("false").map(|()| false),
            _ => Err(self.unexpected("true or false")),
        }
    }

    /// Reads a string, unescaped; borrowed from the input when it has no
    /// escapes.
    pub fn string(&mut self) -> Result<Cow<'de, str>, JsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.unexpected("a string"));
        }
        self.pos += 1;
        let start = self.pos;
        let bytes = self.bytes();
        self.pos += super::scan::plain_len(&bytes[start..]);
        match bytes.get(self.pos) {
            Some(b'"') => {
                let s = &self.text[start..self.pos];
                self.pos += 1;
                return Ok(Cow::Borrowed(s));
            }
            Some(b'\\') => {}
            Some(_) => return Err(self.error("control character in a string")),
            None => return Err(self.error("unterminated string")),
        }
        let mut out = String::with_capacity(self.pos - start + 16);
        out.push_str(&self.text[start..self.pos]);
        loop {
            // At a backslash.
            self.escape(&mut out)?;
            let run = self.pos;
            self.pos += super::scan::plain_len(&bytes[run..]);
            out.push_str(&self.text[run..self.pos]);
            match bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {}
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// One escape sequence at `pos` (the backslash), appended to `out`.
    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let c = match self.bytes().get(self.pos + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let high = self.hex4(self.pos + 2)?;
                self.pos += 6;
                let c = match high {
                    0xd800..=0xdbff => {
                        if self.bytes().get(self.pos..self.pos + 2) != Some(b"\\u") {
                            return Err(self.error("unpaired surrogate in a \\u escape"));
                        }
                        let low = self.hex4(self.pos + 2)?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return Err(self.error("unpaired surrogate in a \\u escape"));
                        }
                        self.pos += 6;
                        char::from_u32(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00))
                    }
                    0xdc00..=0xdfff => None,
                    _ => char::from_u32(high),
                };
                match c {
                    Some(c) => out.push(c),
                    None => return Err(self.error("unpaired surrogate in a \\u escape")),
                }
                return Ok(());
            }
            Some(_) => return Err(self.error("invalid escape in a string")),
            None => return Err(self.error("unterminated string")),
        };
        out.push(c);
        self.pos += 2;
        Ok(())
    }

    fn hex4(&self, at: usize) -> Result<u32, JsonError> {
        let digits = self
            .bytes()
            .get(at..at + 4)
            .ok_or_else(|| self.error("unterminated \\u escape"))?;
        let mut v = 0;
        for &d in digits {
            let x = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(self.error("\\u escape needs four hex digits")),
            };
            v = v * 16 + u32::from(x);
        }
        Ok(v)
    }

    /// Reads a number, returned as its text (`-12.5e3`), checked against
    /// JSON's grammar.
    pub fn number(&mut self) -> Result<&'de str, JsonError> {
        self.skip_whitespace();
        let start = self.pos;
        match number_len(&self.bytes()[start..]) {
            Some(len) => {
                self.pos += len;
                Ok(&self.text[start..self.pos])
            }
            None => Err(self.unexpected("a number")),
        }
    }

    /// Reads a number, or a string holding one (as proto JSON allows for
    /// every numeric field). Strings must hold exactly a JSON number, or
    /// one of `special` (`NaN`, `Infinity`, `-Infinity` for floats).
    pub(crate) fn number_or_string(
        &mut self,
        special: &[&str],
    ) -> Result<Cow<'de, str>, JsonError> {
        match self.peek() {
            Some(b'"') => {
                let at = self.pos;
                let s = self.string()?;
                if number_len(s.as_bytes()) == Some(s.len()) || special.contains(&&*s) {
                    Ok(s)
                } else {
                    self.pos = at;
                    Err(self.error(format!("{s:?} is not a number")))
                }
            }
            _ => self.number().map(Cow::Borrowed),
        }
    }

    fn enter(&mut self, open: u8) -> Result<(), JsonError> {
        if self.peek() != Some(open) {
            return Err(self.unexpected(if open == b'{' {
                "an object"
            } else {
                "an array"
            }));
        }
        if self.depth >= MAX_DEPTH {
            return Err(self.error("JSON nested too deeply"));
        }
        self.depth += 1;
        self.pos += 1;
        Ok(())
    }

    /// Consumes the `{` that starts an object.
    pub fn begin_object(&mut self) -> Result<(), JsonError> {
        self.enter(b'{')
    }

    /// The next member's key (its colon consumed), or `None` after the
    /// closing `}`. `first` starts true for each object.
    pub fn next_key(&mut self, first: &mut bool) -> Result<Option<Cow<'de, str>>, JsonError> {
        match (self.peek(), *first) {
            (Some(b'}'), _) => {
                self.pos += 1;
                self.depth -= 1;
                return Ok(None);
            }
            (Some(b'"'), true) => {}
            (Some(b','), false) => {
                self.pos += 1;
                if self.peek() != Some(b'"') {
                    return Err(self.unexpected("a member name in double quotes"));
                }
            }
            (_, true) => return Err(self.unexpected("a member name in double quotes or '}'")),
            (_, false) => return Err(self.unexpected("',' or '}'")),
        }
        *first = false;
        self.key_at = self.pos;
        let key = self.string()?;
        if self.peek() != Some(b':') {
            return Err(self.unexpected("':'"));
        }
        self.pos += 1;
        Ok(Some(key))
    }

    /// Consumes the `[` that starts an array.
    pub fn begin_array(&mut self) -> Result<(), JsonError> {
        self.enter(b'[')
    }

    /// True if another element follows (its comma consumed); false after
    /// the closing `]`. `first` starts true for each array.
    pub fn next_element(&mut self, first: &mut bool) -> Result<bool, JsonError> {
        match self.peek() {
            Some(b']') => {
                self.pos += 1;
                self.depth -= 1;
                Ok(false)
            }
            Some(b',') if !*first => {
                self.pos += 1;
                if self.peek() == Some(b']') {
                    return Err(self.unexpected("a value"));
                }
                Ok(true)
            }
            Some(_) if *first => {
                *first = false;
                Ok(true)
            }
            _ => Err(self.unexpected("',' or ']'")),
        }
    }

    /// Skips one value of any kind.
    pub fn skip_value(&mut self) -> Result<(), JsonError> {
        match self.peek_kind()? {
            Kind::Null => self.literal("null"),
            Kind::Bool => self.bool().map(drop),
            Kind::Number => self.number().map(drop),
            Kind::String => self.string().map(drop),
            Kind::Array => {
                self.begin_array()?;
                let mut first = true;
                while self.next_element(&mut first)? {
                    self.skip_value()?;
                }
                Ok(())
            }
            Kind::Object => {
                self.begin_object()?;
                let mut first = true;
                while self.next_key(&mut first)?.is_some() {
                    self.skip_value()?;
                }
                Ok(())
            }
        }
    }

    /// Checks that nothing but whitespace follows.
    pub fn finish(&mut self) -> Result<(), JsonError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.unexpected("the end of the input")),
        }
    }

    /// Where the reader is, to come back to with [`JsonReader::rewind`].
    pub(crate) fn mark(&mut self) -> (usize, u32) {
        self.skip_whitespace();
        (self.pos, self.depth)
    }

    /// Goes back to a [`JsonReader::mark`].
    pub(crate) fn rewind(&mut self, (pos, depth): (usize, u32)) {
        self.pos = pos;
        self.depth = depth;
    }

    /// Reads a message's JSON object into `m`.
    pub fn message<M: JsonMessage>(&mut self, m: &mut M) -> Result<(), JsonError> {
        self.begin_object()?;
        let mut seen = FieldSet::new();
        let mut first = true;
        while let Some(key) = self.next_key(&mut first)? {
            if !m.merge_json_field(&key, self, &mut seen)? {
                self.unknown_field(&key)?;
            }
        }
        Ok(())
    }

    /// A member that names no field: skipped with `ignore_unknown_fields`,
    /// an error otherwise.
    #[cold]
    pub fn unknown_field(&mut self, key: &str) -> Result<(), JsonError> {
        if self.options.ignore_unknown_fields {
            self.skip_value()
        } else {
            Err(self.key_error(format!("no field named {key:?}")))
        }
    }

    #[cold]
    fn duplicate(&self, json: &'static str) -> JsonError {
        self.key_error(format!("field {json:?} given more than once"))
    }

    /// Reads one value, with `null` reading as `None` (unless the type
    /// reads null as a value) and an ignored value as `None` as well.
    #[inline]
    fn value<T: JsonValue>(&mut self, json: &'static str) -> Result<Option<T>, JsonError> {
        if !T::NULL_IS_VALUE && self.peek_null()? {
            return Ok(None);
        }
        T::read_json(self).map_err(|e| e.in_field(json))
    }

    /// The value of a field without presence; `null` leaves the default.
    #[inline]
    pub fn implicit<T: JsonValue>(
        &mut self,
        seen: &mut FieldSet,
        index: u32,
        json: &'static str,
        slot: &mut T,
    ) -> Result<(), JsonError> {
        if !seen.insert(index) {
            return Err(self.duplicate(json));
        }
        if let Some(v) = self.value(json)? {
            *slot = v;
        }
        Ok(())
    }

    /// The value of a field with presence; `null` leaves it unset.
    #[inline]
    pub fn optional<T: JsonValue>(
        &mut self,
        seen: &mut FieldSet,
        index: u32,
        json: &'static str,
        slot: &mut Option<T>,
    ) -> Result<(), JsonError> {
        if !seen.insert(index) {
            return Err(self.duplicate(json));
        }
        if let Some(v) = self.value(json)? {
            *slot = Some(v);
        }
        Ok(())
    }

    /// The value of a oneof member, to store in the oneof; `None` for
    /// `null` (which leaves the oneof alone). `index` is the oneof's, so
    /// that a second member is an error.
    #[inline]
    pub fn oneof<T: JsonValue>(
        &mut self,
        seen: &mut FieldSet,
        index: u32,
        json: &'static str,
    ) -> Result<Option<T>, JsonError> {
        let key_at = self.key_at;
        let v = self.value(json)?;
        if v.is_some() && !seen.insert(index) {
            self.key_at = key_at;
            return Err(self.key_error(format!("field {json:?} is a second member of its oneof")));
        }
        Ok(v)
    }

    /// The array of a repeated field; `null` leaves it empty.
    pub fn repeated<T: JsonValue>(
        &mut self,
        seen: &mut FieldSet,
        index: u32,
        json: &'static str,
        slot: &mut Vec<T>,
    ) -> Result<(), JsonError> {
        if !seen.insert(index) {
            return Err(self.duplicate(json));
        }
        if self.peek_null()? {
            return Ok(());
        }
        self.list(slot).map_err(|e| e.in_field(json))
    }

    /// Reads an array, appending its elements to `items`.
    pub fn list<T: JsonValue>(&mut self, items: &mut Vec<T>) -> Result<(), JsonError> {
        self.begin_array()?;
        let mut first = true;
        while self.next_element(&mut first)? {
            let i = items.len();
            if !T::NULL_IS_VALUE && self.at_null() {
                return Err(self.error("null is not a valid list element").at_index(i));
            }
            if let Some(v) = T::read_json(self).map_err(|e| e.at_index(i))? {
                items.push(v);
            }
        }
        Ok(())
    }

    /// The object of a map field; `null` leaves it empty.
    pub fn map<M: MapField>(
        &mut self,
        seen: &mut FieldSet,
        index: u32,
        json: &'static str,
        slot: &mut M,
    ) -> Result<(), JsonError> {
        if !seen.insert(index) {
            return Err(self.duplicate(json));
        }
        if self.peek_null()? {
            return Ok(());
        }
        self.map_object(slot).map_err(|e| e.in_field(json))
    }

    /// Reads an object into a map, keys parsed from the member names.
    pub fn map_object<M: MapField>(&mut self, map: &mut M) -> Result<(), JsonError> {
        use super::JsonMapKey;
        self.begin_object()?;
        let mut first = true;
        while let Some(key) = self.next_key(&mut first)? {
            let k = match M::Key::read_key(&key) {
                Ok(k) => k,
                Err(why) => return Err(self.error(format!("map key {key:?}: {why}"))),
            };
            if !<M::Value as JsonValue>::NULL_IS_VALUE && self.at_null() {
                return Err(self.error("null is not a valid map value").at_key(&*key));
            }
            match <M::Value as JsonValue>::read_json(self) {
                Ok(Some(v)) => map.insert(k, v),
                Ok(None) => {}
                Err(e) => return Err(e.at_key(&*key)),
            }
        }
        Ok(())
    }
}

/// The length of the JSON number at the start of `b`, if one is there and
/// is not followed by more of a token (`01`, `1.`, `1x` are not numbers).
pub(crate) fn number_len(b: &[u8]) -> Option<usize> {
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = usize::from(b.first() == Some(&b'-'));
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(i),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let n = digits(i + 1);
        if n == 0 {
            return None;
        }
        i += 1 + n;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let n = digits(i);
        if n == 0 {
            return None;
        }
        i += n;
    }
    match b.get(i) {
        Some(c) if c.is_ascii_alphanumeric() || *c == b'.' || *c == b'_' => None,
        _ => Some(i),
    }
}

/// The fields of one object read so far, by the index generated code gives
/// each field (and each oneof): a field given twice is an error.
pub struct FieldSet {
    low: u128,
    more: Vec<u64>,
}

impl FieldSet {
    /// An empty set.
    #[inline]
    pub fn new() -> Self {
        Self {
            low: 0,
            more: Vec::new(),
        }
    }

    /// Adds `index`; false if it was there already.
    #[inline]
    pub fn insert(&mut self, index: u32) -> bool {
        if index < 128 {
            let bit = 1u128 << index;
            let fresh = self.low & bit == 0;
            self.low |= bit;
            return fresh;
        }
        let i = (index - 128) as usize;
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        if self.more.len() <= word {
            self.more.resize(word + 1, 0);
        }
        let fresh = self.more[word] & bit == 0;
        self.more[word] |= bit;
        fresh
    }
}

impl Default for FieldSet {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(text: &'static str) -> JsonReader<'static> {
        static OPTIONS: JsonOptions = JsonOptions {
            emit_defaults: false,
            proto_names: false,
            enums_as_numbers: false,
            ignore_unknown_fields: false,
            types: None,
        };
        JsonReader::new(text, &OPTIONS)
    }

    #[test]
    fn numbers_follow_json_grammar() {
        for ok in ["0", "-0", "12", "1.5", "1e5", "1E+5", "-1.25e-3"] {
            assert_eq!(number_len(ok.as_bytes()), Some(ok.len()), "{ok}");
        }
        for bad in ["01", "-", "1.", ".5", "+1", "1e", "1x", "--1", "1.e3"] {
            assert_eq!(number_len(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn strings_unescape_and_reject_what_json_forbids() {
        assert_eq!(reader(r#""plain""#).string().unwrap(), "plain");
        assert!(matches!(
            reader(r#""plain""#).string().unwrap(),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            reader(r#""a\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00z""#)
                .string()
                .unwrap(),
            "a\"\\/\u{8}\u{c}\n\r\té😀z"
        );
        for bad in [
            r#""\uD83D""#,
            r#""\uDE00""#,
            r#""\uD83Dx""#,
            r#""\x41""#,
            r#""\u12""#,
            "\"a\u{1}\"",
            r#""open"#,
            "'single'",
        ] {
            assert!(reader(bad).string().is_err(), "{bad}");
        }
    }

    #[test]
    fn objects_and_arrays_reject_trailing_commas_and_deep_nesting() {
        for bad in [
            "{\"a\":1,}",
            "[1,]",
            "{,}",
            "[,1]",
            "{\"a\" 1}",
            "{a:1}",
            "[1 2]",
        ] {
            assert!(reader(bad).skip_value().is_err(), "{bad}");
        }
        for ok in [
            "{}",
            "[]",
            "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}",
            " [ true , false ] ",
        ] {
            let mut r = reader(ok);
            r.skip_value().unwrap();
            r.finish().unwrap();
        }
        let deep: &'static str = Box::leak(("[".repeat(102) + &"]".repeat(102)).into_boxed_str());
        assert!(reader(deep).skip_value().is_err());
        let fine: &'static str = Box::leak(("[".repeat(101) + &"]".repeat(101)).into_boxed_str());
        reader(fine).skip_value().unwrap();
    }

    #[test]
    fn field_sets_catch_repeats_beyond_the_inline_words() {
        let mut s = FieldSet::new();
        for i in [0, 127, 128, 1000] {
            assert!(s.insert(i));
            assert!(!s.insert(i));
        }
    }
}
