//! Provider adapters over recorded answers in the providers' documented formats
//! (fixtures/), on top of the protocol probe of a real `git http-backend`.

use std::path::{Path, PathBuf};
use std::process::Command;

use windlass_rbac::provider::{BranchPush, RepoAccess};
use windlass_rbac::{
    Credential, Error, GitAccess, GitPermission, ManifestLocation, ProbeConfig, Provider,
};
use windlass_testkit::http_backend::{GitHttpServer, Grant, User};
use windlass_testkit::replay::{ReplayServer, Route};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bare_repo(root: &Path) {
    let out = Command::new("git")
        .current_dir(root)
        .args(["init", "-q", "--bare", "config.git"])
        .output()
        .expect("git is required for these tests (apt-get install git)");
    assert!(out.status.success());
}

fn replay() -> ReplayServer {
    ReplayServer::start(vec![
        Route::json("/api/v3/repos/config", fixture("github/repo-push.json")),
        Route::json(
            "/api/v3/repos/config/branches/main",
            fixture("github/branch-protected.json"),
        ),
        Route::json(
            "/api/v4/projects/config",
            fixture("gitlab/project-developer.json"),
        ),
        Route::json(
            "/api/v4/projects/config/protected_branches/main",
            fixture("gitlab/protected-main.json"),
        ),
        Route::json("/api/v1/repos/config", fixture("gitea/repo-push.json")),
        Route::json(
            "/api/v1/repos/config/branches/main",
            fixture("gitea/branch-main.json"),
        ),
        Route::json(
            "/broken/repos/config",
            "{\"permissions\": {\"push\": \"yes\"}}",
        ),
    ])
}

fn at(repo_url: &str, branch: &str) -> ManifestLocation {
    ManifestLocation {
        repo_url: repo_url.to_owned(),
        branch: Some(branch.to_owned()),
        path: "apps/guestbook.yaml".into(),
    }
}

#[tokio::test]
async fn a_protected_branch_is_read_only_for_who_may_not_push_to_it() {
    let root = tempfile::tempdir().expect("temp dir");
    bare_repo(root.path());
    let git = GitHttpServer::start_with_users(
        root.path(),
        vec![User::new("alice", "alice-token").grant("config.git", Grant::Write)],
    );
    let api = replay();
    let repo = git.url("config.git");
    let alice = Credential::new("alice", "alice-token");
    let cases = [
        // GitHub: main is protected and alice is no admin; other branches are open.
        (
            Provider::GitHub {
                api: format!("{}/api/v3", api.url()),
            },
            "main",
            GitPermission::Read,
        ),
        (
            Provider::GitHub {
                api: format!("{}/api/v3", api.url()),
            },
            "feature",
            GitPermission::Write,
        ),
        // GitLab: a developer (30) may not push where only maintainers (40) may.
        (
            Provider::GitLab {
                api: format!("{}/api/v4", api.url()),
            },
            "main",
            GitPermission::Read,
        ),
        (
            Provider::GitLab {
                api: format!("{}/api/v4", api.url()),
            },
            "dev",
            GitPermission::Write,
        ),
        // Gitea says per user: alice may push to protected main.
        (
            Provider::Gitea {
                api: format!("{}/api/v1", api.url()),
            },
            "main",
            GitPermission::Write,
        ),
    ];
    for (provider, branch, expected) in cases {
        let access =
            GitAccess::new(ProbeConfig::default(), Some(provider.clone())).expect("access");
        let got = access
            .permission(&at(&repo, branch), Some(&alice))
            .await
            .expect("permission");
        assert_eq!(got, expected, "{provider:?} on {branch}");
    }
    // Each provider got the token the way its API documents.
    let received = api.received();
    let auth = |prefix: &str, header: &str| {
        received
            .iter()
            .filter(|r| r.target.starts_with(prefix))
            .all(|r| r.header(header).is_some_and(|v| v.contains("alice-token")))
    };
    assert!(auth("/api/v3/", "authorization"), "GitHub: Bearer");
    assert!(
        received
            .iter()
            .any(|r| r.header("authorization") == Some("Bearer alice-token"))
    );
    assert!(auth("/api/v4/", "private-token"), "GitLab: PRIVATE-TOKEN");
    assert!(
        received
            .iter()
            .any(|r| r.header("authorization") == Some("token alice-token"))
    );

    // The provider never raises what the Git server refuses: bob cannot push at all.
    let bob = Credential::new("bob", "bob-token");
    let access = GitAccess::new(
        ProbeConfig::default(),
        Some(Provider::Gitea {
            api: format!("{}/api/v1", api.url()),
        }),
    )
    .expect("access");
    assert_eq!(
        access
            .permission(&at(&repo, "main"), Some(&bob))
            .await
            .expect("permission"),
        GitPermission::None
    );
}

#[tokio::test]
async fn a_body_not_in_the_documented_format_is_an_error_naming_the_provider_and_url() {
    let api = replay();
    let client = reqwest::Client::new();
    let github = Provider::GitHub {
        api: format!("{}/broken", api.url()),
    };
    match github
        .repository(&client, "config", &Credential::token("t"))
        .await
    {
        Err(Error::Format {
            url,
            provider,
            detail,
        }) => {
            assert_eq!(provider, "GitHub");
            assert!(url.ends_with("/broken/repos/config"), "{url}");
            assert!(detail.contains("permissions"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // A repository the API does not show is no access.
    let hidden = github
        .repository(&client, "secret", &Credential::token("t"))
        .await;
    assert_eq!(hidden.expect("404").permission, GitPermission::None);
}

#[test]
fn recorded_answers_parse_to_what_each_provider_means() {
    let github = Provider::GitHub { api: String::new() };
    let pull = github
        .parse_repository(&fixture("github/repo-pull.json"))
        .expect("parse");
    assert_eq!(pull.permission, GitPermission::Read);
    let public = github
        .parse_repository(&fixture("github/repo-public-anonymous.json"))
        .expect("parse");
    assert_eq!(public.permission, GitPermission::Read, "public, anonymous");
    let admin = RepoAccess {
        permission: GitPermission::Write,
        admin: true,
        level: None,
    };
    assert_eq!(
        github.parse_branch(&fixture("github/branch-protected.json"), &admin),
        Ok(BranchPush::Protected { can_push: true }),
        "admins bypass"
    );

    let gitlab = Provider::GitLab { api: String::new() };
    let dev = gitlab
        .parse_repository(&fixture("gitlab/project-developer.json"))
        .expect("parse");
    assert_eq!(
        (dev.permission, dev.admin, dev.level),
        (GitPermission::Write, false, Some(30))
    );
    let maintainer = RepoAccess {
        level: Some(40),
        ..dev
    };
    assert_eq!(
        gitlab.parse_branch(&fixture("gitlab/protected-main.json"), &maintainer),
        Ok(BranchPush::Protected { can_push: true })
    );
}
