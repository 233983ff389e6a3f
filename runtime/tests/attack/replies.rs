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

/// 100 calls for a 1 MiB reply each from a client that never opens its
/// window (it sends no WINDOW_UPDATE), against a budget of 4 MiB: about
/// four replies wait, every other call ends at once with RESOURCE_EXHAUSTED,
/// and the heap holds about the budget. Bound: 32 MiB (without the budget
/// the replies would hold 100 MiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_a_client_never_reads_are_bounded_per_connection() {
    let _turn = serial().await;
    const CALLS: u32 = 100;
    let target = Target::with(
        Server::builder()
            .max_unsent_reply_bytes(4 * MIB)
            .add_service(SendServer::new(Big)),
    )
    .await;
    let bystander = Bystander::start(target.addr).await;
    let mut conn = Conn::open(target.addr).await;
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
    let memory = Memory::start();
    conn.send(&calls).await;
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
    let refused = refused(&conn);
    report(
        "replies_never_read",
        &memory,
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
    drop(conn);
    finish(target, bystander, 3).await;
}
