//! The outcome of a call: a [`Code`], a message, optional binary details
//! and trailing metadata, and how they travel in `grpc-status`,
//! `grpc-message` and `grpc-status-details-bin`.
//!
//! From PROTOCOL-HTTP2.md:
//!
//! > Trailers → Status [Status-Message] \*Custom-Metadata
//! > Status → "grpc-status" 1\*DIGIT ; 0-9
//! > Status-Message → "grpc-message" Percent-Encoded
//! > Percent-Byte-Unencoded → 1\*( %x20-%x24 / %x26-%x7E ) ; space and VCHAR, except %
//! > Percent-Byte-Encoded → "%" 2HEXDIGIT ; 0-9 A-F
//!
//! ```
//! use rust_rpc::transport::status::{Code, Status};
//!
//! let status = Status::not_found("no user named \"ø\"");
//! let mut trailers = http::HeaderMap::new();
//! status.write_headers(&mut trailers);
//! assert_eq!(trailers["grpc-status"], "5");
//! assert_eq!(trailers["grpc-message"], "no user named \"%C3%B8\"");
//!
//! let back = Status::from_headers(&trailers).unwrap();
//! assert_eq!(back.code(), Code::NotFound);
//! assert_eq!(back.message(), "no user named \"ø\"");
//! ```

use core::fmt;
use std::error::Error as StdError;
use std::io;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, STANDARD_NO_PAD_INDIFFERENT};
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use super::metadata::{InvalidMetadata, MetadataMap};
use super::timeout::InvalidTimeout;
use crate::error::DecodeError;
use crate::message::Message;
use crate::wkt::Any;

/// Name of the trailer that carries the status code.
pub const GRPC_STATUS: &str = "grpc-status";
/// Name of the trailer that carries the percent-encoded status message.
pub const GRPC_MESSAGE: &str = "grpc-message";
/// Name of the trailer that carries an encoded `google.rpc.Status`.
pub const GRPC_STATUS_DETAILS_BIN: &str = "grpc-status-details-bin";

/// A gRPC status code (statuscodes.md; `google.rpc.Code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[repr(i32)]
pub enum Code {
    /// Not an error: the call succeeded.
    Ok = 0,
    /// The call was cancelled, usually by the caller.
    Cancelled = 1,
    /// An unknown error, or one from another error space.
    Unknown = 2,
    /// The client passed an invalid argument, whatever the system's state.
    InvalidArgument = 3,
    /// The deadline passed before the call could complete.
    DeadlineExceeded = 4,
    /// A requested entity was not found.
    NotFound = 5,
    /// The entity the client tried to create already exists.
    AlreadyExists = 6,
    /// The caller may not run this call.
    PermissionDenied = 7,
    /// A resource (a quota, memory, message size) is exhausted.
    ResourceExhausted = 8,
    /// The system is not in the state the call needs.
    FailedPrecondition = 9,
    /// The call was aborted, typically by a concurrency conflict.
    Aborted = 10,
    /// The call went past the valid range.
    OutOfRange = 11,
    /// The call is not implemented or not supported.
    Unimplemented = 12,
    /// An invariant the system relies on is broken.
    Internal = 13,
    /// The service is unavailable for now; retrying may help.
    Unavailable = 14,
    /// Data was lost or corrupted beyond recovery.
    DataLoss = 15,
    /// The call lacks valid authentication credentials.
    Unauthenticated = 16,
}

impl Code {
    /// The code for number `code`; numbers outside 0..=16 are
    /// [`Code::Unknown`].
    pub fn from_i32(code: i32) -> Code {
        match code {
            0 => Code::Ok,
            1 => Code::Cancelled,
            2 => Code::Unknown,
            3 => Code::InvalidArgument,
            4 => Code::DeadlineExceeded,
            5 => Code::NotFound,
            6 => Code::AlreadyExists,
            7 => Code::PermissionDenied,
            8 => Code::ResourceExhausted,
            9 => Code::FailedPrecondition,
            10 => Code::Aborted,
            11 => Code::OutOfRange,
            12 => Code::Unimplemented,
            13 => Code::Internal,
            14 => Code::Unavailable,
            15 => Code::DataLoss,
            16 => Code::Unauthenticated,
            _ => Code::Unknown,
        }
    }

    /// The code's number, as sent in `grpc-status`.
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// The canonical name, as other gRPC implementations print it
    /// (`NOT_FOUND`). [`fmt::Display`] writes this.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// What the code means, in a few words.
    pub fn description(self) -> &'static str {
        match self {
            Code::Ok => "the call succeeded",
            Code::Cancelled => "the call was cancelled",
            Code::Unknown => "unknown error",
            Code::InvalidArgument => "the client passed an invalid argument",
            Code::DeadlineExceeded => "the deadline expired before the call completed",
            Code::NotFound => "a requested entity was not found",
            Code::AlreadyExists => "the entity to create already exists",
            Code::PermissionDenied => "the caller may not run this call",
            Code::ResourceExhausted => "a resource is exhausted",
            Code::FailedPrecondition => "the system is not in the state the call needs",
            Code::Aborted => "the call was aborted",
            Code::OutOfRange => "the call went past the valid range",
            Code::Unimplemented => "the call is not implemented or not supported",
            Code::Internal => "internal error",
            Code::Unavailable => "the service is unavailable",
            Code::DataLoss => "unrecoverable data loss or corruption",
            Code::Unauthenticated => "the call lacks valid authentication credentials",
        }
    }

    /// The `grpc-status` value, without allocating.
    pub fn header_value(self) -> HeaderValue {
        const VALUES: [&str; 17] = [
            "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
            "16",
        ];
        HeaderValue::from_static(VALUES[self as usize])
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<i32> for Code {
    fn from(code: i32) -> Code {
        Code::from_i32(code)
    }
}

impl From<Code> for i32 {
    fn from(code: Code) -> i32 {
        code.as_i32()
    }
}

/// Percent-encodes a status message for `grpc-message`: every byte of its
/// UTF-8 outside `0x20..=0x7E`, and `%` itself, becomes `%XX` (uppercase).
pub fn percent_encode_message(message: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let escape = |b: u8| !(0x20..=0x7e).contains(&b) || b == b'%';
    let bytes = message.as_bytes();
    let escapes = bytes.iter().filter(|&&b| escape(b)).count();
    if escapes == 0 {
        return message.to_owned();
    }
    let mut out = String::with_capacity(bytes.len() + 2 * escapes);
    for &b in bytes {
        if escape(b) {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// Decodes a `grpc-message` value. Leniently, as the spec asks ("When
/// decoding invalid values, implementations MUST NOT error or throw away the
/// message"): a `%` not followed by two hex digits stays as it is, and bytes
/// that do not form UTF-8 become U+FFFD.
pub fn percent_decode_message(value: &[u8]) -> String {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    if !value.contains(&b'%') {
        return String::from_utf8_lossy(value).into_owned();
    }
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'%' {
            let hi = value.get(i + 1).copied().and_then(hex);
            let lo = value.get(i + 2).copied().and_then(hex);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(value[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// The outcome of a call: OK, or an error with a code and a message. It is
/// the error type of every generated client and server method.
///
/// Besides the code and the message it can carry binary details (by
/// convention an encoded `google.rpc.Status`, see
/// [`Status::with_rpc_details`]), trailing metadata, and the local error that
/// caused it ([`std::error::Error::source`]; never sent).
#[derive(Clone)]
pub struct Status(
    // Boxed: a `Result<T, Status>` stays small on every call's hot path.
    Box<Inner>,
);

#[derive(Clone)]
struct Inner {
    code: Code,
    message: String,
    details: Bytes,
    metadata: MetadataMap,
    source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(message: impl Into<String>) -> Status {
                Status::new(Code::$code, message)
            }
        )*
    };
}

impl Status {
    /// A status with `code` and `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status(Box::new(Inner {
            code,
            message: message.into(),
            details: Bytes::new(),
            metadata: MetadataMap::new(),
            source: None,
        }))
    }

    /// `OK`, with no message.
    pub fn ok() -> Status {
        Status::new(Code::Ok, String::new())
    }

    constructors! {
        /// `CANCELLED`: the call was cancelled, usually by the caller.
        cancelled => Cancelled,
        /// `UNKNOWN`: an unknown error.
        unknown => Unknown,
        /// `INVALID_ARGUMENT`: the client passed an invalid argument.
        invalid_argument => InvalidArgument,
        /// `DEADLINE_EXCEEDED`: the deadline passed first.
        deadline_exceeded => DeadlineExceeded,
        /// `NOT_FOUND`: a requested entity was not found.
        not_found => NotFound,
        /// `ALREADY_EXISTS`: the entity to create already exists.
        already_exists => AlreadyExists,
        /// `PERMISSION_DENIED`: the caller may not run this call.
        permission_denied => PermissionDenied,
        /// `RESOURCE_EXHAUSTED`: a resource is exhausted.
        resource_exhausted => ResourceExhausted,
        /// `FAILED_PRECONDITION`: the system is not in the state the call needs.
        failed_precondition => FailedPrecondition,
        /// `ABORTED`: the call was aborted.
        aborted => Aborted,
        /// `OUT_OF_RANGE`: the call went past the valid range.
        out_of_range => OutOfRange,
        /// `UNIMPLEMENTED`: the call is not implemented or not supported.
        unimplemented => Unimplemented,
        /// `INTERNAL`: an invariant is broken.
        internal => Internal,
        /// `UNAVAILABLE`: the service is unavailable for now.
        unavailable => Unavailable,
        /// `DATA_LOSS`: unrecoverable data loss or corruption.
        data_loss => DataLoss,
        /// `UNAUTHENTICATED`: the call lacks valid credentials.
        unauthenticated => Unauthenticated,
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.0.code
    }

    /// The message (decoded; empty if there was none).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The binary details (`grpc-status-details-bin`, decoded from base64);
    /// empty if there were none.
    pub fn details(&self) -> &[u8] {
        &self.0.details
    }

    /// The status with `details` as its binary details.
    pub fn with_details(mut self, details: Bytes) -> Status {
        self.0.details = details;
        self
    }

    /// Trailing metadata that goes (or came) with the status.
    pub fn metadata(&self) -> &MetadataMap {
        &self.0.metadata
    }

    /// Trailing metadata, mutably.
    pub fn metadata_mut(&mut self) -> &mut MetadataMap {
        &mut self.0.metadata
    }

    /// The status with `metadata` as its trailing metadata.
    pub fn with_metadata(mut self, metadata: MetadataMap) -> Status {
        self.0.metadata = metadata;
        self
    }

    /// The status with `source` as the local error behind it (reported by
    /// [`std::error::Error::source`], never sent to the peer).
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Status {
        self.0.source = Some(Arc::new(source));
        self
    }

    /// A status whose details are a `google.rpc.Status` with the same code
    /// and message and `details`: the "richer error model" other gRPC
    /// implementations read from `grpc-status-details-bin`.
    pub fn with_rpc_details(code: Code, message: impl Into<String>, details: Vec<Any>) -> Status {
        let message = message.into();
        let rpc = crate::rpc::Status {
            code: code.as_i32(),
            message: message.clone(),
            details,
            ..Default::default()
        };
        Status::new(code, message).with_details(Bytes::from(rpc.encode_to_vec()))
    }

    /// The `google.rpc.Status` details: empty if the status has no details,
    /// an error if its details are not a `google.rpc.Status`.
    pub fn rpc_details(&self) -> Result<Vec<Any>, DecodeError> {
        if self.0.details.is_empty() {
            return Ok(Vec::new());
        }
        Ok(crate::rpc::Status::decode_slice(&self.0.details)?.details)
    }

    /// The status as a `google.rpc.Status`: this code and message, and the
    /// details of the one in [`Status::details`] if there is one. An error if
    /// the details are not a `google.rpc.Status`.
    pub fn to_rpc_status(&self) -> Result<crate::rpc::Status, DecodeError> {
        Ok(crate::rpc::Status {
            code: self.code().as_i32(),
            message: self.message().to_owned(),
            details: self.rpc_details()?,
            ..Default::default()
        })
    }

    /// A status from a `google.rpc.Status`: its code (unknown numbers become
    /// [`Code::Unknown`]) and message, and, if it has details, itself encoded
    /// as the binary details.
    pub fn from_rpc_status(status: crate::rpc::Status) -> Status {
        let details = if status.details.is_empty() {
            Bytes::new()
        } else {
            Bytes::from(status.encode_to_vec())
        };
        Status::new(Code::from_i32(status.code), status.message).with_details(details)
    }

    /// The status that trailers (or a Trailers-Only response's headers)
    /// carry; `None` without `grpc-status`.
    ///
    /// Reads `grpc-status` (a value that is not a number gives
    /// [`Code::Unknown`] with a message saying so), `grpc-message`
    /// (percent-decoded leniently), `grpc-status-details-bin` (base64, padded
    /// or not; dropped if it is not base64) and the custom metadata.
    pub fn from_headers(headers: &HeaderMap) -> Option<Status> {
        let raw = headers.get(GRPC_STATUS)?.as_bytes();
        let message = headers
            .get(GRPC_MESSAGE)
            .map(|v| percent_decode_message(v.as_bytes()))
            .unwrap_or_default();
        let digits = !raw.is_empty() && raw.iter().all(u8::is_ascii_digit);
        let shown = raw[..raw.len().min(32)].escape_ascii();
        let (code, message) = match parse_code(raw) {
            Some(n) if (0..=16).contains(&n) => (Code::from_i32(n), message),
            _ if digits => (
                Code::Unknown,
                join(format!("unknown grpc-status {shown}"), &message),
            ),
            _ => (
                Code::Unknown,
                join(format!("invalid grpc-status \"{shown}\""), &message),
            ),
        };
        let details = match headers.get(GRPC_STATUS_DETAILS_BIN) {
            None => Bytes::new(),
            Some(v) => match STANDARD_NO_PAD_INDIFFERENT.decode(v.as_bytes()) {
                Ok(bytes) => Bytes::from(bytes),
                Err(_) => {
                    tracing::debug!("ignoring grpc-status-details-bin that is not base64");
                    Bytes::new()
                }
            },
        };
        Some(
            Status::new(code, message)
                .with_details(details)
                .with_metadata(MetadataMap::from_headers_ref(headers)),
        )
    }

    /// Writes the status into `headers` (trailers, or the headers of a
    /// Trailers-Only response): `grpc-status`; `grpc-message`,
    /// percent-encoded, if the message is not empty;
    /// `grpc-status-details-bin`, unpadded base64, if there are details; and
    /// the custom metadata. Earlier `grpc-message` and details headers are
    /// removed when this status has none.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert(
            HeaderName::from_static(GRPC_STATUS),
            self.code().header_value(),
        );
        let message = HeaderName::from_static(GRPC_MESSAGE);
        match HeaderValue::try_from(percent_encode_message(self.message())) {
            Ok(value) if !self.message().is_empty() => {
                headers.insert(message, value);
            }
            // Percent-encoded text is always a valid header value.
            _ => {
                headers.remove(message);
            }
        }
        let details = HeaderName::from_static(GRPC_STATUS_DETAILS_BIN);
        match HeaderValue::try_from(STANDARD_NO_PAD.encode(self.details())) {
            Ok(value) if !self.details().is_empty() => {
                headers.insert(details, value);
            }
            _ => {
                headers.remove(details);
            }
        }
        self.metadata().extend_headers(headers);
    }

    /// The status for a response that came without `grpc-status`, from its
    /// HTTP status, per http-grpc-status-mapping.md: 400 and 431 INTERNAL,
    /// 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED, 429,
    /// 502, 503 and 504 UNAVAILABLE, anything else (200 included) UNKNOWN.
    pub fn from_http_status(status: http::StatusCode) -> Status {
        let code = match status.as_u16() {
            400 | 431 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        };
        Status::new(
            code,
            format!("received HTTP status {status} without a grpc-status"),
        )
    }

    /// The status for any error: a [`Status`] in it or in its chain of
    /// sources as it is; otherwise the code of the first `h2::Error`,
    /// `std::io::Error` or [`DecodeError`] in the chain (as their `From`
    /// impls map them), with the error's message; otherwise `UNKNOWN`.
    pub fn from_error(error: Box<dyn StdError + Send + Sync + 'static>) -> Status {
        let error = match error.downcast::<Status>() {
            Ok(status) => return *status,
            Err(error) => error,
        };
        let mut code = None;
        let mut cause: Option<&(dyn StdError + 'static)> = Some(&*error);
        while let Some(e) = cause {
            if let Some(status) = e.downcast_ref::<Status>() {
                return status.clone();
            }
            code = if let Some(e) = e.downcast_ref::<h2::Error>() {
                Some(h2_code(e))
            } else if let Some(e) = e.downcast_ref::<io::Error>() {
                Some(io_code(e))
            } else if e.is::<DecodeError>() {
                Some(Code::Internal)
            } else {
                None
            };
            if code.is_some() {
                break;
            }
            cause = e.source();
        }
        Status(Box::new(Inner {
            code: code.unwrap_or(Code::Unknown),
            message: error.to_string(),
            details: Bytes::new(),
            metadata: MetadataMap::new(),
            source: Some(Arc::from(error)),
        }))
    }
}

/// `grpc-status`'s digits as a number; `None` if they are not all digits
/// or do not fit an `i32`.
fn parse_code(raw: &[u8]) -> Option<i32> {
    if raw.is_empty() {
        return None;
    }
    raw.iter().try_fold(0i32, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(i32::from(d - b'0'))
    })
}

fn join(prefix: String, message: &str) -> String {
    if message.is_empty() {
        prefix
    } else {
        format!("{prefix}: {message}")
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Status");
        d.field("code", &self.code())
            .field("message", &self.message());
        if !self.details().is_empty() {
            d.field("details", &format_args!("<{} bytes>", self.details().len()));
        }
        if !self.metadata().is_empty() {
            d.field("metadata", self.metadata());
        }
        if let Some(source) = &self.0.source {
            d.field("source", source);
        }
        d.finish()
    }
}

/// `CODE: message`. Control characters in the message (which may come from
/// the peer) are escaped, so a status cannot forge log lines.
impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code().as_str())?;
        if self.message().is_empty() {
            return Ok(());
        }
        f.write_str(": ")?;
        for c in self.message().chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

impl StdError for Status {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        let source = self.0.source.as_deref()?;
        Some(source)
    }
}

/// `INTERNAL`: a message could not be decoded (statuscodes.md: "Error
/// parsing request proto" / "response proto").
impl From<DecodeError> for Status {
    fn from(error: DecodeError) -> Status {
        Status::internal(error.to_string()).with_source(error)
    }
}

/// By kind: the ones an application means (`NotFound`, `PermissionDenied`,
/// `AlreadyExists`, `InvalidInput`, `Unsupported`, `OutOfMemory`,
/// `TimedOut`) map to the gRPC code of the same meaning; everything else,
/// broken and refused connections included, is `UNAVAILABLE`.
impl From<io::Error> for Status {
    fn from(error: io::Error) -> Status {
        Status::new(io_code(&error), error.to_string()).with_source(error)
    }
}

fn io_code(error: &io::Error) -> Code {
    match error.kind() {
        io::ErrorKind::NotFound => Code::NotFound,
        io::ErrorKind::PermissionDenied => Code::PermissionDenied,
        io::ErrorKind::AlreadyExists => Code::AlreadyExists,
        io::ErrorKind::InvalidInput => Code::InvalidArgument,
        io::ErrorKind::Unsupported => Code::Unimplemented,
        io::ErrorKind::OutOfMemory => Code::ResourceExhausted,
        io::ErrorKind::TimedOut => Code::DeadlineExceeded,
        _ => Code::Unavailable,
    }
}

/// Per PROTOCOL-HTTP2.md's RST_STREAM table: `CANCEL` is `CANCELLED`,
/// `REFUSED_STREAM` `UNAVAILABLE` (nothing was processed; safe to retry),
/// `ENHANCE_YOUR_CALM` `RESOURCE_EXHAUSTED` (bandwidth),
/// `INADEQUATE_SECURITY` `PERMISSION_DENIED`, every other reason `INTERNAL`.
/// A connection that broke (an I/O error) or that the peer closed with
/// GOAWAY is `UNAVAILABLE`, as is a GOAWAY with `NO_ERROR` (a graceful
/// shutdown).
impl From<h2::Error> for Status {
    fn from(error: h2::Error) -> Status {
        let code = h2_code(&error);
        let mut message = error.to_string();
        #[cfg(feature = "tls")]
        if let Some(hint) = error.get_io().and_then(super::tls::hint) {
            message.push_str(hint);
        }
        match error.reason() {
            Some(h2::Reason::ENHANCE_YOUR_CALM) if code == Code::ResourceExhausted => {
                message.push_str(": the peer limited bandwidth");
            }
            Some(h2::Reason::INADEQUATE_SECURITY) => {
                message.push_str(": the connection is not secure enough for the call");
            }
            _ => {}
        }
        truncate(&mut message, 1024);
        Status::new(code, message).with_source(error)
    }
}

fn h2_code(error: &h2::Error) -> Code {
    if error.is_io() {
        return Code::Unavailable;
    }
    let Some(reason) = error.reason() else {
        // Misuse of h2's API, found locally.
        return Code::Internal;
    };
    if error.is_go_away() && (error.is_remote() || reason == h2::Reason::NO_ERROR) {
        return Code::Unavailable;
    }
    match reason {
        h2::Reason::CANCEL => Code::Cancelled,
        h2::Reason::REFUSED_STREAM => Code::Unavailable,
        h2::Reason::ENHANCE_YOUR_CALM => Code::ResourceExhausted,
        h2::Reason::INADEQUATE_SECURITY => Code::PermissionDenied,
        _ => Code::Internal,
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary (a GOAWAY's
/// debug data, quoted by h2, is the peer's to fill).
fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
}

/// `INTERNAL`: the application tried to send metadata that breaks the rules.
impl From<InvalidMetadata> for Status {
    fn from(error: InvalidMetadata) -> Status {
        Status::internal(error.to_string()).with_source(error)
    }
}

/// `INTERNAL`: a malformed `grpc-timeout`, as other implementations answer.
impl From<InvalidTimeout> for Status {
    fn from(error: InvalidTimeout) -> Status {
        Status::internal(error.to_string()).with_source(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DecodeErrorKind;
    use proptest::prelude::*;

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
    fn codes_have_the_spec_numbers_and_names() {
        let all = [
            (Code::Ok, 0, "OK"),
            (Code::Cancelled, 1, "CANCELLED"),
            (Code::Unknown, 2, "UNKNOWN"),
            (Code::InvalidArgument, 3, "INVALID_ARGUMENT"),
            (Code::DeadlineExceeded, 4, "DEADLINE_EXCEEDED"),
            (Code::NotFound, 5, "NOT_FOUND"),
            (Code::AlreadyExists, 6, "ALREADY_EXISTS"),
            (Code::PermissionDenied, 7, "PERMISSION_DENIED"),
            (Code::ResourceExhausted, 8, "RESOURCE_EXHAUSTED"),
            (Code::FailedPrecondition, 9, "FAILED_PRECONDITION"),
            (Code::Aborted, 10, "ABORTED"),
            (Code::OutOfRange, 11, "OUT_OF_RANGE"),
            (Code::Unimplemented, 12, "UNIMPLEMENTED"),
            (Code::Internal, 13, "INTERNAL"),
            (Code::Unavailable, 14, "UNAVAILABLE"),
            (Code::DataLoss, 15, "DATA_LOSS"),
            (Code::Unauthenticated, 16, "UNAUTHENTICATED"),
        ];
        for (code, n, name) in all {
            assert_eq!(code.as_i32(), n);
            assert_eq!(i32::from(code), n);
            assert_eq!(Code::from_i32(n), code);
            assert_eq!(Code::from(n), code);
            assert_eq!(code.to_string(), name);
            assert_eq!(code.header_value(), n.to_string().as_str());
            assert!(!code.description().is_empty());
        }
        for n in [-1, 17, 100, i32::MAX, i32::MIN] {
            assert_eq!(Code::from_i32(n), Code::Unknown);
        }
    }

    #[test]
    fn status_is_a_small_thread_safe_error() {
        fn error<E: StdError + Send + Sync + 'static>() {}
        error::<Status>();
        assert_eq!(std::mem::size_of::<Status>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn constructors_set_their_code() {
        type Constructor = fn(String) -> Status;
        let all: [(Constructor, Code); 16] = [
            (Status::cancelled, Code::Cancelled),
            (Status::unknown, Code::Unknown),
            (Status::invalid_argument, Code::InvalidArgument),
            (Status::deadline_exceeded, Code::DeadlineExceeded),
            (Status::not_found, Code::NotFound),
            (Status::already_exists, Code::AlreadyExists),
            (Status::permission_denied, Code::PermissionDenied),
            (Status::resource_exhausted, Code::ResourceExhausted),
            (Status::failed_precondition, Code::FailedPrecondition),
            (Status::aborted, Code::Aborted),
            (Status::out_of_range, Code::OutOfRange),
            (Status::unimplemented, Code::Unimplemented),
            (Status::internal, Code::Internal),
            (Status::unavailable, Code::Unavailable),
            (Status::data_loss, Code::DataLoss),
            (Status::unauthenticated, Code::Unauthenticated),
        ];
        for (make, code) in all {
            let s = make("m".to_owned());
            assert_eq!((s.code(), s.message()), (code, "m"));
        }
        let ok = Status::ok();
        assert_eq!((ok.code(), ok.message()), (Code::Ok, ""));
        assert!(ok.details().is_empty() && ok.metadata().is_empty());
    }

    #[test]
    fn percent_encoding_follows_the_spec() {
        assert_eq!(percent_encode_message("plain text ~!"), "plain text ~!");
        assert_eq!(percent_encode_message("100%"), "100%25");
        assert_eq!(percent_encode_message("a\nb\tc\x7f"), "a%0Ab%09c%7F");
        assert_eq!(percent_encode_message("ø"), "%C3%B8");
        assert_eq!(percent_encode_message("😀"), "%F0%9F%98%80");
        assert_eq!(percent_encode_message(""), "");
        assert_eq!(percent_decode_message(b"%C3%B8 %c3%b8"), "ø ø");
        assert_eq!(percent_decode_message(b"100%25"), "100%");
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode_message(b"100%"), "100%");
        assert_eq!(percent_decode_message(b"%"), "%");
        assert_eq!(percent_decode_message(b"%4"), "%4");
        assert_eq!(percent_decode_message(b"%zz%41"), "%zzA");
        assert_eq!(percent_decode_message(b"%%41"), "%A");
        // Escapes that decode to invalid UTF-8, and raw non-ASCII bytes.
        assert_eq!(percent_decode_message(b"a%FFb"), "a\u{fffd}b");
        assert_eq!(percent_decode_message(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(percent_decode_message(b"%C3"), "\u{fffd}");
    }

    #[test]
    fn headers_round_trip() {
        let mut md = MetadataMap::new();
        md.insert("retry-after", "3").unwrap();
        md.insert_bin("trace-bin", [1, 2, 3]).unwrap();
        let status = Status::unavailable("try again in 3% of a minute\n")
            .with_details(Bytes::from_static(&[0, 1, 2, 0xff]))
            .with_metadata(md);
        let mut h = HeaderMap::new();
        status.write_headers(&mut h);
        assert_eq!(h["grpc-status"], "14");
        assert_eq!(h["grpc-message"], "try again in 3%25 of a minute%0A");
        assert_eq!(h["grpc-status-details-bin"], "AAEC/w");
        assert_eq!(h["retry-after"], "3");
        assert_eq!(h["trace-bin"], "AQID");
        let back = Status::from_headers(&h).unwrap();
        assert_eq!(back.code(), Code::Unavailable);
        assert_eq!(back.message(), status.message());
        assert_eq!(back.details(), status.details());
        assert_eq!(back.metadata().get("retry-after"), Some("3"));
        assert_eq!(
            back.metadata().get_bin("trace-bin").unwrap().unwrap(),
            [1, 2, 3]
        );
        // The transport's own trailers are not metadata.
        assert_eq!(back.metadata().len(), 2);
    }

    #[test]
    fn write_headers_omits_what_is_empty_and_replaces_stale_values() {
        let mut h = headers(&[
            ("grpc-status", b"13"),
            ("grpc-message", b"old"),
            ("grpc-status-details-bin", b"AA"),
        ]);
        Status::ok().write_headers(&mut h);
        assert_eq!(h.len(), 1);
        assert_eq!(h["grpc-status"], "0");
        let back = Status::from_headers(&h).unwrap();
        assert_eq!(
            (back.code(), back.message(), back.details()),
            (Code::Ok, "", &[][..])
        );
    }

    #[test]
    fn from_headers_reads_the_spec_example() {
        let h = headers(&[
            ("grpc-status", b"0"),
            ("trace-proto-bin", b"jher831yy13JHy3hc"),
        ]);
        let status = Status::from_headers(&h).unwrap();
        assert_eq!(status.code(), Code::Ok);
        assert!(status.metadata().contains_key("trace-proto-bin"));
        assert!(Status::from_headers(&HeaderMap::new()).is_none());
        assert!(Status::from_headers(&headers(&[("grpc-message", b"x")])).is_none());
    }

    #[test]
    fn from_headers_accepts_padded_details_and_drops_bad_ones() {
        let padded = headers(&[
            ("grpc-status", b"2"),
            ("grpc-status-details-bin", b"AAEC/w=="),
        ]);
        assert_eq!(
            Status::from_headers(&padded).unwrap().details(),
            [0, 1, 2, 0xff]
        );
        let bad = headers(&[
            ("grpc-status", b"2"),
            ("grpc-message", b"kept"),
            ("grpc-status-details-bin", b"not base64!"),
        ]);
        let status = Status::from_headers(&bad).unwrap();
        assert_eq!((status.code(), status.message()), (Code::Unknown, "kept"));
        assert!(status.details().is_empty());
    }

    #[test]
    fn malformed_grpc_status_is_unknown_and_says_so() {
        for (raw, expected) in [
            (&b"abc"[..], "invalid grpc-status \"abc\": boom"),
            (b"", "invalid grpc-status \"\": boom"),
            (b"-1", "invalid grpc-status \"-1\": boom"),
            (b" 5", "invalid grpc-status \" 5\": boom"),
            (b"5\x80", "invalid grpc-status \"5\\x80\": boom"),
            (b"17", "unknown grpc-status 17: boom"),
            (b"99999999999", "unknown grpc-status 99999999999: boom"),
            (b"4294967296", "unknown grpc-status 4294967296: boom"),
        ] {
            let h = headers(&[("grpc-status", raw), ("grpc-message", b"boom")]);
            let status = Status::from_headers(&h).unwrap();
            assert_eq!(status.code(), Code::Unknown, "{raw:?}");
            assert_eq!(status.message(), expected);
        }
        let h = headers(&[("grpc-status", b"x")]);
        assert_eq!(
            Status::from_headers(&h).unwrap().message(),
            "invalid grpc-status \"x\""
        );
        // Leading zeros are not canonical, but the number is clear.
        let h = headers(&[("grpc-status", b"05")]);
        assert_eq!(Status::from_headers(&h).unwrap().code(), Code::NotFound);
    }

    #[test]
    fn http_status_mapping() {
        for (http, code) in [
            (400, Code::Internal),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::Unimplemented),
            (429, Code::Unavailable),
            (431, Code::Internal),
            (502, Code::Unavailable),
            (503, Code::Unavailable),
            (504, Code::Unavailable),
            (200, Code::Unknown),
            (500, Code::Unknown),
            (302, Code::Unknown),
            (100, Code::Unknown),
        ] {
            let status = Status::from_http_status(http::StatusCode::from_u16(http).unwrap());
            assert_eq!(status.code(), code, "{http}");
            assert!(
                status.message().contains(&http.to_string()),
                "{}",
                status.message()
            );
        }
        assert_eq!(
            Status::from_http_status(http::StatusCode::NOT_FOUND).message(),
            "received HTTP status 404 Not Found without a grpc-status"
        );
    }

    #[test]
    fn rpc_status_details_round_trip() {
        let detail = Any {
            type_url: "type.googleapis.com/google.rpc.RetryInfo".to_owned(),
            value: vec![10, 2, 8, 3],
            ..Default::default()
        };
        let status =
            Status::with_rpc_details(Code::ResourceExhausted, "slow down", vec![detail.clone()]);
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.rpc_details().unwrap(), std::slice::from_ref(&detail));
        let rpc = status.to_rpc_status().unwrap();
        assert_eq!((rpc.code, rpc.message.as_str()), (8, "slow down"));
        assert_eq!(rpc.details, std::slice::from_ref(&detail));

        // Through the trailers and back.
        let mut h = HeaderMap::new();
        status.write_headers(&mut h);
        let back = Status::from_headers(&h).unwrap();
        assert_eq!(back.rpc_details().unwrap(), std::slice::from_ref(&detail));

        let from = Status::from_rpc_status(rpc.clone());
        assert_eq!(
            (from.code(), from.message()),
            (Code::ResourceExhausted, "slow down")
        );
        assert_eq!(from.details(), status.details());
        let plain = Status::from_rpc_status(crate::rpc::Status {
            code: 99,
            message: "odd".to_owned(),
            ..Default::default()
        });
        assert_eq!(plain.code(), Code::Unknown);
        assert!(plain.details().is_empty());

        assert_eq!(Status::internal("x").rpc_details().unwrap(), []);
        let junk = Status::internal("x").with_details(Bytes::from_static(&[0xff, 0xff]));
        assert!(junk.rpc_details().is_err());
        assert!(junk.to_rpc_status().is_err());
    }

    #[test]
    fn display_and_debug() {
        assert_eq!(
            Status::not_found("no user 7").to_string(),
            "NOT_FOUND: no user 7"
        );
        assert_eq!(Status::ok().to_string(), "OK");
        assert_eq!(
            Status::internal("line\nforged\u{1b}[0m").to_string(),
            "INTERNAL: line\\nforged\\u{1b}[0m"
        );
        let status = Status::internal("x").with_details(Bytes::from(vec![0u8; 5000]));
        let debug = format!("{status:?}");
        assert_eq!(
            debug,
            "Status { code: Internal, message: \"x\", details: <5000 bytes> }"
        );
    }

    #[test]
    fn from_decode_error() {
        let e = DecodeError::new(DecodeErrorKind::Truncated, 3);
        let status = Status::from(e.clone());
        assert_eq!(status.code(), Code::Internal);
        assert!(
            status.message().contains("failed to decode"),
            "{}",
            status.message()
        );
        let source = StdError::source(&status).unwrap();
        assert_eq!(source.downcast_ref::<DecodeError>(), Some(&e));
    }

    #[test]
    fn from_io_error() {
        use io::ErrorKind as K;
        for (kind, code) in [
            (K::ConnectionRefused, Code::Unavailable),
            (K::ConnectionReset, Code::Unavailable),
            (K::BrokenPipe, Code::Unavailable),
            (K::UnexpectedEof, Code::Unavailable),
            (K::Other, Code::Unavailable),
            (K::NotFound, Code::NotFound),
            (K::PermissionDenied, Code::PermissionDenied),
            (K::TimedOut, Code::DeadlineExceeded),
            (K::InvalidInput, Code::InvalidArgument),
        ] {
            let status = Status::from(io::Error::new(kind, "boom"));
            assert_eq!(status.code(), code, "{kind:?}");
            assert_eq!(status.message(), "boom");
            assert!(StdError::source(&status).is_some());
        }
    }

    #[test]
    fn from_h2_error_follows_the_rst_stream_table() {
        use h2::Reason as R;
        for (reason, code) in [
            (R::NO_ERROR, Code::Internal),
            (R::PROTOCOL_ERROR, Code::Internal),
            (R::INTERNAL_ERROR, Code::Internal),
            (R::FLOW_CONTROL_ERROR, Code::Internal),
            (R::SETTINGS_TIMEOUT, Code::Internal),
            (R::STREAM_CLOSED, Code::Internal),
            (R::FRAME_SIZE_ERROR, Code::Internal),
            (R::REFUSED_STREAM, Code::Unavailable),
            (R::CANCEL, Code::Cancelled),
            (R::COMPRESSION_ERROR, Code::Internal),
            (R::CONNECT_ERROR, Code::Internal),
            (R::ENHANCE_YOUR_CALM, Code::ResourceExhausted),
            (R::INADEQUATE_SECURITY, Code::PermissionDenied),
            (R::HTTP_1_1_REQUIRED, Code::Internal),
            (R::from(0xbeef), Code::Internal),
        ] {
            let status = Status::from(h2::Error::from(reason));
            assert_eq!(status.code(), code, "{reason:?}");
            assert!(StdError::source(&status).is_some());
        }
        let calm = Status::from(h2::Error::from(R::ENHANCE_YOUR_CALM));
        assert!(
            calm.message().ends_with("the peer limited bandwidth"),
            "{}",
            calm.message()
        );
        let insecure = Status::from(h2::Error::from(R::INADEQUATE_SECURITY));
        assert!(
            insecure
                .message()
                .ends_with("not secure enough for the call")
        );
    }

    #[test]
    fn from_error_finds_the_cause() {
        #[derive(Debug)]
        struct Wrapper(Box<dyn StdError + Send + Sync>);
        impl fmt::Display for Wrapper {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl StdError for Wrapper {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&*self.0)
            }
        }
        let status = Status::from_error(Box::new(Status::aborted("as is")));
        assert_eq!((status.code(), status.message()), (Code::Aborted, "as is"));
        let nested = Status::from_error(Box::new(Wrapper(Box::new(Status::aborted("inner")))));
        assert_eq!((nested.code(), nested.message()), (Code::Aborted, "inner"));
        let io = Status::from_error(Box::new(Wrapper(Box::new(io::Error::from(
            io::ErrorKind::ConnectionReset,
        )))));
        assert_eq!((io.code(), io.message()), (Code::Unavailable, "wrapped"));
        let h2 = Status::from_error(Box::new(h2::Error::from(h2::Reason::REFUSED_STREAM)));
        assert_eq!(h2.code(), Code::Unavailable);
        let other = Status::from_error("plain".into());
        assert_eq!((other.code(), other.message()), (Code::Unknown, "plain"));
        assert_eq!(StdError::source(&other).unwrap().to_string(), "plain");
    }

    #[test]
    fn truncate_keeps_char_boundaries() {
        let mut s = "é".repeat(600);
        truncate(&mut s, 1023);
        assert_eq!(s.len(), 1022 + 3);
        assert!(s.ends_with("é..."));
    }

    proptest! {
        #[test]
        fn percent_encoding_round_trips(message in "\\PC*|[\\x00-\\x7f]*|.*") {
            let encoded = percent_encode_message(&message);
            prop_assert!(encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            // Every % starts an escape.
            let bytes = encoded.as_bytes();
            for (i, _) in bytes.iter().enumerate().filter(|(_, b)| **b == b'%') {
                prop_assert!(bytes.len() > i + 2);
                prop_assert!(bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit());
                prop_assert!(!bytes[i + 1].is_ascii_lowercase() && !bytes[i + 2].is_ascii_lowercase());
            }
            prop_assert_eq!(percent_decode_message(encoded.as_bytes()), message);
        }

        #[test]
        fn percent_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = percent_decode_message(&bytes);
        }

        #[test]
        fn status_headers_round_trip(code in 0i32..=16, message in "\\PC{0,40}", details in proptest::collection::vec(any::<u8>(), 0..40)) {
            let status = Status::new(Code::from_i32(code), message.clone())
                .with_details(Bytes::from(details.clone()));
            let mut h = HeaderMap::new();
            status.write_headers(&mut h);
            let back = Status::from_headers(&h).unwrap();
            prop_assert_eq!(back.code().as_i32(), code);
            prop_assert_eq!(back.message(), message.as_str());
            prop_assert_eq!(back.details(), &details[..]);
        }

        #[test]
        fn from_headers_never_panics(status in proptest::collection::vec(any::<u8>(), 0..12), message in proptest::collection::vec(any::<u8>(), 0..40), details in "[A-Za-z0-9+/=!]{0,20}") {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_bytes(&status) {
                h.insert("grpc-status", v);
            }
            if let Ok(v) = HeaderValue::from_bytes(&message) {
                h.insert("grpc-message", v);
            }
            h.insert("grpc-status-details-bin", HeaderValue::from_str(&details).unwrap());
            let _ = Status::from_headers(&h);
        }
    }
}
