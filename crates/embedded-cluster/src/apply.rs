//! Server-side apply (`application/apply-patch+yaml`): merging a manager's
//! applied configuration into the live object, conflicts with other
//! managers, `force`, and removal of fields the manager no longer applies.
//! Pure functions; `api.rs` does the IO around them.

use serde_json::{Value, json};

use crate::managed_fields::{self, FieldPath, FieldSet, Operation};
use crate::patch_strategic::{self, ListType, Schema};

/// A field another manager owns with a different value than the one applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Conflict {
    /// The other manager.
    pub manager: String,
    /// The apiVersion its entry was written through.
    pub api_version: String,
    /// The field.
    pub path: FieldPath,
}

/// Why an apply fails.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ApplyError {
    /// Fields other managers own would change (and `force` is off): 409.
    Conflicts(Vec<Conflict>),
    /// The configuration cannot be read as the kind's structure (a keyed list
    /// element without its keys, duplicate elements, a patch directive):
    /// structured-merge-diff's "failed to create typed patch object".
    Invalid(Invalid),
}

/// Where the applied configuration breaks the structure, in
/// structured-merge-diff's words.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Invalid {
    /// The field path as structured-merge-diff prints it
    /// (`.spec.template.spec.containers`), empty for the object.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Keys the strategic merge code reads as directives; apply has none.
fn is_directive(key: &str) -> bool {
    matches!(key, "$patch" | "$retainKeys")
        || key.starts_with("$setElementOrder/")
        || key.starts_with("$deleteFromPrimitiveList/")
}

/// Checks that `config` reads as the kind's structure the way
/// structured-merge-diff converts an applied object: keyed list elements are
/// objects carrying at least one key field, no two elements of a keyed list or
/// set are the same, sets hold scalars.
pub(crate) fn check_configuration(schema: Schema<'_>, config: &Value) -> Result<(), Invalid> {
    fn walk(
        schema: Schema<'_>,
        v: &Value,
        names: &mut Vec<String>,
        shown: &mut String,
    ) -> Result<(), Invalid> {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let len = shown.len();
                    shown.push('.');
                    shown.push_str(k);
                    if is_directive(k) {
                        return Err(Invalid {
                            path: shown.clone(),
                            message: "field not declared in schema".into(),
                        });
                    }
                    names.push(k.clone());
                    walk(schema, child, names, shown)?;
                    names.pop();
                    shown.truncate(len);
                }
                Ok(())
            }
            Value::Array(items) => {
                let segs: Vec<&str> = names.iter().map(String::as_str).collect();
                let list = schema.list_type(&segs);
                let here = shown.clone();
                let at = |message: String| Invalid {
                    path: here.clone(),
                    message,
                };
                let mut seen = std::collections::BTreeSet::new();
                for (i, item) in items.iter().enumerate() {
                    let element = match &list {
                        ListType::Atomic => format!("[{i}]"),
                        ListType::Set => {
                            if item.is_object() || item.is_array() {
                                let what = if item.is_object() { "map" } else { "list" };
                                return Err(at(format!(
                                    "element {i}: associative list without keys has an element that's a {what} type"
                                )));
                            }
                            managed_fields::display(&[format!("v:{item}")])
                        }
                        ListType::Map(keys) => {
                            if item.is_null() {
                                return Err(at(format!(
                                    "element {i}: associative list with keys may not have a null element"
                                )));
                            }
                            if !item.is_object() {
                                return Err(at(format!(
                                    "element {i}: associative list with keys may not have non-map elements"
                                )));
                            }
                            let key = managed_fields::element_key(keys, item);
                            if key == "k:{}" {
                                let quoted: Vec<String> =
                                    keys.iter().map(|k| format!("{k:?}")).collect();
                                return Err(at(format!(
                                    "element {i}: associative list with keys has an element that omits all key fields [{}] (and doesn't have default values for any key fields)",
                                    quoted.join(" ")
                                )));
                            }
                            managed_fields::display(&[key])
                        }
                    };
                    if !matches!(list, ListType::Atomic) && !seen.insert(element.clone()) {
                        return Err(at(format!("duplicate entries for key {element}")));
                    }
                    let len = shown.len();
                    shown.push_str(&element);
                    walk(schema, item, names, shown)?;
                    shown.truncate(len);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    walk(schema, config, &mut Vec::new(), &mut String::new())
}

/// What an apply request carries besides the configuration.
pub(crate) struct Request<'a> {
    /// Where list merge keys come from (the kind, or a CRD's schema).
    pub schema: Schema<'a>,
    /// The applying field manager.
    pub manager: &'a str,
    /// The apiVersion applied through.
    pub api_version: &'a str,
    /// The time to record.
    pub now: &'a str,
    /// `force=true`: take conflicting fields instead of failing.
    pub force: bool,
    /// Leave `status` alone (written through its subresource).
    pub skip_status: bool,
}

/// The applied configuration without what apply never writes.
fn configuration(applied: &Value, skip_status: bool) -> Value {
    let mut config = applied.clone();
    if let Some(m) = config.as_object_mut() {
        if skip_status {
            m.remove("status");
        }
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in [
                "managedFields",
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "generation",
            ] {
                meta.remove(k);
            }
        }
    }
    config
}

/// Applies `applied` for `req.manager` over `live` (None: the object is
/// created). Returns the new object with its `managedFields`, or why not:
/// the configuration does not fit the kind's structure, or fields owned by
/// others would change and `force` is off.
pub(crate) fn apply(
    req: &Request<'_>,
    live: Option<&Value>,
    applied: &Value,
) -> Result<Value, ApplyError> {
    let config = configuration(applied, req.skip_status);
    check_configuration(req.schema, &config).map_err(ApplyError::Invalid)?;
    let fields = managed_fields::fields_of(req.schema, &config, req.skip_status);
    let Some(live) = live else {
        let mut object = config;
        let mut entries = Vec::new();
        managed_fields::upsert(
            &mut entries,
            req.manager,
            Operation::Apply,
            req.api_version,
            req.now,
            fields,
        );
        managed_fields::store(&mut object, &entries);
        return Ok(object);
    };
    let mut entries = managed_fields::entries(live);
    let mut merged = patch_strategic::apply_with(req.schema, live, &config).map_err(|message| {
        ApplyError::Invalid(Invalid {
            path: String::new(),
            message,
        })
    })?;
    let mine_before: FieldSet = entries
        .iter()
        .find(|e| e.manager == req.manager && e.operation == Operation::Apply)
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let others_own = |p: &FieldPath| {
        entries.iter().any(|e| {
            !(e.manager == req.manager && e.operation == Operation::Apply) && e.fields.contains(p)
        })
    };
    // Fields this manager applied before and no longer applies go, unless
    // someone else owns them too. Deepest first, so elements go after
    // their fields.
    let mut dropped: Vec<&FieldPath> = mine_before
        .iter()
        .filter(|p| !fields.contains(*p) && !others_own(p))
        .collect();
    dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in dropped {
        managed_fields::remove_at(&mut merged, p);
    }
    let mut conflicts = Vec::new();
    for e in &entries {
        if e.manager == req.manager && e.operation == Operation::Apply {
            continue;
        }
        for p in e.fields.intersection(&fields) {
            if p.last().is_some_and(|s| s == ".") {
                continue;
            }
            if managed_fields::value_at(live, p) != managed_fields::value_at(&merged, p) {
                conflicts.push(Conflict {
                    manager: e.manager.clone(),
                    api_version: e.api_version.clone(),
                    path: p.clone(),
                });
            }
        }
    }
    if !conflicts.is_empty() && !req.force {
        return Err(ApplyError::Conflicts(conflicts));
    }
    for e in &mut entries {
        if e.manager == req.manager && e.operation == Operation::Apply {
            continue;
        }
        e.fields.retain(|p| {
            !conflicts
                .iter()
                .any(|c| c.manager == e.manager && c.path == *p)
        });
    }
    managed_fields::upsert(
        &mut entries,
        req.manager,
        Operation::Apply,
        req.api_version,
        req.now,
        fields,
    );
    managed_fields::store(&mut merged, &entries);
    Ok(merged)
}

/// The message the real server gives for apply conflicts, e.g.
/// `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas`.
pub(crate) fn conflict_message(conflicts: &[Conflict]) -> String {
    let n = conflicts.len();
    let mut managers: Vec<(&str, &str)> = Vec::new();
    for c in conflicts {
        if !managers.contains(&(c.manager.as_str(), c.api_version.as_str())) {
            managers.push((&c.manager, &c.api_version));
        }
    }
    let parts: Vec<String> = managers
        .iter()
        .map(|(m, v)| {
            let paths: Vec<String> = conflicts
                .iter()
                .filter(|c| c.manager == *m && c.api_version == *v)
                .map(|c| managed_fields::display(&c.path))
                .collect();
            if paths.len() == 1 {
                format!("conflict with {m:?} using {v}: {}", paths[0])
            } else {
                format!("conflicts with {m:?} using {v}:\n- {}", paths.join("\n- "))
            }
        })
        .collect();
    format!(
        "Apply failed with {n} conflict{}: {}",
        if n == 1 { "" } else { "s" },
        parts.join("\n")
    )
}

/// `details.causes` for a conflict `Status`.
pub(crate) fn conflict_causes(conflicts: &[Conflict]) -> Value {
    json!(
        conflicts
            .iter()
            .map(|c| json!({
                "reason": "FieldManagerConflict",
                "message": format!("conflict with {:?} using {}", c.manager, c.api_version),
                "field": managed_fields::display(&c.path),
            }))
            .collect::<Vec<_>>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflicts_of(r: Result<Value, ApplyError>) -> Vec<Conflict> {
        match r {
            Err(ApplyError::Conflicts(c)) => c,
            other => panic!("expected conflicts, got {other:?}"),
        }
    }

    #[test]
    fn configurations_that_do_not_fit_the_structure_are_invalid() {
        let invalid = |config: Value| {
            check_configuration(Schema::Builtin("Deployment"), &config)
                .expect_err("invalid")
                .to_string()
        };
        let containers =
            |list: Value| json!({"spec": {"template": {"spec": {"containers": list}}}});
        assert_eq!(
            invalid(containers(json!([{"image": "nginx"}]))),
            ".spec.template.spec.containers: element 0: associative list with keys has an element that omits all key fields [\"name\"] (and doesn't have default values for any key fields)"
        );
        assert_eq!(
            invalid(containers(json!([{"name": "a"}, {"name": "a"}]))),
            ".spec.template.spec.containers: duplicate entries for key [name=\"a\"]"
        );
        assert_eq!(
            invalid(containers(json!(["a"]))),
            ".spec.template.spec.containers: element 0: associative list with keys may not have non-map elements"
        );
        assert_eq!(
            invalid(containers(
                json!([{"name": "a", "ports": [{"containerPort": 80}, {"containerPort": 80, "protocol": "TCP"}]}])
            )),
            ".spec.template.spec.containers[name=\"a\"].ports: duplicate entries for key [containerPort=80,protocol=\"TCP\"]"
        );
        assert_eq!(
            invalid(json!({"metadata": {"finalizers": ["x", "x"]}})),
            ".metadata.finalizers: duplicate entries for key [=\"x\"]"
        );
        assert_eq!(
            invalid(json!({"spec": {"$patch": "replace"}})),
            ".spec.$patch: field not declared in schema"
        );
        // Atomic lists may repeat themselves; keys may be partly given.
        check_configuration(
            Schema::Builtin("Deployment"),
            &json!({"spec": {"template": {"spec": {"containers": [
                {"name": "a", "args": ["x", "x"], "ports": [{"protocol": "UDP"}]}]}}}}),
        )
        .expect("fits");
    }

    fn req<'a>(manager: &'a str, force: bool) -> Request<'a> {
        Request {
            schema: Schema::Builtin("Deployment"),
            manager,
            api_version: "apps/v1",
            now: "2025-01-01T00:00:00Z",
            force,
            skip_status: true,
        }
    }

    fn deployment(replicas: i64, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "web", "image": image}]}}}})
    }

    #[test]
    fn create_then_change_then_conflict_then_force() {
        let live = apply(&req("a", false), None, &deployment(1, "nginx")).expect("created");
        assert_eq!(
            managed_fields::entries(&live)[0].operation,
            Operation::Apply
        );
        // Same manager: no conflict with itself.
        let live = apply(&req("a", false), Some(&live), &deployment(2, "nginx")).expect("changed");
        assert_eq!(live["spec"]["replicas"], 2);
        // Another manager applying the same value shares ownership.
        let shared = apply(&req("b", false), Some(&live), &deployment(2, "nginx")).expect("shared");
        assert_eq!(managed_fields::entries(&shared).len(), 2);
        // A different value conflicts.
        let conflicts = conflicts_of(apply(
            &req("b", false),
            Some(&live),
            &deployment(3, "nginx"),
        ));
        assert_eq!(
            conflict_message(&conflicts),
            "Apply failed with 1 conflict: conflict with \"a\" using apps/v1: .spec.replicas"
        );
        let forced = apply(&req("b", true), Some(&live), &deployment(3, "nginx")).expect("forced");
        assert_eq!(forced["spec"]["replicas"], 3);
        let entries = managed_fields::entries(&forced);
        let a = entries
            .iter()
            .find(|e| e.manager == "a")
            .expect("a keeps the rest");
        assert!(
            !a.fields
                .iter()
                .any(|p| p.last().is_some_and(|s| s == "f:replicas"))
        );
    }

    #[test]
    fn fields_no_longer_applied_are_removed_unless_owned_by_others() {
        let mut with_label = deployment(1, "nginx");
        with_label["metadata"]["labels"] = json!({"tier": "web", "team": "a"});
        let live = apply(&req("a", false), None, &with_label).expect("created");
        let mut other = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"team": "a"}}});
        other["metadata"]["name"] = json!("web");
        let live = apply(&req("b", false), Some(&live), &other).expect("co-owned");
        let live =
            apply(&req("a", false), Some(&live), &deployment(1, "nginx")).expect("dropped labels");
        assert_eq!(live["metadata"]["labels"], json!({"team": "a"}));
    }

    fn widget_schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "routes": {"type": "array", "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["host", "port"],
                "items": {"type": "object", "properties": {
                    "host": {"type": "string"}, "port": {"type": "integer"},
                    "weight": {"type": "integer"},
                    "tags": {"type": "array", "x-kubernetes-list-type": "set",
                             "items": {"type": "string"}}}}},
            "args": {"type": "array", "items": {"type": "string"}},
        }}}})
    }

    fn widget(spec: Value) -> Value {
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec})
    }

    fn cr<'a>(schema: &'a Value, manager: &'a str, force: bool) -> Request<'a> {
        Request {
            schema: Schema::Custom("Widget", schema),
            manager,
            api_version: "example.com/v1",
            now: "2025-01-01T00:00:00Z",
            force,
            skip_status: true,
        }
    }

    #[test]
    fn custom_resource_map_lists_are_owned_per_element() {
        let schema = widget_schema();
        let live = apply(
            &cr(&schema, "a", false),
            None,
            &widget(json!({"routes": [{"host": "x", "port": 80, "weight": 1}], "args": ["--a"]})),
        )
        .expect("created");
        // b adds its own element (same host, other port: a different key) and
        // does not touch a's.
        let live = apply(
            &cr(&schema, "b", false),
            Some(&live),
            &widget(json!({"routes": [{"host": "x", "port": 443, "weight": 2, "tags": ["tls"]}]})),
        )
        .expect("no conflict: different elements");
        assert_eq!(
            live["spec"]["routes"],
            json!([{"host": "x", "port": 80, "weight": 1}, {"host": "x", "port": 443, "weight": 2, "tags": ["tls"]}])
        );
        let entries = managed_fields::entries(&live);
        let b = entries.iter().find(|e| e.manager == "b").expect("b");
        assert!(b.fields.contains(&vec![
            "f:spec".to_owned(),
            "f:routes".to_owned(),
            "k:{\"host\":\"x\",\"port\":443}".to_owned(),
            "f:weight".to_owned(),
        ]));
        assert!(b.fields.contains(&vec![
            "f:spec".to_owned(),
            "f:routes".to_owned(),
            "k:{\"host\":\"x\",\"port\":443}".to_owned(),
            "f:tags".to_owned(),
            "v:\"tls\"".to_owned(),
        ]));
        // Changing a's element is a conflict naming the element.
        let conflicts = apply(
            &cr(&schema, "b", false),
            Some(&live),
            &widget(
                json!({"routes": [{"host": "x", "port": 443, "weight": 2, "tags": ["tls"]},
                                      {"host": "x", "port": 80, "weight": 5}]}),
            ),
        );
        let conflicts = conflicts_of(conflicts);
        assert_eq!(
            conflict_message(&conflicts),
            "Apply failed with 1 conflict: conflict with \"a\" using example.com/v1: .spec.routes[host=\"x\",port=80].weight"
        );
        // a drops its element: only a's goes, b's stays.
        let live = apply(
            &cr(&schema, "a", false),
            Some(&live),
            &widget(json!({"args": ["--a"]})),
        )
        .expect("a re-applies without its route");
        assert_eq!(
            live["spec"]["routes"],
            json!([{"host": "x", "port": 443, "weight": 2, "tags": ["tls"]}])
        );
        // Lists without a list type stay atomic: another value conflicts.
        let conflicts = apply(
            &cr(&schema, "b", false),
            Some(&live),
            &widget(json!({"args": ["--b"]})),
        );
        let conflicts = conflicts_of(conflicts);
        assert_eq!(
            conflicts[0].path,
            vec!["f:spec".to_owned(), "f:args".to_owned()]
        );
    }
}
