//! The people use cases: the tenant's users (whom records are owned by, assigned to and handed
//! over to), their teams, and each user's in-app notifications.

use std::collections::BTreeMap;

use crate::ids::{TenantId, UserId};
use crate::store::{Page, PageRequest, StoreError};
use crate::user::Notification;
use crate::user::User;
use crate::user::directory::UserDirectory;
use crate::user::notifications::NotificationInbox;
use crate::validation::Problems;

/// Why a people operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    #[error("the user is not valid")]
    Invalid(Problems),
    #[error("no such user")]
    UserNotFound,
    #[error("user '{0}' already exists")]
    UserExists(UserId),
    #[error("no such notification")]
    NotificationNotFound,
    /// The change would leave nobody able to manage the tenant.
    #[error(
        "the tenant would have no active administrator left; make another user an administrator first"
    )]
    LastAdministrator,
    #[error("storage failed")]
    Store(#[from] StoreError),
}

/// One team and its members, as the hand-over picker shows them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Team {
    /// `None` for the users in no team.
    pub team: Option<String>,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    pub id: UserId,
    pub name: String,
    pub active: bool,
}

fn is_active_admin(user: &User) -> bool {
    user.active && user.role == crate::user::Role::Administrator
}

/// The people use cases over their ports.
pub struct People<'a> {
    pub users: &'a dyn UserDirectory,
    pub inbox: &'a dyn NotificationInbox,
}

impl People<'_> {
    pub async fn list(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<User>, PeopleError> {
        Ok(self.users.list(tenant, page).await?)
    }

    pub async fn get(&self, tenant: &TenantId, id: &UserId) -> Result<User, PeopleError> {
        self.users
            .get(tenant, id)
            .await?
            .ok_or(PeopleError::UserNotFound)
    }

    /// Every problem of `user`, with the manager it names checked against the tenant's users.
    async fn check(&self, tenant: &TenantId, user: &User) -> Result<(), PeopleError> {
        let mut problems = user.validate();
        if let Some(manager) = user.manager.as_ref().filter(|m| **m != user.id) {
            if self.users.get(tenant, manager).await?.is_none() {
                problems.push("/manager", format!("no user '{manager}'"));
            }
        }
        problems.into_result(()).map_err(PeopleError::Invalid)
    }

    /// Adds a valid user whose id is not taken.
    pub async fn create(&self, tenant: &TenantId, user: User) -> Result<User, PeopleError> {
        self.check(tenant, &user).await?;
        match self.users.create(tenant, &user).await {
            Ok(()) => Ok(user),
            Err(StoreError::AlreadyExists) => Err(PeopleError::UserExists(user.id)),
            Err(other) => Err(other.into()),
        }
    }

    /// Replaces an existing user (name, contact, team, role, active); deactivating keeps their
    /// history.
    pub async fn replace(&self, tenant: &TenantId, user: User) -> Result<User, PeopleError> {
        let before = self.get(tenant, &user.id).await?;
        self.check(tenant, &user).await?;
        if is_active_admin(&before)
            && !is_active_admin(&user)
            && !self.another_admin(tenant, &user.id).await?
        {
            return Err(PeopleError::LastAdministrator);
        }
        self.users.put(tenant, &user).await?;
        Ok(user)
    }

    /// Whether an active administrator other than `except` exists.
    async fn another_admin(&self, tenant: &TenantId, except: &UserId) -> Result<bool, PeopleError> {
        let mut request = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let found = self.users.list(tenant, &request).await?;
            if found
                .items
                .iter()
                .any(|u| &u.id != except && is_active_admin(u))
            {
                return Ok(true);
            }
            match found.next {
                Some(next) => request.cursor = Some(next),
                None => return Ok(false),
            }
        }
    }

    /// Every user grouped by team, teams by name, the users in no team first.
    pub async fn teams(&self, tenant: &TenantId) -> Result<Vec<Team>, PeopleError> {
        let mut teams: BTreeMap<String, Vec<Member>> = BTreeMap::new();
        let mut request = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let found = self.users.list(tenant, &request).await?;
            for user in found.items {
                teams
                    .entry(user.team.clone().unwrap_or_default())
                    .or_default()
                    .push(Member {
                        id: user.id,
                        name: user.name,
                        active: user.active,
                    });
            }
            match found.next {
                Some(next) => request.cursor = Some(next),
                None => break,
            }
        }
        Ok(teams
            .into_iter()
            .map(|(team, members)| Team {
                team: (!team.is_empty()).then_some(team),
                members,
            })
            .collect())
    }

    /// The user's notifications, newest first.
    pub async fn notifications(
        &self,
        tenant: &TenantId,
        user: &UserId,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<Notification>, PeopleError> {
        Ok(self.inbox.list(tenant, user, unread_only, page).await?)
    }

    /// Marks one of the user's own notifications read.
    pub async fn mark_read(
        &self,
        tenant: &TenantId,
        user: &UserId,
        key: &str,
    ) -> Result<Notification, PeopleError> {
        match self.inbox.mark_read(tenant, user, key).await {
            Err(StoreError::NotFound) => Err(PeopleError::NotificationNotFound),
            other => Ok(other?),
        }
    }
}
