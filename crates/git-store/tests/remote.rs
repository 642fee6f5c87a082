//! Remotes against real servers: fetch over `file://` and a loopback `git
//! http-backend`, push with a lease and a token, mirrors, and watching a branch.
//! `git` is the oracle.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{assert_fsck_clean, git, temp_store, upserts};
use windlass_git_store::{
    ChangeKind, Config, ConflictReason, Error, Expect, FileChange, ObjectId, Remote, Store,
};
use windlass_testkit::http_backend::GitHttpServer;

/// The server's write token (a test value, but treated like a real one: it must never
/// show up in errors).
const TOKEN: &str = "wl-test-token-9f3c2a7e";

/// A bare repository `origin.git` below a served root, with `main` (two commits),
/// `feature` and the tag `v1`.
struct Origin {
    _root: tempfile::TempDir,
    bare: PathBuf,
    server: GitHttpServer,
}

impl Origin {
    fn new() -> Origin {
        Origin::serve(false)
    }

    /// An origin whose reads need the token too.
    fn private() -> Origin {
        Origin::serve(true)
    }

    fn serve(private: bool) -> Origin {
        let root = tempfile::tempdir().expect("temp dir");
        let bare = root.path().join("origin.git");
        git(
            root.path(),
            &["init", "--quiet", "--bare", "-b", "main", "origin.git"],
        );
        {
            let seeder = Store::open(&bare, quick()).expect("open origin");
            let first = seeder
                .commit(
                    "main",
                    &upserts("first", &[("apps/web.yaml", "replicas: 1\n")]),
                    &Expect::Branch(None),
                )
                .expect("first commit")
                .commit;
            seeder
                .commit(
                    "main",
                    &upserts("second", &[("README", "hello\n")]),
                    &Expect::Branch(first),
                )
                .expect("second commit");
            seeder
                .commit(
                    "feature",
                    &upserts("feature", &[("apps/api.yaml", "replicas: 2\n")]),
                    &Expect::Branch(None),
                )
                .expect("feature commit");
        }
        git(&bare, &["tag", "v1", "main~1"]);
        let server = if private {
            GitHttpServer::start_private(root.path(), TOKEN)
        } else {
            GitHttpServer::start(root.path(), TOKEN)
        };
        Origin {
            _root: root,
            bare,
            server,
        }
    }

    fn http(&self) -> Remote {
        Remote::new(self.server.url("origin.git"))
    }

    fn http_with(&self, token: &str) -> Remote {
        Remote::with_token(self.server.url("origin.git"), "alice", token)
    }

    fn writer(&self) -> Remote {
        self.http_with(TOKEN)
    }

    fn file(&self) -> Remote {
        Remote::new(format!("file://{}", self.bare.display()))
    }

    fn rev(&self, rev: &str) -> String {
        rev_parse(&self.bare, rev)
    }

    fn refs(&self) -> String {
        refs(&self.bare)
    }
}

fn quick() -> Config {
    Config {
        durable: false,
        ..Config::default()
    }
}

fn rev_parse(dir: &Path, rev: &str) -> String {
    git(dir, &["rev-parse", "--verify", "--quiet", rev])
        .trim()
        .to_owned()
}

fn refs(dir: &Path) -> String {
    git(
        dir,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/heads",
            "refs/tags",
        ],
    )
}

/// A fresh local store with `main` fetched from `remote`; returns its tip.
fn clone_main(remote: &Remote) -> (tempfile::TempDir, Store, ObjectId) {
    let (dir, store) = temp_store(false);
    store
        .fetch(remote, &["+refs/heads/main:refs/heads/main"])
        .expect("fetch main");
    let tip = store.tip("main").expect("tip").expect("main was fetched");
    (dir, store, tip)
}

fn err_text(err: &Error) -> String {
    format!("{err} / {err:?}")
}

#[test]
fn fetch_over_file_and_http_brings_refs_and_objects() {
    let origin = Origin::new();
    for remote in [origin.file(), origin.http()] {
        let (dir, store) = temp_store(true);
        store
            .fetch(
                &remote,
                &[
                    "+refs/heads/main:refs/heads/main",
                    "+refs/heads/*:refs/remotes/origin/*",
                    "+refs/tags/*:refs/tags/*",
                ],
            )
            .unwrap_or_else(|e| panic!("fetch from {}: {e}", remote.url));
        for (local, there) in [
            ("refs/heads/main", "main"),
            ("refs/remotes/origin/main", "main"),
            ("refs/remotes/origin/feature", "feature"),
            ("refs/tags/v1", "v1"),
        ] {
            assert_eq!(rev_parse(dir.path(), local), origin.rev(there), "{local}");
        }
        assert_eq!(
            store
                .read_file("refs/remotes/origin/main", "apps/web.yaml")
                .expect("read"),
            Some(b"replicas: 1\n".to_vec())
        );
        assert_eq!(
            store
                .read_file("refs/remotes/origin/feature", "apps/api.yaml")
                .expect("read"),
            Some(b"replicas: 2\n".to_vec())
        );
        assert_eq!(
            store.read_file("v1", "README").expect("read"),
            None,
            "v1 is the first commit"
        );
        // Every object arrived: git can walk the whole history locally.
        let log = git(
            dir.path(),
            &["log", "--format=%s", "refs/remotes/origin/main"],
        );
        assert_eq!(log, "second\nfirst\n");
        assert_fsck_clean(dir.path());
    }
    let served = origin.server.served();
    assert!(
        served
            .iter()
            .any(|s| s.method == "POST" && s.target.ends_with("/git-upload-pack")),
        "the http fetch went through upload-pack: {served:?}"
    );
    assert!(
        served.iter().all(|s| s.status == 200 && !s.authorized),
        "reads need no credentials: {served:?}"
    );
}

#[test]
fn fetch_with_a_token_works_too() {
    let origin = Origin::new();
    let (dir, store) = temp_store(false);
    store
        .fetch(&origin.writer(), &["+refs/heads/*:refs/heads/*"])
        .expect("fetch with a token");
    assert_eq!(rev_parse(dir.path(), "main"), origin.rev("main"));
    assert_eq!(rev_parse(dir.path(), "feature"), origin.rev("feature"));
    assert_eq!(
        store.read_file("main", "README").expect("read"),
        Some(b"hello\n".to_vec())
    );
    assert_fsck_clean(dir.path());
}

#[test]
fn push_with_the_right_lease_and_token_is_accepted() {
    let origin = Origin::new();
    let (dir, store, base) = clone_main(&origin.http());
    let commit = store
        .commit(
            "main",
            &upserts("scale web", &[("apps/web.yaml", "replicas: 3\n")]),
            &Expect::Branch(Some(base)),
        )
        .expect("commit")
        .commit
        .expect("a commit");
    store
        .push(&origin.writer(), "main", Some(base))
        .expect("push accepted");
    assert_eq!(origin.rev("main"), commit.to_string());
    assert_eq!(
        git(&origin.bare, &["show", "main:apps/web.yaml"]),
        "replicas: 3\n"
    );
    assert_eq!(
        git(&origin.bare, &["log", "-1", "--format=%an|%cn|%s", "main"]).trim(),
        "Alice Example|Windlass|scale web"
    );

    // A new branch: the lease is "must not exist".
    store
        .commit(
            "release",
            &upserts("release", &[("VERSION", "1\n")]),
            &Expect::Branch(None),
        )
        .expect("commit on a new branch");
    store
        .push(&origin.writer(), "release", None)
        .expect("push a new branch");
    assert_eq!(origin.rev("release"), rev_parse(dir.path(), "release"));

    let served = origin.server.served();
    assert!(
        served.iter().any(|s| s.method == "POST"
            && s.target.ends_with("/git-receive-pack")
            && s.authorized
            && s.status == 200),
        "the push went through receive-pack with the token: {served:?}"
    );
    assert_fsck_clean(dir.path());
    assert_fsck_clean(&origin.bare);
}

#[test]
fn push_with_a_stale_lease_is_a_conflict_and_realigns_the_branch() {
    let origin = Origin::new();
    let (dir, store, base) = clone_main(&origin.http());
    let (other_dir, other, other_base) = clone_main(&origin.http());
    assert_eq!(base, other_base);

    // Someone else pushes first.
    let theirs = other
        .commit(
            "main",
            &upserts("their change", &[("apps/db.yaml", "replicas: 1\n")]),
            &Expect::Branch(Some(base)),
        )
        .expect("their commit")
        .commit
        .expect("a commit");
    other
        .push(&origin.writer(), "main", Some(base))
        .expect("their push");

    let ours = upserts("our change", &[("apps/web.yaml", "replicas: 5\n")]);
    store
        .commit("main", &ours, &Expect::Branch(Some(base)))
        .expect("our local commit");
    let err = store
        .push(&origin.writer(), "main", Some(base))
        .expect_err("the lease is stale");
    assert!(
        matches!(
            &err,
            Error::Conflict {
                branch,
                reason: ConflictReason::RemoteMoved { .. },
            } if branch == "main"
        ),
        "{err:?}"
    );
    assert!(!err_text(&err).contains(TOKEN));
    assert_eq!(
        origin.rev("main"),
        theirs.to_string(),
        "the remote kept theirs"
    );
    assert_eq!(
        store.tip("main").expect("tip"),
        Some(theirs),
        "the local branch is realigned with the remote"
    );
    assert_eq!(rev_parse(dir.path(), "main"), theirs.to_string());

    // Re-apply on the new tip and push again: accepted, both changes are there.
    let mine = store
        .commit("main", &ours, &Expect::Branch(Some(theirs)))
        .expect("re-applied")
        .commit
        .expect("a commit");
    store
        .push(&origin.writer(), "main", Some(theirs))
        .expect("the retry is accepted");
    assert_eq!(origin.rev("main"), mine.to_string());
    assert_eq!(
        git(&origin.bare, &["show", "main:apps/web.yaml"]),
        "replicas: 5\n"
    );
    assert_eq!(
        git(&origin.bare, &["show", "main:apps/db.yaml"]),
        "replicas: 1\n"
    );
    assert_fsck_clean(dir.path());
    assert_fsck_clean(other_dir.path());
    assert_fsck_clean(&origin.bare);
}

#[test]
fn push_without_the_right_token_is_an_auth_error_and_changes_nothing() {
    let origin = Origin::new();
    let before = origin.refs();
    let (dir, store, base) = clone_main(&origin.http());
    let commit = store
        .commit(
            "main",
            &upserts("sneaky", &[("apps/web.yaml", "replicas: 99\n")]),
            &Expect::Branch(Some(base)),
        )
        .expect("commit")
        .commit
        .expect("a commit");

    let wrong = "wl-wrong-token-51d0e6";
    for (remote, secret) in [
        (origin.http_with(wrong), Some(wrong)),
        (origin.http(), None),
    ] {
        let err = store
            .push(&remote, "main", Some(base))
            .expect_err("refused without the right token");
        assert!(matches!(err, Error::Auth { .. }), "{err:?}");
        let text = err_text(&err);
        assert!(!text.contains(TOKEN), "the token leaked into {text:?}");
        if let Some(secret) = secret {
            assert!(!text.contains(secret), "the token leaked into the error");
        }
        assert_eq!(origin.refs(), before, "the remote is unchanged");
        assert_eq!(
            store.tip("main").expect("tip"),
            Some(commit),
            "an auth failure does not realign the local branch"
        );
    }
    let served = origin.server.served();
    assert!(
        served
            .iter()
            .any(|s| s.target.contains("service=git-receive-pack") && s.status == 401),
        "the server challenged the push: {served:?}"
    );
    assert!(
        !served
            .iter()
            .any(|s| s.status == 200 && s.target.ends_with("/git-receive-pack")),
        "no pack was received: {served:?}"
    );
    assert_fsck_clean(dir.path());
    assert_fsck_clean(&origin.bare);
}

#[test]
fn a_mirror_has_every_branch_and_tag_and_serves_reads() {
    let origin = Origin::new();
    let cache = tempfile::tempdir().expect("temp dir");
    let mirror_dir = cache.path().join("mirror.git");
    let mirror = Store::mirror(&mirror_dir, &origin.http(), quick()).expect("mirror");
    assert_eq!(refs(&mirror_dir), origin.refs());
    assert_eq!(
        mirror.read_file("feature", "apps/api.yaml").expect("read"),
        Some(b"replicas: 2\n".to_vec())
    );
    assert_fsck_clean(&mirror_dir);

    // The remote moves: new commits on main, a new branch, a new tag.
    let (_dir, writer, base) = clone_main(&origin.http());
    let next = writer
        .commit(
            "main",
            &upserts("scale", &[("apps/web.yaml", "replicas: 4\n")]),
            &Expect::Branch(Some(base)),
        )
        .expect("commit")
        .commit
        .expect("a commit");
    writer
        .push(&origin.writer(), "main", Some(base))
        .expect("push main");
    writer
        .commit(
            "hotfix",
            &upserts("hotfix", &[("FIX", "1\n")]),
            &Expect::Branch(None),
        )
        .expect("commit hotfix");
    writer
        .push(&origin.writer(), "hotfix", None)
        .expect("push hotfix");
    git(&origin.bare, &["tag", "v2", "main"]);
    assert_ne!(refs(&mirror_dir), origin.refs());

    mirror.refresh_mirror(&origin.http()).expect("refresh");
    assert_eq!(refs(&mirror_dir), origin.refs());
    assert_eq!(mirror.resolve("main").expect("main"), next);
    assert_eq!(mirror.resolve("v2").expect("v2"), next);

    // A branch deleted on the remote disappears from the mirror.
    git(&origin.bare, &["branch", "-D", "hotfix"]);
    mirror.refresh_mirror(&origin.http()).expect("refresh");
    assert_eq!(refs(&mirror_dir), origin.refs());
    assert_eq!(mirror.tip("hotfix").expect("tip"), None);

    // Reads are served from the mirror alone: the remote can go away.
    drop(origin);
    assert_eq!(
        mirror.read_file("main", "apps/web.yaml").expect("read"),
        Some(b"replicas: 4\n".to_vec())
    );
    assert_eq!(
        mirror.read_file("v1", "apps/web.yaml").expect("read"),
        Some(b"replicas: 1\n".to_vec())
    );
    assert_fsck_clean(&mirror_dir);
}

#[test]
fn watch_reports_pushed_commits_oldest_first_on_refresh() {
    let origin = Origin::new();
    let cache = tempfile::tempdir().expect("temp dir");
    let mirror = Store::mirror(cache.path(), &origin.http(), quick()).expect("mirror");
    let watch = mirror
        .watch("main", Some(origin.http()), Duration::from_secs(3600))
        .expect("watch");
    assert!(
        watch.recv_timeout(Duration::from_millis(200)).is_none(),
        "nothing new yet"
    );

    let (_dir, writer, base) = clone_main(&origin.http());
    let one = writer
        .commit(
            "main",
            &upserts("one", &[("apps/web.yaml", "replicas: 2\n")]),
            &Expect::Branch(Some(base)),
        )
        .expect("commit")
        .commit
        .expect("a commit");
    let two = writer
        .commit(
            "main",
            &upserts("two", &[("apps/new.yaml", "a: 1\n")])
                .delete("README")
                .expect("valid path"),
            &Expect::Branch(Some(one)),
        )
        .expect("commit")
        .commit
        .expect("a commit");
    writer
        .push(&origin.writer(), "main", Some(base))
        .expect("push");

    watch.refresh_now();
    let commits = watch
        .recv_timeout(Duration::from_secs(60))
        .expect("a batch within the timeout")
        .expect("the refresh worked");
    let ids: Vec<ObjectId> = commits.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![one, two], "exactly the new commits, oldest first");
    assert_eq!(commits[0].message.trim(), "one");
    assert_eq!(
        commits[0].changes,
        vec![FileChange {
            path: "apps/web.yaml".into(),
            kind: ChangeKind::Modified
        }]
    );
    let mut second: Vec<(String, ChangeKind)> = commits[1]
        .changes
        .iter()
        .map(|c| (c.path.clone(), c.kind))
        .collect();
    second.sort();
    assert_eq!(
        second,
        vec![
            ("README".into(), ChangeKind::Deleted),
            ("apps/new.yaml".into(), ChangeKind::Added),
        ]
    );
    assert_eq!(mirror.resolve("main").expect("main"), two);

    // Nothing new: a second refresh reports nothing.
    watch.refresh_now();
    assert!(
        watch.recv_timeout(Duration::from_secs(2)).is_none(),
        "no change, no event"
    );

    // And the next push is reported on its own.
    let three = writer
        .commit(
            "main",
            &upserts("three", &[("apps/web.yaml", "replicas: 3\n")]),
            &Expect::Branch(Some(two)),
        )
        .expect("commit")
        .commit
        .expect("a commit");
    writer
        .push(&origin.writer(), "main", Some(two))
        .expect("push");
    watch.refresh_now();
    let commits = watch
        .recv_timeout(Duration::from_secs(60))
        .expect("a batch")
        .expect("the refresh worked");
    assert_eq!(
        commits.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![three]
    );
    drop(watch);
    assert_fsck_clean(cache.path());
}

#[test]
fn fetch_from_a_private_server_fails_without_the_right_token() {
    let origin = Origin::private();
    let wrong = "wl-wrong-token-0c7b19";
    for remote in [origin.http(), origin.http_with(wrong)] {
        let (dir, store) = temp_store(false);
        let err = store
            .fetch(&remote, &["+refs/heads/*:refs/heads/*"])
            .expect_err("no read without the token");
        assert!(matches!(err, Error::Auth { .. }), "{err:?}");
        let text = err_text(&err);
        assert!(!text.contains(TOKEN) && !text.contains(wrong), "{text}");
        assert_eq!(refs(dir.path()), "", "nothing was fetched");
    }
    let served = origin.server.served();
    assert!(
        served.iter().all(|s| s.status == 401 && !s.authorized),
        "{served:?}"
    );
}

/// gix (built without gix-transport's `http-client-insecure-credentials`) never sends
/// a token over plain `http://`: the fetch is an auth error that says so, and the
/// token never reaches the wire. (With that feature on, this fetch succeeds: assert
/// `refs(dir) == origin's heads` and an authorized `200` instead.)
/// Tokens go over plain http:// only to loopback (tests, a local proxy); anywhere else
/// the remote is refused before anything is sent.
#[test]
fn a_token_goes_over_http_only_to_loopback() {
    let origin = Origin::private();
    let (_dir, store) = temp_store(false);
    store
        .fetch(&origin.writer(), &["+refs/heads/*:refs/heads/*"])
        .expect("a private loopback server gets the token");
    assert_eq!(
        store.tip("main").expect("tip").map(|id| id.to_string()),
        Some(origin.rev("main"))
    );
    let served = origin.server.served();
    assert!(
        served.iter().any(|s| s.authorized),
        "the token was sent: {served:?}"
    );

    let remote = Remote::with_token("http://git.example.invalid/origin.git", "alice", TOKEN);
    let err = store
        .fetch(&remote, &["+refs/heads/*:refs/heads/*"])
        .expect_err("no token in clear text to a real host");
    assert!(err.to_string().contains("use https://"), "{err}");
    assert!(!err_text(&err).contains(TOKEN));
    let err = store
        .push(&remote, "main", None)
        .expect_err("push refused too");
    assert!(err.to_string().contains("use https://"), "{err}");
}

#[test]
fn a_large_push_streams_a_chunked_body() {
    let origin = Origin::new();
    let (dir, store, base) = clone_main(&origin.http());
    // Incompressible content well above git's 1 MiB http.postBuffer.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..3 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let change = windlass_git_store::ChangeSet::new(support::alice(), "big blob")
        .upsert("blobs/noise.bin", noise.clone())
        .expect("valid path");
    let commit = store
        .commit("main", &change, &Expect::Branch(Some(base)))
        .expect("commit")
        .commit
        .expect("a commit");
    store
        .push(&origin.writer(), "main", Some(base))
        .expect("a large push");
    assert_eq!(origin.rev("main"), commit.to_string());
    let blob = std::process::Command::new("git")
        .arg("-C")
        .arg(&origin.bare)
        .args(["cat-file", "blob", "main:blobs/noise.bin"])
        .output()
        .expect("git cat-file");
    assert!(blob.status.success());
    assert!(blob.stdout == noise, "the blob arrived intact");
    let served = origin.server.served();
    assert!(
        served
            .iter()
            .any(|s| s.target.ends_with("/git-receive-pack") && s.chunked && s.status == 200),
        "the pack was sent chunked: {served:?}"
    );
    assert_fsck_clean(dir.path());
    assert_fsck_clean(&origin.bare);
}

#[test]
fn a_push_refused_by_a_hook_is_no_conflict_and_keeps_the_local_branch() {
    let origin = Origin::new();
    let hook = origin.bare.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'main is frozen' >&2\nexit 1\n")
        .expect("write the hook");
    let mut perms = std::fs::metadata(&hook).expect("hook").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&hook, perms).expect("chmod the hook");

    let before = origin.refs();
    let (dir, store, base) = clone_main(&origin.http());
    let commit = store
        .commit(
            "main",
            &upserts(
                "refused",
                &[(
                    "apps/web.yaml",
                    "replicas: 7
",
                )],
            ),
            &Expect::Branch(Some(base)),
        )
        .expect("commit")
        .commit
        .expect("a commit");
    let err = store
        .push(&origin.writer(), "main", Some(base))
        .expect_err("the hook refuses");
    assert!(matches!(err, Error::Git { .. }), "{err:?}");
    assert!(
        err.to_string().contains("pre-receive hook declined"),
        "{err}"
    );
    assert!(!err_text(&err).contains(TOKEN));
    assert_eq!(origin.refs(), before, "the remote is unchanged");
    assert_eq!(
        store.tip("main").expect("tip"),
        Some(commit),
        "the local commit is kept: the remote did not move"
    );
    assert_fsck_clean(dir.path());
}

#[test]
fn a_push_to_a_deleted_remote_branch_is_a_conflict() {
    let origin = Origin::new();
    let (_dir, store, base) = clone_main(&origin.http());
    store
        .commit(
            "main",
            &upserts(
                "late",
                &[(
                    "apps/web.yaml",
                    "replicas: 8
",
                )],
            ),
            &Expect::Branch(Some(base)),
        )
        .expect("commit");
    // The remote's main goes away (HEAD moves to feature first).
    git(
        &origin.bare,
        &["symbolic-ref", "HEAD", "refs/heads/feature"],
    );
    git(&origin.bare, &["branch", "-D", "main"]);
    let err = store
        .push(&origin.writer(), "main", Some(base))
        .expect_err("the lease names a commit the remote no longer has");
    assert!(
        matches!(
            &err,
            Error::Conflict {
                reason: ConflictReason::RemoteMoved { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        git(&origin.bare, &["for-each-ref", "refs/heads/main"]),
        "",
        "the push did not recreate main"
    );
}

#[test]
fn remote_urls_that_could_run_commands_or_leak_credentials_are_refused() {
    let (dir, store) = temp_store(false);
    store
        .commit(
            "main",
            &upserts("one", &[("a.yaml", "a: 1\n")]),
            &Expect::Branch(None),
        )
        .expect("commit");
    let marker = dir.path().join("pwned");
    let cases = [
        Remote::new(format!("--receive-pack=touch {}", marker.display())),
        Remote::new(format!("ext::sh -c touch% {}", marker.display())),
        Remote::new("/srv/git/repo.git"),
        Remote::new("http://alice:hunter2@127.0.0.1:9/repo.git"),
        Remote::with_token(
            "http://127.0.0.1:9/repo.git",
            "alice",
            "tok\nusername=mallory",
        ),
    ];
    for remote in cases {
        let err = store
            .push(&remote, "main", None)
            .expect_err("refused before running git");
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
        assert!(!err_text(&err).contains("hunter2"), "{err}");
        let err = store
            .fetch(&remote, &["+refs/heads/*:refs/heads/*"])
            .expect_err("refused before connecting");
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
        assert!(!err_text(&err).contains("hunter2"), "{err}");
    }
    assert!(!marker.exists(), "no command ran");
}

#[test]
fn watch_after_a_rewrite_reports_only_the_new_history() {
    let origin = Origin::new();
    let cache = tempfile::tempdir().expect("temp dir");
    let mirror = Store::mirror(cache.path(), &origin.http(), quick()).expect("mirror");
    let first = mirror.resolve("main~1").expect("main~1");
    let watch = mirror
        .watch("main", Some(origin.http()), Duration::from_secs(3600))
        .expect("watch");

    // Someone force-pushes a different second commit onto the first.
    let (_dir, writer, old_tip) = clone_main(&origin.http());
    git(
        writer.git_dir(),
        &["update-ref", "refs/heads/main", &first.to_string()],
    );
    let replacement = writer
        .commit(
            "main",
            &upserts(
                "replacement",
                &[(
                    "apps/web.yaml",
                    "replicas: 6
",
                )],
            ),
            &Expect::Branch(Some(first)),
        )
        .expect("commit")
        .commit
        .expect("a commit");
    writer
        .push(&origin.writer(), "main", Some(old_tip))
        .expect("force push with the lease");

    watch.refresh_now();
    let commits = watch
        .recv_timeout(Duration::from_secs(60))
        .expect("a batch")
        .expect("the refresh worked");
    assert_eq!(
        commits.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![replacement],
        "only the commit after where the histories meet"
    );
}
