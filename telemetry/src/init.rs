//! Installing the subscriber: logs always, OTLP export when configured.

use std::sync::atomic::Ordering;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::filter::Fresh;
use crate::settings::{OtelSettings, TraceKind};
use crate::{EXPORTING, XRAY};

/// Where logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    /// For a process whose standard output is read by another (the job
    /// executor).
    Stderr,
}

/// Installing telemetry failed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot export traces to {endpoint} (PHOBOS_OTEL_TRACE_HOST, PHOBOS_OTEL_TRACE_PORT): {reason}")]
    Exporter { endpoint: String, reason: String },
    #[error("a tracing subscriber is already installed in this process")]
    AlreadyInstalled,
}

/// The installed telemetry: [`shutdown`](Self::shutdown) sends the spans
/// still buffered before the process exits.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered (waiting at most a few seconds for
    /// the collector) and stops exporting. Call it inside the runtime the
    /// telemetry was installed in, before the runtime ends.
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            EXPORTING.store(false, Ordering::Relaxed);
            let done = tokio_shutdown(provider).await;
            if let Err(e) = done {
                tracing::warn!(error = %e, "some trace spans could not be exported at shutdown");
            }
        }
    }
}

async fn tokio_shutdown(provider: SdkTracerProvider) -> Result<(), String> {
    // The provider's shutdown blocks on the exporter, whose gRPC channel is
    // driven by this runtime: wait for it on a blocking thread.
    let flush = tokio::task::spawn_blocking(move || provider.shutdown());
    match tokio::time::timeout(Duration::from_secs(10), flush).await {
        Ok(Ok(r)) => r.map_err(|e| e.to_string()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the collector did not answer within 10 s".into()),
    }
}

/// Logs at `RUST_LOG`, or `default_filter` when it is unset, to `target`;
/// with `otel`, also exports spans at info and above (of every crate but
/// the transport ones) over OTLP/gRPC, as `service`.
///
/// With `otel`, call it inside a Tokio runtime: the exporter's gRPC channel
/// runs on it.
pub fn init(
    service: &'static str,
    default_filter: &str,
    target: LogTarget,
    otel: Option<&OtelSettings>,
) -> Result<Telemetry, TelemetryError> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let logs = match target {
        LogTarget::Stdout => tracing_subscriber::fmt::layer()
            // Colours only for a terminal, not in log files.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .boxed(),
        LogTarget::Stderr => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed(),
    }
    .with_filter(Fresh(filter));
    let (provider, spans) = match otel {
        Some(settings) => {
            let provider = provider(service, settings)?;
            let layer = layer(&provider);
            (Some(provider), Some(layer))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    if let Some(settings) = otel {
        XRAY.store(settings.kind == TraceKind::Xray, Ordering::Relaxed);
        EXPORTING.store(true, Ordering::Relaxed);
    }
    Ok(Telemetry { provider })
}

/// The exporting layer: spans at info and above, without the transport
/// crates' own (every gRPC call would otherwise be traced twice, and the
/// exporter's calls would trace themselves).
pub(crate) fn layer<S>(provider: &SdkTracerProvider) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let targets = Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("h2", LevelFilter::OFF)
        .with_target("hyper", LevelFilter::OFF)
        .with_target("hyper_util", LevelFilter::OFF)
        .with_target("tower", LevelFilter::OFF)
        .with_target("tonic", LevelFilter::OFF)
        .with_target("opentelemetry", LevelFilter::OFF)
        .with_target("opentelemetry_sdk", LevelFilter::OFF)
        .with_target("opentelemetry_otlp", LevelFilter::OFF)
        .with_target("sqlx", LevelFilter::WARN);
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("phobos"))
        .with_filter(Fresh(targets))
}

fn provider(
    service: &'static str,
    settings: &OtelSettings,
) -> Result<SdkTracerProvider, TelemetryError> {
    let endpoint = settings.endpoint();
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.clone())
        .with_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| TelemetryError::Exporter {
            endpoint: endpoint.clone(),
            reason: e.to_string(),
        })?;
    let builder = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build());
    Ok(match settings.kind {
        TraceKind::Otlp => builder.build(),
        TraceKind::Xray => builder
            .with_id_generator(opentelemetry_aws::trace::XrayIdGenerator::default())
            .build(),
    })
}
