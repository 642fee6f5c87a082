//! Model tests of compare-and-swap.
//!
//! - One writer against an exact model: an expectation (`Expect::Branch` or
//!   `Expect::Files`) that holds must succeed, one that no longer holds must fail with
//!   `Conflict`, and the branch then holds exactly what the model does.
//! - Concurrent writers applying random change sets under random expectations: every
//!   acknowledged commit is on the branch and its expectation held on its parent; every
//!   conflict names a state the branch really was in, other than the one expected; the
//!   final tree equals replaying the acknowledged change sets in commit order.
//!
//! Durability is on in some cases.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use support::{alice, assert_fsck_clean, temp_store};
use windlass_git_store::{
    Change, ChangeSet, ConflictReason, Error, Expect, FileExpectation, ObjectId, Page, Store,
};

const PATHS: &[&str] = &[
    "a.yaml",
    "b.yaml",
    "dir/c.yaml",
    "dir/d.yaml",
    "dir/sub/e.yaml",
    "f.yaml",
];

/// How a write states what it expects.
#[derive(Clone, Copy, Debug)]
enum Guard {
    /// `Expect::Branch` with the tip the writer read.
    BranchRead,
    /// `Expect::Branch` with an earlier tip (or one that never was).
    BranchStale,
    /// `Expect::Files` with every touched file as the writer read it.
    FilesRead,
    /// `Expect::Files` with the first touched file as it is not.
    FilesWrong,
    /// `Expect::Files` with no expectation.
    FilesNone,
}

#[derive(Clone, Debug)]
struct Op {
    changes: BTreeMap<String, Option<String>>,
    guard: Guard,
}

fn op() -> impl Strategy<Value = Op> {
    (
        proptest::collection::btree_map(
            proptest::sample::select(PATHS).prop_map(str::to_owned),
            proptest::option::weighted(0.8, "[a-z]{0,6}"),
            1..4,
        ),
        prop_oneof![
            Just(Guard::BranchRead),
            Just(Guard::BranchStale),
            Just(Guard::FilesRead),
            Just(Guard::FilesWrong),
            Just(Guard::FilesNone),
        ],
    )
        .prop_map(|(changes, guard)| Op { changes, guard })
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

/// A blob id that is not `not` (nor, in practice, any file here).
fn other_blob(not: Option<ObjectId>) -> ObjectId {
    let mut bytes = [0x5a; 20];
    if not.is_some_and(|id| id.as_bytes() == bytes) {
        bytes[0] = 0xa5;
    }
    ObjectId::from_bytes_or_panic(&bytes)
}

/// The expectation `op.guard` asks for, from what the writer read (`tip`, and the
/// tips it saw before).
fn expectation(store: &Store, op: &Op, tip: Option<ObjectId>, seen: &[Option<ObjectId>]) -> Expect {
    let file = |path: &str| tip.and_then(|t| store.file_id_at(t, path).expect("id"));
    let read = |path: &str| file(path).map_or(FileExpectation::Absent, FileExpectation::Blob);
    match op.guard {
        Guard::BranchRead => Expect::Branch(tip),
        Guard::BranchStale => Expect::Branch(
            seen.iter()
                .rev()
                .find(|t| **t != tip)
                .copied()
                .unwrap_or(Some(other_blob(None))),
        ),
        Guard::FilesRead => {
            Expect::Files(op.changes.keys().map(|p| (p.clone(), read(p))).collect())
        }
        Guard::FilesWrong => {
            let path = op.changes.keys().next().expect("non-empty");
            let wrong = match file(path) {
                Some(id) if path.len().is_multiple_of(2) => {
                    FileExpectation::Blob(other_blob(Some(id)))
                }
                Some(_) => FileExpectation::Absent,
                None => FileExpectation::Blob(other_blob(None)),
            };
            Expect::Files(BTreeMap::from([(path.clone(), wrong)]))
        }
        Guard::FilesNone => Expect::Files(BTreeMap::new()),
    }
}

/// Whether `expect` holds on `commit` (`None`: the branch does not exist).
fn holds(store: &Store, expect: &Expect, commit: Option<ObjectId>) -> bool {
    match expect {
        Expect::Branch(expected) => *expected == commit,
        Expect::Files(files) => files.iter().all(|(path, expected)| {
            let actual = commit.and_then(|c| store.file_id_at(c, path).expect("id"));
            let expected = match expected {
                FileExpectation::Blob(id) => Some(*id),
                FileExpectation::Absent => None,
            };
            actual == expected
        }),
    }
}

fn apply(model: &mut BTreeMap<String, String>, change: &ChangeSet) {
    for (path, change) in &change.changes {
        match change {
            Change::Upsert(bytes) => {
                model.insert(
                    path.clone(),
                    String::from_utf8(bytes.clone()).expect("UTF-8"),
                );
            }
            _ => {
                model.remove(path);
            }
        }
    }
}

fn read_all(store: &Store) -> BTreeMap<String, String> {
    let Some(tip) = store.tip("main").expect("tip") else {
        return BTreeMap::new();
    };
    PATHS
        .iter()
        .filter_map(|path| {
            let bytes = store.read_file_at(tip, path).expect("read")?;
            Some((path.to_string(), String::from_utf8(bytes).expect("UTF-8")))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn an_expectation_that_holds_succeeds_and_one_that_does_not_conflicts(
        ops in proptest::collection::vec(op(), 1..16),
        durable in proptest::bool::weighted(0.25),
    ) {
        let (dir, store) = temp_store(durable);
        let mut model = BTreeMap::new();
        let mut tips = vec![None];
        for (n, op) in ops.iter().enumerate() {
            let tip = store.tip("main").expect("tip");
            prop_assert_eq!(Some(&tip), tips.last());
            let expect = expectation(&store, op, tip, &tips);
            let should_hold = holds(&store, &expect, tip);
            let change = change_set(op, 0, n);
            match store.commit("main", &change, &expect) {
                Ok(outcome) => {
                    prop_assert!(should_hold, "op {n} {op:?}: {expect:?} does not hold on {tip:?}, yet it committed");
                    prop_assert_eq!(outcome.parent, tip);
                    prop_assert!(outcome.warnings.is_empty());
                    apply(&mut model, &change);
                    if let Some(commit) = outcome.commit {
                        tips.push(Some(commit));
                    }
                }
                Err(Error::Conflict { reason, .. }) => {
                    prop_assert!(!should_hold, "op {n} {op:?}: {expect:?} holds on {tip:?}, yet: {reason}");
                }
                Err(e) => panic!("unexpected error: {e}"),
            }
            prop_assert_eq!(&read_all(&store), &model, "after op {}", n);
        }
        if tips.len() > 1 {
            assert_fsck_clean(dir.path());
        }
    }

    #[test]
    fn concurrent_writers_lose_nothing_and_compare_and_swap_holds(
        writers in proptest::collection::vec(proptest::collection::vec(op(), 1..8), 2..5),
        durable in proptest::bool::weighted(0.25),
    ) {
        let (dir, store) = temp_store(durable);
        let store = Arc::new(store);
        type Acked = (Option<ObjectId>, Option<ObjectId>, Expect, ChangeSet);
        type Writer = (Vec<Acked>, Vec<(Expect, ConflictReason)>);
        let results: Vec<Writer> = std::thread::scope(|scope| {
            let handles: Vec<_> = writers
                .iter()
                .enumerate()
                .map(|(w, ops)| {
                    let store = store.clone();
                    scope.spawn(move || {
                        let mut acked = Vec::new();
                        let mut conflicts = Vec::new();
                        let mut seen = vec![None];
                        for (n, op) in ops.iter().enumerate() {
                            let change = change_set(op, w, n);
                            let tip = store.tip("main").expect("tip");
                            let expect = expectation(&store, op, tip, &seen);
                            seen.push(tip);
                            match store.commit("main", &change, &expect) {
                                Ok(outcome) => acked.push((outcome.commit, outcome.parent, expect, change)),
                                Err(Error::Conflict { reason, .. }) => conflicts.push((expect, reason)),
                                Err(e) => panic!("unexpected error: {e}"),
                            }
                        }
                        (acked, conflicts)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("writer")).collect()
        });

        let history = match store.tip("main").expect("tip") {
            Some(_) => store.history("main", "", Page::first(10_000)).expect("history").commits,
            None => Vec::new(),
        };
        let acknowledged: Vec<&Acked> = results.iter().flat_map(|(a, _)| a).collect();
        let by_id: BTreeMap<ObjectId, &ChangeSet> = acknowledged
            .iter()
            .filter_map(|(id, _, _, c)| id.map(|id| (id, c)))
            .collect();
        // Every acknowledged commit is on the branch, and the branch holds nothing else.
        let on_branch: Vec<ObjectId> = history.iter().map(|c| c.id).collect();
        for id in by_id.keys() {
            prop_assert!(on_branch.contains(id), "acknowledged commit {id} lost");
        }
        prop_assert_eq!(on_branch.len(), by_id.len());
        // Each acknowledged write's expectation held on the commit it was applied on,
        // which is its commit's parent on the branch.
        for (commit, parent, expect, _) in &acknowledged {
            prop_assert!(holds(&store, expect, *parent), "{expect:?} did not hold on {parent:?}");
            if let Some(commit) = commit {
                let info = history.iter().find(|c| c.id == *commit).expect("on the branch");
                prop_assert_eq!(info.parents.first().copied(), *parent);
            }
        }
        // Each conflict names a state the branch was in, other than the one expected.
        let states: BTreeSet<Option<ObjectId>> =
            std::iter::once(None).chain(on_branch.iter().copied().map(Some)).collect();
        for (expect, reason) in results.iter().flat_map(|(_, c)| c) {
            match reason {
                ConflictReason::BranchMoved { expected, actual } => {
                    prop_assert!(expected != actual);
                    prop_assert!(states.contains(actual), "{actual:?} never was the tip");
                    if let Expect::Branch(e) = expect {
                        prop_assert_eq!(e, expected);
                    }
                }
                ConflictReason::FileChanged { path, expected, actual } => {
                    prop_assert!(expected != actual);
                    let was = states
                        .iter()
                        .any(|s| s.and_then(|c| store.file_id_at(c, path).expect("id")) == *actual);
                    prop_assert!(was, "{path} never was {actual:?}");
                    let Expect::Files(files) = expect else {
                        panic!("a file conflict of a whole-branch write");
                    };
                    let stated = match files.get(path) {
                        Some(FileExpectation::Blob(id)) => Some(*id),
                        _ => None,
                    };
                    prop_assert_eq!(stated, *expected);
                }
                ConflictReason::RemoteMoved { .. } => panic!("no remote here"),
            }
        }

        // Replaying the acknowledged change sets in commit order gives the final tree.
        let mut model = BTreeMap::new();
        for commit in history.iter().rev() {
            apply(&mut model, by_id[&commit.id]);
        }
        prop_assert_eq!(read_all(&store), model);
        if !history.is_empty() {
            assert_fsck_clean(dir.path());
        }
    }
}
