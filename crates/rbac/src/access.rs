//! Entity permissions follow their file: a user's permission on an entity is their
//! Git permission on the repository and branch holding its manifest.

use crate::cache::TtlCache;
use crate::provider::{BranchPush, Provider, repo_path};
use crate::{Credential, GitPermission, ProbeConfig, Prober, Result};

/// Where an entity's manifest lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ManifestLocation {
    /// The repository's clone URL (http or https).
    pub repo_url: String,
    /// The branch; `None`: the repository's default branch.
    pub branch: Option<String>,
    /// The file's path in the repository.
    pub path: String,
}

/// A user's permissions on manifests: the protocol probe for every Git server, refined
/// per branch by a provider's API when one is configured (a protected branch a user
/// may not push to directly is read-only for them).
pub struct GitAccess {
    prober: Prober,
    provider: Option<Provider>,
    /// (repository, branch, credential fingerprint) → whether it may push there.
    branches: TtlCache<(String, String, [u8; 32]), bool>,
}

impl GitAccess {
    /// Permissions from the Git servers themselves and, if given, `provider`'s API.
    pub fn new(config: ProbeConfig, provider: Option<Provider>) -> Result<GitAccess> {
        let ttl = config.ttl;
        Ok(GitAccess {
            prober: Prober::new(config)?,
            provider,
            branches: TtlCache::new(ttl),
        })
    }

    /// `credential`'s permission on the manifest at `location`.
    pub async fn permission(
        &self,
        location: &ManifestLocation,
        credential: Option<&Credential>,
    ) -> Result<GitPermission> {
        let perm = self
            .prober
            .permission(&location.repo_url, credential)
            .await?;
        let (Some(provider), Some(branch), Some(credential), GitPermission::Write) =
            (&self.provider, &location.branch, credential, perm)
        else {
            return Ok(perm);
        };
        let Some(repo) = repo_path(&location.repo_url) else {
            return Ok(perm);
        };
        let key = (
            location.repo_url.clone(),
            branch.clone(),
            credential.fingerprint(),
        );
        let writable = match self.branches.get(&key) {
            Some(w) => w,
            None => {
                let access = provider
                    .repository(self.prober.client(), &repo, credential)
                    .await?;
                let push = provider
                    .branch(self.prober.client(), &repo, branch, credential, &access)
                    .await?;
                let w = matches!(
                    push,
                    BranchPush::Open | BranchPush::Protected { can_push: true }
                );
                self.branches.insert(key, w);
                w
            }
        };
        Ok(if writable {
            GitPermission::Write
        } else {
            GitPermission::Read
        })
    }

    /// A push with `credential` to `repo_url` was rejected: what is known of it is
    /// dropped, so the next check asks the server again.
    pub fn push_rejected(&self, repo_url: &str, credential: Option<&Credential>) {
        self.prober.invalidate(repo_url, credential);
        if let Some(c) = credential {
            let who = c.fingerprint();
            self.branches
                .forget(|(url, _, cred)| url == repo_url && *cred == who);
        }
    }
}
