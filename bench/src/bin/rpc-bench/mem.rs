//! `rpc-bench mem`: what a server's memory grows by per idle connection and
//! per open stream.
//!
//! ```text
//! rpc-bench mem --stack rust-rpc|tonic [--connections N (100)]
//!     [--streams-per-connection M (100)] [--message-size B (16)]
//!     [--settle-ms S (500)] [--timeout-s T (60)] [--addr HOST:PORT --pid P]
//! ```
//!
//! It starts the stack's server as a child process (this binary's `server`
//! mode, on a free loopback port), so what is measured is that process
//! alone: its `/proc/<pid>/status` (`VmRSS`, `RssAnon`, `VmHWM`) is read
//!
//! 1. after a warm-up (one connection, one stream with one message each way,
//!    closed again: the code those paths run is paged in and lazy statics
//!    are built, so they are not counted as the first connection's cost);
//! 2. with N idle connections open: HTTP/2 handshake done (a PING answered,
//!    so the server has read the preface and SETTINGS), no calls;
//! 3. with M open streams on each of them: a `FullDuplexCall` whose request
//!    stream stays open and empty, so the server holds the call, having
//!    answered its response headers (which the client waits for);
//! 4. after one message each way on every stream (a request of B payload
//!    bytes, answered with B bytes), the streams still open.
//!
//! Each read waits `--settle-ms` first. The client is raw `h2` in this
//! process, so it costs the server nothing beyond the frames it sends. The
//! server's own `SETTINGS_MAX_CONCURRENT_STREAMS` is read off the
//! connection; M above it is refused before anything starts.
//!
//! It prints one JSON line: the four readings (bytes) and the quotients:
//! `per_idle_connection` = (2 - 1) / N, `per_open_stream` = (3 - 2) / (N M),
//! `per_stream_after_message` = (4 - 2) / (N M), from `VmRSS` (and the same
//! from `RssAnon`, which leaves out pages of the binary and libraries, as
//! `*_anon`). The run is bounded by `--timeout-s`; the server is killed by
//! its pid on every way out.
//!
//! `--addr HOST:PORT --pid P` measures a server that is already running
//! instead (started by hand, say under a heap profiler, or another
//! implementation of `grpc.testing.TestService`), and leaves it running;
//! `--stack` then only names it in the output.

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use h2::{RecvStream, SendStream};
use rust_rpc::Message;

use super::ours::grpc::testing::{
    Payload, ResponseParameters, StreamingOutputCallRequest, StreamingOutputCallResponse,
};
use super::{Flags, Stack};

const PATH: &str = "/grpc.testing.TestService/FullDuplexCall";

/// One reading of a process's memory, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// Resident set (`VmRSS`).
    pub rss: u64,
    /// Its anonymous part (`RssAnon`): heap, stacks, no file-backed pages.
    pub anon: u64,
    /// The most resident so far (`VmHWM`).
    pub hwm: u64,
}

impl Memory {
    /// Reads `/proc/<pid>/status`.
    pub fn of(pid: u32) -> Result<Self, String> {
        let path = format!("/proc/{pid}/status");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        Self::parse(&text).map_err(|e| format!("{path}: {e}"))
    }

    /// The `VmRSS`, `RssAnon` and `VmHWM` lines of a `status` file (in kB,
    /// which the kernel means as KiB).
    pub fn parse(status: &str) -> Result<Self, String> {
        let field = |name: &str| -> Result<u64, String> {
            let line = status
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .ok_or_else(|| format!("no {name} line"))?;
            let kib = line
                .trim()
                .strip_suffix("kB")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| format!("{name}: {line:?} is not a size in kB"))?;
            Ok(kib * 1024)
        };
        Ok(Self {
            rss: field("VmRSS")?,
            anon: field("RssAnon")?,
            hwm: field("VmHWM")?,
        })
    }

    fn json(&self) -> String {
        format!(
            "{{\"rss\":{},\"anon\":{},\"hwm\":{}}}",
            self.rss, self.anon, self.hwm
        )
    }
}

/// `(after - before) / n`, signed: memory can also shrink.
fn per(after: u64, before: u64, n: usize) -> i64 {
    let delta = i128::from(after) - i128::from(before);
    i64::try_from(delta / n.max(1) as i128).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------- server

/// The server under measurement: a child process killed (by its pid) and
/// reaped when this is dropped, or one started by someone else.
struct ServerProcess {
    child: Option<Child>,
    pid: u32,
    addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `rpc-bench server --stack S --port 0` and waits (at most
    /// `patience`) for its `listening on ADDR` line.
    fn start(stack: Stack, patience: Duration) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
        let mut child = Command::new(exe)
            .args(["server", "--stack", stack.name(), "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the {} server: {e}", stack.name()))?;
        let stdout = child.stdout.take();
        // From here on, Drop kills the child whatever happens.
        let mut server = Self {
            pid: child.id(),
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let stdout = stdout.ok_or("the server's stdout is not a pipe")?;
        let (tx, rx) = std::sync::mpsc::channel();
        // A thread, so that the wait is bounded; it ends when the server's
        // stdout closes (at the latest when the server is killed).
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep reading, so that the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx.recv_timeout(patience).map_err(|_| {
            format!(
                "the {} server did not say where it listens within {patience:?}",
                stack.name()
            )
        })?;
        server.addr = line
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("the server said {line:?}, not `listening on ADDR`"))?;
        Ok(server)
    }

    /// A server that is already running, process `pid`, at `addr`: it is
    /// measured, never stopped.
    fn running(addr: SocketAddr, pid: u32) -> Result<Self, String> {
        Memory::of(pid)?;
        Ok(Self {
            child: None,
            pid,
            addr,
        })
    }

    fn memory(&self) -> Result<Memory, String> {
        Memory::of(self.pid)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------- client

/// One client connection: raw h2, its connection driven by a task.
struct Conn {
    send: h2::client::SendRequest<Bytes>,
    driver: tokio::task::JoinHandle<()>,
    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS (`usize::MAX`: none).
    max_streams: usize,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl Conn {
    /// Connects, and waits until a PING is answered: by then the server has
    /// read the preface and our SETTINGS, and we have its SETTINGS.
    async fn open(addr: SocketAddr) -> Result<Self, String> {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let (send, mut connection) = h2::client::handshake(tcp)
            .await
            .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
        let mut ping = connection
            .ping_pong()
            .ok_or("the connection gave no PING handle")?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut conn = Self {
            send,
            driver,
            max_streams: 0,
        };
        ping.ping(h2::Ping::opaque())
            .await
            .map_err(|e| format!("PING: {e}"))?;
        conn.max_streams = conn.send.current_max_send_streams();
        Ok(conn)
    }

    /// Opens a `FullDuplexCall` and waits for the server's response
    /// headers: the call runs, its request stream open and empty.
    async fn open_stream(&self, addr: SocketAddr) -> Result<Open, String> {
        let mut send = self
            .send
            .clone()
            .ready()
            .await
            .map_err(|e| format!("connection not ready: {e}"))?;
        let request = http::Request::builder()
            .method(http::Method::POST)
            .uri(format!("http://{addr}{PATH}"))
            .header(http::header::CONTENT_TYPE, "application/grpc")
            .header(http::header::TE, "trailers")
            .body(())
            .map_err(|e| e.to_string())?;
        let (response, send) = send
            .send_request(request, false)
            .map_err(|e| format!("cannot open a stream: {e}"))?;
        let response = response
            .await
            .map_err(|e| format!("no response headers: {e}"))?;
        if response.status() != http::StatusCode::OK
            || response.headers().contains_key("grpc-status")
        {
            // A trailers-only answer is the call failing at once.
            return Err(format!(
                "the call was not taken up: {} {:?}",
                response.status(),
                response.headers()
            ));
        }
        Ok(Open {
            send,
            recv: response.into_body(),
        })
    }
}

/// A call that is running on the server, both directions open.
struct Open {
    send: SendStream<Bytes>,
    recv: RecvStream,
}

impl Open {
    /// Sends one request message and reads one response; the stream stays
    /// open. Checks that the response carries `size` payload bytes.
    async fn exchange(&mut self, request: Bytes, size: usize) -> Result<(), String> {
        self.send
            .send_data(request, false)
            .map_err(|e| format!("cannot send: {e}"))?;
        let mut buf = BytesMut::new();
        let message = loop {
            if buf.len() >= 5 {
                let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
                if buf.len() >= 5 + len {
                    buf.advance(5);
                    break buf.split_to(len);
                }
            }
            match self.recv.data().await {
                Some(Ok(chunk)) => {
                    let _ = self.recv.flow_control().release_capacity(chunk.len());
                    buf.extend_from_slice(&chunk);
                }
                Some(Err(e)) => return Err(format!("reading the response: {e}")),
                None => return Err("the server ended the stream".into()),
            }
        };
        let response = StreamingOutputCallResponse::decode_slice(&message)
            .map_err(|e| format!("a response that does not decode: {e}"))?;
        let got = response.payload.map_or(0, |p| p.body.len());
        if got != size {
            return Err(format!("a response of {got} payload bytes, not {size}"));
        }
        Ok(())
    }
}

/// One gRPC message (uncompressed) of a `StreamingOutputCallRequest` that
/// carries `size` payload bytes and asks for `size` back.
fn request_message(size: usize) -> Bytes {
    let request = StreamingOutputCallRequest {
        response_parameters: vec![ResponseParameters {
            size: size as i32,
            ..Default::default()
        }],
        payload: Some(Payload {
            body: vec![0; size],
            ..Default::default()
        }),
        ..Default::default()
    };
    let body = request.encode_to_vec();
    let mut frame = Vec::with_capacity(5 + body.len());
    frame.push(0);
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    Bytes::from(frame)
}

/// Opens `per_conn` streams on each connection, all at once.
async fn open_streams(
    conns: &[Conn],
    addr: SocketAddr,
    per_conn: usize,
) -> Result<Vec<Open>, String> {
    let opens = conns
        .iter()
        .flat_map(|c| (0..per_conn).map(move |_| c.open_stream(addr)));
    futures_util::future::try_join_all(opens).await
}

// ------------------------------------------------------------------ run

pub async fn mem(flags: &Flags) -> Result<(), String> {
    let stack = Stack::parse(flags.required("stack")?)?;
    let connections: usize = flags.number("connections", Some(100))?;
    let per_conn: usize = flags.number("streams-per-connection", Some(100))?;
    let size: usize = flags.number("message-size", Some(16))?;
    let settle = Duration::from_millis(flags.number("settle-ms", Some(500))?);
    let timeout = flags.seconds("timeout-s", Some(60.0))?;
    if connections == 0 {
        return Err("--connections must be at least 1".into());
    }
    if size > i32::MAX as usize {
        return Err("--message-size is too large".into());
    }
    let began = Instant::now();
    let mut stop = StopSignal::listen();
    let server = match flags.get("addr") {
        None => ServerProcess::start(stack, Duration::from_secs(10))?,
        Some(addr) => {
            let addr = addr
                .parse()
                .map_err(|_| format!("--addr: {addr:?} is not HOST:PORT"))?;
            ServerProcess::running(addr, flags.number("pid", None)?)?
        }
    };
    eprintln!("rpc-bench mem {}: server pid {}", stack.name(), server.pid);
    let run = measure(&server, stack, connections, per_conn, size, settle);
    let result = tokio::select! {
        r = tokio::time::timeout(timeout, run) => match r {
            Ok(r) => r,
            Err(_) => Err(format!("the run took longer than {timeout:?}")),
        },
        signal = stop.received() => Err(format!("stopped by {signal}")),
    };
    // Killed on every way out, an error or a signal included.
    drop(server);
    let fields = result?;
    println!(
        "{{{fields},\"elapsed_ms\":{}}}",
        began.elapsed().as_millis()
    );
    Ok(())
}

/// SIGINT or SIGTERM: the run stops and the server is killed. Listening
/// starts when this is made (before the server is), so neither signal can
/// kill this process without the server. (Never ready, if neither can be
/// listened for.)
struct StopSignal {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl StopSignal {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                terminate: signal(SignalKind::terminate()).ok(),
                interrupt: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn received(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            async fn on(signal: &mut Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = on(&mut self.terminate) => "SIGTERM",
                () = on(&mut self.interrupt) => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        std::future::pending().await
    }
}

async fn measure(
    server: &ServerProcess,
    stack: Stack,
    connections: usize,
    per_conn: usize,
    size: usize,
    settle: Duration,
) -> Result<String, String> {
    let addr = server.addr;
    let request = request_message(size);
    let read = || async {
        tokio::time::sleep(settle).await;
        server.memory()
    };
    let say = |what: &str, m: &Memory| {
        eprintln!(
            "rpc-bench mem {}: {what}: VmRSS {} KiB, RssAnon {} KiB",
            stack.name(),
            m.rss / 1024,
            m.anon / 1024
        );
    };

    // 1. Warm-up, then the baseline.
    {
        let conn = Conn::open(addr).await?;
        let mut open = conn.open_stream(addr).await?;
        open.exchange(request.clone(), size).await?;
    }
    let base = read().await?;
    say("idle server", &base);

    // 2. Idle connections.
    let conns =
        futures_util::future::try_join_all((0..connections).map(|_| Conn::open(addr))).await?;
    let max_streams = conns.iter().map(|c| c.max_streams).min().unwrap_or(0);
    if per_conn > max_streams {
        return Err(format!(
            "--streams-per-connection {per_conn} is over the server's limit of {max_streams}"
        ));
    }
    let idle = read().await?;
    say(&format!("{connections} idle connections"), &idle);

    // 3. Open streams.
    let t = Instant::now();
    let mut opens = open_streams(&conns, addr, per_conn).await?;
    let open_ms = t.elapsed().as_millis();
    let streams = opens.len();
    let open = read().await?;
    say(&format!("{streams} open streams"), &open);

    // 4. One message each way on every stream.
    futures_util::future::try_join_all(opens.iter_mut().map(|o| o.exchange(request.clone(), size)))
        .await?;
    let after = read().await?;
    say(
        &format!("{streams} streams after a message each way"),
        &after,
    );

    let limit = if max_streams == usize::MAX {
        "null".to_owned()
    } else {
        max_streams.to_string()
    };
    // The fields of the JSON line; the caller adds the time and the braces.
    Ok(format!(
        "\"stack\":\"{}\",\"connections\":{connections},\"streams_per_connection\":{per_conn},\
\"streams\":{streams},\"message_size\":{size},\"max_concurrent_streams\":{limit},\
\"open_streams_ms\":{open_ms},\"base\":{},\"idle\":{},\"open\":{},\"after_message\":{},\
\"per_idle_connection\":{},\"per_open_stream\":{},\"per_stream_after_message\":{},\
\"per_idle_connection_anon\":{},\"per_open_stream_anon\":{},\"per_stream_after_message_anon\":{}",
        stack.name(),
        base.json(),
        idle.json(),
        open.json(),
        after.json(),
        per(idle.rss, base.rss, connections),
        per(open.rss, idle.rss, streams),
        per(after.rss, idle.rss, streams),
        per(idle.anon, base.anon, connections),
        per(open.anon, idle.anon, streams),
        per(after.anon, idle.anon, streams),
    ))
}

#[cfg(test)]
mod tests {
    use super::{Memory, per};

    #[test]
    fn status_lines_are_read_in_bytes() {
        let status = "Name:\trpc-bench\nVmPeak:\t  900 kB\nVmHWM:\t    2048 kB\n\
VmRSS:\t    1024 kB\nRssAnon:\t     512 kB\nRssFile:\t     512 kB\n";
        assert_eq!(
            Memory::parse(status),
            Ok(Memory {
                rss: 1 << 20,
                anon: 1 << 19,
                hwm: 2 << 20
            })
        );
        assert!(Memory::parse("VmRSS:\t 12 kB\n").is_err());
        assert!(Memory::parse("VmRSS:\t twelve kB\nRssAnon: 1 kB\nVmHWM: 1 kB\n").is_err());
    }

    #[test]
    fn this_process_has_resident_memory() {
        let m = Memory::of(std::process::id()).expect("own status");
        assert!(m.rss > 0 && m.anon > 0 && m.hwm >= m.rss, "{m:?}");
    }

    #[test]
    fn per_unit_is_signed() {
        assert_eq!(per(3000, 1000, 2), 1000);
        assert_eq!(per(1000, 3000, 2), -1000);
        assert_eq!(per(5, 1, 0), 4);
    }
}
