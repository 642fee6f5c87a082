//! (placeholder until the project module lands)
#![allow(missing_docs)]
use windlass_entity_model::argocd::AppProjectSpec;
pub struct ProjectPolicy<'a> {
    #[allow(dead_code)]
    name: &'a str,
    #[allow(dead_code)]
    spec: &'a AppProjectSpec,
}
impl<'a> ProjectPolicy<'a> {
    pub fn new(name: &'a str, spec: &'a AppProjectSpec) -> Self {
        ProjectPolicy { name, spec }
    }
    pub fn check_source(&self, _repo_url: &str) -> Result<(), String> {
        Ok(())
    }
    pub fn check_destination(&self, _server: Option<&str>, _name: Option<&str>, _namespace: &str) -> Result<(), String> {
        Ok(())
    }
    pub fn check_resource(&self, _group: &str, _kind: &str, _namespaced: bool) -> Result<(), String> {
        Ok(())
    }
}
pub fn default_project_spec() -> AppProjectSpec {
    AppProjectSpec::default()
}
