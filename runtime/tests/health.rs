#![deny(warnings)]
#![cfg(feature = "health")]
//! The standard health service over real loopback connections, with its
//! generated client: Check (NOT_FOUND for unknown names), List, Watch (the
//! status at once and each change; SERVICE_UNKNOWN, without ending, while a
//! name is unknown), the services a server hosts marked SERVING when it
//! starts, everything NOT_SERVING (and watches ended) when a graceful
//! shutdown begins, and the bound on watches of unknown names.

mod support;

use std::time::Duration;

use rust_rpc::health::v1::{HealthCheckRequest, HealthListRequest};
use rust_rpc::health::{HealthClient, HealthReporter, MAX_UNKNOWN_WATCHED, ServingStatus};
use rust_rpc::transport::{Code, Endpoint, Server, Status, Streaming};
use support::{Running, bounded, serve};

const CALC: &str = "svc.v1.Calculator";

fn client(server: &Running) -> HealthClient {
    let channel = Endpoint::new(format!("http://{}", server.addr))
        .expect("an endpoint")
        .connect_lazy();
    HealthClient::new(channel)
}

fn ask(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.to_owned(),
        ..Default::default()
    }
}

async fn check(client: &mut HealthClient, service: &str) -> Result<ServingStatus, Status> {
    let reply = bounded("check", client.check(ask(service))).await?;
    Ok(reply.into_inner().status.known().expect("a known status"))
}

async fn next(stream: &mut Streaming<rust_rpc::health::v1::HealthCheckResponse>) -> ServingStatus {
    bounded("watch", stream.message())
        .await
        .expect("a status")
        .expect("the watch goes on")
        .status
        .known()
        .expect("a known status")
}

#[tokio::test]
async fn check_and_list_report_what_is_set_and_hosted() {
    let health = HealthReporter::new();
    health.set_status("other.Service", ServingStatus::NotServing);
    let server = serve(Server::builder().health(&health)).await;
    let mut client = client(&server);

    // The server as a whole, a hosted service (marked SERVING at start), a
    // service set before, and one no one knows.
    assert_eq!(
        check(&mut client, "").await.expect("the server"),
        ServingStatus::Serving
    );
    assert_eq!(
        check(&mut client, CALC).await.expect("hosted"),
        ServingStatus::Serving
    );
    assert_eq!(
        check(&mut client, "other.Service")
            .await
            .expect("set before"),
        ServingStatus::NotServing
    );
    let err = check(&mut client, "no.Such").await.expect_err("unknown");
    assert_eq!(err.code(), Code::NotFound, "{err}");

    health.set_not_serving(CALC);
    assert_eq!(
        check(&mut client, CALC).await.expect("changed"),
        ServingStatus::NotServing
    );
    health.clear("other.Service");
    let err = check(&mut client, "other.Service")
        .await
        .expect_err("cleared");
    assert_eq!(err.code(), Code::NotFound, "{err}");

    let listed = bounded("list", client.list(HealthListRequest::default()))
        .await
        .expect("list")
        .into_inner()
        .statuses;
    let mut names: Vec<&str> = listed.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["", "grpc.health.v1.Health", CALC]);
    assert_eq!(listed[CALC].status.known(), Some(ServingStatus::NotServing));
    server.stop().await;
}

#[tokio::test]
async fn watch_sends_the_status_then_each_change_and_waits_for_unknown_names() {
    let health = HealthReporter::new();
    let server = serve(Server::builder().health(&health)).await;
    let mut client = client(&server);

    let mut calc = bounded("watch", client.watch(ask(CALC)))
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(next(&mut calc).await, ServingStatus::Serving);
    health.set_not_serving(CALC);
    assert_eq!(next(&mut calc).await, ServingStatus::NotServing);
    health.set_serving(CALC);
    assert_eq!(next(&mut calc).await, ServingStatus::Serving);

    // An unknown name: SERVICE_UNKNOWN, and the call stays open until the
    // name becomes known.
    let mut later = bounded("watch unknown", client.watch(ask("later.Service")))
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(next(&mut later).await, ServingStatus::ServiceUnknown);
    let err = check(&mut client, "later.Service")
        .await
        .expect_err("watching does not make a name known");
    assert_eq!(err.code(), Code::NotFound, "{err}");
    health.set_serving("later.Service");
    assert_eq!(next(&mut later).await, ServingStatus::Serving);
    health.clear("later.Service");
    assert_eq!(next(&mut later).await, ServingStatus::ServiceUnknown);
    server.stop().await;
}

#[tokio::test]
async fn a_graceful_shutdown_marks_everything_not_serving_and_ends_watches() {
    let health = HealthReporter::new();
    let server = serve(Server::builder().health(&health)).await;
    let mut client = client(&server);
    let mut whole = bounded("watch", client.watch(ask("")))
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(next(&mut whole).await, ServingStatus::Serving);
    let mut unknown = bounded("watch unknown", client.watch(ask("never.Known")))
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(next(&mut unknown).await, ServingStatus::ServiceUnknown);

    // The shutdown cannot finish while the watches are open: they end
    // after their last word, so it does.
    let stopping = tokio::spawn(server.stop());
    assert_eq!(next(&mut whole).await, ServingStatus::NotServing);
    let end = bounded("end of watch", whole.message()).await;
    assert!(matches!(end, Ok(None)), "the watch ends: {end:?}");
    assert_eq!(next(&mut unknown).await, ServingStatus::ServiceUnknown);
    let end = bounded("end of unknown watch", unknown.message()).await;
    assert!(matches!(end, Ok(None)), "the watch ends: {end:?}");
    assert_eq!(health.status(""), Some(ServingStatus::NotServing));
    assert_eq!(health.status(CALC), Some(ServingStatus::NotServing));
    // Changes after the shutdown are ignored.
    health.set_serving(CALC);
    assert_eq!(health.status(CALC), Some(ServingStatus::NotServing));
    bounded("server stops", stopping).await.expect("stopped");
}

#[tokio::test]
async fn watches_of_unknown_names_are_bounded_and_released() {
    let health = HealthReporter::new();
    let server = serve(Server::builder().health(&health)).await;
    let mut client = client(&server);
    // Spread over connections: one takes 200 streams at a time (the
    // server's max_concurrent_streams).
    let mut others: Vec<HealthClient> = (0..8).map(|_| self::client(&server)).collect();
    let mut open = Vec::new();
    for i in 0..MAX_UNKNOWN_WATCHED {
        let watcher = &mut others[i % 8];
        let mut stream = bounded("watch", watcher.watch(ask(&format!("unknown.S{i}"))))
            .await
            .expect("within the bound")
            .into_inner();
        if i % 256 == 0 {
            assert_eq!(next(&mut stream).await, ServingStatus::ServiceUnknown);
        }
        open.push(stream);
    }
    let err = bounded("one more", client.watch(ask("unknown.Extra")))
        .await
        .map(drop)
        .expect_err("past the bound");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
    // A known name is always watched.
    let mut calc = bounded("watch known", client.watch(ask(CALC)))
        .await
        .expect("known names are not bounded")
        .into_inner();
    assert_eq!(next(&mut calc).await, ServingStatus::Serving);

    // Ending the watches releases their names.
    drop(open);
    let mut released = None;
    // Each end reaches the server as a reset; give a loaded machine 10 s.
    for _ in 0..500 {
        match client.watch(ask("unknown.Extra")).await {
            Ok(stream) => {
                released = Some(stream.into_inner());
                break;
            }
            Err(e) if e.code() == Code::ResourceExhausted => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    let mut released = released.expect("the names are released once their watches end");
    assert_eq!(next(&mut released).await, ServingStatus::ServiceUnknown);
    server.stop().await;
}
