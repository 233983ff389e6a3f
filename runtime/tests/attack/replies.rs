//! Clients that never read their replies: the replies waiting for their
//! window are bounded per connection (`max_unsent_reply_bytes`), those past
//! the bound end at once with RESOURCE_EXHAUSTED in their trailers, and
//! the heap holds the bound, not every reply.

use std::time::Duration;

use rust_rpc::codegen::Message;
use rust_rpc::transport::{Request, Response, Server, Status, Streaming};

use crate::frames::*;
use crate::generated::svc::v1::{Send as SendService, SendServer, Text};
use crate::harness::*;
use crate::{finish, report};

type TextStream = std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Text, Status>> + Send>>;

/// `Connect` answers with a text as long as the number it is sent.
struct Big;

/// `Connect` answers as `Big` does, but only once `release` says so: the
/// handlers of calls that came together finish together.
struct Together {
    arrived: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    release: tokio::sync::watch::Receiver<bool>,
}

impl SendService for Together {
    async fn connect_(&self, request: Request<Text>) -> Result<Response<Text>, Status> {
        self.arrived
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut release = self.release.clone();
        release
            .wait_for(|go| *go)
            .await
            .map_err(|_| Status::unavailable("the test ended"))?;
        Big.connect_(request).await
    }
    async fn new_(&self, _: Request<Text>) -> Result<Response<Text>, Status> {
        Err(Status::unimplemented("not in the attacker suite"))
    }
    async fn clone_(&self, _: Request<Text>) -> Result<Response<Text>, Status> {
        Err(Status::unimplemented("not in the attacker suite"))
    }
    type CallStream = TextStream;
    async fn call(&self, _: Request<Streaming<Text>>) -> Result<Response<TextStream>, Status> {
        Err(Status::unimplemented("not in the attacker suite"))
    }
}

impl SendService for Big {
    async fn connect_(&self, request: Request<Text>) -> Result<Response<Text>, Status> {
        let len: usize = request
            .get_ref()
            .value
            .parse()
            .map_err(|_| Status::invalid_argument("a length"))?;
        Ok(Response::new(Text {
            value: "x".repeat(len),
            ..Default::default()
        }))
    }
    async fn new_(&self, _: Request<Text>) -> Result<Response<Text>, Status> {
        Err(Status::unimplemented("not in the attacker suite"))
    }
    async fn clone_(&self, _: Request<Text>) -> Result<Response<Text>, Status> {
        Err(Status::unimplemented("not in the attacker suite"))
    }
    type CallStream = TextStream;
    async fn call(&self, _: Request<Streaming<Text>>) -> Result<Response<TextStream>, Status> {
        Err(Status::unimplemented("not in the attacker suite"))
    }
}

const CONNECT: &str = "/svc.v1.Send/Connect";

/// How many calls the cases make on their one connection.
const CALLS: u32 = 100;

/// `CALLS` calls, each asking for a 1 MiB reply, as frames.
fn megabyte_calls() -> Vec<u8> {
    let ask = Text {
        value: MIB.to_string(),
        ..Default::default()
    }
    .encode_to_vec();
    let mut calls = Vec::new();
    for i in 0..CALLS {
        let id = 1 + 2 * i;
        calls.extend(headers(id, &Block::grpc_request(CONNECT).0, false));
        calls.extend(data(id, &grpc_message(false, ask.len() as u32, &ask), true));
    }
    calls
}

/// Reads what the server sends (granting no window) until all but a few
/// of the calls ended with RESOURCE_EXHAUSTED, then checks that, and that
/// the heap grew by less than 32 MiB since `memory` started.
async fn all_but_a_few_refused(conn: &mut Conn, memory: &Memory, case: &str) {
    let refused = |c: &Conn| {
        (0..CALLS)
            .filter(|i| c.reply(1 + 2 * i).get("grpc-status") == Some("8"))
            .count()
    };
    conn.read_until(Duration::from_secs(20), |c| {
        refused(c) >= CALLS as usize - 8
    })
    .await;
    // What is left waits: give it a moment to show what it holds.
    conn.drain_for(Duration::from_millis(300)).await;
    let refused = refused(conn);
    report(
        case,
        memory,
        &format!(", {refused} of {CALLS} calls refused"),
    );
    assert!(
        refused >= CALLS as usize - 8,
        "{refused} of {CALLS} calls refused with RESOURCE_EXHAUSTED"
    );
    assert!(
        memory.peak_growth() < 32 * MIB,
        "{} KiB",
        memory.peak_growth() / KIB
    );
}

/// 100 calls for a 1 MiB reply each from a client that never opens its
/// window (it sends no WINDOW_UPDATE), against a budget of 4 MiB: about
/// four replies wait, every other call ends at once with RESOURCE_EXHAUSTED,
/// and the heap holds about the budget. Bound: 32 MiB (without the budget
/// the replies would hold 100 MiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_a_client_never_reads_are_bounded_per_connection() {
    let _turn = serial().await;
    let target = Target::with(
        Server::builder()
            .max_unsent_reply_bytes(4 * MIB)
            .add_service(SendServer::new(Big)),
    )
    .await;
    let bystander = Bystander::start(target.addr).await;
    let mut conn = Conn::open(target.addr).await;
    let calls = megabyte_calls();
    let memory = Memory::start();
    conn.send(&calls).await;
    all_but_a_few_refused(&mut conn, &memory, "replies_never_read").await;
    drop(conn);
    finish(target, bystander, 3).await;
}

/// 100 calls whose handlers all answer 1 MiB at the same instant, on a
/// connection that never reads: a reply that large is encoded on tokio's
/// blocking pool, and it is counted against the budget before it goes
/// there, so the calls past the budget end at once and their messages are
/// dropped, instead of all 100 waiting in the pool's queue with their
/// messages and their encodings (70 MiB and more). Bound: 32 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_replies_finished_together_wait_within_the_budget() {
    let _turn = serial().await;
    finished_together(false).await;
}

/// The same, for a server with a tower layer (its calls go through
/// `Routes`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_replies_behind_layers_wait_within_the_budget() {
    let _turn = serial().await;
    finished_together(true).await;
}

async fn finished_together(layered: bool) {
    let arrived = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (release, released) = tokio::sync::watch::channel(false);
    let mut builder = Server::builder()
        .max_unsent_reply_bytes(4 * MIB)
        .max_concurrent_streams(200);
    if layered {
        builder = builder.layer(tower::layer::util::Identity::new());
    }
    let target = Target::with(builder.add_service(SendServer::new(Together {
        arrived: arrived.clone(),
        release: released,
    })))
    .await;
    let bystander = Bystander::start(target.addr).await;
    let mut conn = Conn::open(target.addr).await;
    conn.send(&megabyte_calls()).await;
    let waited = std::time::Instant::now();
    while arrived.load(std::sync::atomic::Ordering::SeqCst) < CALLS as usize {
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "only {} of {CALLS} handlers started",
            arrived.load(std::sync::atomic::Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let memory = Memory::start();
    release.send_replace(true);
    let case = if layered {
        "large_replies_together_layered"
    } else {
        "large_replies_together"
    };
    all_but_a_few_refused(&mut conn, &memory, case).await;
    drop(conn);
    finish(target, bystander, 3).await;
}
