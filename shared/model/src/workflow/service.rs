//! Defining, versioning and activating workflows.

use crate::clock::Clock;
use crate::ids::{TenantId, UserId, WorkflowId};
use crate::schedule::ports::{Maintenance, MaintenanceKind, MaintenanceRequests};
use crate::settings::store::SettingsStore;
use crate::store::{Page, PageRequest, Revisioned, StoreError};
use crate::user::directory::UserDirectory;
use crate::validation::Problems;
use crate::workflow::store::{WorkflowCatalog, WorkflowFilter, every_workflow};
use crate::workflow::{
    ActiveChange, Stamp, TransitionError, Workflow, WorkflowDefinition, WorkflowKind,
    WorkflowStatus,
};

/// Why a workflow operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("the workflow is not valid")]
    Invalid(Problems),
    #[error("no such workflow")]
    NotFound,
    /// A version that does not exist, as the caller named it.
    #[error("no version {0} of this workflow")]
    VersionNotFound(String),
    #[error("no sample '{0}'")]
    SampleNotFound(String),
    #[error("no such library action")]
    LibraryActionNotFound,
    #[error("a workflow with this id already exists")]
    AlreadyExists,
    /// The caller's If-Match revision is no longer current.
    #[error("the workflow changed since revision {expected}; reload it and try again")]
    Stale { expected: u64 },
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("an active workflow cannot be deleted; deactivate it first")]
    DeleteActive,
    /// Requests submitted under an approval workflow's versions run to their end under them.
    #[error(
        "an approval workflow that has been active keeps the versions its requests were \
         submitted under: deactivate it instead of deleting it"
    )]
    DeleteApproval,
    #[error("{module} already has {limit} active {kind} workflows; deactivate one first")]
    LimitReached {
        kind: super::WorkflowKind,
        module: crate::schema::Module,
        limit: usize,
    },
    #[error("storage failed")]
    Store(#[source] StoreError),
}

impl From<StoreError> for WorkflowError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => WorkflowError::NotFound,
            StoreError::AlreadyExists => WorkflowError::AlreadyExists,
            StoreError::Conflict { expected } => WorkflowError::Stale { expected },
            StoreError::LimitReached {
                kind,
                module,
                limit,
            } => WorkflowError::LimitReached {
                kind,
                module,
                limit,
            },
            other => WorkflowError::Store(other),
        }
    }
}

/// The workflow use cases over their ports.
pub struct Workflows<'a> {
    pub workflows: &'a dyn WorkflowCatalog,
    pub settings: &'a dyn SettingsStore,
    pub users: &'a dyn UserDirectory,
    /// Only to request backfill and cleanup of the due schedule.
    pub schedule: &'a dyn MaintenanceRequests,
    pub clock: &'a dyn Clock,
}

impl Workflows<'_> {
    fn stamp(&self, actor: &UserId) -> Stamp {
        Stamp {
            by: actor.clone(),
            at: self.clock.now(),
        }
    }

    /// Validates against the tenant's schema and current settings.
    pub async fn validate(
        &self,
        tenant: &TenantId,
        definition: &WorkflowDefinition,
    ) -> Result<(), WorkflowError> {
        let (mut settings, mut users) = (Vec::new(), Vec::new());
        if let crate::trigger::Trigger::Approval(spec) = &definition.trigger {
            spec.references(&mut settings, &mut users);
        }
        let catalog = crate::action::LoadedCatalog::load(
            self.settings,
            self.users,
            tenant,
            &definition.actions,
            &settings,
            &users,
        )
        .await?;
        let schema = self.settings.tenant_settings(tenant).await?.value.schema();
        definition
            .validate(&schema, &catalog)
            .map(|_| ())
            .map_err(WorkflowError::Invalid)
    }

    pub async fn create(
        &self,
        tenant: &TenantId,
        actor: &UserId,
        id: WorkflowId,
        definition: WorkflowDefinition,
    ) -> Result<Revisioned<Workflow>, WorkflowError> {
        check_not_reserved(&id)?;
        let definition = self.attach(tenant, definition, None, None).await?;
        self.validate(tenant, &definition).await?;
        let workflow = Workflow::new(id, tenant.clone(), definition, self.stamp(actor));
        Ok(self.workflows.create(&workflow).await?)
    }

    /// A draft made from a sample template, its bindings naming the tenant's own settings and
    /// users; `name` replaces the sample's.
    pub async fn create_from_sample(
        &self,
        tenant: &TenantId,
        actor: &UserId,
        sample: &str,
        id: WorkflowId,
        name: Option<String>,
        bindings: &std::collections::BTreeMap<String, String>,
    ) -> Result<Revisioned<Workflow>, WorkflowError> {
        check_not_reserved(&id)?;
        let sample = crate::workflow::samples::find(sample)
            .ok_or_else(|| WorkflowError::SampleNotFound(sample.to_owned()))?;
        let mut definition = sample
            .instantiate(bindings)
            .map_err(WorkflowError::Invalid)?;
        if let Some(name) = name {
            definition.name = name;
        }
        self.create(tenant, actor, id, definition).await
    }

    pub async fn get(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
    ) -> Result<Revisioned<Workflow>, WorkflowError> {
        self.workflows
            .get(tenant, id)
            .await?
            .ok_or(WorkflowError::NotFound)
    }

    /// The current workflow, checked against the caller's If-Match revision when given.
    async fn current(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
        if_match: Option<u64>,
    ) -> Result<Revisioned<Workflow>, WorkflowError> {
        let current = self.get(tenant, id).await?;
        match if_match {
            Some(expected) if expected != current.revision => {
                Err(WorkflowError::Stale { expected })
            }
            _ => Ok(current),
        }
    }

    /// Saves, keeping the due schedule in step: a care workflow that becomes active at a version
    /// gets a backfill over its module's records, requested before the save so that a crash
    /// between the two cannot leave it active and unscheduled (a request for a save that then
    /// fails is dropped by the scan if nothing is active, or renewed for the version that is);
    /// one that stops being active gets its entries removed.
    async fn save(
        &self,
        current: &Revisioned<Workflow>,
        next: Workflow,
    ) -> Result<Revisioned<Workflow>, WorkflowError> {
        let change = current.value.active_change(&next);
        // Care workflows and scoring rules keep entries in the due schedule; a scoring rule's
        // backfill also scores every record.
        let is_care = matches!(next.kind, WorkflowKind::Care | WorkflowKind::Scoring);
        let active_now = next.status == WorkflowStatus::Active;
        let was_active_at =
            (current.value.status == WorkflowStatus::Active).then_some(current.value.version);
        let request = |kind| Maintenance {
            tenant: next.tenant.clone(),
            workflow: next.id.clone(),
            version: next.version,
            kind,
            cursor: None,
        };
        if next.kind == WorkflowKind::Scoring && active_now {
            self.check_scores_apart(&next).await?;
        }
        if is_care && active_now && was_active_at != Some(next.version) {
            let backfill = request(MaintenanceKind::Backfill);
            self.schedule
                .request_maintenance(&backfill, self.clock.now())
                .await?;
        }
        if let ActiveChange::Activate {
            kind: WorkflowKind::Work,
            module,
            ..
        } = change
        {
            // Work workflows were not counted at first: a module's count starts from those
            // active now (nothing is written once it exists).
            let active = self
                .active_of(&next.tenant, WorkflowKind::Work, module)
                .await?;
            self.workflows
                .start_active_count(&next.tenant, WorkflowKind::Work, module, active)
                .await?;
        }
        let saved = self.workflows.save(&next, current.revision, change).await?;
        if is_care && !active_now && was_active_at.is_some() {
            let cleanup = request(MaintenanceKind::Cleanup);
            self.schedule
                .request_maintenance(&cleanup, self.clock.now())
                .await?;
        }
        Ok(saved)
    }

    /// An active scoring rule's field is its own: no other active rule of the module writes it,
    /// and no circle of rules reads each other's scores (each write would set the next off).
    async fn check_scores_apart(&self, next: &Workflow) -> Result<(), WorkflowError> {
        use crate::scoring::{ScoreFlow, circle_through};
        let Some(mine) = ScoreFlow::of(&next.definition) else {
            return Ok(());
        };
        let refuse = |problem: String| {
            WorkflowError::Invalid(crate::validation::Problems::single(
                "/trigger/score_field",
                problem,
            ))
        };
        let filter = WorkflowFilter {
            module: Some(next.definition.module),
        };
        let mut names = Vec::new();
        let mut flows = Vec::new();
        for other in every_workflow(self.workflows, &next.tenant, filter).await? {
            if other.id == next.id || other.status != WorkflowStatus::Active {
                continue;
            }
            let Some(flow) = ScoreFlow::of(&other.definition) else {
                continue;
            };
            if flow.writes == mine.writes {
                return Err(refuse(format!(
                    "active scoring rule '{}' already writes {}: give this rule a field of its own",
                    other.definition.name, mine.writes
                )));
            }
            names.push(other.definition.name.clone());
            flows.push(flow);
        }
        if let Some(circle) = circle_through(&mine, &flows) {
            let through: Vec<&str> = circle.iter().map(|i| names[*i].as_str()).collect();
            return Err(refuse(format!(
                "this rule's score comes back to it through {}: rules that read each other's \
                 scores in a circle would set each other off without end",
                if through.is_empty() {
                    "its own condition".to_owned()
                } else {
                    through.join(" → ")
                }
            )));
        }
        Ok(())
    }

    /// How many workflows of `kind` are active on `module`.
    async fn active_of(
        &self,
        tenant: &TenantId,
        kind: WorkflowKind,
        module: crate::schema::Module,
    ) -> Result<u64, WorkflowError> {
        let filter = WorkflowFilter {
            module: Some(module),
        };
        let listed = every_workflow(self.workflows, tenant, filter).await?;
        Ok(listed
            .iter()
            .filter(|w| w.kind == kind && w.status == WorkflowStatus::Active)
            .count() as u64)
    }

    /// Replaces the definition; after the first activation this makes a new version.
    pub async fn update(
        &self,
        tenant: &TenantId,
        actor: &UserId,
        id: &WorkflowId,
        definition: WorkflowDefinition,
        if_match: Option<u64>,
    ) -> Result<Revisioned<Workflow>, WorkflowError> {
        self.update_attaching(tenant, actor, id, definition, if_match, None)
            .await
    }

    /// [`Workflows::update`], taking the copies of library action `fresh` from the library as
    /// it is now (the other attachments keep the copies the current version runs).
    pub(super) async fn update_attaching(
        &self,
        tenant: &TenantId,
        actor: &UserId,
        id: &WorkflowId,
        definition: WorkflowDefinition,
        if_match: Option<u64>,
        fresh: Option<&crate::ids::SettingId>,
    ) -> Result<Revisioned<Workflow>, WorkflowError> {
        let current = self.current(tenant, id, if_match).await?;
        let definition = self
            .attach(tenant, definition, Some(&current.value.definition), fresh)
            .await?;
        self.validate(tenant, &definition).await?;
        let (next, _) = current.value.edit(definition, self.stamp(actor))?;
        self.save(&current, next).await
    }

    /// Activates after validating again: a setting it names may have gone since it was saved.
    pub async fn activate(
        &self,
        tenant: &TenantId,
        actor: &UserId,
        id: &WorkflowId,
        if_match: Option<u64>,
    ) -> Result<Revisioned<Workflow>, WorkflowError> {
        let current = self.current(tenant, id, if_match).await?;
        self.validate(tenant, &current.value.definition).await?;
        let next = current.value.activate(self.stamp(actor))?;
        self.save(&current, next).await
    }

    pub async fn deactivate(
        &self,
        tenant: &TenantId,
        actor: &UserId,
        id: &WorkflowId,
        if_match: Option<u64>,
        queued_jobs: crate::workflow::QueuedJobs,
    ) -> Result<Revisioned<Workflow>, WorkflowError> {
        let current = self.current(tenant, id, if_match).await?;
        let next = current.value.deactivate(self.stamp(actor), queued_jobs)?;
        self.save(&current, next).await
    }

    pub async fn delete(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
        if_match: Option<u64>,
    ) -> Result<(), WorkflowError> {
        let current = self.current(tenant, id, if_match).await?;
        if current.value.status == WorkflowStatus::Active {
            return Err(WorkflowError::DeleteActive);
        }
        if current.value.kind == WorkflowKind::Approval && current.value.ever_activated {
            return Err(WorkflowError::DeleteApproval);
        }
        Ok(self.workflows.delete(tenant, id, current.revision).await?)
    }

    pub async fn list(
        &self,
        tenant: &TenantId,
        filter: WorkflowFilter,
        page: &PageRequest,
    ) -> Result<Page<Revisioned<Workflow>>, WorkflowError> {
        Ok(self.workflows.list(tenant, filter, page).await?)
    }

    pub async fn versions(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
    ) -> Result<Vec<u32>, WorkflowError> {
        self.get(tenant, id).await?;
        Ok(self.workflows.versions(tenant, id).await?)
    }

    pub async fn version(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
        version: u32,
    ) -> Result<WorkflowDefinition, WorkflowError> {
        self.get(tenant, id).await?;
        self.workflows
            .get_version(tenant, id, version)
            .await?
            .ok_or_else(|| WorkflowError::VersionNotFound(version.to_string()))
    }
}

/// The id the jobs of people's messages run under is the system's: taken, for every tenant.
fn check_not_reserved(id: &WorkflowId) -> Result<(), WorkflowError> {
    if id.as_str() == crate::schedule::MESSAGES_WORKFLOW {
        return Err(WorkflowError::AlreadyExists);
    }
    Ok(())
}
