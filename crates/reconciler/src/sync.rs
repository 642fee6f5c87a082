//! The sync engine: apply, hooks, waves and prune, in Argo's order.
//!
//! Tasks are ordered by phase (PreSync, Sync, PostSync), then sync wave, then Argo's
//! kind order, then name. Each phase/wave group runs in turn: prunes, then hooks that
//! must be deleted before they are created, then applies (one kind at a time, objects
//! of a kind concurrently). Hooks are waited for until they complete; when a sync has
//! more than one group, every group but the last also waits until its resources are
//! healthy. A failure runs the `SyncFail` hooks and fails the operation.
//!
//! A sync runs in steps, as gitops-engine's does: [`run`] does what can be done now and
//! returns `Running` with Argo's "waiting for ..." message when the next thing to do is
//! wait. The next step starts from the results so far ([`Progress`], kept in
//! `operationState.syncResult`), so nothing holds a task while a wave becomes healthy
//! or a hook completes, and a step after a restart carries on where the last one left.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

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
    /// Where the operation stands.
    pub progress: &'a Progress,
}

/// Where an operation stands between two steps.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// When the operation started (Unix seconds). Generated hook names hold it, so they
    /// are the same in every step.
    pub started_at: i64,
    /// The results of the steps so far (`operationState.syncResult.resources`).
    pub results: Vec<ResourceResult>,
    /// Terminate the operation (`operationState.phase: Terminating`) instead of going on.
    pub terminate: bool,
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

    /// Not started in this operation yet.
    fn pending(&self) -> bool {
        self.result.is_none()
    }

    /// Applied and waited for: a hook until it completes, a resource until it is healthy.
    fn running(&self) -> bool {
        self.hook_phase == Some(OperationPhase::Running)
    }

    /// Done, one way or the other.
    fn completed(&self) -> bool {
        !self.pending() && !self.running()
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

/// Runs one step of a sync: what can be done now, until the next thing to do is wait
/// (phase `Running`, Argo's "waiting for ..." message) or the sync has ended. The
/// results hold every task's result so far, earlier steps' included.
pub async fn run(comparison: &Comparison, ctx: &SyncContext<'_>) -> SyncOutcome {
    let mut outcome = Box::pin(step(comparison, ctx)).await;
    outcome.results = merge_results(&ctx.progress.results, outcome.results);
    outcome
}

/// The earlier results, each replaced by its newer version, then the new ones (Argo's
/// order: first seen first).
fn merge_results(earlier: &[ResourceResult], newer: Vec<ResourceResult>) -> Vec<ResourceResult> {
    let key = |r: &ResourceResult| {
        (
            r.group.clone().unwrap_or_default(),
            r.kind.clone().unwrap_or_default(),
            r.namespace.clone().unwrap_or_default(),
            r.name.clone().unwrap_or_default(),
            r.sync_phase.clone().unwrap_or_default(),
        )
    };
    let mut merged = earlier.to_vec();
    let index: HashMap<_, usize> = merged
        .iter()
        .enumerate()
        .map(|(i, r)| (key(r), i))
        .collect();
    for r in newer {
        match index.get(&key(&r)) {
            Some(&i) => merged[i] = r,
            None => merged.push(r),
        }
    }
    merged
}

/// Gives each task its result from an earlier step (tasks without one are pending).
fn restore(tasks: &mut [Task], earlier: &[ResourceResult]) {
    for t in tasks.iter_mut().filter(|t| t.result.is_none()) {
        let found = earlier.iter().find(|r| {
            r.group.as_deref().unwrap_or_default() == t.key.group
                && r.kind.as_deref() == Some(t.key.kind.as_str())
                && r.namespace.as_deref().unwrap_or_default() == t.key.namespace
                && r.name.as_deref() == Some(t.key.name.as_str())
                && r.sync_phase.as_deref() == Some(t.phase.as_str())
        });
        if let Some(r) = found {
            t.hook_phase = match r.hook_phase.as_deref() {
                Some("Running") => Some(OperationPhase::Running),
                Some("Succeeded") => Some(OperationPhase::Succeeded),
                Some("Failed") => Some(OperationPhase::Failed),
                Some("Error") => Some(OperationPhase::Error),
                Some("Terminating") => Some(OperationPhase::Terminating),
                _ => None,
            };
            t.result = Some(r.clone());
        }
    }
}

async fn step(comparison: &Comparison, ctx: &SyncContext<'_>) -> SyncOutcome {
    let opts = ctx.options;
    let mut tasks = plan(comparison, ctx, ctx.progress.started_at);
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
    let invalid = tasks.iter().any(Task::failed);
    restore(&mut tasks, &ctx.progress.results);
    if invalid {
        return finish(
            tasks,
            OperationPhase::Failed,
            "one or more synchronization tasks are not valid",
        );
    }
    // Hooks' live objects (resources have theirs from the comparison).
    for t in tasks.iter_mut().filter(|t| t.hook) {
        t.live = live_object(ctx, &t.key).await.map(Arc::new);
    }
    if ctx.progress.terminate {
        return terminate(ctx, tasks).await;
    }

    // The first step checks everything with a server-side dry run before changing anything.
    if ctx.progress.results.is_empty() || opts.dry_run {
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
    }

    let (mut fail_tasks, mut tasks): (Vec<Task>, Vec<Task>) = tasks
        .into_iter()
        .partition(|t| t.phase == SyncPhase::SyncFail);
    let mut groups: Vec<(SyncPhase, i64)> = tasks.iter().map(|t| (t.phase, t.wave)).collect();
    groups.dedup();
    let multi_step = groups.len() > 1;
    let mut apply_failed = false;
    loop {
        refresh_running(ctx, &mut tasks).await;
        refresh_running(ctx, &mut fail_tasks).await;
        let running: Vec<&Task> = tasks
            .iter()
            .chain(&fail_tasks)
            .filter(|t| t.running())
            .collect();
        if !running.is_empty() {
            let message = waiting_for(&running, false);
            tasks.extend(fail_tasks);
            return finish(tasks, OperationPhase::Running, &message);
        }
        // Hooks that are done are let go.
        for t in tasks.iter_mut().chain(fail_tasks.iter_mut()) {
            if t.hook && t.completed() && holds_hook_finalizer(t) {
                release_hook(ctx, t).await;
                if let Some(live) = t.live.as_mut() {
                    let mut released = (**live).clone();
                    if let Some(f) = released["metadata"]["finalizers"].as_array_mut() {
                        f.retain(|f| f != HOOK_FINALIZER);
                    }
                    *live = Arc::new(released);
                }
            }
        }

        if tasks.iter().any(|t| t.completed() && t.failed()) {
            delete_hooks(
                ctx,
                tasks.iter().chain(&fail_tasks),
                HookDeletePolicy::HookFailed,
            )
            .await;
            let reason = if apply_failed {
                "one or more objects failed to apply"
            } else {
                "one or more synchronization tasks completed unsuccessfully"
            };
            let message = failure_message(reason, &tasks);
            if fail_tasks.iter().all(Task::completed) {
                tasks.extend(fail_tasks);
                return finish(tasks, OperationPhase::Failed, &message);
            }
            // The SyncFail hooks run once the sync has failed; it ends when they have.
            let members: Vec<usize> = (0..fail_tasks.len())
                .filter(|i| fail_tasks[*i].pending())
                .collect();
            if let Some(deleting) = run_group(ctx, &mut fail_tasks, &members, false).await {
                let message = waiting_for(
                    &deleting.iter().map(|i| &fail_tasks[*i]).collect::<Vec<_>>(),
                    true,
                );
                tasks.extend(fail_tasks);
                return finish(tasks, OperationPhase::Running, &message);
            }
            if fail_tasks
                .iter()
                .any(|t| t.result.as_ref().and_then(|r| r.status.as_deref()) == Some("SyncFailed"))
            {
                let hooks = failure_message("one or more SyncFail hooks failed", &fail_tasks);
                tasks.extend(fail_tasks);
                return finish(
                    tasks,
                    OperationPhase::Failed,
                    &format!("{message}\n{hooks}"),
                );
            }
            // From now on the sync is one whose tasks completed unsuccessfully (Argo's
            // wording once its SyncFail hooks have run).
            apply_failed = false;
            continue;
        }

        // The next phase/wave with anything left to do.
        let pending: Vec<usize> = (0..tasks.len())
            .filter(|i| tasks[*i].pending() && !skipped_in_sync(opts, &tasks[*i]))
            .collect();
        let Some(&first) = pending.first() else {
            delete_hooks(ctx, tasks.iter(), HookDeletePolicy::HookSucceeded).await;
            tasks.extend(fail_tasks);
            return finish(
                tasks,
                OperationPhase::Succeeded,
                "successfully synced (no more tasks)",
            );
        };
        let group = (tasks[first].phase, tasks[first].wave);
        let members: Vec<usize> = pending
            .iter()
            .copied()
            .filter(|i| (tasks[*i].phase, tasks[*i].wave) == group)
            .collect();
        // Hooks of this group are still to be waited for.
        let remaining = pending
            .iter()
            .any(|i| !members.contains(i) || tasks[*i].hook);
        // Resources of every group but the last are healthy before the next one starts.
        let await_health = multi_step && groups.last() != Some(&group);
        if let Some(deleting) = run_group(ctx, &mut tasks, &members, await_health).await {
            let message = waiting_for(
                &deleting.iter().map(|i| &tasks[*i]).collect::<Vec<_>>(),
                true,
            );
            tasks.extend(fail_tasks);
            return finish(tasks, OperationPhase::Running, &message);
        }
        apply_failed = members.iter().any(|i| tasks[*i].failed());
        if !apply_failed && !remaining {
            delete_hooks(ctx, tasks.iter(), HookDeletePolicy::HookSucceeded).await;
            tasks.extend(fail_tasks);
            return finish(
                tasks,
                OperationPhase::Succeeded,
                "successfully synced (all tasks run)",
            );
        }
    }
}

/// Deletes the completed hooks that ask for it with `policy`.
async fn delete_hooks<'t>(
    ctx: &SyncContext<'_>,
    tasks: impl Iterator<Item = &'t Task>,
    policy: HookDeletePolicy,
) {
    for t in tasks {
        if t.hook
            && t.completed()
            && t.live.is_some()
            && resource::hook_delete_policies(t.obj()).contains(&policy)
        {
            delete(ctx, t, PropagationPolicy::Background).await.ok();
        }
    }
}

/// Whether a hook's live object still holds Argo's hook finalizer.
fn holds_hook_finalizer(t: &Task) -> bool {
    t.live.as_deref().is_some_and(|l| {
        l["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == HOOK_FINALIZER))
    })
}

/// Argo's message for what a sync waits for: `waiting for healthy state of
/// apps/Deployment/web and 2 more resources`, `waiting for completion of hook ...`,
/// `waiting for deletion of ...`.
fn waiting_for(tasks: &[&Task], deletion: bool) -> String {
    let Some(first) = tasks.first() else {
        return "one or more tasks are running".to_owned();
    };
    let (what, more) = if first.hook {
        ("completion of hook", "hooks")
    } else {
        ("healthy state of", "resources")
    };
    let what = if deletion { "deletion of" } else { what };
    let mut message = format!(
        "waiting for {what} {}/{}/{}",
        first.key.group, first.key.kind, first.key.name
    );
    if tasks.len() > 1 {
        message.push_str(&format!(" and {} more {more}", tasks.len() - 1));
    }
    message
}

/// A live object: from the cache, else from the API server (hooks, untracked objects).
async fn live_object(ctx: &SyncContext<'_>, key: &ResourceKey) -> Option<Value> {
    match ctx.cluster.get(key) {
        Some(live) => Some((*live).clone()),
        None => ctx.cluster.fetch(key).await.ok().flatten(),
    }
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

/// Runs one phase/wave: prunes, hook deletions before creation, then applies kind by
/// kind. Applied resources are waited for until healthy with `await_health` (hooks
/// always are). Returns the hooks still being deleted before they can be created again:
/// nothing was applied then, the group runs again in the next step.
async fn run_group(
    ctx: &SyncContext<'_>,
    tasks: &mut [Task],
    members: &[usize],
    await_health: bool,
) -> Option<Vec<usize>> {
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
        .filter(|i| tasks[*i].hook && tasks[*i].live.is_some())
        .filter(|i| {
            resource::hook_delete_policies(tasks[*i].obj())
                .contains(&HookDeletePolicy::BeforeHookCreation)
        })
        .collect();
    let mut deleting = Vec::new();
    for i in recreate {
        let key = tasks[i].key.clone();
        release_hook(ctx, &tasks[i]).await;
        if let Err(m) = delete(ctx, &tasks[i], PropagationPolicy::Background).await {
            tasks[i].set_result("SyncFailed", m);
            continue;
        }
        match ctx.cluster.fetch(&key).await {
            Ok(None) => tasks[i].live = None,
            _ => deleting.push(i),
        }
    }
    if !deleting.is_empty() {
        return Some(deleting);
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
                    if tasks[i].hook || await_health {
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
    None
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

/// Looks again at what runs: a hook completes by its phase or health, a resource once
/// it is healthy (Degraded fails it).
async fn refresh_running(ctx: &SyncContext<'_>, tasks: &mut [Task]) {
    for t in tasks.iter_mut().filter(|t| t.running() && !t.prune) {
        let Some(live) = live_object(ctx, &t.key).await else {
            continue;
        };
        let health = ctx.health.check(&live);
        let status = t
            .result
            .as_ref()
            .and_then(|r| r.status.clone())
            .unwrap_or_else(|| "Synced".into());
        let previous_message = t
            .result
            .as_ref()
            .and_then(|r| r.message.clone())
            .unwrap_or_default();
        if t.hook {
            let phase = hook_phase(&live, health.as_ref());
            if phase != OperationPhase::Running {
                let message = health
                    .and_then(|h| h.message)
                    .filter(|m| !m.is_empty())
                    .unwrap_or(previous_message);
                t.hook_phase = Some(phase);
                t.set_result(&status, message);
            }
        } else {
            match health.map(|h| h.status) {
                None | Some(HealthStatusCode::Healthy) => {
                    t.hook_phase = Some(OperationPhase::Succeeded);
                    t.set_result(&status, previous_message);
                }
                Some(HealthStatusCode::Degraded) => {
                    t.hook_phase = Some(OperationPhase::Failed);
                    t.set_result("Synced", "resource is Degraded");
                }
                _ => {}
            }
        }
        t.live = Some(Arc::new(live));
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
