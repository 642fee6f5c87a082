//! Operations, run the way Argo CD's application controller runs them.
//!
//! A sync requested in `Application.operation` (by `argocd app sync`, a rollback, or
//! automated sync) runs in steps, one per reconcile. Its state lives in
//! `status.operationState`; `operation` stays set until the operation ends, so an
//! operation interrupted by an error or a restart is found `Running` and resumed: at the
//! revision it started with, with the results so far, under the same hook names.
//! Waiting never holds a reconcile: a step that has to wait (for health, a hook, a
//! deletion, a retry's backoff) writes the state and asks to be called again.
//! `operationState.phase: Terminating` (`argocd app terminate-op`, or
//! [`Config::sync_timeout`](crate::Config::sync_timeout)) is honoured at the next step.

use std::time::Duration;

use kube::api::Api;
use serde_json::json;
use windlass_entity_model::argocd::{
    Application, ApplicationSource, ApplicationStatus, Operation, OperationPhase, OperationState,
    RevisionHistory, SyncOperation, SyncOperationResult,
};

use crate::Result;
use crate::app::{AppState, Outcome, Reconciler, now, operation_in_progress, retry_backoff};
use crate::sync::Progress;

impl Reconciler {
    /// Runs one step of an Application's operation — `automated` starts a new one — and
    /// writes its state (`known` is what the API server holds, `status` what this
    /// reconcile makes of it). `compared` is the comparison just made. An operation
    /// that ends (`Synced` with a phase other than `Running`) is left in `status` for
    /// the caller to write along with `operation: null`.
    pub(crate) async fn operate(
        &self,
        app: &Application,
        api: &Api<Application>,
        known: &mut ApplicationStatus,
        status: &mut ApplicationStatus,
        compared: &AppState,
        automated: Option<Operation>,
    ) -> Result<Outcome> {
        let name = app.metadata.name.clone().unwrap_or_default();
        let now_ts = jiff::Timestamp::now();
        let mut state = if let Some(op) = automated {
            // Started here: the request is written along with its state.
            let state = new_state(op.clone());
            status.operation_state = Some(state.clone());
            self.patch_status(api, &name, known, status, json!({"operation": op}))
                .await?;
            state
        } else if operation_in_progress(Some(&*status)) {
            status.operation_state.clone().unwrap_or_default()
        } else if let Some(op) = app.operation.clone() {
            // Written before anything is done: the start time names generated hooks.
            let state = new_state(op);
            status.operation_state = Some(state.clone());
            self.patch_status(api, &name, known, status, json!({}))
                .await?;
            state
        } else {
            return Ok(Outcome::Compared);
        };
        let mut op = state.operation.clone().unwrap_or_default();
        let retry = op
            .retry
            .clone()
            .or_else(|| app.spec.sync_policy.as_ref().and_then(|p| p.retry.clone()));
        let started_at = timestamp(state.started_at.as_deref()).unwrap_or(now_ts);

        let mut cause = None;
        if let Some(limit) = self.config().sync_timeout
            && state.phase != Some(OperationPhase::Terminating)
            && now_ts.duration_since(started_at).unsigned_abs() > limit
        {
            state.phase = Some(OperationPhase::Terminating);
            state.message = Some("operation is terminating due to timeout".into());
            cause = Some("controller sync timeout");
        }
        if state.phase == Some(OperationPhase::Running)
            && let Some(failed_at) = timestamp(state.finished_at.as_deref())
        {
            // A failed attempt waits for its retry.
            let attempt = state.retry_count.unwrap_or(0);
            let retry_at = later(failed_at, retry_backoff(retry.as_ref(), attempt));
            if retry_at > now_ts {
                return Ok(Outcome::RetryAfter(
                    now_ts.duration_until(retry_at).unsigned_abs(),
                ));
            }
            // With `refresh`, the retry syncs the latest revision, not the one that failed.
            let mut latest = "";
            if retry.as_ref().and_then(|r| r.refresh) == Some(true) {
                if let Some(sync) = op.sync.as_mut() {
                    sync.revision = None;
                    sync.revisions = None;
                }
                state.operation = Some(op.clone());
                latest = " with latest revisions";
            }
            state.message = Some(format!("Retrying operation{latest}. Attempt #{attempt}"));
            state.finished_at = None;
            state.sync_result = None;
        }
        let terminating = state.phase == Some(OperationPhase::Terminating);

        // The step, at the revision the operation started with.
        let sync_op = op.sync.clone().unwrap_or_default();
        let pinned = state.sync_result.as_ref().and_then(|r| {
            r.revisions
                .clone()
                .or_else(|| r.revision.clone().map(|r| vec![r]))
        });
        let wanted = pinned.clone().or_else(|| {
            sync_op
                .revisions
                .clone()
                .or_else(|| sync_op.revision.clone().map(|r| vec![r]))
        });
        let own_sources = sync_op.source.is_none() && sync_op.sources.is_none();
        let recompared;
        let target = if own_sources && wanted.as_ref().is_none_or(|w| *w == compared.revisions) {
            compared
        } else {
            let sources = operation_sources(app, &sync_op, pinned.as_deref());
            recompared = Box::pin(self.compare(app, sources, false)).await?;
            &recompared
        };
        let progress = Progress {
            started_at: started_at.as_second(),
            results: state
                .sync_result
                .as_ref()
                .and_then(|r| r.resources.clone())
                .unwrap_or_default(),
            terminate: terminating,
        };
        let outcome = Box::pin(self.sync(app, target, &sync_op, &progress)).await;
        let multi = app.spec.sources.as_ref().is_some_and(|s| !s.is_empty());
        let synced_sources = operation_sources(app, &sync_op, None);
        state.sync_result = Some(SyncOperationResult {
            resources: Some(outcome.results),
            revision: (!multi)
                .then(|| target.revisions.first().cloned())
                .flatten(),
            revisions: multi.then(|| target.revisions.clone()),
            source: (!multi)
                .then(|| {
                    synced_sources
                        .as_ref()
                        .and_then(|s| s.first().cloned())
                        .or_else(|| app.spec.source.clone())
                })
                .flatten(),
            sources: multi.then(|| app.spec.sources.clone()).flatten(),
            ..Default::default()
        });
        state.phase = Some(outcome.phase);
        state.message = Some(outcome.message);

        match outcome.phase {
            OperationPhase::Running => {
                status.operation_state = Some(state);
                self.patch_status(api, &name, known, status, json!({}))
                    .await?;
                return Ok(Outcome::Synced(OperationPhase::Running));
            }
            OperationPhase::Failed | OperationPhase::Error => {
                let count = state.retry_count.unwrap_or(0);
                let limit = retry.as_ref().and_then(|r| r.limit).unwrap_or(0);
                let message = state.message.clone().unwrap_or_default();
                if !terminating && !sync_op.dry_run.unwrap_or(false) && (count < limit || limit < 0)
                {
                    let wait = retry_backoff(retry.as_ref(), count + 1);
                    state.phase = Some(OperationPhase::Running);
                    state.finished_at = Some(now());
                    state.retry_count = Some(count + 1);
                    state.message = Some(format!(
                        "{message}. Retrying attempt #{} at {}.",
                        count + 1,
                        kitchen(later(now_ts, wait))
                    ));
                    status.operation_state = Some(state);
                    self.patch_status(api, &name, known, status, json!({}))
                        .await?;
                    return Ok(Outcome::RetryAfter(wait));
                }
                let mut message = message;
                if let Some(cause) = cause.filter(|_| terminating) {
                    message = format!("{message}, triggered by {cause}");
                }
                if count > 0 {
                    message = format!("{message} (retried {count} times).");
                }
                state.message = Some(message);
            }
            _ => {}
        }

        // The operation has ended: its state is final and the request is cleared.
        let phase = outcome.phase;
        let finished_at = now();
        state.finished_at = Some(finished_at.clone());
        // Partial syncs (selected resources, self-heal) leave no history entry, as in Argo.
        let partial = sync_op.resources.as_ref().is_some_and(|r| !r.is_empty());
        if phase == OperationPhase::Succeeded && !sync_op.dry_run.unwrap_or(false) && !partial {
            let result = state.sync_result.clone().unwrap_or_default();
            let history = status.history.get_or_insert_with(Vec::new);
            let id = history
                .iter()
                .filter_map(|h| h.id)
                .max()
                .map_or(0, |m| m + 1);
            history.push(RevisionHistory {
                id: Some(id),
                revision: result.revision,
                revisions: result.revisions,
                source: result.source,
                sources: result.sources,
                deployed_at: Some(finished_at),
                deploy_started_at: state.started_at.clone(),
                initiated_by: op.initiated_by.clone(),
                ..Default::default()
            });
            let limit = app.spec.revision_history_limit.unwrap_or(10).max(0) as usize;
            if history.len() > limit {
                let cut = history.len() - limit;
                history.drain(..cut);
            }
        }
        // Written by the caller, with the comparison made after it and the request
        // cleared, in one write: no one sees the operation ended beside an older status.
        status.operation_state = Some(state);
        let dry_run = sync_op.dry_run.unwrap_or(false);
        self.metrics().sync_finished(app, phase, dry_run);
        Ok(Outcome::Synced(phase))
    }
}

/// Argo's state of an operation that starts now.
fn new_state(op: Operation) -> OperationState {
    OperationState {
        operation: Some(op),
        phase: Some(OperationPhase::Running),
        started_at: Some(now()),
        ..Default::default()
    }
}

/// The sources a sync operation renders: those it names, else the Application's, at the
/// revisions it names — or at `pinned`, the revisions an operation under way resolved
/// in its first step. `None`: the Application's own sources at their target revisions.
fn operation_sources(
    app: &Application,
    sync_op: &SyncOperation,
    pinned: Option<&[String]>,
) -> Option<Vec<ApplicationSource>> {
    let app_sources = || -> Vec<ApplicationSource> {
        match &app.spec.sources {
            Some(s) if !s.is_empty() => s.clone(),
            _ => app.spec.source.clone().into_iter().collect(),
        }
    };
    let named = sync_op
        .sources
        .clone()
        .or_else(|| sync_op.source.clone().map(|s| vec![s]));
    let revisions = pinned.map(<[String]>::to_vec).or_else(|| {
        sync_op
            .revisions
            .clone()
            .or_else(|| sync_op.revision.clone().map(|r| vec![r]))
    });
    match (named, revisions) {
        (None, None) => None,
        (named, revisions) => {
            let mut sources = named.unwrap_or_else(app_sources);
            for (source, revision) in sources.iter_mut().zip(revisions.into_iter().flatten()) {
                source.target_revision = Some(revision);
            }
            Some(sources)
        }
    }
}

fn timestamp(text: Option<&str>) -> Option<jiff::Timestamp> {
    text?.parse().ok()
}

/// `t + d`, or the latest time there is.
fn later(t: jiff::Timestamp, d: Duration) -> jiff::Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(jiff::Timestamp::MAX)
}

/// A time as Go's `time.Kitchen` layout prints it (`3:04PM`), in UTC.
fn kitchen(t: jiff::Timestamp) -> String {
    t.strftime("%-I:%M%p").to_string()
}
