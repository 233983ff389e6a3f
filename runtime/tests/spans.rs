#![deny(warnings)]
//! Every call is a `tracing` span on both sides, over real loopback
//! connections: a subscriber (installed for the whole test binary, since
//! servers run on other threads) records each span's fields when it
//! closes, its parent, and the events inside it. Checked: the fields
//! OpenTelemetry's RPC conventions name, the status and message counts
//! recorded at the end, the client span as a child of the caller's, and a
//! server interceptor's event inside the server's span.

mod support;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use rust_rpc::transport::{Code, Endpoint, Request, Server, Status};
use support::{CalculatorClient, bounded, num, serve};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A closed span: name, target, fields, its parent's name, and the
/// messages of the events recorded inside it.
#[derive(Clone, Debug, Default)]
struct Closed {
    name: String,
    target: String,
    fields: HashMap<String, String>,
    parent: Option<String>,
    events: Vec<String>,
}

#[derive(Default)]
struct Fields(HashMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// Keeps each span's fields in its extensions, and the span in `CLOSED`
/// when it closes.
struct Recording;

static CLOSED: Mutex<Vec<Closed>> = Mutex::new(Vec::new());

impl<S> Layer<S> for Recording
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(Closed {
            name: span.name().to_owned(),
            target: span.metadata().target().to_owned(),
            fields: fields.0,
            parent: span.parent().map(|p| p.name().to_owned()),
            events: Vec::new(),
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        values.record(&mut fields);
        if let Some(closed) = span.extensions_mut().get_mut::<Closed>() {
            closed.fields.extend(fields.0);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // This test's own events: not h2's or the runtime's, which trace
        // inside the spans too.
        if !event.metadata().target().starts_with("spans") {
            return;
        }
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let Some(closed) = span.extensions_mut().get_mut::<Closed>() {
            closed
                .events
                .push(fields.0.remove("message").unwrap_or_default());
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        if let Some(closed) = span.extensions_mut().remove::<Closed>() {
            CLOSED.lock().expect("not poisoned").push(closed);
        }
    }
}

fn install() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(Recording);
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    });
}

/// The closed `grpc` spans of `method` (`Square`, ...) on `target`'s side,
/// waited for (boundedly) until there are `n`.
async fn spans(target: &str, method: &str, n: usize) -> Vec<Closed> {
    bounded("the spans to close", async {
        loop {
            let found: Vec<Closed> = CLOSED
                .lock()
                .expect("not poisoned")
                .iter()
                .filter(|c| {
                    c.name == "grpc"
                        && c.target == target
                        && c.fields.get("rpc.method").map(String::as_str) == Some(method)
                })
                .cloned()
                .collect();
            if found.len() >= n {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

fn field<'a>(span: &'a Closed, name: &str) -> &'a str {
    span.fields
        .get(name)
        .map_or_else(|| panic!("span has no {name}: {span:?}"), String::as_str)
}

async fn seen_by_interceptor(request: Request<()>) -> Result<Request<()>, Status> {
    tracing::info!("interceptor ran");
    Ok(request)
}

#[tokio::test]
async fn calls_are_spans_on_both_sides_with_their_status_and_sizes() {
    install();
    let server = serve(Server::builder().interceptor(seen_by_interceptor)).await;
    let channel = Endpoint::new(format!("http://{}", server.addr))
        .expect("an endpoint")
        .connect_lazy();
    let mut client = CalculatorClient::new(channel);

    let outer = tracing::info_span!("outer");
    let nine = bounded("square", async {
        let _entered = outer.enter();
        client.square(num(3)).await
    })
    .await
    .expect("OK");
    assert_eq!(nine.get_ref().value, 9);

    let [client_span] = <[Closed; 1]>::try_from(spans("rust_rpc::client", "Square", 1).await)
        .expect("one client span");
    assert_eq!(client_span.parent.as_deref(), Some("outer"));
    for (name, value) in [
        ("otel.name", "svc.v1.Calculator/Square"),
        ("otel.kind", "client"),
        ("rpc.system", "grpc"),
        ("rpc.service", "svc.v1.Calculator"),
        ("rpc.method", "Square"),
        ("rpc.grpc.status_code", "0"),
        ("server.address", &server.addr.to_string()),
        ("grpc.sent_messages", "1"),
        ("grpc.sent_bytes", "2"),
        ("grpc.received_messages", "1"),
        ("grpc.received_bytes", "2"),
    ] {
        assert_eq!(field(&client_span, name), value, "{name}");
    }
    assert!(!client_span.fields.contains_key("otel.status_code"));

    let [server_span] = <[Closed; 1]>::try_from(spans("rust_rpc::server", "Square", 1).await)
        .expect("one server span");
    for (name, value) in [
        ("otel.kind", "server"),
        ("rpc.service", "svc.v1.Calculator"),
        ("rpc.grpc.status_code", "0"),
        ("network.peer.address", "127.0.0.1"),
        ("grpc.received_messages", "1"),
        ("grpc.received_bytes", "2"),
        ("grpc.sent_messages", "1"),
        ("grpc.sent_bytes", "2"),
    ] {
        assert_eq!(field(&server_span, name), value, "{name}");
    }
    field(&server_span, "network.peer.port")
        .parse::<u16>()
        .expect("a port");
    // What runs for the call (here an interceptor) runs inside its span.
    assert_eq!(server_span.events, ["interceptor ran"]);
    server.stop().await;
}

#[tokio::test]
async fn failed_calls_are_errors_where_the_conventions_say() {
    install();
    let server = serve(Server::builder()).await;
    let channel = Endpoint::new(format!("http://{}", server.addr))
        .expect("an endpoint")
        .connect_lazy();
    let mut client = CalculatorClient::new(channel);

    let mut request = Request::new(num(10_000));
    request.set_timeout(Duration::from_millis(100));
    let err = bounded("sleep", client.sleep(request))
        .await
        .expect_err("past the deadline");
    assert_eq!(err.code(), Code::DeadlineExceeded);

    let client_span = &spans("rust_rpc::client", "Sleep", 1).await[0];
    assert_eq!(field(client_span, "rpc.grpc.status_code"), "4");
    assert_eq!(field(client_span, "otel.status_code"), "ERROR");
    assert!(
        field(client_span, "otel.status_description").starts_with("DEADLINE_EXCEEDED: "),
        "{client_span:?}"
    );
    // Past the deadline, the server's own timer and the client's reset
    // race. DEADLINE_EXCEEDED is a server error too, by the conventions;
    // CANCELLED (the client gave up) is not.
    let server_span = &spans("rust_rpc::server", "Sleep", 1).await[0];
    match field(server_span, "rpc.grpc.status_code") {
        "4" => assert_eq!(field(server_span, "otel.status_code"), "ERROR"),
        "1" => assert!(!server_span.fields.contains_key("otel.status_code")),
        other => panic!("the server's call ended {other}: {server_span:?}"),
    }
    server.stop().await;
}
