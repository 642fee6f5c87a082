//! What the API server does to an object between the request and the store:
//! typed decoding of built-in kinds (unknown fields, type errors), pruning of
//! custom resources against their schema, validation with field paths, and
//! the defaulting users see from a real server.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::registry::ResourceType;
use crate::status::Cause;

/// A fresh UUID (version 4) for `metadata.uid`.
pub(crate) fn new_uid() -> String {
    let hex = crate::tls::random_hex(16).unwrap_or_else(|_| "0".repeat(32));
    let mut b: Vec<char> = hex.chars().collect();
    b[12] = '4';
    b[16] = ['8', '9', 'a', 'b'][usize::from(b[16].to_digit(16).unwrap_or(0) as u8 & 3)];
    let s: String = b.into_iter().collect();
    format!(
        "{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

/// Now, as Kubernetes writes timestamps (RFC 3339, seconds, UTC).
pub(crate) fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Now as a `MicroTime` (Lease `renewTime`).
pub(crate) fn now_micro() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%6fZ")
        .to_string()
}

/// Five characters for `generateName`, from the alphabet Kubernetes uses.
pub(crate) fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let hex = crate::tls::random_hex(5).unwrap_or_else(|_| "0000000000".into());
    hex.as_bytes()
        .chunks(2)
        .map(|c| {
            let n = u8::from_str_radix(std::str::from_utf8(c).unwrap_or("0"), 16).unwrap_or(0);
            ALPHABET[usize::from(n) % ALPHABET.len()] as char
        })
        .collect()
}

/// Why an object does not decode: the field (`spec.replicas`, empty for the
/// object itself) and what is wrong with it.
#[derive(Debug, Clone)]
pub(crate) struct DecodeError {
    /// The field path, `spec.template.spec.containers[0].name`.
    pub path: String,
    /// What is wrong, without the path.
    pub message: String,
}

impl DecodeError {
    fn under(mut self, parent: &str) -> Self {
        self.path = if self.path.is_empty() {
            parent.to_owned()
        } else {
            format!("{parent}.{}", self.path)
        };
        self
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

fn roundtrip<T: DeserializeOwned + Serialize>(v: &Value) -> Result<Value, DecodeError> {
    let typed: T = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        DecodeError {
            path: if path == "." { String::new() } else { path },
            message: e.into_inner().to_string(),
        }
    })?;
    serde_json::to_value(typed).map_err(|e| DecodeError {
        path: String::new(),
        message: e.to_string(),
    })
}

/// Something done with the Rust type of a built-in kind: decoding an object
/// through it, publishing its schema.
pub(crate) trait BuiltinVisitor {
    /// What the visit yields.
    type Out;
    /// Visits the kind's k8s-openapi type.
    fn visit<T: DeserializeOwned + Serialize + schemars::JsonSchema>(self) -> Self::Out;
}

/// Visits the k8s-openapi type of built-in `kind`; `None` for other kinds.
/// The one list of the built-in kinds' Rust types.
pub(crate) fn with_builtin_type<V: BuiltinVisitor>(kind: &str, v: V) -> Option<V::Out> {
    use k8s_openapi::api::{apps, batch, coordination, core, networking, rbac};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
    Some(match kind {
        "Namespace" => v.visit::<core::v1::Namespace>(),
        "ConfigMap" => v.visit::<core::v1::ConfigMap>(),
        "Secret" => v.visit::<core::v1::Secret>(),
        "Service" => v.visit::<core::v1::Service>(),
        "ServiceAccount" => v.visit::<core::v1::ServiceAccount>(),
        "Pod" => v.visit::<core::v1::Pod>(),
        "Event" => v.visit::<core::v1::Event>(),
        "Endpoints" => v.visit::<core::v1::Endpoints>(),
        "PersistentVolumeClaim" => v.visit::<core::v1::PersistentVolumeClaim>(),
        "Node" => v.visit::<core::v1::Node>(),
        "Deployment" => v.visit::<apps::v1::Deployment>(),
        "ReplicaSet" => v.visit::<apps::v1::ReplicaSet>(),
        "StatefulSet" => v.visit::<apps::v1::StatefulSet>(),
        "DaemonSet" => v.visit::<apps::v1::DaemonSet>(),
        "Job" => v.visit::<batch::v1::Job>(),
        "CronJob" => v.visit::<batch::v1::CronJob>(),
        "Ingress" => v.visit::<networking::v1::Ingress>(),
        "Role" => v.visit::<rbac::v1::Role>(),
        "RoleBinding" => v.visit::<rbac::v1::RoleBinding>(),
        "ClusterRole" => v.visit::<rbac::v1::ClusterRole>(),
        "ClusterRoleBinding" => v.visit::<rbac::v1::ClusterRoleBinding>(),
        "Lease" => v.visit::<coordination::v1::Lease>(),
        "CustomResourceDefinition" => v.visit::<apiext::CustomResourceDefinition>(),
        _ => return None,
    })
}

/// Decodes a built-in object through its typed form, as the real server's Go
/// decoder does: type errors fail, and unknown fields are dropped. Returns the
/// decoded object, or the input unchanged for kinds without a typed form.
fn decode_builtin(kind: &str, v: &Value) -> Result<Value, DecodeError> {
    struct Roundtrip<'a>(&'a Value);
    impl BuiltinVisitor for Roundtrip<'_> {
        type Out = Result<Value, DecodeError>;
        fn visit<T: DeserializeOwned + Serialize + schemars::JsonSchema>(self) -> Self::Out {
            roundtrip::<T>(self.0)
        }
    }
    with_builtin_type(kind, Roundtrip(v)).unwrap_or_else(|| Ok(v.clone()))
}

/// Paths (`spec.foo`, `items[0].bar`) present in `input` but not in `output`.
fn dropped_fields(input: &Value, output: &Value, path: &str, out: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if v.is_null() {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    None => out.push(p),
                    Some(bv) => dropped_fields(v, bv, &p, out),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                dropped_fields(x, y, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Removes fields a structural schema does not declare, returning their paths.
fn prune(v: &mut Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    if schema["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true)
        && schema.get("properties").is_none()
    {
        return;
    }
    match v {
        Value::Object(map) => {
            let props = schema["properties"].as_object();
            let additional = &schema["additionalProperties"];
            let preserve = schema["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true);
            if props.is_none() && !additional.is_object() && !preserve {
                if schema.get("type").and_then(Value::as_str) == Some("object")
                    && additional != &Value::Bool(true)
                {
                    for k in map.keys() {
                        out.push(join(path, k));
                    }
                    map.clear();
                }
                return;
            }
            let mut remove = Vec::new();
            for (k, child) in map.iter_mut() {
                let p = join(path, k);
                if let Some(s) = props.and_then(|p| p.get(k)) {
                    prune(child, s, &p, out);
                } else if additional.is_object() {
                    prune(child, additional, &p, out);
                } else if !preserve && additional != &Value::Bool(true) {
                    remove.push(k.clone());
                    out.push(p);
                }
            }
            for k in remove {
                map.remove(&k);
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune(item, s, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

fn join(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_owned()
    } else {
        format!("{path}.{k}")
    }
}

/// Decodes `object` for resource `rt`: built-ins through their typed form,
/// custom resources pruned to their schema. Returns the decoded object and
/// the unknown fields that were dropped; `Err` is a decoding error.
pub(crate) fn decode(
    rt: &ResourceType,
    object: &Value,
) -> Result<(Value, Vec<String>), DecodeError> {
    let mut unknown = Vec::new();
    if rt.crd.is_none() {
        let decoded = decode_builtin(&rt.kind, object)?;
        dropped_fields(object, &decoded, "", &mut unknown);
        return Ok((decoded, unknown));
    }
    let mut v = object.clone();
    if let Some(map) = v.as_object_mut() {
        let schema = rt
            .schema
            .clone()
            .unwrap_or_else(|| json!({"x-kubernetes-preserve-unknown-fields": true}));
        let mut remove = Vec::new();
        for (k, child) in map.iter_mut() {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            match schema["properties"].get(k) {
                Some(s) => prune(child, s, k, &mut unknown),
                None if schema["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true) => {}
                None => {
                    remove.push(k.clone());
                    unknown.push(k.clone());
                }
            }
        }
        for k in remove {
            map.remove(&k);
        }
        // metadata is always ObjectMeta.
        if let Some(meta) = map.get("metadata") {
            let decoded =
                roundtrip::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>(meta)
                    .map_err(|e| e.under("metadata"))?;
            dropped_fields(meta, &decoded, "metadata", &mut unknown);
            map.insert("metadata".into(), decoded);
        }
    }
    Ok((v, unknown))
}

fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

fn is_dns1035_label(s: &str) -> bool {
    is_dns1123_label(s) && s.as_bytes()[0].is_ascii_lowercase()
}

fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric())
}

fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    prefix.is_none_or(is_dns1123_subdomain) && !name.is_empty() && is_label_value(name)
}

/// Checks an object of `rt` after defaulting; every problem names its field.
pub(crate) fn validate(rt: &ResourceType, object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let meta = &object["metadata"];
    let name = meta["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        causes.push(Cause::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        let (ok, rule) = match rt.kind.as_str() {
            "Namespace" => (
                is_dns1123_label(name),
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            ),
            "Service" => (
                is_dns1035_label(name),
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
            ),
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => (
                name != "." && name != ".." && !name.contains('/') && !name.contains('%'),
                "may not be '.' or '..' and may not contain '/' or '%'",
            ),
            _ => (
                is_dns1123_subdomain(name),
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ),
        };
        if !ok {
            causes.push(Cause::invalid("metadata.name", name, rule));
        }
    }
    for (field, check_values) in [("labels", true), ("annotations", false)] {
        if let Some(map) = meta[field].as_object() {
            for (k, v) in map {
                if !is_qualified_name(k) {
                    causes.push(Cause::invalid(
                        format!("metadata.{field}"),
                        k,
                        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                    ));
                }
                let s = v.as_str().unwrap_or_default();
                if check_values && !is_label_value(s) {
                    causes.push(Cause::invalid(
                        format!("metadata.labels.{k}"),
                        s,
                        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                    ));
                }
            }
        }
    }
    let spec = &object["spec"];
    match rt.kind.as_str() {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => {
            workload_rules(spec, &mut causes);
        }
        "Pod" => containers_rule(&spec["containers"], "spec.containers", &mut causes),
        "Job" => containers_rule(
            &spec["template"]["spec"]["containers"],
            "spec.template.spec.containers",
            &mut causes,
        ),
        "CronJob" => {
            if spec["schedule"].as_str().unwrap_or_default().is_empty() {
                causes.push(Cause::required("spec.schedule", ""));
            }
            containers_rule(
                &spec["jobTemplate"]["spec"]["template"]["spec"]["containers"],
                "spec.jobTemplate.spec.template.spec.containers",
                &mut causes,
            );
        }
        "CustomResourceDefinition" => crd_rules(name, spec, &mut causes),
        _ => {}
    }
    if let (Some(schema), Some(map)) = (&rt.schema, object.as_object()) {
        // The root: what the object sets besides the fields every kind has.
        for r in schema["required"].as_array().into_iter().flatten() {
            let Some(r) = r.as_str() else { continue };
            if !matches!(r, "apiVersion" | "kind" | "metadata")
                && map.get(r).is_none_or(Value::is_null)
            {
                causes.push(Cause::required(r, ""));
            }
        }
        for (k, v) in map {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            if let Some(s) = schema["properties"].get(k) {
                schema_rules(v, s, k, &mut causes);
            }
        }
    }
    causes
}

/// The JSON type name the real server reports for a value.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A custom resource's value against its structural schema: `type`, `enum`
/// and `required`, with the field paths and messages of the real server.
fn schema_rules(v: &Value, schema: &Value, path: &str, causes: &mut Vec<Cause>) {
    if v.is_null() {
        return;
    }
    let actual = type_name(v);
    let int_or_string = schema["x-kubernetes-int-or-string"] == Value::Bool(true);
    if let Some(want) = schema["type"].as_str() {
        let ok = match want {
            "number" => v.is_number(),
            "integer" => actual == "integer",
            other => other == actual,
        } || (int_or_string && matches!(actual, "integer" | "string"));
        if !ok {
            causes.push(Cause::invalid(
                path,
                actual,
                format!("{path} in body must be of type {want}: {actual:?}"),
            ));
            return;
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(v)
    {
        causes.push(Cause::not_supported(path, v, allowed));
    }
    match v {
        Value::Object(map) => {
            for r in schema["required"].as_array().into_iter().flatten() {
                if let Some(r) = r.as_str()
                    && map.get(r).is_none_or(Value::is_null)
                {
                    causes.push(Cause::required(join(path, r), ""));
                }
            }
            for (k, child) in map {
                match schema["properties"].get(k) {
                    Some(s) => schema_rules(child, s, &join(path, k), causes),
                    None if schema["additionalProperties"].is_object() => {
                        schema_rules(
                            child,
                            &schema["additionalProperties"],
                            &join(path, k),
                            causes,
                        );
                    }
                    None => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    schema_rules(item, s, &format!("{path}[{i}]"), causes);
                }
            }
        }
        _ => {}
    }
}

fn containers_rule(containers: &Value, field: &str, causes: &mut Vec<Cause>) {
    if containers.as_array().is_none_or(Vec::is_empty) {
        causes.push(Cause::required(field, ""));
    }
}

fn workload_rules(spec: &Value, causes: &mut Vec<Cause>) {
    let selector = &spec["selector"];
    // Typed decoding turns a missing selector into an empty one.
    let empty = |f: &str| {
        selector[f].as_object().is_none_or(|m| m.is_empty())
            && selector[f].as_array().is_none_or(Vec::is_empty)
    };
    if !selector.is_object() || (empty("matchLabels") && empty("matchExpressions")) {
        causes.push(Cause::required("spec.selector", ""));
    } else if let Some(match_labels) = selector["matchLabels"].as_object() {
        let labels = spec["template"]["metadata"]["labels"].as_object();
        let ok = match_labels
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
        if !ok {
            causes.push(Cause::invalid(
                "spec.template.metadata.labels",
                &Value::Object(labels.cloned().unwrap_or_default()).to_string(),
                "`selector` does not match template `labels`",
            ));
        }
    }
    containers_rule(
        &spec["template"]["spec"]["containers"],
        "spec.template.spec.containers",
        causes,
    );
}

fn crd_rules(name: &str, spec: &Value, causes: &mut Vec<Cause>) {
    let group = spec["group"].as_str().unwrap_or_default();
    let plural = spec["names"]["plural"].as_str().unwrap_or_default();
    if group.is_empty() {
        causes.push(Cause::required("spec.group", ""));
    }
    if plural.is_empty() {
        causes.push(Cause::required("spec.names.plural", ""));
    }
    if spec["names"]["kind"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        causes.push(Cause::required("spec.names.kind", ""));
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(Cause::invalid(
            "metadata.name",
            name,
            "must be spec.names.plural+\".\"+spec.group".to_string(),
        ));
    }
    if !matches!(spec["scope"].as_str(), Some("Namespaced" | "Cluster")) {
        causes.push(Cause::invalid(
            "spec.scope",
            spec["scope"].as_str().unwrap_or_default(),
            "supported values: \"Cluster\", \"Namespaced\"",
        ));
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    if versions.is_empty() {
        causes.push(Cause::required(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
    } else if versions
        .iter()
        .filter(|v| v["storage"] == Value::Bool(true))
        .count()
        != 1
    {
        causes.push(Cause::invalid(
            "spec.versions",
            "",
            "must have exactly one version marked as storage version",
        ));
    }
}

fn set_default(obj: &mut Map<String, Value>, key: &str, value: Value) {
    if obj.get(key).is_none_or(Value::is_null) {
        obj.insert(key.to_owned(), value);
    }
}

fn obj_at<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    let map = v.as_object_mut().expect("made an object above");
    let child = map.entry(key.to_owned()).or_insert_with(|| json!({}));
    if !child.is_object() {
        *child = json!({});
    }
    child.as_object_mut().expect("made an object above")
}

fn map_child<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let child = map.entry(key.to_owned()).or_insert_with(|| json!({}));
    if !child.is_object() {
        *child = json!({});
    }
    child.as_object_mut().expect("made an object above")
}

fn default_pod_spec(spec: &mut Value, restart_policy: Option<&str>) {
    let Some(s) = spec.as_object_mut() else {
        return;
    };
    if let Some(rp) = restart_policy {
        set_default(s, "restartPolicy", json!(rp));
    }
    set_default(s, "terminationGracePeriodSeconds", json!(30));
    set_default(s, "dnsPolicy", json!("ClusterFirst"));
    set_default(s, "securityContext", json!({}));
    set_default(s, "schedulerName", json!("default-scheduler"));
    for list in ["containers", "initContainers"] {
        for c in s
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let Some(c) = c.as_object_mut() else { continue };
            set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
            set_default(c, "terminationMessagePolicy", json!("File"));
            set_default(c, "resources", json!({}));
            let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
            let tag = image.rsplit('/').next().unwrap_or_default();
            let latest = !tag.contains(':') && !image.contains('@') || tag.ends_with(":latest");
            set_default(
                c,
                "imagePullPolicy",
                json!(if latest { "Always" } else { "IfNotPresent" }),
            );
            for p in c
                .get_mut("ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(p) = p.as_object_mut() {
                    set_default(p, "protocol", json!("TCP"));
                }
            }
        }
    }
}

fn default_template(spec: &mut Value, restart_policy: Option<&str>) {
    let template = obj_at(spec, "template");
    let pod_spec = template.entry("spec").or_insert_with(|| json!({}));
    default_pod_spec(pod_spec, restart_policy);
}

/// Allocates cluster IPs and node ports for Services.
pub(crate) trait Allocator {
    /// A free cluster IP; `None` when every one is in use.
    fn cluster_ip(&self) -> Option<String>;
    /// A free node port; `None` when every one is in use.
    fn node_port(&self) -> Option<u32>;
}

/// Sets the status a new object of `kind` starts with (status sent by the
/// client is dropped first for kinds with a status subresource).
pub(crate) fn init_status(kind: &str, object: &mut Value) {
    match kind {
        "Namespace" => object["status"] = json!({"phase": "Active"}),
        "Service" | "Ingress" => object["status"] = json!({"loadBalancer": {}}),
        "Pod" => object["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"}),
        "PersistentVolumeClaim" => object["status"] = json!({"phase": "Pending"}),
        "CustomResourceDefinition" => crd_status(object),
        _ => {}
    }
}

/// Applies the defaults of `kind` to `object` (on every write, as the real
/// server's decoder does; only fields that are absent are set).
pub(crate) fn apply_defaults(kind: &str, object: &mut Value, alloc: &dyn Allocator) {
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let uid = object["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match kind {
        "Namespace" => {
            map_child(obj_at(object, "metadata"), "labels")
                .insert("kubernetes.io/metadata.name".into(), json!(name));
            set_default(obj_at(object, "spec"), "finalizers", json!(["kubernetes"]));
        }
        "Secret" => {
            let o = object.as_object_mut().expect("objects are JSON objects");
            set_default(o, "type", json!("Opaque"));
            if let Some(Value::Object(sd)) = o.remove("stringData") {
                use base64::Engine;
                let data = obj_at(object, "data");
                for (k, v) in sd {
                    let s = v.as_str().unwrap_or_default();
                    data.insert(
                        k,
                        json!(base64::engine::general_purpose::STANDARD.encode(s)),
                    );
                }
            }
        }
        "Service" => {
            let spec = obj_at(object, "spec");
            set_default(spec, "type", json!("ClusterIP"));
            let ty = spec["type"].as_str().unwrap_or("ClusterIP").to_owned();
            if ty != "ExternalName" {
                if spec
                    .get("clusterIP")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    match alloc.cluster_ip() {
                        Some(ip) => spec.insert("clusterIP".into(), json!(ip)),
                        None => {
                            tracing::warn!(service = %name, "no cluster IP left to allocate");
                            None
                        }
                    };
                }
                let ip = spec["clusterIP"].clone();
                if !ip.is_null() {
                    set_default(spec, "clusterIPs", json!([ip]));
                }
                set_default(spec, "ipFamilies", json!(["IPv4"]));
                set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
                set_default(spec, "internalTrafficPolicy", json!("Cluster"));
            }
            set_default(spec, "sessionAffinity", json!("None"));
            if ty == "NodePort" || ty == "LoadBalancer" {
                set_default(spec, "externalTrafficPolicy", json!("Cluster"));
            }
            for p in spec
                .get_mut("ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                let Some(p) = p.as_object_mut() else { continue };
                set_default(p, "protocol", json!("TCP"));
                let port = p.get("port").cloned().unwrap_or(Value::Null);
                set_default(p, "targetPort", port);
                if (ty == "NodePort" || ty == "LoadBalancer")
                    && p.get("nodePort").is_none_or(Value::is_null)
                {
                    match alloc.node_port() {
                        Some(port) => set_default(p, "nodePort", json!(port)),
                        None => tracing::warn!(service = %name, "no node port left to allocate"),
                    }
                }
            }
        }
        "Pod" => {
            let spec = object
                .as_object_mut()
                .expect("objects are JSON objects")
                .entry("spec")
                .or_insert_with(|| json!({}));
            default_pod_spec(spec, Some("Always"));
            if let Some(s) = spec.as_object_mut() {
                set_default(s, "serviceAccountName", json!("default"));
                set_default(s, "enableServiceLinks", json!(true));
                set_default(s, "priority", json!(0));
                set_default(s, "preemptionPolicy", json!("PreemptLowerPriority"));
            }
        }
        "PersistentVolumeClaim" => {
            set_default(obj_at(object, "spec"), "volumeMode", json!("Filesystem"));
        }
        "Deployment" => {
            let spec = obj_at(object, "spec");
            set_default(spec, "replicas", json!(1));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(spec, "progressDeadlineSeconds", json!(600));
            let strategy = obj_at(object.get_mut("spec").expect("set above"), "strategy");
            set_default(strategy, "type", json!("RollingUpdate"));
            if strategy["type"] == "RollingUpdate" {
                let ru = strategy
                    .entry("rollingUpdate")
                    .or_insert_with(|| json!({}))
                    .as_object_mut();
                if let Some(ru) = ru {
                    set_default(ru, "maxUnavailable", json!("25%"));
                    set_default(ru, "maxSurge", json!("25%"));
                }
            }
            default_template(object.get_mut("spec").expect("set above"), Some("Always"));
        }
        "ReplicaSet" => {
            set_default(obj_at(object, "spec"), "replicas", json!(1));
            default_template(object.get_mut("spec").expect("set above"), Some("Always"));
        }
        "StatefulSet" => {
            let spec = obj_at(object, "spec");
            set_default(spec, "replicas", json!(1));
            set_default(spec, "podManagementPolicy", json!("OrderedReady"));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            set_default(
                spec,
                "persistentVolumeClaimRetentionPolicy",
                json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
            );
            default_template(object.get_mut("spec").expect("set above"), Some("Always"));
        }
        "DaemonSet" => {
            let spec = obj_at(object, "spec");
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
            );
            default_template(object.get_mut("spec").expect("set above"), Some("Always"));
        }
        "Job" => {
            let spec = obj_at(object, "spec");
            set_default(spec, "parallelism", json!(1));
            set_default(spec, "completions", json!(1));
            set_default(spec, "backoffLimit", json!(6));
            set_default(spec, "completionMode", json!("NonIndexed"));
            set_default(spec, "suspend", json!(false));
            set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
            if spec.get("manualSelector") != Some(&json!(true)) && !uid.is_empty() {
                let labels = json!({
                    "batch.kubernetes.io/controller-uid": uid,
                    "batch.kubernetes.io/job-name": name,
                    "controller-uid": uid,
                    "job-name": name,
                });
                set_default(
                    spec,
                    "selector",
                    json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
                );
                let tl = map_child(map_child(obj_at(object, "spec"), "template"), "metadata");
                let tl = tl.entry("labels").or_insert_with(|| json!({}));
                if let (Some(tl), Some(l)) = (tl.as_object_mut(), labels.as_object()) {
                    for (k, v) in l {
                        tl.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            default_template(object.get_mut("spec").expect("set above"), None);
        }
        "CronJob" => {
            let spec = obj_at(object, "spec");
            set_default(spec, "concurrencyPolicy", json!("Allow"));
            set_default(spec, "suspend", json!(false));
            set_default(spec, "successfulJobsHistoryLimit", json!(3));
            set_default(spec, "failedJobsHistoryLimit", json!(1));
            let jt = obj_at(object.get_mut("spec").expect("set above"), "jobTemplate");
            let jspec = jt.entry("spec").or_insert_with(|| json!({}));
            default_template(jspec, None);
        }
        "CustomResourceDefinition" => {
            let names = object["spec"]["names"].clone();
            let kind = names["kind"].as_str().unwrap_or_default().to_owned();
            let n = map_child(obj_at(object, "spec"), "names");
            set_default(n, "singular", json!(kind.to_lowercase()));
            set_default(n, "listKind", json!(format!("{kind}List")));
            set_default(
                obj_at(object, "spec"),
                "conversion",
                json!({"strategy": "None"}),
            );
        }
        _ => {}
    }
}

/// The status a CRD has once its names are accepted and it is established.
pub(crate) fn crd_status(object: &mut Value) {
    let names = object["spec"]["names"].clone();
    // Versions once stored stay listed (objects may still be stored in them), as
    // the real strategy appends the storage version to what is there.
    let mut stored: Vec<Value> = object["status"]["storedVersions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for v in object["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["storage"] == Value::Bool(true))
    {
        if !stored.contains(&v["name"]) {
            stored.push(v["name"].clone());
        }
    }
    // A condition keeps its transition time while its status stays the same, so
    // an unchanged CRD re-applied later is not rewritten.
    let t = now();
    let since = |kind: &str| {
        object["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == kind && c["status"] == "True")
            .map_or_else(|| json!(t), |c| c["lastTransitionTime"].clone())
    };
    let (accepted, established) = (since("NamesAccepted"), since("Established"));
    object["status"] = json!({
        "acceptedNames": names,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": accepted,
             "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": established,
             "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
        ],
        "storedVersions": stored,
    });
}

/// Whether anything outside `metadata` and `status` differs: what bumps `generation`.
pub(crate) fn spec_changed(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Map<String, Value> {
        let mut m = v.as_object().cloned().unwrap_or_default();
        for k in ["metadata", "status", "apiVersion", "kind"] {
            m.remove(k);
        }
        m
    };
    strip(old) != strip(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::builtins;

    fn rt(kind: &str) -> ResourceType {
        builtins()
            .into_iter()
            .find(|r| r.kind == kind)
            .expect("built-in")
    }

    #[test]
    fn unknown_fields_of_builtins_are_reported_and_dropped() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "bogus": 1}, "data": {"k": "v"}, "extra": true});
        let (decoded, unknown) = decode(&rt("ConfigMap"), &cm).expect("decodes");
        assert_eq!(
            unknown,
            vec!["metadata.bogus".to_owned(), "extra".to_owned()]
        );
        assert_eq!(decoded["data"]["k"], "v");
        assert!(decoded.get("extra").is_none());
    }

    #[test]
    fn type_errors_fail_decoding() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a"}, "spec": {"replicas": "three"}});
        let e = decode(&rt("Deployment"), &d).expect_err("replicas is an int32");
        assert_eq!(e.path, "spec.replicas");
        assert!(e.message.contains("invalid type: string"), "{e}");
    }

    #[test]
    fn names_are_validated_with_field_paths() {
        let causes = validate(&rt("ConfigMap"), &json!({"metadata": {"name": "Bad_Name"}}));
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "metadata.name");
        let causes = validate(&rt("ConfigMap"), &json!({"metadata": {}}));
        assert_eq!(causes[0].reason, "FieldValueRequired");
    }

    #[test]
    fn uids_look_like_uuid_v4() {
        let u = new_uid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(u, new_uid());
        assert_eq!(name_suffix().len(), 5);
    }
}
