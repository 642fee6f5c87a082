//! (placeholder until the diff module lands)
#![allow(missing_docs)]
use serde_json::Value;
use windlass_entity_model::argocd::ResourceIgnoreDifferences;
#[derive(Clone, Debug)]
pub struct DiffConfig {
    pub manager: String,
    pub ignore: Vec<ResourceIgnoreDifferences>,
    pub ignore_status: bool,
}
impl Default for DiffConfig {
    fn default() -> Self {
        DiffConfig { manager: "windlass-controller".into(), ignore: vec![], ignore_status: true }
    }
}
#[derive(Clone, Debug, PartialEq)]
pub struct DiffResult {
    pub modified: bool,
    pub normalized_desired: Value,
    pub normalized_live: Value,
    pub changed_paths: Vec<String>,
}
fn subset(d: &Value, l: &Value) -> bool {
    match (d, l) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, v)| v.is_null() || l.get(k).is_some_and(|lv| subset(v, lv))),
        (Value::Array(d), Value::Array(l)) => d.len() == l.len() && d.iter().zip(l).all(|(a, b)| subset(a, b)),
        _ => d == l,
    }
}
pub fn diff(desired: &Value, live: Option<&Value>, _config: &DiffConfig) -> crate::Result<DiffResult> {
    let mut d = desired.clone();
    if let Some(o) = d.as_object_mut() { o.remove("status"); }
    let modified = match live { None => true, Some(l) => !subset(&d, l) };
    Ok(DiffResult { modified, normalized_desired: d, normalized_live: live.cloned().unwrap_or(Value::Null), changed_paths: vec![] })
}
pub fn respect_ignore_differences(_desired: &mut Value, _live: &Value, _config: &DiffConfig) -> crate::Result<()> {
    Ok(())
}
