//! Retention: the oldest records dropped by count or age in one transaction, the chain
//! anchored across the cut, and tampering with what is left still caught.

use std::path::Path;
use std::time::Duration;

use redb::{Database, ReadableTable, TableDefinition};
use ring::signature::KeyPair;
use windlass_audit::{ApiCall, ApiLog, Record, Retention};

const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

fn call(time: &str, i: u64) -> ApiCall {
    ApiCall {
        time: time.to_owned(),
        user: Some(format!("user{i}")),
        operation: "syncApplication".into(),
        decision: "allowed".into(),
        outcome: "success".into(),
        duration_ms: i,
        ..ApiCall::default()
    }
}

fn new_key() -> ring::signature::Ed25519KeyPair {
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
        .expect("a key");
    ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("the key")
}

/// Edits the stored records and meta of the log at `path` behind its back.
fn tamper(
    path: &Path,
    edit: impl FnOnce(&mut redb::Table<u64, &[u8]>, &mut redb::Table<&str, &str>),
) {
    let db = Database::create(path).expect("open the file");
    let tx = db.begin_write().expect("tx");
    {
        let mut records = tx.open_table(RECORDS).expect("records");
        let mut meta = tx.open_table(META).expect("meta");
        edit(&mut records, &mut meta);
    }
    tx.commit().expect("commit");
}

fn seqs(log: &ApiLog) -> Vec<u64> {
    log.read(0, 1000)
        .expect("read")
        .iter()
        .map(|r| r.seq)
        .collect()
}

#[test]
fn keeping_the_newest_records_anchors_the_chain_and_checkpoints_still_hold() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("audit.redb");
    let key = new_key();
    let public = key.public_key().as_ref().to_vec();
    let log = ApiLog::open(&path).expect("open");
    let mut checkpoints = Vec::new();
    for i in 1..=10 {
        log.append(call("2026-12-03T10:00:00Z", i)).expect("append");
        if [3, 6, 8].contains(&i) {
            checkpoints.push(log.checkpoint(&key).expect("sign").expect("a head"));
        }
    }
    let trusted = log.checkpoint(&key).expect("sign").expect("a head");
    let before = log.read(7, 100).expect("read");

    let keep = Retention {
        max_records: Some(4),
        ..Retention::default()
    };
    assert_eq!(log.retain(&keep).expect("retain"), 6);
    assert_eq!(seqs(&log), [7, 8, 9, 10]);
    assert_eq!(
        log.read(7, 100).expect("read"),
        before,
        "kept records unchanged"
    );
    assert_eq!(log.retain(&keep).expect("again"), 0, "nothing more to drop");
    assert_eq!(log.verify().expect("verify"), None);
    // The checkpoint of record 6 (the last dropped) is checked against the anchor,
    // the one of record 3 is skipped, the others against their records.
    for c in checkpoints.iter().chain([&trusted]) {
        assert_eq!(
            log.verify_signed(&public, Some(c)).expect("verify"),
            None,
            "checkpoint of {}",
            c.seq
        );
    }

    // The log goes on after the cut, and survives reopening.
    assert_eq!(
        log.append(call("2026-12-03T10:00:01Z", 11))
            .expect("append"),
        11
    );
    drop(log);
    let log = ApiLog::open(&path).expect("reopen");
    assert_eq!(seqs(&log), [7, 8, 9, 10, 11]);
    assert_eq!(
        log.verify_signed(&public, Some(&trusted)).expect("verify"),
        None
    );

    // Dropping everything keeps the anchor: the next record follows the last dropped.
    let all = Retention {
        max_records: Some(0),
        ..Retention::default()
    };
    assert_eq!(log.retain(&all).expect("retain"), 5);
    assert_eq!(seqs(&log), Vec::<u64>::new());
    assert_eq!(
        log.append(call("2026-12-03T10:00:02Z", 12))
            .expect("append"),
        12
    );
    assert_eq!(log.verify().expect("verify"), None);
}

#[test]
fn records_older_than_the_maximum_age_are_dropped_oldest_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = ApiLog::open(&dir.path().join("audit.redb")).expect("open");
    let now = jiff::Timestamp::now();
    let old = (now - jiff::SignedDuration::from_hours(48)).to_string();
    let recent = (now - jiff::SignedDuration::from_hours(1)).to_string();
    for i in 1..=3 {
        log.append(call(&old, i)).expect("append");
    }
    log.append(call(&recent, 4)).expect("append");
    // Older again, but after a recent one: dropping stops at the first recent record.
    log.append(call(&old, 5)).expect("append");
    log.append(call(&recent, 6)).expect("append");
    let keep = Retention {
        max_age: Some(Duration::from_secs(24 * 3600)),
        ..Retention::default()
    };
    assert_eq!(log.retain(&keep).expect("retain"), 3);
    assert_eq!(seqs(&log), [4, 5, 6]);
    assert_eq!(log.verify().expect("verify"), None);
}

#[test]
fn tampering_across_the_cut_is_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = new_key();
    let public = key.public_key().as_ref().to_vec();
    let keep = Retention {
        max_records: Some(5),
        ..Retention::default()
    };
    let fresh = |name: &str| {
        let path = dir.path().join(name);
        let log = ApiLog::open(&path).expect("open");
        for i in 1..=5 {
            log.append(call("2026-12-03T10:00:00Z", i)).expect("append");
        }
        let checkpoint = log.checkpoint(&key).expect("sign").expect("a head");
        for i in 6..=10 {
            log.append(call("2026-12-03T10:00:00Z", i)).expect("append");
        }
        assert_eq!(log.retain(&keep).expect("retain"), 5);
        (path, checkpoint)
    };

    // The oldest kept records deleted without moving the anchor.
    let (path, _) = fresh("deleted.redb");
    tamper(&path, |records, _| {
        records.remove(6).expect("remove");
        records.remove(7).expect("remove");
    });
    let broken = ApiLog::open(&path)
        .expect("open")
        .verify()
        .expect("verify")
        .expect("caught");
    assert_eq!(broken.seq, 6, "{broken}");
    assert!(broken.why.contains("missing"), "{broken}");

    // Deleted and the first kept seq moved, but not the anchor's hash.
    let (path, _) = fresh("moved.redb");
    tamper(&path, |records, meta| {
        records.remove(6).expect("remove");
        meta.insert("first", "7").expect("insert");
    });
    let broken = ApiLog::open(&path)
        .expect("open")
        .verify()
        .expect("verify")
        .expect("caught");
    assert_eq!(broken.seq, 7, "{broken}");
    assert!(broken.why.contains("does not follow"), "{broken}");

    // Everything kept rewritten from a forged anchor, every hash recomputed: the
    // chain holds on its own, but the checkpoint of the last dropped record does not
    // match the anchor.
    let (path, checkpoint) = fresh("forged.redb");
    assert_eq!(checkpoint.seq, 5, "the last dropped record");
    tamper(&path, |records, meta| {
        let forged_anchor = "11".repeat(32);
        meta.insert("anchor", forged_anchor.as_str())
            .expect("insert");
        let mut prev = forged_anchor;
        for seq in 6..=10 {
            let stored = records
                .get(seq)
                .expect("get")
                .expect("there")
                .value()
                .to_vec();
            let r = Record::decode(seq, &stored).expect("a record");
            let r = Record::new(&prev, seq, r.call);
            records.insert(seq, r.encode().as_slice()).expect("insert");
            prev = r.hash;
        }
    });
    let log = ApiLog::open(&path).expect("open");
    assert_eq!(
        log.verify().expect("verify"),
        None,
        "a re-hashed chain holds"
    );
    let broken = log
        .verify_signed(&public, Some(&checkpoint))
        .expect("verify")
        .expect("caught");
    assert_eq!(broken.seq, 5, "{broken}");
    assert!(broken.why.contains("rewritten"), "{broken}");
}
