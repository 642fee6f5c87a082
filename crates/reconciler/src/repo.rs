//! (placeholder until the repo module lands)
#![allow(missing_docs)]
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use windlass_git_store::{Config, ObjectId, Remote, Store};

#[derive(Clone, Debug)]
pub struct RepoCredentials {
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
}
pub struct Repositories {
    dir: PathBuf,
    mirrors: Mutex<HashMap<String, Arc<Store>>>,
}
impl Repositories {
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Repositories { dir: cache_dir.into(), mirrors: Mutex::default() }
    }
    pub fn set_credentials(&self, _creds: Vec<RepoCredentials>) {}
    fn mirror(&self, url: &str) -> crate::Result<(Arc<Store>, bool)> {
        let mut m = self.mirrors.lock().expect("lock");
        if let Some(s) = m.get(url) {
            return Ok((s.clone(), false));
        }
        let name: String = url.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        let s = Store::mirror(self.dir.join(name), &Remote::new(url), Config::default())
            .map_err(|source| crate::Error::Git { url: url.into(), source })?;
        let s = Arc::new(s);
        m.insert(url.into(), s.clone());
        Ok((s, true))
    }
    pub fn resolve(&self, url: &str, target_revision: Option<&str>, refresh: bool) -> crate::Result<(Arc<Store>, ObjectId)> {
        let (store, fresh) = self.mirror(url)?;
        if refresh && !fresh {
            store.refresh_mirror(&Remote::new(url)).map_err(|source| crate::Error::Git { url: url.into(), source })?;
        }
        let rev = match target_revision { None | Some("") | Some("HEAD") => "main", Some(r) => r };
        let id = store.resolve(rev).map_err(|source| crate::Error::Git { url: url.into(), source })?;
        Ok((store, id))
    }
    pub fn refresh(&self, url: &str) -> crate::Result<bool> {
        let (store, _) = self.mirror(url)?;
        store.refresh_mirror(&Remote::new(url)).map_err(|source| crate::Error::Git { url: url.into(), source })?;
        Ok(true)
    }
}
