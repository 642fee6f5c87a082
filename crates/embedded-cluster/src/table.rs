//! Server-side printing: the `meta.k8s.io/v1 Table` that `kubectl get`
//! asks for (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), with
//! the columns the real server prints for the main built-in kinds and a
//! CRD's `additionalPrinterColumns` for custom resources.

use serde_json::{Value, json};

/// What each row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Include {
    /// Nothing.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

impl Include {
    /// From the `includeObject` query parameter.
    pub(crate) fn parse(value: Option<&str>) -> Self {
        match value {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

/// A column: name, type, and how to compute its cell.
struct Column {
    name: String,
    kind: &'static str,
    format: &'static str,
    priority: i64,
    description: String,
    cell: Cell,
}

enum Cell {
    Name,
    Age,
    /// A built-in computed cell.
    Builtin(fn(&Value) -> Value),
    /// A CRD printer column's JSON path.
    Path(String, String),
}

fn col(name: &str, kind: &'static str, priority: i64, cell: Cell) -> Column {
    Column {
        name: name.to_owned(),
        kind,
        format: if name == "Name" { "name" } else { "" },
        priority,
        description: String::new(),
        cell,
    }
}

fn count(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn containers_ready(pod: &Value) -> Value {
    let total = pod["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = pod["status"]["containerStatuses"]
        .as_array()
        .map_or(0, |s| s.iter().filter(|c| c["ready"] == true).count());
    json!(format!("{ready}/{total}"))
}

fn pod_status(pod: &Value) -> Value {
    if !pod["metadata"]["deletionTimestamp"].is_null() {
        return json!("Terminating");
    }
    for c in pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(reason) = c["state"]["waiting"]["reason"].as_str() {
            return json!(reason);
        }
    }
    json!(pod["status"]["phase"].as_str().unwrap_or("Pending"))
}

fn restarts(pod: &Value) -> Value {
    json!(
        pod["status"]["containerStatuses"]
            .as_array()
            .map_or(0, |s| s
                .iter()
                .map(|c| count(&c["restartCount"]))
                .sum::<i64>())
    )
}

fn service_ports(svc: &Value) -> Value {
    let ports: Vec<String> = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64() {
                Some(n) => format!("{}:{n}/{proto}", count(&p["port"])),
                None => format!("{}/{proto}", count(&p["port"])),
            }
        })
        .collect();
    json!(if ports.is_empty() {
        "<none>".to_owned()
    } else {
        ports.join(",")
    })
}

fn external_ip(svc: &Value) -> Value {
    let spec = &svc["spec"];
    let mut ips: Vec<String> = spec["externalIPs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if spec["type"] == "LoadBalancer" {
        let ingress: Vec<String> = svc["status"]["loadBalancer"]["ingress"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["ip"].as_str().or(i["hostname"].as_str()))
            .map(str::to_owned)
            .collect();
        if ingress.is_empty() && ips.is_empty() {
            return json!("<pending>");
        }
        ips.extend(ingress);
    }
    if spec["type"] == "ExternalName" {
        return json!(spec["externalName"].as_str().unwrap_or("<none>"));
    }
    json!(if ips.is_empty() {
        "<none>".to_owned()
    } else {
        ips.join(",")
    })
}

fn columns(kind: &str) -> Vec<Column> {
    use Cell::{Age, Builtin, Name};
    let mut cols = vec![col("Name", "string", 0, Name)];
    match kind {
        "Deployment" => {
            cols.push(col(
                "Ready",
                "string",
                0,
                Builtin(|d| {
                    json!(format!(
                        "{}/{}",
                        count(&d["status"]["readyReplicas"]),
                        d["spec"]["replicas"].as_i64().unwrap_or(1)
                    ))
                }),
            ));
            cols.push(col(
                "Up-to-date",
                "integer",
                0,
                Builtin(|d| json!(count(&d["status"]["updatedReplicas"]))),
            ));
            cols.push(col(
                "Available",
                "integer",
                0,
                Builtin(|d| json!(count(&d["status"]["availableReplicas"]))),
            ));
        }
        "ReplicaSet" => {
            cols.push(col(
                "Desired",
                "integer",
                0,
                Builtin(|r| json!(r["spec"]["replicas"].as_i64().unwrap_or(1))),
            ));
            cols.push(col(
                "Current",
                "integer",
                0,
                Builtin(|r| json!(count(&r["status"]["replicas"]))),
            ));
            cols.push(col(
                "Ready",
                "integer",
                0,
                Builtin(|r| json!(count(&r["status"]["readyReplicas"]))),
            ));
        }
        "Pod" => {
            cols.push(col("Ready", "string", 0, Builtin(containers_ready)));
            cols.push(col("Status", "string", 0, Builtin(pod_status)));
            cols.push(col("Restarts", "string", 0, Builtin(restarts)));
        }
        "Service" => {
            cols.push(col(
                "Type",
                "string",
                0,
                Builtin(|s| json!(s["spec"]["type"].as_str().unwrap_or("ClusterIP"))),
            ));
            cols.push(col(
                "Cluster-IP",
                "string",
                0,
                Builtin(|s| json!(s["spec"]["clusterIP"].as_str().unwrap_or("<none>"))),
            ));
            cols.push(col("External-IP", "string", 0, Builtin(external_ip)));
            cols.push(col("Port(s)", "string", 0, Builtin(service_ports)));
        }
        "ConfigMap" => cols.push(col(
            "Data",
            "integer",
            0,
            Builtin(|c| {
                let n = |f: &str| c[f].as_object().map_or(0, serde_json::Map::len);
                json!(n("data") + n("binaryData"))
            }),
        )),
        "Secret" => {
            cols.push(col(
                "Type",
                "string",
                0,
                Builtin(|s| json!(s["type"].as_str().unwrap_or("Opaque"))),
            ));
            cols.push(col(
                "Data",
                "integer",
                0,
                Builtin(|s| json!(s["data"].as_object().map_or(0, serde_json::Map::len))),
            ));
        }
        "Namespace" => cols.push(col(
            "Status",
            "string",
            0,
            Builtin(|n| json!(n["status"]["phase"].as_str().unwrap_or("Active"))),
        )),
        "StatefulSet" => cols.push(col(
            "Ready",
            "string",
            0,
            Builtin(|s| {
                json!(format!(
                    "{}/{}",
                    count(&s["status"]["readyReplicas"]),
                    s["spec"]["replicas"].as_i64().unwrap_or(1)
                ))
            }),
        )),
        "DaemonSet" => {
            for (name, field) in [
                ("Desired", "desiredNumberScheduled"),
                ("Current", "currentNumberScheduled"),
                ("Ready", "numberReady"),
                ("Up-to-date", "updatedNumberScheduled"),
                ("Available", "numberAvailable"),
            ] {
                cols.push(col(name, "integer", 0, Builtin(status_count(field))));
            }
            cols.push(col(
                "Node Selector",
                "string",
                0,
                Builtin(|d| json!(map_text(&d["spec"]["template"]["spec"]["nodeSelector"]))),
            ));
        }
        "Job" => {
            cols.push(col("Status", "string", 0, Builtin(job_status)));
            cols.push(col(
                "Completions",
                "string",
                0,
                Builtin(|j| {
                    json!(format!(
                        "{}/{}",
                        count(&j["status"]["succeeded"]),
                        j["spec"]["completions"].as_i64().unwrap_or(1)
                    ))
                }),
            ));
            cols.push(col("Duration", "string", 0, Builtin(job_duration)));
        }
        "Endpoints" => cols.push(col("Endpoints", "string", 0, Builtin(endpoint_addresses))),
        _ => {}
    }
    cols.push(col("Age", "string", 0, Age));
    // Priority 1: the columns `kubectl get -o wide` adds.
    match kind {
        "Pod" => {
            cols.push(col(
                "IP",
                "string",
                1,
                Builtin(|p| json!(p["status"]["podIP"].as_str().unwrap_or("<none>"))),
            ));
            cols.push(col(
                "Node",
                "string",
                1,
                Builtin(|p| json!(p["spec"]["nodeName"].as_str().unwrap_or("<none>"))),
            ));
            cols.push(col(
                "Nominated Node",
                "string",
                1,
                Builtin(|p| {
                    json!(
                        p["status"]["nominatedNodeName"]
                            .as_str()
                            .unwrap_or("<none>")
                    )
                }),
            ));
            cols.push(col(
                "Readiness Gates",
                "string",
                1,
                Builtin(|p| {
                    json!(match p["spec"]["readinessGates"].as_array() {
                        Some(g) if !g.is_empty() => format!("0/{}", g.len()),
                        _ => "<none>".to_owned(),
                    })
                }),
            ));
        }
        "Deployment" | "ReplicaSet" | "DaemonSet" | "Job" => {
            cols.push(col("Containers", "string", 1, Builtin(container_names)));
            cols.push(col("Images", "string", 1, Builtin(container_images)));
            cols.push(col(
                "Selector",
                "string",
                1,
                Builtin(|o| json!(selector_text(&o["spec"]["selector"]))),
            ));
        }
        "StatefulSet" => {
            cols.push(col("Containers", "string", 1, Builtin(container_names)));
            cols.push(col("Images", "string", 1, Builtin(container_images)));
        }
        "Service" => cols.push(col(
            "Selector",
            "string",
            1,
            Builtin(|s| json!(map_text(&s["spec"]["selector"]))),
        )),
        _ => {}
    }
    cols
}

/// `ip:port` pairs, the first three and a count of the rest (like the real printer).
fn endpoint_addresses(e: &Value) -> Value {
    let mut pairs = Vec::new();
    for subset in e["subsets"].as_array().into_iter().flatten() {
        let ports: Vec<i64> = subset["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| count(&p["port"]))
            .collect();
        for a in subset["addresses"].as_array().into_iter().flatten() {
            let ip = a["ip"].as_str().unwrap_or_default();
            if ports.is_empty() {
                pairs.push(ip.to_owned());
            }
            pairs.extend(ports.iter().map(|p| format!("{ip}:{p}")));
        }
    }
    json!(match pairs.len() {
        0 => "<none>".to_owned(),
        n if n <= 3 => pairs.join(","),
        n => format!("{} + {} more...", pairs[..3].join(","), n - 3),
    })
}

fn status_count(field: &'static str) -> fn(&Value) -> Value {
    // One function per field: a `fn` pointer cannot capture.
    match field {
        "desiredNumberScheduled" => |d| json!(count(&d["status"]["desiredNumberScheduled"])),
        "currentNumberScheduled" => |d| json!(count(&d["status"]["currentNumberScheduled"])),
        "numberReady" => |d| json!(count(&d["status"]["numberReady"])),
        "updatedNumberScheduled" => |d| json!(count(&d["status"]["updatedNumberScheduled"])),
        _ => |d| json!(count(&d["status"]["numberAvailable"])),
    }
}

/// `a=b,c=d` (sorted by key, as Go prints a map), or `<none>`.
fn map_text(map: &Value) -> String {
    match map.as_object() {
        Some(m) if !m.is_empty() => {
            let mut pairs: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            pairs.sort();
            pairs.join(",")
        }
        _ => "<none>".to_owned(),
    }
}

/// A label selector as `metav1.FormatLabelSelector` prints it.
fn selector_text(selector: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(m) = selector["matchLabels"].as_object() {
        let mut pairs: Vec<String> = m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        pairs.sort();
        parts.extend(pairs);
    }
    for e in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other}"),
        });
    }
    if parts.is_empty() {
        "<none>".to_owned()
    } else {
        parts.join(",")
    }
}

fn template_containers(o: &Value) -> impl Iterator<Item = &Value> {
    o["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
}

fn container_names(o: &Value) -> Value {
    let names: Vec<&str> = template_containers(o)
        .filter_map(|c| c["name"].as_str())
        .collect();
    json!(names.join(","))
}

fn container_images(o: &Value) -> Value {
    let images: Vec<&str> = template_containers(o)
        .filter_map(|c| c["image"].as_str())
        .collect();
    json!(images.join(","))
}

fn has_condition(o: &Value, kind: &str) -> bool {
    o["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == kind && c["status"] == "True")
}

fn job_status(j: &Value) -> Value {
    json!(if has_condition(j, "Complete") {
        "Complete"
    } else if has_condition(j, "Failed") {
        "Failed"
    } else if !j["metadata"]["deletionTimestamp"].is_null() {
        "Terminating"
    } else if j["spec"]["suspend"] == true {
        "Suspended"
    } else {
        "Running"
    })
}

fn job_duration(j: &Value) -> Value {
    let at = |f: &str| {
        j["status"][f]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    };
    match at("startTime") {
        None => json!(""),
        Some(start) => {
            let end = at("completionTime").unwrap_or_else(jiff::Timestamp::now);
            json!(human_age(end.as_second() - start.as_second()))
        }
    }
}

/// The columns a CRD version declares, after `Name` (and `Age` unless it
/// declares one itself, as the real server does).
fn crd_columns(printer_columns: &[Value]) -> Vec<Column> {
    let mut cols = vec![col("Name", "string", 0, Cell::Name)];
    let mut has_age = false;
    for c in printer_columns {
        let name = c["name"].as_str().unwrap_or_default().to_owned();
        let path = c["jsonPath"].as_str().unwrap_or_default().to_owned();
        has_age |= path == ".metadata.creationTimestamp";
        let kind = match c["type"].as_str() {
            Some("integer") => "integer",
            Some("number") => "number",
            Some("boolean") => "boolean",
            Some("date") => "date",
            _ => "string",
        };
        cols.push(Column {
            name,
            kind,
            format: "",
            priority: c["priority"].as_i64().unwrap_or(0),
            description: c["description"].as_str().unwrap_or_default().to_owned(),
            cell: Cell::Path(path, kind.to_owned()),
        });
    }
    if !has_age {
        cols.push(col("Age", "date", 0, Cell::Age));
    }
    cols
}

/// Evaluates a simple JSON path (`.spec.size`, `.status.conditions[0].type`,
/// `.metadata.labels.app`).
pub(crate) fn json_path<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}');
    let mut cur = object;
    for seg in path
        .trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
    {
        let (name, indexes) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        for idx in indexes.split('[').filter(|s| !s.is_empty()) {
            let idx: usize = idx.trim_end_matches(']').parse().ok()?;
            cur = cur.get(idx)?;
        }
    }
    Some(cur)
}

/// A human age as `kubectl` shows it: `45s`, `5m12s`, `3h`, `2d4h`.
pub(crate) fn human_age(seconds: i64) -> String {
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    match s {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 => format!("{m}m{}s", s % 60),
        _ if h < 3 => format!("{m}m"),
        _ if h < 8 && m % 60 != 0 => format!("{h}h{}m", m % 60),
        _ if h < 8 => format!("{h}h"),
        _ if h < 48 => format!("{h}h"),
        _ if d < 8 && h % 24 != 0 => format!("{d}d{}h", h % 24),
        _ => format!("{d}d"),
    }
}

fn age(object: &Value) -> Value {
    let created = object["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    match created {
        Some(t) => json!(human_age(
            jiff::Timestamp::now().as_second() - t.as_second()
        )),
        None => json!("<unknown>"),
    }
}

fn cell(c: &Column, object: &Value) -> Value {
    match &c.cell {
        Cell::Name => object["metadata"]["name"].clone(),
        Cell::Age => age(object),
        Cell::Builtin(f) => f(object),
        Cell::Path(path, kind) => match json_path(object, path) {
            None | Some(Value::Null) => Value::Null,
            Some(v) if kind == "date" => {
                match v.as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()) {
                    Some(t) => json!(human_age(
                        jiff::Timestamp::now().as_second() - t.as_second()
                    )),
                    None => v.clone(),
                }
            }
            Some(Value::String(s)) => json!(s),
            Some(v) if kind == "string" => json!(v.to_string()),
            Some(v) => v.clone(),
        },
    }
}

/// The `Table` for `objects` of `kind`; `printer_columns` are a CRD
/// version's `additionalPrinterColumns` (None for built-ins).
pub(crate) fn table(
    kind: &str,
    printer_columns: Option<&[Value]>,
    objects: &[Value],
    include: Include,
    list_metadata: Value,
) -> Value {
    let cols = match printer_columns {
        Some(p) => crd_columns(p),
        None => columns(kind),
    };
    let definitions: Vec<Value> = cols
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.kind,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            })
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let cells: Vec<Value> = cols.iter().map(|c| cell(c, o)).collect();
            let mut row = json!({"cells": cells});
            match include {
                Include::None => {}
                Include::Object => row["object"] = o.clone(),
                Include::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": o["metadata"],
                    });
                }
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_columns_and_cells() {
        let d = json!({"metadata": {"name": "web", "creationTimestamp": "2020-01-01T00:00:00Z"},
            "spec": {"replicas": 3}, "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
        let t = table("Deployment", None, &[d], Include::Metadata, json!({}));
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .expect("columns")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(
            names,
            [
                "Name",
                "Ready",
                "Up-to-date",
                "Available",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ]
        );
        assert_eq!(
            t["rows"][0]["cells"].as_array().expect("cells")[..4],
            [json!("web"), json!("2/3"), json!(3), json!(2)]
        );
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }

    #[test]
    fn crd_printer_columns_use_json_paths() {
        let cols = [
            json!({"name": "Size", "type": "string", "jsonPath": ".spec.size"}),
            json!({"name": "First", "type": "string", "jsonPath": ".status.conditions[0].type"}),
        ];
        let w = json!({"metadata": {"name": "w1"}, "spec": {"size": "big"}, "status": {"conditions": [{"type": "Ready"}]}});
        let t = table("Widget", Some(&cols), &[w], Include::None, json!({}));
        assert_eq!(
            t["rows"][0]["cells"].as_array().expect("cells")[..3],
            [json!("w1"), json!("big"), json!("Ready")]
        );
        assert_eq!(t["columnDefinitions"][3]["name"], "Age");
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human_age(45), "45s");
        assert_eq!(human_age(5 * 60 + 12), "5m12s");
        assert_eq!(human_age(3 * 3600), "3h");
        assert_eq!(human_age(52 * 3600), "2d4h");
    }
}
