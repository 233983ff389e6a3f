//! The W3C trace context (`traceparent`, `tracestate`) in a call's
//! metadata: sent from a client call's span, taken by a server call's span
//! as its parent. Only spans that `tracing-opentelemetry`'s layer tracks
//! have a context; for others nothing is sent, and a received context is
//! not used.

use http::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::transport::MetadataMap;

/// The header W3C trace context starts with; without it, nothing is read.
const TRACEPARENT: &str = "traceparent";

/// Puts `span`'s trace context into `metadata`, if it has a valid one.
pub(crate) fn inject(span: &Span, metadata: &mut MetadataMap) {
    if span.is_disabled() {
        return;
    }
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return;
    }
    TraceContextPropagator::new().inject_context(&context, &mut Metadata(metadata));
}

/// Makes the trace context in `headers`, if there is one, `span`'s parent.
pub(crate) fn extract(span: &Span, headers: &HeaderMap) {
    if span.is_disabled() || !headers.contains_key(TRACEPARENT) {
        return;
    }
    let context = TraceContextPropagator::new().extract(&Headers(headers));
    if context.span().span_context().is_valid() {
        // Fails only if the subscriber has no OpenTelemetry layer: there is
        // no trace to join then.
        let _ = span.set_parent(context);
    }
}

struct Metadata<'a>(&'a mut MetadataMap);

impl Injector for Metadata<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The propagator's keys and values are valid ASCII metadata; one
        // that is not is left out rather than sent broken.
        let _ = self.0.insert(key, value);
    }
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}
