//! Applying allocation rules: the users a rule may give a record to now, the turn taken, the
//! rule that takes a new record, and a dry run of what the rules would do.

use serde::Serialize;
use std::collections::HashMap;

use super::{Candidate, MAX_WEIGHT, Strategy};
use crate::action::SettingKind;
use crate::condition::{CompiledCondition, ConditionScope, EvalContext};
use crate::ids::{SettingId, TenantId, UserId};
use crate::record::Record;
use crate::record::store::RecordStore;
use crate::run::ledger::RunLedger;
use crate::schedule::fire_zone;
use crate::schema::{Module, Schema};
use crate::settings::store::SettingsStore;
use crate::settings::{AllocationRule, Setting, TenantSettings};
use crate::store::{ClaimOutcome, StoreError};
use crate::user::User;
use crate::user::directory::UserDirectory;
use crate::validation::Problems;

/// The most users a rule lists.
pub const MAX_RULE_USERS: usize = 200;
/// The highest cap on a user's open records.
pub const MAX_OPEN_CAP: u32 = 100_000;
/// How many turns a creation tries to take before leaving it to the caller's retry: each lost
/// race means another creation took a turn, so this many in a row is heavy contention.
const TURN_ATTEMPTS: usize = 8;

/// What a rule says on its own (its users, listed once each and existing, and its condition
/// are checked with the setting's validation).
pub fn check_rule(rule: &AllocationRule) -> Problems {
    let mut problems = Problems::default();
    if rule.users.is_empty() && rule.team.is_none() {
        problems.push("/users", "name the users who take turns, a team, or both");
    }
    if rule.users.len() > MAX_RULE_USERS {
        problems.push("/users", format!("at most {MAX_RULE_USERS} users"));
    }
    if rule
        .team
        .as_deref()
        .is_some_and(|t| t.trim().is_empty() || t.chars().count() > 100)
    {
        problems.push("/team", "a team name, at most 100 characters");
    }
    if rule.max_open.is_some_and(|m| m == 0 || m > MAX_OPEN_CAP) {
        problems.push(
            "/max_open",
            format!("1 to {MAX_OPEN_CAP} open records per user"),
        );
    }
    if let Strategy::Weighted { weights } = &rule.strategy {
        if weights.is_empty() || weights.len() > MAX_RULE_USERS {
            problems.push(
                "/strategy/weights",
                format!("give 1 to {MAX_RULE_USERS} users a weight"),
            );
        }
        for (i, w) in weights.iter().enumerate() {
            if w.weight == 0 || w.weight > MAX_WEIGHT {
                problems.push(
                    format!("/strategy/weights/{i}/weight"),
                    format!("1 to {MAX_WEIGHT}"),
                );
            }
            if weights[..i].iter().any(|o| o.user == w.user) {
                problems.push(
                    format!("/strategy/weights/{i}/user"),
                    format!("'{}' is weighed twice", w.user),
                );
            }
        }
    }
    problems
}

/// Every user a rule names, for the existence check.
pub fn named_users(rule: &AllocationRule) -> Vec<UserId> {
    let mut named = rule.users.clone();
    if let Strategy::Weighted { weights } = &rule.strategy {
        named.extend(weights.iter().map(|w| w.user.clone()));
    }
    named
}

/// Who a new record went to, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub owner: UserId,
    /// The rule that chose them; none for the module's default owner.
    pub rule: Option<SettingId>,
}

/// The allocation use cases over their ports.
pub struct Allocator<'a> {
    pub settings: &'a dyn SettingsStore,
    pub users: &'a dyn UserDirectory,
    pub records: &'a dyn RecordStore,
    /// Where the rules' turns are counted.
    pub turns: &'a dyn RunLedger,
}

/// A rule applied to new records, compiled.
pub struct OnCreate {
    pub id: SettingId,
    pub rule: AllocationRule,
    condition: CompiledCondition,
}

impl Allocator<'_> {
    /// The rules applied to `module`'s new records, in the order they are tried.
    pub async fn rules_on_create(
        &self,
        tenant: &TenantId,
        module: Module,
        schema: &Schema,
    ) -> Result<Vec<OnCreate>, StoreError> {
        let mut rules = Vec::new();
        let listed = crate::settings::store::every_setting(
            self.settings,
            tenant,
            SettingKind::AllocationRule,
        )
        .await?;
        for (id, setting) in listed {
            let Setting::AllocationRule(rule) = setting else {
                continue;
            };
            if rule.module != module || !rule.on_create {
                continue;
            }
            let condition = CompiledCondition::compile(
                &rule.condition,
                schema.module(module),
                ConditionScope::RecordState,
                "",
            );
            // A rule whose condition names a field since removed takes nothing.
            if let Ok(condition) = condition {
                rules.push(OnCreate {
                    id,
                    rule,
                    condition,
                });
            }
        }
        rules.sort_by(|a, b| (a.rule.priority, &a.id).cmp(&(b.rule.priority, &b.id)));
        Ok(rules)
    }

    /// The users `rule` may give a record to now: its users in order, then its team's other
    /// members by id; without the inactive (when the rule skips them), users gone, and those
    /// at the rule's cap of open records.
    pub async fn candidates(
        &self,
        tenant: &TenantId,
        rule: &AllocationRule,
    ) -> Result<Vec<Candidate>, StoreError> {
        let mut found: HashMap<UserId, User> = HashMap::new();
        for chunk in rule.users.chunks(100) {
            for user in self.users.get_many(tenant, chunk).await? {
                found.insert(user.id.clone(), user);
            }
        }
        let mut order: Vec<UserId> = rule
            .users
            .iter()
            .filter(|u| found.contains_key(*u))
            .cloned()
            .collect();
        if let Some(team) = &rule.team {
            let members = crate::user::directory::team_members(self.users, tenant, team).await?;
            for member in members {
                if !found.contains_key(&member.id) {
                    order.push(member.id.clone());
                    found.insert(member.id.clone(), member);
                }
            }
        }
        let counts_open = rule.max_open.is_some() || matches!(rule.strategy, Strategy::FewestOpen);
        let mut candidates = Vec::with_capacity(order.len());
        for id in order {
            if rule.skip_inactive && !found.get(&id).is_some_and(|u| u.active) {
                continue;
            }
            let open = if counts_open {
                Some(self.records.count_open(tenant, rule.module, &id).await?)
            } else {
                None
            };
            if let (Some(cap), Some(open)) = (rule.max_open, open) {
                if open >= u64::from(cap) {
                    continue;
                }
            }
            candidates.push(Candidate {
                weight: rule.strategy.weight_of(&id),
                user: id,
                open,
            });
        }
        Ok(candidates)
    }

    /// Takes the rule's next turn among `candidates` (a conditional write on its counter, so
    /// that concurrent callers each take another); `None` when there is nobody.
    pub async fn take_turn(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        strategy: &Strategy,
        candidates: &[Candidate],
    ) -> Result<Option<UserId>, StoreError> {
        if !strategy.takes_turns() {
            return Ok(strategy.pick(candidates, 0).map(|c| c.user.clone()));
        }
        for _ in 0..TURN_ATTEMPTS {
            let turn = self.turns.counter(tenant, id.as_str()).await?;
            let Some(picked) = strategy.pick(candidates, turn) else {
                return Ok(None);
            };
            if self.turns.advance(tenant, id.as_str(), turn).await? == ClaimOutcome::Claimed {
                return Ok(Some(picked.user.clone()));
            }
        }
        // Busy, not stale: the caller's retry takes a later turn.
        Err(StoreError::Unavailable(
            format!("allocation rule '{id}' had {TURN_ATTEMPTS} turns taken under it at once")
                .into(),
        ))
    }

    /// Who a record being created goes to: the first rule (in order) whose condition holds,
    /// that applies to it (`has_owner`: only rules that override) and has a user to give; else
    /// the module's default owner for a record without one. `None`: it keeps what it came with.
    pub async fn assign(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
        schema: &Schema,
        record: &Record,
        has_owner: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Assignment>, StoreError> {
        let ctx = EvalContext {
            now,
            tz: fire_zone(record, settings),
            previous: None,
        };
        for on_create in self.rules_on_create(tenant, record.module, schema).await? {
            if has_owner && !on_create.rule.override_owner {
                continue;
            }
            if !on_create.condition.matches(record, &ctx) {
                continue;
            }
            let candidates = self.candidates(tenant, &on_create.rule).await?;
            let taken = self
                .take_turn(tenant, &on_create.id, &on_create.rule.strategy, &candidates)
                .await?;
            if let Some(owner) = taken {
                return Ok(Some(Assignment {
                    owner,
                    rule: Some(on_create.id),
                }));
            }
        }
        if has_owner {
            return Ok(None);
        }
        let Some(default) = settings.default_owners.get(&record.module) else {
            return Ok(None);
        };
        let active = self
            .users
            .get(tenant, default)
            .await?
            .is_some_and(|u| u.active);
        Ok(active.then(|| Assignment {
            owner: default.clone(),
            rule: None,
        }))
    }
}

/// What the rules would do to one record, in a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WouldAssign {
    pub record: crate::ids::RecordId,
    /// `None`: no rule takes it and there is no default owner (it would go to its creator).
    pub owner: Option<UserId>,
    pub rule: Option<SettingId>,
}

impl Allocator<'_> {
    /// What the module's rules would do to `records`, one after the other as if each were
    /// created now without an owner: turns continue from each rule's counter and open counts
    /// grow with what is given. Reads only.
    pub async fn dry_run(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
        schema: &Schema,
        module: Module,
        records: &[Record],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<WouldAssign>, StoreError> {
        let rules = self.rules_on_create(tenant, module, schema).await?;
        let mut pools = Vec::with_capacity(rules.len());
        for on_create in &rules {
            let candidates = self.candidates(tenant, &on_create.rule).await?;
            let turn = self.turns.counter(tenant, on_create.id.as_str()).await?;
            pools.push((candidates, turn));
        }
        let default = match settings.default_owners.get(&module) {
            Some(user) => self
                .users
                .get(tenant, user)
                .await?
                .filter(|u| u.active)
                .map(|u| u.id),
            None => None,
        };
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            let ctx = EvalContext {
                now,
                tz: fire_zone(record, settings),
                previous: None,
            };
            let mut would = WouldAssign {
                record: record.id.clone(),
                owner: default.clone(),
                rule: None,
            };
            for (on_create, (candidates, turn)) in rules.iter().zip(pools.iter_mut()) {
                if !on_create.condition.matches(record, &ctx) {
                    continue;
                }
                let strategy = &on_create.rule.strategy;
                let Some(picked) = strategy.pick(candidates, *turn).map(|c| c.user.clone()) else {
                    continue;
                };
                if strategy.takes_turns() {
                    *turn += 1;
                }
                // What it is given counts as open from now on, for the load and the cap.
                if let Some(i) = candidates.iter().position(|c| c.user == picked) {
                    let open = candidates[i].open.map(|n| n + 1);
                    candidates[i].open = open;
                    let at_cap = on_create
                        .rule
                        .max_open
                        .zip(open)
                        .is_some_and(|(cap, open)| open >= u64::from(cap));
                    if at_cap {
                        candidates.remove(i);
                    }
                }
                would.owner = Some(picked);
                would.rule = Some(on_create.id.clone());
                break;
            }
            out.push(would);
        }
        Ok(out)
    }
}
