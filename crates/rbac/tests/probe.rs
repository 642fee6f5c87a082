//! The protocol probe against a real `git http-backend` that enforces per-user read
//! and write, as a Git host does.

use std::process::Command;
use std::time::Duration;

use windlass_rbac::{Credential, Error, GitPermission, ProbeConfig, Prober};
use windlass_testkit::git::git;
use windlass_testkit::http_backend::{GitHttpServer, Grant, User};
use windlass_testkit::replay::{ReplayServer, Route};

/// `config.git` with one commit, and `other.git`, bare, below a temp dir.
fn repos() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("temp dir");
    let work = root.path().join("work");
    std::fs::create_dir(&work).expect("work dir");
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("a.yaml"), "a: 1\n").expect("file");
    git(&work, &["add", "."]);
    git(
        &work,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "first",
        ],
    );
    git(
        root.path(),
        &["clone", "-q", "--bare", "work", "config.git"],
    );
    git(root.path(), &["init", "-q", "--bare", "other.git"]);
    root
}

fn users(bob_grant: Grant) -> Vec<User> {
    vec![
        User::new("alice", "alice-token").grant("config.git", Grant::Write),
        User::new("bob", "bob-token").grant("config.git", bob_grant),
        User::new("carol", "carol-token").grant("other.git", Grant::Read),
    ]
}

fn cred(name: &str) -> Credential {
    Credential::new(name, format!("{name}-token"))
}

#[tokio::test]
async fn the_server_itself_says_who_may_read_and_who_may_push() {
    let root = repos();
    let server = GitHttpServer::start_with_users(root.path(), users(Grant::Read));
    let prober = Prober::new(ProbeConfig::default()).expect("prober");
    let url = server.url("config.git");
    let ask = |c: Option<Credential>| {
        let prober = &prober;
        let url = url.clone();
        async move { prober.permission(&url, c.as_ref()).await.expect("probed") }
    };
    assert_eq!(ask(Some(cred("alice"))).await, GitPermission::Write);
    assert_eq!(ask(Some(cred("bob"))).await, GitPermission::Read);
    assert_eq!(
        ask(Some(cred("carol"))).await,
        GitPermission::None,
        "404: hidden"
    );
    assert_eq!(ask(None).await, GitPermission::None, "401: anonymous");
    assert_eq!(
        ask(Some(Credential::new("alice", "wrong"))).await,
        GitPermission::None,
        "a wrong secret is no one"
    );
    // The answers came from both advertisements, and a refused read asked no more.
    let targets: Vec<_> = server
        .served()
        .into_iter()
        .map(|s| (s.target, s.status))
        .collect();
    assert_eq!(
        targets
            .iter()
            .filter(|(t, _)| t.ends_with("service=git-receive-pack"))
            .count(),
        2,
        "only alice and bob could read, so only they were asked about pushing: {targets:?}"
    );
}

#[tokio::test]
async fn answers_are_cached_until_the_ttl_or_a_rejected_push() {
    let root = repos();
    let server = GitHttpServer::start_with_users(root.path(), users(Grant::Write));
    let prober = Prober::new(ProbeConfig::default()).expect("prober");
    let url = server.url("config.git");
    let bob = cred("bob");
    assert_eq!(
        prober.permission(&url, Some(&bob)).await.expect("probed"),
        GitPermission::Write
    );
    let asked = server.served().len();

    // The host revokes bob's write; the cached answer still says write...
    server.set_users(users(Grant::Read));
    assert_eq!(
        prober.permission(&url, Some(&bob)).await.expect("cached"),
        GitPermission::Write
    );
    assert_eq!(server.served().len(), asked, "answered from the cache");

    // ...until a push of his is rejected by the server.
    let clone = root.path().join("bob-clone");
    let authed = url.replace("http://", "http://bob:bob-token@");
    let out = Command::new("git")
        .args(["clone", "-q", &authed])
        .arg(&clone)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(clone.join("b.yaml"), "b: 1\n").expect("file");
    git(&clone, &["add", "."]);
    git(
        &clone,
        &[
            "-c",
            "user.name=b",
            "-c",
            "user.email=b@example.com",
            "commit",
            "-qm",
            "b",
        ],
    );
    let push = Command::new("git")
        .current_dir(&clone)
        .args(["push", "-q", "origin", "main"])
        .output()
        .expect("git");
    assert!(!push.status.success(), "the host refuses bob's push");
    prober.invalidate(&url, Some(&bob));
    assert_eq!(
        prober.permission(&url, Some(&bob)).await.expect("probed"),
        GitPermission::Read
    );

    // With no TTL, every check asks the server.
    let uncached = Prober::new(ProbeConfig {
        ttl: Duration::ZERO,
        ..ProbeConfig::default()
    })
    .expect("prober");
    let before = server.served().len();
    for _ in 0..2 {
        uncached.permission(&url, Some(&bob)).await.expect("probed");
    }
    assert_eq!(
        server.served().len(),
        before + 4,
        "two advertisements per check"
    );
}

#[tokio::test]
async fn what_tells_nothing_is_an_error_naming_the_url_never_a_permission() {
    let replay = ReplayServer::start(vec![
        Route {
            content_type: "text/html".into(),
            ..Route::json(
                "/login.git/info/refs?service=git-upload-pack",
                "<html>sign in</html>",
            )
        },
        Route::status("/down.git/info/refs?service=git-upload-pack", 503),
    ]);
    let prober = Prober::new(ProbeConfig::default()).expect("prober");
    let login = format!("{}/login.git", replay.url());
    match prober.permission(&login, Some(&cred("alice"))).await {
        Err(Error::Unexpected {
            url,
            status: 200,
            detail,
        }) => {
            assert!(url.starts_with(&login), "{url}");
            assert!(detail.contains("not a smart Git HTTP server"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    let down = format!("{}/down.git", replay.url());
    assert!(matches!(
        prober.permission(&down, None).await,
        Err(Error::Unexpected { status: 503, .. })
    ));
    // Not cached: the server is asked again.
    let _ = prober.permission(&down, None).await;
    assert_eq!(
        replay
            .received()
            .iter()
            .filter(|r| r.target.starts_with("/down.git"))
            .count(),
        2
    );
    // The credential went as HTTP Basic, as git sends it.
    let sent = &replay.received()[0];
    assert!(
        sent.header("authorization")
            .is_some_and(|v| v.starts_with("Basic "))
    );

    assert!(matches!(
        prober.permission("ssh://git@host/r.git", None).await,
        Err(Error::UnsupportedUrl { .. })
    ));
    // Nothing listens on port 1.
    assert!(matches!(
        prober.permission("http://127.0.0.1:1/r.git", None).await,
        Err(Error::Http { .. })
    ));
}
