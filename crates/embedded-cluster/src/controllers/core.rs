//! The simulated kubelet and scheduler (pods), Services, Endpoints and
//! PersistentVolumeClaims.

use std::time::Duration;

use serde_json::{Value, json};

use super::{
    Ctx, ENDPOINTS, Failure, INGRESSES, NODE_NAME, PODS, PVCS, SERVICES, Work, deleting, fnv32,
    name_of, pod_ready, uid_of,
};
use crate::objects;

fn condition(kind: &str, status: bool, t: &str) -> Value {
    json!({"type": kind, "status": if status { "True" } else { "False" },
           "lastProbeTime": null, "lastTransitionTime": t})
}

/// Whether the pod's containers run to completion (Job pods).
fn runs_to_completion(pod: &Value) -> bool {
    matches!(
        pod["spec"]["restartPolicy"].as_str(),
        Some("Never" | "OnFailure")
    )
}

fn fake_digest(s: &str) -> String {
    let h = fnv32(&json!(s));
    format!("{h:08x}").repeat(8)
}

fn container_statuses(pod: &Value, list: &str, state: impl Fn(&Value) -> Value) -> Vec<Value> {
    pod["spec"][list]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let image = c["image"].as_str().unwrap_or_default();
            let (st, ready, restarts, last) = {
                let s = state(c);
                (
                    s["state"].clone(),
                    s["ready"].as_bool().unwrap_or(false),
                    s["restartCount"].as_i64().unwrap_or(0),
                    s["lastState"].clone(),
                )
            };
            let mut cs = json!({
                "name": c["name"],
                "image": image,
                "imageID": format!("{image}@sha256:{}", fake_digest(image)),
                "ready": ready,
                "started": st.get("running").is_some(),
                "restartCount": restarts,
                "state": st,
                "lastState": if last.is_null() { json!({}) } else { last },
            });
            if st.get("waiting").is_none() {
                cs["containerID"] = json!(format!(
                    "containerd://{}",
                    fake_digest(&format!("{}{}", uid_of(pod), c["name"]))
                ));
            }
            cs
        })
        .collect()
}

/// What each container's status looks like, given its spec.
type ContainerState<'a> = Box<dyn Fn(&Value) -> Value + 'a>;

/// The simulated scheduler and kubelet for one pod.
pub(super) fn pod(ctx: &mut Ctx, ns: &str, name: &str) {
    let Some(pod) = ctx.get(PODS, ns, name) else {
        return;
    };
    let uid = uid_of(&pod).to_owned();
    if deleting(&pod) {
        ctx.pod_due.remove(&uid);
        terminate(ctx, ns, name, &pod, uid);
        return;
    }
    let phase = pod["status"]["phase"].as_str().unwrap_or("Pending");
    let node = pod["spec"]["nodeName"].as_str().unwrap_or_default();
    let now = tokio::time::Instant::now();
    let delay = ctx.cfg.pod_start_delay;
    let t = objects::now();
    if phase == "Pending" && node.is_empty() {
        // Scheduling: bind to the one node.
        ctx.modify(PODS, ns, name, |p| {
            p["spec"]["nodeName"] = json!(NODE_NAME);
            p["status"]["conditions"] = json!([condition("PodScheduled", true, &t)]);
        });
        ctx.pod_due.insert(uid, now + delay);
        if !delay.is_zero() {
            ctx.after(delay, Work::Object(PODS, (ns.to_owned(), name.to_owned())));
        }
        return;
    }
    let due = *ctx.pod_due.entry(uid.clone()).or_insert(now);
    if now < due {
        ctx.after(
            due - now,
            Work::Object(PODS, (ns.to_owned(), name.to_owned())),
        );
        return;
    }
    let failure = ctx.cfg.failure_rule.failure_of(&pod);
    let completes = runs_to_completion(&pod);
    let started = pod["status"]["startTime"].is_null();
    match phase {
        "Pending" if pod["status"]["containerStatuses"].is_null() => {}
        "Running" if completes => {}
        _ => return,
    }
    let ip = if pod["status"]["podIP"].is_null() {
        let Some(ip) = ctx.state.allocations.pod_ip() else {
            tracing::warn!(namespace = ns, name, "no pod IP left to allocate");
            return;
        };
        ip
    } else {
        pod["status"]["podIP"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let start_time = if started {
        t.clone()
    } else {
        pod["status"]["startTime"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let init_done = |_: &Value| {
        json!({"state": {"terminated": {"exitCode": 0, "reason": "Completed",
            "startedAt": start_time, "finishedAt": start_time}}, "ready": false})
    };
    let mut status = json!({
        "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
        "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": start_time,
        "qosClass": pod["status"]["qosClass"].as_str().unwrap_or("BestEffort"),
    });
    let inits = container_statuses(&pod, "initContainers", init_done);
    if !inits.is_empty() {
        status["initContainerStatuses"] = json!(inits);
    }
    let (phase, ready, state): (&str, bool, ContainerState<'_>) = match (failure, completes, phase)
    {
        (Some(_), true, _) => (
            "Failed",
            false,
            Box::new(|_| {
                json!({"state": {"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": start_time, "finishedAt": t}}})
            }),
        ),
        (Some(Failure::CrashLoopBackOff), false, _) => (
            "Running",
            false,
            Box::new(|c| {
                json!({
                    "state": {"waiting": {"reason": "CrashLoopBackOff",
                        "message": format!("back-off 10s restarting failed container={} pod={name}", c["name"].as_str().unwrap_or_default())}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                        "startedAt": start_time, "finishedAt": t}},
                    "restartCount": 1,
                })
            }),
        ),
        (Some(Failure::ImagePullBackOff), false, _) => (
            "Pending",
            false,
            Box::new(|c| {
                json!({"state": {"waiting": {"reason": "ImagePullBackOff",
                        "message": format!("Back-off pulling image {:?}", c["image"].as_str().unwrap_or_default())}}})
            }),
        ),
        (None, true, "Running") => (
            "Succeeded",
            false,
            Box::new(|_| {
                json!({"state": {"terminated": {"exitCode": 0, "reason": "Completed",
                    "startedAt": start_time, "finishedAt": t}}})
            }),
        ),
        (None, _, _) => (
            "Running",
            true,
            Box::new(|_| json!({"state": {"running": {"startedAt": t}}, "ready": true})),
        ),
    };
    status["phase"] = json!(phase);
    status["containerStatuses"] = json!(container_statuses(&pod, "containers", state));
    let containers_ready = ready;
    let mut conds = vec![
        condition("PodReadyToStartContainers", phase != "Pending", &t),
        condition("Initialized", true, &t),
        condition("Ready", ready, &t),
        condition("ContainersReady", containers_ready, &t),
        condition("PodScheduled", true, &t),
    ];
    if !ready {
        let reason = if phase == "Succeeded" {
            "PodCompleted"
        } else {
            "ContainersNotReady"
        };
        for c in &mut conds[2..4] {
            c["reason"] = json!(reason);
        }
    }
    status["conditions"] = json!(conds);
    let next_stage = phase == "Running" && completes;
    ctx.set_status(PODS, ns, name, status);
    if next_stage {
        let delay = ctx.cfg.pod_start_delay;
        ctx.pod_due.insert(uid, tokio::time::Instant::now() + delay);
        ctx.after(delay, Work::Object(PODS, (ns.to_owned(), name.to_owned())));
    }
}

/// The kubelet's side of a graceful deletion: the pod goes once its
/// containers stopped (`pod_stop_delay`) or its grace period ended.
fn terminate(ctx: &mut Ctx, ns: &str, name: &str, pod: &Value, uid: String) {
    let Some(grace) = pod["metadata"]["deletionGracePeriodSeconds"]
        .as_i64()
        .filter(|g| *g > 0)
    else {
        // Finalizers hold it; nothing for the kubelet to wait for.
        ctx.pod_gone_due.remove(&uid);
        return;
    };
    let now = tokio::time::Instant::now();
    let wait = ctx
        .cfg
        .pod_stop_delay
        .min(Duration::from_secs(grace.unsigned_abs()));
    let candidate = now
        .checked_add(wait)
        .unwrap_or(now + Duration::from_secs(grace.unsigned_abs()));
    let due = match ctx.pod_gone_due.get(&uid) {
        // A later DELETE may only shorten the grace period.
        Some((due, seen)) if *seen <= grace => *due,
        Some((due, _)) => (*due).min(candidate),
        None => candidate,
    };
    if now >= due {
        ctx.pod_gone_due.remove(&uid);
        ctx.delete_now(PODS, ns, name);
        return;
    }
    ctx.pod_gone_due.insert(uid, (due, grace));
    ctx.after(
        due - now,
        Work::Object(PODS, (ns.to_owned(), name.to_owned())),
    );
}

/// LoadBalancer ingress and Endpoints for one Service, or for every Service
/// of the namespace when `name` is empty.
pub(super) fn service(ctx: &mut Ctx, ns: &str, name: &str) {
    if name.is_empty() {
        if !ctx.cfg.endpoints {
            return;
        }
        for s in ctx.list(SERVICES, ns) {
            endpoints(ctx, ns, name_of(&s), Some(&s));
        }
        return;
    }
    let svc = ctx.get(SERVICES, ns, name);
    if ctx.cfg.services
        && let Some(s) = &svc
        && s["spec"]["type"] == "LoadBalancer"
        && s["status"]["loadBalancer"]["ingress"].is_null()
    {
        ctx.modify(SERVICES, ns, name, |o| {
            o["status"]["loadBalancer"] =
                json!({"ingress": [{"ip": "127.0.0.1", "ipMode": "VIP"}]});
        });
    }
    if ctx.cfg.endpoints {
        endpoints(ctx, ns, name, svc.as_ref());
    }
}

/// An Ingress's load-balancer address, as ingress controllers publish it
/// (`networking.k8s.io/v1` `IngressLoadBalancerStatus`); Argo CD's health
/// check waits for it.
pub(super) fn ingress(ctx: &mut Ctx, ns: &str, name: &str) {
    let Some(ingress) = ctx.get(INGRESSES, ns, name) else {
        return;
    };
    let assigned = ingress["status"]["loadBalancer"]["ingress"]
        .as_array()
        .is_some_and(|a| !a.is_empty());
    if deleting(&ingress) || assigned {
        return;
    }
    ctx.modify(INGRESSES, ns, name, |o| {
        o["status"] = json!({"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}});
    });
}

fn endpoints(ctx: &mut Ctx, ns: &str, name: &str, svc: Option<&Value>) {
    let managed = |e: &Value| {
        e["metadata"]["labels"]["endpoints.kubernetes.io/managed-by"] == "windlass-endpoints"
    };
    let Some(svc) = svc else {
        if ctx.get(ENDPOINTS, ns, name).is_some_and(|e| managed(&e)) {
            ctx.delete(ENDPOINTS, ns, name, None);
        }
        return;
    };
    let Some(selector) = svc["spec"]["selector"]
        .as_object()
        .filter(|s| !s.is_empty())
    else {
        return;
    };
    let pods: Vec<Value> = ctx
        .list(PODS, ns)
        .into_iter()
        .filter(|p| {
            let labels = &p["metadata"]["labels"];
            selector.iter().all(|(k, v)| labels[k] == *v)
                && !p["status"]["podIP"].is_null()
                && !deleting(p)
                && !super::pod_finished(p)
        })
        .collect();
    let address = |p: &Value| {
        json!({"ip": p["status"]["podIP"], "nodeName": p["spec"]["nodeName"],
            "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"], "uid": p["metadata"]["uid"]}})
    };
    let ready: Vec<Value> = pods.iter().filter(|p| pod_ready(p)).map(address).collect();
    let not_ready: Vec<Value> = pods.iter().filter(|p| !pod_ready(p)).map(address).collect();
    let ports: Vec<Value> = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|sp| {
            let target = &sp["targetPort"];
            let port = match target.as_i64() {
                Some(n) => n,
                None => {
                    let named = target.as_str().unwrap_or_default();
                    pods.iter()
                        .flat_map(|p| p["spec"]["containers"].as_array().into_iter().flatten())
                        .flat_map(|c| c["ports"].as_array().into_iter().flatten())
                        .find(|p| p["name"] == named)
                        .and_then(|p| p["containerPort"].as_i64())?
                }
            };
            let mut p = json!({"port": port, "protocol": sp["protocol"].as_str().unwrap_or("TCP")});
            if let Some(n) = sp["name"].as_str() {
                p["name"] = json!(n);
            }
            Some(p)
        })
        .collect();
    let subsets = if ready.is_empty() && not_ready.is_empty() {
        json!([])
    } else {
        let mut s = json!({"ports": ports});
        if !ready.is_empty() {
            s["addresses"] = json!(ready);
        }
        if !not_ready.is_empty() {
            s["notReadyAddresses"] = json!(not_ready);
        }
        json!([s])
    };
    let mut labels = svc["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels["endpoints.kubernetes.io/managed-by"] = json!("windlass-endpoints");
    match ctx.get(ENDPOINTS, ns, name) {
        Some(_) => {
            ctx.modify(ENDPOINTS, ns, name, |e| {
                e["subsets"] = subsets;
                e["metadata"]["labels"] = labels;
            });
        }
        None => {
            let e = json!({
                "apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": name, "namespace": ns, "labels": labels},
                "subsets": subsets,
            });
            ctx.create(ENDPOINTS, ns, e);
        }
    }
}

/// Binds a pending PersistentVolumeClaim to a generated volume.
pub(super) fn pvc(ctx: &mut Ctx, ns: &str, name: &str) {
    let Some(pvc) = ctx.get(PVCS, ns, name) else {
        return;
    };
    if deleting(&pvc) || pvc["status"]["phase"] == "Bound" {
        return;
    }
    let volume = format!("pvc-{}", uid_of(&pvc));
    ctx.modify(PVCS, ns, name, |p| {
        if p["spec"]["volumeName"].as_str().is_none_or(str::is_empty) {
            p["spec"]["volumeName"] = json!(volume);
        }
        let ann = &mut p["metadata"]["annotations"];
        if !ann.is_object() {
            *ann = json!({});
        }
        ann["pv.kubernetes.io/bind-completed"] = json!("yes");
        ann["pv.kubernetes.io/bound-by-controller"] = json!("yes");
        let modes = if p["spec"]["accessModes"].is_array() {
            p["spec"]["accessModes"].clone()
        } else {
            json!(["ReadWriteOnce"])
        };
        let mut status = json!({"phase": "Bound", "accessModes": modes});
        if let Some(size) = p["spec"]["resources"]["requests"]["storage"].as_str() {
            status["capacity"] = json!({"storage": size});
        }
        p["status"] = status;
    });
}
