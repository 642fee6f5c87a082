//! Asking the Git server itself what a credential may do: Git's smart HTTP protocol
//! works the same on every host (GitHub, GitLab, Gitea, Bitbucket, a plain
//! `git http-backend`), so it is the one answer that needs no provider API.
//!
//! `GET <repo>/info/refs?service=git-upload-pack` answered with the upload-pack
//! advertisement means the credential can fetch (read); the same for
//! `git-receive-pack` means it can push (write). `401`, `403` and `404` mean it
//! cannot; anything else (a 5xx, a login page, an unreachable server) is an error
//! and is not cached. Answers are cached per repository and credential for a TTL,
//! and dropped at once when a push with that credential was rejected
//! ([`Prober::invalidate`]).

use std::time::Duration;

use crate::cache::TtlCache;

use crate::{Error, GitPermission, Result};

/// The credential a user signs in with: HTTP Basic user name and secret (a personal
/// access token; most hosts ignore the user name of a token). Its `Debug` output
/// never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    username: String,
    secret: String,
}

impl Credential {
    /// A user name and its secret.
    pub fn new(username: impl Into<String>, secret: impl Into<String>) -> Credential {
        Credential {
            username: username.into(),
            secret: secret.into(),
        }
    }

    /// A token alone, sent with the user name `x-access-token` (which GitHub, GitLab
    /// and Gitea accept for tokens).
    pub fn token(secret: impl Into<String>) -> Credential {
        Credential::new("x-access-token", secret)
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The secret, to send to the server the credential belongs to.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// What identifies the credential in a cache without keeping the secret there.
    pub(crate) fn fingerprint(&self) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(self.username.as_bytes());
        ctx.update(&[0]);
        ctx.update(self.secret.as_bytes());
        let mut out = [0; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// How a [`Prober`] asks and remembers.
#[derive(Clone, Debug)]
pub struct ProbeConfig {
    /// How long an answer is reused (default 60 s): a permission removed on the Git
    /// host is noticed within this time, or at once on a rejected push.
    pub ttl: Duration,
    /// Timeout of one request (default 10 s).
    pub timeout: Duration,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            ttl: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Probes repositories for a credential's permission, with a cache.
pub struct Prober {
    client: reqwest::Client,
    /// (repository URL, credential fingerprint) → permission.
    cache: TtlCache<(String, [u8; 32]), GitPermission>,
}

impl Prober {
    /// A prober with its own HTTP client.
    pub fn new(config: ProbeConfig) -> Result<Prober> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("git/2 windlass/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| Error::Http {
                url: String::new(),
                source,
            })?;
        Ok(Prober {
            client,
            cache: TtlCache::new(config.ttl),
        })
    }

    /// The permission `credential` (`None`: anonymous) has on the repository at
    /// `repo_url`, from the cache while fresh, else from the server.
    pub async fn permission(
        &self,
        repo_url: &str,
        credential: Option<&Credential>,
    ) -> Result<GitPermission> {
        let url = normalize(repo_url)?;
        let key = (
            url.clone(),
            credential.map(Credential::fingerprint).unwrap_or_default(),
        );
        if let Some(perm) = self.cache.get(&key) {
            return Ok(perm);
        }
        let perm = if !self.advertised(&url, "git-upload-pack", credential).await? {
            GitPermission::None
        } else if self
            .advertised(&url, "git-receive-pack", credential)
            .await?
        {
            GitPermission::Write
        } else {
            GitPermission::Read
        };
        tracing::debug!(repo = %url, permission = %perm, "git permission probed");
        self.cache.insert(key, perm);
        Ok(perm)
    }

    /// The HTTP client (also used for providers' APIs, which want a `User-Agent`).
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Forgets what is known of `credential` on `repo_url`: call it when the server
    /// rejected a push, so the next check asks again.
    pub fn invalidate(&self, repo_url: &str, credential: Option<&Credential>) {
        if let Ok(url) = normalize(repo_url) {
            let fingerprint = credential.map(Credential::fingerprint).unwrap_or_default();
            self.cache.forget(|k| *k == (url.clone(), fingerprint));
        }
    }

    /// Whether the server grants `service`'s advertisement to `credential`.
    async fn advertised(
        &self,
        url: &str,
        service: &str,
        credential: Option<&Credential>,
    ) -> Result<bool> {
        let target = format!("{url}/info/refs?service={service}");
        let mut request = self.client.get(&target).header("Git-Protocol", "version=2");
        if let Some(c) = credential {
            request = request.basic_auth(c.username(), Some(c.secret()));
        }
        let response = request.send().await.map_err(|source| Error::Http {
            url: target.clone(),
            source,
        })?;
        let status = response.status().as_u16();
        match status {
            200 => {
                let expected = format!("application/x-{service}-advertisement");
                let content_type = response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if content_type.eq_ignore_ascii_case(&expected) {
                    Ok(true)
                } else {
                    Err(Error::Unexpected {
                        url: target,
                        status,
                        detail: format!(
                            "content type {content_type:?}, not {expected:?}: not a smart Git HTTP server"
                        ),
                    })
                }
            }
            401 | 403 | 404 => Ok(false),
            _ => Err(Error::Unexpected {
                url: target,
                status,
                detail: "neither granted nor refused".into(),
            }),
        }
    }
}

/// The repository URL without a trailing `/`; only http(s).
fn normalize(repo_url: &str) -> Result<String> {
    let url = repo_url.trim().trim_end_matches('/');
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(Error::UnsupportedUrl {
            url: repo_url.to_owned(),
        });
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_never_shows_its_secret() {
        let c = Credential::new("alice", "ghp_supersecret");
        assert!(!format!("{c:?}").contains("supersecret"));
        assert_ne!(
            c.fingerprint(),
            Credential::new("alice", "other").fingerprint()
        );
        assert_ne!(
            c.fingerprint(),
            Credential::new("bob", "ghp_supersecret").fingerprint()
        );
    }

    #[test]
    fn only_http_urls_are_probed() {
        assert!(matches!(
            normalize("git@github.com:o/r.git"),
            Err(Error::UnsupportedUrl { .. })
        ));
        assert_eq!(
            normalize("https://h/o/r.git/").expect("http"),
            "https://h/o/r.git"
        );
    }
}
