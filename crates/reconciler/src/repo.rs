//! Source repositories: one local mirror per repository an Application points at, and
//! `targetRevision` resolution the way Argo CD's repo-server does it.
//!
//! Every repository URL is normalized the way Argo normalizes it (case, surrounding
//! space, a trailing `.git`), so `https://Example.com/org/app.git` and
//! `https://example.com/org/app` share one mirror. Mirrors are bare repositories under
//! the cache directory, fetched on first use and refreshed on demand; concurrent
//! refreshes of one repository coalesce into one fetch.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use windlass_git_store::{Config, ObjectId, Remote, Store};

use crate::{Error, Result};

/// Where a mirror keeps the commit the remote's `HEAD` (its default branch) points to.
const REMOTE_HEAD: &str = "refs/windlass/remote-head";

/// Credentials for one repository or, like Argo CD's repo-creds, every repository whose
/// URL starts with `url`.
#[derive(Clone, Debug)]
pub struct RepoCredentials {
    /// The exact repository URL, or a prefix of the URLs these credentials serve. The
    /// longest matching prefix wins (after normalization).
    pub url: String,
    /// The user name sent with the password (HTTP basic authentication).
    pub username: Option<String>,
    /// The password or token.
    pub password: Option<String>,
}

/// Argo's normalization of a Git URL, for comparing URLs and naming mirrors: lower case,
/// surrounding white space and a trailing `.git` removed.
pub fn normalize_url(url: &str) -> String {
    let url = url.trim().to_lowercase();
    url.strip_suffix(".git").unwrap_or(&url).to_owned()
}

/// One repository's mirror, created on first use.
struct Mirror {
    /// The URL as first given (what is fetched from).
    url: String,
    /// The store, once the first fetch succeeded. Held while fetching.
    store: Mutex<Option<Arc<Store>>>,
    /// Fetches completed so far: a caller that waited for the lock while another
    /// fetched does not fetch again.
    fetches: AtomicU64,
    /// Why the last fetch failed, until one succeeds: the mirror is not used meanwhile
    /// (as Argo's repo-server fails to list the remote's refs), so the Applications
    /// using it say so instead of showing what the mirror last saw.
    failure: Mutex<Option<String>>,
}

/// The mirrors of every source repository. `Send + Sync`; share it in an `Arc`.
pub struct Repositories {
    cache_dir: PathBuf,
    credentials: RwLock<Vec<RepoCredentials>>,
    mirrors: Mutex<HashMap<String, Arc<Mirror>>>,
}

impl std::fmt::Debug for Repositories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repositories")
            .field("cache_dir", &self.cache_dir)
            .finish_non_exhaustive()
    }
}

impl Repositories {
    /// Mirrors live under `cache_dir` (one bare mirror per normalized URL: Argo's
    /// normalization, e.g. trailing `.git`, case of host).
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Repositories {
            cache_dir: cache_dir.into(),
            credentials: RwLock::new(Vec::new()),
            mirrors: Mutex::new(HashMap::new()),
        }
    }

    /// The directory the mirrors live in.
    pub fn cache_dir(&self) -> &std::path::Path {
        &self.cache_dir
    }

    /// Replaces the known credentials (Argo's repository and repo-creds secrets).
    pub fn set_credentials(&self, creds: Vec<RepoCredentials>) {
        *self.credentials.write().unwrap_or_else(|e| e.into_inner()) = creds;
    }

    /// The remote to fetch `url` from, with the credentials of the longest matching
    /// credential URL (Argo's repo-creds matching).
    fn remote(&self, url: &str) -> Remote {
        let normalized = normalize_url(url);
        let creds = self.credentials.read().unwrap_or_else(|e| e.into_inner());
        let best = creds
            .iter()
            .filter(|c| c.password.is_some())
            .map(|c| (normalize_url(&c.url), c))
            .filter(|(prefix, _)| normalized.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len());
        match best {
            Some((_, c)) => Remote::with_token(
                url.trim(),
                c.username.clone().unwrap_or_default(),
                c.password.clone().unwrap_or_default(),
            ),
            None => Remote::new(url.trim()),
        }
    }

    fn mirror_entry(&self, url: &str) -> Arc<Mirror> {
        let key = normalize_url(url);
        let mut mirrors = self.mirrors.lock().unwrap_or_else(|e| e.into_inner());
        mirrors
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Mirror {
                    url: url.trim().to_owned(),
                    store: Mutex::new(None),
                    fetches: AtomicU64::new(0),
                    failure: Mutex::new(None),
                })
            })
            .clone()
    }

    /// The directory of the mirror of `url`: readable and stable across runs.
    fn mirror_dir(&self, url: &str) -> PathBuf {
        let normalized = normalize_url(url);
        let tail: String = normalized
            .rsplit(['/', ':'])
            .find(|s| !s.is_empty())
            .unwrap_or("repo")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(40)
            .collect();
        self.cache_dir
            .join(format!("{tail}-{:016x}.git", fnv1a(normalized.as_bytes())))
    }

    /// The mirror of `url`, fetched now when `fetch` is set or when it was never fetched.
    /// Returns the store and whether any reference moved.
    fn mirror(&self, url: &str, fetch: bool) -> Result<(Arc<Store>, bool)> {
        let mirror = self.mirror_entry(url);
        let seen = mirror.fetches.load(Ordering::Acquire);
        let mut slot = mirror.store.lock().unwrap_or_else(|e| e.into_inner());
        let git = |source| Error::Git {
            url: mirror.url.clone(),
            source,
        };
        let failure = || mirror.failure.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = slot.as_ref() {
            // Someone fetched while this caller waited: that fetch is as fresh.
            if !fetch || mirror.fetches.load(Ordering::Acquire) != seen {
                if let Some(message) = failure().clone() {
                    return Err(Error::Fetch {
                        url: mirror.url.clone(),
                        message,
                    });
                }
                return Ok((store.clone(), false));
            }
            let before = store.references().map_err(git)?;
            if let Err(e) = self.fetch(store, &mirror.url) {
                *failure() = Some(e.to_string());
                return Err(git(e));
            }
            *failure() = None;
            mirror.fetches.fetch_add(1, Ordering::AcqRel);
            let moved = store.references().map_err(git)? != before;
            return Ok((store.clone(), moved));
        }
        let dir = self.mirror_dir(url);
        let config = Config {
            // A mirror is a cache: it can be fetched again.
            durable: false,
            maintenance_interval: None,
            ..Config::default()
        };
        let store = Store::init(&dir, true, config).map_err(git)?;
        self.fetch(&store, &mirror.url).map_err(git)?;
        mirror.fetches.fetch_add(1, Ordering::AcqRel);
        tracing::info!(url = %mirror.url, dir = %dir.display(), "mirrored repository");
        let store = Arc::new(store);
        *slot = Some(store.clone());
        Ok((store, true))
    }

    /// Brings the mirror in line with the remote: branches, tags, and the commit of the
    /// remote's default branch.
    fn fetch(&self, store: &Store, url: &str) -> windlass_git_store::Result<()> {
        let remote = self.remote(url);
        store.refresh_mirror(&remote)?;
        // A remote without any reference (a new, empty repository) has no HEAD either;
        // one whose HEAD names a branch that does not exist (an unborn default branch)
        // still serves its other branches and tags: only `HEAD` does not resolve then.
        if store
            .references()?
            .iter()
            .any(|(name, _)| name != REMOTE_HEAD)
            && let Err(e) = store.fetch(&remote, &[&format!("+HEAD:{REMOTE_HEAD}")])
        {
            tracing::warn!(url, error = %e, "the remote's HEAD could not be fetched");
        }
        Ok(())
    }

    /// The mirror of `url` (fetched on first use) and the commit `target_revision`
    /// resolves to: empty/`HEAD` = the remote's default branch, a branch, a tag, a full
    /// or abbreviated commit SHA. With `refresh`, fetches first.
    ///
    /// A revision the mirror does not know yet triggers one fetch before it is reported
    /// as not found.
    pub fn resolve(
        &self,
        url: &str,
        target_revision: Option<&str>,
        refresh: bool,
    ) -> Result<(Arc<Store>, ObjectId)> {
        let (store, _) = self.mirror(url, refresh)?;
        if let Some(id) = resolve_in(url, &store, target_revision)? {
            return Ok((store, id));
        }
        if !refresh {
            let (store, _) = self.mirror(url, true)?;
            if let Some(id) = resolve_in(url, &store, target_revision)? {
                return Ok((store, id));
            }
        }
        Err(Error::RevisionNotFound {
            url: url.to_owned(),
            revision: target_revision.unwrap_or("HEAD").to_owned(),
        })
    }

    /// Fetches; returns whether any ref moved.
    pub fn refresh(&self, url: &str) -> Result<bool> {
        let entry = self.mirror_entry(url);
        let first = entry
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none();
        let (_, moved) = self.mirror(url, true)?;
        Ok(moved || first)
    }
}

/// Resolves `revision` in a mirror as Argo does: `HEAD`/empty is the remote's default
/// branch; otherwise a branch wins over a tag of the same name, then full and abbreviated
/// commit ids (and full reference names). `None` when nothing matches.
fn resolve_in(url: &str, store: &Store, revision: Option<&str>) -> Result<Option<ObjectId>> {
    let git = |source| Error::Git {
        url: url.to_owned(),
        source,
    };
    let revision = revision.map(str::trim).unwrap_or_default();
    let candidates: Vec<String> = if revision.is_empty() || revision == "HEAD" {
        vec![REMOTE_HEAD.to_owned()]
    } else {
        vec![
            format!("refs/heads/{revision}"),
            format!("refs/tags/{revision}"),
            revision.to_owned(),
        ]
    };
    for candidate in candidates {
        match store.resolve(&candidate) {
            Ok(id) => return Ok(Some(id)),
            Err(windlass_git_store::Error::RevisionNotFound { .. }) => {}
            Err(e) => return Err(git(e)),
        }
    }
    Ok(None)
}

/// 64-bit FNV-1a: a stable (across Rust versions) short hash for directory names.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_normalize_like_argo() {
        assert_eq!(
            normalize_url(" https://GitHub.com/Org/App.git "),
            "https://github.com/org/app"
        );
        assert_eq!(
            normalize_url("https://github.com/org/app"),
            normalize_url("https://github.com/org/app.git")
        );
    }

    #[test]
    fn longest_credential_prefix_wins() {
        let repos = Repositories::new("/nonexistent");
        repos.set_credentials(vec![
            RepoCredentials {
                url: "https://git.example.com/".into(),
                username: Some("org".into()),
                password: Some("broad".into()),
            },
            RepoCredentials {
                url: "https://git.example.com/team/".into(),
                username: Some("team".into()),
                password: Some("narrow".into()),
            },
        ]);
        let remote = repos.remote("https://git.example.com/team/app.git");
        assert_eq!(
            remote.auth,
            windlass_git_store::Auth::Token {
                username: "team".into(),
                token: "narrow".into()
            }
        );
        let remote = repos.remote("https://git.example.com/other/app");
        assert!(
            matches!(remote.auth, windlass_git_store::Auth::Token { ref token, .. } if token == "broad")
        );
        let remote = repos.remote("https://elsewhere.example.com/app");
        assert_eq!(remote.auth, windlass_git_store::Auth::None);
    }

    #[test]
    fn mirror_dirs_are_shared_by_equivalent_urls() {
        let repos = Repositories::new("/cache");
        assert_eq!(
            repos.mirror_dir("https://Example.com/org/app.git"),
            repos.mirror_dir("https://example.com/org/app")
        );
        assert_ne!(
            repos.mirror_dir("https://example.com/org/app"),
            repos.mirror_dir("https://example.com/other/app")
        );
    }
}
