//! Directory sources: the manifests of a directory in a commit, read straight from the
//! Git objects, with Argo CD's `directory` options (`recurse`, `include`, `exclude`,
//! `disableExtensionFilter`).

use serde_json::Value;
use windlass_entity_model::argocd::ApplicationSourceDirectory;
use windlass_entity_model::yaml::Mark;
use windlass_git_store::EntryKind;

use super::Source;
use crate::Result;
use windlass_entity_model::glob::Glob;

/// Files holding this marker are skipped (Argo's `+argocd:skip-file-rendering`).
const SKIP_MARKER: &str = "+argocd:skip-file-rendering";

/// One candidate file: its path relative to the app path and to the repository root.
struct Candidate {
    relative: String,
    full: String,
}

/// Renders a directory source: every manifest file of the app path (and below it with
/// `recurse`) in Argo's walk order (names in byte order, directories where they sort).
pub(crate) fn render(src: &Source<'_>, options: &ApplicationSourceDirectory) -> Result<Vec<Value>> {
    let compile = |field: &str, pattern: &Option<String>| -> Result<Option<Glob>> {
        match pattern.as_deref().filter(|p| !p.is_empty()) {
            None => Ok(None),
            Some(p) => Glob::compile(p, &[])
                .map(Some)
                .map_err(|e| src.error(format!("directory.{field} {p:?}: {e}"))),
        }
    };
    let include = compile("include", &options.include)?;
    let exclude = compile("exclude", &options.exclude)?;
    let recurse = options.recurse.unwrap_or(false);
    let no_extension_filter = options.disable_extension_filter.unwrap_or(false);

    let mut candidates = Vec::new();
    walk(src, &src.path, "", recurse, &mut candidates)?;

    let mut objects = Vec::new();
    for candidate in candidates {
        let name = candidate
            .relative
            .rsplit('/')
            .next()
            .unwrap_or(&candidate.relative);
        let extension = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        let known = matches!(extension, "yaml" | "yml" | "json" | "jsonnet");
        if !no_extension_filter && !known {
            continue;
        }
        if exclude
            .as_ref()
            .is_some_and(|g| g.is_match(&candidate.relative))
        {
            continue;
        }
        if include
            .as_ref()
            .is_some_and(|g| !g.is_match(&candidate.relative))
        {
            continue;
        }
        let bytes = src
            .store
            .read_file_at(src.commit, &candidate.full)
            .map_err(|e| src.git(e))?
            .unwrap_or_default();
        let text = decode(src, &candidate.full, &bytes)?;
        if text.contains(SKIP_MARKER) {
            continue;
        }
        if extension == "jsonnet" {
            return Err(src.unsupported(format!("Jsonnet (file {})", candidate.full)));
        }
        let parsed = if extension == "json" {
            parse_json(&text)
        } else {
            parse_yaml(&text)
        };
        match parsed {
            Ok(Some(found)) => objects.extend(found),
            Ok(None) => {
                tracing::debug!(app = src.app, file = %candidate.full, "skipped: YAML that is not a Kubernetes manifest");
            }
            Err((mark, message)) => return Err(src.manifest(&candidate.full, mark, message)),
        }
    }
    super::flatten_lists(src, objects)
}

/// Collects the files of `dir` (relative to the repository root), descending into
/// sub-directories only with `recurse`. Submodules are skipped.
fn walk(
    src: &Source<'_>,
    dir: &str,
    relative: &str,
    recurse: bool,
    out: &mut Vec<Candidate>,
) -> Result<()> {
    let Some(entries) = src
        .store
        .list_dir(&src.revision, dir)
        .map_err(|e| src.git(e))?
    else {
        return Err(src.error("app path does not exist".to_owned()));
    };
    for entry in entries {
        let join = |base: &str| {
            if base.is_empty() {
                entry.name.clone()
            } else {
                format!("{base}/{}", entry.name)
            }
        };
        match entry.kind {
            EntryKind::File => out.push(Candidate {
                relative: join(relative),
                full: join(dir),
            }),
            EntryKind::Dir if recurse => walk(src, &join(dir), &join(relative), recurse, out)?,
            EntryKind::Dir | EntryKind::Submodule => {}
        }
    }
    Ok(())
}

/// UTF-8 text of a file (a byte-order mark dropped); invalid UTF-8 names the place.
pub(crate) fn decode(src: &Source<'_>, file: &str, bytes: &[u8]) -> Result<String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(e) => {
            let before = String::from_utf8_lossy(&bytes[..e.valid_up_to()]);
            let mark = Mark {
                line: before.matches('\n').count() + 1,
                column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
            };
            Err(src.manifest(file, mark, "the file is not valid UTF-8".to_owned()))
        }
    }
}

type Parsed = std::result::Result<Option<Vec<Value>>, (Mark, String)>;

/// The objects of a YAML stream as Argo reads a directory's YAML file: empty documents
/// skipped; a document that is not an object with a `kind` is an error, unless no
/// object came before it and the file does not look like a manifest at all (lacks
/// `apiVersion:`, `kind:` or `metadata:`), in which case the whole file is ignored
/// (`Ok(None)`): a directory may hold other YAML, e.g. a CI configuration.
pub(crate) fn parse_yaml(text: &str) -> Parsed {
    let mut objects = Vec::new();
    for document in windlass_entity_model::yaml::parse_documents(text) {
        let problem = match document {
            Err(e) => (e.mark, e.message),
            Ok(document) => match to_object(&document.root) {
                Ok(None) => continue,
                Ok(Some(object)) => {
                    objects.push(object);
                    continue;
                }
                Err(message) => (document.root.mark, message),
            },
        };
        let looks_like_manifest = ["apiVersion:", "kind:", "metadata:"]
            .iter()
            .all(|m| text.contains(m));
        if objects.is_empty() && !looks_like_manifest {
            return Ok(None);
        }
        return Err(problem);
    }
    Ok(Some(objects))
}

/// The objects of a JSON file: one object, or an array of objects.
pub(crate) fn parse_json(text: &str) -> Parsed {
    let mut documents = windlass_entity_model::yaml::parse_documents(text).into_iter();
    let Some(first) = documents.next() else {
        return Ok(Some(Vec::new()));
    };
    let document = first.map_err(|e| (e.mark, e.message))?;
    if let Some(next) = documents.next() {
        let mark = match next {
            Ok(d) => d.root.mark,
            Err(e) => e.mark,
        };
        return Err((
            mark,
            "found multiple objects: a JSON file holds one object or an array of objects"
                .to_owned(),
        ));
    }
    let root = &document.root;
    if let windlass_entity_model::yaml::NodeKind::Sequence(items) = &root.kind {
        let mut objects = Vec::new();
        for item in items {
            match to_object(item) {
                Ok(Some(object)) => objects.push(object),
                Ok(None) => {}
                Err(message) => return Err((item.mark, message)),
            }
        }
        return Ok(Some(objects));
    }
    match to_object(root) {
        Ok(object) => Ok(Some(object.into_iter().collect())),
        Err(message) => Err((root.mark, message)),
    }
}

/// A document as a Kubernetes object: `None` for an empty (null) document; an error
/// when it is not a mapping or has no `kind`.
fn to_object(
    node: &windlass_entity_model::yaml::Node,
) -> std::result::Result<Option<Value>, String> {
    if node.is_null() {
        return Ok(None);
    }
    let value: Value =
        windlass_entity_model::de::from_node(node, Default::default()).map_err(|e| e.message)?;
    match &value {
        Value::Object(map) => match map.get("kind") {
            Some(Value::String(kind)) if !kind.is_empty() => Ok(Some(value)),
            _ => Err("Object 'Kind' is missing: not a Kubernetes object".to_owned()),
        },
        Value::Null => Ok(None),
        _ => Err("expected a Kubernetes object (a mapping)".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_streams_skip_empty_documents() {
        let objects = parse_yaml("---\n# nothing\n---\nkind: A\n---\n\n---\nkind: B\n")
            .expect("valid")
            .expect("manifests");
        let kinds: Vec<_> = objects.iter().map(|o| o["kind"].clone()).collect();
        assert_eq!(kinds, ["A", "B"]);
    }

    #[test]
    fn unrelated_yaml_is_ignored_but_broken_manifests_are_not() {
        assert_eq!(parse_yaml("steps:\n  - run: make\n"), Ok(None));
        let (mark, _) =
            parse_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: [\n")
                .expect_err("broken");
        assert!(mark.line >= 4, "{mark}");
        // After a good object, any broken document is an error.
        assert!(parse_yaml("kind: A\n---\nfoo: bar\n").is_err());
    }

    #[test]
    fn json_holds_an_object_or_a_list() {
        let one = parse_json(r#"{"kind": "A"}"#)
            .expect("valid")
            .expect("some");
        assert_eq!(one.len(), 1);
        let two = parse_json(r#"[{"kind": "A"}, {"kind": "B"}]"#)
            .expect("valid")
            .expect("some");
        assert_eq!(two.len(), 2);
        assert!(parse_json(r#"{"name": "no kind"}"#).is_err());
        assert!(parse_json("[1]").is_err());
    }
}
