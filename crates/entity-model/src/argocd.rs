//! Argo CD kinds (`argoproj.io/v1alpha1`): `Application`, `AppProject`, `ApplicationSet`.
//!
//! Field names, types and required fields follow Argo CD's Go types
//! (`pkg/apis/application/v1alpha1`) and CRDs (`manifests/crds`). Validation follows the
//! checks Argo CD itself makes (`util/argo`, `AppProject.ValidateProject`, the
//! ApplicationSet generators).

use std::collections::{BTreeMap, BTreeSet};

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{AnyString, Extra};
use crate::path::FieldPath;
use crate::validate::{Validate, Violations};

// ---------------------------------------------------------------------------------------
// Application
// ---------------------------------------------------------------------------------------

/// An Argo CD Application: a group of Kubernetes resources, rendered from a source
/// (Git, Helm or OCI), kept in sync with a destination cluster and namespace.
///
/// Unlike kube's derived [`ApplicationCrd`], it keeps Argo's top-level `operation`
/// (a requested sync), so an Application read from a cluster is written back whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "ApplicationWire", into = "ApplicationWire")]
pub struct Application {
    /// Standard object metadata.
    pub metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    /// Desired state.
    pub spec: ApplicationSpec,
    /// Observed state, written by the controller.
    pub status: Option<ApplicationStatus>,
    /// An operation (a sync) requested by a user; the controller clears it when it starts.
    pub operation: Option<Operation>,
}

impl Application {
    /// A new Application with the given name and spec.
    pub fn new(name: &str, spec: ApplicationSpec) -> Self {
        Application {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(name.to_owned()),
                ..Default::default()
            },
            spec,
            status: None,
            operation: None,
        }
    }
}

/// How an [`Application`] is written: `apiVersion` and `kind` first, as kube writes them.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApplicationWire {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    spec: ApplicationSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<ApplicationStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operation: Option<Operation>,
}

impl From<ApplicationWire> for Application {
    fn from(wire: ApplicationWire) -> Self {
        Application {
            metadata: wire.metadata,
            spec: wire.spec,
            status: wire.status,
            operation: wire.operation,
        }
    }
}

impl From<Application> for ApplicationWire {
    fn from(app: Application) -> Self {
        ApplicationWire {
            api_version: "argoproj.io/v1alpha1".to_owned(),
            kind: "Application".to_owned(),
            metadata: app.metadata,
            spec: app.spec,
            status: app.status,
            operation: app.operation,
        }
    }
}

impl kube::Resource for Application {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(dt: &()) -> std::borrow::Cow<'_, str> {
        ApplicationCrd::kind(dt)
    }

    fn group(dt: &()) -> std::borrow::Cow<'_, str> {
        ApplicationCrd::group(dt)
    }

    fn version(dt: &()) -> std::borrow::Cow<'_, str> {
        ApplicationCrd::version(dt)
    }

    fn plural(dt: &()) -> std::borrow::Cow<'_, str> {
        ApplicationCrd::plural(dt)
    }

    fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        &mut self.metadata
    }
}

impl kube::CustomResourceExt for Application {
    /// The CRD of [`ApplicationCrd`], with the top-level `operation` field Argo's CRD has.
    fn crd()
    -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition
    {
        let mut crd = ApplicationCrd::crd();
        for version in &mut crd.spec.versions {
            if let Some(properties) = version
                .schema
                .as_mut()
                .and_then(|s| s.open_api_v3_schema.as_mut())
                .and_then(|s| s.properties.as_mut())
            {
                properties.insert(
                    "operation".to_owned(),
                    serde_json::from_value(serde_json::json!({
                        "description": "An operation (a sync) requested by a user; the controller clears it when it starts.",
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": true
                    }))
                    .expect("a valid schema"),
                );
            }
        }
        crd
    }

    fn crd_name() -> &'static str {
        ApplicationCrd::crd_name()
    }

    fn api_resource() -> kube::core::ApiResource {
        ApplicationCrd::api_resource()
    }

    fn shortnames() -> &'static [&'static str] {
        ApplicationCrd::shortnames()
    }
}

/// Desired state of an [`Application`].
///
/// kube's derive produces [`ApplicationCrd`] from this struct (the CRD and its schema);
/// the object users handle is [`Application`], which also holds Argo's top-level
/// `operation` field.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "Application",
    root = "ApplicationCrd",
    plural = "applications",
    shortname = "app",
    shortname = "apps",
    namespaced,
    status = "ApplicationStatus",
    printcolumn = r#"{"name":"Sync Status","type":"string","jsonPath":".status.sync.status"}"#,
    printcolumn = r#"{"name":"Health Status","type":"string","jsonPath":".status.health.status"}"#,
    printcolumn = r#"{"name":"Revision","type":"string","jsonPath":".status.sync.revision","priority":10}"#,
    printcolumn = r#"{"name":"Project","type":"string","jsonPath":".spec.project","priority":10}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// Where the application's manifests or chart come from (single-source applications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// The target cluster and namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub destination: Option<ApplicationDestination>,
    /// The project the application belongs to; the empty string means `default`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub project: Option<String>,
    /// When and how a sync is performed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    /// Resources and fields to ignore when comparing desired and live state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_differences: Option<Vec<ResourceIgnoreDifferences>>,
    /// Informational items (URLs, e-mail addresses, text) shown with the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Vec<Info>>,
    /// How many entries of sync history to keep (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i64>,
    /// Several sources whose manifests are combined (multi-source applications);
    /// when set, `source` is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<ApplicationSource>>,
    /// Renders ("hydrates") manifests from a dry source and pushes them to Git before syncing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_hydrator: Option<SourceHydrator>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A repository (Git, Helm or OCI) and how to render manifests from it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSource {
    /// URL of the repository (Git or Helm) that holds the manifests.
    #[serde(rename = "repoURL", skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub repo_url: Option<String>,
    /// Directory inside a Git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Revision to sync to: a commit, tag or branch for Git (default `HEAD`), a semver for Helm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// Helm-specific options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<ApplicationSourceHelm>,
    /// Kustomize-specific options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<ApplicationSourceKustomize>,
    /// Options for plain directories of manifests (and Jsonnet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<ApplicationSourceDirectory>,
    /// Config management plugin options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<ApplicationSourcePlugin>,
    /// Helm chart name; required for sources in a Helm repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// Name other sources use to refer to this one (`$<ref>/path`), in multi-source applications.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub ref_: Option<String>,
    /// Name of the source, shown in the UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only Git tags with this prefix are considered when `targetRevision` is a semver constraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_prefix: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Helm options of a source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceHelm {
    /// Value files passed to `helm template`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_files: Option<Vec<String>>,
    /// Parameters passed as `--set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<HelmParameter>>,
    /// Helm release name (default: the application name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Values as a YAML block; `valuesObject` takes precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
    /// Parameters whose values are read from files (`--set-file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_parameters: Option<Vec<HelmFileParameter>>,
    /// Helm version to use for templating (`"3"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Pass credentials to all domains (`--pass-credentials`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_credentials: Option<bool>,
    /// Do not fail when value files are missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing_value_files: Option<bool>,
    /// Skip installing CRDs (`--skip-crds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_crds: Option<bool>,
    /// Values as a map; takes precedence over `values`. Kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub values_object: Option<serde_json::Value>,
    /// Namespace to template with (default: the destination namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Kubernetes version passed to Helm (default: the target cluster's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    /// API versions passed to Helm, as `[group/]version/kind`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_versions: Option<Vec<String>>,
    /// Skip test manifests (`--skip-tests`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_tests: Option<bool>,
    /// Skip JSON schema validation (`--skip-schema-validation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_schema_validation: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One Helm `--set` parameter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmParameter {
    /// Name of the Helm parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Value of the Helm parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Make Helm treat booleans and numbers as strings (`--set-string`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_string: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One Helm `--set-file` parameter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmFileParameter {
    /// Name of the Helm parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Path of the file holding the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Kustomize options of a source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceKustomize {
    /// Overrides `namePrefix` of the kustomization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// Overrides `nameSuffix` of the kustomization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_suffix: Option<String>,
    /// Image overrides (`kustomize edit set image` syntax).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    /// Labels added to all rendered resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_labels: Option<BTreeMap<String, String>>,
    /// Kustomize version to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Annotations added to all rendered resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_annotations: Option<BTreeMap<String, String>>,
    /// Force the common labels onto resources that already have them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_common_labels: Option<bool>,
    /// Force the common annotations onto resources that already have them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_common_annotations: Option<bool>,
    /// Namespace Kustomize sets on all resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Substitute environment variables in common annotation values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_annotations_envsubst: Option<bool>,
    /// Replica count overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<Vec<KustomizeReplica>>,
    /// Kustomize patches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches: Option<Vec<KustomizePatch>>,
    /// Kustomize components added before building.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
    /// Do not fail when components are missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing_components: Option<bool>,
    /// Do not apply common labels to selectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_without_selector: Option<bool>,
    /// Kubernetes version passed to Helm charts inflated by Kustomize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    /// API versions passed to Helm charts inflated by Kustomize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_versions: Option<Vec<String>>,
    /// Apply common labels to resource templates too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_include_templates: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A Kustomize replica count override.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeReplica {
    /// Name of the Deployment or StatefulSet.
    pub name: String,
    /// Number of replicas (an integer or a string).
    pub count: AnyString,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A Kustomize patch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizePatch {
    /// Path of a patch file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Inline patch (strategic merge or JSON 6902).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Resources the patch applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<KustomizeSelector>,
    /// Patch options (`allowNameChange`, `allowKindChange`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, bool>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Selects the resources a Kustomize patch applies to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeSelector {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Resource name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Resource namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Annotation selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
    /// Label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Options of a plain directory source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceDirectory {
    /// Scan the directory recursively for manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurse: Option<bool>,
    /// Jsonnet options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonnet: Option<ApplicationSourceJsonnet>,
    /// Glob of paths to exclude from manifest generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
    /// Glob of paths to include in manifest generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// Consider files of every extension, not only `.yaml`, `.yml`, `.json`, `.jsonnet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_extension_filter: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Jsonnet options of a directory source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceJsonnet {
    /// External variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_vars: Option<Vec<JsonnetVar>>,
    /// Top-level arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlas: Option<Vec<JsonnetVar>>,
    /// Additional library search directories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libs: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A Jsonnet variable or top-level argument.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JsonnetVar {
    /// Name of the variable.
    pub name: String,
    /// Value of the variable.
    pub value: String,
    /// Whether the value is Jsonnet code rather than a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Config management plugin options of a source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourcePlugin {
    /// Name of the plugin (optional with plugin discovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Environment variables passed to the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvEntry>>,
    /// Parameters passed to the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<ApplicationSourcePluginParameter>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An environment variable passed to a plugin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvEntry {
    /// Name of the variable, usually in upper case.
    pub name: String,
    /// Value of the variable.
    pub value: String,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A plugin parameter: a string, a map or an array.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourcePluginParameter {
    /// Name of the parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Value of a string parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string: Option<String>,
    /// Value of a map parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<BTreeMap<String, String>>,
    /// Value of an array parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The cluster and namespace an application deploys to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDestination {
    /// URL of the target cluster's API server; set this or `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Namespace for namespaced resources that set none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name of the target cluster as registered in Argo CD; set this or `server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// When and how an application is synced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Keep the application synced to the target revision automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<SyncPolicyAutomated>,
    /// Sync options for the whole application, e.g. `CreateNamespace=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_options: Option<Vec<String>>,
    /// Retry behaviour for failed syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
    /// Labels and annotations of the namespace Argo CD creates (`CreateNamespace=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Automated sync options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicyAutomated {
    /// Delete resources no longer found in the sources (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    /// Revert changes made in the cluster to the desired state (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_heal: Option<bool>,
    /// Allow the application to have zero live resources (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_empty: Option<bool>,
    /// Explicitly enable or disable automated sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How failed syncs are retried.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryStrategy {
    /// Maximum number of retries; 0 means none, a negative number means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// Back-off between retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// Use the latest revision on retry instead of the initial one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Back-off between sync retries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// Base back-off: seconds, or a duration such as `5s`, `2m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Factor the back-off is multiplied by after each failed retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<i64>,
    /// Maximum back-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Metadata Argo CD keeps on a namespace it manages.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedNamespaceMetadata {
    /// Labels of the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations of the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Resources and fields ignored when comparing desired and live state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceIgnoreDifferences {
    /// API group of the resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind of the resources.
    pub kind: String,
    /// Name of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// JSON pointers of ignored fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_pointers: Option<Vec<String>>,
    /// jq path expressions of ignored fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jq_path_expressions: Option<Vec<String>>,
    /// Field managers whose changes take precedence over Git and are not shown in diffs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_fields_managers: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A named piece of information.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    /// Title of the item.
    pub name: String,
    /// Content of the item.
    pub value: String,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Hydrates manifests from a dry source and pushes them to Git before syncing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceHydrator {
    /// Where the dry ("don't repeat yourself") manifests live.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub dry_source: Option<DrySource>,
    /// Where hydrated manifests are synced from.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub sync_source: Option<SyncSource>,
    /// Optional staging branch hydrated manifests are pushed to instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hydrate_to: Option<HydrateTo>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The dry source of a [`SourceHydrator`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DrySource {
    /// URL of the Git repository of the dry manifests.
    #[serde(rename = "repoURL", default, skip_serializing_if = "Option::is_none")]
    pub repo_url: Option<String>,
    /// Revision to hydrate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// Directory of the dry manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Helm options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<ApplicationSourceHelm>,
    /// Kustomize options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<ApplicationSourceKustomize>,
    /// Directory options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<ApplicationSourceDirectory>,
    /// Plugin options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<ApplicationSourcePlugin>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The sync source of a [`SourceHydrator`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncSource {
    /// Branch hydrated manifests are synced from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_branch: Option<String>,
    /// Directory hydrated manifests are committed to; never the repository root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Repository of the hydrated manifests (default: the dry source's).
    #[serde(rename = "repoURL", default, skip_serializing_if = "Option::is_none")]
    pub repo_url: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The staging branch of a [`SourceHydrator`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HydrateTo {
    /// Branch hydrated manifests are committed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_branch: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ----- Application operation (top-level `operation` field) ------------------------------

/// An operation requested on an application (Argo's top-level `operation` field, also
/// recorded in `status.operationState.operation`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Parameters of a sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncOperation>,
    /// Who started the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<OperationInitiator>,
    /// Informational items for this operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Vec<Info>>,
    /// What to do when the sync fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Who started an operation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationInitiator {
    /// Name of the user who started the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Whether the application controller started it automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parameters of a sync operation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperation {
    /// Revision (Git) or chart version (Helm) to sync to; default: the spec's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Delete resources no longer tracked in Git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    /// Only `kubectl apply --dry-run`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// How to perform the sync (apply or hook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_strategy: Option<SyncStrategy>,
    /// Resources taking part in the sync (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<SyncOperationResource>>,
    /// Source overriding the spec's (rollbacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Local manifests overriding the source (development).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Vec<String>>,
    /// Per-sync options, e.g. `Validate=false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_options: Option<Vec<String>>,
    /// Sources overriding the spec's (rollbacks of multi-source applications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<ApplicationSource>>,
    /// Revision to sync each source in `sources` to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions: Option<Vec<String>>,
    /// Number of self-heal attempts so far.
    #[serde(
        rename = "autoHealAttemptsCount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub self_heal_attempts_count: Option<i64>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How a sync is performed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStrategy {
    /// `kubectl apply` every resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<SyncStrategyApply>,
    /// Run hooks and apply resources in waves (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<SyncStrategyApply>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Options of the apply (and hook) sync strategies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStrategyApply {
    /// Pass `--force` to `kubectl apply` (delete and re-create on conflict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A resource taking part in a sync.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResource {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ----- Application status -----------------------------------------------------------------

/// Observed state of an [`Application`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    /// Kubernetes resources managed by the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ResourceStatus>>,
    /// Current sync status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncStatus>,
    /// Current health status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<AppHealthStatus>,
    /// Sync history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<RevisionHistory>>,
    /// Currently observed conditions (errors and warnings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ApplicationCondition>>,
    /// When the state was last reconciled against the latest Git revision (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<String>,
    /// The ongoing or last operation (sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_state: Option<OperationState>,
    /// Deprecated: when the state was last updated without querying Git (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<String>,
    /// Type of the (single) source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<ApplicationSourceType>,
    /// URLs and container images used by the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ApplicationSummary>,
    /// Where resource health is stored: inline (empty) or `appTree`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_health_source: Option<String>,
    /// Types of the sources of a multi-source application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_types: Option<Vec<ApplicationSourceType>>,
    /// Namespace of the application controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_namespace: Option<String>,
    /// State of source hydration, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub source_hydrator: Option<serde_json::Value>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Whether live state matches desired state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SyncStatusCode {
    /// Live state matches the desired state.
    Synced,
    /// Live state differs from the desired state.
    OutOfSync,
    /// The comparison could not be made.
    Unknown,
    /// Not compared yet (Argo writes an empty string).
    #[serde(rename = "")]
    Empty,
}

/// Health of an application or a resource (gitops-engine's health codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum HealthStatusCode {
    /// Health could not be assessed.
    Unknown,
    /// Not healthy yet but progressing.
    Progressing,
    /// Healthy.
    Healthy,
    /// Suspended or paused (e.g. a paused Rollout, a suspended CronJob).
    Suspended,
    /// Failed or unable to reach the desired state.
    Degraded,
    /// The resource is missing from the cluster.
    Missing,
}

/// Phase of an operation (gitops-engine's operation phases).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum OperationPhase {
    /// The operation is running.
    Running,
    /// The operation is being terminated.
    Terminating,
    /// The operation failed.
    Failed,
    /// The operation ended with an error.
    Error,
    /// The operation succeeded.
    Succeeded,
}

/// How a source's manifests are rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ApplicationSourceType {
    /// A Helm chart.
    Helm,
    /// A Kustomize directory.
    Kustomize,
    /// A plain directory of manifests (or Jsonnet).
    Directory,
    /// A config management plugin.
    Plugin,
}

/// Sync status of an application.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// Result of the comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SyncStatusCode>,
    /// What was compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_to: Option<ComparedTo>,
    /// Revision the comparison was made against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Revisions of the sources of a multi-source application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What a comparison was made against.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComparedTo {
    /// Source used for the comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Destination used for the comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<ApplicationDestination>,
    /// Sources used for the comparison (multi-source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<ApplicationSource>>,
    /// Ignored differences used for the comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_differences: Option<Vec<ResourceIgnoreDifferences>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Health of an application.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppHealthStatus {
    /// Health code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<HealthStatusCode>,
    /// Human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the health status last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Health of a resource (or an ApplicationSet).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthStatus {
    /// Health code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<HealthStatusCode>,
    /// Human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Deprecated: when the health status last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A resource managed by an application (or an Application managed by an ApplicationSet).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Sync status of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SyncStatusCode>,
    /// Health of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    /// Whether the resource is a sync hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<bool>,
    /// Whether the resource must be pruned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_pruning: Option<bool>,
    /// Sync wave of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_wave: Option<i64>,
    /// Whether deleting the resource needs explicit confirmation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_deletion_confirmation: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of the sync history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionHistory {
    /// Revision synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// When the sync completed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<String>,
    /// Auto-incremented identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Source used for the sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// When the sync started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_started_at: Option<String>,
    /// Sources used for the sync (multi-source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<ApplicationSource>>,
    /// Revision of each source synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions: Option<Vec<String>>,
    /// Who started the sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<OperationInitiator>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A condition of an application (`InvalidSpecError`, `SyncError`, `OrphanedResourceWarning`, ...).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationCondition {
    /// Condition type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Human-readable details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the condition was last observed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// State of the ongoing or last operation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationState {
    /// The operation as requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// Current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<OperationPhase>,
    /// Messages about the operation (typically errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Result of a sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_result: Option<SyncOperationResult>,
    /// When the operation started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the operation finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Number of retries so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<i64>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Result of a sync operation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResult {
    /// Result of each resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ResourceResult>>,
    /// Revision synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Source synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Sources synced (multi-source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<ApplicationSource>>,
    /// Revision of each source synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions: Option<Vec<String>>,
    /// Managed namespace metadata as synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Result of syncing one resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceResult {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Result code: `Synced`, `SyncFailed`, `Pruned`, `PruneSkipped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Message of the last sync or operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Hook type (`PreSync`, `Sync`, `PostSync`, `SyncFail`, `PostDelete`, `Skip`); empty for resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_type: Option<String>,
    /// Phase of the hook (or resource) operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_phase: Option<String>,
    /// Sync phase the result was obtained in (`PreSync`, `Sync`, `PostSync`, `SyncFail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_phase: Option<String>,
    /// Images of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// URLs and images used by an application.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSummary {
    /// External URLs of the application's resources.
    #[serde(
        rename = "externalURLs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub external_urls: Option<Vec<String>>,
    /// Container images of the application's resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    /// Whether the application manages other applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_app_of_apps: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------
// AppProject
// ---------------------------------------------------------------------------------------

/// An Argo CD project: where applications may deploy from and to, which resources they
/// may hold, who may act on them (roles) and when they may sync (sync windows).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "AppProject",
    plural = "appprojects",
    shortname = "appproj",
    shortname = "appprojs",
    namespaced,
    status = "AppProjectStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectSpec {
    /// Repository URLs (globs) applications may deploy from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_repos: Option<Vec<String>>,
    /// Clusters and namespaces (globs) applications may deploy to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destinations: Option<Vec<ApplicationDestination>>,
    /// Description of the project (at most 255 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// RBAC roles of the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<ProjectRole>>,
    /// Cluster-scoped resources applications may hold (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_resource_whitelist: Option<Vec<ClusterResourceRestrictionItem>>,
    /// Namespaced resources applications may not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_resource_blacklist: Option<Vec<GroupKind>>,
    /// Monitoring of resources in the destination namespaces that no application owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orphaned_resources: Option<OrphanedResourcesMonitorSettings>,
    /// When syncs may or may not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_windows: Option<Vec<SyncWindow>>,
    /// Namespaced resources applications may hold (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_resource_whitelist: Option<Vec<GroupKind>>,
    /// Deprecated: GPG key IDs commits must be signed with to be synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_keys: Option<Vec<SignatureKey>>,
    /// Cluster-scoped resources applications may not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_resource_blacklist: Option<Vec<ClusterResourceRestrictionItem>>,
    /// Namespaces Applications of this project may be created in (apps in any namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespaces: Option<Vec<String>>,
    /// Destinations may only reference project-scoped clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permit_only_project_scoped_clusters: Option<bool>,
    /// Service accounts impersonated when syncing to each destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_service_accounts: Option<Vec<ApplicationDestinationServiceAccount>>,
    /// Integrity constraints (signatures) sources must meet, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub source_integrity: Option<serde_json::Value>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A user-defined RBAC role of a project.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectRole {
    /// Name of the role.
    pub name: String,
    /// Description of the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Casbin policies: `p, proj:<project>:<role>, <resource>, <action>, <project>/<object>, allow|deny`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<String>>,
    /// JWT tokens issued for the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_tokens: Option<Vec<JwtToken>>,
    /// OIDC group claims bound to the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A JWT token issued for a project role.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwtToken {
    /// Issued-at time (Unix seconds).
    pub iat: i64,
    /// Expiry time (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Token identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A cluster-scoped resource type (and optional name glob) in a white- or blacklist.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterResourceRestrictionItem {
    /// API group (`*` for all).
    pub group: String,
    /// Kind (`*` for all).
    pub kind: String,
    /// Name glob of the restricted resources (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A resource type: API group and kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupKind {
    /// API group (`*` for all).
    pub group: String,
    /// Kind (`*` for all).
    pub kind: String,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Monitoring of orphaned resources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrphanedResourcesMonitorSettings {
    /// Raise a warning condition on applications with orphaned resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<bool>,
    /// Resources excluded from monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<OrphanedResourceKey>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Resources excluded from orphaned-resource monitoring.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrphanedResourceKey {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Whether a sync window allows or blocks syncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SyncWindowKind {
    /// Syncs may run only inside the window.
    #[serde(rename = "allow")]
    Allow,
    /// Syncs may not run inside the window.
    #[serde(rename = "deny")]
    Deny,
}

/// A time window in which syncs are allowed or denied.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncWindow {
    /// `allow` or `deny`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SyncWindowKind>,
    /// When the window starts, as a 5-field cron expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// How long the window stays open (Go duration, e.g. `1h30m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Applications (globs) the window applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applications: Option<Vec<String>>,
    /// Namespaces (globs) the window applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Clusters (globs) the window applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<String>>,
    /// Allow manual syncs while the window blocks syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_sync: Option<bool>,
    /// Time zone of the schedule (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Match applications, namespaces and clusters with AND instead of OR.
    #[serde(
        rename = "andOperator",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub use_and_operator: Option<bool>,
    /// Description of the window (at most 255 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Let ongoing syncs continue across the window's boundary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_overrun: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A GPG key commits must be signed with.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignatureKey {
    /// Key ID in hexadecimal notation.
    #[serde(rename = "keyID")]
    pub key_id: String,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The service account impersonated when syncing to a destination.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDestinationServiceAccount {
    /// URL (glob) of the destination cluster.
    pub server: String,
    /// Namespace (glob) of the destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Service account used for the sync (`[namespace:]name`).
    pub default_service_account: String,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Observed state of an [`AppProject`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectStatus {
    /// JWT tokens issued, by role name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_tokens_by_role: Option<BTreeMap<String, JwtTokens>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The JWT tokens of one role.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwtTokens {
    /// The tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<JwtToken>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------
// ApplicationSet
// ---------------------------------------------------------------------------------------

/// An ApplicationSet: generates Applications from a template and parameter sets produced
/// by generators (lists, clusters, Git directories and files, SCM providers, pull requests, ...).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "ApplicationSet",
    plural = "applicationsets",
    shortname = "appset",
    shortname = "appsets",
    namespaced,
    status = "ApplicationSetStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetSpec {
    /// Render templates with Go's `text/template` (`{{ .param }}`) instead of fasttemplate (`{{param}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_template: Option<bool>,
    /// Generators producing parameter sets.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub generators: Option<Vec<ApplicationSetGenerator>>,
    /// Template of the generated Applications.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub template: Option<ApplicationSetTemplate>,
    /// What the controller may do to generated Applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<ApplicationSetSyncPolicy>,
    /// How generated Applications are updated (`AllAtOnce` or `RollingSync`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<ApplicationSetStrategy>,
    /// Annotations and labels of generated Applications the controller leaves alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserved_fields: Option<ApplicationPreservedFields>,
    /// Options of Go templates, e.g. `missingkey=error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_template_options: Option<Vec<String>>,
    /// Deprecated and ignored: nested selectors always apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_nested_selectors: Option<bool>,
    /// Fields of generated Applications the controller does not overwrite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_application_differences: Option<Vec<ApplicationSetResourceIgnoreDifferences>>,
    /// A templated strategic-merge patch applied to each generated Application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_patch: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Template of the Applications an ApplicationSet generates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetTemplate {
    /// Metadata of the generated Applications.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub metadata: Option<ApplicationSetTemplateMeta>,
    /// Spec of the generated Applications.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub spec: Option<ApplicationSpec>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Metadata of generated Applications.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetTemplateMeta {
    /// Name (templated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace (templated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Finalizers, e.g. `resources-finalizer.argocd.argoproj.io`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalizers: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One generator of an ApplicationSet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetGenerator {
    /// A literal list of parameter sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListGenerator>,
    /// The clusters registered in Argo CD (optionally filtered by labels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<ClusterGenerator>,
    /// Directories or files of a Git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitGenerator>,
    /// Repositories of an SCM provider (GitHub, GitLab, ...), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub scm_provider: Option<serde_json::Value>,
    /// Decisions of a cluster decision resource (duck type), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub cluster_decision_resource: Option<serde_json::Value>,
    /// Open pull requests of a repository, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub pull_request: Option<serde_json::Value>,
    /// The cartesian product of two generators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<MatrixGenerator>,
    /// Generators merged on keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeGenerator>,
    /// A Kubernetes label selector filtering the generated parameter sets, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub selector: Option<serde_json::Value>,
    /// Parameters from a plugin service, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub plugin: Option<serde_json::Value>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A generator nested in a matrix or merge generator; nested matrix and merge
/// generators are kept as written (as in Argo).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetNestedGenerator {
    /// A literal list of parameter sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListGenerator>,
    /// The clusters registered in Argo CD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<ClusterGenerator>,
    /// Directories or files of a Git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitGenerator>,
    /// Repositories of an SCM provider, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub scm_provider: Option<serde_json::Value>,
    /// Decisions of a cluster decision resource, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub cluster_decision_resource: Option<serde_json::Value>,
    /// Open pull requests of a repository, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub pull_request: Option<serde_json::Value>,
    /// A nested matrix generator, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub matrix: Option<serde_json::Value>,
    /// A nested merge generator, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub merge: Option<serde_json::Value>,
    /// A Kubernetes label selector filtering the parameter sets, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub selector: Option<serde_json::Value>,
    /// Parameters from a plugin service, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub plugin: Option<serde_json::Value>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ApplicationSetNestedGenerator {
    /// Names of the generator kinds set in this entry.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        let set = [
            ("list", self.list.is_some()),
            ("clusters", self.clusters.is_some()),
            ("git", self.git.is_some()),
            ("scmProvider", self.scm_provider.is_some()),
            (
                "clusterDecisionResource",
                self.cluster_decision_resource.is_some(),
            ),
            ("pullRequest", self.pull_request.is_some()),
            ("matrix", self.matrix.is_some()),
            ("merge", self.merge.is_some()),
            ("plugin", self.plugin.is_some()),
        ];
        for (name, present) in set {
            if present {
                kinds.push(name);
            }
        }
        kinds
    }
}

/// A literal list of parameter sets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListGenerator {
    /// The parameter sets (any JSON objects), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements: Option<Vec<ListElement>>,
    /// Template overriding the ApplicationSet's for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// The parameter sets as a (templated) YAML string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements_yaml: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One element of a list generator: any JSON value, kept as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ListElement(
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")] pub serde_json::Value,
);

/// Parameters from the clusters registered in Argo CD.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterGenerator {
    /// Label selector on the cluster secrets, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub selector: Option<serde_json::Value>,
    /// Template overriding the ApplicationSet's for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Extra parameters passed to the template (`values.<key>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, String>>,
    /// Produce one parameter set with all clusters as a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flat_list: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parameters from the directories or files of a Git repository.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitGenerator {
    /// URL of the repository.
    #[serde(rename = "repoURL", skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub repo_url: Option<String>,
    /// Directory globs producing one parameter set per matching directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directories: Option<Vec<GitGeneratorItem>>,
    /// File globs producing parameter sets from JSON/YAML files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<GitGeneratorItem>>,
    /// Revision of the repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub revision: Option<String>,
    /// Seconds between re-scans of the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_after_seconds: Option<i64>,
    /// Template overriding the ApplicationSet's for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Prefix of the path parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_param_prefix: Option<String>,
    /// Extra parameters passed to the template (`values.<key>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A path glob of a Git generator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitGeneratorItem {
    /// Path glob.
    pub path: String,
    /// Exclude the matching paths instead of including them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The cartesian product of exactly two generators.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatrixGenerator {
    /// The two generators.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub generators: Option<Vec<ApplicationSetNestedGenerator>>,
    /// Template overriding the ApplicationSet's for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parameter sets of several generators merged on keys.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MergeGenerator {
    /// The generators; the first is the base.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub generators: Option<Vec<ApplicationSetNestedGenerator>>,
    /// Parameter names parameter sets are merged on.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub merge_keys: Option<Vec<String>>,
    /// Template overriding the ApplicationSet's for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What the ApplicationSet controller may do to generated Applications.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetSyncPolicy {
    /// Keep the generated Applications' resources when the ApplicationSet is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_resources_on_deletion: Option<bool>,
    /// Which changes the controller makes to generated Applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applications_sync: Option<ApplicationsSyncPolicy>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Which changes the ApplicationSet controller makes to generated Applications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ApplicationsSyncPolicy {
    /// Only create Applications.
    #[serde(rename = "create-only")]
    CreateOnly,
    /// Create and update, never delete.
    #[serde(rename = "create-update")]
    CreateUpdate,
    /// Create and delete, never update.
    #[serde(rename = "create-delete")]
    CreateDelete,
    /// Create, update and delete.
    #[serde(rename = "sync")]
    Sync,
}

/// How generated Applications are rolled out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetStrategy {
    /// `AllAtOnce` (default) or `RollingSync`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Steps of a rolling sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_sync: Option<ApplicationSetRolloutStrategy>,
    /// Order generated Applications are deleted in: `AllAtOnce` or `Reverse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_order: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Steps of a rolling sync.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetRolloutStrategy {
    /// The steps, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<ApplicationSetRolloutStep>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One step of a rolling sync.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetRolloutStep {
    /// Label expressions selecting the Applications of this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<ApplicationMatchExpression>>,
    /// How many Applications are updated at once (a number or a percentage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_update: Option<AnyString>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A label expression over Application labels.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationMatchExpression {
    /// Label key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `In` or `NotIn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Label values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Annotations and labels of generated Applications that the controller preserves.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationPreservedFields {
    /// Annotation keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<String>>,
    /// Label keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Fields of generated Applications the controller does not overwrite.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetResourceIgnoreDifferences {
    /// Application the rule applies to (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// JSON pointers of ignored fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_pointers: Option<Vec<String>>,
    /// jq path expressions of ignored fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jq_path_expressions: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Observed state of an [`ApplicationSet`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetStatus {
    /// Conditions (`ErrorOccurred`, `ParametersGenerated`, `ResourcesUpToDate`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ApplicationSetCondition>>,
    /// Progressive sync status of each generated Application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_status: Option<Vec<ApplicationSetApplicationStatus>>,
    /// The generated Applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ResourceStatus>>,
    /// Total number of generated Applications (may exceed the length of `resources`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_count: Option<i64>,
    /// Health of the ApplicationSet, from its conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A condition of an ApplicationSet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetCondition {
    /// Condition type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Human-readable details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the condition last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// `True`, `False` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// One CamelCase word: the reason for the status, e.g. `ErrorOccurred`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Progressive sync status of one generated Application.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetApplicationStatus {
    /// Name of the Application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// When the status last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Human-readable details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `Waiting`, `Pending`, `Progressing` or `Healthy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Rolling sync step the Application is updated in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Revisions the Application should be synced to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revisions: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

fn is_blank(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(str::is_empty)
}

fn validate_destination(dest: &ApplicationDestination, path: &FieldPath, out: &mut Violations) {
    // util/argo GetDestinationServer
    match (is_blank(&dest.server), is_blank(&dest.name)) {
        (false, false) => out.push(path.clone(), "can't have both name and server defined"),
        (true, true) => out.push(path.clone(), "server or name is required"),
        _ => {}
    }
}

fn is_valid_ref_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Argo's `validateSourcePermissions`: what a source needs to be renderable.
fn validate_source(
    source: &ApplicationSource,
    multiple: bool,
    path: &FieldPath,
    out: &mut Violations,
) {
    if is_blank(&source.repo_url) {
        out.push(path.key("repoURL"), "is required");
    }
    let has_path = !is_blank(&source.path);
    let has_chart = !is_blank(&source.chart);
    if multiple {
        if !has_path && !has_chart && is_blank(&source.ref_) {
            out.push(path.clone(), "either path, chart or ref is required");
        }
    } else if !has_path && !has_chart {
        out.push(path.clone(), "either path or chart is required");
    }
    if has_chart && is_blank(&source.target_revision) {
        out.push(
            path.key("targetRevision"),
            "is required if the manifest source is a helm chart",
        );
    }
}

fn validate_hydrator(hydrator: &SourceHydrator, path: &FieldPath, out: &mut Violations) {
    match &hydrator.dry_source {
        None => out.push(path.key("drySource"), "is required"),
        Some(dry) if is_blank(&dry.repo_url) => {
            out.push(path.key("drySource").key("repoURL"), "is required")
        }
        Some(_) => {}
    }
    match &hydrator.sync_source {
        None => out.push(path.key("syncSource"), "is required"),
        Some(sync) => {
            let sync_path = path.key("syncSource");
            if is_blank(&sync.target_branch) {
                out.push(sync_path.key("targetBranch"), "is required");
            }
            // CRD: required, MinLength=1, Pattern=`^.{2,}|[^./]$` (never the repository root).
            match sync.path.as_deref() {
                None | Some("") => out.push(sync_path.key("path"), "is required"),
                Some(p) if p.chars().count() < 2 && (p == "." || p == "/") => out.push(
                    sync_path.key("path"),
                    "must not be the root of the repository",
                ),
                Some(_) => {}
            }
        }
    }
    if let Some(to) = &hydrator.hydrate_to
        && is_blank(&to.target_branch)
    {
        out.push(
            path.key("hydrateTo").key("targetBranch"),
            "is required when hydrateTo is set",
        );
    }
}

impl Validate for ApplicationSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        // The CRD requires both keys; an empty project means `default`.
        out.require(&self.project, path.key("project"));
        match &self.destination {
            None => out.push(path.key("destination"), "is required"),
            Some(dest) => validate_destination(dest, &path.key("destination"), out),
        }

        // Argo CD silently prefers `sources` when both are set; a manifest with both is
        // almost always a mistake (an edit that added `sources` and kept `source`), so it
        // is reported instead of half of it being ignored.
        if self.source.is_some() && self.sources.as_ref().is_some_and(|s| !s.is_empty()) {
            out.push(
                path.key("sources"),
                "set either `source` or `sources`, not both (Argo CD would ignore `source`)",
            );
        }

        // util/argo ValidatePermissions: the hydrator wins, then `sources`, then `source`.
        if let Some(hydrator) = &self.source_hydrator {
            validate_hydrator(hydrator, &path.key("sourceHydrator"), out);
        } else if let Some(sources) = self.sources.as_ref().filter(|s| !s.is_empty()) {
            let sources_path = path.key("sources");
            let mut refs = BTreeSet::new();
            for (i, source) in sources.iter().enumerate() {
                let source_path = sources_path.index(i);
                validate_source(source, true, &source_path, out);
                if let Some(key) = source.ref_.as_deref().filter(|r| !r.is_empty()) {
                    if !is_valid_ref_key(key) {
                        out.push(
                            source_path.key("ref"),
                            "cannot contain any special characters except '_' and '-'",
                        );
                    } else if !refs.insert(key) {
                        out.push(
                            source_path.key("ref"),
                            format!("multiple sources have the same ref key {key:?}"),
                        );
                    }
                }
            }
        } else {
            match &self.source {
                None => out.push(
                    path.key("source"),
                    "spec.source or spec.sources is required",
                ),
                Some(source) => validate_source(source, false, &path.key("source"), out),
            }
        }

        if let Some(ignores) = &self.ignore_differences {
            for (i, ignore) in ignores.iter().enumerate() {
                if ignore.kind.is_empty() {
                    out.push(
                        path.key("ignoreDifferences").index(i).key("kind"),
                        "is required",
                    );
                }
            }
        }
        if self.revision_history_limit.is_some_and(|limit| limit < 0) {
            out.push(path.key("revisionHistoryLimit"), "must not be negative");
        }
    }
}

/// Argo's `rbac.ProjectScoped`: resources a project role policy may name.
const PROJECT_SCOPED_RESOURCES: &[&str] = &[
    "applications",
    "applicationsets",
    "logs",
    "exec",
    "clusters",
    "repositories",
];

fn is_valid_policy_action(action: &str) -> bool {
    matches!(
        action,
        "get" | "create" | "update" | "delete" | "sync" | "override" | "rollback" | "*"
    ) || action.starts_with("action/")
        || action.starts_with("update/")
        || action.starts_with("delete/")
}

fn is_valid_role_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

/// Whether `object` has the form `<project>[/<namespace>]/<name>` (names may hold `*`).
fn is_valid_policy_object(project: Option<&str>, object: &str) -> bool {
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c == '*' || c == '-' || c == '.' || c == '_' || c.is_alphanumeric())
    };
    let mut parts = object.split('/');
    let Some(first) = parts.next() else {
        return false;
    };
    if let Some(project) = project {
        if first != project {
            return false;
        }
    } else if first.is_empty() {
        return false;
    }
    let rest: Vec<&str> = parts.collect();
    matches!(rest.len(), 1 | 2) && rest.iter().all(|s| segment_ok(s))
}

/// Argo's `validatePolicy`; `project` is the AppProject's name when known.
fn validate_policy(project: Option<&str>, role: &str, policy: &str) -> Option<String> {
    let parts: Vec<&str> = policy.split(',').map(|p| p.trim_matches(' ')).collect();
    if parts.len() != 6 || parts[0] != "p" {
        return Some("must be of the form: 'p, sub, res, act, obj, eft'".to_owned());
    }
    let subject_ok = match project {
        Some(project) => parts[1] == format!("proj:{project}:{role}"),
        None => parts[1].starts_with("proj:") && parts[1].ends_with(&format!(":{role}")),
    };
    if !subject_ok {
        let expected = format!("proj:{}:{role}", project.unwrap_or("<project>"));
        return Some(format!(
            "policy subject must be: '{expected}', not '{}'",
            parts[1]
        ));
    }
    if !PROJECT_SCOPED_RESOURCES.contains(&parts[2]) {
        return Some(format!(
            "project resource must be: 'applications', 'applicationsets', 'repositories', 'exec', 'logs' or 'clusters', not '{}'",
            parts[2]
        ));
    }
    if !is_valid_policy_action(parts[3]) {
        return Some(format!("invalid action '{}'", parts[3]));
    }
    if !is_valid_policy_object(project, parts[4]) {
        let p = project.unwrap_or("<project>");
        return Some(format!(
            "object must be of form '{p}/*', '{p}[/<NAMESPACE>]/<APPNAME>' or '{p}/<APPNAME>', not '{}'",
            parts[4]
        ));
    }
    if parts[5] != "allow" && parts[5] != "deny" {
        return Some("effect must be: 'allow' or 'deny'".to_owned());
    }
    None
}

/// Argo's `validateGroupName`.
fn validate_group_name(group: &str) -> Option<&'static str> {
    let trimmed = group.trim();
    let inner = if trimmed.len() > 1 && trimmed.starts_with('"') && trimmed.ends_with('"') {
        &trimmed[1..trimmed.len() - 1]
    } else if trimmed.contains(',') {
        return Some("must be quoted");
    } else {
        trimmed
    };
    if inner.is_empty() {
        return Some("is empty");
    }
    if inner.contains(['"', '\n', '\r', '\t']) {
        return Some("contains invalid characters");
    }
    let chars: Vec<char> = group.chars().collect();
    if chars.len() > 1 && chars[0].is_whitespace() {
        return Some("contains a leading space");
    }
    if chars.len() > 1 && chars[chars.len() - 1].is_whitespace() {
        return Some("contains a trailing space");
    }
    None
}

fn validate_sync_window(window: &SyncWindow, path: &FieldPath, out: &mut Violations) {
    if window.kind.is_none() {
        out.push(path.key("kind"), "can only be allow or deny");
    }
    match window.schedule.as_deref() {
        Some(s) => {
            if let Err(e) = crate::cron::parse(s, crate::cron::Dialect::FiveFields) {
                out.push(
                    path.key("schedule"),
                    format!("cannot parse schedule '{s}': {e}"),
                );
            }
        }
        None => out.push(path.key("schedule"), "is required"),
    }
    match window.duration.as_deref() {
        Some(d) => {
            if let Err(e) = crate::duration::parse(d) {
                out.push(
                    path.key("duration"),
                    format!("cannot parse duration '{d}': {e}"),
                );
            }
        }
        None => out.push(path.key("duration"), "is required"),
    }
    if window
        .description
        .as_deref()
        .is_some_and(|d| d.chars().count() > 255)
    {
        out.push(path.key("description"), "must not exceed 255 characters");
    }
    let empty = |v: &Option<Vec<String>>| v.as_ref().is_none_or(Vec::is_empty);
    if empty(&window.applications) && empty(&window.namespaces) && empty(&window.clusters) {
        out.push(
            path.clone(),
            "requires one of applications, clusters or namespaces",
        );
    }
}

impl AppProjectSpec {
    /// Argo's `AppProject.ValidateProject`. With `project` (the AppProject's name) role
    /// policies are checked exactly; without it, their subject and object only need the
    /// `proj:<any>:<role>` and `<any>/...` shapes.
    pub fn validate_in_project(
        &self,
        project: Option<&str>,
        path: &FieldPath,
        out: &mut Violations,
    ) {
        if self
            .description
            .as_deref()
            .is_some_and(|d| d.chars().count() > 255)
        {
            out.push(path.key("description"), "must not exceed 255 characters");
        }
        if let Some(destinations) = &self.destinations {
            let mut keys = BTreeSet::new();
            for (i, dest) in destinations.iter().enumerate() {
                let p = path.key("destinations").index(i);
                for (field, value) in [
                    ("name", &dest.name),
                    ("server", &dest.server),
                    ("namespace", &dest.namespace),
                ] {
                    if value.as_deref() == Some("!*") {
                        out.push(p.key(field), "has an invalid format, '!*'");
                    }
                }
                let server = dest.server.as_deref().unwrap_or("");
                let name = dest.name.as_deref().unwrap_or("");
                let namespace = dest.namespace.as_deref().unwrap_or("");
                let key = if server.is_empty() && !name.is_empty() {
                    format!("{name}/{namespace}")
                } else {
                    format!("{server}/{namespace}")
                };
                if !keys.insert(key.clone()) {
                    out.push(p, format!("destination '{key}' already added"));
                }
            }
        }
        if let Some(namespaces) = &self.source_namespaces {
            let mut seen = BTreeSet::new();
            for (i, ns) in namespaces.iter().enumerate() {
                if !seen.insert(ns) {
                    out.push(
                        path.key("sourceNamespaces").index(i),
                        format!("source namespace '{ns}' already added"),
                    );
                }
            }
        }
        if let Some(repos) = &self.source_repos {
            let mut seen = BTreeSet::new();
            for (i, repo) in repos.iter().enumerate() {
                let p = path.key("sourceRepos").index(i);
                if repo == "!*" {
                    out.push(p, "source repository has an invalid format, '!*'");
                } else if !seen.insert(repo) {
                    out.push(p, format!("source repository '{repo}' already added"));
                }
            }
        }
        if let Some(roles) = &self.roles {
            let mut names = BTreeSet::new();
            for (i, role) in roles.iter().enumerate() {
                let p = path.key("roles").index(i);
                if !names.insert(role.name.as_str()) {
                    out.push(
                        p.key("name"),
                        format!("role '{}' already exists", role.name),
                    );
                }
                if !is_valid_role_name(&role.name) {
                    out.push(
                        p.key("name"),
                        "must consist of alphanumeric characters, '-' or '_', and must start and end with an alphanumeric character",
                    );
                }
                let mut policies = BTreeSet::new();
                for (j, policy) in role.policies.iter().flatten().enumerate() {
                    let pp = p.key("policies").index(j);
                    if !policies.insert(policy) {
                        out.push(
                            pp,
                            format!("policy '{policy}' already exists for role '{}'", role.name),
                        );
                    } else if let Some(message) = validate_policy(project, &role.name, policy) {
                        out.push(pp, format!("invalid policy rule '{policy}': {message}"));
                    }
                }
                let mut groups = BTreeSet::new();
                for (j, group) in role.groups.iter().flatten().enumerate() {
                    let gp = p.key("groups").index(j);
                    if !groups.insert(group) {
                        out.push(
                            gp,
                            format!("group '{group}' already exists for role '{}'", role.name),
                        );
                    } else if let Some(message) = validate_group_name(group) {
                        out.push(gp, format!("group '{group}' {message}"));
                    }
                }
            }
        }
        if let Some(windows) = &self.sync_windows {
            let mut seen: Vec<&SyncWindow> = Vec::new();
            for (i, window) in windows.iter().enumerate() {
                let p = path.key("syncWindows").index(i);
                let same_identity = |other: &&SyncWindow| {
                    other.kind == window.kind
                        && other.schedule == window.schedule
                        && other.duration == window.duration
                        && other.applications == window.applications
                        && other.namespaces == window.namespaces
                        && other.clusters == window.clusters
                        && other.time_zone == window.time_zone
                        && other.use_and_operator == window.use_and_operator
                        && other.sync_overrun == window.sync_overrun
                };
                if seen.iter().any(same_identity) {
                    out.push(p.clone(), "sync window already exists");
                }
                seen.push(window);
                validate_sync_window(window, &p, out);
            }
        }
        if let Some(accounts) = &self.destination_service_accounts {
            let mut keys = BTreeSet::new();
            for (i, account) in accounts.iter().enumerate() {
                let p = path.key("destinationServiceAccounts").index(i);
                let namespace = account.namespace.as_deref().unwrap_or("");
                if account.server.contains('!') {
                    out.push(
                        p.key("server"),
                        format!("has an invalid format, '{}'", account.server),
                    );
                }
                if namespace.contains('!') {
                    out.push(
                        p.key("namespace"),
                        format!("has an invalid format, '{namespace}'"),
                    );
                }
                let sa = &account.default_service_account;
                if sa.trim_matches(' ').is_empty()
                    || sa.contains(['!', '*', '[', ']', '{', '}', '\\', '/'])
                {
                    out.push(
                        p.key("defaultServiceAccount"),
                        format!("has an invalid format, '{sa}'"),
                    );
                }
                let key = format!("{}/{namespace}", account.server);
                if !keys.insert(key.clone()) {
                    out.push(
                        p,
                        format!("destinationServiceAccount '{key}' already added"),
                    );
                }
            }
        }
    }
}

impl Validate for AppProjectSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        self.validate_in_project(None, path, out);
    }
}

impl Validate for AppProject {
    /// Validates the whole document (`path` is the document root), checking role
    /// policies against the project's name.
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        self.spec
            .validate_in_project(self.metadata.name.as_deref(), &path.key("spec"), out);
    }
}

fn validate_nested_generators(
    generators: &Option<Vec<ApplicationSetNestedGenerator>>,
    path: &FieldPath,
    out: &mut Violations,
) {
    for (i, generator) in generators.iter().flatten().enumerate() {
        let kinds = generator.kinds();
        if kinds.len() > 1 {
            out.push(
                path.key("generators").index(i),
                format!("found more than one generator ({})", kinds.join(", ")),
            );
        }
    }
}

impl Validate for ApplicationSetSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        out.require(&self.generators, path.key("generators"));
        out.require(&self.template, path.key("template"));
        for (i, generator) in self.generators.iter().flatten().enumerate() {
            let p = path.key("generators").index(i);
            if let Some(matrix) = &generator.matrix {
                let mp = p.key("matrix");
                let count = matrix.generators.as_ref().map_or(0, Vec::len);
                if count > 2 {
                    out.push(
                        mp.key("generators"),
                        "found more than two generators, Matrix support only two",
                    );
                } else if count < 2 {
                    out.push(
                        mp.key("generators"),
                        "found less than two generators, Matrix support only two",
                    );
                }
                validate_nested_generators(&matrix.generators, &mp, out);
            }
            if let Some(merge) = &generator.merge {
                let mp = p.key("merge");
                if merge.generators.as_ref().map_or(0, Vec::len) < 2 {
                    out.push(
                        mp.key("generators"),
                        "found less than two generators, Merge requires two or more",
                    );
                }
                if merge.merge_keys.as_ref().is_none_or(Vec::is_empty) {
                    out.push(
                        mp.key("mergeKeys"),
                        "no merge keys were specified, Merge requires at least one",
                    );
                }
                validate_nested_generators(&merge.generators, &mp, out);
            }
            if let Some(git) = &generator.git {
                if is_blank(&git.repo_url) {
                    out.push(p.key("git").key("repoURL"), "is required");
                }
                out.require(&git.revision, p.key("git").key("revision"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        assert!(
            validate_policy(
                Some("p1"),
                "ci",
                "p, proj:p1:ci, applications, sync, p1/*, allow"
            )
            .is_none()
        );
        assert!(
            validate_policy(
                None,
                "ci",
                "p, proj:p1:ci, applications, get, p1/ns/app, allow"
            )
            .is_none()
        );
        assert!(
            validate_policy(
                Some("p1"),
                "ci",
                "p, proj:p2:ci, applications, sync, p1/*, allow"
            )
            .is_some()
        );
        assert!(
            validate_policy(
                Some("p1"),
                "ci",
                "p, proj:p1:ci, accounts, sync, p1/*, allow"
            )
            .is_some()
        );
        assert!(
            validate_policy(
                Some("p1"),
                "ci",
                "p, proj:p1:ci, applications, sync, p1/*, maybe"
            )
            .is_some()
        );
    }
}
