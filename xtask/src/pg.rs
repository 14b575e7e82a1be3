//! A private PostgreSQL cluster run from the machine's own server binaries:
//! `initdb` once, `pg_ctl start` on 127.0.0.1, trust authentication, user
//! `postgres`. As root (initdb and pg_ctl refuse root) the cluster belongs to
//! the `postgres` user and its programs run through `runuser -u postgres --`.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{bail, Context, Result};

/// The database `ensure` creates: the one `phobos serve` uses.
pub const DATABASE: &str = "phobos";

/// Unix sockets live in the data directory; their path must fit in
/// `sockaddr_un.sun_path` (108 bytes including the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Variables of the user's environment that would redirect or break our
/// client connections (all of ours give host, port, user and database).
const PG_ENV: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGSSLMODE",
    "PGOPTIONS",
    "PGDATA",
    "PGTZ",
];

#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    bindir: PathBuf,
    /// We are root: the cluster's programs run as the `postgres` user.
    as_postgres: bool,
    /// The cluster was already running when `ensure` was called.
    reused: bool,
}

impl Cluster {
    /// A cluster in `dir` listening on 127.0.0.1, with the `phobos` database.
    /// Creates the cluster when `dir` holds none (`dir/PG_VERSION`), starts it
    /// on `port` unless it is already running (then it keeps its own port:
    /// see [`Cluster::port`]). `durable: false` is for throw-away test
    /// clusters: no fsync, more connections.
    pub fn ensure(dir: &Path, port: u16, durable: bool) -> Result<Cluster> {
        let bindir = find_bindir()?;
        let as_postgres = running_as_root();
        if as_postgres {
            check_postgres_user()?;
        }
        let dir = std::path::absolute(dir)
            .with_context(|| format!("cannot make {} absolute", dir.display()))?;
        let mut cluster = Cluster {
            dir,
            port,
            bindir,
            as_postgres,
            reused: false,
        };
        if !cluster.dir.join("PG_VERSION").exists() {
            cluster.init(durable)?;
        } else if as_postgres {
            make_reachable(&cluster.dir)?;
        }
        if let Some(running) = cluster.running_port() {
            if running != port {
                println!(
                    "==> PostgreSQL in {} already runs on port {running} (not {port}): using it",
                    show(&cluster.dir)
                );
            } else {
                println!("==> PostgreSQL already running on 127.0.0.1:{running}");
            }
            cluster.port = running;
            cluster.reused = true;
        } else {
            cluster.start(durable)?;
        }
        cluster.ensure_database(DATABASE)?;
        Ok(cluster)
    }

    #[allow(dead_code)] // API for other tasks (`cargo xtask demo`)
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the cluster was already running before `ensure`.
    #[allow(dead_code)] // API for other tasks (`cargo xtask demo`)
    pub fn reused(&self) -> bool {
        self.reused
    }

    /// `postgres://postgres@127.0.0.1:PORT/db` (no password: trust).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `name` unless it exists.
    pub fn ensure_database(&self, name: &str) -> Result<()> {
        let query = format!(
            "SELECT 1 FROM pg_database WHERE datname = '{}'",
            name.replace('\'', "''")
        );
        let out = self
            .client("psql")
            .args(["-X", "-d", "postgres", "-tAc", &query])
            .output()
            .context("cannot run psql")?;
        check(&out, "psql")?;
        if String::from_utf8_lossy(&out.stdout).trim() == "1" {
            return Ok(());
        }
        println!("==> creating database {name}");
        let out = self
            .client("createdb")
            .arg(name)
            .output()
            .context("cannot run createdb")?;
        check(&out, "createdb")
    }

    /// Stops the cluster (`pg_ctl stop -m fast`: open sessions are ended,
    /// committed data is kept). Stopping a stopped cluster is a no-op.
    pub fn stop(&self) -> Result<()> {
        if self.running_port().is_none() {
            return Ok(());
        }
        println!("==> stopping PostgreSQL on 127.0.0.1:{}", self.port);
        let out = self
            .server("pg_ctl")
            .arg("-D")
            .arg(&self.dir)
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .output()
            .context("cannot run pg_ctl stop")?;
        check(&out, "pg_ctl stop")
    }

    /// The port of the postmaster running in this cluster's directory, if any.
    pub fn running_port(&self) -> Option<u16> {
        let pid_file = fs::read_to_string(self.dir.join("postmaster.pid")).ok()?;
        let status = self
            .server("pg_ctl")
            .arg("-D")
            .arg(&self.dir)
            .arg("status")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
        // postmaster.pid: pid, data directory, start time, port, ...
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    /// The cluster in `dir` as it is (for status and stop).
    fn at(dir: &Path) -> Result<Cluster> {
        Ok(Cluster {
            dir: std::path::absolute(dir)?,
            port: 0,
            bindir: find_bindir()?,
            as_postgres: running_as_root(),
            reused: true,
        })
    }

    fn init(&self, durable: bool) -> Result<()> {
        let dir = &self.dir;
        if dir.exists()
            && fs::read_dir(dir)
                .with_context(|| format!("cannot read {}", dir.display()))?
                .next()
                .is_some()
        {
            bail!(
                "{} exists but holds no PostgreSQL cluster (no PG_VERSION): remove it and retry",
                dir.display()
            );
        }
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        if self.as_postgres {
            // initdb refuses root: the directory must belong to `postgres`,
            // and `postgres` must be able to reach it.
            run_quiet(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(dir),
                "chown",
            )?;
            make_reachable(dir)?;
        }
        println!("==> initialising PostgreSQL cluster in {} …", show(dir));
        let mut cmd = self.server("initdb");
        cmd.arg("-D").arg(dir).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]);
        if !durable {
            cmd.arg("--no-sync");
        }
        let out = cmd.output().context("cannot run initdb")?;
        check(&out, "initdb")
    }

    fn start(&self, durable: bool) -> Result<()> {
        println!("==> starting PostgreSQL on 127.0.0.1:{}", self.port);
        let mut opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c idle_in_transaction_session_timeout=60s",
            self.port
        );
        // Sockets in the data directory, which only the cluster's owner
        // writes; none (TCP only) when the path would be too long.
        let socket = self.dir.join(format!(".s.PGSQL.{}.lock", self.port));
        if socket.as_os_str().len() <= MAX_SOCKET_PATH {
            opts.push_str(" -k ");
            opts.push_str(&shell_quote(&self.dir.to_string_lossy()));
        } else {
            opts.push_str(" -k ''");
        }
        if durable {
            opts.push_str(" -c max_connections=200");
        } else {
            opts.push_str(
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                 -c max_connections=300",
            );
        }
        let log = self.dir.join("pg.log");
        let out = self
            .server("pg_ctl")
            .arg("-D")
            .arg(&self.dir)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "start", "-o", &opts])
            .output()
            .context("cannot run pg_ctl start")?;
        if !out.status.success() {
            let tail = fs::read_to_string(&log)
                .map(|t| last_lines(&t, 20))
                .unwrap_or_default();
            bail!(
                "pg_ctl start failed ({}):\n{}{}\n--- {} (tail) ---\n{tail}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                log.display()
            );
        }
        Ok(())
    }

    /// A server program (initdb, pg_ctl): as `postgres` when we are root.
    fn server(&self, program: &str) -> Command {
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(self.bindir.join(program));
            c
        } else {
            Command::new(self.bindir.join(program))
        };
        // The current directory may be unreachable for `postgres` (/root).
        cmd.current_dir("/").stdin(Stdio::null());
        for var in PG_ENV {
            cmd.env_remove(var);
        }
        cmd
    }

    /// A client program (psql, createdb) over TCP as user `postgres`.
    fn client(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        cmd.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
        ])
        .stdin(Stdio::null());
        for var in PG_ENV {
            cmd.env_remove(var);
        }
        cmd
    }
}

/// Stops whatever cluster runs in `dir` at once (`-m immediate`: for
/// throw-away clusters) and removes `dir`.
pub fn discard(dir: &Path) -> Result<()> {
    if dir.join("postmaster.pid").exists() {
        if let Ok(cluster) = Cluster::at(dir) {
            if cluster.running_port().is_some() {
                let out = cluster
                    .server("pg_ctl")
                    .arg("-D")
                    .arg(dir)
                    .args(["-m", "immediate", "-w", "stop"])
                    .output()
                    .context("cannot run pg_ctl stop")?;
                check(&out, "pg_ctl stop")?;
            }
        }
    }
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// The port of a cluster running in `dir`, if one is.
pub fn running_port(dir: &Path) -> Option<u16> {
    if !dir.join("postmaster.pid").exists() {
        return None;
    }
    Cluster::at(dir).ok()?.running_port()
}

/// A port free on 127.0.0.1 right now (the kernel's pick).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).context("cannot bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Whether nothing listens on 127.0.0.1:`port`.
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// The directory of `initdb`, `pg_ctl` and `postgres`: `pg_config --bindir`,
/// else the newest `/usr/lib/postgresql/*/bin` (Debian, Ubuntu), else PATH.
pub fn find_bindir() -> Result<PathBuf> {
    let has_server = |d: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|p| d.join(p).is_file())
    };
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        // Debian's pg_config may belong to a newer client-only version.
        if out.status.success() && has_server(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let version: Vec<u32> = name
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let bin = e.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    if let Some(dir) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|d| has_server(d))
    {
        return Ok(dir);
    }
    bail!(
        "PostgreSQL server programs (initdb, pg_ctl, postgres) not found: not via pg_config, \
         not in /usr/lib/postgresql/*/bin, not on PATH.\n\
         Install them: `apt-get install -y postgresql` (Debian/Ubuntu), \
         `dnf install -y postgresql-server` (Fedora), `brew install postgresql@15` (macOS), \
         or put their directory on PATH"
    )
}

/// Whether we run as root (effective uid 0).
pub fn running_as_root() -> bool {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("Uid:")) {
            // Uid: real effective saved filesystem
            return line.split_whitespace().nth(2) == Some("0");
        }
    }
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn check_postgres_user() -> Result<()> {
    let ok = Command::new("id")
        .arg("postgres")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        bail!(
            "running as root, but there is no `postgres` user to own the PostgreSQL cluster \
             (initdb refuses root): install the postgresql package, which creates it, \
             or run as a normal user"
        );
    }
    Ok(())
}

/// Gives "others" search permission (o+x) on every parent of `dir` that
/// lacks it, so that the `postgres` user can reach `dir`.
fn make_reachable(dir: &Path) -> Result<()> {
    for parent in dir.ancestors().skip(1) {
        if parent.as_os_str().is_empty() {
            continue;
        }
        let meta =
            fs::metadata(parent).with_context(|| format!("cannot stat {}", parent.display()))?;
        let mode = meta.permissions().mode();
        if mode & 0o001 == 0 {
            println!(
                "==> chmod o+x {} (the postgres user must reach {})",
                parent.display(),
                dir.display()
            );
            fs::set_permissions(parent, fs::Permissions::from_mode(mode | 0o001))
                .with_context(|| format!("cannot chmod o+x {}", parent.display()))?;
        }
    }
    Ok(())
}

fn run_quiet(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd.output().with_context(|| format!("cannot run {what}"))?;
    check(&out, what)
}

fn check(out: &Output, what: &str) -> Result<()> {
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `path` relative to the current directory when it is inside it.
pub fn show(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}
