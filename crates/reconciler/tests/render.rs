//! Rendering Application sources from real Git repositories (made with `git` in
//! temporary directories, served over `file://` and over a real `git http-backend`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use windlass_entity_model::argocd::{
    ApplicationDestination, ApplicationSource, ApplicationSourceDirectory,
    ApplicationSourceKustomize, ApplicationSourceType, ApplicationSpec, KustomizeReplica,
};
use windlass_reconciler::Error;
use windlass_reconciler::render::{RenderRequest, Rendered, Renderer};
use windlass_reconciler::repo::{RepoCredentials, Repositories};
use windlass_testkit::http_backend;

/// `git` with a fixed identity for commits; its output trimmed.
fn git(dir: &Path, args: &[&str]) -> String {
    let identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"];
    windlass_testkit::git::git(dir, &[&identity[..], args].concat())
        .trim()
        .to_owned()
}

/// A repository with a work tree whose default branch is `trunk` (so `HEAD` resolution
/// is really the remote's default branch, not a guess at `main`).
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        git(dir.path(), &["init", "-q", "-b", "trunk"]);
        Repo { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    fn write(&self, path: &str, text: &str) -> &Repo {
        let file = self.path().join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
        std::fs::write(file, text).expect("write");
        self
    }

    fn remove(&self, path: &str) -> &Repo {
        git(self.path(), &["rm", "-q", "-r", path]);
        self
    }

    /// Commits everything; returns the commit id.
    fn commit(&self, message: &str) -> String {
        git(self.path(), &["add", "-A"]);
        git(
            self.path(),
            &["commit", "-q", "--allow-empty", "-m", message],
        );
        git(self.path(), &["rev-parse", "HEAD"])
    }
}

struct Fixture {
    _cache: tempfile::TempDir,
    renderer: Renderer,
}

fn renderer() -> Fixture {
    let cache = tempfile::tempdir().expect("temp dir");
    let repos = Arc::new(Repositories::new(cache.path().join("repos")));
    Fixture {
        renderer: Renderer::new(repos),
        _cache: cache,
    }
}

fn source(url: &str, path: &str) -> ApplicationSource {
    ApplicationSource {
        repo_url: Some(url.to_owned()),
        path: Some(path.to_owned()),
        ..Default::default()
    }
}

fn render(renderer: &Renderer, source: &ApplicationSource) -> Result<Rendered, Error> {
    renderer.render(&RenderRequest {
        app_name: "web",
        namespace: "default",
        source,
        refresh: true,
    })
}

/// `Kind/name` of every object, in order.
fn names(rendered: &Rendered) -> Vec<String> {
    rendered
        .objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap_or("?"),
                o["metadata"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

fn config_map(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n")
}

/// An error message with the run's variable parts (temp paths, commit ids) replaced.
fn stable(message: &str, repo: &Repo, revision: &str) -> String {
    message
        .replace(&repo.url(), "<repo>")
        .replace(revision, "<revision>")
}

fn directory(
    recurse: bool,
    include: Option<&str>,
    exclude: Option<&str>,
) -> ApplicationSourceDirectory {
    ApplicationSourceDirectory {
        recurse: Some(recurse),
        include: include.map(str::to_owned),
        exclude: exclude.map(str::to_owned),
        ..Default::default()
    }
}

#[test]
fn directories_render_only_their_top_level_unless_recursive() {
    let repo = Repo::new();
    repo.write("app/a.yaml", &config_map("a"))
        .write("app/sub/b.yaml", &config_map("b"))
        .write("app/sub/deeper/c.yml", &config_map("c"))
        .write("app/README.md", "# not a manifest\n")
        .write("other/x.yaml", &config_map("x"));
    let revision = repo.commit("apps");
    let f = renderer();

    let top = render(&f.renderer, &source(&repo.url(), "app")).expect("renders");
    assert_eq!(names(&top), ["ConfigMap/a"]);
    assert_eq!(top.revision, revision);
    assert_eq!(top.source_type, ApplicationSourceType::Directory);

    let mut recursive = source(&repo.url(), "app");
    recursive.directory = Some(directory(true, None, None));
    let all = render(&f.renderer, &recursive).expect("renders");
    assert_eq!(names(&all), ["ConfigMap/a", "ConfigMap/b", "ConfigMap/c"]);

    // The repository root is the path `.`; without recursion only its own files count.
    let root = render(&f.renderer, &source(&repo.url(), ".")).expect("renders");
    assert!(root.objects.is_empty());
}

#[test]
fn include_and_exclude_globs_match_paths_relative_to_the_app_path() {
    let repo = Repo::new();
    repo.write("app/a.yaml", &config_map("a"))
        .write(
            "app/b.json",
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}"#,
        )
        .write("app/prod/c.yaml", &config_map("c"))
        .write("app/dev/d.yaml", &config_map("d"))
        .write("app/dev/e.yml", &config_map("e"));
    repo.commit("apps");
    let f = renderer();
    let cases: [(Option<&str>, Option<&str>, &[&str]); 5] = [
        (
            Some("*.yaml"),
            None,
            &["ConfigMap/a", "ConfigMap/d", "ConfigMap/c"],
        ),
        (
            Some("{a.yaml,prod/*}"),
            None,
            &["ConfigMap/a", "ConfigMap/c"],
        ),
        (
            None,
            Some("dev/*"),
            &["ConfigMap/a", "ConfigMap/b", "ConfigMap/c"],
        ),
        (
            Some("*.{yaml,yml}"),
            Some("prod/*"),
            &["ConfigMap/a", "ConfigMap/d", "ConfigMap/e"],
        ),
        (Some("*.json"), None, &["ConfigMap/b"]),
    ];
    for (include, exclude, expected) in cases {
        let mut src = source(&repo.url(), "app");
        src.directory = Some(directory(true, include, exclude));
        let rendered = render(&f.renderer, &src).expect("renders");
        assert_eq!(
            names(&rendered),
            expected,
            "include {include:?} exclude {exclude:?}"
        );
    }
}

#[test]
fn multi_document_yaml_json_lists_and_kind_list_are_flattened() {
    let repo = Repo::new();
    repo.write(
        "app/multi.yaml",
        "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n---\n---\n# empty\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: two\nspec:\n  ports: [{port: 80}]\n",
    )
    .write(
        "app/list.json",
        r#"[{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "three"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "four"}}]"#,
    )
    .write(
        "app/v1list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: five}\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: six}\n",
    )
    .write("app/null-list.yaml", "apiVersion: v1\nkind: ConfigMapList\nitems: null\n")
    .write("app/ci.yaml", "steps:\n  - run: make\n")
    .write(
        "app/skipped.yaml",
        "# +argocd:skip-file-rendering\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: skipped}\n",
    );
    repo.commit("manifests");
    let f = renderer();
    let rendered = render(&f.renderer, &source(&repo.url(), "app")).expect("renders");
    insta::assert_snapshot!(
        serde_json::to_string_pretty(&*rendered.objects).expect("json"),
        @r#"
    [
      {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
          "name": "three"
        }
      },
      {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
          "name": "four"
        }
      },
      {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
          "name": "one"
        }
      },
      {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
          "name": "two"
        },
        "spec": {
          "ports": [
            {
              "port": 80
            }
          ]
        }
      },
      {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
          "name": "five"
        }
      },
      {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
          "name": "six"
        }
      }
    ]
    "#
    );
}

#[test]
fn a_yaml_syntax_error_names_the_file_line_and_column() {
    let repo = Repo::new();
    repo.write("apps/web/ok.yaml", &config_map("ok")).write(
        "apps/web/broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  key: [unclosed\n",
    );
    let revision = repo.commit("broken");
    let f = renderer();
    let err = render(&f.renderer, &source(&repo.url(), "apps/web")).expect_err("broken");
    assert!(
        matches!(&err, Error::Manifest(m) if m.line == 6 && m.file == "apps/web/broken.yaml"),
        "{err:?}"
    );
    insta::assert_snapshot!(stable(&err.to_string(), &repo, &revision), @"application web: source <repo> at <revision>: apps/web/broken.yaml:6:8: unclosed bracket '['");

    let json = Repo::new();
    json.write(
        "app/x.json",
        "{\n  \"kind\": \"ConfigMap\",\n  \"metadata\": {\"name\": \"x\"]\n}\n",
    );
    let revision = json.commit("broken json");
    let err = render(&f.renderer, &source(&json.url(), "app")).expect_err("broken");
    insta::assert_snapshot!(stable(&err.to_string(), &json, &revision), @"application web: source <repo> at <revision>: app/x.json:3:15: mismatched bracket '{' closed by ']'");
}

#[test]
fn missing_paths_and_unsupported_sources_are_errors_naming_the_source() {
    let repo = Repo::new();
    repo.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 1.0.0\n",
    )
    .write("app/a.yaml", &config_map("a"))
    .write("app/lib.jsonnet", "{}\n");
    let revision = repo.commit("sources");
    let f = renderer();
    let messages: Vec<String> = [
        source(&repo.url(), "nope"),
        source(&repo.url(), "chart"),
        ApplicationSource {
            plugin: Some(Default::default()),
            ..source(&repo.url(), "app")
        },
        ApplicationSource {
            chart: Some("nginx".into()),
            repo_url: Some("https://charts.example.com".into()),
            ..Default::default()
        },
        source(&repo.url(), "app"),
        ApplicationSource {
            kustomize: Some(Default::default()),
            directory: Some(Default::default()),
            ..source(&repo.url(), "app")
        },
    ]
    .iter()
    .map(|s| {
        stable(
            &render(&f.renderer, s).expect_err("refused").to_string(),
            &repo,
            &revision,
        )
    })
    .collect();
    insta::assert_snapshot!(messages.join("\n"), @r#"
    application web: source <repo> path "nope" at <revision>: app path does not exist
    application web: source <repo> path "chart": a Helm source is not supported
    application web: source <repo> path "app": a config management plugin source is not supported
    application web: source https://charts.example.com path "nginx": a Helm chart source is not supported
    application web: source <repo> path "app": Jsonnet (file app/lib.jsonnet) is not supported
    application web: source <repo> path "app" at <revision>: multiple application sources defined: Kustomize,Directory
    "#);
}

/// A base and an overlay, the overlay referencing the base by `../../base`.
fn kustomize_repo() -> Repo {
    let repo = Repo::new();
    repo.write(
        "base/kustomization.yaml",
        "resources:\n- deployment.yaml\n- service.yaml\ncommonLabels:\n  app: web\n",
    )
    .write(
        "base/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {}\n  template:\n    metadata:\n      labels: {}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n",
    )
    .write(
        "base/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n",
    )
    .write(
        "overlays/prod/kustomization.yaml",
        "resources:\n- ../../base\npatches:\n- path: replicas.yaml\n",
    )
    .write(
        "overlays/prod/replicas.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n",
    )
    .write("unrelated/a.yaml", &config_map("a"));
    repo.commit("kustomize");
    repo
}

#[test]
fn kustomize_overlays_render_with_every_override() {
    let repo = kustomize_repo();
    let f = renderer();
    let plain = render(&f.renderer, &source(&repo.url(), "overlays/prod")).expect("renders");
    assert_eq!(plain.source_type, ApplicationSourceType::Kustomize);
    assert_eq!(names(&plain), ["Service/web", "Deployment/web"]);
    assert_eq!(plain.objects[1]["spec"]["replicas"], 3);

    let mut src = source(&repo.url(), "overlays/prod");
    src.kustomize = Some(ApplicationSourceKustomize {
        name_prefix: Some("prod-".into()),
        name_suffix: Some("-v2".into()),
        images: Some(vec!["nginx=registry.example.com/nginx:1.27".into()]),
        common_labels: Some([("team".to_owned(), "$ARGOCD_APP_NAME".to_owned())].into()),
        common_annotations: Some([("owner".to_owned(), "platform".to_owned())].into()),
        namespace: Some("prod".into()),
        replicas: Some(vec![KustomizeReplica {
            name: "web".into(),
            count: "5".into(),
            extra: Default::default(),
        }]),
        ..Default::default()
    });
    let rendered = render(&f.renderer, &src).expect("renders");
    insta::assert_snapshot!(
        serde_json::to_string_pretty(&*rendered.objects).expect("json"),
        @r#"
    [
      {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
          "annotations": {
            "owner": "platform"
          },
          "labels": {
            "app": "web",
            "team": "web"
          },
          "name": "prod-web-v2",
          "namespace": "prod"
        },
        "spec": {
          "ports": [
            {
              "port": 80
            }
          ],
          "selector": {
            "app": "web",
            "team": "web"
          }
        }
      },
      {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
          "annotations": {
            "owner": "platform"
          },
          "labels": {
            "app": "web",
            "team": "web"
          },
          "name": "prod-web-v2",
          "namespace": "prod"
        },
        "spec": {
          "replicas": 5,
          "selector": {
            "matchLabels": {
              "app": "web",
              "team": "web"
            }
          },
          "template": {
            "metadata": {
              "annotations": {
                "owner": "platform"
              },
              "labels": {
                "app": "web",
                "team": "web"
              }
            },
            "spec": {
              "containers": [
                {
                  "image": "registry.example.com/nginx:1.27",
                  "name": "web"
                }
              ]
            }
          }
        }
      }
    ]
    "#
    );

    // The shared checkout was not edited: the plain overlay renders as before.
    let again = Renderer::new(f.renderer.repositories().clone());
    let plain_again = render(&again, &source(&repo.url(), "overlays/prod")).expect("renders");
    assert_eq!(plain_again.objects, plain.objects);

    // Labels already in the kustomization need forceCommonLabels, as in Argo.
    let mut clash = source(&repo.url(), "base");
    clash.kustomize = Some(ApplicationSourceKustomize {
        common_labels: Some([("app".to_owned(), "other".to_owned())].into()),
        ..Default::default()
    });
    let err = render(&f.renderer, &clash).expect_err("label exists");
    assert!(
        err.to_string()
            .contains("label app already in kustomization file"),
        "{err}"
    );
    clash.kustomize.as_mut().expect("set").force_common_labels = Some(true);
    let forced = render(&f.renderer, &clash).expect("forced");
    assert_eq!(forced.objects[0]["metadata"]["labels"]["app"], "other");
}

#[test]
fn a_broken_kustomization_fails_with_kustomizes_message() {
    let repo = Repo::new();
    repo.write("app/kustomization.yaml", "resources:\n- missing.yaml\n");
    let revision = repo.commit("broken");
    let f = renderer();
    let err = render(&f.renderer, &source(&repo.url(), "app")).expect_err("broken");
    let Error::Kustomize { stderr, at } = &err else {
        panic!("expected a kustomize error, got {err:?}");
    };
    assert_eq!(at.path, "app");
    assert!(stderr.contains("missing.yaml"), "{stderr}");
    let message = stable(&err.to_string(), &repo, &revision);
    assert!(
        message.starts_with(
            "application web: source <repo> path \"app\" at <revision>: kustomize build failed: "
        ),
        "{message}"
    );
}

#[test]
fn multi_source_applications_render_each_source_in_order() {
    let one = Repo::new();
    one.write("a/cm.yaml", &config_map("from-one"));
    let one_rev = one.commit("one");
    let two = Repo::new();
    two.write("b/cm.yaml", &config_map("from-two"))
        .write("values/v.yaml", "x: 1\n");
    let two_rev = two.commit("two");
    let spec = ApplicationSpec {
        destination: Some(ApplicationDestination {
            namespace: Some("team".into()),
            ..Default::default()
        }),
        sources: Some(vec![
            source(&one.url(), "a"),
            ApplicationSource {
                ref_: Some("values".into()),
                ..source(&two.url(), "")
            },
            source(&two.url(), "b"),
        ]),
        // Ignored when `sources` is set.
        source: Some(source(&one.url(), "nope")),
        ..Default::default()
    };
    let f = renderer();
    let rendered = f
        .renderer
        .render_app("multi", &spec, false)
        .expect("renders");
    let summary: Vec<(Vec<String>, &str)> = rendered
        .iter()
        .map(|r| (names(r), r.revision.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (vec!["ConfigMap/from-one".to_owned()], one_rev.as_str()),
            (vec![], two_rev.as_str()),
            (vec!["ConfigMap/from-two".to_owned()], two_rev.as_str()),
        ]
    );

    let single = ApplicationSpec {
        source: Some(source(&one.url(), "a")),
        ..Default::default()
    };
    let rendered = f
        .renderer
        .render_app("single", &single, false)
        .expect("renders");
    assert_eq!(rendered.len(), 1);
    assert_eq!(names(&rendered[0]), ["ConfigMap/from-one"]);
}

#[test]
fn target_revisions_resolve_like_argo() {
    let repo = Repo::new();
    repo.write("app/cm.yaml", &config_map("v1"));
    let first = repo.commit("v1");
    git(repo.path(), &["tag", "v1.0"]);
    git(
        repo.path(),
        &["tag", "-a", "-m", "annotated", "v1.0-annotated"],
    );
    git(repo.path(), &["branch", "release"]);
    repo.write("app/cm.yaml", &config_map("v2"));
    let second = repo.commit("v2");
    let f = renderer();
    let at = |revision: Option<&str>| {
        let mut src = source(&repo.url(), "app");
        src.target_revision = revision.map(str::to_owned);
        render(&f.renderer, &src).map(|r| (r.revision.clone(), names(&r)))
    };
    let v1 = (first.clone(), vec!["ConfigMap/v1".to_owned()]);
    let v2 = (second.clone(), vec!["ConfigMap/v2".to_owned()]);
    assert_eq!(at(None).expect("HEAD"), v2);
    assert_eq!(at(Some("HEAD")).expect("HEAD"), v2);
    assert_eq!(at(Some("")).expect("empty"), v2);
    assert_eq!(at(Some("trunk")).expect("branch"), v2);
    assert_eq!(at(Some("release")).expect("branch"), v1);
    assert_eq!(at(Some("v1.0")).expect("tag"), v1);
    assert_eq!(at(Some("v1.0-annotated")).expect("annotated tag"), v1);
    assert_eq!(at(Some(&first)).expect("sha"), v1);
    assert_eq!(at(Some(&first[..7])).expect("short sha"), v1);
    let err = at(Some("no-such-branch")).expect_err("unknown");
    assert!(
        matches!(&err, Error::RevisionNotFound { revision, .. } if revision == "no-such-branch"),
        "{err:?}"
    );

    // A branch that moves is seen once the repository is refreshed.
    repo.write("app/cm.yaml", &config_map("v3"));
    let third = repo.commit("v3");
    let repos = f.renderer.repositories();
    assert!(
        repos.refresh(&repo.url()).expect("refresh"),
        "the branch moved"
    );
    assert!(
        !repos.refresh(&repo.url()).expect("refresh"),
        "nothing moved"
    );
    let (_, id) = repos
        .resolve(&repo.url(), Some("trunk"), false)
        .expect("resolves");
    assert_eq!(id.to_string(), third);
    // The URL's spelling (case, `.git`) does not make a second mirror.
    let (_, id) = repos
        .resolve(&format!("{}.git", repo.url()), None, false)
        .expect("same mirror");
    assert_eq!(id.to_string(), third);
}

#[test]
fn a_remote_whose_head_is_unborn_still_serves_its_branches() {
    let repo = Repo::new();
    repo.write("app/cm.yaml", &config_map("a"));
    let revision = repo.commit("a");
    git(repo.path(), &["symbolic-ref", "HEAD", "refs/heads/missing"]);
    let f = renderer();
    let mut src = source(&repo.url(), "app");
    src.target_revision = Some("trunk".into());
    assert_eq!(
        render(&f.renderer, &src).expect("renders").revision,
        revision
    );
    src.target_revision = None;
    let err = render(&f.renderer, &src).expect_err("HEAD is unborn");
    assert!(
        matches!(&err, Error::RevisionNotFound { revision, .. } if revision == "HEAD"),
        "{err:?}"
    );
}

#[test]
fn a_new_commit_re_renders_only_apps_whose_paths_changed() {
    let repo = Repo::new();
    repo.write("apps/web/cm.yaml", &config_map("web"))
        .write("apps/api/cm.yaml", &config_map("api"));
    repo.commit("apps");
    let f = renderer();
    let web = source(&repo.url(), "apps/web");
    let first = render(&f.renderer, &web).expect("renders");
    assert_eq!(f.renderer.renders(), 1);
    let again = render(&f.renderer, &web).expect("renders");
    assert_eq!(
        f.renderer.renders(),
        1,
        "same commit: served from the cache"
    );
    assert!(Arc::ptr_eq(&first.objects, &again.objects));

    repo.write("apps/api/cm.yaml", &config_map("api2"));
    let second = repo.commit("api only");
    let after_api = render(&f.renderer, &web).expect("renders");
    assert_eq!(
        f.renderer.renders(),
        1,
        "another app's path changed: no re-render"
    );
    assert_eq!(after_api.revision, second, "the revision is the new commit");

    repo.write("apps/web/cm.yaml", &config_map("web2"));
    repo.commit("web");
    let after_web = render(&f.renderer, &web).expect("renders");
    assert_eq!(
        f.renderer.renders(),
        2,
        "this app's path changed: re-rendered"
    );
    assert_eq!(names(&after_web), ["ConfigMap/web2"]);

    // Different source parameters are a different render.
    let mut recursive = web.clone();
    recursive.directory = Some(directory(true, None, None));
    render(&f.renderer, &recursive).expect("renders");
    assert_eq!(f.renderer.renders(), 3);
}

#[test]
fn kustomize_renders_depend_on_every_path_their_kustomizations_reference() {
    let repo = kustomize_repo();
    let f = renderer();
    let overlay = source(&repo.url(), "overlays/prod");
    render(&f.renderer, &overlay).expect("renders");
    assert_eq!(f.renderer.renders(), 1);

    repo.write("unrelated/a.yaml", &config_map("changed"));
    repo.commit("unrelated");
    render(&f.renderer, &overlay).expect("renders");
    assert_eq!(f.renderer.renders(), 1, "an unreferenced path changed");

    repo.write(
        "base/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 8080\n",
    );
    repo.commit("base");
    let rendered = render(&f.renderer, &overlay).expect("renders");
    assert_eq!(
        f.renderer.renders(),
        2,
        "the base the overlay references changed"
    );
    assert_eq!(rendered.objects[0]["spec"]["ports"][0]["port"], 8080);

    // With the annotation, its paths (and the app path) decide instead.
    let request = RenderRequest {
        app_name: "web",
        namespace: "default",
        source: &overlay,
        refresh: true,
    };
    f.renderer
        .render_with_generate_paths(&request, Some("."))
        .expect("renders");
    assert_eq!(f.renderer.renders(), 3, "a different key: rendered once");
    repo.write("base/service.yaml", "# the service is gone\n")
        .remove("unrelated");
    repo.commit("base again");
    let stale = f
        .renderer
        .render_with_generate_paths(&request, Some("."))
        .expect("renders");
    assert_eq!(
        f.renderer.renders(),
        3,
        "the annotation does not list the base"
    );
    assert_eq!(names(&stale), ["Service/web", "Deployment/web"]);
    let fresh = f
        .renderer
        .render_with_generate_paths(&request, Some(".;/base"))
        .expect("renders");
    assert_eq!(f.renderer.renders(), 4, "the annotation lists the base");
    assert_eq!(names(&fresh), ["Deployment/web"]);
}

#[test]
fn argocd_source_files_override_the_source() {
    let repo = Repo::new();
    repo.write("app/a.yaml", &config_map("a"))
        .write("app/sub/b.yaml", &config_map("b"))
        .write(".keep", "")
        .write(
            "app/.argocd-source-web.yaml",
            "directory:\n  recurse: true\n",
        );
    repo.commit("overrides");
    let f = renderer();
    let rendered = render(&f.renderer, &source(&repo.url(), "app")).expect("renders");
    assert_eq!(names(&rendered), ["ConfigMap/a", "ConfigMap/b"]);
    let other = f
        .renderer
        .render(&RenderRequest {
            app_name: "other",
            namespace: "default",
            source: &source(&repo.url(), "app"),
            refresh: false,
        })
        .expect("renders");
    assert_eq!(
        names(&other),
        ["ConfigMap/a"],
        "the file names the app `web` only"
    );
}

#[test]
fn private_repositories_over_git_http_backend_use_the_matching_credentials() {
    const TOKEN: &str = "s3cret-token";
    let work = Repo::new();
    work.write("app/cm.yaml", &config_map("over-http"));
    let revision = work.commit("http");
    let root = tempfile::tempdir().expect("temp dir");
    let bare: PathBuf = root.path().join("origin.git");
    git(
        root.path(),
        &[
            "clone",
            "-q",
            "--bare",
            &work.path().display().to_string(),
            "origin.git",
        ],
    );
    assert!(bare.is_dir());
    let server = http_backend::GitHttpServer::start_private(root.path(), TOKEN);
    let url = server.url("origin.git");

    let f = renderer();
    let denied = render(&f.renderer, &source(&url, "app")).expect_err("no credentials");
    assert!(matches!(denied, Error::Git { .. }), "{denied:?}");

    f.renderer
        .repositories()
        .set_credentials(vec![RepoCredentials {
            url: url.trim_end_matches("origin.git").to_owned(),
            username: Some("alice".into()),
            password: Some(TOKEN.into()),
        }]);
    let rendered = render(&f.renderer, &source(&url, "app")).expect("renders");
    assert_eq!(names(&rendered), ["ConfigMap/over-http"]);
    assert_eq!(rendered.revision, revision);
}

#[test]
fn renderer_and_repositories_are_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Renderer>();
    shared::<Repositories>();
    let repo = Repo::new();
    repo.write("app/cm.yaml", &config_map("a"));
    repo.commit("a");
    let f = renderer();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let rendered = render(&f.renderer, &source(&repo.url(), "app")).expect("renders");
                assert_eq!(names(&rendered), ["ConfigMap/a"]);
            });
        }
    });
    assert!(f.renderer.renders() >= 1);
}
