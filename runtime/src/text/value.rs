//! How each kind of field value appears in the text format.

use super::{TextError, TextReader, TextWriter};
use crate::enumeration::{Enumeration, OpenEnum};

/// A value of a field in the text format: a scalar, an enum, a message.
pub trait TextValue: Sized {
    /// Written as a `{ ... }` block (no `:` before it).
    const IS_MESSAGE: bool = false;

    /// Writes the value.
    fn write_text(&self, w: &mut TextWriter<'_>) -> Result<(), TextError>;

    /// Reads a value.
    fn read_text(r: &mut TextReader<'_>) -> Result<Self, TextError>;

    /// True at the value a field without presence leaves out.
    fn is_default_text(&self) -> bool {
        false
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl TextValue for $t {
            #[inline]
            fn write_text(&self, w: &mut TextWriter<'_>) -> Result<(), TextError> {
                w.number(*self);
                Ok(())
            }
            fn read_text(r: &mut TextReader<'_>) -> Result<Self, TextError> {
                let v = r.integer()?;
                <$t>::try_from(v).map_err(|_| r.error(format!("{v} is out of range for {}", stringify!($t))))
            }
            #[inline]
            fn is_default_text(&self) -> bool {
                *self == 0
            }
        }
    )*};
}

integers!(i32, i64, u32, u64);

impl TextValue for bool {
    fn write_text(&self, w: &mut TextWriter<'_>) -> Result<(), TextError> {
        w.raw(if *self { "true" } else { "false" });
        Ok(())
    }
    fn read_text(r: &mut TextReader<'_>) -> Result<Self, TextError> {
        r.bool()
    }
    fn is_default_text(&self) -> bool {
        !*self
    }
}

impl TextValue for f64 {
    fn write_text(&self, w: &mut TextWriter<'_>) -> Result<(), TextError> {
        w.double(*self);
        Ok(())
    }
    fn read_text(r: &mut TextReader<'_>) -> Result<Self, TextError> {
        r.double()
    }
    fn is_default_text(&self) -> bool {
        self.to_bits() == 0
    }
}

impl TextValue for f32 {
    fn write_text(&self, w: &mut TextWriter<'_>) -> Result<(), TextError> {
        w.float(*self);
        Ok(())
    }
    fn read_text(r: &mut TextReader<'_>) -> Result<Self, TextError> {
        // Out of range rounds to an infinity, as protobuf's parsers do.
        r.double().map(|v| v as f32)
    }
    fn is_default_text(&self) -> bool {
        self.to_bits() == 0
    }
}

impl TextValue for String {
    fn write_text(&self, w: &mut TextWriter<'_>) -> Result<(), TextError> {
        w.string(self);
        Ok(())
    }
    fn read_text(r: &mut TextReader<'_>) -> Result<Self, TextError> {
        r.string()
    }
    fn is_default_text(&self) -> bool {
        self.is_empty()
    }
}

impl TextValue for Vec<u8> {
    fn write_text(&self, w: &mut TextWriter<'_>) -> Result<(), TextError> {
        w.bytes(self);
        Ok(())
    }
    fn read_text(r: &mut TextReader<'_>) -> Result<Self, TextError> {
        r.string_bytes()
    }
    fn is_default_text(&self) -> bool {
        self.is_empty()
    }
}

impl TextValue for bytes::Bytes {
    fn write_text(&self, w: &mut TextWriter<'_>) -> Result<(), TextError> {
        w.bytes(self);
        Ok(())
    }
    fn read_text(r: &mut TextReader<'_>) -> Result<Self, TextError> {
        r.string_bytes().map(Into::into)
    }
    fn is_default_text(&self) -> bool {
        self.is_empty()
    }
}

impl<T: TextValue> TextValue for Box<T> {
    const IS_MESSAGE: bool = T::IS_MESSAGE;
    fn write_text(&self, w: &mut TextWriter<'_>) -> Result<(), TextError> {
        (**self).write_text(w)
    }
    fn read_text(r: &mut TextReader<'_>) -> Result<Self, TextError> {
        T::read_text(r).map(Box::new)
    }
    fn is_default_text(&self) -> bool {
        (**self).is_default_text()
    }
}

/// Writes an enum value by name. Generated enums' [`TextValue`] calls this.
#[inline]
pub fn write_enum<E: Enumeration>(w: &mut TextWriter<'_>, e: E) -> Result<(), TextError> {
    w.raw(e.as_str_name());
    Ok(())
}

/// Reads an enum value: a name the enum declares, or a number (which an
/// `open` enum keeps even when it declares no such value).
pub fn read_enum<E: Enumeration>(
    r: &mut TextReader<'_>,
    open: bool,
) -> Result<OpenEnum<E>, TextError> {
    let starts_with_letter = {
        let (_, rest) = r.peek_rest();
        rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
    };
    if starts_with_letter {
        let name = r.identifier()?;
        return E::from_str_name(name)
            .map(OpenEnum::Known)
            .ok_or_else(|| r.error(format!("{name:?} is not a value of the enum")));
    }
    let v = r.integer()?;
    let n = i32::try_from(v).map_err(|_| r.error(format!("{v} is out of range for an enum")))?;
    match E::from_i32(n) {
        Some(e) => Ok(OpenEnum::Known(e)),
        None if open => Ok(OpenEnum::Unknown(n)),
        None => Err(r.error(format!("{n} is not a value of the (closed) enum"))),
    }
}

impl<E: Enumeration + TextValue> TextValue for OpenEnum<E> {
    fn write_text(&self, w: &mut TextWriter<'_>) -> Result<(), TextError> {
        match self {
            Self::Known(e) => e.write_text(w),
            Self::Unknown(n) => {
                w.number(*n);
                Ok(())
            }
        }
    }
    fn read_text(r: &mut TextReader<'_>) -> Result<Self, TextError> {
        read_enum(r, true)
    }
    fn is_default_text(&self) -> bool {
        self.is_default()
    }
}
