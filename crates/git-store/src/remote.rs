//! Remotes: fetch through gix, push through `git push --force-with-lease`, mirrors,
//! and watching a branch for new commits.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use gix::ObjectId;

use crate::error::ConflictReason;
use crate::history::CommitInfo;
use crate::store::{RefUpdate, sync_dir, update_ref};
use crate::{Config, Error, Result, Store};

/// How to authenticate to a remote.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Auth {
    /// No credentials (public remotes, `file://`).
    #[default]
    None,
    /// HTTP basic authentication with a token as the password (what GitHub, GitLab and
    /// Gitea accept for HTTPS).
    Token {
        /// The user name sent with the token (`x-access-token`, `oauth2`, a login, ...).
        username: String,
        /// The token. Never logged, never put on a command line.
        token: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Token { username, .. } => {
                write!(f, "Token {{ username: {username:?}, token: <redacted> }}")
            }
        }
    }
}

/// A remote repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    /// `file://`, `http://` or `https://` URL, without credentials.
    pub url: String,
    /// How to authenticate.
    pub auth: Auth,
}

impl Remote {
    /// A remote without credentials.
    pub fn new(url: impl Into<String>) -> Self {
        Remote {
            url: url.into(),
            auth: Auth::None,
        }
    }

    /// A remote authenticated with a token.
    pub fn with_token(
        url: impl Into<String>,
        username: impl Into<String>,
        token: impl Into<String>,
    ) -> Self {
        Remote {
            url: url.into(),
            auth: Auth::Token {
                username: username.into(),
                token: token.into(),
            },
        }
    }
}

impl Store {
    /// Fetches `refspecs` (e.g. `+refs/heads/*:refs/remotes/origin/*`) from `remote`.
    pub fn fetch(&self, remote: &Remote, refspecs: &[&str]) -> Result<()> {
        self.with_repo(|repo| {
            let context = || format!("fetching from {}", remote.url);
            let gix_remote = repo
                .remote_at(remote.url.as_str())
                .map_err(|e| Error::git(context(), e))?
                .with_refspecs(refspecs.iter().copied(), gix::remote::Direction::Fetch)
                .map_err(|e| Error::git(context(), e))?;
            let connection = gix_remote
                .connect(gix::remote::Direction::Fetch)
                .map_err(|e| Error::git(context(), e))?;
            let auth = remote.auth.clone();
            let connection = connection.with_credentials(move |action| match (action, &auth) {
                (gix::credentials::helper::Action::Get(ctx), Auth::Token { username, token }) => {
                    Ok(Some(gix::credentials::protocol::Outcome {
                        identity: gix::sec::identity::Account {
                            username: username.clone(),
                            password: token.clone(),
                            oauth_refresh_token: None,
                        },
                        next: ctx.into(),
                    }))
                }
                _ => Ok(None),
            });
            let result = connection
                .prepare_fetch(gix::progress::Discard, Default::default())
                .and_then(|prepare| {
                    prepare.receive(gix::progress::Discard, &AtomicBool::new(false))
                });
            if let Err(e) = result {
                let text = format!("{e:?}");
                if text.contains("401") || text.contains("uthenticat") || text.contains("403") {
                    return Err(Error::Auth {
                        url: remote.url.clone(),
                        detail: e.to_string(),
                    });
                }
                return Err(Error::git(context(), e));
            }
            Ok(())
        })?;
        // Fetched objects may have changed what refs point to; cached trees and blobs
        // are immutable and stay valid.
        if self.inner.config.durable {
            let pack = self.inner.git_dir.join("objects/pack");
            if pack.is_dir() {
                for entry in std::fs::read_dir(&pack)
                    .map_err(|e| Error::io(&pack, e))?
                    .flatten()
                {
                    if let Ok(f) = std::fs::File::open(entry.path()) {
                        f.sync_all().map_err(|e| Error::io(entry.path(), e))?;
                    }
                }
                sync_dir(&pack)?;
            }
        }
        Ok(())
    }

    /// Pushes local `branch` to the same branch of `remote`, provided the remote branch
    /// is still at `expected` (`None`: it must not exist) — `git push
    /// --force-with-lease`. When the remote moved, the push is refused with
    /// [`Error::Conflict`] and the local branch is reset to the remote's tip, so the
    /// caller can re-apply its change and retry.
    pub fn push(&self, remote: &Remote, branch: &str, expected: Option<ObjectId>) -> Result<()> {
        let refname = format!("refs/heads/{branch}");
        let lease = format!(
            "--force-with-lease={refname}:{}",
            expected.map(|id| id.to_string()).unwrap_or_default()
        );
        let mut command = Command::new("git");
        command
            .arg("--git-dir")
            .arg(&self.inner.git_dir)
            .args(["push", "--porcelain", &lease, &remote.url])
            .arg(format!("{refname}:{refname}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        git_environment(&mut command, &remote.auth);
        let output = command
            .output()
            .map_err(|e| Error::git("running `git push` (is git installed?)", e))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            tracing::info!(url = %remote.url, %branch, "pushed");
            return Ok(());
        }
        let rejected = stdout
            .lines()
            .find(|l| l.starts_with('!'))
            .map(|l| l.rsplit('\t').next().unwrap_or(l).trim().to_owned());
        if let Some(detail) = rejected {
            self.realign(remote, branch)?;
            return Err(Error::Conflict {
                branch: branch.to_owned(),
                reason: ConflictReason::RemoteMoved { detail },
            });
        }
        let lower = stderr.to_lowercase();
        if lower.contains("authentication")
            || lower.contains("401")
            || lower.contains("403")
            || lower.contains("could not read username")
        {
            return Err(Error::Auth {
                url: remote.url.clone(),
                detail: stderr.trim().to_owned(),
            });
        }
        Err(Error::git(
            format!("pushing {branch} to {}", remote.url),
            format!("git push failed ({}): {}", output.status, stderr.trim()),
        ))
    }

    /// After a refused push: fetch the remote branch and move the local branch to it.
    fn realign(&self, remote: &Remote, branch: &str) -> Result<()> {
        let tracking = format!("refs/windlass/remote/{branch}");
        self.fetch(remote, &[&format!("+refs/heads/{branch}:{tracking}")])?;
        let Some(remote_tip) = self.tip(&tracking)? else {
            return Ok(());
        };
        let local = self.tip(branch)?;
        self.with_repo(|repo| {
            match update_ref(
                repo,
                &format!("refs/heads/{branch}"),
                local,
                remote_tip,
                "realign with the remote",
            ) {
                Ok(()) => Ok(()),
                Err(RefUpdate::Moved(_)) => Ok(()), // someone else realigned it already
                Err(RefUpdate::Locked(e) | RefUpdate::Failed(e)) => Err(e),
            }
        })?;
        tracing::info!(%branch, %remote_tip, "local branch realigned with the remote after a refused push");
        Ok(())
    }

    /// A mirror: a local bare cache of `remote` at `path` (created if missing), with
    /// every branch and tag fetched; all reads are served from it. Refresh it with
    /// [`Store::refresh_mirror`].
    pub fn mirror(path: impl AsRef<Path>, remote: &Remote, config: Config) -> Result<Store> {
        let store = Store::init(path, true, config)?;
        store.refresh_mirror(remote)?;
        Ok(store)
    }

    /// Fetches every branch and tag of `remote` into this mirror.
    pub fn refresh_mirror(&self, remote: &Remote) -> Result<()> {
        self.fetch(
            remote,
            &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
        )
    }

    /// Watches `branch` for new commits: every `interval` (and at once on
    /// [`Watch::refresh_now`]) the mirror is refreshed from `remote` (when given) and the
    /// commits that arrived are reported, oldest first.
    pub fn watch(&self, branch: &str, remote: Option<Remote>, interval: Duration) -> Result<Watch> {
        let start = self.tip(branch)?;
        let (refresh_tx, refresh_rx) = mpsc::channel::<()>();
        let (events_tx, events_rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let store = self.clone();
        let branch = branch.to_owned();
        let stop_flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("watch-{branch}"))
            .spawn(move || {
                let mut last = start;
                while !matches!(
                    refresh_rx.recv_timeout(interval),
                    Err(mpsc::RecvTimeoutError::Disconnected)
                ) {
                    if stop_flag.load(Ordering::Relaxed) {
                        break;
                    }
                    let report = match store.poll(&branch, remote.as_ref(), &mut last) {
                        Ok(commits) if commits.is_empty() => continue,
                        other => other,
                    };
                    if events_tx.send(report).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| Error::git("starting the watch thread", e))?;
        Ok(Watch {
            refresh: refresh_tx,
            events: events_rx,
            stop,
            thread: Some(thread),
        })
    }

    fn poll(
        &self,
        branch: &str,
        remote: Option<&Remote>,
        last: &mut Option<ObjectId>,
    ) -> Result<Vec<CommitInfo>> {
        if let Some(remote) = remote {
            self.fetch(
                remote,
                &[&format!("+refs/heads/{branch}:refs/heads/{branch}")],
            )?;
        }
        let tip = self.tip(branch)?;
        if tip == *last {
            return Ok(Vec::new());
        }
        let mut commits = Vec::new();
        let mut cursor = tip;
        // Walk back (first parents) to the last commit reported; bounded in case the
        // branch was rewritten and `last` is no longer an ancestor.
        while let Some(id) = cursor {
            if Some(id) == *last || commits.len() >= 10_000 {
                break;
            }
            let info = self.commit_info(id, "")?;
            cursor = info.parents.first().copied();
            commits.push(info);
        }
        commits.reverse();
        *last = tip;
        Ok(commits)
    }
}

/// Environment for `git` subprocesses: no prompts, no user or system configuration, and
/// credentials through a helper defined in the environment (never the command line).
fn git_environment(command: &mut Command, auth: &Auth) {
    command
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_ASKPASS")
        .env_remove("SSH_ASKPASS");
    match auth {
        Auth::None => {
            command.env("GIT_CONFIG_COUNT", "0");
        }
        Auth::Token { username, token } => {
            command
                .env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "credential.helper")
                .env(
                    "GIT_CONFIG_VALUE_0",
                    "!f() { test \"$1\" = get && printf 'username=%s\\npassword=%s\\n' \"$WINDLASS_GIT_USERNAME\" \"$WINDLASS_GIT_TOKEN\"; }; f",
                )
                .env("WINDLASS_GIT_USERNAME", username)
                .env("WINDLASS_GIT_TOKEN", token);
        }
    }
}

/// New commits on a watched branch; see [`Store::watch`]. Stops when dropped.
pub struct Watch {
    refresh: mpsc::Sender<()>,
    events: mpsc::Receiver<Result<Vec<CommitInfo>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watch {
    /// Checks at once instead of waiting for the interval (e.g. on a webhook).
    pub fn refresh_now(&self) {
        let _ = self.refresh.send(());
    }

    /// The next batch of new commits (oldest first), waiting at most `timeout`.
    /// A failed refresh is reported as an error; the watch goes on.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Result<Vec<CommitInfo>>> {
        self.events.recv_timeout(timeout).ok()
    }

    /// The next batch of new commits, if one is ready.
    pub fn try_recv(&self) -> Option<Result<Vec<CommitInfo>>> {
        self.events.try_recv().ok()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.refresh.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
