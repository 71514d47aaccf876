//! The DynamoDB effects of an action: notifications, tasks, field updates, hand-overs and care
//! cards, committed with the run in one transaction.

use chrono::Duration;
use serde_json::{Map, Value, json};

use super::care_cards::care_cards;
use super::{Context, ExecuteError, Executor, derived_id};
use crate::action::{Action, AssignedValue, Assignee, SettingKind};
use crate::ids::{RecordId, UserId};
use crate::record::stored::StoredRecord;
use crate::record::{FieldValue, limits};
use crate::run::Effect;
use crate::schedule::ActionJob;
use crate::schema::Module;
use crate::settings::Setting;
use crate::store::StoreError;
use crate::template::Escape;
use crate::user::Notification;

impl Executor<'_> {
    /// The DynamoDB effects of a notification, task or field update, and their output ids.
    pub(super) async fn effects(
        &self,
        job: &ActionJob,
        c: &Context,
    ) -> Result<Result<(Vec<Effect>, Vec<String>), String>, ExecuteError> {
        let key = job.idempotency_key();
        let notify = |users: Vec<UserId>, message: String| -> Vec<Effect> {
            let mut users = users;
            users.sort();
            users.dedup();
            users
                .into_iter()
                .enumerate()
                .map(|(i, user)| {
                    Effect::Notify(Notification {
                        id: derived_id("ntf", &key, i).to_string(),
                        user,
                        message: message.clone(),
                        record: Some(c.record.id.clone()),
                        at: c.now,
                        read: false,
                    })
                })
                .collect()
        };
        match &c.action {
            Action::Notification(a) => {
                let mut users = a.users.clone();
                if a.notify_owner {
                    match c.owner() {
                        Some(owner) => users.push(owner),
                        None if a.users.is_empty() => {
                            return Ok(Err("the record has no owner to notify".into()));
                        }
                        None => {}
                    }
                }
                let effects = notify(users, c.render(&a.message, Escape::Plain));
                let ids = effects
                    .iter()
                    .filter_map(|e| match e {
                        Effect::Notify(n) => Some(n.id.clone()),
                        _ => None,
                    })
                    .collect();
                Ok(Ok((effects, ids)))
            }
            Action::Task(a) => {
                let assignee = match &a.assignee {
                    Assignee::User { user_id } => Some(user_id.clone()),
                    Assignee::RecordOwner {} => c.owner(),
                    Assignee::Field { field } => c
                        .record
                        .get(field)
                        .and_then(FieldValue::as_text)
                        .and_then(|u| UserId::new(u).ok()),
                };
                let Some(assignee) = assignee else {
                    return Ok(Err("the task has no one to assign it to".into()));
                };
                let task_id = derived_id("task", &key, 0);
                let customer = match c.definition.module {
                    Module::Customer => Some(c.record.id.to_string()),
                    _ => c
                        .record
                        .get("Customer")
                        .and_then(FieldValue::as_text)
                        .map(str::to_owned),
                };
                let mut fields = Map::new();
                for (field, template) in [("Title", &a.title), ("Description", &a.description)] {
                    let merged = c.render(template, Escape::Plain);
                    if let Some(problem) = limits::text_problem(&merged) {
                        return Ok(Err(format!(
                            "the task's {field}: the merged text {problem}"
                        )));
                    }
                    fields.insert(field.into(), Value::String(merged));
                }
                fields.insert(
                    "DueAt".into(),
                    Value::String(c.due(a.due.days_after, a.due.time_of_day).to_rfc3339()),
                );
                fields.insert("TaskType".into(), Value::String(a.task_type.clone()));
                fields.insert("Priority".into(), Value::String(a.priority.clone()));
                fields.insert("Status".into(), Value::String("Open".into()));
                fields.insert("Assignee".into(), Value::String(assignee.to_string()));
                fields.insert("Owner".into(), Value::String(assignee.to_string()));
                if let Some(customer) = customer {
                    fields.insert("Customer".into(), Value::String(customer));
                }
                // The record the workflow fired on, whatever its module: its open activities
                // list the task.
                fields.insert(
                    "RelatedModule".into(),
                    Value::String(c.definition.module.as_str().into()),
                );
                fields.insert(
                    "RelatedRecord".into(),
                    Value::String(c.record.id.to_string()),
                );
                let mut related: Vec<String> = Vec::new();
                for user in &a.related_users {
                    if !related.iter().any(|r| r == user.as_str()) {
                        related.push(user.to_string());
                    }
                }
                if !related.is_empty() {
                    fields.insert("RelatedUsers".into(), json!(related));
                }
                if let Some(print) = &a.attachment {
                    // Stored before the task's commit under the task's own (stable) id, so a
                    // redelivery stores the same file again rather than a second one.
                    let file = match self.print(job, c, print).await? {
                        Ok(file) => file,
                        Err(reason) => return Ok(Err(reason)),
                    };
                    self.attachments.put(&job.tenant, &task_id, &file).await?;
                    fields.insert("Attachments".into(), json!([file.file_name]));
                }
                fields.insert("CreatedAt".into(), Value::String(c.now.to_rfc3339()));
                fields.insert("UpdatedAt".into(), Value::String(c.now.to_rfc3339()));
                let task = StoredRecord {
                    id: task_id.clone(),
                    module: Module::Task,
                    fields,
                };
                let mut users = vec![assignee];
                users.extend(a.related_users.iter().cloned());
                let title = c.render(&a.title, Escape::Plain);
                let mut effects = vec![Effect::Create(task)];
                effects.extend(notify(users, format!("Nhiệm vụ mới: {title}")));
                Ok(Ok((effects, vec![task_id.to_string()])))
            }
            Action::UpdateFields(a) => {
                let (target, revision) = match &a.via {
                    None => (c.stored.clone(), c.revision),
                    Some(via) => {
                        let Some(id) = c
                            .record
                            .get(via)
                            .and_then(FieldValue::as_text)
                            .and_then(|id| RecordId::new(id).ok())
                        else {
                            return Ok(Err(format!("the record's '{via}' is empty")));
                        };
                        match self.records.get(&job.tenant, &id).await? {
                            Some(found) => (found.value, found.revision),
                            None => {
                                return Ok(Err(format!(
                                    "the related record '{id}' no longer exists"
                                )));
                            }
                        }
                    }
                };
                let target_module = c.schema.module(target.module);
                let mut fields = target.fields.clone();
                for assignment in &a.values {
                    let Some(def) = target_module.field(&assignment.field) else {
                        return Ok(Err(format!(
                            "{} has no field '{}' any more",
                            target.module, assignment.field
                        )));
                    };
                    // Refused when saved; a workflow saved before that rule is stopped here.
                    if def.name == "Customer"
                        && crate::record::blocks_customer_delete(target.module)
                    {
                        return Ok(Err(format!(
                            "the customer of a {} is changed by hand, not by a workflow",
                            target.module
                        )));
                    }
                    let value = match &assignment.value {
                        AssignedValue::Literal { value } => {
                            match FieldValue::parse(&def.kind, value) {
                                Ok(_) => value.clone(),
                                Err(message) => {
                                    return Ok(Err(format!("{}: {message}", assignment.field)));
                                }
                            }
                        }
                        AssignedValue::Merge { text } => {
                            let merged = c.render(text, Escape::Plain);
                            if let Some(problem) = limits::text_problem(&merged) {
                                return Ok(Err(format!(
                                    "{}: the merged value {problem}",
                                    assignment.field
                                )));
                            }
                            Value::String(merged)
                        }
                        AssignedValue::Today { offset_days } => {
                            let day = c.now.with_timezone(&c.tz).date_naive()
                                + Duration::days(i64::from(*offset_days));
                            if def.kind == crate::schema::FieldKind::Date {
                                Value::String(day.to_string())
                            } else {
                                Value::String(c.now.to_rfc3339())
                            }
                        }
                        AssignedValue::Clear {} => Value::Null,
                    };
                    if value.is_null() {
                        fields.remove(&assignment.field);
                    } else {
                        fields.insert(assignment.field.clone(), value);
                    }
                }
                fields.insert("UpdatedAt".into(), Value::String(c.now.to_rfc3339()));
                if let Some(problem) = limits::record_problem(&fields) {
                    return Ok(Err(problem));
                }
                let id = target.id.to_string();
                let record = StoredRecord { fields, ..target };
                Ok(Ok((
                    vec![Effect::Replace {
                        record,
                        expected: revision,
                    }],
                    vec![id],
                )))
            }
            Action::Handover(a) => self.handover(job, c, a).await,
            Action::CareCard(a) => Ok(care_cards(&job.idempotency_key(), c, a)),
            Action::Sms(_) | Action::Email(_) | Action::Zns(_) => {
                Ok(Err("not a DynamoDB effect".into()))
            }
        }
    }

    /// The owner change of a hand-over (to a user, or the next user of an allocation rule), the
    /// owner's open activities that follow, and the new owner's notification.
    async fn handover(
        &self,
        job: &ActionJob,
        c: &Context,
        a: &crate::action::HandoverAction,
    ) -> Result<Result<(Vec<Effect>, Vec<String>), String>, ExecuteError> {
        use crate::action::{ActivityKind, HandoverTarget};
        let mut effects = Vec::new();
        let new_owner = match &a.to {
            HandoverTarget::User { user_id } => match self.users.get(&job.tenant, user_id).await? {
                Some(user) if user.active => user.id,
                _ => return Ok(Err(format!("user '{user_id}' is not an active user"))),
            },
            HandoverTarget::AllocationRule { rule } => {
                let Some(Setting::AllocationRule(found)) = self
                    .settings
                    .get(&job.tenant, SettingKind::AllocationRule, rule)
                    .await?
                    .map(|s| s.value)
                else {
                    return Ok(Err(format!("allocation rule '{rule}' no longer exists")));
                };
                let module = c.schema.module(found.module);
                let condition = crate::condition::CompiledCondition::compile(
                    &found.condition,
                    module,
                    crate::condition::ConditionScope::RecordState,
                    "",
                )
                .map_err(|_| {
                    StoreError::Corrupt(
                        "stored allocation rule condition no longer compiles".into(),
                    )
                })?;
                let ctx = crate::condition::EvalContext {
                    now: c.now,
                    tz: c.tz,
                    previous: None,
                };
                if !condition.matches(&c.record, &ctx) {
                    return Ok(Err(format!(
                        "the record does not match allocation rule '{rule}'"
                    )));
                }
                let allocator = crate::allocation::service::Allocator {
                    settings: self.settings,
                    users: self.users,
                    records: self.records,
                    turns: self.ledger,
                };
                let candidates = allocator.candidates(&job.tenant, &found).await?;
                // The turn moves with the hand-over's commit: a lost race reloads and retries.
                let turn = if found.strategy.takes_turns() {
                    let turn = self.ledger.counter(&job.tenant, rule.as_str()).await?;
                    effects.push(Effect::Advance {
                        counter: rule.to_string(),
                        expected: turn,
                    });
                    turn
                } else {
                    0
                };
                match found.strategy.pick(&candidates, turn) {
                    Some(picked) => picked.user.clone(),
                    None => {
                        return Ok(Err(format!(
                            "allocation rule '{rule}' has nobody to give it to (no active \
                             user below the rule's cap)"
                        )));
                    }
                }
            }
        };
        let old_owner = c.owner();
        let mut fields = c.stored.fields.clone();
        fields.insert("Owner".into(), Value::String(new_owner.to_string()));
        fields.insert("UpdatedAt".into(), Value::String(c.now.to_rfc3339()));
        effects.push(Effect::Replace {
            record: StoredRecord {
                fields,
                ..c.stored.clone()
            },
            expected: c.revision,
        });
        let mut output = vec![c.stored.id.to_string()];
        if !a.move_open_activities.is_empty() {
            let related = match self
                .records
                .related(&job.tenant, &c.stored.id, crate::record::store::MAX_RELATED)
                .await
            {
                Err(StoreError::TooMany { limit }) => {
                    return Ok(Err(format!(
                        "the record has more than {limit} related records; its open activities \
                         were not moved and it was not handed over"
                    )));
                }
                other => other?,
            };
            for related in related {
                let Some(kind) = ActivityKind::of(related.value.module) else {
                    continue;
                };
                // Tasks and cards still open; calls and meetings still planned (a meeting
                // without a status is one).
                let status = related.value.fields.get("Status").and_then(Value::as_str);
                let open = match kind {
                    ActivityKind::Task | ActivityKind::CareCard => status == Some("Open"),
                    ActivityKind::Call => status == Some("Planned"),
                    ActivityKind::Meeting => matches!(status, None | Some("Planned")),
                };
                let owned = related.value.fields.get("Owner").and_then(Value::as_str)
                    == old_owner.as_ref().map(UserId::as_str);
                if !a.move_open_activities.contains(&kind) || !open || !owned {
                    continue;
                }
                // A DynamoDB transaction holds 100 items: the run, the customer with its
                // identity keys (one per kind), the notification and the activities.
                if effects.len() >= 87 {
                    return Ok(Err(
                        "too many open activities to move in one hand-over (at most 85)".into(),
                    ));
                }
                let mut fields = related.value.fields.clone();
                fields.insert("Owner".into(), Value::String(new_owner.to_string()));
                if kind == ActivityKind::Task {
                    fields.insert("Assignee".into(), Value::String(new_owner.to_string()));
                }
                output.push(related.value.id.to_string());
                effects.push(Effect::Replace {
                    record: StoredRecord {
                        fields,
                        ..related.value
                    },
                    expected: related.revision,
                });
            }
        }
        if a.notify_new_owner {
            let name = c
                .record
                .get("Name")
                .or(c.record.get("Code"))
                .and_then(FieldValue::as_text)
                .unwrap_or_default();
            effects.push(Effect::Notify(Notification {
                id: derived_id("ntf", &job.idempotency_key(), 0).to_string(),
                user: new_owner,
                message: format!("Bạn được bàn giao: {name}"),
                record: Some(c.record.id.clone()),
                at: c.now,
                read: false,
            }));
        }
        Ok(Ok((effects, output)))
    }
}
