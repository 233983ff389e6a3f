//! Support for generated protobuf enums.

use core::fmt;

/// Implemented by every generated enum: a fieldless Rust enum whose variants
/// are the values the `.proto` declares.
pub trait Enumeration: Copy + Eq + fmt::Debug + Default + Send + Sync + 'static {
    /// The variant with numeric value `value`, if the enum declares one.
    fn from_i32(value: i32) -> Option<Self>;
    /// The numeric value of this variant.
    fn to_i32(self) -> i32;
    /// The name of this variant as written in the `.proto`.
    fn as_str_name(self) -> &'static str;
    /// The variant named `name` in the `.proto`, if any.
    fn from_str_name(name: &str) -> Option<Self>;
}

/// The value of an open enum field: one of the declared variants, or a
/// number the schema does not know (kept, so that it survives a re-encode).
///
/// Proto3 enums and editions enums are open; proto2 enums are closed and
/// appear as the plain enum type instead.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpenEnum<E> {
    /// A declared value.
    Known(E),
    /// A value the schema does not declare.
    Unknown(i32),
}

impl<E: Enumeration> OpenEnum<E> {
    /// Wraps a number, as `Known` when the enum declares it.
    #[inline]
    pub fn from_i32(value: i32) -> Self {
        match E::from_i32(value) {
            Some(e) => Self::Known(e),
            None => Self::Unknown(value),
        }
    }

    /// The number on the wire.
    #[inline]
    pub fn to_i32(self) -> i32 {
        match self {
            Self::Known(e) => e.to_i32(),
            Self::Unknown(v) => v,
        }
    }

    /// The declared variant, or `None` for an unknown number.
    #[inline]
    pub fn known(self) -> Option<E> {
        match self {
            Self::Known(e) => Some(e),
            Self::Unknown(_) => None,
        }
    }

    /// True for the enum's default (zero) value; such fields are not encoded
    /// when they have implicit presence.
    #[inline]
    pub fn is_default(self) -> bool {
        self.to_i32() == E::default().to_i32()
    }
}

impl<E: Enumeration> Default for OpenEnum<E> {
    fn default() -> Self {
        Self::Known(E::default())
    }
}

impl<E: Enumeration> From<E> for OpenEnum<E> {
    fn from(e: E) -> Self {
        Self::Known(e)
    }
}

impl<E: Enumeration> PartialEq<E> for OpenEnum<E> {
    fn eq(&self, other: &E) -> bool {
        self.to_i32() == other.to_i32()
    }
}

impl<E: Enumeration> fmt::Debug for OpenEnum<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Known(e) => fmt::Debug::fmt(e, f),
            Self::Unknown(v) => write!(f, "Unknown({v})"),
        }
    }
}
