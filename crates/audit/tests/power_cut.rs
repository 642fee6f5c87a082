//! Power cuts: the log appends from concurrent writers on a file system that loses
//! everything not flushed (`windlass_testkit::fuse`), and the power is cut after the
//! N-th file-system operation, for every N over a whole run (creating the file, every
//! group commit). After each cut the log reopens from what is durable, its chain
//! holds, every acknowledged record is there with its content, and it appends again.
//!
//! Needs `/dev/fuse` and `fusermount3` (Debian's `fuse3`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use windlass_audit::{ApiCall, ApiLog, redact};
use windlass_testkit::fuse::PowerCutFs;

const WRITERS: u64 = 4;
const PER_WRITER: u64 = 6;

fn call(writer: u64, i: u64) -> ApiCall {
    ApiCall {
        time: format!("2026-12-03T10:{writer:02}:{i:02}Z"),
        user: Some(format!("writer{writer}")),
        operation: "syncApplication".into(),
        variables: serde_json::json!({"name": format!("app-{i}"), "token": "secret"}),
        target: Some(format!("Application/team/app-{i}")),
        decision: "allowed".into(),
        outcome: "success".into(),
        duration_ms: writer * 100 + i,
        commit: Some(format!("{:040x}", writer * 100 + i)),
        ..ApiCall::default()
    }
}

struct Round {
    operations: u64,
    /// seq → the call acknowledged under it (redacted, as stored).
    acknowledged: BTreeMap<u64, ApiCall>,
}

/// Loads `base`, mounts it, appends from [`WRITERS`] threads with the power cut after
/// `cut` operations (never, if `None`), and writes what is durable to `after`.
fn round(base: &Path, cut: Option<u64>, after: &Path) -> Round {
    let fs = PowerCutFs::load(base).expect("load the base directory");
    let mnt = tempfile::tempdir().expect("mount point");
    let mounted = fs.mount(mnt.path()).unwrap_or_else(|e| {
        panic!("mounting the power-cut file system (needs /dev/fuse; apt-get install fuse3): {e}")
    });
    if let Some(n) = cut {
        fs.cut_power_after(n);
    }
    let acknowledged = Mutex::new(BTreeMap::new());
    // Opening creates the file: a cut may fail it too.
    if let Ok(log) = ApiLog::open(&mnt.path().join("audit.redb")) {
        std::thread::scope(|s| {
            for w in 0..WRITERS {
                let (log, acknowledged) = (&log, &acknowledged);
                s.spawn(move || {
                    for i in 0..PER_WRITER {
                        let Ok(seq) = log.append(call(w, i)) else {
                            return;
                        };
                        let mut stored = call(w, i);
                        stored.variables = redact::redact(&stored.variables);
                        acknowledged
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(seq, stored);
                    }
                });
            }
        });
    }
    let operations = fs.operations();
    mounted.unmount().expect("unmount");
    fs.write_durable(after).expect("the durable state");
    Round {
        operations,
        acknowledged: acknowledged.into_inner().unwrap_or_else(|e| e.into_inner()),
    }
}

#[test]
fn a_power_cut_anywhere_loses_no_acknowledged_record_and_the_chain_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().join("base");
    std::fs::create_dir(&base).expect("base");
    // A run without a cut: how many operations there are to cut after.
    let full = round(&base, None, &dir.path().join("full"));
    assert_eq!(full.acknowledged.len() as u64, WRITERS * PER_WRITER);
    assert!(full.operations > 20, "{} operations", full.operations);
    let mut cut_short = 0;
    for n in 0..=full.operations {
        let after = dir.path().join(format!("after-{n}"));
        let cut = round(&base, Some(n), &after);
        let context = format!("power cut after {n} of {} operations", full.operations);
        if cut.acknowledged.len() < full.acknowledged.len() {
            cut_short += 1;
        }
        let path = after.join("audit.redb");
        if !path.exists() {
            assert!(
                cut.acknowledged.is_empty(),
                "{context}: the log file is gone"
            );
            continue;
        }
        let log = ApiLog::open(&path).unwrap_or_else(|e| panic!("{context}: reopen: {e}"));
        assert_eq!(
            log.verify().expect("verify"),
            None,
            "{context}: the chain holds"
        );
        let stored: BTreeMap<u64, ApiCall> = log
            .read(1, 1000)
            .expect("read")
            .into_iter()
            .map(|r| (r.seq, r.call))
            .collect();
        for (seq, call) in &cut.acknowledged {
            assert_eq!(
                stored.get(seq),
                Some(call),
                "{context}: acknowledged record {seq}"
            );
        }
        let next = log
            .append(call(99, 0))
            .unwrap_or_else(|e| panic!("{context}: append after the cut: {e}"));
        assert_eq!(next, stored.len() as u64 + 1, "{context}: no gap");
        assert_eq!(log.verify().expect("verify"), None, "{context}: after");
        drop(log);
        std::fs::remove_dir_all(&after).expect("clean up");
    }
    assert!(cut_short > 0, "some cuts landed before the last append");
}
