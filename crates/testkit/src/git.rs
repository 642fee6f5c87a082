//! `git` as the tests' oracle and fixture builder.

use std::path::Path;
use std::process::Command;

/// Runs `git` in `dir` with no system or user configuration (the tests' own settings
/// only) and returns its standard output; panics with its stderr on failure, or with
/// how to install git when it is missing.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap_or_else(|e| panic!("git is required for these tests (apt-get install git): {e}"));
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}
