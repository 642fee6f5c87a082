//! `cargo xtask bench embedded-cluster`: the embedded cluster measured through `kube`
//! clients, with the real `kubectl` as the side-by-side peer.
//!
//! Starts one cluster (default config: HTTPS, bearer token, controllers on, in memory)
//! and measures in one run:
//!
//! - 10,000 ConfigMap creates from 16 concurrent clients (each its own `kube::Client`
//!   and connections): creates/s and per-request latency;
//! - listing those 10,000 ConfigMaps through `kube` (typed, end to end): median of runs;
//! - 100 concurrent watchers of one ConfigMap, each receiving 1,000 updates: delivery
//!   latency from just before the update request is sent to the watcher receiving the
//!   event. The writer runs in lock-step (the next update once every watcher has the
//!   previous one), so the figure is delivery latency, not queueing behind a backlog;
//! - `EmbeddedCluster::start` of fresh clusters, one after another (`start_ms`, the
//!   median; goal under 50 ms);
//! - peak RSS of the process (server and clients together: `VmHWM`);
//! - the peer: `kubectl create -f` and `kubectl apply -f` of a 500-ConfigMap
//!   multi-document file against the same cluster, against the same 500 creates made
//!   one at a time through `kube` (kubectl also creates one at a time).
//!
//! Prints a table and writes every figure, goal and verdict to
//! `<target>/bench/embedded-cluster.json`. Every loop is bounded in count and in time;
//! everything is on loopback.
//!
//! Options (after `--`): `--quick` runs a small version (writing
//! `embedded-cluster-quick.json`), for working on the harness; `--only
//! creates|list|watch` runs one part and prints its figures without writing the
//! summary, for profiling that part.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use windlass_embedded_cluster::{Config, EmbeddedCluster, Handle};

type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

/// How much work each part does.
struct Scale {
    name: &'static str,
    creates: usize,
    create_clients: usize,
    list_runs: usize,
    watchers: usize,
    updates: usize,
    /// Untimed updates that also prove every watcher is connected.
    warmup_updates: usize,
    peer_objects: usize,
    /// Fresh clusters started one after another for `start_ms`.
    starts: usize,
    /// Upper bound of each timed phase.
    phase_limit: Duration,
}

const FULL: Scale = Scale {
    name: "full",
    creates: 10_000,
    create_clients: 16,
    list_runs: 7,
    watchers: 100,
    updates: 1_000,
    warmup_updates: 5,
    peer_objects: 500,
    starts: 21,
    phase_limit: Duration::from_secs(180),
};

const QUICK: Scale = Scale {
    name: "quick",
    creates: 1_000,
    create_clients: 16,
    list_runs: 3,
    watchers: 10,
    updates: 100,
    warmup_updates: 2,
    peer_objects: 50,
    starts: 5,
    phase_limit: Duration::from_secs(60),
};

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`, which is ignored like anything not known.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scale: &'static Scale = if args.iter().any(|a| a == "--quick") {
        &QUICK
    } else {
        &FULL
    };
    // `--only <part>` (for profiling one part) prints that part and writes no summary.
    let only = match args.iter().position(|a| a == "--only") {
        Some(at) => match args.get(at + 1).map(String::as_str) {
            Some(part @ ("creates" | "list" | "watch")) => Some(part.to_owned()),
            _ => return Err("--only takes one of creates, list, watch".into()),
        },
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match only {
        Some(part) => runtime.block_on(run_one(scale, &part)),
        None => runtime.block_on(run(scale)),
    }
}

/// One part alone (`list` creates its objects first, untimed by the part).
async fn run_one(scale: &'static Scale, part: &str) -> Result<()> {
    let cluster = EmbeddedCluster::start(Config::default()).await?;
    for ns in ["bench", "watch"] {
        create_namespace(&cluster, ns).await?;
    }
    let value = match part {
        "creates" => creates(scale, &cluster).await?,
        "list" => {
            creates(scale, &cluster).await?;
            eprintln!(
                "bench embedded-cluster: list only (pid {})",
                std::process::id()
            );
            list(scale, &cluster).await?
        }
        _ => watchers(scale, &cluster).await?,
    };
    cluster.shutdown().await;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

async fn run(scale: &'static Scale) -> Result<()> {
    let kubectl_version = kubectl_version()?;
    let started = Instant::now();
    let cluster = EmbeddedCluster::start(Config::default()).await?;
    let startup_ms = ms(started.elapsed());
    eprintln!(
        "bench embedded-cluster ({}): cluster at {} (started in {startup_ms:.1} ms)",
        scale.name,
        cluster.url()
    );
    eprintln!("bench embedded-cluster: start");
    let start = starts(scale).await?;
    for ns in [
        "bench",
        "watch",
        "peer-kube",
        "peer-kubectl-create",
        "peer-kubectl-apply",
    ] {
        create_namespace(&cluster, ns).await?;
    }

    eprintln!("bench embedded-cluster: creates");
    let creates = creates(scale, &cluster).await?;
    eprintln!("bench embedded-cluster: list");
    let list = list(scale, &cluster).await?;
    eprintln!("bench embedded-cluster: watchers");
    let watch = watchers(scale, &cluster).await?;
    eprintln!("bench embedded-cluster: kubectl peer");
    let peer = kubectl_peer(scale, &cluster).await?;
    let rss = peak_rss();
    cluster.shutdown().await;

    let goals = goals(&start, &creates, &list, &watch);
    print_table(
        scale,
        startup_ms,
        [&start, &creates, &list, &watch, &peer],
        &rss,
        &goals,
    );
    let summary = json!({
        "benchmark": "embedded-cluster",
        "scale": scale.name,
        "machine": {
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "kubectl": kubectl_version,
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
        },
        "config": "Config::default(): HTTPS + bearer token, controllers on, in memory",
        "startup_ms": startup_ms,
        "start_ms": start["median_ms"],
        "start": start,
        "creates": creates,
        "list": list,
        "watch": watch,
        "kubectl_peer": peer,
        "memory": rss,
        "goals": goals,
        "all_goals_met": goals.iter().all(|g| g["met"] == json!(true)),
    });
    let out = target_dir().join("bench");
    std::fs::create_dir_all(&out)?;
    // A quick run does not replace the figures of a full one.
    let file = out.join(if scale.name == "full" {
        "embedded-cluster.json"
    } else {
        "embedded-cluster-quick.json"
    });
    std::fs::write(&file, serde_json::to_string_pretty(&summary)? + "\n")?;
    println!("\nwrote {}", file.display());
    Ok(())
}

/// `EmbeddedCluster::start` of a fresh default cluster (certificates already generated
/// by the process's first start), until a request is answered, then shut down.
async fn starts(scale: &Scale) -> Result<Value> {
    let mut runs = Vec::with_capacity(scale.starts);
    let limit = Instant::now() + scale.phase_limit;
    for _ in 0..scale.starts {
        let t = Instant::now();
        let cluster = EmbeddedCluster::start(Config::default()).await?;
        let started = t.elapsed();
        let nss: Api<Namespace> = Api::all(cluster.client());
        nss.get("default").await?;
        let serving = t.elapsed();
        cluster.shutdown().await;
        runs.push((ms(started), ms(serving)));
        if Instant::now() > limit {
            break;
        }
    }
    let mut started: Vec<f64> = runs.iter().map(|r| r.0).collect();
    let mut serving: Vec<f64> = runs.iter().map(|r| r.1).collect();
    started.sort_by(f64::total_cmp);
    serving.sort_by(f64::total_cmp);
    Ok(json!({
        "runs": runs.len(),
        "median_ms": percentile(&started, 0.5),
        "max_ms": started.last().copied().unwrap_or_default(),
        "first_request_answered_median_ms": percentile(&serving, 0.5),
        "note": "EmbeddedCluster::start to its return; then one GET through a new kube client",
    }))
}

/// `CARGO_TARGET_DIR` if set (relative to the workspace root), else `<workspace>/target`.
fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate lives in <workspace>/crates/embedded-cluster")
        .to_owned();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace.join(dir),
        _ => workspace.join("target"),
    }
}

// ---- helpers ----------------------------------------------------------------------

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

/// Nearest-rank percentile of sorted microsecond figures.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latency_summary(mut us: Vec<f64>) -> Value {
    us.sort_by(f64::total_cmp);
    json!({
        "count": us.len(),
        "p50_us": percentile(&us, 0.50),
        "p90_us": percentile(&us, 0.90),
        "p99_us": percentile(&us, 0.99),
        "max_us": us.last().copied().unwrap_or(f64::NAN),
    })
}

/// A client of its own (own connection pool), as a separate program would have.
async fn own_client(cluster: &Handle) -> Result<kube::Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(cluster.kubeconfig_path())?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    Ok(kube::Client::try_from(config)?)
}

async fn create_namespace(cluster: &Handle, name: &str) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(cluster.client());
    let mut ns = Namespace::default();
    ns.metadata.name = Some(name.into());
    namespaces.create(&PostParams::default(), &ns).await?;
    Ok(())
}

/// A ConfigMap of the size a small application setting has (~200 bytes of data).
fn config_map(name: &str) -> ConfigMap {
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some(name.into());
    cm.metadata.labels = Some([("app".to_owned(), "bench".to_owned())].into());
    cm.data = Some(
        [
            ("name".to_owned(), name.to_owned()),
            ("LOG_LEVEL".to_owned(), "info".to_owned()),
            (
                "settings.yaml".to_owned(),
                "replicas: 3\nimage: registry.example/app:1.2.3\nfeatures:\n  - a\n  - b\n"
                    .repeat(2),
            ),
        ]
        .into(),
    );
    cm
}

// ---- the parts ----------------------------------------------------------------------

async fn creates(scale: &Scale, cluster: &Handle) -> Result<Value> {
    let mut clients = Vec::with_capacity(scale.create_clients);
    for _ in 0..scale.create_clients {
        clients.push(own_client(cluster).await?);
    }
    // Connect every client (TLS handshake) before the clock starts.
    for client in &clients {
        client.apiserver_version().await?;
    }
    let per_client = scale.creates.div_ceil(scale.create_clients);
    let deadline = Instant::now() + scale.phase_limit;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (c, client) in clients.into_iter().enumerate() {
        let first = c * per_client;
        let last = ((c + 1) * per_client).min(scale.creates);
        tasks.push(tokio::spawn(async move {
            let api: Api<ConfigMap> = Api::namespaced(client, "bench");
            let mut latencies = Vec::with_capacity(last.saturating_sub(first));
            let mut errors = Vec::new();
            for i in first..last {
                if Instant::now() > deadline {
                    break;
                }
                let cm = config_map(&format!("cm-{i:05}"));
                let t = Instant::now();
                match api.create(&PostParams::default(), &cm).await {
                    Ok(_) => latencies.push(t.elapsed().as_secs_f64() * 1e6),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    for task in tasks {
        let (l, e) = task.await?;
        latencies.extend(l);
        errors.extend(e);
    }
    let elapsed = started.elapsed();
    let created = latencies.len();
    Ok(json!({
        "requested": scale.creates,
        "created": created,
        "clients": scale.create_clients,
        "errors": errors.len(),
        "first_error": errors.first(),
        "elapsed_s": elapsed.as_secs_f64(),
        "creates_per_s": created as f64 / elapsed.as_secs_f64(),
        "latency": latency_summary(latencies),
    }))
}

async fn list(scale: &Scale, cluster: &Handle) -> Result<Value> {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), "bench");
    // Untimed: warms the connection.
    let first = api.list(&ListParams::default()).await?;
    let objects = first.items.len();
    let bytes = serde_json::to_vec(&first)?.len();
    let deadline = Instant::now() + scale.phase_limit;
    let mut runs = Vec::new();
    for _ in 0..scale.list_runs {
        if Instant::now() > deadline {
            break;
        }
        let t = Instant::now();
        let got = api.list(&ListParams::default()).await?;
        runs.push(ms(t.elapsed()));
        if got.items.len() != objects {
            return Err(format!("list returned {} then {objects}", got.items.len()).into());
        }
    }
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    // The same list without decoding into typed objects: the server's and the
    // transport's share of the figure above.
    let client = cluster.client();
    let mut raw = Vec::new();
    for _ in 0..scale.list_runs {
        if Instant::now() > deadline {
            break;
        }
        let request = kube::core::Request::new("/api/v1/namespaces/bench/configmaps")
            .list(&ListParams::default())?;
        let t = Instant::now();
        let text = client.request_text(request).await?;
        raw.push(ms(t.elapsed()));
        std::hint::black_box(text);
    }
    raw.sort_by(f64::total_cmp);
    Ok(json!({
        "objects": objects,
        "raw_text_median_ms": percentile(&raw, 0.5),
        "response_bytes_approx": bytes,
        "runs_ms": runs,
        "note": "median_ms: kube Api::list into typed ConfigMaps (what a user sees); raw_text_median_ms: the same request read as text, not decoded",
        "median_ms": percentile(&sorted, 0.5),
        "min_ms": sorted.first(),
    }))
}

/// What one watcher saw: the resourceVersion of each event and when it arrived.
type Seen = (usize, String, Instant);

async fn watchers(scale: &Scale, cluster: &Handle) -> Result<Value> {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), "watch");
    let name = "watched";
    let created = api
        .create(&PostParams::default(), &config_map(name))
        .await?;
    let from = created
        .metadata
        .resource_version
        .ok_or("a created object has a resourceVersion")?;

    // The watchers share a few clients (their connections are separate either way).
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(own_client(cluster).await?);
    }
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<Seen>();
    let mut tasks = Vec::new();
    for w in 0..scale.watchers {
        let api: Api<ConfigMap> = Api::namespaced(clients[w % clients.len()].clone(), "watch");
        let seen_tx = seen_tx.clone();
        let from = from.clone();
        let params = WatchParams::default()
            .fields(&format!("metadata.name={name}"))
            .timeout(290);
        tasks.push(tokio::spawn(async move {
            let stream = api.watch(&params, &from).await?;
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.try_next().await? {
                if let WatchEvent::Modified(cm) = event {
                    let rv = cm.metadata.resource_version.unwrap_or_default();
                    if seen_tx.send((w, rv, Instant::now())).is_err() {
                        break;
                    }
                }
            }
            Ok::<_, kube::Error>(())
        }));
    }
    drop(seen_tx);

    let deadline = Instant::now() + scale.phase_limit;
    let step_limit = Duration::from_secs(10);
    let total = scale.warmup_updates + scale.updates;
    let mut latencies = Vec::with_capacity(scale.watchers * scale.updates);
    let mut per_watcher = vec![0usize; scale.watchers];
    let mut duplicates_or_strays = 0usize;
    let mut missing = 0usize;
    let mut update_us = Vec::with_capacity(scale.updates);
    let started = Instant::now();
    let mut measured_from = started;
    let mut done = 0usize;
    for i in 0..total {
        if Instant::now() > deadline {
            break;
        }
        if i == scale.warmup_updates {
            measured_from = Instant::now();
        }
        let patch = json!({"data": {"counter": i.to_string()}});
        let sent = Instant::now();
        let updated = api
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        let acked = sent.elapsed();
        let rv = updated.metadata.resource_version.unwrap_or_default();
        // Lock-step: every watcher gets this update before the next one is sent.
        let mut got = vec![false; scale.watchers];
        let mut count = 0;
        let step_deadline = Instant::now() + step_limit;
        while count < scale.watchers {
            let left = step_deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, seen.recv()).await {
                Ok(Some((w, event_rv, at))) => {
                    if event_rv != rv || got[w] {
                        duplicates_or_strays += 1;
                        continue;
                    }
                    got[w] = true;
                    count += 1;
                    if i >= scale.warmup_updates {
                        per_watcher[w] += 1;
                        latencies.push(at.duration_since(sent).as_secs_f64() * 1e6);
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        if i >= scale.warmup_updates {
            missing += scale.watchers - count;
            update_us.push(acked.as_secs_f64() * 1e6);
            done += 1;
        } else if count < scale.watchers {
            return Err(format!(
                "warm-up update {i}: only {count} of {} watchers got it within {step_limit:?}",
                scale.watchers
            )
            .into());
        }
    }
    let elapsed = measured_from.elapsed();
    for task in &tasks {
        task.abort();
    }
    let events = latencies.len();
    let all_got_all = per_watcher.iter().all(|&n| n == scale.updates);
    Ok(json!({
        "watchers": scale.watchers,
        "updates": done,
        "updates_requested": scale.updates,
        "mode": "lock-step: the next update is sent once every watcher has the previous one",
        "events_received": events,
        "events_missing": missing,
        "duplicates_or_strays": duplicates_or_strays,
        "every_watcher_got_every_update": all_got_all && done == scale.updates,
        "elapsed_s": elapsed.as_secs_f64(),
        "events_per_s": events as f64 / elapsed.as_secs_f64(),
        "delivery_latency": latency_summary(latencies),
        "update_request_latency": latency_summary(update_us),
    }))
}

// ---- the kubectl peer ---------------------------------------------------------------

fn kubectl_version() -> Result<String> {
    let out = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .map_err(|e| {
            format!(
                "the benchmark needs `kubectl` for its peer (apt-get install kubectl, \
                 the package the Kubernetes project publishes): {e}"
            )
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// Runs kubectl with an isolated HOME off the runtime's threads; returns its wall time.
async fn kubectl(kubeconfig: &Path, home: &Path, args: &[&str]) -> Result<Duration> {
    let mut cmd = Command::new("kubectl");
    cmd.args(args)
        .args(["--request-timeout", "60s"])
        .env_clear()
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    let line = format!("kubectl {}", args.join(" "));
    let (elapsed, out) = tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let out = cmd.output();
        (t.elapsed(), out)
    })
    .await?;
    let out = out?;
    if !out.status.success() {
        return Err(format!(
            "{line} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(elapsed)
}

async fn kubectl_peer(scale: &Scale, cluster: &Handle) -> Result<Value> {
    let tmp = tempfile::tempdir()?;
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home)?;
    let file = tmp.path().join("configmaps.yaml");
    let mut docs = String::new();
    for i in 0..scale.peer_objects {
        let cm = config_map(&format!("peer-{i:04}"));
        let mut value = serde_json::to_value(&cm)?;
        value["apiVersion"] = json!("v1");
        value["kind"] = json!("ConfigMap");
        // JSON is YAML: one document per line.
        docs.push_str("---\n");
        docs.push_str(&serde_json::to_string(&value)?);
        docs.push('\n');
    }
    std::fs::write(&file, &docs)?;
    let file_arg = file.to_string_lossy().into_owned();
    let kubeconfig = cluster.kubeconfig_path();

    // Untimed: fills kubectl's discovery cache, as on any machine that used kubectl before.
    kubectl(kubeconfig, &home, &["get", "namespaces"]).await?;
    let create = kubectl(
        kubeconfig,
        &home,
        &["create", "-n", "peer-kubectl-create", "-f", &file_arg],
    )
    .await?;
    let apply = kubectl(
        kubeconfig,
        &home,
        &["apply", "-n", "peer-kubectl-apply", "-f", &file_arg],
    )
    .await?;
    // kubectl's own start-up (a no-op round trip), to tell it apart from the creates.
    let get_one = kubectl(
        kubeconfig,
        &home,
        &["get", "configmap", "-n", "peer-kubectl-create", "peer-0000"],
    )
    .await?;

    // The same 500 through kube, one at a time as kubectl sends them.
    let api: Api<ConfigMap> = Api::namespaced(own_client(cluster).await?, "peer-kube");
    let t = Instant::now();
    let objects: Vec<ConfigMap> = (0..scale.peer_objects)
        .map(|i| config_map(&format!("peer-{i:04}")))
        .collect();
    let mut creates = futures::stream::iter(objects)
        .map(|cm| {
            let api = api.clone();
            async move { api.create(&PostParams::default(), &cm).await }
        })
        .buffered(1);
    while let Some(created) = creates.next().await {
        created?;
    }
    let kube_sequential = t.elapsed();

    for (ns, how) in [
        ("peer-kubectl-create", "kubectl create"),
        ("peer-kubectl-apply", "kubectl apply"),
        ("peer-kube", "kube"),
    ] {
        let n = Api::<ConfigMap>::namespaced(cluster.client(), ns)
            .list(&ListParams::default())
            .await?
            .items
            .len();
        if n != scale.peer_objects {
            return Err(format!("{how} left {n} ConfigMaps in {ns}").into());
        }
    }
    Ok(json!({
        "objects": scale.peer_objects,
        "file_bytes": docs.len(),
        "kubectl_create_ms": ms(create),
        "kubectl_apply_ms": ms(apply),
        "kubectl_get_one_ms": ms(get_one),
        "kube_sequential_ms": ms(kube_sequential),
        "ratio_kubectl_create_vs_kube": create.as_secs_f64() / kube_sequential.as_secs_f64(),
        "ratio_kubectl_apply_vs_kube": apply.as_secs_f64() / kube_sequential.as_secs_f64(),
        "kubectl_create_per_object_ms": ms(create) / scale.peer_objects as f64,
        "kube_per_object_ms": ms(kube_sequential) / scale.peer_objects as f64,
    }))
}

// ---- memory, goals, the table -----------------------------------------------------------

/// `VmHWM` and `VmRSS` from `/proc/self/status`, in MiB (Linux only).
fn peak_rss() -> Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map(|kb| kb / 1024.0)
    };
    json!({
        "peak_rss_mib": field("VmHWM:"),
        "rss_at_end_mib": field("VmRSS:"),
        "note": "the whole bench process: server, 10,000+ stored objects, clients and watchers",
    })
}

fn goals(start: &Value, creates: &Value, list: &Value, watch: &Value) -> Vec<Value> {
    let goal = |name: &str, target: &str, value: f64, met: bool| json!({ "name": name, "goal": target, "value": value, "met": met });
    let rate = f(creates, "creates_per_s");
    let complete = creates["errors"] == json!(0) && creates["created"] == creates["requested"];
    let median = f(list, "median_ms");
    let p99_ms = f(&watch["delivery_latency"], "p99_us") / 1e3;
    let all = watch["every_watcher_got_every_update"] == json!(true)
        && watch["duplicates_or_strays"] == json!(0);
    let start_ms = f(start, "median_ms");
    vec![
        goal(
            "EmbeddedCluster::start, median of fresh clusters (ms)",
            "< 50",
            start_ms,
            start_ms < 50.0,
        ),
        goal(
            "ConfigMap creates, 16 concurrent kube clients (creates/s)",
            ">= 5000",
            rate,
            rate >= 5000.0 && complete,
        ),
        goal(
            "list of 10,000 ConfigMaps through kube, median (ms)",
            "<= 150",
            median,
            median <= 150.0,
        ),
        goal(
            "watch delivery p99, 100 watchers x 1,000 updates (ms)",
            "<= 5",
            p99_ms,
            p99_ms <= 5.0 && all,
        ),
    ]
}

fn print_table(
    scale: &Scale,
    startup_ms: f64,
    [start, creates, list, watch, peer]: [&Value; 5],
    rss: &Value,
    goals: &[Value],
) {
    let lat = |v: &Value| {
        format!(
            "p50 {:>8.0} µs  p99 {:>8.0} µs  max {:>8.0} µs  n={}",
            f(v, "p50_us"),
            f(v, "p99_us"),
            f(v, "max_us"),
            v["count"]
        )
    };
    println!();
    println!(
        "embedded-cluster benchmark ({}): HTTPS, controllers on, in memory; started in {startup_ms:.1} ms",
        scale.name
    );
    println!(
        "\nstart: {} fresh clusters, EmbeddedCluster::start median {:.1} ms, max {:.1} ms (first request answered: median {:.1} ms)",
        start["runs"],
        f(start, "median_ms"),
        f(start, "max_ms"),
        f(start, "first_request_answered_median_ms"),
    );
    println!(
        "\ncreates: {} ConfigMaps from {} clients in {:.2} s = {:.0} creates/s (errors {})",
        creates["created"],
        creates["clients"],
        f(creates, "elapsed_s"),
        f(creates, "creates_per_s"),
        creates["errors"],
    );
    println!("  per request {}", lat(&creates["latency"]));
    println!(
        "\nlist of {} ConfigMaps (~{:.1} MB JSON): median {:.1} ms, min {:.1} ms over {} runs",
        list["objects"],
        f(list, "response_bytes_approx") / 1e6,
        f(list, "median_ms"),
        f(list, "min_ms"),
        list["runs_ms"].as_array().map_or(0, Vec::len),
    );
    println!(
        "  the same request read as text (no decoding): median {:.1} ms",
        f(list, "raw_text_median_ms"),
    );
    println!(
        "\nwatch: {} watchers x {} updates (lock-step), {} events in {:.2} s ({:.0} events/s)",
        watch["watchers"],
        watch["updates"],
        watch["events_received"],
        f(watch, "elapsed_s"),
        f(watch, "events_per_s"),
    );
    println!("  delivery  {}", lat(&watch["delivery_latency"]));
    println!("  update    {}", lat(&watch["update_request_latency"]));
    println!(
        "  missing {}, duplicates or strays {}, every watcher got every update: {}",
        watch["events_missing"],
        watch["duplicates_or_strays"],
        watch["every_watcher_got_every_update"],
    );
    println!(
        "\npeer: {} ConfigMaps in one multi-document file, created one at a time",
        peer["objects"]
    );
    println!(
        "  kubectl create -f {:>8.0} ms   kubectl apply -f {:>8.0} ms   kube {:>8.0} ms",
        f(peer, "kubectl_create_ms"),
        f(peer, "kubectl_apply_ms"),
        f(peer, "kube_sequential_ms"),
    );
    println!(
        "  kubectl create / kube {:.2}x, kubectl apply / kube {:.2}x (kubectl get of one object: {:.0} ms)",
        f(peer, "ratio_kubectl_create_vs_kube"),
        f(peer, "ratio_kubectl_apply_vs_kube"),
        f(peer, "kubectl_get_one_ms"),
    );
    println!(
        "\nmemory: peak RSS {:.1} MiB (RSS at end {:.1} MiB; the whole process)",
        f(rss, "peak_rss_mib"),
        f(rss, "rss_at_end_mib"),
    );
    println!("\ngoals");
    for g in goals {
        println!(
            "  [{}] {:<58} {:>10.2}  (goal {})",
            if g["met"] == json!(true) {
                " met "
            } else {
                "MISSED"
            },
            g["name"].as_str().unwrap_or_default(),
            f(g, "value"),
            g["goal"].as_str().unwrap_or_default(),
        );
    }
}
