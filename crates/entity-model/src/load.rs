//! Loading manifests from text, files and directory trees.
//!
//! Every document goes through the same steps: YAML (or JSON) into a positioned
//! [`Node`] tree, dispatch on `apiVersion`/`kind`, typed
//! deserialization, a check that writing the entity back drops nothing, and validation.
//! All errors are collected: a directory with ten broken files reports ten errors.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::entity::{Entity, GenericObject, Kind};
use crate::error::{Error, Location};
use crate::path::FieldPath;
use crate::yaml::{Mark, Node, NodeKind};

/// One document read from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// Where the document starts.
    pub location: Location,
    /// Position of the document among the file's non-empty documents, starting at 0.
    pub document: usize,
    /// The entity it holds.
    pub entity: Entity,
}

/// What a load produced: every manifest that loaded, and every error met on the way.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The files that were read.
    pub files: Vec<PathBuf>,
    /// Manifests that loaded and passed validation, in file and document order.
    pub manifests: Vec<Manifest>,
    /// Every problem found, in file and document order.
    pub errors: Vec<Error>,
}

impl Loaded {
    /// Whether nothing went wrong.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    fn extend(&mut self, other: Loaded) {
        self.files.extend(other.files);
        self.manifests.extend(other.manifests);
        self.errors.extend(other.errors);
    }
}

/// File extensions the directory walk reads.
const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Loads every document of `text`, reporting locations against `file`.
pub fn load_str(text: &str, file: &Path) -> Loaded {
    let mut loaded = Loaded {
        files: vec![file.to_owned()],
        ..Loaded::default()
    };
    for document in crate::yaml::parse_documents(text) {
        let document = match document {
            Ok(document) => document,
            Err(e) => {
                loaded.errors.push(Error::Syntax {
                    location: Location {
                        file: file.to_owned(),
                        mark: e.mark,
                    },
                    path: e.path,
                    message: e.message,
                });
                continue;
            }
        };
        match load_document(&document.root, file) {
            Ok(entity) => loaded.manifests.push(Manifest {
                location: Location {
                    file: file.to_owned(),
                    mark: document.root.mark,
                },
                document: document.index,
                entity,
            }),
            Err(errors) => loaded.errors.extend(errors),
        }
    }
    loaded
}

/// Loads a file, or every `.yaml`, `.yml` and `.json` file under a directory (hidden
/// entries such as `.git` skipped, symbolic links to directories not followed).
pub fn load_path(path: &Path) -> Loaded {
    let mut loaded = Loaded::default();
    let files = match manifest_files(path) {
        Ok(files) => files,
        Err(e) => {
            loaded.errors.push(e);
            return loaded;
        }
    };
    for file in files {
        match std::fs::read(&file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => loaded.extend(load_str(&text, &file)),
                Err(e) => {
                    loaded.files.push(file.clone());
                    loaded.errors.push(Error::Syntax {
                        location: Location {
                            file: file.clone(),
                            mark: utf8_error_mark(e.as_bytes(), e.utf8_error().valid_up_to()),
                        },
                        path: None,
                        message: "the file is not valid UTF-8".into(),
                    });
                }
            },
            Err(source) => loaded.errors.push(Error::Io { path: file, source }),
        }
    }
    loaded
}

/// Loads several files or directories, as [`load_path`] does for each.
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Loaded {
    let mut loaded = Loaded::default();
    for path in paths {
        loaded.extend(load_path(path.as_ref()));
    }
    loaded
}

fn utf8_error_mark(bytes: &[u8], valid_up_to: usize) -> Mark {
    let before = String::from_utf8_lossy(&bytes[..valid_up_to]);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Mark { line, column }
}

/// The manifest files of `path`: the file itself, or the files under a directory, sorted.
pub fn manifest_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    let mut pending = vec![path.to_owned()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let child = entry.path();
            let file_type = entry.file_type().map_err(|source| Error::Io {
                path: child.clone(),
                source,
            })?;
            if file_type.is_dir() {
                pending.push(child);
            } else if child
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e))
                && !file_type.is_dir()
                && std::fs::metadata(&child).is_ok_and(|m| m.is_file())
            {
                files.push(child);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Reads one document into an entity, or every error it has.
fn load_document(root: &Node, file: &Path) -> Result<Entity, Vec<Error>> {
    let at = |node: &Node| Location {
        file: file.to_owned(),
        mark: node.mark,
    };
    let schema = |node: &Node, path: FieldPath, message: String| Error::Schema {
        location: at(node),
        path,
        message,
    };
    if !matches!(root.kind, NodeKind::Mapping(_)) {
        return Err(vec![schema(
            root,
            FieldPath::root(),
            "a manifest must be a mapping with apiVersion and kind".into(),
        )]);
    }
    let mut errors = Vec::new();
    let mut type_field = |field: &str| match root.get(field) {
        None => {
            errors.push(schema(
                root,
                FieldPath::root().key(field),
                "required field is missing".into(),
            ));
            None
        }
        Some(node) => match node.as_str() {
            Some(text) if !text.is_empty() => Some(text.to_owned()),
            _ => {
                errors.push(schema(
                    node,
                    FieldPath::root().key(field),
                    "expected a non-empty string".into(),
                ));
                None
            }
        },
    };
    let api_version = type_field("apiVersion");
    let kind = type_field("kind");
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        return Err(errors);
    };

    let typed = Kind::from_type(&api_version, &kind);
    let entity = match typed {
        Some(kind) => Entity::from_node(kind, root),
        None => crate::de::from_node::<GenericObject>(root, FieldPath::root())
            .map(|o| Entity::Object(Box::new(o))),
    };
    let entity = entity.map_err(|e| {
        vec![Error::Schema {
            location: Location {
                file: file.to_owned(),
                mark: e.mark,
            },
            path: e.path,
            message: e.message,
        }]
    })?;

    // Nothing may be dropped: whatever the typed entity would not write back is reported.
    let raw: Value = crate::de::from_node(root, FieldPath::root())
        .map_err(|e| vec![schema(root, e.path, e.message)])?;
    let mut dropped = Vec::new();
    compare(
        &without_nulls(raw),
        &without_nulls(entity.to_value()),
        &mut FieldPath::root(),
        &mut dropped,
    );
    for (path, message) in dropped {
        let (node, _) = root.lookup(&path);
        errors.push(schema(node, path, message));
    }

    for violation in entity.validate().into_vec() {
        let (node, _) = root.lookup(&violation.path);
        errors.push(Error::Invalid {
            location: at(node),
            path: violation.path,
            message: violation.message,
        });
    }
    if errors.is_empty() {
        Ok(entity)
    } else {
        Err(errors)
    }
}

/// Removes `null` members of mappings: Kubernetes treats `field: null` as an absent field.
pub fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Records where `written` differs from `original`.
fn compare(
    original: &Value,
    written: &Value,
    path: &mut FieldPath,
    out: &mut Vec<(FieldPath, String)>,
) {
    match (original, written) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                path.push(crate::path::Segment::Key(key.clone()));
                match b.get(key) {
                    Some(other) => compare(value, other, path, out),
                    None => out.push((
                        path.clone(),
                        "unknown field: Windlass would drop it (check the spelling)".into(),
                    )),
                }
                path.pop();
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                path.push(crate::path::Segment::Index(i));
                compare(x, y, path, out);
                path.pop();
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        (a, b) => out.push((
            path.clone(),
            format!("would be written back as {b} instead of {a}"),
        )),
    }
}
