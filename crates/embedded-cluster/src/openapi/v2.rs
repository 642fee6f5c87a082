//! `/openapi/v2`: the served kinds' schemas as a Swagger 2.0 document, in
//! JSON or in the protobuf form (gnostic's `openapi_v2.Document`) kubectl
//! asks for. `kubectl explain --output plaintext-openapiv2`, and kubectl
//! itself when a server has no OpenAPI v3, read it.
//!
//! It has definitions but no paths: kubectl decides from a v2 document's
//! PATCH operations whether to build strategic merge patches from it, and
//! these schemas lack the merge keys (see the parent module).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{SCHEMAS, gv_path, v3_group_version};
use crate::registry::ResourceType;

/// The Swagger 2.0 document of every served kind.
pub(crate) fn document(types: &[Arc<ResourceType>]) -> Value {
    let mut gvs: Vec<String> = types
        .iter()
        .map(|r| gv_path(&r.group, &r.version))
        .collect();
    gvs.sort();
    gvs.dedup();
    let mut definitions = Map::new();
    for gv in gvs {
        let Some(doc) = v3_group_version(types, &gv) else {
            continue;
        };
        if let Some(schemas) = doc["components"]["schemas"].as_object() {
            for (name, schema) in schemas {
                definitions
                    .entry(name.clone())
                    .or_insert_with(|| to_v2(schema));
            }
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": {},
        "definitions": definitions,
    })
}

/// An OpenAPI v3 schema as Swagger 2.0 writes it: references into
/// `#/definitions/`, a lone `allOf` reference as the reference itself (as
/// Kubernetes' v2 documents do), no `nullable`. A schema that preserves
/// unknown fields loses its `properties` and `items`, as kube-apiserver's
/// `ToStructuralOpenAPIV2` drops them: kubectl's client-side validation reads a
/// v2 object schema as closed and would refuse every field it does not list.
fn to_v2(schema: &Value) -> Value {
    match schema {
        Value::Object(m) => {
            let open = m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            let mut out = Map::new();
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("properties" | "items", _) if open => {}
                    ("$ref", Value::String(r)) => {
                        let name = r.strip_prefix(SCHEMAS).unwrap_or(r);
                        out.insert(k.clone(), json!(format!("#/definitions/{name}")));
                    }
                    ("allOf", Value::Array(all))
                        if all.len() == 1 && all[0].get("$ref").is_some() =>
                    {
                        if let Value::Object(inner) = to_v2(&all[0]) {
                            out.extend(inner);
                        }
                    }
                    ("nullable", _) => {}
                    // Property names and extension values are data, not schemas.
                    ("properties", Value::Object(props)) => {
                        out.insert(
                            k.clone(),
                            Value::Object(
                                props.iter().map(|(n, s)| (n.clone(), to_v2(s))).collect(),
                            ),
                        );
                    }
                    (key, v)
                        if key.starts_with("x-")
                            || key == "enum"
                            || key == "default"
                            || key == "example" =>
                    {
                        out.insert(k.clone(), v.clone());
                    }
                    _ => {
                        out.insert(k.clone(), to_v2(v));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_v2).collect()),
        other => other.clone(),
    }
}

/// Protobuf wire writing, enough for gnostic's messages.
struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }

    fn tag(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.tag(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    fn int(&mut self, field: u32, v: i64) {
        self.tag(field, 0);
        // Two's complement, as protobuf writes negative int64s.
        self.varint(v as u64);
    }

    fn boolean(&mut self, field: u32, v: bool) {
        self.tag(field, 0);
        self.varint(u64::from(v));
    }

    fn double(&mut self, field: u32, v: f64) {
        self.tag(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn message(&mut self, field: u32, f: impl FnOnce(&mut Writer)) {
        let mut inner = Writer(Vec::new());
        f(&mut inner);
        self.bytes(field, &inner.0);
    }

    /// gnostic's `Any`: the value as YAML text (JSON is YAML).
    fn any(&mut self, field: u32, v: &Value) {
        self.message(field, |w| w.string(2, &v.to_string()));
    }

    /// gnostic's `NamedAny`.
    fn named_any(&mut self, field: u32, name: &str, v: &Value) {
        self.message(field, |w| {
            w.string(1, name);
            w.any(2, v);
        });
    }
}

/// gnostic's `Schema` message from a Swagger 2.0 schema.
fn schema(w: &mut Writer, s: &Value) {
    let Some(m) = s.as_object() else {
        return;
    };
    let text = |k: &str| m.get(k).and_then(Value::as_str);
    let int = |k: &str| m.get(k).and_then(Value::as_i64);
    let double = |k: &str| m.get(k).and_then(Value::as_f64);
    let flag = |k: &str| m.get(k).and_then(Value::as_bool);
    for (field, key) in [(1, "$ref"), (2, "format"), (3, "title"), (4, "description")] {
        if let Some(v) = text(key) {
            w.string(field, v);
        }
    }
    if let Some(v) = m.get("default") {
        w.any(5, v);
    }
    for (field, key) in [(6, "multipleOf"), (7, "maximum"), (9, "minimum")] {
        if let Some(v) = double(key) {
            w.double(field, v);
        }
    }
    for (field, key) in [
        (8, "exclusiveMaximum"),
        (10, "exclusiveMinimum"),
        (16, "uniqueItems"),
    ] {
        if let Some(v) = flag(key) {
            w.boolean(field, v);
        }
    }
    for (field, key) in [
        (11, "maxLength"),
        (12, "minLength"),
        (14, "maxItems"),
        (15, "minItems"),
        (17, "maxProperties"),
        (18, "minProperties"),
    ] {
        if let Some(v) = int(key) {
            w.int(field, v);
        }
    }
    if let Some(v) = text("pattern") {
        w.string(13, v);
    }
    for r in m
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(r) = r.as_str() {
            w.string(19, r);
        }
    }
    for e in m
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        w.any(20, e);
    }
    match m.get("additionalProperties") {
        Some(Value::Bool(b)) => w.message(21, |w| w.boolean(2, *b)),
        Some(v @ Value::Object(_)) => w.message(21, |w| w.message(1, |w| schema(w, v))),
        _ => {}
    }
    match m.get("type") {
        Some(Value::String(t)) => w.message(22, |w| w.string(1, t)),
        Some(Value::Array(ts)) => w.message(22, |w| {
            for t in ts.iter().filter_map(Value::as_str) {
                w.string(1, t);
            }
        }),
        _ => {}
    }
    match m.get("items") {
        Some(Value::Array(items)) => w.message(23, |w| {
            for item in items {
                w.message(1, |w| schema(w, item));
            }
        }),
        Some(item @ Value::Object(_)) => w.message(23, |w| w.message(1, |w| schema(w, item))),
        _ => {}
    }
    for sub in m
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        w.message(24, |w| schema(w, sub));
    }
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        w.message(25, |w| {
            for (name, s) in props {
                w.message(1, |w| {
                    w.string(1, name);
                    w.message(2, |w| schema(w, s));
                });
            }
        });
    }
    if let Some(v) = flag("readOnly") {
        w.boolean(27, v);
    }
    for (k, v) in m.iter().filter(|(k, _)| k.starts_with("x-")) {
        w.named_any(31, k, v);
    }
}

/// The protobuf encoding (gnostic's `openapi_v2.Document`) of [`document`].
pub(crate) fn protobuf(doc: &Value) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.string(1, doc["swagger"].as_str().unwrap_or("2.0"));
    w.message(2, |w| {
        w.string(1, doc["info"]["title"].as_str().unwrap_or_default());
        w.string(2, doc["info"]["version"].as_str().unwrap_or_default());
    });
    w.message(8, |_| {});
    w.message(9, |w| {
        for (name, s) in doc["definitions"].as_object().into_iter().flatten() {
            w.message(1, |w| {
                w.string(1, name);
                w.message(2, |w| schema(w, s));
            });
        }
    });
    w.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_references_become_definitions() {
        let v3 = json!({"properties": {"metadata": {"allOf": [{"$ref": "#/components/schemas/M"}],
            "description": "meta"}, "nullable": {"type": "string", "nullable": true}}});
        assert_eq!(
            to_v2(&v3),
            json!({"properties": {"metadata": {"$ref": "#/definitions/M", "description": "meta"},
                "nullable": {"type": "string"}}})
        );
    }

    #[test]
    fn schemas_that_preserve_unknown_fields_list_none() {
        let v3 = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
            "properties": {"kind": {"type": "string"}},
            "x-kubernetes-group-version-kind": [{"group": "g", "kind": "A", "version": "v1"}]});
        assert_eq!(
            to_v2(&v3),
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                "x-kubernetes-group-version-kind": [{"group": "g", "kind": "A", "version": "v1"}]})
        );
    }

    #[test]
    fn the_protobuf_document_starts_with_the_swagger_version() {
        let doc = json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1"},
            "definitions": {"A": {"type": "object", "properties": {"x": {"type": "integer"}},
                "x-kubernetes-group-version-kind": [{"group": "", "kind": "A", "version": "v1"}]}}});
        let bytes = protobuf(&doc);
        assert_eq!(&bytes[..5], b"\x0a\x032.0");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("x-kubernetes-group-version-kind"));
        assert!(text.contains(r#"[{"group":"","kind":"A","version":"v1"}]"#));
    }
}
