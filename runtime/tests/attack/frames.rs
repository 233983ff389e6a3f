//! A small HTTP/2 frame writer and reader for playing a hostile client:
//! frames are bytes we lay out ourselves (RFC 9113 section 4.1), so a case
//! can send what no well-behaved library would (bad lengths, uppercase
//! header names, a reset before anything else). Header blocks we send are
//! HPACK literals without Huffman coding (RFC 7541 section 6.2), written
//! here too; the server's replies are decoded with `fluke-hpack`.
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

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const PADDED: u8 = 0x8;

pub const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
pub const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;

/// Error codes (RFC 9113 section 7).
pub const PROTOCOL_ERROR: u32 = 0x1;
pub const REFUSED_STREAM: u32 = 0x7;
pub const CANCEL: u32 = 0x8;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// The largest frame payload a peer must accept before SETTINGS say more.
pub const MAX_FRAME: usize = 16_384;

/// One frame as bytes on the wire.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    assert!(len < 1 << 24, "a frame payload has 24 bits of length");
    let mut out = Vec::with_capacity(9 + len);
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

pub fn settings(values: &[(u16, u32)]) -> Vec<u8> {
    let mut payload = Vec::new();
    for (id, value) in values {
        payload.extend_from_slice(&id.to_be_bytes());
        payload.extend_from_slice(&value.to_be_bytes());
    }
    frame(SETTINGS, 0, 0, &payload)
}

pub fn rst_stream(stream: u32, code: u32) -> Vec<u8> {
    frame(RST_STREAM, 0, stream, &code.to_be_bytes())
}

pub fn ping(payload: [u8; 8]) -> Vec<u8> {
    frame(PING, 0, 0, &payload)
}

pub fn window_update(stream: u32, increment: u32) -> Vec<u8> {
    frame(WINDOW_UPDATE, 0, stream, &increment.to_be_bytes())
}

/// A header block in HEADERS and, past `MAX_FRAME`, CONTINUATION frames.
pub fn headers(stream: u32, block: &[u8], end_stream: bool) -> Vec<u8> {
    let mut pieces = block.chunks(MAX_FRAME).peekable();
    let mut out = Vec::new();
    let mut first = true;
    if block.is_empty() {
        return frame(
            HEADERS,
            END_HEADERS | if end_stream { END_STREAM } else { 0 },
            stream,
            &[],
        );
    }
    while let Some(piece) = pieces.next() {
        let last = pieces.peek().is_none();
        let mut flags = if last { END_HEADERS } else { 0 };
        let kind = if first {
            if end_stream {
                flags |= END_STREAM;
            }
            HEADERS
        } else {
            CONTINUATION
        };
        first = false;
        out.extend(frame(kind, flags, stream, piece));
    }
    out
}

/// DATA frames carrying `data`, the last with END_STREAM if `end_stream`.
pub fn data(stream: u32, data: &[u8], end_stream: bool) -> Vec<u8> {
    if data.is_empty() {
        return frame(DATA, if end_stream { END_STREAM } else { 0 }, stream, &[]);
    }
    let mut out = Vec::new();
    let mut pieces = data.chunks(MAX_FRAME).peekable();
    while let Some(piece) = pieces.next() {
        let last = pieces.peek().is_none();
        let flags = if last && end_stream { END_STREAM } else { 0 };
        out.extend(frame(DATA, flags, stream, piece));
    }
    out
}

/// A gRPC length-prefixed message: flag, 4-byte length, bytes.
pub fn grpc_message(compressed: bool, declared_len: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![u8::from(compressed)];
    out.extend_from_slice(&declared_len.to_be_bytes());
    out.extend_from_slice(bytes);
    out
}

/// A gRPC message carrying `svc.v1.Number { value }`.
pub fn number_message(value: u64) -> Vec<u8> {
    let body = number(value);
    grpc_message(false, body.len() as u32, &body)
}

/// `svc.v1.Number { value }` encoded (field 1, varint).
pub fn number(value: u64) -> Vec<u8> {
    let mut out = vec![0x08];
    let mut v = value;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out
}

// ---- HPACK, the sending side (RFC 7541) ----

/// An HPACK integer with an `n`-bit prefix whose high bits are `first`.
pub fn hpack_integer(first: u8, n: u8, mut value: usize, out: &mut Vec<u8>) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128 + 128) as u8);
        value /= 128;
    }
    out.push(value as u8);
}

/// A string literal, not Huffman coded.
pub fn hpack_string(bytes: &[u8], out: &mut Vec<u8>) {
    hpack_integer(0, 7, bytes.len(), out);
    out.extend_from_slice(bytes);
}

/// A header block under construction.
#[derive(Default, Clone)]
pub struct Block(pub Vec<u8>);

impl Block {
    /// The request headers of a gRPC call to `path`, plus nothing else.
    pub fn grpc_request(path: &str) -> Self {
        Block::default()
            .indexed(3) // :method POST
            .indexed(6) // :scheme http
            .literal_name_index(4, path.as_bytes()) // :path
            .literal_name_index(1, b"localhost") // :authority
            .literal(b"content-type", b"application/grpc")
            .literal(b"te", b"trailers")
    }

    /// An entry of the static or dynamic table (section 6.1).
    pub fn indexed(mut self, index: usize) -> Self {
        hpack_integer(0x80, 7, index, &mut self.0);
        self
    }

    /// A literal without indexing, new name (section 6.2.2): the bytes as
    /// given, uppercase and control characters included.
    pub fn literal(mut self, name: &[u8], value: &[u8]) -> Self {
        self.0.push(0x00);
        hpack_string(name, &mut self.0);
        hpack_string(value, &mut self.0);
        self
    }

    /// A literal without indexing whose name is table entry `index`.
    pub fn literal_name_index(mut self, index: usize, value: &[u8]) -> Self {
        hpack_integer(0x00, 4, index, &mut self.0);
        hpack_string(value, &mut self.0);
        self
    }

    /// A literal with incremental indexing, new name (section 6.2.1): it
    /// is added to the dynamic table, first at index 62.
    pub fn literal_indexed(mut self, name: &[u8], value: &[u8]) -> Self {
        self.0.push(0x40);
        hpack_string(name, &mut self.0);
        hpack_string(value, &mut self.0);
        self
    }
}

// ---- Reading ----

/// One frame from the server.
#[derive(Debug, Clone)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The error code of a RST_STREAM or GOAWAY.
    pub fn error_code(&self) -> Option<u32> {
        let at = match self.kind {
            RST_STREAM => 0,
            GOAWAY => 4,
            _ => return None,
        };
        let b = self.payload.get(at..at + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The value of setting `id` in a SETTINGS frame.
    pub fn setting(&self, id: u16) -> Option<u32> {
        if self.kind != SETTINGS {
            return None;
        }
        self.payload.chunks_exact(6).find_map(|s| {
            (u16::from_be_bytes([s[0], s[1]]) == id)
                .then(|| u32::from_be_bytes([s[2], s[3], s[4], s[5]]))
        })
    }
}

/// What the server said on one stream, decoded.
#[derive(Debug, Default, Clone)]
pub struct Reply {
    /// Header fields of every HEADERS block (response head, trailers).
    pub headers: Vec<(String, String)>,
    /// RST_STREAM's error code, if the stream was reset.
    pub reset: Option<u32>,
    /// The stream ended (END_STREAM or reset).
    pub ended: bool,
}

impl Reply {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A raw HTTP/2 client connection.
pub struct Conn {
    tcp: TcpStream,
    buf: Vec<u8>,
    hpack: fluke_hpack::Decoder<'static>,
    // A header block being continued: its stream, END_STREAM, the bytes so far.
    partial: Option<(u32, bool, Vec<u8>)>,
    /// Frames read so far, in order.
    pub seen: Vec<Frame>,
    /// Replies by stream.
    pub replies: std::collections::BTreeMap<u32, Reply>,
    /// The server's GOAWAY, if any.
    pub goaway: Option<Frame>,
    /// The server closed the connection (or it broke).
    pub closed: bool,
}

impl Conn {
    /// Connects and sends nothing.
    pub async fn connect(addr: std::net::SocketAddr) -> Self {
        let tcp = TcpStream::connect(addr)
            .await
            .expect("connect to the server");
        tcp.set_nodelay(true).ok();
        Self {
            tcp,
            buf: Vec::new(),
            hpack: fluke_hpack::Decoder::new(),
            partial: None,
            seen: Vec::new(),
            replies: Default::default(),
            goaway: None,
            closed: false,
        }
    }

    /// Connects, sends the preface and empty SETTINGS, and waits for the
    /// server's SETTINGS (acknowledged) and for the WINDOW_UPDATE that opens
    /// its connection window past HTTP/2's initial 65,535 bytes (rust-rpc's
    /// server opens it to 2 MiB): a case that sends more before it would
    /// break flow control itself, and the server would rightly end the
    /// connection with FLOW_CONTROL_ERROR.
    pub async fn open(addr: std::net::SocketAddr) -> Self {
        let mut conn = Self::connect(addr).await;
        let mut hello = PREFACE.to_vec();
        hello.extend(settings(&[]));
        conn.send(&hello).await;
        let got = conn
            .read_until(Duration::from_secs(10), |c| {
                let settings = c
                    .seen
                    .iter()
                    .any(|f| f.kind == SETTINGS && f.flags & ACK == 0);
                let window = c
                    .seen
                    .iter()
                    .any(|f| f.kind == WINDOW_UPDATE && f.stream == 0);
                settings && window
            })
            .await;
        assert!(
            got,
            "the server sent no SETTINGS, or no WINDOW_UPDATE for its connection"
        );
        conn
    }

    /// The server's first SETTINGS frame.
    pub fn server_settings(&self) -> Option<&Frame> {
        self.seen
            .iter()
            .find(|f| f.kind == SETTINGS && f.flags & ACK == 0)
    }

    /// Writes `bytes`; a server that closed the connection makes this a
    /// no-op that marks it closed (after reading what it sent before).
    pub async fn send(&mut self, bytes: &[u8]) {
        if self.tcp.write_all(bytes).await.is_err() {
            self.read_rest().await;
            self.closed = true;
        }
    }

    /// After a failed write: what the server sent before it closed (its
    /// GOAWAY) may still wait to be read. A server that closes with our
    /// bytes unread resets the connection, which fails our write, but not
    /// the bytes already in our socket's buffer.
    async fn read_rest(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        loop {
            let mut chunk = [0u8; 16 * 1024];
            match tokio::time::timeout_at(deadline, self.tcp.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.parse().await;
                }
                _ => return,
            }
        }
    }

    /// Closes our sending side: the server reads EOF.
    pub async fn shutdown(&mut self) {
        let _ = self.tcp.shutdown().await;
    }

    /// Writes `bytes` unless that would wait longer than `patience` (the
    /// server stopped reading): true if all went out.
    pub async fn try_send(&mut self, bytes: &[u8], patience: Duration) -> bool {
        match tokio::time::timeout(patience, self.tcp.write_all(bytes)).await {
            Ok(Ok(())) => true,
            Ok(Err(_)) => {
                self.read_rest().await;
                self.closed = true;
                false
            }
            Err(_) => false,
        }
    }

    /// Reads frames until `done` says so, the connection closes, or
    /// `timeout` passes; true if `done` was met.
    pub async fn read_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if self.closed {
                return false;
            }
            let mut chunk = [0u8; 16 * 1024];
            match tokio::time::timeout_at(deadline, self.tcp.read(&mut chunk)).await {
                Err(_) => return done(self),
                Ok(Ok(0)) | Ok(Err(_)) => self.closed = true,
                Ok(Ok(n)) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.parse().await;
                }
            }
        }
    }

    /// Reads whatever comes for `period` (or until the connection closes).
    pub async fn drain_for(&mut self, period: Duration) {
        self.read_until(period, |_| false).await;
    }

    async fn parse(&mut self) {
        while self.buf.len() >= 9 {
            let len = u32::from_be_bytes([0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
            if self.buf.len() < 9 + len {
                return;
            }
            let f = Frame {
                kind: self.buf[3],
                flags: self.buf[4],
                stream: u32::from_be_bytes([self.buf[5], self.buf[6], self.buf[7], self.buf[8]])
                    & 0x7fff_ffff,
                payload: self.buf[9..9 + len].to_vec(),
            };
            self.buf.drain(..9 + len);
            self.on_frame(&f).await;
            // Keep a bounded log: floods would otherwise fill it.
            if self.seen.len() < 10_000 {
                self.seen.push(f);
            }
        }
    }

    async fn on_frame(&mut self, f: &Frame) {
        match f.kind {
            SETTINGS if f.flags & ACK == 0 => {
                let ack = frame(SETTINGS, ACK, 0, &[]);
                if self.tcp.write_all(&ack).await.is_err() {
                    self.closed = true;
                }
            }
            GOAWAY => self.goaway = Some(f.clone()),
            RST_STREAM => {
                let r = self.replies.entry(f.stream).or_default();
                r.reset = f.error_code();
                r.ended = true;
            }
            DATA if f.flags & END_STREAM != 0 => {
                self.replies.entry(f.stream).or_default().ended = true;
            }
            DATA => {
                self.replies.entry(f.stream).or_default();
            }
            HEADERS => {
                let mut p = &f.payload[..];
                if f.flags & PADDED != 0 {
                    let pad = usize::from(p.first().copied().unwrap_or(0));
                    p = p.get(1..p.len().saturating_sub(pad)).unwrap_or(&[]);
                }
                if f.flags & 0x20 != 0 {
                    p = p.get(5..).unwrap_or(&[]);
                }
                self.partial = Some((f.stream, f.flags & END_STREAM != 0, p.to_vec()));
                if f.flags & END_HEADERS != 0 {
                    self.finish_block();
                }
            }
            CONTINUATION => {
                if let Some((_, _, block)) = &mut self.partial {
                    block.extend_from_slice(&f.payload);
                }
                if f.flags & END_HEADERS != 0 {
                    self.finish_block();
                }
            }
            _ => {}
        }
    }

    fn finish_block(&mut self) {
        let Some((stream, end, block)) = self.partial.take() else {
            return;
        };
        let fields = self.hpack.decode(&block).unwrap_or_default();
        let r = self.replies.entry(stream).or_default();
        r.headers.extend(fields.into_iter().map(|(n, v)| {
            (
                String::from_utf8_lossy(&n).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        }));
        if end {
            r.ended = true;
        }
    }

    /// The reply on `stream` so far.
    pub fn reply(&self, stream: u32) -> Reply {
        self.replies.get(&stream).cloned().unwrap_or_default()
    }
}
