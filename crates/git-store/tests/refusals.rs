//! What the store refuses, clearly and without writing anything, and what it reports
//! as a warning instead of a failure because the commit landed.

mod support;

use support::{alice, assert_fsck_clean, git, temp_store, upserts};
use windlass_git_store::{ChangeSet, Config, Error, Expect, Store};

#[test]
fn files_do_not_silently_become_directories_nor_directories_files() {
    let (dir, store) = temp_store(false);
    let base = store
        .commit(
            "main",
            &upserts(
                "base",
                &[("a", "file"), ("d/x.yaml", "x"), ("d/y.yaml", "y")],
            ),
            &Expect::Branch(None),
        )
        .expect("base")
        .commit;
    let before = git(dir.path(), &["rev-parse", "main"]);
    let refused = |change: ChangeSet, expected: &str| {
        let err = store
            .commit("main", &change, &Expect::Branch(base))
            .expect_err("refused");
        assert!(matches!(err, Error::PathKind { .. }), "{err}");
        assert_eq!(err.to_string(), expected);
    };
    refused(
        upserts("below a file", &[("a/x", "1")]),
        "a/x on main: a is a file; writing below it would turn it into a directory (delete it in the same change set to do so)",
    );
    refused(
        upserts("over a directory", &[("d", "1")]),
        "d on main: is a directory; writing a file there would delete everything below it (delete the directory first)",
    );
    refused(
        ChangeSet::new(alice(), "delete a directory")
            .delete("d")
            .expect("path"),
        "d on main: is a directory; deleting one takes a tree delete (ChangeSet::delete_tree)",
    );
    // A file, a sibling that sorts between, and a file below the first, in one set.
    let err = store
        .commit(
            "main",
            &upserts("both", &[("n", "1"), ("n.yaml", "2"), ("n/x", "3")]),
            &Expect::Branch(base),
        )
        .expect_err("refused");
    assert!(
        matches!(err, Error::InvalidPath { ref path, .. } if path == "n/x"),
        "{err}"
    );
    assert_eq!(
        git(dir.path(), &["rev-parse", "main"]),
        before,
        "nothing written"
    );

    // Asked for explicitly, both work.
    let change = ChangeSet::new(alice(), "replace")
        .delete("a")
        .and_then(|c| c.upsert("a/x", "below"))
        .and_then(|c| c.delete_tree("d"))
        .expect("paths");
    store
        .commit("main", &change, &Expect::Branch(base))
        .expect("asked for");
    assert_eq!(
        git(dir.path(), &["ls-tree", "-r", "--name-only", "main"]),
        "a/x\n"
    );
    assert_fsck_clean(dir.path());
}

#[test]
fn a_change_set_larger_than_the_limit_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        durable: false,
        max_change_set_size: 1000,
        ..Config::default()
    };
    let store = Store::init(dir.path(), true, config).expect("init");
    let text = "x".repeat(400);
    let err = store
        .commit(
            "main",
            &upserts("big", &[("a", &text), ("b", &text), ("c", &text)]),
            &Expect::Branch(None),
        )
        .expect_err("too large");
    assert!(
        matches!(
            err,
            Error::ChangeSetTooLarge {
                size: 1200,
                limit: 1000
            }
        ),
        "{err}"
    );
    assert_eq!(store.tip("main").expect("tip"), None);
}

#[test]
fn sha256_and_reftable_repositories_are_refused_clearly() {
    for (args, says) in [
        (
            &["init", "-q", "--bare", "--object-format=sha256"][..],
            "uses SHA-256 object ids (extensions.objectFormat); the store writes SHA-1 repositories only",
        ),
        (
            &["init", "-q", "--bare", "--ref-format=reftable"][..],
            "keeps its references in \"reftable\" (extensions.refStorage); the store moves branches as loose files only",
        ),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        git(dir.path(), args);
        for opened in [
            Store::open(dir.path(), Config::default()),
            Store::init(dir.path(), true, Config::default()),
        ] {
            let err = opened.expect_err("refused");
            assert!(matches!(err, Error::UnsupportedRepository { .. }), "{err}");
            assert!(err.to_string().ends_with(says), "{err}");
        }
    }
}

#[test]
fn a_reflog_that_cannot_be_written_is_a_warning_of_a_commit_that_landed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::init(dir.path(), false, Config::default()).expect("init");
    store
        .commit(
            "main",
            &upserts("first", &[("a", "1")]),
            &Expect::Branch(None),
        )
        .expect("first");
    // The reflog's place is taken by a directory: appending to it fails.
    let log = dir.path().join(".git/logs/refs/heads/main");
    std::fs::remove_file(&log).expect("reflog");
    std::fs::create_dir_all(log.join("in-the-way")).expect("directory");
    let outcome = store
        .commit(
            "main",
            &upserts("second", &[("b", "2")]),
            &Expect::Files(Default::default()),
        )
        .expect("the commit landed: not a failure");
    let commit = outcome.commit.expect("a commit");
    assert_eq!(
        git(dir.path(), &["rev-parse", "main"]).trim(),
        commit.to_string()
    );
    assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
    assert!(
        outcome.warnings[0].starts_with("refs/heads/main moved, but its reflog was not written"),
        "{:?}",
        outcome.warnings
    );
    // A commit with nothing going wrong has no warning.
    std::fs::remove_dir_all(&log).expect("cleared");
    let clean = store
        .commit(
            "main",
            &upserts("third", &[("c", "3")]),
            &Expect::Files(Default::default()),
        )
        .expect("third");
    assert!(clean.warnings.is_empty(), "{:?}", clean.warnings);
}
