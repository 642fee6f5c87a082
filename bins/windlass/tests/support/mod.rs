//! What the CLI's tests share: the `windlass` binary run as a user runs it (its output
//! read line by line as it comes), the real `kubectl`, `git` repositories.
#![allow(dead_code)] // each test file uses a part

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const KUBECTL_HINT: &str = "kubectl is required for this test: install it (`apt-get install kubectl`, \
     the package the Kubernetes project publishes; any v1.32 build works) so that `kubectl` is on PATH";

/// Fails with how to install kubectl when it is missing.
pub fn require_kubectl() {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output();
    assert!(found.is_ok_and(|o| o.status.success()), "{KUBECTL_HINT}");
}

/// A `windlass` process with its stdout and stderr read line by line as they come.
/// Dropping it kills the process if it is still running.
pub struct Windlass {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    /// Every line read so far, for failure messages.
    pub printed: Vec<String>,
    pub logged: Vec<String>,
}

impl Windlass {
    /// Starts `windlass args...` with `env` added to the test's environment.
    pub fn start(args: &[&str], env: &[(&str, &Path)]) -> Windlass {
        let mut child = Command::new(env!("CARGO_BIN_EXE_windlass"))
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v.as_os_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the windlass binary runs");
        let stdout = lines(child.stdout.take().expect("piped stdout"));
        let stderr = lines(child.stderr.take().expect("piped stderr"));
        Windlass {
            child,
            stdout,
            stderr,
            printed: Vec::new(),
            logged: Vec::new(),
        }
    }

    /// The first stdout line `pick` maps to `Some`, waiting for it at most `limit`.
    pub fn stdout_until<T>(&mut self, limit: Duration, pick: impl FnMut(&str) -> Option<T>) -> T {
        let found = until(&self.stdout, &mut self.printed, limit, pick);
        found.unwrap_or_else(|| {
            self.logged.extend(self.stderr.try_iter());
            panic!(
                "no such line on stdout within {limit:?}; stdout: {:#?}\nstderr: {:#?}",
                self.printed, self.logged
            )
        })
    }

    /// The first stderr line `pick` maps to `Some`, waiting for it at most `limit`.
    pub fn stderr_until<T>(&mut self, limit: Duration, pick: impl FnMut(&str) -> Option<T>) -> T {
        let found = until(&self.stderr, &mut self.logged, limit, pick);
        found.unwrap_or_else(|| {
            self.printed.extend(self.stdout.try_iter());
            panic!(
                "no such line on stderr within {limit:?}; stderr: {:#?}\nstdout: {:#?}",
                self.logged, self.printed
            )
        })
    }

    /// The kubeconfig path `windlass up` and `windlass cluster start` print.
    pub fn kubeconfig(&mut self) -> PathBuf {
        self.stdout_until(Duration::from_secs(60), |line| {
            line.trim()
                .strip_prefix("kubeconfig:")
                .map(|p| PathBuf::from(p.trim()))
        })
    }

    /// Ctrl-C, as a terminal sends it; then waits (at most 30 s) for the exit.
    pub fn interrupt(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -INT {pid}");
        wait_bounded(&mut self.child, Duration::from_secs(30))
            .expect("windlass stops within 30 s of SIGINT")
    }

    /// Every stdout line, after the process has exited.
    pub fn rest_of_stdout(&mut self) -> &[String] {
        // The reader thread ends at end of file, closing the channel.
        self.printed.extend(self.stdout.iter());
        &self.printed
    }
}

impl Drop for Windlass {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn lines(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn until<T>(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    limit: Duration,
    mut pick: impl FnMut(&str) -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).ok()?;
        let found = pick(&line);
        seen.push(line);
        if found.is_some() {
            return found;
        }
    }
}

/// Waits for `child` to exit, at most `limit`; `None` when it is still running.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `kubectl` with `home` as HOME (no user config, a discovery cache of its own), at
/// most 60 s; returns whether it succeeded and its stdout followed by its stderr.
pub fn kubectl(
    kubeconfig: &Path,
    home: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String) {
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--request-timeout", "20s"])
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect(KUBECTL_HINT);
    let mut input = child.stdin.take().expect("piped stdin");
    if let Some(text) = stdin {
        input
            .write_all(text.as_bytes())
            .expect("kubectl reads stdin");
    }
    drop(input);
    if wait_bounded(&mut child, Duration::from_secs(60)).is_none() {
        let _ = child.kill();
        panic!("kubectl {args:?} did not finish within 60 s");
    }
    let out = child.wait_with_output().expect("kubectl output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Polls `kubectl get application` until `app` is Synced and Healthy (as Argo CD users
/// check it), failing after `limit`.
pub fn wait_synced_healthy(kubeconfig: &Path, home: &Path, app: &str, limit: Duration) {
    let start = Instant::now();
    loop {
        let (_, out) = kubectl(
            kubeconfig,
            home,
            &[
                "get",
                "applications",
                "-n",
                "argocd",
                app,
                "-o",
                "jsonpath={.status.sync.status} {.status.health.status}",
            ],
            None,
        );
        if out == "Synced Healthy" {
            return;
        }
        assert!(start.elapsed() < limit, "{app} not synced: {out}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .expect("`git` is installed (apt-get install git)")
        .success();
    assert!(ok, "git {args:?}");
}

/// A Git repository (branch `main`, one commit) holding `files` (path, text).
pub fn repo_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let path = repo.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a file in a directory")).expect("dir");
        std::fs::write(path, text).expect("write");
    }
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "-A"]);
    git(
        repo.path(),
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "files",
        ],
    );
    repo
}

/// The README demo's manifests in a repository of their own (the checkout may not be
/// one), and the demo Application with `REPO` replaced as the README does it.
pub fn demo() -> (tempfile::TempDir, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read = |path: &str| std::fs::read_to_string(root.join(path)).expect("demo file");
    let deployment = read("demo/guestbook/deployment.yaml");
    let service = read("demo/guestbook/service.yaml");
    let repo = repo_with(&[
        ("demo/guestbook/deployment.yaml", &deployment),
        ("demo/guestbook/service.yaml", &service),
    ]);
    let app = read("demo/guestbook-app.yaml").replace("REPO", &repo.path().display().to_string());
    (repo, app)
}

/// What is in `dir` (not below it) that anyone but its owner can read, list or enter:
/// names with their modes.
#[cfg(unix)]
pub fn not_private(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::read_dir(dir)
        .expect("readable dir")
        .map(|entry| entry.expect("dir entry"))
        .filter_map(|entry| {
            let mode = entry.metadata().expect("metadata").permissions().mode() & 0o777;
            (mode & 0o077 != 0).then(|| format!("{} ({mode:o})", entry.file_name().display()))
        })
        .collect()
}
