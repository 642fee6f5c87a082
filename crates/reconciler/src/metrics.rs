//! Prometheus metrics of the reconciler, in the text exposition format, named as Argo
//! CD names them.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use windlass_entity_model::argocd::OperationPhase;

/// Upper bounds (seconds) of the reconcile duration histogram, Argo's buckets.
const BUCKETS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];

#[derive(Default)]
struct Inner {
    /// (app, succeeded) → count
    reconciles: BTreeMap<(String, bool), u64>,
    /// app → (bucket counts, sum, count)
    durations: BTreeMap<String, (Vec<u64>, f64, u64)>,
    /// (app, phase) → count
    syncs: BTreeMap<(String, &'static str), u64>,
}

/// Counters and histograms of reconciles and syncs.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Records one reconcile.
    pub fn reconciled(&self, app: &str, took: Duration, ok: bool) {
        let mut m = self.inner.lock().expect("not poisoned");
        *m.reconciles.entry((app.to_owned(), ok)).or_default() += 1;
        let entry = m
            .durations
            .entry(app.to_owned())
            .or_insert_with(|| (vec![0; BUCKETS.len()], 0.0, 0));
        let secs = took.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                entry.0[i] += 1;
            }
        }
        entry.1 += secs;
        entry.2 += 1;
    }

    /// Records the end of a sync operation.
    pub fn sync_finished(&self, app: &str, phase: OperationPhase) {
        let phase = match phase {
            OperationPhase::Succeeded => "Succeeded",
            OperationPhase::Failed => "Failed",
            OperationPhase::Error => "Error",
            OperationPhase::Running => "Running",
            OperationPhase::Terminating => "Terminating",
        };
        let mut m = self.inner.lock().expect("not poisoned");
        *m.syncs.entry((app.to_owned(), phase)).or_default() += 1;
    }

    /// How many reconciles ran in total.
    pub fn reconcile_count(&self) -> u64 {
        self.inner
            .lock()
            .expect("not poisoned")
            .reconciles
            .values()
            .sum()
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let m = self.inner.lock().expect("not poisoned");
        let mut out = String::new();
        out.push_str("# HELP argocd_app_reconcile_count Application reconciliation count.\n# TYPE argocd_app_reconcile_count counter\n");
        for ((app, ok), n) in &m.reconciles {
            let _ = writeln!(
                out,
                "argocd_app_reconcile_count{{name=\"{app}\",result=\"{}\"}} {n}",
                if *ok { "ok" } else { "error" }
            );
        }
        out.push_str("# HELP argocd_app_reconcile Application reconciliation performance in seconds.\n# TYPE argocd_app_reconcile histogram\n");
        for (app, (buckets, sum, count)) in &m.durations {
            for (bound, n) in BUCKETS.iter().zip(buckets) {
                let _ = writeln!(
                    out,
                    "argocd_app_reconcile_bucket{{name=\"{app}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "argocd_app_reconcile_bucket{{name=\"{app}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(out, "argocd_app_reconcile_sum{{name=\"{app}\"}} {sum}");
            let _ = writeln!(out, "argocd_app_reconcile_count{{name=\"{app}\"}} {count}");
        }
        out.push_str("# HELP argocd_app_sync_total Number of application syncs.\n# TYPE argocd_app_sync_total counter\n");
        for ((app, phase), n) in &m.syncs {
            let _ = writeln!(
                out,
                "argocd_app_sync_total{{name=\"{app}\",phase=\"{phase}\"}} {n}"
            );
        }
        out
    }
}
