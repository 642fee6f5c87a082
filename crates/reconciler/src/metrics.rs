//! Prometheus metrics of the reconciler in the text exposition format, named and
//! labelled as Argo CD's application controller exposes them.
//!
//! - `argocd_app_info` — one gauge per Application (read, like Argo, from the
//!   controller's Application cache at scrape time: see [`Metrics::watch_applications`]).
//! - `argocd_app_reconcile` — a histogram of reconcile durations by namespace and
//!   destination server, Argo's buckets.
//! - `argocd_app_sync_total` — finished sync operations by phase.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use kube::runtime::reflector::Store;
use serde::Serialize;
use windlass_entity_model::argocd::{Application, OperationPhase};

use crate::cluster::IN_CLUSTER_SERVER;
use crate::repo::normalize_url;

/// The `Content-Type` of [`Metrics::render`]'s text (Prometheus' text format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the reconcile duration histogram, Argo's buckets.
const BUCKETS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];

/// One histogram series: cumulative bucket counts, sum and count.
struct Histogram {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Inner {
    /// (namespace, dest_server) → reconcile durations
    reconciles: BTreeMap<(String, String), Histogram>,
    /// [namespace, name, project, dest_server, phase, dry_run] → count
    syncs: BTreeMap<[String; 6], u64>,
}

/// Counters and histograms of reconciles and syncs, and the Applications' state.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    applications: RwLock<Option<Store<Application>>>,
}

impl Metrics {
    /// Reports `argocd_app_info` for the Applications of `store` (the controller's cache
    /// of Applications) from now on.
    pub fn watch_applications(&self, store: Store<Application>) {
        *self.applications.write().expect("not poisoned") = Some(store);
    }

    /// Records one reconcile of `app`, successful or not.
    pub fn reconciled(&self, app: &Application, took: Duration) {
        let key = (namespace(app), dest_server(app));
        let mut m = self.inner.lock().expect("not poisoned");
        let h = m.reconciles.entry(key).or_insert_with(|| Histogram {
            buckets: vec![0; BUCKETS.len()],
            sum: 0.0,
            count: 0,
        });
        let secs = took.as_secs_f64();
        for (n, bound) in h.buckets.iter_mut().zip(BUCKETS) {
            if secs <= *bound {
                *n += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// Records the end of a sync operation of `app`.
    pub fn sync_finished(&self, app: &Application, phase: OperationPhase, dry_run: bool) {
        let key = [
            namespace(app),
            app.metadata.name.clone().unwrap_or_default(),
            project(app),
            dest_server(app),
            label_of(&phase, "Unknown"),
            dry_run.to_string(),
        ];
        *self
            .inner
            .lock()
            .expect("not poisoned")
            .syncs
            .entry(key)
            .or_default() += 1;
    }

    /// How many reconciles ran in total.
    pub fn reconcile_count(&self) -> u64 {
        self.inner
            .lock()
            .expect("not poisoned")
            .reconciles
            .values()
            .map(|h| h.count)
            .sum()
    }

    /// The metrics in Prometheus' text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP argocd_app_info Information about application.\n# TYPE argocd_app_info gauge\n",
        );
        let mut apps = self
            .applications
            .read()
            .expect("not poisoned")
            .as_ref()
            .map(Store::state)
            .unwrap_or_default();
        apps.sort_by_key(|a| (a.metadata.namespace.clone(), a.metadata.name.clone()));
        for app in &apps {
            let _ = writeln!(out, "argocd_app_info{} 1", labels(&info_labels(app)));
        }

        let m = self.inner.lock().expect("not poisoned");
        out.push_str("# HELP argocd_app_reconcile Application reconciliation performance in seconds.\n# TYPE argocd_app_reconcile histogram\n");
        for ((ns, server), h) in &m.reconciles {
            let series = [("namespace", ns.as_str()), ("dest_server", server.as_str())];
            for (bound, n) in BUCKETS.iter().zip(&h.buckets) {
                let le = bound.to_string();
                let mut with_le = series.to_vec();
                with_le.push(("le", le.as_str()));
                let _ = writeln!(out, "argocd_app_reconcile_bucket{} {n}", labels(&with_le));
            }
            let mut inf = series.to_vec();
            inf.push(("le", "+Inf"));
            let _ = writeln!(
                out,
                "argocd_app_reconcile_bucket{} {}",
                labels(&inf),
                h.count
            );
            let _ = writeln!(out, "argocd_app_reconcile_sum{} {}", labels(&series), h.sum);
            let _ = writeln!(
                out,
                "argocd_app_reconcile_count{} {}",
                labels(&series),
                h.count
            );
        }
        out.push_str("# HELP argocd_app_sync_total Number of application syncs.\n# TYPE argocd_app_sync_total counter\n");
        for (key, n) in &m.syncs {
            let names = [
                "namespace",
                "name",
                "project",
                "dest_server",
                "phase",
                "dry_run",
            ];
            let pairs: Vec<(&str, &str)> = names
                .into_iter()
                .zip(key.iter().map(String::as_str))
                .collect();
            let _ = writeln!(out, "argocd_app_sync_total{} {n}", labels(&pairs));
        }
        out
    }
}

/// The labels of `argocd_app_info`, as Argo sets them.
fn info_labels(app: &Application) -> Vec<(&'static str, String)> {
    let spec = &app.spec;
    let source = spec
        .sources
        .as_ref()
        .and_then(|s| s.first())
        .or(spec.source.as_ref());
    let repo = source
        .and_then(|s| s.repo_url.as_deref())
        .map(normalize_url)
        .unwrap_or_default();
    let autosync = spec
        .sync_policy
        .as_ref()
        .and_then(|p| p.automated.as_ref())
        .is_some_and(|a| a.enabled != Some(false));
    let status = app.status.as_ref();
    let sync_status = status
        .and_then(|s| s.sync.as_ref())
        .and_then(|s| s.status)
        .map(|s| label_of(&s, "Unknown"))
        .unwrap_or_else(|| "Unknown".into());
    let health_status = status
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.status)
        .map(|h| label_of(&h, "Unknown"))
        .unwrap_or_else(|| "Unknown".into());
    let operation = if app.metadata.deletion_timestamp.is_some() {
        "delete"
    } else if app.operation.as_ref().is_some_and(|o| o.sync.is_some()) {
        "sync"
    } else {
        ""
    };
    vec![
        ("namespace", namespace(app)),
        ("name", app.metadata.name.clone().unwrap_or_default()),
        ("project", project(app)),
        ("autosync_enabled", autosync.to_string()),
        ("repo", repo),
        ("dest_server", dest_server(app)),
        (
            "dest_namespace",
            spec.destination
                .as_ref()
                .and_then(|d| d.namespace.clone())
                .unwrap_or_default(),
        ),
        ("sync_status", sync_status),
        ("health_status", health_status),
        ("operation", operation.into()),
    ]
}

fn namespace(app: &Application) -> String {
    app.metadata.namespace.clone().unwrap_or_default()
}

/// The project, `default` when none is set (Argo's `GetProject`).
fn project(app: &Application) -> String {
    app.spec
        .project
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "default".into())
}

/// The destination's server URL; a destination named `in-cluster` is the in-cluster
/// server. Other destinations given by name have no URL here (Argo resolves them from
/// the cluster secrets; it writes an empty label when it cannot).
fn dest_server(app: &Application) -> String {
    let dest = app.spec.destination.as_ref();
    match (
        dest.and_then(|d| d.server.as_deref()),
        dest.and_then(|d| d.name.as_deref()),
    ) {
        (Some(server), _) if !server.is_empty() => server.to_owned(),
        (_, Some("in-cluster")) => IN_CLUSTER_SERVER.to_owned(),
        _ => String::new(),
    }
}

/// The string a status enum serializes to (`fallback` for the empty one).
fn label_of(value: &impl Serialize, fallback: &str) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}

/// `{name="value",...}` with values escaped as the text format requires.
fn labels<V: AsRef<str>>(pairs: &[(&str, V)]) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        for c in value.as_ref().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(
            labels(&[("repo", "a\"b\\c\nd"), ("x", "")]),
            r#"{repo="a\"b\\c\nd",x=""}"#
        );
    }
}
