//! The index part of the audit benchmark (see `main.rs`): a synthetic config repository
//! made with `git fast-import`, indexed whole and one commit at a time, then queried,
//! each side by side with the `git log` a user would script instead.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use windlass_audit::{AuditIndex, EntityRef, Event, Query};
use windlass_git_store::{ChangeSet, Config, Expect, Identity, Store};
use windlass_testkit::bench::{self, check, goal};

use crate::{Part, Result};

const AUTHORS: usize = 50;
const CLUSTERS: [&str; 4] = ["prod", "staging", "dev", "edge"];
const NAMESPACES: usize = 20;
/// Entity files alive at most (a few thousand, as in a busy config repository).
const MAX_FILES: usize = 3200;
/// First commit time, and seconds between commits.
const START: i64 = 1_600_000_000;
const STEP: i64 = 60;
const PAGE: usize = 50;

/// A small deterministic generator (xorshift), so every run builds the same repository.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn git(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    command
}

fn run_git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = git(dir).args(args).output()?;
    if !out.status.success() {
        return Err(format!("git {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

fn author(i: usize) -> (String, String) {
    (format!("User {i:02}"), format!("user{i:02}@example.com"))
}

/// One entity file: where it is and what its manifest says.
#[derive(Clone)]
struct File {
    path: String,
    kind: &'static str,
    name: String,
    namespace: String,
}

fn manifest(file: &File, version: usize, rng: &mut Rng) -> String {
    let replicas = 1 + rng.below(5);
    let project = ["default", "payments", "search", "platform"][rng.below(4)];
    match file.kind {
        "ConfigMap" => format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n  namespace: {}\ndata:\n  LOG_LEVEL: info\n  REVISION: \"{version}\"\n",
            file.name, file.namespace
        ),
        "Rollout" => format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: {}\n  namespace: {}\n  labels: {{app: {}}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: {}}}}}\n  template:\n    metadata: {{labels: {{app: {}}}}}\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/{}:v{version}\n  strategy:\n    canary:\n      steps: [{{setWeight: 20}}, {{pause: {{duration: 1m}}}}, {{setWeight: 60}}]\n",
            file.name, file.namespace, file.name, file.name, file.name, file.name
        ),
        _ => format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {}\n  namespace: argocd\n  labels: {{team: {}}}\nspec:\n  project: {project}\n  source:\n    repoURL: https://git.example.com/apps.git\n    path: {}\n    targetRevision: v{version}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: {}\n  syncPolicy:\n    automated: {{prune: true, selfHeal: true}}\n",
            file.name, project, file.name, file.namespace
        ),
    }
}

/// Writes the repository with `git fast-import`: `commits` commits by 50 authors, each
/// adding, updating or deleting 1–3 entity files; then writes the commit-graph (with
/// changed-path filters) that makes `git log -- <path>` fast.
fn synthesize(dir: &Path, commits: usize) -> Result<Vec<File>> {
    run_git(dir, &["init", "-q", "--bare", "-b", "main"])?;
    let mut child = git(dir)
        .args(["fast-import", "--quiet", "--done"])
        .stdin(Stdio::piped())
        .spawn()?;
    let mut input = BufWriter::new(child.stdin.take().ok_or("fast-import's stdin")?);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut live: Vec<File> = Vec::new();
    let mut next_name = 0usize;
    for c in 0..commits {
        let (name, email) = author(rng.below(AUTHORS));
        let time = START + c as i64 * STEP;
        let mut ops = String::new();
        let mut touched = BTreeSet::new();
        for _ in 0..1 + rng.below(3) {
            let roll = rng.below(100);
            if live.len() < 50 || (live.len() < MAX_FILES && roll < 30) {
                let cluster = CLUSTERS[rng.below(CLUSTERS.len())];
                let namespace = format!("team-{:02}", rng.below(NAMESPACES));
                let kind = ["Application", "Rollout", "ConfigMap"][rng.below(3)];
                let entity = format!("svc-{next_name:05}");
                next_name += 1;
                let file = File {
                    path: format!(
                        "clusters/{cluster}/{namespace}/{}-{entity}.yaml",
                        kind.to_lowercase()
                    ),
                    kind,
                    name: entity,
                    namespace,
                };
                let text = manifest(&file, c, &mut rng);
                ops.push_str(&format!(
                    "M 100644 inline {}\ndata {}\n{text}\n",
                    file.path,
                    text.len()
                ));
                touched.insert(file.path.clone());
                live.push(file);
            } else {
                let at = rng.below(live.len());
                if touched.contains(&live[at].path) {
                    continue;
                }
                touched.insert(live[at].path.clone());
                if roll < 36 {
                    let file = live.swap_remove(at);
                    ops.push_str(&format!("D {}\n", file.path));
                } else {
                    let text = manifest(&live[at], c, &mut rng);
                    ops.push_str(&format!(
                        "M 100644 inline {}\ndata {}\n{text}\n",
                        live[at].path,
                        text.len()
                    ));
                }
            }
        }
        let message = format!("change {c}: {} files\n", touched.len());
        write!(
            input,
            "commit refs/heads/main\nauthor {name} <{email}> {time} +0000\ncommitter Windlass <windlass@example.com> {time} +0000\ndata {}\n{message}\n{ops}\n",
            message.len()
        )?;
    }
    input.write_all(b"done\n")?;
    drop(input);
    if !child.wait()?.success() {
        return Err("git fast-import failed".into());
    }
    run_git(
        dir,
        &["commit-graph", "write", "--reachable", "--changed-paths"],
    )?;
    Ok(live)
}

/// Runs git and reads all its output; returns the time and the output.
fn timed_git(dir: &Path, args: &[&str]) -> Result<(Duration, Vec<u8>)> {
    let start = Instant::now();
    let mut child = git(dir).args(args).stdout(Stdio::piped()).spawn()?;
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .ok_or("git's stdout")?
        .read_to_end(&mut out)?;
    if !child.wait()?.success() {
        return Err(format!("git {args:?} failed").into());
    }
    Ok((start.elapsed(), out))
}

fn commit_ids(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Commit(c) => Some(c.commit.clone()),
            Event::ForcePush(_) => None,
        })
        .collect()
}

/// Runs the part (a small version when `quick`).
pub fn run(quick: bool) -> Result<Part> {
    let commits = if quick { 5_000 } else { 100_000 };
    let dir = tempfile::tempdir()?;
    let repo = dir.path().join("config.git");
    std::fs::create_dir(&repo)?;
    let started = Instant::now();
    let live = synthesize(&repo, commits)?;
    let synthesize_s = started.elapsed().as_secs_f64();
    eprintln!("  synthesized {commits} commits in {synthesize_s:.1} s");

    // The peer: the whole log with the changed files, every field the index keeps.
    let format = "--format=%H%x00%P%x00%an%x00%ae%x00%at%x00%cn%x00%ce%x00%ct%x00%B";
    let log_args = [
        "log",
        "--raw",
        "--no-renames",
        "--no-abbrev",
        format,
        "main",
    ];
    let mut git_runs = Vec::new();
    let mut log_bytes = 0;
    for _ in 0..3 {
        let (took, out) = timed_git(&repo, &log_args)?;
        log_bytes = out.len();
        git_runs.push(bench::ms(took));
    }
    let git_log_ms = bench::median(&git_runs);

    // Ours: the whole history into an empty index (best of 3 fresh indexes).
    let mut index_runs = Vec::new();
    let mut index = None;
    for run in 0..if quick { 3 } else { 2 } {
        let store = Store::open(&repo, Config::default())?;
        let fresh = AuditIndex::open(&dir.path().join(format!("index-{run}.redb")))?;
        let start = Instant::now();
        let report = fresh.update(&store, "config", "main")?;
        index_runs.push(bench::ms(start.elapsed()));
        if report.events_written == 0 {
            return Err("the index wrote no events".into());
        }
        index = Some(fresh);
    }
    let index = index.ok_or("an index")?;
    let index_ms = bench::median(&index_runs);
    let index_speedup = git_log_ms / index_ms;
    eprintln!("  full index {index_ms:.0} ms, git log --raw {git_log_ms:.0} ms");

    // One new commit at a time: made with the store (not timed), then indexed.
    let store = Store::open(
        &repo,
        Config {
            durable: false,
            ..Config::default()
        },
    )?;
    let mut rng = Rng(42);
    let samples = if quick { 50 } else { 100 };
    let mut incremental = Vec::with_capacity(samples);
    for i in 0..samples {
        let file = &live[rng.below(live.len())];
        let text = manifest(file, commits + i, &mut rng);
        let who = author(rng.below(AUTHORS));
        let change = ChangeSet::new(Identity::new(&who.0, &who.1), format!("bench {i}"))
            .upsert(&file.path, text)?;
        store.commit("main", &change, &Expect::Branch(store.tip("main")?))?;
        let start = Instant::now();
        let report = index.update(&store, "config", "main")?;
        incremental.push(bench::ms(start.elapsed()));
        if report.commits_read != 1 || report.events_written != 1 {
            return Err(format!("incremental update read {report:?}").into());
        }
    }
    let incremental = bench::summary(incremental, "ms");

    // Queries: a page of 50 by entity, by user, by time range; and git's equivalents.
    let query_samples = if quick { 100 } else { 400 };
    let git_samples = if quick { 10 } else { 20 };
    let end = START + commits as i64 * STEP;
    let mut ours: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut theirs: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for i in 0..query_samples {
        let file = &live[rng.below(live.len())];
        let (_, email) = author(rng.below(AUTHORS));
        let from = START + rng.below(commits) as i64 * STEP;
        let until = (from + 7 * 24 * 3600).min(end);
        let namespace = (file.kind != "Application").then_some(file.namespace.as_str());
        let cases: [(&str, Query, Vec<String>); 3] = [
            (
                "entity",
                Query {
                    entity: Some(EntityRef::new(
                        file.kind,
                        &file.name,
                        namespace.or(Some("argocd")),
                    )),
                    ..Query::default()
                },
                vec!["--".into(), file.path.clone()],
            ),
            (
                "user",
                Query {
                    user: Some(email.clone()),
                    ..Query::default()
                },
                vec![format!("--author={email}")],
            ),
            (
                "time_range",
                Query {
                    since: Some(from),
                    until: Some(until),
                    ..Query::default()
                },
                vec![format!("--since={from}"), format!("--until={}", until - 1)],
            ),
        ];
        for (kind, query, git_filter) in cases {
            let start = Instant::now();
            let page = index.query(&query, PAGE, None)?;
            ours.entry(kind)
                .or_default()
                .push(bench::ms(start.elapsed()));
            std::hint::black_box(page);
            if i < git_samples {
                let mut args: Vec<String> = vec![
                    "log".into(),
                    "--format=%H".into(),
                    format!("-n{PAGE}"),
                    "main".into(),
                ];
                args.extend(git_filter);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let (took, _) = timed_git(&repo, &args)?;
                theirs.entry(kind).or_default().push(bench::ms(took));
            }
        }
    }
    let mut query_figures = serde_json::Map::new();
    let mut worst_p99: f64 = 0.0;
    let mut speedup = f64::INFINITY;
    for (kind, values) in &ours {
        let ours_summary = bench::summary(values.clone(), "ms");
        let theirs_summary = bench::summary(theirs[kind].clone(), "ms");
        worst_p99 = worst_p99.max(bench::f(&ours_summary, "p99_ms"));
        speedup =
            speedup.min(bench::f(&theirs_summary, "p50_ms") / bench::f(&ours_summary, "p50_ms"));
        query_figures.insert(
            kind.to_string(),
            json!({"ours_ms": ours_summary, "git_log_ms": theirs_summary}),
        );
    }

    // Correctness: our events for some paths and authors are git log's commits. Ours
    // are newest first by committer time, ties (commits of the same second, as the
    // incremental ones above are) in commit id order, where git lists them in
    // topological order: the lists must hold the same commits, ours in time order.
    let mut agree = true;
    let mut same_order = true;
    let time_of = |events: &[Event]| -> Vec<i64> { events.iter().map(Event::time).collect() };
    let mut compare = |ours: &[Event], theirs: String| {
        let ids = commit_ids(ours);
        let theirs: Vec<String> = theirs.lines().map(str::to_owned).collect();
        same_order &= ids == theirs;
        let times = time_of(ours);
        agree &= !ids.is_empty()
            && ids.iter().collect::<BTreeSet<_>>() == theirs.iter().collect::<BTreeSet<_>>()
            && ids.len() == theirs.len()
            && times.windows(2).all(|w| w[0] >= w[1]);
    };
    for i in 0..5 {
        let file = &live[(i * 997) % live.len()];
        let ours = index.query_all(&Query {
            path: Some(file.path.clone()),
            ..Query::default()
        })?;
        compare(
            &ours,
            run_git(&repo, &["log", "--format=%H", "main", "--", &file.path])?,
        );
        let (_, email) = author(i * 7);
        let ours = index.query_all(&Query {
            user: Some(email.clone()),
            ..Query::default()
        })?;
        compare(
            &ours,
            run_git(
                &repo,
                &["log", "--format=%H", &format!("--author=<{email}>"), "main"],
            )?,
        );
    }

    let figures = json!({
        "index_speedup_vs_git_log": index_speedup,
        "query_p99_ms": worst_p99,
        "query_speedup_vs_git_log": speedup,
        "index": {
            "commits": commits,
            "authors": AUTHORS,
            "entity_files_at_head": live.len(),
            "synthesize_s": synthesize_s,
            "full_index_ms": index_ms,
            "full_index_runs_ms": index_runs,
            "git_log_raw_ms": git_log_ms,
            "git_log_raw_runs_ms": git_runs,
            "git_log_raw_bytes": log_bytes,
            "git_log_args": log_args,
            "git_config": "packed by fast-import; commit-graph with changed-path filters",
            "incremental_update_ms": incremental,
            "queries": query_figures,
            "query_page": PAGE,
            "events_in_git_log_order": same_order,
        },
    });
    let incremental_p50 = bench::f(&figures["index"]["incremental_update_ms"], "p50_ms");
    let goals = vec![
        goal(
            "index_speedup_vs_git_log",
            ">= 1",
            index_speedup,
            index_speedup >= 1.0,
        ),
        goal(
            "incremental_update_p50_ms",
            "<= 5",
            incremental_p50,
            incremental_p50 <= 5.0,
        ),
        goal("query_p99_ms", "<= 20", worst_p99, worst_p99 <= 20.0),
        goal(
            "query_speedup_vs_git_log",
            ">= 10",
            speedup,
            speedup >= 10.0,
        ),
        check("events agree with git log (paths and authors)", agree),
    ];
    Ok(Part { figures, goals })
}
