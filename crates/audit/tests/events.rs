//! Audit events read from real Git repositories written by several authors.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use proptest::prelude::*;
use windlass_audit::{
    Action, AuditIndex, CommitEvent, EntityRef, Event, Query, write_csv, write_json_lines,
};
use windlass_git_store::{Config, Store};
use windlass_testkit::git::git;

/// A non-bare repository whose commits get fixed authors and times (so ids are stable).
struct Repo {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: i64,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config");
        std::fs::create_dir(&path).expect("repo dir");
        git(&path, &["init", "-q", "-b", "main"]);
        Repo {
            _dir: dir,
            path,
            clock: 1_700_000_000,
        }
    }

    fn write(&self, file: &str, text: &str) {
        let full = self.path.join(file);
        std::fs::create_dir_all(full.parent().expect("a parent")).expect("dirs");
        std::fs::write(full, text).expect("write");
        git(&self.path, &["add", file]);
    }

    fn remove(&self, file: &str) {
        git(&self.path, &["rm", "-q", file]);
    }

    /// Commits what is staged as `who` (name and e-mail from the first name), an hour
    /// after the previous commit.
    fn commit(&mut self, who: &str, message: &str) -> String {
        self.clock += 3600;
        let date = format!("{} +0000", self.clock);
        let email = format!("{}@example.com", who.to_lowercase());
        let output = Command::new("git")
            .arg("-C")
            .arg(&self.path)
            .args(["commit", "-q", "--allow-empty", "-m", message])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", who)
            .env("GIT_AUTHOR_EMAIL", &email)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_NAME", "Windlass")
            .env("GIT_COMMITTER_EMAIL", "windlass@example.com")
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .expect("git is required for these tests (apt-get install git)");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        git(&self.path, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    fn store(&self) -> Store {
        Store::open(&self.path, Config::default()).expect("open the store")
    }
}

fn app(name: &str, project: &str, extra: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\nspec:\n  project: {project}\n  destination: {{server: https://kubernetes.default.svc}}\n{extra}"
    )
}

const SETTINGS: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: web}\ndata: {color: blue}\n---\n# not an entity\nfoo: bar\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: web}\nspec: {replicas: 2, template: {spec: {containers: []}}}\n";

/// A small history by three authors; returns the repository and its commits in order.
fn small_history() -> (Repo, Vec<String>) {
    let mut repo = Repo::new();
    let mut ids = Vec::new();
    repo.write("apps/web.yaml", &app("web", "default", ""));
    repo.write("README.md", "# config\n");
    ids.push(repo.commit("Alice", "add web"));
    repo.write("clusters/prod/web.yaml", SETTINGS);
    ids.push(repo.commit("Bob", "web settings"));
    repo.write(
        "apps/web.yaml",
        &app("web", "team-a", "  syncPolicy: {automated: {prune: yes}}\n"),
    );
    ids.push(repo.commit("Alice", "move web to team-a"));
    repo.write(
        "clusters/prod/web.yaml",
        &SETTINGS.replace("replicas: 2", "replicas: 3"),
    );
    repo.write("README.md", "# config repo\n");
    ids.push(repo.commit("Carol", "scale web"));
    repo.write(
        "apps/broken.yaml",
        "kind: Application\nmetadata: {name: x\n",
    );
    ids.push(repo.commit("Bob", "oops"));
    repo.remove("apps/web.yaml");
    ids.push(repo.commit("Carol", "remove web"));
    (repo, ids)
}

fn commits(events: &[Event]) -> Vec<&CommitEvent> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Commit(c) => Some(c),
            Event::ForcePush(_) => None,
        })
        .collect()
}

fn open_index(dir: &Path) -> AuditIndex {
    AuditIndex::open(&dir.join("index.redb")).expect("open the index")
}

#[test]
fn events_of_a_small_history() {
    let (repo, ids) = small_history();
    let dir = tempfile::tempdir().expect("temp dir");
    let index = open_index(dir.path());
    let report = index
        .update(&repo.store(), "config", "main")
        .expect("update");
    assert_eq!(report.commits_read, 6);
    assert_eq!(report.events_written, 6);
    assert_eq!(report.head.as_deref(), Some(ids[5].as_str()));
    assert!(report.force_push.is_none());

    let events = index.query_all(&Query::default()).expect("query");
    // Newest first.
    let order: Vec<&str> = commits(&events).iter().map(|c| c.commit.as_str()).collect();
    let expected: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(order, expected);
    let text = events
        .iter()
        .map(|e| serde_json::to_string_pretty(e).expect("JSON"))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(text);
}

#[test]
fn reindexing_is_idempotent_and_incremental_updates_match_a_full_index() {
    let (mut repo, _) = small_history();
    let dir = tempfile::tempdir().expect("temp dir");
    let index = open_index(dir.path());
    let store = repo.store();
    index.update(&store, "config", "main").expect("update");
    let first = index.query_all(&Query::default()).expect("query");
    let again = index
        .update(&store, "config", "main")
        .expect("update again");
    assert_eq!(again.commits_read, 0);
    assert_eq!(index.query_all(&Query::default()).expect("query"), first);

    repo.write("apps/api.yaml", &app("api", "default", ""));
    let added = repo.commit("Dave", "add api");
    repo.write("apps/api.yaml", &app("api", "team-b", ""));
    repo.commit("Alice", "api to team-b");
    let report = index
        .update(&repo.store(), "config", "main")
        .expect("incremental");
    assert_eq!(report.commits_read, 2);
    assert_eq!(report.events_written, 2);
    let incremental = index.query_all(&Query::default()).expect("query");
    assert_eq!(incremental.len(), first.len() + 2);
    assert!(commits(&incremental).iter().any(|c| c.commit == added));

    // A fresh index of the whole history holds exactly the same events.
    let other = AuditIndex::open(&dir.path().join("fresh.redb")).expect("open");
    other.update(&repo.store(), "config", "main").expect("full");
    assert_eq!(
        other.query_all(&Query::default()).expect("query"),
        incremental
    );
}

#[test]
fn a_rewritten_branch_is_reported_and_its_commits_kept_unreachable() {
    let (mut repo, ids) = small_history();
    let dir = tempfile::tempdir().expect("temp dir");
    let index = open_index(dir.path());
    index
        .update(&repo.store(), "config", "main")
        .expect("update");

    // Drop the last two commits and commit something else instead.
    git(&repo.path, &["reset", "-q", "--hard", &ids[3]]);
    repo.write("apps/db.yaml", &app("db", "default", ""));
    let new_head = repo.commit("Mallory", "rewrite");
    let report = index
        .update(&repo.store(), "config", "main")
        .expect("update");
    let force_push = report.force_push.expect("a force-push");
    assert_eq!(force_push.old_head, ids[5]);
    assert_eq!(force_push.new_head, new_head);
    assert_eq!(force_push.unreachable_commits, 2);
    assert_eq!(report.commits_read, 1);

    let events = index.query_all(&Query::default()).expect("query");
    let pushes: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::ForcePush(_)))
        .collect();
    assert_eq!(pushes.len(), 1);
    let commits = commits(&events);
    let reachable = |id: &str| {
        commits
            .iter()
            .find(|c| c.commit == id)
            .unwrap_or_else(|| panic!("{id} is kept"))
            .reachable
    };
    assert!(!reachable(&ids[4]));
    assert!(!reachable(&ids[5]));
    assert!(reachable(&ids[3]));
    assert!(reachable(&new_head));
    // The rewrite shows in the branch's events; updating again finds nothing new.
    let branch = index
        .query_all(&Query {
            repository: Some("config".into()),
            branch: Some("main".into()),
            ..Query::default()
        })
        .expect("query");
    assert_eq!(branch.len(), events.len());
    let again = index
        .update(&repo.store(), "config", "main")
        .expect("again");
    assert!(again.force_push.is_none());
    assert_eq!(again.commits_read, 0);
}

#[test]
fn a_push_force_between_two_repositories_is_detected() {
    let (mut repo, ids) = small_history();
    let dir = tempfile::tempdir().expect("temp dir");
    let remote = dir.path().join("remote.git");
    git(dir.path(), &["init", "-q", "--bare", "remote.git"]);
    git(
        &repo.path,
        &["push", "-q", remote.to_str().expect("UTF-8"), "main"],
    );
    let index = open_index(dir.path());
    let store = Store::open(&remote, Config::default()).expect("open");
    index.update(&store, "config", "main").expect("update");

    git(&repo.path, &["reset", "-q", "--hard", &ids[0]]);
    repo.write("apps/web.yaml", &app("web", "other", ""));
    repo.commit("Mallory", "rewrite web");
    git(
        &repo.path,
        &[
            "push",
            "-q",
            "--force",
            remote.to_str().expect("UTF-8"),
            "main",
        ],
    );
    let store = Store::open(&remote, Config::default()).expect("open");
    let report = index.update(&store, "config", "main").expect("update");
    assert_eq!(
        report.force_push.expect("a force-push").unreachable_commits,
        5
    );
}

#[test]
fn queries_by_entity_user_action_time_and_commit() {
    let (repo, ids) = small_history();
    let dir = tempfile::tempdir().expect("temp dir");
    let index = open_index(dir.path());
    index
        .update(&repo.store(), "config", "main")
        .expect("update");
    let ids_of = |q: Query| -> Vec<String> {
        commits(&index.query_all(&q).expect("query"))
            .iter()
            .map(|c| c.commit.clone())
            .collect()
    };
    let web = EntityRef::new("Application", "web", Some("argocd"));
    assert_eq!(
        ids_of(Query {
            entity: Some(web.clone()),
            ..Query::default()
        }),
        [ids[5].clone(), ids[2].clone(), ids[0].clone()]
    );
    // The namespace is part of the identity.
    assert!(
        ids_of(Query {
            entity: Some(EntityRef::new("Application", "web", None)),
            ..Query::default()
        })
        .is_empty()
    );
    assert_eq!(
        ids_of(Query {
            path: Some("clusters/prod/web.yaml".into()),
            ..Query::default()
        }),
        [ids[3].clone(), ids[1].clone()]
    );
    let by_alice = [ids[2].clone(), ids[0].clone()];
    for user in ["alice@example.com", "Alice"] {
        assert_eq!(
            ids_of(Query {
                user: Some(user.into()),
                ..Query::default()
            }),
            by_alice
        );
    }
    assert_eq!(
        ids_of(Query {
            action: Some(Action::Deleted),
            ..Query::default()
        }),
        [ids[5].clone()]
    );
    // Hourly commits from 1_700_003_600: [+2h, +4h) holds the third and fourth.
    assert_eq!(
        ids_of(Query {
            since: Some(1_700_000_000 + 3 * 3600),
            until: Some(1_700_000_000 + 5 * 3600),
            ..Query::default()
        }),
        [ids[3].clone(), ids[2].clone()]
    );
    assert_eq!(
        ids_of(Query {
            entity: Some(web),
            user: Some("carol@example.com".into()),
            ..Query::default()
        }),
        [ids[5].clone()]
    );
    assert_eq!(
        ids_of(Query {
            commit: Some(ids[1][..10].to_owned()),
            ..Query::default()
        }),
        [ids[1].clone()]
    );
    assert!(
        ids_of(Query {
            repository: Some("elsewhere".into()),
            ..Query::default()
        })
        .is_empty()
    );
    let call = windlass_audit::ApiCall {
        commit: Some(ids[2].clone()),
        ..windlass_audit::ApiCall::default()
    };
    let produced = index.events_of_call(&call).expect("correlate");
    assert_eq!(commits(&produced)[0].message.trim(), "move web to team-a");

    let err = index
        .query(&Query::default(), 10, Some("not-a-cursor"))
        .unwrap_err();
    assert!(err.to_string().contains("not-a-cursor"), "{err}");
}

#[test]
fn a_file_that_does_not_parse_is_noted_and_indexing_goes_on() {
    let (repo, ids) = small_history();
    let dir = tempfile::tempdir().expect("temp dir");
    let index = open_index(dir.path());
    index
        .update(&repo.store(), "config", "main")
        .expect("update");
    let events = index
        .query_all(&Query {
            path: Some("apps/broken.yaml".into()),
            ..Query::default()
        })
        .expect("query");
    let broken = commits(&events);
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].commit, ids[4]);
    assert!(broken[0].changes.is_empty());
    assert_eq!(broken[0].notes[0].path, "apps/broken.yaml");
    assert!(
        broken[0].notes[0].note.starts_with("2:"),
        "{:?}",
        broken[0].notes
    );
}

#[test]
fn csv_and_json_lines_export() {
    let (repo, _) = small_history();
    let dir = tempfile::tempdir().expect("temp dir");
    let index = open_index(dir.path());
    index
        .update(&repo.store(), "config", "main")
        .expect("update");
    let events = index.query_all(&Query::default()).expect("query");

    let mut csv = Vec::new();
    write_csv(&events, &mut csv).expect("csv");
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        &header[..5],
        ["time", "event", "repository", "branch", "commit"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let changes: usize = commits(&events)
        .iter()
        .map(|c| c.changes.len() + c.notes.len())
        .sum();
    assert_eq!(rows.len(), changes);
    let deleted = rows
        .iter()
        .find(|r| &r[8] == "DELETED")
        .expect("a deletion");
    assert_eq!(&deleted[0], "2023-11-15T04:13:20Z");
    assert_eq!(&deleted[5], "Carol");
    assert_eq!(&deleted[11], "web");

    let mut lines = Vec::new();
    write_json_lines(&events, &mut lines).expect("json");
    let back: Vec<Event> = String::from_utf8(lines)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("an event per line"))
        .collect();
    assert_eq!(back, events);
}

/// A history of 40 commits by 4 authors over 6 files, indexed once for the property.
fn shared() -> &'static (tempfile::TempDir, AuditIndex, Vec<Event>) {
    static SHARED: OnceLock<(tempfile::TempDir, AuditIndex, Vec<Event>)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let mut repo = Repo::new();
        let authors = ["Alice", "Bob", "Carol", "Dave"];
        for i in 0..40usize {
            let file = format!("apps/app-{}.yaml", i % 6);
            if i % 7 == 6 {
                repo.remove(&file);
            } else {
                repo.write(&file, &app(&format!("app-{}", i % 6), &format!("p{i}"), ""));
            }
            repo.commit(authors[i % 4], &format!("change {i}"));
            if i % 7 == 6 {
                // Bring the file back so later commits update it.
                repo.write(&file, &app(&format!("app-{}", i % 6), "back", ""));
                repo.commit(authors[(i + 1) % 4], "restore");
            }
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let index = open_index(dir.path());
        index
            .update(&repo.store(), "config", "main")
            .expect("update");
        let all = index.query_all(&Query::default()).expect("query");
        (dir, index, all)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn paging_yields_exactly_the_unpaged_result_newest_first(
        user in proptest::option::of(0usize..5),
        app_no in proptest::option::of(0usize..7),
        action in proptest::option::of(0usize..3),
        since in proptest::option::of(0i64..50),
        span in proptest::option::of(0i64..50),
        limit in 1usize..12,
    ) {
        let (_, index, all) = shared();
        let start = 1_700_000_000;
        let query = Query {
            user: user.map(|u| ["alice@example.com", "Bob", "Carol", "dave@example.com", "nobody"][u].to_owned()),
            entity: app_no.map(|n| EntityRef::new("Application", &format!("app-{n}"), Some("argocd"))),
            action: action.map(|a| [Action::Added, Action::Updated, Action::Deleted][a]),
            since: since.map(|s| start + s * 3600),
            until: span.map(|s| start + (since.unwrap_or(0) + s) * 3600),
            ..Query::default()
        };
        let mut paged = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = index.query(&query, limit, cursor.as_deref()).expect("page");
            prop_assert!(page.events.len() <= limit);
            paged.extend(page.events);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let expected: Vec<Event> = all.iter().filter(|e| query.matches(e)).cloned().collect();
        prop_assert_eq!(&paged, &expected);
        prop_assert!(paged.windows(2).all(|w| w[0].time() >= w[1].time()));
    }
}
