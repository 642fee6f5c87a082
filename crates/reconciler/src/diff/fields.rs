//! `metadata.managedFields`: which field manager owns which fields of a live object, in
//! Kubernetes' `FieldsV1` encoding (`f:<name>` for a map field, `k:{"name":"x"}` for a list
//! element identified by its keys, `v:<json>` for a set member, `.` for the element itself).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// One step of a path in a [`FieldSet`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// `f:<name>`: the field of a map.
    Field(String),
    /// `k:<json object>`: the element of a list whose key fields have these values (the
    /// JSON object text as `FieldsV1` writes it).
    Key(String),
    /// `v:<json>`: the member of a set-like list with this value (JSON text).
    Value(String),
    /// `.`: the list element named by the previous step itself (not only its fields).
    Itself,
}

impl PathElement {
    /// Parses one `FieldsV1` key; `None` for a key Kubernetes does not write.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw == "." {
            return Some(Self::Itself);
        }
        let (prefix, rest) = raw.split_at_checked(2)?;
        match prefix {
            "f:" => Some(Self::Field(rest.to_owned())),
            "k:" => Some(Self::Key(rest.to_owned())),
            "v:" => Some(Self::Value(rest.to_owned())),
            _ => None,
        }
    }

    /// The key fields of a `k:` element, parsed.
    pub fn key_fields(&self) -> Option<Map<String, Value>> {
        match self {
            Self::Key(raw) => serde_json::from_str(raw).ok(),
            _ => None,
        }
    }
}

/// A set of fields of an object (the fields one or more managers own), as parsed paths.
///
/// Paths end at a leaf: a scalar, an atomic list, an empty map, a set member or a list
/// element itself (`.`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    paths: BTreeSet<Vec<PathElement>>,
}

impl FieldSet {
    /// The set a `fieldsV1` object describes; keys Kubernetes does not write are skipped.
    pub fn from_fields_v1(fields_v1: &Value) -> Self {
        fn walk(v: &Value, path: &mut Vec<PathElement>, out: &mut BTreeSet<Vec<PathElement>>) {
            match v.as_object() {
                Some(map) if !map.is_empty() => {
                    for (k, child) in map {
                        let Some(el) = PathElement::parse(k) else {
                            continue;
                        };
                        path.push(el);
                        walk(child, path, out);
                        path.pop();
                    }
                }
                _ if !path.is_empty() => {
                    out.insert(path.clone());
                }
                _ => {}
            }
        }
        let mut paths = BTreeSet::new();
        walk(fields_v1, &mut Vec::new(), &mut paths);
        Self { paths }
    }

    /// Whether the set has no field.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// How many fields the set has.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether `path` is in the set.
    pub fn contains(&self, path: &[PathElement]) -> bool {
        self.paths.contains(path)
    }

    /// The paths, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[PathElement]> {
        self.paths.iter().map(Vec::as_slice)
    }

    /// Adds every path of `other`.
    pub fn extend(&mut self, other: FieldSet) {
        self.paths.extend(other.paths);
    }

    /// Whether a path of the set is `prefix` or lies below it (a trailing `.` of `prefix`
    /// is ignored: owning a field of an element keeps the element).
    pub fn covers(&self, prefix: &[PathElement]) -> bool {
        let prefix = match prefix.split_last() {
            Some((PathElement::Itself, rest)) => rest,
            _ => prefix,
        };
        self.paths
            .range(prefix.to_vec()..)
            .next()
            .is_some_and(|p| p.starts_with(prefix))
    }

    /// The paths, list elements themselves (ending in `.`) first: removing an element
    /// before its fields keeps the key fields it is found by.
    pub fn iter_elements_first(&self) -> impl Iterator<Item = &[PathElement]> {
        let element = |p: &&[PathElement]| matches!(p.last(), Some(PathElement::Itself));
        self.iter()
            .filter(element)
            .chain(self.iter().filter(move |p| !element(p)))
    }

    /// Whether `path` is a key field of a list element (`name` of `k:{"name":"web"}`):
    /// part of the element's identity, never removed on its own.
    pub fn is_key_field(path: &[PathElement]) -> bool {
        match path {
            [.., key @ PathElement::Key(_), PathElement::Field(f)] => {
                key.key_fields().is_some_and(|k| k.contains_key(f))
            }
            _ => false,
        }
    }

    /// The value at `path` in `object`, if there is one.
    pub fn resolve<'a>(object: &'a Value, path: &[PathElement]) -> Option<&'a Value> {
        let mut cur = object;
        for el in path {
            cur = match el {
                PathElement::Itself => cur,
                PathElement::Field(name) => cur.get(name)?,
                PathElement::Key(_) | PathElement::Value(_) => {
                    let items = cur.as_array()?;
                    &items[element_index(items, el)?]
                }
            };
        }
        Some(cur)
    }

    /// Removes the value at `path` from `object` (a list element for a path ending in
    /// `.`, `k:` or `v:`); returns whether something was removed.
    pub fn remove(object: &mut Value, path: &[PathElement]) -> bool {
        let path = match path.split_last() {
            Some((PathElement::Itself, rest)) => rest,
            _ => path,
        };
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let Some(parent) = resolve_mut(object, parents) else {
            return false;
        };
        match last {
            PathElement::Field(name) => parent
                .as_object_mut()
                .is_some_and(|m| m.shift_remove(name).is_some()),
            PathElement::Key(_) | PathElement::Value(_) => {
                let Some(items) = parent.as_array_mut() else {
                    return false;
                };
                match element_index(items, last) {
                    Some(i) => {
                        items.remove(i);
                        true
                    }
                    None => false,
                }
            }
            PathElement::Itself => false,
        }
    }
}

/// The mutable value at `path` (which does not end in `.`).
pub(crate) fn resolve_mut<'a>(
    object: &'a mut Value,
    path: &[PathElement],
) -> Option<&'a mut Value> {
    let mut cur = object;
    for el in path {
        cur = match el {
            PathElement::Itself => cur,
            PathElement::Field(name) => cur.get_mut(name)?,
            PathElement::Key(_) | PathElement::Value(_) => {
                let i = element_index(cur.as_array()?, el)?;
                cur.get_mut(i)?
            }
        };
    }
    Some(cur)
}

/// The position in `items` of the element a `k:` or `v:` step names.
pub(crate) fn element_index(items: &[Value], el: &PathElement) -> Option<usize> {
    match el {
        PathElement::Key(_) => {
            let key = el.key_fields()?;
            items.iter().position(|item| {
                key.iter().all(|(k, v)| match item.get(k) {
                    Some(found) => crate::diff::value::scalar_eq(found, v, false),
                    // The API server defaults `protocol`, and keys carry the default.
                    None => k == "protocol" && v == "TCP",
                })
            })
        }
        PathElement::Value(raw) => {
            let member: Value = serde_json::from_str(raw).ok()?;
            items.iter().position(|i| *i == member)
        }
        _ => None,
    }
}

/// The fields managers owned in `live`, over the `metadata.managedFields` entries `pick`
/// selects (by manager name and operation).
pub(crate) fn managed_fields_where(live: &Value, pick: impl Fn(&str, &str) -> bool) -> FieldSet {
    let mut out = FieldSet::default();
    for entry in live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let manager = entry["manager"].as_str().unwrap_or_default();
        let operation = entry["operation"].as_str().unwrap_or_default();
        if pick(manager, operation) {
            out.extend(FieldSet::from_fields_v1(&entry["fieldsV1"]));
        }
    }
    out
}

/// The set of fields `manager` owns in a live object (`metadata.managedFields[].fieldsV1`
/// of every entry of that manager, whatever its operation).
///
/// ```
/// use serde_json::json;
/// use windlass_reconciler::diff::{managed_fields, PathElement};
///
/// let live = json!({"metadata": {"managedFields": [{
///     "manager": "windlass-controller", "operation": "Apply",
///     "fieldsV1": {"f:spec": {"f:replicas": {}}}
/// }]}});
/// let owned = managed_fields(&live, "windlass-controller");
/// assert!(owned.contains(&[PathElement::Field("spec".into()), PathElement::Field("replicas".into())]));
/// assert!(managed_fields(&live, "kubectl").is_empty());
/// ```
pub fn managed_fields(live: &Value, manager: &str) -> FieldSet {
    managed_fields_where(live, |m, _| m == manager)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(s: &str) -> PathElement {
        PathElement::parse(s).expect("valid element")
    }

    #[test]
    fn resolves_and_removes_keyed_elements_with_defaulted_protocol() {
        let mut obj = json!({"spec": {"ports": [
            {"containerPort": 80, "name": "http"},
            {"containerPort": 53, "protocol": "UDP"}
        ], "finalizers": ["a", "b"]}});
        let http = [
            f("f:spec"),
            f("f:ports"),
            f(r#"k:{"containerPort":80,"protocol":"TCP"}"#),
            f("f:name"),
        ];
        assert_eq!(FieldSet::resolve(&obj, &http), Some(&json!("http")));
        let udp = [
            f("f:spec"),
            f("f:ports"),
            f(r#"k:{"containerPort":53,"protocol":"UDP"}"#),
            f("."),
        ];
        assert!(FieldSet::remove(&mut obj, &udp));
        assert!(FieldSet::remove(
            &mut obj,
            &[f("f:spec"), f("f:finalizers"), f(r#"v:"a""#)]
        ));
        assert_eq!(
            obj,
            json!({"spec": {"ports": [{"containerPort": 80, "name": "http"}], "finalizers": ["b"]}})
        );
        assert!(!FieldSet::remove(&mut obj, &udp));
    }

    #[test]
    fn covers_looks_below_a_prefix() {
        let set = FieldSet::from_fields_v1(&json!({"f:spec": {"f:containers": {
            r#"k:{"name":"a"}"#: {"f:image": {}}
        }}}));
        let el = [
            f("f:spec"),
            f("f:containers"),
            f(r#"k:{"name":"a"}"#),
            f("."),
        ];
        assert!(set.covers(&el));
        assert!(!set.covers(&[f("f:spec"), f("f:replicas")]));
        assert_eq!(set.len(), 1);
    }
}
