//! The OpenAPI documents clients read: `/openapi/v3` (one entry per served
//! group-version) and `/openapi/v3/<group-version>` with the operations
//! `kubectl` inspects and the schema of every kind served there, and
//! `/openapi/v2` with the same schemas as Swagger 2.0 definitions (`v2`).
//!
//! Built-in kinds' schemas come from k8s-openapi's JSON schemas (generated
//! once per process, on first use); a custom resource's is its CRD version's
//! `openAPIV3Schema` with the standard `apiVersion`/`kind`/`metadata`
//! fields, as kube-apiserver publishes it. Each kind's schema carries
//! `x-kubernetes-group-version-kind`, which `kubectl explain` looks up.
//!
//! The operations carry no request bodies on purpose: `kubectl apply`
//! builds a strategic merge patch from OpenAPI v3 only for kinds whose PATCH
//! operation accepts one, and these schemas do not carry the merge keys
//! (`x-kubernetes-patch-merge-key`), so kubectl keeps using its compiled-in
//! types for that.

pub(crate) mod v2;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::objects::{BuiltinVisitor, with_builtin_type};
use crate::registry::ResourceType;

/// Where OpenAPI v3 documents keep schemas; `$ref`s point here.
const SCHEMAS: &str = "#/components/schemas/";

type Definitions = Map<String, Value>;

/// `api/v1` or `apis/<group>/<version>`.
pub(crate) fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn gvk(rt: &ResourceType) -> Value {
    json!({"group": rt.group, "kind": rt.kind, "version": rt.version})
}

/// Changes with what the group-version's document says, so clients that
/// cache documents by it (kubectl does, on disk) see CRD schema changes.
fn gv_hash(kinds: &[&ResourceType]) -> u64 {
    let mut h = DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut h);
    for rt in kinds {
        rt.kind.hash(&mut h);
        rt.plural.hash(&mut h);
        rt.namespaced.hash(&mut h);
        if let Some(schema) = &rt.schema {
            schema.to_string().hash(&mut h);
        }
    }
    h.finish()
}

fn kinds_of<'a>(types: &'a [Arc<ResourceType>], gv: &str) -> Vec<&'a ResourceType> {
    types
        .iter()
        .map(Arc::as_ref)
        .filter(|r| gv_path(&r.group, &r.version) == gv)
        .collect()
}

/// `/openapi/v3`: one entry per served group-version.
pub(crate) fn v3_root(types: &[Arc<ResourceType>]) -> Value {
    let mut paths = std::collections::BTreeMap::new();
    for rt in types {
        let p = gv_path(&rt.group, &rt.version);
        if paths.contains_key(&p) {
            continue;
        }
        let hash = gv_hash(&kinds_of(types, &p));
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash:016X}")}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/<gv path>`: the operations kubectl inspects (the
/// `fieldValidation` query parameter, the kind an operation serves) and the
/// schemas of the kinds served there.
pub(crate) fn v3_group_version(types: &[Arc<ResourceType>], gv: &str) -> Option<Value> {
    let kinds = kinds_of(types, gv);
    if kinds.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    for rt in &kinds {
        let gvk = gvk(rt);
        let params = json!([
            {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        ]);
        let op = |action: &str| {
            json!({
                "operationId": format!("{action}{}", rt.kind),
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
            })
        };
        let base = format!("/{gv}");
        let collection_path = if rt.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", rt.plural)
        } else {
            format!("{base}/{}", rt.plural)
        };
        paths.insert(
            format!("{collection_path}/{{name}}"),
            json!({"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}),
        );
        paths.insert(
            collection_path,
            json!({"get": op("list"), "post": op("post")}),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas(&kinds)},
    }))
}

/// The schemas of `kinds` (one group-version) and of everything they refer to.
fn schemas(kinds: &[&ResourceType]) -> Definitions {
    let builtins: Vec<&ResourceType> = kinds.iter().copied().filter(|r| r.crd.is_none()).collect();
    let mut out = Definitions::new();
    if let Some(first) = builtins.first() {
        out.extend(
            builtin_definitions(&gv_path(&first.group, &first.version), &builtins)
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
    }
    let customs: Vec<&ResourceType> = kinds.iter().copied().filter(|r| r.crd.is_some()).collect();
    if !customs.is_empty() {
        let meta = meta_definitions();
        out.extend(meta.definitions.iter().map(|(k, v)| (k.clone(), v.clone())));
        for rt in customs {
            out.insert(custom_schema_name(rt), custom_schema(rt, &meta.root_fields));
        }
    }
    out
}

struct Register<'a>(&'a mut SchemaGenerator);

impl BuiltinVisitor for Register<'_> {
    type Out = String;
    fn visit<T: serde::de::DeserializeOwned + serde::Serialize + schemars::JsonSchema>(
        self,
    ) -> String {
        self.0.subschema_for::<T>();
        T::schema_name().into_owned()
    }
}

/// The definitions of one group-version's built-in kinds, made once per
/// process (the built-ins never change).
fn builtin_definitions(gv: &str, kinds: &[&ResourceType]) -> Arc<Definitions> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Definitions>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(d) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(gv) {
        return d.clone();
    }
    let mut generator = SchemaSettings::openapi3().into_generator();
    let roots: Vec<(String, Value)> = kinds
        .iter()
        .filter_map(|rt| {
            with_builtin_type(&rt.kind, Register(&mut generator)).map(|name| (name, gvk(rt)))
        })
        .collect();
    let mut definitions = generator.take_definitions(true);
    for (name, gvk) in roots {
        if let Some(Value::Object(d)) = definitions.get_mut(&name) {
            d.insert("x-kubernetes-group-version-kind".into(), json!([gvk]));
            // k8s-openapi's types hold `metadata` by value and so call it
            // required; kube-apiserver's schemas do not (`generateName`
            // objects, lists of objects without it).
            if let Some(Value::Array(required)) = d.get_mut("required") {
                required.retain(|f| f != "metadata");
                if required.is_empty() {
                    d.remove("required");
                }
            }
        }
    }
    let definitions = Arc::new(definitions);
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(gv.to_owned(), definitions.clone());
    definitions
}

/// What every custom resource's schema refers to: `ObjectMeta` and its
/// parts, and the standard root fields (`apiVersion`, `kind`, `metadata`) as
/// built-in kinds declare them.
struct Meta {
    definitions: Definitions,
    root_fields: Map<String, Value>,
}

fn meta_definitions() -> &'static Meta {
    static META: OnceLock<Meta> = OnceLock::new();
    META.get_or_init(|| {
        let mut generator = SchemaSettings::openapi3().into_generator();
        generator.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>();
        // A built-in kind's root fields, with the descriptions Kubernetes gives them.
        let mut root = SchemaSettings::openapi3().into_generator();
        let example = root.root_schema_for::<k8s_openapi::api::core::v1::ConfigMap>();
        let mut root_fields = Map::new();
        for field in ["apiVersion", "kind", "metadata"] {
            if let Some(v) = example.get("properties").and_then(|p| p.get(field)) {
                root_fields.insert(field.to_owned(), v.clone());
            }
        }
        Meta {
            definitions: generator.take_definitions(true),
            root_fields,
        }
    })
}

/// `com.example.v1.Widget`: the group reversed, the version, the kind.
fn custom_schema_name(rt: &ResourceType) -> String {
    let mut parts: Vec<&str> = rt.group.split('.').collect();
    parts.reverse();
    format!("{}.{}.{}", parts.join("."), rt.version, rt.kind)
}

/// A custom resource's schema as kube-apiserver publishes it.
fn custom_schema(rt: &ResourceType, root_fields: &Map<String, Value>) -> Value {
    let mut schema = match &rt.schema {
        Some(Value::Object(s)) => s.clone(),
        _ => {
            let mut s = Map::new();
            s.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
            s
        }
    };
    schema
        .entry("type")
        .or_insert_with(|| Value::String("object".into()));
    let properties = schema
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(properties) = properties {
        for (field, declared) in root_fields {
            if field == "metadata" || !properties.contains_key(field) {
                properties.insert(field.clone(), declared.clone());
            }
        }
    }
    schema.insert("x-kubernetes-group-version-kind".into(), json!([gvk(rt)]));
    Value::Object(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

    fn builtin(group: &str, kind: &str) -> ResourceType {
        ResourceType {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            plural: format!("{}s", kind.to_lowercase()),
            singular: kind.to_lowercase(),
            namespaced: true,
            short_names: Vec::new(),
            categories: Vec::new(),
            status: false,
            scale: None,
            log: false,
            crd: None,
            schema: None,
        }
    }

    #[test]
    fn built_in_schemas_refer_within_the_document_and_name_their_kind() {
        let types = vec![Arc::new(builtin("apps", "Deployment"))];
        let doc = v3_group_version(&types, "apis/apps/v1").expect("served");
        let schemas = &doc["components"]["schemas"];
        let deployment = &schemas["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        assert!(deployment.get("required").is_none(), "{deployment}");
        // Every reference resolves in the same document.
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|c| refs(c, out));
                }
                Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(schemas, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let name = r.strip_prefix(SCHEMAS).expect("a component reference");
            assert!(schemas.get(name).is_some(), "{r} does not resolve");
        }
    }

    #[test]
    fn custom_resources_get_the_standard_root_fields() {
        let mut rt = builtin("argoproj.io", "Application");
        rt.crd = Some("applications.argoproj.io".into());
        rt.version = "v1alpha1".into();
        rt.schema = Some(json!({"type": "object", "properties": {"spec": {"type": "object"}}}));
        let types = vec![Arc::new(rt)];
        let doc = v3_group_version(&types, "apis/argoproj.io/v1alpha1").expect("served");
        let app = &doc["components"]["schemas"]["io.argoproj.v1alpha1.Application"];
        assert_eq!(app["properties"]["apiVersion"]["type"], "string");
        assert_eq!(
            app["properties"]["metadata"]["allOf"][0]["$ref"],
            format!("{SCHEMAS}{OBJECT_META}")
        );
        assert!(doc["components"]["schemas"].get(OBJECT_META).is_some());
    }
}
