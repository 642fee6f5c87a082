//! The indexers' plumbing: `commits_between`, `is_ancestor` and `commit_diff` agree
//! with `git rev-list`, `git merge-base --is-ancestor` and `git diff-tree --raw`.

use std::collections::BTreeSet;
use std::path::Path;

use windlass_git_store::{ChangeKind, Config, ObjectId, Store};
use windlass_testkit::git::git;

fn commit(dir: &Path, message: &str, files: &[(&str, Option<&str>)]) -> String {
    for (path, content) in files {
        match content {
            Some(text) => {
                let full = dir.join(path);
                std::fs::create_dir_all(full.parent().expect("a parent")).expect("dirs");
                std::fs::write(full, text).expect("write");
                git(dir, &["add", path]);
            }
            None => {
                git(dir, &["rm", "-q", path]);
            }
        }
    }
    git(
        dir,
        &[
            "-c",
            "user.name=A",
            "-c",
            "user.email=a@x",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            message,
        ],
    );
    git(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}

fn id(hex: &str) -> ObjectId {
    ObjectId::from_hex(hex.as_bytes()).expect("an id")
}

/// A history with a side branch merged back: a - b - c - m - e on main, d on side.
fn history() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    let a = commit(
        dir.path(),
        "a",
        &[("x/one.yaml", Some("1")), ("two", Some("2"))],
    );
    let b = commit(
        dir.path(),
        "b",
        &[("x/one.yaml", Some("1b")), ("y/z/three", Some("3"))],
    );
    git(dir.path(), &["checkout", "-q", "-b", "side"]);
    let d = commit(dir.path(), "d", &[("side", Some("s"))]);
    git(dir.path(), &["checkout", "-q", "main"]);
    let c = commit(dir.path(), "c", &[("two", None)]);
    git(
        dir.path(),
        &[
            "-c",
            "user.name=A",
            "-c",
            "user.email=a@x",
            "merge",
            "-q",
            "--no-edit",
            "side",
        ],
    );
    let m = git(dir.path(), &["rev-parse", "HEAD"]).trim().to_owned();
    let e = commit(dir.path(), "e", &[("y/z/three", Some("3e"))]);
    (dir, vec![a, b, c, d, m, e])
}

fn rev_list(dir: &Path, args: &[&str]) -> BTreeSet<String> {
    let mut all = vec!["rev-list"];
    all.extend_from_slice(args);
    git(dir, &all).lines().map(str::to_owned).collect()
}

#[test]
fn commits_between_is_rev_list() {
    let (dir, ids) = history();
    let store = Store::open(dir.path(), Config::default()).expect("open");
    let (a, b, c, d, m, e) = (&ids[0], &ids[1], &ids[2], &ids[3], &ids[4], &ids[5]);
    for (tip, hide) in [
        (e, vec![]),
        (e, vec![b]),
        (e, vec![d]),
        (e, vec![c, d]),
        (m, vec![e]),
        (d, vec![c]),
        (c, vec![d]),
        (a, vec![e]),
    ] {
        let found: Vec<String> = store
            .commits_between(id(tip), &hide.iter().map(|h| id(h)).collect::<Vec<_>>())
            .expect("walk")
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut args = vec![tip.as_str()];
        let negated: Vec<String> = hide.iter().map(|h| format!("^{h}")).collect();
        args.extend(negated.iter().map(String::as_str));
        let expected = rev_list(dir.path(), &args);
        assert_eq!(found.len(), expected.len(), "{tip} ^{hide:?}");
        assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), expected);
    }
    assert!(store.is_ancestor(id(a), id(e)).expect("walk"));
    assert!(store.is_ancestor(id(d), id(m)).expect("walk"));
    assert!(!store.is_ancestor(id(d), id(c)).expect("walk"));
    assert!(!store.is_ancestor(id(e), id(a)).expect("walk"));
}

#[test]
fn commit_diff_is_diff_tree_raw() {
    let (dir, ids) = history();
    let store = Store::open(dir.path(), Config::default()).expect("open");
    for commit in &ids {
        let diff = store.commit_diff(id(commit)).expect("diff");
        let first_parent = diff.parents.first().map(ToString::to_string);
        let mut args = vec![
            "diff-tree",
            "-r",
            "--root",
            "--no-renames",
            "--raw",
            "--no-commit-id",
        ];
        if let Some(parent) = &first_parent {
            args.push(parent);
        }
        args.push(commit);
        let expected: Vec<(String, char, String)> = git(dir.path(), &args)
            .lines()
            .map(|line| {
                let (meta, path) = line.split_once('\t').expect("a raw line");
                let fields: Vec<&str> = meta.split(' ').collect();
                let status = fields[4].chars().next().expect("a status");
                let blob = if status == 'D' { fields[2] } else { fields[3] };
                (path.to_owned(), status, blob.to_owned())
            })
            .collect();
        let found: Vec<(String, char, String)> = diff
            .files
            .iter()
            .map(|f| {
                let blob = if f.kind == ChangeKind::Deleted {
                    f.old_id
                } else {
                    f.new_id
                };
                (
                    f.path.clone(),
                    f.kind.letter(),
                    blob.expect("a blob").to_string(),
                )
            })
            .collect();
        assert_eq!(found, expected, "commit {commit}");
        for file in &diff.files {
            if let Some(blob) = file.new_id {
                let text = store.read_blob(blob).expect("blob");
                assert_eq!(
                    text.as_slice(),
                    store
                        .read_file(commit, &file.path)
                        .expect("read")
                        .expect("a file")
                        .as_slice()
                );
            }
        }
    }
    let merge = store.commit_diff(id(&ids[4])).expect("diff");
    assert_eq!(merge.parents.len(), 2);
    assert_eq!(
        merge.files.len(),
        1,
        "the merge brings `side` against its first parent"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// On random histories with merges, all made within a second or two (committer
    /// times tie), `commits_between` lists exactly what `git rev-list` lists.
    #[test]
    fn commits_between_is_rev_list_on_random_histories(
        parents in proptest::collection::vec((0usize..100, proptest::option::of(0usize..100)), 1..14),
        tip in 0usize..100,
        hide in proptest::collection::vec(0usize..100, 0..3),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        git(dir.path(), &["init", "-q", "--bare"]);
        let tree = git(dir.path(), &["mktree"]).trim().to_owned();
        let mut ids: Vec<String> = Vec::new();
        for (i, (first, second)) in parents.iter().enumerate() {
            let mut args = vec!["-c", "user.name=A", "-c", "user.email=a@x", "commit-tree", tree.as_str()];
            let message = format!("c{i}");
            let mut chosen = Vec::new();
            if i > 0 {
                chosen.push(ids[first % i].clone());
                if let Some(second) = second {
                    let other = ids[second % i].clone();
                    if !chosen.contains(&other) {
                        chosen.push(other);
                    }
                }
            }
            for parent in &chosen {
                args.push("-p");
                args.push(parent);
            }
            args.extend(["-m", message.as_str()]);
            ids.push(git(dir.path(), &args).trim().to_owned());
        }
        let store = Store::open(dir.path(), Config::default()).expect("open");
        let tip = &ids[tip % ids.len()];
        let hide: Vec<&String> = hide.iter().map(|h| &ids[h % ids.len()]).collect();
        let found: BTreeSet<String> = store
            .commits_between(id(tip), &hide.iter().map(|h| id(h)).collect::<Vec<_>>())
            .expect("walk")
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut args = vec![tip.clone()];
        args.extend(hide.iter().map(|h| format!("^{h}")));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        proptest::prop_assert_eq!(found, rev_list(dir.path(), &args));
    }
}
