//! Acceptance: every manifest of Argo's own examples (`../shared/corpus/`, kept outside
//! the repository) loads, validates, and is written back semantically unchanged.
//!
//! The corpus also holds data for other engines (Argo CD's Lua health checks with their
//! status snippets, Helm's charts); only the example folders below are manifests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use windlass_entity_model::load::{load_path, load_str, manifest_files, without_nulls};
use windlass_entity_model::{FieldPath, de, yaml};

/// Files of the corpus that Argo itself would not accept as they are, with the reason.
/// Each must fail to load here too: the list cannot go stale silently.
const REJECTED: &[(&str, &str)] = &[
    (
        "argo-rollouts/examples/dashboard.json",
        "a Grafana dashboard, not a Kubernetes manifest",
    ),
    (
        "argo-workflows/examples/grafana-dashboard.json",
        "a Grafana dashboard, not a Kubernetes manifest",
    ),
    (
        "argo-workflows/examples/fun-with-gifs.yaml",
        "`generateName` is indented under `labels`: the Workflow has no name and an invalid \
         label value, which the API server rejects (labelled no-test upstream)",
    ),
    (
        "argo-workflows/examples/k8s-jobs.yaml",
        "`generateName` is indented under `labels`: the Workflow has no name and an invalid \
         label value, which the API server rejects (labelled no-test upstream)",
    ),
    (
        "argo-workflows/examples/k8s-patch-json-workflow.yaml",
        "`metadata.annotations` is given twice; strict decoding (kubectl's default) rejects \
         duplicate fields (labelled no-test upstream)",
    ),
    (
        "argo-events/examples/sensors/trigger-openwhisk.yaml",
        "the trigger is spelled `openwhisk`; Argo Events knows `openWhisk` and fails the trigger",
    ),
    (
        "argo-events/examples/tutorials/09-http-trigger/sensor-01.yaml",
        "the HTTP trigger uses the removed `serverURL` and has no `url`; Argo Events rejects it",
    ),
    (
        "argo-events/examples/tutorials/09-http-trigger/sensor-02.yaml",
        "the HTTP trigger uses the removed `serverURL` and has no `url`; Argo Events rejects it",
    ),
    (
        "argo-rollouts/examples/traffic-management/rollout-linkerd.yaml",
        "its AnalysisTemplate has `linkerd.io/inject: {{args.linkerd-enabled}}`, a mapping used as \
         a mapping key: not valid YAML for Kubernetes (the file's other documents load)",
    ),
    (
        "argo-rollouts/examples/helm-blue-green/templates/",
        "Helm chart templates (`{{ ... }}`): Helm renders them before Argo sees them",
    ),
    (
        "argo-rollouts/examples/helm-blue-green/Chart.yaml",
        "a Helm chart description, not a Kubernetes manifest (no `kind`)",
    ),
    (
        "argo-rollouts/examples/helm-blue-green/values.yaml",
        "Helm values, not a Kubernetes manifest (no `apiVersion`/`kind`)",
    ),
];

fn corpus() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    assert!(
        dir.is_dir(),
        "the acceptance corpus is missing: expected Argo's examples at {} (../shared/corpus \
         beside the project root)",
        dir.display()
    );
    dir
}

fn rejection(relative: &str) -> Option<&'static str> {
    REJECTED
        .iter()
        .find(|(prefix, _)| relative.starts_with(prefix))
        .map(|(_, reason)| *reason)
}

/// The corpus folders that hold Argo's example manifests.
const EXAMPLES: &[&str] = &[
    "argo-workflows/examples",
    "argo-rollouts/examples",
    "argo-events/examples",
];

#[test]
fn every_corpus_manifest_loads_validates_and_round_trips() {
    let root = corpus();
    let mut files = Vec::new();
    for folder in EXAMPLES {
        files.extend(manifest_files(&root.join(folder)).expect("corpus is readable"));
    }
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut rejected_seen = 0;
    for file in &files {
        let relative = file
            .strip_prefix(&root)
            .expect("under the corpus")
            .to_string_lossy()
            .into_owned();
        let loaded = load_path(file);
        if let Some(reason) = rejection(&relative) {
            assert!(
                !loaded.is_ok(),
                "{relative} is listed as rejected ({reason}) but loads: update REJECTED"
            );
            rejected_seen += 1;
            continue;
        }
        for error in &loaded.errors {
            failures.push(error.to_string());
        }
        // Round trip: what Windlass writes back equals what was read, document by document.
        let text = std::fs::read_to_string(file).expect("UTF-8 corpus file");
        let documents: Vec<yaml::Document> =
            yaml::parse_documents(&text).into_iter().flatten().collect();
        for manifest in &loaded.manifests {
            let document = documents
                .iter()
                .find(|d| d.index == manifest.document)
                .expect("the manifest's document");
            let original: Value = de::from_node(&document.root, FieldPath::root()).expect("JSON");
            let written = manifest.entity.to_value();
            if without_nulls(original) != without_nulls(written.clone()) {
                failures.push(format!(
                    "{relative}: document {} does not round-trip",
                    manifest.document
                ));
            }
            // And the YAML Windlass writes reads back as the same entity.
            let again = load_str(&manifest.entity.to_yaml(), Path::new("rewritten.yaml"));
            if again.manifests.len() != 1 || again.manifests[0].entity != manifest.entity {
                failures.push(format!(
                    "{relative}: document {} changes when written as YAML and read back: {:?}",
                    manifest.document, again.errors
                ));
            }
            *kinds
                .entry(manifest.entity.kind_name().to_owned())
                .or_default() += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(rejected_seen, 13, "every REJECTED entry matched its files");
    // The corpus is large: make sure it was really read, kind by kind.
    for (kind, at_least) in [
        ("Workflow", 150),
        ("WorkflowTemplate", 10),
        ("ClusterWorkflowTemplate", 5),
        ("CronWorkflow", 4),
        ("Rollout", 15),
        ("AnalysisTemplate", 5),
        ("ClusterAnalysisTemplate", 1),
        ("Experiment", 1),
        ("EventSource", 30),
        ("Sensor", 80),
        ("EventBus", 1),
    ] {
        let seen = kinds.get(kind).copied().unwrap_or(0);
        assert!(
            seen >= at_least,
            "only {seen} {kind} documents loaded (expected {at_least}+): {kinds:?}"
        );
    }
}
