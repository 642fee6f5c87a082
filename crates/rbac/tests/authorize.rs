//! End to end: permissions asked of a real `git http-backend` enforcing per-user read
//! and write, access rules committed (pushed) to a real config repository, and the
//! decision on top.

use std::path::Path;
use std::process::Command;

use windlass_entity_model::windlass::AccessAction;
use windlass_git_store::{Config, Store};
use windlass_rbac::{
    Authorizer, Credential, Decision, EntityAttributes, Error, GitAccess, ManifestLocation,
    ProbeConfig, Reason, RulesLoader, Subject,
};
use windlass_testkit::git::git;
use windlass_testkit::http_backend::{GitHttpServer, Grant, User};

const DEPLOYERS: &str = "apiVersion: windlass.dev/v1alpha1
kind: Team
metadata:
  name: deployers
spec:
  members: [bob, bob@example.com]
";

const APP: &str = "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
spec:
  project: default
  source: {repoURL: 'https://example.com/guestbook.git', path: deploy}
  destination: {server: 'https://kubernetes.default.svc', namespace: shop}
";

/// `config.git` (the account's config repository, with the team `deployers`) and
/// `apps.git` (holding the guestbook Application), bare, below a temp dir.
fn repos() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("temp dir");
    for (name, files) in [
        ("config", vec![("access/teams/deployers.yaml", DEPLOYERS)]),
        ("apps", vec![("guestbook/application.yaml", APP)]),
    ] {
        let work = root.path().join(format!("{name}-work"));
        std::fs::create_dir(&work).expect("work dir");
        git(&work, &["init", "-q", "-b", "main"]);
        for (path, text) in files {
            let file = work.join(path);
            std::fs::create_dir_all(file.parent().expect("a directory")).expect("dirs");
            std::fs::write(file, text).expect("file");
        }
        git(&work, &["add", "."]);
        commit(&work, "first");
        git(
            root.path(),
            &[
                "clone",
                "-q",
                "--bare",
                &format!("{name}-work"),
                &format!("{name}.git"),
            ],
        );
    }
    root
}

fn commit(work: &Path, message: &str) {
    git(
        work,
        &[
            "-c",
            "user.name=Alice",
            "-c",
            "user.email=alice@example.com",
            "commit",
            "-qm",
            message,
        ],
    );
}

fn users(dave: Grant) -> Vec<User> {
    vec![
        // alice administers both repositories: she writes the rules.
        User::new("alice", "alice-token")
            .grant("config.git", Grant::Write)
            .grant("apps.git", Grant::Write),
        // bob, a deployer, may only read the application's manifest.
        User::new("bob", "bob-token").grant("apps.git", Grant::Read),
        // carol sees neither.
        User::new("carol", "carol-token"),
        User::new("dave", "dave-token").grant("apps.git", dave),
    ]
}

fn subject(name: &str) -> (Subject, Credential) {
    (
        Subject {
            user: name.into(),
            identities: vec![name.into()],
        },
        Credential::new(name, format!("{name}-token")),
    )
}

/// Pushes `files` (path, content) to the repository at `url` as `user`, in a fresh
/// clone; whether the server took the push.
fn push(root: &Path, url: &str, user: &str, files: &[(&str, &str)]) -> bool {
    let clone = tempfile::tempdir_in(root).expect("clone dir");
    let authed = url.replace("http://", &format!("http://{user}:{user}-token@"));
    git(clone.path(), &["clone", "-q", &authed, "."]);
    for (path, text) in files {
        let file = clone.path().join(path);
        std::fs::create_dir_all(file.parent().expect("a directory")).expect("dirs");
        std::fs::write(file, text).expect("file");
    }
    git(clone.path(), &["add", "."]);
    commit(clone.path(), "change");
    Command::new("git")
        .current_dir(clone.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(["push", "-q", "origin", "main"])
        .output()
        .expect("git")
        .status
        .success()
}

fn rule(actions: &str) -> String {
    format!(
        "apiVersion: windlass.dev/v1alpha1
kind: AccessRule
metadata:
  name: deployers-operate-shop
spec:
  teams: [deployers]
  actions: {actions}
  anyOf:
    - namespaces: [shop]
    - applications: ['payments-*']
"
    )
}

struct Fixture {
    root: tempfile::TempDir,
    server: GitHttpServer,
    authorizer: Authorizer,
    app: EntityAttributes,
    manifest: ManifestLocation,
}

impl Fixture {
    fn new() -> Fixture {
        let root = repos();
        let server = GitHttpServer::start_with_users(root.path(), users(Grant::Write));
        let store = Store::open(root.path().join("config.git"), Config::default()).expect("store");
        let authorizer = Authorizer::new(
            GitAccess::new(ProbeConfig::default(), None).expect("access"),
            RulesLoader::new(store),
            "main",
        );
        let manifest = ManifestLocation {
            repo_url: server.url("apps.git"),
            branch: Some("main".into()),
            path: "guestbook/application.yaml".into(),
        };
        let app = EntityAttributes {
            kind: "Application".into(),
            name: "guestbook".into(),
            namespace: Some("shop".into()),
            application: Some("guestbook".into()),
            ..EntityAttributes::default()
        };
        Fixture {
            root,
            server,
            authorizer,
            app,
            manifest,
        }
    }

    async fn ask(&self, user: Option<&str>, action: AccessAction) -> Decision {
        self.try_ask(user, action).await.expect("decided")
    }

    async fn try_ask(&self, user: Option<&str>, action: AccessAction) -> Result<Decision, Error> {
        let (who, credential) = match user {
            Some(name) => {
                let (s, c) = subject(name);
                (s, Some(c))
            }
            None => (Subject::default(), None),
        };
        self.authorizer
            .authorize(&who, credential.as_ref(), action, &self.app, &self.manifest)
            .await
    }

    fn push_rule(&self, text: &str) {
        assert!(
            push(
                self.root.path(),
                &self.server.url("config.git"),
                "alice",
                &[("access/rules/deployers-operate-shop.yaml", text)],
            ),
            "alice may push to the config repository"
        );
    }
}

#[tokio::test]
async fn a_reader_may_sync_once_a_rule_committed_to_the_config_repository_grants_it() {
    let f = Fixture::new();

    // bob can read the manifest; no rule yet, so no sync.
    let d = f.ask(Some("bob"), AccessAction::Sync).await;
    assert!(!d.allowed);
    assert_eq!(
        d.reason,
        Reason::NotGranted {
            teams: vec!["deployers".into()]
        }
    );
    assert!(f.ask(Some("bob"), AccessAction::View).await.allowed);

    // alice commits a rule granting sync to bob's team: it applies from the next request.
    f.push_rule(&rule("[sync]"));
    let d = f.ask(Some("bob"), AccessAction::Sync).await;
    assert!(d.allowed, "{}", d.reason);
    assert_eq!(
        d.reason.to_string(),
        r#"access rule "deployers-operate-shop" grants it to team "deployers" (its attributes and anyOf[0] match)"#
    );
    assert!(!f.ask(Some("bob"), AccessAction::Exec).await.allowed);

    // Even a rule granting every action never gives bob a commit: Git is the ceiling.
    f.push_rule(&rule("['*']"));
    assert!(f.ask(Some("bob"), AccessAction::Exec).await.allowed);
    for action in [AccessAction::Commit, AccessAction::Delete] {
        let d = f.ask(Some("bob"), action).await;
        assert!(!d.allowed, "{action:?}: {}", d.reason);
        assert_eq!(
            d.reason.to_string(),
            "needs write permission on the Git repository holding the manifest; you have read, and access rules cannot grant what Git does not"
        );
    }

    // A rule naming commit is refused outright, and then no rule applies at all.
    f.push_rule(&rule("[sync, commit]"));
    match f.try_ask(Some("bob"), AccessAction::Sync).await {
        Err(Error::InvalidRules { errors, .. }) => {
            let text: Vec<_> = errors.iter().map(ToString::to_string).collect();
            assert_eq!(
                text,
                [
                    r#"access/rules/deployers-operate-shop.yaml:7:19: spec.actions[1]: "commit" cannot be granted by a rule: it is a Git commit, which needs write permission on the repository holding the manifest (Git is the ceiling)"#
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    // Writers and viewers do not depend on the rules, so they are not held up.
    assert!(f.ask(Some("dave"), AccessAction::Sync).await.allowed);
    assert!(f.ask(Some("bob"), AccessAction::View).await.allowed);

    // Removing the rule takes bob's sync away again.
    let clone = tempfile::tempdir_in(f.root.path()).expect("clone dir");
    let url = f
        .server
        .url("config.git")
        .replace("http://", "http://alice:alice-token@");
    git(clone.path(), &["clone", "-q", &url, "."]);
    git(
        clone.path(),
        &["rm", "-q", "access/rules/deployers-operate-shop.yaml"],
    );
    commit(clone.path(), "deployers no longer operate shop");
    git(clone.path(), &["push", "-q", "origin", "main"]);
    assert!(!f.ask(Some("bob"), AccessAction::Sync).await.allowed);
}

#[tokio::test]
async fn writers_need_no_rule_and_those_who_cannot_read_see_nothing() {
    let f = Fixture::new();
    let d = f.ask(Some("dave"), AccessAction::Sync).await;
    assert!(d.allowed);
    assert_eq!(
        d.reason.to_string(),
        "write permission on the Git repository holding the manifest"
    );
    assert!(f.ask(Some("dave"), AccessAction::Commit).await.allowed);

    for user in [Some("carol"), None] {
        let d = f.ask(user, AccessAction::View).await;
        assert!(!d.allowed, "{user:?}");
        assert_eq!(
            d.reason.to_string(),
            "needs read permission on the Git repository holding the manifest; you have none, and access rules cannot grant what Git does not"
        );
    }
    // A rule for carol's team would not change that.
    f.push_rule(&rule("['*']"));
    let (mut carol, credential) = subject("carol");
    carol.identities.push("bob".into());
    let d = f
        .authorizer
        .authorize(
            &carol,
            Some(&credential),
            AccessAction::Sync,
            &f.app,
            &f.manifest,
        )
        .await
        .expect("decided");
    assert!(!d.allowed, "{}", d.reason);
}

#[tokio::test]
async fn a_rejected_push_makes_the_next_request_ask_the_server_again() {
    let f = Fixture::new();
    assert!(f.ask(Some("dave"), AccessAction::Sync).await.allowed);

    // The host takes dave's write away; the answer kept for a while still says write...
    f.server.set_users(users(Grant::Read));
    let asked = f.server.served().len();
    assert!(f.ask(Some("dave"), AccessAction::Sync).await.allowed);
    assert_eq!(f.server.served().len(), asked, "answered from the cache");

    // ...until the host rejects a push of his.
    assert!(
        !push(
            f.root.path(),
            &f.manifest.repo_url,
            "dave",
            &[("guestbook/values.yaml", "replicas: 3\n")]
        ),
        "the host refuses dave's push"
    );
    let (_, credential) = subject("dave");
    f.authorizer
        .push_rejected(&f.manifest.repo_url, Some(&credential));
    let d = f.ask(Some("dave"), AccessAction::Sync).await;
    assert!(!d.allowed);
    assert_eq!(d.reason, Reason::NotGranted { teams: vec![] });
}

/// One authorizer serves every request of a multi-threaded server.
#[test]
fn the_authorizer_is_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    fn sent<T: Send>(_: &T) {}
    shared::<Authorizer>();
    let f = Fixture::new();
    let (bob, credential) = subject("bob");
    let request = f.authorizer.authorize(
        &bob,
        Some(&credential),
        AccessAction::Sync,
        &f.app,
        &f.manifest,
    );
    sent(&request);
}
