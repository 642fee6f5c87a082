//! The Application controller: `kube-runtime` drives [`Reconciler::reconcile`] for every
//! Application, on a periodic refresh, when its spec or operation changes, when its
//! AppProject changes, when a tracked live object changes and when its repository gets
//! a new commit.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use windlass_entity_model::argocd::{AppProject, Application, OperationPhase};

use crate::app::{Outcome, REFRESH_ANNOTATION, Reconciler};

/// Settings of the controller loop; defaults are Argo CD's.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How often every Application is refreshed (Argo's `timeout.reconciliation`, 180 s).
    pub refresh_interval: Duration,
    /// How often watched repositories are fetched for new commits.
    pub repo_poll_interval: Duration,
    /// How many Applications reconcile at once (Argo's status processors, 20).
    pub concurrency: u16,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            refresh_interval: Duration::from_secs(180),
            repo_poll_interval: Duration::from_secs(10),
            concurrency: 20,
        }
    }
}

/// What triggers a reconcile: the fields users and Argo's CLI change — not the status
/// the controller writes itself, except a request to terminate the operation.
fn trigger_hash(app: &Application) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(&app.spec).ok()?.hash(&mut h);
    serde_json::to_string(&app.operation).ok()?.hash(&mut h);
    app.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REFRESH_ANNOTATION))
        .hash(&mut h);
    app.metadata.deletion_timestamp.is_some().hash(&mut h);
    let terminating = app
        .status
        .as_ref()
        .and_then(|s| s.operation_state.as_ref())
        .and_then(|o| o.phase)
        == Some(OperationPhase::Terminating);
    terminating.hash(&mut h);
    Some(h.finish())
}

struct Ctx {
    reconciler: Arc<Reconciler>,
    settings: Settings,
}

/// Runs the controller until `shutdown` resolves.
pub async fn run(
    reconciler: Arc<Reconciler>,
    client: kube::Client,
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let namespace = reconciler.config().namespace.clone();
    let apps: Api<Application> = Api::namespaced(client.clone(), &namespace);
    let projects: Api<AppProject> = Api::namespaced(client.clone(), &namespace);
    let (reader, writer) = reflector::store::<Application>();
    let app_stream = reflector::reflector(writer, watcher(apps, watcher::Config::default()))
        .default_backoff()
        .applied_objects()
        .predicate_filter(trigger_hash, Default::default());

    // Tracked objects changed, on any cluster (those connected later too) → their
    // Application.
    let (trigger_tx, triggers) = futures::channel::mpsc::unbounded::<ObjectRef<Application>>();
    let mut changes = reconciler.subscribe();
    let tx = trigger_tx.clone();
    let ns = namespace.clone();
    tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(app) => {
                    if tx.unbounded_send(ObjectRef::new(&app).within(&ns)).is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            }
        }
    });
    // New commits in a watched repository → the Applications using it.
    spawn_repo_poller(
        reconciler.clone(),
        reader.clone(),
        settings.repo_poll_interval,
        trigger_tx.clone(),
    );

    // `argocd_app_info` reads the Applications from this cache, as Argo's collector does.
    reconciler.metrics().watch_applications(reader.clone());
    let project_reader = reader.clone();
    let ctx = Arc::new(Ctx {
        reconciler,
        settings: settings.clone(),
    });
    Controller::for_stream(app_stream, reader)
        .with_config(ControllerConfig::default().concurrency(settings.concurrency))
        .watches(
            projects,
            watcher::Config::default(),
            move |project: AppProject| {
                let name = project.metadata.name.clone().unwrap_or_default();
                project_reader
                    .state()
                    .into_iter()
                    .filter(|a| a.spec.project.as_deref().unwrap_or("default") == name)
                    .map(|a| ObjectRef::from_obj(&*a))
                    .collect::<Vec<_>>()
            },
        )
        .reconcile_on(triggers)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
}

/// Whether a change to `changed` (repository paths) can change what was rendered from
/// `inputs` (paths read; `""` is the whole repository).
fn touches(inputs: &[String], changed: &[String]) -> bool {
    inputs.iter().any(|input| {
        input.is_empty()
            || changed.iter().any(|c| {
                c == input
                    || c.starts_with(&format!("{input}/"))
                    || input.starts_with(&format!("{c}/"))
            })
    })
}

/// Polls the repositories Applications use. When a commit lands, only the Applications
/// whose rendered inputs it changed are refreshed at once (the others' manifests cannot
/// have changed; the periodic refresh updates their revision), so a monorepo with many
/// Applications does not queue all of them behind every commit.
fn spawn_repo_poller(
    reconciler: Arc<Reconciler>,
    reader: Store<Application>,
    interval: Duration,
    tx: futures::channel::mpsc::UnboundedSender<ObjectRef<Application>>,
) {
    tokio::spawn(async move {
        // The commit each (repository, targetRevision) was last seen at.
        let mut seen: HashMap<(String, String), windlass_git_store::ObjectId> = HashMap::new();
        // Repositories whose last fetch failed: their Applications are refreshed when
        // that starts and when it ends, so their conditions say so at once.
        let mut failing: BTreeSet<String> = BTreeSet::new();
        loop {
            tokio::time::sleep(interval).await;
            let apps = reader.state();
            let mut by_repo: HashMap<String, Vec<(String, Arc<Application>)>> = HashMap::new();
            for app in &apps {
                let sources: BTreeSet<(String, String)> = app
                    .spec
                    .sources
                    .iter()
                    .flatten()
                    .chain(app.spec.source.iter())
                    .filter_map(|s| {
                        s.repo_url
                            .clone()
                            .map(|u| (u, s.target_revision.clone().unwrap_or_default()))
                    })
                    .collect();
                for (url, revision) in sources {
                    by_repo
                        .entry(url)
                        .or_default()
                        .push((revision, app.clone()));
                }
            }
            for (url, users) in by_repo {
                let repos = reconciler.repositories().clone();
                let revisions: BTreeSet<String> = users.iter().map(|(r, _)| r.clone()).collect();
                let u = url.clone();
                let resolved = tokio::task::spawn_blocking(move || {
                    let moved = repos.refresh(&u)?;
                    let mut out = Vec::new();
                    for rev in revisions {
                        let target = Some(rev.as_str()).filter(|r| !r.is_empty());
                        let (store, commit) = repos.resolve(&u, target, false)?;
                        out.push((rev, store, commit));
                    }
                    Ok::<_, crate::Error>((moved, out))
                })
                .await;
                let (moved, resolved) = match resolved {
                    Ok(Ok(r)) => r,
                    Ok(Err(e)) => {
                        if failing.insert(url.clone()) {
                            tracing::warn!(%url, error = %e, "cannot fetch repository");
                            for (_, app) in &users {
                                if tx.unbounded_send(ObjectRef::from_obj(&**app)).is_err() {
                                    return;
                                }
                            }
                        }
                        continue;
                    }
                    Err(_) => return,
                };
                let recovered = failing.remove(&url);
                for (rev, store, commit) in resolved {
                    let previous = seen.insert((url.clone(), rev.clone()), commit);
                    if !recovered && (!moved && previous.is_some() || previous == Some(commit)) {
                        continue;
                    }
                    // What the commit(s) changed, when we know where we came from.
                    let changed: Option<Vec<String>> = match previous {
                        Some(old) => {
                            let store = store.clone();
                            tokio::task::spawn_blocking(move || {
                                store
                                    .diff(&old.to_string(), &commit.to_string())
                                    .ok()
                                    .map(|files| files.into_iter().map(|f| f.path).collect())
                            })
                            .await
                            .ok()
                            .flatten()
                        }
                        None => None,
                    };
                    for (_, app) in users.iter().filter(|(r, _)| *r == rev) {
                        let name = app.metadata.name.clone().unwrap_or_default();
                        let affected = recovered
                            || match (&changed, reconciler.renderer().input_paths(&name, &url)) {
                                (Some(changed), Some(inputs)) => touches(&inputs, changed),
                                _ => true,
                            };
                        if affected && tx.unbounded_send(ObjectRef::from_obj(&**app)).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
}

async fn reconcile(app: Arc<Application>, ctx: Arc<Ctx>) -> Result<Action, crate::Error> {
    let outcome = ctx.reconciler.reconcile(&app).await?;
    let refresh = ctx.settings.refresh_interval;
    Ok(match outcome {
        Outcome::RetryAfter(d) => Action::requeue(d.min(refresh)),
        // An operation that waits is looked at again soon; what it waits for usually
        // announces itself first (a tracked object changes).
        Outcome::Synced(OperationPhase::Running | OperationPhase::Terminating) => {
            Action::requeue(ctx.reconciler.config().operation_poll.min(refresh))
        }
        _ => Action::requeue(refresh),
    })
}

fn error_policy(app: Arc<Application>, error: &crate::Error, _ctx: Arc<Ctx>) -> Action {
    tracing::warn!(app = app.metadata.name.as_deref().unwrap_or_default(), %error, "reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

/// Installs the Application and AppProject CRDs when the cluster lacks them (as Argo
/// CD's install manifests would), waits until they are served, and creates the control
/// namespace if it is missing.
pub async fn install_crds(client: &kube::Client, namespace: &str) -> crate::Result<()> {
    use k8s_openapi::api::core::v1::Namespace;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::PostParams;
    use windlass_entity_model::Kind;

    let kube_err = |context: String| move |source| crate::Error::Kube { context, source };
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for kind in [Kind::Application, Kind::AppProject] {
        let crd = windlass_entity_model::crd::crd(kind);
        let name = crd.metadata.name.clone().unwrap_or_default();
        if crds
            .get_opt(&name)
            .await
            .map_err(kube_err(format!("reading CRD {name}")))?
            .is_none()
        {
            crds.create(&PostParams::default(), &crd)
                .await
                .map_err(kube_err(format!("creating CRD {name}")))?;
            tracing::info!(crd = %name, "installed");
        }
    }
    // A real API server serves a new CRD only once it is Established.
    let apps: Api<Application> = Api::namespaced(client.clone(), namespace);
    let projects: Api<AppProject> = Api::namespaced(client.clone(), namespace);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while apps.list(&Default::default()).await.is_err()
        || projects.list(&Default::default()).await.is_err()
    {
        if tokio::time::Instant::now() > deadline {
            return Err(crate::Error::Invalid {
                what: "CRDs applications.argoproj.io, appprojects.argoproj.io".into(),
                message: "not served 60 s after being created".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces
        .get_opt(namespace)
        .await
        .map_err(kube_err(format!("reading namespace {namespace}")))?
        .is_none()
    {
        let ns: Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}}))
                .expect("a valid namespace");
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .map_err(kube_err(format!("creating namespace {namespace}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::touches;

    #[test]
    fn a_commit_touches_the_apps_whose_inputs_it_changed() {
        let inputs = vec!["apps/web".to_owned(), "base".to_owned()];
        let changed = |paths: &[&str]| paths.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        assert!(touches(&inputs, &changed(&["apps/web/deploy.yaml"])));
        assert!(touches(&inputs, &changed(&["base/kustomization.yaml"])));
        assert!(!touches(
            &inputs,
            &changed(&["apps/webhook/x.yaml", "apps/api/x.yaml"])
        ));
        // A file replacing the whole input directory.
        assert!(touches(&inputs, &changed(&["apps/web"])));
        // The repository root as input: every change counts.
        assert!(touches(&["".to_owned()], &changed(&["README.md"])));
    }
}
