//! The bytes of a JSON string that need attention: `"`, `\` and the control
//! characters below U+0020. They are the same when writing (each must be
//! escaped) and reading (each ends a run of text that can be copied as it
//! is), so one scan serves both, eight bytes at a time: JSON text is mostly
//! such runs (keys, names, base64 of `bytes` fields).

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether `b` is `"`, `\` or a control character.
#[inline]
pub(crate) fn is_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// Whether any of the eight bytes of `w` is special. `(x - ONES) & !x`
/// sets a byte's high bit where `x` has a zero byte (exactly when there is
/// one: a borrow only reaches bytes above the first zero), and
/// `(x - n * ONES) & !x` where a byte is below `n` (for `n` up to 128).
#[inline]
fn has_special(w: u64) -> bool {
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let quotes = quote.wrapping_sub(ONES) & !quote;
    let backslashes = backslash.wrapping_sub(ONES) & !backslash;
    let controls = w.wrapping_sub(ONES * 0x20) & !w;
    (quotes | backslashes | controls) & HIGHS != 0
}

/// How many bytes at the start of `b` come before the first special one
/// (`b.len()` if there is none).
#[inline]
pub(crate) fn plain_len(b: &[u8]) -> usize {
    let mut i = 0;
    for chunk in b.chunks_exact(8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        if has_special(u64::from_le_bytes(word)) {
            break;
        }
        i += 8;
    }
    i + b[i..].iter().take_while(|&&c| !is_special(c)).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(b: &[u8]) -> usize {
        b.iter().position(|&c| is_special(c)).unwrap_or(b.len())
    }

    #[test]
    fn finds_each_special_byte_at_each_offset() {
        for special in (0..0x20).chain([b'"', b'\\']) {
            for len in 0..20 {
                for at in 0..len {
                    let mut b = vec![b'a'; len];
                    b[at] = special;
                    assert_eq!(plain_len(&b), at, "{special:#x} at {at} of {len}");
                }
            }
        }
        // Bytes next to the special ones, and every byte above 0x7f, are plain.
        let plain: Vec<u8> = (0x20..=0xff).filter(|&c| c != b'"' && c != b'\\').collect();
        assert_eq!(plain_len(&plain), plain.len());
    }

    proptest! {
        #[test]
        fn agrees_with_a_byte_at_a_time_scan(b in prop::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(plain_len(&b), naive(&b));
        }

        #[test]
        fn agrees_on_mostly_plain_text(s in "[ -~\u{80}-\u{10ffff}]{0,40}[\"\\\\\u{0}-\u{1f}]?[ -~]{0,20}") {
            prop_assert_eq!(plain_len(s.as_bytes()), naive(s.as_bytes()));
        }
    }
}
