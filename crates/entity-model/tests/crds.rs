//! The generated CRDs: names, scopes, short names, subresources and printer columns
//! like Argo's, and schemas an API server accepts as structural.

use serde_json::Value;
use windlass_entity_model::Kind;
use windlass_entity_model::crd::crds;

#[test]
fn names_scopes_short_names_and_columns_match_argo() {
    let mut table = String::new();
    for crd in crds() {
        let version = &crd.spec.versions[0];
        let subresources = version
            .subresources
            .as_ref()
            .map(|s| {
                let mut parts = Vec::new();
                if s.status.is_some() {
                    parts.push("status");
                }
                if s.scale.is_some() {
                    parts.push("scale");
                }
                parts.join("+")
            })
            .unwrap_or_default();
        let columns: Vec<String> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| format!("{}={}", c.name, c.json_path))
            .collect();
        table.push_str(&format!(
            "{} {} {} [{}] subresources=[{}] columns=[{}]\n",
            crd.metadata.name.as_deref().unwrap_or_default(),
            crd.spec.scope,
            version.name,
            crd.spec
                .names
                .short_names
                .iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(","),
            subresources,
            columns.join(", "),
        ));
    }
    insta::assert_snapshot!(table);
}

/// Checks the rules of a structural schema that generated schemas can break: every node
/// has a type (or says it keeps anything), no references, and `additionalProperties`
/// never beside `properties`.
fn check_structural(schema: &Value, path: &str, problems: &mut Vec<String>) {
    let Value::Object(map) = schema else {
        problems.push(format!("{path}: not an object"));
        return;
    };
    if map.contains_key("$ref") {
        problems.push(format!("{path}: $ref"));
    }
    let open = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        || map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    if !map.contains_key("type")
        && !open
        && !map.contains_key("anyOf")
        && !map.contains_key("oneOf")
    {
        problems.push(format!("{path}: no type"));
    }
    if map.contains_key("properties") && map.contains_key("additionalProperties") {
        problems.push(format!("{path}: both properties and additionalProperties"));
    }
    if let Some(Value::Object(properties)) = map.get("properties") {
        for (name, child) in properties {
            check_structural(child, &format!("{path}.{name}"), problems);
        }
    }
    if let Some(items) = map.get("items") {
        check_structural(items, &format!("{path}[]"), problems);
    }
    if let Some(additional @ Value::Object(_)) = map.get("additionalProperties") {
        check_structural(additional, &format!("{path}{{}}"), problems);
    }
}

#[test]
fn schemas_are_structural() {
    let mut problems = Vec::new();
    for crd in crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        for version in &crd.spec.versions {
            let schema = version
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .expect("every version has a schema");
            let value = serde_json::to_value(schema).expect("JSON");
            check_structural(&value, &name, &mut problems);
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems[..problems.len().min(40)].join("\n")
    );
}

#[test]
fn every_kind_has_a_crd() {
    assert_eq!(crds().len(), Kind::ALL.len());
    assert_eq!(Kind::ALL.len(), 20);
}
