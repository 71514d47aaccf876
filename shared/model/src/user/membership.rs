//! Who may use a tenant: a verified token names a tenant and a subject, and only the stored user
//! of that tenant decides whether the subject is a member, and with which role. A deactivated
//! user, or one whose role was lowered, loses access as soon as the cache below lets go of them.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Clock;
use crate::ids::{TenantId, UserId};
use crate::record::is_plausible_email;
use crate::store::{PageRequest, StoreError};
use crate::user::directory::UserDirectory;
use crate::user::{Role, User};

/// How long a sandbox trusts a user it read: a deactivation or a role change takes effect on
/// every warm sandbox within this many seconds (at once on the sandbox that made it).
pub const MEMBERSHIP_CACHE_SECONDS: i64 = 30;

/// What the identity provider vouches for (the token's claims).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub tenant: TenantId,
    pub user: UserId,
    /// The token's groups name an administrator; this counts only to create the tenant's first
    /// user, never afterwards.
    pub administrator: bool,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Why a caller is not let in.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    #[error("you are not a user of this tenant; an administrator adds you under Users")]
    NotAMember,
    #[error("your user is deactivated; an administrator can reactivate it")]
    Inactive,
    #[error("storage failed")]
    Store(#[from] StoreError),
}

/// A user of a tenant, with the instant it was read.
type Remembered = HashMap<(TenantId, UserId), (DateTime<Utc>, User)>;

/// The users a sandbox read recently.
#[derive(Debug, Default)]
pub struct MembershipCache {
    users: Mutex<Remembered>,
}

impl MembershipCache {
    fn fresh(&self, key: &(TenantId, UserId), now: DateTime<Utc>) -> Option<User> {
        let users = self.users.lock().ok()?;
        users
            .get(key)
            .filter(|(at, _)| now - *at < Duration::seconds(MEMBERSHIP_CACHE_SECONDS))
            .map(|(_, user)| user.clone())
    }

    fn remember(&self, key: (TenantId, UserId), now: DateTime<Utc>, user: User) {
        if let Ok(mut users) = self.users.lock() {
            users.insert(key, (now, user));
        }
    }

    /// Drops what the sandbox knows of a user (after it was changed here).
    pub fn forget(&self, tenant: &TenantId, user: &UserId) {
        if let Ok(mut users) = self.users.lock() {
            users.remove(&(tenant.clone(), user.clone()));
        }
    }
}

/// Checks a caller against the stored users.
pub struct Membership<'a> {
    pub users: &'a dyn UserDirectory,
    pub cache: &'a MembershipCache,
    pub clock: &'a dyn Clock,
}

impl Membership<'_> {
    /// The stored, active user the claims name.
    ///
    /// A tenant without any user yet is set up by its first administrator: a token whose groups
    /// say administrator and that carries an email makes its subject the tenant's first
    /// administrator. The platform operator issues such tokens (the tenant claim is not
    /// writable by users), and once one user exists nobody is added this way again.
    pub async fn verify(&self, claimed: &Claimed) -> Result<User, MembershipError> {
        let key = (claimed.tenant.clone(), claimed.user.clone());
        let now = self.clock.now();
        if let Some(user) = self.cache.fresh(&key, now) {
            return Ok(user);
        }
        let user = match self.users.get(&claimed.tenant, &claimed.user).await? {
            Some(user) => user,
            None => self.first_administrator(claimed).await?,
        };
        if !user.active {
            return Err(MembershipError::Inactive);
        }
        self.cache.remember(key, now, user.clone());
        Ok(user)
    }

    async fn first_administrator(&self, claimed: &Claimed) -> Result<User, MembershipError> {
        let email = claimed
            .email
            .as_deref()
            .filter(|e| is_plausible_email(e))
            .filter(|_| claimed.administrator)
            .ok_or(MembershipError::NotAMember)?;
        let anyone = self
            .users
            .list(&claimed.tenant, &PageRequest::first(1))
            .await?;
        if !anyone.items.is_empty() {
            // Someone exists: perhaps this very subject, made first administrator by one of its
            // own requests a moment ago (a console opening a page sends several at once).
            return self
                .users
                .get(&claimed.tenant, &claimed.user)
                .await?
                .ok_or(MembershipError::NotAMember);
        }
        let user = User {
            id: claimed.user.clone(),
            name: claimed
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| email.to_owned()),
            email: email.to_owned(),
            phone: None,
            team: None,
            role: Role::Administrator,
            manager: None,
            active: true,
        };
        match self.users.create(&claimed.tenant, &user).await {
            Ok(()) => {
                tracing::info!(tenant = %claimed.tenant, user = %user.id, "first administrator of the tenant");
                Ok(user)
            }
            // The same subject's other request got there first.
            Err(StoreError::AlreadyExists) => self
                .users
                .get(&claimed.tenant, &claimed.user)
                .await?
                .ok_or(MembershipError::NotAMember),
            Err(other) => Err(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::testing::memory::MemoryStores;

    fn claimed(tenant: &str, user: &str, administrator: bool) -> Claimed {
        Claimed {
            tenant: TenantId::new(tenant).unwrap(),
            user: UserId::new(user).unwrap(),
            administrator,
            email: Some(format!("{user}@example.vn")),
            name: None,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn a_first_administrator_s_concurrent_request_finds_the_user_its_sibling_made() {
        let stores = MemoryStores::new();
        let cache = MembershipCache::default();
        let clock = FixedClock(at("2027-01-01T00:00:00Z"));
        let members = Membership {
            users: &stores.users,
            cache: &cache,
            clock: &clock,
        };
        let boss = claimed("acme", "u-boss", true);
        // One request made the subject the first administrator after another read no user for
        // it: that other request lists the tenant's users and finds someone.
        let made = members.first_administrator(&boss).await.unwrap();
        let sibling = members.first_administrator(&boss).await.unwrap();
        assert_eq!(sibling, made);
        assert!(matches!(
            members
                .first_administrator(&claimed("acme", "u-other", true))
                .await,
            Err(MembershipError::NotAMember)
        ));
    }

    #[tokio::test]
    async fn the_stored_user_decides_and_a_deactivation_counts_once_the_cache_lets_go() {
        let stores = MemoryStores::new();
        let cache = MembershipCache::default();
        let clock = FixedClock(at("2027-01-01T00:00:00Z"));
        let members = Membership {
            users: &stores.users,
            cache: &cache,
            clock: &clock,
        };
        // The first administrator sets the tenant up; a second admin token does not.
        let first = members
            .verify(&claimed("acme", "u-boss", true))
            .await
            .unwrap();
        assert_eq!(first.role, Role::Administrator);
        assert!(matches!(
            members.verify(&claimed("acme", "u-other", true)).await,
            Err(MembershipError::NotAMember)
        ));
        // A salesperson's token that says admin is still a salesperson.
        let mut sales = first.clone();
        sales.id = UserId::new("u-sales").unwrap();
        sales.role = Role::Salesperson;
        stores.users.put(&first_tenant(), &sales).await.unwrap();
        let seen = members
            .verify(&claimed("acme", "u-sales", true))
            .await
            .unwrap();
        assert_eq!(seen.role, Role::Salesperson);

        sales.active = false;
        stores.users.put(&first_tenant(), &sales).await.unwrap();
        assert!(
            members
                .verify(&claimed("acme", "u-sales", false))
                .await
                .is_ok(),
            "cached"
        );
        let later = FixedClock(at("2027-01-01T00:00:31Z"));
        let members = Membership {
            clock: &later,
            ..members
        };
        assert!(matches!(
            members.verify(&claimed("acme", "u-sales", false)).await,
            Err(MembershipError::Inactive)
        ));
        // Another tenant's token for the same subject is not a member.
        assert!(matches!(
            members.verify(&claimed("globex", "u-sales", false)).await,
            Err(MembershipError::NotAMember)
        ));
    }

    fn first_tenant() -> TenantId {
        TenantId::new("acme").unwrap()
    }
}
