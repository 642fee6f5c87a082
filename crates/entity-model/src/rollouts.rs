//! Argo Rollouts kinds (`argoproj.io/v1alpha1`): `Rollout`, `AnalysisTemplate`,
//! `ClusterAnalysisTemplate`, `AnalysisRun` and `Experiment`.
//!
//! Field names and types follow Argo Rollouts' Go types
//! (`pkg/apis/rollouts/v1alpha1/{types,analysis_types,experiment_types}.go`); scope, short
//! names and printer columns follow its CRDs (`manifests/crds/*.yaml`). Validation follows
//! `pkg/apis/rollouts/validation` and `utils/analysis` / `utils/conditions` of Argo Rollouts.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{AnyString, Extra};
use crate::path::FieldPath;
use crate::validate::{Validate, Violations};

/// Schema of a Kubernetes `LabelSelector` (k8s-openapi is built without its schemars feature).
fn label_selector_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "properties": {
            "matchLabels": { "type": "object", "additionalProperties": { "type": "string" } },
            "matchExpressions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "operator"],
                    "properties": {
                        "key": { "type": "string" },
                        "operator": { "type": "string" },
                        "values": { "type": "array", "items": { "type": "string" } }
                    }
                }
            }
        },
        "x-kubernetes-map-type": "atomic"
    })
}

// ---------------------------------------------------------------------------------------------
// Rollout
// ---------------------------------------------------------------------------------------------

/// Desired state of a [`Rollout`]: a Deployment-like workload with canary or blue-green updates.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "Rollout",
    plural = "rollouts",
    shortname = "ro",
    namespaced,
    status = "RolloutStatus",
    derive = "PartialEq",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.HPAReplicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn = r#"{"name":"Desired","type":"integer","jsonPath":".spec.replicas","description":"Number of desired pods"}"#,
    printcolumn = r#"{"name":"Current","type":"integer","jsonPath":".status.replicas","description":"Total number of non-terminated pods targeted by this rollout"}"#,
    printcolumn = r#"{"name":"Up-to-date","type":"integer","jsonPath":".status.updatedReplicas","description":"Total number of non-terminated pods targeted by this rollout that have the desired template spec"}"#,
    printcolumn = r#"{"name":"Available","type":"integer","jsonPath":".status.availableReplicas","description":"Total number of available pods (ready for at least minReadySeconds) targeted by this rollout"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp","description":"Time since resource was created"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSpec {
    /// Number of desired pods (defaults to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Label selector for the pods; must match the pod template's labels. Required unless `workloadRef` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "label_selector_schema")]
    pub selector: Option<LabelSelector>,
    /// The pods that will be created: a Kubernetes PodTemplateSpec, kept as written.
    /// Required unless `workloadRef` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub template: Option<serde_json::Value>,
    /// Reference to a workload (e.g. a Deployment) that provides the pod template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_ref: Option<ObjectRef>,
    /// Minimum seconds a new pod must be ready without crashing to be considered available (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// The window in which a rollback will be fast tracked (fully promoted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_window: Option<RollbackWindowSpec>,
    /// The deployment strategy used to replace old pods with new ones: `canary` or `blueGreen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<RolloutStrategy>,
    /// Number of old ReplicaSets to retain (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
    /// Pauses the rollout at its current step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// Maximum seconds for the rollout to make progress before it is considered failed (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline_seconds: Option<i32>,
    /// Whether to abort the update when `progressDeadlineSeconds` is exceeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline_abort: Option<bool>,
    /// When all the pods of the Rollout should be restarted (RFC 3339 timestamp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_at: Option<String>,
    /// How many finished AnalysisRuns and Experiments to retain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisRunStrategy>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A reference to the Kubernetes object that provides a Rollout's pod template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// API version of the referent (e.g. `apps/v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent (e.g. `Deployment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether and how to scale down the referenced Deployment: `never`, `onsuccess` or `progressively`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<String>,
}

/// The window in which a rollback is fast tracked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollbackWindowSpec {
    /// Number of revisions within which a rollback is fast tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions: Option<i32>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Retention of finished AnalysisRuns and Experiments.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRunStrategy {
    /// Number of old successful analysis runs and experiments to retain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successful_run_history_limit: Option<i32>,
    /// Number of old unsuccessful (Error, Failed, Inconclusive) analysis runs and experiments to retain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsuccessful_run_history_limit: Option<i32>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The update strategy of a Rollout: exactly one of `canary` or `blueGreen`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStrategy {
    /// Blue-green update: a preview stack is brought up, then the active service is switched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<BlueGreenStrategy>,
    /// Canary update: traffic or replicas are shifted to the new version step by step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryStrategy>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parameters of a blue-green update.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenStrategy {
    /// Name of the service the rollout modifies as the active service (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_service: Option<String>,
    /// Name of the service the rollout modifies as the preview service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_service: Option<String>,
    /// Number of replicas to run for the preview stack before the switchover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_replica_count: Option<i32>,
    /// Whether to promote the new ReplicaSet automatically (default true) or pause first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_promotion_enabled: Option<bool>,
    /// Seconds to wait before auto-promotion, once the preview ReplicaSet is fully available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_promotion_seconds: Option<i32>,
    /// Maximum number (or percentage) of pods that can be unavailable during the update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<AnyString>,
    /// Delay in seconds before scaling down the previous ReplicaSet (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_delay_seconds: Option<i32>,
    /// Number of old ReplicaSets that may run at one time before getting scaled down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_delay_revision_limit: Option<i32>,
    /// Analysis to run before the active service is switched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_promotion_analysis: Option<RolloutAnalysis>,
    /// Anti-affinity rules injected between the old and new pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_affinity: Option<AntiAffinity>,
    /// Analysis to run after the active service is switched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_promotion_analysis: Option<RolloutAnalysis>,
    /// Labels and annotations attached to the preview pods while they are the preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_metadata: Option<PodTemplateMetadata>,
    /// Labels and annotations attached to the active pods while they are active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_metadata: Option<PodTemplateMetadata>,
    /// Delay in seconds before scaling down the preview ReplicaSet after an abort; 0 means never (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_scale_down_delay_seconds: Option<i32>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Which inter-pod scheduling rule to inject for anti-affinity (exactly one).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AntiAffinity {
    /// Inject a preferred anti-affinity rule with the given weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_during_scheduling_ignored_during_execution:
        Option<PreferredDuringSchedulingIgnoredDuringExecution>,
    /// Inject a required anti-affinity rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_during_scheduling_ignored_during_execution:
        Option<RequiredDuringSchedulingIgnoredDuringExecution>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A preferred anti-affinity rule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreferredDuringSchedulingIgnoredDuringExecution {
    /// Weight of the injected rule, 1 to 100.
    pub weight: i32,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A required anti-affinity rule (no parameters).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequiredDuringSchedulingIgnoredDuringExecution {
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Labels and annotations added to pods (or to an experiment's ReplicaSet).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateMetadata {
    /// Additional labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Additional annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Labels and annotations added to the AnalysisRuns a Rollout or Experiment creates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRunMetadata {
    /// Additional labels for the AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Additional annotations for the AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parameters of a canary update.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStrategy {
    /// Service that selects only the canary pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_service: Option<String>,
    /// Service that selects only the stable pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_service: Option<String>,
    /// The steps of the canary update, run in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<CanaryStep>>,
    /// Service mesh or ingress used for fine-grained traffic routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_routing: Option<RolloutTrafficRouting>,
    /// Maximum number (or percentage) of pods that can be unavailable during the update (default 25%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<AnyString>,
    /// Maximum number (or percentage) of pods above the desired count during the update (default 25%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<AnyString>,
    /// Background analysis run while all the steps execute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<RolloutAnalysisBackground>,
    /// Anti-affinity rules injected between the canary and stable pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_affinity: Option<AntiAffinity>,
    /// Labels and annotations attached to the canary pods while they are the canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_metadata: Option<PodTemplateMetadata>,
    /// Labels and annotations attached to the stable pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_metadata: Option<PodTemplateMetadata>,
    /// Delay before scaling down the previous ReplicaSet with traffic routing (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_delay_seconds: Option<i32>,
    /// Number of old ReplicaSets that may run at one time before getting scaled down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_delay_revision_limit: Option<i32>,
    /// Delay before scaling down the canary pods after an abort; 0 means never (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_scale_down_delay_seconds: Option<i32>,
    /// Scale the stable ReplicaSet down as traffic shifts to the canary (traffic routing only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_stable_scale: Option<bool>,
    /// Ping and pong services, used instead of canary and stable services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_pong: Option<PingPongSpec>,
    /// Minimum pods per non-empty ReplicaSet, for high availability (traffic-routed canary only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_pods_per_replica_set: Option<i32>,
    /// Number or percentage of pods that must be available before promotion to the next step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_progress_threshold: Option<ReplicaProgressThreshold>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The ping and pong service names of the ping-pong feature.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PingPongSpec {
    /// Name of the ping service.
    pub ping_service: String,
    /// Name of the pong service.
    pub pong_service: String,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How [`ReplicaProgressThreshold::value`] is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProgressType {
    /// A percentage of the desired replicas.
    #[serde(rename = "Percent")]
    Percent,
    /// A number of pods.
    #[serde(rename = "Pods")]
    Pods,
}

/// Pods that must be available before the canary moves to the next step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaProgressThreshold {
    /// Whether `value` is a percentage or a number of pods.
    #[serde(rename = "type")]
    pub type_: ProgressType,
    /// The threshold; must be greater than 0.
    pub value: i32,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Traffic routing of a canary: one (or more) supported meshes, ingresses or plugins.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutTrafficRouting {
    /// Istio VirtualService / DestinationRule routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istio: Option<IstioTrafficRouting>,
    /// NGINX Ingress routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nginx: Option<NginxTrafficRouting>,
    /// AWS ALB Ingress routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alb: Option<AlbTrafficRouting>,
    /// SMI TrafficSplit routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smi: Option<SmiTrafficRouting>,
    /// Ambassador Mapping routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ambassador: Option<AmbassadorTrafficRouting>,
    /// AWS App Mesh routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_mesh: Option<AppMeshTrafficRouting>,
    /// Traefik routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traefik: Option<TraefikTrafficRouting>,
    /// HTTP routes Argo Rollouts manages, in precedence order (for header and mirror routes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_routes: Option<Vec<ManagedRoute>>,
    /// Apache APISIX routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apisix: Option<ApisixTrafficRouting>,
    /// Traffic router plugin configurations, keyed by plugin name; each kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub plugins: Option<BTreeMap<String, serde_json::Value>>,
    /// Total weight of traffic (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_traffic_weight: Option<i32>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An HTTP route managed by Argo Rollouts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedRoute {
    /// Name of the route.
    pub name: String,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Istio routing configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IstioTrafficRouting {
    /// The VirtualService to modify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_service: Option<IstioVirtualService>,
    /// The DestinationRule to modify (subset-level traffic splitting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_rule: Option<IstioDestinationRule>,
    /// Several VirtualServices to modify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_services: Option<Vec<IstioVirtualService>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An Istio VirtualService the rollout modifies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IstioVirtualService {
    /// Name of the VirtualService.
    pub name: String,
    /// HTTP routes to edit; if omitted, the VirtualService must have a single HTTP route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<Vec<String>>,
    /// TLS/HTTPS routes to edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_routes: Option<Vec<TlsRoute>>,
    /// TCP routes to edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_routes: Option<Vec<TcpRoute>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A TLS route of an Istio VirtualService, matched by port and SNI hosts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TlsRoute {
    /// Port of the TLS route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// SNI hosts of the TLS route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni_hosts: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A TCP route of an Istio VirtualService, matched by port.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TcpRoute {
    /// Port of the TCP route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An Istio DestinationRule the rollout modifies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IstioDestinationRule {
    /// Name of the DestinationRule.
    pub name: String,
    /// Subset whose labels track the canary ReplicaSet.
    pub canary_subset_name: String,
    /// Subset whose labels track the stable ReplicaSet.
    pub stable_subset_name: String,
    /// Further subsets not controlled by Argo Rollouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_subset_names: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// NGINX Ingress routing configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NginxTrafficRouting {
    /// Annotation prefix configured on the NGINX ingress controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_prefix: Option<String>,
    /// Name of the stable Ingress in the Rollout's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_ingress: Option<String>,
    /// Extra annotations for the canary Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_ingress_annotations: Option<BTreeMap<String, String>>,
    /// Names of several stable Ingresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_ingresses: Option<Vec<String>>,
    /// Annotations for the canary Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_ingress_annotations: Option<BTreeMap<String, String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// AWS ALB Ingress routing configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlbTrafficRouting {
    /// Name of the Ingress in the Rollout's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<String>,
    /// Port the Ingress action routes traffic to.
    pub service_port: i32,
    /// Service in the Ingress the controller adds the action to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_service: Option<String>,
    /// Annotation prefix configured on the ALB ingress controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_prefix: Option<String>,
    /// Duration-based stickiness of the target groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness_config: Option<StickinessConfig>,
    /// Names of several Ingresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingresses: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Target group stickiness of an ALB.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StickinessConfig {
    /// Whether stickiness is enabled.
    pub enabled: bool,
    /// Stickiness duration in seconds.
    pub duration_seconds: i64,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// SMI TrafficSplit routing configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmiTrafficRouting {
    /// Name of the service clients use to communicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_service: Option<String>,
    /// Name of the TrafficSplit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_split_name: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Ambassador routing configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AmbassadorTrafficRouting {
    /// Names of the Ambassador Mappings that route traffic to the service.
    pub mappings: Vec<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// AWS App Mesh routing configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppMeshTrafficRouting {
    /// The App Mesh VirtualService (and its VirtualRouter) to modify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_service: Option<AppMeshVirtualService>,
    /// The VirtualNodes the route targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_node_group: Option<AppMeshVirtualNodeGroup>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An App Mesh VirtualService the rollout modifies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppMeshVirtualService {
    /// Name of the VirtualService.
    pub name: String,
    /// HTTP routes of its VirtualRouter to edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The canary and stable VirtualNodes of an App Mesh route.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppMeshVirtualNodeGroup {
    /// VirtualNode whose labels track the canary ReplicaSet.
    pub canary_virtual_node_ref: AppMeshVirtualNodeReference,
    /// VirtualNode whose labels track the stable ReplicaSet.
    pub stable_virtual_node_ref: AppMeshVirtualNodeReference,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A reference to an App Mesh VirtualNode.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppMeshVirtualNodeReference {
    /// Name of the VirtualNode.
    pub name: String,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Traefik routing configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraefikTrafficRouting {
    /// Name of the weighted Traefik service that routes traffic to the service.
    pub weighted_traefik_service_name: String,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Apache APISIX routing configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApisixTrafficRouting {
    /// The APISIX Route to modify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<ApisixRoute>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An APISIX Route the rollout modifies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApisixRoute {
    /// Name of the APISIX Route.
    pub name: String,
    /// HTTP rules of the Route to edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One step of a canary update; Argo requires exactly one action per step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStep {
    /// Percentage of traffic (or replicas, without traffic routing) the canary receives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_weight: Option<i32>,
    /// Pause the rollout, for a duration or until resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<RolloutPause>,
    /// Run an Experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<RolloutExperimentStep>,
    /// Run an AnalysisRun and wait for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<RolloutAnalysis>,
    /// Scale the canary without changing the traffic weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_canary_scale: Option<SetCanaryScale>,
    /// Send all traffic with a matching header to the canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_header_route: Option<SetHeaderRoute>,
    /// Mirror matching traffic to the canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_mirror_route: Option<SetMirrorRoute>,
    /// Run a step plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginStep>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A pause step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutPause {
    /// How long to wait: seconds (`30`) or a duration string (`30s`, `5m`, `1h`); absent means until resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<AnyString>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Scale the canary without changing the traffic weight.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetCanaryScale {
    /// Percentage of replicas the canary should have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// Number of replicas the canary should have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Cancel a previous `replicas` or `weight`: scale to the traffic weight again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_traffic_weight: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A route sending all traffic with matching headers to the canary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetHeaderRoute {
    /// Name of the route; must be listed in `trafficRouting.managedRoutes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Header matches; absent removes the route.
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_: Option<Vec<HeaderRoutingMatch>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A request header match.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderRoutingMatch {
    /// Name of the request header.
    pub header_name: String,
    /// How the header value is matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_value: Option<StringMatch>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A string match: exactly one of `exact`, `prefix` or `regex`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StringMatch {
    /// The string must match exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    /// The string must start with this prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The string must match this regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A route mirroring matching traffic to the canary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetMirrorRoute {
    /// Name of the route; must be listed in `trafficRouting.managedRoutes`.
    pub name: String,
    /// Rules selecting the traffic to mirror; absent removes the route.
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_: Option<Vec<RouteMatch>>,
    /// Percentage of the matching traffic to mirror.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage: Option<i32>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Rules selecting HTTP requests by method, path and headers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteMatch {
    /// HTTP method to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<StringMatch>,
    /// URL path to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<StringMatch>,
    /// Request headers to match, by header name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, StringMatch>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A step run by a step plugin.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginStep {
    /// Name of the step plugin.
    pub name: String,
    /// Plugin configuration, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub config: Option<serde_json::Value>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Which ReplicaSet's pod template an experiment template uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ReplicaSetSpecRef {
    /// The new (canary) ReplicaSet's template.
    #[serde(rename = "canary")]
    Canary,
    /// The stable ReplicaSet's template.
    #[serde(rename = "stable")]
    Stable,
}

/// An Experiment run as a canary step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutExperimentStep {
    /// ReplicaSets to run in the experiment.
    pub templates: Vec<RolloutExperimentTemplate>,
    /// How long the experiment runs (`30s`, `5m`, `1h`); absent means until its analyses finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// AnalysisTemplates to run with the experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyses: Option<Vec<RolloutExperimentStepAnalysisTemplateRef>>,
    /// Metrics evaluated in dry-run mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<Vec<DryRun>>,
    /// Labels and annotations added to the AnalysisRuns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_run_metadata: Option<AnalysisRunMetadata>,
    /// Seconds to wait before scaling down the experiment's ReplicaSets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_delay_seconds: Option<i32>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An analysis run by an experiment step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutExperimentStepAnalysisTemplateRef {
    /// Name of this analysis within the experiment.
    pub name: String,
    /// Name of the AnalysisTemplate (or ClusterAnalysisTemplate) to run.
    pub template_name: String,
    /// Look the template up as a ClusterAnalysisTemplate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_scope: Option<bool>,
    /// Arguments passed to the AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<AnalysisRunArgument>>,
    /// Whether the experiment waits for this analysis before completing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_for_completion: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A ReplicaSet run by an experiment step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutExperimentTemplate {
    /// Name of the template.
    pub name: String,
    /// Which ReplicaSet's pod template to use: `canary` or `stable`.
    pub spec_ref: ReplicaSetSpecRef,
    /// Number of replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Labels and annotations for the ReplicaSet's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<PodTemplateMetadata>,
    /// Selector for the ReplicaSet (defaults to the Rollout's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "label_selector_schema")]
    pub selector: Option<LabelSelector>,
    /// Percentage of traffic the template's pods receive (traffic routing only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// Service generated for the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<TemplateService>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A service generated for an experiment template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateService {
    /// Name of the generated service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// AnalysisTemplates combined into an AnalysisRun by a Rollout.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutAnalysis {
    /// The templates to combine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<Vec<AnalysisTemplateRef>>,
    /// Arguments passed to the AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<AnalysisRunArgument>>,
    /// Metrics evaluated in dry-run mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<Vec<DryRun>>,
    /// How many measurements to retain per metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement_retention: Option<Vec<MeasurementRetention>>,
    /// Labels and annotations added to the AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_run_metadata: Option<AnalysisRunMetadata>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A background analysis: a [`RolloutAnalysis`] that starts at a given step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutAnalysisBackground {
    /// The templates to combine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<Vec<AnalysisTemplateRef>>,
    /// Arguments passed to the AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<AnalysisRunArgument>>,
    /// Metrics evaluated in dry-run mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<Vec<DryRun>>,
    /// How many measurements to retain per metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement_retention: Option<Vec<MeasurementRetention>>,
    /// Labels and annotations added to the AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_run_metadata: Option<AnalysisRunMetadata>,
    /// Index of the step at which the background analysis starts (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_step: Option<i32>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A reference to an AnalysisTemplate or ClusterAnalysisTemplate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisTemplateRef {
    /// Name of the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_name: Option<String>,
    /// Look the template up as a ClusterAnalysisTemplate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_scope: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An argument a Rollout passes to an AnalysisRun.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRunArgument {
    /// Name of the argument.
    pub name: String,
    /// A literal value (one of `value` or `valueFrom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Where the value comes from (one of `value` or `valueFrom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ArgumentValueFrom>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Where a Rollout's analysis argument takes its value from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArgumentValueFrom {
    /// The pod template hash of the stable or latest ReplicaSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template_hash_value: Option<ValueFromPodTemplateHash>,
    /// A field of the Rollout (e.g. `metadata.labels['app']`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<FieldRef>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Which ReplicaSet's pod template hash an argument takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ValueFromPodTemplateHash {
    /// The stable ReplicaSet.
    #[serde(rename = "Stable")]
    Stable,
    /// The latest ReplicaSet.
    #[serde(rename = "Latest")]
    Latest,
}

/// A reference to a field of the owning object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldRef {
    /// Path of the field to select.
    pub field_path: String,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A metric evaluated in dry-run mode.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DryRun {
    /// Name of the metric; `*` means all metrics.
    pub metric_name: String,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How many measurements of a metric to retain.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeasurementRetention {
    /// Name of the metric; `*` means all metrics.
    pub metric_name: String,
    /// Maximum number of measurements to retain.
    pub limit: i32,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------------
// Rollout status
// ---------------------------------------------------------------------------------------------

/// Phase of a Rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RolloutPhase {
    /// The rollout is healthy.
    #[serde(rename = "Healthy")]
    Healthy,
    /// The rollout is degraded (pods unavailable, misconfiguration).
    #[serde(rename = "Degraded")]
    Degraded,
    /// The rollout is not yet healthy but still making progress.
    #[serde(rename = "Progressing")]
    Progressing,
    /// The rollout will not make progress until resumed.
    #[serde(rename = "Paused")]
    Paused,
}

/// Observed state of a [`Rollout`], written by the Argo Rollouts controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// Cancel the current rollout progression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<bool>,
    /// Why the controller paused the rollout; cleared by a user to resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_conditions: Option<Vec<PauseCondition>>,
    /// Whether the controller has paused the rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_pause: Option<bool>,
    /// When the controller reconciled an aborted rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted_at: Option<String>,
    /// Hash of the current pod template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_pod_hash: Option<String>,
    /// Hash of the current list of steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step_hash: Option<String>,
    /// Total non-terminated pods targeted by this rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Non-terminated pods that have the desired template spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_replicas: Option<i32>,
    /// Ready pods targeted by this rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Available pods (ready for at least minReadySeconds) targeted by this rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i32>,
    /// Index of the current canary step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step_index: Option<i32>,
    /// Count of hash collisions, used to name the newest ReplicaSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collision_count: Option<i32>,
    /// The `metadata.generation` observed by the controller; a string in Argo Rollouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<String>,
    /// Conditions of the rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<RolloutCondition>>,
    /// State of a canary update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryStatus>,
    /// State of a blue-green update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<BlueGreenStatus>,
    /// Non-terminated replicas receiving active traffic (the scale subresource's status replicas).
    #[serde(
        default,
        rename = "HPAReplicas",
        skip_serializing_if = "Option::is_none"
    )]
    pub hpa_replicas: Option<i32>,
    /// Selector of the pods receiving active traffic (the scale subresource's selector).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// The ReplicaSet that has successfully rolled out.
    #[serde(default, rename = "stableRS", skip_serializing_if = "Option::is_none")]
    pub stable_rs: Option<String>,
    /// Last time the Rollout was restarted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted_at: Option<String>,
    /// Perform a full promotion, skipping analysis and pauses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote_full: Option<bool>,
    /// Phase of the rollout; meaningful when `observedGeneration` equals `metadata.generation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<RolloutPhase>,
    /// Why the rollout is in its current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Generation of the referenced workload observed by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_observed_generation: Option<String>,
    /// The ALB and target groups in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alb: Option<AlbStatus>,
    /// The ALBs and target groups in use, with several ingresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub albs: Option<Vec<AlbStatus>>,
    /// Timing of the current rollout attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<RolloutDurationStatus>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Why a rollout was paused by the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PauseReason {
    /// An AnalysisRun was inconclusive.
    #[serde(rename = "InconclusiveAnalysisRun")]
    InconclusiveAnalysisRun,
    /// An Experiment was inconclusive.
    #[serde(rename = "InconclusiveExperiment")]
    InconclusiveExperiment,
    /// A canary pause step.
    #[serde(rename = "CanaryPauseStep")]
    CanaryPauseStep,
    /// A blue-green pause before promotion.
    #[serde(rename = "BlueGreenPause")]
    BlueGreenPause,
}

/// A reason for a pause and when it started.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PauseCondition {
    /// Why the rollout paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<PauseReason>,
    /// When the pause started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A condition of a Rollout (`Available`, `Progressing`, `Paused`, `Healthy`, ...).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutCondition {
    /// Type of the condition.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// `True`, `False` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Last time the condition was updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<String>,
    /// Last time the condition changed status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Reason of the last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable details of the transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// State of a blue-green update.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenStatus {
    /// ReplicaSet the preview service sends traffic to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_selector: Option<String>,
    /// ReplicaSet the active service sends traffic to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_selector: Option<String>,
    /// The preview ReplicaSet is ready to be scaled up once the rollout is resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up_preview_check_point: Option<bool>,
    /// The current pre-promotion AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_promotion_analysis_run_status: Option<RolloutAnalysisRunStatus>,
    /// The current post-promotion AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_promotion_analysis_run_status: Option<RolloutAnalysisRunStatus>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Which of the ping and pong services is currently stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PingPongType {
    /// The ping service.
    #[serde(rename = "ping")]
    Ping,
    /// The pong service.
    #[serde(rename = "pong")]
    Pong,
}

/// State of a canary update.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStatus {
    /// The current step's AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step_analysis_run_status: Option<RolloutAnalysisRunStatus>,
    /// The current background AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_background_analysis_run_status: Option<RolloutAnalysisRunStatus>,
    /// The running Experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_experiment: Option<String>,
    /// Weights set on the traffic provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<TrafficWeights>,
    /// Which of ping and pong is the stable service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_ping_pong: Option<PingPongType>,
    /// Status of the step plugins executed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_plugin_statuses: Option<Vec<StepPluginStatus>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How traffic is currently split.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrafficWeights {
    /// Weight of the canary ReplicaSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<WeightDestination>,
    /// Weight of the stable ReplicaSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable: Option<WeightDestination>,
    /// Weights of further ReplicaSets (e.g. experiments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional: Option<Vec<WeightDestination>>,
    /// Whether the weight has been verified to have taken effect (ALB only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Traffic weight sent to one destination.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeightDestination {
    /// Percentage of traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// Kubernetes service receiving the traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Pod template hash of the destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template_hash: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An AnalysisRun a Rollout is tracking.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutAnalysisRunStatus {
    /// Name of the AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phase of the AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AnalysisPhase>,
    /// Message of the AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Operation executed by a step plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum StepPluginOperation {
    /// The step is run.
    #[serde(rename = "Run")]
    Run,
    /// The step is terminated.
    #[serde(rename = "Terminate")]
    Terminate,
    /// The step is aborted.
    #[serde(rename = "Abort")]
    Abort,
}

/// Phase of a step plugin operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum StepPluginPhase {
    /// Not completed yet.
    #[serde(rename = "Running")]
    Running,
    /// Completed successfully.
    #[serde(rename = "Successful")]
    Successful,
    /// Completed unsuccessfully.
    #[serde(rename = "Failed")]
    Failed,
    /// An unexpected error prevented completion.
    #[serde(rename = "Error")]
    Error,
}

/// Status of one step plugin operation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepPluginStatus {
    /// Index of the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<i32>,
    /// Name of the step plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Operation that produced this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<StepPluginOperation>,
    /// Phase of the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<StepPluginPhase>,
    /// Why the plugin is in its current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the plugin was first called for the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the plugin was last called for the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// When the operation completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Duration to wait before retrying the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<String>,
    /// Number of times the operation was executed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executions: Option<i32>,
    /// Whether the plugin is globally disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Internal status of the plugin, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub status: Option<serde_json::Value>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The ALB and target groups a Rollout uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlbStatus {
    /// The load balancer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<AwsResourceRef>,
    /// The canary target group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_target_group: Option<AwsResourceRef>,
    /// The stable target group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_target_group: Option<AwsResourceRef>,
    /// The Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An AWS resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsResourceRef {
    /// Name of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// ARN of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Full name of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Outcome of a rollout attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CompletionStatus {
    /// Completed through normal progression.
    #[serde(rename = "Promoted")]
    Promoted,
    /// Manually promoted, skipping remaining steps.
    #[serde(rename = "FastPromoted")]
    FastPromoted,
    /// Aborted before completion.
    #[serde(rename = "Aborted")]
    Aborted,
    /// Superseded by a new rollout.
    #[serde(rename = "Superseded")]
    Superseded,
    /// Explicitly rolled back to a previous version.
    #[serde(rename = "RolledBack")]
    RolledBack,
    /// Rolled back within the rollback window.
    #[serde(rename = "FastRolledBack")]
    FastRolledBack,
}

/// Timing of a rollout attempt.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutDurationStatus {
    /// When the current attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_started_at: Option<String>,
    /// When the current manual pause began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_pause_started_at: Option<String>,
    /// Accumulated seconds spent in manual pauses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_manual_pause_duration_seconds: Option<i64>,
    /// When the attempt reached its terminal state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Outcome of the attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_status: Option<CompletionStatus>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------------
// AnalysisTemplate, ClusterAnalysisTemplate
// ---------------------------------------------------------------------------------------------

/// Declares an analysis template spec type; Argo uses one Go type for both template kinds,
/// kube's derive needs one Rust type per kind.
macro_rules! analysis_template_spec {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// The metrics to query during an analysis run.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub metrics: Option<Vec<Metric>>,
            /// Arguments of the template.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub args: Option<Vec<Argument>>,
            /// Metrics evaluated in dry-run mode.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub dry_run: Option<Vec<DryRun>>,
            /// How many measurements to retain per metric.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub measurement_retention: Option<Vec<MeasurementRetention>>,
            /// Further templates whose metrics are combined with these.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub templates: Option<Vec<AnalysisTemplateRef>>,
            /// Fields Windlass does not model, kept as they are.
            #[serde(flatten)]
            pub extra: Extra,
        }

        impl Validate for $name {
            fn validate(&self, path: &FieldPath, out: &mut Violations) {
                let has_templates = self.templates.as_ref().is_some_and(|t| !t.is_empty());
                validate_metrics(self.metrics.as_deref(), !has_templates, path, out);
            }
        }
    };
}

analysis_template_spec!(
    /// Desired state of an [`AnalysisTemplate`]: the metrics an analysis run queries.
    #[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[kube(
        group = "argoproj.io",
        version = "v1alpha1",
        kind = "AnalysisTemplate",
        plural = "analysistemplates",
        shortname = "at",
        namespaced,
        derive = "PartialEq",
        printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp","description":"Time since resource was created"}"#
    )]
    AnalysisTemplateSpec
);

analysis_template_spec!(
    /// Desired state of a [`ClusterAnalysisTemplate`]: a cluster-wide analysis template.
    #[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[kube(
        group = "argoproj.io",
        version = "v1alpha1",
        kind = "ClusterAnalysisTemplate",
        plural = "clusteranalysistemplates",
        shortname = "cat",
        derive = "PartialEq",
        printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp","description":"Time since resource was created"}"#
    )]
    ClusterAnalysisTemplateSpec
);

impl From<ClusterAnalysisTemplateSpec> for AnalysisTemplateSpec {
    fn from(s: ClusterAnalysisTemplateSpec) -> Self {
        AnalysisTemplateSpec {
            metrics: s.metrics,
            args: s.args,
            dry_run: s.dry_run,
            measurement_retention: s.measurement_retention,
            templates: s.templates,
            extra: s.extra,
        }
    }
}

/// A metric queried during an analysis.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    /// Name of the metric, unique within the analysis.
    pub name: String,
    /// Interval between measurements (`30s`, `5m`); absent means a single measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// How long to wait before the first measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_delay: Option<String>,
    /// Number of measurements; with only `interval` the metric runs indefinitely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<AnyString>,
    /// Expression deciding that a measurement succeeded (`result` is the measured value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_condition: Option<String>,
    /// Expression deciding that a measurement failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_condition: Option<String>,
    /// Failed measurements allowed before the metric fails (default 0; -1 disables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_limit: Option<AnyString>,
    /// Inconclusive measurements allowed before the metric is inconclusive (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inconclusive_limit: Option<AnyString>,
    /// Consecutive errors allowed before the metric errors (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_error_limit: Option<AnyString>,
    /// The system queried for measurements (exactly one provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<MetricProvider>,
    /// Consecutive successes needed for the metric to succeed (default 0: disabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_success_limit: Option<AnyString>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The external system a metric queries; Argo requires exactly one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricProvider {
    /// A Prometheus query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusMetric>,
    /// A Kayenta canary judgement, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub kayenta: Option<serde_json::Value>,
    /// A generic HTTP request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<WebMetric>,
    /// A Datadog query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datadog: Option<DatadogMetric>,
    /// A Wavefront query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wavefront: Option<WavefrontMetric>,
    /// A New Relic NRQL query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_relic: Option<NewRelicMetric>,
    /// A Kubernetes Job; the metric succeeds when the job does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobMetric>,
    /// A CloudWatch query, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub cloud_watch: Option<serde_json::Value>,
    /// A Graphite query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graphite: Option<GraphiteMetric>,
    /// An InfluxDB Flux query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub influxdb: Option<InfluxdbMetric>,
    /// A SkyWalking query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skywalking: Option<SkyWalkingMetric>,
    /// A metric plugin configuration, keyed by plugin name; each kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub plugin: Option<BTreeMap<String, serde_json::Value>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

impl MetricProvider {
    /// Number of providers set, counting each plugin (Argo requires exactly one).
    pub fn provider_count(&self) -> usize {
        [
            self.prometheus.is_some(),
            self.kayenta.is_some(),
            self.web.is_some(),
            self.datadog.is_some(),
            self.wavefront.is_some(),
            self.new_relic.is_some(),
            self.job.is_some(),
            self.cloud_watch.is_some(),
            self.graphite.is_some(),
            self.influxdb.is_some(),
            self.skywalking.is_some(),
        ]
        .iter()
        .filter(|set| **set)
        .count()
            + self.plugin.as_ref().map_or(0, BTreeMap::len)
    }
}

/// A Prometheus query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusMetric {
    /// HTTP address and port of the Prometheus server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The PromQL query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Authentication to the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    /// Query timeout in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Skip TLS verification of the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// HTTP headers sent with the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<WebMetricHeader>>,
    /// Run a range query instead of an instant query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_query: Option<PrometheusRangeQueryArgs>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Arguments of a Prometheus range query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusRangeQueryArgs {
    /// Start time, an expression such as `now() - duration("1h")`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// End time, an expression such as `now()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Step between two points (`30s`, `5m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Authentication of a metric request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Authentication {
    /// AWS SigV4 signing (Amazon Managed Prometheus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigv4: Option<Sigv4Config>,
    /// OAuth2 client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2Config>,
    /// HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuthConfig>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// AWS SigV4 signing configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sigv4Config {
    /// AWS region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Credential profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// IAM role used to sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// OAuth2 client credentials.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2Config {
    /// Token URL of the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// Client ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Scopes requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// HTTP basic authentication.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuthConfig {
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password or access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A generic HTTP request used as a metric.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebMetric {
    /// HTTP method: `GET` (default), `POST` or `PUT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// URL of the request.
    pub url: String,
    /// HTTP headers sent with the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<WebMetricHeader>>,
    /// Request body (POST/PUT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Request timeout in seconds (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    /// JSONPath of the result in the response (default `{$}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
    /// Skip TLS verification of the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Request body as JSON (POST/PUT), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub json_body: Option<serde_json::Value>,
    /// Authentication of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An HTTP header.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebMetricHeader {
    /// Header name.
    pub key: String,
    /// Header value.
    pub value: String,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Datadog API version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DatadogApiVersion {
    /// API v1 (the default).
    #[serde(rename = "v1")]
    V1,
    /// API v2.
    #[serde(rename = "v2")]
    V2,
}

/// Aggregator of a Datadog v2 metrics query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DatadogAggregator {
    /// Average.
    #[serde(rename = "avg")]
    Avg,
    /// Minimum.
    #[serde(rename = "min")]
    Min,
    /// Maximum.
    #[serde(rename = "max")]
    Max,
    /// Sum.
    #[serde(rename = "sum")]
    Sum,
    /// Last value.
    #[serde(rename = "last")]
    Last,
    /// Percentile.
    #[serde(rename = "percentile")]
    Percentile,
    /// Mean.
    #[serde(rename = "mean")]
    Mean,
    /// L2 norm.
    #[serde(rename = "l2norm")]
    L2norm,
    /// Area.
    #[serde(rename = "area")]
    Area,
}

/// A Datadog query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatadogMetric {
    /// Time window queried (default `5m`); not the polling rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// The query (v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Named queries used by `formula` (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries: Option<BTreeMap<String, String>>,
    /// Formula over the named queries (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,
    /// Datadog API version (default `v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<DatadogApiVersion>,
    /// Aggregator of metrics-based queries (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregator: Option<DatadogAggregator>,
    /// Secret holding the Datadog credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
    /// HTTP timeout of requests to Datadog (default `10s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A secret holding provider credentials.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Name of the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether the secret is in the metric's namespace rather than the controller's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaced: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A Wavefront query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WavefrontMetric {
    /// Address of the Wavefront server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A New Relic NRQL query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewRelicMetric {
    /// Secret holding the New Relic account configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The NRQL query.
    pub query: String,
    /// Query timeout in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A Kubernetes Job run as a metric.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobMetric {
    /// Metadata of the Job: a Kubernetes ObjectMeta, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub metadata: Option<serde_json::Value>,
    /// Spec of the Job: a Kubernetes JobSpec, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub spec: Option<serde_json::Value>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A Graphite query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphiteMetric {
    /// Address of the Graphite server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An InfluxDB Flux query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InfluxdbMetric {
    /// Secret holding the InfluxDB account configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The Flux query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A SkyWalking query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkyWalkingMetric {
    /// Address of the SkyWalking server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The GraphQL query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Time window queried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An argument of an analysis template or run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Argument {
    /// Name of the argument.
    pub name: String,
    /// Value of the argument (a default, in a template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Where the value comes from (a secret or a field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFrom>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Where an analysis argument takes its value from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueFrom {
    /// A key of a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeyRef>,
    /// A field of the owning object's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<FieldRef>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A key of a Secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    pub name: String,
    /// Key in the Secret.
    pub key: String,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------------
// AnalysisRun
// ---------------------------------------------------------------------------------------------

/// Desired state of an [`AnalysisRun`]: an instantiation of analysis templates.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "AnalysisRun",
    plural = "analysisruns",
    shortname = "ar",
    namespaced,
    status = "AnalysisRunStatus",
    derive = "PartialEq",
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.phase","description":"AnalysisRun status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp","description":"Time since resource was created"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRunSpec {
    /// The metrics to query (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<Metric>>,
    /// Arguments of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<Argument>>,
    /// Stop the run prematurely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminate: Option<bool>,
    /// Metrics evaluated in dry-run mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<Vec<DryRun>>,
    /// How many measurements to retain per metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement_retention: Option<Vec<MeasurementRetention>>,
    /// How long the run is kept after it finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_strategy: Option<TtlStrategy>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How long a finished AnalysisRun is kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TtlStrategy {
    /// Seconds to live after completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_after_completion: Option<i32>,
    /// Seconds to live after failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_after_failure: Option<i32>,
    /// Seconds to live after success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_after_success: Option<i32>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Phase of an AnalysisRun, metric result, measurement or Experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AnalysisPhase {
    /// No phase set yet (Argo writes an empty string).
    #[serde(rename = "")]
    Unset,
    /// Not started.
    #[serde(rename = "Pending")]
    Pending,
    /// In progress.
    #[serde(rename = "Running")]
    Running,
    /// Finished successfully.
    #[serde(rename = "Successful")]
    Successful,
    /// Finished with a failure.
    #[serde(rename = "Failed")]
    Failed,
    /// Finished with an error.
    #[serde(rename = "Error")]
    Error,
    /// Finished without a conclusion.
    #[serde(rename = "Inconclusive")]
    Inconclusive,
}

/// Observed state of an [`AnalysisRun`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRunStatus {
    /// Phase of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<AnalysisPhase>,
    /// Explanation of the current status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Results of each metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_results: Option<Vec<MetricResult>>,
    /// When the run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Totals over the metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_summary: Option<RunSummary>,
    /// Totals over the dry-run metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run_summary: Option<RunSummary>,
    /// When the run completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Totals over the metrics of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// Number of metrics (successful + failed + inconclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// Number of successful metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successful: Option<i32>,
    /// Number of failed metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<i32>,
    /// Number of inconclusive metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inconclusive: Option<i32>,
    /// Number of metrics that errored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<i32>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Result of one metric of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricResult {
    /// Name of the metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Aggregate phase of the metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<AnalysisPhase>,
    /// Most recent measurements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurements: Option<Vec<Measurement>>,
    /// Current condition (e.g. an error message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Number of measurements taken without error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// Number of successful measurements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successful: Option<i32>,
    /// Number of failed measurements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<i32>,
    /// Number of inconclusive measurements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inconclusive: Option<i32>,
    /// Number of measurement errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<i32>,
    /// Number of consecutive measurement errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_error: Option<i32>,
    /// Whether the metric runs in dry-run mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Provider metadata (e.g. the resolved query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Number of consecutive successful measurements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_success: Option<i32>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One measurement of a metric.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    /// Phase of the measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<AnalysisPhase>,
    /// Current condition (e.g. an error message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the measurement started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the measurement finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The measured value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Provider metadata (e.g. a job name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// When the measurement should be resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------------
// Experiment
// ---------------------------------------------------------------------------------------------

/// Desired state of an [`Experiment`]: ReplicaSets run side by side, with analyses.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "Experiment",
    plural = "experiments",
    shortname = "exp",
    namespaced,
    status = "ExperimentStatus",
    derive = "PartialEq",
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.phase","description":"Experiment status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp","description":"Time since resource was created"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentSpec {
    /// The ReplicaSets to run (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<Vec<TemplateSpec>>,
    /// How long the experiment runs (`30s`, `5m`, `1h`); absent means until terminated or an analysis fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Maximum seconds to make progress before the experiment fails (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline_seconds: Option<i32>,
    /// Stop the experiment prematurely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminate: Option<bool>,
    /// AnalysisTemplates to run during the experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyses: Option<Vec<ExperimentAnalysisTemplateRef>>,
    /// Delay in seconds before scaling down the experiment (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_delay_seconds: Option<i32>,
    /// Metrics evaluated in dry-run mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<Vec<DryRun>>,
    /// How many measurements to retain per metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement_retention: Option<Vec<MeasurementRetention>>,
    /// Labels and annotations added to the AnalysisRuns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_run_metadata: Option<AnalysisRunMetadata>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A ReplicaSet run by an Experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSpec {
    /// Name of the template, unique within the experiment.
    pub name: String,
    /// Number of desired pods (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Minimum seconds a new pod must be ready to be considered available (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// Label selector for the pods; must be unique among the templates (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "label_selector_schema")]
    pub selector: Option<LabelSelector>,
    /// The pods to create: a Kubernetes PodTemplateSpec, kept as written (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub template: Option<serde_json::Value>,
    /// Service generated for the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<TemplateService>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An analysis run by an Experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentAnalysisTemplateRef {
    /// Name of this analysis within the experiment.
    pub name: String,
    /// Name of the AnalysisTemplate (or ClusterAnalysisTemplate) to run.
    pub template_name: String,
    /// Look the template up as a ClusterAnalysisTemplate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_scope: Option<bool>,
    /// Arguments passed to the AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<Argument>>,
    /// Whether the experiment waits for this analysis before completing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_for_completion: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Status of the ReplicaSet of an experiment template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TemplateStatusCode {
    /// Scaling up.
    #[serde(rename = "Progressing")]
    Progressing,
    /// Running.
    #[serde(rename = "Running")]
    Running,
    /// Finished successfully.
    #[serde(rename = "Successful")]
    Successful,
    /// Failed.
    #[serde(rename = "Failed")]
    Failed,
    /// Errored.
    #[serde(rename = "Error")]
    Error,
}

/// Observed state of an [`Experiment`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentStatus {
    /// Phase of the experiment, from its ReplicaSets and AnalysisRuns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<AnalysisPhase>,
    /// Explanation of the current status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Status of each template's ReplicaSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_statuses: Option<Vec<TemplateStatus>>,
    /// When all templates became healthy and the duration started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_at: Option<String>,
    /// Conditions of the experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ExperimentCondition>>,
    /// Status of the experiment's AnalysisRuns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_runs: Option<Vec<ExperimentAnalysisRunStatus>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Status of the ReplicaSet of one experiment template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateStatus {
    /// Name of the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Non-terminated pods targeted by the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Non-terminated pods with the desired template spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_replicas: Option<i32>,
    /// Ready pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Available pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i32>,
    /// Count of hash collisions, used to name the ReplicaSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collision_count: Option<i32>,
    /// Status of the ReplicaSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TemplateStatusCode>,
    /// Explanation of the current status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Last time the ReplicaSet transitioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Name of the template's service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Pod template hash of the ReplicaSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template_hash: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A condition of an Experiment (`InvalidSpec`, `Completed`, `Progressing`, `Running`, ...).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentCondition {
    /// Type of the condition.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// `True`, `False` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Last time the condition was updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<String>,
    /// Last time the condition changed status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Reason of the last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable details of the transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Status of one AnalysisRun of an Experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentAnalysisRunStatus {
    /// Name of the analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Name of the AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_run: Option<String>,
    /// Phase of the AnalysisRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<AnalysisPhase>,
    /// Explanation of the current status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// Argo's default `progressDeadlineSeconds` for Rollouts and Experiments.
const DEFAULT_PROGRESS_DEADLINE_SECONDS: i32 = 600;
/// Argo's default `revisionHistoryLimit`.
const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;
/// Argo's default total traffic weight.
const DEFAULT_MAX_TRAFFIC_WEIGHT: i32 = 100;

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// Whether a value still holds an unresolved `{{...}}` template reference.
fn is_templated(s: &str) -> bool {
    s.contains("{{")
}

/// Kubernetes' `IntOrString.IntValue()`: integers as they are, strings parsed as integers (0 if not).
fn int_value(v: &AnyString) -> i64 {
    match &v.0 {
        serde_json::Value::Number(n) => n.as_i64().unwrap_or(0),
        serde_json::Value::String(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

/// Argo's `getIntOrPercentValue`: `"25%"` is 25, otherwise [`int_value`].
fn int_or_percent_value(v: &AnyString) -> i64 {
    if let serde_json::Value::String(s) = &v.0
        && let Some(number) = s.strip_suffix('%')
        && let Ok(n) = number.parse::<i64>()
    {
        return n;
    }
    int_value(v)
}

/// Whether a label selector selects nothing in particular (no labels, no expressions).
fn selector_is_empty(selector: &LabelSelector) -> bool {
    selector
        .match_labels
        .as_ref()
        .is_none_or(BTreeMap::is_empty)
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(Vec::is_empty)
}

fn require_non_negative(value: Option<i32>, path: FieldPath, out: &mut Violations) {
    if let Some(v) = value
        && v < 0
    {
        out.push(path, "must be greater than or equal to 0");
    }
}

impl Validate for RolloutSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        require_non_negative(self.replicas, path.key("replicas"), out);
        if self.workload_ref.is_none() {
            match &self.selector {
                None => out.push(
                    path.key("selector"),
                    "is required unless workloadRef is set",
                ),
                Some(selector) if selector_is_empty(selector) => out.push(
                    path.key("selector"),
                    "empty selector is invalid for deployment",
                ),
                Some(_) => {}
            }
            let template_empty = match &self.template {
                None => true,
                Some(serde_json::Value::Object(map)) => map.is_empty(),
                Some(_) => false,
            };
            if template_empty {
                out.push(
                    path.key("template"),
                    "is required unless workloadRef is set",
                );
            }
        } else if let Some(template) = &self.template {
            let meta = template.get("metadata");
            let has = |key: &str| {
                meta.and_then(|m| m.get(key))
                    .and_then(serde_json::Value::as_object)
                    .is_some_and(|m| !m.is_empty())
            };
            if has("labels") || has("annotations") {
                out.push(
                    path.key("template"),
                    "template must be empty for workload reference rollout",
                );
            }
        }
        require_non_negative(self.min_ready_seconds, path.key("minReadySeconds"), out);
        require_non_negative(
            self.revision_history_limit,
            path.key("revisionHistoryLimit"),
            out,
        );
        require_non_negative(
            self.progress_deadline_seconds,
            path.key("progressDeadlineSeconds"),
            out,
        );
        let deadline = self
            .progress_deadline_seconds
            .unwrap_or(DEFAULT_PROGRESS_DEADLINE_SECONDS);
        if deadline <= self.min_ready_seconds.unwrap_or(0) {
            out.push(
                path.key("progressDeadlineSeconds"),
                "must be greater than minReadySeconds",
            );
        }

        let strategy_path = path.key("strategy");
        let revision_history_limit = self
            .revision_history_limit
            .unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT);
        match self.strategy.as_ref().map(|s| (&s.blue_green, &s.canary)) {
            None | Some((None, None)) => out.push(
                strategy_path,
                "must set one of strategy.canary or strategy.blueGreen",
            ),
            Some((Some(_), Some(_))) => out.push(
                strategy_path,
                "Multiple Strategies can not be listed: set only one of canary or blueGreen",
            ),
            Some((Some(blue_green), None)) => blue_green.validate_with(
                revision_history_limit,
                &strategy_path.key("blueGreen"),
                out,
            ),
            Some((None, Some(canary))) => canary.validate(&strategy_path.key("canary"), out),
        }
    }
}

impl BlueGreenStrategy {
    fn validate_with(&self, revision_history_limit: i32, path: &FieldPath, out: &mut Violations) {
        match non_empty(&self.active_service) {
            None => out.push(path.key("activeService"), "is required"),
            Some(active) => {
                if non_empty(&self.preview_service) == Some(active) {
                    out.push(
                        path.key("activeService"),
                        "the active and preview services must be two different services",
                    );
                }
            }
        }
        if let Some(limit) = self.scale_down_delay_revision_limit
            && revision_history_limit < limit
        {
            out.push(
                path.key("scaleDownDelayRevisionLimit"),
                "the revision history limit can not be smaller than the scale down limit",
            );
        }
        validate_anti_affinity(self.anti_affinity.as_ref(), &path.key("antiAffinity"), out);
    }
}

fn validate_anti_affinity(anti: Option<&AntiAffinity>, path: &FieldPath, out: &mut Violations) {
    let Some(anti) = anti else { return };
    let preferred = &anti.preferred_during_scheduling_ignored_during_execution;
    let required = &anti.required_during_scheduling_ignored_during_execution;
    if preferred.is_some() == required.is_some() {
        out.push(
            path.clone(),
            "AntiAffinity must have exactly one strategy listed",
        );
    }
    if let Some(p) = preferred
        && !(1..=100).contains(&p.weight)
    {
        out.push(
            path.key("preferredDuringSchedulingIgnoredDuringExecution")
                .key("weight"),
            "AntiAffinity weight must be between 1-100",
        );
    }
}

/// Validates a string match: exactly one of `exact`, `prefix`, `regex`.
fn validate_string_match(m: Option<&StringMatch>, path: &FieldPath, out: &mut Violations) {
    let Some(m) = m else {
        out.push(
            path.clone(),
            "match value must have one of the following: exact, regex, prefix",
        );
        return;
    };
    let set = [&m.exact, &m.regex, &m.prefix]
        .iter()
        .filter(|v| non_empty(v).is_some())
        .count();
    if set != 1 {
        out.push(
            path.clone(),
            "match value must have exactly one of the following: exact, regex, prefix",
        );
    }
}

impl Validate for CanaryStrategy {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        let routing = self.traffic_routing.as_ref();
        let has_plugins = routing
            .and_then(|r| r.plugins.as_ref())
            .is_some_and(|p| !p.is_empty());

        // maxSurge and maxUnavailable (both default to 25%) can not both be zero.
        let percent25 = AnyString::from("25%");
        let surge = int_or_percent_value(self.max_surge.as_ref().unwrap_or(&percent25));
        let unavailable = int_or_percent_value(self.max_unavailable.as_ref().unwrap_or(&percent25));
        if surge == 0 && unavailable == 0 {
            out.push(
                path.key("maxSurge"),
                "maxSurge and maxUnavailable both can not be zero",
            );
        }

        let canary_service = non_empty(&self.canary_service);
        let stable_service = non_empty(&self.stable_service);
        if canary_service.is_some() && canary_service == stable_service {
            out.push(
                path.key("stableService"),
                "the stable and canary services must be two different services",
            );
        }

        if let Some(ping_pong) = &self.ping_pong {
            if let Some(r) = routing
                && r.alb.is_none()
                && r.istio.is_none()
                && !has_plugins
            {
                out.push(
                    path.key("trafficRouting").key("alb"),
                    "ping-pong works with the ALB, Istio, and plugin-based traffic routers only",
                );
            }
            let pp = path.key("pingPong");
            if ping_pong.ping_service.is_empty() {
                out.push(pp.key("pingService"), "is required to use ping-pong");
            }
            if ping_pong.pong_service.is_empty() {
                out.push(pp.key("pongService"), "is required to use ping-pong");
            }
            if ping_pong.ping_service == ping_pong.pong_service {
                out.push(
                    pp.key("pingService"),
                    "the ping and pong services must be two different services",
                );
            }
            if let Some(alb) = routing.and_then(|r| r.alb.as_ref())
                && non_empty(&alb.root_service).is_none()
            {
                out.push(
                    path.key("trafficRouting").key("alb").key("rootService"),
                    "is required with ALB and ping-pong",
                );
            }
        }

        if let Some(r) = routing {
            let needs_services = (r.alb.is_some() && self.ping_pong.is_none())
                || r.istio
                    .as_ref()
                    .is_some_and(|i| i.destination_rule.is_none() && self.ping_pong.is_none())
                || r.smi.is_some()
                || r.apisix.is_some()
                || r.ambassador.is_some()
                || r.nginx.is_some()
                || r.app_mesh.is_some()
                || r.traefik.is_some();
            if needs_services {
                if stable_service.is_none() {
                    out.push(
                        path.key("stableService"),
                        "canary and stable services must be set to use traffic routing",
                    );
                }
                if canary_service.is_none() {
                    out.push(
                        path.key("canaryService"),
                        "canary and stable services must be set to use traffic routing",
                    );
                }
            }
            if self.scale_down_delay_seconds.is_some() && self.dynamic_stable_scale == Some(true) {
                out.push(
                    path.key("dynamicStableScale"),
                    "dynamicStableScale cannot be used with scaleDownDelaySeconds",
                );
            }
            if r.max_traffic_weight.is_some() && r.nginx.is_none() && !has_plugins {
                out.push(
                    path.key("trafficRouting").key("maxTrafficWeight"),
                    "maxTrafficWeight is only supported with Nginx and plugins",
                );
            }
        } else {
            if self.scale_down_delay_seconds.is_some() {
                out.push(
                    path.key("scaleDownDelaySeconds"),
                    "scaleDownDelaySeconds can only be used with traffic routing",
                );
            }
            if self.dynamic_stable_scale == Some(true) {
                out.push(
                    path.key("dynamicStableScale"),
                    "dynamicStableScale can only be used with traffic routing",
                );
            }
        }

        let max_weight = routing
            .and_then(|r| r.max_traffic_weight)
            .unwrap_or(DEFAULT_MAX_TRAFFIC_WEIGHT);
        let managed_routes: Option<BTreeSet<&str>> = routing
            .and_then(|r| r.managed_routes.as_ref())
            .map(|routes| routes.iter().map(|r| r.name.as_str()).collect());
        for (i, step) in self.steps.iter().flatten().enumerate() {
            let sp = path.key("steps").index(i);
            step.validate_in(self, max_weight, managed_routes.as_ref(), &sp, out);
        }

        validate_anti_affinity(self.anti_affinity.as_ref(), &path.key("antiAffinity"), out);
    }
}

impl CanaryStep {
    /// Validates one step of `canary`; violations are reported under the step's own path.
    fn validate_in(
        &self,
        canary: &CanaryStrategy,
        max_weight: i32,
        managed_routes: Option<&BTreeSet<&str>>,
        path: &FieldPath,
        out: &mut Violations,
    ) {
        let routing = canary.traffic_routing.as_ref();
        let has_plugins = routing
            .and_then(|r| r.plugins.as_ref())
            .is_some_and(|p| !p.is_empty());

        let core = [
            self.set_weight.is_some(),
            self.pause.is_some(),
            self.experiment.is_some(),
            self.analysis.is_some(),
        ];
        let others = [
            self.set_canary_scale.is_some(),
            self.set_header_route.is_some(),
            self.set_mirror_route.is_some(),
            self.plugin.is_some(),
        ];
        if core.iter().filter(|b| **b).count() > 1 {
            out.push(
                path.clone(),
                "a step must have only one of the following set: setWeight, pause, experiment, analysis",
            );
        }
        if !core.iter().chain(others.iter()).any(|b| *b) {
            out.push(
                path.clone(),
                "a step must have one of the following set: setWeight, pause, experiment, analysis, \
                 setCanaryScale, setHeaderRoute, setMirrorRoute, plugin",
            );
        }

        if let Some(weight) = self.set_weight
            && !(0..=max_weight).contains(&weight)
        {
            out.push(
                path.key("setWeight"),
                format!("setWeight needs to be between 0 and {max_weight}"),
            );
        }

        if let Some(duration) = self.pause.as_ref().and_then(|p| p.duration.as_ref()) {
            let valid = match &duration.0 {
                serde_json::Value::Number(n) => n.as_i64().is_some_and(|n| n >= 0),
                // `RolloutPause.DurationSeconds`: 32-bit seconds, or a Go duration.
                serde_json::Value::String(s) => crate::duration::parse_seconds_or_go(s)
                    .is_ok_and(|d| (0..=i64::from(i32::MAX)).contains(&d.as_secs())),
                _ => false,
            };
            if !valid {
                out.push(
                    path.key("pause").key("duration"),
                    "must be a non-negative number of seconds or a duration such as 30s, 5m, 1h",
                );
            }
        }

        if self.set_canary_scale.is_some() && routing.is_none() {
            out.push(
                path.key("setCanaryScale"),
                "setCanaryScale requires trafficRouting to be set",
            );
        }

        if let Some(header_route) = &self.set_header_route {
            let hp = path.key("setHeaderRoute");
            match routing {
                Some(r)
                    if r.istio.is_some()
                        || r.alb.is_some()
                        || r.apisix.is_some()
                        || has_plugins =>
                {
                    for (j, m) in header_route.match_.iter().flatten().enumerate() {
                        let mp = hp.key("match").index(j);
                        if r.alb.is_some() {
                            let ok = m.header_value.as_ref().is_some_and(|v| {
                                non_empty(&v.exact).is_some()
                                    && non_empty(&v.regex).is_none()
                                    && non_empty(&v.prefix).is_none()
                            });
                            if !ok {
                                out.push(
                                    mp,
                                    "setHeaderRoute match value invalid: ALB supports 'exact' only",
                                );
                            }
                        } else {
                            validate_string_match(m.header_value.as_ref(), &mp, out);
                        }
                    }
                }
                _ => out.push(
                    hp.clone(),
                    "setHeaderRoute requires trafficRouting with Istio, ALB, Apisix or a plugin",
                ),
            }
            validate_route_name(
                header_route.name.as_deref().unwrap_or(""),
                routing,
                managed_routes,
                &hp,
                out,
            );
        }

        if let Some(mirror_route) = &self.set_mirror_route {
            let mp = path.key("setMirrorRoute");
            if !routing.is_some_and(|r| r.istio.is_some() || has_plugins) {
                out.push(
                    mp.clone(),
                    "setMirrorRoute requires trafficRouting with Istio or a plugin",
                );
            }
            for (j, m) in mirror_route.match_.iter().flatten().enumerate() {
                let p = mp.key("match").index(j);
                if let Some(method) = &m.method {
                    validate_string_match(Some(method), &p.key("method"), out);
                }
                if let Some(path_match) = &m.path {
                    validate_string_match(Some(path_match), &p.key("path"), out);
                }
            }
            validate_route_name(&mirror_route.name, routing, managed_routes, &mp, out);
        }

        if let Some(experiment) = &self.experiment {
            for (t, template) in experiment.templates.iter().enumerate() {
                if template.weight.is_none() {
                    continue;
                }
                let wp = path
                    .key("experiment")
                    .key("templates")
                    .index(t)
                    .key("weight");
                match routing {
                    None => out.push(
                        wp,
                        "experiment template weight cannot be set unless trafficRouting is enabled",
                    ),
                    Some(r)
                        if r.alb.is_none() && r.smi.is_none() && r.istio.is_none() && !has_plugins =>
                    {
                        out.push(
                            wp,
                            "experiment template weight is only available with SMI, ALB, Istio and plugin traffic routing",
                        )
                    }
                    Some(_) => {}
                }
            }
        }
    }
}

/// A header or mirror route must be listed in `trafficRouting.managedRoutes`.
fn validate_route_name(
    name: &str,
    routing: Option<&RolloutTrafficRouting>,
    managed_routes: Option<&BTreeSet<&str>>,
    path: &FieldPath,
    out: &mut Violations,
) {
    if routing.is_none() {
        return;
    }
    match managed_routes {
        None => out.push(
            path.clone(),
            "requires spec.strategy.canary.trafficRouting.managedRoutes",
        ),
        Some(routes) if !routes.contains(name) => out.push(
            path.key("name"),
            "route not found in spec.strategy.canary.trafficRouting.managedRoutes",
        ),
        Some(_) => {}
    }
}

/// Argo's `ValidateMetrics`: metrics present (when `required`), unique names, exactly one
/// provider, and consistent limits, count and interval.
fn validate_metrics(
    metrics: Option<&[Metric]>,
    required: bool,
    path: &FieldPath,
    out: &mut Violations,
) {
    let metrics = metrics.unwrap_or_default();
    if metrics.is_empty() {
        if required {
            out.push(path.key("metrics"), "no metrics specified");
        }
        return;
    }
    let mut names = BTreeSet::new();
    for (i, metric) in metrics.iter().enumerate() {
        let mp = path.key("metrics").index(i);
        if !names.insert(metric.name.as_str()) {
            out.push(
                mp.key("name"),
                format!("duplicate metric name '{}'", metric.name),
            );
        }
        metric.validate(&mp, out);
    }
}

impl Validate for Metric {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        let get = |v: &Option<AnyString>| v.as_ref().map_or(0, int_value);
        let count = get(&self.count);
        let failure_limit = get(&self.failure_limit);
        let success_limit = get(&self.consecutive_success_limit);
        let inconclusive_limit = get(&self.inconclusive_limit);

        if success_limit < 0 {
            out.push(path.key("consecutiveSuccessLimit"), "must be >= 0");
        }
        if failure_limit < -1 {
            out.push(
                path.key("failureLimit"),
                "must be >= 0, or -1 to be disabled",
            );
        }
        if success_limit == 0 && failure_limit == -1 {
            out.push(
                path.key("failureLimit"),
                "failureLimit and consecutiveSuccessLimit cannot both be disabled",
            );
        }
        if inconclusive_limit < 0 {
            out.push(path.key("inconclusiveLimit"), "must be >= 0");
        }
        if get(&self.consecutive_error_limit) < 0 {
            out.push(path.key("consecutiveErrorLimit"), "must be >= 0");
        }
        if count > 0 {
            if success_limit >= 0 && failure_limit >= 0 {
                if count < failure_limit + success_limit {
                    out.push(
                        path.key("count"),
                        format!(
                            "count ({count}) must be >= failureLimit + consecutiveSuccessLimit ({failure_limit} + {success_limit})"
                        ),
                    );
                }
            } else if success_limit >= 0 && failure_limit < 0 && count < success_limit {
                out.push(
                    path.key("count"),
                    "count must be >= consecutiveSuccessLimit",
                );
            }
            if count < inconclusive_limit {
                out.push(path.key("count"), "count must be >= inconclusiveLimit");
            }
        }
        let interval = non_empty(&self.interval);
        if count > 1 && interval.is_none() {
            out.push(
                path.key("interval"),
                "interval must be specified when count > 1",
            );
        }
        for (key, value) in [
            ("interval", interval),
            ("initialDelay", non_empty(&self.initial_delay)),
        ] {
            if let Some(v) = value
                && !is_templated(v)
                && crate::duration::parse(v).is_err()
            {
                out.push(path.key(key), "must be a duration such as 30s, 5m, 1h");
            }
        }
        match self
            .provider
            .as_ref()
            .map_or(0, MetricProvider::provider_count)
        {
            0 => out.push(path.key("provider"), "no provider specified"),
            1 => {}
            _ => out.push(path.key("provider"), "multiple providers specified"),
        }
    }
}

impl Validate for AnalysisRunSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        validate_metrics(self.metrics.as_deref(), true, path, out);
    }
}

impl Validate for ExperimentSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        let templates = self.templates.as_deref().unwrap_or_default();
        if templates.is_empty() {
            out.push(path.key("templates"), "is required");
        }
        let deadline = self
            .progress_deadline_seconds
            .unwrap_or(DEFAULT_PROGRESS_DEADLINE_SECONDS);
        let mut names = BTreeSet::new();
        for (i, template) in templates.iter().enumerate() {
            let tp = path.key("templates").index(i);
            match &template.selector {
                None => out.push(tp.key("selector"), "is required"),
                Some(s) if selector_is_empty(s) => {
                    out.push(tp.key("selector"), "must not select all pods")
                }
                Some(_) => {}
            }
            if template.min_ready_seconds.unwrap_or(0) > deadline {
                out.push(
                    tp.key("minReadySeconds"),
                    "must not be greater than progressDeadlineSeconds",
                );
            }
            if template.name.is_empty() {
                out.push(tp.key("name"), "must not be empty");
            } else if !names.insert(template.name.as_str()) {
                out.push(
                    tp.key("name"),
                    format!("duplicate template name '{}'", template.name),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_values() {
        assert_eq!(int_or_percent_value(&AnyString::from("0%")), 0);
        assert_eq!(int_or_percent_value(&AnyString::from("25%")), 25);
        assert_eq!(int_or_percent_value(&AnyString(serde_json::json!(3))), 3);
    }
}
