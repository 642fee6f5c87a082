//! A `git` running beside the store: its lock files are never removed by the store,
//! which waits for them and then fails naming the file, as Git itself does.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{assert_fsck_clean, git, upserts};
use windlass_git_store::{Config, Error, Expect, Store};

/// A `git update-ref --stdin` transaction that has prepared (locked) an update of
/// `refs/heads/main` and holds the lock until told to commit.
struct GitHoldingMain {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl GitHoldingMain {
    fn start(dir: &std::path::Path, new: &str, old: &str) -> GitHoldingMain {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["update-ref", "--stdin"])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("git is required for these tests (apt-get install git): {e}")
            });
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut held = GitHoldingMain {
            child,
            stdin,
            stdout,
        };
        held.say(&format!(
            "start\nupdate refs/heads/main {new} {old}\nprepare\n"
        ));
        held.expect("start: ok");
        held.expect("prepare: ok");
        held
    }

    fn say(&mut self, text: &str) {
        self.stdin.write_all(text.as_bytes()).expect("git reads");
        self.stdin.flush().expect("git reads");
    }

    fn expect(&mut self, line: &str) {
        let mut got = String::new();
        self.stdout.read_line(&mut got).expect("git answers");
        assert_eq!(got.trim(), line);
    }

    fn commit(mut self) {
        self.say("commit\n");
        self.expect("commit: ok");
        drop(self.stdin);
        assert!(self.child.wait().expect("git ends").success());
    }
}

#[test]
fn a_lock_held_by_git_update_ref_makes_the_commit_wait_then_fail_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        ref_lock_timeout: Duration::from_millis(300),
        ..Config::default()
    };
    let store = Store::init(dir.path(), true, config.clone()).expect("init");
    let first = store
        .commit(
            "main",
            &upserts("first", &[("a", "1")]),
            &Expect::Branch(None),
        )
        .expect("first")
        .commit
        .expect("a commit");
    drop(store);
    // A commit by git, not yet on the branch: git is about to move main to it.
    let by_git = git(
        dir.path(),
        &[
            "-c",
            "user.name=Git",
            "-c",
            "user.email=git@example.com",
            "commit-tree",
            "-p",
            "main",
            "-m",
            "by git",
            "main^{tree}",
        ],
    );
    let by_git = by_git.trim();
    let held = GitHoldingMain::start(dir.path(), by_git, &first.to_string());
    let lock = dir.path().join("refs/heads/main.lock");
    assert!(lock.exists(), "git holds the lock");

    // A store opened now (taking the writer lock for the first time) leaves git's lock
    // alone: the commit waits for it, then fails naming it. Nothing is written.
    let store = Store::open(dir.path(), config).expect("open");
    let err = store
        .commit(
            "main",
            &upserts("while git holds main", &[("b", "2")]),
            &Expect::Files(Default::default()),
        )
        .expect_err("the lock is held");
    match &err {
        Error::LockHeld { path, waited } => {
            assert_eq!(path, &lock);
            assert!(*waited >= Duration::from_millis(300), "{waited:?}");
        }
        other => panic!("expected LockHeld, got {other}"),
    }
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "Unable to create '{}': File exists",
            lock.display()
        )),
        "{message}"
    );
    assert!(lock.exists(), "git's lock is still there");
    assert_eq!(
        git(dir.path(), &["rev-parse", "main"]).trim(),
        first.to_string()
    );

    // Git's update goes through; the store's next commit lands on top of it.
    held.commit();
    assert_eq!(git(dir.path(), &["rev-parse", "main"]).trim(), by_git);
    let ours = store
        .commit(
            "main",
            &upserts("after git", &[("b", "2")]),
            &Expect::Files(Default::default()),
        )
        .expect("git let go");
    assert_eq!(
        ours.parent.map(|p| p.to_string()).as_deref(),
        Some(by_git),
        "built on git's commit"
    );
    assert_fsck_clean(dir.path());
}

#[test]
fn a_commit_waiting_for_git_goes_on_once_git_lets_go() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        ref_lock_timeout: Duration::from_secs(120),
        ..Config::default()
    };
    let store = Store::init(dir.path(), true, config).expect("init");
    let first = store
        .commit(
            "main",
            &upserts("first", &[("a", "1")]),
            &Expect::Branch(None),
        )
        .expect("first")
        .commit
        .expect("a commit");
    let held = GitHoldingMain::start(dir.path(), &first.to_string(), &first.to_string());
    let waiting = {
        let store = store.clone();
        std::thread::spawn(move || {
            store.commit(
                "main",
                &upserts("waits for git", &[("b", "2")]),
                &Expect::Branch(Some(first)),
            )
        })
    };
    held.commit();
    let outcome = waiting
        .join()
        .expect("no panic")
        .expect("the commit lands once git let go");
    assert_eq!(outcome.parent, Some(first));
    assert_eq!(
        git(dir.path(), &["rev-parse", "main"]).trim(),
        outcome.commit.expect("a commit").to_string()
    );
}

#[test]
fn a_stale_lock_stays_until_the_explicit_repair() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        ref_lock_timeout: Duration::from_millis(50),
        ..Config::default()
    };
    let store = Store::init(dir.path(), true, config.clone()).expect("init");
    let first = store
        .commit(
            "main",
            &upserts("first", &[("a", "1")]),
            &Expect::Branch(None),
        )
        .expect("first")
        .commit;
    drop(store);
    // What a `git` killed in the middle of an update leaves behind.
    let lock = dir.path().join("refs/heads/main.lock");
    std::fs::write(&lock, format!("{}\n", first.expect("a commit"))).expect("lock");
    let packed_lock = dir.path().join("packed-refs.lock");
    std::fs::write(&packed_lock, "").expect("lock");

    let store = Store::open(dir.path(), config).expect("open");
    let change = upserts("second", &[("b", "2")]);
    for _ in 0..2 {
        let err = store
            .commit("main", &change, &Expect::Branch(first))
            .expect_err("locked");
        assert!(
            matches!(&err, Error::LockHeld { path, .. } if *path == lock),
            "{err}"
        );
    }
    let mut removed = store.remove_stale_locks().expect("repair");
    removed.sort();
    assert_eq!(removed, vec![packed_lock, lock.clone()]);
    store
        .commit("main", &change, &Expect::Branch(first))
        .expect("after the repair");
    assert!(!lock.exists());
    assert_fsck_clean(dir.path());
}
