//! Values written in protobuf's text format, as option values take them
//! (`option (x) = { a: 1 b { c: "d" } };`): the tree the `.proto` parser
//! reads, before any type gives it meaning. [`super::interpret`] encodes it
//! against the option's message type.

/// Where something is written: 0-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// 1-based line and column, as errors show them.
    pub fn shown(self) -> (usize, usize) {
        (self.line + 1, self.column + 1)
    }
}

/// A scalar as written: the parser does not know the field's type yet.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Scalar {
    /// A name: an enum value, `true`/`false`, `inf`, `nan`.
    Ident { negative: bool, name: String },
    /// An integer literal (decimal, hex or octal), with its sign.
    Int { negative: bool, magnitude: u64 },
    /// A floating-point literal, its sign applied.
    Float(f64),
    /// One or more adjacent string literals, unescaped.
    Str(Vec<u8>),
}

/// A value in a text-format message.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Scalar(Scalar),
    Message(Message),
    /// `[a, b, c]`: one entry per element of a repeated field.
    List(Vec<(Value, Pos)>),
}

/// How a field is named in text format.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Name {
    /// A field of the message, by name (or, for a group, its type name).
    Field(String),
    /// `[pkg.ext]`: an extension.
    Extension(String),
    /// `[type.googleapis.com/pkg.Msg]`: an expanded `google.protobuf.Any`.
    Any { prefix: String, full_name: String },
}

/// One `name: value` of a text-format message.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Field {
    pub name: Name,
    pub value: Value,
    pub pos: Pos,
}

/// A text-format message: its fields in the order written.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Message {
    pub fields: Vec<Field>,
}
