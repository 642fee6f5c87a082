//! The resources the server serves: the built-in table plus one entry per
//! established CustomResourceDefinition version.

use std::sync::{Arc, RwLock};

use serde_json::Value;

/// Where a scale subresource reads and writes replicas.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScalePaths {
    /// JSON path of the desired replicas, e.g. `.spec.replicas`.
    pub spec_replicas: String,
    /// JSON path of the observed replicas.
    pub status_replicas: String,
    /// JSON path of the label selector string, if any.
    pub label_selector: Option<String>,
}

/// One served resource in one version.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Has a `status` subresource (status is ignored on the main resource).
    pub status: bool,
    pub scale: Option<ScalePaths>,
    /// Has `log` (pods).
    pub log: bool,
    /// Served from a CRD (its name), with the version's schema.
    pub crd: Option<String>,
    pub schema: Option<Value>,
}

impl ResourceType {
    /// The storage key shared by all versions: `deployments.apps`, `configmaps`.
    pub fn storage_key(&self) -> String {
        crate::status::qualified(&self.group, &self.plural)
    }

    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The verbs on the main resource.
    pub fn verbs(&self) -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }

    /// Whether spec changes bump `metadata.generation` (objects with a spec).
    pub fn has_generation(&self) -> bool {
        self.crd.is_some()
            || !matches!(
                self.kind.as_str(),
                "ConfigMap"
                    | "Secret"
                    | "Event"
                    | "Endpoints"
                    | "ServiceAccount"
                    | "Role"
                    | "RoleBinding"
                    | "ClusterRole"
                    | "ClusterRoleBinding"
                    | "Namespace"
                    | "Node"
                    | "Pod"
                    | "Service"
                    | "PersistentVolumeClaim"
                    | "Lease"
            )
    }
}

#[allow(clippy::too_many_arguments)]
fn builtin(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    namespaced: bool,
    short: &[&str],
    status: bool,
    scale: bool,
) -> ResourceType {
    ResourceType {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        namespaced,
        short_names: short.iter().map(|s| s.to_string()).collect(),
        categories: Vec::new(),
        status,
        scale: scale.then(|| ScalePaths {
            spec_replicas: ".spec.replicas".into(),
            status_replicas: ".status.replicas".into(),
            label_selector: Some(".status.selector".into()),
        }),
        log: false,
        crd: None,
        schema: None,
    }
}

/// The built-in resources.
pub(crate) fn builtins() -> Vec<ResourceType> {
    let mut v = vec![
        builtin(
            "",
            "v1",
            "Namespace",
            "namespaces",
            false,
            &["ns"],
            true,
            false,
        ),
        builtin(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            true,
            &["cm"],
            false,
            false,
        ),
        builtin("", "v1", "Secret", "secrets", true, &[], false, false),
        builtin("", "v1", "Service", "services", true, &["svc"], true, false),
        builtin(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            true,
            &["sa"],
            false,
            false,
        ),
        builtin("", "v1", "Pod", "pods", true, &["po"], true, false),
        builtin("", "v1", "Event", "events", true, &["ev"], false, false),
        builtin(
            "",
            "v1",
            "Endpoints",
            "endpoints",
            true,
            &["ep"],
            false,
            false,
        ),
        builtin(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            true,
            &["pvc"],
            true,
            false,
        ),
        builtin("", "v1", "Node", "nodes", false, &["no"], true, false),
        builtin(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            true,
            &["deploy"],
            true,
            true,
        ),
        builtin(
            "apps",
            "v1",
            "ReplicaSet",
            "replicasets",
            true,
            &["rs"],
            true,
            true,
        ),
        builtin(
            "apps",
            "v1",
            "StatefulSet",
            "statefulsets",
            true,
            &["sts"],
            true,
            true,
        ),
        builtin(
            "apps",
            "v1",
            "DaemonSet",
            "daemonsets",
            true,
            &["ds"],
            true,
            false,
        ),
        builtin("batch", "v1", "Job", "jobs", true, &[], true, false),
        builtin(
            "batch",
            "v1",
            "CronJob",
            "cronjobs",
            true,
            &["cj"],
            true,
            false,
        ),
        builtin(
            "networking.k8s.io",
            "v1",
            "Ingress",
            "ingresses",
            true,
            &["ing"],
            true,
            false,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            true,
            &[],
            false,
            false,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
            &[],
            false,
            false,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
            &[],
            false,
            false,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
            &[],
            false,
            false,
        ),
        builtin(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            true,
            &[],
            false,
            false,
        ),
        builtin(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
            &["crd", "crds"],
            true,
            false,
        ),
    ];
    for r in &mut v {
        if matches!(
            r.kind.as_str(),
            "Pod"
                | "Service"
                | "Deployment"
                | "ReplicaSet"
                | "StatefulSet"
                | "DaemonSet"
                | "Job"
                | "CronJob"
        ) {
            r.categories = vec!["all".into()];
        }
        if r.kind == "Pod" {
            r.log = true;
        }
        if r.kind == "Endpoints" {
            r.singular = "endpoints".into();
        }
    }
    v
}

/// The served resources; CRDs add and remove entries at run time.
#[derive(Debug)]
pub(crate) struct Registry {
    types: RwLock<Vec<Arc<ResourceType>>>,
}

impl Registry {
    /// The built-ins.
    pub fn new() -> Self {
        Self {
            types: RwLock::new(builtins().into_iter().map(Arc::new).collect()),
        }
    }

    /// Every served resource, built-ins first.
    pub fn all(&self) -> Vec<Arc<ResourceType>> {
        self.types.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The resource served at `group/version/plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.all()
            .into_iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    /// Whether any resource is served in `group/version`.
    pub fn serves_version(&self, group: &str, version: &str) -> bool {
        self.all()
            .iter()
            .any(|r| r.group == group && r.version == version)
    }

    /// Replaces what CRD `name` serves with `types` (empty: stop serving it).
    /// Custom resources follow the built-ins ordered by group and CRD name (each
    /// CRD's versions in its own order), so discovery depends only on which CRDs
    /// exist, not on the order they were created or updated in: a cluster
    /// restarted from its data serves the same documents.
    pub fn set_crd(&self, name: &str, types: Vec<ResourceType>) {
        let mut all = self.types.write().unwrap_or_else(|p| p.into_inner());
        all.retain(|r| r.crd.as_deref() != Some(name));
        all.extend(types.into_iter().map(Arc::new));
        // Stable: built-ins keep their order, a CRD's versions theirs.
        all.sort_by(|a, b| match (&a.crd, &b.crd) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => (&a.group, x).cmp(&(&b.group, y)),
        });
    }
}

/// The resources a CRD object serves (one per served version). Empty when the
/// CRD is being deleted or malformed.
pub(crate) fn from_crd(crd: &Value) -> Vec<ResourceType> {
    let name = crd["metadata"]["name"].as_str().unwrap_or_default();
    let spec = &crd["spec"];
    let names = &spec["names"];
    let (Some(group), Some(plural), Some(kind)) = (
        spec["group"].as_str(),
        names["plural"].as_str(),
        names["kind"].as_str(),
    ) else {
        return Vec::new();
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let mut out = Vec::new();
    for ver in spec["versions"].as_array().into_iter().flatten() {
        if ver["served"] == Value::Bool(false) {
            continue;
        }
        let Some(version) = ver["name"].as_str() else {
            continue;
        };
        let sub = &ver["subresources"];
        let scale = sub
            .get("scale")
            .filter(|s| s.is_object())
            .map(|s| ScalePaths {
                spec_replicas: s["specReplicasPath"]
                    .as_str()
                    .unwrap_or(".spec.replicas")
                    .into(),
                status_replicas: s["statusReplicasPath"]
                    .as_str()
                    .unwrap_or(".status.replicas")
                    .into(),
                label_selector: s["labelSelectorPath"].as_str().map(str::to_owned),
            });
        out.push(ResourceType {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: names["singular"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| kind.to_lowercase()),
            namespaced,
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            status: sub.get("status").is_some_and(Value::is_object),
            scale,
            log: false,
            crd: Some(name.into()),
            schema: ver["schema"].get("openAPIV3Schema").cloned(),
        });
    }
    out
}
