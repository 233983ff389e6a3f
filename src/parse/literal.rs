//! Literals as protoc reads and writes them: integers (decimal, hex,
//! octal), floats, C-escaped strings, and the forms protoc gives defaults
//! (`SimpleDtoa`, `SimpleFtoa`, `CEscape`).

/// An integer literal: decimal, `0x` hex or `0` octal. `None` if it is not
/// one or does not fit in 64 bits.
pub(crate) fn parse_integer(text: &str) -> Option<u64> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        if hex.is_empty() {
            return None;
        }
        return u64::from_str_radix(hex, 16).ok();
    }
    if text.len() > 1 && text.starts_with('0') {
        return u64::from_str_radix(&text[1..], 8).ok();
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) || text.is_empty() {
        return None;
    }
    text.parse().ok()
}

/// A floating-point literal (`1.5`, `.5`, `1e-3`, `2.`, with an optional
/// `f` suffix as text format allows).
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    let body = text
        .strip_suffix(['f', 'F'])
        .filter(|b| b.contains(['.', 'e', 'E']))
        .unwrap_or(text);
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    body.parse().ok()
}

/// How protoc writes a floating-point default (`SimpleDtoa`): the shortest
/// of `%.15g` and `%.17g` that reads back as the same value.
pub(crate) fn simple_dtoa(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    let short = format_g(value, 15);
    if short.parse::<f64>().ok() == Some(value) {
        short
    } else {
        format_g(value, 17)
    }
}

/// How protoc writes a `float` default (`SimpleFtoa`): the shortest of
/// `%.6g` and `%.9g` that reads back as the same `f32`.
pub(crate) fn simple_ftoa(value: f32) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    let short = format_g(f64::from(value), 6);
    if short.parse::<f32>().ok() == Some(value) {
        short
    } else {
        format_g(f64::from(value), 9)
    }
}

/// C's `%.{precision}g`.
fn format_g(value: f64, precision: usize) -> String {
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let scientific = format!("{:.*e}", precision - 1, value);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s.to_owned()
        }
    };
    if exponent < -4 || exponent >= precision as i32 {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exponent.abs())
    } else {
        let decimals = usize::try_from(precision as i32 - 1 - exponent).unwrap_or(0);
        trim(&format!("{value:.decimals$}"))
    }
}

/// protoc's `CEscape`, as it writes a bytes field's default.
pub(crate) fn c_escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out
}

/// A string literal's token (quotes included) unescaped, appended to
/// `out`.
pub(crate) fn unescape(token: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let bytes = token.as_bytes();
    let unterminated = || "the string is not terminated before the end of the line".to_owned();
    let (&quote, rest) = bytes.split_first().ok_or_else(unterminated)?;
    let (&last, body) = rest.split_last().ok_or_else(unterminated)?;
    // The tokenizer ends a string at its first unescaped quote: the token
    // is whole if it ends with one that no backslash escapes.
    let escaping = body.iter().rev().take_while(|&&b| b == b'\\').count();
    if last != quote || escaping % 2 == 1 {
        return Err(unterminated());
    }
    unescape_body(body, out)
}

/// The C escapes of a string's body (`\n`, `\\`, `\"`, `\'`, `\ooo` octal,
/// `\xHH` hex, `\uXXXX`, `\UXXXXXXXX`) undone, appended to `out`.
pub(crate) fn unescape_body(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&e) = bytes.get(i) else {
            return Err("a `\\` ends the string".to_owned());
        };
        i += 1;
        match e {
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'\\' | b'\'' | b'"' | b'?' => out.push(e),
            b'0'..=b'7' => {
                let mut value = u32::from(e - b'0');
                for _ in 0..2 {
                    match bytes.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(u8::try_from(value).map_err(|_| "an octal escape past \\377")?);
            }
            b'x' | b'X' => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 {
                    match bytes.get(i).and_then(|d| char::from(*d).to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            i += 1;
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    return Err("`\\x` must be followed by a hex digit".to_owned());
                }
                out.push(value as u8);
            }
            b'u' | b'U' => {
                let len = if e == b'u' { 4 } else { 8 };
                let hex = bytes
                    .get(i..i + len)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .ok_or_else(|| {
                        format!("`\\{}` must be followed by {len} hex digits", char::from(e))
                    })?;
                i += len;
                let code = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                let c = char::from_u32(code).ok_or_else(|| {
                    format!("`\\{}{hex}` is not a Unicode scalar value", char::from(e))
                })?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return Err(format!("invalid escape sequence `\\{}`", char::from(e))),
        }
    }
    Ok(())
}

/// protoc's rule for names made of a field's: each letter after an
/// underscore in upper case, the underscores dropped, and the first letter
/// in upper case too if `first_upper` (`foo_bar` → `fooBar` / `FooBar`).
pub(crate) fn camel_case(name: &str, first_upper: bool) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = first_upper;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_defaults_are_written_as_protoc_writes_them() {
        assert_eq!(simple_ftoa(9e9), "9e+09");
        assert_eq!(simple_ftoa(0.1), "0.1");
        assert_eq!(simple_ftoa(3.402_823_5e38), "3.40282347e+38");
        assert_eq!(simple_dtoa(0.1), "0.1");
        assert_eq!(simple_dtoa(16.0), "16");
        assert_eq!(simple_dtoa(7e22), "7e+22");
        assert_eq!(simple_dtoa(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(simple_dtoa(1e-5), "1e-05");
        assert_eq!(simple_dtoa(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn escapes() {
        let mut out = Vec::new();
        unescape(r#""a\n\x41\101\u00e9\"""#, &mut out).unwrap();
        assert_eq!(out, b"a\nAA\xc3\xa9\"");
        assert!(unescape(r#""\q""#, &mut Vec::new()).is_err());
        assert!(unescape(r#""open"#, &mut Vec::new()).is_err());
        assert_eq!(c_escape(b"a\"\n\x00\xff"), "a\\\"\\n\\000\\377");
    }
}
