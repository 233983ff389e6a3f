//! The `grpc-timeout` header: how long the client gives the call.
//!
//! From PROTOCOL-HTTP2.md:
//!
//! > Timeout → "grpc-timeout" TimeoutValue TimeoutUnit
//! > TimeoutValue → {_positive integer as ASCII string of at most 8 digits_}
//! > TimeoutUnit → Hour / Minute / Second / Millisecond / Microsecond / Nanosecond
//! > (`H`, `M`, `S`, `m`, `u`, `n`)
//!
//! > If **Timeout** is omitted a server should assume an infinite timeout.
//!
//! ```
//! use std::time::Duration;
//! use rust_rpc::transport::timeout::{encode_timeout, parse_timeout};
//!
//! assert_eq!(encode_timeout(Duration::from_secs(1)), "1000000u");
//! assert_eq!(encode_timeout(Duration::from_secs(3600 * 24)), "86400000m");
//! assert_eq!(parse_timeout(b"1S").unwrap(), Duration::from_secs(1));
//! assert!(parse_timeout(b"123456789S").is_err());
//! ```

use core::fmt;
use std::time::Duration;

use http::HeaderValue;
use http::header::HeaderMap;

/// Name of the header.
pub const GRPC_TIMEOUT: &str = "grpc-timeout";

/// Largest TimeoutValue: eight digits.
const MAX_VALUE: u64 = 99_999_999;

/// The units, finest first, with their length in nanoseconds.
const UNITS: [(u8, u128); 6] = [
    (b'n', 1),
    (b'u', 1_000),
    (b'm', 1_000_000),
    (b'S', 1_000_000_000),
    (b'M', 60 * 1_000_000_000),
    (b'H', 3_600 * 1_000_000_000),
];

/// The `grpc-timeout` value for `timeout`: the finest unit whose count fits
/// in eight digits, rounded up so the server never sees a shorter deadline
/// than the client has. Timeouts beyond `99999999H` (about 11,400 years) are
/// sent as `99999999H`; a zero timeout is sent as `1n` (the value must be
/// positive; rust-rpc's client fails such a call locally, without sending
/// it, and its server fails a call that arrives with `0` in any unit
/// before running it).
pub fn encode_timeout(timeout: Duration) -> HeaderValue {
    let nanos = timeout.as_nanos().max(1);
    let (value, unit) = UNITS
        .iter()
        .find_map(|&(unit, len)| {
            let value = nanos.div_ceil(len);
            (value <= u128::from(MAX_VALUE)).then_some((value as u64, unit))
        })
        .unwrap_or((MAX_VALUE, b'H'));
    // Eight digits and a unit, written without allocating a String.
    let mut buf = [0u8; 9];
    let mut at = buf.len() - 1;
    buf[at] = unit;
    let mut rest = value;
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    // Digits and a unit letter are always a valid header value.
    HeaderValue::from_bytes(&buf[at..]).unwrap_or_else(|_| HeaderValue::from_static("99999999H"))
}

/// Parses a `grpc-timeout` value: one to eight ASCII digits and a unit.
/// Nothing else is accepted (no sign, no spaces, no empty value). `0` is
/// accepted and means the deadline has passed.
pub fn parse_timeout(value: &[u8]) -> Result<Duration, InvalidTimeout> {
    let Some((&unit, digits)) = value.split_last() else {
        return Err(InvalidTimeout(Reason::Empty));
    };
    let Some(&(_, unit_nanos)) = UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(InvalidTimeout(Reason::Unit));
    };
    if digits.is_empty() {
        return Err(InvalidTimeout(Reason::NoDigits));
    }
    if digits.len() > 8 {
        return Err(InvalidTimeout(Reason::TooManyDigits));
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(InvalidTimeout(Reason::NotDigit));
        }
        n = n * 10 + u64::from(d - b'0');
    }
    // Up to 99999999 hours: 3.6e20 ns, past u64 but not u128.
    let nanos = u128::from(n) * unit_nanos;
    let secs = (nanos / 1_000_000_000) as u64;
    Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// The timeout a request's headers carry: `Ok(None)` without `grpc-timeout`
/// (the server should then assume no deadline), an error if it is malformed
/// or repeated with different values.
pub fn timeout_from_headers(headers: &HeaderMap) -> Result<Option<Duration>, InvalidTimeout> {
    let mut values = headers.get_all(GRPC_TIMEOUT).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.any(|v| v != first) {
        return Err(InvalidTimeout(Reason::Repeated));
    }
    parse_timeout(first.as_bytes()).map(Some)
}

/// A `grpc-timeout` value that does not follow the spec's grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidTimeout(Reason);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    Empty,
    NoDigits,
    TooManyDigits,
    NotDigit,
    Unit,
    Repeated,
}

impl fmt::Display for InvalidTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid grpc-timeout: ")?;
        f.write_str(match self.0 {
            Reason::Empty => "empty value",
            Reason::NoDigits => "no digits before the unit",
            Reason::TooManyDigits => "more than 8 digits",
            Reason::NotDigit => "the value is not a decimal number",
            Reason::Unit => "the unit is not one of H, M, S, m, u, n",
            Reason::Repeated => "the header appears more than once with different values",
        })
    }
}

impl std::error::Error for InvalidTimeout {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unit_nanos(value: &HeaderValue) -> u128 {
        let unit = *value.as_bytes().last().unwrap();
        UNITS.iter().find(|(u, _)| *u == unit).unwrap().1
    }

    #[test]
    fn spec_example_and_every_unit_parse() {
        assert_eq!(parse_timeout(b"1S"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_timeout(b"2H"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_timeout(b"3M"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_timeout(b"4m"), Ok(Duration::from_millis(4)));
        assert_eq!(parse_timeout(b"5u"), Ok(Duration::from_micros(5)));
        assert_eq!(parse_timeout(b"6n"), Ok(Duration::from_nanos(6)));
        assert_eq!(parse_timeout(b"0n"), Ok(Duration::ZERO));
        assert_eq!(parse_timeout(b"00000010m"), Ok(Duration::from_millis(10)));
        assert_eq!(
            parse_timeout(b"99999999H"),
            Ok(Duration::from_secs(99_999_999 * 3600))
        );
    }

    #[test]
    fn malformed_values_are_rejected() {
        for (bad, why) in [
            (&b""[..], "empty value"),
            (b"S", "no digits before the unit"),
            (b"123456789", "the unit is not one of H, M, S, m, u, n"),
            (b"123456789S", "more than 8 digits"),
            (b"1s", "the unit is not one of H, M, S, m, u, n"),
            (b"10", "the unit is not one of H, M, S, m, u, n"),
            (b"1 S", "the value is not a decimal number"),
            (b" 1S", "the value is not a decimal number"),
            (b"-1S", "the value is not a decimal number"),
            (b"+1S", "the value is not a decimal number"),
            (b"1.5S", "the value is not a decimal number"),
            (b"\xff1S", "the value is not a decimal number"),
            (b"1S ", "the unit is not one of H, M, S, m, u, n"),
        ] {
            let e = parse_timeout(bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("invalid grpc-timeout: {why}"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn encode_picks_the_finest_unit_that_fits() {
        let cases = [
            (Duration::ZERO, "1n"),
            (Duration::from_nanos(1), "1n"),
            (Duration::from_nanos(99_999_999), "99999999n"),
            (Duration::from_nanos(100_000_000), "100000u"),
            (Duration::from_nanos(100_000_001), "100001u"),
            (Duration::from_millis(100), "100000u"),
            (Duration::from_secs(1), "1000000u"),
            (Duration::from_secs(99), "99000000u"),
            (Duration::from_secs(100), "100000m"),
            (Duration::from_secs(99_999), "99999000m"),
            (Duration::from_secs(100_000), "100000S"),
            (Duration::from_secs(100_000_000), "1666667M"),
            (Duration::from_secs(99_999_999 * 60), "99999999M"),
            (Duration::from_secs(99_999_999 * 60 + 1), "1666667H"),
            (Duration::from_secs(99_999_999 * 3600), "99999999H"),
            (Duration::from_secs(99_999_999 * 3600 + 1), "99999999H"),
            (Duration::MAX, "99999999H"),
        ];
        for (timeout, expected) in cases {
            assert_eq!(encode_timeout(timeout), expected, "{timeout:?}");
        }
    }

    #[test]
    fn timeout_from_headers_reads_the_header() {
        let mut h = HeaderMap::new();
        assert_eq!(timeout_from_headers(&h), Ok(None));
        h.insert(GRPC_TIMEOUT, HeaderValue::from_static("250m"));
        assert_eq!(
            timeout_from_headers(&h),
            Ok(Some(Duration::from_millis(250)))
        );
        h.append(GRPC_TIMEOUT, HeaderValue::from_static("250m"));
        assert_eq!(
            timeout_from_headers(&h),
            Ok(Some(Duration::from_millis(250)))
        );
        h.append(GRPC_TIMEOUT, HeaderValue::from_static("1S"));
        assert!(timeout_from_headers(&h).is_err());
        h.insert(GRPC_TIMEOUT, HeaderValue::from_static("soon"));
        assert!(timeout_from_headers(&h).is_err());
    }

    proptest! {
        #[test]
        fn encode_then_parse_never_shortens(secs in 0u64..=400_000_000_000, nanos in 0u32..1_000_000_000) {
            let timeout = Duration::new(secs, nanos);
            let value = encode_timeout(timeout);
            let bytes = value.as_bytes();
            prop_assert!(bytes.len() >= 2 && bytes.len() <= 9, "{:?}", value);
            let parsed = parse_timeout(bytes).unwrap();
            let capped = timeout.min(Duration::from_secs(99_999_999 * 3600));
            prop_assert!(parsed >= capped, "{:?} -> {:?} -> {:?}", timeout, value, parsed);
            // Within one unit of the encoding (and at least 1ns for zero).
            prop_assert!(
                parsed.as_nanos() - capped.as_nanos() < unit_nanos(&value).max(2),
                "{:?} -> {:?} -> {:?}", timeout, value, parsed
            );
        }

        #[test]
        fn small_timeouts_keep_nanosecond_precision(nanos in 1u64..100_000_000) {
            let value = encode_timeout(Duration::from_nanos(nanos));
            prop_assert_eq!(parse_timeout(value.as_bytes()).unwrap(), Duration::from_nanos(nanos));
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let _ = parse_timeout(&bytes);
        }

        #[test]
        fn parse_accepts_every_well_formed_value(value in 0u64..=99_999_999, unit in prop::sample::select(vec!['H', 'M', 'S', 'm', 'u', 'n'])) {
            let text = format!("{value}{unit}");
            let parsed = parse_timeout(text.as_bytes()).unwrap();
            let (_, len) = UNITS.iter().find(|(u, _)| *u == unit as u8).unwrap();
            prop_assert_eq!(parsed.as_nanos(), u128::from(value) * len);
        }
    }
}
