//! `ignoreDifferences`: which rules apply to an object, and removing (for the diff) or
//! restoring from live (for `RespectIgnoreDifferences`) the fields they name.

use serde_json::Value;
use windlass_entity_model::argocd::ResourceIgnoreDifferences;

use super::fields::{self, FieldSet, PathElement};
use super::jq::JqPaths;
use super::value::{self, Step};
use crate::{Error, Result};

/// The identity rules are matched against.
#[derive(Clone, Debug, Default)]
pub(crate) struct ObjectId {
    pub group: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

/// The rules that apply to one object, with their pointers and expressions compiled.
#[derive(Default)]
pub(crate) struct Rules {
    pointers: Vec<Vec<String>>,
    jq: Vec<(String, JqPaths)>,
    managers: Vec<String>,
}

/// `apps/Deployment name=web namespace=prod`: a rule as error messages name it.
fn label(rule: &ResourceIgnoreDifferences) -> String {
    let mut s = match rule.group.as_deref() {
        Some(g) if !g.is_empty() => format!("{g}/{}", rule.kind),
        _ => rule.kind.clone(),
    };
    if let Some(n) = rule.name.as_deref().filter(|n| !n.is_empty()) {
        s.push_str(&format!(" name={n}"));
    }
    if let Some(ns) = rule.namespace.as_deref().filter(|n| !n.is_empty()) {
        s.push_str(&format!(" namespace={ns}"));
    }
    s
}

/// Whether `rule` applies to `id`. As in Argo CD, group and kind are globs and
/// an empty group is the core group; an empty name or namespace matches any.
pub(crate) fn matches(rule: &ResourceIgnoreDifferences, id: &ObjectId) -> bool {
    glob(rule.group.as_deref().unwrap_or_default(), &id.group)
        && glob(&rule.kind, &id.kind)
        && rule
            .name
            .as_deref()
            .is_none_or(|n| n.is_empty() || n == id.name)
        && rule
            .namespace
            .as_deref()
            .is_none_or(|n| n.is_empty() || n == id.namespace)
}

/// Argo CD's `util/glob` (gobwas, no separator), as its diff normalizer uses.
fn glob(pattern: &str, text: &str) -> bool {
    windlass_entity_model::glob::glob_match(pattern, text, &[])
}

impl Rules {
    /// Compiles every rule of `all` that applies to `id`. A malformed pointer or
    /// expression is an error naming the rule, whether or not it matches `id`, so a bad
    /// rule is reported on every object rather than only on the ones it names.
    pub(crate) fn compile(all: &[ResourceIgnoreDifferences], id: &ObjectId) -> Result<Self> {
        let mut rules = Rules::default();
        for rule in all {
            let applies = matches(rule, id);
            for p in rule.json_pointers.iter().flatten() {
                let tokens = value::parse_pointer(p).map_err(|message| Error::IgnoreRule {
                    rule: label(rule),
                    field: "jsonPointers",
                    expression: p.clone(),
                    message,
                })?;
                if applies {
                    rules.pointers.push(tokens);
                }
            }
            for e in rule.jq_path_expressions.iter().flatten() {
                let compiled = JqPaths::compile(e).map_err(|message| Error::IgnoreRule {
                    rule: label(rule),
                    field: "jqPathExpressions",
                    expression: e.clone(),
                    message,
                })?;
                if applies {
                    rules.jq.push((e.clone(), compiled));
                }
            }
            if applies {
                rules
                    .managers
                    .extend(rule.managed_fields_managers.iter().flatten().cloned());
            }
        }
        Ok(rules)
    }

    /// Whether no rule applies.
    pub(crate) fn is_empty(&self) -> bool {
        self.pointers.is_empty() && self.jq.is_empty() && self.managers.is_empty()
    }

    /// The fields the trusted managers own in `raw_live`.
    fn trusted_fields(&self, raw_live: &Value) -> FieldSet {
        if self.managers.is_empty() {
            return FieldSet::default();
        }
        fields::managed_fields_where(raw_live, |m, _| self.managers.iter().any(|t| t == m))
    }

    /// Concrete paths an expression selects in `v`, deepest and last first so that removing
    /// them in order never shifts a later one. A run-time error (`.x[]` on a missing list)
    /// selects nothing, as in Argo CD.
    fn jq_paths(expr: &str, jq: &JqPaths, v: &Value) -> Vec<Vec<Step>> {
        match jq.paths(v) {
            Ok(mut paths) => {
                paths.sort();
                paths.dedup();
                paths.reverse();
                paths
            }
            Err(error) => {
                tracing::debug!(expression = expr, %error, "jq path expression selected nothing");
                Vec::new()
            }
        }
    }

    /// Removes the ignored fields from both sides of a comparison. Fields owned by a
    /// trusted manager go from both; a list element such a manager owns goes only when
    /// `desired` does not have it (an injected sidecar), otherwise only the fields it owns.
    pub(crate) fn remove_from(
        &self,
        desired: &mut Value,
        live: &mut Value,
        raw_live: Option<&Value>,
    ) {
        for side in [&mut *desired, &mut *live] {
            for tokens in &self.pointers {
                if let Some(steps) = value::steps_of(side, tokens) {
                    value::remove(side, &steps);
                }
            }
            for (expr, jq) in &self.jq {
                for steps in Self::jq_paths(expr, jq, side) {
                    value::remove(side, &steps);
                }
            }
        }
        let Some(raw_live) = raw_live else {
            return;
        };
        for path in self.trusted_fields(raw_live).iter_elements_first() {
            if FieldSet::is_key_field(path) {
                continue;
            }
            if matches!(path.last(), Some(PathElement::Itself)) {
                if FieldSet::resolve(desired, path).is_none() {
                    FieldSet::remove(live, path);
                }
            } else {
                FieldSet::remove(desired, path);
                FieldSet::remove(live, path);
            }
        }
    }

    /// `RespectIgnoreDifferences`: gives `desired` live's value at every ignored path
    /// (removing it where live has none), so that applying `desired` leaves those fields
    /// as they are. `status` is never copied: it belongs to the object's controller.
    pub(crate) fn copy_from_live(&self, desired: &mut Value, live: &Value) {
        let mut live = live.clone();
        if let Some(m) = live.as_object_mut() {
            m.shift_remove("status");
        }
        for tokens in &self.pointers {
            match value::steps_of(&live, tokens) {
                Some(steps) => {
                    if let Some(v) = value::get(&live, &steps) {
                        value::set(desired, &steps, v.clone());
                    }
                }
                None => {
                    if let Some(steps) = value::steps_of(desired, tokens) {
                        value::remove(desired, &steps);
                    }
                }
            }
        }
        for (expr, jq) in &self.jq {
            let in_live = Self::jq_paths(expr, jq, &live);
            for steps in Self::jq_paths(expr, jq, desired) {
                if value::get(&live, &steps).is_none() {
                    value::remove(desired, &steps);
                }
            }
            for steps in in_live.iter().rev() {
                if let Some(v) = value::get(&live, steps) {
                    value::set(desired, steps, v.clone());
                }
            }
        }
        for path in self.trusted_fields(&live).iter() {
            if matches!(path.first(), Some(PathElement::Field(f)) if f == "status") {
                continue;
            }
            copy_field(desired, &live, path);
        }
    }
}

/// Gives `desired` live's value at a `FieldsV1` path, creating maps on the way and taking
/// live's whole element for a list element `desired` does not have.
fn copy_field(desired: &mut Value, live: &Value, path: &[PathElement]) {
    let Some((el, rest)) = path.split_first() else {
        *desired = live.clone();
        return;
    };
    match el {
        PathElement::Itself => {}
        PathElement::Field(name) => {
            let Some(lv) = live.get(name) else { return };
            if desired.is_null() {
                *desired = Value::Object(serde_json::Map::new());
            }
            let Some(m) = desired.as_object_mut() else {
                return;
            };
            let child = m.entry(name.clone()).or_insert_with(|| match lv {
                Value::Object(_) if !rest.is_empty() => Value::Object(serde_json::Map::new()),
                Value::Array(_) if !rest.is_empty() => Value::Array(Vec::new()),
                _ => Value::Null,
            });
            copy_field(child, lv, rest);
        }
        PathElement::Key(_) | PathElement::Value(_) => {
            let Some(litems) = live.as_array() else {
                return;
            };
            let Some(li) = fields::element_index(litems, el) else {
                return;
            };
            let Some(ditems) = desired.as_array_mut() else {
                return;
            };
            match fields::element_index(ditems, el) {
                Some(di) => copy_field(&mut ditems[di], &litems[li], rest),
                None => ditems.push(litems[li].clone()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", "apps"));
        assert!(glob("", ""));
        assert!(!glob("", "apps"));
        assert!(glob("*.k8s.io", "rbac.authorization.k8s.io"));
        assert!(glob("Deploy?ent", "Deployment"));
        assert!(!glob("Deploy", "Deployment"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
    }
}
