//! (placeholder until the render module lands)
#![allow(missing_docs)]
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use serde_json::Value;
use windlass_entity_model::argocd::{ApplicationSource, ApplicationSourceType, ApplicationSpec};
use crate::repo::Repositories;

#[derive(Clone, Debug)]
pub struct RenderRequest<'a> {
    pub app_name: &'a str,
    pub namespace: &'a str,
    pub source: &'a ApplicationSource,
    pub refresh: bool,
}
#[derive(Clone, Debug)]
pub struct Rendered {
    pub objects: Arc<Vec<Value>>,
    pub revision: String,
    pub source_type: ApplicationSourceType,
}
pub struct Renderer {
    repos: Arc<Repositories>,
    renders: AtomicU64,
}
impl Renderer {
    pub fn new(repos: Arc<Repositories>) -> Self {
        Renderer { repos, renders: AtomicU64::new(0) }
    }
    pub fn render(&self, req: &RenderRequest<'_>) -> crate::Result<Rendered> {
        let url = req.source.repo_url.as_deref().unwrap_or_default();
        let (store, commit) = self.repos.resolve(url, req.source.target_revision.as_deref(), req.refresh)?;
        self.renders.fetch_add(1, Ordering::Relaxed);
        let rev = commit.to_string();
        let path = req.source.path.as_deref().unwrap_or(".").trim_matches('/');
        let prefix = if path == "." { "" } else { path };
        let files = store.manifest_files(&rev, prefix).map_err(|source| crate::Error::Git { url: url.into(), source })?;
        let mut objects = Vec::new();
        for (name, bytes) in files {
            let text = String::from_utf8_lossy(&bytes);
            for doc in windlass_entity_model::yaml::parse_documents(&text) {
                let doc = doc.map_err(|e| crate::Error::Invalid { what: format!("{url} {name}"), message: e.to_string() })?;
                let v: Value = windlass_entity_model::de::from_node(&doc.root, windlass_entity_model::FieldPath::root()).map_err(|e| crate::Error::Invalid { what: format!("{url} {name}"), message: e.to_string() })?;
                objects.push(v);
            }
        }
        Ok(Rendered { objects: Arc::new(objects), revision: rev, source_type: ApplicationSourceType::Directory })
    }
    pub fn render_app(&self, app_name: &str, spec: &ApplicationSpec, refresh: bool) -> crate::Result<Vec<Rendered>> {
        let ns = spec.destination.as_ref().and_then(|d| d.namespace.as_deref()).unwrap_or_default();
        let sources: Vec<&ApplicationSource> = match &spec.sources { Some(s) if !s.is_empty() => s.iter().collect(), _ => spec.source.iter().collect() };
        sources.into_iter().map(|source| self.render(&RenderRequest { app_name, namespace: ns, source, refresh })).collect()
    }
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }
}
