//! `cargo xtask bench embedded-cluster`: the embedded cluster measured through `kube`
//! clients, with the real `kubectl` as the side-by-side peer.
//!
//! Starts one cluster (default config: HTTPS, bearer token, controllers on, in memory)
//! and measures in one run:
//!
//! - 10,000 ConfigMap creates from 16 concurrent clients (each its own `kube::Client`
//!   and connections): creates/s and per-request latency;
//! - listing those 10,000 ConfigMaps through `kube` (typed, end to end): median of runs;
//! - a paged list (500 a page, as kube-runtime's watcher lists) of that namespace while 4
//!   writers create more ConfigMaps in it: how many objects it served, and whether it is
//!   a consistent snapshot at its resourceVersion (every object created at or before it,
//!   none after, none twice), judged against the versions the creates were answered with;
//! - 100 concurrent watchers of one ConfigMap, each receiving 1,000 updates: delivery
//!   latency from just before the update request is sent to the watcher receiving the
//!   event. The writer runs in lock-step (the next update once every watcher has the
//!   previous one), so the figure is delivery latency, not queueing behind a backlog;
//! - `EmbeddedCluster::start` of fresh clusters, one after another (`start_ms`, the
//!   median; goal under 50 ms);
//! - peak RSS of the process (server and clients together: `VmHWM`);
//! - the peer: `kubectl create -f` and `kubectl apply -f` of a 500-ConfigMap
//!   multi-document file against the same cluster, against the same 500 creates made
//!   one at a time through `kube` (kubectl also creates one at a time);
//! - durable: a second cluster with a data directory (`Config::data_dir`, every write
//!   persisted before it is answered): the same creates and the same paged list under
//!   writes, beside the in-memory figures.
//!
//! Prints a table and writes every figure, goal and verdict to
//! `<target>/bench/embedded-cluster.json`. Every loop is bounded in count and in time;
//! everything is on loopback.
//!
//! Options (after `--`): `--quick` runs a small version (writing
//! `embedded-cluster-quick.json`), for working on the harness; `--only
//! creates|list|watch|durable` runs one part and prints its figures without writing the
//! summary, for profiling that part.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use windlass_embedded_cluster::{Config, EmbeddedCluster, Handle};
use windlass_testkit::bench::{self, Kubectl, SnapshotCheck, f, ms};

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
    /// Page size of the list under writes (kube-runtime's watcher default).
    list_page: u32,
    /// Writers creating objects while it lists.
    list_writers: usize,
    /// Upper bound of the objects they create.
    list_writes_max: usize,
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
    list_page: 500,
    list_writers: 4,
    list_writes_max: 5_000,
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
    list_page: 100,
    list_writers: 4,
    list_writes_max: 1_000,
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
            Some(part @ ("creates" | "list" | "watch" | "durable")) => Some(part.to_owned()),
            _ => return Err("--only takes one of creates, list, watch, durable".into()),
        },
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match only {
        Some(part) if part == "durable" => runtime.block_on(async {
            let value = durable(scale).await?;
            println!("{}", serde_json::to_string_pretty(&value)?);
            Ok(())
        }),
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
    let kubectl_version = bench::kubectl_version()?;
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
    eprintln!("bench embedded-cluster: paged list under writes");
    let list_under_writes = list_under_writes(scale, &cluster, "bench").await?;
    eprintln!("bench embedded-cluster: watchers");
    let watch = watchers(scale, &cluster).await?;
    eprintln!("bench embedded-cluster: kubectl peer");
    let peer = kubectl_peer(scale, &cluster).await?;
    let rss = bench::memory(
        "the whole bench process: server, 10,000+ stored objects, clients and watchers",
    );
    cluster.shutdown().await;
    eprintln!("bench embedded-cluster: durable (data directory)");
    let durable = durable(scale).await?;

    let goals = goals(
        &start,
        &creates,
        &list,
        &list_under_writes,
        &watch,
        &durable,
    );
    print_table(
        scale,
        startup_ms,
        [
            &start,
            &creates,
            &list,
            &list_under_writes,
            &watch,
            &peer,
            &durable,
        ],
        &rss,
        &goals,
    );
    let mut machine = bench::machine();
    machine["kubectl"] = json!(kubectl_version);
    let summary = json!({
        "benchmark": "embedded-cluster",
        "scale": scale.name,
        "machine": machine,
        "config": "Config::default(): HTTPS + bearer token, controllers on, in memory; `durable`: the same with a data directory",
        "startup_ms": startup_ms,
        "start_ms": start["median_ms"],
        "start": start,
        "creates": creates,
        "creates_per_s_in_memory": creates["creates_per_s"],
        "creates_per_s_durable": durable["creates"]["creates_per_s"],
        "list": list,
        "list_under_writes": list_under_writes,
        "watch": watch,
        "kubectl_peer": peer,
        "durable": durable,
        "memory": rss,
        "goals": goals,
        "all_goals_met": bench::all_goals_met(&goals),
    });
    // A quick run does not replace the figures of a full one.
    let file = bench::write_summary(
        if scale.name == "full" {
            "embedded-cluster"
        } else {
            "embedded-cluster-quick"
        },
        &summary,
    )?;
    println!("\nwrote {}", file.display());
    Ok(())
}

/// A cluster with a data directory (every write persisted before it is answered): the
/// creates and the paged list under writes again.
async fn durable(scale: &Scale) -> Result<Value> {
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let cluster = EmbeddedCluster::start(Config {
        data_dir: Some(dir.path().join("data")),
        ..Config::default()
    })
    .await?;
    let startup_ms = ms(started.elapsed());
    create_namespace(&cluster, "bench").await?;
    let creates = creates(scale, &cluster).await?;
    let list_under_writes = list_under_writes(scale, &cluster, "bench").await?;
    cluster.shutdown().await;
    Ok(json!({
        "config": "Config { data_dir: Some(<temp dir>), ..Config::default() }",
        "data_dir_in": dir.path().display().to_string(),
        "startup_ms": startup_ms,
        "creates": creates,
        "list_under_writes": list_under_writes,
    }))
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
    let started: Vec<f64> = runs.iter().map(|r| r.0).collect();
    let serving: Vec<f64> = runs.iter().map(|r| r.1).collect();
    Ok(json!({
        "runs": runs.len(),
        "median_ms": bench::median(&started),
        "max_ms": started.iter().copied().fold(f64::NAN, f64::max),
        "first_request_answered_median_ms": bench::median(&serving),
        "note": "EmbeddedCluster::start to its return; then one GET through a new kube client",
    }))
}

// ---- helpers ----------------------------------------------------------------------

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
        "latency": bench::summary(latencies, "us"),
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
    Ok(json!({
        "objects": objects,
        "raw_text_median_ms": bench::median(&raw),
        "response_bytes_approx": bytes,
        "runs_ms": runs,
        "note": "median_ms: kube Api::list into typed ConfigMaps (what a user sees); raw_text_median_ms: the same request read as text, not decoded",
        "median_ms": bench::median(&runs),
        "min_ms": runs.iter().copied().fold(f64::NAN, f64::min),
    }))
}

/// A resourceVersion as the number the embedded cluster makes it (Kubernetes calls
/// it opaque; comparing them is this benchmark's oracle, not a client's business).
fn version_number(rv: Option<&String>, what: &str) -> Result<u64> {
    let rv = rv.ok_or_else(|| format!("{what} has no resourceVersion"))?;
    Ok(rv
        .parse()
        .map_err(|e| format!("{what}: resourceVersion {rv:?}: {e}"))?)
}

/// A paged list of `namespace` (as an informer lists: `limit` and `continue`) while
/// writers create ConfigMaps in it, named to fall between the existing ones (before and
/// after the list's cursor). Judged as a snapshot at the first page's resourceVersion
/// against the version every create was answered with.
async fn list_under_writes(scale: &Scale, cluster: &Handle, namespace: &str) -> Result<Value> {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), namespace);
    // Before the writers: what exists, at the version it was created with (nothing in
    // the namespace is ever updated).
    let mut created = BTreeMap::new();
    for cm in api.list(&ListParams::default()).await?.items {
        let name = cm.metadata.name.clone().unwrap_or_default();
        let rv = version_number(cm.metadata.resource_version.as_ref(), &name)?;
        created.insert(name, rv);
    }
    let existing = created.len();
    let stop = Arc::new(AtomicBool::new(false));
    let (acked_tx, mut acked) = mpsc::unbounded_channel::<(String, u64, Instant)>();
    let per_writer = scale.list_writes_max.div_ceil(scale.list_writers);
    let deadline = Instant::now() + scale.phase_limit;
    let mut writers = Vec::new();
    for w in 0..scale.list_writers {
        let api: Api<ConfigMap> = Api::namespaced(own_client(cluster).await?, namespace);
        let (stop, acked_tx) = (stop.clone(), acked_tx.clone());
        let spread = scale.creates.max(1);
        writers.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            for n in 0..per_writer {
                if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                    break;
                }
                // `cm-00042-w1-7` sorts right after `cm-00042`: spread over the names.
                let k = (n * 7919 + w * 104_729) % spread;
                let name = format!("cm-{k:05}-w{w}-{n}");
                match api.create(&PostParams::default(), &config_map(&name)).await {
                    Ok(cm) => match version_number(cm.metadata.resource_version.as_ref(), &name) {
                        Ok(rv) => {
                            let _ = acked_tx.send((name, rv, Instant::now()));
                        }
                        Err(e) => errors.push(e.to_string()),
                    },
                    Err(e) => errors.push(e.to_string()),
                }
            }
            errors
        }));
    }
    drop(acked_tx);
    // The list starts once every writer has had a create answered.
    let mut acks = Vec::new();
    while acks.len() < scale.list_writers {
        match tokio::time::timeout_at(deadline.into(), acked.recv()).await {
            Ok(Some(ack)) => acks.push(ack),
            Ok(None) | Err(_) => return Err("the writers made no objects".into()),
        }
    }

    let started = Instant::now();
    let mut served = Vec::new();
    let mut page_versions = BTreeSet::new();
    let mut first_version = None;
    let mut pages = 0usize;
    let mut token: Option<String> = None;
    loop {
        let mut params = ListParams::default().limit(scale.list_page);
        if let Some(token) = &token {
            params = params.continue_token(token);
        }
        let page = api.list(&params).await?;
        pages += 1;
        let rv = version_number(page.metadata.resource_version.as_ref(), "a list page")?;
        first_version.get_or_insert(rv);
        page_versions.insert(rv);
        served.extend(page.items.into_iter().filter_map(|cm| cm.metadata.name));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
        if pages > 10 * (existing + scale.list_writes_max) / scale.list_page as usize + 10 {
            return Err(format!("the list did not end after {pages} pages").into());
        }
    }
    let ended = Instant::now();
    let list_ms = ms(ended - started);
    stop.store(true, Ordering::Relaxed);
    let mut errors = Vec::new();
    for writer in writers {
        errors.extend(writer.await?);
    }
    while let Some(ack) = acked.recv().await {
        acks.push(ack);
    }
    let during = acks
        .iter()
        .filter(|(.., at)| *at >= started && *at <= ended)
        .count();
    let written = acks.len();
    for (name, rv, _) in acks {
        created.insert(name, rv);
    }
    let list_version = first_version.ok_or("the list returned no page")?;
    let check = SnapshotCheck::new(list_version, &served, &created);
    let mut out = check.to_json();
    for (key, value) in [
        ("objects_before", json!(existing)),
        ("writers", json!(scale.list_writers)),
        ("objects_written", json!(written)),
        ("writes_answered_while_listing", json!(during)),
        ("write_errors", json!(errors.len())),
        ("first_write_error", json!(errors.first())),
        ("page_size", json!(scale.list_page)),
        ("pages", json!(pages)),
        ("list_ms", json!(list_ms)),
        ("list_resource_version", json!(list_version)),
        (
            "pages_with_the_same_resource_version",
            json!(page_versions.len() == 1),
        ),
        (
            "note",
            json!(
                "kube Api::list with limit + continue; a consistent snapshot serves exactly the objects created at or before the first page's resourceVersion"
            ),
        ),
    ] {
        out[key] = value;
    }
    Ok(out)
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
        "delivery_latency": bench::summary(latencies, "us"),
        "update_request_latency": bench::summary(update_us, "us"),
    }))
}

// ---- the kubectl peer ---------------------------------------------------------------

/// A successful kubectl run's wall time.
async fn timed(kubectl: &Kubectl, args: &[&str]) -> Result<Duration> {
    let run = kubectl.run_async(args, Duration::from_secs(300)).await?;
    Ok(run.success()?.elapsed)
}

async fn kubectl_peer(scale: &Scale, cluster: &Handle) -> Result<Value> {
    let tmp = tempfile::tempdir()?;
    let kubectl = Kubectl::new(cluster.kubeconfig_path(), &tmp.path().join("home"))?;
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

    // Untimed: fills kubectl's discovery cache, as on any machine that used kubectl before.
    timed(&kubectl, &["get", "namespaces"]).await?;
    let create = timed(
        &kubectl,
        &["create", "-n", "peer-kubectl-create", "-f", &file_arg],
    )
    .await?;
    let apply = timed(
        &kubectl,
        &["apply", "-n", "peer-kubectl-apply", "-f", &file_arg],
    )
    .await?;
    // kubectl's own start-up (a no-op round trip), to tell it apart from the creates.
    let get_one = timed(
        &kubectl,
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

fn goals(
    start: &Value,
    creates: &Value,
    list: &Value,
    list_under_writes: &Value,
    watch: &Value,
    durable: &Value,
) -> Vec<Value> {
    let goal = bench::goal;
    let rate = f(creates, "creates_per_s");
    let complete = |creates: &Value| {
        creates["errors"] == json!(0) && creates["created"] == creates["requested"]
    };
    let median = f(list, "median_ms");
    let p99_ms = f(&watch["delivery_latency"], "p99_us") / 1e3;
    let all = watch["every_watcher_got_every_update"] == json!(true)
        && watch["duplicates_or_strays"] == json!(0);
    let start_ms = f(start, "median_ms");
    let snapshot =
        |v: &Value| v["consistent_snapshot"] == json!(true) && v["write_errors"] == json!(0);
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
            rate >= 5000.0 && complete(creates),
        ),
        bench::check(
            "durable creates (data directory): every one answered",
            complete(&durable["creates"]),
        ),
        goal(
            "list of 10,000 ConfigMaps through kube, median (ms)",
            "<= 150",
            median,
            median <= 150.0,
        ),
        bench::check(
            "paged list under concurrent writes is a consistent snapshot",
            snapshot(list_under_writes) && snapshot(&durable["list_under_writes"]),
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
    [start, creates, list, under_writes, watch, peer, durable]: [&Value; 7],
    rss: &Value,
    goals: &[Value],
) {
    let lat = |v: &Value| bench::format_summary(v, "us");
    let paged = |v: &Value| {
        format!(
            "{} objects served in {} pages of {} ({:.1} ms) while {} writers made {} ({} answered meanwhile); consistent snapshot: {} (missing {}, newer {}, duplicates {}; same resourceVersion on every page: {})",
            v["objects_served"],
            v["pages"],
            v["page_size"],
            f(v, "list_ms"),
            v["writers"],
            v["objects_written"],
            v["writes_answered_while_listing"],
            v["consistent_snapshot"],
            v["missing"],
            v["newer_than_list_resource_version"],
            v["duplicates"],
            v["pages_with_the_same_resource_version"],
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
    println!("\npaged list under writes: {}", paged(under_writes));
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
    let d = &durable["creates"];
    println!(
        "\ndurable (data directory; started in {:.1} ms): {} ConfigMaps from {} clients in {:.2} s = {:.0} creates/s (in memory {:.0}; errors {})",
        f(durable, "startup_ms"),
        d["created"],
        d["clients"],
        f(d, "elapsed_s"),
        f(d, "creates_per_s"),
        f(creates, "creates_per_s"),
        d["errors"],
    );
    println!("  per request {}", lat(&d["latency"]));
    println!(
        "  paged list under writes: {}",
        paged(&durable["list_under_writes"])
    );
    println!(
        "\nmemory: peak RSS {:.1} MiB (RSS at end {:.1} MiB; the whole process, before the durable cluster)",
        f(rss, "peak_rss_mib"),
        f(rss, "rss_at_end_mib"),
    );
    print!("\n{}", bench::goals_table(goals));
}
