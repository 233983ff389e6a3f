//! Protobuf's text format (what `protoc --decode` prints, and `.textproto`
//! files), for every generated message.
//!
//! ```
//! use rust_rpc::text;
//! use rust_rpc::wkt::{Duration, SourceContext};
//!
//! let d = Duration { seconds: 3, nanos: 5, ..Default::default() };
//! assert_eq!(text::to_string(&d).unwrap(), "seconds: 3\nnanos: 5\n");
//! assert_eq!(text::Text(&d).to_string(), "seconds: 3 nanos: 5");
//! let s: SourceContext = text::from_str("# a comment\nfile_name: 'a' \"b.proto\"").unwrap();
//! assert_eq!(s.file_name, "ab.proto");
//! ```
//!
//! Printing writes fields by their `.proto` names (a group by its type's
//! name) in field-number order, one per line and nested messages indented,
//! maps as entries sorted by key, strings with C escapes, an `Any` whose
//! type the options' [`TypeRegistry`] knows expanded as
//! `[type.googleapis.com/pkg.Msg] { ... }`, extensions the registry knows as
//! `[pkg.ext]: value`, and (when asked) unknown fields by number. Parsing
//! takes all of that, plus `#` comments, `<...>` for `{...}`, optional `:`
//! before a message, `[a, b]` lists for repeated fields, `,`/`;` after a
//! field, adjacent strings joined, integers in hex and octal, and `inf` /
//! `nan` for floats. A field given twice (unless repeated), two members of
//! one oneof, or an unknown name is an error naming its line and column.

mod any;
mod read;
mod unknown;
mod value;
mod write;

use std::fmt;
use std::sync::Arc;

pub use read::TextReader;
pub use value::{TextValue, read_enum, write_enum};
pub use write::TextWriter;

use crate::json::{FieldSet, TypeRegistry};

/// A text-format failure (the JSON mapping's error type: a path, a line and
/// column when reading, and what was wrong).
pub type TextError = crate::json::JsonError;

/// A message whose fields are written and read in the text format.
/// Implemented by generated code for every message.
pub trait TextMessage: Sized {
    /// Writes the fields that are set, in field-number order.
    fn write_text_fields(&self, w: &mut TextWriter<'_>) -> Result<(), TextError>;

    /// Reads field `name` (its `.proto` name, or a group's type name, or
    /// `[pkg.ext]` for an extension) if the message has it: the reader is
    /// after the name. `Ok(false)`, reading nothing, if it does not.
    fn merge_text_field(
        &mut self,
        name: &str,
        r: &mut TextReader<'_>,
        seen: &mut FieldSet,
    ) -> Result<bool, TextError>;
}

/// How text is written and read.
#[derive(Clone, Debug, Default)]
pub struct TextOptions {
    pub(crate) single_line: bool,
    pub(crate) print_unknown_fields: bool,
    pub(crate) types: Option<Arc<TypeRegistry>>,
}

impl TextOptions {
    /// Writes everything on one line (`a: 1 b { c: 2 }`), as `Text`'s
    /// `Display` does; the default is one field per line, indented.
    pub fn single_line(mut self, on: bool) -> Self {
        self.single_line = on;
        self
    }

    /// Writes unknown fields too, by number (`1001: 5`); off by default.
    pub fn print_unknown_fields(mut self, on: bool) -> Self {
        self.print_unknown_fields = on;
        self
    }

    /// The message types an `Any` may hold and the extensions to write and
    /// read (the same registry as JSON's).
    pub fn types(mut self, types: Arc<TypeRegistry>) -> Self {
        self.types = Some(types);
        self
    }
}

/// Writes `message` in the text format, one field per line.
pub fn to_string<M: TextMessage>(message: &M) -> Result<String, TextError> {
    to_string_with(message, &TextOptions::default())
}

/// Writes `message` in the text format.
pub fn to_string_with<M: TextMessage>(
    message: &M,
    options: &TextOptions,
) -> Result<String, TextError> {
    let mut out = String::new();
    message.write_text_fields(&mut TextWriter::new(&mut out, options))?;
    Ok(out)
}

/// Reads a message from text with the default options.
pub fn from_str<M: TextMessage + Default>(input: &str) -> Result<M, TextError> {
    from_str_with(input, &TextOptions::default())
}

/// Reads a message from text: its fields, up to the end of the input.
pub fn from_str_with<M: TextMessage + Default>(
    input: &str,
    options: &TextOptions,
) -> Result<M, TextError> {
    let mut m = M::default();
    let mut r = TextReader::new(input, options);
    r.fields(&mut m, None)?;
    Ok(m)
}

/// Shows a message in the text format on one line: `format!("{}", Text(&m))`.
/// A message that cannot be written (an `Any` whose bytes do not decode)
/// shows as far as it got, then `<error: ...>`.
pub struct Text<'a, M>(pub &'a M);

impl<M: TextMessage> fmt::Display for Text<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = TextOptions::default().single_line(true);
        let mut out = String::new();
        let result = self
            .0
            .write_text_fields(&mut TextWriter::new(&mut out, &options));
        f.write_str(&out)?;
        match result {
            Ok(()) => Ok(()),
            Err(e) => write!(f, " <error: {e}>"),
        }
    }
}
