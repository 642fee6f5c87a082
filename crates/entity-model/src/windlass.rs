//! Windlass's own kinds (`windlass.dev/v1alpha1`), kept in the account's config repository.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::Extra;
use crate::path::FieldPath;
use crate::validate::{Validate, Violations, is_dns1123_label, is_dns1123_subdomain};

/// A group of users that access rules grant permissions to.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "windlass.dev",
    version = "v1alpha1",
    kind = "Team",
    plural = "teams",
    status = "TeamStatus",
    printcolumn = r#"{"name":"Members","type":"integer","jsonPath":".status.memberCount"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct TeamSpec {
    /// Human-readable description of the team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Members, as Git user identities (e-mail addresses or provider logins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Observed state of a [`Team`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamStatus {
    /// Number of members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_count: Option<i64>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------
// Runtime
// ---------------------------------------------------------------------------------------

/// An installed Windlass runtime: the controllers, app proxy and reporter running in a
/// user's cluster, behind their firewall, dialling out to the platform.
///
/// Kept at `runtimes/<runtime>/runtime.yaml` in the config repository. Cluster-scoped:
/// a runtime belongs to the account, not to a namespace.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "windlass.dev",
    version = "v1alpha1",
    kind = "Runtime",
    plural = "runtimes",
    shortname = "rt",
    status = "RuntimeStatus",
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".spec.version"}"#,
    printcolumn = r#"{"name":"Namespace","type":"string","jsonPath":".spec.namespace"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Last Seen","type":"date","jsonPath":".status.lastSeen"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeSpec {
    /// Windlass version the runtime should run (semantic version, e.g. `0.4.1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub version: Option<String>,
    /// Namespace of the runtime's own cluster the runtime is installed in.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub namespace: Option<String>,
    /// Host name of the runtime's ingress, when webhooks must reach it (no scheme, no path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_host: Option<String>,
    /// Human-readable description of the runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Connection state of a [`Runtime`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RuntimePhase {
    /// Registered but never connected.
    Pending,
    /// Connected to the platform and healthy.
    Connected,
    /// Connected, but some components report problems.
    Degraded,
    /// Was connected; no report received recently.
    Disconnected,
}

/// Observed state of a [`Runtime`], reported by its reporter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeStatus {
    /// Connection state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<RuntimePhase>,
    /// Windlass version the runtime actually runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// When the platform last heard from the runtime (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// Human-readable details of the phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------
// GitSource
// ---------------------------------------------------------------------------------------

/// A directory of a Git repository whose manifests (Applications, Rollouts, Workflows,
/// ...) a runtime applies; the runtime syncs each GitSource as an Argo CD Application.
///
/// Kept at `git-sources/<name>.yaml` in the config repository.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "windlass.dev",
    version = "v1alpha1",
    kind = "GitSource",
    plural = "gitsources",
    shortname = "gs",
    status = "GitSourceStatus",
    printcolumn = r#"{"name":"Runtime","type":"string","jsonPath":".spec.runtime"}"#,
    printcolumn = r#"{"name":"Repo","type":"string","jsonPath":".spec.repoURL"}"#,
    printcolumn = r#"{"name":"Sync Status","type":"string","jsonPath":".status.sync.status"}"#,
    printcolumn = r#"{"name":"Health Status","type":"string","jsonPath":".status.health.status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct GitSourceSpec {
    /// Name of the [`Runtime`] that syncs this source.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub runtime: Option<String>,
    /// URL of the Git repository.
    #[serde(rename = "repoURL", skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub repo_url: Option<String>,
    /// Directory inside the repository, relative to its root (default: the root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Branch, tag or commit to sync (default `HEAD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// Glob of files to include, as Argo CD's `directory.include` (e.g. `{*.yaml,*.yml}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// Glob of files to exclude, as Argo CD's `directory.exclude`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
    /// Also read manifests in subdirectories (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurse: Option<bool>,
    /// Namespace for manifests that set none (default: the runtime's namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_namespace: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Observed state of a [`GitSource`]: that of the Argo CD Application syncing it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitSourceStatus {
    /// Sync status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<GitSourceSyncStatus>,
    /// Health of the applied manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<crate::argocd::AppHealthStatus>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Sync status of a [`GitSource`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitSourceSyncStatus {
    /// Whether the cluster matches the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<crate::argocd::SyncStatusCode>,
    /// Commit last compared or synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// When the source was last synced (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_at: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------------------

/// Registration of a Kubernetes cluster a runtime deploys to. Registration only: the
/// credentials stay in the runtime's cluster (as Argo CD cluster secrets), never in Git.
///
/// Kept at `runtimes/<runtime>/clusters/<name>.yaml`; labels and annotations (used by
/// ApplicationSet cluster generators and access rules) are the object's metadata.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "windlass.dev",
    version = "v1alpha1",
    kind = "Cluster",
    plural = "clusters",
    status = "ClusterStatus",
    printcolumn = r#"{"name":"Runtime","type":"string","jsonPath":".spec.runtime"}"#,
    printcolumn = r#"{"name":"Server","type":"string","jsonPath":".spec.server"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.connectionState.status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSpec {
    /// Name of the [`Runtime`] that manages the cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub runtime: Option<String>,
    /// URL of the cluster's API server (`https://...`), as in Argo CD's `destination.server`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub server: Option<String>,
    /// Human-readable description of the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Namespaces the runtime may manage in the cluster (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Whether a runtime can reach a cluster (Argo CD's connection states).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConnectionStatus {
    /// The last connection attempt succeeded.
    Successful,
    /// The last connection attempt failed.
    Failed,
    /// Not attempted yet.
    Unknown,
}

/// Observed state of a [`Cluster`], reported by its runtime.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// Result of the last connection attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_state: Option<ConnectionState>,
    /// Kubernetes version of the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// Number of applications deployed to the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applications_count: Option<i64>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Result of a connection attempt.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionState {
    /// `Successful`, `Failed` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ConnectionStatus>,
    /// Details, e.g. the error of a failed attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the attempt was made (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempted_at: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------
// AccessRule
// ---------------------------------------------------------------------------------------

/// Grants teams actions on the entities that match some attributes. Rules only allow;
/// anything no rule allows (and Git permissions do not give) is denied.
///
/// Kept at `access/rules/<name>.yaml` in the config repository. Which entities a rule
/// applies to is `attributes` (all of them must match) and, when set, `anyOf` (at
/// least one of its sets must match as well), the way Kyverno's `match.all`/`match.any`
/// read; several rules are alternatives, as Argo CD's policy lines are:
///
/// ```yaml
/// apiVersion: windlass.dev/v1alpha1
/// kind: AccessRule
/// metadata:
///   name: sre-operates-frontends
/// spec:
///   teams: [sre]
///   actions: [sync, rollback, logs]
///   attributes:            # all of: every attribute set here must match
///     labels: {tier: frontend}
///   anyOf:                 # and at least one of these sets
///     - runtimes: ['prod-*']
///     - clusters: [staging-eu]
///       namespaces: [shop]
/// ```
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "windlass.dev",
    version = "v1alpha1",
    kind = "AccessRule",
    plural = "accessrules",
    printcolumn = r#"{"name":"Teams","type":"string","jsonPath":".spec.teams"}"#,
    printcolumn = r#"{"name":"Actions","type":"string","jsonPath":".spec.actions"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct AccessRuleSpec {
    /// Human-readable description of the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Names of the [`Team`]s the rule grants to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub teams: Option<Vec<String>>,
    /// Actions granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub actions: Option<Vec<AccessAction>>,
    /// Which entities the rule applies to: every attribute set here must match (all
    /// of; default: all of the account's entities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<AccessAttributes>,
    /// Further sets of attributes of which at least one must match as well (any of);
    /// absent: no further condition. Must not be empty, and no set may be empty (it
    /// would match every entity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<AccessAttributes>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An action an access rule can grant.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum AccessAction {
    /// Every action below.
    #[serde(rename = "*")]
    All,
    /// See entities, their status and history.
    #[serde(rename = "view")]
    View,
    /// Refresh an application (compare with Git again).
    #[serde(rename = "refresh")]
    Refresh,
    /// Sync an application.
    #[serde(rename = "sync")]
    Sync,
    /// Terminate a running sync or workflow.
    #[serde(rename = "terminate")]
    Terminate,
    /// Roll an application back to an earlier revision.
    #[serde(rename = "rollback")]
    Rollback,
    /// Promote a rollout to its next step or fully.
    #[serde(rename = "promote")]
    Promote,
    /// Abort a rollout.
    #[serde(rename = "abort")]
    Abort,
    /// Retry an aborted rollout or a failed workflow.
    #[serde(rename = "retry")]
    Retry,
    /// Pause a rollout.
    #[serde(rename = "pause")]
    Pause,
    /// Resume a paused rollout or a suspended workflow.
    #[serde(rename = "resume")]
    Resume,
    /// Submit a workflow again.
    #[serde(rename = "resubmit")]
    Resubmit,
    /// Stop a workflow (its exit handlers still run).
    #[serde(rename = "stop")]
    Stop,
    /// Restart the pods of a workload.
    #[serde(rename = "restart")]
    Restart,
    /// Read container logs.
    #[serde(rename = "logs")]
    Logs,
    /// Open a shell in a container.
    #[serde(rename = "exec")]
    Exec,
    /// Change entities: a Git commit made on the user's behalf.
    #[serde(rename = "commit")]
    Commit,
    /// Delete entities: a Git commit made on the user's behalf.
    #[serde(rename = "delete")]
    Delete,
    /// Delete a live resource in a cluster (not a commit).
    #[serde(rename = "delete-resource")]
    DeleteResource,
}

/// Which entities an access rule applies to. Each list holds glob patterns (`*`, `?`,
/// `[...]`); an entity matches when every attribute that is set matches it (AND), an
/// attribute matches when any of its patterns does (OR). An attribute the rule sets and
/// the entity lacks (a namespace of a cluster-scoped entity) does not match.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessAttributes {
    /// Runtime names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtimes: Option<Vec<String>>,
    /// Cluster names (of [`Cluster`] registrations) or server URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<String>>,
    /// Destination namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Application names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applications: Option<Vec<String>>,
    /// GitSource names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_sources: Option<Vec<String>>,
    /// Labels the application must carry (all of them, exact values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

fn require_nonempty(value: &Option<String>, path: FieldPath, out: &mut Violations) {
    match value.as_deref() {
        None => out.push(path, "is required"),
        Some(v) if v.trim().is_empty() => out.push(path, "must not be empty"),
        Some(_) => {}
    }
}

/// Checks a reference to another account entity by name (a DNS-1123 subdomain).
fn validate_entity_ref(value: &Option<String>, kind: &str, path: FieldPath, out: &mut Violations) {
    match value.as_deref() {
        None => out.push(path, "is required"),
        Some(name) if !is_dns1123_subdomain(name) => out.push(
            path,
            format!("must be the name of a {kind} (a lowercase DNS-1123 subdomain)"),
        ),
        Some(_) => {}
    }
}

/// Whether `version` is a semantic version `MAJOR.MINOR.PATCH[-pre][+build]`, with an
/// optional leading `v`.
fn is_semver(version: &str) -> bool {
    let v = version.strip_prefix('v').unwrap_or(version);
    let (core, _) = v.split_once('+').unwrap_or((v, ""));
    let (core, pre) = match core.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (core, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && pre.is_none_or(|p| {
            !p.is_empty()
                && p.split('.').all(|id| {
                    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        })
}

impl Validate for TeamSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        let mut seen = std::collections::BTreeSet::new();
        for (i, member) in self.members.iter().flatten().enumerate() {
            let p = path.key("members").index(i);
            if member.trim().is_empty() {
                out.push(p, "must not be empty");
            } else if !seen.insert(member) {
                out.push(p, format!("member {member:?} is listed twice"));
            }
        }
    }
}

impl Validate for RuntimeSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        match self.version.as_deref() {
            None => out.push(path.key("version"), "is required"),
            Some(v) if !is_semver(v) => out.push(
                path.key("version"),
                "must be a semantic version such as 1.2.3",
            ),
            Some(_) => {}
        }
        match self.namespace.as_deref() {
            None => out.push(path.key("namespace"), "is required"),
            Some(ns) if !is_dns1123_label(ns) => {
                out.push(path.key("namespace"), "must be a DNS-1123 label")
            }
            Some(_) => {}
        }
        if let Some(host) = self.ingress_host.as_deref()
            && !is_dns1123_subdomain(host)
        {
            out.push(
                path.key("ingressHost"),
                "must be a lowercase host name without scheme, port or path",
            );
        }
    }
}

impl Validate for GitSourceSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        validate_entity_ref(&self.runtime, "Runtime", path.key("runtime"), out);
        require_nonempty(&self.repo_url, path.key("repoURL"), out);
        if let Some(p) = self.path.as_deref()
            && (p.starts_with('/') || p.split('/').any(|segment| segment == ".."))
        {
            out.push(
                path.key("path"),
                "must be relative to the repository root and must not contain '..'",
            );
        }
        for (field, value) in [("include", &self.include), ("exclude", &self.exclude)] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                out.push(path.key(field), "must not be empty");
            }
        }
        if let Some(ns) = self.destination_namespace.as_deref()
            && !is_dns1123_label(ns)
        {
            out.push(path.key("destinationNamespace"), "must be a DNS-1123 label");
        }
    }
}

/// Fields of an Argo CD cluster secret that hold credentials; none may be kept in Git.
const CREDENTIAL_FIELDS: &[&str] = &[
    "config",
    "bearerToken",
    "password",
    "username",
    "token",
    "tlsClientConfig",
    "certData",
    "keyData",
    "caData",
    "awsAuthConfig",
    "execProviderConfig",
    "credentials",
];

impl Validate for ClusterSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        validate_entity_ref(&self.runtime, "Runtime", path.key("runtime"), out);
        match self.server.as_deref() {
            None => out.push(path.key("server"), "is required"),
            Some(server) => {
                let rest = server
                    .strip_prefix("https://")
                    .or_else(|| server.strip_prefix("http://"));
                if rest.is_none_or(str::is_empty) {
                    out.push(
                        path.key("server"),
                        "must be the URL of the API server (https://...)",
                    );
                }
            }
        }
        for (i, ns) in self.namespaces.iter().flatten().enumerate() {
            if !is_dns1123_label(ns) {
                out.push(path.key("namespaces").index(i), "must be a DNS-1123 label");
            }
        }
        for field in CREDENTIAL_FIELDS {
            if self.extra.contains_key(*field) {
                out.push(
                    path.key(*field),
                    "credentials must not be kept in Git: they stay in the runtime's cluster",
                );
            }
        }
    }
}

fn validate_patterns(patterns: &Option<Vec<String>>, path: FieldPath, out: &mut Violations) {
    if let Some(patterns) = patterns {
        if patterns.is_empty() {
            out.push(
                path,
                "must not be empty when set (omit it to match everything)",
            );
            return;
        }
        for (i, pattern) in patterns.iter().enumerate() {
            if pattern.trim().is_empty() {
                out.push(path.index(i), "must not be empty");
            }
        }
    }
}

impl Validate for AccessRuleSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        match &self.teams {
            None => out.push(path.key("teams"), "is required"),
            Some(teams) if teams.is_empty() => {
                out.push(path.key("teams"), "must name at least one team")
            }
            Some(teams) => {
                let mut seen = std::collections::BTreeSet::new();
                for (i, team) in teams.iter().enumerate() {
                    let p = path.key("teams").index(i);
                    if !is_dns1123_subdomain(team) {
                        out.push(
                            p,
                            "must be the name of a Team (a lowercase DNS-1123 subdomain)",
                        );
                    } else if !seen.insert(team) {
                        out.push(p, format!("team {team:?} is listed twice"));
                    }
                }
            }
        }
        match &self.actions {
            None => out.push(path.key("actions"), "is required"),
            Some(actions) if actions.is_empty() => {
                out.push(path.key("actions"), "must name at least one action")
            }
            Some(actions) => {
                let mut seen = std::collections::BTreeSet::new();
                for (i, action) in actions.iter().enumerate() {
                    let p = path.key("actions").index(i);
                    if matches!(action, AccessAction::Commit | AccessAction::Delete) {
                        let name = if *action == AccessAction::Commit {
                            "commit"
                        } else {
                            "delete"
                        };
                        out.push(
                            p,
                            format!(
                                "{name:?} cannot be granted by a rule: it is a Git commit, which needs write permission on the repository holding the manifest (Git is the ceiling)"
                            ),
                        );
                    } else if !seen.insert(action) {
                        out.push(p, "action is listed twice");
                    }
                }
            }
        }
        if let Some(attributes) = &self.attributes {
            attributes.validate(&path.key("attributes"), out);
        }
        match &self.any_of {
            None => {}
            Some(sets) if sets.is_empty() => out.push(
                path.key("anyOf"),
                "must list at least one set of attributes when set (omit it to apply the rule to every entity its attributes match)",
            ),
            Some(sets) => {
                for (i, set) in sets.iter().enumerate() {
                    let p = path.key("anyOf").index(i);
                    if set.is_empty() {
                        out.push(
                            p,
                            "sets no attribute, so it matches every entity and anyOf always holds: set an attribute here, or remove anyOf",
                        );
                    } else {
                        set.validate(&p, out);
                    }
                }
            }
        }
    }
}

impl AccessAttributes {
    /// Whether no attribute is set (the set matches every entity).
    pub fn is_empty(&self) -> bool {
        self.runtimes.is_none()
            && self.clusters.is_none()
            && self.namespaces.is_none()
            && self.applications.is_none()
            && self.git_sources.is_none()
            && self.labels.is_none()
    }
}

impl Validate for AccessAttributes {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        validate_patterns(&self.runtimes, path.key("runtimes"), out);
        validate_patterns(&self.clusters, path.key("clusters"), out);
        validate_patterns(&self.namespaces, path.key("namespaces"), out);
        validate_patterns(&self.applications, path.key("applications"), out);
        validate_patterns(&self.git_sources, path.key("gitSources"), out);
        for key in self.labels.iter().flat_map(|l| l.keys()) {
            if key.trim().is_empty() {
                out.push(path.key("labels"), "a label key must not be empty");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver() {
        assert!(is_semver("1.2.3"));
        assert!(is_semver("v0.4.1-rc.1+build.5"));
        assert!(!is_semver("1.2"));
        assert!(!is_semver("latest"));
        assert!(!is_semver("1.2.3-"));
    }
}
