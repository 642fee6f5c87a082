//! Building blocks shared by the typed entities.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The fields of an object that Windlass does not model.
///
/// Every typed struct flattens one of these so that unknown and unmodelled fields
/// survive a read-modify-write: nothing in a user's manifest is ever dropped.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// A value Argo accepts as a string but lets users write as any scalar
/// (Argo's `AnyString`, `intstr`-like parameters): `value: 1` and `value: "1"` both load.
///
/// The original JSON value is kept so that a manifest written back is unchanged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct AnyString(
    #[schemars(schema_with = "crate::common::any_scalar_schema")] pub serde_json::Value,
);

impl AnyString {
    /// The value as Argo sees it: strings as they are, numbers and booleans in their
    /// canonical text form, `null` as the empty string.
    pub fn to_string_lossy(&self) -> String {
        match &self.0 {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }
    }
}

impl From<&str> for AnyString {
    fn from(value: &str) -> Self {
        AnyString(serde_json::Value::String(value.to_owned()))
    }
}

/// Schema of [`AnyString`]: a string in the CRD, with integers and booleans tolerated
/// the way Kubernetes tolerates `int-or-string`.
pub(crate) fn any_scalar_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "x-kubernetes-int-or-string": true })
}

/// Schema of an open sub-tree typed as [`serde_json::Value`]: kept as it is.
pub(crate) fn preserve_unknown_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}
