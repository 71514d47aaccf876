//! Data access levels: what each role may do to which records. A role sees the whole tenant's
//! records, its team's, or only its own (by the records' `Owner`), and has permissions per
//! module. Automation never goes through here: it acts for the tenant, not for whoever triggered
//! it.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{TenantId, UserId};
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::settings::store::SettingsStore;
use crate::store::StoreError;
use crate::user::directory::UserDirectory;
use crate::user::{Role, User};
use crate::validation::Problems;

/// Whose records a role reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    /// The records the user owns.
    Own,
    /// The records owned by anyone in the user's team (a user in no team: their own).
    Team,
    /// Every record of the tenant.
    Tenant,
}

/// What a role may do to a module's records it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    Read,
    Create,
    Edit,
    Delete,
    Merge,
    HandOver,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Permission::Read,
        Permission::Create,
        Permission::Edit,
        Permission::Delete,
        Permission::Merge,
        Permission::HandOver,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Create => "create",
            Permission::Edit => "edit",
            Permission::Delete => "delete",
            Permission::Merge => "merge",
            Permission::HandOver => "hand_over",
        }
    }
}

/// Modules that came after tenants could save access policies: Call, Meeting, Note, Message.
pub const LATER_MODULES: [Module; 4] =
    [Module::Call, Module::Meeting, Module::Note, Module::Message];

/// One role's access: its level and its permissions per module (a module left out: none, but
/// for [`LATER_MODULES`], see [`RolePolicy::completed`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolePolicy {
    pub level: AccessLevel,
    pub modules: BTreeMap<Module, BTreeSet<Permission>>,
}

impl RolePolicy {
    /// Everything on every module, tenant-wide: the administrator's default.
    pub fn everything() -> Self {
        Self {
            level: AccessLevel::Tenant,
            modules: Module::ALL
                .iter()
                .map(|m| {
                    let all = Permission::ALL
                        .into_iter()
                        .filter(|p| *p != Permission::Merge || *m == Module::Customer)
                        .collect();
                    (*m, all)
                })
                .collect(),
        }
    }

    /// A salesperson's default: their own records; read, create, edit and hand over everywhere;
    /// delete only leads, contacts and activities (tasks, care cards, calls, meetings, notes;
    /// sales documents and customers stay
    /// with managers, who also merge duplicates, since a merge deletes a customer and moves
    /// records that may be other people's).
    pub fn salesperson() -> Self {
        let deletable = [
            Module::Lead,
            Module::Contact,
            Module::Task,
            Module::CareCard,
            Module::Call,
            Module::Meeting,
            Module::Note,
        ];
        Self {
            level: AccessLevel::Own,
            modules: Module::ALL
                .iter()
                .map(|m| {
                    let mut permissions: BTreeSet<Permission> = [
                        Permission::Read,
                        Permission::Create,
                        Permission::Edit,
                        Permission::HandOver,
                    ]
                    .into();
                    if deletable.contains(m) {
                        permissions.insert(Permission::Delete);
                    }
                    (*m, permissions)
                })
                .collect(),
        }
    }

    /// The role's default for `role`.
    pub fn default_for(role: Role) -> Self {
        match role {
            Role::Administrator => Self::everything(),
            Role::Salesperson => Self::salesperson(),
        }
    }

    /// The policy as it applies: a module added after policies could be saved
    /// ([`LATER_MODULES`]) that it does not name takes the role's default (an empty list names
    /// it, and gives nothing).
    pub fn completed(&self, role: Role) -> Self {
        let default = Self::default_for(role);
        let mut policy = self.clone();
        for module in LATER_MODULES {
            if let (false, Some(permissions)) = (
                policy.modules.contains_key(&module),
                default.modules.get(&module),
            ) {
                policy.modules.insert(module, permissions.clone());
            }
        }
        policy
    }

    fn validate(&self, base: &str) -> Problems {
        let mut problems = Problems::default();
        for (module, permissions) in &self.modules {
            let path = format!("{base}/modules/{}", module.as_str());
            if !permissions.is_empty() && !permissions.contains(&Permission::Read) {
                problems.push(&path, "every other permission needs read");
            }
            if permissions.contains(&Permission::Merge) && *module != Module::Customer {
                problems.push(&path, "only customers are merged");
            }
        }
        problems
    }
}

/// The access of each role, part of the tenant's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPolicies {
    #[serde(default = "RolePolicy::everything")]
    pub administrator: RolePolicy,
    #[serde(default = "RolePolicy::salesperson")]
    pub salesperson: RolePolicy,
}

impl Default for AccessPolicies {
    fn default() -> Self {
        Self {
            administrator: RolePolicy::everything(),
            salesperson: RolePolicy::salesperson(),
        }
    }
}

impl AccessPolicies {
    pub fn of(&self, role: Role) -> &RolePolicy {
        match role {
            Role::Administrator => &self.administrator,
            Role::Salesperson => &self.salesperson,
        }
    }

    pub fn validate(&self) -> Problems {
        let mut problems = self.administrator.validate("/access/administrator");
        problems.extend(self.salesperson.validate("/access/salesperson"));
        problems
    }
}

/// Whose records a caller reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Owners(BTreeSet<UserId>),
}

/// What one caller may do, resolved for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub scope: Scope,
    modules: BTreeMap<Module, BTreeSet<Permission>>,
}

impl Access {
    /// Everything, tenant-wide: the system's own work, and tests of the mechanics.
    pub fn everything() -> Self {
        Self::of_policy(&RolePolicy::everything(), BTreeSet::new())
    }

    fn of_policy(policy: &RolePolicy, owners: BTreeSet<UserId>) -> Self {
        Self {
            scope: match policy.level {
                AccessLevel::Tenant => Scope::All,
                _ => Scope::Owners(owners),
            },
            modules: policy.modules.clone(),
        }
    }

    /// The access of `user` under the tenant's `policies`: for a team level, the team's members
    /// are read from the directory.
    pub async fn resolve(
        policies: &AccessPolicies,
        users: &dyn UserDirectory,
        tenant: &TenantId,
        user: &User,
    ) -> Result<Self, StoreError> {
        let policy = &policies.of(user.role).completed(user.role);
        let mut owners: BTreeSet<UserId> = [user.id.clone()].into();
        if let (AccessLevel::Team, Some(team)) = (policy.level, &user.team) {
            let members = crate::user::directory::team_members(users, tenant, team).await?;
            owners.extend(members.into_iter().map(|u| u.id));
        }
        Ok(Self::of_policy(policy, owners))
    }

    /// The access the tenant's settings give `user`'s role.
    pub async fn of_user(
        settings: &dyn SettingsStore,
        users: &dyn UserDirectory,
        tenant: &TenantId,
        user: &User,
    ) -> Result<Self, StoreError> {
        let policies = settings.tenant_settings(tenant).await?.value.access;
        Self::resolve(&policies, users, tenant, user).await
    }

    pub fn may(&self, module: Module, permission: Permission) -> bool {
        self.modules
            .get(&module)
            .is_some_and(|p| p.contains(&permission))
    }

    /// Whether a record is within reach (a record without an owner: at tenant level only).
    pub fn reaches(&self, record: &StoredRecord) -> bool {
        match &self.scope {
            Scope::All => true,
            Scope::Owners(owners) => record
                .fields
                .get("Owner")
                .and_then(|o| o.as_str())
                .and_then(|o| UserId::new(o).ok())
                .is_some_and(|o| owners.contains(&o)),
        }
    }

    /// Whether the records owned by `owner` are within reach.
    pub fn reaches_owner(&self, owner: &UserId) -> bool {
        match &self.scope {
            Scope::All => true,
            Scope::Owners(owners) => owners.contains(owner),
        }
    }

    /// The owners a listing is restricted to; `None` at tenant level.
    pub fn owners(&self) -> Option<&BTreeSet<UserId>> {
        match &self.scope {
            Scope::All => None,
            Scope::Owners(owners) => Some(owners),
        }
    }

    /// Whether this access reaches the whole tenant.
    pub fn tenant_wide(&self) -> bool {
        self.scope == Scope::All
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_keep_administrators_whole_and_salespeople_to_their_own() {
        let policies: AccessPolicies = serde_json::from_value(json!({})).unwrap();
        assert_eq!(policies, AccessPolicies::default());
        let admin = Access::of_policy(&policies.administrator, BTreeSet::new());
        assert!(admin.tenant_wide() && admin.may(Module::Customer, Permission::Merge));
        let sales = Access::of_policy(&policies.salesperson, [UserId::new("u-1").unwrap()].into());
        assert!(sales.may(Module::Customer, Permission::Edit));
        assert!(!sales.may(Module::Customer, Permission::Delete));
        assert!(!sales.may(Module::Customer, Permission::Merge));
        assert!(sales.may(Module::Lead, Permission::Delete));
        let record = |owner: &str| StoredRecord {
            id: crate::ids::RecordId::new("c1").unwrap(),
            module: Module::Customer,
            fields: json!({"Owner": owner}).as_object().unwrap().clone(),
        };
        assert!(sales.reaches(&record("u-1")) && !sales.reaches(&record("u-2")));
    }

    #[test]
    fn a_policy_saved_before_calls_meetings_and_notes_gives_the_roles_default_for_them() {
        let saved: RolePolicy = serde_json::from_value(json!({
            "level": "own", "modules": {"Customer": ["read"], "Note": []}
        }))
        .unwrap();
        let applied = saved.completed(Role::Salesperson);
        let access = Access::of_policy(&applied, BTreeSet::new());
        assert!(access.may(Module::Call, Permission::Delete), "the default");
        assert!(access.may(Module::Meeting, Permission::Create));
        assert!(
            !access.may(Module::Note, Permission::Read),
            "named, and given nothing"
        );
        assert!(
            !access.may(Module::Lead, Permission::Read),
            "an old module left out"
        );
        assert!(access.may(Module::Customer, Permission::Read));
    }

    #[test]
    fn permissions_without_read_and_merges_of_other_modules_are_refused() {
        let policies: AccessPolicies = serde_json::from_value(json!({
            "salesperson": {"level": "team", "modules": {"Order": ["edit"], "Lead": ["read", "merge"]}}
        }))
        .unwrap();
        let problems = policies.validate();
        assert!(
            problems.has("/access/salesperson/modules/Order"),
            "{problems}"
        );
        assert!(
            problems.has("/access/salesperson/modules/Lead"),
            "{problems}"
        );
    }
}
