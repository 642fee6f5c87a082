//! `windlass cluster start` as a user runs it: start it, point the real `kubectl` at
//! the kubeconfig it prints, stop it with Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "kubectl is required for this test: install it (`apt-get install kubectl`, \
     the package the Kubernetes project publishes; any v1.32 build works) so that `kubectl` is on PATH";

/// Kills the cluster process if the test ends before stopping it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Waits for `child` to exit, at most `limit`; `None` when it is still running.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
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

/// Runs `kubectl` with an isolated HOME (no user config or cache), at most 60 s.
fn kubectl(kubeconfig: &Path, home: &Path, args: &[&str]) -> Output {
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--request-timeout", "20s"])
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect(INSTALL_HINT);
    if wait_bounded(&mut child, Duration::from_secs(60)).is_none() {
        let _ = child.kill();
        panic!("kubectl {args:?} did not finish within 60 s");
    }
    child.wait_with_output().expect("kubectl output")
}

#[test]
fn cluster_start_serves_kubectl_and_stops_on_ctrl_c() {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output();
    assert!(found.is_ok_and(|o| o.status.success()), "{INSTALL_HINT}");
    let data_dir = tempfile::tempdir().expect("tempdir");
    let home = tempfile::tempdir().expect("tempdir");

    let mut running = Running(
        Command::new(env!("CARGO_BIN_EXE_windlass"))
            .args(["cluster", "start", "--data-dir"])
            .arg(data_dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the windlass binary runs"),
    );
    let stdout = running.0.stdout.take().expect("piped stdout");
    let (lines_tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut printed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let kubeconfig = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line
                    .trim()
                    .strip_prefix("kubeconfig:")
                    .map(|p| PathBuf::from(p.trim()));
                printed.push(line);
                if let Some(path) = found {
                    break path;
                }
            }
            Err(_) => panic!("no `kubeconfig:` line within 30 s; printed so far: {printed:#?}"),
        }
    };
    assert!(
        kubeconfig.starts_with(data_dir.path()),
        "the kubeconfig {} is kept in the data dir {}",
        kubeconfig.display(),
        data_dir.path().display()
    );
    // The export hint follows; it names the same file.
    let export = format!("export KUBECONFIG={}", kubeconfig.display());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !printed.iter().any(|l| l.trim() == export) {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => printed.push(line),
            Err(_) => panic!("no `{export}` hint; printed: {printed:#?}"),
        }
    }

    let out = kubectl(&kubeconfig, home.path(), &["get", "namespaces"]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kubectl get namespaces failed: {}{listed}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        listed
            .lines()
            .any(|l| l.split_whitespace().next() == Some("default")),
        "`default` is listed:\n{listed}"
    );

    // Ctrl-C, as a terminal sends it.
    let pid = running.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -INT {pid}");
    let status = wait_bounded(&mut running.0, Duration::from_secs(15))
        .expect("windlass cluster start stops within 15 s of SIGINT");
    assert!(status.success(), "clean stop exits 0, got {status}");
    reader.join().expect("stdout reader");
    printed.extend(lines.try_iter());
    assert!(
        printed.iter().any(|l| l.trim() == "stopped"),
        "reports the stop: {printed:#?}"
    );
}
