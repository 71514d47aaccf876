//! Who a step's approvers are for one record: users, every active user of a role, the
//! submitter's or the owner's manager, the user a field names. Managers come from the user
//! (`manager`), else from their team (`TenantSettings::team_managers`).

use super::{Approver, MAX_STEP_APPROVERS, Step};
use crate::ids::{TenantId, UserId};
use crate::record::stored::StoredRecord;
use crate::settings::TenantSettings;
use crate::store::{PageRequest, StoreError};
use crate::user::User;
use crate::user::directory::UserDirectory;

/// Why a step has nobody to decide it.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("step '{step}' has nobody to decide it: {why}")]
    Nobody { step: String, why: String },
    #[error("step '{0}' would have more than {MAX_STEP_APPROVERS} approvers")]
    TooMany(String),
    #[error("storage failed")]
    Store(#[from] StoreError),
}

/// The manager of `user`: their own, else their team's (never themselves), if active.
pub async fn manager_of(
    users: &dyn UserDirectory,
    settings: &TenantSettings,
    tenant: &TenantId,
    user: &UserId,
) -> Result<Option<UserId>, StoreError> {
    let Some(found) = users.get(tenant, user).await? else {
        return Ok(None);
    };
    let manager = found.manager.clone().or_else(|| {
        found
            .team
            .as_ref()
            .and_then(|team| settings.team_managers.get(team).cloned())
    });
    let Some(manager) = manager.filter(|m| m != user) else {
        return Ok(None);
    };
    Ok(users
        .get(tenant, &manager)
        .await?
        .filter(|m| m.active)
        .map(|m| m.id))
}

async fn with_role(
    users: &dyn UserDirectory,
    tenant: &TenantId,
    role: crate::user::Role,
) -> Result<Vec<User>, StoreError> {
    let mut found = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let listed = users.list(tenant, &page).await?;
        found.extend(
            listed
                .items
                .into_iter()
                .filter(|u| u.role == role && u.active),
        );
        match listed.next {
            Some(next) => page.cursor = Some(next),
            None => return Ok(found),
        }
    }
}

/// The active users who decide `step` for `record` submitted by `submitter`, each once, in the
/// order the step names them.
pub async fn approvers(
    users: &dyn UserDirectory,
    settings: &TenantSettings,
    tenant: &TenantId,
    step: &Step,
    record: &StoredRecord,
    submitter: &UserId,
) -> Result<Vec<UserId>, ResolveError> {
    let mut named: Vec<UserId> = Vec::new();
    let owner = record
        .fields
        .get("Owner")
        .and_then(|v| v.as_str())
        .and_then(|o| UserId::new(o).ok());
    for approver in &step.approvers {
        match approver {
            Approver::User { user } => named.push(user.clone()),
            Approver::Role { role } => {
                named.extend(
                    with_role(users, tenant, *role)
                        .await?
                        .into_iter()
                        .map(|u| u.id),
                );
            }
            Approver::SubmitterManager => {
                named.extend(manager_of(users, settings, tenant, submitter).await?);
            }
            Approver::OwnerManager => {
                if let Some(owner) = &owner {
                    named.extend(manager_of(users, settings, tenant, owner).await?);
                }
            }
            Approver::UserField { field } => {
                named.extend(
                    record
                        .fields
                        .get(field)
                        .and_then(|v| v.as_str())
                        .and_then(|u| UserId::new(u).ok()),
                );
            }
        }
    }
    let mut unique: Vec<UserId> = Vec::new();
    for user in named {
        if !unique.contains(&user) {
            unique.push(user);
        }
    }
    if unique.len() > 4 * MAX_STEP_APPROVERS {
        return Err(ResolveError::TooMany(step.name.clone()));
    }
    // Only active users decide (a role's are active already; the others are read once).
    let active: std::collections::HashSet<UserId> = users
        .get_many(tenant, &unique)
        .await?
        .into_iter()
        .filter(|u| u.active)
        .map(|u| u.id)
        .collect();
    unique.retain(|u| active.contains(u));
    if unique.is_empty() {
        return Err(ResolveError::Nobody {
            step: step.name.clone(),
            why: "none of its approvers is an active user (a manager not set, a user field \
                  empty, a user deactivated)"
                .into(),
        });
    }
    if unique.len() > MAX_STEP_APPROVERS {
        return Err(ResolveError::TooMany(step.name.clone()));
    }
    Ok(unique)
}
