//! Resource health, assessed the way Argo CD does it.
//!
//! The built-in checks follow gitops-engine's `pkg/health` (Deployment, StatefulSet,
//! DaemonSet, ReplicaSet, Pod, Service, Ingress, PersistentVolumeClaim, Job, APIService,
//! HorizontalPodAutoscaler, Argo Workflow) and Argo CD's bundled resource customizations
//! (Argo Rollout, and the app-of-apps check for `argoproj.io/Application` that Argo CD
//! documents as a customization since 1.8 and Windlass builds in). Statuses and messages
//! are Argo's, word for word, since they end up in `status.resources[].health` where users
//! read them.
//!
//! Kinds with no check (a ConfigMap, an unknown custom resource) have no health: `None`.
//! Custom checks for other kinds are CEL expressions per group and kind, with the shape
//! and semantics of Flux's `healthCheckExprs` ([`CustomHealthCheck`]); like Argo's
//! customizations they take precedence over the built-ins.
//!
//! ```
//! use windlass_reconciler::health::{HealthChecks, HealthStatusCode, CustomHealthCheck};
//!
//! let checks = HealthChecks::new().with_custom("example.com", "Widget", CustomHealthCheck {
//!     current: "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')".into(),
//!     failed: Some("status.conditions.exists(c, c.type == 'Ready' && c.status == 'False')".into()),
//!     in_progress: None,
//! })?;
//! let widget = serde_json::json!({
//!     "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
//!     "status": {"conditions": [{"type": "Ready", "status": "True"}]},
//! });
//! assert_eq!(checks.check(&widget).map(|h| h.status), Some(HealthStatusCode::Healthy));
//! let config_map = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
//! assert_eq!(checks.check(&config_map), None);
//! # Ok::<(), windlass_reconciler::Error>(())
//! ```

mod builtin;
mod custom;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
pub use windlass_entity_model::argocd::HealthStatusCode;

pub use custom::CustomHealthCheck;

/// gitops-engine's `hook.IsHook`: the object carries an `argocd.argoproj.io/hook`
/// annotation that is not only `Skip`, or a Helm hook annotation other than
/// `crd-install`. Argo leaves hooks out of an Application's health, and a hook Pod's
/// health ignores `argocd.argoproj.io/ignore-restart-policy`.
pub fn is_hook(obj: &Value) -> bool {
    builtin::is_hook(obj)
}

/// The finalizer gitops-engine puts on hooks so they outlive their sync phase; an object
/// being deleted that still carries it is assessed normally.
pub const HOOK_FINALIZER: &str = "argocd.argoproj.io/hook-finalizer";

/// Argo's order: Healthy < Suspended < Progressing < Missing < Degraded < Unknown.
pub fn severity(status: HealthStatusCode) -> u8 {
    match status {
        HealthStatusCode::Healthy => 0,
        HealthStatusCode::Suspended => 1,
        HealthStatusCode::Progressing => 2,
        HealthStatusCode::Missing => 3,
        HealthStatusCode::Degraded => 4,
        HealthStatusCode::Unknown => 5,
    }
}

/// True when `a` is worse than `b` in that order.
pub fn is_worse(a: HealthStatusCode, b: HealthStatusCode) -> bool {
    severity(a) > severity(b)
}

/// The worst of `statuses` in Argo's order, `Healthy` when there are none (an
/// Application's health starts Healthy and only gets worse with each resource).
pub fn worst(statuses: impl IntoIterator<Item = HealthStatusCode>) -> HealthStatusCode {
    statuses
        .into_iter()
        .fold(HealthStatusCode::Healthy, |acc, s| {
            if is_worse(s, acc) { s } else { acc }
        })
}

/// The health of one resource: a status and, when there is one, Argo's message.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceHealth {
    /// The health status.
    pub status: HealthStatusCode,
    /// Why, in Argo's words; `None` where Argo's message is empty.
    pub message: Option<String>,
}

impl ResourceHealth {
    /// A status with a message; an empty message becomes `None`, as Argo omits it.
    pub fn new(status: HealthStatusCode, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status,
            message: (!message.is_empty()).then_some(message),
        }
    }

    /// A status without a message.
    pub fn status(status: HealthStatusCode) -> Self {
        Self {
            status,
            message: None,
        }
    }
}

/// The health checks in force: the built-ins plus custom checks by group and kind.
///
/// Cheap to clone (compiled custom checks are shared).
#[derive(Clone, Default)]
pub struct HealthChecks {
    /// Compiled custom checks by (group, kind); kind `*` covers a whole group.
    custom: HashMap<(String, String), Arc<custom::Compiled>>,
}

impl std::fmt::Debug for HealthChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<_> = self.custom.keys().collect();
        keys.sort();
        f.debug_struct("HealthChecks")
            .field("custom", &keys)
            .finish()
    }
}

impl HealthChecks {
    /// The built-in checks only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Custom checks from a YAML (or JSON) list in the shape of Flux's
    /// `healthCheckExprs`: `apiVersion` (or `group`), `kind`, and the CEL expressions
    /// `current`, `inProgress`, `failed`. Errors name the file, the entry and why.
    pub fn with_config(mut self, text: &str, file: &str) -> crate::Result<Self> {
        let invalid = |message: String| crate::Error::Invalid {
            what: file.to_owned(),
            message,
        };
        let mut entries = Vec::new();
        for doc in windlass_entity_model::yaml::parse_documents(text) {
            let doc = doc.map_err(|e| invalid(e.to_string()))?;
            let value: serde_json::Value = windlass_entity_model::de::from_node(
                &doc.root,
                windlass_entity_model::FieldPath::root(),
            )
            .map_err(|e| invalid(e.to_string()))?;
            match value {
                serde_json::Value::Array(items) => entries.extend(items),
                other => entries.push(other),
            }
        }
        for (i, entry) in entries.iter().enumerate() {
            let group = entry["group"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    let api_version = entry["apiVersion"].as_str().unwrap_or_default();
                    api_version
                        .rsplit_once('/')
                        .map(|(g, _)| g.to_owned())
                        .unwrap_or_default()
                });
            let kind = entry["kind"].as_str().unwrap_or_default();
            let check: CustomHealthCheck = serde_json::from_value(entry.clone())
                .map_err(|e| invalid(format!("entry {i}: {e}")))?;
            self = self.with_custom(&group, kind, check)?;
        }
        Ok(self)
    }

    /// Adds (or replaces) the custom check for `group`/`kind` (`""` is the core group;
    /// kind `*` or `""` covers every kind of the group that has no check of its own, as a
    /// Flux check without a kind does).
    ///
    /// Compiles the expressions; a bad expression is an error naming group/kind, which
    /// expression and why. An empty `current` is refused, as Flux refuses it.
    pub fn with_custom(
        mut self,
        group: &str,
        kind: &str,
        check: CustomHealthCheck,
    ) -> crate::Result<Self> {
        let kind = if kind.is_empty() { "*" } else { kind };
        let compiled = custom::Compiled::new(group, kind, &check)?;
        self.custom
            .insert((group.to_owned(), kind.to_owned()), Arc::new(compiled));
        Ok(self)
    }

    /// The health of one live object (a Kubernetes JSON object), or `None` when the kind
    /// has no health (e.g. ConfigMap).
    ///
    /// As in gitops-engine, an object being deleted (with `metadata.deletionTimestamp`,
    /// and not held by the hook finalizer) is `Progressing` with "Pending deletion"
    /// whatever its kind; otherwise a custom check for its group/kind takes precedence
    /// over the built-in one. A check that cannot read the object (a field of the wrong
    /// type, an expression that fails) gives `Unknown` with the reason as message, as
    /// Argo does.
    pub fn check(&self, obj: &Value) -> Option<ResourceHealth> {
        if is_pending_deletion(obj) {
            return Some(ResourceHealth::new(
                HealthStatusCode::Progressing,
                "Pending deletion",
            ));
        }
        let gvk = Gvk::of(obj);
        if let Some(custom) = self.custom_for(gvk.group, gvk.kind) {
            return Some(custom.evaluate(obj));
        }
        builtin::check(&gvk, obj)
    }

    /// Whether a custom check applies to `group`/`kind`.
    pub fn has_custom(&self, group: &str, kind: &str) -> bool {
        self.custom_for(group, kind).is_some()
    }

    fn custom_for(&self, group: &str, kind: &str) -> Option<&custom::Compiled> {
        if self.custom.is_empty() {
            return None;
        }
        self.custom
            .get(&(group.to_owned(), kind.to_owned()))
            .or_else(|| self.custom.get(&(group.to_owned(), "*".to_owned())))
            .map(|c| c.as_ref())
    }
}

/// gitops-engine: deleted objects are Progressing unless a hook finalizer holds them.
fn is_pending_deletion(obj: &Value) -> bool {
    let meta = &obj["metadata"];
    if meta.get("deletionTimestamp").is_none_or(Value::is_null) {
        return false;
    }
    let held = meta["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f.as_str() == Some(HOOK_FINALIZER)));
    !held
}

/// Group, version and kind of an object, from `apiVersion` and `kind`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Gvk<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
}

impl<'a> Gvk<'a> {
    fn of(obj: &'a Value) -> Self {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        Gvk {
            group,
            version,
            kind: obj["kind"].as_str().unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for Gvk<'_> {
    /// Go's `schema.GroupVersionKind.String()`, which Argo's messages quote.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}, Kind={}", self.group, self.version, self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HealthStatusCode::*;

    #[test]
    fn order_is_argos() {
        let order = [Healthy, Suspended, Progressing, Missing, Degraded, Unknown];
        for (i, a) in order.iter().enumerate() {
            for (j, b) in order.iter().enumerate() {
                assert_eq!(is_worse(*a, *b), i > j, "{a:?} vs {b:?}");
            }
        }
        assert_eq!(worst([]), Healthy);
        assert_eq!(worst([Missing, Suspended, Degraded, Progressing]), Degraded);
    }

    #[test]
    fn gvk_display_is_gos() {
        let obj = serde_json::json!({"apiVersion": "v1", "kind": "Pod"});
        assert_eq!(Gvk::of(&obj).to_string(), "/v1, Kind=Pod");
        let obj = serde_json::json!({"apiVersion": "apps/v1beta2", "kind": "Deployment"});
        assert_eq!(Gvk::of(&obj).to_string(), "apps/v1beta2, Kind=Deployment");
    }
}
