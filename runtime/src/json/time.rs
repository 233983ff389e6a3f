//! The JSON text forms of `google.protobuf.Timestamp` and
//! `google.protobuf.Duration`, as the protobuf JSON mapping defines them.
//!
//! A Timestamp is an RFC 3339 date-time (`1972-01-01T10:00:20.021Z`): it is
//! written in UTC with a `Z`, and read with `Z` or a numeric offset. A
//! Duration is a decimal number of seconds with an `s` suffix (`1.5s`).
//! Either is written with no fraction or with 3, 6 or 9 fraction digits, and
//! read with 1 to 9.
//!
//! Dates are converted with the days-from-civil arithmetic on the proleptic
//! Gregorian calendar (after Howard Hinnant's `chrono`-compatible
//! algorithms), in constant time. Input is read as bytes, with checked or
//! saturating arithmetic where it comes from the input, so no string makes
//! these functions panic or overflow.

/// The earliest Timestamp: 0001-01-01T00:00:00Z, in seconds since the epoch.
const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;

/// The latest Timestamp's seconds: 9999-12-31T23:59:59Z.
const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;

/// The largest magnitude of a Duration's seconds: 10,000 years of 365.25 days.
const MAX_DURATION_SECONDS: i64 = 315_576_000_000;

/// The largest magnitude of the nanos of either type.
const MAX_NANOS: i32 = 999_999_999;

/// Seconds in a day (the mapping has no leap seconds).
const SECONDS_PER_DAY: i64 = 86_400;

/// Writes a Timestamp as an RFC 3339 date-time in UTC with a `Z` suffix:
/// `1970-01-01T00:00:00Z`, `2017-01-15T01:30:15.010Z`.
///
/// Accepts `seconds` from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z
/// (-62135596800 ..= 253402300799) and `nanos` in 0 ..= 999999999, the range
/// the JSON mapping allows. The fraction is left out when `nanos` is 0, and
/// is otherwise the fewest of 3, 6 or 9 digits that is exact. Out of range,
/// it writes nothing and returns an error.
pub(crate) fn write_timestamp(
    out: &mut String,
    seconds: i64,
    nanos: i32,
) -> Result<(), &'static str> {
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&seconds) {
        return Err("timestamp out of range");
    }
    if !(0..=MAX_NANOS).contains(&nanos) {
        return Err("timestamp nanos out of range");
    }
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);

    out.reserve("0000-00-00T00:00:00.000000000Z".len());
    push_padded(out, year.unsigned_abs(), 4);
    out.push('-');
    push_padded(out, u64::from(month), 2);
    out.push('-');
    push_padded(out, u64::from(day), 2);
    out.push('T');
    push_padded(out, (second_of_day / 3600).unsigned_abs(), 2);
    out.push(':');
    push_padded(out, (second_of_day / 60 % 60).unsigned_abs(), 2);
    out.push(':');
    push_padded(out, (second_of_day % 60).unsigned_abs(), 2);
    push_fraction(out, nanos.unsigned_abs());
    out.push('Z');
    Ok(())
}

/// Reads an RFC 3339 date-time as a Timestamp, returning (seconds since the
/// epoch, nanos).
///
/// Accepts exactly `YYYY-MM-DDTHH:MM:SS`, then an optional fraction of 1 to
/// 9 digits after a `.`, then `Z` or an offset `+HH:MM` / `-HH:MM`, which is
/// applied (`1970-01-01T08:00:01+08:00` is 1 second). The `T` and `Z` must be
/// uppercase; the date must exist in the proleptic Gregorian calendar; the
/// hour is below 24, minutes and seconds below 60 (no leap second). The
/// instant must lie in 0001-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999999999Z.
pub(crate) fn parse_timestamp(s: &str) -> Result<(i64, i32), &'static str> {
    let b = s.as_bytes();
    let year = fixed_digits(b, 0, 4).ok_or("invalid year")?;
    if b.get(4).is_some_and(u8::is_ascii_digit) {
        return Err("year must have 4 digits");
    }
    expect(b, 4, b'-', "expected '-' after year")?;
    let month = fixed_digits(b, 5, 2).ok_or("invalid month")?;
    expect(b, 7, b'-', "expected '-' after month")?;
    let day = fixed_digits(b, 8, 2).ok_or("invalid day")?;
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    if !(1..=i64::from(days_in_month(year, month))).contains(&day) {
        return Err("day out of range");
    }
    if b.get(10) == Some(&b't') {
        return Err("lowercase 't' not allowed");
    }
    expect(b, 10, b'T', "expected 'T' after date")?;
    let hour = fixed_digits(b, 11, 2).ok_or("invalid hour")?;
    expect(b, 13, b':', "expected ':' after hour")?;
    let minute = fixed_digits(b, 14, 2).ok_or("invalid minute")?;
    expect(b, 16, b':', "expected ':' after minute")?;
    let second = fixed_digits(b, 17, 2).ok_or("invalid second")?;
    if hour >= 24 {
        return Err("hour out of range");
    }
    if minute >= 60 {
        return Err("minute out of range");
    }
    if second >= 60 {
        return Err("second out of range");
    }

    let mut pos = 19;
    let mut nanos = 0;
    if b.get(pos) == Some(&b'.') {
        // b[pos] exists, so pos + 1 <= b.len().
        let (value, len) = parse_fraction(&b[pos + 1..])?;
        nanos = value;
        pos += 1 + len;
    }

    let offset_seconds = match b.get(pos) {
        Some(b'Z') => {
            pos += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let hours = fixed_digits(b, pos + 1, 2).ok_or("invalid offset hours")?;
            expect(b, pos + 3, b':', "expected ':' in offset")?;
            let minutes = fixed_digits(b, pos + 4, 2).ok_or("invalid offset minutes")?;
            if hours >= 24 || minutes >= 60 {
                return Err("offset out of range");
            }
            pos += 6;
            let magnitude = hours * 3600 + minutes * 60;
            if sign == b'-' { -magnitude } else { magnitude }
        }
        Some(b'z') => return Err("lowercase 'z' not allowed"),
        _ => return Err("missing 'Z' or offset"),
    };
    if pos != b.len() {
        return Err("trailing characters after timestamp");
    }

    // Every part is bounded (year <= 9999), so none of this can overflow.
    let local =
        days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    let seconds = local - offset_seconds;
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&seconds) {
        return Err("timestamp out of range");
    }
    Ok((seconds, nanos))
}

/// Writes a Duration as decimal seconds with an `s` suffix: `1s`, `-1.500s`,
/// `0.000001s`, and `-0.500s` when `seconds` is 0 and `nanos` negative.
///
/// Accepts |`seconds`| <= 315576000000 and |`nanos`| <= 999999999, with
/// signs that do not differ (either may be 0), as the JSON mapping requires.
/// The fraction is left out when `nanos` is 0, and is otherwise the fewest of
/// 3, 6 or 9 digits that is exact. Otherwise it writes nothing and returns
/// an error.
pub(crate) fn write_duration(
    out: &mut String,
    seconds: i64,
    nanos: i32,
) -> Result<(), &'static str> {
    if !(-MAX_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&seconds) {
        return Err("duration out of range");
    }
    if !(-MAX_NANOS..=MAX_NANOS).contains(&nanos) {
        return Err("duration nanos out of range");
    }
    if (seconds < 0 && nanos > 0) || (seconds > 0 && nanos < 0) {
        return Err("duration seconds and nanos signs differ");
    }
    out.reserve("-315576000000.000000000s".len());
    if seconds < 0 || nanos < 0 {
        out.push('-');
    }
    push_decimal(out, seconds.unsigned_abs());
    push_fraction(out, nanos.unsigned_abs());
    out.push('s');
    Ok(())
}

/// Reads a Duration's JSON form, returning (seconds, nanos) with the nanos
/// carrying the sign of the whole (`-1.5s` is (-1, -500000000), `-0.5s` is
/// (0, -500000000)).
///
/// Accepts an optional `-`, one or more decimal digits, an optional fraction
/// of 1 to 9 digits after a `.`, then `s`: no `+`, spaces or exponent. The
/// whole seconds must not exceed 315576000000 in magnitude; a fraction on top
/// of the largest value (`315576000000.999999999s`) is allowed.
pub(crate) fn parse_duration(s: &str) -> Result<(i64, i32), &'static str> {
    let (negative, rest) = match s.as_bytes().split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s.as_bytes()),
    };
    let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if int_len == 0 {
        return Err("missing duration seconds digits");
    }
    let (int_digits, mut rest) = rest.split_at(int_len);
    // Saturates on absurdly long inputs; the range check below rejects them.
    let magnitude = int_digits.iter().fold(0u64, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });

    let mut nanos = 0;
    if let Some((b'.', fraction)) = rest.split_first() {
        let (value, len) = parse_fraction(fraction)?;
        nanos = value;
        rest = &fraction[len..];
    }
    match rest {
        [b's'] => {}
        [] => return Err("missing 's' suffix"),
        [b's', ..] => return Err("trailing characters after duration"),
        _ => return Err("invalid character in duration"),
    }

    let seconds = i64::try_from(magnitude)
        .ok()
        .filter(|&v| v <= MAX_DURATION_SECONDS)
        .ok_or("duration out of range")?;
    Ok(if negative {
        (-seconds, -nanos)
    } else {
        (seconds, nanos)
    })
}

/// Reads the fraction digits that follow a `.`: 1 to 9 ASCII digits, up to
/// the first non-digit. Returns the value in nanoseconds and the number of
/// digits read.
fn parse_fraction(b: &[u8]) -> Result<(i32, usize), &'static str> {
    let len = b.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 {
        return Err("missing fraction digits");
    }
    if len > 9 {
        return Err("fraction over 9 digits");
    }
    let value = b[..len]
        .iter()
        .fold(0i32, |acc, &d| acc * 10 + i32::from(d - b'0'));
    let scale = 10i32.pow((9 - len) as u32); // len is 1..=9
    Ok((value * scale, len))
}

/// Reads exactly `count` ASCII digits starting at `at` (`count` <= 4, so the
/// value fits); `None` if the input is shorter or holds a non-digit there.
fn fixed_digits(b: &[u8], at: usize, count: usize) -> Option<i64> {
    b.get(at..at + count)?.iter().try_fold(0i64, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
    })
}

/// Checks that the byte at `at` is `want`, or returns `error`.
fn expect(b: &[u8], at: usize, want: u8, error: &'static str) -> Result<(), &'static str> {
    if b.get(at) == Some(&want) {
        Ok(())
    } else {
        Err(error)
    }
}

/// Appends `value` as exactly `width` decimal digits, zero-padded on the
/// left; the caller ensures `value` < 10^`width`.
fn push_padded(out: &mut String, value: u64, width: u32) {
    debug_assert!(value < 10u64.pow(width));
    let mut place = 10u64.pow(width - 1);
    while place > 0 {
        out.push(digit_char(value / place % 10));
        place /= 10;
    }
}

/// Appends `value` in decimal with no padding.
fn push_decimal(out: &mut String, value: u64) {
    let width = value.checked_ilog10().map_or(1, |log| log + 1);
    push_padded(out, value, width);
}

/// Appends the fraction for `nanos` (< 10^9): nothing for 0, otherwise a `.`
/// and the fewest of 3, 6 or 9 digits that is exact, as the JSON mapping
/// asks of a writer.
fn push_fraction(out: &mut String, nanos: u32) {
    let nanos = u64::from(nanos);
    if nanos == 0 {
        return;
    }
    out.push('.');
    if nanos % 1_000_000 == 0 {
        push_padded(out, nanos / 1_000_000, 3);
    } else if nanos % 1_000 == 0 {
        push_padded(out, nanos / 1_000, 6);
    } else {
        push_padded(out, nanos, 9);
    }
}

/// The ASCII character of a decimal digit (`digit` < 10).
fn digit_char(digit: u64) -> char {
    char::from(b"0123456789"[(digit % 10) as usize])
}

/// Whether `year` is a leap year in the proleptic Gregorian calendar.
fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The number of days in `month` (1..=12) of `year`.
fn days_in_month(year: i64, month: i64) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a valid proleptic Gregorian date (year, month
/// 1..=12, day 1..=31). Hinnant's days-from-civil: counts in 400-year eras
/// of 146097 days, with years starting on March 1 so the leap day falls last.
/// The caller keeps `year` within a few thousand, so nothing overflows.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400); // 0..=399
    let march_month = if month > 2 { month - 3 } else { month + 9 }; // March is 0
    let day_of_year = (153 * march_month + 2) / 5 + day - 1; // 0..=365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year; // 0..=146096
    // 719468 is the number of days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian (year, month, day) of a count of days since
/// 1970-01-01: Hinnant's civil-from-days, the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468; // days since 0000-03-01
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097); // 0..=146096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // 0..=399
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // 0..=365
    let march_month = (5 * day_of_year + 2) / 153; // 0..=11, March is 0
    let day = day_of_year - (153 * march_month + 2) / 5 + 1; // 1..=31
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are small and positive by construction.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn timestamp(seconds: i64, nanos: i32) -> Result<String, &'static str> {
        let mut out = String::new();
        write_timestamp(&mut out, seconds, nanos).map(|()| out)
    }

    fn duration(seconds: i64, nanos: i32) -> Result<String, &'static str> {
        let mut out = String::new();
        write_duration(&mut out, seconds, nanos).map(|()| out)
    }

    /// Known instants, checked against independent sources (`date -u -d`,
    /// Python's `datetime`), not computed by this module.
    const KNOWN: &[(&str, i64)] = &[
        ("0001-01-01T00:00:00Z", -62_135_596_800),
        ("0001-03-01T00:00:00Z", -62_130_499_200),
        ("1582-10-15T00:00:00Z", -12_219_292_800),
        ("1600-02-29T00:00:00Z", -11_670_998_400),
        ("1900-01-01T00:00:00Z", -2_208_988_800),
        ("1900-03-01T00:00:00Z", -2_203_891_200),
        ("1969-12-31T23:59:59Z", -1),
        ("1970-01-01T00:00:00Z", 0),
        ("1972-01-01T10:00:20Z", 63_108_020),
        ("2000-01-01T00:00:00Z", 946_684_800),
        ("2000-02-29T00:00:00Z", 951_782_400),
        ("2000-03-01T00:00:00Z", 951_868_800),
        ("2001-09-09T01:46:40Z", 1_000_000_000),
        ("2009-02-13T23:31:30Z", 1_234_567_890),
        ("2016-12-31T23:59:59Z", 1_483_228_799),
        ("2038-01-19T03:14:07Z", 2_147_483_647),
        ("2100-03-01T00:00:00Z", 4_107_542_400),
        ("9999-12-31T00:00:00Z", 253_402_214_400),
        ("9999-12-31T23:59:59Z", 253_402_300_799),
    ];

    #[test]
    fn known_instants_both_ways() {
        for &(text, seconds) in KNOWN {
            assert_eq!(
                timestamp(seconds, 0).as_deref(),
                Ok(text),
                "write {seconds}"
            );
            assert_eq!(parse_timestamp(text), Ok((seconds, 0)), "parse {text}");
        }
    }

    #[test]
    fn writes_the_mapping_examples() {
        assert_eq!(timestamp(0, 0).as_deref(), Ok("1970-01-01T00:00:00Z"));
        assert_eq!(
            timestamp(1_484_443_815, 10_000_000).as_deref(),
            Ok("2017-01-15T01:30:15.010Z")
        );
        assert_eq!(
            timestamp(63_108_020, 21_000_000).as_deref(),
            Ok("1972-01-01T10:00:20.021Z")
        );
        assert_eq!(
            timestamp(-1, 999_999_999).as_deref(),
            Ok("1969-12-31T23:59:59.999999999Z")
        );
    }

    #[test]
    fn timestamp_fraction_lengths() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (1, "1970-01-01T00:00:00.000000001Z"),
            (10, "1970-01-01T00:00:00.000000010Z"),
            (1_000, "1970-01-01T00:00:00.000001Z"),
            (100_000, "1970-01-01T00:00:00.000100Z"),
            (1_000_000, "1970-01-01T00:00:00.001Z"),
            (500_000_000, "1970-01-01T00:00:00.500Z"),
            (123_456_000, "1970-01-01T00:00:00.123456Z"),
            (123_456_789, "1970-01-01T00:00:00.123456789Z"),
            (999_999_999, "1970-01-01T00:00:00.999999999Z"),
        ];
        for (nanos, text) in cases {
            assert_eq!(timestamp(0, nanos).as_deref(), Ok(text));
            assert_eq!(parse_timestamp(text), Ok((0, nanos)));
        }
    }

    #[test]
    fn write_timestamp_limits() {
        assert_eq!(
            timestamp(MIN_TIMESTAMP_SECONDS, 0).as_deref(),
            Ok("0001-01-01T00:00:00Z")
        );
        assert_eq!(
            timestamp(MAX_TIMESTAMP_SECONDS, MAX_NANOS).as_deref(),
            Ok("9999-12-31T23:59:59.999999999Z")
        );
        for (seconds, nanos) in [
            (MIN_TIMESTAMP_SECONDS - 1, 0),
            (MIN_TIMESTAMP_SECONDS - 1, MAX_NANOS),
            (MAX_TIMESTAMP_SECONDS + 1, 0),
            (i64::MIN, 0),
            (i64::MAX, 0),
            (0, -1),
            (0, 1_000_000_000),
            (0, i32::MIN),
            (0, i32::MAX),
        ] {
            let mut out = String::from("keep");
            assert!(
                write_timestamp(&mut out, seconds, nanos).is_err(),
                "{seconds} {nanos}"
            );
            assert_eq!(out, "keep", "wrote on error");
        }
    }

    #[test]
    fn write_appends() {
        let mut out = String::from("[");
        write_timestamp(&mut out, 0, 0).unwrap();
        write_duration(&mut out, 1, 0).unwrap();
        assert_eq!(out, "[1970-01-01T00:00:00Z1s");
    }

    #[test]
    fn parses_fractions_of_every_length() {
        let digits = "123456789";
        for len in 1..=9 {
            let text = format!("1970-01-01T00:00:00.{}Z", &digits[..len]);
            let nanos: i32 = format!("{:0<9}", &digits[..len]).parse().unwrap();
            assert_eq!(parse_timestamp(&text), Ok((0, nanos)), "{text}");
        }
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:00.000000000Z"),
            Ok((0, 0))
        );
        assert_eq!(parse_timestamp("1970-01-01T00:00:00.0Z"), Ok((0, 0)));
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:00.1+01:00"),
            Ok((-3600, 100_000_000))
        );
    }

    #[test]
    fn parses_offsets() {
        assert_eq!(parse_timestamp("1970-01-01T08:00:01+08:00"), Ok((1, 0)));
        assert_eq!(parse_timestamp("1969-12-31T16:00:01-08:00"), Ok((1, 0)));
        assert_eq!(parse_timestamp("1970-01-01T00:00:00+00:00"), Ok((0, 0)));
        assert_eq!(parse_timestamp("1970-01-01T00:00:00-00:00"), Ok((0, 0)));
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:00+23:59"),
            Ok((-86_340, 0))
        );
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:00-23:59"),
            Ok((86_340, 0))
        );
        // Crossing a day, month, year and leap-day boundary.
        assert_eq!(
            parse_timestamp("2000-01-01T01:00:00+02:00"),
            parse_timestamp("1999-12-31T23:00:00Z")
        );
        assert_eq!(
            parse_timestamp("2000-02-28T23:30:00-01:00"),
            parse_timestamp("2000-02-29T00:30:00Z")
        );
        assert_eq!(
            parse_timestamp("2000-03-01T00:30:00+01:00"),
            parse_timestamp("2000-02-29T23:30:00Z")
        );
        assert_eq!(
            parse_timestamp("2017-01-15T10:30:15.01+09:00"),
            Ok((1_484_443_815, 10_000_000))
        );
        // The result, not the local time, must be in range.
        assert_eq!(
            parse_timestamp("0001-01-01T00:59:59+01:00"),
            Err("timestamp out of range")
        );
        assert_eq!(
            parse_timestamp("0001-01-01T01:00:00+01:00"),
            Ok((MIN_TIMESTAMP_SECONDS, 0))
        );
        assert_eq!(
            parse_timestamp("0000-12-31T23:00:00-01:00"),
            Ok((MIN_TIMESTAMP_SECONDS, 0))
        );
        assert_eq!(
            parse_timestamp("9999-12-31T23:59:59-00:01"),
            Err("timestamp out of range")
        );
        assert_eq!(
            parse_timestamp("9999-12-31T23:59:59+00:01"),
            Ok((MAX_TIMESTAMP_SECONDS - 60, 0))
        );
    }

    #[test]
    fn parse_timestamp_limits() {
        assert_eq!(
            parse_timestamp("0001-01-01T00:00:00Z"),
            Ok((MIN_TIMESTAMP_SECONDS, 0))
        );
        assert_eq!(
            parse_timestamp("9999-12-31T23:59:59.999999999Z"),
            Ok((MAX_TIMESTAMP_SECONDS, MAX_NANOS))
        );
        assert_eq!(
            parse_timestamp("0000-12-31T23:59:59Z"),
            Err("timestamp out of range")
        );
        assert_eq!(
            parse_timestamp("0000-01-01T00:00:00Z"),
            Err("timestamp out of range")
        );
        assert!(parse_timestamp("10000-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn validates_dates() {
        assert_eq!(
            parse_timestamp("2000-02-29T00:00:00Z"),
            Ok((951_782_400, 0))
        );
        assert_eq!(
            parse_timestamp("2004-02-29T00:00:00Z"),
            Ok((1_078_012_800, 0))
        );
        assert_eq!(
            parse_timestamp("1600-02-29T00:00:00Z"),
            Ok((-11_670_998_400, 0))
        );
        for bad in [
            "1900-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2001-02-29T00:00:00Z",
            "2000-02-30T00:00:00Z",
            "2000-04-31T00:00:00Z",
            "2000-06-31T00:00:00Z",
            "2000-09-31T00:00:00Z",
            "2000-11-31T00:00:00Z",
            "2000-01-32T00:00:00Z",
            "2000-12-32T00:00:00Z",
            "2000-01-00T00:00:00Z",
            "2000-00-01T00:00:00Z",
            "2000-13-01T00:00:00Z",
            "2000-99-99T00:00:00Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
        for month in 1..=12 {
            let last = days_in_month(2001, month);
            assert!(parse_timestamp(&format!("2001-{month:02}-{last:02}T00:00:00Z")).is_ok());
            assert!(
                parse_timestamp(&format!("2001-{month:02}-{:02}T00:00:00Z", last + 1)).is_err()
            );
        }
    }

    #[test]
    fn validates_times() {
        assert!(parse_timestamp("2000-01-01T23:59:59Z").is_ok());
        for bad in [
            "2000-01-01T24:00:00Z",
            "2000-01-01T00:60:00Z",
            "2000-01-01T00:00:60Z",
            "2016-12-31T23:59:60Z",
            "2000-01-01T99:00:00Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_malformed_timestamps() {
        let cases = [
            ("", "invalid year"),
            ("1970-01-01T00:00:00", "missing 'Z' or offset"),
            ("1970-01-01t00:00:00Z", "lowercase 't' not allowed"),
            ("1970-01-01T00:00:00z", "lowercase 'z' not allowed"),
            ("1970-01-01 00:00:00Z", "expected 'T' after date"),
            ("1970-01-01T00:00:00.Z", "missing fraction digits"),
            ("1970-01-01T00:00:00.1234567890Z", "fraction over 9 digits"),
            (
                "1970-01-01T00:00:00ZZ",
                "trailing characters after timestamp",
            ),
            (
                "1970-01-01T00:00:00Z ",
                "trailing characters after timestamp",
            ),
            ("1970-01-01T00:00:00+0800", "expected ':' in offset"),
            ("1970-01-01T00:00:00+08", "expected ':' in offset"),
            ("1970-01-01T00:00:00+8:00", "invalid offset hours"),
            ("1970-01-01T00:00:00+08:0", "invalid offset minutes"),
            ("1970-01-01T00:00:00+24:00", "offset out of range"),
            ("1970-01-01T00:00:00+00:60", "offset out of range"),
            ("10000-01-01T00:00:00Z", "year must have 4 digits"),
            ("197-01-01T00:00:00Z", "invalid year"),
            ("1970-1-01T00:00:00Z", "invalid month"),
            ("1970/01/01T00:00:00Z", "expected '-' after year"),
        ];
        for (text, error) in cases {
            assert_eq!(parse_timestamp(text), Err(error), "{text:?}");
        }
        for bad in [
            " 1970-01-01T00:00:00Z",
            "+1970-01-01T00:00:00Z",
            "-0001-01-01T00:00:00Z",
            "1970-01-1T00:00:00Z",
            "1970-01-01T0:00:00Z",
            "1970-01-01T00:0:00Z",
            "1970-01-01T00:00:0Z",
            "1970-01-01T00:00Z",
            "1970-01-01Z",
            "1970-01-01",
            "1970-01-01T00:00:00.1.2Z",
            "1970-01-01T00:00:00,5Z",
            "1970-01-01T00:00:00+08:00Z",
            "1970-01-01T00:00:00+08:00:00",
            "1970-01-01T00:00:00UTC",
            "1970-01-01T00:00:00+",
            "1970-01-01T00:00:00−08:00", // U+2212 minus sign
            "１９７０-01-01T00:00:00Z",  // fullwidth digits
            "1970-01-01T00:00:00.５Z",
            "1970-01-01T00:00:00.\u{0}Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_day_of_the_range_against_a_calendar_walk() {
        // An independent count: step through the calendar a day at a time
        // with the Gregorian rules, and compare both conversions at each day.
        fn leap(year: i64) -> bool {
            (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        }
        let mut days = MIN_TIMESTAMP_SECONDS / SECONDS_PER_DAY;
        for year in 1..=9999 {
            for month in 1..=12u32 {
                let length = match month {
                    2 => 28 + u32::from(leap(year)),
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                for day in 1..=length {
                    assert_eq!(
                        days_from_civil(year, i64::from(month), i64::from(day)),
                        days
                    );
                    assert_eq!(civil_from_days(days), (year, month, day));
                    days += 1;
                }
            }
        }
        assert_eq!(days - 1, MAX_TIMESTAMP_SECONDS / SECONDS_PER_DAY);
    }

    #[test]
    fn writes_durations() {
        let cases = [
            (0, 0, "0s"),
            (1, 0, "1s"),
            (-1, 0, "-1s"),
            (1, 500_000_000, "1.500s"),
            (-1, -500_000_000, "-1.500s"),
            (0, 1_000, "0.000001s"),
            (0, -1_000, "-0.000001s"),
            (0, -500_000_000, "-0.500s"),
            (0, 1, "0.000000001s"),
            (0, 10_000_000, "0.010s"),
            (3, 123_456_789, "3.123456789s"),
            (3, 123_456_000, "3.123456s"),
            (MAX_DURATION_SECONDS, 0, "315576000000s"),
            (MAX_DURATION_SECONDS, MAX_NANOS, "315576000000.999999999s"),
            (
                -MAX_DURATION_SECONDS,
                -MAX_NANOS,
                "-315576000000.999999999s",
            ),
            (10, 0, "10s"),
            (1_000_000, 0, "1000000s"),
        ];
        for (seconds, nanos, text) in cases {
            assert_eq!(
                duration(seconds, nanos).as_deref(),
                Ok(text),
                "{seconds} {nanos}"
            );
            assert_eq!(parse_duration(text), Ok((seconds, nanos)), "{text}");
        }
    }

    #[test]
    fn write_duration_rejects() {
        for (seconds, nanos) in [
            (MAX_DURATION_SECONDS + 1, 0),
            (-MAX_DURATION_SECONDS - 1, 0),
            (i64::MIN, 0),
            (i64::MAX, 0),
            (0, 1_000_000_000),
            (0, -1_000_000_000),
            (0, i32::MIN),
            (1, -1),
            (-1, 1),
        ] {
            let mut out = String::from("keep");
            assert!(
                write_duration(&mut out, seconds, nanos).is_err(),
                "{seconds} {nanos}"
            );
            assert_eq!(out, "keep", "wrote on error");
        }
    }

    #[test]
    fn parses_durations() {
        let cases = [
            ("0s", (0, 0)),
            ("-0s", (0, 0)),
            ("00s", (0, 0)),
            ("1.5s", (1, 500_000_000)),
            ("-1.5s", (-1, -500_000_000)),
            ("-0.5s", (0, -500_000_000)),
            ("0.000001s", (0, 1_000)),
            ("1.1s", (1, 100_000_000)),
            ("1.12s", (1, 120_000_000)),
            ("1.0000s", (1, 0)),
            ("1.123456789s", (1, 123_456_789)),
            ("315576000000s", (MAX_DURATION_SECONDS, 0)),
            ("315576000000.999999999s", (MAX_DURATION_SECONDS, MAX_NANOS)),
            (
                "-315576000000.999999999s",
                (-MAX_DURATION_SECONDS, -MAX_NANOS),
            ),
            ("0000000000000000000000000000001s", (1, 0)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects_malformed_durations() {
        let cases = [
            ("", "missing duration seconds digits"),
            ("s", "missing duration seconds digits"),
            ("-s", "missing duration seconds digits"),
            ("-", "missing duration seconds digits"),
            ("+1s", "missing duration seconds digits"),
            (".5s", "missing duration seconds digits"),
            ("--1s", "missing duration seconds digits"),
            (" 1s", "missing duration seconds digits"),
            ("1", "missing 's' suffix"),
            ("1.5", "missing 's' suffix"),
            ("1.s", "missing fraction digits"),
            ("1.1234567890s", "fraction over 9 digits"),
            ("1ss", "trailing characters after duration"),
            ("1s ", "trailing characters after duration"),
            ("1 s", "invalid character in duration"),
            ("1S", "invalid character in duration"),
            ("1e3s", "invalid character in duration"),
            ("1.5e3s", "invalid character in duration"),
            ("1.5.5s", "invalid character in duration"),
            ("1,5s", "invalid character in duration"),
            ("1ms", "invalid character in duration"),
            ("315576000001s", "duration out of range"),
            ("-315576000001s", "duration out of range"),
            ("9223372036854775807s", "duration out of range"),
            ("9223372036854775808s", "duration out of range"),
            ("18446744073709551616s", "duration out of range"),
            ("123456789012345678901234567890s", "duration out of range"),
            (
                "-123456789012345678901234567890.5s",
                "duration out of range",
            ),
        ];
        for (text, error) in cases {
            assert_eq!(parse_duration(text), Err(error), "{text:?}");
        }
        assert!(parse_duration("１s").is_err());
        assert!(parse_duration("1.５s").is_err());
        assert!(parse_duration("1s\u{0}").is_err());
        assert!(parse_duration(&"9".repeat(100_000)).is_err());
        assert!(parse_duration(&format!("1.{}s", "0".repeat(100_000))).is_err());
    }

    /// A reference reading of a duration with 128-bit integers and string
    /// splitting, to check `parse_duration` against.
    fn reference_duration(s: &str) -> Option<(i64, i32)> {
        let body = s.strip_suffix('s')?;
        let (negative, body) = match body.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, body),
        };
        let (int, fraction) = match body.split_once('.') {
            Some((int, fraction)) => (int, Some(fraction)),
            None => (body, None),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let seconds: i128 = int.parse().ok()?;
        let nanos: i128 = match fraction {
            None => 0,
            Some(f) if (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{f:0<9}").parse().ok()?
            }
            Some(_) => return None,
        };
        if seconds > i128::from(MAX_DURATION_SECONDS) {
            return None;
        }
        let sign = if negative { -1 } else { 1 };
        Some((
            i64::try_from(sign * seconds).ok()?,
            i32::try_from(sign * nanos).ok()?,
        ))
    }

    proptest! {
        #[test]
        fn timestamp_round_trips(
            seconds in MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS,
            nanos in prop_oneof![Just(0), 0..=MAX_NANOS, (0..1000).prop_map(|n| n * 1_000_000), (0..1_000_000).prop_map(|n| n * 1_000)],
        ) {
            let text = timestamp(seconds, nanos).unwrap();
            let fraction = text.find('.').map_or(0, |dot| text.len() - dot - 2);
            prop_assert!([0, 3, 6, 9].contains(&fraction), "{}", text);
            prop_assert_eq!(text.len(), 20 + if fraction == 0 { 0 } else { fraction + 1 });
            prop_assert_eq!(parse_timestamp(&text), Ok((seconds, nanos)));
        }

        #[test]
        fn timestamp_offsets_are_applied(
            seconds in MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS,
            nanos in 0..=MAX_NANOS,
            offset_minutes in -(24 * 60 - 1)..=(24 * 60 - 1i64),
        ) {
            // Write the local time with this module (in UTC form), then swap
            // its `Z` for the offset: it must read back as the UTC instant.
            let local = seconds + offset_minutes * 60;
            prop_assume!((MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&local));
            let mut text = timestamp(local, nanos).unwrap();
            text.pop();
            let sign = if offset_minutes < 0 { '-' } else { '+' };
            let magnitude = offset_minutes.abs();
            text.push_str(&format!("{sign}{:02}:{:02}", magnitude / 60, magnitude % 60));
            prop_assert_eq!(parse_timestamp(&text), Ok((seconds, nanos)), "{}", text);
        }

        #[test]
        fn parse_timestamp_never_panics(s in any::<String>()) {
            let _ = parse_timestamp(&s);
        }

        #[test]
        fn near_timestamps_parse_in_range_or_fail(
            s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,11})?([Zz]|[+-][0-9]{2}:[0-9]{2})?",
        ) {
            if let Ok((seconds, nanos)) = parse_timestamp(&s) {
                prop_assert!((MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&seconds));
                prop_assert!((0..=MAX_NANOS).contains(&nanos));
                let again = timestamp(seconds, nanos).unwrap();
                prop_assert_eq!(parse_timestamp(&again), Ok((seconds, nanos)));
            }
        }

        #[test]
        fn mutated_timestamps_never_panic(
            seconds in MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS,
            nanos in 0..=MAX_NANOS,
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<bool>(),
        ) {
            let mut bytes = timestamp(seconds, nanos).unwrap().into_bytes();
            let i = at.index(bytes.len());
            if cut { bytes.truncate(i) } else { bytes[i] = byte }
            let text = String::from_utf8_lossy(&bytes);
            if let Ok((seconds, nanos)) = parse_timestamp(&text) {
                prop_assert!((MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&seconds));
                prop_assert!((0..=MAX_NANOS).contains(&nanos));
            }
        }

        #[test]
        fn duration_round_trips(
            magnitude in 0..=MAX_DURATION_SECONDS,
            nanos in prop_oneof![Just(0), 0..=MAX_NANOS, (0..1000).prop_map(|n| n * 1_000_000), (0..1_000_000).prop_map(|n| n * 1_000)],
            negative in any::<bool>(),
        ) {
            let (seconds, nanos) = if negative { (-magnitude, -nanos) } else { (magnitude, nanos) };
            let text = duration(seconds, nanos).unwrap();
            let fraction = text.find('.').map_or(0, |dot| text.len() - dot - 2);
            prop_assert!([0, 3, 6, 9].contains(&fraction), "{}", text);
            prop_assert_eq!(parse_duration(&text), Ok((seconds, nanos)));
        }

        #[test]
        fn parse_duration_never_panics(s in any::<String>()) {
            let _ = parse_duration(&s);
        }

        #[test]
        fn near_durations_match_the_reference(s in "-?[0-9]{0,14}(\\.[0-9]{0,11})?s?") {
            prop_assert_eq!(parse_duration(&s).ok(), reference_duration(&s), "{}", s);
        }
    }
}
