//! `cargo xtask up`: the whole system on this machine with embedded defaults.
//!
//! Builds the binaries, starts a private PostgreSQL cluster in `.phobos/pg`
//! (unless `PHOBOS_DB_HOST` names the user's own server), then
//! `phobos serve` with filesystem/in-memory plugins and one internal agent,
//! waits for `/healthz`, prints where to connect, and runs until Ctrl-C.
//!
//! Everything lives in `<repo>/.phobos/` (git-ignored) and survives restarts:
//! `pg/` (the cluster), `pg-port`, `admin-password`, `objects/`, `phobos.log`.
//!
//! [`start`] and [`Running`] are the reusable part (`cargo xtask demo` starts
//! a server with them when none answers).

use std::collections::VecDeque;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cargo::{cargo, target_dir};
use crate::pg::{self, show, Cluster};
use crate::process::run as run_cmd;
use crate::signal;

pub const DEFAULT_HTTP_PORT: u16 = 9000;
pub const DEFAULT_GRPC_PORT: u16 = 9010;
/// Not 5432, which a system-wide PostgreSQL may hold.
pub const DEFAULT_PG_PORT: u16 = 5433;
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@phobos.local";

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines of the server's output kept to show when it fails.
const TAIL_LINES: usize = 40;

pub struct Options {
    /// The repository: data goes to `<root>/.phobos`.
    pub root: PathBuf,
    /// Build the binaries first (`cargo build -p phobos-api -p phobos-agent
    /// -p phobos-executor`); without it they must already be built.
    pub build: bool,
    /// Copy the server's output to stderr once it is ready. It always goes to
    /// `.phobos/phobos.log`.
    pub echo_log: bool,
}

impl Options {
    pub fn new(root: &Path) -> Options {
        Options {
            root: root.to_path_buf(),
            build: true,
            echo_log: true,
        }
    }
}

/// A `phobos serve` that answered `/healthz`, and the cluster started for it.
/// Dropping it stops both, like [`Running::stop`].
pub struct Running {
    /// `http://localhost:PORT`
    #[allow(dead_code)] // API for other tasks (`cargo xtask demo`)
    pub http_url: String,
    /// `http://localhost:PORT/graphql` (GraphiQL in a browser).
    pub graphql_url: String,
    /// `http://127.0.0.1:PORT`, as gRPC clients (tonic) take it.
    pub grpc_url: String,
    pub admin_email: String,
    pub admin_password: String,
    /// `<root>/.phobos`
    pub data_dir: PathBuf,
    /// The server's output.
    pub log_file: PathBuf,
    /// The database, for display: our cluster's URL, or the user's server.
    pub database: String,
    child: Option<Child>,
    /// Our cluster; `None` when the user's server (`PHOBOS_DB_HOST`) is used.
    cluster: Option<Cluster>,
    log: Arc<Log>,
}

/// Starts the system and returns once `/healthz` answers 200. Fails if a
/// server already answers on the HTTP port. Catches SIGINT/SIGTERM/SIGHUP
/// (see [`crate::signal`]): a signal during the start stops what was started
/// and fails; afterwards the caller polls [`signal::count`].
pub fn start(opts: &Options) -> Result<Running> {
    signal::catch();
    let root = &opts.root;
    let data_dir = root.join(".phobos");
    let http_port = http_port()?;
    let grpc_port = port_from_env("PHOBOS_GRPC_SERVER_PORT", DEFAULT_GRPC_PORT)?;
    if server_answers(http_port) {
        bail!(
            "a Phobos server already answers on http://localhost:{http_port}: \
             stop it first, or use it"
        );
    }
    if opts.build {
        match crate::ui::node() {
            Ok(_) => crate::ui::build(root)?,
            Err(why) => {
                println!("==> the web UI is not built ({why:#}); / will say how to build it")
            }
        }
        println!("==> building phobos, phobos-agent, phobos-job-executor");
        run_cmd(cargo().current_dir(root).args([
            "build",
            "-p",
            "phobos-api",
            "-p",
            "phobos-agent",
            "-p",
            "phobos-executor",
        ]))?;
    }
    interrupted()?;
    let bindir = target_dir(root)?.join("debug");
    let server = bindir.join("phobos");
    let executor = bindir.join("phobos-job-executor");
    for bin in [&server, &executor] {
        if !bin.is_file() {
            bail!(
                "{} is missing: `cargo xtask up` builds it (without --no-build)",
                bin.display()
            );
        }
    }
    let objects = data_dir.join("objects");
    fs::create_dir_all(&objects).with_context(|| format!("cannot create {}", objects.display()))?;
    let (admin_email, admin_password) = admin_login(&data_dir)?;
    let log_file = data_dir.join("phobos.log");
    let log = Arc::new(Log {
        tail: Mutex::new(VecDeque::new()),
        file: Mutex::new(
            fs::File::create(&log_file)
                .with_context(|| format!("cannot create {}", log_file.display()))?,
        ),
        echo: AtomicBool::new(false),
    });
    let mut running = Running {
        http_url: format!("http://localhost:{http_port}"),
        graphql_url: format!("http://localhost:{http_port}/graphql"),
        grpc_url: format!("http://127.0.0.1:{grpc_port}"),
        admin_email,
        admin_password,
        data_dir,
        log_file,
        database: String::new(),
        child: None,
        cluster: None,
        log,
    };

    let mut cmd = Command::new(&server);
    cmd.arg("serve")
        .current_dir(root)
        .env("PHOBOS_ADMIN_USER_EMAIL", &running.admin_email)
        .env("PHOBOS_ADMIN_USER_PASSWORD", &running.admin_password);
    match std::env::var("PHOBOS_DB_HOST") {
        Ok(host) if !host.is_empty() => {
            // The user's server: PHOBOS_DB_* pass through untouched.
            println!("==> using the database server at {host} (PHOBOS_DB_*)");
            running.database = format!("{host} (PHOBOS_DB_*)");
        }
        _ => {
            let cluster = local_cluster(&running.data_dir)?;
            running.database = cluster.url(pg::DATABASE);
            cmd.env("PHOBOS_DB_HOST", "127.0.0.1")
                .env("PHOBOS_DB_PORT", cluster.port().to_string())
                .env("PHOBOS_DB_USERNAME", "postgres")
                .env("PHOBOS_DB_NAME", pg::DATABASE)
                .env("PHOBOS_DB_SSL_MODE", "disable");
            running.cluster = Some(cluster);
        }
    }
    interrupted()?;
    let executor = executor.to_string_lossy().into_owned();
    let mut defaults = vec![
        ("PHOBOS_OBJECT_STORE_PLUGIN_TYPE", "filesystem"),
        ("PHOBOS_JWS_PROVIDER_PLUGIN_TYPE", "memory"),
        ("PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE", "memory"),
        ("PHOBOS_INTERNAL_AGENTS_0_NAME", "local"),
        ("PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_TYPE", "local"),
        (
            "PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_DATA_EXECUTOR_PATH",
            executor.as_str(),
        ),
        ("RUST_LOG", "info"),
    ];
    let objects = objects.to_string_lossy().into_owned();
    // The directory only where the store is (ours or the user's) filesystem.
    if std::env::var("PHOBOS_OBJECT_STORE_PLUGIN_TYPE").map_or(true, |t| t == "filesystem") {
        defaults.push(("PHOBOS_OBJECT_STORE_PLUGIN_DATA_DIRECTORY", &objects));
    }
    for (key, value) in defaults {
        if std::env::var_os(key).is_none() {
            cmd.env(key, value);
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: a Ctrl-C in the terminal reaches us only,
        // and we pass it on once (see `Running::stop_with`).
        .process_group(0);
    println!(
        "==> starting {} serve (output: {})",
        show(&server),
        show(&running.log_file)
    );
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", server.display()))?;
    running.log.pump(child.stdout.take());
    running.log.pump(child.stderr.take());
    running.child = Some(child);

    print!("==> waiting for http://127.0.0.1:{http_port}/healthz ");
    let _ = std::io::stdout().flush();
    let started = Instant::now();
    let mut dots = 0;
    loop {
        if let Some(status) = running.try_wait()? {
            println!();
            running.print_tail();
            bail!(
                "phobos serve exited ({status}) before it was ready; its output is in {}",
                show(&running.log_file)
            );
        }
        if let Err(e) = interrupted() {
            println!();
            return Err(e);
        }
        if server_answers(http_port) {
            println!(" ready ({:.1} s)", started.elapsed().as_secs_f64());
            break;
        }
        if started.elapsed() > READY_TIMEOUT {
            println!();
            running.print_tail();
            bail!(
                "phobos serve did not answer /healthz within {} s; its output is in {}",
                READY_TIMEOUT.as_secs(),
                show(&running.log_file)
            );
        }
        let secs = started.elapsed().as_secs();
        if secs > dots {
            dots = secs;
            print!(".");
            let _ = std::io::stdout().flush();
        }
        sleep(Duration::from_millis(200));
    }
    running.log.echo.store(opts.echo_log, Ordering::SeqCst);
    Ok(running)
}

impl Running {
    /// Prints where to connect and how to log in.
    pub fn print_summary(&self) {
        let grpc = self.grpc_url.trim_start_matches("http://");
        println!();
        println!(
            "==> UI at {}/",
            self.graphql_url.trim_end_matches("/graphql")
        );
        println!(
            "    GraphQL   {}  (GraphiQL: open it in a browser)",
            self.graphql_url
        );
        println!("    gRPC      {grpc}");
        println!("    admin     {}", self.admin_email);
        println!("    password  {}", self.admin_password);
        println!(
            "    data      {}/  (server output: {})",
            show(&self.data_dir),
            show(&self.log_file)
        );
        println!("    database  {}", self.database);
        println!();
        println!("    Ctrl-C to stop.");
        println!();
    }

    /// Copies the server's output to stderr (on) or not (off).
    #[allow(dead_code)] // API for other tasks (`cargo xtask demo`)
    pub fn echo_log(&self, on: bool) {
        self.log.echo.store(on, Ordering::SeqCst);
    }

    /// The last lines the server wrote.
    pub fn log_tail(&self) -> Vec<String> {
        lock(&self.log.tail).iter().cloned().collect()
    }

    /// `Some(status)` once the server has exited.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(child) => Ok(child.try_wait()?),
            None => bail!("the server is stopped"),
        }
    }

    /// Stops the server (SIGTERM), then our PostgreSQL cluster.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown(signal::SIGTERM)
    }

    /// Stops the server with `sig` (e.g. the SIGINT of a Ctrl-C), waits for
    /// it up to 10 s (a further signal or the timeout kills its process
    /// group), then stops our PostgreSQL cluster (never a user-provided one).
    pub fn stop_with(mut self, sig: i32) -> Result<()> {
        self.shutdown(sig)
    }

    fn shutdown(&mut self, sig: i32) -> Result<()> {
        let mut result = Ok(());
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) {
                println!("==> stopping phobos serve ({})", signal::name(sig));
                let pid = child.id() as i32;
                let _ = signal::send(pid, sig);
                let seen = signal::count();
                let deadline = Instant::now() + STOP_TIMEOUT;
                loop {
                    match child.try_wait() {
                        Ok(Some(_)) => break,
                        Ok(None) => {}
                        Err(e) => {
                            result = Err(e.into());
                            break;
                        }
                    }
                    if Instant::now() >= deadline || signal::count() != seen {
                        println!("==> phobos serve is still running: killing it");
                        // The whole group: job executors it started, too.
                        let _ = signal::send(-pid, signal::SIGKILL);
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    sleep(Duration::from_millis(100));
                }
            }
        }
        if let Some(cluster) = self.cluster.take() {
            if let Err(e) = cluster.stop() {
                result = result.and(Err(e));
            }
        }
        result
    }

    fn print_tail(&self) {
        let tail = self.log_tail();
        if tail.is_empty() {
            eprintln!("(phobos serve printed nothing)");
            return;
        }
        eprintln!("--- last lines of phobos serve ---");
        for line in tail {
            eprintln!("{line}");
        }
        eprintln!("---");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.is_some() || self.cluster.is_some() {
            let sig = signal::last().unwrap_or(signal::SIGTERM);
            if let Err(e) = self.shutdown(sig) {
                eprintln!("warning: {e:#}");
            }
        }
    }
}

/// `cargo xtask up [--no-build]`: starts everything, prints where to
/// connect, and runs until Ctrl-C (or SIGTERM), then stops it all.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut opts = Options::new(root);
    for arg in args {
        match arg.as_str() {
            "--no-build" => opts.build = false,
            "--quiet" => opts.echo_log = false,
            _ => bail!("usage: cargo xtask up [--no-build] [--quiet]"),
        }
    }
    let mut running = start(&opts)?;
    running.print_summary();
    loop {
        if signal::count() > 0 {
            let sig = signal::last().unwrap_or(signal::SIGINT);
            running.stop_with(sig)?;
            println!("==> stopped");
            return Ok(());
        }
        if let Some(status) = running.try_wait()? {
            if !opts.echo_log {
                running.print_tail();
            }
            let log_file = show(&running.log_file);
            running.stop()?;
            bail!("phobos serve stopped on its own ({status}); its output is in {log_file}");
        }
        sleep(Duration::from_millis(200));
    }
}

/// The HTTP port `phobos serve` uses: `PHOBOS_HTTP_SERVER_PORT`, else 9000.
pub fn http_port() -> Result<u16> {
    port_from_env("PHOBOS_HTTP_SERVER_PORT", DEFAULT_HTTP_PORT)
}

/// Whether `GET http://127.0.0.1:PORT/healthz` answers 200.
pub fn server_answers(port: u16) -> bool {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    matches!(
        agent.get(&format!("http://127.0.0.1:{port}/healthz")).call(),
        Ok(response) if response.status() == 200
    )
}

/// The admin login `up` gives the server: `PHOBOS_ADMIN_USER_EMAIL` and
/// `PHOBOS_ADMIN_USER_PASSWORD` when set, else `admin@phobos.local` and a
/// password generated once into `<data_dir>/admin-password` (mode 0600).
pub fn admin_login(data_dir: &Path) -> Result<(String, String)> {
    let email = std::env::var("PHOBOS_ADMIN_USER_EMAIL")
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_EMAIL.to_string());
    if let Ok(password) = std::env::var("PHOBOS_ADMIN_USER_PASSWORD") {
        if !password.is_empty() {
            return Ok((email, password));
        }
    }
    let file = data_dir.join("admin-password");
    if let Ok(text) = fs::read_to_string(&file) {
        let password = text.trim();
        if !password.is_empty() {
            return Ok((email, password.to_string()));
        }
    }
    let mut bytes = [0u8; 18];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom")?;
    let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    fs::create_dir_all(data_dir)?;
    let _ = fs::remove_file(&file); // an empty one
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&file)
        .and_then(|mut f| writeln!(f, "{password}"))
        .with_context(|| format!("cannot write {}", file.display()))?;
    println!("==> admin password generated into {}", show(&file));
    Ok((email, password))
}

/// The cluster in `<data_dir>/pg`, on the port remembered in
/// `<data_dir>/pg-port` (5433 the first time, or the next free one).
fn local_cluster(data_dir: &Path) -> Result<Cluster> {
    let dir = data_dir.join("pg");
    let port_file = data_dir.join("pg-port");
    let wanted = fs::read_to_string(&port_file)
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(DEFAULT_PG_PORT);
    // A running cluster keeps its port; otherwise the port must be free.
    let port = if pg::running_port(&dir).is_some() || pg::port_is_free(wanted) {
        wanted
    } else {
        let port = (wanted.saturating_add(1)..wanted.saturating_add(100))
            .find(|p| pg::port_is_free(*p))
            .map_or_else(pg::free_port, Ok)?;
        println!("==> port {wanted} is busy: PostgreSQL gets {port}");
        port
    };
    let cluster = Cluster::ensure(&dir, port, true)?;
    fs::write(&port_file, format!("{}\n", cluster.port()))
        .with_context(|| format!("cannot write {}", port_file.display()))?;
    Ok(cluster)
}

fn port_from_env(var: &str, default: u16) -> Result<u16> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v
            .trim()
            .parse()
            .with_context(|| format!("{var}={v} is not a port")),
        _ => Ok(default),
    }
}

/// Fails once a signal has been caught.
fn interrupted() -> Result<()> {
    if let Some(sig) = signal::last() {
        bail!("interrupted ({})", signal::name(sig));
    }
    Ok(())
}

/// The server's output: into the log file, the tail kept in memory, and
/// copied to stderr when `echo` is on.
struct Log {
    tail: Mutex<VecDeque<String>>,
    file: Mutex<fs::File>,
    echo: AtomicBool,
}

impl Log {
    /// Copies `from` line by line on a thread of its own. The thread is not
    /// joined: job executors started by the server may hold the pipe open
    /// after the server is gone.
    fn pump(self: &Arc<Self>, from: Option<impl Read + Send + 'static>) {
        let Some(from) = from else { return };
        let log = Arc::clone(self);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => log.line(&mut line),
                }
            }
        });
    }

    fn line(&self, line: &mut Vec<u8>) {
        if !line.ends_with(b"\n") {
            line.push(b'\n');
        }
        let _ = lock(&self.file).write_all(line);
        if self.echo.load(Ordering::SeqCst) {
            let _ = std::io::stderr().write_all(line);
        }
        let mut tail = lock(&self.tail);
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(String::from_utf8_lossy(line).trim_end().to_string());
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
