//! The one error of JSON encoding and decoding: what was wrong, where in
//! the message (`items[3].name`) and, for input, where in the text.

use std::borrow::Cow;
use std::fmt;

/// A failure to write or read JSON.
///
/// Its `Display` names the path through the message and, when reading, the
/// line and column: `items[3].name (line 4, column 17): expected a string`.
#[derive(Clone, PartialEq, Eq)]
pub struct JsonError(
    // Boxed, as the binary codec's error: errors are rare and a one-word
    // error keeps every `Result` on the way small.
    Box<Inner>,
);

#[derive(Clone, PartialEq, Eq)]
struct Inner {
    message: Cow<'static, str>,
    // Innermost first while the error propagates outwards.
    path: Vec<Segment>,
    // 1-based line and column (in characters) of the input, when reading.
    at: Option<(usize, usize)>,
}

#[derive(Clone, PartialEq, Eq)]
enum Segment {
    Field(Cow<'static, str>),
    Index(usize),
    Key(String),
}

impl JsonError {
    /// An error with no position (writing).
    #[cold]
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self(Box::new(Inner {
            message: message.into(),
            path: Vec::new(),
            at: None,
        }))
    }

    #[cold]
    pub(crate) fn at_offset(
        message: impl Into<Cow<'static, str>>,
        input: &str,
        offset: usize,
    ) -> Self {
        let before = input.get(..offset).unwrap_or(input);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let mut e = Self::new(message);
        e.0.at = Some((line, column));
        e
    }

    /// Records that the error happened in field `name` (its JSON name).
    #[cold]
    pub fn in_field(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.0.path.push(Segment::Field(name.into()));
        self
    }

    /// Records that the error happened in element `index` of a list.
    #[cold]
    pub fn at_index(mut self, index: usize) -> Self {
        self.0.path.push(Segment::Index(index));
        self
    }

    /// Records that the error happened in the value of map key `key`.
    #[cold]
    pub fn at_key(mut self, key: impl Into<String>) -> Self {
        self.0.path.push(Segment::Key(key.into()));
        self
    }

    /// What was wrong, without the path or position.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The path through the message, outermost first (`items[3].name`);
    /// empty for the top level.
    pub fn path(&self) -> String {
        let mut out = String::new();
        for segment in self.0.path.iter().rev() {
            match segment {
                Segment::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Segment::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
                Segment::Key(k) => {
                    out.push('[');
                    out.push_str(&format!("{k:?}"));
                    out.push(']');
                }
            }
        }
        out
    }

    /// Line and column (1-based) in the input where reading failed.
    pub fn position(&self) -> Option<(usize, usize)> {
        self.0.at
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path();
        match (path.is_empty(), self.0.at) {
            (false, Some((line, column))) => write!(f, "{path} (line {line}, column {column}): ")?,
            (false, None) => write!(f, "{path}: ")?,
            (true, Some((line, column))) => write!(f, "line {line}, column {column}: ")?,
            (true, None) => {}
        }
        f.write_str(&self.0.message)
    }
}

impl fmt::Debug for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for JsonError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_puts_path_and_position_before_the_message() {
        let input = "{\n  \"items\": [{}, {\"name\": 3}]\n}";
        let offset = input.find('3').unwrap();
        let e = JsonError::at_offset("expected a string", input, offset)
            .in_field("name")
            .at_index(1)
            .in_field("items");
        assert_eq!(e.path(), "items[1].name");
        assert_eq!(e.position(), Some((2, 26)));
        assert_eq!(
            e.to_string(),
            "items[1].name (line 2, column 26): expected a string"
        );
        let e = JsonError::new("bad").at_key("k\"").in_field("labels");
        assert_eq!(e.to_string(), "labels[\"k\\\"\"]: bad");
    }
}
