//! Base-128 varints and zigzag, as the protobuf encoding spec defines them.
//!
//! > Each byte in the varint has a continuation bit that indicates if the byte
//! > that follows it is part of the varint. [...] The lower 7 bits of each byte
//! > are used to store the two's complement representation of the number in
//! > groups of 7 bits, least significant group first.

/// The longest varint: 64 bits in 7-bit groups.
pub const MAX_VARINT_LEN: usize = 10;

/// Number of bytes `value` takes as a varint (1 to 10), without a loop.
#[inline(always)]
pub const fn varint_len(value: u64) -> usize {
    // bits needed = 64 - lz (at least 1); bytes = ceil(bits / 7), computed
    // as (bits * 9 + 64) / 64 which is exact for 1..=64.
    let bits = 64 - (value | 1).leading_zeros() as usize;
    (bits * 9 + 64) / 64
}

/// Writes `value` as a varint into `out`, returning how many bytes were used.
#[inline(always)]
pub fn write_varint(mut value: u64, out: &mut [u8; MAX_VARINT_LEN]) -> usize {
    let mut i = 0;
    while value >= 0x80 {
        out[i] = (value as u8) | 0x80;
        value >>= 7;
        i += 1;
    }
    out[i] = value as u8;
    i + 1
}

/// Decodes a varint from the front of `buf`.
///
/// Returns the value and the number of bytes read, or `None` when the buffer
/// ends inside the varint or the varint is longer than ten bytes. Bits past
/// the 64th are dropped, as protobuf's reference parser does.
#[inline(always)]
pub fn read_varint(buf: &[u8]) -> Option<(u64, usize)> {
    let first = *buf.first()?;
    if first < 0x80 {
        return Some((u64::from(first), 1));
    }
    if buf.len() >= MAX_VARINT_LEN || buf[buf.len() - 1] < 0x80 {
        // Either ten bytes are available, or the last byte ends a varint:
        // no bounds check can fail before a terminating byte is found.
        return read_varint_unrolled(buf);
    }
    read_varint_slow(buf)
}

#[inline(always)]
fn read_varint_unrolled(buf: &[u8]) -> Option<(u64, usize)> {
    let mut value = u64::from(buf[0] & 0x7f);
    let mut i = 1;
    while i < MAX_VARINT_LEN {
        let b = *buf.get(i)?;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((value, i + 1));
        }
        i += 1;
    }
    None
}

#[cold]
fn read_varint_slow(buf: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in buf.iter().take(MAX_VARINT_LEN).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Zigzag-encodes a signed 32-bit value (`sint32`).
#[inline(always)]
pub const fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// Zigzag-encodes a signed 64-bit value (`sint64`).
#[inline(always)]
pub const fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Reverses [`zigzag32`].
#[inline(always)]
pub const fn unzigzag32(v: u32) -> i32 {
    ((v >> 1) as i32) ^ (-((v & 1) as i32))
}

/// Reverses [`zigzag64`].
#[inline(always)]
pub const fn unzigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ (-((v & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lengths_at_boundaries() {
        assert_eq!(varint_len(0), 1);
        assert_eq!(varint_len(127), 1);
        assert_eq!(varint_len(128), 2);
        assert_eq!(varint_len(16_383), 2);
        assert_eq!(varint_len(16_384), 3);
        assert_eq!(varint_len(u64::from(u32::MAX)), 5);
        assert_eq!(varint_len(u64::MAX), 10);
        assert_eq!(varint_len(-1i64 as u64), 10);
    }

    #[test]
    fn spec_example_150() {
        let mut out = [0; MAX_VARINT_LEN];
        let n = write_varint(150, &mut out);
        assert_eq!(&out[..n], &[0x96, 0x01]);
        assert_eq!(read_varint(&[0x96, 0x01]), Some((150, 2)));
    }

    #[test]
    fn truncated_and_overlong_are_rejected() {
        assert_eq!(read_varint(&[]), None);
        assert_eq!(read_varint(&[0x80]), None);
        assert_eq!(read_varint(&[0xff; 9]), None);
        assert_eq!(read_varint(&[0xff; 11]), None);
        assert_eq!(read_varint(&[0xff; 10]), None);
        // Ten bytes ending in a terminator are accepted; extra high bits drop.
        let mut ten = [0xffu8; 10];
        ten[9] = 0x7f;
        assert_eq!(read_varint(&ten), Some((u64::MAX, 10)));
    }

    #[test]
    fn zigzag_spec_table() {
        assert_eq!(zigzag32(0), 0);
        assert_eq!(zigzag32(-1), 1);
        assert_eq!(zigzag32(1), 2);
        assert_eq!(zigzag32(-2), 3);
        assert_eq!(zigzag32(i32::MAX), 0xffff_fffe);
        assert_eq!(zigzag32(i32::MIN), 0xffff_ffff);
        assert_eq!(zigzag64(i64::MIN), u64::MAX);
    }

    proptest! {
        #[test]
        fn varint_round_trip(v: u64, tail in proptest::collection::vec(any::<u8>(), 0..12)) {
            let mut out = [0; MAX_VARINT_LEN];
            let n = write_varint(v, &mut out);
            prop_assert_eq!(n, varint_len(v));
            let mut buf = out[..n].to_vec();
            buf.extend_from_slice(&tail);
            prop_assert_eq!(read_varint(&buf), Some((v, n)));
        }

        #[test]
        fn zigzag_round_trip(a: i32, b: i64) {
            prop_assert_eq!(unzigzag32(zigzag32(a)), a);
            prop_assert_eq!(unzigzag64(zigzag64(b)), b);
        }

        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..16)) {
            if let Some((_, n)) = read_varint(&buf) {
                prop_assert!(n >= 1 && n <= buf.len() && n <= MAX_VARINT_LEN);
            }
        }
    }
}
