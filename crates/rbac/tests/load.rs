//! Teams and access rules read from the config repository at a commit: every file
//! checked, every problem named by file and field, read once per commit.

use std::path::Path;
use std::sync::Arc;

use windlass_entity_model::windlass::AccessAction;
use windlass_git_store::{ChangeSet, Config, Expect, Identity, Store};
use windlass_rbac::{EntityAttributes, Error, GitPermission, Rules, RulesLoader, Subject, decide};

fn carol() -> Identity {
    Identity::new("Carol", "carol@example.com")
}

/// Commits `files` (path, content; `None` deletes) on `main`.
fn commit(store: &Store, message: &str, files: &[(&str, Option<&str>)]) {
    let mut change = ChangeSet::new(carol(), message);
    for (path, content) in files {
        change = match content {
            Some(text) => change.upsert(path, *text),
            None => change.delete(path),
        }
        .expect("a valid path");
    }
    let tip = store.tip("main").expect("tip");
    store
        .commit("main", &change, &Expect::Branch(tip))
        .expect("committed");
}

fn team(name: &str, members: &[&str]) -> String {
    format!(
        "apiVersion: windlass.dev/v1alpha1\nkind: Team\nmetadata:\n  name: {name}\nspec:\n  members: [{}]\n",
        members.join(", ")
    )
}

fn rule(name: &str, teams: &[&str], actions: &[&str]) -> String {
    format!(
        "apiVersion: windlass.dev/v1alpha1\nkind: AccessRule\nmetadata:\n  name: {name}\nspec:\n  teams: [{}]\n  actions: [{}]\n",
        teams.join(", "),
        actions.join(", ")
    )
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::init(dir.path(), true, Config::default()).expect("store");
    (dir, store)
}

#[test]
fn the_example_account_loads() {
    let (_dir, store) = store();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/account");
    let mut files = Vec::new();
    for dir in ["access/teams", "access/rules"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("example dir") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            files.push((
                format!("{dir}/{name}"),
                std::fs::read_to_string(&path).expect("example file"),
            ));
        }
    }
    let files: Vec<_> = files
        .iter()
        .map(|(p, t)| (p.as_str(), Some(t.as_str())))
        .collect();
    commit(&store, "the example account", &files);

    let rules = Rules::load(&store, "main").expect("the example's rules are valid");
    assert_eq!(
        rules.names().collect::<Vec<_>>(),
        ["admins", "developers-deploy-staging"]
    );
    assert_eq!(
        rules.team_names().collect::<Vec<_>>(),
        ["developers", "platform-admins"]
    );
    // bob (a developer) may sync a staging guestbook he can only read.
    let bob = Subject {
        user: "bob".into(),
        identities: vec!["bob".into()],
    };
    let staging = EntityAttributes {
        kind: "Application".into(),
        name: "guestbook".into(),
        runtime: Some("production".into()),
        cluster: Some("eu-west-1".into()),
        namespace: Some("guestbook".into()),
        labels: [("environment".into(), "staging".into())].into(),
        ..EntityAttributes::default()
    };
    let d = decide(
        &bob,
        AccessAction::Sync,
        &staging,
        GitPermission::Read,
        &rules,
    );
    assert!(d.allowed, "{}", d.reason);
    assert_eq!(
        d.reason.to_string(),
        r#"access rule "developers-deploy-staging" grants it to team "developers""#
    );
}

#[test]
fn every_problem_is_named_by_file_and_field() {
    let (_dir, store) = store();
    let sre = team("sre", &["alice"]);
    let renamed = rule("ops", &["sre"], &["sync"]);
    let in_wrong_dir = team("misplaced", &["bob"]);
    let two = format!(
        "{}---\n{}",
        rule("two", &["sre"], &["sync"]),
        team("x", &["xavier"])
    );
    commit(
        &store,
        "broken rules",
        &[
            ("access/teams/sre.yaml", Some(&sre)),
            (
                "access/rules/unknown-team.yaml",
                Some(&rule("unknown-team", &["sre", "platform"], &["sync"])),
            ),
            (
                "access/rules/unknown-action.yaml",
                Some(&rule("unknown-action", &["sre"], &["sync", "deploy"])),
            ),
            (
                "access/rules/grants-commit.yaml",
                Some(&rule("grants-commit", &["sre"], &["commit"])),
            ),
            (
                "access/rules/empty-any-of.yaml",
                Some(&format!(
                    "{}  anyOf: []\n",
                    rule("empty-any-of", &["sre"], &["logs"])
                )),
            ),
            ("access/rules/renamed.yaml", Some(&renamed)),
            ("access/rules/misplaced.yaml", Some(&in_wrong_dir)),
            ("access/rules/two.yaml", Some(&two)),
            ("access/teams/ops.yml", Some(&team("ops", &["dave"]))),
        ],
    );
    let err = Rules::load(&store, "main").expect_err("invalid rules");
    let Error::InvalidRules { commit, errors } = &err else {
        panic!("not InvalidRules: {err}");
    };
    assert_eq!(*commit, store.resolve("main").expect("main").to_string());
    assert_eq!(errors.len(), 8, "{err}");
    insta::assert_snapshot!(err.to_string().replace(commit.as_str(), "<commit>"));
}

#[test]
fn rules_are_read_once_per_commit_and_a_new_commit_takes_effect() {
    let (_dir, store) = store();
    commit(
        &store,
        "sre",
        &[("access/teams/sre.yaml", Some(&team("sre", &["alice"])))],
    );
    let loader = RulesLoader::new(store.clone());
    let first = loader.load("main").expect("rules");
    assert!(first.is_empty());
    let first_commit = store.resolve("main").expect("main").to_string();
    assert!(
        Arc::ptr_eq(&first, &loader.load("main").expect("rules")),
        "the same commit is not read again"
    );

    commit(
        &store,
        "sre may sync",
        &[(
            "access/rules/sre-sync.yaml",
            Some(&rule("sre-sync", &["sre"], &["sync"])),
        )],
    );
    let second = loader.load("main").expect("rules");
    assert_eq!(second.names().collect::<Vec<_>>(), ["sre-sync"]);

    // A broken commit is an error naming the file; the one fixing it takes effect.
    commit(
        &store,
        "typo",
        &[(
            "access/rules/sre-sync.yaml",
            Some(&rule("sre-sync", &["sre"], &["synk"])),
        )],
    );
    let err = loader.load("main").expect_err("broken").to_string();
    assert!(
        err.contains("access/rules/sre-sync.yaml:7:13: spec.actions[0]: unknown value `synk`"),
        "{err}"
    );
    commit(
        &store,
        "fix",
        &[(
            "access/rules/sre-sync.yaml",
            Some(&rule("sre-sync", &["sre"], &["sync", "logs"])),
        )],
    );
    assert_eq!(loader.load("main").expect("fixed").len(), 1);

    // Older commits are still at hand, by id.
    assert!(Arc::ptr_eq(
        &first,
        &loader.load(&first_commit).expect("rules")
    ));
    assert!(matches!(
        loader.load("no-such-branch"),
        Err(Error::Store(_))
    ));
}

#[test]
fn a_repository_without_access_files_has_no_rules() {
    let (_dir, store) = store();
    commit(
        &store,
        "other things",
        &[("projects/default.yaml", Some("a: 1\n"))],
    );
    let rules = Rules::load(&store, "main").expect("no rules is valid");
    assert!(rules.is_empty());
    assert_eq!(rules.team_names().count(), 0);
}
