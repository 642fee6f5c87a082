//! Strategic merge patch (`application/strategic-merge-patch+json`) for
//! built-in kinds, with the merge keys and list strategies Kubernetes
//! declares on its Go types, and the directives `kubectl` sends: `$patch`
//! (`replace`, `delete`, `merge`), `$retainKeys`,
//! `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>`.
//!
//! The list schema ([`list_type`]) is shared with server-side apply, whose
//! `listType=map` keys are the same fields.

use serde_json::{Map, Value};

/// How a list field merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListType {
    /// Replaced as a whole (`tolerations`, `args`, lists without a strategy).
    Atomic,
    /// Elements are objects identified by these fields; strategic merge
    /// patch of a built-in kind merges by the first one (its
    /// `patchMergeKey`), custom resources by all of them.
    Map(Vec<String>),
    /// Primitive elements merged as a set (`metadata.finalizers`).
    Set,
}

/// Where list strategies come from: a built-in kind's Go types, or the
/// structural schema of a CRD version (`x-kubernetes-list-type`,
/// `x-kubernetes-list-map-keys`), as the real structured-merge-diff reads them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Schema<'a> {
    /// A built-in kind.
    Builtin(&'a str),
    /// A custom resource of `kind` with its version's `openAPIV3Schema`.
    Custom(&'a str, &'a Value),
}

impl<'a> Schema<'a> {
    /// The custom schema when there is one, else the built-in rules of `kind`.
    pub(crate) fn of(kind: &'a str, custom: Option<&'a Value>) -> Self {
        match custom {
            Some(schema) => Schema::Custom(kind, schema),
            None => Schema::Builtin(kind),
        }
    }

    /// The list strategy of the field at `path` (object keys from the root,
    /// list positions left out).
    pub(crate) fn list_type(&self, path: &[&str]) -> ListType {
        match *self {
            Schema::Builtin(kind) => list_type(kind, path),
            // Object metadata is the same for every kind.
            Schema::Custom(kind, _) if path.first() == Some(&"metadata") => list_type(kind, path),
            Schema::Custom(_, schema) => schema_list_type(schema, path),
        }
    }

    /// How many of a map list's keys identify an element when merging.
    fn identity_keys(&self, keys: &[String]) -> usize {
        match self {
            Schema::Builtin(_) => 1,
            Schema::Custom(..) => keys.len(),
        }
    }
}

/// The list type a structural schema declares for the list at `path`.
fn schema_list_type(schema: &Value, path: &[&str]) -> ListType {
    let mut node = schema;
    for seg in path {
        // List positions are left out of `path`: step into the items.
        while node["type"] == "array" {
            node = &node["items"];
        }
        node = match node["properties"].get(*seg) {
            Some(n) => n,
            None if node["additionalProperties"].is_object() => &node["additionalProperties"],
            None => return ListType::Atomic,
        };
    }
    match node["x-kubernetes-list-type"].as_str() {
        Some("set") => ListType::Set,
        Some("map") => {
            let keys: Vec<String> = node["x-kubernetes-list-map-keys"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect();
            if keys.is_empty() {
                ListType::Atomic
            } else {
                ListType::Map(keys)
            }
        }
        _ => ListType::Atomic,
    }
}

fn keys(names: &[&str]) -> ListType {
    ListType::Map(names.iter().map(|k| (*k).to_owned()).collect())
}

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// The list strategy of the field at `path` (object keys from the root,
/// list positions left out) in an object of `kind`.
pub(crate) fn list_type(kind: &str, path: &[&str]) -> ListType {
    let Some((field, parents)) = path.split_last() else {
        return ListType::Atomic;
    };
    let parent = parents.last().copied().unwrap_or_default();
    let in_container = CONTAINER_LISTS.contains(&parent);
    match *field {
        f if CONTAINER_LISTS.contains(&f) => keys(&["name"]),
        "ports" if in_container => keys(&["containerPort", "protocol"]),
        "ports" if kind == "Service" && parents == ["spec"] => keys(&["port", "protocol"]),
        "env" if in_container => keys(&["name"]),
        "volumeMounts" if in_container => keys(&["mountPath"]),
        "volumeDevices" if in_container => keys(&["devicePath"]),
        "resizePolicy" if in_container => ListType::Atomic,
        "volumes" | "imagePullSecrets" | "resourceClaims" | "schedulingGates"
            if parent == "spec" =>
        {
            keys(&["name"])
        }
        "hostAliases" if parent == "spec" => keys(&["ip"]),
        "topologySpreadConstraints" if parent == "spec" => {
            keys(&["topologyKey", "whenUnsatisfiable"])
        }
        "secrets" if kind == "ServiceAccount" && parents.is_empty() => keys(&["name"]),
        "conditions" if parent == "status" => keys(&["type"]),
        "addresses" if kind == "Node" && parent == "status" => keys(&["type"]),
        "podIPs" | "hostIPs" if kind == "Pod" && parent == "status" => keys(&["ip"]),
        "ownerReferences" if parent == "metadata" => keys(&["uid"]),
        "finalizers" if parent == "metadata" => ListType::Set,
        _ => ListType::Atomic,
    }
}

/// Applies a strategic merge `patch` to `original`, an object of built-in
/// `kind`. `Err` is a message for a 422/400: a malformed directive or a
/// list element without its merge key.
pub(crate) fn apply(kind: &str, original: &Value, patch: &Value) -> Result<Value, String> {
    apply_with(Schema::Builtin(kind), original, patch)
}

/// [`apply`] with the list strategies of `schema` (server-side apply of
/// custom resources merges this way).
pub(crate) fn apply_with(
    schema: Schema<'_>,
    original: &Value,
    patch: &Value,
) -> Result<Value, String> {
    let (Some(o), Some(p)) = (original.as_object(), patch.as_object()) else {
        return Err("a strategic merge patch must be a JSON object".into());
    };
    let mut path = Vec::new();
    Ok(
        merge_map(schema, &mut path, o.clone(), p)?
            .map_or(Value::Object(Map::new()), Value::Object),
    )
}

const DELETE_PREFIX: &str = "$deleteFromPrimitiveList/";
const ORDER_PREFIX: &str = "$setElementOrder/";

/// Merges `patch` into `original`; `None` when the patch deletes the map.
fn merge_map(
    kind: Schema<'_>,
    path: &mut Vec<String>,
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Option<Map<String, Value>>, String> {
    match patch.get("$patch").map(|v| v.as_str()) {
        None | Some(Some("merge")) => {}
        Some(Some("delete")) => return Ok(None),
        Some(Some("replace")) => {
            let mut rest = patch.clone();
            rest.remove("$patch");
            return merge_map(kind, path, Map::new(), &rest);
        }
        Some(other) => {
            return Err(format!(
                "Unknown patch type: {}",
                other.map_or_else(|| "non-string".to_owned(), str::to_owned)
            ));
        }
    }
    if let Some(retain) = patch.get("$retainKeys") {
        let keep: Vec<&str> = retain
            .as_array()
            .ok_or("$retainKeys must be a list of field names")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        original.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, v) in patch {
        if let Some(field) = k.strip_prefix(DELETE_PREFIX) {
            let remove = v.as_array().ok_or_else(|| format!("{k} must be a list"))?;
            if let Some(Value::Array(items)) = original.get_mut(field) {
                items.retain(|i| !remove.contains(i));
            }
        }
    }
    for (k, v) in patch {
        if k.starts_with('$') {
            continue;
        }
        let order = patch
            .get(&format!("{ORDER_PREFIX}{k}"))
            .and_then(Value::as_array);
        path.push(k.clone());
        match v {
            Value::Null => {
                original.remove(k);
            }
            Value::Object(p) => {
                let base = match original.remove(k) {
                    Some(Value::Object(o)) => o,
                    _ => Map::new(),
                };
                if let Some(merged) = merge_map(kind, path, base, p)? {
                    original.insert(k.clone(), Value::Object(merged));
                }
            }
            Value::Array(p) => {
                let base = match original.remove(k) {
                    Some(Value::Array(o)) => o,
                    _ => Vec::new(),
                };
                let merged = merge_list(kind, path, base, p, order)?;
                original.insert(k.clone(), Value::Array(merged));
            }
            other => {
                original.insert(k.clone(), other.clone());
            }
        }
        path.pop();
    }
    // `$setElementOrder` without a patch list only reorders.
    for (k, order) in patch {
        let Some(field) = k.strip_prefix(ORDER_PREFIX) else {
            continue;
        };
        if patch.contains_key(field) {
            continue;
        }
        let order = order
            .as_array()
            .ok_or_else(|| format!("{k} must be a list"))?;
        if let Some(Value::Array(items)) = original.remove(field) {
            path.push(field.to_owned());
            let merged = merge_list(kind, path, items, &[], Some(order))?;
            path.pop();
            original.insert(field.to_owned(), Value::Array(merged));
        }
    }
    Ok(Some(original))
}

/// An element without directives and `null`s, as stored.
fn clean(kind: Schema<'_>, path: &mut Vec<String>, v: &Value) -> Result<Option<Value>, String> {
    match v {
        Value::Object(m) => Ok(merge_map(kind, path, Map::new(), m)?.map(Value::Object)),
        other => Ok(Some(other.clone())),
    }
}

fn merge_list(
    kind: Schema<'_>,
    path: &mut Vec<String>,
    original: Vec<Value>,
    patch: &[Value],
    order: Option<&Vec<Value>>,
) -> Result<Vec<Value>, String> {
    let list = {
        let segs: Vec<&str> = path.iter().map(String::as_str).collect();
        kind.list_type(&segs)
    };
    let is_replace = |v: &Value| v.get("$patch").and_then(Value::as_str) == Some("replace");
    if list == ListType::Atomic || patch.iter().any(is_replace) {
        let mut out = Vec::new();
        for item in patch.iter().filter(|v| !is_replace(v)) {
            if let Some(v) = clean(kind, path, item)? {
                out.push(v);
            }
        }
        return Ok(out);
    }
    // The identity of an element: its merge key, or for custom resources
    // all of the list's keys.
    let identity: &[String] = match &list {
        ListType::Map(keys) => &keys[..kind.identity_keys(keys)],
        _ => &[],
    };
    let element_key = |v: &Value| -> Option<Value> {
        match identity {
            [one] => v.get(one).cloned(),
            several => {
                let values: Vec<Value> = several
                    .iter()
                    .map(|k| v.get(k).cloned().unwrap_or(Value::Null))
                    .collect();
                values
                    .iter()
                    .any(|v| !v.is_null())
                    .then_some(Value::Array(values))
            }
        }
    };
    let key_of = |v: &Value| -> Option<Value> {
        match list {
            ListType::Map(_) => element_key(v),
            _ => Some(v.clone()),
        }
    };
    let mut merged = original.clone();
    let mut patch_keys: Vec<Value> = Vec::new();
    for item in patch {
        if list == ListType::Set {
            if !merged.contains(item) {
                merged.push(item.clone());
            }
            patch_keys.push(item.clone());
            continue;
        }
        let key = element_key(item).ok_or_else(|| {
            format!(
                "map: {item} does not contain declared merge key: {}",
                identity.join(", ")
            )
        })?;
        let at = merged
            .iter()
            .position(|m| element_key(m).as_ref() == Some(&key));
        let Some(p) = item.as_object() else {
            return Err(format!(
                "{}: list element {item} must be an object",
                path.join(".")
            ));
        };
        if p.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(i) = at {
                merged.remove(i);
            }
            continue;
        }
        patch_keys.push(key);
        match at {
            Some(i) => {
                let base = merged[i].as_object().cloned().unwrap_or_default();
                match merge_map(kind, path, base, p)? {
                    Some(m) => merged[i] = Value::Object(m),
                    None => {
                        merged.remove(i);
                    }
                }
            }
            None => {
                if let Some(v) = clean(kind, path, item)? {
                    merged.push(v);
                }
            }
        }
    }
    // The wanted order of the patch's elements; the others (server-only)
    // keep their places relative to them, by their position in the original.
    let wanted: Vec<Value> = match order {
        Some(o) => o.iter().filter_map(key_of).collect(),
        None => patch_keys,
    };
    let server_index = |k: &Value| original.iter().position(|o| key_of(o).as_ref() == Some(k));
    let (mut ordered, server_only): (Vec<Value>, Vec<Value>) = merged
        .into_iter()
        .partition(|m| key_of(m).is_some_and(|k| wanted.contains(&k)));
    ordered.sort_by_key(|m| key_of(m).and_then(|k| wanted.iter().position(|w| *w == k)));
    let mut out = Vec::with_capacity(ordered.len() + server_only.len());
    let mut rest = ordered.into_iter().peekable();
    for s in server_only {
        let si = key_of(&s).and_then(|k| server_index(&k));
        while let Some(next) = rest.peek() {
            let ni = key_of(next).and_then(|k| server_index(&k));
            match (ni, si) {
                (Some(n), Some(s)) if n < s => out.extend(rest.next()),
                _ => break,
            }
        }
        out.push(s);
    }
    out.extend(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn deployment(containers: Value) -> Value {
        json!({"spec": {"template": {"spec": {"containers": containers}}}})
    }

    #[test]
    fn containers_merge_by_name_and_keep_others() {
        let original = deployment(json!([
            {"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80}]},
            {"name": "sidecar", "image": "envoy"}
        ]));
        let patch = deployment(json!([{"name": "web", "image": "nginx:2"}]));
        let out = apply("Deployment", &original, &patch).expect("applies");
        assert_eq!(
            out,
            deployment(json!([
                {"name": "web", "image": "nginx:2", "ports": [{"containerPort": 80}]},
                {"name": "sidecar", "image": "envoy"}
            ]))
        );
    }

    #[test]
    fn delete_directive_removes_element_and_null_removes_field() {
        let original = deployment(json!([
            {"name": "web", "image": "nginx", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
            {"name": "old", "image": "x"}
        ]));
        let patch = deployment(json!([
            {"name": "web", "env": [{"name": "A", "$patch": "delete"}], "image": null},
            {"name": "old", "$patch": "delete"}
        ]));
        let out = apply("Deployment", &original, &patch).expect("applies");
        assert_eq!(
            out,
            deployment(json!([{"name": "web", "env": [{"name": "B", "value": "2"}]}]))
        );
    }

    #[test]
    fn replace_directives_on_lists_and_maps() {
        let original = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"ports": [{"port": 80}, {"port": 81}]}});
        let patch = json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}},
            "spec": {"ports": [{"$patch": "replace"}, {"port": 90}]}});
        let out = apply("Service", &original, &patch).expect("applies");
        assert_eq!(
            out,
            json!({"metadata": {"labels": {"c": "3"}}, "spec": {"ports": [{"port": 90}]}})
        );
    }

    #[test]
    fn service_ports_merge_by_port_and_tolerations_replace() {
        let original = json!({"spec": {"ports": [{"port": 80, "name": "http"}]}});
        let patch = json!({"spec": {"ports": [{"port": 443, "name": "https"}]}});
        let out = apply("Service", &original, &patch).expect("applies");
        assert_eq!(out["spec"]["ports"].as_array().map(Vec::len), Some(2));
        let pod = json!({"spec": {"tolerations": [{"key": "a"}, {"key": "b"}]}});
        let out = apply(
            "Pod",
            &pod,
            &json!({"spec": {"tolerations": [{"key": "c"}]}}),
        )
        .expect("applies");
        assert_eq!(out["spec"]["tolerations"], json!([{"key": "c"}]));
    }

    #[test]
    fn finalizers_merge_as_a_set_and_delete_from_primitive_list() {
        let original = json!({"metadata": {"finalizers": ["a", "b"]}});
        let patch = json!({"metadata": {"finalizers": ["c", "a"], "$deleteFromPrimitiveList/finalizers": ["b"]}});
        let out = apply("ConfigMap", &original, &patch).expect("applies");
        assert_eq!(out["metadata"]["finalizers"], json!(["c", "a"]));
    }

    #[test]
    fn set_element_order_reorders_and_server_only_items_come_first() {
        let original =
            deployment(json!([{"name": "c"}, {"name": "b"}, {"name": "d"}, {"name": "a"}]));
        let mut patch = deployment(json!([{"name": "a", "image": "x"}, {"name": "b"}]));
        patch["spec"]["template"]["spec"]["$setElementOrder/containers"] =
            json!([{"name": "a"}, {"name": "b"}]);
        let out = apply("Deployment", &original, &patch).expect("applies");
        let names: Vec<&str> = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, ["c", "d", "a", "b"]);
        // Order only, no list in the patch.
        let mut patch = json!({"spec": {"template": {"spec": {}}}});
        patch["spec"]["template"]["spec"]["$setElementOrder/containers"] =
            json!([{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}]);
        let out = apply("Deployment", &original, &patch).expect("applies");
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}])
        );
    }

    #[test]
    fn retain_keys_clears_other_fields() {
        let original = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
        let out = apply("Deployment", &original, &patch).expect("applies");
        assert_eq!(out, json!({"spec": {"strategy": {"type": "Recreate"}}}));
    }

    #[test]
    fn missing_merge_key_is_an_error() {
        let original = deployment(json!([{"name": "web"}]));
        let patch = deployment(json!([{"image": "x"}]));
        let err = apply("Deployment", &original, &patch).expect_err("no name");
        assert!(err.contains("merge key"), "{err}");
    }

    /// A two-way patch from `a` to `b`, lists of containers keyed by name,
    /// the way `kubectl` computes one.
    fn diff_containers(a: &[Value], b: &[Value]) -> Value {
        let mut items = Vec::new();
        for target in b {
            let name = &target["name"];
            let mut item = target.clone();
            if let Some(old) = a.iter().find(|o| &o["name"] == name) {
                for k in old.as_object().expect("object").keys() {
                    if target.get(k).is_none() {
                        item[k] = Value::Null;
                    }
                }
            }
            items.push(item);
        }
        for old in a {
            if !b.iter().any(|t| t["name"] == old["name"]) {
                items.push(json!({"name": old["name"], "$patch": "delete"}));
            }
        }
        let order: Vec<Value> = b.iter().map(|t| json!({"name": t["name"]})).collect();
        json!({"spec": {"template": {"spec": {"containers": items, "$setElementOrder/containers": order}}}})
    }

    fn containers() -> impl Strategy<Value = Vec<Value>> {
        proptest::collection::btree_map(
            "[a-e]",
            (
                proptest::option::of("[a-z]{1,3}"),
                proptest::option::of(0u16..3),
            ),
            0..5,
        )
        .prop_map(|m| m.into_iter().collect::<Vec<_>>())
        .prop_shuffle()
        .prop_map(|m| {
            m.into_iter()
                .map(|(name, (image, args))| {
                    let mut c = json!({"name": name});
                    if let Some(i) = image {
                        c["image"] = json!(i);
                    }
                    // `args` is atomic: replaced, never merged.
                    if let Some(n) = args {
                        c["args"] = json!(vec!["x"; usize::from(n)]);
                    }
                    c
                })
                .collect::<Vec<_>>()
        })
    }

    proptest! {
        #[test]
        fn patch_of_the_diff_yields_the_target(a in containers(), b in containers()) {
            let patch = diff_containers(&a, &b);
            let out = apply("Deployment", &deployment(json!(a)), &patch).expect("applies");
            prop_assert_eq!(out, deployment(json!(b)));
        }
    }
}
