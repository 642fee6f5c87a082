//! The built-in checks: gitops-engine's Go checks and the Argo CD customizations Windlass
//! builds in (Rollout, Application), rewritten from their rules.
//!
//! Each typed check reads the object through a small serde view holding only the fields
//! the rule needs, so a field of the wrong type fails the way Go's unstructured-to-typed
//! conversion does (`Unknown`, "failed to convert unstructured X to typed: ..."), while
//! fields the rule does not read cost nothing.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Gvk, HealthStatusCode, ResourceHealth};
use HealthStatusCode::{Degraded, Healthy, Progressing, Suspended, Unknown};

/// Argo CD's message when a (Lua) check yields a status that is not a health code; the
/// Rollout and Application checks were Lua scripts in Argo CD, so users see this text.
pub(crate) const INVALID_HEALTH_STATUS: &str = "Lua returned an invalid health status";

/// The argocd hook annotation and the ignore-restart-policy annotation.
const ANNOTATION_HOOK: &str = "argocd.argoproj.io/hook";
const ANNOTATION_HELM_HOOK: &str = "helm.sh/hook";
const ANNOTATION_IGNORE_RESTART_POLICY: &str = "argocd.argoproj.io/ignore-restart-policy";

type CheckResult = Result<ResourceHealth, String>;

/// The built-in check for `gvk`, or `None` when Argo has none for the kind.
pub(crate) fn check(gvk: &Gvk<'_>, obj: &Value) -> Option<ResourceHealth> {
    let result = match (gvk.group, gvk.kind) {
        ("apps", "Deployment") => typed(gvk, obj, &["v1"], "Deployment", deployment),
        ("apps", "StatefulSet") => typed(gvk, obj, &["v1"], "StatefulSet", statefulset),
        ("apps", "ReplicaSet") => typed(gvk, obj, &["v1"], "ReplicaSet", replicaset),
        ("apps", "DaemonSet") => typed(gvk, obj, &["v1"], "DaemonSet", daemonset),
        ("extensions" | "networking.k8s.io", "Ingress") => Ok(ingress(obj)),
        ("argoproj.io", "Workflow") => Ok(workflow(obj)),
        ("argoproj.io", "Rollout") => Ok(rollout(obj)),
        ("argoproj.io", "Application") => Ok(application(obj)),
        ("apiregistration.k8s.io", "APIService") => {
            typed(gvk, obj, &["v1", "v1beta1"], "APIService", apiservice)
        }
        ("", "Service") => typed(gvk, obj, &["v1"], "Service", service),
        ("", "PersistentVolumeClaim") => typed(gvk, obj, &["v1"], "PersistentVolumeClaim", pvc),
        ("", "Pod") => typed(gvk, obj, &["v1"], "Pod", |p: Pod| pod(p, is_hook(obj))),
        ("batch", "Job") => typed(gvk, obj, &["v1"], "Job", job),
        ("autoscaling", "HorizontalPodAutoscaler") => hpa(gvk, obj),
        _ => return None,
    };
    Some(result.unwrap_or_else(|message| ResourceHealth::new(Unknown, message)))
}

/// Reads `obj` as `T` for the versions gitops-engine supports, then applies `rule`.
fn typed<T: DeserializeOwned>(
    gvk: &Gvk<'_>,
    obj: &Value,
    versions: &[&str],
    what: &str,
    rule: impl FnOnce(T) -> ResourceHealth,
) -> CheckResult {
    if !versions.contains(&gvk.version) {
        return Err(format!("unsupported {what} GVK: {gvk}"));
    }
    let typed = T::deserialize(obj)
        .map_err(|e| format!("failed to convert unstructured {what} to typed: {e}"))?;
    Ok(rule(typed))
}

// --- shared shapes ------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Meta {
    name: Option<String>,
    generation: Option<i64>,
    annotations: Option<std::collections::BTreeMap<String, String>>,
}

impl Meta {
    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
    fn generation(&self) -> i64 {
        self.generation.unwrap_or_default()
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Condition {
    #[serde(rename = "type")]
    type_: Option<String>,
    status: Option<String>,
    reason: Option<String>,
    message: Option<String>,
}

impl Condition {
    fn is(&self, type_: &str) -> bool {
        self.type_.as_deref() == Some(type_)
    }
    fn status(&self) -> &str {
        self.status.as_deref().unwrap_or_default()
    }
    fn reason(&self) -> &str {
        self.reason.as_deref().unwrap_or_default()
    }
    fn message(&self) -> &str {
        self.message.as_deref().unwrap_or_default()
    }
}

fn n(v: Option<i64>) -> i64 {
    v.unwrap_or_default()
}

// --- apps/v1 Deployment -------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Deployment {
    metadata: Option<Meta>,
    spec: Option<DeploymentSpec>,
    status: Option<DeploymentStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DeploymentSpec {
    replicas: Option<i64>,
    paused: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DeploymentStatus {
    observed_generation: Option<i64>,
    replicas: Option<i64>,
    updated_replicas: Option<i64>,
    available_replicas: Option<i64>,
    conditions: Option<Vec<Condition>>,
}

fn deployment(d: Deployment) -> ResourceHealth {
    let meta = d.metadata.unwrap_or_default();
    let spec = d.spec.unwrap_or_default();
    let status = d.status.unwrap_or_default();
    if spec.paused == Some(true) {
        return ResourceHealth::new(Suspended, "Deployment is paused");
    }
    // kubectl's rollout status rules.
    if meta.generation() > n(status.observed_generation) {
        return ResourceHealth::new(
            Progressing,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        );
    }
    let progressing = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.is("Progressing"));
    let updated = n(status.updated_replicas);
    let available = n(status.available_replicas);
    if progressing.is_some_and(|c| c.reason() == "ProgressDeadlineExceeded") {
        return ResourceHealth::new(
            Degraded,
            format!(
                "Deployment {:?} exceeded its progress deadline",
                meta.name()
            ),
        );
    }
    if let Some(desired) = spec.replicas
        && updated < desired
    {
        return ResourceHealth::new(
            Progressing,
            format!(
                "Waiting for rollout to finish: {updated} out of {desired} new replicas have been updated..."
            ),
        );
    }
    let replicas = n(status.replicas);
    if replicas > updated {
        return ResourceHealth::new(
            Progressing,
            format!(
                "Waiting for rollout to finish: {} old replicas are pending termination...",
                replicas - updated
            ),
        );
    }
    if available < updated {
        return ResourceHealth::new(
            Progressing,
            format!(
                "Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
            ),
        );
    }
    ResourceHealth::status(Healthy)
}

// --- apps/v1 StatefulSet ------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StatefulSet {
    metadata: Option<Meta>,
    spec: Option<StatefulSetSpec>,
    status: Option<StatefulSetStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StatefulSetSpec {
    replicas: Option<i64>,
    update_strategy: Option<UpdateStrategy>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct UpdateStrategy {
    #[serde(rename = "type")]
    type_: Option<String>,
    rolling_update: Option<RollingUpdate>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RollingUpdate {
    partition: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StatefulSetStatus {
    observed_generation: Option<i64>,
    ready_replicas: Option<i64>,
    updated_replicas: Option<i64>,
    current_replicas: Option<i64>,
    update_revision: Option<String>,
    current_revision: Option<String>,
}

fn statefulset(s: StatefulSet) -> ResourceHealth {
    let meta = s.metadata.unwrap_or_default();
    let spec = s.spec.unwrap_or_default();
    let status = s.status.unwrap_or_default();
    let observed = n(status.observed_generation);
    if observed == 0 || meta.generation() > observed {
        return ResourceHealth::new(
            Progressing,
            "Waiting for statefulset spec update to be observed...",
        );
    }
    let ready = n(status.ready_replicas);
    if let Some(desired) = spec.replicas
        && ready < desired
    {
        return ResourceHealth::new(
            Progressing,
            format!("Waiting for {} pods to be ready...", desired - ready),
        );
    }
    let strategy = spec.update_strategy.unwrap_or_default();
    let updated = n(status.updated_replicas);
    match (strategy.type_.as_deref(), strategy.rolling_update) {
        (Some("RollingUpdate"), Some(rolling)) => {
            if let (Some(desired), Some(partition)) = (spec.replicas, rolling.partition)
                && updated < desired - partition
            {
                return ResourceHealth::new(
                    Progressing,
                    format!(
                        "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                        desired - partition
                    ),
                );
            }
            ResourceHealth::new(
                Healthy,
                format!("partitioned roll out complete: {updated} new pods have been updated..."),
            )
        }
        (Some("OnDelete"), _) => {
            ResourceHealth::new(Healthy, format!("statefulset has {ready} ready pods"))
        }
        _ => {
            let update_rev = status.update_revision.unwrap_or_default();
            let current_rev = status.current_revision.unwrap_or_default();
            if update_rev != current_rev {
                return ResourceHealth::new(
                    Progressing,
                    format!(
                        "waiting for statefulset rolling update to complete {updated} pods at revision {update_rev}..."
                    ),
                );
            }
            ResourceHealth::new(
                Healthy,
                format!(
                    "statefulset rolling update complete {} pods at revision {current_rev}...",
                    n(status.current_replicas)
                ),
            )
        }
    }
}

// --- apps/v1 DaemonSet --------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DaemonSet {
    metadata: Option<Meta>,
    spec: Option<DaemonSetSpec>,
    status: Option<DaemonSetStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DaemonSetSpec {
    update_strategy: Option<UpdateStrategy>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DaemonSetStatus {
    observed_generation: Option<i64>,
    updated_number_scheduled: Option<i64>,
    desired_number_scheduled: Option<i64>,
    number_available: Option<i64>,
}

fn daemonset(d: DaemonSet) -> ResourceHealth {
    let meta = d.metadata.unwrap_or_default();
    let spec = d.spec.unwrap_or_default();
    let status = d.status.unwrap_or_default();
    if meta.generation() > n(status.observed_generation) {
        return ResourceHealth::new(
            Progressing,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        );
    }
    let updated = n(status.updated_number_scheduled);
    let desired = n(status.desired_number_scheduled);
    let available = n(status.number_available);
    let strategy = spec.update_strategy.unwrap_or_default();
    if strategy.type_.as_deref() == Some("OnDelete") {
        return ResourceHealth::new(
            Healthy,
            format!("daemon set {updated} out of {desired} new pods have been updated"),
        );
    }
    if updated < desired {
        return ResourceHealth::new(
            Progressing,
            format!(
                "Waiting for daemon set {:?} rollout to finish: {updated} out of {desired} new pods have been updated...",
                meta.name()
            ),
        );
    }
    if available < desired {
        return ResourceHealth::new(
            Progressing,
            format!(
                "Waiting for daemon set {:?} rollout to finish: {available} of {desired} updated pods are available...",
                meta.name()
            ),
        );
    }
    ResourceHealth::status(Healthy)
}

// --- apps/v1 ReplicaSet -------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ReplicaSet {
    metadata: Option<Meta>,
    spec: Option<DeploymentSpec>,
    status: Option<DeploymentStatus>,
}

fn replicaset(r: ReplicaSet) -> ResourceHealth {
    let meta = r.metadata.unwrap_or_default();
    let spec = r.spec.unwrap_or_default();
    let status = r.status.unwrap_or_default();
    if meta.generation() > n(status.observed_generation) {
        return ResourceHealth::new(
            Progressing,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        );
    }
    let failure = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.is("ReplicaFailure"));
    if let Some(c) = failure
        && c.status() == "True"
    {
        return ResourceHealth::new(Degraded, c.message());
    }
    let available = n(status.available_replicas);
    if let Some(desired) = spec.replicas
        && available < desired
    {
        return ResourceHealth::new(
            Progressing,
            format!(
                "Waiting for rollout to finish: {available} out of {desired} new replicas are available..."
            ),
        );
    }
    ResourceHealth::status(Healthy)
}

// --- v1 Pod -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Pod {
    metadata: Option<Meta>,
    spec: Option<PodSpec>,
    status: Option<PodStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PodSpec {
    restart_policy: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PodStatus {
    phase: Option<String>,
    message: Option<String>,
    conditions: Option<Vec<Condition>>,
    init_container_statuses: Option<Vec<ContainerStatus>>,
    container_statuses: Option<Vec<ContainerStatus>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ContainerStatus {
    name: Option<String>,
    state: Option<ContainerState>,
    last_state: Option<ContainerState>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ContainerState {
    waiting: Option<Waiting>,
    terminated: Option<Terminated>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Waiting {
    reason: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Terminated {
    reason: Option<String>,
    message: Option<String>,
    exit_code: Option<i64>,
}

/// gitops-engine's `hook.IsHook`: an Argo hook annotation that is not only `Skip`, or a
/// Helm hook other than `crd-install`.
pub(crate) fn is_hook(obj: &Value) -> bool {
    let annotations = &obj["metadata"]["annotations"];
    if let Some(value) = annotations.get(ANNOTATION_HOOK) {
        let value = value.as_str().unwrap_or_default();
        let mut types: Vec<&str> = Vec::new();
        for t in value.split(',').map(str::trim) {
            let known = matches!(t, "PreSync" | "Sync" | "PostSync" | "SyncFail" | "Skip");
            if known && !types.contains(&t) {
                types.push(t);
            }
        }
        if types.is_empty() {
            // No Argo hook type: Helm's hook annotation decides the types; Skip cannot be one.
            return true;
        }
        let skip_only = types == ["Skip"];
        return !skip_only;
    }
    annotations
        .get(ANNOTATION_HELM_HOOK)
        .is_some_and(|v| v.as_str() != Some("crd-install"))
}

fn pod(p: Pod, is_hook: bool) -> ResourceHealth {
    let meta = p.metadata.unwrap_or_default();
    let spec = p.spec.unwrap_or_default();
    let status = p.status.unwrap_or_default();
    let policy = spec.restart_policy.as_deref().unwrap_or_default();
    let message = status.message.clone().unwrap_or_default();
    let ignore_restart_policy =
        meta.annotation(ANNOTATION_IGNORE_RESTART_POLICY) == Some("true") && !is_hook;
    let long_running = policy == "Always" || ignore_restart_policy;
    let containers = status.container_statuses.unwrap_or_default();

    if long_running {
        // Containers waiting on an error (CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
        // CreateContainerConfigError...) make the Pod Degraded; hooks with a finite restart
        // policy are spared so a transient pull error does not fail the hook.
        let errors: Vec<&str> = containers
            .iter()
            .filter_map(|c| c.state.as_ref()?.waiting.as_ref())
            .filter(|w| {
                let reason = w.reason.as_deref().unwrap_or_default();
                reason.starts_with("Err")
                    || reason.ends_with("Error")
                    || reason.ends_with("BackOff")
            })
            .map(|w| w.message.as_deref().unwrap_or_default())
            .collect();
        if !errors.is_empty() {
            return ResourceHealth::new(Degraded, errors.join(", "));
        }
    }

    match status.phase.as_deref().unwrap_or_default() {
        "Pending" => ResourceHealth::new(Progressing, message),
        "Succeeded" => ResourceHealth::new(Healthy, message),
        "Failed" => {
            if !message.is_empty() {
                return ResourceHealth::new(Degraded, message);
            }
            let init = status.init_container_statuses.unwrap_or_default();
            let reason = init
                .iter()
                .chain(containers.iter())
                .map(fail_message)
                .find(|m| !m.is_empty())
                .unwrap_or_default();
            ResourceHealth::new(Degraded, reason)
        }
        "Running" if long_running => {
            let ready = status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.is("Ready") && c.status() == "True");
            if ready {
                return ResourceHealth::new(Healthy, message);
            }
            let restarted = containers.iter().any(|c| {
                c.last_state
                    .as_ref()
                    .is_some_and(|s| s.terminated.is_some())
            });
            if restarted {
                return ResourceHealth::new(Degraded, message);
            }
            ResourceHealth::new(Progressing, message)
        }
        // Pods meant to finish (typically hooks) are Progressing until they succeed.
        "Running" if policy == "OnFailure" || policy == "Never" => {
            ResourceHealth::new(Progressing, message)
        }
        _ => ResourceHealth::new(Unknown, message),
    }
}

fn fail_message(c: &ContainerStatus) -> String {
    let Some(t) = c.state.as_ref().and_then(|s| s.terminated.as_ref()) else {
        return String::new();
    };
    if let Some(m) = t.message.as_deref().filter(|m| !m.is_empty()) {
        return m.to_owned();
    }
    if t.reason.as_deref() == Some("OOMKilled") {
        return "OOMKilled".to_owned();
    }
    match t.exit_code.unwrap_or_default() {
        0 => String::new(),
        code => format!(
            "container {:?} failed with exit code {code}",
            c.name.as_deref().unwrap_or_default()
        ),
    }
}

// --- v1 Service, Ingress ------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Service {
    spec: Option<ServiceSpec>,
    status: Option<ServiceStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ServiceSpec {
    #[serde(rename = "type")]
    type_: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ServiceStatus {
    load_balancer: Option<LoadBalancerStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct LoadBalancerStatus {
    ingress: Option<Vec<serde::de::IgnoredAny>>,
}

fn service(s: Service) -> ResourceHealth {
    let is_lb = s.spec.and_then(|s| s.type_).as_deref() == Some("LoadBalancer");
    let assigned = s
        .status
        .and_then(|s| s.load_balancer)
        .and_then(|l| l.ingress)
        .is_some_and(|i| !i.is_empty());
    if is_lb && !assigned {
        ResourceHealth::status(Progressing)
    } else {
        ResourceHealth::status(Healthy)
    }
}

fn ingress(obj: &Value) -> ResourceHealth {
    let assigned = obj["status"]["loadBalancer"]["ingress"]
        .as_array()
        .is_some_and(|i| !i.is_empty());
    ResourceHealth::status(if assigned { Healthy } else { Progressing })
}

// --- v1 PersistentVolumeClaim -------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Pvc {
    status: Option<PhaseStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PhaseStatus {
    phase: Option<String>,
}

fn pvc(p: Pvc) -> ResourceHealth {
    let status = match p.status.and_then(|s| s.phase).as_deref() {
        Some("Lost") => Degraded,
        Some("Pending") => Progressing,
        Some("Bound") => Healthy,
        _ => Unknown,
    };
    ResourceHealth::status(status)
}

// --- batch/v1 Job -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Job {
    status: Option<ConditionsStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ConditionsStatus {
    conditions: Option<Vec<Condition>>,
}

fn job(j: Job) -> ResourceHealth {
    let (mut failed, mut complete, mut suspended) = (false, false, false);
    let (mut fail_message, mut message) = (String::new(), String::new());
    // As in gitops-engine, Failed and Complete count whatever their status.
    for c in j.status.and_then(|s| s.conditions).unwrap_or_default() {
        match c.type_.as_deref() {
            Some("Failed") => {
                failed = true;
                complete = true;
                fail_message = c.message().to_owned();
            }
            Some("Complete") => {
                complete = true;
                message = c.message().to_owned();
            }
            Some("Suspended") => {
                complete = true;
                message = c.message().to_owned();
                suspended |= c.status() == "True";
            }
            _ => {}
        }
    }
    if !complete {
        ResourceHealth::new(Progressing, message)
    } else if failed {
        ResourceHealth::new(Degraded, fail_message)
    } else if suspended {
        ResourceHealth::new(Suspended, message)
    } else {
        ResourceHealth::new(Healthy, message)
    }
}

// --- apiregistration.k8s.io APIService ----------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ApiService {
    status: Option<ConditionsStatus>,
}

fn apiservice(a: ApiService) -> ResourceHealth {
    let conditions = a.status.and_then(|s| s.conditions).unwrap_or_default();
    match conditions.iter().find(|c| c.is("Available")) {
        Some(c) => ResourceHealth::new(
            if c.status() == "True" {
                Healthy
            } else {
                Progressing
            },
            format!("{}: {}", c.reason(), c.message()),
        ),
        None => ResourceHealth::new(Progressing, "Waiting to be processed"),
    }
}

// --- autoscaling HorizontalPodAutoscaler --------------------------------------------------

const HPA_CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Hpa {
    metadata: Option<Meta>,
    status: Option<ConditionsStatus>,
}

fn hpa(gvk: &Gvk<'_>, obj: &Value) -> CheckResult {
    let convert =
        |e: serde_json::Error| format!("failed to convert unstructured HPA to typed: {e}");
    let conditions = match gvk.version {
        // v1 has no conditions field: the controller writes them to an annotation.
        "v1" => {
            let hpa = Hpa::deserialize(obj).map_err(convert)?;
            let meta = hpa.metadata.unwrap_or_default();
            let Some(annotation) = meta.annotation(HPA_CONDITIONS_ANNOTATION) else {
                return Ok(hpa_waiting());
            };
            let conditions: Option<Vec<Condition>> = serde_json::from_str(annotation)
                .map_err(|e| format!("failed to convert conditions annotation to typed: {e}"))?;
            conditions.unwrap_or_default()
        }
        "v2" => {
            let hpa = Hpa::deserialize(obj).map_err(convert)?;
            hpa.status.and_then(|s| s.conditions).unwrap_or_default()
        }
        _ => return Err(format!("unsupported HPA GVK: {gvk}")),
    };
    const DEGRADED: [(&str, &str); 8] = [
        ("AbleToScale", "FailedGetScale"),
        ("AbleToScale", "FailedUpdateScale"),
        ("ScalingActive", "FailedGetResourceMetric"),
        ("ScalingActive", "FailedGetObjectMetric"),
        ("ScalingActive", "FailedGetPodsMetric"),
        ("ScalingActive", "FailedGetExternalMetric"),
        ("ScalingActive", "FailedComputeMetricsReplicas"),
        ("ScalingActive", "InvalidSelector"),
    ];
    let type_of = |c: &Condition| c.type_.clone().unwrap_or_default();
    if let Some(c) = conditions
        .iter()
        .find(|c| DEGRADED.contains(&(type_of(c).as_str(), c.reason())))
    {
        return Ok(ResourceHealth::new(Degraded, c.message()));
    }
    if let Some(c) = conditions
        .iter()
        .find(|c| (c.is("AbleToScale") || c.is("ScalingLimited")) && c.status() == "True")
    {
        return Ok(ResourceHealth::new(Healthy, c.message()));
    }
    Ok(hpa_waiting())
}

fn hpa_waiting() -> ResourceHealth {
    ResourceHealth::new(Progressing, "Waiting to Autoscale")
}

// --- argoproj.io Workflow -----------------------------------------------------------------

fn workflow(obj: &Value) -> ResourceHealth {
    let phase = obj["status"]["phase"].as_str().unwrap_or_default();
    let message = obj["status"]["message"].as_str().unwrap_or_default();
    let status = match phase {
        "" | "Pending" | "Running" => Progressing,
        "Succeeded" => Healthy,
        "Failed" | "Error" => Degraded,
        _ => Unknown,
    };
    ResourceHealth::new(status, message)
}

// --- argoproj.io Application (app of apps) ------------------------------------------------

/// The check Argo CD documents for app-of-apps since 1.8: the child's own
/// `status.health`, Progressing until it has one.
fn application(obj: &Value) -> ResourceHealth {
    let health = &obj["status"]["health"];
    if !health.is_object() {
        return ResourceHealth::status(Progressing);
    }
    let message = health["message"].as_str().unwrap_or_default();
    match parse_code(&health["status"]) {
        Some(status) => ResourceHealth::new(status, message),
        None => ResourceHealth::new(Unknown, INVALID_HEALTH_STATUS),
    }
}

fn parse_code(v: &Value) -> Option<HealthStatusCode> {
    Some(match v.as_str()? {
        "Healthy" => Healthy,
        "Suspended" => Suspended,
        "Progressing" => Progressing,
        "Missing" => HealthStatusCode::Missing,
        "Degraded" => Degraded,
        "Unknown" => Unknown,
        _ => return None,
    })
}

// --- argoproj.io Rollout ------------------------------------------------------------------

/// A field as Lua sees it: JSON null is nil.
fn lua<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

/// Lua's `tonumber`: numbers, and strings that read as numbers.
fn to_number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => i64::from_str_radix(hex, 16).ok().map(|i| i as f64),
                None => s.parse::<f64>().ok().filter(|f| f.is_finite()),
            }
        }
        _ => None,
    }
}

fn number_or(v: Option<&Value>, default: f64) -> f64 {
    v.and_then(Value::as_f64).unwrap_or(default)
}

/// Argo CD's bundled Rollout health (resource_customizations/argoproj.io/Rollout).
fn rollout(obj: &Value) -> ResourceHealth {
    let status = lua(obj, &["status"]);
    let generation = number_or(lua(obj, &["metadata", "generation"]), 0.0);
    // Rollouts ≥ v0.10 write a numeric observedGeneration; older ones a hash, which
    // counts as observed.
    let generation_observed = status.is_some()
        && match to_number(lua(obj, &["status", "observedGeneration"])) {
            None => true,
            Some(observed) if observed > generation => true,
            Some(observed) => observed == generation,
        };
    // Rollouts with a workloadRef (v1.1) record the referenced workload's generation.
    let workload_observed = lua(obj, &["spec", "workloadRef"]).is_none()
        || lua(obj, &["metadata", "annotations"]).is_none()
        || to_number(lua(
            obj,
            &[
                "metadata",
                "annotations",
                "rollout.argoproj.io/workload-generation",
            ],
        )) == to_number(lua(obj, &["status", "workloadObservedGeneration"]));
    if !generation_observed || !workload_observed {
        return ResourceHealth::new(
            Progressing,
            "Waiting for rollout spec update to be observed",
        );
    }
    let Some(status) = status else {
        return ResourceHealth::new(
            Progressing,
            "Waiting for rollout spec update to be observed",
        );
    };

    // Rollouts ≥ v1.0 record a phase and message that Argo CD surfaces as they are.
    if let Some(phase) = lua(status, &["phase"]) {
        let message = lua(status, &["message"])
            .and_then(Value::as_str)
            .unwrap_or_default();
        let code = if phase.as_str() == Some("Paused") {
            Some(Suspended)
        } else {
            parse_code(phase)
        };
        return match code {
            Some(code) => ResourceHealth::new(code, message),
            None => ResourceHealth::new(Unknown, INVALID_HEALTH_STATUS),
        };
    }

    let conditions = lua(status, &["conditions"])
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for c in conditions {
        let type_ = c["type"].as_str();
        let reason = c["reason"].as_str();
        let degraded = type_ == Some("InvalidSpec")
            || (type_ == Some("Progressing")
                && matches!(reason, Some("RolloutAborted" | "ProgressDeadlineExceeded")));
        if degraded {
            return ResourceHealth::new(Degraded, c["message"].as_str().unwrap_or_default());
        }
    }

    let pause_conditions = lua(status, &["pauseConditions"])
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty());
    if pause_conditions || lua(obj, &["spec", "paused"]).and_then(Value::as_bool) == Some(true) {
        return ResourceHealth::new(Suspended, "Rollout is paused");
    }

    let Some(current_pod_hash) = lua(status, &["currentPodHash"]) else {
        return ResourceHealth::new(
            Progressing,
            "Waiting for rollout to finish: status has not been reconciled.",
        );
    };

    let desired = number_or(lua(obj, &["spec", "replicas"]), 1.0);
    let replicas = number_or(lua(status, &["replicas"]), 0.0);
    let updated = number_or(lua(status, &["updatedReplicas"]), 0.0);
    let available = number_or(lua(status, &["availableReplicas"]), 0.0);
    if updated < desired {
        return ResourceHealth::new(
            Progressing,
            "Waiting for roll out to finish: More replicas need to be updated",
        );
    }
    if available < updated {
        return ResourceHealth::new(
            Progressing,
            "Waiting for roll out to finish: updated replicas are still becoming available",
        );
    }

    // v0.8 moved status.canary.stableRS to status.stableRS.
    let stable_rs = lua(status, &["stableRS"]).or_else(|| lua(status, &["canary", "stableRS"]));
    let empty = Value::String(String::new());
    let stable_rs = stable_rs.unwrap_or(&empty);
    if lua(obj, &["spec", "strategy", "blueGreen"]).is_some() {
        if lua(status, &["blueGreen", "activeSelector"]) != Some(current_pod_hash) {
            return ResourceHealth::new(Progressing, "active service cutover pending");
        }
        if *stable_rs != empty && stable_rs != current_pod_hash {
            return ResourceHealth::new(Progressing, "waiting for analysis to complete");
        }
    } else if lua(obj, &["spec", "strategy", "canary"]).is_some() {
        if replicas > updated {
            return ResourceHealth::new(
                Progressing,
                "Waiting for roll out to finish: old replicas are pending termination",
            );
        }
        if *stable_rs == empty || stable_rs != current_pod_hash {
            return ResourceHealth::new(Progressing, "Waiting for rollout to finish steps");
        }
    }
    ResourceHealth::status(Healthy)
}
