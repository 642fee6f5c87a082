//! Provider adapters: what the plain protocol cannot tell — whether a user administers
//! the repository, and whether a protected branch takes their direct pushes — read
//! from the host's own API. Optional: without one, the protocol probe's answer holds
//! for every branch.
//!
//! The answers' formats are the providers' documented ones: GitHub's
//! [repository](https://docs.github.com/en/rest/repos/repos#get-a-repository)
//! `permissions` and [branch](https://docs.github.com/en/rest/branches/branches#get-a-branch)
//! `protected`; GitLab's [project](https://docs.gitlab.com/api/projects/#get-a-single-project)
//! `permissions.{project,group}_access.access_level` and
//! [protected branch](https://docs.gitlab.com/api/protected_branches/) `push_access_levels`;
//! Gitea's (and Forgejo's) repository `permissions` and branch `user_can_push`.

use crate::{Credential, Error, GitPermission, Result};

/// A Git host's API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provider {
    /// GitHub or GitHub Enterprise: `api` is `https://api.github.com` or
    /// `https://<host>/api/v3`.
    GitHub {
        /// The API's base URL.
        api: String,
    },
    /// GitLab: `api` is `https://gitlab.com/api/v4` or `https://<host>/api/v4`.
    GitLab {
        /// The API's base URL.
        api: String,
    },
    /// Gitea or Forgejo: `api` is `https://<host>/api/v1`.
    Gitea {
        /// The API's base URL.
        api: String,
    },
}

/// What a provider says of a user on a repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepoAccess {
    /// Fetch or push, as the provider's roles give.
    pub permission: GitPermission,
    /// Whether the user administers the repository (bypasses branch protection where
    /// the provider lets admins do so).
    pub admin: bool,
    /// GitLab's access level (10 guest … 50 owner), to compare with a protected
    /// branch's push levels; `None` elsewhere.
    pub level: Option<u32>,
}

/// What a provider says of pushing to one branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BranchPush {
    /// Not protected (or not there yet): a user with write may push.
    Open,
    /// Protected; whether this user may push to it directly.
    Protected {
        /// The provider's answer for this user.
        can_push: bool,
    },
}

impl Provider {
    fn name(&self) -> &'static str {
        match self {
            Provider::GitHub { .. } => "GitHub",
            Provider::GitLab { .. } => "GitLab",
            Provider::Gitea { .. } => "Gitea",
        }
    }

    fn api(&self) -> &str {
        match self {
            Provider::GitHub { api } | Provider::GitLab { api } | Provider::Gitea { api } => {
                api.trim_end_matches('/')
            }
        }
    }

    /// What `credential` may do on the repository `repo` (its path on the host, e.g.
    /// `owner/name`; see [`repo_path`]).
    pub async fn repository(
        &self,
        client: &reqwest::Client,
        repo: &str,
        credential: &Credential,
    ) -> Result<RepoAccess> {
        let url = match self {
            Provider::GitHub { .. } | Provider::Gitea { .. } => {
                format!("{}/repos/{}", self.api(), encode_path(repo))
            }
            Provider::GitLab { .. } => format!("{}/projects/{}", self.api(), encode(repo)),
        };
        match self.get(client, &url, credential).await? {
            None => Ok(RepoAccess {
                permission: GitPermission::None,
                admin: false,
                level: None,
            }),
            Some(body) => self
                .parse_repository(&body)
                .map_err(|detail| Error::Format {
                    url,
                    provider: self.name(),
                    detail,
                }),
        }
    }

    /// Whether `credential`, with `access` on `repo`, may push to `branch` directly.
    pub async fn branch(
        &self,
        client: &reqwest::Client,
        repo: &str,
        branch: &str,
        credential: &Credential,
        access: &RepoAccess,
    ) -> Result<BranchPush> {
        let url = match self {
            Provider::GitHub { .. } | Provider::Gitea { .. } => format!(
                "{}/repos/{}/branches/{}",
                self.api(),
                encode_path(repo),
                encode(branch)
            ),
            Provider::GitLab { .. } => format!(
                "{}/projects/{}/protected_branches/{}",
                self.api(),
                encode(repo),
                encode(branch)
            ),
        };
        match self.get(client, &url, credential).await? {
            None => Ok(BranchPush::Open),
            Some(body) => self
                .parse_branch(&body, access)
                .map_err(|detail| Error::Format {
                    url,
                    provider: self.name(),
                    detail,
                }),
        }
    }

    /// The body of a `200`, `None` for a `404` (or a `401`/`403`: no access).
    async fn get(
        &self,
        client: &reqwest::Client,
        url: &str,
        credential: &Credential,
    ) -> Result<Option<Vec<u8>>> {
        let request = client.get(url).header("Accept", "application/json");
        let request = match self {
            Provider::GitHub { .. } => request
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28")
                .bearer_auth(credential.secret()),
            Provider::GitLab { .. } => request.header("PRIVATE-TOKEN", credential.secret()),
            Provider::Gitea { .. } => {
                request.header("Authorization", format!("token {}", credential.secret()))
            }
        };
        let response = request.send().await.map_err(|source| Error::Http {
            url: url.to_owned(),
            source,
        })?;
        match response.status().as_u16() {
            200 => {
                let body = response.bytes().await.map_err(|source| Error::Http {
                    url: url.to_owned(),
                    source,
                })?;
                Ok(Some(body.to_vec()))
            }
            401 | 403 | 404 => Ok(None),
            status => Err(Error::Unexpected {
                url: url.to_owned(),
                status,
                detail: format!("from the {} API", self.name()),
            }),
        }
    }

    /// A repository answer, in this provider's documented format.
    pub fn parse_repository(&self, body: &[u8]) -> Result<RepoAccess, String> {
        let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let flag = |v: &serde_json::Value, key: &str| v.get(key).and_then(|b| b.as_bool());
        match self {
            Provider::GitHub { .. } | Provider::Gitea { .. } => {
                let public = flag(&v, "private") == Some(false);
                let Some(p) = v.get("permissions") else {
                    // Anonymous: GitHub leaves `permissions` out; a public repository
                    // is still readable.
                    return Ok(RepoAccess {
                        permission: if public {
                            GitPermission::Read
                        } else {
                            GitPermission::None
                        },
                        admin: false,
                        level: None,
                    });
                };
                let admin = flag(p, "admin").ok_or("permissions.admin is missing")?;
                let push = flag(p, "push").ok_or("permissions.push is missing")?;
                let pull = flag(p, "pull").ok_or("permissions.pull is missing")?;
                Ok(RepoAccess {
                    permission: if push || admin {
                        GitPermission::Write
                    } else if pull || public {
                        GitPermission::Read
                    } else {
                        GitPermission::None
                    },
                    admin,
                    level: None,
                })
            }
            Provider::GitLab { .. } => {
                let p = v.get("permissions").ok_or("permissions is missing")?;
                let level = ["project_access", "group_access"]
                    .iter()
                    .filter_map(|k| p.get(k)?.get("access_level")?.as_u64())
                    .max()
                    .unwrap_or(0) as u32;
                let public = matches!(
                    v.get("visibility").and_then(|s| s.as_str()),
                    Some("public" | "internal")
                );
                // 20 reporter (reads code), 30 developer (pushes), 40 maintainer.
                Ok(RepoAccess {
                    permission: if level >= 30 {
                        GitPermission::Write
                    } else if level >= 20 || public {
                        GitPermission::Read
                    } else {
                        GitPermission::None
                    },
                    admin: level >= 40,
                    level: Some(level),
                })
            }
        }
    }

    /// A branch answer, in this provider's documented format.
    pub fn parse_branch(&self, body: &[u8], access: &RepoAccess) -> Result<BranchPush, String> {
        let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        match self {
            Provider::GitHub { .. } => {
                let protected = v
                    .get("protected")
                    .and_then(|b| b.as_bool())
                    .ok_or("protected is missing")?;
                // The branch answer does not say who may push; a protected branch is
                // taken to need a pull request, which admins may bypass. Never more
                // than GitHub would accept.
                Ok(if protected {
                    BranchPush::Protected {
                        can_push: access.admin,
                    }
                } else {
                    BranchPush::Open
                })
            }
            Provider::GitLab { .. } => {
                let levels = v
                    .get("push_access_levels")
                    .and_then(|l| l.as_array())
                    .ok_or("push_access_levels is missing")?;
                let level = access.level.unwrap_or(0);
                // Access level 0 is "no one"; a level entry lets that role and above.
                let can_push = levels.iter().any(|l| {
                    l.get("access_level")
                        .and_then(|a| a.as_u64())
                        .is_some_and(|a| a > 0 && u64::from(level) >= a)
                });
                Ok(BranchPush::Protected { can_push })
            }
            Provider::Gitea { .. } => {
                let protected = v
                    .get("protected")
                    .and_then(|b| b.as_bool())
                    .unwrap_or(false);
                let can_push = v
                    .get("user_can_push")
                    .and_then(|b| b.as_bool())
                    .ok_or("user_can_push is missing")?;
                Ok(if protected {
                    BranchPush::Protected { can_push }
                } else {
                    BranchPush::Open
                })
            }
        }
    }
}

/// The repository's path on its host (`owner/name`, GitLab's `group/sub/name`), from
/// its clone URL: the URL's path without the leading `/` and a trailing `.git`.
pub fn repo_path(repo_url: &str) -> Option<String> {
    let rest = repo_url.split_once("://")?.1;
    let path = rest.split_once('/')?.1.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    (!path.is_empty()).then(|| path.to_owned())
}

/// Percent-encodes everything but unreserved characters (so `/` too: GitLab's project
/// ids and branch names).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes each `/`-separated segment.
fn encode_path(path: &str) -> String {
    path.split('/').map(encode).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_paths_come_from_clone_urls() {
        assert_eq!(
            repo_path("https://github.com/o/r.git").as_deref(),
            Some("o/r")
        );
        assert_eq!(
            repo_path("https://gitlab.com/g/sub/r/").as_deref(),
            Some("g/sub/r")
        );
        assert_eq!(repo_path("https://host/"), None);
        assert_eq!(encode("g/sub r"), "g%2Fsub%20r");
    }
}
