//! The peer: the same tree applied by `kubectl`, then a timed no-op re-apply and a
//! timed `kubectl diff`, each in kubectl's default and its faster configuration.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, ListParams};
use serde_json::{Value, json};
use windlass_embedded_cluster::Handle;
use windlass_testkit::bench::{Kubectl, KubectlRun, ms};

use super::{Result, Scale, create_namespace, write_tree};

pub(crate) async fn kubectl_peer(scale: &Scale, cluster: &Handle, tmp: &Path) -> Result<Value> {
    let kubectl = Kubectl::new(cluster.kubeconfig_path(), &tmp.join("kubectl-home"))?;
    let tree = tmp.join("peer");
    write_tree(&tree, scale, Some(()))?;
    let client = cluster.client();
    // Untimed: the namespaces (the reconciler's CreateNamespace is in the cold sync only).
    let mut creates = futures::stream::iter(0..scale.apps)
        .map(|i| {
            let client = client.clone();
            async move { create_namespace(&client, &format!("peer-{i:04}")).await }
        })
        .buffer_unordered(8);
    while let Some(created) = creates.next().await {
        created?;
    }
    // Untimed: fills kubectl's discovery cache, as on any machine that used kubectl before.
    kubectl
        .run_async(&["get", "namespaces"], Duration::from_secs(60))
        .await?
        .success()?;
    let dir = tree.to_string_lossy().into_owned();
    let apply = ["apply", "--server-side", "-R", "-f", dir.as_str()];

    // Untimed: the peer's own cold sync, then its objects become available.
    let first = kubectl
        .run_async(&apply, scale.phase_limit)
        .await?
        .success()?;
    let applied = peer_objects(&client).await?;
    if applied.len() != scale.apps * scale.objects {
        return Err(format!(
            "kubectl left {} objects in peer-*, expected {}",
            applied.len(),
            scale.apps * scale.objects
        )
        .into());
    }
    peer_available(&client, scale.phase_limit).await?;
    let before = peer_objects(&client).await?;

    // Timed: the no-op re-apply, then the diff, each in kubectl's default configuration
    // and in the faster one a user with a large tree would pick: apply without the
    // client's schema check (`--validate=false`: kubectl re-reads the server's OpenAPI
    // document for every object to decide on `fieldValidation`, kubernetes#127095), diff
    // with as many objects in flight as the reconciler has apps (`--concurrency`). The
    // goals hold against the faster of each pair.
    let concurrency = format!("--concurrency={}", scale.concurrency);
    let mut applies = Vec::new();
    for (label, extra) in [
        ("default", None),
        ("validate_false", Some("--validate=false")),
    ] {
        let args: Vec<&str> = apply.iter().copied().chain(extra).collect();
        let run = kubectl
            .run_async(&args, scale.phase_limit)
            .await?
            .success()?;
        applies.push((label, args.join(" "), run));
    }
    let mut diffs = Vec::new();
    for (label, extra) in [
        ("default", None),
        ("concurrent", Some(concurrency.as_str())),
    ] {
        let args: Vec<&str> = ["diff", "--server-side", "-R", "-f", dir.as_str()]
            .into_iter()
            .chain(extra)
            .collect();
        let run = kubectl.run_async(&args, scale.phase_limit).await?;
        // kubectl diff: 0 no difference, 1 differences (printed), anything else an error.
        if !matches!(run.code, Some(0 | 1)) {
            return Err(run.failure().into());
        }
        diffs.push((label, args.join(" "), run));
    }
    let after = peer_objects(&client).await?;
    let changed = before
        .iter()
        .filter(|(key, version)| after.get(*key) != Some(*version))
        .count()
        + after
            .keys()
            .filter(|key| !before.contains_key(*key))
            .count();
    let objects = after.len();
    let apply_json: serde_json::Map<String, Value> = applies
        .iter()
        .map(|(label, line, run)| {
            let key = (*label).to_owned();
            (
                key,
                json!({
                    "command": format!("kubectl {line}"),
                    "ms": ms(run.elapsed),
                    "objects_per_s": objects as f64 / run.elapsed.as_secs_f64(),
                    "output_lines": run.stdout.lines().count(),
                }),
            )
        })
        .collect();
    let diff_json: serde_json::Map<String, Value> = diffs
        .iter()
        .map(|(label, line, run)| {
            (
                (*label).to_owned(),
                json!({
                    "command": format!("kubectl {line}"),
                    "ms": ms(run.elapsed),
                    "exit_code": run.code,
                    "found_no_difference": run.code == Some(0),
                    "output_start": run.stdout.chars().take(2000).collect::<String>(),
                }),
            )
        })
        .collect();
    Ok(json!({
        "what": "the same tree (objects in peer-NNNN namespaces) applied once by kubectl and available; timed: the same `kubectl apply --server-side -R -f <tree>` again (a no-op: kubectl's own field manager re-applies its own tree) and `kubectl diff --server-side -R -f <tree>`, each in kubectl's default configuration and in its faster one",
        "files": scale.apps * 3,
        "objects": objects,
        "first_apply_ms": ms(first.elapsed),
        "noop_apply": apply_json,
        "noop_apply_ms": fastest(&applies).1,
        "noop_apply_fastest": fastest(&applies).0,
        "noop_apply_changed_objects": changed,
        "noop_apply_changed_means": "after both no-op applies and both diffs: resourceVersion moved (ConfigMaps, Services) or generation moved (Deployments), or an object appeared or went",
        "diff": diff_json,
        "diff_ms": fastest(&diffs).1,
        "diff_fastest": fastest(&diffs).0,
        "diff_found_no_difference": diffs.iter().all(|(_, _, run)| run.code == Some(0)),
        "kubectl_settings": "client-side rate limits are not settable; discovery and OpenAPI cached in its home from earlier runs; --request-timeout 60s",
    }))
}

/// The label and milliseconds of the fastest of labelled kubectl runs.
fn fastest(runs: &[(&'static str, String, KubectlRun)]) -> (&'static str, f64) {
    runs.iter()
        .min_by_key(|(_, _, run)| run.elapsed)
        .map_or(("none", f64::NAN), |(label, _, run)| {
            (*label, ms(run.elapsed))
        })
}

/// The objects of kind `K` in the kubectl peer's namespaces (`peer-*`, not counting the
/// root CA every namespace gets), each with what a change to it moves: its
/// `resourceVersion`, or with `by_generation` its `generation` (for kinds whose status
/// a controller keeps writing).
async fn in_peer<K>(client: &kube::Client, by_generation: bool) -> Result<BTreeMap<String, String>>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let list = Api::<K>::all(client.clone())
        .list_metadata(&ListParams::default())
        .await?;
    let kind = K::kind(&());
    Ok(list
        .items
        .into_iter()
        .filter_map(|o| {
            let m = o.metadata;
            let ns = m.namespace.filter(|ns| ns.starts_with("peer-"))?;
            let name = m.name.filter(|name| name != "kube-root-ca.crt")?;
            let version = if by_generation {
                m.generation.map(|g| g.to_string())
            } else {
                m.resource_version
            };
            Some((format!("{kind}/{ns}/{name}"), version.unwrap_or_default()))
        })
        .collect())
}

/// Every object of the kubectl peer, keyed `Kind/namespace/name`, with its version as
/// [`in_peer`] takes it (Deployments by `generation`).
async fn peer_objects(client: &kube::Client) -> Result<BTreeMap<String, String>> {
    let mut all = in_peer::<Deployment>(client, true).await?;
    all.extend(in_peer::<Service>(client, false).await?);
    all.extend(in_peer::<ConfigMap>(client, false).await?);
    Ok(all)
}

/// Waits until every Deployment of the kubectl peer is rolled out and available, as the
/// reconciler's cold sync waits for Healthy.
async fn peer_available(client: &kube::Client, limit: Duration) -> Result<()> {
    let api: Api<Deployment> = Api::all(client.clone());
    let deadline = Instant::now() + limit;
    loop {
        let list = api.list(&ListParams::default()).await?;
        let waiting = list
            .items
            .iter()
            .filter(|d| {
                d.metadata
                    .namespace
                    .as_deref()
                    .is_some_and(|ns| ns.starts_with("peer-"))
            })
            .filter(|d| {
                let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                let status = d.status.clone().unwrap_or_default();
                status.observed_generation < d.metadata.generation
                    || status.updated_replicas.unwrap_or(0) != want
                    || status.available_replicas.unwrap_or(0) != want
            })
            .count();
        if waiting == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{waiting} Deployments of the kubectl peer are not available after {limit:?}"
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
