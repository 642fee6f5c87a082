//! The store's own tests: pages at past resourceVersions, group commit, failed commits.

use super::*;
use serde_json::json;

fn store(limit: usize) -> Store {
    Store::in_memory(limit)
}

fn put(s: &Store, name: &str) -> u64 {
    let key = ("ns".to_owned(), name.to_owned());
    let (v, _) = s
        .write("configmaps", &key, false, |_, _| {
            Ok(Write::Put(json!({"metadata": {"name": name}})))
        })
        .expect("write");
    v["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("rv set")
}

#[test]
fn resource_versions_increase_and_history_is_bounded() {
    let s = store(3);
    let rvs: Vec<u64> = (0..5).map(|i| put(&s, &format!("c{i}"))).collect();
    assert_eq!(rvs, vec![1, 2, 3, 4, 5]);
    assert!(
        s.subscribe("configmaps", Some(1)).is_err(),
        "rv 1 is compacted"
    );
    let sub = s
        .subscribe("configmaps", Some(2))
        .expect("rv 2 still resumable");
    let got: Vec<u64> = sub.backlog.iter().map(|e| e.resource_version).collect();
    assert_eq!(got, vec![3, 4, 5]);
}

#[derive(Default)]
struct Recording(std::sync::Mutex<Vec<String>>);

impl Backend for std::sync::Arc<Recording> {
    fn load(&self) -> Result<Snapshot, String> {
        Ok(Snapshot {
            resource_version: 41,
            objects: vec![(
                "configmaps".into(),
                ("ns".into(), "old".into()),
                json!({"metadata": {"name": "old"}}),
            )],
        })
    }
    fn commit(&self, rv: u64, changes: &[Change<'_>]) -> Result<(), String> {
        let mut lines = self.0.lock().expect("not poisoned");
        for change in changes {
            lines.push(match change {
                Change::Put {
                    resource,
                    key,
                    object,
                } => format!(
                    "{rv} put {resource} {}/{} {}",
                    key.0, key.1, object["metadata"]["resourceVersion"]
                ),
                Change::Delete { resource, key } => {
                    format!("{rv} delete {resource} {}/{}", key.0, key.1)
                }
            });
        }
        Ok(())
    }
}

#[test]
fn a_backend_sees_every_write_and_restores_the_counter() {
    let rec = std::sync::Arc::new(Recording::default());
    let s = Store::new(Arc::new(rec.clone()), 10).expect("loads");
    let old = ("ns".to_owned(), "old".to_owned());
    assert!(
        s.get("configmaps", &old).is_some(),
        "loaded objects are served"
    );
    assert_eq!(put(&s, "new"), 42, "resourceVersion continues upward");
    s.write("configmaps", &old, false, |_, _| Ok(Write::Delete))
        .expect("delete");
    assert_eq!(
        *rec.0.lock().expect("not poisoned"),
        vec![
            "42 put configmaps ns/new \"42\"".to_owned(),
            "43 delete configmaps ns/old".to_owned()
        ]
    );
}

/// A backend whose commits wait for the test: each commit reports its changes
/// on `entered` and then waits for `release` (`Err` text: the commit fails).
struct Gate {
    entered: std::sync::Mutex<std::sync::mpsc::Sender<Vec<String>>>,
    release: std::sync::Mutex<std::sync::mpsc::Receiver<Result<(), String>>>,
}

/// Generous: only a deadlock takes this long.
const DEADLOCK: std::time::Duration = std::time::Duration::from_secs(60);

type Gated = (
    Arc<Store>,
    std::sync::mpsc::Receiver<Vec<String>>,
    std::sync::mpsc::Sender<Result<(), String>>,
);

fn gated() -> Gated {
    let (entered_tx, entered) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let gate = Gate {
        entered: std::sync::Mutex::new(entered_tx),
        release: std::sync::Mutex::new(release_rx),
    };
    let store = Store::new(Arc::new(gate), 100).expect("loads");
    (Arc::new(store), entered, release)
}

impl Backend for Gate {
    fn load(&self) -> Result<Snapshot, String> {
        Ok(Snapshot::default())
    }
    fn commit(&self, rv: u64, changes: &[Change<'_>]) -> Result<(), String> {
        let names = changes
            .iter()
            .map(|c| match c {
                Change::Put { key, object, .. } => {
                    format!("{rv}: put {} {}", key.1, object["v"])
                }
                Change::Delete { key, .. } => format!("{rv}: delete {}", key.1),
            })
            .collect();
        let _ = self.entered.lock().expect("not poisoned").send(names);
        self.release
            .lock()
            .expect("not poisoned")
            .recv()
            .unwrap_or(Err("the test ended".into()))
    }
}

/// Writes `v` to `name` in another thread; the answer comes on the receiver.
/// `decided` gets what the write saw, once decided.
fn write_in_thread(
    s: &Arc<Store>,
    name: &'static str,
    v: u8,
    decided: std::sync::mpsc::Sender<Option<Value>>,
) -> std::sync::mpsc::Receiver<Result<u64, String>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let s = s.clone();
    std::thread::spawn(move || {
        let key = ("ns".to_owned(), name.to_owned());
        let r = s.write("configmaps", &key, false, |current, _| {
            let _ = decided.send(current.map(|c| c["v"].clone()));
            Ok(Write::Put(json!({"metadata": {"name": name}, "v": v})))
        });
        let _ = tx.send(
            r.map(|(o, _)| {
                o["metadata"]["resourceVersion"]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_default()
            })
            .map_err(|e| e.message),
        );
    });
    rx
}

#[test]
fn readers_are_answered_while_a_write_commits_and_later_writes_join_the_next_commit() {
    let (s, entered, release) = gated();
    let (decided, saw) = std::sync::mpsc::channel();
    let first = write_in_thread(&s, "x", 1, decided.clone());
    assert_eq!(
        entered.recv_timeout(DEADLOCK).expect("commit 1 starts"),
        ["1: put x 1"]
    );
    // Readers go on, and see nothing of the write being committed.
    let reader = {
        let s = s.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let x = s.get("configmaps", &("ns".into(), "x".into()));
            let (rv, items) = s.list("configmaps", None, |_| true);
            let _ = tx.send((x, rv, items.len()));
        });
        rx
    };
    assert_eq!(
        reader
            .recv_timeout(DEADLOCK)
            .expect("a reader is answered during a commit"),
        (None, 0, 0)
    );
    // Writes meanwhile are decided on the latest state and wait together.
    assert_eq!(saw.recv_timeout(DEADLOCK).expect("decided"), None);
    let second = write_in_thread(&s, "x", 2, decided.clone());
    assert_eq!(
        saw.recv_timeout(DEADLOCK).expect("decided"),
        Some(json!(1)),
        "decided on the write not yet durable"
    );
    let third = write_in_thread(&s, "y", 3, decided);
    saw.recv_timeout(DEADLOCK).expect("decided");
    // (Both are queued: a write is queued under the lock it is decided under.)
    release.send(Ok(())).expect("release commit 1");
    assert_eq!(first.recv_timeout(DEADLOCK).expect("answered"), Ok(1));
    let mut batch = entered.recv_timeout(DEADLOCK).expect("commit 2 starts");
    batch.sort();
    assert_eq!(batch.len(), 2, "one commit for both: {batch:?}");
    assert!(batch.iter().all(|c| c.starts_with("3: ")), "{batch:?}");
    assert_eq!(
        s.get("configmaps", &("ns".into(), "x".into()))
            .map(|x| x["v"].clone()),
        Some(json!(1)),
        "only what is durable is visible"
    );
    release.send(Ok(())).expect("release commit 2");
    let mut rvs = vec![
        second
            .recv_timeout(DEADLOCK)
            .expect("answered")
            .expect("stored"),
        third
            .recv_timeout(DEADLOCK)
            .expect("answered")
            .expect("stored"),
    ];
    rvs.sort();
    assert_eq!(rvs, [2, 3]);
    assert_eq!(
        s.get("configmaps", &("ns".into(), "x".into()))
            .map(|x| x["v"].clone()),
        Some(json!(2))
    );
    let events: Vec<u64> = s
        .subscribe("configmaps", Some(0))
        .expect("in history")
        .backlog
        .iter()
        .map(|e| e.resource_version)
        .collect();
    assert_eq!(events, [1, 2, 3], "watchers see every write in order");
}

#[test]
fn a_failed_commit_fails_the_writes_decided_on_it_and_stores_nothing() {
    let (s, entered, release) = gated();
    let (decided, saw) = std::sync::mpsc::channel();
    let first = write_in_thread(&s, "x", 1, decided.clone());
    entered.recv_timeout(DEADLOCK).expect("commit 1 starts");
    saw.recv_timeout(DEADLOCK).expect("decided");
    let second = write_in_thread(&s, "x", 2, decided);
    saw.recv_timeout(DEADLOCK).expect("decided");
    // An answer read from a write not yet durable waits for it too.
    let (unchanged_decided, unchanged_saw) = std::sync::mpsc::channel();
    let unchanged = {
        let s = s.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let key = ("ns".to_owned(), "x".to_owned());
            let r = s.write("configmaps", &key, false, |current, _| {
                let _ = unchanged_decided.send(current.map(|c| c["v"].clone()));
                Ok(Write::Unchanged(current.cloned().unwrap_or_default()))
            });
            let _ = tx.send(r.map(|(v, _)| v["v"].clone()).map_err(|e| e.message));
        });
        rx
    };
    assert_eq!(
        unchanged_saw.recv_timeout(DEADLOCK).expect("decided"),
        Some(json!(2))
    );
    release
        .send(Err("disk full".into()))
        .expect("fail commit 1");
    for r in [&first, &second] {
        assert_eq!(
            r.recv_timeout(DEADLOCK).expect("answered"),
            Err("storage: disk full".to_owned())
        );
    }
    assert_eq!(
        unchanged.recv_timeout(DEADLOCK).expect("answered"),
        Err("storage: disk full".to_owned()),
        "never the lost write's object"
    );
    assert!(s.get("configmaps", &("ns".into(), "x".into())).is_none());
    // The resourceVersions of the lost writes were never seen: handed out again.
    let (decided, _saw) = std::sync::mpsc::channel();
    let again = write_in_thread(&s, "x", 3, decided);
    assert_eq!(
        entered.recv_timeout(DEADLOCK).expect("commit"),
        ["1: put x 3"]
    );
    release.send(Ok(())).expect("release");
    assert_eq!(again.recv_timeout(DEADLOCK).expect("answered"), Ok(1));
}

/// One write of the property below: (namespace, name, value or delete).
type Op = (u8, u8, Option<u8>);

fn apply(s: &Store, (ns, name, value): Op) {
    let key = (format!("ns{ns}"), format!("o{name}"));
    let _ = s.write("configmaps", &key, false, |current, _| {
        Ok(match (value, current) {
            (Some(v), _) => Write::Put(json!({"metadata": {"name": key.1}, "v": v})),
            (None, Some(_)) => Write::Delete,
            (None, None) => Write::Unchanged(Value::Null),
        })
    });
}

proptest::proptest! {
    /// Paging through a list at the resourceVersion of its first page, with
    /// writes between the pages, yields exactly the list as it was then.
    #[test]
    fn pages_read_at_an_earlier_resource_version_are_that_list(
        before in proptest::collection::vec((0u8..3, 0u8..8, proptest::option::of(0u8..4)), 0..30),
        between in proptest::collection::vec(
            proptest::collection::vec((0u8..3, 0u8..8, proptest::option::of(0u8..4)), 0..6), 1..8),
        limit in 1usize..4,
        namespace in proptest::option::of(0u8..3),
    ) {
        let s = store(1_000);
        for op in before {
            apply(&s, op);
        }
        let namespace = namespace.map(|n| format!("ns{n}"));
        let (rv, want) = s.list("configmaps", namespace.as_deref(), |_| true);
        let mut got = Vec::new();
        let mut from: Option<ObjectKey> = None;
        let mut writes = between.into_iter();
        loop {
            let bound = from.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
            let page = s
                .list_page("configmaps", namespace.as_deref(), bound, Some(rv), Some(limit), |_| true)
                .expect("within the history");
            proptest::prop_assert_eq!(page.resource_version, rv);
            proptest::prop_assert!(page.items.len() <= limit);
            from = page.items.last().map(|(k, _)| k.clone());
            let remaining = page.remaining;
            got.extend(page.items);
            proptest::prop_assert_eq!(got.len() + remaining, want.len());
            if remaining == 0 {
                break;
            }
            for op in writes.next().unwrap_or_default() {
                apply(&s, op);
            }
        }
        proptest::prop_assert_eq!(got, want);
    }
}

#[test]
fn a_list_older_than_the_history_or_newer_than_the_store_is_refused() {
    let s = store(2);
    for i in 0..4 {
        put(&s, &format!("c{i}"));
    }
    let page = |at| {
        s.list_page("configmaps", None, Bound::Unbounded, Some(at), None, |_| {
            true
        })
    };
    assert_eq!(
        page(1).map(|p| p.items.len()).err(),
        Some(PastList::Compacted(2))
    );
    assert_eq!(page(2).map(|p| p.items.len()), Ok(2));
    assert_eq!(
        page(5).map(|p| p.items.len()).err(),
        Some(PastList::Future(4))
    );
}

#[test]
fn dry_run_stores_nothing() {
    let s = store(10);
    let key = ("ns".to_owned(), "a".to_owned());
    s.write("configmaps", &key, true, |_, _| {
        Ok(Write::Put(json!({"metadata": {}})))
    })
    .expect("dry run");
    assert_eq!(
        s.subscribe("configmaps", None)
            .map(|s| s.resource_version)
            .ok(),
        Some(0)
    );
    assert!(s.get("configmaps", &key).is_none());
}
