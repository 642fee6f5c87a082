//! `cargo xtask bench reconciler`: the Argo CD engine against the embedded cluster, with
//! the real `kubectl` as the side-by-side peer.
//!
//! One embedded cluster (default config: HTTPS, bearer token, controllers on, in
//! memory), the Application/AppProject CRDs, one Git repository (made with `git`) holding
//! `apps/app-NNNN/` for every Application (a monorepo, as most Argo users have), and one
//! [`windlass_reconciler::Reconciler`] driven by the controller
//! (`windlass_reconciler::controller::run`, refresh 1 h so nothing periodic interferes,
//! `repo_poll_interval` 100 ms, `concurrency` as configured). Measured in one run:
//!
//! 1. cold sync: every Application created (automated sync, `CreateNamespace=true`)
//!    until all are `Synced` + `Healthy` (the controller does the work);
//! 2. warm refresh with no drift: every Application listed and reconciled once more by
//!    calling `Reconciler::reconcile` directly, with the same bounded concurrency (the
//!    controller is idle meanwhile); then, to show where the time goes, the same pass
//!    through `Reconciler::render` only and through `Reconciler::compare` (render +
//!    diff + health) only — reconcile minus compare is the status write decision;
//! 3. the peer, doing the same work as the warm refresh — finding that an applied tree
//!    needs nothing — as a kubectl user would: the same tree (namespaces injected,
//!    `peer-NNNN`, created beforehand) applied once by `kubectl apply --server-side -R -f
//!    <dir>` and left to become available (untimed: the peer's cold sync), then, timed,
//!    the same command again (a no-op: the peer re-applies its own tree, with its own
//!    field manager, so nothing conflicts or changes owner) and `kubectl diff
//!    --server-side -R -f <dir>` (exit 0: no difference, as the warm refresh finds
//!    none), each in kubectl's default configuration and in the faster one a user with
//!    a large tree would pick (apply `--validate=false`, diff `--concurrency` = the
//!    reconciler's); the goals hold against the faster. kubectl runs with a warm
//!    discovery cache in a home of its own, as on any machine that used it before; its
//!    client-side rate limits are not settable. Checked:
//!    the no-op apply changed no object (resourceVersion of ConfigMaps and Services,
//!    `generation` of Deployments) and the diff found nothing;
//! 4. commit → Synced latency: commits changing one ConfigMap in one app's path, timed
//!    from the commit to the Application showing `status.sync.revision` = that commit
//!    and `Synced` — for an app in a repository of its own, and for `app-0000` in the
//!    monorepo (where a new commit makes the controller refresh every Application of
//!    the repository, as Argo does without `manifest-generate-paths`);
//! 5. peak RSS of the process (cluster, reconciler and clients together: `VmHWM`).
//!
//! Prints a table and writes every figure, goal and verdict to
//! `<target>/bench/reconciler.json` (full size) or `reconciler-<apps>x<objects>.json`.
//!
//! Sizes come from the environment: `BENCH_APPS` (1000), `BENCH_OBJECTS` per app (20:
//! a quarter Deployments, a quarter Services, the rest ConfigMaps), `BENCH_COMMITS` per
//! latency case (30), `BENCH_CONCURRENCY` (20, Argo's status processors). Every loop is
//! bounded in count and in time.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};
use windlass_embedded_cluster::{Config as ClusterConfig, EmbeddedCluster};
use windlass_entity_model::Kind;
use windlass_entity_model::argocd::Application;
use windlass_reconciler::controller::{self, Settings};
use windlass_reconciler::{Config, Outcome, Reconciler};
use windlass_testkit::bench::{self, f, ms};

mod kubectl_peer;

use kubectl_peer::kubectl_peer;

type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

/// How much work each part does.
#[derive(Clone, Debug)]
struct Scale {
    apps: usize,
    objects: usize,
    commits: usize,
    concurrency: u16,
    /// Upper bound of the cold sync and of the kubectl run.
    phase_limit: Duration,
    /// Upper bound of one commit → Synced wait.
    commit_limit: Duration,
}

impl Scale {
    fn from_env() -> Result<Scale> {
        let var = |name: &str, default: usize| -> Result<usize> {
            match std::env::var(name) {
                Ok(v) => Ok(v.trim().parse().map_err(|e| format!("{name}={v:?}: {e}"))?),
                Err(_) => Ok(default),
            }
        };
        let apps = var("BENCH_APPS", 1000)?.max(1);
        let objects = var("BENCH_OBJECTS", 20)?.max(3);
        Ok(Scale {
            apps,
            objects,
            commits: var("BENCH_COMMITS", 30)?.max(1),
            concurrency: u16::try_from(var("BENCH_CONCURRENCY", 20)?.clamp(1, 1000))?,
            phase_limit: Duration::from_secs(1200),
            commit_limit: Duration::from_secs(60),
        })
    }

    fn full(&self) -> bool {
        self.apps == 1000 && self.objects == 20
    }

    /// Deployments, Services, ConfigMaps per app.
    fn split(&self) -> (usize, usize, usize) {
        let d = self.objects / 4;
        (d, d, self.objects - 2 * d)
    }
}

const NAMESPACE: &str = "argocd";

fn main() -> Result<()> {
    let scale = Scale::from_env()?;
    // Deep futures (kube-runtime's controller): a large stack, as the e2e tests use.
    let thread =
        std::thread::Builder::new()
            .stack_size(32 << 20)
            .spawn(move || -> Result<()> {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .thread_stack_size(16 << 20)
                    .enable_all()
                    .build()?;
                runtime.block_on(run(scale))
            })?;
    thread.join().map_err(|_| "the benchmark thread panicked")?
}

async fn run(scale: Scale) -> Result<()> {
    let kubectl_version = bench::kubectl_version()?;
    eprintln!("bench reconciler: {scale:?}");
    let tmp = tempfile::tempdir()?;
    let started = Instant::now();
    let cluster = EmbeddedCluster::start(ClusterConfig::default()).await?;
    let client = cluster.client();
    install_crds(&client).await?;
    eprintln!(
        "bench reconciler: cluster at {} ({:.0} ms)",
        cluster.url(),
        ms(started.elapsed())
    );

    // The repositories.
    let t = Instant::now();
    let mono = tmp.path().join("mono");
    write_tree(&mono, &scale, None)?;
    let mono_first = git_commit_all(&mono, "apps", true)?;
    let solo = tmp.path().join("solo");
    write_app(&solo.join("apps/solo"), "solo", &scale, None)?;
    git_commit_all(&solo, "solo", true)?;
    let repo_ms = ms(t.elapsed());
    eprintln!(
        "bench reconciler: repository of {} apps x {} objects written in {repo_ms:.0} ms",
        scale.apps, scale.objects
    );

    let mut config = Config::new(tmp.path().join("cache"));
    config.sync_timeout = Some(Duration::from_secs(600));
    let reconciler = Arc::new(Reconciler::new(client.clone(), config).await?);
    let settings = Settings {
        refresh_interval: Duration::from_secs(3600),
        repo_poll_interval: Duration::from_millis(100),
        concurrency: scale.concurrency,
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let controller_task = tokio::spawn(controller::run(
        reconciler.clone(),
        client.clone(),
        settings,
        async move {
            let _ = stop_rx.await;
        },
    ));

    eprintln!("bench reconciler: 1. cold sync");
    let cold = cold_sync(&scale, &client, &mono, &mono_first).await?;
    eprintln!("bench reconciler: 2. warm refresh");
    let warm = warm_refresh(&scale, &client, &reconciler).await?;
    eprintln!("bench reconciler: 3. kubectl peer");
    let peer = kubectl_peer(&scale, &cluster, tmp.path()).await?;
    eprintln!("bench reconciler: 4. commit -> Synced latency");
    let latency = commit_latency(&scale, &client, &mono, &solo).await?;
    let rss = bench::memory(
        "the whole bench process: embedded cluster (both object sets, simulated pods), reconciler and its cluster cache, clients",
    );

    let _ = stop_tx.send(());
    if tokio::time::timeout(Duration::from_secs(60), controller_task)
        .await
        .is_err()
    {
        eprintln!("bench reconciler: the controller did not stop within 60 s");
    }
    cluster.shutdown().await;

    let speedups = Speedups {
        noop_apply: f(&peer, "noop_apply_ms") / f(&warm, "total_ms"),
        diff: f(&peer, "diff_ms") / f(&warm, "total_ms"),
    };
    let goals = goals(&scale, &cold, &warm, &peer, &latency, &speedups);
    print_table(
        &scale,
        [&cold, &warm, &peer, &latency],
        &speedups,
        &rss,
        &goals,
    );
    let mut machine = bench::machine();
    machine["kubectl"] = json!(kubectl_version);
    let summary = json!({
        "benchmark": "reconciler",
        "scale": {
            "apps": scale.apps,
            "objects_per_app": scale.objects,
            "deployments_services_configmaps_per_app": scale.split(),
            "commits_per_latency_case": scale.commits,
            "concurrency": scale.concurrency,
        },
        "machine": machine,
        "setup": "embedded cluster Config::default() (HTTPS, controllers on, in memory); one Reconciler; controller::run with refresh 1 h, repo poll 100 ms",
        "repository_write_ms": repo_ms,
        "cold_sync": cold,
        "warm_refresh": warm,
        "kubectl_peer": peer,
        "speedup_vs_kubectl_noop_apply": speedups.noop_apply,
        "speedup_vs_kubectl_diff": speedups.diff,
        "commit_latency": latency,
        "memory": rss,
        "goals": goals,
        "all_goals_met": bench::all_goals_met(&goals),
    });
    // A smaller run does not replace the figures of a full one.
    let file = bench::write_summary(
        &if scale.full() {
            "reconciler".to_owned()
        } else {
            format!("reconciler-{}x{}", scale.apps, scale.objects)
        },
        &summary,
    )?;
    println!("\nwrote {}", file.display());
    Ok(())
}

/// The kubectl peer's times over the warm refresh's.
struct Speedups {
    noop_apply: f64,
    diff: f64,
}

// ---- helpers ------------------------------------------------------------------------

fn latency_summary_ms(values: Vec<f64>) -> Value {
    bench::summary(values, "ms")
}

async fn install_crds(client: &kube::Client) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for kind in [Kind::Application, Kind::AppProject] {
        // Argo's shape: no status subresource.
        let crd = windlass_entity_model::crd::crd(kind);
        crds.create(&PostParams::default(), &crd).await?;
    }
    create_namespace(client, NAMESPACE).await?;
    // The CRDs are served once the cluster says so; a few tries at most.
    let apps: Api<Application> = Api::namespaced(client.clone(), NAMESPACE);
    for _ in 0..50 {
        if apps.list(&ListParams::default().limit(1)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the Application CRD is not served after 5 s".into())
}

async fn create_namespace(client: &kube::Client, name: &str) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut ns = Namespace::default();
    ns.metadata.name = Some(name.into());
    namespaces.create(&PostParams::default(), &ns).await?;
    Ok(())
}

fn app_name(i: usize) -> String {
    format!("app-{i:04}")
}

/// Small objects: Deployments (1 replica), Services, ConfigMaps, multi-document YAML,
/// one file per kind. `namespace` is set only for the kubectl peer's copy.
fn write_app(dir: &Path, app: &str, scale: &Scale, namespace: Option<&str>) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let (deployments, services, configmaps) = scale.split();
    let ns = namespace
        .map(|ns| format!("  namespace: {ns}\n"))
        .unwrap_or_default();
    let mut text = String::new();
    for d in 0..deployments {
        let name = format!("web-{d}");
        text.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n{ns}  labels: {{app: {app}, component: {name}}}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: {app}, component: {name}}}\n  template:\n    metadata:\n      labels: {{app: {app}, component: {name}}}\n    spec:\n      containers:\n      - name: main\n        image: registry.example/{app}:1.0.{d}\n        ports:\n        - containerPort: 8080\n"
        ));
    }
    std::fs::write(dir.join("deployments.yaml"), &text)?;
    text.clear();
    for s in 0..services {
        let name = format!("web-{s}");
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n{ns}  labels: {{app: {app}}}\nspec:\n  selector: {{app: {app}, component: {name}}}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
        ));
    }
    std::fs::write(dir.join("services.yaml"), &text)?;
    text.clear();
    for c in 0..configmaps {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-{c}\n{ns}  labels: {{app: {app}}}\ndata:\n  LOG_LEVEL: info\n  revision: \"0\"\n  settings.yaml: |\n    replicas: 1\n    features: [a, b]\n"
        ));
    }
    std::fs::write(dir.join("configmaps.yaml"), &text)?;
    Ok(())
}

/// `apps/app-NNNN/` for every app; with `peer_namespaces`, objects carry `peer-NNNN`.
fn write_tree(root: &Path, scale: &Scale, peer_namespaces: Option<()>) -> Result<()> {
    for i in 0..scale.apps {
        let name = app_name(i);
        let ns = peer_namespaces.map(|()| format!("peer-{i:04}"));
        write_app(&root.join("apps").join(&name), &name, scale, ns.as_deref())?;
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("the benchmark needs `git` (apt-get install git): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Commits everything in `dir` (initializing it first when `init`); the commit id.
fn git_commit_all(dir: &Path, message: &str, init: bool) -> Result<String> {
    if init {
        git(dir, &["init", "-q", "-b", "main"])?;
    }
    git(dir, &["add", "-A"])?;
    git(
        dir,
        &[
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@windlass.dev",
            "commit",
            "-q",
            "-m",
            message,
        ],
    )?;
    git(dir, &["rev-parse", "HEAD"])
}

fn application(name: &str, repo: &Path, path: &str, namespace: &str) -> Result<Application> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "project": "default",
            "source": {"repoURL": format!("file://{}", repo.display()), "path": path, "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {"automated": {"prune": true}, "syncOptions": ["CreateNamespace=true"]},
        }
    }))?)
}

fn sync_health(app: &Application) -> (Option<String>, Option<String>, Option<String>) {
    let status = app.status.as_ref();
    let sync = status.and_then(|s| s.sync.as_ref());
    let text = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_owned));
    (
        text(sync.and_then(|s| serde_json::to_value(s.status).ok())),
        text(
            status
                .and_then(|s| s.health.as_ref())
                .and_then(|h| serde_json::to_value(h.status).ok()),
        ),
        sync.and_then(|s| s.revision.clone()),
    )
}

fn synced_healthy_at(app: &Application, revision: &str) -> bool {
    let (sync, health, rev) = sync_health(app);
    sync.as_deref() == Some("Synced")
        && health.as_deref() == Some("Healthy")
        && rev.as_deref() == Some(revision)
}

// ---- 1. cold sync ---------------------------------------------------------------------

async fn cold_sync(
    scale: &Scale,
    client: &kube::Client,
    mono: &Path,
    first: &str,
) -> Result<Value> {
    let api: Api<Application> = Api::namespaced(client.clone(), NAMESPACE);
    let mut apps = Vec::with_capacity(scale.apps);
    for i in 0..scale.apps {
        let name = app_name(i);
        apps.push(application(
            &name,
            mono,
            &format!("apps/{name}"),
            &format!("bench-{i:04}"),
        )?);
    }
    let started = Instant::now();
    let mut creates = futures::stream::iter(apps)
        .map(|app| {
            let api = api.clone();
            async move { api.create(&PostParams::default(), &app).await }
        })
        .buffer_unordered(8);
    while let Some(created) = creates.next().await {
        created?;
    }
    let created_ms = ms(started.elapsed());
    let deadline = started + scale.phase_limit;
    let mut done_at: Vec<Option<f64>> = vec![None; scale.apps];
    let mut states: Vec<String> = vec!["-/-".into(); scale.apps];
    let mut progress = Vec::new();
    // A watch, not repeated lists: polling 1,000 Applications with their statuses costs
    // the server more than the reconciler's own work.
    let events = kube::runtime::watcher(api.clone(), kube::runtime::watcher::Config::default());
    let mut events = std::pin::pin!(events);
    let mut next_report = Instant::now();
    loop {
        let done = done_at.iter().flatten().count();
        if next_report <= Instant::now() {
            let now = started.elapsed().as_secs_f64();
            progress.push(json!([now, done]));
            if progress.len() % 15 == 0 {
                eprintln!(
                    "bench reconciler: cold sync {now:.0} s: {done}/{} Synced+Healthy",
                    scale.apps
                );
            }
            next_report += Duration::from_secs(1);
        }
        if done == scale.apps {
            break;
        }
        let event = match tokio::time::timeout_at(deadline.into(), events.next()).await {
            Ok(Some(event)) => event?,
            Ok(None) | Err(_) => break,
        };
        let now = ms(started.elapsed());
        let apps = match event {
            kube::runtime::watcher::Event::Apply(app)
            | kube::runtime::watcher::Event::InitApply(app) => vec![app],
            _ => Vec::new(),
        };
        for app in apps {
            let name = app.metadata.name.as_deref().unwrap_or_default();
            let Some(i) = name
                .strip_prefix("app-")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|i| *i < scale.apps)
            else {
                continue;
            };
            let (sync, health, _) = sync_health(&app);
            states[i] = format!(
                "{}/{}",
                sync.as_deref().unwrap_or("-"),
                health.as_deref().unwrap_or("-")
            );
            if done_at[i].is_none() && synced_healthy_at(&app, first) {
                done_at[i] = Some(now);
            }
        }
    }
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for s in &states {
        *counts.entry(s.as_str()).or_default() += 1;
    }
    let last_counts = json!(counts);
    let done: Vec<f64> = done_at.iter().flatten().copied().collect();
    let all = done.len() == scale.apps;
    let elapsed_s = done.iter().copied().fold(0.0, f64::max) / 1e3;
    Ok(json!({
        "apps": scale.apps,
        "objects": scale.apps * scale.objects,
        "driven_by": "controller::run (automated sync, CreateNamespace=true), concurrency as configured",
        "applications_created_ms": created_ms,
        "synced_healthy": done.len(),
        "all_synced_healthy": all,
        "states_at_end": last_counts,
        "elapsed_s": elapsed_s,
        "apps_per_s": done.len() as f64 / elapsed_s,
        "objects_per_s": (done.len() * scale.objects) as f64 / elapsed_s,
        "app_done_at": latency_summary_ms(done),
        "note": "from the first Application create to each app first seen Synced+Healthy at the synced commit (watched)",
        "progress_s_done": progress,
    }))
}

// ---- 2. warm refresh ------------------------------------------------------------------

/// One pass over every Application with bounded concurrency: wall time, per-app times
/// and how many calls returned something unexpected.
async fn pass<F, Fut>(apps: &[Arc<Application>], concurrency: usize, call: F) -> Result<Value>
where
    F: Fn(Arc<Application>) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<bool, String>>,
{
    let started = Instant::now();
    let mut per_app = Vec::with_capacity(apps.len());
    let mut unexpected = 0usize;
    let mut errors = Vec::new();
    let mut calls = futures::stream::iter(apps.iter().cloned())
        .map(|app| {
            let fut = call(app);
            async move {
                let t = Instant::now();
                let r = fut.await;
                (ms(t.elapsed()), r)
            }
        })
        .buffer_unordered(concurrency);
    while let Some((took, result)) = calls.next().await {
        per_app.push(took);
        match result {
            Ok(true) => {}
            Ok(false) => unexpected += 1,
            Err(e) => errors.push(e),
        }
    }
    let elapsed = ms(started.elapsed());
    Ok(json!({
        "elapsed_ms": elapsed,
        "apps_per_s": apps.len() as f64 / elapsed * 1e3,
        "per_app": latency_summary_ms(per_app),
        "unexpected": unexpected,
        "errors": errors.len(),
        "first_error": errors.first(),
    }))
}

async fn warm_refresh(
    scale: &Scale,
    client: &kube::Client,
    reconciler: &Arc<Reconciler>,
) -> Result<Value> {
    let api: Api<Application> = Api::namespaced(client.clone(), NAMESPACE);
    let concurrency = usize::from(scale.concurrency);
    // Let the controller's last status writes land.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = reconciler.metrics().reconcile_count();
    let started = Instant::now();
    let list = api.list(&ListParams::default()).await?;
    let list_ms = ms(started.elapsed());
    let apps: Vec<Arc<Application>> = list.items.into_iter().map(Arc::new).collect();
    let reconcile = pass(&apps, concurrency, |app| {
        let r = reconciler.clone();
        async move {
            match r.reconcile(&app).await {
                Ok(Outcome::Compared) => Ok(true),
                Ok(_) => Ok(false),
                Err(e) => Err(e.to_string()),
            }
        }
    })
    .await?;
    let total_ms = ms(started.elapsed());
    let controller_reconciles = reconciler
        .metrics()
        .reconcile_count()
        .saturating_sub(before + apps.len() as u64);

    // Where the time goes: render only, then render + diff + health (compare).
    let renders_before = reconciler.renderer().renders();
    let render = pass(&apps, concurrency, |app| {
        let r = reconciler.clone();
        async move {
            r.render(&app, false)
                .await
                .map(|_| true)
                .map_err(|e| e.to_string())
        }
    })
    .await?;
    let renders = reconciler.renderer().renders() - renders_before;
    let compare = pass(&apps, concurrency, |app| {
        let r = reconciler.clone();
        async move {
            match r.compare(&app, None, false).await {
                Ok(state) => Ok(!state.blocked
                    && state.comparison.sync_status
                        == Some(windlass_entity_model::argocd::SyncStatusCode::Synced)),
                Err(e) => Err(e.to_string()),
            }
        }
    })
    .await?;
    // Still Synced + Healthy afterwards.
    let after = api.list(&ListParams::default()).await?;
    let still = after
        .items
        .iter()
        .filter(|a| {
            let (s, h, _) = sync_health(a);
            s.as_deref() == Some("Synced") && h.as_deref() == Some("Healthy")
        })
        .count();
    Ok(json!({
        "apps": apps.len(),
        "driven_by": "Reconciler::reconcile for every Application (listed first), buffer_unordered(concurrency); the controller idle",
        "total_ms": total_ms,
        "list_ms": list_ms,
        "reconcile": reconcile,
        "controller_reconciles_meanwhile": controller_reconciles,
        "profile": {
            "render_only": render,
            "render_cache_misses": renders,
            "compare_only": compare,
            "note": "compare = render + live lookup in the cluster cache + diff + health; reconcile = compare + auto-sync decision + status patch (skipped when unchanged)",
        },
        "still_synced_healthy": still,
    }))
}

// ---- 4. commit → Synced latency -------------------------------------------------------------

/// Commits changing one ConfigMap of `app` (in `repo`, path `apps/<app>`) and waits for
/// the Application to show each commit as its Synced revision.
async fn latencies(scale: &Scale, client: &kube::Client, repo: &Path, app: &str) -> Result<Value> {
    let api: Api<Application> = Api::namespaced(client.clone(), NAMESPACE);
    let file = repo.join("apps").join(app).join("configmaps.yaml");
    let original = std::fs::read_to_string(&file)?;
    let mut samples = Vec::with_capacity(scale.commits);
    let mut commit_ms = Vec::with_capacity(scale.commits);
    let mut timeouts = 0usize;
    let phase_deadline = Instant::now() + scale.commit_limit * 5;
    for i in 1..=scale.commits {
        if Instant::now() > phase_deadline {
            break;
        }
        // Spread the commits over the poll interval.
        tokio::time::sleep(Duration::from_millis(37 + (i as u64 * 53) % 100)).await;
        std::fs::write(
            &file,
            original.replacen("revision: \"0\"", &format!("revision: \"{i}\""), 1),
        )?;
        let t = Instant::now();
        let repo_dir = repo.to_owned();
        let commit =
            tokio::task::spawn_blocking(move || git_commit_all(&repo_dir, "change", false))
                .await??;
        commit_ms.push(ms(t.elapsed()));
        let committed = Instant::now();
        let deadline = committed + scale.commit_limit;
        loop {
            let current = api.get(app).await?;
            let (sync, _, rev) = sync_health(&current);
            if sync.as_deref() == Some("Synced") && rev.as_deref() == Some(commit.as_str()) {
                samples.push(ms(committed.elapsed()));
                break;
            }
            if Instant::now() > deadline {
                timeouts += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Ok(json!({
        "app": app,
        "commits": samples.len() + timeouts,
        "timeouts": timeouts,
        "latency": latency_summary_ms(samples),
        "git_commit": latency_summary_ms(commit_ms),
    }))
}

async fn commit_latency(
    scale: &Scale,
    client: &kube::Client,
    mono: &Path,
    solo: &Path,
) -> Result<Value> {
    let api: Api<Application> = Api::namespaced(client.clone(), NAMESPACE);
    api.create(
        &PostParams::default(),
        &application("solo", solo, "apps/solo", "bench-solo")?,
    )
    .await?;
    let deadline = Instant::now() + scale.commit_limit;
    loop {
        let app = api.get("solo").await?;
        let (s, h, _) = sync_health(&app);
        if s.as_deref() == Some("Synced") && h.as_deref() == Some("Healthy") {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the solo app is not Synced+Healthy after {:?}",
                scale.commit_limit
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("bench reconciler: 4a. an app in a repository of its own");
    let own = latencies(scale, client, solo, "solo").await?;
    eprintln!("bench reconciler: 4b. app-0000 in the monorepo");
    let monorepo = latencies(scale, client, mono, &app_name(0)).await?;
    Ok(json!({
        "driven_by": "controller::run, repo_poll_interval 100 ms; polled with GET every 10 ms",
        "own_repository": own,
        "monorepo": monorepo,
        "note": "monorepo: a commit moves the repository of every Application, so the controller refreshes all of them (as Argo does without manifest-generate-paths); the target app queues among them",
    }))
}

// ---- memory, goals, the table -------------------------------------------------------------

fn goals(
    scale: &Scale,
    cold: &Value,
    warm: &Value,
    peer: &Value,
    latency: &Value,
    speedups: &Speedups,
) -> Vec<Value> {
    let goal = bench::goal;
    let warm_ok = warm["reconcile"]["errors"] == json!(0)
        && warm["reconcile"]["unexpected"] == json!(0)
        && warm["still_synced_healthy"] == json!(scale.apps);
    let p50 = |case: &str| f(&latency[case]["latency"], "p50_ms");
    let no_timeouts = |case: &str| latency[case]["timeouts"] == json!(0);
    vec![
        goal(
            "cold sync: every app Synced+Healthy",
            "all",
            f(cold, "synced_healthy"),
            cold["all_synced_healthy"] == json!(true),
        ),
        bench::check(
            "warm refresh: every app compared, nothing to sync, still Synced+Healthy",
            warm_ok,
        ),
        goal(
            "kubectl no-op apply --server-side -R / warm refresh (x)",
            ">= 5",
            speedups.noop_apply,
            speedups.noop_apply >= 5.0,
        ),
        goal(
            "kubectl diff --server-side -R / warm refresh (x)",
            ">= 5",
            speedups.diff,
            speedups.diff >= 5.0,
        ),
        bench::check(
            "kubectl peer: the no-op apply changed no object",
            peer["noop_apply_changed_objects"] == json!(0)
                && peer["objects"] == json!(scale.apps * scale.objects),
        ),
        bench::check(
            "kubectl peer: diff finds no difference (as the warm refresh)",
            peer["diff_found_no_difference"] == json!(true),
        ),
        goal(
            "commit -> Synced p50, app in its own repository (ms)",
            "<= 1000",
            p50("own_repository"),
            p50("own_repository") <= 1000.0 && no_timeouts("own_repository"),
        ),
        goal(
            "commit -> Synced p50, app in the monorepo (ms)",
            "<= 1000",
            p50("monorepo"),
            p50("monorepo") <= 1000.0 && no_timeouts("monorepo"),
        ),
    ]
}

fn print_table(
    scale: &Scale,
    [cold, warm, peer, latency]: [&Value; 4],
    speedups: &Speedups,
    rss: &Value,
    goals: &[Value],
) {
    let lat = |v: &Value| bench::format_summary(v, "ms");
    let (d, s, c) = scale.split();
    println!();
    println!(
        "reconciler benchmark: {} apps x {} objects ({d} Deployments, {s} Services, {c} ConfigMaps), concurrency {}; load {}",
        scale.apps,
        scale.objects,
        scale.concurrency,
        bench::load_average()
            .iter()
            .map(|l| format!("{l:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "\n1. cold sync (controller): {} of {} apps Synced+Healthy in {:.1} s = {:.1} apps/s ({:.0} objects/s)",
        cold["synced_healthy"],
        scale.apps,
        f(cold, "elapsed_s"),
        f(cold, "apps_per_s"),
        f(cold, "objects_per_s"),
    );
    println!("   app done at  {}", lat(&cold["app_done_at"]));
    let r = &warm["reconcile"];
    println!(
        "\n2. warm refresh (Reconciler::reconcile x {}, no drift): {:.0} ms (list {:.0} ms + reconciles {:.0} ms = {:.0} apps/s); unexpected {}, errors {}",
        warm["apps"],
        f(warm, "total_ms"),
        f(warm, "list_ms"),
        f(r, "elapsed_ms"),
        f(r, "apps_per_s"),
        r["unexpected"],
        r["errors"],
    );
    println!("   per app      {}", lat(&r["per_app"]));
    let p = &warm["profile"];
    println!(
        "   render only  {:>8.0} ms  ({} cache misses)   per app {}",
        f(&p["render_only"], "elapsed_ms"),
        p["render_cache_misses"],
        lat(&p["render_only"]["per_app"]),
    );
    println!(
        "   compare only {:>8.0} ms                       per app {}",
        f(&p["compare_only"], "elapsed_ms"),
        lat(&p["compare_only"]["per_app"]),
    );
    println!(
        "\n3. kubectl peer on its own applied tree of {} objects (first apply {:.0} ms, untimed)",
        peer["objects"],
        f(peer, "first_apply_ms"),
    );
    for (section, label) in [("noop_apply", "no-op"), ("diff", "diff")] {
        for (variant, run) in peer[section].as_object().into_iter().flatten() {
            println!(
                "   {label:<6} {variant:<15} {:>8.0} ms  {}",
                f(run, "ms"),
                run["command"].as_str().unwrap_or_default(),
            );
        }
    }
    println!(
        "   fastest / warm refresh: no-op apply {:.2}x, diff {:.2}x; objects the no-op changed: {}; the diffs found no difference: {}",
        speedups.noop_apply,
        speedups.diff,
        peer["noop_apply_changed_objects"],
        peer["diff_found_no_difference"],
    );
    println!("\n4. commit -> Synced (controller, repo poll 100 ms)");
    for (case, label) in [("own_repository", "own repo"), ("monorepo", "monorepo")] {
        println!(
            "   {label:<9} {}  timeouts {}",
            lat(&latency[case]["latency"]),
            latency[case]["timeouts"]
        );
    }
    println!(
        "\n5. memory: peak RSS {:.1} MiB (RSS at end {:.1} MiB; the whole process)",
        f(rss, "peak_rss_mib"),
        f(rss, "rss_at_end_mib"),
    );
    print!("\n{}", bench::goals_table(goals));
}
