//! What every attacker case runs on: a real rust-rpc server on loopback (in
//! this process), a probe service that counts the handlers it runs, a
//! well-behaved client calling beside the attacker, and a count of the heap
//! bytes this process holds.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rust_rpc::transport::{Channel, Endpoint, Request, Response, Server, Status, Streaming};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::generated::svc::v1::{Calculator, CalculatorClient, CalculatorServer, Number, Text};

// ---- Memory: every heap byte of the process, counted as it is asked for ----
//
// Counting requested bytes (not resident pages) sees what `/proc/self/statm`
// misses: a `reserve` of 4 MiB that is never written costs no resident
// memory until it is, but it is address space that a thousand streams turn
// into gigabytes.

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap growth from the moment it was made.
pub struct Memory {
    base: usize,
}

impl Memory {
    /// Starts measuring: the peak is reset to what is live now.
    pub fn start() -> Self {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        Self { base }
    }

    /// The most the heap grew at any moment since `start`.
    pub fn peak_growth(&self) -> usize {
        PEAK.load(Ordering::Relaxed).saturating_sub(self.base)
    }

    /// What the heap holds now beyond what it held at `start` (negative
    /// if less).
    pub fn live_growth(&self) -> isize {
        LIVE.load(Ordering::Relaxed) as isize - self.base as isize
    }
}

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * 1024;

/// The cases share the process's heap counter (and its two cores): they
/// take turns. (An async lock: each case holds it across its awaits, and
/// a case that panics releases it.)
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

// ---- The probe service ----

/// Counts the handlers the server runs: how many started, how many are
/// running now, and the most that ran at once.
#[derive(Default)]
pub struct Counts {
    pub started: AtomicUsize,
    pub live: AtomicUsize,
    pub max_live: AtomicUsize,
}

impl Counts {
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }
    pub fn max_live(&self) -> usize {
        self.max_live.load(Ordering::SeqCst)
    }
}

/// Held by a running handler.
struct Running(Arc<Counts>);

impl Running {
    fn new(counts: &Arc<Counts>) -> Self {
        counts.started.fetch_add(1, Ordering::SeqCst);
        let now = counts.live.fetch_add(1, Ordering::SeqCst) + 1;
        counts.max_live.fetch_max(now, Ordering::SeqCst);
        Self(counts.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

fn num(value: i64) -> Number {
    Number {
        value,
        ..Default::default()
    }
}

type NumberStream =
    std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Number, Status>> + Send>>;

/// `Square` answers at once; `Sum` reads every request; `Sleep(ms)` waits
/// that long. Each counts itself in `counts` while it runs.
struct Probe {
    counts: Arc<Counts>,
}

impl Calculator for Probe {
    async fn square(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        let v = request.get_ref().value;
        // The bystander's calls are not the attack's.
        let _running = (v != BYSTANDER_VALUE).then(|| Running::new(&self.counts));
        Ok(Response::new(num(v.wrapping_mul(v))))
    }

    type CountToStream = NumberStream;

    async fn count_to(&self, _: Request<Number>) -> Result<Response<NumberStream>, Status> {
        Err(Status::unimplemented("not in the attacker suite"))
    }

    async fn sum(&self, request: Request<Streaming<Number>>) -> Result<Response<Number>, Status> {
        let _running = Running::new(&self.counts);
        let mut stream = request.into_inner();
        let mut total = 0i64;
        while let Some(n) = stream.message().await? {
            total = total.wrapping_add(n.value);
        }
        Ok(Response::new(num(total)))
    }

    type DoubleStream = NumberStream;

    async fn double(
        &self,
        _: Request<Streaming<Number>>,
    ) -> Result<Response<NumberStream>, Status> {
        Err(Status::unimplemented("not in the attacker suite"))
    }

    async fn sleep(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        let _running = Running::new(&self.counts);
        let ms = u64::try_from(request.get_ref().value).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(Response::new(num(0)))
    }

    async fn fail(&self, _: Request<Text>) -> Result<Response<Text>, Status> {
        Err(Status::unimplemented("not in the attacker suite"))
    }
}

pub const SQUARE: &str = "/svc.v1.Calculator/Square";
pub const SUM: &str = "/svc.v1.Calculator/Sum";
pub const SLEEP: &str = "/svc.v1.Calculator/Sleep";

/// A server under attack, stopped (gracefully, bounded) when dropped.
pub struct Target {
    pub addr: SocketAddr,
    pub counts: Arc<Counts>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Target {
    /// The server with default settings.
    pub async fn start() -> Self {
        Self::with(Server::builder()).await
    }

    pub async fn with(builder: Server) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let counts = Arc::new(Counts::default());
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(
            builder
                .add_service(CalculatorServer::new(Probe {
                    counts: counts.clone(),
                }))
                .serve_with_listener(listener, async {
                    let _ = stopped.await;
                }),
        );
        Self {
            addr,
            counts,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server: waits (bounded) for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    /// Waits (at most `patience`) until `cond` holds of the counts.
    pub async fn wait_for(&self, patience: Duration, cond: impl Fn(&Counts) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + patience;
        while tokio::time::Instant::now() < deadline {
            if cond(&self.counts) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cond(&self.counts)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

// ---- The bystander ----

/// Deadline of each bystander call. A call takes milliseconds here; two
/// seconds leave room for a loaded CI machine and a debug build, and are
/// still far below what a stalled connection task or an exhausted server
/// would cost (the case's whole run).
pub const BYSTANDER_DEADLINE: Duration = Duration::from_secs(2);

/// What the bystander squares; the probe does not count these calls.
const BYSTANDER_VALUE: i64 = 7;

/// A well-behaved client on a connection of its own, calling `Square` one
/// call after another (with a short pause) while the attack runs.
pub struct Bystander {
    stop: Option<oneshot::Sender<()>>,
    ok: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<Result<usize, String>>,
}

impl Bystander {
    pub async fn start(addr: SocketAddr) -> Self {
        let channel = Endpoint::new(format!("http://{addr}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("the bystander connects");
        let (stop, mut stopped) = oneshot::channel::<()>();
        let count = Arc::new(AtomicUsize::new(0));
        let ok_calls = count.clone();
        let task = tokio::spawn(async move {
            let mut client = CalculatorClient::new(channel);
            let mut ok = 0usize;
            loop {
                let started = tokio::time::Instant::now();
                let mut request = Request::new(num(BYSTANDER_VALUE));
                request.set_timeout(BYSTANDER_DEADLINE);
                match client.square(request).await {
                    Ok(r) if r.get_ref().value == BYSTANDER_VALUE * BYSTANDER_VALUE => {
                        ok += 1;
                        ok_calls.store(ok, Ordering::SeqCst);
                    }
                    Ok(r) => return Err(format!("call {ok}: wrong answer {:?}", r.get_ref())),
                    Err(s) => {
                        return Err(format!(
                            "call {} failed after {:?}: {:?} {}",
                            ok + 1,
                            started.elapsed(),
                            s.code(),
                            s.message()
                        ));
                    }
                }
                tokio::select! {
                    _ = &mut stopped => return Ok(ok),
                    () = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
            }
        });
        Self {
            stop: Some(stop),
            ok: count,
            task,
        }
    }

    /// Lets it make at least `min_calls` calls (waiting at most 10 s for
    /// them), stops it, and checks that every call succeeded within its
    /// deadline. Returns the number it made.
    pub async fn finish(mut self, min_calls: usize) -> usize {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.ok.load(Ordering::SeqCst) < min_calls
            && !self.task.is_finished()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let abort = self.task.abort_handle();
        let result = match tokio::time::timeout(BYSTANDER_DEADLINE * 2, &mut self.task).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(format!("the bystander panicked: {e}")),
            Err(_) => {
                abort.abort();
                Err("the bystander's last call did not end within its deadline".into())
            }
        };
        match result {
            Ok(n) => {
                assert!(
                    n >= min_calls,
                    "the bystander made only {n} calls (< {min_calls})"
                );
                n
            }
            Err(e) => panic!("the bystander failed: {e}"),
        }
    }
}

/// One more call, on a new channel: the server still serves.
pub async fn still_serves(addr: SocketAddr) {
    let channel = Channel::from_uri(format!("http://{addr}")).expect("uri");
    let mut client = CalculatorClient::new(channel);
    let mut request = Request::new(num(3));
    request.set_timeout(BYSTANDER_DEADLINE);
    let r = client
        .square(request)
        .await
        .expect("the server still serves");
    assert_eq!(r.get_ref().value, 9);
}
