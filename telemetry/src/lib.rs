//! Logs and OpenTelemetry traces for the Phobos server, its agents and job
//! executors.
//!
//! Each binary calls [`init`] once: it installs the `tracing` subscriber
//! that writes logs and, when [`OtelSettings`] are given, exports every span
//! over OTLP/gRPC. The rest of this crate carries one trace across process
//! boundaries, so a pipeline run, from `createPipeline` through the
//! policies, the agent and the executor, is one trace:
//!
//! - events carry the ids of the span that appended them (their metadata's
//!   `trace_id` and `span_id`): [`set_parent`] continues from them;
//! - gRPC calls carry the caller's span in their metadata ([`inject`],
//!   [`extract`]), as W3C `traceparent` or X-Ray's `X-Amzn-Trace-Id`;
//! - a job offer and an executor's environment carry a W3C
//!   [`traceparent`](fn@traceparent).
//!
//! With tracing off (no settings given) every function here returns at once:
//! spans still go to the log, and nothing else is done.

mod context;
mod filter;
mod grpc;
mod init;
mod settings;

pub use context::{
    current_ids, current_span_id, current_trace_id, name, new_trace_id, set_parent,
    set_parent_traceparent, traceparent, traceparent_of,
};
pub use grpc::{extract, inject};
pub use init::{init, LogTarget, Telemetry, TelemetryError};
pub use settings::{OtelSettings, SettingsError, TraceKind};

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether spans are exported: set once by [`init`].
static EXPORTING: AtomicBool = AtomicBool::new(false);
/// Whether trace ids follow X-Ray's format (and propagation its header).
static XRAY: AtomicBool = AtomicBool::new(false);

/// Whether this process exports spans.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}
