//! A serde `Deserializer` over [`Node`] trees that reports the line, column and field
//! path of the first value that does not fit the target type.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use crate::path::FieldPath;
use crate::yaml::{Mark, Node, NodeKind, ScalarValue};

/// A value that does not fit its type, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeError {
    /// Where the offending value starts.
    pub mark: Mark,
    /// The path of the offending field.
    pub path: FieldPath,
    /// What is wrong (`expected a boolean, found "yes"`).
    pub message: String,
}

impl fmt::Display for TypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.mark, self.path, self.message)
    }
}

/// Deserializes `T` from `node`, whose path in its document is `path`.
pub fn from_node<'de, T: de::Deserialize<'de>>(
    node: &'de Node,
    path: FieldPath,
) -> Result<T, TypeError> {
    T::deserialize(NodeDeserializer { node, path }).map_err(|e| {
        let (mark, path) = e.location.unwrap_or((node.mark, FieldPath::root()));
        TypeError {
            mark,
            path,
            message: e.message,
        }
    })
}

/// The serde error of [`NodeDeserializer`]; located on its way up.
#[derive(Debug)]
pub(crate) struct Error {
    location: Option<(Mark, FieldPath)>,
    /// Set by `missing_field`: the path names the field, not the mapping holding it.
    missing: Option<&'static str>,
    message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl Error {
    fn at(mut self, node: &Node, path: &FieldPath) -> Self {
        if self.location.is_none() {
            let path = match self.missing {
                Some(field) => path.key(field),
                None => path.clone(),
            };
            self.location = Some((node.mark, path));
        }
        self
    }
}

fn describe_expected(exp: &dyn de::Expected) -> String {
    let text = exp.to_string();
    match text.as_str() {
        "i8" | "i16" | "i32" | "i64" | "i128" | "u8" | "u16" | "u32" | "u64" | "u128" | "isize"
        | "usize" => "an integer".into(),
        "f32" | "f64" => "a number".into(),
        "a map" => "a mapping".into(),
        "a string" | "a boolean" | "a sequence" => text,
        s if s.starts_with("struct ") => "a mapping".into(),
        s if s.starts_with("tuple struct ") || s.starts_with("a sequence") => "a sequence".into(),
        s if s.starts_with("enum ") => "one of its allowed values".into(),
        "any valid JSON value" => "a value".into(),
        _ => text,
    }
}

fn describe_unexpected(unexp: de::Unexpected<'_>) -> String {
    use de::Unexpected as U;
    match unexp {
        U::Bool(b) => b.to_string(),
        U::Unsigned(n) => n.to_string(),
        U::Signed(n) => n.to_string(),
        U::Float(n) => n.to_string(),
        U::Char(c) => format!("{:?}", c.to_string()),
        U::Str(s) => serde_json::Value::String(s.to_owned()).to_string(),
        U::Unit | U::Option => "null".into(),
        U::Map => "a mapping".into(),
        U::Seq => "a sequence".into(),
        other => other.to_string(),
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            location: None,
            missing: None,
            message: msg.to_string(),
        }
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!(
            "expected {}, found {}",
            describe_expected(exp),
            describe_unexpected(unexp)
        ))
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!(
            "invalid value {}, expected {}",
            describe_unexpected(unexp),
            exp
        ))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let allowed: Vec<String> = expected.iter().map(|v| format!("`{v}`")).collect();
        Self::custom(format_args!(
            "unknown value `{variant}`, expected one of {}",
            allowed.join(", ")
        ))
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        Self::custom(format_args!("unknown field `{field}`"))
    }

    fn missing_field(field: &'static str) -> Self {
        Error {
            location: None,
            missing: Some(field),
            message: "required field is missing".into(),
        }
    }
}

struct NodeDeserializer<'de> {
    node: &'de Node,
    path: FieldPath,
}

impl<'de> NodeDeserializer<'de> {
    fn scalar<V: Visitor<'de>>(
        &self,
        value: ScalarValue<'de>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match value {
            ScalarValue::Null => visitor.visit_unit(),
            ScalarValue::Bool(b) => visitor.visit_bool(b),
            ScalarValue::Int(n) => visitor.visit_i64(n),
            ScalarValue::Float(n) => visitor.visit_f64(n),
            ScalarValue::Str(s) => visitor.visit_borrowed_str(s),
        }
    }
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let result = match &self.node.kind {
            NodeKind::Scalar(s) => self.scalar(s.resolve(), visitor),
            NodeKind::Sequence(items) => visitor.visit_seq(SeqAccess {
                items: items.iter(),
                index: 0,
                path: &self.path,
            }),
            NodeKind::Mapping(entries) => visitor.visit_map(MapAccess {
                entries: entries.iter(),
                value: None,
                path: &self.path,
            }),
        };
        result.map_err(|e| e.at(self.node, &self.path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.node.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let node = self.node;
        let result = match &node.kind {
            NodeKind::Scalar(s) => match s.resolve() {
                ScalarValue::Str(text) => {
                    visitor.visit_enum(IntoDeserializer::<Error>::into_deserializer(text))
                }
                other => Err(de::Error::invalid_type(unexpected(&other), &"a string")),
            },
            NodeKind::Mapping(entries) if entries.len() == 1 => visitor.visit_enum(EnumAccess {
                key: &entries[0].0,
                value: &entries[0].1,
                path: &self.path,
            }),
            _ => Err(de::Error::invalid_type(
                de::Unexpected::Other(kind_name(node)),
                &"a string or a mapping with one key",
            )),
        };
        result.map_err(|e| e.at(node, &self.path))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

fn unexpected<'a>(value: &'a ScalarValue<'a>) -> de::Unexpected<'a> {
    match value {
        ScalarValue::Null => de::Unexpected::Unit,
        ScalarValue::Bool(b) => de::Unexpected::Bool(*b),
        ScalarValue::Int(n) => de::Unexpected::Signed(*n),
        ScalarValue::Float(n) => de::Unexpected::Float(*n),
        ScalarValue::Str(s) => de::Unexpected::Str(s),
    }
}

fn kind_name(node: &Node) -> &'static str {
    match node.kind {
        NodeKind::Scalar(_) => "a scalar",
        NodeKind::Sequence(_) => "a sequence",
        NodeKind::Mapping(_) => "a mapping",
    }
}

struct SeqAccess<'de, 'p> {
    items: std::slice::Iter<'de, Node>,
    index: usize,
    path: &'p FieldPath,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'de, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some(node) = self.items.next() else {
            return Ok(None);
        };
        let path = self.path.index(self.index);
        self.index += 1;
        seed.deserialize(NodeDeserializer {
            node,
            path: path.clone(),
        })
        .map(Some)
        .map_err(|e| e.at(node, &path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapAccess<'de, 'p> {
    entries: std::slice::Iter<'de, (Node, Node)>,
    value: Option<(&'de Node, FieldPath)>,
    path: &'p FieldPath,
}

impl<'de> de::MapAccess<'de> for MapAccess<'de, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let text = key.as_key().unwrap_or_default().to_owned();
        let path = self.path.key(text);
        let result = seed
            .deserialize(KeyDeserializer { node: key })
            .map(Some)
            .map_err(|e| e.at(key, &path));
        self.value = Some((value, path));
        result
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (node, path) = self
            .value
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("a value was read before its key"))?;
        seed.deserialize(NodeDeserializer {
            node,
            path: path.clone(),
        })
        .map_err(|e| e.at(node, &path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// Mapping keys are strings, whatever they look like (`1: a` has the key `"1"`), as in
/// Kubernetes' YAML-to-JSON conversion (the reader has already made them so).
struct KeyDeserializer<'de> {
    node: &'de Node,
}

impl<'de> de::Deserializer<'de> for KeyDeserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            NodeKind::Scalar(s) => visitor.visit_borrowed_str(&s.text),
            _ => Err(de::Error::custom("mapping keys must be scalars")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct EnumAccess<'de, 'p> {
    key: &'de Node,
    value: &'de Node,
    path: &'p FieldPath,
}

impl<'de, 'p> de::EnumAccess<'de> for EnumAccess<'de, 'p> {
    type Error = Error;
    type Variant = NodeDeserializer<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), Error> {
        let variant = seed.deserialize(KeyDeserializer { node: self.key })?;
        let name = self.key.as_key().unwrap_or_default().to_owned();
        Ok((
            variant,
            NodeDeserializer {
                node: self.value,
                path: self.path.key(name),
            },
        ))
    }
}

impl<'de> de::VariantAccess<'de> for NodeDeserializer<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // read only by the deserializer under test
    struct Automated {
        prune: Option<bool>,
        #[serde(flatten)]
        _extra: serde_json::Map<String, serde_json::Value>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // read only by the deserializer under test
    struct Policy {
        automated: Automated,
        retries: Vec<u32>,
        #[serde(flatten)]
        _extra: serde_json::Map<String, serde_json::Value>,
    }

    fn err(text: &str) -> String {
        let docs = crate::yaml::parse_documents(text);
        let doc = docs[0].as_ref().expect("valid YAML");
        from_node::<Policy>(&doc.root, FieldPath::root().key("spec"))
            .expect_err("type error")
            .to_string()
    }

    #[test]
    fn wrong_type_names_line_column_and_path() {
        assert_eq!(
            err("retries: []\nautomated:\n  prune: maybe\n"),
            r#"3:10: spec.automated.prune: expected a boolean, found "maybe""#
        );
        assert_eq!(
            err("automated: {}\nretries: [1, -2]\n"),
            "2:14: spec.retries[1]: invalid value -2, expected u32"
        );
    }

    #[test]
    fn missing_field_names_the_field() {
        assert_eq!(
            err("retries: []\n"),
            "1:1: spec.automated: required field is missing"
        );
    }

    #[test]
    fn values_convert_to_json() {
        let docs = crate::yaml::parse_documents("a: [1, 1.5, true, null, x, '1']\nb: {c: d}\n");
        let doc = docs[0].as_ref().expect("valid");
        let value: serde_json::Value = from_node(&doc.root, FieldPath::root()).expect("json");
        assert_eq!(
            value,
            serde_json::json!({"a": [1, 1.5, true, null, "x", "1"], "b": {"c": "d"}})
        );
    }
}
