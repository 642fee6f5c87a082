//! Model test: concurrent writers applying random change sets. The final tree equals
//! replaying the acknowledged change sets in commit order, and nothing acknowledged is
//! lost.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use support::{alice, assert_fsck_clean, temp_store};
use windlass_git_store::{Change, ChangeSet, Error, Expect, FileExpectation, ObjectId, Page};

const PATHS: &[&str] = &[
    "a.yaml",
    "b.yaml",
    "dir/c.yaml",
    "dir/d.yaml",
    "dir/sub/e.yaml",
    "f.yaml",
];

#[derive(Clone, Debug)]
struct Op {
    changes: BTreeMap<String, Option<String>>,
    /// Guard the first touched file with what the writer read just before.
    guarded: bool,
}

fn op() -> impl Strategy<Value = Op> {
    (
        proptest::collection::btree_map(
            proptest::sample::select(PATHS).prop_map(str::to_owned),
            proptest::option::weighted(0.8, "[a-z]{0,6}"),
            1..4,
        ),
        any::<bool>(),
    )
        .prop_map(|(changes, guarded)| Op { changes, guarded })
}

fn change_set(op: &Op, writer: usize, n: usize) -> ChangeSet {
    let mut change = ChangeSet::new(alice(), format!("writer {writer} op {n}"));
    for (path, content) in &op.changes {
        let c = match content {
            Some(text) => Change::Upsert(text.clone().into_bytes()),
            None => Change::Delete,
        };
        change.changes.insert(path.clone(), c);
    }
    change
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn concurrent_writers_lose_nothing(writers in proptest::collection::vec(proptest::collection::vec(op(), 1..8), 2..5)) {
        let (dir, store) = temp_store(false);
        let store = Arc::new(store);
        let acknowledged: Vec<Vec<(Option<ObjectId>, ChangeSet)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = writers
                .iter()
                .enumerate()
                .map(|(w, ops)| {
                    let store = store.clone();
                    scope.spawn(move || {
                        let mut acked = Vec::new();
                        for (n, op) in ops.iter().enumerate() {
                            let change = change_set(op, w, n);
                            let mut expect = BTreeMap::new();
                            if op.guarded {
                                let path = op.changes.keys().next().expect("non-empty");
                                let seen = match store.tip("main").expect("tip") {
                                    Some(tip) => store.file_id_at(tip, path).expect("id"),
                                    None => None,
                                };
                                let e = seen.map_or(FileExpectation::Absent, FileExpectation::Blob);
                                expect.insert(path.clone(), e);
                            }
                            match store.commit("main", &change, &Expect::Files(expect)) {
                                Ok(outcome) => acked.push((outcome.commit, change)),
                                Err(Error::Conflict { .. }) => {}
                                Err(e) => panic!("unexpected error: {e}"),
                            }
                        }
                        acked
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("writer")).collect()
        });

        let history = match store.tip("main").expect("tip") {
            Some(_) => store.history("main", "", Page::first(10_000)).expect("history").commits,
            None => Vec::new(),
        };
        let by_id: BTreeMap<ObjectId, &ChangeSet> = acknowledged
            .iter()
            .flatten()
            .filter_map(|(id, c)| id.map(|id| (id, c)))
            .collect();
        // Every acknowledged commit is on the branch, and the branch holds nothing else.
        let on_branch: Vec<ObjectId> = history.iter().map(|c| c.id).collect();
        for id in by_id.keys() {
            prop_assert!(on_branch.contains(id), "acknowledged commit {id} lost");
        }
        prop_assert_eq!(on_branch.len(), by_id.len());

        // Replaying the acknowledged change sets in commit order gives the final tree.
        let mut model: BTreeMap<String, String> = BTreeMap::new();
        for commit in history.iter().rev() {
            for (path, change) in &by_id[&commit.id].changes {
                match change {
                    Change::Upsert(bytes) => {
                        model.insert(path.clone(), String::from_utf8(bytes.clone()).expect("UTF-8"));
                    }
                    Change::Delete => {
                        model.remove(path);
                    }
                }
            }
        }
        for path in PATHS {
            let actual = match store.tip("main").expect("tip") {
                Some(tip) => store.read_file_at(tip, path).expect("read").map(|b| String::from_utf8(b).expect("UTF-8")),
                None => None,
            };
            prop_assert_eq!(actual.as_ref(), model.get(*path), "{}", path);
        }
        assert_fsck_clean(dir.path());
    }
}
