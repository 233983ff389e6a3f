//! Connection management under attack: connections that never send the
//! preface, clients that ping too often, silent clients, idle and aged
//! connections, and more connections than the cap. Each case runs with the
//! bystander beside it, as every case of the suite does.

use std::time::Duration;

use rust_rpc::transport::Server;

use crate::frames::*;
use crate::harness::*;
use crate::{call, finish, report};

/// NO_ERROR (RFC 9113 section 7): a graceful GOAWAY.
const NO_ERROR: u32 = 0x0;

fn goaway_debug(frame: &Frame) -> &[u8] {
    frame.payload.get(8..).unwrap_or(&[])
}

/// 200 connections that send nothing and 50 that send half the preface,
/// against a handshake timeout of 300 ms: every one is closed by the
/// server within a few seconds, and holding them costs bounded memory.
/// Bound: 16 MiB, 64 KiB a connection for both its ends, which are both in
/// this process (measured: 8 MiB; h2's buffers on the server side, the
/// attacker's on the other).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_send_the_preface_are_closed() {
    let _turn = serial().await;
    let target =
        Target::with(Server::builder().handshake_timeout(Duration::from_millis(300))).await;
    let bystander = Bystander::start(target.addr).await;
    let memory = Memory::start();
    let mut silent = Vec::new();
    for i in 0..250 {
        let mut conn = Conn::connect(target.addr).await;
        if i >= 200 {
            conn.send(&PREFACE[..12]).await;
        }
        silent.push(conn);
    }
    let mut closed = 0;
    for conn in &mut silent {
        if !conn.read_until(Duration::from_secs(5), |c| c.closed).await {
            continue;
        }
        closed += 1;
    }
    report(
        "never_sending_the_preface",
        &memory,
        &format!(", {closed} of 250 closed"),
    );
    assert_eq!(closed, 250, "connections without a preface left open");
    assert!(
        memory.peak_growth() < 16 * MIB,
        "{} KiB",
        memory.peak_growth() / KIB
    );
    drop(silent);
    finish(target, bystander, 3).await;
}

/// Four PINGs at once from a client without calls: the third one out of
/// policy ends the connection with GOAWAY(ENHANCE_YOUR_CALM) and debug data
/// `too_many_pings`, as gRPC servers do (gRFC A8), and the server closes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_pings_too_often_gets_too_many_pings() {
    let _turn = serial().await;
    let target = Target::start().await;
    let bystander = Bystander::start(target.addr).await;
    let mut conn = Conn::open(target.addr).await;
    let mut pings = Vec::new();
    for i in 0..4u64 {
        pings.extend(ping(i.to_be_bytes()));
    }
    conn.send(&pings).await;
    let ended = conn
        .read_until(Duration::from_secs(5), |c| c.goaway.is_some() && c.closed)
        .await;
    let goaway = conn.goaway.as_ref().expect("a GOAWAY");
    assert!(ended, "the connection stays open after the GOAWAY");
    assert_eq!(goaway.error_code(), Some(ENHANCE_YOUR_CALM));
    assert_eq!(goaway_debug(goaway), b"too_many_pings");
    let acks = conn
        .seen
        .iter()
        .filter(|f| f.kind == PING && f.flags & ACK != 0)
        .count();
    assert!(acks <= 3, "{acks} pings answered, the fourth too");
    finish(target, bystander, 3).await;
}

/// A flood of PINGs on a connection with 20 calls open: GOAWAY
/// too_many_pings again, and those calls end with the connection; the
/// flood costs bounded memory. Bound: 2 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_with_calls_open_ends_its_connection() {
    let _turn = serial().await;
    let target = Target::start().await;
    let bystander = Bystander::start(target.addr).await;
    let mut conn = Conn::open(target.addr).await;
    let mut open = Vec::new();
    for i in 0..20u32 {
        open.extend(headers(1 + 2 * i, &call(SUM), false));
    }
    conn.send(&open).await;
    assert!(
        target
            .wait_for(Duration::from_secs(5), |c| c.live() == 20)
            .await,
        "the 20 calls did not start"
    );
    let mut flood = Vec::new();
    for i in 0..10_000u64 {
        flood.extend(ping(i.to_be_bytes()));
    }
    let memory = Memory::start();
    conn.try_send(&flood, Duration::from_secs(2)).await;
    conn.read_until(Duration::from_secs(5), |c| c.goaway.is_some() && c.closed)
        .await;
    report("ping_flood_with_calls", &memory, "");
    let goaway = conn.goaway.as_ref().expect("a GOAWAY");
    assert_eq!(goaway.error_code(), Some(ENHANCE_YOUR_CALM));
    assert_eq!(goaway_debug(goaway), b"too_many_pings");
    assert_eq!(
        u32::from_be_bytes(goaway.payload[..4].try_into().expect("4 bytes")),
        39,
        "the last stream the client opened"
    );
    assert!(
        memory.peak_growth() < 2 * MIB,
        "{} KiB",
        memory.peak_growth() / KIB
    );
    finish(target, bystander, 3).await;
}

/// Pings spaced as the server allows (every 150 ms against a minimum of
/// 100 ms, without calls where permitted) are all answered, and the
/// connection stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_within_policy_are_answered() {
    let _turn = serial().await;
    let target = Target::with(
        Server::builder()
            .min_client_ping_interval(Duration::from_millis(100))
            .permit_client_pings_without_calls(true),
    )
    .await;
    let bystander = Bystander::start(target.addr).await;
    let mut conn = Conn::open(target.addr).await;
    for i in 0..6u64 {
        conn.send(&ping(i.to_be_bytes())).await;
        conn.drain_for(Duration::from_millis(150)).await;
    }
    let acks = conn
        .seen
        .iter()
        .filter(|f| f.kind == PING && f.flags & ACK != 0)
        .count();
    assert_eq!(acks, 6);
    assert!(conn.goaway.is_none(), "GOAWAY {:?}", conn.goaway);
    assert!(!conn.closed);
    finish(target, bystander, 3).await;
}

/// Keepalive (time 200 ms, timeout 300 ms): a client that sends nothing is
/// pinged, and when it does not answer, its connection is closed; one that
/// answers each ping keeps its connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_pinged_and_dropped_when_it_does_not_answer() {
    let _turn = serial().await;
    let target = Target::with(
        Server::builder()
            .keepalive_time(Some(Duration::from_millis(200)))
            .keepalive_timeout(Duration::from_millis(300)),
    )
    .await;
    let bystander = Bystander::start(target.addr).await;
    let mut mute = Conn::open(target.addr).await;
    let mut answering = Conn::open(target.addr).await;
    let until = tokio::time::Instant::now() + Duration::from_millis(1500);
    let mut answered = 0;
    while tokio::time::Instant::now() < until {
        answering.drain_for(Duration::from_millis(20)).await;
        let pings: Vec<[u8; 8]> = answering.seen[answered..]
            .iter()
            .filter(|f| f.kind == PING && f.flags & ACK == 0)
            .filter_map(|f| f.payload.as_slice().try_into().ok())
            .collect();
        answered = answering.seen.len();
        for payload in pings {
            answering.send(&frame(PING, ACK, 0, &payload)).await;
        }
        mute.drain_for(Duration::from_millis(20)).await;
    }
    mute.read_until(Duration::from_secs(3), |c| c.closed).await;
    let pinged = |c: &Conn| {
        c.seen
            .iter()
            .filter(|f| f.kind == PING && f.flags & ACK == 0)
            .count()
    };
    assert!(pinged(&mute) >= 1, "the silent client was never pinged");
    assert!(mute.closed, "the silent client's connection is still open");
    assert!(
        pinged(&answering) >= 3,
        "{} pings in 1.5 s at a 200 ms keepalive",
        pinged(&answering)
    );
    assert!(!answering.closed, "the answering client was dropped");
    assert!(answering.goaway.is_none());
    finish(target, bystander, 3).await;
}

/// max_connection_idle 300 ms: an idle connection gets a graceful GOAWAY
/// (NO_ERROR); one with a call open does not, until its call ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_sent_away() {
    let _turn = serial().await;
    let target =
        Target::with(Server::builder().max_connection_idle(Some(Duration::from_millis(300)))).await;
    let bystander = Bystander::start(target.addr).await;
    let mut idle = Conn::open(target.addr).await;
    let mut busy = Conn::open(target.addr).await;
    busy.send(&headers(1, &call(SUM), false)).await;
    let went = idle
        .read_until(Duration::from_secs(3), |c| c.goaway.is_some())
        .await;
    assert!(went, "the idle connection got no GOAWAY");
    assert_eq!(
        idle.goaway.as_ref().and_then(Frame::error_code),
        Some(NO_ERROR)
    );
    busy.drain_for(Duration::from_millis(300)).await;
    assert!(
        busy.goaway.is_none(),
        "a connection with a call open was sent away as idle"
    );
    // The call ends (an empty client stream), and then the connection is idle.
    busy.send(&data(1, &[], true)).await;
    let went = busy
        .read_until(Duration::from_secs(3), |c| c.goaway.is_some())
        .await;
    assert!(went, "the connection got no GOAWAY once idle");
    assert!(
        busy.reply(1).get("grpc-status") == Some("0"),
        "the call finished before the GOAWAY: {:?}",
        busy.reply(1)
    );
    finish(target, bystander, 3).await;
}

/// max_connection_age 300 ms with 400 ms of grace: GOAWAY comes at about
/// the age (give or take 10%), new calls are refused, and the connection is
/// closed when the grace ends though its call is still running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aged_connections_go_away_then_close_after_the_grace() {
    let _turn = serial().await;
    let target = Target::with(
        Server::builder()
            .max_connection_age(Some(Duration::from_millis(300)))
            .max_connection_age_grace(Some(Duration::from_millis(400))),
    )
    .await;
    let bystander = Bystander::start(target.addr).await;
    let started = tokio::time::Instant::now();
    let mut conn = Conn::open(target.addr).await;
    // A call that lasts longer than age and grace together.
    conn.send(&headers(1, &call(SUM), false)).await;
    let went = conn
        .read_until(Duration::from_secs(3), |c| c.goaway.is_some())
        .await;
    let at = started.elapsed();
    assert!(went, "no GOAWAY at the maximum age");
    assert!(
        at >= Duration::from_millis(250),
        "GOAWAY after {at:?}, before the age"
    );
    let closed = conn.read_until(Duration::from_secs(5), |c| c.closed).await;
    let end = started.elapsed();
    assert!(closed, "the connection outlived its grace");
    assert!(
        end >= Duration::from_millis(600),
        "closed after {end:?}, before age and grace"
    );
    assert!(
        target
            .wait_for(Duration::from_secs(5), |c| c.live() == 0)
            .await,
        "the call cut off by the grace still runs"
    );
    finish(target, bystander, 3).await;
}

/// max_connections 3 (the bystander's is one): a fourth connection is not
/// served while three are open, and is once one of them closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_for_one_to_close() {
    let _turn = serial().await;
    let target = Target::with(Server::builder().max_connections(Some(3))).await;
    let bystander = Bystander::start(target.addr).await;
    let first = Conn::open(target.addr).await;
    let second = Conn::open(target.addr).await;
    let mut waiting = Conn::connect(target.addr).await;
    let mut hello = PREFACE.to_vec();
    hello.extend(settings(&[]));
    waiting.send(&hello).await;
    let early = waiting
        .read_until(Duration::from_millis(500), |c| {
            c.server_settings().is_some()
        })
        .await;
    assert!(!early, "a connection past the cap was served");
    drop(first);
    let served = waiting
        .read_until(Duration::from_secs(5), |c| c.server_settings().is_some())
        .await;
    assert!(
        served,
        "the waiting connection was not served after one closed"
    );
    drop((second, waiting));
    finish(target, bystander, 3).await;
}
