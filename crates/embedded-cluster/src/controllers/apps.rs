//! Deployments, ReplicaSets, StatefulSets and DaemonSets, following the
//! upstream controllers' replica math and status fields.

use std::time::Duration;

use serde_json::{Value, json};

use super::{
    Ctx, DAEMONSETS, DEPLOYMENTS, NODE_NAME, PODS, REPLICASETS, STATEFULSETS, Work, available_pods,
    controller_ref, deleting, name_of, ns_of, pod_finished, pod_ready, template_hash, uid_of,
};
use crate::objects;

const REVISION: &str = "deployment.kubernetes.io/revision";

/// `intstr.GetScaledValueFromIntOrPercent`: an integer, or a percentage of
/// `total` rounded up or down.
pub(crate) fn scaled(v: &Value, total: i64, round_up: bool) -> i64 {
    if let Some(n) = v.as_i64() {
        return n;
    }
    let Some(p) = v
        .as_str()
        .and_then(|s| s.strip_suffix('%'))
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return 0;
    };
    let x = p * total;
    if round_up { (x + 99) / 100 } else { x / 100 }
}

/// `deploymentutil.ResolveFenceposts`: (maxSurge, maxUnavailable); surge
/// rounds up, unavailable down, and both zero means one unavailable.
pub(crate) fn fenceposts(surge: &Value, unavailable: &Value, replicas: i64) -> (i64, i64) {
    let s = scaled(surge, replicas, true);
    let u = scaled(unavailable, replicas, false);
    if s == 0 && u == 0 { (0, 1) } else { (s, u) }
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn spec_replicas(o: &Value) -> i64 {
    o["spec"]["replicas"].as_i64().unwrap_or(1)
}

fn revision(o: &Value) -> i64 {
    o["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(l) = t["metadata"]["labels"].as_object_mut() {
        l.remove("pod-template-hash");
        if l.is_empty()
            && let Some(m) = t["metadata"].as_object_mut()
        {
            m.remove("labels");
        }
    }
    t
}

fn set_annotation(o: &mut Value, key: &str, value: &str) {
    let ann = &mut o["metadata"]["annotations"];
    if !ann.is_object() {
        *ann = json!({});
    }
    ann[key] = json!(value);
}

fn condition(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    let t = objects::now();
    json!({"type": kind, "status": status, "lastUpdateTime": t, "lastTransitionTime": t,
           "reason": reason, "message": message})
}

fn find_condition<'a>(conds: &'a [Value], kind: &str) -> Option<&'a Value> {
    conds.iter().find(|c| c["type"] == kind)
}

/// `SetDeploymentCondition`: no change when status and reason match; keeps
/// lastTransitionTime when only the reason changes.
fn set_condition(conds: &mut Vec<Value>, mut new: Value) {
    if let Some(cur) = find_condition(conds, new["type"].as_str().unwrap_or_default()) {
        if cur["status"] == new["status"] && cur["reason"] == new["reason"] {
            return;
        }
        if cur["status"] == new["status"] {
            new["lastTransitionTime"] = cur["lastTransitionTime"].clone();
        }
    }
    conds.retain(|c| c["type"] != new["type"]);
    conds.push(new);
}

fn parse_time(s: &str) -> Option<jiff::Timestamp> {
    s.parse().ok()
}

/// A pod (or ReplicaSet) from a template, controlled by `owner`.
fn from_template(owner: &Value, template: &Value, generate_name: &str, kind: &str) -> Value {
    let mut meta = template["metadata"].clone();
    if !meta.is_object() {
        meta = json!({});
    }
    meta["generateName"] = json!(generate_name);
    meta["ownerReferences"] = json!([controller_ref(owner)]);
    json!({
        "apiVersion": "v1", "kind": kind,
        "metadata": meta,
        "spec": template["spec"],
    })
}

/// Creates a pod named `<prefix><5 chars>`, retrying a name collision once.
fn create_pod(ctx: &Ctx, ns: &str, pod: Value) -> Option<Value> {
    ctx.create(PODS, ns, pod.clone())
        .or_else(|| ctx.create(PODS, ns, pod))
}

/// Pods of an owner that count: not finished, not being deleted.
fn active_pods(ctx: &Ctx, ns: &str, owner_uid: &str) -> Vec<Value> {
    ctx.owned(PODS, ns, owner_uid)
        .into_iter()
        .filter(|p| !deleting(p) && !pod_finished(p))
        .collect()
}

/// Which pods to delete first when scaling down: unscheduled, pending,
/// not ready, then the newest (as the ReplicaSet controller ranks them).
fn deletion_order(pods: &mut [Value]) {
    pods.sort_by_key(|p| {
        (
            !p["spec"]["nodeName"].is_null(),
            p["status"]["phase"] != "Pending",
            pod_ready(p),
            std::cmp::Reverse(
                p["metadata"]["creationTimestamp"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
        )
    });
}

/// The ReplicaSet controller.
pub(super) fn replica_set(ctx: &mut Ctx, ns: &str, name: &str) {
    let Some(rs) = ctx.get(REPLICASETS, ns, name) else {
        return;
    };
    let uid = uid_of(&rs).to_owned();
    let mut pods = active_pods(ctx, ns, &uid);
    if !deleting(&rs) {
        let want = spec_replicas(&rs);
        let have = pods.len() as i64;
        if have < want {
            let template = &rs["spec"]["template"];
            for _ in 0..(want - have).min(500) {
                let pod = from_template(&rs, template, &format!("{name}-"), "Pod");
                if create_pod(ctx, ns, pod).is_none() {
                    break;
                }
            }
        } else if have > want {
            deletion_order(&mut pods);
            for p in pods.iter().take((have - want) as usize) {
                ctx.delete(PODS, ns, name_of(p), None);
            }
        }
        pods = active_pods(ctx, ns, &uid);
    }
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let available = wait_for_available(ctx, REPLICASETS, &rs, &pods);
    let mut status = json!({
        "replicas": pods.len(),
        "fullyLabeledReplicas": pods.len(),
        "readyReplicas": ready,
        "availableReplicas": available,
        "observedGeneration": rs["metadata"]["generation"],
    });
    if let Some(c) = rs["status"]["conditions"]
        .as_array()
        .filter(|c| !c.is_empty())
    {
        status["conditions"] = json!(c);
    }
    ctx.set_status(REPLICASETS, ns, name, status);
}

/// The available pods of a workload with `spec.minReadySeconds`; looks at
/// the workload again when the next ready pod becomes available.
fn wait_for_available(ctx: &mut Ctx, resource: &'static str, owner: &Value, pods: &[Value]) -> i64 {
    let refs: Vec<&Value> = pods.iter().collect();
    let (available, next) = available_pods(
        &refs,
        owner["spec"]["minReadySeconds"].as_i64().unwrap_or(0),
    );
    if let Some(wait) = next {
        // The timestamps have second precision: look a moment after.
        ctx.after(
            wait + Duration::from_millis(50),
            Work::Object(
                resource,
                (ns_of(owner).to_owned(), name_of(owner).to_owned()),
            ),
        );
    }
    available
}

/// One ReplicaSet as the Deployment controller tracks it.
struct Rs {
    name: String,
    replicas: i64,
    available: i64,
    ready: i64,
    actual: i64,
    revision: i64,
    created: String,
    object: Value,
}

impl Rs {
    fn of(o: Value) -> Self {
        Self {
            name: name_of(&o).to_owned(),
            replicas: spec_replicas(&o),
            available: int(&o["status"]["availableReplicas"]),
            ready: int(&o["status"]["readyReplicas"]),
            actual: int(&o["status"]["replicas"]),
            revision: revision(&o),
            created: o["metadata"]["creationTimestamp"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            object: o,
        }
    }
}

fn scale_rs(ctx: &Ctx, ns: &str, rs: &mut Rs, replicas: i64, deploy: &Value) {
    if rs.replicas == replicas {
        return;
    }
    rs.replicas = replicas;
    let desired = spec_replicas(deploy);
    ctx.modify(REPLICASETS, ns, &rs.name, |o| {
        o["spec"]["replicas"] = json!(replicas);
        set_annotation(
            o,
            "deployment.kubernetes.io/desired-replicas",
            &desired.to_string(),
        );
    });
}

/// The Deployment controller.
pub(super) fn deployment(ctx: &mut Ctx, ns: &str, name: &str) {
    let Some(d) = ctx.get(DEPLOYMENTS, ns, name) else {
        return;
    };
    if deleting(&d) {
        return;
    }
    let uid = uid_of(&d).to_owned();
    let replicas = spec_replicas(&d);
    let template = d["spec"]["template"].clone();
    let paused = d["spec"]["paused"] == true;
    let recreate = d["spec"]["strategy"]["type"] == "Recreate";
    let ru = &d["spec"]["strategy"]["rollingUpdate"];
    let (max_surge, max_unavailable) = if recreate {
        (0, 0)
    } else {
        fenceposts(&ru["maxSurge"], &ru["maxUnavailable"], replicas)
    };
    let mut all: Vec<Rs> = ctx
        .owned(REPLICASETS, ns, &uid)
        .into_iter()
        .map(Rs::of)
        .collect();
    all.sort_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)));
    let want = without_hash(&template);
    let new_idx = all
        .iter()
        .position(|rs| without_hash(&rs.object["spec"]["template"]) == want);
    let max_old_revision = all
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != new_idx)
        .map(|(_, r)| r.revision)
        .max()
        .unwrap_or(0);
    let mut created_new = false;
    let mut new_idx = new_idx;
    if !paused {
        match new_idx {
            Some(i) if all[i].revision <= max_old_revision => {
                // A rollback to an older template: it becomes the newest revision.
                let rev = (max_old_revision + 1).to_string();
                all[i].revision = max_old_revision + 1;
                ctx.modify(REPLICASETS, ns, &all[i].name.clone(), |o| {
                    set_annotation(o, REVISION, &rev)
                });
            }
            Some(i) => {
                let min_ready = d["spec"]["minReadySeconds"].as_i64().unwrap_or(0);
                if all[i].object["spec"]["minReadySeconds"]
                    .as_i64()
                    .unwrap_or(0)
                    != min_ready
                {
                    ctx.modify(REPLICASETS, ns, &all[i].name.clone(), |o| {
                        o["spec"]["minReadySeconds"] = json!(min_ready)
                    });
                }
            }
            None => {
                let old_total: i64 = all.iter().map(|r| r.replicas).sum();
                let initial = if recreate {
                    if old_total == 0 { replicas } else { 0 }
                } else {
                    (replicas + max_surge - old_total).clamp(0, replicas)
                };
                let hash = template_hash(&template);
                let mut rs_template = template.clone();
                rs_template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
                let mut selector = d["spec"]["selector"].clone();
                selector["matchLabels"]["pod-template-hash"] = json!(hash);
                let rev = (max_old_revision + 1).to_string();
                let rs = json!({
                    "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {
                        "name": format!("{name}-{hash}"),
                        "namespace": ns,
                        "labels": rs_template["metadata"]["labels"],
                        "annotations": {
                            REVISION: rev,
                            "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                            "deployment.kubernetes.io/max-replicas": (replicas + max_surge).to_string(),
                        },
                        "ownerReferences": [controller_ref(&d)],
                    },
                    "spec": {
                        "replicas": initial,
                        "minReadySeconds": d["spec"]["minReadySeconds"].as_i64().unwrap_or(0),
                        "selector": selector,
                        "template": rs_template,
                    },
                });
                if let Some(o) = ctx.create(REPLICASETS, ns, rs) {
                    all.push(Rs::of(o));
                    new_idx = Some(all.len() - 1);
                    created_new = true;
                }
            }
        }
        if let Some(ni) = new_idx {
            let rev = all[ni].revision.to_string();
            if d["metadata"]["annotations"][REVISION].as_str() != Some(rev.as_str()) {
                ctx.modify(DEPLOYMENTS, ns, name, |o| set_annotation(o, REVISION, &rev));
            }
            if recreate {
                rollout_recreate(ctx, ns, &d, &mut all, ni, replicas);
            } else {
                rollout_rolling(
                    ctx,
                    ns,
                    &d,
                    &mut all,
                    ni,
                    replicas,
                    max_surge,
                    max_unavailable,
                );
            }
        }
        cleanup(ctx, ns, &d, &all, new_idx);
    }
    sync_status(
        ctx,
        ns,
        &d,
        &all,
        new_idx,
        replicas,
        max_unavailable,
        paused,
        created_new,
    );
}

fn rollout_recreate(ctx: &Ctx, ns: &str, d: &Value, all: &mut [Rs], ni: usize, replicas: i64) {
    for (i, rs) in all.iter_mut().enumerate() {
        if i != ni {
            scale_rs(ctx, ns, rs, 0, d);
        }
    }
    // Wait until old pods are gone before starting new ones.
    let old_running = all
        .iter()
        .enumerate()
        .any(|(i, rs)| i != ni && !active_pods(ctx, ns, uid_of(&rs.object)).is_empty());
    if !old_running {
        scale_rs(ctx, ns, &mut all[ni], replicas, d);
    }
}

#[allow(clippy::too_many_arguments)]
fn rollout_rolling(
    ctx: &Ctx,
    ns: &str,
    d: &Value,
    all: &mut [Rs],
    ni: usize,
    replicas: i64,
    max_surge: i64,
    max_unavailable: i64,
) {
    // reconcileNewReplicaSet
    let new_replicas = all[ni].replicas;
    if new_replicas > replicas {
        scale_rs(ctx, ns, &mut all[ni], replicas, d);
        return;
    }
    if new_replicas < replicas {
        let current: i64 = all.iter().map(|r| r.replicas).sum();
        let max_total = replicas + max_surge;
        if current < max_total {
            let up = (max_total - current).min(replicas - new_replicas);
            scale_rs(ctx, ns, &mut all[ni], new_replicas + up, d);
            return;
        }
    }
    // reconcileOldReplicaSets
    let old_pods: i64 = all
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != ni)
        .map(|(_, r)| r.replicas)
        .sum();
    if old_pods == 0 {
        return;
    }
    let all_pods: i64 = all.iter().map(|r| r.replicas).sum();
    let min_available = replicas - max_unavailable;
    let new_unavailable = all[ni].replicas - all[ni].available;
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return;
    }
    // cleanupUnhealthyReplicas: old pods that are not available go first.
    let mut cleaned = 0;
    for (i, rs) in all.iter_mut().enumerate() {
        if i == ni || cleaned >= max_scaled_down {
            continue;
        }
        if rs.replicas == 0 || rs.replicas == rs.available {
            continue;
        }
        let down = (max_scaled_down - cleaned).min(rs.replicas - rs.available);
        let target = rs.replicas - down;
        scale_rs(ctx, ns, rs, target, d);
        cleaned += down;
    }
    // scaleDownOldReplicaSetsForRollingUpdate
    let available: i64 = all.iter().map(|r| r.available.min(r.replicas)).sum();
    if available <= min_available {
        return;
    }
    let total_down = available - min_available;
    let mut done = 0;
    for (i, rs) in all.iter_mut().enumerate() {
        if i == ni || done >= total_down {
            continue;
        }
        if rs.replicas == 0 {
            continue;
        }
        let down = rs.replicas.min(total_down - done);
        let target = rs.replicas - down;
        scale_rs(ctx, ns, rs, target, d);
        done += down;
    }
}

/// Deletes old, empty ReplicaSets beyond revisionHistoryLimit.
fn cleanup(ctx: &Ctx, ns: &str, d: &Value, all: &[Rs], ni: Option<usize>) {
    let limit = d["spec"]["revisionHistoryLimit"].as_i64().unwrap_or(10);
    let mut old: Vec<&Rs> = all
        .iter()
        .enumerate()
        .filter(|(i, r)| Some(*i) != ni && r.replicas == 0 && r.actual == 0)
        .map(|(_, r)| r)
        .collect();
    let excess = old.len() as i64 - limit;
    if excess <= 0 {
        return;
    }
    old.sort_by_key(|r| r.revision);
    for r in old.into_iter().take(excess as usize) {
        ctx.delete(REPLICASETS, ns, &r.name, None);
    }
}

#[allow(clippy::too_many_arguments)]
fn sync_status(
    ctx: &mut Ctx,
    ns: &str,
    d: &Value,
    all: &[Rs],
    ni: Option<usize>,
    replicas: i64,
    max_unavailable: i64,
    paused: bool,
    created_new: bool,
) {
    let name = name_of(d);
    let old = &d["status"];
    let actual: i64 = all.iter().map(|r| r.actual).sum();
    let updated = ni.map(|i| all[i].actual).unwrap_or(0);
    let ready: i64 = all.iter().map(|r| r.ready).sum();
    let available: i64 = all.iter().map(|r| r.available).sum();
    let total_spec: i64 = all.iter().map(|r| r.replicas).sum();
    let generation = d["metadata"]["generation"].as_i64().unwrap_or(1);
    let mut conds: Vec<Value> = old["conditions"].as_array().cloned().unwrap_or_default();
    if available >= replicas - max_unavailable {
        set_condition(
            &mut conds,
            condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            ),
        );
    } else {
        set_condition(
            &mut conds,
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            ),
        );
    }
    let rs_name = ni.map(|i| all[i].name.clone()).unwrap_or_default();
    let deadline = d["spec"]["progressDeadlineSeconds"].as_i64();
    let complete =
        updated == replicas && actual == replicas && available == replicas && ni.is_some();
    let progressing = updated > int(&old["updatedReplicas"])
        || ready > int(&old["readyReplicas"])
        || available > int(&old["availableReplicas"])
        || (actual - updated) < (int(&old["replicas"]) - int(&old["updatedReplicas"]));
    let current = find_condition(&conds, "Progressing").cloned();
    if paused {
        set_condition(
            &mut conds,
            condition(
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused",
            ),
        );
    } else if deadline.is_some() {
        if complete {
            set_condition(
                &mut conds,
                condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet {rs_name:?} has successfully progressed."),
                ),
            );
        } else if created_new {
            set_condition(
                &mut conds,
                condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetCreated",
                    &format!("Created new replica set {rs_name:?}"),
                ),
            );
        } else if progressing || current.is_none() {
            // Progress refreshes lastUpdateTime even with the same reason.
            let mut c = condition(
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("ReplicaSet {rs_name:?} is progressing."),
            );
            if let Some(cur) = &current
                && cur["status"] == "True"
            {
                c["lastTransitionTime"] = cur["lastTransitionTime"].clone();
            }
            conds.retain(|c| c["type"] != "Progressing");
            conds.push(c);
        } else if let (Some(cur), Some(secs)) = (&current, deadline)
            && cur["reason"] != "NewReplicaSetAvailable"
            && cur["reason"] != "ProgressDeadlineExceeded"
        {
            let from = cur["lastUpdateTime"].as_str().and_then(parse_time);
            if let Some(from) = from {
                let due = from + jiff::SignedDuration::from_secs(secs);
                let now = jiff::Timestamp::now();
                if now >= due {
                    set_condition(
                        &mut conds,
                        condition(
                            "Progressing",
                            "False",
                            "ProgressDeadlineExceeded",
                            &format!("ReplicaSet {rs_name:?} has timed out progressing."),
                        ),
                    );
                }
            }
        }
        // Come back when the deadline of an unfinished rollout passes.
        if let (Some(cur), Some(secs)) = (find_condition(&conds, "Progressing"), deadline)
            && cur["reason"] != "NewReplicaSetAvailable"
            && cur["reason"] != "ProgressDeadlineExceeded"
            && let Some(from) = cur["lastUpdateTime"].as_str().and_then(parse_time)
        {
            let due = from + jiff::SignedDuration::from_secs(secs);
            let wait = jiff::Timestamp::now().duration_until(due);
            let wait = std::time::Duration::try_from(wait).unwrap_or_default();
            ctx.after(
                wait + std::time::Duration::from_millis(50),
                Work::Object(DEPLOYMENTS, (ns.to_owned(), name.to_owned())),
            );
        }
    }
    conds.sort_by_key(|c| match c["type"].as_str() {
        Some("Available") => 0,
        Some("Progressing") => 1,
        _ => 2,
    });
    let mut status = json!({
        "observedGeneration": generation,
        "replicas": actual,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": available,
        "conditions": conds,
    });
    let unavailable = (total_spec - available).max(0);
    if unavailable > 0 {
        status["unavailableReplicas"] = json!(unavailable);
    }
    if let Some(c) = old.get("collisionCount") {
        status["collisionCount"] = c.clone();
    }
    // Omit zero counts as the real API server's JSON does.
    for k in [
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
    ] {
        if status[k] == 0 {
            status.as_object_mut().map(|m| m.remove(k));
        }
    }
    ctx.set_status(DEPLOYMENTS, ns, name, status);
}

fn pod_index(pod: &Value, sts: &str) -> Option<i64> {
    name_of(pod)
        .strip_prefix(sts)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

/// The StatefulSet controller: ordered pods `<name>-<ordinal>`.
pub(super) fn stateful_set(ctx: &mut Ctx, ns: &str, name: &str) {
    let Some(sts) = ctx.get(STATEFULSETS, ns, name) else {
        return;
    };
    let uid = uid_of(&sts).to_owned();
    let replicas = spec_replicas(&sts);
    let template = sts["spec"]["template"].clone();
    let update_revision = format!("{name}-{}", template_hash(&template));
    let ordered = sts["spec"]["podManagementPolicy"] != "Parallel";
    let revision_of = |p: &Value| {
        p["metadata"]["labels"]["controller-revision-hash"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let pods = |ctx: &Ctx| -> Vec<(i64, Value)> {
        let mut v: Vec<(i64, Value)> = active_pods(ctx, ns, &uid)
            .into_iter()
            .filter_map(|p| pod_index(&p, name).map(|i| (i, p)))
            .collect();
        v.sort_by_key(|(i, _)| *i);
        v
    };
    if !deleting(&sts) {
        let existing = pods(ctx);
        // Scale up in order.
        for i in 0..replicas {
            match existing.iter().find(|(n, _)| *n == i) {
                Some((_, p)) if ordered && !pod_ready(p) => break,
                Some(_) => continue,
                None => {
                    for vct in sts["spec"]["volumeClaimTemplates"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        let claim = format!("{}-{name}-{i}", name_of(vct));
                        if ctx.get(super::PVCS, ns, &claim).is_none() {
                            let mut pvc = vct.clone();
                            pvc["apiVersion"] = json!("v1");
                            pvc["kind"] = json!("PersistentVolumeClaim");
                            pvc["metadata"]["name"] = json!(claim);
                            pvc["metadata"]["namespace"] = json!(ns);
                            if let Some(m) = pvc.as_object_mut() {
                                m.remove("status");
                            }
                            ctx.create(super::PVCS, ns, pvc);
                        }
                    }
                    let pod_name = format!("{name}-{i}");
                    let mut pod = from_template(&sts, &template, "", "Pod");
                    let meta = &mut pod["metadata"];
                    if let Some(m) = meta.as_object_mut() {
                        m.remove("generateName");
                    }
                    meta["name"] = json!(pod_name);
                    let labels = &mut meta["labels"];
                    if !labels.is_object() {
                        *labels = json!({});
                    }
                    labels["controller-revision-hash"] = json!(update_revision);
                    labels["statefulset.kubernetes.io/pod-name"] = json!(pod_name);
                    labels["apps.kubernetes.io/pod-index"] = json!(i.to_string());
                    pod["spec"]["hostname"] = json!(pod_name);
                    if let Some(svc) = sts["spec"]["serviceName"].as_str() {
                        pod["spec"]["subdomain"] = json!(svc);
                    }
                    let mut volumes = pod["spec"]["volumes"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    for vct in sts["spec"]["volumeClaimTemplates"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        volumes.push(json!({"name": name_of(vct),
                            "persistentVolumeClaim": {"claimName": format!("{}-{name}-{i}", name_of(vct))}}));
                    }
                    if !volumes.is_empty() {
                        pod["spec"]["volumes"] = json!(volumes);
                    }
                    ctx.create(PODS, ns, pod);
                    if ordered {
                        break;
                    }
                }
            }
        }
        // Scale down from the highest ordinal.
        let existing = pods(ctx);
        let mut extra: Vec<&(i64, Value)> =
            existing.iter().filter(|(i, _)| *i >= replicas).collect();
        extra.sort_by_key(|(i, _)| std::cmp::Reverse(*i));
        let take = if ordered { 1 } else { extra.len() };
        for (_, p) in extra.into_iter().take(take) {
            ctx.delete(PODS, ns, name_of(p), None);
        }
        // Rolling update: replace the highest outdated pod once all are ready.
        let existing = pods(ctx);
        let rolling = sts["spec"]["updateStrategy"]["type"] != "OnDelete";
        let partition = sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"]
            .as_i64()
            .unwrap_or(0);
        if rolling
            && existing.len() as i64 == replicas
            && existing.iter().all(|(_, p)| pod_ready(p))
            && let Some((_, p)) = existing
                .iter()
                .rev()
                .find(|(i, p)| *i >= partition && revision_of(p) != update_revision)
        {
            ctx.delete(PODS, ns, name_of(p), None);
        }
    }
    let existing = pods(ctx);
    let ready = existing.iter().filter(|(_, p)| pod_ready(p)).count() as i64;
    let existing_pods: Vec<Value> = existing.iter().map(|(_, p)| p.clone()).collect();
    let available = wait_for_available(ctx, STATEFULSETS, &sts, &existing_pods);
    let updated = existing
        .iter()
        .filter(|(_, p)| revision_of(p) == update_revision)
        .count() as i64;
    let current_revision = match sts["status"]["currentRevision"].as_str() {
        Some(c) if updated < replicas || existing.len() as i64 != replicas => c.to_owned(),
        _ => update_revision.clone(),
    };
    let current = existing
        .iter()
        .filter(|(_, p)| revision_of(p) == current_revision)
        .count() as i64;
    let status = json!({
        "observedGeneration": sts["metadata"]["generation"],
        "replicas": existing.len(),
        "readyReplicas": ready,
        "availableReplicas": available,
        "currentReplicas": current,
        "updatedReplicas": updated,
        "currentRevision": current_revision,
        "updateRevision": update_revision,
        "collisionCount": 0,
    });
    ctx.set_status(STATEFULSETS, ns, name, status);
}

/// The DaemonSet controller: one pod on the one simulated node.
pub(super) fn daemon_set(ctx: &mut Ctx, ns: &str, name: &str) {
    let Some(ds) = ctx.get(DAEMONSETS, ns, name) else {
        return;
    };
    let uid = uid_of(&ds).to_owned();
    let template = ds["spec"]["template"].clone();
    let hash = template_hash(&template);
    let is_current =
        |p: &Value| p["metadata"]["labels"]["controller-revision-hash"] == hash.as_str();
    if !deleting(&ds) {
        let pods = active_pods(ctx, ns, &uid);
        let rolling = ds["spec"]["updateStrategy"]["type"] != "OnDelete";
        if pods.is_empty() {
            let mut pod = from_template(&ds, &template, &format!("{name}-"), "Pod");
            let labels = &mut pod["metadata"]["labels"];
            if !labels.is_object() {
                *labels = json!({});
            }
            labels["controller-revision-hash"] = json!(hash);
            labels["pod-template-generation"] = json!(
                ds["metadata"]["generation"]
                    .as_i64()
                    .unwrap_or(1)
                    .to_string()
            );
            pod["spec"]["nodeName"] = json!(NODE_NAME);
            create_pod(ctx, ns, pod);
        } else {
            for p in pods.iter().skip(1) {
                ctx.delete(PODS, ns, name_of(p), None);
            }
            if rolling && !is_current(&pods[0]) {
                ctx.delete(PODS, ns, name_of(&pods[0]), None);
            }
        }
    }
    let pods = active_pods(ctx, ns, &uid);
    let scheduled = pods.len().min(1) as i64;
    let ready = pods.iter().filter(|p| pod_ready(p)).count().min(1) as i64;
    let available = wait_for_available(ctx, DAEMONSETS, &ds, &pods).min(1);
    let updated = pods.iter().filter(|p| is_current(p)).count().min(1) as i64;
    let mut status = json!({
        "observedGeneration": ds["metadata"]["generation"],
        "currentNumberScheduled": scheduled,
        "desiredNumberScheduled": 1,
        "numberMisscheduled": 0,
        "numberReady": ready,
        "updatedNumberScheduled": updated,
        "numberAvailable": available,
    });
    if available < 1 {
        status["numberUnavailable"] = json!(1 - available);
    }
    ctx.set_status(DAEMONSETS, ns, name, status);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenceposts_round_like_kubernetes() {
        assert_eq!(fenceposts(&json!("25%"), &json!("25%"), 3), (1, 0));
        assert_eq!(fenceposts(&json!("25%"), &json!("25%"), 4), (1, 1));
        assert_eq!(fenceposts(&json!("50%"), &json!("50%"), 5), (3, 2));
        assert_eq!(fenceposts(&json!(0), &json!(0), 5), (0, 1));
        assert_eq!(fenceposts(&json!(2), &json!("0%"), 5), (2, 0));
    }
}
