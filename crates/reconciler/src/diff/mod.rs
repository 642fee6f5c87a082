//! Desired (rendered from Git) against live objects, with server-side-apply semantics.
//!
//! Windlass syncs with server-side apply (field manager [`DEFAULT_MANAGER`], `force`), so
//! an object is in sync when applying its desired state again would change nothing. That
//! is what [`diff`] decides, without a round trip to the API server:
//!
//! 1. Both sides are normalized: server-populated metadata (`uid`, `resourceVersion`,
//!    `generation`, `creationTimestamp`, `managedFields`, `selfLink`), the
//!    `kubectl.kubernetes.io/last-applied-configuration` annotation and, by default,
//!    `status` are dropped; a Secret's `stringData` is folded into base64 `data`; nulls and
//!    empty maps and lists count as absent.
//! 2. `ignoreDifferences` rules that match the object (group and kind globs, an empty
//!    group being the core group as in Argo CD; name and namespace when set) remove their
//!    `jsonPointers` and `jqPathExpressions` from both sides, and the fields that the
//!    `managedFieldsManagers` own in live.
//! 3. The live object after the apply is predicted: every desired field must be in live
//!    with an equal value (maps are merged; lists with a merge key — containers by name,
//!    container ports by `containerPort`+`protocol`, Service ports by `port`+`protocol`,
//!    env, volumes, volumeMounts, ... and, for lists without a declared key, elements that
//!    all carry a `name` — element by element; other lists atomically: same length and each
//!    desired element contained in live's). Values compare by value: `1` = `1.0`, and
//!    resource quantities by amount (`1000m` = `1`, `1Gi` = `1024Mi`). Fields the server
//!    defaults are simply extra fields in live. Then fields our manager applied before but
//!    the desired object no longer has are removed, unless another manager co-owns them,
//!    as the API server would do.
//! 4. The prediction is compared with live; each difference is a JSON pointer.
//!
//! ```
//! use serde_json::json;
//! use windlass_reconciler::diff::{diff, DiffConfig};
//!
//! let desired = json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "settings"}, "data": {"mode": "fast"}});
//! let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "settings", "namespace": "default", "uid": "1234",
//!                  "resourceVersion": "7", "labels": {"added-by": "someone-else"}},
//!     "data": {"mode": "slow"}});
//! let result = diff(&desired, Some(&live), &DiffConfig::default())?;
//! assert!(result.modified);
//! assert_eq!(result.changed_paths, ["/data/mode"]);
//! # Ok::<(), windlass_reconciler::Error>(())
//! ```

mod fields;
mod ignore;
mod jq;
mod schema;
pub(crate) mod value;

use serde_json::Value;
use windlass_entity_model::argocd::ResourceIgnoreDifferences;

pub use fields::{FieldSet, PathElement, managed_fields};

use crate::{Error, Result};
use ignore::{ObjectId, Rules};

/// The field manager Windlass applies with, and the default of [`DiffConfig::manager`].
pub const DEFAULT_MANAGER: &str = "windlass-controller";

/// How objects are compared.
#[derive(Clone, Debug)]
pub struct DiffConfig {
    /// The field manager the sync applies with (default [`DEFAULT_MANAGER`]): fields it
    /// owns in live but the desired object no longer has make the object differ.
    pub manager: String,
    /// The `ignoreDifferences` rules: the Application's plus the system-wide ones.
    pub ignore: Vec<ResourceIgnoreDifferences>,
    /// Leave `status` out of the comparison, for every kind (default `true`, Argo CD 3's
    /// `ignoreResourceStatusField: all`).
    pub ignore_status: bool,
}

impl Default for DiffConfig {
    fn default() -> Self {
        Self {
            manager: DEFAULT_MANAGER.to_owned(),
            ignore: Vec::new(),
            ignore_status: true,
        }
    }
}

/// The outcome of comparing one desired object with its live counterpart.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffResult {
    /// Whether applying the desired object would change the live one (or live is missing).
    pub modified: bool,
    /// Desired as compared, for display (`argocd app diff`): the live object as it would
    /// be after applying the desired one (Argo CD's "predicted live"), normalized and with
    /// ignored fields removed. Without a live object, the normalized desired object.
    pub normalized_desired: serde_json::Value,
    /// Live as compared: normalized, ignored fields removed (`null` when missing).
    pub normalized_live: serde_json::Value,
    /// JSON pointers of the fields that differ, sorted (for messages and tests); `""` (the
    /// whole object) when live is missing.
    pub changed_paths: Vec<String>,
}

/// Compares one desired object with its live counterpart (None when missing ⇒ modified).
///
/// Errors when `desired` is not an object with a `kind`, and when an `ignoreDifferences`
/// rule has a malformed JSON pointer or jq expression (naming the rule).
pub fn diff(
    desired: &serde_json::Value,
    live: Option<&serde_json::Value>,
    config: &DiffConfig,
) -> crate::Result<DiffResult> {
    let id = identify(desired, live)?;
    let rules = Rules::compile(&config.ignore, &id)?;
    let mut d = desired.clone();
    value::normalize(&mut d, config.ignore_status);
    let Some(raw_live) = live else {
        rules.remove_from(&mut d, &mut Value::Null, None);
        value::prune(&mut d);
        return Ok(DiffResult {
            modified: true,
            normalized_desired: d,
            normalized_live: Value::Null,
            changed_paths: vec![String::new()],
        });
    };
    let mut l = raw_live.clone();
    value::normalize(&mut l, config.ignore_status);
    if !rules.is_empty() {
        rules.remove_from(&mut d, &mut l, Some(raw_live));
        value::prune(&mut d);
        value::prune(&mut l);
    }

    let mut names = Vec::new();
    let mut predicted = value::merge(&id.kind, &mut names, &l, &d);
    remove_dropped_fields(&mut predicted, &d, raw_live, &config.manager);

    let mut changed_paths = Vec::new();
    value::compare(
        &id.kind,
        &mut names,
        &mut String::new(),
        &predicted,
        &l,
        &mut changed_paths,
    );
    changed_paths.sort();
    changed_paths.dedup();
    value::prune(&mut predicted);
    Ok(DiffResult {
        modified: !changed_paths.is_empty(),
        normalized_desired: predicted,
        normalized_live: l,
        changed_paths,
    })
}

/// Removes from the predicted object the fields `manager` applied before (its `Apply`
/// entry in live's managedFields) that `desired` no longer has and no other manager owns:
/// the next apply removes them.
fn remove_dropped_fields(predicted: &mut Value, desired: &Value, raw_live: &Value, manager: &str) {
    let ours = fields::managed_fields_where(raw_live, |m, op| m == manager && op == "Apply");
    if ours.is_empty() {
        return;
    }
    let others = fields::managed_fields_where(raw_live, |m, op| !(m == manager && op == "Apply"));
    for path in ours.iter_elements_first() {
        if FieldSet::resolve(desired, path).is_none()
            && !others.covers(path)
            && !FieldSet::is_key_field(path)
        {
            FieldSet::remove(predicted, path);
        }
    }
}

/// For `RespectIgnoreDifferences=true`: copies live values at ignored paths into `desired` before it is applied.
///
/// Every ignored path (`jsonPointers`, `jqPathExpressions`, fields owned by
/// `managedFieldsManagers`) gets live's value, or is removed from `desired` where live has
/// none, so the apply leaves those fields as they are. `status` is never copied.
pub fn respect_ignore_differences(
    desired: &mut serde_json::Value,
    live: &serde_json::Value,
    config: &DiffConfig,
) -> crate::Result<()> {
    let id = identify(desired, Some(live))?;
    let rules = Rules::compile(&config.ignore, &id)?;
    if !rules.is_empty() {
        rules.copy_from_live(desired, live);
    }
    Ok(())
}

/// The group, kind, name and namespace rules are matched against (namespace from live
/// when the desired object leaves it to the destination).
fn identify(desired: &Value, live: Option<&Value>) -> Result<ObjectId> {
    let str_at = |v: &Value, a: &str, b: &str| {
        v.get(a)
            .and_then(|x| if b.is_empty() { Some(x) } else { x.get(b) })
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let api_version = str_at(desired, "apiVersion", "");
    let kind = str_at(desired, "kind", "");
    let name = str_at(desired, "metadata", "name");
    let mut namespace = str_at(desired, "metadata", "namespace");
    if namespace.is_empty()
        && let Some(live) = live
    {
        namespace = str_at(live, "metadata", "namespace");
    }
    let object = || {
        let mut s = format!("{api_version} {kind}");
        if !namespace.is_empty() {
            s.push_str(&format!(" {namespace}/"));
        } else {
            s.push(' ');
        }
        s.push_str(if name.is_empty() { "<unnamed>" } else { &name });
        s.trim_start().to_owned()
    };
    if !desired.is_object() {
        return Err(Error::DiffObject {
            object: "desired object".into(),
            message: format!("expected a JSON object, got {desired}"),
        });
    }
    if kind.is_empty() {
        return Err(Error::DiffObject {
            object: object(),
            message: "the desired object has no `kind`".into(),
        });
    }
    let group = match api_version.split_once('/') {
        Some((g, _)) => g.to_owned(),
        None => String::new(),
    };
    Ok(ObjectId {
        group,
        kind,
        name,
        namespace,
    })
}
