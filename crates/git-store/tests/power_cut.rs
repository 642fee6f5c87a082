//! Power cuts: the store commits on a file system that loses everything not flushed
//! (`windlass_testkit::fuse`), and the power is cut after the N-th file-system
//! operation, for every N over the whole run — every phase of every commit, the pack
//! roll-up included. After each cut the durable state is what is left: every commit
//! acknowledged as durable is there, `git fsck --strict` is clean, and the store opens
//! and commits again. With durability off, commits may be lost but the repository is
//! just as consistent.
//!
//! Needs `/dev/fuse` and `fusermount3` (Debian's `fuse3`).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use support::{alice, git, upserts};
use windlass_git_store::{ChangeSet, Config, Expect, FlushObjects, ObjectId, Store};
use windlass_testkit::fuse::PowerCutFs;

/// The commits of one run: new branches (one in a new directory), per-file and
/// whole-branch writes, deletes, and enough packs for a roll-up (every 8th).
fn run(store: &Store, acknowledged: &mut BTreeMap<String, ObjectId>) {
    for i in 0..11u32 {
        let branch = match i {
            4 | 9 => "team/feature",
            _ => "main",
        };
        let mut change = upserts(
            &format!("commit {i}"),
            &[(&format!("d{}/f{i}.yaml", i % 3), &format!("n: {i}\n"))],
        );
        if i == 6 {
            change = change.delete("d0/f0.yaml").expect("path");
        }
        let expect = match (i % 2, acknowledged.get(branch)) {
            (0, tip) => Expect::Branch(tip.copied()),
            _ => Expect::Files(Default::default()),
        };
        match store.commit(branch, &change, &expect) {
            Ok(outcome) => {
                // A commit whose flush after the branch moved failed landed, but is
                // not known to be durable: it is not counted as acknowledged.
                if outcome.warnings.is_empty() {
                    let id = outcome.commit.expect("a commit");
                    acknowledged.insert(branch.to_owned(), id);
                } else {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// `git fsck --strict` finds nothing wrong (a repository without a branch yet only
/// notes that HEAD is unborn and that there are no references).
fn assert_consistent(dir: &Path, context: &str) {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fsck", "--strict", "--no-progress"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git fsck runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let unexpected: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            !l.starts_with("notice: HEAD points to an unborn branch")
                && !l.starts_with("notice: No default references")
        })
        .collect();
    assert!(
        output.status.success() && unexpected.is_empty(),
        "{context}: git fsck --strict: {}{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
}

struct Round {
    operations: u64,
    acknowledged: BTreeMap<String, ObjectId>,
}

/// Loads `base`, mounts it, runs the commits with the power cut after `cut` operations
/// (never, if `None`), and writes what is durable to `after`.
fn round(base: &Path, config: &Config, cut: Option<u64>, after: &Path) -> Round {
    let fs = PowerCutFs::load(base).expect("load the base repository");
    let mnt = tempfile::tempdir().expect("mount point");
    let mounted = fs.mount(mnt.path()).unwrap_or_else(|e| {
        panic!("mounting the power-cut file system (needs /dev/fuse; apt-get install fuse3): {e}")
    });
    if let Some(n) = cut {
        fs.cut_power_after(n);
    }
    let mut acknowledged = BTreeMap::new();
    {
        let store = Store::open(mnt.path(), config.clone()).expect("open on the mount");
        run(&store, &mut acknowledged);
    }
    let operations = fs.operations();
    mounted.unmount().expect("unmount");
    fs.write_durable(after).expect("the durable state");
    Round {
        operations,
        acknowledged,
    }
}

/// One power-cut run at a time in a process. Under `cargo test` the tests are
/// threads of one process, and a child one of them forks (`git fsck`, `fusermount3`)
/// inherits, until it execs, the files another holds open on its mount, whose
/// unmount then fails with `EBUSY`.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn cut_everywhere(flush: Option<FlushObjects>, stride: u64) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().join("base");
    Store::init(&base, true, Config::default()).expect("init");
    let config = Config {
        durable: flush.is_some(),
        flush_objects: flush.unwrap_or_default(),
        maintenance_interval: None,
        ..Config::default()
    };
    // A run without a cut: how many operations there are to cut after.
    let full = round(&base, &config, None, &dir.path().join("full"));
    assert_eq!(full.acknowledged.len(), 2, "both branches committed");
    assert!(full.operations > 50, "{} operations", full.operations);
    let mut n = 0;
    while n <= full.operations {
        let after = dir.path().join(format!("after-{n}"));
        let cut = round(&base, &config, Some(n), &after);
        let context = format!(
            "{flush:?}, power cut after {n} of {} operations",
            full.operations
        );
        assert_consistent(&after, &context);
        let store = Store::open(&after, config.clone()).expect("reopen after the cut");
        if flush.is_some() {
            for (branch, id) in &cut.acknowledged {
                let tip = store
                    .tip(branch)
                    .expect("tip")
                    .unwrap_or_else(|| panic!("{context}: {branch} is gone"));
                let is_ancestor = Command::new("git")
                    .arg("-C")
                    .arg(&after)
                    .args([
                        "merge-base",
                        "--is-ancestor",
                        &id.to_string(),
                        &tip.to_string(),
                    ])
                    .status()
                    .expect("git runs");
                assert!(
                    is_ancestor.success(),
                    "{context}: acknowledged commit {id} is not on {branch} ({tip})"
                );
            }
        }
        // The store goes on: a lock a cut left behind is stale (nothing runs after a
        // reboot), which is what the documented repair is for.
        store.remove_stale_locks().expect("repair");
        let tip = store.tip("main").expect("tip");
        let change = ChangeSet::new(alice(), "after the cut")
            .upsert("after.yaml", "x")
            .expect("path");
        store
            .commit("main", &change, &Expect::Branch(tip))
            .unwrap_or_else(|e| panic!("{context}: a commit after the cut: {e}"));
        drop(store);
        assert_consistent(&after, &context);
        git(&after, &["rev-parse", "main"]);
        std::fs::remove_dir_all(&after).expect("clean up");
        n += stride;
    }
}

#[test]
fn a_power_cut_anywhere_loses_no_durable_commit_flushing_with_syncfs() {
    cut_everywhere(Some(FlushObjects::FileSystem), 1);
}

#[test]
fn a_power_cut_anywhere_loses_no_durable_commit_flushing_file_by_file() {
    cut_everywhere(Some(FlushObjects::Files), 1);
}

#[test]
fn a_power_cut_anywhere_leaves_a_consistent_repository_without_durability() {
    cut_everywhere(None, 3);
}
