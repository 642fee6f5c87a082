//! How lists merge under server-side apply: Kubernetes' `listType`/`listMapKeys` (the
//! `patchMergeKey`s of its Go types) for the built-in kinds, and which fields hold
//! resource quantities.

use serde_json::Value;

/// How a list field merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListType {
    /// Replaced as a whole (`args`, `tolerations`, lists without a merge key).
    Atomic,
    /// Elements are objects identified by these fields (`listType=map`).
    Map(&'static [&'static str]),
    /// Primitive elements merged as a set (`metadata.finalizers`).
    Set,
}

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// The declared strategy of the list at `names` (map keys from the root, list positions
/// left out) in an object of `kind`. The rules are structural, so a custom resource that
/// embeds a pod template (an Argo Rollout) gets the same keys as a Deployment.
pub(crate) fn declared(kind: &str, names: &[String]) -> ListType {
    let Some((field, parents)) = names.split_last() else {
        return ListType::Atomic;
    };
    let parent = parents.last().map(String::as_str).unwrap_or_default();
    let in_container = CONTAINER_LISTS.contains(&parent);
    match field.as_str() {
        f if CONTAINER_LISTS.contains(&f) => ListType::Map(&["name"]),
        "ports" if in_container => ListType::Map(&["containerPort", "protocol"]),
        "ports" if kind == "Service" && parents.len() == 1 && parent == "spec" => {
            ListType::Map(&["port", "protocol"])
        }
        "env" if in_container => ListType::Map(&["name"]),
        "volumeMounts" if in_container => ListType::Map(&["mountPath"]),
        "volumeDevices" if in_container => ListType::Map(&["devicePath"]),
        "volumes" | "imagePullSecrets" | "resourceClaims" | "schedulingGates"
            if parent == "spec" =>
        {
            ListType::Map(&["name"])
        }
        "hostAliases" if parent == "spec" => ListType::Map(&["ip"]),
        "topologySpreadConstraints" if parent == "spec" => {
            ListType::Map(&["topologyKey", "whenUnsatisfiable"])
        }
        "secrets" if kind == "ServiceAccount" && parents.is_empty() => ListType::Map(&["name"]),
        "conditions" if parent == "status" => ListType::Map(&["type"]),
        "ownerReferences" if parent == "metadata" => ListType::Map(&["uid"]),
        "finalizers" if parent == "metadata" => ListType::Set,
        _ => ListType::Atomic,
    }
}

/// The strategy used to compare two lists: the declared one when their elements carry
/// its keys; otherwise lists whose elements all carry a unique `name` are matched by name
/// (custom resources, where no schema is at hand), the rest are atomic.
pub(crate) fn effective(kind: &str, names: &[String], a: &[Value], b: &[Value]) -> ListType {
    match declared(kind, names) {
        ListType::Map(keys) => {
            let first = keys[0];
            if a.iter()
                .chain(b)
                .all(|i| i.get(first).is_some_and(|v| !v.is_null()))
            {
                ListType::Map(keys)
            } else {
                ListType::Atomic
            }
        }
        ListType::Set => ListType::Set,
        ListType::Atomic if named(a) && named(b) && !(a.is_empty() && b.is_empty()) => {
            ListType::Map(&["name"])
        }
        ListType::Atomic => ListType::Atomic,
    }
}

/// Whether every element is an object with a string `name`, no name twice.
fn named(items: &[Value]) -> bool {
    let mut seen = std::collections::HashSet::new();
    items.iter().all(|i| {
        i.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| seen.insert(n))
    })
}

/// The value of key field `k` of a list element (`null` counts as absent).
pub(crate) fn key_value<'a>(item: &'a Value, k: &str) -> Option<&'a Value> {
    item.get(k).filter(|v| !v.is_null())
}

/// Whether two list elements have the same key values.
pub(crate) fn same_key(keys: &[&str], a: &Value, b: &Value) -> bool {
    keys.iter()
        .all(|k| match (key_value(a, k), key_value(b, k)) {
            (Some(x), Some(y)) => super::value::scalar_eq(x, y, false),
            (None, None) => true,
            (Some(x), None) | (None, Some(x)) => *k == "protocol" && x == "TCP",
        })
}

/// Whether the scalar at `names` is a resource quantity (`resources.limits.cpu`,
/// `spec.hard.pods`, `emptyDir.sizeLimit`, a LimitRange's `max.memory`, ...), compared by
/// value (`1000m` = `1`, `1Gi` = `1024Mi`).
pub(crate) fn is_quantity(names: &[String]) -> bool {
    let n = names.len();
    let at = |back: usize| -> &str {
        n.checked_sub(back)
            .and_then(|i| names.get(i))
            .map_or("", String::as_str)
    };
    match at(2) {
        "limits" | "requests" | "hard" | "capacity" | "allocatable" | "overhead" | "used" => true,
        "max" | "min" | "default" | "defaultRequest" | "maxLimitRequestRatio" => at(3) == "limits",
        _ => at(1) == "sizeLimit",
    }
}

/// A Kubernetes quantity as an exact decimal: `(mantissa, power of ten)`, mantissa with no
/// trailing zeros. `None` when `s` is not a quantity (or too large to hold exactly).
pub(crate) fn parse_quantity(s: &str) -> Option<(i128, i32)> {
    let s = s.trim();
    let (number, suffix) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    // `1e3`/`1E3` is a decimal exponent; a lone `E` is the exa suffix.
    let (suffix, exp) = match suffix.strip_prefix(['e', 'E']) {
        Some(e)
            if !e.is_empty()
                && e.trim_start_matches(['+', '-'])
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
        {
            ("", e.parse::<i32>().ok()?)
        }
        _ => (suffix, 0),
    };
    let (negative, number) = match number.as_bytes().first()? {
        b'-' => (true, &number[1..]),
        b'+' => (false, &number[1..]),
        _ => (false, number),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
        || int.len() + frac.len() > 30
    {
        return None;
    }
    let mut mantissa: i128 = format!("{int}{frac}").parse().ok()?;
    let mut pow10 = exp.checked_sub(i32::try_from(frac.len()).ok()?)?;
    let (pow2, suffix_pow10): (u32, i32) = match suffix {
        "" => (0, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        _ => return None,
    };
    mantissa = mantissa.checked_mul(1i128.checked_shl(pow2)?)?;
    pow10 = pow10.checked_add(suffix_pow10)?;
    if mantissa == 0 {
        return Some((0, 0));
    }
    while mantissa % 10 == 0 {
        mantissa /= 10;
        pow10 += 1;
    }
    Some((if negative { -mantissa } else { mantissa }, pow10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_compare_by_value() {
        let q = |s| parse_quantity(s).expect(s);
        assert_eq!(q("1000m"), q("1"));
        assert_eq!(q("1Gi"), q("1024Mi"));
        assert_eq!(q("0.1"), q("100m"));
        assert_eq!(q("1e3"), q("1k"));
        assert_eq!(q("1.5Gi"), q("1536Mi"));
        assert_eq!(q("0"), q("0Mi"));
        assert_ne!(q("1G"), q("1Gi"));
        assert_eq!(parse_quantity("abc"), None);
        assert_eq!(parse_quantity("1Xi"), None);
        assert_eq!(parse_quantity(""), None);
    }

    #[test]
    fn quantity_fields() {
        let p = |s: &str| s.split('.').map(str::to_owned).collect::<Vec<_>>();
        assert!(is_quantity(&p(
            "spec.template.spec.containers.resources.limits.cpu"
        )));
        assert!(is_quantity(&p("spec.hard.requests.memory")));
        assert!(is_quantity(&p("spec.limits.max.cpu")));
        assert!(is_quantity(&p("spec.volumes.emptyDir.sizeLimit")));
        assert!(!is_quantity(&p("spec.replicas")));
        assert!(!is_quantity(&p("metadata.labels.cpu")));
    }
}
