//! Scalars mean what they mean to `kubectl`: every spelling of the table is read by the
//! entity model's loader and by the real `kubectl`, as a value and as a mapping key, and
//! both must agree (the same JSON, or both refusing it).
//!
//! `kubectl annotate --local -f FILE -o json` is the oracle: it reads files through the
//! same resource builder as `kubectl create --dry-run=client -o json -f FILE`
//! (`sigs.k8s.io/yaml`, then JSON into an unstructured object) without needing an API
//! server for discovery.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use windlass_entity_model::load::load_str;

/// Spellings of YAML scalars whose meaning differs between readers: YAML 1.1 booleans and
/// nulls in every case, octal, hex and binary integers, signs and `_` separators, integers
/// beyond 64 bits, floats in every shape, infinities and NaN, timestamps and base 60,
/// quoted forms and tags.
const SPELLINGS: &[&str] = &[
    // Octal, hex, binary, decimal.
    "0644",
    "0o644",
    "0O17",
    "00",
    "09",
    "0_7",
    "08.5",
    "0x1F",
    "0X1f",
    "-0x1F",
    "+0x10",
    "0x_1F",
    "0x",
    "0b101",
    "-0b11",
    "0B11",
    "0b2",
    "12",
    "+12",
    "-12",
    "1_000",
    "1__0",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    // Floats.
    "1.5",
    "1e3",
    "1E3",
    "1e+3",
    "1.0",
    "1.",
    ".5",
    "+.5",
    "-.5e-3",
    "1.e2",
    "0.1e1",
    "1e21",
    "1e-7",
    "1e400",
    "4611686018427387904.0",
    "1e-400",
    "-0.0",
    "1_0.5",
    ".5_0",
    "._5",
    "3.14159265358979323846",
    "6.02e23",
    "0x1p3",
    ".inf",
    "-.Inf",
    "+.INF",
    ".nan",
    ".NaN",
    "-.nan",
    "inf",
    "nan",
    ".iNf",
    // Booleans.
    "y",
    "Y",
    "yes",
    "Yes",
    "YES",
    "yEs",
    "n",
    "N",
    "no",
    "No",
    "NO",
    "true",
    "True",
    "TRUE",
    "tRue",
    "false",
    "FALSE",
    "on",
    "On",
    "ON",
    "oN",
    "off",
    "Off",
    "OFF",
    // Nulls.
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "",
    // Timestamps, base 60, look-alikes.
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10",
    "2001-1-2",
    "190:20:30",
    "1:20",
    "123abc",
    "v1.10",
    "10s",
    "<<",
    // Quoted.
    "'0644'",
    "\"yes\"",
    "'null'",
    "\"1e3\"",
    "'~'",
    "''",
    // Tags.
    "!!str 0644",
    "!!int \"0644\"",
    "!!float 1",
    "!!bool \"yes\"",
    "!!null ~",
    "!!int yes",
    "!!null x",
    "!!float .inf",
    "!!binary aGVsbG8=",
    "!custom 12",
    "! 12",
];

fn kubectl() -> &'static str {
    let ok = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "kubectl is needed as the oracle of this test: install it (e.g. `apt-get install -y \
         kubectl` from the Kubernetes apt repository, or the binary from dl.k8s.io)"
    );
    "kubectl"
}

/// The document whose `spec` holds `spec` (YAML text of a mapping body, indented by 2).
fn document(spec: &str) -> String {
    format!(
        "apiVersion: windlass.dev/v1\nkind: ScalarCheck\nmetadata:\n  name: scalars\nspec:\n{spec}"
    )
}

fn value_document(spelling: &str) -> String {
    document(&format!("  value: {spelling}\n"))
}

fn key_document(spelling: &str) -> String {
    document(&format!("  {spelling}: k\n"))
}

/// What `kubectl` reads from `text`: each document's `spec`, or its error.
fn kubectl_specs(dir: &Path, text: &str) -> Result<Vec<Value>, String> {
    let file = dir.join("scalars.yaml");
    std::fs::write(&file, text).expect("write the manifest");
    let out = Command::new(kubectl())
        .args([
            "annotate",
            "--local",
            "-o",
            "json",
            "windlass.dev/oracle=1",
            "-f",
        ])
        .arg(&file)
        .output()
        .expect("run kubectl");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    let stdout = String::from_utf8(out.stdout).expect("kubectl prints UTF-8");
    Ok(serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .map(|object| as_kubectl_holds(object.expect("kubectl prints JSON")["spec"].clone()))
        .collect())
}

/// A value as `kubectl` holds it after reading JSON: integers within `int64`, every other
/// number a float (kubectl prints `2^63` as `9223372036854776000`, a float64).
fn as_kubectl_holds(value: Value) -> Value {
    match value {
        Value::Number(n) if n.as_i64().is_none() => n.as_f64().map_or(Value::Null, Value::from),
        Value::Array(items) => Value::Array(items.into_iter().map(as_kubectl_holds).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, as_kubectl_holds(v)))
                .collect(),
        ),
        other => other,
    }
}

/// What the entity model's loader reads from one document: its `spec`, or its error.
fn our_spec(text: &str) -> Result<Value, String> {
    let loaded = load_str(text, Path::new("scalars.yaml"));
    if let Some(error) = loaded.errors.first() {
        return Err(error.to_string());
    }
    Ok(loaded.manifests[0].entity.to_value()["spec"].clone())
}

fn show(result: &Result<Value, String>) -> String {
    match result {
        Ok(spec) => spec.to_string(),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn scalars_and_keys_read_as_kubectl_reads_them() {
    assert!(SPELLINGS.len() >= 40);
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut documents = Vec::new();
    for spelling in SPELLINGS {
        documents.push(value_document(spelling));
        if !spelling.is_empty() {
            documents.push(key_document(spelling));
        }
    }
    let ours: Vec<Result<Value, String>> = documents.iter().map(|d| our_spec(d)).collect();

    // The documents we read go to kubectl together; those we refuse one by one.
    let accepted: Vec<&str> = documents
        .iter()
        .zip(&ours)
        .filter(|(_, o)| o.is_ok())
        .map(|(d, _)| d.as_str())
        .collect();
    let theirs_accepted = kubectl_specs(dir.path(), &accepted.join("---\n"));
    let mut theirs_accepted = match theirs_accepted {
        Ok(specs) => specs.into_iter(),
        // kubectl refused one of them: find which, for a precise failure below.
        Err(_) => accepted
            .iter()
            .map(|d| kubectl_specs(dir.path(), d).map_or(Value::Null, |mut s| s.remove(0)))
            .collect::<Vec<_>>()
            .into_iter(),
    };

    let mut mismatches = Vec::new();
    let mut table = String::new();
    for (document, ours) in documents.iter().zip(&ours) {
        let theirs: Result<Value, String> = match ours {
            Ok(_) => Ok(theirs_accepted
                .next()
                .expect("one spec per accepted document")),
            Err(_) => kubectl_specs(dir.path(), document).map(|mut s| s.remove(0)),
        };
        let agree = match (ours, &theirs) {
            (Ok(a), Ok(b)) => a == b,
            (Err(_), Err(_)) => true,
            _ => false,
        };
        let spec_text = document.split("spec:\n").nth(1).unwrap_or_default().trim();
        if !agree {
            mismatches.push(format!(
                "{spec_text}\n    windlass: {}\n    kubectl:  {}",
                show(ours),
                show(&theirs)
            ));
        }
        table.push_str(&format!("{spec_text:<40} {}\n", show(ours)));
    }
    assert!(
        mismatches.is_empty(),
        "{} spellings read differently from kubectl:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    insta::assert_snapshot!(table);
}
