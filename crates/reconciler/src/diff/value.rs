//! Pure operations on JSON objects: normalization, the server-side-apply merge that
//! predicts the live object after an apply, and the comparison that lists what differs.

use serde_json::{Map, Value};

use super::schema::{self, ListType};

/// `metadata` fields the API server populates; never part of a comparison.
const SERVER_METADATA: [&str; 8] = [
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// The annotation `kubectl apply` (client side) keeps the last applied object in.
pub(crate) const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Removes what does not take part in a comparison: server-populated metadata, the
/// last-applied annotation, `status` (with `ignore_status`), and folds a Secret's
/// `stringData` into base64 `data`. Nulls and empty maps and lists are pruned.
pub(crate) fn normalize(object: &mut Value, ignore_status: bool) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in SERVER_METADATA {
            meta.shift_remove(field);
        }
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.shift_remove(LAST_APPLIED);
        }
    }
    if ignore_status {
        map.shift_remove("status");
    }
    let is_secret = map.get("kind").and_then(Value::as_str) == Some("Secret")
        && map.get("apiVersion").and_then(Value::as_str) == Some("v1");
    if is_secret {
        fold_string_data(map);
    }
    prune(object);
}

/// Moves `stringData` into `data`, base64-encoded, as the API server does on write.
fn fold_string_data(secret: &mut Map<String, Value>) {
    use base64::Engine as _;
    let Some(Value::Object(string_data)) = secret.shift_remove("stringData") else {
        return;
    };
    let data = secret
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    if let Some(data) = data.as_object_mut() {
        for (k, v) in string_data {
            let v = match v {
                Value::String(s) => {
                    Value::String(base64::engine::general_purpose::STANDARD.encode(s))
                }
                other => other,
            };
            data.insert(k, v);
        }
    }
}

/// Removes nulls and empty maps and lists from maps, recursively. List elements are kept
/// (an element `{}` still counts for the list's length) but pruned inside.
pub(crate) fn prune(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                prune(child);
            }
            map.retain(|_, child| !is_empty(child));
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Scalar equality by value: numbers compare numerically (`1` = `1.0`); with `quantity`,
/// resource quantities compare by amount (`1000m` = `1`, `1Gi` = `1024Mi`).
pub(crate) fn scalar_eq(a: &Value, b: &Value, quantity: bool) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        _ if quantity => match (quantity_of(a), quantity_of(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        _ => false,
    }
}

fn quantity_of(v: &Value) -> Option<(i128, i32)> {
    match v {
        Value::String(s) => schema::parse_quantity(s),
        Value::Number(n) => schema::parse_quantity(&n.to_string()),
        _ => None,
    }
}

/// What `live` becomes when `desired` is applied to it with server-side apply: desired's
/// fields set (keeping live's value where it is equal by value), maps merged, keyed lists
/// merged element by element, atomic lists replaced unless desired's elements are each
/// already contained in live's. Removal of fields the applier stopped setting is done by
/// the caller, from managedFields.
pub(crate) fn merge(kind: &str, names: &mut Vec<String>, live: &Value, desired: &Value) -> Value {
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => {
            let mut out = l.clone();
            for (k, dv) in d {
                names.push(k.clone());
                let merged = match l.get(k) {
                    Some(lv) => merge(kind, names, lv, dv),
                    None => dv.clone(),
                };
                names.pop();
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(d)) => match schema::effective(kind, names, l, d) {
            ListType::Map(keys) => {
                let mut out = l.clone();
                for (di, li) in pair_by_key(keys, d, l) {
                    match (di, li) {
                        (Some(di), Some(li)) => out[li] = merge(kind, names, &l[li], &d[di]),
                        (Some(di), None) => out.push(d[di].clone()),
                        _ => {}
                    }
                }
                Value::Array(out)
            }
            ListType::Set => {
                let mut out = l.clone();
                for ditem in d {
                    if !out.contains(ditem) {
                        out.push(ditem.clone());
                    }
                }
                Value::Array(out)
            }
            ListType::Atomic => {
                let contained = l.len() == d.len()
                    && l.iter().zip(d).all(|(li, di)| {
                        let merged = merge(kind, names, li, di);
                        equal(kind, names, &merged, li)
                    });
                if contained {
                    live.clone()
                } else {
                    desired.clone()
                }
            }
        },
        _ if scalar_eq(live, desired, schema::is_quantity(names)) => live.clone(),
        _ => desired.clone(),
    }
}

/// Pairs the elements of keyed lists `a` and `b` by key, in order (the n-th element of `a`
/// with a key goes with the n-th element of `b` with the same key, so duplicate keys pair
/// up one to one): `(Some(i), Some(j))` for a pair, one side `None` for an element found
/// on one side only. Elements of `a` come first, in `a`'s order.
fn pair_by_key(keys: &[&str], a: &[Value], b: &[Value]) -> Vec<(Option<usize>, Option<usize>)> {
    let mut used = vec![false; b.len()];
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    for (i, ai) in a.iter().enumerate() {
        let j = (0..b.len()).find(|&j| !used[j] && schema::same_key(keys, ai, &b[j]));
        if let Some(j) = j {
            used[j] = true;
        }
        out.push((Some(i), j));
    }
    out.extend((0..b.len()).filter(|&j| !used[j]).map(|j| (None, Some(j))));
    out
}

/// Whether `a` and `b` have no difference.
fn equal(kind: &str, names: &mut Vec<String>, a: &Value, b: &Value) -> bool {
    let mut out = Vec::new();
    compare(kind, names, &mut String::new(), a, b, &mut out);
    out.is_empty()
}

/// Appends to `out` the JSON pointers (below `pointer`) where `predicted` and `live`
/// differ: keys on one side only, scalars unequal by value, keyed list elements matched by
/// key (pointer with the element's position in live, or in predicted for a new one), and
/// atomic lists of different lengths as a whole.
pub(crate) fn compare(
    kind: &str,
    names: &mut Vec<String>,
    pointer: &mut String,
    predicted: &Value,
    live: &Value,
    out: &mut Vec<String>,
) {
    let len = pointer.len();
    match (predicted, live) {
        (Value::Object(p), Value::Object(l)) => {
            for (k, pv) in p {
                push_token(pointer, k);
                match l.get(k) {
                    Some(lv) => {
                        names.push(k.clone());
                        compare(kind, names, pointer, pv, lv, out);
                        names.pop();
                    }
                    None => out.push(pointer.clone()),
                }
                pointer.truncate(len);
            }
            for k in l.keys().filter(|k| !p.contains_key(*k)) {
                push_token(pointer, k);
                out.push(pointer.clone());
                pointer.truncate(len);
            }
        }
        (Value::Array(p), Value::Array(l)) => match schema::effective(kind, names, p, l) {
            ListType::Map(keys) => {
                for (pi, li) in pair_by_key(keys, p, l) {
                    match (pi, li) {
                        (Some(pi), Some(li)) => {
                            push_token(pointer, &li.to_string());
                            compare(kind, names, pointer, &p[pi], &l[li], out);
                        }
                        (None, Some(i)) | (Some(i), None) => {
                            push_token(pointer, &i.to_string());
                            out.push(pointer.clone());
                        }
                        (None, None) => {}
                    }
                    pointer.truncate(len);
                }
            }
            ListType::Set => {
                if p.len() != l.len() || p.iter().any(|x| !l.contains(x)) {
                    out.push(pointer.clone());
                }
            }
            ListType::Atomic => {
                if p.len() != l.len() {
                    out.push(pointer.clone());
                } else {
                    for (i, (pi, li)) in p.iter().zip(l).enumerate() {
                        push_token(pointer, &i.to_string());
                        compare(kind, names, pointer, pi, li, out);
                        pointer.truncate(len);
                    }
                }
            }
        },
        _ => {
            if !scalar_eq(predicted, live, schema::is_quantity(names)) {
                out.push(pointer.clone());
            }
        }
    }
}

/// Appends `/token` to a JSON pointer, escaping `~` and `/`.
pub(crate) fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// The reference tokens of a JSON pointer (RFC 6901); `Err` says what is malformed.
pub(crate) fn parse_pointer(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Err("the empty pointer names the whole object".into());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err("a JSON pointer starts with `/`".into());
    };
    rest.split('/')
        .map(|raw| {
            let mut token = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c != '~' {
                    token.push(c);
                    continue;
                }
                match chars.next() {
                    Some('0') => token.push('~'),
                    Some('1') => token.push('/'),
                    _ => return Err(format!("`~` must be followed by 0 or 1 in `{raw}`")),
                }
            }
            Ok(token)
        })
        .collect()
}

/// One step of a concrete path: a map key or a list position.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Step {
    /// A map key.
    Key(String),
    /// A list position.
    Index(usize),
}

/// Resolves pointer tokens against `v` into concrete steps (list positions parsed);
/// `None` when the path does not exist.
pub(crate) fn steps_of(v: &Value, tokens: &[String]) -> Option<Vec<Step>> {
    let mut cur = v;
    let mut out = Vec::with_capacity(tokens.len());
    for t in tokens {
        match cur {
            Value::Object(m) => {
                cur = m.get(t)?;
                out.push(Step::Key(t.clone()));
            }
            Value::Array(items) => {
                if t.starts_with('+') || (t.len() > 1 && t.starts_with('0')) {
                    return None;
                }
                let i: usize = t.parse().ok()?;
                cur = items.get(i)?;
                out.push(Step::Index(i));
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The value at concrete `steps`.
pub(crate) fn get<'a>(v: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(v, |cur, s| match s {
        Step::Key(k) => cur.get(k.as_str()),
        Step::Index(i) => cur.get(*i),
    })
}

/// Removes the value at concrete `steps`; whether it was there.
pub(crate) fn remove(v: &mut Value, steps: &[Step]) -> bool {
    let Some((last, parents)) = steps.split_last() else {
        return false;
    };
    let Some(parent) = parents.iter().try_fold(v, |cur, s| match s {
        Step::Key(k) => cur.get_mut(k.as_str()),
        Step::Index(i) => cur.get_mut(*i),
    }) else {
        return false;
    };
    match (last, parent) {
        (Step::Key(k), Value::Object(m)) => m.shift_remove(k).is_some(),
        (Step::Index(i), Value::Array(items)) if *i < items.len() => {
            items.remove(*i);
            true
        }
        _ => false,
    }
}

/// Sets the value at concrete `steps`, creating missing maps and lists on the way (a
/// missing list position only when it is the next one). Whether it was set; when not,
/// `v` is left as it was.
pub(crate) fn set(v: &mut Value, steps: &[Step], value: Value) -> bool {
    let mut copy = v.clone();
    let done = set_in(&mut copy, steps, value);
    if done {
        *v = copy;
    }
    done
}

fn set_in(v: &mut Value, steps: &[Step], value: Value) -> bool {
    let Some((first, rest)) = steps.split_first() else {
        *v = value;
        return true;
    };
    match first {
        Step::Key(k) => {
            if v.is_null() {
                *v = Value::Object(Map::new());
            }
            let Some(m) = v.as_object_mut() else {
                return false;
            };
            let child = m.entry(k.clone()).or_insert(Value::Null);
            set_in(child, rest, value)
        }
        Step::Index(i) => {
            if v.is_null() {
                *v = Value::Array(Vec::new());
            }
            let Some(items) = v.as_array_mut() else {
                return false;
            };
            if *i == items.len() {
                items.push(Value::Null);
            }
            match items.get_mut(*i) {
                Some(child) => set_in(child, rest, value),
                None => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_escape_and_parse() {
        let mut p = String::new();
        push_token(&mut p, "node-role.kubernetes.io/worker");
        push_token(&mut p, "a~b");
        assert_eq!(p, "/node-role.kubernetes.io~1worker/a~0b");
        assert_eq!(
            parse_pointer(&p).expect("valid"),
            vec!["node-role.kubernetes.io/worker", "a~b"]
        );
        assert!(parse_pointer("spec").is_err());
        assert!(parse_pointer("/a~2").is_err());
        assert!(parse_pointer("").is_err());
    }

    #[test]
    fn set_creates_maps_and_remove_drops() {
        let mut v = json!({"spec": {"list": [1]}});
        let s = |k: &str| Step::Key(k.into());
        assert!(set(&mut v, &[s("spec"), s("a"), s("b")], json!(2)));
        assert!(set(
            &mut v,
            &[s("spec"), s("list"), Step::Index(1)],
            json!(3)
        ));
        assert!(!set(
            &mut v,
            &[s("spec"), s("list"), Step::Index(5)],
            json!(3)
        ));
        assert_eq!(v, json!({"spec": {"list": [1, 3], "a": {"b": 2}}}));
        assert!(remove(&mut v, &[s("spec"), s("list"), Step::Index(0)]));
        assert!(!remove(&mut v, &[s("nope")]));
        assert_eq!(
            get(&v, &[s("spec"), s("list"), Step::Index(0)]),
            Some(&json!(3))
        );
    }
}
