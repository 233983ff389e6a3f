//! Telemetry end to end: a device uploads 10,000 readings in one
//! client-streaming call over loopback and gets exact aggregates back.

use rust_rpc::transport::{Code, Request, Server};
use rust_rpc_examples::LocalServer;
use rust_rpc_examples::telemetry::{
    self, Collector, DEVICE_ID_KEY, Reading, Summary, TelemetryClient, TelemetryServer,
};

fn reading(timestamp_ms: u64, value: f64) -> Reading {
    Reading {
        timestamp_ms,
        value,
        ..Default::default()
    }
}

async fn start() -> (LocalServer, TelemetryClient) {
    let server = LocalServer::start(Server::builder().add_service(TelemetryServer::new(Collector)))
        .await
        .expect("start the server");
    let client = TelemetryClient::connect(server.url())
        .await
        .expect("connect");
    (server, client)
}

#[tokio::test]
async fn ten_thousand_readings_are_summarised_exactly() {
    let (server, mut client) = start().await;
    // Values -250, -249, ..., 749, ten times over: every partial sum is an
    // integer well inside f64's exact range, so the mean is exact too.
    let readings = (0..10_000u64).map(|i| reading(1_000_000 + i * 10, (i % 1000) as f64 - 250.0));
    let summary = telemetry::upload(&mut client, "sensor-42", readings)
        .await
        .expect("upload");
    assert_eq!(
        summary,
        Summary {
            device_id: "sensor-42".into(),
            count: 10_000,
            min: -250.0,
            max: 749.0,
            mean: 249.5,
            first_timestamp_ms: 1_000_000,
            last_timestamp_ms: 1_000_000 + 9_999 * 10,
            ..Default::default()
        }
    );
    server.shutdown().await.expect("shut down");
}

#[tokio::test]
async fn an_empty_upload_has_a_zero_summary() {
    let (_server, mut client) = start().await;
    let summary = telemetry::upload(&mut client, "quiet", [])
        .await
        .expect("upload");
    assert_eq!(
        summary,
        Summary {
            device_id: "quiet".into(),
            ..Default::default()
        }
    );
}

#[tokio::test]
async fn the_device_must_say_who_it_is() {
    let (_server, mut client) = start().await;
    let anonymous = Request::new(futures_util::stream::iter([reading(1, 1.0)]));
    let status = client.upload(anonymous).await.expect_err("no device id");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        format!("name the device in the {DEVICE_ID_KEY} metadata")
    );
    // An id that cannot be metadata fails before anything is sent.
    let status = telemetry::upload(&mut client, "bad\nid", [reading(1, 1.0)])
        .await
        .expect_err("bad metadata");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("not a valid device id"),
        "{status}"
    );
}

#[tokio::test]
async fn a_value_that_is_not_finite_is_refused() {
    let (_server, mut client) = start().await;
    let readings = [reading(1, 1.0), reading(2, 2.0), reading(3, f64::NAN)];
    let status = telemetry::upload(&mut client, "broken", readings)
        .await
        .expect_err("NaN");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "reading 2 is NaN; values must be finite");
}
