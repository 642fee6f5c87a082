//! The sync engine: apply, hooks, waves and prune, in Argo's order.
//!
//! Tasks are ordered by phase (PreSync, Sync, PostSync), then sync wave, then Argo's
//! kind order, then name. Each phase/wave group runs in turn: prunes, then hooks that
//! must be deleted before they are created, then applies (one kind at a time, objects
//! of a kind concurrently). Hooks are waited for until they complete; when a sync has
//! more than one group, every group but the last also waits until its resources are
//! healthy. A failure runs the `SyncFail` hooks and fails the operation.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy};
use serde_json::{Value, json};
use windlass_entity_model::argocd::{
    ManagedNamespaceMetadata, OperationPhase, ResourceResult, SyncOperationResource, SyncStatusCode,
};

use crate::cluster::Cluster;
use crate::compare::{Comparison, ManagedResource, SHARED_RESOURCE_WARNING, version_of};
use crate::diff::{self, DiffConfig};
use crate::health::{HealthChecks, HealthStatusCode};
use crate::resource::{
    self, HOOK_FINALIZER, HookDeletePolicy, INSTALLATION_ID, LAST_APPLIED, ResourceKey,
    SYNC_OPTIONS, SyncPhase,
};

/// How a sync runs: the operation's flags and the merged `syncOptions`.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Delete live objects that are no longer in Git.
    pub prune: bool,
    /// Only validate (server dry run); change nothing.
    pub dry_run: bool,
    /// `PruneLast=true`: prune after every other task.
    pub prune_last: bool,
    /// `ApplyOutOfSyncOnly=true`: skip resources already in sync.
    pub apply_out_of_sync_only: bool,
    /// `Replace=true`: replace (PUT) instead of apply.
    pub replace: bool,
    /// `ServerSideApply` (on unless `ServerSideApply=false`, which falls back to a
    /// client-side three-way merge with the last-applied annotation).
    pub server_side_apply: bool,
    /// `CreateNamespace=true`: create the destination namespace first.
    pub create_namespace: bool,
    /// `RespectIgnoreDifferences=true`: keep live values of ignored fields.
    pub respect_ignore_differences: bool,
    /// `PrunePropagationPolicy` (Argo's default: foreground).
    pub prune_propagation: PropagationPolicy,
    /// `FailOnSharedResource=true`: fail before anything is applied when another
    /// Application tracks one of the objects (by default Argo warns and syncs).
    pub fail_on_shared_resource: bool,
    /// Labels and annotations for a namespace created by `CreateNamespace=true`.
    pub managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
    /// Only these resources (a selective sync); hooks do not run then.
    pub resources: Option<Vec<SyncOperationResource>>,
    /// The field manager of applies.
    pub manager: String,
    /// How long to wait for one phase/wave to become healthy (None: as long as it takes,
    /// as in Argo).
    pub wave_timeout: Option<Duration>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            prune: false,
            dry_run: false,
            prune_last: false,
            apply_out_of_sync_only: false,
            replace: false,
            server_side_apply: true,
            create_namespace: false,
            respect_ignore_differences: false,
            prune_propagation: PropagationPolicy::Foreground,
            fail_on_shared_resource: false,
            managed_namespace_metadata: None,
            resources: None,
            manager: crate::FIELD_MANAGER.to_owned(),
            wave_timeout: None,
        }
    }
}

impl SyncOptions {
    /// Applies Argo's `syncOptions` strings (`CreateNamespace=true`, ...), later ones
    /// winning. Unknown options are ignored, as Argo does.
    pub fn apply_options<'a>(&mut self, options: impl IntoIterator<Item = &'a String>) {
        for option in options {
            let Some((name, value)) = option.split_once('=') else {
                continue;
            };
            let on = value.trim().eq_ignore_ascii_case("true");
            match name.trim() {
                "PruneLast" => self.prune_last = on,
                "ApplyOutOfSyncOnly" => self.apply_out_of_sync_only = on,
                "Replace" => self.replace = on,
                "ServerSideApply" => self.server_side_apply = on,
                "CreateNamespace" => self.create_namespace = on,
                "RespectIgnoreDifferences" => self.respect_ignore_differences = on,
                "FailOnSharedResource" => self.fail_on_shared_resource = on,
                "PrunePropagationPolicy" => {
                    self.prune_propagation = match value.trim() {
                        "background" => PropagationPolicy::Background,
                        "orphan" => PropagationPolicy::Orphan,
                        _ => PropagationPolicy::Foreground,
                    }
                }
                _ => {}
            }
        }
    }
}

/// How a sync ended.
#[derive(Clone, Debug)]
pub struct SyncOutcome {
    /// Succeeded, Failed or Error.
    pub phase: OperationPhase,
    /// Argo's message ("successfully synced (all tasks run)", ...).
    pub message: String,
    /// One result per task, in task order.
    pub results: Vec<ResourceResult>,
}

/// What the engine needs besides the comparison.
pub struct SyncContext<'a> {
    /// The Application's name (tracking annotations).
    pub app: &'a str,
    /// The destination namespace.
    pub namespace: &'a str,
    /// The revision being synced (names generated hooks).
    pub revision: &'a str,
    /// The destination cluster.
    pub cluster: &'a Arc<Cluster>,
    /// Health checks (waves wait on them).
    pub health: &'a HealthChecks,
    /// Diff settings (for `RespectIgnoreDifferences`).
    pub diff: &'a DiffConfig,
    /// Options.
    pub options: &'a SyncOptions,
    /// Polled between steps: true when the operation was asked to terminate.
    pub terminated: &'a (dyn Fn() -> futures::future::BoxFuture<'static, bool> + Send + Sync),
    /// Called with the results so far after each step (for `operationState`).
    pub progress: &'a (dyn Fn(&[ResourceResult]) + Send + Sync),
}

#[derive(Clone, Debug)]
struct Task {
    phase: SyncPhase,
    wave: i64,
    key: ResourceKey,
    version: String,
    target: Option<Value>,
    live: Option<Arc<Value>>,
    hook: bool,
    prune: bool,
    /// The installation managing the live object, when it is another one.
    other_installation: Option<String>,
    out_of_sync: bool,
    result: Option<ResourceResult>,
    /// Hooks: Running, Succeeded, Failed.
    hook_phase: Option<OperationPhase>,
}

impl Task {
    fn sort_key(&self) -> (SyncPhase, i64, usize, String) {
        (
            self.phase,
            self.wave,
            resource::kind_rank(&self.key.kind),
            self.key.name.clone(),
        )
    }

    fn obj(&self) -> &Value {
        self.target
            .as_ref()
            .or(self.live.as_deref())
            .unwrap_or(&Value::Null)
    }

    fn failed(&self) -> bool {
        self.result
            .as_ref()
            .and_then(|r| r.status.as_deref())
            .is_some_and(|s| s == "SyncFailed")
            || matches!(
                self.hook_phase,
                Some(OperationPhase::Failed | OperationPhase::Error)
            )
    }

    fn set_result(&mut self, status: &str, message: impl Into<String>) {
        let images = self
            .target
            .as_ref()
            .map(resource::images)
            .filter(|i| !i.is_empty());
        self.result = Some(ResourceResult {
            group: Some(self.key.group.clone()),
            version: Some(version_of(&self.version).to_owned()),
            kind: Some(self.key.kind.clone()),
            namespace: Some(self.key.namespace.clone()),
            name: Some(self.key.name.clone()),
            status: Some(status.to_owned()),
            message: Some(message.into()),
            hook_type: self.hook.then(|| self.phase.as_str().to_owned()),
            hook_phase: Some(
                match self.hook_phase {
                    Some(p) => phase_name(p),
                    None if status == "SyncFailed" => "Failed",
                    None => {
                        if self.hook {
                            "Running"
                        } else {
                            "Succeeded"
                        }
                    }
                }
                .to_owned(),
            ),
            sync_phase: Some(self.phase.as_str().to_owned()),
            images,
            ..Default::default()
        });
    }
}

fn phase_name(p: OperationPhase) -> &'static str {
    match p {
        OperationPhase::Running => "Running",
        OperationPhase::Terminating => "Terminating",
        OperationPhase::Failed => "Failed",
        OperationPhase::Error => "Error",
        OperationPhase::Succeeded => "Succeeded",
    }
}

fn selected(key: &ResourceKey, resources: &[SyncOperationResource]) -> bool {
    resources.iter().any(|r| {
        r.kind.as_deref() == Some(key.kind.as_str())
            && r.name.as_deref() == Some(key.name.as_str())
            && r.group.as_deref().unwrap_or("") == key.group
            && (r.namespace.as_deref().unwrap_or("").is_empty()
                || r.namespace.as_deref() == Some(key.namespace.as_str()))
    })
}

/// Builds the ordered task list of a sync from a comparison.
fn plan(comparison: &Comparison, ctx: &SyncContext<'_>, started_at: i64) -> Vec<Task> {
    let opts = ctx.options;
    let mut tasks = Vec::new();
    let selective = opts.resources.as_deref();
    for r in &comparison.resources {
        if selective.is_some_and(|s| !selected(&r.key, s)) {
            continue;
        }
        tasks.push(resource_task(r));
    }
    if selective.is_none() {
        for hook in &comparison.hooks {
            for phase in resource::hook_phases(hook) {
                let mut target = hook.clone();
                if target["metadata"]["name"].as_str().unwrap_or("").is_empty() {
                    let prefix = target["metadata"]["generateName"]
                        .as_str()
                        .unwrap_or("hook-");
                    let rev: String = ctx.revision.chars().take(7).collect();
                    let name =
                        format!("{prefix}{}-{}-{started_at}", rev, phase.as_str()).to_lowercase();
                    target["metadata"]["name"] = Value::String(name);
                    if let Some(m) = target["metadata"].as_object_mut() {
                        m.remove("generateName");
                    }
                }
                let key = ResourceKey::of(&target);
                ctx.cluster.tracking().mark(&mut target, ctx.app);
                let finalizers = target["metadata"]["finalizers"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if !finalizers.iter().any(|f| f == HOOK_FINALIZER) {
                    let mut f = finalizers;
                    f.push(Value::String(HOOK_FINALIZER.into()));
                    target["metadata"]["finalizers"] = Value::Array(f);
                }
                tasks.push(Task {
                    phase,
                    wave: resource::sync_wave(&target),
                    version: target["apiVersion"].as_str().unwrap_or_default().to_owned(),
                    key,
                    target: Some(target),
                    live: None,
                    hook: true,
                    prune: false,
                    other_installation: None,
                    out_of_sync: true,
                    result: None,
                    hook_phase: None,
                });
            }
        }
    }
    // Prune in reverse wave order: the earliest wave's prunes take the last wave's
    // slot and so on; PruneLast moves a prune after the last Sync wave.
    let mut prune_waves: Vec<i64> = tasks.iter().filter(|t| t.prune).map(|t| t.wave).collect();
    prune_waves.sort_unstable();
    prune_waves.dedup();
    let mirrored: BTreeMap<i64, i64> = prune_waves
        .iter()
        .zip(prune_waves.iter().rev())
        .map(|(a, b)| (*a, *b))
        .collect();
    let last_sync_wave = tasks
        .iter()
        .filter(|t| t.phase == SyncPhase::Sync)
        .map(|t| t.wave)
        .max()
        .unwrap_or(0)
        .max(0)
        + 1;
    for t in tasks.iter_mut().filter(|t| t.prune) {
        t.wave = mirrored[&t.wave];
        let live = t.live.as_deref().unwrap_or(&Value::Null);
        if opts.prune_last || resource::has_option(live, SYNC_OPTIONS, "PruneLast=true") {
            t.wave = last_sync_wave;
        }
    }
    tasks.sort_by_key(Task::sort_key);
    tasks
}

/// `ApplyOutOfSyncOnly`: a resource already in sync is not applied (hooks always are).
fn skipped_in_sync(opts: &SyncOptions, t: &Task) -> bool {
    opts.apply_out_of_sync_only && !t.out_of_sync && !t.hook
}

fn resource_task(r: &ManagedResource) -> Task {
    let target = r.desired.clone();
    Task {
        phase: SyncPhase::Sync,
        wave: r.wave,
        key: r.key.clone(),
        version: r.version.clone(),
        prune: target.is_none(),
        target,
        live: r.live.clone(),
        hook: false,
        other_installation: r.other_installation.clone(),
        out_of_sync: r.status != SyncStatusCode::Synced,
        result: None,
        hook_phase: None,
    }
}

/// Runs a sync to completion (or failure, or termination).
pub async fn run(comparison: &Comparison, ctx: &SyncContext<'_>) -> SyncOutcome {
    let started_at = jiff::Timestamp::now().as_second();
    let opts = ctx.options;
    let mut tasks = plan(comparison, ctx, started_at);
    if opts.respect_ignore_differences {
        for t in tasks.iter_mut() {
            if let (Some(target), Some(live)) = (t.target.as_mut(), t.live.as_deref())
                && let Err(e) = diff::respect_ignore_differences(target, live, ctx.diff)
            {
                t.set_result("SyncFailed", e.to_string());
            }
        }
    }
    // Argo's controller checks this before the sync starts: nothing is applied, and the
    // message is the first SharedResourceWarning's.
    if opts.fail_on_shared_resource
        && let Some(warning) = comparison
            .conditions
            .iter()
            .find(|c| c.type_.as_deref() == Some(SHARED_RESOURCE_WARNING))
    {
        return SyncOutcome {
            phase: OperationPhase::Failed,
            message: format!(
                "Shared resource found: {}",
                warning.message.as_deref().unwrap_or_default()
            ),
            results: Vec::new(),
        };
    }
    // Another installation's object is never adopted, whatever the options.
    for t in tasks.iter_mut() {
        if let Some(installation) = t.other_installation.clone() {
            t.set_result(
                "SyncFailed",
                format!(
                    "{}/{} is managed by another Argo CD installation ({INSTALLATION_ID}: {installation})",
                    t.key.kind, t.key.name
                ),
            );
        }
    }
    if tasks.iter().any(Task::failed) {
        return finish(
            tasks,
            OperationPhase::Failed,
            "one or more synchronization tasks are not valid",
        );
    }

    if opts.create_namespace
        && !ctx.namespace.is_empty()
        && !opts.dry_run
        && let Err(message) = ensure_namespace(ctx).await
    {
        return SyncOutcome {
            phase: OperationPhase::Failed,
            message: format!("the namespace failed to apply: {message}"),
            results: Vec::new(),
        };
    }

    // A server-side dry run of everything first: nothing is changed unless every object
    // is acceptable. Kinds whose CRD comes with this sync are not served yet and skip it.
    let checks = tasks
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.prune && !skipped_in_sync(opts, t))
        .filter(|(_, t)| ctx.cluster.api(&t.key.group, &t.key.kind).is_some())
        .map(|(i, t)| async move { (i, apply(ctx, t, true).await) });
    for (i, result) in join_all(checks).await {
        match result {
            Err(message) => tasks[i].set_result("SyncFailed", message),
            // A dry-run operation reports what the server said it would do.
            Ok((_, message)) if opts.dry_run => {
                if tasks[i].hook {
                    tasks[i].hook_phase = Some(OperationPhase::Succeeded);
                }
                tasks[i].set_result("Synced", message);
            }
            Ok(_) => {}
        }
    }
    if tasks.iter().any(Task::failed) {
        let message = failure_message("one or more objects failed to apply (dry run)", &tasks);
        return finish(tasks, OperationPhase::Failed, &message);
    }
    if opts.dry_run {
        let mut tasks: Vec<Task> = tasks
            .into_iter()
            .filter(|t| t.phase != SyncPhase::SyncFail)
            .collect();
        for t in tasks.iter_mut().filter(|t| t.prune) {
            let live = t.live.as_deref().unwrap_or(&Value::Null);
            let (status, message) = if !opts.prune {
                ("PruneSkipped", "ignored (requires pruning)")
            } else if resource::has_option(live, SYNC_OPTIONS, "Prune=false") {
                ("PruneSkipped", "ignored (no prune)")
            } else {
                ("Pruned", "pruned (dry run)")
            };
            t.set_result(status, message);
        }
        return finish(
            tasks,
            OperationPhase::Succeeded,
            "successfully synced (all tasks run)",
        );
    }

    let (fail_tasks, mut tasks): (Vec<Task>, Vec<Task>) = tasks
        .into_iter()
        .partition(|t| t.phase == SyncPhase::SyncFail);
    let mut groups: Vec<(SyncPhase, i64)> = tasks.iter().map(|t| (t.phase, t.wave)).collect();
    groups.dedup();
    let multi_step = groups.len() > 1;
    for (index, group) in groups.iter().enumerate() {
        if (ctx.terminated)().await {
            return terminate(ctx, tasks).await;
        }
        let members: Vec<usize> = (0..tasks.len())
            .filter(|i| (tasks[*i].phase, tasks[*i].wave) == *group)
            .collect();
        run_group(ctx, &mut tasks, &members).await;
        if members.iter().any(|i| tasks[*i].failed()) {
            let message = failure_message("one or more objects failed to apply", &tasks);
            return fail(ctx, tasks, fail_tasks, &message).await;
        }
        let last = index + 1 == groups.len();
        match wait_group(ctx, &mut tasks, &members, multi_step && !last).await {
            Ok(()) => {}
            Err(Stop::Terminated) => return terminate(ctx, tasks).await,
            Err(Stop::Failed(message)) => {
                let message = failure_message(&message, &tasks);
                return fail(ctx, tasks, fail_tasks, &message).await;
            }
        }
    }
    // Hooks are done: let them go, and delete those that asked for it.
    for t in tasks.iter().filter(|t| t.hook) {
        release_hook(ctx, t).await;
        let policies = resource::hook_delete_policies(t.obj());
        if policies.contains(&HookDeletePolicy::HookSucceeded) {
            delete(ctx, t, PropagationPolicy::Background).await.ok();
        }
    }
    finish(
        tasks,
        OperationPhase::Succeeded,
        "successfully synced (all tasks run)",
    )
}

fn results(tasks: &[Task]) -> Vec<ResourceResult> {
    tasks.iter().filter_map(|t| t.result.clone()).collect()
}

fn finish(tasks: Vec<Task>, phase: OperationPhase, message: &str) -> SyncOutcome {
    SyncOutcome {
        phase,
        message: message.to_owned(),
        results: results(&tasks),
    }
}

/// Fails the operation: runs the SyncFail hooks, deletes hooks with `HookFailed`.
async fn fail(
    ctx: &SyncContext<'_>,
    mut tasks: Vec<Task>,
    mut fail_tasks: Vec<Task>,
    message: &str,
) -> SyncOutcome {
    for t in tasks.iter().filter(|t| t.hook && t.live.is_some()) {
        release_hook(ctx, t).await;
        if resource::hook_delete_policies(t.obj()).contains(&HookDeletePolicy::HookFailed) {
            delete(ctx, t, PropagationPolicy::Background).await.ok();
        }
    }
    if !fail_tasks.is_empty() {
        let members: Vec<usize> = (0..fail_tasks.len()).collect();
        run_group(ctx, &mut fail_tasks, &members).await;
        let _ = wait_group(ctx, &mut fail_tasks, &members, false).await;
        for t in fail_tasks.iter().filter(|t| t.live.is_some()) {
            release_hook(ctx, t).await;
        }
        tasks.extend(fail_tasks);
    }
    finish(tasks, OperationPhase::Failed, message)
}

/// Runs one phase/wave: prunes, hook deletions before creation, then applies kind by kind.
async fn run_group(ctx: &SyncContext<'_>, tasks: &mut [Task], members: &[usize]) {
    let opts = ctx.options;
    let prunes = members.iter().copied().filter(|i| tasks[*i].prune);
    let outcomes = join_all(prunes.map(|i| {
        let t = &tasks[i];
        async move {
            let live = t.live.as_deref().unwrap_or(&Value::Null);
            if !opts.prune {
                return (i, "PruneSkipped", "ignored (requires pruning)".to_owned());
            }
            if resource::has_option(live, SYNC_OPTIONS, "Prune=false") {
                return (i, "PruneSkipped", "ignored (no prune)".to_owned());
            }
            let policy =
                if resource::has_option(live, SYNC_OPTIONS, "PrunePropagationPolicy=background") {
                    PropagationPolicy::Background
                } else if resource::has_option(live, SYNC_OPTIONS, "PrunePropagationPolicy=orphan")
                {
                    PropagationPolicy::Orphan
                } else {
                    opts.prune_propagation.clone()
                };
            match delete(ctx, t, policy).await {
                Ok(()) => (i, "Pruned", "pruned".to_owned()),
                Err(m) => (i, "SyncFailed", m),
            }
        }
    }))
    .await;
    for (i, status, message) in outcomes {
        tasks[i].set_result(status, message);
    }

    // Hooks with BeforeHookCreation (the default) replace an earlier run of the same name.
    let recreate: Vec<usize> = members
        .iter()
        .copied()
        .filter(|i| tasks[*i].hook)
        .filter(|i| {
            resource::hook_delete_policies(tasks[*i].obj())
                .contains(&HookDeletePolicy::BeforeHookCreation)
        })
        .collect();
    for i in recreate {
        let key = tasks[i].key.clone();
        if let Ok(Some(old)) = ctx.cluster.fetch(&key).await {
            let old = Task {
                live: Some(Arc::new(old)),
                ..tasks[i].clone()
            };
            release_hook(ctx, &old).await;
            if let Err(m) = delete(ctx, &old, PropagationPolicy::Background).await {
                tasks[i].set_result("SyncFailed", m);
                continue;
            }
            wait_gone(ctx, &key).await;
        }
    }

    let mut creates: Vec<usize> = members
        .iter()
        .copied()
        .filter(|i| !tasks[*i].prune && !tasks[*i].failed())
        .filter(|i| !(opts.apply_out_of_sync_only && !tasks[*i].out_of_sync && !tasks[*i].hook))
        .collect();
    creates.sort_by_key(|i| tasks[*i].sort_key());
    let mut start = 0;
    while start < creates.len() {
        let kind = tasks[creates[start]].key.kind.clone();
        let end = creates[start..]
            .iter()
            .position(|i| tasks[*i].key.kind != kind)
            .map(|p| start + p)
            .unwrap_or(creates.len());
        let batch = &creates[start..end];
        let outcomes = join_all(batch.iter().map(|i| {
            let t = &tasks[*i];
            async move { (*i, apply(ctx, t, false).await) }
        }))
        .await;
        for (i, outcome) in outcomes {
            match outcome {
                Ok((live, message)) => {
                    tasks[i].live = Some(Arc::new(live));
                    if tasks[i].hook {
                        tasks[i].hook_phase = Some(OperationPhase::Running);
                    }
                    tasks[i].set_result("Synced", message);
                }
                Err(message) => tasks[i].set_result("SyncFailed", message),
            }
        }
        if kind == "CustomResourceDefinition" {
            // Serve the new kinds before objects of them are applied.
            if let Err(e) = ctx.cluster.refresh_discovery().await {
                tracing::warn!(error = %e, "discovery after applying CRDs failed");
            }
        }
        start = end;
    }
}

/// Why a wait stopped early.
enum Stop {
    /// The operation was asked to terminate.
    Terminated,
    /// A task failed (Argo's message).
    Failed(String),
}

/// Argo's failure message: the operation's reason, then the messages of the tasks that
/// failed to sync (`..., reason: <message>,<message>`).
fn failure_message(message: &str, tasks: &[Task]) -> String {
    let reasons: Vec<&str> = tasks
        .iter()
        .filter_map(|t| t.result.as_ref())
        .filter(|r| r.status.as_deref() == Some("SyncFailed"))
        .filter_map(|r| r.message.as_deref())
        .collect();
    if reasons.is_empty() {
        message.to_owned()
    } else {
        format!("{message}, reason: {}", reasons.join(","))
    }
}

/// Terminates the operation as Argo does: hooks still running are deleted (their
/// result says so), finished ones are released; SyncFail hooks do not run.
async fn terminate(ctx: &SyncContext<'_>, mut tasks: Vec<Task>) -> SyncOutcome {
    for t in tasks.iter_mut().filter(|t| t.hook && t.live.is_some()) {
        release_hook(ctx, t).await;
        if t.hook_phase == Some(OperationPhase::Running) {
            match delete(ctx, t, PropagationPolicy::Background).await {
                Ok(()) => {
                    t.hook_phase = Some(OperationPhase::Succeeded);
                    let status = t
                        .result
                        .as_ref()
                        .and_then(|r| r.status.clone())
                        .unwrap_or_else(|| "Synced".into());
                    t.set_result(&status, "Deleted");
                }
                Err(m) => {
                    t.hook_phase = Some(OperationPhase::Failed);
                    let status = t
                        .result
                        .as_ref()
                        .and_then(|r| r.status.clone())
                        .unwrap_or_else(|| "Synced".into());
                    t.set_result(&status, format!("Failed to delete: {m}"));
                }
            }
        }
    }
    finish(tasks, OperationPhase::Failed, "Operation terminated")
}

/// Waits for a group: hooks until they complete; with `wait_healthy`, every applied
/// resource until it is healthy.
async fn wait_group(
    ctx: &SyncContext<'_>,
    tasks: &mut [Task],
    members: &[usize],
    wait_healthy: bool,
) -> Result<(), Stop> {
    let deadline = ctx
        .options
        .wave_timeout
        .map(|d| tokio::time::Instant::now() + d);
    let mut reported = false;
    loop {
        let mut pending = 0;
        for &i in members {
            let t = &tasks[i];
            if t.prune || t.failed() || t.live.is_none() {
                continue;
            }
            if !t.hook && !wait_healthy {
                continue;
            }
            if t.hook && t.hook_phase != Some(OperationPhase::Running) {
                continue;
            }
            let live = match ctx.cluster.get(&t.key) {
                Some(l) => Some((*l).clone()),
                None => ctx.cluster.fetch(&t.key).await.ok().flatten(),
            };
            let Some(live) = live else {
                pending += 1;
                continue;
            };
            let t = &mut tasks[i];
            let health = ctx.health.check(&live);
            if t.hook {
                let phase = hook_phase(&live, health.as_ref());
                let message = health.and_then(|h| h.message).unwrap_or_default();
                t.live = Some(Arc::new(live));
                match phase {
                    OperationPhase::Running => pending += 1,
                    p => {
                        t.hook_phase = Some(p);
                        let status = t
                            .result
                            .as_ref()
                            .and_then(|r| r.status.clone())
                            .unwrap_or_else(|| "Synced".into());
                        let message = if message.is_empty() {
                            t.result
                                .as_ref()
                                .and_then(|r| r.message.clone())
                                .unwrap_or_default()
                        } else {
                            message
                        };
                        t.set_result(&status, message);
                    }
                }
            } else {
                match health.map(|h| h.status) {
                    None | Some(HealthStatusCode::Healthy) => {}
                    Some(HealthStatusCode::Degraded) => {
                        t.hook_phase = Some(OperationPhase::Failed);
                        t.set_result("Synced", "resource is Degraded");
                    }
                    _ => pending += 1,
                }
            }
        }
        if members.iter().any(|i| tasks[*i].failed()) {
            return Err(Stop::Failed(
                "one or more synchronization tasks completed unsuccessfully".into(),
            ));
        }
        if pending == 0 {
            return Ok(());
        }
        // Only a sync that waits shows its partial results (once per wait: a sync that
        // does not wait writes its operation state once, when it ends).
        if !reported {
            (ctx.progress)(&results(tasks));
            reported = true;
        }
        if (ctx.terminated)().await {
            return Err(Stop::Terminated);
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            return Err(Stop::Failed(
                "one or more synchronization tasks did not become healthy in time".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A hook's progress, as Argo reads it: Pods and Argo Workflows by phase, everything
/// else by health (no health means it is done once it exists).
fn hook_phase(live: &Value, health: Option<&crate::health::ResourceHealth>) -> OperationPhase {
    let kind = live["kind"].as_str().unwrap_or_default();
    if kind == "Pod" || kind == "Workflow" {
        return match live["status"]["phase"].as_str() {
            Some("Succeeded") => OperationPhase::Succeeded,
            Some("Failed") | Some("Error") => OperationPhase::Failed,
            _ => OperationPhase::Running,
        };
    }
    match health.map(|h| h.status) {
        None | Some(HealthStatusCode::Healthy) => OperationPhase::Succeeded,
        Some(HealthStatusCode::Degraded) => OperationPhase::Failed,
        _ => OperationPhase::Running,
    }
}

/// Applies one task's object; returns the live object and Argo's message.
async fn apply(ctx: &SyncContext<'_>, t: &Task, dry_run: bool) -> Result<(Value, String), String> {
    let target = t.target.as_ref().ok_or("nothing to apply")?;
    let key = &t.key;
    let info = match ctx.cluster.api(&key.group, &key.kind) {
        Some(info) => info,
        None => {
            let _ = ctx.cluster.refresh_discovery().await;
            ctx.cluster.api(&key.group, &key.kind).ok_or_else(|| {
                format!(
                    "the server could not find the requested resource ({} {})",
                    target["apiVersion"].as_str().unwrap_or_default(),
                    key.kind
                )
            })?
        }
    };
    let api = ctx.cluster.dynamic_api(&info, &key.namespace);
    let kind_name = if key.group.is_empty() {
        key.kind.to_lowercase()
    } else {
        format!("{}.{}", key.kind.to_lowercase(), key.group)
    };
    let opts = ctx.options;
    let replace = opts.replace || resource::has_option(target, SYNC_OPTIONS, "Replace=true");
    let ssa = opts.server_side_apply
        && !resource::has_option(target, SYNC_OPTIONS, "ServerSideApply=false");
    let obj: kube::api::DynamicObject =
        serde_json::from_value(target.clone()).map_err(|e| format!("{key}: {e}"))?;
    let suffix = if dry_run { " (dry run)" } else { "" };
    let result = if replace {
        let live = api.get_opt(&key.name).await.map_err(|e| e.to_string())?;
        let pp = PostParams {
            dry_run,
            field_manager: Some(opts.manager.clone()),
        };
        match live {
            Some(live) => {
                let mut obj = obj;
                obj.metadata.resource_version = live.metadata.resource_version.clone();
                api.replace(&key.name, &pp, &obj)
                    .await
                    .map(|o| (o, "replaced"))
            }
            None => api.create(&pp, &obj).await.map(|o| (o, "created")),
        }
    } else if !ssa {
        client_side_apply(&api, target, opts, dry_run).await
    } else {
        let mut pp = PatchParams::apply(&opts.manager).force();
        pp.dry_run = dry_run;
        api.patch(&key.name, &pp, &Patch::Apply(&obj))
            .await
            .map(|o| (o, "serverside-applied"))
    };
    match result {
        Ok((live, verb)) => {
            let live = serde_json::to_value(live).map_err(|e| e.to_string())?;
            if !dry_run {
                ctx.cluster.observe_value(live.clone(), false);
            }
            Ok((live, format!("{kind_name}/{} {verb}{suffix}", key.name)))
        }
        Err(kube::Error::Api(status)) => Err(status.message),
        Err(e) => Err(e.to_string()),
    }
}

/// `kubectl apply` (client-side): a three-way merge of the last applied object, the
/// desired one and the live one, the last applied kept in an annotation.
async fn client_side_apply(
    api: &kube::Api<kube::api::DynamicObject>,
    target: &Value,
    opts: &SyncOptions,
    dry_run: bool,
) -> Result<(kube::api::DynamicObject, &'static str), kube::Error> {
    let name = target["metadata"]["name"].as_str().unwrap_or_default();
    let mut desired = target.clone();
    let recorded = serde_json::to_string(target).unwrap_or_default();
    desired["metadata"]["annotations"][LAST_APPLIED] = Value::String(recorded);
    let live = api.get_opt(name).await?;
    match live {
        None => {
            let obj: kube::api::DynamicObject =
                serde_json::from_value(desired).map_err(kube::Error::SerdeError)?;
            let pp = PostParams {
                dry_run,
                field_manager: Some(opts.manager.clone()),
            };
            api.create(&pp, &obj).await.map(|o| (o, "created"))
        }
        Some(live) => {
            let live = serde_json::to_value(&live).map_err(kube::Error::SerdeError)?;
            let last: Value = live["metadata"]["annotations"][LAST_APPLIED]
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(Value::Null);
            let patch = three_way(&last, &desired, &live);
            if patch.as_object().is_some_and(|p| p.is_empty()) {
                let obj = serde_json::from_value(live).map_err(kube::Error::SerdeError)?;
                return Ok((obj, "unchanged"));
            }
            let pp = PatchParams {
                dry_run,
                field_manager: Some(opts.manager.clone()),
                ..Default::default()
            };
            api.patch(name, &pp, &Patch::Merge(&patch))
                .await
                .map(|o| (o, "configured"))
        }
    }
}

/// A JSON merge patch taking `live` to `desired`, deleting what `last` applied and
/// `desired` no longer has (fields others added stay).
pub fn three_way(last: &Value, desired: &Value, live: &Value) -> Value {
    let mut patch = serde_json::Map::new();
    if let Some(d) = desired.as_object() {
        for (k, dv) in d {
            let lv = &live[k.as_str()];
            if dv.is_object() && lv.is_object() {
                let sub = three_way(&last[k.as_str()], dv, lv);
                if sub.as_object().is_some_and(|s| !s.is_empty()) {
                    patch.insert(k.clone(), sub);
                }
            } else if dv != lv {
                patch.insert(k.clone(), dv.clone());
            }
        }
    }
    if let Some(l) = last.as_object() {
        for k in l.keys() {
            if desired.get(k).is_none() && !live[k.as_str()].is_null() {
                patch.insert(k.clone(), Value::Null);
            }
        }
    }
    Value::Object(patch)
}

/// Delete options for an object we decided to delete: the propagation policy, and its
/// UID as a precondition, so that an object recreated under the same name meanwhile is
/// not deleted in its place (the server answers 409 Conflict instead).
pub(crate) fn delete_params(live: Option<&Value>, policy: PropagationPolicy) -> DeleteParams {
    let uid = live
        .and_then(|l| l["metadata"]["uid"].as_str())
        .map(str::to_owned);
    DeleteParams {
        propagation_policy: Some(policy),
        preconditions: uid.map(|uid| Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        ..Default::default()
    }
}

/// Deletes a task's live object (the one the decision was made on; 404 counts as done).
async fn delete(ctx: &SyncContext<'_>, t: &Task, policy: PropagationPolicy) -> Result<(), String> {
    let (key, live) = (&t.key, t.live.as_deref());
    let info = ctx
        .cluster
        .api(&key.group, &key.kind)
        .ok_or_else(|| format!("{key}: the server does not serve this kind"))?;
    let api = ctx.cluster.dynamic_api(&info, &key.namespace);
    match api.delete(&key.name, &delete_params(live, policy)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(kube::Error::Api(s)) => Err(s.message),
        Err(e) => Err(e.to_string()),
    }
}

async fn wait_gone(ctx: &SyncContext<'_>, key: &ResourceKey) {
    for _ in 0..300 {
        if matches!(ctx.cluster.fetch(key).await, Ok(None)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Removes Argo's hook finalizer from a hook that has run.
async fn release_hook(ctx: &SyncContext<'_>, t: &Task) {
    let Some(info) = ctx.cluster.api(&t.key.group, &t.key.kind) else {
        return;
    };
    let api = ctx.cluster.dynamic_api(&info, &t.key.namespace);
    let Ok(Some(live)) = api.get_opt(&t.key.name).await else {
        return;
    };
    let finalizers = live.metadata.finalizers.clone().unwrap_or_default();
    if !finalizers.iter().any(|f| f == HOOK_FINALIZER) {
        return;
    }
    let kept: Vec<&String> = finalizers.iter().filter(|f| *f != HOOK_FINALIZER).collect();
    let patch = json!({"metadata": {"finalizers": kept, "resourceVersion": live.metadata.resource_version}});
    let _ = api
        .patch(&t.key.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await;
}

/// `CreateNamespace=true`: the destination namespace, with managed metadata.
async fn ensure_namespace(ctx: &SyncContext<'_>) -> Result<(), String> {
    let mut ns =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ctx.namespace}});
    if let Some(meta) = &ctx.options.managed_namespace_metadata {
        if let Some(labels) = &meta.labels {
            ns["metadata"]["labels"] = json!(labels);
        }
        if let Some(annotations) = &meta.annotations {
            ns["metadata"]["annotations"] = json!(annotations);
        }
    }
    let api: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(ctx.cluster.client().clone());
    let exists = api
        .get_opt(ctx.namespace)
        .await
        .map_err(|e| e.to_string())?
        .is_some();
    if exists && ctx.options.managed_namespace_metadata.is_none() {
        return Ok(());
    }
    let pp = PatchParams::apply(&ctx.options.manager).force();
    api.patch(ctx.namespace, &pp, &Patch::Apply(&ns))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_way_merge_keeps_fields_others_added() {
        let last = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "data": {"x": "1"}});
        let desired = json!({"metadata": {"labels": {"a": "1"}}, "data": {"x": "2"}});
        let live = json!({"metadata": {"labels": {"a": "1", "b": "2", "other": "kept"}}, "data": {"x": "1"}});
        let patch = three_way(&last, &desired, &live);
        assert_eq!(
            patch,
            json!({"metadata": {"labels": {"b": null}}, "data": {"x": "2"}})
        );
    }

    #[test]
    fn options_parse_like_argo() {
        let mut o = SyncOptions::default();
        o.apply_options(&[
            "CreateNamespace=true".to_owned(),
            "ServerSideApply=false".to_owned(),
            "PrunePropagationPolicy=background".to_owned(),
        ]);
        assert!(o.create_namespace && !o.server_side_apply);
        assert!(matches!(o.prune_propagation, PropagationPolicy::Background));
    }
}
