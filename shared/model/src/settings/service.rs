//! The settings use cases: the templates, senders, providers, allocation rules and task
//! connections that actions name, and the tenant's own settings. A setting is validated against
//! the tenant's schema and users before it is saved, and one that a workflow still names cannot
//! be deleted. A provider's credentials are written to the secret vault under the name the
//! tenant and the setting give, and never read back here.

use crate::action::SettingKind;
use crate::ids::{SettingId, TenantId, UserId};
use crate::settings::outbound::{HostResolver, OutboundPolicy, check_provider_url};
use crate::settings::secrets::{
    CredentialShape, Credentials, SecretName, SecretStatus, SecretVault,
};
use crate::settings::store::SettingsStore;
use crate::settings::{Setting, TenantSettings};
use crate::store::{Page, PageRequest, Revisioned, StoreError};
use crate::user::directory::UserDirectory;
use crate::validation::Problems;
use crate::workflow::store::{WorkflowCatalog, WorkflowFilter, every_workflow};

/// The shortest secret a switchboard's events are signed with.
pub const MIN_SIGNING_SECRET: usize = 32;

/// Why a settings operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    #[error("the setting is not valid")]
    Invalid(Problems),
    #[error("no such setting")]
    NotFound,
    #[error("a setting with this id already exists")]
    AlreadyExists,
    /// The caller's If-Match revision is no longer current.
    #[error("the setting changed since revision {expected}; reload it and try again")]
    Stale { expected: u64 },
    /// Deleting it would leave these workflows naming nothing.
    #[error("still used by {}", .0.join(", "))]
    InUse(Vec<String>),
    /// The setting sends with no credentials (a template, an SES sender, SNS SMS).
    #[error("this setting takes no credentials")]
    NoCredentials,
    #[error("storage failed")]
    Store(#[source] StoreError),
}

impl From<StoreError> for SettingError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => SettingError::NotFound,
            StoreError::AlreadyExists => SettingError::AlreadyExists,
            StoreError::Conflict { expected } => SettingError::Stale { expected },
            other => SettingError::Store(other),
        }
    }
}

/// The settings use cases over their ports.
pub struct Settings<'a> {
    pub settings: &'a dyn SettingsStore,
    pub users: &'a dyn UserDirectory,
    pub workflows: &'a dyn WorkflowCatalog,
    pub secrets: &'a dyn SecretVault,
    pub resolver: &'a dyn HostResolver,
    pub outbound: OutboundPolicy,
}

impl Settings<'_> {
    /// Checks a setting against the tenant's schema and users, and its provider URL against
    /// what its host resolves to now.
    async fn validate(&self, tenant: &TenantId, setting: &Setting) -> Result<(), SettingError> {
        let schema = self.settings.tenant_settings(tenant).await?.value.schema();
        let mut named = match setting {
            Setting::AllocationRule(rule) => crate::allocation::service::named_users(rule),
            Setting::WebForm(form) => vec![form.owner.clone()],
            Setting::VoipProvider(p) => p.extensions.keys().cloned().collect(),
            Setting::Mailbox(m) => vec![m.user.clone()],
            _ => Vec::new(),
        };
        // A batch read refuses duplicate keys; a rule may name a user twice.
        named.sort();
        named.dedup();
        let existing = self.users.existing(tenant, &named).await?;
        let mut problems =
            setting.validate(&schema, &|user| existing.contains(user), self.outbound);
        if let Setting::LibraryAction(library) = setting {
            // Checked as a workflow's own action would be, against what it names now.
            let catalog = crate::action::LoadedCatalog::load(
                self.settings,
                self.users,
                tenant,
                [library.action.as_ref()],
                &[],
                &[],
            )
            .await?;
            let mut checker = crate::action::validate_with(&schema, library.module, &catalog);
            checker.action(&library.action, "/action");
            problems.extend(checker.problems);
        }
        if let (true, Some((url, path))) = (problems.is_empty(), setting.outbound_url()) {
            if let Err(reason) = check_provider_url(self.outbound, self.resolver, url).await {
                problems.push(path, reason);
            }
        }
        if let (true, Setting::Mailbox(mailbox)) = (problems.is_empty(), setting) {
            // Its host as a URL, so that what it resolves to is checked as a provider's is.
            let url = mailbox.server_url();
            if let Err(reason) = check_provider_url(self.outbound, self.resolver, &url).await {
                problems.push("/host", reason);
            }
            if let Some(url) = &mailbox.token_url {
                if let Err(reason) = check_provider_url(self.outbound, self.resolver, url).await {
                    problems.push("/token_url", reason);
                }
            }
        }
        problems.into_result(()).map_err(SettingError::Invalid)
    }

    pub async fn create(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        setting: &Setting,
    ) -> Result<Revisioned<Setting>, SettingError> {
        // A web form's key is only ever issued ([`Settings::issue_form_key`]).
        let mut setting = setting.clone();
        if let Setting::WebForm(form) = &mut setting {
            form.key_sha256 = None;
        }
        self.validate(tenant, &setting).await?;
        Ok(self.settings.create(tenant, id, &setting).await?)
    }

    /// Gives web form `id` a new key from `secret` (random, made by the caller), which stops
    /// the previous one; the form keeps only the secret's hash.
    pub async fn issue_form_key(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        secret: &str,
        if_match: Option<u64>,
    ) -> Result<Revisioned<Setting>, SettingError> {
        let current = self.get(tenant, SettingKind::WebForm, id).await?;
        if let Some(expected) = if_match.filter(|e| *e != current.revision) {
            return Err(SettingError::Stale { expected });
        }
        let Setting::WebForm(mut form) = current.value else {
            return Err(SettingError::NotFound);
        };
        form.key_sha256 = Some(crate::settings::web_form::hex_sha256(secret));
        Ok(self
            .settings
            .replace(tenant, id, &Setting::WebForm(form), current.revision)
            .await?)
    }

    pub async fn get(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
    ) -> Result<Revisioned<Setting>, SettingError> {
        self.settings
            .get(tenant, kind, id)
            .await?
            .ok_or(SettingError::NotFound)
    }

    pub async fn list(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        page: &PageRequest,
    ) -> Result<Page<(SettingId, Revisioned<Setting>)>, SettingError> {
        Ok(self.settings.list(tenant, kind, page).await?)
    }

    /// Replaces a setting if the stored revision is still `expected`.
    pub async fn replace(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        setting: &Setting,
        expected: u64,
    ) -> Result<Revisioned<Setting>, SettingError> {
        let mut setting = setting.clone();
        if let Setting::WebForm(form) = &mut setting {
            // The key stays as issued, whatever the body says.
            form.key_sha256 = match self.settings.get(tenant, SettingKind::WebForm, id).await? {
                Some(Revisioned {
                    value: Setting::WebForm(stored),
                    ..
                }) => stored.key_sha256,
                _ => None,
            };
        }
        self.validate(tenant, &setting).await?;
        Ok(self
            .settings
            .replace(tenant, id, &setting, expected)
            .await?)
    }

    /// Deletes a setting that no workflow names (active or not: a draft activated later would
    /// otherwise fail at send time).
    pub async fn delete(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
        expected: u64,
    ) -> Result<(), SettingError> {
        let mut users = self.workflows_naming(tenant, kind, id).await?;
        users.extend(self.library_actions_naming(tenant, kind, id).await?);
        if !users.is_empty() {
            return Err(SettingError::InUse(users));
        }
        // The credentials go first: should the setting's delete then fail (a stale revision),
        // the setting is left without credentials, never credentials without their setting
        // that a setting created later under the same id would inherit. Deleting a secret that
        // was never set is not an error.
        let current = self.get(tenant, kind, id).await?;
        if current.revision != expected {
            return Err(SettingError::Stale { expected });
        }
        self.secrets
            .delete(&SecretName::for_setting(tenant, kind, id))
            .await?;
        Ok(self.settings.delete(tenant, kind, id, expected).await?)
    }

    /// Sets or rotates a provider setting's credentials; the body's shape depends on the
    /// setting (`{api_key, secret_key}`, `{access_token}` or `{signing_key}`); a switchboard's
    /// secret key, which signs its events, is at least [`MIN_SIGNING_SECRET`] characters.
    pub async fn set_credentials(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
        body: serde_json::Value,
    ) -> Result<SecretStatus, SettingError> {
        let (shape, name) = self.secret_of(tenant, kind, id).await?;
        let credentials = Credentials::parse(shape, body).map_err(SettingError::Invalid)?;
        if let (SettingKind::VoipProvider, Credentials::Gateway(keys)) = (kind, &credentials) {
            // It signs the switchboard's events, which anyone may post: it must not be guessed.
            if keys.secret_key.len() < MIN_SIGNING_SECRET {
                return Err(SettingError::Invalid(crate::validation::Problems::single(
                    "/secret_key",
                    format!(
                        "at least {MIN_SIGNING_SECRET} characters: it signs the switchboard's events"
                    ),
                )));
            }
        }
        self.secrets.put(&name, &credentials.to_secret()).await?;
        Ok(self.secrets.status(&name).await?)
    }

    /// Whether a provider setting's credentials are set, and when; never their value.
    pub async fn credentials_status(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
    ) -> Result<SecretStatus, SettingError> {
        let (_, name) = self.secret_of(tenant, kind, id).await?;
        Ok(self.secrets.status(&name).await?)
    }

    /// Removes a provider setting's credentials (its sends fail until new ones are set).
    pub async fn remove_credentials(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
    ) -> Result<(), SettingError> {
        let (_, name) = self.secret_of(tenant, kind, id).await?;
        Ok(self.secrets.delete(&name).await?)
    }

    /// The credentials' shape and vault name of an existing setting that takes credentials.
    async fn secret_of(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
    ) -> Result<(CredentialShape, SecretName), SettingError> {
        let shape = self
            .get(tenant, kind, id)
            .await?
            .value
            .credential_shape()
            .ok_or(SettingError::NoCredentials)?;
        Ok((shape, SecretName::for_setting(tenant, kind, id)))
    }

    /// Where a mailbox's sync stands: each folder's checkpoint and the last run's outcome
    /// (empty until its first run). `NotFound` for no such mailbox.
    pub async fn mailbox_sync(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        status: &dyn crate::mailbox::ports::SyncStatusStore,
    ) -> Result<crate::mailbox::ports::SyncStatus, SettingError> {
        self.get(tenant, SettingKind::Mailbox, id).await?;
        Ok(status.get(tenant, id).await?.unwrap_or_default())
    }

    /// The library actions that name the setting, as `library action 'name' (id)`.
    async fn library_actions_naming(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
    ) -> Result<Vec<String>, SettingError> {
        let mut names = Vec::new();
        let libraries = crate::settings::store::every_setting(
            self.settings,
            tenant,
            SettingKind::LibraryAction,
        )
        .await?;
        for (library_id, setting) in libraries {
            let Setting::LibraryAction(library) = setting else {
                continue;
            };
            let mut refs = Vec::new();
            library.action.settings(&mut refs);
            if refs.iter().any(|(k, i)| *k == kind && i == id) {
                names.push(format!("library action '{}' ({library_id})", library.name));
            }
        }
        Ok(names)
    }

    /// The workflows whose actions name the setting, as `'name' (id)`.
    async fn workflows_naming(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
    ) -> Result<Vec<String>, SettingError> {
        let mut names = Vec::new();
        for workflow in every_workflow(self.workflows, tenant, WorkflowFilter::default()).await? {
            let refs = workflow.definition.setting_refs();
            if refs.iter().any(|(k, i)| *k == kind && i == id) {
                names.push(format!(
                    "workflow '{}' ({})",
                    workflow.definition.name, workflow.id
                ));
            }
        }
        Ok(names)
    }

    pub async fn tenant_settings(
        &self,
        tenant: &TenantId,
    ) -> Result<Revisioned<TenantSettings>, SettingError> {
        Ok(self.settings.tenant_settings(tenant).await?)
    }

    /// Saves the tenant's settings if valid and the stored revision is still `expected`.
    pub async fn put_tenant_settings(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
        expected: u64,
    ) -> Result<Revisioned<TenantSettings>, SettingError> {
        let mut problems = settings.validate();
        // The users it names (default owners, team managers) must be the tenant's.
        let mut named: Vec<UserId> = settings
            .default_owners
            .values()
            .chain(settings.team_managers.values())
            .cloned()
            .collect();
        named.sort();
        named.dedup();
        let existing = self.users.existing(tenant, &named).await?;
        for (module, user) in &settings.default_owners {
            if !existing.contains(user) {
                problems.push(
                    format!("/default_owners/{module}"),
                    format!("no user '{user}'"),
                );
            }
        }
        for (team, user) in &settings.team_managers {
            if !existing.contains(user) {
                let path = format!(
                    "/team_managers/{}",
                    crate::validation::pointer_segment(team)
                );
                problems.push(path, format!("no user '{user}'"));
            }
        }
        problems.into_result(()).map_err(SettingError::Invalid)?;
        Ok(self
            .settings
            .put_tenant_settings(tenant, settings, expected)
            .await?)
    }
}
