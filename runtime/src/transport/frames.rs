//! HTTP/2 frames as bytes, as far as the transport reads them itself (RFC
//! 9113 section 4.1): where each frame starts in a byte stream, its header,
//! and the GOAWAY frame. h2 does the protocol; this is for what h2 does not
//! tell: the server's watch on client PINGs (`server/watch.rs`) and the
//! client's on the server's GOAWAY (`client/watch.rs`).
//!
//! ```text
//!   +-----------------------------------------------+
//!   |                 Length (24)                   |
//!   +---------------+---------------+---------------+
//!   |   Type (8)    |   Flags (8)   |
//!   +-+-------------+---------------+-------------------------------+
//!   |R|                 Stream Identifier (31)                      |
//!   +=+=============================================================+
//!   |                   Frame Payload (0...)                      ...
//! ```

/// The client preface: what a connection starts with before any frame.
pub(crate) const PREFACE_LEN: usize = 24;
/// A frame header: length (24 bits), type, flags, stream id.
pub(crate) const FRAME_HEADER_LEN: usize = 9;

pub(crate) const DATA: u8 = 0x0;
pub(crate) const HEADERS: u8 = 0x1;
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) const SETTINGS: u8 = 0x4;
pub(crate) const PING: u8 = 0x6;
pub(crate) const GOAWAY: u8 = 0x7;
pub(crate) const ACK: u8 = 0x1;
pub(crate) const ENHANCE_YOUR_CALM: u32 = 0xb;
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) const INADEQUATE_SECURITY: u32 = 0xc;

/// The debug data of the GOAWAY with which a gRPC server ends a connection
/// whose client pings too often (gRFC A8); gRPC clients look for it to back
/// off.
pub(crate) const TOO_MANY_PINGS: &[u8] = b"too_many_pings";

/// A frame header, as far as the transport needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Head {
    pub(crate) kind: u8,
    pub(crate) flags: u8,
    pub(crate) stream: u32,
}

/// Follows frame boundaries in one direction of a connection.
#[derive(Debug)]
pub(crate) struct Scanner {
    // Preface bytes still to pass (inbound only).
    preface: usize,
    header: [u8; FRAME_HEADER_LEN],
    // Bytes of `header` filled.
    have: usize,
    // Payload bytes of the current frame still to pass.
    payload: usize,
}

impl Scanner {
    pub(crate) fn new(preface: usize) -> Self {
        Self {
            preface,
            header: [0; FRAME_HEADER_LEN],
            have: 0,
            payload: 0,
        }
    }

    /// Passes `bytes`, calling `on_frame` with each frame header completed
    /// and what follows it in `bytes` (the start of its payload, if it is
    /// there: a frame's payload may also come in a later read). Headers that
    /// lie whole in `bytes` are read where they are; only one split between
    /// two reads is copied aside.
    #[inline]
    pub(crate) fn scan(&mut self, bytes: &[u8], mut on_frame: impl FnMut(Head, &[u8])) {
        let mut at = 0;
        if self.preface > 0 {
            let n = self.preface.min(bytes.len());
            self.preface -= n;
            at = n;
        }
        if self.have > 0 {
            let n = (FRAME_HEADER_LEN - self.have).min(bytes.len() - at);
            self.header[self.have..self.have + n].copy_from_slice(&bytes[at..at + n]);
            self.have += n;
            at += n;
            if self.have < FRAME_HEADER_LEN {
                return;
            }
            self.have = 0;
            let header = self.header;
            self.payload = self.frame(&header, &bytes[at..], &mut on_frame);
        }
        loop {
            let left = bytes.len() - at;
            if self.payload >= left {
                self.payload -= left;
                return;
            }
            at += self.payload;
            self.payload = 0;
            match bytes.get(at..at + FRAME_HEADER_LEN) {
                Some(header) => {
                    at += FRAME_HEADER_LEN;
                    self.payload = self.frame(header, &bytes[at..], &mut on_frame);
                }
                None => {
                    let rest = &bytes[at..];
                    self.header[..rest.len()].copy_from_slice(rest);
                    self.have = rest.len();
                    return;
                }
            }
        }
    }

    /// Reads one frame header: tells `on_frame` (with the bytes after it),
    /// returns its payload's length.
    #[inline]
    fn frame(&self, h: &[u8], after: &[u8], on_frame: &mut impl FnMut(Head, &[u8])) -> usize {
        let len = u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize;
        on_frame(
            Head {
                kind: h[3],
                flags: h[4],
                stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
            },
            &after[..len.min(after.len())],
        );
        len
    }

    /// Bytes until the end of the current frame (0 at a boundary). Within a
    /// header the payload's length is not known yet: only up to the
    /// header's end, then.
    pub(crate) fn to_boundary(&self) -> usize {
        if self.have > 0 {
            FRAME_HEADER_LEN - self.have
        } else {
            self.payload
        }
    }
}

/// A GOAWAY frame (RFC 9113 section 6.8) on stream 0.
pub(crate) fn goaway_frame(last_stream: u32, code: u32, debug: &[u8]) -> Vec<u8> {
    let len = 8 + debug.len();
    let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + len);
    frame.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    frame.push(GOAWAY);
    frame.push(0);
    frame.extend_from_slice(&0u32.to_be_bytes());
    frame.extend_from_slice(&(last_stream & 0x7fff_ffff).to_be_bytes());
    frame.extend_from_slice(&code.to_be_bytes());
    frame.extend_from_slice(debug);
    frame
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        f.push(kind);
        f.push(flags);
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn the_scanner_finds_every_header_at_every_split() {
        let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        bytes.extend(frame(0x4, 0, 0, &[0; 6]));
        bytes.extend(frame(HEADERS, 0x4, 1, &[1, 2, 3]));
        bytes.extend(frame(DATA, 0x1, 1, &[7; 40]));
        bytes.extend(frame(PING, 0, 0, &[0; 8]));
        bytes.extend(frame(PING, ACK, 0, &[0; 8]));
        let want = [
            (0x4, 0, 0),
            (HEADERS, 0x4, 1),
            (DATA, 1, 1),
            (PING, 0, 0),
            (PING, ACK, 0),
        ];
        for cut in 0..=bytes.len() {
            for cut2 in cut..=bytes.len() {
                let mut s = Scanner::new(PREFACE_LEN);
                let mut got = Vec::new();
                for part in [&bytes[..cut], &bytes[cut..cut2], &bytes[cut2..]] {
                    s.scan(part, |h, _| got.push((h.kind, h.flags, h.stream)));
                }
                assert_eq!(got, want, "cut at {cut} and {cut2}");
                assert_eq!(s.to_boundary(), 0);
            }
        }
    }

    #[test]
    fn to_boundary_counts_what_is_left_of_the_frame() {
        let f = frame(DATA, 0, 3, &[0; 100]);
        let mut s = Scanner::new(0);
        s.scan(&f[..4], |_, _| {});
        assert_eq!(s.to_boundary(), 5, "within the header");
        s.scan(&f[4..20], |_, _| {});
        assert_eq!(s.to_boundary(), 89, "within the payload");
        s.scan(&f[20..], |_, _| {});
        assert_eq!(s.to_boundary(), 0);
    }

    #[test]
    fn a_goaway_frame_is_laid_out_as_rfc_9113_says() {
        let f = goaway_frame(7, ENHANCE_YOUR_CALM, TOO_MANY_PINGS);
        assert_eq!(&f[..3], &[0, 0, 22], "8 bytes and the debug data");
        assert_eq!(f[3], GOAWAY);
        assert_eq!(&f[5..9], &[0; 4], "stream 0");
        assert_eq!(&f[9..13], &7u32.to_be_bytes());
        assert_eq!(&f[13..17], &0xbu32.to_be_bytes());
        assert_eq!(&f[17..], b"too_many_pings");
    }
}
