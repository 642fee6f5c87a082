//! Kustomize sources: the commit checked out (once per commit, shared), the
//! Application's overrides written into the kustomization the way `kustomize edit`
//! writes them, then `kustomize build` (or `kubectl kustomize`).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use windlass_entity_model::argocd::ApplicationSourceKustomize;
use windlass_git_store::{EntryKind, ObjectId, Store};

use super::{Source, join_path};
use crate::Result;

/// The names a kustomization file may have, in the order kustomize looks for them.
pub(crate) const KUSTOMIZATION_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// How long one build may run (Argo's default exec timeout).
const BUILD_TIMEOUT: Duration = Duration::from_secs(90);

/// Checkouts kept for reuse; older ones are deleted once no render uses them.
const KEEP_CHECKOUTS: usize = 8;

/// The kustomization file of `dir` in `commit`, with its blob id.
pub(crate) fn kustomization_in(
    store: &Store,
    commit: ObjectId,
    dir: &str,
) -> windlass_git_store::Result<Option<(String, ObjectId)>> {
    for name in KUSTOMIZATION_NAMES {
        let file = join_path(dir, name);
        if let Some(id) = store.file_id_at(commit, &file)? {
            return Ok(Some((file, id)));
        }
    }
    Ok(None)
}

/// Every local path the kustomization of the app path references, transitively (its
/// resources, bases, components, patch and generator files, ...), with the object id
/// it has in the commit: what the render depends on beyond the app path itself.
///
/// Conservative by construction: every string value of a kustomization that names an
/// existing file or directory relative to it counts (for `key=path` values, the path),
/// and every referenced directory's own kustomization is followed.
pub(crate) fn inputs(src: &Source<'_>, out: &mut Vec<(String, String)>) -> Result<()> {
    let mut visited = BTreeSet::new();
    let mut queue = vec![src.path.clone()];
    while let Some(dir) = queue.pop() {
        if !visited.insert(dir.clone()) {
            continue;
        }
        let Some((file, id)) =
            kustomization_in(src.store, src.commit, &dir).map_err(|e| src.git(e))?
        else {
            continue;
        };
        let Some(bytes) = src
            .store
            .read_file_at(src.commit, &file)
            .map_err(|e| src.git(e))?
        else {
            continue;
        };
        out.push((file, id.to_string()));
        // A kustomization that does not parse fails the build; nothing more to follow.
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        let mut strings = Vec::new();
        for document in windlass_entity_model::yaml::parse_documents(&text)
            .into_iter()
            .flatten()
        {
            if let Ok(value) = windlass_entity_model::de::from_node::<Value>(
                &document.root,
                windlass_entity_model::FieldPath::root(),
            ) {
                collect_strings(&value, &mut strings);
            }
        }
        for s in strings {
            let candidates = [Some(s.as_str()), s.split_once('=').map(|(_, p)| p)];
            for candidate in candidates.into_iter().flatten() {
                if candidate.is_empty()
                    || candidate.len() > 1024
                    || candidate.contains(['\n', '\0'])
                    || candidate.contains("://")
                    || candidate.starts_with('/')
                {
                    continue;
                }
                let Some(path) = super::normalize_path(&join_path(&dir, candidate)) else {
                    continue;
                };
                if let Some(tree) = src
                    .store
                    .tree_id_at(src.commit, &path)
                    .map_err(|e| src.git(e))?
                {
                    out.push((path.clone(), tree.to_string()));
                    queue.push(path);
                } else if let Some(blob) = src
                    .store
                    .file_id_at(src.commit, &path)
                    .map_err(|e| src.git(e))?
                {
                    out.push((path, blob.to_string()));
                }
            }
        }
    }
    Ok(())
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// A commit of a repository written out as files.
struct Checkout {
    dir: tempfile::TempDir,
    /// Whether the files are written (the first user writes them).
    ready: Mutex<bool>,
}

/// Checkouts shared between renders, a few recent commits kept.
#[derive(Default)]
pub(crate) struct Checkouts {
    recent: Mutex<Vec<(String, ObjectId, Arc<Checkout>)>>,
    copies: AtomicU64,
}

impl Checkouts {
    /// The checkout of `src`'s commit, written on first use.
    fn get(&self, src: &Source<'_>, repo_key: &str) -> Result<Arc<Checkout>> {
        let checkout = {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = recent
                .iter()
                .position(|(k, c, _)| k == repo_key && *c == src.commit)
            {
                let entry = recent.remove(i);
                let checkout = entry.2.clone();
                recent.push(entry);
                checkout
            } else {
                let dir = private_tempdir("windlass-checkout-")
                    .map_err(|e| src.kustomize(format!("creating a checkout directory: {e}")))?;
                let checkout = Arc::new(Checkout {
                    dir,
                    ready: Mutex::new(false),
                });
                recent.push((repo_key.to_owned(), src.commit, checkout.clone()));
                if recent.len() > KEEP_CHECKOUTS {
                    // Dropped (and deleted) when the last render using it ends.
                    recent.remove(0);
                }
                checkout
            }
        };
        let mut ready = checkout.ready.lock().unwrap_or_else(|e| e.into_inner());
        if !*ready {
            write_tree(src, "", checkout.dir.path())?;
            *ready = true;
            tracing::debug!(url = src.url, commit = %src.commit, dir = %checkout.dir.path().display(), "checked out");
        }
        drop(ready);
        Ok(checkout)
    }
}

/// Writes the files of `path` in `src`'s commit below `dest`.
fn write_tree(src: &Source<'_>, path: &str, dest: &Path) -> Result<()> {
    let io =
        |what: &Path, e: std::io::Error| src.kustomize(format!("writing {}: {e}", what.display()));
    std::fs::create_dir_all(dest).map_err(|e| io(dest, e))?;
    let entries = src
        .store
        .list_dir(&src.revision, path)
        .map_err(|e| src.git(e))?
        .unwrap_or_default();
    for entry in entries {
        let repo_path = join_path(path, &entry.name);
        let target = dest.join(&entry.name);
        match entry.kind {
            EntryKind::Dir => write_tree(src, &repo_path, &target)?,
            EntryKind::File => {
                let bytes = src
                    .store
                    .read_file_at(src.commit, &repo_path)
                    .map_err(|e| src.git(e))?
                    .unwrap_or_default();
                std::fs::write(&target, bytes).map_err(|e| io(&target, e))?;
            }
            EntryKind::Submodule => {}
        }
    }
    Ok(())
}

/// Removes a private copy when dropped.
struct Copy(PathBuf, Option<tempfile::TempDir>);

impl Drop for Copy {
    fn drop(&mut self) {
        if self.1.is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The program that builds kustomizations.
#[derive(Clone, Debug)]
enum Tool {
    Kustomize(PathBuf),
    Kubectl(PathBuf),
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `kustomize` when on PATH, else `kubectl` (which has kustomize built in).
fn tool() -> Option<Tool> {
    static TOOL: OnceLock<Option<Tool>> = OnceLock::new();
    TOOL.get_or_init(|| {
        find_on_path("kustomize")
            .map(Tool::Kustomize)
            .or_else(|| find_on_path("kubectl").map(Tool::Kubectl))
    })
    .clone()
}

/// Renders a kustomize source.
pub(crate) fn render(
    src: &Source<'_>,
    checkouts: &Checkouts,
    repo_key: &str,
    build_options: &[String],
) -> Result<Vec<Value>> {
    let checkout = checkouts.get(src, repo_key)?;
    let root = checkout.dir.path();
    let overrides = src.source.kustomize.clone().unwrap_or_default();
    let mut _copy = None;
    let build_dir = if has_overrides(&overrides) {
        // Overrides edit the kustomization: on a private copy of the app directory,
        // placed beside it so that relative references (`../base`) still resolve.
        let n = checkouts.copies.fetch_add(1, Ordering::Relaxed);
        let copy = if src.path.is_empty() {
            let dir = private_tempdir("windlass-kustomize-")
                .map_err(|e| src.kustomize(format!("creating a build directory: {e}")))?;
            copy_dir(root, dir.path())
                .map_err(|e| src.kustomize(format!("copying the checkout: {e}")))?;
            Copy(dir.path().to_owned(), Some(dir))
        } else {
            let original = root.join(&src.path);
            let name = original
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let target = original.with_file_name(format!(".windlass-{n}-{name}"));
            copy_dir(&original, &target)
                .map_err(|e| src.kustomize(format!("copying the app path: {e}")))?;
            Copy(target, None)
        };
        let dir = copy.0.clone();
        _copy = Some(copy);
        apply_overrides(src, &dir, &overrides)?;
        dir
    } else {
        root.join(&src.path)
    };
    let output = build(src, root, &build_dir, build_options)?;
    let objects = match super::directory::parse_yaml(&output) {
        Ok(objects) => objects.unwrap_or_default(),
        Err((mark, message)) => {
            return Err(src.kustomize(format!("reading kustomize's output at {mark}: {message}")));
        }
    };
    super::flatten_lists(src, objects)
}

fn has_overrides(k: &ApplicationSourceKustomize) -> bool {
    let set = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty());
    set(&k.name_prefix)
        || set(&k.name_suffix)
        || set(&k.namespace)
        || k.images.as_ref().is_some_and(|v| !v.is_empty())
        || k.common_labels.as_ref().is_some_and(|v| !v.is_empty())
        || k.common_annotations.as_ref().is_some_and(|v| !v.is_empty())
        || k.replicas.as_ref().is_some_and(|v| !v.is_empty())
        || k.patches.as_ref().is_some_and(|v| !v.is_empty())
        || k.components.as_ref().is_some_and(|v| !v.is_empty())
}

/// The variables Argo substitutes in override values (and passes to kustomize).
pub(crate) fn environment(src: &Source<'_>) -> Vec<(&'static str, String)> {
    let short = |n: usize| src.revision.chars().take(n).collect::<String>();
    vec![
        ("ARGOCD_APP_NAME", src.app.to_owned()),
        ("ARGOCD_APP_NAMESPACE", src.namespace.to_owned()),
        ("ARGOCD_APP_PROJECT_NAME", String::new()),
        ("ARGOCD_APP_REVISION", src.revision.clone()),
        ("ARGOCD_APP_REVISION_SHORT", short(7)),
        ("ARGOCD_APP_REVISION_SHORT_8", short(8)),
        ("ARGOCD_APP_SOURCE_REPO_URL", src.url.to_owned()),
        (
            "ARGOCD_APP_SOURCE_PATH",
            src.source.path.clone().unwrap_or_default(),
        ),
        (
            "ARGOCD_APP_SOURCE_TARGET_REVISION",
            src.source.target_revision.clone().unwrap_or_default(),
        ),
    ]
}

/// `$VAR` and `${VAR}` replaced by the environment's values (unknown ones by nothing),
/// `$$` by `$` — Go's `os.Expand` as Argo uses it.
pub(crate) fn envsubst(text: &str, env: &[(&'static str, String)]) -> String {
    let lookup = |name: &str| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '$' || i + 1 >= chars.len() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let next = chars[i + 1];
        if next == '$' {
            out.push('$');
            i += 2;
        } else if next == '{' {
            match chars[i + 2..].iter().position(|&c| c == '}') {
                Some(end) => {
                    let name: String = chars[i + 2..i + 2 + end].iter().collect();
                    out.push_str(&lookup(&name));
                    i += end + 3;
                }
                None => {
                    out.push('$');
                    i += 1;
                }
            }
        } else if next.is_ascii_alphanumeric() || next == '_' {
            let len = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .count();
            let name: String = chars[i + 1..i + 1 + len].iter().collect();
            out.push_str(&lookup(&name));
            i += len + 1;
        } else {
            out.push('$');
            i += 1;
        }
    }
    out
}

/// Edits the kustomization in `dir` with the Application's overrides, in the order Argo
/// runs its `kustomize edit` commands, and writes it back (as JSON, which is YAML).
fn apply_overrides(src: &Source<'_>, dir: &Path, k: &ApplicationSourceKustomize) -> Result<()> {
    let Some(name) = KUSTOMIZATION_NAMES
        .iter()
        .find(|name| dir.join(name).is_file())
    else {
        return Err(src.kustomize("kustomization file not found in the path".to_owned()));
    };
    let file = dir.join(name);
    let repo_file = join_path(&src.path, name);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| src.kustomize(format!("reading {repo_file}: {e}")))?;
    let document = windlass_entity_model::yaml::parse_documents(&text)
        .into_iter()
        .next()
        .transpose()
        .map_err(|e| src.manifest(&repo_file, e.mark, e.message))?;
    let mut kustomization = match document {
        None => Map::new(),
        Some(d) => match windlass_entity_model::de::from_node::<Value>(
            &d.root,
            windlass_entity_model::FieldPath::root(),
        ) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Null) => Map::new(),
            Ok(_) => {
                return Err(src.manifest(
                    &repo_file,
                    d.root.mark,
                    "a kustomization must be a mapping".to_owned(),
                ));
            }
            Err(e) => return Err(src.manifest(&repo_file, e.mark, e.message)),
        },
    };
    let env = environment(src);
    edit(&mut kustomization, k, &env, |component| {
        dir.join(component).exists()
    })
    .map_err(|e| {
        src.kustomize(format!(
            "applying the Application's kustomize overrides: {e}"
        ))
    })?;
    let json = serde_json::to_string_pretty(&Value::Object(kustomization))
        .map_err(|e| src.kustomize(format!("writing {repo_file}: {e}")))?;
    std::fs::write(&file, json).map_err(|e| src.kustomize(format!("writing {repo_file}: {e}")))
}

/// The edits `kustomize edit set nameprefix|namesuffix|image|replicas|namespace`,
/// `kustomize edit add label|annotation|component` make, plus Argo's patches.
/// `component_exists` tells whether a component path exists (relative to the app path).
pub(crate) fn edit(
    m: &mut Map<String, Value>,
    k: &ApplicationSourceKustomize,
    env: &[(&'static str, String)],
    component_exists: impl Fn(&str) -> bool,
) -> std::result::Result<(), String> {
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    if let Some(prefix) = non_empty(&k.name_prefix) {
        m.insert("namePrefix".into(), Value::String(prefix));
    }
    if let Some(suffix) = non_empty(&k.name_suffix) {
        m.insert("nameSuffix".into(), Value::String(suffix));
    }
    if let Some(images) = k.images.as_ref().filter(|v| !v.is_empty()) {
        set_images(m, images, env)?;
    }
    if let Some(replicas) = k.replicas.as_ref().filter(|v| !v.is_empty()) {
        let mut by_name: std::collections::BTreeMap<String, Value> = Default::default();
        for r in replicas {
            let count: i64 = r.count.to_string_lossy().trim().parse().map_err(|_| {
                format!(
                    "replicas {:?}: count {:?} is not an integer",
                    r.name,
                    r.count.to_string_lossy()
                )
            })?;
            by_name.insert(
                r.name.clone(),
                serde_json::json!({"name": r.name, "count": count}),
            );
        }
        for existing in m
            .get("replicas")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = existing
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            by_name
                .entry(name.to_owned())
                .or_insert_with(|| existing.clone());
        }
        m.insert(
            "replicas".into(),
            Value::Array(by_name.into_values().collect()),
        );
    }
    if let Some(labels) = k.common_labels.as_ref().filter(|v| !v.is_empty()) {
        let force = k.force_common_labels.unwrap_or(false);
        let labels: Vec<(String, String)> = labels
            .iter()
            .map(|(n, v)| (n.clone(), envsubst(v, env)))
            .collect();
        if k.label_without_selector.unwrap_or(false) {
            add_labels_without_selector(
                m,
                &labels,
                force,
                k.label_include_templates.unwrap_or(false),
            )?;
        } else {
            add_to_map(m, "commonLabels", "label", &labels, force)?;
        }
    }
    if let Some(annotations) = k.common_annotations.as_ref().filter(|v| !v.is_empty()) {
        let force = k.force_common_annotations.unwrap_or(false);
        let subst = k.common_annotations_envsubst.unwrap_or(false);
        let annotations: Vec<(String, String)> = annotations
            .iter()
            .map(|(n, v)| (n.clone(), if subst { envsubst(v, env) } else { v.clone() }))
            .collect();
        add_to_map(m, "commonAnnotations", "annotation", &annotations, force)?;
    }
    if let Some(namespace) = non_empty(&k.namespace) {
        m.insert("namespace".into(), Value::String(namespace));
    }
    if let Some(patches) = k.patches.as_ref().filter(|v| !v.is_empty()) {
        let list = m
            .entry("patches")
            .or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(list) = list else {
            return Err("`patches` in the kustomization is not a list".to_owned());
        };
        for patch in patches {
            list.push(serde_json::to_value(patch).map_err(|e| e.to_string())?);
        }
    }
    if let Some(components) = k.components.as_ref().filter(|v| !v.is_empty()) {
        let ignore_missing = k.ignore_missing_components.unwrap_or(false);
        let list = m
            .entry("components")
            .or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(list) = list else {
            return Err("`components` in the kustomization is not a list".to_owned());
        };
        for component in components {
            if !component_exists(component) {
                if ignore_missing {
                    continue;
                }
                return Err(format!("component {component:?} does not exist"));
            }
            if !list.iter().any(|c| c.as_str() == Some(component)) {
                list.push(Value::String(component.clone()));
            }
        }
    }
    Ok(())
}

/// `kustomize edit add label|annotation`: into a map field; an existing key is an error
/// unless forced.
fn add_to_map(
    m: &mut Map<String, Value>,
    field: &str,
    kind: &str,
    pairs: &[(String, String)],
    force: bool,
) -> std::result::Result<(), String> {
    let map = m.entry(field).or_insert_with(|| Value::Object(Map::new()));
    if map.is_null() {
        *map = Value::Object(Map::new());
    }
    let Value::Object(map) = map else {
        return Err(format!("`{field}` in the kustomization is not a mapping"));
    };
    for (key, value) in pairs {
        if map.contains_key(key) && !force {
            return Err(format!(
                "{kind} {key} already in kustomization file. Use --force to override."
            ));
        }
        map.insert(key.clone(), Value::String(value.clone()));
    }
    Ok(())
}

/// `kustomize edit add label --without-selector`: into a `labels` entry that does not
/// include selectors.
fn add_labels_without_selector(
    m: &mut Map<String, Value>,
    pairs: &[(String, String)],
    force: bool,
    include_templates: bool,
) -> std::result::Result<(), String> {
    let labels = m
        .entry("labels")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(labels) = labels else {
        return Err("`labels` in the kustomization is not a list".to_owned());
    };
    let flag = |l: &Value, f: &str| l.get(f).and_then(Value::as_bool).unwrap_or(false);
    let index = match labels.iter().position(|l| {
        !flag(l, "includeSelectors") && flag(l, "includeTemplates") == include_templates
    }) {
        Some(i) => i,
        None => {
            let mut entry = serde_json::json!({"pairs": {}});
            if include_templates {
                entry["includeTemplates"] = Value::Bool(true);
            }
            labels.push(entry);
            labels.len() - 1
        }
    };
    let entry = &mut labels[index];
    if !entry.get("pairs").is_some_and(Value::is_object) {
        entry["pairs"] = Value::Object(Map::new());
    }
    let Some(Value::Object(map)) = entry.get_mut("pairs") else {
        return Err("`labels[].pairs` is not a mapping".to_owned());
    };
    for (key, value) in pairs {
        if map.contains_key(key) && !force {
            return Err(format!(
                "label {key} already in kustomization file. Use --force to override."
            ));
        }
        map.insert(key.clone(), Value::String(value.clone()));
    }
    Ok(())
}

/// kustomize's split of an image reference into name, tag and digest (a registry
/// port's `:` is not a tag).
fn split_image(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[slash..];
    let at = search.find('@').map(|i| i + slash);
    let colon = search.find(':').map(|i| i + slash);
    match (colon, at) {
        (None, None) => (image.to_owned(), String::new(), String::new()),
        (c, Some(a)) if c.is_none_or(|c| a < c) => (
            image[..a].to_owned(),
            String::new(),
            image[a + 1..].to_owned(),
        ),
        (Some(c), Some(a)) => (
            image[..c].to_owned(),
            image[c + 1..a].to_owned(),
            image[a + 1..].to_owned(),
        ),
        (Some(c), None) => (
            image[..c].to_owned(),
            image[c + 1..].to_owned(),
            String::new(),
        ),
        (None, Some(_)) => unreachable!("handled by the digest-only arm"),
    }
}

/// `kustomize edit set image`: each argument (`name=newName:tag`, `name:tag`,
/// `name@digest`, `*` keeping a field) replaces the entry of its name; entries sorted
/// by name.
fn set_images(
    m: &mut Map<String, Value>,
    images: &[String],
    env: &[(&'static str, String)],
) -> std::result::Result<(), String> {
    const KEEP: &str = "*";
    let mut wanted: HashMap<String, Map<String, Value>> = HashMap::new();
    for arg in images {
        let arg = envsubst(arg, env);
        let (key, value) = match arg.split_once('=') {
            Some((k, v)) => (Some(k.to_owned()), v.to_owned()),
            None => (None, arg.clone()),
        };
        let (name, tag, digest) = split_image(&value);
        if name == arg {
            return Err(format!(
                "invalid image override {arg:?}: use <image>=<newimage>:<newtag>, \
                 <image>=<newimage>@<digest>, <image>=<newimage>, <image>:<newtag> or \
                 <image>@<digest>"
            ));
        }
        let mut entry = Map::new();
        match key {
            Some(key) => {
                entry.insert("name".into(), Value::String(key));
                entry.insert("newName".into(), Value::String(name));
            }
            None => {
                entry.insert("name".into(), Value::String(name));
            }
        }
        if !tag.is_empty() {
            entry.insert("newTag".into(), Value::String(tag));
        }
        if !digest.is_empty() {
            entry.insert("digest".into(), Value::String(digest));
        }
        let name = entry["name"].as_str().unwrap_or_default().to_owned();
        wanted.insert(name, entry);
    }
    let mut result: std::collections::BTreeMap<String, Map<String, Value>> = Default::default();
    for existing in m
        .get("images")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(existing) = existing.as_object() else {
            continue;
        };
        let name = existing
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match wanted.remove(&name) {
            Some(mut entry) => {
                for field in ["newName", "newTag", "digest"] {
                    if entry.get(field).and_then(Value::as_str) == Some(KEEP) {
                        match existing.get(field) {
                            Some(v) => entry.insert(field.into(), v.clone()),
                            None => entry.remove(field),
                        };
                    }
                }
                result.insert(name, entry);
            }
            None => {
                result.insert(name, existing.clone());
            }
        }
    }
    for (name, mut entry) in wanted {
        entry.retain(|_, v| v.as_str() != Some(KEEP));
        result.insert(name, entry);
    }
    m.insert(
        "images".into(),
        Value::Array(result.into_values().map(Value::Object).collect()),
    );
    Ok(())
}

/// Runs `kustomize build <dir>` (or `kubectl kustomize <dir>`) in the checkout root.
fn build(src: &Source<'_>, root: &Path, dir: &Path, options: &[String]) -> Result<String> {
    let Some(tool) = tool() else {
        return Err(src.kustomize(
            "neither `kustomize` nor `kubectl` is on PATH (install one of them)".to_owned(),
        ));
    };
    let mut command = match &tool {
        Tool::Kustomize(path) => {
            let mut c = Command::new(path);
            c.arg("build");
            c
        }
        Tool::Kubectl(path) => {
            let mut c = Command::new(path);
            c.arg("kustomize");
            c
        }
    };
    command
        .arg(dir)
        .args(options)
        .current_dir(root)
        .envs(environment(src))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let redact = |text: &str| {
        text.replace(&dir.display().to_string(), &src.path)
            .replace(&root.display().to_string(), ".")
            .trim()
            .to_owned()
    };
    let output =
        run(command, BUILD_TIMEOUT).map_err(|e| src.kustomize(format!("running {tool:?}: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(src.kustomize(redact(&stderr)));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| src.kustomize("kustomize printed output that is not UTF-8".to_owned()))
}

/// Runs `command` to completion, killing it after `timeout`.
fn run(mut command: Command, timeout: Duration) -> std::io::Result<std::process::Output> {
    use std::io::Read;
    let mut child = command.spawn()?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("timed out after {} s", timeout.as_secs()),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = err_thread.join().unwrap_or_default();
    Ok(std::process::Output {
        status,
        stdout,
        stderr,
    })
}

/// A directory in the system's temporary directory that only this user can read: a
/// checkout may hold a private repository's files.
fn private_tempdir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(k: ApplicationSourceKustomize, start: Value) -> Result<Value, String> {
        let Value::Object(mut m) = start else {
            panic!("an object")
        };
        edit(&mut m, &k, &[("ARGOCD_APP_NAME", "web".into())], |_| true)?;
        Ok(Value::Object(m))
    }

    #[test]
    fn images_replace_entries_of_their_name_sorted() {
        let k = ApplicationSourceKustomize {
            images: Some(vec![
                "nginx:1.25".into(),
                "redis=quay.io/redis:7@sha256:abc".into(),
                "app=*:2.0".into(),
                "localhost:5000/x:3".into(),
            ]),
            ..Default::default()
        };
        let out = edited(
            k,
            serde_json::json!({"images": [{"name": "app", "newName": "reg/app", "newTag": "1.0"}]}),
        )
        .expect("edited");
        assert_eq!(
            out["images"],
            serde_json::json!([
                {"name": "app", "newName": "reg/app", "newTag": "2.0"},
                {"name": "localhost:5000/x", "newTag": "3"},
                {"name": "nginx", "newTag": "1.25"},
                {"name": "redis", "newName": "quay.io/redis", "newTag": "7", "digest": "sha256:abc"},
            ])
        );
        let bad = ApplicationSourceKustomize {
            images: Some(vec!["nginx".into()]),
            ..Default::default()
        };
        assert!(edited(bad, serde_json::json!({})).is_err());
    }

    #[test]
    fn labels_need_force_to_replace_and_are_substituted() {
        let k = ApplicationSourceKustomize {
            common_labels: Some([("app".to_owned(), "$ARGOCD_APP_NAME".to_owned())].into()),
            ..Default::default()
        };
        let out = edited(k.clone(), serde_json::json!({})).expect("edited");
        assert_eq!(out["commonLabels"], serde_json::json!({"app": "web"}));
        let err = edited(k.clone(), serde_json::json!({"commonLabels": {"app": "x"}}))
            .expect_err("exists");
        assert_eq!(
            err,
            "label app already in kustomization file. Use --force to override."
        );
        let forced = ApplicationSourceKustomize {
            force_common_labels: Some(true),
            label_without_selector: Some(true),
            ..k
        };
        let out = edited(forced, serde_json::json!({})).expect("edited");
        assert_eq!(
            out["labels"],
            serde_json::json!([{"pairs": {"app": "web"}}])
        );
    }

    #[test]
    fn envsubst_like_go() {
        let env = [("A", "1".to_owned())];
        assert_eq!(envsubst("x-$A-${A}-$B-$$-$", &env), "x-1-1--$-$");
    }

    #[test]
    fn checkouts_are_private_to_their_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = super::private_tempdir("windlass-checkout-").expect("temp dir");
        let mode = std::fs::metadata(dir.path())
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{}", dir.path().display());
    }
}
