//! Rendering an Application's sources into Kubernetes objects, as Argo CD's
//! repo-server does, with a cache that re-renders only what a new commit changed.
//!
//! A source is a directory of manifests or a Kustomize directory in a Git repository
//! ([`crate::repo`] resolves `targetRevision` to a commit). The source type is the
//! explicit one (`directory`, `kustomize`, `helm`, `plugin`) or detected from the app
//! path (a `kustomization.yaml`, `kustomization.yml` or `Kustomization` file makes it
//! Kustomize; a `Chart.yaml` Helm). `.argocd-source.yaml` and
//! `.argocd-source-<app>.yaml` in the app path are merged into the source, as Argo does.
//! Helm and plugin sources, and Jsonnet files, are refused with an error.
//!
//! Rendered objects are as the source holds them: the destination namespace is not
//! filled in and no tracking annotation is added (that is the sync's business).
//! Objects with an `items` list are flattened into their items (Argo's `IsList`).
//!
//! # Caching
//!
//! Results are cached by the normalized repository URL, the source parameters, and the
//! Git ids of what the render reads: the tree of the app path, plus for Kustomize the
//! trees and blobs of every local path its kustomizations reference (transitively), or
//! the paths of the Application's `argocd.argoproj.io/manifest-generate-paths`
//! annotation when it has one. A commit that touches nothing of that re-uses the
//! previous result (with the new revision).

mod directory;
mod kustomize;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;
use windlass_entity_model::argocd::{
    Application, ApplicationSource, ApplicationSourceType, ApplicationSpec,
};
use windlass_entity_model::yaml::Mark;
use windlass_git_store::{ObjectId, Store};

use crate::repo::{Repositories, normalize_url};
use crate::{Error, Result};

/// The annotation naming the paths an Application's manifests depend on (`;`-separated;
/// relative to the app path, or to the repository root when they start with `/`).
pub const MANIFEST_GENERATE_PATHS: &str = "argocd.argoproj.io/manifest-generate-paths";

/// One source to render.
#[derive(Clone, Debug)]
pub struct RenderRequest<'a> {
    /// The Application's name (errors name it; `.argocd-source-<app>.yaml` is read).
    pub app_name: &'a str,
    /// The destination namespace (`ARGOCD_APP_NAMESPACE` for override substitution).
    pub namespace: &'a str,
    /// The source.
    pub source: &'a ApplicationSource,
    /// Fetch the repository before resolving the revision.
    pub refresh: bool,
}

/// What one source rendered to.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The objects, in the order the source yields them.
    pub objects: Arc<Vec<Value>>,
    /// The commit the source was rendered at (full SHA).
    pub revision: String,
    /// How the source was rendered.
    pub source_type: ApplicationSourceType,
}

/// A cached render: what it produced.
#[derive(Clone)]
struct Cached {
    objects: Arc<Vec<Value>>,
    source_type: ApplicationSourceType,
}

/// Entries kept in the young generation of the cache before it ages.
const CACHE_CAPACITY: usize = 4096;

/// A two-generation bounded map: when the young one is full it becomes the old one.
#[derive(Default)]
struct Cache {
    young: HashMap<String, Cached>,
    old: HashMap<String, Cached>,
}

impl Cache {
    fn get(&mut self, key: &str) -> Option<Cached> {
        if let Some(hit) = self.young.get(key) {
            return Some(hit.clone());
        }
        let hit = self.old.remove(key)?;
        self.insert(key.to_owned(), hit.clone());
        Some(hit)
    }

    fn insert(&mut self, key: String, value: Cached) {
        if self.young.len() >= CACHE_CAPACITY {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, value);
    }
}

/// Renders sources, caching results. `Send + Sync`; share it in an `Arc`.
pub struct Renderer {
    repos: Arc<Repositories>,
    cache: Mutex<Cache>,
    renders: AtomicU64,
    checkouts: kustomize::Checkouts,
    build_options: RwLock<Vec<String>>,
    /// The repository paths each app's last render read, by (app, repository, path).
    inputs: Mutex<HashMap<(String, String, String), Vec<String>>>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("repos", &self.repos)
            .field("renders", &self.renders())
            .finish_non_exhaustive()
    }
}

impl Renderer {
    /// A renderer reading from `repos`.
    pub fn new(repos: Arc<Repositories>) -> Self {
        Renderer {
            repos,
            cache: Mutex::new(Cache::default()),
            renders: AtomicU64::new(0),
            checkouts: kustomize::Checkouts::default(),
            build_options: RwLock::new(Vec::new()),
            inputs: Mutex::default(),
        }
    }

    /// The repositories this renderer reads.
    pub fn repositories(&self) -> &Arc<Repositories> {
        &self.repos
    }

    /// Extra arguments of every `kustomize build` (Argo's `kustomize.buildOptions`,
    /// e.g. `--load-restrictor LoadRestrictionsNone`), split on white space.
    pub fn set_kustomize_build_options(&self, options: &str) {
        *self
            .build_options
            .write()
            .unwrap_or_else(|e| e.into_inner()) =
            options.split_whitespace().map(str::to_owned).collect();
    }

    /// One source. Blocking (the caller uses spawn_blocking).
    pub fn render(&self, req: &RenderRequest<'_>) -> Result<Rendered> {
        self.render_with_generate_paths(req, None)
    }

    /// One source, with the value of the Application's
    /// [`manifest-generate-paths`](MANIFEST_GENERATE_PATHS) annotation: for Kustomize,
    /// those paths (plus the app path) decide when to re-render instead of the
    /// kustomizations' references.
    pub fn render_with_generate_paths(
        &self,
        req: &RenderRequest<'_>,
        manifest_generate_paths: Option<&str>,
    ) -> Result<Rendered> {
        let url = req
            .source
            .repo_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| Error::Render {
                at: Box::new(SourceContext {
                    app: req.app_name.to_owned(),
                    url: String::new(),
                    path: req.source.path.clone().unwrap_or_default(),
                    revision: req.source.target_revision.clone().unwrap_or_default(),
                }),
                message: "the source has no repoURL".to_owned(),
            })?;
        if let Some(chart) = req.source.chart.as_deref().filter(|c| !c.is_empty()) {
            return Err(Error::UnsupportedSource {
                at: Box::new(SourceContext {
                    app: req.app_name.to_owned(),
                    url: url.to_owned(),
                    path: chart.to_owned(),
                    revision: String::new(),
                }),
                what: "a Helm chart source".to_owned(),
            });
        }
        let (store, commit) =
            self.repos
                .resolve(url, req.source.target_revision.as_deref(), req.refresh)?;
        let mut src = Source {
            app: req.app_name,
            url,
            namespace: req.namespace,
            store: &store,
            commit,
            revision: commit.to_string(),
            path: String::new(),
            source: req.source.clone(),
        };
        src.path = normalize_path(req.source.path.as_deref().unwrap_or_default())
            .ok_or_else(|| src.error("the path leaves the repository".to_owned()))?;
        let Some(app_tree) = store
            .tree_id_at(commit, &src.path)
            .map_err(|e| src.git(e))?
        else {
            return Err(src.error("app path does not exist".to_owned()));
        };
        src.source = merge_source_parameters(&src)?;
        let source_type = source_type(&src)?;

        let repo_key = normalize_url(url);
        let mut key = format!(
            "{repo_key}\n{}\n{:?}\n{app_tree}\n{}",
            src.path,
            source_type,
            source_params(&src.source)
        );
        let build_options = self
            .build_options
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut read_paths = vec![src.path.clone()];
        if let (ApplicationSourceType::Directory, Some(paths)) = (
            source_type,
            manifest_generate_paths.filter(|p| !p.trim().is_empty()),
        ) {
            let mut inputs = Vec::new();
            generate_paths_inputs(&src, paths, &mut inputs)?;
            read_paths = inputs.into_iter().map(|(path, _)| path).collect();
        }
        if source_type == ApplicationSourceType::Kustomize {
            let mut inputs = Vec::new();
            match manifest_generate_paths.filter(|p| !p.trim().is_empty()) {
                Some(paths) => generate_paths_inputs(&src, paths, &mut inputs)?,
                None => kustomize::inputs(&src, &mut inputs)?,
            }
            inputs.sort();
            inputs.dedup();
            read_paths.extend(inputs.iter().map(|(path, _)| path.clone()));
            for (path, id) in inputs {
                key.push_str(&format!("\n{path}={id}"));
            }
            key.push_str(&format!("\nbuild options: {build_options:?}"));
            // Overrides may name the app, namespace or revision (`$ARGOCD_APP_...`).
            if source_params(&src.source).contains('$') {
                for (name, value) in kustomize::environment(&src) {
                    key.push_str(&format!("\n{name}={value}"));
                }
            }
        }

        self.inputs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                (req.app_name.to_owned(), repo_key.clone(), src.path.clone()),
                read_paths,
            );
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            tracing::debug!(app = req.app_name, url, path = %src.path, revision = %src.revision, "render cache hit");
            return Ok(Rendered {
                objects: hit.objects,
                revision: src.revision,
                source_type: hit.source_type,
            });
        }
        let started = std::time::Instant::now();
        let objects = match source_type {
            ApplicationSourceType::Directory => {
                directory::render(&src, &src.source.directory.clone().unwrap_or_default())?
            }
            ApplicationSourceType::Kustomize => {
                kustomize::render(&src, &self.checkouts, &repo_key, &build_options)?
            }
            ApplicationSourceType::Helm => {
                return Err(src.unsupported("a Helm source".to_owned()));
            }
            ApplicationSourceType::Plugin => {
                return Err(src.unsupported("a config management plugin source".to_owned()));
            }
        };
        self.renders.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            app = req.app_name, url, path = %src.path, revision = %src.revision,
            objects = objects.len(), elapsed_ms = started.elapsed().as_millis() as u64,
            "rendered"
        );
        let objects = Arc::new(objects);
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(
            key,
            Cached {
                objects: objects.clone(),
                source_type,
            },
        );
        Ok(Rendered {
            objects,
            revision: src.revision,
            source_type,
        })
    }

    /// An Application's sources: `spec.sources` when set, else `spec.source`; results in
    /// order; `ref`-only sources (no path) render nothing.
    ///
    /// Every source of a multi-source Application has a result (so results line up with
    /// `spec.sources` and `status.sync.revisions`); a source without `path` and `chart`
    /// there (a `ref` source) only has its revision resolved, with no objects.
    pub fn render_app(
        &self,
        app_name: &str,
        spec: &ApplicationSpec,
        refresh: bool,
    ) -> Result<Vec<Rendered>> {
        self.render_app_with_generate_paths(app_name, spec, None, refresh)
    }

    /// [`Renderer::render_app`] for an Application object: its name, and its
    /// [`manifest-generate-paths`](MANIFEST_GENERATE_PATHS) annotation.
    pub fn render_application(&self, app: &Application, refresh: bool) -> Result<Vec<Rendered>> {
        let name = app.metadata.name.as_deref().unwrap_or_default();
        let paths = app
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(MANIFEST_GENERATE_PATHS))
            .map(String::as_str);
        self.render_app_with_generate_paths(name, &app.spec, paths, refresh)
    }

    /// [`Renderer::render_app`] with the `manifest-generate-paths` annotation's value.
    pub fn render_app_with_generate_paths(
        &self,
        app_name: &str,
        spec: &ApplicationSpec,
        manifest_generate_paths: Option<&str>,
        refresh: bool,
    ) -> Result<Vec<Rendered>> {
        let namespace = spec
            .destination
            .as_ref()
            .and_then(|d| d.namespace.as_deref())
            .unwrap_or_default();
        let multi = spec.sources.as_ref().filter(|s| !s.is_empty());
        let sources: Vec<&ApplicationSource> = match (multi, &spec.source) {
            (Some(sources), _) => sources.iter().collect(),
            (None, Some(source)) => vec![source],
            (None, None) => {
                return Err(Error::Render {
                    at: Box::new(SourceContext {
                        app: app_name.to_owned(),
                        url: String::new(),
                        path: String::new(),
                        revision: String::new(),
                    }),
                    message: "the Application has neither spec.source nor spec.sources".to_owned(),
                });
            }
        };
        let mut out = Vec::with_capacity(sources.len());
        for source in sources {
            let empty = |s: &Option<String>| s.as_deref().is_none_or(|s| s.is_empty());
            if multi.is_some() && empty(&source.path) && empty(&source.chart) {
                let url = source.repo_url.as_deref().unwrap_or_default();
                let (_, commit) =
                    self.repos
                        .resolve(url, source.target_revision.as_deref(), refresh)?;
                out.push(Rendered {
                    objects: Arc::new(Vec::new()),
                    revision: commit.to_string(),
                    source_type: ApplicationSourceType::Directory,
                });
                continue;
            }
            out.push(self.render_with_generate_paths(
                &RenderRequest {
                    app_name,
                    namespace,
                    source,
                    refresh,
                },
                manifest_generate_paths,
            )?);
        }
        Ok(out)
    }

    /// The repository paths (relative to the repository root, `""` for all of it) that
    /// the last render of `app`'s sources in `repo_url` read, or None when it was never
    /// rendered. A commit that changes none of them cannot change what the app renders
    /// from that repository (the controller refreshes only the apps a commit affects).
    pub fn input_paths(&self, app: &str, repo_url: &str) -> Option<Vec<String>> {
        let repo = normalize_url(repo_url);
        let inputs = self.inputs.lock().unwrap_or_else(|e| e.into_inner());
        let mut found: Option<Vec<String>> = None;
        for ((a, r, _), paths) in inputs.iter() {
            if a == app && *r == repo {
                found
                    .get_or_insert_with(Vec::new)
                    .extend(paths.iter().cloned());
            }
        }
        found
    }

    /// How many renders ran (cache misses) — for tests and metrics.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }
}

/// Which source of which Application an error is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceContext {
    /// The Application.
    pub app: String,
    /// The repository URL as the source gives it.
    pub url: String,
    /// The source's path in the repository (`.` for the root), or its chart.
    pub path: String,
    /// The resolved commit, or the `targetRevision` when it was not resolved (may be
    /// empty).
    pub revision: String,
}

impl std::fmt::Display for SourceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "application {}: source {} path {:?}",
            self.app, self.url, self.path
        )?;
        if !self.revision.is_empty() {
            write!(f, " at {}", self.revision)?;
        }
        Ok(())
    }
}

/// A malformed manifest file in a source ([`Error::Manifest`]); `file` is relative to
/// the repository root and the position is 1-based (`0:0` when unknown).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("application {app}: source {url} at {revision}: {file}:{line}:{column}: {message}")]
pub struct ManifestError {
    /// The Application.
    pub app: String,
    /// The repository URL.
    pub url: String,
    /// The resolved commit.
    pub revision: String,
    /// The file, relative to the repository root.
    pub file: String,
    /// Line of the problem.
    pub line: usize,
    /// Column of the problem.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// One source being rendered: where it is, and the context errors carry.
pub(crate) struct Source<'a> {
    pub(crate) app: &'a str,
    pub(crate) url: &'a str,
    pub(crate) namespace: &'a str,
    pub(crate) store: &'a Store,
    pub(crate) commit: ObjectId,
    /// The commit as hex.
    pub(crate) revision: String,
    /// The app path, normalized (`""` for the root).
    pub(crate) path: String,
    /// The source, with `.argocd-source*.yaml` merged in.
    pub(crate) source: ApplicationSource,
}

impl Source<'_> {
    fn display_path(&self) -> String {
        if self.path.is_empty() {
            ".".to_owned()
        } else {
            self.path.clone()
        }
    }

    fn context(&self, with_revision: bool) -> Box<SourceContext> {
        Box::new(SourceContext {
            app: self.app.to_owned(),
            url: self.url.to_owned(),
            path: self.display_path(),
            revision: if with_revision {
                self.revision.clone()
            } else {
                String::new()
            },
        })
    }

    pub(crate) fn error(&self, message: String) -> Error {
        Error::Render {
            at: self.context(true),
            message,
        }
    }

    pub(crate) fn manifest(&self, file: &str, mark: Mark, message: String) -> Error {
        Error::Manifest(Box::new(ManifestError {
            app: self.app.to_owned(),
            url: self.url.to_owned(),
            revision: self.revision.clone(),
            file: file.to_owned(),
            line: mark.line,
            column: mark.column,
            message,
        }))
    }

    pub(crate) fn git(&self, source: windlass_git_store::Error) -> Error {
        Error::Git {
            url: self.url.to_owned(),
            source,
        }
    }

    pub(crate) fn unsupported(&self, what: String) -> Error {
        Error::UnsupportedSource {
            at: self.context(false),
            what,
        }
    }

    pub(crate) fn kustomize(&self, stderr: String) -> Error {
        Error::Kustomize {
            at: self.context(true),
            stderr,
        }
    }
}

/// `dir/name` (`name` alone when `dir` is the root).
pub(crate) fn join_path(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_owned(),
        (false, true) => dir.to_owned(),
        (false, false) => format!("{dir}/{name}"),
    }
}

/// A repository path with `.`, `..`, empty components and leading/trailing slashes
/// resolved (`""` is the root); `None` if it leaves the repository.
pub(crate) fn normalize_path(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Objects whose `items` is a list replaced by those items (Argo's `IsList`); lists
/// with `items: null` dropped.
pub(crate) fn flatten_lists(src: &Source<'_>, objects: Vec<Value>) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(objects.len());
    for object in objects {
        match object.get("items") {
            Some(Value::Array(items)) => {
                for item in items {
                    if !item.is_object() {
                        return Err(src.error(format!(
                            "an item of {} {:?} is not an object",
                            object["kind"].as_str().unwrap_or("a list"),
                            object
                                .pointer("/metadata/name")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                        )));
                    }
                    out.push(item.clone());
                }
            }
            Some(Value::Null) if object.get("spec").is_none() && object.get("status").is_none() => {
            }
            _ => out.push(object),
        }
    }
    Ok(out)
}

/// The source type: the explicit one, else detected from the app path's files (a
/// kustomization wins over a `*Chart.yaml`, as in Argo's walk).
fn source_type(src: &Source<'_>) -> Result<ApplicationSourceType> {
    let s = &src.source;
    let explicit: Vec<ApplicationSourceType> = [
        (s.kustomize.is_some(), ApplicationSourceType::Kustomize),
        (s.helm.is_some(), ApplicationSourceType::Helm),
        (s.directory.is_some(), ApplicationSourceType::Directory),
        (s.plugin.is_some(), ApplicationSourceType::Plugin),
    ]
    .into_iter()
    .filter_map(|(set, t)| set.then_some(t))
    .collect();
    match explicit.as_slice() {
        [one] => return Ok(*one),
        [] => {}
        many => {
            let names: Vec<String> = many.iter().map(|t| format!("{t:?}")).collect();
            return Err(src.error(format!(
                "multiple application sources defined: {}",
                names.join(",")
            )));
        }
    }
    let entries = src
        .store
        .list_dir(&src.revision, &src.path)
        .map_err(|e| src.git(e))?
        .unwrap_or_default();
    let files = entries
        .iter()
        .filter(|e| e.kind == windlass_git_store::EntryKind::File);
    let mut detected = ApplicationSourceType::Directory;
    for entry in files {
        if kustomize::KUSTOMIZATION_NAMES.contains(&entry.name.as_str()) {
            return Ok(ApplicationSourceType::Kustomize);
        }
        if entry.name.ends_with("Chart.yaml") {
            detected = ApplicationSourceType::Helm;
        }
    }
    Ok(detected)
}

/// The source with `.argocd-source.yaml` and `.argocd-source-<app>.yaml` of the app path
/// merged in (JSON merge patches, in that order); `repoURL`, `path`, `targetRevision`
/// and `chart` cannot be overridden.
fn merge_source_parameters(src: &Source<'_>) -> Result<ApplicationSource> {
    let mut files = vec![join_path(&src.path, ".argocd-source.yaml")];
    if !src.app.is_empty() {
        files.push(join_path(
            &src.path,
            &format!(".argocd-source-{}.yaml", src.app),
        ));
    }
    let mut merged: Option<Value> = None;
    for file in files {
        let Some(bytes) = src
            .store
            .read_file_at(src.commit, &file)
            .map_err(|e| src.git(e))?
        else {
            continue;
        };
        let text = directory::decode(src, &file, &bytes)?;
        let Some(document) = windlass_entity_model::yaml::parse_documents(&text)
            .into_iter()
            .next()
        else {
            continue;
        };
        let document = document.map_err(|e| src.manifest(&file, e.mark, e.message))?;
        let patch: Value = windlass_entity_model::de::from_node(
            &document.root,
            windlass_entity_model::FieldPath::root(),
        )
        .map_err(|e| src.manifest(&file, e.mark, e.message))?;
        let base = merged.get_or_insert_with(|| {
            serde_json::to_value(&src.source).unwrap_or(Value::Object(Default::default()))
        });
        merge_patch(base, &patch);
        // Validate as we go, so the error names the file that broke it.
        serde_json::from_value::<ApplicationSource>(base.clone()).map_err(|e| {
            src.manifest(
                &file,
                document.root.mark,
                format!("not a valid source override: {e}"),
            )
        })?;
    }
    let Some(merged) = merged else {
        return Ok(src.source.clone());
    };
    let mut out: ApplicationSource = serde_json::from_value(merged)
        .map_err(|e| src.error(format!("merging source overrides: {e}")))?;
    out.repo_url = src.source.repo_url.clone();
    out.path = src.source.path.clone();
    out.target_revision = src.source.target_revision.clone();
    out.chart = src.source.chart.clone();
    Ok(out)
}

/// RFC 7396 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// The parameters of a source that change its rendering (all but where it is).
fn source_params(source: &ApplicationSource) -> String {
    let mut params = source.clone();
    params.repo_url = None;
    params.target_revision = None;
    params.path = None;
    params.name = None;
    params.ref_ = None;
    serde_json::to_string(&params).unwrap_or_default()
}

/// The object ids of the annotation's paths (`;`-separated; `/`-prefixed ones from the
/// repository root, others from the app path); missing paths count as absent.
fn generate_paths_inputs(
    src: &Source<'_>,
    paths: &str,
    out: &mut Vec<(String, String)>,
) -> Result<()> {
    for raw in paths.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let joined = match raw.strip_prefix('/') {
            Some(from_root) => from_root.to_owned(),
            None => join_path(&src.path, raw),
        };
        let Some(path) = normalize_path(&joined) else {
            continue;
        };
        let id = match src
            .store
            .tree_id_at(src.commit, &path)
            .map_err(|e| src.git(e))?
        {
            Some(tree) => tree.to_string(),
            None => src
                .store
                .file_id_at(src.commit, &path)
                .map_err(|e| src.git(e))?
                .map_or_else(|| "absent".to_owned(), |id| id.to_string()),
        };
        out.push((path, id));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize_within_the_repository() {
        assert_eq!(normalize_path("./apps//web/"), Some("apps/web".to_owned()));
        assert_eq!(normalize_path("."), Some(String::new()));
        assert_eq!(
            normalize_path("apps/web/../../base"),
            Some("base".to_owned())
        );
        assert_eq!(normalize_path("apps/../../x"), None);
    }

    #[test]
    fn merge_patches_follow_rfc_7396() {
        let mut doc = serde_json::json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge_patch(
            &mut doc,
            &serde_json::json!({"a": {"b": null, "e": 3}, "d": [2]}),
        );
        assert_eq!(doc, serde_json::json!({"a": {"c": 2, "e": 3}, "d": [2]}));
    }
}
