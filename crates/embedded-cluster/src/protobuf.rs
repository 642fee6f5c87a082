//! Decoding of Kubernetes protobuf request bodies into JSON.
//!
//! `kubectl` 1.32 sends built-in kinds as protobuf from its typed clients
//! (`kubectl create namespace`, `create configmap`, ...) and does not fall
//! back to JSON, so the server must read it. Responses stay JSON: kubectl
//! accepts `application/json` too. The message table in `schema` is generated
//! from Kubernetes' `generated.proto` and `types.go` files by
//! `scripts/gen-protobuf-schema.py`; a field number missing from it fails the
//! request instead of being dropped, and a zero value is kept where the Go
//! field is a pointer (proto2 `optional`: present means set).

#[rustfmt::skip]
mod schema;

use base64::Engine;
use serde_json::{Map, Value, json};

/// The prefix of every Kubernetes protobuf body.
const MAGIC: &[u8] = b"k8s\0";

/// The type of a field's value.
#[derive(Debug)]
pub(crate) enum Ty {
    Str,
    Bytes,
    Bool,
    Int,
    Msg(&'static str),
    /// `map<string, V>`.
    Map(&'static Ty),
}

/// One field of a message.
#[derive(Debug)]
pub(crate) struct Field {
    pub number: u32,
    pub name: &'static str,
    pub ty: Ty,
    pub repeated: bool,
    /// A zero value on the wire was set on purpose: the Go field is a pointer
    /// (`backoffLimit: 0`, `emptyDir: {}`) or one JSON never omits. Other
    /// zeros are Go's defaults, which JSON leaves out.
    pub keep_zero: bool,
    /// JSON inlines the message's fields into the parent (Go's
    /// `json:",inline"`: `volumeSource`, a probe's `handler`).
    pub inline: bool,
}

/// A field's raw value on the wire.
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed(u64),
}

fn varint(buf: &mut &[u8]) -> Result<u64, String> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = buf.split_first().ok_or("truncated varint")?;
        *buf = rest;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err("varint too long".into())
}

fn fields(mut buf: &[u8]) -> Result<Vec<(u32, Wire<'_>)>, String> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let tag = varint(&mut buf)?;
        let number = u32::try_from(tag >> 3).map_err(|_| "field number too large")?;
        let wire = match tag & 7 {
            0 => Wire::Varint(varint(&mut buf)?),
            1 | 5 => {
                let n = if tag & 7 == 1 { 8 } else { 4 };
                if buf.len() < n {
                    return Err("truncated fixed-width field".into());
                }
                let mut v = 0u64;
                for (i, b) in buf[..n].iter().enumerate() {
                    v |= u64::from(*b) << (8 * i);
                }
                buf = &buf[n..];
                Wire::Fixed(v)
            }
            2 => {
                let len = usize::try_from(varint(&mut buf)?).map_err(|_| "length too large")?;
                if buf.len() < len {
                    return Err("truncated length-delimited field".into());
                }
                let (v, rest) = buf.split_at(len);
                buf = rest;
                Wire::Bytes(v)
            }
            other => return Err(format!("unsupported wire type {other}")),
        };
        out.push((number, wire));
    }
    Ok(out)
}

fn bytes<'a>(w: &Wire<'a>, what: &str) -> Result<&'a [u8], String> {
    match w {
        Wire::Bytes(b) => Ok(b),
        _ => Err(format!("{what}: expected a length-delimited value")),
    }
}

fn string(w: &Wire<'_>, what: &str) -> Result<String, String> {
    String::from_utf8(bytes(w, what)?.to_vec()).map_err(|_| format!("{what}: not UTF-8"))
}

fn int(w: &Wire<'_>, what: &str) -> Result<i64, String> {
    match w {
        // Two's complement: int32 and int64 negatives are 10-byte varints.
        Wire::Varint(v) | Wire::Fixed(v) => Ok(*v as i64),
        Wire::Bytes(_) => Err(format!("{what}: expected an integer")),
    }
}

fn lookup(name: &str) -> Option<&'static [Field]> {
    schema::MESSAGES
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| schema::MESSAGES[i].1)
}

/// Hand-decoded apimachinery types whose JSON form is not an object.
fn special(name: &str, buf: &[u8]) -> Result<Option<Value>, String> {
    let short = name.rsplit('.').next().unwrap_or_default();
    let get = |n: u32| -> Result<Option<Wire<'_>>, String> {
        Ok(fields(buf)?
            .into_iter()
            .rev()
            .find(|(k, _)| *k == n)
            .map(|(_, w)| w))
    };
    let v = match name {
        "k8s.io.apimachinery.pkg.apis.meta.v1.Time"
        | "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime" => {
            let seconds = get(1)?.map(|w| int(&w, short)).transpose()?.unwrap_or(0);
            let nanos = get(2)?.map(|w| int(&w, short)).transpose()?.unwrap_or(0);
            if seconds == 0 && nanos == 0 {
                Value::Null
            } else {
                let ts = jiff::Timestamp::new(seconds, i32::try_from(nanos).unwrap_or(0))
                    .map_err(|e| format!("{short}: {e}"))?;
                let format = if short == "MicroTime" {
                    "%Y-%m-%dT%H:%M:%S%.6fZ"
                } else {
                    "%Y-%m-%dT%H:%M:%SZ"
                };
                json!(ts.strftime(format).to_string())
            }
        }
        "k8s.io.apimachinery.pkg.apis.meta.v1.Duration" => {
            let ns = get(1)?.map(|w| int(&w, short)).transpose()?.unwrap_or(0);
            json!(format!("{}s", ns as f64 / 1e9))
        }
        "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1"
        | "k8s.io.apimachinery.pkg.runtime.RawExtension" => match get(1)? {
            Some(w) => {
                serde_json::from_slice(bytes(&w, short)?).map_err(|e| format!("{short}: {e}"))?
            }
            None => Value::Null,
        },
        "k8s.io.apimachinery.pkg.util.intstr.IntOrString" => {
            let ty = get(1)?.map(|w| int(&w, short)).transpose()?.unwrap_or(0);
            if ty == 1 {
                json!(
                    get(3)?
                        .map(|w| string(&w, short))
                        .transpose()?
                        .unwrap_or_default()
                )
            } else {
                json!(get(2)?.map(|w| int(&w, short)).transpose()?.unwrap_or(0))
            }
        }
        "k8s.io.apimachinery.pkg.api.resource.Quantity" => {
            json!(
                get(1)?
                    .map(|w| string(&w, short))
                    .transpose()?
                    .unwrap_or_default()
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

fn value(ty: &Ty, w: &Wire<'_>, what: &str) -> Result<Value, String> {
    Ok(match ty {
        Ty::Str => json!(string(w, what)?),
        Ty::Bytes => json!(base64::engine::general_purpose::STANDARD.encode(bytes(w, what)?)),
        Ty::Bool => json!(int(w, what)? != 0),
        Ty::Int => json!(int(w, what)?),
        Ty::Msg(name) => message(bytes(w, what)?, name)?,
        Ty::Map(_) => return Err(format!("{what}: nested map")),
    })
}

/// Whether Go's JSON encoding would leave this value out.
fn is_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
    }
}

fn message(buf: &[u8], name: &str) -> Result<Value, String> {
    if let Some(v) = special(name, buf)? {
        return Ok(v);
    }
    let schema = lookup(name).ok_or_else(|| format!("unsupported message type {name}"))?;
    let short = name.rsplit('.').next().unwrap_or_default();
    let mut out = Map::new();
    for (number, wire) in fields(buf)? {
        let field = schema
            .iter()
            .find(|f| f.number == number)
            .ok_or_else(|| format!("{short}: unknown field number {number}"))?;
        let what = format!("{short}.{}", field.name);
        if let Ty::Map(value_ty) = &field.ty {
            let entry = fields(bytes(&wire, &what)?)?;
            let mut key = String::new();
            let mut val = Value::Null;
            for (n, w) in &entry {
                match n {
                    1 => key = string(w, &what)?,
                    2 => val = value(value_ty, w, &what)?,
                    _ => return Err(format!("{what}: bad map entry")),
                }
            }
            if val.is_null() {
                val = match value_ty {
                    Ty::Str | Ty::Bytes => json!(""),
                    _ => Value::Null,
                };
            }
            let map = out.entry(field.name).or_insert_with(|| json!({}));
            if let Some(m) = map.as_object_mut() {
                m.insert(key, val);
            }
            continue;
        }
        if field.repeated {
            let list = out.entry(field.name).or_insert_with(|| json!([]));
            let items = list
                .as_array_mut()
                .ok_or_else(|| format!("{what}: not a list"))?;
            match (&field.ty, &wire) {
                // Packed repeated integers.
                (Ty::Int | Ty::Bool, Wire::Bytes(b)) => {
                    let mut b: &[u8] = b;
                    while !b.is_empty() {
                        items.push(json!(varint(&mut b)? as i64));
                    }
                }
                _ => items.push(value(&field.ty, &wire, &what)?),
            }
            continue;
        }
        let v = value(&field.ty, &wire, &what)?;
        if field.inline {
            if let Value::Object(fields) = v {
                out.extend(fields);
            }
            continue;
        }
        if v.is_null() || (is_default(&v) && !field.keep_zero) {
            out.remove(field.name);
            continue;
        }
        out.insert(field.name.to_owned(), v);
    }
    Ok(Value::Object(out))
}

/// The protobuf package of an `apiVersion` served here.
fn package(api_version: &str) -> Option<&'static str> {
    Some(match api_version {
        "v1" => "k8s.io.api.core.v1",
        "apps/v1" => "k8s.io.api.apps.v1",
        "batch/v1" => "k8s.io.api.batch.v1",
        "rbac.authorization.k8s.io/v1" => "k8s.io.api.rbac.v1",
        "networking.k8s.io/v1" => "k8s.io.api.networking.v1",
        "coordination.k8s.io/v1" => "k8s.io.api.coordination.v1",
        _ => return None,
    })
}

/// Decodes a `application/vnd.kubernetes.protobuf` body to the object's JSON.
pub(crate) fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or("not a Kubernetes protobuf body (missing the k8s\\0 prefix)")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), None);
    for (n, w) in fields(rest)? {
        match n {
            1 => {
                for (m, tw) in fields(bytes(&w, "typeMeta")?)? {
                    match m {
                        1 => api_version = string(&tw, "apiVersion")?,
                        2 => kind = string(&tw, "kind")?,
                        _ => {}
                    }
                }
            }
            2 => raw = Some(bytes(&w, "raw")?),
            3 if !bytes(&w, "contentEncoding")?.is_empty() => {
                return Err("content encodings are not supported".into());
            }
            _ => {}
        }
    }
    let pkg = package(&api_version)
        .ok_or_else(|| format!("protobuf is not supported for {api_version:?}; send JSON"))?;
    let mut object = message(raw.unwrap_or_default(), &format!("{pkg}.{kind}"))?;
    if let Some(m) = object.as_object_mut() {
        m.insert("apiVersion".into(), json!(api_version));
        m.insert("kind".into(), json!(kind));
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_sorted_for_binary_search() {
        assert!(schema::MESSAGES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(lookup("k8s.io.api.core.v1.Namespace").is_some());
    }

    #[test]
    fn decodes_what_kubectl_create_namespace_sends() {
        // Captured from `kubectl create namespace ns3 -v=9` (kubectl 1.32).
        let body: &[u8] = b"k8s\x00\x0a\x0f\x0a\x02v1\x12\x09Namespace\x12\x1b\x0a\x13\x0a\x03ns3\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x008\x00B\x00\x12\x00\x1a\x02\x0a\x00\x1a\x00\x22\x00";
        let v = decode(body).expect("decodes");
        assert_eq!(
            v,
            json!({"metadata": {"name": "ns3"}, "apiVersion": "v1", "kind": "Namespace"})
        );
    }
}
