//! The caller's span in a request's headers (gRPC metadata, HTTP headers):
//! W3C `traceparent`, or `X-Amzn-Trace-Id` when exporting to X-Ray.

use std::collections::HashMap;

use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::{exporting, XRAY};

fn with_propagator<T>(f: impl FnOnce(&dyn TextMapPropagator) -> T) -> T {
    if XRAY.load(std::sync::atomic::Ordering::Relaxed) {
        f(&opentelemetry_aws::trace::XrayPropagator::default())
    } else {
        f(&opentelemetry_sdk::propagation::TraceContextPropagator::new())
    }
}

struct Metadata<'a>(&'a mut MetadataMap);

impl Injector for Metadata<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            MetadataKey::from_bytes(key.to_ascii_lowercase().as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(k, v);
        }
    }
}

/// Adds the current span to an outgoing call's `metadata`.
pub fn inject(metadata: &mut MetadataMap) {
    if !exporting() {
        return;
    }
    let cx = Span::current().context();
    if !cx.span().span_context().is_valid() {
        return;
    }
    with_propagator(|p| p.inject_context(&cx, &mut Metadata(metadata)));
}

/// Makes `span` (not yet entered) a child of the caller's span that a
/// request's headers name, read through `header`; without one, `span`
/// stays as it is.
pub fn extract(span: &Span, header: impl Fn(&str) -> Option<String>) {
    if !exporting() || span.is_none() {
        return;
    }
    let carrier: HashMap<String, String> = with_propagator(|p| {
        p.fields()
            .filter_map(|f| header(f).map(|v| (f.to_owned(), v)))
            .collect()
    });
    if carrier.is_empty() {
        return;
    }
    let cx = with_propagator(|p| p.extract(&carrier));
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}
