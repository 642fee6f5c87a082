//! The [`Reconciler`]: one Application rendered, compared, synced and its status
//! written, as Argo CD's application controller does it.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use windlass_entity_model::argocd::{
    AppHealthStatus, AppProject, Application, ApplicationCondition, ApplicationSource,
    ApplicationStatus, ApplicationSummary, ComparedTo, Operation, OperationInitiator,
    OperationPhase, SyncOperation, SyncStatus, SyncStatusCode,
};

use crate::cluster::{Cluster, IN_CLUSTER_SERVER};
use crate::compare::{self, CompareInput, Comparison, condition};
use crate::diff::DiffConfig;
use crate::health::HealthChecks;
use crate::metrics::Metrics;
use crate::project::{ProjectPolicy, default_project_spec};
use crate::render::{Rendered, Renderer};
use crate::repo::Repositories;
use crate::resource::Tracking;
use crate::sync::{self, Progress, SyncContext, SyncOptions, SyncOutcome};
use crate::{Error, Result};

/// The field manager of every apply the reconciler makes.
pub const FIELD_MANAGER: &str = "windlass-controller";

/// Argo's finalizer asking for an Application's resources to be deleted with it
/// (`/foreground` and `/background` variants choose the propagation policy).
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// Argo CD's settings ConfigMap in the control namespace.
pub const ARGOCD_CM: &str = "argocd-cm";

/// The annotation users set to ask for a refresh (`normal` or `hard`).
pub const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

/// The current time as Kubernetes writes it.
pub fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Settings of a [`Reconciler`]; defaults are Argo CD's.
#[derive(Clone)]
pub struct Config {
    /// The namespace holding Applications, AppProjects and cluster secrets (`argocd`).
    pub namespace: String,
    /// Where repository mirrors are kept.
    pub repo_cache: PathBuf,
    /// Health checks, built-in plus custom.
    pub health: HealthChecks,
    /// How long an operation may run before it is terminated (Argo's
    /// `controller.sync.timeout.seconds`; None: no limit, Argo's default).
    pub sync_timeout: Option<Duration>,
    /// How soon an operation that waits (for health, a hook, a deletion) is looked at
    /// again when nothing it waits for has announced a change.
    pub operation_poll: Duration,
    /// How long connecting to a destination cluster may take (discovery and the first
    /// list of every type). A cluster that failed is tried again 10 s later at the soonest.
    pub cluster_timeout: Duration,
    /// The first self-heal backoff; doubled per attempt up to `self_heal_max_backoff`.
    pub self_heal_backoff: Duration,
    /// The longest self-heal backoff.
    pub self_heal_max_backoff: Duration,
    /// This installation's ID (Argo's `installationID`): objects are marked with it and
    /// only objects carrying it are read as managed. `None`: the `installationID` key of
    /// the `argocd-cm` ConfigMap in `namespace`, read when the reconciler starts.
    pub installation_id: Option<String>,
}

impl Config {
    /// Defaults, with repository mirrors under `repo_cache`.
    pub fn new(repo_cache: impl Into<PathBuf>) -> Config {
        Config {
            namespace: "argocd".into(),
            repo_cache: repo_cache.into(),
            health: HealthChecks::new(),
            sync_timeout: None,
            operation_poll: Duration::from_secs(10),
            cluster_timeout: Duration::from_secs(30),
            self_heal_backoff: Duration::from_secs(2),
            self_heal_max_backoff: Duration::from_secs(300),
            installation_id: None,
        }
    }
}

/// What one reconcile of an Application did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Compared; the status was written.
    Compared,
    /// A step of an operation ran; the operation is now in the given phase (`Running`:
    /// it waits, and is looked at again after [`Config::operation_poll`] at the latest).
    Synced(OperationPhase),
    /// Nothing could be done yet; try again after the given time (e.g. self-heal backoff).
    RetryAfter(Duration),
}

/// The state of one Application after a comparison.
pub struct AppState {
    /// The resolved revision of each source.
    pub revisions: Vec<String>,
    /// How each source was rendered.
    pub source_types: Vec<windlass_entity_model::argocd::ApplicationSourceType>,
    /// The comparison.
    pub comparison: Comparison,
    /// The destination cluster; `None` when it is unknown or cannot be reached (the
    /// comparison's conditions say why).
    pub cluster: Option<Arc<Cluster>>,
    /// The destination namespace.
    pub namespace: String,
    /// Set when rendering or the project forbids syncing; nothing is applied or pruned then.
    pub blocked: bool,
}

/// The Argo CD engine for Applications in one control namespace.
pub struct Reconciler {
    client: kube::Client,
    local: Arc<Cluster>,
    /// Clusters registered with Argo cluster secrets, by server URL.
    remotes: Mutex<HashMap<String, Arc<Remote>>>,
    /// Applications whose tracked objects changed, on any cluster.
    changes: broadcast::Sender<String>,
    repos: Arc<Repositories>,
    renderer: Arc<Renderer>,
    config: Config,
    metrics: Arc<Metrics>,
    self_heal: Mutex<HashMap<String, (u32, Instant)>>,
    /// The resourceVersion each Application had after this reconciler last wrote it: a
    /// cached copy older than that is read again.
    written: Mutex<HashMap<String, u64>>,
    tracking: Tracking,
}

/// A cluster registered with an Argo cluster secret. One task at a time connects to it,
/// in the background: Applications wait for it a few seconds at most, and a failure is
/// remembered for a while so they do not each try again.
struct Remote {
    name: String,
    state: tokio::sync::Mutex<RemoteState>,
}

#[derive(Default)]
struct RemoteState {
    connected: Option<Arc<Cluster>>,
    failed: Option<(Instant, String)>,
    /// While a connection is being made: turns true when it is done.
    connecting: Option<tokio::sync::watch::Receiver<bool>>,
    /// Applications that stopped waiting for the connection: refreshed when it is done.
    waiting: BTreeSet<String>,
}

/// How long a cluster that could not be connected to is left alone (Argo's cluster
/// cache retries after 10 s).
const CLUSTER_RETRY: Duration = Duration::from_secs(10);

/// How long an Application waits for its cluster to be connected to before it says it
/// is still connecting (and frees its worker).
const CLUSTER_WAIT: Duration = Duration::from_secs(5);

impl Reconciler {
    /// A reconciler whose Applications live in `client`'s cluster (which is also the
    /// in-cluster destination).
    pub async fn new(client: kube::Client, config: Config) -> Result<Reconciler> {
        let installation_id = match &config.installation_id {
            Some(id) => Some(id.clone()),
            None => installation_id_of_argocd_cm(&client, &config.namespace).await?,
        };
        let tracking = Tracking::new(installation_id);
        let (changes, _) = broadcast::channel(4096);
        let local = Cluster::connect_sharing(
            client.clone(),
            IN_CLUSTER_SERVER,
            tracking.clone(),
            changes.clone(),
        )
        .await?;
        let repos = Arc::new(Repositories::new(config.repo_cache.clone()));
        Ok(Reconciler {
            client,
            local,
            remotes: Mutex::default(),
            changes,
            renderer: Arc::new(Renderer::new(repos.clone())),
            repos,
            config,
            metrics: Arc::new(Metrics::default()),
            self_heal: Mutex::default(),
            written: Mutex::default(),
            tracking,
        })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The in-cluster destination.
    pub fn local_cluster(&self) -> &Arc<Cluster> {
        &self.local
    }

    /// The repository mirrors.
    pub fn repositories(&self) -> &Arc<Repositories> {
        &self.repos
    }

    /// The renderer (and its cache).
    pub fn renderer(&self) -> &Arc<Renderer> {
        &self.renderer
    }

    /// Metrics in Prometheus' text format.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Names of Applications whose tracked objects changed, on any cluster the reconciler
    /// deploys to (clusters connected later included), as they change; and of those that
    /// stopped waiting for their cluster, once it is connected to (or failed).
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    /// The cluster an Application deploys to: in-cluster, or one registered with an Argo
    /// cluster secret (`argocd.argoproj.io/secret-type: cluster`). A cluster is
    /// connected to in the background, for [`Config::cluster_timeout`] at most; an
    /// Application waits for that 5 s at most, then its comparison says the cluster is
    /// still being connected to, and it is announced on [`Reconciler::subscribe`] when
    /// the connection is made or has failed. Nothing else waits for it.
    pub async fn destination(&self, app: &Application) -> Result<Arc<Cluster>> {
        let dest = app.spec.destination.clone().unwrap_or_default();
        let server = dest.server.as_deref().unwrap_or("");
        let name = dest.name.as_deref().unwrap_or("");
        if server == IN_CLUSTER_SERVER || (server.is_empty() && name == "in-cluster") {
            return Ok(self.local.clone());
        }
        let known = |r: &(&String, &Arc<Remote>)| {
            r.0.as_str() == server || (server.is_empty() && r.1.name == name)
        };
        let connected = self
            .remotes
            .lock()
            .expect("not poisoned")
            .iter()
            .find(known)
            .and_then(|(_, r)| r.state.try_lock().ok()?.connected.clone());
        if let Some(cluster) = connected {
            return Ok(cluster);
        }
        let app_name = app.metadata.name.clone().unwrap_or_default();
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.config.namespace);
        let list = secrets
            .list(&ListParams::default().labels("argocd.argoproj.io/secret-type=cluster"))
            .await
            .map_err(|source| Error::Kube {
                context: "listing cluster secrets".into(),
                source,
            })?;
        let found = list.into_iter().find_map(|secret| {
            let field = |k: &str| {
                secret
                    .data
                    .as_ref()
                    .and_then(|d| d.get(k))
                    .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                    .or_else(|| secret.string_data.as_ref().and_then(|d| d.get(k)).cloned())
                    .unwrap_or_default()
            };
            let (s_server, s_name) = (field("server"), field("name"));
            ((!server.is_empty() && s_server == server) || (server.is_empty() && s_name == name))
                .then(|| {
                    let secret_name = secret.metadata.name.clone().unwrap_or_default();
                    (s_server, s_name, field("config"), secret_name)
                })
        });
        let Some((s_server, s_name, config, secret_name)) = found else {
            return Err(Error::Invalid {
                what: format!("application {app_name}"),
                message: if server.is_empty() {
                    format!("there are no clusters with this name: {name}")
                } else {
                    format!(
                        "cluster {server} is not registered (no secret labelled argocd.argoproj.io/secret-type: cluster)"
                    )
                },
            });
        };
        let remote = self
            .remotes
            .lock()
            .expect("not poisoned")
            .entry(s_server.clone())
            .or_insert_with(|| {
                Arc::new(Remote {
                    name: s_name,
                    state: tokio::sync::Mutex::default(),
                })
            })
            .clone();
        let timeout = self.config.cluster_timeout;
        let done = {
            let mut state = remote.state.lock().await;
            if let Some(cluster) = &state.connected {
                return Ok(cluster.clone());
            }
            if let Some((at, message)) = &state.failed
                && at.elapsed() < CLUSTER_RETRY
            {
                return Err(Error::Cluster {
                    server: s_server,
                    message: message.clone(),
                });
            }
            match &state.connecting {
                Some(done) => done.clone(),
                None => {
                    // Builds a configuration only; nothing is sent yet.
                    let client =
                        cluster_client(&s_server, &config, timeout)
                            .await
                            .map_err(|message| Error::Invalid {
                                what: format!("application {app_name}"),
                                message: format!("cluster secret {secret_name}: {message}"),
                            })?;
                    let (finished, done) = tokio::sync::watch::channel(false);
                    state.connecting = Some(done.clone());
                    let connect = Cluster::connect_sharing(
                        client,
                        s_server.clone(),
                        self.tracking.clone(),
                        self.changes.clone(),
                    );
                    let (remote, server) = (remote.clone(), s_server.clone());
                    let changes = self.changes.clone();
                    tokio::spawn(async move {
                        let result = tokio::time::timeout(timeout, connect).await;
                        let mut state = remote.state.lock().await;
                        state.connecting = None;
                        match result {
                            Ok(Ok(cluster)) => {
                                tracing::info!(%server, "connected to cluster");
                                state.connected = Some(cluster);
                                state.failed = None;
                            }
                            failure => {
                                let message = match failure {
                                    Ok(Err(e)) => e.to_string(),
                                    _ => format!("no answer within {} s", timeout.as_secs()),
                                };
                                tracing::warn!(%server, error = %message, "cannot connect to cluster");
                                state.failed = Some((Instant::now(), message));
                            }
                        }
                        for app in std::mem::take(&mut state.waiting) {
                            let _ = changes.send(app);
                        }
                        let _ = finished.send(true);
                    });
                    done
                }
            }
        };
        // Only Applications of this cluster wait, and only a little.
        let mut done = done;
        let _ = tokio::time::timeout(CLUSTER_WAIT.min(timeout), done.wait_for(|d| *d)).await;
        let mut state = remote.state.lock().await;
        match (&state.connected, &state.failed) {
            (Some(cluster), _) => Ok(cluster.clone()),
            (None, Some((_, message))) => Err(Error::Cluster {
                server: s_server,
                message: message.clone(),
            }),
            (None, None) => {
                state.waiting.insert(app_name);
                Err(Error::Cluster {
                    server: s_server,
                    message: format!("still connecting (for up to {} s)", timeout.as_secs()),
                })
            }
        }
    }

    async fn project(
        &self,
        app: &Application,
    ) -> std::result::Result<(String, windlass_entity_model::argocd::AppProjectSpec), String> {
        let name = app
            .spec
            .project
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "default".into());
        let api: Api<AppProject> = Api::namespaced(self.client.clone(), &self.config.namespace);
        match api.get_opt(&name).await {
            Ok(Some(p)) => Ok((name, p.spec)),
            Ok(None) if name == "default" => Ok((name, default_project_spec())),
            Ok(None) => Err(format!(
                "Application referencing project {name} which does not exist"
            )),
            Err(e) => Err(format!("cannot read project {name}: {e}")),
        }
    }

    /// Renders an Application's sources (blocking work runs off the async threads).
    pub async fn render(&self, app: &Application, refresh: bool) -> Result<Vec<Rendered>> {
        let renderer = self.renderer.clone();
        let app = app.clone();
        tokio::task::spawn_blocking(move || renderer.render_application(&app, refresh))
            .await
            .map_err(|e| Error::Invalid {
                what: "render".into(),
                message: e.to_string(),
            })?
    }

    /// Renders and compares an Application with its destination, without changing
    /// anything. `sources` overrides the Application's (a sync to another revision).
    /// Whatever stands in the way (an unknown or unreachable destination, a project
    /// refusal, a render error, a type whose objects cannot be listed) becomes a
    /// condition of Argo's type and blocks syncing.
    pub async fn compare(
        &self,
        app: &Application,
        sources: Option<Vec<ApplicationSource>>,
        refresh: bool,
    ) -> Result<AppState> {
        let name = app.metadata.name.clone().unwrap_or_default();
        let namespace = app
            .spec
            .destination
            .as_ref()
            .and_then(|d| d.namespace.clone())
            .unwrap_or_default();
        let mut conditions: Vec<ApplicationCondition> = Vec::new();
        let mut blocked = false;
        let cluster = match self.destination(app).await {
            Ok(cluster) => Some(cluster),
            Err(e) => {
                // An unknown cluster or a broken cluster secret is the spec's fault; a
                // cluster that cannot be reached or read is not (Argo's types).
                conditions.push(match e {
                    Error::Invalid { message, .. } => condition("InvalidSpecError", message),
                    other => condition("ComparisonError", other.to_string()),
                });
                blocked = true;
                None
            }
        };
        let mut spec = app.spec.clone();
        if let Some(sources) = sources {
            if spec.sources.is_some() {
                spec.sources = Some(sources);
            } else {
                spec.source = sources.into_iter().next();
            }
        }
        let all_sources: Vec<ApplicationSource> = match &spec.sources {
            Some(s) if !s.is_empty() => s.clone(),
            _ => spec.source.clone().into_iter().collect(),
        };
        // The project's rules come before anything is rendered or applied.
        let policy = self.project(app).await;
        match &policy {
            Err(message) => {
                conditions.push(condition("InvalidSpecError", message.clone()));
                blocked = true;
            }
            Ok((pname, pspec)) => {
                let policy = ProjectPolicy::new(pname, pspec);
                for s in &all_sources {
                    if let Err(m) = policy.check_source(s.repo_url.as_deref().unwrap_or_default()) {
                        conditions.push(condition("InvalidSpecError", m));
                        blocked = true;
                    }
                }
                if let Some(cluster) = &cluster {
                    let dest = spec.destination.clone().unwrap_or_default();
                    let server = dest.server.clone().or_else(|| {
                        (cluster.server() != IN_CLUSTER_SERVER || dest.name.is_some())
                            .then(|| cluster.server().to_owned())
                    });
                    if let Err(m) = policy.check_destination(
                        server.as_deref(),
                        dest.name.as_deref(),
                        &namespace,
                    ) {
                        conditions.push(condition("InvalidSpecError", m));
                        blocked = true;
                    }
                }
            }
        }
        let mut revisions = Vec::new();
        let mut source_types = Vec::new();
        let mut rendered_objects = Vec::new();
        if !blocked {
            let mut app_for_render = app.clone();
            app_for_render.spec = spec.clone();
            match self.render(&app_for_render, refresh).await {
                Ok(rendered) => {
                    for r in rendered {
                        revisions.push(r.revision.clone());
                        source_types.push(r.source_type);
                        rendered_objects.extend(r.objects.iter().cloned());
                    }
                }
                Err(e) => {
                    conditions.push(condition("ComparisonError", e.to_string()));
                    blocked = true;
                }
            }
        }
        let diff_config = DiffConfig {
            manager: FIELD_MANAGER.into(),
            ignore: app.spec.ignore_differences.clone().unwrap_or_default(),
            ..DiffConfig::default()
        };
        let comparison = match cluster.as_deref().filter(|_| !blocked) {
            None => without_live_state(conditions),
            Some(live_cluster) => {
                let input = CompareInput {
                    app: &name,
                    namespace: &namespace,
                    cluster: live_cluster,
                    diff: &diff_config,
                    health: &self.config.health,
                };
                let (desired, hooks) = compare::prepare(rendered_objects, &input, &mut conditions);
                // Objects of a type that cannot be listed cannot be compared.
                let unlisted: BTreeSet<String> = desired
                    .iter()
                    .chain(hooks.iter())
                    .filter_map(|obj| {
                        let key = crate::resource::ResourceKey::of(obj);
                        live_cluster.list_error(&key.group, &key.kind)
                    })
                    .collect();
                if !unlisted.is_empty() {
                    conditions.extend(
                        unlisted
                            .into_iter()
                            .map(|m| condition("ComparisonError", m)),
                    );
                    blocked = true;
                    without_live_state(conditions)
                } else {
                    if let Ok((pname, pspec)) = &policy {
                        let policy = ProjectPolicy::new(pname, pspec);
                        for obj in desired.iter().chain(hooks.iter()) {
                            let key = crate::resource::ResourceKey::of(obj);
                            let namespaced = !key.namespace.is_empty();
                            if let Err(m) = policy.check_resource(&key.group, &key.kind, namespaced)
                            {
                                conditions.push(condition("InvalidSpecError", m));
                                blocked = true;
                            } else if namespaced && key.namespace != namespace {
                                let dest = spec.destination.clone().unwrap_or_default();
                                if let Err(m) = policy.check_destination(
                                    dest.server.as_deref(),
                                    dest.name.as_deref(),
                                    &key.namespace,
                                ) {
                                    conditions.push(condition("InvalidSpecError", m));
                                    blocked = true;
                                }
                            }
                        }
                    }
                    compare::compare(desired, hooks, &input, conditions).await
                }
            }
        };
        Ok(AppState {
            revisions,
            source_types,
            comparison,
            cluster,
            namespace,
            blocked,
        })
    }

    /// Runs one step of a sync operation on a compared Application (see [`sync::run`]):
    /// phase `Running` means the operation waits and the next step, on a fresh
    /// comparison, carries on from the returned results. A blocked comparison ends the
    /// operation in `Error` with its conditions, as Argo does.
    pub async fn sync(
        &self,
        app: &Application,
        state: &AppState,
        op: &SyncOperation,
        progress: &Progress,
    ) -> SyncOutcome {
        let name = app.metadata.name.clone().unwrap_or_default();
        let Some(cluster) = state.cluster.as_ref().filter(|_| !state.blocked) else {
            let message = state
                .comparison
                .conditions
                .iter()
                .filter(|c| {
                    matches!(
                        c.type_.as_deref(),
                        Some("ComparisonError" | "InvalidSpecError")
                    )
                })
                .map(|c| {
                    format!(
                        "{}: {}",
                        c.type_.as_deref().unwrap_or_default(),
                        c.message.as_deref().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(";");
            return SyncOutcome {
                phase: OperationPhase::Error,
                message,
                results: progress.results.clone(),
            };
        };
        let mut options = SyncOptions {
            prune: op.prune.unwrap_or(false),
            dry_run: op.dry_run.unwrap_or(false),
            resources: op.resources.clone().filter(|r| !r.is_empty()),
            managed_namespace_metadata: app
                .spec
                .sync_policy
                .as_ref()
                .and_then(|p| p.managed_namespace_metadata.clone()),
            ..SyncOptions::default()
        };
        if let Some(p) = app
            .spec
            .sync_policy
            .as_ref()
            .and_then(|p| p.sync_options.as_ref())
        {
            options.apply_options(p);
        }
        if let Some(o) = &op.sync_options {
            options.apply_options(o);
        }
        let diff_config = DiffConfig {
            manager: FIELD_MANAGER.into(),
            ignore: app.spec.ignore_differences.clone().unwrap_or_default(),
            ..DiffConfig::default()
        };
        let revision = state.revisions.first().cloned().unwrap_or_default();
        let ctx = SyncContext {
            app: &name,
            namespace: &state.namespace,
            revision: &revision,
            cluster,
            health: &self.config.health,
            diff: &diff_config,
            options: &options,
            progress,
        };
        sync::run(&state.comparison, &ctx).await
    }

    /// One full reconcile, as the controller runs it: start a requested operation or an
    /// automated sync, compare, and write the status.
    pub async fn reconcile(&self, app: &Application) -> Result<Outcome> {
        let started = Instant::now();
        let name = app.metadata.name.clone().unwrap_or_default();
        let span = tracing::info_span!("reconcile", app = %name);
        // Boxed: the future is large, and a reconcile must fit the stack of whatever task
        // runs it.
        let inner = Box::pin(self.reconcile_inner(app));
        let result = tracing::Instrument::instrument(inner, span).await;
        self.metrics.reconciled(app, started.elapsed());
        result
    }

    async fn reconcile_inner(&self, cached: &Application) -> Result<Outcome> {
        let name = cached.metadata.name.clone().unwrap_or_default();
        let ns = cached
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| self.config.namespace.clone());
        let api: Api<Application> = Api::namespaced(self.client.clone(), &ns);
        // An operation is read from the API server, never from a cache that may lag
        // behind (as Argo does); so is an Application written since the cache saw it.
        let fresh;
        let app = if cached.operation.is_some()
            || operation_in_progress(cached.status.as_ref())
            || self.is_stale(cached)
        {
            match api.get_opt(&name).await.map_err(|source| Error::Kube {
                context: format!("reading application {name}"),
                source,
            })? {
                Some(app) => {
                    fresh = app;
                    &fresh
                }
                None => {
                    self.written.lock().expect("not poisoned").remove(&name);
                    return Ok(Outcome::Compared);
                }
            }
        } else {
            cached
        };
        let refresh = app
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REFRESH_ANNOTATION))
            .is_some();
        let operating = app.operation.is_some() || operation_in_progress(app.status.as_ref());
        // An operation ends before the Application's resources are deleted (Argo's order).
        if app.metadata.deletion_timestamp.is_some() && !operating {
            return self.finalize(app, &api).await;
        }

        // What the API server holds, and what this reconcile makes of it.
        let mut known = app.status.clone().unwrap_or_default();
        let mut status = known.clone();
        // A requested operation syncs to what the repository has now (as `argocd app
        // sync` resolves the revision), not to the last poll.
        // (Boxed, like the operation below: their futures are large, and a reconcile
        // must fit the stack of whatever task runs it.)
        let mut state =
            Box::pin(self.compare(app, None, refresh || app.operation.is_some())).await?;
        let mut outcome = Outcome::Compared;
        let mut automated = None;
        if !operating {
            match self.auto_sync_decision(app, &state) {
                AutoSync::Start(op) => automated = Some(*op),
                AutoSync::Skip(Some(c)) => status_conditions_push(&mut status, c),
                AutoSync::Skip(None) => {}
                AutoSync::Backoff(d) => outcome = Outcome::RetryAfter(d),
            }
        }
        let mut ended = false;
        if operating || automated.is_some() {
            outcome = Box::pin(self.operate(app, &api, &mut known, &mut status, &state, automated))
                .await?;
            ended = matches!(outcome, Outcome::Synced(phase) if phase != OperationPhase::Running);
            if ended {
                // Compare again so the operation's end is written with the state it made.
                match Box::pin(self.compare(app, None, false)).await {
                    Ok(compared) => state = compared,
                    Err(e) => {
                        let end = json!({"operation": null});
                        self.patch_status(&api, &name, &mut known, &status, end)
                            .await?;
                        return Err(e);
                    }
                }
            }
        }
        let mut extra = json!({});
        if refresh {
            extra["metadata"] = json!({"annotations": {REFRESH_ANNOTATION: null}});
        }
        if ended {
            extra["operation"] = Value::Null;
        }
        self.write_status(app, &api, &mut known, &mut status, &state, extra)
            .await?;
        Ok(outcome)
    }

    /// Whether a cached Application is older than what this reconciler last wrote.
    fn is_stale(&self, app: &Application) -> bool {
        let name = app.metadata.name.as_deref().unwrap_or_default();
        let cached = resource_version(app);
        self.written
            .lock()
            .expect("not poisoned")
            .get(name)
            .is_some_and(|written| cached.is_none_or(|c| c < *written))
    }

    /// A JSON merge patch of an Application; remembers the resourceVersion it produced.
    pub(crate) async fn patch_app(
        &self,
        api: &Api<Application>,
        name: &str,
        patch: &Value,
    ) -> Result<()> {
        let written = api
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(|source| Error::Kube {
                context: format!("writing application {name}"),
                source,
            })?;
        if let Some(rv) = resource_version(&written) {
            self.written
                .lock()
                .expect("not poisoned")
                .insert(name.to_owned(), rv);
        }
        Ok(())
    }

    /// Writes what changed from `known` (the status the API server holds) to `status`,
    /// plus the top-level fields in `extra` (`operation`, `metadata`); `known` is then
    /// `status`.
    pub(crate) async fn patch_status(
        &self,
        api: &Api<Application>,
        name: &str,
        known: &mut ApplicationStatus,
        status: &ApplicationStatus,
        extra: Value,
    ) -> Result<()> {
        let old = serde_json::to_value(&*known).unwrap_or(Value::Null);
        let new = serde_json::to_value(status).unwrap_or(Value::Null);
        let diff = merge_patch_diff(&old, &new);
        let mut body = match extra {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        if diff.as_object().is_some_and(|d| !d.is_empty()) {
            body.insert("status".into(), diff);
        }
        if !body.is_empty() {
            self.patch_app(api, name, &Value::Object(body)).await?;
        }
        *known = status.clone();
        Ok(())
    }

    /// An Application being deleted: with Argo's resources finalizer, its resources go
    /// first (cascading delete; `Delete=false` objects and CRDs stay), then the
    /// finalizer. Without a known destination nothing is deleted anywhere and the
    /// finalizer stays; a `DeletionError` condition says why.
    async fn finalize(&self, app: &Application, api: &Api<Application>) -> Result<Outcome> {
        let name = app.metadata.name.clone().unwrap_or_default();
        let finalizers = app.metadata.finalizers.clone().unwrap_or_default();
        let Some(ours) = finalizers
            .iter()
            .find(|f| f.starts_with(RESOURCES_FINALIZER))
            .cloned()
        else {
            return Ok(Outcome::Compared);
        };
        let policy = if ours.ends_with("/background") {
            kube::api::PropagationPolicy::Background
        } else {
            kube::api::PropagationPolicy::Foreground
        };
        let deleted = self.delete_resources(app, policy).await;
        let mut known = app.status.clone().unwrap_or_default();
        let mut status = known.clone();
        let mut conditions: Vec<ApplicationCondition> = status
            .conditions
            .take()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.type_.as_deref() != Some("DeletionError"))
            .collect();
        let outcome = match &deleted {
            Err(e) => {
                let message = e.to_string();
                let since = known
                    .conditions
                    .iter()
                    .flatten()
                    .find(|c| {
                        c.type_.as_deref() == Some("DeletionError")
                            && c.message.as_deref() == Some(message.as_str())
                    })
                    .and_then(|c| c.last_transition_time.clone());
                let mut c = condition("DeletionError", message);
                if since.is_some() {
                    c.last_transition_time = since;
                }
                conditions.push(c);
                tracing::warn!(app = %name, error = %e, "cannot delete the application's resources");
                Outcome::RetryAfter(Duration::from_secs(5))
            }
            // Come back once the cache has seen them go.
            Ok(false) => Outcome::RetryAfter(Duration::from_millis(500)),
            Ok(true) => Outcome::Compared,
        };
        if deleted.is_ok_and(|done| done) {
            let kept: Vec<&String> = finalizers.iter().filter(|f| **f != ours).collect();
            let patch = json!({"metadata": {"finalizers": kept, "resourceVersion": app.metadata.resource_version}});
            self.patch_app(api, &name, &patch).await?;
            // Gone once the API server sees no finalizer left.
            self.written.lock().expect("not poisoned").remove(&name);
        } else {
            status.conditions = (!conditions.is_empty()).then_some(conditions);
            self.patch_status(api, &name, &mut known, &status, json!({}))
                .await?;
        }
        Ok(outcome)
    }

    /// Deletes the resources of an Application being deleted; true once none that
    /// should go is left.
    async fn delete_resources(
        &self,
        app: &Application,
        policy: kube::api::PropagationPolicy,
    ) -> Result<bool> {
        let name = app.metadata.name.clone().unwrap_or_default();
        let cluster = self.destination(app).await?;
        // Objects of a type that cannot be listed cannot be found, so they would be left
        // behind unnoticed: wait until the type can be listed again.
        let managed_types: BTreeSet<(String, String)> = app
            .status
            .iter()
            .flat_map(|s| s.resources.iter().flatten())
            .map(|r| {
                (
                    r.group.clone().unwrap_or_default(),
                    r.kind.clone().unwrap_or_default(),
                )
            })
            .collect();
        if let Some(message) = managed_types
            .iter()
            .find_map(|(group, kind)| cluster.list_error(group, kind))
        {
            return Err(Error::Cluster {
                server: cluster.server().to_owned(),
                message,
            });
        }
        let doomed: Vec<Arc<Value>> = cluster
            .tracked_by(&name)
            .into_iter()
            .filter(|obj| should_be_deleted(app, obj))
            .collect();
        for obj in doomed
            .iter()
            .filter(|o| o["metadata"]["deletionTimestamp"].is_null())
        {
            let key = crate::resource::ResourceKey::of(obj);
            let Some(info) = cluster.api(&key.group, &key.kind) else {
                continue;
            };
            let dp = sync::delete_params(Some(obj.as_ref()), policy.clone());
            match cluster
                .dynamic_api(&info, &key.namespace)
                .delete(&key.name, &dp)
                .await
            {
                Ok(_) => {}
                // Gone, or gone and recreated (the UID precondition failed): the cache
                // shows what remains, and the next pass decides on that.
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
                Err(source) => {
                    return Err(Error::Kube {
                        context: format!("deleting {key} of application {name}"),
                        source,
                    });
                }
            }
        }
        Ok(doomed.is_empty())
    }

    fn auto_sync_decision(&self, app: &Application, state: &AppState) -> AutoSync {
        let Some(auto) = app
            .spec
            .sync_policy
            .as_ref()
            .and_then(|p| p.automated.as_ref())
        else {
            return AutoSync::Skip(None);
        };
        if auto.enabled == Some(false) || state.blocked {
            return AutoSync::Skip(None);
        }
        if state.comparison.sync_status != Some(SyncStatusCode::OutOfSync) {
            return AutoSync::Skip(None);
        }
        let name = app.metadata.name.clone().unwrap_or_default();
        let revision = state.revisions.join(",");
        let last = app.status.as_ref().and_then(|s| s.operation_state.as_ref());
        let last_revision = last.and_then(|o| o.sync_result.as_ref()).map(|r| {
            r.revision
                .clone()
                .unwrap_or_else(|| r.revisions.clone().unwrap_or_default().join(","))
        });
        let attempted = last_revision.as_deref() == Some(revision.as_str());
        let succeeded = last.and_then(|o| o.phase) == Some(OperationPhase::Succeeded);
        let self_heal = auto.self_heal.unwrap_or(false);
        let prune = auto.prune.unwrap_or(false);
        if attempted && !succeeded {
            if last.and_then(|o| o.phase) == Some(OperationPhase::Running) {
                return AutoSync::Skip(None);
            }
            return AutoSync::Skip(Some(condition(
                "SyncError",
                format!(
                    "Failed sync attempt to {revision}: {}",
                    last.and_then(|o| o.message.clone()).unwrap_or_default()
                ),
            )));
        }
        // Only drift the sync can fix counts (objects only needing a prune that is off do not).
        let actionable = state
            .comparison
            .resources
            .iter()
            .any(|r| r.status == SyncStatusCode::OutOfSync && (!r.requires_pruning() || prune));
        if !actionable {
            return AutoSync::Skip(None);
        }
        let desired_count = state
            .comparison
            .resources
            .iter()
            .filter(|r| !r.requires_pruning())
            .count();
        // Argo refuses an automated sync that would prune everything, unless allowed.
        if desired_count == 0 && prune && !auto.allow_empty.unwrap_or(false) {
            return AutoSync::Skip(Some(condition(
                "SyncError",
                format!(
                    "Skipping sync attempt to {revision}: auto-sync will wipe out all resources"
                ),
            )));
        }
        let mut resources = None;
        if attempted {
            if !self_heal {
                return AutoSync::Skip(None);
            }
            // Self-heal: drift in the cluster, same revision; back off per attempt.
            let mut heal = self.self_heal.lock().expect("not poisoned");
            let (attempts, last_at) = heal
                .get(&name)
                .copied()
                .unwrap_or((0, Instant::now() - self.config.self_heal_max_backoff));
            let backoff = self
                .config
                .self_heal_backoff
                .saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1)))
                .min(self.config.self_heal_max_backoff);
            let elapsed = last_at.elapsed();
            if attempts > 0 && elapsed < backoff {
                return AutoSync::Backoff(backoff - elapsed);
            }
            heal.insert(name.clone(), (attempts + 1, Instant::now()));
            resources = Some(
                state
                    .comparison
                    .resources
                    .iter()
                    .filter(|r| r.status == SyncStatusCode::OutOfSync)
                    .map(|r| windlass_entity_model::argocd::SyncOperationResource {
                        group: Some(r.key.group.clone()),
                        kind: Some(r.key.kind.clone()),
                        name: Some(r.key.name.clone()),
                        namespace: Some(r.key.namespace.clone()),
                        ..Default::default()
                    })
                    .collect(),
            );
        } else {
            self.self_heal.lock().expect("not poisoned").remove(&name);
        }
        AutoSync::Start(Box::new(Operation {
            sync: Some(SyncOperation {
                revision: (state.revisions.len() == 1).then(|| revision.clone()),
                revisions: (state.revisions.len() > 1).then(|| state.revisions.clone()),
                prune: Some(prune),
                sync_options: app
                    .spec
                    .sync_policy
                    .as_ref()
                    .and_then(|p| p.sync_options.clone()),
                resources,
                ..Default::default()
            }),
            initiated_by: Some(OperationInitiator {
                automated: Some(true),
                ..Default::default()
            }),
            retry: app.spec.sync_policy.as_ref().and_then(|p| p.retry.clone()),
            ..Default::default()
        }))
    }

    /// Writes the comparison into the status (what changed since `known`, the status the
    /// API server holds) along with the top-level fields in `extra`: the refresh
    /// annotation is consumed in the write of the refreshed status, as Argo does, and an
    /// operation is cleared in the write of the status it ended with.
    async fn write_status(
        &self,
        app: &Application,
        api: &Api<Application>,
        known: &mut ApplicationStatus,
        status: &mut ApplicationStatus,
        state: &AppState,
        extra: Value,
    ) -> Result<()> {
        let name = app.metadata.name.clone().unwrap_or_default();
        let c = &state.comparison;
        let multi = app.spec.sources.as_ref().is_some_and(|s| !s.is_empty());
        let previous = known.clone();
        // Conditions keep their first transition time while they hold.
        let mut conditions = c.conditions.clone();
        conditions.extend(
            status
                .conditions
                .take()
                .unwrap_or_default()
                .into_iter()
                .filter(|n| {
                    n.type_.as_deref() == Some("SyncError")
                        && !previous.conditions.iter().flatten().any(|p| p == n)
                }),
        );
        for cond in &mut conditions {
            if let Some(old) = previous
                .conditions
                .iter()
                .flatten()
                .find(|p| p.type_ == cond.type_ && p.message == cond.message)
            {
                cond.last_transition_time = old.last_transition_time.clone();
            }
        }
        conditions.dedup();
        status.conditions = (!conditions.is_empty()).then_some(conditions);
        status.resources = Some(c.resources.iter().map(|r| r.status_entry()).collect());
        status.sync = Some(SyncStatus {
            status: c.sync_status,
            revision: (!multi).then(|| state.revisions.first().cloned()).flatten(),
            revisions: multi.then(|| state.revisions.clone()),
            compared_to: Some(ComparedTo {
                source: (!multi).then(|| app.spec.source.clone()).flatten(),
                sources: multi.then(|| app.spec.sources.clone()).flatten(),
                destination: app.spec.destination.clone(),
                ignore_differences: app.spec.ignore_differences.clone(),
                ..Default::default()
            }),
            ..Default::default()
        });
        let health_changed = previous.health.as_ref().and_then(|h| h.status) != Some(c.health);
        status.health = Some(AppHealthStatus {
            status: Some(c.health),
            message: c.health_message.clone(),
            last_transition_time: if health_changed {
                Some(now())
            } else {
                previous
                    .health
                    .as_ref()
                    .and_then(|h| h.last_transition_time.clone())
            },
            ..Default::default()
        });
        status.reconciled_at = Some(now());
        status.observed_at = None;
        status.source_type = (!multi)
            .then(|| state.source_types.first().copied())
            .flatten();
        status.source_types = multi.then(|| state.source_types.clone());
        status.summary = Some(ApplicationSummary {
            images: (!c.images.is_empty()).then(|| c.images.clone()),
            ..Default::default()
        });
        status.controller_namespace = Some(self.config.namespace.clone());
        let old = serde_json::to_value(&previous).unwrap_or(Value::Null);
        let new = serde_json::to_value(&*status).unwrap_or(Value::Null);
        let mut patch = merge_patch_diff(&old, &new);
        let unchanged = patch.as_object_mut().is_some_and(|p| {
            p.remove("reconciledAt");
            p.is_empty() && previous.reconciled_at.is_some()
        });
        let mut body = extra;
        if !unchanged {
            if let Some(p) = patch.as_object_mut() {
                p.insert("reconciledAt".into(), json!(status.reconciled_at));
            }
            body["status"] = patch;
        }
        if body.as_object().is_some_and(|b| !b.is_empty()) {
            self.patch_app(api, &name, &body).await?;
        }
        *known = status.clone();
        Ok(())
    }

    /// Requests a rollback to a history entry, as `argocd app rollback` does; refused
    /// while automated sync is on.
    pub async fn rollback(&self, app: &Application, id: i64) -> Result<()> {
        let name = app.metadata.name.clone().unwrap_or_default();
        if app
            .spec
            .sync_policy
            .as_ref()
            .and_then(|p| p.automated.as_ref())
            .is_some_and(|a| a.enabled != Some(false))
        {
            return Err(Error::Invalid {
                what: format!("application {name}"),
                message: "rollback cannot be initiated when auto-sync is enabled".into(),
            });
        }
        let entry = app
            .status
            .as_ref()
            .and_then(|s| s.history.as_ref())
            .and_then(|h| h.iter().find(|e| e.id == Some(id)))
            .cloned()
            .ok_or_else(|| Error::Invalid {
                what: format!("application {name}"),
                message: format!(
                    "application {name} does not have deployment id '{id}' in history"
                ),
            })?;
        let op = Operation {
            sync: Some(SyncOperation {
                revision: entry.revision.clone(),
                source: entry.source.clone(),
                sources: entry.sources.clone(),
                revisions: entry.revisions.clone(),
                prune: Some(false),
                ..Default::default()
            }),
            initiated_by: Some(OperationInitiator {
                username: Some("windlass".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let ns = app
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| self.config.namespace.clone());
        let api: Api<Application> = Api::namespaced(self.client.clone(), &ns);
        self.patch_app(&api, &name, &json!({"operation": op}))
            .await?;
        Ok(())
    }
}

enum AutoSync {
    Start(Box<Operation>),
    Skip(Option<ApplicationCondition>),
    Backoff(Duration),
}

/// The `installationID` key of the `argocd-cm` ConfigMap, as Argo CD reads it (none
/// when the ConfigMap or the key is missing or empty).
async fn installation_id_of_argocd_cm(
    client: &kube::Client,
    namespace: &str,
) -> Result<Option<String>> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let cm = api.get_opt(ARGOCD_CM).await.map_err(|source| Error::Kube {
        context: format!("reading ConfigMap {namespace}/{ARGOCD_CM} (installationID)"),
        source,
    })?;
    Ok(cm
        .and_then(|cm| cm.data)
        .and_then(|mut data| data.remove("installationID"))
        .filter(|id| !id.is_empty()))
}

fn status_conditions_push(status: &mut ApplicationStatus, c: ApplicationCondition) {
    status.conditions.get_or_insert_with(Vec::new).push(c);
}

/// A comparison that could not look at the live state: sync status and health Unknown,
/// no resources, only the conditions saying why.
fn without_live_state(conditions: Vec<ApplicationCondition>) -> Comparison {
    Comparison {
        conditions,
        sync_status: Some(SyncStatusCode::Unknown),
        health: windlass_entity_model::argocd::HealthStatusCode::Unknown,
        ..Default::default()
    }
}

/// Whether an Application's last operation is still going on (Running, or Terminating).
pub(crate) fn operation_in_progress(status: Option<&ApplicationStatus>) -> bool {
    status
        .and_then(|s| s.operation_state.as_ref())
        .is_some_and(|o| {
            o.operation.is_some()
                && matches!(
                    o.phase,
                    Some(OperationPhase::Running | OperationPhase::Terminating)
                )
        })
}

/// An Application's resourceVersion as a number (etcd's and the embedded cluster's are).
fn resource_version(app: &Application) -> Option<u64> {
    app.metadata.resource_version.as_deref()?.parse().ok()
}

/// The value of an option (`Delete=false` → `false`) in a list of Argo sync options.
fn option_value<'a>(options: impl IntoIterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    options.into_iter().find_map(|o| {
        let (k, v) = o.split_once('=')?;
        (k.trim() == name).then(|| v.trim())
    })
}

/// Whether deleting an Application deletes this live object of it, as in Argo: not
/// CRDs, not the Application itself, not what `Delete=false` (on the object, else in
/// the Application's sync options) or Helm's `resource-policy: keep` keeps.
fn should_be_deleted(app: &Application, obj: &Value) -> bool {
    let key = crate::resource::ResourceKey::of(obj);
    if key.kind == "CustomResourceDefinition" && key.group == "apiextensions.k8s.io" {
        return false;
    }
    if key.kind == "Application"
        && key.group == "argoproj.io"
        && Some(key.name.as_str()) == app.metadata.name.as_deref()
        && Some(key.namespace.as_str()) == app.metadata.namespace.as_deref()
    {
        return false;
    }
    let on_object = crate::resource::annotation(obj, crate::resource::SYNC_OPTIONS)
        .and_then(|v| option_value(v.split(','), "Delete"));
    let delete = on_object.or_else(|| {
        app.spec
            .sync_policy
            .as_ref()
            .and_then(|p| p.sync_options.as_ref())
            .and_then(|o| option_value(o.iter().map(String::as_str), "Delete"))
    });
    delete != Some("false")
        && crate::resource::annotation(obj, "helm.sh/resource-policy") != Some("keep")
}

/// Argo's retry backoff: `duration` (default 5s) × `factor` (default 2) per attempt, at
/// most `maxDuration` (default 3m).
pub fn retry_backoff(
    retry: Option<&windlass_entity_model::argocd::RetryStrategy>,
    attempt: i64,
) -> Duration {
    let backoff = retry.and_then(|r| r.backoff.as_ref());
    let base = backoff
        .and_then(|b| b.duration.as_deref())
        .and_then(backoff_duration)
        .unwrap_or(Duration::from_secs(5));
    let factor = backoff.and_then(|b| b.factor).unwrap_or(2).max(1) as u32;
    let max = backoff
        .and_then(|b| b.max_duration.as_deref())
        .and_then(backoff_duration)
        .unwrap_or(Duration::from_secs(180));
    let exp = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(30);
    base.saturating_mul(factor.saturating_pow(exp)).min(max)
}

/// A backoff duration as Argo CD reads it (`parseStringToDuration`): a bare integer is
/// seconds, anything else a Go duration. Negative or unreadable: `None`.
fn backoff_duration(s: &str) -> Option<Duration> {
    windlass_entity_model::duration::parse_seconds_or_go(s)
        .ok()
        .and_then(|d| Duration::try_from(d).ok())
}

/// A JSON merge patch taking `old` to `new`.
pub fn merge_patch_diff(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = serde_json::Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) if ov == nv => {}
                    Some(ov) if ov.is_object() && nv.is_object() => {
                        patch.insert(k.clone(), merge_patch_diff(ov, nv));
                    }
                    _ => {
                        patch.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys() {
                if !n.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            Value::Object(patch)
        }
        _ => new.clone(),
    }
}

/// A client for a cluster from an Argo cluster secret's `server` and `config` (JSON:
/// `bearerToken`, `tlsClientConfig.{insecure,caData,certData,keyData,serverName}`).
async fn cluster_client(
    server: &str,
    config: &str,
    connect_timeout: Duration,
) -> std::result::Result<kube::Client, String> {
    let cfg: Value = if config.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(config).map_err(|e| format!("config: {e}"))?
    };
    let tls = &cfg["tlsClientConfig"];
    let kubeconfig = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {
            "server": server,
            "certificate-authority-data": tls["caData"],
            "insecure-skip-tls-verify": tls["insecure"].as_bool().unwrap_or(false),
            "tls-server-name": tls["serverName"],
        }}],
        "users": [{"name": "u", "user": {
            "token": cfg["bearerToken"],
            "client-certificate-data": tls["certData"],
            "client-key-data": tls["keyData"],
            "username": cfg["username"],
            "password": cfg["password"],
        }}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    });
    let kubeconfig = windlass_entity_model::load::without_nulls(kubeconfig);
    let kubeconfig: kube::config::Kubeconfig =
        serde_json::from_value(kubeconfig).map_err(|e| format!("config: {e}"))?;
    let mut config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    config.connect_timeout = Some(connect_timeout);
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

#[cfg(test)]
mod backoff_tests {
    use super::*;
    use windlass_entity_model::argocd::RetryStrategy;

    fn backoff(duration: &str, max: &str, attempt: i64) -> Duration {
        let retry: RetryStrategy = serde_json::from_value(serde_json::json!({
            "backoff": {"duration": duration, "maxDuration": max, "factor": 2}
        }))
        .expect("a retry strategy");
        retry_backoff(Some(&retry), attempt)
    }

    #[test]
    fn backoff_durations_are_seconds_or_go_durations() {
        assert_eq!(backoff("7", "1h", 1), Duration::from_secs(7));
        assert_eq!(backoff("1m30s", "1h", 2), Duration::from_secs(180));
        assert_eq!(backoff("250us", "1h", 3), Duration::from_millis(1));
        assert_eq!(backoff("1.5h", "2h", 2), Duration::from_secs(7200));
        // What Go cannot read falls back to Argo's defaults (5s, at most 3m).
        assert_eq!(backoff("5 s", "3 m", 8), Duration::from_secs(180));
    }
}
