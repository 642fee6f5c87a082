//! `metadata.managedFields`: which field manager owns which fields, in
//! Kubernetes' `FieldsV1` encoding (`f:<name>`, `k:{"name":"x"}` for list
//! elements with keys, `v:<json>` for set members, `.` for the element
//! itself). Pure functions over `serde_json::Value`; [`crate::apply`] uses
//! them for server-side apply, and ordinary writes record `Update` entries.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::patch_strategic::{ListType, Schema};

/// One owned field: the `FieldsV1` path elements from the root.
pub(crate) type FieldPath = Vec<String>;

/// A set of owned fields.
pub(crate) type FieldSet = BTreeSet<FieldPath>;

/// Who wrote a set of fields and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update or a non-apply patch.
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One `managedFields` entry, decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The field manager's name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: Operation,
    /// The apiVersion the fields were written through.
    pub api_version: String,
    /// When the entry last changed.
    pub time: String,
    /// The fields owned.
    pub fields: FieldSet,
}

/// Fields of the top level and of `metadata` that belong to the server.
fn ignored(path: &[String], value_is_status: bool) -> bool {
    match path {
        [first] => matches!(first.as_str(), "f:apiVersion" | "f:kind") || value_is_status,
        [first, second, ..] if first == "f:metadata" => !matches!(
            second.as_str(),
            "f:labels" | "f:annotations" | "f:finalizers" | "f:ownerReferences"
        ),
        _ => false,
    }
}

/// The fields `object` sets: every leaf, every keyed list element (`.`),
/// atomic lists as one field. With `skip_status`, the status is left out
/// (it is written through its own subresource).
pub(crate) fn fields_of(kind: Schema<'_>, object: &Value, skip_status: bool) -> FieldSet {
    let mut out = FieldSet::new();
    let mut path = Vec::new();
    let mut names = Vec::new();
    if let Some(map) = object.as_object() {
        for (k, v) in map {
            if v.is_null() {
                continue;
            }
            path.push(format!("f:{k}"));
            names.push(k.clone());
            if !ignored(&path, skip_status && k == "status") {
                walk(kind, v, &mut path, &mut names, &mut out);
            }
            path.pop();
            names.pop();
        }
    }
    out
}

fn walk(
    kind: Schema<'_>,
    v: &Value,
    path: &mut Vec<String>,
    names: &mut Vec<String>,
    out: &mut FieldSet,
) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, child) in map {
                if child.is_null() {
                    continue;
                }
                path.push(format!("f:{k}"));
                names.push(k.clone());
                if !ignored(path, false) {
                    walk(kind, child, path, names, out);
                }
                path.pop();
                names.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let segs: Vec<&str> = names.iter().map(String::as_str).collect();
            match kind.list_type(&segs) {
                ListType::Atomic => {
                    out.insert(path.clone());
                }
                ListType::Set => {
                    for item in items {
                        let mut p = path.clone();
                        p.push(format!("v:{item}"));
                        out.insert(p);
                    }
                }
                ListType::Map(keys) => {
                    for item in items {
                        path.push(element_key(&keys, item));
                        let mut me = path.clone();
                        me.push(".".into());
                        out.insert(me);
                        walk(kind, item, path, names, out);
                        path.pop();
                    }
                }
            }
        }
        _ => {
            out.insert(path.clone());
        }
    }
}

/// `k:{"containerPort":80,"protocol":"TCP"}`: the key fields of a list
/// element, with `protocol` defaulted as the server's schema does.
pub(crate) fn element_key(keys: &[String], item: &Value) -> String {
    let mut m = Map::new();
    for k in keys {
        match item.get(k) {
            Some(v) if !v.is_null() => {
                m.insert(k.clone(), v.clone());
            }
            _ if k == "protocol" => {
                m.insert(k.clone(), json!("TCP"));
            }
            _ => {}
        }
    }
    format!("k:{}", Value::Object(m))
}

/// The value at `path` in `object`, if any.
pub(crate) fn value_at<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = object;
    for seg in path {
        if seg == "." {
            return Some(cur);
        }
        cur = if let Some(name) = seg.strip_prefix("f:") {
            cur.get(name)?
        } else if let Some(key) = seg.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(key).ok()?;
            cur.as_array()?.iter().find(|item| {
                key.iter().all(|(k, v)| {
                    item.get(k) == Some(v) || (k == "protocol" && item.get(k).is_none())
                })
            })?
        } else if let Some(member) = seg.strip_prefix("v:") {
            let member: Value = serde_json::from_str(member).ok()?;
            cur.as_array()?.iter().find(|i| **i == member)?
        } else {
            return None;
        };
    }
    Some(cur)
}

/// Removes the field at `path` from `object`; returns whether it was there.
pub(crate) fn remove_at(object: &mut Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    if last == "." {
        return remove_at(object, parents);
    }
    let mut cur = object;
    for seg in parents {
        let next = if let Some(name) = seg.strip_prefix("f:") {
            cur.get_mut(name)
        } else {
            let Some(found) = value_at(cur, std::slice::from_ref(seg)).cloned() else {
                return false;
            };
            cur.as_array_mut()
                .and_then(|items| items.iter_mut().find(|i| **i == found))
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    if let Some(name) = last.strip_prefix("f:") {
        return cur
            .as_object_mut()
            .is_some_and(|m| m.remove(name).is_some());
    }
    let Some(found) = value_at(cur, std::slice::from_ref(last)).cloned() else {
        return false;
    };
    match cur.as_array_mut() {
        Some(items) => {
            let before = items.len();
            items.retain(|i| *i != found);
            items.len() != before
        }
        None => false,
    }
}

/// `.spec.template.spec.containers[name="web"].image`: a path as conflict
/// messages write it.
pub(crate) fn display(path: &[String]) -> String {
    let mut s = String::new();
    for seg in path {
        if let Some(name) = seg.strip_prefix("f:") {
            s.push('.');
            s.push_str(name);
        } else if let Some(key) = seg.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
            let parts: Vec<String> = key.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = seg.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        }
    }
    s
}

/// The `fieldsV1` object for a set.
pub(crate) fn encode(fields: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in fields {
        let mut cur = &mut root;
        for seg in path {
            cur = cur
                .entry(seg.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("only objects are inserted");
        }
    }
    Value::Object(root)
}

/// The set a `fieldsV1` object describes.
pub(crate) fn decode(fields_v1: &Value) -> FieldSet {
    fn go(v: &Value, path: &mut FieldPath, out: &mut FieldSet) {
        match v.as_object() {
            Some(m) if !m.is_empty() => {
                for (k, child) in m {
                    path.push(k.clone());
                    go(child, path, out);
                    path.pop();
                }
            }
            _ => {
                if !path.is_empty() {
                    out.insert(path.clone());
                }
            }
        }
    }
    let mut out = FieldSet::new();
    go(fields_v1, &mut Vec::new(), &mut out);
    out
}

/// The entries of an object's `metadata.managedFields`.
pub(crate) fn entries(object: &Value) -> Vec<Entry> {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some(Entry {
                manager: e["manager"].as_str()?.to_owned(),
                operation: match e["operation"].as_str()? {
                    "Apply" => Operation::Apply,
                    _ => Operation::Update,
                },
                api_version: e["apiVersion"].as_str().unwrap_or_default().to_owned(),
                time: e["time"].as_str().unwrap_or_default().to_owned(),
                fields: decode(&e["fieldsV1"]),
            })
        })
        .collect()
}

/// Writes `entries` into `metadata.managedFields` (removed when empty).
pub(crate) fn store(object: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            json!({
                "manager": e.manager,
                "operation": e.operation.as_str(),
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": encode(&e.fields),
            })
        })
        .collect();
    if let Some(meta) = object["metadata"].as_object_mut() {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Sets `manager`'s entry for `operation`, keeping its time when its
/// fields did not change, and drops entries left without fields.
pub(crate) fn upsert(
    entries: &mut Vec<Entry>,
    manager: &str,
    operation: Operation,
    api_version: &str,
    now: &str,
    fields: FieldSet,
) {
    match entries
        .iter_mut()
        .find(|e| e.manager == manager && e.operation == operation)
    {
        Some(e) => {
            if e.fields != fields || e.api_version != api_version {
                e.time = now.to_owned();
            }
            e.fields = fields;
            e.api_version = api_version.to_owned();
        }
        None => entries.push(Entry {
            manager: manager.to_owned(),
            operation,
            api_version: api_version.to_owned(),
            time: now.to_owned(),
            fields,
        }),
    }
    entries.retain(|e| !e.fields.is_empty());
}

/// Records an ordinary write (create, update, non-apply patch) of `old`
/// (None: create) to `new` by `manager`: it takes the fields whose values
/// it set or changed, from whoever owned them; fields no longer present
/// leave every set.
pub(crate) fn record_update(
    kind: Schema<'_>,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    now: &str,
    skip_status: bool,
) {
    let mut entries = old.map(entries).unwrap_or_default();
    let present = fields_of(kind, new, skip_status);
    let changed: FieldSet = present
        .iter()
        .filter(|p| {
            let Some(old) = old else { return true };
            match p.last().map(String::as_str) {
                Some(".") => value_at(old, &p[..p.len() - 1]).is_none(),
                _ => value_at(old, p) != value_at(new, p),
            }
        })
        .cloned()
        .collect();
    for e in &mut entries {
        e.fields
            .retain(|p| present.contains(p) && !changed.contains(p));
    }
    let mut mine = entries
        .iter()
        .find(|e| e.manager == manager && e.operation == Operation::Update)
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    mine.extend(changed);
    upsert(
        &mut entries,
        manager,
        Operation::Update,
        api_version,
        now,
        mine,
    );
    store(new, &entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(segs: &[&str]) -> FieldPath {
        segs.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn fields_of_a_deployment_use_kubernetes_encoding() {
        let d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["x"]},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "web", "image": "nginx", "ports": [{"containerPort": 80}], "args": ["a"]}
            ]}}},
            "status": {"replicas": 1}
        });
        let f = fields_of(Schema::Builtin("Deployment"), &d, true);
        let encoded = encode(&f);
        assert_eq!(
            encoded,
            json!({
                "f:metadata": {"f:labels": {"f:app": {}}, "f:finalizers": {"v:\"x\"": {}}},
                "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"web\"}": {".": {}, "f:name": {}, "f:image": {}, "f:args": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}
                }}}}
            })
        );
        assert_eq!(decode(&encoded), f);
        let image = p(&[
            "f:spec",
            "f:template",
            "f:spec",
            "f:containers",
            "k:{\"name\":\"web\"}",
            "f:image",
        ]);
        assert_eq!(value_at(&d, &image), Some(&json!("nginx")));
        assert_eq!(
            display(&image),
            ".spec.template.spec.containers[name=\"web\"].image"
        );
    }

    #[test]
    fn remove_at_drops_fields_elements_and_set_members() {
        let mut d = json!({"metadata": {"finalizers": ["a", "b"]},
            "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b"}]}});
        assert!(remove_at(
            &mut d,
            &p(&["f:metadata", "f:finalizers", "v:\"a\""])
        ));
        assert!(remove_at(
            &mut d,
            &p(&["f:spec", "f:containers", "k:{\"name\":\"a\"}", "f:image"])
        ));
        assert!(remove_at(
            &mut d,
            &p(&["f:spec", "f:containers", "k:{\"name\":\"b\"}", "."])
        ));
        assert_eq!(
            d,
            json!({"metadata": {"finalizers": ["b"]}, "spec": {"containers": [{"name": "a"}]}})
        );
    }

    #[test]
    fn update_takes_changed_fields_from_other_managers() {
        let old = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
        let mut created = old.clone();
        record_update(
            Schema::Builtin("ConfigMap"),
            None,
            &mut created,
            "creator",
            "v1",
            "t0",
            false,
        );
        let mut new = created.clone();
        new["data"]["a"] = json!("9");
        record_update(
            Schema::Builtin("ConfigMap"),
            Some(&created),
            &mut new,
            "editor",
            "v1",
            "t1",
            false,
        );
        let e = entries(&new);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].manager, "creator");
        assert_eq!(e[0].fields, FieldSet::from([p(&["f:data", "f:b"])]));
        assert_eq!(e[1].fields, FieldSet::from([p(&["f:data", "f:a"])]));
    }
}
