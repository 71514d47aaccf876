//! Library actions attached to workflows: copied into a workflow when it is saved, and into
//! every workflow attaching one when an administrator applies an edit of it (a new version of
//! each active workflow; runs keep naming the version they ran).

use serde::Serialize;

use super::service::{WorkflowError, Workflows};
use super::store::{WorkflowFilter, every_workflow};
use super::{MAX_ACTIONS, WorkflowDefinition, WorkflowStatus};
use crate::action::{Action, SettingKind};
use crate::ids::{SettingId, TenantId, UserId, WorkflowId};
use crate::settings::{LibraryAction, Setting};
use crate::validation::Problems;

/// A workflow that attaches a library action, and whether its copy is the library's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LibraryUse {
    pub workflow: WorkflowId,
    pub name: String,
    pub status: WorkflowStatus,
    pub version: u32,
    /// Its copy differs from the library action: applying the edit would change it.
    pub would_change: bool,
}

/// What applying a library action's edit did to one workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    pub workflow: WorkflowId,
    pub from_version: u32,
    /// The version now current (a new one when the workflow had ever been active).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_version: Option<u32>,
    /// Why it was left as it was (the edited action no longer fits it, or it changed meanwhile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Workflows<'_> {
    async fn library_action(
        &self,
        tenant: &TenantId,
        id: &SettingId,
    ) -> Result<Option<LibraryAction>, WorkflowError> {
        Ok(
            match self
                .settings
                .get(tenant, SettingKind::LibraryAction, id)
                .await?
            {
                Some(found) => match found.value {
                    Setting::LibraryAction(action) => Some(action),
                    _ => None,
                },
                None => None,
            },
        )
    }

    /// Puts each attached library action's copy into `definition.actions` under its id (in place
    /// of the action the request carries under that id, else at the end): the copy `previous`
    /// (the definition being replaced) runs when it had the attachment, so that only
    /// [`Workflows::apply_library_action`] brings a library edit into a workflow; the library's
    /// current content for a new attachment. Problems name `/attached/<i>`.
    pub(super) async fn attach(
        &self,
        tenant: &TenantId,
        mut definition: WorkflowDefinition,
        previous: Option<&WorkflowDefinition>,
        fresh: Option<&SettingId>,
    ) -> Result<WorkflowDefinition, WorkflowError> {
        let mut problems = Problems::default();
        if definition.attached.len() > MAX_ACTIONS {
            problems.push(
                "/attached",
                format!("a workflow has at most {MAX_ACTIONS} actions"),
            );
            return Err(WorkflowError::Invalid(problems));
        }
        let attached = definition.attached.clone();
        for (i, attachment) in attached.iter().enumerate() {
            if attached[..i].iter().any(|a| a.id == attachment.id) {
                problems.push(
                    format!("/attached/{i}/id"),
                    format!("'{}' is attached twice", attachment.id),
                );
                continue;
            }
            // The copy the stored version runs, when the attachment is unchanged: whatever the
            // request carries under its id is replaced by it.
            let kept = previous
                .filter(|p| p.attached.contains(attachment) && fresh != Some(&attachment.action))
                .and_then(|p| p.actions.iter().find(|a| a.id() == &attachment.id))
                .cloned();
            if let Some(copy) = kept {
                put_copy(&mut definition.actions, copy);
                continue;
            }
            match self.library_action(tenant, &attachment.action).await? {
                Some(found) if found.module == definition.module => {
                    let copy = (*found.action).with_id(attachment.id.clone());
                    put_copy(&mut definition.actions, copy);
                }
                Some(found) => problems.push(
                    format!("/attached/{i}/action"),
                    format!(
                        "'{}' is an action of {}; this workflow is of {}",
                        attachment.action, found.module, definition.module
                    ),
                ),
                None => problems.push(
                    format!("/attached/{i}/action"),
                    format!("no library action '{}'", attachment.action),
                ),
            }
        }
        problems
            .into_result(definition)
            .map_err(WorkflowError::Invalid)
    }

    /// The workflows attaching library action `id`, and which of them an edit would change.
    pub async fn library_uses(
        &self,
        tenant: &TenantId,
        id: &SettingId,
    ) -> Result<Vec<LibraryUse>, WorkflowError> {
        let library = self
            .library_action(tenant, id)
            .await?
            .ok_or(WorkflowError::LibraryActionNotFound)?;
        let mut uses = Vec::new();
        for w in every_workflow(self.workflows, tenant, WorkflowFilter::default()).await? {
            let attachments: Vec<_> = w
                .definition
                .attached
                .iter()
                .filter(|a| &a.action == id)
                .collect();
            if attachments.is_empty() {
                continue;
            }
            // Any of its copies (it may be attached twice) differing from the library's.
            let would_change = attachments.iter().any(|attachment| {
                let current = (*library.action).clone().with_id(attachment.id.clone());
                let copy: Option<&Action> = w
                    .definition
                    .actions
                    .iter()
                    .find(|a| a.id() == &attachment.id);
                copy != Some(&current)
            });
            uses.push(LibraryUse {
                would_change,
                workflow: w.id,
                name: w.definition.name,
                status: w.status,
                version: w.version,
            });
        }
        Ok(uses)
    }

    /// Applies library action `id` as it is now to every workflow attaching it whose copy
    /// differs: each is saved again (a new version once it has been active), one at a time; a
    /// workflow the action no longer fits is left as it was, with the reason.
    pub async fn apply_library_action(
        &self,
        tenant: &TenantId,
        actor: &UserId,
        id: &SettingId,
    ) -> Result<Vec<Applied>, WorkflowError> {
        let mut applied = Vec::new();
        for used in self.library_uses(tenant, id).await? {
            if !used.would_change {
                continue;
            }
            let current = self.get(tenant, &used.workflow).await?;
            // Its copies taken afresh from the library; every other attachment keeps its own.
            let definition = current.value.definition.clone();
            let result = self
                .update_attaching(
                    tenant,
                    actor,
                    &used.workflow,
                    definition,
                    Some(current.revision),
                    Some(id),
                )
                .await;
            applied.push(match result {
                Ok(saved) => Applied {
                    workflow: used.workflow,
                    from_version: current.value.version,
                    to_version: Some(saved.value.version),
                    error: None,
                },
                Err(error @ (WorkflowError::Store(_) | WorkflowError::LimitReached { .. })) => {
                    return Err(error);
                }
                Err(WorkflowError::Invalid(problems)) => Applied {
                    workflow: used.workflow,
                    from_version: current.value.version,
                    to_version: None,
                    error: Some(problems.to_string()),
                },
                Err(other) => Applied {
                    workflow: used.workflow,
                    from_version: current.value.version,
                    to_version: None,
                    error: Some(other.to_string()),
                },
            });
        }
        Ok(applied)
    }
}

/// Puts an attachment's copy in place of the action under its id, or at the end.
fn put_copy(actions: &mut Vec<Action>, copy: Action) {
    match actions.iter_mut().find(|a| a.id() == copy.id()) {
        Some(slot) => *slot = copy,
        None => actions.push(copy),
    }
}
