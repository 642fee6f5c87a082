//! The API call log in PostgreSQL, against a real server (Debian's `postgresql`,
//! started by `windlass_testkit::postgres`): replicas sharing one chain, durability
//! across a crash of the server, tampering caught, the same answers as the embedded
//! store.

use std::sync::Arc;

use postgres::{Client, NoTls};
use proptest::prelude::*;
use windlass_audit::store::{CallQuery, LogStore};
use windlass_audit::{ApiCall, ApiLog, PgStore, Record, RedbStore};
use windlass_testkit::postgres::PostgresServer;

fn server() -> PostgresServer {
    PostgresServer::start().unwrap_or_else(|e| {
        panic!("a PostgreSQL server for the test (apt-get install postgresql): {e}")
    })
}

fn call(i: u64) -> ApiCall {
    ApiCall {
        time: format!("2026-12-03T10:{:02}:{:02}.000Z", i / 60 % 60, i % 60),
        user: Some(format!("user{}", i % 5)),
        operation: "syncApplication".into(),
        variables: serde_json::json!({"name": format!("app-{i}"), "gitToken": "ghp_secret"}),
        target: i
            .is_multiple_of(3)
            .then(|| format!("Application/argocd/app-{}", i % 7)),
        decision: if i.is_multiple_of(4) {
            "denied"
        } else {
            "allowed"
        }
        .into(),
        outcome: "success".into(),
        duration_ms: i,
        ..ApiCall::default()
    }
}

/// A client of the database at `url`, for changes made behind the log's back.
fn sql(url: &str) -> Client {
    Client::connect(url, NoTls).expect("connect")
}

fn get(db: &mut Client, seq: u64) -> Record {
    let row = db
        .query_one(
            "SELECT stored FROM windlass_audit.records WHERE seq = $1",
            &[&(seq as i64)],
        )
        .expect("select");
    Record::decode(seq, row.get(0)).expect("a record")
}

fn put(db: &mut Client, seq: u64, stored: &[u8]) {
    let n = db
        .execute(
            "UPDATE windlass_audit.records SET stored = $2 WHERE seq = $1",
            &[&(seq as i64), &stored],
        )
        .expect("update");
    assert_eq!(n, 1);
}

#[test]
fn appends_are_seen_after_reconnecting_and_the_chain_holds() {
    let server = server();
    let url = server.create_database("audit").expect("create database");
    let log = ApiLog::connect_postgres(&url).expect("connect");
    for i in 0..30 {
        assert_eq!(log.append(call(i)).expect("append"), i + 1);
    }
    // Several scan batches of the store's cursor.
    let batch: Vec<ApiCall> = (30..2530).map(call).collect();
    let seqs = log.append_batch(batch).expect("append a batch");
    assert_eq!(seqs, (31..=2530).collect::<Vec<_>>());
    drop(log);

    let log = ApiLog::connect_postgres(&url).expect("reconnect");
    assert_eq!(log.verify().expect("verify"), None);
    let all = log.read(1, 10_000).expect("read");
    assert_eq!(all.len(), 2530);
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1);
        assert_eq!(r.call.variables["name"], format!("app-{i}"));
        assert_eq!(r.call.variables["gitToken"], "[REDACTED]");
    }
    let middle = log.read(1000, 3).expect("read");
    assert_eq!(
        middle.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1000, 1001, 1002]
    );
    let secrets: i64 = sql(&url)
        .query_one(
            "SELECT count(*) FROM windlass_audit.records \
             WHERE position(convert_to('ghp_secret', 'UTF8') IN stored) > 0",
            &[],
        )
        .expect("count")
        .get(0);
    assert_eq!(secrets, 0, "a secret reached the database");
}

#[test]
fn two_replicas_appending_at_once_share_one_gapless_chain() {
    const WRITERS: u64 = 6;
    const CALLS: u64 = 40;
    let server = server();
    let url = server.create_database("audit").expect("create database");
    // Two replicas: their own connections, their own group commits, one database;
    // they create the schema at the same moment too.
    let replicas: Vec<ApiLog> = std::thread::scope(|s| {
        let connecting: Vec<_> = (0..2)
            .map(|_| s.spawn(|| ApiLog::connect_postgres(&url).expect("connect")))
            .collect();
        connecting
            .into_iter()
            .map(|h| h.join().expect("connect"))
            .collect()
    });
    let acknowledged: Vec<(u64, u64)> = std::thread::scope(|s| {
        let mut writers = Vec::new();
        for (r, log) in replicas.iter().enumerate() {
            for w in 0..WRITERS {
                let id = (r as u64 * WRITERS + w) * 1000;
                writers.push(s.spawn(move || {
                    (id..id + CALLS)
                        .map(|i| (log.append(call(i)).expect("append"), i))
                        .collect::<Vec<_>>()
                }));
            }
        }
        writers
            .into_iter()
            .flat_map(|h| h.join().expect("writer"))
            .collect()
    });
    let total = 2 * WRITERS * CALLS;
    let mut seqs: Vec<u64> = acknowledged.iter().map(|(seq, _)| *seq).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=total).collect::<Vec<_>>(),
        "one seq per acknowledged call, none reused, no gap"
    );
    let log = ApiLog::connect_postgres(&url).expect("a third replica");
    assert_eq!(log.verify().expect("verify"), None);
    let records = log.read(1, 10_000).expect("read");
    assert_eq!(records.len() as u64, total);
    for (seq, i) in acknowledged {
        assert_eq!(
            records[seq as usize - 1].call.variables["name"],
            format!("app-{i}"),
            "record {seq} is not the call it was acknowledged for"
        );
    }
}

#[test]
fn acknowledged_appends_survive_a_crash_of_the_server_and_replicas_reconnect() {
    let mut server = server();
    let url = server.create_database("audit").expect("create database");
    let log = ApiLog::connect_postgres(&url).expect("connect");
    let acknowledged: Vec<u64> = std::thread::scope(|s| {
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let log = &log;
                s.spawn(move || {
                    (0..25)
                        .map(|i| log.append(call(w * 100 + i)).expect("append"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        writers
            .into_iter()
            .flat_map(|h| h.join().expect("writer"))
            .collect()
    });
    assert_eq!(acknowledged.len(), 100);
    server.crash_and_restart().expect("restart");

    // The replica's pooled connections died with the server: it reconnects.
    assert_eq!(
        log.append(call(1000)).expect("append after the restart"),
        101
    );
    assert_eq!(log.verify().expect("verify"), None);
    let records = log.read(1, 1000).expect("read");
    assert_eq!(records.len(), 101);
    assert_eq!(records[100].call.variables["name"], "app-1000");
}

#[test]
fn verify_names_the_first_row_edited_deleted_or_swapped_in_the_database() {
    type Edit = Box<dyn FnOnce(&mut Client)>;
    let cases: Vec<(&str, Edit, u64, &str)> = vec![
        (
            "edited",
            Box::new(|db| {
                let mut r = get(db, 4);
                r.call.user = Some("mallory".into());
                put(db, 4, &r.encode());
            }),
            4,
            "edited",
        ),
        (
            "edited with its own hash recomputed",
            Box::new(|db| {
                let r = get(db, 4);
                let mut call = r.call.clone();
                call.outcome = "error".into();
                put(db, 4, &Record::new(&r.prev, 4, call).encode());
            }),
            5,
            "does not follow",
        ),
        (
            "deleted",
            Box::new(|db| {
                db.execute("DELETE FROM windlass_audit.records WHERE seq = 6", &[])
                    .expect("delete");
            }),
            6,
            "expected record 6",
        ),
        (
            "swapped",
            Box::new(|db| {
                let (a, b) = (get(db, 2), get(db, 3));
                put(db, 2, &b.encode());
                put(db, 3, &a.encode());
            }),
            2,
            "does not follow",
        ),
        (
            "garbage",
            Box::new(|db| put(db, 7, b"not json")),
            7,
            "not a record",
        ),
        (
            "inserted below the first",
            Box::new(|db| {
                let r = get(db, 1);
                db.execute(
                    "INSERT INTO windlass_audit.records \
                     (seq, stored, time, operation, decision, outcome) \
                     VALUES (0, $1, '', '', '', '')",
                    &[&r.encode()],
                )
                .expect("insert");
            }),
            1,
            "out of place",
        ),
    ];
    let server = server();
    for (i, (what, edit, seq, why)) in cases.into_iter().enumerate() {
        let url = server
            .create_database(&format!("case{i}"))
            .expect("create database");
        let log = ApiLog::connect_postgres(&url).expect("connect");
        for i in 0..10 {
            log.append(call(i)).expect("append");
        }
        assert_eq!(log.verify().expect("verify"), None, "{what}: before");
        edit(&mut sql(&url));
        let broken = log
            .verify()
            .expect("verify")
            .unwrap_or_else(|| panic!("{what}: not detected"));
        assert_eq!(broken.seq, seq, "{what}: {broken}");
        assert!(broken.why.contains(why), "{what}: {broken}");
    }
}

#[test]
fn signed_checkpoints_catch_rows_deleted_at_the_end() {
    use ring::signature::{Ed25519KeyPair, KeyPair};
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).expect("key");
    let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
    let public = key.public_key().as_ref().to_vec();
    let server = server();
    let url = server.create_database("audit").expect("create database");
    let log = ApiLog::connect_postgres(&url).expect("connect");
    for i in 0..10 {
        log.append(call(i)).expect("append");
    }
    let trusted = log
        .checkpoint(&key)
        .expect("checkpoint")
        .expect("not empty");
    assert_eq!(trusted.seq, 10);
    assert_eq!(
        log.verify_signed(&public, Some(&trusted)).expect("verify"),
        None
    );
    sql(&url)
        .execute("DELETE FROM windlass_audit.records WHERE seq >= 8", &[])
        .expect("delete");
    assert_eq!(log.verify().expect("verify"), None, "the chain alone holds");
    let broken = log
        .verify_signed(&public, None)
        .expect("verify")
        .expect("the stored checkpoint catches it");
    assert_eq!(broken.seq, 8, "{broken}");
    assert!(broken.why.contains("vouches for record 10"), "{broken}");
}

#[test]
fn an_unreachable_server_or_a_wrong_database_is_an_error_naming_the_url_without_password() {
    let server = server();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let unreachable = format!("postgres://windlass:hunter2@127.0.0.1:{closed_port}/audit");
    let wrong_db = format!(
        "postgres://postgres:hunter2@127.0.0.1:{}/no_such_db",
        server.port()
    );
    for (url, says) in [
        (unreachable.as_str(), "connect"),
        (wrong_db.as_str(), "database \"no_such_db\" does not exist"),
        (
            "postgres://u:hunter2@127.0.0.1:notaport/db",
            "not a PostgreSQL URL",
        ),
    ] {
        let error = ApiLog::connect_postgres(url).expect_err(url).to_string();
        let redacted = url.replace("hunter2", "***");
        assert!(error.contains(&redacted), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        assert!(error.contains(says), "{error}");
    }
}

#[test]
fn a_role_that_may_only_read_and_write_the_tables_uses_the_log_once_they_exist() {
    let server = server();
    let url = server.create_database("audit").expect("create database");
    let admin = ApiLog::connect_postgres(&url).expect("the administrator creates the schema");
    admin.append(call(0)).expect("append");
    sql(&url)
        .batch_execute(
            "CREATE ROLE api LOGIN; \
             REVOKE CREATE ON SCHEMA public FROM PUBLIC; \
             GRANT USAGE ON SCHEMA windlass_audit TO api; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA windlass_audit TO api",
        )
        .expect("a least-privileged role");
    let api_url = url.replacen("postgres@", "api@", 1);
    let log = ApiLog::connect_postgres(&api_url).expect("connect as api");
    assert_eq!(log.append(call(1)).expect("append as api"), 2);
    assert_eq!(log.verify().expect("verify"), None);
    // Without the grants, the error names the URL and what was refused.
    sql(&url)
        .batch_execute("REVOKE INSERT ON windlass_audit.records FROM api")
        .expect("revoke");
    let error = ApiLog::connect_postgres(&api_url)
        .expect("connect")
        .append(call(2))
        .expect_err("no right to insert")
        .to_string();
    assert!(error.contains(&api_url), "{error}");
    assert!(error.contains("permission denied"), "{error}");
}

/// One step of a random history, done to both stores.
#[derive(Clone, Debug)]
enum Step {
    Append(Vec<u64>),
    Retain(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => prop::collection::vec(0u64..200, 1..12).prop_map(Step::Append),
        1 => (0u64..60).prop_map(Step::Retain),
    ]
}

fn query() -> impl Strategy<Value = CallQuery> {
    (
        prop::option::of(0u64..6),
        prop::option::of(0u64..8),
        prop::option::of(prop::bool::ANY),
        prop::option::of((0u64..200, 0u64..200)),
        prop::option::of(0u64..80),
        1usize..30,
    )
        .prop_map(|(user, target, denied, range, before, limit)| CallQuery {
            user: user.map(|u| format!("user{u}")),
            target: target.map(|t| format!("Application/argocd/app-{t}")),
            decision: denied.map(|d| if d { "denied" } else { "allowed" }.into()),
            from: range.map(|(a, b)| call(a.min(b)).time),
            to: range.map(|(a, b)| call(a.max(b)).time),
            before,
            limit,
            ..CallQuery::default()
        })
}

/// The PostgreSQL store answers as the embedded one (the reference) after the same
/// appends and retentions: the same records, anchor, head and query pages.
#[test]
fn postgres_answers_as_redb() {
    let server = server();
    let url = server.create_database("audit").expect("create database");
    let db = std::cell::RefCell::new(sql(&url));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    });
    let history = (
        prop::collection::vec(step(), 1..12),
        prop::collection::vec(query(), 1..8),
    );
    let outcome = runner.run(&history, |(steps, queries)| {
        // A fresh log for each case (cheaper than a database each).
        db.borrow_mut()
            .batch_execute("DROP SCHEMA IF EXISTS windlass_audit CASCADE")
            .expect("drop the schema");
        let dir = tempfile::tempdir().expect("temp dir");
        let redb: Arc<dyn LogStore> =
            Arc::new(RedbStore::open(&dir.path().join("audit.redb")).expect("open redb"));
        let pg: Arc<dyn LogStore> = Arc::new(PgStore::connect(&url).expect("connect"));
        let logs = [
            ApiLog::with_store(redb.clone()),
            ApiLog::with_store(pg.clone()),
        ];
        for step in &steps {
            let answers: Vec<String> = logs
                .iter()
                .map(|log| match step {
                    Step::Append(calls) => format!(
                        "{:?}",
                        log.append_batch(calls.iter().copied().map(call).collect())
                    ),
                    Step::Retain(keep_from) => format!("{:?}", log.store().retain(*keep_from)),
                })
                .collect();
            prop_assert_eq!(&answers[0], &answers[1], "{:?}", step);
        }
        let seen = |store: &Arc<dyn LogStore>| {
            let snapshot = store.snapshot().expect("snapshot");
            let mut records = Vec::new();
            snapshot
                .scan(0, &mut |seq, stored| {
                    records.push((seq, stored.to_vec()));
                    true
                })
                .expect("scan");
            let pages: Vec<_> = queries
                .iter()
                .map(|q| snapshot.query(q).expect("query"))
                .collect();
            (
                snapshot.anchor().expect("anchor"),
                snapshot.last().expect("last"),
                records,
                pages,
            )
        };
        prop_assert_eq!(seen(&redb), seen(&pg));
        prop_assert_eq!(logs[1].verify().expect("verify"), None);
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

#[test]
fn retention_on_one_replica_while_another_appends_keeps_one_chain() {
    use ring::signature::{Ed25519KeyPair, KeyPair};
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).expect("key");
    let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
    let public = key.public_key().as_ref().to_vec();
    let server = server();
    let url = server.create_database("audit").expect("create database");
    let a = ApiLog::connect_postgres(&url).expect("replica a");
    let b = ApiLog::connect_postgres(&url).expect("replica b");
    a.append_batch((0..100).map(call).collect())
        .expect("append");
    let trusted = a.checkpoint(&key).expect("checkpoint").expect("not empty");
    let keep = windlass_audit::Retention {
        max_records: Some(30),
        max_age: None,
    };
    let dropped: u64 = std::thread::scope(|s| {
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let b = &b;
                s.spawn(move || {
                    for i in 0..25 {
                        b.append(call(1000 + w * 100 + i)).expect("append");
                    }
                })
            })
            .collect();
        let dropped = (0..5).map(|_| a.retain(&keep).expect("retain")).sum();
        for w in writers {
            w.join().expect("writer");
        }
        dropped
    });
    let dropped = dropped + a.retain(&keep).expect("retain");
    assert_eq!(dropped, 170, "200 appended, the newest 30 kept");
    let records = b.read(0, 1000).expect("read");
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (171..=200).collect::<Vec<_>>()
    );
    assert_eq!(b.verify().expect("verify"), None);
    assert_eq!(
        b.verify_signed(&public, Some(&trusted)).expect("verify"),
        None,
        "a checkpoint of a dropped record is no longer checked"
    );

    // The anchor is what the kept records hang on: moving it is caught.
    sql(&url)
        .execute(
            "UPDATE windlass_audit.meta SET anchor = $1",
            &[&vec![7u8; 32]],
        )
        .expect("edit the anchor");
    let broken = b.verify().expect("verify").expect("caught");
    assert_eq!(broken.seq, 171, "{broken}");
}

#[test]
fn a_table_altered_behind_the_logs_back_is_an_error_naming_the_column() {
    let server = server();
    let url = server.create_database("audit").expect("create database");
    let log = ApiLog::connect_postgres(&url).expect("connect");
    log.append(call(0)).expect("append");
    sql(&url)
        .batch_execute(
            "ALTER TABLE windlass_audit.records \
             ALTER COLUMN stored TYPE text USING encode(stored, 'hex')",
        )
        .expect("alter");
    let error = log.verify().expect_err("not bytes").to_string();
    assert!(error.contains(&url), "{error}");
    assert!(error.contains("\"stored\""), "{error}");
}

/// The environment variable that makes [`replica_process`] a replica: the database's
/// URL and the first call id, `url|first`.
const REPLICA: &str = "WINDLASS_AUDIT_TEST_REPLICA";

/// Not a test on its own: the body of each replica process that
/// [`replicas_in_separate_processes_share_one_gapless_chain`] starts (this test binary
/// again). Appends from 4 threads and prints `acked <seq> <call id>` per call.
#[test]
#[ignore = "run by replicas_in_separate_processes_share_one_gapless_chain"]
fn replica_process() {
    let spec = std::env::var(REPLICA).expect("started by the two-process test");
    let (url, first) = spec.split_once('|').expect("url|first");
    let first: u64 = first.parse().expect("first call id");
    let log = ApiLog::connect_postgres(url).expect("connect");
    let acked: Vec<(u64, u64)> = std::thread::scope(|s| {
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let log = &log;
                s.spawn(move || {
                    let ids = first + w * 100..first + w * 100 + 50;
                    ids.map(|i| (log.append(call(i)).expect("append"), i))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        writers
            .into_iter()
            .flat_map(|h| h.join().expect("writer"))
            .collect()
    });
    for (seq, id) in acked {
        println!("acked {seq} {id}");
    }
}

#[test]
fn replicas_in_separate_processes_share_one_gapless_chain() {
    let server = server();
    let url = server.create_database("audit").expect("create database");
    let exe = std::env::current_exe().expect("this test binary");
    let children: Vec<_> = [10_000u64, 20_000]
        .iter()
        .map(|first| {
            std::process::Command::new(&exe)
                .args(["--exact", "replica_process", "--ignored", "--nocapture"])
                .args(["--test-threads", "1"])
                .env(REPLICA, format!("{url}|{first}"))
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("start a replica process")
        })
        .collect();
    // This process is a third replica, appending meanwhile.
    let log = ApiLog::connect_postgres(&url).expect("connect");
    let mut acked: Vec<(u64, u64)> = (0..100)
        .map(|i| (log.append(call(i)).expect("append"), i))
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("replica process");
        assert!(
            output.status.success(),
            "a replica failed: {}",
            output.status
        );
        let stdout = String::from_utf8(output.stdout).expect("utf-8");
        let lines: Vec<(u64, u64)> = stdout
            .lines()
            // libtest may print its `test replica_process ... ` before a line.
            .filter_map(|l| Some(l.split_once("acked ")?.1))
            .map(|l| {
                let mut words = l.split_whitespace();
                let mut number = || words.next()?.parse::<u64>().ok();
                (number().expect("seq"), number().expect("call id"))
            })
            .collect();
        assert_eq!(lines.len(), 200, "{stdout}");
        acked.extend(lines);
    }
    let mut seqs: Vec<u64> = acked.iter().map(|(seq, _)| *seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=500).collect::<Vec<_>>(), "no seq reused, no gap");
    assert_eq!(log.verify().expect("verify"), None);
    let records = log.read(1, 1000).expect("read");
    for (seq, id) in acked {
        assert_eq!(
            records[seq as usize - 1].call.variables["name"],
            format!("app-{id}"),
            "record {seq}"
        );
    }
}
