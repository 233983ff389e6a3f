//! RPC benchmark: `grpc.testing.TestService` on rust-rpc against tonic 0.14 +
//! prost, on the workloads of `shared/bench/WORKLOADS.md`.
//!
//! ```text
//! rpc-bench server --stack rust-rpc|tonic --port N [--stream-len L (100)] [--resp-size B (16)]
//!     [--tls-cert FILE --tls-key FILE] [--exit-after-s S]
//! rpc-bench load --stack rust-rpc|tonic --addr http://127.0.0.1:N|https://127.0.0.1:N
//!     --mode unary|server-stream|client-stream|ping-pong --concurrency C --connections K
//!     --duration-s D --req-size B --resp-size B [--stream-len L (100)] [--warmup-s W (1)]
//!     [--timeout-s T (10)] [--ops-per-caller N] [--tls-ca FILE [--tls-domain NAME]]
//! rpc-bench mem --stack rust-rpc|tonic [--connections N (100)] [--streams-per-connection M (100)]
//!     [--message-size B (16)] [--settle-ms S (500)] [--timeout-s T (60)]
//!     [--addr HOST:PORT --pid P]
//! ```
//!
//! `--observe spans,metrics,channelz` (server and load, rust-rpc only)
//! turns on what a deployment would watch calls with, to measure its cost:
//! `spans`, a tracing subscriber (a registry that records nothing) that
//! enables rust-rpc's call spans (targets `rust_rpc::server` and
//! `rust_rpc::client` at DEBUG), and nothing else; `metrics`, gRFC A66's
//! OpenTelemetry metrics into an SDK meter provider (exported hourly);
//! `channelz`, a channelz registry for the server or the load's channels.
//!
//! `--ops-per-caller N` stops each caller after N ops (or at the end of the
//! run, whichever comes first): a fixed amount of work, for instruction
//! counts under `valgrind --tool=callgrind`.
//!
//! TLS: `server --tls-cert FILE --tls-key FILE` (PEM: the certificate chain,
//! leaf first, and its key) serves over TLS; `load --tls-ca FILE` (the PEM
//! of the CA to trust) connects to an `https://` `--addr` over TLS, checking
//! the server's certificate against `--tls-domain NAME` if given, else the
//! host of `--addr`. Both stacks run rustls with its ring crypto provider
//! (TLS 1.3 between two rpc-bench processes), so that a comparison over TLS
//! is one of the gRPC stacks, not of the crypto.
//!
//! The server prints `listening on 127.0.0.1:N` once it accepts calls (`--port 0`
//! picks a free port) and serves until it is killed or interrupted, or for
//! at most `--exit-after-s` seconds if given:
//! - UnaryCall answers a payload of `response_size` zero bytes;
//! - StreamingOutputCall sends one response per `response_parameters` entry
//!   (`size` zero bytes), or `--stream-len` responses of `--resp-size` bytes
//!   when the request has none;
//! - StreamingInputCall reads every request and answers the summed sizes;
//! - FullDuplexCall answers each request at once with one response, sized by
//!   its first `response_parameters` entry (or echoing its payload size).
//!
//! The load generator is closed-loop: C callers spread over K connections
//! (caller i on connection i % K), each starting its next operation when the
//! previous one ends. Operations that end during the first W seconds are not
//! counted; callers stop starting new ones after W + D seconds, and the
//! process exits by itself even if a call hangs. Every call carries a
//! timeout (each stack's own per-call deadline: grpc-timeout plus a client-side
//! timer). It prints one JSON line:
//! `{"stack", "mode", "rps", "p50_us", "p90_us", "p99_us", "max_us", "errors", "bytes", ...}`.
//!
//! One op: unary = one UnaryCall; server-stream = one of L responses of a
//! StreamingOutputCall; client-stream = one of L requests of a
//! StreamingInputCall; ping-pong = one round trip on a FullDuplexCall kept
//! open for the run. `rps` is ops per second. Latencies are those of one
//! call for unary and the two stream modes (`"latency_of": "call"`, a call
//! being L messages for the streams) and of one round trip for ping-pong.
//! `bytes` is the payload bytes the counted ops carried, both directions.
//! `errors` counts failed calls (including deadlines) over the whole run.
//! `ops_all` counts every op, warm-up included, and `cpu_ms` is the CPU time
//! (user + system) the load generator used meanwhile: their quotient is a
//! drift-resistant cost per op.
//!
//! `rpc-bench mem` measures a server's memory per idle connection and per
//! open stream: see [`mem`].

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

#[allow(dead_code, missing_docs)]
mod ours {
    include!(concat!(env!("OUT_DIR"), "/rpc_rust_rpc/mod.rs"));
}

#[path = "rpc-bench/mem.rs"]
mod mem;

#[allow(dead_code, missing_docs, clippy::all)]
mod theirs {
    pub mod grpc {
        pub mod testing {
            include!(concat!(env!("OUT_DIR"), "/rpc_tonic/grpc.testing.rs"));
        }
    }
}

// ------------------------------------------------------------------ flags

/// What `--observe` turns on for rust-rpc, held for the process's life.
struct Observe {
    metrics: Option<rust_rpc::otel::Metrics>,
    channelz: Option<rust_rpc::channelz::Channelz>,
    // Kept: dropping it would stop the metrics.
    _provider: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
}

impl Observe {
    fn parse(flags: &Flags) -> Result<Self, String> {
        let mut observe = Observe {
            metrics: None,
            channelz: None,
            _provider: None,
        };
        let Some(list) = flags.get("observe") else {
            return Ok(observe);
        };
        for what in list.split(',').filter(|w| !w.is_empty()) {
            match what {
                "spans" => {
                    use tracing_subscriber::layer::SubscriberExt;
                    let only_calls = tracing_subscriber::filter::Targets::new()
                        .with_target("rust_rpc::server", tracing::Level::DEBUG)
                        .with_target("rust_rpc::client", tracing::Level::DEBUG);
                    let subscriber = tracing_subscriber::registry().with(only_calls);
                    tracing::subscriber::set_global_default(subscriber)
                        .map_err(|e| format!("--observe spans: {e}"))?;
                }
                "metrics" => {
                    use opentelemetry::metrics::MeterProvider as _;
                    let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
                        .with_reader(
                            // Aggregating as a deployment would; an export
                            // (an hour away) is not what is measured.
                            opentelemetry_sdk::metrics::PeriodicReader::builder(
                                opentelemetry_sdk::metrics::InMemoryMetricExporter::default(),
                            )
                            .with_interval(Duration::from_secs(3600))
                            .build(),
                        )
                        .build();
                    observe.metrics =
                        Some(rust_rpc::otel::Metrics::new(&provider.meter("rpc-bench")));
                    observe._provider = Some(provider);
                }
                "channelz" => observe.channelz = Some(rust_rpc::channelz::Channelz::new()),
                other => {
                    return Err(format!(
                        "--observe: {other:?} is none of spans, metrics, channelz"
                    ));
                }
            }
        }
        Ok(observe)
    }

    fn server(&self, mut builder: rust_rpc::transport::Server) -> rust_rpc::transport::Server {
        if let Some(metrics) = &self.metrics {
            builder = builder.observer(metrics.clone());
        }
        if let Some(channelz) = &self.channelz {
            builder = builder.channelz(channelz);
        }
        builder
    }

    fn endpoint(
        &self,
        mut endpoint: rust_rpc::transport::Endpoint,
    ) -> rust_rpc::transport::Endpoint {
        if let Some(metrics) = &self.metrics {
            endpoint = endpoint.observer(metrics.clone());
        }
        if let Some(channelz) = &self.channelz {
            endpoint = endpoint.channelz(channelz);
        }
        endpoint
    }
}

struct Flags {
    pairs: Vec<(String, String)>,
}

impl Flags {
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut pairs = Vec::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?}"));
            };
            match name.split_once('=') {
                Some((k, v)) => pairs.push((k.to_owned(), v.to_owned())),
                None => {
                    let value = args
                        .next()
                        .ok_or_else(|| format!("--{name} needs a value"))?;
                    pairs.push((name.to_owned(), value));
                }
            }
        }
        Ok(Self { pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> Result<&str, String> {
        self.get(name)
            .ok_or_else(|| format!("--{name} is required"))
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: Option<T>) -> Result<T, String> {
        match self.get(name) {
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name}: {v:?} is not a valid number")),
            None => default.ok_or_else(|| format!("--{name} is required")),
        }
    }

    fn seconds(&self, name: &str, default: Option<f64>) -> Result<Duration, String> {
        let s: f64 = self.number(name, default)?;
        Duration::try_from_secs_f64(s).map_err(|_| format!("--{name}: {s} is not a duration"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stack {
    RustRpc,
    Tonic,
}

impl Stack {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "rust-rpc" => Ok(Self::RustRpc),
            "tonic" => Ok(Self::Tonic),
            other => Err(format!("--stack: {other:?} is neither rust-rpc nor tonic")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::RustRpc => "rust-rpc",
            Self::Tonic => "tonic",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Unary,
    ServerStream,
    ClientStream,
    PingPong,
}

impl Mode {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "unary" => Ok(Self::Unary),
            "server-stream" => Ok(Self::ServerStream),
            "client-stream" => Ok(Self::ClientStream),
            "ping-pong" => Ok(Self::PingPong),
            other => Err(format!(
                "--mode: {other:?} is not unary, server-stream, client-stream or ping-pong"
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Unary => "unary",
            Self::ServerStream => "server-stream",
            Self::ClientStream => "client-stream",
            Self::PingPong => "ping-pong",
        }
    }
}

// ------------------------------------------------------------- histogram

/// Log-linear histogram of nanoseconds: exact below 64, then 32 buckets per
/// power of two (within about 3%).
#[derive(Clone)]
struct Histogram {
    counts: Vec<u64>,
    max: u64,
    total: u64,
}

const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;

impl Histogram {
    fn new() -> Self {
        Self {
            counts: vec![0; (2 * SUB + (64 - SUB_BITS as u64) * SUB) as usize],
            max: 0,
            total: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < 2 * SUB {
            return v as usize;
        }
        let msb = 63 - u64::from(v.leading_zeros());
        let shift = msb - u64::from(SUB_BITS);
        // (v >> shift) is in [SUB, 2 * SUB).
        (2 * SUB + (shift - 1) * SUB + ((v >> shift) - SUB)) as usize
    }

    /// The middle of bucket `i`.
    fn value(i: usize) -> u64 {
        let i = i as u64;
        if i < 2 * SUB {
            return i;
        }
        let k = i - 2 * SUB;
        let shift = k / SUB + 1;
        let m = k % SUB + SUB;
        (m << shift) + (1 << shift) / 2
    }

    fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.counts[Self::index(ns)] += 1;
        self.max = self.max.max(ns);
        self.total += 1;
    }

    fn merge(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.max = self.max.max(other.max);
        self.total += other.total;
    }

    /// The `q` quantile in microseconds.
    fn quantile_us(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::value(i).min(self.max) as f64 / 1000.0;
            }
        }
        self.max as f64 / 1000.0
    }
}

// ---------------------------------------------------------------- recorder

/// One caller's counts: ops that ended inside the measured window.
struct Recorder {
    start: Instant,
    end: Instant,
    // Stop after this many ops (`--ops-per-caller`), for instruction counts.
    limit: u64,
    hist: Histogram,
    ops: u64,
    // Ops that ended at any time, warm-up included: for CPU time per op.
    all_ops: u64,
    errors: u64,
    bytes: u64,
}

impl Recorder {
    fn new(start: Instant, end: Instant, limit: u64) -> Self {
        Self {
            start,
            end,
            limit,
            hist: Histogram::new(),
            ops: 0,
            all_ops: 0,
            errors: 0,
            bytes: 0,
        }
    }

    /// True once no new operation may start.
    fn over(&self, now: Instant) -> bool {
        now >= self.end || self.all_ops >= self.limit
    }

    /// `ops` operations that began at `began` ended now, carrying `bytes`.
    fn done(&mut self, began: Instant, ops: u64, bytes: u64) -> Instant {
        let now = Instant::now();
        self.all_ops += ops;
        if now >= self.start && now <= self.end {
            self.hist.record(now - began);
            self.ops += ops;
            self.bytes += bytes;
        }
        now
    }

    fn error(&mut self, what: &dyn std::fmt::Display) {
        if self.errors == 0 {
            eprintln!("rpc-bench: first error of a caller: {what}");
        }
        self.errors += 1;
    }
}

/// What every caller needs to know.
#[derive(Clone, Copy)]
struct Work {
    req_size: usize,
    resp_size: usize,
    stream_len: usize,
    timeout: Duration,
    // For the ping-pong stream, open for the whole run.
    stream_timeout: Duration,
}

// ----------------------------------------------------------------- callers

/// The four callers for one stack. Both stacks run this same code; only the
/// generated types differ.
macro_rules! callers {
    ($m:ident, $testing:path, $Client:ty, $Request:ident) => {
        mod $m {
            use super::*;
            use $testing as testing;

            fn payload(size: usize) -> Option<testing::Payload> {
                Some(testing::Payload {
                    body: vec![0; size],
                    ..Default::default()
                })
            }

            fn len(p: &Option<testing::Payload>) -> u64 {
                p.as_ref().map_or(0, |p| p.body.len() as u64)
            }

            pub async fn unary(mut client: $Client, work: Work, mut rec: Recorder) -> Recorder {
                let request = testing::SimpleRequest {
                    response_size: work.resp_size as i32,
                    payload: payload(work.req_size),
                    ..Default::default()
                };
                loop {
                    let began = Instant::now();
                    if rec.over(began) {
                        return rec;
                    }
                    let mut r = $Request::new(request.clone());
                    r.set_timeout(work.timeout);
                    match client.unary_call(r).await {
                        Ok(response) => {
                            let n = len(&response.get_ref().payload);
                            rec.done(began, 1, work.req_size as u64 + n);
                        }
                        Err(e) => rec.error(&e),
                    }
                }
            }

            pub async fn server_stream(
                mut client: $Client,
                work: Work,
                mut rec: Recorder,
            ) -> Recorder {
                let request = testing::StreamingOutputCallRequest {
                    response_parameters: vec![
                        testing::ResponseParameters {
                            size: work.resp_size as i32,
                            ..Default::default()
                        };
                        work.stream_len
                    ],
                    payload: payload(work.req_size),
                    ..Default::default()
                };
                loop {
                    let began = Instant::now();
                    if rec.over(began) {
                        return rec;
                    }
                    let mut r = $Request::new(request.clone());
                    r.set_timeout(work.timeout);
                    let mut stream = match client.streaming_output_call(r).await {
                        Ok(response) => response.into_inner(),
                        Err(e) => {
                            rec.error(&e);
                            continue;
                        }
                    };
                    let (mut ops, mut bytes) = (0, 0);
                    loop {
                        match stream.message().await {
                            Ok(Some(m)) => {
                                ops += 1;
                                bytes += len(&m.payload);
                            }
                            Ok(None) => {
                                rec.done(began, ops, bytes);
                                break;
                            }
                            Err(e) => {
                                rec.error(&e);
                                break;
                            }
                        }
                    }
                }
            }

            pub async fn client_stream(
                mut client: $Client,
                work: Work,
                mut rec: Recorder,
            ) -> Recorder {
                let message = testing::StreamingInputCallRequest {
                    payload: payload(work.req_size),
                    ..Default::default()
                };
                loop {
                    let began = Instant::now();
                    if rec.over(began) {
                        return rec;
                    }
                    let messages = futures_util::stream::iter(std::iter::repeat_n(
                        message.clone(),
                        work.stream_len,
                    ));
                    let mut r = $Request::new(messages);
                    r.set_timeout(work.timeout);
                    match client.streaming_input_call(r).await {
                        Ok(response) => {
                            let total = response.get_ref().aggregated_payload_size;
                            if total as usize != work.req_size * work.stream_len {
                                rec.error(&format!("server counted {total} bytes"));
                            } else {
                                rec.done(began, work.stream_len as u64, total as u64);
                            }
                        }
                        Err(e) => rec.error(&e),
                    }
                }
            }

            pub async fn ping_pong(mut client: $Client, work: Work, mut rec: Recorder) -> Recorder {
                let message = testing::StreamingOutputCallRequest {
                    response_parameters: vec![testing::ResponseParameters {
                        size: work.resp_size as i32,
                        ..Default::default()
                    }],
                    payload: payload(work.req_size),
                    ..Default::default()
                };
                // One stream for the run; reopened only after an error.
                'open: loop {
                    if rec.over(Instant::now()) {
                        return rec;
                    }
                    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
                    let requests = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
                    let mut r = $Request::new(requests);
                    r.set_timeout(work.stream_timeout);
                    let mut responses = match client.full_duplex_call(r).await {
                        Ok(response) => response.into_inner(),
                        Err(e) => {
                            rec.error(&e);
                            continue 'open;
                        }
                    };
                    loop {
                        let began = Instant::now();
                        if rec.over(began) {
                            drop(tx);
                            // Let the call end cleanly: the server ends it
                            // once the requests do.
                            while let Ok(Some(_)) = responses.message().await {}
                            return rec;
                        }
                        if tx.send(message.clone()).await.is_err() {
                            rec.error(&"the request stream closed");
                            continue 'open;
                        }
                        match responses.message().await {
                            Ok(Some(m)) => {
                                rec.done(began, 1, work.req_size as u64 + len(&m.payload));
                            }
                            Ok(None) => {
                                rec.error(&"the server ended the call");
                                continue 'open;
                            }
                            Err(e) => {
                                rec.error(&e);
                                continue 'open;
                            }
                        }
                    }
                }
            }
        }
    };
}

callers!(
    ours_callers,
    crate::ours::grpc::testing,
    crate::ours::grpc::testing::TestServiceClient,
    Request
);
use rust_rpc::transport::Request;

callers!(
    tonic_callers,
    crate::theirs::grpc::testing,
    crate::theirs::grpc::testing::test_service_client::TestServiceClient<tonic::transport::Channel>,
    TonicRequest
);
use tonic::Request as TonicRequest;

// --------------------------------------------------------------------- tls

/// The server's `--tls-cert` and `--tls-key`: both or neither.
fn server_tls_files(flags: &Flags) -> Result<Option<(&str, &str)>, String> {
    match (flags.get("tls-cert"), flags.get("tls-key")) {
        (Some(cert), Some(key)) => Ok(Some((cert, key))),
        (None, None) => Ok(None),
        _ => Err("--tls-cert and --tls-key go together".into()),
    }
}

/// The load generator's `--tls-ca` and `--tls-domain`, for an `https://`
/// `--addr`.
struct ClientTls<'a> {
    ca: &'a str,
    domain: Option<&'a str>,
}

impl<'a> ClientTls<'a> {
    /// None for an `http://` `--addr`; `--tls-ca` is required with an
    /// `https://` one and refused with any other.
    fn parse(flags: &'a Flags, addr: &str) -> Result<Option<Self>, String> {
        let https = addr.starts_with("https://");
        match flags.get("tls-ca") {
            Some(ca) if https => Ok(Some(Self {
                ca,
                domain: flags.get("tls-domain"),
            })),
            Some(_) => Err(format!("--tls-ca needs an https:// --addr, not {addr:?}")),
            None if https => Err(format!(
                "--addr {addr:?} is https://: give the CA to trust with --tls-ca"
            )),
            None if flags.get("tls-domain").is_some() => Err("--tls-domain needs --tls-ca".into()),
            None => Ok(None),
        }
    }
}

/// The contents of the file `--flag` names.
fn read_flag_file(flag: &str, path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("--{flag}: cannot read {path}: {e}"))
}

/// `e` and its sources (each unless its text is there already): tonic's
/// transport errors say what went wrong only in their sources.
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

// -------------------------------------------------------------------- load

async fn load(flags: &Flags) -> Result<(), String> {
    let stack = Stack::parse(flags.required("stack")?)?;
    let addr = flags.required("addr")?.to_owned();
    let tls = ClientTls::parse(flags, &addr)?;
    let mode = Mode::parse(flags.required("mode")?)?;
    let concurrency: usize = flags.number("concurrency", None)?;
    let connections: usize = flags.number("connections", Some(1))?;
    let duration = flags.seconds("duration-s", None)?;
    let warmup = flags.seconds("warmup-s", Some(1.0))?;
    let timeout = flags.seconds("timeout-s", Some(10.0))?;
    let limit: u64 = flags.number("ops-per-caller", Some(u64::MAX))?;
    let work = Work {
        req_size: flags.number("req-size", None)?,
        resp_size: flags.number("resp-size", None)?,
        stream_len: flags.number("stream-len", Some(100))?,
        timeout,
        stream_timeout: warmup + duration + timeout,
    };
    if concurrency == 0 || connections == 0 || connections > concurrency {
        return Err("need 1 <= --connections <= --concurrency".into());
    }
    if duration.is_zero() {
        return Err("--duration-s must be positive".into());
    }

    let cpu0 = cpu_time();
    let t0 = Instant::now();
    let start = t0 + warmup;
    let end = start + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    match stack {
        Stack::RustRpc => {
            use rust_rpc::transport::tls::{Certificate, ClientTlsConfig};
            let tls = match &tls {
                Some(tls) => {
                    let ca =
                        Certificate::from_pem_file(tls.ca).map_err(|e| format!("--tls-ca: {e}"))?;
                    let config = ClientTlsConfig::new().ca_certificate(ca);
                    Some(match tls.domain {
                        Some(name) => config.domain_name(name),
                        None => config,
                    })
                }
                None => None,
            };
            let observe = Observe::parse(flags)?;
            let mut channels = Vec::with_capacity(connections);
            for _ in 0..connections {
                let mut endpoint = observe.endpoint(
                    rust_rpc::transport::Endpoint::new(&addr)
                        .map_err(|e| e.to_string())?
                        .connect_timeout(timeout),
                );
                if let Some(config) = &tls {
                    endpoint = endpoint
                        .tls_config(config.clone())
                        .map_err(|e| format!("TLS: {e}"))?;
                }
                channels.push(
                    endpoint
                        .connect()
                        .await
                        .map_err(|e| format!("cannot connect to {addr}: {e}"))?,
                );
            }
            for i in 0..concurrency {
                let client =
                    ours::grpc::testing::TestServiceClient::new(channels[i % connections].clone());
                let rec = Recorder::new(start, end, limit);
                tasks.push(match mode {
                    Mode::Unary => tokio::spawn(ours_callers::unary(client, work, rec)),
                    Mode::ServerStream => {
                        tokio::spawn(ours_callers::server_stream(client, work, rec))
                    }
                    Mode::ClientStream => {
                        tokio::spawn(ours_callers::client_stream(client, work, rec))
                    }
                    Mode::PingPong => tokio::spawn(ours_callers::ping_pong(client, work, rec)),
                });
            }
        }
        Stack::Tonic => {
            use theirs::grpc::testing::test_service_client::TestServiceClient;
            use tonic::transport::{Certificate, ClientTlsConfig};
            let tls = match &tls {
                Some(tls) => {
                    let ca = Certificate::from_pem(read_flag_file("tls-ca", tls.ca)?);
                    // Bounds the handshake as rust-rpc's connect timeout does.
                    let config = ClientTlsConfig::new().ca_certificate(ca).timeout(timeout);
                    Some(match tls.domain {
                        Some(name) => config.domain_name(name),
                        None => config,
                    })
                }
                None => None,
            };
            let mut channels = Vec::with_capacity(connections);
            for _ in 0..connections {
                let mut endpoint = tonic::transport::Endpoint::from_shared(addr.clone())
                    .map_err(|e| with_sources(&e))?
                    .connect_timeout(timeout)
                    .timeout(timeout);
                if let Some(config) = &tls {
                    endpoint = endpoint
                        .tls_config(config.clone())
                        .map_err(|e| format!("TLS: {}", with_sources(&e)))?;
                }
                channels.push(
                    endpoint
                        .connect()
                        .await
                        .map_err(|e| format!("cannot connect to {addr}: {}", with_sources(&e)))?,
                );
            }
            for i in 0..concurrency {
                let client = TestServiceClient::new(channels[i % connections].clone());
                let rec = Recorder::new(start, end, limit);
                tasks.push(match mode {
                    Mode::Unary => tokio::spawn(tonic_callers::unary(client, work, rec)),
                    Mode::ServerStream => {
                        tokio::spawn(tonic_callers::server_stream(client, work, rec))
                    }
                    Mode::ClientStream => {
                        tokio::spawn(tonic_callers::client_stream(client, work, rec))
                    }
                    Mode::PingPong => tokio::spawn(tonic_callers::ping_pong(client, work, rec)),
                });
            }
        }
    }

    // Stop by ourselves even if a call hangs past its deadline.
    let hard_stop = tokio::time::Instant::from_std(end + timeout + Duration::from_secs(5));
    let mut hist = Histogram::new();
    let (mut ops, mut all_ops, mut errors, mut bytes, mut unfinished) =
        (0u64, 0, 0u64, 0u64, 0usize);
    for task in tasks {
        match tokio::time::timeout_at(hard_stop, task).await {
            Ok(Ok(rec)) => {
                hist.merge(&rec.hist);
                ops += rec.ops;
                all_ops += rec.all_ops;
                errors += rec.errors;
                bytes += rec.bytes;
            }
            Ok(Err(e)) => return Err(format!("a caller panicked: {e}")),
            Err(_) => unfinished += 1,
        }
    }
    let cpu_ms = match (cpu0, cpu_time()) {
        (Some(a), Some(b)) => (b - a) * 1000.0,
        _ => -1.0,
    };
    let secs = duration.as_secs_f64();
    let latency_of = match mode {
        Mode::PingPong => "round trip",
        _ => "call",
    };
    println!(
        "{{\"stack\":\"{}\",\"mode\":\"{}\",\"concurrency\":{concurrency},\"connections\":{connections},\
\"duration_s\":{secs},\"ops\":{ops},\"rps\":{:.1},\"p50_us\":{:.1},\"p90_us\":{:.1},\"p99_us\":{:.1},\
\"max_us\":{:.1},\"errors\":{},\"bytes\":{bytes},\"latency_of\":\"{latency_of}\",\"calls_timed\":{},\
\"ops_all\":{all_ops},\"cpu_ms\":{cpu_ms:.0}}}",
        stack.name(),
        mode.name(),
        ops as f64 / secs,
        hist.quantile_us(0.50),
        hist.quantile_us(0.90),
        hist.quantile_us(0.99),
        hist.max as f64 / 1000.0,
        errors + unfinished as u64,
        hist.total,
    );
    Ok(())
}

/// CPU seconds (user + system) this process has used so far, from
/// /proc/self/stat (Linux); None elsewhere.
fn cpu_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some((utime + stime) / 100.0)
}

// ------------------------------------------------------------------ server

fn zero_response_ours(size: i32) -> ours::grpc::testing::StreamingOutputCallResponse {
    ours::grpc::testing::StreamingOutputCallResponse {
        payload: Some(ours::grpc::testing::Payload {
            body: vec![0; size.max(0) as usize],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn zero_response_tonic(size: i32) -> theirs::grpc::testing::StreamingOutputCallResponse {
    theirs::grpc::testing::StreamingOutputCallResponse {
        payload: Some(theirs::grpc::testing::Payload {
            body: vec![0; size.max(0) as usize],
            ..Default::default()
        }),
    }
}

#[derive(Clone, Copy)]
struct ServerWork {
    stream_len: usize,
    resp_size: i32,
}

mod ours_server {
    use super::*;
    use ours::grpc::testing::{
        Empty, SimpleRequest, SimpleResponse, StreamingInputCallRequest,
        StreamingInputCallResponse, StreamingOutputCallRequest, StreamingOutputCallResponse,
        TestService,
    };
    use rust_rpc::transport::{Response, Status, Streaming};

    type Out = Result<StreamingOutputCallResponse, Status>;
    // Built lazily, one response at a time, from the sizes asked for.
    pub type Outputs =
        futures_util::stream::Iter<std::iter::Map<std::vec::IntoIter<i32>, fn(i32) -> Out>>;

    fn output(size: i32) -> Out {
        Ok(zero_response_ours(size))
    }

    fn outputs(sizes: Vec<i32>) -> Outputs {
        let f: fn(i32) -> Out = output;
        futures_util::stream::iter(sizes.into_iter().map(f))
    }
    pub type Echoes = futures_util::stream::Map<
        Streaming<StreamingOutputCallRequest>,
        fn(Result<StreamingOutputCallRequest, Status>) -> Out,
    >;

    pub struct Bench(pub ServerWork);

    fn echo(r: Result<StreamingOutputCallRequest, Status>) -> Out {
        let r = r?;
        let size = match r.response_parameters.first() {
            Some(p) => p.size,
            None => r.payload.as_ref().map_or(0, |p| p.body.len() as i32),
        };
        Ok(zero_response_ours(size))
    }

    impl TestService for Bench {
        async fn empty_call(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
            Ok(Response::new(Empty::default()))
        }

        async fn unary_call(
            &self,
            request: Request<SimpleRequest>,
        ) -> Result<Response<SimpleResponse>, Status> {
            let size = request.get_ref().response_size.max(0) as usize;
            Ok(Response::new(SimpleResponse {
                payload: Some(ours::grpc::testing::Payload {
                    body: vec![0; size],
                    ..Default::default()
                }),
                ..Default::default()
            }))
        }

        async fn cacheable_unary_call(
            &self,
            request: Request<SimpleRequest>,
        ) -> Result<Response<SimpleResponse>, Status> {
            self.unary_call(request).await
        }

        type StreamingOutputCallStream = Outputs;

        async fn streaming_output_call(
            &self,
            request: Request<StreamingOutputCallRequest>,
        ) -> Result<Response<Outputs>, Status> {
            let params = &request.get_ref().response_parameters;
            let sizes = if params.is_empty() {
                vec![self.0.resp_size; self.0.stream_len]
            } else {
                params.iter().map(|p| p.size).collect()
            };
            Ok(Response::new(outputs(sizes)))
        }

        async fn streaming_input_call(
            &self,
            request: Request<Streaming<StreamingInputCallRequest>>,
        ) -> Result<Response<StreamingInputCallResponse>, Status> {
            let mut stream = request.into_inner();
            let mut total = 0usize;
            while let Some(m) = stream.message().await? {
                total += m.payload.as_ref().map_or(0, |p| p.body.len());
            }
            Ok(Response::new(StreamingInputCallResponse {
                aggregated_payload_size: total as i32,
                ..Default::default()
            }))
        }

        type FullDuplexCallStream = Echoes;

        async fn full_duplex_call(
            &self,
            request: Request<Streaming<StreamingOutputCallRequest>>,
        ) -> Result<Response<Echoes>, Status> {
            let f: fn(Result<StreamingOutputCallRequest, Status>) -> Out = echo;
            Ok(Response::new(request.into_inner().map(f)))
        }

        type HalfDuplexCallStream = Outputs;

        async fn half_duplex_call(
            &self,
            request: Request<Streaming<StreamingOutputCallRequest>>,
        ) -> Result<Response<Outputs>, Status> {
            let mut requests = request.into_inner();
            let mut sizes = Vec::new();
            while let Some(r) = requests.message().await? {
                sizes.extend(r.response_parameters.iter().map(|p| p.size));
            }
            Ok(Response::new(outputs(sizes)))
        }

        async fn unimplemented_call(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
            Err(Status::unimplemented("not implemented"))
        }
    }
}

mod tonic_server {
    use super::*;
    use theirs::grpc::testing::test_service_server::TestService;
    use theirs::grpc::testing::{
        Empty, Payload, SimpleRequest, SimpleResponse, StreamingInputCallRequest,
        StreamingInputCallResponse, StreamingOutputCallRequest, StreamingOutputCallResponse,
    };
    use tonic::{Request, Response, Status, Streaming};

    type Out = Result<StreamingOutputCallResponse, Status>;
    // Built lazily, one response at a time, from the sizes asked for.
    pub type Outputs =
        futures_util::stream::Iter<std::iter::Map<std::vec::IntoIter<i32>, fn(i32) -> Out>>;

    fn output(size: i32) -> Out {
        Ok(zero_response_tonic(size))
    }

    fn outputs(sizes: Vec<i32>) -> Outputs {
        let f: fn(i32) -> Out = output;
        futures_util::stream::iter(sizes.into_iter().map(f))
    }
    pub type Echoes = futures_util::stream::Map<
        Streaming<StreamingOutputCallRequest>,
        fn(Result<StreamingOutputCallRequest, Status>) -> Out,
    >;

    pub struct Bench(pub ServerWork);

    fn echo(r: Result<StreamingOutputCallRequest, Status>) -> Out {
        let r = r?;
        let size = match r.response_parameters.first() {
            Some(p) => p.size,
            None => r.payload.as_ref().map_or(0, |p| p.body.len() as i32),
        };
        Ok(zero_response_tonic(size))
    }

    #[tonic::async_trait]
    impl TestService for Bench {
        async fn empty_call(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
            Ok(Response::new(Empty::default()))
        }

        async fn unary_call(
            &self,
            request: Request<SimpleRequest>,
        ) -> Result<Response<SimpleResponse>, Status> {
            let size = request.get_ref().response_size.max(0) as usize;
            Ok(Response::new(SimpleResponse {
                payload: Some(Payload {
                    body: vec![0; size],
                    ..Default::default()
                }),
                ..Default::default()
            }))
        }

        async fn cacheable_unary_call(
            &self,
            request: Request<SimpleRequest>,
        ) -> Result<Response<SimpleResponse>, Status> {
            self.unary_call(request).await
        }

        type StreamingOutputCallStream = Outputs;

        async fn streaming_output_call(
            &self,
            request: Request<StreamingOutputCallRequest>,
        ) -> Result<Response<Outputs>, Status> {
            let params = &request.get_ref().response_parameters;
            let sizes = if params.is_empty() {
                vec![self.0.resp_size; self.0.stream_len]
            } else {
                params.iter().map(|p| p.size).collect()
            };
            Ok(Response::new(outputs(sizes)))
        }

        async fn streaming_input_call(
            &self,
            request: Request<Streaming<StreamingInputCallRequest>>,
        ) -> Result<Response<StreamingInputCallResponse>, Status> {
            let mut stream = request.into_inner();
            let mut total = 0usize;
            while let Some(m) = stream.message().await? {
                total += m.payload.as_ref().map_or(0, |p| p.body.len());
            }
            Ok(Response::new(StreamingInputCallResponse {
                aggregated_payload_size: total as i32,
            }))
        }

        type FullDuplexCallStream = Echoes;

        async fn full_duplex_call(
            &self,
            request: Request<Streaming<StreamingOutputCallRequest>>,
        ) -> Result<Response<Echoes>, Status> {
            let f: fn(Result<StreamingOutputCallRequest, Status>) -> Out = echo;
            Ok(Response::new(request.into_inner().map(f)))
        }

        type HalfDuplexCallStream = Outputs;

        async fn half_duplex_call(
            &self,
            request: Request<Streaming<StreamingOutputCallRequest>>,
        ) -> Result<Response<Outputs>, Status> {
            let mut requests = request.into_inner();
            let mut sizes = Vec::new();
            while let Some(r) = requests.message().await? {
                sizes.extend(r.response_parameters.iter().map(|p| p.size));
            }
            Ok(Response::new(outputs(sizes)))
        }

        async fn unimplemented_call(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
            Err(Status::unimplemented("not implemented"))
        }
    }
}

/// Listens on 127.0.0.1:`port` and says so on stdout.
async fn listen(port: u16) -> Result<tokio::net::TcpListener, String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {local}");
    Ok(listener)
}

async fn server(flags: &Flags) -> Result<(), String> {
    let stack = Stack::parse(flags.required("stack")?)?;
    let port: u16 = flags.number("port", None)?;
    let work = ServerWork {
        stream_len: flags.number("stream-len", Some(100))?,
        resp_size: flags.number("resp-size", Some(16))?,
    };
    let tls = server_tls_files(flags)?;
    let lifetime = match flags.get("exit-after-s") {
        Some(_) => Some(flags.seconds("exit-after-s", None)?),
        None => None,
    };
    let shutdown = async move {
        match lifetime {
            Some(lifetime) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = tokio::time::sleep(lifetime) => {
                    eprintln!("rpc-bench: --exit-after-s is over: stopping");
                }
            },
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    // The TLS config is checked before listening: bad key material fails
    // before anyone is told to connect.
    let serve = async {
        match stack {
            Stack::RustRpc => {
                use rust_rpc::transport::tls::{Identity, ServerTls, ServerTlsConfig};
                let observe = Observe::parse(flags)?;
                let mut builder = observe.server(rust_rpc::transport::Server::builder());
                if let Some((cert, key)) = tls {
                    let identity = Identity::from_pem_files(cert, key)
                        .map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
                    let tls = ServerTls::new(ServerTlsConfig::new(identity))
                        .map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
                    builder = builder.tls(tls);
                }
                let server = builder.add_service(ours::grpc::testing::TestServiceServer::new(
                    ours_server::Bench(work),
                ));
                server
                    .serve_with_listener(listen(port).await?, shutdown)
                    .await
                    .map_err(|e| e.to_string())
            }
            Stack::Tonic => {
                use tonic::transport::{Identity, ServerTlsConfig};
                let mut builder = tonic::transport::Server::builder();
                if let Some((cert, key)) = tls {
                    let identity = Identity::from_pem(
                        read_flag_file("tls-cert", cert)?,
                        read_flag_file("tls-key", key)?,
                    );
                    builder = builder
                        .tls_config(ServerTlsConfig::new().identity(identity))
                        .map_err(|e| format!("--tls-cert/--tls-key: {}", with_sources(&e)))?;
                }
                let router = builder.add_service(
                    theirs::grpc::testing::test_service_server::TestServiceServer::new(
                        tonic_server::Bench(work),
                    ),
                );
                let incoming = tonic::transport::server::TcpIncoming::from(listen(port).await?)
                    .with_nodelay(Some(true));
                router
                    .serve_with_incoming_shutdown(incoming, shutdown)
                    .await
                    .map_err(|e| with_sources(&e))
            }
        }
    };
    match lifetime {
        // Connections still open when the time is over get a moment to end.
        Some(lifetime) => tokio::time::timeout(lifetime + Duration::from_secs(5), serve)
            .await
            .unwrap_or(Ok(())),
        None => serve.await,
    }
}

// -------------------------------------------------------------------- main

const USAGE: &str = "usage:
  rpc-bench server --stack rust-rpc|tonic --port N [--stream-len L] [--resp-size B]
      [--tls-cert FILE --tls-key FILE] [--exit-after-s S] [--observe spans,metrics,channelz]
  rpc-bench load --stack rust-rpc|tonic --addr http://127.0.0.1:N|https://127.0.0.1:N
      --mode unary|server-stream|client-stream|ping-pong --concurrency C --connections K
      --duration-s D --req-size B --resp-size B [--stream-len L] [--warmup-s W] [--timeout-s T]
      [--ops-per-caller N] [--tls-ca FILE [--tls-domain NAME]] [--observe spans,metrics,channelz]
  rpc-bench mem --stack rust-rpc|tonic [--connections N] [--streams-per-connection M]
      [--message-size B] [--settle-ms S] [--timeout-s T] [--addr HOST:PORT --pid P]";

fn main() -> ExitCode {
    // tonic's TLS server builds its rustls config on the process's default
    // crypto provider, which rustls picks by itself only when exactly one is
    // compiled in (and panics otherwise); tonic's client prefers it too.
    // Make it ring, the provider rust-rpc's TLS names explicitly, so that
    // both stacks run the same crypto. An error only means that one is
    // installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let flags = match Flags::parse(args) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("rpc-bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rpc-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command.as_str() {
        "server" => runtime.block_on(server(&flags)),
        "load" => runtime.block_on(load(&flags)),
        "mem" => runtime.block_on(mem::mem(&flags)),
        _ => Err(format!("unknown command {command:?}")),
    };
    // Callers stuck past the hard stop are not waited for.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rpc-bench: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Histogram;
    use std::time::Duration;

    #[test]
    fn histogram_buckets_are_monotonic_and_close() {
        let mut last = 0;
        for v in (0..100_000u64).chain([1 << 20, 123_456_789, u64::MAX / 2]) {
            let i = Histogram::index(v);
            assert!(i >= last, "v={v}");
            last = i;
            let back = Histogram::value(i);
            let err = back.abs_diff(v) as f64 / (v.max(1) as f64);
            assert!(err <= 1.0 / 32.0 + 1e-9, "v={v} i={i} back={back}");
        }
        let mut h = Histogram::new();
        for us in 1..=100u64 {
            h.record(Duration::from_micros(us));
        }
        assert!((h.quantile_us(0.5) - 50.0).abs() < 2.0);
        assert!((h.quantile_us(0.99) - 99.0).abs() < 4.0);
        assert_eq!(h.max, 100_000);
    }
}
