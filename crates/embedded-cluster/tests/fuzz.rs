//! Raw requests against a running cluster: no input may make a handler (or a
//! controller) panic, and every rejection is a Kubernetes `Status` with a
//! 4xx code.
//!
//! The normal test run tries a fixed-seed slice; `cargo xtask fuzz
//! [--seconds N] [--seed S]` runs the same generator for a while
//! (`WINDLASS_FUZZ_SECONDS`, `WINDLASS_FUZZ_SEED`). A failure is shrunk to a
//! small request and printed; each one found is kept as a named test in
//! `bad_input.rs`.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{Method, Request};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};
use windlass_embedded_cluster::{Config, EmbeddedCluster, Handle};

/// Cases the normal test run tries.
const QUICK_CASES: u32 = 300;
/// The normal test run's seed.
const QUICK_SEED: u64 = 0x5eed_0fc1_u64;

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// One resource the fuzzer aims at, with an object it keeps in place.
struct Target {
    collection: &'static str,
    name: &'static str,
    object: fn() -> Value,
}

fn targets() -> Vec<Target> {
    vec![
        Target {
            collection: "/api/v1/namespaces/default/configmaps",
            name: "c",
            object: || {
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "b"}},
                    "data": {"k": "v"}})
            },
        },
        Target {
            collection: "/apis/apps/v1/namespaces/default/deployments",
            name: "web",
            object: || {
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                            {"name": "web", "image": "nginx", "ports": [{"containerPort": 80}],
                             "env": [{"name": "A", "value": "1"}]}]}}}})
            },
        },
        Target {
            collection: "/api/v1/namespaces/default/pods",
            name: "p",
            object: || {
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["x/y"]},
                    "spec": {"containers": [{"name": "c", "image": "busybox"}],
                             "volumes": [{"name": "v", "emptyDir": {}}]}})
            },
        },
        Target {
            collection: "/apis/batch/v1/namespaces/default/jobs",
            name: "j",
            object: || {
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                    "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
                        "containers": [{"name": "c", "image": "busybox"}]}}}})
            },
        },
        Target {
            collection: "/api/v1/namespaces/default/services",
            name: "s",
            object: || {
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                    "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
                             "ports": [{"port": 80, "targetPort": "http"}]}})
            },
        },
        Target {
            collection: "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
            name: "i",
            object: || {
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
                    "spec": {"rules": [{"host": "a.example.com", "http": {"paths": [{"path": "/",
                        "pathType": "Prefix", "backend": {"service": {"name": "s", "port": {"number": 80}}}}]}}]}})
            },
        },
        Target {
            collection: "/api/v1/namespaces",
            name: "fuzz",
            object: || json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fuzz"}}),
        },
        Target {
            collection: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            name: "widgets.example.com",
            object: widget_crd,
        },
        Target {
            collection: "/apis/example.com/v1/namespaces/default/widgets",
            name: "w",
            object: || {
                json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                    "spec": {"size": "s", "replicas": 2, "ports": [{"name": "http", "port": 80}]}})
            },
        },
    ]
}

fn widget_crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas"}},
                "additionalPrinterColumns": [{"name": "Size", "type": "string", "jsonPath": ".spec.size"}],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "string", "enum": ["s", "m", "l"]},
                        "replicas": {"type": "integer"},
                        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "required": ["name"], "properties": {
                                "name": {"type": "string"}, "port": {"x-kubernetes-int-or-string": true}}}}}},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}})
}

/// One raw request.
#[derive(Clone)]
struct Raw {
    method: Method,
    uri: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

impl fmt::Debug for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.uri)?;
        if let Some(ct) = self.content_type {
            write!(f, "\ncontent-type: {ct}")?;
        }
        const SHOWN: usize = 2000;
        let shown = &self.body[..self.body.len().min(SHOWN)];
        write!(f, "\nbody: {:?}", String::from_utf8_lossy(shown))?;
        if std::str::from_utf8(shown).is_err() {
            write!(f, "\nbody bytes: {shown:?}")?;
        }
        if self.body.len() > SHOWN {
            write!(f, "\n(the first {SHOWN} of {} bytes)", self.body.len())?;
        }
        Ok(())
    }
}

const KEYS: &[&str] = &[
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "finalizers",
    "managedFields",
    "ownerReferences",
    "resourceVersion",
    "generateName",
    "uid",
    "deletionTimestamp",
    "spec",
    "status",
    "replicas",
    "selector",
    "matchLabels",
    "matchExpressions",
    "template",
    "containers",
    "image",
    "ports",
    "containerPort",
    "port",
    "protocol",
    "env",
    "volumes",
    "emptyDir",
    "data",
    "type",
    "rules",
    "loadBalancer",
    "ingress",
    "versions",
    "schema",
    "openAPIV3Schema",
    "properties",
    "items",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "group",
    "names",
    "kind",
    "plural",
    "apiVersion",
    "scale",
    "subresources",
    "$patch",
    "$retainKeys",
    "$setElementOrder/containers",
    "$deleteFromPrimitiveList/finalizers",
    "",
];

const STRINGS: &[&str] = &[
    "",
    "a",
    "web",
    "default",
    "v1",
    "apps/v1",
    "ConfigMap",
    "Deployment",
    "All",
    "true",
    "1",
    "-1",
    "1.5",
    "99999999999999999999",
    "é",
    "\u{0}",
    "a/b",
    "replace",
    "delete",
    "merge",
    "map",
    "set",
    "atomic",
    "TCP",
    "object",
    "array",
    "integer",
    "string",
    "Strict",
    "2025-01-01T00:00:00Z",
    "not a time",
    "1Gi",
    "<",
    "\\",
    "~1",
    "k:{\"name\":\"web\"}",
    "f:spec",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(i64::MAX),
            Just(i64::MIN),
            any::<i64>()
        ]
        .prop_map(Value::from),
        prop_oneof![Just(u64::MAX), any::<u64>()].prop_map(Value::from),
        prop_oneof![Just(0.5f64), Just(1e308), Just(-0.0)].prop_map(Value::from),
        prop::sample::select(STRINGS).prop_map(Value::from),
        "\\PC{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..4).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// Every JSON pointer into `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                pointers(c, p.clone(), out);
                out.push(p);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                pointers(c, p.clone(), out);
                out.push(p);
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(prop::sample::Index, Value),
    Remove(prop::sample::Index),
    Insert(prop::sample::Index, &'static str, Value),
}

fn mutate(mut doc: Value, mutations: &[Mutation]) -> Value {
    for m in mutations {
        let mut all = vec![String::new()];
        pointers(&doc, String::new(), &mut all);
        match m {
            Mutation::Replace(i, v) => {
                if let Some(slot) = doc.pointer_mut(i.get(&all).as_str()) {
                    *slot = v.clone();
                }
            }
            Mutation::Remove(i) => {
                let p = i.get(&all).clone();
                let (parent, last) = p.rsplit_once('/').unwrap_or_default();
                match doc.pointer_mut(parent) {
                    Some(Value::Object(o)) => {
                        o.remove(&last.replace("~1", "/").replace("~0", "~"));
                    }
                    Some(Value::Array(a)) => {
                        if let Ok(n) = last.parse::<usize>()
                            && n < a.len()
                        {
                            a.remove(n);
                        }
                    }
                    _ => {}
                }
            }
            Mutation::Insert(i, key, v) => match doc.pointer_mut(i.get(&all).as_str()) {
                Some(Value::Object(o)) => {
                    o.insert((*key).to_owned(), v.clone());
                }
                Some(Value::Array(a)) => a.push(v.clone()),
                _ => {}
            },
        }
    }
    doc
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), json_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        any::<prop::sample::Index>().prop_map(Mutation::Remove),
        (
            any::<prop::sample::Index>(),
            prop::sample::select(KEYS),
            json_value()
        )
            .prop_map(|(i, k, v)| Mutation::Insert(i, k, v)),
    ]
}

const POINTERS: &[&str] = &[
    "",
    "/",
    "/metadata",
    "/metadata/name",
    "/metadata/labels",
    "/metadata/labels/a",
    "/metadata/finalizers/-",
    "/metadata/managedFields",
    "/metadata/resourceVersion",
    "/kind",
    "/apiVersion",
    "/spec",
    "/spec/replicas",
    "/spec/template/spec/containers/0",
    "/spec/template/spec/containers/-",
    "/spec/template/spec/containers/9",
    "/status",
    "/data",
    "/data/k",
    "/~1",
    "/a~2b",
    "/spec/versions/0/schema/openAPIV3Schema",
    "/spec/versions/0/name",
    "/spec/names/kind",
    "/spec/selector",
    "/spec/ports/0",
];

fn json_patch() -> impl Strategy<Value = Value> {
    let op = (
        prop::sample::select(&["add", "remove", "replace", "move", "copy", "test", "bogus"][..]),
        prop::sample::select(POINTERS),
        prop::sample::select(POINTERS),
        json_value(),
    )
        .prop_map(
            |(op, path, from, value)| json!({"op": op, "path": path, "from": from, "value": value}),
        );
    prop::collection::vec(op, 0..4).prop_map(Value::Array)
}

/// A protobuf field as the fuzzer writes it.
#[derive(Debug, Clone)]
enum Field {
    Varint(u32, u64),
    Bytes(u32, Vec<u8>),
    Message(u32, Vec<Field>),
    Fixed(u32, u8, u64),
}

fn encode_varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn encode_fields(fields: &[Field], out: &mut Vec<u8>) {
    for f in fields {
        match f {
            Field::Varint(n, v) => {
                encode_varint(u64::from(*n) << 3, out);
                encode_varint(*v, out);
            }
            Field::Bytes(n, b) => {
                encode_varint((u64::from(*n) << 3) | 2, out);
                encode_varint(b.len() as u64, out);
                out.extend_from_slice(b);
            }
            Field::Message(n, inner) => {
                let mut b = Vec::new();
                encode_fields(inner, &mut b);
                encode_varint((u64::from(*n) << 3) | 2, out);
                encode_varint(b.len() as u64, out);
                out.extend(b);
            }
            Field::Fixed(n, wire, v) => {
                encode_varint((u64::from(*n) << 3) | u64::from(*wire), out);
                let width = if *wire == 1 { 8 } else { 4 };
                out.extend_from_slice(&v.to_le_bytes()[..width]);
            }
        }
    }
}

fn proto_fields() -> impl Strategy<Value = Vec<Field>> {
    let number = prop_oneof![1u32..16, Just(0u32), Just(u32::MAX >> 3)];
    let leaf = prop_oneof![
        (number.clone(), any::<u64>()).prop_map(|(n, v)| Field::Varint(n, v)),
        (number.clone(), 0u64..3).prop_map(|(n, v)| Field::Varint(n, v)),
        (number.clone(), prop::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(n, b)| Field::Bytes(n, b)),
        (number.clone(), prop::sample::select(STRINGS))
            .prop_map(|(n, s)| Field::Bytes(n, s.as_bytes().to_vec())),
        (
            number.clone(),
            prop::sample::select(&[1u8, 3, 4, 5, 6, 7][..]),
            any::<u64>()
        )
            .prop_map(|(n, w, v)| Field::Fixed(n, w, v)),
    ];
    let field = leaf.prop_recursive(4, 32, 4, move |inner| {
        (1u32..12, prop::collection::vec(inner, 0..4)).prop_map(|(n, f)| Field::Message(n, f))
    });
    prop::collection::vec(field, 0..6)
}

const KINDS: &[(&str, &str)] = &[
    ("v1", "ConfigMap"),
    ("v1", "Pod"),
    ("v1", "Namespace"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),
    ("networking.k8s.io/v1", "Ingress"),
    ("v1", "NoSuchKind"),
    ("example.com/v1", "Widget"),
];

fn protobuf_body() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(KINDS),
        proto_fields(),
        any::<bool>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|((api_version, kind), raw, truncate, at)| {
            let mut body = Vec::new();
            encode_fields(&raw, &mut body);
            let unknown = vec![
                Field::Message(
                    1,
                    vec![
                        Field::Bytes(1, api_version.as_bytes().to_vec()),
                        Field::Bytes(2, kind.as_bytes().to_vec()),
                    ],
                ),
                Field::Bytes(2, body),
            ];
            let mut out = b"k8s\0".to_vec();
            encode_fields(&unknown, &mut out);
            if truncate && out.len() > 4 {
                let keep = 4 + at.index(out.len() - 4);
                out.truncate(keep);
            }
            out
        })
}

/// Bodies that are not made of parts: nesting and alias tricks.
fn pathological() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(
        &[
            "deep-json", "deep-yaml", "alias-bomb", "merge-key", "tagged", "empty", "bytes",
        ][..],
    )
    .prop_map(|which| match which {
        "deep-json" => format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        "deep-yaml" => format!("a: {}1{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        "alias-bomb" => {
            let mut s = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
            for (i, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
                let prev = if i == 0 { "a" } else { ["b", "c", "d", "e", "f", "g", "h"][i - 1] };
                s.push_str(&format!(
                    "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
                ));
            }
            s.into_bytes()
        }
        "merge-key" => b"base: &b {name: x}\nmetadata:\n  <<: *b\n  labels: {<<: [*b, *b]}\n".to_vec(),
        "tagged" => b"!!binary aGVsbG8=\n".to_vec(),
        "empty" => Vec::new(),
        _ => vec![0xff, 0xfe, 0x00, b'{'],
    })
}

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/vnd.kubernetes.protobuf",
    "text/plain",
];

const QUERIES: &[&str] = &[
    "dryRun=All",
    "dryRun=Bogus",
    "fieldManager=fuzz",
    "fieldManager=",
    "force=true",
    "fieldValidation=Strict",
    "fieldValidation=Ignore",
    "fieldValidation=nope",
    "labelSelector=a%3Db",
    "labelSelector=a+in+(b",
    "labelSelector=!!",
    "fieldSelector=metadata.name%3Dweb",
    "fieldSelector=spec.bogus%3D1",
    "limit=1",
    "limit=-1",
    "limit=99999999999999999999",
    "continue=abc",
    "continue=eyJ2IjoiMSJ9",
    "resourceVersion=0",
    "resourceVersion=1",
    "resourceVersion=abc",
    "resourceVersionMatch=NotOlderThan",
    "watch=true",
    "timeoutSeconds=1",
    "timeoutSeconds=-5",
    "allowWatchBookmarks=true",
    "sendInitialEvents=true",
    "propagationPolicy=Foreground",
    "propagationPolicy=Sideways",
    "gracePeriodSeconds=0",
    "gracePeriodSeconds=-1",
    "gracePeriodSeconds=x",
    "tailLines=1",
    "tailLines=-1",
    "container=nope",
    "previous=true",
    "includeObject=Object",
    "%ZZ",
    "a=%FF",
    "=",
];

fn body_for(object: Value) -> impl Strategy<Value = (Option<&'static str>, Vec<u8>)> {
    let ct = prop::sample::select(CONTENT_TYPES).prop_map(Some);
    prop_oneof![
        4 => (ct.clone(), prop::collection::vec(mutation(), 0..4))
            .prop_map(move |(ct, m)| (ct, serde_json::to_vec(&mutate(object.clone(), &m)).unwrap_or_default())),
        2 => json_patch().prop_map(|p| (Some("application/json-patch+json"), serde_json::to_vec(&p).unwrap_or_default())),
        1 => (ct.clone(), json_value()).prop_map(|(ct, v)| (ct, serde_json::to_vec(&v).unwrap_or_default())),
        1 => protobuf_body().prop_map(|b| (Some("application/vnd.kubernetes.protobuf"), b)),
        1 => (ct.clone(), pathological()).prop_map(|(ct, b)| (ct, b)),
        1 => (prop::option::of(prop::sample::select(CONTENT_TYPES)), prop::collection::vec(any::<u8>(), 0..16)),
    ]
}

fn request() -> impl Strategy<Value = Raw> {
    let targets = targets();
    let n = targets.len();
    (0..n)
        .prop_flat_map(move |i| {
            let t = &targets[i];
            let named = format!("{}/{}", t.collection, t.name);
            // Mostly the named object: most verbs need one.
            let paths = vec![
                t.collection.to_owned(),
                t.collection.to_owned(),
                named.clone(),
                named.clone(),
                named.clone(),
                named.clone(),
                named.clone(),
                named.clone(),
                format!("{named}/status"),
                format!("{named}/scale"),
                format!("{named}/log"),
                format!("{named}/bogus"),
                t.collection.replace("/default/", "/missing-ns/"),
                format!("{}/other", t.collection),
                "/api".to_owned(),
                "/apis/apps".to_owned(),
                "/openapi/v3".to_owned(),
                "/openapi/v3/apis/apps/v1".to_owned(),
                "/openapi/v2".to_owned(),
                "/version".to_owned(),
                "/apis/example.com/v1".to_owned(),
            ];
            (
                prop::sample::select(vec![
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::PATCH,
                    Method::PATCH,
                    Method::DELETE,
                ]),
                prop::sample::select(paths),
                prop::collection::vec(prop::sample::select(QUERIES), 0..3),
                body_for((t.object)()),
            )
        })
        .prop_map(|(method, path, query, (content_type, body))| {
            let uri = if query.is_empty() {
                path
            } else {
                format!("{path}?{}", query.join("&"))
            };
            Raw {
                method,
                uri,
                content_type,
                body,
            }
        })
}

/// What is wrong with the server's answer to `raw`, if anything.
async fn check(c: &Handle, raw: &Raw) -> Result<(), String> {
    let before = PANICS.load(Ordering::SeqCst);
    let build = || {
        let mut req = Request::builder().method(raw.method.clone()).uri(&raw.uri);
        if let Some(ct) = raw.content_type {
            req = req.header("content-type", ct);
        }
        req.body(kube::client::Body::from(raw.body.clone()))
            .map_err(|e| format!("the fuzzer built a bad request: {e}"))
    };
    let res = match c.client().send(build()?).await {
        Ok(res) => res,
        Err(pooled) => {
            // A pooled connection can be closed under the client's feet by an
            // earlier request's end; only a fresh connection failing too is the
            // server's doing.
            let fresh = fresh_client(c).await?;
            let res = fresh
                .send(build()?)
                .await
                .map_err(|e| format!("no answer (the connection died): {e}"))?;
            eprintln!("fuzz: a reused connection failed ({pooled}); a fresh one answered");
            res
        }
    };
    let status = res.status().as_u16();
    let watching = raw.uri.contains("watch=true");
    let body = if watching && status < 400 {
        // A watch streams until it times out; its headers are the answer.
        Vec::new()
    } else {
        res.into_body()
            .collect_bytes()
            .await
            .map_err(|e| format!("the body broke off: {e}"))?
            .to_vec()
    };
    let panics = PANICS.load(Ordering::SeqCst) - before;
    if panics > 0 {
        return Err(format!(
            "{panics} panic(s) while handling it (status {status})"
        ));
    }
    if status >= 500 {
        return Err(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    if status >= 400 {
        let s: Value = serde_json::from_slice(&body)
            .map_err(|e| format!("status {status} without a Status body ({e})"))?;
        if s["kind"] != "Status" || s["code"] != status {
            return Err(format!("status {status} with body {s}"));
        }
    }
    Ok(())
}

/// A client with its own connection pool.
async fn fresh_client(c: &Handle) -> Result<kube::Client, String> {
    let kubeconfig = kube::config::Kubeconfig::read_from(c.kubeconfig_path())
        .map_err(|e| format!("kubeconfig: {e}"))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|e| format!("kubeconfig: {e}"))?;
    kube::Client::try_from(config).map_err(|e| format!("client: {e}"))
}

/// Puts the targets' objects back (the fuzzer deletes and breaks them).
async fn restore(c: &Handle) {
    for t in targets() {
        let req = Request::post(t.collection)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&(t.object)()).unwrap_or_default())
            .expect("valid request");
        // 409 AlreadyExists is the usual answer.
        let _ = c.client().request_text(req).await;
    }
}

fn run(cases: u32, seconds: Option<u64>, seed: u64) {
    // Counts every panic of the process (handlers, watch tasks, controllers);
    // the message and place are all a finding needs, not a backtrace each.
    std::panic::set_hook(Box::new(|info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        eprintln!("panic: {info}");
    }));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let c = rt
        .block_on(EmbeddedCluster::start(Config::default()))
        .expect("cluster starts");
    rt.block_on(restore(&c));
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let strategy = request();
    let mut tried = 0u64;
    loop {
        match deadline {
            Some(d) if Instant::now() >= d => break,
            None if tried >= u64::from(cases) => break,
            _ => {}
        }
        let mut tree = strategy.new_tree(&mut runner).expect("a request");
        tried += 1;
        let Err(first) = rt.block_on(check(&c, &tree.current())) else {
            if tried.is_multiple_of(50) {
                rt.block_on(restore(&c));
            }
            continue;
        };
        // Shrink: keep the smallest request that still fails.
        let mut failing = (tree.current(), first);
        if tree.simplify() {
            for _ in 0..500 {
                rt.block_on(restore(&c));
                let shrunk = tree.current();
                match rt.block_on(check(&c, &shrunk)) {
                    Err(e) => {
                        failing = (shrunk, e);
                        if !tree.simplify() {
                            break;
                        }
                    }
                    Ok(()) => {
                        if !tree.complicate() {
                            break;
                        }
                    }
                }
            }
        }
        panic!(
            "request {tried} (seed {seed:#x}) broke the server: {}\nsmallest request found:\n{:?}",
            failing.1, failing.0
        );
    }
    eprintln!("fuzz: {tried} requests (seed {seed:#x}), no failure");
    // Still answering.
    rt.block_on(async {
        let v = c.client().apiserver_version().await.expect("still serving");
        assert_eq!(v.major, "1");
        c.shutdown().await;
    });
}

/// A fixed slice of the fuzzer in every test run; `cargo xtask fuzz` runs it
/// longer with other seeds.
#[test]
fn no_request_makes_the_server_panic_or_fail() {
    let seconds = std::env::var("WINDLASS_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok());
    let seed = std::env::var("WINDLASS_FUZZ_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(QUICK_SEED);
    run(QUICK_CASES, seconds, seed);
}
