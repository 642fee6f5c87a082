//! Crash test: a child process committing as fast as it can is SIGKILLed at random
//! points (after a random number of acknowledged commits, somewhere in the next one).
//! After each kill the repository reopens, is fsck-clean, and holds every commit the
//! child acknowledged (it prints each acknowledged id before going on); the next child
//! commits again (a store taking over removes the branch lock the dead one provably
//! left).

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{alice, assert_fsck_clean, git};
use windlass_git_store::{ChangeSet, Config, Expect, Store};

const CHILD_ENV: &str = "WINDLASS_GIT_STORE_CRASH_CHILD";

/// The child: runs only when started by the parent test with the repository in its
/// environment; commits forever and prints each acknowledged commit id.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Store::open(&dir, Config::default()).expect("open");
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let change = ChangeSet::new(alice(), format!("write {i}"))
            .upsert(&format!("d{}/f{}.yaml", i % 7, i % 50), format!("n: {i}\n"))
            .expect("path");
        let outcome = store
            .commit("main", &change, &Expect::Files(BTreeMap::new()))
            .expect("commit");
        if let Some(id) = outcome.commit {
            writeln!(out, "ACK {id}").expect("pipe");
            out.flush().expect("pipe");
        }
    }
}

#[test]
fn sigkill_at_random_points_loses_no_acknowledged_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::init(dir.path(), true, Config::default()).expect("init");
    let first = ChangeSet::new(alice(), "start")
        .upsert("start", "0")
        .expect("path");
    store
        .commit("main", &first, &Expect::Branch(None))
        .expect("first");
    drop(store);

    let exe = std::env::current_exe().expect("test binary");
    let mut acknowledged = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for round in 0..12 {
        // xorshift: a different kill point each round, reproducible run to run.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Killed once it acknowledged this many commits: wherever the next one is then.
        let kill_after = 1 + seed % 40;

        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("child starts");
        let stdout = child.stdout.take().expect("piped");
        let (first_ack, acked) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut ids = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(id) = line.strip_prefix("ACK ")
                    && id.len() == 40
                {
                    ids.push(id.to_owned());
                    let _ = first_ack.send(());
                }
            }
            ids
        });
        // The kill point is counted in acknowledgements (events, not time), so a slow
        // start (a loaded machine) does not turn rounds into kills before any commit.
        for _ in 0..kill_after {
            acked
                .recv_timeout(Duration::from_secs(60))
                .expect("the child acknowledges commits");
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let ids = reader.join().expect("reader");
        acknowledged.extend(ids);

        // The repository reopens, is consistent, and has every acknowledged commit.
        let reopened = Store::open(dir.path(), Config::default()).expect("reopen");
        let tip = reopened.tip("main").expect("tip").expect("main exists");
        assert_fsck_clean(dir.path());
        for id in &acknowledged {
            let status = Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(["merge-base", "--is-ancestor", id, &tip.to_string()])
                .status()
                .expect("git runs");
            assert!(
                status.success(),
                "round {round}: acknowledged commit {id} is not on main"
            );
        }
    }
    assert!(
        acknowledged.len() >= 12,
        "the child should have acknowledged commits in most rounds, got {}",
        acknowledged.len()
    );
    let count: usize = git(dir.path(), &["rev-list", "--count", "main"])
        .trim()
        .parse()
        .expect("count");
    assert!(
        count > acknowledged.len(),
        "{count} commits, {} acknowledged",
        acknowledged.len()
    );
}
