//! `cargo xtask bench git-store`: the git store measured side by side against `git`.
//!
//! Builds, in a temporary directory, a repository of 10,000 small YAML entity files in
//! about 100 directories, then measures in one run:
//!
//! - single-file change-set commit latency through `Store::commit` (durability off and
//!   on) against the same change made with `git` plumbing subprocesses (git's default
//!   configuration, and two durable peers: `core.fsync=committed` with
//!   `core.fsyncMethod=fsync` and with `core.fsyncMethod=batch`; the durable goal holds
//!   against the faster of the two), interleaved in rounds so that load from other
//!   processes hits every variant alike; every variant must end at the same tree;
//! - reading one entity at `HEAD` with `Store::read_file` against `git cat-file --batch`
//!   kept open in one process, both warm;
//! - the history of one path over 10,000 commits, cold (a fresh store) and warm,
//!   against `git log -- <path>`;
//! - 8 writers sharing one store on disjoint files (per-file expectations): commits/s,
//!   and lost updates checked by reading every file back with `git` as the oracle.
//!
//! Prints a table and writes every figure, goal and verdict to
//! `<target>/bench/git-store.json`; the correctness checks (same tree as the plumbing,
//! history agrees with `git log`, no lost update) are goals, so `all_goals_met` needs
//! them. Every loop is bounded in count and in time. `git` is the one on `PATH`, as in
//! the tests (`core.fsyncMethod=batch` needs git 2.36 or newer).
//!
//! Options (after `--`): `--quick` runs a small version, for working on the harness;
//! `--only commits|reads|history|writers` runs one part and prints its figures without
//! writing the summary, for profiling that part; `--packed-base` packs the base
//! repository before the parts start (by default its objects stay loose, as the store
//! writes them). The repositories live under `$TMPDIR`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use windlass_git_store::{
    ChangeSet, Config, Error as StoreError, Expect, FileExpectation, Identity, ObjectId, Page,
    Store,
};
use windlass_testkit::bench::{self, f, ms, us};

mod git;
mod report;

use git::{CatFile, Plumbing, git_cmd, run};
use report::{goals, print_table};

type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

const BRANCH: &str = "main";

/// How much work each part does.
struct Scale {
    name: &'static str,
    /// Entity files in the repository.
    entities: usize,
    /// Directories they are spread over.
    dirs: usize,
    /// Untimed commits per variant before the timed rounds.
    warmup: usize,
    /// Interleaved rounds of the commit-latency variants.
    rounds: usize,
    off_per_round: usize,
    on_per_round: usize,
    plumbing_per_round: usize,
    /// Entity reads per reader.
    reads: usize,
    /// Length of the commit chain the history is measured over.
    history_commits: usize,
    /// One commit in this many touches the measured path.
    history_every: usize,
    /// Cold and warm history repetitions.
    history_repeats: usize,
    writers: usize,
    per_writer: usize,
    files_per_writer: usize,
    /// Upper bound of each timed phase.
    phase_limit: Duration,
}

const FULL: Scale = Scale {
    name: "full",
    entities: 10_000,
    dirs: 100,
    warmup: 5,
    rounds: 10,
    off_per_round: 50,
    on_per_round: 20,
    plumbing_per_round: 10,
    reads: 1_000,
    history_commits: 10_000,
    history_every: 100,
    history_repeats: 5,
    writers: 8,
    per_writer: 2_000,
    files_per_writer: 25,
    phase_limit: Duration::from_secs(240),
};

const QUICK: Scale = Scale {
    name: "quick",
    entities: 1_000,
    dirs: 10,
    warmup: 2,
    rounds: 2,
    off_per_round: 20,
    on_per_round: 10,
    plumbing_per_round: 5,
    reads: 100,
    history_commits: 500,
    history_every: 50,
    history_repeats: 2,
    writers: 8,
    per_writer: 100,
    files_per_writer: 5,
    phase_limit: Duration::from_secs(60),
};

const PARTS: [&str; 4] = ["commits", "reads", "history", "writers"];

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`, which is ignored like anything not known.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scale: &'static Scale = if args.iter().any(|a| a == "--quick") {
        &QUICK
    } else {
        &FULL
    };
    // `--only <part>` (for profiling one part) prints that part and writes no summary.
    let only = match args.iter().position(|a| a == "--only") {
        Some(at) => match args.get(at + 1) {
            Some(part) if PARTS.contains(&part.as_str()) => Some(part.as_str()),
            _ => return Err(format!("--only takes one of {}", PARTS.join(", ")).into()),
        },
        None => None,
    };
    let git_version = run(git_cmd(Path::new("."), &["--version"]), None)
        .map_err(|e| format!("the benchmark needs `git` (apt-get install git): {e}"))?;
    let tmp = tempfile::tempdir()?;
    eprintln!(
        "bench git-store ({}): working in {}",
        scale.name,
        tmp.path().display()
    );

    let environment = probe_filesystem(tmp.path())?;
    let packed_base = args.iter().any(|a| a == "--packed-base");
    let (setup, base) = build_base(tmp.path(), scale, packed_base)?;
    let clone = |name: &str| -> Result<PathBuf> {
        let dest = tmp.path().join(name);
        // A local clone hard-links the objects: every part starts from the same base.
        let mut cmd = git_cmd(&base, &["clone", "--bare", "--local", "--quiet"]);
        cmd.env_remove("GIT_DIR").arg(&base).arg(&dest);
        run(cmd, None)?;
        Ok(dest)
    };

    if let Some(part) = only {
        eprintln!("bench git-store: {part} only");
        let value = match part {
            "commits" => commit_latency(scale, &clone)?,
            "reads" => reads(scale, &base)?,
            "history" => history(scale, &clone("history")?)?,
            _ => concurrent_writers(scale, &clone("writers")?)?,
        };
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    eprintln!("bench git-store: commit latency");
    let commits = commit_latency(scale, &clone)?;
    eprintln!("bench git-store: reads");
    let reads = reads(scale, &base)?;
    eprintln!("bench git-store: history");
    let history = history(scale, &clone("history")?)?;
    eprintln!("bench git-store: concurrent writers");
    let writers = concurrent_writers(scale, &clone("writers")?)?;

    let goals = goals(&commits, &reads, &history, &writers);
    print_table(
        scale,
        &setup,
        &environment,
        [&commits, &reads, &history, &writers],
        &goals,
    );

    let mut machine = bench::machine();
    machine["git"] = json!(git_version.trim());
    let summary = json!({
        "benchmark": "git-store",
        "scale": scale.name,
        "machine": machine,
        "setup": setup,
        "environment": environment,
        "commit_latency": commits,
        "read": reads,
        "history": history,
        "concurrent_writers": writers,
        "goals": goals,
        "all_goals_met": bench::all_goals_met(&goals),
    });
    // A quick run does not replace the figures of a full one.
    let file = bench::write_summary(
        if scale.name == "full" {
            "git-store"
        } else {
            "git-store-quick"
        },
        &summary,
    )?;
    println!("\nwrote {}", file.display());
    Ok(())
}

// ---- the repository ---------------------------------------------------------------

fn entity_path(i: usize, dirs: usize) -> String {
    format!("apps/team-{:03}/app-{i:05}.yaml", i % dirs)
}

/// A small Application manifest; `revision` makes each write of it distinct.
fn entity_yaml(i: usize, dirs: usize, revision: usize) -> String {
    let team = i % dirs;
    format!(
        "apiVersion: argoproj.io/v1alpha1\n\
         kind: Application\n\
         metadata:\n  name: app-{i:05}\n  namespace: team-{team:03}\n  \
         annotations:\n    windlass.dev/revision: \"{revision}\"\n\
         spec:\n  project: team-{team:03}\n  \
         source:\n    repoURL: https://git.example.com/team-{team:03}/deploy.git\n    \
         path: apps/app-{i:05}\n    targetRevision: main\n  \
         destination:\n    server: https://kubernetes.default.svc\n    \
         namespace: team-{team:03}\n  \
         syncPolicy:\n    automated:\n      prune: true\n"
    )
}

/// The `k`-th file of a sequence that visits every file once per `n` steps, jumping
/// across directories.
fn spread(k: usize, n: usize) -> usize {
    (k.wrapping_mul(7919) + 13) % n
}

fn alice() -> Identity {
    Identity::new("Alice Example", "alice@example.com")
}

fn config(durable: bool) -> Config {
    Config {
        durable,
        maintenance_interval: std::env::var("BENCH_NO_MAINTENANCE")
            .is_ok()
            .then_some(u64::MAX)
            .or(Config::default().maintenance_interval),
        ..Config::default()
    }
}

/// The base repository: every entity at revision 0, in one commit made with the store
/// (loose objects, as the store writes them), packed afterwards if asked.
fn build_base(tmp: &Path, scale: &Scale, packed: bool) -> Result<(Value, PathBuf)> {
    let dir = tmp.join("base");
    let store = Store::init(&dir, true, config(false))?;
    let mut change = ChangeSet::new(alice(), "import entities");
    for i in 0..scale.entities {
        change = change.upsert(&entity_path(i, scale.dirs), entity_yaml(i, scale.dirs, 0))?;
    }
    let started = Instant::now();
    store.commit(BRANCH, &change, &Expect::Branch(None))?;
    let import = started.elapsed();
    let head = run(git_cmd(&dir, &["rev-parse", "HEAD"]), None)?;
    let main = run(git_cmd(&dir, &["rev-parse", BRANCH]), None)?;
    if head != main {
        return Err(format!("HEAD ({}) is not {BRANCH} ({})", head.trim(), main.trim()).into());
    }
    if packed {
        run(git_cmd(&dir, &["repack", "-a", "-d", "-q"]), None)?;
    }
    let setup = json!({
        "entities": scale.entities,
        "directories": scale.dirs + 1,
        "entity_bytes": entity_yaml(0, scale.dirs, 0).len(),
        "import_one_commit_ms": ms(import),
        "base_objects": if packed { "packed" } else { "loose" },
        "temp_dir": tmp.display().to_string(),
    });
    Ok((setup, store.git_dir().to_owned()))
}

/// What the file system under the repositories costs: every loose object and lock is a
/// new file (created, written, renamed into place), and durable commits fsync. Shown
/// so that figures from different machines and moments can be compared.
fn probe_filesystem(tmp: &Path) -> Result<Value> {
    let dir = tmp.join("probe");
    std::fs::create_dir_all(dir.join("into"))?;
    let data = [b'x'; 300];
    let (mut create, mut fsync) = (Vec::new(), Vec::new());
    for i in 0..200 {
        let (from, to) = (dir.join(format!("tmp{i}")), dir.join(format!("into/{i}")));
        let started = Instant::now();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&from)?;
        file.write_all(&data)?;
        drop(file);
        std::fs::rename(&from, &to)?;
        create.push(started.elapsed());
    }
    let mut delete = Vec::new();
    for i in 0..200 {
        let started = Instant::now();
        std::fs::remove_file(dir.join(format!("into/{i}")))?;
        delete.push(started.elapsed());
    }
    let mut file = std::fs::File::create(dir.join("synced"))?;
    for _ in 0..20 {
        file.write_all(&data)?;
        let started = Instant::now();
        file.sync_all()?;
        fsync.push(started.elapsed());
    }
    Ok(json!({
        "what": "in the benchmark's temporary directory: create + write 300 bytes + close + rename a new file; delete such a file; fsync after a 300-byte append",
        "create_file_p50_us": median_us(&create),
        "delete_file_p50_us": median_us(&delete),
        "fsync_p50_us": median_us(&fsync),
        "load_average_1m": bench::load_average().first(),
    }))
}

// ---- measuring ------------------------------------------------------------------------

/// Count, percentiles, mean, min and max of latencies, in microseconds.
fn stats(samples: &[Duration]) -> Value {
    bench::summary(samples.iter().map(|d| us(*d)).collect(), "us")
}

fn median_us(samples: &[Duration]) -> f64 {
    bench::median(&samples.iter().map(|d| us(*d)).collect::<Vec<_>>())
}

fn median_ms(samples: &[Duration]) -> f64 {
    median_us(samples) / 1e3
}

// ---- commit latency -------------------------------------------------------------------

/// The `k`-th change of the latency sequence: one file, a new revision of it.
fn change_k(scale: &Scale, k: usize) -> (String, String) {
    let i = spread(k, scale.entities);
    (entity_path(i, scale.dirs), entity_yaml(i, scale.dirs, k))
}

struct StoreWriter {
    store: Store,
    tip: ObjectId,
    k: usize,
}

impl StoreWriter {
    fn open(dir: &Path, durable: bool) -> Result<Self> {
        let store = Store::open(dir, config(durable))?;
        let tip = store.tip(BRANCH)?.ok_or("the branch exists")?;
        Ok(StoreWriter { store, tip, k: 0 })
    }

    /// Makes the next change of the sequence in whole-branch mode; times `Store::commit`.
    fn next(&mut self, scale: &Scale) -> Result<Duration> {
        self.k += 1;
        let (path, content) = change_k(scale, self.k);
        let change = ChangeSet::new(alice(), format!("update {path} (revision {})", self.k))
            .upsert(&path, content)?;
        let expect = Expect::Branch(Some(self.tip));
        let started = Instant::now();
        let outcome = self.store.commit(BRANCH, &change, &expect)?;
        let took = started.elapsed();
        self.tip = outcome.commit.ok_or("the change made no commit")?;
        Ok(took)
    }
}

struct PlumbingWriter {
    plumbing: Plumbing,
    k: usize,
}

impl PlumbingWriter {
    fn next(&mut self, scale: &Scale) -> Result<Duration> {
        self.k += 1;
        let (path, content) = change_k(scale, self.k);
        let message = format!("update {path} (revision {})", self.k);
        let started = Instant::now();
        self.plumbing.commit(&path, content.as_bytes(), &message)?;
        Ok(started.elapsed())
    }
}

/// The durable plumbing peers' settings (`git -c`).
const FSYNC: &[&str] = &["core.fsync=committed", "core.fsyncMethod=fsync"];
const FSYNC_BATCH: &[&str] = &["core.fsync=committed", "core.fsyncMethod=batch"];

fn commit_latency(scale: &Scale, clone: &dyn Fn(&str) -> Result<PathBuf>) -> Result<Value> {
    let mut off = StoreWriter::open(&clone("commit-off")?, false)?;
    let mut on = StoreWriter::open(&clone("commit-on")?, true)?;
    let mut plain = PlumbingWriter {
        plumbing: Plumbing::new(clone("plumbing")?, &[])?,
        k: 0,
    };
    // The durable peers: git flushes objects and refs (it does not by default), each
    // file with its own fsync, or (batch, git >= 2.36) loose objects written back
    // without a flush and one flush for the batch, as git recommends for speed.
    let mut fsync = PlumbingWriter {
        plumbing: Plumbing::new(clone("plumbing-fsync")?, FSYNC)?,
        k: 0,
    };
    let mut batch = PlumbingWriter {
        plumbing: Plumbing::new(clone("plumbing-fsync-batch")?, FSYNC_BATCH)?,
        k: 0,
    };
    for _ in 0..scale.warmup {
        off.next(scale)?;
        on.next(scale)?;
        plain.next(scale)?;
        fsync.next(scale)?;
        batch.next(scale)?;
    }
    let (mut t_off, mut t_on, mut t_plain, mut t_fsync, mut t_batch) =
        (vec![], vec![], vec![], vec![], vec![]);
    let deadline = Instant::now() + scale.phase_limit;
    let mut truncated = false;
    for _ in 0..scale.rounds {
        if Instant::now() > deadline {
            truncated = true;
            break;
        }
        for _ in 0..scale.off_per_round {
            t_off.push(off.next(scale)?);
        }
        for _ in 0..scale.on_per_round {
            t_on.push(on.next(scale)?);
        }
        for _ in 0..scale.plumbing_per_round {
            t_plain.push(plain.next(scale)?);
            t_fsync.push(fsync.next(scale)?);
            t_batch.push(batch.next(scale)?);
        }
    }
    // Every path made the same changes in the same order: after the plumbing's last
    // change, each store's tree at that step is each plumbing's tree.
    let tree_at = |git_dir: &Path, back: usize| {
        run(
            git_cmd(
                git_dir,
                &["rev-parse", &format!("{BRANCH}~{back}^{{tree}}")],
            ),
            None,
        )
    };
    let steps = plain.k;
    let mut trees = Vec::new();
    for store in [&off, &on] {
        let back = store
            .k
            .checked_sub(steps)
            .ok_or("the store made fewer changes")?;
        trees.push(tree_at(store.store.git_dir(), back)?);
    }
    for peer in [&plain, &fsync, &batch] {
        if peer.k != steps {
            return Err("the plumbing peers made different numbers of changes".into());
        }
        trees.push(tree_at(&peer.plumbing.git_dir, 0)?);
    }
    let same_tree = trees.windows(2).all(|pair| pair[0] == pair[1]);

    let (s_off, s_on, s_plain, s_fsync, s_batch) = (
        stats(&t_off),
        stats(&t_on),
        stats(&t_plain),
        stats(&t_fsync),
        stats(&t_batch),
    );
    let ratio = |peer: &Value, ours: &Value, key: &str| f(peer, key) / f(ours, key);
    // The durable goal is against the faster durable peer.
    let (best, s_best) = if f(&s_batch, "p50_us") < f(&s_fsync, "p50_us") {
        ("git_plumbing_fsync_batch", &s_batch)
    } else {
        ("git_plumbing_fsync", &s_fsync)
    };
    Ok(json!({
        "change": "one existing entity file rewritten (new revision), whole-branch expectation",
        "interleaved_rounds": scale.rounds,
        "truncated_by_time": truncated,
        "store_durability_off": s_off,
        "store_durability_on": s_on,
        "git_plumbing": s_plain,
        "git_plumbing_fsync": s_fsync,
        "git_plumbing_fsync_batch": s_batch,
        "git_plumbing_steps": "hash-object -w --stdin | update-index --cacheinfo (GIT_INDEX_FILE, kept) | write-tree | commit-tree -p | update-ref <new> <old>",
        "git_plumbing_fsync_config": FSYNC.join(" "),
        "git_plumbing_fsync_batch_config": FSYNC_BATCH.join(" "),
        "best_durable_git": best,
        "speedup_p50_off_vs_plumbing": ratio(&s_plain, &s_off, "p50_us"),
        "speedup_p99_off_vs_plumbing": ratio(&s_plain, &s_off, "p99_us"),
        "speedup_p50_on_vs_plumbing": ratio(&s_plain, &s_on, "p50_us"),
        "speedup_p50_on_vs_plumbing_fsync": ratio(&s_fsync, &s_on, "p50_us"),
        "speedup_p99_on_vs_plumbing_fsync": ratio(&s_fsync, &s_on, "p99_us"),
        "speedup_p50_on_vs_plumbing_fsync_batch": ratio(&s_batch, &s_on, "p50_us"),
        "speedup_p50_on_vs_best_git": ratio(s_best, &s_on, "p50_us"),
        "speedup_p99_on_vs_best_git": ratio(s_best, &s_on, "p99_us"),
        "same_tree_as_plumbing": same_tree,
        "same_tree_means": "both stores (durability off and on) and the three plumbing peers reach the same tree after the same changes",
    }))
}

// ---- reads ----------------------------------------------------------------------------

fn reads(scale: &Scale, git_dir: &Path) -> Result<Value> {
    let paths: Vec<(String, String)> = (0..scale.reads)
        .map(|k| {
            let i = spread(k, scale.entities);
            (entity_path(i, scale.dirs), entity_yaml(i, scale.dirs, 0))
        })
        .collect();
    let deadline = Instant::now() + scale.phase_limit;

    // First reads through a fresh store: the caches fill (the OS cache is warm).
    let store = Store::open(git_dir, config(false))?;
    let mut first = Vec::with_capacity(paths.len());
    for (path, want) in &paths {
        let started = Instant::now();
        let got = store.read_file("HEAD", path)?;
        first.push(started.elapsed());
        if got.as_deref() != Some(want.as_bytes()) {
            return Err(format!("the store read {path} wrong").into());
        }
    }
    let mut cat = CatFile::start(git_dir)?;
    let mut buf = Vec::new();
    for (path, want) in &paths {
        if !cat.read(&format!("HEAD:{path}"), &mut buf)? || buf != want.as_bytes() {
            return Err(format!("git cat-file read {path} wrong").into());
        }
    }

    // Warm, timed, interleaved in chunks.
    let (mut t_store, mut t_cat) = (Vec::new(), Vec::new());
    let mut truncated = false;
    for chunk in paths.chunks(50) {
        if Instant::now() > deadline {
            truncated = true;
            break;
        }
        for (path, want) in chunk {
            let started = Instant::now();
            let got = store.read_file("HEAD", path)?;
            t_store.push(started.elapsed());
            if got.as_deref() != Some(want.as_bytes()) {
                return Err(format!("the store read {path} wrong").into());
            }
        }
        for (path, want) in chunk {
            let spec = format!("HEAD:{path}");
            let started = Instant::now();
            let found = cat.read(&spec, &mut buf)?;
            t_cat.push(started.elapsed());
            if !found || buf != want.as_bytes() {
                return Err(format!("git cat-file read {path} wrong").into());
            }
        }
    }
    let (s_store, s_cat) = (stats(&t_store), stats(&t_cat));
    Ok(json!({
        "what": "one entity at HEAD (10,000-entity tree), warm; distinct paths across directories",
        "truncated_by_time": truncated,
        "store_first_read": stats(&first),
        "store_warm": s_store,
        "git_cat_file_batch_warm": s_cat,
        "speedup_p50_store_vs_cat_file": f(&s_cat, "p50_us") / f(&s_store, "p50_us"),
    }))
}

// ---- history --------------------------------------------------------------------------

fn history(scale: &Scale, git_dir: &Path) -> Result<Value> {
    let measured = entity_path(0, scale.dirs);
    let writer = Store::open(git_dir, config(false))?;
    let mut tip = writer.tip(BRANCH)?.ok_or("the branch exists")?;
    let deadline = Instant::now() + scale.phase_limit;
    let started = Instant::now();
    let mut built = 0;
    for k in 1..=scale.history_commits {
        if Instant::now() > deadline {
            break;
        }
        let i = if k % scale.history_every == 0 {
            0
        } else {
            // Never 0: only every `history_every`-th commit touches the measured path.
            1 + spread(k, scale.entities - 1)
        };
        let path = entity_path(i, scale.dirs);
        let change = ChangeSet::new(alice(), format!("update {path} (revision {k})"))
            .upsert(&path, entity_yaml(i, scale.dirs, k))?;
        tip = writer
            .commit(BRANCH, &change, &Expect::Branch(Some(tip)))?
            .commit
            .ok_or("the change made no commit")?;
        built = k;
    }
    let build = started.elapsed();
    drop(writer);

    let page = Page::first(1000);
    let loose = measure_history(scale, git_dir, &measured, page)?;
    // A repository as `git gc` leaves it: every object in one pack.
    let started = Instant::now();
    run(git_cmd(git_dir, &["repack", "-a", "-d", "-q"]), None)?;
    let repack = started.elapsed();
    let packed = measure_history(scale, git_dir, &measured, page)?;
    Ok(json!({
        "path": measured,
        "chain_commits": built,
        "chain_build_s": build.as_secs_f64(),
        "chain_build_commits_per_s": built as f64 / build.as_secs_f64(),
        "page_limit": page.limit,
        "commits_returned": loose.found.len(),
        "agrees_with_git_log": loose.found == loose.git_ids && packed.found == loose.found,
        "repeats": scale.history_repeats,
        "objects": "loose, as the store wrote them",
        "store_cold_ms": loose.cold_ms,
        "store_warm_ms": loose.warm_ms,
        "git_log_ms": loose.git_log_ms,
        "speedup_cold_vs_git_log": loose.git_log_ms / loose.cold_ms,
        "speedup_warm_vs_git_log": loose.git_log_ms / loose.warm_ms,
        "packed": {
            "objects": "one pack (git repack -a -d)",
            "repack_s": repack.as_secs_f64(),
            "store_cold_ms": packed.cold_ms,
            "store_warm_ms": packed.warm_ms,
            "git_log_ms": packed.git_log_ms,
            "speedup_cold_vs_git_log": packed.git_log_ms / packed.cold_ms,
        },
    }))
}

/// Medians of one history measurement, and what the store and `git log` returned.
struct HistoryRun {
    cold_ms: f64,
    warm_ms: f64,
    git_log_ms: f64,
    found: Vec<String>,
    git_ids: Vec<String>,
}

/// The history of `path` through a fresh store (cold), again on it (warm), and with
/// `git log -- <path>`; each repeated, medians kept.
fn measure_history(scale: &Scale, git_dir: &Path, path: &str, page: Page) -> Result<HistoryRun> {
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut found = Vec::new();
    for _ in 0..scale.history_repeats {
        let store = Store::open(git_dir, config(false))?;
        let started = Instant::now();
        let result = store.history(BRANCH, path, page)?;
        cold.push(started.elapsed());
        found = result.commits.iter().map(|c| c.id.to_string()).collect();
        for _ in 0..scale.history_repeats {
            let started = Instant::now();
            let again = store.history(BRANCH, path, page)?;
            warm.push(started.elapsed());
            if again.commits.len() != found.len() {
                return Err("the warm history differs from the cold one".into());
            }
        }
    }
    let mut git_log = Vec::new();
    let mut git_ids = Vec::new();
    let limit = page.limit.to_string();
    for _ in 0..scale.history_repeats {
        let started = Instant::now();
        let out = run(
            git_cmd(
                git_dir,
                &["log", "--format=%H", "-n", &limit, BRANCH, "--", path],
            ),
            None,
        )?;
        git_log.push(started.elapsed());
        git_ids = out.lines().map(str::to_owned).collect();
    }
    Ok(HistoryRun {
        cold_ms: median_ms(&cold),
        warm_ms: median_ms(&warm),
        git_log_ms: median_ms(&git_log),
        found,
        git_ids,
    })
}

// ---- concurrent writers ---------------------------------------------------------------

#[derive(Default)]
struct WriterReport {
    acknowledged: Vec<ObjectId>,
    /// File → revision of its last acknowledged write.
    last: HashMap<usize, usize>,
    latencies: Vec<Duration>,
    in_commit: Duration,
    in_read_back: Duration,
    retries: usize,
    conflicts: usize,
    errors: usize,
    first_error: Option<String>,
    truncated: bool,
}

fn writer(
    store: Store,
    scale: &Scale,
    w: usize,
    barrier: &Barrier,
    deadline_after: Duration,
) -> Result<WriterReport> {
    // Writer `w` owns files w, w + W, w + 2W, … — disjoint, spread over directories.
    let files: Vec<usize> = (0..scale.files_per_writer)
        .map(|j| w + j * scale.writers)
        .collect();
    let mut expected = HashMap::new();
    for &i in &files {
        let id = store
            .file_id(BRANCH, &entity_path(i, scale.dirs))?
            .ok_or("the file exists")?;
        expected.insert(i, id);
    }
    let mut report = WriterReport::default();
    barrier.wait();
    let deadline = Instant::now() + deadline_after;
    for n in 0..scale.per_writer {
        if Instant::now() > deadline {
            report.truncated = true;
            break;
        }
        let i = files[n % files.len()];
        let revision = n + 1;
        let path = entity_path(i, scale.dirs);
        let change = ChangeSet::new(alice(), format!("writer {w}: {path} (revision {revision})"))
            .upsert(&path, entity_yaml(i, scale.dirs, revision))?;
        let expect = Expect::Files(BTreeMap::from([(
            path.clone(),
            FileExpectation::Blob(expected[&i]),
        )]));
        let started = Instant::now();
        let result = store.commit(BRANCH, &change, &expect);
        let took = started.elapsed();
        report.in_commit += took;
        match result {
            Ok(outcome) => {
                let commit = outcome.commit.ok_or("the change made no commit")?;
                report.retries += outcome.retries;
                report.latencies.push(took);
                report.acknowledged.push(commit);
                report.last.insert(i, revision);
                // What the API hands back to the client for its next edit.
                let started = Instant::now();
                let id = store.file_id_at(commit, &path)?.ok_or("the file exists")?;
                report.in_read_back += started.elapsed();
                expected.insert(i, id);
            }
            Err(e) => {
                if matches!(e, StoreError::Conflict { .. }) {
                    report.conflicts += 1;
                } else {
                    report.errors += 1;
                }
                report.first_error.get_or_insert_with(|| e.to_string());
                if let Some(id) = store.file_id(BRANCH, &path)? {
                    expected.insert(i, id);
                }
            }
        }
    }
    Ok(report)
}

fn concurrent_writers(scale: &'static Scale, git_dir: &Path) -> Result<Value> {
    let base = run(git_cmd(git_dir, &["rev-parse", BRANCH]), None)?
        .trim()
        .to_owned();
    let store = Store::open(git_dir, config(false))?;
    let barrier = Arc::new(Barrier::new(scale.writers + 1));
    let limit = scale.phase_limit / 4;
    let reports: Vec<WriterReport>;
    let elapsed;
    {
        let handles: Vec<_> = (0..scale.writers)
            .map(|w| {
                let store = store.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || writer(store, scale, w, &barrier, limit))
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        let mut joined = Vec::new();
        for handle in handles {
            joined.push(handle.join().map_err(|_| "a writer panicked")??);
        }
        elapsed = started.elapsed();
        reports = joined;
    }
    drop(store);

    // Verify with git as the oracle: every acknowledged commit is on the branch, the
    // branch has nothing else, and every file holds its last acknowledged write.
    let on_branch: HashSet<String> = run(
        git_cmd(git_dir, &["rev-list", &format!("{base}..{BRANCH}")]),
        None,
    )?
    .lines()
    .map(str::to_owned)
    .collect();
    let acknowledged: usize = reports.iter().map(|r| r.acknowledged.len()).sum();
    let unreachable = reports
        .iter()
        .flat_map(|r| &r.acknowledged)
        .filter(|id| !on_branch.contains(&id.to_string()))
        .count();
    let last: HashMap<usize, usize> = reports.iter().flat_map(|r| r.last.clone()).collect();
    let mut cat = CatFile::start(git_dir)?;
    let mut buf = Vec::new();
    let (mut lost_files, mut damaged_others) = (0, 0);
    for i in 0..scale.entities {
        let path = entity_path(i, scale.dirs);
        let revision = last.get(&i).copied().unwrap_or(0);
        let found = cat.read(&format!("{BRANCH}:{path}"), &mut buf)?;
        if !found || buf != entity_yaml(i, scale.dirs, revision).as_bytes() {
            if last.contains_key(&i) {
                lost_files += 1;
            } else {
                damaged_others += 1;
            }
        }
    }
    drop(cat);
    let fsck = git_cmd(git_dir, &["fsck", "--connectivity-only", "--no-progress"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?
        .success();

    let all_latencies: Vec<Duration> = reports.iter().flat_map(|r| r.latencies.clone()).collect();
    let in_commit: Duration = reports.iter().map(|r| r.in_commit).sum();
    let in_read_back: Duration = reports.iter().map(|r| r.in_read_back).sum();
    Ok(json!({
        "writers": scale.writers,
        "commits_per_writer_target": scale.per_writer,
        "files_per_writer": scale.files_per_writer,
        "mode": "per-file (Expect::Files with the blob last written), durability off, one Store shared by clones",
        "truncated_by_time": reports.iter().any(|r| r.truncated),
        "acknowledged": acknowledged,
        "elapsed_s": elapsed.as_secs_f64(),
        "commits_per_s": acknowledged as f64 / elapsed.as_secs_f64(),
        "commit_latency_under_contention": stats(&all_latencies),
        "writer_time_in_commit_s": in_commit.as_secs_f64(),
        "writer_time_in_read_back_s": in_read_back.as_secs_f64(),
        "retries": reports.iter().map(|r| r.retries).sum::<usize>(),
        "conflicts": reports.iter().map(|r| r.conflicts).sum::<usize>(),
        "errors": reports.iter().map(|r| r.errors).sum::<usize>(),
        "first_error": reports.iter().find_map(|r| r.first_error.clone()),
        "commits_on_branch": on_branch.len(),
        "acknowledged_not_on_branch": unreachable,
        "files_missing_last_acknowledged_write": lost_files,
        "untouched_files_changed": damaged_others,
        "lost_updates": unreachable + lost_files,
        "fsck_connectivity_ok": fsck,
    }))
}
