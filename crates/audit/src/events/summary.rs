//! Reading manifests out of blobs and comparing two versions of a file, entity by
//! entity and field by field.

use std::hash::{Hash, Hasher};

use windlass_entity_model::yaml::{Node, NodeKind, ScalarValue, parse_documents};

use super::{Action, EntityChange, FileNote};

/// Whether a path can hold manifests (`.yaml`, `.yml` or `.json`).
pub(crate) fn is_manifest_path(path: &str) -> bool {
    let lower = path.rsplit('/').next().unwrap_or(path);
    [".yaml", ".yml", ".json"]
        .iter()
        .any(|ext| lower.len() > ext.len() && lower.to_ascii_lowercase().ends_with(ext))
}

/// One entity of a file: its identity and a digest of each summarized field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Doc {
    api_version: String,
    kind: String,
    name: String,
    namespace: Option<String>,
    /// Summarized fields (see [`EntityChange::fields`]) and the digest of each value.
    fields: Vec<(String, u64)>,
}

impl Doc {
    fn same_entity(&self, other: &Doc) -> bool {
        self.kind == other.kind && self.name == other.name && self.namespace == other.namespace
    }
}

/// What a blob holds: its entities, and the first error met reading it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ParsedFile {
    docs: Vec<Doc>,
    error: Option<String>,
}

/// Reads the entities of one file's content. Documents without a `kind` are not
/// entities; a document that does not parse is skipped and its error kept.
pub(crate) fn parse_file(data: &[u8]) -> ParsedFile {
    let text = match std::str::from_utf8(data) {
        Ok(text) => text,
        Err(e) => {
            return ParsedFile {
                docs: Vec::new(),
                error: Some(format!("not UTF-8 text: {e}")),
            };
        }
    };
    let mut parsed = ParsedFile::default();
    for document in parse_documents(text) {
        match document {
            Ok(document) => {
                if let Some(doc) = read_doc(&document.root) {
                    parsed.docs.push(doc);
                }
            }
            Err(e) => {
                parsed.error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    parsed
}

fn read_doc(root: &Node) -> Option<Doc> {
    let NodeKind::Mapping(entries) = &root.kind else {
        return None;
    };
    let kind = root.get("kind")?.as_scalar()?.text.clone();
    if kind.is_empty() {
        return None;
    }
    let text = |node: Option<&Node>| node.and_then(Node::as_scalar).map(|s| s.text.clone());
    let metadata = root.get("metadata");
    let mut fields = Vec::new();
    match root.get("spec") {
        Some(spec) => fields_of(spec, "", &mut fields),
        None => {
            for (key, value) in entries {
                let key = key.as_key().unwrap_or_default();
                if !matches!(key, "apiVersion" | "kind" | "metadata" | "status") {
                    fields.push((key.to_owned(), digest(value)));
                }
            }
        }
    }
    if let Some(metadata) = metadata {
        fields_of(metadata, "metadata.", &mut fields);
        fields.retain(|(k, _)| !matches!(k.as_str(), "metadata.name" | "metadata.namespace"));
    }
    fields.sort();
    Some(Doc {
        api_version: text(root.get("apiVersion")).unwrap_or_default(),
        kind,
        name: text(metadata.and_then(|m| m.get("name"))).unwrap_or_default(),
        namespace: text(metadata.and_then(|m| m.get("namespace"))).filter(|n| !n.is_empty()),
        fields,
    })
}

fn fields_of(node: &Node, prefix: &str, out: &mut Vec<(String, u64)>) {
    if let NodeKind::Mapping(entries) = &node.kind {
        for (key, value) in entries {
            out.push((
                format!("{prefix}{}", key.as_key().unwrap_or_default()),
                digest(value),
            ));
        }
    }
}

/// A digest of a value as Kubernetes reads it: scalars by their resolved value,
/// mappings regardless of key order.
fn digest(node: &Node) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    match &node.kind {
        NodeKind::Scalar(s) => match s.resolve() {
            ScalarValue::Null => 0u8.hash(&mut h),
            ScalarValue::Bool(b) => (1u8, b).hash(&mut h),
            ScalarValue::Int(i) => (2u8, i).hash(&mut h),
            ScalarValue::Float(f) => (3u8, f.to_bits()).hash(&mut h),
            ScalarValue::Str(s) => (4u8, s).hash(&mut h),
        },
        NodeKind::Sequence(items) => {
            5u8.hash(&mut h);
            for item in items {
                digest(item).hash(&mut h);
            }
        }
        NodeKind::Mapping(entries) => {
            6u8.hash(&mut h);
            let mut sum = 0u64;
            for (key, value) in entries {
                let mut pair = std::hash::DefaultHasher::new();
                (key.as_key().unwrap_or_default(), digest(value)).hash(&mut pair);
                sum = sum.wrapping_add(pair.finish());
            }
            sum.hash(&mut h);
        }
    }
    h.finish()
}

/// The entity changes between two versions of the file at `path` (`None`: the file
/// does not exist on that side), and a note when the new version (or the deleted old
/// one) does not parse.
///
/// Entities are matched by kind, namespace and name. When the new version does not
/// parse, entities missing from it are not reported deleted: what it holds is unknown.
pub(crate) fn entity_changes(
    path: &str,
    old: Option<&ParsedFile>,
    new: Option<&ParsedFile>,
    out: &mut Vec<EntityChange>,
) -> Option<FileNote> {
    let empty = ParsedFile::default();
    let (old, new_file) = (old.unwrap_or(&empty), new);
    let new = new.unwrap_or(&empty);
    let change = |doc: &Doc, action: Action, fields: Vec<String>| EntityChange {
        api_version: doc.api_version.clone(),
        kind: doc.kind.clone(),
        name: doc.name.clone(),
        namespace: doc.namespace.clone(),
        path: path.to_owned(),
        action,
        fields,
    };
    let names = |doc: &Doc| doc.fields.iter().map(|(k, _)| k.clone()).collect();
    for doc in &new.docs {
        match old.docs.iter().find(|o| o.same_entity(doc)) {
            None => out.push(change(doc, Action::Added, names(doc))),
            Some(before) if before != doc => {
                let mut fields: Vec<String> = doc
                    .fields
                    .iter()
                    .filter(|f| !before.fields.contains(f))
                    .map(|(k, _)| k.clone())
                    .chain(
                        before
                            .fields
                            .iter()
                            .filter(|(k, _)| !doc.fields.iter().any(|(n, _)| n == k))
                            .map(|(k, _)| k.clone()),
                    )
                    .collect();
                fields.sort();
                fields.dedup();
                out.push(change(doc, Action::Updated, fields));
            }
            Some(_) => {}
        }
    }
    if new.error.is_none() {
        for doc in &old.docs {
            if !new.docs.iter().any(|n| n.same_entity(doc)) {
                out.push(change(doc, Action::Deleted, names(doc)));
            }
        }
    }
    let broken = match new_file {
        Some(file) => file.error.as_ref(),
        None => old.error.as_ref(),
    };
    broken.map(|note| FileNote {
        path: path.to_owned(),
        note: note.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(old: Option<&str>, new: Option<&str>) -> Vec<(Action, String, Vec<String>)> {
        let old = old.map(|t| parse_file(t.as_bytes()));
        let new = new.map(|t| parse_file(t.as_bytes()));
        let mut out = Vec::new();
        entity_changes("a.yaml", old.as_ref(), new.as_ref(), &mut out);
        out.into_iter()
            .map(|c| (c.action, c.name, c.fields))
            .collect()
    }

    #[test]
    fn fields_compare_as_kubectl_reads_them() {
        let before =
            "kind: App\nmetadata: {name: a}\nspec: {on: yes, count: 0x10, m: {x: 1, y: 2}}\n";
        let same = "kind: App\nmetadata: {name: a}\nspec: {on: true, count: 16, m: {y: 2, x: 1}}\n";
        let other = "kind: App\nmetadata: {name: a, labels: {t: x}}\nspec: {on: true, count: \"16\", m: {y: 2, x: 1}}\n";
        assert_eq!(changes(Some(before), Some(same)), vec![]);
        assert_eq!(
            changes(Some(before), Some(other)),
            vec![(
                Action::Updated,
                "a".into(),
                vec!["count".into(), "metadata.labels".into()]
            )]
        );
    }

    #[test]
    fn a_broken_new_version_deletes_nothing() {
        let before = "kind: App\nmetadata: {name: a}\nspec: {x: 1}\n";
        let old = parse_file(before.as_bytes());
        let new = parse_file(b"kind: App\nmetadata: {name: a\n");
        let mut out = Vec::new();
        let note = entity_changes("a.yaml", Some(&old), Some(&new), &mut out);
        assert!(out.is_empty());
        assert!(note.expect("a note").note.contains(':'));
    }

    #[test]
    fn manifest_paths() {
        assert!(is_manifest_path("apps/web.YAML"));
        assert!(is_manifest_path("x.json"));
        assert!(!is_manifest_path("README.md"));
        assert!(!is_manifest_path(".yaml"));
    }
}
