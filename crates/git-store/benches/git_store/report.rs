//! The benchmark's verdict: its goals (figures and correctness checks) and the table.

use serde_json::{Value, json};
use windlass_testkit::bench::{self, f};

use super::Scale;

pub(crate) fn goals(
    commits: &Value,
    reads: &Value,
    history: &Value,
    writers: &Value,
) -> Vec<Value> {
    let goal = bench::goal;
    let p50_off_ms = f(&commits["store_durability_off"], "p50_us") / 1e3;
    let speedup_off = f(commits, "speedup_p50_off_vs_plumbing");
    let speedup_on = f(commits, "speedup_p50_on_vs_best_git");
    let read = f(reads, "speedup_p50_store_vs_cat_file");
    let (cold, warm) = (f(history, "store_cold_ms"), f(history, "store_warm_ms"));
    let rate = f(writers, "commits_per_s");
    let lost = writers["lost_updates"].as_u64().unwrap_or(u64::MAX);
    let clean = writers["conflicts"] == json!(0)
        && writers["errors"] == json!(0)
        && writers["untouched_files_changed"] == json!(0)
        && writers["fsck_connectivity_ok"] == json!(true)
        && writers["commits_on_branch"] == writers["acknowledged"];
    vec![
        goal(
            "commit p50, durability off (ms)",
            "<= 1",
            p50_off_ms,
            p50_off_ms <= 1.0,
        ),
        goal(
            "commit speedup p50, durability off vs git plumbing (x)",
            ">= 20",
            speedup_off,
            speedup_off >= 20.0,
        ),
        goal(
            "commit speedup p50, durability on vs the faster durable git (x)",
            ">= 20",
            speedup_on,
            speedup_on >= 20.0,
        ),
        bench::check(
            "same tree as the git plumbing after the same changes",
            commits["same_tree_as_plumbing"] == json!(true),
        ),
        goal(
            "warm read p50 speedup vs git cat-file --batch (x)",
            ">= 1 (no slower)",
            read,
            read >= 1.0,
        ),
        goal(
            "history of one path, cold store (ms)",
            "<= 100",
            cold,
            cold <= 100.0,
        ),
        goal(
            "history of one path, warm store (ms)",
            "<= 100",
            warm,
            warm <= 100.0,
        ),
        bench::check(
            "history agrees with git log",
            history["agrees_with_git_log"] == json!(true),
        ),
        goal(
            "8 concurrent writers, durability off (commits/s)",
            ">= 2000",
            rate,
            rate >= 2000.0,
        ),
        goal("lost updates", "== 0", lost as f64, lost == 0 && clean),
    ]
}

pub(crate) fn print_table(
    scale: &Scale,
    setup: &Value,
    environment: &Value,
    [commits, reads, history, writers]: [&Value; 4],
    goals: &[Value],
) {
    let lat = |v: &Value| bench::format_summary(v, "us");
    println!();
    println!(
        "git-store benchmark ({}): {} entities in {} directories ({} objects), import in one commit {:.0} ms",
        scale.name,
        setup["entities"],
        setup["directories"],
        setup["base_objects"].as_str().unwrap_or_default(),
        f(setup, "import_one_commit_ms")
    );
    println!(
        "  repositories in {}: creating a file there takes {:.0} µs (p50), deleting one {:.0} µs, an fsync {:.0} µs",
        setup["temp_dir"].as_str().unwrap_or_default(),
        f(environment, "create_file_p50_us"),
        f(environment, "delete_file_p50_us"),
        f(environment, "fsync_p50_us"),
    );
    println!("\nsingle-file commit latency (interleaved rounds)");
    for (label, key) in [
        ("Store::commit, durability off", "store_durability_off"),
        ("Store::commit, durability on", "store_durability_on"),
        ("git plumbing (5 processes)", "git_plumbing"),
        ("git plumbing, fsync committed", "git_plumbing_fsync"),
        (
            "git plumbing, fsync committed, batch",
            "git_plumbing_fsync_batch",
        ),
    ] {
        println!("  {label:<38} {}", lat(&commits[key]));
    }
    println!(
        "  speedup p50: off vs plumbing {:.1}x, on vs plumbing {:.1}x, on vs plumbing+fsync {:.1}x, on vs plumbing+fsync batch {:.1}x",
        f(commits, "speedup_p50_off_vs_plumbing"),
        f(commits, "speedup_p50_on_vs_plumbing"),
        f(commits, "speedup_p50_on_vs_plumbing_fsync"),
        f(commits, "speedup_p50_on_vs_plumbing_fsync_batch"),
    );
    println!(
        "  every variant reached the same tree: {}",
        commits["same_tree_as_plumbing"]
    );
    println!("\nread one entity at HEAD");
    for (label, key) in [
        ("Store::read_file, first read", "store_first_read"),
        ("Store::read_file, warm", "store_warm"),
        ("git cat-file --batch, warm", "git_cat_file_batch_warm"),
    ] {
        println!("  {label:<38} {}", lat(&reads[key]));
    }
    println!(
        "  speedup p50 (warm): {:.1}x",
        f(reads, "speedup_p50_store_vs_cat_file")
    );
    println!(
        "\nhistory of {} over {} commits ({} returned, agrees with git log: {})",
        history["path"].as_str().unwrap_or_default(),
        history["chain_commits"],
        history["commits_returned"],
        history["agrees_with_git_log"],
    );
    println!(
        "  loose objects:  Store::history cold {:>7.1} ms, warm {:>6.1} ms; git log {:>7.1} ms",
        f(history, "store_cold_ms"),
        f(history, "store_warm_ms"),
        f(history, "git_log_ms"),
    );
    let packed = &history["packed"];
    println!(
        "  after repack:   Store::history cold {:>7.1} ms, warm {:>6.1} ms; git log {:>7.1} ms",
        f(packed, "store_cold_ms"),
        f(packed, "store_warm_ms"),
        f(packed, "git_log_ms"),
    );
    println!(
        "  (chain built at {:.0} commits/s through Store::commit)",
        f(history, "chain_build_commits_per_s"),
    );
    println!(
        "\n{} concurrent writers on disjoint files (per-file expectations, durability off)",
        writers["writers"]
    );
    println!(
        "  {} commits in {:.2} s = {:.0} commits/s; latency {}",
        writers["acknowledged"],
        f(writers, "elapsed_s"),
        f(writers, "commits_per_s"),
        lat(&writers["commit_latency_under_contention"]),
    );
    println!(
        "  lost updates {}, conflicts {}, errors {}, retries {}, untouched files changed {}, fsck ok {}",
        writers["lost_updates"],
        writers["conflicts"],
        writers["errors"],
        writers["retries"],
        writers["untouched_files_changed"],
        writers["fsck_connectivity_ok"],
    );
    print!("\n{}", bench::goals_table(goals));
}
