//! Base64 for `bytes` fields in the protobuf JSON mapping: written in the
//! standard alphabet with `=` padding (RFC 4648 section 4), read in that
//! alphabet or the URL-safe one (section 5), with or without padding, as the
//! mapping asks of a parser.
//!
//! Reading is lenient where the mapping's reference implementation is: a
//! string may mix the two alphabets (`+` and `-` both mean 62, `/` and `_`
//! both 63), and the unused low bits of the last character need not be zero
//! (`QR==` reads as `A`, like `QQ==`), as protobuf's C++ parser accepts them.
//! Everything else is checked: only alphabet characters, `=` only as the
//! correct padding, and no length that leaves a lone character.

/// The standard alphabet (RFC 4648 section 4), indexed by 6-bit value.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Marks a byte that is in neither alphabet in [`DECODE`].
const INVALID: u8 = 0xff;

/// The 6-bit value of each byte in the standard or the URL-safe alphabet,
/// [`INVALID`] for every other byte (`=` included).
const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table[b'-' as usize] = 62;
    table[b'_' as usize] = 63;
    table
};

/// Appends the base64 of `bytes` in the standard alphabet with `=` padding
/// (RFC 4648 section 4), the form the JSON mapping writes for `bytes`.
pub(crate) fn encode(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len().div_ceil(3) * 4);
    let symbol = |value: u32| char::from(ALPHABET[(value & 0x3f) as usize]);
    let mut chunks = bytes.chunks_exact(3);
    for chunk in &mut chunks {
        let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
        out.push(symbol(n >> 18));
        out.push(symbol(n >> 12));
        out.push(symbol(n >> 6));
        out.push(symbol(n));
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.push(symbol(n >> 18));
            out.push(symbol(n >> 12));
            out.push_str("==");
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            out.push(symbol(n >> 18));
            out.push(symbol(n >> 12));
            out.push(symbol(n >> 6));
            out.push('=');
        }
        _ => {}
    }
}

/// Reads base64 in the standard or the URL-safe alphabet (RFC 4648 sections
/// 4 and 5, which may be mixed), with or without `=` padding.
///
/// When padding is present the whole length must be a multiple of 4 with at
/// most two `=`, all at the end. Without it, a length of 1 more than a
/// multiple of 4 is an error (it cannot hold a byte). Any other character,
/// whitespace included, is an error. Non-zero unused bits in the last
/// character are accepted and dropped.
pub(crate) fn decode(s: &str) -> Result<Vec<u8>, &'static str> {
    let input = s.as_bytes();
    let data = match input {
        [rest @ .., b'=', b'='] => rest,
        [rest @ .., b'='] => rest,
        _ => input,
    };
    let padded = data.len() != input.len();
    if padded && input.len() % 4 != 0 {
        return Err("invalid base64 padding");
    }
    let tail_len = data.len() % 4;
    if tail_len == 1 {
        // Only unpadded input gets here: with padding, the length checks
        // above leave 2 or 3.
        return Err("invalid base64 length");
    }

    // Every full group of four characters makes three bytes, written in
    // place; whether any character was outside the alphabets is gathered
    // over the whole input (INVALID has the high bit set, values do not)
    // and looked into only when one was.
    let full = data.len() / 4;
    let mut out = vec![0; full * 3 + tail_len.saturating_sub(1)];
    let (body, tail) = out.split_at_mut(full * 3);
    let mut invalid = 0;
    // Eight characters (six bytes) at a time, then a last group of four.
    let mut octets = data[..full * 4].chunks_exact(8);
    let mut sixes = body.chunks_exact_mut(6);
    for (chunk, bytes) in (&mut octets).zip(&mut sixes) {
        let mut n = 0u64;
        for &c in chunk {
            let v = DECODE[usize::from(c)];
            invalid |= v;
            n = n << 6 | u64::from(v);
        }
        bytes.copy_from_slice(&n.to_be_bytes()[2..]);
    }
    if let [a, b, c, d] = *octets.remainder() {
        let [a, b, c, d] = [a, b, c, d].map(|x| DECODE[usize::from(x)]);
        invalid |= a | b | c | d;
        let n = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        sixes
            .into_remainder()
            .copy_from_slice(&n.to_be_bytes()[1..]);
    }
    if invalid & 0x80 != 0 {
        // Name what was wrong with the first bad group.
        for chunk in data.chunks_exact(4) {
            sextets(chunk)?;
        }
    }
    match data[full * 4..] {
        [a, b] => {
            let n = sextets(&[a, b])? << 12;
            tail[0] = (n >> 16) as u8;
        }
        [a, b, c] => {
            let n = sextets(&[a, b, c])? << 6;
            tail.copy_from_slice(&[(n >> 16) as u8, (n >> 8) as u8]);
        }
        _ => {}
    }
    Ok(out)
}

/// Joins the 6-bit values of up to four base64 characters into one number,
/// the first character highest; an error if any is not in an alphabet.
fn sextets(chars: &[u8]) -> Result<u32, &'static str> {
    let mut n = 0;
    let mut invalid = 0;
    for &c in chars {
        let value = DECODE[usize::from(c)];
        invalid |= value;
        n = n << 6 | u32::from(value);
    }
    // Valid values are below 64; INVALID has the high bit set.
    if invalid & 0x80 != 0 {
        return Err(if chars.contains(&b'=') {
            "invalid base64 padding"
        } else {
            "invalid base64 character"
        });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(bytes: &[u8]) -> String {
        let mut out = String::new();
        encode(&mut out, bytes);
        out
    }

    /// A bit-at-a-time reference encoder, independent of the one above.
    fn reference_encode(bytes: &[u8]) -> String {
        let bits: Vec<bool> = bytes
            .iter()
            .flat_map(|b| (0..8).rev().map(move |i| b >> i & 1 == 1))
            .collect();
        let mut out = String::new();
        for group in bits.chunks(6) {
            let mut value = 0;
            for i in 0..6 {
                value = value << 1 | usize::from(group.get(i).copied().unwrap_or(false));
            }
            out.push(char::from(ALPHABET[value]));
        }
        while out.len() % 4 != 0 {
            out.push('=');
        }
        out
    }

    #[test]
    fn rfc_4648_test_vectors() {
        // RFC 4648 section 10.
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, base64) in vectors {
            assert_eq!(encoded(plain.as_bytes()), base64);
            assert_eq!(decode(base64).as_deref(), Ok(plain.as_bytes()));
            let unpadded = base64.trim_end_matches('=');
            assert_eq!(decode(unpadded).as_deref(), Ok(plain.as_bytes()));
        }
    }

    #[test]
    fn both_alphabets() {
        let bytes = [0xfb, 0xff, 0xbf, 0xfe];
        assert_eq!(encoded(&bytes), "+/+//g==");
        assert_eq!(decode("+/+//g==").as_deref(), Ok(&bytes[..]));
        assert_eq!(decode("-_-__g==").as_deref(), Ok(&bytes[..]));
        assert_eq!(decode("-_-__g").as_deref(), Ok(&bytes[..]));
        assert_eq!(decode("+_-/_g").as_deref(), Ok(&bytes[..]));
        let all: Vec<u8> = (0..=255).collect();
        let standard = encoded(&all);
        let url_safe = standard.replace('+', "-").replace('/', "_");
        assert_eq!(decode(&standard), Ok(all.clone()));
        assert_eq!(decode(&url_safe), Ok(all.clone()));
        assert_eq!(decode(url_safe.trim_end_matches('=')), Ok(all));
    }

    #[test]
    fn encode_appends() {
        let mut out = String::from("x:");
        encode(&mut out, b"hi");
        assert_eq!(out, "x:aGk=");
    }

    #[test]
    fn accepts_non_zero_trailing_bits() {
        assert_eq!(decode("QQ==").as_deref(), Ok(&b"A"[..]));
        assert_eq!(decode("QR==").as_deref(), Ok(&b"A"[..]));
        assert_eq!(decode("QR").as_deref(), Ok(&b"A"[..]));
        assert_eq!(decode("QUI=").as_deref(), Ok(&b"AB"[..]));
        assert_eq!(decode("QUJ=").as_deref(), Ok(&b"AB"[..]));
        assert_eq!(decode("QUJ").as_deref(), Ok(&b"AB"[..]));
    }

    #[test]
    fn rejects_bad_input() {
        let cases = [
            ("A", "invalid base64 length"),
            ("AAAAA", "invalid base64 length"),
            ("A=", "invalid base64 padding"),
            ("A==", "invalid base64 padding"),
            ("A===", "invalid base64 padding"),
            ("AA=", "invalid base64 padding"),
            ("AA===", "invalid base64 padding"),
            ("AAA==", "invalid base64 padding"),
            ("AAAA=", "invalid base64 padding"),
            ("AAAA==", "invalid base64 padding"),
            ("=", "invalid base64 padding"),
            ("==", "invalid base64 padding"),
            ("====", "invalid base64 padding"),
            ("AA==AA==", "invalid base64 padding"),
            ("AA==AAAA", "invalid base64 padding"),
            ("A=AA", "invalid base64 padding"),
            ("AAAA AAA", "invalid base64 character"),
            ("AAAA AAAA", "invalid base64 length"),
            ("AAAA\nAAA", "invalid base64 character"),
            ("AAAA\r\nAAA=", "invalid base64 padding"),
            ("AAAAAA\t=", "invalid base64 character"),
            ("AAA ", "invalid base64 character"),
            (" AAA", "invalid base64 character"),
            ("AA.A", "invalid base64 character"),
            ("AA*A", "invalid base64 character"),
            ("AA\u{0}A", "invalid base64 character"),
            ("AAé", "invalid base64 character"),
            ("AAAAéA", "invalid base64 character"),
            ("ＡＡＡＡ", "invalid base64 character"),
        ];
        for (text, error) in cases {
            assert_eq!(decode(text), Err(error), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn matches_the_reference_encoder(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
            prop_assert_eq!(encoded(&bytes), reference_encode(&bytes));
        }

        #[test]
        fn round_trips_in_every_form(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
            let standard = encoded(&bytes);
            prop_assert_eq!(standard.len(), bytes.len().div_ceil(3) * 4);
            let url_safe = standard.replace('+', "-").replace('/', "_");
            for form in [&standard, &url_safe] {
                prop_assert_eq!(decode(form), Ok(bytes.clone()));
                prop_assert_eq!(decode(form.trim_end_matches('=')), Ok(bytes.clone()));
            }
        }

        #[test]
        fn decode_never_panics(s in any::<String>()) {
            let _ = decode(&s);
        }

        #[test]
        fn near_base64_decodes_consistently(s in "[A-Za-z0-9+/_=-]{0,12}") {
            // Whatever is accepted re-encodes to something that decodes the
            // same, and the length rules hold.
            if let Ok(bytes) = decode(&s) {
                let data = s.trim_end_matches('=');
                prop_assert!(!data.contains('='));
                prop_assert_eq!(bytes.len(), data.len() * 3 / 4);
                prop_assert_eq!(decode(&encoded(&bytes)), Ok(bytes));
            }
        }
    }
}
