//! AppProject enforcement, with Argo CD's semantics (`app_project_types.go`) and its
//! refusal messages, which end up in Application conditions users read.
//!
//! - `sourceRepos`: globs over normalized repository URLs (lower case, `.git` dropped,
//!   `git@host:path` read as `host/path`), `/` as separator so `*` stays within one path
//!   segment (`**` crosses them), `*` alone allows any repository, `!pattern` denies.
//! - `destinations`: globs over the cluster's server URL or name and the namespace (no
//!   separator), with `!` negations, evaluated exactly in Argo's order.
//! - resources: cluster-scoped kinds need a `clusterResourceWhitelist` entry and no
//!   `clusterResourceBlacklist` entry; namespaced kinds are allowed unless
//!   `namespaceResourceBlacklist` matches or a non-empty `namespaceResourceWhitelist` does
//!   not (an empty but present whitelist allows none). Group, kind and name match with
//!   Go's `filepath.Match` patterns.
//!
//! ```
//! use windlass_reconciler::project::{ProjectPolicy, default_project_spec};
//! use windlass_entity_model::argocd::{AppProjectSpec, ApplicationDestination};
//!
//! let spec = AppProjectSpec {
//!     source_repos: Some(vec!["https://github.com/example/*".into()]),
//!     destinations: Some(vec![ApplicationDestination {
//!         server: Some("https://kubernetes.default.svc".into()),
//!         namespace: Some("team-*".into()),
//!         ..Default::default()
//!     }]),
//!     ..Default::default()
//! };
//! let policy = ProjectPolicy::new("team", &spec);
//! assert!(policy.check_source("https://github.com/example/apps.git").is_ok());
//! assert_eq!(
//!     policy.check_source("https://github.com/other/apps").unwrap_err(),
//!     "application repo https://github.com/other/apps is not permitted in project 'team'",
//! );
//! assert!(policy.check_destination(Some("https://kubernetes.default.svc"), None, "team-a").is_ok());
//! assert!(policy.check_resource("rbac.authorization.k8s.io", "ClusterRole", false).is_err());
//!
//! let default = default_project_spec();
//! assert!(ProjectPolicy::new("default", &default).check_resource("", "Namespace", false).is_ok());
//! ```

use windlass_entity_model::glob;

use windlass_entity_model::argocd::{
    AppProjectSpec, ApplicationDestination, ClusterResourceRestrictionItem, GroupKind,
};

/// A project's rules, ready to check; `name` is the project's name, used in messages.
#[derive(Clone, Copy, Debug)]
pub struct ProjectPolicy<'a> {
    name: &'a str,
    spec: &'a AppProjectSpec,
}

impl<'a> ProjectPolicy<'a> {
    /// The rules of project `name`.
    pub fn new(name: &'a str, spec: &'a AppProjectSpec) -> Self {
        Self { name, spec }
    }

    /// The project's name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// `sourceRepos` (globs, `*`, negations with `!`), Argo's message on refusal.
    ///
    /// As in Argo, every pattern is tried: a deny pattern (`!p`) refuses a repository that
    /// `p` matches, and counts as a match for any other one.
    pub fn check_source(&self, repo_url: &str) -> Result<(), String> {
        if self.is_source_permitted(repo_url) {
            Ok(())
        } else {
            Err(format!(
                "application repo {repo_url} is not permitted in project '{}'",
                self.name
            ))
        }
    }

    fn is_source_permitted(&self, repo_url: &str) -> bool {
        let source = normalize_git_url(repo_url);
        let mut any_matched = false;
        for pattern in self.spec.source_repos.iter().flatten() {
            let normalized = match pattern.strip_prefix('!') {
                Some(denied) => format!("!{}", normalize_git_url(denied)),
                None => normalize_git_url(pattern),
            };
            if glob_match(&normalized, &source, true, &['/']) {
                any_matched = true;
            } else if normalized.starts_with('!') {
                return false;
            }
        }
        any_matched
    }

    /// `destinations` (server and/or name globs, namespace globs, negations), Argo's
    /// message on refusal.
    ///
    /// Pass what is known of the destination cluster: its server URL, its name, or both
    /// (Argo resolves both before checking). The message names the cluster by `name`
    /// when one is given, else by `server`, as Argo does for an Application whose
    /// destination uses `name`.
    pub fn check_destination(
        &self,
        server: Option<&str>,
        name: Option<&str>,
        namespace: &str,
    ) -> Result<(), String> {
        if self.is_destination_permitted(server, name, namespace) {
            return Ok(());
        }
        let cluster = name
            .filter(|n| !n.is_empty())
            .or(server)
            .unwrap_or_default();
        Err(format!(
            "application destination server '{cluster}' and namespace '{namespace}' do not match any of the allowed destinations in project '{}'",
            self.name
        ))
    }

    /// The check Argo makes on each namespaced resource at sync time: its namespace must
    /// be an allowed destination. Argo's sync-time message on refusal.
    pub fn check_namespace(
        &self,
        server: Option<&str>,
        name: Option<&str>,
        namespace: &str,
    ) -> Result<(), String> {
        if self.is_destination_permitted(server, name, namespace) {
            Ok(())
        } else {
            Err(format!(
                "namespace {namespace} is not permitted in project '{}'",
                self.name
            ))
        }
    }

    fn is_destination_permitted(
        &self,
        server: Option<&str>,
        name: Option<&str>,
        namespace: &str,
    ) -> bool {
        let server = server.unwrap_or_default();
        let name = name.unwrap_or_default();
        let mut any_matched = false;
        for item in self.spec.destinations.iter().flatten() {
            let ApplicationDestination {
                server: item_server,
                name: item_name,
                namespace: item_namespace,
                ..
            } = item;
            let item_server = item_server.as_deref().unwrap_or_default();
            let item_name = item_name.as_deref().unwrap_or_default();
            let item_namespace = item_namespace.as_deref().unwrap_or_default();
            let name_matched = !name.is_empty() && glob_match(item_name, name, true, &[]);
            let server_matched = !server.is_empty() && glob_match(item_server, server, true, &[]);
            let namespace_matched = glob_match(item_namespace, namespace, true, &[]);
            let deny = |p: &str| p.starts_with('!');
            if (server_matched || name_matched) && namespace_matched {
                any_matched = true;
            } else if (!name_matched && deny(item_name))
                || (!server_matched && deny(item_server) && namespace_matched)
                || (!namespace_matched && deny(item_namespace) && server_matched)
            {
                // Argo's precedence, kept as written: a deny entry that this destination
                // falls under refuses it outright.
                return false;
            }
        }
        any_matched
    }

    /// Whether a resource kind may be deployed: cluster-scoped kinds need
    /// `clusterResourceWhitelist` (and not `clusterResourceBlacklist`); namespaced kinds
    /// are allowed unless `namespaceResourceBlacklist` matches or a non-empty
    /// `namespaceResourceWhitelist` does not. Argo's message on refusal.
    ///
    /// The same as [`check_resource_named`](Self::check_resource_named) with an empty
    /// name: entries restricted to a name pattern apply only if it matches `""`.
    pub fn check_resource(&self, group: &str, kind: &str, namespaced: bool) -> Result<(), String> {
        self.check_resource_named(group, kind, "", namespaced)
    }

    /// [`check_resource`](Self::check_resource) for one object, so that the `name`
    /// patterns of cluster resource list entries apply.
    pub fn check_resource_named(
        &self,
        group: &str,
        kind: &str,
        name: &str,
        namespaced: bool,
    ) -> Result<(), String> {
        if self.is_resource_permitted(group, kind, name, namespaced) {
            Ok(())
        } else {
            Err(format!(
                "resource {group}:{kind} is not permitted in project {}",
                self.name
            ))
        }
    }

    fn is_resource_permitted(&self, group: &str, kind: &str, name: &str, namespaced: bool) -> bool {
        let spec = self.spec;
        if namespaced {
            let whitelisted = match &spec.namespace_resource_whitelist {
                None => true,
                Some(list) => in_list(list, group, kind),
            };
            let blacklisted = spec
                .namespace_resource_blacklist
                .as_deref()
                .is_some_and(|list| in_list(list, group, kind));
            return whitelisted && !blacklisted;
        }
        let whitelisted = spec
            .cluster_resource_whitelist
            .as_deref()
            .is_some_and(|list| in_named_list(list, group, kind, name));
        let blacklisted = spec
            .cluster_resource_blacklist
            .as_deref()
            .is_some_and(|list| in_named_list(list, group, kind, name));
        whitelisted && !blacklisted
    }
}

fn in_list(list: &[GroupKind], group: &str, kind: &str) -> bool {
    list.iter()
        .any(|item| glob::path_match(&item.kind, kind) && glob::path_match(&item.group, group))
}

fn in_named_list(
    list: &[ClusterResourceRestrictionItem],
    group: &str,
    kind: &str,
    name: &str,
) -> bool {
    list.iter().any(|item| {
        glob::path_match(&item.kind, kind)
            && glob::path_match(&item.group, group)
            && item
                .name
                .as_deref()
                .is_none_or(|pattern| pattern.is_empty() || glob::path_match(pattern, name))
    })
}

/// Argo's `globMatch`: `!` negates (where allowed), `*` alone matches anything, else a
/// gobwas glob with the given separators.
fn glob_match(pattern: &str, value: &str, allow_negation: bool, separators: &[char]) -> bool {
    if allow_negation && let Some(denied) = pattern.strip_prefix('!') {
        return !glob::glob_match(denied, value, separators);
    }
    if pattern == "*" {
        return true;
    }
    glob::glob_match(pattern, value, separators)
}

/// Argo CD's `git.NormalizeGitURL`: lower case, trimmed, SCP-style SSH URLs rewritten
/// to `user@host/path`, `.git` dropped, `ssh://` dropped. A URL Go cannot parse (control
/// characters, bad `%` escapes, no scheme before `:`, a port that is not a number)
/// normalizes to `""`. Go's re-escaping of unusual characters is not reproduced.
pub fn normalize_git_url(repo: &str) -> String {
    let mut repo = repo.trim().to_lowercase();
    if is_ssh_url(&repo) && !repo.starts_with("ssh://") {
        repo = format!("ssh://{}", repo.replacen(':', "/", 1));
    }
    if let Some(trimmed) = repo.strip_suffix(".git") {
        repo.truncate(trimmed.len());
    }
    if !go_url_parses(&repo) {
        return String::new();
    }
    match repo.strip_prefix("ssh://") {
        Some(rest) => rest.to_owned(),
        None => repo,
    }
}

/// Argo's `^(ssh://)?([^/:]*?)@[^@]+$`.
fn is_ssh_url(url: &str) -> bool {
    let rest = url.strip_prefix("ssh://").unwrap_or(url);
    let Some(at) = rest.rfind('@') else {
        return false;
    };
    !rest[..at].contains(['/', ':']) && at + 1 < rest.len()
}

/// The failures of Go's `url.Parse` that can occur in repository URLs.
fn go_url_parses(url: &str) -> bool {
    if url.chars().any(|c| c.is_ascii_control()) || url.starts_with(':') {
        return false;
    }
    // An authority's port must be digits ("git@host:org/repo" written after ssh:// has
    // a port "org": Go refuses it, and Argo then compares "" with "").
    if let Some((_, rest)) = url.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if !host.starts_with('[')
            && let Some((_, port)) = host.rsplit_once(':')
            && !port.bytes().all(|b| b.is_ascii_digit())
        {
            return false;
        }
    }
    let bytes = url.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let valid = bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !valid {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// The `default` project Argo CD installs (everything allowed): any repository, any
/// destination, every cluster-scoped kind.
pub fn default_project_spec() -> AppProjectSpec {
    AppProjectSpec {
        source_repos: Some(vec!["*".to_owned()]),
        destinations: Some(vec![ApplicationDestination {
            server: Some("*".to_owned()),
            namespace: Some("*".to_owned()),
            ..Default::default()
        }]),
        cluster_resource_whitelist: Some(vec![ClusterResourceRestrictionItem {
            group: "*".to_owned(),
            kind: "*".to_owned(),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls_normalize_as_argo_does() {
        let cases = [
            (
                "https://github.com/argoproj/argo-cd.git",
                "https://github.com/argoproj/argo-cd",
            ),
            (
                "  HTTPS://GitHub.com/ArgoProj/Argo-CD  ",
                "https://github.com/argoproj/argo-cd",
            ),
            (
                "git@github.com:argoproj/argo-cd.git",
                "git@github.com/argoproj/argo-cd",
            ),
            (
                "ssh://git@github.com/argoproj/argo-cd.git",
                "git@github.com/argoproj/argo-cd",
            ),
            ("file:///tmp/repos/apps", "file:///tmp/repos/apps"),
            ("https://user@github.com/a/b", "https://user@github.com/a/b"),
            ("*", "*"),
            ("https://bad/%zz", ""),
            ("https://github.com:443/a/b", "https://github.com:443/a/b"),
            ("ssh://git@github.com:argoproj/test", ""),
        ];
        for (url, want) in cases {
            assert_eq!(normalize_git_url(url), want, "{url}");
        }
    }

    #[test]
    fn ssh_detection() {
        assert!(is_ssh_url("git@github.com:a/b"));
        assert!(is_ssh_url("ssh://git@github.com/a/b"));
        assert!(!is_ssh_url("https://user@github.com/a/b"));
        assert!(!is_ssh_url("git@"));
        assert!(!is_ssh_url("https://github.com/a/b"));
    }
}
