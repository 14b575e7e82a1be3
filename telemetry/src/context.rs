//! The trace context of spans: their ids, and continuing a trace that
//! began elsewhere (an event's metadata, a job offer, an environment
//! variable).
//!
//! Every function returns at once, doing nothing, when this process does
//! not export spans.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::{exporting, XRAY};

/// The OpenTelemetry context of `span`, when spans are exported and it has
/// a valid one.
fn span_context(span: &Span) -> Option<SpanContext> {
    if !exporting() || span.is_none() {
        return None;
    }
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then_some(sc)
}

/// The trace id (32 hex digits) and span id (16) of the current span,
/// when spans are exported.
pub fn current_ids() -> Option<(String, String)> {
    span_context(&Span::current()).map(|sc| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

/// Names `span` `name()` in the exported trace. The span declares
/// `otel.name = tracing::field::Empty`; the name is made only when spans
/// are exported, so the logs and the hot paths do without it.
pub fn name(span: &Span, name: impl FnOnce() -> String) {
    if exporting() && !span.is_none() {
        span.record("otel.name", name());
    }
}

/// The trace id (32 hex digits) of the current span, when spans are
/// exported.
pub fn current_trace_id() -> Option<String> {
    span_context(&Span::current()).map(|sc| sc.trace_id().to_string())
}

/// The span id (16 hex digits) of the current span, when spans are
/// exported.
pub fn current_span_id() -> Option<String> {
    span_context(&Span::current()).map(|sc| sc.span_id().to_string())
}

/// A new trace id, 32 hex digits: in X-Ray's format (the first 8 digits
/// are the Unix time in seconds) when the process exports to X-Ray.
pub fn new_trace_id() -> String {
    let id = if XRAY.load(std::sync::atomic::Ordering::Relaxed) {
        opentelemetry_aws::trace::XrayIdGenerator::default().new_trace_id()
    } else {
        RandomIdGenerator::default().new_trace_id()
    };
    id.to_string()
}

/// Makes `span` (not yet entered) continue the trace `trace_id` under the
/// span `span_id` of another process or an earlier command. An empty or
/// malformed `span_id` (an event stored before span ids were) stands for
/// one made-up parent per trace, so such spans still share their trace.
/// Ids that do not parse leave `span` as it is.
pub fn set_parent(span: &Span, trace_id: &str, span_id: &str) {
    if !exporting() || span.is_none() {
        return;
    }
    let trace = match TraceId::from_hex(trace_id) {
        Ok(t) if t != TraceId::INVALID => t,
        _ => return,
    };
    let parent = match SpanId::from_hex(span_id) {
        Ok(s) if s != SpanId::INVALID => s,
        // The low 64 bits of the trace id: the same for every such span
        // (and 1 when they are all zero, since zero is no span).
        _ => {
            let low = u64::from_be_bytes(trace.to_bytes()[8..].try_into().unwrap_or_default());
            SpanId::from(low.max(1))
        }
    };
    let sc = SpanContext::new(
        trace,
        parent,
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let _ = span.set_parent(Context::new().with_remote_span_context(sc));
}

/// The W3C `traceparent` of `span`
/// (`00-<trace id>-<span id>-<flags>`), for a job offer or an executor's
/// environment.
pub fn traceparent(span: &Span) -> Option<String> {
    span_context(span).map(|sc| format!("00-{}-{}-01", sc.trace_id(), sc.span_id()))
}

/// Makes `span` (not yet entered) a child of the span a W3C `traceparent`
/// names; a malformed or empty one leaves `span` as it is.
pub fn set_parent_traceparent(span: &Span, traceparent: &str) {
    if !exporting() || span.is_none() || traceparent.is_empty() {
        return;
    }
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

/// The W3C `traceparent` naming the span `span_id` of trace `trace_id` (an
/// event's metadata), when spans are exported and both ids are valid.
pub fn traceparent_of(trace_id: &str, span_id: &str) -> Option<String> {
    if !exporting() {
        return None;
    }
    let trace = TraceId::from_hex(trace_id)
        .ok()
        .filter(|t| *t != TraceId::INVALID)?;
    let span = SpanId::from_hex(span_id)
        .ok()
        .filter(|s| *s != SpanId::INVALID)?;
    Some(format!("00-{trace}-{span}-01"))
}
