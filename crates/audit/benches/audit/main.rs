//! `cargo xtask bench audit`: the audit crate measured side by side against `git`.
//!
//! In one run:
//!
//! - [`index`]: a synthetic config repository of 100,000 commits by 50 authors is
//!   indexed whole (against `git log --raw --no-renames` over the same repository),
//!   then one new commit at a time (incremental p50); queries by entity, by user and by
//!   time range (p99) against `git log --author=... -- <path>`;
//! - [`log`]: API-log appends with the hash chain and durability on from 16 concurrent
//!   writers (records/s, and records lost: every acknowledged record read back), and
//!   `verify` over 1,000,000 records.
//!
//! Prints a table and writes every figure, goal and verdict to
//! `<target>/bench/audit.json`; the top-level keys `index_speedup_vs_git_log`,
//! `query_p99_ms`, `query_speedup_vs_git_log`, `append_per_s`, `lost_records` and
//! `verify_per_s` are the figures. Every loop is bounded in count and time.
//!
//! Options (after `--`): `--quick` runs a small version, for working on the harness
//! (its summary goes to `audit-quick.json`); `--only index|log` runs one part and
//! prints its figures without writing the summary.

mod index;
mod log;

use serde_json::{Value, json};
use windlass_testkit::bench;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// What a part measured: its figures (merged into the summary's top level) and goals.
pub struct Part {
    /// A JSON object of figures.
    pub figures: Value,
    /// Goals, as [`bench::goal`] and [`bench::check`] make them.
    pub goals: Vec<Value>,
}

const PARTS: [&str; 2] = ["index", "log"];

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`, which is ignored like anything not known.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = match args.iter().position(|a| a == "--only") {
        Some(at) => match args.get(at + 1) {
            Some(part) if PARTS.contains(&part.as_str()) => Some(part.clone()),
            _ => return Err(format!("--only takes one of {}", PARTS.join(", ")).into()),
        },
        None => None,
    };
    let run = |name: &str| -> Result<Part> {
        eprintln!("bench audit: {name}");
        match name {
            "index" => index::run(quick),
            _ => log::run(quick),
        }
    };
    if let Some(part) = only {
        let part = run(&part)?;
        println!("{}", serde_json::to_string_pretty(&part.figures)?);
        println!("{}", bench::goals_table(&part.goals));
        return Ok(());
    }
    let mut summary = json!({
        "benchmark": "audit",
        "scale": if quick { "quick" } else { "full" },
        "machine": bench::machine(),
    });
    let mut goals = Vec::new();
    for name in PARTS {
        let part = run(name)?;
        if let (Some(into), Some(from)) = (summary.as_object_mut(), part.figures.as_object()) {
            into.extend(from.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        goals.extend(part.goals);
    }
    println!("{}", bench::goals_table(&goals));
    summary["all_goals_met"] = json!(bench::all_goals_met(&goals));
    summary["goals"] = Value::Array(goals);
    let file = bench::write_summary(if quick { "audit-quick" } else { "audit" }, &summary)?;
    println!("\nwrote {}", file.display());
    Ok(())
}
