//! Errors of the protobuf codec.

use core::fmt;

/// What was wrong with the bytes being decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended inside a tag, a value or a length-delimited field.
    Truncated,
    /// A varint was longer than ten bytes.
    VarintTooLong,
    /// A tag named field number 0 or one above 2^29 - 1.
    InvalidFieldNumber,
    /// A tag carried wire type 6 or 7, or an end-group tag without a start.
    InvalidWireType,
    /// A length prefix pointed past the end of the enclosing message.
    LengthOutOfBounds,
    /// A group was not closed by an end-group tag with its field number.
    UnterminatedGroup,
    /// An end-group tag had a field number other than its group's.
    MismatchedEndGroup,
    /// A `string` field that the schema requires to be UTF-8 was not.
    InvalidUtf8,
    /// Messages were nested deeper than the recursion limit.
    RecursionLimitExceeded,
    /// A packed repeated field's length did not divide into whole values.
    InvalidPackedLength,
    /// A proto2 `required` field was missing after decoding.
    MissingRequiredField,
}

impl DecodeErrorKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Truncated => "input ended in the middle of a field",
            Self::VarintTooLong => "varint longer than 10 bytes",
            Self::InvalidFieldNumber => "invalid field number in tag",
            Self::InvalidWireType => "invalid wire type in tag",
            Self::LengthOutOfBounds => "length prefix exceeds the remaining input",
            Self::UnterminatedGroup => "group not closed by an end-group tag",
            Self::MismatchedEndGroup => "end-group tag does not match its start-group tag",
            Self::InvalidUtf8 => "string field is not valid UTF-8",
            Self::RecursionLimitExceeded => "message nesting exceeds the recursion limit",
            Self::InvalidPackedLength => {
                "packed field length is not a multiple of the element size"
            }
            Self::MissingRequiredField => "required field is missing",
        }
    }
}

/// A failure to decode a protobuf message: what was wrong and where.
///
/// `offset` is the byte position in the input where the problem was found;
/// the path lists the enclosing messages and field numbers, outermost first,
/// e.g. `pkg.Outer.inner(3) > pkg.Inner.name(1)`.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodeError(
    // Boxed: errors are rare, and a one-word error keeps every `Result` on
    // the decode hot path small.
    Box<Inner>,
);

#[derive(Clone, PartialEq, Eq)]
struct Inner {
    kind: DecodeErrorKind,
    offset: usize,
    // Innermost first while the error propagates outwards.
    path: Vec<(&'static str, u32)>,
    detail: Option<&'static str>,
}

impl DecodeError {
    /// An error of `kind` found at byte `offset`.
    #[cold]
    pub fn new(kind: DecodeErrorKind, offset: usize) -> Self {
        Self(Box::new(Inner {
            kind,
            offset,
            path: Vec::new(),
            detail: None,
        }))
    }

    /// Attaches the name of the offending item (for example a required field).
    #[cold]
    pub fn with_detail(mut self, detail: &'static str) -> Self {
        self.0.detail = Some(detail);
        self
    }

    /// Records that the error happened inside field `field` of message `message`.
    #[cold]
    pub fn push_field(mut self, message: &'static str, field: u32) -> Self {
        self.0.path.push((message, field));
        self
    }

    /// What was wrong.
    pub fn kind(&self) -> DecodeErrorKind {
        self.0.kind
    }

    /// Byte offset in the input where the problem was found.
    pub fn offset(&self) -> usize {
        self.0.offset
    }

    /// Enclosing `(message full name, field number)` pairs, outermost first.
    pub fn path(&self) -> impl Iterator<Item = (&'static str, u32)> + '_ {
        self.0.path.iter().rev().copied()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "failed to decode protobuf message: {}",
            self.0.kind.describe()
        )?;
        if let Some(detail) = self.0.detail {
            write!(f, " ({detail})")?;
        }
        write!(f, " at byte {}", self.0.offset)?;
        let mut first = true;
        for (message, field) in self.path() {
            f.write_str(if first { " in " } else { " > " })?;
            write!(f, "{message} field {field}")?;
            first = false;
        }
        Ok(())
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for DecodeError {}

/// A failure to encode: the destination buffer was too small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeError {
    required: usize,
    remaining: usize,
}

impl EncodeError {
    pub(crate) fn new(required: usize, remaining: usize) -> Self {
        Self {
            required,
            remaining,
        }
    }

    /// Bytes the message needed.
    pub fn required_capacity(&self) -> usize {
        self.required
    }

    /// Bytes the buffer had left.
    pub fn remaining(&self) -> usize {
        self.remaining
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "failed to encode protobuf message: needs {} bytes, buffer has {}",
            self.required, self.remaining
        )
    }
}

impl std::error::Error for EncodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_kind_offset_and_path() {
        let e = DecodeError::new(DecodeErrorKind::InvalidUtf8, 17)
            .push_field("pkg.Inner", 1)
            .push_field("pkg.Outer", 3);
        assert_eq!(
            e.to_string(),
            "failed to decode protobuf message: string field is not valid UTF-8 at byte 17 \
             in pkg.Outer field 3 > pkg.Inner field 1"
        );
        assert_eq!(
            e.path().collect::<Vec<_>>(),
            [("pkg.Outer", 3), ("pkg.Inner", 1)]
        );
    }
}
