//! A real PostgreSQL server for tests: `initdb` into a temporary directory, `postgres`
//! on a free loopback port, `trust` authentication, stopped when dropped.
//!
//! The binaries come from `PATH` or from Debian's `/usr/lib/postgresql/<version>/bin`
//! (the `postgresql` package puts no `initdb` on `PATH`; the highest version wins).
//! PostgreSQL refuses to run as root: when the tests run as root the server runs as the
//! `postgres` user (which Debian's package creates) through `setpriv`, else as the
//! current user. `fsync` and `synchronous_commit` keep their defaults (on): what is
//! tested against this server is durability.
//!
//! ```no_run
//! let server = windlass_testkit::postgres::PostgresServer::start()?;
//! assert_eq!(server.psql("postgres", "SELECT 1")?, "1");
//! let url = server.create_database("audit")?; // postgres://postgres@127.0.0.1:<port>/audit
//! # let _ = url;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The superuser `initdb` creates (whoever runs the server).
pub const SUPERUSER: &str = "postgres";
/// How long the server may take to accept connections (a busy CI machine).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopping server may take to exit before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Ports tried when the one chosen was taken before the server bound it.
const PORT_TRIES: usize = 5;

const INSTALL: &str = "PostgreSQL is required by this test: apt-get install postgresql \
     (initdb, postgres and pg_isready are looked for on PATH and in /usr/lib/postgresql/*/bin)";

/// A running PostgreSQL server with its data in a temporary directory.
pub struct PostgresServer {
    bin: PathBuf,
    /// Holds the data directory (`data/`), the server's log and its Unix socket.
    dir: tempfile::TempDir,
    /// `setpriv` arguments that run a program as the `postgres` user (empty: as we are).
    run_as: Vec<String>,
    port: u16,
    child: Option<Child>,
}

impl PostgresServer {
    /// Initializes a cluster and starts its server on a free port of 127.0.0.1;
    /// returns once it accepts connections. Errors say how to install PostgreSQL when
    /// it is missing, and carry the server's log when it did not start.
    pub fn start() -> io::Result<PostgresServer> {
        let bin = find_bin()?;
        let run_as = if euid()? == 0 {
            vec![
                "setpriv".into(),
                format!("--reuid={SUPERUSER}"),
                format!("--regid={SUPERUSER}"),
                "--init-groups".into(),
                "--".into(),
            ]
        } else {
            Vec::new()
        };
        let dir = tempfile::Builder::new().prefix("windlass-pg-").tempdir()?;
        if !run_as.is_empty() {
            let (uid, gid) = user_ids(SUPERUSER)?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
        }
        let mut server = PostgresServer {
            bin,
            dir,
            run_as,
            port: 0,
            child: None,
        };
        server.initdb()?;
        server.launch()?;
        Ok(server)
    }

    /// The URL of the `postgres` database as the superuser,
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        self.database_url("postgres")
    }

    /// The URL of database `name` as the superuser.
    pub fn database_url(&self, name: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{name}", self.port)
    }

    /// The TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> io::Result<String> {
        self.psql(
            "postgres",
            &format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\"")),
        )?;
        Ok(self.database_url(name))
    }

    /// Runs `sql` with `psql` in database `database` (over TCP, as the superuser) and
    /// returns what it printed, unaligned and without headers, trimmed.
    pub fn psql(&self, database: &str, sql: &str) -> io::Result<String> {
        let output = Command::new(self.bin.join("psql"))
            .args(["-X", "-v", "ON_ERROR_STOP=1", "-At", "-d"])
            .arg(self.database_url(database))
            .args(["-c", sql])
            .stdin(Stdio::null())
            .output()?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "psql {database} -c {sql:?}: {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Stops the server as a crash would (immediate shutdown: no checkpoint, so the
    /// next start replays the write-ahead log) and starts it again on the same port
    /// and data. What a client saw committed must still be there.
    pub fn crash_and_restart(&mut self) -> io::Result<()> {
        self.stop()?;
        self.launch()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// `program` (a PostgreSQL binary), run as the server's user in its directory.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = match self.run_as.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(program);
                c
            }
            None => Command::new(program),
        };
        // A directory the server's user may enter (initdb complains otherwise).
        command.current_dir(self.dir.path()).stdin(Stdio::null());
        command
    }

    fn initdb(&self) -> io::Result<()> {
        // --no-sync only skips initdb's final flush of the new cluster (a crash of the
        // machine during a test loses the test anyway); the server itself runs with
        // fsync on.
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(self.data())
            .args([
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ])
            .output()
            .map_err(|e| io::Error::new(e.kind(), format!("running initdb: {e}")))?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "initdb -D {}: {}: {}{}",
                self.data().display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(())
    }

    /// Starts `postgres` (on a free port unless one was used before) and waits until
    /// it accepts connections.
    fn launch(&mut self) -> io::Result<()> {
        let keep_port = self.port != 0;
        let mut last = None;
        for _ in 0..if keep_port { 1 } else { PORT_TRIES } {
            if !keep_port {
                self.port = free_port()?;
            }
            let log = std::fs::File::create(self.log_path())?;
            if !self.run_as.is_empty() {
                let (uid, gid) = user_ids(SUPERUSER)?;
                std::os::unix::fs::chown(self.log_path(), Some(uid), Some(gid))?;
            }
            let child = self
                .command("postgres")
                .arg("-D")
                .arg(self.data())
                .args(["-p", &self.port.to_string()])
                .arg("-k")
                .arg(self.dir.path())
                .args([
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "shared_buffers=16MB",
                    "-c",
                    "max_connections=100",
                    "-c",
                    "fsync=on",
                    "-c",
                    "synchronous_commit=on",
                    // After a crash, one syncfs instead of an fsync per file
                    // before the recovery (seconds on a busy disk).
                    "-c",
                    "recovery_init_sync_method=syncfs",
                ])
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .map_err(|e| io::Error::new(e.kind(), format!("running postgres: {e}")))?;
            self.child = Some(child);
            match self.wait_ready() {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let log = self.log();
                    self.stop().ok();
                    let taken = log.contains("could not bind") || log.contains("already in use");
                    let error = io::Error::new(
                        e.kind(),
                        format!("postgres on 127.0.0.1:{}: {e}; its log:\n{log}", self.port),
                    );
                    if !taken {
                        return Err(error);
                    }
                    last = Some(error);
                }
            }
        }
        Err(last.expect("at least one port was tried"))
    }

    /// Polls `pg_isready` until the server accepts connections, it exits, or
    /// [`READY_TIMEOUT`] passes.
    fn wait_ready(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let child = self.child.as_mut().expect("a server was spawned");
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!(
                    "exited before accepting connections: {status}"
                )));
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-U", SUPERUSER, "-d", "postgres"])
                .args(["-p", &self.port.to_string(), "-t", "5"])
                .stdin(Stdio::null())
                .status()?;
            if ready.success() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("not accepting connections after {READY_TIMEOUT:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(self.log_path()) {
            file.read_to_string(&mut text).ok();
        }
        text
    }

    /// Immediate shutdown (`SIGQUIT`), killed if it has not exited in
    /// [`STOP_TIMEOUT`].
    fn stop(&mut self) -> io::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        // std sends no signal but SIGKILL, and a postmaster killed so leaves its
        // backends and shared memory behind; pg_ctl sends any (and needs no procps).
        self.command("pg_ctl")
            .args(["kill", "QUIT", &child.id().to_string()])
            .stdout(Stdio::null())
            .status()?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        while child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                child.kill()?;
                child.wait()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop().ok();
    }
}

/// The directory holding `initdb`, `postgres`, `pg_ctl`, `pg_isready` and `psql`.
fn find_bin() -> io::Result<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "postgres", "pg_ctl", "pg_isready", "psql"]
            .iter()
            .all(|p| dir.join(p).is_file())
    };
    // On PATH: the directory of the real initdb (Debian's /usr/bin/psql is a wrapper,
    // and a symlinked initdb finds its siblings where it really is).
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if let Ok(initdb) = dir.join("initdb").canonicalize()
                && let Some(real) = initdb.parent()
                && has_all(real)
            {
                return Ok(real.to_owned());
            }
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version = name
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            let bin = entry.path().join("bin");
            has_all(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, INSTALL))
}

/// The effective user id of this process.
fn euid() -> io::Result<u32> {
    let output = Command::new("id").arg("-u").output()?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|e| io::Error::other(format!("id -u: {e}")))
}

/// The uid and gid of `user` (from the system's user database).
fn user_ids(user: &str) -> io::Result<(u32, u32)> {
    let id = |flag: &str| -> io::Result<u32> {
        let output = Command::new("id").args([flag, user]).output()?;
        if !output.status.success() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "tests run as root and PostgreSQL refuses to: they run it as the user \
                     {user:?}, which does not exist ({}); apt-get install postgresql creates it",
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            ));
        }
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .map_err(|e| io::Error::other(format!("id {flag} {user}: {e}")))
    };
    Ok((id("-u")?, id("-g")?))
}

/// A port of 127.0.0.1 free a moment ago (the server may still lose it to another
/// process: [`PostgresServer::start`] then tries another).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_and_stops() {
        let server = PostgresServer::start().expect(INSTALL);
        assert_eq!(server.psql("postgres", "SELECT 1").unwrap(), "1");
        assert_eq!(server.psql("postgres", "SHOW fsync").unwrap(), "on");
        let url = server.create_database("audit").unwrap();
        assert!(url.starts_with("postgres://postgres@127.0.0.1:"), "{url}");
        assert!(url.ends_with("/audit"), "{url}");
        assert_eq!(
            server.psql("audit", "SELECT current_database()").unwrap(),
            "audit"
        );
        let port = server.port();
        let dir = server.dir.path().to_owned();
        drop(server);
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the server still listens after drop"
        );
        assert!(!dir.exists(), "the data directory is left behind");
    }

    #[test]
    fn committed_rows_survive_a_crash() {
        let mut server = PostgresServer::start().expect(INSTALL);
        server
            .psql(
                "postgres",
                "CREATE TABLE t (n int); INSERT INTO t VALUES (42)",
            )
            .unwrap();
        let port = server.port();
        server.crash_and_restart().unwrap();
        assert_eq!(server.port(), port);
        assert_eq!(server.psql("postgres", "SELECT n FROM t").unwrap(), "42");
        assert!(
            server.log().contains("not properly shut down"),
            "the restart did not recover from the write-ahead log:\n{}",
            server.log()
        );
    }
}
