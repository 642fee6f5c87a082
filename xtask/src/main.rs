//! `cargo xtask`: the project's build driver.
//!
//! - `cargo xtask ci`: everything CI checks, failing fast with the name of the failed step;
//! - `cargo xtask test`: the tests (cargo-nextest when installed, else `cargo test`;
//!   `XTASK_TEST_RUNNER=cargo` forces the latter) and doc tests, never the benchmarks;
//! - `cargo xtask crds [--check]`: writes `deploy/crds/` from the typed kinds, or checks it;
//! - `cargo xtask bench [name] [-- args]`: the benchmarks (all, or the one named), each
//!   writing its JSON summary to `target/bench/<name>.json`;
//! - `cargo xtask fuzz [--seconds N] [--seed HEX]`: raw requests against the embedded
//!   cluster for a while (default 60 s, a fresh seed), failing on any panic or 5xx.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

mod test;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["ci"] => ci(),
        ["test", rest @ ..] => test::run(rest),
        ["crds"] => crds(false),
        ["crds", "--check"] => crds(true),
        ["bench"] => bench(None, &[]),
        ["bench", "--", rest @ ..] => bench(None, rest),
        ["bench", name] => bench(Some(name), &[]),
        ["bench", name, "--", rest @ ..] => bench(Some(name), rest),
        ["fuzz", rest @ ..] => fuzz(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask ci | test [filter...] | crds [--check] | bench [name] [-- args] | fuzz [--seconds N] [--seed HEX]"
            );
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("xtask: {e:#}");
        std::process::exit(1);
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_owned()
}

/// Runs one named step; its failure ends the run with a line naming the step.
fn step(name: &str, program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    step_in(&root(), name, program, args, env)
}

/// [`step`] in `dir`.
fn step_in(
    dir: &Path,
    name: &str,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<()> {
    eprintln!("xtask: step `{name}`: {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .status()
        .with_context(|| format!("step `{name}`: cannot run {program}"))?;
    if !status.success() {
        bail!(
            "step `{name}` FAILED ({status}): {program} {}",
            args.join(" ")
        );
    }
    Ok(())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn ci() -> Result<()> {
    let cargo = cargo();
    step("fmt", &cargo, &["fmt", "--all", "--check"], &[])?;
    step(
        "clippy",
        &cargo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    test::run(&[])?;
    step(
        "doc",
        &cargo,
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    eprintln!("xtask: step `crds --check`");
    crds(true).context("step `crds --check` FAILED")?;
    eprintln!("xtask: ci passed");
    Ok(())
}

/// The benchmarks: name, package, `[[bench]]` target.
const BENCHES: &[(&str, &str, &str)] = &[
    ("git-store", "windlass-git-store", "git_store"),
    (
        "embedded-cluster",
        "windlass-embedded-cluster",
        "embedded_cluster",
    ),
    ("reconciler", "windlass-reconciler", "reconciler"),
    ("audit", "windlass-audit", "audit"),
];

/// `CARGO_TARGET_DIR` made absolute (cargo reads it relative to the workspace root,
/// where the steps run), or `<workspace>/target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// Runs the benchmarks (release, through the bench profile); `args` go to the harness.
fn bench(name: Option<&str>, args: &[&str]) -> Result<()> {
    let selected: Vec<_> = BENCHES
        .iter()
        .filter(|(bench, ..)| name.is_none_or(|name| name == *bench))
        .collect();
    if selected.is_empty() {
        let known: Vec<&str> = BENCHES.iter().map(|(name, ..)| *name).collect();
        bail!(
            "no benchmark named `{}`; known: {}",
            name.unwrap_or_default(),
            known.join(", ")
        );
    }
    let cargo = cargo();
    let target = target_dir();
    let target_env = target.to_string_lossy().into_owned();
    let targets: Vec<&str> = selected.iter().map(|(_, _, target)| *target).collect();
    // Only pinned when set: an absolute path keeps a relative setting meaning the
    // same to cargo and to the harness (which runs in its crate's directory).
    let env: &[(&str, &str)] = if std::env::var_os("CARGO_TARGET_DIR").is_some() {
        &[("CARGO_TARGET_DIR", target_env.as_str())]
    } else {
        &[]
    };
    let names: Vec<&str> = selected.iter().map(|(name, ..)| *name).collect();
    let started = std::time::SystemTime::now();
    step(
        &format!("bench {}", names.join(", ")),
        &cargo,
        &bench_cargo_args(&targets, args),
        env,
    )?;
    // `<name>.json`, or `<name>-<variant>.json` when harness options ask for a variant.
    let dir = target.join("bench");
    for name in names {
        let written: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                let file = path.file_name().unwrap_or_default().to_string_lossy();
                file.starts_with(name)
                    && file.ends_with(".json")
                    && std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .is_ok_and(|modified| modified >= started)
            })
            .collect();
        if written.is_empty() {
            if args.is_empty() {
                bail!(
                    "benchmark `{name}` ran but wrote no summary in {}",
                    dir.display()
                );
            }
            eprintln!("xtask: bench {name}: no summary written (harness options {args:?})");
        }
        for json in written {
            eprintln!("xtask: bench {name}: summary in {}", json.display());
        }
    }
    Ok(())
}

/// One `cargo bench` for the `[[bench]]` targets asked for. Every bench package is
/// selected whichever targets run, so cargo resolves one feature set for them all and
/// builds the dependencies once for every benchmark, alone or together; `args` go to
/// each harness.
fn bench_cargo_args<'a>(targets: &[&'a str], args: &[&'a str]) -> Vec<&'a str> {
    let mut cargo_args = vec!["bench"];
    for (_, package, _) in BENCHES {
        cargo_args.extend(["-p", package]);
    }
    for target in targets {
        cargo_args.extend(["--bench", target]);
    }
    if !args.is_empty() {
        cargo_args.push("--");
        cargo_args.extend(args);
    }
    cargo_args
}

fn crds(check: bool) -> Result<()> {
    let dir = root().join("deploy/crds");
    let wanted = windlass_entity_model::crd::manifests();
    let mut stale = Vec::new();
    if !check {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for (file, text) in &wanted {
        let path = dir.join(file);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() != Some(text.as_str()) {
            if check {
                stale.push(format!("deploy/crds/{file}"));
            } else {
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("xtask: wrote deploy/crds/{file}");
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !wanted.iter().any(|(file, _)| *file == name) {
                if check {
                    stale.push(format!("deploy/crds/{name} (no kind has it)"));
                } else {
                    std::fs::remove_file(entry.path())?;
                    eprintln!("xtask: removed deploy/crds/{name}");
                }
            }
        }
    }
    if !stale.is_empty() {
        bail!(
            "CRDs are stale, run `cargo xtask crds`:\n  {}",
            stale.join("\n  ")
        );
    }
    Ok(())
}

/// Runs the embedded cluster's request fuzzer (`crates/embedded-cluster/tests/fuzz.rs`)
/// for a while with a seed that differs run to run (printed, so a failure can be
/// replayed with `--seed`).
fn fuzz(args: &[&str]) -> Result<()> {
    let mut seconds = "60".to_owned();
    let mut seed = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--seconds" => {
                let n = rest.next().context("--seconds needs a number")?;
                n.parse::<u64>()
                    .with_context(|| format!("--seconds {n}: not a number"))?;
                seconds = (*n).to_owned();
            }
            "--seed" => {
                let s = rest.next().context("--seed needs a hexadecimal number")?;
                u64::from_str_radix(s.trim_start_matches("0x"), 16)
                    .with_context(|| format!("--seed {s}: not a hexadecimal number"))?;
                seed = Some((*s).to_owned());
            }
            other => bail!("fuzz: unknown argument `{other}` (--seconds N, --seed HEX)"),
        }
    }
    let seed = match seed {
        Some(s) => s,
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("clock before 1970")?;
            format!(
                "{:x}",
                now.as_nanos() as u64 ^ u64::from(std::process::id())
            )
        }
    };
    eprintln!(
        "xtask: fuzz for {seconds} s with seed {seed} (replay: cargo xtask fuzz --seed {seed})"
    );
    step(
        "fuzz",
        &cargo(),
        &[
            "test",
            "-p",
            "windlass-embedded-cluster",
            "--test",
            "fuzz",
            "--",
            "--nocapture",
        ],
        &[
            ("WINDLASS_FUZZ_SECONDS", seconds.as_str()),
            ("WINDLASS_FUZZ_SEED", seed.as_str()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Running one benchmark builds with the same packages selected as running all of
    /// them, so neither rebuilds the dependencies for the other.
    #[test]
    fn benches_share_one_cargo_invocation_and_feature_set() {
        let packages = |args: &[&str]| -> Vec<String> {
            args.windows(2)
                .filter(|w| w[0] == "-p")
                .map(|w| w[1].to_owned())
                .collect()
        };
        let all: Vec<&str> = BENCHES.iter().map(|(_, _, target)| *target).collect();
        let every = bench_cargo_args(&all, &[]);
        let one = bench_cargo_args(&["reconciler"], &["--quick"]);
        assert_eq!(packages(&every), packages(&one));
        assert_eq!(packages(&every).len(), BENCHES.len());
        assert_eq!(
            every.iter().filter(|a| **a == "--bench").count(),
            BENCHES.len()
        );
        assert_eq!(
            one.iter().filter(|a| **a == "--bench").count(),
            1,
            "only the asked-for target runs"
        );
        assert_eq!(one[one.len() - 2..], ["--", "--quick"]);
    }
}
