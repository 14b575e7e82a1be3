//! Configuration: every `PHOBOS_*` variable of the server, with its
//! documented default. A malformed value, or a plugin type this build does
//! not have yet, is an error naming the variable.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: String,
    pub message: String,
}

fn err(var: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var: var.to_string(),
        message: message.into(),
    }
}

/// Where values come from (the process environment, or a map in tests),
/// and which of them were read: a `PHOBOS_*` variable set but never read
/// is a typo or a setting this server does not have ([`unread`](Env::unread)).
pub struct Env(HashMap<String, String>, RefCell<BTreeSet<String>>);

impl Env {
    pub fn from_process() -> Self {
        Env(
            std::env::vars()
                .filter(|(k, _)| k.starts_with("PHOBOS_"))
                .collect(),
            RefCell::default(),
        )
    }
    #[cfg(test)]
    pub fn from_map(m: HashMap<String, String>) -> Self {
        Env(m, RefCell::default())
    }
    /// The variables set (to something other than blanks, which read as
    /// unset) that no setting read, sorted (call after [`Config::load`]).
    pub fn unread(&self) -> Vec<String> {
        let read = self.1.borrow();
        let mut out: Vec<String> = self
            .0
            .iter()
            .filter(|(k, v)| !v.trim().is_empty() && !read.contains(*k))
            .map(|(k, _)| k.clone())
            .collect();
        out.sort();
        out
    }
    fn get(&self, var: &str) -> Option<String> {
        self.1.borrow_mut().insert(var.to_string());
        self.0
            .get(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }
    fn string(&self, var: &str, default: &str) -> String {
        self.get(var).unwrap_or_else(|| default.to_string())
    }
    fn parse<T: std::str::FromStr>(
        &self,
        var: &str,
        default: T,
        what: &str,
    ) -> Result<T, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| err(var, format!("{v:?} is not {what}"))),
        }
    }
    fn bool(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if v == "true" || v == "1" => Ok(true),
            Some(v) if v == "false" || v == "0" => Ok(false),
            Some(v) => Err(err(
                var,
                format!("{v:?} is not a boolean: use true or false"),
            )),
        }
    }
    /// `PREFIX<KEY>` variables, by KEY (e.g. plugin data).
    fn with_prefix(&self, prefix: &str) -> BTreeMap<String, String> {
        let mut read = self.1.borrow_mut();
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(prefix)?;
                read.insert(k.clone());
                Some((rest.to_string(), v.clone()))
            })
            .collect()
    }
    /// The indexes `n` for which some `PREFIX<n>_…` variable is set.
    fn indexes(&self, prefix: &str) -> Result<Vec<usize>, ConfigError> {
        let mut out: Vec<usize> = Vec::new();
        for k in self.0.keys() {
            if let Some(rest) = k.strip_prefix(prefix) {
                let n = rest.split('_').next().unwrap_or("");
                let i = n.parse().map_err(|_| {
                    err(
                        k,
                        format!("expected {prefix}<number>_…, e.g. {prefix}0_NAME"),
                    )
                })?;
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

#[derive(Debug, Clone)]
pub struct DbConfig {
    pub username: String,
    pub name: String,
    pub password: Option<Secret>,
    pub host: String,
    pub port: u16,
    pub ssl_mode: String,
    pub max_connections: u32,
    pub auto_migrate: bool,
}

/// Read and checked now; used once external OIDC lands.
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub struct OauthProvider {
    pub issuer_url: String,
    pub client_id: String,
    pub username_claim: String,
    pub scope: Option<String>,
}

#[derive(Debug, Clone)]
pub enum ObjectStoreConfig {
    Filesystem {
        directory: PathBuf,
    },
    /// `aws_s3`: a bucket of AWS S3 or of an S3-compatible server
    /// (`endpoint`, addressed path-style).
    AwsS3 {
        bucket: String,
        region: String,
        /// With the secret: static credentials; without: the AWS default
        /// chain (environment, profile, instance role).
        access_key_id: Option<String>,
        secret_access_key: Option<Secret>,
        endpoint: Option<String>,
    },
}

/// A secret setting: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where signing keys live (`PHOBOS_JWS_PROVIDER_PLUGIN_TYPE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwsConfig {
    Memory,
    Awskms(KmsKeyConfig),
}

/// `PHOBOS_JWS_PROVIDER_PLUGIN_DATA_*` of the `awskms` provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKeyConfig {
    /// `_REGION` (required).
    pub region: String,
    /// `_KEY_SPEC`: RSA_2048 (the default), RSA_3072 or RSA_4096 sign
    /// RS256; ECC_NIST_P256 signs ES256.
    pub key_spec: String,
    /// `_ALIAS_PREFIX` (default `phobos-`): keys are named
    /// `alias/{prefix}{key id}`.
    pub alias_prefix: String,
    /// `_TAGS`: `key=value,key=value`, put on every key made.
    pub tags: Vec<(String, String)>,
}

/// The `awskms` provider's settings.
fn kms_key_config(env: &Env) -> Result<KmsKeyConfig, ConfigError> {
    let region = env.get("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION").ok_or_else(|| {
        err(
            "PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION",
            "is required with PHOBOS_JWS_PROVIDER_PLUGIN_TYPE=awskms: set the AWS region of the KMS keys, e.g. us-east-1",
        )
    })?;
    let key_spec = env.string("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_SPEC", "RSA_2048");
    if !["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256"].contains(&key_spec.as_str()) {
        return Err(err(
            "PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_SPEC",
            format!("{key_spec:?} is not a signing key spec: use RSA_2048, RSA_3072, RSA_4096 (RS256) or ECC_NIST_P256 (ES256)"),
        ));
    }
    let alias_prefix = env.string("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ALIAS_PREFIX", "phobos-");
    if alias_prefix.starts_with("aws")
        || !alias_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
    {
        return Err(err(
            "PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ALIAS_PREFIX",
            format!("{alias_prefix:?} cannot begin a KMS alias: use letters, digits, '/', '_' and '-', not starting with \"aws\""),
        ));
    }
    let mut tags = Vec::new();
    if let Some(list) = env.get("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS") {
        for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    tags.push((k.trim().to_string(), v.trim().to_string()))
                }
                _ => {
                    return Err(err(
                        "PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS",
                        format!("{pair:?} is not key=value: write tags as team=platform,env=prod"),
                    ))
                }
            }
        }
    }
    Ok(KmsKeyConfig {
        region,
        key_spec,
        alias_prefix,
        tags,
    })
}

/// Where rate limit counts are kept (`PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateLimitStoreConfig {
    Memory,
    Redis { endpoint: String },
}

#[derive(Debug, Clone)]
pub struct InternalAgent {
    pub name: String,
    pub executor_path: Option<PathBuf>,
    pub tags: Vec<String>,
}

/// Every setting. Some are read and checked now but used by features that
/// come later (sessions, CORS, rate limits, plugins); they are kept so a bad
/// value stops start-up today rather than surprising later.
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub struct Config {
    /// Where spans are exported (`PHOBOS_OTEL_TRACE_*`); `None`: not at all.
    pub otel: Option<phobos_telemetry::OtelSettings>,
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    pub db: DbConfig,
    pub oauth_providers: Vec<OauthProvider>,
    pub internal_idp_client_id: String,
    pub token_issuer_url: String,
    pub signing_key_rotation_days: u32,
    pub signing_key_decommission_days: u32,
    pub access_token_minutes: i64,
    pub refresh_token_minutes: i64,
    pub max_sessions_per_user: u32,
    pub api_url: String,
    pub ui_url: String,
    pub support_url: Option<String>,
    pub http_port: u16,
    pub grpc_port: u16,
    pub external_grpc_port: u16,
    pub cors_allowed_origins: Vec<String>,
    pub http_rate_limit: u32,
    pub rate_limit_store: RateLimitStoreConfig,
    pub jws: JwsConfig,
    pub max_graphql_complexity: usize,
    pub async_task_timeout_seconds: u64,
    pub template_max_upload_size: usize,
    pub plugin_binary_max_upload_size: u64,
    pub object_store: ObjectStoreConfig,
    pub internal_agents: Vec<InternalAgent>,
    pub email_footer: Option<String>,
    /// None: no email is sent.
    pub email: Option<EmailConfig>,
    /// HTTPS and gRPC over TLS (`PHOBOS_TLS_*`); None: plain.
    pub tls: Option<TlsFiles>,
    pub jobs: JobLimits,
}

/// Email notifications: the client and how often a send is tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailConfig {
    pub client: EmailClientConfig,
    /// `PHOBOS_EMAIL_MAX_ATTEMPTS` (this build's own, default 6): sends of
    /// one mail before it is marked FAILED.
    pub max_attempts: u32,
}

/// `PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE` and its `_DATA_*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailClientConfig {
    Smtp {
        host: String,
        /// Default 587 (STARTTLS); 465 is TLS from the first byte.
        port: u16,
        from: String,
        username: Option<String>,
        password: Option<Secret>,
        disable_tls: bool,
    },
    /// Credentials from the AWS default chain (`AWS_*`).
    Ses {
        from: String,
        configuration_set: Option<String>,
        region: String,
    },
    Plunk {
        /// Default `https://api.useplunk.com`.
        endpoint: String,
        api_key: Secret,
        from: Option<String>,
    },
}

/// `PHOBOS_TLS_CERT_FILE` and `PHOBOS_TLS_KEY_FILE` (read at start-up by
/// [`crate::tls`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// How long jobs may run and how long their executors may stay silent.
/// These variables are this build's own (seed 000 names none for them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLimits {
    /// `PHOBOS_JOB_TIMEOUT_SECONDS` (3600): how long a job may run.
    pub timeout_seconds: u32,
    /// `PHOBOS_JOB_HEARTBEAT_TIMEOUT_SECONDS` (60): a job whose executor has
    /// not been heard from for this long is failed (its executor, agent or
    /// machine died). Executors beat every third of it.
    pub heartbeat_timeout_seconds: u32,
    /// `PHOBOS_JOB_LOG_MAX_BYTES` (10 MiB): the most log a job may write.
    pub log_max_bytes: u64,
    /// `PHOBOS_JOB_OUTPUTS_MAX_BYTES` (64 KiB): the most JSON one action's
    /// outputs may take.
    pub outputs_max_bytes: usize,
    /// `PHOBOS_JOB_CANCEL_GRACE_SECONDS` (30): after a graceful cancel, how
    /// long a job's commands get between SIGTERM and SIGKILL.
    pub cancel_grace_seconds: u32,
}

/// A plugin type this build has not got yet: start-up stops and says so.
/// `PHOBOS_EMAIL_CLIENT_PLUGIN_*` (None: no email is sent).
fn email_config(env: &Env) -> Result<Option<EmailConfig>, ConfigError> {
    const FROM: &str = "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS";
    let required = |var: &str, plugin: &str, what: &str| {
        env.get(var).ok_or_else(|| {
            err(
                var,
                format!("is required with the {plugin} email client: {what}"),
            )
        })
    };
    let max_attempts = env.parse(
        "PHOBOS_EMAIL_MAX_ATTEMPTS",
        6u32,
        "a number of attempts (at least 1)",
    )?;
    if max_attempts == 0 {
        return Err(err("PHOBOS_EMAIL_MAX_ATTEMPTS", "must be at least 1"));
    }
    let client = match env.get("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE").as_deref() {
        None => return Ok(None),
        Some("smtp") => EmailClientConfig::Smtp {
            host: required(
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_HOST",
                "smtp",
                "the SMTP server's host name",
            )?,
            port: env.parse(
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PORT",
                587u16,
                "a port number",
            )?,
            from: required(FROM, "smtp", "the sender's address")?,
            username: env.get("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_USERNAME"),
            password: env
                .get("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PASSWORD")
                .map(Secret),
            disable_tls: env.bool("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_DISABLE_TLS", false)?,
        },
        Some("ses") => EmailClientConfig::Ses {
            from: required(FROM, "ses", "the sender's address (an SES identity)")?,
            configuration_set: env
                .get("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_AWS_CONFIGURATION_SET_NAME"),
            region: required(
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_REGION",
                "ses",
                "the AWS region of SES, e.g. us-east-1",
            )?,
        },
        Some("plunk") => EmailClientConfig::Plunk {
            endpoint: plunk_endpoint(&env.string(
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_ENDPOINT",
                "https://api.useplunk.com",
            ))?,
            api_key: Secret(required(
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_API_KEY",
                "plunk",
                "the Plunk API key",
            )?),
            from: env.get(FROM),
        },
        Some(v) => {
            return Err(err(
                "PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE",
                format!("{v:?} is not an email client: use smtp, ses, plunk, or leave it empty"),
            ))
        }
    };
    Ok(Some(EmailConfig {
        client,
        max_attempts,
    }))
}

/// The smallest `PHOBOS_DB_MAX_CONNECTIONS` the server runs with.
const MIN_DB_CONNECTIONS: u32 = 8;

fn not_yet(var: &str, value: &str, have: &str) -> ConfigError {
    err(
        var,
        format!("plugin type {value:?} is not available in this build yet (available: {have})"),
    )
}

impl Config {
    pub fn load(env: &Env) -> Result<Config, ConfigError> {
        let api_url = env.string("PHOBOS_API_URL", "http://localhost:9000");
        let ui_url = env.string("PHOBOS_UI_URL", &api_url);
        let grpc_port = env.parse("PHOBOS_GRPC_SERVER_PORT", 9010u16, "a port number")?;

        let db = DbConfig {
            username: env.string("PHOBOS_DB_USERNAME", "postgres"),
            name: env.string("PHOBOS_DB_NAME", "phobos"),
            password: env.get("PHOBOS_DB_PASSWORD").map(Secret),
            host: env.string("PHOBOS_DB_HOST", "localhost"),
            port: env.parse("PHOBOS_DB_PORT", 5432u16, "a port number")?,
            ssl_mode: env.string("PHOBOS_DB_SSL_MODE", "prefer"),
            max_connections: env.parse("PHOBOS_DB_MAX_CONNECTIONS", 20u32, "a whole number")?,
            auto_migrate: env.bool("PHOBOS_DB_AUTO_MIGRATE_ENABLED", true)?,
        };
        if ![
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ]
        .contains(&db.ssl_mode.as_str())
        {
            return Err(err(
                "PHOBOS_DB_SSL_MODE",
                format!("{:?} is not an SSL mode: use disable, allow, prefer, require, verify-ca or verify-full", db.ssl_mode),
            ));
        }
        // The background workers (projector, policies and their commands,
        // dispatcher, timers, notifications, reaper) hold up to six
        // connections at once: a pool of 4 starved requests in
        // tests/settings.rs, 5 did not; 8 leaves room for requests.
        if db.max_connections < MIN_DB_CONNECTIONS {
            return Err(err(
                "PHOBOS_DB_MAX_CONNECTIONS",
                format!(
                    "must be at least {MIN_DB_CONNECTIONS}: the server's background workers hold up to six connections at once, and a smaller pool starves requests"
                ),
            ));
        }

        let mut oauth_providers = Vec::new();
        for i in env.indexes("PHOBOS_OAUTH_PROVIDERS_")? {
            let p = |k: &str| format!("PHOBOS_OAUTH_PROVIDERS_{i}_{k}");
            oauth_providers.push(OauthProvider {
                issuer_url: env
                    .get(&p("ISSUER_URL"))
                    .ok_or_else(|| err(&p("ISSUER_URL"), "is required for each OAuth provider"))?,
                client_id: env
                    .get(&p("CLIENT_ID"))
                    .ok_or_else(|| err(&p("CLIENT_ID"), "is required for each OAuth provider"))?,
                username_claim: env.string(&p("USERNAME_CLAIM"), "sub"),
                scope: env.get(&p("SCOPE")),
            });
        }

        let tls = if env.bool("PHOBOS_TLS_ENABLED", false)? {
            let file = |var: &str, what: &str| {
                env.get(var).map(PathBuf::from).ok_or_else(|| {
                    err(
                        var,
                        format!("is required with PHOBOS_TLS_ENABLED=true: the PEM file of {what}"),
                    )
                })
            };
            Some(TlsFiles {
                cert_file: file(
                    "PHOBOS_TLS_CERT_FILE",
                    "the server's certificate (its chain after it)",
                )?,
                key_file: file("PHOBOS_TLS_KEY_FILE", "the certificate's private key")?,
            })
        } else {
            for var in ["PHOBOS_TLS_CERT_FILE", "PHOBOS_TLS_KEY_FILE"] {
                if env.get(var).is_some() {
                    return Err(err(
                        var,
                        "is set but PHOBOS_TLS_ENABLED is not true: set PHOBOS_TLS_ENABLED=true to serve HTTPS and gRPC over TLS, or unset it",
                    ));
                }
            }
            None
        };

        let object_store = match env.get("PHOBOS_OBJECT_STORE_PLUGIN_TYPE").as_deref() {
            Some("filesystem") => ObjectStoreConfig::Filesystem {
                directory: env
                    .get("PHOBOS_OBJECT_STORE_PLUGIN_DATA_DIRECTORY")
                    .map(PathBuf::from)
                    .ok_or_else(|| {
                        err(
                            "PHOBOS_OBJECT_STORE_PLUGIN_DATA_DIRECTORY",
                            "is required with the filesystem object store: a directory for stored objects",
                        )
                    })?,
            },
            Some("aws_s3") => {
                const BUCKET: &str = "PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET";
                const KEY_ID: &str = "PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_ACCESS_KEY_ID";
                const SECRET: &str = "PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY";
                let bucket = env.get(BUCKET).ok_or_else(|| {
                    err(BUCKET, "is required with the aws_s3 object store: the bucket's name")
                })?;
                let region = env.get("PHOBOS_OBJECT_STORE_PLUGIN_DATA_REGION").ok_or_else(|| {
                    err(
                        "PHOBOS_OBJECT_STORE_PLUGIN_DATA_REGION",
                        "is required with the aws_s3 object store, e.g. us-east-1",
                    )
                })?;
                let access_key_id = env.get(KEY_ID);
                let secret_access_key = env.get(SECRET).map(Secret);
                match (&access_key_id, &secret_access_key) {
                    (Some(_), None) => {
                        return Err(err(SECRET, format!("is required when {KEY_ID} is set")))
                    }
                    (None, Some(_)) => {
                        return Err(err(KEY_ID, format!("is required when {SECRET} is set")))
                    }
                    _ => {}
                }
                ObjectStoreConfig::AwsS3 {
                    bucket,
                    region,
                    access_key_id,
                    secret_access_key,
                    endpoint: env.get("PHOBOS_OBJECT_STORE_PLUGIN_DATA_ENDPOINT"),
                }
            }
            Some(v) => {
                return Err(err(
                    "PHOBOS_OBJECT_STORE_PLUGIN_TYPE",
                    format!("{v:?} is not an object store plugin: use filesystem or aws_s3"),
                ))
            }
            None => {
                return Err(err(
                    "PHOBOS_OBJECT_STORE_PLUGIN_TYPE",
                    "is required: set it to filesystem (with PHOBOS_OBJECT_STORE_PLUGIN_DATA_DIRECTORY) or aws_s3",
                ))
            }
        };
        let jws = match env
            .string("PHOBOS_JWS_PROVIDER_PLUGIN_TYPE", "memory")
            .as_str()
        {
            "memory" => JwsConfig::Memory,
            "awskms" => JwsConfig::Awskms(kms_key_config(env)?),
            v => {
                return Err(err(
                    "PHOBOS_JWS_PROVIDER_PLUGIN_TYPE",
                    format!("{v:?} is not a JWS provider: use memory or awskms"),
                ))
            }
        };
        let rate_limit_store = match env
            .string("PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE", "memory")
            .as_str()
        {
            "memory" => RateLimitStoreConfig::Memory,
            "redis" => RateLimitStoreConfig::Redis {
                endpoint: env
                    .get("PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT")
                    .ok_or_else(|| {
                        err(
                            "PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT",
                            "is required with PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE=redis (e.g. redis://127.0.0.1:6379)",
                        )
                    })?,
            },
            v => {
                return Err(err(
                    "PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE",
                    format!("{v:?} is not a rate limit store: use memory or redis"),
                ))
            }
        };
        let email = email_config(env)?;
        // Each read through `env`, so check-config counts them as read.
        let otel = phobos_telemetry::OtelSettings::read(|k| env.get(k))
            .map_err(|e| err(e.variable, e.message))?;

        let mut internal_agents = Vec::new();
        for i in env.indexes("PHOBOS_INTERNAL_AGENTS_")? {
            let p = |k: &str| format!("PHOBOS_INTERNAL_AGENTS_{i}_{k}");
            let name = env
                .get(&p("NAME"))
                .ok_or_else(|| err(&p("NAME"), "is required for each internal agent"))?;
            match env.get(&p("JOB_DISPATCHER_TYPE")).as_deref() {
                Some("local") => {}
                Some(v @ ("docker" | "kubernetes" | "ecs")) => {
                    return Err(not_yet(&p("JOB_DISPATCHER_TYPE"), v, "local"))
                }
                Some(v) => {
                    return Err(err(
                        &p("JOB_DISPATCHER_TYPE"),
                        format!(
                            "{v:?} is not a job dispatcher: use local, docker, kubernetes or ecs"
                        ),
                    ))
                }
                None => {
                    return Err(err(
                        &p("JOB_DISPATCHER_TYPE"),
                        "is required for each internal agent",
                    ))
                }
            }
            let data = env.with_prefix(&p("JOB_DISPATCHER_DATA_"));
            internal_agents.push(InternalAgent {
                name,
                executor_path: data.get("EXECUTOR_PATH").map(PathBuf::from),
                tags: data
                    .get("TAGS")
                    .map(|t| {
                        t.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }

        let admin_email = env.get("PHOBOS_ADMIN_USER_EMAIL");
        let admin_password = env.get("PHOBOS_ADMIN_USER_PASSWORD");
        if admin_email.is_some() != admin_password.is_some() {
            return Err(err(
                if admin_email.is_some() { "PHOBOS_ADMIN_USER_PASSWORD" } else { "PHOBOS_ADMIN_USER_EMAIL" },
                "PHOBOS_ADMIN_USER_EMAIL and PHOBOS_ADMIN_USER_PASSWORD are set together or not at all",
            ));
        }

        Ok(Config {
            otel,
            admin_email,
            admin_password: admin_password.map(Secret),
            db,
            oauth_providers,
            internal_idp_client_id: env
                .string("PHOBOS_OIDC_INTERNAL_IDENTITY_PROVIDER_CLIENT_ID", "phobos"),
            token_issuer_url: env.string("PHOBOS_TOKEN_ISSUER_URL", &api_url),
            signing_key_rotation_days: env.parse(
                "PHOBOS_ASYMMETRIC_SIGNING_KEY_ROTATION_PERIOD_DAYS",
                0,
                "a number of days",
            )?,
            signing_key_decommission_days: env.parse(
                "PHOBOS_ASYMMETRIC_SIGNING_KEY_DECOMMISSION_PERIOD_DAYS",
                7,
                "a number of days",
            )?,
            access_token_minutes: env.parse(
                "PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES",
                5,
                "a number of minutes",
            )?,
            refresh_token_minutes: env.parse(
                "PHOBOS_USER_SESSION_REFRESH_TOKEN_EXPIRATION_MINUTES",
                720,
                "a number of minutes",
            )?,
            max_sessions_per_user: env.parse(
                "PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER",
                20,
                "a whole number",
            )?,
            cors_allowed_origins: env
                .get("PHOBOS_CORS_ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_else(|| vec![ui_url.clone()]),
            api_url,
            ui_url,
            support_url: env.get("PHOBOS_SUPPORT_URL"),
            http_port: env.parse("PHOBOS_HTTP_SERVER_PORT", 9000u16, "a port number")?,
            grpc_port,
            external_grpc_port: env.parse(
                "PHOBOS_EXTERNAL_GRPC_PORT",
                grpc_port,
                "a port number",
            )?,
            rate_limit_store,
            jws,
            http_rate_limit: env.parse(
                "PHOBOS_HTTP_RATE_LIMIT",
                60u32,
                "a number of requests per second",
            )?,
            max_graphql_complexity: env.parse(
                "PHOBOS_MAX_GRAPHQL_COMPLEXITY",
                0usize,
                "a whole number",
            )?,
            async_task_timeout_seconds: match env.parse(
                "PHOBOS_ASYNC_TASK_TIMEOUT",
                100u64,
                "a number of seconds",
            )? {
                0 => {
                    return Err(err(
                        "PHOBOS_ASYNC_TASK_TIMEOUT",
                        "must be at least 1 (seconds a background task may take)",
                    ))
                }
                n => n,
            },
            template_max_upload_size: env.parse(
                "PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE",
                131072usize,
                "a size in bytes",
            )?,
            plugin_binary_max_upload_size: env.parse(
                "PHOBOS_PLUGIN_BINARY_MAX_UPLOAD_SIZE",
                1073741824u64,
                "a size in bytes",
            )?,
            object_store,
            internal_agents,
            email_footer: env.get("PHOBOS_EMAIL_FOOTER"),
            tls,
            email,
            jobs: JobLimits {
                timeout_seconds: env.parse(
                    "PHOBOS_JOB_TIMEOUT_SECONDS",
                    3600,
                    "a number of seconds",
                )?,
                heartbeat_timeout_seconds: env.parse(
                    "PHOBOS_JOB_HEARTBEAT_TIMEOUT_SECONDS",
                    60,
                    "a number of seconds",
                )?,
                log_max_bytes: env.parse(
                    "PHOBOS_JOB_LOG_MAX_BYTES",
                    10 * 1024 * 1024,
                    "a size in bytes",
                )?,
                outputs_max_bytes: env.parse(
                    "PHOBOS_JOB_OUTPUTS_MAX_BYTES",
                    64 * 1024,
                    "a size in bytes",
                )?,
                cancel_grace_seconds: env.parse(
                    "PHOBOS_JOB_CANCEL_GRACE_SECONDS",
                    30,
                    "a number of seconds",
                )?,
            },
        })
    }
}

/// Plunk's endpoint, without a trailing `/`. The API key goes with every
/// request, so plain `http://` is refused but to this machine (a relay or a
/// test server on loopback).
fn plunk_endpoint(value: &str) -> Result<String, ConfigError> {
    const VAR: &str = "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_ENDPOINT";
    let url = url::Url::parse(value).map_err(|e| {
        err(
            VAR,
            format!("{value:?} is not a URL ({e}): give one such as https://api.useplunk.com"),
        )
    })?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(err(
                VAR,
                format!("{value:?} would send the Plunk API key in plain text: use https:// (plain http:// is allowed only to localhost, 127.0.0.1 or [::1])"),
            ))
        }
        other => {
            return Err(err(
                VAR,
                format!("{other}:// is not a web URL: use https://"),
            ))
        }
    }
    Ok(value.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_passwords() {
        let c = load(&[
            ("PHOBOS_DB_PASSWORD", "db-secret-71"),
            ("PHOBOS_ADMIN_USER_EMAIL", "admin@example.test"),
            ("PHOBOS_ADMIN_USER_PASSWORD", "admin-secret-72"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("db-secret-71") && !shown.contains("admin-secret-72"),
            "{shown}"
        );
        assert!(shown.contains("<redacted>"));
    }

    /// Every setting seed 000 names is read by [`Config::load`] (in one of
    /// a few consistent combinations: one plugin of each kind at a time);
    /// `tests/settings.rs` names the test that shows what each does.
    #[test]
    fn every_seed_000_setting_is_read() {
        let seed: BTreeSet<String> = include_str!("../tests/fixtures/seed_000_settings.txt")
            .lines()
            .filter(|l| l.starts_with("PHOBOS_"))
            .map(str::to_string)
            .collect();
        let common: &[(&str, &str)] = &[
            ("PHOBOS_ADMIN_USER_EMAIL", "admin@example.test"),
            ("PHOBOS_ADMIN_USER_PASSWORD", "pw"),
            ("PHOBOS_API_URL", "https://phobos.example.test"),
            ("PHOBOS_UI_URL", "https://ui.example.test"),
            ("PHOBOS_SUPPORT_URL", "https://help.example.test"),
            (
                "PHOBOS_ASYMMETRIC_SIGNING_KEY_DECOMMISSION_PERIOD_DAYS",
                "10",
            ),
            ("PHOBOS_ASYMMETRIC_SIGNING_KEY_ROTATION_PERIOD_DAYS", "20"),
            ("PHOBOS_ASYNC_TASK_TIMEOUT", "50"),
            (
                "PHOBOS_CORS_ALLOWED_ORIGINS",
                "https://a.test,https://b.test",
            ),
            ("PHOBOS_DB_AUTO_MIGRATE_ENABLED", "false"),
            ("PHOBOS_DB_HOST", "db"),
            ("PHOBOS_DB_MAX_CONNECTIONS", "8"),
            ("PHOBOS_DB_NAME", "phobos"),
            ("PHOBOS_DB_PASSWORD", "secret"),
            ("PHOBOS_DB_PORT", "5433"),
            ("PHOBOS_DB_SSL_MODE", "require"),
            ("PHOBOS_DB_USERNAME", "phobos"),
            ("PHOBOS_EMAIL_FOOTER", "footer"),
            ("PHOBOS_EXTERNAL_GRPC_PORT", "443"),
            ("PHOBOS_GRPC_SERVER_PORT", "9011"),
            ("PHOBOS_HTTP_RATE_LIMIT", "10"),
            ("PHOBOS_HTTP_SERVER_PORT", "9001"),
            ("PHOBOS_INTERNAL_AGENTS_0_NAME", "local"),
            ("PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_TYPE", "local"),
            (
                "PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_DATA_EXECUTOR_PATH",
                "/bin/x",
            ),
            ("PHOBOS_MAX_GRAPHQL_COMPLEXITY", "100"),
            ("PHOBOS_OAUTH_PROVIDERS_0_CLIENT_ID", "c"),
            (
                "PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL",
                "https://idp.example.test",
            ),
            ("PHOBOS_OAUTH_PROVIDERS_0_SCOPE", "openid"),
            ("PHOBOS_OAUTH_PROVIDERS_0_USERNAME_CLAIM", "email"),
            ("PHOBOS_OIDC_INTERNAL_IDENTITY_PROVIDER_CLIENT_ID", "ui"),
            ("PHOBOS_PLUGIN_BINARY_MAX_UPLOAD_SIZE", "1000"),
            ("PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE", "1000"),
            ("PHOBOS_TLS_ENABLED", "true"),
            ("PHOBOS_TLS_CERT_FILE", "/c.pem"),
            ("PHOBOS_TLS_KEY_FILE", "/k.pem"),
            ("PHOBOS_TOKEN_ISSUER_URL", "https://issuer.example.test"),
            ("PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES", "6"),
            ("PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER", "3"),
            ("PHOBOS_USER_SESSION_REFRESH_TOKEN_EXPIRATION_MINUTES", "60"),
            ("PHOBOS_OTEL_TRACE_ENABLED", "false"),
            ("PHOBOS_OTEL_TRACE_TYPE", "otlp"),
            ("PHOBOS_OTEL_TRACE_HOST", "collector"),
            ("PHOBOS_OTEL_TRACE_PORT", "4317"),
        ];
        let s3_kms_redis_smtp: &[(&str, &str)] = &[
            ("PHOBOS_OBJECT_STORE_PLUGIN_TYPE", "aws_s3"),
            ("PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET", "b"),
            ("PHOBOS_OBJECT_STORE_PLUGIN_DATA_REGION", "us-east-1"),
            ("PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_ACCESS_KEY_ID", "k"),
            ("PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY", "s"),
            ("PHOBOS_OBJECT_STORE_PLUGIN_DATA_ENDPOINT", "http://s3.test"),
            ("PHOBOS_JWS_PROVIDER_PLUGIN_TYPE", "awskms"),
            ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION", "us-east-1"),
            ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_SPEC", "RSA_2048"),
            ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ALIAS_PREFIX", "phobos"),
            ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS", "team=platform"),
            ("PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE", "redis"),
            (
                "PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT",
                "redis://r:6379",
            ),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "smtp"),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_HOST", "smtp.test"),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PORT", "25"),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_USERNAME", "u"),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PASSWORD", "p"),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_DISABLE_TLS", "true"),
            (
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS",
                "phobos@example.test",
            ),
        ];
        let ses: &[(&str, &str)] = &[
            ("PHOBOS_OBJECT_STORE_PLUGIN_TYPE", "filesystem"),
            ("PHOBOS_OBJECT_STORE_PLUGIN_DATA_DIRECTORY", "/tmp/o"),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "ses"),
            (
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS",
                "phobos@example.test",
            ),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_REGION", "us-east-1"),
            (
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_AWS_CONFIGURATION_SET_NAME",
                "set",
            ),
        ];
        let plunk: &[(&str, &str)] = &[
            ("PHOBOS_OBJECT_STORE_PLUGIN_TYPE", "filesystem"),
            ("PHOBOS_OBJECT_STORE_PLUGIN_DATA_DIRECTORY", "/tmp/o"),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "plunk"),
            (
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_ENDPOINT",
                "https://plunk.test",
            ),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_API_KEY", "key"),
        ];
        let mut covered = BTreeSet::new();
        for group in [s3_kms_redis_smtp, ses, plunk] {
            let env = Env::from_map(
                common
                    .iter()
                    .chain(group)
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
            Config::load(&env).unwrap();
            assert_eq!(env.unread(), Vec::<String>::new());
            covered.extend(common.iter().chain(group).map(|(k, _)| k.to_string()));
        }
        let missing: Vec<&String> = seed.difference(&covered).collect();
        assert!(
            missing.is_empty(),
            "seed 000 settings no group sets: {missing:?}"
        );
    }

    #[test]
    fn variables_nothing_reads_are_named_and_blanks_are_unset() {
        let env = Env::from_map(HashMap::from([
            ("PHOBOS_DB_HOST".to_string(), "db".to_string()),
            ("PHOBOS_DB_PASWORD".to_string(), "typo".to_string()),
            (
                "PHOBOS_OBJECT_STORE_PLUGIN_TYPE".to_string(),
                "filesystem".to_string(),
            ),
            (
                "PHOBOS_OBJECT_STORE_PLUGIN_DATA_DIRECTORY".to_string(),
                "/tmp/objects".to_string(),
            ),
            // Compose sets what .env leaves out to "": read as unset.
            ("PHOBOS_TLS_CERT_FILE".to_string(), " ".to_string()),
            ("PHOBOS_NOT_A_SETTING".to_string(), "".to_string()),
        ]));
        Config::load(&env).unwrap();
        assert_eq!(env.unread(), ["PHOBOS_DB_PASWORD"]);
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        m.entry("PHOBOS_OBJECT_STORE_PLUGIN_TYPE".into())
            .or_insert("filesystem".into());
        m.entry("PHOBOS_OBJECT_STORE_PLUGIN_DATA_DIRECTORY".into())
            .or_insert("/tmp/x".into());
        Config::load(&Env::from_map(m))
    }

    #[test]
    fn documented_defaults() {
        let c = load(&[]).unwrap();
        assert_eq!(c.http_port, 9000);
        assert_eq!(c.grpc_port, 9010);
        assert_eq!(c.external_grpc_port, 9010);
        assert_eq!(c.api_url, "http://localhost:9000");
        assert_eq!(c.ui_url, c.api_url);
        assert_eq!(c.token_issuer_url, c.api_url);
        assert_eq!(c.cors_allowed_origins, vec![c.ui_url.clone()]);
        assert!(c.db.auto_migrate);
        assert_eq!(c.access_token_minutes, 5);
        assert_eq!(c.refresh_token_minutes, 720);
        assert_eq!(c.max_sessions_per_user, 20);
        assert_eq!(c.http_rate_limit, 60);
        assert_eq!(c.max_graphql_complexity, 0);
        assert_eq!(c.async_task_timeout_seconds, 100);
        assert_eq!(c.template_max_upload_size, 131072);
        assert_eq!(c.plugin_binary_max_upload_size, 1073741824);
        assert_eq!(c.signing_key_rotation_days, 0);
        assert_eq!(c.signing_key_decommission_days, 7);
        assert_eq!(c.internal_idp_client_id, "phobos");
    }

    #[test]
    fn awskms_settings_are_read_with_their_defaults() {
        let c = load(&[
            ("PHOBOS_JWS_PROVIDER_PLUGIN_TYPE", "awskms"),
            ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION", "eu-west-1"),
            (
                "PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS",
                "team=platform, env = prod",
            ),
        ])
        .unwrap();
        assert_eq!(
            c.jws,
            JwsConfig::Awskms(KmsKeyConfig {
                region: "eu-west-1".into(),
                key_spec: "RSA_2048".into(),
                alias_prefix: "phobos-".into(),
                tags: vec![
                    ("team".into(), "platform".into()),
                    ("env".into(), "prod".into())
                ],
            })
        );
        assert_eq!(load(&[]).unwrap().jws, JwsConfig::Memory);
    }

    #[test]
    fn errors_name_the_variable() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case] = &[
            (
                &[("PHOBOS_HTTP_SERVER_PORT", "nine")],
                "PHOBOS_HTTP_SERVER_PORT",
                "not a port",
            ),
            (
                &[("PHOBOS_DB_AUTO_MIGRATE_ENABLED", "yes")],
                "PHOBOS_DB_AUTO_MIGRATE_ENABLED",
                "true or false",
            ),
            (
                &[("PHOBOS_OBJECT_STORE_PLUGIN_TYPE", "aws_s3")],
                "PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET",
                "is required",
            ),
            (
                &[("PHOBOS_ASYNC_TASK_TIMEOUT", "0")],
                "PHOBOS_ASYNC_TASK_TIMEOUT",
                "must be at least 1",
            ),
            (
                &[
                    ("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "plunk"),
                    ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_API_KEY", "pk_secret"),
                    (
                        "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_ENDPOINT",
                        "http://mail.example.com",
                    ),
                ],
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_ENDPOINT",
                "in plain text",
            ),
            (
                &[
                    ("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "plunk"),
                    ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_API_KEY", "pk_secret"),
                    (
                        "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_ENDPOINT",
                        "api.useplunk.com",
                    ),
                ],
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_ENDPOINT",
                "not a URL",
            ),
            (
                &[("PHOBOS_OTEL_TRACE_ENABLED", "true")],
                "PHOBOS_OTEL_TRACE_HOST",
                "is required when PHOBOS_OTEL_TRACE_ENABLED is true",
            ),
            (
                &[("PHOBOS_OBJECT_STORE_PLUGIN_TYPE", "ftp")],
                "PHOBOS_OBJECT_STORE_PLUGIN_TYPE",
                "not an object store",
            ),
            (
                &[("PHOBOS_JWS_PROVIDER_PLUGIN_TYPE", "awskms")],
                "PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION",
                "is required",
            ),
            (
                &[
                    ("PHOBOS_JWS_PROVIDER_PLUGIN_TYPE", "awskms"),
                    ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION", "eu-west-1"),
                    ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_SPEC", "HMAC_256"),
                ],
                "PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_SPEC",
                "not a signing key spec",
            ),
            (
                &[
                    ("PHOBOS_JWS_PROVIDER_PLUGIN_TYPE", "awskms"),
                    ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION", "eu-west-1"),
                    ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS", "team=a,oops"),
                ],
                "PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS",
                "not key=value",
            ),
            (
                &[
                    ("PHOBOS_JWS_PROVIDER_PLUGIN_TYPE", "awskms"),
                    ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION", "eu-west-1"),
                    ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ALIAS_PREFIX", "aws/x"),
                ],
                "PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ALIAS_PREFIX",
                "cannot begin",
            ),
            (
                &[("PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE", "redis")],
                "PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT",
                "is required",
            ),
            (
                &[("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "smtp")],
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_HOST",
                "is required with the smtp email client",
            ),
            (
                &[("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "plunk")],
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_API_KEY",
                "is required with the plunk email client",
            ),
            (
                &[
                    ("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "ses"),
                    ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS", "a@b.c"),
                ],
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_REGION",
                "is required with the ses email client",
            ),
            (
                &[("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "sendgrid")],
                "PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE",
                "is not an email client",
            ),
            (
                &[
                    ("PHOBOS_INTERNAL_AGENTS_0_NAME", "a"),
                    ("PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_TYPE", "docker"),
                ],
                "PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_TYPE",
                "not available",
            ),
            (
                &[("PHOBOS_DB_SSL_MODE", "maybe")],
                "PHOBOS_DB_SSL_MODE",
                "not an SSL mode",
            ),
            (
                &[("PHOBOS_ADMIN_USER_EMAIL", "a@b.c")],
                "PHOBOS_ADMIN_USER_PASSWORD",
                "together",
            ),
        ];
        for (pairs, var, text) in cases {
            let e = load(pairs).expect_err(var);
            assert_eq!(&e.var, var, "{e}");
            assert!(e.to_string().contains(text), "{e}");
        }
        let mut m = HashMap::new();
        m.insert("PHOBOS_HTTP_SERVER_PORT".to_string(), "9000".to_string());
        let e = Config::load(&Env::from_map(m)).unwrap_err();
        assert_eq!(e.var, "PHOBOS_OBJECT_STORE_PLUGIN_TYPE");
    }

    #[test]
    fn internal_agents_by_index() {
        let c = load(&[
            ("PHOBOS_INTERNAL_AGENTS_0_NAME", "local"),
            ("PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_TYPE", "local"),
            (
                "PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_DATA_EXECUTOR_PATH",
                "/bin/exec",
            ),
            ("PHOBOS_INTERNAL_AGENTS_1_NAME", "second"),
            ("PHOBOS_INTERNAL_AGENTS_1_JOB_DISPATCHER_TYPE", "local"),
        ])
        .unwrap();
        assert_eq!(c.internal_agents.len(), 2);
        assert_eq!(
            c.internal_agents[0].executor_path.as_deref(),
            Some(std::path::Path::new("/bin/exec"))
        );
        assert_eq!(c.internal_agents[1].name, "second");
    }
}
