//! The whole check of one request: the user's Git permission on the entity's manifest
//! ([`GitAccess`], cached), the account's access rules at the config repository's
//! current commit ([`RulesLoader`], read once per commit), and [`decide`].

use windlass_entity_model::windlass::AccessAction;

use crate::{
    ActionClass, Credential, Decision, EntityAttributes, GitAccess, GitPermission,
    ManifestLocation, Result, Rules, RulesLoader, Subject, class, decide,
};

/// Decides requests end to end. Share one per process (`&self` everywhere): its
/// caches are what make a decision per API request cheap.
///
/// ```no_run
/// # async fn run(store: windlass_git_store::Store) -> Result<(), windlass_rbac::Error> {
/// use windlass_entity_model::windlass::AccessAction;
/// use windlass_rbac::{
///     Authorizer, Credential, EntityAttributes, GitAccess, ManifestLocation, ProbeConfig,
///     RulesLoader, Subject,
/// };
///
/// let authorizer = Authorizer::new(
///     GitAccess::new(ProbeConfig::default(), None)?,
///     RulesLoader::new(store),
///     "main",
/// );
/// let bob = Subject { user: "bob".into(), identities: vec!["bob".into()] };
/// let token = Credential::new("bob", "ghp_...");
/// let app = EntityAttributes { kind: "Application".into(), name: "guestbook".into(), ..Default::default() };
/// let manifest = ManifestLocation {
///     repo_url: "https://github.com/acme/apps.git".into(),
///     branch: Some("main".into()),
///     path: "guestbook/application.yaml".into(),
/// };
/// let decision = authorizer
///     .authorize(&bob, Some(&token), AccessAction::Sync, &app, &manifest)
///     .await?;
/// if !decision.allowed {
///     eprintln!("sync denied: {}", decision.reason);
/// }
/// # Ok(())
/// # }
/// ```
pub struct Authorizer {
    access: GitAccess,
    rules: RulesLoader,
    rev: String,
}

impl Authorizer {
    /// Decides with the Git permissions `access` finds and the rules `rules` reads at
    /// `rev` of the config repository (its branch, usually `main`).
    pub fn new(access: GitAccess, rules: RulesLoader, rev: impl Into<String>) -> Authorizer {
        Authorizer {
            access,
            rules,
            rev: rev.into(),
        }
    }

    /// Whether `subject`, signed in with `credential` (`None`: anonymous), may perform
    /// `action` on the entity with `entity` attributes whose manifest is at `manifest`.
    ///
    /// The rules are read only when they can change the answer (an action that is not
    /// a commit, by a user who can read but not write the manifest); then invalid
    /// rules at the config repository's commit are an error
    /// ([`Error::InvalidRules`](crate::Error::InvalidRules)) naming every broken file,
    /// while writers and viewers are not held up by them.
    pub async fn authorize(
        &self,
        subject: &Subject,
        credential: Option<&Credential>,
        action: AccessAction,
        entity: &EntityAttributes,
        manifest: &ManifestLocation,
    ) -> Result<Decision> {
        let git = self.access.permission(manifest, credential).await?;
        let decision = if class(action) == ActionClass::Operate && git == GitPermission::Read {
            let rules = self.rules.load(&self.rev)?;
            decide(subject, action, entity, git, &rules)
        } else {
            decide(subject, action, entity, git, &Rules::default())
        };
        tracing::debug!(
            user = %subject.user,
            ?action,
            kind = %entity.kind,
            name = %entity.name,
            repo = %manifest.repo_url,
            %git,
            allowed = decision.allowed,
            reason = %decision.reason,
            "access decided"
        );
        Ok(decision)
    }

    /// A push with `credential` to `repo_url` was rejected: the user's permission there
    /// is asked again on the next request.
    pub fn push_rejected(&self, repo_url: &str, credential: Option<&Credential>) {
        self.access.push_rejected(repo_url, credential);
    }

    /// The Git permissions used.
    pub fn access(&self) -> &GitAccess {
        &self.access
    }

    /// The rules' loader.
    pub fn rules(&self) -> &RulesLoader {
        &self.rules
    }
}
