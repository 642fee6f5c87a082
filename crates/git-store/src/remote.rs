//! Remotes: fetch through gix, push through `git push --force-with-lease`, mirrors,
//! and watching a branch for new commits.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use gix::ObjectId;
use gix::refs::transaction::{Change as RefChange, PreviousValue, RefEdit, RefLog};

use crate::error::ConflictReason;
use crate::history::CommitInfo;
use crate::refs::RefUpdate;
use crate::store::sync_dir;
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

impl Remote {
    /// Refuses what must not reach `git` or gix: schemes other than `file`, `http` and
    /// `https` (no `ext::` helpers, no option-like arguments), credentials inside the
    /// URL (they would end up in errors and logs; use [`Auth::Token`]), and control
    /// characters in the URL or the credentials (they would inject lines into the
    /// credential protocol). The token is never quoted in the error.
    fn validate(&self) -> Result<()> {
        let invalid =
            |field: &'static str, reason: String| Err(Error::InvalidInput { field, reason });
        if self.url.chars().any(char::is_control) {
            return invalid("remote url", "contains a control character".into());
        }
        let Some((scheme, rest)) = self.url.split_once("://") else {
            return invalid(
                "remote url",
                "is not a URL: use file://, http:// or https://".into(),
            );
        };
        if !matches!(scheme, "file" | "http" | "https") {
            return invalid(
                "remote url",
                format!("scheme {scheme:?} is not supported: use file://, http:// or https://"),
            );
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return invalid(
                "remote url",
                "contains credentials: pass them as Auth::Token instead".into(),
            );
        }
        if let Auth::Token { username, token } = &self.auth {
            let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
            let loopback = matches!(host, "localhost" | "[::1]") || host.starts_with("127.");
            if scheme == "http" && !loopback {
                return invalid(
                    "remote url",
                    "a token is never sent in clear text over http:// (except to loopback): \
                     use https://"
                        .into(),
                );
            }
            if username.chars().any(char::is_control) {
                return invalid("remote username", "contains a control character".into());
            }
            if token.chars().any(char::is_control) {
                return invalid("remote token", "contains a control character".into());
            }
        }
        Ok(())
    }
}

/// What a fetch mapped: the local references the refspecs matched on the remote.
struct Fetched {
    /// Full names of the local references the fetch wrote or confirmed.
    locals: HashSet<String>,
}

impl Store {
    /// Fetches `refspecs` (e.g. `+refs/heads/*:refs/remotes/origin/*`) from `remote`.
    ///
    /// Exactly what the refspecs name is fetched (tags only when a refspec asks for
    /// them). It is an error, as with `git fetch`, when no refspec matches anything on
    /// a remote that has references, or when a reference update is one its refspec does
    /// not allow (a non-fast-forward without `+`).
    pub fn fetch(&self, remote: &Remote, refspecs: &[&str]) -> Result<()> {
        self.fetch_mapped(remote, refspecs, false).map(|_| ())
    }

    /// Fetches and reports what was mapped; with `allow_missing`, refspecs that match
    /// nothing on the remote are not an error (nothing is fetched).
    fn fetch_mapped(
        &self,
        remote: &Remote,
        refspecs: &[&str],
        allow_missing: bool,
    ) -> Result<Fetched> {
        remote.validate()?;
        let context = || format!("fetching from {}", remote.url);
        let auth_error = |detail: String| Error::Auth {
            url: remote.url.clone(),
            detail,
        };
        let fetched = self.with_repo(|repo| {
            // Negotiation looks local objects up without refreshing the object database:
            // make it see the packs written since it last looked (the store writes one
            // per group of commits).
            if let Ok(platform) = repo.references()
                && let Ok(all) = platform.all()
            {
                for reference in all.flatten() {
                    if let Some(id) = reference.target().try_id() {
                        repo.has_object(id);
                    }
                }
            }
            let gix_remote = repo
                .remote_at(remote.url.as_str())
                .map_err(|e| Error::git(context(), e))?
                .with_fetch_tags(gix::remote::fetch::Tags::None)
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
            let classify = |e: gix::Error| {
                use gix::protocol::transport::client::Error as TransportError;
                if let Some(TransportError::AuthenticationRefused(_)) = e.downcast_any_ref() {
                    auth_error("the server refused the credentials".into())
                } else if e.is_unauthenticated() || e.is_permission_denied() {
                    auth_error(e.to_string())
                } else {
                    Error::git(context(), e)
                }
            };
            let prepare = connection
                .prepare_fetch(gix::progress::Discard, Default::default())
                .map_err(classify)?;
            if allow_missing && prepare.ref_map().mappings.is_empty() {
                return Ok(Fetched {
                    locals: HashSet::new(),
                });
            }
            let outcome = prepare
                .receive(gix::progress::Discard, &AtomicBool::new(false))
                .map_err(classify)?;
            let update_refs = match &outcome.status {
                gix::remote::fetch::Status::NoPackReceived { update_refs, .. }
                | gix::remote::fetch::Status::Change { update_refs, .. } => update_refs,
            };
            use gix::remote::fetch::refs::update::Mode;
            let mut rejected = Vec::new();
            for (update, mapping) in update_refs.updates.iter().zip(&outcome.ref_map.mappings) {
                if matches!(
                    update.mode,
                    Mode::RejectedSourceObjectNotFound { .. }
                        | Mode::RejectedTagUpdate
                        | Mode::RejectedNonFastForward
                        | Mode::RejectedToReplaceWithUnborn
                        | Mode::RejectedCurrentlyCheckedOut { .. }
                ) {
                    let name = mapping
                        .local
                        .as_ref()
                        .map(|l| l.to_string())
                        .unwrap_or_default();
                    rejected.push(format!("{name}: {}", update.mode));
                }
            }
            if !rejected.is_empty() {
                return Err(Error::git(
                    context(),
                    format!("references not updated: {}", rejected.join("; ")),
                ));
            }
            Ok(Fetched {
                locals: outcome
                    .ref_map
                    .mappings
                    .iter()
                    .filter_map(|m| m.local.as_ref().map(|l| l.to_string()))
                    .collect(),
            })
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
        Ok(fetched)
    }

    /// Pushes local `branch` to the same branch of `remote`, provided the remote branch
    /// is still at `expected` (`None`: it must not exist) — `git push
    /// --force-with-lease`. When the remote moved, the push is refused with
    /// [`Error::Conflict`] and the local branch is reset to the remote's tip, so the
    /// caller can re-apply its change and retry. A push the remote refuses for another
    /// reason (a hook, a protected branch) is an [`Error::Git`] and leaves the local
    /// branch alone; refused credentials are [`Error::Auth`].
    pub fn push(&self, remote: &Remote, branch: &str, expected: Option<ObjectId>) -> Result<()> {
        remote.validate()?;
        let refname = format!("refs/heads/{branch}");
        gix::refs::FullName::try_from(refname.as_str()).map_err(|e| Error::InvalidInput {
            field: "branch",
            reason: format!("{branch:?} is not a valid branch name: {e}"),
        })?;
        let lease = format!(
            "--force-with-lease={refname}:{}",
            expected.map(|id| id.to_string()).unwrap_or_default()
        );
        let mut command = Command::new("git");
        command
            .arg("--git-dir")
            .arg(&self.inner.git_dir)
            // `--` ends the options: the URL and refspec are never read as options.
            .args(["push", "--porcelain", &lease, "--", &remote.url])
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
        // Porcelain: `!\t<src>:<dst>\t[rejected] (stale info)` or
        // `!\t<src>:<dst>\t[remote rejected] (<reason>)`.
        let refused = stdout
            .lines()
            .find(|l| l.starts_with('!'))
            .map(|l| l.rsplit('\t').next().unwrap_or(l).trim().to_owned());
        if let Some(detail) = refused {
            // Whatever git says, the remote moved exactly when its tip is no longer the
            // lease; only then is this a conflict to realign on.
            let remote_tip = self.realign(remote, branch, expected)?;
            if remote_tip != expected {
                return Err(Error::Conflict {
                    branch: branch.to_owned(),
                    reason: ConflictReason::RemoteMoved { detail },
                });
            }
            return Err(Error::git(
                format!("pushing {branch} to {}", remote.url),
                format!("the remote refused the push: {detail}: {}", stderr.trim()),
            ));
        }
        if is_auth_failure(&stderr) {
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

    /// After a refused push: fetches the remote branch and, if it is no longer at
    /// `expected`, moves the local branch to it. Returns the remote's tip (`None`: the
    /// remote has no such branch; the local branch is then left as it is).
    fn realign(
        &self,
        remote: &Remote,
        branch: &str,
        expected: Option<ObjectId>,
    ) -> Result<Option<ObjectId>> {
        let tracking = format!("refs/windlass/remote/{branch}");
        let fetched =
            self.fetch_mapped(remote, &[&format!("+refs/heads/{branch}:{tracking}")], true)?;
        if !fetched.locals.contains(&tracking) {
            return Ok(None);
        }
        let remote_tip = self.tip(&tracking)?;
        let Some(remote_tip) = remote_tip.filter(|tip| Some(*tip) != expected) else {
            return Ok(remote_tip);
        };
        let local = self.tip(branch)?;
        if local == Some(remote_tip) {
            return Ok(Some(remote_tip));
        }
        let committer = self.committer_now();
        self.with_repo(|repo| {
            match crate::refs::update(
                repo,
                &format!("refs/heads/{branch}"),
                local,
                remote_tip,
                &committer,
                "realign with the remote",
                self.inner.config.ref_lock_timeout,
            ) {
                Ok(()) => Ok(()),
                Err(RefUpdate::Moved(_)) => Ok(()), // someone else realigned it already
                Err(RefUpdate::Failed(e)) => Err(e),
            }
        })?;
        tracing::info!(%branch, %remote_tip, "local branch realigned with the remote after a refused push");
        Ok(Some(remote_tip))
    }

    /// A mirror: a local bare cache of `remote` at `path` (created if missing), with
    /// every branch and tag fetched; all reads are served from it. Refresh it with
    /// [`Store::refresh_mirror`].
    pub fn mirror(path: impl AsRef<Path>, remote: &Remote, config: Config) -> Result<Store> {
        let store = Store::init(path, true, config)?;
        store.refresh_mirror(remote)?;
        Ok(store)
    }

    /// Brings this mirror in line with `remote`: every branch and tag is fetched
    /// (forced, as the remote has them), and branches and tags the remote no longer
    /// has are removed.
    pub fn refresh_mirror(&self, remote: &Remote) -> Result<()> {
        let fetched = self.fetch_mapped(
            remote,
            &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
            true,
        )?;
        self.with_repo(|repo| {
            let context = "pruning the mirror";
            let platform = repo.references().map_err(|e| Error::git(context, e))?;
            let mut edits = Vec::new();
            for prefix in ["refs/heads/", "refs/tags/"] {
                for reference in platform
                    .prefixed(prefix)
                    .map_err(|e| Error::git(context, e))?
                {
                    let reference = reference.map_err(|e| Error::git(context, e))?;
                    let name = reference.name().as_bstr().to_string();
                    if fetched.locals.contains(&name) {
                        continue;
                    }
                    tracing::info!(reference = %name, url = %remote.url, "gone from the remote: removed from the mirror");
                    edits.push(RefEdit {
                        change: RefChange::Delete {
                            expected: PreviousValue::MustExistAndMatch(
                                reference.target().into_owned(),
                            ),
                            log: RefLog::AndReference,
                        },
                        name: reference.name().to_owned(),
                        deref: false,
                    });
                }
            }
            if !edits.is_empty() {
                repo.edit_references(edits)
                    .map_err(|e| Error::git(context, e))?;
            }
            Ok(())
        })
    }

    /// Watches `branch` for new commits: every `interval` (and at once on
    /// [`Watch::refresh_now`]) the branch is refreshed from `remote` (when given) and
    /// the commits that arrived are reported, oldest first (following first parents).
    ///
    /// With a remote, the local branch is force-updated to the remote's: watch a
    /// [mirror](Store::mirror), not a store that commits on that branch itself.
    pub fn watch(&self, branch: &str, remote: Option<Remote>, interval: Duration) -> Result<Watch> {
        if let Some(remote) = &remote {
            remote.validate()?;
        }
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
            // A branch the remote does not have (yet) is no error: nothing is new.
            self.fetch_mapped(
                remote,
                &[&format!("+refs/heads/{branch}:refs/heads/{branch}")],
                true,
            )?;
        }
        let tip = self.tip(branch)?;
        if tip == *last {
            return Ok(Vec::new());
        }
        // Report what is new since the last commit reported; when the branch was
        // rewritten, since where the old and new histories meet.
        let stop = match (tip, *last) {
            (Some(tip), Some(last)) => self.with_repo(|repo| {
                Ok(match repo.merge_base(tip, last) {
                    Ok(base) => base.map(|id| id.detach()),
                    Err(e) => {
                        // E.g. `last` is gone after a rewrite and gc: fall back to the
                        // bounded walk rather than failing every poll from now on.
                        tracing::warn!(%branch, error = %e, "no merge base with the last reported commit");
                        None
                    }
                })
            })?,
            _ => None,
        };
        let mut commits = Vec::new();
        let mut cursor = tip;
        // Bounded in case the histories share nothing.
        while let Some(id) = cursor {
            if Some(id) == stop || commits.len() >= 10_000 {
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

/// Whether `git push`'s standard error says the credentials were missing or refused.
fn is_auth_failure(stderr: &str) -> bool {
    let lower = stderr.to_lowercase();
    [
        "authentication failed",
        "could not read username",
        "could not read password",
        "returned error: 401",
        "returned error: 403",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// Environment for `git` subprocesses: no prompts, no user or system configuration, and
/// credentials through a helper defined in the environment (never the command line).
fn git_environment(command: &mut Command, auth: &Auth) {
    command
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        // Only the transports a `Remote` may name (never `ext::`, whatever the config).
        .env("GIT_ALLOW_PROTOCOL", "file:http:https")
        // A stalled server fails the push instead of hanging it forever.
        .env("GIT_HTTP_LOW_SPEED_LIMIT", "1")
        .env("GIT_HTTP_LOW_SPEED_TIME", "60")
        .env_remove("GIT_ASKPASS")
        .env_remove("SSH_ASKPASS")
        // An empty `credential.helper` clears helpers from the repository's config, so
        // only ours (or none) answers.
        .env("GIT_CONFIG_KEY_0", "credential.helper")
        .env("GIT_CONFIG_VALUE_0", "");
    match auth {
        Auth::None => {
            command.env("GIT_CONFIG_COUNT", "1");
        }
        Auth::Token { username, token } => {
            command
                .env("GIT_CONFIG_COUNT", "2")
                .env("GIT_CONFIG_KEY_1", "credential.helper")
                .env(
                    "GIT_CONFIG_VALUE_1",
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
