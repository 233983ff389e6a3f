//! Live scores end to end: the test drives the server's feed and asserts
//! what a real subscriber receives over loopback.

use rust_rpc::transport::{Code, Server, Streaming};
use rust_rpc_examples::LocalServer;
use rust_rpc_examples::scores::{self, LiveScoresClient, LiveScoresServer, ScoreFeed, ScoreUpdate};

fn update(match_id: &str, home_score: u32, away_score: u32, minute: u32) -> ScoreUpdate {
    ScoreUpdate {
        match_id: match_id.into(),
        home: format!("{match_id} home"),
        away: format!("{match_id} away"),
        home_score,
        away_score,
        minute,
        event: format!("minute {minute}"),
        ..Default::default()
    }
}

fn full_time(update: ScoreUpdate) -> ScoreUpdate {
    ScoreUpdate {
        finished: true,
        ..update
    }
}

async fn start(feed: &ScoreFeed) -> (LocalServer, LiveScoresClient) {
    let server =
        LocalServer::start(Server::builder().add_service(LiveScoresServer::new(feed.clone())))
            .await
            .expect("start the server");
    let client = LiveScoresClient::connect(server.url())
        .await
        .expect("connect");
    (server, client)
}

async fn next(updates: &mut Streaming<ScoreUpdate>) -> ScoreUpdate {
    updates
        .message()
        .await
        .expect("an update")
        .expect("the stream goes on")
}

#[tokio::test]
async fn a_subscriber_gets_its_match_as_it_happens_and_nothing_else() {
    let feed = ScoreFeed::new();
    let (server, mut client) = start(&feed).await;
    feed.publish(update("a", 0, 0, 0));
    feed.publish(update("b", 0, 0, 0));
    feed.publish(update("a", 1, 0, 5));

    let mut updates = scores::subscribe(&mut client, "a")
        .await
        .expect("subscribe");
    // First the match's state now.
    assert_eq!(next(&mut updates).await, update("a", 1, 0, 5));
    // Then each update as it is published: the subscriber has it before the
    // next one is even made. The other match's are not sent.
    for (published, for_a) in [
        (update("b", 1, 0, 10), false),
        (update("a", 1, 1, 20), true),
        (update("b", 2, 0, 30), false),
        (update("a", 2, 1, 40), true),
        (full_time(update("b", 2, 0, 90)), false),
        (full_time(update("a", 2, 1, 90)), true),
    ] {
        feed.publish(published.clone());
        if for_a {
            assert_eq!(next(&mut updates).await, published);
        }
    }
    // Full time ends the stream, OK.
    assert_eq!(updates.message().await.expect("ends OK"), None);
    server.shutdown().await.expect("shut down");
}

#[tokio::test]
async fn updates_published_in_a_burst_arrive_in_order() {
    let feed = ScoreFeed::new();
    let (_server, mut client) = start(&feed).await;
    feed.publish(update("a", 0, 0, 0));
    feed.publish(update("b", 0, 0, 0));
    let mut first = scores::subscribe(&mut client, "a")
        .await
        .expect("subscribe");
    let mut second = scores::subscribe(&mut client.clone(), "a")
        .await
        .expect("subscribe");
    let mut expected = vec![update("a", 0, 0, 0)];
    for minute in 1..=20 {
        feed.publish(update("b", minute, 0, minute));
        let a = update("a", 0, minute, minute);
        feed.publish(a.clone());
        expected.push(a);
    }
    let last = full_time(update("a", 0, 20, 90));
    feed.publish(last.clone());
    expected.push(last);

    for updates in [&mut first, &mut second] {
        let mut received = Vec::new();
        while let Some(u) = updates.message().await.expect("an update") {
            received.push(u);
        }
        assert_eq!(received, expected);
    }
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_skips_to_the_latest_state() {
    let feed = ScoreFeed::new();
    let (_server, mut client) = start(&feed).await;
    feed.publish(update("a", 0, 0, 0));
    let mut updates = scores::subscribe(&mut client, "a")
        .await
        .expect("subscribe");
    assert_eq!(next(&mut updates).await, update("a", 0, 0, 0));
    // Far more than the feed keeps per subscriber, published without
    // yielding, so the server's side of the subscription cannot keep up (the
    // test runs on one thread).
    for minute in 1..=500 {
        feed.publish(update("a", minute, 0, minute));
    }
    let last = full_time(update("a", 500, 0, 500));
    feed.publish(last.clone());
    let mut received = Vec::new();
    while let Some(u) = updates.message().await.expect("an update") {
        received.push(u);
    }
    assert!(received.len() < 500, "skipped nothing: {}", received.len());
    assert!(
        received.windows(2).all(|w| w[0].minute < w[1].minute),
        "out of order: {received:?}"
    );
    assert_eq!(received.last(), Some(&last));
}

#[tokio::test]
async fn a_finished_match_sends_its_result_and_ends() {
    let feed = ScoreFeed::new();
    let (_server, mut client) = start(&feed).await;
    let result = full_time(update("done", 3, 2, 90));
    feed.publish(result.clone());
    let mut updates = scores::subscribe(&mut client, "done")
        .await
        .expect("subscribe");
    assert_eq!(next(&mut updates).await, result);
    assert_eq!(updates.message().await.expect("ends OK"), None);
}

#[tokio::test]
async fn an_unknown_match_is_not_found() {
    let feed = ScoreFeed::new();
    let (_server, mut client) = start(&feed).await;
    feed.publish(update("a", 0, 0, 0));
    let status = scores::subscribe(&mut client, "zz")
        .await
        .map(|_| ())
        .expect_err("unknown match");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), r#"no match "zz""#);
}
