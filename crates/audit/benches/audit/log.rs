//! The log part of the audit benchmark (see `main.rs`): appends from 16 concurrent
//! writers with the hash chain and durability on (records/s, latency, and every
//! acknowledged record read back after reopening), then `verify` over 1,000,000
//! records.

use std::time::{Duration, Instant};

use serde_json::json;
use windlass_audit::{ApiCall, ApiLog, redact};
use windlass_testkit::bench;

use crate::{Part, Result};

const WRITERS: u64 = 16;
const IN_FLIGHT: usize = 64;

/// What each writer acknowledged: (its call's index, seq, latency µs).
type Written = Vec<Vec<(u64, u64, f64)>>;

/// [`WRITERS`] writers append `per_writer` calls each (or until `limit`), keeping up
/// to `in_flight` submitted; what was acknowledged, and how long it took.
fn appends(
    log: &ApiLog,
    per_writer: u64,
    limit: Duration,
    in_flight: usize,
) -> Result<(Written, Duration)> {
    let started = Instant::now();
    let written = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                s.spawn(
                    move || -> std::result::Result<Vec<(u64, u64, f64)>, String> {
                        let mut out = Vec::new();
                        let mut window = std::collections::VecDeque::new();
                        let mut i = 0;
                        loop {
                            let more = i < per_writer && started.elapsed() < limit;
                            if window.len() == in_flight || (!more && !window.is_empty()) {
                                let (i, at, pending): (u64, Instant, windlass_audit::Pending) =
                                    window.pop_front().expect("not empty");
                                let seq = pending.wait().map_err(|e| e.to_string())?;
                                out.push((i, seq, bench::us(at.elapsed())));
                            } else if more {
                                window.push_back((i, Instant::now(), log.submit(call(w, i))));
                                i += 1;
                            } else {
                                return Ok(out);
                            }
                        }
                    },
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "a writer panicked".to_string())?)
            .collect::<std::result::Result<Written, String>>()
    })?;
    Ok((written, started.elapsed()))
}

/// A realistic call by one of 50 users on one of 500 applications: three reads
/// (`application`) to one sync that makes a commit; one call in 20 denied.
fn call(writer: u64, i: u64) -> ApiCall {
    let n = writer * 1_000_000 + i;
    let mutation = n.is_multiple_of(4);
    let denied = n % 20 == 7;
    ApiCall {
        time: format!(
            "2026-12-03T{:02}:{:02}:{:02}.{:03}Z",
            (n / 3_600_000) % 24,
            (n / 60_000) % 60,
            (n / 1000) % 60,
            n % 1000
        ),
        user: Some(format!("user{}@example.com", n % 50)),
        auth_method: Some("token".into()),
        client_ip: Some(format!("10.0.{}.{}", writer, i % 250)),
        operation: if mutation {
            "syncApplication"
        } else {
            "application"
        }
        .into(),
        variables: json!({
            "name": format!("app-{}", n % 500),
            "revision": "main",
            "prune": true,
            "gitToken": "ghp_0123456789abcdef",
        }),
        target: Some(format!("Application/team-{}/app-{}", n % 7, n % 500)),
        decision: if denied { "denied" } else { "allowed" }.into(),
        reason: denied.then(|| "no rule grants applications, get".into()),
        outcome: if denied { "error" } else { "success" }.into(),
        error: denied.then(|| "permission denied".into()),
        duration_ms: n % 900,
        correlation_id: Some(format!("req-{writer}-{i}")),
        commit: (mutation && !denied)
            .then(|| format!("{:040x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15))),
    }
}

fn redacted(mut call: ApiCall) -> ApiCall {
    call.variables = redact::redact(&call.variables);
    call
}

/// Runs the part (a small version when `quick`).
pub fn run(quick: bool) -> Result<Part> {
    let dir = tempfile::tempdir()?;
    let (per_writer, limit, verify_records) = if quick {
        (500, Duration::from_secs(10), 50_000)
    } else {
        (10_000, Duration::from_secs(60), 1_000_000)
    };

    // Appends: 16 writers, each call acknowledged once durable; each writer keeps up
    // to IN_FLIGHT calls submitted (an async API server answering many requests).
    let path = dir.path().join("append.redb");
    let log = ApiLog::open(&path)?;
    let (written, elapsed) = appends(&log, per_writer, limit, IN_FLIGHT)?;
    let acknowledged: usize = written.iter().map(Vec::len).sum();
    let append_per_s = acknowledged as f64 / elapsed.as_secs_f64();
    let latency = bench::summary(
        written.iter().flatten().map(|(_, _, us)| *us).collect(),
        "us",
    );
    eprintln!(
        "  appends, {IN_FLIGHT} in flight per writer: {acknowledged} in {:.2} s = {append_per_s:.0}/s; latency {}",
        elapsed.as_secs_f64(),
        bench::format_summary(&latency, "us")
    );
    // The same with one call at a time per writer (bound by fsyncs: 16 per commit).
    let sync_log = ApiLog::open(&dir.path().join("append-sync.redb"))?;
    let (sync_written, sync_elapsed) = appends(&sync_log, per_writer / 4, limit / 4, 1)?;
    drop(sync_log);
    let sync_acknowledged: usize = sync_written.iter().map(Vec::len).sum();
    let append_sync_per_s = sync_acknowledged as f64 / sync_elapsed.as_secs_f64();
    let sync_latency = bench::summary(
        sync_written
            .iter()
            .flatten()
            .map(|(_, _, us)| *us)
            .collect(),
        "us",
    );
    eprintln!(
        "  appends, one at a time per writer: {sync_acknowledged} in {:.2} s = {append_sync_per_s:.0}/s; latency {}",
        sync_elapsed.as_secs_f64(),
        bench::format_summary(&sync_latency, "us")
    );

    // Every acknowledged record, read back after reopening, holds what was appended.
    drop(log);
    let log = ApiLog::open(&path)?;
    let stored = log.read(1, usize::MAX)?;
    let mut lost = 0u64;
    for (w, records) in written.iter().enumerate() {
        for &(i, seq, _) in records {
            let expected = redacted(call(w as u64, i));
            let found = usize::try_from(seq - 1)
                .ok()
                .and_then(|at| stored.get(at))
                .filter(|r| r.seq == seq && r.call == expected);
            if found.is_none() {
                lost += 1;
            }
        }
    }
    let append_chain_holds = log.verify()?.is_none();
    drop(log);
    eprintln!("  lost records: {lost}; chain holds: {append_chain_holds}");

    // Verify: a log of `verify_records` built in batches, then walked.
    let path = dir.path().join("verify.redb");
    let log = ApiLog::open(&path)?;
    let started = Instant::now();
    let batch = 10_000;
    let mut n = 0;
    while n < verify_records {
        let calls = (n..n + batch).map(|i| call(i % WRITERS, i)).collect();
        log.append_batch(calls)?;
        n += batch;
    }
    let build_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let broken = log.verify()?;
    let verify_s = started.elapsed().as_secs_f64();
    let verify_per_s = verify_records as f64 / verify_s;
    let file_bytes = std::fs::metadata(&path)?.len();
    eprintln!(
        "  verify: {verify_records} records ({:.0} MB, built in {build_s:.1} s) in {verify_s:.2} s = {verify_per_s:.0}/s; broken: {broken:?}",
        file_bytes as f64 / 1e6
    );

    let figures = json!({
        "append_writers": WRITERS,
        "append_records": acknowledged,
        "append_s": elapsed.as_secs_f64(),
        "append_in_flight_per_writer": IN_FLIGHT,
        "append_per_s": append_per_s,
        "append_latency": latency,
        "append_sync_records": sync_acknowledged,
        "append_sync_per_s": append_sync_per_s,
        "append_sync_latency": sync_latency,
        "lost_records": lost,
        "append_chain_holds": append_chain_holds,
        "verify_records": verify_records,
        "verify_file_bytes": file_bytes,
        "verify_build_s": build_s,
        "verify_s": verify_s,
        "verify_per_s": verify_per_s,
    });
    let goals = vec![
        bench::goal(
            "API-log appends/s, 16 writers (64 calls in flight each), chain + durability on",
            ">= 20000",
            append_per_s,
            append_per_s >= 20_000.0,
        ),
        bench::goal(
            "API-log records lost (acknowledged, then missing or changed after reopening)",
            "== 0",
            lost as f64,
            lost == 0,
        ),
        bench::check(
            "API-log chain holds after the concurrent appends",
            append_chain_holds,
        ),
        bench::goal(
            &format!("API-log verify records/s over {verify_records} records"),
            ">= 500000",
            verify_per_s,
            verify_per_s >= 500_000.0,
        ),
        bench::check(
            "API-log verify finds the built log intact",
            broken.is_none(),
        ),
    ];
    Ok(Part { figures, goals })
}
