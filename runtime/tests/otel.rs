#![deny(warnings)]
//! The `otel` feature over real loopback connections: gRFC A66's metrics as
//! an in-memory exporter sees them after a known sequence of calls (exact
//! instruments, units, attributes, counts, byte sums and bucket
//! boundaries), and W3C trace context carried from a client call's span to
//! the server's, so that both are one trace.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{SpanKind, TracerProvider as _};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use rust_rpc::Message;
use rust_rpc::otel::Metrics;
use rust_rpc::transport::{Client, Code, Endpoint, Request, Server};
use support::{CalculatorClient, Number, bounded, num, serve};
use tracing_subscriber::layer::SubscriberExt;

/// One data point: its attributes as `key=value` strings, sorted.
type Attributes = Vec<String>;

/// What the exporter holds of one instrument.
#[derive(Debug, Default)]
struct Instrument {
    unit: String,
    // A counter's value, per data point.
    sums: BTreeMap<Attributes, u64>,
    // A histogram's count and sum (sizes exact, durations as a count only),
    // and its bucket boundaries.
    histograms: BTreeMap<Attributes, (u64, f64)>,
    bounds: Vec<f64>,
}

fn attributes<'a>(kvs: impl Iterator<Item = &'a KeyValue>) -> Attributes {
    let mut all: Vec<String> = kvs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
    all.sort();
    all
}

fn instruments(exported: &[ResourceMetrics]) -> BTreeMap<String, Instrument> {
    let mut all: BTreeMap<String, Instrument> = BTreeMap::new();
    for metric in exported
        .iter()
        .flat_map(|r| r.scope_metrics())
        .flat_map(|s| s.metrics())
    {
        let entry = all.entry(metric.name().to_owned()).or_default();
        entry.unit = metric.unit().to_owned();
        match metric.data() {
            AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                for point in sum.data_points() {
                    entry
                        .sums
                        .insert(attributes(point.attributes()), point.value());
                }
            }
            AggregatedMetrics::U64(MetricData::Histogram(h)) => {
                for point in h.data_points() {
                    entry.bounds = point.bounds().collect();
                    entry.histograms.insert(
                        attributes(point.attributes()),
                        (point.count(), point.sum() as f64),
                    );
                }
            }
            AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                for point in h.data_points() {
                    entry.bounds = point.bounds().collect();
                    entry
                        .histograms
                        .insert(attributes(point.attributes()), (point.count(), point.sum()));
                }
            }
            other => panic!("{}: unexpected data {other:?}", metric.name()),
        }
    }
    all
}

fn size(value: i64) -> u64 {
    num(value).encoded_len() as u64
}

fn attrs(pairs: &[(&str, &str)]) -> Attributes {
    let mut all: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    all.sort();
    all
}

#[tokio::test]
async fn a_known_sequence_of_calls_records_exactly_the_standard_instruments() {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let metrics = Metrics::new(&provider.meter("rust-rpc-test"));

    let server = serve(Server::builder().observer(metrics.clone())).await;
    let target = format!("http://{}", server.addr);
    let channel = Endpoint::new(&target)
        .expect("an endpoint")
        .observer(metrics.clone())
        .connect_lazy();
    let mut client = CalculatorClient::new(channel.clone());

    // Two squares, OK: 3 and 300 in (2 and 3 bytes), 9 and 90000 out (2, 4).
    for v in [3, 300] {
        bounded("square", client.square(num(v))).await.expect("OK");
    }
    // A call past its deadline.
    let mut request = Request::new(num(10_000));
    request.set_timeout(Duration::from_millis(100));
    let err = bounded("sleep", client.sleep(request))
        .await
        .expect_err("past the deadline");
    assert_eq!(err.code(), Code::DeadlineExceeded);
    // A server stream of three messages.
    let counted: Vec<_> = bounded("count_to", async {
        let stream = client.count_to(num(3)).await.expect("OK").into_inner();
        stream.collect::<Vec<_>>().await
    })
    .await;
    assert_eq!(counted.len(), 3);
    // A method the server does not have.
    let err = bounded(
        "unknown",
        Client::new(channel).unary::<Number, Number>(num(1), "/svc.v1.Calculator/Cube"),
    )
    .await
    .expect_err("UNIMPLEMENTED");
    assert_eq!(err.code(), Code::Unimplemented);
    server.stop().await;

    provider.force_flush().expect("flushed");
    let exported = exporter.get_finished_metrics().expect("metrics");
    let all = instruments(&exported);
    let names: Vec<&str> = all.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "grpc.client.attempt.duration",
            "grpc.client.attempt.rcvd_total_compressed_message_size",
            "grpc.client.attempt.sent_total_compressed_message_size",
            "grpc.client.attempt.started",
            "grpc.client.call.duration",
            "grpc.server.call.duration",
            "grpc.server.call.rcvd_total_compressed_message_size",
            "grpc.server.call.sent_total_compressed_message_size",
            "grpc.server.call.started",
        ]
    );

    let t = target.as_str();
    let method = |m: &str| format!("svc.v1.Calculator/{m}");
    let (square, sleep, count_to, cube) = (
        method("Square"),
        method("Sleep"),
        method("CountTo"),
        method("Cube"),
    );

    // Client: attempts started, per method and target.
    let started = &all["grpc.client.attempt.started"];
    assert_eq!(started.unit, "{attempt}");
    let expected: BTreeMap<Attributes, u64> = [
        (attrs(&[("grpc.method", &square), ("grpc.target", t)]), 2),
        (attrs(&[("grpc.method", &sleep), ("grpc.target", t)]), 1),
        (attrs(&[("grpc.method", &count_to), ("grpc.target", t)]), 1),
        (attrs(&[("grpc.method", &cube), ("grpc.target", t)]), 1),
    ]
    .into();
    assert_eq!(started.sums, expected);

    // Client: sizes per method, target and status, exact.
    let client_point = |m: &str, status: &str| {
        attrs(&[
            ("grpc.method", m),
            ("grpc.target", t),
            ("grpc.status", status),
        ])
    };
    let sent = &all["grpc.client.attempt.sent_total_compressed_message_size"];
    assert_eq!(sent.unit, "By");
    let expected: BTreeMap<Attributes, (u64, f64)> = [
        (
            client_point(&square, "OK"),
            (2, (size(3) + size(300)) as f64),
        ),
        (
            client_point(&sleep, "DEADLINE_EXCEEDED"),
            (1, size(10_000) as f64),
        ),
        (client_point(&count_to, "OK"), (1, size(3) as f64)),
        (client_point(&cube, "UNIMPLEMENTED"), (1, size(1) as f64)),
    ]
    .into();
    assert_eq!(sent.histograms, expected);
    let received = &all["grpc.client.attempt.rcvd_total_compressed_message_size"];
    let expected: BTreeMap<Attributes, (u64, f64)> = [
        (
            client_point(&square, "OK"),
            (2, (size(9) + size(90_000)) as f64),
        ),
        (client_point(&sleep, "DEADLINE_EXCEEDED"), (1, 0.0)),
        (
            client_point(&count_to, "OK"),
            (1, (size(1) + size(2) + size(3)) as f64),
        ),
        (client_point(&cube, "UNIMPLEMENTED"), (1, 0.0)),
    ]
    .into();
    assert_eq!(received.histograms, expected);
    assert_eq!(
        sent.bounds,
        [
            0.0,
            1024.0,
            2048.0,
            4096.0,
            16384.0,
            65536.0,
            262144.0,
            1048576.0,
            4194304.0,
            16777216.0,
            67108864.0,
            268435456.0,
            1073741824.0,
            4294967296.0
        ]
    );

    // Client durations: one per call, at the same points; the deadline's
    // call took at least its 100 ms.
    for name in ["grpc.client.attempt.duration", "grpc.client.call.duration"] {
        let durations = &all[name];
        assert_eq!(durations.unit, "s", "{name}");
        let counts: BTreeMap<&Attributes, u64> = durations
            .histograms
            .iter()
            .map(|(k, (count, _))| (k, *count))
            .collect();
        let expected: BTreeMap<&Attributes, u64> =
            sent.histograms.iter().map(|(k, (n, _))| (k, *n)).collect();
        assert_eq!(counts, expected, "{name}");
        let (_, slept) = durations.histograms[&client_point(&sleep, "DEADLINE_EXCEEDED")];
        assert!(slept >= 0.1, "{name}: {slept}");
        assert_eq!(durations.bounds.len(), 41, "{name}");
        assert_eq!(durations.bounds[1], 0.00001, "{name}");
        assert_eq!(durations.bounds[40], 100.0, "{name}");
    }

    // Server: the unknown method is `other`, so a peer cannot add names.
    let started = &all["grpc.server.call.started"];
    assert_eq!(started.unit, "{call}");
    let expected: BTreeMap<Attributes, u64> = [
        (attrs(&[("grpc.method", &square)]), 2),
        (attrs(&[("grpc.method", &sleep)]), 1),
        (attrs(&[("grpc.method", &count_to)]), 1),
        (attrs(&[("grpc.method", "other")]), 1),
    ]
    .into();
    assert_eq!(started.sums, expected);
    let server_point =
        |m: &str, status: &str| attrs(&[("grpc.method", m), ("grpc.status", status)]);
    // Past the deadline, the server's own timer and the client's reset
    // (RST_STREAM CANCEL, sent when the client's timer fires) race: the
    // server's call ends with whichever comes first.
    let slept = all["grpc.server.call.duration"]
        .histograms
        .keys()
        .find(|k| k.contains(&format!("grpc.method={sleep}")))
        .expect("the sleep call");
    let slept_status = ["DEADLINE_EXCEEDED", "CANCELLED"]
        .into_iter()
        .find(|s| slept.contains(&format!("grpc.status={s}")))
        .unwrap_or_else(|| panic!("the sleep call ended {slept:?}"));
    let received = &all["grpc.server.call.rcvd_total_compressed_message_size"];
    let expected: BTreeMap<Attributes, (u64, f64)> = [
        (
            server_point(&square, "OK"),
            (2, (size(3) + size(300)) as f64),
        ),
        (server_point(&sleep, slept_status), (1, size(10_000) as f64)),
        (server_point(&count_to, "OK"), (1, size(3) as f64)),
        // Answered from the head alone: its message was never read.
        (server_point("other", "UNIMPLEMENTED"), (1, 0.0)),
    ]
    .into();
    assert_eq!(received.histograms, expected);
    let sent = &all["grpc.server.call.sent_total_compressed_message_size"];
    let expected: BTreeMap<Attributes, (u64, f64)> = [
        (
            server_point(&square, "OK"),
            (2, (size(9) + size(90_000)) as f64),
        ),
        (server_point(&sleep, slept_status), (1, 0.0)),
        (
            server_point(&count_to, "OK"),
            (1, (size(1) + size(2) + size(3)) as f64),
        ),
        (server_point("other", "UNIMPLEMENTED"), (1, 0.0)),
    ]
    .into();
    assert_eq!(sent.histograms, expected);
    let durations = &all["grpc.server.call.duration"];
    assert_eq!(durations.unit, "s");
    let counts: Vec<u64> = durations.histograms.values().map(|(n, _)| *n).collect();
    assert_eq!(counts.iter().sum::<u64>(), 5);
    assert_eq!(durations.histograms.len(), 4);
}

#[tokio::test]
async fn the_trace_context_goes_from_the_client_span_to_the_server_span() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("rust-rpc-test")));
    // The servers run on other threads: the subscriber is global.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let server = serve(Server::builder()).await;
    let channel = Endpoint::new(format!("http://{}", server.addr))
        .expect("an endpoint")
        .connect_lazy();
    let mut client = CalculatorClient::new(channel);
    // A method the other test does not call: its spans are not these.
    let outer = tracing::info_span!("outer");
    let total = bounded("sum", async {
        let _entered = outer.enter();
        client
            .sum(futures_util::stream::iter([num(1), num(2)]))
            .await
    })
    .await
    .expect("OK");
    assert_eq!(total.get_ref().value, 3);
    drop(outer);
    server.stop().await;

    let spans = bounded("the spans", async {
        loop {
            provider.force_flush().expect("flushed");
            let spans = exporter.get_finished_spans().expect("spans");
            if spans.iter().filter(|s| s.name != "outer").count() >= 2 {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let find = |kind: SpanKind| {
        spans
            .iter()
            .find(|s| s.name == "svc.v1.Calculator/Sum" && s.span_kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} span among {spans:?}"))
    };
    let (client_span, server_span) = (find(SpanKind::Client), find(SpanKind::Server));
    let outer = spans
        .iter()
        .find(|s| s.name == "outer")
        .expect("the outer span");
    // One trace: outer -> client call -> server call, the last one's parent
    // known only from the traceparent the call carried.
    let trace = outer.span_context.trace_id();
    assert_eq!(client_span.span_context.trace_id(), trace);
    assert_eq!(server_span.span_context.trace_id(), trace);
    assert_eq!(client_span.parent_span_id, outer.span_context.span_id());
    assert_eq!(
        server_span.parent_span_id,
        client_span.span_context.span_id()
    );
    assert!(server_span.parent_span_is_remote);
    assert!(
        server_span
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "rpc.grpc.status_code" && kv.value.as_str() == "0"),
        "{:?}",
        server_span.attributes
    );
}
