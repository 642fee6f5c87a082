//! Paged lists are one consistent snapshot, as with the real API server: every page
//! is read at the first page's resourceVersion, which the continue token carries,
//! so an informer that lists in pages while others write loses nothing.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::{Value, json};
use windlass_embedded_cluster::{Config, Controllers, EmbeddedCluster, Handle};

async fn cluster(watch_history: usize) -> Handle {
    EmbeddedCluster::start(Config {
        controllers: Controllers::none(),
        watch_history,
        ..Config::default()
    })
    .await
    .expect("cluster starts")
}

fn cm(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"v": value}}))
        .expect("valid ConfigMap")
}

async fn create(api: &Api<ConfigMap>, name: &str, value: &str) {
    api.create(&PostParams::default(), &cm(name, value))
        .await
        .expect("create");
}

async fn set(api: &Api<ConfigMap>, name: &str, value: &str) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": value}})),
    )
    .await
    .expect("patch");
}

async fn delete(api: &Api<ConfigMap>, name: &str) {
    api.delete(name, &DeleteParams::default())
        .await
        .expect("delete");
}

fn value(cm: &ConfigMap) -> String {
    cm.data
        .as_ref()
        .and_then(|d| d.get("v").cloned())
        .unwrap_or_default()
}

fn names(items: &[ConfigMap]) -> Vec<String> {
    items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect()
}

/// The JSON inside a continue token.
fn token_json(token: &str) -> Value {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .expect("unpadded URL-safe base64");
    serde_json::from_slice(&bytes).expect("JSON")
}

fn api_error(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn every_page_is_read_at_the_first_pages_resource_version() {
    let c = cluster(10_000).await;
    let api: Api<ConfigMap> = Api::default_namespaced(c.client());
    for name in ["a", "b", "c", "d", "e"] {
        create(&api, name, "0").await;
    }
    let first = api
        .list(&ListParams::default().limit(2))
        .await
        .expect("first page");
    assert_eq!(names(&first.items), ["a", "b"]);
    let rv = first.metadata.resource_version.clone().expect("rv");
    let token = first.metadata.continue_.clone().expect("a continue token");
    assert_eq!(
        token_json(&token),
        json!({"v": "meta.k8s.io/v1", "rv": rv.parse::<i64>().expect("numeric"), "start": "b\u{0}"}),
        "the real server's token"
    );
    assert_eq!(first.metadata.remaining_item_count, Some(3));

    // Changes between pages: none of them shows in the later pages.
    create(&api, "bb", "new").await;
    set(&api, "c", "changed").await;
    delete(&api, "d").await;
    let second = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .expect("second page");
    assert_eq!(names(&second.items), ["c", "d"]);
    assert_eq!(value(&second.items[0]), "0", "c as it was");
    assert_eq!(
        second.metadata.resource_version.as_deref(),
        Some(rv.as_str())
    );
    let token = second.metadata.continue_.clone().expect("a continue token");
    assert_eq!(token_json(&token)["rv"], first_rv(&rv));
    let third = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .expect("third page");
    assert_eq!(names(&third.items), ["e"]);
    assert_eq!(
        third.metadata.resource_version.as_deref(),
        Some(rv.as_str())
    );
    assert!(third.metadata.continue_.is_none_or(|t| t.is_empty()));

    // A list from the start sees them all.
    let now = api.list(&ListParams::default()).await.expect("list");
    assert_eq!(names(&now.items), ["a", "b", "bb", "c", "e"]);

    // A continue token cannot be combined with a resourceVersion; a broken one is
    // a 400 naming the problem.
    // (kube never sends both, so the request is written by hand.)
    let req = axum::http::Request::get(format!(
        "/api/v1/namespaces/default/configmaps?limit=2&continue={token}&resourceVersion={rv}"
    ))
    .body(Vec::new())
    .expect("request");
    let err = api_error(c.client().request::<Value>(req).await.expect_err("refused"));
    assert_eq!(
        (err.code, err.message.as_str()),
        (
            400,
            "specifying resource version is not allowed when using continue"
        )
    );
    for (token, why) in [
        ("%%%", "continue key is not valid"),
        (
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(r#"{"v":"meta.k8s.io/v1","rv":0,"start":"a\u0000"}"#),
            "incorrect encoded start resourceVersion",
        ),
        (
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(r#"{"v":"meta.k8s.io/v1","rv":3,"start":""}"#),
            "encoded start key empty",
        ),
    ] {
        let err = api_error(
            api.list(&ListParams::default().limit(2).continue_token(token))
                .await
                .expect_err("refused"),
        );
        assert_eq!(err.code, 400, "{err:?}");
        assert!(
            err.message
                .starts_with("invalid continue token: continue key is not valid")
                && err.message.contains(why),
            "{}",
            err.message
        );
    }
    c.shutdown().await;
}

fn first_rv(rv: &str) -> Value {
    json!(rv.parse::<i64>().expect("numeric"))
}

/// When the changes since the token's resourceVersion are gone from the history,
/// the real server's `410 Expired` with a token that goes on at the latest
/// resourceVersion (rv -1).
#[tokio::test]
async fn a_continue_token_older_than_the_history_expires() {
    let c = cluster(4).await;
    let api: Api<ConfigMap> = Api::default_namespaced(c.client());
    for name in ["a", "b", "c"] {
        create(&api, name, "0").await;
    }
    let first = api
        .list(&ListParams::default().limit(1))
        .await
        .expect("first page");
    let token = first.metadata.continue_.clone().expect("token");
    for i in 1..=5 {
        set(&api, "c", &i.to_string()).await;
    }
    let err = api_error(
        api.list(&ListParams::default().limit(1).continue_token(&token))
            .await
            .expect_err("expired"),
    );
    assert_eq!((err.code, err.reason.as_str()), (410, "Expired"));
    assert!(
        err.message
            .starts_with("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results."),
        "{}",
        err.message
    );
    let latest = err
        .metadata
        .and_then(|m| m.continue_)
        .expect("a token to go on with");
    assert_eq!(
        token_json(&latest),
        json!({"v": "meta.k8s.io/v1", "rv": -1, "start": "a\u{0}"})
    );
    let rest = api
        .list(&ListParams::default().limit(5).continue_token(&latest))
        .await
        .expect("the rest at the latest resourceVersion");
    assert_eq!(names(&rest.items), ["b", "c"]);
    assert_eq!(value(&rest.items[1]), "5");
    let now = api.list(&ListParams::default()).await.expect("list");
    assert_eq!(
        rest.metadata.resource_version,
        now.metadata.resource_version
    );
    c.shutdown().await;
}

/// name -> (data.v, resourceVersion)
type State = BTreeMap<String, (String, String)>;

fn state_of<'a>(items: impl IntoIterator<Item = &'a ConfigMap>) -> State {
    items
        .into_iter()
        .map(|cm| {
            (
                cm.metadata.name.clone().unwrap_or_default(),
                (
                    value(cm),
                    cm.metadata.resource_version.clone().unwrap_or_default(),
                ),
            )
        })
        .collect()
}

/// kube-runtime's watcher lists in pages (500 by default; 3 here) and then
/// watches from the list's resourceVersion. Writes land between its pages: before
/// and after the position reached, creates, updates and deletes. The informer's
/// store must end up equal to the server's list: nothing lost, nothing stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_informer_listing_in_pages_while_others_write_loses_nothing() {
    let c = cluster(10_000).await;
    let api: Api<ConfigMap> = Api::default_namespaced(c.client());
    for i in 0..10 {
        create(&api, &format!("cm-{i:02}"), "0").await;
    }
    let (reader, writer) = reflector::store();
    let mut stream = Box::pin(
        watcher(api.clone(), watcher::Config::default().page_size(3))
            .reflect(writer)
            .boxed(),
    );
    // The watcher asks for the next page only when polled after the last object
    // of a page: writing before that poll puts the writes between two pages.
    let mut listed = 0;
    let mut round = 0;
    loop {
        let event = stream
            .next()
            .await
            .expect("the watcher goes on")
            .expect("no watcher error");
        match event {
            watcher::Event::InitApply(_) => {
                listed += 1;
                if listed % 3 == 0 {
                    round += 1;
                    match round {
                        1 => {
                            // Behind the position: a create, an update, a delete.
                            create(&api, "cm-00a", "new").await;
                            set(&api, "cm-01", "changed").await;
                            delete(&api, "cm-02").await;
                        }
                        2 => {
                            // Ahead: a delete, an update; and behind again.
                            delete(&api, "cm-07").await;
                            set(&api, "cm-08", "changed").await;
                            set(&api, "cm-00", "changed").await;
                        }
                        _ => create(&api, &format!("cm-z{round}"), "new").await,
                    }
                }
            }
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert!(round >= 3, "the list took {round} pages");
    // Keep the informer running while its store catches up with the server.
    let driver = tokio::spawn(async move { while stream.next().await.is_some() {} });
    let want = state_of(&api.list(&ListParams::default()).await.expect("list").items);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = state_of(reader.state().iter().map(|c| c.as_ref()));
        if got == want {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the informer's store never matched the server\n  informer: {got:?}\n  server:   {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    driver.abort();
    c.shutdown().await;
}

/// `kubectl get` lists in chunks (`--chunk-size`) with the continue token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_lists_in_chunks() {
    let s = support::setup_with(Config {
        controllers: Controllers::none(),
        ..Config::default()
    })
    .await;
    let api: Api<ConfigMap> = s.api("default");
    for i in 0..7 {
        create(&api, &format!("cm-{i}"), "0").await;
    }
    let out = s
        .ok(&["get", "configmaps", "--chunk-size=2", "-o", "name"])
        .await;
    let want: Vec<String> = (0..7).map(|i| format!("configmap/cm-{i}")).collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
    s.cluster.shutdown().await;
}
