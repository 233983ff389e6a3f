//! Codec benchmark: rust-rpc against prost on the workloads of
//! `shared/bench/WORKLOADS.md` (small, mixed, large, person).
//!
//! `--format binary` (the default) times the protobuf wire format: rust-rpc's
//! generated code against prost's. `--format json` times protobuf's canonical
//! JSON mapping on the same messages: rust-rpc's generated JSON (written into
//! a reused `String`, read from `&str`) against pbjson's generated serde impls
//! for the prost types through serde_json (written into a reused `Vec<u8>`,
//! read from `&str`), the usual way prost users get JSON. The two stacks'
//! JSON texts are checked to be the same (byte for byte but for map order)
//! and each to read the other's back to an equal message.
//!
//! Wall clock: every (workload, stack, direction) runs for a fixed time after
//! a warm-up; the two stacks are interleaved round by round (A, B, B, A, ...)
//! so that drift on a shared machine hits both alike, and the median of the
//! rounds is reported.
//!
//! Instruction counts: `--iterations N --only <workload>:<stack>:<encode|decode>`
//! runs exactly N operations inside one function (`measured_ops`) and exits,
//! for `valgrind --tool=callgrind --toggle-collect=...`; `--callgrind` runs
//! that under valgrind for every combination and prints Ir per op.
//!
//! ```text
//! cargo run --release -p rust-rpc-bench --bin codec-bench -- [--duration-ms 300]
//!     [--warmup-ms 100] [--rounds 5] [--workloads small,mixed] [--format binary|json]
//!     [--json] [--callgrind]
//! ```

use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

// The interop messages file also holds the streaming messages that only
// rpc-bench uses.
#[allow(dead_code)]
mod ours {
    include!(concat!(env!("OUT_DIR"), "/rust_rpc/mod.rs"));
}

#[allow(dead_code)]
mod theirs {
    pub mod anchors {
        pub mod bench {
            include!(concat!(env!("OUT_DIR"), "/prost/anchors.bench.rs"));
            include!(concat!(env!("OUT_DIR"), "/prost/anchors.bench.serde.rs"));
        }
    }
    pub mod grpc {
        pub mod testing {
            include!(concat!(env!("OUT_DIR"), "/prost/grpc.testing.rs"));
            include!(concat!(env!("OUT_DIR"), "/prost/grpc.testing.serde.rs"));
        }
    }
}

const WORKLOADS: [&str; 4] = ["small", "mixed", "large", "person"];
const DIRECTIONS: [&str; 2] = ["encode", "decode"];

/// What is encoded and decoded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    /// The protobuf wire format: rust-rpc against prost.
    Binary,
    /// Canonical proto3 JSON: rust-rpc against pbjson + serde_json.
    Json,
}

impl Format {
    fn parse(s: &str) -> Result<Format, String> {
        match s {
            "binary" => Ok(Format::Binary),
            "json" => Ok(Format::Json),
            other => Err(format!("unknown format {other:?} (binary, json)")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Binary => "binary",
            Format::Json => "json",
        }
    }

    /// The two stacks compared, ours first; workloads' cases are indexed
    /// like this.
    fn stacks(self) -> [&'static str; 2] {
        match self {
            Format::Binary => ["rust-rpc", "prost"],
            Format::Json => ["rust-rpc", "pbjson"],
        }
    }
}

/// Runs `n` operations.
type Ops = Box<dyn FnMut(u64)>;

struct Case {
    encode: Ops,
    decode: Ops,
}

struct Workload {
    name: &'static str,
    bytes: usize,
    // Indexed like Format::stacks.
    cases: [Case; 2],
}

// ---------------------------------------------------------------- fill rules

fn small_ours() -> ours::grpc::testing::SimpleRequest {
    ours::grpc::testing::SimpleRequest {
        response_size: 16,
        payload: Some(ours::grpc::testing::Payload {
            body: (0..16u8).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn small_prost() -> theirs::grpc::testing::SimpleRequest {
    theirs::grpc::testing::SimpleRequest {
        response_size: 16,
        payload: Some(theirs::grpc::testing::Payload {
            body: (0..16u8).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// 65536 zero bytes in memory that has really been written: `vec![0; n]`
/// may get fresh pages from `calloc` that all map the kernel's shared zero
/// page, which would make reading them unrealistically cache-friendly.
fn zeros(n: usize) -> Vec<u8> {
    let mut v = vec![0xa5u8; n];
    black_box(&mut v).fill(0);
    v
}

fn large_ours() -> ours::grpc::testing::SimpleResponse {
    ours::grpc::testing::SimpleResponse {
        payload: Some(ours::grpc::testing::Payload {
            body: zeros(65536),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn large_prost() -> theirs::grpc::testing::SimpleResponse {
    theirs::grpc::testing::SimpleResponse {
        payload: Some(theirs::grpc::testing::Payload {
            body: zeros(65536),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn person_ours() -> ours::anchors::bench::Person {
    ours::anchors::bench::Person {
        name: "Alice".into(),
        age: 30,
        email: "alice@example.com".into(),
        ..Default::default()
    }
}

fn person_prost() -> theirs::anchors::bench::Person {
    theirs::anchors::bench::Person {
        name: "Alice".into(),
        age: 30,
        email: "alice@example.com".into(),
    }
}

/// The `mixed` fill rules, generated once per stack by this macro so that
/// both build exactly the same values.
macro_rules! mixed {
    ($m:path, $inner:path, { $($extra:tt)* }) => {{
        use $m as Mixed;
        use $inner as Inner;
        Mixed {
            i32: 150,
            i64: 1_234_567_890_123,
            u32: 4_000_000_000,
            u64: 18_000_000_000_000_000_000,
            s32: -12345,
            s64: -9_876_543_210,
            fx32: 0xDEAD_BEEF,
            fx64: 0x0123_4567_89AB_CDEF,
            sfx32: -42,
            sfx64: -4_242_424_242,
            ratio: 0.618_033_988_75,
            flag: true,
            name: "Alice Example".into(),
            email: "alice@example.com".into(),
            note: "The quick brown fox jumps over the lazy dog.".into(),
            inner: Some(Inner {
                id: 7,
                name: "nested".into(),
                value: 1 << 40,
                enabled: true,
                $($extra)*
            }),
            samples: (0..100).map(|i: i32| i * i * 31).collect(),
            counters: (0..20)
                .map(|i: i64| (format!("counter-{i:02}"), i * 1_000_003))
                .collect(),
            items: (0..50)
                .map(|i: i64| Inner {
                    id: i as i32,
                    name: format!("item-{i:02}"),
                    value: i * 1_000_000_007,
                    enabled: i % 2 == 0,
                    $($extra)*
                })
                .collect(),
            $($extra)*
        }
    }};
}

fn mixed_ours() -> ours::anchors::bench::Mixed {
    mixed!(ours::anchors::bench::Mixed, ours::anchors::bench::Inner, {
        unknown_fields: Default::default(),
    })
}

fn mixed_prost() -> theirs::anchors::bench::Mixed {
    mixed!(
        theirs::anchors::bench::Mixed,
        theirs::anchors::bench::Inner,
        {}
    )
}

// ---------------------------------------------------------------- the loops

fn ours_encode<M: rust_rpc::Message>(m: M, len: usize) -> Ops {
    let mut buf: Vec<u8> = Vec::with_capacity(len);
    Box::new(move |n| {
        for _ in 0..n {
            buf.clear();
            rust_rpc::Message::encode(black_box(&m), &mut buf).expect("Vec grows");
            black_box(&mut buf);
        }
    })
}

fn prost_encode<M: prost::Message + 'static>(m: M, len: usize) -> Ops {
    let mut buf: Vec<u8> = Vec::with_capacity(len);
    Box::new(move |n| {
        for _ in 0..n {
            buf.clear();
            prost::Message::encode(black_box(&m), &mut buf).expect("Vec grows");
            black_box(&mut buf);
        }
    })
}

fn ours_decode<M: rust_rpc::Message>(bytes: Vec<u8>) -> Ops {
    Box::new(move |n| {
        for _ in 0..n {
            // Borrowed, not unwrapped: moving a large message out of the
            // `Result` would add a copy that is the harness's, not the codec's.
            // (Both stacks decode these bytes; `workload` checked that.)
            let r = <M as rust_rpc::Message>::decode(black_box(&bytes[..]));
            black_box(&r);
        }
    })
}

fn prost_decode<M: prost::Message + Default + 'static>(bytes: Vec<u8>) -> Ops {
    Box::new(move |n| {
        for _ in 0..n {
            let r = <M as prost::Message>::decode(black_box(&bytes[..]));
            black_box(&r);
        }
    })
}

/// Builds a workload after checking that both stacks encode the same thing:
/// identical bytes when `same_bytes`, otherwise (map order) the expected
/// lengths and each stack decoding the other's bytes into an equal message.
///
/// `ours_extra` is how many bytes more rust-rpc writes: for `mixed`, 2, since
/// rust-rpc writes both key and value of every map entry (as protobuf's C++,
/// Java and Go runtimes do) while prost, and WORKLOADS.md's 1906, leave out a
/// value equal to its default (`counter-00` -> 0).
fn workload<A, B>(
    name: &'static str,
    expect_len: usize,
    ours_extra: usize,
    a: A,
    b: B,
    same_bytes: bool,
) -> Workload
where
    A: rust_rpc::Message,
    B: prost::Message + Default + PartialEq + std::fmt::Debug + 'static,
{
    let ea = rust_rpc::Message::encode_to_vec(&a);
    let eb = prost::Message::encode_to_vec(&b);
    assert_eq!(
        ea.len(),
        expect_len + ours_extra,
        "{name}: rust-rpc encoded length"
    );
    assert_eq!(eb.len(), expect_len, "{name}: prost encoded length");
    if same_bytes {
        assert_eq!(ea, eb, "{name}: encodings differ");
    }
    assert_eq!(
        <A as rust_rpc::Message>::decode(&eb[..]).expect("rust-rpc decodes prost's bytes"),
        a,
        "{name}: rust-rpc decoding prost's bytes"
    );
    assert_eq!(
        <B as prost::Message>::decode(&ea[..]).expect("prost decodes rust-rpc's bytes"),
        b,
        "{name}: prost decoding rust-rpc's bytes"
    );
    Workload {
        name,
        bytes: expect_len,
        cases: [
            Case {
                encode: ours_encode(a, expect_len + ours_extra),
                decode: ours_decode::<A>(ea),
            },
            Case {
                encode: prost_encode(b, expect_len),
                decode: prost_decode::<B>(eb),
            },
        ],
    }
}

// ---------------------------------------------------------------- JSON

fn ours_json_encode<M: rust_rpc::json::JsonValue + 'static>(m: M, len: usize) -> Ops {
    let options = rust_rpc::json::JsonOptions::default();
    let mut buf = String::with_capacity(len);
    Box::new(move |n| {
        for _ in 0..n {
            buf.clear();
            rust_rpc::json::write_to(&mut buf, black_box(&m), &options)
                .expect("the workload's messages have JSON forms");
            black_box(&mut buf);
        }
    })
}

fn pbjson_encode<M: serde::Serialize + 'static>(m: M, len: usize) -> Ops {
    let mut buf: Vec<u8> = Vec::with_capacity(len);
    Box::new(move |n| {
        for _ in 0..n {
            buf.clear();
            serde_json::to_writer(&mut buf, black_box(&m)).expect("Vec grows");
            black_box(&mut buf);
        }
    })
}

fn ours_json_decode<M: rust_rpc::json::JsonValue + Default + 'static>(text: String) -> Ops {
    Box::new(move |n| {
        for _ in 0..n {
            let r = rust_rpc::json::from_str::<M>(black_box(&text[..]));
            black_box(&r);
        }
    })
}

fn pbjson_decode<M: serde::de::DeserializeOwned + 'static>(text: String) -> Ops {
    Box::new(move |n| {
        for _ in 0..n {
            let r = serde_json::from_str::<M>(black_box(&text[..]));
            black_box(&r);
        }
    })
}

/// Builds a JSON workload after checking that both stacks write the same
/// JSON (the same text when `same_text`, otherwise, for a map's order, the
/// same length) and each reads the other's back to an equal message.
fn json_workload<A, B>(name: &'static str, a: A, b: B, same_text: bool) -> Workload
where
    A: rust_rpc::json::JsonValue + Default + PartialEq + std::fmt::Debug + 'static,
    B: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug + 'static,
{
    let ja = rust_rpc::json::to_string(&a).expect("rust-rpc writes the workload as JSON");
    let jb = serde_json::to_string(&b).expect("pbjson writes the workload as JSON");
    assert_eq!(
        ja.len(),
        jb.len(),
        "{name}: JSON lengths differ:\n{ja}\n{jb}"
    );
    if same_text {
        assert_eq!(ja, jb, "{name}: JSON texts differ");
    }
    assert_eq!(
        rust_rpc::json::from_str::<A>(&jb).expect("rust-rpc reads pbjson's JSON"),
        a,
        "{name}: rust-rpc reading pbjson's JSON"
    );
    assert_eq!(
        serde_json::from_str::<B>(&ja).expect("pbjson reads rust-rpc's JSON"),
        b,
        "{name}: pbjson reading rust-rpc's JSON"
    );
    let len = ja.len();
    Workload {
        name,
        bytes: len,
        cases: [
            Case {
                encode: ours_json_encode(a, len),
                decode: ours_json_decode::<A>(ja),
            },
            Case {
                encode: pbjson_encode(b, len),
                decode: pbjson_decode::<B>(jb),
            },
        ],
    }
}

fn build_json(name: &str) -> Workload {
    match name {
        "small" => json_workload("small", small_ours(), small_prost(), true),
        "large" => json_workload("large", large_ours(), large_prost(), true),
        "person" => json_workload("person", person_ours(), person_prost(), true),
        "mixed" => {
            // Everything but the map must match character for character.
            let mut a = mixed_ours();
            let mut b = mixed_prost();
            a.counters.retain(|k, _| k == "counter-07");
            b.counters.retain(|k, _| k == "counter-07");
            assert_eq!(
                rust_rpc::json::to_string(&a).expect("rust-rpc writes mixed"),
                serde_json::to_string(&b).expect("pbjson writes mixed"),
                "mixed with one map entry: JSON texts differ"
            );
            json_workload("mixed", mixed_ours(), mixed_prost(), false)
        }
        other => panic!("unknown workload {other:?} (small, mixed, large, person)"),
    }
}

fn build(name: &str, format: Format) -> Workload {
    match format {
        Format::Binary => build_binary(name),
        Format::Json => build_json(name),
    }
}

fn build_binary(name: &str) -> Workload {
    match name {
        "small" => workload("small", 22, 0, small_ours(), small_prost(), true),
        "large" => workload("large", 65544, 0, large_ours(), large_prost(), true),
        "person" => workload("person", 28, 0, person_ours(), person_prost(), true),
        "mixed" => {
            // Everything but the map must match byte for byte.
            let mut a = mixed_ours();
            let mut b = mixed_prost();
            a.counters.clear();
            b.counters.clear();
            assert_eq!(
                rust_rpc::Message::encode_to_vec(&a),
                prost::Message::encode_to_vec(&b),
                "mixed without the map: encodings differ"
            );
            // The map: a key-ordered single entry encodes identically too.
            a.counters.insert("counter-07".into(), 7_000_021);
            b.counters.insert("counter-07".into(), 7_000_021);
            assert_eq!(
                rust_rpc::Message::encode_to_vec(&a),
                prost::Message::encode_to_vec(&b),
                "mixed with one map entry: encodings differ"
            );
            workload("mixed", 1906, 2, mixed_ours(), mixed_prost(), false)
        }
        other => panic!("unknown workload {other:?} (small, mixed, large, person)"),
    }
}

// ---------------------------------------------------------------- timing

/// Runs `ops` for `dur` in batches of about a millisecond; returns ns per op.
fn time_ops(ops: &mut Ops, warmup: Duration, dur: Duration) -> f64 {
    // Warm up and find a batch size of about 1 ms.
    let mut batch = 1u64;
    let start = Instant::now();
    loop {
        let t = Instant::now();
        ops(batch);
        let took = t.elapsed();
        if took < Duration::from_micros(500) {
            batch *= 2;
        }
        if start.elapsed() >= warmup {
            break;
        }
    }
    let mut n = 0u64;
    let start = Instant::now();
    let elapsed = loop {
        ops(batch);
        n += batch;
        let e = start.elapsed();
        if e >= dur {
            break e;
        }
    };
    elapsed.as_nanos() as f64 / n as f64
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// (workload, stack, direction) -> median ns/op.
type Results = BTreeMap<(String, String, String), f64>;

/// Medians, and the fastest round of each (as a noise check), in ns/op.
fn run_wall_clock(workloads: &mut [Workload], opts: &Opts) -> (Results, Results) {
    let mut results = Results::new();
    let mut best = Results::new();
    for w in workloads.iter_mut() {
        let mut samples = [[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
        for round in 0..opts.rounds {
            // A, B then B, A: neither stack always goes first.
            let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for (d, _) in DIRECTIONS.iter().enumerate() {
                for &s in &order {
                    let case = &mut w.cases[s];
                    let ops = if d == 0 {
                        &mut case.encode
                    } else {
                        &mut case.decode
                    };
                    samples[s][d].push(time_ops(ops, opts.warmup, opts.duration));
                }
            }
        }
        for (s, stack) in opts.format.stacks().iter().enumerate() {
            for (d, dir) in DIRECTIONS.iter().enumerate() {
                let k = (w.name.to_owned(), (*stack).to_owned(), (*dir).to_owned());
                results.insert(k.clone(), median(&mut samples[s][d]));
                best.insert(k, samples[s][d][0]);
            }
        }
        if !opts.json {
            eprintln!("  measured {}", w.name);
        }
    }
    (results, best)
}

// ---------------------------------------------------------------- callgrind

/// The only function whose instructions callgrind counts (`--toggle-collect`).
#[inline(never)]
fn measured_ops(ops: &mut Ops, n: u64) {
    ops(black_box(n));
}

fn default_iterations(workload: &str, format: Format) -> u64 {
    let n = match workload {
        "small" | "person" => 20_000,
        "mixed" => 1_000,
        _ => 200,
    };
    // JSON costs several times what binary does.
    match format {
        Format::Binary => n,
        Format::Json => n / 4,
    }
}

fn run_once(only: &str, iterations: u64, format: Format) -> ExitCode {
    let parts: Vec<&str> = only.split(':').collect();
    let [wname, stack, dir] = parts[..] else {
        eprintln!("--only takes <workload>:<stack>:<encode|decode>");
        return ExitCode::from(2);
    };
    let stacks = format.stacks();
    let Some(s) = stacks.iter().position(|x| *x == stack) else {
        eprintln!("unknown stack {stack:?} ({})", stacks.join(", "));
        return ExitCode::from(2);
    };
    let mut w = build(wname, format);
    let case = &mut w.cases[s];
    let ops = match dir {
        "encode" => &mut case.encode,
        "decode" => &mut case.decode,
        _ => {
            eprintln!("unknown direction {dir:?} (encode, decode)");
            return ExitCode::from(2);
        }
    };
    // Warm caches and grow buffers outside the counted function.
    ops(10);
    measured_ops(ops, iterations);
    ExitCode::SUCCESS
}

/// Runs every combination under callgrind; (workload, stack, direction) -> Ir per op.
fn run_callgrind(
    names: &[&'static str],
    iterations: Option<u64>,
    format: Format,
) -> Result<Results, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("codec-bench-callgrind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut results = Results::new();
    for w in names {
        let n = iterations.unwrap_or_else(|| default_iterations(w, format));
        for stack in format.stacks() {
            for d in DIRECTIONS {
                let out = dir.join(format!("{w}-{stack}-{d}.out"));
                let status = Command::new("valgrind")
                    .arg("--tool=callgrind")
                    .arg("--collect-atstart=no")
                    .arg("--toggle-collect=*measured_ops*")
                    .arg(format!("--callgrind-out-file={}", out.display()))
                    .arg(&exe)
                    .args(["--format", format.name()])
                    .args(["--iterations", &n.to_string(), "--only"])
                    .arg(format!("{w}:{stack}:{d}"))
                    .output()
                    .map_err(|e| format!("running valgrind (apt-get install valgrind): {e}"))?;
                if !status.status.success() {
                    return Err(format!(
                        "valgrind failed for {w}:{stack}:{d}: {}",
                        String::from_utf8_lossy(&status.stderr)
                    ));
                }
                let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
                let total = text
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("totals:")
                            .or_else(|| l.strip_prefix("summary:"))
                    })
                    .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                    .ok_or_else(|| format!("no totals in {}", out.display()))?;
                if total == 0 {
                    return Err(format!("callgrind counted nothing for {w}:{stack}:{d}"));
                }
                results.insert(
                    ((*w).to_owned(), stack.to_owned(), d.to_owned()),
                    total as f64 / n as f64,
                );
                eprintln!(
                    "  callgrind {w}:{stack}:{d}: {:.0} Ir/op",
                    total as f64 / n as f64
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(results)
}

// ---------------------------------------------------------------- output

fn key(w: &str, s: &str, d: &str) -> (String, String, String) {
    (w.to_owned(), s.to_owned(), d.to_owned())
}

fn mbps(bytes: usize, ns: f64) -> f64 {
    bytes as f64 / ns * 1e3
}

fn print_table(
    names: &[&'static str],
    sizes: &BTreeMap<&str, usize>,
    wall: &Results,
    ir: &Results,
    format: Format,
) {
    let [ours, theirs] = format.stacks();
    let have_wall = !wall.is_empty();
    let have_ir = !ir.is_empty();
    let mut header = format!("{:<8} {:<9}", "workload", "stack");
    if have_wall {
        header += &format!(
            " {:>11} {:>11} {:>11} {:>11}",
            "enc MB/s", "enc ns/op", "dec MB/s", "dec ns/op"
        );
    }
    if have_ir {
        header += &format!(" {:>11} {:>11}", "enc Ir/op", "dec Ir/op");
    }
    header += &format!("  ratio vs {theirs} (enc, dec)");
    println!("{} format", format.name());
    println!("{header}");
    for w in names {
        for stack in format.stacks() {
            let mut line = format!("{w:<8} {stack:<9}");
            if have_wall {
                let e = wall[&key(w, stack, "encode")];
                let d = wall[&key(w, stack, "decode")];
                line += &format!(
                    " {:>11.0} {:>11.1} {:>11.0} {:>11.1}",
                    mbps(sizes[w], e),
                    e,
                    mbps(sizes[w], d),
                    d
                );
            }
            if have_ir {
                line += &format!(
                    " {:>11.0} {:>11.0}",
                    ir[&key(w, stack, "encode")],
                    ir[&key(w, stack, "decode")]
                );
            }
            if stack == ours {
                let mut parts = Vec::new();
                if have_wall {
                    parts.push(format!(
                        "time {:.2}x, {:.2}x",
                        wall[&key(w, theirs, "encode")] / wall[&key(w, stack, "encode")],
                        wall[&key(w, theirs, "decode")] / wall[&key(w, stack, "decode")]
                    ));
                }
                if have_ir {
                    parts.push(format!(
                        "Ir {:.2}x, {:.2}x",
                        ir[&key(w, theirs, "encode")] / ir[&key(w, stack, "encode")],
                        ir[&key(w, theirs, "decode")] / ir[&key(w, stack, "decode")]
                    ));
                }
                line += &format!("  {}", parts.join("; "));
            }
            println!("{line}");
        }
    }
}

fn print_json(
    names: &[&'static str],
    sizes: &BTreeMap<&str, usize>,
    wall: &Results,
    best: &Results,
    ir: &Results,
    opts: &Opts,
) {
    let [ours, theirs] = opts.format.stacks();
    let mut rows = Vec::new();
    for w in names {
        for stack in opts.format.stacks() {
            for d in DIRECTIONS {
                let k = key(w, stack, d);
                let mut fields = vec![
                    format!("\"workload\":\"{w}\""),
                    format!("\"stack\":\"{stack}\""),
                    format!("\"direction\":\"{d}\""),
                    format!("\"bytes\":{}", sizes[w]),
                ];
                if let Some(ns) = wall.get(&k) {
                    fields.push(format!("\"ns_per_op\":{ns:.2}"));
                    fields.push(format!("\"ns_per_op_best\":{:.2}", best[&k]));
                    fields.push(format!("\"mb_per_s\":{:.1}", mbps(sizes[w], *ns)));
                    if stack == ours {
                        let p = wall[&key(w, theirs, d)];
                        fields.push(format!("\"ratio_vs_{theirs}\":{:.3}", p / ns));
                    }
                }
                if let Some(i) = ir.get(&k) {
                    fields.push(format!("\"ir_per_op\":{i:.1}"));
                    if stack == ours {
                        let p = ir[&key(w, theirs, d)];
                        fields.push(format!("\"ir_ratio_vs_{theirs}\":{:.3}", p / i));
                    }
                }
                rows.push(format!("{{{}}}", fields.join(",")));
            }
        }
    }
    println!(
        "{{\"format\":\"{}\",\"duration_ms\":{},\"warmup_ms\":{},\"rounds\":{},\"results\":[{}]}}",
        opts.format.name(),
        opts.duration.as_millis(),
        opts.warmup.as_millis(),
        opts.rounds,
        rows.join(",")
    );
}

// ---------------------------------------------------------------- main

struct Opts {
    duration: Duration,
    warmup: Duration,
    rounds: usize,
    json: bool,
    format: Format,
    workloads: Vec<&'static str>,
    iterations: Option<u64>,
    only: Option<String>,
    callgrind: bool,
    no_wall: bool,
}

const USAGE: &str =
    "usage: codec-bench [--duration-ms N (300)] [--warmup-ms N (100)] [--rounds N (5)]
                   [--workloads small,mixed,large,person] [--format binary|json] [--json]
                   [--callgrind [--iterations N]] [--no-wall]
       codec-bench [--format binary|json] --iterations N
                   --only <workload>:<rust-rpc|prost|pbjson>:<encode|decode>";

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        duration: Duration::from_millis(300),
        warmup: Duration::from_millis(100),
        rounds: 5,
        json: false,
        format: Format::Binary,
        workloads: WORKLOADS.to_vec(),
        iterations: None,
        only: None,
        callgrind: false,
        no_wall: false,
    };
    let mut args = std::env::args().skip(1);
    let num = |v: Option<String>, flag: &str| -> Result<u64, String> {
        v.ok_or_else(|| format!("{flag} needs a value"))?
            .parse::<u64>()
            .map_err(|e| format!("{flag}: {e}"))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--duration-ms" => o.duration = Duration::from_millis(num(args.next(), &a)?),
            "--warmup-ms" => o.warmup = Duration::from_millis(num(args.next(), &a)?),
            "--rounds" => o.rounds = num(args.next(), &a)?.max(1) as usize,
            "--iterations" => o.iterations = Some(num(args.next(), &a)?),
            "--only" => o.only = Some(args.next().ok_or("--only needs a value")?),
            "--json" => o.json = true,
            "--format" => o.format = Format::parse(&args.next().ok_or("--format needs a value")?)?,
            "--callgrind" => o.callgrind = true,
            "--no-wall" => o.no_wall = true,
            "--workloads" => {
                let v = args.next().ok_or("--workloads needs a value")?;
                o.workloads = v
                    .split(',')
                    .map(|w| {
                        WORKLOADS
                            .iter()
                            .copied()
                            .find(|x| *x == w)
                            .ok_or_else(|| format!("unknown workload {w:?}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(only) = &opts.only {
        return run_once(only, opts.iterations.unwrap_or(1000), opts.format);
    }
    let mut workloads: Vec<Workload> = opts
        .workloads
        .iter()
        .map(|w| build(w, opts.format))
        .collect();
    let sizes: BTreeMap<&str, usize> = workloads.iter().map(|w| (w.name, w.bytes)).collect();
    let (wall, best) = if opts.no_wall {
        (Results::new(), Results::new())
    } else {
        run_wall_clock(&mut workloads, &opts)
    };
    let ir = if opts.callgrind {
        match run_callgrind(&opts.workloads, opts.iterations, opts.format) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        Results::new()
    };
    if opts.json {
        print_json(&opts.workloads, &sizes, &wall, &best, &ir, &opts);
    } else {
        print_table(&opts.workloads, &sizes, &wall, &ir, opts.format);
    }
    ExitCode::SUCCESS
}
