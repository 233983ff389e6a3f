//! Custom metadata: the application's key-value pairs that travel as HTTP/2
//! headers and trailers next to gRPC's own.
//!
//! From PROTOCOL-HTTP2.md:
//!
//! > Custom-Metadata → Binary-Header / ASCII-Header
//! > Binary-Header → {Header-Name "-bin" } {_base64 encoded value_}
//! > ASCII-Header → Header-Name ASCII-Value
//! > Header-Name → 1\*( %x30-39 / %x61-7A / "\_" / "-" / ".") ; 0-9 a-z \_ - .
//! > ASCII-Value → 1\*( %x20-%x7E ) ; space and printable ASCII
//!
//! A [`MetadataMap`] only ever holds entries that follow these rules (minus
//! the `1*`: empty values are allowed, as every implementation does): keys
//! are checked on insert, ASCII values are checked on insert, binary values
//! are base64-encoded on insert (unpadded, as the spec says to emit) and
//! decoded on read (padded or not, as the spec says to accept).
//! [`MetadataMap::from_headers`] drops what the transport itself owns
//! (`grpc-status`, `content-type`, ...) and what breaks the rules, so what the
//! application sees it can send back unchanged.
//!
//! ```
//! use rust_rpc::transport::metadata::{MetadataEntry, MetadataMap};
//!
//! let mut md = MetadataMap::new();
//! md.insert("x-request-id", "42").unwrap();
//! md.insert_bin("trace-proto-bin", &[0xfa, 0xce]).unwrap();
//! assert_eq!(md.get("x-request-id"), Some("42"));
//! assert_eq!(md.get_bin("trace-proto-bin").unwrap().unwrap(), [0xfa, 0xce]);
//! assert!(md.insert("Bad Key", "v").is_err());
//! assert!(md.insert("grpc-status", "0").is_err()); // the transport's own
//!
//! for entry in md.iter() {
//!     match entry {
//!         MetadataEntry::Ascii(key, value) => println!("{key}: {value}"),
//!         MetadataEntry::Binary(key, base64) => println!("{key}: {} base64 chars", base64.len()),
//!     }
//! }
//! ```

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, STANDARD_NO_PAD_INDIFFERENT};
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Suffix that marks a binary (base64-carried) metadata key.
pub const BINARY_SUFFIX: &str = "-bin";

/// Header names that are never custom metadata: the ones gRPC's transport
/// writes and reads itself, and HTTP's connection-specific and framing
/// headers (RFC 9113 §8.2.2 forbids the former in HTTP/2; `content-length`
/// is checked by h2 against the body, so echoing a peer's would break a
/// response). `user-agent` is not here: the spec lets it through.
const RESERVED: &[&str] = &[
    "content-type",
    "te",
    "grpc-timeout",
    "grpc-encoding",
    "grpc-accept-encoding",
    "grpc-message-type",
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// `RESERVED` as header names, to recognize them without parsing.
static RESERVED_NAMES: [HeaderName; 15] = [
    HeaderName::from_static("content-type"),
    HeaderName::from_static("te"),
    HeaderName::from_static("grpc-timeout"),
    HeaderName::from_static("grpc-encoding"),
    HeaderName::from_static("grpc-accept-encoding"),
    HeaderName::from_static("grpc-message-type"),
    HeaderName::from_static("grpc-status"),
    HeaderName::from_static("grpc-message"),
    HeaderName::from_static("grpc-status-details-bin"),
    HeaderName::from_static("connection"),
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("transfer-encoding"),
    HeaderName::from_static("upgrade"),
    HeaderName::from_static("content-length"),
];

/// Whether `key` is a header the transport owns (see the module docs), so
/// that applications can neither set it nor see it as metadata. Pseudo
/// headers (`:path`, ...) count too.
pub fn is_reserved(key: &str) -> bool {
    key.starts_with(':') || RESERVED.contains(&key)
}

/// Whether `key` names a binary value (ends in `-bin`).
pub fn is_binary_key(key: &str) -> bool {
    key.len() > BINARY_SUFFIX.len() && key.ends_with(BINARY_SUFFIX)
}

/// A metadata key or value that breaks the spec's rules, or a binary value
/// that is not base64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidMetadata {
    kind: InvalidKind,
    // The key it was about. Values are never quoted: they may be secrets
    // (`authorization`), and they may be long.
    key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InvalidKind {
    EmptyKey,
    KeyCharacter,
    ReservedKey,
    BinaryKeyForAscii,
    AsciiKeyForBinary,
    ValueCharacter(usize),
    Base64,
}

impl InvalidMetadata {
    fn new(kind: InvalidKind, key: &str) -> Self {
        // Keys can come from the wire through `get_bin`; keep them short.
        let key = key.chars().take(64).collect();
        Self { kind, key }
    }

    /// The key the error is about.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether the key (rather than the value) was the problem.
    pub fn is_key_error(&self) -> bool {
        !matches!(
            self.kind,
            InvalidKind::ValueCharacter(_) | InvalidKind::Base64
        )
    }
}

impl fmt::Display for InvalidMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.key.escape_debug();
        match self.kind {
            InvalidKind::EmptyKey => f.write_str("invalid metadata key: the key is empty"),
            InvalidKind::KeyCharacter => write!(
                f,
                "invalid metadata key \"{key}\": keys may only hold lowercase letters, \
                 digits, '_', '-' and '.'"
            ),
            InvalidKind::ReservedKey => write!(
                f,
                "invalid metadata key \"{key}\": the header is reserved for the gRPC transport"
            ),
            InvalidKind::BinaryKeyForAscii => write!(
                f,
                "invalid metadata key \"{key}\": keys ending in \"-bin\" carry binary values \
                 (use the *_bin methods)"
            ),
            InvalidKind::AsciiKeyForBinary => write!(
                f,
                "invalid metadata key \"{key}\": binary values need a key ending in \"-bin\""
            ),
            InvalidKind::ValueCharacter(at) => write!(
                f,
                "invalid value for metadata key \"{key}\": byte {at} is not printable ASCII \
                 (0x20..=0x7E); send bytes under a \"-bin\" key instead"
            ),
            InvalidKind::Base64 => write!(
                f,
                "invalid value for binary metadata key \"{key}\": not base64"
            ),
        }
    }
}

impl std::error::Error for InvalidMetadata {}

/// Checks `key` against Header-Name (and reservation); `binary` says which
/// kind of key the caller needs.
fn check_key(key: &str, binary: bool) -> Result<(), InvalidMetadata> {
    if key.is_empty() {
        return Err(InvalidMetadata::new(InvalidKind::EmptyKey, key));
    }
    if !key
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'z' | b'_' | b'-' | b'.'))
    {
        return Err(InvalidMetadata::new(InvalidKind::KeyCharacter, key));
    }
    if is_reserved(key) {
        return Err(InvalidMetadata::new(InvalidKind::ReservedKey, key));
    }
    match (binary, is_binary_key(key)) {
        (false, true) => Err(InvalidMetadata::new(InvalidKind::BinaryKeyForAscii, key)),
        // "-bin" alone ends in the suffix but has an empty Header-Name.
        (true, false) => Err(InvalidMetadata::new(InvalidKind::AsciiKeyForBinary, key)),
        _ => Ok(()),
    }
}

/// Position of the first byte outside ASCII-Value (0x20..=0x7E), if any.
fn invalid_ascii_at(value: &[u8]) -> Option<usize> {
    value.iter().position(|b| !(0x20..=0x7e).contains(b))
}

fn header_name(key: &str) -> Result<HeaderName, InvalidMetadata> {
    // Cannot fail for a checked key; mapped anyway rather than unwrapped.
    HeaderName::from_bytes(key.as_bytes())
        .map_err(|_| InvalidMetadata::new(InvalidKind::KeyCharacter, key))
}

/// Encodes binary metadata the way it goes on the wire: standard base64
/// without padding.
pub fn encode_binary(value: &[u8]) -> String {
    STANDARD_NO_PAD.encode(value)
}

/// Decodes one binary metadata value (base64, padded or not). `key` only
/// names the value in the error.
pub fn decode_binary(key: &str, encoded: &[u8]) -> Result<Vec<u8>, InvalidMetadata> {
    STANDARD_NO_PAD_INDIFFERENT
        .decode(trim_ows(encoded))
        .map_err(|_| InvalidMetadata::new(InvalidKind::Base64, key))
}

/// Strips HTTP's optional whitespace, which may surround list items.
fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The base64 pieces of one binary header value. A peer or proxy may join
/// repeated headers with `,`, and the spec says to split binary headers on
/// `,` before decoding (base64 never contains one).
fn binary_pieces(value: &HeaderValue) -> impl Iterator<Item = &[u8]> {
    value.as_bytes().split(|b| *b == b',').map(trim_ows)
}

/// Custom metadata of a call: request headers, response headers or
/// trailers, minus the ones gRPC itself uses.
///
/// Keys are lowercase `[0-9a-z_.-]`. Keys ending in `-bin` carry bytes (use
/// the `*_bin` methods); other keys carry printable ASCII (`0x20..=0x7E`).
/// A key may have several values; `insert` replaces them, `append` adds one.
#[derive(Clone, Default, Debug)]
pub struct MetadataMap {
    headers: HeaderMap,
}

impl MetadataMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `capacity` values.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            headers: HeaderMap::with_capacity(capacity),
        }
    }

    /// Sets `key` to the ASCII `value`, replacing any values it had.
    pub fn insert(
        &mut self,
        key: impl AsRef<str>,
        value: impl AsRef<str>,
    ) -> Result<(), InvalidMetadata> {
        let (name, value) = Self::ascii_entry(key.as_ref(), value.as_ref())?;
        self.headers.insert(name, value);
        Ok(())
    }

    /// Adds the ASCII `value` to `key`, keeping the values it had.
    pub fn append(
        &mut self,
        key: impl AsRef<str>,
        value: impl AsRef<str>,
    ) -> Result<(), InvalidMetadata> {
        let (name, value) = Self::ascii_entry(key.as_ref(), value.as_ref())?;
        self.headers.append(name, value);
        Ok(())
    }

    /// Sets the binary `key` (which must end in `-bin`) to `value`, replacing
    /// any values it had.
    pub fn insert_bin(
        &mut self,
        key: impl AsRef<str>,
        value: impl AsRef<[u8]>,
    ) -> Result<(), InvalidMetadata> {
        let (name, value) = Self::binary_entry(key.as_ref(), value.as_ref())?;
        self.headers.insert(name, value);
        Ok(())
    }

    /// Adds `value` to the binary `key` (which must end in `-bin`), keeping
    /// the values it had.
    pub fn append_bin(
        &mut self,
        key: impl AsRef<str>,
        value: impl AsRef<[u8]>,
    ) -> Result<(), InvalidMetadata> {
        let (name, value) = Self::binary_entry(key.as_ref(), value.as_ref())?;
        self.headers.append(name, value);
        Ok(())
    }

    fn ascii_entry(key: &str, value: &str) -> Result<(HeaderName, HeaderValue), InvalidMetadata> {
        check_key(key, false)?;
        if let Some(at) = invalid_ascii_at(value.as_bytes()) {
            return Err(InvalidMetadata::new(InvalidKind::ValueCharacter(at), key));
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| InvalidMetadata::new(InvalidKind::ValueCharacter(0), key))?;
        Ok((header_name(key)?, value))
    }

    fn binary_entry(key: &str, value: &[u8]) -> Result<(HeaderName, HeaderValue), InvalidMetadata> {
        check_key(key, true)?;
        // The base64 alphabet is all valid header bytes; the String's buffer
        // becomes the value without a copy.
        let value = HeaderValue::try_from(encode_binary(value))
            .map_err(|_| InvalidMetadata::new(InvalidKind::Base64, key))?;
        Ok((header_name(key)?, value))
    }

    /// The first value of the ASCII `key`; `None` if there is none or `key`
    /// is a binary (`-bin`) key.
    pub fn get(&self, key: impl AsRef<str>) -> Option<&str> {
        let key = key.as_ref();
        if is_binary_key(key) {
            return None;
        }
        self.headers.get(key)?.to_str().ok()
    }

    /// Every value of the ASCII `key`, in order (none for a binary key).
    pub fn get_all<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a str> + use<'a> {
        let values = (!is_binary_key(key)).then(|| self.headers.get_all(key).iter());
        values.into_iter().flatten().filter_map(|v| v.to_str().ok())
    }

    /// The first value of the binary `key`, decoded; `None` if there is none
    /// or `key` is not a binary (`-bin`) key; `Some(Err)` if the peer sent
    /// something that is not base64.
    pub fn get_bin(&self, key: impl AsRef<str>) -> Option<Result<Vec<u8>, InvalidMetadata>> {
        let key = key.as_ref();
        if !is_binary_key(key) {
            return None;
        }
        let first = binary_pieces(self.headers.get(key)?).next()?;
        Some(decode_binary(key, first))
    }

    /// Every value of the binary `key`, decoded, in order (none for an ASCII
    /// key). Values a proxy joined with `,` come out one by one.
    pub fn get_all_bin<'a>(
        &'a self,
        key: &str,
    ) -> impl Iterator<Item = Result<Vec<u8>, InvalidMetadata>> + use<'a> {
        let values = is_binary_key(key).then(|| self.headers.get_all(key).iter());
        let key = key.to_owned();
        values
            .into_iter()
            .flatten()
            .flat_map(binary_pieces)
            .map(move |piece| decode_binary(&key, piece))
    }

    /// Removes every value of `key`; returns whether there was any.
    pub fn remove(&mut self, key: impl AsRef<str>) -> bool {
        // `HeaderMap::remove` drops every value of the key.
        self.headers.remove(key.as_ref()).is_some()
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: impl AsRef<str>) -> bool {
        self.headers.contains_key(key.as_ref())
    }

    /// Number of values (a key with two values counts twice).
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// Number of distinct keys.
    pub fn keys_len(&self) -> usize {
        self.headers.keys_len()
    }

    /// Whether the map holds no values.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// Removes everything, keeping the allocation.
    pub fn clear(&mut self) {
        self.headers.clear();
    }

    /// The distinct keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.headers.keys().map(HeaderName::as_str)
    }

    /// Every entry, values of one key in order. Binary values come as the
    /// base64 text from the wire (decode with [`decode_binary`]), split where
    /// a proxy joined several with `,`.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            headers: self.headers.iter(),
            pending: None,
        }
    }

    /// Custom metadata out of received `headers`: drops pseudo headers, the
    /// headers gRPC and HTTP use themselves (see [`is_reserved`]), keys that
    /// are not valid metadata keys and ASCII values outside
    /// `0x20..=0x7E` (the spec lets a receiver throw those away; keeping
    /// them would hand the application values it could not send back).
    /// Binary values are kept as they are and checked when read.
    pub fn from_headers(mut headers: HeaderMap) -> Self {
        // Usual case: a few whole keys to drop (content-type, te,
        // grpc-timeout, ...), taken out in place rather than copying the rest
        // into a new map. One pass over the values; reserved names are
        // recognized by comparing names (cheap for the standard ones), not
        // by parsing strings.
        const IN_PLACE: usize = 8;
        let mut doomed = [0usize; IN_PLACE];
        let mut n = 0;
        let mut in_place = true;
        for (name, value) in &headers {
            if let Some(i) = RESERVED_NAMES.iter().position(|r| r == name) {
                // The values of one key come one after the other.
                if n > 0 && doomed[n - 1] == i {
                    continue;
                }
                if n == IN_PLACE {
                    in_place = false;
                    break;
                }
                doomed[n] = i;
                n += 1;
                continue;
            }
            let key = name.as_str();
            let binary = is_binary_key(key);
            if !valid_key(key, binary) || (!binary && invalid_ascii_at(value.as_bytes()).is_some())
            {
                // Not a reserved key, or only some values of a key may go:
                // copy what stays instead.
                in_place = false;
                break;
            }
        }
        if in_place {
            for &i in &doomed[..n] {
                headers.remove(&RESERVED_NAMES[i]);
            }
            return Self { headers };
        }
        let mut kept = HeaderMap::with_capacity(headers.len());
        let mut name: Option<HeaderName> = None;
        // `into_iter` names a key once, before its first value.
        for (key, value) in headers {
            if key.is_some() {
                name = key;
            }
            if let Some(name) = &name {
                if keep(name, &value) {
                    kept.append(name.clone(), value);
                }
            }
        }
        Self { headers: kept }
    }

    /// Like [`MetadataMap::from_headers`], copying out of borrowed headers.
    pub fn from_headers_ref(headers: &HeaderMap) -> Self {
        let mut kept = HeaderMap::new();
        for (name, value) in headers {
            if keep(name, value) {
                kept.append(name.clone(), value.clone());
            }
        }
        Self { headers: kept }
    }

    /// The metadata as HTTP headers, ready to send.
    pub fn into_headers(self) -> HeaderMap {
        self.headers
    }

    /// The metadata as HTTP headers.
    pub fn as_headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Appends every value to `headers` (values already there stay).
    pub fn extend_headers(&self, headers: &mut HeaderMap) {
        headers.reserve(self.headers.len());
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
    }

    /// Appends every value of `other` to this map.
    pub fn merge(&mut self, other: MetadataMap) {
        let mut name: Option<HeaderName> = None;
        for (key, value) in other.headers {
            if key.is_some() {
                name = key;
            }
            if let Some(name) = &name {
                self.headers.append(name.clone(), value);
            }
        }
    }
}

/// Whether a received header is custom metadata that follows the rules.
fn keep(name: &HeaderName, value: &HeaderValue) -> bool {
    let key = name.as_str();
    let binary = is_binary_key(key);
    valid_key(key, binary) && (binary || invalid_ascii_at(value.as_bytes()).is_none())
}

/// `check_key(key, binary).is_ok()`, without building the error.
fn valid_key(key: &str, binary: bool) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'z' | b'_' | b'-' | b'.'))
        && !is_reserved(key)
        && binary == is_binary_key(key)
}

impl<'a> IntoIterator for &'a MetadataMap {
    type Item = MetadataEntry<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// One metadata value, as [`MetadataMap::iter`] yields it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataEntry<'a> {
    /// An ASCII key and its value.
    Ascii(&'a str, &'a str),
    /// A binary (`-bin`) key and its value as base64 text (as on the wire,
    /// padded or not); [`MetadataEntry::decode`] gives the bytes.
    Binary(&'a str, &'a [u8]),
}

impl<'a> MetadataEntry<'a> {
    /// The key.
    pub fn key(&self) -> &'a str {
        match *self {
            Self::Ascii(key, _) | Self::Binary(key, _) => key,
        }
    }

    /// The value's bytes: an ASCII value as is, a binary one decoded.
    pub fn decode(&self) -> Result<Vec<u8>, InvalidMetadata> {
        match *self {
            Self::Ascii(_, value) => Ok(value.as_bytes().to_vec()),
            Self::Binary(key, encoded) => decode_binary(key, encoded),
        }
    }
}

/// Iterator over a [`MetadataMap`]'s entries; see [`MetadataMap::iter`].
#[derive(Debug)]
pub struct Iter<'a> {
    headers: http::header::Iter<'a, HeaderValue>,
    // The rest of a binary value that held several `,`-joined values.
    pending: Option<(&'a str, &'a [u8])>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = MetadataEntry<'a>;

    fn next(&mut self) -> Option<MetadataEntry<'a>> {
        if let Some((key, rest)) = self.pending.take() {
            return Some(self.binary_piece(key, rest));
        }
        loop {
            let (name, value) = self.headers.next()?;
            let key = name.as_str();
            if is_binary_key(key) {
                return Some(self.binary_piece(key, value.as_bytes()));
            }
            // Always valid for values that went through `insert` or
            // `from_headers`; skipped rather than trusted otherwise.
            if let Ok(value) = value.to_str() {
                return Some(MetadataEntry::Ascii(key, value));
            }
        }
    }
}

impl<'a> Iter<'a> {
    fn binary_piece(&mut self, key: &'a str, value: &'a [u8]) -> MetadataEntry<'a> {
        match value.iter().position(|b| *b == b',') {
            Some(comma) => {
                self.pending = Some((key, &value[comma + 1..]));
                MetadataEntry::Binary(key, trim_ows(&value[..comma]))
            }
            None => MetadataEntry::Binary(key, trim_ows(value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reserved_names_spell_reserved() {
        let names: Vec<&str> = RESERVED_NAMES.iter().map(HeaderName::as_str).collect();
        assert_eq!(names, RESERVED);
    }

    #[test]
    fn from_headers_drops_reserved_in_place_and_keeps_the_rest() {
        let mut h = headers(&[
            ("content-type", b"application/grpc"),
            ("x-a", b"1"),
            ("grpc-timeout", b"1S"),
            ("x-a", b"2"),
            ("te", b"trailers"),
            ("user-agent", b"ua"),
            ("x-b-bin", b"AAEC"),
        ]);
        h.append("grpc-status", HeaderValue::from_static("0"));
        h.append("grpc-status", HeaderValue::from_static("1"));
        let md = MetadataMap::from_headers(h);
        let mut keys: Vec<&str> = md.keys().collect();
        keys.sort_unstable();
        assert_eq!(keys, ["user-agent", "x-a", "x-b-bin"]);
        assert_eq!(md.get_all("x-a").collect::<Vec<_>>(), ["1", "2"]);
        // A bad value of one key drops only that value.
        let md = MetadataMap::from_headers(headers(&[
            ("te", b"trailers"),
            ("x-c", b"ok"),
            ("x-c", b"bad\xff"),
        ]));
        assert_eq!(md.get_all("x-c").collect::<Vec<_>>(), ["ok"]);
        assert_eq!(md.len(), 1);
    }

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_bytes(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn ascii_insert_get_append_remove() {
        let mut md = MetadataMap::new();
        md.insert("x-id", "1").unwrap();
        md.insert("x-id", "2").unwrap();
        assert_eq!(md.get("x-id"), Some("2"));
        md.append("x-id", "3").unwrap();
        assert_eq!(md.get_all("x-id").collect::<Vec<_>>(), ["2", "3"]);
        assert_eq!(md.len(), 2);
        assert_eq!(md.keys_len(), 1);
        assert!(md.contains_key("x-id"));
        // Lookups are case-insensitive like HTTP's.
        assert_eq!(md.get("X-Id"), Some("2"));
        assert!(md.remove("x-id"));
        assert!(!md.remove("x-id"));
        assert!(md.is_empty());
        assert_eq!(md.get("x-id"), None);
    }

    #[test]
    fn keys_follow_header_name() {
        let mut md = MetadataMap::new();
        for ok in [
            "a",
            "0-9",
            "x_y.z-w",
            "user-agent",
            "grpc-trace-bin-not",
            "authorization",
        ] {
            md.insert(ok, "v").unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "Upper",
            "with space",
            "semi;colon",
            "é",
            "x:y",
            ":path",
            "tab\t",
        ] {
            let e = md.insert(bad, "v").unwrap_err();
            assert!(e.is_key_error(), "{bad}");
        }
        let e = md.insert("Upper", "v").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid metadata key \"Upper\": keys may only hold lowercase letters, digits, \
             '_', '-' and '.'"
        );
        assert_eq!(e.key(), "Upper");
    }

    #[test]
    fn reserved_keys_are_refused() {
        let mut md = MetadataMap::new();
        for key in [
            "grpc-status",
            "grpc-message",
            "grpc-timeout",
            "grpc-encoding",
            "grpc-accept-encoding",
            "content-type",
            "te",
            "connection",
            "transfer-encoding",
            "content-length",
        ] {
            let e = md.insert(key, "1").unwrap_err();
            assert!(e.to_string().contains("reserved"), "{key}: {e}");
        }
        let e = md.insert_bin("grpc-status-details-bin", b"x").unwrap_err();
        assert!(e.to_string().contains("reserved"));
        assert!(md.is_empty());
    }

    #[test]
    fn ascii_values_are_printable_ascii() {
        let mut md = MetadataMap::new();
        md.insert("k", " !~ printable ").unwrap();
        md.insert("k", "").unwrap();
        for bad in ["tab\there", "new\nline", "del\x7f", "caf\u{e9}", "\0"] {
            let e = md.insert("k", bad).unwrap_err();
            assert!(!e.is_key_error());
            // The value is never echoed in the error.
            assert!(!e.to_string().contains(bad), "{e}");
        }
        assert_eq!(
            md.insert("k", "ab\ncd").unwrap_err().to_string(),
            "invalid value for metadata key \"k\": byte 2 is not printable ASCII \
             (0x20..=0x7E); send bytes under a \"-bin\" key instead"
        );
    }

    #[test]
    fn binary_and_ascii_keys_do_not_mix() {
        let mut md = MetadataMap::new();
        assert!(md.insert("x-bin", "v").is_err());
        assert!(md.insert_bin("x", b"v").is_err());
        assert!(md.insert_bin("-bin", b"v").is_err());
        md.insert_bin("x-bin", b"v").unwrap();
        md.insert("x", "v").unwrap();
        assert_eq!(md.get("x-bin"), None);
        assert!(md.get_bin("x").is_none());
        assert_eq!(md.get_all("x-bin").count(), 0);
        assert_eq!(md.get_all_bin("x").count(), 0);
    }

    #[test]
    fn binary_is_stored_unpadded_and_read_either_way() {
        let mut md = MetadataMap::new();
        md.insert_bin("k-bin", [0xffu8, 0x00]).unwrap();
        assert_eq!(md.as_headers()["k-bin"], "/wA");
        let received = MetadataMap::from_headers(headers(&[
            ("k-bin", b"/wA="),
            ("k-bin", b"/wA"),
            ("k-bin", b"AQID, BAU=,"),
            ("bad-bin", b"!!!"),
        ]));
        assert_eq!(received.get_bin("k-bin").unwrap().unwrap(), [0xff, 0]);
        let all: Vec<Vec<u8>> = received.get_all_bin("k-bin").map(Result::unwrap).collect();
        assert_eq!(
            all,
            [
                vec![0xff, 0],
                vec![0xff, 0],
                vec![1, 2, 3],
                vec![4, 5],
                vec![]
            ]
        );
        let e = received.get_bin("bad-bin").unwrap().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value for binary metadata key \"bad-bin\": not base64"
        );
    }

    #[test]
    fn from_headers_drops_what_is_not_metadata() {
        let h = headers(&[
            ("content-type", b"application/grpc"),
            ("te", b"trailers"),
            ("grpc-timeout", b"1S"),
            ("grpc-encoding", b"gzip"),
            ("grpc-accept-encoding", b"gzip"),
            ("grpc-status", b"0"),
            ("grpc-message", b"x"),
            ("grpc-status-details-bin", b"AA"),
            ("connection", b"close"),
            ("content-length", b"5"),
            ("user-agent", b"grpc-go/1.0"),
            ("authorization", b"Bearer y235"),
            ("x-high", b"caf\xe9"),
            ("x-tab", b"a\tb"),
            ("x-ok", b"fine"),
            ("weird!name", b"1"),
            ("trace-proto-bin", b"jher831yy13JHy3hc"),
            ("grpc-trace-bin", b"AAEC"),
        ]);
        let md = MetadataMap::from_headers(h.clone());
        let mut keys: Vec<&str> = md.keys().collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "authorization",
                "grpc-trace-bin",
                "trace-proto-bin",
                "user-agent",
                "x-ok"
            ]
        );
        assert_eq!(md.get("user-agent"), Some("grpc-go/1.0"));
        let by_ref = MetadataMap::from_headers_ref(&h);
        assert_eq!(by_ref.as_headers(), md.as_headers());
    }

    #[test]
    fn from_headers_keeps_a_clean_map_as_is() {
        let h = headers(&[("a", b"1"), ("a", b"2"), ("b-bin", b"AA")]);
        let md = MetadataMap::from_headers(h.clone());
        assert_eq!(md.into_headers(), h);
    }

    #[test]
    fn iter_yields_every_value_and_splits_joined_binary() {
        let md = MetadataMap::from_headers(headers(&[
            ("a", b"1, 2"),
            ("a", b"3"),
            ("b-bin", b"AQ,Ag=="),
        ]));
        let entries: Vec<MetadataEntry<'_>> = md.iter().collect();
        assert_eq!(
            entries,
            [
                MetadataEntry::Ascii("a", "1, 2"),
                MetadataEntry::Ascii("a", "3"),
                MetadataEntry::Binary("b-bin", b"AQ"),
                MetadataEntry::Binary("b-bin", b"Ag=="),
            ]
        );
        assert_eq!(entries[3].key(), "b-bin");
        assert_eq!(entries[3].decode().unwrap(), [2]);
        assert_eq!(entries[0].decode().unwrap(), b"1, 2");
        assert_eq!((&md).into_iter().count(), 4);
    }

    #[test]
    fn iterated_entries_can_be_sent_back() {
        let received = MetadataMap::from_headers(headers(&[
            ("x-a", b"1"),
            ("x-b-bin", b"AQI="),
            ("user-agent", b"ua"),
        ]));
        let mut echo = MetadataMap::new();
        for entry in &received {
            match entry {
                MetadataEntry::Ascii(k, v) => echo.append(k, v).unwrap(),
                MetadataEntry::Binary(k, _) => echo.append_bin(k, entry.decode().unwrap()).unwrap(),
            }
        }
        assert_eq!(echo.get("x-a"), Some("1"));
        assert_eq!(echo.get_bin("x-b-bin").unwrap().unwrap(), [1, 2]);
        assert_eq!(echo.len(), 3);
    }

    #[test]
    fn extend_headers_appends_and_merge_combines() {
        let mut md = MetadataMap::new();
        md.insert("a", "1").unwrap();
        md.append("a", "2").unwrap();
        let mut h = headers(&[("a", b"0"), ("content-type", b"application/grpc")]);
        md.extend_headers(&mut h);
        let a: Vec<&[u8]> = h.get_all("a").iter().map(HeaderValue::as_bytes).collect();
        assert_eq!(a, [&b"0"[..], b"1", b"2"]);
        assert_eq!(h["content-type"], "application/grpc");

        let mut other = MetadataMap::new();
        other.insert("a", "3").unwrap();
        other.insert("b", "4").unwrap();
        md.merge(other);
        assert_eq!(md.get_all("a").collect::<Vec<_>>(), ["1", "2", "3"]);
        assert_eq!(md.get("b"), Some("4"));
    }

    #[test]
    fn value_iterators_do_not_borrow_the_key() {
        let mut md = MetadataMap::new();
        md.insert("a", "1").unwrap();
        md.insert_bin("b-bin", [9]).unwrap();
        let ascii = md.get_all(&String::from("a"));
        let binary = md.get_all_bin(&String::from("b-bin"));
        assert_eq!(ascii.collect::<Vec<_>>(), ["1"]);
        assert_eq!(binary.map(Result::unwrap).collect::<Vec<_>>(), [vec![9]]);
    }

    #[test]
    fn lookups_with_odd_keys_do_not_panic() {
        let mut md = MetadataMap::new();
        for key in ["", "bad key", "\u{0}", ":path", "-bin"] {
            assert_eq!(md.get(key), None);
            assert!(md.get_bin(key).is_none());
            assert!(!md.contains_key(key));
            assert!(!md.remove(key));
            assert_eq!(md.get_all(key).count(), 0);
            assert_eq!(md.get_all_bin(key).count(), 0);
        }
    }

    proptest! {
        #[test]
        fn binary_round_trips(value in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut md = MetadataMap::new();
            md.insert_bin("v-bin", &value).unwrap();
            prop_assert_eq!(md.get_bin("v-bin").unwrap().unwrap(), value.clone());
            // What another implementation sends padded reads the same.
            let padded = base64::engine::general_purpose::STANDARD.encode(&value);
            let received = MetadataMap::from_headers(headers(&[("v-bin", padded.as_bytes())]));
            prop_assert_eq!(received.get_bin("v-bin").unwrap().unwrap(), value);
        }

        #[test]
        fn ascii_round_trips(value in "[ -~]{0,100}") {
            let mut md = MetadataMap::new();
            md.insert("v", &value).unwrap();
            prop_assert_eq!(md.get("v"), Some(value.as_str()));
            let received = MetadataMap::from_headers(md.clone().into_headers());
            prop_assert_eq!(received.get("v"), Some(value.as_str()));
        }

        #[test]
        fn arbitrary_keys_never_panic(key in "\\PC{0,20}", value in "\\PC{0,20}") {
            let mut md = MetadataMap::new();
            if md.insert(&key, &value).is_ok() {
                prop_assert_eq!(md.get(&key), Some(value.as_str()));
            }
            let _ = md.insert_bin(&key, value.as_bytes());
            let _ = md.get_bin(&key);
        }
    }
}
