//! Cron schedules and durations are checked with the rules of the Argo component that
//! reads them (robfig/cron's parsers, Go's `time.ParseDuration`), with their messages.

use std::path::Path;

use windlass_entity_model::load::load_str;

const MANIFESTS: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: windows, namespace: argocd}
spec:
  syncWindows:
    # Argo CD: five fields (no descriptors), a TZ prefix allowed, Go durations.
    - {kind: allow, schedule: "CRON_TZ=Europe/Paris 0 22 * * 1-5", duration: 1h30m, applications: ["*"]}
    - {kind: deny, schedule: "0 22 * * ?", duration: 90m, applications: ["*"]}
    - {kind: deny, schedule: "0 22 * * 7", duration: 1h, applications: ["*"]}
    - {kind: deny, schedule: "@daily", duration: 1h, applications: ["*"]}
    - {kind: deny, schedule: "0 22 * * *", duration: 1d, applications: ["*"]}
---
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: nightly}
spec:
  # Argo Workflows: robfig's standard parser, descriptors included.
  schedules: ["0 0 1,,15 * *", "@every 90m", "CRON_TZ=Asia/Tokyo @midnight", "0 0 * * 7", "0 0 * * * *"]
  workflowSpec:
    entrypoint: main
    templates:
      - name: main
        container: {image: busybox}
---
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata: {name: calendar}
spec:
  # Argo Events: five fields, or an interval.
  calendar:
    tz: {schedule: "CRON_TZ=UTC 0 * * * *"}
    sunday: {schedule: "0 0 * * 7"}
    daily: {schedule: "@daily"}
    every: {interval: 1h30m}
    days: {interval: 1d}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
  strategy:
    canary:
      # Argo Rollouts: 32-bit seconds, or a Go duration.
      steps:
        - pause: {duration: "30"}
        - pause: {duration: 1h}
        - pause: {duration: "3000000000"}
        - pause: {duration: 1d}
"#;

#[test]
fn schedules_and_durations_are_read_by_argo_rules() {
    let loaded = load_str(MANIFESTS, Path::new("schedules.yaml"));
    let errors: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(errors.join("\n"));
}
