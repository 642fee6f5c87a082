//! The API call log: durable appends from many writers, a chain that names the first
//! record tampered with, secrets never stored.

use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition};
use windlass_audit::{ApiCall, ApiLog, Record};

const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");

/// A change made to the stored records behind the log's back.
type Edit = Box<dyn FnOnce(&mut redb::Table<u64, &[u8]>)>;

fn call(i: u64) -> ApiCall {
    ApiCall {
        time: format!("2026-12-03T10:00:{:02}Z", i % 60),
        user: Some(format!("user{}", i % 5)),
        operation: "syncApplication".into(),
        variables: serde_json::json!({"name": format!("app-{i}"), "gitToken": "ghp_secret"}),
        decision: "allowed".into(),
        outcome: "success".into(),
        duration_ms: i,
        ..ApiCall::default()
    }
}

fn log_with(path: &Path, n: u64) {
    let log = ApiLog::open(path).expect("open");
    for i in 0..n {
        log.append(call(i)).expect("append");
    }
}

/// Edits the stored bytes of the log at `path` behind its back.
fn tamper(path: &Path, edit: impl FnOnce(&mut redb::Table<u64, &[u8]>)) {
    let db = Database::create(path).expect("open the file");
    let tx = db.begin_write().expect("tx");
    {
        let mut table = tx.open_table(RECORDS).expect("table");
        edit(&mut table);
    }
    tx.commit().expect("commit");
}

fn get(table: &redb::Table<u64, &[u8]>, seq: u64) -> Record {
    Record::decode(seq, table.get(seq).expect("get").expect("there").value()).expect("a record")
}

#[test]
fn sixteen_writers_lose_nothing_and_the_chain_holds_after_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("audit.redb");
    let log = ApiLog::open(&path).expect("open");
    let mut acknowledged: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|w| {
                let log = log.clone();
                s.spawn(move || {
                    (0..50)
                        .map(|i| log.append(call(w * 100 + i)).expect("append"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("writer"))
            .collect()
    });
    acknowledged.sort_unstable();
    assert_eq!(
        acknowledged,
        (1..=800).collect::<Vec<_>>(),
        "one seq per call, no gap"
    );
    drop(log);
    let log = ApiLog::open(&path).expect("reopen");
    assert_eq!(log.verify().expect("verify"), None);
    let all = log.read(1, 10_000).expect("read");
    assert_eq!(all.len(), 800);
    assert!(
        all.iter()
            .all(|r| r.call.variables["gitToken"] == "[REDACTED]")
    );
    assert!(
        !std::fs::read(&path)
            .expect("file")
            .windows(10)
            .any(|w| w == b"ghp_secret")
    );
}

#[test]
fn verify_names_the_first_record_edited_deleted_reordered_or_inserted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases: Vec<(&str, Edit, u64, &str)> = vec![
        (
            "edited",
            Box::new(|t| {
                let mut r = get(t, 4);
                r.call.user = Some("mallory".into());
                t.insert(4, r.encode().as_slice()).expect("insert");
            }),
            4,
            "edited",
        ),
        (
            "edited with its own hash recomputed",
            Box::new(|t| {
                let r = get(t, 4);
                let mut call = r.call.clone();
                call.outcome = "error".into();
                let forged = Record::new(&r.prev, 4, call);
                t.insert(4, forged.encode().as_slice()).expect("insert");
            }),
            5,
            "does not follow",
        ),
        (
            "deleted",
            Box::new(|t| {
                t.remove(6).expect("remove");
            }),
            6,
            "expected record 6",
        ),
        (
            "reordered",
            Box::new(|t| {
                let (a, b) = (get(t, 2), get(t, 3));
                t.insert(2, b.encode().as_slice()).expect("insert");
                t.insert(3, a.encode().as_slice()).expect("insert");
            }),
            2,
            "does not follow",
        ),
        (
            "garbage",
            Box::new(|t| {
                t.insert(7, b"not json".as_slice()).expect("insert");
            }),
            7,
            "not a record",
        ),
    ];
    for (i, (what, edit, seq, why)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("case-{i}.redb"));
        log_with(&path, 10);
        tamper(&path, edit);
        let broken = ApiLog::open(&path)
            .expect("open")
            .verify()
            .expect("verify")
            .unwrap_or_else(|| panic!("{what}: not detected"));
        assert_eq!(broken.seq, seq, "{what}: {broken}");
        assert!(broken.why.contains(why), "{what}: {broken}");
    }
}

fn new_key() -> ring::signature::Ed25519KeyPair {
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
        .expect("a key");
    ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("the key")
}

/// A log of ten calls at `path` and the checkpoint `key` signed of it.
fn signed_log(
    path: &Path,
    key: &ring::signature::Ed25519KeyPair,
) -> (ApiLog, windlass_audit::Checkpoint) {
    log_with(path, 10);
    let log = ApiLog::open(path).expect("open");
    let checkpoint = log.checkpoint(key).expect("checkpoint").expect("not empty");
    (log, checkpoint)
}

#[test]
fn signed_checkpoints_catch_a_log_cut_short_or_rewritten_with_recomputed_hashes() {
    use ring::signature::KeyPair;
    let dir = tempfile::tempdir().expect("temp dir");
    let key = new_key();
    let public = key.public_key().as_ref().to_vec();

    // Cut short: the last records removed; the chain alone cannot tell.
    let path = dir.path().join("cut.redb");
    let (log, trusted) = signed_log(&path, &key);
    assert_eq!(trusted.seq, 10);
    assert_eq!(
        log.verify_signed(&public, Some(&trusted)).expect("verify"),
        None
    );
    drop(log);
    tamper(&path, |t| {
        for seq in 8..=10 {
            t.remove(seq).expect("remove");
        }
    });
    let log = ApiLog::open(&path).expect("open");
    assert_eq!(log.verify().expect("verify"), None, "the chain alone holds");
    let broken = log
        .verify_signed(&public, None)
        .expect("verify")
        .expect("caught");
    assert_eq!(broken.seq, 8, "{broken}");
    assert!(broken.why.contains("vouches for record 10"), "{broken}");
    drop(log);

    // Rewritten from record 4 on, every hash recomputed, stored checkpoints deleted:
    // the checkpoint kept elsewhere catches it.
    let path = dir.path().join("rewritten.redb");
    let (log, trusted) = signed_log(&path, &key);
    drop(log);
    tamper(&path, |t| {
        let mut prev = get(t, 3).hash;
        for seq in 4..=10 {
            let mut c = get(t, seq).call;
            if seq == 4 {
                c.user = Some("mallory".into());
            }
            let r = Record::new(&prev, seq, c);
            t.insert(seq, r.encode().as_slice()).expect("insert");
            prev = r.hash;
        }
    });
    {
        let db = Database::create(&path).expect("open the file");
        let tx = db.begin_write().expect("tx");
        tx.delete_table(TableDefinition::<u64, &[u8]>::new("checkpoints"))
            .expect("delete");
        tx.commit().expect("commit");
    }
    let log = ApiLog::open(&path).expect("open");
    assert_eq!(
        log.verify().expect("verify"),
        None,
        "a re-hashed chain holds on its own"
    );
    let broken = log
        .verify_signed(&public, Some(&trusted))
        .expect("verify")
        .expect("caught");
    assert_eq!(broken.seq, 10, "{broken}");
    assert!(broken.why.contains("rewritten"), "{broken}");

    // A checkpoint signed by another key is no proof.
    let forged = windlass_audit::Checkpoint::sign(trusted.seq, &trusted.hash, &new_key());
    let broken = log
        .verify_signed(&public, Some(&forged))
        .expect("verify")
        .expect("caught");
    assert!(broken.why.contains("signature"), "{broken}");
}
