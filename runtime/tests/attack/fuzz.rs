//! A fuzz target for the server's frame-level input handling: proptest
//! draws HTTP/2 frame sequences, each is sent over a loopback connection of
//! its own to one real server (the suite's [`Target`], beside a
//! [`Bystander`]), and what the server does is checked against properties
//! that hold whatever was sent:
//!
//! - nothing in the process panics while a case runs (a panic hook counts
//!   panics on every thread: connection tasks, handlers), and after each
//!   case a fresh client's call succeeds and no handler outlives the
//!   connection;
//! - every byte the server writes parses as HTTP/2 frames of known types,
//!   with the fixed lengths, stream ids and error codes RFC 9113 allows,
//!   header blocks that are contiguous and decode as HPACK into valid
//!   fields, responses with `:status`, and gRPC responses (`:status` 200)
//!   with a gRPC content type, complete length-prefixed messages and a
//!   `grpc-status` between 0 and 16 when they end;
//! - the connection ends or stays responsive: a PING sent after the case
//!   is answered, or the server has ended the connection, or ends it when
//!   we close our side;
//! - a GOAWAY with an error code comes only where RFC 9113 allows the
//!   server a connection error for something the case sent (the encoder
//!   below works that out frame by frame, from the stream states it knows):
//!   a malformed request, DATA on a half-closed stream, a PRIORITY that
//!   depends on itself are stream errors, and the connection must go on
//!   (save for the gaps of h2 named below); and where RFC 9113 says the
//!   connection MUST end (DATA on an idle stream, bad padding, an invalid
//!   SETTINGS value...), it ends;
//! - the heap does not keep what the cases cost: after the run it holds
//!   less than [`LIVE_BOUND`] more than before, and never more than
//!   [`PEAK_BOUND`] more at any moment.
//!
//! Bounded: `PROPTEST_CASES` cases (512 by default), and a wall-clock
//! budget of `RUST_RPC_FUZZ_SECS` seconds (30 by default), after which the
//! remaining cases are skipped; each case has a timeout, and shrinking a
//! failure stops after 2 minutes. The seed is printed at the start
//! (`PROPTEST_RNG_SEED=...` replays a run), a failing case is shrunk and
//! printed with the frames the server sent, and proptest saves it under
//! `runtime/tests/proptest-regressions/` to be replayed first next time.
//! For a longer run: `PROPTEST_CASES=100000 RUST_RPC_FUZZ_SECS=600 cargo
//! test -p rust-rpc --test attack fuzz_frame_sequences -- --nocapture`.
//!
//! What h2 0.4 does that RFC 9113 would not is accepted by name ([`Gap`]),
//! only where it applies, and counted in the report: a GOAWAY
//! PROTOCOL_ERROR where the RFC asks for a stream error, for an invalid
//! header field (the gap `invalid_fields` in main.rs pins), for DATA or
//! HEADERS after the client's END_STREAM or RST_STREAM, for a WINDOW_UPDATE
//! of 0 on a stream, for a PRIORITY of the wrong length; a stream reset
//! where the stream id itself is a connection error; a header block left
//! undecoded (HPACK out of step) when its priority depends on itself; and
//! a split header block malformed in its first fragment dropped (the
//! connection ended, or the malformation missed). The last two are pinned
//! by ignored tests at the end of this file, which assert what the RFC
//! asks.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use rust_rpc::transport::{Channel, Request, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::frames::*;
use crate::generated::svc::v1::{CalculatorClient, Number};
use crate::harness::*;

const PRIORITY: u8 = 0x2;
const PUSH_PROMISE: u8 = 0x5;
/// The PRIORITY flag of a HEADERS frame.
const PRIORITY_FLAG: u8 = 0x20;

const NO_ERROR: u32 = 0x0;
const FLOW_CONTROL_ERROR: u32 = 0x3;
const STREAM_CLOSED: u32 = 0x5;
const COMPRESSION_ERROR: u32 = 0x9;
/// The highest error code RFC 9113 defines (HTTP_1_1_REQUIRED).
const LAST_ERROR_CODE: u32 = 0xd;

const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
const SETTINGS_ENABLE_PUSH: u16 = 0x2;
const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;
const SETTINGS_ENABLE_CONNECT_PROTOCOL: u16 = 0x8;

const MAX_WINDOW: u64 = (1 << 31) - 1;
/// The flow-control window every stream and the connection start with.
const INITIAL_WINDOW: u64 = 65_535;

/// What the heap may hold more after the run than before it.
const LIVE_BOUND: usize = 2 * MIB;
/// What the heap may grow by at any moment of the run (the cases' own
/// bytes included: up to 4 MB for 40 frames of 100 KB headers; measured
/// peaks are about 1 MiB).
const PEAK_BOUND: usize = 16 * MIB;

/// Reading a case's answers: until the server has been quiet this long...
const QUIET: Duration = Duration::from_millis(40);
/// ...or this long has passed since the last byte was sent.
const READ_WINDOW: Duration = Duration::from_millis(250);
/// How long the PING after a case may wait for its answer, and the close
/// after our side is shut.
const PATIENCE: Duration = Duration::from_secs(2);
/// A case as a whole (sending, reading, the PING).
const CASE_TIMEOUT: Duration = Duration::from_secs(15);

// ---- What a case is ----

/// A stream id, as the encoder resolves it against what the case opened.
#[derive(Debug, Clone, Copy)]
enum Sid {
    /// The next unused odd id (a new stream for HEADERS, an idle one else).
    Fresh,
    /// One of the streams opened so far, the most recent first.
    Recent(u8),
    Zero,
    /// A server-initiated id (none is ever opened).
    Even(u8),
    /// An odd id past the next fresh one: idle.
    Idle(u8),
    Raw(u32),
    /// One of the streams opened so far, the most recent first; the frame
    /// is left out if none is.
    Live(u8),
}

#[derive(Debug, Clone, Copy)]
enum PathKind {
    Square,
    Sum,
    Sleep,
    CountTo,
    Fail,
    NoMethod,
    NoService,
    Root,
    NoSlash,
    Empty,
}

/// A change to a gRPC request's header fields.
#[derive(Debug, Clone)]
enum FieldMut {
    Timeout(&'static str),
    Encoding(&'static str),
    AcceptEncoding,
    Metadata,
    BinaryMetadata,
    /// A value of this many bytes.
    Huge(usize),
    Uppercase,
    Control(u8),
    SpaceInName,
    LeadingSpace,
    PseudoAfterRegular,
    /// Leaves out one of :method, :scheme, :path, :authority.
    Drop(u8),
    Duplicate(u8),
    UnknownPseudo,
    Connection(u8),
    TeGzip,
    ContentType(&'static str),
    Method(&'static str),
}

/// A change at the HPACK level, to the encoded block.
#[derive(Debug, Clone)]
enum Hpack {
    Plain,
    IndexZero,
    /// An indexed field past the static table and what was inserted.
    IndexPast(u16),
    SizeAtStart(u32),
    SizeInMiddle(u32),
    /// A field added to the dynamic table, then referred to.
    Insert,
    /// The block cut to this many bytes.
    Truncate(u16),
    Random(Vec<u8>),
}

#[derive(Debug, Clone)]
enum HeadKind {
    Request(PathKind),
    /// Trailers: `x-trailer: 1`, and nothing else.
    Trailers,
}

#[derive(Debug, Clone)]
struct Head {
    kind: HeadKind,
    fields: Vec<FieldMut>,
    hpack: Hpack,
}

/// Padding of DATA or HEADERS: `honest` pads with that many bytes; a
/// dishonest pad length claims more than the frame holds.
#[derive(Debug, Clone, Copy)]
struct Pad {
    len: u8,
    honest: bool,
}

#[derive(Debug, Clone)]
enum Body {
    Number(u64),
    Several(u8, u64),
    /// A prefix declaring `declared` bytes, followed by `sent` of them.
    Lying {
        declared: u32,
        sent: u8,
    },
    Compressed(Vec<u8>),
    BadFlag(u8),
    /// The first bytes of a message.
    Cut(u8),
    Raw(Vec<u8>),
    Empty,
}

#[derive(Debug, Clone)]
enum Frag {
    /// What the HEADERS before it left out of its block.
    Rest,
    Literal,
    Empty,
    Random(Vec<u8>),
}

/// A frame type of fixed size, for a frame of the wrong size.
#[derive(Debug, Clone, Copy)]
enum Fixed {
    RstStream,
    Priority,
    Ping,
    WindowUpdate,
    Settings,
    GoAway,
}

#[derive(Debug, Clone)]
enum Op {
    Headers {
        sid: Sid,
        head: Head,
        end_stream: bool,
        /// Where the block is cut, END_HEADERS off (the rest left to a
        /// CONTINUATION), as a fraction of 256; `None`: END_HEADERS.
        cut: Option<u8>,
        pad: Option<Pad>,
        /// A priority on the HEADERS: (depend on itself, weight).
        priority: Option<(bool, u8)>,
    },
    Continuation {
        /// `None`: the stream of the open header block.
        sid: Option<Sid>,
        end_headers: bool,
        frag: Frag,
    },
    Data {
        sid: Sid,
        body: Body,
        end_stream: bool,
        pad: Option<Pad>,
    },
    Rst {
        sid: Sid,
        code: u32,
    },
    Settings {
        ack: bool,
        values: Vec<(u16, u32)>,
    },
    Ping {
        ack: bool,
        on_stream: bool,
    },
    WindowUpdate {
        sid: Sid,
        increment: u32,
    },
    Priority {
        sid: Sid,
        on_itself: bool,
        weight: u8,
    },
    GoAway {
        last: u32,
        code: u32,
        on_stream: bool,
    },
    Unknown {
        kind: u8,
        flags: u8,
        sid: Sid,
        len: u8,
    },
    WrongLength {
        kind: Fixed,
        sid: Sid,
        len: u8,
    },
    Random(Vec<u8>),
    /// A write boundary, then a pause of this many milliseconds.
    Pause(u8),
}

#[derive(Debug, Clone)]
enum Opening {
    /// The preface and a SETTINGS frame with these values.
    Proper(Vec<(u16, u32)>),
    /// The preface and no SETTINGS.
    NoSettings,
    /// The preface with one byte changed (at, to).
    Corrupt(u8, u8),
    /// No preface at all.
    Missing,
}

#[derive(Debug, Clone, Copy)]
enum Ending {
    /// Keep the connection open: read, then PING.
    Keep,
    /// Shut our sending side down: the server must close.
    HalfClose,
    /// Drop the connection without reading.
    Drop,
}

#[derive(Debug, Clone)]
enum Case {
    Frames {
        opening: Opening,
        ops: Vec<Op>,
        /// Writes of at most this many bytes.
        chunk: Option<u8>,
        ending: Ending,
    },
    /// Bytes, and nothing else.
    Bytes(Vec<u8>),
}

// ---- Strategies ----

fn sid() -> impl Strategy<Value = Sid> {
    prop_oneof![
        10 => (0u8..4).prop_map(Sid::Recent),
        5 => Just(Sid::Fresh),
        1 => Just(Sid::Zero),
        1 => (0u8..4).prop_map(Sid::Even),
        1 => (0u8..4).prop_map(Sid::Idle),
        1 => any::<u32>().prop_map(Sid::Raw),
    ]
}

fn path_kind() -> impl Strategy<Value = PathKind> {
    prop_oneof![
        6 => Just(PathKind::Square),
        6 => Just(PathKind::Sum),
        2 => Just(PathKind::Sleep),
        1 => Just(PathKind::CountTo),
        1 => Just(PathKind::Fail),
        1 => Just(PathKind::NoMethod),
        1 => Just(PathKind::NoService),
        1 => Just(PathKind::Root),
        1 => Just(PathKind::NoSlash),
        1 => Just(PathKind::Empty),
    ]
}

fn field_mut() -> impl Strategy<Value = FieldMut> {
    prop_oneof![
        2 => prop::sample::select(vec!["1S", "0S", "100m", "-1S", "1.5S", "S", "99999999H"])
            .prop_map(FieldMut::Timeout),
        2 => prop::sample::select(vec!["gzip", "zstd", "identity", "br", ""]).prop_map(FieldMut::Encoding),
        1 => Just(FieldMut::AcceptEncoding),
        2 => Just(FieldMut::Metadata),
        1 => Just(FieldMut::BinaryMetadata),
        2 => prop::sample::select(vec![1000usize, 20_000, 100_000]).prop_map(FieldMut::Huge),
        1 => Just(FieldMut::Uppercase),
        1 => prop::sample::select(vec![0u8, 1, 9, 10, 13, 0x1f, 0x7f]).prop_map(FieldMut::Control),
        1 => Just(FieldMut::SpaceInName),
        1 => Just(FieldMut::LeadingSpace),
        1 => Just(FieldMut::PseudoAfterRegular),
        1 => (0u8..4).prop_map(FieldMut::Drop),
        1 => (0u8..4).prop_map(FieldMut::Duplicate),
        1 => Just(FieldMut::UnknownPseudo),
        1 => (0u8..5).prop_map(FieldMut::Connection),
        1 => Just(FieldMut::TeGzip),
        1 => prop::sample::select(vec!["text/plain", "application/grpc+proto", "application/grpcx", ""])
            .prop_map(FieldMut::ContentType),
        1 => prop::sample::select(vec!["GET", "PUT", "CONNECT", "post"]).prop_map(FieldMut::Method),
    ]
}

fn hpack() -> impl Strategy<Value = Hpack> {
    prop_oneof![
        24 => Just(Hpack::Plain),
        1 => Just(Hpack::IndexZero),
        1 => (0u16..400).prop_map(Hpack::IndexPast),
        1 => prop::sample::select(vec![0u32, 100, 4096, 4097, 1 << 20]).prop_map(Hpack::SizeAtStart),
        1 => prop::sample::select(vec![0u32, 4096, 1 << 20]).prop_map(Hpack::SizeInMiddle),
        2 => Just(Hpack::Insert),
        1 => (0u16..300).prop_map(Hpack::Truncate),
        1 => vec(any::<u8>(), 0..40).prop_map(Hpack::Random),
    ]
}

fn head() -> impl Strategy<Value = Head> {
    let kind = prop_oneof![
        9 => path_kind().prop_map(HeadKind::Request),
        1 => Just(HeadKind::Trailers),
    ];
    let fields = prop_oneof![
        3 => Just(Vec::new()),
        2 => vec(field_mut(), 1..4),
    ];
    (kind, fields, hpack()).prop_map(|(kind, fields, hpack)| Head {
        kind,
        fields,
        hpack,
    })
}

fn pad() -> impl Strategy<Value = Option<Pad>> {
    prop_oneof![
        8 => Just(None),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(len, honest)| Some(Pad { len, honest })),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    let value = prop::sample::select(vec![0u64, 1, 5, 30, 100, u64::MAX]);
    prop_oneof![
        8 => value.clone().prop_map(Body::Number),
        2 => (2u8..5, value).prop_map(|(n, v)| Body::Several(n, v)),
        2 => (
            prop::sample::select(vec![10u32, 1000, 4 << 20, (4 << 20) + 1, u32::MAX]),
            0u8..32,
        )
            .prop_map(|(declared, sent)| Body::Lying { declared, sent }),
        1 => vec(any::<u8>(), 0..24).prop_map(Body::Compressed),
        1 => (2u8..=255).prop_map(Body::BadFlag),
        1 => (0u8..7).prop_map(Body::Cut),
        1 => vec(any::<u8>(), 0..64).prop_map(Body::Raw),
        1 => Just(Body::Empty),
    ]
}

fn setting() -> impl Strategy<Value = (u16, u32)> {
    let id = prop::sample::select(vec![1u16, 2, 3, 4, 5, 6, 8, 0, 7, 0x99]);
    let value = prop::sample::select(vec![
        0u32,
        1,
        2,
        100,
        4096,
        16_383,
        16_384,
        65_535,
        1 << 20,
        (1 << 24) - 1,
        1 << 24,
        (1 << 31) - 1,
        1 << 31,
        u32::MAX,
    ]);
    (id, value)
}

fn error_code() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => 0u32..=LAST_ERROR_CODE,
        1 => any::<u32>(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let increment = prop::sample::select(vec![
        0u32,
        1,
        1000,
        65_535,
        1 << 20,
        1 << 30,
        (1 << 31) - 1,
        u32::MAX,
    ]);
    let fixed = prop::sample::select(vec![
        Fixed::RstStream,
        Fixed::Priority,
        Fixed::Ping,
        Fixed::WindowUpdate,
        Fixed::Settings,
        Fixed::GoAway,
    ]);
    prop_oneof![
        14 => (
            sid(),
            head(),
            any::<bool>(),
            prop_oneof![6 => Just(None), 1 => any::<u8>().prop_map(Some)],
            pad(),
            prop_oneof![6 => Just(None), 1 => (prop::bool::weighted(0.3), any::<u8>()).prop_map(Some)],
        )
            .prop_map(|(sid, head, end_stream, cut, pad, priority)| Op::Headers {
                sid: match sid {
                    // HEADERS open new streams more often than other frames.
                    Sid::Recent(k) if k % 2 == 0 => Sid::Fresh,
                    other => other,
                },
                head,
                end_stream,
                cut,
                pad,
                priority,
            }),
        3 => (
            prop_oneof![5 => Just(None), 1 => sid().prop_map(Some)],
            prop::bool::weighted(0.7),
            prop_oneof![
                4 => Just(Frag::Rest),
                2 => Just(Frag::Literal),
                1 => Just(Frag::Empty),
                1 => vec(any::<u8>(), 0..16).prop_map(Frag::Random),
            ],
        )
            .prop_map(|(sid, end_headers, frag)| Op::Continuation { sid, end_headers, frag }),
        14 => (sid(), body(), prop::bool::weighted(0.4), pad()).prop_map(|(sid, body, end_stream, pad)| {
            Op::Data { sid, body, end_stream, pad }
        }),
        4 => (sid(), error_code()).prop_map(|(sid, code)| Op::Rst { sid, code }),
        3 => (prop::bool::weighted(0.2), vec(setting(), 0..4))
            .prop_map(|(ack, values)| Op::Settings { ack, values }),
        2 => (any::<bool>(), prop::bool::weighted(0.1)).prop_map(|(ack, on_stream)| Op::Ping { ack, on_stream }),
        3 => (
            prop_oneof![1 => Just(Sid::Zero), 3 => sid()],
            increment,
        )
            .prop_map(|(sid, increment)| Op::WindowUpdate { sid, increment }),
        2 => (sid(), prop::bool::weighted(0.2), any::<u8>())
            .prop_map(|(sid, on_itself, weight)| Op::Priority { sid, on_itself, weight }),
        1 => (any::<u32>(), error_code(), prop::bool::weighted(0.1))
            .prop_map(|(last, code, on_stream)| Op::GoAway { last, code, on_stream }),
        2 => (0x0au8..=0xff, any::<u8>(), sid(), 0u8..64)
            .prop_map(|(kind, flags, sid, len)| Op::Unknown { kind, flags, sid, len }),
        2 => (fixed, sid(), 0u8..16).prop_map(|(kind, sid, len)| Op::WrongLength { kind, sid, len }),
        1 => vec(any::<u8>(), 1..48).prop_map(Op::Random),
        2 => (0u8..20).prop_map(Op::Pause),
    ]
}

fn opening() -> impl Strategy<Value = Opening> {
    prop_oneof![
        40 => prop_oneof![
            3 => Just(Vec::new()),
            1 => vec(setting(), 1..4),
        ]
        .prop_map(Opening::Proper),
        2 => Just(Opening::NoSettings),
        2 => (0u8..24, any::<u8>()).prop_map(|(at, to)| Opening::Corrupt(at, to)),
        1 => Just(Opening::Missing),
    ]
}

// Frames that are valid, or at most stream errors, so that a sequence of
// them reaches deep states (many streams in every state, flow control,
// the HPACK table) instead of ending at its first connection error.

fn valid_field_mut() -> impl Strategy<Value = FieldMut> {
    prop_oneof![
        3 => prop::sample::select(vec!["1S", "0S", "100m", "-1S", "S"]).prop_map(FieldMut::Timeout),
        2 => prop::sample::select(vec!["gzip", "zstd", "identity", "br"]).prop_map(FieldMut::Encoding),
        1 => Just(FieldMut::AcceptEncoding),
        2 => Just(FieldMut::Metadata),
        1 => Just(FieldMut::BinaryMetadata),
        1 => Just(FieldMut::Huge(1000)),
        1 => prop::sample::select(vec!["text/plain", "application/grpc+proto"]).prop_map(FieldMut::ContentType),
        1 => prop::sample::select(vec!["GET", "PUT"]).prop_map(FieldMut::Method),
        // Malformed requests: stream errors.
        1 => Just(FieldMut::PseudoAfterRegular),
        1 => (0u8..4).prop_map(FieldMut::Drop),
        1 => (0u8..4).prop_map(FieldMut::Duplicate),
        1 => Just(FieldMut::UnknownPseudo),
        1 => (0u8..5).prop_map(FieldMut::Connection),
        1 => Just(FieldMut::TeGzip),
        1 => Just(FieldMut::LeadingSpace),
    ]
}

fn valid_head() -> impl Strategy<Value = Head> {
    let fields = prop_oneof![
        3 => Just(Vec::new()),
        1 => vec(valid_field_mut(), 1..3),
    ];
    let hpack = prop_oneof![
        8 => Just(Hpack::Plain),
        2 => Just(Hpack::Insert),
        1 => prop::sample::select(vec![0u32, 100, 4096]).prop_map(Hpack::SizeAtStart),
    ];
    (path_kind(), fields, hpack).prop_map(|(path, fields, hpack)| Head {
        kind: HeadKind::Request(path),
        fields,
        hpack,
    })
}

fn valid_setting() -> impl Strategy<Value = (u16, u32)> {
    prop_oneof![
        (
            Just(SETTINGS_HEADER_TABLE_SIZE),
            prop::sample::select(vec![0u32, 100, 4096, 1 << 16])
        ),
        (Just(SETTINGS_ENABLE_PUSH), 0u32..2),
        (
            Just(SETTINGS_MAX_CONCURRENT_STREAMS),
            prop::sample::select(vec![0u32, 1, 100, u32::MAX])
        ),
        (
            Just(SETTINGS_INITIAL_WINDOW_SIZE),
            prop::sample::select(vec![0u32, 1, 65_535, 1 << 20, (1 << 31) - 1])
        ),
        (
            Just(SETTINGS_MAX_FRAME_SIZE),
            prop::sample::select(vec![16_384u32, 1 << 20, (1 << 24) - 1])
        ),
        (
            Just(SETTINGS_MAX_HEADER_LIST_SIZE),
            prop::sample::select(vec![0u32, 100, 1 << 20])
        ),
        (Just(0x99u16), any::<u32>()),
    ]
}

/// One valid step: a frame, or a HEADERS cut in two and its CONTINUATION.
fn valid_step() -> impl Strategy<Value = Vec<Op>> {
    let recent = (0u8..4).prop_map(Sid::Live);
    let good_pad = prop_oneof![
        6 => Just(None),
        1 => any::<u8>().prop_map(|len| Some(Pad { len, honest: true })),
    ];
    prop_oneof![
        8 => (valid_head(), any::<bool>(), prop_oneof![5 => Just(None), 1 => any::<u8>().prop_map(Some)], good_pad.clone())
            .prop_map(|(head, end_stream, cut, pad)| {
                let mut ops = vec![Op::Headers {
                    sid: Sid::Fresh,
                    head,
                    end_stream,
                    cut,
                    pad,
                    priority: None,
                }];
                if cut.is_some() {
                    ops.push(Op::Continuation { sid: None, end_headers: true, frag: Frag::Rest });
                }
                ops
            }),
        1 => recent.clone().prop_map(|sid| vec![Op::Headers {
            sid,
            head: Head { kind: HeadKind::Trailers, fields: Vec::new(), hpack: Hpack::Plain },
            end_stream: true,
            cut: None,
            pad: None,
            priority: None,
        }]),
        10 => (recent.clone(), body(), prop::bool::weighted(0.4), good_pad)
            .prop_map(|(sid, body, end_stream, pad)| vec![Op::Data { sid, body, end_stream, pad }]),
        2 => (recent.clone(), 0u32..=LAST_ERROR_CODE).prop_map(|(sid, code)| vec![Op::Rst { sid, code }]),
        2 => vec(valid_setting(), 0..3).prop_map(|values| vec![Op::Settings { ack: false, values }]),
        2 => any::<bool>().prop_map(|ack| vec![Op::Ping { ack, on_stream: false }]),
        2 => (
            prop_oneof![Just(Sid::Zero), recent.clone()],
            prop::sample::select(vec![1u32, 1000, 65_535, 1 << 20]),
        )
            .prop_map(|(sid, increment)| vec![Op::WindowUpdate { sid, increment }]),
        // A WINDOW_UPDATE of 0 on a stream: a stream error.
        1 => recent.clone().prop_map(|sid| vec![Op::WindowUpdate { sid, increment: 0 }]),
        2 => (prop_oneof![recent.clone(), Just(Sid::Fresh), (0u8..4).prop_map(Sid::Idle)], prop::bool::weighted(0.2), any::<u8>())
            .prop_map(|(sid, on_itself, weight)| vec![Op::Priority { sid, on_itself, weight }]),
        1 => (0x0au8..=0xff, any::<u8>(), sid(), 0u8..64)
            .prop_map(|(kind, flags, sid, len)| vec![Op::Unknown { kind, flags, sid, len }]),
        1 => (0u8..20).prop_map(|ms| vec![Op::Pause(ms)]),
    ]
}

/// Valid steps, with now and then a few frames of any kind among them.
fn mostly_valid_ops() -> impl Strategy<Value = Vec<Op>> {
    let hostile = prop_oneof![
        2 => Just(None),
        1 => (any::<prop::sample::Index>(), vec(op(), 1..3)).prop_map(Some),
    ];
    (vec(valid_step(), 0..24), hostile).prop_map(|(steps, hostile)| {
        let mut ops: Vec<Op> = steps.into_iter().flatten().collect();
        if let Some((at, bad)) = hostile {
            let at = at.index(ops.len() + 1);
            ops.splice(at..at, bad);
        }
        ops.truncate(40);
        ops
    })
}

fn case() -> impl Strategy<Value = Case> {
    let ending = prop_oneof![
        16 => Just(Ending::Keep),
        3 => Just(Ending::HalfClose),
        1 => Just(Ending::Drop),
    ];
    let chunk = prop_oneof![
        8 => Just(None),
        1 => (1u8..=64).prop_map(Some),
    ];
    let ops = prop_oneof![
        4 => mostly_valid_ops(),
        1 => vec(op(), 0..=40),
    ];
    prop_oneof![
        30 => (opening(), ops, chunk, ending).prop_map(|(opening, ops, chunk, ending)| {
            Case::Frames { opening, ops, chunk, ending }
        }),
        1 => vec(any::<u8>(), 0..256).prop_map(Case::Bytes),
    ]
}

// ---- What a case may make the server do ----

/// An h2 0.4 behaviour that RFC 9113 would not have: GOAWAY
/// PROTOCOL_ERROR where the RFC asks for a stream error. Each is accepted
/// by name, only where it applies, and counted in the run's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Gap {
    /// A header field h2's HPACK decoder cannot turn into a typed header
    /// (uppercase or invalid name, control character, unknown
    /// pseudo-header): RFC 9113 sections 8.2.1 and 8.3 call the request
    /// malformed, a stream error. Pinned in main.rs (`invalid_fields`).
    InvalidField,
    /// DATA or HEADERS on a stream the client has ended (END_STREAM) or
    /// reset, while h2 still holds it: RFC 9113 section 5.1 asks for a
    /// stream error of type STREAM_CLOSED (half-closed (remote); after
    /// RST_STREAM), at most a connection error of that type (closed).
    /// h2's `recv_data` (proto/streams/recv.rs) has a TODO saying so.
    FrameAfterEnd,
    /// A PRIORITY frame not of 5 bytes: RFC 9113 section 6.3 asks for a
    /// stream error of type FRAME_SIZE_ERROR (h2's framed_read ends the
    /// connection).
    PriorityLength,
    /// A WINDOW_UPDATE of 0 on a stream: RFC 9113 section 6.9 asks for a
    /// stream error of type PROTOCOL_ERROR (only on the connection is it a
    /// connection error); h2's framed_read ends the connection whatever the
    /// stream.
    WindowUpdateZero,
    /// HEADERS whose block h2's decoder finds malformed (a pseudo-header
    /// field after a regular one or repeated, a connection-specific field,
    /// `te` other than `trailers`) on a stream id that is itself a
    /// connection error (even, or below one in use: RFC 9113 section
    /// 5.1.1): h2 resets that stream (RST_STREAM PROTOCOL_ERROR, on an
    /// idle stream) and goes on, as it checks the block in framed_read
    /// before the stream id. Not an error it makes worse, but not the one
    /// the RFC asks for.
    MalformedFirst,
    /// HEADERS whose priority depends on its own stream: h2 resets the
    /// stream (RST_STREAM PROTOCOL_ERROR, as RFC 9113 section 5.3.1 asks)
    /// before it decodes the block or takes up its CONTINUATIONs, so its
    /// HPACK table falls out of step with the client's (section 4.3 says
    /// every block is decoded) and later blocks decode to other fields, or
    /// fail. Pinned (ignored) by
    /// `a_reset_header_block_still_updates_the_hpack_table`. After it the
    /// case expects nothing more of the server.
    PrioritySkipsBlock,
    /// A header block split over CONTINUATION frames, malformed (as
    /// `MalformedFirst` says) in a fragment before its last: if that
    /// fragment ends where a field ends, h2 drops the block there without
    /// resetting the stream, and the next CONTINUATION ends the connection
    /// (GOAWAY PROTOCOL_ERROR, last stream 0: valid calls after it are not
    /// served); if it ends inside a field, the malformation is missed and
    /// the request goes on. RFC 9113 section 8.1.1: a stream error. Pinned
    /// (ignored) by `a_malformed_field_in_a_split_block_resets_only_its_stream`.
    /// After it the case expects nothing more of the server.
    MalformedSplitBlock,
}

/// What RFC 9113 lets the server do about one frame: at most a stream
/// error (the default), or a connection error (with one of `codes`, or
/// any if `any`), or it must end the connection (`must_end`); and the
/// known h2 gaps that apply.
#[derive(Debug, Clone, Default)]
struct Allow {
    codes: Vec<u32>,
    any: bool,
    /// Any code: h2's differ from the RFC's in places, as
    /// `malformed_and_truncated_frames` in main.rs pins.
    must_end: Option<&'static str>,
    gaps: Vec<Gap>,
}

impl Allow {
    fn fine() -> Self {
        Self::default()
    }

    fn codes(codes: &[u32]) -> Self {
        Self {
            codes: codes.to_vec(),
            ..Self::default()
        }
    }

    fn any() -> Self {
        Self {
            any: true,
            ..Self::default()
        }
    }

    fn must_end(why: &'static str) -> Self {
        Self {
            must_end: Some(why),
            ..Self::default()
        }
    }

    fn gap(gap: Gap) -> Self {
        Self {
            gaps: vec![gap],
            ..Self::default()
        }
    }

    /// Both apply to one frame: what either allows (and a connection error
    /// such as one in HPACK cannot be put off by a stream error).
    fn and(mut self, other: Allow) -> Allow {
        self.codes.extend(other.codes);
        self.any |= other.any;
        self.must_end = self.must_end.or(other.must_end);
        self.gaps.extend(other.gaps);
        self
    }
}

/// What the whole case lets the server do.
#[derive(Debug, Default)]
struct Expect {
    /// GOAWAY codes some frame allowed.
    codes: BTreeSet<u32>,
    /// Some frame allowed any GOAWAY.
    any: bool,
    /// The first frame after which the connection must end: (op, why).
    must_end: Option<(usize, &'static str)>,
    /// Known gaps some frame may run into.
    gaps: BTreeSet<Gap>,
    /// We sent a GOAWAY: the server may close when it is done.
    client_goaway: bool,
    /// Past this, what we sent cannot be known to be framed as we meant
    /// (random bytes): nothing more is expected.
    stopped: bool,
    /// Random bytes were sent: stream ids of the replies are not checked.
    random: bool,
}

impl Expect {
    fn note(&mut self, at: usize, allow: Allow) {
        if self.stopped {
            return;
        }
        self.codes.extend(allow.codes);
        self.any |= allow.any;
        self.gaps.extend(allow.gaps);
        if let Some(why) = allow.must_end {
            self.any = true;
            self.must_end = Some((at, why));
            // Whatever follows is after the connection's end.
            self.stopped = true;
        }
    }

    /// Whether a GOAWAY with `code` is one the case allows: Ok(None) if
    /// RFC 9113 does, Ok(Some(gaps)) if only known gaps of h2 do.
    fn goaway(&self, code: u32) -> Result<Option<Vec<Gap>>, ()> {
        if self.any
            || self.codes.contains(&code)
            || (code == NO_ERROR && (self.client_goaway || self.must_end.is_some()))
        {
            Ok(None)
        } else if code == PROTOCOL_ERROR && !self.gaps.is_empty() {
            Ok(Some(self.gaps.iter().copied().collect()))
        } else {
            Err(())
        }
    }

    /// Whether the server may close the connection (without GOAWAY).
    fn allows_close(&self) -> bool {
        self.any || !self.codes.is_empty() || !self.gaps.is_empty() || self.client_goaway
    }
}

// ---- Encoding a case, stream states tracked ----

#[derive(Debug, Clone, Copy, PartialEq)]
enum St {
    /// We opened it and have not ended it.
    Open,
    /// We sent END_STREAM.
    Ended,
    /// We sent RST_STREAM.
    Reset,
}

/// A header block that HEADERS opened and CONTINUATION must go on with.
struct Pending {
    stream: u32,
    /// What the HEADERS left out of its block.
    rest: Vec<u8>,
    /// What the block as a whole allows, so far.
    allow: Allow,
    /// The bytes so far end where a field ends.
    aligned: bool,
    continuations: usize,
}

/// The bytes of a case, cut into writes, and what it lets the server do.
struct Plan {
    /// Each write, and the pause after it.
    writes: Vec<(Vec<u8>, Duration)>,
    expect: Expect,
    /// The streams we opened with HEADERS.
    opened: BTreeSet<u32>,
    /// Every stream id a frame named.
    referenced: BTreeSet<u32>,
    /// Streams a PRIORITY on itself named: the server resets them, even
    /// ones (a stream error on an idle stream).
    tainted: BTreeSet<u32>,
    /// A header block is still open when the case ends.
    pending_at_end: bool,
    /// The largest SETTINGS_MAX_FRAME_SIZE we sent (16384 by default).
    max_frame: u32,
    /// The largest SETTINGS_HEADER_TABLE_SIZE we sent (4096 by default).
    table_size: u32,
    /// SETTINGS ACKs the case sent itself.
    acks: usize,
    ending: Ending,
    chunk: Option<usize>,
}

struct Enc {
    next: u32,
    highest: u32,
    opened: Vec<u32>,
    /// Every stream id a frame named.
    referenced: BTreeSet<u32>,
    /// Streams the server may have reset on its own (a PRIORITY that
    /// depends on itself): what frames on them allow is not known.
    tainted: BTreeSet<u32>,
    /// The highest idle stream such a PRIORITY named.
    priority_reset: u32,
    /// A header block the server may not have decoded (`PrioritySkipsBlock`).
    desync: bool,
    /// The dynamic table's size, as our size updates set it.
    table_max: usize,
    streams: BTreeMap<u32, St>,
    pending: Option<Pending>,
    /// Fields inserted into the server's dynamic table.
    inserted: usize,
    data_sent: u64,
    stream_data: BTreeMap<u32, u64>,
    conn_increments: u64,
    stream_increments: BTreeMap<u32, u64>,
    resets: usize,
    acks: usize,
    max_frame: u32,
    table_size: u32,
    expect: Expect,
    writes: Vec<(Vec<u8>, Duration)>,
    cur: Vec<u8>,
    /// The last stream id of the client's latest GOAWAY.
    goaway_last: Option<u32>,
}

impl Enc {
    fn new() -> Self {
        Self {
            next: 1,
            highest: 0,
            opened: Vec::new(),
            referenced: BTreeSet::new(),
            tainted: BTreeSet::new(),
            priority_reset: 0,
            desync: false,
            table_max: 4096,
            streams: BTreeMap::new(),
            pending: None,
            inserted: 0,
            data_sent: 0,
            stream_data: BTreeMap::new(),
            conn_increments: 0,
            stream_increments: BTreeMap::new(),
            resets: 0,
            acks: 0,
            max_frame: MAX_FRAME as u32,
            table_size: 4096,
            expect: Expect::default(),
            writes: Vec::new(),
            cur: Vec::new(),
            goaway_last: None,
        }
    }

    fn resolve(&self, sid: Sid) -> u32 {
        match sid {
            Sid::Fresh => self.next,
            Sid::Recent(k) => match self.opened.len() {
                0 => self.next,
                n => self.opened[n - 1 - usize::from(k) % n],
            },
            Sid::Zero => 0,
            Sid::Even(k) => 2 * (u32::from(k) + 1),
            Sid::Idle(k) => self.next + 2 * (u32::from(k) + 1),
            Sid::Raw(n) => n & 0x7fff_ffff,
            Sid::Live(k) => self.resolve(Sid::Recent(k)),
        }
    }

    /// `sid` resolved, and remembered as a stream the case named.
    fn id(&mut self, sid: Sid) -> u32 {
        let id = self.resolve(sid);
        self.referenced.insert(id);
        id
    }

    fn idle(&self, id: u32) -> bool {
        id != 0 && (id % 2 == 0 || id > self.highest)
    }

    /// The state of stream `id` for a frame other than HEADERS and
    /// PRIORITY: `Err` if the frame is a connection error there (stream 0
    /// or an idle stream, RFC 9113 section 5.1), `Ok(None)` for a closed
    /// stream that was never opened (below the highest opened).
    fn state(&self, id: u32) -> Result<Option<St>, Allow> {
        // A stream that PRIORITY on itself made h2 reset, or an idle one
        // below it, which h2 then takes for closed (RFC 9113 has no answer
        // for a stream error on an idle stream).
        if self.tainted.contains(&id) || (id > self.highest && id < self.priority_reset) {
            return Err(Allow::any());
        }
        if id == 0 {
            return Err(Allow::must_end("a stream frame on stream 0"));
        }
        if self.idle(id) {
            return Err(Allow::must_end("a frame on an idle stream"));
        }
        Ok(self.streams.get(&id).copied())
    }

    /// Anything but CONTINUATION inside a header block is a connection
    /// error (section 6.10); the block is then gone.
    fn interrupts(&mut self) -> Allow {
        match self.pending.take() {
            Some(_) => Allow::must_end("a frame inside a header block"),
            None => Allow::fine(),
        }
    }

    fn emit(&mut self, bytes: &[u8]) {
        self.cur.extend_from_slice(bytes);
    }

    fn flush(&mut self, pause: Duration) {
        let bytes = std::mem::take(&mut self.cur);
        if !bytes.is_empty() || pause > Duration::ZERO {
            self.writes.push((bytes, pause));
        }
    }

    fn settings(&mut self, ack: bool, values: &[(u16, u32)]) -> Allow {
        let mut allow = self.interrupts();
        if ack {
            self.acks += 1;
            // One ACK answers the server's SETTINGS; more are unsolicited,
            // which h2 takes for a connection error.
            if self.acks > 1 {
                allow = allow.and(Allow::codes(&[PROTOCOL_ERROR]));
            }
            let mut payload = Vec::new();
            for (id, value) in values {
                payload.extend_from_slice(&id.to_be_bytes());
                payload.extend_from_slice(&value.to_be_bytes());
            }
            if !payload.is_empty() {
                allow = allow.and(Allow::must_end("SETTINGS ACK with a payload"));
            }
            self.emit(&frame(SETTINGS, ACK, 0, &payload));
            return allow;
        }
        for &(id, value) in values {
            let v = u64::from(value);
            allow = allow.and(match id {
                SETTINGS_ENABLE_PUSH if value > 1 => Allow::must_end("ENABLE_PUSH > 1"),
                SETTINGS_INITIAL_WINDOW_SIZE if v > MAX_WINDOW => {
                    Allow::must_end("INITIAL_WINDOW_SIZE > 2^31-1")
                }
                SETTINGS_INITIAL_WINDOW_SIZE => {
                    // A stream's window past 2^31-1 by the change: a
                    // connection error (section 6.9.2), unless the server
                    // is done with the stream or has sent enough on it.
                    let most = self.stream_increments.values().max().copied().unwrap_or(0);
                    if v + most > MAX_WINDOW {
                        Allow::codes(&[FLOW_CONTROL_ERROR])
                    } else {
                        Allow::fine()
                    }
                }
                SETTINGS_MAX_FRAME_SIZE if !(16_384..1 << 24).contains(&value) => {
                    Allow::must_end("MAX_FRAME_SIZE out of range")
                }
                SETTINGS_MAX_FRAME_SIZE => {
                    self.max_frame = self.max_frame.max(value);
                    Allow::fine()
                }
                SETTINGS_HEADER_TABLE_SIZE => {
                    self.table_size = self.table_size.max(value);
                    Allow::fine()
                }
                // A server's setting (RFC 8441), from a client.
                SETTINGS_ENABLE_CONNECT_PROTOCOL => Allow::codes(&[PROTOCOL_ERROR]),
                _ => Allow::fine(),
            });
        }
        self.emit(&settings(values));
        allow
    }

    fn op(&mut self, at: usize, op: &Op) {
        let live = match op {
            Op::Data { sid, .. }
            | Op::Rst { sid, .. }
            | Op::WindowUpdate { sid, .. }
            | Op::Priority { sid, .. }
            | Op::Headers { sid, .. } => matches!(sid, Sid::Live(_)),
            _ => false,
        };
        if live && self.opened.is_empty() {
            return;
        }
        let allow = match op {
            Op::Headers {
                sid,
                head,
                end_stream,
                cut,
                pad,
                priority,
            } => self.headers(*sid, head, *end_stream, *cut, *pad, *priority),
            Op::Continuation {
                sid,
                end_headers,
                frag,
            } => self.continuation(*sid, *end_headers, frag),
            Op::Data {
                sid,
                body,
                end_stream,
                pad,
            } => {
                let mut allow = self.interrupts();
                let id = self.id(*sid);
                allow = allow.and(match self.state(id) {
                    Err(error) => error,
                    Ok(Some(St::Open)) => Allow::fine(),
                    // Half-closed (remote), or closed if the server is
                    // done: a stream error of type STREAM_CLOSED, or a
                    // connection error of that type.
                    Ok(Some(St::Ended | St::Reset)) => {
                        Allow::codes(&[STREAM_CLOSED]).and(Allow::gap(Gap::FrameAfterEnd))
                    }
                    Ok(None) => Allow::codes(&[STREAM_CLOSED]),
                });
                let payload = body_bytes(body);
                let (flags, payload) = padded(payload, *pad, &mut allow);
                let flow = payload.len() as u64;
                self.data_sent += flow;
                let on_stream = self.stream_data.entry(id).or_default();
                *on_stream += flow;
                if self.data_sent > INITIAL_WINDOW || *on_stream > INITIAL_WINDOW {
                    allow = allow.and(Allow::codes(&[FLOW_CONTROL_ERROR]));
                }
                if *end_stream && self.streams.get(&id) == Some(&St::Open) {
                    self.streams.insert(id, St::Ended);
                }
                let end = if *end_stream { END_STREAM } else { 0 };
                self.emit(&frame(DATA, flags | end, id, &payload));
                allow
            }
            Op::Rst { sid, code } => {
                let mut allow = self.interrupts();
                let id = self.id(*sid);
                allow = allow.and(match self.state(id) {
                    Err(error) => error,
                    // RST_STREAM may follow END_STREAM.
                    Ok(Some(St::Open | St::Ended)) => Allow::fine(),
                    // On a closed stream: at most a connection error of
                    // type STREAM_CLOSED.
                    Ok(Some(St::Reset) | None) => Allow::codes(&[STREAM_CLOSED]),
                });
                if matches!(self.streams.get(&id), Some(St::Open) | Some(St::Ended)) {
                    self.streams.insert(id, St::Reset);
                    self.resets += 1;
                    // Streams reset before the server took them up: h2
                    // ends the connection after 20 (rapid reset).
                    if self.resets >= 10 {
                        allow = allow.and(Allow::codes(&[ENHANCE_YOUR_CALM]));
                    }
                }
                self.emit(&rst_stream(id, *code));
                allow
            }
            Op::Settings { ack, values } => self.settings(*ack, values),
            Op::Ping { ack, on_stream } => {
                let mut allow = self.interrupts();
                if *on_stream {
                    allow = allow.and(Allow::must_end("PING on a stream"));
                }
                let stream = if *on_stream { 1 } else { 0 };
                let flags = if *ack { ACK } else { 0 };
                self.emit(&frame(PING, flags, stream, &(at as u64).to_be_bytes()));
                allow
            }
            Op::WindowUpdate { sid, increment } => {
                let mut allow = self.interrupts();
                let id = self.id(*sid);
                let inc = u64::from(*increment & 0x7fff_ffff);
                if id == 0 {
                    self.conn_increments += inc;
                    allow = allow.and(if inc == 0 {
                        Allow::must_end("WINDOW_UPDATE of 0 on the connection")
                    } else if self.conn_increments > MAX_WINDOW {
                        Allow::must_end("the connection window past 2^31-1")
                    } else if self.conn_increments + INITIAL_WINDOW > MAX_WINDOW {
                        // Depends on what the server has sent since.
                        Allow::codes(&[FLOW_CONTROL_ERROR])
                    } else {
                        Allow::fine()
                    });
                } else {
                    allow = allow.and(match self.state(id) {
                        Err(error) => error,
                        // Allowed in half-closed (remote) and for a while
                        // after the server's END_STREAM (section 5.1).
                        Ok(Some(St::Open | St::Ended)) => Allow::fine(),
                        Ok(Some(St::Reset) | None) => Allow::codes(&[STREAM_CLOSED]),
                    });
                    if inc == 0 {
                        allow = allow.and(Allow::gap(Gap::WindowUpdateZero));
                    }
                    *self.stream_increments.entry(id).or_default() += inc;
                    // A stream's window past 2^31-1, or an increment of 0,
                    // are stream errors (section 6.9): Fine.
                }
                self.emit(&window_update(id, *increment));
                allow
            }
            Op::Priority {
                sid,
                on_itself,
                weight,
            } => {
                let mut allow = self.interrupts();
                let id = self.id(*sid);
                if id == 0 {
                    allow = allow.and(Allow::must_end("PRIORITY on stream 0"));
                }
                // Depending on itself is a stream error (section 5.3.1):
                // the server resets the stream, idle or not.
                if *on_itself && id != 0 {
                    self.tainted.insert(id);
                    if self.idle(id) {
                        self.priority_reset = self.priority_reset.max(id);
                    }
                }
                let dep = if *on_itself {
                    id
                } else {
                    id.wrapping_add(2) & 0x7fff_ffff
                };
                let mut payload = dep.to_be_bytes().to_vec();
                payload.push(*weight);
                self.emit(&frame(PRIORITY, 0, id, &payload));
                allow
            }
            Op::GoAway {
                last,
                code,
                on_stream,
            } => {
                let mut allow = self.interrupts();
                if *on_stream {
                    allow = allow.and(Allow::must_end("GOAWAY on a stream"));
                }
                self.expect.client_goaway = true;
                // "Endpoints MUST NOT increase the value they send in the
                // last stream identifier" (RFC 9113 section 6.8): a GOAWAY
                // that does is the client's protocol error, and h2 ends the
                // connection for it.
                let id = last & 0x7fff_ffff;
                if self.goaway_last.is_some_and(|before| id > before) {
                    allow = allow.and(Allow::codes(&[PROTOCOL_ERROR]));
                }
                self.goaway_last = Some(self.goaway_last.map_or(id, |before| before.min(id)));
                let mut payload = (last & 0x7fff_ffff).to_be_bytes().to_vec();
                payload.extend_from_slice(&code.to_be_bytes());
                payload.extend_from_slice(b"fuzz");
                self.emit(&frame(GOAWAY, 0, u32::from(*on_stream), &payload));
                allow
            }
            Op::Unknown {
                kind,
                flags,
                sid,
                len,
            } => {
                // Unknown types are ignored (section 4.1), but not inside
                // a header block.
                let allow = self.interrupts();
                let id = self.id(*sid);
                self.emit(&frame(*kind, *flags, id, &vec![0xa5; usize::from(*len)]));
                allow
            }
            Op::WrongLength { kind, sid, len } => {
                let mut allow = self.interrupts();
                let id = self.id(*sid);
                let (code, right, stream) = match kind {
                    Fixed::RstStream => (RST_STREAM, 4, id),
                    Fixed::Priority => (PRIORITY, 5, id),
                    Fixed::Ping => (PING, 8, 0),
                    Fixed::WindowUpdate => (WINDOW_UPDATE, 4, id),
                    Fixed::Settings => (SETTINGS, 6, 0),
                    Fixed::GoAway => (GOAWAY, 8, 0),
                };
                let mut n = usize::from(*len);
                let wrong = match kind {
                    Fixed::Settings => n % 6 != 0,
                    Fixed::GoAway => n < 8,
                    _ => n != right,
                };
                if !wrong {
                    // Make it wrong.
                    n = match kind {
                        Fixed::GoAway => n % 8,
                        _ => n + 1,
                    };
                }
                allow = allow.and(match kind {
                    Fixed::RstStream => Allow::must_end("RST_STREAM not of 4 bytes"),
                    Fixed::Ping => Allow::must_end("PING not of 8 bytes"),
                    Fixed::WindowUpdate => Allow::must_end("WINDOW_UPDATE not of 4 bytes"),
                    Fixed::Settings => Allow::must_end("SETTINGS not a multiple of 6 bytes"),
                    Fixed::GoAway => Allow::must_end("GOAWAY shorter than 8 bytes"),
                    Fixed::Priority if stream == 0 => Allow::must_end("PRIORITY on stream 0"),
                    // RFC 9113 section 6.3: a stream error of type
                    // FRAME_SIZE_ERROR. h2 0.4 ends the connection
                    // (GOAWAY PROTOCOL_ERROR) instead, accepted here.
                    Fixed::Priority => Allow::gap(Gap::PriorityLength),
                });
                self.emit(&frame(code, 0, stream, &vec![0; n]));
                allow
            }
            Op::Random(bytes) => {
                self.emit(bytes);
                // Anything may follow, framed or not.
                self.expect.note(at, Allow::any());
                self.expect.stopped = true;
                self.expect.random = true;
                Allow::fine()
            }
            Op::Pause(ms) => {
                self.flush(Duration::from_millis(u64::from(*ms)));
                Allow::fine()
            }
        };
        self.expect.note(at, allow);
        if self.desync {
            // The server's HPACK table may differ from ours from here on.
            self.expect.stopped = true;
        }
    }

    fn headers(
        &mut self,
        sid: Sid,
        head: &Head,
        end_stream: bool,
        cut: Option<u8>,
        pad: Option<Pad>,
        priority: Option<(bool, u8)>,
    ) -> Allow {
        let mut allow = self.interrupts();
        let id = self.id(sid);
        let (block, block_allow, boundaries, malformed) = self.block(head);
        if self.tainted.contains(&id) || (id > self.highest && id < self.priority_reset) {
            // h2 took the stream (or one above it) for used when it reset
            // it for a PRIORITY on itself, idle as it was: RFC 9113 has no
            // answer for a stream error on an idle stream.
            allow = allow.and(Allow::any());
        }
        let mut by_state = if id == 0 {
            Allow::must_end("HEADERS on stream 0")
        } else if id % 2 == 0 {
            Allow::must_end("HEADERS on an even stream")
        } else if id > self.highest {
            self.highest = id;
            self.next = self.next.max(id.saturating_add(2));
            self.opened.push(id);
            let state = if end_stream { St::Ended } else { St::Open };
            self.streams.insert(id, state);
            Allow::fine()
        } else {
            match self.streams.get(&id) {
                // Trailers (without END_STREAM, or with pseudo-header
                // fields, a malformed request: a stream error).
                Some(St::Open) => {
                    if end_stream {
                        self.streams.insert(id, St::Ended);
                    }
                    Allow::fine()
                }
                // Half-closed (remote) or closed: STREAM_CLOSED.
                Some(St::Ended) | Some(St::Reset) => {
                    Allow::codes(&[STREAM_CLOSED]).and(Allow::gap(Gap::FrameAfterEnd))
                }
                // A new stream below the highest (section 5.1.1).
                None => Allow::must_end("HEADERS on a stream id below one in use"),
            }
        };
        if malformed && id != 0 && by_state.must_end.is_some() && cut.is_none() {
            by_state = Allow::any().and(Allow::gap(Gap::MalformedFirst));
        }
        allow = allow.and(by_state);
        if malformed && cut.is_some() {
            allow = allow
                .and(Allow::any())
                .and(Allow::gap(Gap::MalformedSplitBlock));
            self.desync = true;
        }
        let mut flags = if end_stream { END_STREAM } else { 0 };
        let (first, rest) = match cut {
            None => {
                flags |= END_HEADERS;
                (block, Vec::new())
            }
            Some(fraction) => {
                let at = block.len() * usize::from(fraction) / 256;
                let (a, b) = block.split_at(at);
                (a.to_vec(), b.to_vec())
            }
        };
        let mut payload = Vec::new();
        let self_dependent = priority.is_some_and(|(on_itself, _)| on_itself) && id != 0;
        if let Some((on_itself, weight)) = priority {
            flags |= PRIORITY_FLAG;
            // Depending on itself: a stream error (section 5.3.1).
            let dep = if on_itself { id } else { 0 };
            payload.extend_from_slice(&dep.to_be_bytes());
            payload.push(weight);
        }
        payload.extend_from_slice(&first);
        let (pad_flags, payload) = padded(payload, pad, &mut allow);
        flags |= pad_flags;
        if self_dependent {
            // h2 resets the stream before it looks at the rest of the frame
            // (padding, stream id, block): only a frame inside a header
            // block is still an error of the connection.
            let inside = allow.must_end == Some("a frame inside a header block");
            allow = Allow::any().and(Allow::gap(Gap::PrioritySkipsBlock));
            if inside {
                allow = allow.and(Allow::must_end("a frame inside a header block"));
            }
            self.desync = true;
        }
        if payload.len() > MAX_FRAME {
            // A block past one frame: sent as HEADERS and CONTINUATIONs,
            // as `headers` does; the h2 limit on them applies.
            allow = allow.and(Allow::codes(&[ENHANCE_YOUR_CALM, COMPRESSION_ERROR]));
            let mut pieces = payload.chunks(MAX_FRAME).peekable();
            let mut kind = HEADERS;
            let end_headers = flags & END_HEADERS;
            while let Some(piece) = pieces.next() {
                let last = pieces.peek().is_none();
                let f = if kind == HEADERS {
                    flags & !END_HEADERS
                } else {
                    0
                };
                let f = if last { f | end_headers } else { f };
                self.emit(&frame(kind, f, id, piece));
                kind = CONTINUATION;
            }
        } else {
            self.emit(&frame(HEADERS, flags, id, &payload));
        }
        let block_allow = if self_dependent {
            Allow::fine()
        } else {
            block_allow
        };
        if flags & END_HEADERS == 0 {
            let aligned = boundaries.contains(&first.len());
            self.pending = Some(Pending {
                stream: id,
                rest,
                allow: block_allow,
                aligned,
                continuations: 0,
            });
            allow
        } else {
            allow.and(block_allow)
        }
    }

    fn continuation(&mut self, sid: Option<Sid>, end_headers: bool, frag: &Frag) -> Allow {
        let id = match (sid, &self.pending) {
            (Some(sid), _) => self.id(sid),
            (None, Some(p)) => p.stream,
            (None, None) => self.id(Sid::Recent(0)),
        };
        let flags = if end_headers { END_HEADERS } else { 0 };
        let Some(mut pending) = self.pending.take() else {
            let bytes = frag_bytes(frag, &mut Vec::new());
            self.emit(&frame(CONTINUATION, flags, id, &bytes));
            return Allow::must_end("CONTINUATION without a header block");
        };
        let bytes = frag_bytes(frag, &mut pending.rest);
        self.emit(&frame(CONTINUATION, flags, id, &bytes));
        if id != pending.stream {
            return Allow::must_end("CONTINUATION on another stream");
        }
        pending.continuations += 1;
        let mut allow = pending.allow.clone();
        match frag {
            Frag::Rest => pending.aligned = pending.rest.is_empty(),
            Frag::Empty => {}
            // A field after a cut inside another is garbage to HPACK.
            Frag::Literal if pending.aligned => {}
            Frag::Literal | Frag::Random(_) => allow = allow.and(Allow::any()),
        }
        // h2 allows a few CONTINUATIONs a block (5 at 16 KiB frames).
        if pending.continuations > 4 {
            allow = allow.and(Allow::codes(&[ENHANCE_YOUR_CALM]));
        }
        if end_headers {
            if !pending.aligned {
                allow = allow.and(Allow::must_end("a header block ends inside a field"));
            }
            allow
        } else {
            pending.allow = allow;
            self.pending = Some(pending);
            Allow::fine()
        }
    }

    /// The encoded block of `head`, what it allows, where its fields end
    /// (byte offsets), and whether h2's decoder finds it malformed.
    fn block(&mut self, head: &Head) -> (Vec<u8>, Allow, Vec<usize>, bool) {
        let fields = head_fields(head);
        let mut allow = classify_fields(&fields);
        let mut malformed = decoder_malformed(&fields) && !matches!(head.hpack, Hpack::Random(_));
        let mut out = Vec::new();
        let mut boundaries = vec![0];
        if let Hpack::SizeAtStart(size) = head.hpack {
            hpack_integer(0x20, 5, size as usize, &mut out);
            boundaries.push(out.len());
            self.table_max = size as usize;
            if size > 4096 {
                // Past the server's SETTINGS_HEADER_TABLE_SIZE.
                allow = allow.and(Allow::must_end("a table size past the server's"));
            }
        }
        // HPACK-level changes go after the pseudo-header fields (a field
        // before one would make the block malformed, another matter).
        let middle = fields
            .iter()
            .position(|(n, _)| n.first() != Some(&b':'))
            .unwrap_or(fields.len());
        for (i, (name, value)) in fields.iter().enumerate() {
            if i == middle {
                match head.hpack {
                    Hpack::SizeInMiddle(size) => {
                        hpack_integer(0x20, 5, size as usize, &mut out);
                        self.table_max = size as usize;
                        // RFC 7541 section 4.2: only at the start.
                        allow = allow.and(Allow::any());
                    }
                    Hpack::IndexZero => {
                        out.push(0x80);
                        allow = allow.and(Allow::must_end("HPACK index 0"));
                    }
                    Hpack::IndexPast(past) => {
                        let index = 62 + self.inserted + usize::from(past);
                        hpack_integer(0x80, 7, index, &mut out);
                        allow = allow.and(if past > 0 {
                            Allow::must_end("an HPACK index past the table")
                        } else {
                            // The last inserted may have been evicted.
                            Allow::any()
                        });
                    }
                    Hpack::Insert => {
                        let value = format!("v{}", self.inserted);
                        out.push(0x40);
                        hpack_string(b"x-inserted", &mut out);
                        hpack_string(value.as_bytes(), &mut out);
                        self.inserted += 1;
                        if 32 + 10 + value.len() > self.table_max {
                            // Too big for the table: it empties it, and
                            // index 62 is then past its end.
                            allow =
                                allow.and(Allow::must_end("an HPACK index into an empty table"));
                        }
                        boundaries.push(out.len());
                        // Refer to it (index 62, the newest).
                        hpack_integer(0x80, 7, 62, &mut out);
                    }
                    _ => {}
                }
                boundaries.push(out.len());
            }
            out.push(0x00);
            hpack_string(name, &mut out);
            hpack_string(value, &mut out);
            boundaries.push(out.len());
        }
        if middle == fields.len() && !matches!(head.hpack, Hpack::Plain) {
            // No regular field: what goes in the middle is left out (the
            // block is malformed anyway).
            allow = allow.and(Allow::any());
        }
        if let Hpack::Random(bytes) = &head.hpack {
            // A block of random bytes: it may even decode.
            out = bytes.clone();
            boundaries = vec![0];
            allow = Allow::any();
        }
        if let Hpack::Truncate(n) = head.hpack {
            let n = usize::from(n).min(out.len());
            out.truncate(n);
            boundaries.retain(|b| *b <= n);
            if !boundaries.contains(&n) {
                allow = allow.and(Allow::must_end("a header block ends inside a field"));
            }
            // Fields left out: at most a malformed request.
        }
        if out.len() > 15 * KIB {
            allow = allow.and(Allow::codes(&[ENHANCE_YOUR_CALM, COMPRESSION_ERROR]));
        }
        malformed &= allow.must_end.is_none();
        (out, allow, boundaries, malformed)
    }
}

type Field = (Vec<u8>, Vec<u8>);

fn head_fields(head: &Head) -> Vec<Field> {
    let f = |n: &str, v: &[u8]| (n.as_bytes().to_vec(), v.to_vec());
    let mut fields = match head.kind {
        HeadKind::Trailers => vec![f("x-trailer", b"1")],
        HeadKind::Request(path) => {
            let path: &str = match path {
                PathKind::Square => SQUARE,
                PathKind::Sum => SUM,
                PathKind::Sleep => SLEEP,
                PathKind::CountTo => "/svc.v1.Calculator/CountTo",
                PathKind::Fail => "/svc.v1.Calculator/Fail",
                PathKind::NoMethod => "/svc.v1.Calculator/Nope",
                PathKind::NoService => "/nope.v1.Nothing/Square",
                PathKind::Root => "/",
                PathKind::NoSlash => "svc.v1.Calculator/Square",
                PathKind::Empty => "",
            };
            vec![
                f(":method", b"POST"),
                f(":scheme", b"http"),
                f(":path", path.as_bytes()),
                f(":authority", b"localhost"),
                f("content-type", b"application/grpc"),
                f("te", b"trailers"),
            ]
        }
    };
    let pseudo = |fields: &[Field], k: u8| {
        let names = [":method", ":scheme", ":path", ":authority"];
        let name = names[usize::from(k) % 4].as_bytes();
        fields.iter().position(|(n, _)| n == name)
    };
    for m in &head.fields {
        match m {
            FieldMut::Timeout(v) => fields.push(f("grpc-timeout", v.as_bytes())),
            FieldMut::Encoding(v) => fields.push(f("grpc-encoding", v.as_bytes())),
            FieldMut::AcceptEncoding => fields.push(f("grpc-accept-encoding", b"gzip,zstd")),
            FieldMut::Metadata => fields.push(f("x-meta", b"value")),
            FieldMut::BinaryMetadata => fields.push(f("x-meta-bin", b"AAEC/w")),
            FieldMut::Huge(n) => fields.push(f("x-huge", &vec![b'a'; *n])),
            FieldMut::Uppercase => fields.push(f("X-Upper", b"1")),
            FieldMut::Control(c) => fields.push(f("x-ctl", &[b'a', *c, b'b'])),
            FieldMut::SpaceInName => fields.push(f("x bad", b"1")),
            FieldMut::LeadingSpace => fields.push(f("x-space", b" a ")),
            FieldMut::PseudoAfterRegular => fields.push(f(":authority", b"other")),
            FieldMut::Drop(k) => {
                if let Some(i) = pseudo(&fields, *k) {
                    fields.remove(i);
                }
            }
            FieldMut::Duplicate(k) => {
                if let Some(i) = pseudo(&fields, *k) {
                    let dup = fields[i].clone();
                    fields.insert(i, dup);
                }
            }
            FieldMut::UnknownPseudo => fields.insert(0, f(":foo", b"bar")),
            FieldMut::Connection(k) => {
                let (n, v): (&str, &[u8]) = match k {
                    0 => ("connection", b"keep-alive"),
                    1 => ("keep-alive", b"timeout=5"),
                    2 => ("proxy-connection", b"keep-alive"),
                    3 => ("transfer-encoding", b"chunked"),
                    _ => ("upgrade", b"h2c"),
                };
                fields.push(f(n, v));
            }
            FieldMut::TeGzip => fields.push(f("te", b"gzip")),
            FieldMut::ContentType(v) => {
                fields.retain(|(n, _)| n != b"content-type");
                fields.push(f("content-type", v.as_bytes()));
            }
            FieldMut::Method(v) => {
                if let Some(i) = pseudo(&fields, 0) {
                    fields[i].1 = v.as_bytes().to_vec();
                }
            }
        }
    }
    fields
}

/// What header fields allow, as RFC 9113 section 8 and h2 see them.
fn classify_fields(fields: &[Field]) -> Allow {
    let token =
        |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b);
    // The pseudo-header fields h2's decoder knows (hpack/header.rs).
    let known = [
        ":method",
        ":scheme",
        ":path",
        ":authority",
        ":protocol",
        ":status",
    ];
    let invalid = fields.iter().any(|(n, v)| {
        let name = n.strip_prefix(b":").unwrap_or(n);
        name.is_empty()
            || !name.iter().all(|&b| token(b))
            || v.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
            || (n.first() == Some(&b':') && !known.iter().any(|k| k.as_bytes() == &n[..]))
    });
    let decoded: usize = fields.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
    let mut allow = Allow::fine();
    if invalid {
        // RFC 9113 sections 8.2.1 and 8.3: a malformed request, a stream
        // error. h2 0.4's HPACK decoder ends the connection (GOAWAY
        // PROTOCOL_ERROR) instead, as it turns each field into a typed
        // header while decoding and gives up on the block at the first it
        // cannot: the pinned gap of `invalid_fields` in main.rs (uppercase
        // names, control characters), which an unknown pseudo-header
        // field (`:foo`, InvalidPseudoheader there) falls into too. Accepted
        // here as that and nothing else.
        allow = allow.and(Allow::gap(Gap::InvalidField));
    }
    if decoded > 16 * KIB {
        // Past SETTINGS_MAX_HEADER_LIST_SIZE: HTTP 431 and a reset, or
        // GOAWAY ENHANCE_YOUR_CALM far past it (README, "Limits").
        allow = allow.and(Allow::codes(&[ENHANCE_YOUR_CALM, COMPRESSION_ERROR]));
    }
    // Missing, repeated, unknown or late pseudo-header fields, fields of
    // HTTP/1 connections, `te` other than `trailers`: malformed, a stream
    // error (section 8.1.1), so Fine.
    allow
}

/// What h2's decoder (frame/headers.rs, `load_hpack`) takes for a
/// malformed block: a pseudo-header field after a regular one, or twice;
/// a connection-specific field; `te` other than `trailers`.
fn decoder_malformed(fields: &[Field]) -> bool {
    let mut regular = false;
    let mut seen = BTreeSet::new();
    for (name, value) in fields {
        if name.first() == Some(&b':') {
            if regular || !seen.insert(name.clone()) {
                return true;
            }
        } else if [
            &b"connection"[..],
            b"transfer-encoding",
            b"upgrade",
            b"keep-alive",
            b"proxy-connection",
        ]
        .contains(&&name[..])
            || (name == b"te" && value != b"trailers")
        {
            return true;
        } else {
            regular = true;
        }
    }
    false
}

fn body_bytes(body: &Body) -> Vec<u8> {
    match body {
        Body::Number(v) => number_message(*v),
        Body::Several(n, v) => (0..*n).flat_map(|_| number_message(*v)).collect(),
        Body::Lying { declared, sent } => {
            grpc_message(false, *declared, &vec![8; usize::from(*sent)])
        }
        Body::Compressed(garbage) => grpc_message(true, garbage.len() as u32, garbage),
        Body::BadFlag(flag) => {
            let mut m = number_message(5);
            m[0] = *flag;
            m
        }
        Body::Cut(n) => {
            let mut m = number_message(300);
            m.truncate(usize::from(*n));
            m
        }
        Body::Raw(bytes) => bytes.clone(),
        Body::Empty => Vec::new(),
    }
}

/// The payload with padding (and the PADDED flag), if any.
fn padded(payload: Vec<u8>, pad: Option<Pad>, allow: &mut Allow) -> (u8, Vec<u8>) {
    let Some(pad) = pad else {
        return (0, payload);
    };
    let mut out = vec![pad.len];
    out.extend_from_slice(&payload);
    if pad.honest {
        out.extend(std::iter::repeat_n(0, usize::from(pad.len)));
    } else if usize::from(pad.len) > out.len() - 1 {
        // Sections 6.1 and 6.2: padding as long as the frame's payload
        // (the pad length field counted) or longer.
        *allow = allow
            .clone()
            .and(Allow::must_end("padding longer than the frame"));
    } else {
        // The pad length eats into the payload: what is left is garbage
        // to HPACK, or a shorter DATA.
        *allow = allow.clone().and(Allow::any());
    }
    (PADDED, out)
}

fn frag_bytes(frag: &Frag, rest: &mut Vec<u8>) -> Vec<u8> {
    match frag {
        Frag::Rest => std::mem::take(rest),
        Frag::Literal => {
            let mut out = vec![0x00];
            hpack_string(b"x-continued", &mut out);
            hpack_string(b"1", &mut out);
            out
        }
        Frag::Empty => Vec::new(),
        Frag::Random(bytes) => bytes.clone(),
    }
}

fn plan(case: &Case) -> Plan {
    let mut enc = Enc::new();
    let (opening, ops, chunk, ending) = match case {
        Case::Bytes(bytes) => {
            enc.emit(bytes);
            enc.flush(Duration::ZERO);
            enc.expect.any = true;
            enc.expect.stopped = true;
            enc.expect.random = true;
            return finish_plan(enc, false, Ending::Keep, None);
        }
        Case::Frames {
            opening,
            ops,
            chunk,
            ending,
        } => (opening, ops, chunk, *ending),
    };
    match opening {
        Opening::Proper(values) => {
            enc.emit(PREFACE);
            let allow = enc.settings(false, values);
            enc.expect.note(0, allow);
        }
        Opening::NoSettings => {
            enc.emit(PREFACE);
            // The preface includes a SETTINGS frame (section 3.4): h2 may
            // take another frame first for a bad preface.
            enc.expect.note(0, Allow::codes(&[PROTOCOL_ERROR]));
        }
        Opening::Corrupt(at, to) => {
            let mut preface = PREFACE.to_vec();
            let at = usize::from(*at) % preface.len();
            preface[at] = if preface[at] == *to { to ^ 0x20 } else { *to };
            enc.emit(&preface);
            enc.expect.note(0, Allow::must_end("a bad preface"));
        }
        Opening::Missing => enc.expect.note(0, Allow::must_end("no preface")),
    }
    for (i, op) in ops.iter().enumerate() {
        enc.op(i + 1, op);
    }
    enc.flush(Duration::ZERO);
    let pending = enc.pending.is_some();
    if pending {
        // What comes next (the PING after the case, or EOF) is inside a
        // header block: a connection error.
        enc.expect.note(
            ops.len() + 1,
            Allow::must_end("the frame after the case, inside a header block"),
        );
    }
    finish_plan(enc, pending, ending, chunk.map(usize::from))
}

fn finish_plan(enc: Enc, pending_at_end: bool, ending: Ending, chunk: Option<usize>) -> Plan {
    Plan {
        writes: enc.writes,
        expect: enc.expect,
        opened: enc.opened.iter().copied().collect(),
        referenced: enc.referenced,
        tainted: enc.tainted,
        pending_at_end,
        max_frame: enc.max_frame,
        table_size: enc.table_size,
        acks: enc.acks,
        ending,
        chunk,
    }
}

// ---- Checking what the server sent ----

/// The server's side of one stream, as its frames show it.
#[derive(Default)]
struct ServerStream {
    /// Header blocks received.
    blocks: usize,
    status: Option<String>,
    ended: bool,
    reset: bool,
    /// DATA bytes of a gRPC response not yet framed into messages.
    data: Vec<u8>,
}

/// The frames the server sent, checked as they come.
struct Check {
    decoder: fluke_hpack::Decoder<'static>,
    max_frame: usize,
    /// (stream, END_STREAM, bytes) of a header block being continued.
    block: Option<(u32, bool, Vec<u8>)>,
    streams: BTreeMap<u32, ServerStream>,
    /// Streams the client opened, and those it named in any frame, or
    /// `None` if unknown (random bytes).
    opened: Option<(BTreeSet<u32>, BTreeSet<u32>)>,
    goaways: Vec<(u32, u32)>,
    settings: usize,
    /// PING ACK payloads.
    pongs: Vec<[u8; 8]>,
    frames: usize,
    /// The first frames, shown when a check fails.
    log: Vec<String>,
    /// RST_STREAM on an even stream is the known gap `MalformedFirst`.
    even_resets: bool,
    /// Streams the case sent a PRIORITY on itself for: the server may
    /// reset them, whatever their id.
    tainted: BTreeSet<u32>,
    /// The server sent one.
    reset_even: bool,
}

impl Check {
    fn new(plan: &Plan) -> Self {
        let mut decoder = fluke_hpack::Decoder::new();
        decoder.set_max_allowed_table_size(plan.table_size.max(4096) as usize);
        Self {
            decoder,
            max_frame: plan.max_frame as usize,
            block: None,
            streams: BTreeMap::new(),
            opened: (!plan.expect.random).then(|| (plan.opened.clone(), plan.referenced.clone())),
            goaways: Vec::new(),
            settings: 0,
            pongs: Vec::new(),
            frames: 0,
            log: Vec::new(),
            even_resets: plan.expect.gaps.contains(&Gap::MalformedFirst)
                || plan.expect.gaps.contains(&Gap::PrioritySkipsBlock),
            tainted: plan.tainted.clone(),
            reset_even: false,
        }
    }

    /// Takes the complete frames at the front of `buf`; an error names
    /// what is wrong with the server's bytes.
    fn take(&mut self, buf: &mut Vec<u8>) -> Result<(), String> {
        let mut at = 0;
        while buf.len() - at >= 9 {
            let b = &buf[at..];
            let len = u32::from_be_bytes([0, b[0], b[1], b[2]]) as usize;
            if len > self.max_frame {
                return Err(format!(
                    "a frame of {len} bytes, past our SETTINGS_MAX_FRAME_SIZE {}: {:02x?}",
                    self.max_frame,
                    &b[..9]
                ));
            }
            if b.len() < 9 + len {
                break;
            }
            let f = Frame {
                kind: b[3],
                flags: b[4],
                stream: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
                payload: b[9..9 + len].to_vec(),
            };
            at += 9 + len;
            self.frames += 1;
            if self.log.len() < 64 {
                let head = &f.payload[..f.payload.len().min(12)];
                self.log.push(format!(
                    "type {:#x} flags {:#x} stream {} {head:02x?}{}",
                    f.kind,
                    f.flags,
                    f.stream,
                    if f.payload.len() > 12 { "..." } else { "" }
                ));
            }
            if let Err(e) = self.frame(&f) {
                return Err(format!(
                    "frame {} ({f:?}): {e}\nthe server's frames: {:#?}",
                    self.frames, self.log
                ));
            }
        }
        buf.drain(..at);
        Ok(())
    }

    fn frame(&mut self, f: &Frame) -> Result<(), String> {
        let len = f.payload.len();
        if let Some((stream, _, _)) = &self.block {
            if f.kind != CONTINUATION || f.stream != *stream {
                return Err("a frame inside the server's header block".into());
            }
        }
        let on_zero = matches!(f.kind, SETTINGS | PING | GOAWAY);
        let on_stream = matches!(f.kind, DATA | HEADERS | RST_STREAM | CONTINUATION);
        if on_zero && f.stream != 0 {
            return Err("a connection frame on a stream".into());
        }
        if on_stream && f.stream == 0 {
            return Err("a stream frame on stream 0".into());
        }
        if on_stream && f.stream % 2 == 0 {
            if !(f.kind == RST_STREAM && (self.even_resets || self.tainted.contains(&f.stream))) {
                return Err("a frame on an even stream, which nothing opened".into());
            }
            self.reset_even = true;
        }
        if on_stream {
            if let Some((opened, named)) = &self.opened {
                if f.kind == RST_STREAM && !named.contains(&f.stream) {
                    return Err("RST_STREAM on a stream the client never named".into());
                }
                if f.kind != RST_STREAM && !opened.contains(&f.stream) {
                    return Err("a frame on a stream the client never opened".into());
                }
            }
            if f.kind != RST_STREAM {
                if let Some(&(last, _)) = self.goaways.last() {
                    if f.stream > last {
                        return Err(format!("a frame past GOAWAY's last stream id {last}"));
                    }
                }
            }
            let s = self.streams.entry(f.stream).or_default();
            // Another RST_STREAM may answer a frame the client sent after
            // (STREAM_CLOSED, section 5.1); nothing else may come.
            if s.reset && f.kind != RST_STREAM {
                return Err("a frame on a stream the server reset".into());
            }
            if s.ended && f.kind != RST_STREAM {
                return Err("a frame after the server's END_STREAM".into());
            }
        }
        match f.kind {
            DATA => {
                let payload = unpad(f)?;
                let s = self.streams.entry(f.stream).or_default();
                if s.blocks == 0 {
                    return Err("DATA before the response headers".into());
                }
                if s.status.as_deref() == Some("200") && s.data.len() < MIB {
                    s.data.extend_from_slice(payload);
                }
                if f.flags & END_STREAM != 0 {
                    s.ended = true;
                    if s.status.as_deref() == Some("200") {
                        return Err("a gRPC response ended without trailers".into());
                    }
                }
            }
            HEADERS => {
                let mut p = unpad(f)?;
                if f.flags & PRIORITY_FLAG != 0 {
                    p = p.get(5..).ok_or("HEADERS too short for its priority")?;
                }
                self.block = Some((f.stream, f.flags & END_STREAM != 0, p.to_vec()));
                if f.flags & END_HEADERS != 0 {
                    self.end_block()?;
                }
            }
            CONTINUATION => {
                let Some((_, _, block)) = &mut self.block else {
                    return Err("CONTINUATION without a header block".into());
                };
                block.extend_from_slice(&f.payload);
                if f.flags & END_HEADERS != 0 {
                    self.end_block()?;
                }
            }
            RST_STREAM => {
                if len != 4 {
                    return Err("RST_STREAM not of 4 bytes".into());
                }
                let code = f.error_code().ok_or("RST_STREAM without a code")?;
                if code > LAST_ERROR_CODE {
                    return Err(format!("RST_STREAM with error code {code:#x}"));
                }
                self.streams.entry(f.stream).or_default().reset = true;
            }
            SETTINGS => {
                if f.flags & ACK != 0 {
                    if len != 0 {
                        return Err("SETTINGS ACK with a payload".into());
                    }
                } else {
                    if len % 6 != 0 {
                        return Err("SETTINGS not a multiple of 6 bytes".into());
                    }
                    for s in f.payload.chunks_exact(6) {
                        let id = u16::from_be_bytes([s[0], s[1]]);
                        let v = u32::from_be_bytes([s[2], s[3], s[4], s[5]]);
                        let bad = match id {
                            SETTINGS_ENABLE_PUSH => v > 1,
                            SETTINGS_INITIAL_WINDOW_SIZE => u64::from(v) > MAX_WINDOW,
                            SETTINGS_MAX_FRAME_SIZE => !(16_384..1 << 24).contains(&v),
                            _ => false,
                        };
                        if bad {
                            return Err(format!("SETTINGS {id:#x} = {v}"));
                        }
                    }
                    self.settings += 1;
                }
            }
            PING => {
                if len != 8 {
                    return Err("PING not of 8 bytes".into());
                }
                if f.flags & ACK != 0 {
                    let mut p = [0; 8];
                    p.copy_from_slice(&f.payload);
                    self.pongs.push(p);
                }
            }
            GOAWAY => {
                if len < 8 {
                    return Err("GOAWAY shorter than 8 bytes".into());
                }
                let p = &f.payload;
                let last = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & 0x7fff_ffff;
                let code = f.error_code().ok_or("GOAWAY without a code")?;
                if code > LAST_ERROR_CODE {
                    return Err(format!(
                        "GOAWAY with error code {code:#x}, not one of RFC 9113's"
                    ));
                }
                if let Some(&(before, _)) = self.goaways.last() {
                    if last > before {
                        return Err(format!("GOAWAY's last stream id grew, {before} to {last}"));
                    }
                }
                self.goaways.push((last, code));
            }
            WINDOW_UPDATE => {
                if len != 4 {
                    return Err("WINDOW_UPDATE not of 4 bytes".into());
                }
                let p = &f.payload;
                let inc = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & 0x7fff_ffff;
                if inc == 0 {
                    return Err("WINDOW_UPDATE of 0".into());
                }
                if f.stream != 0 && self.streams.get(&f.stream).is_some_and(|s| s.reset) {
                    return Err("WINDOW_UPDATE on a stream the server reset".into());
                }
            }
            PRIORITY | PUSH_PROMISE => {
                return Err("a frame type the server never sends".into());
            }
            other => return Err(format!("an unknown frame type {other:#x}")),
        }
        Ok(())
    }

    fn end_block(&mut self) -> Result<(), String> {
        let (stream, end, block) = self.block.take().ok_or("no header block")?;
        let fields = self
            .decoder
            .decode(&block)
            .map_err(|e| format!("the server's header block is not HPACK: {e:?}"))?;
        let s = self.streams.entry(stream).or_default();
        let first = s.blocks == 0;
        s.blocks += 1;
        let mut regular = false;
        let mut grpc_status = None;
        let mut content_type = None;
        for (name, value) in &fields {
            let shown = String::from_utf8_lossy(name);
            let pseudo = name.first() == Some(&b':');
            let plain = name.strip_prefix(b":").unwrap_or(name);
            if plain.is_empty()
                || !plain.iter().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(b)
                })
            {
                return Err(format!("an invalid field name {shown:?}"));
            }
            if value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n') {
                return Err(format!("field {shown:?} has NUL, CR or LF in its value"));
            }
            if pseudo {
                if !first || regular || name != b":status" {
                    return Err(format!("pseudo-header {shown:?} out of place"));
                }
                if value.len() != 3 || !value.iter().all(u8::is_ascii_digit) {
                    return Err(format!(":status {:?}", String::from_utf8_lossy(value)));
                }
                s.status = Some(String::from_utf8_lossy(value).into_owned());
            } else {
                regular = true;
            }
            if name == b"grpc-status" {
                let code = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<u32>().ok())
                    .filter(|c| *c <= 16);
                if code.is_none() {
                    return Err(format!("grpc-status {:?}", String::from_utf8_lossy(value)));
                }
                grpc_status = code;
            }
            if name == b"content-type" {
                content_type = Some(value.clone());
            }
        }
        if first && s.status.is_none() {
            return Err("response headers without :status".into());
        }
        // gRPC's responses (HTTP 200) say they are.
        if first && s.status.as_deref() == Some("200") {
            match &content_type {
                Some(t) if t.starts_with(b"application/grpc") => {}
                other => {
                    return Err(format!(
                        "a gRPC response of content-type {:?}",
                        other.as_ref().map(|t| String::from_utf8_lossy(t))
                    ));
                }
            }
        }
        if !first && !end {
            return Err("trailers without END_STREAM".into());
        }
        if end {
            s.ended = true;
            if s.status.as_deref() == Some("200") {
                if grpc_status.is_none() {
                    return Err("a gRPC response ended without grpc-status".into());
                }
                // Whole length-prefixed messages, and nothing else.
                let mut rest = &s.data[..];
                while !rest.is_empty() {
                    if rest.len() < 5 || rest[0] > 1 {
                        return Err(format!("a gRPC message prefix {rest:02x?}"));
                    }
                    let n = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
                    rest = rest
                        .get(5 + n..)
                        .ok_or("a gRPC message cut short by the trailers")?;
                }
            }
        }
        Ok(())
    }
}

/// A DATA or HEADERS payload without its padding.
fn unpad(f: &Frame) -> Result<&[u8], String> {
    if f.flags & PADDED == 0 {
        return Ok(&f.payload);
    }
    let pad = usize::from(*f.payload.first().ok_or("PADDED without a pad length")?);
    f.payload
        .get(1..f.payload.len().saturating_sub(pad).max(1))
        .filter(|_| pad < f.payload.len())
        .ok_or_else(|| "padding longer than the frame".into())
}

// ---- Running a case ----

/// How a case went, for the report.
#[derive(Default, Debug)]
pub struct Outcome {
    pub frames: usize,
    pub goaway: Option<u32>,
    pub closed: bool,
    pub answered_ping: bool,
    /// The known gaps its GOAWAY is put down to (one of them).
    gaps: Vec<Gap>,
}

/// The connection and the bytes the server sent on it.
struct Wire {
    tcp: TcpStream,
    buf: Vec<u8>,
    check: Check,
    /// The server closed (EOF).
    eof: bool,
    /// The connection broke (reset): bytes may have been lost.
    broken: bool,
    /// The server stopped reading what we sent.
    stalled: bool,
    last_byte: Instant,
}

impl Wire {
    fn ended(&self) -> bool {
        self.eof || self.broken || !self.check.goaways.is_empty()
    }

    /// Writes all of `bytes`, reading as it goes (so neither side stalls
    /// on full buffers). A write that fails marks the connection broken;
    /// one that cannot finish within `PATIENCE` marks it stalled.
    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut at = 0;
        while at < bytes.len() && !self.broken && !self.stalled {
            let (mut rd, mut wr) = self.tcp.split();
            let mut chunk = [0u8; 16 * 1024];
            tokio::select! {
                w = wr.write(&bytes[at..]) => match w {
                    Ok(n) => at += n,
                    Err(_) => self.broken = true,
                },
                r = rd.read(&mut chunk), if !self.eof => match r {
                    Ok(0) => self.eof = true,
                    Ok(n) => {
                        self.buf.extend_from_slice(&chunk[..n]);
                        self.last_byte = Instant::now();
                        self.check.take(&mut self.buf)?;
                    }
                    Err(_) => self.broken = true,
                },
                () = tokio::time::sleep_until(deadline) => self.stalled = true,
            }
        }
        Ok(())
    }

    /// Reads until `done`, the end of the connection, or `until`.
    async fn read_until(
        &mut self,
        until: tokio::time::Instant,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<(), String> {
        while !done(self) && !self.eof && !self.broken {
            let mut chunk = [0u8; 16 * 1024];
            match tokio::time::timeout_at(until, self.tcp.read(&mut chunk)).await {
                Err(_) => break,
                Ok(Ok(0)) => self.eof = true,
                Ok(Ok(n)) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.last_byte = Instant::now();
                    self.check.take(&mut self.buf)?;
                }
                Ok(Err(_)) => self.broken = true,
            }
        }
        Ok(())
    }
}

/// Payloads of the PINGs after cases (the cases' own PINGs carry small
/// numbers).
static PINGS: AtomicU64 = AtomicU64::new(1 << 32);

/// Sends one case on a new connection to `addr` and checks what comes
/// back.
async fn run_case(addr: SocketAddr, plan: &Plan) -> Result<Outcome, String> {
    let mut log = Vec::new();
    run_logged(addr, plan, &mut log).await.map_err(|e| {
        if e.contains("the server's frames") {
            e
        } else {
            format!("{e}\nthe server's frames: {log:#?}")
        }
    })
}

async fn run_logged(
    addr: SocketAddr,
    plan: &Plan,
    log: &mut Vec<String>,
) -> Result<Outcome, String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).ok();
    let mut wire = Wire {
        tcp,
        buf: Vec::new(),
        check: Check::new(plan),
        eof: false,
        broken: false,
        stalled: false,
        last_byte: Instant::now(),
    };
    let expect = &plan.expect;
    for (bytes, pause) in &plan.writes {
        // Small writes for the first bytes (frames cut across reads), the
        // rest at once.
        let (small, rest) = match plan.chunk {
            Some(_) => bytes.split_at(bytes.len().min(4 * KIB)),
            None => (&[][..], &bytes[..]),
        };
        for piece in small.chunks(plan.chunk.unwrap_or(1)) {
            wire.send(piece).await?;
        }
        wire.send(rest).await?;
        if wire.broken || wire.stalled {
            break;
        }
        if *pause > Duration::ZERO {
            tokio::time::sleep(*pause).await;
        }
    }
    let mut outcome = Outcome::default();
    if matches!(plan.ending, Ending::Drop) {
        return Ok(outcome);
    }
    if matches!(plan.ending, Ending::HalfClose) {
        let _ = wire.tcp.shutdown().await;
    }
    // The server's answers, until it has been quiet for a while.
    let window_end = tokio::time::Instant::now() + READ_WINDOW;
    loop {
        let quiet_end = tokio::time::Instant::from_std(wire.last_byte + QUIET);
        let until = quiet_end
            .max(tokio::time::Instant::now() + QUIET)
            .min(window_end);
        let before = wire.check.frames;
        wire.read_until(until, |_| false).await?;
        if wire.eof || wire.broken || wire.check.frames == before || until >= window_end {
            break;
        }
    }
    // Acknowledge the server's SETTINGS, unless the case did (or is inside
    // a header block, where that would be its error).
    if !wire.ended() && !plan.pending_at_end && !matches!(plan.ending, Ending::HalfClose) {
        let owed = wire.check.settings.saturating_sub(plan.acks);
        for _ in 0..owed {
            wire.send(&frame(SETTINGS, ACK, 0, &[])).await?;
        }
    }
    // Still there? A PING must be answered, or the connection ended.
    let token = PINGS.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    if !wire.ended() && !matches!(plan.ending, Ending::HalfClose) {
        wire.send(&ping(token)).await?;
        wire.read_until(deadline, |w| w.ended() || w.check.pongs.contains(&token))
            .await?;
    }
    outcome.answered_ping = wire.check.pongs.contains(&token);
    if !outcome.answered_ping && !wire.eof && !wire.broken {
        // No answer: the server may be waiting for the rest of a frame.
        // Close our side; it must close too.
        let _ = wire.tcp.shutdown().await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        wire.read_until(deadline, |_| false).await?;
        if !wire.eof && !wire.broken {
            return Err(format!(
                "the connection hangs: no answer to a PING, and still open {PATIENCE:?} after \
                 our side was closed (GOAWAYs {:?})",
                wire.check.goaways
            ));
        }
    }
    if wire.eof && !wire.buf.is_empty() {
        return Err(format!(
            "the server closed the connection inside a frame: {} bytes left over: {:02x?}",
            wire.buf.len(),
            &wire.buf[..wire.buf.len().min(32)]
        ));
    }
    if let Some((_, _, block)) = &wire.check.block {
        if wire.eof {
            return Err(format!(
                "the server closed inside its header block ({} bytes)",
                block.len()
            ));
        }
    }
    log.clone_from(&wire.check.log);
    if wire.check.reset_even {
        outcome.gaps = vec![Gap::MalformedFirst];
    }
    outcome.frames = wire.check.frames;
    outcome.goaway = wire.check.goaways.first().map(|g| g.1);
    outcome.closed = wire.eof || wire.broken;

    // What the frames the case sent allow.
    for &(_, code) in &wire.check.goaways {
        match expect.goaway(code) {
            Ok(None) => {}
            Ok(Some(gaps)) => outcome.gaps = gaps,
            Err(()) => {
                return Err(format!(
                    "GOAWAY {code:#x}, a connection error, where the frames sent allow at most \
                     stream errors{}",
                    if expect.codes.is_empty() {
                        String::new()
                    } else {
                        format!(" or GOAWAY {:x?}", expect.codes)
                    }
                ));
            }
        }
    }
    if wire.stalled && !expect.stopped && !expect.allows_close() {
        return Err("the server stopped reading what a case of stream errors at most sent".into());
    }
    let half_closed = matches!(plan.ending, Ending::HalfClose);
    if let Some((at, why)) = expect.must_end {
        if outcome.answered_ping {
            return Err(format!(
                "op {at} ({why}) must end the connection (RFC 9113), and it answered a PING after it"
            ));
        }
    }
    let fine = !expect.allows_close()
        && expect.must_end.is_none()
        && !expect.stopped
        && !plan.pending_at_end;
    if fine && !half_closed && !outcome.answered_ping {
        return Err(format!(
            "the PING after a case of stream errors at most went unanswered (GOAWAYs {:?}, \
             closed {})",
            wire.check.goaways, outcome.closed
        ));
    }
    if fine && outcome.closed && !half_closed && wire.check.goaways.is_empty() {
        return Err("the server closed the connection where nothing sent allows it".into());
    }
    Ok(outcome)
}

// ---- Panics ----

static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

type Hook = dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync + 'static;

/// Counts every panic in the process (any thread: connection tasks,
/// handlers) while it lives, and passes each on to the hook before it,
/// which it puts back when dropped.
struct PanicWatch {
    before: std::sync::Arc<Hook>,
}

impl PanicWatch {
    fn install() -> Self {
        let before: std::sync::Arc<Hook> = std::panic::take_hook().into();
        let chained = before.clone();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let what = format!("{info} (thread {:?})", thread.name());
            PANICS.lock().unwrap_or_else(|p| p.into_inner()).push(what);
            chained(info);
        }));
        Self::take();
        Self { before }
    }

    /// The panics since the last call.
    fn take() -> Vec<String> {
        std::mem::take(&mut *PANICS.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Drop for PanicWatch {
    fn drop(&mut self) {
        let before = self.before.clone();
        std::panic::set_hook(Box::new(move |info| before(info)));
    }
}

// ---- The test ----

/// One call on a new connection, as `still_serves` makes, as an error
/// instead of a panic.
async fn serves(addr: SocketAddr) -> Result<(), String> {
    let channel = Channel::from_uri(format!("http://{addr}")).map_err(|e| format!("{e:?}"))?;
    let mut client = CalculatorClient::new(channel);
    let mut request = Request::new(Number {
        value: 3,
        ..Default::default()
    });
    request.set_timeout(BYSTANDER_DEADLINE);
    match client.square(request).await {
        Ok(r) if r.get_ref().value == 9 => Ok(()),
        Ok(r) => Err(format!("a fresh call got {:?}", r.get_ref())),
        Err(s) => Err(format!(
            "a fresh call failed: {:?} {}",
            s.code(),
            s.message()
        )),
    }
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

/// Tallies for the report.
#[derive(Default)]
struct Tally {
    run: usize,
    skipped: usize,
    goaway: usize,
    closed: usize,
    answered: usize,
    frames: usize,
    must_end: usize,
    /// Cases of valid frames and stream errors only.
    fine: usize,
    /// Cases ended by a GOAWAY only a known gap allows, by the gaps.
    gaps: BTreeMap<Vec<Gap>, usize>,
}

#[test]
fn fuzz_frame_sequences() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let turn = rt.block_on(serial());
    let budget = Duration::from_secs(env_number("RUST_RPC_FUZZ_SECS").unwrap_or(30));
    let seed = env_number("PROPTEST_RNG_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    });
    let mut config = Config {
        source_file: Some(file!()),
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        // About 12 s on an idle 2-core machine.
        config.cases = 512;
    }
    if std::env::var_os("PROPTEST_MAX_SHRINK_TIME").is_none() {
        config.max_shrink_time = 120_000;
    }
    if std::env::var_os("PROPTEST_MAX_SHRINK_ITERS").is_none() {
        config.max_shrink_iters = 2_000;
    }
    let cases = config.cases;
    eprintln!(
        "fuzz: {cases} cases, {budget:?} at most, PROPTEST_RNG_SEED={seed} to run these again"
    );
    // Pings are frames like any other here: with the keepalive policy on,
    // a case with four of them would end in GOAWAY too_many_pings (the
    // `lifecycle` cases check that), and none would reach the states that
    // come after.
    let target = rt.block_on(Target::with(
        Server::builder()
            .min_client_ping_interval(Duration::ZERO)
            .permit_client_pings_without_calls(true),
    ));
    let bystander = rt.block_on(Bystander::start(target.addr));
    rt.block_on(still_serves(target.addr));
    let watch = PanicWatch::install();
    let memory = Memory::start();
    let started = Instant::now();
    let failing = std::cell::Cell::new(false);
    let tally = std::cell::RefCell::new(Tally::default());
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case(), |case| {
        if started.elapsed() > budget && !failing.get() {
            tally.borrow_mut().skipped += 1;
            return Ok(());
        }
        let plan = plan(&case);
        let result = rt.block_on(async {
            let outcome = tokio::time::timeout(CASE_TIMEOUT, run_case(target.addr, &plan))
                .await
                .map_err(|_| format!("the case took past {CASE_TIMEOUT:?}"))??;
            if !target
                .wait_for(Duration::from_secs(3), |c| c.live() == 0)
                .await
            {
                return Err(format!(
                    "{} handlers still run after their connection ended",
                    target.counts.live()
                ));
            }
            serves(target.addr).await?;
            Ok(outcome)
        });
        let panics = PanicWatch::take();
        let result = match result {
            Ok(_) if !panics.is_empty() => Err(format!("panicked: {panics:#?}")),
            other => other,
        };
        match result {
            Ok(outcome) => {
                let mut t = tally.borrow_mut();
                t.run += 1;
                t.frames += outcome.frames;
                t.goaway += usize::from(outcome.goaway.is_some());
                t.closed += usize::from(outcome.closed);
                t.answered += usize::from(outcome.answered_ping);
                t.must_end += usize::from(plan.expect.must_end.is_some());
                if !outcome.gaps.is_empty() {
                    *t.gaps.entry(outcome.gaps).or_default() += 1;
                }
                t.fine += usize::from(
                    !plan.expect.allows_close()
                        && plan.expect.must_end.is_none()
                        && !plan.expect.stopped,
                );
                Ok(())
            }
            Err(e) => {
                failing.set(true);
                Err(TestCaseError::fail(e))
            }
        }
    });
    drop(watch);
    let t = tally.into_inner();
    eprintln!(
        "fuzz: {} cases run in {:.1?} ({} skipped past the budget): {} server frames, \
         {} cases ended by GOAWAY, {} by a close, {} answered the PING after them, \
         {} had a frame that must end the connection, {} only valid frames and stream errors",
        t.run,
        started.elapsed(),
        t.skipped,
        t.frames,
        t.goaway,
        t.closed,
        t.answered,
        t.must_end,
        t.fine
    );
    for (gaps, n) in &t.gaps {
        eprintln!(
            "fuzz: {n} cases ended by GOAWAY PROTOCOL_ERROR, put down to the known gap {gaps:?}"
        );
    }
    if let Err(e) = result {
        let shown = match e {
            TestError::Fail(why, case) => format!("{why}\nminimal failing case: {case:#?}"),
            TestError::Abort(why) => format!("aborted: {why}"),
        };
        panic!("fuzz failed (PROPTEST_RNG_SEED={seed}): {shown}");
    }
    rt.block_on(async {
        bystander.finish(1).await;
        still_serves(target.addr).await;
        assert!(
            target
                .wait_for(Duration::from_secs(5), |c| c.live() == 0)
                .await,
            "{} handlers still run after the fuzz",
            target.counts.live()
        );
        let live = memory.live_growth();
        eprintln!(
            "fuzz: peak heap growth {} KiB, {} KiB more held after the run",
            memory.peak_growth() / KIB,
            live / KIB as isize
        );
        assert!(
            memory.peak_growth() < PEAK_BOUND,
            "heap grew by {} KiB during the fuzz",
            memory.peak_growth() / KIB
        );
        assert!(
            live < LIVE_BOUND as isize,
            "the heap holds {} KiB more after the fuzz than before",
            live / KIB as isize
        );
        target.stop().await;
    });
    // The runtime (and whatever it still runs) is gone before the next
    // case takes its turn.
    rt.shutdown_timeout(Duration::from_secs(5));
    drop(turn);
    assert!(t.run > 0, "no case ran");
}

// ---- The checks themselves, checked ----

/// A well-behaved case: one `Square` call on stream 1.
fn square_call() -> Case {
    Case::Frames {
        opening: Opening::Proper(Vec::new()),
        ops: vec![
            Op::Headers {
                sid: Sid::Fresh,
                head: Head {
                    kind: HeadKind::Request(PathKind::Square),
                    fields: Vec::new(),
                    hpack: Hpack::Plain,
                },
                end_stream: false,
                cut: None,
                pad: None,
                priority: None,
            },
            Op::Data {
                sid: Sid::Recent(0),
                body: Body::Number(5),
                end_stream: true,
                pad: None,
            },
        ],
        chunk: None,
        ending: Ending::Keep,
    }
}

/// That call, then DATA on an idle stream: the connection must end.
fn square_then_idle_data() -> Case {
    let Case::Frames { mut ops, .. } = square_call() else {
        unreachable!("square_call is frames")
    };
    ops.push(Op::Data {
        sid: Sid::Idle(3),
        body: Body::Number(1),
        end_stream: false,
        pad: None,
    });
    Case::Frames {
        opening: Opening::Proper(Vec::new()),
        ops,
        chunk: None,
        ending: Ending::Keep,
    }
}

/// What a server might answer `square_call` with, frame by frame.
fn good_reply() -> Vec<Vec<u8>> {
    vec![
        settings(&[(SETTINGS_MAX_CONCURRENT_STREAMS, 200)]),
        frame(SETTINGS, ACK, 0, &[]),
        window_update(0, 1 << 20),
        frame(
            HEADERS,
            END_HEADERS,
            1,
            &Block::default()
                .indexed(8) // :status 200
                .literal(b"content-type", b"application/grpc")
                .0,
        ),
        frame(DATA, 0, 1, &number_message(25)),
        frame(
            HEADERS,
            END_HEADERS | END_STREAM,
            1,
            &Block::default().literal(b"grpc-status", b"0").0,
        ),
        frame(PING, ACK, 0, &[7; 8]),
        frame(GOAWAY, 0, 0, &[0, 0, 0, 1, 0, 0, 0, 0]),
    ]
}

/// What `Check` makes of `frames`: Ok if it takes them all.
fn checked(frames: &[Vec<u8>]) -> Result<(), String> {
    let mut check = Check::new(&plan(&square_call()));
    let mut bytes = frames.concat();
    check.take(&mut bytes)?;
    if bytes.is_empty() {
        Ok(())
    } else {
        Err(format!("{} bytes left", bytes.len()))
    }
}

#[tokio::test]
async fn fuzz_checker_rejects_what_a_server_must_not_send() {
    // One heap counter: even small cases take their turn.
    let _turn = serial().await;
    checked(&good_reply()).expect("a good reply passes");
    let headers = |stream, flags, block: Block| frame(HEADERS, flags, stream, &block.0);
    let status_200 = || Block::default().indexed(8);
    let grpc_200 = || status_200().literal(b"content-type", b"application/grpc");
    // (what, where: Ok(i) inserts before frame i, Err(i) replaces it,
    // the frame, what the checker must say)
    type Corruption = (&'static str, Result<usize, usize>, Vec<u8>, &'static str);
    let corruptions: Vec<Corruption> = vec![
        (
            "GOAWAY with code 0x99",
            Err(7),
            frame(GOAWAY, 0, 0, &[0, 0, 0, 1, 0, 0, 0, 0x99]),
            "not one of RFC 9113's",
        ),
        (
            "GOAWAY on a stream",
            Err(7),
            frame(GOAWAY, 0, 1, &[0, 0, 0, 1, 0, 0, 0, 0]),
            "a connection frame on a stream",
        ),
        (
            "GOAWAY growing its last id",
            Ok(7),
            frame(GOAWAY, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 0]),
            "last stream id grew",
        ),
        (
            "RST_STREAM of 3 bytes",
            Ok(6),
            frame(RST_STREAM, 0, 1, &[0, 0, 8]),
            "RST_STREAM not of 4 bytes",
        ),
        (
            "RST_STREAM with code 0x20",
            Ok(6),
            rst_stream(1, 0x20),
            "RST_STREAM with error code",
        ),
        (
            "RST_STREAM on a stream never named",
            Ok(6),
            rst_stream(9, CANCEL),
            "never named",
        ),
        (
            "an unknown frame type",
            Ok(6),
            frame(0xfe, 0, 0, &[]),
            "unknown frame type",
        ),
        (
            "PRIORITY",
            Ok(6),
            frame(PRIORITY, 0, 1, &[0, 0, 0, 0, 16]),
            "never sends",
        ),
        (
            "PING of 7 bytes",
            Err(6),
            frame(PING, ACK, 0, &[0; 7]),
            "PING not of 8 bytes",
        ),
        (
            "WINDOW_UPDATE of 0",
            Err(2),
            window_update(0, 0),
            "WINDOW_UPDATE of 0",
        ),
        (
            "SETTINGS of 5 bytes",
            Err(0),
            frame(SETTINGS, 0, 0, &[0; 5]),
            "multiple of 6",
        ),
        (
            "SETTINGS ENABLE_PUSH 2",
            Err(0),
            settings(&[(SETTINGS_ENABLE_PUSH, 2)]),
            "SETTINGS 0x2 = 2",
        ),
        (
            "SETTINGS ACK with a payload",
            Err(1),
            frame(SETTINGS, ACK, 0, &[0; 6]),
            "ACK with a payload",
        ),
        (
            "a frame past 16384 bytes",
            Err(4),
            frame(DATA, 0, 1, &[0; MAX_FRAME + 1]),
            "past our SETTINGS_MAX_FRAME_SIZE",
        ),
        (
            "HEADERS that are not HPACK",
            Err(3),
            frame(HEADERS, END_HEADERS, 1, &[0x80]),
            "not HPACK",
        ),
        (
            "HEADERS on a stream never opened",
            Err(3),
            headers(3, END_HEADERS, grpc_200()),
            "never opened",
        ),
        (
            "HEADERS on an even stream",
            Err(3),
            headers(2, END_HEADERS, grpc_200()),
            "even stream",
        ),
        (
            "HEADERS on stream 0",
            Err(3),
            headers(0, END_HEADERS, grpc_200()),
            "stream frame on stream 0",
        ),
        (
            "HEADERS without :status",
            Err(3),
            headers(1, END_HEADERS, Block::default().literal(b"x", b"1")),
            "without :status",
        ),
        (
            "an uppercase field name",
            Err(3),
            headers(1, END_HEADERS, grpc_200().literal(b"X-Up", b"1")),
            "invalid field name",
        ),
        (
            "a CR in a field value",
            Err(3),
            headers(1, END_HEADERS, grpc_200().literal(b"x", b"a\rb")),
            "NUL, CR or LF",
        ),
        (
            "a pseudo-header after a field",
            Err(3),
            headers(
                1,
                END_HEADERS,
                Block::default().literal(b"x", b"1").indexed(8),
            ),
            "out of place",
        ),
        (
            "a gRPC response of content-type text/html",
            Err(3),
            headers(
                1,
                END_HEADERS,
                status_200().literal(b"content-type", b"text/html"),
            ),
            "content-type",
        ),
        (
            "a gRPC response without content-type",
            Err(3),
            headers(1, END_HEADERS, status_200()),
            "content-type",
        ),
        (
            "a frame inside a header block",
            Err(3),
            {
                let mut b = frame(HEADERS, 0, 1, &grpc_200().0);
                b.extend(ping([0; 8]));
                b
            },
            "inside the server's header block",
        ),
        (
            "DATA before HEADERS",
            Ok(3),
            frame(DATA, 0, 1, &number_message(1)),
            "before the response headers",
        ),
        (
            "grpc-status 17",
            Err(5),
            headers(
                1,
                END_HEADERS | END_STREAM,
                Block::default().literal(b"grpc-status", b"17"),
            ),
            "grpc-status \"17\"",
        ),
        (
            "trailers without grpc-status",
            Err(5),
            headers(
                1,
                END_HEADERS | END_STREAM,
                Block::default().literal(b"x-t", b"1"),
            ),
            "without grpc-status",
        ),
        (
            "trailers without END_STREAM",
            Err(5),
            headers(
                1,
                END_HEADERS,
                Block::default().literal(b"grpc-status", b"0"),
            ),
            "without END_STREAM",
        ),
        (
            "a pseudo-header in trailers",
            Err(5),
            headers(
                1,
                END_HEADERS | END_STREAM,
                status_200().literal(b"grpc-status", b"0"),
            ),
            "out of place",
        ),
        (
            "a gRPC message cut short",
            Err(4),
            frame(DATA, 0, 1, &grpc_message(false, 9, &[8])),
            "cut short",
        ),
        (
            "a gRPC message flag 2",
            Err(4),
            frame(DATA, 0, 1, &[2, 0, 0, 0, 0]),
            "message prefix",
        ),
        (
            "a gRPC response ended by DATA",
            Err(4),
            frame(DATA, END_STREAM, 1, &number_message(1)),
            "without trailers",
        ),
        (
            "DATA after END_STREAM",
            Ok(6),
            frame(DATA, 0, 1, &number_message(1)),
            "after the server's END_STREAM",
        ),
        (
            "DATA on a stream the server reset",
            Ok(4),
            {
                let mut b = rst_stream(1, CANCEL);
                b.extend(frame(DATA, 0, 1, &number_message(1)));
                b
            },
            "a stream the server reset",
        ),
    ];
    for (what, at, bad, reason) in corruptions {
        let mut frames = good_reply();
        match at {
            Ok(i) => frames.insert(i, bad),
            Err(i) => frames[i] = bad,
        }
        let e = checked(&frames).expect_err(what);
        let first_line = e.lines().next().unwrap_or_default().to_owned();
        assert!(first_line.contains(reason), "{what}: {first_line}");
    }
    // A RST_STREAM after another on the same stream answers a frame sent
    // after the first (STREAM_CLOSED): allowed.
    let mut frames = good_reply();
    frames.insert(6, rst_stream(1, STREAM_CLOSED));
    frames.insert(6, rst_stream(1, NO_ERROR));
    checked(&frames).expect("two RST_STREAMs");
    // A frame cut short at the end is left over, not taken.
    let mut frames = good_reply();
    if let Some(f) = frames.last_mut() {
        f.truncate(12);
    }
    assert_eq!(checked(&frames), Err("12 bytes left".into()));
}

#[tokio::test]
async fn fuzz_encoder_knows_what_the_frames_allow() {
    // One heap counter: even small cases take their turn.
    let _turn = serial().await;
    let fine = plan(&square_call()).expect;
    assert!(!fine.allows_close() && fine.must_end.is_none(), "{fine:?}");
    let idle = plan(&square_then_idle_data()).expect;
    assert_eq!(
        idle.must_end,
        Some((3, "a frame on an idle stream")),
        "{idle:?}"
    );
    let gap = plan(&Case::Frames {
        opening: Opening::Proper(Vec::new()),
        ops: vec![Op::Headers {
            sid: Sid::Fresh,
            head: Head {
                kind: HeadKind::Request(PathKind::Square),
                fields: vec![FieldMut::Uppercase],
                hpack: Hpack::Plain,
            },
            end_stream: true,
            cut: None,
            pad: None,
            priority: None,
        }],
        chunk: None,
        ending: Ending::Keep,
    })
    .expect;
    assert_eq!(gap.gaps, BTreeSet::from([Gap::InvalidField]), "{gap:?}");
    assert!(
        gap.codes.is_empty() && !gap.any && gap.must_end.is_none(),
        "{gap:?}"
    );
    assert_eq!(
        gap.goaway(PROTOCOL_ERROR),
        Ok(Some(vec![Gap::InvalidField]))
    );
    assert_eq!(gap.goaway(FLOW_CONTROL_ERROR), Err(()));
}

/// A listener on loopback whose connections `serve` handles; aborted when
/// dropped.
struct Fake(tokio::task::JoinHandle<()>, SocketAddr);

impl Fake {
    async fn start<F, Fut>(serve: F) -> Self
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(serve(tcp));
            }
        });
        Self(task, addr)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads what the client sends and answers each PING, ignoring every
/// other frame (even errors); `first` is written before anything.
async fn ping_answerer(mut tcp: TcpStream, first: Vec<u8>) {
    let _ = tcp.write_all(&first).await;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut preface = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, tcp.read(&mut chunk)).await {
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if !preface && buf.len() >= PREFACE.len() {
            buf.drain(..PREFACE.len());
            preface = true;
        }
        while preface && buf.len() >= 9 {
            let len = u32::from_be_bytes([0, buf[0], buf[1], buf[2]]) as usize;
            if buf.len() < 9 + len {
                break;
            }
            if buf[3] == PING && buf[4] & ACK == 0 {
                let answer = frame(PING, ACK, 0, &buf[9..9 + len]);
                let _ = tcp.write_all(&answer).await;
            }
            buf.drain(..9 + len);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_cases_fail_against_broken_servers() {
    let _turn = serial().await;
    let fine = plan(&square_call());
    let idle = plan(&square_then_idle_data());

    // The real server: the good case passes and answers the PING, the bad
    // one gets its GOAWAY.
    let target = Target::start().await;
    let ok = run_case(target.addr, &fine).await.expect("a good call");
    assert!(ok.answered_ping && ok.goaway.is_none(), "{ok:?}");
    let ended = run_case(target.addr, &idle)
        .await
        .expect("DATA on an idle stream");
    assert_eq!(ended.goaway, Some(PROTOCOL_ERROR), "{ended:?}");
    target.stop().await;

    // A server that writes HTTP/1.1 at us.
    let http1 = Fake::start(|mut tcp: TcpStream| async move {
        let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        tokio::time::sleep(Duration::from_secs(20)).await;
    })
    .await;
    let e = run_case(http1.1, &fine).await.expect_err("HTTP/1.1 passed");
    assert!(e.contains("past our SETTINGS_MAX_FRAME_SIZE"), "{e}");

    // One that reads and never answers, nor closes.
    let silent = Fake::start(|mut tcp: TcpStream| async move {
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), tcp.read_to_end(&mut sink)).await;
        tokio::time::sleep(Duration::from_secs(20)).await;
    })
    .await;
    let e = run_case(silent.1, &fine).await.expect_err("silence passed");
    assert!(e.contains("hangs"), "{e}");

    // One that ends every connection with GOAWAY PROTOCOL_ERROR.
    let goaway = Fake::start(|tcp: TcpStream| async move {
        let mut first = settings(&[]);
        first.extend(frame(GOAWAY, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 1]));
        ping_answerer(tcp, first).await;
    })
    .await;
    let e = run_case(goaway.1, &fine)
        .await
        .expect_err("a GOAWAY passed");
    assert!(e.contains("a connection error"), "{e}");

    // One that lets every error pass and answers PINGs.
    let lenient = Fake::start(|tcp: TcpStream| ping_answerer(tcp, settings(&[]))).await;
    run_case(lenient.1, &fine)
        .await
        .expect("the lenient server answers a good case well");
    let e = run_case(lenient.1, &idle)
        .await
        .expect_err("an ignored connection error passed");
    assert!(e.contains("must end the connection"), "{e}");

    // A panic on another thread is seen.
    let watch = PanicWatch::install();
    let task = tokio::spawn(async { panic!("a handler panics (on purpose)") });
    assert!(task.await.is_err());
    let panics = PanicWatch::take();
    drop(watch);
    assert_eq!(panics.len(), 1, "{panics:?}");
    assert!(panics[0].contains("on purpose"), "{panics:?}");
}

/// A header block must be decoded even when its stream is refused: the
/// HPACK table is the connection's (RFC 9113 section 4.3, RFC 7541
/// section 2.2). Stream 1 adds `:path /Square` to the table; stream 3's
/// HEADERS, whose priority depends on stream 3 itself (a stream error,
/// RST_STREAM PROTOCOL_ERROR), adds `:path /Fail`; stream 5 refers to the
/// newest entry, `/Fail`, and must get Fail's UNIMPLEMENTED. h2 0.4 resets
/// stream 3 before decoding its block (frame/headers.rs, `Headers::load`,
/// InvalidDependencyId), so its table lacks `/Fail`, and stream 5 runs
/// Square: the next request on the connection decodes to other headers
/// than the client sent. (Only that client's own connection, after a frame
/// no correct client sends.) The fuzz target's `Gap::PrioritySkipsBlock`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "h2 0.4 skips the header block of a HEADERS that depends on itself (see the doc comment)"]
async fn a_reset_header_block_still_updates_the_hpack_table() {
    let _turn = serial().await;
    let target = Target::start().await;
    let with_path = |path: &str| {
        let mut b = Block::default().indexed(3).indexed(6); // POST, http
        b.0.push(0x44); // literal with incremental indexing, name :path
        b.0.push(path.len() as u8);
        b.0.extend_from_slice(path.as_bytes());
        b.literal_name_index(1, b"localhost")
            .literal(b"content-type", b"application/grpc")
            .literal(b"te", b"trailers")
    };
    let mut three = vec![0, 0, 0, 3, 0]; // depends on stream 3, weight 1
    three.extend(with_path("/svc.v1.Calculator/Fail").0);
    let newest = Block::default()
        .indexed(3)
        .indexed(6)
        .indexed(62) // the newest entry: :path /Fail
        .literal_name_index(1, b"localhost")
        .literal(b"content-type", b"application/grpc")
        .literal(b"te", b"trailers");
    let mut bytes = headers(1, &with_path(SQUARE).0, false);
    bytes.extend(data(1, &number_message(4), true));
    bytes.extend(frame(HEADERS, END_HEADERS | PRIORITY_FLAG, 3, &three));
    bytes.extend(headers(5, &newest.0, false));
    bytes.extend(data(5, &number_message(4), true));
    let mut conn = Conn::open(target.addr).await;
    conn.send(&bytes).await;
    conn.read_until(Duration::from_secs(5), |c| {
        c.reply(5).ended || c.closed || c.goaway.is_some()
    })
    .await;
    assert_eq!(
        conn.reply(1).get("grpc-status"),
        Some("0"),
        "{:?}",
        conn.reply(1)
    );
    assert_eq!(
        conn.reply(3).reset,
        Some(PROTOCOL_ERROR),
        "{:?}",
        conn.reply(3)
    );
    assert_eq!(
        conn.reply(5).get("grpc-status"),
        Some("12"),
        "stream 5 asked for Fail: {:?}",
        conn.reply(5)
    );
    target.stop().await;
}

/// A malformed request (here `te: gzip`, RFC 9113 section 8.2.2) is a
/// stream error, also when its header block goes on in a CONTINUATION:
/// stream 1 is reset and the call on stream 3 is served. h2 0.4 decides
/// on the HEADERS frame's fragment alone: ending right after the bad
/// field, it drops the block without a reset, takes the CONTINUATION for a
/// connection error (GOAWAY PROTOCOL_ERROR, last stream 0) and stream 3 is
/// never served; ending inside the next field, it misses the bad field and
/// takes the request. The fuzz target's `Gap::MalformedSplitBlock`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "h2 0.4 drops a split header block malformed in its first fragment (see the doc comment)"]
async fn a_malformed_field_in_a_split_block_resets_only_its_stream() {
    let _turn = serial().await;
    let target = Target::start().await;
    let bad = Block::grpc_request(SQUARE)
        .literal(b"te", b"gzip")
        .literal(b"x-after", b"1");
    let after_bad = Block::grpc_request(SQUARE).literal(b"te", b"gzip").0.len();
    let mut wrong = Vec::new();
    for (what, at) in [
        ("the fragment ends after the bad field", after_bad),
        ("the fragment ends inside the next field", after_bad + 3),
        ("the fragment ends before the bad field", after_bad - 8),
    ] {
        let mut bytes = frame(HEADERS, 0, 1, &bad.0[..at]);
        bytes.extend(frame(CONTINUATION, END_HEADERS, 1, &bad.0[at..]));
        bytes.extend(headers(3, &Block::grpc_request(SQUARE).0, false));
        bytes.extend(data(3, &number_message(2), true));
        let mut conn = Conn::open(target.addr).await;
        conn.send(&bytes).await;
        conn.read_until(Duration::from_secs(5), |c| {
            (c.reply(1).ended && c.reply(3).ended) || c.closed || c.goaway.is_some()
        })
        .await;
        let got = (
            conn.reply(1).reset,
            conn.reply(3).get("grpc-status").map(str::to_owned),
            conn.goaway.as_ref().and_then(Frame::error_code),
        );
        if got != (Some(PROTOCOL_ERROR), Some("0".into()), None) {
            wrong.push(format!(
                "{what}: RST_STREAM 1 {:?}, stream 3 grpc-status {:?}, GOAWAY {:?}",
                got.0, got.1, got.2
            ));
        }
    }
    target.stop().await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The suite's `Conn` sees the GOAWAY of a server that then closes with
/// our bytes unread (a reset, which fails our write): the frame is already
/// in our socket's buffer. Without that, a case that writes much while the
/// server ends the connection (hpack_amplification_is_cut_at_the_limit)
/// sees `closed` and no GOAWAY, now and then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conn_reads_the_goaway_sent_before_a_reset() {
    let _turn = serial().await;
    let fake = Fake::start(|mut tcp: TcpStream| async move {
        let mut first = [0u8; 100];
        let _ = tcp.read_exact(&mut first).await;
        let goaway = frame(GOAWAY, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 0xb]);
        let _ = tcp.write_all(&goaway).await;
        // Dropped with 4 MB unread: a reset.
    })
    .await;
    for _ in 0..5 {
        let mut conn = Conn::connect(fake.1).await;
        let all = conn
            .try_send(&vec![0u8; 4 << 20], Duration::from_secs(5))
            .await;
        conn.read_until(Duration::from_secs(3), |c| c.goaway.is_some() || c.closed)
            .await;
        assert!(!all && conn.closed, "the fake server read it all");
        assert_eq!(
            conn.goaway.as_ref().and_then(Frame::error_code),
            Some(ENHANCE_YOUR_CALM)
        );
    }
}
