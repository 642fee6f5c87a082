//! Server-side apply (`application/apply-patch+yaml`): merging a manager's
//! applied configuration into the live object, conflicts with other
//! managers, `force`, and removal of fields the manager no longer applies.
//! Pure functions; `api.rs` does the IO around them.

use serde_json::{Value, json};

use crate::managed_fields::{self, FieldPath, FieldSet, Operation};
use crate::patch_strategic::{self, Schema};

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
/// created). Returns the new object with its `managedFields`, or the
/// conflicts when fields owned by others would change and `force` is off.
pub(crate) fn apply(
    req: &Request<'_>,
    live: Option<&Value>,
    applied: &Value,
) -> Result<Value, Vec<Conflict>> {
    let config = configuration(applied, req.skip_status);
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
    let mut merged = patch_strategic::apply_with(req.schema, live, &config).unwrap_or_else(|_| {
        // Lists without their merge keys: fall back to a JSON merge.
        let mut doc = live.clone();
        json_patch::merge(&mut doc, &config);
        doc
    });
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
        return Err(conflicts);
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
        let conflicts =
            apply(&req("b", false), Some(&live), &deployment(3, "nginx")).expect_err("conflict");
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
        )
        .expect_err("conflict");
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
        )
        .expect_err("atomic list owned by a");
        assert_eq!(
            conflicts[0].path,
            vec!["f:spec".to_owned(), "f:args".to_owned()]
        );
    }
}
