//! Queries over the API log: by user, entity, operation, decision, outcome, commit and
//! time range, newest first, page by page — the same records a full scan would pick —
//! and their CSV / JSON-lines export.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use windlass_audit::export::Format;
use windlass_audit::{ApiCall, ApiLog, CallQuery, Record, Retention};

/// The i-th call of the test log: few users, entities and operations, a commit on
/// every fourth, times not quite in append order (writers' clocks race).
fn call(i: u64) -> ApiCall {
    let second = i + if i % 10 == 3 { 5 } else { 0 };
    ApiCall {
        time: format!(
            "2026-12-03T{:02}:{:02}:{:02}Z",
            second / 3600,
            (second / 60) % 60,
            second % 60
        ),
        user: (!i.is_multiple_of(11)).then(|| format!("user{}", i % 7)),
        operation: ["application", "syncApplication", "deleteApplication"][(i % 3) as usize].into(),
        target: (!i.is_multiple_of(9)).then(|| format!("Application/team/app-{}", i % 13)),
        decision: if i.is_multiple_of(5) {
            "denied"
        } else {
            "allowed"
        }
        .into(),
        outcome: if i.is_multiple_of(5) || i.is_multiple_of(17) {
            "error"
        } else {
            "success"
        }
        .into(),
        commit: (i.is_multiple_of(4)).then(|| format!("{:040x}", i / 8)),
        duration_ms: i,
        ..ApiCall::default()
    }
}

/// Whether `r` is one `q` selects, as the documentation of `CallQuery` says (written out
/// here independently of the log's own check).
fn selects(q: &CallQuery, r: &Record) -> bool {
    let c = &r.call;
    let eq = |f: &Option<String>, v: Option<&String>| f.is_none() || f.as_ref() == v;
    eq(&q.user, c.user.as_ref())
        && eq(&q.target, c.target.as_ref())
        && eq(&q.operation, Some(&c.operation))
        && eq(&q.decision, Some(&c.decision))
        && eq(&q.outcome, Some(&c.outcome))
        && eq(&q.commit, c.commit.as_ref())
        && q.from.as_ref().is_none_or(|from| &c.time >= from)
        && q.to.as_ref().is_none_or(|to| &c.time < to)
        && q.before.is_none_or(|before| r.seq < before)
}

fn queries() -> impl Strategy<Value = CallQuery> {
    let some = |values: Vec<&'static str>| {
        proptest::option::weighted(0.3, proptest::sample::select(values).prop_map(String::from))
    };
    let time = proptest::option::weighted(
        0.3,
        (0u64..9_500).prop_map(|s| {
            format!(
                "2026-12-03T{:02}:{:02}:{:02}Z",
                s / 3600,
                (s / 60) % 60,
                s % 60
            )
        }),
    );
    (
        (
            some(vec!["user0", "user3", "user6", "nobody"]),
            some(vec!["Application/team/app-0", "Application/team/app-12"]),
            some(vec!["application", "deleteApplication"]),
            some(vec!["allowed", "denied"]),
            some(vec!["success", "error"]),
        ),
        (
            some(vec![
                "0000000000000000000000000000000000000000",
                "00000000000000000000000000000000000001f4",
                "00000000000000000000000000000000000003e7",
            ]),
            time.clone(),
            time,
            proptest::option::weighted(0.3, 0u64..9_500),
            1usize..300,
        ),
    )
        .prop_map(
            |((user, target, operation, decision, outcome), (commit, from, to, before, limit))| {
                CallQuery {
                    user,
                    target,
                    operation,
                    decision,
                    outcome,
                    commit,
                    from,
                    to,
                    before,
                    limit,
                }
            },
        )
}

/// Up to four pages of `query` are the first records a full scan selects, newest first.
fn pages_match_a_full_scan(log: &ApiLog, all: &[Record], query: &CallQuery) {
    let expected: Vec<u64> = all
        .iter()
        .rev()
        .filter(|r| selects(query, r))
        .map(|r| r.seq)
        .collect();
    let mut got = Vec::new();
    let mut q = query.clone();
    for _ in 0..4 {
        let page = log.query(&q).expect("query");
        assert!(page.records.len() <= q.limit);
        got.extend(page.records.iter().map(|r| r.seq));
        match page.next {
            Some(next) => q.before = Some(next),
            None => {
                assert_eq!(got, expected, "{query:?}");
                return;
            }
        }
    }
    assert_eq!(got, expected[..got.len()], "{query:?}");
}

#[test]
fn queries_select_what_a_full_scan_selects_newest_first_page_by_page() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = ApiLog::open(&dir.path().join("audit.redb")).expect("open");
    // More than two index buckets (4096 seqs each).
    for start in (0..9_000).step_by(1000) {
        log.append_batch((start..start + 1000).map(call).collect())
            .expect("append");
    }
    let mut runner = TestRunner::new(Config::with_cases(200));
    let all = log.read(1, usize::MAX).expect("read");
    runner
        .run(&queries(), |q| {
            pages_match_a_full_scan(&log, &all, &q);
            Ok(())
        })
        .expect("every query");

    // After retention, dropped records are gone from every index.
    log.retain(&Retention {
        max_records: Some(4_500),
        ..Retention::default()
    })
    .expect("retain");
    let kept = log.read(1, usize::MAX).expect("read");
    assert_eq!(kept.first().map(|r| r.seq), Some(4_501));
    runner
        .run(&queries(), |q| {
            pages_match_a_full_scan(&log, &kept, &q);
            Ok(())
        })
        .expect("every query after retention");
}

#[test]
fn a_commit_leads_to_the_calls_that_made_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = ApiLog::open(&dir.path().join("audit.redb")).expect("open");
    for i in 0..40 {
        log.append(call(i)).expect("append");
    }
    // Calls 8 and 12 made commits 1 (8 / 8) and 1 (12 / 8): both are named.
    let commit = format!("{:040x}", 1);
    let page = log
        .query(&CallQuery {
            commit: Some(commit.clone()),
            ..CallQuery::default()
        })
        .expect("query");
    let made: Vec<u64> = page.records.iter().map(|r| r.call.duration_ms).collect();
    assert_eq!(made, [12, 8]);
    assert!(
        page.records
            .iter()
            .all(|r| r.call.commit.as_ref() == Some(&commit))
    );
    assert_eq!(page.next, None);
}

#[test]
fn exports_as_csv_and_json_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = ApiLog::open(&dir.path().join("audit.redb")).expect("open");
    log.append(ApiCall {
        time: "2026-12-03T10:00:00Z".into(),
        user: Some("alice".into()),
        auth_method: Some("token".into()),
        client_ip: Some("127.0.0.1".into()),
        operation: "syncApplication".into(),
        variables: serde_json::json!({"name": "guestbook", "token": "ghp_x"}),
        target: Some("Application/default/guestbook".into()),
        decision: "allowed".into(),
        outcome: "success".into(),
        duration_ms: 42,
        correlation_id: Some("req-1".into()),
        commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        ..ApiCall::default()
    })
    .expect("append");
    log.append(ApiCall {
        time: "2026-12-03T10:00:01Z".into(),
        user: Some("bob, \"the builder\"".into()),
        operation: "deleteApplication".into(),
        variables: serde_json::json!({"name": "a,b"}),
        target: Some("Application/default/a,b".into()),
        decision: "denied".into(),
        reason: Some("no rule grants\napplications, delete".into()),
        outcome: "error".into(),
        error: Some("permission denied".into()),
        duration_ms: 3,
        ..ApiCall::default()
    })
    .expect("append");
    let mut csv = Vec::new();
    let n = log
        .export(&CallQuery::default(), Format::Csv, &mut csv)
        .expect("export");
    assert_eq!(n, 2);
    insta::assert_snapshot!("csv", String::from_utf8(csv).expect("utf-8"));
    let mut lines = Vec::new();
    // CallPage by page (one record a page): the same records.
    let one = CallQuery {
        limit: 1,
        ..CallQuery::default()
    };
    log.export(&one, Format::JsonLines, &mut lines)
        .expect("export");
    let text = String::from_utf8(lines).expect("utf-8");
    let parsed: Vec<Record> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a record per line"))
        .collect();
    assert_eq!(
        parsed.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [2, 1],
        "newest first"
    );
    insta::assert_snapshot!("json_lines", text);
}
