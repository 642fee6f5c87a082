//! Argo Workflows kinds (`argoproj.io/v1alpha1`): `Workflow`, `WorkflowTemplate`,
//! `ClusterWorkflowTemplate` and `CronWorkflow`.
//!
//! The four kinds share one [`WorkflowSpec`] (a `CronWorkflow` holds it under
//! `spec.workflowSpec`). Kubernetes sub-trees (containers, volumes, affinity, ...) and
//! rarely used Argo sub-trees (artifact locations, metrics, synchronization, ...) are kept
//! as written in open [`serde_json::Value`]s.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::{AnyString, Extra};
use crate::path::FieldPath;
use crate::validate::{Validate, Violations};

/// Schema of a list of open sub-trees (Kubernetes objects kept as written).
fn preserve_unknown_list_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
    })
}

/// Schema of a list of values of any JSON type (`withItems`).
fn any_list_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "x-kubernetes-preserve-unknown-fields": true }
    })
}

// ---------------------------------------------------------------------------------------
// Root kinds
// ---------------------------------------------------------------------------------------

/// The specification of a workflow: its templates, entrypoint, arguments and pod settings.
///
/// Shared by `Workflow` (as `spec`), `WorkflowTemplate`, `ClusterWorkflowTemplate` and
/// `CronWorkflow` (as `spec.workflowSpec`).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "Workflow",
    plural = "workflows",
    shortname = "wf",
    namespaced,
    status = "WorkflowStatus",
    printcolumn = r#"{"name":"Status","type":"string","description":"Status of the workflow","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Age","type":"date","format":"date-time","description":"When the workflow was started","jsonPath":".status.startedAt"}"#,
    printcolumn = r#"{"name":"Message","type":"string","description":"Human readable message indicating details about why the workflow is in this condition.","jsonPath":".status.message"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSpec {
    /// The templates the workflow can run; one of them is the entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<Vec<Template>>,
    /// Name of the template run first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<String>,
    /// Global parameters and artifacts, referenced as `{{workflow.parameters.NAME}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Arguments>,
    /// Service account the workflow pods run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Whether a service account token is mounted into the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    /// Settings of the executor container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<ExecutorConfig>,
    /// Volumes mountable by every template (Kubernetes Volumes, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub volumes: Option<Vec<Value>>,
    /// Persistent volume claims created for the workflow's lifetime (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub volume_claim_templates: Option<Vec<Value>>,
    /// Maximum number of pods running at the same time in the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<i64>,
    /// The artifact repository (ConfigMap and key) the workflow uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_repository_ref: Option<ArtifactRepositoryRef>,
    /// Suspends the workflow until it is resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Node selector applied to every pod of the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Scheduling affinity of every pod (a Kubernetes Affinity, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub affinity: Option<Value>,
    /// Tolerations of every pod (Kubernetes Tolerations, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub tolerations: Option<Vec<Value>>,
    /// Secrets used to pull the images of the pods (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub image_pull_secrets: Option<Vec<Value>>,
    /// Whether the pods use the host's network namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
    /// DNS policy of the pods (`ClusterFirst`, `Default`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_policy: Option<String>,
    /// DNS configuration of the pods (a Kubernetes PodDNSConfig, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub dns_config: Option<Value>,
    /// Template run when the workflow ends, whatever its outcome (prefer `hooks.exit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_exit: Option<String>,
    /// How long a finished workflow is kept before it is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_strategy: Option<TtlStrategy>,
    /// Seconds the workflow may run before it is failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    /// Priority of the workflow among queued workflows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Scheduler of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler_name: Option<String>,
    /// When completed pods are deleted.
    #[serde(default, rename = "podGC", skip_serializing_if = "Option::is_none")]
    pub pod_gc: Option<PodGc>,
    /// Priority class of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_priority_class_name: Option<String>,
    /// Extra `/etc/hosts` entries of the pods (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub host_aliases: Option<Vec<Value>>,
    /// Pod-level security context (a Kubernetes PodSecurityContext, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub security_context: Option<Value>,
    /// Strategic merge patch (YAML or JSON text) applied to every pod spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_spec_patch: Option<String>,
    /// Pod disruption budget created for the workflow (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub pod_disruption_budget: Option<Value>,
    /// Prometheus metrics emitted by the workflow (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub metrics: Option<Value>,
    /// Stops (`Stop`) or terminates (`Terminate`) the running workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown: Option<ShutdownStrategy>,
    /// Runs the spec of a WorkflowTemplate or ClusterWorkflowTemplate instead of local templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_template_ref: Option<WorkflowTemplateRef>,
    /// Semaphores and mutexes the workflow must hold to run (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub synchronization: Option<Value>,
    /// When persistent volume claims of the workflow are deleted (kept as written).
    #[serde(
        default,
        rename = "volumeClaimGC",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub volume_claim_gc: Option<Value>,
    /// Default retry strategy of every template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_strategy: Option<RetryStrategy>,
    /// Labels and annotations added to every pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_metadata: Option<Metadata>,
    /// Default values of every template's fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_defaults: Option<Box<Template>>,
    /// Whether the logs of every pod are archived as artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_logs: Option<bool>,
    /// Lifecycle hooks of the workflow, by event (`exit` or a name with an `expression`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<BTreeMap<String, LifecycleHook>>,
    /// Labels and annotations added to the Workflow object itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_metadata: Option<WorkflowMetadata>,
    /// Garbage collection of the workflow's artifacts (kept as written).
    #[serde(
        default,
        rename = "artifactGC",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub artifact_gc: Option<Value>,
    /// Executor plugins the workflow uses (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub executor_plugins: Option<Vec<Value>>,
    /// Pod-level resources of every pod (a Kubernetes ResourceRequirements, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub pod_resources: Option<Value>,
    /// Dynamic resource claims of every pod (Kubernetes PodResourceClaims, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub resource_claims: Option<Vec<Value>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The spec of a [`WorkflowTemplate`]: a [`WorkflowSpec`] that workflows reference or submit.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "WorkflowTemplate",
    plural = "workflowtemplates",
    shortname = "wftmpl",
    namespaced
)]
#[serde(transparent)]
pub struct WorkflowTemplateSpec(pub WorkflowSpec);

/// The spec of a [`ClusterWorkflowTemplate`]: a cluster-wide [`WorkflowSpec`].
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "ClusterWorkflowTemplate",
    plural = "clusterworkflowtemplates",
    shortname = "clusterwftmpl",
    shortname = "cwft"
)]
#[serde(transparent)]
pub struct ClusterWorkflowTemplateSpec(pub WorkflowSpec);

impl Deref for WorkflowTemplateSpec {
    type Target = WorkflowSpec;
    fn deref(&self) -> &WorkflowSpec {
        &self.0
    }
}

impl DerefMut for WorkflowTemplateSpec {
    fn deref_mut(&mut self) -> &mut WorkflowSpec {
        &mut self.0
    }
}

impl Deref for ClusterWorkflowTemplateSpec {
    type Target = WorkflowSpec;
    fn deref(&self) -> &WorkflowSpec {
        &self.0
    }
}

impl DerefMut for ClusterWorkflowTemplateSpec {
    fn deref_mut(&mut self) -> &mut WorkflowSpec {
        &mut self.0
    }
}

/// The spec of a [`CronWorkflow`]: a workflow submitted on a cron schedule.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "CronWorkflow",
    plural = "cronworkflows",
    shortname = "cwf",
    shortname = "cronwf",
    namespaced,
    status = "CronWorkflowStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct CronWorkflowSpec {
    /// The spec of the workflows to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_spec: Option<WorkflowSpec>,
    /// What to do when a run is due while the previous one still runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_policy: Option<ConcurrencyPolicy>,
    /// Stops scheduling new runs while true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Seconds after its scheduled time a missed run may still start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_deadline_seconds: Option<i64>,
    /// Number of successful workflows kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successful_jobs_history_limit: Option<i32>,
    /// Number of failed workflows kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_jobs_history_limit: Option<i32>,
    /// Time zone of the schedules, e.g. `Asia/Tokyo` (the controller's local time when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Metadata of the workflows created (a Kubernetes ObjectMeta, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub workflow_metadata: Option<Value>,
    /// Stops scheduling for good once its expression is true (v3.6 and after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_strategy: Option<StopStrategy>,
    /// Cron schedules (standard 5-field cron or `@daily`-style descriptors; v3.6 and after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedules: Option<Vec<String>>,
    /// Single cron schedule of Argo before v3.6 (replaced by `schedules`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Expression deciding whether a due run is actually scheduled (v3.6 and after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CronWorkflowSpec {
    /// Every schedule of the CronWorkflow: `schedules`, or the legacy `schedule` when
    /// `schedules` is absent.
    pub fn all_schedules(&self) -> Vec<&str> {
        match (&self.schedules, &self.schedule) {
            (Some(list), _) => list.iter().map(String::as_str).collect(),
            (None, Some(one)) => vec![one.as_str()],
            (None, None) => Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------------------

/// How to treat a run that is due while the previous one still runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConcurrencyPolicy {
    /// Runs concurrently.
    Allow,
    /// Skips the new run.
    Forbid,
    /// Replaces the running workflow with the new one.
    Replace,
}

/// How a running workflow is shut down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ShutdownStrategy {
    /// Stops immediately, without running exit handlers.
    Terminate,
    /// Stops scheduling new steps but still runs exit handlers.
    Stop,
}

/// When completed pods are deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PodGcStrategy {
    /// Never (the empty string).
    #[serde(rename = "")]
    None,
    /// As soon as each pod completes.
    OnPodCompletion,
    /// As soon as each pod succeeds.
    OnPodSuccess,
    /// When the workflow completes.
    OnWorkflowCompletion,
    /// When the workflow succeeds.
    OnWorkflowSuccess,
}

/// Which failures a template is retried on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RetryPolicy {
    /// On failures and errors.
    Always,
    /// On failures (non-zero exit codes) only.
    OnFailure,
    /// On errors (of Argo or Kubernetes) only.
    OnError,
    /// On transient errors, and errors matching `TRANSIENT_ERROR_PATTERN`.
    OnTransientError,
}

/// Phase of a workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum WorkflowPhase {
    /// Waiting to start.
    Pending,
    /// A node has started.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished with a failed node, or terminated.
    Failed,
    /// Finished with an error.
    Error,
}

/// Phase of one node of a workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum NodePhase {
    /// Waiting to run.
    Pending,
    /// Running.
    Running,
    /// Finished without errors.
    Succeeded,
    /// Skipped (its `when` was false).
    Skipped,
    /// Exited with a non-zero code, or a child did.
    Failed,
    /// Failed for a reason other than its exit code.
    Error,
    /// Not run because its `depends` condition was not met.
    Omitted,
}

/// Kind of a node of a workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum NodeType {
    /// A pod.
    Pod,
    /// A container of a container set.
    Container,
    /// A steps template.
    Steps,
    /// A group of parallel steps.
    StepGroup,
    /// A DAG template.
    #[serde(rename = "DAG")]
    Dag,
    /// A group of expanded DAG tasks.
    TaskGroup,
    /// The parent of retried attempts.
    Retry,
    /// A skipped node.
    Skipped,
    /// A suspend template.
    Suspend,
    /// An HTTP template.
    #[serde(rename = "HTTP")]
    Http,
    /// A plugin template.
    Plugin,
}

/// Phase of a CronWorkflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CronWorkflowPhase {
    /// Not set yet (the empty string).
    #[serde(rename = "")]
    Unset,
    /// Scheduling runs.
    Active,
    /// Stopped because `stopStrategy.expression` became true.
    Stopped,
}

// ---------------------------------------------------------------------------------------
// Spec building blocks
// ---------------------------------------------------------------------------------------

/// Settings of the executor container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorConfig {
    /// Service account of the executor container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Reference to an artifact repository kept in a ConfigMap.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactRepositoryRef {
    /// Name of the ConfigMap (default `artifact-repositories`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<String>,
    /// Key in the ConfigMap (default: the one annotated as default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How long a finished workflow is kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TtlStrategy {
    /// Seconds a completed workflow lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_after_completion: Option<i32>,
    /// Seconds a succeeded workflow lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_after_success: Option<i32>,
    /// Seconds a failed workflow lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_after_failure: Option<i32>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Garbage collection of completed pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodGc {
    /// When pods are deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<PodGcStrategy>,
    /// Only pods matching this selector are deleted (a Kubernetes LabelSelector, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub label_selector: Option<Value>,
    /// How long after completion pods are deleted (a duration such as `30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_delay_duration: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Labels and annotations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Metadata added to the Workflow object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowMetadata {
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels whose values are computed from expressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_from: Option<BTreeMap<String, LabelValueFrom>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A label value computed from an expression.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelValueFrom {
    /// The expression (expr language) giving the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Reference to a WorkflowTemplate or ClusterWorkflowTemplate whose spec a workflow runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowTemplateRef {
    /// Name of the template resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether it is a ClusterWorkflowTemplate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_scope: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Reference to one template of a WorkflowTemplate or ClusterWorkflowTemplate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRef {
    /// Name of the template resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Name of the template inside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Whether the resource is a ClusterWorkflowTemplate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_scope: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parameters and artifacts passed to a template or workflow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Arguments {
    /// Parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<Parameter>>,
    /// Artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parameters and artifacts a template takes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Inputs {
    /// Input parameters, referenced as `{{inputs.parameters.NAME}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<Parameter>>,
    /// Input artifacts, placed at their `path` in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parameters and artifacts a template produces.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Outputs {
    /// Output parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<Parameter>>,
    /// Output artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
    /// Standard output of a script template (in status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Exit code of the main container (in status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A named parameter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    /// Name of the parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Value used when none is supplied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<AnyString>,
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<AnyString>,
    /// Where the value comes from (file, JSON path, ConfigMap, expression, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFrom>,
    /// Exports the parameter globally as `{{workflow.outputs.parameters.GLOBALNAME}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_name: Option<String>,
    /// The values the parameter may take.
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub enum_values: Option<Vec<AnyString>>,
    /// Description of the parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<AnyString>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Where a parameter's value comes from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueFrom {
    /// File in the container whose content is the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// JSON path into a resource template's resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
    /// jq filter applied to a resource template's resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jq_filter: Option<String>,
    /// Expression over the event of a WorkflowEventBinding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Another parameter (of a step or task) whose value this takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// The value is supplied later, by resuming a suspend node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplied: Option<SuppliedValueFrom>,
    /// ConfigMap key holding the value (a Kubernetes ConfigMapKeySelector, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub config_map_key_ref: Option<Value>,
    /// Value used when the source yields nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<AnyString>,
    /// Expression giving the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Marks a parameter value supplied when a suspend node is resumed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SuppliedValueFrom {
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A named artifact: a file or directory passed between templates and stored in a repository.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Name of the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Path of the artifact in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// File mode of the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<i32>,
    /// Artifact of another step or task this one is taken from (`{{steps.X.outputs.artifacts.Y}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Whether logs are archived to this location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_logs: Option<bool>,
    /// S3 location (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub s3: Option<Value>,
    /// Git location (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub git: Option<Value>,
    /// HTTP location (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub http: Option<Value>,
    /// Artifactory location (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub artifactory: Option<Value>,
    /// HDFS location (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub hdfs: Option<Value>,
    /// Inline content (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub raw: Option<Value>,
    /// Alibaba OSS location (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub oss: Option<Value>,
    /// Google Cloud Storage location (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub gcs: Option<Value>,
    /// Azure Blob Storage location (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub azure: Option<Value>,
    /// Artifact-plugin location (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub plugin: Option<Value>,
    /// Exports the artifact globally as `{{workflow.outputs.artifacts.GLOBALNAME}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_name: Option<String>,
    /// How the artifact is archived (`tar`, `zip` or `none`; kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub archive: Option<Value>,
    /// Whether a missing artifact is tolerated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    /// Path inside the artifact to take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    /// Whether directories are copied recursively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurse_mode: Option<bool>,
    /// Expression choosing the artifact to take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_expression: Option<String>,
    /// Garbage collection of this artifact (kept as written).
    #[serde(
        default,
        rename = "artifactGC",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub artifact_gc: Option<Value>,
    /// Whether the artifact has been deleted (in status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Artifact {
    /// Whether the artifact names a storage location (S3, Git, HTTP, raw, ...).
    pub fn has_location(&self) -> bool {
        [
            &self.s3,
            &self.git,
            &self.http,
            &self.artifactory,
            &self.hdfs,
            &self.raw,
            &self.oss,
            &self.gcs,
            &self.azure,
            &self.plugin,
        ]
        .iter()
        .any(|l| l.is_some())
    }
}

/// A lifecycle hook: a template run at the end of, or while, its owner runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleHook {
    /// Name of the template to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Arguments passed to the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Arguments>,
    /// Template of another WorkflowTemplate to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_ref: Option<TemplateRef>,
    /// Condition running the hook (required for every hook but `exit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Retry strategy of a template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryStrategy {
    /// Maximum number of retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<AnyString>,
    /// Which failures are retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
    /// Delay between retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// Node anti-affinity of retried pods (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub affinity: Option<Value>,
    /// Expression deciding whether to retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Exponential backoff between retries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// First delay (`"2"` seconds, `"2m"`, `"1h"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Factor multiplying the delay after each retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<AnyString>,
    /// Maximum total time spent retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<String>,
    /// Maximum single delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Whether a workflow goes on after a step or task fails or errors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContinueOn {
    /// Continue when the node errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<bool>,
    /// Continue when the node fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A numeric sequence a step or task is expanded over.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sequence {
    /// Number of elements (exclusive with `end`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<AnyString>,
    /// First number (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<AnyString>,
    /// Last number (exclusive with `count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<AnyString>,
    /// printf format of each number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------

/// A reusable unit of work: exactly one of `container`, `script`, `resource`, `dag`,
/// `steps`, `suspend`, `containerSet`, `http`, `plugin` or `data`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    /// Name of the template, unique in the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Parameters and artifacts the template takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Inputs>,
    /// Parameters and artifacts the template produces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Outputs>,
    /// Node selector of the template's pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Affinity of the template's pod (a Kubernetes Affinity, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub affinity: Option<Value>,
    /// Labels and annotations of the template's pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Whether the template runs as a daemon for the rest of its scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon: Option<bool>,
    /// Steps: a list of groups run one after another, the steps of a group in parallel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<Vec<WorkflowStep>>>,
    /// The container to run (a Kubernetes Container, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub container: Option<Value>,
    /// Several containers run in one pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_set: Option<ContainerSetTemplate>,
    /// A container running a script given as source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<ScriptTemplate>,
    /// A Kubernetes resource to get, create, apply, delete, replace or patch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceTemplate>,
    /// A directed acyclic graph of tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dag: Option<DagTemplate>,
    /// Suspends the workflow, for a duration or until resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<SuspendTemplate>,
    /// Data sourcing and transformation (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub data: Option<Value>,
    /// An HTTP request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpTemplate>,
    /// An executor-plugin call, keyed by plugin name (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub plugin: Option<Value>,
    /// Volumes of the template's pod (Kubernetes Volumes, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub volumes: Option<Vec<Value>>,
    /// Init containers of the pod (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub init_containers: Option<Vec<Value>>,
    /// Sidecar containers of the pod (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub sidecars: Option<Vec<Value>>,
    /// Where output artifacts are stored (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub archive_location: Option<Value>,
    /// Seconds the template may run (leaf templates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<AnyString>,
    /// How the template is retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_strategy: Option<RetryStrategy>,
    /// Maximum parallel steps or tasks (steps and DAG templates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<i64>,
    /// Whether a DAG or steps template stops scheduling after a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_fast: Option<bool>,
    /// Tolerations of the pod (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub tolerations: Option<Vec<Value>>,
    /// Scheduler of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler_name: Option<String>,
    /// Priority class of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Service account of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Whether a service account token is mounted into the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    /// Settings of the executor container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<ExecutorConfig>,
    /// Extra `/etc/hosts` entries (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub host_aliases: Option<Vec<Value>>,
    /// Pod-level security context (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub security_context: Option<Value>,
    /// Strategic merge patch (YAML or JSON text) applied to the pod spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_spec_patch: Option<String>,
    /// Prometheus metrics emitted by the template (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub metrics: Option<Value>,
    /// Semaphores and mutexes the template must hold (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub synchronization: Option<Value>,
    /// Caching of the template's outputs (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub memoize: Option<Value>,
    /// Maximum duration of a leaf template (`"30s"`, `"5m"`); whole numbers are invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Annotations of the node (for the UI), not of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Maximum time the pod may stay pending (leaf templates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_timeout: Option<String>,
    /// Pod-level resources (a Kubernetes ResourceRequirements, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub pod_resources: Option<Value>,
    /// Dynamic resource claims of the pod (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub resource_claims: Option<Vec<Value>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The kind of a [`Template`], from the one type field it sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateType {
    /// `container`.
    Container,
    /// `containerSet`.
    ContainerSet,
    /// `steps`.
    Steps,
    /// `script`.
    Script,
    /// `resource`.
    Resource,
    /// `dag`.
    Dag,
    /// `suspend`.
    Suspend,
    /// `data`.
    Data,
    /// `http`.
    Http,
    /// `plugin`.
    Plugin,
}

impl Template {
    /// The types this template sets (a valid template sets exactly one).
    pub fn types(&self) -> Vec<TemplateType> {
        let mut types = Vec::new();
        let set = [
            (self.container.is_some(), TemplateType::Container),
            (self.container_set.is_some(), TemplateType::ContainerSet),
            (self.steps.is_some(), TemplateType::Steps),
            (self.script.is_some(), TemplateType::Script),
            (self.resource.is_some(), TemplateType::Resource),
            (self.dag.is_some(), TemplateType::Dag),
            (self.suspend.is_some(), TemplateType::Suspend),
            (self.data.is_some(), TemplateType::Data),
            (self.http.is_some(), TemplateType::Http),
            (self.plugin.is_some(), TemplateType::Plugin),
        ];
        for (present, kind) in set {
            if present {
                types.push(kind);
            }
        }
        types
    }

    /// The template's type, when it sets exactly one.
    pub fn template_type(&self) -> Option<TemplateType> {
        match self.types().as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

/// Several containers run in one pod, ordered by their dependencies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSetTemplate {
    /// The containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<ContainerNode>>,
    /// Volume mounts of every container (Kubernetes VolumeMounts, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub volume_mounts: Option<Vec<Value>>,
    /// How failed containers are retried (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub retry_strategy: Option<Value>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One container of a container set: a Kubernetes Container plus its dependencies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerNode {
    /// Name of the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Image of the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Names of the containers that must finish first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<String>>,
    /// The other Kubernetes Container fields, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A container running a script: a Kubernetes Container plus the script source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScriptTemplate {
    /// Image of the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Interpreter command (e.g. `[python]`); the script file is appended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Source code of the script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The other Kubernetes Container fields, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A Kubernetes resource manipulated by the workflow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTemplate {
    /// One of `get`, `create`, `apply`, `delete`, `replace`, `patch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Patch strategy: `strategic` (default), `merge` or `json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_strategy: Option<String>,
    /// The manifest, as YAML or JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// Where the manifest comes from instead (an input artifact; kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub manifest_from: Option<Value>,
    /// Whether the workflow owns the created resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_owner_reference: Option<bool>,
    /// Label-selector-like condition on the resource meaning success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_condition: Option<String>,
    /// Label-selector-like condition on the resource meaning failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_condition: Option<String>,
    /// Extra `kubectl` flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Suspends the workflow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuspendTemplate {
    /// How long to wait before resuming (`"20"` seconds, `"2m"`); forever when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An HTTP request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpTemplate {
    /// HTTP method (default `GET`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// URL to call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Request headers (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub headers: Option<Vec<Value>>,
    /// Request timeout in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    /// Expression on the response meaning success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_condition: Option<String>,
    /// Request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Where the body comes from instead (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub body_from: Option<Value>,
    /// Whether TLS certificates are not verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A directed acyclic graph of tasks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DagTemplate {
    /// Space-separated names of the tasks to run (with their dependencies); all when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The tasks (at least one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<DagTask>>,
    /// Whether to stop scheduling new tasks once one fails (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_fast: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A task of a DAG.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DagTask {
    /// Name of the task, unique in the DAG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Name of the template to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The template to run, written inline (kept as a typed template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub inline: Option<Box<Template>>,
    /// Arguments passed to the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Arguments>,
    /// Template of another WorkflowTemplate to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_ref: Option<TemplateRef>,
    /// Names of the tasks that must succeed first (exclusive with `depends`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<String>>,
    /// Runs the task once per item (any JSON values, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_list_schema")]
    pub with_items: Option<Vec<Value>>,
    /// Runs the task once per element of a JSON list given by a parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_param: Option<String>,
    /// Runs the task once per number of a sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_sequence: Option<Sequence>,
    /// Condition for running the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Whether the DAG goes on when the task fails or errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_on: Option<ContinueOn>,
    /// Template run when the task ends (prefer `hooks.exit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_exit: Option<String>,
    /// Boolean expression over other tasks' results (`a.Succeeded && (b || c.Failed)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends: Option<String>,
    /// Lifecycle hooks of the task, by event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<BTreeMap<String, LifecycleHook>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A step of a steps template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStep {
    /// Name of the step, unique in the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Name of the template to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The template to run, written inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub inline: Option<Box<Template>>,
    /// Arguments passed to the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Arguments>,
    /// Template of another WorkflowTemplate to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_ref: Option<TemplateRef>,
    /// Runs the step once per item (any JSON values, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_list_schema")]
    pub with_items: Option<Vec<Value>>,
    /// Runs the step once per element of a JSON list given by a parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_param: Option<String>,
    /// Runs the step once per number of a sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_sequence: Option<Sequence>,
    /// Condition for running the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Whether the steps go on when this step fails or errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_on: Option<ContinueOn>,
    /// Template run when the step ends (prefer `hooks.exit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_exit: Option<String>,
    /// Lifecycle hooks of the step, by event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<BTreeMap<String, LifecycleHook>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Stops a CronWorkflow once its expression is true.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StopStrategy {
    /// Expression over `cronworkflow.failed` / `cronworkflow.succeeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------

/// Observed state of a [`Workflow`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStatus {
    /// Phase of the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<WorkflowPhase>,
    /// When the workflow started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the workflow finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Estimated duration in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_duration: Option<i64>,
    /// Progress, as `done/total`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// Why the workflow is in this phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Nodes, compressed (when large).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressed_nodes: Option<String>,
    /// Nodes of the workflow, by node ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<BTreeMap<String, NodeStatus>>,
    /// Version of the offloaded node status, when nodes are offloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offload_node_status_version: Option<String>,
    /// Templates resolved from template references, by ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_templates: Option<BTreeMap<String, Template>>,
    /// Persistent volume claims created by the workflow (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub persistent_volume_claims: Option<Vec<Value>>,
    /// Global outputs of the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Outputs>,
    /// Conditions of the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Resources used, in resource-seconds, by resource name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_duration: Option<BTreeMap<String, i64>>,
    /// The spec of the referenced WorkflowTemplate, as run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_workflow_template_spec: Option<Box<WorkflowSpec>>,
    /// Locks held and waited for (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub synchronization: Option<Value>,
    /// The artifact repository used (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub artifact_repository_ref: Option<Value>,
    /// Progress of artifact garbage collection (kept as written).
    #[serde(
        default,
        rename = "artifactGCStatus",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub artifact_gc_status: Option<Value>,
    /// Whether each task result has completed, by node ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_results_completion_status: Option<BTreeMap<String, bool>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Observed state of one node of a workflow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// Unique ID of the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Unique name of the node in the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Name shown in the UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Kind of node.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub node_type: Option<NodeType>,
    /// Name of the template the node runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_name: Option<String>,
    /// Template reference the node runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_ref: Option<TemplateRef>,
    /// Scope the template was resolved in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_scope: Option<String>,
    /// Phase of the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<NodePhase>,
    /// ID of the steps or DAG node this node belongs to.
    #[serde(
        default,
        rename = "boundaryID",
        skip_serializing_if = "Option::is_none"
    )]
    pub boundary_id: Option<String>,
    /// Why the node is in this phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the node started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the node finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Estimated duration in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_duration: Option<i64>,
    /// Progress, as `done/total`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// Resources used, in resource-seconds, by resource name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_duration: Option<BTreeMap<String, i64>>,
    /// IP of the node's pod (daemons).
    #[serde(default, rename = "podIP", skip_serializing_if = "Option::is_none")]
    pub pod_ip: Option<String>,
    /// Whether the node's pod runs as a daemon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemoned: Option<bool>,
    /// Hook and retry flags (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub node_flag: Option<Value>,
    /// Inputs the node ran with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Inputs>,
    /// Outputs the node produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Outputs>,
    /// IDs of the child nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<String>>,
    /// IDs of the last nodes of a steps or DAG node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_nodes: Option<Vec<String>>,
    /// Kubernetes node the pod ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_node_name: Option<String>,
    /// Memoization cache hit or miss (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub memoization_status: Option<Value>,
    /// Lock the node waits for (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub synchronization_status: Option<Value>,
    /// Whether the node's task result has been synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_result_synced: Option<bool>,
    /// Number of times the node's pod was restarted after infrastructure failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_pod_restarts: Option<i32>,
    /// UID of the pod being restarted.
    #[serde(
        default,
        rename = "restartingPodUID",
        skip_serializing_if = "Option::is_none"
    )]
    pub restarting_pod_uid: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A condition of a workflow or CronWorkflow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Type of the condition (`PodRunning`, `Completed`, `SubmissionError`, ...).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub condition_type: Option<String>,
    /// `True`, `False` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Observed state of a [`CronWorkflow`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CronWorkflowStatus {
    /// Running workflows started by the CronWorkflow (Kubernetes ObjectReferences, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_list_schema")]
    pub active: Option<Vec<Value>>,
    /// When a workflow was last scheduled (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scheduled_time: Option<String>,
    /// Conditions of the CronWorkflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// How many child workflows succeeded (v3.6 and after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded: Option<i64>,
    /// How many child workflows failed (v3.6 and after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<i64>,
    /// `Active`, or `Stopped` once `stopStrategy.expression` is true (v3.6 and after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<CronWorkflowPhase>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------
// Validation (argo-workflows workflow/validate/validate.go)
// ---------------------------------------------------------------------------------------

/// Which kind holds the spec being validated: it decides whether `entrypoint` is required
/// and whether global parameters need values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SpecKind {
    Workflow,
    WorkflowTemplate,
    ClusterWorkflowTemplate,
}

impl SpecKind {
    fn is_template(self) -> bool {
        self != SpecKind::Workflow
    }
}

impl Validate for WorkflowSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        validate_spec(self, path, out, SpecKind::Workflow);
    }
}

impl Validate for WorkflowTemplateSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        validate_spec(&self.0, path, out, SpecKind::WorkflowTemplate);
    }
}

impl Validate for ClusterWorkflowTemplateSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        validate_spec(&self.0, path, out, SpecKind::ClusterWorkflowTemplate);
    }
}

impl Validate for CronWorkflowSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        let schedules = self.all_schedules();
        if schedules.is_empty() {
            out.push(path.key("schedules"), "must have at least one schedule");
        }
        if let Some(list) = &self.schedules {
            for (i, s) in list.iter().enumerate() {
                if let Err(e) = crate::cron::parse(s, crate::cron::Dialect::Standard) {
                    out.push(
                        path.key("schedules").index(i),
                        format!("cron schedule {s:?} is malformed: {e}"),
                    );
                }
            }
        } else if let Some(s) = &self.schedule
            && let Err(e) = crate::cron::parse(s, crate::cron::Dialect::Standard)
        {
            out.push(
                path.key("schedule"),
                format!("cron schedule {s:?} is malformed: {e}"),
            );
        }
        if let Some(tz) = &self.timezone
            && !tz.is_empty()
            && !crate::cron::looks_like_time_zone(tz)
        {
            out.push(path.key("timezone"), format!("invalid timezone {tz:?}"));
        }
        if let Some(secs) = self.starting_deadline_seconds
            && secs < 0
        {
            out.push(path.key("startingDeadlineSeconds"), "must be positive");
        }
        match &self.workflow_spec {
            Some(spec) => validate_spec(spec, &path.key("workflowSpec"), out, SpecKind::Workflow),
            None => out.push(path.key("workflowSpec"), "is required"),
        }
    }
}

/// Names of the templates of a spec, for resolving references.
struct Ctx<'a> {
    names: BTreeSet<&'a str>,
    defaults: Option<&'a Template>,
}

impl Ctx<'_> {
    /// Whether `name` names a template of the spec (names built from `{{...}}`
    /// expressions are resolved at run time and not checked).
    fn resolves(&self, name: &str) -> bool {
        name.contains("{{") || self.names.contains(name)
    }
}

fn is_blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(str::is_empty)
}

fn validate_spec(spec: &WorkflowSpec, path: &FieldPath, out: &mut Violations, kind: SpecKind) {
    let templates = spec.templates.as_deref().unwrap_or_default();
    let ctx = Ctx {
        names: templates.iter().filter_map(|t| t.name.as_deref()).collect(),
        defaults: spec.template_defaults.as_deref(),
    };
    let has_ref = spec.workflow_template_ref.is_some();

    if let Some(r) = &spec.workflow_template_ref {
        if !templates.is_empty() {
            out.push(
                path.key("templates"),
                "must be empty when workflowTemplateRef is set",
            );
        }
        if is_blank(&r.name) {
            out.push(path.key("workflowTemplateRef").key("name"), "is required");
        }
    }

    validate_field_names(
        templates.iter().map(|t| t.name.as_deref()),
        &path.key("templates"),
        NameRule::Field,
        out,
    );

    if let Some(args) = &spec.arguments {
        // A Workflow's global parameters need values; templates may leave them to submission.
        // With workflowTemplateRef the referenced template may supply them.
        let allow_empty = kind.is_template() || has_ref;
        validate_arguments(args, &path.key("arguments"), allow_empty, out);
    }

    match spec.entrypoint.as_deref().filter(|e| !e.is_empty()) {
        None if !kind.is_template() && !has_ref => {
            out.push(path.key("entrypoint"), "is required");
        }
        Some(e) if !has_ref && !ctx.resolves(e) => {
            out.push(
                path.key("entrypoint"),
                format!("template name '{e}' undefined"),
            );
        }
        _ => {}
    }

    if let Some(on_exit) = spec.on_exit.as_deref().filter(|e| !e.is_empty())
        && !has_ref
        && !ctx.resolves(on_exit)
    {
        out.push(
            path.key("onExit"),
            format!("template name '{on_exit}' undefined"),
        );
    }

    if let Some(hooks) = &spec.hooks {
        validate_hooks(hooks, &path.key("hooks"), &ctx, !has_ref, out);
    }

    for (i, t) in templates.iter().enumerate() {
        validate_template(t, &path.key("templates").index(i), &ctx, out);
    }
}

/// Rules on the names of a list's items (Argo's `validateWorkflowFieldNames`).
#[derive(Clone, Copy)]
enum NameRule {
    /// Templates, steps, tasks: `[a-zA-Z0-9][-a-zA-Z0-9]*`, at most 128 characters.
    Field,
    /// Parameters and artifacts: `[-a-zA-Z0-9_]+`.
    ParamOrArtifact,
}

fn is_valid_field_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

fn is_valid_param_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn validate_field_names<'a>(
    names: impl Iterator<Item = Option<&'a str>>,
    path: &FieldPath,
    rule: NameRule,
    out: &mut Violations,
) {
    let mut seen = BTreeSet::new();
    for (i, name) in names.enumerate() {
        let item = path.index(i).key("name");
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            out.push(item, "is required");
            continue;
        };
        let ok = match rule {
            NameRule::Field => is_valid_field_name(name),
            NameRule::ParamOrArtifact => is_valid_param_name(name),
        };
        if !ok {
            let msg = match rule {
                NameRule::Field => format!(
                    "'{name}' is invalid: name must consist of alpha-numeric characters or '-', \
                     and must start with an alpha-numeric character (at most 128 characters)"
                ),
                NameRule::ParamOrArtifact => format!(
                    "'{name}' is invalid: Parameter/Artifact name must consist of alpha-numeric \
                     characters, '_' or '-'"
                ),
            };
            out.push(item.clone(), msg);
        }
        if !seen.insert(name) {
            out.push(item, format!("'{name}' is not unique"));
        }
    }
}

fn validate_arguments(args: &Arguments, path: &FieldPath, allow_empty: bool, out: &mut Violations) {
    if let Some(params) = &args.parameters {
        let ppath = path.key("parameters");
        validate_field_names(
            params.iter().map(|p| p.name.as_deref()),
            &ppath,
            NameRule::ParamOrArtifact,
            out,
        );
        for (i, p) in params.iter().enumerate() {
            let here = ppath.index(i);
            if p.value.is_none() && p.value_from.is_none() && !allow_empty {
                out.push(here.key("value"), "value or valueFrom is required");
            }
            if let Some(vf) = &p.value_from {
                let allowed = vf.config_map_key_ref.is_some()
                    || !is_blank(&vf.event)
                    || vf.supplied.is_some();
                let forbidden = !is_blank(&vf.path)
                    || !is_blank(&vf.json_path)
                    || !is_blank(&vf.parameter)
                    || !is_blank(&vf.expression);
                if !allowed || forbidden {
                    out.push(
                        here.key("valueFrom"),
                        "valueFrom only allows: default, configMapKeyRef and supplied",
                    );
                }
            }
            if let Some(values) = &p.enum_values {
                if values.is_empty() {
                    out.push(here.key("enum"), "should contain at least one value");
                } else if let Some(v) = &p.value {
                    let v = v.to_string_lossy();
                    if !values.iter().any(|e| e.to_string_lossy() == v) {
                        out.push(here.key("value"), "should be present in the enum list");
                    }
                } else if !allow_empty {
                    out.push(here.key("value"), "is required");
                }
            }
        }
    }
    if let Some(arts) = &args.artifacts {
        let apath = path.key("artifacts");
        validate_field_names(
            arts.iter().map(|a| a.name.as_deref()),
            &apath,
            NameRule::ParamOrArtifact,
            out,
        );
        for (i, a) in arts.iter().enumerate() {
            if is_blank(&a.from) && !a.has_location() {
                out.push(
                    apath.index(i),
                    "from, artifact location, or key is required",
                );
            }
            if !is_blank(&a.from) && !is_blank(&a.from_expression) {
                out.push(
                    apath.index(i),
                    "shouldn't have both `from` and `fromExpression` in Artifact",
                );
            }
        }
    }
}

fn validate_hooks(
    hooks: &BTreeMap<String, LifecycleHook>,
    path: &FieldPath,
    ctx: &Ctx<'_>,
    resolve: bool,
    out: &mut Violations,
) {
    for (event, hook) in hooks {
        let here = path.key(event.clone());
        if event != "exit" && is_blank(&hook.expression) {
            out.push(here.key("expression"), "Expression required");
        }
        if resolve {
            validate_holder(&hook.template, &hook.template_ref, None, &here, ctx, out);
        }
    }
}

/// Checks how a step, task or hook names its template (Argo's `validateTemplateHolder`).
fn validate_holder(
    template: &Option<String>,
    template_ref: &Option<TemplateRef>,
    inline: Option<&Template>,
    path: &FieldPath,
    ctx: &Ctx<'_>,
    out: &mut Violations,
) {
    if let Some(r) = template_ref {
        if !is_blank(template) {
            out.push(
                path.key("template"),
                "template name cannot be specified with templateRef",
            );
        }
        if is_blank(&r.name) {
            out.push(
                path.key("templateRef").key("name"),
                "resource name is required",
            );
        }
        if is_blank(&r.template) {
            out.push(
                path.key("templateRef").key("template"),
                "template name is required",
            );
        }
    } else if let Some(name) = template.as_deref().filter(|n| !n.is_empty()) {
        if !ctx.resolves(name) {
            out.push(
                path.key("template"),
                format!("template name '{name}' undefined"),
            );
        }
    } else if let Some(t) = inline {
        validate_template(t, &path.key("inline"), ctx, out);
    } else {
        out.push(
            path.key("template"),
            "one of template, templateRef or inline is required",
        );
    }
}

fn is_leaf(t: Option<TemplateType>) -> bool {
    matches!(
        t,
        Some(
            TemplateType::Container
                | TemplateType::ContainerSet
                | TemplateType::Script
                | TemplateType::Resource
                | TemplateType::Data
                | TemplateType::Http
                | TemplateType::Plugin
        )
    )
}

fn validate_template(t: &Template, path: &FieldPath, ctx: &Ctx<'_>, out: &mut Violations) {
    let types = t.types();
    match types.len() {
        0 => out.push(
            path.clone(),
            "template type unspecified. choose one of: container, containerSet, steps, script, \
             resource, dag, suspend, data, http, plugin",
        ),
        1 => {}
        _ => out.push(
            path.clone(),
            "multiple template types specified. choose one of: container, containerSet, steps, \
             script, resource, dag, suspend, data, http, plugin",
        ),
    }
    let kind = t.template_type();

    if let Some(inputs) = &t.inputs {
        if let Some(params) = &inputs.parameters {
            validate_field_names(
                params.iter().map(|p| p.name.as_deref()),
                &path.key("inputs").key("parameters"),
                NameRule::ParamOrArtifact,
                out,
            );
        }
        if let Some(arts) = &inputs.artifacts {
            validate_field_names(
                arts.iter().map(|a| a.name.as_deref()),
                &path.key("inputs").key("artifacts"),
                NameRule::ParamOrArtifact,
                out,
            );
        }
    }

    if let Some(inits) = &t.init_containers {
        for (i, c) in inits.iter().enumerate() {
            if c.get("name")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                out.push(
                    path.key("initContainers").index(i).key("name"),
                    "is required",
                );
            }
        }
    }

    if let Some(timeout) = t.timeout.as_deref().filter(|s| !s.is_empty()) {
        if kind.is_some() && !is_leaf(kind) {
            out.push(path.key("timeout"), "is only supported by leaf templates");
        } else if timeout.parse::<i64>().is_ok() {
            out.push(
                path.key("timeout"),
                "has invalid duration format (a unit is required, e.g. \"30s\")",
            );
        }
    }
    if !is_blank(&t.pending_timeout) && kind.is_some() && !is_leaf(kind) {
        out.push(
            path.key("pendingTimeout"),
            "is only supported by leaf templates",
        );
    }

    let orchestrates = matches!(kind, Some(TemplateType::Steps | TemplateType::Dag));
    if orchestrates && t.active_deadline_seconds.is_some() {
        out.push(
            path.key("activeDeadlineSeconds"),
            "is only valid for leaf templates",
        );
    }
    if kind.is_some() && !orchestrates && t.parallelism.is_some() {
        out.push(
            path.key("parallelism"),
            "is only valid for steps and dag templates",
        );
    }

    if let Some(steps) = &t.steps {
        validate_steps(steps, &path.key("steps"), ctx, out);
    }
    if let Some(dag) = &t.dag {
        validate_dag(dag, &path.key("dag"), ctx, out);
    }
    if let Some(r) = &t.resource {
        validate_resource(r, t, &path.key("resource"), out);
    }
    if let Some(c) = &t.container {
        let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
        let default = ctx
            .defaults
            .and_then(|d| d.container.as_ref())
            .and_then(|c| c.get("image"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if image.is_empty() && default.is_empty() {
            out.push(path.key("container").key("image"), "may not be empty");
        }
    }
    if let Some(s) = &t.script {
        let default = ctx
            .defaults
            .and_then(|d| d.script.as_ref())
            .and_then(|s| s.image.as_deref())
            .unwrap_or_default();
        if is_blank(&s.image) && default.is_empty() {
            out.push(path.key("script").key("image"), "may not be empty");
        }
    }
}

fn validate_resource(r: &ResourceTemplate, t: &Template, path: &FieldPath, out: &mut Violations) {
    let action = r.action.as_deref().unwrap_or_default();
    if !action.contains("{{")
        && !matches!(
            action,
            "get" | "create" | "apply" | "delete" | "replace" | "patch"
        )
    {
        out.push(
            path.key("action"),
            "must be one of: get, create, apply, delete, replace, patch",
        );
    }
    if action != "delete" && action != "get" {
        let has_manifest = !is_blank(&r.manifest);
        match (has_manifest, &r.manifest_from) {
            (false, None) => out.push(
                path.key("manifest"),
                "either manifest or manifestFrom must be specified",
            ),
            (true, Some(_)) => out.push(
                path.key("manifestFrom"),
                "shouldn't have both `manifest` and `manifestFrom` specified",
            ),
            (false, Some(from)) => {
                if let Some(name) = from
                    .get("artifact")
                    .and_then(|a| a.get("name"))
                    .and_then(Value::as_str)
                {
                    let found = t
                        .inputs
                        .as_ref()
                        .and_then(|i| i.artifacts.as_ref())
                        .is_some_and(|arts| arts.iter().any(|a| a.name.as_deref() == Some(name)));
                    if !found {
                        out.push(
                            path.key("manifestFrom").key("artifact").key("name"),
                            format!(
                                "artifact {name} in `manifestFrom` refer to a non-exist artifact"
                            ),
                        );
                    }
                }
            }
            (true, None) => {}
        }
    }
}

/// The checks shared by steps and DAG tasks: expansion, arguments, template reference, hooks.
#[allow(clippy::too_many_arguments)]
fn validate_invocation(
    template: &Option<String>,
    template_ref: &Option<TemplateRef>,
    inline: &Option<Box<Template>>,
    arguments: &Option<Arguments>,
    with: (bool, bool, Option<&Sequence>),
    on_exit: &Option<String>,
    hooks: &Option<BTreeMap<String, LifecycleHook>>,
    path: &FieldPath,
    ctx: &Ctx<'_>,
    out: &mut Violations,
) {
    let (items, param, sequence) = with;
    if [items, param, sequence.is_some()]
        .iter()
        .filter(|b| **b)
        .count()
        > 1
    {
        out.push(
            path.clone(),
            "only one of withItems, withParam, withSequence can be specified",
        );
    }
    if let Some(seq) = sequence
        && seq.count.is_some()
        && seq.end.is_some()
    {
        out.push(
            path.key("withSequence"),
            "only one of count or end can be defined in withSequence",
        );
    }
    if let Some(args) = arguments {
        validate_arguments(args, &path.key("arguments"), false, out);
    }
    validate_holder(template, template_ref, inline.as_deref(), path, ctx, out);
    if let Some(name) = on_exit.as_deref().filter(|n| !n.is_empty())
        && !ctx.resolves(name)
    {
        out.push(
            path.key("onExit"),
            format!("template name '{name}' undefined"),
        );
    }
    if let Some(hooks) = hooks {
        validate_hooks(hooks, &path.key("hooks"), ctx, true, out);
    }
}

fn validate_steps(
    groups: &[Vec<WorkflowStep>],
    path: &FieldPath,
    ctx: &Ctx<'_>,
    out: &mut Violations,
) {
    let mut seen = BTreeSet::new();
    for (g, group) in groups.iter().enumerate() {
        for (s, step) in group.iter().enumerate() {
            let here = path.index(g).index(s);
            match step.name.as_deref().filter(|n| !n.is_empty()) {
                None => out.push(here.key("name"), "is required"),
                Some(name) => {
                    if !seen.insert(name) {
                        out.push(here.key("name"), format!("'{name}' is not unique"));
                    }
                    // Parts built from `{{...}}` are resolved at run time.
                    if !is_valid_field_name(&mask_expressions(name)) {
                        out.push(
                            here.key("name"),
                            format!(
                                "'{name}' is invalid: name must consist of alpha-numeric \
                                 characters or '-', and must start with an alpha-numeric character"
                            ),
                        );
                    }
                }
            }
            validate_invocation(
                &step.template,
                &step.template_ref,
                &step.inline,
                &step.arguments,
                (
                    step.with_items.as_ref().is_some_and(|v| !v.is_empty()),
                    !is_blank(&step.with_param),
                    step.with_sequence.as_ref(),
                ),
                &step.on_exit,
                &step.hooks,
                &here,
                ctx,
                out,
            );
        }
    }
}

/// Replaces every `{{...}}` expression of a name by `x`, so that only its literal parts
/// are checked.
fn mask_expressions(name: &str) -> String {
    let mut out = String::new();
    let mut rest = name;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                out.push('x');
                rest = &rest[start + end + 2..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Task results a `depends` expression may test.
const TASK_RESULTS: [&str; 8] = [
    "Succeeded",
    "Failed",
    "Errored",
    "Skipped",
    "Omitted",
    "Daemoned",
    "AnySucceeded",
    "AllFailed",
];

/// The task names a `depends` expression refers to, each with the result it tests
/// (Argo's `taskNameRegex`: `name.Result` or a bare `name`).
pub fn depends_references(expr: &str) -> Vec<(String, Option<String>)> {
    let bytes = expr.as_bytes();
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    let mut refs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_name(bytes[i]) {
            i += 1;
        }
        let name = &expr[start..i];
        // `name.Result`: a dot, an upper-case letter, then at least one more letter.
        if bytes.get(i) == Some(&b'.')
            && bytes.get(i + 1).is_some_and(u8::is_ascii_uppercase)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_alphabetic)
        {
            let rstart = i + 1;
            let mut j = rstart + 1;
            while j < bytes.len() && bytes[j].is_ascii_alphabetic() {
                j += 1;
            }
            refs.push((name.to_owned(), Some(expr[rstart..j].to_owned())));
            i = j;
        } else {
            refs.push((name.to_owned(), None));
        }
    }
    refs
}

fn validate_dag(dag: &DagTemplate, path: &FieldPath, ctx: &Ctx<'_>, out: &mut Violations) {
    let tasks = dag.tasks.as_deref().unwrap_or_default();
    let tpath = path.key("tasks");
    if tasks.is_empty() {
        out.push(tpath.clone(), "must have at least one task");
        return;
    }
    validate_field_names(
        tasks.iter().map(|t| t.name.as_deref()),
        &tpath,
        NameRule::Field,
        out,
    );
    let by_name: BTreeMap<&str, &DagTask> = tasks
        .iter()
        .filter_map(|t| t.name.as_deref().map(|n| (n, t)))
        .collect();
    let using_depends = tasks.iter().any(|t| !is_blank(&t.depends));

    let mut graph: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (i, task) in tasks.iter().enumerate() {
        let here = tpath.index(i);
        let name = task.name.as_deref().unwrap_or_default();
        let deps = task.dependencies.as_deref().unwrap_or_default();
        if (using_depends || !deps.is_empty()) && name.starts_with(|c: char| c.is_ascii_digit()) {
            out.push(
                here.key("name"),
                "name cannot begin with a digit when using either 'depends' or 'dependencies'",
            );
        }
        if using_depends && !deps.is_empty() {
            out.push(
                here.key("dependencies"),
                "cannot use both 'depends' and 'dependencies' in the same DAG template",
            );
        }
        if using_depends && task.continue_on.is_some() {
            out.push(
                here.key("continueOn"),
                "cannot use 'continueOn' when using 'depends'. Instead use 'dep-task.Failed'/'dep-task.Errored'",
            );
        }
        validate_invocation(
            &task.template,
            &task.template_ref,
            &task.inline,
            &task.arguments,
            (
                task.with_items.as_ref().is_some_and(|v| !v.is_empty()),
                !is_blank(&task.with_param),
                task.with_sequence.as_ref(),
            ),
            &task.on_exit,
            &task.hooks,
            &here,
            ctx,
            out,
        );

        // Dependencies, as Argo computes them: `depends` wins over `dependencies`.
        let mut names: Vec<String> = Vec::new();
        if let Some(expr) = task.depends.as_deref().filter(|d| !d.is_empty()) {
            for (dep, result) in depends_references(expr) {
                if let Some(result) = &result
                    && !TASK_RESULTS.contains(&result.as_str())
                {
                    out.push(
                        here.key("depends"),
                        format!("task result '{result}' for task '{dep}' is invalid"),
                    );
                }
                match by_name.get(dep.as_str()) {
                    None => out.push(
                        here.key("depends"),
                        format!("dependency '{dep}' not defined"),
                    ),
                    Some(dt) => {
                        let items_based =
                            matches!(result.as_deref(), Some("AnySucceeded" | "AllFailed"));
                        let expands = dt.with_items.as_ref().is_some_and(|v| !v.is_empty())
                            || !is_blank(&dt.with_param)
                            || dt.with_sequence.is_some();
                        if items_based && !expands {
                            out.push(
                                here.key("depends"),
                                format!(
                                    "dependency '{dep}' uses an items-based condition such as \
                                     .AnySucceeded or .AllFailed but does not contain any items"
                                ),
                            );
                        }
                    }
                }
                if !names.contains(&dep) {
                    names.push(dep);
                }
            }
        } else {
            for (d, dep) in deps.iter().enumerate() {
                if !by_name.contains_key(dep.as_str()) {
                    out.push(
                        here.key("dependencies").index(d),
                        format!("dependency '{dep}' not defined"),
                    );
                }
                if !names.contains(dep) {
                    names.push(dep.clone());
                }
            }
        }
        graph.insert(name, names);
    }

    if let Some(cycle) = find_cycle(&graph) {
        out.push(
            tpath,
            format!("dependency cycle detected: {}", cycle.join("->")),
        );
    }

    if let Some(target) = dag.target.as_deref() {
        for name in target.split(' ').filter(|n| !n.is_empty()) {
            if !name.contains("{{") && !by_name.contains_key(name) {
                out.push(
                    path.key("target"),
                    format!("target '{name}' is not defined"),
                );
            }
        }
    }
}

/// A dependency cycle of a DAG, as task names from its first task back to it.
fn find_cycle(graph: &BTreeMap<&str, Vec<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<&str, Vec<String>>,
        marks: &mut BTreeMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Visiting) => {
                let from = stack.iter().position(|n| *n == node).unwrap_or_default();
                let mut cycle: Vec<String> =
                    stack[from..].iter().map(|s| (*s).to_owned()).collect();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node, Mark::Visiting);
        stack.push(node);
        if let Some(deps) = graph.get(node) {
            for dep in deps {
                if let Some((key, _)) = graph.get_key_value(dep.as_str())
                    && let Some(cycle) = visit(key, graph, marks, stack)
                {
                    return Some(cycle);
                }
            }
        }
        stack.pop();
        marks.insert(node, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        let mut stack = Vec::new();
        if let Some(cycle) = visit(node, graph, &mut marks, &mut stack) {
            return Some(cycle);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_expressions() {
        let refs = depends_references("(A.Succeeded || b-2) && !c.AnySucceeded");
        assert_eq!(
            refs,
            vec![
                ("A".to_owned(), Some("Succeeded".to_owned())),
                ("b-2".to_owned(), None),
                ("c".to_owned(), Some("AnySucceeded".to_owned())),
            ]
        );
    }
}
