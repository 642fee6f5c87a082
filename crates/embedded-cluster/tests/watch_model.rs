//! Watch semantics under concurrent writers, checked against a model: every
//! acknowledged write shows up exactly once, as the right event type, in
//! resourceVersion order, and replaying a watch gives the state a list shows.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use proptest::prelude::*;
use serde_json::json;
use tokio::sync::watch;
use windlass_embedded_cluster::{Config, Controllers, EmbeddedCluster, Handle};

const NAMESPACE: &str = "default";
/// How many distinct ConfigMap names the writers fight over.
const NAMES: usize = 3;
/// The object written after everything else: once a watch delivers it, every
/// earlier event has been delivered (events come in resourceVersion order), so no
/// watch waits on a clock to decide that nothing more is coming.
const SENTINEL: &str = "sentinel";
/// Server-side bound on every watch.
const WATCH_SECONDS: u32 = 30;
/// Bound on one whole case.
const CASE_TIMEOUT: Duration = Duration::from_secs(45);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Added,
    Modified,
    Deleted,
}

/// One acknowledged write, or one watch event: what the model compares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Change {
    rv: u64,
    kind: Kind,
    name: String,
    /// `data.v` of the object (as written, or as it was when deleted).
    value: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// POST; 409 AlreadyExists is an expected rejection.
    Create(usize),
    /// GET then PUT with that resourceVersion; 404 and 409 Conflict are
    /// expected rejections (another writer got in between).
    Replace(usize),
    /// Merge patch of `data`; 404 is an expected rejection.
    Patch(usize),
    /// DELETE; 404 is an expected rejection.
    Delete(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let name = 0..NAMES;
    prop_oneof![
        3 => name.clone().prop_map(Op::Create),
        2 => name.clone().prop_map(Op::Replace),
        2 => name.clone().prop_map(Op::Patch),
        2 => name.prop_map(Op::Delete),
    ]
}

fn name(i: usize) -> String {
    format!("cm-{i}")
}

fn rv_of(cm: &ConfigMap) -> u64 {
    cm.metadata
        .resource_version
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("numeric resourceVersion")
}

fn value_of(cm: &ConfigMap) -> Option<String> {
    cm.data.as_ref().and_then(|d| d.get("v").cloned())
}

fn change(kind: Kind, cm: &ConfigMap) -> Change {
    Change {
        rv: rv_of(cm),
        kind,
        name: cm.metadata.name.clone().unwrap_or_default(),
        value: value_of(cm),
    }
}

fn configmap(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"v": value},
    }))
    .expect("valid ConfigMap")
}

async fn cluster() -> Handle {
    EmbeddedCluster::start(Config {
        controllers: Controllers::none(),
        ..Config::default()
    })
    .await
    .expect("cluster starts")
}

/// `Ok(None)`: a rejection the model allows (the listed status codes).
fn tolerate<T>(
    result: Result<T, kube::Error>,
    allowed: &[u16],
    what: &str,
) -> Result<Option<T>, String> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(s)) if allowed.contains(&s.code) => Ok(None),
        Err(e) => Err(format!("{what}: unexpected error {e:?}")),
    }
}

/// Runs one writer's operations; returns every acknowledged write. Values
/// are unique per write so that no update is a no-op (which would be
/// acknowledged without an event). `progress` counts the operations done by all
/// writers.
async fn writer(
    api: Api<ConfigMap>,
    id: usize,
    ops: Vec<Op>,
    progress: Arc<watch::Sender<usize>>,
) -> Result<Vec<Change>, String> {
    let mut acked = Vec::new();
    for (seq, op) in ops.into_iter().enumerate() {
        progress.send_modify(|n| *n += 1);
        let value = format!("w{id}-{seq}");
        match op {
            Op::Create(i) => {
                let r = api
                    .create(&PostParams::default(), &configmap(&name(i), &value))
                    .await;
                if let Some(cm) = tolerate(r, &[409], "create")? {
                    acked.push(change(Kind::Added, &cm));
                }
            }
            Op::Replace(i) => {
                let Some(mut cm) = tolerate(api.get(&name(i)).await, &[404], "get")? else {
                    continue;
                };
                cm.data = Some([("v".to_owned(), value)].into());
                let r = api.replace(&name(i), &PostParams::default(), &cm).await;
                if let Some(cm) = tolerate(r, &[404, 409], "replace")? {
                    acked.push(change(Kind::Modified, &cm));
                }
            }
            Op::Patch(i) => {
                let r = api
                    .patch(
                        &name(i),
                        &PatchParams::default(),
                        &Patch::Merge(json!({"data": {"v": value}})),
                    )
                    .await;
                if let Some(cm) = tolerate(r, &[404], "patch")? {
                    acked.push(change(Kind::Modified, &cm));
                }
            }
            Op::Delete(i) => {
                let r = api.delete(&name(i), &DeleteParams::default()).await;
                // `either` is not a dependency: use `Either`'s own methods.
                if let Some(answer) = tolerate(r, &[404], "delete")? {
                    let cm = answer.either(Ok, |status| {
                        Err(format!(
                            "delete of a ConfigMap without finalizers answered with a Status \
                             instead of the deleted object: {status:?}"
                        ))
                    })?;
                    acked.push(change(Kind::Deleted, &cm));
                }
            }
        }
    }
    Ok(acked)
}

/// Collects a watch's ADDED/MODIFIED/DELETED events (bookmarks ignored) up to
/// the [`SENTINEL`]'s ADDED, which is not collected.
async fn collect(
    stream: impl Stream<Item = Result<WatchEvent<ConfigMap>, kube::Error>>,
) -> Result<Vec<Change>, String> {
    let mut stream = Box::pin(stream);
    let mut events: Vec<Change> = Vec::new();
    loop {
        let event = match stream.next().await {
            None => {
                return Err(format!(
                    "the watch ended before the sentinel, after {} events: {events:?}",
                    events.len()
                ));
            }
            Some(Ok(event)) => event,
            Some(Err(e)) => {
                return Err(format!(
                    "watch stream error after {} events: {e:?}",
                    events.len()
                ));
            }
        };
        match event {
            WatchEvent::Added(cm) if cm.metadata.name.as_deref() == Some(SENTINEL) => {
                return Ok(events);
            }
            WatchEvent::Added(cm) => events.push(change(Kind::Added, &cm)),
            WatchEvent::Modified(cm) => events.push(change(Kind::Modified, &cm)),
            WatchEvent::Deleted(cm) => events.push(change(Kind::Deleted, &cm)),
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(status) => {
                return Err(format!(
                    "watch error event after {} events: {status:?}",
                    events.len()
                ));
            }
        }
    }
}

/// Writes the [`SENTINEL`], after every write the watches are checked against.
async fn write_sentinel(api: &Api<ConfigMap>) {
    api.create(&PostParams::default(), &configmap(SENTINEL, "end"))
        .await
        .expect("create the sentinel");
}

/// name -> (value, resourceVersion)
type State = BTreeMap<String, (Option<String>, u64)>;

async fn list_state(api: &Api<ConfigMap>) -> (u64, State) {
    let list = api.list(&ListParams::default()).await.expect("list");
    let rv = list
        .metadata
        .resource_version
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("numeric list resourceVersion");
    let state = list
        .items
        .iter()
        .map(|cm| {
            (
                cm.metadata.name.clone().unwrap_or_default(),
                (value_of(cm), rv_of(cm)),
            )
        })
        .collect();
    (rv, state)
}

/// Applies events to `state`, checking each is possible in the model
/// (ADDED only for an absent name, MODIFIED/DELETED only for a present one).
fn replay(mut state: State, events: &[Change]) -> Result<State, String> {
    for e in events {
        let present = state.contains_key(&e.name);
        match (e.kind, present) {
            (Kind::Added, false) | (Kind::Modified, true) => {
                state.insert(e.name.clone(), (e.value.clone(), e.rv));
            }
            (Kind::Deleted, true) => {
                state.remove(&e.name);
            }
            _ => {
                return Err(format!(
                    "{e:?} is impossible: {} was {}",
                    e.name,
                    if present { "present" } else { "absent" }
                ));
            }
        }
    }
    Ok(state)
}

/// Everything one watch must satisfy.
fn check_watch(
    label: &str,
    events: &[Change],
    acked: &[Change],
    initial: &State,
    last: &State,
) -> Result<(), String> {
    if let Some(w) = events.windows(2).find(|w| w[0].rv >= w[1].rv) {
        return Err(format!(
            "{label}: events not strictly increasing by resourceVersion: {:?} then {:?}",
            w[0], w[1]
        ));
    }
    let missing: Vec<&Change> = acked.iter().filter(|a| !events.contains(a)).collect();
    let extra: Vec<&Change> = events.iter().filter(|e| !acked.contains(e)).collect();
    if !missing.is_empty() || !extra.is_empty() || events != acked {
        return Err(format!(
            "{label}: events differ from the acknowledged writes\n  \
             missing (acknowledged, never seen): {missing:?}\n  \
             extra (seen, never acknowledged as such): {extra:?}\n  \
             acknowledged: {acked:?}\n  events: {events:?}"
        ));
    }
    let replayed = replay(initial.clone(), events).map_err(|e| format!("{label}: {e}"))?;
    if &replayed != last {
        return Err(format!(
            "{label}: replaying the events gives {replayed:?}, the final list is {last:?}"
        ));
    }
    Ok(())
}

/// One case: `writers` run concurrently; a late watch opens once `late_after`
/// operations were started.
async fn run_case(writers: Vec<Vec<Op>>, late_after: usize) -> Result<(), String> {
    let c = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(c.client(), NAMESPACE);
    let (rv0, initial) = list_state(&api).await;
    let from = rv0.to_string();
    let wp = WatchParams::default().timeout(WATCH_SECONDS);
    let (progress_tx, progress_rx) = watch::channel(0usize);
    let progress_tx = Arc::new(progress_tx);

    // Two watches opened before any write (live events) ...
    let mut collectors = Vec::new();
    for label in ["early watch 1", "early watch 2"] {
        let stream = api
            .watch(&wp, &from)
            .await
            .map_err(|e| format!("{label}: {e:?}"))?;
        collectors.push((label, tokio::spawn(collect(stream))));
    }
    // ... and one opened from the same resourceVersion while writers run
    // (history backlog, then live events).
    let late = {
        let api = api.clone();
        let wp = wp.clone();
        let from = from.clone();
        let mut progress = progress_rx.clone();
        tokio::spawn(async move {
            // Ends early (usize::MAX) when the writers finish before that.
            progress
                .wait_for(|n| *n >= late_after)
                .await
                .map_err(|_| "progress sender dropped".to_owned())?;
            let stream = api
                .watch(&wp, &from)
                .await
                .map_err(|e| format!("late watch: {e:?}"))?;
            collect(stream).await
        })
    };
    collectors.push(("late watch", late));

    let tasks: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(id, ops)| tokio::spawn(writer(api.clone(), id, ops, progress_tx.clone())))
        .collect();
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.map_err(|e| format!("writer panicked: {e}"))??);
    }
    progress_tx.send_replace(usize::MAX);
    acked.sort();
    if let Some(w) = acked.windows(2).find(|w| w[0].rv == w[1].rv) {
        return Err(format!(
            "two acknowledged writes share a resourceVersion: {:?} and {:?}",
            w[0], w[1]
        ));
    }
    // The acknowledged writes themselves must form a valid history.
    let from_acks = replay(initial.clone(), &acked)
        .map_err(|e| format!("acknowledged writes in resourceVersion order: {e}"))?;
    let (_, last) = list_state(&api).await;
    if from_acks != last {
        return Err(format!(
            "acknowledged writes give {from_acks:?}, the final list is {last:?}"
        ));
    }
    write_sentinel(&api).await;

    let mut failures = Vec::new();
    for (label, handle) in collectors {
        let result = match handle.await {
            Ok(Ok(events)) => check_watch(label, &events, &acked, &initial, &last),
            Ok(Err(e)) => Err(format!("{label}: {e}")),
            Err(e) => Err(format!("{label}: collector panicked: {e}")),
        };
        if let Err(e) = result {
            failures.push(e);
        }
    }
    c.shutdown().await;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10,
        max_shrink_iters: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn watches_see_every_acknowledged_write_exactly_once_in_order(
        writers in proptest::collection::vec(proptest::collection::vec(op(), 5..25), 2..=4),
        late_after in 0usize..40,
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let outcome = rt.block_on(async {
            tokio::time::timeout(
                CASE_TIMEOUT,
                run_case(writers, late_after),
            )
            .await
            .unwrap_or_else(|_| Err(format!("case did not finish within {CASE_TIMEOUT:?}")))
        });
        rt.shutdown_timeout(Duration::from_secs(5));
        prop_assert!(outcome.is_ok(), "watch model violated:\n{}", outcome.unwrap_err());
    }
}

#[tokio::test]
async fn resuming_from_a_middle_resource_version_yields_exactly_the_later_events() {
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        let c = cluster().await;
        let api: Api<ConfigMap> = Api::namespaced(c.client(), NAMESPACE);
        let pp = PostParams::default();
        let mut acked = Vec::new();
        // Creates, updates and deletes before the watch opens ...
        for i in 0..4 {
            let cm = api
                .create(&pp, &configmap(&format!("r{i}"), "0"))
                .await
                .expect("create");
            acked.push(change(Kind::Added, &cm));
        }
        for i in 0..2 {
            let cm = api
                .patch(
                    &format!("r{i}"),
                    &PatchParams::default(),
                    &Patch::Merge(json!({"data": {"v": "1"}})),
                )
                .await
                .expect("patch");
            acked.push(change(Kind::Modified, &cm));
        }
        let deleted = api
            .delete("r2", &DeleteParams::default())
            .await
            .expect("delete")
            .left()
            .expect("the deleted object");
        acked.push(change(Kind::Deleted, &deleted));
        let middle = acked[3].rv;
        let stream = api
            .watch(&WatchParams::default().timeout(20), &middle.to_string())
            .await
            .expect("watch");
        // ... and more once it is open.
        let cm = api
            .create(&pp, &configmap("r4", "0"))
            .await
            .expect("create");
        acked.push(change(Kind::Added, &cm));
        let deleted = api
            .delete("r0", &DeleteParams::default())
            .await
            .expect("delete")
            .left()
            .expect("the deleted object");
        acked.push(change(Kind::Deleted, &deleted));

        let want: Vec<Change> = acked.iter().filter(|a| a.rv > middle).cloned().collect();
        write_sentinel(&api).await;
        let got = collect(stream).await.expect("watch");
        c.shutdown().await;
        (want, got)
    })
    .await;
    let (want, got) = outcome.expect("resume test finishes within 30s");
    assert_eq!(
        got, want,
        "a watch resumed from the 4th write's resourceVersion must yield exactly the later writes"
    );
}
