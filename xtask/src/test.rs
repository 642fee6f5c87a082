//! `cargo xtask test`: the workspace's tests and doc tests — never its benchmarks, which
//! are `harness = false` programs that `cargo xtask bench` runs.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

/// What runs the tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runner {
    /// `cargo nextest run`: each test in a process of its own.
    Nextest,
    /// `cargo test`: a test binary's tests as threads of one process.
    CargoTest,
}

impl Runner {
    /// cargo-nextest when installed, unless `XTASK_TEST_RUNNER=cargo` asks for `cargo test`
    /// (what a machine without cargo-nextest runs).
    fn pick() -> Runner {
        let forced = std::env::var("XTASK_TEST_RUNNER").is_ok_and(|r| r == "cargo");
        let nextest = || {
            Command::new(crate::cargo())
                .args(["nextest", "--version"])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !forced && nextest() {
            Runner::Nextest
        } else {
            Runner::CargoTest
        }
    }
}

/// The workspace's tests whose names contain one of `filters` (all without filters).
pub fn run(filters: &[&str]) -> Result<()> {
    let runner = Runner::pick();
    if runner == Runner::CargoTest {
        eprintln!(
            "xtask: running the tests with cargo test (cargo-nextest is not installed or XTASK_TEST_RUNNER=cargo)"
        );
    }
    run_in(&crate::root(), runner, filters, &[])
}

/// The tests of the workspace in `dir`, with `env` added to cargo's environment.
pub fn run_in(dir: &Path, runner: Runner, filters: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let cargo = crate::cargo();
    // The targets nextest runs by default: libraries, binaries, integration tests,
    // examples. Not `--all-targets`: that would run every benchmark as a test.
    let mut args = match runner {
        Runner::Nextest => vec!["nextest", "run", "--workspace", "--no-fail-fast"],
        Runner::CargoTest => vec![
            "test",
            "--workspace",
            "--no-fail-fast",
            "--lib",
            "--bins",
            "--tests",
            "--examples",
        ],
    };
    if !filters.is_empty() {
        if runner == Runner::CargoTest {
            args.push("--");
        }
        args.extend(filters);
    }
    crate::step_in(dir, "test", &cargo, &args, env)?;
    crate::step_in(
        dir,
        "doctest",
        &cargo,
        &["test", "--workspace", "--doc"],
        env,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace with one test and one benchmark that fails whenever it runs.
    fn workspace_with_a_benchmark() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
            std::fs::write(path, text).expect("write");
        };
        write(
            "Cargo.toml",
            "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [workspace]\n\n[[bench]]\nname = \"slow\"\nharness = false\n",
        );
        write(
            "src/lib.rs",
            "//! A fixture.\n\n/// Doubles.\n///\n/// ```\n/// assert_eq!(fixture::double(2), 4);\n/// ```\npub fn double(n: u32) -> u32 {\n    n * 2\n}\n\n#[test]\nfn doubles() {\n    assert_eq!(double(3), 6);\n}\n",
        );
        write(
            "benches/slow.rs",
            "fn main() {\n    eprintln!(\"the benchmark ran as a test\");\n    std::process::exit(1);\n}\n",
        );
        dir
    }

    #[test]
    fn cargo_test_runs_the_tests_but_not_the_benchmarks() {
        let workspace = workspace_with_a_benchmark();
        let target = workspace.path().join("target");
        let target = target.to_str().expect("UTF-8 path");
        // A target directory of its own: the one running this test may be locked.
        run_in(
            workspace.path(),
            Runner::CargoTest,
            &[],
            &[("CARGO_TARGET_DIR", target)],
        )
        .expect("the fixture's tests pass and its benchmark is not run");
    }
}
