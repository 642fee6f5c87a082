//! What the benchmark harnesses (`crates/*/benches/`, run by `cargo xtask bench`) share:
//! where summaries go, figures and their percentiles, goals, the machine and memory
//! sections of a summary, the `kubectl` peer, and the check of a list taken while
//! writers create objects.
//!
//! Nothing here prints: a harness prints what these functions format.
//!
//! ```
//! use windlass_testkit::bench;
//!
//! let latencies = bench::summary(vec![3.0, 1.0, 2.0], "ms");
//! assert_eq!(latencies["p50_ms"], 2.0);
//! let goals = vec![bench::goal("p50 (ms)", "<= 5", 2.0, true)];
//! assert!(bench::all_goals_met(&goals));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// `CARGO_TARGET_DIR` if set (relative to the workspace root, as cargo reads it), else
/// `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate lives in <workspace>/crates/testkit")
        .to_owned();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace.join(dir),
        _ => workspace.join("target"),
    }
}

/// Writes `summary` as pretty JSON to `<target>/bench/<stem>.json`; the file written.
pub fn write_summary(stem: &str, summary: &Value) -> io::Result<PathBuf> {
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!("{stem}.json"));
    let text = serde_json::to_string_pretty(summary).map_err(io::Error::other)?;
    std::fs::write(&file, text + "\n")?;
    Ok(file)
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A duration in microseconds.
pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The number at `key` of a JSON object; NaN when it is missing or not a number (so a
/// missing figure never meets a goal).
pub fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

/// Nearest-rank percentile of sorted figures, `q` in `0.0..=1.0`; NaN when empty.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of unsorted figures (nearest rank); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    percentile(&sorted, 0.5)
}

/// Count, p50, p90, p99, mean, min and max of figures in `unit` (the keys are
/// `p50_<unit>`, ...); the figures are NaN when there are none.
pub fn summary(mut values: Vec<f64>, unit: &str) -> Value {
    values.sort_by(f64::total_cmp);
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let mut out = serde_json::Map::new();
    out.insert("count".into(), json!(values.len()));
    for (name, value) in [
        ("p50", percentile(&values, 0.50)),
        ("p90", percentile(&values, 0.90)),
        ("p99", percentile(&values, 0.99)),
        ("mean", mean),
        ("min", values.first().copied().unwrap_or(f64::NAN)),
        ("max", values.last().copied().unwrap_or(f64::NAN)),
    ] {
        out.insert(format!("{name}_{unit}"), json!(value));
    }
    Value::Object(out)
}

/// One line of a [`summary`]: `p50 … p99 … max … n=…`, figures in `unit`.
pub fn format_summary(v: &Value, unit: &str) -> String {
    let shown = if unit == "us" { "µs" } else { unit };
    format!(
        "p50 {:>9.1} {shown}  p90 {:>9.1} {shown}  p99 {:>9.1} {shown}  max {:>9.1} {shown}  n={}",
        f(v, &format!("p50_{unit}")),
        f(v, &format!("p90_{unit}")),
        f(v, &format!("p99_{unit}")),
        f(v, &format!("max_{unit}")),
        v["count"]
    )
}

/// A goal of a summary: what is measured, the target as text, the value, and whether
/// it is met. A correctness check (the peer did the same work, nothing was lost) is a
/// goal too, so that it counts in [`all_goals_met`].
pub fn goal(name: &str, target: &str, value: f64, met: bool) -> Value {
    json!({ "name": name, "goal": target, "value": value, "met": met })
}

/// A correctness check as a [`goal`]: value 1 when it holds, 0 when not.
pub fn check(name: &str, holds: bool) -> Value {
    goal(name, "true", if holds { 1.0 } else { 0.0 }, holds)
}

/// Whether every goal is met (and there is at least one).
pub fn all_goals_met(goals: &[Value]) -> bool {
    !goals.is_empty() && goals.iter().all(|g| g["met"] == json!(true))
}

/// The goals section of a harness's table, one line per goal.
pub fn goals_table(goals: &[Value]) -> String {
    let mut out = String::from("goals\n");
    for g in goals {
        out.push_str(&format!(
            "  [{}] {:<66} {:>10.2}  (goal {})\n",
            if g["met"] == json!(true) {
                " met "
            } else {
                "MISSED"
            },
            g["name"].as_str().unwrap_or_default(),
            f(g, "value"),
            g["goal"].as_str().unwrap_or_default(),
        ));
    }
    out
}

/// The `machine` section of a summary: CPUs, OS, architecture and the load averages
/// (1, 5, 15 minutes) when it is taken; harnesses add their peers' versions.
pub fn machine() -> Value {
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "load_average": load_average(),
    })
}

/// The 1, 5 and 15 minute load averages (Linux; empty elsewhere).
pub fn load_average() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect()
}

/// The `memory` section: the process's peak and current RSS in MiB (`VmHWM`, `VmRSS`;
/// Linux only, null elsewhere), with `note` saying what the process holds.
pub fn memory(note: &str) -> Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map(|kb| kb / 1024.0)
    };
    json!({
        "peak_rss_mib": field("VmHWM:"),
        "rss_at_end_mib": field("VmRSS:"),
        "note": note,
    })
}

// ---- the kubectl peer -----------------------------------------------------------------

/// The first line of `kubectl version --client`, or an error saying how to install it.
pub fn kubectl_version() -> io::Result<String> {
    let out = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "the benchmark needs `kubectl` for its peer (apt-get install kubectl, \
                     the package the Kubernetes project publishes): {e}"
                ),
            )
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// `kubectl` as a user who has used it before runs it: one kubeconfig, and a home of
/// its own that keeps kubectl's discovery and OpenAPI caches across runs (the first
/// run fills them). Nothing else of the caller's environment but `PATH` reaches it. One
/// run at a time per home: a run's output files live there.
#[derive(Clone, Debug)]
pub struct Kubectl {
    kubeconfig: PathBuf,
    home: PathBuf,
}

/// One finished `kubectl` run.
#[derive(Debug)]
pub struct KubectlRun {
    /// The command line, for messages.
    pub line: String,
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl KubectlRun {
    /// The run if it exited 0, else an error with its command line and standard error.
    pub fn success(self) -> io::Result<KubectlRun> {
        if self.code == Some(0) {
            Ok(self)
        } else {
            Err(self.failure())
        }
    }

    /// An error describing this run's exit and standard error.
    pub fn failure(&self) -> io::Error {
        io::Error::other(format!(
            "{} failed (exit {:?}): {}",
            self.line,
            self.code,
            self.stderr.trim()
        ))
    }
}

impl Kubectl {
    /// kubectl on the cluster of `kubeconfig`, with `home` (created if missing) as `HOME`.
    pub fn new(kubeconfig: &Path, home: &Path) -> io::Result<Kubectl> {
        std::fs::create_dir_all(home)?;
        Ok(Kubectl {
            kubeconfig: kubeconfig.to_owned(),
            home: home.to_owned(),
        })
    }

    /// [`Kubectl::run`] on tokio's blocking threads, so that a cluster served by the
    /// same runtime keeps its workers.
    pub async fn run_async(&self, args: &[&str], limit: Duration) -> io::Result<KubectlRun> {
        let kubectl = self.clone();
        let args: Vec<String> = args.iter().map(|&a| a.to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            kubectl.run(&args, limit)
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Runs `kubectl <args> --request-timeout 60s`, killed after `limit`. Output goes to
    /// files (a run may print a line per object), read back when it exits. Blocking.
    pub fn run(&self, args: &[&str], limit: Duration) -> io::Result<KubectlRun> {
        let line = format!("kubectl {}", args.join(" "));
        let out_path = self.home.join("kubectl.out");
        let err_path = self.home.join("kubectl.err");
        let mut cmd = Command::new("kubectl");
        cmd.args(args)
            .args(["--request-timeout", "60s"])
            .env_clear()
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", &self.home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(File::create(&out_path)?)
            .stderr(File::create(&err_path)?);
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run {line}: {e}")))?;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{line}: killed after {limit:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let elapsed = started.elapsed();
        Ok(KubectlRun {
            line,
            elapsed,
            code: status.code(),
            stdout: std::fs::read_to_string(&out_path)?,
            stderr: std::fs::read_to_string(&err_path)?,
        })
    }
}

// ---- a list taken under concurrent writes ---------------------------------------------

/// What a (paged) list served while writers created objects, judged as a snapshot at the
/// list's resourceVersion: a consistent list serves exactly the objects created at or
/// before that version, once each — what an informer needs to then watch from it
/// without losing or doubling an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotCheck {
    /// Items served, over all pages.
    pub served: usize,
    /// Objects created at or before the list's resourceVersion.
    pub expected: usize,
    /// Expected objects the list did not serve.
    pub missing: usize,
    /// Served objects created after the list's resourceVersion.
    pub newer: usize,
    /// Names served more than once.
    pub duplicates: usize,
    /// Served names nobody created.
    pub unknown: usize,
}

impl SnapshotCheck {
    /// Compares the names `served` by a list at `list_rv` with `created`: every object
    /// that exists, each with the resourceVersion its creation was acknowledged with.
    pub fn new(list_rv: u64, served: &[String], created: &BTreeMap<String, u64>) -> Self {
        let mut seen = BTreeSet::new();
        let mut duplicates = 0;
        for name in served {
            if !seen.insert(name.as_str()) {
                duplicates += 1;
            }
        }
        let expected: BTreeSet<&str> = created
            .iter()
            .filter(|(_, rv)| **rv <= list_rv)
            .map(|(name, _)| name.as_str())
            .collect();
        SnapshotCheck {
            served: served.len(),
            expected: expected.len(),
            missing: expected.difference(&seen).count(),
            newer: seen
                .iter()
                .filter(|name| created.get(**name).is_some_and(|rv| *rv > list_rv))
                .count(),
            duplicates,
            unknown: seen
                .iter()
                .filter(|name| !created.contains_key(**name))
                .count(),
        }
    }

    /// Nothing missing, newer, doubled or unknown.
    pub fn consistent(&self) -> bool {
        self.missing == 0 && self.newer == 0 && self.duplicates == 0 && self.unknown == 0
    }

    /// The check as summary fields.
    pub fn to_json(&self) -> Value {
        json!({
            "objects_served": self.served,
            "objects_at_list_resource_version": self.expected,
            "missing": self.missing,
            "newer_than_list_resource_version": self.newer,
            "duplicates": self.duplicates,
            "unknown": self.unknown,
            "consistent_snapshot": self.consistent(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let sorted: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 0.5), 5.0);
        assert_eq!(percentile(&sorted, 0.9), 9.0);
        assert_eq!(percentile(&sorted, 0.99), 10.0);
        assert_eq!(percentile(&sorted, 0.0), 1.0);
        assert!(percentile(&[], 0.5).is_nan());
    }

    #[test]
    fn summary_names_figures_by_unit() {
        let s = summary(vec![4.0, 1.0, 3.0, 2.0], "us");
        assert_eq!(s["count"], 4);
        assert_eq!(s["p50_us"], 2.0);
        assert_eq!(s["p99_us"], 4.0);
        assert_eq!(s["mean_us"], 2.5);
        assert_eq!(s["min_us"], 1.0);
        assert_eq!(s["max_us"], 4.0);
        assert!(f(&summary(Vec::new(), "ms"), "p50_ms").is_nan());
    }

    #[test]
    fn a_failed_check_fails_the_summary() {
        let speed = goal("speedup (x)", ">= 5", 7.0, true);
        assert!(all_goals_met(&[speed.clone(), check("same tree", true)]));
        assert!(!all_goals_met(&[speed, check("same tree", false)]));
        assert!(!all_goals_met(&[]));
        let table = goals_table(&[check("agrees with git log", false)]);
        assert!(table.contains("MISSED") && table.contains("agrees with git log"));
    }

    #[test]
    fn a_missing_figure_is_nan() {
        assert!(f(&json!({"a": 1}), "b").is_nan());
        assert_eq!(f(&json!({"a": 1}), "a"), 1.0);
    }

    proptest! {
        #[test]
        fn percentile_bounds(mut values in prop::collection::vec(0.0f64..1e6, 1..200), q in 0.0f64..=1.0) {
            values.sort_by(f64::total_cmp);
            let p = percentile(&values, q);
            prop_assert!(values.contains(&p));
            // At least a fraction q of the figures are at or below it, and fewer are below.
            let at_or_below = values.iter().filter(|v| **v <= p).count() as f64;
            let below = values.iter().filter(|v| **v < p).count() as f64;
            prop_assert!(at_or_below >= q * values.len() as f64);
            prop_assert!(below < (q * values.len() as f64).max(1.0));
        }

        #[test]
        fn snapshot_check(rvs in prop::collection::vec(1u64..1000, 1..100), cut in 0u64..1000, pick in any::<prop::sample::Index>()) {
            let created: BTreeMap<String, u64> =
                rvs.iter().enumerate().map(|(i, rv)| (format!("cm-{i}"), *rv)).collect();
            let at_rv: Vec<String> = created
                .iter()
                .filter(|(_, rv)| **rv <= cut)
                .map(|(n, _)| n.clone())
                .collect();
            let exact = SnapshotCheck::new(cut, &at_rv, &created);
            prop_assert!(exact.consistent());
            prop_assert_eq!(exact.served, at_rv.len());

            let name = pick.get(&rvs.iter().enumerate().map(|(i, _)| format!("cm-{i}")).collect::<Vec<_>>()).clone();
            if created[&name] <= cut {
                // One object of the snapshot left out, or served twice.
                let fewer: Vec<String> = at_rv.iter().filter(|n| **n != name).cloned().collect();
                let check = SnapshotCheck::new(cut, &fewer, &created);
                prop_assert_eq!((check.missing, check.consistent()), (1, false));
                let mut twice = at_rv.clone();
                twice.push(name);
                prop_assert_eq!(SnapshotCheck::new(cut, &twice, &created).duplicates, 1);
            } else {
                // One object created after the list's version served.
                let mut more = at_rv.clone();
                more.push(name);
                let check = SnapshotCheck::new(cut, &more, &created);
                prop_assert_eq!((check.newer, check.consistent()), (1, false));
            }
            let mut stray = at_rv;
            stray.push("nobody-made-me".into());
            prop_assert_eq!(SnapshotCheck::new(cut, &stray, &created).unknown, 1);
        }
    }
}
