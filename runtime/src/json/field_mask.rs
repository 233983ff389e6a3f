//! The JSON text form of `google.protobuf.FieldMask`, as the protobuf JSON
//! mapping defines it: one string holding the paths separated by `,`, each
//! path's field names converted from the proto's snake_case to
//! lowerCamelCase (`foo_bar.baz_qux,quux` for the paths `foo_bar.baz_qux`
//! and `quux` is `"fooBar.bazQux,quux"`).
//!
//! Both directions accept only what converts back unchanged: a path that
//! would come back different (`foo__bar`, `foo_3_bar`, `fooBar`) is an error
//! when written, and a `_` in the JSON form is an error when read, as the
//! conformance tests require. Empty paths and empty `.`-separated segments
//! are errors both ways too: neither names a field, and an empty path would
//! not survive the `,` join.

/// Writes `paths` as a FieldMask's JSON string (without the quotes): the
/// paths joined by `,`, each converted snake_case → lowerCamelCase (`_x` →
/// `X`); no paths is the empty string.
///
/// Accepts paths of lowercase ASCII letters, digits, `_` and `.`, where every
/// `_` is followed by a lowercase letter and no path or `.`-separated segment
/// is empty. Any other path (an uppercase letter, `foo__bar`, `foo_3_bar`, a
/// trailing `_`, a `,`) could not be read back as itself, so it is an error
/// and nothing is written.
pub(crate) fn write_field_mask(out: &mut String, paths: &[String]) -> Result<(), &'static str> {
    let mut len = 0;
    for path in paths {
        check_path(path)?;
        len += path.len() + 1;
    }
    out.reserve(len);
    for (i, path) in paths.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut upper = false;
        for b in path.bytes() {
            if b == b'_' {
                upper = true;
            } else if upper {
                out.push(char::from(b.to_ascii_uppercase()));
                upper = false;
            } else {
                out.push(char::from(b));
            }
        }
    }
    Ok(())
}

/// Reads a FieldMask's JSON string (without the quotes) into its paths:
/// split on `,` (the empty string is no paths), each converted
/// lowerCamelCase → snake_case (`fooBar.baz` → `foo_bar.baz`).
///
/// Accepts ASCII letters, digits, `.` and `,`, with no empty path or empty
/// `.`-separated segment. A `_` is an error (`foo,bar_bar` is not a valid
/// FieldMask in JSON), as is any other character.
pub(crate) fn parse_field_mask(s: &str) -> Result<Vec<String>, &'static str> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    // Check the whole string before allocating anything.
    let mut count = 1;
    let mut segment_len = 0;
    // The separator before the current segment; the string's start and end
    // count as `,`.
    let mut before = b',';
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => segment_len += 1,
            b'.' | b',' => {
                if segment_len == 0 {
                    return Err(empty_error(before, b));
                }
                segment_len = 0;
                before = b;
                count += usize::from(b == b',');
            }
            b'_' => return Err("'_' in json field mask"),
            _ => return Err("invalid character in field mask"),
        }
    }
    if segment_len == 0 {
        return Err(empty_error(before, b','));
    }

    let mut paths = Vec::with_capacity(count);
    for json_path in s.split(',') {
        let uppers = json_path.bytes().filter(u8::is_ascii_uppercase).count();
        let mut path = String::with_capacity(json_path.len() + uppers);
        for b in json_path.bytes() {
            if b.is_ascii_uppercase() {
                path.push('_');
                path.push(char::from(b.to_ascii_lowercase()));
            } else {
                path.push(char::from(b));
            }
        }
        paths.push(path);
    }
    Ok(paths)
}

/// Checks that a proto path converts to lowerCamelCase and back unchanged
/// (see [`write_field_mask`]).
fn check_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("empty field mask path");
    }
    let mut bytes = path.bytes().peekable();
    let mut segment_len = 0;
    while let Some(b) = bytes.next() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => segment_len += 1,
            b'_' => {
                if !bytes.peek().is_some_and(u8::is_ascii_lowercase) {
                    return Err("'_' not followed by a lowercase letter");
                }
                segment_len += 1;
            }
            b'.' => {
                if segment_len == 0 {
                    return Err("empty field mask path segment");
                }
                segment_len = 0;
            }
            b'A'..=b'Z' => return Err("uppercase letter in field mask path"),
            _ => return Err("invalid character in field mask path"),
        }
    }
    if segment_len == 0 {
        return Err("empty field mask path segment");
    }
    Ok(())
}

/// The error for an empty piece of a JSON field mask between the
/// separators `before` and `after`: a whole path when both are `,`.
fn empty_error(before: u8, after: u8) -> &'static str {
    if before == b',' && after == b',' {
        "empty field mask path"
    } else {
        "empty field mask path segment"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn write(paths: &[&str]) -> Result<String, &'static str> {
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        let mut out = String::new();
        write_field_mask(&mut out, &paths).map(|()| out)
    }

    fn parse(s: &str) -> Result<Vec<String>, &'static str> {
        parse_field_mask(s)
    }

    #[test]
    fn writes_camel_case() {
        assert_eq!(write(&[]).as_deref(), Ok(""));
        assert_eq!(write(&["foo"]).as_deref(), Ok("foo"));
        assert_eq!(write(&["foo_bar.baz_qux"]).as_deref(), Ok("fooBar.bazQux"));
        assert_eq!(write(&["foo", "bar_bar"]).as_deref(), Ok("foo,barBar"));
        assert_eq!(
            write(&["foo_bar_baz", "a.b.c", "x1_y2"]).as_deref(),
            Ok("fooBarBaz,a.b.c,x1Y2")
        );
        assert_eq!(write(&["foo3_bar", "f00"]).as_deref(), Ok("foo3Bar,f00"));
        assert_eq!(write(&["_foo"]).as_deref(), Ok("Foo"));
        assert_eq!(write(&["a._b"]).as_deref(), Ok("a.B"));
    }

    #[test]
    fn write_rejects_paths_that_do_not_round_trip() {
        let cases = [
            ("fooBar", "uppercase letter in field mask path"),
            ("FOO", "uppercase letter in field mask path"),
            ("foo__bar", "'_' not followed by a lowercase letter"),
            ("foo_3_bar", "'_' not followed by a lowercase letter"),
            ("foo_", "'_' not followed by a lowercase letter"),
            ("foo_.bar", "'_' not followed by a lowercase letter"),
            ("foo_Bar", "'_' not followed by a lowercase letter"),
            ("_", "'_' not followed by a lowercase letter"),
            ("", "empty field mask path"),
            ("foo..bar", "empty field mask path segment"),
            (".foo", "empty field mask path segment"),
            ("foo.", "empty field mask path segment"),
            ("foo,bar", "invalid character in field mask path"),
            ("foo bar", "invalid character in field mask path"),
            ("foo-bar", "invalid character in field mask path"),
            ("föo", "invalid character in field mask path"),
        ];
        for (path, error) in cases {
            let mut out = String::from("keep");
            let paths = vec!["ok_path".to_string(), path.to_string()];
            assert_eq!(write_field_mask(&mut out, &paths), Err(error), "{path:?}");
            assert_eq!(out, "keep", "wrote on error");
        }
    }

    #[test]
    fn parses_snake_case() {
        assert_eq!(parse(""), Ok(vec![]));
        assert_eq!(parse("foo"), Ok(vec!["foo".to_string()]));
        assert_eq!(
            parse("foo,barBar"),
            Ok(vec!["foo".to_string(), "bar_bar".to_string()])
        );
        assert_eq!(
            parse("fooBar.bazQux"),
            Ok(vec!["foo_bar.baz_qux".to_string()])
        );
        assert_eq!(
            parse("x1Y2,a.b.c"),
            Ok(vec!["x1_y2".to_string(), "a.b.c".to_string()])
        );
        assert_eq!(parse("Foo"), Ok(vec!["_foo".to_string()]));
        assert_eq!(parse("fooBAR"), Ok(vec!["foo_b_a_r".to_string()]));
    }

    #[test]
    fn parse_rejects() {
        let cases = [
            ("foo,bar_bar", "'_' in json field mask"),
            ("foo_bar", "'_' in json field mask"),
            ("_", "'_' in json field mask"),
            (",", "empty field mask path"),
            ("foo,", "empty field mask path"),
            (",foo", "empty field mask path"),
            ("foo,,bar", "empty field mask path"),
            ("foo..bar", "empty field mask path segment"),
            (".foo", "empty field mask path segment"),
            ("foo.", "empty field mask path segment"),
            ("foo.,bar", "empty field mask path segment"),
            ("foo,.bar", "empty field mask path segment"),
            ("foo,,", "empty field mask path"),
            ("foo, bar", "invalid character in field mask"),
            ("foo-bar", "invalid character in field mask"),
            ("föo", "invalid character in field mask"),
            ("foo\u{0}", "invalid character in field mask"),
            ("ｆoo", "invalid character in field mask"),
        ];
        for (text, error) in cases {
            assert_eq!(parse(text), Err(error), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn snake_paths_round_trip(
            paths in prop::collection::vec(
                "_?[a-z][a-z0-9]{0,4}(_[a-z][a-z0-9]{0,4}){0,3}(\\._?[a-z][a-z0-9]{0,4}(_[a-z][a-z0-9]{0,4}){0,2}){0,2}",
                0..5,
            ),
        ) {
            let mut out = String::new();
            write_field_mask(&mut out, &paths).unwrap();
            prop_assert!(!out.contains('_'));
            prop_assert_eq!(parse_field_mask(&out), Ok(paths));
        }

        #[test]
        fn whatever_parses_writes_back_the_same(s in "[a-zA-Z0-9_.,]{0,24}") {
            if let Ok(paths) = parse_field_mask(&s) {
                let mut out = String::new();
                write_field_mask(&mut out, &paths).unwrap();
                prop_assert_eq!(out, s);
            }
        }

        #[test]
        fn whatever_writes_parses_back_the_same(paths in prop::collection::vec("[a-zA-Z0-9_.,]{0,12}", 0..4)) {
            let mut out = String::new();
            if write_field_mask(&mut out, &paths).is_ok() {
                prop_assert_eq!(parse_field_mask(&out), Ok(paths));
            } else {
                prop_assert!(out.is_empty());
            }
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = parse_field_mask(&s);
        }
    }
}
