//! Where traces go: `PHOBOS_OTEL_TRACE_*`, read the same way by the server,
//! the agent and the job executor (an agent hands its own to the executors
//! it starts).

use std::fmt;
use std::str::FromStr;

/// `PHOBOS_OTEL_TRACE_ENABLED`: `true` exports traces.
pub const ENABLED: &str = "PHOBOS_OTEL_TRACE_ENABLED";
/// `PHOBOS_OTEL_TRACE_TYPE`: `otlp` (the default) or `xray`.
pub const TYPE: &str = "PHOBOS_OTEL_TRACE_TYPE";
/// `PHOBOS_OTEL_TRACE_HOST`: the collector's host (required when enabled).
pub const HOST: &str = "PHOBOS_OTEL_TRACE_HOST";
/// `PHOBOS_OTEL_TRACE_PORT`: the collector's OTLP/gRPC port (4317).
pub const PORT: &str = "PHOBOS_OTEL_TRACE_PORT";

/// The collector's default OTLP/gRPC port.
pub const DEFAULT_PORT: u16 = 4317;

/// How trace ids look and travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceKind {
    /// Random W3C ids; `traceparent` between processes.
    #[default]
    Otlp,
    /// X-Ray ids (the first 4 bytes are the start time in seconds) and the
    /// `X-Amzn-Trace-Id` header, for an AWS Distro for OpenTelemetry
    /// collector that forwards to X-Ray. Still exported over OTLP.
    Xray,
}

impl FromStr for TraceKind {
    type Err = SettingsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "otlp" => Ok(TraceKind::Otlp),
            "xray" => Ok(TraceKind::Xray),
            other => Err(SettingsError {
                variable: TYPE,
                message: format!("{other:?} is not a trace exporter: use otlp or xray"),
            }),
        }
    }
}

impl fmt::Display for TraceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TraceKind::Otlp => "otlp",
            TraceKind::Xray => "xray",
        })
    }
}

/// Where spans are exported: an OpenTelemetry collector's OTLP/gRPC port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtelSettings {
    pub kind: TraceKind,
    pub host: String,
    pub port: u16,
}

/// A `PHOBOS_OTEL_TRACE_*` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct SettingsError {
    /// The variable at fault.
    pub variable: &'static str,
    pub message: String,
}

impl OtelSettings {
    /// The collector's URL, e.g. `http://collector:4317`.
    pub fn endpoint(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("http://[{}]:{}", self.host, self.port)
        } else {
            format!("http://{}:{}", self.host, self.port)
        }
    }

    /// Reads the settings through `get` (the process environment, or the
    /// server's tracked configuration): `None` unless enabled.
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, SettingsError> {
        let enabled = match get(ENABLED).as_deref().map(str::trim) {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(SettingsError {
                    variable: ENABLED,
                    message: format!("{other:?} is not a boolean: use true or false"),
                })
            }
        };
        let kind = match get(TYPE).filter(|t| !t.trim().is_empty()) {
            Some(t) => t.trim().parse()?,
            None => TraceKind::Otlp,
        };
        let port = match get(PORT).filter(|p| !p.trim().is_empty()) {
            Some(p) => p.trim().parse().map_err(|_| SettingsError {
                variable: PORT,
                message: format!("{p:?} is not a port number"),
            })?,
            None => DEFAULT_PORT,
        };
        let host = get(HOST).map(|h| h.trim().to_owned()).unwrap_or_default();
        if !enabled {
            return Ok(None);
        }
        if host.is_empty() {
            return Err(SettingsError {
                variable: HOST,
                message: format!("is required when {ENABLED} is true: name the OpenTelemetry collector's host, e.g. localhost or otel-collector"),
            });
        }
        Ok(Some(OtelSettings { kind, host, port }))
    }

    /// The variables that give these settings to another process (an
    /// agent's executors).
    pub fn to_env(&self) -> [(&'static str, String); 4] {
        [
            (ENABLED, "true".to_owned()),
            (TYPE, self.kind.to_string()),
            (HOST, self.host.clone()),
            (PORT, self.port.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<Option<OtelSettings>, SettingsError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        OtelSettings::read(|k| map.get(k).cloned())
    }

    #[test]
    fn off_unless_enabled_and_checked_either_way() {
        assert_eq!(read(&[]).unwrap(), None);
        assert_eq!(read(&[(HOST, "c"), (TYPE, "xray")]).unwrap(), None);
        assert_eq!(read(&[(TYPE, "zipkin")]).unwrap_err().variable, TYPE);
        assert_eq!(read(&[(PORT, "http")]).unwrap_err().variable, PORT);
        assert_eq!(read(&[(ENABLED, "yes")]).unwrap_err().variable, ENABLED);
        let missing = read(&[(ENABLED, "true")]).unwrap_err();
        assert_eq!(missing.variable, HOST);
        assert!(missing.to_string().contains("collector"), "{missing}");
    }

    #[test]
    fn round_trips_through_the_environment() {
        let s = read(&[(ENABLED, "true"), (HOST, "otel"), (TYPE, "xray")])
            .unwrap()
            .unwrap();
        assert_eq!(s.port, DEFAULT_PORT);
        assert_eq!(s.endpoint(), "http://otel:4317");
        let env: HashMap<String, String> = s
            .to_env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(
            OtelSettings::read(|k| env.get(k).cloned()).unwrap(),
            Some(s)
        );
        let v6 = OtelSettings {
            kind: TraceKind::Otlp,
            host: "::1".into(),
            port: 1,
        };
        assert_eq!(v6.endpoint(), "http://[::1]:1");
    }
}
