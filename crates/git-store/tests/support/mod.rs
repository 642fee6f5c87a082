//! Helpers shared by the git-store tests: `git` as the oracle.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use windlass_git_store::{ChangeSet, Config, Identity, Store};

#[allow(unused_imports)] // not every test binary runs git
pub use windlass_testkit::git::git;

/// Asserts `git fsck --strict` finds nothing wrong.
pub fn assert_fsck_clean(dir: &Path) {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fsck", "--strict", "--no-progress"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git fsck runs");
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "git fsck --strict: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A bare store in a temporary directory, durability off unless asked.
pub fn temp_store(durable: bool) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        durable,
        ..Config::default()
    };
    let store = Store::init(dir.path(), true, config).expect("init");
    (dir, store)
}

pub fn alice() -> Identity {
    Identity::new("Alice Example", "alice@example.com")
}

/// A change set by Alice upserting `files`.
pub fn upserts(message: &str, files: &[(&str, &str)]) -> ChangeSet {
    let mut change = ChangeSet::new(alice(), message);
    for (path, text) in files {
        change = change.upsert(path, *text).expect("valid path");
    }
    change
}
