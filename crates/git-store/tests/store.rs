//! Reads, change sets and optimistic concurrency, checked against `git`.

mod support;

use std::collections::BTreeMap;

use support::{alice, assert_fsck_clean, git, temp_store, upserts};
use windlass_git_store::{
    ChangeKind, ChangeSet, Config, ConflictReason, EntryKind, Error, Expect, FileExpectation,
    FlushObjects, Page, Store,
};

#[test]
fn commit_then_read_back_as_git_sees_it() {
    let (dir, store) = temp_store(true);
    let outcome = store
        .commit(
            "main",
            &upserts(
                "add two",
                &[("apps/web.yaml", "a: 1\n"), ("README", "hi\n")],
            ),
            &Expect::Branch(None),
        )
        .expect("first commit");
    let commit = outcome.commit.expect("a commit");
    assert_eq!(outcome.parent, None);
    assert_eq!(
        git(dir.path(), &["rev-parse", "main"]).trim(),
        commit.to_string()
    );
    assert_eq!(git(dir.path(), &["show", "main:apps/web.yaml"]), "a: 1\n");
    let log = git(
        dir.path(),
        &["log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", "main"],
    );
    assert_eq!(
        log.trim(),
        "Alice Example <alice@example.com>|Windlass <windlass@localhost>|add two"
    );

    assert_eq!(
        store.read_file("main", "apps/web.yaml").expect("read"),
        Some(b"a: 1\n".to_vec())
    );
    assert_eq!(
        store.read_file("main", "apps/missing.yaml").expect("read"),
        None
    );
    assert_eq!(
        store
            .read_file("main", "apps")
            .expect("a directory is no file"),
        None
    );
    let short = &commit.to_string()[..8];
    assert_eq!(store.resolve(short).expect("short id"), commit);
    git(dir.path(), &["tag", "v1", "main"]);
    assert_eq!(store.resolve("v1").expect("tag"), commit);
    assert!(matches!(
        store.resolve("nope"),
        Err(Error::RevisionNotFound { .. })
    ));

    let root = store.list_dir("main", "").expect("list").expect("root");
    let names: Vec<(String, EntryKind)> = root.into_iter().map(|e| (e.name, e.kind)).collect();
    assert_eq!(
        names,
        vec![
            ("README".into(), EntryKind::File),
            ("apps".into(), EntryKind::Dir)
        ]
    );
    assert_fsck_clean(dir.path());
}

#[test]
fn an_empty_change_set_makes_no_commit_unless_asked() {
    let (dir, store) = temp_store(false);
    let first = store
        .commit(
            "main",
            &upserts("one", &[("a", "1")]),
            &Expect::Branch(None),
        )
        .expect("commit")
        .commit;
    let same = store
        .commit(
            "main",
            &upserts("again", &[("a", "1")]),
            &Expect::Branch(first),
        )
        .expect("no-op");
    assert_eq!(same.commit, None);
    let mut forced = upserts("forced", &[("a", "1")]);
    forced.allow_empty = true;
    let forced = store
        .commit("main", &forced, &Expect::Branch(first))
        .expect("forced");
    assert!(forced.commit.is_some());
    assert_eq!(
        git(dir.path(), &["rev-list", "--count", "main"]).trim(),
        "2"
    );
    assert_fsck_clean(dir.path());
}

#[test]
fn whole_branch_mode_refuses_a_moved_branch() {
    let (dir, store) = temp_store(false);
    let base = store
        .commit(
            "main",
            &upserts("base", &[("a", "1")]),
            &Expect::Branch(None),
        )
        .expect("base")
        .commit;
    let moved = store
        .commit(
            "main",
            &upserts("other writer", &[("b", "2")]),
            &Expect::Branch(base),
        )
        .expect("other")
        .commit;
    let err = store
        .commit(
            "main",
            &upserts("stale", &[("c", "3")]),
            &Expect::Branch(base),
        )
        .expect_err("stale base");
    match err {
        Error::Conflict {
            reason: ConflictReason::BranchMoved { expected, actual },
            ..
        } => {
            assert_eq!(expected, base);
            assert_eq!(actual, moved);
        }
        other => panic!("expected a conflict, got {other}"),
    }
    assert_eq!(
        store.read_file("main", "c").expect("read"),
        None,
        "nothing written"
    );
    assert_fsck_clean(dir.path());
}

#[test]
fn per_file_mode_rebases_on_other_files_and_refuses_on_its_own() {
    let (dir, store) = temp_store(false);
    store
        .commit(
            "main",
            &upserts(
                "base",
                &[("apps/a.yaml", "a: 1\n"), ("apps/b.yaml", "b: 1\n")],
            ),
            &Expect::Branch(None),
        )
        .expect("base");
    let a_read = store
        .file_id("main", "apps/a.yaml")
        .expect("id")
        .expect("exists");
    let b_read = store
        .file_id("main", "apps/b.yaml")
        .expect("id")
        .expect("exists");

    // Someone else edits b.
    store
        .commit(
            "main",
            &upserts("edit b", &[("apps/b.yaml", "b: 2\n")]),
            &Expect::Files(BTreeMap::from([(
                "apps/b.yaml".into(),
                FileExpectation::Blob(b_read),
            )])),
        )
        .expect("edit b");
    // Our edit of a, based on the old tip, applies on top of the new one.
    let ours = store
        .commit(
            "main",
            &upserts("edit a", &[("apps/a.yaml", "a: 2\n")]),
            &Expect::Files(BTreeMap::from([(
                "apps/a.yaml".into(),
                FileExpectation::Blob(a_read),
            )])),
        )
        .expect("edit a applies on the new tip");
    assert!(ours.commit.is_some());
    assert_eq!(
        store.read_file("main", "apps/b.yaml").expect("read"),
        Some(b"b: 2\n".to_vec())
    );

    // A second edit of b from the stale read is refused, naming the file.
    let err = store
        .commit(
            "main",
            &upserts("stale b", &[("apps/b.yaml", "b: 3\n")]),
            &Expect::Files(BTreeMap::from([(
                "apps/b.yaml".into(),
                FileExpectation::Blob(b_read),
            )])),
        )
        .expect_err("b changed");
    assert!(
        matches!(&err, Error::Conflict { reason: ConflictReason::FileChanged { path, .. }, .. } if path == "apps/b.yaml"),
        "{err}"
    );
    // Creating a file that must not exist, when it does, is refused too.
    let err = store
        .commit(
            "main",
            &upserts("create a", &[("apps/a.yaml", "new\n")]),
            &Expect::Files(BTreeMap::from([(
                "apps/a.yaml".into(),
                FileExpectation::Absent,
            )])),
        )
        .expect_err("a exists");
    assert!(
        err.to_string()
            .contains("apps/a.yaml changed since it was read"),
        "{err}"
    );
    assert_eq!(
        git(dir.path(), &["rev-list", "--count", "main"]).trim(),
        "3"
    );
    assert_fsck_clean(dir.path());
}

#[test]
fn bad_input_is_rejected_and_nothing_is_written() {
    let (dir, store) = temp_store(false);
    store
        .commit(
            "main",
            &upserts("base", &[("a", "1")]),
            &Expect::Branch(None),
        )
        .expect("base");
    let before = git(dir.path(), &["rev-parse", "main"]);
    let objects_before = git(dir.path(), &["count-objects", "-v"]);
    for bad in [
        "../escape",
        "/abs",
        "a/./b",
        "a//b",
        "x\\y",
        ".git/config",
        "a\0b",
    ] {
        let mut change = ChangeSet::new(alice(), "bad");
        change.changes.insert(
            bad.into(),
            windlass_git_store::Change::Upsert(b"x".to_vec()),
        );
        let err = store
            .commit("main", &change, &Expect::Branch(None))
            .expect_err("rejected");
        assert!(matches!(err, Error::InvalidPath { .. }), "{bad:?}: {err}");
    }
    let config = store.config().clone();
    let big = vec![b'x'; config.max_blob_size + 1];
    let change = ChangeSet::new(alice(), "big")
        .upsert("big.bin", big)
        .expect("path ok");
    let err = store
        .commit("main", &change, &Expect::Branch(None))
        .expect_err("too big");
    assert!(matches!(err, Error::BlobTooLarge { .. }), "{err}");
    let mut bad_author = upserts("x", &[("b", "2")]);
    bad_author.author.email = "evil>\nInjected: header".into();
    let err = store
        .commit("main", &bad_author, &Expect::Branch(None))
        .expect_err("bad author");
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    let err = store
        .commit(
            "bad..branch",
            &upserts("x", &[("b", "2")]),
            &Expect::Branch(None),
        )
        .expect_err("bad branch");
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "branch",
                ..
            }
        ),
        "{err}"
    );

    assert_eq!(git(dir.path(), &["rev-parse", "main"]), before);
    assert_eq!(
        git(dir.path(), &["count-objects", "-v"]),
        objects_before,
        "no object written"
    );
    assert_fsck_clean(dir.path());
}

#[test]
fn deletes_remove_files_and_empty_directories() {
    let (dir, store) = temp_store(false);
    let first = store
        .commit(
            "main",
            &upserts("add", &[("d/x.yaml", "x"), ("d/y.yaml", "y"), ("top", "t")]),
            &Expect::Branch(None),
        )
        .expect("add")
        .commit;
    let change = ChangeSet::new(alice(), "rm")
        .delete("d/x.yaml")
        .expect("ok")
        .delete("d/y.yaml")
        .expect("ok");
    store
        .commit("main", &change, &Expect::Branch(first))
        .expect("delete");
    assert_eq!(
        git(dir.path(), &["ls-tree", "-r", "--name-only", "main"]),
        "top\n"
    );
    assert_eq!(store.list_dir("main", "d").expect("list"), None);
    assert_fsck_clean(dir.path());
}

#[test]
fn history_agrees_with_git_log() {
    let (dir, store) = temp_store(false);
    let mut tip = None;
    for i in 0..12 {
        let path = match i % 3 {
            0 => "apps/web.yaml",
            1 => "apps/api.yaml",
            _ => "infra/db.yaml",
        };
        tip = store
            .commit(
                "main",
                &upserts(&format!("change {i}"), &[(path, &format!("v: {i}\n"))]),
                &Expect::Branch(tip),
            )
            .expect("commit")
            .commit;
    }
    let rm = ChangeSet::new(alice(), "remove api")
        .delete("apps/api.yaml")
        .expect("ok");
    store.commit("main", &rm, &Expect::Branch(tip)).expect("rm");

    for path in [
        "apps/web.yaml",
        "apps",
        "infra",
        "",
        "apps/api.yaml",
        "nothing",
    ] {
        let pathspec = if path.is_empty() { "." } else { path };
        let expected: Vec<String> =
            git(dir.path(), &["log", "--format=%H", "main", "--", pathspec])
                .lines()
                .map(str::to_owned)
                .collect();
        // Page through three at a time.
        let mut ids = Vec::new();
        let mut page = Page::first(3);
        loop {
            let got = store.history("main", path, page).expect("history");
            ids.extend(got.commits.iter().map(|c| c.id.to_string()));
            match got.next {
                Some(next) => {
                    page = Page {
                        limit: 3,
                        after: Some(next),
                    }
                }
                None => break,
            }
        }
        assert_eq!(ids, expected, "history of {path:?}");
    }
    let page = store
        .history("main", "apps/api.yaml", Page::first(1))
        .expect("history");
    let newest = &page.commits[0];
    assert_eq!(newest.message.trim(), "remove api");
    assert_eq!(newest.author.email, "alice@example.com");
    assert_eq!(newest.committer.name, "Windlass");
    assert_eq!(newest.changes.len(), 1);
    assert_eq!(newest.changes[0].kind, ChangeKind::Deleted);
}

#[test]
fn diff_agrees_with_git_diff() {
    let (dir, store) = temp_store(false);
    let lines: String = (1..=20).map(|i| format!("line {i}\n")).collect();
    let from = store
        .commit(
            "main",
            &upserts(
                "base",
                &[
                    ("a.yaml", &lines),
                    ("b.yaml", "b\n"),
                    ("dir/c.yaml", "c\n"),
                    ("gone.yaml", "bye\n"),
                ],
            ),
            &Expect::Branch(None),
        )
        .expect("base")
        .commit
        .expect("commit");
    let edited = lines
        .replace("line 10\n", "line ten\n")
        .replace("line 2\n", "");
    let change = upserts(
        "edit",
        &[
            ("a.yaml", &edited),
            ("dir/new.yaml", "n\n"),
            ("dir/c.yaml", "c2\n"),
        ],
    )
    .delete("gone.yaml")
    .expect("ok");
    let to = store
        .commit("main", &change, &Expect::Branch(Some(from)))
        .expect("edit")
        .commit
        .expect("commit");

    let diff = store
        .diff(&from.to_string(), &to.to_string())
        .expect("diff");
    let ours: Vec<String> = diff
        .iter()
        .map(|d| format!("{}\t{}", d.kind.letter(), d.path))
        .collect();
    let theirs: Vec<String> = git(
        dir.path(),
        &[
            "diff",
            "--name-status",
            "--no-renames",
            &from.to_string(),
            &to.to_string(),
        ],
    )
    .lines()
    .map(str::to_owned)
    .collect();
    assert_eq!(ours, theirs);

    for file in &diff {
        let git_patch = git(
            dir.path(),
            &[
                "diff",
                "--no-renames",
                "--no-color",
                &from.to_string(),
                &to.to_string(),
                "--",
                &file.path,
            ],
        );
        // Drop git's `diff --git` and `index` lines; the rest must be the same text.
        let body: String = git_patch
            .lines()
            .skip_while(|l| !l.starts_with("--- "))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            file.unified.as_deref(),
            Some(body.as_str()),
            "{}",
            file.path
        );
    }
}

#[test]
fn load_entities_reads_manifests_at_a_revision() {
    let (_dir, store) = temp_store(false);
    let team = "apiVersion: windlass.dev/v1alpha1\nkind: Team\nmetadata:\n  name: devs\nspec:\n  members: [alice]\n";
    let broken =
        "apiVersion: windlass.dev/v1alpha1\nkind: Team\nmetadata:\n  name: Bad_Name\nspec: {}\n";
    store
        .commit(
            "main",
            &upserts(
                "teams",
                &[
                    ("access/teams/devs.yaml", team),
                    ("access/teams/bad.yaml", broken),
                    ("access/notes.txt", "x"),
                ],
            ),
            &Expect::Branch(None),
        )
        .expect("commit");
    let loaded = store.load_entities("main", "access").expect("load");
    assert_eq!(loaded.manifests.len(), 1);
    assert_eq!(loaded.manifests[0].entity.name(), Some("devs"));
    assert_eq!(loaded.errors.len(), 1);
    assert!(
        loaded.errors[0]
            .to_string()
            .starts_with("access/teams/bad.yaml:4:9: metadata.name:"),
        "{}",
        loaded.errors[0]
    );
}

#[test]
fn commits_write_packs_that_stay_few_and_maintenance_keeps_everything_readable() {
    let (dir, store) = temp_store(false);
    let mut tip = None;
    for i in 0..20 {
        tip = store
            .commit(
                "main",
                &upserts(
                    &format!("c{i}"),
                    &[(&format!("d/f{i}.yaml"), &format!("n: {i}\n"))],
                ),
                &Expect::Branch(tip),
            )
            .expect("commit")
            .commit;
    }
    let loose = |dir: &std::path::Path| -> usize {
        git(dir, &["count-objects", "-v"])
            .lines()
            .find_map(|l| l.strip_prefix("count: "))
            .and_then(|n| n.trim().parse().ok())
            .expect("count")
    };
    assert_eq!(
        loose(dir.path()),
        0,
        "commits write packs, not loose objects"
    );
    // Packs are rolled up in the background as they accumulate (geometrically).
    let packs = || {
        std::fs::read_dir(dir.path().join("objects/pack"))
            .expect("pack dir")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".idx"))
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while packs() > 12 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(packs() <= 12, "{} packs after 20 commits", packs());
    // The files commits replaced (the branch's previous file, merged indexes) are
    // deleted in the background, and no half-written file is left anywhere.
    let retired = dir.path().join("windlass-retired");
    let left = || std::fs::read_dir(&retired).map_or(0, |d| d.count());
    while left() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(left(), 0, "retired files are deleted");
    let strays: Vec<String> = std::fs::read_dir(dir.path().join("objects/pack"))
        .expect("pack dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("pack-"))
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
    assert_fsck_clean(dir.path());
    // Loose objects written by others (here: git) are packed by maintenance.
    let commit = git(
        dir.path(),
        &[
            "-c",
            "user.name=Git",
            "-c",
            "user.email=git@example.com",
            "commit-tree",
            "-m",
            "by git",
            "main^{tree}",
        ],
    );
    git(
        dir.path(),
        &["update-ref", "refs/heads/by-git", commit.trim()],
    );
    assert_eq!(loose(dir.path()), 1);
    store.maintain().expect("repack");
    assert_eq!(loose(dir.path()), 0);
    assert_fsck_clean(dir.path());
    assert_eq!(
        store.read_file("main", "d/f7.yaml").expect("read"),
        Some(b"n: 7\n".to_vec())
    );
    let after = store
        .commit(
            "main",
            &upserts("after", &[("d/new.yaml", "x")]),
            &Expect::Branch(tip),
        )
        .expect("commit after packing");
    assert!(after.commit.is_some());
    assert_eq!(
        store
            .history("main", "d", Page::first(100))
            .expect("history")
            .commits
            .len(),
        21
    );
}

#[test]
fn history_from_the_changed_path_index_agrees_with_git_log_even_when_torn() {
    let (dir, store) = temp_store(false);
    // `Some(text)`: upsert; `None`: delete the file; `Some("")`: delete the tree.
    let steps: &[&[(&str, Option<&str>)]] = &[
        &[("d/a.yaml", Some("1")), ("e/b.yaml", Some("1"))],
        &[("d/a.yaml", Some("2"))],
        &[("d/c.yaml", Some("1")), ("e/b.yaml", None)],
        &[("d/a.yaml", Some("2"))], // no change: no commit
        &[("e", Some("a file where a directory was"))],
        &[("d", Some(""))], // a whole directory removed
        &[("d/a.yaml", Some("3"))],
        &[
            ("e", None),
            ("e/f.yaml", Some("a directory where a file was")),
        ],
    ];
    for (n, step) in steps.iter().enumerate() {
        let mut change = ChangeSet::new(alice(), format!("step {n}"));
        for (path, content) in *step {
            change = match content {
                Some("") => change.delete_tree(path).expect("path"),
                Some(text) => change.upsert(path, *text).expect("path"),
                None => change.delete(path).expect("path"),
            };
        }
        store
            .commit("main", &change, &Expect::Files(Default::default()))
            .expect("commit");
    }
    drop(store);
    let index = dir.path().join("windlass-history");
    assert!(index.exists(), "the store keeps a changed-path index");
    for torn in [false, true] {
        if torn {
            // A record cut short by a crash ends what is read of the index.
            let mut data = std::fs::read(&index).expect("index");
            let len = data.len();
            data.truncate(len - 5);
            std::fs::write(&index, data).expect("index");
        }
        let fresh = Store::open(dir.path(), Config::default()).expect("open");
        for path in ["", "d", "d/a.yaml", "d/c.yaml", "e", "e/b.yaml", "x"] {
            let ours: Vec<String> = fresh
                .history("main", path, Page::first(100))
                .expect("history")
                .commits
                .iter()
                .map(|c| c.id.to_string())
                .collect();
            let theirs: Vec<String> = git(
                dir.path(),
                &[
                    "log",
                    "--format=%H",
                    "main",
                    "--",
                    if path.is_empty() { "." } else { path },
                ],
            )
            .lines()
            .map(str::to_owned)
            .collect();
            assert_eq!(ours, theirs, "history of {path:?} (torn index: {torn})");
        }
    }
}

#[test]
fn the_branch_moves_by_gits_lock_protocol_with_packed_refs_locks_and_reflog() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::init(dir.path(), false, Config::default()).expect("init");
    let first = store
        .commit(
            "main",
            &upserts("first", &[("a", "1")]),
            &Expect::Branch(None),
        )
        .expect("first")
        .commit;
    // The branch now lives in `packed-refs` only: the compare reads it from there.
    git(dir.path(), &["pack-refs", "--all", "--prune"]);
    assert!(!dir.path().join(".git/refs/heads/main").exists());
    let second = store
        .commit(
            "main",
            &upserts("second", &[("b", "2")]),
            &Expect::Branch(first),
        )
        .expect("second, based on the packed value")
        .commit;
    assert!(
        !dir.path().join(".git/packed-refs.lock").exists(),
        "an update leaves packed-refs alone"
    );
    let stale = store
        .commit(
            "main",
            &upserts("stale", &[("c", "3")]),
            &Expect::Branch(first),
        )
        .expect_err("the branch moved");
    assert!(matches!(
        stale,
        Error::Conflict {
            reason: ConflictReason::BranchMoved { actual, .. },
            ..
        } if actual == second
    ));

    // A `git` process in the middle of an update holds the lock: the store waits, then
    // gives up naming the lock, and changes nothing.
    let lock = dir.path().join(".git/refs/heads/main.lock");
    std::fs::write(&lock, "held by git\n").expect("lock");
    let locked = store
        .commit(
            "main",
            &upserts("locked", &[("d", "4")]),
            &Expect::Branch(second),
        )
        .expect_err("locked");
    assert!(locked.to_string().contains("main.lock"), "{locked}");
    assert!(lock.exists(), "another writer's lock is not ours to remove");
    std::fs::remove_file(&lock).expect("unlock");
    let third = store
        .commit(
            "main",
            &upserts("third", &[("d", "4")]),
            &Expect::Branch(second),
        )
        .expect("third")
        .commit
        .expect("a commit");
    assert_eq!(
        git(dir.path(), &["rev-parse", "main"]).trim(),
        third.to_string()
    );

    // A repository with a work tree logs branch updates, as `git` would.
    let reflog = git(dir.path(), &["reflog", "show", "--format=%H %gs", "main"]);
    let expected: Vec<String> = [Some(third), second, first]
        .iter()
        .zip(["third", "second", "first"])
        .map(|(id, message)| format!("{} windlass: {message}", id.expect("a commit")))
        .collect();
    assert_eq!(reflog.lines().collect::<Vec<_>>(), expected);
    assert_fsck_clean(dir.path());
}

#[test]
fn durable_commits_flushing_file_by_file_or_the_file_system_agree() {
    for flush_objects in [FlushObjects::Files, FlushObjects::FileSystem] {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            flush_objects,
            ..Config::default()
        };
        let store = Store::init(dir.path(), true, config).expect("init");
        let mut tip = None;
        for i in 0..10 {
            tip = store
                .commit(
                    "main",
                    &upserts(&format!("c{i}"), &[(&format!("d/f{i}.yaml"), "x: 1\n")]),
                    &Expect::Branch(tip),
                )
                .expect("commit")
                .commit;
        }
        assert_eq!(
            git(dir.path(), &["rev-parse", "main"]).trim(),
            tip.expect("a commit").to_string(),
            "{flush_objects:?}"
        );
        assert_eq!(
            git(dir.path(), &["rev-list", "--count", "main"]).trim(),
            "10"
        );
        assert_fsck_clean(dir.path());
    }
}

#[test]
fn a_store_opened_on_a_linked_worktree_commits_to_the_shared_branches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let main = dir.path().join("main");
    let store = Store::init(&main, false, Config::default()).expect("init");
    let first = store
        .commit(
            "main",
            &upserts("first", &[("a", "1")]),
            &Expect::Branch(None),
        )
        .expect("first")
        .commit;
    drop(store);
    let linked = dir.path().join("linked");
    git(
        &main,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "side",
            linked.to_str().expect("UTF-8"),
            "main",
        ],
    );
    let store = Store::open(&linked, Config::default()).expect("open the worktree");
    let side = store
        .commit(
            "side",
            &upserts("on side", &[("b", "2")]),
            &Expect::Branch(first),
        )
        .expect("commit on side")
        .commit
        .expect("a commit");
    // The main repository sees the branch move, and the objects.
    assert_eq!(git(&main, &["rev-parse", "side"]).trim(), side.to_string());
    assert_eq!(git(&main, &["show", "side:b"]), "2");
    assert!(!main.join(".git/worktrees/linked/refs/heads/side").exists());
    assert_fsck_clean(&main);
}
