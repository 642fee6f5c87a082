//! Comparing an Application's desired objects with the live ones: per-resource sync
//! status and health, and the Application's own.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use serde_json::Value;
use windlass_entity_model::argocd::{
    ApplicationCondition, HealthStatus, HealthStatusCode, ResourceStatus, SyncStatusCode,
};

use crate::cluster::Cluster;
use crate::diff::{self, DiffConfig, DiffResult};
use crate::health::{self, HealthChecks, ResourceHealth};
use crate::resource::{self, COMPARE_OPTIONS, ResourceKey};

/// The condition type Argo gives an object another Application also tracks.
pub const SHARED_RESOURCE_WARNING: &str = "SharedResourceWarning";

/// One resource of an Application: what Git wants, what the cluster has, and how they
/// compare.
#[derive(Clone, Debug)]
pub struct ManagedResource {
    /// Which object.
    pub key: ResourceKey,
    /// The API version of the desired (or else live) object.
    pub version: String,
    /// The desired object, with namespace and tracking annotation set; `None` when only
    /// the live object exists (it requires pruning).
    pub desired: Option<Value>,
    /// The live object, when it exists.
    pub live: Option<Arc<Value>>,
    /// The comparison, when both exist.
    pub diff: Option<DiffResult>,
    /// Synced or OutOfSync.
    pub status: SyncStatusCode,
    /// The live object's health (Missing when it does not exist; None for kinds without
    /// health).
    pub health: Option<ResourceHealth>,
    /// The live object belongs to another Application (Argo's shared resource).
    pub shared_with: Option<String>,
    /// The live object is managed by another installation (its installation ID): a sync
    /// never applies over it.
    pub other_installation: Option<String>,
    /// The sync wave.
    pub wave: i64,
}

impl ManagedResource {
    /// Whether this resource only exists live (not in Git any more).
    pub fn requires_pruning(&self) -> bool {
        self.desired.is_none()
    }

    /// The object the sync acts on (desired if any, else live).
    pub fn object(&self) -> &Value {
        match (&self.desired, &self.live) {
            (Some(d), _) => d,
            (None, Some(l)) => l,
            (None, None) => &Value::Null,
        }
    }

    /// The entry of `status.resources` for this resource.
    pub fn status_entry(&self) -> ResourceStatus {
        ResourceStatus {
            group: Some(self.key.group.clone()).filter(|g| !g.is_empty()),
            version: Some(version_of(&self.version).to_owned()),
            kind: Some(self.key.kind.clone()),
            namespace: Some(self.key.namespace.clone()).filter(|n| !n.is_empty()),
            name: Some(self.key.name.clone()),
            status: Some(self.status),
            health: self.health.as_ref().map(|h| HealthStatus {
                status: Some(h.status),
                message: h.message.clone(),
                ..Default::default()
            }),
            requires_pruning: self.requires_pruning().then_some(true),
            sync_wave: Some(self.wave).filter(|w| *w != 0),
            ..Default::default()
        }
    }
}

/// The version part of an `apiVersion`.
pub fn version_of(api_version: &str) -> &str {
    api_version
        .rsplit_once('/')
        .map(|(_, v)| v)
        .unwrap_or(api_version)
}

/// Everything a comparison found.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Every resource, sorted by key.
    pub resources: Vec<ManagedResource>,
    /// Hooks found in the desired objects (not compared; run by syncs).
    pub hooks: Vec<Value>,
    /// Warnings and errors to show as Application conditions.
    pub conditions: Vec<ApplicationCondition>,
    /// The Application's sync status.
    pub sync_status: Option<SyncStatusCode>,
    /// The Application's health: the worst of its resources'.
    pub health: HealthStatusCode,
    /// What caused it ("Caused by apps/Deployment:ns/web"), when it is not Healthy.
    pub health_message: Option<String>,
    /// Images used by the live workloads (for `status.summary.images`).
    pub images: Vec<String>,
}

impl Default for Comparison {
    fn default() -> Self {
        Comparison {
            resources: Vec::new(),
            hooks: Vec::new(),
            conditions: Vec::new(),
            sync_status: None,
            health: HealthStatusCode::Healthy,
            health_message: None,
            images: Vec::new(),
        }
    }
}

/// What a comparison needs besides the objects.
pub struct CompareInput<'a> {
    /// The Application's name (as written in tracking annotations).
    pub app: &'a str,
    /// Its destination namespace, set on namespaced objects that have none.
    pub namespace: &'a str,
    /// Where the live objects are.
    pub cluster: &'a Cluster,
    /// Diff settings (`ignoreDifferences`, field manager).
    pub diff: &'a DiffConfig,
    /// Health checks.
    pub health: &'a HealthChecks,
}

/// A condition of the given type.
pub fn condition(kind: &str, message: impl Into<String>) -> ApplicationCondition {
    ApplicationCondition {
        type_: Some(kind.to_owned()),
        message: Some(message.into()),
        last_transition_time: Some(crate::now()),
        ..Default::default()
    }
}

/// Prepares the rendered objects: namespaces defaulted (namespaced kinds only), tracking
/// annotation set; hooks and `Skip` objects split off. Objects that cannot be
/// identified become conditions.
pub fn prepare(
    rendered: impl IntoIterator<Item = Value>,
    input: &CompareInput<'_>,
    conditions: &mut Vec<ApplicationCondition>,
) -> (Vec<Value>, Vec<Value>) {
    let mut desired = Vec::new();
    let mut hooks = Vec::new();
    // Scopes of custom resources whose CRD is part of the same Application.
    let mut crd_scopes = BTreeMap::new();
    let rendered: Vec<Value> = rendered.into_iter().collect();
    for obj in &rendered {
        if obj["kind"] == "CustomResourceDefinition" {
            let group = obj["spec"]["group"].as_str().unwrap_or_default();
            let kind = obj["spec"]["names"]["kind"].as_str().unwrap_or_default();
            let namespaced = obj["spec"]["scope"].as_str() != Some("Cluster");
            crd_scopes.insert((group.to_owned(), kind.to_owned()), namespaced);
        }
    }
    for mut obj in rendered {
        let kind = obj["kind"].as_str().unwrap_or_default().to_owned();
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_owned();
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let generate_name = obj["metadata"]["generateName"].as_str().is_some();
        if kind.is_empty() || api_version.is_empty() || (name.is_empty() && !generate_name) {
            conditions.push(condition(
                "ComparisonError",
                format!(
                    "an object has no {}",
                    if api_version.is_empty() {
                        "apiVersion"
                    } else if kind.is_empty() {
                        "kind"
                    } else {
                        "metadata.name"
                    }
                ),
            ));
            continue;
        }
        if resource::is_skipped(&obj) {
            continue;
        }
        let group = resource::group_of(&api_version).to_owned();
        let namespaced = input
            .cluster
            .api(&group, &kind)
            .map(|a| a.namespaced)
            .or_else(|| crd_scopes.get(&(group.clone(), kind.clone())).copied())
            .unwrap_or(true);
        let meta = obj
            .as_object_mut()
            .and_then(|o| o.get_mut("metadata"))
            .and_then(Value::as_object_mut);
        let Some(meta) = meta else { continue };
        if namespaced {
            if meta
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
            {
                meta.insert(
                    "namespace".into(),
                    Value::String(input.namespace.to_owned()),
                );
            }
        } else {
            meta.remove("namespace");
        }
        if resource::is_hook(&obj) {
            hooks.push(obj);
            continue;
        }
        input.cluster.tracking().mark(&mut obj, input.app);
        desired.push(obj);
    }
    (desired, hooks)
}

/// Compares prepared desired objects with the cluster's live objects.
pub async fn compare(
    desired: Vec<Value>,
    hooks: Vec<Value>,
    input: &CompareInput<'_>,
    mut conditions: Vec<ApplicationCondition>,
) -> Comparison {
    let mut resources = Vec::new();
    let mut seen = HashSet::new();
    for obj in desired {
        let key = ResourceKey::of(&obj);
        if !seen.insert(key.clone()) {
            conditions.push(condition(
                "RepeatedResourceWarning",
                format!("Resource {key} appeared 2 times among application resources."),
            ));
            continue;
        }
        let mut live = input.cluster.get(&key);
        if live.is_none() {
            // Not tracked by anyone: it may still exist (created by hand), and the
            // comparison must see it to adopt it.
            match input.cluster.fetch(&key).await {
                Ok(found) => live = found.map(Arc::new),
                Err(e) => tracing::debug!(%key, error = %e, "cannot read live object"),
            }
        }
        let tracking = input.cluster.tracking();
        let shared_with = live
            .as_deref()
            .and_then(|l| tracking.read(l))
            .filter(|t| t.app != input.app && t.key == key)
            .map(|t| t.app);
        let other_installation = live.as_deref().and_then(|l| tracking.foreign(l));
        let other = match (&shared_with, &other_installation) {
            (Some(app), _) => Some(app.clone()),
            (None, Some((installation, t))) => {
                Some(format!("{} of installation {installation}", t.app))
            }
            (None, None) => None,
        };
        if let Some(other) = other {
            conditions.push(condition(
                SHARED_RESOURCE_WARNING,
                format!(
                    "{}/{} is part of applications {} and {other}",
                    key.kind, key.name, input.app
                ),
            ));
        }
        let diff = match &live {
            Some(l) => match diff::diff(&obj, Some(l), input.diff) {
                Ok(d) => Some(d),
                Err(e) => {
                    conditions.push(condition("ComparisonError", format!("{key}: {e}")));
                    None
                }
            },
            None => None,
        };
        let status = match (&live, &diff) {
            (Some(_), Some(d)) if !d.modified => SyncStatusCode::Synced,
            _ => SyncStatusCode::OutOfSync,
        };
        let health = match &live {
            None => Some(ResourceHealth {
                status: HealthStatusCode::Missing,
                message: None,
            }),
            Some(l) => input.health.check(l),
        };
        resources.push(ManagedResource {
            version: obj["apiVersion"].as_str().unwrap_or_default().to_owned(),
            wave: resource::sync_wave(&obj),
            key,
            desired: Some(obj),
            live,
            diff,
            status,
            health,
            shared_with,
            other_installation: other_installation.map(|(installation, _)| installation),
        });
    }
    for live in input.cluster.tracked_by(input.app) {
        let key = ResourceKey::of(&live);
        if seen.contains(&key) || resource::is_hook(&live) {
            continue;
        }
        let ignored = resource::has_option(&live, COMPARE_OPTIONS, "IgnoreExtraneous");
        resources.push(ManagedResource {
            version: live["apiVersion"].as_str().unwrap_or_default().to_owned(),
            wave: resource::sync_wave(&live),
            health: input.health.check(&live),
            status: if ignored {
                SyncStatusCode::Synced
            } else {
                SyncStatusCode::OutOfSync
            },
            key,
            desired: None,
            live: Some(live),
            diff: None,
            shared_with: None,
            other_installation: None,
        });
    }
    resources.sort_by(|a, b| a.key.cmp(&b.key));
    let out_of_sync = resources
        .iter()
        .any(|r| r.status == SyncStatusCode::OutOfSync);
    let (app_health, health_message) = app_health(&resources, input.app);
    let images: BTreeSet<String> = resources
        .iter()
        .filter_map(|r| r.live.as_deref())
        .flat_map(resource::images)
        .collect();
    Comparison {
        resources,
        hooks,
        conditions,
        sync_status: Some(if out_of_sync {
            SyncStatusCode::OutOfSync
        } else {
            SyncStatusCode::Synced
        }),
        health: app_health,
        health_message,
        images: images.into_iter().collect(),
    }
}

/// An Application's health as Argo CD aggregates it: the worst resource health, except
/// that hooks, `argocd.argoproj.io/ignore-healthcheck: "true"` objects, missing objects
/// and missing or unknown child Applications do not count — unless nothing exists yet
/// at all, which is Missing. The message names up to three causes.
fn app_health(resources: &[ManagedResource], app: &str) -> (HealthStatusCode, Option<String>) {
    let mut worst = HealthStatusCode::Healthy;
    let mut causes: Vec<&ManagedResource> = Vec::new();
    let mut any = false;
    let mut any_live = false;
    for r in resources {
        any = true;
        let Some(live) = &r.live else { continue };
        any_live = true;
        if resource::annotation(live, "argocd.argoproj.io/ignore-healthcheck") == Some("true") {
            continue;
        }
        // An app-of-apps may list itself; its own health does not feed back.
        if r.key.kind == "Application" && r.key.group == "argoproj.io" && r.key.name == app {
            continue;
        }
        let Some(h) = &r.health else { continue };
        if r.key.kind == "Application"
            && matches!(
                h.status,
                HealthStatusCode::Missing | HealthStatusCode::Unknown
            )
        {
            continue;
        }
        if health::is_worse(h.status, worst) {
            worst = h.status;
            causes = vec![r];
        } else if h.status == worst && worst != HealthStatusCode::Healthy {
            causes.push(r);
        }
    }
    if any && !any_live {
        return (HealthStatusCode::Missing, None);
    }
    if causes.is_empty() || worst == HealthStatusCode::Healthy {
        return (worst, None);
    }
    let names: Vec<String> = causes
        .iter()
        .take(3)
        .map(|c| {
            let gk = if c.key.group.is_empty() {
                c.key.kind.clone()
            } else {
                format!("{}/{}", c.key.group, c.key.kind)
            };
            let name = if c.key.namespace.is_empty() {
                c.key.name.clone()
            } else {
                format!("{}/{}", c.key.namespace, c.key.name)
            };
            format!("{gk}:{name}")
        })
        .collect();
    let mut message = format!("Caused by {}", names.join(", "));
    if causes.len() > 3 {
        message.push_str(&format!(" and {} more", causes.len() - 3));
    }
    (worst, Some(message))
}
