//! Resources as the sync engine sees them: keys, Argo's annotations and ordering.

use std::fmt;

use serde_json::Value;

/// The annotation that ties a live object to the Application managing it.
pub const TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
/// The annotation naming the Argo CD installation that manages an object (set when
/// `installationID` is configured in `argocd-cm`).
pub const INSTALLATION_ID: &str = "argocd.argoproj.io/installation-id";
/// The annotation holding an object's sync wave (an integer, default 0).
pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// The annotation marking an object as a hook, with the phases it runs in.
pub const HOOK: &str = "argocd.argoproj.io/hook";
/// The annotation naming when a hook is deleted.
pub const HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
/// The annotation with per-resource sync options (`Prune=false,Replace=true`).
pub const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// The annotation with per-resource compare options (`IgnoreExtraneous`).
pub const COMPARE_OPTIONS: &str = "argocd.argoproj.io/compare-options";
/// The finalizer Argo puts on hooks so they are not lost before their result is read.
pub const HOOK_FINALIZER: &str = "argocd.argoproj.io/hook-finalizer";
/// The annotation `kubectl apply` (client-side) keeps the last applied object in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Identifies one Kubernetes object: group, kind, namespace (empty when cluster-scoped)
/// and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    /// API group, empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ResourceKey {
    /// The key of a Kubernetes object in JSON form.
    pub fn of(obj: &Value) -> ResourceKey {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        ResourceKey {
            group: group_of(api_version).to_owned(),
            kind: obj["kind"].as_str().unwrap_or_default().to_owned(),
            namespace: obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            name: obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    /// The value of Argo's tracking annotation for this object managed by `app`:
    /// `<app>:<group>/<kind>:<namespace>/<name>`.
    pub fn tracking_id(&self, app: &str) -> String {
        format!(
            "{app}:{}/{}:{}/{}",
            self.group, self.kind, self.namespace, self.name
        )
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.group.is_empty() {
            ""
        } else {
            &self.group
        };
        if self.namespace.is_empty() {
            write!(f, "{group}/{}/{}", self.kind, self.name)
        } else {
            write!(f, "{group}/{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// The group of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
pub fn group_of(api_version: &str) -> &str {
    api_version
        .rsplit_once('/')
        .map(|(group, _)| group)
        .unwrap_or("")
}

/// A parsed tracking annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingId {
    /// The Application's name (`<namespace>_<name>` for apps outside the control namespace).
    pub app: String,
    /// The object the annotation claims to be on.
    pub key: ResourceKey,
}

impl TrackingId {
    /// Parses `<app>:<group>/<kind>:<namespace>/<name>`.
    pub fn parse(value: &str) -> Option<TrackingId> {
        let (app, rest) = value.split_once(':')?;
        let (gk, nn) = rest.split_once(':')?;
        let (group, kind) = gk.split_once('/')?;
        let (namespace, name) = nn.split_once('/')?;
        Some(TrackingId {
            app: app.to_owned(),
            key: ResourceKey {
                group: group.to_owned(),
                kind: kind.to_owned(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            },
        })
    }
}

/// How one installation marks the objects it manages and recognises them again: Argo's
/// annotation tracking, scoped by the installation ID (`installationID` of `argocd-cm`).
///
/// An object belongs to the installation whose ID its `installation-id` annotation
/// names, and to an installation without an ID when it has none: two installations on
/// one cluster never read each other's objects as their own, so neither prunes the
/// other's. (Argo lets an installation without an ID read every installation's objects;
/// this is stricter so that such an installation cannot prune another's either.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tracking {
    installation_id: Option<String>,
}

impl Tracking {
    /// Tracking for an installation; an empty ID is no ID, as in Argo.
    pub fn new(installation_id: Option<String>) -> Tracking {
        Tracking {
            installation_id: installation_id.filter(|id| !id.is_empty()),
        }
    }

    /// The installation ID, if one is configured.
    pub fn installation_id(&self) -> Option<&str> {
        self.installation_id.as_deref()
    }

    /// The tracking id of a live object, when this installation manages it.
    pub fn read(&self, obj: &Value) -> Option<TrackingId> {
        if installation_of(obj) != self.installation_id() {
            return None;
        }
        annotation(obj, TRACKING_ID).and_then(TrackingId::parse)
    }

    /// Another installation's claim on a live object: its installation ID and tracking id.
    pub fn foreign(&self, obj: &Value) -> Option<(String, TrackingId)> {
        let theirs = installation_of(obj)?;
        if Some(theirs) == self.installation_id() {
            return None;
        }
        let tracking = annotation(obj, TRACKING_ID).and_then(TrackingId::parse)?;
        Some((theirs.to_owned(), tracking))
    }

    /// Marks a desired object as managed by `app`: the tracking id, and the installation
    /// ID set (or removed, without one).
    pub fn mark(&self, obj: &mut Value, app: &str) {
        let id = ResourceKey::of(obj).tracking_id(app);
        let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
            return;
        };
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Default::default()));
        if !annotations.is_object() {
            *annotations = Value::Object(Default::default());
        }
        let Some(annotations) = annotations.as_object_mut() else {
            return;
        };
        annotations.insert(TRACKING_ID.into(), Value::String(id));
        match self.installation_id() {
            Some(installation) => {
                annotations.insert(INSTALLATION_ID.into(), Value::String(installation.into()));
            }
            None => {
                annotations.remove(INSTALLATION_ID);
            }
        }
    }
}

/// The installation ID an object carries (none when absent or empty).
fn installation_of(obj: &Value) -> Option<&str> {
    annotation(obj, INSTALLATION_ID).filter(|id| !id.is_empty())
}

/// An annotation's value.
pub fn annotation<'a>(obj: &'a Value, name: &str) -> Option<&'a str> {
    obj["metadata"]["annotations"][name].as_str()
}

/// The sync wave of an object (`argocd.argoproj.io/sync-wave`, default 0; an unparsable
/// value counts as 0, as in Argo).
pub fn sync_wave(obj: &Value) -> i64 {
    annotation(obj, SYNC_WAVE)
        .and_then(|w| w.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether an object's comma-separated option annotation holds `option` (e.g. `Prune=false`).
pub fn has_option(obj: &Value, annotation_name: &str, option: &str) -> bool {
    annotation(obj, annotation_name).is_some_and(|v| v.split(',').any(|o| o.trim() == option))
}

/// A sync phase, in the order phases run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SyncPhase {
    /// Before the manifests are applied.
    PreSync,
    /// With the manifests.
    Sync,
    /// After every Sync task succeeded and every resource is healthy.
    PostSync,
    /// When the sync failed.
    SyncFail,
}

impl SyncPhase {
    /// Argo's name of the phase.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncPhase::PreSync => "PreSync",
            SyncPhase::Sync => "Sync",
            SyncPhase::PostSync => "PostSync",
            SyncPhase::SyncFail => "SyncFail",
        }
    }

    fn parse(s: &str) -> Option<SyncPhase> {
        Some(match s.trim() {
            "PreSync" => SyncPhase::PreSync,
            "Sync" => SyncPhase::Sync,
            "PostSync" => SyncPhase::PostSync,
            "SyncFail" => SyncPhase::SyncFail,
            _ => return None,
        })
    }
}

/// Whether an object is a hook (`argocd.argoproj.io/hook`, or a Helm hook Argo maps).
/// `Skip` is not a hook: it marks an object the sync leaves alone.
pub fn is_hook(obj: &Value) -> bool {
    !hook_phases(obj).is_empty()
}

/// Whether an object is marked `argocd.argoproj.io/hook: Skip`.
pub fn is_skipped(obj: &Value) -> bool {
    annotation(obj, HOOK).is_some_and(|v| v.split(',').any(|p| p.trim() == "Skip"))
}

/// The phases a hook runs in (empty for an ordinary resource).
pub fn hook_phases(obj: &Value) -> Vec<SyncPhase> {
    if let Some(v) = annotation(obj, HOOK) {
        return v.split(',').filter_map(SyncPhase::parse).collect();
    }
    // Helm hooks, as Argo maps them.
    if let Some(v) = annotation(obj, "helm.sh/hook") {
        let mut phases: Vec<SyncPhase> = v
            .split(',')
            .filter_map(|h| match h.trim() {
                "pre-install" | "pre-upgrade" => Some(SyncPhase::PreSync),
                "post-install" | "post-upgrade" => Some(SyncPhase::PostSync),
                _ => None,
            })
            .collect();
        phases.dedup();
        return phases;
    }
    Vec::new()
}

/// The container images of a workload (Pod, CronJob, or anything with a pod template),
/// init containers first.
pub fn images(obj: &Value) -> Vec<String> {
    let spec = match obj["kind"].as_str() {
        Some("Pod") => &obj["spec"],
        Some("CronJob") => &obj["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => &obj["spec"]["template"]["spec"],
    };
    ["initContainers", "containers"]
        .iter()
        .flat_map(|l| spec[*l].as_array().into_iter().flatten())
        .filter_map(|c| c["image"].as_str().map(str::to_owned))
        .collect()
}

/// When a hook is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookDeletePolicy {
    /// After it succeeded.
    HookSucceeded,
    /// After it failed.
    HookFailed,
    /// Before a new one is created (the default).
    BeforeHookCreation,
}

/// A hook's delete policies (`BeforeHookCreation` when none is given, as in Argo).
pub fn hook_delete_policies(obj: &Value) -> Vec<HookDeletePolicy> {
    let raw = annotation(obj, HOOK_DELETE_POLICY)
        .or_else(|| annotation(obj, "helm.sh/hook-delete-policy"));
    let policies: Vec<HookDeletePolicy> = raw
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| match p.trim() {
            "HookSucceeded" | "hook-succeeded" => Some(HookDeletePolicy::HookSucceeded),
            "HookFailed" | "hook-failed" => Some(HookDeletePolicy::HookFailed),
            "BeforeHookCreation" | "before-hook-creation" => {
                Some(HookDeletePolicy::BeforeHookCreation)
            }
            _ => None,
        })
        .collect();
    if policies.is_empty() {
        vec![HookDeletePolicy::BeforeHookCreation]
    } else {
        policies
    }
}

/// Argo's (Helm's) install order of kinds; kinds not listed come after all of these.
const KIND_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// The rank of a kind in Argo's order (lower first).
pub fn kind_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KIND_ORDER.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tracking_ids_round_trip() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "prod"}});
        let key = ResourceKey::of(&obj);
        let id = key.tracking_id("guestbook");
        assert_eq!(id, "guestbook:apps/Deployment:prod/web");
        let parsed = TrackingId::parse(&id).expect("parses");
        assert_eq!(parsed.app, "guestbook");
        assert_eq!(parsed.key, key);
        let core = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}});
        assert_eq!(
            ResourceKey::of(&core).tracking_id("a"),
            "a:/Namespace:/prod"
        );
    }

    #[test]
    fn annotations_are_read_as_argo_does() {
        let obj = json!({"metadata": {"annotations": {
            SYNC_WAVE: "-2", HOOK: "PreSync,PostSync", SYNC_OPTIONS: "Prune=false, Replace=true"}}});
        assert_eq!(sync_wave(&obj), -2);
        assert_eq!(
            hook_phases(&obj),
            vec![SyncPhase::PreSync, SyncPhase::PostSync]
        );
        assert!(has_option(&obj, SYNC_OPTIONS, "Replace=true"));
        assert_eq!(
            hook_delete_policies(&obj),
            vec![HookDeletePolicy::BeforeHookCreation]
        );
        assert!(kind_rank("Namespace") < kind_rank("Deployment"));
        assert_eq!(kind_rank("Rollout"), KIND_ORDER.len());
    }
}
