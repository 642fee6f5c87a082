//! Discovery documents (legacy and aggregated); the OpenAPI documents are in
//! `crate::openapi`.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::registry::ResourceType;

/// The Kubernetes version the server reports.
pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-windlass",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn subresources(rt: &ResourceType) -> Vec<(String, String, String, String, Vec<&'static str>)> {
    // (subresource, group, version, kind, verbs)
    let mut out = Vec::new();
    if rt.status {
        out.push((
            "status".to_owned(),
            rt.group.clone(),
            rt.version.clone(),
            rt.kind.clone(),
            vec!["get", "patch", "update"],
        ));
    }
    if rt.scale.is_some() {
        out.push((
            "scale".to_owned(),
            "autoscaling".to_owned(),
            "v1".to_owned(),
            "Scale".to_owned(),
            vec!["get", "patch", "update"],
        ));
    }
    if rt.log {
        out.push((
            "log".to_owned(),
            String::new(),
            "v1".to_owned(),
            "Pod".to_owned(),
            vec!["get"],
        ));
    }
    out
}

/// `/api/v1` or `/apis/<group>/<version>`: an `APIResourceList`.
pub(crate) fn resource_list(types: &[Arc<ResourceType>], group: &str, version: &str) -> Value {
    let mut resources = Vec::new();
    for rt in types
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let mut r = json!({
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": rt.verbs(),
        });
        if !rt.short_names.is_empty() {
            r["shortNames"] = json!(rt.short_names);
        }
        if !rt.categories.is_empty() {
            r["categories"] = json!(rt.categories);
        }
        resources.push(r);
        for (sub, g, v, kind, verbs) in subresources(rt) {
            let mut s = json!({
                "name": format!("{}/{sub}", rt.plural),
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": kind,
                "verbs": verbs,
            });
            if g != rt.group || v != rt.version {
                s["group"] = json!(g);
                s["version"] = json!(v);
            }
            resources.push(s);
        }
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    })
}

/// Named groups in first-served order, each with its versions.
fn groups(types: &[Arc<ResourceType>]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for rt in types.iter().filter(|r| !r.group.is_empty()) {
        match out.iter_mut().find(|(g, _)| *g == rt.group) {
            Some((_, versions)) => {
                if !versions.contains(&rt.version) {
                    versions.push(rt.version.clone());
                }
            }
            None => out.push((rt.group.clone(), vec![rt.version.clone()])),
        }
    }
    out
}

fn api_group(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({"name": name, "versions": vs, "preferredVersion": vs[0]})
}

/// `/api`: `APIVersions`.
pub(crate) fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// `/apis`: `APIGroupList`.
pub(crate) fn group_list(types: &[Arc<ResourceType>]) -> Value {
    let groups: Vec<Value> = groups(types)
        .iter()
        .map(|(g, vs)| api_group(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`: `APIGroup`, if served.
pub(crate) fn group(types: &[Arc<ResourceType>], name: &str) -> Option<Value> {
    groups(types)
        .into_iter()
        .find(|(g, _)| g == name)
        .map(|(g, vs)| {
            let mut v = api_group(&g, &vs);
            v["kind"] = json!("APIGroup");
            v["apiVersion"] = json!("v1");
            v
        })
}

/// The content type of aggregated discovery responses.
pub(crate) const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Aggregated discovery (`apidiscovery.k8s.io/v2`) for the core group
/// (`legacy`) or all named groups.
pub(crate) fn aggregated(types: &[Arc<ResourceType>], legacy: bool) -> Value {
    let mut items = Vec::new();
    let group_names: Vec<(String, Vec<String>)> = if legacy {
        vec![(String::new(), vec!["v1".to_owned()])]
    } else {
        groups(types)
    };
    for (group, versions) in group_names {
        let mut vs = Vec::new();
        for version in versions {
            let resources: Vec<Value> = types
                .iter()
                .filter(|r| r.group == group && r.version == version)
                .map(|rt| {
                    let mut r = json!({
                        "resource": rt.plural,
                        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
                        "scope": if rt.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": rt.singular,
                        "verbs": rt.verbs(),
                    });
                    if !rt.short_names.is_empty() {
                        r["shortNames"] = json!(rt.short_names);
                    }
                    if !rt.categories.is_empty() {
                        r["categories"] = json!(rt.categories);
                    }
                    let subs: Vec<Value> = subresources(rt)
                        .into_iter()
                        .map(|(sub, g, v, kind, verbs)| {
                            json!({
                                "subresource": sub,
                                "responseKind": {"group": g, "version": v, "kind": kind},
                                "verbs": verbs,
                            })
                        })
                        .collect();
                    if !subs.is_empty() {
                        r["subresources"] = json!(subs);
                    }
                    r
                })
                .collect();
            vs.push(json!({"version": version, "resources": resources, "freshness": "Current"}));
        }
        let mut meta = json!({"creationTimestamp": null});
        if !group.is_empty() {
            meta["name"] = json!(group);
        }
        items.push(json!({"metadata": meta, "versions": vs}));
    }
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}
